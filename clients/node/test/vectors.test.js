'use strict';
// The shared vectors (crates/spec/vectors/README.md, "How to check a vector"): the canonical
// ones are reproduced byte for byte by encode(), every valid one decodes to exactly its JSON
// form, every malformed one is refused with its fault at its offset.

const test = require('node:test');
const assert = require('node:assert/strict');
const { encode, encodeUnchecked, decode } = require('../lib/wire');
const { normalize } = require('../lib/spec');
const { SpecError } = require('../lib/errors');
const names = require('../lib/names');
const { loadVectors } = require('./support');

const vectors = loadVectors();

test('the vectors are all there', () => {
  const have = vectors.map((v) => v.name);
  for (const name of ['minimal', 'typical', 'exec_file', 'all_fields', 'mount_ops', 'bad_magic', 'truncated', 'mount_op_fd_replaced']) {
    assert.ok(have.includes(name), `vector ${name} missing`);
  }
});

for (const v of vectors) {
  test(`vector ${v.name}`, () => {
    const { meta } = v;
    assert.equal(v.bytes.length, Number(meta.length), 'length');
    if (meta.canonical === 'yes') {
      const bytes = meta.expect === 'ok' ? encode(meta.json) : encodeUnchecked(meta.json);
      assert.equal(bytes.toString('hex'), v.bytes.toString('hex'), 'canonical encoding');
    }
    if (meta.expect === 'ok') {
      const decoded = decode(v.bytes);
      assert.deepStrictEqual(normalize(decoded.spec), normalize(meta.json), 'decoded fields');
    } else {
      assert.equal(meta.expect, 'error');
      const [fault, faultName] = meta.fault.split(' ');
      assert.throws(() => decode(v.bytes), (e) => {
        assert.ok(e instanceof SpecError, String(e));
        assert.equal(e.fault, Number(fault));
        assert.equal(e.faultName, faultName);
        assert.equal(e.offset, Number(meta.offset));
        assert.equal(e.errno, Number(meta.errno));
        return true;
      });
      if (meta.canonical === 'yes') {
        // encode() refuses what the helper would refuse, naming the record there.
        assert.throws(() => encode(meta.json), (e) => e instanceof SpecError
          && e.fault === Number(fault) && e.offset === Number(meta.offset));
      }
    }
  });
}

/**
 * The bytes of a vector made by this client from its `# build:` steps
 * (crates/spec/vectors/README.md, "How a vector is built"): the specs through this client's own
 * encoder (encodeUnchecked), the raw steps here. Nothing comes from the Rust side but the steps.
 */
function build(v) {
  let out = Buffer.alloc(0);
  for (const [op, ...args] of v.meta.build) {
    if (op === 'json') {
      out = encodeUnchecked(v.meta.json);
    } else if (op === 'encode') {
      out = encodeUnchecked(args[0]);
    } else if (op === 'header') {
      out = Buffer.concat([names.MAGIC, Buffer.from([1, 0, 0, 0, 12, 0, 0, 0])]);
    } else if (op === 'record') {
      const payload = Buffer.from(args[2], 'hex');
      const head = Buffer.alloc(8);
      head.writeUInt16LE(Number(args[0]), 0);
      head.writeUInt16LE(Number(args[1]), 2);
      head.writeUInt32LE(payload.length, 4);
      out = Buffer.concat([out, head, payload]);
      out.writeUInt32LE(out.length, 8);
    } else if (op === 'set') {
      out = Buffer.from(out);
      Buffer.from(args[1], 'hex').copy(out, Number(args[0]));
    } else if (op === 'append') {
      out = Buffer.concat([out, Buffer.from(args[0], 'hex')]);
    } else if (op === 'truncate') {
      out = out.subarray(0, Number(args[0]));
    } else {
      assert.fail(`${v.name}: unknown build step ${op}`);
    }
  }
  return out;
}

test('every vector, valid or malformed, is rebuilt byte for byte from its build steps', () => {
  assert.equal(vectors.filter((v) => v.meta.build !== undefined).length, vectors.length, 'every vector has a build line');
  for (const v of vectors) assert.equal(build(v).toString('hex'), v.bytes.toString('hex'), v.name);
});

test('the worked example of docs/spec.md', () => {
  assert.equal(encode({ args: ['/bin/true'] }).toString('hex'),
    '46585350010000001e000000010000000a0000002f62696e2f7472756500');
});

test('a refusal names the record it is in', () => {
  assert.throws(() => encode({ args: ['/bin/true'], files: [0, 1, 2, 1 << 20] }),
    { name: 'SpecError', message: 'spec: fd out of range at byte 50 (files)' });
  assert.throws(() => encode({ args: ['/x'], clone_flags: ['newns'], mounts: [{ type: 'proc', target: '/proc' }, { type: 'dir', target: 'rel' }] }),
    (e) => e.fault === names.Fault.BAD_VALUE && e.record === 'mounts[1]');
  assert.throws(() => encode({ args: ['a\0b'] }), { message: 'spec: args[0] contains a NUL byte' });
});

test('landlock: rights as bits in table order, groups expanded; a bad one names its key path', () => {
  const ll = normalize({ args: ['/x'], landlock: { fs: [{ path: '/usr', access: ['execute', 'read'] }], scope: ['signal'] } }).landlock;
  assert.deepEqual(ll, { exact: false, fs: [{ path: '/usr', access: ['execute', 'read_file', 'read_dir'] }], net: null, scope: ['signal'] });
  const write = normalize({ args: ['/x'], landlock: { fs: [{ path: '/t', access: ['write'] }] } }).landlock.fs[0].access;
  assert.equal(write.reduce((bits, n) => bits | names.LANDLOCK_FS[n], 0), 0xfff2);
  // `fs: []` handles every filesystem right; absent handles none.
  const head = (spec) => encode(spec).subarray(30 + 8, 30 + 8 + 28).toString('hex');
  assert.equal(head({ args: ['/bin/true'], landlock: { fs: [] } }), `ffff${'0'.repeat(52)}`);
  assert.equal(head({ args: ['/bin/true'], landlock: { net: [], exact: true } }), `${'0'.repeat(16)}03${'0'.repeat(30)}01000000`);
  for (const [landlock, at] of [
    [{ fs: [{ path: '/usr', access: ['read_all'] }] }, 'landlock.fs[0].access[0]'],
    [{ fs: [{ path: '/usr' }] }, 'landlock.fs[0].access'],
    [{ net: [{ port: 65536, access: ['bind_tcp'] }] }, 'landlock.net[0].port'],
    [{ net: [{ port: 80, access: ['bind_tcp'], path: '/x' }] }, 'landlock.net[0].path'],
    [{ scope: ['ptrace'] }, 'landlock.scope[0]'],
    [{ fs: [], rules: [] }, 'landlock.rules'],
    [{ exact: true }, 'landlock'],
  ]) {
    assert.throws(() => encode({ args: ['/x'], landlock }), (e) => e.name === 'JsonError' && e.path === at, at);
  }
  assert.throws(() => encode({ args: ['/x'], landlock: { fs: [{ path: 'a\0b', access: ['read'] }] } }),
    { message: 'spec: landlock.fs[0].path contains a NUL byte' });
});

test('decode keeps bytes that are not UTF-8 as Buffers', () => {
  const arg = Buffer.from([0x2f, 0xff, 0xfe]);
  const d = decode(encode({ args: [arg, 'ok'] }));
  assert.ok(Buffer.isBuffer(d.spec.args[0]));
  assert.deepEqual(d.spec.args[0], arg);
  assert.equal(d.spec.args[1], 'ok');
});

test('the process shape', () => {
  const shape = (spec, uid = 1000, gid = 1000) => decode(encode(spec)).shape(uid, gid);
  assert.equal(shape({ args: ['/x'] }), 'in_place');
  assert.equal(shape({ args: ['/x'], clone_flags: ['newpid'] }), 'supervise');
  assert.equal(shape({ args: ['/x'], clone_flags: ['newuser'], uid_mappings: [{ container_id: 0, host_id: 1000, size: 1 }] }), 'in_place');
  assert.equal(shape({ args: ['/x'], clone_flags: ['newuser'], uid_mappings: [{ container_id: 0, host_id: 0, size: 1 }] }), 'supervise');
  assert.equal(shape({ args: ['/x'], detach: true }), 'detach');
  assert.equal(shape({ args: ['/x'], clone_flags: ['newpid'], init: true }), 'init');
  assert.throws(() => shape({ args: ['/x'], clone_flags: ['newpid'], ptrace: true }), { fault: names.Fault.CONFLICT });
});
