//! One spawn+wait of each kind of runner, timed from the driver with the monotonic clock.
//!
//! Every program is started the same way, with glibc's `posix_spawn`, which is
//! `clone(CLONE_VM | CLONE_VFORK)` + `execve`: the vfork+execve floor. The helper runners add
//! what any runtime must do to drive the helper (a socketpair, the spec written, the status
//! stream read to its end), inside the timed region.

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::ptr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use forkexec_client::Spec;

/// A program and its arguments, with the `argv` array built once (no allocation per spawn).
/// The environment is empty for every runner.
pub struct Exe {
    _args: Vec<CString>,
    argv: Vec<*mut libc::c_char>,
}

// SAFETY: the pointers point into `_args`, owned by the value and never changed.
unsafe impl Send for Exe {}
unsafe impl Sync for Exe {}

impl Exe {
    pub fn new<S: AsRef<OsStr>>(args: &[S]) -> Exe {
        let args: Vec<CString> = args
            .iter()
            .map(|a| CString::new(a.as_ref().as_bytes()).expect("no NUL in arguments"))
            .collect();
        let mut argv: Vec<*mut libc::c_char> = args
            .iter()
            .map(|a| a.as_ptr() as *mut libc::c_char)
            .collect();
        argv.push(ptr::null_mut());
        Exe { _args: args, argv }
    }

    /// `posix_spawn` with `fds` = (source, number in the child) dup2'd into place. Every fd of
    /// the driver is close-on-exec, so the child gets 0–2 and these.
    pub fn spawn(&self, fds: &[(RawFd, RawFd)]) -> io::Result<libc::pid_t> {
        let env: [*mut libc::c_char; 1] = [ptr::null_mut()];
        let mut pid: libc::pid_t = 0;
        // SAFETY: plain libc calls on a local file-actions object; argv is NULL-terminated and
        // outlives the call.
        unsafe {
            let mut fa: libc::posix_spawn_file_actions_t = std::mem::zeroed();
            libc::posix_spawn_file_actions_init(&mut fa);
            for &(from, to) in fds {
                libc::posix_spawn_file_actions_adddup2(&mut fa, from, to);
            }
            let rc = libc::posix_spawn(
                &mut pid,
                self.argv[0],
                &fa,
                ptr::null(),
                self.argv.as_ptr(),
                env.as_ptr(),
            );
            libc::posix_spawn_file_actions_destroy(&mut fa);
            if rc != 0 {
                return Err(io::Error::from_raw_os_error(rc));
            }
        }
        Ok(pid)
    }
}

/// wait4, returning the raw wait status and the CPU time (user + system) the child used,
/// with that of the descendants it waited for itself (bwrap's, a supervising helper's or
/// forkexec-run's child).
pub fn wait_cpu(pid: libc::pid_t) -> io::Result<(i32, Duration)> {
    let mut status = 0;
    loop {
        // SAFETY: an all-zero rusage is valid; wait4 fills it.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: plain wait4 on our own child, into locals.
        if unsafe { libc::wait4(pid, &mut status, 0, &mut ru) } == pid {
            let tv = |t: libc::timeval| {
                Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
            };
            return Ok((status, tv(ru.ru_utime) + tv(ru.ru_stime)));
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

fn check_status(what: &str, status: i32) -> io::Result<()> {
    if status == 0 {
        Ok(())
    } else if libc::WIFEXITED(status) {
        Err(io::Error::other(format!(
            "{what} exited with {}",
            libc::WEXITSTATUS(status)
        )))
    } else {
        Err(io::Error::other(format!(
            "{what} ended by signal {}",
            libc::WTERMSIG(status)
        )))
    }
}

/// An fd whose number is not `avoid` (dup2 onto its own number would leave it close-on-exec).
fn not_numbered(fd: OwnedFd, avoid: RawFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() != avoid {
        return Ok(fd);
    }
    // SAFETY: F_DUPFD_CLOEXEC on an fd we own; the new fd is owned by the result.
    let dup = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, avoid + 1) };
    if dup < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `dup` is a fresh fd owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(dup) })
}

fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: socketpair writes two fds into the array.
    let rc = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both fds are fresh and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn write_all(fd: &OwnedFd, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: writing from a valid slice.
        let n = unsafe {
            libc::send(
                fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        buf = &buf[n as usize..];
    }
    Ok(())
}

/// Reads the status stream to its end; an error record is returned as an error.
fn read_records(fd: &OwnedFd) -> io::Result<()> {
    let mut got = Vec::with_capacity(128);
    let mut buf = [0u8; 256];
    loop {
        // SAFETY: reading into a valid buffer.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n as usize]);
    }
    for rec in got.chunks(32) {
        let word = |i: usize| u32::from_le_bytes(rec[i..i + 4].try_into().unwrap());
        if rec.len() == 32 && word(0) == 1 {
            return Err(io::Error::other(format!(
                "helper error record: location {}, errno {}, index {}",
                word(4),
                word(8) as i32,
                word(12)
            )));
        }
    }
    Ok(())
}

/// How one runner spawns the payload.
pub enum How {
    /// A program (the floor: the payload itself; bwrap; unshare; the bare C program), with
    /// optionally a file opened (outside the timed region) onto a fixed fd, for
    /// `bwrap --seccomp FD`.
    Plain {
        exe: Exe,
        fd_file: Option<(PathBuf, RawFd)>,
    },
    /// The helper, with these spec bytes on fd 3 (a socketpair), the stream read to its end.
    /// With `wait_first` (an experiment, `--experiments`), the stream is read only after the
    /// helper has been reaped, so the driver sleeps once instead of once per record.
    Helper {
        exe: Exe,
        spec: Vec<u8>,
        wait_first: bool,
    },
    /// The Rust client's one-shot: `Runner::run()` (start and wait; only the end records
    /// asked for when nothing needs the others).
    Client { helper: PathBuf, spec: Box<Spec> },
    /// A run through the fork server the driver started once (`Server::run` then
    /// `ServedProcess::wait`).
    Server {
        server: Arc<forkexec_client::Server>,
        spec: Box<Spec>,
    },
    /// A run in a warm sandbox of the pool the driver built once (`Pool::run` then
    /// `ServedProcess::wait`): `run` is the runner each run sends (cloned per run).
    Pool {
        pool: Arc<forkexec_client::Pool>,
        run: Box<Spec>,
    },
    /// The Rust client's `Judge` (docs/judge.md): the same, plus its cgroup (none, a fresh
    /// one, or one from a pool), the output pipes and the watcher.
    Judge {
        helper: PathBuf,
        spec: Box<Spec>,
        cgroup: JudgeCgroup,
    },
    /// One spawn done and timed inside the Python coprocess (`bench/spawn.py serve`).
    Python {
        py: Arc<PythonServer>,
        what: &'static str,
    },
}

impl How {
    /// One spawn+wait; the time from just before the spawn to the reaped exit.
    pub fn once(&self) -> io::Result<Duration> {
        self.once_cpu().map(|(wall, _)| wall)
    }

    /// One spawn+wait: the wall time, and the CPU time the spawned process used (the
    /// runners that spawn one process and wait for it; `None` for the client and Python).
    pub fn once_cpu(&self) -> io::Result<(Duration, Option<Duration>)> {
        match self {
            How::Plain { exe, fd_file } => {
                let file = match fd_file {
                    Some((path, to)) => Some((not_numbered(File::open(path)?.into(), *to)?, *to)),
                    None => None,
                };
                let fds: Vec<(RawFd, RawFd)> =
                    file.iter().map(|(f, to)| (f.as_raw_fd(), *to)).collect();
                let start = Instant::now();
                let pid = exe.spawn(&fds)?;
                let (status, cpu) = wait_cpu(pid)?;
                let took = start.elapsed();
                check_status("program", status)?;
                Ok((took, Some(cpu)))
            }
            How::Helper {
                exe,
                spec,
                wait_first,
            } => {
                let start = Instant::now();
                let (ours, theirs) = socketpair()?;
                let theirs = not_numbered(theirs, 3)?;
                let pid = exe.spawn(&[(theirs.as_raw_fd(), 3)])?;
                drop(theirs);
                let sent = write_all(&ours, spec);
                let (read, (status, cpu)) = if *wait_first {
                    let waited = wait_cpu(pid)?;
                    (sent.and_then(|()| read_records(&ours)), waited)
                } else {
                    let read = sent.and_then(|()| read_records(&ours));
                    (read, wait_cpu(pid)?)
                };
                drop(ours);
                let took = start.elapsed();
                read?;
                check_status("helper", status)?;
                Ok((took, Some(cpu)))
            }
            How::Client { helper, spec } => {
                let runner = forkexec_client::Runner::from_spec((**spec).clone()).helper(helper);
                let start = Instant::now();
                let status = runner.run().map_err(io::Error::other)?;
                let took = start.elapsed();
                if !status.success() {
                    return Err(io::Error::other(format!("client: target {status}")));
                }
                Ok((took, None))
            }
            How::Server { server, spec } => {
                let runner = forkexec_client::Runner::from_spec((**spec).clone());
                let start = Instant::now();
                let mut run = server.run(runner).map_err(io::Error::other)?;
                let status = run.wait()?;
                let took = start.elapsed();
                if !status.success() {
                    return Err(io::Error::other(format!("server: target {status}")));
                }
                Ok((took, None))
            }
            How::Pool { pool, run } => {
                let runner = forkexec_client::Runner::from_spec((**run).clone());
                let start = Instant::now();
                let mut served = pool.run(runner).map_err(io::Error::other)?;
                let status = served.wait()?;
                let took = start.elapsed();
                if !status.success() {
                    return Err(io::Error::other(format!("pool: target {status}")));
                }
                Ok((took, None))
            }
            How::Judge {
                helper,
                spec,
                cgroup,
            } => {
                use forkexec_client::judge::{Judge, Status};
                let runner = forkexec_client::Runner::from_spec((**spec).clone()).helper(helper);
                let start = Instant::now();
                let with_cgroup = !matches!(cgroup, JudgeCgroup::None);
                let judge = Judge::new(runner).limits(judge_limits(with_cgroup));
                let judge = match cgroup {
                    JudgeCgroup::None => judge.no_cgroup(),
                    JudgeCgroup::Fresh(layout) => judge.layout(layout.clone()),
                    JudgeCgroup::Pool(pool) => judge.pool(Arc::clone(pool)),
                };
                let result = judge.run();
                let took = start.elapsed();
                if result.status != Status::Normal {
                    return Err(io::Error::other(format!("judge: {}", result.to_json())));
                }
                Ok((took, None))
            }
            How::Python { py, what } => py.once(what).map(|took| (took, None)),
        }
    }

    /// Whether two threads may run this runner at once.
    pub fn concurrent(&self) -> bool {
        !matches!(self, How::Python { .. })
    }
}

/// Where a `How::Judge` run's cgroup comes from.
pub enum JudgeCgroup {
    None,
    Fresh(forkexec_client::cgroup::Layout),
    Pool(Arc<forkexec_client::cgroup::Pool>),
}

/// The limits of the judge rows: memory and pids (what needs the cgroup) for the rows with
/// one; CPU and wall time (which need none, and which the judge refuses to pretend it can
/// hold memory to without one) for the row without. The payload ends at once either way.
pub fn judge_limits(cgroup: bool) -> forkexec_client::judge::Limits {
    if cgroup {
        forkexec_client::judge::Limits {
            memory: Some(256 << 20),
            pids: Some(64),
            ..Default::default()
        }
    } else {
        forkexec_client::judge::Limits {
            time: Some(Duration::from_secs(10)),
            wall_time: Some(Duration::from_secs(10)),
            ..Default::default()
        }
    }
}

/// `bench/spawn.py serve`: reads a runner name per line, does one spawn, answers with the
/// nanoseconds it took (timed inside Python with `time.perf_counter_ns`).
pub struct PythonServer {
    inner: Mutex<(Child, ChildStdin, BufReader<ChildStdout>)>,
}

impl PythonServer {
    pub fn start(python: &Path, script: &Path, args: &[&Path]) -> io::Result<PythonServer> {
        let mut child = Command::new(python)
            .arg(script)
            .arg("serve")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let server = PythonServer {
            inner: Mutex::new((child, stdin, stdout)),
        };
        server.once("ping")?;
        Ok(server)
    }

    pub fn once(&self, what: &str) -> io::Result<Duration> {
        let mut guard = self.inner.lock().unwrap();
        let (_, stdin, stdout) = &mut *guard;
        writeln!(stdin, "{what}")?;
        stdin.flush()?;
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        match line.trim().split_once(' ') {
            Some(("ok", ns)) => Ok(Duration::from_nanos(ns.parse().map_err(io::Error::other)?)),
            _ => Err(io::Error::other(format!(
                "python {what}: {}",
                if line.is_empty() {
                    "no answer"
                } else {
                    line.trim()
                }
            ))),
        }
    }

    pub fn stop(&self) {
        let mut guard = self.inner.lock().unwrap();
        let (child, stdin, _) = &mut *guard;
        let _ = writeln!(stdin, "quit");
        let _ = stdin.flush();
        let _ = child.wait();
    }
}
