//! bubblewrap's `--block-fd` and `--userns-block-fd` (records BLOCK_FD and USERNS_BLOCK_FD):
//! the sandbox waits for one byte (or EOF) on an fd of the runtime. BLOCK_FD is read by the
//! target after its mounts, work dir and capability drop, before the sync point;
//! USERNS_BLOCK_FD by the helper after the clone (its pid reported, the start documents
//! written, no id maps), before the go byte, so that another process writes the maps first.
//! Both fds stay the helper's: close-on-exec in the target unless FILES gives them.

use forkexec_spec::Location;

use crate::{sys, At, Failure};

/// Reads one byte of `fd` (EOF goes on as well). Index 0 BLOCK_FD, 1 USERNS_BLOCK_FD. (No
/// signal handler is installed, so the read is not interrupted.)
pub fn wait(fd: Option<u32>, index: usize) -> Result<(), Failure> {
    match fd {
        Some(fd) => sys::read(fd as i32, &mut [0u8; 1])
            .map(drop)
            .at_index(Location::BlockFd, index),
        None => Ok(()),
    }
}
