//! Real-world bubblewrap command lines run twice, through the system's `bwrap` (Debian's
//! bubblewrap package) and through `forkexec-run --bwrap`: the exit status, stdout and stderr
//! must be the same (issue 18: "behave identically, output included"). The programs print what
//! a sandboxed program can observe (ids, names, modes, the environment, what it may write,
//! what seccomp denies it, the JSON status); nothing that differs from run to run (times, pids)
//! is compared. Runs as root and as an ordinary user; skipped where no `bwrap` is installed
//! (`.ci/run` installs it).
use forkexec_testkit::{skip, support};

use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const SYSTEM_BWRAP: &str = "/usr/bin/bwrap";

/// The usual host-system view of Flatpak-style and build-tool command lines.
const SYSTEM: &[&str] = &[
    "--ro-bind",
    "/usr",
    "/usr",
    "--symlink",
    "usr/lib64",
    "/lib64",
    "--symlink",
    "usr/lib",
    "/lib",
    "--symlink",
    "usr/bin",
    "/bin",
    "--symlink",
    "usr/sbin",
    "/sbin",
    "--proc",
    "/proc",
    "--dev",
    "/dev",
];

fn forkexec_run() -> PathBuf {
    match std::env::var_os("FORKEXEC_RUN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_forkexec-run")),
    }
}

/// The outcome as compared: exit code, stdout, stderr, and what the JSON status fd received.
fn outcome(out: &Output, fd_text: &str) -> (Option<i32>, String, String, String) {
    let t = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (
        out.status.code(),
        t(&out.stdout),
        t(&out.stderr),
        fd_text.to_string(),
    )
}

/// Runs `args` through both, from the same directory, with the same environment and fds;
/// `fd` (if any) is a pipe's read end given to both as the same number (a fresh copy of
/// `fd_data` for each), `json` a pipe whose content is compared after both ended.
struct Case<'a> {
    name: &'a str,
    args: Vec<&'a str>,
    fd_data: Option<&'a [u8]>,
    json_fd: bool,
}

/// A pipe whose fds children inherit (no close-on-exec), as a caller of bwrap makes them.
fn inheritable_pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: fds is two ints; pipe only writes them.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both fds were just created and are owned by nobody else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn run_one(
    program: &Path,
    mode: Option<&str>,
    case: &Case,
) -> (Option<i32>, String, String, String) {
    let mut held = Vec::new();
    let mut args: Vec<String> = Vec::new();
    let mut data_fd = None;
    if let Some(data) = case.fd_data {
        let (r, w) = inheritable_pipe();
        std::fs::File::from(w).write_all(data).unwrap();
        data_fd = Some(r.as_raw_fd());
        held.push(r);
    }
    let mut json = None;
    if case.json_fd {
        let (r, w) = inheritable_pipe();
        json = Some((r, w.as_raw_fd()));
        held.push(w);
    }
    if case.args.contains(&"DIR_FD") {
        // SAFETY: a NUL-terminated path; the new fd (inherited: no O_CLOEXEC) is owned here.
        let fd = unsafe { libc::open(c"/".as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY) };
        assert!(fd >= 0);
        // SAFETY: just opened, owned by nobody else.
        held.push(unsafe { OwnedFd::from_raw_fd(fd) });
    }
    let dir_fd = held.last().map(|f| f.as_raw_fd());
    for a in &case.args {
        args.push(match *a {
            "DIR_FD" => dir_fd.unwrap().to_string(),
            "DATA_FD" => data_fd.unwrap().to_string(),
            "JSON_FD" => json.as_ref().unwrap().1.to_string(),
            other => other.to_string(),
        });
    }
    let mut c = Command::new(program);
    c.args(mode)
        .args(&args)
        .stdin(Stdio::null())
        .current_dir("/");
    c.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("LANG", "C")
        .env("HOME", "/nonexistent")
        .env("FORKEXEC_HELPER", support::helper());
    let out = c.output().unwrap();
    // Only the read end of the JSON pipe stays: EOF once the sandbox has ended.
    drop(held);
    let mut text = String::new();
    if let Some((r, _)) = json {
        let mut f = std::fs::File::from(r);
        std::io::Read::read_to_string(&mut f, &mut text).unwrap();
        // pids and namespace ids differ from run to run: the shape and the exit code do not.
        text = text
            .split(|c: char| c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("N");
    }
    let mut o = outcome(&out, &text);
    // The only name that differs: the program that printed the message.
    o.2 = o.2.replace(&program.display().to_string(), "bwrap");
    o
}

/// A seccomp program (x86_64) that makes mkdir and mkdirat fail with EPERM and allows the rest.
fn deny_mkdir() -> Vec<u8> {
    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const RET_K: u16 = 0x06;
    let ins: [(u16, u8, u8, u32); 8] = [
        (LD_W_ABS, 0, 0, 4),            // arch
        (JEQ_K, 1, 0, 0xc000_003e),     // AUDIT_ARCH_X86_64
        (RET_K, 0, 0, 0x8000_0000),     // SECCOMP_RET_KILL_PROCESS
        (LD_W_ABS, 0, 0, 0),            // nr
        (JEQ_K, 2, 0, 83),              // mkdir
        (JEQ_K, 1, 0, 258),             // mkdirat
        (RET_K, 0, 0, 0x7fff_0000),     // SECCOMP_RET_ALLOW
        (RET_K, 0, 0, 0x0005_0000 | 1), // SECCOMP_RET_ERRNO | EPERM
    ];
    let mut bpf = Vec::new();
    for (code, jt, jf, k) in ins {
        bpf.extend_from_slice(&code.to_ne_bytes());
        bpf.extend_from_slice(&[jt, jf]);
        bpf.extend_from_slice(&k.to_ne_bytes());
    }
    bpf
}

/// A seccomp program the kernel refuses (EINVAL): its jump leads past the end.
fn jump_past_the_end() -> Vec<u8> {
    let mut bpf = Vec::new();
    for (code, k) in [(0x05u16, 1u32), (0x06, 0x7fff_0000)] {
        bpf.extend_from_slice(&code.to_ne_bytes());
        bpf.extend_from_slice(&[0, 0]);
        bpf.extend_from_slice(&k.to_ne_bytes());
    }
    bpf
}

fn cases() -> Vec<Case<'static>> {
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut v = SYSTEM.to_vec();
        v.extend_from_slice(extra);
        v
    };
    let bpf: &'static [u8] = Box::leak(deny_mkdir().into_boxed_slice());
    let mut cases = vec![
        Case {
            name: "Flatpak-style: --unshare-all --die-with-parent --new-session --clearenv",
            args: with(&[
                "--unshare-all",
                "--die-with-parent",
                "--new-session",
                "--clearenv",
                "--setenv",
                "PATH",
                "/usr/bin",
                "--setenv",
                "APP",
                "x",
                "--hostname",
                "box",
                "--chdir",
                "/usr",
                "--",
                "sh",
                "-c",
                "id; hostname; pwd; env | sort; stat -c '%A %U %G %n' / /usr /bin /proc /dev \
                 /dev/null /dev/pts /dev/ptmx /dev/fd /dev/stdin /dev/core; ls -A /; \
                 ls /dev | grep -v '^shm$'; echo pid $$; ps -o comm= -p 1 2>/dev/null || true",
            ]),
            fd_data: None,
            json_fd: false,
        },
        Case {
            name: "a user namespace with other ids",
            args: with(&[
                "--unshare-user",
                "--uid",
                "1234",
                "--gid",
                "5678",
                "--",
                "id",
            ]),
            fd_data: None,
            json_fd: false,
        },
        Case {
            name: "tmpfs, dirs, files and symlinks with their modes",
            args: with(&[
                "--tmpfs",
                "/tmp",
                "--dir",
                "/tmp/a",
                "--perms",
                "0700",
                "--dir",
                "/tmp/b/c",
                "--file",
                "DATA_FD",
                "/tmp/f",
                "--symlink",
                "f",
                "/tmp/l",
                "--",
                "sh",
                "-c",
                "stat -c '%A %n' /tmp /tmp/a /tmp/b /tmp/b/c /tmp/f /tmp/l; cat /tmp/l; \
                 echo x > /tmp/new && cat /tmp/new; touch /usr/x 2>&1; touch /x 2>&1",
            ]),
            fd_data: Some(b"from an fd\n"),
            json_fd: false,
        },
        Case {
            name: "a writable /proc: oom_score_adj, a nested user namespace",
            args: with(&[
                "--unshare-user",
                "--unshare-pid",
                "--",
                "sh",
                "-c",
                "echo 5 > /proc/self/oom_score_adj && cat /proc/self/oom_score_adj; \
                 unshare -Ur id -u",
            ]),
            fd_data: None,
            json_fd: false,
        },
        Case {
            name: "seccomp on an fd",
            args: with(&[
                "--seccomp",
                "DATA_FD",
                "--",
                "sh",
                "-c",
                "mkdir /tmp/d; echo $?",
            ]),
            fd_data: Some(bpf),
            json_fd: false,
        },
        Case {
            name: "seccomp on an fd: a program the kernel refuses",
            args: with(&["--seccomp", "DATA_FD", "--", "true"]),
            fd_data: Some(Box::leak(jump_past_the_end().into_boxed_slice())),
            json_fd: false,
        },
        Case {
            name: "--json-status-fd and the program's exit code",
            args: with(&[
                "--unshare-pid",
                "--json-status-fd",
                "JSON_FD",
                "--",
                "sh",
                "-c",
                "exit 3",
            ]),
            fd_data: None,
            json_fd: true,
        },
        Case {
            name: "--unshare-net: lo is up, TCP on 127.0.0.1 and ::1",
            args: with(&[
                "--unshare-net",
                "--",
                "sh",
                "-c",
                "cat /proc/net/if_inet6; python3 -c 'import socket\nfor fam, ip in \
                 ((socket.AF_INET, \"127.0.0.1\"), (socket.AF_INET6, \"::1\")): \
                 l = socket.socket(fam); l.bind((ip, 0)); l.listen(); \
                 c = socket.create_connection(l.getsockname()[:2]); c.sendall(b\"x\"); \
                 print(ip, l.accept()[0].recv(1))'",
            ]),
            fd_data: None,
            json_fd: false,
        },
        Case {
            // (The maps' outside ids are left out: bwrap run by an ordinary user with --dev is
            // uid 0 in its first user namespace, for devpts, and so also without
            // --disable-userns: a difference of its own.)
            name: "--disable-userns: no nested user namespace, the limit out of reach",
            args: with(&[
                "--unshare-user",
                "--disable-userns",
                "--assert-userns-disabled",
                "--",
                "sh",
                "-c",
                "id; awk '{print $1, $3}' /proc/self/uid_map /proc/self/gid_map; \
                 cat /proc/self/setgroups; \
                 echo 100 > /proc/sys/user/max_user_namespaces; unshare -U true; echo $?; \
                 grep -E '^Cap(Eff|Bnd)' /proc/self/status",
            ]),
            fd_data: None,
            json_fd: false,
        },
        Case {
            name: "--disable-userns without --unshare-user",
            args: with(&["--disable-userns", "--", "true"]),
            fd_data: None,
            json_fd: false,
        },
        Case {
            name: "a missing bind source",
            args: with(&["--bind", "/nonexistent", "/x", "--", "true"]),
            fd_data: None,
            json_fd: false,
        },
    ];
    // Failures: exit status 1 and bubblewrap's words (the spec's bwrap_errors).
    let fails: [(&'static str, &[&'static str]); 16] = [
        ("a missing program", &["--", "/nonexistent"]),
        ("a program that is a directory", &["--", "/usr"]),
        (
            "--chdir to a missing directory",
            &["--chdir", "/nonexistent", "--", "true"],
        ),
        (
            "a directory below a missing one on a read-only bind",
            &["--dir", "/usr/a/b", "--", "true"],
        ),
        (
            "a directory on a read-only bind",
            &["--dir", "/usr/x", "--", "true"],
        ),
        (
            "a file bound onto a read-only bind",
            &["--ro-bind", "/etc/passwd", "/usr/x", "--", "true"],
        ),
        (
            "a symlink on a read-only bind",
            &["--symlink", "x", "/usr/x", "--", "true"],
        ),
        (
            "--remount-ro of a missing path",
            &["--remount-ro", "/nonexistent", "--", "true"],
        ),
        (
            "a tmpfs onto a file",
            &["--tmpfs", "/usr/bin/env", "--", "true"],
        ),
        (
            "a directory onto a file",
            &["--dir", "/usr/bin/env", "--", "true"],
        ),
        (
            "a file bound onto a directory",
            &["--ro-bind", "/etc/passwd", "/usr/share", "--", "true"],
        ),
        (
            "an mqueue in a new user namespace, not in a new IPC namespace",
            &["--unshare-user", "--mqueue", "/mq", "--", "true"],
        ),
        // (As root it is mounted; as an ordinary user it is refused.)
        (
            "an mqueue of the caller's IPC namespace",
            &["--mqueue", "/mq", "--", "true"],
        ),
        (
            "--assert-userns-disabled where user namespaces can be made",
            &["--unshare-user", "--assert-userns-disabled", "--", "true"],
        ),
        (
            "--bind-data from an fd that is not open",
            &["--bind-data", "99", "/x", "--", "true"],
        ),
        (
            "--file from an fd that is a directory",
            &["--file", "DIR_FD", "/x", "--", "true"],
        ),
    ];
    cases.extend(fails.into_iter().map(|(name, args)| Case {
        name,
        args: with(args),
        fd_data: None,
        json_fd: false,
    }));
    cases
}

/// Where SELinux is not enabled bubblewrap refuses `--exec-label`/`--file-label` itself, where
/// it reads them (before a later unknown option); with SELinux it would apply them.
fn label_cases() -> Vec<Case<'static>> {
    if Path::new("/sys/fs/selinux/enforce").exists() {
        return Vec::new();
    }
    vec![
        Case {
            name: "--exec-label without SELinux",
            args: with_system(&["--exec-label", "system_u:system_r:container_t:s0", "true"]),
            fd_data: None,
            json_fd: false,
        },
        Case {
            name: "--file-label without SELinux, before an unknown option",
            args: vec!["--file-label", "x", "--bogus", "true"],
            fd_data: None,
            json_fd: false,
        },
    ]
}

fn with_system(extra: &[&'static str]) -> Vec<&'static str> {
    let mut v = SYSTEM.to_vec();
    v.extend_from_slice(extra);
    v
}

#[test]
fn real_world_command_lines_behave_as_the_system_bubblewrap() {
    if !Path::new(SYSTEM_BWRAP).exists() {
        skip!("no {SYSTEM_BWRAP} to compare with (Debian's bubblewrap package)");
    }
    if !cfg!(target_arch = "x86_64") {
        skip!("the seccomp case's program is written for x86_64");
    }
    let mut differ = Vec::new();
    for case in cases().into_iter().chain(label_cases()) {
        let theirs = run_one(Path::new(SYSTEM_BWRAP), None, &case);
        let ours = run_one(&forkexec_run(), Some("--bwrap"), &case);
        if theirs != ours {
            differ.push(format!(
                "{}\n  bwrap:        {theirs:?}\n  forkexec-run: {ours:?}",
                case.name
            ));
        }
    }
    assert!(differ.is_empty(), "differences:\n{}", differ.join("\n"));
}
