//! The filesystem view: make `/` private, mount a tmpfs on the new root and chdir into it,
//! perform the mount entries in order (raw go-sandbox mounts and mount operations), then
//! `pivot_root(".", ".")` and detach the old root, and make the new `/` read-only unless asked
//! not to; later, chdir to the work directory.
//!
//! Every target is checked before anything is mounted (`..` must not climb above the root) and
//! resolved inside the new root (see `path`). A proc mounted by an entry is mounted before the
//! old root is detached, as the kernel requires in a user namespace.

mod dev;
mod ops;
mod path;
mod raw;

use core::ffi::CStr;

use forkexec_spec::decode::{escapes_root, MountEntry};
use forkexec_spec::layout::{ns, opt};
use forkexec_spec::{Location, Spec};
use linux_raw_sys::general as g;

use crate::rt::Static;
use crate::sys::{self, Fd};
use crate::{At, Failure};

const MS_REC: u64 = g::MS_REC as u64;
const MS_PRIVATE: u64 = g::MS_PRIVATE as u64;
const MS_NOSUID: u64 = g::MS_NOSUID as u64;
const MS_NODEV: u64 = g::MS_NODEV as u64;

/// Copy buffer for file operations that read their content from an fd; after the mounts, the
/// work directory's path.
pub struct FileBuf;

static FILE_BUF: Static<[u8; 16384]> = Static::new([0; 16384]);

impl FileBuf {
    pub fn get() -> &'static mut [u8; 16384] {
        FILE_BUF.get()
    }
}

/// Where targets are resolved: the new root (the tmpfs at `pivot_root`), or `/`.
struct Root {
    dir: Option<&'static CStr>,
    fd: Fd,
}

impl Root {
    /// Opens the topmost mount at the root: after an entry mounted on the root itself, the
    /// entries after it go into that mount.
    fn open(dir: Option<&'static CStr>) -> Result<Root, Failure> {
        let fd = match dir {
            Some(dir) => {
                sys::chdir(dir).at(Location::MountChdir)?;
                sys::open(c".", g::O_PATH | g::O_DIRECTORY).at(Location::MountChdir)?
            }
            None => sys::open(c"/", g::O_PATH | g::O_DIRECTORY).at(Location::MountRoot)?,
        };
        Ok(Root { dir, fd: Fd(fd) })
    }
}

pub fn mount_and_pivot(spec: &Spec<'static>) -> Result<(), Failure> {
    if spec.clone_flags & ns::NEWNS == 0 {
        // The decoder refuses mounts and pivot_root without a mount namespace; were one here
        // anyway, it fails the chain rather than being skipped.
        if spec.mounts.is_empty() && spec.pivot_root.is_none() {
            return Ok(());
        }
        return Err(sys::EINVAL).at(Location::MountRoot);
    }
    check_targets(spec)?;
    // Nothing done below may propagate back to the host.
    sys::mount(c"none", c"/", c"", MS_REC | MS_PRIVATE, c"").at(Location::MountRoot)?;
    if let Some(root) = spec.pivot_root {
        // nosuid, nodev (as bubblewrap's): nothing made in the root itself is a device or
        // raises privileges; mode 0755, not tmpfs's 1777.
        sys::mount(c"tmpfs", root, c"tmpfs", MS_NOSUID | MS_NODEV, c"mode=0755")
            .at(Location::MountTmpfs)?;
    }
    let mut root = Root::open(spec.pivot_root)?;
    // Directories and files get exactly the modes the spec gives; the target's umask is back
    // before it runs.
    let umask = sys::umask(0);
    let done = mount_entries(spec, &mut root);
    sys::umask(umask);
    done?;
    if let Some(dir) = spec.pivot_root {
        drop(root);
        pivot(dir, !spec.has(opt::WRITABLE_ROOT))?;
    }
    Ok(())
}

/// Refuses, before any mount, a target whose `..` climbs above the root: an entry's error
/// must not come after earlier entries changed files in a bound host directory.
fn check_targets(spec: &Spec) -> Result<(), Failure> {
    for (i, entry) in spec.mounts.iter().enumerate() {
        let target = match entry {
            MountEntry::Op(op) => op.target,
            MountEntry::Raw(m) if spec.pivot_root.is_some() => m.target,
            MountEntry::Raw(_) => continue, // host paths in the runtime's own view
        };
        if escapes_root(target.to_bytes()) {
            return Err(EXDEV).at_index(Location::MountPath, i);
        }
    }
    Ok(())
}

fn mount_entries(spec: &Spec<'static>, root: &mut Root) -> Result<(), Failure> {
    let last = path::LastDir::new();
    for (i, entry) in spec.mounts.iter().enumerate() {
        let target = match entry {
            MountEntry::Raw(m) => {
                let at = path::Within {
                    root: root.fd.0,
                    parents: 0o755,
                    last: &last,
                };
                raw::mount(at, root.dir.is_some(), m, i)?;
                m.target
            }
            MountEntry::Op(op) => {
                let parents = op.parents_mode(spec.has(opt::PARENTS_FROM_MODE));
                let at = path::Within {
                    root: root.fd.0,
                    parents,
                    last: &last,
                };
                ops::perform(at, op, i)?;
                op.target
            }
        };
        last.after_entry();
        if root.dir.is_some() && path::RelPath::new(target).is_root() {
            last.forget();
            *root = Root::open(root.dir)?;
        }
    }
    Ok(())
}

/// `pivot_root(".", ".")` in the topmost mount at the new root stacks the old root on top of
/// it; detaching that leaves only the new root's mounts, with no directory left for the old
/// one. Then `/` is made read-only (the root mount only: the entries keep their own flags).
fn pivot(root: &CStr, read_only: bool) -> Result<(), Failure> {
    sys::chdir(root).at(Location::MountChdir)?;
    sys::pivot_root(c".", c".").at(Location::PivotRoot)?;
    sys::umount2(c".", g::MNT_DETACH).at(Location::Umount)?;
    // Never left in a directory of the old root, whatever the kernel did with the cwd.
    sys::chdir(c"/").at_index(Location::MountChdir, 1)?;
    if read_only {
        let new_root = Fd(sys::open(c"/", g::O_PATH).at(Location::MountRootReadonly)?);
        sys::mount_setattr(new_root.0, ops::RDONLY | ops::NOSUID, false)
            .at(Location::MountRootReadonly)?;
    }
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
        // The mounts are done: their scratch buffer holds the path (no stack page for it).
        let cwd = FileBuf::get();
        let len = sys::getcwd(cwd).at_index(Location::Chdir, 1)?;
        // Below the root it is an absolute path; else it starts with "(unreachable)".
        if len == 0 || cwd[0] != b'/' {
            return Err(EXDEV).at_index(Location::Chdir, 1);
        }
    }
    Ok(())
}

const EXDEV: sys::Errno = sys::Errno(linux_raw_sys::errno::EXDEV as i32);
