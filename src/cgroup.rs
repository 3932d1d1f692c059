//! Cgroup placement: the target is in the given cgroup (v2) from its first instruction. A
//! clone enters it with `CLONE_INTO_CGROUP`; exec in place writes "0" (this process) to its
//! `cgroup.procs` before anything else runs.

use forkexec_spec::{Location, Spec};

use crate::{sys, At, Failure};

const O_PATH_DIR: u32 = linux_raw_sys::general::O_PATH | linux_raw_sys::general::O_DIRECTORY;

/// An fd on the cgroup directory, if the spec names one (opened here for a path).
pub fn open_dir(spec: &Spec) -> Result<Option<i32>, Failure> {
    if let Some(fd) = spec.cgroup_fd {
        return Ok(Some(fd as i32));
    }
    match spec.cgroup_path {
        Some(path) => Ok(Some(sys::open(path, O_PATH_DIR).at(Location::Cgroup)?)),
        None => Ok(None),
    }
}

/// Exec in place: moves this process into the cgroup.
pub fn enter_in_place(spec: &Spec) -> Result<(), Failure> {
    let Some(dir) = open_dir(spec)? else {
        return Ok(());
    };
    let flags = linux_raw_sys::general::O_WRONLY;
    let procs = sys::openat(dir, c"cgroup.procs", flags).at_index(Location::Cgroup, 1)?;
    let written = sys::write(procs, b"0");
    let _ = sys::close(procs);
    if spec.cgroup_fd.is_none() {
        let _ = sys::close(dir);
    }
    written.at_index(Location::Cgroup, 1)?;
    Ok(())
}
