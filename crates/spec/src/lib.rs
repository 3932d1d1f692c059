//! The forkexec wire format, version 1: the one source of truth shared by the static helper
//! (which decodes) and every client (which encodes). `docs/spec.md` describes the same bytes
//! in prose for encoders written in other languages.
//!
//! - [`tables`]: one table per concept (record types, option bits, clone flags, mount flags,
//!   mount kinds and what each takes, rlimit resources); [`layout`] re-exports them.
//! - [`layout`]: magic, limits, field offsets.
//! - [`decode`](mod@decode): zero-copy, allocation-free validation of a whole spec into a [`decode::Spec`].
//! - [`encode`]: a [`encode::Writer`] over any byte [`encode::Sink`].
//! - [`serve`]: the fork server's request (`forkexec --serve FD`).
//! - [`status`]: the fixed-size records the helper writes back (error, sync, pid, exit).
//! - [`render`]: a failed start in words (one wording for the helper, the clients and the
//!   CLI); [`errno`]: strerror's texts without libc.
//! - [`location`]: error locations 1–32 as in go-sandbox, 33 and up for forkexec's own steps.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod decode;
pub mod encode;
pub mod errno;
pub mod layout;
pub mod location;
pub mod render;
pub mod serve;
pub mod status;
pub mod tables;

pub use decode::{decode, decode_into, Fault, Shape, Spec, SpecError};
pub use location::Location;
