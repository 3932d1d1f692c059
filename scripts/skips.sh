#!/usr/bin/env bash
# Prints what the test run skipped and why (docs/testing.md, "Skips"), from the file the tests
# append to (FORKEXEC_SKIPS, one line per skip: uid, kind, binary, test, reason; written by
# forkexec_testkit::skip). Fails when a root-only test was skipped while running as root: as
# root every root-only test must run.
#
#   scripts/skips.sh FILE
set -euo pipefail
file=${1:?usage: scripts/skips.sh FILE}
[ -f "$file" ] || { echo "skips: no skip record at $file (did the tests run?)" >&2; exit 1; }
sort -t $'\t' -k1,1n -k3,3 -k4,4 "$file" | awk -F '\t' '
  { who = ($1 == 0) ? "root" : "user"; n[who]++; k[who " " $2]++; total++
    printf "  skipped as %-4s [%s] %s %s: %s\n", who, $2, $3, $4, $5 }
  END {
    printf "skips: %d skipped in all; as root: %d (root-only %d, user-only %d, env %d); as a user: %d (root-only %d, user-only %d, env %d)\n",
      total, n["root"], k["root root-only"], k["root user-only"], k["root env"],
      n["user"], k["user root-only"], k["user user-only"], k["user env"]
    printf "skips: %d skipped for root-only tests as root\n", k["root root-only"]
    if (k["root root-only"] > 0) { print "skips: FAILED: a root-only test did not run as root"; exit 1 }
  }'
