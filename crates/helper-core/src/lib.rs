//! The forkexec helper's pure logic: everything it decides without a syscall, in a `no_std`,
//! `forbid(unsafe_code)` library that is unit-tested under std and linked by the fuzz target.
//! The helper binary (`src/`) keeps only the stages that make syscalls, and calls these.
//!
//! - [`failure`]: [`Errno`], [`Failure`] (location, errno, index, detail) and [`At`];
//! - [`read`]: reading exactly one spec from the spec fd and validating it;
//! - [`path`]: mount targets as paths relative to the new root ([`RelPath`]);
//! - [`text`]: numbers as text without an allocator, and the id-map file content;
//! - [`fdplan`]: the order of `dup3`s that builds the target's fd table;
//! - [`pointers`]: the argv and envp pointer arrays.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(test)]
extern crate std;

pub mod failure;
pub mod fdplan;
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
