'use strict';
// Wire format v1 (docs/spec.md): the canonical encoder, and a decoder that validates a spec as
// the helper does (same checks, same order, same fault and byte offset).
//
// encode() writes the records in the canonical order (crates/spec/vectors/README.md): ARGS
// always, then every other record in ascending type number when its value carries something;
// one RLIMIT per entry; at MOUNT's place one record per `mounts` entry in list order (MOUNT for a
// raw mount, MOUNT_OP for a mount operation); record flags 0; strings with their NUL. The bytes
// are then run through decode(), so a spec the helper would refuse is refused here, before any
// process exists, with the helper's fault and offset (SpecError).

const names = require('./names');
const { SpecError } = require('./errors');
const { normalize, optionBits, cloneFlagBits, seccompPrograms } = require('./spec');

const { Record, Fault, Limit } = names;
const KIND_NAMES = Object.fromEntries(Object.entries(names.MOUNT_KINDS).map(([k, v]) => [v, k]));

// Shapes (docs/spec.md, "Process shapes").
const Shape = Object.freeze({ IN_PLACE: 'in_place', SUPERVISE: 'supervise', DETACH: 'detach', INIT: 'init' });

function bytes(s) {
  return typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
}

class Out {
  constructor() {
    this.chunks = [];
    this.length = 0;
  }

  push(buf) {
    this.chunks.push(buf);
    this.length += buf.length;
  }

  record(type, payload) {
    const h = Buffer.alloc(8);
    h.writeUInt16LE(type, 0);
    h.writeUInt16LE(0, 2);
    h.writeUInt32LE(payload.length, 4);
    this.push(h);
    this.push(payload);
  }
}

function cstr(s) {
  return Buffer.concat([bytes(s), Buffer.alloc(1)]);
}

function strings(list) {
  return Buffer.concat(list.map(cstr));
}

function u32(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function u64(n) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

function checkNul(spec) {
  const has = (s) => bytes(s).includes(0);
  for (const key of ['args', 'env']) {
    spec[key].forEach((s, i) => { if (has(s)) throw new SpecError({ field: `${key}[${i}]` }); });
  }
  for (const key of ['exec_path', 'work_dir', 'pivot_root', 'cgroup', 'host_name', 'domain_name']) {
    if (spec[key] !== null && has(spec[key])) throw new SpecError({ field: key });
  }
  if (spec.landlock && spec.landlock.fs) {
    spec.landlock.fs.forEach((r, i) => { if (has(r.path)) throw new SpecError({ field: `landlock.fs[${i}].path` }); });
  }
  spec.mounts.forEach((m, i) => {
    // A file operation's content is not a string: it may hold NUL bytes.
    const keys = m.type !== undefined ? ['source', 'target'] : ['source', 'target', 'fstype', 'data'];
    for (const key of keys) if (has(m[key])) throw new SpecError({ field: `mounts[${i}].${key}` });
    // An overlay's layers are NUL-terminated paths on the wire.
    if (m.type !== undefined) {
      for (const key of ['upper', 'work']) if (has(m[key])) throw new SpecError({ field: `mounts[${i}].${key}` });
      if (m.lower.some(has)) throw new SpecError({ field: `mounts[${i}].lower` });
    }
  });
}

/** A MOUNT_OP payload: u16 kind, u16 flags, u32 mode, u64 size, i32 fd, source, target, content. */
function mountOpPayload(op) {
  const fixed = Buffer.alloc(names.MOUNT_OP_FIXED_LEN);
  const flags = (op.optional ? names.MOUNT_OP_OPTIONAL : 0) | (op.readonly ? names.MOUNT_OP_READONLY : 0)
    | (op.dev ? names.MOUNT_OP_DEV : 0) | (op.cover ? names.MOUNT_OP_COVER : 0);
  const fd = op.source_fd !== null ? op.source_fd : op.content_fd;
  fixed.writeUInt16LE(names.MOUNT_KINDS[op.type], 0);
  fixed.writeUInt16LE(flags, 2);
  fixed.writeUInt32LE(op.mode >>> 0, 4);
  fixed.writeBigUInt64LE(op.size, 8);
  fixed.writeInt32LE(fd === null ? -1 : fd, 16);
  return Buffer.concat([fixed, cstr(op.source), cstr(op.target), mountOpContent(op)]);
}

/** A MOUNT_OP's content: a file's bytes, or an overlay's layers (upper and work when set, then
 * the lower directories, topmost first), each NUL-terminated. */
function mountOpContent(op) {
  if (!names.MOUNT_OP_LOWER[op.type]) return op.content || Buffer.alloc(0);
  return Buffer.concat([op.upper, op.work].filter((p) => p.length).concat(op.lower).map(cstr));
}

/** Names of a bit table (normalized: each a key of `table`) as their bits. */
function bitsOf(list, table) {
  return list.reduce((bits, n) => bits | table[n], 0);
}

/** LANDLOCK (handled fs, handled net, scopes, flags), then a LANDLOCK_PATH per `fs` rule and a
 * LANDLOCK_PORT per `net` rule, in list order. `fs`/`net` present (even empty) handle every
 * right of their kind. */
function landlockRecords(out, ll) {
  const head = Buffer.alloc(28);
  head.writeBigUInt64LE(BigInt(ll.fs ? names.LANDLOCK_FS_KNOWN : 0), 0);
  head.writeBigUInt64LE(BigInt(ll.net ? names.LANDLOCK_NET_KNOWN : 0), 8);
  head.writeBigUInt64LE(BigInt(bitsOf(ll.scope, names.LANDLOCK_SCOPES)), 16);
  head.writeUInt32LE(ll.exact ? names.LANDLOCK_EXACT : 0, 24);
  out.record(Record.LANDLOCK, head);
  for (const rule of ll.fs || []) {
    out.record(Record.LANDLOCK_PATH, Buffer.concat([u64(bitsOf(rule.access, names.LANDLOCK_FS)), cstr(rule.path)]));
  }
  for (const rule of ll.net || []) {
    out.record(Record.LANDLOCK_PORT, Buffer.concat([u64(bitsOf(rule.access, names.LANDLOCK_NET)), u64(rule.port)]));
  }
}

/** The canonical bytes of a spec without running the decoder over them (NULs still refused). */
function encodeUnchecked(spec) {
  spec = normalize(spec);
  checkNul(spec);
  const out = new Out();
  const header = Buffer.alloc(names.HEADER_LEN);
  names.MAGIC.copy(header, 0);
  header.writeUInt16LE(names.VERSION, 4);
  out.push(header);
  out.record(Record.ARGS, strings(spec.args));
  if (spec.env.length) out.record(Record.ENV, strings(spec.env));
  if (spec.exec_path !== null) out.record(Record.EXEC_PATH, cstr(spec.exec_path));
  if (spec.exec_file !== null) out.record(Record.EXEC_FD, u32(spec.exec_file));
  for (const r of spec.rlimits) {
    out.record(Record.RLIMIT, Buffer.concat([u32(names.RESOURCES.indexOf(r.resource)), u64(r.cur), u64(r.max)]));
  }
  if (spec.files.length) {
    const b = Buffer.alloc(4 * spec.files.length);
    spec.files.forEach((f, i) => b.writeInt32LE(f, 4 * i));
    out.record(Record.FILES, b);
  }
  if (spec.work_dir.length) out.record(Record.WORK_DIR, cstr(spec.work_dir));
  for (const program of seccompPrograms(spec)) {
    const b = Buffer.alloc(8 * program.length);
    program.forEach((f, i) => {
      b.writeUInt16LE(f.code, 8 * i);
      b.writeUInt8(f.jt, 8 * i + 2);
      b.writeUInt8(f.jf, 8 * i + 3);
      b.writeUInt32LE(f.k, 8 * i + 4);
    });
    out.record(Record.SECCOMP, b);
  }
  const clone = cloneFlagBits(spec);
  if (clone) out.record(Record.CLONE_FLAGS, u64(clone));
  for (const m of spec.mounts) {
    if (m.type !== undefined) {
      out.record(Record.MOUNT_OP, mountOpPayload(m));
      continue;
    }
    const flags = m.flags.reduce((a, f) => a | names.MOUNT_FLAGS[f], 0);
    const options = (m.mkdir ? names.MOUNT_MKDIR : 0) | (m.file ? names.MOUNT_FILE : 0);
    out.record(Record.MOUNT, Buffer.concat([u64(flags), u32(options), strings([m.source, m.target, m.fstype, m.data])]));
  }
  for (const [key, type] of [['pivot_root', Record.PIVOT_ROOT], ['host_name', Record.HOST_NAME], ['domain_name', Record.DOMAIN_NAME]]) {
    if (spec[key].length) out.record(type, cstr(spec[key]));
  }
  for (const [key, type] of [['uid_mappings', Record.UID_MAP], ['gid_mappings', Record.GID_MAP]]) {
    if (spec[key].length) {
      out.record(type, Buffer.concat(spec[key].map((m) => Buffer.concat([u32(m.container_id), u32(m.host_id), u32(m.size)]))));
    }
  }
  if (spec.credential !== null) {
    const c = spec.credential;
    out.record(Record.CREDENTIAL, Buffer.concat([u32(c.uid), u32(c.gid),
      u32(c.no_set_groups ? names.CRED_NO_SETGROUPS : 0), ...c.groups.map(u32)]));
  }
  const options = optionBits(spec);
  if (options) out.record(Record.OPTIONS, u64(options));
  if (spec.status_fd !== null) out.record(Record.STATUS_FD, u32(spec.status_fd));
  if (spec.cgroup.length) out.record(Record.CGROUP_PATH, cstr(spec.cgroup));
  if (spec.cgroup_fd !== null) out.record(Record.CGROUP_FD, u32(spec.cgroup_fd));
  if (spec.landlock) landlockRecords(out, spec.landlock);
  if (spec.info_fd !== null) out.record(Record.INFO_FD, u32(spec.info_fd));
  if (spec.json_status_fd !== null) out.record(Record.JSON_STATUS_FD, u32(spec.json_status_fd));
  if (spec.join_ns) {
    const j = spec.join_ns;
    const payload = Buffer.alloc(12);
    [j.user, j.pid, j.user2].forEach((fd, i) => payload.writeInt32LE(fd ?? -1, 4 * i));
    out.record(Record.JOIN_NS, payload);
  }
  for (const path of spec.lock_files) out.record(Record.LOCK_FILE, cstr(path));
  if (spec.sync_fd !== null) out.record(Record.SYNC_FD, u32(spec.sync_fd));
  if (spec.caps) {
    const payload = Buffer.alloc(12);
    payload.writeBigUInt64LE(spec.caps.keep.reduce((m, c) => m | (1n << BigInt(c)), 0n), 0);
    payload.writeUInt32LE(spec.caps.leave_sets ? names.CAPS_LEAVE_SETS : 0, 8);
    out.record(Record.CAPS, payload);
  }
  if (spec.block_fd !== null) out.record(Record.BLOCK_FD, u32(spec.block_fd));
  if (spec.userns_block_fd !== null) out.record(Record.USERNS_BLOCK_FD, u32(spec.userns_block_fd));
  if (out.length > 0xffffffff) throw new SpecError({ fault: Fault.BAD_TOTAL_LENGTH, offset: 8, record: 'header' });
  const data = Buffer.concat(out.chunks, out.length);
  data.writeUInt32LE(data.length, 8);
  return data;
}

/**
 * The wire bytes of `spec` (the JSON form) in the canonical record order, checked by decode():
 * a spec the helper would refuse throws SpecError with its fault, offset and the record there.
 */
function encode(spec) {
  const data = encodeUnchecked(spec);
  try {
    decode(data);
  } catch (e) {
    if (e instanceof SpecError && e.fault !== undefined) {
      throw new SpecError({ fault: e.fault, offset: e.offset, record: recordAt(data, e.offset) });
    }
    throw e;
  }
  return data;
}

/**
 * What sits at byte `offset` of a well-framed spec: `header`, a record's JSON key (`rlimits[i]`
 * and `mounts[i]` counted in order, MOUNT and MOUNT_OP together; `seccomp[i]` when there are
 * several programs) or `end of spec`.
 */
function recordAt(data, offset) {
  if (offset < names.HEADER_LEN) return 'header';
  let at = names.HEADER_LEN;
  let rlimits = 0;
  let mounts = 0;
  let seccomps = 0;
  let programs = 0;
  for (let s = at; s + names.RECORD_HEADER_LEN <= data.length;) {
    if (data.readUInt16LE(s) === Record.SECCOMP) programs++;
    s += names.RECORD_HEADER_LEN + data.readUInt32LE(s + 4);
  }
  while (at + names.RECORD_HEADER_LEN <= data.length) {
    const type = data.readUInt16LE(at);
    const end = at + names.RECORD_HEADER_LEN + data.readUInt32LE(at + 4);
    if (offset < end) {
      if (type === Record.RLIMIT) return `rlimits[${rlimits}]`;
      if (type === Record.SECCOMP && programs > 1) return `seccomp[${seccomps}]`;
      if (type === Record.MOUNT || type === Record.MOUNT_OP) return `mounts[${mounts}]`;
      return names.RECORD_NAMES[type] || 'unknown';
    }
    if (type === Record.RLIMIT) rlimits++;
    if (type === Record.SECCOMP) seccomps++;
    if (type === Record.MOUNT || type === Record.MOUNT_OP) mounts++;
    at = end;
  }
  return 'end of spec';
}

// --- the decoder -------------------------------------------------------------------------------

function fail(fault, offset) {
  throw new SpecError({ fault, offset });
}

/** Bytes as a JS string when they are valid UTF-8 (round trip), else the Buffer itself. */
function text(buf) {
  const s = buf.toString('utf8');
  return Buffer.from(s, 'utf8').equals(buf) ? s : Buffer.from(buf);
}

function checkHeader(buf) {
  const n = buf.length;
  for (let i = 0; i < Math.min(4, n); i++) if (buf[i] !== names.MAGIC[i]) fail(Fault.BAD_MAGIC, i);
  if (n < names.HEADER_LEN) fail(Fault.TRUNCATED, n);
  if (buf.readUInt16LE(4) !== names.VERSION) fail(Fault.BAD_VERSION, 4);
  if (buf.readUInt16LE(6) !== 0) fail(Fault.UNKNOWN_BITS, 6);
  const total = buf.readUInt32LE(8);
  if (total < names.HEADER_LEN || total > Limit.SPEC) fail(Fault.BAD_TOTAL_LENGTH, 8);
  if (total > n) fail(Fault.TRUNCATED, n);
  if (total < n) fail(Fault.BAD_TOTAL_LENGTH, 8);
  return total;
}

function stringList(buf, p, len, limit) {
  if (len === 0) return [];
  const payload = buf.subarray(p, p + len);
  if (payload[len - 1] !== 0) fail(Fault.UNTERMINATED, p + len);
  let count = 0;
  for (const b of payload) if (b === 0) count++;
  if (count > limit) fail(Fault.TOO_MANY, p);
  const out = [];
  let start = 0;
  for (let i = 0; i < len; i++) {
    if (payload[i] === 0) {
      out.push(text(payload.subarray(start, i)));
      start = i + 1;
    }
  }
  return out;
}

function singleString(buf, p, len, limit) {
  const payload = buf.subarray(p, p + len);
  const nul = payload.indexOf(0);
  if (nul < 0) fail(Fault.UNTERMINATED, p + len);
  if (nul !== len - 1) fail(Fault.INTERIOR_NUL, p + nul);
  if (len > limit) fail(Fault.TOO_LONG, p);
  return payload.subarray(0, len - 1);
}

function fdRecord(buf, r, p, len) {
  if (len !== 4) fail(Fault.BAD_RECORD_LENGTH, r + 4);
  const fd = buf.readUInt32LE(p);
  if (fd >= Limit.FD) fail(Fault.FD_OUT_OF_RANGE, p);
  return fd;
}

function idEntries(buf, r, p, len) {
  if (len === 0 || len % 12) fail(Fault.BAD_RECORD_LENGTH, r + 4);
  if (len / 12 > Limit.ID_MAP) fail(Fault.TOO_MANY, p);
  const entries = [];
  for (let i = 0; i < len / 12; i++) {
    const [container_id, host_id, size] = [0, 4, 8].map((o) => buf.readUInt32LE(p + 12 * i + o));
    if (size === 0 || container_id + size > 0xffffffff || host_id + size > 0xffffffff) {
      fail(Fault.BAD_VALUE, p + 12 * i + 8);
    }
    entries.push({ container_id, host_id, size });
  }
  return entries;
}

function mountRecord(buf, r, p, len) {
  if (len < 12) fail(Fault.BAD_RECORD_LENGTH, r + 4);
  const flags = buf.readBigUInt64LE(p);
  const options = buf.readUInt32LE(p + 8);
  if (flags & ~BigInt(names.MOUNT_FLAGS_KNOWN)) fail(Fault.UNKNOWN_BITS, p);
  if (options & ~names.MOUNT_OPTIONS_KNOWN) fail(Fault.UNKNOWN_BITS, p + 8);
  const end = p + len;
  let at = p + 12;
  const strs = [];
  for (const limit of [Limit.PATH, Limit.PATH, Limit.FSTYPE, Limit.MOUNT_DATA]) {
    const nul = buf.indexOf(0, at);
    if (nul < 0 || nul >= end) fail(Fault.UNTERMINATED, end);
    if (nul + 1 - at > limit) fail(Fault.TOO_LONG, at);
    strs.push([at, buf.subarray(at, nul)]);
    at = nul + 1;
  }
  if (at !== end) fail(Fault.BAD_RECORD_LENGTH, at);
  if (strs[1][1].length === 0) fail(Fault.BAD_VALUE, strs[1][0]);
  const f = Number(flags);
  return {
    source: text(strs[0][1]), target: text(strs[1][1]), fstype: text(strs[2][1]),
    flags: Object.keys(names.MOUNT_FLAGS).filter((n) => f & names.MOUNT_FLAGS[n]),
    data: text(strs[3][1]), mkdir: !!(options & names.MOUNT_MKDIR), file: !!(options & names.MOUNT_FILE),
  };
}

/** The names of the bits set in `bits`, in the table's order. */
function bitNames(bits, table) {
  return Object.keys(table).filter((n) => bits & table[n]);
}

/** LANDLOCK: u64 handled fs, u64 handled net, u64 scopes, u32 flags; something handled. */
function landlockRecord(buf, r, p, len) {
  if (len !== 28) fail(Fault.BAD_RECORD_LENGTH, r + 4);
  const fields = [
    [buf.readBigUInt64LE(p), names.LANDLOCK_FS_KNOWN, 0], [buf.readBigUInt64LE(p + 8), names.LANDLOCK_NET_KNOWN, 8],
    [buf.readBigUInt64LE(p + 16), names.LANDLOCK_SCOPES_KNOWN, 16], [BigInt(buf.readUInt32LE(p + 24)), names.LANDLOCK_EXACT, 24],
  ];
  for (const [bits, known, off] of fields) if (bits & ~BigInt(known)) fail(Fault.UNKNOWN_BITS, p + off);
  const [fs, net, scoped, flags] = fields.map(([bits]) => Number(bits));
  if (!fs && !net && !scoped) fail(Fault.BAD_VALUE, p);
  return { fs, net, scoped, flags };
}

/** LANDLOCK_PATH (u64 rights, an absolute path) or LANDLOCK_PORT (u64 rights, u64 port). */
function landlockRule(buf, r, p, len, isPath) {
  if (isPath ? len < 9 : len !== 16) fail(Fault.BAD_RECORD_LENGTH, r + 4);
  const access = buf.readBigUInt64LE(p);
  if (access & ~BigInt(isPath ? names.LANDLOCK_FS_KNOWN : names.LANDLOCK_NET_KNOWN)) fail(Fault.UNKNOWN_BITS, p);
  if (access === 0n) fail(Fault.BAD_VALUE, p);
  let value;
  if (isPath) {
    const path = singleString(buf, p + 8, len - 8, Limit.PATH);
    if (path[0] !== 0x2f) fail(Fault.BAD_VALUE, p + 8);
    value = text(path);
  } else {
    const port = buf.readBigUInt64LE(p + 8);
    if (port > 65535n) fail(Fault.BAD_VALUE, p + 8);
    value = Number(port);
  }
  return { at: p, access: Number(access), value };
}

/** An overlay's layers, checked as parse_layers (crates/spec/src/decode.rs) checks them. */
function parseLayers(content, at, fewest, upper) {
  const fixed = upper ? 2 : 0;
  const layers = [];
  let off = 0;
  while (off < content.length) {
    const nul = content.indexOf(0, off);
    if (nul < 0) fail(Fault.UNTERMINATED, at + content.length);
    if (nul + 1 - off > Limit.PATH) fail(Fault.TOO_LONG, at + off);
    if (content[off] !== 0x2f) fail(Fault.BAD_VALUE, at + off);
    layers.push(content.subarray(off, nul));
    if (layers.length > fixed + Limit.OVERLAY_LOWER) fail(Fault.TOO_MANY, at + off);
    off = nul + 1;
  }
  if (layers.length < fixed + fewest) fail(Fault.BAD_VALUE, at + content.length);
  return layers;
}

function mountOpRecord(buf, r, p, len) {
  if (len < names.MOUNT_OP_FIXED_LEN) fail(Fault.BAD_RECORD_LENGTH, r + 4);
  const kind = buf.readUInt16LE(p);
  const flags = buf.readUInt16LE(p + 2);
  const mode = buf.readUInt32LE(p + 4);
  const size = buf.readBigUInt64LE(p + 8);
  let fd = buf.readInt32LE(p + 16);
  if (KIND_NAMES[kind] === undefined) fail(Fault.BAD_VALUE, p);
  if (flags & ~names.MOUNT_OP_FLAGS_KNOWN) fail(Fault.UNKNOWN_BITS, p + 2);
  if (fd !== -1 && !(fd >= 0 && fd < Limit.FD)) fail(Fault.FD_OUT_OF_RANGE, p + 16);
  fd = fd === -1 ? null : fd;
  const end = p + len;
  let at = p + names.MOUNT_OP_FIXED_LEN;
  const strs = [];
  for (let i = 0; i < 2; i++) {
    const nul = buf.indexOf(0, at);
    if (nul < 0 || nul >= end) fail(Fault.UNTERMINATED, end);
    if (nul + 1 - at > Limit.PATH) fail(Fault.TOO_LONG, at);
    strs.push([at, buf.subarray(at, nul)]);
    at = nul + 1;
  }
  const [[sourceAt, source], [targetAt, target]] = strs;
  const content = buf.subarray(at, end);
  const type = KIND_NAMES[kind];
  // What each kind takes: names.MOUNT_OP_FIELDS (the JSON keys), one table for both directions.
  const takes = names.MOUNT_OP_FIELDS[type];
  const allowed = (takes.includes('optional') ? names.MOUNT_OP_OPTIONAL : 0)
    | (takes.includes('readonly') ? names.MOUNT_OP_READONLY : 0) | (takes.includes('dev') ? names.MOUNT_OP_DEV : 0)
    | (takes.includes('cover') ? names.MOUNT_OP_COVER : 0);
  if (flags & ~allowed) fail(Fault.BAD_VALUE, p + 2);
  const takesMode = takes.includes('mode');
  if (mode > Limit.MODE || (!takesMode && mode !== 0)) fail(Fault.BAD_VALUE, p + 4);
  if (!takes.includes('size') && size !== 0n) fail(Fault.BAD_VALUE, p + 8);
  const fdKey = ['source_fd', 'content_fd'].find((k) => takes.includes(k));
  if (fd !== null && !fdKey) fail(Fault.BAD_VALUE, p + 16);
  if (type === 'bind') {
    if ((source.length === 0) === (fd === null)) fail(Fault.CONFLICT, sourceAt);
  } else if (type === 'symlink') {
    if (source.length === 0) fail(Fault.BAD_VALUE, sourceAt);
  } else if (source.length) {
    fail(Fault.BAD_VALUE, sourceAt);
  }
  const fewest = names.MOUNT_OP_LOWER[type];
  const layers = fewest ? parseLayers(content, at, fewest, takes.includes('upper')) : [];
  if (!fewest && content.length && (!takes.includes('content') || fd !== null)) {
    fail(takes.includes('content') ? Fault.CONFLICT : Fault.BAD_VALUE, at);
  }
  if (target[0] !== 0x2f) fail(Fault.BAD_VALUE, targetAt);
  const op = { type, target: text(target) };
  if (source.length) op.source = text(source);
  if (fd !== null) op[fdKey] = fd;
  if (takes.includes('size')) op.size = size;
  if (takesMode) op.mode = mode;
  if (fewest) {
    const fixed = takes.includes('upper') ? 2 : 0;
    if (fixed) [op.upper, op.work] = [text(layers[0]), text(layers[1])];
    op.lower = layers.slice(fixed).map(text);
  } else if (content.length) op.content = Buffer.from(content);
  if (flags & names.MOUNT_OP_READONLY) op.readonly = true;
  if (flags & names.MOUNT_OP_DEV) op.dev = true;
  if (flags & names.MOUNT_OP_OPTIONAL) op.optional = true;
  if (flags & names.MOUNT_OP_COVER) op.cover = true;
  return [op, fd];
}

/**
 * Decodes and validates a whole spec as the helper does; returns a Decoded whose `spec` is the
 * JSON form it describes. Throws SpecError (fault, offset) at the first failing check.
 */
function decode(buf) {
  buf = Buffer.from(buf);
  const total = checkHeader(buf);
  const seen = new Map(); // record type -> R of its first record
  const spec = {};
  const rlimits = [];
  const programs = [];
  const mounts = [];
  const opFds = []; // [P + 16, fd] of each MOUNT_OP with an fd
  let firstMount = null;
  let clone = 0;
  let options = 0;
  let optionsAt = null;
  let uidMap = null;
  let gidMap = null;
  let hostDomainLast = null;
  let landlock = null; // { fs, net, scoped, flags } of the LANDLOCK record
  const llPaths = []; // { at: P, access, value: path } of each LANDLOCK_PATH
  const llPorts = []; // { at: P, access, value: port } of each LANDLOCK_PORT
  let at = names.HEADER_LEN;
  const singleKeys = {
    [Record.EXEC_PATH]: 'exec_path', [Record.WORK_DIR]: 'work_dir', [Record.PIVOT_ROOT]: 'pivot_root',
    [Record.HOST_NAME]: 'host_name', [Record.DOMAIN_NAME]: 'domain_name', [Record.CGROUP_PATH]: 'cgroup',
  };
  const fdKeys = {
    [Record.EXEC_FD]: 'exec_file', [Record.STATUS_FD]: 'status_fd', [Record.CGROUP_FD]: 'cgroup_fd',
    [Record.INFO_FD]: 'info_fd', [Record.JSON_STATUS_FD]: 'json_status_fd',
    [Record.SYNC_FD]: 'sync_fd', [Record.BLOCK_FD]: 'block_fd',
    [Record.USERNS_BLOCK_FD]: 'userns_block_fd',
  };
  while (at < total) {
    const r = at;
    if (total - r < names.RECORD_HEADER_LEN) fail(Fault.TRUNCATED, total);
    const type = buf.readUInt16LE(r);
    const rflags = buf.readUInt16LE(r + 2);
    const len = buf.readUInt32LE(r + 4);
    const p = r + names.RECORD_HEADER_LEN;
    if (len > total - p) fail(Fault.TRUNCATED, total);
    at = p + len;
    if (rflags & ~names.SKIP_IF_UNKNOWN) fail(Fault.UNKNOWN_BITS, r + 2);
    if (!(type in names.RECORD_NAMES)) { // (a gap in the numbering is unknown too)
      if (rflags & names.SKIP_IF_UNKNOWN) continue;
      fail(Fault.UNKNOWN_RECORD, r);
    }
    const repeatable = [Record.RLIMIT, Record.SECCOMP, Record.MOUNT, Record.MOUNT_OP,
      Record.LANDLOCK_PATH, Record.LANDLOCK_PORT, Record.LOCK_FILE].includes(type);
    if (!repeatable && seen.has(type)) fail(Fault.DUPLICATE_RECORD, r);
    if (!seen.has(type)) seen.set(type, r);

    if (type === Record.ARGS || type === Record.ENV) {
      spec[type === Record.ARGS ? 'args' : 'env'] = stringList(buf, p, len, Limit.STRINGS);
    } else if (singleKeys[type]) {
      const name = type === Record.HOST_NAME || type === Record.DOMAIN_NAME;
      const s = singleString(buf, p, len, name ? Limit.NAME : Limit.PATH);
      if ([Record.EXEC_PATH, Record.WORK_DIR, Record.PIVOT_ROOT].includes(type) && s.length === 0) fail(Fault.BAD_VALUE, p);
      if ((type === Record.PIVOT_ROOT || type === Record.CGROUP_PATH) && s[0] !== 0x2f) fail(Fault.BAD_VALUE, p);
      if (name) hostDomainLast = r;
      spec[singleKeys[type]] = text(s);
    } else if (fdKeys[type]) {
      spec[fdKeys[type]] = fdRecord(buf, r, p, len);
    } else if (type === Record.RLIMIT) {
      if (rlimits.length >= Limit.RLIMITS) fail(Fault.TOO_MANY, r);
      if (len !== 20) fail(Fault.BAD_RECORD_LENGTH, r + 4);
      const resource = buf.readUInt32LE(p);
      const cur = buf.readBigUInt64LE(p + 4);
      const max = buf.readBigUInt64LE(p + 12);
      if (resource >= Limit.RESOURCE) fail(Fault.BAD_VALUE, p);
      if (cur > max) fail(Fault.BAD_VALUE, p + 4);
      rlimits.push({ resource: names.RESOURCES[resource], cur, max });
    } else if (type === Record.FILES) {
      if (len % 4) fail(Fault.BAD_RECORD_LENGTH, r + 4);
      if (len / 4 > Limit.FILES) fail(Fault.TOO_MANY, p);
      const files = [];
      for (let i = 0; i < len / 4; i++) {
        const f = buf.readInt32LE(p + 4 * i);
        if (f < -1 || f >= Limit.FD) fail(Fault.FD_OUT_OF_RANGE, p + 4 * i);
        files.push(f);
      }
      spec.files = files;
    } else if (type === Record.SECCOMP) {
      if (programs.length >= Limit.SECCOMP_PROGRAMS) fail(Fault.TOO_MANY, r);
      if (len === 0 || len % 8) fail(Fault.BAD_RECORD_LENGTH, r + 4);
      if (len / 8 > Limit.SECCOMP) fail(Fault.TOO_MANY, p);
      const program = [];
      for (let i = 0; i < len / 8; i++) {
        const o = p + 8 * i;
        program.push({ code: buf.readUInt16LE(o), jt: buf[o + 2], jf: buf[o + 3], k: buf.readUInt32LE(o + 4) });
      }
      programs.push(program);
    } else if (type === Record.CLONE_FLAGS) {
      if (len !== 8) fail(Fault.BAD_RECORD_LENGTH, r + 4);
      const bits = buf.readBigUInt64LE(p);
      if (bits & ~BigInt(names.CLONE_KNOWN)) fail(Fault.UNKNOWN_BITS, p);
      clone = Number(bits);
      spec.clone_flags = Object.keys(names.CLONE_FLAGS).filter((n) => clone & names.CLONE_FLAGS[n]);
    } else if (type === Record.MOUNT || type === Record.MOUNT_OP) {
      // MOUNT and MOUNT_OP share the limit and the index space.
      if (mounts.length >= Limit.MOUNTS) fail(Fault.TOO_MANY, r);
      if (type === Record.MOUNT) {
        mounts.push(mountRecord(buf, r, p, len));
      } else {
        const [op, fd] = mountOpRecord(buf, r, p, len);
        mounts.push(op);
        if (fd !== null) opFds.push([p + 16, fd]);
      }
      if (firstMount === null) firstMount = r;
    } else if (type === Record.UID_MAP || type === Record.GID_MAP) {
      const entries = idEntries(buf, r, p, len);
      if (type === Record.UID_MAP) spec.uid_mappings = uidMap = entries;
      else spec.gid_mappings = gidMap = entries;
    } else if (type === Record.CREDENTIAL) {
      if (len < 12 || (len - 12) % 4) fail(Fault.BAD_RECORD_LENGTH, r + 4);
      const n = (len - 12) / 4;
      if (n > Limit.GROUPS) fail(Fault.TOO_MANY, p + 12);
      const cflags = buf.readUInt32LE(p + 8);
      if (cflags & ~names.CRED_FLAGS_KNOWN) fail(Fault.UNKNOWN_BITS, p + 8);
      const groups = [];
      for (let i = 0; i < n; i++) groups.push(buf.readUInt32LE(p + 12 + 4 * i));
      spec.credential = { uid: buf.readUInt32LE(p), gid: buf.readUInt32LE(p + 4), groups,
        no_set_groups: !!(cflags & names.CRED_NO_SETGROUPS) };
    } else if (type === Record.CAPS) {
      if (len !== 12) fail(Fault.BAD_RECORD_LENGTH, r + 4);
      const kept = buf.readBigUInt64LE(p);
      const cflags = buf.readUInt32LE(p + 8);
      if (cflags & ~names.CAPS_LEAVE_SETS) fail(Fault.UNKNOWN_BITS, p + 8);
      const keep = [];
      for (let c = 0; c < 64; c++) if ((kept >> BigInt(c)) & 1n) keep.push(c);
      spec.caps = { keep, leave_sets: !!(cflags & names.CAPS_LEAVE_SETS) };
    } else if (type === Record.JOIN_NS) {
      if (len !== 12) fail(Fault.BAD_RECORD_LENGTH, r + 4);
      const fds = [0, 1, 2].map((i) => buf.readInt32LE(p + 4 * i));
      fds.forEach((fd, i) => { if (fd < -1 || fd >= Limit.FD) fail(Fault.FD_OUT_OF_RANGE, p + 4 * i); });
      if (fds.every((fd) => fd === -1)) fail(Fault.BAD_VALUE, p);
      const [user, pid, user2] = fds.map((fd) => (fd === -1 ? null : fd));
      spec.join_ns = { user, pid, user2 };
    } else if (type === Record.LOCK_FILE) {
      const s = singleString(buf, p, len, Limit.PATH);
      if (s[0] !== 0x2f) fail(Fault.BAD_VALUE, p);
      // The count after the payload's own checks, as the helper's decoder counts.
      spec.lock_files = spec.lock_files || [];
      if (spec.lock_files.length >= Limit.LOCK_FILES) fail(Fault.TOO_MANY, r);
      spec.lock_files.push(text(s));
    } else if (type === Record.OPTIONS) {
      if (len !== 8) fail(Fault.BAD_RECORD_LENGTH, r + 4);
      const bits = buf.readBigUInt64LE(p);
      if (bits & ~BigInt(names.OPTIONS_KNOWN)) fail(Fault.UNKNOWN_BITS, p);
      options = Number(bits);
      optionsAt = p;
      for (const [key, bit] of Object.entries(names.OPTION_BITS)) {
        spec[key] = key === 'setsid' ? !(options & bit) : !!(options & bit);
      }
    } else if (type === Record.LANDLOCK) {
      landlock = landlockRecord(buf, r, p, len);
    } else if (type === Record.LANDLOCK_PATH || type === Record.LANDLOCK_PORT) {
      const rules = type === Record.LANDLOCK_PATH ? llPaths : llPorts;
      const rule = landlockRule(buf, r, p, len, type === Record.LANDLOCK_PATH);
      // The count after the payload's own checks, as the helper's decoder counts.
      if (rules.length >= Limit.LANDLOCK_RULES) fail(Fault.TOO_MANY, r);
      rules.push(rule);
    } else {
      // A record type names.js lists that this decoder does not parse: refused, never skipped
      // (the helper parses every type it knows, so skipping would pass what it refuses).
      fail(Fault.UNKNOWN_RECORD, r);
    }
  }

  // 3. The whole spec.
  const args = spec.args;
  if (!args || args.length === 0) fail(Fault.MISSING_ARGS, total);
  const hasExec = seen.has(Record.EXEC_PATH) || seen.has(Record.EXEC_FD);
  if (args[0].length === 0 && !hasExec) fail(Fault.MISSING_ARGS, total);
  if (seen.has(Record.EXEC_PATH) && seen.has(Record.EXEC_FD)) fail(Fault.CONFLICT, seen.get(Record.EXEC_PATH));
  const NEWNS = names.CLONE_FLAGS.newns;
  if (firstMount !== null && !(clone & NEWNS)) fail(Fault.CONFLICT, firstMount);
  if (seen.has(Record.PIVOT_ROOT) && !(clone & NEWNS)) fail(Fault.CONFLICT, seen.get(Record.PIVOT_ROOT));
  if (hostDomainLast !== null && !(clone & names.CLONE_FLAGS.newuts)) fail(Fault.CONFLICT, hostDomainLast);
  for (const t of [Record.UID_MAP, Record.GID_MAP]) {
    if (seen.has(t) && !(clone & names.CLONE_FLAGS.newuser)) fail(Fault.CONFLICT, seen.get(t));
  }
  const { Opt } = names;
  if (options & Opt.CTTY && options & Opt.NO_SETSID) fail(Fault.CONFLICT, optionsAt);
  if (seen.has(Record.CGROUP_PATH) && seen.has(Record.CGROUP_FD)) {
    fail(Fault.CONFLICT, Math.max(seen.get(Record.CGROUP_PATH), seen.get(Record.CGROUP_FD)));
  }
  if (options & Opt.DETACH && options & Opt.INIT) fail(Fault.CONFLICT, optionsAt);
  if (options & Opt.DUMPABLE_INIT && !(options & Opt.INIT)) fail(Fault.CONFLICT, optionsAt);
  if (options & Opt.NO_WAIT_INIT && !(options & Opt.INIT)) fail(Fault.CONFLICT, optionsAt);
  // Locks and the sync fd are held by init.
  for (const t of [Record.LOCK_FILE, Record.SYNC_FD]) {
    if (seen.has(t) && !(options & Opt.INIT)) fail(Fault.CONFLICT, seen.get(t));
  }
  // Another process writes the id maps of the user namespace the spec creates.
  if (seen.has(Record.USERNS_BLOCK_FD) && (!(clone & names.CLONE_FLAGS.newuser)
      || seen.has(Record.UID_MAP) || seen.has(Record.GID_MAP))) {
    fail(Fault.CONFLICT, seen.get(Record.USERNS_BLOCK_FD));
  }
  if (options & Opt.WRITABLE_ROOT && !seen.has(Record.PIVOT_ROOT)) fail(Fault.CONFLICT, optionsAt);
  // The loopback interface brought up is the new network namespace's.
  if (options & Opt.LOOPBACK && !(clone & names.CLONE_FLAGS.newnet)) fail(Fault.CONFLICT, optionsAt);
  // The exit code needs a helper that stays to see the end; a detached one exits at once.
  if (seen.has(Record.JSON_STATUS_FD) && options & Opt.DETACH) fail(Fault.CONFLICT, seen.get(Record.JSON_STATUS_FD));
  const j = spec.join_ns;
  if (j && ((j.user !== null && clone & names.CLONE_FLAGS.newuser) || (j.pid !== null && clone & names.CLONE_FLAGS.newpid))) {
    fail(Fault.CONFLICT, seen.get(Record.JOIN_NS));
  }
  // A kept set and "drop every capability" contradict each other.
  if (seen.has(Record.CAPS) && options & Opt.DROP_CAPS) fail(Fault.CONFLICT, seen.get(Record.CAPS));
  // A Landlock rule needs the LANDLOCK record, and only rights its ruleset handles: the first
  // such path rule, then the first such port rule.
  const handled = landlock || { fs: 0, net: 0 };
  for (const [rules, bits] of [[llPaths, handled.fs], [llPorts, handled.net]]) {
    for (const rule of rules) if (rule.access & ~bits) fail(Fault.CONFLICT, rule.at);
  }
  // A mount operation's fd is used after the fd stage: the target's fd table must not replace it.
  const files = spec.files || [];
  const block = spec.block_fd;
  if (block !== undefined && block < files.length && files[block] !== block) fail(Fault.CONFLICT, seen.get(Record.BLOCK_FD));
  for (const [fdAt, fd] of opFds) if (fd < files.length && files[fd] !== fd) fail(Fault.CONFLICT, fdAt);
  // The limit is set in, and the nested user namespace made below, a new user namespace.
  if (options & Opt.DISABLE_USERNS && !(clone & names.CLONE_FLAGS.newuser)) fail(Fault.CONFLICT, optionsAt);
  if (landlock) {
    const ruleNames = (rules, table, key) => rules.map((rule) => ({ [key]: rule.value, access: bitNames(rule.access, table) }));
    spec.landlock = { exact: !!(landlock.flags & names.LANDLOCK_EXACT) };
    if (landlock.fs) spec.landlock.fs = ruleNames(llPaths, names.LANDLOCK_FS, 'path');
    if (landlock.net) spec.landlock.net = ruleNames(llPorts, names.LANDLOCK_NET, 'port');
    spec.landlock.scope = bitNames(landlock.scoped, names.LANDLOCK_SCOPES);
  }

  if (rlimits.length) spec.rlimits = rlimits;
  if (programs.length) spec.seccomp = programs.length === 1 ? programs[0] : programs;
  if (mounts.length) spec.mounts = mounts;
  return new Decoded(spec, optionsAt, clone, options, uidMap, gidMap);
}

/** A spec that passed every check of docs/spec.md ("Order of checks", steps 1-3). */
class Decoded {
  constructor(spec, optionsAt, cloneFlags, options, uidMap, gidMap) {
    /** The JSON form the bytes describe (absent keys left out). */
    this.spec = spec;
    this.optionsAt = optionsAt;
    this.cloneFlags = cloneFlags;
    this.options = options;
    this.uidMap = uidMap;
    this.gidMap = gidMap;
    /** Whether JSON_STATUS_FD is there, and JOIN_NS (both bear on the shape). */
    this.jsonStatusFd = spec.json_status_fd !== undefined;
    this.joinNs = spec.join_ns || null;
  }

  /**
   * The process shape the helper picks when it runs with these effective ids (step 4):
   * 'in_place', 'supervise', 'detach' or 'init'. Throws SpecError (Conflict at P of OPTIONS) for
   * ptrace or stop_before_seccomp in a supervised shape.
   */
  shape(euid, egid) {
    const selfMap = (m, own) => m === null || (m.length === 1 && m[0].size === 1 && m[0].host_id === own);
    const { Opt } = names;
    const outer = !selfMap(this.uidMap, euid) || !selfMap(this.gidMap, egid)
      || (this.gidMap !== null && !!(this.options & Opt.GID_MAPPINGS_ENABLE_SETGROUPS));
    let shape;
    if (this.options & Opt.INIT) shape = Shape.INIT;
    else if (this.options & Opt.DETACH) shape = Shape.DETACH;
    // A clone for a new pid namespace, outer-only id maps, a JSON status fd (its exit code needs
    // a helper that stays) or a joined pid namespace.
    else if (outer || this.cloneFlags & names.CLONE_FLAGS.newpid || this.jsonStatusFd
      || (this.joinNs && this.joinNs.pid !== null)) shape = Shape.SUPERVISE;
    else shape = Shape.IN_PLACE;
    if (this.options & (Opt.PTRACE | Opt.STOP_BEFORE_SECCOMP) && (shape === Shape.SUPERVISE || shape === Shape.INIT)) {
      fail(Fault.CONFLICT, this.optionsAt);
    }
    return shape;
  }
}

module.exports = { encode, encodeUnchecked, decode, recordAt, mountOpPayload, Decoded, Shape };
