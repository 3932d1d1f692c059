"""The client's numbers and names against the tables generated into docs/spec.md ("Tables")
from crates/spec/src/tables.rs, the one source the Rust crates read: record types, option
bits, clone flags, mount flags, rlimit resources, mount operation flags and every mount
operation kind's row (flags, mode, size, fd, content, source rule, default mode, lower
directories, upper)."""

import re
import unittest

from forkexec import names

from .support import spec_md

BEGIN = "<!-- BEGIN GENERATED TABLES"
END = "<!-- END GENERATED TABLES -->"


def generated_section():
    path = spec_md()
    if path is None:
        raise AssertionError("docs/spec.md not found (set FORKEXEC_SPEC_MD)")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return text[text.index(BEGIN):text.index(END)]


def table(section, title):
    """The rows of the `#### title` table as lists of cells, backticks removed."""
    part = section[section.index(f"#### {title}\n"):]
    part = part[:part.find("\n#### ", 1) if "\n#### " in part[1:] else len(part)]
    rows = []
    for line in part.splitlines():
        if not line.startswith("| ") or line.startswith("|---"):
            continue
        cells = [c.strip().replace("`", "") for c in line.strip("|").split("|")]
        rows.append(cells)
    return rows[1:]  # without the header


def number(cell):
    return int(cell, 0)


class GeneratedTables(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.section = generated_section()

    def test_record_types(self):
        rows = table(self.section, "Record types")
        self.assertEqual({number(v): name for v, name, _ in rows}, names.RECORD_NAMES)
        for v, _, ident in rows:
            self.assertEqual(getattr(names.Record, ident), number(v), ident)
        self.assertEqual(names.Record.LAST, max(number(v) for v, _, _ in rows))

    def test_option_bits(self):
        rows = table(self.section, "Option bits (OPTIONS)")
        # JSON spells NO_SETSID inverted, as `setsid`.
        want = {("setsid" if name == "no_setsid" else name): number(v) for v, name, _ in rows}
        self.assertEqual(names.OPTION_BITS, want)
        known = 0
        for v, _, ident in rows:
            known |= number(v)
            if hasattr(names, "OPT_" + ident):
                self.assertEqual(getattr(names, "OPT_" + ident), number(v), ident)
        self.assertEqual(names.OPTIONS_KNOWN, known)

    def test_clone_flags(self):
        rows = table(self.section, "Clone flags (CLONE_FLAGS)")
        self.assertEqual(list(names.CLONE_FLAGS.items()), [(n, number(v)) for v, n, _ in rows])
        self.assertEqual(names.CLONE_KNOWN, sum(number(v) for v, _, _ in rows))

    def test_mount_flags(self):
        rows = table(self.section, "Mount flags (MOUNT)")
        self.assertEqual(list(names.MOUNT_FLAGS.items()), [(n, number(v)) for v, n, _ in rows])

    def test_rlimit_resources(self):
        rows = table(self.section, "Rlimit resources (RLIMIT)")
        self.assertEqual(list(enumerate(names.RESOURCES)), [(number(v), n) for v, n, _ in rows])
        self.assertEqual(names.Limit.RESOURCE, len(rows))

    def test_mount_operation_flags(self):
        rows = table(self.section, "Mount operation flags (MOUNT_OP)")
        self.assertEqual(names.MOUNT_OP_FLAGS, {n: number(v) for v, n, _ in rows})
        self.assertEqual(names.MOUNT_OP_FLAGS_KNOWN, sum(number(v) for v, _, _ in rows))

    def test_mount_operation_kinds(self):
        rows = table(self.section, "Mount operation kinds (MOUNT_OP)")
        yes = {"yes": True, "no": False}
        want = {}
        for (kind, name, flags, mode, size, fd, content, source, default_mode, lower,
             upper) in rows:
            bits = 0 if flags == "-" else sum(names.MOUNT_OP_FLAGS[f.strip()]
                                              for f in flags.split(","))
            want[name] = (number(kind), bits, yes[mode], yes[size], yes[fd], yes[content],
                          source, int(default_mode, 8), int(lower), yes[upper])
        have = {name: (k.number, k.flags, k.mode, k.size, k.fd, k.content, k.source,
                       k.default_mode, k.lower, k.upper)
                for name, k in names.MOUNT_KIND_TABLE.items()}
        self.assertEqual(have, want)
        self.assertEqual(list(names.MOUNT_KINDS), [r[1] for r in rows])
        self.assertEqual(names.MOUNT_KIND_LAST, max(number(r[0]) for r in rows))


if __name__ == "__main__":
    unittest.main()
