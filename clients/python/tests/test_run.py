"""``Runner.run``: start and wait in one call. When nothing needs the start's records it asks
the helper for the end records only (``only_end_records``, docs/spec.md "In the clone
shapes"): a supervising helper then writes no pid or exec record, and ``run`` still gets the
target's status and usage from the exit record. Through the real helper."""

import errno
import os
import signal
import unittest
from unittest import mock

from forkexec import ChildError, HelperError, Runner, wire

from .support import helper_path
from .test_helper import children, with_ns

SH = "/bin/sh"
BUSY = "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; exit 5"


class RunTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.helper = helper_path()

    def sent_specs(self):
        """Records the normalized specs ``start`` encodes."""
        return mock.patch.object(wire, "encode_checked", side_effect=wire.encode_checked)

    def test_in_place(self):
        status = Runner([SH, "-c", "exit 6"], helper=self.helper).run()
        self.assertEqual(status.code, 6)

    def test_supervised_status_and_usage_with_only_the_end_records(self):
        for init in (False, True):
            runner = Runner([SH, "-c", BUSY], helper=self.helper, init=init,
                            **with_ns("newpid"))
            with self.sent_specs() as encode:
                status = runner.run()
            self.assertEqual(status.code, 5, f"init {init}")
            usage = status.rusage.user_time + status.rusage.system_time
            self.assertGreater(usage, 0.001, f"init {init}: {status}")
            (spec,), _ = encode.call_args
            self.assertTrue(spec.only_end_records, f"init {init}")
            self.assertFalse(runner.spec.only_end_records, "the runner's own spec is unchanged")

    def test_start_does_not_set_it(self):
        runner = Runner([SH, "-c", "exit 0"], helper=self.helper, **with_ns("newpid"))
        with self.sent_specs() as encode:
            self.assertTrue(runner.start().wait().success)
            self.assertTrue(runner.run().success)
            self.assertTrue(runner.start().wait().success)
        # Each encoded once: the runner keeps one encoding for start and one for run.
        sent = [call.args[0].only_end_records for call in encode.call_args_list]
        self.assertEqual(sent, [False, True])

    def test_a_sync_callback_keeps_the_start_records(self):
        seen = []
        runner = Runner([SH, "-c", "exit 0"], helper=self.helper, sync_func=seen.append,
                        **with_ns("newpid"))
        with self.sent_specs() as encode:
            self.assertTrue(runner.run().success)
        (spec,), _ = encode.call_args
        self.assertFalse(spec.only_end_records)
        self.assertEqual(len(seen), 1)

    def test_in_place_failure_raises_after_the_wait(self):
        # In place, run waits for the helper first and reads its error record after: the
        # error, with the helper's exit status, and no process left.
        runner = Runner([SH, "-c", "exit 0"], helper=self.helper, work_dir="/no/such/dir")
        with self.assertRaises(ChildError) as cm:
            runner.run()
        self.assertEqual(cm.exception.errno, errno.ENOENT)
        self.assertEqual(os.WEXITSTATUS(cm.exception.exit_status), 125)
        self.assertEqual(children(), [])
        missing = Runner(["/no/such/program"], helper=self.helper)
        with self.assertRaises(ChildError) as cm:
            missing.run()
        self.assertEqual(os.WEXITSTATUS(cm.exception.exit_status), 127)
        self.assertEqual(children(), [])

    def test_a_setup_failure_raises(self):
        runner = Runner([SH, "-c", "exit 0"], helper=self.helper, work_dir="/no/such/dir",
                        **with_ns("newpid"))
        with self.assertRaises(ChildError) as cm:
            runner.run()
        self.assertEqual(cm.exception.errno, errno.ENOENT)


    def test_a_failed_spawn_raises_what_start_raises(self):
        for how in ("start", "run"):
            with self.assertRaises(HelperError, msg=how) as cm:
                getattr(Runner(["/bin/true"], helper="/nonexistent/forkexec"), how)()
            self.assertIn("cannot run /nonexistent/forkexec", str(cm.exception))
            with self.assertRaises(HelperError, msg=how) as cm:
                getattr(Runner(["/bin/true"], files=[0, 1, 987], helper=self.helper), how)()
            self.assertIn("cannot pass files[2] (fd 987): not an open fd", str(cm.exception))
        self.assertEqual(children(), [])

    def test_a_refusing_spawn_hook_kills_the_helper(self):
        seen = []

        def hook(pid):
            seen.append(pid)
            raise RuntimeError("no")

        with self.assertRaisesRegex(HelperError, "spawn hook refused: no"):
            Runner([SH, "-c", "exit 0"], helper=self.helper, on_spawn=hook).run()
        self.assertEqual(len(seen), 1)
        self.assertEqual(children(), [])

    def test_an_exception_while_waiting_kills_and_reaps_the_helper(self):
        # A signal handler that raises (as Ctrl-C's KeyboardInterrupt does) ends the wait4:
        # the target (in place: the helper) is killed and reaped, not left running.
        class Alarm(Exception):
            pass

        def ring(signum, frame):
            raise Alarm()

        old = signal.signal(signal.SIGALRM, ring)
        try:
            signal.setitimer(signal.ITIMER_REAL, 0.5)
            for fields in ({}, with_ns("newpid")):
                with self.assertRaises(Alarm, msg=fields):
                    Runner([SH, "-c", "sleep 60"], helper=self.helper, **fields).run()
                self.assertEqual(children(), [], fields)
                signal.setitimer(signal.ITIMER_REAL, 0.5)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)

    def test_in_place_usage_is_the_targets(self):
        status = Runner([SH, "-c", BUSY], helper=self.helper).run()
        self.assertEqual(status.code, 5)
        self.assertGreater(status.rusage.user_time + status.rusage.system_time, 0.001)
        self.assertGreater(status.rusage.max_rss_kib, 0)


if __name__ == "__main__":
    unittest.main()
