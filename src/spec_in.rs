//! Reading the spec: exactly the header's total length from the spec fd into one static
//! buffer, then the shared decoder validates all of it before any syscall with an effect.

use forkexec_helper_core::read;
use forkexec_spec::decode::{Shape, Spec};
use forkexec_spec::layout::limit;

use crate::install::Ids;
use crate::rt::{Slot, Static};
use crate::{sys, Failure};

/// The spec lives here for the helper's whole life; decoded fields point into it.
static SPEC_BUF: Static<[u8; limit::SPEC_LEN]> = Static::new([0; limit::SPEC_LEN]);

/// Where the spec is decoded, in place (`decode_into`), and kept for the helper's whole life
/// (an error line names what its index refers to in it). A `Slot`, so that its 26 KB cost no
/// bytes in the file (.bss).
static SPEC: Slot<Spec<'static>> = Slot::new();

/// The spec's storage, made empty once, at start (the fork server's runs each decode into
/// their copy of the server's). Not inlined: making a `Spec` takes a stack copy of it, which
/// must not be part of `main`'s frame (the fork server's stack, copied on write in each run).
#[inline(never)]
pub fn storage() -> &'static mut Spec<'static> {
    SPEC.put(Spec::default())
}

/// Reads and validates the spec (the core's read loop over the spec fd) into `spec`, and
/// decides the process shape it needs (for a helper with these effective ids).
pub fn read_and_validate(
    fd: i32,
    spec: &'static mut Spec<'static>,
    ids: Ids,
) -> Result<(&'static mut Spec<'static>, Shape), Failure> {
    let read = |buf: &mut [u8]| sys::read(fd, buf);
    read::read_and_validate(read, SPEC_BUF.get(), spec, ids.uid, ids.gid)
}
