//! The filesystem view, on go-sandbox's call path: make `/` private, mount a tmpfs on the new
//! root and chdir into it, perform the mounts (creating their targets), pivot_root, detach and
//! remove the old root, remount the new `/` read-only; later, chdir to the work directory.
//!
//! With pivot_root, mount targets are paths inside the new root (a leading `/` is dropped, so
//! they resolve under it); without it they are used as given, in the private mount namespace.

use core::ffi::CStr;

use forkexec_spec::decode::Mount;
use forkexec_spec::layout::{limit, mount_opt, ns};
use forkexec_spec::{Location, Spec};
use linux_raw_sys::general as g;

use crate::{sys, At, Failure};

const MS_RDONLY: u64 = g::MS_RDONLY as u64;
const MS_NOSUID: u64 = g::MS_NOSUID as u64;
const MS_NODEV: u64 = g::MS_NODEV as u64;
const MS_NOEXEC: u64 = g::MS_NOEXEC as u64;
const MS_REMOUNT: u64 = g::MS_REMOUNT as u64;
const MS_BIND: u64 = g::MS_BIND as u64;
const MS_NOATIME: u64 = g::MS_NOATIME as u64;
const MS_NODIRATIME: u64 = g::MS_NODIRATIME as u64;
const MS_RELATIME: u64 = g::MS_RELATIME as u64;
const MS_REC: u64 = g::MS_REC as u64;
const MS_PRIVATE: u64 = g::MS_PRIVATE as u64;

/// `statfs` flag bits (`ST_*`, not in linux-raw-sys) and the mount flags they stand for.
/// `ST_RDONLY` is among them: a bind of a read-only mount stays read-only (as a plain bind
/// does) instead of being made writable, or refused as a locked flag, by the remount.
const ST_TO_MS: [(u64, u64); 7] = [
    (1, MS_RDONLY),
    (2, MS_NOSUID),
    (4, MS_NODEV),
    (8, MS_NOEXEC),
    (1024, MS_NOATIME),
    (2048, MS_NODIRATIME),
    (4096, MS_RELATIME),
];

/// Flags that a bind mount only takes on a remount.
const PER_MOUNT: u64 =
    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME;

const OLD_ROOT: &CStr = c"old_root";

pub fn mount_and_pivot(spec: &Spec) -> Result<(), Failure> {
    if spec.clone_flags & ns::NEWNS == 0 {
        return Ok(()); // the decoder refuses mounts and pivot_root without a mount namespace
    }
    // Nothing done below may propagate back to the host.
    sys::mount(c"none", c"/", c"", MS_REC | MS_PRIVATE, c"").at(Location::MountRoot)?;
    if let Some(root) = spec.pivot_root {
        sys::mount(c"tmpfs", root, c"tmpfs", 0, c"").at(Location::MountTmpfs)?;
        sys::chdir(root).at(Location::MountChdir)?;
    }
    let inside_root = spec.pivot_root.is_some();
    for (i, m) in spec.mounts().enumerate() {
        mount_one(&m, i, inside_root)?;
    }
    if let Some(root) = spec.pivot_root {
        pivot(root)?;
    }
    Ok(())
}

fn mount_one(m: &Mount, index: usize, inside_root: bool) -> Result<(), Failure> {
    let mut path = [0u8; limit::PATH + 1];
    copy_target(m.target, inside_root, &mut path);
    if m.options & mount_opt::MKDIR != 0 {
        let file = m.options & mount_opt::FILE != 0;
        make_target(&mut path, file).at_index(Location::MountMkdir, index)?;
    }
    let target = cstr(&path);
    sys::mount(m.source, target, m.fstype, m.flags, m.data).at_index(Location::Mount, index)?;
    // A new bind mount ignores per-mount flags (read-only, nosuid, …): apply them with a
    // remount, keeping the source's read-only, nosuid, nodev, noexec and atime flags (the
    // kernel locks them on mounts from a more privileged namespace, and a bind must not make
    // a read-only source writable).
    if m.flags & MS_BIND != 0 && m.flags & PER_MOUNT != 0 && m.flags & MS_REMOUNT == 0 {
        let st = sys::statfs_flags(target).at_index(Location::Mount, index)?;
        let kept = ST_TO_MS
            .iter()
            .filter(|(st_bit, _)| st & st_bit != 0)
            .fold(0, |acc, (_, ms)| acc | ms);
        let flags = MS_REMOUNT | MS_BIND | (m.flags & PER_MOUNT) | kept;
        sys::mount(c"", target, c"", flags, c"").at_index(Location::Mount, index)?;
    }
    Ok(())
}

/// Copies the target into `out` (NUL-terminated), relative to the new root when there is one.
fn copy_target(target: &CStr, inside_root: bool, out: &mut [u8; limit::PATH + 1]) {
    let mut bytes = target.to_bytes();
    if inside_root {
        while let [b'/', rest @ ..] = bytes {
            bytes = rest;
        }
        if bytes.is_empty() {
            bytes = b".";
        }
    }
    out[..bytes.len()].copy_from_slice(bytes);
    out[bytes.len()] = 0;
}

/// Creates every missing directory on the way to the target, then the target itself: a
/// directory, or an empty file to bind a file onto. Existing ones are fine.
fn make_target(path: &mut [u8; limit::PATH + 1], file: bool) -> sys::Result<()> {
    let len = path.iter().position(|&b| b == 0).unwrap_or(0);
    for i in 1..len {
        if path[i] == b'/' && path[i - 1] != b'/' {
            path[i] = 0;
            let made = sys::mkdir(cstr(&path[..=i]), 0o755);
            path[i] = b'/';
            ignore_exists(made)?;
        }
    }
    let whole = cstr(&path[..=len]);
    ignore_exists(if file {
        sys::mknod_file(whole, 0o644)
    } else {
        sys::mkdir(whole, 0o755)
    })
}

fn ignore_exists(r: sys::Result) -> sys::Result<()> {
    match r {
        Ok(_) | Err(sys::EEXIST) => Ok(()),
        Err(e) => Err(e),
    }
}

fn cstr(bytes_with_nul: &[u8]) -> &CStr {
    CStr::from_bytes_until_nul(bytes_with_nul).unwrap_or(c"")
}

/// go-sandbox's call path: the old root is detached and removed, then `/` made read-only.
fn pivot(root: &CStr) -> Result<(), Failure> {
    sys::mkdir(OLD_ROOT, 0o755).at(Location::PivotRoot)?;
    sys::pivot_root(root, OLD_ROOT).at(Location::PivotRoot)?;
    sys::umount2(OLD_ROOT, g::MNT_DETACH).at(Location::Umount)?;
    sys::rmdir(OLD_ROOT).at(Location::Unlink)?;
    let ro = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOATIME | MS_NOSUID;
    sys::mount(c"tmpfs", c"/", c"tmpfs", ro, c"").at(Location::MountRootReadonly)?;
    // Never left in a directory of the old root, whatever the kernel did with the cwd.
    sys::chdir(c"/").at_index(Location::MountChdir, 1)?;
    Ok(())
}

/// chdir to the work directory. With pivot_root it must resolve inside the new root: a path
/// through a magic link (`/proc/self/fd/N` of a host directory) would start the target in
/// the host's tree (CVE-2024-21626), so the kernel's own view of the cwd is checked.
pub fn enter_work_dir(spec: &Spec) -> Result<(), Failure> {
    let Some(dir) = spec.work_dir else {
        return Ok(());
    };
    sys::chdir(dir).at(Location::Chdir)?;
    if spec.pivot_root.is_some() {
        let mut cwd = [0u8; 4096];
        let len = sys::getcwd(&mut cwd).at_index(Location::Chdir, 1)?;
        // Below the root it is an absolute path; else it starts with "(unreachable)".
        if len == 0 || cwd[0] != b'/' {
            return Err(EXDEV).at_index(Location::Chdir, 1);
        }
    }
    Ok(())
}

const EXDEV: sys::Errno = sys::Errno(linux_raw_sys::errno::EXDEV as i32);
