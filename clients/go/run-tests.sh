#!/usr/bin/env bash
# Runs the Go client's checks and tests (standard library only: nothing is downloaded).
#
#   clients/go/run-tests.sh                 gofmt, go vet, then every package's tests as the
#                                           current user
#   clients/go/run-tests.sh --as-user NAME  as user NAME (when run as root; otherwise it says
#                                           so and exits 0): the tests are compiled with
#                                           `go test -c`, copied with the helper, the vectors
#                                           and docs/spec.md to a fresh /tmp directory NAME
#                                           can read, and run there
#
# The helper is $FORKEXEC_HELPER, else target/release/forkexec of this checkout (`make helper`);
# the vectors are $FORKEXEC_VECTORS_DIR, else crates/spec/vectors. Exits nonzero on failure.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
helper=${FORKEXEC_HELPER:-$root/target/release/forkexec}
vectors=${FORKEXEC_VECTORS_DIR:-$root/crates/spec/vectors}
spec_md=${FORKEXEC_SPEC_MD:-$root/docs/spec.md}
go=${GO:-go}
# Standard library only: never reach for the network.
export GOPROXY=off GOFLAGS=-mod=mod GOTOOLCHAIN=local

command -v "$go" >/dev/null || { echo "run-tests: no \`go\` (apt-get install golang-go)" >&2; exit 1; }
[ -x "$helper" ] || { echo "run-tests: no helper at $helper (run \`make helper\` or set FORKEXEC_HELPER)" >&2; exit 1; }
[ -d "$vectors" ] || { echo "run-tests: no vectors at $vectors (set FORKEXEC_VECTORS_DIR)" >&2; exit 1; }
cd "$here"

if [ "${1:-}" = "--as-user" ]; then
  user=${2:?usage: run-tests.sh --as-user NAME}
  if [ "$(id -u)" -ne 0 ]; then
    echo "run-tests: not root; the suite already ran as $(id -un), skipping the run as $user"
    exit 0
  fi
  id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$user"
  dir=$(mktemp -d /tmp/forkexec-go-tests.XXXXXX)
  trap 'rm -rf "$dir"' EXIT
  mkdir "$dir/bin" "$dir/docs"
  for pkg in $("$go" list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./...); do
    "$go" test -c -o "$dir/bin/$(basename "$pkg").test" "$pkg"
  done
  cp "$helper" "$dir/forkexec"
  cp -r "$vectors" "$dir/vectors"
  cp "$spec_md" "$dir/docs/spec.md"
  chmod -R a+rX "$dir"
  chmod 755 "$dir"
  cd /tmp
  status=0
  for t in "$dir"/bin/*.test; do
    echo "== go client tests as $user: $(basename "$t")"
    runuser -u "$user" -- env -i PATH=/usr/bin:/bin HOME=/tmp \
      FORKEXEC_HELPER="$dir/forkexec" FORKEXEC_VECTORS_DIR="$dir/vectors" \
      FORKEXEC_SPEC_MD="$dir/docs/spec.md" "$t" -test.v -test.count=1 || status=1
  done
  exit $status
fi

echo "== go client: gofmt, go vet"
unformatted=$(gofmt -l .)
[ -z "$unformatted" ] || { echo "run-tests: not gofmt-clean: $unformatted" >&2; exit 1; }
"$go" vet ./...
echo "== go client tests as $(id -un)"
FORKEXEC_HELPER="$helper" FORKEXEC_VECTORS_DIR="$vectors" FORKEXEC_SPEC_MD="$spec_md" \
  "$go" test -count=1 -v ./...
