//! The clone shapes (docs/design.md and docs/spec.md, "Process shapes"): supervise, init and detach,
//! with die-with-parent and cgroup placement, through the real helper. What the target sees
//! from inside (its pid, a fresh /proc), what the runtime gets (the pid, the target's exact
//! status and rusage, ptrace stops of its own child), and what the host sees (id maps, cgroup
//! membership, nothing left behind). Every new error location is provoked for real.
//!
//! Every test runs as root and as an ordinary user (in a user namespace of its own); the few
//! that only make sense one way say so and return early.
use forkexec_testkit::support;

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use forkexec_client::{
    Credential, Error, IdMap, JoinNs, Location, Mount, Namespace, Process, Resource, Runner,
    SockFilter, WaitStatus,
};
use forkexec_spec::status::{Record, RECORD_LEN};
use serde_json::{json, Value};
use support::*;

mod block;
mod cgroups;
mod detach;
mod die_with_parent;
mod end_records;
mod error_locations;
mod hold;
mod id_maps;
mod info;
mod join;
mod pids;
mod signals_and_exits;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// [`in_root`] in a new pid namespace too, with a fresh proc at /proc: the supervise shape.
fn pid_root(c: &mut Cleanup, args: &[&str]) -> Runner {
    let mut r = in_root(c, args).mount(Mount::proc("/proc"));
    r.spec.clone_flags.push(Namespace::NewPid);
    r
}

/// `r` with the host's /dev/null bound at /dev/null (the shell's background jobs need it).
fn with_dev_null(r: Runner) -> Runner {
    r.mount(Mount::bind("/dev/null", "/dev/null", false))
}

/// [`pid_root`] with the helper's init as pid 1 and the target as pid 2.
fn init_root(c: &mut Cleanup, args: &[&str]) -> Runner {
    pid_root(c, args).init(true)
}

/// `args` run by /bin/sh -c SCRIPT (the runner's argv is replaced).
fn sh(mut r: Runner, script: &str) -> Runner {
    r.spec.args = vec!["/bin/sh".into(), "-c".into(), script.into()];
    r
}

/// A new pid namespace for a target outside any new root: with a user namespace mapping the
/// caller to root when unprivileged (an ordinary user needs one for the pid namespace).
fn new_pid_ns(r: Runner) -> Runner {
    if is_root() {
        return r.clone_flags([Namespace::NewPid]);
    }
    r.clone_flags([Namespace::NewUser, Namespace::NewPid])
        .uid_mappings([IdMap::new(0, euid(), 1)])
        .gid_mappings([IdMap::new(0, egid(), 1)])
}

/// A started process with the test's ends of its stdout and stderr; on drop it is killed
/// (the helper and, for the clone shapes, the target, since SIGKILL cannot be forwarded) and
/// reaped, unless it was waited for to the end.
struct Running {
    p: Process,
    out: BufReader<File>,
    err: File,
    done: Option<WaitStatus>,
}

impl Running {
    fn start(mut r: Runner) -> Result<Running, Error> {
        let devnull = File::open("/dev/null").unwrap();
        let (out_r, out_w) = pipe();
        let (err_r, err_w) = pipe();
        r.spec.files = vec![devnull.as_raw_fd(), out_w.as_raw_fd(), err_w.as_raw_fd()];
        let p = r.start()?;
        Ok(Running {
            p,
            out: BufReader::new(out_r),
            err: err_r,
            done: None,
        })
    }

    /// The next line of the target's stdout (without the newline); "" at EOF.
    fn line(&mut self) -> String {
        let mut l = String::new();
        self.out.read_line(&mut l).unwrap();
        l.trim_end_matches('\n').to_string()
    }

    /// Waits for the end; returns the status and the rest of stdout and stderr.
    fn finish(mut self) -> (WaitStatus, String, String) {
        let (mut out, mut err) = (String::new(), String::new());
        self.out.read_to_string(&mut out).unwrap();
        self.err.read_to_string(&mut err).unwrap();
        let status = self.p.wait().unwrap();
        self.done = Some(status);
        (status, out, err)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.done.is_some() || matches!(self.p.try_wait(), Ok(Some(_))) {
            return;
        }
        // Unreaped, so neither pid can have been reused yet (the target is the helper's
        // unreaped child, or ours).
        // SAFETY: kill() with a pid and a signal number.
        unsafe { libc::kill(self.p.target_pid() as i32, libc::SIGKILL) };
        let _ = self.p.kill(libc::SIGKILL);
        let _ = self.p.wait();
    }
}

/// The target's JSON line (the probe's report or `syscall` answer).
fn json_of(out: &str) -> Value {
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

/// Runs `runner` to the end, asserts it succeeded, returns the probe's JSON.
#[track_caller]
fn probe_json(runner: Runner) -> Value {
    let out = run(runner).expect("start");
    assert!(out.status.success(), "{} {}", out.status, out.stderr);
    json_of(&out.stdout)
}

/// `/proc/<pid>/stat` fields after the command name: state, ppid.
fn stat_of(pid: u32) -> Option<(char, u32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let mut f = rest.split_whitespace();
    let state = f.next()?.chars().next()?;
    let ppid = f.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Whether `pid` runs the helper (its `comm`) and sleeps.
fn is_helper_sleeping(pid: u32) -> bool {
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    let name = helper().file_name().unwrap().to_string_lossy().into_owned();
    comm.trim_end() == &name[..name.len().min(15)] && stat_of(pid).is_some_and(|(s, _)| s == 'S')
}

/// Whether `pid` exists and has not ended (a zombie has ended).
fn alive(pid: u32) -> bool {
    stat_of(pid).is_some_and(|(state, _)| state != 'Z' && state != 'X')
}

/// Polls `cond` every 10 ms for up to `secs` seconds.
fn eventually(secs: f64, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs_f64(secs);
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A line of /proc/<pid>/status, e.g. `NSpid`.
fn status_field(pid: u32, name: &str) -> String {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in {s}"))
        .trim()
        .to_string()
}

/// The children of the calling thread (every test runs on a thread of its own, so these are
/// this test's children only).
fn own_children() -> Vec<u32> {
    // SAFETY: gettid cannot fail.
    let tid = unsafe { libc::gettid() };
    let text = fs::read_to_string(format!("/proc/self/task/{tid}/children")).unwrap();
    text.split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect()
}

#[track_caller]
fn assert_no_children() {
    let children = own_children();
    let described: Vec<_> = children.iter().map(|&p| (p, stat_of(p))).collect();
    assert!(children.is_empty(), "left behind: {described:?}");
}

/// Every host process in the pid namespace `link` (e.g. `pid:[4026532…]`).
///
/// The helper's init is non-dumpable (docs/chain.md), so an unprivileged test cannot read its
/// namespace link: a process whose link is hidden counts when it is pid 1 of its namespace
/// and a parent of a member.
fn pid_ns_members(link: &str) -> Vec<u32> {
    let mut pids = Vec::new();
    let mut hidden = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        match fs::read_link(format!("/proc/{pid}/ns/pid")) {
            Ok(l) if l.to_string_lossy() == link => pids.push(pid),
            Ok(_) => {}
            Err(_) => hidden.push(pid),
        }
    }
    for pid in hidden {
        let is_init = fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("NSpid:"))
                .is_some_and(|ns| ns.split_whitespace().last() == Some("1"))
        });
        let parent_of_member = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .is_ok_and(|c| {
                c.split_whitespace()
                    .any(|p| p.parse().is_ok_and(|p: u32| pids.contains(&p)))
            });
        if is_init && parent_of_member {
            pids.push(pid);
        }
    }
    pids.sort();
    pids
}

fn pid_ns_of(pid: u32) -> String {
    path_str(&fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap())
}

/// The pid namespace of a sandbox, from its first process (the pid record's: the target, or
/// init). Init runs the helper's code and is non-dumpable, so an unprivileged test reads the
/// link of init's child (the target) instead.
fn sandbox_pid_ns(first: u32) -> String {
    match fs::read_link(format!("/proc/{first}/ns/pid")) {
        Ok(link) => path_str(&link),
        Err(e) => {
            assert!(!is_root(), "{e}");
            assert_eq!(e.raw_os_error(), Some(libc::EACCES), "{e}");
            let children =
                fs::read_to_string(format!("/proc/{first}/task/{first}/children")).unwrap();
            let child = children.split_whitespace().next().expect("init's child");
            pid_ns_of(child.parse().unwrap())
        }
    }
}

/// A target that would leave `ran` in a host directory if it ever ran.
fn marker_target(c: &mut Cleanup) -> (Runner, PathBuf) {
    let marker = c.dir("marker").join("ran");
    let r = probe_runner(&["write", &path_str(&marker), "ran"]);
    (r, marker)
}

#[track_caller]
fn assert_never_ran(marker: &Path) {
    assert!(!marker.exists(), "the target ran: {}", marker.display());
}

// ---------------------------------------------------------------------------------------------
// The raw helper: the spec's bytes in, every record out, the helper's own exit status
// ---------------------------------------------------------------------------------------------

/// The helper spawned on a socketpair (`--spec-fd`), the spec written, records read one by one:
/// a runtime in the simplest form, which only waits for the helper.
struct RawHelper {
    child: Child,
    sock: UnixStream,
    /// The helper's end, as /proc/PID/fd shows it: `socket:[inode]`.
    their_end: String,
}

impl RawHelper {
    /// `adjust` may change the Command (its pre_exec runs before the spec fd is prepared).
    fn spawn(spec: &[u8], adjust: impl FnOnce(&mut Command)) -> RawHelper {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let fd = theirs.as_raw_fd();
        let mut cmd = Command::new(helper());
        cmd.arg("--spec-fd")
            .arg(fd.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        adjust(&mut cmd);
        // SAFETY: only fcntl between fork and exec.
        unsafe {
            cmd.pre_exec(move || clear_cloexec(fd));
        }
        let child = cmd.spawn().unwrap();
        let their_end = path_str(&fs::read_link(format!("/proc/self/fd/{fd}")).unwrap());
        drop(theirs);
        let mut sock = ours;
        sock.write_all(spec).unwrap();
        RawHelper {
            child,
            sock,
            their_end,
        }
    }

    fn next(&mut self) -> Option<Record> {
        let mut buf = [0u8; RECORD_LEN];
        let mut got = 0;
        while got < RECORD_LEN {
            match self.sock.read(&mut buf[got..]) {
                Ok(0) => {
                    assert_eq!(got, 0, "a record cut short");
                    return None;
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => panic!("reading records: {e}"),
            }
        }
        Some(Record::decode(&buf).expect("a known record kind"))
    }

    /// The rest of the records, then the helper's own exit status.
    fn finish(mut self) -> (Vec<Record>, ExitStatus) {
        let mut records = Vec::new();
        while let Some(r) = self.next() {
            records.push(r);
        }
        let status = self.child.wait().unwrap();
        (records, status)
    }
}

impl Drop for RawHelper {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The probe's `exit CODE` or `signal SIG` in a pid namespace (supervise), or under init.
fn ending(c: &mut Cleanup, init: bool, args: &[&str]) -> Runner {
    let r = if init {
        init_root(c, args)
    } else {
        pid_root(c, args)
    };
    // No core dumps: the target's status is then exactly the signal.
    r.rlimit(Resource::Core, 0, 0)
}

// ---------------------------------------------------------------------------------------------
// Detach: the runtime's own child
// ---------------------------------------------------------------------------------------------

/// `waitpid` for a child of this thread that is not a `Child` (a detached target).
fn wait_pid(pid: u32) -> ExitStatus {
    let mut status = 0;
    loop {
        // SAFETY: waitpid fills an int we own.
        let r = unsafe { libc::waitpid(pid as i32, &mut status, 0) };
        if r == pid as i32 {
            return ExitStatus::from_raw(status);
        }
        let e = std::io::Error::last_os_error();
        assert_eq!(e.raw_os_error(), Some(libc::EINTR), "waitpid({pid}): {e}");
    }
}

// ---------------------------------------------------------------------------------------------
// ptrace through detach: the runtime is the target's parent, so it can be its tracer, also
// with a new pid namespace (where the helper cannot stay between them)
// ---------------------------------------------------------------------------------------------

/// `ptrace(req, pid, 0, data)` from the calling thread (the tracer).
#[track_caller]
fn ptrace(req: libc::c_uint, pid: u32, data: usize) {
    // SAFETY: requests that take an integer (or nothing) as data.
    let r = unsafe {
        libc::ptrace(
            req,
            pid as libc::pid_t,
            std::ptr::null_mut::<libc::c_void>(),
            data as *mut libc::c_void,
        )
    };
    assert_eq!(r, 0, "ptrace({req}): {}", std::io::Error::last_os_error());
}

// ---------------------------------------------------------------------------------------------
// Die with parent: a runtime killed with SIGKILL takes the sandbox down
// ---------------------------------------------------------------------------------------------
//
// The "runtime" is /bin/sh, which starts the helper in the background (spec from a file or a
// pipe, records to a status file) and then becomes `sleep 60`. It runs under a reaper: this
// test binary re-executed (`reaper_process`) as a child subreaper, so that what the killed
// runtime leaves behind is reaped (pid 1 here may not), and the reaper exits only once
// nothing of the sandbox is left.

#[derive(Clone, Copy, Debug, PartialEq)]
enum Shape {
    InPlace,
    Supervise,
    Detach,
    Init,
}

// ---------------------------------------------------------------------------------------------
// Cgroups: the target placed in a cgroup (v2) directory, by path or by fd
// ---------------------------------------------------------------------------------------------

/// `r` in `shape`: in place with no namespaces, or in a new pid namespace (in a user namespace
/// of its own when unprivileged).
fn shaped(r: Runner, shape: Shape) -> Runner {
    match shape {
        Shape::InPlace => r,
        Shape::Supervise => new_pid_ns(r),
        Shape::Detach => new_pid_ns(r).detach(true),
        Shape::Init => new_pid_ns(r).init(true),
    }
}
