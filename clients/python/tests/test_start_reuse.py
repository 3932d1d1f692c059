"""``Runner.start`` keeps the normalized, encoded and checked spec and uses it again while the
spec has not changed (runner.py, ``_encode_for_start``): every change made between two starts
must reach the helper, and a value that would be refused must still be refused, as on the
first start. Through the real helper ($FORKEXEC_HELPER)."""

import os
import tempfile
import unittest
from unittest import mock

from forkexec import HelperError, IdMap, JsonError, Rlimit, Runner, wire

from .support import helper_path, read_all

SH = "/bin/sh"


class StartReuseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.helper = helper_path()

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def output(self, runner):
        """Runs ``runner`` with its stdout on a pipe (files [0, w, 2]) and returns what the
        target wrote."""
        r, w = os.pipe()
        try:
            runner.files = [0, w, 2]
            process = runner.start()
        finally:
            os.close(w)
        with os.fdopen(r, "rb") as f:
            out = f.read()
        self.assertTrue(process.wait().success)
        return out

    def encodings(self, runner):
        """Counts the normalize-encode-check passes of ``runner``'s starts."""
        return mock.patch.object(wire, "encode_checked", side_effect=wire.encode_checked)

    def test_an_unchanged_spec_is_encoded_once(self):
        runner = Runner([SH, "-c", "echo one"], helper=self.helper)
        with self.encodings(runner) as encode:
            self.assertEqual(self.output(runner), b"one\n")
            self.assertEqual(self.output(runner), b"one\n")
            self.assertEqual(self.output(runner), b"one\n")
        self.assertEqual(encode.call_count, 1)

    def test_changes_between_starts_reach_the_helper(self):
        runner = Runner([SH, "-c", 'echo "$X" "$0"'], env=["X=1"], helper=self.helper)
        self.assertEqual(self.output(runner), b"1 /bin/sh\n")
        runner.env.append("X=2")  # a list changed in place
        self.assertEqual(self.output(runner), b"2 /bin/sh\n")
        runner.spec.args[2] = 'echo "$X" changed'
        self.assertEqual(self.output(runner), b"2 changed\n")
        runner.work_dir = self.tmp  # an attribute set on the runner
        runner.args = [SH, "-c", "pwd"]
        self.assertEqual(self.output(runner), os.fsencode(self.tmp) + b"\n")
        runner.spec = runner.spec.copy()  # a new spec object, equal
        self.assertEqual(self.output(runner), os.fsencode(self.tmp) + b"\n")
        runner.args = [SH, "-c", "ulimit -n"]
        runner.rlimits = [Rlimit("nofile", 64, 64)]
        self.assertEqual(self.output(runner), b"64\n")
        runner.spec.rlimits[0].cur = 32  # a field of a nested object
        self.assertEqual(self.output(runner), b"32\n")

    def test_a_sync_callback_set_later_is_called(self):
        runner = Runner([SH, "-c", "exit 0"], helper=self.helper)
        self.assertTrue(runner.start().wait().success)
        seen = []
        runner.sync_func = seen.append
        process = runner.start()
        self.assertTrue(process.wait().success)
        self.assertEqual(seen, [process.pid])

    def test_a_value_refused_on_the_first_start_is_refused_after_an_equal_one(self):
        # True == 1 and 1.0 == 1 in Python, but an fd must be an int: the reuse must not
        # take them for the fd it ran with.
        runner = Runner([SH, "-c", "exit 0"], files=[0, 1, 2], helper=self.helper)
        self.assertTrue(runner.start().wait().success)
        for bad in (True, 1.0):
            runner.spec.files = [0, bad, 2]
            with self.assertRaises(JsonError, msg=repr(bad)) as cm:
                runner.start()
            self.assertIn("files[1]", str(cm.exception))
        runner.spec.files = [0, 1, 2]
        self.assertTrue(runner.start().wait().success)

    def test_an_fd_closed_after_a_start_is_named(self):
        r, w = os.pipe()
        os.close(r)
        runner = Runner([SH, "-c", "exit 0"], files=[0, w, 2], helper=self.helper)
        self.assertTrue(runner.start().wait().success)
        os.close(w)
        with self.assertRaises(HelperError) as cm:
            runner.start()
        self.assertIn(f"cannot pass files[1] (fd {w}): not an open fd", str(cm.exception))

    def test_our_effective_ids_count_only_for_a_spec_with_id_maps(self):
        # A self map is written by the helper in place; with other ids it is a map only an
        # outer process may write (the supervise shape). Without maps the ids change nothing
        # and are not looked at again.
        mapped = Runner([SH], clone_flags=["newuser"], helper=self.helper,
                        uid_mappings=[IdMap(0, os.geteuid(), 1)],
                        gid_mappings=[IdMap(0, os.getegid(), 1)])
        plain = Runner([SH], helper=self.helper)
        for runner in (mapped, plain):
            self.assertEqual(runner._encode_for_start().shape, wire.IN_PLACE)
        with self.encodings(None) as encode, \
                mock.patch.object(os, "geteuid", return_value=os.geteuid() + 1) as geteuid:
            self.assertEqual(plain._encode_for_start().shape, wire.IN_PLACE)
            self.assertEqual((encode.call_count, geteuid.call_count), (0, 0))
            self.assertEqual(mapped._encode_for_start().shape, wire.SUPERVISE)
            self.assertEqual(encode.call_count, 1)
        self.assertEqual(mapped._encode_for_start().shape, wire.IN_PLACE)

    def test_a_spec_pickle_cannot_write_is_encoded_every_time(self):
        runner = Runner([SH, "-c", "echo x"], helper=self.helper)
        runner.spec.args[2] = _Unpicklable("echo unpicklable")
        with self.encodings(runner) as encode:
            self.assertEqual(self.output(runner), b"unpicklable\n")
            self.assertEqual(self.output(runner), b"unpicklable\n")
        self.assertEqual(encode.call_count, 2)

    def test_reading_the_target_output_still_works(self):
        # The reuse keeps the fds to pass with the encoding: a new pipe each start.
        runner = Runner([SH, "-c", "echo again"], helper=self.helper)
        for _ in range(3):
            r, w = os.pipe()
            runner.files = [0, w, 2]
            process = runner.start()
            os.close(w)
            self.assertEqual(read_all(r), b"again\n")
            self.assertTrue(process.wait().success)


class _Unpicklable(str):
    """A string pickle refuses to write."""

    def __reduce_ex__(self, protocol):
        raise TypeError("not picklable")


if __name__ == "__main__":
    unittest.main()
