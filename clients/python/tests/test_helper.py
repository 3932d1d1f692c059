"""End to end through the real ``forkexec`` helper ($FORKEXEC_HELPER): what the target sees and
what the runtime gets back. Runs as root and as an ordinary user (a user namespace with a
self map stands in for root's privileges there)."""

import errno
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

from forkexec import (ChildError, HelperError, IdMap, Mount, Runner, SpecError, SyncError,
                      mount_ops, names, status)

from .support import helper_path, load_vectors, read_all, spec_md

SH = "/bin/sh"
PATH_ENV = ["PATH=/usr/bin:/bin"]
CPU_LOOP = "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"


def privileged():
    return os.geteuid() == 0


def userns():
    """A user namespace with a one-id self map (written by the helper itself in place)."""
    return dict(clone_flags=["newuser"],
                uid_mappings=[IdMap(0, os.geteuid(), 1)],
                gid_mappings=[IdMap(0, os.getegid(), 1)])


def with_ns(*flags, user=None):
    """``flags`` plus, when unprivileged (or ``user=True``), a user namespace with self maps."""
    fields = userns() if (user if user is not None else not privileged()) else {
        "clone_flags": []}
    fields["clone_flags"] = fields["clone_flags"] + list(flags)
    return fields


def children():
    """Our child pids still around (running or zombie)."""
    pids = []
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/children") as f:
                pids += [int(p) for p in f.read().split()]
        except FileNotFoundError:
            pass
    return pids


class HelperTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.helper = helper_path()
        if not os.access(cls.helper, os.X_OK):
            raise AssertionError(f"helper {cls.helper} is not executable (make helper)")

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="forkexec-py-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def tearDown(self):
        # No test may leave a process or a zombie behind.
        left = children()
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass
        self.assertEqual(left, [], "processes left behind")

    def run_sh(self, script, *args, **fields):
        """Runs ``sh -c script`` with stdout and stderr on a pipe: (process, output, status)."""
        r, w = os.pipe()
        try:
            fields.setdefault("env", PATH_ENV)
            runner = Runner(args=[SH, "-c", script, "sh", *args], files=[0, w, w],
                            helper=self.helper, **fields)
            process = runner.start()
        finally:
            os.close(w)
        out = read_all(r).decode()
        return process, out, process.wait()


class Basics(HelperTest):
    def test_true_runs_in_place(self):
        p = Runner(args=["/bin/true"], helper=self.helper).start()
        self.assertEqual(p.pid, p.target_pid)
        self.assertIsNone(p.popen, "spawned with os.posix_spawn, not subprocess")
        st = p.wait()
        self.assertTrue(st.success)
        self.assertEqual((st.code, st.signal, st.returncode), (0, None, 0))
        self.assertIs(p.wait(), st, "the status is remembered")
        with self.assertRaises(ChildProcessError, msg="reaped by wait"):
            os.waitpid(p.pid, os.WNOHANG)

    def test_a_dropped_process_is_reaped_by_the_next_start(self):
        # As subprocess does for a dropped Popen: no zombie piles up.
        p = Runner(args=["/bin/true"], helper=self.helper).start()
        pid = p.pid
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # ended, still a zombie
        del p
        self.assertIn(pid, children())
        Runner(args=["/bin/true"], helper=self.helper).start().wait()
        self.assertNotIn(pid, children(), "the dropped helper was reaped")

    def test_the_helper_gets_our_environment(self):
        # As subprocess would give it: a helper behind a wrapper script (a debugger, strace)
        # sees this process's environment, changes made through os.environ included.
        seen = os.path.join(self.tmp, "seen")
        wrapper = os.path.join(self.tmp, "wrapper")
        with open(wrapper, "w") as f:
            f.write(f'#!/bin/sh\nprintf %s "$FORKEXEC_WRAPPER_TEST" > {seen}\n'
                    f'exec {self.helper} "$@"\n')
        os.chmod(wrapper, 0o755)
        os.environ["FORKEXEC_WRAPPER_TEST"] = "from os.environ"
        try:
            st = Runner(args=["/bin/true"], helper=wrapper).start().wait()
        finally:
            del os.environ["FORKEXEC_WRAPPER_TEST"]
        self.assertTrue(st.success, st)
        with open(seen) as f:
            self.assertEqual(f.read(), "from os.environ")

    def test_helper_env_is_the_environment_the_helper_gets(self):
        # Given, helper_env is the whole environment of the helper (a wrapper script here),
        # through start and through run; the target's is still the spec's env.
        seen = os.path.join(self.tmp, "seen")
        wrapper = os.path.join(self.tmp, "wrapper")
        with open(wrapper, "w") as f:
            f.write(f'#!/bin/sh\nenv >> {seen}\nexec {self.helper} "$@"\n')
        os.chmod(wrapper, 0o755)
        r, w = os.pipe()
        given = {"FORKEXEC_WRAPPER_TEST": "given"}
        try:
            for how in ("start", "run"):
                runner = Runner(args=["/usr/bin/env"], env=["TARGET=1"], files=[0, w, 2],
                                helper=wrapper, helper_env=given)
                st = runner.start().wait() if how == "start" else runner.run()
                self.assertTrue(st.success, (how, st))
        finally:
            os.close(w)
        self.assertEqual(read_all(r).decode(), "TARGET=1\n" * 2)
        with open(seen) as f:
            lines = [line for line in f.read().splitlines() if line != "PWD=" + os.getcwd()]
        # sh adds PWD (and nothing else: no PATH from ours)
        self.assertEqual(lines, ["FORKEXEC_WRAPPER_TEST=given"] * 2)

    def test_the_helper_binary_gets_an_empty_environment(self):
        # By default an ELF helper (it reads nothing from its environment) is spawned with
        # none, through start and through run; a script with ours (the test above).
        spawned = []
        real = os.posix_spawn

        def spy(path, argv, env, **kwargs):
            spawned.append((path, dict(env)))
            return real(path, argv, env, **kwargs)

        os.environ["FORKEXEC_WRAPPER_TEST"] = "not for the helper"
        try:
            with mock.patch.object(os, "posix_spawn", spy):
                self.assertTrue(Runner(args=["/bin/true"], helper=self.helper).start()
                                .wait().success)
                self.assertTrue(Runner(args=["/bin/true"], helper=self.helper).run().success)
        finally:
            del os.environ["FORKEXEC_WRAPPER_TEST"]
        self.assertEqual(spawned, [(self.helper, {})] * 2)

    def test_the_spawn_resets_sigpipe_and_the_signal_mask(self):
        # Python ignores SIGPIPE and SIGXFSZ; this thread blocks SIGUSR1 here. The target
        # starts with both at their default action and an empty mask (os.posix_spawn's
        # setsigdef and setsigmask, as subprocess's restore_signals).
        # grep itself, not through sh: dash empties its signal mask when it starts.
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
        r, w = os.pipe()
        try:
            p = Runner(args=["/bin/grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"],
                       files=[0, w, w], helper=self.helper).start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
            os.close(w)
        out = read_all(r).decode()
        st = p.wait()
        self.assertEqual(st.code, 0, out)
        fields = dict(line.split(":\t") for line in out.splitlines())
        self.assertEqual(int(fields["SigBlk"], 16), 0, out)
        ignored = int(fields["SigIgn"], 16)
        for sig in (signal.SIGPIPE, signal.SIGXFSZ):
            self.assertEqual(ignored & (1 << (sig - 1)), 0, f"{sig!r} ignored: {out}")

    def test_args_and_env_are_exact(self):
        args = ["one", "two words", "", "*", "tab\there", "caf\u00e9"]
        _, out, st = self.run_sh('for a in "$0" "$@"; do printf "[%s]\\n" "$a"; done',
                                 *args, env=["A=1", "B=two words", "EMPTY="])
        self.assertEqual(st.code, 0, out)
        self.assertEqual(out, "".join(f"[{a}]\n" for a in ["sh"] + args))
        # the environment, exactly as given (env prints it, nothing added)
        r, w = os.pipe()
        env = ["A=1", "B=two words", "EMPTY=", "Z=\u00e9"]
        p = Runner(args=["/usr/bin/env"], env=env, files=[0, w, 2], helper=self.helper).start()
        os.close(w)
        self.assertEqual(read_all(r).decode().splitlines(), env)
        self.assertEqual(p.wait().code, 0)

    def test_empty_env_and_exec_path(self):
        # exec_path runs a file other than args[0]; no env = an empty environment
        r, w = os.pipe()
        p = Runner(args=["custom-argv0"], exec_path="/usr/bin/env", files=[0, w, 2],
                   helper=self.helper).start()
        os.close(w)
        self.assertEqual(read_all(r), b"")
        self.assertEqual(p.wait().code, 0)
        r, w = os.pipe()
        p = Runner(args=["custom-argv0", "-c", 'echo "$0"'], exec_path=SH, files=[0, w, 2],
                   helper=self.helper).start()
        os.close(w)
        self.assertEqual(read_all(r), b"custom-argv0\n")
        self.assertEqual(p.wait().code, 0)

    def test_exit_code_signal_and_rusage(self):
        _, _, st = self.run_sh("exit 42")
        self.assertEqual((st.code, st.signal, st.returncode), (42, None, 42))
        _, _, st = self.run_sh("kill -TERM $$")
        self.assertEqual((st.code, st.signal, st.returncode), (None, signal.SIGTERM, -15))
        _, _, st = self.run_sh(CPU_LOOP)
        status_, rusage = st  # unpacks as (status, rusage)
        self.assertEqual(status_, 0)
        self.assertGreater(rusage.user_time + rusage.system_time, 0)
        self.assertGreater(rusage.max_rss_kib, 0)

    def test_files_close_everything_else(self):
        # an inheritable fd of ours that is not in files does not reach the target
        extra_r, extra_w = os.pipe()
        os.set_inheritable(extra_w, True)
        try:
            _, out, st = self.run_sh("ls /proc/self/fd")
        finally:
            os.close(extra_r)
            os.close(extra_w)
        self.assertEqual(st.code, 0, out)
        # 0, 1, 2 and the fd ls opens to read the directory
        self.assertLessEqual(set(out.split()), {"0", "1", "2", "3"}, out)


class Errors(HelperTest):
    def test_missing_program_is_execve_enoent_exit_127(self):
        with self.assertRaises(ChildError) as cm:
            Runner(args=[os.path.join(self.tmp, "missing")], helper=self.helper).start()
        e = cm.exception
        self.assertEqual((e.location, e.location_name, e.errno, e.index), (32, "execve",
                                                                           errno.ENOENT, 0))
        missing = os.path.join(self.tmp, "missing")
        self.assertEqual(e.subject, missing)
        self.assertEqual(str(e), f"execve(0) {missing}: no such file or directory")
        self.assertEqual(e.exit_code, 127)

    def test_not_executable_is_exit_126(self):
        path = os.path.join(self.tmp, "data")
        with open(path, "w") as f:
            f.write("not a program\n")
        os.chmod(path, 0o644)
        with self.assertRaises(ChildError) as cm:
            Runner(args=[path], helper=self.helper).start()
        self.assertEqual((cm.exception.location_name, cm.exception.errno), ("execve",
                                                                           errno.EACCES))
        self.assertEqual(str(cm.exception), f"execve(0) {path}: permission denied")
        self.assertEqual(cm.exception.exit_code, 126)

    def test_missing_bind_source_is_mount_0_enoent(self):
        target = os.path.join(self.tmp, "target")
        os.mkdir(target)
        missing = os.path.join(self.tmp, "no-such-source")
        with self.assertRaises(ChildError) as cm:
            Runner(args=["/bin/true"], helper=self.helper, **with_ns("newns"),
                   mounts=[Mount(source=missing, target=target, flags=["bind"],
                                 mkdir=False)]).start()
        e = cm.exception
        self.assertEqual((e.location, e.location_name, e.errno, e.index),
                         (16, "mount", errno.ENOENT, 0))
        self.assertEqual(str(e), f"mount(0) {target}: no such file or directory")
        self.assertEqual(e.exit_code, 125)

    def test_error_index_names_the_mount(self):
        root = os.path.join(self.tmp, "root")
        os.mkdir(root)
        mounts = [Mount.tmpfs("tmp"), Mount(source=os.path.join(self.tmp, "nope"),
                                            target="x", flags=["bind"])]
        with self.assertRaises(ChildError) as cm:
            Runner(args=["/bin/true"], helper=self.helper, pivot_root=root,
                   **with_ns("newns", user=True), mounts=mounts).start()
        self.assertEqual(str(cm.exception), "mount(1) x: no such file or directory")

    def test_malformed_vectors_are_refused_by_the_helper(self):
        """Each malformed vector, sent to the real helper as it is: an error record with
        location 34 (spec), the fault's errno, the offset and the fault, then exit 125."""
        checked = 0
        for v in load_vectors():
            if v.expect != "error":
                continue
            total = v.declared_length
            if total is not None and len(v.data) > total and v.data[:4] == b"FXSP":
                # trailing bytes: a stream reader reads exactly the total length, so the
                # helper sees a valid spec (the decoder of a whole buffer refuses it)
                continue
            with self.subTest(v.name):
                ours, theirs = socket.socketpair()
                helper = subprocess.Popen([self.helper, "--spec-fd", str(theirs.fileno())],
                                          pass_fds=[theirs.fileno()])
                theirs.close()
                try:
                    ours.sendall(v.data)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                ours.shutdown(socket.SHUT_WR)  # a truncated spec ends here
                data = b""
                while True:
                    try:
                        chunk = ours.recv(4096)
                    except ConnectionResetError:
                        break
                    if not chunk:
                        break
                    data += chunk
                ours.close()
                self.assertEqual(helper.wait(), 125)
                self.assertEqual(len(data), 32, data.hex())
                rec = status.decode_record(data)
                self.assertEqual(rec, status.ErrorRecord(
                    names.LOC_SPEC, int(v.meta["errno"].split()[0]), v.offset, v.fault))
                e = ChildError.from_record(rec)
                self.assertTrue(str(e).startswith(f"spec(offset {v.offset}): "), str(e))
                self.assertEqual(e.fault_name, v.fault_name)
                checked += 1
        self.assertGreaterEqual(checked, 9)

    def test_spec_error_before_spawning(self):
        # helper= a path that does not exist: a SpecError proves nothing was spawned
        with self.assertRaises(SpecError) as cm:
            Runner(args=["/bin/true"], mounts=[Mount(target="t")],
                   helper="/nonexistent/forkexec").start()
        self.assertEqual((cm.exception.fault_name, cm.exception.record),
                         ("Conflict", "mounts[0]"))
        with self.assertRaises(SpecError) as cm:
            Runner(args=["/bin/true"], clone_flags=["newpid"], ptrace=True,
                   helper="/nonexistent/forkexec").start()
        self.assertEqual((cm.exception.fault_name, cm.exception.record), ("Conflict", "options"))
        with self.assertRaises(SpecError) as cm:
            Runner(args=["/bin/true", "a\0b"], helper="/nonexistent/forkexec").start()
        self.assertEqual(cm.exception.field, "args[1]")

    def test_helper_errors(self):
        with self.assertRaises(HelperError) as cm:
            Runner(args=["/bin/true"], helper="/nonexistent/forkexec").start()
        self.assertIn("cannot run /nonexistent/forkexec", str(cm.exception))
        with self.assertRaises(HelperError) as cm:
            Runner(args=["/bin/true"], files=[0, 1, 987], helper=self.helper).start()
        self.assertIn("files[2] (fd 987)", str(cm.exception))
        with self.assertRaises(HelperError):
            Runner(args=["/bin/true"], status_fd=1, sync_func=lambda pid: None,
                   helper=self.helper).start()


class Sync(HelperTest):
    def test_callback_gets_the_pid_before_exec(self):
        seen = []

        def sync(pid):
            # still the helper: the target has not been executed yet. The helper is
            # non-dumpable until then, so only root may follow its exe link (docs/chain.md).
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().rstrip("\n")
            try:
                exe = os.readlink(f"/proc/{pid}/exe")
            except PermissionError:
                exe = None
            seen.append((pid, comm, exe))

        p = Runner(args=["/bin/true"], sync_func=sync, helper=self.helper).start()
        self.assertEqual(p.wait().code, 0)
        self.assertEqual(len(seen), 1)
        pid, comm, exe = seen[0]
        self.assertEqual(pid, p.pid)
        self.assertEqual(comm, os.path.basename(self.helper)[:15])
        if os.geteuid() == 0:
            self.assertEqual(exe, os.path.realpath(self.helper))
        else:
            self.assertIsNone(exe, "an unprivileged runtime followed the exe link")

    def test_raising_callback_aborts_and_nothing_runs(self):
        marker = os.path.join(self.tmp, "ran")

        class Refused(Exception):
            pass

        def sync(pid):
            raise Refused(f"no, not {pid}")

        with self.assertRaises(SyncError) as cm:
            Runner(args=[SH, "-c", f"echo ran > {marker}"], sync_func=sync,
                   helper=self.helper).start()
        e = cm.exception
        self.assertIsInstance(e.__cause__, Refused)
        self.assertTrue(str(e).startswith("sync callback refused: no, not "), str(e))
        child = e.child_error
        self.assertEqual((child.location, child.location_name, child.errno),
                         (names.LOC_SYNC_READ, "sync_read", errno.ECANCELED))
        self.assertEqual(str(child), "sync_read(0): operation canceled")
        self.assertEqual(child.exit_code, 125)
        self.assertFalse(os.path.exists(marker), "the target ran")

    def test_clone_shape_callback_gets_the_runtime_visible_pid(self):
        seen = []

        def sync(pid):
            with open(f"/proc/{pid}/status") as f:
                nspid = [l for l in f if l.startswith("NSpid:")][0].split()[1:]
            seen.append((pid, nspid))

        p, out, st = self.run_sh("echo $$", sync_func=sync, **with_ns("newpid"))
        self.assertEqual((out, st.code), ("1\n", 0))
        pid, nspid = seen[0]
        self.assertEqual(pid, p.target_pid)
        self.assertNotEqual(p.target_pid, p.pid)
        self.assertEqual(nspid, [str(pid), "1"], "pid 1 inside, the runtime's pid outside")

    def test_clone_shape_abort(self):
        marker = os.path.join(self.tmp, "ran")

        def sync(pid):
            raise RuntimeError("abort")

        with self.assertRaises(SyncError) as cm:
            Runner(args=[SH, "-c", f"echo ran > {marker}"], sync_func=sync,
                   helper=self.helper, **with_ns("newpid")).start()
        self.assertEqual(cm.exception.child_error.location_name, "sync_read")
        self.assertFalse(os.path.exists(marker))


class Namespaces(HelperTest):
    def test_loopback_up_only_when_asked(self):
        # ::1 is on lo once it is up (the kernel adds it, and 127.0.0.1/8); down by default
        script = "cat /proc/net/if_inet6"
        p, out, st = self.run_sh(script, **with_ns("newnet"), loopback=True)
        lo = ["0" * 31 + "1", "01", "80", "10", "80", "lo"]
        self.assertEqual((st.code, out.split()), (0, lo))
        p, out, st = self.run_sh(script, **with_ns("newnet"))
        self.assertEqual((st.code, out), (0, ""))

    def test_user_mount_uts_sandbox_with_pivot_root(self):
        root = os.path.join(self.tmp, "root")
        os.mkdir(root)
        binds = [d for d in ("/usr", "/bin", "/lib", "/lib64") if os.path.exists(d)]
        script = ("uname -n; "
                  "if touch /usr/.forkexec-test 2>&-; then echo usr-rw; "
                  "else echo usr-ro; fi; "
                  "if mkdir /new 2>&-; then echo root-rw; else echo root-ro; fi; "
                  "cat /proc/self/uid_map 2>&- || echo no-proc; ls -a /; pwd")
        p, out, st = self.run_sh(
            script, **with_ns("newns", "newuts", user=True), pivot_root=root,
            host_name="fxbox", work_dir="/usr",
            mounts=[Mount.bind(d, d, read_only=True) for d in binds])
        self.assertEqual(st.code, 0, out)
        lines = out.splitlines()
        self.assertEqual(lines[:4], ["fxbox", "usr-ro", "root-ro", "no-proc"], out)
        listing = set(lines[4:-1])
        self.assertEqual(listing, {".", ".."} | {d.lstrip("/") for d in binds}, out)
        self.assertEqual(lines[-1], "/usr")
        self.assertEqual(p.pid, p.target_pid, "exec in place")
        # the host keeps its name, and nothing was written into the new root's source dir
        self.assertNotEqual(socket.gethostname(), "fxbox")
        self.assertEqual(os.listdir(root), [])

    def test_newpid_target_is_pid_1_and_wait_gives_its_exit_code(self):
        p, out, st = self.run_sh("echo $$; " + CPU_LOOP + "; exit 9", **with_ns("newpid"))
        self.assertEqual(out, "1\n")
        self.assertEqual(st.code, 9)
        self.assertNotEqual(p.pid, p.target_pid)
        # the exit record's rusage is the target's own
        self.assertGreater(st.rusage.user_time + st.rusage.system_time, 0)
        self.assertGreater(st.rusage.max_rss_kib, 0)

    def test_supervised_target_killed_by_a_signal(self):
        r, w = os.pipe()
        p = Runner(args=[SH, "-c", "echo up; exec sleep 30"], env=PATH_ENV, files=[0, w, 2],
                   helper=self.helper, **with_ns("newpid")).start()
        os.close(w)
        with os.fdopen(r, "rb") as f:
            self.assertEqual(f.readline(), b"up\n")
            p.kill()
            st = p.wait()
        self.assertEqual((st.code, st.signal), (None, signal.SIGKILL))
        self.assertEqual(st.returncode, -9)

    def test_init_shape_target_is_pid_2(self):
        p, out, st = self.run_sh("echo $$; exit 5", init=True, **with_ns("newpid"))
        self.assertEqual((out, st.code), ("2\n", 5))

    def test_detach_shape_target_is_our_child(self):
        p, out, st = self.run_sh("echo $$; exit 4", detach=True, **with_ns("newpid"))
        self.assertEqual((out, st.code), ("1\n", 4))
        self.assertEqual(p.pid, p.target_pid)
        self.assertIsNone(p.popen)

    def test_detach_shape_error(self):
        with self.assertRaises(ChildError) as cm:
            Runner(args=[os.path.join(self.tmp, "missing")], detach=True, helper=self.helper,
                   **with_ns("newpid")).start()
        self.assertEqual(str(cm.exception),
                         f"execve(0) {self.tmp}/missing: no such file or directory")
        self.assertEqual(cm.exception.exit_code, 127)

    def test_outer_maps_need_the_clone_shape(self):
        # a map onto an id that is not ours (or more than one id) is written from outside
        if privileged():
            maps = dict(uid_mappings=[IdMap(0, 0, 1), IdMap(1, 100000, 10)],
                        gid_mappings=[IdMap(0, 0, 1), IdMap(1, 100000, 10)])
            p, out, st = self.run_sh("cat /proc/self/uid_map", clone_flags=["newuser"], **maps)
            self.assertEqual(out.split(), ["0", "0", "1", "1", "100000", "10"])
            self.assertNotEqual(p.pid, p.target_pid)
        else:
            with self.assertRaises(ChildError) as cm:
                Runner(args=["/bin/true"], clone_flags=["newuser"], helper=self.helper,
                       uid_mappings=[IdMap(0, 0, 1)]).start()
            self.assertEqual(cm.exception.location_name, "write_uid_map")

    def test_disable_userns(self):
        # the program can create a user namespace, unless disable_userns (ENOSPC)
        script = "unshare -U true 2>/dev/null; echo rc=$?"
        for disable, rc in ((False, "rc=0"), (True, "rc=1")):
            p, out, st = self.run_sh(script, disable_userns=disable, **userns())
            self.assertEqual((out.strip(), st.code), (rc, 0), f"disable_userns={disable}")
        # it needs a new user namespace: refused before spawning
        with self.assertRaises(SpecError) as cm:
            Runner(args=["/bin/true"], disable_userns=True,
                   helper="/nonexistent/forkexec").start()
        self.assertEqual((cm.exception.fault_name, cm.exception.record), ("Conflict", "options"))
        # the check fails a start where a user namespace can be created, and passes with it
        with self.assertRaises(ChildError) as cm:
            Runner(args=["/bin/true"], assert_userns_disabled=True, helper=self.helper).start()
        self.assertEqual((cm.exception.location_name, cm.exception.errno),
                         ("assert_userns_disabled", 0))
        p, out, st = self.run_sh("echo ran", disable_userns=True, assert_userns_disabled=True,
                                 **userns())
        self.assertEqual((out, st.code), ("ran\n", 0))


def system_ops():
    """Mount operations that make the host's programs work inside a new root: read-only binds
    of /usr, /bin, /lib…, or symlinks where the host has them (``/bin -> usr/bin``)."""
    ops = []
    for d in ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32"):
        if os.path.islink(d):
            ops.append(mount_ops.symlink(os.readlink(d), d))
        elif os.path.isdir(d):
            ops.append(mount_ops.ro_bind(d))
    return ops


class MountOps(HelperTest):
    """Mount operations (MOUNT_OP) in a new root, as root and unprivileged (a user namespace
    with self maps)."""

    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmp, "root")
        os.mkdir(self.root)

    def sandbox(self, script, mounts, *flags, **fields):
        """``sh -c script`` in a new root made of ``mounts``: (process, output, status)."""
        return self.run_sh(script, **with_ns("newns", *flags, user=True), pivot_root=self.root,
                           mounts=system_ops() + mounts, **fields)

    def test_ro_bind_tmpfs_dir_symlink_file(self):
        data = os.path.join(self.tmp, "data")
        os.mkdir(data)
        with open(os.path.join(data, "hello"), "w") as f:
            f.write("hello from the host\n")
        script = (
            "if echo x > /data/new; then echo data-rw; fi; "  # the error text goes to stderr
            "cat /data/hello; "
            "stat -c '%a' /scratch /work /etc/hostname; "
            "echo ok > /scratch/f && cat /scratch/f; "
            "readlink /link; cat /link; cat /etc/hostname; "
            "if mkdir /new 2>&-; then echo root-rw; else echo root-ro; fi")
        _, out, st = self.sandbox(script, [
            mount_ops.ro_bind(data, "/data"),
            mount_ops.tmpfs("/scratch", size="1m", mode=0o1777),
            mount_ops.dir("/work", mode=0o700),
            mount_ops.symlink("/data/hello", "/link"),
            mount_ops.file("/etc/hostname", "box\n", mode=0o640),
        ])
        self.assertEqual(st.code, 0, out)
        self.assertIn("Read-only file system", out)
        self.assertNotIn("data-rw", out)
        lines = [l for l in out.splitlines() if "Read-only" not in l]
        self.assertEqual(lines, ["hello from the host", "1777", "700", "640", "ok",
                                 "/data/hello", "hello from the host", "box", "root-ro"], out)
        self.assertEqual(os.listdir(data), ["hello"], "the host directory was written")
        self.assertEqual(os.listdir(self.root), [])

    def test_overlays(self):
        """overlay (writes to upper), tmp_overlay (writes gone with the sandbox) and
        ro_overlay (EROFS); the topmost lower directory wins; the lower ones never change."""
        dirs = {}
        for d in ("lower1", "lower2", "upper", "work"):
            dirs[d] = os.path.join(self.tmp, d)
            os.mkdir(dirs[d])
        for d, name, text in (("lower1", "a", "1"), ("lower1", "b", "2"), ("lower2", "b", "3"),
                              ("upper", "a", "4")):
            with open(os.path.join(dirs[d], name), "w") as f:
                f.write(text)
        lower = [dirs["lower2"], dirs["lower1"]]  # topmost first
        script = ("cat /o/a /o/b /t/a /t/b /r/a /r/b; echo; "
                  "printf 5 > /o/b; printf 6 > /t/b; "
                  "if printf 7 2>&- > /r/b; then echo r-rw; else echo r-ro; fi; cat /o/b /t/b")
        _, out, st = self.sandbox(script, [
            mount_ops.overlay(lower, dirs["upper"], dirs["work"], "/o"),
            mount_ops.tmp_overlay(lower, "/t"),
            mount_ops.ro_overlay(lower, "/r"),
        ])
        self.assertEqual(st.code, 0, out)
        self.assertEqual(out, "431313\nr-ro\n56", out)
        with open(os.path.join(dirs["upper"], "b")) as f:
            self.assertEqual(f.read(), "5")
        for d, want in (("lower1", "2"), ("lower2", "3")):
            with open(os.path.join(dirs[d], "b")) as f:
                self.assertEqual(f.read(), want, d)

    def test_a_missing_lower_directory_is_refused_with_its_index(self):
        with self.assertRaises(ChildError) as cm:
            self.sandbox("true", [mount_ops.tmp_overlay([os.path.join(self.tmp, "none")], "/t")])
        self.assertEqual((cm.exception.location_name, cm.exception.errno, cm.exception.index),
                         ("mount(source)", errno.ENOENT, len(system_ops())))

    def test_writable_root(self):
        _, out, st = self.sandbox("mkdir /new && echo root-rw", [], writable_root=True)
        self.assertEqual((out, st.code), ("root-rw\n", 0))

    def test_fds_bind_and_file_content(self):
        src = os.path.join(self.tmp, "src")
        os.mkdir(src)
        with open(os.path.join(src, "in-dir"), "w") as f:
            f.write("via the fd\n")
        dir_fd = os.open(src, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        self.addCleanup(os.close, dir_fd)
        content = tempfile.TemporaryFile()
        self.addCleanup(content.close)
        content.write(b"line 1\n\0binary\n")
        content.seek(0)
        _, out, st = self.sandbox(
            "cat /fdbind/in-dir; od -An -c /input; stat -c '%a' /input",
            [mount_ops.bind_fd(dir_fd, "/fdbind", read_only=True),
             mount_ops.file_from_fd(content.fileno(), "/input", mode=0o600)])
        self.assertEqual(st.code, 0, out)
        lines = out.splitlines()
        self.assertEqual(lines[0], "via the fd")
        self.assertEqual(" ".join(" ".join(lines[1:-1]).split()),
                         "l i n e 1 \\n \\0 b i n a r y \\n")
        self.assertEqual(lines[-1], "600")

    def test_remount_ro_and_mask(self):
        rw = os.path.join(self.tmp, "rw")
        os.makedirs(os.path.join(rw, "secret"))
        with open(os.path.join(rw, "secret", "key"), "w") as f:
            f.write("k")
        with open(os.path.join(rw, "token"), "w") as f:
            f.write("t")
        script = ("if touch /rw/new 2>&-; then echo rw; else echo ro; fi; "
                  "ls -A /rw/secret | wc -l; wc -c < /rw/token; "
                  "if { echo x > /rw/token; } 2>&-; then echo token-rw; else echo token-ro; fi")
        _, out, st = self.sandbox(script, [
            mount_ops.bind(rw, "/rw"), mount_ops.mask("/rw/secret"), mount_ops.mask("/rw/token"),
            mount_ops.mask("/rw/missing", optional=True), mount_ops.remount_ro("/rw")])
        self.assertEqual(st.code, 0, out)
        self.assertEqual(out.split(), ["ro", "0", "0", "token-ro"])
        self.assertEqual(sorted(os.listdir(rw)), ["secret", "token"])

    def test_proc_dev_mqueue(self):
        script = ("echo $$; ls /dev | sort | tr '\\n' ' '; echo; echo hi > /dev/null && "
                  "head -c 3 /dev/zero | od -An -tx1; readlink /dev/stdout /dev/ptmx; "
                  "stat -c '%a' /dev/shm; test -d /dev/mqueue && echo mqueue")
        _, out, st = self.sandbox(script, [mount_ops.proc(), mount_ops.dev(),
                                           mount_ops.mqueue()], "newpid", "newipc")
        self.assertEqual(st.code, 0, out)
        lines = out.splitlines()
        self.assertEqual(lines[0], "1")
        self.assertLessEqual({"null", "zero", "full", "random", "urandom", "tty", "pts", "ptmx",
                              "shm", "fd", "stdin", "stdout", "stderr", "mqueue"},
                             set(lines[1].split()), out)
        self.assertEqual(lines[2].split(), ["00", "00", "00"])
        self.assertEqual(lines[3:5], ["/proc/self/fd/1", "pts/ptmx"])
        self.assertEqual(lines[5:], ["1777", "mqueue"])

    def test_missing_bind_source_is_mount_source_enoent(self):
        missing = os.path.join(self.tmp, "no-such-source")
        ops = system_ops()
        mounts = ops + [mount_ops.tmpfs("/t"), mount_ops.bind(missing, "/x")]
        r, w = os.pipe()
        try:
            with self.assertRaises(ChildError) as cm:
                Runner(args=[SH, "-c", "echo ran"], env=PATH_ENV, files=[0, w, w],
                       helper=self.helper, **with_ns("newns", user=True), pivot_root=self.root,
                       mounts=mounts).start()
        finally:
            os.close(w)
        self.assertEqual(read_all(r), b"", "the target ran")
        e = cm.exception
        self.assertEqual((e.location, e.location_name, e.errno, e.index),
                         (49, "mount(source)", errno.ENOENT, len(ops) + 1))
        # The path that is missing, named (not just the mount's index).
        self.assertEqual(str(e),
                         f"mount(source)({len(ops) + 1}) {missing}: no such file or directory")
        self.assertEqual(e.exit_code, 125)
        # optional: skipped
        _, out, st = self.sandbox("test -e /x && echo x-exists || echo no-x",
                                  [mount_ops.bind(missing, "/x", optional=True)])
        self.assertEqual((out, st.code), ("no-x\n", 0))

    def test_escaping_target_is_mount_path_exdev(self):
        ops = system_ops()
        with self.assertRaises(ChildError) as cm:
            Runner(args=["/bin/true"], helper=self.helper, **with_ns("newns", user=True),
                   pivot_root=self.root,
                   mounts=ops + [mount_ops.dir("/ok"), mount_ops.tmpfs("/../x")]).start()
        e = cm.exception
        self.assertEqual((e.location, e.location_name, e.errno, e.index),
                         (48, "mount(path)", errno.EXDEV, len(ops) + 1))
        self.assertEqual(e.exit_code, 125)
        self.assertEqual(os.listdir(self.root), [])


class Example(HelperTest):
    def test_demo_runs(self):
        demo = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "examples", "demo.py")
        env = dict(os.environ, FORKEXEC_HELPER=self.helper)
        result = subprocess.run([sys.executable, demo], env=env, capture_output=True,
                                text=True, timeout=60, check=False)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("hostname:  forkexec-demo", result.stdout)
        self.assertIn("pid:       1 ", result.stdout)
        self.assertIn("write /usr: Read-only file system", result.stdout)
        self.assertIn("exit status: 3", result.stdout)
        self.assertIn("a missing program: execve(0) /no/such/program: no such file or directory",
                      result.stdout)
        self.assertEqual(result.stderr, "")


    def test_readme_example_runs(self):
        package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        with open(os.path.join(package, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        example = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
        # docs/python.md shows the same example
        docs = spec_md()
        if docs is not None:
            python_md = os.path.join(os.path.dirname(docs), "python.md")
            if os.path.exists(python_md):
                with open(python_md, encoding="utf-8") as f:
                    self.assertIn(example, f.read())
        env = dict(os.environ, FORKEXEC_HELPER=self.helper, PYTHONPATH=package)
        result = subprocess.run([sys.executable, "-c", example], env=env, capture_output=True,
                                text=True, timeout=60, check=False, cwd=self.tmp)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        lines = result.stdout.splitlines()
        self.assertRegex(lines[0], r"^about to exec, pid \d+$")
        self.assertEqual(lines[1], "pid 1 on box")
        self.assertTrue(lines[2].startswith("exit status: 3 Rusage(user_time="), lines[2])
        self.assertEqual(lines[3],
                         "execve(0) /no/such/program: no such file or directory execve 2 127")


class StopBeforeExec(HelperTest):
    def test_start_returns_early_and_finish_start_reads_the_rest(self):
        p = Runner(args=["/bin/true"], stop_before_seccomp=True, helper=self.helper).start()
        self.assertTrue(p.start_pending)
        pid, st = os.waitpid(p.pid, os.WUNTRACED)
        self.assertTrue(os.WIFSTOPPED(st))
        self.assertEqual(os.WSTOPSIG(st), signal.SIGSTOP)
        os.kill(p.pid, signal.SIGCONT)
        p.finish_start()
        self.assertFalse(p.start_pending)
        self.assertEqual(p.wait().code, 0)


if __name__ == "__main__":
    unittest.main()


class SafeDefaults(HelperTest):
    """``Runner.safe``: no capability, no_new_privs and a new session keyring, where
    ``Runner(...)`` keeps go-sandbox's zero values (as uid 0: root, or root of a user
    namespace for an ordinary user, so that there is something to drop)."""

    STATUS = "grep -E '^(CapEff|NoNewPrivs):' /proc/self/status; cat /proc/self/stat >/dev/null"

    def status_of(self, make):
        r, w = os.pipe()
        try:
            fields = userns() if not privileged() else {}
            runner = make(args=[SH, "-c", self.STATUS], files=[0, w, w], env=PATH_ENV,
                          helper=self.helper, **fields)
            process = runner.start()
        finally:
            os.close(w)
        out = read_all(r).decode()
        self.assertTrue(process.wait().success, out)
        return dict(line.split(":\t") for line in out.splitlines())

    def test_safe_drops_capabilities_and_sets_no_new_privs(self):
        safe = self.status_of(Runner.safe)
        self.assertEqual(safe, {"CapEff": "0000000000000000", "NoNewPrivs": "1"})
        plain = self.status_of(Runner)
        self.assertNotEqual(plain["CapEff"], "0000000000000000", plain)
        self.assertEqual(plain["NoNewPrivs"], "0")

    def test_safe_keeps_each_default_overridable_and_sets_the_keyring(self):
        runner = Runner.safe(["/bin/true"], drop_caps=False)
        self.assertFalse(runner.drop_caps)
        self.assertTrue(runner.no_new_privs)
        self.assertTrue(runner.new_session_keyring)
        self.assertEqual(runner.spec.option_bits() & names.OPTION_BITS["new_session_keyring"],
                         0x2000)
