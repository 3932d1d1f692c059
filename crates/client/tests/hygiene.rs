//! The helper's own hygiene (docs/chain.md; SECURITY.md), checked from the outside: a
//! setuid, setgid or file-capability install is refused before the spec is read; the helper is
//! non-dumpable while it sets up (its supervisor and init stay so) and the target dumpable
//! after exec; the parent-death signal survives the credential step; no fd the runtime leaked
//! reaches the target; a new session keeps TIOCSTI off the caller's terminal; a work directory
//! that leads out of the new root is refused.
//!
//! Capability dropping, `files` and `setsid` themselves are covered in `exec_chain.rs`; the
//! inside views (capability sets, the host tree, pid 1) in `escape.rs`.
//!
//! Every test runs as root and as an ordinary user; the few that only make sense one way say
//! so and return early.
use forkexec_testkit::support;
use forkexec_testkit::{root_only, skip};

use std::fs::{self, File};
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use forkexec_client::{Credential, IdMap, Location, Mount, Namespace, Runner, Spec};
use forkexec_spec::status::Record;
use serde_json::{json, Value};
use support::*;

/// An ordinary uid (and gid) with no passwd entry needed: the one the privileged-install
/// tests run the helper as.
const OTHER: u32 = 4321;

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn error(location: Location, errno: i32, index: u32) -> Record {
    Record::Error {
        location: location as u32,
        errno,
        index,
        detail: 0,
    }
}

/// A report of the (dynamic) probe run by fd, so that a target with another uid needs no
/// access to the checkout. The `File` must live until the start.
fn probe_by_fd(args: &[&str]) -> (Runner, File) {
    let exe = File::open(probe()).unwrap();
    (probe_runner(args).exec_file(exe.as_raw_fd()), exe)
}

/// A new user namespace with this process's ids mapped to 0 inside.
fn in_user_ns(r: Runner) -> Runner {
    r.clone_flags([Namespace::NewUser])
        .uid_mappings([IdMap::new(0, euid(), 1)])
        .gid_mappings([IdMap::new(0, egid(), 1)])
}

/// `r` with a new pid namespace too (and a fresh proc at /proc when it has a new root): the
/// supervise shape.
fn with_new_pid(mut r: Runner) -> Runner {
    r.spec.clone_flags.push(Namespace::NewPid);
    if !r.spec.pivot_root.is_empty() {
        r = r.mount(Mount::proc("/proc"));
    }
    r
}

// ---------------------------------------------------------------------------------------------
// A privileged install is refused: `privileged_install` (46)
// ---------------------------------------------------------------------------------------------

/// `security.capability` (VFS_CAP_REVISION_2) granting `cap` permitted and effective.
fn file_caps(cap: u32) -> [u8; 20] {
    let mut v = [0u8; 20];
    v[..4].copy_from_slice(&(0x0200_0000u32 | 1).to_le_bytes()); // revision 2, effective
    v[4..8].copy_from_slice(&(1u32 << cap).to_le_bytes()); // data[0].permitted
    v
}

/// A copy of the helper installed as `install` says (owner root, group `gid`, `mode`, and
/// file capabilities when `caps`), started as [`OTHER`] on a spec that runs the static probe.
/// Returns the records, the exit code and what the target printed.
fn run_installed(
    dir: &Path,
    mode: u32,
    gid: u32,
    caps: bool,
) -> (Vec<Record>, Option<i32>, String) {
    let copy = dir.join(format!("forkexec-{mode:o}-{gid}-{caps}"));
    fs::copy(helper(), &copy).unwrap();
    std::os::unix::fs::chown(&copy, Some(0), Some(gid)).unwrap();
    // After the chown, which clears the set-id bits.
    fs::set_permissions(&copy, fs::Permissions::from_mode(mode)).unwrap();
    if caps {
        let name = c"security.capability";
        let value = file_caps(10); // CAP_NET_BIND_SERVICE
        let path = std::ffi::CString::new(path_str(&copy)).unwrap();
        // SAFETY: setxattr with NUL-terminated strings and a buffer we own.
        let r = unsafe {
            libc::setxattr(
                path.as_ptr(),
                name.as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        };
        assert_eq!(r, 0, "setxattr: {}", std::io::Error::last_os_error());
    }
    let out = dir.join(format!("out-{mode:o}-{gid}-{caps}"));
    let stdout = File::create(&out).unwrap();
    let spec = Spec::new([path_str(&static_probe()), "ids".into()]);
    let res = raw_helper(&copy, &spec.encode().unwrap(), |cmd| {
        cmd.uid(OTHER).gid(OTHER).stdout(stdout);
    });
    (
        res.records,
        res.status.code(),
        fs::read_to_string(&out).unwrap(),
    )
}

/// Root only (installing setuid root takes root): the helper installed setuid root, setgid
/// root or with a file capability, run by an ordinary user, refuses at once with
/// `privileged_install` (46), EPERM, index 0 / 1 / 2, exit 125, and the target never runs. The
/// control: the same copy installed plainly runs the target as that user.
#[test]
fn a_setuid_setgid_or_file_capability_install_is_refused() {
    root_only!("installing the helper setuid root takes root");
    let mut c = Cleanup::default();
    let dir = c.dir("install");
    if on_nosuid_mount(&dir) {
        skip!("{} is on a nosuid mount", dir.display());
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let ids =
        format!("{{\"uid\": [{OTHER}, {OTHER}, {OTHER}], \"gid\": [{OTHER}, {OTHER}, {OTHER}]}}\n");

    let (records, code, out) = run_installed(&dir, 0o755, 0, false);
    assert_eq!(
        (records, code, out),
        (vec![], Some(0), ids),
        "the plain install"
    );

    for (mode, caps, index) in [
        (0o4755, false, 0), // setuid root
        (0o6755, false, 0), // both: the uid is checked first
        (0o2755, false, 1), // setgid root
        (0o755, true, 2),   // cap_net_bind_service+ep: the kernel asks for a secure exec
    ] {
        let (records, code, out) = run_installed(&dir, mode, 0, caps);
        let expected = error(Location::PrivilegedInstall, libc::EPERM, index);
        assert_eq!(records, [expected], "mode {mode:o} caps {caps}");
        assert_eq!(code, Some(125), "mode {mode:o} caps {caps}");
        assert_eq!(out, "", "the target ran: mode {mode:o} caps {caps}");
    }
}

// ---------------------------------------------------------------------------------------------
// Non-dumpable while it sets up: `set_dumpable` (47)
// ---------------------------------------------------------------------------------------------

/// A seccomp program (x86_64) that fails `prctl(PR_SET_DUMPABLE, arg)` with EPERM (any `arg`
/// when None) and allows everything else.
fn deny_set_dumpable(arg: Option<u32>) -> Vec<libc::sock_filter> {
    const LD: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const RET: u16 = 0x06; // BPF_RET | BPF_K
    let stmt = |code, k| libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    };
    let jump_unless = |k, skip| libc::sock_filter {
        code: JEQ,
        jt: 0,
        jf: skip,
        k,
    };
    let n = if arg.is_some() { 2 } else { 0 };
    let mut p = vec![
        stmt(LD, 4), // seccomp_data.arch
        jump_unless(0xC000_003E, 5 + n),
        stmt(LD, 0), // .nr
        jump_unless(libc::SYS_prctl as u32, 3 + n),
        stmt(LD, 16), // .args[0], low half
        jump_unless(libc::PR_SET_DUMPABLE as u32, 1 + n),
    ];
    if let Some(arg) = arg {
        p.push(stmt(LD, 24)); // .args[1], low half
        p.push(jump_unless(arg, 1));
    }
    p.push(stmt(RET, 0x0005_0000 | libc::EPERM as u32)); // SECCOMP_RET_ERRNO
    p.push(stmt(RET, 0x7fff_0000)); // SECCOMP_RET_ALLOW
    p
}

/// The helper started on `spec` under `filter` (no_new_privs set for it, as an unprivileged
/// process must).
fn raw_under_filter(spec: &Spec, filter: Vec<libc::sock_filter>) -> RawResult {
    raw_with(&spec.encode().unwrap(), move |cmd| {
        // SAFETY: prctl calls between fork and exec, on a program that outlives them.
        unsafe {
            cmd.pre_exec(move || {
                let prog = libc::sock_fprog {
                    len: filter.len() as u16,
                    filter: filter.as_ptr() as *mut libc::sock_filter,
                };
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                    || libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &prog) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    })
}

/// `set_dumpable` (47): index 0 when going non-dumpable at start fails (before the spec is
/// even read), index 1 when becoming dumpable for the id-map writes fails, in place and in
/// the clone shapes. Provoked with a seccomp filter the runtime installs on the helper.
#[test]
fn set_dumpable_failures_are_reported() {
    if !cfg!(target_arch = "x86_64") {
        skip!("the seccomp program here is x86_64's");
    }
    let mut c = Cleanup::default();
    let (r, marker) = {
        let dir = c.dir("dumpable");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let marker = dir.join("ran");
        (probe_runner(&["write", &path_str(&marker), "ran"]), marker)
    };
    let res = raw_under_filter(&r.spec, deny_set_dumpable(None));
    assert_eq!(
        res.records,
        [error(Location::SetDumpable, libc::EPERM, 0)],
        "{}",
        res.stderr
    );
    assert_eq!(res.status.code(), Some(125));

    // Exec in place with a user namespace (its own map), then the supervise shape.
    let in_place = in_user_ns(Runner::from_spec(r.spec.clone()));
    let res = raw_under_filter(&in_place.spec, deny_set_dumpable(Some(1)));
    assert_eq!(
        res.records,
        [error(Location::SetDumpable, libc::EPERM, 1)],
        "{}",
        res.stderr
    );
    assert_eq!(res.status.code(), Some(125));
    let cloned = with_new_pid(in_user_ns(Runner::from_spec(r.spec.clone())));
    let res = raw_under_filter(&cloned.spec, deny_set_dumpable(Some(1)));
    assert_eq!(
        res.records,
        [error(Location::SetDumpable, libc::EPERM, 1)],
        "{}",
        res.stderr
    );
    assert_eq!(res.status.code(), Some(125));
    assert!(!marker.exists(), "the target ran");

    // The control: the filter that only refuses making it dumpable changes nothing without
    // a user namespace.
    let res = raw_under_filter(&r.spec, deny_set_dumpable(Some(1)));
    assert_eq!(res.records, [], "{}", res.stderr);
    assert_eq!(fs::read_to_string(&marker).unwrap(), "ran");
}

/// The supervisor stays non-dumpable for its whole life: a supervised target that sees the
/// host's /proc (a new pid namespace, no new root) cannot follow its supervisor's exe link or
/// fd links, although they run as the same user (CVE-2019-5736's `/proc/PID/exe`,
/// CVE-2016-9962's fds). (Attaching fails anyway: the supervisor has no pid in the target's
/// namespace, ESRCH.) Run as root, the target is uid 0 mapped to the host's root, so the fd
/// directory itself may be listed; the links stay closed.
///
/// With a user namespace (whose id maps the helper writes, made dumpable just for that), and
/// as root without one (the target's capabilities dropped). Root's supervisor is also kept
/// out of reach by the kernel's capability rule (a tracer must hold the tracee's
/// capabilities), so it is the unprivileged run that shows the dumpability.
#[test]
fn the_supervisor_is_out_of_the_targets_reach() {
    let r = || Runner::new([path_str(&static_probe()), "parent".into()]);
    let mut runners = vec![in_user_ns(r()).clone_flags([Namespace::NewUser, Namespace::NewPid])];
    if is_root() {
        runners.push(r().clone_flags([Namespace::NewPid]).drop_caps(true));
    }
    for r in runners {
        let p = run(r).unwrap();
        assert!(p.status.success(), "{} {}", p.status, p.stderr);
        let v: Value = serde_json::from_str(p.stdout.trim()).unwrap();
        assert_eq!(v["ppid"], p.pid, "the parent is the supervisor: {v}");
        let denied = (&json!(-libc::EACCES), &json!(-libc::ESRCH));
        assert_eq!((&v["exe"], &v["ptrace"]), denied, "{v}");
        assert_fd_links_closed(&v["fds"]);
    }
}

/// What the probe saw of a process's fds: not one link readable.
#[track_caller]
fn assert_fd_links_closed(fds: &Value) {
    if is_root() {
        assert!(fds["listed"].as_u64().unwrap() > 0, "{fds}");
        assert_eq!(
            (&fds["readable"], &fds["errno"]),
            (&json!(0), &json!(libc::EACCES)),
            "{fds}"
        );
    } else {
        assert_eq!(fds, &json!(-libc::EACCES));
    }
}

/// Init (the helper's code, pid 1 of the sandbox) stays non-dumpable: the target, pid 2 in
/// the same user namespace, cannot follow `/proc/1/exe` to the helper binary, follow init's
/// fd links or attach to it. The control: its own `/proc/self/exe` is readable. With a user
/// namespace and, as root, without one (capabilities dropped).
#[test]
fn init_is_out_of_the_targets_reach() {
    let mut c = Cleanup::default();
    let mut shapes = vec![false];
    if is_root() {
        shapes.push(true);
    }
    for plain_root in shapes {
        let mut r = |args: &[&str]| {
            let mut r = with_new_pid(static_root(&mut c, &[])).init(true);
            if plain_root {
                r.spec.clone_flags.retain(|&f| f != Namespace::NewUser);
                r.spec.uid_mappings.clear();
                r.spec.gid_mappings.clear();
                r = r.drop_caps(true);
            }
            r.spec.args = [PROBE_IN_ROOT]
                .iter()
                .chain(args)
                .map(|s| s.to_string())
                .collect();
            r
        };
        assert_eq!(
            run_json(r(&["readlink", "/proc/1/exe"])),
            json!({"ret": -1, "errno": libc::EACCES}),
            "plain root {plain_root}"
        );
        assert_fd_links_closed(&run_json(r(&["fds", "1"]))["fds"]);
        assert_eq!(
            run_json(r(&["ptrace", "1"])),
            json!({"ret": -1, "errno": libc::EPERM}),
            "plain root {plain_root}"
        );
        assert_eq!(
            run_json(r(&["readlink", "/proc/self/exe"])),
            json!({"link": PROBE_IN_ROOT})
        );
    }
}

/// An ordinary target is dumpable again after exec, in every shape (execve resets it), also
/// after a credential change as root.
#[test]
fn the_target_is_dumpable_after_exec() {
    let mut c = Cleanup::default();
    assert_eq!(report(probe_runner(&["report"]))["dumpable"], 1, "in place");
    assert_eq!(
        report(in_user_ns(probe_runner(&["report"])))["dumpable"],
        1,
        "user ns"
    );
    let supervised = with_new_pid(in_root(&mut c, &["report"]));
    assert_eq!(report(supervised)["dumpable"], 1, "supervise");
    let init = with_new_pid(in_root(&mut c, &["report"])).init(true);
    assert_eq!(report(init)["dumpable"], 1, "init");
    if is_root() {
        let (r, _exe) = probe_by_fd(&["report"]);
        let r = report(r.credential(Credential::new(4242, 4242)));
        assert_eq!(
            (&r["uid"], &r["dumpable"]),
            (&json!([4242, 4242, 4242]), &json!(1))
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The parent-death signal survives the credential step
// ---------------------------------------------------------------------------------------------

/// The kernel clears the parent-death signal when the ids change; the helper arms it again
/// after the credential step, so the target still has SIGKILL armed (in place and supervised).
/// As root the credential is a real change (uid 4242); unprivileged it is root of a new user
/// namespace. Without a credential (no id change, so no second arming) it is armed all the
/// same. The control: without die_with_parent nothing is armed.
#[test]
fn the_parent_death_signal_is_armed_after_the_credential_step() {
    for (shape, credential) in [
        ("in place", true),
        ("supervise", true),
        ("in place", false),
        ("supervise", false),
    ] {
        for die_with_parent in [true, false] {
            let (r, _exe) = probe_by_fd(&["report"]);
            let r = match (credential, is_root()) {
                (false, true) => r,
                (false, false) => in_user_ns(r),
                (true, true) => r.credential(Credential::new(4242, 4242)),
                (true, false) => in_user_ns(r).credential(Credential::new(0, 0)),
            };
            let mut r = r.die_with_parent(die_with_parent);
            if shape == "supervise" {
                r.spec.clone_flags.push(Namespace::NewPid);
            }
            let v = report(r);
            let expected = if die_with_parent { libc::SIGKILL } else { 0 };
            assert_eq!(
                v["pdeathsig"], expected,
                "{shape}, credential {credential}, die_with_parent {die_with_parent}"
            );
            if is_root() && credential {
                assert_eq!(v["uid"], json!([4242, 4242, 4242]));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// fds: nothing the runtime leaked reaches the target
// ---------------------------------------------------------------------------------------------

/// A runtime that leaks an fd without close-on-exec into the helper (here fd 1000, a file,
/// and fd 1001, a socket: numbers the harness's own spec socket does not take) does not leak
/// it into the target: in place, supervised and under init the target has its 0, 1 and 2
/// only.
#[test]
fn an_fd_the_runtime_leaked_does_not_reach_the_target() {
    let mut c = Cleanup::default();
    let dir = c.dir("leak");
    let leaked_file = File::create(dir.join("leaked")).unwrap();
    let (sock, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
    for (shape, r) in [
        ("in place", probe_runner(&["report"])),
        ("supervise", with_new_pid(in_root(&mut c, &["report"]))),
        (
            "init",
            with_new_pid(in_root(&mut c, &["report"])).init(true),
        ),
    ] {
        let out = dir.join(format!("{}.json", shape.replace(' ', "-")));
        let stdout = File::create(&out).unwrap();
        let (file_fd, sock_fd) = (leaked_file.as_raw_fd(), sock.as_raw_fd());
        let res = raw_with(&r.spec.encode().unwrap(), |cmd| {
            cmd.stdout(stdout);
            // SAFETY: dup2 and fcntl between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    for (fd, at) in [(file_fd, 1000), (sock_fd, 1001)] {
                        if libc::dup2(fd, at) < 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                    }
                    Ok(())
                });
            }
        });
        let records: Vec<_> = res
            .records
            .iter()
            .filter(|r| matches!(r, Record::Error { .. }))
            .collect();
        assert_eq!(records, Vec::<&Record>::new(), "{shape}: {}", res.stderr);
        let v: Value = serde_json::from_str(&fs::read_to_string(&out).unwrap()).unwrap();
        let fds: Vec<&String> = v["fds"].as_object().unwrap().keys().collect();
        assert_eq!(fds, ["0", "1", "2"], "{shape}: {}", v["fds"]);
    }
}

// ---------------------------------------------------------------------------------------------
// A new session: TIOCSTI cannot reach the caller's terminal
// ---------------------------------------------------------------------------------------------

fn open_pty() -> (OwnedFd, File) {
    // SAFETY: plain libc pty calls on fds we own; ptsname_r fills our buffer.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(m >= 0);
        let master = OwnedFd::from_raw_fd(m);
        assert_eq!(libc::grantpt(m), 0);
        assert_eq!(libc::unlockpt(m), 0);
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(m, name.as_mut_ptr(), name.len()), 0);
        let s = libc::open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        assert!(s >= 0);
        (master, File::from_raw_fd(s))
    }
}

/// Runs the static probe's `tiocsti 0` through the helper, started by a runtime (a shell)
/// whose controlling terminal is a pty, with the pty as the target's fd 0: the runtime's own
/// terminal. Returns the probe's answer.
fn tiocsti_from_the_runtimes_session(dir: &Path, setsid: bool) -> Value {
    let (_master, slave) = open_pty();
    let mut r = Runner::new([path_str(&static_probe()), "tiocsti".into(), "0".into()])
        .drop_caps(true) // root may push into any terminal (CAP_SYS_ADMIN)
        .setsid(setsid);
    r.spec.status_fd = Some(4);
    let tag = if setsid { "setsid" } else { "same-session" };
    let (spec, status, out) = (
        dir.join(format!("{tag}.spec")),
        dir.join(format!("{tag}.status")),
        dir.join(format!("{tag}.out")),
    );
    fs::write(&spec, r.spec.encode().unwrap()).unwrap();
    let slave_fd: RawFd = slave.as_raw_fd();
    let mut cmd = Command::new("/bin/sh");
    // The helper is the shell's child, in the shell's session (not its leader).
    cmd.args(["-c", r#""$0" --spec-fd 3 3<"$1" 4>"$2"; exit $?"#])
        .arg(helper())
        .arg(&spec)
        .arg(&status)
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(File::create(&out).unwrap())
        .stderr(Stdio::piped());
    // SAFETY: setsid and ioctl between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 || libc::ioctl(slave_fd, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let code = child.wait().unwrap();
    assert!(code.success(), "{code}: {err}");
    let records = read_records(&mut File::open(&status).unwrap());
    assert_eq!(records, [], "{err}");
    serde_json::from_str(fs::read_to_string(&out).unwrap().trim()).unwrap()
}

/// By default the target runs in a session of its own, so the runtime's terminal is not its
/// controlling terminal and TIOCSTI on it fails with EPERM (CVE-2017-5226). The control: with
/// `setsid: false` the target is in the runtime's session and the push works (where the
/// kernel still allows TIOCSTI at all, `dev.tty.legacy_tiocsti`).
#[test]
fn a_new_session_keeps_tiocsti_off_the_callers_terminal() {
    let mut c = Cleanup::default();
    let dir = c.dir("tiocsti");
    let v = tiocsti_from_the_runtimes_session(&dir, true);
    assert_eq!(v, json!({"ret": -1, "errno": libc::EPERM}));
    let legacy = fs::read_to_string("/proc/sys/dev/tty/legacy_tiocsti").unwrap_or("1".into());
    let v = tiocsti_from_the_runtimes_session(&dir, false);
    if legacy.trim() == "1" {
        assert_eq!(v, json!({"ret": 0}));
    } else {
        eprintln!("note: dev.tty.legacy_tiocsti is off: TIOCSTI fails for everyone ({v})");
    }
}

// ---------------------------------------------------------------------------------------------
// The working directory after pivot_root
// ---------------------------------------------------------------------------------------------

/// A work directory that resolves outside the new root, through `/proc/self/fd/3` of a host
/// directory the target was given, is refused: `chdir` (22), EXDEV, index 1 (CVE-2024-21626).
/// The control: the same fd as a work directory without a new root is just a directory.
#[test]
fn a_work_dir_outside_the_new_root_is_refused() {
    let mut c = Cleanup::default();
    let host_dir = c.dir("host-dir");
    let marker = host_dir.join("ran");
    let dir = File::open(&host_dir).unwrap();
    let null_in = File::open("/dev/null").unwrap();
    let null_out = File::options().write(true).open("/dev/null").unwrap();
    let start = |r: Runner| {
        let mut r = r.work_dir("/proc/self/fd/3");
        let out = null_out.as_raw_fd();
        r.spec.files = vec![null_in.as_raw_fd(), out, out, dir.as_raw_fd()];
        r.start().map(|mut p| p.wait().unwrap())
    };
    let r = with_new_pid(static_root(&mut c, &["write", "ran", "x"]));
    assert_child_error(start(r), "chdir", libc::EXDEV, 1);
    assert!(!marker.exists(), "the target ran in the host directory");

    let r = Runner::new([
        path_str(&static_probe()),
        "write".into(),
        "ran".into(),
        "x".into(),
    ]);
    let status = start(r).unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(fs::read_to_string(&marker).unwrap(), "x");
}

/// Without a work directory the target starts at the new root: its cwd is `/`, and `..`
/// (or 64 of them) stays there.
#[test]
fn without_a_work_dir_the_target_starts_at_the_new_root() {
    let mut c = Cleanup::default();
    for (shape, r) in [
        ("in place", static_root(&mut c, &["cwd"])),
        ("supervise", with_new_pid(static_root(&mut c, &["cwd"]))),
    ] {
        let v = run_json(r);
        assert_eq!(v["cwd"], "/", "{shape}: {v}");
        assert_eq!(v["dot"], v["root"], "{shape}: {v}");
        assert_eq!(v["dotdot"], v["root"], "{shape}: {v}");
        assert_eq!(v["up"], v["root"], "{shape}: {v}");
        assert_eq!(v["up_cwd"], "/", "{shape}: {v}");
    }
}
