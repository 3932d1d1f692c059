//! What init holds for the sandbox's life (records LOCK_FILE and SYNC_FD: bubblewrap's
//! `--lock-file` and `--sync-fd`). Once its mounts are made, the target asks init over a
//! private socket ([`take_locks`], a stage of the chain); init opens and read-locks every
//! LOCK_FILE in the sandbox's root and answers ([`serve`]). Init keeps the lock fds and
//! SYNC_FD until it exits, when the kernel releases them.

use forkexec_spec::{Location, Spec};

use crate::{sys, At, Channel, Failure};

const O_RDONLY: u32 = linux_raw_sys::general::O_RDONLY;

/// The target's side: asks init for the locks and waits for its answer (8 bytes: errno, then
/// the LOCK_FILE's index; errno 0 is success). No answer (init gone): EPIPE. (No signal
/// handler is installed, so neither read is interrupted.)
pub fn take_locks(chan: &mut Channel) -> Result<(), Failure> {
    let Some(link) = chan.lock.take() else {
        return Ok(());
    };
    let mut answer = [0u8; 8];
    sys::write(link, &[0]).at(Location::LockFile)?;
    let n = sys::read(link, &mut answer).at(Location::LockFile)?;
    let _ = sys::close(link);
    let answer = u64::from_le_bytes(answer);
    match (n, answer as i32) {
        (8, 0) => Ok(()),
        (8, e) => Err(Failure::new(
            Location::LockFile,
            sys::Errno(e),
            (answer >> 32) as usize,
        )),
        _ => Err(Failure::new(Location::LockFile, sys::EPIPE, 0)),
    }
}

/// Init's side: waits for the target's request (EOF: it failed before its mounts, nothing to
/// do), opens and read-locks every LOCK_FILE in order into `held`, and answers.
pub fn serve(spec: &Spec, link: i32, held: &mut [i32]) {
    if sys::read(link, &mut [0u8; 1]) != Ok(1) {
        return;
    }
    let mut answer = 0u64;
    for (i, (path, slot)) in spec.lock_files.iter().zip(held).enumerate() {
        let locked = sys::open(path, O_RDONLY).and_then(|fd| {
            *slot = fd;
            sys::read_lock(fd)
        });
        if let Err(e) = locked {
            answer = (i as u64) << 32 | e.0 as u32 as u64;
            break;
        }
    }
    let _ = sys::write(link, &answer.to_le_bytes());
    let _ = sys::close(link);
}
