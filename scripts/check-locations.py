#!/usr/bin/env python3
"""Every error location the helper can report is provoked by a test, or listed here with the
reason it cannot be (docs/testing.md, "Error locations"). Fails otherwise, and also when a
location listed here is provoked after all (then the entry goes).

A location counts as provoked when a test file (not the tables that only enumerate every
location: crates/spec/tests/decode/faults.rs, crates/spec/tests/errno.rs) names it where a
test checks what the helper reported: `Location::Variant` (Rust records and errors), the name
passed to `assert_child_error(..., "name", ...)`, the helper's stderr line `forkexec: name(`
(when no record can be sent), or `Location.NAME` / `location == "name"` in the Python tests.
The script also checks that a location listed as never reported is indeed not used in src/.

    scripts/check-locations.py
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
TABLE = ROOT / "crates/spec/src/location.rs"
TEST_DIRS = ["crates", "rootfs-tests", "clients/python/tests"]
ENUMERATING = {"crates/spec/tests/decode/faults.rs", "crates/spec/tests/errno.rs"}

# Locations no test provokes, and why.
# Numbers 1-32 follow Go's sandbox table (docs/spec.md), some of whose steps this helper
# does not have: it never reports those.
NOT_PROVOKED = {
    "close_write": "never reported: the helper has no such step (a Go sandbox number)",
    "getpid": "never reported: the helper has no such step (a Go sandbox number)",
    "unlink": "never reported: the helper has no such step (a Go sandbox number)",
}


def locations():
    src = TABLE.read_text()
    return re.findall(r'^\s*(\w+) = (\d+) => "([^"]+)",', src, re.M)


def test_files():
    for d in TEST_DIRS:
        for p in (ROOT / d).rglob("*"):
            rel = p.relative_to(ROOT).as_posix()
            if p.suffix not in (".rs", ".py") or rel in ENUMERATING:
                continue
            if "/tests/" in "/" + rel or rel.startswith("clients/python/tests"):
                yield rel, p.read_text()


def main():
    texts = list(test_files())
    missing, stale = [], []
    for variant, number, name in locations():
        pats = [
            rf"Location::{variant}\b",
            rf'assert_child_error\([^;]*?"{re.escape(name)}"',
            rf"Location\.{variant.upper()}\b",
            rf"""location\s*==\s*["']{re.escape(name)}["']""",
            rf"forkexec: {re.escape(name)}\(",
        ]
        hit = [rel for rel, t in texts if any(re.search(x, t, re.S) for x in pats)]
        if name in NOT_PROVOKED:
            if hit:
                stale.append(f"{name} ({number}) is provoked in {hit[0]}: remove it from NOT_PROVOKED")
        elif not hit:
            missing.append(f"{name} ({number})")
    helper = "\n".join(p.read_text() for p in (ROOT / "src").rglob("*.rs"))
    for variant, number, name in locations():
        if name in NOT_PROVOKED and re.search(rf"Location::{variant}\b", helper):
            stale.append(f"{name} ({number}) is reported by src/ after all: it needs a test")
    total = len(locations())
    print(f"check-locations: {total} locations, {total - len(NOT_PROVOKED) - len(missing)} provoked "
          f"by a test, {len(NOT_PROVOKED)} listed with a reason, {len(missing)} neither")
    for m in missing:
        print(f"check-locations: no test provokes {m} and no reason is listed", file=sys.stderr)
    for s in stale:
        print(f"check-locations: {s}", file=sys.stderr)
    return 1 if missing or stale else 0


if __name__ == "__main__":
    sys.exit(main())
