"""The encoder's checks (NUL bytes, limits, conflicts, the process shape), the status records
and how errors print."""

import errno
import re
import struct
import unittest

from forkexec import (Caps, ChildError, IdMap, JoinNs, JsonError, Mount, Rlimit, Spec,
                      SpecError, decode, encode, names, status, wire)
from forkexec.errors import errno_text

from .support import spec_md


def refused(spec):
    try:
        encode(spec)
    except SpecError as e:
        return e
    raise AssertionError(f"encoded: {spec}")


class Encoder(unittest.TestCase):
    def test_nul_in_a_string_names_the_field(self):
        cases = {
            "args[1]": Spec(args=["/bin/true", "a\0b"]),
            "env[0]": Spec(args=["x"], env=["A=\0"]),
            "exec_path": Spec(args=["x"], exec_path="/bin\0"),
            "work_dir": Spec(args=["x"], work_dir="/\0"),
            "host_name": Spec(args=["x"], clone_flags=["newuts"], host_name="a\0"),
            "cgroup": Spec(args=["x"], cgroup="/a\0"),
            "mounts[1].data": Spec(args=["x"], clone_flags=["newns"],
                                   mounts=[Mount(target="a"), Mount(target="b", data="x\0")]),
        }
        for field, spec in cases.items():
            with self.subTest(field):
                e = refused(spec)
                self.assertEqual(e.field, field)
                self.assertIsNone(e.fault)
                self.assertEqual(str(e), f"spec: {field} contains a NUL byte")

    def test_limits(self):
        base = dict(args=["/bin/true"])
        # host name: 64 bytes is the most
        ok = Spec(**base, clone_flags=["newuts"], host_name="h" * 64)
        encode(ok)
        e = refused(Spec(**base, clone_flags=["newuts"], host_name="h" * 65))
        self.assertEqual((e.fault_name, e.record, e.errno), ("TooLong", "host_name", errno.E2BIG))
        # paths: 4095 bytes + NUL
        encode(Spec(**base, work_dir="/" * 4095))
        self.assertEqual(refused(Spec(**base, work_dir="/" * 4096)).fault_name, "TooLong")
        # 16 rlimits, 256 mounts, 4096 files, 340 map entries
        encode(Spec(**base, rlimits=[Rlimit("core", 0, 0)] * 16))
        e = refused(Spec(**base, rlimits=[Rlimit("core", 0, 0)] * 17))
        self.assertEqual((e.fault_name, e.record), ("TooMany", "rlimits[16]"))
        e = refused(Spec(**base, clone_flags=["newns"], mounts=[Mount(target="t")] * 257))
        self.assertEqual((e.fault_name, e.record), ("TooMany", "mounts[256]"))
        self.assertEqual(refused(Spec(**base, files=[0] * 4097)).fault_name, "TooMany")
        maps = [IdMap(i, i, 1) for i in range(341)]
        self.assertEqual(refused(Spec(**base, clone_flags=["newuser"],
                                      uid_mappings=maps)).fault_name, "TooMany")
        # fds below 2^20; -1 only in files
        encode(Spec(**base, files=[-1, (1 << 20) - 1]))
        e = refused(Spec(**base, files=[0, 1 << 20]))
        self.assertEqual((e.fault_name, e.offset, e.record), ("FdOutOfRange", 42, "files"))
        self.assertEqual(refused(Spec(**base, files=[-2])).fault_name, "FdOutOfRange")
        self.assertEqual(refused(Spec(**base, exec_file=-1)).fault_name, "FdOutOfRange")
        # soft over hard
        e = refused(Spec(**base, rlimits=[Rlimit("nofile", 2, 1)]))
        self.assertEqual((e.fault_name, e.offset), ("BadValue", 42))

    def test_values_and_conflicts(self):
        base = dict(args=["/bin/true"])
        cases = [
            (Spec(), "MissingArgs", "end of spec"),
            (Spec(args=[""]), "MissingArgs", "end of spec"),
            (Spec(**base, exec_path=""), "BadValue", "exec_path"),
            (Spec(**base, seccomp=[]), "BadRecordLength", "seccomp"),
            (Spec(**base, seccomp=[[(6, 0, 0, 0)], []]), "BadRecordLength", "seccomp[1]"),
            (Spec(**base, clone_flags=["newns"], pivot_root="rel"), "BadValue", "pivot_root"),
            (Spec(**base, clone_flags=["newns"], mounts=[Mount(target="")]),
             "BadValue", "mounts[0]"),
            (Spec(**base, mounts=[Mount(target="t")]), "Conflict", "mounts[0]"),
            (Spec(**base, pivot_root="/r"), "Conflict", "pivot_root"),
            (Spec(**base, domain_name="d"), "Conflict", "domain_name"),
            (Spec(**base, uid_mappings=[IdMap(0, 0, 1)]), "Conflict", "uid_mappings"),
            (Spec(**base, uid_mappings=[IdMap(0, 0, 0)], clone_flags=["newuser"]),
             "BadValue", "uid_mappings"),
            (Spec(**base, ctty=True, setsid=False), "Conflict", "options"),
            (Spec(**base, lock_files=["/l"]), "Conflict", "lock_file"),
            (Spec(**base, sync_fd=3), "Conflict", "sync_fd"),
            (Spec(**base, loopback=True), "Conflict", "options"),
            (Spec(**base, userns_block_fd=3), "Conflict", "userns_block_fd"),
            (Spec(**base, block_fd=3, files=[0, 1, 2, 4]), "Conflict", "block_fd"),
            (Spec(**base, init=True, lock_files=["l"]), "BadValue", "lock_file"),
            (Spec(**base, init=True, lock_files=["/l"] * 9), "TooMany", "lock_file"),
            (Spec(**base, init=True, detach=True, clone_flags=["newpid"]), "Conflict",
             "options"),
            (Spec(**base, exec_path="/x", exec_file=3), "Conflict", "exec_path"),
            (Spec(**base, cgroup="/a", cgroup_fd=3), "Conflict", "cgroup_fd"),
            (Spec(**base, cgroup="a"), "BadValue", "cgroup"),
            (Spec(**base, json_status_fd=3, detach=True), "Conflict", "json_status_fd"),
            (Spec(**base, info_fd=1 << 20), "FdOutOfRange", "info_fd"),
            (Spec(**base, join_ns=JoinNs(user=3), clone_flags=["newuser"]), "Conflict",
             "join_ns"),
            (Spec(**base, join_ns=JoinNs()), "BadValue", "join_ns"),
            (Spec(**base, caps=Caps(keep=[5]), drop_caps=True), "Conflict", "caps"),
        ]
        for spec, fault, record in cases:
            with self.subTest(spec=spec.to_json()):
                e = refused(spec)
                self.assertEqual((e.fault_name, e.record), (fault, record))
                self.assertTrue(str(e).startswith("spec: "), str(e))

    def test_message_like_the_rust_client(self):
        e = refused(Spec(args=["/bin/true"], files=[0, 1, 1 << 20]))
        self.assertEqual(str(e), "spec: fd out of range at byte 46 (files)")

    def test_canonical_order_and_omissions(self):
        spec = Spec(args=["a"], status_fd=0, exec_file=0, cgroup_fd=0, env=[], files=[],
                    work_dir="", clone_flags=[], setsid=True, info_fd=42, json_status_fd=43,
                    join_ns={"pid": 12})
        data = encode(spec)
        types = []
        at = 12
        while at < len(data):
            rtype, flags, length = struct.unpack_from("<HHI", data, at)
            self.assertEqual(flags, 0)
            types.append(rtype)
            at += 8 + length
        # fd 0 is a value; empty lists and strings, zero flags and setsid=True are not
        self.assertEqual(types, [names.Record.ARGS, names.Record.EXEC_FD,
                                 names.Record.STATUS_FD, names.Record.CGROUP_FD,
                                 names.Record.INFO_FD, names.Record.JSON_STATUS_FD,
                                 names.Record.JOIN_NS])
        decoded = decode(data)
        self.assertEqual((decoded.spec.info_fd, decoded.spec.json_status_fd), (42, 43))
        self.assertEqual(decoded.spec.join_ns, JoinNs(pid=12))
        # CAPS: the kept numbers as a mask, LEAVE_SETS; decoded back in number order.
        data = encode(Spec(args=["a"], caps=Caps(keep=[40, 5, 0], leave_sets=True)))
        self.assertEqual(data[-12:], struct.pack("<QI", 1 << 40 | 1 << 5 | 1, 1))
        self.assertEqual(decode(data).spec.caps, Caps(keep=[0, 5, 40], leave_sets=True))
        self.assertEqual(Spec.from_json({"args": ["a"], "caps": {"keep": [21]}}).caps,
                         Caps(keep=[21]))
        for bad in ({"keep": [64]}, {"keep": [-1]}, {"keep": ["kill"]}, {}):
            with self.subTest(caps=bad), self.assertRaises(JsonError):
                Spec.from_json({"args": ["a"], "caps": bad})
        full = Spec.from_json({
            "args": ["a"], "env": ["E=1"], "exec_path": "/p", "rlimits": [
                {"resource": "cpu", "cur": 1, "max": 1}, {"resource": "core", "cur": 0,
                                                          "max": 0}],
            "files": [0], "work_dir": "/", "seccomp": [{"code": 6, "k": 0}],
            "clone_flags": ["newns", "newuts", "newuser"], "mounts": [{"target": "a"},
                                                                      {"target": "b"}],
            "pivot_root": "/r", "host_name": "h", "domain_name": "d",
            "uid_mappings": [{"container_id": 0, "host_id": 0, "size": 1}],
            "gid_mappings": [{"container_id": 0, "host_id": 0, "size": 1}],
            "credential": {"uid": 0, "gid": 0}, "sync": True, "status_fd": 3,
            "cgroup": "/c"})
        data = encode(full)
        types, at = [], 12
        while at < len(data):
            rtype, _, length = struct.unpack_from("<HHI", data, at)
            types.append(rtype)
            at += 8 + length
        self.assertEqual(types, [1, 2, 3, 5, 5, 6, 7, 8, 9, 10, 10, 11, 12, 13, 14, 15, 16, 17,
                                 18, 19])

    def test_non_utf8_bytes_round_trip(self):
        spec = Spec(args=[b"/bin/\xff\xfe", "caf\u00e9"])
        data = encode(spec)
        self.assertIn(b"/bin/\xff\xfe\0caf\xc3\xa9\0", data)
        self.assertEqual(encode(decode(data).spec), data)


class Shape(unittest.TestCase):
    def shape(self, euid=1000, egid=1000, **fields):
        return decode(encode(Spec(args=["/bin/true"], **fields))).shape(euid, egid)

    def test_shapes(self):
        self.assertEqual(self.shape(), wire.IN_PLACE)
        self.assertEqual(self.shape(clone_flags=["newuser"],
                                    uid_mappings=[IdMap(0, 1000, 1)],
                                    gid_mappings=[IdMap(0, 1000, 1)]), wire.IN_PLACE)
        self.assertEqual(self.shape(clone_flags=["newuser"],
                                    uid_mappings=[IdMap(0, 1000, 1)]), wire.IN_PLACE)
        self.assertEqual(self.shape(clone_flags=["newuser"],
                                    uid_mappings=[IdMap(0, 0, 1)]), wire.SUPERVISE)
        self.assertEqual(self.shape(clone_flags=["newuser"],
                                    uid_mappings=[IdMap(0, 1000, 2)]), wire.SUPERVISE)
        self.assertEqual(self.shape(clone_flags=["newuser"], gid_mappings_enable_setgroups=True,
                                    gid_mappings=[IdMap(0, 1000, 1)]), wire.SUPERVISE)
        self.assertEqual(self.shape(clone_flags=["newpid"]), wire.SUPERVISE)
        self.assertEqual(self.shape(clone_flags=["newpid"], detach=True), wire.DETACH)
        self.assertEqual(self.shape(clone_flags=["newpid"], init=True), wire.INIT)

    def test_ptrace_needs_detach_in_a_clone_shape(self):
        with self.assertRaises(SpecError) as cm:
            self.shape(clone_flags=["newpid"], ptrace=True)
        self.assertEqual(cm.exception.fault_name, "Conflict")
        self.assertEqual(self.shape(clone_flags=["newpid"], ptrace=True, detach=True),
                         wire.DETACH)

    def test_stops_before_exec(self):
        self.assertTrue(Spec(stop_before_seccomp=True).stops_before_exec())
        self.assertTrue(Spec(ptrace=True, seccomp=[(6, 0, 0, 0)]).stops_before_exec())
        self.assertFalse(Spec(ptrace=True).stops_before_exec())


class StatusRecords(unittest.TestCase):
    def test_error_record_bytes(self):
        # docs/spec.md, "Worked example": the answer to bad_magic.hex
        raw = bytes.fromhex("01000000 22000000 16000000 03000000 02000000" + "00" * 12)
        rec = status.decode_record(raw)
        self.assertEqual(rec, status.ErrorRecord(34, 22, 3, 2))
        self.assertEqual(status.encode_record(rec), raw)
        e = ChildError.from_record(rec)
        self.assertEqual(str(e), "spec(offset 3): bad magic (not a forkexec spec) "
                                 "(invalid argument)")
        self.assertEqual((e.location_name, e.fault, e.fault_name), ("spec", 2, "BadMagic"))

    def test_every_kind(self):
        records = [status.SyncRecord(77), status.PidRecord(78), status.ExecRecord(79),
                   status.ExitRecord(-1, 1 << 40, 5, 1024),
                   status.ErrorRecord(16, errno.EPERM, 3, 0)]
        for rec in records:
            raw = status.encode_record(rec)
            self.assertEqual(len(raw), 32)
            self.assertEqual(status.decode_record(raw), rec)
        self.assertEqual(status.encode_record(status.PidRecord(0x01020304))[:8],
                         bytes.fromhex("0300000004030201"))
        with self.assertRaises(status.UnknownRecordKind):
            status.decode_record(b"\x06" + b"\0" * 31)


class ChildErrors(unittest.TestCase):
    def test_go_sandbox_rendering(self):
        cases = [
            (ChildError(16, errno.EPERM, 3), "mount(3): operation not permitted"),
            (ChildError(32, errno.ENOENT), "execve(0): no such file or directory"),
            (ChildError(17, errno.EACCES, 1), "mount(mkdir)(1): permission denied"),
            (ChildError(23, errno.EPERM, 0), "setrlimit(0): operation not permitted"),
            (ChildError(99, errno.EINVAL, 2), "unknown(99)(2): invalid argument"),
            (ChildError(34, 22, 8, 99), "spec(offset 8): fault 99 (invalid argument)"),
            (ChildError(34, 9, 45, 12), "spec(offset 45): fd out of range (bad file descriptor)"),
        ]
        for e, text in cases:
            self.assertEqual(str(e), text)
        self.assertIsNone(ChildError(99, 1).location_name)
        self.assertEqual(errno_text(errno.ECANCELED), "operation canceled")

    def test_location_table_is_complete(self):
        # 1-59 without a gap; then 60, 61, 62, 64, 65.
        self.assertEqual(sorted(names.LOCATIONS), list(range(1, 60)) + [60, 61, 62, 64, 65])
        self.assertEqual(len(set(names.LOCATIONS.values())), 64)

    def test_location_table_matches_docs(self):
        path = spec_md()
        if path is None:
            self.skipTest("docs/spec.md not found (set FORKEXEC_SPEC_MD)")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        section = text[text.index("## Error locations"):text.index("## Versioning")]
        rows = re.findall(r"^\| (\d+) \| `([^`]+)` \|", section, re.M)
        self.assertEqual(len(rows), 64)
        self.assertEqual({int(n): name for n, name in rows}, names.LOCATIONS)
        faults = text[text.index("### Faults"):text.index("### Order of checks")]
        rows = re.findall(r"^\| (\d+) \| (\w+) \| (\d+) ", faults, re.M)
        self.assertEqual({int(n): (name, int(e)) for n, name, e in rows},
                         {n: (v[0], v[2]) for n, v in names.FAULTS.items()})


if __name__ == "__main__":
    unittest.main()
