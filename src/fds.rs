//! The target's fd table (go-sandbox's `Files`): target fd `i` = helper fd `files[i]`, or
//! closed for -1; every other fd close-on-exec. Two passes of `dup3`, as go-sandbox does, so
//! no entry clobbers another or the helper's own status, sync and exec fds.
//!
//! With no FILES record (or an empty one) the target keeps fds 0, 1 and 2 as they are.

use forkexec_spec::layout::limit;
use forkexec_spec::{Location, Spec};

use crate::rt::Static;
use crate::{sys, At, Channel, Failure};

static FD_TABLE: Static<[i32; limit::FILES]> = Static::new([0; limit::FILES]);

const O_CLOEXEC: u32 = linux_raw_sys::general::O_CLOEXEC;

pub fn map_files(spec: &Spec, chan: &mut Channel) -> Result<(), Failure> {
    let inherit_stdio = spec.files.is_empty();
    let table = FD_TABLE.get();
    let n = if inherit_stdio { 3 } else { spec.files.len() };
    if inherit_stdio {
        table[..3].copy_from_slice(&[0, 1, 2]);
    } else {
        for (slot, fd) in table.iter_mut().zip(spec.files.iter()) {
            *slot = fd;
        }
    }
    let fds = &mut table[..n];

    // Pass 1: the first free number above every fd involved, the helper's own included (a
    // move must not land on one of them); move there the helper's own fds that a target slot
    // would overwrite (below n) and every entry that pass 2 would overwrite before using it
    // (files[i] < i).
    let own = [
        chan.status,
        chan.sync_in,
        chan.exec_fd.unwrap_or(-1),
        chan.handshake.unwrap_or(-1),
    ];
    // Mount operations read their fds after this stage: nothing may land on them either.
    let op_fds = spec
        .mounts
        .iter()
        .map(|e| e.op_fd().map_or(-1, |fd| fd as i32));
    let mut next = fds
        .iter()
        .chain(&own)
        .copied()
        .chain(op_fds)
        .fold(n as i32, |m, fd| m.max(fd + 1));
    let mut move_up = |fd: &mut i32| -> Result<(), Failure> {
        if *fd < n as i32 {
            sys::dup3(*fd, next, O_CLOEXEC).at_index(Location::Dup3, *fd as usize)?;
            *fd = next;
            next += 1;
        }
        Ok(())
    };
    let shared = chan.sync_in == chan.status;
    move_up(&mut chan.status)?;
    if shared {
        chan.sync_in = chan.status;
    } else {
        move_up(&mut chan.sync_in)?;
    }
    for internal in [chan.exec_fd.as_mut(), chan.handshake.as_mut()]
        .into_iter()
        .flatten()
    {
        move_up(internal)?;
    }
    for (i, fd) in fds.iter_mut().enumerate() {
        if *fd >= 0 && (*fd as usize) < i {
            sys::dup3(*fd, next, O_CLOEXEC).at_index(Location::Dup3, i)?;
            *fd = next;
            next += 1;
        }
    }

    // Pass 2: put each entry in place (without close-on-exec), or close it.
    for (i, &fd) in fds.iter().enumerate() {
        let target = i as i32;
        if fd == -1 {
            let _ = sys::close(target);
        } else if fd == target {
            // dup3(i, i) is refused, and dup2 would keep close-on-exec: clear it instead.
            match sys::clear_cloexec(fd) {
                Err(sys::EBADF) if inherit_stdio => {} // a closed stdio fd stays closed
                other => {
                    other.at_index(Location::Fcntl, i)?;
                }
            }
        } else {
            sys::dup3(fd, target, 0).at_index(Location::Dup3, i)?;
        }
    }

    // Nothing else reaches the target: every fd above the table is close-on-exec.
    sys::close_range_cloexec(n as u32).at(Location::CloseRange)?;
    Ok(())
}
