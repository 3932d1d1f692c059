"""Mount operations (wire record MOUNT_OP, docs/spec.md "21 MOUNT_OP") without the helper: the
exact bytes of every kind (the expected specs were produced by the Rust encoder,
``forkexec_spec::encode::Writer::mount_op``), the JSON form and its refusals, the decoder's
refusals with their fault and offset (the Rust decoder's, checked against it), the
``writable_root`` option, the shared MOUNT/MOUNT_OP index space, the fd rule and the new error
locations."""

import errno
import json
import os
import struct
import tempfile
import unittest

from forkexec import (ChildError, HelperError, JsonError, Mount, MountOp, Runner, Spec,
                      SpecError, decode, encode, mount_ops as m, names, wire)

# Spec(args=["/bin/true"], clone_flags=["newns"], mounts=[op]) as the Rust encoder writes it
# (Writer::args, clone_flags, mount_op, finish).
RUST_SPECS = {
    "ro_bind": (
        "465853500100000054000000010000000a0000002f62696e2f7472756500090000000800"
        "00000000020000000000150000001e00000001000200000000000000000000000000ffff"
        "ffff2f757372002f75737200"
    ),
    "bind_opt_dev": (
        "465853500100000054000000010000000a0000002f62696e2f7472756500090000000800"
        "00000000020000000000150000001e00000001000500000000000000000000000000ffff"
        "ffff2f6f70742f78002f7800"
    ),
    "bind_fd": (
        "465853500100000051000000010000000a0000002f62696e2f7472756500090000000800"
        "00000000020000000000150000001b000000010000000000000000000000000000000500"
        "0000002f6461746100"
    ),
    "tmpfs": (
        "465853500100000050000000010000000a0000002f62696e2f7472756500090000000800"
        "00000000020000000000150000001a00000002000200ff0300000000000400000000ffff"
        "ffff002f746d7000"
    ),
    "tmpfs_default": (
        "46585350010000004e000000010000000a0000002f62696e2f7472756500090000000800"
        "00000000020000000000150000001800000002000000ed0100000000000000000000ffff"
        "ffff002f7400"
    ),
    "proc": (
        "465853500100000051000000010000000a0000002f62696e2f7472756500090000000800"
        "00000000020000000000150000001b00000003000000000000000000000000000000ffff"
        "ffff002f70726f6300"
    ),
    "dev": (
        "465853500100000050000000010000000a0000002f62696e2f7472756500090000000800"
        "00000000020000000000150000001a00000004000000000000000000000000000000ffff"
        "ffff002f64657600"
    ),
    "mqueue": (
        "465853500100000057000000010000000a0000002f62696e2f7472756500090000000800"
        "00000000020000000000150000002100000005000000000000000000000000000000ffff"
        "ffff002f6465762f6d717565756500"
    ),
    "dir": (
        "465853500100000051000000010000000a0000002f62696e2f7472756500090000000800"
        "00000000020000000000150000001b00000006000000c00100000000000000000000ffff"
        "ffff002f776f726b00"
    ),
    "symlink": (
        "465853500100000057000000010000000a0000002f62696e2f7472756500090000000800"
        "00000000020000000000150000002100000007000000000000000000000000000000ffff"
        "ffff7573722f62696e002f62696e00"
    ),
    "file": (
        "46585350010000005d000000010000000a0000002f62696e2f7472756500090000000800"
        "00000000020000000000150000002700000008000000a40100000000000000000000ffff"
        "ffff002f6574632f686f73746e616d6500626f780a"
    ),
    "file_nul": (
        "465853500100000051000000010000000a0000002f62696e2f7472756500090000000800"
        "00000000020000000000150000001b00000008000000800100000000000000000000ffff"
        "ffff002f6600610062"
    ),
    "file_fd": (
        "465853500100000056000000010000000a0000002f62696e2f7472756500090000000800"
        "00000000020000000000150000002000000008000000a401000000000000000000000700"
        "0000002f696e7075742e74787400"
    ),
    "remount_ro": (
        "465853500100000051000000010000000a0000002f62696e2f7472756500090000000800"
        "00000000020000000000150000001b00000009000000000000000000000000000000ffff"
        "ffff002f6461746100"
    ),
    "mask": (
        "465853500100000057000000010000000a0000002f62696e2f7472756500090000000800"
        "0000000002000000000015000000210000000a000100000000000000000000000000ffff"
        "ffff002f70726f632f6b636f726500"
    ),
    "overlay": (
        "465853500100000063000000010000000a0000002f62696e2f7472756500090000000800"
        "00000000020000000000150000002d0000000c000000000000000000000000000000ffff"
        "ffff002f737263002f75002f77002f746f70002f626f74746f6d00"
    ),
    "tmp_overlay": (
        "465853500100000055000000010000000a0000002f62696e2f7472756500090000000800"
        "00000000020000000000150000001f0000000d000000000000000000000000000000ffff"
        "ffff002f757372002f75737200"
    ),
    "ro_overlay": (
        "465853500100000056000000010000000a0000002f62696e2f7472756500090000000800"
        "0000000002000000000015000000200000000e000000000000000000000000000000ffff"
        "ffff002f6f7074002f61002f6200"
    ),
    "chmod": (
        "465853500100000051000000010000000a0000002f62696e2f7472756500090000000800"
        "00000000020000000000150000001b0000000f000000c00100000000000000000000ffff"
        "ffff002f686f6d6500"
    ),
}

# The same operations, built with forkexec.mount_ops and written in the JSON form.
BUILT = {
    "ro_bind": (m.ro_bind("/usr"),
                {"type": "bind", "source": "/usr", "target": "/usr", "readonly": True}),
    "bind_opt_dev": (m.bind("/opt/x", "/x", dev=True, optional=True),
                     {"type": "bind", "source": "/opt/x", "target": "/x", "dev": True,
                      "optional": True}),
    "bind_fd": (m.bind_fd(5, "/data"), {"type": "bind", "source_fd": 5, "target": "/data"}),
    "tmpfs": (m.tmpfs("/tmp", size="64m", mode=0o1777, read_only=True),
              {"type": "tmpfs", "target": "/tmp", "size": 67108864, "mode": "1777",
               "readonly": True}),
    "tmpfs_default": (m.tmpfs("/t"), {"type": "tmpfs", "target": "/t"}),
    "proc": (m.proc(), {"type": "proc", "target": "/proc"}),
    "dev": (m.dev(), {"type": "dev", "target": "/dev"}),
    "mqueue": (m.mqueue(), {"type": "mqueue", "target": "/dev/mqueue"}),
    "dir": (m.dir("/work", mode="700"), {"type": "dir", "target": "/work", "mode": "700"}),
    "symlink": (m.symlink("usr/bin", "/bin"),
                {"type": "symlink", "source": "usr/bin", "target": "/bin"}),
    "file": (m.file("/etc/hostname", "box\n"),
             {"type": "file", "target": "/etc/hostname", "mode": "644", "content": "box\n"}),
    "file_nul": (m.file("/f", "a\0b", mode=0o600),
                 {"type": "file", "target": "/f", "mode": "0600", "content": "a\u0000b"}),
    "file_fd": (m.file_from_fd(7, "/input.txt"),
                {"type": "file", "target": "/input.txt", "content_fd": 7}),
    "remount_ro": (m.remount_ro("/data"), {"type": "remount_ro", "target": "/data"}),
    "mask": (m.mask("/proc/kcore", optional=True),
             {"type": "mask", "target": "/proc/kcore", "optional": True}),
    "overlay": (m.overlay(["/top", "/bottom"], "/u", "/w", "/src"),
                {"type": "overlay", "target": "/src", "lower": ["/top", "/bottom"],
                 "upper": "/u", "work": "/w"}),
    "tmp_overlay": (m.tmp_overlay(["/usr"], "/usr"),
                    {"type": "tmp_overlay", "target": "/usr", "lower": ["/usr"]}),
    "ro_overlay": (m.ro_overlay(["/a", "/b"], "/opt"),
                   {"type": "ro_overlay", "target": "/opt", "lower": ["/a", "/b"]}),
    "chmod": (m.chmod("/home", 0o700), {"type": "chmod", "target": "/home", "mode": "0700"}),
}

# In RUST_SPECS-shaped specs (ARGS of 10 bytes, CLONE_FLAGS) the MOUNT_OP record starts at
# R = 46, its payload at P = 54: kind @54, flags @56, mode @58, size @62, fd @70, source @74.
R, P = 46, 54
ARGS = struct.pack("<HHI", 1, 0, 10) + b"/bin/true\0"
NEWNS = struct.pack("<HHIQ", 9, 0, 8, names.CLONE_NEWNS)


def record(rtype, payload):
    return struct.pack("<HHI", rtype, 0, len(payload)) + payload


def raw_spec(*records):
    body = b"".join(records)
    return b"FXSP" + struct.pack("<HHI", 1, 0, 12 + len(body)) + body


def op_payload(kind, flags=0, mode=0, size=0, fd=-1, source=b"", target=b"/t", content=b""):
    return (struct.pack("<HHIQi", kind, flags, mode, size, fd) + source + b"\0" + target + b"\0"
            + content)


def op_spec(*payloads, before=(), after=()):
    return raw_spec(ARGS, NEWNS, *before, *(record(21, p) for p in payloads), *after)


def fault(data):
    try:
        decode(data)
    except SpecError as e:
        return (e.fault_name, e.offset)
    return None


def json_error(doc):
    try:
        Spec.from_json(doc)
    except JsonError as e:
        return e
    raise AssertionError(f"accepted: {doc}")


def refused(spec):
    try:
        encode(spec)
    except SpecError as e:
        return e
    raise AssertionError(f"encoded: {spec}")


class Bytes(unittest.TestCase):
    def test_the_cases_are_byte_identical_to_the_rust_encoder(self):
        self.assertEqual(set(RUST_SPECS), set(BUILT))
        for name, (op, doc) in BUILT.items():
            with self.subTest(name):
                want = bytes.fromhex(RUST_SPECS[name])
                spec = Spec(args=["/bin/true"], clone_flags=["newns"], mounts=[op])
                self.assertEqual(encode(spec).hex(), want.hex())
                # the JSON form gives the same op and the same bytes
                from_json = Spec.from_json({"args": ["/bin/true"], "clone_flags": ["newns"],
                                            "mounts": [doc]})
                self.assertEqual(from_json.mounts[0], op)
                self.assertEqual(encode(from_json), want)
                # and the bytes decode back to it
                self.assertEqual(decode(want).spec.mounts, [op])

    def test_every_kind_with_every_field_it_takes(self):
        """Every kind of the table (one without a case above too): every field its row takes,
        set away from its default, survives the encoder, the decoder and the JSON form."""
        for name, kind in names.MOUNT_KIND_TABLE.items():
            fields = {key: True for key in names.MOUNT_OP_FLAGS if kind.takes(key)}
            fields.update(mode=0o1234 if kind.mode else None, size=4096 if kind.size else 0)
            if kind.source != "none":
                fields["source"] = "/s" if kind.source == "path_or_fd" else "l"
            if kind.content:
                fields["content"] = "c\0d"
            if kind.lower:  # an overlay: the layers it needs
                fields["lower"] = [f"/l{i}" for i in range(kind.lower)]
                if kind.upper:
                    fields.update(upper="/u", work="/w")
            ops = [MountOp(type=name, target="/t", **fields)]
            if kind.fd:
                by_fd = dict(fields, **{kind.fd_key: 5})
                by_fd.pop("source" if kind.source == "path_or_fd" else "content", None)
                ops.append(MountOp(type=name, target="/t", **by_fd))
            for op in ops:
                with self.subTest(name, op=op):
                    spec = Spec(args=["/bin/true"], clone_flags=["newns"], mounts=[op])
                    payload = wire.mount_op_payload(op)
                    self.assertEqual(struct.unpack("<HH", payload[:4]), (kind.number, kind.flags))
                    self.assertEqual(decode(encode(spec)).spec.mounts, [op])
                    self.assertEqual(Spec.from_json(spec.to_json()), spec)

    def test_bind_data_builders(self):
        cases = [
            (m.bind_data("/etc/passwd", "root:x:0:0::/:/bin/sh\n"),
             {"type": "bind_data", "target": "/etc/passwd", "content": "root:x:0:0::/:/bin/sh\n"}),
            (m.bind_data_from_fd(4, "/etc/group", mode=0o644, read_only=True),
             {"type": "bind_data", "target": "/etc/group", "content_fd": 4, "mode": "0644",
              "readonly": True}),
        ]
        for op, doc in cases:
            with self.subTest(doc=doc):
                spec = Spec(args=["/bin/true"], clone_flags=["newns"], mounts=[op])
                self.assertEqual(json.loads(spec.to_json())["mounts"], [doc])
                self.assertEqual(Spec.from_json({"mounts": [doc]}).mounts, [op])
        self.assertEqual(m.bind_data("/x").mode, 0o600)  # bubblewrap's default
        payload = wire.mount_op_payload(m.bind_data("/x", "d"))
        self.assertEqual(struct.unpack("<HHI", payload[:8]), (11, 0, 0o600))

    def test_payload_layout(self):
        op = MountOp(type="tmpfs", target="/t", size=1 << 33, mode=0o1777, readonly=True)
        payload = wire.mount_op_payload(op)
        self.assertEqual(payload[:20], bytes.fromhex(
            "0200" "0200" "ff030000" "0000000002000000" "ffffffff"))
        self.assertEqual(payload[20:], b"\0/t\0")
        self.assertEqual(names.MOUNT_OP_FIXED_LEN, 20)
        # content is the rest of the payload, not a string: no NUL after it
        payload = wire.mount_op_payload(m.file("/f", "x"))
        self.assertTrue(payload.endswith(b"\0/f\0x"))

    def test_kind_numbers(self):
        # The numbers v1 gave; a later kind is an addition (test_tables checks every row).
        self.assertLessEqual({
            "bind": 1, "tmpfs": 2, "proc": 3, "dev": 4, "mqueue": 5, "dir": 6, "symlink": 7,
            "file": 8, "remount_ro": 9, "mask": 10}.items(), names.MOUNT_KINDS.items())
        self.assertEqual((names.MOUNT_OP_OPTIONAL, names.MOUNT_OP_READONLY, names.MOUNT_OP_DEV),
                         (1, 2, 4))
        self.assertEqual((names.Record.MOUNT_OP, names.Record.LAST), (21, 32))
        self.assertEqual(names.RECORD_NAMES[21], "mount_op")

    def test_raw_mounts_and_operations_keep_their_list_order(self):
        spec = Spec(args=["/bin/true"], clone_flags=["newns"], pivot_root="/r", mounts=[
            m.tmpfs("/a"), Mount(target="b"), m.dir("/c"), Mount.tmpfs("d")])
        data = encode(spec)
        types, at = [], 12
        while at < len(data):
            rtype, _, length = struct.unpack_from("<HHI", data, at)
            types.append(rtype)
            at += 8 + length
        # all entries at MOUNT's place, in list order, then PIVOT_ROOT
        self.assertEqual(types, [1, 9, 21, 10, 21, 10, 11])
        decoded = decode(data).spec
        self.assertEqual([type(x) for x in decoded.mounts], [MountOp, Mount, MountOp, Mount])
        self.assertEqual(encode(decoded), data)

    def test_writable_root_is_option_bit_12(self):
        spec = Spec(args=["/bin/true"], clone_flags=["newns"], pivot_root="/r",
                    writable_root=True)
        self.assertEqual(spec.option_bits(), 1 << 12)
        data = encode(spec)
        self.assertTrue(data.endswith(record(17, struct.pack("<Q", 0x1000))))
        self.assertTrue(decode(data).spec.writable_root)
        self.assertEqual(names.OPTIONS_KNOWN, 0x3FFFFF)
        # without pivot_root: Conflict at P of OPTIONS
        e = refused(Spec(args=["/bin/true"], writable_root=True))
        self.assertEqual((e.fault_name, e.offset, e.record), ("Conflict", 38, "options"))

    def test_content_may_hold_any_bytes(self):
        content = bytes(range(256)) * 3
        spec = Spec(args=["/bin/true"], clone_flags=["newns"],
                    mounts=[m.file("/bin.dat", content, mode=0o755)])
        decoded = decode(encode(spec)).spec.mounts[0]
        self.assertEqual(wire._b(decoded.content), content)
        self.assertEqual(encode(Spec.from_json(spec.to_json())), encode(spec))


class Decoder(unittest.TestCase):
    """The checks of crates/spec/src/decode.rs `parse_mount_op` and the whole-spec rules, in
    their order, with the Rust decoder's fault and offset."""

    def test_payload_refusals(self):
        long = b"/" * 4096  # 4097 with its NUL
        cases = [
            ("short", op_spec(op_payload(3)[:19]), ("BadRecordLength", R + 4)),
            ("kind 0", op_spec(op_payload(0)), ("BadValue", P)),
            ("kind 65535", op_spec(op_payload(65535)), ("BadValue", P)),
            ("unknown flag", op_spec(op_payload(1, flags=16, source=b"/s")),
             ("UnknownBits", P + 2)),
            ("fd -2", op_spec(op_payload(1, fd=-2)), ("FdOutOfRange", P + 16)),
            ("fd 2^20", op_spec(op_payload(1, fd=1 << 20)), ("FdOutOfRange", P + 16)),
            ("no NUL", op_spec(op_payload(3)[:20] + b"/t"), ("Unterminated", P + 22)),
            ("target unterminated", op_spec(op_payload(3)[:20] + b"\0/t"),
             ("Unterminated", P + 23)),
            ("long source", op_spec(op_payload(7, source=long)), ("TooLong", P + 20)),
            ("long target", op_spec(op_payload(3, target=long)), ("TooLong", P + 21)),
            ("readonly proc", op_spec(op_payload(3, flags=2)), ("BadValue", P + 2)),
            ("dev tmpfs", op_spec(op_payload(2, flags=4)), ("BadValue", P + 2)),
            ("readonly mask", op_spec(op_payload(10, flags=2)), ("BadValue", P + 2)),
            ("optional file", op_spec(op_payload(8, flags=1)), ("BadValue", P + 2)),
            ("mode 010000", op_spec(op_payload(6, mode=0o10000)), ("BadValue", P + 4)),
            ("mode on bind", op_spec(op_payload(1, mode=0o755, source=b"/s")),
             ("BadValue", P + 4)),
            ("size on dir", op_spec(op_payload(6, size=1)), ("BadValue", P + 8)),
            ("fd on tmpfs", op_spec(op_payload(2, fd=3)), ("BadValue", P + 16)),
            ("bind with both", op_spec(op_payload(1, fd=3, source=b"/s")), ("Conflict", P + 20)),
            ("bind with neither", op_spec(op_payload(1)), ("Conflict", P + 20)),
            ("symlink without text", op_spec(op_payload(7)), ("BadValue", P + 20)),
            ("source on dir", op_spec(op_payload(6, source=b"/s")), ("BadValue", P + 20)),
            ("content on proc", op_spec(op_payload(3, content=b"x")), ("BadValue", P + 24)),
            ("file with fd and content", op_spec(op_payload(8, fd=3, content=b"x")),
             ("Conflict", P + 24)),
            ("relative target", op_spec(op_payload(3, target=b"proc")), ("BadValue", P + 21)),
            ("empty target", op_spec(op_payload(3, target=b"")), ("BadValue", P + 21)),
        ]
        for name, data, want in cases:
            with self.subTest(name):
                self.assertEqual(fault(data), want)

    def test_accepted_payloads(self):
        for payload in (op_payload(1, flags=7, source=b"/s"), op_payload(1, fd=0),
                        op_payload(2, flags=2, mode=0o7777, size=1 << 63),
                        op_payload(8, mode=0, content=b"\0"), op_payload(8, fd=(1 << 20) - 1),
                        op_payload(10, flags=1), op_payload(7, source=b"../x"),
                        op_payload(3, target=b"/../x")):  # `..` is the helper's (EXDEV)
            with self.subTest(payload.hex()):
                self.assertIsNone(fault(op_spec(payload)))

    def test_shared_limit_and_index_space(self):
        raw = record(10, struct.pack("<QI", 0, 1) + b"\0t\0\0\0")
        op = record(21, op_payload(3))
        ok = raw_spec(ARGS, NEWNS, *([raw, op] * 128))
        self.assertIsNone(fault(ok))
        too_many = raw_spec(ARGS, NEWNS, *([raw, op] * 128), op)
        self.assertEqual(fault(too_many), ("TooMany", len(ok)))
        e = refused(Spec(args=["/bin/true"], clone_flags=["newns"],
                         mounts=[Mount(target="t"), m.proc()] * 128 + [m.proc()]))
        self.assertEqual((e.fault_name, e.record), ("TooMany", "mounts[256]"))
        # a refusal names the entry by its position among both kinds
        e = refused(Spec(args=["/bin/true"], clone_flags=["newns"],
                         mounts=[Mount(target="a"), m.tmpfs("/b"), m.dir("relative")]))
        self.assertEqual((e.fault_name, e.record), ("BadValue", "mounts[2].target"))

    def test_mount_op_needs_newns(self):
        data = raw_spec(ARGS, record(21, op_payload(3)))
        self.assertEqual(fault(data), ("Conflict", 30))
        e = refused(Spec(args=["/bin/true"], mounts=[m.proc()]))
        self.assertEqual((e.fault_name, e.record), ("Conflict", "mounts[0]"))
        # the first of either kind is named
        e = refused(Spec(args=["/bin/true"], mounts=[Mount(target="t"), m.proc()]))
        self.assertEqual(e.record, "mounts[0]")

    def test_op_fd_the_fd_table_replaces_is_a_conflict(self):
        files = record(6, struct.pack("<3i", 0, 5, -1))
        # R of the MOUNT_OP after FILES (20 bytes): 66, fd at 66 + 8 + 16
        for fd, want in ((0, None), (1, ("Conflict", 90)), (2, ("Conflict", 90)), (3, None),
                         (5, None)):
            with self.subTest(fd=fd):
                self.assertEqual(fault(op_spec(op_payload(1, fd=fd), before=[files])), want)
        # the same through the encoder: files=[0, w, w] replaces fds 1 and 2
        base = dict(args=["/bin/true"], clone_flags=["newns"], files=[0, 9, 9])
        e = refused(Spec(**base, mounts=[m.tmpfs("/t"), m.file_from_fd(2, "/in")]))
        self.assertEqual((e.fault_name, e.record), ("Conflict", "mounts[1].content_fd"))
        encode(Spec(**base, mounts=[m.bind_fd(0, "/d"), m.file_from_fd(3, "/in")]))


class Json(unittest.TestCase):
    def test_the_documented_examples(self):
        examples = [
            '{"type":"bind","source":"/usr","target":"/usr","readonly":true,"dev":false,'
            '"optional":false}',
            '{"type":"bind","source_fd":5,"target":"/data"}',
            '{"type":"tmpfs","target":"/tmp","size":67108864,"mode":"1777","readonly":false}',
            '{"type":"proc","target":"/proc"}',
            '{"type":"dev","target":"/dev"}',
            '{"type":"mqueue","target":"/dev/mqueue"}',
            '{"type":"dir","target":"/work","mode":"700"}',
            '{"type":"symlink","source":"usr/bin","target":"/bin"}',
            '{"type":"file","target":"/etc/hostname","mode":"644","content":"box\\n"}',
            '{"type":"file","target":"/input.txt","content_fd":7}',
            '{"type":"remount_ro","target":"/data"}',
            '{"type":"mask","target":"/proc/kcore","optional":true}',
        ]
        doc = ('{"args":["/bin/true"],"clone_flags":["newns"],"pivot_root":"/r",'
               '"writable_root":true,"mounts":[' + ",".join(examples) + ',{"target":"raw"}]}')
        spec = Spec.from_json(doc)
        self.assertEqual([op.type for op in spec.mounts[:-1]], [
            "bind", "bind", "tmpfs", "proc", "dev", "mqueue", "dir", "symlink", "file", "file",
            "remount_ro", "mask"])
        self.assertEqual(spec.mounts[-1], Mount(target="raw"))
        self.assertTrue(spec.writable_root)
        self.assertEqual(Spec.from_json(spec.to_json()), spec)
        self.assertEqual(decode(encode(spec)).spec, spec)
        out = json.loads(spec.to_json())
        # booleans at false and defaults are left out; modes as 4 octal digits, sizes in bytes
        self.assertEqual(out["mounts"][0], {"type": "bind", "source": "/usr", "target": "/usr",
                                            "readonly": True})
        # (as the Rust client writes it: mode left out at the type's default)
        self.assertEqual(out["mounts"][2], {"type": "tmpfs", "target": "/tmp",
                                            "mode": "1777", "size": 67108864})
        self.assertEqual(out["mounts"][6]["mode"], "0700")
        self.assertEqual(out["mounts"][8], {"type": "file", "target": "/etc/hostname",
                                            "content": "box\n"})
        self.assertEqual(out["mounts"][9], {"type": "file", "target": "/input.txt",
                                            "content_fd": 7})
        self.assertEqual(out["writable_root"], True)

    def test_mode_forms_and_defaults(self):
        for value in ("1777", "01777", 0o1777, 1023):
            self.assertEqual(m.tmpfs("/t", mode=value).mode, 0o1777)
        self.assertEqual(MountOp(type="dir", target="/d").mode, 0o755)
        self.assertEqual(MountOp(type="file", target="/f").mode, 0o644)
        self.assertEqual(MountOp(type="tmpfs", target="/t").mode, 0o755)
        self.assertIsNone(m.proc().mode)
        self.assertEqual(m.dir("/d", mode=0).mode, 0, "0 is a mode, not the default")
        for bad in ("8", "", "0x1ff", "rwx", 1.5, True, -1, "7" * 12, "10000", 0o10000):
            with self.subTest(bad=bad):
                e = json_error({"mounts": [{"type": "dir", "target": "/d", "mode": bad}]})
                self.assertEqual(e.path, "mounts[0].mode")
        with self.assertRaises(JsonError):
            m.dir("/d", mode=0o10000)  # above 7777: refused when made (the decoder would too)

    def test_size_forms(self):
        for value, size in (("64m", 64 << 20), ("1k", 1024), ("2G", 2 << 30), ("123", 123),
                            (0, 0), (5, 5)):
            self.assertEqual(m.tmpfs("/t", size=value).size, size)
        for bad in ("64x", "m", "-1", "1.5m", -1, 1.5, True, " 1m"):
            with self.subTest(bad=bad):
                e = json_error({"mounts": [{"type": "tmpfs", "target": "/t", "size": bad}]})
                self.assertEqual(e.path, "mounts[0].size")

    def test_refusals_name_their_key(self):
        cases = {
            '{"type": "bnd", "target": "/x"}': "mounts[0].type",
            '{"type": 1, "target": "/x"}': "mounts[0].type",
            '{"type": "bind", "source": "/a", "target": "/a", "mode": "755"}': "mounts[0].mode",
            '{"type": "bind", "source": "/a", "target": "/a", "fstype": "x"}':
                "mounts[0].fstype",
            '{"type": "proc", "target": "/proc", "readonly": true}': "mounts[0].readonly",
            '{"type": "tmpfs", "target": "/t", "dev": true}': "mounts[0].dev",
            '{"type": "dir", "target": "/d", "size": 1}': "mounts[0].size",
            '{"type": "file", "target": "/f", "optional": true}': "mounts[0].optional",
            '{"type": "symlink", "source": "a", "target": "/b", "content": "x"}':
                "mounts[0].content",
            '{"type": "dir", "source": "/s", "target": "/d"}': "mounts[0].source",
            # rules between fields name the entry (as the Rust client's do)
            '{"type": "bind", "source": "/a", "source_fd": 3, "target": "/a"}': "mounts[0]",
            '{"type": "bind", "target": "/a"}': "mounts[0]",
            '{"type": "file", "target": "/f", "content": "x", "content_fd": 3}': "mounts[0]",
            '{"type": "file", "target": "/f", "content": [1, 256]}': "mounts[0].content[1]",
            '{"target": "/p", "mode": "755"}': "mounts[0]",
            '{"mode": "755", "type": "proc", "target": "/p"}': "mounts[0]",
            '{"type": "proc"}': "mounts[0]",
            '{"type": "symlink", "target": "/b"}': "mounts[0]",
            '{"type": "bind", "source_fd": -1, "target": "/a"}': "mounts[0]",
            '{"type": "file", "target": "/f", "content_fd": "3"}': "mounts[0].content_fd",
            '{"type": "file", "target": "/f", "content": 5}': "mounts[0].content",
            '{"type": "bind", "source": "/a", "target": "/a", "readonly": 1}':
                "mounts[0].readonly",
            '{"type": "proc", "target": "/proc", "target": "/p"}': "mounts[0].target",
        }
        for entry, path in cases.items():
            with self.subTest(entry):
                e = json_error('{"mounts": [' + entry + ']}')
                self.assertEqual(e.path, path, str(e))
        e = json_error('{"mounts": [{"type": "bnd", "target": "/x"}]}')
        self.assertEqual(str(e), "mounts[0].type: unknown mount type `bnd`, expected "
                                 "one of: bind, tmpfs, proc, dev, mqueue, dir, symlink, file, "
                                 "remount_ro, mask" + "".join(
                                     ", " + k for k in list(names.MOUNT_KINDS)[10:]))
        e = json_error('{"mounts": [{"type": "bind", "source": "/a", "target": "/a", '
                       '"mode": "755"}]}')
        self.assertEqual(str(e), "mounts[0].mode: `mode` does not apply to a bind mount "
                                 "operation (a bind takes `type`, `target`, `source`, "
                                 "`source_fd`, `readonly`, `dev`, `optional`)")
        e = json_error('{"mounts": [{"target": "/p", "size": 1}]}')
        self.assertIn('`size` is a key of mount operations, which need a "type"', str(e))
        e = json_error('{"writable_root": 1}')
        self.assertEqual(e.path, "writable_root")

    def test_decoder_refusals_through_the_encoder(self):
        # What the JSON form lets through, the decoder refuses with its fault and offset.
        base = dict(args=["/bin/true"], clone_flags=["newns"])
        # (the record names the field, as the Rust client's does)
        cases = [
            (m.tmpfs("relative"), ("BadValue", P + 21, "mounts[0].target")),
            (m.bind_fd(1 << 20, "/a"), ("FdOutOfRange", P + 16, "mounts[0].source_fd")),
            (m.file("/" + "x" * 4095), ("TooLong", P + 21, "mounts[0].target")),
            (m.symlink("x" * 4096, "/a"), ("TooLong", P + 20, "mounts[0].source")),
        ]
        for op, want in cases:
            with self.subTest(op=op.type):
                e = refused(Spec(**base, mounts=[op]))
                self.assertEqual((e.fault_name, e.offset, e.record), want)
        e = refused(Spec(**base, mounts=[m.tmpfs("relative")]))
        self.assertEqual(str(e), "spec: value out of range at byte 75 (mounts[0].target)")
        # an empty source is no source (as on the wire, where the decoder refuses it with
        # Conflict for a bind and BadValue for a symlink): refused when the op is made
        for make in (lambda: m.symlink("", "/b"), lambda: m.bind("", "/a"),
                     lambda: Spec(mounts=[{"type": "bind", "source": "", "target": "/a"}])):
            with self.assertRaises(JsonError) as cm:
                make()
            self.assertIn("needs `source`", str(cm.exception))

    def test_content_forms(self):
        # empty content is no content (so it goes with a content_fd)
        op = Spec.from_json({"mounts": [{"type": "file", "target": "/f", "content": "",
                                         "content_fd": 3}]}).mounts[0]
        self.assertEqual((op.content, op.content_fd), (None, 3))
        # bytes that are not UTF-8 are written as a list of byte values, and read back
        op = m.file("/f", b"\xff\0ok")
        item = json.loads(Spec(mounts=[op]).to_json())["mounts"][0]
        self.assertEqual(item["content"], [255, 0, 111, 107])
        again = Spec.from_json({"mounts": [item]}).mounts[0]
        self.assertEqual(again.content, b"\xff\0ok")
        self.assertEqual(wire.mount_op_payload(again), wire.mount_op_payload(op))

    def test_nul_in_source_or_target_names_the_field(self):
        base = dict(args=["/bin/true"], clone_flags=["newns"])
        e = refused(Spec(**base, mounts=[m.dir("/a"), m.symlink("a\0b", "/b")]))
        self.assertEqual(e.field, "mounts[1].source")
        e = refused(Spec(**base, mounts=[m.dir("/a\0")]))
        self.assertEqual(e.field, "mounts[0].target")

    def test_python_values(self):
        self.assertEqual(m.bind("/a"), MountOp(type="bind", source="/a", target="/a"))
        self.assertEqual(m.ro_bind("/a", "/b", optional=True),
                         MountOp(type="bind", source="/a", target="/b", readonly=True,
                                 optional=True))
        self.assertEqual(m.dev_bind("/dev/fuse").dev, True)
        self.assertEqual(Spec(mounts=[{"type": "proc", "target": "/proc"}]).mounts,
                         [m.proc()])
        self.assertEqual(m.file("/f", bytearray(b"x")).content, b"x")
        self.assertEqual(m.proc().kind(), 3)
        with self.assertRaises(JsonError) as cm:
            MountOp(type="bind", source="/a", target="/a", mode=0o700)
        self.assertEqual(str(cm.exception), "`mode` does not apply to a bind mount operation "
                                            "(a bind takes `type`, `target`, `source`, "
                                            "`source_fd`, `readonly`, `dev`, `optional`)")
        with self.assertRaises(JsonError) as cm:
            MountOp(type="proc", target="/proc", readonly=1)
        self.assertEqual(cm.exception.path, "readonly")
        with self.assertRaises(JsonError):
            MountOp(type="cgroup", target="/sys/fs/cgroup")
        # a changed list is checked again when encoded
        spec = Spec(args=["/bin/true"], clone_flags=["newns"])
        spec.mounts.append({"type": "mask", "target": "/x", "optional": True})
        self.assertEqual(decode(encode(spec)).spec.mounts, [m.mask("/x", optional=True)])


class Overlay(unittest.TestCase):
    """The overlay kinds' layers: the record's content, checked as the Rust decoder and the
    Rust client check them."""

    def test_layer_refusals_match_the_rust_decoder(self):
        # payload offsets: content starts after source "" and target "/t": P + 20 + 1 + 3
        c = P + 24
        cases = [
            (op_payload(12, content=b"/u\0/w\0"), ("BadValue", c + 6)),  # no lower
            (op_payload(14, content=b"/a\0"), ("BadValue", c + 3)),  # ro: one lower
            (op_payload(13, content=b""), ("BadValue", c)),
            (op_payload(13, content=b"rel\0"), ("BadValue", c)),
            (op_payload(13, content=b"/a\0\0"), ("BadValue", c + 3)),  # an empty one
            (op_payload(13, content=b"/a\0/b"), ("Unterminated", c + 5)),
            (op_payload(13, content=b"/" + b"x" * 4095 + b"\0"), ("TooLong", c)),
            (op_payload(14, content=b"".join(b"/%d\0" % i for i in range(501))),
             ("TooMany", c + sum(len(b"/%d\0" % i) for i in range(500)))),
            (op_payload(13, size=1, content=b"/a\0"), ("BadValue", P + 8)),
        ]
        for payload, want in cases:
            with self.subTest(payload=payload[:40]):
                self.assertEqual(fault(op_spec(payload)), want)
        # 500 lower directories, besides upper and work, are accepted.
        many = b"".join(b"/%d\0" % i for i in range(500))
        got = decode(op_spec(op_payload(12, content=b"/u\0/w\0" + many))).spec.mounts[0]
        self.assertEqual((got.upper, got.work, len(got.lower)), ("/u", "/w", 500))

    def test_client_refusals_say_what_is_wrong(self):
        cases = [
            ({"type": "ro_overlay", "target": "/x", "lower": ["/a"]},
             "the ro_overlay needs at least 2 `lower` directories, not 1"),
            ({"type": "overlay", "target": "/x", "lower": ["/l"], "upper": "/u"},
             "the overlay needs `work` (a host directory)"),
            ({"type": "tmp_overlay", "target": "/x", "lower": ["l"]},
             "`lower` paths must be absolute (host paths), not `l`"),
            ({"type": "tmp_overlay", "target": "/x", "lower": ["/l"], "upper": "/u"},
             "`upper` does not apply to a tmp_overlay mount operation"),
            ({"type": "tmpfs", "target": "/t", "lower": ["/l"]},
             "`lower` does not apply to a tmpfs"),
            ({"type": "chmod", "target": "/x"},
             'a chmod mount operation needs a "mode" (it has no default)'),
        ]
        for doc, text in cases:
            with self.subTest(doc=doc):
                e = json_error({"args": ["/bin/true"], "clone_flags": ["newns"],
                                "mounts": [doc]})
                self.assertIn(text, str(e))

    def test_a_nul_in_a_layer_names_the_field(self):
        for op, key in ((m.tmp_overlay(["/a\0b"], "/x"), "lower"),
                        (m.overlay(["/l"], "/u\0", "/w", "/x"), "upper")):
            spec = Spec(args=["/bin/true"], clone_flags=["newns"], mounts=[op])
            self.assertEqual(refused(spec).field, f"mounts[0].{key}")


class Fds(unittest.TestCase):
    def test_op_fds_are_passed_with_their_numbers(self):
        from forkexec.runner import _inherited_fds
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        self.addCleanup(os.close, w)
        spec = Spec(args=["/bin/true"], clone_flags=["newns"], files=[0, 1, 2],
                    mounts=[m.bind_fd(r, "/a"), m.file_from_fd(w, "/b"), m.proc()])
        self.assertEqual(_inherited_fds(spec), sorted({0, 1, 2, r, w}))

    def test_a_closed_op_fd_is_refused_before_spawning(self):
        with tempfile.TemporaryFile() as f:
            fd = os.dup(f.fileno())
        os.close(fd)
        with self.assertRaises(HelperError) as cm:
            Runner(args=["/bin/true"], clone_flags=["newns"],
                   mounts=[m.tmpfs("/t"), m.file_from_fd(fd, "/in")],
                   helper="/nonexistent/forkexec").start()
        self.assertIn(f"mounts[1].content_fd (fd {fd})", str(cm.exception))


class Locations(unittest.TestCase):
    def test_new_locations(self):
        self.assertEqual((names.LOCATIONS[48], names.LOCATIONS[49]),
                         ("mount(path)", "mount(source)"))
        self.assertEqual(str(ChildError(48, errno.EXDEV, 1)),
                         "mount(path)(1): invalid cross-device link")
        self.assertEqual(str(ChildError(49, errno.ENOENT, 2)),
                         "mount(source)(2): no such file or directory")


if __name__ == "__main__":
    unittest.main()
