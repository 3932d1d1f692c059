//! Regression tests from fuzzing (docs/fuzzing.md, "A crash, step by step").
//!
//! Each input that crashed a fuzz target (`fuzz/fuzz_targets/`) or broke one of its invariants
//! becomes a test here: the minimized bytes embedded as hex (as `xxd -p` or `od -An -tx1`
//! prints them), and the outcome docs/spec.md prescribes for them, asserted with [`refused`]
//! (fault and offset) or [`accepted`]. Name the test after the bug; say in a comment what went
//! wrong, which target found it, and what the fix in `crates/spec/src` was.
//!
//! So far (the runs in docs/fuzzing.md) the targets have found no crash and no broken
//! invariant, so there is no regression yet and this binary runs no test: the helpers below
//! wait for the first one (the hex reader is `forkexec_testkit::wire::hex`, tested there).
#![allow(dead_code)]

use forkexec_spec::decode::{decode, Fault, Spec, SpecError};
use forkexec_testkit::wire::hex;

/// Asserts that the spec in `hex_text` is refused with exactly this fault at this offset.
#[track_caller]
fn refused(hex_text: &str, offset: u32, fault: Fault) {
    let buf = hex(hex_text);
    assert_eq!(
        decode(&buf).map(|_| ()),
        Err(SpecError { offset, fault }),
        "spec of {} bytes",
        buf.len()
    );
}

/// Asserts that the spec in `hex_text` is accepted and hands it to `check`.
#[track_caller]
fn accepted(hex_text: &str, check: impl FnOnce(&Spec<'_>)) {
    let buf = hex(hex_text);
    match decode(&buf) {
        Ok(spec) => check(&spec),
        Err(e) => panic!("refused ({e}): {e:?}"),
    }
}
