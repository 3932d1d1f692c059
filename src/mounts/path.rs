//! Mount targets, resolved inside the new root: `openat2(RESOLVE_IN_ROOT)` from an fd on the
//! root, so neither `..` nor a symlink (absolute or relative, planted by an earlier bind of an
//! untrusted tree) can lead out of it. Missing parents and targets are created one component
//! at a time with `mkdirat` below an fd resolved the same way, never through a path string.

use core::ffi::CStr;

use forkexec_spec::layout::limit;
use forkexec_spec::Location;
use linux_raw_sys::general as g;

use crate::sys::{self, Fd};
use crate::{At, Failure};

/// A path relative to the root, NUL-terminated, with its leading slashes dropped.
pub struct RelPath {
    buf: [u8; limit::PATH + 1],
    len: usize,
}

impl RelPath {
    /// `target` without its leading `/`s; `.` for the root itself.
    pub fn new(target: &CStr) -> Self {
        let mut bytes = target.to_bytes();
        while let [b'/', rest @ ..] = bytes {
            bytes = rest;
        }
        if bytes.is_empty() {
            bytes = b".";
        }
        let mut buf = [0u8; limit::PATH + 1];
        buf[..bytes.len()].copy_from_slice(bytes);
        RelPath {
            buf,
            len: bytes.len(),
        }
    }

    pub fn as_cstr(&self) -> &CStr {
        cstr(&self.buf[..=self.len])
    }

    /// Whether this names the root itself (only `/` and `.` components).
    pub fn is_root(&self) -> bool {
        self.buf[..self.len]
            .split(|&b| b == b'/')
            .all(|part| part.is_empty() || part == b".")
    }

    /// The last component's start: the parent is everything before it.
    fn last_start(&self) -> usize {
        let path = &self.buf[..self.len];
        let end = path.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
        path[..end]
            .iter()
            .rposition(|&b| b == b'/')
            .map_or(0, |i| i + 1)
    }
}

/// What to create at the end of a target that does not exist yet.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Make {
    Nothing,
    Dir(u32),
    File(u32),
}

/// Opens `target` (O_PATH) inside `root`, creating missing parents (0755) and, per `make`,
/// the target itself. Resolution failures are `mount(path)`, creation failures `mount(mkdir)`.
pub fn open_target(root: i32, target: &CStr, make: Make, index: usize) -> Result<Fd, Failure> {
    let path = RelPath::new(target);
    match sys::open_in_root(root, path.as_cstr(), g::O_PATH) {
        Ok(fd) => return Ok(fd),
        Err(sys::ENOENT) if make != Make::Nothing => {}
        Err(e) => return Err(e).at_index(Location::MountPath, index),
    }
    let (parent, name) = open_parent(root, &path, index)?;
    let made = match make {
        Make::Dir(mode) => sys::mkdirat(parent.0, name, mode),
        Make::File(mode) => {
            let flags = g::O_CREAT | g::O_EXCL | g::O_WRONLY | g::O_NOFOLLOW;
            sys::openat_mode(parent.0, name, flags, mode).map(|_| 0)
        }
        Make::Nothing => Ok(0),
    };
    ignore_exists(made).at_index(Location::MountMkdir, index)?;
    sys::open_in_root(root, path.as_cstr(), g::O_PATH).at_index(Location::MountPath, index)
}

/// The directory that holds `path` (created with its parents when missing) and the last
/// component's name, for the operations that create the target themselves (dir, symlink,
/// file).
pub fn open_parent(root: i32, path: &RelPath, index: usize) -> Result<(Fd, &CStr), Failure> {
    let last = path.last_start();
    let name = cstr(&path.buf[last..=path.len]);
    let mut prefix = [0u8; limit::PATH + 1];
    prefix[..last].copy_from_slice(&path.buf[..last]);
    let dir = make_dirs(root, &mut prefix[..=last], index)?;
    Ok((dir, name))
}

/// Opens the directory `prefix` (NUL-terminated, may be empty for the root) inside `root`,
/// creating each missing component below the already resolved one.
fn make_dirs(root: i32, prefix: &mut [u8], index: usize) -> Result<Fd, Failure> {
    const DIR: u32 = g::O_PATH | g::O_DIRECTORY;
    let len = prefix.len() - 1;
    let mut dir = sys::open_in_root(root, c".", DIR).at_index(Location::MountPath, index)?;
    let mut start = 0;
    while start < len {
        let end = prefix[start..len]
            .iter()
            .position(|&b| b == b'/')
            .map_or(len, |i| start + i);
        if end > start {
            let saved = prefix[end];
            prefix[end] = 0;
            let next = match sys::open_in_root(root, cstr(&prefix[..=end]), DIR) {
                Err(sys::ENOENT) => {
                    let name = cstr(&prefix[start..=end]);
                    ignore_exists(sys::mkdirat(dir.0, name, 0o755))
                        .at_index(Location::MountMkdir, index)?;
                    sys::open_in_root(root, cstr(&prefix[..=end]), DIR)
                }
                other => other,
            };
            prefix[end] = saved;
            dir = next.at_index(Location::MountPath, index)?;
        }
        start = end + 1;
    }
    Ok(dir)
}

fn ignore_exists(r: sys::Result) -> sys::Result<()> {
    match r {
        Ok(_) | Err(sys::EEXIST) => Ok(()),
        Err(e) => Err(e),
    }
}

pub fn cstr(bytes_with_nul: &[u8]) -> &CStr {
    CStr::from_bytes_until_nul(bytes_with_nul).unwrap_or(c"")
}
