#!/usr/bin/env bash
# make bwrap-compat: bubblewrap 0.11.1's own test suite against forkexec-run's bubblewrap mode
# (docs/cli.md, "bubblewrap mode"), as root and, when run as root, again as an ordinary user.
#
# The suite lives outside this repository (BWRAP_SUITE, default ../shared/peers/bubblewrap);
# without it this says so and succeeds. Results are compared with bwrap-compat/expected-*.txt,
# the tests known to pass: one of them failing fails this (a regression); a new pass is
# reported so the list can grow. BWRAP_COMPAT_BLESS=1 rewrites the lists.
# BWRAP_COMPAT_FAILS=1 prints every FAIL line (not only the lost ones); BWRAP_COMPAT_KEEP=DIR
# keeps the logs of each test there (DIR/logs-root, DIR/logs-USER) instead of deleting them.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
suite=${BWRAP_SUITE:-$repo/../shared/peers/bubblewrap}
if [ -z "${BWRAP_SUITE:-}" ] && [ ! -d "$suite" ]; then
  # A git worktree elsewhere: beside the main checkout instead.
  common=$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
  [ -n "$common" ] && suite=$(dirname "$common")/../shared/peers/bubblewrap
fi
user=${1:-forkexec-test}
if [ ! -x "$suite/runner/run.sh" ]; then
  echo "bwrap-compat: skipped: no bubblewrap test suite at $suite (set BWRAP_SUITE)"
  exit 0
fi
suite=$(cd "$suite" && pwd)

# The mode is chosen by the name: a directory with `bwrap` -> forkexec-run and the helper.
dir=$(mktemp -d /tmp/forkexec-bwrap-compat.XXXXXX)
trap 'rm -rf "$dir"' EXIT
keep=${BWRAP_COMPAT_KEEP:-}
if [ -n "$keep" ]; then mkdir -p "$keep"; keep=$(cd "$keep" && pwd); chmod 755 "$keep"; fi
cp target/release/forkexec-run target/release/forkexec "$dir/"
ln -s forkexec-run "$dir/bwrap"
chmod -R a+rX "$dir"

status=0
run_as() { # who, expected list
  local who=$1 expected=$2 logs="${keep:-$dir}/logs-$1" out="$dir/out-$1"
  rm -rf "$logs"; mkdir -p "$logs"; chmod 777 "$logs"
  # bubblewrap's test-run.sh leaves one `mktemp /tmp/bwrap-test-XXXXXXXX` file behind per run
  # ("bind-mount of / exposes real /tmp"): remove the ones this run makes, and no others.
  local tmp_before; tmp_before=$(ls -d /tmp/bwrap-test-* 2>/dev/null | sort || true)
  local cmd=(env BASELINE_BWRAP="$dir/bwrap" LOG_DIR="$logs" PIECE_TIMEOUT="${PIECE_TIMEOUT:-30}"
             PATH=/usr/local/bin:/usr/bin:/bin "$suite/runner/run.sh")
  if [ "$who" = "$(id -un)" ]; then
    (cd "$dir" && "${cmd[@]}") >"$out" 2>&1 || true
  else
    (cd "$dir" && runuser -u "$user" -- "${cmd[@]}") >"$out" 2>&1 || true
  fi
  comm -13 <(echo "$tmp_before") <(ls -d /tmp/bwrap-test-* 2>/dev/null | sort || true) |
    xargs -r rm -f --
  local summary; summary=$(tail -n 1 "$out")
  echo "bwrap-compat ($who): $summary"
  grep '^PASS' "$out" | sort -u >"$dir/pass-$who"
  if [ "${BWRAP_COMPAT_FAILS:-}" = 1 ]; then
    grep '^FAIL' "$out" | sed "s/^/  ($who) /" || true
  fi
  [ -n "$keep" ] && echo "bwrap-compat ($who): logs kept in $logs"
  if [ "${BWRAP_COMPAT_BLESS:-}" = 1 ]; then
    cp "$dir/pass-$who" "$expected"
    echo "bwrap-compat ($who): wrote $expected"
    return
  fi
  [ -f "$expected" ] || { echo "bwrap-compat ($who): no $expected"; status=1; return; }
  local lost; lost=$(comm -23 "$expected" "$dir/pass-$who")
  local gained; gained=$(comm -13 "$expected" "$dir/pass-$who")
  if [ -n "$lost" ]; then
    echo "bwrap-compat ($who): these passed before and fail now:"; echo "$lost" | sed 's/^/  /'
    grep -E '^(FAIL)' "$out" | sed 's/^/  /' | head -50
    status=1
  fi
  if [ -n "$gained" ]; then
    echo "bwrap-compat ($who): new passes (BWRAP_COMPAT_BLESS=1 make bwrap-compat to record):"
    echo "$gained" | sed 's/^/  /'
  fi
}

if [ "$(id -u)" -eq 0 ]; then
  run_as root bwrap-compat/expected-root.txt
  id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$user"
  run_as "$user" bwrap-compat/expected-user.txt
else
  # An ordinary user's run is judged by the ordinary user's list.
  run_as "$(id -un)" bwrap-compat/expected-user.txt
fi
exit $status
