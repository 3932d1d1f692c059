//! The forkexec helper's pure logic: everything it decides without a syscall, in a `no_std`,
//! `forbid(unsafe_code)` library that is unit-tested under std and linked by the fuzz target.
//! The helper binary (`src/`) keeps only the stages that make syscalls, and calls these.
//!
//! - [`failure`]: [`Errno`], [`Failure`] (location, errno, index, detail) and [`At`];
//! - [`read`]: reading exactly one spec from the spec fd and validating it;
//! - [`path`]: mount targets as paths relative to the new root ([`RelPath`]);
//! - [`text`]: numbers as text without an allocator, and the id-map file content;
//! - [`fdplan`]: the order of `dup3`s that builds the target's fd table;
//! - [`info`]: bubblewrap's info and JSON status documents;
//! - [`pointers`]: the argv and envp pointer arrays.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(test)]
extern crate std;

pub mod failure;
pub mod fdplan;
pub mod info;
pub mod path;
pub mod read;
pub mod text;

#[cfg(test)]
mod testing;

use forkexec_spec::decode::StrList;

/// Fills `out` with a pointer to each string of `list`, then NULL (an argv or envp for
/// `execve`); returns the number of strings. `out` has room for the decoder's limit plus one.
pub fn pointers(list: &StrList, out: &mut [*const u8]) -> usize {
    let mut n = 0;
    for s in list.iter() {
        out[n] = s.as_ptr() as *const u8;
        n += 1;
    }
    out[n] = core::ptr::null();
    n
}

pub use failure::{At, Errno, Failure};
pub use path::RelPath;

#[cfg(test)]
mod tests {
    use super::*;

    /// Each pointer is the start of its string, in order, then NULL; the count is the number
    /// of strings (execve's argc), for an empty list and a full one.
    #[test]
    fn pointers_are_the_strings_then_null() {
        let bytes = testing::spec(b"/bin/echo", |w| {
            w.env([&b"A=1"[..], b"BB=22", b"CCC=333"]);
        });
        let spec = forkexec_spec::decode(&bytes).unwrap();
        let mut out = [core::ptr::dangling::<u8>(); 5];
        assert_eq!(pointers(&spec.env, &mut out), 3);
        let got: std::vec::Vec<&[u8]> = out[..3]
            .iter()
            .zip(spec.env.iter())
            .map(|(&p, s)| {
                assert_eq!(p, s.as_ptr() as *const u8, "a pointer into the spec itself");
                s.to_bytes()
            })
            .collect();
        assert_eq!(got, [&b"A=1"[..], b"BB=22", b"CCC=333"]);
        assert!(out[3].is_null(), "the list ends with NULL");
        assert_eq!(
            out[4],
            core::ptr::dangling(),
            "nothing written past the NULL"
        );
        assert_eq!(pointers(&spec.args, &mut out), 1);
        assert_eq!(
            out[0],
            spec.args.iter().next().unwrap().as_ptr() as *const u8
        );
        assert!(out[1].is_null());
        let none = testing::spec(b"/bin/true", |_| {});
        let none = forkexec_spec::decode(&none).unwrap();
        assert_eq!(
            pointers(&none.env, &mut out),
            0,
            "an empty envp is just NULL"
        );
        assert!(out[0].is_null());
    }
}
