#!/usr/bin/env bash
# What `cargo publish` would upload, for every publishable crate of the workspace (publish not
# false): `cargo package --list` must hold the manifest, the crate's README and both license
# files, its sources, and nothing from outside the crate (the clients, docs, fuzz corpus,
# target/). Also: every publishable manifest has the metadata crates.io shows (description,
# license, repository, readme, keywords, categories), and every path dependency a version.
#
#   scripts/check-packages.sh          (make test runs it; offline: cargo's cache only)
#
# Exits nonzero naming the crate and what is wrong.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}

fail=0
bad() { echo "check-packages: $*" >&2; fail=1; }

# name, manifest path and metadata of each publishable package, one JSON object a line
crates=$("$CARGO" metadata --no-deps --format-version 1 --offline | python3 -c '
import json, sys
meta = json.load(sys.stdin)
for p in meta["packages"]:
    if p["publish"] == []:
        continue
    print(json.dumps(p))
')
[ -n "$crates" ] || { echo "check-packages: no publishable crate found" >&2; exit 1; }

while IFS= read -r package; do
  name=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["name"])' "$package")
  # Metadata and versioned path dependencies.
  problems=$(python3 -c '
import json, sys
p = json.loads(sys.argv[1])
for key in ("description", "license", "repository", "readme"):
    if not p.get(key):
        print(f"no {key}")
for key in ("keywords", "categories"):
    if not p.get(key):
        print(f"no {key}")
for d in p["dependencies"]:
    if d.get("path") and d["kind"] != "dev" and d["req"] == "*":
        print("path dependency " + d["name"] + " has no version")
' "$package")
  [ -z "$problems" ] || bad "$name: $(echo "$problems" | paste -sd ';' -)"

  list=$("$CARGO" package --list --allow-dirty --offline -p "$name" 2>&1) ||
    { bad "$name: cargo package --list failed: $list"; continue; }
  for need in Cargo.toml README.md LICENSE-MIT LICENSE-APACHE; do
    grep -qx "$need" <<<"$list" || bad "$name: the package lacks $need"
  done
  grep -qE '^src/(lib|main)\.rs$' <<<"$list" || bad "$name: the package has no src/lib.rs or src/main.rs"
  outside=$(grep -E '^(target|clients|docs|fuzz|bench|rootfs-tests|crates|scripts|\.ci|\.git)/' <<<"$list" || true)
  [ -z "$outside" ] || bad "$name: the package holds files from outside the crate: $(echo "$outside" | head -5 | paste -sd ' ' -)"
  echo "check-packages: $name: $(wc -l <<<"$list") files"
done <<<"$crates"

exit $fail
