//! Mount targets, resolved inside the new root: `openat2(RESOLVE_IN_ROOT)` from an fd on the
//! root, so neither `..` nor a symlink (absolute or relative, planted by an earlier bind of an
//! untrusted tree) can lead out of it. Missing parents and targets are created one component
//! at a time with `mkdirat` below an fd resolved the same way, never through a path string.
//!
//! A target created here is mounted on by its name in the directory it was made in (the fd
//! that directory was resolved to, and a name that is one plain component: `move_mount`
//! follows no symlink there), and that directory is kept for the next target made in it (the
//! nodes of a `/dev`): see [`LastDir`].

use core::cell::Cell;
use core::ffi::CStr;

pub use forkexec_helper_core::path::{cstr, Prefix, RelPath};

use forkexec_spec::status::mkdir_detail;
use forkexec_spec::Location;
use linux_raw_sys::general as g;

use crate::sys::{self, Fd};
use crate::{At, Failure};

/// Where a target is resolved, and the mode of the missing parent directories made for it.
#[derive(Clone, Copy)]
pub struct Within<'a> {
    /// An fd on the root the target is resolved in.
    pub root: i32,
    /// The mode of each missing parent directory (0755 unless PARENTS_FROM_MODE).
    pub parents: u32,
    /// The directory the last target was made in.
    pub last: &'a LastDir,
}

/// What to create at the end of a target that does not exist yet.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Make {
    Nothing,
    Dir(u32),
    File(u32),
}

/// The directory the last mount target was created in, with the parent path it was resolved
/// from, so that a sibling made next (`/dev/zero` after `/dev/null`) is created and mounted
/// on in it without resolving that path again. It stays right only while nothing covered it
/// or one of its ancestors: a mount on a target created in some directory cannot (the target
/// is new), a mount on an existing target can. So it is forgotten after every mount entry
/// that did not mount on a target it created ([`LastDir::after_entry`]).
pub struct LastDir {
    fd: Cell<i32>,
    prefix: Cell<&'static [u8]>,
    used: Cell<bool>,
}

impl LastDir {
    pub const fn new() -> Self {
        LastDir {
            fd: Cell::new(-1),
            prefix: Cell::new(b""),
            used: Cell::new(false),
        }
    }

    /// The directory a target whose parent path is `prefix` is made in, when known: the root
    /// for a target right below it, else the kept directory if its path is the same.
    fn dir_for(&self, prefix: &[u8], root: i32) -> Option<i32> {
        match self.fd.get() {
            _ if prefix.is_empty() => Some(root),
            fd if fd >= 0 && self.prefix.get() == prefix => Some(fd),
            _ => None,
        }
    }

    /// Keeps `dir`, resolved from `prefix`, instead of the directory kept so far.
    fn keep(&self, dir: Fd, prefix: &'static [u8]) -> i32 {
        self.forget();
        let fd = dir.0;
        core::mem::forget(dir);
        self.fd.set(fd);
        self.prefix.set(prefix);
        fd
    }

    /// The target `name`, just created in `dir`.
    fn made_in(&self, dir: i32, name: &'static CStr) -> Target {
        self.used.set(true);
        Target {
            own: None,
            dir,
            name,
        }
    }

    /// After a mount entry: the directory is kept only if the entry mounted on a target it
    /// created (a directory, or the root).
    pub fn after_entry(&self) {
        if !self.used.replace(false) {
            self.forget();
        }
    }

    pub fn forget(&self) {
        let fd = self.fd.replace(-1);
        if fd >= 0 {
            let _ = sys::close(fd);
        }
    }
}

impl Drop for LastDir {
    fn drop(&mut self) {
        self.forget();
    }
}

/// A mount target: `name` in the directory `dir`, or, with an empty `name`, `dir` itself (an
/// fd on the target, owned).
pub struct Target {
    own: Option<Fd>,
    pub dir: i32,
    pub name: &'static CStr,
}

impl Target {
    fn fd(fd: Fd) -> Self {
        Target {
            dir: fd.0,
            own: Some(fd),
            name: c"",
        }
    }

    /// An fd on the target itself: a name made in its directory is opened there, following
    /// no symlink.
    pub fn open(self) -> sys::Result<Fd> {
        match self.own {
            Some(fd) => Ok(fd),
            None => sys::openat(self.dir, self.name, g::O_PATH | g::O_NOFOLLOW).map(Fd),
        }
    }
}

/// `target`'s parent path (without leading `/`) and last component, when that component is a
/// plain name: not empty (a trailing `/`), `.` or `..`.
fn plain_split(target: &'static CStr) -> Option<(&'static [u8], &'static CStr)> {
    let bytes = target.to_bytes_with_nul();
    let start = bytes.iter().position(|&b| b != b'/').unwrap_or(0);
    let last = bytes.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1);
    let last = last.max(start);
    match &bytes[last..] {
        [0] | [b'.', 0] | [b'.', b'.', 0] => None,
        name => Some((&bytes[start..last], cstr(name))),
    }
}

fn create(dir: i32, name: &CStr, make: Make) -> sys::Result {
    match make {
        Make::Dir(mode) => sys::mkdirat(dir, name, mode),
        // mknodat makes the empty file without an fd to close; like O_CREAT|O_EXCL it
        // follows no symlink at the name (EEXIST).
        Make::File(mode) => sys::mknodat_file(dir, name, mode),
        Make::Nothing => Ok(0),
    }
}

/// Opens `target` (O_PATH) inside `at.root`, creating missing parents (`at.parents`) and, per
/// `make`, the target itself. Resolution failures are `mount(path)`, creation failures
/// `mount(mkdir)`.
pub fn open_target(
    at: Within,
    target: &'static CStr,
    make: Make,
    index: usize,
) -> Result<Target, Failure> {
    let plain = plain_split(target).filter(|_| make != Make::Nothing);
    // Below the root or the last directory made in: made there at once. When that fails (it
    // exists, most often), the target goes the whole way below, as any other.
    if let Some((prefix, name)) = plain {
        if let Some(dir) = at.last.dir_for(prefix, at.root) {
            if create(dir, name, make).is_ok() {
                return Ok(at.last.made_in(dir, name));
            }
        }
    }
    let path = RelPath::new(target);
    let root = at.root;
    match sys::open_in_root(root, path.as_cstr(), g::O_PATH) {
        // A directory where a file is to be made, or something else where a directory is:
        // what making it would say (EISDIR, ENOTDIR), as bubblewrap's mount points.
        Ok(fd) if make != Make::Nothing && is_dir(fd.0) != matches!(make, Make::Dir(_)) => {
            return Err(match make {
                Make::Dir(_) => mkdir_failed(sys::ENOTDIR, index, mkdir_detail::TARGET),
                _ => mkdir_failed(sys::EISDIR, index, mkdir_detail::FILE),
            });
        }
        Ok(fd) => return Ok(Target::fd(fd)),
        Err(sys::ENOENT) if make != Make::Nothing => {}
        Err(e) => return Err(e).at_index(Location::MountPath, index),
    }
    let (parent, name) = open_parent(at, &path, index)?;
    match (create(parent.0, name, make), plain) {
        (Ok(_), Some((prefix, name))) => {
            let dir = at.last.keep(parent, prefix);
            return Ok(at.last.made_in(dir, name));
        }
        (made, _) => {
            let what = match make {
                Make::File(_) => mkdir_detail::FILE,
                _ => mkdir_detail::TARGET,
            };
            ignore_exists(made).map_err(|e| mkdir_failed(e, index, what))?
        }
    }
    let fd = sys::open_in_root(root, path.as_cstr(), g::O_PATH);
    Ok(Target::fd(fd.at_index(Location::MountPath, index)?))
}

/// The directory that holds `path` (created with its parents when missing) and the last
/// component's name, for the operations that create the target themselves (dir, symlink,
/// file).
pub fn open_parent<'p>(
    at: Within,
    path: &RelPath<'p>,
    index: usize,
) -> Result<(Fd, &'p CStr), Failure> {
    // The parent's copy: a short one on the stack (a page the chain has touched already), a
    // long one in the mount stage's scratch buffer (no stack page for it; nothing else uses
    // that buffer until the copy is done with).
    let mut short = [0u8; 256];
    let buf: &mut [u8] = if path.last_start() < short.len() {
        &mut short
    } else {
        super::FileBuf::get()
    };
    let (mut prefix, name) = path.split(buf);
    let dir = make_dirs(at, &mut prefix, index)?;
    Ok((dir, name))
}

/// Opens the directory `prefix` (empty for the root) inside `at.root`, creating each missing
/// component (mode `at.parents`) below the already resolved one.
///
/// The parent usually exists (`/dev/null` once `/dev` is mounted): the whole prefix is looked
/// up first, in one `openat2`; only when some component is missing (ENOENT) is it walked.
fn make_dirs(at: Within, prefix: &mut Prefix, index: usize) -> Result<Fd, Failure> {
    const DIR: u32 = g::O_PATH | g::O_DIRECTORY;
    let root = at.root;
    match sys::open_in_root(root, prefix.whole(), DIR) {
        Err(sys::ENOENT) => {}
        other => return other.at_index(Location::MountPath, index),
    }
    let mut dir = sys::open_in_root(root, c".", DIR).at_index(Location::MountPath, index)?;
    let mut start = 0;
    while let Some((upto, name, next)) = prefix.next(start) {
        let opened = match sys::open_in_root(root, upto, DIR) {
            Err(sys::ENOENT) => {
                ignore_exists(sys::mkdirat(dir.0, name, at.parents))
                    .map_err(|e| mkdir_failed(e, index, mkdir_detail::PARENT))?;
                sys::open_in_root(root, upto, DIR)
            }
            other => other,
        };
        dir = opened.at_index(Location::MountPath, index)?;
        prefix.rejoin(next);
        start = next;
    }
    Ok(dir)
}

/// A creation that failed at `mount(mkdir)`, with what it was making ([`mkdir_detail`]).
fn mkdir_failed(e: sys::Errno, index: usize, what: u32) -> Failure {
    Failure {
        detail: what,
        ..Failure::new(Location::MountMkdir, e, index)
    }
}

fn is_dir(fd: i32) -> bool {
    sys::fstat(fd).is_ok_and(|st| st.mode & g::S_IFMT == g::S_IFDIR)
}

fn ignore_exists(r: sys::Result) -> sys::Result<()> {
    match r {
        Ok(_) | Err(sys::EEXIST) => Ok(()),
        Err(e) => Err(e),
    }
}
