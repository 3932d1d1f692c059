//! The clone shapes (DESIGN.md "Process shapes", docs/spec.md): supervise, init and detach,
//! with die-with-parent and cgroup placement, through the real helper. What the target sees
//! from inside (its pid, a fresh /proc), what the runtime gets (the pid, the target's exact
//! status and rusage, ptrace stops of its own child), and what the host sees (id maps, cgroup
//! membership, nothing left behind). Every new error location is provoked for real.
//!
//! Every test runs as root and as an ordinary user (in a user namespace of its own); the few
//! that only make sense one way say so and return early.
mod support;

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use forkexec_client::{
    Credential, Error, IdMap, Location, Mount, Namespace, Process, Resource, Runner, SockFilter,
    WaitStatus,
};
use forkexec_spec::status::{Record, RECORD_LEN};
use serde_json::{json, Value};
use support::*;

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

/// The kernel's rendering of an id map line.
fn map_line(inside: u32, outside: u32, size: u32) -> String {
    format!("{inside:>10} {outside:>10} {size:>10}\n")
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

/// `runner`'s spec run by [`RawHelper`] to the end: records and the helper's status.
fn raw_run(runner: &Runner) -> (Vec<Record>, ExitStatus) {
    RawHelper::spawn(&runner.spec.encode().unwrap(), |_| {}).finish()
}

/// The records a supervising helper writes for a target that ran and ended with `status`:
/// pid, exec, exit. Returns the exit record's times and RSS for further checks.
#[track_caller]
fn assert_supervised_records(records: &[Record], status: i32) -> (u64, u64, u64) {
    match records {
        [Record::Pid { pid }, Record::Exec { pid: exec_pid }, Record::Exit {
            status: s,
            utime_us,
            stime_us,
            maxrss_kib,
        }] => {
            assert_eq!(pid, exec_pid, "{records:?}");
            assert_eq!(*s, status, "exit record {records:?}");
            (*utime_us, *stime_us, *maxrss_kib)
        }
        _ => panic!("expected pid, exec, exit({status:#x}): {records:?}"),
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
// Which process is the target: pids inside and outside
// ---------------------------------------------------------------------------------------------

/// Supervise: the target is pid 1 of a new pid namespace (its parent, the helper, is outside:
/// ppid 0); the runtime's child is the helper, and `target_pid` is the target's host pid,
/// whose NSpid ends in 1.
#[test]
fn supervised_target_is_pid_1_of_its_namespace() {
    let mut c = Cleanup::default();
    let r = probe_json(pid_root(&mut c, &["report"]));
    assert_eq!((r["pid"].clone(), r["ppid"].clone()), (json!(1), json!(0)));
    let own_pid_ns = pid_ns_of(std::process::id());
    assert_ne!(r["ns"]["pid"], own_pid_ns.as_str());

    let run = Running::start(pid_root(&mut c, &["sleep", "60"])).unwrap();
    let (helper, target) = (run.p.pid(), run.p.target_pid());
    assert_ne!(helper, target);
    assert_eq!(
        stat_of(target).unwrap().1,
        helper,
        "the target is the helper's child"
    );
    assert_eq!(status_field(target, "NSpid"), format!("{target}\t1"));
    assert_eq!(status_field(helper, "NSpid"), helper.to_string());
    // SIGKILL from the ancestor namespace reaches even pid 1; the helper ends the same way.
    // SAFETY: kill() with a pid and a signal number.
    assert_eq!(unsafe { libc::kill(target as i32, libc::SIGKILL) }, 0);
    let (status, _, _) = run.finish();
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status}");
    assert!(!alive(target) && !alive(helper));
    assert_no_children();
}

/// Init: pid 1 is the helper's init (`target_pid` is init's host pid), the target runs as
/// pid 2, its child.
#[test]
fn init_runs_the_target_as_pid_2() {
    let mut c = Cleanup::default();
    let r = probe_json(init_root(&mut c, &["report"]));
    assert_eq!((r["pid"].clone(), r["ppid"].clone()), (json!(2), json!(1)));

    let run = Running::start(init_root(&mut c, &["sleep", "60"])).unwrap();
    let (helper, init) = (run.p.pid(), run.p.target_pid());
    assert_eq!(
        stat_of(init).unwrap().1,
        helper,
        "init is the helper's child"
    );
    assert_eq!(status_field(init, "NSpid"), format!("{init}\t1"));
    let children = fs::read_to_string(format!("/proc/{init}/task/{init}/children")).unwrap();
    let target: u32 = children.trim().parse().expect("one child of init");
    assert_eq!(status_field(target, "NSpid"), format!("{target}\t2"));
    assert_eq!(
        fs::read_link(format!("/proc/{target}/exe")).unwrap(),
        Path::new(PROBE_IN_ROOT)
    );
    // SAFETY: kill() with a pid and a signal number.
    assert_eq!(unsafe { libc::kill(target as i32, libc::SIGKILL) }, 0);
    let (status, _, _) = run.finish();
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status}");
    assert!(!alive(init) && !alive(target));
    assert_no_children();
}

/// A fresh /proc (mounted in the new pid and mount namespaces before pivot_root) lists only
/// the sandbox's processes: the target (`ls` itself) as 1, or init and the target as 1 and 2.
#[test]
fn fresh_proc_shows_only_the_sandbox() {
    let mut c = Cleanup::default();
    for (r, expected) in [
        (pid_root(&mut c, &[]), vec!["1"]),
        (init_root(&mut c, &[]), vec!["1", "2"]),
    ] {
        let mut r = r;
        r.spec.args = vec!["/bin/ls".into(), "/proc".into()];
        let out = run(r).unwrap();
        assert!(out.status.success(), "{} {}", out.status, out.stderr);
        let pids: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| l.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        assert_eq!(pids, expected, "{}", out.stdout);
        assert!(out.stdout.lines().any(|l| l == "self"), "{}", out.stdout);
    }
}

/// Detach: `CLONE_PARENT` makes the target the runtime's own child (the helper has exited and
/// been reaped); `pid()` is the target. In a new pid namespace it is pid 1 with its parent
/// outside.
#[test]
fn detached_target_is_the_runtimes_child() {
    let mut c = Cleanup::default();
    let run = Running::start(pid_root(&mut c, &["sleep", "60"]).detach(true)).unwrap();
    let target = run.p.pid();
    assert_eq!(run.p.target_pid(), target);
    assert_eq!(stat_of(target).unwrap().1, std::process::id());
    assert_eq!(own_children(), [target], "the helper is reaped");
    assert_eq!(status_field(target, "NSpid"), format!("{target}\t1"));
    run.p.kill(libc::SIGKILL).unwrap();
    let (status, _, _) = run.finish();
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    assert_no_children();

    let r = probe_json(pid_root(&mut c, &["report"]).detach(true));
    assert_eq!((r["pid"].clone(), r["ppid"].clone()), (json!(1), json!(0)));
}

// ---------------------------------------------------------------------------------------------
// Zombies and leftovers
// ---------------------------------------------------------------------------------------------

/// A target that double-forks: the grandchild is orphaned to pid 1 of the namespace, init,
/// which reaps it when it ends (the target watches its /proc entry disappear).
#[test]
fn init_reaps_a_double_forked_orphan() {
    let mut c = Cleanup::default();
    let script = r#"
        p=$( (/bin/sleep 0.2 >&- 2>&- & echo $!) )
        echo "orphan $p ppid $(cut -d' ' -f4 /proc/$p/stat)"
        i=0
        while [ -e /proc/$p ] && [ $i -lt 500 ]; do /bin/sleep 0.01; i=$((i+1)); done
        if [ -e /proc/$p ]; then echo "left: $(cat /proc/$p/stat)"; else echo reaped; fi
    "#;
    let out = run(sh(with_dev_null(init_root(&mut c, &[])), script)).unwrap();
    assert!(out.status.success(), "{} {}", out.status, out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{} {}", out.stdout, out.stderr);
    assert!(
        lines[0].starts_with("orphan ") && lines[0].ends_with(" ppid 1"),
        "{}",
        out.stdout
    );
    assert_eq!(lines[1], "reaped", "{}", out.stdout);
}

/// When the target ends, the kernel kills whatever is left in its namespace: a daemon it
/// double-forked is gone by the time the runtime's wait returns (supervise and init), and the
/// runtime has no child left.
#[test]
fn nothing_is_left_in_the_namespace_after_the_target_ends() {
    let mut c = Cleanup::default();
    for init in [false, true] {
        let base = if init {
            init_root(&mut c, &[])
        } else {
            pid_root(&mut c, &[])
        };
        let script = r#"
            p=$( (/bin/sleep 60 >&- 2>&- & echo $!) )
            [ -d /proc/$p ] && echo "$(readlink /proc/self/ns/pid) $(cut -d' ' -f2 /proc/$p/stat)"
            exit 7
        "#;
        let mut run = Running::start(sh(with_dev_null(base), script)).unwrap();
        let line = run.line();
        // The daemon was there, in the target's pid namespace.
        let (ns, comm) = line.split_once(' ').unwrap();
        assert!(ns.starts_with("pid:["), "{line}");
        assert_eq!(comm, "(sleep)", "{line}");
        let (status, _, err) = run.finish();
        assert_eq!(status.code(), Some(7), "{status} {err}");
        assert_eq!(pid_ns_members(ns), Vec::<u32>::new(), "init {init}");
        assert_no_children();
    }
}

// ---------------------------------------------------------------------------------------------
// Signals: forwarded by the supervisor (and init) to the target
// ---------------------------------------------------------------------------------------------

const FORWARDED: [(i32, &str); 3] = [
    (libc::SIGTERM, "TERM"),
    (libc::SIGINT, "INT"),
    (libc::SIGUSR1, "USR1"),
];

/// Supervise: SIGTERM, SIGINT and SIGUSR1 sent to the helper (the process a runtime knows)
/// reach the target. The target is pid 1 of its namespace, which only gets signals it has a
/// handler for: a shell that traps each one, says which it got and exits with its own code;
/// the helper then exits with that code.
#[test]
fn supervisor_forwards_signals_to_the_target() {
    let mut c = Cleanup::default();
    for (i, (sig, name)) in FORWARDED.iter().enumerate() {
        let script = r#"
            trap 'echo got TERM; exit 71' TERM
            trap 'echo got INT; exit 72' INT
            trap 'echo got USR1; exit 73' USR1
            /bin/sleep 5 &
            echo ready
            wait
            echo "wait returned"
        "#;
        let mut run = Running::start(sh(with_dev_null(pid_root(&mut c, &[])), script)).unwrap();
        assert_eq!(run.line(), "ready");
        // SAFETY: kill() on our unreaped child.
        assert_eq!(unsafe { libc::kill(run.p.pid() as i32, *sig) }, 0);
        let (status, out, err) = run.finish();
        assert_eq!(out, format!("got {name}\n"), "{err}");
        assert_eq!(status.code(), Some(71 + i as i32), "{status} {err}");
    }
    assert_no_children();
}

/// Init: the signal goes helper → init → the target (pid 2), which has no handler and dies
/// of it; init passes the status up and the runtime sees the same signal.
#[test]
fn init_forwards_signals_to_pid_2() {
    let mut c = Cleanup::default();
    for (sig, _) in FORWARDED {
        let run = Running::start(init_root(&mut c, &["sleep", "5"])).unwrap();
        // `start` returned after the exec record: the probe runs.
        run.p.kill(sig).unwrap();
        let (status, _, err) = run.finish();
        assert_eq!(status.signal(), Some(sig), "{status} {err}");
        assert!(!status.status.core_dumped());
    }
    assert_no_children();
}

// ---------------------------------------------------------------------------------------------
// Exit statuses: the exit record, and the helper ending the same way
// ---------------------------------------------------------------------------------------------

/// Exit codes pass through unchanged: the exit record has the target's wait status, and the
/// helper (all that a runtime which only waits for its child sees) exits with the same code.
#[test]
fn exit_codes_are_mirrored() {
    let mut c = Cleanup::default();
    for init in [false, true] {
        for code in [0, 1, 42, 255] {
            let r = ending(&mut c, init, &["exit", &code.to_string()]);
            let (records, status) = raw_run(&r);
            assert_supervised_records(&records, code << 8);
            assert_eq!(status.code(), Some(code), "init {init}: {status:?}");
            // Through the client: the same code.
            let out = run(ending(&mut c, init, &["exit", &code.to_string()])).unwrap();
            assert_eq!(out.status.code(), Some(code), "init {init}");
        }
    }
}

/// SIGKILL: the supervised target (pid 1) killed from the host, or pid 2 killing itself under
/// init. The record says SIGKILL and the helper dies of SIGKILL too.
#[test]
fn sigkill_is_mirrored() {
    let mut c = Cleanup::default();
    let spec = ending(&mut c, false, &["sleep", "60"])
        .spec
        .encode()
        .unwrap();
    let mut h = RawHelper::spawn(&spec, |_| {});
    let Some(Record::Pid { pid }) = h.next() else {
        panic!("no pid record")
    };
    assert_eq!(h.next(), Some(Record::Exec { pid }));
    // SAFETY: kill() on the helper's unreaped child.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    let (records, status) = h.finish();
    assert!(
        matches!(records[..], [Record::Exit { status: 9, .. }]),
        "{records:?}"
    );
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");

    let (records, status) = raw_run(&ending(&mut c, true, &["signal", "9"]));
    assert_supervised_records(&records, libc::SIGKILL);
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
}

/// SIGSEGV under init (pid 2 raises it; pid 1 could not die of its own signal): the record
/// has exactly SIGSEGV (the target's core limit is 0), and the helper dies of SIGSEGV without
/// dumping a core of its own, although its core limit is unlimited and its working directory
/// writable (where the same probe, run directly, does dump one when the system dumps cores).
#[test]
fn sigsegv_under_init_is_mirrored_without_a_core_dump() {
    let mut c = Cleanup::default();
    let cwd = c.dir("cores");
    let unlimited_cores_in = |cmd: &mut Command, dir: &Path| {
        cmd.current_dir(dir);
        // SAFETY: setrlimit between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                let lim = libc::rlimit {
                    rlim_cur: libc::RLIM_INFINITY,
                    rlim_max: libc::RLIM_INFINITY,
                };
                if libc::setrlimit(libc::RLIMIT_CORE, &lim) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
    };
    let spec = ending(&mut c, true, &["signal", "11"])
        .spec
        .encode()
        .unwrap();
    let (records, status) = RawHelper::spawn(&spec, |cmd| unlimited_cores_in(cmd, &cwd)).finish();
    assert_supervised_records(&records, libc::SIGSEGV);
    assert_eq!(status.signal(), Some(libc::SIGSEGV), "{status:?}");
    assert!(!status.core_dumped(), "{status:?}");
    assert_eq!(fs::read_dir(&cwd).unwrap().count(), 0, "a core file");

    // The control: this system does dump the probe's core in these conditions.
    let control = c.dir("control");
    let mut cmd = Command::new(probe());
    cmd.args(["signal", "11"]).stderr(Stdio::null());
    unlimited_cores_in(&mut cmd, &control);
    let direct = cmd.status().unwrap();
    assert_eq!(direct.signal(), Some(libc::SIGSEGV));
    if !direct.core_dumped() {
        eprintln!("note: this system dumps no core for a direct SIGSEGV either (core_pattern)");
    }
}

/// The least CPU time a busy loop stopped by a 1 s CPU limit is reported to have used. The
/// kernel checks the limit against tick-sampled time, while rusage is precise: on a busy
/// machine a loop can be charged for more ticks than it ran (0.85 s seen with another test
/// suite running), so this is a plausibility bound; the exact check is
/// `exit_record_has_the_targets_own_cpu_time`.
const CPU_LIMIT_FLOOR: Duration = Duration::from_millis(500);

/// SIGXCPU under init: a busy loop with a 1 s CPU limit. The runtime sees the target's own
/// end (SIGXCPU, from the exit record) and its CPU time: about the limit, at most the wall
/// time it ran (one thread); and a plausible peak RSS.
#[test]
fn sigxcpu_under_init_is_mirrored_with_its_cpu_time() {
    let mut c = Cleanup::default();
    let r = sh(ending(&mut c, true, &[]), "while :; do :; done").rlimit(Resource::Cpu, 1, 2);
    let started = Instant::now();
    let out = run(r).unwrap();
    let wall = started.elapsed();
    assert_eq!(out.status.signal(), Some(libc::SIGXCPU), "{}", out.status);
    let usage = out.status.rusage;
    let cpu = usage.user_time + usage.system_time;
    assert!(cpu >= CPU_LIMIT_FLOOR, "{usage:?}");
    assert!(cpu <= wall, "{usage:?} in {wall:?}");
    assert!(usage.user_time > usage.system_time, "{usage:?}");
    assert!((100..100_000).contains(&usage.max_rss_kib), "{usage:?}");
}

/// Supervise: the kernel's SIGKILL at a 1 s hard CPU limit ends even pid 1. The exit record
/// (read raw here) carries the busy loop's CPU time, and the helper dies of SIGKILL.
#[test]
fn cpu_limit_sigkill_of_a_supervised_busy_loop() {
    let mut c = Cleanup::default();
    let r = sh(ending(&mut c, false, &[]), "while :; do :; done").rlimit(Resource::Cpu, 1, 1);
    let started = Instant::now();
    let (records, status) = raw_run(&r);
    let wall = started.elapsed();
    let (utime, stime, rss) = assert_supervised_records(&records, libc::SIGKILL);
    let cpu = Duration::from_micros(utime + stime);
    assert!(cpu >= CPU_LIMIT_FLOOR, "{records:?}");
    assert!(cpu <= wall, "{records:?} in {wall:?}");
    assert!(utime > stime, "{records:?}");
    assert!((100..100_000).contains(&rss), "{records:?}");
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
}

/// `0m1.230000s` (the shell's `times`) as a Duration.
fn shell_time(t: &str) -> Duration {
    let (m, s) = t.trim_end_matches('s').split_once('m').unwrap();
    Duration::from_secs(m.parse::<u64>().unwrap() * 60)
        + Duration::from_secs_f64(s.parse().unwrap())
}

/// The CPU time `wait` reports (from the exit record) is the target's own: a shell busy for
/// a fixed amount of work prints its CPU time (`times`, 10 ms steps) right before it exits,
/// and the record's user + system time is that, plus at most the few instructions of its
/// exit. (The helper's own time would be a few milliseconds.) Supervise and init.
#[test]
fn exit_record_has_the_targets_own_cpu_time() {
    let mut c = Cleanup::default();
    for init in [false, true] {
        let script = "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; times";
        let out = run(sh(ending(&mut c, init, &[]), script)).unwrap();
        assert!(out.status.success(), "{} {}", out.status, out.stderr);
        let first = out.stdout.lines().next().unwrap();
        let (user, system) = first.split_once(' ').unwrap();
        let said = shell_time(user) + shell_time(system);
        let usage = out.status.rusage;
        let recorded = usage.user_time + usage.system_time;
        assert!(said >= Duration::from_millis(50), "init {init}: {first}");
        assert!(
            recorded >= said && recorded <= said + Duration::from_millis(40),
            "init {init}: the shell said {first}, the record {usage:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Id maps written from outside
// ---------------------------------------------------------------------------------------------

/// As root, the helper writes multi-range maps onto the clone from outside (a process cannot
/// write such maps for itself): `/proc/<pid>/uid_map` and `gid_map` read back exactly, and the
/// target, uid/gid 0 inside, is 100000 on the host.
#[test]
fn multi_range_maps_read_back_exactly_as_root() {
    if !is_root() {
        eprintln!("skipped: only root may write multi-range maps (the unprivileged half is below)");
        return;
    }
    let uid_map = [
        IdMap::new(0, 100_000, 65_536),
        IdMap::new(70_000, 200_000, 10),
    ];
    let gid_map = [
        IdMap::new(0, 100_000, 65_536),
        IdMap::new(65_536, 300_000, 5),
    ];
    // Run by fd: uid 100000 may not be able to reach the probe's directory (a checkout
    // under a private directory), but an fd opened here executes all the same.
    let exe = File::open(probe()).unwrap();
    let r = Runner::new(["forkexec-probe", "sleep", "5"])
        .exec_file(exe.as_raw_fd())
        .clone_flags([Namespace::NewUser])
        .uid_mappings(uid_map)
        .gid_mappings(gid_map)
        .credential(Credential::new(0, 0));
    let run = Running::start(r).unwrap();
    drop(exe);
    let target = run.p.target_pid();
    assert_ne!(
        target,
        run.p.pid(),
        "maps from outside need the clone shape"
    );
    let read = |f: &str| fs::read_to_string(format!("/proc/{target}/{f}")).unwrap();
    assert_eq!(
        read("uid_map"),
        map_line(0, 100_000, 65_536) + &map_line(70_000, 200_000, 10)
    );
    assert_eq!(
        read("gid_map"),
        map_line(0, 100_000, 65_536) + &map_line(65_536, 300_000, 5)
    );
    assert_eq!(read("setgroups"), "deny\n");
    assert_eq!(
        status_field(target, "Uid"),
        "100000\t100000\t100000\t100000"
    );
    assert_eq!(
        status_field(target, "Gid"),
        "100000\t100000\t100000\t100000"
    );
    // Not pid 1 here: SIGTERM, forwarded by the helper, ends it.
    run.p.kill(libc::SIGTERM).unwrap();
    let (status, _, err) = run.finish();
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status} {err}");
}

/// An ordinary user may only write a one-id map of its own ids, even from outside: a
/// multi-range uid map fails at `write_uid_map` (37), EPERM, and a multi-range gid map (with a
/// valid uid map) at `write_gid_map` (38); the target never runs.
#[test]
fn multi_range_maps_are_refused_unprivileged() {
    if is_root() {
        eprintln!("skipped: root may write any map (the root half is above)");
        return;
    }
    let mut c = Cleanup::default();
    let multi = |own: u32| [IdMap::new(0, own, 1), IdMap::new(1, 100_000, 10)];
    let (r, marker) = marker_target(&mut c);
    let r = r
        .clone_flags([Namespace::NewUser])
        .uid_mappings(multi(euid()))
        .gid_mappings([IdMap::new(0, egid(), 1)]);
    assert_child_error(r.start(), "write_uid_map", libc::EPERM, 0);
    assert_never_ran(&marker);
    let (r, marker) = marker_target(&mut c);
    let r = r
        .clone_flags([Namespace::NewUser])
        .uid_mappings([IdMap::new(0, euid(), 1)])
        .gid_mappings(multi(egid()));
    assert_child_error(r.start(), "write_gid_map", libc::EPERM, 0);
    assert_never_ran(&marker);
    assert_no_children();
}

/// Overlapping ranges are refused by the kernel for everyone: `write_uid_map`, EINVAL; in the
/// detach shape too, where the clone is the runtime's own child and must not be left behind as
/// a zombie.
#[test]
fn overlapping_map_fails_at_write_uid_map() {
    let mut c = Cleanup::default();
    for detach in [false, true] {
        let (r, marker) = marker_target(&mut c);
        let r = r
            .clone_flags([Namespace::NewUser])
            .uid_mappings([IdMap::new(0, 100_000, 10), IdMap::new(5, 200_000, 10)])
            .detach(detach);
        assert_child_error(r.start(), "write_uid_map", libc::EINVAL, 0);
        assert_never_ran(&marker);
        assert_no_children();
    }
}

// ---------------------------------------------------------------------------------------------
// Detach: the runtime's own child
// ---------------------------------------------------------------------------------------------

/// A detached target whose setup fails (execve ENOENT here) reports its error record itself;
/// `start` fails with it, exits 127, and reaps it: it was our child, so nothing else would.
#[test]
fn detached_setup_failure_is_reported_and_reaped() {
    let mut c = Cleanup::default();
    let r = pid_root(&mut c, &[])
        .detach(true)
        .exec_path("/no/such/file");
    assert_child_error(r.start(), "execve", libc::ENOENT, 0);
    assert_no_children();
}

/// The sync callback gets the target's pid as the runtime sees it (the pid record's), not its
/// pid inside the new namespace (1), in the supervise and detach shapes; with detach that is
/// also `pid()`, the process to wait for.
#[test]
fn sync_callback_gets_the_host_pid_in_a_new_pid_namespace() {
    use std::sync::{Arc, Mutex};
    let mut c = Cleanup::default();
    for detach in [false, true] {
        let seen = Arc::new(Mutex::new(None));
        let seen_in = seen.clone();
        let r = pid_root(&mut c, &["sleep", "60"])
            .detach(detach)
            .sync_func(move |pid| {
                let nspid = status_field(pid, "NSpid");
                *seen_in.lock().unwrap() = Some((pid, nspid));
                Ok::<(), std::io::Error>(())
            });
        let run = Running::start(r).unwrap();
        let target = run.p.target_pid();
        assert_eq!(
            seen.lock().unwrap().clone(),
            Some((target, format!("{target}\t1"))),
            "detach {detach}"
        );
        if detach {
            assert_eq!(run.p.pid(), target);
        }
        drop(run);
    }
    assert_no_children();
}

/// Once the target has executed, only the helper holds the runtime's status channel: not the
/// target (close-on-exec) and not init. Otherwise a runtime reading it to the end (the client's
/// `wait`, for the exit record) would wait for the whole namespace if the helper died first.
#[test]
fn only_the_helper_keeps_the_status_channel() {
    let mut c = Cleanup::default();
    for init in [false, true] {
        let spec = ending(&mut c, init, &["sleep", "60"])
            .spec
            .encode()
            .unwrap();
        let mut h = RawHelper::spawn(&spec, |_| {});
        let Some(Record::Pid { pid }) = h.next() else {
            panic!("no pid record")
        };
        assert_eq!(h.next(), Some(Record::Exec { pid }));
        // The fds of `pid` that are the helper's end; None when they cannot be listed: the
        // helper and init are non-dumpable, which hides their fds from an unprivileged test.
        let holders = |pid: u32| -> Option<Vec<String>> {
            let dir = match fs::read_dir(format!("/proc/{pid}/fd")) {
                Ok(dir) => dir,
                Err(e) => {
                    assert!(!is_root(), "{e}");
                    assert_eq!(e.raw_os_error(), Some(libc::EACCES), "{e}");
                    return None;
                }
            };
            let fds = dir
                .flatten()
                .filter(|e| fs::read_link(e.path()).is_ok_and(|l| path_str(&l) == h.their_end))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            Some(fds)
        };
        let (helper, first) = (holders(h.child.id()), holders(pid));
        if is_root() {
            assert_eq!(helper.map(|fds| fds.len()), Some(1), "the helper");
        } else {
            assert_eq!(helper, None, "the helper is dumpable");
        }
        if init {
            if is_root() {
                assert_eq!(first, Some(vec![]), "init");
            } else {
                assert_eq!(first, None, "init is dumpable");
            }
            let children = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap();
            let target: u32 = children.trim().parse().unwrap();
            assert_eq!(holders(target), Some(vec![]), "the target");
        } else {
            assert_eq!(first, Some(vec![]), "the target");
        }
        // SAFETY: kill() on the helper's unreaped child.
        assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
        let (records, status) = h.finish();
        assert!(
            matches!(records[..], [Record::Exit { status: 9, .. }]),
            "{records:?}"
        );
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    }
}

/// `Process::kill(SIGKILL)` of a supervised sandbox kills the target (SIGKILL cannot be
/// forwarded; killing only the helper would leave the target running, orphaned): `wait`
/// returns SIGKILL and nothing is left, in the supervise and init shapes.
#[test]
fn process_kill_sigkill_ends_the_supervised_target() {
    let mut c = Cleanup::default();
    for init in [false, true] {
        let mut run = Running::start(ending(&mut c, init, &["sleep", "60"])).unwrap();
        let target = run.p.target_pid();
        let ns = sandbox_pid_ns(target);
        run.p.kill(libc::SIGKILL).unwrap();
        let status = run.p.wait().unwrap();
        run.done = Some(status);
        assert_eq!(status.signal(), Some(libc::SIGKILL), "init {init}");
        assert!(!alive(target));
        assert_eq!(pid_ns_members(&ns), Vec::<u32>::new());
    }
    assert_no_children();
}

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

/// Raw: a detached target is the runtime's child and reports on the status fd itself; the
/// helper exits 0 after the pid record. A setup failure ends the target with the code it
/// would have in place (127 for execve ENOENT), not with a SIGPIPE from telling the helper,
/// which is gone (pid 1 of a new pid namespace would ignore that SIGPIPE: also without one).
#[test]
fn detached_target_reports_and_exits_like_in_place() {
    let mut c = Cleanup::default();
    for new_pid in [true, false] {
        let base = |c: &mut Cleanup, args: &[&str]| {
            let r = if new_pid {
                pid_root(c, args)
            } else {
                in_root(c, args)
            };
            r.detach(true)
        };
        let spec = base(&mut c, &[])
            .exec_path("/no/such/file")
            .spec
            .encode()
            .unwrap();
        let (records, status) = RawHelper::spawn(&spec, |_| {}).finish();
        let [Record::Pid { pid }, Record::Error {
            location,
            errno,
            index: 0,
            detail: 0,
        }] = records[..]
        else {
            panic!("{records:?}")
        };
        assert_eq!((location, errno), (Location::Execve as u32, libc::ENOENT));
        assert_eq!(status.code(), Some(0), "the helper");
        assert_eq!(wait_pid(pid).code(), Some(127), "new pid ns {new_pid}");
        assert_no_children();

        // And a target that runs: its own exit code, to its parent, this process.
        let spec = base(&mut c, &["exit", "9"]).spec.encode().unwrap();
        let (records, status) = RawHelper::spawn(&spec, |_| {}).finish();
        let [Record::Pid { pid }] = records[..] else {
            panic!("{records:?}")
        };
        assert_eq!(status.code(), Some(0), "the helper");
        assert_eq!(wait_pid(pid).code(), Some(9), "new pid ns {new_pid}");
        assert_no_children();
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

fn event_msg(pid: u32) -> u64 {
    let mut msg: libc::c_ulong = 0;
    // SAFETY: PTRACE_GETEVENTMSG writes one unsigned long we own.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_GETEVENTMSG,
            pid as libc::pid_t,
            std::ptr::null_mut::<libc::c_void>(),
            &mut msg as *mut libc::c_ulong,
        )
    };
    assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
    msg as u64
}

/// A stop's raw status: the signal and the ptrace event (status >> 16).
#[track_caller]
fn stop_of(status: WaitStatus) -> (i32, i32) {
    let raw = status.status.into_raw();
    assert!(libc::WIFSTOPPED(raw), "not a stop: {status}");
    (libc::WSTOPSIG(raw), raw >> 16)
}

/// With ptrace, the runtime sees the exec stop (SIGTRAP after a successful execve) of a target
/// that is pid 1 of a new pid namespace, then lets it run to its exit code.
#[test]
fn detached_tracer_sees_the_exec_stop() {
    let mut c = Cleanup::default();
    let r = pid_root(&mut c, &["exit", "5"]).detach(true).ptrace(true);
    let mut run = Running::start(r).unwrap();
    let pid = run.p.pid();
    assert!(!run.p.start_pending());
    assert_eq!(stop_of(run.p.wait().unwrap()), (libc::SIGTRAP, 0));
    assert_eq!(
        fs::read_link(format!("/proc/{pid}/exe")).unwrap(),
        Path::new(PROBE_IN_ROOT),
        "stopped after the exec"
    );
    assert_eq!(status_field(pid, "NSpid"), format!("{pid}\t1"));
    // The tracer is the thread that started it (the runtime's thread that spawned the helper).
    // SAFETY: gettid cannot fail.
    let tid = unsafe { libc::gettid() };
    assert_eq!(status_field(pid, "TracerPid"), tid.to_string());
    ptrace(libc::PTRACE_CONT, pid, 0);
    let (status, _, err) = run.finish();
    assert_eq!(status.code(), Some(5), "{status} {err}");
    assert_no_children();
}

/// With ptrace and a SECCOMP_RET_TRACE filter, the target stops before seccomp (SIGSTOP) for
/// the tracer to set its options, then the tracer sees the exec event and the seccomp stop
/// with the filter's data, and the traced syscall (getppid: 0, its parent is outside the
/// namespace) runs once the tracer lets it.
#[test]
fn detached_tracer_sees_the_seccomp_stop() {
    if !cfg!(target_arch = "x86_64") {
        eprintln!("skipped: the filter is written for x86_64");
        return;
    }
    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const RET_K: u16 = 0x06;
    const SECCOMP_RET_TRACE: u32 = 0x7ff0_0000;
    const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
    const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
    let filter = [
        SockFilter::stmt(LD_W_ABS, 4), // arch
        SockFilter::jump(JEQ_K, AUDIT_ARCH_X86_64, 0, 3),
        SockFilter::stmt(LD_W_ABS, 0), // nr
        SockFilter::jump(JEQ_K, libc::SYS_getppid as u32, 0, 1),
        SockFilter::stmt(RET_K, SECCOMP_RET_TRACE | 0x42),
        SockFilter::stmt(RET_K, SECCOMP_RET_ALLOW),
    ];
    let mut c = Cleanup::default();
    let r = pid_root(&mut c, &["syscall", "getppid"])
        .detach(true)
        .ptrace(true)
        .seccomp(filter);
    let mut run = Running::start(r).unwrap();
    let pid = run.p.pid();
    assert!(run.p.start_pending());
    assert_eq!(stop_of(run.p.wait().unwrap()), (libc::SIGSTOP, 0));
    let options = libc::PTRACE_O_TRACESECCOMP | libc::PTRACE_O_TRACEEXEC | libc::PTRACE_O_EXITKILL;
    ptrace(libc::PTRACE_SETOPTIONS, pid, options as usize);
    ptrace(libc::PTRACE_CONT, pid, 0);
    run.p.finish_start().unwrap();
    assert_eq!(
        stop_of(run.p.wait().unwrap()),
        (libc::SIGTRAP, libc::PTRACE_EVENT_EXEC)
    );
    ptrace(libc::PTRACE_CONT, pid, 0);
    assert_eq!(
        stop_of(run.p.wait().unwrap()),
        (libc::SIGTRAP, libc::PTRACE_EVENT_SECCOMP)
    );
    assert_eq!(event_msg(pid), 0x42);
    ptrace(libc::PTRACE_CONT, pid, 0);
    let (status, out, err) = run.finish();
    assert!(status.success(), "{status} {err}");
    assert_eq!(json_of(&out), json!({"ret": 0}));
    assert_no_children();
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

const REAPER_ENV: &str = "FORKEXEC_TEST_REAPER_SCRIPT";

/// Not a test: the body of the reaper process the die-with-parent tests start (a no-op unless
/// re-executed with `REAPER_ENV`). It makes itself a child subreaper, runs the script with
/// /bin/sh, reaps every process that ends up its child until none is left, and exits.
#[test]
fn reaper_process() {
    let Some(script) = std::env::var_os(REAPER_ENV) else {
        return;
    };
    // SAFETY: prctl with integer arguments.
    assert_eq!(
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) },
        0
    );
    let shell = Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    drop(shell); // reaped below, with everything else
    loop {
        // SAFETY: waitpid with a null status pointer.
        let r = unsafe { libc::waitpid(-1, std::ptr::null_mut(), 0) };
        if r < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            break; // ECHILD: nothing left
        }
    }
    std::process::exit(0);
}

/// A reaper process running a runtime script, and the pids the test learns; on drop, every
/// one of them still running is killed and the reaper waited for.
struct Reaper {
    child: Child,
    pids: Vec<u32>,
}

impl Reaper {
    /// Starts the reaper; `keep` is an fd of this process it (and so the script) inherits.
    fn start(script: &str, keep: Option<RawFd>) -> Reaper {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--exact",
            "reaper_process",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(REAPER_ENV, script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        if let Some(fd) = keep {
            // SAFETY: only fcntl between fork and exec.
            unsafe {
                cmd.pre_exec(move || clear_cloexec(fd));
            }
        }
        Reaper {
            child: cmd.spawn().unwrap(),
            pids: Vec::new(),
        }
    }

    /// Waits (up to 5 s) for the reaper to have reaped everything and exited.
    fn finished(&mut self) -> bool {
        eventually(5.0, || matches!(self.child.try_wait(), Ok(Some(_))))
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        for &pid in &self.pids {
            if alive(pid) {
                // SAFETY: kill() with a pid and a signal number.
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
        }
        if !self.finished() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits (up to 5 s) for a file the script or the target writes; returns its content once it
/// is a complete line.
fn await_line(path: &Path) -> String {
    let mut line = String::new();
    let ok = eventually(5.0, || {
        line = fs::read_to_string(path).unwrap_or_default();
        line.ends_with('\n')
    });
    assert!(ok, "{} never written", path.display());
    line.trim().to_string()
}

/// Every record in a status file.
fn records_in(path: &Path) -> Vec<Record> {
    read_records(&mut File::open(path).unwrap())
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Shape {
    InPlace,
    Supervise,
    Detach,
    Init,
}

/// The script of a runtime that starts the helper with the spec in `dir/spec` and its records
/// going to `dir/status`, writes its own pid and the helper's, and stays (as `sleep`).
fn runtime_script(dir: &Path, spec_fd: &str) -> String {
    let d = path_str(dir);
    format!(
        "echo $$ > {d}/runtime\n\
         {helper} --spec-fd {spec_fd} 4>{d}/status &\n\
         echo $! > {d}/helper\n\
         exec /bin/sleep 60\n",
        helper = path_str(&helper()),
    )
}

/// Runs a sandbox of `shape` (its target: a shell that says it is ready, then sleeps) under a
/// runtime and kills the runtime with SIGKILL. Returns the sandbox's processes that ran, and
/// those still running afterwards: 3 s later at most with die-with-parent (as soon as all are
/// gone), 200 ms later without (then they are killed here).
fn kill_the_runtime(shape: Shape, die_with_parent: bool) -> (Vec<u32>, Vec<u32>) {
    let mut c = Cleanup::default();
    let dir = c.dir("runtime");
    let out = dir.join("out");
    fs::create_dir(&out).unwrap();
    let base = match shape {
        Shape::InPlace => in_root(&mut c, &[]),
        Shape::Supervise => pid_root(&mut c, &[]),
        Shape::Detach => pid_root(&mut c, &[]).detach(true),
        Shape::Init => init_root(&mut c, &[]),
    };
    let mut r = sh(
        base.mount(Mount::bind(path_str(&out), "/out", false)),
        "echo ready > /out/ready; exec /probe sleep 60",
    )
    .die_with_parent(die_with_parent);
    r.spec.files = vec![0, 1, 2];
    r.spec.status_fd = Some(4);
    fs::write(dir.join("spec"), r.spec.encode().unwrap()).unwrap();

    let script = format!(
        "exec 3<{}/spec\n{}",
        path_str(&dir),
        runtime_script(&dir, "3")
    );
    let mut reaper = Reaper::start(&script, None);
    let runtime: u32 = await_line(&dir.join("runtime")).parse().unwrap();
    reaper.pids.push(runtime);
    let helper: u32 = await_line(&dir.join("helper")).parse().unwrap();
    reaper.pids.push(helper);
    assert_eq!(await_line(&out.join("ready")), "ready");

    // The sandbox's processes, all running now.
    let mut sandbox = vec![helper];
    if shape != Shape::InPlace {
        let records = records_in(&dir.join("status"));
        let Some(Record::Pid { pid }) = records.first() else {
            panic!("{shape:?}: {records:?}")
        };
        let members = pid_ns_members(&sandbox_pid_ns(*pid));
        let expected = if shape == Shape::Init { 2 } else { 1 };
        assert_eq!(members.len(), expected, "{shape:?}: {members:?}");
        assert!(members.contains(pid));
        sandbox.extend(members);
    }
    reaper.pids.extend(&sandbox);
    let running: Vec<u32> = sandbox.iter().copied().filter(|&p| alive(p)).collect();
    let mut expected_running = sandbox.clone();
    if shape == Shape::Detach {
        expected_running.retain(|&p| p != helper); // it exited after the pid record
    }
    assert_eq!(running, expected_running, "{shape:?}");

    // SAFETY: kill() of the runtime (not yet reaped: the reaper's child).
    assert_eq!(unsafe { libc::kill(runtime as i32, libc::SIGKILL) }, 0);
    assert!(
        eventually(3.0, || stat_of(runtime).is_none()),
        "runtime reaped"
    );
    let left =
        |running: &[u32]| -> Vec<u32> { running.iter().copied().filter(|&p| alive(p)).collect() };
    let still = if die_with_parent {
        eventually(3.0, || left(&running).is_empty());
        left(&running)
    } else {
        // The parent-death signal is sent as the runtime exits, so before it is reaped.
        std::thread::sleep(Duration::from_millis(200));
        let still = left(&running);
        for &p in &running {
            // SAFETY: kill() of a process of ours that runs (the reaper has not reaped it).
            unsafe { libc::kill(p as i32, libc::SIGKILL) };
        }
        still
    };
    assert!(reaper.finished(), "the reaper is left with a process");
    assert!(sandbox.iter().all(|&p| stat_of(p).is_none()), "reaped");
    (running, still)
}

/// With die-with-parent, SIGKILL of the runtime takes down the whole sandbox within moments,
/// in every shape: the helper (the target itself in place), the supervised target, the
/// detached target (the runtime's own child), init and pid 2.
#[test]
fn killing_the_runtime_takes_the_sandbox_down() {
    for shape in [Shape::InPlace, Shape::Supervise, Shape::Detach, Shape::Init] {
        let (ran, still) = kill_the_runtime(shape, true);
        assert_eq!(
            still,
            Vec::<u32>::new(),
            "{shape:?}: left running of {ran:?}"
        );
    }
}

/// The control: without die-with-parent the same sandboxes outlive the runtime (every one of
/// their processes still runs 200 ms after the runtime was reaped).
#[test]
fn without_die_with_parent_the_sandbox_outlives_the_runtime() {
    for shape in [Shape::InPlace, Shape::Supervise, Shape::Init] {
        let (ran, still) = kill_the_runtime(shape, false);
        assert_eq!(still, ran, "{shape:?}");
    }
}

/// `pdeathsig` (44), ESRCH, index 0: the runtime died after starting the helper but before the
/// helper armed the parent-death signal. The window is made wide on purpose: the spec comes
/// through a pipe this test writes only once the runtime is dead and the helper (blocked
/// reading it, having noted its parent at start) has been reparented. The helper reports and
/// runs nothing. The control: the same with the runtime alive runs the target.
#[test]
fn pdeathsig_esrch_when_the_runtime_died_before_the_helper_armed() {
    let read_syscall = format!("{} ", libc::SYS_read);
    for runtime_dies in [true, false] {
        let mut c = Cleanup::default();
        let dir = c.dir("esrch");
        let (r, marker) = marker_target(&mut c);
        let mut r = r.die_with_parent(true);
        r.spec.status_fd = Some(4);
        let spec = r.spec.encode().unwrap();

        let (spec_r, mut spec_w) = pipe();
        // Far above 4, the script's status fd.
        // SAFETY: F_DUPFD_CLOEXEC returns a fresh fd we own.
        let spec_r = owned(unsafe { libc::fcntl(spec_r.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 20) });
        let fd = spec_r.as_raw_fd();
        let mut reaper = Reaper::start(&runtime_script(&dir, &fd.to_string()), Some(fd));
        drop(spec_r);
        let runtime: u32 = await_line(&dir.join("runtime")).parse().unwrap();
        let helper: u32 = await_line(&dir.join("helper")).parse().unwrap();
        reaper.pids.extend([runtime, helper]);
        // The helper has started (noted its parent) and blocks reading the spec.
        // An unprivileged test cannot read the syscall of the (non-dumpable) helper: after
        // its exec, the only call it can sleep in before the spec arrives is that read.
        let blocked = eventually(5.0, || {
            match fs::read_to_string(format!("/proc/{helper}/syscall")) {
                Ok(s) => s.starts_with(&format!("{read_syscall}{fd:#x} ")),
                Err(_) => !is_root() && is_helper_sleeping(helper),
            }
        });
        assert!(blocked, "the helper never blocked reading fd {fd}");
        if runtime_dies {
            // SAFETY: kill() of the runtime (the reaper's unreaped child).
            assert_eq!(unsafe { libc::kill(runtime as i32, libc::SIGKILL) }, 0);
            assert!(eventually(3.0, || stat_of(helper).is_some_and(|(_, pp)| pp != runtime)));
        }
        spec_w.write_all(&spec).unwrap();
        drop(spec_w);
        assert!(eventually(5.0, || !alive(helper)), "the helper ended");
        let records = records_in(&dir.join("status"));
        if runtime_dies {
            let esrch = Record::Error {
                location: Location::Pdeathsig as u32,
                errno: libc::ESRCH,
                index: 0,
                detail: 0,
            };
            assert_eq!(records, [esrch]);
            assert_never_ran(&marker);
        } else {
            assert_eq!(records, []);
            assert_eq!(fs::read_to_string(&marker).unwrap(), "ran");
            // SAFETY: kill() of the runtime (the reaper's unreaped child).
            assert_eq!(unsafe { libc::kill(runtime as i32, libc::SIGKILL) }, 0);
        }
        assert!(reaper.finished());
    }
}

// ---------------------------------------------------------------------------------------------
// Cgroups: the target placed in a cgroup (v2) directory, by path or by fd
// ---------------------------------------------------------------------------------------------

/// This machine's cgroup v2 hierarchy (a hybrid layout).
const CGROUP2: &str = "/sys/fs/cgroup/unified";

/// A fresh child cgroup of [`CGROUP2`], removed (rmdir) on drop once its processes are gone.
struct Cgroup(PathBuf);

impl Cgroup {
    /// None (with a note) unless root on a machine with the v2 hierarchy at [`CGROUP2`].
    fn new(tag: &str) -> Option<Cgroup> {
        if !is_root() {
            eprintln!("skipped: creating cgroups needs root");
            return None;
        }
        let fstype = fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .any(|l| l.contains(&format!(" {CGROUP2} ")) && l.contains(" - cgroup2 "));
        if !fstype {
            eprintln!("skipped: no cgroup v2 hierarchy at {CGROUP2}");
            return None;
        }
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("forkexec-test-{}-{n}-{tag}", std::process::id());
        let dir = Path::new(CGROUP2).join(name);
        fs::create_dir(&dir).unwrap();
        Some(Cgroup(dir))
    }

    fn path(&self) -> String {
        path_str(&self.0)
    }

    /// The line a member's /proc/PID/cgroup has for the v2 hierarchy.
    fn line(&self) -> String {
        format!("0::/{}", self.0.file_name().unwrap().to_string_lossy())
    }

    fn procs(&self) -> Vec<u32> {
        let mut v: Vec<u32> = fs::read_to_string(self.0.join("cgroup.procs"))
            .unwrap()
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect();
        v.sort_unstable();
        v
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        // A process that has just been reaped may take a moment to leave.
        let gone = eventually(2.0, || fs::remove_dir(&self.0).is_ok());
        if !gone && !std::thread::panicking() {
            panic!("cannot remove {}", self.0.display());
        }
    }
}

/// The host pids of what runs in the sandbox `run` started: the target and, with init, init.
fn sandbox_pids(run: &Running, shape: Shape) -> Vec<u32> {
    let t = run.p.target_pid();
    let mut v = match shape {
        Shape::InPlace | Shape::Detach => vec![run.p.pid()],
        Shape::Supervise => vec![t],
        Shape::Init => {
            let children = fs::read_to_string(format!("/proc/{t}/task/{t}/children")).unwrap();
            vec![t, children.trim().parse().unwrap()]
        }
    };
    v.sort_unstable();
    v
}

/// `probe sleep 60` in `shape` (in place: no namespaces at all).
fn sleeper(shape: Shape) -> Runner {
    shaped(probe_runner(&["sleep", "60"]), shape)
}

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

/// By path, in every shape, the target (and init) is in the cgroup, and nothing else: a clone
/// enters it with CLONE_INTO_CGROUP (the supervising helper stays where the runtime is), exec
/// in place by writing `cgroup.procs`.
#[test]
fn target_lands_in_the_cgroup_by_path() {
    for shape in [Shape::InPlace, Shape::Supervise, Shape::Detach, Shape::Init] {
        let Some(cg) = Cgroup::new("path") else {
            return;
        };
        let run = Running::start(sleeper(shape).cgroup(cg.path())).unwrap();
        let pids = sandbox_pids(&run, shape);
        assert_eq!(cg.procs(), pids, "{shape:?}");
        for pid in &pids {
            let own = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
            assert!(own.lines().any(|l| l == cg.line()), "{shape:?}: {own}");
        }
        if run.p.pid() != pids[0] {
            let helper = fs::read_to_string(format!("/proc/{}/cgroup", run.p.pid())).unwrap();
            assert!(
                helper.lines().any(|l| l == "0::/"),
                "{shape:?}: helper in {helper}"
            );
        }
        run.p.kill(libc::SIGKILL).unwrap();
        let (status, _, err) = run.finish();
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{shape:?} {err}");
        assert_eq!(cg.procs(), Vec::<u32>::new());
    }
    assert_no_children();
}

/// By fd (an fd of the runtime open on the directory): the same, in place and in a clone.
#[test]
fn target_lands_in_the_cgroup_by_fd() {
    for shape in [Shape::InPlace, Shape::Supervise] {
        let Some(cg) = Cgroup::new("fd") else {
            return;
        };
        let dir = File::open(&cg.0).unwrap();
        let run = Running::start(sleeper(shape).cgroup_fd(dir.as_raw_fd())).unwrap();
        assert_eq!(cg.procs(), sandbox_pids(&run, shape), "{shape:?}");
        run.p.kill(libc::SIGKILL).unwrap();
        run.finish();
    }
    assert_no_children();
}

/// The target is in the cgroup from the start: what the probe reports from inside.
#[test]
fn target_sees_itself_in_the_cgroup() {
    for shape in [Shape::InPlace, Shape::Supervise] {
        let Some(cg) = Cgroup::new("inside") else {
            return;
        };
        let mut r = sleeper(shape).cgroup(cg.path());
        r.spec.args[1] = "report".into();
        let report = probe_json(r);
        let own = report["cgroup"].as_str().unwrap();
        assert!(own.lines().any(|l| l == cg.line()), "{shape:?}: {own}");
    }
}

/// `cgroup` (43), index 0: the directory cannot be opened (it does not exist), in place and
/// before a clone. Nothing runs.
#[test]
fn missing_cgroup_fails_at_cgroup_0() {
    let mut c = Cleanup::default();
    for shape in [Shape::InPlace, Shape::Supervise, Shape::Init] {
        let (r, marker) = marker_target(&mut c);
        let missing = format!("{CGROUP2}/forkexec-test-no-such-cgroup");
        let r = shaped(r, shape).cgroup(missing);
        assert_child_error(r.start(), "cgroup", libc::ENOENT, 0);
        assert_never_ran(&marker);
    }
    assert_no_children();
}

/// A directory that is not a cgroup: in place, its `cgroup.procs` is missing (`cgroup` index
/// 1, ENOENT); a clone is refused by clone3 (`clone`, EBADF: not a cgroup fd). By path and by
/// fd.
#[test]
fn non_cgroup_directory_is_refused() {
    let mut c = Cleanup::default();
    let plain = c.dir("notcgroup");
    let dir = File::open(&plain).unwrap();
    for by_fd in [false, true] {
        let place = |r: Runner| {
            if by_fd {
                r.cgroup_fd(dir.as_raw_fd())
            } else {
                r.cgroup(path_str(&plain))
            }
        };
        let (r, marker) = marker_target(&mut c);
        assert_child_error(place(r).start(), "cgroup", libc::ENOENT, 1);
        assert_never_ran(&marker);
        for shape in [Shape::Supervise, Shape::Detach, Shape::Init] {
            let (r, marker) = marker_target(&mut c);
            assert_child_error(place(shaped(r, shape)).start(), "clone", libc::EBADF, 0);
            assert_never_ran(&marker);
        }
    }
    assert_no_children();
}

/// An ordinary user may not move itself into a cgroup whose `cgroup.procs` is root's: in place
/// `cgroup` index 1, EACCES (opening it for writing); a clone: `clone`, EACCES (clone3's own
/// check of the same permission).
#[test]
fn cgroup_without_write_access_is_refused_unprivileged() {
    if is_root() {
        eprintln!("skipped: root may write every cgroup.procs");
        return;
    }
    let mut c = Cleanup::default();
    let (r, marker) = marker_target(&mut c);
    assert_child_error(r.cgroup(CGROUP2).start(), "cgroup", libc::EACCES, 1);
    assert_never_ran(&marker);
    for shape in [Shape::Supervise, Shape::Init] {
        let (r, marker) = marker_target(&mut c);
        let r = shaped(r, shape).cgroup(CGROUP2);
        assert_child_error(r.start(), "clone", libc::EACCES, 0);
        assert_never_ran(&marker);
    }
    assert_no_children();
}

// ---------------------------------------------------------------------------------------------
// Error locations of the clone shapes: `clone` (1), `unshare_user_read` (3), `supervise` (45)
// (`cgroup` (43) and `pdeathsig` (44) are above).
//
// Not provoked, because the kernel gives no way to: `supervise` index 0 (sigprocmask with a
// valid set cannot fail) and index 1 (signalfd needs one free fd, and the helper has just
// closed the clone's end of the handshake, and init its copy, so RLIMIT_NOFILE cannot stop it
// without stopping the socketpair first); `pdeathsig` index 1 (the clone arms right after
// clone3 while the helper waits for it, and re-arms after the credential step: the parent
// would have to die within those few instructions, and a parent dying earlier already killed
// it through the first arming); `prctl(PR_SET_PDEATHSIG, SIGKILL)` itself never fails.
// ---------------------------------------------------------------------------------------------

/// A pre_exec step: `setrlimit(RLIMIT_NOFILE, n)`.
fn nofile_limit(cmd: &mut Command, n: u64) {
    // SAFETY: setrlimit between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: n,
                rlim_max: n,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

/// `supervise` (45), index 2: with no fd to spare (RLIMIT_NOFILE 3, fds 0-2 taken) the
/// handshake socketpair cannot be made: EMFILE, before any clone; in each clone shape.
#[test]
fn no_free_fd_fails_at_supervise_2() {
    let mut c = Cleanup::default();
    for shape in [Shape::Supervise, Shape::Detach, Shape::Init] {
        let (r, marker) = marker_target(&mut c);
        let spec = shaped(r, shape).spec.encode().unwrap();
        let (records, status) = RawHelper::spawn(&spec, |cmd| nofile_limit(cmd, 3)).finish();
        let expected = Record::Error {
            location: Location::Supervise as u32,
            errno: libc::EMFILE,
            index: 2,
            detail: 0,
        };
        assert_eq!(records, [expected], "{shape:?}");
        assert_eq!(status.code(), Some(125));
        assert_never_ran(&marker);
    }
    assert_no_children();
}

/// A read-only spec fd with no status fd means nobody reads records (docs/spec.md,
/// "No reader"): a clone shape runs without its pid and exec records and ends like its target;
/// a failed step is one stderr line naming what failed, and the target never runs.
#[test]
fn read_only_spec_fd_means_no_reader_in_clone_shapes() {
    for shape in [Shape::Supervise, Shape::Init] {
        let mut c = Cleanup::default();
        let (r, marker) = marker_target(&mut c);
        let file = c.dir("rospec").join("spec");
        fs::write(&file, shaped(r, shape).spec.encode().unwrap()).unwrap();
        let out = helper_on_file(&file);
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{shape:?}");
        assert_eq!(out.status.code(), Some(0), "{shape:?}");
        assert!(marker.exists(), "{shape:?}: the target ran");

        let (r, marker) = marker_target(&mut c);
        let r = shaped(r.exec_path("/nonexistent/program"), shape);
        fs::write(&file, r.spec.encode().unwrap()).unwrap();
        let out = helper_on_file(&file);
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "forkexec: execve(0) /nonexistent/program: no such file or directory\n",
            "{shape:?}"
        );
        assert_eq!(out.status.code(), Some(127), "{shape:?}");
        assert_never_ran(&marker);
    }
    assert_no_children();
}

/// The helper with `file` (opened read-only) as its spec fd, waited for.
fn helper_on_file(file: &Path) -> std::process::Output {
    let spec = File::open(file).unwrap();
    let fd = spec.as_raw_fd();
    let mut cmd = Command::new(helper());
    cmd.arg("--spec-fd").arg(fd.to_string());
    // SAFETY: only fcntl between fork and exec.
    unsafe {
        cmd.pre_exec(move || clear_cloexec(fd));
    }
    cmd.stdin(Stdio::null()).output().unwrap()
}

/// `clone` (1), index 0: an ordinary user cannot make a pid namespace outside a user namespace
/// of its own: clone3 fails with EPERM (the supervise shape, chosen for `newpid`).
#[test]
fn new_pid_namespace_without_a_user_namespace_fails_at_clone_unprivileged() {
    if is_root() {
        eprintln!("skipped: root may make a pid namespace (root's clone failures are below)");
        return;
    }
    let mut c = Cleanup::default();
    for init in [false, true] {
        let (r, marker) = marker_target(&mut c);
        let r = r.clone_flags([Namespace::NewPid]).init(init);
        assert_child_error(r.start(), "clone", libc::EPERM, 0);
        assert_never_ran(&marker);
    }
    assert_no_children();
}

/// The v1 pids controller of this machine, for a process limit (root only).
const PIDS_V1: &str = "/sys/fs/cgroup/pids";

/// `clone` (1), EAGAIN, by a process limit (the v1 pids controller, root only): with room for
/// the helper alone its clone fails (index 0); with room for the helper and init, init's clone
/// of pid 2 fails (index 1), after the pid record.
#[test]
fn process_limit_fails_at_clone_0_and_init_clone_1() {
    if !is_root() || !is_pids_v1() {
        eprintln!("skipped: needs root and the v1 pids controller at {PIDS_V1}");
        return;
    }
    let mut c = Cleanup::default();
    for (max, index) in [(1, 0), (2, 1)] {
        let group = Path::new(PIDS_V1).join(format!("forkexec-test-{}-{max}", std::process::id()));
        fs::create_dir(&group).unwrap();
        let _rmdir = RmdirOnDrop(group.clone());
        fs::write(group.join("pids.max"), max.to_string()).unwrap();
        let procs = std::ffi::CString::new(path_str(&group.join("cgroup.procs"))).unwrap();
        let (r, marker) = marker_target(&mut c);
        let spec = shaped(r, Shape::Init).spec.encode().unwrap();
        let (records, status) = RawHelper::spawn(&spec, |cmd| {
            // SAFETY: open, write, close between fork and exec (the path is allocated).
            unsafe {
                cmd.pre_exec(move || {
                    let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                    if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                        return Err(std::io::Error::last_os_error());
                    }
                    libc::close(fd);
                    Ok(())
                });
            }
        })
        .finish();
        let error = Record::Error {
            location: Location::Clone as u32,
            errno: libc::EAGAIN,
            index,
            detail: 0,
        };
        match index {
            0 => assert_eq!(records, [error]),
            _ => assert!(
                matches!(records[..], [Record::Pid { .. }, e] if e == error),
                "{records:?}"
            ),
        }
        assert_eq!(status.code(), Some(125));
        assert_never_ran(&marker);
    }
    assert_no_children();
}

fn is_pids_v1() -> bool {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.contains(&format!(" {PIDS_V1} ")) && l.ends_with(",pids"))
}

struct RmdirOnDrop(PathBuf);

impl Drop for RmdirOnDrop {
    fn drop(&mut self) {
        eventually(2.0, || fs::remove_dir(&self.0).is_ok());
    }
}

/// `unshare_user_read` (3), EPIPE: the clone waits for the helper's go byte, and the helper is
/// killed first (here while it blocks writing the pid record to a full status pipe). The
/// detached clone (no namespaces), the runtime's own child, reports it itself and exits 125.
#[test]
fn helper_gone_before_the_go_byte_fails_at_unshare_user_read() {
    let mut c = Cleanup::default();
    let (r, marker) = marker_target(&mut c);
    let (mut status_r, status_w) = pipe();
    let wfd = status_w.as_raw_fd();
    // Fill the status pipe: the 32-byte pid record (written whole or not at all) must block.
    let fill = vec![0xffu8; 4096];
    let mut filled = 0;
    // SAFETY: F_SETFL on our own fd.
    unsafe { libc::fcntl(wfd, libc::F_SETFL, libc::O_NONBLOCK) };
    loop {
        // SAFETY: write from a buffer we own.
        let n = unsafe { libc::write(wfd, fill.as_ptr().cast(), fill.len()) };
        if n <= 0 {
            break;
        }
        filled += n as usize;
    }
    // SAFETY: as above.
    unsafe { libc::fcntl(wfd, libc::F_SETFL, 0) };
    let mut r = r.detach(true);
    r.spec.status_fd = Some(wfd);
    let spec = r.spec.encode().unwrap();
    let mut h = RawHelper::spawn(&spec, |cmd| {
        // SAFETY: only fcntl between fork and exec.
        unsafe {
            cmd.pre_exec(move || clear_cloexec(wfd));
        }
    });
    drop(status_w);
    let helper = h.child.id();
    // An unprivileged test cannot read the syscall of the (non-dumpable) helper: the clone
    // (the detached one is this thread's child) exists and the helper sleeps, so it is past
    // the clone and blocks on the full pipe.
    let blocked = eventually(5.0, || {
        match fs::read_to_string(format!("/proc/{helper}/syscall")) {
            Ok(s) => s.starts_with(&format!("{} {wfd:#x} ", libc::SYS_write)),
            Err(_) => !is_root() && own_children().len() == 2 && is_helper_sleeping(helper),
        }
    });
    assert!(blocked, "the helper never blocked on the status pipe");
    h.child.kill().unwrap();
    assert_eq!(h.child.wait().unwrap().signal(), Some(libc::SIGKILL));
    let [target] = own_children()[..] else {
        panic!("the clone: {:?}", own_children())
    };
    let mut all = Vec::new();
    status_r.read_to_end(&mut all).unwrap();
    assert!(all[..filled].iter().all(|&b| b == 0xff));
    let records = read_records(&mut &all[filled..]);
    let expected = Record::Error {
        location: Location::UnshareUserRead as u32,
        errno: libc::EPIPE,
        index: 0,
        detail: 0,
    };
    assert_eq!(records, [expected]);
    assert_eq!(wait_pid(target).code(), Some(125));
    assert_never_ran(&marker);
    assert_no_children();
}

/// The supervisor and init keep no copy of the target's stdio: a target that closes its
/// stdout while it keeps running gives the runtime EOF at once, as in place.
#[test]
fn supervisor_and_init_keep_no_copy_of_the_targets_stdout() {
    for init in [false, true] {
        let (mut out_r, out_w) = pipe();
        let devnull = File::open("/dev/null").unwrap();
        let mut r = sh(
            new_pid_ns(Runner::new(["/bin/sh"])),
            "echo up; exec >&-; sleep 5",
        );
        r.spec.init = init;
        r.spec.files = vec![devnull.as_raw_fd(), out_w.as_raw_fd(), 2];
        let mut p = r.start().unwrap();
        drop(out_w);
        let mut out = String::new();
        out_r.read_to_string(&mut out).unwrap();
        // EOF while the target sleeps: nobody else held the pipe (had the helper or init kept
        // a copy, EOF would only come once the target and they had exited).
        let running = p.try_wait().unwrap().is_none();
        p.kill(libc::SIGKILL).unwrap();
        p.wait().unwrap();
        assert_eq!(out, "up\n");
        assert!(
            running,
            "the target still ran when stdout hit EOF (init {init})"
        );
    }
}
