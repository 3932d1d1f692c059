//! Mount targets, resolved inside the new root: `openat2(RESOLVE_IN_ROOT)` from an fd on the
//! root, so neither `..` nor a symlink (absolute or relative, planted by an earlier bind of an
//! untrusted tree) can lead out of it. Missing parents and targets are created one component
//! at a time with `mkdirat` below an fd resolved the same way, never through a path string.

use core::ffi::CStr;

pub use forkexec_helper_core::path::{cstr, Prefix, RelPath};

use forkexec_spec::Location;
use linux_raw_sys::general as g;

use crate::sys::{self, Fd};
use crate::{At, Failure};

/// Where a target is resolved, and the mode of the missing parent directories made for it.
#[derive(Clone, Copy)]
pub struct Within {
    /// An fd on the root the target is resolved in.
    pub root: i32,
    /// The mode of each missing parent directory (0755 unless PARENTS_FROM_MODE).
    pub parents: u32,
}

/// What to create at the end of a target that does not exist yet.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Make {
    Nothing,
    Dir(u32),
    File(u32),
}

/// Opens `target` (O_PATH) inside `at.root`, creating missing parents (`at.parents`) and, per
/// `make`, the target itself. Resolution failures are `mount(path)`, creation failures
/// `mount(mkdir)`.
pub fn open_target(at: Within, target: &CStr, make: Make, index: usize) -> Result<Fd, Failure> {
    let path = RelPath::new(target);
    let root = at.root;
    match sys::open_in_root(root, path.as_cstr(), g::O_PATH) {
        Ok(fd) => return Ok(fd),
        Err(sys::ENOENT) if make != Make::Nothing => {}
        Err(e) => return Err(e).at_index(Location::MountPath, index),
    }
    let (parent, name) = open_parent(at, &path, index)?;
    let made = match make {
        Make::Dir(mode) => sys::mkdirat(parent.0, name, mode),
        // mknodat makes the empty file without an fd to close; like O_CREAT|O_EXCL it
        // follows no symlink at the name (EEXIST).
        Make::File(mode) => sys::mknodat_file(parent.0, name, mode),
        Make::Nothing => Ok(0),
    };
    ignore_exists(made).at_index(Location::MountMkdir, index)?;
    sys::open_in_root(root, path.as_cstr(), g::O_PATH).at_index(Location::MountPath, index)
}

/// The directory that holds `path` (created with its parents when missing) and the last
/// component's name, for the operations that create the target themselves (dir, symlink,
/// file).
pub fn open_parent(at: Within, path: &RelPath, index: usize) -> Result<(Fd, &CStr), Failure> {
    let (mut prefix, name) = path.split();
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
                    .at_index(Location::MountMkdir, index)?;
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

fn ignore_exists(r: sys::Result) -> sys::Result<()> {
    match r {
        Ok(_) | Err(sys::EEXIST) => Ok(()),
        Err(e) => Err(e),
    }
}
