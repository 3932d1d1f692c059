//! A started sandboxed program: its pid, `wait` with resource usage, `kill`.

use std::io;
use std::os::fd::AsFd;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use forkexec_spec::status::Record;

use crate::error::Error;
pub use crate::status::{Rusage, WaitStatus};
use crate::status::{Spawned, Stream};
use crate::sys;

/// A started program. In the exec-in-place shape it *is* the helper process this crate
/// spawned, now running the target.
///
/// Dropping a `Process` neither waits nor kills, like `std::process::Child`: a process that is
/// never waited for stays a zombie until this process exits.
#[derive(Debug)]
pub struct Process {
    pid: u32,
    target_pid: u32,
    status: Option<WaitStatus>,
    /// The rest of the status stream, when `start` returned before the exec.
    pending: Option<(Stream, PathBuf)>,
    /// A supervising helper's status stream, with the target's exit record to come.
    supervised: Option<Stream>,
}

impl Process {
    pub(crate) fn new(pid: u32, target_pid: u32) -> Self {
        Process {
            pid,
            target_pid,
            status: None,
            pending: None,
            supervised: None,
        }
    }

    /// A helper that supervises the target (clone shapes): `pid` is the helper, which ends
    /// the way the target does; `stream` will carry the target's exit record.
    pub(crate) fn supervised(pid: u32, target_pid: u32, stream: Stream) -> Self {
        Process {
            supervised: Some(stream),
            ..Process::new(pid, target_pid)
        }
    }

    /// A helper that will stop itself before exec: the status stream is read later, by
    /// [`Process::finish_start`].
    pub(crate) fn pending(pid: u32, helper: PathBuf, stream: Stream) -> Self {
        Process {
            pending: Some((stream, helper)),
            ..Process::new(pid, pid)
        }
    }

    /// The pid of this crate's child (the one to wait for).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The target's pid as reported by the helper; the same as [`Process::pid`] unless the
    /// helper ran the target as a separate process (clone shapes).
    pub fn target_pid(&self) -> u32 {
        self.target_pid
    }

    /// Whether the status stream is still to be read by [`Process::finish_start`] (the helper
    /// stops itself before exec: [`crate::Spec::stops_before_exec`]).
    pub fn start_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Reads the rest of the status stream of a helper that stopped itself before exec: call
    /// it once the tracer has let the helper go on (it blocks until the exec or an error record). Returns at once if nothing is
    /// pending.
    ///
    /// On error the helper has been killed and reaped (unless [`Process::wait`] reaped it
    /// first), and `wait` returns its status.
    pub fn finish_start(&mut self) -> Result<(), Error> {
        let Some((mut stream, path)) = self.pending.take() else {
            return Ok(());
        };
        let mut helper = Spawned::new(self.pid, path);
        helper.reaped = self.status;
        helper.armed = self.status.is_none();
        match stream.finish(&mut helper, self.target_pid) {
            Ok(target_pid) => {
                helper.armed = false;
                self.target_pid = target_pid;
                Ok(())
            }
            Err(e) => {
                self.status = helper.kill_and_reap();
                Err(e)
            }
        }
    }

    /// Waits for the process to change state and returns its status with resource usage.
    ///
    /// Uses `wait4` rather than `std::process::Child::wait` to get the rusage. Once the
    /// process has ended the status is remembered, so waiting again returns it again. A traced
    /// process (`ptrace`) also reports its stops here; they are returned, not remembered.
    pub fn wait(&mut self) -> io::Result<WaitStatus> {
        self.wait_with(0)
            .map(|s| s.expect("a blocking wait4 returns a status"))
    }

    /// Like [`Process::wait`], but returns `None` at once if the process is still running.
    pub fn try_wait(&mut self) -> io::Result<Option<WaitStatus>> {
        self.wait_with(libc::WNOHANG)
    }

    /// Like [`Process::wait`], but returns `None` if the process is still running after
    /// `timeout`. Sleeps on a pidfd (`pidfd_open` + `poll`, kernel 5.3+), so it wakes up the
    /// moment the process ends; without pidfds it looks every millisecond.
    pub fn wait_timeout(&mut self, timeout: Duration) -> io::Result<Option<WaitStatus>> {
        if let Some(status) = self.try_wait()? {
            return Ok(Some(status));
        }
        let deadline = Instant::now() + timeout;
        let pidfd = sys::pidfd_open(self.pid).ok();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match &pidfd {
                Some(fd) => {
                    let ms = left.as_millis().min(i32::MAX as u128) as i32;
                    // Round up: poll's milliseconds must not end the wait early.
                    let ms = if left > Duration::from_millis(ms as u64) {
                        ms + 1
                    } else {
                        ms
                    };
                    sys::poll_readable(fd.as_fd(), ms)?;
                }
                None => std::thread::sleep(left.min(Duration::from_millis(1))),
            }
            if let Some(status) = self.try_wait()? {
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }

    fn wait_with(&mut self, options: i32) -> io::Result<Option<WaitStatus>> {
        if let Some(status) = self.status {
            return Ok(Some(status));
        }
        let Some((raw, rusage)) = sys::wait4(self.pid, options)? else {
            return Ok(None);
        };
        let mut status = WaitStatus::from_raw(raw, &rusage);
        if libc::WIFEXITED(raw) || libc::WIFSIGNALED(raw) {
            // A supervising helper ended like the target; its exit record has the target's
            // exact status and its own CPU time and peak memory.
            if let Some(Record::Exit {
                status: target_status,
                utime_us,
                stime_us,
                maxrss_kib,
            }) = self.supervised.take().and_then(|mut s| s.exit_record())
            {
                status = WaitStatus {
                    status: ExitStatus::from_raw(target_status),
                    rusage: Rusage {
                        user_time: Duration::from_micros(utime_us),
                        system_time: Duration::from_micros(stime_us),
                        max_rss_kib: maxrss_kib,
                    },
                };
            }
            self.status = Some(status);
        }
        Ok(Some(status))
    }

    /// Sends signal `sig` (e.g. `libc::SIGKILL`). Refused once the process has been waited
    /// for, since its pid may then belong to another process.
    ///
    /// A supervising helper (clone shapes) forwards the signal to the target, except SIGKILL,
    /// which no process can catch: that one is sent to the target itself (with init: to init,
    /// which takes its pid namespace down), and the helper then ends the same way. Killing
    /// only the helper would leave the target running on its own.
    pub fn kill(&self, sig: i32) -> io::Result<()> {
        if self.status.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "process already waited for",
            ));
        }
        if sig == libc::SIGKILL && self.supervised.is_some() {
            // The helper has not been waited for, and it reaps the target only to exit right
            // after: the target's pid cannot have been reused but in that instant.
            return sys::kill(self.target_pid, sig);
        }
        sys::kill(self.pid, sig)
    }
}
