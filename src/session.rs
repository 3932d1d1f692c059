//! A new session (so the target cannot reach the caller's terminal with TIOCSTI), on request
//! fd 0 as the controlling terminal, and on request a new session keyring (so the target
//! cannot read the keys the runtime keeps in its own).

use forkexec_spec::layout::opt;
use forkexec_spec::{Location, Spec};

use crate::{sys, At, Failure};

const EPERM: sys::Errno = sys::Errno(linux_raw_sys::errno::EPERM as i32);

pub fn new_session(spec: &Spec) -> Result<(), Failure> {
    if !spec.has(opt::NO_SETSID) {
        match sys::setsid() {
            // Already a session leader (the runtime used setsid): nothing to do.
            Err(EPERM) if sys::getsid().is_ok_and(|sid| sid as i32 == sys::getpid()) => {}
            other => {
                other.at(Location::SetSid)?;
            }
        }
    }
    if spec.has(opt::CTTY) {
        sys::set_controlling_tty(0).at(Location::Ioctl)?;
    }
    // After the ids (the keyring belongs to the target's uid), in every shape.
    if spec.has(opt::NEW_SESSION_KEYRING) {
        sys::join_new_session_keyring().at(Location::Keyring)?;
    }
    Ok(())
}
