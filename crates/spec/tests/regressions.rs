//! Regression tests from fuzzing (docs/fuzzing.md, "A crash, step by step").
//!
//! Each input that crashed a fuzz target (`fuzz/fuzz_targets/`) or broke one of its invariants
//! becomes a test here: the minimized bytes embedded as hex (as `xxd -p` or `od -An -tx1`
//! prints them), and the outcome docs/spec.md prescribes for them, asserted with [`refused`]
//! (fault and offset) or [`accepted`]. Name the test after the bug; say in a comment what went
//! wrong, which target found it, and what the fix in `crates/spec/src` was.
//!
//! So far (the runs in docs/fuzzing.md) the targets have found no crash and no broken
//! invariant, so there is no regression yet. The test below checks only the helpers that the
//! regression tests use.

use forkexec_spec::decode::{decode, Fault, Spec, SpecError};

/// Bytes from hex digits; whitespace and newlines are ignored.
fn hex(text: &str) -> Vec<u8> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(digits.len().is_multiple_of(2), "odd number of hex digits");
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("hex digit"))
        .collect()
}

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

/// `vectors/minimal.hex` and `vectors/truncated.hex`, in the forms `xxd -p` and `od -An -tx1`
/// print a minimized fuzz input in.
#[test]
fn helpers_read_hex_as_the_tools_print_it() {
    let xxd = "46585350010000001e000000010000000a0000002f62696e2f7472756500\n";
    let od = " 46 58 53 50 01 00 00 00 1e 00 00 00 01 00 00 00\n 0a 00 00 00 2f 62 69 6e 2f 74 72 75 65 00\n";
    for text in [xxd, od] {
        accepted(text, |spec| {
            assert_eq!(spec.args.first(), Some(c"/bin/true"));
            assert_eq!(spec.args.len(), 1);
        });
    }
    refused(&xxd[..xxd.len() - 3], 29, Fault::Truncated);
}
