//! Mount operations (MOUNT_OP records), one function per kind. New mounts are made detached
//! with the new mount API (`open_tree`, `fsopen`/`fsmount`), given their attributes with
//! `mount_setattr` (recursively for binds, so every submount of a read-only bind is read-only),
//! and only then attached on the target resolved inside the new root (`move_mount`).

use forkexec_spec::decode::MountOp;
use forkexec_spec::layout::{limit, mount_kind as kind, mount_op as flag};
use forkexec_spec::Location;
use linux_raw_sys::general as g;

use super::path::{self, Make, RelPath, Within};
use super::{dev, FileBuf};
use crate::sys::{self, Fd};
use crate::{text, At, Failure};

pub const RDONLY: u32 = g::MOUNT_ATTR_RDONLY;
pub const NOSUID: u32 = g::MOUNT_ATTR_NOSUID;
pub const NODEV: u32 = g::MOUNT_ATTR_NODEV;
pub const NOEXEC: u32 = g::MOUNT_ATTR_NOEXEC;
const AT_FDCWD: i32 = g::AT_FDCWD;
const EXDEV: sys::Errno = sys::Errno(linux_raw_sys::errno::EXDEV as i32);

pub fn perform(at: Within, op: &MountOp<'static>, index: usize) -> Result<(), Failure> {
    match op.kind {
        kind::BIND => bind(at, op, index),
        kind::TMPFS => {
            let ro = if op.has(flag::READONLY) { RDONLY } else { 0 };
            let mnt = new_tmpfs(op.size, op.mode, NOSUID | NODEV | ro, index)?;
            attach(&mnt, at, op, Make::Dir(0o755), index)
        }
        kind::PROC => {
            let mnt = new_fs(c"proc", NOSUID | NODEV | NOEXEC, index)?;
            attach(&mnt, at, op, Make::Dir(0o755), index)?;
            if op.has(flag::COVER) {
                cover_proc(mnt.0, index)?;
            }
            Ok(())
        }
        kind::MQUEUE => {
            let mnt = new_fs(c"mqueue", NOSUID | NODEV | NOEXEC, index)?;
            attach(&mnt, at, op, Make::Dir(0o755), index)
        }
        kind::DEV => {
            let mnt = new_tmpfs(0, 0o755, NOSUID | NODEV, index)?;
            attach(&mnt, at, op, Make::Dir(0o755), index)?;
            dev::populate(mnt.0, index)
        }
        kind::DIR => dir(at, op, index),
        kind::SYMLINK => {
            let target = RelPath::new(op.target);
            let (parent, name) = path::open_parent(at, &target, index)?;
            sys::symlinkat(op.source, parent.0, name).at_index(Location::MountMkdir, index)?;
            Ok(())
        }
        kind::FILE => file(at, op, index),
        kind::REMOUNT_RO => {
            let target = path::open_target(at, op.target, Make::Nothing, index)?;
            sys::mount_setattr(target.dir, RDONLY, true).at_index(Location::Mount, index)?;
            Ok(())
        }
        kind::MASK => mask(at, op, index),
        kind::BIND_DATA => bind_data(at, op, index),
        kind::OVERLAY | kind::TMP_OVERLAY | kind::RO_OVERLAY => overlay(at, op, index),
        kind::CHMOD => {
            // Nothing is created: a missing target fails at mount(path).
            let target = path::open_target(at, op.target, Make::Nothing, index)?;
            sys::fchmod_path(target.dir, op.mode).at_index(Location::MountMkdir, index)?;
            Ok(())
        }
        // The decoder refuses every other kind.
        _ => Err(sys::EINVAL).at_index(Location::Mount, index),
    }
}

/// A recursive bind: cloned detached, made nosuid (and nodev, and read-only) on every mount of
/// the tree, then attached. The source is opened before the target is created, so a skipped
/// optional bind leaves nothing behind.
fn bind(at: Within, op: &MountOp<'static>, index: usize) -> Result<(), Failure> {
    let tree = match op.fd {
        Some(fd) => clone_fd_source(fd as i32),
        None => sys::open_tree_clone(AT_FDCWD, op.source, true),
    };
    let tree = match tree {
        Err(sys::ENOENT) if op.has(flag::OPTIONAL) => return Ok(()),
        other => other.at_index(Location::MountSource, index)?,
    };
    let mut attrs = NOSUID;
    if !op.has(flag::DEV) {
        attrs |= NODEV;
    }
    if op.has(flag::READONLY) {
        attrs |= RDONLY;
    }
    sys::mount_setattr(tree.0, attrs, true).at_index(Location::Mount, index)?;
    let is_dir = sys::fstat(tree.0)
        .at_index(Location::MountSource, index)?
        .mode
        & g::S_IFMT
        == g::S_IFDIR;
    // bubblewrap's modes for a mount point it creates: 0755, and 0444 for a file.
    let make = if is_dir {
        Make::Dir(0o755)
    } else {
        Make::File(0o444)
    };
    attach(&tree, at, op, make, index)
}

/// A detached copy of the tree an fd names. The fd's mount belongs to the namespace it was
/// opened in, which `open_tree` refuses to clone from; so (as bubblewrap's `--bind-fd`) its
/// path is read from `/proc/self/fd`, cloned in this namespace, and the clone checked to be
/// the same file (device and inode), else EXDEV.
fn clone_fd_source(fd: i32) -> sys::Result<Fd> {
    let mut link = [0u8; 32];
    let mut line = text::Line::<32>::new();
    line.push(b"/proc/self/fd/");
    line.push_u32(fd as u32);
    link[..line.as_bytes().len()].copy_from_slice(line.as_bytes());
    let link = path::cstr(&link);
    let want = sys::fstat(fd)?;
    let buf = FileBuf::get();
    let len = sys::readlink(link, &mut buf[..limit::PATH])?;
    if buf[..len].first() != Some(&b'/') {
        return Err(EXDEV); // not a path in this tree ("anon_inode:…", a socket, …)
    }
    buf[len] = 0;
    let tree = sys::open_tree_clone(AT_FDCWD, path::cstr(&buf[..=len]), true)?;
    let got = sys::fstat(tree.0)?;
    if (got.dev, got.ino) != (want.dev, want.ino) {
        return Err(EXDEV);
    }
    Ok(tree)
}

/// Attaches a detached mount on the op's target (created per `make` when missing).
fn attach(
    mnt: &Fd,
    at: Within,
    op: &MountOp<'static>,
    make: Make,
    index: usize,
) -> Result<(), Failure> {
    let target = path::open_target(at, op.target, make, index)?;
    sys::move_mount(mnt.0, target.dir, target.name).at_index(Location::Mount, index)?;
    Ok(())
}

/// A detached clone of the mount at `dir`/`path` (not its submounts) with `attrs` set.
pub fn clone_with(
    dir: i32,
    path: &core::ffi::CStr,
    attrs: u32,
    index: usize,
) -> Result<Fd, Failure> {
    let node = sys::open_tree_clone(dir, path, false).at_index(Location::MountSource, index)?;
    sys::mount_setattr(node.0, attrs, false).at_index(Location::Mount, index)?;
    Ok(node)
}

const PROC_COVERS: [&core::ffi::CStr; 4] = [c"sys", c"sysrq-trigger", c"irq", c"bus"];

/// bubblewrap's covers over an attached proc: each of these that this process may write to is
/// bound read-only over itself; a missing or unwritable one is left alone (as bwrap does).
fn cover_proc(proc: i32, index: usize) -> Result<(), Failure> {
    for &name in PROC_COVERS.iter() {
        match sys::faccessat(proc, name, g::W_OK) {
            Err(sys::EACCES | sys::ENOENT | sys::EROFS) => continue,
            other => {
                other.at_index(Location::MountPath, index)?;
            }
        }
        let node = clone_with(proc, name, RDONLY | NOSUID | NODEV | NOEXEC, index)?;
        sys::move_mount(node.0, proc, name).at_index(Location::Mount, index)?;
    }
    Ok(())
}

/// A new detached filesystem of `fstype` with no options.
fn new_fs(fstype: &core::ffi::CStr, attrs: u32, index: usize) -> Result<Fd, Failure> {
    let fs = sys::fsopen(fstype).at_index(Location::Mount, index)?;
    sys::fs_create_mount(fs.0, attrs).at_index(Location::Mount, index)
}

/// A new detached tmpfs: `size` bytes (0 for the kernel default), root directory `mode`.
pub fn new_tmpfs(size: u64, mode: u32, attrs: u32, index: usize) -> Result<Fd, Failure> {
    let fs = sys::fsopen(c"tmpfs").at_index(Location::Mount, index)?;
    let mut digits = [0u8; 24];
    let mode = text::number_cstr(mode as u64, 8, &mut digits);
    sys::fsconfig_string(fs.0, c"mode", mode).at_index(Location::Mount, index)?;
    if size != 0 {
        let size = text::number_cstr(size, 10, &mut digits);
        sys::fsconfig_string(fs.0, c"size", size).at_index(Location::Mount, index)?;
    }
    sys::fs_create_mount(fs.0, attrs).at_index(Location::Mount, index)
}

/// A directory with exactly `mode` (the stage runs with umask 0); an existing directory is
/// kept as it is.
fn dir(at: Within, op: &MountOp<'static>, index: usize) -> Result<(), Failure> {
    let target = RelPath::new(op.target);
    let (parent, name) = path::open_parent(at, &target, index)?;
    match sys::mkdirat(parent.0, name, op.mode) {
        Err(sys::EEXIST) => {
            let existing = sys::open_in_root(at.root, target.as_cstr(), g::O_PATH | g::O_DIRECTORY);
            existing.at_index(Location::MountMkdir, index)?;
            Ok(())
        }
        other => other.map(drop).at_index(Location::MountMkdir, index),
    }
}

/// A file with exactly `mode` holding the op's content, or everything read from its fd.
/// The target is opened without following a link and without blocking (a FIFO with no
/// reader would hang the start; with one, it would swallow the content), and anything that
/// is not a regular file is refused with EINVAL before a byte is written or truncated.
fn file(at: Within, op: &MountOp<'static>, index: usize) -> Result<(), Failure> {
    let target = RelPath::new(op.target);
    let (parent, name) = path::open_parent(at, &target, index)?;
    let flags = g::O_CREAT | g::O_WRONLY | g::O_NOFOLLOW | g::O_NONBLOCK;
    let out = match sys::openat_mode(parent.0, name, flags, op.mode) {
        Err(sys::ENXIO) => Err(sys::EINVAL), // a FIFO with no reader
        other => other,
    };
    let out = out.at_index(Location::MountMkdir, index)?;
    let mode = sys::fstat(out.0)
        .at_index(Location::MountMkdir, index)?
        .mode;
    if mode & g::S_IFMT != g::S_IFREG {
        return Err(sys::EINVAL).at_index(Location::MountMkdir, index);
    }
    sys::ftruncate(out.0, 0).at_index(Location::MountMkdir, index)?;
    sys::fchmod(out.0, op.mode).at_index(Location::MountMkdir, index)?;
    fill(out.0, op, index)
}

/// A file with exactly `mode` holding the op's content (or what its fd holds), made on a
/// private tmpfs and bind-mounted on the target (created as an empty file when missing), so
/// the target may be an existing file or on a read-only filesystem. The bind is the tmpfs's
/// only mount once its fd is closed: nothing else of it is reachable.
fn bind_data(at: Within, op: &MountOp<'static>, index: usize) -> Result<(), Failure> {
    // Not noexec: the bind would inherit it (bubblewrap's bind of the data allows exec).
    let tmp = new_tmpfs(0, 0o700, NOSUID | NODEV, index)?;
    let flags = g::O_CREAT | g::O_EXCL | g::O_WRONLY;
    let data = sys::openat_mode(tmp.0, c"data", flags, op.mode);
    let data = data.at_index(Location::MountMkdir, index)?;
    fill(data.0, op, index)?;
    let bound = sys::open_tree_clone(tmp.0, c"data", false).at_index(Location::Mount, index)?;
    let ro = if op.has(flag::READONLY) { RDONLY } else { 0 };
    sys::mount_setattr(bound.0, NOSUID | NODEV | ro, false).at_index(Location::Mount, index)?;
    attach(&bound, at, op, Make::File(0o444), index)
}

/// Writes the op's content, or everything read from its fd, to `out`.
fn fill(out: i32, op: &MountOp, index: usize) -> Result<(), Failure> {
    match op.fd {
        None => write_all(out, op.content).at_index(Location::MountMkdir, index),
        Some(fd) => copy_fd(fd as i32, out, index),
    }
}

/// An overlayfs: every layer opened in the runtime's view and handed over as an fd (no path
/// is parsed as a mount option, so `:`, `,` and `\\` in names need no escaping); for a tmp
/// overlay, the upper and work directories on a new tmpfs that is never attached anywhere.
fn overlay(at: Within, op: &MountOp<'static>, index: usize) -> Result<(), Failure> {
    const DIR: u32 = g::O_PATH | g::O_DIRECTORY;
    let fs = sys::fsopen(c"overlay").at_index(Location::Mount, index)?;
    let mut layers = op.layers();
    let tmp = match op.kind {
        kind::TMP_OVERLAY => Some(new_tmpfs(0, 0o755, NOSUID | NODEV, index)?),
        _ => None,
    };
    for (key, name) in [(c"upperdir", c"upper"), (c"workdir", c"work")] {
        let dir = match (&tmp, op.kind) {
            (Some(tmp), _) => {
                sys::mkdirat(tmp.0, name, 0o755).at_index(Location::MountMkdir, index)?;
                sys::openat(tmp.0, name, DIR).map(Fd)
            }
            (None, kind::OVERLAY) => open_layer(layers.next()),
            _ => break, // read-only: no upper layer
        };
        let dir = dir.at_index(Location::MountSource, index)?;
        sys::fsconfig_fd(fs.0, key, dir.0).at_index(Location::Mount, index)?;
    }
    for lower in layers {
        let dir = open_layer(Some(lower)).at_index(Location::MountSource, index)?;
        sys::fsconfig_fd(fs.0, c"lowerdir+", dir.0).at_index(Location::Mount, index)?;
    }
    sys::fsconfig_flag(fs.0, c"userxattr").at_index(Location::Mount, index)?;
    let mnt = sys::fs_create_mount(fs.0, NOSUID | NODEV).at_index(Location::Mount, index)?;
    attach(&mnt, at, op, Make::Dir(0o755), index)
}

/// Opens an overlay layer (a host directory, as a bind source is).
fn open_layer(path: Option<&core::ffi::CStr>) -> sys::Result<Fd> {
    // The decoder counted the layers; a missing one would be a bug, refused all the same.
    let path = path.ok_or(sys::EINVAL)?;
    sys::open(path, g::O_PATH | g::O_DIRECTORY).map(Fd)
}

fn copy_fd(from: i32, to: i32, index: usize) -> Result<(), Failure> {
    let buf = FileBuf::get();
    loop {
        let n = match sys::read(from, buf) {
            Err(sys::EINTR) => continue,
            other => other.at_index(Location::MountSource, index)?,
        };
        if n == 0 {
            return Ok(());
        }
        write_all(to, &buf[..n]).at_index(Location::MountMkdir, index)?;
    }
}

fn write_all(fd: i32, mut bytes: &[u8]) -> sys::Result<()> {
    while !bytes.is_empty() {
        match sys::write(fd, bytes) {
            Err(sys::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(n) => bytes = &bytes[n..],
        }
    }
    Ok(())
}

/// Hides the target: a read-only empty directory over a directory, a read-only empty file
/// over anything else, both from a private tmpfs.
fn mask(at: Within, op: &MountOp<'static>, index: usize) -> Result<(), Failure> {
    let path = RelPath::new(op.target);
    // Never through a symlink: `/proc/net` or `/proc/mounts` lead through `/proc/self`, so
    // the mask would cover only this process's copy and any child of the target would read
    // the real one. ELOOP refuses it before anything is mounted.
    let no_links = g::RESOLVE_NO_SYMLINKS;
    let target = match sys::open_in_root_resolving(at.root, path.as_cstr(), g::O_PATH, no_links) {
        Err(sys::ENOENT) if op.has(flag::OPTIONAL) => return Ok(()),
        other => other.at_index(Location::MountPath, index)?,
    };
    let is_dir = sys::fstat(target.0)
        .at_index(Location::MountPath, index)?
        .mode
        & g::S_IFMT
        == g::S_IFDIR;
    let attrs = RDONLY | NOSUID | NODEV | NOEXEC;
    let empty = new_tmpfs(4096, 0o755, NOSUID | NODEV | NOEXEC, index)?;
    let cover = if is_dir {
        empty
    } else {
        sys::mknodat_file(empty.0, c"empty", 0o444).at_index(Location::MountMkdir, index)?;
        sys::open_tree_clone(empty.0, c"empty", false).at_index(Location::Mount, index)?
    };
    sys::mount_setattr(cover.0, attrs, false).at_index(Location::Mount, index)?;
    sys::move_mount(cover.0, target.0, c"").at_index(Location::Mount, index)?;
    Ok(())
}
