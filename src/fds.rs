//! The target's fd table (go-sandbox's `Files`): target fd `i` = helper fd `files[i]`, or
//! closed for -1; every other fd close-on-exec. Two passes of `dup3`, as go-sandbox does, so
//! no entry clobbers another or the helper's own status, sync and exec fds.
//!
//! With no FILES record (or an empty one) the target keeps fds 0, 1 and 2 as they are.

use forkexec_helper_core::fdplan::{self, Own, Place};
use forkexec_spec::layout::limit;
use forkexec_spec::{Location, Spec};

use crate::rt::Static;
use crate::{sys, At, Channel, Failure};

static FD_TABLE: Static<[i32; limit::FILES]> = Static::new([0; limit::FILES]);

const O_CLOEXEC: u32 = linux_raw_sys::general::O_CLOEXEC;

pub fn map_files(spec: &Spec, chan: &mut Channel) -> Result<(), Failure> {
    let inherit_stdio = spec.files.is_empty();
    // Stdio kept as it is: a table on the stack (the static one's page is not touched).
    let mut stdio = [0, 1, 2];
    let fds: &mut [i32] = if inherit_stdio {
        &mut stdio
    } else {
        let table = FD_TABLE.get();
        for (slot, fd) in table.iter_mut().zip(spec.files.iter()) {
            *slot = fd;
        }
        &mut table[..spec.files.len()]
    };
    let n = fds.len();

    // Pass 1 (the core's plan): the helper's own fds and every entry that pass 2 would
    // overwrite before using it go above every fd involved, mount operations' fds included
    // (they are read after this stage).
    let mut own = Own {
        status: chan.status,
        sync_in: chan.sync_in,
        exec_fd: chan.exec_fd,
        handshake: chan.handshake,
        lock: chan.lock,
    };
    // BLOCK_FD is read after this stage too.
    let op_fds = spec
        .mounts
        .iter()
        .map(|e| e.op_fd().map_or(-1, |fd| fd as i32))
        .chain(spec.block_fd.map(|fd| fd as i32));
    fdplan::move_out_of_the_way(fds, &mut own, op_fds, |from, to, index| {
        sys::dup3(from, to, O_CLOEXEC)
            .map(drop)
            .at_index(Location::Dup3, index)
    })?;
    (chan.status, chan.sync_in) = (own.status, own.sync_in);
    (chan.exec_fd, chan.handshake) = (own.exec_fd, own.handshake);
    chan.lock = own.lock;

    // Pass 2: put each entry in place (without close-on-exec), or close it.
    for place in fdplan::placements(fds) {
        match place {
            Place::Close { slot } => {
                let _ = sys::close(slot);
            }
            // dup3(i, i) is refused, and dup2 would keep close-on-exec: clear it instead.
            Place::Keep { slot } => match sys::clear_cloexec(slot) {
                Err(sys::EBADF) if inherit_stdio => {} // a closed stdio fd stays closed
                other => {
                    other.at_index(Location::Fcntl, slot as usize)?;
                }
            },
            Place::Dup { from, slot } => {
                sys::dup3(from, slot, 0).at_index(Location::Dup3, slot as usize)?;
            }
        }
    }

    // Nothing else reaches the target: every fd above the table is close-on-exec.
    sys::close_range_cloexec(n as u32).at(Location::CloseRange)?;
    Ok(())
}
