//! Refusing a privileged install: a helper installed setuid, setgid or with file capabilities
//! would hand that privilege to whoever can run it, since it does whatever its spec says.
//! Checked first, before the spec is read: the error record names the reason.

use forkexec_spec::Location;

use crate::{rt, sys, At, Failure};

const EPERM: sys::Errno = sys::Errno(linux_raw_sys::errno::EPERM as i32);

/// `sp` is the initial stack pointer (for the auxiliary vector's `AT_SECURE`).
pub fn refuse_privileged(sp: *const usize) -> Result<(), Failure> {
    let reason = if sys::getuid() != sys::geteuid() {
        Some(0) // setuid
    } else if sys::getgid() != sys::getegid() {
        Some(1) // setgid
    } else if rt::secure_exec(sp) {
        Some(2) // file capabilities (or an LSM transition asking for a secure exec)
    } else {
        None
    };
    match reason {
        Some(index) => Err(EPERM).at_index(Location::PrivilegedInstall, index),
        None => Ok(()),
    }
}
