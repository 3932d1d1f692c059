"""The JSON form: keys, defaults, names for flags and resources, and the errors, which name
the key path (as the Rust client's ``Spec::from_json`` does)."""

import json
import unittest

from forkexec import (RLIM_INFINITY, Credential, IdMap, JsonError, Mount, Rlimit, Runner,
                      SockFilter, Spec, names)

EVERY_KEY = """{
    "args": ["/bin/prog", "-x"],
    "env": ["PATH=/bin", "LANG=C"],
    "exec_path": "/usr/bin/prog",
    "exec_file": 5,
    "rlimits": [{"resource": "cpu", "cur": 1, "max": 2},
                {"resource": "as", "cur": 1073741824, "max": "infinity"}],
    "files": [0, -1, 2],
    "work_dir": "/w",
    "seccomp": [{"code": 6, "k": 2147418112}, {"code": 21, "jt": 0, "jf": 1, "k": 59}],
    "clone_flags": ["newns", "newuser", "newuts"],
    "mounts": [
        {"source": "/usr", "target": "usr", "fstype": "", "flags": ["bind", "rdonly"],
         "data": ""},
        {"source": "tmpfs", "target": "tmp", "fstype": "tmpfs",
         "flags": ["nosuid", "noatime", "nodev"], "data": "size=1m", "mkdir": false},
        {"source": "/etc/hosts", "target": "etc/hosts", "flags": ["bind"], "file": true},
        {"type": "bind", "source": "/srv", "target": "/srv", "readonly": true},
        {"type": "tmpfs", "target": "/tmp", "size": "1m", "mode": "1777"}
    ],
    "pivot_root": "/tmp/root",
    "host_name": "box",
    "domain_name": "example",
    "uid_mappings": [{"container_id": 0, "host_id": 1000, "size": 1}],
    "gid_mappings": [{"container_id": 0, "host_id": 1000, "size": 1}],
    "credential": {"uid": 1, "gid": 2, "groups": [3, 4], "no_set_groups": true},
    "sync": true, "ptrace": true, "no_new_privs": true, "stop_before_seccomp": true,
    "gid_mappings_enable_setgroups": true, "drop_caps": true,
    "unshare_cgroup_after_sync": true, "ctty": true, "setsid": false,
    "status_fd": 9, "detach": true, "init": true, "die_with_parent": true,
    "writable_root": true,
    "cgroup": "/sys/fs/cgroup/box", "cgroup_fd": 7
}"""


def json_error(doc):
    try:
        Spec.from_json(doc)
    except JsonError as e:
        return e
    raise AssertionError(f"accepted: {doc}")


class Keys(unittest.TestCase):
    def test_every_documented_key_is_accepted(self):
        spec = Spec.from_json(EVERY_KEY)
        self.assertEqual(spec.exec_file, 5)
        self.assertEqual(spec.rlimits[1], Rlimit("as", 1073741824, RLIM_INFINITY))
        self.assertEqual(spec.seccomp[1], SockFilter(21, 0, 1, 59))
        self.assertEqual(spec.mounts[1].mkdir, False)
        self.assertEqual(spec.mounts[0].mkdir, True)
        self.assertEqual(spec.mounts[2].file, True)
        self.assertEqual(spec.credential, Credential(1, 2, [3, 4], True))
        self.assertFalse(spec.setsid)
        self.assertEqual(spec.cgroup_fd, 7)
        self.assertEqual(spec.mounts[4].size, 1 << 20)
        self.assertTrue(spec.writable_root)
        # and back: the same spec, defaults left out
        self.assertEqual(Spec.from_json(spec.to_json()), spec)
        self.assertEqual(Spec.from_json(spec.to_json(indent=2)), spec)

    def test_defaults(self):
        spec = Spec.from_json("{}")
        self.assertEqual(spec, Spec())
        self.assertTrue(spec.setsid, "setsid defaults to true")
        self.assertIsNone(spec.seccomp)
        self.assertEqual(Spec().to_json(), "{}")
        self.assertEqual(Spec(args=["/bin/true"]).to_json(), '{"args":["/bin/true"]}')
        self.assertEqual(Spec(setsid=False, ptrace=True).to_json(),
                         '{"ptrace":true,"setsid":false}')
        mount = Spec.from_json('{"mounts": [{"target": "t"}]}').mounts[0]
        self.assertEqual(mount, Mount(target="t"))
        self.assertTrue(mount.mkdir, "mkdir defaults to true")
        self.assertFalse(mount.file)
        self.assertEqual(Spec(mounts=[mount]).to_json(), '{"mounts":[{"target":"t"}]}')

    def test_make_nod_is_an_alias_of_file(self):
        spec = Spec.from_json('{"mounts": [{"target": "t", "make_nod": true}]}')
        self.assertTrue(spec.mounts[0].file)
        e = json_error('{"mounts": [{"target": "t", "file": true, "make_nod": true}]}')
        self.assertEqual(e.path, "mounts[0].make_nod")

    def test_names_are_the_rust_clients(self):
        self.assertEqual(list(names.CLONE_FLAGS), [
            "newns", "newuts", "newipc", "newnet", "newcgroup", "newuser", "newpid"])
        self.assertEqual(names.RESOURCES, (
            "cpu", "fsize", "data", "stack", "core", "rss", "nproc", "nofile", "memlock", "as",
            "locks", "sigpending", "msgqueue", "nice", "rtprio", "rttime"))
        self.assertEqual(names.MOUNT_FLAGS["bind"], 0x1000)
        self.assertEqual(names.MOUNT_FLAGS["rdonly"], 0x1)
        self.assertEqual(names.MOUNT_FLAGS["rec"], 0x4000)
        self.assertEqual(names.MOUNT_FLAGS["lazytime"], 0x2000000)
        all_ns = 0
        for v in names.CLONE_FLAGS.values():
            all_ns |= v
        self.assertEqual(all_ns, 0x7E020000)

    def test_rlimit_resource_by_name_or_number(self):
        for number, name in enumerate(names.RESOURCES):
            by_name = Spec.from_json({"rlimits": [{"resource": name, "cur": 1, "max": 2}]})
            by_number = Spec.from_json({"rlimits": [{"resource": number, "cur": 1, "max": 2}]})
            self.assertEqual(by_name, by_number)
            self.assertIn(f'"resource":"{name}"', by_number.to_json())

    def test_infinity_and_unlimited(self):
        spec = Spec.from_json(
            '{"rlimits": [{"resource": "core", "cur": "unlimited", "max": "infinity"}]}')
        self.assertEqual(spec.rlimits[0].cur, RLIM_INFINITY)
        self.assertEqual(spec.rlimits[0].max, RLIM_INFINITY)
        self.assertEqual(spec.to_json(),
                         '{"rlimits":[{"resource":"core","cur":"infinity","max":"infinity"}]}')
        # 2^64 - 1 as a plain integer, as the vectors write it
        spec = Spec.from_json('{"rlimits": [{"resource": 0, "cur": 0, '
                              '"max": 18446744073709551615}]}')
        self.assertEqual(spec.rlimits[0].max, RLIM_INFINITY)


class Errors(unittest.TestCase):
    def test_unknown_key_is_refused_by_name(self):
        e = json_error('{"args": ["/bin/true"], "clone_flag": ["newns"]}')
        self.assertEqual(e.path, "clone_flag")
        self.assertIn("unknown field `clone_flag`", str(e))
        self.assertIn("`clone_flags`", str(e), "lists the valid keys")
        self.assertTrue(str(e).startswith("clone_flag: unknown field"))

    def test_unknown_nested_key_names_its_path(self):
        e = json_error('{"mounts": [{"target": "t", "flag": []}]}')
        self.assertEqual(e.path, "mounts[0].flag")
        self.assertTrue(str(e).startswith("mounts[0].flag: unknown field `flag`"), str(e))
        e = json_error('{"credential": {"uid": 0, "gid": 0, "group": []}}')
        self.assertTrue(str(e).startswith("credential.group: unknown field `group`"), str(e))
        e = json_error('{"rlimits": [{"resource": "cpu", "cur": 1, "max": 1, "hard": 2}]}')
        self.assertEqual(e.path, "rlimits[0].hard")
        e = json_error('{"uid_mappings": [{"container_id": 0, "host_id": 0, "size": 1}, '
                       '{"container": 0}]}')
        self.assertEqual(e.path, "uid_mappings[1].container")

    def test_unknown_clone_flag_lists_the_valid_names(self):
        e = json_error('{"clone_flags": ["newns", "newfoo"]}')
        self.assertEqual(e.path, "clone_flags[1]")
        self.assertEqual(str(e), "clone_flags[1]: unknown clone flag `newfoo`, expected one "
                                 "of: newns, newuts, newipc, newnet, newcgroup, newuser, newpid")

    def test_clone_flags_are_names_not_numbers(self):
        e = json_error('{"clone_flags": [131072]}')
        self.assertIn("expected a clone flag name", str(e))

    def test_unknown_mount_flag_lists_the_valid_names(self):
        e = json_error('{"mounts": [{"target": "t", "flags": ["bind", "ro"]}]}')
        self.assertEqual(e.path, "mounts[0].flags[1]")
        self.assertIn("unknown mount flag `ro`", str(e))
        self.assertIn("rdonly", str(e))

    def test_missing_fields(self):
        e = json_error('{"mounts": [{"source": "/x"}]}')
        self.assertEqual(e.path, "mounts[0]")
        self.assertIn("missing field `target`", str(e))
        e = json_error('{"credential": {"uid": 1}}')
        self.assertIn("missing field `gid`", str(e))
        e = json_error('{"seccomp": [{"code": 6}]}')
        self.assertIn("missing field `k`", str(e))

    def test_unknown_rlimit_resource(self):
        e = json_error('{"rlimits": [{"resource": "files", "cur": 1, "max": 1}]}')
        self.assertEqual(e.path, "rlimits[0].resource")
        self.assertIn("unknown rlimit resource `files`", str(e))
        self.assertIn("nofile", str(e))
        e = json_error('{"rlimits": [{"resource": 99, "cur": 1, "max": 1}]}')
        self.assertIn("invalid value: integer `99`", str(e))
        e = json_error('{"rlimits": [{"resource": "core", "cur": "lots", "max": 1}]}')
        self.assertEqual(e.path, "rlimits[0].cur")
        self.assertIn('"infinity"', str(e))
        e = json_error('{"rlimits": [{"resource": "core", "cur": -1, "max": 1}]}')
        self.assertEqual(e.path, "rlimits[0].cur")

    def test_wrong_types(self):
        cases = {
            '{"args": "/bin/true"}': "args",
            '{"args": ["/bin/true", 1]}': "args[1]",
            '{"setsid": 1}': "setsid",
            '{"sync": "yes"}': "sync",
            '{"files": [0, 1.0]}': "files[1]",
            '{"files": [true]}': "files[0]",
            '{"files": [2147483648]}': "files[0]",
            '{"exec_file": -2147483649}': "exec_file",
            '{"status_fd": "3"}': "status_fd",
            '{"work_dir": null}': "work_dir",
            '{"env": null}': "env",
            '{"credential": {"uid": 4294967296, "gid": 0}}': "credential.uid",
            '{"credential": {"uid": 0, "gid": 0, "groups": [-1]}}': "credential.groups[0]",
            '{"seccomp": [{"code": 65536, "k": 0}]}': "seccomp[0].code",
            '{"seccomp": [{"code": 6, "jt": 256, "k": 0}]}': "seccomp[0].jt",
            '{"mounts": [{"target": "t", "mkdir": 1}]}': "mounts[0].mkdir",
            '{"mounts": [{"target": 5}]}': "mounts[0].target",
            '{"mounts": {"target": "t"}}': "mounts",
            '{"uid_mappings": [{"container_id": 0, "host_id": 0, "size": -1}]}':
                "uid_mappings[0].size",
        }
        for doc, path in cases.items():
            with self.subTest(doc):
                self.assertEqual(json_error(doc).path, path)

    def test_first_error_in_document_order(self):
        # as serde reports it: the first bad value in the document, not in field order
        e = json_error('{"sync": 1, "args": 5}')
        self.assertEqual(e.path, "sync")
        e = json_error('{"mounts": [{"flags": ["x"], "source": 1}]}')
        self.assertEqual(e.path, "mounts[0].flags[0]")

    def test_not_json_and_not_an_object(self):
        for doc in ('{} {}', '{"args": [', '[]', '"x"', '{"args": [NaN]}'):
            with self.subTest(doc):
                self.assertEqual(json_error(doc).path, "")
        e = json_error('{"args": [], "args": ["x"]}')
        self.assertEqual(str(e), "args: duplicate field `args`")
        e = json_error('{"mounts": [{"target": "a"}, {"target": "b", "target": "c"}]}')
        self.assertEqual(e.path, "mounts[1].target")

    def test_null_is_none_only_for_optional_fields(self):
        spec = Spec.from_json('{"exec_path": null, "exec_file": null, "seccomp": null, '
                              '"credential": null, "status_fd": null, "cgroup_fd": null}')
        self.assertEqual(spec, Spec())


class PythonValues(unittest.TestCase):
    """The constructors take the same values as the JSON form, and check them the same way."""

    def test_dicts_and_tuples_become_objects(self):
        spec = Spec(args=["x"], rlimits=[{"resource": 7, "cur": 1, "max": 2}, ("cpu", 1, 1)],
                    mounts=[{"target": "t", "make_nod": True}],
                    uid_mappings=[(0, 1000, 1)], credential={"uid": 1, "gid": 2},
                    seccomp=[(6, 0, 0, 0)])
        self.assertEqual(spec.rlimits, [Rlimit("nofile", 1, 2), Rlimit("cpu", 1, 1)])
        self.assertEqual(spec.mounts, [Mount(target="t", file=True)])
        self.assertEqual(spec.uid_mappings, [IdMap(0, 1000, 1)])
        self.assertEqual(spec.credential, Credential(1, 2))
        self.assertEqual(spec.seccomp, [SockFilter.stmt(6, 0)])

    def test_seccomp_is_one_program_or_a_list_of_programs(self):
        allow, deny = SockFilter.stmt(6, 0x7FFF0000), SockFilter.stmt(6, 0)
        one = Spec.from_json('{"seccomp": [{"code": 6, "k": 2147418112}]}')
        self.assertEqual(one.seccomp, [allow])
        self.assertEqual(one.to_json(), '{"seccomp":[{"code":6,"k":2147418112}]}')
        two = Spec(seccomp=[[allow], [(6, 0, 0, 0)]])
        self.assertEqual(two.seccomp, [[allow], [deny]])
        self.assertEqual(json.loads(two.to_json())["seccomp"],
                         [[{"code": 6, "k": 2147418112}], [{"code": 6, "k": 0}]])
        self.assertEqual(Spec.from_json(two.to_json()), two)
        # A list of one program is that program; a policy name is a program too.
        self.assertEqual(Spec(seccomp=[[allow]]).seccomp, [allow])
        judge = Spec(seccomp=["judge", [allow]]).seccomp
        self.assertEqual(len(judge), 2)
        self.assertEqual(judge[1], [allow])
        with self.assertRaises(JsonError) as cm:
            Spec(seccomp=[[allow], [{"code": 6}]])
        self.assertEqual(cm.exception.path, "seccomp[1][0]")

    def test_bad_values_name_their_path(self):
        with self.assertRaises(JsonError) as cm:
            Spec(clone_flags=["newns", "newfoo"])
        self.assertEqual(cm.exception.path, "clone_flags[1]")
        with self.assertRaises(JsonError) as cm:
            Mount(target="t", flags=["bind", "ro"])
        self.assertEqual(cm.exception.path, "flags[1]")
        with self.assertRaises(JsonError) as cm:
            Runner(args=["/bin/true"], files=[0, "1"])
        self.assertEqual(cm.exception.path, "files[1]")
        with self.assertRaises(TypeError):
            Spec(clone_flag=["newns"])  # pylint: disable=unexpected-keyword-arg

    def test_mount_builders_follow_go_sandbox(self):
        self.assertEqual(Mount.bind("/usr", "usr", read_only=True).flags,
                         ["bind", "nosuid", "private", "rec", "rdonly"])
        self.assertTrue(Mount.bind("/etc/hostname", "etc/hostname").file)
        self.assertFalse(Mount.bind("/usr", "usr").file)
        self.assertEqual(Mount.tmpfs("tmp", "size=1m"),
                         Mount(source="tmpfs", target="tmp", fstype="tmpfs",
                               flags=["nosuid", "noatime", "nodev"], data="size=1m"))

    def test_bytes_strings(self):
        spec = Spec(args=[b"/bin/\xff"])
        self.assertEqual(json.loads(spec.to_json())["args"], ["/bin/\udcff"])
        self.assertEqual(Spec.from_json(spec.to_json()).args, ["/bin/\udcff"])

    def test_runner_fields_are_spec_fields(self):
        r = Runner(["/bin/true"], files=[0, 1, 2])
        self.assertEqual(r.args, ["/bin/true"])
        r.host_name = "box"
        self.assertEqual(r.spec.host_name, "box")
        with self.assertRaises(AttributeError):
            r.hostname = "box"
        r2 = Runner(Spec.from_json(EVERY_KEY), detach=False)
        self.assertFalse(r2.detach)
        self.assertEqual(Runner({"args": ["x"]}).spec, Spec(args=["x"]))


if __name__ == "__main__":
    unittest.main()


class LandlockJson(unittest.TestCase):
    """The ``landlock`` key: names checked, encoded as LANDLOCK records and decoded back."""

    def test_round_trip_through_the_wire(self):
        from forkexec import decode, encode, Spec
        spec = Spec.from_json({"args": ["/bin/true"], "landlock": {
            "exact": True, "fs": [{"path": "/usr", "access": ["read", "execute"]}],
            "net": [{"port": 443, "access": ["connect_tcp"]}], "scope": ["signal"]}})
        back = decode(encode(spec)).spec
        self.assertEqual(back.landlock.exact, True)
        self.assertEqual(back.landlock.fs,
                         [{"path": "/usr", "access": ["execute", "read_file", "read_dir"]}])
        self.assertEqual(back.landlock.net, [{"port": 443, "access": ["connect_tcp"]}])
        self.assertEqual(back.landlock.scope, ["signal"])

    def test_unknown_names_are_refused_by_path(self):
        from forkexec import JsonError, Spec
        with self.assertRaises(JsonError) as e:
            Spec.from_json({"args": ["/bin/true"], "landlock": {"scope": ["everything"]}})
        self.assertIn("landlock.scope[0]", str(e.exception))
