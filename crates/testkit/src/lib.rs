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
//!
//! docs/testing.md says how the suites are organised and how to add a test.

pub mod chain;
pub mod fixtures;
pub mod support;
pub mod wire;
