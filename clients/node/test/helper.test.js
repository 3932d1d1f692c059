'use strict';
// End to end, with the real helper (FORKEXEC_HELPER): every test here spawns sandboxes, as
// whoever runs the suite (root, and an ordinary user through run-tests.sh --as-user).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { finished } = require('node:stream/promises');
const { Worker } = require('node:worker_threads');

const fx = require('../lib');
const { helperPath, loadVectors } = require('./support');

const helper = helperPath();
const uid = process.geteuid();
const gid = process.getegid();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'forkexec-node-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A user namespace in which we are root (works unprivileged too). */
const userns = (more = []) => ({
  clone_flags: ['newuser', ...more],
  uid_mappings: [{ container_id: 0, host_id: uid, size: 1 }],
  gid_mappings: [{ container_id: 0, host_id: gid, size: 1 }],
});

/** Starts `spec` with stdout piped; resolves to { status, out, process }. */
async function run(spec, options = {}) {
  const p = await fx.start(spec, { helper, stdio: ['ignore', 'pipe', 'inherit'], ...options });
  const chunks = [];
  p.stdout.on('data', (d) => chunks.push(d));
  // (The stream may have ended already: a supervising helper closes its own fds 0-2.)
  const ended = finished(p.stdout);
  const status = await p.wait();
  await ended;
  return { status, out: Buffer.concat(chunks).toString(), process: p };
}

async function rejects(promise, check) {
  await assert.rejects(promise, (e) => {
    check(e);
    return true;
  });
}

test('in place: the target runs as our child, its output and exit code come back', async () => {
  const { status, out, process: p } = await run({ args: ['/bin/sh', '-c', 'echo "pid $$"; exit 3'] });
  assert.equal(p.shape, 'in_place');
  assert.equal(out, `pid ${p.pid}\n`);
  assert.equal(status.code, 3);
  assert.equal(status.signal, null);
  assert.equal(status.success, false);
});

test('the target gets the spec environment only, and default signal dispositions', async () => {
  // Node ignores SIGPIPE itself; libuv resets the dispositions and the mask in the child.
  const { status, out } = await run({
    args: ['/bin/sh', '-c', 'env; grep -E "^Sig(Ign|Blk)" /proc/self/status'],
    env: ['A=1'],
  });
  assert.equal(status.code, 0);
  const lines = out.trim().split('\n').filter((l) => !l.startsWith('PWD=') && !l.startsWith('SHLVL=') && !l.startsWith('_='));
  assert.equal(lines.length, 3, out);
  assert.equal(lines[0], 'A=1');
  assert.equal(lines[1], 'SigBlk:\t0000000000000000');
  // libuv resets signals 1-31 only: a real-time signal ignored by whoever started Node stays
  // ignored (make, for one, may leave signal 32 ignored).
  const ignored = BigInt(`0x${lines[2].split('\t')[1]}`);
  assert.equal(ignored & 0x7fffffffn, 0n, lines[2]);
});

test('a missing program: ChildError execve(0) ENOENT, exit 127', async () => {
  await rejects(fx.start({ args: [path.join(tmp, 'nothing-here')] }, { helper }), (e) => {
    assert.ok(e instanceof fx.ChildError);
    assert.equal(e.message, 'execve(0): no such file or directory');
    assert.equal(e.location, 32);
    assert.equal(e.locationName, 'execve');
    assert.equal(e.errno, 2);
    assert.equal(e.code, 'ENOENT');
    assert.equal(e.index, 0);
    assert.equal(e.exitCode, 127);
  });
});

test('a file that cannot be executed: EACCES, exit 126', async () => {
  const file = path.join(tmp, 'not-executable');
  fs.writeFileSync(file, '#!/bin/sh\n', { mode: 0o644 });
  await rejects(fx.start({ args: [file] }, { helper }), (e) => {
    assert.equal(e.code, 'EACCES');
    assert.equal(e.exitCode, 126);
  });
});

test('an rlimit the kernel refuses names its index', async () => {
  // nofile above nr_open (2^20 by default) is refused even for root.
  const spec = { args: ['/bin/true'], rlimits: [{ resource: 'cpu', cur: 100, max: 100 }, { resource: 'nofile', cur: 2 ** 21, max: 2 ** 21 }] };
  await rejects(fx.start(spec, { helper }), (e) => {
    assert.equal(e.message, 'setrlimit(1): operation not permitted');
    assert.equal(e.index, 1);
    assert.equal(e.exitCode, 125);
  });
});

test('a spec the helper would refuse is refused before spawning', async () => {
  await rejects(fx.start({ args: ['/bin/true'], host_name: 'h' }, { helper: path.join(tmp, 'no-helper') }), (e) => {
    assert.ok(e instanceof fx.SpecError);
    assert.equal(e.faultName, 'Conflict');
    assert.equal(e.record, 'host_name');
  });
  await rejects(fx.start({ args: ['/bin/true'], mounts: [{ type: 'nope', target: '/' }] }, { helper }), (e) => {
    assert.ok(e instanceof fx.JsonError);
    assert.equal(e.path, 'mounts[0].type');
  });
});

test('the helper refuses a header and exits before reading the rest: the record is not lost to EPIPE', async () => {
  // 1 MiB after a bad magic: far more than a socket buffer, so the helper is gone while we still
  // write; a net.Socket would destroy itself on the EPIPE and drop the record.
  const bytes = Buffer.concat([Buffer.from('FXSQ\x01\x00\x00\x00', 'latin1'), Buffer.alloc(1 << 20)]);
  await rejects(fx.startRaw(bytes, { helper }), (e) => {
    assert.ok(e instanceof fx.ChildError, String(e));
    assert.equal(e.message, 'spec(offset 3): bad magic (not a forkexec spec) (invalid argument)');
    assert.equal(e.fault, 2);
    assert.equal(e.faultName, 'BadMagic');
    assert.equal(e.exitCode, 125);
  });
});

test('every malformed vector is refused by the helper itself with its fault and offset', async () => {
  const bad = loadVectors().filter((v) => v.meta.expect === 'error');
  assert.ok(bad.length >= 8);
  for (const v of bad) {
    // trailing_bytes: the helper reads exactly the total length and never sees the extra byte.
    if (v.name === 'trailing_bytes') continue;
    // truncated: the helper waits for the missing byte until it reads end of stream.
    await rejects(fx.startRaw(v.bytes, { helper, halfClose: v.name === 'truncated' }), (e) => {
      assert.ok(e instanceof fx.ChildError, `${v.name}: ${e}`);
      assert.equal(e.location, 34, v.name);
      assert.equal(e.detail, Number(v.meta.fault.split(' ')[0]), v.name);
      assert.equal(e.index, Number(v.meta.offset), v.name);
      assert.equal(e.errno, Number(v.meta.errno), v.name);
    });
  }
});

test('bytes past the spec end the stream with ECONNRESET, which counts as end of stream', async () => {
  const minimal = fx.encode({ args: ['/bin/true'] });
  // 100 bytes fit in the socket buffer, so the write succeeds; the helper reads exactly the
  // spec and execs with the rest unread.
  const p = await fx.startRaw(Buffer.concat([minimal, Buffer.alloc(100)]), { helper });
  assert.equal((await p.wait()).code, 0);
});

test('sync: the callback gets the pid before exec, may be async, and can refuse', async () => {
  const seen = [];
  const { status, out, process: p } = await run({ args: ['/bin/sh', '-c', 'echo $$'] }, {
    syncFunc: async (pid) => {
      await new Promise((resolve) => setImmediate(resolve));
      seen.push(pid);
    },
  });
  assert.equal(status.code, 0);
  assert.deepEqual(seen, [p.pid]);
  assert.equal(out, `${p.pid}\n`);

  const marker = path.join(tmp, 'ran');
  await rejects(fx.start({ args: ['/bin/sh', '-c', `touch ${marker}`] }, { helper, syncFunc: () => { throw new Error('not now'); } }), (e) => {
    assert.ok(e instanceof fx.SyncError);
    assert.equal(e.message, 'sync callback refused: not now');
    assert.equal(e.cause.message, 'not now');
    assert.equal(e.childError.message, 'sync_read(0): operation canceled');
    assert.equal(e.childError.exitCode, 125);
  });
  assert.equal(fs.existsSync(marker), false, 'the target ran after a refused sync');
});

test('supervise: pid 1 of a new pid namespace; the exit record gives its status and rusage', async () => {
  const seen = [];
  const { status, out, process: p } = await run({
    args: ['/bin/sh', '-c', 'echo "pid $$ uid $(id -u)"; exit 5'], ...userns(['newpid']),
  }, { syncFunc: (pid) => seen.push(pid) });
  assert.equal(p.shape, 'supervise');
  assert.notEqual(p.targetPid, p.pid);
  assert.deepEqual(seen, [p.targetPid]);
  assert.equal(out, 'pid 1 uid 0\n');
  assert.equal(status.code, 5);
  assert.ok(status.rusage, 'no rusage from the exit record');
  assert.ok(status.rusage.maxRssKib > 0);
});

test('init: a signal to the helper reaches the target (pid 2) and it dies of it', async () => {
  const p = await fx.start({ args: ['/bin/sh', '-c', 'echo ready; exec sleep 1000'], ...userns(['newpid']), init: true },
    { helper, stdio: ['ignore', 'pipe', 'inherit'] });
  assert.equal(p.shape, 'init');
  await new Promise((resolve) => p.stdout.once('data', resolve));
  assert.equal(p.kill('SIGTERM'), true);
  const status = await p.wait();
  assert.equal(status.signal, 'SIGTERM');
  assert.equal(status.code, null);
  assert.equal(p.kill(), false);
});

test('supervise: kill() sends SIGKILL to the target itself', async () => {
  const p = await fx.start({ args: ['/bin/sh', '-c', 'echo ready; exec sleep 1000'], ...userns(['newpid']) },
    { helper, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => p.stdout.once('data', resolve));
  p.kill();
  const status = await p.wait();
  assert.equal(status.signal, 'SIGKILL');
});

test('fds above 2 are passed at their own numbers: files and a file operation content_fd', async () => {
  const outFile = path.join(tmp, 'out.txt');
  const inFile = path.join(tmp, 'in.txt');
  fs.writeFileSync(inFile, 'from an fd\n');
  const outFd = fs.openSync(outFile, 'w');
  const inFd = fs.openSync(inFile, 'r');
  try {
    const root = '/tmp';
    const { status } = await run({
      args: ['/bin/sh', '-c', 'echo "$(cat /input.txt) via fd 1"; ls /proc/self/fd | tr "\\n" " "'],
      files: [0, outFd, 2],
      ...userns(['newns', 'newpid']),
      pivot_root: root,
      mounts: [
        { type: 'bind', source: '/usr', target: '/usr', readonly: true },
        { type: 'bind', source: '/bin', target: '/bin', readonly: true },
        { type: 'bind', source: '/lib', target: '/lib', readonly: true },
        { type: 'bind', source: '/lib64', target: '/lib64', readonly: true, optional: true },
        { type: 'proc', target: '/proc' },
        { type: 'file', target: '/input.txt', content_fd: inFd },
      ],
    });
    assert.equal(status.code, 0);
  } finally {
    fs.closeSync(outFd);
    fs.closeSync(inFd);
  }
  // The target has exactly fds 0-2 (plus the one ls opens): nothing of ours leaked in.
  assert.equal(fs.readFileSync(outFile, 'utf8'), 'from an fd via fd 1\n0 1 2 3 ');
});

test('mount operations: a new root from binds, tmpfs and a file; a failing one names its index', async () => {
  const base = {
    ...userns(['newns', 'newpid', 'newuts']),
    host_name: 'box',
    pivot_root: '/tmp',
    mounts: [
      { type: 'bind', source: '/usr', target: '/usr', readonly: true },
      { type: 'bind', source: '/bin', target: '/bin', readonly: true },
      { type: 'bind', source: '/lib', target: '/lib', readonly: true },
      { type: 'bind', source: '/lib64', target: '/lib64', readonly: true, optional: true },
      { type: 'tmpfs', target: '/scratch', size: '1m', mode: '1777' },
      { type: 'file', target: '/etc/greeting', content: 'hello\n' },
    ],
  };
  const { status, out } = await run({
    ...base,
    args: ['/bin/sh', '-c', 'cat /etc/greeting; hostname; stat -c %a /scratch; touch /usr/x 2>/dev/null || echo ro'],
  });
  assert.equal(status.code, 0);
  assert.equal(out, 'hello\nbox\n1777\nro\n');

  const missing = path.join(tmp, 'missing-dir');
  await rejects(fx.start({ ...base, args: ['/bin/true'], mounts: [...base.mounts, { type: 'bind', source: missing, target: '/m' }] }, { helper }), (e) => {
    assert.ok(e instanceof fx.ChildError);
    assert.equal(e.message, 'mount(source)(6): no such file or directory');
    assert.equal(e.location, 49);
    assert.equal(e.index, 6);
    assert.equal(e.exitCode, 125);
  });
});

test('landlock: the target writes only beneath the paths its rules allow', async () => {
  const open = fs.mkdtempSync(path.join(tmp, 'landlock-open-'));
  const shut = fs.mkdtempSync(path.join(tmp, 'landlock-shut-'));
  const script = 'echo a > "$0/a" && echo wrote; if echo b 2>&- > "$1/b"; then echo escaped; else echo refused; fi';
  const { status, out } = await run({
    args: ['/bin/sh', '-c', script, open, shut],
    no_new_privs: true,
    landlock: { fs: [{ path: '/', access: ['read', 'execute'] }, { path: open, access: ['read', 'write'] }] },
  });
  assert.equal(out, 'wrote\nrefused\n');
  assert.equal(status.code, 0);
  assert.equal(fs.readFileSync(path.join(open, 'a'), 'utf8'), 'a\n');
  assert.equal(fs.existsSync(path.join(shut, 'b')), false);
  // Without the rule for `open`, the first write is refused too (the rules are what allow it).
  const denied = await run({
    args: ['/bin/sh', '-c', 'echo a 2>&- > "$0/a2" && echo wrote', open],
    no_new_privs: true,
    landlock: { fs: [{ path: '/', access: ['read', 'execute'] }] },
  });
  assert.equal(denied.out, '');
  assert.notEqual(denied.status.code, 0);
  assert.equal(fs.existsSync(path.join(open, 'a2')), false);
});

test('what Node cannot do is refused before anything is spawned', async () => {
  const nohelper = path.join(tmp, 'no-helper');
  for (const [extra, feature] of [
    [{ detach: true }, 'detach'],
    [{ ptrace: true }, 'ptrace'],
    [{ stop_before_seccomp: true, seccomp: [{ code: 6, k: 0x7fff0000 }] }, 'stop_before_seccomp'],
    [{ status_fd: 1, sync: true }, 'status_fd'],
  ]) {
    await rejects(fx.start({ args: ['/bin/true'], ...extra }, { helper: nohelper }), (e) => {
      assert.ok(e instanceof fx.UnsupportedError, String(e));
      assert.equal(e.feature, feature);
    });
  }
});

test('die_with_parent is refused in a worker thread and works on the main thread', async () => {
  const code = `
    const { parentPort } = require('node:worker_threads');
    const fx = require(${JSON.stringify(path.resolve(__dirname, '..', 'lib'))});
    fx.start({ args: ['/bin/true'], die_with_parent: true }, { helper: ${JSON.stringify(helper)} })
      .then(() => parentPort.postMessage('started'), (e) => parentPort.postMessage(e.name + ' ' + e.feature));`;
  const message = await new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true });
    w.once('message', resolve);
    w.once('error', reject);
  });
  assert.equal(message, 'UnsupportedError die_with_parent');
  const { status } = await run({ args: ['/bin/true'], die_with_parent: true });
  assert.equal(status.code, 0);
});

test('an fd that is not open is refused before spawning', async () => {
  const fd = fs.openSync(path.join(tmp, 'closed'), 'w');
  fs.closeSync(fd);
  await rejects(fx.start({ args: ['/bin/true'], files: [0, 1, 2, fd] }, { helper }), (e) => {
    assert.ok(e instanceof fx.HelperError);
    assert.match(e.message, new RegExp(`files\\[3\\] \\(fd ${fd}\\): not an open fd`));
  });
});

test('a helper that cannot be run is a HelperError', async () => {
  await rejects(fx.start({ args: ['/bin/true'] }, { helper: path.join(tmp, 'no-helper') }), (e) => {
    assert.ok(e instanceof fx.HelperError);
    assert.match(e.message, /cannot run .*no-helper/);
  });
});

test('the README example runs and prints what it says', async () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const example = /```js\n([\s\S]*?)```/.exec(readme)[1];
  const dir = fs.mkdtempSync(path.join(tmp, 'readme-'));
  // require('forkexec') as an installed package would be found.
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(path.resolve(__dirname, '..'), path.join(dir, 'node_modules', 'forkexec'));
  fs.writeFileSync(path.join(dir, 'example.js'), example);
  const { spawnSync } = require('node:child_process');
  const r = spawnSync(process.execPath, [path.join(dir, 'example.js')], {
    cwd: dir, encoding: 'utf8', env: { ...process.env, FORKEXEC_HELPER: helper },
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(r.stdout, 'about to exec, pid true\npid 1 on box\nexit 3 max rss (KiB) known: true\n'
    + 'execve(0): no such file or directory execve ENOENT 0 127\n');
});
