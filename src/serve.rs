//! The fork server (`forkexec --serve N`, docs/spec.md "Fork server"): one helper process
//! serves many runs. Each request on the `SOCK_SEQPACKET` socket N carries a run channel and
//! the run's fds (`SCM_RIGHTS`); the server forks, and the child places the fds at their
//! numbers and goes on exactly as a one-shot helper whose spec fd is the run channel: the
//! same chain, the same records. The server keeps a fixed table of runs (no heap): it says
//! when an exec-in-place run executed (exec record) and how it ended (exit record with
//! rusage), reaps it, and kills it when its client hangs up. It dies with its runtime
//! (parent-death signal, end of stream on N), killing every run still going.
//!
//! `--serve N --shared DIR...` (docs/design.md, "Shared namespaces"): the runs share the
//! server's namespaces, so the server must be pid 1 of its own pid namespace. It takes one
//! run at a time (the socket is not read while one is going); when the run's program ended it
//! kills and reaps every other process of the namespace (before the exit record), then mounts
//! a fresh tmpfs on each DIR in place of the one there (after it, before the next request).

use forkexec_spec::layout::opt;
use forkexec_spec::serve::{self as request, Refusal, MAX_FDS, MAX_LEN, MAX_RUNS};
use forkexec_spec::status::Record;
use forkexec_spec::{Location, Shape, Spec};
use linux_raw_sys::general as g;

use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use crate::rt::{self, Static};
use crate::{report, sys, At, Channel, Failure};

const EMSGSIZE: i32 = linux_raw_sys::errno::EMSGSIZE as i32;
const ENOTSOCK: i32 = linux_raw_sys::errno::ENOTSOCK as i32;
const SIGKILL: u32 = g::SIGKILL;
/// The byte a clone-shape run's child sends on its handshake: its supervisor reports the run.
const SELF_REPORTING: u8 = b'c';
/// The byte an in-place run with ONLY_END_RECORDS sends: no exec record (any byte but
/// SELF_REPORTING says that; a failure's is another), the exit record still.
const END_ONLY: u8 = b'e';

/// One run. `pid == 0` is a free slot (the table is all zeros at start, in .bss).
#[derive(Clone, Copy)]
struct Run {
    pid: i32,
    pidfd: i32,
    channel: i32,
    /// The read end of the child's close-on-exec pipe, until it said how setup went (-1 then).
    handshake: i32,
    /// A clone shape: the run's supervisor sends its own records.
    silent: bool,
    /// Setup failed: the child sent an error record (no exec record then).
    failed: bool,
    /// The client hung up and the run was killed (its channel is no longer watched).
    killed: bool,
}

/// `--serve N --shared DIR...`: the initial stack pointer (the DIRs are the arguments after
/// `--shared`); 0 for a plain `--serve N`.
pub static SHARED: AtomicUsize = AtomicUsize::new(0);

static RUNS: Static<[Run; MAX_RUNS]> = Static::new(
    [Run {
        pid: 0,
        pidfd: 0,
        channel: 0,
        handshake: 0,
        silent: false,
        failed: false,
        killed: false,
    }; MAX_RUNS],
);

/// Serves requests on `sock` until end of stream. Returns only in a run's child, with `chan`
/// set to the run's channel and handshake: the caller goes on with the one-shot path.
pub fn serve(sock: i32, chan: &mut Channel) {
    let shared = SHARED.load(Relaxed);
    // Die with the runtime: the parent-death signal, and the parent checked to be alive.
    let parent = sys::getppid();
    let armed = sys::prctl(linux_raw_sys::prctl::PR_SET_PDEATHSIG, SIGKILL as usize, 0);
    if armed.is_err() || sys::getppid() != parent {
        sys::exit_group(report::status_exit::SETUP_FAILED);
    }
    let runs = RUNS.get();
    let ignore = || sys::PollFd {
        fd: -1,
        events: 0,
        revents: 0,
    };
    let mut polls: [sys::PollFd; 1 + 3 * MAX_RUNS] = core::array::from_fn(|_| ignore());
    loop {
        // Shared and a run going: the next request waits (a runtime that is gone is seen
        // by the parent-death signal).
        polls[0] = match shared != 0 && runs[0].pid != 0 {
            true => ignore(),
            false => watch(sock, g::POLLIN),
        };
        // Only up to the last live run: a poll over the whole table costs every run.
        let top = runs.iter().rposition(|r| r.pid != 0).map_or(0, |i| i + 1);
        for (i, run) in runs[..top].iter().enumerate() {
            let live = run.pid != 0;
            polls[1 + 3 * i] = if live {
                watch(run.pidfd, g::POLLIN)
            } else {
                ignore()
            };
            polls[2 + 3 * i] = match live && run.handshake >= 0 {
                true => watch(run.handshake, g::POLLIN),
                false => ignore(),
            };
            // No event asked for: poll reports POLLHUP (the client closed its end; a
            // half-close is not a hang-up) and POLLERR anyway.
            polls[3 + 3 * i] = match live && !run.killed {
                true => watch(run.channel, 0),
                false => ignore(),
            };
        }
        if sys::poll(&mut polls[..1 + 3 * top]).is_err() {
            continue; // EINTR
        }
        for (i, run) in runs[..top].iter_mut().enumerate() {
            if polls[2 + 3 * i].revents != 0 {
                settle(run);
            }
            if polls[3 + 3 * i].revents != 0 {
                // The client is gone: nobody wants this run any more.
                let _ = sys::kill(run.pid, SIGKILL);
                run.killed = true;
            }
            if polls[1 + 3 * i].revents != 0 {
                reap(run);
            }
        }
        if polls[0].revents != 0 && accept(sock, polls[0].revents, runs, chan) {
            return;
        }
    }
}

fn watch(fd: i32, events: u32) -> sys::PollFd {
    sys::PollFd {
        fd,
        events: events as i16,
        revents: 0,
    }
}

/// The child's handshake: a byte says failed or self-reporting; EOF says it executed.
fn settle(run: &mut Run) {
    let mut byte = [0u8; 1];
    match sys::read(run.handshake, &mut byte) {
        Err(sys::EINTR) => return,
        Ok(1) if byte[0] == SELF_REPORTING => run.silent = true,
        Ok(1) => run.failed = true, // setup failed, or END_ONLY: no exec record
        _ if run.failed || run.silent => {}
        _ => send(
            run.channel,
            &Record::Exec {
                pid: run.pid as u32,
            },
        ),
    }
    let _ = sys::close(run.handshake);
    run.handshake = -1;
}

/// The run's process ended: shared, the sweep; its exit record (unless its supervisor sends
/// one), the slot freed; shared, the resets.
#[inline(never)]
fn reap(run: &mut Run) {
    let shared = SHARED.load(Relaxed);
    let Ok(Some(w)) = sys::wait4(run.pid, g::WNOHANG) else {
        return;
    };
    if shared != 0 {
        sweep();
    }
    if run.handshake >= 0 {
        settle(run);
    }
    if !run.silent {
        let exit = Record::Exit {
            status: w.status,
            utime_us: w.utime_us,
            stime_us: w.stime_us,
            maxrss_kib: w.maxrss_kib,
        };
        send(run.channel, &exit);
    }
    for fd in [run.pidfd, run.channel, run.handshake] {
        if fd >= 0 {
            let _ = sys::close(fd);
        }
    }
    run.pid = 0;
    if shared != 0 {
        reset(shared); // off the run's path, before the next request is read
    }
}

/// A record from the server itself: never blocking, never raising SIGPIPE; a client that
/// does not read loses it.
fn send(channel: i32, record: &Record) {
    let _ = sys::send_nowait(channel, &record.encode());
}

/// Takes one request. Returns true in the child of an accepted run (with `chan` set).
fn accept(sock: i32, revents: i16, runs: &mut [Run; MAX_RUNS], chan: &mut Channel) -> bool {
    let mut data = [0u8; MAX_LEN];
    let mut fds = [-1i32; MAX_FDS];
    let got = match sys::recv_with_fds(sock, &mut data, &mut fds) {
        Err(sys::EINTR | sys::EAGAIN) => return false,
        Err(_) => shut_down(runs),
        Ok(got) => got,
    };
    let hangup = (g::POLLHUP | g::POLLRDHUP | g::POLLERR) as i16;
    if got.len == 0 && got.fds == 0 && revents & hangup != 0 {
        shut_down(runs); // end of stream: the runtime is gone
    }
    let fds = &fds[..got.fds];
    let slot = runs.iter().position(|r| r.pid == 0);
    let checked = match request::parse(&data[..got.len], fds.len()) {
        _ if got.truncated => Err(refusal(EMSGSIZE, got.len)),
        Ok(_) if !sys::is_socket(fds[0]) => Err(refusal(ENOTSOCK, 0)),
        Ok(_) if slot.is_none() => Err(refusal(sys::EAGAIN.0, 0)),
        other => other,
    };
    let started = checked.and_then(|numbers| {
        let [hs_read, hs_write] = sys::pipe().map_err(|e| refusal(e.0, 0))?;
        match sys::fork_with_pidfd() {
            Ok((0, _)) => {
                let _ = sys::close(hs_read);
                enter_run(fds, numbers, hs_write, chan);
                Ok(None)
            }
            Ok((pid, pidfd)) => {
                let _ = sys::close(hs_write);
                Ok(Some((pid, pidfd, hs_read)))
            }
            Err(e) => {
                let _ = (sys::close(hs_read), sys::close(hs_write));
                Err(refusal(e.0, 0))
            }
        }
    });
    let keep = match started {
        Ok(None) => return true, // the child
        Ok(Some((pid, pidfd, handshake))) => {
            let run = &mut runs[slot.unwrap_or(0)];
            *run = Run {
                pid,
                pidfd,
                channel: fds[0],
                handshake,
                silent: false,
                failed: false,
                killed: false,
            };
            1
        }
        Err(r) => {
            if let Some(&channel) = fds.first() {
                let (location, index, detail) = (Location::Serve as u32, r.offset, 0);
                let errno = r.errno;
                send(
                    channel,
                    &Record::Error {
                        location,
                        errno,
                        index,
                        detail,
                    },
                );
            }
            0
        }
    };
    for &fd in &fds[keep..] {
        let _ = sys::close(fd);
    }
    false
}

fn refusal(errno: i32, offset: usize) -> Refusal {
    Refusal {
        errno,
        offset: offset as u32,
    }
}

/// Shared, when a run's program has ended and before its exit record: every other process of
/// the namespace (the server is its pid 1) killed, then reaped (orphans are the server's
/// children), until kill finds none. The server exits instead (125) when it is not pid 1:
/// kill(-1) must reach only its own pid namespace.
fn sweep() {
    if sys::getpid() != 1 {
        sys::exit_group(report::status_exit::SETUP_FAILED);
    }
    while sys::kill(-1, SIGKILL).is_ok() && sys::reap_any().is_ok() {}
}

/// Shared, after the run's exit record and before the next request is read (one run at a
/// time): a fresh tmpfs on each DIR, what was mounted there detached (one mount per place
/// however many runs). A mount that fails ends the server (125): no run may find the last
/// one's files.
fn reset(sp: usize) {
    for dir in rt::Args::after(sp as *const usize, 4) {
        let _ = sys::umount2(dir, g::MNT_DETACH | g::UMOUNT_NOFOLLOW); // EINVAL: none there
        let flags = (g::MS_NOSUID | g::MS_NODEV) as u64;
        if sys::mount(c"tmpfs", dir, c"tmpfs", flags, c"").is_err() {
            sys::exit_group(report::status_exit::SETUP_FAILED); // (tmpfs's own mode: 1777)
        }
    }
}

/// End of stream on the server socket: every run still going is killed, and the server exits.
fn shut_down(runs: &[Run; MAX_RUNS]) -> ! {
    for run in runs.iter().filter(|r| r.pid != 0) {
        let _ = sys::kill(run.pid, SIGKILL);
    }
    sys::exit_group(0)
}

/// In the run's child: the request's fds at their numbers, nothing else of the server's open,
/// and `chan` on the run channel. A failure is reported there (the run ends).
fn enter_run(fds: &[i32], numbers: request::Numbers, handshake: i32, chan: &mut Channel) {
    chan.status = fds[0];
    chan.sync_in = fds[0];
    chan.status_is_socket = true;
    chan.status_unread = false;
    chan.handshake = Some(handshake);
    chan.parent = Some(sys::getppid());
    if let Err(failure) = place_fds(fds, numbers, chan) {
        report::fail(chan, failure);
    }
}

/// Every fd is first copied above the highest number (close-on-exec), everything else is
/// closed (the server's socket, other runs' fds, the server's own stdio), then each copy is
/// moved to its number (inherited, as from a runtime's spawn).
fn place_fds(fds: &[i32], numbers: request::Numbers, chan: &mut Channel) -> Result<(), Failure> {
    let top = numbers.iter().max().map_or(0, |n| n + 1);
    let mut high = [-1i32; MAX_FDS + 1];
    let highest = top.saturating_sub(1) as usize; // the number that could not be had
    let up = |fd: i32| sys::dup_at_least(fd, top).at_index(Location::ServeFds, highest);
    for (i, &fd) in fds.iter().enumerate() {
        high[i] = up(fd)?;
    }
    let handshake = up(chan.handshake.unwrap_or(-1))?;
    high[fds.len()] = handshake;
    sys::close_all_except(&high[..=fds.len()]);
    (chan.status, chan.sync_in, chan.handshake) = (high[0], high[0], Some(handshake));
    for (i, n) in numbers.iter().enumerate() {
        sys::dup3(high[i + 1], n as i32, 0).at_index(Location::ServeFds, n as usize)?;
        let _ = sys::close(high[i + 1]);
    }
    Ok(())
}

/// After the run's spec is read: every run dies with the server (its parent); exec in place
/// reports its pid (the server reports its exec and its end), or with ONLY_END_RECORDS
/// neither pid nor exec (the server reports only its end); a clone shape's supervisor
/// reports the run itself. Detach is refused: its target would be the server's child.
pub fn announce(spec: &mut Spec, shape: Shape, chan: &mut Channel) -> Result<(), Failure> {
    spec.options |= opt::DIE_WITH_PARENT;
    match shape {
        Shape::InPlace if spec.has(opt::ONLY_END_RECORDS) => tell_server(chan, END_ONLY),
        Shape::InPlace => {
            let pid = sys::getpid() as u32;
            report::send_record(chan, &Record::Pid { pid }).at_index(Location::Supervise, 2)?;
        }
        Shape::Detach => return Err(sys::EINVAL).at(Location::Serve),
        Shape::Supervise | Shape::Init => tell_server(chan, SELF_REPORTING),
    }
    Ok(())
}

/// The handshake's one byte, and the handshake closed (the server reads no more of it).
fn tell_server(chan: &mut Channel, byte: u8) {
    if let Some(handshake) = chan.handshake.take() {
        let _ = sys::write(handshake, &[byte]);
        let _ = sys::close(handshake);
    }
}
