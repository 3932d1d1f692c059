#!/usr/bin/env bash
# `make rootfs-test`'s second run: the rootfs tests' compiled binaries again as an ordinary
# user (created when missing), from copies in a fresh directory under /tmp, as
# scripts/test-as-user.sh does for the whole workspace (which `make test` runs, these tests
# included). The test binaries embed their probes: they need nothing but the helper.
set -euo pipefail
user=${1:-forkexec-test}
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "rootfs-tests: not root; the tests already ran as $(id -un), skipping the second run"
  exit 0
fi
if ! id -u "$user" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/sh "$user"
fi

dir=$(mktemp -d /tmp/forkexec-rootfs-tests.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cp target/release/forkexec "$dir/forkexec"
mkdir "$dir/bin"
cargo test -p forkexec-rootfs-tests --no-run --message-format=json 2>/dev/null |
  python3 -c '
import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("reason") == "compiler-artifact" and msg.get("profile", {}).get("test") and msg.get("executable"):
        print(msg["executable"])
' | while read -r exe; do cp "$exe" "$dir/bin/"; done
[ -n "$(ls "$dir/bin")" ] || { echo "rootfs-tests: no test binaries found"; exit 1; }
chmod -R a+rX "$dir"

cd "$dir"
status=0
for exe in "$dir"/bin/*; do
  echo "== as $user: $(basename "$exe")"
  runuser -u "$user" -- env -i PATH=/usr/bin:/bin HOME=/tmp FORKEXEC_HELPER="$dir/forkexec" \
    "$exe" --test-threads=2 || status=1
done
exit $status
