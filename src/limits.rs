//! Resource limits, with prlimit64 (64-bit limits on every architecture).

use forkexec_spec::{Location, Spec};

use crate::{sys, At, Failure};

pub fn set_rlimits(spec: &Spec) -> Result<(), Failure> {
    for (i, limit) in spec.rlimits.iter().enumerate() {
        sys::prlimit(limit.resource, limit.cur, limit.max).at_index(Location::SetRlimit, i)?;
    }
    Ok(())
}
