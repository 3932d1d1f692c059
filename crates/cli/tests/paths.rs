//! The two paths a command line can take (docs/cli.md, "Which path a command line takes"):
//! forkexec-run executing the helper in its own place (the default when nothing needs it
//! after the start), and forkexec-run staying as the program's parent (`--stay`). Both must
//! end the same way: exit status, death by signal, error line and exit code, signals reaching
//! the program. Runs as root and as an ordinary user.
use forkexec_testkit::support;

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use support::{euid, Cleanup};

fn cli() -> PathBuf {
    match std::env::var_os("FORKEXEC_RUN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_forkexec-run")),
    }
}

fn command(stay: bool, args: &[&str]) -> Command {
    let mut c = Command::new(cli());
    if stay {
        c.arg("--stay");
    }
    c.args(args)
        .env("FORKEXEC_HELPER", support::helper())
        .env_remove("XDG_RUNTIME_DIR")
        .stdin(Stdio::null());
    c
}

/// How a run ended, as a caller sees it.
#[derive(Debug, PartialEq, Eq)]
struct End {
    code: Option<i32>,
    signal: Option<i32>,
    stdout: String,
    stderr: String,
}

fn end(mut c: Command) -> End {
    let o = c.output().expect("run forkexec-run");
    End {
        code: o.status.code(),
        signal: o.status.signal(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Both paths, which must agree; returns the one ending.
fn both(args: &[&str]) -> End {
    let in_place = end(command(false, args));
    let stayed = end(command(true, args));
    assert_eq!(in_place, stayed, "in place vs --stay for {args:?}");
    in_place
}

fn probe() -> String {
    support::probe().to_string_lossy().into_owned()
}

/// Flags for a fresh root with the system's programs and the probe at /probe.
fn root(extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["--ro-bind", "/usr", "/usr"].map(String::from).to_vec();
    for dir in ["/lib", "/lib64", "/bin"] {
        v.extend(["--ro-bind-try", dir, dir].map(String::from));
    }
    v.extend(["--ro-bind".to_string(), probe(), "/probe".to_string()]);
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn exit_codes_and_signals_are_the_programs_on_both_paths() {
    let e = both(&["--", "/bin/sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert_eq!(
        (e.code, e.stdout.as_str(), e.stderr.as_str()),
        (Some(3), "out\n", "err\n")
    );
    // Death by signal, in place (no namespaces: the program is the process) and supervised
    // (a new pid namespace: the helper mirrors it).
    let e = both(&["--", &probe(), "signal", "9"]);
    assert_eq!(e.signal, Some(libc::SIGKILL), "{e:?}");
    let e = both(&["--unshare-pid", "--init", "--", &probe(), "signal", "15"]);
    assert_eq!(e.signal, Some(libc::SIGTERM), "{e:?}");
    let flags = root(&["--proc", "/proc", "--", "/bin/sh", "-c", "exit 42"]);
    assert_eq!(both(&strs(&flags)).code, Some(42));
}

#[test]
fn failed_starts_read_the_same_on_both_paths() {
    let mut c = Cleanup::default();
    let dir = c.dir("paths-errors");
    let plain = dir.join("not-executable");
    fs::write(&plain, "data").unwrap();
    fs::set_permissions(&plain, fs::Permissions::from_mode(0o644)).unwrap();
    let plain = plain.to_string_lossy().into_owned();
    let cases: Vec<(Vec<String>, i32, String)> = vec![
        (
            root(&["--ro-bind", "/nonexistent-src", "/data", "--", "/bin/true"]),
            125,
            "forkexec-run: mount(source)(5) /nonexistent-src: no such file or directory\n".into(),
        ),
        (
            ["--", "/nonexistent-program"].map(String::from).to_vec(),
            127,
            "forkexec-run: execve(0) /nonexistent-program: no such file or directory\n".into(),
        ),
        (
            vec!["--".into(), plain.clone()],
            126,
            format!("forkexec-run: execve(0) {plain}: permission denied\n"),
        ),
        (
            ["--chdir", "/nonexistent-dir", "--", "/bin/true"]
                .map(String::from)
                .to_vec(),
            125,
            "forkexec-run: chdir(0) /nonexistent-dir: no such file or directory\n".into(),
        ),
    ];
    for (args, code, line) in cases {
        let e = both(&strs(&args));
        assert_eq!(e.code, Some(code), "{args:?}: {e:?}");
        assert_eq!(e.stderr, line, "{args:?}");
        assert!(e.stdout.is_empty(), "nothing ran: {e:?}");
    }
}

/// In place there is no second process: the program (no namespaces asked) is the very
/// process the caller spawned; with --stay it is forkexec-run's child.
#[test]
fn in_place_means_one_process() {
    for stay in [false, true] {
        let mut c = command(stay, &["--", "/bin/sh", "-c", "echo $$"]);
        c.stdout(Stdio::piped());
        let child = c.spawn().unwrap();
        let spawned = child.id();
        let out = child.wait_with_output().unwrap();
        let pid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        assert_eq!(
            pid == spawned,
            !stay,
            "stay {stay}: program {pid}, spawned {spawned}"
        );
    }
}

/// A signal sent to the process the caller spawned reaches the program on both paths, in
/// place and through a supervising helper (new pid namespace, with and without --init).
#[test]
fn signals_reach_the_program() {
    let script = "trap 'exit 7' TERM; echo ready; while :; do sleep 0.05; done";
    for stay in [false, true] {
        for ns in [
            &[][..],
            &["--unshare-pid"][..],
            &["--unshare-pid", "--init"][..],
        ] {
            let mut args = ns.to_vec();
            args.extend(["--", "/bin/sh", "-c", script]);
            let mut c = command(stay, &args);
            c.stdout(Stdio::piped());
            let mut child = c.spawn().unwrap();
            let mut out = BufReader::new(child.stdout.take().unwrap());
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            assert_eq!(line, "ready\n");
            // SAFETY: kill() with our child's pid and a signal number.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let status = child.wait().unwrap();
            assert_eq!(status.code(), Some(7), "stay {stay}, {ns:?}: {status:?}");
        }
    }
}

/// The new root's mount point is this user's own directory, kept between runs; one that
/// another user could swap (a symlink, writable by others) is refused before anything runs.
#[test]
fn the_kept_root_must_be_ours() {
    let mut c = Cleanup::default();
    let tmp = c.dir("paths-root");
    let kept = tmp.join(format!("forkexec-run-root-{}", euid()));
    let run = |stay: bool| {
        let mut cmd = command(stay, &strs(&root(&["--", "/bin/sh", "-c", "echo ran"])));
        cmd.env("TMPDIR", &tmp);
        end(cmd)
    };
    for stay in [false, true] {
        let e = run(stay);
        assert_eq!((e.code, e.stdout.as_str()), (Some(0), "ran\n"), "{e:?}");
    }
    assert_eq!(fs::read_dir(&kept).unwrap().count(), 0);

    fs::remove_dir(&kept).unwrap();
    symlink(Path::new("/"), &kept).unwrap();
    let e = run(false);
    assert_eq!(e.code, Some(125), "{e:?}");
    assert!(e.stderr.contains("is not a directory"), "{e:?}");
    assert!(e.stdout.is_empty());

    fs::remove_file(&kept).unwrap();
    fs::create_dir(&kept).unwrap();
    fs::set_permissions(&kept, fs::Permissions::from_mode(0o777)).unwrap();
    let e = run(true);
    assert_eq!(e.code, Some(125), "{e:?}");
    assert!(e.stderr.contains("writable by others"), "{e:?}");
    assert!(e.stdout.is_empty());
}
