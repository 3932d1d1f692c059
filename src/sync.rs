//! The sync point: first BLOCK_FD's byte (bubblewrap's `--block-fd`, `block`), then tell the
//! runtime "about to exec, pid N" and wait for its one-byte answer (go-sandbox's `SyncFunc`).
//! Then, if asked, the cgroup namespace is unshared — after the runtime had its chance to move
//! the process into a cgroup — and the deferred capabilities set.

use forkexec_spec::layout::{ns, opt};
use forkexec_spec::status::{Record, SYNC_CONTINUE};
use forkexec_spec::{Location, Spec};

use crate::{block, privs, report, sys, At, Channel, Failure};

pub fn sync_point(spec: &Spec, chan: &Channel) -> Result<(), Failure> {
    block::wait(spec.block_fd, 0)?;
    if spec.has(opt::SYNC) {
        let pid = sys::getpid() as u32;
        report::send_record(chan, &Record::Sync { pid }).at(Location::SyncWrite)?;
        await_answer(chan.sync_in).at(Location::SyncRead)?;
    }
    if spec.has(opt::UNSHARE_CGROUP_AFTER_SYNC) {
        sys::unshare(ns::NEWCGROUP).at_index(Location::Unshare, 1)?;
        privs::set_caps(spec)?;
    }
    Ok(())
}

/// EOF means the runtime went away (EPIPE); any byte but 0 is a refusal (ECANCELED).
fn await_answer(fd: i32) -> sys::Result<()> {
    let mut answer = [0u8; 1];
    loop {
        return match sys::read(fd, &mut answer) {
            Err(sys::EINTR) => continue,
            Err(e) => Err(e),
            Ok(0) => Err(sys::EPIPE),
            Ok(_) if answer[0] == SYNC_CONTINUE => Ok(()),
            Ok(_) => Err(sys::ECANCELED),
        };
    }
}
