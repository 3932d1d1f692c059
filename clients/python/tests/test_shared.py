"""Warm sandboxes with shared namespaces through the real helper (``Sandbox(...,
shared_namespaces=True)``; docs/design.md, "Shared namespaces"): runs see nothing of earlier
runs (no file in a writable place, process, fd, env, cwd or rlimit); a daemon that double-forked
and left the session is gone when ``wait`` returns; a second run on a busy sandbox is refused
(:class:`SandboxBusy`) and a pool picks an idle sandbox; the writable places never stack
mounts; 2,000 runs leave no fd, process or mount. Runs as root and as an ordinary user."""

import os
import unittest

from forkexec import HelperError, Runner, mount_ops
from forkexec.server import Pool, Sandbox, SandboxBusy

from .test_server import _SandboxFixture, _descendants, _run, _sh, _shape


class SharedSandboxTest(_SandboxFixture, unittest.TestCase):
    ROOT_PREFIX = "forkexec-py-shared-"

    def sandbox(self, writable=("/tmp", "/work")):
        return super().sandbox(writable, shared_namespaces=True)

    def test_runs_see_nothing_of_earlier_runs(self):
        sandbox = self.sandbox()
        extra = self.null_fd()
        first = _sh("echo x >/tmp/left && mkdir /work/d && echo y >/work/d/left && "
                    "chmod 700 /tmp && ls /tmp/left /work/d/left && pwd && ulimit -n && "
                    "ls /proc/self/fd",
                    env=["LEFT=1"], work_dir="/work",
                    rlimits=[{"resource": "nofile", "cur": 64, "max": 64}])
        self.assertEqual(_run(sandbox, first, [extra]),
                         (0, "/tmp/left\n/work/d/left\n/work\n64\n0\n1\n2\n3\n4\n"))
        second = _sh("ls -A /tmp /work; stat -c %a /tmp; pwd; echo ${LEFT:-none}; ulimit -n; "
                     "ls /proc/self/fd; cd /proc && echo [0-9]* && echo 1 $$")
        code, out = _run(sandbox, second)
        lines = out.splitlines()
        self.assertEqual(lines[:7], ["/tmp:", "", "/work:", "1777", "/", "none", lines[6]], out)
        self.assertNotEqual(lines[6], "64", out)
        self.assertEqual(lines[7:11], ["0", "1", "2", "3"], out)  # 3: ls's own directory fd
        self.assertEqual(lines[11], lines[12], "processes of an earlier run")
        for place in ("/left", "/dev/left"):
            code, out = _run(sandbox, _sh(f"echo z >{place}"))
            self.assertNotEqual(code, 0, place)
            self.assertIn("Read-only", out)

    def test_a_daemon_is_gone_when_its_run_is_waited_for(self):
        sandbox = self.sandbox()
        before = _descendants(sandbox.pid)
        self.assertEqual(len(before), 1, before)  # the server
        daemon = ("(setsid sh -c '(: >/tmp/started; exec sleep 1000) &' "
                  "</dev/null >/dev/null 2>&1 &); "
                  "for i in $(seq 10000); do [ -e /tmp/started ] && exit 0; done; exit 1")
        self.assertEqual(_run(sandbox, _sh(daemon))[0], 0)
        self.assertEqual(_descendants(sandbox.pid), before, "the daemon outlived its run")

    def test_one_run_at_a_time(self):
        sandbox = self.sandbox()
        r, w = os.pipe()
        null = self.null_fd()
        first = sandbox.run(_sh("read x; exit 3", files=[r, null, null]))
        with self.assertRaises(SandboxBusy) as cm:
            sandbox.run(_sh("true"))
        self.assertIsInstance(cm.exception, HelperError)
        os.close(w)
        self.assertEqual(first.wait().code, 3)
        self.assertEqual(_run(sandbox, _sh("exit 4"))[0], 4)
        dropped = sandbox.run(_sh("exec sleep 1000", files=[null, null, null]))
        dropped.close()
        self.assertEqual(_run(sandbox, _sh("exit 5"))[0], 5)
        pool = Pool(2, lambda: Sandbox(_shape(self.root()), writable=["/tmp"],
                                       shared_namespaces=True))
        self.addCleanup(pool.shutdown)
        going = [pool.run(_sh("read x; exit 6", files=[r, null, null])) for _ in range(2)]
        with self.assertRaises(SandboxBusy):
            pool.run(_sh("true"))
        os.close(r)
        self.assertEqual([run.wait().code for run in going], [6, 6])
        self.assertEqual(_run(pool, _sh("exit 7"))[0], 7)

    def test_misplaced_settings_are_refused(self):
        for writable, what in [(["tmp"], "absolute"), (["/"], "absolute"),
                               (["/work", "/work/sub"], "inside")]:
            with self.assertRaises(HelperError) as cm:
                Sandbox(_shape(self.root()), writable=writable, shared_namespaces=True)
            self.assertIn(what, str(cm.exception))
        sandbox = self.sandbox()
        with self.assertRaises(HelperError) as cm:
            sandbox.run(_sh("true", mounts=[mount_ops.tmpfs("/mnt")]))
        self.assertIn("newns", str(cm.exception))
        table = "grep -c ' /tmp/m ' /proc/self/mountinfo"
        own = _sh(table, clone_flags=["newns"], mounts=[mount_ops.tmpfs("/tmp/m")])
        self.assertEqual(_run(sandbox, own), (0, "1\n"))
        self.assertEqual(_run(sandbox, _sh(table)), (1, "0\n"))

    def test_two_thousand_runs_leave_nothing(self):
        pool = Pool(2, lambda: Sandbox(_shape(self.root()), writable=["/tmp"],
                                       shared_namespaces=True))
        self.addCleanup(pool.shutdown)
        mounts = "wc -l </proc/self/mountinfo; grep -c ' /tmp ' /proc/self/mountinfo"
        table = _run(pool, _sh(mounts))
        trees = [_descendants(s.pid) for s in pool.sandboxes]
        fds = sorted(os.listdir("/proc/self/fd"))
        for i in range(2000):
            runner = (_sh("sleep 1000 & echo x >/tmp/left") if i % 100 == 0
                      else Runner(["/bin/true"]))
            self.assertEqual(_run(pool, runner)[0], 0)
        self.assertEqual([_descendants(s.pid) for s in pool.sandboxes], trees)
        self.assertEqual(sorted(os.listdir("/proc/self/fd")), fds)
        self.assertEqual(_run(pool, _sh(mounts)), table)
        self.assertTrue(table[1].endswith("\n1\n"), table)


if __name__ == "__main__":
    unittest.main()
