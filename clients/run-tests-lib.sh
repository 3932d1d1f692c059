# Sourced by clients/{go,node,python}/run-tests.sh: what the three client suites share.
#
#   fx_setup                 sets here, root, helper, vectors, spec_md from the caller's place
#                            and FORKEXEC_HELPER / FORKEXEC_VECTORS_DIR / FORKEXEC_SPEC_MD, and
#                            refuses to go on without a helper or vectors
#   fx_as_user_dir LANG USER prints nothing and exits 0 when not root (the suite already ran
#                            as this user); otherwise makes a fresh /tmp directory `dir` that
#                            USER can read (removed on exit), with the helper, the vectors and
#                            docs/spec.md in it; the caller copies its own files in, then
#   fx_run_as USER CMD...    runs CMD as USER with an empty environment but PATH, HOME, LANG
#                            and the three FORKEXEC_* variables pointing into `dir`
# Exits nonzero (with the reason on stderr) when something is missing.

fx_setup() {
  here=$(cd "$(dirname "$0")" && pwd)
  root=$(cd "$here/../.." && pwd)
  helper=${FORKEXEC_HELPER:-$root/target/release/forkexec}
  vectors=${FORKEXEC_VECTORS_DIR:-$root/crates/spec/vectors}
  spec_md=${FORKEXEC_SPEC_MD:-$root/docs/spec.md}
  [ -x "$helper" ] || { echo "run-tests: no helper at $helper (run \`make helper\` or set FORKEXEC_HELPER)" >&2; exit 1; }
  [ -d "$vectors" ] || { echo "run-tests: no vectors at $vectors (set FORKEXEC_VECTORS_DIR)" >&2; exit 1; }
  export FORKEXEC_HELPER="$helper" FORKEXEC_VECTORS_DIR="$vectors" FORKEXEC_SPEC_MD="$spec_md"
}

fx_as_user_dir() {
  local lang=$1 user=$2
  if [ "$(id -u)" -ne 0 ]; then
    echo "run-tests: not root; the suite already runs as $(id -un), skipping the run as $user"
    exit 0
  fi
  id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$user"
  dir=$(mktemp -d "/tmp/forkexec-$lang-tests.XXXXXX")
  trap 'rm -rf "$dir"' EXIT
  mkdir "$dir/docs"
  cp "$helper" "$dir/forkexec"
  cp -r "$vectors" "$dir/vectors"
  if [ -f "$spec_md" ]; then
    cp "$spec_md" "$dir/docs/spec.md"
  fi
}

fx_run_as() {
  local user=$1; shift
  chmod -R a+rX "$dir"
  chmod 755 "$dir"
  (cd /tmp && runuser -u "$user" -- env -i PATH=/usr/bin:/bin HOME=/tmp LANG=C.UTF-8 \
    FORKEXEC_HELPER="$dir/forkexec" FORKEXEC_VECTORS_DIR="$dir/vectors" \
    FORKEXEC_SPEC_MD="$dir/docs/spec.md" "$@")
}
