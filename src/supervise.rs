//! The supervisor (the helper after a clone): forwards every catchable signal to the target,
//! reports its exec and its end (wait status, CPU times, max RSS), and ends the same way it
//! did — the same exit code, or the same signal without a core dump of its own — so a runtime
//! that only waits for the helper sees the target's status.

use forkexec_spec::status::Record;
use forkexec_spec::Location;

use crate::{report, sys, Channel, Failure};

const SIGKILL: u32 = linux_raw_sys::general::SIGKILL;
const SIGSTOP: u32 = linux_raw_sys::general::SIGSTOP;
const SIGCHLD: u32 = linux_raw_sys::general::SIGCHLD;
const SIGTERM: u32 = linux_raw_sys::general::SIGTERM;
const SIGINT: u32 = linux_raw_sys::general::SIGINT;
const WNOHANG: u32 = linux_raw_sys::general::WNOHANG;
const SIG_UNBLOCK: u32 = linux_raw_sys::general::SIG_UNBLOCK;
const RLIMIT_CORE: u32 = linux_raw_sys::general::RLIMIT_CORE;

const fn bit(sig: u32) -> sys::SigSet {
    1 << (sig - 1)
}

/// Every signal but the two that cannot be caught.
pub const CATCHABLE: sys::SigSet = !(bit(SIGKILL) | bit(SIGSTOP));

/// Supervises `target` until it ends; `handshake` reports how setup ended, `init_report`
/// (init shape) carries the exit record of pid 2.
pub fn run(chan: &Channel, target: i32, handshake: i32, init_report: Option<i32>) -> ! {
    let signals = match sys::signalfd(CATCHABLE) {
        Ok(fd) => fd,
        Err(e) => {
            kill_and_reap(target);
            report::fail(chan, Failure::new(Location::Supervise, e, 1));
        }
    };
    // Until exec: forward signals, and learn whether setup failed (a byte) or the target
    // executed (EOF).
    loop {
        let ready = sys::poll_read(&[handshake, signals]).unwrap_or(1);
        if ready & 1 != 0 {
            let mut byte = [0u8; 1];
            match sys::read(handshake, &mut byte) {
                Err(sys::EINTR) => continue,
                Ok(1) => {
                    // Setup failed; the target wrote its error record and exits 125/126/127.
                    let status = sys::wait4(target, 0)
                        .ok()
                        .flatten()
                        .map_or(125 << 8, |w| w.status);
                    mirror(status);
                }
                _ => break,
            }
        }
        if ready & 2 != 0 {
            forward_or_abort(chan, signals, target);
        }
    }
    let _ = sys::close(handshake);
    let _ = report::send_record(chan, &Record::Exec { pid: target as u32 });
    // Then: forward signals until the target ends.
    loop {
        match sys::read_signal(signals) {
            Ok(SIGCHLD) => {
                if let Ok(Some(w)) = sys::wait4(target, WNOHANG) {
                    finish(chan, w, init_report);
                }
            }
            Ok(sig) => {
                let _ = sys::kill(target, sig);
            }
            Err(_) => {}
        }
    }
}

/// Before exec: SIGTERM or SIGINT aborts the start (the target, still in setup, is killed
/// and reaped, and the error record says EINTR at `supervise(3)`): a target in a new pid
/// namespace would ignore them as its pid 1, and a stuck setup could not be stopped. Other
/// signals are forwarded.
fn forward_or_abort(chan: &Channel, signals: i32, target: i32) {
    match sys::read_signal(signals) {
        Ok(SIGTERM | SIGINT) => {
            kill_and_reap(target);
            report::fail(chan, Failure::new(Location::Supervise, sys::EINTR, 3));
        }
        Ok(SIGCHLD) | Err(_) => {}
        Ok(sig) => {
            let _ = sys::kill(target, sig);
        }
    }
}

/// Writes the exit record and ends like the target. With init, pid 2's own record (sent by
/// init before it exits) is the one that counts.
fn finish(chan: &Channel, waited: sys::Waited, init_report: Option<i32>) -> ! {
    let mut record = Record::Exit {
        status: waited.status,
        utime_us: waited.utime_us,
        stime_us: waited.stime_us,
        maxrss_kib: waited.maxrss_kib,
    };
    if let Some(fd) = init_report {
        let mut buf = [0u8; forkexec_spec::status::RECORD_LEN];
        if sys::read(fd, &mut buf) == Ok(buf.len()) {
            if let Some(r @ Record::Exit { .. }) = Record::decode(&buf) {
                record = r;
            }
        }
    }
    let _ = report::send_record(chan, &record);
    let Record::Exit { status, .. } = record else {
        unreachable!()
    };
    if let Some(spec) = chan.spec {
        crate::info::report_exit(spec, status);
    }
    mirror(status)
}

/// Ends this process the way `status` says: exit code, or the same signal (core dumps off,
/// the signal's default action restored and unblocked).
pub fn mirror(status: i32) -> ! {
    let sig = (status & 0x7f) as u32;
    if sig == 0 {
        sys::exit_group((status >> 8) & 0xff);
    }
    let _ = sys::prlimit(RLIMIT_CORE, 0, 0);
    let _ = sys::default_signal(sig);
    let _ = sys::sigprocmask(SIG_UNBLOCK, bit(sig));
    let _ = sys::kill(sys::getpid(), sig);
    sys::exit_group(128 + sig as i32)
}

/// After a failure on the helper's side: the clone must not run.
pub fn kill_and_reap(pid: i32) {
    let _ = sys::kill(pid, SIGKILL);
    let _ = sys::wait4(pid, 0);
}
