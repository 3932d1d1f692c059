//! Landlock (issue 12): the sandbox left where user namespaces are refused. Every test runs
//! without any namespace (no `--unshare-*`, no mount): as an ordinary user that is exactly the
//! host Ubuntu's AppArmor restriction leaves, and as root Landlock confines root as well.
//! Each has its control (the same without the rule) so it can fail.
use forkexec_testkit::support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use support::Cleanup;

fn cli() -> PathBuf {
    match std::env::var_os("FORKEXEC_RUN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_forkexec-run")),
    }
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The probe in a directory of its own (world-readable), so a rule can allow just it.
fn probe() -> PathBuf {
    support::probe_copy()
}

/// Rules that let the (dynamically linked) probe and the shell run: execute beneath the
/// system directories and the probe's own.
fn exec_rules() -> Vec<String> {
    let mut v = Vec::new();
    for dir in ["/usr", "/lib", "/lib64", "/bin", "/etc"] {
        if Path::new(dir).exists() {
            v.extend(["--landlock-exec".to_string(), dir.to_string()]);
        }
    }
    v.extend(["--landlock-exec".to_string(), s(probe().parent().unwrap())]);
    v
}

fn run(flags: &[String], program: &[&str]) -> Output {
    Command::new(cli())
        .args(flags)
        .arg("--")
        .args(program)
        .env("FORKEXEC_HELPER", support::helper())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

/// A scratch directory with `readable/f`, `writable/` and `other/f`, open to everyone.
fn tree(c: &mut Cleanup) -> PathBuf {
    let dir = c.dir("landlock");
    for sub in ["readable", "writable", "other"] {
        fs::create_dir(dir.join(sub)).unwrap();
        fs::set_permissions(dir.join(sub), fs::Permissions::from_mode(0o777)).unwrap();
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(dir.join("readable/f"), "r").unwrap();
    fs::write(dir.join("other/f"), "o").unwrap();
    dir
}

/// Filesystem rules: beneath `readable` the program reads, beneath `writable` it writes,
/// `other` it can neither read nor write (EACCES), with no namespace at all. The control:
/// without the rules it reads `other/f`.
#[test]
fn filesystem_rules_confine_the_program_without_a_namespace() {
    let mut c = Cleanup::default();
    let dir = tree(&mut c);
    let mut flags = exec_rules();
    flags.extend(["--landlock-read".into(), s(&dir.join("readable"))]);
    flags.extend(["--landlock-write".into(), s(&dir.join("writable"))]);
    let p = s(&probe());
    let readable = s(&dir.join("readable/f"));
    let other = s(&dir.join("other/f"));

    let v = json(&run(&flags, &[&p, "inspect", &readable, &other]));
    assert_eq!(
        v["paths"][&readable]["read"],
        serde_json::json!(b"r"),
        "{v}"
    );
    assert_eq!(v["paths"][&other]["read"]["errno"], libc::EACCES, "{v}");
    // Not even a namespace of its own: the same user namespace as this test.
    let own_user_ns = fs::read_link("/proc/self/ns/user").unwrap();
    let v = json(&run(&flags, &[&p, "report"]));
    assert_eq!(v["ns"]["user"], s(&own_user_ns), "{v}");

    let write = |path: &Path| json(&run(&flags, &[&p, "write", &s(path), "x"]));
    assert_eq!(write(&dir.join("writable/new"))["ok"], true);
    assert_eq!(write(&dir.join("other/new"))["errno"], libc::EACCES);
    assert_eq!(write(&dir.join("readable/new"))["errno"], libc::EACCES);
    assert!(!dir.join("other/new").exists());

    // The control: no rules, no confinement.
    let v = json(&run(&[], &[&p, "inspect", &other]));
    assert_eq!(v["paths"][&other]["read"], serde_json::json!(b"o"), "{v}");
}

/// TCP rules: connecting to a port no rule allows is refused (EACCES) before any packet;
/// an allowed port is tried for real (ECONNREFUSED: nothing listens). The control: without
/// --landlock-no-tcp the same connect is tried too.
#[test]
fn tcp_rules_confine_connect_and_bind() {
    let python = "/usr/bin/python3";
    if !Path::new(python).exists() {
        eprintln!("note: no python3 to make the connections; skipped");
        return;
    }
    let script = "import socket,sys\n\
        s=socket.socket()\n\
        try:\n    s.connect(('127.0.0.1', int(sys.argv[1]))); print('connected')\n\
        except OSError as e: print(e.errno)\n\
        b=socket.socket()\n\
        try:\n    b.bind(('127.0.0.1', int(sys.argv[2]))); print('bound')\n\
        except OSError as e: print(e.errno)\n";
    let mut flags = vec!["--landlock-no-tcp".to_string()];
    flags.extend(["--landlock-connect".into(), "1".into()]);
    let out = run(&flags, &[python, "-c", script, "2", "0"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}\n{}\n", libc::EACCES, libc::EACCES),
        "{out:?}"
    );
    let out = run(&flags, &[python, "-c", script, "1", "0"]);
    let refused = format!("{}\n{}\n", libc::ECONNREFUSED, libc::EACCES);
    assert_eq!(String::from_utf8_lossy(&out.stdout), refused, "{out:?}");
    // The control: no TCP rules.
    let out = run(&[], &[python, "-c", script, "2", "0"]);
    let free = format!("{}\nbound\n", libc::ECONNREFUSED);
    assert_eq!(String::from_utf8_lossy(&out.stdout), free, "{out:?}");
}

/// The signal scope: the program cannot signal a process outside its Landlock domain (this
/// test's own process; EPERM), though it could without it.
#[test]
fn the_signal_scope_keeps_signals_inside() {
    let me = std::process::id().to_string();
    let script = "kill -0 \"$1\" 2>/dev/null && echo sent || echo refused";
    let out = run(
        &["--landlock-scope".into(), "signal".into()],
        &["/bin/sh", "-c", script, "sh", &me],
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "refused\n", "{out:?}");
    let out = run(&[], &["/bin/sh", "-c", script, "sh", &me]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "sent\n", "{out:?}");
}

/// A rule's path that does not exist is refused by name before the program runs; a name
/// that is not a scope is refused before anything starts.
#[test]
fn bad_rules_are_refused_clearly() {
    let out = run(
        &[
            "--landlock-read".into(),
            "/nonexistent-landlock-path".into(),
        ],
        &["/bin/true"],
    );
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("landlock(path)(0) /nonexistent-landlock-path: no such file or directory"),
        "{err}"
    );
    let out = run(
        &["--landlock-scope".into(), "everything".into()],
        &["/bin/true"],
    );
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown Landlock scope `everything`"), "{err}");
}
