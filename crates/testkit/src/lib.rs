//! Test-only support for the forkexec test suites (a dev-dependency of `crates/spec`,
//! `crates/client`, `crates/cli` and `crates/policy`; never linked into anything shipped).
//!
//! - [`support`]: spawn the real static helper through the client and look at what the target
//!   (`forkexec-probe`) sees: probe runners, captured output, sandbox roots, raw spec bytes.
//! - [`chain`]: on top of [`support`], for the exec-chain tests: stdio with caller-chosen fd
//!   tables, process guards, scratch directories, seccomp programs, per-thread tricks.
//! - [`fixtures`]: client [`forkexec_client::Spec`]s with every field set.
//! - [`wire`]: the wire-format side: a `Vec<u8>` [`wire::VecSink`] for the spec crate's
//!   `Writer`, spec builders, and an owned, comparable copy of a decoded spec.
//! - [`skip`](mod@skip): visible, counted skips (`skip!`, `root_only!`, `user_only!`, `root_needs!`).
//! - [`cgroup`]: the machine's cgroup layout (v1, v2, hybrid), found instead of assumed.
//! - [`cli_serve`]: `forkexec-run serve` on a scratch socket and runs sent with `--via`.
//! - [`leaks`]: the leak checks (fds, children, mounts, cgroups) the suites share, each
//!   shown to catch its leak by `crates/client/tests/leaks.rs`.
//!
//! docs/testing.md says how the suites are organised and how to add a test.

pub mod cgroup;
pub mod chain;
pub mod cli_serve;
pub mod fixtures;
pub mod leaks;
pub mod served;
pub mod skip;
pub mod support;
pub mod wire;
