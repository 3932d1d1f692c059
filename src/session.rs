//! A new session (so the target cannot reach the caller's terminal with TIOCSTI), and on
//! request fd 0 as the controlling terminal.

use forkexec_spec::layout::opt;
use forkexec_spec::{Location, Spec};

use crate::{sys, At, Failure};

pub fn new_session(spec: &Spec) -> Result<(), Failure> {
    // Already a session leader (the runtime used setsid): setsid would fail with EPERM.
    let leader = sys::getsid().is_ok_and(|sid| sid as i32 == sys::getpid());
    if !spec.has(opt::NO_SETSID) && !leader {
        sys::setsid().at(Location::SetSid)?;
    }
    if spec.has(opt::CTTY) {
        sys::set_controlling_tty(0).at(Location::Ioctl)?;
    }
    Ok(())
}
