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
. "$(dirname "$0")/../run-tests-lib.sh"
fx_setup
node=${NODE:-node}
command -v "$node" >/dev/null || { echo "run-tests: no $node (apt-get install nodejs)" >&2; exit 1; }

if [ "${1:-}" = "--as-user" ]; then
  user=${2:?usage: run-tests.sh --as-user NAME}
  fx_as_user_dir node "$user"
  mkdir "$dir/node"
  cp -r "$here/lib" "$here/test" "$here/package.json" "$here/README.md" "$dir/node/"
  echo "== node client tests as $user ($dir)"
  status=0
  fx_run_as "$user" "$node" --test "$dir"/node/test/*.test.js || status=$?
  exit $status
fi

echo "== node client tests as $(id -un)"
exec "$node" --test "$here"/test/*.test.js
