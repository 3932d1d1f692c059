#!/usr/bin/env bash
# make bench: sets up what the benchmark needs on a fresh machine, builds the runners, runs the
# driver (bench/src/main.rs). Extra arguments go to the driver (e.g. --quick, --rounds N).
#
# As root, missing tools (bubblewrap, hyperfine, strace, and gcc for the payload) are installed
# with apt-get; as an ordinary user they are reported and the runners that need them left out.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
CC=${CC:-gcc}
out=bench/out

need=()
for tool in bwrap:bubblewrap hyperfine:hyperfine strace:strace "$CC":gcc; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool##*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bench: installing ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "bench: missing ${need[*]} (not root: not installing); those runners are left out"
  fi
fi
command -v "$CC" >/dev/null 2>&1 || { echo "bench: no C compiler ($CC) for the payload"; exit 1; }

$CARGO build --release -q -p forkexec
$CARGO build --release -q -p forkexec-bench
make -s cli CARGO="$CARGO"
mkdir -p "$out"
# The payload and the bare sandbox program: static, no libc, no start files.
cflags=(-static -nostdlib -O2 -s -Wall -Wextra -ffreestanding
        -fno-tree-loop-distribute-patterns -fno-stack-protector
        -fno-asynchronous-unwind-tables -Wl,--build-id=none)
"$CC" "${cflags[@]}" -o "$out/payload" bench/payload.c
"$CC" "${cflags[@]}" -o "$out/bare" bench/bare.c
# A static C program with glibc, the yardstick for forkexec-run's own start.
"$CC" -O2 -static -s -o "$out/hello" bench/hello.c

exec target/release/forkexec-bench --helper target/release/forkexec --cli target/release/forkexec-run \
  --hello "$out/hello" \
  --payload "$out/payload" \
  --bare "$out/bare" --python-script bench/spawn.py --out "$out" \
  --docs docs --readme README.md "$@"
