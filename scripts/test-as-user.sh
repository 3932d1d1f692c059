#!/usr/bin/env bash
# Runs the workspace's compiled test binaries again as an ordinary user, because runtimes use
# the helper both as root and unprivileged. Creates the user when missing (needs root); as a
# non-root caller the tests already ran unprivileged, so there is nothing more to do.
set -euo pipefail
user=${1:-forkexec-test}
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "test-as-user: not root; the suite already ran as $(id -un), skipping the second run"
  exit 0
fi
if ! id -u "$user" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/sh "$user"
fi

# The checkout may sit under a directory the user cannot enter (/root): copy the test binaries
# and the helper to a fresh directory the user can read.
dir=$(mktemp -d /tmp/forkexec-user-tests.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cp target/release/forkexec "$dir/forkexec"
cp -r crates/spec/vectors "$dir/vectors"
cp -r fuzz/corpus "$dir/corpus"
mkdir "$dir/docs" && cp docs/spec.md "$dir/docs/spec.md"
cp target/debug/forkexec-probe "$dir/forkexec-probe"
cargo test --workspace --no-run --message-format=json 2>/dev/null |
  python3 -c '
import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("reason") == "compiler-artifact" and msg.get("profile", {}).get("test") and msg.get("executable"):
        print(msg["executable"])
' >"$dir/list"
[ -s "$dir/list" ] || { echo "test-as-user: no test binaries found"; exit 1; }
cp target/debug/forkexec-run "$dir/forkexec-run"
mkdir "$dir/scripts"
cp scripts/install.sh "$dir/scripts/install.sh"
mkdir "$dir/bin"
while read -r exe; do cp "$exe" "$dir/bin/"; done <"$dir/list"
# Skips (crates/testkit/src/skip.rs) go to a file the user can write, then to $FORKEXEC_SKIPS.
: >"$dir/skips.tsv"
chmod -R a+rX "$dir"
chmod a+w "$dir/skips.tsv"

# Run from a directory the user can enter (the checkout may not be one).
cd "$dir"
status=0
for exe in "$dir"/bin/*; do
  echo "== as $user: $(basename "$exe")"
  runuser -u "$user" -- env -i PATH=/usr/bin:/bin HOME=/tmp \
    FORKEXEC_HELPER="$dir/forkexec" FORKEXEC_VECTORS_DIR="$dir/vectors" FORKEXEC_DOCS_DIR="$dir/docs" \
    FORKEXEC_FUZZ_CORPUS="$dir/corpus" \
    FORKEXEC_PROBE="$dir/forkexec-probe" FORKEXEC_RUN="$dir/forkexec-run" \
    FORKEXEC_INSTALL_SH="$dir/scripts/install.sh" FORKEXEC_SKIPS="$dir/skips.tsv" \
    "$exe" --test-threads=2 || status=1
done
if [ -n "${FORKEXEC_SKIPS:-}" ]; then
  cat "$dir/skips.tsv" >>"$FORKEXEC_SKIPS"
fi
exit $status
