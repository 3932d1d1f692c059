"""Named seccomp policies (``seccomp="judge"``) and errors that name what failed.

The shipped programs themselves are checked against ``policies/*.json`` by forkexec-policy's
test ``shipped`` (the one compiler); here: that a name becomes that program, that an unknown
name is refused with the shipped ones listed, that the program does what the policy says in a
real sandbox, and that a failed step names its path."""

import errno
import json
import os
import unittest

from forkexec import ChildError, JsonError, Mount, Rlimit, Runner, SockFilter, Spec, mount_ops
from forkexec import policies
from forkexec.errors import subject_of

from .test_helper import HelperTest, PATH_ENV, with_ns
from .support import read_all

HERE = os.path.dirname(os.path.abspath(__file__))
POLICIES = os.path.join(os.path.dirname(HERE), "forkexec", "policies")
REPO_POLICIES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(HERE))),
                             "policies")


class Named(unittest.TestCase):
    def test_names_are_the_shipped_files(self):
        files = sorted(n[:-5] for n in os.listdir(POLICIES) if n.endswith(".json"))
        self.assertEqual(policies.names(), files)
        self.assertIn("judge", policies.names())
        # In the repository: one shipped program per policies/*.json (what each program is,
        # forkexec-policy's `shipped` test checks).
        if os.path.isdir(REPO_POLICIES):
            self.assertEqual(files, sorted(n[:-5] for n in os.listdir(REPO_POLICIES)
                                           if n.endswith(".json")))

    def test_a_name_becomes_its_program(self):
        with open(os.path.join(POLICIES, "judge.json"), encoding="utf-8") as f:
            shipped = json.load(f)
        program = [SockFilter(i["code"], i.get("jt", 0), i.get("jf", 0), i["k"])
                   for i in shipped["seccomp"]]
        self.assertEqual(policies.program("judge"), program)
        self.assertEqual(Spec(args=["/bin/true"], seccomp="judge").seccomp, program)
        self.assertEqual(Runner(args=["/bin/true"], seccomp="judge").seccomp, program)
        self.assertEqual(Spec.from_json({"args": ["x"], "seccomp": "judge"}).seccomp, program)
        # The JSON form written back is the program, which every client reads.
        self.assertEqual(Spec(args=["x"], seccomp="judge").to_dict()["seccomp"],
                         shipped["seccomp"])
        # The first instructions check the architecture (x86_64).
        self.assertEqual((program[0].code, program[0].k), (0x20, 4))
        self.assertEqual((program[1].code, program[1].k), (0x15, 0xC000003E))
        self.assertIn("online judges", policies.comment("judge"))

    def test_an_unknown_name_is_refused_naming_the_shipped_ones(self):
        with self.assertRaises(JsonError) as cm:
            Runner(args=["/bin/true"], seccomp="jugde")
        self.assertEqual(cm.exception.path, "seccomp")
        self.assertEqual(str(cm.exception),
                         "seccomp: no shipped seccomp policy 'jugde'; the shipped ones: judge")
        with self.assertRaises(ValueError):
            policies.program("../judge")


class JudgePolicyRuns(HelperTest):
    """The shipped program in a real sandbox: what the policy allows runs, what it refuses
    fails with its errno."""

    def mkdir(self, **fields):
        target = os.path.join(self.tmp, "made")
        r, w = os.pipe()
        try:
            process = Runner(args=["/bin/mkdir", target], env=PATH_ENV, files=[0, w, w],
                             no_new_privs=True, helper=self.helper, **fields).start()
        finally:
            os.close(w)
        out = read_all(r).decode()
        return process.wait().code, out, os.path.isdir(target)

    def test_without_a_policy_mkdir_works(self):
        self.assertEqual(self.mkdir(), (0, "", True))

    def test_under_judge_mkdir_is_refused_with_eperm(self):
        code, out, made = self.mkdir(seccomp="judge")
        self.assertEqual((code, made), (1, False), out)
        self.assertIn(os.strerror(errno.EPERM), out)


class Subjects(unittest.TestCase):
    """``subject_of``: what an error's index refers to, as forkexec-run names it."""

    spec = Spec(args=["/bin/prog"], work_dir="/work", host_name="box",
                mounts=[Mount.tmpfs("/tmp"), Mount.bind("/nonexistent", "/data", True),
                        mount_ops.ro_bind("/missing", "/m"), mount_ops.file_from_fd(7, "/etc/f")],
                rlimits=[Rlimit("nofile", 1, 1)])

    def line(self, location, err, index=0):
        e = ChildError(location, err, index)
        e.subject = subject_of(e, self.spec)
        return str(e)

    def test_lines(self):
        self.assertEqual(self.line(16, errno.ENOENT, 1), "mount(1) /data: no such file or directory")
        self.assertEqual(self.line(23, errno.EPERM), "setrlimit(0) nofile: operation not permitted")
        self.assertEqual(self.line(32, errno.ENOENT), "execve(0) /bin/prog: no such file or directory")
        self.assertEqual(self.line(48, errno.EXDEV, 2), "mount(path)(2) /m: invalid cross-device link")
        self.assertEqual(self.line(49, errno.ENOENT, 2),
                         "mount(source)(2) /missing: no such file or directory")
        self.assertEqual(self.line(49, errno.EBADF, 3), "mount(source)(3) fd 7: bad file descriptor")
        self.assertEqual(self.line(22, errno.ENOENT), "chdir(0) /work: no such file or directory")
        self.assertEqual(self.line(39, errno.EPERM), "sethostname(0) box: operation not permitted")
        # An index the spec does not have, or a location with nothing to name: as it was.
        self.assertEqual(self.line(16, errno.ENOENT, 9), "mount(9): no such file or directory")
        self.assertEqual(self.line(7, errno.EPERM), "setgid(0): operation not permitted")


if __name__ == "__main__":
    unittest.main()
