//! Dumpability: the helper is non-dumpable from its start until `execve` (which makes an
//! ordinary target dumpable again), so no process of the same uid can ptrace it, read its
//! memory or open its `/proc/PID/fd`, `exe`, `environ` while it sets up, nor later reach the
//! supervisor or init through `/proc` (CVE-2019-5736, CVE-2016-9962). Clones inherit it.
//!
//! The one exception is the id-map writes: the `/proc/PID/` files of a non-dumpable process
//! belong to root, so an unprivileged helper could not open its own (exec in place) or its
//! clone's (clone shapes) `uid_map`. The process whose maps are written is made dumpable just
//! for them (docs/chain.md).
//!
//! With DUMPABLE_INIT, the init of a pid namespace is made dumpable for good, as bubblewrap's
//! is, once it has dropped every capability and taken the target's seccomp filter.

use forkexec_spec::Location;

use crate::{sys, At, Failure};

const PR_SET_DUMPABLE: u32 = linux_raw_sys::prctl::PR_SET_DUMPABLE;

/// At start: non-dumpable.
pub fn off_at_start() -> Result<(), Failure> {
    set(false, 0)
}

/// Dumpable while the id maps are written (a clone inherits it).
pub fn on_for_maps() -> Result<(), Failure> {
    set(true, 1)
}

/// Non-dumpable again once the maps are written.
pub fn off_after_maps() -> Result<(), Failure> {
    set(false, 2)
}

/// Init made dumpable (DUMPABLE_INIT), once it holds nothing the target does not.
pub fn on_in_init() -> Result<(), Failure> {
    set(true, 3)
}

#[inline(never)]
fn set(dumpable: bool, index: usize) -> Result<(), Failure> {
    sys::prctl(PR_SET_DUMPABLE, dumpable as usize, 0).at_index(Location::SetDumpable, index)?;
    Ok(())
}
