"""The shared test vectors (crates/spec/vectors): the same specs encoded by Rust and by Python
are byte-identical, and both decoders refuse the malformed ones with the same fault at the same
offset. Checked as the vectors README's "How to check a vector" says."""

import json
import struct
import unittest

from forkexec import Spec, SpecError, decode, encode, names, wire

from .support import load_vectors, vectors_dir

# The vectors the README lists; a missing one means the directory is not the one we think.
EXPECTED = {
    "minimal.hex", "typical.hex", "exec_file.hex", "all_fields.hex", "skip_unknown.hex",
    "bad_magic.hex", "trailing_bytes.hex", "truncated.hex", "missing_args.hex",
    "unterminated_args.hex", "unknown_record.hex", "duplicate_record.hex",
    "fd_out_of_range.hex", "bad_rlimit.hex", "mount_without_newns.hex",
    "landlock.hex", "landlock_fs_only.hex", "landlock_port_unhandled.hex", "join_ns.hex",
    "join_ns_with_newpid.hex", "caps.hex", "caps_with_drop_caps.hex", "init_lock_files.hex",
    "bwrap_fds.hex",
}


def _rights_in_table_order(names_, table, groups):
    """Landlock right names as the bits they stand for (groups expanded), in table order."""
    bits = 0
    for n in names_:
        bits |= groups.get(n) or table[n]
    return [n for n, b in table.items() if bits & b]


def _same_form(d):
    """A spec dict with its sets in one order: mount and clone flags in table order, Landlock
    rights by the bits they name (the groups ``read`` and ``write`` expanded)."""
    for m in d.get("mounts", []):
        m["flags"] = sorted(m.get("flags", []))
    if "clone_flags" in d:
        d["clone_flags"] = sorted(d["clone_flags"])
    ll = d.get("landlock")
    if ll:
        for rule in ll.get("fs") or []:
            rule["access"] = _rights_in_table_order(rule["access"], names.LANDLOCK_FS,
                                                    names.LANDLOCK_FS_GROUPS)
        for rule in ll.get("net") or []:
            rule["access"] = _rights_in_table_order(rule["access"], names.LANDLOCK_NET, {})
    return d


class VectorFiles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.vectors = load_vectors()

    def test_every_listed_vector_is_there(self):
        have = {v.name for v in self.vectors}
        self.assertLessEqual(EXPECTED, have, f"vectors missing from {vectors_dir()}")

    def test_length_and_metadata(self):
        for v in self.vectors:
            with self.subTest(v.name):
                self.assertEqual(len(v.data), int(v.meta["length"]))
                self.assertIn(v.expect, ("ok", "error"))
                if v.expect == "ok":
                    self.assertIn("json", v.meta, "valid vectors always have json")
                if "json" in v.meta:
                    self.assertIn(v.meta["canonical"], ("yes", "no"))

    def test_canonical_vectors_are_reencoded_byte_for_byte(self):
        canonical = [v for v in self.vectors if v.meta.get("canonical") == "yes"]
        self.assertGreaterEqual(len(canonical), 7)
        for v in canonical:
            with self.subTest(v.name):
                spec = Spec.from_json(v.meta["json"])
                if v.expect == "ok":
                    got = encode(spec)
                else:
                    # The encoder refuses it (below); its bytes are still canonical.
                    got = wire.encode_unchecked(spec)
                self.assertEqual(got.hex(), v.data.hex())

    def test_json_line_round_trips_through_to_json(self):
        for v in self.vectors:
            if "json" not in v.meta:
                continue
            with self.subTest(v.name):
                spec = Spec.from_json(v.meta["json"])
                again = Spec.from_json(spec.to_json())
                self.assertEqual(again, spec)
                self.assertEqual(wire.encode_unchecked(again), wire.encode_unchecked(spec))

    def test_valid_vectors_decode_to_their_json(self):
        for v in self.vectors:
            if v.expect != "ok":
                continue
            with self.subTest(v.name):
                decoded = decode(v.data).spec
                want = Spec.from_json(v.meta["json"])
                # Same fields: the decoded spec encodes to the same canonical bytes, and reads
                # back as the same JSON (flags and rights as sets).
                self.assertEqual(encode(decoded), encode(want))
                self.assertEqual(_same_form(decoded.to_dict()), _same_form(want.to_dict()))

    def test_malformed_vectors_are_refused_with_their_fault_and_offset(self):
        malformed = [v for v in self.vectors if v.expect == "error"]
        self.assertGreaterEqual(len(malformed), 10)
        for v in malformed:
            with self.subTest(v.name):
                with self.assertRaises(SpecError) as cm:
                    decode(v.data)
                e = cm.exception
                self.assertEqual((e.fault, e.offset), (v.fault, v.offset))
                self.assertEqual(e.fault_name, v.fault_name)
                self.assertEqual(e.errno, int(v.meta["errno"].split()[0]))
                self.assertEqual(names.FAULTS[v.fault][2], e.errno)

    def test_encoder_refuses_invalid_json_specs_like_the_decoder(self):
        for v in self.vectors:
            if v.expect != "error" or "json" not in v.meta:
                continue
            with self.subTest(v.name):
                with self.assertRaises(SpecError) as cm:
                    encode(Spec.from_json(v.meta["json"]))
                self.assertEqual((cm.exception.fault, cm.exception.offset),
                                 (v.fault, v.offset))

    def test_skip_unknown_is_the_minimal_spec_plus_an_advisory_record(self):
        vectors = {v.name: v for v in self.vectors}
        skip, minimal = vectors["skip_unknown.hex"], vectors["minimal.hex"]
        self.assertEqual(skip.meta["canonical"], "no")
        self.assertEqual(encode(decode(skip.data).spec), minimal.data)

    def test_worked_example_of_the_spec(self):
        # docs/spec.md, "Worked example": 30 bytes for {"args":["/bin/true"]}.
        self.assertEqual(
            encode(Spec(args=["/bin/true"])).hex(),
            "46585350010000001e000000010000000a0000002f62696e2f7472756500")
        self.assertEqual(json.loads(Spec(args=["/bin/true"]).to_json()),
                         {"args": ["/bin/true"]})


def build(vector):
    """The bytes of ``vector`` made by this client from its ``# build:`` steps
    (crates/spec/vectors/README.md, "How a vector is built"): the specs through this client's
    own encoder (``wire.encode_unchecked``), the raw steps with ``struct`` here. Nothing comes
    from the Rust side but the steps."""
    out = bytearray()
    for step in json.loads(vector.meta["build"]):
        op, args = step[0], step[1:]
        if op == "json":
            out = bytearray(wire.encode_unchecked(Spec.from_json(vector.meta["json"])))
        elif op == "encode":
            out = bytearray(wire.encode_unchecked(Spec.from_json(args[0])))
        elif op == "header":
            out = bytearray(names.MAGIC + struct.pack("<HHI", names.VERSION, 0, 12))
        elif op == "record":
            rtype, flags, payload = args[0], args[1], bytes.fromhex(args[2])
            out += struct.pack("<HHI", rtype, flags, len(payload)) + payload
            out[8:12] = struct.pack("<I", len(out))
        elif op == "set":
            at, data = args[0], bytes.fromhex(args[1])
            out[at:at + len(data)] = data
        elif op == "append":
            out += bytes.fromhex(args[0])
        elif op == "truncate":
            del out[args[0]:]
        else:
            raise AssertionError(f"{vector.name}: unknown build step {op!r}")
    return bytes(out)


class VectorsBuiltIndependently(unittest.TestCase):
    """Every vector, valid or malformed, is reproduced byte for byte by this client's encoder
    from the vector's ``# build:`` steps: the Rust ``Writer`` that wrote the files and this
    encoder agree on every byte (a change to either shows here; the files change only by
    ``make bless-vectors``)."""

    def test_every_vector_is_reproduced_byte_for_byte(self):
        vectors = load_vectors()
        self.assertGreaterEqual(len(vectors), len(EXPECTED))
        for v in vectors:
            with self.subTest(v.name):
                self.assertIn("build", v.meta, "every vector says how it is built")
                self.assertEqual(build(v).hex(), v.data.hex())


if __name__ == "__main__":
    unittest.main()
