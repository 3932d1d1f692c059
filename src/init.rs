//! Init: pid 1 of the new pid namespace (without `newpid`, the target's parent), run by the
//! helper's own code. It runs the target as pid 2, holds what bubblewrap's pid 1 holds for
//! the sandbox's life (the LOCK_FILE locks and SYNC_FD, `hold`), reaps every zombie (orphans
//! are reparented to it), forwards signals to the target, and when the target ends passes its
//! exit record to the helper and exits with its status (the kernel then kills whatever is
//! left in the namespace, and releases the locks).

use forkexec_spec::layout::{limit, ns, opt};
use forkexec_spec::status::Record;
use forkexec_spec::{Location, Spec};

use crate::supervise::CATCHABLE;
use crate::{dumpable, hold, lifeline, privs, report, seccomp, sys, At, Channel, Failure};

const PR_SET_NO_NEW_PRIVS: u32 = linux_raw_sys::prctl::PR_SET_NO_NEW_PRIVS;
const SIGCHLD: u32 = linux_raw_sys::general::SIGCHLD;
const WNOHANG: u32 = linux_raw_sys::general::WNOHANG;
const SIG_SETMASK: u32 = linux_raw_sys::general::SIG_SETMASK;

/// Runs init; returns only in the target (pid 2), which goes on with the chain.
pub fn run(
    spec: &Spec,
    chan: &mut Channel,
    old_mask: sys::SigSet,
    report_fd: i32,
) -> Result<(), Failure> {
    if let Some(fd) = spec.sync_fd {
        sys::fstat(fd as i32).at(Location::SyncFd)?;
    }
    // The target asks for the locks once its mounts are made: init opens them in its root.
    let [link, theirs] = match spec.lock_files.is_empty() {
        true => [-1, -1],
        false => sys::socketpair().at_index(Location::Supervise, 2)?,
    };
    let me = sys::getpid();
    let target = sys::clone(0, None).at_index(Location::Clone, 1)?;
    if target == 0 {
        let _ = sys::close(report_fd);
        chan.parent = Some(me);
        chan.dies_with_init = spec.clone_flags & ns::NEWPID == 0;
        if link >= 0 {
            let _ = sys::close(link);
            chan.lock = Some(theirs);
        }
        sys::sigprocmask(SIG_SETMASK, old_mask).at(Location::Supervise)?;
        lifeline::arm(spec, chan, 1)?;
        return Ok(());
    }
    // pid 1 goes by the name the helper was run under (`ps` shows `bwrap` for bubblewrap's
    // init under forkexec-run's bubblewrap mode, as for bubblewrap's own).
    // (Without the syslog level `--level-prefix` puts before that name: `<3>bwrap`.)
    let name = match chan.name {
        [b'<', _, b'>', name @ ..] => name,
        name => name,
    };
    let _ = sys::set_name(name);
    // Only the target's copy of the handshake is left, so its exec is seen as EOF.
    if let Some(h) = chan.handshake.take() {
        let _ = sys::close(h);
    }
    // Kept until init exits: the signalfd, the report pipe, SYNC_FD, the lock fds.
    let mut keep = [-1; 3 + limit::LOCK_FILES];
    if link >= 0 {
        let _ = sys::close(theirs);
        hold::serve(spec, link, &mut keep[3..]);
    }
    let signals = match sys::signalfd(CATCHABLE).at_index(Location::Supervise, 1) {
        Ok(fd) => dumpable_if_asked(spec).map(|()| fd),
        Err(failure) => Err(failure),
    };
    let signals = match signals {
        Ok(fd) => fd,
        Err(failure) => {
            crate::supervise::kill_and_reap(target);
            report::fail(chan, failure);
        }
    };
    // Nothing more to report on the runtime's channel (pid 2's end goes up the report pipe):
    // keep no copy, or a runtime reading it to the end would wait for the whole namespace
    // if the helper died first.
    // Nor of anything else the runtime gave (the target's stdio, pipes…).
    keep[0] = signals;
    keep[1] = report_fd;
    keep[2] = spec.sync_fd.map_or(-1, |fd| fd as i32);
    sys::close_all_except(&keep);
    loop {
        match sys::read_signal(signals) {
            Ok(SIGCHLD) => reap(target, report_fd),
            Ok(sig) => {
                let _ = sys::kill(target, sig);
            }
            Err(_) => {}
        }
    }
}

/// DUMPABLE_INIT, as bubblewrap's init: no capability, the target's seccomp filters (which
/// must then allow what init still does: prctl(PR_SET_DUMPABLE), close_range, read, wait4,
/// kill, write, exit_group),
/// and only then dumpable, so that whoever may trace the target may trace init too.
fn dumpable_if_asked(spec: &Spec) -> Result<(), Failure> {
    if !spec.has(opt::DUMPABLE_INIT) {
        return Ok(());
    }
    privs::drop_caps()?;
    if !spec.seccomp.is_empty() {
        sys::prctl(PR_SET_NO_NEW_PRIVS, 1, 0).at(Location::SetNoNewPrivs)?;
        seccomp::load_programs(spec)?;
    }
    dumpable::on_in_init()
}

/// Reaps every child that has ended; when it is the target, hands over and exits.
fn reap(target: i32, report_fd: i32) {
    while let Ok(Some(w)) = sys::wait4(-1, WNOHANG) {
        if w.pid == target {
            let record = Record::Exit {
                status: w.status,
                utime_us: w.utime_us,
                stime_us: w.stime_us,
                maxrss_kib: w.maxrss_kib,
            };
            let _ = sys::write(report_fd, &record.encode());
            // pid 1 cannot kill itself with a signal: the helper mirrors the real status.
            let sig = w.status & 0x7f;
            sys::exit_group(if sig == 0 {
                (w.status >> 8) & 0xff
            } else {
                128 + sig
            });
        }
    }
}
