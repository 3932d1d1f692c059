//! Privileges: no_new_privs, and the capabilities the target keeps before exec: none (a
//! credential, drop_caps) or the CAPS record's kept set.

use forkexec_spec::decode::Caps;
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
    if spec.has(opt::NO_NEW_PRIVS) || !spec.seccomp.is_empty() {
        sys::prctl(pr::PR_SET_NO_NEW_PRIVS, 1, 0).at(Location::SetNoNewPrivs)?;
    }
    Ok(())
}

/// The capabilities are set here, unless the cgroup namespace still has to be unshared after
/// sync (which needs CAP_SYS_ADMIN); then the sync point sets them.
pub fn set_caps_unless_deferred(spec: &Spec) -> Result<(), Failure> {
    if !spec.has(opt::UNSHARE_CGROUP_AFTER_SYNC) {
        set_caps(spec)?;
    }
    Ok(())
}

/// CAPS keeps its set; otherwise a credential or drop_caps drops everything.
pub fn set_caps(spec: &Spec) -> Result<(), Failure> {
    match spec.caps {
        Some(caps) => keep_caps(caps),
        None if spec.credential.is_some() || spec.has(opt::DROP_CAPS) => drop_caps(),
        None => Ok(()),
    }
}

/// Whether CAP_SETPCAP is effective (without it the bounding set and securebits cannot
/// change, and exec cannot raise capabilities for an unprivileged process anyway beyond what
/// file capabilities grant, which no_new_privs stops).
fn can_set_bounding() -> Result<bool, Failure> {
    let [effective, _, _] = sys::capget().at(Location::GetCap)?;
    Ok(effective & CAP_SETPCAP != 0)
}

/// With CAP_SETPCAP: lock the securebits so root gains nothing on exec, and empty the bounding
/// set. Always: clear the ambient set and zero the effective, permitted and inheritable sets.
pub fn drop_caps() -> Result<(), Failure> {
    if can_set_bounding()? {
        let bits = SECBIT_KEEP_CAPS_LOCKED
            | SECBIT_NO_SETUID_FIXUP
            | SECBIT_NO_SETUID_FIXUP_LOCKED
            | SECBIT_NOROOT
            | SECBIT_NOROOT_LOCKED;
        sys::prctl(pr::PR_SET_SECUREBITS, bits, 0).at_index(Location::DropCapability, 0)?;
        drop_bounding(0)?;
    }
    sys::prctl(pr::PR_CAP_AMBIENT, pr::PR_CAP_AMBIENT_CLEAR_ALL as usize, 0)
        .at_index(Location::DropCapability, 1)?;
    sys::capset(0).at(Location::SetCap)?;
    Ok(())
}

/// bubblewrap's way with a kept set: every other capability leaves the bounding set (with
/// CAP_SETPCAP), the effective, permitted and inheritable sets become the kept set (unless
/// LEAVE_SETS), and each kept capability is raised into the ambient set, one at a time, so it
/// survives execve for a uid other than 0. The kernel's last capability ends both loops
/// (EINVAL). Without LEAVE_SETS every raise must succeed; with it, one the process does not
/// hold in both permitted and inheritable is skipped (EPERM), as bubblewrap does.
fn keep_caps(caps: Caps) -> Result<(), Failure> {
    if can_set_bounding()? {
        drop_bounding(caps.kept)?;
    }
    if !caps.leave_sets() {
        sys::capset(caps.kept).at(Location::SetCap)?;
    }
    for cap in (0..64).filter(|c| caps.kept & 1 << c != 0) {
        match sys::prctl(pr::PR_CAP_AMBIENT, pr::PR_CAP_AMBIENT_RAISE as usize, cap) {
            Err(sys::EINVAL) => break,
            Err(sys::EPERM) if caps.leave_sets() => {}
            other => {
                other.at_index(Location::RaiseAmbient, cap)?;
            }
        }
    }
    Ok(())
}

/// Drops every capability not in `kept` from the bounding set.
fn drop_bounding(kept: u64) -> Result<(), Failure> {
    for cap in (0..64).filter(|c| kept & 1 << c == 0) {
        match sys::prctl(pr::PR_CAPBSET_DROP, cap, 0) {
            Err(sys::EINVAL) => break, // past the kernel's last capability
            other => {
                other.at_index(Location::DropCapability, 2)?;
            }
        }
    }
    Ok(())
}
