//! [`Server`]: the helper started once as a fork server (`forkexec --serve N`), running one
//! sandboxed program per [`Server::run`] without spawning the helper again.
//!
//! The server is the helper itself, in a loop: for each run it forks, and the child runs the
//! same chain a one-shot helper runs, on the run's own channel (docs/spec.md, "Fork server").
//! Each run is a [`ServedProcess`]: its target pid, `wait` with the same [`WaitStatus`] and
//! rusage as [`crate::Process::wait`], and `kill`.
//!
//! ```no_run
//! use forkexec_client::{Runner, Server};
//!
//! let server = Server::start()?;
//! for _ in 0..3 {
//!     let mut run = server.run(Runner::new(["/bin/true"]).files([0, 1, 2]))?;
//!     assert!(run.wait()?.success());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! How a run goes: a close-on-exec stream `socketpair` is made for it (the run channel); one
//! message on the server's `SOCK_SEQPACKET` socket carries the request (the fd numbers) with
//! the channel and the run's fds (`SCM_RIGHTS`); the spec is written on the channel, and
//! status records are read from it: pid, sync (answered by the sync callback), then error or
//! exec. `wait` reads the exit record. Closing the channel (dropping a [`ServedProcess`]
//! that has not been waited for) makes the server kill the run.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use forkexec_spec::serve as request;
use forkexec_spec::status::{self, Record, RECORD_LEN};
use forkexec_spec::Shape;

use crate::cgroup;
use crate::error::{ChildError, Error};
use crate::helper::find_helper;
use crate::pool::{status_of, SandboxPids};
use crate::process::{Rusage, WaitStatus};
use crate::runner::{inherited_fds, remap_mount_fds, shape_of, Runner, SyncFunc};
use crate::status::helper_error;
use crate::sys;

/// A running fork server. Dropping it ends the server (end of stream on its socket), which
/// kills every run still going, and reaps it.
#[derive(Debug)]
pub struct Server {
    sock: OwnedFd,
    child: Mutex<Child>,
    path: PathBuf,
}

impl Server {
    /// Starts the helper found by [`find_helper`] as a fork server.
    pub fn start() -> Result<Server, Error> {
        let path = find_helper().map_err(Error::Helper)?;
        Server::start_with(path)
    }

    /// Starts the helper at `path` as a fork server.
    pub fn start_with(path: impl AsRef<Path>) -> Result<Server, Error> {
        let path = path.as_ref().to_path_buf();
        let (ours, theirs) = sys::seqpacket_pair().map_err(|e| helper_error(e, "socketpair"))?;
        let mut command = Command::new(&path);
        command
            .arg("--serve")
            .arg(theirs.as_raw_fd().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        let fd = theirs.as_raw_fd();
        // SAFETY: runs between fork and exec; fcntl only, nothing allocated.
        unsafe {
            command.pre_exec(move || sys::clear_cloexec(fd));
        }
        let child = command
            .spawn()
            .map_err(|e| helper_error(e, &format!("cannot run {}", path.display())))?;
        Ok(Server::from_parts(ours, child, path))
    }

    /// A server already spawned (the pool's: the helper serving inside a sandbox).
    pub(crate) fn from_parts(sock: OwnedFd, child: Child, path: PathBuf) -> Server {
        Server {
            sock,
            child: Mutex::new(child),
            path,
        }
    }

    /// The server's pid (the helper this process spawned).
    pub fn pid(&self) -> u32 {
        self.child.lock().map_or(0, |c| c.id())
    }

    /// Runs `runner`'s spec in a new process forked by the server, and answers its status
    /// records until it executed (or failed: [`Error::Child`], as from [`Runner::start`]).
    /// Safe to call from several threads at once. The runner's spawn hook and helper path are
    /// not used (the server is already running); `detach` and `status_fd` are refused.
    /// With [`crate::Spec::only_end_records`] no pid or exec record is sent (by the server
    /// nor by a supervisor): `run` then returns once the program has ended (its status is
    /// what [`ServedProcess::wait`] returns; its pid is unknown, 0).
    pub fn run(&self, runner: Runner) -> Result<ServedProcess, Error> {
        start_run(self.sock.as_fd(), runner, None, None)
    }

    /// Ends the server and waits for it: every run still going is killed.
    pub fn shutdown(mut self) -> io::Result<ExitStatus> {
        self.end()
    }

    /// End of stream on the server's socket (our end shut down), then the server reaped.
    fn end(&mut self) -> io::Result<ExitStatus> {
        let _ = sys::shutdown(self.sock.as_fd());
        match self.child.get_mut() {
            Ok(child) => child.wait(),
            Err(_) => Err(io::Error::other("the server's lock was poisoned")),
        }
    }

    /// The helper binary the server runs.
    pub fn helper(&self) -> &Path {
        &self.path
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.end();
    }
}

/// Cgroup directories (host paths) a run's processes are moved into by this process at the
/// run's sync point, before it executes: a pooled sandbox's runs, whose helper sees neither
/// the host's cgroup tree nor its pids. The target is found by the credentials that come with
/// its sync record (`SO_PASSCRED`: the kernel gives its pid as this process numbers it), and
/// with init its parent (the run's init) goes first.
#[derive(Debug)]
pub(crate) struct Placement {
    pub(crate) dirs: Vec<PathBuf>,
}

impl Placement {
    /// Moves the target whose pid here is `sender` (and with `init` its parent) into every
    /// directory. `inner`: the sync record's pid, which the target's last `NSpid` must be.
    fn apply(&self, sender: Option<u32>, inner: u32, init: bool) -> Result<(), Error> {
        let refused = |m: String| Error::Sync(m.into());
        let pid = sender.ok_or_else(|| {
            refused("the run's sync record came without its sender's credentials".into())
        })?;
        let (ppid, nspid) = status_of(pid)
            .ok_or_else(|| refused(format!("the run's target (pid {pid}) is gone")))?;
        if nspid.last() != Some(&inner) {
            return Err(refused(format!(
                "pid {pid} (NSpid {nspid:?}) did not send the sync record of pid {inner}"
            )));
        }
        let pids = if init { vec![ppid, pid] } else { vec![pid] };
        for pid in pids {
            cgroup::place_into(&self.dirs, pid)
                .map_err(|e| refused(format!("placing the run in its cgroup: {e}")))?;
        }
        Ok(())
    }
}

/// One run on the fork server at `sock`: the request, the spec, the records up to the exec.
/// `sandbox`: the server's pids are not this process's (a server inside a sandbox's pid
/// namespace): the run's `kill` finds the run's process through them. `place`: the run's
/// processes are moved into these cgroup directories at its sync point (sync is set).
pub(crate) fn start_run(
    sock: BorrowedFd<'_>,
    runner: Runner,
    sandbox: Option<SandboxPids>,
    place: Option<Placement>,
) -> Result<ServedProcess, Error> {
    let (mut spec, sync_func) = runner.into_served();
    if spec.status_fd.is_some() {
        return Err(invalid(
            "status_fd: a served run's records go on its own channel",
        ));
    }
    if place.is_some() {
        spec.sync = true;
    }
    let copies = remap_mount_fds(&mut spec).map_err(Error::Helper)?;
    let bytes = spec.encode()?;
    if shape_of(&bytes)? == Shape::Detach {
        return Err(invalid(
            "detach: the target would be the fork server's child",
        ));
    }
    let fds = inherited_fds(&spec).map_err(Error::Helper)?;
    let (ours, theirs) = sys::socketpair().map_err(|e| helper_error(e, "socketpair"))?;
    if place.is_some() {
        sys::pass_credentials(ours.as_fd()).map_err(|e| helper_error(e, "SO_PASSCRED"))?;
    }
    let numbers: Vec<u32> = fds.iter().map(|&fd| fd as u32).collect();
    let mut message = [0u8; request::MAX_LEN];
    let len = request::encode(&numbers, &mut message)
        .ok_or_else(|| invalid("more fds than one request carries (252)"))?;
    let mut passed: Vec<RawFd> = vec![theirs.as_raw_fd()];
    passed.extend(&fds);
    sys::send_with_fds(sock, &message[..len], &passed)
        .map_err(|e| helper_error(e, "sending the request to the fork server"))?;
    drop(theirs);
    drop(copies);
    let mut run = ServedProcess {
        channel: ours,
        target_pid: 0,
        status: None,
        sandbox,
        end_only: spec.only_end_records,
        guard: None,
        place: place.map(|p| (p, spec.init)),
    };
    run.send(&bytes)?;
    run.start(sync_func)?;
    Ok(run)
}

/// An exit record's status and usage.
fn exit_status(record: &Record) -> Option<WaitStatus> {
    let Record::Exit {
        status,
        utime_us,
        stime_us,
        maxrss_kib,
    } = *record
    else {
        return None;
    };
    Some(WaitStatus {
        status: ExitStatus::from_raw(status),
        rusage: Rusage {
            user_time: Duration::from_micros(utime_us),
            system_time: Duration::from_micros(stime_us),
            max_rss_kib: maxrss_kib,
        },
    })
}

fn invalid(msg: &str) -> Error {
    Error::Helper(io::Error::new(io::ErrorKind::InvalidInput, msg.to_owned()))
}

/// A program started by a [`Server`] (or a pool's sandbox). Dropping it before it was waited
/// for closes its channel, and the server kills it.
#[derive(Debug)]
pub struct ServedProcess {
    channel: OwnedFd,
    target_pid: u32,
    status: Option<WaitStatus>,
    /// A pooled sandbox's run: where its pids are.
    sandbox: Option<SandboxPids>,
    /// ONLY_END_RECORDS: no pid or exec record comes; the start reads up to the end.
    end_only: bool,
    /// A shared-namespace sandbox's run: its sandbox is busy until the exit record (or drop).
    guard: Option<crate::shared::RunGuard>,
    /// Cgroups the run enters at its sync point (and whether it has init), until then.
    place: Option<(Placement, bool)>,
}

/// The run's channel: readable when a record (the exit record, once the program ended) is
/// there or the server closed it; for `poll` next to other fds before [`ServedProcess::wait`].
impl AsFd for ServedProcess {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.channel.as_fd()
    }
}

impl ServedProcess {
    /// A shared sandbox's run: its sandbox stays busy until the run's end was read.
    pub(crate) fn hold(&mut self, guard: crate::shared::RunGuard) {
        self.guard = Some(guard);
        if self.status.is_some() {
            self.guard = None; // ONLY_END_RECORDS: the run has ended already
        }
    }

    /// The target's pid as the server reports it (for a server inside a sandbox's pid
    /// namespace: the pid there).
    pub fn pid(&self) -> u32 {
        self.target_pid
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), Error> {
        match sys::send_all(self.channel.as_fd(), bytes) {
            // The child went away early: its error record, if any, says why.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EPIPE | libc::ECONNRESET)) => Ok(()),
            other => other.map_err(|e| helper_error(e, "writing the spec")),
        }
    }

    /// Reads records until the exec (or an error).
    fn start(&mut self, mut sync_func: Option<SyncFunc>) -> Result<(), Error> {
        loop {
            let (record, sender) = self.read_record_from()?;
            match record {
                None => {
                    return Err(Error::Helper(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the fork server closed the run's channel before it executed",
                    )))
                }
                Some(Record::Error {
                    location,
                    errno,
                    index,
                    detail,
                }) => return Err(ChildError::new(location, errno, index, detail).into()),
                Some(Record::Pid { pid }) => self.target_pid = pid,
                Some(Record::Sync { pid: inner }) => {
                    let pid = if self.target_pid != 0 {
                        self.target_pid
                    } else {
                        inner
                    };
                    let placed = match self.place.take() {
                        Some((place, init)) => place.apply(sender, inner, init),
                        None => Ok(()),
                    };
                    let answered = placed.and_then(|()| {
                        sync_func
                            .take()
                            .map_or(Ok(()), |f| f(pid).map_err(Error::Sync))
                    });
                    if let Err(e) = answered {
                        let _ = sys::send_all(self.channel.as_fd(), &[status::SYNC_ABORT]);
                        return Err(e);
                    }
                    self.send(&[status::SYNC_CONTINUE])?;
                }
                Some(Record::Exec { pid }) => {
                    self.target_pid = pid;
                    return Ok(());
                }
                Some(exit @ Record::Exit { .. }) if self.end_only => {
                    self.status = exit_status(&exit);
                    return Ok(());
                }
                Some(Record::Exit { .. }) => {
                    return Err(Error::Helper(io::Error::other(
                        "the fork server reported an exit before the exec",
                    )))
                }
            }
        }
    }

    /// Waits for the program to end: its status with resource usage (from the exit record;
    /// a supervised target's own usage). Waiting again returns the same status.
    pub fn wait(&mut self) -> io::Result<WaitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        loop {
            let record = self.read_record().map_err(|e| match e {
                Error::Helper(e) => e,
                other => io::Error::other(other.to_string()),
            })?;
            match record {
                Some(exit @ Record::Exit { .. }) => {
                    self.status = exit_status(&exit);
                    // A shared sandbox has swept and reset before this record: it is free.
                    self.guard = None;
                    return self
                        .status
                        .ok_or_else(|| io::Error::other("no exit record"));
                }
                Some(_) => continue,
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the run's channel ended without an exit record",
                    ))
                }
            }
        }
    }

    /// [`ServedProcess::wait`] for at most `timeout`: `None` if the program is still running
    /// then.
    pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<WaitStatus>> {
        if self.status.is_none() {
            let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
            if !sys::poll_readable(self.channel.as_fd(), ms)? {
                return Ok(None);
            }
        }
        self.wait().map(Some)
    }

    /// Sends signal `sig` to the target. Refused once it has been waited for, and when its
    /// pid is unknown (`only_end_records`). For a run in a pooled [`crate::Sandbox`] the pid
    /// is the sandbox's: the process is found by it (its `NSpid` under the sandbox's helper)
    /// and signalled through a pidfd; the run's init passes the signal to the program
    /// (SIGKILL ends the init, and with it the run). ESRCH once the run has ended.
    pub fn kill(&self, sig: i32) -> io::Result<()> {
        if self.status.is_some() || self.target_pid == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "process already waited for, or its pid is unknown (only_end_records)",
            ));
        }
        match &self.sandbox {
            Some(pids) => sys::pidfd_send_signal(pids.pidfd(self.target_pid)?.as_fd(), sig),
            None => sys::kill(self.target_pid, sig),
        }
    }

    fn read_record(&self) -> Result<Option<Record>, Error> {
        self.read_record_from().map(|(record, _)| record)
    }

    /// The next record, and (with a placement to do) the pid of its sender.
    fn read_record_from(&self) -> Result<(Option<Record>, Option<u32>), Error> {
        let mut buf = [0u8; RECORD_LEN];
        let (n, sender) = if self.place.is_some() {
            sys::read_full_with_sender(self.channel.as_fd(), &mut buf)
        } else {
            sys::read_full(self.channel.as_fd(), &mut buf).map(|n| (n, None))
        }
        .map_err(|e| helper_error(e, "reading status"))?;
        Ok((Self::decode(&buf, n)?, sender))
    }

    fn decode(buf: &[u8; RECORD_LEN], n: usize) -> Result<Option<Record>, Error> {
        match n {
            0 => Ok(None),
            RECORD_LEN => Record::decode(buf).map(Some).ok_or_else(|| {
                helper_error(
                    io::Error::from(io::ErrorKind::InvalidData),
                    "unknown record",
                )
            }),
            n => Err(helper_error(
                io::Error::new(io::ErrorKind::UnexpectedEof, format!("{n}-byte record")),
                "status",
            )),
        }
    }
}
