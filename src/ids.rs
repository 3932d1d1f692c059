//! Credentials, in go-sandbox's order: keep capabilities across the id change (the mounts and
//! the cgroup unshare still need them), then setgroups before setgid before setuid.

use forkexec_spec::layout::{ns, opt};
use forkexec_spec::{Location, Spec};

use crate::{sys, At, Failure};

pub const SECBIT_NOROOT: usize = 1 << 0;
pub const SECBIT_NOROOT_LOCKED: usize = 1 << 1;
pub const SECBIT_NO_SETUID_FIXUP: usize = 1 << 2;
pub const SECBIT_NO_SETUID_FIXUP_LOCKED: usize = 1 << 3;
pub const SECBIT_KEEP_CAPS_LOCKED: usize = 1 << 5;

pub fn set_credential(spec: &Spec) -> Result<(), Failure> {
    if spec.credential.is_some() || spec.has(opt::UNSHARE_CGROUP_AFTER_SYNC) {
        let keep = SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED;
        sys::prctl(linux_raw_sys::prctl::PR_SET_SECUREBITS, keep, 0)
            .at(Location::KeepCapability)?;
    }
    let Some(cred) = spec.credential else {
        return Ok(());
    };
    // In a new user namespace with setgroups denied, setgroups can only fail: skip it when
    // there are no groups to set (go-sandbox does the same for gid mappings).
    let setgroups_denied =
        spec.clone_flags & ns::NEWUSER != 0 && !spec.has(opt::GID_MAPPINGS_ENABLE_SETGROUPS);
    let skip_groups = cred.no_setgroups() || (setgroups_denied && cred.group_count() == 0);
    if !skip_groups {
        sys::setgroups(cred.group_count(), cred.groups_bytes()).at(Location::SetGroups)?;
    }
    sys::setgid(cred.gid).at(Location::SetGid)?;
    sys::setuid(cred.uid).at(Location::SetUid)?;
    Ok(())
}
