//! Refusing a privileged install: a helper installed setuid, setgid or with file capabilities
//! would hand that privilege to whoever can run it, since it does whatever its spec says.
//! Checked first, before the spec is read: the error record names the reason.

use forkexec_spec::Location;

use crate::{rt, sys, At, Failure};

const EPERM: sys::Errno = sys::Errno(linux_raw_sys::errno::EPERM as i32);

/// The helper's effective ids (equal to its real ones once the install is found sound).
#[derive(Clone, Copy)]
pub struct Ids {
    pub uid: u32,
    pub gid: u32,
}

/// `sp` is the initial stack pointer (for the auxiliary vector's `AT_SECURE`). Two syscalls:
/// `getresuid` and `getresgid` give the real and effective ids together.
pub fn refuse_privileged(sp: *const usize) -> Result<Ids, Failure> {
    let ([ruid, euid, _], [rgid, egid, _]) = (sys::getresuid(), sys::getresgid());
    let reason = if ruid != euid {
        Some(0) // setuid
    } else if rgid != egid {
        Some(1) // setgid
    } else if rt::secure_exec(sp) {
        Some(2) // file capabilities (or an LSM transition asking for a secure exec)
    } else {
        None
    };
    match reason {
        Some(index) => Err(EPERM).at_index(Location::PrivilegedInstall, index),
        None => Ok(Ids {
            uid: euid,
            gid: egid,
        }),
    }
}
