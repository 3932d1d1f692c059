# forkexec: `make demo` runs a real sandbox, `make test` runs every check and test (as root
# and as an ordinary user), `make bench` measures spawn cost. `make` builds the helper.

CARGO      ?= cargo
HELPER     := target/release/forkexec
PROBE      := target/debug/forkexec-probe
TEST_USER  ?= forkexec-test
# Where `make install` puts things (scripts/install.sh): PREFIX/bin, PREFIX/share/...
PREFIX     ?= /usr/local
DESTDIR    ?=
# auto: install the `bwrap` name only for a forkexec-run with a bubblewrap mode; no: never.
BWRAP_LINK ?= auto
# Budget for the static helper (docs/spec.md, README): 64 KiB.
MAX_SIZE   := 65536
# Every skipped test appends a line here (crates/testkit/src/skip.rs); `make test` prints the
# count (scripts/skips.sh) and fails if a root-only test was skipped as root.
export FORKEXEC_SKIPS ?= $(CURDIR)/target/skips.tsv


.PHONY: all helper cli probe build check-helper check-docs fmt-check clippy typecheck-python check-packages doc-check test test-root test-user test-go test-node demo bench clean

all: helper cli

helper:
	$(CARGO) build --release -p forkexec

## forkexec-run, the command line front end (next to the helper in target/release),
## statically linked: a dynamic Rust program spends ~0.3 ms more starting (docs/cli.md); and
## not position-independent, so that nothing is relocated at start (docs/cli.md). Against musl
## when Rust's $(MUSL) target is installed (.ci/run installs it): glibc's start probes the
## CPU with cpuid, a VM exit each here, about 0.2 ms a start (docs/cli.md); std's error texts
## still get glibc's words (--wrap, crates/cli/src/main.rs). Else against glibc.
MUSL = x86_64-unknown-linux-musl
cli: helper
	@if rustup target list --installed 2>/dev/null | grep -qx '$(MUSL)'; then \
	  echo "cli: forkexec-run for $(MUSL)"; \
	  $(CARGO) rustc --release --target $(MUSL) -p forkexec-run --bin forkexec-run -- \
	    -C relocation-model=static -C link-arg=-Wl,--wrap=__xpg_strerror_r || exit $$?; \
	  cp --remove-destination target/$(MUSL)/release/forkexec-run target/release/forkexec-run \
	    || exit $$?; \
	  d=$$(mktemp -d) && ln -s $$d/loop $$d/loop || exit $$?; \
	  out=$$(target/release/forkexec-run --spec $$d/loop 2>&1); rm -rf $$d; \
	  case "$$out" in *"Too many levels of symbolic links"*) ;; \
	    *) echo "cli: the musl build words errors unlike glibc: $$out"; exit 1;; esac; \
	else \
	  $(CARGO) rustc --release -p forkexec-run --bin forkexec-run -- \
	    -C target-feature=+crt-static -C relocation-model=static; \
	fi

## The program the tests run inside the sandbox.
probe:
	$(CARGO) build -p forkexec-probe

build: helper
	$(CARGO) build --release --workspace

## The helper must be static, libc-free and small.
check-helper: helper
	@file $(HELPER) | grep -q 'statically linked' || { echo "$(HELPER) is not statically linked"; exit 1; }
	@! readelf -d $(HELPER) 2>/dev/null | grep -q NEEDED || { echo "$(HELPER) has a dynamic section"; exit 1; }
	@size=$$(stat -c %s $(HELPER)); echo "helper: $(HELPER), static, $$size bytes"; \
	  [ $$size -le $(MAX_SIZE) ] || { echo "helper is over $(MAX_SIZE) bytes"; exit 1; }
	@# Where the bytes are: .text per source module, largest first (scripts/helper-sizes.py on
	@# the `measure` profile, the same build with line tables).
	@$(CARGO) build -q --profile measure -p forkexec
	@scripts/helper-sizes.py target/measure/forkexec
	@# Stack frames: no `Spec` copied on the stack (each stack page is a fault per spawn).
	@scripts/helper-frames.py target/measure/forkexec

fmt-check:
	$(CARGO) fmt --all --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## The Python client's types: mypy --strict over the package (its public API is typed; the
## wheel ships py.typed) and over its build backend. mypy is whichever python3 has it (.ci/run
## installs Debian's python3-mypy).
MYPY ?= $(shell for p in python3 /usr/bin/python3; do $$p -c 'import mypy' 2>/dev/null && { echo "$$p -m mypy"; break; }; done)
typecheck-python:
	@[ -n "$(MYPY)" ] || { echo "mypy not found: apt-get install python3-mypy (or pip install mypy)"; exit 1; }
	$(MYPY) --strict --python-version 3.10 clients/python/forkexec
	$(MYPY) --strict clients/python/_build/backend.py

## What `cargo publish` would upload for each publishable crate (cargo package --list, offline),
## and their crates.io metadata (scripts/check-packages.sh).
check-packages:
	CARGO=$(CARGO) scripts/check-packages.sh

## The workspace's API docs build without a warning: no broken link, and every public item of
## the published crates documented (#![warn(missing_docs)], which clippy -D warnings enforces).
doc-check:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --workspace

test: fmt-check clippy check-docs check-helper check-locations typecheck-python check-packages doc-check
	@mkdir -p target && : >$(FORKEXEC_SKIPS)
	@$(MAKE) --no-print-directory test-root test-user test-go test-node bwrap-compat
	@scripts/skips.sh $(FORKEXEC_SKIPS)

## Mutation testing (docs/testing.md, "Mutation score"): cargo-mutants (installed when
## missing) on the helper's pure core, crates/helper-core, then on crates/spec, each in a copy
## of the tree (cargo-mutants' default), one mutant at a time at the lowest priority (the
## machine is shared), each test run cut at 30 s, built without debug info and without doc
## tests (neither crate has any); exclusions in .cargo/mutants.toml. Long
## (about 20 minutes and 2 hours), so not part of make test. MUTANTS_ARGS narrows both runs,
## e.g. MUTANTS_ARGS="--file crates/spec/src/render.rs" or "--shard 0/4"; the outcomes go to
## mutants.out/<target>/mutants.out and scripts/mutants-score.py prints the score from them
## (it fails below 90 %). A run that finds survivors still goes on to the next target.
MUTANTS = CARGO_PROFILE_DEV_DEBUG=0 nice -n 19 $(CARGO) mutants --jobs 1 --timeout 30 \
  --cargo-test-arg=--tests $(MUTANTS_ARGS)
.PHONY: mutants
mutants:
	@command -v cargo-mutants >/dev/null 2>&1 || $(CARGO) install cargo-mutants --locked
	-$(MUTANTS) --package forkexec-helper-core -o mutants.out/helper-core
	-$(MUTANTS) --package forkexec-spec -o mutants.out/spec
	scripts/mutants-score.py mutants.out

## Rewrites crates/spec/vectors from their definitions (crates/spec/tests/vectors.rs) after a
## deliberate change, and shows the diff to review before committing. `make test` never
## rewrites them: it checks them (Rust, and the Python encoder from each vector's build line).
.PHONY: bless-vectors
bless-vectors:
	FORKEXEC_BLESS_VECTORS=1 $(CARGO) test -p forkexec-spec --test vectors
	@git --no-pager diff --stat -- crates/spec/vectors
	@git --no-pager diff -- crates/spec/vectors

## Every error location is provoked by a test or listed with its reason (docs/testing.md).
.PHONY: check-locations
check-locations:
	@scripts/check-locations.py

## Every relative link, anchor and repository path named in the *.md pages exists (and the
## checker catches a planted bad one).
check-docs:
	@scripts/check-docs.py --self-test
	@scripts/check-docs.py

## Every test, as whoever runs make (root in CI).
## The probe runs inside sandboxes, as root by default as host uid 65534 (the safe defaults):
## it is copied to a directory every user can reach, since the checkout may be in one that
## only its owner can enter (a mktemp clone, /root).
test-root: helper probe
	@probe_dir=$$(mktemp -d /tmp/forkexec-probe.XXXXXX) && chmod 755 $$probe_dir && \
	  cp $(PROBE) $$probe_dir/ && chmod 755 $$probe_dir/forkexec-probe && \
	  FORKEXEC_HELPER=$(CURDIR)/$(HELPER) FORKEXEC_PROBE=$$probe_dir/forkexec-probe \
	    $(CARGO) test --workspace --no-fail-fast; status=$$?; rm -rf $$probe_dir; exit $$status
	FORKEXEC_HELPER=$(CURDIR)/$(HELPER) clients/python/run-tests.sh

## The same compiled tests again as an ordinary user (created when missing).
test-user: helper probe
	@scripts/test-as-user.sh $(TEST_USER)
	@clients/python/run-tests.sh --as-user $(TEST_USER)

## The Go client (clients/go, docs/go.md): gofmt, go vet, its tests against the vectors and
## the real helper, as whoever runs make and, as root, again as $(TEST_USER).
test-go: helper
	FORKEXEC_HELPER=$(CURDIR)/$(HELPER) clients/go/run-tests.sh
	@FORKEXEC_HELPER=$(CURDIR)/$(HELPER) clients/go/run-tests.sh --as-user $(TEST_USER)

## The Node client (clients/node: node:test, the shared vectors, the real helper; the type check
## when tsc is installed), as whoever runs make and, as root, again as $(TEST_USER).
test-node: helper
	FORKEXEC_HELPER=$(CURDIR)/$(HELPER) clients/node/run-tests.sh
	@clients/node/run-tests.sh --as-user $(TEST_USER)

## bubblewrap's own test suite against the bubblewrap mode, as root and as $(TEST_USER)
## (scripts/bwrap-compat.sh; skipped with a line when ../shared/peers/bubblewrap is absent).
## Part of `make test` (about 2 minutes): a test of bwrap-compat/expected-*.txt that fails
## now fails the run; a new pass is printed, to be recorded with BWRAP_COMPAT_BLESS=1.
.PHONY: bwrap-compat
bwrap-compat: cli
	@scripts/bwrap-compat.sh $(TEST_USER)

## The rootfs scenarios alone (rootfs-tests/: scratch roots made of nothing but the static
## helper and static probes; pivot_root, the helper as pid 1, the helper nested in its own
## sandbox), as whoever runs make and, as root, again as $(TEST_USER). `make test` runs them
## with everything else: the crate is a workspace member, so test-root and test-user include it.
.PHONY: rootfs-test
rootfs-test: helper
	FORKEXEC_HELPER=$(CURDIR)/$(HELPER) $(CARGO) test -p forkexec-rootfs-tests
	@rootfs-tests/run-as-user.sh $(TEST_USER)

## Soak: 10,000 sandboxed spawns in a row and 2 x 1,000 at once (in place, supervise, init;
## in a cgroup as root) leave no fd, child, mount or cgroup behind (crates/client/tests/soak.rs;
## make test runs it with 300 and 2 x 100).
.PHONY: soak
soak: helper probe
	FORKEXEC_SOAK_SEQ=10000 FORKEXEC_SOAK_PAR=1000 FORKEXEC_HELPER=$(CURDIR)/$(HELPER) \
	  FORKEXEC_PROBE=$(CURDIR)/$(PROBE) $(CARGO) test -p forkexec-client --test soak -- --nocapture

## The helper, forkexec-run, its man pages, bash/zsh/fish completions and (when forkexec-run
## has a bubblewrap mode) the `bwrap` name: `make install PREFIX=/usr DESTDIR=/tmp/stage`.
.PHONY: install uninstall man
install: helper cli
	PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) BWRAP_LINK=$(BWRAP_LINK) HELPER=$(HELPER) \
	  CLI=target/release/forkexec-run scripts/install.sh

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/forkexec $(DESTDIR)$(PREFIX)/bin/forkexec-run \
	  $(DESTDIR)$(PREFIX)/share/man/man1/forkexec-run.1 \
	  $(DESTDIR)$(PREFIX)/share/man/man1/forkexec-run-*.1 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions/forkexec-run \
	  $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_forkexec-run \
	  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/forkexec-run.fish
	@if [ "$$(readlink $(DESTDIR)$(PREFIX)/bin/bwrap 2>/dev/null)" = forkexec-run ]; then \
	  rm -f $(DESTDIR)$(PREFIX)/bin/bwrap; fi

## The man pages alone, into target/man (`man ./target/man/forkexec-run.1`).
man: cli
	mkdir -p target/man
	target/release/forkexec-run manpage target/man

demo: helper
	FORKEXEC_HELPER=$(CURDIR)/$(HELPER) $(CARGO) run --release -q -p forkexec-client --example demo

## Spawn cost next to the vfork+execve floor, bubblewrap, unshare and Python (docs/bench.md).
## Installs bubblewrap, hyperfine and strace when missing (as root); writes bench/out/,
## docs/bench.md, docs/bench.svg and the README's Performance block. BENCH_ARGS=--quick for
## a smoke run.
bench: helper
	CARGO=$(CARGO) bench/run.sh $(BENCH_ARGS)

clean:
	$(CARGO) clean
