//! Reading the spec: exactly the header's total length from the spec fd into one static
//! buffer, then the shared decoder validates all of it before any syscall with an effect.

use forkexec_spec::decode::{self, Shape, Spec};
use forkexec_spec::layout::{limit, HEADER_LEN};
use forkexec_spec::Location;

use crate::rt::{Slot, Static};
use crate::{sys, At, Failure};

/// The spec lives here for the helper's whole life; decoded fields point into it.
static SPEC_BUF: Static<[u8; limit::SPEC_LEN]> = Static::new([0; limit::SPEC_LEN]);

/// The decoded spec, kept for the helper's whole life (an error line names what its index
/// refers to in it).
static SPEC: Slot<Spec<'static>> = Slot::new();

/// Reads and validates the spec, and decides the process shape it needs.
pub fn read_and_validate(fd: i32) -> Result<(&'static Spec<'static>, Shape), Failure> {
    let buf = SPEC_BUF.get();
    let mut got = read_full(fd, &mut buf[..HEADER_LEN], 0)?;
    if got == HEADER_LEN {
        let mut header = [0u8; HEADER_LEN];
        header.copy_from_slice(&buf[..HEADER_LEN]);
        let total = decode::total_len(&header)?;
        got += read_full(fd, &mut buf[HEADER_LEN..total], HEADER_LEN)?;
    }
    // Read exactly the spec and no further: on a socket, the sync answer comes later.
    let spec = decode::decode(&buf[..got])?;
    let shape = spec.shape(sys::geteuid(), sys::getegid())?;
    Ok((SPEC.put(spec), shape))
}

/// Fills `buf` unless EOF comes first; returns how much was read. `base` is the offset of
/// `buf` in the spec, for the error index.
fn read_full(fd: i32, buf: &mut [u8], base: usize) -> Result<usize, Failure> {
    let mut got = 0;
    while got < buf.len() {
        match sys::read(fd, &mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(sys::EINTR) => continue,
            Err(e) => return Err(e).at_index(Location::SpecRead, base + got),
        }
    }
    Ok(got)
}
