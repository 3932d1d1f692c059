#!/usr/bin/env bash
# Runs the Node client's node:test suite (no dependencies: nothing is installed).
#
#   clients/node/run-tests.sh                 as the current user
#   clients/node/run-tests.sh --as-user NAME  as user NAME (when run as root; otherwise it says
#                                             so and exits 0): the client, the helper, the vectors
#                                             and docs/spec.md are copied to a fresh /tmp
#                                             directory NAME can read
#
# The helper is $FORKEXEC_HELPER, else target/release/forkexec of this checkout (`make helper`);
# the vectors are $FORKEXEC_VECTORS_DIR, else crates/spec/vectors. The type check runs when tsc
# is on PATH (Debian: node-typescript). Exits nonzero on failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
helper=${FORKEXEC_HELPER:-$root/target/release/forkexec}
vectors=${FORKEXEC_VECTORS_DIR:-$root/crates/spec/vectors}
spec_md=${FORKEXEC_SPEC_MD:-$root/docs/spec.md}
node=${NODE:-node}

command -v "$node" >/dev/null || { echo "run-tests: no $node (apt-get install nodejs)" >&2; exit 1; }
[ -x "$helper" ] || { echo "run-tests: no helper at $helper (run \`make helper\` or set FORKEXEC_HELPER)" >&2; exit 1; }
[ -d "$vectors" ] || { echo "run-tests: no vectors at $vectors (set FORKEXEC_VECTORS_DIR)" >&2; exit 1; }

if [ "${1:-}" = "--as-user" ]; then
  user=${2:?usage: run-tests.sh --as-user NAME}
  if [ "$(id -u)" -ne 0 ]; then
    echo "run-tests: not root; the suite already runs as $(id -un), skipping the run as $user"
    exit 0
  fi
  id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$user"
  dir=$(mktemp -d /tmp/forkexec-node-tests.XXXXXX)
  trap 'rm -rf "$dir"' EXIT
  mkdir "$dir/node" "$dir/docs"
  cp -r "$here/lib" "$here/test" "$here/package.json" "$here/README.md" "$dir/node/"
  cp "$helper" "$dir/forkexec"
  cp -r "$vectors" "$dir/vectors"
  cp "$spec_md" "$dir/docs/spec.md"
  chmod -R a+rX "$dir"
  chmod 755 "$dir"
  echo "== node client tests as $user ($dir)"
  cd /tmp
  status=0
  runuser -u "$user" -- env -i PATH=/usr/bin:/bin HOME=/tmp LANG=C.UTF-8 \
    FORKEXEC_HELPER="$dir/forkexec" FORKEXEC_VECTORS_DIR="$dir/vectors" \
    FORKEXEC_SPEC_MD="$dir/docs/spec.md" \
    "$node" --test "$dir"/node/test/*.test.js || status=$?
  exit $status
fi

echo "== node client tests as $(id -un)"
export FORKEXEC_HELPER="$helper" FORKEXEC_VECTORS_DIR="$vectors" FORKEXEC_SPEC_MD="$spec_md"
exec "$node" --test "$here"/test/*.test.js
