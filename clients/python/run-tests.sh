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
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
helper=${FORKEXEC_HELPER:-$root/target/release/forkexec}
vectors=${FORKEXEC_VECTORS_DIR:-$root/crates/spec/vectors}
spec_md=${FORKEXEC_SPEC_MD:-$root/docs/spec.md}
python=${PYTHON:-python3}

[ -x "$helper" ] || { echo "run-tests: no helper at $helper (run \`make helper\` or set FORKEXEC_HELPER)" >&2; exit 1; }
[ -d "$vectors" ] || { echo "run-tests: no vectors at $vectors (set FORKEXEC_VECTORS_DIR)" >&2; exit 1; }

if [ "${1:-}" = "--as-user" ]; then
  user=${2:?usage: run-tests.sh --as-user NAME}
  if [ "$(id -u)" -ne 0 ]; then
    echo "run-tests: not root; the suite already runs as $(id -un), skipping the run as $user"
    exit 0
  fi
  id -u "$user" >/dev/null 2>&1 || { echo "run-tests: no user $user" >&2; exit 1; }
  dir=$(mktemp -d /tmp/forkexec-python-tests.XXXXXX)
  trap 'rm -rf "$dir"' EXIT
  mkdir "$dir/python"
  cp -rL "$here/forkexec" "$here/tests" "$here/examples" "$here/README.md" "$here/pyproject.toml" \
    "$here/_build" "$here/LICENSE-MIT" "$here/LICENSE-APACHE" "$dir/python/"
  cp "$helper" "$dir/forkexec"
  cp -r "$vectors" "$dir/vectors"
  if [ -f "$spec_md" ]; then
    mkdir "$dir/docs"
    cp "$spec_md" "$dir/docs/spec.md"
    if [ -f "$(dirname "$spec_md")/python.md" ]; then
      cp "$(dirname "$spec_md")/python.md" "$dir/docs/"
    fi
  fi
  find "$dir" -name __pycache__ -prune -exec rm -rf {} +
  chmod -R a+rX "$dir"
  chmod 755 "$dir"
  echo "== python client tests as $user ($dir)"
  cd /tmp
  status=0
  runuser -u "$user" -- env -i PATH=/usr/bin:/bin HOME=/tmp LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 FORKEXEC_HELPER="$dir/forkexec" \
    FORKEXEC_VECTORS_DIR="$dir/vectors" FORKEXEC_SPEC_MD="$dir/docs/spec.md" \
    "$python" -m unittest discover -s "$dir/python/tests" -t "$dir/python" -v || status=$?
  exit $status
fi

echo "== python client tests as $(id -un)"
export FORKEXEC_HELPER="$helper" FORKEXEC_VECTORS_DIR="$vectors" FORKEXEC_SPEC_MD="$spec_md"
export PYTHONDONTWRITEBYTECODE=1
exec "$python" -m unittest discover -s "$here/tests" -t "$here" -v
