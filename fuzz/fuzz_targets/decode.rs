//! `decode`: arbitrary bytes into `forkexec_spec::decode`, the helper's and every client's
//! validator.
//!
//! - A refusal: the offset is within the input and follows docs/spec.md's rules for its fault;
//!   `total_len` on the header agrees with `decode`'s header checks.
//! - An acceptance: every accessor is walked (args/env iterators, exec path, files, seccomp,
//!   rlimits, the mount list (raw mounts and mount operations in one order, against
//!   the mount and rlimit lists), id maps, credential groups, options) and agrees with
//!   the others; every count is within `layout::limit`, every string is a proper C string
//!   within its limit, and the whole-spec rules hold; the fields written back with the
//!   `Writer` (canonically, and in a record order chosen from the input with an advisory
//!   record added) decode to the same fields; `Spec::shape` follows the documented rules for
//!   a few (euid, egid) pairs.
#![no_main]

use forkexec_fuzz::{check_accepted, decode_checked};
use libfuzzer_sys::{fuzz_mutator, fuzz_target, fuzzer_mutate};

fuzz_target!(|data: &[u8]| {
    if decode_checked(data).is_ok() {
        let spec = forkexec_spec::decode(data).unwrap();
        let owned = forkexec_fuzz::Owned::of(&spec);
        let seed = data
            .iter()
            .rev()
            .take(8)
            .fold(data.len() as u64, |acc, &b| acc.rotate_left(8) ^ b as u64);
        check_accepted(data, &spec, &owned, seed);
    }
});

// Half the time a structure-aware mutation that keeps the lengths consistent (src/mutate.rs).
fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    forkexec_fuzz::mutate::mutate_spec(data, size, max_size, seed, 0, &mut fuzzer_mutate)
});
