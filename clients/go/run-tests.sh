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
. "$(dirname "$0")/../run-tests-lib.sh"
fx_setup
go=${GO:-go}
# Standard library only: never reach for the network.
export GOPROXY=off GOFLAGS=-mod=mod GOTOOLCHAIN=local
command -v "$go" >/dev/null || { echo "run-tests: no \`go\` (apt-get install golang-go)" >&2; exit 1; }
cd "$here"

if [ "${1:-}" = "--as-user" ]; then
  user=${2:?usage: run-tests.sh --as-user NAME}
  fx_as_user_dir go "$user"
  mkdir "$dir/bin"
  for pkg in $("$go" list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./...); do
    "$go" test -c -o "$dir/bin/$(basename "$pkg").test" "$pkg"
  done
  status=0
  for t in "$dir"/bin/*.test; do
    echo "== go client tests as $user: $(basename "$t")"
    fx_run_as "$user" "$t" -test.v -test.count=1 || status=1
  done
  exit $status
fi

echo "== go client: gofmt, go vet"
unformatted=$(gofmt -l .)
[ -z "$unformatted" ] || { echo "run-tests: not gofmt-clean: $unformatted" >&2; exit 1; }
"$go" vet ./...
echo "== go client tests as $(id -un)"
"$go" test -count=1 -v ./...
