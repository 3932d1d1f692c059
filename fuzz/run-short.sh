#!/usr/bin/env bash
# The short fuzz run for CI (docs/fuzzing.md): every target, on a scratch copy of its committed
# seed corpus, for SECONDS in total (default 60) split evenly across the targets. Installs
# cargo-fuzz when it is missing. Exits nonzero when a target crashes or an invariant fails; the
# input is then in fuzz/artifacts/<target>/ (see docs/fuzzing.md to turn it into a regression
# test).
#
#   fuzz/run-short.sh            # 60 s in all
#   fuzz/run-short.sh 600        # 10 minutes in all
set -euo pipefail
cd "$(dirname "$0")/.."

total=${1:-60}
case $total in
  '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
targets=(decode helper_validate)
per=$(( total / ${#targets[@]} ))
[ "$per" -ge 1 ] || per=1

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "run-short: the nightly toolchain is missing (rustup toolchain install nightly)" >&2
  exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "run-short: installing cargo-fuzz"
  start=$SECONDS
  cargo install cargo-fuzz --locked
  echo "run-short: cargo-fuzz installed in $(( SECONDS - start )) s"
fi

start=$SECONDS
cargo +nightly fuzz build
echo "run-short: targets built in $(( SECONDS - start )) s"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

status=0
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  cp fuzz/corpus/"$t"/* "$scratch/$t/"
  echo "run-short: $t for ${per} s"
  log=$scratch/$t.log
  if cargo +nightly fuzz run "$t" "$scratch/$t" -- \
      -max_total_time="$per" -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
    # The last status line: executions, coverage, corpus size, speed.
    grep -E '^#[0-9]+' "$log" | tail -n 1 || true
    grep -E 'stat::number_of_executed_units|stat::average_exec_per_sec' "$log" || true
  else
    status=1
    echo "run-short: $t FAILED" >&2
    # The panic (which invariant, with both values) or the sanitizer's report, then the end.
    grep -m 1 -A 4 -E 'panicked at|ERROR: (AddressSanitizer|libFuzzer)' "$log" >&2 || true
    echo "..." >&2
    tail -n 25 "$log" >&2
    ls -1 fuzz/artifacts/"$t"/ 2>/dev/null | sed 's/^/run-short: artifact: fuzz\/artifacts\/'"$t"'\//' >&2 || true
  fi
done
exit $status
