//! The supervisor (the helper after a clone): forwards every catchable signal to the target,
//! reports its exec and its end (wait status, CPU times, max RSS), and ends the same way it
//! did — the same exit code, or the same signal without a core dump of its own — so a runtime
//! that only waits for the helper sees the target's status.

use forkexec_spec::layout::opt;
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
const MSG_DONTWAIT: u32 = linux_raw_sys::net::MSG_DONTWAIT;

const fn bit(sig: u32) -> sys::SigSet {
    1 << (sig - 1)
}

/// Every signal but the two that cannot be caught.
pub const CATCHABLE: sys::SigSet = !(bit(SIGKILL) | bit(SIGSTOP));

/// Supervises `target` until it ends; `handshake` reports how setup ended, `init_report`
/// (init shape) carries the exit record of pid 2. With ONLY_END_RECORDS it sends no exec
/// record, so it does not watch the handshake: it sleeps in the signalfd until the target
/// ends, and looks at the handshake only when it must know how far setup got. With
/// NO_WAIT_INIT, pid 2's exit record on `init_report` ends it (init is not waited for).
pub fn run(chan: &Channel, target: i32, handshake: i32, init_report: Option<i32>) -> ! {
    let signals = match sys::signalfd(CATCHABLE) {
        Ok(fd) => fd,
        Err(e) => {
            kill_and_reap(target);
            report::fail(chan, Failure::new(Location::Supervise, e, 1));
        }
    };
    let quiet = chan.spec.is_some_and(|s| s.has(opt::ONLY_END_RECORDS));
    if !quiet {
        until_exec(chan, target, handshake, signals);
    }
    // NO_WAIT_INIT: pid 2's end, as init reports it, is the end; init's own exit (the
    // namespaces' teardown) is left to the system. EOF without a record: wait for init.
    let mut report = init_report.filter(|_| chan.spec.is_some_and(|s| s.has(opt::NO_WAIT_INIT)));
    // Then: forward signals until the target ends.
    loop {
        if let Some(fd) = report {
            let ready = sys::poll_read(&[fd, signals]).unwrap_or(2);
            if ready & 1 != 0 {
                match exit_record(fd) {
                    Some(Record::Exit { status, .. })
                        if quiet && setup(handshake, MSG_DONTWAIT) == Ok(1) =>
                    {
                        mirror(status) // its error record is the report
                    }
                    Some(record) => end(chan, record),
                    None => report = None,
                }
            }
            if ready & 2 == 0 {
                continue;
            }
        }
        // With ONLY_END_RECORDS the handshake is still open: nothing there yet means setup
        // is still going on (EAGAIN), a byte that it failed.
        match sys::read_signal(signals) {
            Ok(SIGCHLD) => {
                if let Ok(Some(w)) = sys::wait4(target, WNOHANG) {
                    if quiet && setup(handshake, MSG_DONTWAIT) == Ok(1) {
                        mirror(w.status); // its error record is the report
                    }
                    finish(chan, w, init_report);
                }
            }
            // Before exec, SIGTERM or SIGINT aborts the start (the target, still in setup,
            // is killed and reaped, and the error record says EINTR at `supervise(3)`): a
            // target in a new pid namespace would ignore them as its pid 1, and a stuck setup
            // could not be stopped.
            Ok(sig @ (SIGTERM | SIGINT)) => {
                if quiet && setup(handshake, MSG_DONTWAIT) == Err(sys::EAGAIN) {
                    abort(chan, target);
                }
                let _ = sys::kill(target, sig);
            }
            Ok(sig) => {
                let _ = sys::kill(target, sig);
            }
            Err(_) => {}
        }
    }
}

/// Until exec: forwards signals, and learns whether setup failed (a byte: the target's error
/// record is the report, and the helper ends like the target) or the target executed (EOF:
/// the exec record).
fn until_exec(chan: &Channel, target: i32, handshake: i32, signals: i32) {
    loop {
        let ready = sys::poll_read(&[handshake, signals]).unwrap_or(1);
        if ready & 1 != 0 {
            match setup(handshake, 0) {
                Err(sys::EINTR) => continue,
                Ok(1) => mirror(
                    sys::wait4(target, 0)
                        .ok()
                        .flatten()
                        .map_or(125 << 8, |w| w.status),
                ),
                _ => {
                    let _ = sys::close(handshake);
                    let _ = report::send_record(chan, &Record::Exec { pid: target as u32 });
                    return;
                }
            }
        }
        if ready & 2 != 0 {
            match sys::read_signal(signals) {
                Ok(SIGTERM | SIGINT) => abort(chan, target),
                Ok(SIGCHLD) | Err(_) => {}
                Ok(sig) => {
                    let _ = sys::kill(target, sig);
                }
            }
        }
    }
}

/// How setup went, from the handshake: 1 byte = failed, 0 = executed (EOF).
fn setup(handshake: i32, flags: u32) -> sys::Result {
    sys::recv(handshake, &mut [0u8; 1], flags)
}

/// Aborts a start still in setup: the target is killed and reaped.
fn abort(chan: &Channel, target: i32) -> ! {
    kill_and_reap(target);
    report::fail(chan, Failure::new(Location::Supervise, sys::EINTR, 3));
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
    if let Some(r) = init_report.and_then(exit_record) {
        record = r;
    }
    end(chan, record)
}

/// The exit record init wrote on its pipe, if there is one.
fn exit_record(fd: i32) -> Option<Record> {
    let mut buf = [0u8; forkexec_spec::status::RECORD_LEN];
    match sys::read(fd, &mut buf) {
        Ok(n) if n == buf.len() => {
            Record::decode(&buf).filter(|r| matches!(r, Record::Exit { .. }))
        }
        _ => None,
    }
}

/// Sends the exit record and ends like the target.
fn end(chan: &Channel, record: Record) -> ! {
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
