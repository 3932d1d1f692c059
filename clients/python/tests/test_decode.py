"""decode() parses every record type names.py lists, with the helper's faults and offsets
(docs/spec.md, "Order of checks"), and refuses what it cannot parse instead of skipping it.
The bytes are written out here, not made by the encoder."""

import struct
import unittest

from forkexec import SpecError, decode, names, wire
from forkexec.names import Fault, Record

NEWNS, NEWUTS, NEWUSER = names.CLONE_NEWNS, names.CLONE_NEWUTS, names.CLONE_NEWUSER


def record(rtype, payload, flags=0):
    return struct.pack("<HHI", rtype, flags, len(payload)) + payload


def spec(*records):
    """ARGS ["/bin/true"] (30 bytes with the header), then ``records``."""
    body = record(Record.ARGS, b"/bin/true\0") + b"".join(records)
    return b"FXSP" + struct.pack("<HHI", 1, 0, 12 + len(body)) + body


def i32(*v):
    return struct.pack(f"<{len(v)}i", *v)


def u64(*v):
    return struct.pack(f"<{len(v)}Q", *v)


def landlock(fs, net, scoped, flags=0):
    return record(Record.LANDLOCK, u64(fs, net, scoped) + struct.pack("<I", flags))


def ll_path(access, path):
    return record(Record.LANDLOCK_PATH, u64(access) + path + b"\0")


def ll_port(access, port):
    return record(Record.LANDLOCK_PORT, u64(access, port))


def clone(bits):
    return record(Record.CLONE_FLAGS, u64(bits))


# One record of each type (with what it needs), and the Spec attribute its value shows up in.
ONE_OF_EACH = {
    "ARGS": ([], "args"),
    "ENV": ([record(Record.ENV, b"A=1\0")], "env"),
    "EXEC_PATH": ([record(Record.EXEC_PATH, b"/bin/true\0")], "exec_path"),
    "EXEC_FD": ([record(Record.EXEC_FD, i32(3))], "exec_file"),
    "RLIMIT": ([record(Record.RLIMIT, struct.pack("<IQQ", 7, 1, 2))], "rlimits"),
    "FILES": ([record(Record.FILES, i32(0, -1))], "files"),
    "WORK_DIR": ([record(Record.WORK_DIR, b"/\0")], "work_dir"),
    "SECCOMP": ([record(Record.SECCOMP, struct.pack("<HBBI", 6, 0, 0, 0x7FFF0000))], "seccomp"),
    "CLONE_FLAGS": ([clone(NEWNS)], "clone_flags"),
    "MOUNT": ([clone(NEWNS), record(Record.MOUNT, u64(0) + i32(0) + b"a\0/b\0\0\0")], "mounts"),
    "PIVOT_ROOT": ([clone(NEWNS), record(Record.PIVOT_ROOT, b"/r\0")], "pivot_root"),
    "HOST_NAME": ([clone(NEWUTS), record(Record.HOST_NAME, b"h\0")], "host_name"),
    "DOMAIN_NAME": ([clone(NEWUTS), record(Record.DOMAIN_NAME, b"d\0")], "domain_name"),
    "UID_MAP": ([clone(NEWUSER), record(Record.UID_MAP, i32(0, 1000, 1))], "uid_mappings"),
    "GID_MAP": ([clone(NEWUSER), record(Record.GID_MAP, i32(0, 1000, 1))], "gid_mappings"),
    "CREDENTIAL": ([record(Record.CREDENTIAL, i32(1, 2, 0))], "credential"),
    "OPTIONS": ([record(Record.OPTIONS, u64(names.OPT_SYNC))], "sync"),
    "STATUS_FD": ([record(Record.STATUS_FD, i32(4))], "status_fd"),
    "CGROUP_PATH": ([record(Record.CGROUP_PATH, b"/c\0")], "cgroup"),
    "CGROUP_FD": ([record(Record.CGROUP_FD, i32(5))], "cgroup_fd"),
    "MOUNT_OP": ([clone(NEWNS), record(Record.MOUNT_OP, struct.pack("<HHIQi", 3, 0, 0, 0, -1)
                                       + b"\0/proc\0")], "mounts"),
    "LANDLOCK": ([landlock(0, 0, 1)], "landlock"),
    "LANDLOCK_PATH": ([landlock(1, 0, 0), ll_path(1, b"/bin")], "landlock"),
    "LANDLOCK_PORT": ([landlock(0, 2, 0), ll_port(2, 443)], "landlock"),
    "INFO_FD": ([record(Record.INFO_FD, i32(6))], "info_fd"),
    "JSON_STATUS_FD": ([record(Record.JSON_STATUS_FD, i32(7))], "json_status_fd"),
    "JOIN_NS": ([record(Record.JOIN_NS, i32(-1, -1, 8))], "join_ns"),
    "LOCK_FILE": ([record(Record.OPTIONS, u64(names.OPT_INIT)),
                   record(Record.LOCK_FILE, b"/l\0")], "lock_files"),
    "SYNC_FD": ([record(Record.OPTIONS, u64(names.OPT_INIT)),
                 record(Record.SYNC_FD, i32(9))], "sync_fd"),
    "CAPS": ([record(Record.CAPS, struct.pack("<QI", 1 << 10, 0))], "caps"),
    "BLOCK_FD": ([record(Record.BLOCK_FD, i32(9))], "block_fd"),
    "USERNS_BLOCK_FD": ([clone(NEWUSER), record(Record.USERNS_BLOCK_FD, i32(9))],
                        "userns_block_fd"),
}


class EveryRecord(unittest.TestCase):
    def test_every_record_type_is_decoded_into_its_field(self):
        known = {k for k in vars(Record) if k.isupper() and k != "LAST"}
        self.assertEqual(set(ONE_OF_EACH), known, "a record type without a case here")
        self.assertEqual(set(names.RECORD_NAMES), {getattr(Record, n) for n in known})
        default = decode(spec()).spec
        self.assertEqual(default.args, ["/bin/true"])
        for name, (records, attr) in ONE_OF_EACH.items():
            if name == "ARGS":  # in every spec here: checked just above
                continue
            with self.subTest(name):
                got = decode(spec(*records)).spec
                self.assertNotEqual(getattr(got, attr), getattr(default, attr), attr)

    def test_a_type_the_decoder_does_not_parse_is_refused_not_skipped(self):
        # A type names.py lists but no branch parses (planted): refused at its R, with the
        # skip flag or without, as the helper parses every type it knows.
        saved = dict(names.RECORD_NAMES)
        names.RECORD_NAMES[60] = "planted"
        try:
            for flags in (0, names.SKIP_IF_UNKNOWN):
                with self.assertRaises(SpecError) as cm:
                    decode(spec(record(60, b"x", flags)))
                self.assertEqual((cm.exception.fault, cm.exception.offset),
                                 (Fault.UNKNOWN_RECORD, 30))
        finally:
            names.RECORD_NAMES.clear()
            names.RECORD_NAMES.update(saved)
        # An advisory type nobody knows is skipped with the flag, refused without.
        decode(spec(record(0x7FF0, b"x", names.SKIP_IF_UNKNOWN)))
        with self.assertRaises(SpecError):
            decode(spec(record(0x7FF0, b"x")))


class Landlock(unittest.TestCase):
    def refused(self, data, offset, fault):
        with self.assertRaises(SpecError) as cm:
            decode(data)
        self.assertEqual((cm.exception.offset, names.FAULTS[cm.exception.fault][0]),
                         (offset, names.FAULTS[fault][0]))

    def test_rules_count_after_their_own_checks(self):
        r2 = 30 + 36  # after ARGS and a LANDLOCK record
        head = landlock(0xFFFF, 3, 0)
        paths = [ll_path(1, b"/x")] * 64  # 19 bytes each
        ports = [ll_port(1, p) for p in range(64)]  # 24 bytes each
        got = decode(spec(head, *paths, *ports)).spec.landlock
        self.assertEqual((len(got.fs), len(got.net)), (64, 64))
        self.refused(spec(head, *paths, ll_path(1, b"/x")), r2 + 64 * 19, Fault.TOO_MANY)
        # The 65th rule's own fault comes first.
        self.refused(spec(head, *paths, ll_path(1, b"x")), r2 + 64 * 19 + 16, Fault.BAD_VALUE)
        self.refused(spec(head, *ports, ll_port(1, 65536)), r2 + 64 * 24 + 16, Fault.BAD_VALUE)
        self.refused(spec(head, *ports, ll_port(1, 9)), r2 + 64 * 24, Fault.TOO_MANY)

    def test_seccomp_programs_come_in_order_up_to_sixteen(self):
        def program(k):
            return record(Record.SECCOMP, struct.pack("<HBBI", 6, 0, 0, k))
        got = decode(spec(program(1), program(2))).spec.seccomp
        self.assertEqual([[i.k for i in p] for p in got], [[1], [2]])
        self.assertEqual(decode(spec(program(1))).spec.seccomp[0].k, 1)
        # The 17th is refused at its record header, before its payload is looked at.
        self.refused(spec(*[program(0)] * 16, record(Record.SECCOMP, b"")), 30 + 16 * 16,
                     Fault.TOO_MANY)
        self.refused(spec(*[program(0)] * 15, record(Record.SECCOMP, b"")), 30 + 15 * 16 + 4,
                     Fault.BAD_RECORD_LENGTH)

    def test_rule_conflicts_come_before_a_replaced_mount_fd(self):
        # docs/spec.md, "Order of checks", step 3: the Landlock rules, then the fd rule.
        bind_fd = record(Record.MOUNT_OP, struct.pack("<HHIQi", 1, 0, 0, 0, 0) + b"\0/b\0")
        data = spec(clone(NEWNS), record(Record.FILES, i32(-1)), bind_fd, ll_port(1, 80))
        self.refused(data, 30 + 16 + 12 + 32 + 8, Fault.CONFLICT)
        # Without the rule, the fd rule (P + 16 of the MOUNT_OP).
        data = spec(clone(NEWNS), record(Record.FILES, i32(-1)), bind_fd)
        self.refused(data, 30 + 16 + 12 + 8 + 16, Fault.CONFLICT)
        # Path rules first, then port rules.
        data = spec(landlock(1, 1, 0), ll_port(2, 80), ll_path(2, b"/x"))
        self.refused(data, 30 + 36 + 24 + 8, Fault.CONFLICT)


class Shapes(unittest.TestCase):
    def test_json_status_fd_and_a_joined_pid_namespace_supervise(self):
        def shape(*records):
            return decode(spec(*records)).shape(1000, 1000)
        self.assertEqual(shape(), wire.IN_PLACE)
        self.assertEqual(shape(record(Record.JSON_STATUS_FD, i32(0))), wire.SUPERVISE)
        self.assertEqual(shape(record(Record.JOIN_NS, i32(-1, 4, -1))), wire.SUPERVISE)
        self.assertEqual(shape(record(Record.JOIN_NS, i32(4, -1, 5))), wire.IN_PLACE)
        self.assertEqual(shape(record(Record.INFO_FD, i32(4))), wire.IN_PLACE)


if __name__ == "__main__":
    unittest.main()
