//! The minimal `/dev` (as bubblewrap's `--dev`): inside a fresh tmpfs, the six harmless
//! character devices bound from the host (a user namespace cannot `mknod`), a new devpts
//! instance with `ptmx` linked to it, `shm`, the `/proc/self/fd` links and `core` (a link to
//! `/proc/kcore`, as bubblewrap's). Nothing else of the host's `/dev` is visible.

use core::ffi::CStr;

use forkexec_spec::Location;
use linux_raw_sys::general as g;

use super::ops::{self, NODEV, NOEXEC, NOSUID};
use crate::{sys, At, Failure};

/// Host device nodes bound into the new `/dev`, by name.
const DEVICES: [(&CStr, &CStr); 6] = [
    (c"/dev/null", c"null"),
    (c"/dev/zero", c"zero"),
    (c"/dev/full", c"full"),
    (c"/dev/random", c"random"),
    (c"/dev/urandom", c"urandom"),
    (c"/dev/tty", c"tty"),
];

const LINKS: [(&CStr, &CStr); 6] = [
    (c"pts/ptmx", c"ptmx"),
    (c"/proc/self/fd", c"fd"),
    (c"/proc/self/fd/0", c"stdin"),
    (c"/proc/self/fd/1", c"stdout"),
    (c"/proc/self/fd/2", c"stderr"),
    (c"/proc/kcore", c"core"),
];

/// Fills the tmpfs `dev` (already attached) for mount entry `index`.
pub fn populate(dev: i32, index: usize) -> Result<(), Failure> {
    for (host, name) in DEVICES {
        let node = ops::clone_with(g::AT_FDCWD, host, NOSUID, index)?;
        sys::mknodat_file(dev, name, 0o666).at_index(Location::MountMkdir, index)?;
        sys::move_mount(node.0, dev, name).at_index(Location::Mount, index)?;
    }

    sys::mkdirat(dev, c"pts", 0o755).at_index(Location::MountMkdir, index)?;
    let fs = sys::fsopen(c"devpts").at_index(Location::Mount, index)?;
    sys::fsconfig_string(fs.0, c"ptmxmode", c"0666").at_index(Location::Mount, index)?;
    sys::fsconfig_string(fs.0, c"mode", c"0620").at_index(Location::Mount, index)?;
    let pts = sys::fs_create_mount(fs.0, NOSUID | NOEXEC).at_index(Location::Mount, index)?;
    sys::move_mount(pts.0, dev, c"pts").at_index(Location::Mount, index)?;

    sys::mkdirat(dev, c"shm", 0o1777).at_index(Location::MountMkdir, index)?;
    let shm = ops::new_tmpfs(0, 0o1777, NOSUID | NODEV, index)?;
    sys::move_mount(shm.0, dev, c"shm").at_index(Location::Mount, index)?;

    for (text, name) in LINKS {
        sys::symlinkat(text, dev, name).at_index(Location::MountMkdir, index)?;
    }
    Ok(())
}
