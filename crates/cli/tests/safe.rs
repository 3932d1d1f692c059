//! Safe by default (issue 12): what an attacker got from forkexec-run's defaults, each pinned
//! end to end, as root and as an ordinary user (the few that only make sense one way say so).
//!
//! - capabilities dropped and no_new_privs on unless asked for by name;
//! - root with a user namespace: the program is host uid 65534, not host root;
//! - a fresh session keyring, in every shape;
//! - `--mask` through a symlink (`/proc/net`) refused;
//! - a file operation onto a FIFO refused, never hung;
//! - SIGTERM during the setup ends the start and leaves no process;
//! - `--die-with-parent` takes the program's own children down too;
//! - a status pipe nobody reads: exit 125/127 with the record on stderr, not SIGPIPE.
use forkexec_testkit::support;

use std::ffi::CString;
use std::fs;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{is_root, Cleanup};

fn cli() -> PathBuf {
    match std::env::var_os("FORKEXEC_RUN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_forkexec-run")),
    }
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// A world-readable copy of the probe: as root with a user namespace the program is host
/// uid 65534, which may not reach a checkout under /root.
fn probe() -> String {
    s(&support::probe_copy())
}

/// Read-only /usr, the library and binary directories, and the probe at /probe.
fn root_flags() -> Vec<String> {
    let mut v = args(&["--ro-bind", "/usr", "/usr"]);
    for dir in ["/lib", "/lib64", "/bin"] {
        v.extend(args(&["--ro-bind-try", dir, dir]));
    }
    v.extend(["--ro-bind".to_string(), probe(), "/probe".to_string()]);
    v
}

fn args(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn command(v: &[String]) -> Command {
    let mut c = Command::new(cli());
    c.args(v)
        .env("FORKEXEC_HELPER", support::helper())
        .stdin(Stdio::null());
    c
}

#[derive(Debug)]
struct Out {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs `c` to its end; a run that hangs fails the test (after 60 s) instead of hanging the
/// suite (a helper stuck in its setup may be left then: it is what the failure reports).
fn output(mut c: Command) -> Out {
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = c.spawn().expect("run forkexec-run");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    let o = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(o) => o.unwrap(),
        Err(_) => {
            // SAFETY: kill() of our own child, still unreaped (the thread waits for it).
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!("forkexec-run hung");
        }
    };
    Out {
        status: o.status,
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn run(v: &[String]) -> Out {
    output(command(v))
}

#[track_caller]
fn json_of(out: &Out) -> Value {
    assert!(out.status.success(), "{out:?}");
    serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

/// `forkexec-run FLAGS… -- PROBE ARGS…` (the probe by its host path: no new root).
fn host_probe(flags: &[&str], probe_args: &[&str]) -> Value {
    let mut v = args(flags);
    v.push("--".into());
    v.push(probe());
    v.extend(args(probe_args));
    json_of(&run(&v))
}

fn eventually(secs: f64, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs_f64(secs);
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Pids of the processes whose command line contains `needle`.
fn pids_with(needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        if let Ok(cmd) = fs::read(e.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(needle) {
                out.push(pid);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Capabilities and no_new_privs
// ---------------------------------------------------------------------------------------------

const NO_CAPS: &str = "0000000000000000";

/// `forkexec-run --unshare-all -- …` gives the program no capability and no_new_privs, as
/// root and as an ordinary user; so does `--uid 0` (root of its own user namespace). The
/// control: `--uid 0 --cap-add ALL --allow-new-privs` gives them back (as root in a user
/// namespace that also takes `--allow-host-root`).
#[test]
fn no_capabilities_and_no_new_privs_by_default() {
    for flags in [
        &["--unshare-all"][..],
        &["--unshare-user", "--uid", "0", "--gid", "0"],
        &["--unshare-pid"],
        &[],
    ] {
        let v = host_probe(flags, &["report"]);
        assert_eq!(v["cap_eff"], NO_CAPS, "{flags:?}: {v}");
        assert_eq!(v["cap_prm"], NO_CAPS, "{flags:?}");
        assert_eq!(v["cap_amb"], NO_CAPS, "{flags:?}");
        assert_eq!(v["no_new_privs"], "1", "{flags:?}");
    }
    // (uid 0 inside: execve gives a non-zero uid no capabilities.)
    let mut flags = vec!["--unshare-all", "--uid", "0", "--gid", "0"];
    flags.extend(["--cap-add", "ALL", "--allow-new-privs"]);
    if is_root() {
        flags.push("--allow-host-root");
    }
    let v = host_probe(&flags, &["report"]);
    assert_ne!(v["cap_eff"], NO_CAPS, "{v}");
    assert_eq!(v["no_new_privs"], "0");
}

/// Single capabilities: `--cap-add CAP` keeps exactly those in every set (ambient included,
/// so uid 5 keeps it across execve too), `--cap-drop` narrows `--cap-add ALL`; an unknown
/// name is refused by name. In a user namespace, as root and as an ordinary user.
#[test]
fn single_capabilities_are_kept() {
    let userns = ["--unshare-all", "--uid", "0", "--gid", "0"];
    for uid in ["0", "5"] {
        let mut flags = userns.to_vec();
        flags[2] = uid;
        flags.extend(["--cap-add", "CAP_NET_BIND_SERVICE", "--cap-add", "cap_kill"]);
        let v = host_probe(&flags, &["report"]);
        for set in ["cap_eff", "cap_prm", "cap_inh", "cap_amb", "cap_bnd"] {
            assert_eq!(v[set], "0000000000000420", "uid {uid} {set}: {v}");
        }
        assert_eq!(v["no_new_privs"], "1");
    }
    let mut flags = userns.to_vec();
    flags.extend(["--cap-add", "ALL", "--cap-drop", "CAP_SYS_ADMIN"]);
    let v = host_probe(&flags, &["report"]);
    let eff = u64::from_str_radix(v["cap_eff"].as_str().unwrap(), 16).unwrap();
    assert_eq!(eff & 1 << 21, 0, "{v}");
    assert_ne!(eff & 1 << 12, 0, "CAP_NET_ADMIN kept: {v}");
    assert_eq!(v["cap_bnd"], v["cap_eff"]);
    for (flag, name) in [("--cap-add", "CAP_BOGUS"), ("--cap-drop", "kill")] {
        let out = run(&args(&["--unshare-all", flag, name, "--", "/bin/true"]));
        assert_eq!(out.status.code(), Some(125), "{out:?}");
        assert!(
            out.stderr
                .contains(&format!("{flag} {name}: not a capability")),
            "{}",
            out.stderr
        );
    }
}

/// Unsafe power is asked for by name: as root a capability kept without a user namespace,
/// or `--host-uid 0`, needs `--allow-host-root`.
#[test]
fn unsafe_power_is_asked_for_by_name() {
    if !is_root() {
        let out = run(&args(&[
            "--unshare-user",
            "--host-uid",
            "5",
            "--",
            "/bin/true",
        ]));
        assert_eq!(out.status.code(), Some(125), "{out:?}");
        assert!(out.stderr.contains("only root"), "{}", out.stderr);
        return;
    }
    for cap in ["ALL", "CAP_NET_BIND_SERVICE"] {
        let out = run(&args(&["--cap-add", cap, "--", "/bin/true"]));
        assert_eq!(out.status.code(), Some(125), "{out:?}");
        assert!(out.stderr.contains("--allow-host-root"), "{}", out.stderr);
    }
    let out = run(&args(&[
        "--unshare-user",
        "--host-uid",
        "0",
        "--",
        "/bin/true",
    ]));
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    assert!(out.stderr.contains("--allow-host-root"), "{}", out.stderr);
    // Asked for: host root with every capability.
    let v = host_probe(&["--cap-add", "ALL", "--allow-host-root"], &["report"]);
    assert_ne!(v["cap_eff"], NO_CAPS);
}

/// Root with a user namespace: the program is host uid/gid 65534 (the map and its real
/// credential), so it cannot read a `0600 root` file through a read-only bind of its
/// directory, nor write a root-owned file in a writable one. The control: with
/// `--allow-host-root` (the old behaviour: host uid 0 mapped) it can. Root only: an ordinary
/// user's namespace maps only its own ids.
#[test]
fn root_with_a_user_namespace_is_not_host_root() {
    if !is_root() {
        eprintln!("note: root only (an ordinary user's namespace maps its own ids)");
        return;
    }
    let mut c = Cleanup::default();
    let dir = c.dir("safe-secret");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let secret = dir.join("secret");
    fs::write(&secret, "s3cret\n").unwrap();
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    let read = |extra: &[&str]| {
        let mut v = root_flags();
        v.extend(args(&["--unshare-all", "--ro-bind", &s(&dir), "/d"]));
        v.extend(args(extra));
        v.extend(args(&["--", "/probe", "inspect", "/d/secret"]));
        let out = json_of(&run(&v));
        out["paths"]["/d/secret"]["read"].clone()
    };
    let denied = read(&[]);
    assert_eq!(denied["errno"], libc::EACCES, "{denied}");
    let allowed = read(&["--allow-host-root"]);
    assert_eq!(allowed, serde_json::json!(b"s3cret\n"), "{allowed}");

    let v = host_probe(&["--unshare-all"], &["report"]);
    assert_eq!(
        v["uid_map"].as_str().map(|m| m.split_whitespace().nth(1)),
        Some(Some("65534"))
    );
    let status = fs::read_to_string("/proc/self/status").unwrap();
    assert!(status.contains("Uid:\t0"), "the test runs as root");
}

// ---------------------------------------------------------------------------------------------
// The session keyring
// ---------------------------------------------------------------------------------------------

/// The runtime keeps a secret in its session keyring; by default the program, in every
/// shape, has a new one and cannot find it. The control: `--share-keyring` finds and reads it.
#[test]
fn the_program_gets_a_fresh_session_keyring() {
    let desc = format!("fx-secret-{}", std::process::id());
    for shape in [&[][..], &["--unshare-pid"], &["--init"], &["--unshare-all"]] {
        for share in [false, true] {
            let mut v = args(shape);
            if share {
                v.push("--share-keyring".into());
            }
            v.extend(["--".into(), probe(), "key".into(), desc.clone()]);
            let mut cmd = command(&v);
            let name = CString::new("fx-runtime").unwrap();
            let key = CString::new(desc.as_str()).unwrap();
            // SAFETY: between fork and exec: two keyctl/add_key syscalls on strings made
            // before the fork, no allocation.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::syscall(libc::SYS_keyctl, 1, name.as_ptr()) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    let payload = b"the-runtime's-secret";
                    let id = libc::syscall(
                        libc::SYS_add_key,
                        c"user".as_ptr(),
                        key.as_ptr(),
                        payload.as_ptr(),
                        payload.len(),
                        -3i32, // KEY_SPEC_SESSION_KEYRING
                    );
                    if id < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            let out = json_of(&output(cmd));
            if share {
                assert_eq!(out["secret"], "the-runtime's-secret", "{shape:?}: {out}");
            } else {
                assert_eq!(out["secret"], Value::Null, "{shape:?}: {out}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// --mask through a symlink, file operations onto a FIFO
// ---------------------------------------------------------------------------------------------

/// `--mask /proc/net` would hide only the setup process's copy (`/proc/net` leads through
/// `/proc/self`): refused with ELOOP, nothing run; with `--stay` the line is explained. The
/// control: a mask that leads through no symlink works.
#[test]
fn a_mask_through_a_symlink_is_refused() {
    for target in ["/proc/net", "/proc/mounts"] {
        for stay in [false, true] {
            let mut v = root_flags();
            if stay {
                v.push("--stay".into());
            }
            v.extend(args(&["--proc", "/proc", "--mask", target]));
            v.extend(args(&["--", "/probe", "report"]));
            let out = run(&v);
            assert_eq!(out.status.code(), Some(125), "{out:?}");
            let line = format!("{target}: too many levels of symbolic links");
            assert!(out.stderr.contains(&line), "{}", out.stderr);
            let why = "must not lead through a symlink";
            assert_eq!(out.stderr.contains(why), stay, "{}", out.stderr);
            assert!(out.stdout.is_empty(), "the program ran: {}", out.stdout);
        }
    }
    let mut v = root_flags();
    v.extend(args(&["--proc", "/proc", "--mask", "/proc/sys"]));
    v.extend(args(&["--", "/probe", "inspect", "/proc/sys"]));
    let out = json_of(&run(&v));
    assert_eq!(
        out["paths"]["/proc/sys"]["entries"],
        serde_json::json!([]),
        "{out}"
    );
}

/// `--write-file` onto a FIFO: refused at once (EINVAL, "not a regular file"), whether or
/// not the FIFO has a reader; before, it hung (no reader) or fed the reader (one). The
/// control: a regular file there is overwritten.
#[test]
fn a_file_operation_onto_a_fifo_is_refused() {
    let mut c = Cleanup::default();
    let dir = c.dir("safe-fifo");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    let fifo = dir.join("fifo");
    let path = CString::new(s(&fifo)).unwrap();
    // SAFETY: mkfifo with a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o666) }, 0);
    let file = |name: &str, stay: bool| {
        let mut v = root_flags();
        if stay {
            v.push("--stay".into());
        }
        v.extend(args(&["--bind", &s(&dir), "/d", "--write-file"]));
        v.extend([format!("/d/{name}"), "payload".into()]);
        v.extend(args(&["--", "/probe", "exit", "0"]));
        run(&v)
    };
    for (reader, stay) in [(false, false), (true, false), (false, true)] {
        // SAFETY: open with a NUL-terminated path; the fd is closed below.
        let fd =
            reader.then(|| unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_NONBLOCK) });
        let out = file("fifo", stay);
        assert_eq!(out.status.code(), Some(125), "reader {reader}: {out:?}");
        assert!(
            out.stderr.contains("/d/fifo: invalid argument"),
            "{}",
            out.stderr
        );
        let why = "not a regular file";
        assert_eq!(out.stderr.contains(why), stay, "{}", out.stderr);
        if let Some(fd) = fd {
            let mut buf = [0u8; 16];
            // SAFETY: read into a buffer we own, from the fd we opened; then close it.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            assert!(n <= 0, "the FIFO's reader got {n} bytes");
            unsafe { libc::close(fd) };
        }
    }
    fs::write(dir.join("plain"), "old").unwrap();
    fs::set_permissions(dir.join("plain"), fs::Permissions::from_mode(0o666)).unwrap();
    let out = file("plain", false);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(fs::read_to_string(dir.join("plain")).unwrap(), "payload");
}

// ---------------------------------------------------------------------------------------------
// SIGTERM during the setup
// ---------------------------------------------------------------------------------------------

/// A setup that blocks (a `--file` whose fd never ends) is ended by SIGTERM to forkexec-run,
/// in place, supervised and with init, whether forkexec-run executed the helper in its place
/// or stayed (`--stay`): it dies of SIGTERM (or, a supervising helper in its place, exits 125
/// with `supervise(3)`), none of the sandbox's processes (forkexec-run's descendants, noted
/// before the signal) is left, and the program never ran. Before, the signal was held until
/// the program started, which it never did (or a supervisor forwarded it to a target that, as
/// pid 1 of its namespace, ignored it).
#[test]
fn sigterm_during_the_setup_ends_the_start() {
    let mut c = Cleanup::default();
    let shapes = [&[][..], &["--unshare-pid"], &["--init"]];
    for (shape, stay) in shapes
        .iter()
        .flat_map(|shape| [false, true].map(|stay| (*shape, stay)))
    {
        let dir = c.dir("safe-sigterm");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let marker = dir.join("ran");
        let (read_end, write_end) = support::pipe();
        let fd = read_end.as_raw_fd();
        let mut v = root_flags();
        v.extend(args(shape));
        if stay {
            v.push("--stay".into());
        }
        v.extend(args(&["--bind", &s(&dir), "/out", "--file"]));
        v.extend([fd.to_string(), "/f".into()]);
        v.extend(args(&["--", "/probe", "write", "/out/ran", "x"]));
        let mut cmd = command(&v);
        // SAFETY: between fork and exec: fcntl on an fd of ours.
        unsafe {
            cmd.pre_exec(move || support::clear_cloexec(fd));
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        drop(read_end);
        let root = child.id();
        // forkexec-run (or the helper in its place), the helper, the target, init.
        let expected =
            1 + stay as usize + !shape.is_empty() as usize + (shape == ["--init"]) as usize;
        assert!(
            eventually(20.0, || descendants(root).len() >= expected),
            "{shape:?} stay {stay}: the sandbox never started: {:?}",
            descendants(root)
        );
        let sandbox = descendants(root);
        // Let it reach the blocking read (if it is not there yet, the abort must work too).
        std::thread::sleep(Duration::from_millis(100));
        // SAFETY: kill() of our own unreaped child.
        unsafe { libc::kill(root as i32, libc::SIGTERM) };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(child.wait().unwrap()));
        let status = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(status) => status,
            Err(_) => {
                for &p in &sandbox {
                    // SAFETY: kill() of the sandbox's processes (ours); the thread reaps root.
                    unsafe { libc::kill(p as i32, libc::SIGKILL) };
                }
                panic!("{shape:?} stay {stay}: SIGTERM did not end forkexec-run");
            }
        };
        let aborted = status.signal() == Some(libc::SIGTERM)
            || (!shape.is_empty() && !stay && status.code() == Some(125));
        assert!(aborted, "{shape:?} stay {stay}: {status:?}");
        let left = || -> Vec<u32> {
            sandbox
                .iter()
                .copied()
                .filter(|p| Path::new(&format!("/proc/{p}")).exists())
                .collect()
        };
        assert!(
            eventually(10.0, || left().is_empty()),
            "{shape:?} stay {stay}: left behind: {:?}",
            left()
        );
        drop(write_end);
        assert!(!marker.exists(), "{shape:?} stay {stay}: the program ran");
    }
}

/// `pid` and every process below it.
fn descendants(pid: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid …: the comm may hold spaces, so split after its `)`.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        if let Some(ppid) = rest
            .split_whitespace()
            .nth(1)
            .and_then(|x| x.parse::<u32>().ok())
        {
            parent_of.push((p, ppid));
        }
    }
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        out.extend(parent_of.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// --die-with-parent
// ---------------------------------------------------------------------------------------------

/// SIGKILL of forkexec-run with `--die-with-parent` takes down the program *and its
/// children* (it brings a pid namespace); before, a child of the program outlived it.
#[test]
fn die_with_parent_takes_the_programs_children_down() {
    let token = format!("{}", 700_000 + std::process::id() % 100_000);
    let script = format!("/bin/sleep {token} & echo started; wait");
    let v = args(&["--die-with-parent", "--", "/bin/sh", "-c", &script]);
    let mut child = command(&v).stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert_eq!(line.trim(), "started");
    // The sleep itself (not forkexec-run or sh, whose command lines hold the token too).
    let needle = format!("/bin/sleep {token} ");
    let sleeps = || -> Vec<u32> {
        pids_with(&needle)
            .into_iter()
            .filter(|p| {
                fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| c.starts_with(b"/bin/sleep\0"))
            })
            .collect()
    };
    assert!(eventually(10.0, || sleeps().len() == 1));
    child.kill().unwrap();
    child.wait().unwrap();
    let gone = eventually(5.0, || sleeps().is_empty());
    for p in sleeps() {
        // SAFETY: kill() of the leftover sleep (the test's own).
        unsafe { libc::kill(p as i32, libc::SIGKILL) };
    }
    assert!(gone, "the program's child outlived forkexec-run");
}

// ---------------------------------------------------------------------------------------------
// SIGPIPE on a status pipe nobody reads
// ---------------------------------------------------------------------------------------------

/// The helper run directly with its status fd the write end of a pipe whose read end is
/// closed: a failed setup step exits 125, a failed execve 127, each with the record on
/// stderr; before, the helper died of SIGPIPE. And the program still gets SIGPIPE's default
/// action (the helper ignores it only during the setup).
#[test]
fn a_status_pipe_nobody_reads_is_exit_125_not_sigpipe() {
    let mut c = Cleanup::default();
    let dir = c.dir("safe-sigpipe");
    for (json, code, line) in [
        (
            r#"{"args":["/nonexistent"],"status_fd":4}"#,
            127,
            "execve(0) /nonexistent: no such file or directory",
        ),
        (
            r#"{"args":["/bin/true"],"work_dir":"/nonexistent","status_fd":4}"#,
            125,
            "chdir(0) /nonexistent: no such file or directory",
        ),
    ] {
        let spec_json = dir.join("spec.json");
        let spec_bin = dir.join("spec.bin");
        fs::write(&spec_json, json).unwrap();
        let dump = args(&[
            "--spec",
            &s(&spec_json),
            "--allow-new-privs",
            "--share-keyring",
        ]);
        let mut dump = dump;
        dump.extend(args(&["--json", "--dump-spec", &s(&spec_bin)]));
        assert!(run(&dump).status.success());
        let spec = fs::File::open(&spec_bin).unwrap();
        let (read_end, write_end) = support::pipe();
        drop(read_end);
        let (spec_fd, status_fd) = (spec.as_raw_fd(), write_end.as_raw_fd());
        let mut cmd = Command::new(support::helper());
        cmd.args(["--spec-fd", "3"]);
        // SAFETY: between fork and exec: fcntl and dup2 of fds we own (first above 100, so
        // neither lands on the other before it is moved).
        unsafe {
            cmd.pre_exec(move || {
                let spec = libc::fcntl(spec_fd, libc::F_DUPFD, 100);
                let status = libc::fcntl(status_fd, libc::F_DUPFD, 100);
                if spec < 0 || status < 0 || libc::dup2(spec, 3) < 0 || libc::dup2(status, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd.stdin(Stdio::null());
        let out = output(cmd);
        assert_eq!(out.status.signal(), None, "{json}: {out:?}");
        assert_eq!(out.status.code(), Some(code), "{json}: {out:?}");
        assert!(out.stderr.contains(line), "{json}: {out:?}");
    }
    // SigIgn of the program: SIGPIPE (bit 13 - 1) not ignored.
    let out = run(&args(&["--", "/bin/grep", "SigIgn", "/proc/self/status"]));
    let mask = u64::from_str_radix(out.stdout.trim().trim_start_matches("SigIgn:").trim(), 16);
    assert_eq!(
        mask.map(|m| m & (1 << (libc::SIGPIPE - 1))),
        Ok(0),
        "{out:?}"
    );
    let _ = std::io::stdout().flush();
}
