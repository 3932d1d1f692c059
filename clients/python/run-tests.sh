#!/usr/bin/env bash
# Runs the Python client's unittest suite (standard library only: nothing is installed).
#
#   clients/python/run-tests.sh                 as the current user
#   clients/python/run-tests.sh --as-user NAME  as user NAME (when run as root; otherwise it
#                                               says so and exits 0): the client, the helper,
#                                               the vectors and docs/spec.md are copied to a
#                                               fresh /tmp directory NAME can read
#
# The helper is $FORKEXEC_HELPER, else target/release/forkexec of this checkout (`make helper`);
# the vectors are $FORKEXEC_VECTORS_DIR, else crates/spec/vectors. Exits nonzero on failure;
# the output ends with unittest's summary (`Ran N tests`, `OK`).
set -euo pipefail
. "$(dirname "$0")/../run-tests-lib.sh"
fx_setup
python=${PYTHON:-python3}
export PYTHONDONTWRITEBYTECODE=1

if [ "${1:-}" = "--as-user" ]; then
  user=${2:?usage: run-tests.sh --as-user NAME}
  fx_as_user_dir python "$user"
  mkdir "$dir/python"
  cp -rL "$here/forkexec" "$here/tests" "$here/examples" "$here/README.md" "$here/pyproject.toml" \
    "$here/_build" "$here/LICENSE-MIT" "$here/LICENSE-APACHE" "$dir/python/"
  if [ -f "$(dirname "$spec_md")/python.md" ]; then
    cp "$(dirname "$spec_md")/python.md" "$dir/docs/"
  fi
  find "$dir" -name __pycache__ -prune -exec rm -rf {} +
  echo "== python client tests as $user ($dir)"
  status=0
  fx_run_as "$user" env PYTHONDONTWRITEBYTECODE=1 \
    "$python" -m unittest discover -s "$dir/python/tests" -t "$dir/python" -v || status=$?
  exit $status
fi

echo "== python client tests as $(id -un)"
exec "$python" -m unittest discover -s "$here/tests" -t "$here" -v
