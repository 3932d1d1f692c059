#!/usr/bin/env python3
"""The helper's largest stack frames: `make check-helper` prints them, and fails when a
function other than `spec_in::storage` (where the one `Spec` is made, once) has a frame over
the limit.

    scripts/helper-frames.py target/measure/forkexec

Each stack page a spawn touches is a page fault (the stack probes of a large frame touch
every page of it, used or not): a decoded `Spec` (some 26 KB) returned by value and copied
once cost about 7 faults a spawn, and the helper's `main` and the decoder once had 104 KB and
48 KB frames; the mount stage's path copies (a 4 KiB buffer each, three frames deep) cost 6
faults in the clone, each a copy of a page its parent touched (some 5-7 us each on this kind
of VM). Paths are views of the spec's bytes; a parent path is copied into static scratch. A frame is read from the function's prologue: `sub rsp, N`, plus `sub r11, N`
when a probe loop steps the stack down page by page (`objdump -d`).
"""

import re
import subprocess
import sys

#: Largest frame allowed (bytes): one path buffer (4 KiB) and change, not two, nor a `Spec`.
LIMIT = 6 * 1024
#: The one function that holds a `Spec` on its stack while making it (src/spec_in.rs).
ALLOWED = "forkexec::spec_in::storage"
TOP = 5


def frames(binary):
    out = subprocess.run(["objdump", "-d", "-C", "--no-show-raw-insn", "-M", "intel", binary],
                         capture_output=True, text=True, check=True).stdout
    sizes = {}
    name = None
    for line in out.splitlines():
        head = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if head:
            name, probe = re.sub(r"::h[0-9a-f]{16}$", "", head.group(1)), False
            sizes[name] = 0
            continue
        sub = re.search(r"\bsub\s+(rsp|r11),0x([0-9a-f]+)$", line)
        if not sub or name is None:
            continue
        n = int(sub.group(2), 16)
        if sub.group(1) == "r11":
            sizes[name] += n  # a probe loop's extent
            probe = True
        elif not (probe and n == 0x1000):  # not the loop's own step
            sizes[name] += n
    return sizes


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    ranked = sorted(frames(sys.argv[1]).items(), key=lambda kv: -kv[1])
    print("helper stack frames, largest first:")
    for name, size in ranked[:TOP]:
        print(f"{size:7d}  {name}")
    over = [(n, s) for n, s in ranked if s > LIMIT and n != ALLOWED]
    for name, size in over:
        print(f"{name}: a {size}-byte stack frame, over {LIMIT} (a Spec copied on the stack?)")
    if over:
        sys.exit(1)


if __name__ == "__main__":
    main()
