'use strict';
// What starting a sandboxed program can fail with. Every error derives from ForkexecError.
//
// - ChildError: the helper's error record (a step failed; the target never ran). Its message is
//   go-sandbox's: `mount(3): operation not permitted`.
// - SpecError: refused before spawning (the helper's own fault and byte offset), or a string
//   holding a NUL byte.
// - JsonError: the JSON form (or a value given to a Runner) is not a spec; `path` names the key.
// - SyncError: the sync callback threw (or its promise rejected); the helper was told to abort.
// - HelperError: the helper could not be found, spawned or talked to, or ended without saying why.
// - UnsupportedError: something this client cannot do correctly from Node (docs/node.md).

const util = require('node:util');
const names = require('./names');

class ForkexecError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = this.constructor.name;
  }
}

// strerror(3) of glibc for errno 1-133, first letter in lower case, as Go prints a
// syscall.Errno and the Rust and Python clients print an error record.
const ERRNO_TEXT = [
  null,
  'operation not permitted', 'no such file or directory', 'no such process',
  'interrupted system call', 'input/output error', 'no such device or address',
  'argument list too long', 'exec format error', 'bad file descriptor', 'no child processes',
  'resource temporarily unavailable', 'cannot allocate memory', 'permission denied', 'bad address',
  'block device required', 'device or resource busy', 'file exists', 'invalid cross-device link',
  'no such device', 'not a directory', 'is a directory', 'invalid argument',
  'too many open files in system', 'too many open files', 'inappropriate ioctl for device',
  'text file busy', 'file too large', 'no space left on device', 'illegal seek',
  'read-only file system', 'too many links', 'broken pipe', 'numerical argument out of domain',
  'numerical result out of range', 'resource deadlock avoided', 'file name too long',
  'no locks available', 'function not implemented', 'directory not empty',
  'too many levels of symbolic links', null, 'no message of desired type', 'identifier removed',
  'channel number out of range', 'level 2 not synchronized', 'level 3 halted', 'level 3 reset',
  'link number out of range', 'protocol driver not attached', 'no CSI structure available',
  'level 2 halted', 'invalid exchange', 'invalid request descriptor', 'exchange full', 'no anode',
  'invalid request code', 'invalid slot', null, 'bad font file format', 'device not a stream',
  'no data available', 'timer expired', 'out of streams resources',
  'machine is not on the network', 'package not installed', 'object is remote',
  'link has been severed', 'advertise error', 'srmount error', 'communication error on send',
  'protocol error', 'multihop attempted', 'rFS specific error', 'bad message',
  'value too large for defined data type', 'name not unique on network',
  'file descriptor in bad state', 'remote address changed',
  'can not access a needed shared library', 'accessing a corrupted shared library',
  '.lib section in a.out corrupted', 'attempting to link in too many shared libraries',
  'cannot exec a shared library directly', 'invalid or incomplete multibyte or wide character',
  'interrupted system call should be restarted', 'streams pipe error', 'too many users',
  'socket operation on non-socket', 'destination address required', 'message too long',
  'protocol wrong type for socket', 'protocol not available', 'protocol not supported',
  'socket type not supported', 'operation not supported', 'protocol family not supported',
  'address family not supported by protocol', 'address already in use',
  'cannot assign requested address', 'network is down', 'network is unreachable',
  'network dropped connection on reset', 'software caused connection abort',
  'connection reset by peer', 'no buffer space available',
  'transport endpoint is already connected', 'transport endpoint is not connected',
  'cannot send after transport endpoint shutdown', 'too many references: cannot splice',
  'connection timed out', 'connection refused', 'host is down', 'no route to host',
  'operation already in progress', 'operation now in progress', 'stale file handle',
  'structure needs cleaning', 'not a XENIX named type file', 'no XENIX semaphores available',
  'is a named type file', 'remote I/O error', 'disk quota exceeded', 'no medium found',
  'wrong medium type', 'operation canceled', 'required key not available', 'key has expired',
  'key has been revoked', 'key was rejected by service', 'owner died', 'state not recoverable',
  'operation not possible due to RF-kill', 'memory page has hardware error',
];

let errorMap;
/** The errno's name (`ENOENT`), or undefined. */
function errnoName(errno) {
  errorMap = errorMap || util.getSystemErrorMap();
  const entry = errorMap.get(-errno);
  return entry ? entry[0] : undefined;
}

/** strerror as Go prints a syscall.Errno (lower case): `no such file or directory`. */
function errnoText(errno) {
  return ERRNO_TEXT[errno] || `errno ${errno}`;
}

/** A location's name (`mount(mkdir)`), or undefined for a number this client does not know. */
function locationName(location) {
  return names.LOCATIONS[location];
}

class ChildError extends ForkexecError {
  /**
   * @param {number} location error location (docs/spec.md, "Error locations")
   * @param {number} errno positive errno of the failed step (a spec fault's errno for `spec`)
   * @param {number} index which mount / rlimit / fd; the byte offset for `spec`
   * @param {number} detail the fault number for `spec` (location 34); for `mount(mkdir)` what
   *   could not be made (0 the target, 1 a parent, 2 an empty file); else 0
   */
  constructor(location, errno, index = 0, detail = 0) {
    super(childMessage(location, errno, index, detail));
    this.location = location;
    this.locationName = locationName(location);
    this.errno = errno;
    this.code = errnoName(errno);
    this.index = index;
    this.detail = detail;
    this.fault = location === names.Loc.SPEC ? detail : undefined;
    this.faultName = this.fault !== undefined && names.FAULTS[detail] ? names.FAULTS[detail][0]
      : undefined;
    /** How the process that reported the error ended, once start() has reaped it. */
    this.exitCode = null;
    this.signal = null;
  }
}

function childMessage(location, errno, index, detail) {
  const text = errnoText(errno);
  if (location === names.Loc.SPEC) {
    const fault = names.FAULTS[detail];
    return `spec(offset ${index}): ${fault ? fault[1] : `fault ${detail}`} (${text})`;
  }
  const name = locationName(location);
  return `${name === undefined ? `unknown(${location})` : name}(${index}): ${text}`;
}

class SpecError extends ForkexecError {
  /**
   * A refusal by the decoder (`fault`, `offset` as the helper would report them; `record` names
   * what sits there: `clone_flags`, `mounts[2]`, `header`, `end of spec`), or a string with a
   * NUL byte (`field` names it; `fault` is undefined).
   */
  constructor({ fault, offset, record, field } = {}) {
    let message;
    if (field !== undefined) {
      message = `spec: ${field} contains a NUL byte`;
    } else {
      const f = names.FAULTS[fault];
      message = `spec: ${f ? f[1] : `fault ${fault}`} at byte ${offset}`;
      if (record) message += ` (${record})`;
    }
    super(message);
    this.fault = fault;
    this.faultName = names.FAULTS[fault] ? names.FAULTS[fault][0] : undefined;
    this.errno = names.FAULTS[fault] ? names.FAULTS[fault][2] : undefined;
    this.offset = offset;
    this.record = record;
    this.field = field;
  }
}

class JsonError extends ForkexecError {
  constructor(path, message) {
    super(path ? `${path}: ${message}` : message);
    this.path = path;
    this.detail = message;
  }
}

class HelperError extends ForkexecError {
  constructor(message, options) {
    super(`forkexec helper: ${message}`, options);
  }
}

class SyncError extends ForkexecError {
  /** `cause`: what the callback threw; `childError`: the helper's resulting error record. */
  constructor(cause, childError) {
    super(`sync callback refused: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause });
    this.childError = childError || null;
  }
}

class UnsupportedError extends ForkexecError {
  /** `feature`: the spec key (or option) refused; the message says why and what to do. */
  constructor(feature, why) {
    super(`${feature}: not supported by the Node client: ${why}`);
    this.feature = feature;
  }
}

module.exports = {
  ForkexecError, ChildError, SpecError, JsonError, HelperError, SyncError, UnsupportedError,
  errnoText, errnoName, locationName,
};
