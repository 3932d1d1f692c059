"""A per-run cgroup for a warm sandbox's runs (``Sandbox.run_in``, ``Pool.run_in``,
``Judge.run_in``; the Rust client's crates/client/tests/pool_cgroup.rs): the run's init and
program (in a shared-namespace sandbox: its program, never the sandbox's server) are moved into
the cgroup by this process at the run's sync point, so memory, pids and CPU limits and the
judge's verdicts hold for pooled runs as for one-shot ones; each run's cgroup holds only that
run, and 1,000 runs leave no cgroup behind. ``ServedProcess.wait_timeout`` and ``kill`` of a
sandbox's run (the sandbox serves on). A runner's kept encoding tells a placed run from an
unplaced one.

As root on the machine's cgroups (v1, v2 or hybrid). As an ordinary user without a writable
cgroup: a judged pooled run is the documented clear ``runner_error`` and a cgroup it may not
enter a clear :class:`SyncError` (the program never runs); the cases that need a per-run
cgroup are skipped with that reason."""

import os
import signal
import sys
import tempfile
import time
import unittest
from unittest import mock

from forkexec import HelperError, Runner, SyncError, wire
from forkexec import cgroup as cg_mod
from forkexec.judge import Judge, Limits
from forkexec.server import Pool, Sandbox

from .test_server import _assert_settled, _descendants, _sh, _shape

# The text every "no cgroup for you" error carries (docs/judge.md).
CLEAR = ("delegated cgroup v2 subtree", "--no-cgroup")
PIDS_SCRIPT = "i=0; while [ $i -lt 6 ]; do /bin/sleep 1000 & i=$((i+1)); echo $i; done"


def _output(start, runner):
    """Starts ``runner`` with ``start(runner)``, stdout and stderr on a pipe: (code, output)."""
    r, w = os.pipe()
    null = os.open("/dev/null", os.O_RDONLY)
    runner.files = [null, w, w]
    try:
        run = start(runner)
    finally:
        os.close(w)
        os.close(null)
    with os.fdopen(r, "rb") as f:
        out = f.read()
    return run.wait().code, out.decode()


def _inner(pid):
    """``pid``'s pid in its own pid namespace (the last of ``NSpid``)."""
    with open(f"/proc/{pid}/status", encoding="utf-8") as f:
        line = next(l for l in f if l.startswith("NSpid:"))
    return int(line.split()[-1])


def _cgroup_lines(cg):
    """The lines of /proc/self/cgroup of a process in ``cg``, for each of its directories
    (``N:controllers:/path`` with the path below its hierarchy's mount)."""
    layout = cg_mod.Layout.detect()
    mounts = list(layout.v1.values()) + ([layout.v2] if layout.v2 else [])
    out = set()
    for d in cg.dirs():
        mount = max((m for m in mounts if d.startswith(m + "/")), key=len)
        out.add(d[len(mount):])
    return out


class PooledCgroupTest(unittest.TestCase):
    def root(self):
        root = tempfile.mkdtemp(prefix="forkexec-py-pool-cgroup-")
        self.addCleanup(os.rmdir, root)
        return root

    def sandbox(self, shared=False, **fields):
        sandbox = Sandbox(_shape(self.root(), **fields), writable=["/tmp"],
                          shared_namespaces=shared)
        self.addCleanup(sandbox.shutdown)
        return sandbox

    def parent(self, tag):
        """A cgroup parent of this test's own; at the end nothing may be left under it in any
        hierarchy (then it is removed)."""
        parent = f"forkexec-py-pooled-{os.getpid()}-{tag}"
        self.addCleanup(self.nothing_left, parent)
        return parent

    def nothing_left(self, parent):
        layout = cg_mod.Layout.detect()
        mounts = set(layout.v1.values()) | ({layout.v2} if layout.v2 else set())
        for mount in sorted(mounts):
            d = os.path.join(mount, parent)
            if not os.path.isdir(d):
                continue
            left = [e for e in os.listdir(d) if os.path.isdir(os.path.join(d, e))]
            self.assertEqual(left, [], f"cgroups left in {d}")
            os.rmdir(d)

    def layout(self, sandbox, parent):
        """The machine's layout when per-run cgroups can be made under ``parent`` here; else
        (an ordinary user) checks that a judged pooled run is the documented clear
        ``runner_error`` and skips."""
        layout = cg_mod.Layout.detect()
        if layout.kind is None:
            self.skipTest(f"no memory controller ({layout})")
        try:
            cg_mod.Cgroup.create(layout, parent).remove()
            return layout
        except cg_mod.CgroupError as e:
            if os.geteuid() == 0:
                raise
            reason = str(e)
        r = Judge(_sh("exit 0"), Limits(memory=64 << 20), layout=layout,
                  cgroup_parent=parent).run_in(sandbox)
        self.assertEqual(r.status, "runner_error", r)
        for text in CLEAR:
            self.assertIn(text, r.error["message"])
        self.skipTest(f"as uid {os.geteuid()} per-run cgroups cannot be made here: {reason}")

    def judged(self, sandbox, layout, parent, runner, limits, **kw):
        result = Judge(runner, limits, layout=layout, cgroup_parent=parent,
                       stderr="capture", **kw).run_in(sandbox)
        print(f"\n{result.to_json()}", file=sys.stderr)
        return result

    def test_a_runs_cgroup_holds_its_init_and_program_only(self):
        pool = Pool(1, lambda: Sandbox(_shape(self.root()), writable=["/tmp"]))
        self.addCleanup(pool.shutdown)
        parent = self.parent("members")
        layout = self.layout(pool.sandboxes[0], parent)
        sandbox = {int(p.split()[0]) for p in _descendants(pool.sandboxes[0].pid)}
        self.assertTrue(sandbox)
        with cg_mod.Cgroup.create(layout, parent) as cg:
            for script in ("/bin/sleep 1000 & cat /proc/self/cgroup", "cat /proc/self/cgroup"):
                seen = []
                runner = _sh(script, sync_func=lambda pid: seen.append(
                    [(p, _inner(p)) for p in cg.procs()]))
                code, out = _output(lambda r: pool.run_in(r, cg), runner)
                self.assertEqual(code, 0, out)
                # At the sync point: the run's init (1) and program (2) of its own pid
                # namespace, nothing of the sandbox (its server, the run's helper).
                self.assertEqual([inner for _, inner in seen[0]], [1, 2])
                self.assertFalse({p for p, _ in seen[0]} & sandbox, (seen, sandbox))
                paths = {line.split(":", 2)[2] for line in out.splitlines()}
                self.assertLessEqual(_cgroup_lines(cg), paths, out)
                # The daemon died with its run (its init); the cgroup is empty again.
                deadline = time.monotonic() + 10
                while cg.procs() and time.monotonic() < deadline:
                    time.sleep(0.01)
                self.assertEqual(cg.procs(), [])

    def test_a_pooled_run_over_its_memory_limit_is_mle(self):
        sandbox = self.sandbox()
        parent = self.parent("mle")
        layout = self.layout(sandbox, parent)
        limits = Limits(memory=64 << 20, wall_time=20)
        hog = "exec python3 -c 'b = b\"x\" * ({} << 20)'"
        r = self.judged(sandbox, layout, parent, _sh(hog.format(512)), limits)
        self.assertEqual((r.status, r.limit), ("memory_limit_exceeded", "memory"), r)
        r = self.judged(sandbox, layout, parent, _sh(hog.format(16)), limits)
        self.assertEqual(r.status, "normal", r)
        self.assertGreaterEqual(r.memory, 16 << 20, r)

    def test_a_pooled_run_over_its_pids_limit_cannot_fork(self):
        # 4: the run's init and shell count, so the shell starts two children and its third
        # fork fails (dash then exits 2); without the limit all six start.
        sandbox = self.sandbox()
        parent = self.parent("pids")
        layout = self.layout(sandbox, parent)
        r = self.judged(sandbox, layout, parent, _sh(PIDS_SCRIPT), Limits(pids=4, wall_time=20))
        self.assertTrue(r.pids_limit_hit, r)
        self.assertEqual((r.stdout, r.exit_status), (b"1\n2\n", 2), r.stderr)
        self.assertIn(b"fork", r.stderr)
        r = self.judged(sandbox, layout, parent, _sh(PIDS_SCRIPT), Limits(wall_time=20))
        self.assertFalse(r.pids_limit_hit, r)
        self.assertEqual((r.stdout, r.status), (b"1\n2\n3\n4\n5\n6\n", "normal"), r.stderr)

    def test_cpu_time_is_accounted_per_run(self):
        # Stopped at the limit (the cgroup's sum: two looping processes), and the short run
        # after it in the same sandbox is charged only its own few milliseconds.
        sandbox = self.sandbox()
        parent = self.parent("cpu")
        layout = self.layout(sandbox, parent)
        limits = Limits(time=0.5, wall_time=20)
        loops = _sh("while :; do :; done & while :; do :; done")
        r = self.judged(sandbox, layout, parent, loops, limits)
        self.assertEqual((r.status, r.limit), ("time_limit_exceeded", "cpu"), r)
        self.assertTrue(0.5 <= r.time < 1.0, r)
        r = self.judged(sandbox, layout, parent, _sh("exit 0"), limits)
        self.assertEqual(r.status, "normal", r)
        self.assertLess(r.time, 0.2, r)

    def test_a_cgroup_it_may_not_enter_is_a_clear_error(self):
        if os.geteuid() == 0:
            self.skipTest("root may move a process into any cgroup")
        memory = cg_mod.Layout.detect().v1.get(cg_mod.MEMORY)
        if memory is None:
            self.skipTest("no v1 memory hierarchy")
        sandbox = self.sandbox()
        theirs = cg_mod.Cgroup("v1", [([cg_mod.MEMORY], memory)], None)
        with self.assertRaises(SyncError) as cm:
            _output(lambda r: sandbox.run_in(r, theirs), _sh("echo ran"))
        message = str(cm.exception)
        self.assertIn("cgroup.procs", message)
        for text in CLEAR:
            self.assertIn(text, message)
        self.assertEqual(_output(sandbox.run, _sh("echo ran")), (0, "ran\n"))

    def test_a_cgroup_path_is_the_hosts(self):
        # A runner's cgroup path in a pooled run: its init and program are moved into it.
        layout = cg_mod.Layout.detect()
        mount = layout.v1.get(cg_mod.PIDS) or layout.v2
        if mount is None:
            self.skipTest("no pids hierarchy or cgroup2 tree")
        sandbox = self.sandbox()
        d = os.path.join(mount, f"forkexec-py-pooled-{os.getpid()}-path")
        try:
            os.mkdir(d)
        except PermissionError as e:
            self.assertNotEqual(os.geteuid(), 0)
            with self.assertRaises(SyncError):
                sandbox.run(_sh("true", cgroup=mount))
            self.skipTest(f"as uid {os.geteuid()}: {e}")
        self.addCleanup(os.rmdir, d)
        r, w = os.pipe()
        run = sandbox.run(_sh("read x", files=[r, -1, -1], cgroup=d))
        with open(os.path.join(d, "cgroup.procs"), encoding="utf-8") as f:
            procs = f.read().split()
        os.close(r)
        os.close(w)
        self.assertEqual([_inner(int(p)) for p in procs], [1, 2])
        run.wait()
        with self.assertRaises(HelperError):
            sandbox.run_in(_sh("true", cgroup=d), cg_mod.Cgroup("v1", [], d))

    def test_shared_namespaces_move_the_program_never_the_server(self):
        # A shared sandbox's run has no init of its own: its program's parent is the
        # sandbox's server (pid 1), which stays where it is; with an init the run asks for,
        # init and program.
        sandbox = self.sandbox(shared=True)
        parent = self.parent("shared")
        layout = self.layout(sandbox, parent)
        server = [int(p.split()[0]) for p in _descendants(sandbox.pid)]
        self.assertEqual(len(server), 1, server)
        with cg_mod.Cgroup.create(layout, parent) as cg:
            for init, want in ((False, 1), (True, 2)):
                seen = []
                runner = _sh("cat /proc/self/cgroup", init=init,
                             sync_func=lambda pid: seen.append((pid, cg.procs())))
                code, out = _output(lambda r: sandbox.run_in(r, cg), runner)
                self.assertEqual(code, 0, out)
                pid, procs = seen[0]
                self.assertEqual(len(procs), want, seen)
                self.assertNotIn(server[0], procs)
                self.assertLessEqual(_cgroup_lines(cg), {l.split(":", 2)[2]
                                                         for l in out.splitlines()})
                self.assertEqual(cg.procs(), [])
            self.assertEqual(_descendants(sandbox.pid)[0].split()[0], str(server[0]))
        limits = Limits(memory=64 << 20, wall_time=20)
        r = self.judged(sandbox, layout, parent,
                        _sh("exec python3 -c 'b = b\"x\" * (512 << 20)'"), limits)
        self.assertEqual(r.status, "memory_limit_exceeded", r)
        r = self.judged(sandbox, layout, parent, _sh(PIDS_SCRIPT), Limits(pids=3, wall_time=20))
        self.assertTrue(r.pids_limit_hit, r)
        self.assertEqual(_output(sandbox.run, _sh("echo ok")), (0, "ok\n"))

    def test_a_thousand_runs_leave_no_cgroup(self):
        pool = Pool(2, lambda: Sandbox(_shape(self.root()), writable=["/tmp"]))
        self.addCleanup(pool.shutdown)
        parent = self.parent("leaks")
        layout = self.layout(pool.sandboxes[0], parent)
        trees = [_descendants(s.pid) for s in pool.sandboxes]
        fds = sorted(os.listdir("/proc/self/fd"))
        null = os.open("/dev/null", os.O_RDWR)
        runner = _sh("true", files=[null, null, null])
        daemon = _sh("/bin/sleep 1000 & exit 3", files=[null, null, null])
        for i in range(1000):
            with cg_mod.Cgroup.create(layout, parent) as cg:
                run = pool.run_in(daemon if i % 100 == 0 else runner, cg)
                self.assertEqual(run.wait().code, 3 if i % 100 == 0 else 0)
        os.close(null)
        made = os.path.join(layout.v1.get(cg_mod.MEMORY) or layout.v2 or "", parent)
        self.assertTrue(os.path.isdir(made), "the runs' cgroups were made")
        _assert_settled(self, pool, trees, fds)


class ServedRunControlTest(unittest.TestCase):
    """``wait_timeout`` and ``kill`` of a sandbox's run (no cgroup needed: root and user)."""

    def sandbox(self, shared):
        root = tempfile.mkdtemp(prefix="forkexec-py-pool-kill-")
        self.addCleanup(os.rmdir, root)
        sandbox = Sandbox(_shape(root), writable=["/tmp"], shared_namespaces=shared)
        self.addCleanup(sandbox.shutdown)
        return sandbox

    def test_kill_ends_the_run_and_the_sandbox_serves_on(self):
        for shared in (False, True):
            with self.subTest(shared=shared):
                sandbox = self.sandbox(shared)
                before = _descendants(sandbox.pid)
                run = sandbox.run(_sh("/bin/sleep 1000 & exec /bin/sleep 1000",
                                      files=[-1, -1, -1]))
                self.assertIsNone(run.wait_timeout(0.2))
                run.kill(signal.SIGTERM)  # through the run's init (shared: to the program)
                status = run.wait_timeout(10)
                self.assertIsNotNone(status)
                self.assertEqual(status.signal, signal.SIGTERM)
                with self.assertRaises(ProcessLookupError):
                    run.kill(signal.SIGKILL)
                run = sandbox.run(_sh("exec /bin/sleep 1000", files=[-1, -1, -1]))
                run.kill()
                self.assertEqual(run.wait_timeout(10).signal, signal.SIGKILL)
                self.assertEqual(run.wait_timeout(0), run.wait())
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline and _descendants(sandbox.pid) != before:
                    time.sleep(0.01)
                self.assertEqual(_descendants(sandbox.pid), before, "the sandbox changed")
                self.assertEqual(_output(sandbox.run, _sh("echo ok")), (0, "ok\n"))


class PlacedEncodingTest(unittest.TestCase):
    """A runner's kept encoding (``Runner._kept_encoding``) is a placed run's only while the
    run is placed: a placed run's spec has ``sync`` (its placement point) and no ``cgroup``
    path. Reusing an unplaced run's encoding for a placed run would run the program outside
    its cgroup; reusing a placed one for an unplaced run would send a path the sandbox cannot
    see."""

    def test_placed_and_unplaced_runs_of_one_runner(self):
        root = tempfile.mkdtemp(prefix="forkexec-py-pool-cgroup-")
        self.addCleanup(os.rmdir, root)
        sandbox = Sandbox(_shape(root), writable=["/tmp"])
        self.addCleanup(sandbox.shutdown)
        runner = _sh("grep -c :/forkexec-py-pooled- /proc/self/cgroup")
        layout = cg_mod.Layout.detect()
        parent = f"forkexec-py-pooled-{os.getpid()}-kept"
        try:
            cgs = [cg_mod.Cgroup.create(layout, parent) for _ in range(2)]
        except cg_mod.CgroupError as e:
            if os.geteuid() == 0:
                raise
            # A cgroup this user may not enter: the placed run must fail, not run unplaced.
            memory = layout.v1.get(cg_mod.MEMORY) or layout.v2 or "/sys/fs/cgroup"
            theirs = cg_mod.Cgroup("v1", [([cg_mod.MEMORY], memory)], None)
            for _ in range(2):
                self.assertEqual(_output(sandbox.run, runner), (1, "0\n"))
                with self.assertRaises(SyncError):
                    _output(lambda r: sandbox.run_in(r, theirs), runner)
            self.skipTest(f"as uid {os.geteuid()} (placement checked refused): {e}")

        def remove():
            for cg in cgs:
                cg.remove()
            for mount in set(layout.v1.values()) | ({layout.v2} if layout.v2 else set()):
                if os.path.isdir(os.path.join(mount, parent)):
                    os.rmdir(os.path.join(mount, parent))
        self.addCleanup(remove)
        n = str(len(cgs[0].dirs()))
        with mock.patch.object(wire, "encode_checked", side_effect=wire.encode_checked) as enc:
            for _ in range(2):
                self.assertEqual(_output(sandbox.run, runner), (1, "0\n"))
                for cg in cgs:
                    self.assertEqual(_output(lambda r, c=cg: sandbox.run_in(r, c), runner),
                                     (0, f"{n}\n"))
                    self.assertEqual(cg.procs(), [])
            # One each time the kind of run changes (the runner keeps the last one), never
            # one per cgroup.
            self.assertEqual(enc.call_count, 4)
            # A runner's own cgroup path: the host's, placed; without it, unplaced again.
            runner.cgroup = cgs[0].dirs()[0]
            self.assertEqual(_output(sandbox.run, runner), (0, "1\n"))
            runner.cgroup = ""
            self.assertEqual(_output(sandbox.run, runner), (1, "0\n"))


if __name__ == "__main__":
    unittest.main()
