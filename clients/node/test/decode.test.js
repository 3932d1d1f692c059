'use strict';
// decode() parses every record type names.js lists, Landlock's three included, with the
// helper's faults and offsets (docs/spec.md, "22 LANDLOCK, 23 LANDLOCK_PATH, 24 LANDLOCK_PORT"),
// and refuses what it cannot parse instead of skipping it. The bytes are written out here.

const test = require('node:test');
const assert = require('node:assert/strict');
const { decode, Shape } = require('../lib/wire');
const { SpecError } = require('../lib/errors');
const names = require('../lib/names');

const { Record, Fault } = names;

function record(type, payload, flags = 0) {
  const h = Buffer.alloc(8);
  h.writeUInt16LE(type, 0);
  h.writeUInt16LE(flags, 2);
  h.writeUInt32LE(payload.length, 4);
  return Buffer.concat([h, payload]);
}

/** A spec: ARGS ["/bin/true"] (30 bytes with the header), then `records`. */
function spec(...records) {
  const body = Buffer.concat([record(Record.ARGS, Buffer.from('/bin/true\0')), ...records]);
  const h = Buffer.alloc(12);
  names.MAGIC.copy(h, 0);
  h.writeUInt16LE(1, 4);
  h.writeUInt32LE(12 + body.length, 8);
  return Buffer.concat([h, body]);
}

const u32 = (...v) => Buffer.concat(v.map((n) => { const b = Buffer.alloc(4); b.writeInt32LE(n); return b; }));
const u64 = (...v) => Buffer.concat(v.map((n) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; }));
const str = (s) => Buffer.from(`${s}\0`);
const landlock = (fs, net, scoped, flags = 0) => record(Record.LANDLOCK, Buffer.concat([u64(fs, net, scoped), u32(flags)]));
const llPath = (access, path) => record(Record.LANDLOCK_PATH, Buffer.concat([u64(access), str(path)]));
const llPort = (access, port) => record(Record.LANDLOCK_PORT, u64(access, port));
const NEWNS = names.CLONE_FLAGS.newns;

function refused(bytes, offset, fault) {
  assert.throws(() => decode(bytes), (e) => {
    assert.ok(e instanceof SpecError, String(e));
    assert.deepEqual([e.offset, e.faultName], [offset, names.FAULTS[fault][0]]);
    return true;
  });
}

// One record of each type (with what it needs), and the JSON key its value shows up under.
const ONE_OF_EACH = {
  ARGS: [[], 'args'],
  ENV: [[record(Record.ENV, str('A=1'))], 'env'],
  EXEC_PATH: [[record(Record.EXEC_PATH, str('/bin/true'))], 'exec_path'],
  EXEC_FD: [[record(Record.EXEC_FD, u32(3))], 'exec_file'],
  RLIMIT: [[record(Record.RLIMIT, Buffer.concat([u32(7), u64(1, 2)]))], 'rlimits'],
  FILES: [[record(Record.FILES, u32(0, -1))], 'files'],
  WORK_DIR: [[record(Record.WORK_DIR, str('/'))], 'work_dir'],
  SECCOMP: [[record(Record.SECCOMP, Buffer.concat([Buffer.from([6, 0, 0, 0]), u32(0x7fff0000)]))], 'seccomp'],
  CLONE_FLAGS: [[record(Record.CLONE_FLAGS, u64(NEWNS))], 'clone_flags'],
  MOUNT: [[record(Record.CLONE_FLAGS, u64(NEWNS)), record(Record.MOUNT, Buffer.concat([u64(0), u32(0), str('a'), str('/b'), str(''), str('')]))], 'mounts'],
  PIVOT_ROOT: [[record(Record.CLONE_FLAGS, u64(NEWNS)), record(Record.PIVOT_ROOT, str('/r'))], 'pivot_root'],
  HOST_NAME: [[record(Record.CLONE_FLAGS, u64(names.CLONE_FLAGS.newuts)), record(Record.HOST_NAME, str('h'))], 'host_name'],
  DOMAIN_NAME: [[record(Record.CLONE_FLAGS, u64(names.CLONE_FLAGS.newuts)), record(Record.DOMAIN_NAME, str('d'))], 'domain_name'],
  UID_MAP: [[record(Record.CLONE_FLAGS, u64(names.CLONE_FLAGS.newuser)), record(Record.UID_MAP, u32(0, 1000, 1))], 'uid_mappings'],
  GID_MAP: [[record(Record.CLONE_FLAGS, u64(names.CLONE_FLAGS.newuser)), record(Record.GID_MAP, u32(0, 1000, 1))], 'gid_mappings'],
  CREDENTIAL: [[record(Record.CREDENTIAL, u32(1, 2, 0))], 'credential'],
  OPTIONS: [[record(Record.OPTIONS, u64(names.Opt.SYNC))], 'sync'],
  STATUS_FD: [[record(Record.STATUS_FD, u32(4))], 'status_fd'],
  CGROUP_PATH: [[record(Record.CGROUP_PATH, str('/c'))], 'cgroup'],
  CGROUP_FD: [[record(Record.CGROUP_FD, u32(5))], 'cgroup_fd'],
  MOUNT_OP: [[record(Record.CLONE_FLAGS, u64(NEWNS)), record(Record.MOUNT_OP, Buffer.concat([Buffer.from([3, 0, 0, 0]), u32(0), u64(0), u32(-1), str(''), str('/proc')]))], 'mounts'],
  LANDLOCK: [[landlock(0, 0, 1)], 'landlock'],
  LANDLOCK_PATH: [[landlock(1, 0, 0), llPath(1, '/bin')], 'landlock'],
  LANDLOCK_PORT: [[landlock(0, 2, 0), llPort(2, 443)], 'landlock'],
  INFO_FD: [[record(Record.INFO_FD, u32(6))], 'info_fd'],
  JSON_STATUS_FD: [[record(Record.JSON_STATUS_FD, u32(7))], 'json_status_fd'],
  JOIN_NS: [[record(Record.JOIN_NS, u32(-1, -1, 8))], 'join_ns'],
  LOCK_FILE: [[record(Record.OPTIONS, u64(names.Opt.INIT)), record(Record.LOCK_FILE, str('/l'))], 'lock_files'],
  SYNC_FD: [[record(Record.OPTIONS, u64(names.Opt.INIT)), record(Record.SYNC_FD, u32(9))], 'sync_fd'],
  CAPS: [[record(Record.CAPS, Buffer.concat([u64(1 << 10), u32(0)]))], 'caps'],
  BLOCK_FD: [[record(Record.BLOCK_FD, u32(9))], 'block_fd'],
  USERNS_BLOCK_FD: [[record(Record.CLONE_FLAGS, u64(names.CLONE_FLAGS.newuser)), record(Record.USERNS_BLOCK_FD, u32(9))], 'userns_block_fd'],
};

test('lock files and the sync fd need init; lock paths are absolute, at most 8', () => {
  const init = record(Record.OPTIONS, u64(names.Opt.INIT));
  assert.deepEqual(decode(spec(init, record(Record.LOCK_FILE, str('/a')), record(Record.LOCK_FILE, str('/b')))).spec.lock_files, ['/a', '/b']);
  for (const [records, fault] of [
    [[record(Record.LOCK_FILE, str('/a'))], Fault.CONFLICT],
    [[record(Record.SYNC_FD, u32(3))], Fault.CONFLICT],
    [[init, record(Record.LOCK_FILE, str('a'))], Fault.BAD_VALUE],
    [[init, ...Array(9).fill(record(Record.LOCK_FILE, str('/a')))], Fault.TOO_MANY],
  ]) {
    assert.throws(() => decode(spec(...records)), (e) => e.fault === fault);
  }
});

test('CAPS decodes to capability numbers, refuses unknown flags and drop_caps', () => {
  const bytes = spec(record(Record.CAPS, Buffer.concat([u64((1n << 40n) | 33n), u32(1)])));
  assert.deepEqual(decode(bytes).spec.caps, { keep: [0, 5, 40], leave_sets: true });
  const encoded = require('../lib/wire').encode({ args: ['a'], caps: { keep: [40, 5, 0], leave_sets: true } });
  assert.deepEqual(encoded.subarray(-12), Buffer.concat([u64((1n << 40n) | 33n), u32(1)]));
  assert.throws(() => decode(spec(record(Record.CAPS, Buffer.concat([u64(1), u32(2)])))),
    (e) => e instanceof SpecError && e.fault === Fault.UNKNOWN_BITS);
  assert.throws(() => decode(spec(record(Record.CAPS, u64(1)))),
    (e) => e instanceof SpecError && e.fault === Fault.BAD_RECORD_LENGTH);
  assert.throws(() => decode(spec(record(Record.OPTIONS, u64(names.Opt.DROP_CAPS)), record(Record.CAPS, Buffer.concat([u64(1), u32(0)])))),
    (e) => e instanceof SpecError && e.fault === Fault.CONFLICT);
});

test('every record type names.js lists is decoded into its key', () => {
  assert.deepEqual(Object.keys(ONE_OF_EACH).sort(), Object.keys(Record).sort(), 'a record type without a case here');
  for (const [name, [records, key]] of Object.entries(ONE_OF_EACH)) {
    const got = decode(spec(...records)).spec;
    assert.ok(got[key] !== undefined, `${name}: no ${key} in ${JSON.stringify(Object.keys(got))}`);
  }
});

test('Landlock records decode to the JSON form', () => {
  const bytes = spec(
    landlock(names.LANDLOCK_FS.read_file | names.LANDLOCK_FS.execute, names.LANDLOCK_NET.connect_tcp, 3, 1),
    llPath(names.LANDLOCK_FS.read_file, '/usr'),
    llPort(names.LANDLOCK_NET.connect_tcp, 443),
    llPath(names.LANDLOCK_FS.execute | names.LANDLOCK_FS.read_file, '/bin'),
  );
  assert.deepEqual(decode(bytes).spec.landlock, {
    exact: true,
    fs: [{ path: '/usr', access: ['read_file'] }, { path: '/bin', access: ['execute', 'read_file'] }],
    net: [{ port: 443, access: ['connect_tcp'] }],
    scope: ['abstract_unix_socket', 'signal'],
  });
  // Only scopes: no fs and no net key (nothing confined there).
  assert.deepEqual(decode(spec(landlock(0, 0, 2))).spec.landlock, { exact: false, scope: ['signal'] });
});

test('Landlock refusals: the helper\'s fault at the helper\'s offset', () => {
  const R = 30; // the first record after ARGS
  const P = R + 8;
  refused(spec(record(Record.LANDLOCK, u64(1, 0, 0))), R + 4, Fault.BAD_RECORD_LENGTH);
  refused(spec(landlock(1 << 16, 0, 0)), P, Fault.UNKNOWN_BITS);
  refused(spec(landlock(1, 4, 0)), P + 8, Fault.UNKNOWN_BITS);
  refused(spec(landlock(1, 0, 4)), P + 16, Fault.UNKNOWN_BITS);
  refused(spec(landlock(1, 0, 0, 2)), P + 24, Fault.UNKNOWN_BITS);
  refused(spec(landlock(0, 0, 0)), P, Fault.BAD_VALUE);
  refused(spec(record(Record.LANDLOCK, Buffer.concat([u64(1, 0, 0), u32(0)])), record(Record.LANDLOCK, Buffer.concat([u64(1, 0, 0), u32(0)]))), R + 36, Fault.DUPLICATE_RECORD);
  // Rules, after a LANDLOCK of 36 bytes: R2 = 66.
  const head = landlock(0xffff, 3, 0);
  const R2 = R + 36;
  const P2 = R2 + 8;
  refused(spec(head, record(Record.LANDLOCK_PATH, u64(1))), R2 + 4, Fault.BAD_RECORD_LENGTH);
  refused(spec(head, llPath(1 << 16, '/x')), P2, Fault.UNKNOWN_BITS);
  refused(spec(head, llPath(0, '/x')), P2, Fault.BAD_VALUE);
  refused(spec(head, llPath(1, 'x')), P2 + 8, Fault.BAD_VALUE);
  refused(spec(head, llPath(1, '')), P2 + 8, Fault.BAD_VALUE);
  refused(spec(head, record(Record.LANDLOCK_PATH, Buffer.concat([u64(1), Buffer.from('/x')]))), P2 + 10, Fault.UNTERMINATED);
  refused(spec(head, record(Record.LANDLOCK_PATH, Buffer.concat([u64(1), Buffer.from('/\0x\0')]))), P2 + 9, Fault.INTERIOR_NUL);
  refused(spec(head, llPath(1, `/${'p'.repeat(4095)}`)), P2 + 8, Fault.TOO_LONG);
  refused(spec(head, record(Record.LANDLOCK_PORT, u64(1))), R2 + 4, Fault.BAD_RECORD_LENGTH);
  refused(spec(head, llPort(4, 1)), P2, Fault.UNKNOWN_BITS);
  refused(spec(head, llPort(0, 1)), P2, Fault.BAD_VALUE);
  refused(spec(head, llPort(1, 65536)), P2 + 8, Fault.BAD_VALUE);
  // 64 rules of each are fine; the 65th is refused at its R, after its own payload checks.
  const paths = Array.from({ length: 64 }, () => llPath(1, '/x')); // 19 bytes each
  const ports = Array.from({ length: 64 }, (_, i) => llPort(1, i)); // 24 bytes each
  assert.equal(decode(spec(head, ...paths, ...ports)).spec.landlock.fs.length, 64);
  refused(spec(head, ...paths, llPath(1, '/x')), R2 + 64 * 19, Fault.TOO_MANY);
  refused(spec(head, ...paths, llPath(1, 'x')), R2 + 64 * 19 + 16, Fault.BAD_VALUE);
  refused(spec(head, ...ports, llPort(1, 9)), R2 + 64 * 24, Fault.TOO_MANY);
  // A rule without LANDLOCK, or with a right its ruleset does not handle: Conflict at its P,
  // path rules first, after every record is read.
  refused(spec(llPort(1, 80)), P, Fault.CONFLICT);
  refused(spec(landlock(1, 1, 0), llPort(2, 80), llPath(2, '/x')), R + 36 + 24 + 8, Fault.CONFLICT);
  refused(spec(landlock(1, 1, 0), llPort(2, 80)), R + 36 + 8, Fault.CONFLICT);
  // ... before a mount operation's replaced fd (docs/spec.md, "Order of checks", step 3).
  const bindFd = record(Record.MOUNT_OP, Buffer.concat([Buffer.from([1, 0, 0, 0]), u32(0), u64(0), u32(0), str(''), str('/b')]));
  refused(spec(record(Record.CLONE_FLAGS, u64(NEWNS)), record(Record.FILES, u32(-1)), bindFd, llPort(1, 80)),
    R + 16 + 12 + 8 + 24 + 8, Fault.CONFLICT);
});

test('seccomp programs decode in order, up to sixteen, and encode back', () => {
  const { encode } = require('../lib/wire');
  const program = (k) => record(Record.SECCOMP, Buffer.concat([Buffer.from([6, 0, 0, 0]), u32(k)]));
  const two = decode(spec(program(1), program(2))).spec.seccomp;
  assert.deepEqual(two.map((p) => p.map((i) => i.k)), [[1], [2]]);
  assert.deepEqual(decode(spec(program(1))).spec.seccomp.map((i) => i.k), [1]);
  assert.deepEqual(encode({ args: ['/bin/true'], seccomp: two }), spec(program(1), program(2)));
  // The 17th is refused at its record header, before its payload.
  refused(spec(...Array(16).fill(program(0)), record(Record.SECCOMP, Buffer.alloc(0))),
    30 + 16 * 16, Fault.TOO_MANY);
  refused(spec(...Array(15).fill(program(0)), record(Record.SECCOMP, Buffer.alloc(0))),
    30 + 15 * 16 + 4, Fault.BAD_RECORD_LENGTH);
});

test('a record type decode() does not parse is refused, not skipped', () => {
  // Record type 0x7ff0 with SKIP_IF_UNKNOWN is skipped (advisory); known types never are.
  assert.ok(decode(spec(record(0x7ff0, Buffer.from('x'), names.SKIP_IF_UNKNOWN))));
  refused(spec(record(0x7ff0, Buffer.from('x'))), 30, Fault.UNKNOWN_RECORD);
  // A known type with SKIP_IF_UNKNOWN is still parsed (and refused when bad).
  refused(spec(record(Record.LANDLOCK, Buffer.alloc(3), names.SKIP_IF_UNKNOWN)), 34, Fault.BAD_RECORD_LENGTH);
});

test('the shape: a JSON status fd and a joined pid namespace take a supervising helper', () => {
  assert.equal(decode(spec()).shape(1000, 1000), Shape.IN_PLACE);
  assert.equal(decode(spec(record(Record.JSON_STATUS_FD, u32(0)))).shape(1000, 1000), Shape.SUPERVISE);
  assert.equal(decode(spec(record(Record.JOIN_NS, u32(-1, 4, -1)))).shape(1000, 1000), Shape.SUPERVISE);
  assert.equal(decode(spec(record(Record.JOIN_NS, u32(4, -1, 5)))).shape(1000, 1000), Shape.IN_PLACE);
  assert.equal(decode(spec(record(Record.INFO_FD, u32(4)))).shape(1000, 1000), Shape.IN_PLACE);
});
