"""The status protocol against a scripted fake helper: the paths a real helper takes rarely or
never on purpose (a torn record, an unknown kind, a helper that hangs up early), and the exit
record as the source of a supervised target's status; each through ``start`` and through
``run`` (which waits for the helper first and reads the stream once, runner.py
``_run_to_end``). The fake also lists the fds it was given: the ones the spec names and its
end of the channel, nothing else of ours."""

import json
import os
import shutil
import struct
import sys
import tempfile
import unittest

from forkexec import ChildError, HelperError, Runner, SyncError, names, status

from .test_helper import children

FAKE = r'''
import json, os, socket, struct, sys
plan = json.loads(os.environ["FORKEXEC_FAKE_PLAN"])
fd = int(sys.argv[sys.argv.index("--spec-fd") + 1])
sock = socket.socket(fileno=fd)
log = []

def is_open(n):
    try:
        os.fstat(n)
        return True
    except OSError:
        return False

def read_exact(n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data

for step in plan:
    op = step[0]
    if op == "read_spec":
        header = read_exact(12)
        total = struct.unpack_from("<I", header, 8)[0]
        read_exact(total - 12)
    elif op == "send":
        sock.sendall(bytes.fromhex(step[1]))
    elif op == "read_answer":
        answer = read_exact(1)
        log.append(answer.hex())
        if answer != b"\0" and len(step) > 1:
            sock.sendall(bytes.fromhex(step[1]))
            sys.exit(125)
    elif op == "log_fds":
        listed = [int(n) for n in os.listdir("/proc/self/fd")]
        # the one listdir read the directory with is closed again
        log.append({"fds": sorted(n for n in listed if is_open(n)), "spec_fd": fd})
    elif op == "exit":
        if os.environ.get("FORKEXEC_FAKE_LOG"):
            with open(os.environ["FORKEXEC_FAKE_LOG"], "w") as f:
                json.dump(log, f)
        os._exit(step[1])
'''


def rec(record):
    return status.encode_record(record).hex()


class FakeHelper(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="forkexec-fake-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.fake = os.path.join(self.tmp, "fake-forkexec")
        with open(self.fake, "w") as f:
            f.write(f"#!{sys.executable}\n{FAKE}")
        os.chmod(self.fake, 0o755)
        self.log = os.path.join(self.tmp, "log.json")
        self._saved = {k: os.environ.get(k) for k in ("FORKEXEC_FAKE_PLAN",
                                                       "FORKEXEC_FAKE_LOG")}
        self.addCleanup(self._restore)

    def _restore(self):
        for k, v in self._saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def tearDown(self):
        self.assertEqual(children(), [], "processes left behind")

    def runner(self, plan, **fields):
        os.environ["FORKEXEC_FAKE_PLAN"] = json.dumps(plan)
        os.environ["FORKEXEC_FAKE_LOG"] = self.log
        fields.setdefault("args", ["/bin/true"])
        return Runner(helper=self.fake, **fields)

    def answers(self):
        with open(self.log) as f:
            return json.load(f)

    def test_supervised_status_and_rusage_come_from_the_exit_record(self):
        exit_3 = 3 << 8
        plan = [["read_spec"], ["send", rec(status.PidRecord(4242))],
                ["send", rec(status.ExecRecord(4242))],
                ["send", rec(status.ExitRecord(exit_3, 1_500_000, 250_000, 4321))],
                ["exit", 0]]
        p = self.runner(plan, clone_flags=["newpid"]).start()
        self.assertEqual((p.target_pid, p.start_pending), (4242, False))
        st = p.wait()
        # the fake itself exited 0: the status is the record's
        self.assertEqual(st.code, 3)
        self.assertEqual(st.rusage.user_time, 1.5)
        self.assertEqual(st.rusage.system_time, 0.25)
        self.assertEqual(st.rusage.max_rss_kib, 4321)
        with self.assertRaises(ChildProcessError, msg="the helper itself was reaped"):
            os.waitpid(p.pid, os.WNOHANG)

    def test_clone_shape_sync_gets_the_pid_records_pid(self):
        seen = []
        plan = [["read_spec"], ["send", rec(status.PidRecord(4242))],
                ["send", rec(status.SyncRecord(1))], ["read_answer"],
                ["send", rec(status.ExecRecord(4242))], ["exit", 0]]
        p = self.runner(plan, clone_flags=["newpid"], sync_func=seen.append).start()
        p.wait()
        self.assertEqual(seen, [4242])
        self.assertEqual(self.answers(), ["00"], "one byte 0: go on")

    def test_refusal_is_one_nonzero_byte_and_the_error_record_is_kept(self):
        error = rec(status.ErrorRecord(names.LOC_SYNC_READ, 125, 0, 0))
        plan = [["read_spec"], ["send", rec(status.SyncRecord(77))],
                ["read_answer", error], ["exit", 0]]

        def refuse(pid):
            raise ValueError(f"not {pid}")

        with self.assertRaises(SyncError) as cm:
            self.runner(plan, sync_func=refuse).start()
        self.assertEqual(str(cm.exception), "sync callback refused: not 77")
        self.assertEqual(str(cm.exception.child_error), "sync_read(0): operation canceled")
        self.assertEqual(cm.exception.child_error.exit_code, 125)

    def test_error_record(self):
        plan = [["read_spec"], ["send", rec(status.ErrorRecord(16, 1, 3, 0))], ["exit", 125]]
        with self.assertRaises(ChildError) as cm:
            self.runner(plan).start()
        self.assertEqual(str(cm.exception), "mount(3): operation not permitted")
        self.assertEqual(cm.exception.exit_code, 125)

    def test_unknown_record_kind_is_a_protocol_error(self):
        plan = [["read_spec"], ["send", "09" + "00" * 31], ["exit", 0]]
        with self.assertRaises(HelperError) as cm:
            self.runner(plan).start()
        self.assertIn("unknown status record kind 9", str(cm.exception))

    def test_torn_record_is_a_protocol_error(self):
        plan = [["read_spec"], ["send", "01" + "00" * 9], ["exit", 125]]
        with self.assertRaises(HelperError) as cm:
            self.runner(plan).start()
        self.assertIn("stream ended 10 bytes into a 32-byte record", str(cm.exception))

    def test_helper_that_hangs_up_before_the_whole_spec(self):
        # a spec bigger than the socket buffer: the write fails, and EOF is not success
        plan = [["exit", 3]]
        big = ["X=" + "x" * 65536] * 40
        with self.assertRaises(HelperError) as cm:
            self.runner(plan, env=big).start()
        self.assertIn("ended (exit status: 3) without an error record", str(cm.exception))

    def test_eof_after_the_spec_is_success_in_place(self):
        # as in go-sandbox: EOF with no error record means execve closed the status fd
        p = self.runner([["read_spec"], ["exit", 0]]).start()
        self.assertEqual(p.wait().code, 0)

    def test_detach_without_a_pid_record(self):
        with self.assertRaises(HelperError) as cm:
            self.runner([["read_spec"], ["exit", 0]], detach=True,
                        clone_flags=["newpid"]).start()
        self.assertIn("without reporting the detached target's pid", str(cm.exception))

    def test_wire_bytes_of_a_record(self):
        self.assertEqual(struct.unpack("<I", bytes.fromhex(rec(status.PidRecord(7)))[4:8]),
                         (7,))


class FakeHelperRun(FakeHelper):
    """The same outcomes through ``Runner.run`` (wait for the helper, then one read)."""

    def test_error_record(self):
        for fields in ({}, {"clone_flags": ["newpid"]}):
            plan = [["read_spec"], ["send", rec(status.ErrorRecord(16, 1, 3, 0))],
                    ["exit", 125]]
            with self.assertRaises(ChildError, msg=fields) as cm:
                self.runner(plan, **fields).run()
            self.assertEqual(str(cm.exception), "mount(3): operation not permitted")
            self.assertEqual(cm.exception.exit_code, 125)

    def test_the_error_record_names_its_subject(self):
        plan = [["read_spec"], ["send", rec(status.ErrorRecord(names.LOC_EXECVE, 2, 0, 0))],
                ["exit", 127]]
        with self.assertRaises(ChildError) as cm:
            self.runner(plan, args=["/no/such/program"]).run()
        self.assertEqual(str(cm.exception), "execve(0) /no/such/program: no such file or "
                                            "directory")
        self.assertEqual(cm.exception.exit_code, 127)

    def test_unknown_record_kind_is_a_protocol_error(self):
        plan = [["read_spec"], ["send", "09" + "00" * 31], ["exit", 0]]
        with self.assertRaises(HelperError) as cm:
            self.runner(plan).run()
        self.assertIn("unknown status record kind 9", str(cm.exception))

    def test_torn_record_is_a_protocol_error(self):
        plan = [["read_spec"], ["send", "01" + "00" * 9], ["exit", 125]]
        with self.assertRaises(HelperError) as cm:
            self.runner(plan).run()
        self.assertIn("stream ended 10 bytes into a 32-byte record", str(cm.exception))

    def test_helper_that_hangs_up_before_the_whole_spec(self):
        plan = [["exit", 3]]
        big = ["X=" + "x" * 65536] * 40
        with self.assertRaises(HelperError) as cm:
            self.runner(plan, env=big).run()
        self.assertIn("ended (exit status: 3) without an error record", str(cm.exception))

    def test_helper_that_leaves_a_small_spec_unread(self):
        # run writes a small spec before the spawn, so no write fails: a helper that ends
        # with it unread is seen at the read (ECONNRESET), and EOF is not success either
        with self.assertRaises(HelperError) as cm:
            self.runner([["exit", 0]]).run()
        self.assertIn("ended (exit status: 0) without an error record", str(cm.exception))

    def test_eof_after_the_spec_is_success_in_place(self):
        self.assertEqual(self.runner([["read_spec"], ["exit", 4]]).run().code, 4)

    def test_supervised_status_and_rusage_come_from_the_exit_record(self):
        exit_3 = 3 << 8
        plan = [["read_spec"],
                ["send", rec(status.ExitRecord(exit_3, 1_500_000, 250_000, 4321))],
                ["exit", 0]]
        st = self.runner(plan, clone_flags=["newpid"]).run()
        self.assertEqual((st.code, st.rusage.user_time, st.rusage.system_time,
                          st.rusage.max_rss_kib), (3, 1.5, 0.25, 4321))

    def test_in_place_status_is_the_helpers_own(self):
        # In place there is no exit record to take the status from: a stray one is not it.
        plan = [["read_spec"], ["send", rec(status.ExitRecord(3 << 8, 0, 0, 0))], ["exit", 5]]
        self.assertEqual(self.runner(plan).run().code, 5)


class FakeHelperFds(FakeHelper):
    """The helper gets its end of the channel and the fds the spec names, at their numbers,
    and no other fd of ours: Python makes its fds close-on-exec (PEP 446), our end of the
    channel included. Only an fd made inheritable on purpose (as the test runner may have
    been given some) reaches it too (runner.py, ``_spawn``)."""

    def check(self, how):
        other = os.open("/dev/null", os.O_RDONLY)  # ours, not asked for
        r, w = os.pipe()
        try:
            inheritable = {int(n) for n in os.listdir("/proc/self/fd")
                           if _inheritable(int(n))}
            runner = self.runner([["read_spec"], ["log_fds"], ["exit", 0]], files=[0, w, 2])
            self.assertTrue(how(runner).success)
        finally:
            for fd in (other, r, w):
                os.close(fd)
        (seen,) = self.answers()
        self.assertEqual(set(seen["fds"]) - {0, 1, 2} - inheritable, {w, seen["spec_fd"]},
                         f"other {other}, pipe {r} {w}")
        self.assertNotIn(other, inheritable)

    def test_start(self):
        self.check(lambda runner: runner.start().wait())

    def test_run(self):
        self.check(lambda runner: runner.run())


def _inheritable(fd):
    try:
        return os.get_inheritable(fd)
    except OSError:
        return False  # the one listdir read the directory with, closed since


if __name__ == "__main__":
    unittest.main()
