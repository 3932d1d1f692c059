'use strict';
// The JSON form of a spec (docs/json.md, crates/spec/vectors/README.md) checked and normalized:
// `normalize(spec)` takes an object with the JSON form's keys and returns a new object with every
// key present, every value checked (a bad one throws JsonError naming its key path) and in one
// shape the encoder reads: strings stay strings (written as UTF-8) or Buffers (written as they
// are), u64 values become BigInt, mount entries get their defaults, booleans are booleans.
//
// `parseJson(text)` is JSON.parse keeping integers above 2^53 exact (as BigInt), because the
// JSON form has u64 values (an rlimit of 18446744073709551615 = RLIM_INFINITY).

const names = require('./names');
const { JsonError } = require('./errors');

/** Marks an object normalize() made (not enumerable), so that it is not checked twice. */
const NORMALIZED = Symbol('forkexec.normalized');
const U64_MAX = 0xffffffffffffffffn;
const BOOL_KEYS = Object.freeze([
  'sync', 'ptrace', 'no_new_privs', 'stop_before_seccomp', 'gid_mappings_enable_setgroups',
  'drop_caps', 'unshare_cgroup_after_sync', 'ctty', 'setsid', 'detach', 'init',
  'die_with_parent', 'writable_root', 'new_session_keyring', 'parents_from_mode',
  'only_end_records', 'dumpable_init', 'no_wait_init', 'bwrap_errors',
  'loopback', 'disable_userns',
  'assert_userns_disabled',
]);
const STRING_KEYS = Object.freeze(['work_dir', 'pivot_root', 'host_name', 'domain_name', 'cgroup']);
const FD_KEYS = Object.freeze(['exec_file', 'status_fd', 'cgroup_fd', 'info_fd', 'json_status_fd', 'sync_fd',
  'block_fd', 'userns_block_fd']);
const SPEC_KEYS = Object.freeze([
  'args', 'env', 'exec_path', 'exec_file', 'rlimits', 'files', 'work_dir', 'seccomp',
  'clone_flags', 'mounts', 'pivot_root', 'host_name', 'domain_name', 'uid_mappings',
  'gid_mappings', 'credential', ...BOOL_KEYS.filter((k) => k !== 'setsid'), 'setsid',
  'status_fd', 'cgroup', 'cgroup_fd', 'landlock', 'info_fd', 'json_status_fd', 'join_ns', 'lock_files',
  'sync_fd', 'caps', 'block_fd', 'userns_block_fd',
]);

function fail(path, message) {
  throw new JsonError(path, message);
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v)
    && !(v instanceof Uint8Array);
}

function checkKeys(obj, allowed, path) {
  for (const key of Object.keys(obj)) {
    if (obj[key] === undefined) continue;
    if (!allowed.includes(key)) fail(join(path, key), 'unknown key');
  }
}

function join(path, key) {
  return typeof key === 'number' ? `${path}[${key}]` : (path ? `${path}.${key}` : key);
}

/** Flag names as a set: each once, in bit order (in place). */
function sortBits(list, table) {
  const unique = [...new Set(list)].sort((a, b) => table[a] - table[b]);
  list.splice(0, list.length, ...unique);
}

/** A string value: a JS string or bytes (Buffer / Uint8Array). */
function str(v, path) {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return Buffer.from(v);
  if (v instanceof Uint8Array) return Buffer.from(v);
  return fail(path, `expected a string, got ${typeName(v)}`);
}

function typeName(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'bigint') return 'an integer';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function list(v, path) {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(path, `expected a list, got ${typeName(v)}`);
  return v;
}

function bool(v, path, dflt) {
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') fail(path, `expected true or false, got ${typeName(v)}`);
  return v;
}

/** An integer in [lo, hi] as a Number (hi at most 2^53). */
function int(v, path, lo, hi) {
  if (typeof v === 'bigint') {
    if (v < BigInt(lo) || v > BigInt(hi)) fail(path, `${v} is out of range (${lo} to ${hi})`);
    return Number(v);
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    fail(path, `expected an integer, got ${typeName(v)}`);
  }
  if (v < lo || v > hi) fail(path, `${v} is out of range (${lo} to ${hi})`);
  return v;
}

/** A u64 as a BigInt. */
function u64(v, path) {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) {
      fail(path, Number.isInteger(v) ? `${v} is above 2^53: give it as a BigInt`
        : `expected an integer, got ${typeName(v)}`);
    }
    v = BigInt(v);
  }
  if (typeof v !== 'bigint') fail(path, `expected an integer, got ${typeName(v)}`);
  if (v < 0n || v > U64_MAX) fail(path, `${v} is out of range (0 to 2^64-1)`);
  return v;
}

const u32 = (v, path) => int(v, path, 0, 0xffffffff);
/** An fd (the decoder refuses one out of range with the helper's fault). */
const fd = (v, path) => int(v, path, -(2 ** 31), 2 ** 31 - 1);

function optFd(v, path) {
  return v === undefined || v === null ? null : fd(v, path);
}

function optStr(v, path) {
  return v === undefined || v === null ? null : str(v, path);
}

function rlimitValue(v, path) {
  if (v === 'infinity' || v === 'unlimited') return U64_MAX;
  return u64(v, path);
}

function rlimit(v, path) {
  if (!isObject(v)) fail(path, `expected an object, got ${typeName(v)}`);
  checkKeys(v, ['resource', 'cur', 'max'], path);
  let resource = v.resource;
  if (typeof resource === 'number' || typeof resource === 'bigint') {
    resource = names.RESOURCES[int(resource, join(path, 'resource'), 0, 15)];
  } else if (!names.RESOURCES.includes(resource)) {
    fail(join(path, 'resource'), `unknown resource ${JSON.stringify(resource)} (one of ${names.RESOURCES.join(', ')})`);
  }
  if (v.cur === undefined) fail(join(path, 'cur'), 'missing');
  if (v.max === undefined) fail(join(path, 'max'), 'missing');
  return { resource, cur: rlimitValue(v.cur, join(path, 'cur')), max: rlimitValue(v.max, join(path, 'max')) };
}

function sockFilter(v, path) {
  if (!isObject(v)) fail(path, `expected an object, got ${typeName(v)}`);
  checkKeys(v, ['code', 'jt', 'jf', 'k'], path);
  return {
    code: int(v.code ?? 0, join(path, 'code'), 0, 0xffff),
    jt: int(v.jt ?? 0, join(path, 'jt'), 0, 0xff),
    jf: int(v.jf ?? 0, join(path, 'jf'), 0, 0xff),
    k: u32(v.k ?? 0, join(path, 'k')),
  };
}

function idMap(v, path) {
  if (!isObject(v)) fail(path, `expected an object, got ${typeName(v)}`);
  checkKeys(v, ['container_id', 'host_id', 'size'], path);
  for (const k of ['container_id', 'host_id', 'size']) {
    if (v[k] === undefined) fail(join(path, k), 'missing');
  }
  return {
    container_id: u32(v.container_id, join(path, 'container_id')),
    host_id: u32(v.host_id, join(path, 'host_id')),
    size: u32(v.size, join(path, 'size')),
  };
}

function credential(v, path) {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) fail(path, `expected an object, got ${typeName(v)}`);
  checkKeys(v, ['uid', 'gid', 'groups', 'no_set_groups'], path);
  if (v.uid === undefined) fail(join(path, 'uid'), 'missing');
  if (v.gid === undefined) fail(join(path, 'gid'), 'missing');
  return {
    uid: u32(v.uid, join(path, 'uid')),
    gid: u32(v.gid, join(path, 'gid')),
    groups: list(v.groups, join(path, 'groups')).map((g, i) => u32(g, join(join(path, 'groups'), i))),
    no_set_groups: bool(v.no_set_groups, join(path, 'no_set_groups'), false),
  };
}

/** Existing namespaces to join: `{user, pid, user2}`, each an fd or absent/null. */
function joinNs(v, path) {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) fail(path, `expected an object, got ${typeName(v)}`);
  checkKeys(v, ['user', 'pid', 'user2'], path);
  return {
    user: optFd(v.user, join(path, 'user')),
    pid: optFd(v.pid, join(path, 'pid')),
    user2: optFd(v.user2, join(path, 'user2')),
  };
}

/** The capabilities the target keeps: `{keep: [numbers 0-63], leave_sets}`. */
function caps(v, path) {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) fail(path, `expected an object, got ${typeName(v)}`);
  checkKeys(v, ['keep', 'leave_sets'], path);
  if (v.keep === undefined) fail(join(path, 'keep'), 'missing');
  return {
    keep: list(v.keep, join(path, 'keep')).map((c, i) => int(c, join(join(path, 'keep'), i), 0, 63)),
    leave_sets: bool(v.leave_sets, join(path, 'leave_sets'), false),
  };
}

/**
 * Landlock right or scope names: each a name of `table` or of `groups` (expanded), normalized to
 * the names of the bits they stand for, in table order.
 */
function rightNames(v, path, table, groups, what) {
  let bits = 0;
  list(v, path).forEach((n, i) => {
    if (Object.hasOwn(groups, n)) bits |= groups[n];
    else if (Object.hasOwn(table, n)) bits |= table[n];
    else {
      const valid = [...Object.keys(groups), ...Object.keys(table)].join(', ');
      fail(join(path, i), `unknown Landlock ${what} ${JSON.stringify(n)} (one of ${valid})`);
    }
  });
  return Object.keys(table).filter((n) => bits & table[n]);
}

/** One Landlock rule: exactly `key` (a path or a port) and `access`. */
function landlockRule(v, path, key) {
  if (!isObject(v)) fail(path, `expected a Landlock ${key} rule (${key}, access), got ${typeName(v)}`);
  checkKeys(v, [key, 'access'], path);
  for (const k of [key, 'access']) if (v[k] === undefined) fail(join(path, k), 'missing');
  return key === 'path'
    ? { path: str(v.path, join(path, 'path')),
      access: rightNames(v.access, join(path, 'access'), names.LANDLOCK_FS, names.LANDLOCK_FS_GROUPS, 'filesystem right') }
    : { port: int(v.port, join(path, 'port'), 0, 0xffff),
      access: rightNames(v.access, join(path, 'access'), names.LANDLOCK_NET, {}, 'network right') };
}

/**
 * Landlock confinement: `{exact, fs, net, scope}`. `fs` present (even `[]`) confines the
 * filesystem to what its `{path, access}` rules allow, `net` likewise TCP bind/connect with
 * `{port, access}` rules; absent or null leaves it alone. Something must be confined.
 */
function landlock(v, path) {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) fail(path, `expected an object, got ${typeName(v)}`);
  checkKeys(v, ['exact', 'fs', 'net', 'scope'], path);
  const rules = (key, what) => (v[key] === undefined || v[key] === null ? null
    : list(v[key], join(path, key)).map((r, i) => landlockRule(r, join(join(path, key), i), what)));
  const out = {
    exact: bool(v.exact, join(path, 'exact'), false),
    fs: rules('fs', 'path'),
    net: rules('net', 'port'),
    scope: rightNames(v.scope, join(path, 'scope'), names.LANDLOCK_SCOPES, {}, 'scope'),
  };
  if (out.fs === null && out.net === null && !out.scope.length) {
    fail(path, 'landlock restricts nothing: give fs, net (even empty) or scope');
  }
  return out;
}

function rawMount(v, path) {
  checkKeys(v, ['source', 'target', 'fstype', 'flags', 'data', 'mkdir', 'file', 'make_nod'], path);
  if (v.target === undefined) fail(join(path, 'target'), 'missing');
  const flags = list(v.flags, join(path, 'flags')).map((f, i) => {
    if (!Object.hasOwn(names.MOUNT_FLAGS, f)) {
      fail(join(join(path, 'flags'), i), `unknown mount flag ${JSON.stringify(f)}`);
    }
    return f;
  });
  sortBits(flags, names.MOUNT_FLAGS);
  if (v.file !== undefined && v.make_nod !== undefined) {
    fail(join(path, 'make_nod'), 'give file or make_nod, not both');
  }
  return {
    source: str(v.source ?? '', join(path, 'source')),
    target: str(v.target, join(path, 'target')),
    fstype: str(v.fstype ?? '', join(path, 'fstype')),
    flags,
    data: str(v.data ?? '', join(path, 'data')),
    mkdir: bool(v.mkdir, join(path, 'mkdir'), true),
    file: bool(v.file ?? v.make_nod, join(path, v.file !== undefined ? 'file' : 'make_nod'), false),
  };
}

function mode(v, path) {
  if (typeof v === 'string') {
    if (!/^[0-7]{1,4}$/.test(v)) fail(path, `expected an octal mode such as "0755", got ${JSON.stringify(v)}`);
    return parseInt(v, 8);
  }
  return u32(v, path);
}

function size(v, path) {
  if (typeof v === 'string') {
    const m = /^([0-9]+)([kmg]?)$/i.exec(v);
    if (!m) fail(path, `expected bytes or a size such as "64m", got ${JSON.stringify(v)}`);
    const shift = { '': 0n, k: 10n, m: 20n, g: 30n }[m[2].toLowerCase()];
    return u64(BigInt(m[1]) << shift, path);
  }
  return u64(v, path);
}

function content(v, path) {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v);
  return fail(path, `expected a string or bytes, got ${typeName(v)}`);
}

function mountOp(v, path) {
  const type = v.type;
  if (!Object.hasOwn(names.MOUNT_KINDS, type)) {
    fail(join(path, 'type'), `unknown mount operation type ${JSON.stringify(type)} (one of ${Object.keys(names.MOUNT_KINDS).join(', ')})`);
  }
  const takes = names.MOUNT_OP_FIELDS[type];
  for (const key of Object.keys(v)) {
    if (v[key] === undefined || key === 'type' || key === 'target') continue;
    if (!['source', 'source_fd', 'mode', 'size', 'content', 'content_fd', 'lower', 'upper', 'work', 'readonly', 'dev', 'optional', 'cover'].includes(key)) {
      fail(join(path, key), 'unknown key');
    }
    if (!takes.includes(key)) fail(join(path, key), `a ${type} mount operation does not take ${key}`);
  }
  if (v.target === undefined) fail(join(path, 'target'), 'missing');
  if (type === 'chmod' && (v.mode === undefined || v.mode === null)) {
    fail(join(path, 'mode'), 'a chmod mount operation needs a mode (it has no default)');
  }
  const op = {
    type,
    source: str(v.source ?? '', join(path, 'source')),
    source_fd: optFd(v.source_fd, join(path, 'source_fd')),
    target: str(v.target, join(path, 'target')),
    mode: v.mode === undefined || v.mode === null ? (names.MOUNT_OP_DEFAULT_MODE[type] ?? 0)
      : mode(v.mode, join(path, 'mode')),
    size: v.size === undefined || v.size === null ? 0n : size(v.size, join(path, 'size')),
    content: content(v.content, join(path, 'content')),
    content_fd: optFd(v.content_fd, join(path, 'content_fd')),
    lower: v.lower === undefined || v.lower === null ? [] : strList(v.lower, join(path, 'lower')),
    upper: str(v.upper ?? '', join(path, 'upper')),
    work: str(v.work ?? '', join(path, 'work')),
    readonly: bool(v.readonly, join(path, 'readonly'), false),
    dev: bool(v.dev, join(path, 'dev'), false),
    optional: bool(v.optional, join(path, 'optional'), false),
    cover: bool(v.cover, join(path, 'cover'), false),
  };
  if (op.source_fd !== null && op.content_fd !== null) fail(path, 'at most one fd');
  checkLayers(op, path);
  return op;
}

function strList(v, path) {
  if (!Array.isArray(v)) fail(path, `expected a list of strings, got ${typeName(v)}`);
  return v.map((s, i) => str(s, join(path, i)));
}

/** An overlay's layers, as the Rust client words it: enough lower directories, upper and
 * work when it takes them, every one an absolute path. */
function checkLayers(op, path) {
  const fewest = names.MOUNT_OP_LOWER[op.type];
  if (!fewest) return;
  if (op.lower.length < fewest) {
    fail(path, `the ${op.type} needs at least ${fewest} \`lower\` ${fewest === 1 ? 'directory' : 'directories'}, not ${op.lower.length}`);
  }
  if (op.lower.length > names.Limit.OVERLAY_LOWER) {
    fail(path, `the ${op.type} takes at most ${names.Limit.OVERLAY_LOWER} \`lower\` directories, not ${op.lower.length}`);
  }
  const takesUpper = names.MOUNT_OP_FIELDS[op.type].includes('upper');
  if (takesUpper) {
    for (const key of ['upper', 'work']) if (!op[key].length) fail(path, `the ${op.type} needs \`${key}\` (a host directory)`);
  }
  const layers = [['upper', op.upper], ['work', op.work]].filter(([, p]) => p.length)
    .concat(op.lower.map((p) => ['lower', p]));
  for (const [key, p] of layers) {
    if (Buffer.from(p)[0] !== 0x2f) fail(path, `\`${key}\` paths must be absolute (host paths), not \`${p}\``);
  }
}

function mountEntry(v, path) {
  if (!isObject(v)) fail(path, `expected an object, got ${typeName(v)}`);
  return v.type === undefined ? rawMount(v, path) : mountOp(v, path);
}

/**
 * The spec `spec` (an object with the JSON form's keys, or an argv array) checked and with
 * every key present. Throws JsonError naming the key path of the first bad value.
 */
function normalize(spec) {
  if (spec && spec[NORMALIZED]) return spec;
  if (Array.isArray(spec)) spec = { args: spec };
  if (!isObject(spec)) fail('', `a spec is an object in the JSON form, not ${typeName(spec)}`);
  checkKeys(spec, SPEC_KEYS, '');
  const out = {};
  out.args = list(spec.args, 'args').map((s, i) => str(s, join('args', i)));
  out.env = list(spec.env, 'env').map((s, i) => str(s, join('env', i)));
  out.exec_path = optStr(spec.exec_path, 'exec_path');
  for (const key of FD_KEYS) out[key] = optFd(spec[key], key);
  out.rlimits = list(spec.rlimits, 'rlimits').map((r, i) => rlimit(r, join('rlimits', i)));
  out.files = list(spec.files, 'files').map((f, i) => fd(f, join('files', i)));
  for (const key of STRING_KEYS) out[key] = str(spec[key] ?? '', key);
  out.seccomp = spec.seccomp === undefined || spec.seccomp === null ? null
    : seccomp(list(spec.seccomp, 'seccomp'));
  out.clone_flags = list(spec.clone_flags, 'clone_flags').map((f, i) => {
    if (!Object.hasOwn(names.CLONE_FLAGS, f)) {
      fail(join('clone_flags', i), `unknown clone flag ${JSON.stringify(f)} (one of ${Object.keys(names.CLONE_FLAGS).join(', ')})`);
    }
    return f;
  });
  sortBits(out.clone_flags, names.CLONE_FLAGS);
  out.mounts = list(spec.mounts, 'mounts').map((m, i) => mountEntry(m, join('mounts', i)));
  out.uid_mappings = list(spec.uid_mappings, 'uid_mappings').map((m, i) => idMap(m, join('uid_mappings', i)));
  out.gid_mappings = list(spec.gid_mappings, 'gid_mappings').map((m, i) => idMap(m, join('gid_mappings', i)));
  out.credential = credential(spec.credential, 'credential');
  out.landlock = landlock(spec.landlock, 'landlock');
  out.join_ns = joinNs(spec.join_ns, 'join_ns');
  out.lock_files = list(spec.lock_files, 'lock_files').map((s, i) => str(s, join('lock_files', i)));
  out.caps = caps(spec.caps, 'caps');
  for (const key of BOOL_KEYS) out[key] = bool(spec[key], key, key === 'setsid');
  Object.defineProperty(out, NORMALIZED, { value: true });
  return out;
}

/** A normalized spec with some keys replaced (the values must be normalized already). */
function withValues(spec, values) {
  const out = { ...normalize(spec), ...values };
  Object.defineProperty(out, NORMALIZED, { value: true });
  return out;
}

/** The OPTIONS bits of a normalized spec. */
function optionBits(spec) {
  let bits = 0;
  for (const key of BOOL_KEYS) {
    if (key === 'setsid' ? !spec.setsid : spec[key]) bits |= names.OPTION_BITS[key];
  }
  return bits;
}

/** The CLONE_FLAGS bits of a normalized spec. */
function cloneFlagBits(spec) {
  return spec.clone_flags.reduce((bits, f) => (bits | names.CLONE_FLAGS[f]) >>> 0, 0);
}

/**
 * `seccomp`: one program (a list of instructions) or a list of programs (one SECCOMP record each,
 * loaded in order). One program normalizes to its instructions, several to a list of those.
 */
function seccomp(value) {
  const program = (p, path) => list(p, path).map((s, i) => sockFilter(s, join(path, i)));
  if (value.length && value.every(Array.isArray)) {
    const programs = value.map((p, i) => program(p, join('seccomp', i)));
    return programs.length === 1 ? programs[0] : programs;
  }
  return program(value, 'seccomp');
}

/** A normalized spec's seccomp programs, in load order (none, one or several). */
function seccompPrograms(spec) {
  if (spec.seccomp === null) return [];
  return spec.seccomp.length && spec.seccomp.every(Array.isArray) ? spec.seccomp : [spec.seccomp];
}

/** Whether the helper stops itself (SIGSTOP) before exec: stop_before_seccomp, or ptrace with seccomp. */
function stopsBeforeExec(spec) {
  return spec.stop_before_seccomp || (spec.ptrace && spec.seccomp !== null);
}

// --- JSON with exact big integers --------------------------------------------------------------

/** JSON.parse, with integers outside ±2^53 parsed as BigInt (the others as Numbers). */
function parseJson(text) {
  let at = 0;
  const ws = () => { while (at < text.length && ' \t\n\r'.includes(text[at])) at++; };
  const err = (what) => { throw new SyntaxError(`JSON: ${what} at position ${at}`); };
  function value() {
    ws();
    const c = text[at];
    if (c === '{') {
      at++;
      const obj = {};
      ws();
      if (text[at] === '}') { at++; return obj; }
      for (;;) {
        ws();
        if (text[at] !== '"') err('expected a key');
        const key = string();
        ws();
        if (text[at++] !== ':') err("expected ':'");
        obj[key] = value();
        ws();
        const d = text[at++];
        if (d === '}') return obj;
        if (d !== ',') err("expected ',' or '}'");
      }
    }
    if (c === '[') {
      at++;
      const arr = [];
      ws();
      if (text[at] === ']') { at++; return arr; }
      for (;;) {
        arr.push(value());
        ws();
        const d = text[at++];
        if (d === ']') return arr;
        if (d !== ',') err("expected ',' or ']'");
      }
    }
    if (c === '"') return string();
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(at, at + 400));
    if (m && m[0]) {
      at += m[0].length;
      if (m[2] === undefined && m[3] === undefined) {
        const n = Number(m[0]);
        return Number.isSafeInteger(n) ? n : BigInt(m[0]);
      }
      return Number(m[0]);
    }
    for (const [word, v] of [['true', true], ['false', false], ['null', null]]) {
      if (text.startsWith(word, at)) { at += word.length; return v; }
    }
    return err('unexpected character');
  }
  function string() {
    const start = at;
    at++;
    while (at < text.length && text[at] !== '"') at += text[at] === '\\' ? 2 : 1;
    if (at >= text.length) err('unterminated string');
    at++;
    return JSON.parse(text.slice(start, at));
  }
  const v = value();
  ws();
  if (at !== text.length) err('trailing characters');
  return v;
}

module.exports = {
  normalize, withValues, optionBits, cloneFlagBits, stopsBeforeExec, parseJson, seccompPrograms,
  SPEC_KEYS, BOOL_KEYS,
};
