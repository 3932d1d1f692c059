'use strict';
// Starting a sandboxed program: spawn the helper with child_process, hand it the spec on a
// socket, answer its status records (docs/spec.md, "The conversation").
//
// 1. The spec is normalized, encoded and run through this package's copy of the helper's
//    decoder, and the process shape is worked out with our effective ids: a spec the helper
//    would refuse throws SpecError before any process exists. What Node cannot do correctly
//    (detach, ptrace, a stop before exec, die_with_parent from a worker thread) throws
//    UnsupportedError, also before anything is spawned (docs/node.md, "Traps").
// 2. spawn(helper, ['--spec-fd', K], { stdio }): stdio[K] is 'pipe' (libuv makes it one end of a
//    socketpair), every fd the spec names (files, exec_file, status_fd, cgroup_fd, the fds of
//    mount operations) is stdio[fd] = fd, checked to be open, and fds 0-2 are what the caller
//    asked for. libuv opens everything else close-on-exec, so nothing else leaks in.
// 3. The spec is written with fs.writeSync on the socket's fd, not with socket.write: a helper
//    that refuses a spec exits before reading all of it, the write then fails with EPIPE, and a
//    net.Socket destroys itself on a write error, dropping the error record it had not yet
//    delivered. EPIPE and ECONNRESET are noted and the records are read all the same.
// 4. The records are read from the net.Socket: an error record rejects with ChildError (after
//    the helper has ended, so exitCode is known), a sync record calls syncFunc(pid) and answers
//    one byte, a pid record names the target; an exec record (supervise, init) or end of stream
//    (in place) means the target runs. ECONNRESET counts as end of stream.

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');
const { isMainThread } = require('node:worker_threads');

const names = require('./names');
const wire = require('./wire');
const { normalize, withValues, stopsBeforeExec } = require('./spec');
const { RECORD_LEN, decodeRecord } = require('./status');
const {
  ChildError, HelperError, SpecError, SyncError, UnsupportedError,
} = require('./errors');

const SIGNAL_NAMES = Object.fromEntries(Object.entries(os.constants.signals).map(([k, v]) => [v, k]));
/** How long a helper that reported an error may take to end before it is killed. */
const SETTLE_MS = 10000;

/**
 * The helper binary: $FORKEXEC_HELPER, else `forkexec` next to the main script, else this
 * checkout's target/release/forkexec, else the first `forkexec` on $PATH.
 */
function findHelper() {
  const env = process.env.FORKEXEC_HELPER;
  if (env) return env;
  const candidates = [];
  if (require.main && require.main.filename) candidates.push(path.join(path.dirname(require.main.filename), 'forkexec'));
  candidates.push(path.resolve(__dirname, '..', '..', '..', 'target', 'release', 'forkexec'));
  for (const dir of (process.env.PATH || '').split(':')) if (dir) candidates.push(path.join(dir, 'forkexec'));
  for (const c of candidates) {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      if (fs.statSync(c).isFile()) return c;
    } catch { /* next */ }
  }
  throw new HelperError('no forkexec helper found: set FORKEXEC_HELPER or the helper option');
}

/** Refuses, before anything is spawned, what this client cannot do correctly from Node. */
function checkSupported(spec) {
  if (spec.detach) {
    throw new UnsupportedError('detach', 'the detached target becomes a child of this process that '
      + 'libuv does not know about, so Node can neither wait for it nor reap it (it would stay a '
      + 'zombie); use the supervise shape (clone_flags newpid) instead');
  }
  if (spec.ptrace) {
    throw new UnsupportedError('ptrace', 'Node cannot trace a process, and libuv reports a '
      + "ptrace stop of its child as that child's exit");
  }
  if (stopsBeforeExec(spec)) {
    throw new UnsupportedError('stop_before_seccomp', "the helper's SIGSTOP can only be waited "
      + 'for with WUNTRACED, which libuv does not use, and only a tracer can let it go on');
  }
  if (spec.die_with_parent && !isMainThread) {
    throw new UnsupportedError('die_with_parent', 'the parent-death signal follows the thread that '
      + 'spawned the helper: from a worker thread, the target would be killed when the worker '
      + 'ends; start it from the main thread');
  }
  if (spec.status_fd !== null && spec.sync) {
    throw new UnsupportedError('status_fd', 'with sync, the sync record goes to status_fd, which '
      + 'start() does not read; answer it yourself or drop status_fd');
  }
}

/** The fds of ours the helper must inherit at their numbers, checked to be open. */
function inheritedFds(spec) {
  const named = [];
  spec.files.forEach((fd, i) => named.push([`files[${i}]`, fd]));
  for (const key of ['exec_file', 'status_fd', 'cgroup_fd', 'info_fd', 'json_status_fd', 'sync_fd', 'block_fd',
    'userns_block_fd']) {
    if (spec[key] !== null) named.push([key, spec[key]]);
  }
  for (const key of ['user', 'pid', 'user2']) {
    if (spec.join_ns && spec.join_ns[key] !== null) named.push([`join_ns.${key}`, spec.join_ns[key]]);
  }
  spec.mounts.forEach((m, i) => {
    for (const key of ['source_fd', 'content_fd']) if (m[key] !== null && m[key] !== undefined) named.push([`mounts[${i}].${key}`, m[key]]);
  });
  const fds = new Set();
  for (const [field, fd] of named) {
    if (fd < 0) continue;
    if (fd >= 3) {
      try {
        fs.fstatSync(fd);
      } catch {
        throw new HelperError(`cannot pass ${field} (fd ${fd}): not an open fd of this process`);
      }
    }
    fds.add(fd);
  }
  return [...fds].sort((a, b) => a - b);
}

function stdioFor(option) {
  if (option === undefined) return ['inherit', 'inherit', 'inherit'];
  if (typeof option === 'string') return [option, option, option];
  if (!Array.isArray(option) || option.length > 3) {
    throw new TypeError("stdio: 'inherit', 'ignore', 'pipe' or an array of 3 entries for fds 0-2 "
      + '(other fds are passed at their own numbers through the spec)');
  }
  const out = [...option];
  while (out.length < 3) out.push('inherit');
  return out;
}

/** The runtime's end of the spec socket: writes with the fd, reads with the net.Socket. */
class StatusStream {
  constructor(sock, fd) {
    this.sock = sock;
    this.fd = fd;
    this.pending = Buffer.alloc(0);
    this.records = [];
    this.ended = false;
    this.error = null;
    this.wake = null;
    /** The first write the helper was no longer there to read (EPIPE, ECONNRESET). */
    this.hungUp = null;
    /** The pid record's pid (clone shapes). */
    this.pidRecord = null;
    const wake = () => {
      const w = this.wake;
      this.wake = null;
      if (w) w();
    };
    sock.on('data', (chunk) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      while (this.pending.length >= RECORD_LEN) {
        this.records.push(decodeRecord(this.pending.subarray(0, RECORD_LEN)));
        this.pending = this.pending.subarray(RECORD_LEN);
      }
      wake();
    });
    sock.on('end', () => { this.ended = true; wake(); });
    sock.on('close', () => { this.ended = true; wake(); });
    sock.on('error', (e) => {
      // The helper left with some of our bytes unread: end of stream after what it wrote.
      if (e.code !== 'ECONNRESET') this.error = e;
      this.ended = true;
      wake();
    });
  }

  /** Whether our fd is still the socket's (never write to a closed, maybe reused, fd number). */
  get open() {
    return !this.sock.destroyed && this.sock._handle != null && this.sock._handle.fd === this.fd;
  }

  close() {
    this.sock.destroy();
  }

  /** The next record, or null at end of stream. */
  async next() {
    for (;;) {
      if (this.records.length) {
        const rec = this.records.shift();
        if (rec.kind === 'unknown') throw new HelperError(`status: unknown status record kind ${rec.number}`);
        return rec;
      }
      if (this.error) throw new HelperError(`reading status: ${this.error.message}`, { cause: this.error });
      if (this.ended) {
        if (this.pending.length) {
          throw new HelperError(`status: stream ended ${this.pending.length} bytes into a ${RECORD_LEN}-byte record`);
        }
        return null;
      }
      await new Promise((resolve) => { this.wake = resolve; });
    }
  }

  /** Writes all of `data`; a helper that hung up is noted (hungUp), not an error yet. */
  async write(data) {
    let off = 0;
    while (off < data.length) {
      if (!this.open) {
        this.hungUp = this.hungUp || new Error('the status socket closed');
        return;
      }
      try {
        off += fs.writeSync(this.fd, data, off, data.length - off);
      } catch (e) {
        if (e.code === 'EAGAIN') {
          // libuv made our end non-blocking; the helper is reading: try again shortly.
          await sleep(1);
        } else if (e.code === 'EPIPE' || e.code === 'ECONNRESET') {
          this.hungUp = this.hungUp || e;
          return;
        } else {
          throw new HelperError(`writing to the helper: ${e.message}`, { cause: e });
        }
      }
    }
  }
}

/** How a process ended: exit code or signal, and (supervised shapes) the target's own rusage. */
function waitStatusFromNode(code, signal) {
  const signalNumber = signal ? os.constants.signals[signal] : null;
  return {
    code: code === null || code === undefined ? null : code,
    signal: signal || null,
    signalNumber: signalNumber || null,
    status: signal ? signalNumber : (code << 8),
    rusage: null,
    success: code === 0,
  };
}

function waitStatusFromRecord(rec) {
  const s = rec.status;
  const termsig = s & 0x7f;
  const exited = termsig === 0;
  const signaled = termsig !== 0 && termsig !== 0x7f;
  return {
    code: exited ? (s >> 8) & 0xff : null,
    signal: signaled ? (SIGNAL_NAMES[termsig] || `SIG${termsig}`) : null,
    signalNumber: signaled ? termsig : null,
    status: s,
    rusage: {
      userTime: Number(rec.utimeUs) / 1e6,
      systemTime: Number(rec.stimeUs) / 1e6,
      maxRssKib: Number(rec.maxRssKib),
    },
    success: exited && ((s >> 8) & 0xff) === 0,
  };
}

function describeExit({ code, signal }) {
  return signal ? `signal ${signal}` : `exit status ${code}`;
}

/** A started program: the helper's ChildProcess, the target's pid, wait() and kill(). */
class Process {
  constructor(start, targetPid) {
    this._start = start;
    /** The ChildProcess of the helper (in place: now the target itself). */
    this.child = start.child;
    /** Our child's pid: the helper's (in place, the target's). */
    this.pid = start.child.pid;
    /** The target's pid as we see it (the pid record's in the clone shapes). */
    this.targetPid = targetPid;
    /** 'in_place', 'supervise' or 'init'. */
    this.shape = start.shape;
    this.stdin = start.child.stdin;
    this.stdout = start.child.stdout;
    this.stderr = start.child.stderr;
    this._wait = null;
  }

  /**
   * Resolves when the process has ended: { code, signal, signalNumber, status, rusage,
   * success }. A supervising helper ends like the target; its exit record gives the target's
   * raw wait status and rusage (in place, Node cannot wait4: rusage is null).
   */
  wait() {
    if (!this._wait) this._wait = this._waitOnce();
    return this._wait;
  }

  async _waitOnce() {
    const { stream } = this._start;
    const exit = await this._start.exited;
    if (this.shape === wire.Shape.IN_PLACE || stream === null) return waitStatusFromNode(exit.code, exit.signal);
    let record = null;
    try {
      for (let rec = await stream.next(); rec !== null; rec = await stream.next()) {
        if (rec.kind === 'exit') record = rec;
      }
    } catch { /* a broken stream: fall back to the helper's own status */ }
    stream.close();
    return record ? waitStatusFromRecord(record) : waitStatusFromNode(exit.code, exit.signal);
  }

  /**
   * Sends a signal (default SIGKILL). A supervising helper forwards signals to the target;
   * SIGKILL cannot be forwarded, so it goes to the target itself (with init: to init, which
   * takes the pid namespace down). Returns false if the process was already gone.
   */
  kill(signal = 'SIGKILL') {
    if (this._start.exitStatus !== null) return false;
    const sig = typeof signal === 'number' ? signal : os.constants.signals[signal];
    if (sig === undefined) throw new TypeError(`unknown signal ${signal}`);
    try {
      if (sig === os.constants.signals.SIGKILL && this.shape !== wire.Shape.IN_PLACE) process.kill(this.targetPid, sig);
      else process.kill(this.pid, sig);
      return true;
    } catch (e) {
      if (e.code === 'ESRCH') return false;
      throw e;
    }
  }
}

/** One start(): owns the helper until it is handed over as a Process, or reaped. */
class Start {
  constructor(child, helper, shape, syncFunc) {
    this.child = child;
    this.helper = helper;
    this.shape = shape;
    this.syncFunc = syncFunc;
    this.stream = null;
    this.exitStatus = null;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        resolve(this.exitStatus);
      });
    });
  }

  describe() {
    return `${this.helper} (pid ${this.child.pid})`;
  }

  /** Reads records up to an exec record or end of stream; returns the target's pid. */
  async readUntilExec() {
    const { stream } = this;
    let targetPid = this.child.pid;
    for (;;) {
      const rec = await stream.next();
      if (rec === null) break;
      if (rec.kind === 'error') throw new ChildError(rec.location, rec.errno, rec.index, rec.detail);
      if (rec.kind === 'pid') {
        stream.pidRecord = targetPid = rec.pid;
      } else if (rec.kind === 'sync') {
        targetPid = stream.pidRecord !== null ? stream.pidRecord : rec.pid;
        await this.answerSync(targetPid);
      } else if (rec.kind === 'exec') {
        return stream.pidRecord !== null ? stream.pidRecord : rec.pid;
      }
    }
    // End of stream, no error record.
    if (stream.hungUp) {
      const e = stream.hungUp;
      const exit = await this.exited;
      throw new HelperError(`${this.describe()} ended (${describeExit(exit)}) without an error record, `
        + `before it had the whole spec or the sync answer (${e.message})`);
    }
    if (this.shape !== wire.Shape.IN_PLACE) {
      const exit = await this.exited;
      throw new HelperError(`${this.describe()} ended (${describeExit(exit)}) without reporting the target's exec`);
    }
    return targetPid;
  }

  async answerSync(pid) {
    const func = this.syncFunc;
    this.syncFunc = null;
    if (func) {
      try {
        await func(pid);
      } catch (cause) {
        await this.stream.write(names.SYNC_ABORT);
        let childError = null;
        try {
          for (let rec = await this.stream.next(); rec !== null; rec = await this.stream.next()) {
            if (rec.kind === 'error') {
              childError = new ChildError(rec.location, rec.errno, rec.index, rec.detail);
              break;
            }
          }
        } catch { /* no record */ }
        throw new SyncError(cause, childError);
      }
    }
    await this.stream.write(names.SYNC_CONTINUE);
  }

  /** After an error record or a sync abort: lets the helper end (killed after SETTLE_MS), puts its exit on the error. */
  async settle(error) {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), SETTLE_MS);
    const exit = await this.exited;
    clearTimeout(timer);
    if (this.stream) this.stream.close();
    for (const e of [error, error.childError]) {
      if (e instanceof ChildError) {
        e.exitCode = exit.code;
        e.signal = exit.signal;
      }
    }
  }

  async abort() {
    this.child.kill('SIGKILL');
    await this.exited;
    if (this.stream) this.stream.close();
  }
}

/**
 * Spawns the helper with `data` (spec bytes, as they are) for a target of `shape` and runs the
 * conversation. Shared by Runner.start and startRaw.
 */
async function startBytes(data, shape, keep, options) {
  const helper = options.helper || findHelper();
  let specFd = 3;
  while (keep.includes(specFd)) specFd++;
  const stdio = stdioFor(options.stdio);
  const size = Math.max(specFd, ...keep) + 1;
  for (let fd = 3; fd < size; fd++) stdio[fd] = 'ignore';
  for (const fd of keep) if (fd >= 3) stdio[fd] = fd;
  stdio[specFd] = 'pipe';
  const args = specFd === 3 ? [] : ['--spec-fd', String(specFd)];

  let child;
  try {
    child = spawn(helper, args, { stdio, env: {}, cwd: options.cwd });
  } catch (e) {
    throw new HelperError(`cannot run ${helper}: ${e.message}`, { cause: e });
  }
  if (child.pid === undefined) {
    const e = await new Promise((resolve) => child.once('error', resolve));
    for (const s of child.stdio) if (s) s.destroy();
    throw new HelperError(`cannot run ${helper}: ${e.message}`, { cause: e });
  }
  child.on('error', () => { /* kill() of a process that is gone: nothing to do */ });
  const start = new Start(child, helper, shape, options.syncFunc || null);
  const sock = child.stdio[specFd];
  const fd = sock && sock._handle ? sock._handle.fd : undefined;
  if (typeof fd !== 'number' || fd < 0) {
    await start.abort();
    throw new HelperError("this Node does not expose the spec socket's fd (net.Socket._handle.fd)");
  }
  start.stream = new StatusStream(sock, fd);
  try {
    await start.stream.write(data);
    // A raw spec shorter than its header says: let the helper see the end of it.
    if (options.halfClose && start.stream.open) start.stream.sock.end();
    const targetPid = await start.readUntilExec();
    if (shape === wire.Shape.IN_PLACE) start.stream.close();
    return new Process(start, targetPid);
  } catch (e) {
    if (e instanceof ChildError || e instanceof SyncError) await start.settle(e);
    else await start.abort();
    throw e;
  }
}

/**
 * go-sandbox's Runner, run by spawning the forkexec helper: a spec in the JSON form (or an argv
 * array) plus what only a live runtime has: the sync callback, the helper's path, fds 0-2.
 */
class Runner {
  /**
   * @param {object|string[]} spec the JSON form (docs/json.md), or an argv array
   * @param {object} [options] { syncFunc(pid), helper, stdio, cwd }
   */
  constructor(spec, options = {}) {
    this.spec = spec;
    this.syncFunc = options.syncFunc || null;
    this.helper = options.helper || null;
    this.stdio = options.stdio;
    this.cwd = options.cwd;
  }

  _normalized() {
    return this.syncFunc ? withValues(this.spec, { sync: true }) : normalize(this.spec);
  }

  /** The spec bytes start() would send. */
  encode() {
    return wire.encode(this._normalized());
  }

  /**
   * Spawns the helper, hands it the spec and answers its status records until the target runs.
   * Resolves to a Process. Rejects with SpecError, JsonError or UnsupportedError (before
   * anything is spawned), ChildError (a step failed, nothing ran; the helper has been reaped),
   * SyncError (the callback threw) or HelperError.
   */
  async start() {
    const spec = this._normalized();
    checkSupported(spec);
    const data = wire.encode(spec);
    let shape;
    try {
      shape = wire.decode(data).shape(process.geteuid(), process.getegid());
    } catch (e) {
      if (e instanceof SpecError) throw new SpecError({ fault: e.fault, offset: e.offset, record: wire.recordAt(data, e.offset) });
      throw e;
    }
    const keep = inheritedFds(spec);
    return startBytes(data, shape, keep, {
      helper: this.helper, stdio: this.stdio, cwd: this.cwd, syncFunc: this.syncFunc,
    });
  }
}

/** `new Runner(spec, options).start()`. */
function start(spec, options) {
  return new Runner(spec, options).start();
}

/**
 * Sends `bytes` to the helper as they are, unchecked (for testing a helper with a malformed
 * spec): the conversation of an in-place spec, or of `options.shape`. Only fds 0-2 are passed.
 * `options.halfClose`: shut our side down after the bytes (the helper then reads end of stream
 * where they run out, as for a truncated spec; no sync answer can follow).
 */
function startRaw(bytes, options = {}) {
  return startBytes(Buffer.from(bytes), options.shape || wire.Shape.IN_PLACE, [], options);
}

module.exports = { Runner, Process, start, startRaw, findHelper };
