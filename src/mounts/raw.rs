//! Raw mounts (MOUNT records, go-sandbox's `mount.SyscallParams`): `mount(2)` with the flags
//! as given. With pivot_root the target is resolved inside the new root (see `path`) and the
//! mount is made on it through the working directory (`fchdir` + `mount(…, ".")`), so no path
//! string is resolved again; without pivot_root the target is a path in the runtime's view.

use forkexec_spec::decode::Mount;
use forkexec_spec::layout::{limit, mount_opt};
use forkexec_spec::Location;
use linux_raw_sys::general as g;

use super::path::{self, cstr, Make, Within};
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

/// Performs raw mount `index`; `at` is the new root when `inside_root`.
pub fn mount(
    at: Within,
    inside_root: bool,
    m: &Mount<'static>,
    index: usize,
) -> Result<(), Failure> {
    if inside_root {
        mount_inside(at, m, index)
    } else {
        mount_at_path(m, index)
    }
}

fn make(m: &Mount) -> Make {
    match (
        m.options & mount_opt::MKDIR != 0,
        m.options & mount_opt::FILE != 0,
    ) {
        (false, _) => Make::Nothing,
        (true, false) => Make::Dir(0o755),
        (true, true) => Make::File(0o644),
    }
}

fn mount_inside(at: Within, m: &Mount<'static>, index: usize) -> Result<(), Failure> {
    if m.flags & MS_BIND != 0 && m.flags & MS_REMOUNT == 0 {
        return bind_inside(at, m, index);
    }
    let target = path::open_target(at, m.target, make(m), index)?;
    let target = target.open().at_index(Location::MountPath, index)?;
    sys::fchdir(target.0).at_index(Location::Mount, index)?;
    let mounted = sys::mount(m.source, c".", m.fstype, m.flags, m.data);
    sys::fchdir(at.root).at(Location::MountChdir)?;
    mounted.at_index(Location::Mount, index)?;
    Ok(())
}

/// A bind inside the new root, with the new mount API (a file target cannot be the working
/// directory): a detached clone of the source (its whole tree with `MS_REC`), given the
/// per-mount flags (on every mount of the tree with `MS_REC`), attached on the target.
/// Propagation flags mean nothing to a bind (`mount(2)` ignores them too): a clone is private.
fn bind_inside(at: Within, m: &Mount<'static>, index: usize) -> Result<(), Failure> {
    let recursive = m.flags & MS_REC != 0;
    let tree =
        sys::open_tree_clone(g::AT_FDCWD, m.source, recursive).at_index(Location::Mount, index)?;
    let (set, clear) = mount_attrs(m.flags);
    if set != 0 {
        sys::mount_setattr_clear(tree.0, set, clear, recursive).at_index(Location::Mount, index)?;
    }
    let target = path::open_target(at, m.target, make(m), index)?;
    sys::move_mount(tree.0, target.dir, target.name).at_index(Location::Mount, index)?;
    Ok(())
}

/// The `MOUNT_ATTR_*` bits to set and clear for a bind's `MS_*` per-mount flags. Only set:
/// flags the source already has (locked ones included) stay.
fn mount_attrs(flags: u64) -> (u32, u32) {
    let pairs = [
        (MS_RDONLY, g::MOUNT_ATTR_RDONLY),
        (MS_NOSUID, g::MOUNT_ATTR_NOSUID),
        (MS_NODEV, g::MOUNT_ATTR_NODEV),
        (MS_NOEXEC, g::MOUNT_ATTR_NOEXEC),
        (MS_NODIRATIME, g::MOUNT_ATTR_NODIRATIME),
    ];
    let mut set = pairs
        .iter()
        .filter(|(ms, _)| flags & ms != 0)
        .fold(0, |acc, (_, attr)| acc | attr);
    let mut clear = 0;
    let atime = if flags & MS_NOATIME != 0 {
        Some(g::MOUNT_ATTR_NOATIME)
    } else if flags & MS_RELATIME != 0 {
        Some(g::MOUNT_ATTR_RELATIME)
    } else {
        None
    };
    if let Some(mode) = atime {
        set |= mode;
        clear |= g::MOUNT_ATTR__ATIME;
    }
    (set, clear)
}

// Not inlined: its path buffer is a stack page only for mounts outside a new root.
#[inline(never)]
fn mount_at_path(m: &Mount, index: usize) -> Result<(), Failure> {
    let mut path = [0u8; limit::PATH + 1];
    let bytes = m.target.to_bytes();
    path[..bytes.len()].copy_from_slice(bytes);
    if m.options & mount_opt::MKDIR != 0 {
        let file = m.options & mount_opt::FILE != 0;
        make_target(&mut path, file).at_index(Location::MountMkdir, index)?;
    }
    let target = cstr(&path);
    sys::mount(m.source, target, m.fstype, m.flags, m.data).at_index(Location::Mount, index)?;
    if needs_remount(m) {
        remount_bind(target, m, index)?;
    }
    Ok(())
}

/// A new bind mount ignores per-mount flags (read-only, nosuid, …): they take a remount.
fn needs_remount(m: &Mount) -> bool {
    m.flags & MS_BIND != 0 && m.flags & PER_MOUNT != 0 && m.flags & MS_REMOUNT == 0
}

/// Applies the bind's per-mount flags, keeping the source's read-only, nosuid, nodev, noexec
/// and atime flags (the kernel locks them on mounts from a more privileged namespace, and a
/// bind must not make a read-only source writable).
fn remount_bind(target: &core::ffi::CStr, m: &Mount, index: usize) -> Result<(), Failure> {
    let st = sys::statfs_flags(target).at_index(Location::Mount, index)?;
    let kept = ST_TO_MS
        .iter()
        .filter(|(st_bit, _)| st & st_bit != 0)
        .fold(0, |acc, (_, ms)| acc | ms);
    let flags = MS_REMOUNT | MS_BIND | (m.flags & PER_MOUNT) | kept;
    sys::mount(c"", target, c"", flags, c"").at_index(Location::Mount, index)?;
    Ok(())
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
