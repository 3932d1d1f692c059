#!/usr/bin/env python3
"""The helper's .text bytes per source module, largest first: `make check-helper` prints it so
growth is seen where it happens.

    scripts/helper-sizes.py target/measure/forkexec

The binary is the `measure` profile's build (the release build with line tables, Cargo.toml):
each instruction's bytes count for the source file `objdump -d -l` names for it, so inlined
code counts where it was written. Files are
grouped as `src/…` (the helper), `helper-core/…`, `spec/…`, and `core`/`compiler` for Rust's
own. Prints `bytes  module` for the largest 20, the rest summed, then the total.
"""

import re
import subprocess
import sys
from collections import Counter

#: How many modules to list one by one; the rest are summed.
TOP = 20


def text_range(binary):
    out = subprocess.run(["objdump", "-h", binary], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[1] == ".text":
            size, addr = int(parts[2], 16), int(parts[3], 16)
            return addr, addr + size
    raise SystemExit(f"{binary}: no .text section")


def module(path):
    path = path.replace("\\\\", "/")
    for marker, name in (("/crates/helper-core/src/", "helper-core/"),
                         ("/crates/spec/src/", "spec/")):
        if marker in path:
            return name + path.split(marker, 1)[1]
    m = re.search(r"/src/(.+\.rs)$", path)
    if "/rustlib/" in path or "/library/" in path or path.startswith("/rustc/"):
        return "core (Rust library)"
    if "/compiler_builtins" in path or "/.cargo/registry/" in path:
        crate = re.search(r"/([a-z_\-]+)-\d[^/]*/", path)
        return f"crate {crate.group(1)}" if crate else "other crates"
    if m:
        return "src/" + m.group(1)
    return path or "(no line info)"


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    binary = sys.argv[1]
    start, end = text_range(binary)
    # `objdump -d -l` names the source line before each run of instructions it produced.
    out = subprocess.run(["objdump", "-d", "-l", "--no-show-raw-insn", "-j", ".text", binary],
                         capture_output=True, text=True, check=True).stdout
    rows = []
    current = ""
    for line in out.splitlines():
        src = re.match(r"^(/\S+|\S+\.rs):\d+(?: \(discriminator \d+\))?$", line)
        if src:
            current = src.group(1)
            continue
        insn = re.match(r"^\s+([0-9a-f]+):", line)
        if insn:
            rows.append((int(insn.group(1), 16), current))
    rows = sorted(r for r in rows if start <= r[0] < end)
    sizes = Counter()
    for (addr, path), nxt in zip(rows, rows[1:] + [(end, None)]):
        sizes[module(path)] += nxt[0] - addr
    total = end - start
    ranked = sizes.most_common()
    print(f"helper .text per module ({binary}), largest first:")
    for name, size in ranked[:TOP]:
        print(f"{size:7d}  {name}")
    rest = ranked[TOP:]
    if rest:
        print(f"{sum(n for _, n in rest):7d}  {len(rest)} more modules, {rest[0][1]} bytes or less each")
    print(f"{total:7d}  .text in all")


if __name__ == "__main__":
    main()
