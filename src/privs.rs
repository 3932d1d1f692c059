//! Privileges: no_new_privs, and dropping every capability before exec.

use forkexec_spec::layout::opt;
use forkexec_spec::{Location, Spec};
use linux_raw_sys::prctl as pr;

use crate::ids::{
    SECBIT_KEEP_CAPS_LOCKED, SECBIT_NOROOT, SECBIT_NOROOT_LOCKED, SECBIT_NO_SETUID_FIXUP,
    SECBIT_NO_SETUID_FIXUP_LOCKED,
};
use crate::{sys, At, Failure};

const CAP_SETPCAP: u64 = 1 << 8;

/// A seccomp filter implies no_new_privs (the kernel requires it without CAP_SYS_ADMIN).
pub fn set_no_new_privs(spec: &Spec) -> Result<(), Failure> {
    if spec.has(opt::NO_NEW_PRIVS) || spec.seccomp.is_some() {
        sys::prctl(pr::PR_SET_NO_NEW_PRIVS, 1, 0).at(Location::SetNoNewPrivs)?;
    }
    Ok(())
}

/// A credential or drop_caps drops everything here, unless the cgroup namespace still has to
/// be unshared after sync (which needs CAP_SYS_ADMIN); then the sync point drops them.
pub fn drop_caps_unless_deferred(spec: &Spec) -> Result<(), Failure> {
    if wants_drop(spec) && !spec.has(opt::UNSHARE_CGROUP_AFTER_SYNC) {
        drop_caps()?;
    }
    Ok(())
}

pub fn wants_drop(spec: &Spec) -> bool {
    spec.credential.is_some() || spec.has(opt::DROP_CAPS)
}

/// With CAP_SETPCAP: lock the securebits so root gains nothing on exec, and empty the bounding
/// set. Always: clear the ambient set and zero the effective, permitted and inheritable sets.
/// (Without CAP_SETPCAP the bounding set and securebits cannot change, and exec cannot raise
/// capabilities for an unprivileged process anyway beyond what file capabilities grant.)
pub fn drop_caps() -> Result<(), Failure> {
    let [effective, _, _] = sys::capget().at(Location::GetCap)?;
    if effective & CAP_SETPCAP != 0 {
        let bits = SECBIT_KEEP_CAPS_LOCKED
            | SECBIT_NO_SETUID_FIXUP
            | SECBIT_NO_SETUID_FIXUP_LOCKED
            | SECBIT_NOROOT
            | SECBIT_NOROOT_LOCKED;
        sys::prctl(pr::PR_SET_SECUREBITS, bits, 0).at_index(Location::DropCapability, 0)?;
        for cap in 0..64 {
            match sys::prctl(pr::PR_CAPBSET_DROP, cap, 0) {
                Err(sys::EINVAL) => break, // past the kernel's last capability
                other => {
                    other.at_index(Location::DropCapability, 2)?;
                }
            }
        }
    }
    sys::prctl(pr::PR_CAP_AMBIENT, pr::PR_CAP_AMBIENT_CLEAR_ALL as usize, 0)
        .at_index(Location::DropCapability, 1)?;
    sys::capset_zero().at(Location::SetCap)?;
    Ok(())
}
