//! Die with parent: `PR_SET_PDEATHSIG(SIGKILL)`, checked against `getppid()` so a parent that
//! is already gone is noticed, and re-armed after id changes (the kernel clears it then).

use forkexec_spec::layout::opt;
use forkexec_spec::{Location, Spec};

use crate::{sys, At, Channel, Failure};

const PR_SET_PDEATHSIG: u32 = linux_raw_sys::prctl::PR_SET_PDEATHSIG;
const SIGKILL: usize = linux_raw_sys::general::SIGKILL as usize;
const ESRCH: sys::Errno = sys::Errno(linux_raw_sys::errno::ESRCH as i32);

/// After the credential stage: the kernel clears the parent-death signal when the effective
/// or filesystem ids change, so it is armed again (as for the target, index 1) when the spec
/// set ids. Without a CREDENTIAL nothing changed them.
pub fn rearm_after_ids(spec: &Spec, chan: &Channel) -> Result<(), Failure> {
    match spec.credential {
        Some(_) => arm(spec, chan, 1),
        None => Ok(()),
    }
}

/// Arms the parent-death signal for this process, whose parent must still be `chan.parent`.
/// `index` says which process: 0 the helper, 1 the target, 2 init. Init's child outside a new
/// pid namespace always has it: it dies with init.
pub fn arm(spec: &Spec, chan: &Channel, index: usize) -> Result<(), Failure> {
    if !spec.has(opt::DIE_WITH_PARENT) && !chan.dies_with_init {
        return Ok(());
    }
    sys::prctl(PR_SET_PDEATHSIG, SIGKILL, 0).at_index(Location::Pdeathsig, index)?;
    // The parent may have died before the signal was armed: we were reparented then. (In a
    // new pid namespace the parent shows as 0 either way; there the clone's handshake EOF
    // tells that the helper is gone.)
    if chan.parent.is_some_and(|parent| sys::getppid() != parent) {
        return Err(ESRCH).at_index(Location::Pdeathsig, index);
    }
    Ok(())
}
