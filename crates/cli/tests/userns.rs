//! Nested user namespaces disabled: native `--disable-userns` / `--assert-userns-disabled`
//! and bubblewrap's flags of the same names, end to end, as root and as an ordinary user.
use forkexec_testkit::support;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use forkexec_spec::Location;
use serde_json::{json, Value};
use support::Cleanup;

fn cli() -> PathBuf {
    match std::env::var_os("FORKEXEC_RUN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_forkexec-run")),
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(cli())
        .args(args)
        .env("FORKEXEC_HELPER", support::helper())
        .stdin(Stdio::null())
        .current_dir("/")
        .output()
        .expect("run forkexec-run")
}

/// The probe's JSON line, from a run that must succeed.
fn probe_json(out: &Output) -> Value {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"))
}

/// The host's `/` and its `/proc`, bound writable: room for a nested forkexec-run.
const HOST_AND_PROC: [&str; 6] = ["--bind", "/", "/", "--bind", "/proc", "/proc"];

fn enospc() -> Value {
    json!({"ret": -1, "errno": libc::ENOSPC})
}

#[test]
fn native_disable_userns_leaves_the_program_none() {
    let probe = support::probe_copy().to_string_lossy().into_owned();
    let unshare = |flags: &[&str]| {
        let mut args = flags.to_vec();
        args.extend(["--", &probe, "syscall", "unshare-user"]);
        probe_json(&run(&args))
    };
    // (It brings its own user namespace.)
    assert_eq!(unshare(&["--disable-userns"]), enospc());
    assert_eq!(unshare(&["--unshare-user"]), json!({"ret": 0}));
    assert_eq!(unshare(&[]), json!({"ret": 0}));
    // A joined user namespace cannot be the one the limit is set in.
    let out = run(&["--disable-userns", "--userns", "3", "--", "true"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
    assert_eq!(out.status.code(), Some(125), "{stderr}");
}

#[test]
fn native_assert_refuses_a_start_where_user_namespaces_work() {
    let mut cleanup = Cleanup::default();
    let marker = cleanup.dir("assert-userns").join("ran");
    let probe = support::probe_copy().to_string_lossy().into_owned();
    let marker_arg = marker.to_string_lossy().into_owned();
    let write = ["--", &probe, "write", &marker_arg, "x"];
    let with = |flags: &[&str]| run(&[flags, &write[..]].concat());
    let out = with(&["--assert-userns-disabled"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let want = format!("{}(0): success", Location::AssertUsernsDisabled.name());
    assert!(stderr.contains(&want), "{stderr}");
    assert_eq!(out.status.code(), Some(125), "{stderr}");
    assert!(!marker.exists(), "the program ran");
    // Disabled first, the check passes (the marker's directory is not writable for the
    // program as root's host uid 65534: what matters is that it ran).
    let out = with(&["--disable-userns", "--assert-userns-disabled"]);
    assert!(out.status.success(), "{out:?}");
}

/// Where `/proc/sys` is read-only, the limit cannot be set: the start fails at
/// `max_user_namespaces` with EROFS, before the program runs.
#[test]
fn a_limit_that_cannot_be_set_fails_the_start() {
    let me = cli().to_string_lossy().into_owned();
    let outer = [&["--bwrap", "--unshare-user"][..], &HOST_AND_PROC[..]].concat();
    let out = run(&[
        &outer[..],
        &[
            "--ro-bind",
            "/proc/sys",
            "/proc/sys",
            "--",
            &me,
            "--bwrap",
            "--unshare-user",
            "--disable-userns",
            "--bind",
            "/",
            "/",
            "--",
            "echo",
            "ran",
        ],
    ]
    .concat());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let want = format!(
        "bwrap: {}(0): read-only file system",
        Location::MaxUserNamespaces.name()
    );
    assert_eq!(stderr.trim_end(), want);
    assert_eq!((out.status.code(), &out.stdout[..]), (Some(1), &b""[..]));
}

/// bubblewrap's lines (test-run.sh's "can disable nested userns"): a nested sandbox cannot
/// make a user namespace, neither can a program in a sandbox nested as uid 0 with every
/// capability; a nested bwrap that needs none still runs (as that uid 0 too, whose
/// directory for the new root is its user's own, two user namespaces down).
#[test]
fn bwrap_disable_userns_holds_for_nested_sandboxes() {
    let me = cli().to_string_lossy().into_owned();
    let sh = |outer: &[&str], script: &str| {
        let mut args = vec!["--bwrap"];
        args.extend_from_slice(outer);
        args.extend(["--unshare-user", "--disable-userns", "--dev-bind", "/", "/"]);
        args.extend(["--", "sh", "-c", script]);
        run(&args)
    };
    let recurse = [&support::USERNS_ROOT_ALL_CAPS[..], &HOST_AND_PROC[..]].concat();
    for outer in [&[][..], &recurse[..]] {
        let nested = format!(
            "(echo 100 > /proc/sys/user/max_user_namespaces) 2>/dev/null; \
             {me} --bwrap --unshare-user --dev-bind / / -- true; echo $?; \
             {me} --bwrap --dev-bind / / -- echo ran"
        );
        let out = sh(outer, &nested);
        // Only uid 0 runs bwrap without a user namespace of its own (anyone else gets one).
        let uid0 = support::is_root() || !outer.is_empty();
        let enospc = "bwrap: unshare(0): no space left on device\n";
        let (stdout, stderr) = match uid0 {
            true => ("1\nran\n", enospc.to_string()),
            false => ("1\n", enospc.repeat(2)),
        };
        assert_eq!(
            (
                &*String::from_utf8_lossy(&out.stdout),
                &*String::from_utf8_lossy(&out.stderr)
            ),
            (stdout, &*stderr),
            "{outer:?}"
        );
    }
}
