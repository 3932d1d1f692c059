//! A failed step: where in the chain, the errno, which item, and for spec errors the fault.

use forkexec_spec::{Location, SpecError};

/// A raw errno value (positive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

/// Interrupted: retried, never reported.
pub const EINTR: Errno = Errno(4);

/// A failed step: where, the errno, which item (mount, rlimit, fd…), and for spec errors the
/// fault code. The helper writes it as an error status record and exits 125 (or 126/127).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The step.
    pub loc: Location,
    /// Its errno.
    pub errno: i32,
    /// Which item; the byte offset for spec errors.
    pub index: u32,
    /// For spec errors, the fault code; otherwise 0.
    pub detail: u32,
}

impl Failure {
    /// The failure of item `index` of step `loc` with `errno`.
    pub fn new(loc: Location, errno: Errno, index: usize) -> Self {
        Failure {
            loc,
            errno: errno.0,
            index: index as u32,
            detail: 0,
        }
    }
}

impl From<SpecError> for Failure {
    fn from(e: SpecError) -> Self {
        Failure {
            loc: Location::Spec,
            errno: e.fault.errno(),
            index: e.offset,
            detail: e.fault as u32,
        }
    }
}

/// Tags a syscall result with the chain location (and item index) it belongs to.
pub trait At<T> {
    /// An error becomes a failure of step `loc` (index 0).
    fn at(self, loc: Location) -> Result<T, Failure>;
    /// An error becomes a failure of item `index` of step `loc`.
    fn at_index(self, loc: Location, index: usize) -> Result<T, Failure>;
}

impl<T> At<T> for Result<T, Errno> {
    fn at(self, loc: Location) -> Result<T, Failure> {
        self.at_index(loc, 0)
    }
    fn at_index(self, loc: Location, index: usize) -> Result<T, Failure> {
        self.map_err(|e| Failure::new(loc, e, index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use forkexec_spec::Fault;

    #[test]
    fn spec_errors_carry_offset_fault_and_errno() {
        let f = Failure::from(SpecError {
            offset: 37,
            fault: Fault::TooMany,
        });
        assert_eq!(f.loc, Location::Spec);
        assert_eq!((f.index, f.detail, f.errno), (37, Fault::TooMany as u32, 7));
    }

    #[test]
    fn at_tags_location_and_index() {
        let r: Result<(), Errno> = Err(Errno(13));
        let f = r.at_index(Location::Mount, 5).unwrap_err();
        assert_eq!(f, Failure::new(Location::Mount, Errno(13), 5));
        assert_eq!(Ok::<u8, Errno>(1).at(Location::Chdir), Ok(1));
    }
}
