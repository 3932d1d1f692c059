// Uses the public API as a TypeScript program would; test/types.test.js runs tsc on it. The
// lines marked @ts-expect-error must stay errors: they check that the declarations refuse them.
import {
  ChildError, JsonError, Process, Runner, Spec, SpecError, SyncError, UnsupportedError, WaitStatus,
  decode, encode, start,
} from '../../lib';

const spec: Spec = {
  args: ['/bin/sh', '-c', 'echo hi'],
  env: ['PATH=/usr/bin:/bin'],
  files: [0, 1, 2],
  rlimits: [{ resource: 'nofile', cur: 256, max: 256 }, { resource: 'as', cur: 1n << 30n, max: 'infinity' }],
  clone_flags: ['newuser', 'newns', 'newpid'],
  uid_mappings: [{ container_id: 0, host_id: 1000, size: 1 }],
  mounts: [
    { type: 'bind', source: '/usr', target: '/usr', readonly: true },
    { type: 'tmpfs', target: '/tmp', size: '64m', mode: '1777' },
    { type: 'file', target: '/etc/hostname', content: 'box\n' },
    { source: 'proc', target: 'proc', fstype: 'proc', flags: ['nosuid', 'nodev'] },
  ],
  pivot_root: '/srv/root',
  credential: { uid: 0, gid: 0 },
  init: true,
  landlock: { fs: [{ path: '/usr', access: ['read', 'execute'] }], net: [], scope: ['signal'] },
};

async function main(): Promise<number> {
  const bytes: Buffer = encode(spec);
  const shape: string = decode(bytes).shape(0, 0);
  const runner = new Runner(spec, { syncFunc: async (pid: number) => { void pid; }, stdio: ['ignore', 'pipe', 'inherit'] });
  const p: Process = await runner.start();
  const status: WaitStatus = await p.wait();
  p.kill('SIGTERM');
  try {
    await start(['/no/such/program']);
  } catch (e) {
    if (e instanceof ChildError) return e.exitCode ?? e.errno + e.index + e.location;
    if (e instanceof SpecError) return e.offset ?? 0;
    if (e instanceof JsonError || e instanceof UnsupportedError) return e.message.length;
    if (e instanceof SyncError) return e.childError ? e.childError.errno : 0;
  }
  return (status.code ?? 0) + shape.length + (status.rusage ? status.rusage.maxRssKib : 0);
}
void main();

// @ts-expect-error: args is required
const noArgs: Spec = { env: [] };
// @ts-expect-error: not a clone flag
const badFlag: Spec = { args: ['/x'], clone_flags: ['newtime'] };
// @ts-expect-error: a proc mount operation takes no source
const badOp: Spec = { args: ['/x'], mounts: [{ type: 'proc', target: '/proc', source: '/x' }] };
// @ts-expect-error: not a Landlock filesystem right
const badRight: Spec = { args: ['/x'], landlock: { fs: [{ path: '/usr', access: ['read_all'] }] } };
void noArgs; void badFlag; void badOp; void badRight;
