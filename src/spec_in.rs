//! Reading the spec: exactly the header's total length from the spec fd into one static
//! buffer, then the shared decoder validates all of it before any syscall with an effect.

use forkexec_helper_core::read;
use forkexec_spec::decode::{Shape, Spec};
use forkexec_spec::layout::limit;

use crate::rt::{Slot, Static};
use crate::{sys, Failure};

/// The spec lives here for the helper's whole life; decoded fields point into it.
static SPEC_BUF: Static<[u8; limit::SPEC_LEN]> = Static::new([0; limit::SPEC_LEN]);

/// The decoded spec, kept for the helper's whole life (an error line names what its index
/// refers to in it).
static SPEC: Slot<Spec<'static>> = Slot::new();

/// Reads and validates the spec (the core's read loop over the spec fd), and decides the
/// process shape it needs.
pub fn read_and_validate(fd: i32) -> Result<(&'static mut Spec<'static>, Shape), Failure> {
    let read = |buf: &mut [u8]| sys::read(fd, buf);
    let (spec, shape) =
        read::read_and_validate(read, SPEC_BUF.get(), sys::geteuid(), sys::getegid())?;
    Ok((SPEC.put(spec), shape))
}
