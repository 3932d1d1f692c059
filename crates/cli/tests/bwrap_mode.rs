//! forkexec-run's bubblewrap mode from the outside (docs/cli.md, "bubblewrap mode"): selected
//! by the name `bwrap` or a leading `--bwrap`, bubblewrap's defaults, `--args FD`,
//! `--seccomp FD`, and options not supported yet refused by name with nothing run. Runs as
//! root and as an ordinary user.
use forkexec_testkit::support;

use std::fs;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::symlink;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use support::Cleanup;

fn cli() -> PathBuf {
    match std::env::var_os("FORKEXEC_RUN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_forkexec-run")),
    }
}

/// `forkexec-run --bwrap ARGS…`.
fn bwrap(args: &[&str]) -> Command {
    let mut c = Command::new(cli());
    c.arg("--bwrap")
        .args(args)
        .env("FORKEXEC_HELPER", support::helper())
        .env_remove("XDG_RUNTIME_DIR")
        .stdin(Stdio::null());
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The system's programs, read-only, as bubblewrap's own tests give them.
const HOST: [&str; 15] = [
    "--ro-bind",
    "/usr",
    "/usr",
    "--ro-bind-try",
    "/lib",
    "/lib",
    "--ro-bind-try",
    "/lib64",
    "/lib64",
    "--ro-bind-try",
    "/bin",
    "/bin",
    "--proc",
    "/proc",
    "--unshare-pid",
];

fn host_sh(script: &str, extra: &[&str]) -> Output {
    let mut args: Vec<&str> = HOST.to_vec();
    args.extend_from_slice(extra);
    args.extend(["/bin/sh", "-c", script]);
    bwrap(&args).output().unwrap()
}

#[test]
fn bubblewraps_defaults() {
    // pid 2 under the helper's init; --as-pid-1 makes it pid 1.
    let out = host_sh("echo $$", &[]);
    assert_eq!(text(&out.stdout), "2\n", "{out:?}");
    let out = host_sh("echo $$", &["--as-pid-1"]);
    assert_eq!(text(&out.stdout), "1\n", "{out:?}");
    // The root is a writable tmpfs.
    let out = host_sh("echo x > /new && cat /new", &[]);
    assert_eq!(text(&out.stdout), "x\n", "{out:?}");
    // No new session unless --new-session: the session is the caller's (this test's).
    let session = |extra: &[&str]| {
        let out = host_sh("cut -d' ' -f6 /proc/self/stat", extra);
        assert!(out.status.success(), "{out:?}");
        text(&out.stdout).trim().parse::<i32>().unwrap()
    };
    // Without: the caller's session, which lies outside the new pid namespace (0 there).
    assert_eq!(session(&[]), 0);
    // With: the program (pid 2) leads a session of its own.
    assert_eq!(session(&["--new-session"]), 2);
    // Values that look like flags are values: the caller's environment, --setenv, --chdir.
    let mut args: Vec<&str> = HOST.to_vec();
    args.extend(["--dir", "/-d", "--chdir", "/-d", "--setenv", "B", "-b"]);
    args.extend(["/bin/sh", "-c", "echo $A $B $PWD"]);
    let out = bwrap(&args).env("A", "--a").output().unwrap();
    assert_eq!(text(&out.stdout), "--a -b /-d\n", "{out:?}");
    // Without an environment option: the caller's environment, whole and in order (std's
    // Command passes a cleared environment's variables sorted by name).
    let out = bwrap(&[&HOST[..], &["/usr/bin/env"]].concat())
        .env_clear()
        .env("FORKEXEC_HELPER", support::helper())
        .env("A", "--a")
        .env("Z", "1")
        .output()
        .unwrap();
    let want = format!(
        "A=--a\nFORKEXEC_HELPER={}\nZ=1\nPWD=/\n",
        support::helper().display()
    );
    assert_eq!(text(&out.stdout), want, "{out:?}");
}

#[test]
fn proc_is_writable_with_bubblewraps_covers_and_native_proc_is_read_only() {
    // bwrap's --proc: the program may write its own /proc entries, and a nested sandbox its
    // child's (here unshare writes /proc/self/uid_map); /proc/irq is covered read-only where
    // the sandbox could write it (as host root), as bubblewrap covers it.
    let script = "echo 5 > /proc/self/oom_score_adj && cat /proc/self/oom_score_adj; \
                  unshare -Ur true && echo nested; \
                  grep -c ' /proc/irq ro,' /proc/self/mountinfo";
    let out = host_sh(script, &["--unshare-user"]);
    let irq = if support::is_root() { 1 } else { 0 };
    assert_eq!(text(&out.stdout), format!("5\nnested\n{irq}\n"), "{out:?}");
    // forkexec-run's own --proc stays read-only (its safe default).
    let out = Command::new(cli())
        .env("FORKEXEC_HELPER", support::helper())
        .args(["--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin"])
        .args([
            "--symlink",
            "usr/lib",
            "/lib",
            "--symlink",
            "usr/lib64",
            "/lib64",
        ])
        .args([
            "--proc",
            "/proc",
            "--",
            "/bin/sh",
            "-c",
            "echo 5 > /proc/self/oom_score_adj",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    assert!(
        text(&out.stderr).contains("Read-only file system"),
        "{out:?}"
    );
}

#[test]
fn the_name_bwrap_selects_the_mode() {
    let mut c = Cleanup::default();
    let link = c.dir("bwrap-name").join("bwrap");
    symlink(cli(), &link).unwrap();
    let out = Command::new(&link).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(
        text(&out.stdout).starts_with(&format!(
            "usage: {} [OPTIONS...] [--] COMMAND",
            link.display()
        )),
        "{out:?}"
    );
    let out = Command::new(&link).arg("--version").output().unwrap();
    assert!(
        text(&out.stdout).starts_with("bubblewrap 0.11.1 (forkexec-run "),
        "{out:?}"
    );
}

#[test]
fn unsupported_options_are_refused_by_name_and_nothing_runs() {
    let mut c = Cleanup::default();
    let marker = c.dir("bwrap-refused").join("ran");
    let m = marker.to_string_lossy().into_owned();
    for opt in [&["--exec-label", "x"][..], &["--file-label", "x"]] {
        let mut args = vec!["--bind", "/", "/"];
        args.extend_from_slice(opt);
        args.extend(["/bin/touch", &m]);
        let out = bwrap(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{opt:?}: {out:?}");
        // bubblewrap's own words without SELinux; with it, labels are not applied (yet).
        if std::path::Path::new("/sys/fs/selinux/enforce").exists() {
            let want = format!("bwrap: {}: SELinux labels are not applied", opt[0]);
            assert!(text(&out.stderr).starts_with(&want), "{out:?}");
        } else {
            assert_eq!(
                text(&out.stderr),
                "bwrap: labeling not supported on this system\n"
            );
        }
        assert!(!marker.exists(), "{opt:?}: the command ran");
    }
    let out = bwrap(&["--bogus", "true"]).output().unwrap();
    assert_eq!(
        (out.status.code(), text(&out.stderr).as_str()),
        (Some(1), "bwrap: Unknown option --bogus\n")
    );
    let out = bwrap(&["--level-prefix", "--bogus", "true"])
        .output()
        .unwrap();
    assert_eq!(text(&out.stderr), "<3>bwrap: Unknown option --bogus\n");
    // An unknown capability: bwrap's words, nothing run.
    let out = bwrap(&[
        "--bind",
        "/",
        "/",
        "--cap-drop",
        "CAP_BOGUS",
        "/bin/touch",
        &m,
    ])
    .output()
    .unwrap();
    assert_eq!(
        (out.status.code(), text(&out.stderr).as_str()),
        (Some(1), "bwrap: unknown cap: CAP_BOGUS\n")
    );
    assert!(!marker.exists());
    // No command: the usage on stderr, exit 1; a command not found: execvp's words, exit 1.
    let out = bwrap(&["--unshare-pid"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("usage: "), "{out:?}");
    let out = bwrap(&["--bind", "/", "/", "no-such-program-here"])
        .output()
        .unwrap();
    assert_eq!(
        (out.status.code(), text(&out.stderr).as_str()),
        (
            Some(1),
            "bwrap: execvp no-such-program-here: No such file or directory\n"
        )
    );
}

/// The program's capability sets and no_new_privs, as `/proc/self/status` shows them.
fn caps(out: &Output) -> (String, String) {
    assert!(out.status.success(), "{out:?}");
    let status = text(&out.stdout);
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("{name} in {status}"))
            .trim()
            .to_string()
    };
    (field("CapEff:"), field("NoNewPrivs:"))
}

const NO_CAPS: &str = "0000000000000000";

/// The same shared flags, natively and in bubblewrap mode: native forkexec-run keeps its safe
/// defaults (no capability, host uid 65534 for root's user namespace); bwrap mode does what
/// bubblewrap does (root keeps its capabilities unless --cap-drop, anyone in a user namespace
/// has none unless --cap-add; no_new_privs always).
#[test]
fn native_keeps_its_safe_defaults_and_bwrap_mode_has_bubblewraps() {
    let root = support::is_root();
    let status = ["/bin/cat", "/proc/self/status"];
    let native = |extra: &[&str]| {
        let mut c = Command::new(cli());
        c.args(HOST)
            .args(extra)
            .args(status)
            .env("FORKEXEC_HELPER", support::helper())
            .env_remove("XDG_RUNTIME_DIR")
            .stdin(Stdio::null());
        c.output().unwrap()
    };
    let bwrapped = |extra: &[&str]| {
        let mut args: Vec<&str> = HOST.to_vec();
        args.extend_from_slice(extra);
        args.extend(status);
        bwrap(&args).output().unwrap()
    };
    let userns = ["--unshare-user", "--uid", "0", "--gid", "0"];
    // Natively: nothing, in every shape.
    for extra in [&[][..], &userns] {
        assert_eq!(
            caps(&native(extra)),
            (NO_CAPS.into(), "1".into()),
            "{extra:?}"
        );
    }
    // uid 0 of a user namespace: none unless --cap-add, in both modes.
    let mut added = userns.to_vec();
    added.extend(["--cap-add", "ALL"]);
    if root {
        // As root, bubblewrap keeps root's own capabilities in its user namespace.
        assert_ne!(caps(&bwrapped(&userns)).0, NO_CAPS);
    } else {
        assert_eq!(caps(&bwrapped(&userns)), (NO_CAPS.into(), "1".into()));
    }
    assert_ne!(caps(&bwrapped(&added)).0, NO_CAPS);
    assert_eq!(caps(&bwrapped(&added)).1, "1");
    let mut dropped = userns.to_vec();
    dropped.extend(["--cap-drop", "ALL"]);
    assert_eq!(caps(&bwrapped(&dropped)).0, NO_CAPS);
    // A set in between: exactly it (uid 0 of a user namespace, as bwrap keeps it; read in
    // order, from root's own as root).
    let mut some = userns.to_vec();
    some.extend([
        "--cap-drop",
        "ALL",
        "--cap-add",
        "CAP_NET_ADMIN",
        "--cap-add",
        "cap_kill",
    ]);
    assert_eq!(caps(&bwrapped(&some)).0, "0000000000001020");
    if root {
        // Root's own less the dropped ones.
        let eff = |out: &Output| u64::from_str_radix(&caps(out).0, 16).unwrap();
        let all = eff(&bwrapped(&[]));
        let fewer = eff(&bwrapped(&[
            "--cap-drop",
            "CAP_KILL",
            "--cap-drop",
            "CAP_FOWNER",
        ]));
        assert_eq!(fewer, all & !(1 << 5 | 1 << 3));
    }
    if root {
        // Host root without a user namespace: bubblewrap keeps root's capabilities.
        assert_ne!(caps(&bwrapped(&[])).0, NO_CAPS);
        assert_eq!(caps(&bwrapped(&["--cap-drop", "ALL"])).0, NO_CAPS);
        // ... and maps host root in a user namespace; forkexec-run maps 65534.
        let map = |out: Output| {
            text(&out.stdout)
                .split_whitespace()
                .nth(1)
                .map(String::from)
        };
        fn uid_map<'a>(extra: &[&'a str]) -> Vec<&'a str> {
            let mut args: Vec<&str> = HOST.to_vec();
            args.extend_from_slice(extra);
            args.extend(["/bin/cat", "/proc/self/uid_map"]);
            args
        }
        assert_eq!(
            map(bwrap(&uid_map(&userns)).output().unwrap()).as_deref(),
            Some("0")
        );
        let mut c = Command::new(cli());
        c.args(uid_map(&userns))
            .env("FORKEXEC_HELPER", support::helper())
            .env_remove("XDG_RUNTIME_DIR");
        assert_eq!(map(c.output().unwrap()).as_deref(), Some("65534"));
    }
}

/// bwrap's --die-with-parent brings no pid namespace (forkexec-run's own does); --perms,
/// --size and the default modes of --tmpfs, --file and --bind-data are bubblewrap's.
#[test]
fn die_with_parent_and_modes_as_bubblewrap() {
    let out = bwrap(&[
        "--bind",
        "/",
        "/",
        "--die-with-parent",
        "/bin/readlink",
        "/proc/self/ns/pid",
    ])
    .output()
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mine = fs::read_link("/proc/self/ns/pid").unwrap();
    assert_eq!(text(&out.stdout).trim(), mine.to_string_lossy());
    let out = host_sh(
        "stat -c %a /t /s /f /g /h; df --output=size --block-size=1K /s | tail -n 1",
        &[
            "--tmpfs",
            "/t",
            "--perms",
            "01777",
            "--size",
            "1048576",
            "--tmpfs",
            "/s",
            "--file",
            "0",
            "/f",
            "--bind-data",
            "0",
            "/g",
            "--perms",
            "0640",
            "--ro-bind-data",
            "0",
            "/h",
        ],
    );
    assert_eq!(
        text(&out.stdout).split_whitespace().collect::<Vec<_>>(),
        ["755", "1777", "666", "600", "640", "1024"],
        "{out:?}"
    );
}

/// The directories bwrap makes on the way to a mount target: 0755 less what the option's mode
/// denies the group and the others (0700 for a bind); the mount point of a file bind 0444
/// (seen on the host through `--bind / /`).
#[test]
fn parents_and_mount_points_have_bubblewraps_modes() {
    use std::os::unix::fs::PermissionsExt;
    let mut c = Cleanup::default();
    let d = c.dir("bwrap-parents");
    let p = |name: &str| d.join(name).to_string_lossy().into_owned();
    let (a, cd, ef, gh, file) = (p("a/b"), p("c/d"), p("e/f"), p("g/h"), p("file"));
    fs::write(d.join("src"), "x").unwrap();
    let src = p("src");
    let out = bwrap(&[
        "--bind", "/", "/", "--perms", "0700", "--dir", &a, "--dir", &cd, "--perms", "0604",
        "--dir", &gh, "--bind", "/usr", &ef, "--bind", &src, &file, "true",
    ])
    .output()
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mode = |name: &str| fs::metadata(d.join(name)).unwrap().permissions().mode() & 0o7777;
    assert_eq!(
        ["a", "a/b", "c", "c/d", "g", "g/h", "e", "e/f", "file"].map(mode),
        [0o700, 0o700, 0o755, 0o755, 0o705, 0o604, 0o700, 0o755, 0o444]
    );
}

/// --chmod as bubblewrap's: the mode of an existing path, exactly (a directory made before it
/// too); a missing path fails and nothing runs; --perms does not apply to it; a bad mode is
/// refused in bwrap's words.
#[test]
fn chmod_sets_the_mode_of_an_existing_path() {
    use std::os::unix::fs::PermissionsExt;
    let mut c = Cleanup::default();
    let d = c.dir("bwrap-chmod");
    let p = |name: &str| d.join(name).to_string_lossy().into_owned();
    let (file, made, marker) = (p("file"), p("made"), p("ran"));
    fs::write(&file, "x").unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    let out = bwrap(&[
        "--bind", "/", "/", "--chmod", "1750", &file, "--dir", &made, "--chmod", "0700", &made,
        "true",
    ])
    .output()
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let mode = |path: &str| fs::metadata(path).unwrap().permissions().mode() & 0o7777;
    assert_eq!((mode(&file), mode(&made)), (0o1750, 0o700));
    let missing = p("missing");
    for (args, err) in [
        (
            &["--chmod", "0700", &missing][..],
            "no such file or directory",
        ),
        (
            &["--chmod", "8", &file],
            "--chmod takes an octal argument <= 07777",
        ),
        (
            &["--perms", "0700", "--chmod", "0700", &file],
            "--perms must be followed by an option that creates a file",
        ),
    ] {
        let mut argv = vec!["--bind", "/", "/"];
        argv.extend_from_slice(args);
        argv.extend(["/bin/touch", &marker]);
        let out = bwrap(&argv).output().unwrap();
        assert_ne!(out.status.code(), Some(0), "{args:?}: {out:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(err) || stderr.to_lowercase().contains(err),
            "{args:?}: {out:?}"
        );
        assert!(!Path::new(&marker).exists(), "{args:?}: the command ran");
        assert!(
            !Path::new(&missing).exists(),
            "{args:?}: made the missing path"
        );
    }
    assert_eq!(mode(&file), 0o1750, "unchanged by the refused ones");
}

/// A --symlink onto a host path shown through a bind: the same link there already is fine,
/// another one is refused in bubblewrap's words, and nothing runs.
#[test]
fn a_symlink_already_there_is_idempotent() {
    let mut c = Cleanup::default();
    let dir = c.dir("bwrap-symlink");
    fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let d = dir.to_string_lossy().into_owned();
    let link = format!("{d}/link");
    symlink("/dev/null", &link).unwrap();
    let run = |target: &str| {
        bwrap(&[
            "--ro-bind",
            "/",
            "/",
            "--bind",
            &d,
            &d,
            "--symlink",
            target,
            &link,
            "true",
        ])
        .output()
        .unwrap()
    };
    let out = run("/dev/null");
    assert!(out.status.success(), "{out:?}");
    let out = run("/dev/full");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!("bwrap: Can't make symlink at {link}: existing destination is /dev/null\n")
    );
}

fn pipe_with(bytes: &[u8]) -> OwnedFd {
    let (r, mut w) = std::io::pipe().unwrap();
    w.write_all(bytes).unwrap();
    r.into()
}

/// `--args FD` and `--seccomp FD`: the fds reach forkexec-run with their numbers.
fn with_fds(mut c: Command, fds: Vec<OwnedFd>) -> Output {
    let raw: Vec<i32> = fds.iter().map(|f| f.as_raw_fd()).collect();
    // SAFETY: only fcntl between fork and exec.
    unsafe {
        c.pre_exec(move || {
            for &fd in &raw {
                if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let out = c.output().unwrap();
    drop(fds);
    out
}

#[test]
fn args_and_seccomp_come_from_fds() {
    let args = pipe_with(b"--setenv\0FROM_FD\0yes\0");
    let fd = args.as_raw_fd().to_string();
    let mut argv: Vec<&str> = HOST.to_vec();
    argv.extend(["--args", &fd, "/bin/sh", "-c", "echo $FROM_FD"]);
    let out = with_fds(bwrap(&argv), vec![args]);
    assert_eq!(text(&out.stdout), "yes\n", "{out:?}");

    // A one-instruction program: return SECCOMP_RET_ALLOW. The program runs under it.
    let mut bpf = Vec::new();
    bpf.extend_from_slice(&0x06u16.to_ne_bytes()); // BPF_RET | BPF_K
    bpf.extend_from_slice(&[0, 0]);
    bpf.extend_from_slice(&0x7fff_0000u32.to_ne_bytes());
    let filter = pipe_with(&bpf);
    let fd = filter.as_raw_fd().to_string();
    let mut argv: Vec<&str> = HOST.to_vec();
    argv.extend([
        "--seccomp",
        &fd,
        "/bin/sh",
        "-c",
        "grep '^Seccomp:' /proc/self/status",
    ]);
    let out = with_fds(bwrap(&argv), vec![filter]);
    assert_eq!(text(&out.stdout), "Seccomp:\t2\n", "{out:?}");

    let bad = pipe_with(&[1, 2, 3]);
    let fd = bad.as_raw_fd().to_string();
    let out = with_fds(
        bwrap(&["--bind", "/", "/", "--seccomp", &fd, "true"]),
        vec![bad],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "bwrap: Invalid seccomp data, must be multiple of 8\n"
    );
    let _ = fs::metadata("/");
}

/// Classic BPF bytes: `ret ALLOW`, or x86_64 syscall `nr` refused with EPERM and the rest
/// allowed.
fn bpf(refuse: Option<u32>) -> Vec<u8> {
    let insn = |code: u16, jt: u8, jf: u8, k: u32| {
        let mut b = code.to_ne_bytes().to_vec();
        b.extend([jt, jf]);
        b.extend(k.to_ne_bytes());
        b
    };
    let mut p = Vec::new();
    if let Some(nr) = refuse {
        p.extend(insn(0x20, 0, 0, 0)); // ld [0]: the syscall number
        p.extend(insn(0x15, 0, 1, nr)); // jeq nr
        p.extend(insn(0x06, 0, 0, 0x0005_0001)); // ret ERRNO(EPERM)
    }
    p.extend(insn(0x06, 0, 0, 0x7fff_0000)); // ret ALLOW
    p
}

/// `--add-seccomp-fd` stacks programs in order, each read (and its fd closed) at once, as
/// bubblewrap does; an empty program fails as bwrap's prctl does.
#[test]
fn add_seccomp_fd_stacks_programs() {
    let filters = |status: &str| -> u32 {
        let line = status.lines().find(|l| l.starts_with("Seccomp_filters:"));
        line.unwrap()
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap()
    };
    let ours = filters(&fs::read_to_string("/proc/self/status").unwrap());
    let (a, b) = (pipe_with(&bpf(None)), pipe_with(&bpf(None)));
    let (fa, fb) = (a.as_raw_fd().to_string(), b.as_raw_fd().to_string());
    let mut argv: Vec<&str> = HOST.to_vec();
    argv.extend(["--add-seccomp-fd", &fa, "--add-seccomp-fd", &fb]);
    argv.extend(["cat", "/proc/self/status"]);
    let out = with_fds(bwrap(&argv), vec![a, b]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(filters(&text(&out.stdout)), ours + 2);

    // The same fd twice: the first read closed it.
    let a = pipe_with(&bpf(None));
    let fa = a.as_raw_fd().to_string();
    let args = [
        "--bind",
        "/",
        "/",
        "--add-seccomp-fd",
        &fa,
        "--add-seccomp-fd",
        &fa,
        "true",
    ];
    let out = with_fds(bwrap(&args), vec![a]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "bwrap: Can't read seccomp data: Bad file descriptor\n"
    );

    // An empty program reaches bwrap's prctl, which refuses it.
    let a = pipe_with(b"");
    let fa = a.as_raw_fd().to_string();
    let out = with_fds(
        bwrap(&["--bind", "/", "/", "--add-seccomp-fd", &fa, "true"]),
        vec![a],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "bwrap: Unable to set up system call filtering as requested: prctl(PR_SET_SECCOMP) \
         reported EINVAL. (Hint: this requires a kernel configured with CONFIG_SECCOMP and \
         CONFIG_SECCOMP_FILTER.)\n"
    );

    // In order: a first program that refuses prctl stops the second, and nothing runs.
    if cfg!(target_arch = "x86_64") {
        // `echo ran` after `flags` and two programs on pipes, each refusing the syscall it is
        // given (157 is prctl) or nothing.
        let two = |flags: &[&str], first: Option<u32>, second: Option<u32>| {
            let (a, b) = (pipe_with(&bpf(first)), pipe_with(&bpf(second)));
            let (fa, fb) = (a.as_raw_fd().to_string(), b.as_raw_fd().to_string());
            let mut argv = flags.to_vec();
            argv.extend(["--add-seccomp-fd", &fa, "--add-seccomp-fd", &fb]);
            argv.extend(["echo", "ran"]);
            with_fds(bwrap(&argv), vec![a, b])
        };
        let out = two(&HOST, Some(157), None);
        assert!(!out.status.success(), "{out:?}");
        assert_eq!(text(&out.stdout), "");
        // The other order: the last program may refuse prctl (without a pid namespace: the
        // helper's init makes itself dumpable with prctl once it has taken the filters).
        let out = two(&["--ro-bind", "/", "/"], None, Some(157));
        assert_eq!(text(&out.stdout), "ran\n", "{out:?}");
    }
}

/// A failed step exits 1 with bubblewrap's words (the spec's `bwrap_errors`: the helper says
/// it in forkexec-run's place), in place and with the helper's init (`--unshare-pid`).
#[test]
fn failures_exit_1_in_bubblewraps_words() {
    let cases: [(&[&str], &str); 7] = [
        (
            &["/nonexistent"],
            "bwrap: execvp /nonexistent: No such file or directory\n",
        ),
        (&["/"], "bwrap: execvp /: Permission denied\n"),
        (
            &["--chdir", "/nonexistent", "true"],
            "bwrap: Can't chdir to /nonexistent: No such file or directory\n",
        ),
        (
            &["--dir", "/etc/passwd/d", "true"],
            "bwrap: Can't mkdir parents for /etc/passwd/d: Not a directory\n",
        ),
        (
            &["--symlink", "x", "/usr/forkexec-missing/l", "true"],
            "bwrap: Can't mkdir parents for /usr/forkexec-missing/l: Read-only file system\n",
        ),
        (
            &["--ro-bind", "/etc/passwd", "/usr/forkexec-missing", "true"],
            "bwrap: Can't create file at /usr/forkexec-missing: Read-only file system\n",
        ),
        (
            &["--dir", "/usr/forkexec-missing", "true"],
            "bwrap: Can't mkdir /usr/forkexec-missing: Read-only file system\n",
        ),
    ];
    for pid in [false, true] {
        for (args, want) in cases {
            let mut argv = vec!["--ro-bind", "/", "/"];
            if pid {
                argv.extend(["--unshare-pid", "--proc", "/proc"]);
            }
            argv.extend(args);
            let out = bwrap(&argv).output().unwrap();
            assert_eq!(out.status.code(), Some(1), "{argv:?}: {out:?}");
            assert_eq!(text(&out.stderr), want, "{argv:?}");
            assert_eq!(text(&out.stdout), "");
        }
    }
}

/// With `--level-prefix` the helper's failure line (in forkexec-run's place) starts with
/// bwrap's level too (`<3>bwrap: `, as bwrap 0.11's `die`), while its init, named after
/// the same argv[0], is still `bwrap`. (Debian's bwrap 0.8.0 has no `--level-prefix`.)
#[test]
fn level_prefix_reaches_the_helpers_words() {
    for pid in [false, true] {
        let mut argv = vec!["--level-prefix", "--ro-bind", "/", "/"];
        if pid {
            argv.extend(["--unshare-pid", "--proc", "/proc"]);
        }
        argv.extend(["--chdir", "/nonexistent", "true"]);
        let out = bwrap(&argv).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{argv:?}: {out:?}");
        assert_eq!(
            text(&out.stderr),
            "<3>bwrap: Can't chdir to /nonexistent: No such file or directory\n",
            "{argv:?}"
        );
    }
    let argv = [
        "--level-prefix",
        "--ro-bind",
        "/",
        "/",
        "--unshare-pid",
        "--proc",
        "/proc",
        "cat",
        "/proc/1/comm",
    ];
    let out = bwrap(&argv).output().unwrap();
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), "bwrap\n".into()),
        "{out:?}"
    );
}

/// `--info-fd FD` and `--json-status-fd FD`, as bubblewrap's suite uses them: the pid and the
/// namespace ids the program sees, then its exit code.
#[test]
fn info_and_json_status_fds() {
    let (info_r, info_w) = std::io::pipe().unwrap();
    let (json_r, json_w) = std::io::pipe().unwrap();
    let (info_fd, json_fd) = (
        info_w.as_raw_fd().to_string(),
        json_w.as_raw_fd().to_string(),
    );
    let mut argv: Vec<&str> = HOST.to_vec();
    argv.extend([
        "--unshare-all",
        "--info-fd",
        &info_fd,
        "--json-status-fd",
        &json_fd,
    ]);
    argv.extend(["/bin/sh", "-c", "readlink /proc/self/ns/net; exit 42"]);
    let out = with_fds(bwrap(&argv), vec![info_w.into(), json_w.into()]);
    assert_eq!(out.status.code(), Some(42), "{out:?}");
    let net = text(&out.stdout);
    let net = net.trim().trim_start_matches("net:[").trim_end_matches(']');
    let read = |mut r: std::io::PipeReader| {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut r, &mut s).unwrap();
        s
    };
    let (info, json) = (read(info_r), read(json_r));
    assert!(info.starts_with("{\n    \"child-pid\": "), "{info}");
    assert!(
        info.contains(&format!(",\n    \"net-namespace\": {net},\n")),
        "{info}"
    );
    assert!(info.ends_with("\n}\n"), "{info}");
    let lines: Vec<&str> = json.lines().collect();
    assert_eq!(lines.len(), 2, "{json}");
    assert!(lines[0].starts_with("{ \"child-pid\": "), "{json}");
    assert!(
        lines[0].contains(&format!(", \"net-namespace\": {net}, ")),
        "{json}"
    );
    assert_eq!(lines[1], "{ \"exit-code\": 42 }");
}

/// The overlay options map onto forkexec-run's own: bubblewrap's order of `--overlay-src`
/// (bottom first), its relative paths, its refusals word for word, and its rule that an
/// `--overlay-src` is followed by another or by an overlay option.
#[test]
fn overlays_as_bubblewrap_has_them() {
    let mut c = Cleanup::default();
    let dir = c.dir("bwrap-overlay");
    for d in ["lower1", "lower2", "upper", "work"] {
        fs::create_dir(dir.join(d)).unwrap();
    }
    for (f, v) in [
        ("lower1/a", "1"),
        ("lower1/b", "2"),
        ("lower2/b", "3"),
        ("upper/a", "4"),
    ] {
        fs::write(dir.join(f), v).unwrap();
    }
    let run = |args: &[&str]| {
        let mut all = vec!["--bind", "/", "/", "--tmpfs", "/tmp"];
        all.extend_from_slice(args);
        let mut cmd = bwrap(&all);
        cmd.current_dir(&dir);
        cmd.output().unwrap()
    };
    let two = ["--overlay-src", "lower1", "--overlay-src", "lower2"];
    let cat = ["cat", "/tmp/x/a", "/tmp/x/b"];
    let out = run(&[&two[..], &["--overlay", "upper", "work", "/tmp/x"], &cat].concat());
    assert_eq!(text(&out.stdout), "43", "{out:?}");
    let out = run(&[&two[..], &["--tmp-overlay", "/tmp/x", "sh", "-c"]]
        .concat()
        .iter()
        .copied()
        .chain(["printf 5 > /tmp/x/b; cat /tmp/x/a /tmp/x/b"])
        .collect::<Vec<_>>());
    assert_eq!(text(&out.stdout), "15", "{out:?}");
    assert_eq!(fs::read_to_string(dir.join("lower2/b")).unwrap(), "3");
    let out = run(&[&two[..], &["--ro-overlay", "/tmp/x"], &cat].concat());
    assert_eq!(text(&out.stdout), "13", "{out:?}");
    let refusals: [(&[&str], &str); 5] = [
        (
            &["--overlay", "upper", "work", "/tmp"],
            "--overlay requires at least one --overlay-src",
        ),
        (
            &["--tmp-overlay", "/tmp"],
            "--tmp-overlay requires at least one --overlay-src",
        ),
        (
            &["--overlay-src", "lower1", "--ro-overlay", "/tmp"],
            "--ro-overlay requires at least two --overlay-src",
        ),
        (
            &["--overlay-src", "/tmp"],
            "--overlay-src must be followed by another --overlay-src \
          or one of --overlay, --tmp-overlay, or --ro-overlay",
        ),
        (
            &["--overlay-src", "/tmp", "--chdir", "/"],
            "--overlay-src must be followed by \
          another --overlay-src or one of --overlay, --tmp-overlay, or --ro-overlay",
        ),
    ];
    let marker = dir.join("ran");
    let m = marker.to_string_lossy().into_owned();
    for (args, wanted) in refusals {
        let out = run(&[args, &["touch", &m]].concat());
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        assert_eq!(text(&out.stderr), format!("bwrap: {wanted}\n"), "{args:?}");
        assert!(!marker.exists(), "{args:?}: the command ran");
    }
}

/// `--userns FD --pidns FD`, as bubblewrap's test-specifying-pidns.sh: a second sandbox joins
/// the user and pid namespaces of a first one, found through its `--info-fd` child-pid (its
/// init, which the caller's user may open: bubblewrap's init is dumpable). `--userns` alone
/// replaces the user namespace an ordinary user would get.
#[test]
fn a_second_sandbox_joins_the_namespaces_of_the_first() {
    let (info_r, info_w) = std::io::pipe().unwrap();
    let (done_r, mut done_w) = std::io::pipe().unwrap();
    let info_fd = info_w.as_raw_fd().to_string();
    let mut argv: Vec<&str> = HOST.to_vec();
    argv.extend(["--unshare-user", "--info-fd", &info_fd]);
    argv.extend([
        "/bin/sh",
        "-c",
        "readlink /proc/self/ns/user /proc/self/ns/pid; read x",
    ]);
    let mut first = bwrap(&argv);
    first.stdout(Stdio::piped()).stdin(done_r);
    let raw = info_w.as_raw_fd();
    // SAFETY: only fcntl between fork and exec.
    unsafe {
        first.pre_exec(move || match libc::fcntl(raw, libc::F_SETFD, 0) {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        });
    }
    let mut first = first.spawn().unwrap();
    drop(info_w);
    let mut info = String::new();
    std::io::Read::read_to_string(&mut { info_r }, &mut info).unwrap();
    let pid: u32 = info
        .lines()
        .find_map(|l| l.trim().strip_prefix("\"child-pid\": "))
        .and_then(|v| v.trim_end_matches(',').parse().ok())
        .unwrap_or_else(|| panic!("no child-pid in {info}"));
    let mut seen = String::new();
    let mut lines = std::io::BufReader::new(first.stdout.take().unwrap());
    for _ in 0..2 {
        std::io::BufRead::read_line(&mut lines, &mut seen).unwrap();
    }
    let user = fs::File::open(format!("/proc/{pid}/ns/user")).expect("init's ns/user");
    let pidns = fs::File::open(format!("/proc/{pid}/ns/pid")).expect("init's ns/pid");
    let (u, p) = (user.as_raw_fd().to_string(), pidns.as_raw_fd().to_string());
    let mut argv: Vec<&str> = HOST[..HOST.len() - 1].to_vec(); // no --unshare-pid
    argv.extend(["--userns", &u, "--pidns", &p]);
    argv.extend(["readlink", "/proc/self/ns/user", "/proc/self/ns/pid"]);
    let out = with_fds(bwrap(&argv), vec![user.into(), pidns.into()]);
    writeln!(done_w).unwrap();
    drop(done_w);
    assert!(first.wait().unwrap().success());
    assert_eq!(text(&out.stdout), seen, "{out:?}");
}

/// Who holds a lock that conflicts with a write lock on `path` (`F_GETLK`: nothing taken):
/// `Some((type, pid))`, or `None` when it is free.
fn lock_holder(path: &Path) -> Option<(i32, u32)> {
    let f = fs::File::open(path).unwrap();
    // SAFETY: a zeroed flock is a valid value; F_GETLK reads and fills the one we own.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as i16;
    // SAFETY: fcntl on an fd we own with a pointer to a flock we own.
    assert_eq!(
        unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETLK, &mut fl) },
        0
    );
    (fl.l_type != libc::F_UNLCK as i16).then_some((fl.l_type as i32, fl.l_pid as u32))
}

type Started = (
    std::process::Child,
    std::io::BufReader<std::process::ChildStdout>,
);

/// bwrap running `sh -c 'echo started; read x; REST'` (with `keep` left open in it), once it
/// said "started"; closing its stdin lets it go on.
fn started(args: &[&str], rest: &str, keep: Option<&OwnedFd>) -> Started {
    let script = format!("echo started; read x; {rest}");
    let mut argv = args.to_vec();
    argv.extend(["/bin/sh", "-c", &script]);
    let mut c = bwrap(&argv);
    c.stdin(Stdio::piped()).stdout(Stdio::piped());
    if let Some(fd) = keep.map(|f| f.as_raw_fd()) {
        // SAFETY: only fcntl between fork and exec.
        unsafe {
            c.pre_exec(move || {
                if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut child = c.spawn().unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert_eq!(line, "started\n", "{args:?}");
    (child, out)
}

/// `--lock-file`: a read lock held by bwrap's init (pid 1 with `--unshare-pid`, else the
/// program's parent), not by bwrap itself, while the sandbox runs; released when it ends.
/// With `--as-pid-1`, or a relative path, refused with nothing run.
#[test]
fn lock_file_is_held_while_the_sandbox_runs() {
    let mut c = Cleanup::default();
    let lock = c.dir("bwrap-lock").join("lock");
    fs::write(&lock, "").unwrap();
    let l = lock.to_string_lossy().into_owned();
    for pid_ns in [false, true] {
        let mut args = vec!["--bind", "/", "/", "--die-with-parent", "--lock-file", &l];
        if pid_ns {
            args.push("--unshare-pid");
        }
        let (mut child, _out) = started(&args, "true", None);
        let holder = lock_holder(&lock);
        assert_eq!(holder.map(|h| h.0), Some(libc::F_RDLCK), "{args:?}");
        assert_ne!(
            holder.map(|h| h.1),
            Some(child.id()),
            "bwrap itself holds it"
        );
        drop(child.stdin.take());
        assert!(child.wait().unwrap().success());
        // Released once init has ended: bwrap exits as soon as its init reports the program's
        // end, and init exits right after (the bubblewrap mode's NO_WAIT_INIT), so wait a little.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while lock_holder(&lock).is_some() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert_eq!(lock_holder(&lock), None, "{args:?}: released");
    }
    let marker = c.dir("bwrap-lock-refused").join("ran");
    let m = marker.to_string_lossy().into_owned();
    for (args, said) in [
        (
            vec!["--unshare-pid", "--as-pid-1", "--lock-file", &l],
            "bwrap: Specifying --as-pid-1 and --lock-file is not permitted\n".to_string(),
        ),
        (
            vec!["--lock-file", "lock"],
            "bwrap: --lock-file lock (a relative path) is not supported by forkexec-run's \
             bubblewrap mode yet\n"
                .to_string(),
        ),
    ] {
        let mut argv = vec!["--bind", "/", "/"];
        argv.extend(args);
        argv.extend(["/bin/touch", &m]);
        let out = bwrap(&argv).output().unwrap();
        assert_eq!((out.status.code(), text(&out.stderr)), (Some(1), said));
        assert!(!marker.exists());
    }
}

/// `--sync-fd`: kept open by the sandbox's init, not by the program, so its other end sees
/// EOF when the sandbox ends; with `--as-pid-1` the program itself keeps it at its number.
#[test]
fn sync_fd_is_open_while_the_sandbox_runs() {
    for as_pid_1 in [false, true] {
        let (sync_r, sync_w) = std::io::pipe().unwrap();
        let sync_w = OwnedFd::from(sync_w);
        let fd = sync_w.as_raw_fd().to_string();
        let mut args = vec!["--bind", "/", "/", "--unshare-pid", "--sync-fd", &fd];
        if as_pid_1 {
            args.push("--as-pid-1");
        }
        let check = format!("test -e /proc/self/fd/{fd} && echo has || echo not");
        let (mut child, mut out) = started(&args, &check, Some(&sync_w));
        drop(sync_w);
        let mut pfd = libc::pollfd {
            fd: sync_r.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll on one pollfd we own, no wait.
        assert_eq!(
            unsafe { libc::poll(&mut pfd, 1, 0) },
            0,
            "EOF while running"
        );
        drop(child.stdin.take());
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
        assert!(child.wait().unwrap().success());
        assert_eq!(rest, if as_pid_1 { "has\n" } else { "not\n" });
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut &sync_r, &mut buf).unwrap();
        assert!(buf.is_empty());
    }
}

/// `--block-fd`: the program runs once the fd has a byte. `--userns-block-fd`: bwrap writes
/// no id maps; the caller reads the pid on `--info-fd`, writes them, then sends the byte; and
/// bwrap's checks in its words.
#[test]
fn block_fds_as_bubblewrap() {
    let (block_r, block_w) = std::io::pipe().unwrap();
    let block_r = OwnedFd::from(block_r);
    let fd = block_r.as_raw_fd().to_string();
    (&block_w).write_all(b"x").unwrap();
    let out = with_fds(
        bwrap(&["--bind", "/", "/", "--block-fd", &fd, "/bin/echo", "ran"]),
        vec![block_r],
    );
    assert_eq!(text(&out.stdout), "ran\n", "{out:?}");
    drop(block_w);

    let (info_r, info_w) = std::io::pipe().unwrap();
    let (block_r, block_w) = std::io::pipe().unwrap();
    let (info_w, block_r) = (OwnedFd::from(info_w), OwnedFd::from(block_r));
    let (info, block) = (
        info_w.as_raw_fd().to_string(),
        block_r.as_raw_fd().to_string(),
    );
    let argv = [
        "--bind",
        "/",
        "/",
        "--unshare-user",
        "--info-fd",
        &info,
        "--userns-block-fd",
        &block,
        "/bin/sh",
        "-c",
        "cat /proc/self/uid_map",
    ];
    let mut c = bwrap(&argv);
    c.stdout(Stdio::piped());
    let raw = [info_w.as_raw_fd(), block_r.as_raw_fd()];
    // SAFETY: only fcntl between fork and exec.
    unsafe {
        c.pre_exec(move || {
            for fd in raw {
                if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let child = c.spawn().unwrap();
    drop((info_w, block_r));
    // Up to the document's end: the fd stays open in the sandbox until the program runs.
    let mut doc = String::new();
    let mut byte = [0u8; 1];
    while !doc.ends_with("}\n") {
        assert_eq!(
            std::io::Read::read(&mut &info_r, &mut byte).unwrap(),
            1,
            "{doc}"
        );
        doc.push(byte[0] as char);
    }
    let pid = doc
        .split("\"child-pid\": ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or_else(|| panic!("{doc}"));
    let uid = std::fs::metadata("/proc/self").unwrap();
    let (uid, gid) = (
        std::os::unix::fs::MetadataExt::uid(&uid),
        std::os::unix::fs::MetadataExt::gid(&uid),
    );
    fs::write(format!("/proc/{pid}/setgroups"), "deny").unwrap();
    fs::write(format!("/proc/{pid}/uid_map"), format!("5 {uid} 1")).unwrap();
    fs::write(format!("/proc/{pid}/gid_map"), format!("5 {gid} 1")).unwrap();
    (&block_w).write_all(b"x").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let map: Vec<String> = text(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(map, ["5", &uid.to_string(), "1"]);

    for (args, said) in [
        (
            vec!["--info-fd", "1", "--userns-block-fd", "0"],
            "bwrap: --userns-block-fd requires --unshare-user\n",
        ),
        (
            vec!["--unshare-user", "--userns-block-fd", "0"],
            "bwrap: --userns-block-fd requires --info-fd\n",
        ),
    ] {
        let mut argv = vec!["--bind", "/", "/"];
        argv.extend(args);
        argv.extend(["/bin/true"]);
        let out = bwrap(&argv).output().unwrap();
        assert_eq!(
            (out.status.code(), text(&out.stderr).as_str()),
            (Some(1), said)
        );
    }
}
