//! The runtime's half of the status protocol (described in [`crate::runner`]'s docs): the
//! socket with the sync callback, the spawned helper's pid with its clean-up duty, and how a
//! process ended ([`WaitStatus`]).
//!
//! The bottom of the client's chain (runner -> process -> status): it uses neither.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

use forkexec_spec::status::{self, Record, RECORD_LEN};

use crate::error::{BoxError, ChildError, Error};
use crate::sys;

/// The sync callback: called with the target's pid right before exec (after ids, mounts and
/// limits, before seccomp). `Err` aborts the start: nothing is executed.
pub type SyncFunc = Box<dyn FnOnce(u32) -> Result<(), BoxError> + Send>;

/// The spawned helper's pid, until it has executed the target or been reaped. Dropping it
/// while armed kills and reaps it, so early returns and panics leave no process or zombie.
pub(crate) struct Spawned {
    pub pid: u32,
    pub path: PathBuf,
    /// Whether dropping this must kill and reap the pid.
    pub armed: bool,
    /// The status, once reaped (by this or by [`crate::Process::wait`]).
    pub reaped: Option<WaitStatus>,
}

impl Spawned {
    pub fn new(pid: u32, path: PathBuf) -> Self {
        Spawned {
            pid,
            path,
            armed: true,
            reaped: None,
        }
    }

    pub fn describe(&self) -> String {
        format!("{} (pid {})", self.path.display(), self.pid)
    }

    /// Waits for the helper to end (at once if it has been reaped already).
    pub fn reap(&mut self) -> io::Result<WaitStatus> {
        if let Some(status) = self.reaped {
            return Ok(status);
        }
        let (raw, rusage) = sys::wait4(self.pid, 0)?.expect("a blocking wait4 returns a status");
        let status = WaitStatus::from_raw(raw, &rusage);
        self.reaped = Some(status);
        self.armed = false;
        Ok(status)
    }

    /// Kills the helper (unless already reaped) and reaps it.
    pub fn kill_and_reap(&mut self) -> Option<WaitStatus> {
        if self.reaped.is_none() {
            // It is our unreaped child, so the pid cannot have been reused.
            let _ = sys::kill(self.pid, libc::SIGKILL);
        }
        let status = self.reap().ok();
        self.armed = false;
        status
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if self.armed {
            self.kill_and_reap();
        }
    }
}

/// The runtime's end of the spec socket, and what answering the helper needs.
pub(crate) struct Stream {
    sock: OwnedFd,
    sync_func: Option<SyncFunc>,
    /// The first write the helper was no longer there to read: it then cannot have got what
    /// it needs to exec (the whole spec, or the sync answer).
    hung_up: Option<io::Error>,
    /// The pid record's pid (clone shapes). A sync record has the target's pid inside its
    /// (maybe new) pid namespace; this one, which comes first, is the one the runtime can use.
    pid_record: Option<u32>,
    /// An exit record read before `Process::wait` asked for it (ONLY_END_RECORDS).
    exit: Option<Record>,
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stream")
            .field("sock", &self.sock)
            .field("sync_func", &self.sync_func.as_ref().map(|_| "FnOnce(u32)"))
            .field("hung_up", &self.hung_up)
            .field("pid_record", &self.pid_record)
            .field("exit", &self.exit)
            .finish()
    }
}

impl Stream {
    pub fn new(sock: OwnedFd, sync_func: Option<SyncFunc>) -> Self {
        Stream {
            sock,
            sync_func,
            hung_up: None,
            pid_record: None,
            exit: None,
        }
    }

    /// Writes `bytes`. A helper that has hung up is not an error yet: what it wrote before
    /// leaving is still to be read.
    pub fn send(&mut self, bytes: &[u8], what: &str) -> Result<(), Error> {
        match sys::send_all(self.sock.as_fd(), bytes) {
            Err(e) if is_disconnect(&e) => {
                self.hung_up.get_or_insert(e);
                Ok(())
            }
            other => other.map_err(|e| helper_error(e, what)),
        }
    }

    /// Reads status records until end of stream and returns the target's pid (`pid` unless
    /// the helper names another). On `Err`, `helper` is left armed or reaped: the caller's
    /// drop cleans up.
    pub fn finish(&mut self, helper: &mut Spawned, target_pid: u32) -> Result<u32, Error> {
        self.read_until(helper, target_pid, StopAt::End)
    }

    /// Reads status records up to and including the pid record (clone shapes).
    pub fn through_pid(&mut self, helper: &mut Spawned, target_pid: u32) -> Result<u32, Error> {
        self.read_until(helper, target_pid, StopAt::Pid)
    }

    /// Reads status records up to and including the sync record (answered by the callback).
    /// For a helper that stops itself before exec: the sync point comes before the stop, so
    /// the runtime must answer it before it can act as the tracer.
    pub fn through_sync(&mut self, helper: &mut Spawned, target_pid: u32) -> Result<u32, Error> {
        self.read_until(helper, target_pid, StopAt::Sync)
    }

    fn read_until(
        &mut self,
        helper: &mut Spawned,
        mut target_pid: u32,
        stop_at: StopAt,
    ) -> Result<u32, Error> {
        while let Some(record) = self.read_record()? {
            match record {
                Record::Error {
                    location,
                    errno,
                    index,
                    detail,
                } => {
                    let e = ChildError::new(location, errno, index, detail);
                    return Err(Error::Child(e));
                }
                Record::Sync { pid } => {
                    let pid = self.pid_record.unwrap_or(pid);
                    target_pid = pid;
                    match self.sync_func.take().map_or(Ok(()), |f| f(pid)) {
                        Ok(()) => {
                            self.send(&[status::SYNC_CONTINUE], "answering sync")?;
                            if stop_at == StopAt::Sync {
                                return Ok(target_pid);
                            }
                        }
                        Err(e) => {
                            let _ = sys::send_all(self.sock.as_fd(), &[status::SYNC_ABORT]);
                            self.drain();
                            return Err(Error::Sync(e));
                        }
                    }
                }
                Record::Pid { pid } => {
                    self.pid_record = Some(pid);
                    target_pid = pid;
                    if stop_at == StopAt::Pid {
                        return Ok(target_pid);
                    }
                }
                // A supervising helper keeps the status fd open, so it says "executed".
                Record::Exec { pid } => return Ok(pid),
                // The supervise shape reports the target's end after `start` has returned
                // (before, with ONLY_END_RECORDS): kept for `Process::wait`.
                exit @ Record::Exit { .. } => self.exit = Some(exit),
            }
        }

        // End of stream and no error record: `execve` closed the helper's end.
        let Some(e) = self.hung_up.take() else {
            return Ok(target_pid);
        };
        // Unless the helper hung up before it had the whole spec or its sync answer: then it
        // cannot have executed anything, so waiting for it cannot hang, and its status says
        // why.
        let status = helper.reap().map_err(|e| helper_error(e, "waiting"))?;
        Err(Error::Helper(io::Error::new(
            e.kind(),
            format!(
                "{} ended ({status}) without an error record, before it had the whole spec \
                 or the sync answer ({e})",
                helper.describe()
            ),
        )))
    }

    /// After a supervising helper has ended: the target's exit record, if it sent one.
    pub fn exit_record(&mut self) -> Option<Record> {
        if let Some(exit) = self.exit.take() {
            return Some(exit);
        }
        while let Ok(Some(record)) = self.read_record() {
            if let Record::Exit { .. } = record {
                return Some(record);
            }
        }
        None
    }

    /// Reads one record; `None` at end of stream.
    fn read_record(&self) -> Result<Option<Record>, Error> {
        let mut buf = [0u8; RECORD_LEN];
        let n = sys::read_full(self.sock.as_fd(), &mut buf)
            .map_err(|e| helper_error(e, "reading status"))?;
        let protocol = |kind, msg: String| helper_error(io::Error::new(kind, msg), "status");
        match n {
            0 => Ok(None),
            RECORD_LEN => Record::decode(&buf).map(Some).ok_or_else(|| {
                let kind = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
                let msg = format!("unknown record kind {kind}");
                protocol(io::ErrorKind::InvalidData, msg)
            }),
            n => {
                let msg = format!("stream ended {n} bytes into a {RECORD_LEN}-byte record");
                Err(protocol(io::ErrorKind::UnexpectedEof, msg))
            }
        }
    }

    /// After an abort: reads until the helper's error record or end of stream, so that it is
    /// gone (or going) when it is reaped.
    fn drain(&self) {
        while let Ok(Some(record)) = self.read_record() {
            if let Record::Error { .. } = record {
                break;
            }
        }
    }
}

/// Where [`Stream::read_until`] may return before end of stream.
#[derive(Clone, Copy, PartialEq, Eq)]
enum StopAt {
    Pid,
    Sync,
    End,
}

fn is_disconnect(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EPIPE | libc::ECONNRESET))
}

/// An `io::Error` with what was being done, as [`Error::Helper`].
pub(crate) fn helper_error(e: io::Error, what: &str) -> Error {
    Error::Helper(io::Error::new(e.kind(), format!("{what}: {e}")))
}

/// How a process ended (or stopped), with what it used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitStatus {
    /// The raw wait status, as [`std::process::ExitStatus`].
    pub status: ExitStatus,
    /// What the process used (for a supervised target: the target's own usage).
    pub rusage: Rusage,
}

impl WaitStatus {
    /// A status as `wait4` returned it.
    pub(crate) fn from_raw(raw: i32, rusage: &libc::rusage) -> Self {
        WaitStatus {
            status: ExitStatus::from_raw(raw),
            rusage: Rusage::from_libc(rusage),
        }
    }

    /// The exit code, if it exited.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
    /// The terminating signal, if a signal ended it.
    pub fn signal(&self) -> Option<i32> {
        self.status.signal()
    }
    /// Whether it exited with code 0.
    pub fn success(&self) -> bool {
        self.status.success()
    }
}

impl fmt::Display for WaitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.status.fmt(f)
    }
}

/// Resource usage from `wait4`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rusage {
    /// CPU time in user mode.
    pub user_time: Duration,
    /// CPU time in the kernel.
    pub system_time: Duration,
    /// Peak resident set size in KiB (Linux reports `ru_maxrss` in KiB).
    pub max_rss_kib: u64,
}

impl Rusage {
    fn from_libc(r: &libc::rusage) -> Self {
        let time = |tv: libc::timeval| {
            Duration::new(tv.tv_sec.max(0) as u64, 0)
                + Duration::from_micros(tv.tv_usec.max(0) as u64)
        };
        Rusage {
            user_time: time(r.ru_utime),
            system_time: time(r.ru_stime),
            max_rss_kib: r.ru_maxrss.max(0) as u64,
        }
    }
}
