//! pivot_root into a scratch root: the sandbox's whole file system is a tmpfs with the
//! scratch tree's `/bin` and `/etc` bound read-only (and what the test adds), nothing of the
//! host. The probe, a static program of the tree, reports what it sees.

use forkexec_client::{Error, Location, MountOp, Namespace};
use forkexec_rootfs_tests::*;

/// Only the configured mounts, only the tree's files and what the mount operations made,
/// `/` read-only, the exit code kept.
#[test]
fn pivot_into_a_scratch_root() {
    let rootfs = Rootfs::new("pivot");
    rootfs.add("/etc/motd", b"scratch root\n", 0o644);
    #[rustfmt::skip]
    let args = [
        PROBE, "pids", "ids", "mounts", "ls", "/", "ls", "/bin", "ls", "/sbin",
        "read", "/etc/motd", "read", "/run/marker",
        "stat", "/", "stat", "/run/marker", "stat", "/var/empty", "stat", "/sbin",
        "write", "/new-file", "x", "write", "/tmp/t", "y", "write", "/bin/x", "z",
        "write", "/run/marker", "w", "exit", "3",
    ];
    let r = in_rootfs(&rootfs, &args, &[Namespace::NewPid])
        .mount(MountOp::tmpfs("/tmp").mode(0o1777))
        .mount(MountOp::proc("/proc"))
        .mount(MountOp::dir("/var/empty").mode(0o700))
        .mount(MountOp::symlink("bin", "/sbin"))
        .mount(MountOp::file("/run/marker", "made by a file op\n").mode(0o600));
    let out = run(r).expect("start");
    let l = &out.lines;
    assert_eq!(out.status.code(), Some(3), "{l:#?} {}", out.stderr);

    // Exactly the mounts asked for, in order (dir, symlink and file are no mounts), and no
    // old root left anywhere.
    assert_eq!(
        l.mount_points(),
        ["/", "/bin", "/etc", "/tmp", "/proc"],
        "{l:#?}"
    );
    let root = l.mount("/");
    assert_eq!(root.fstype, "tmpfs");
    assert!(root.read_only(), "/ is read-only by default: {root:?}");
    for dir in ["/bin", "/etc"] {
        let m = l.mount(dir);
        assert!(m.read_only() && m.has("nosuid") && m.has("nodev"), "{m:?}");
    }
    let tmp = l.mount("/tmp");
    assert!(
        !tmp.read_only() && tmp.has("nosuid") && tmp.has("nodev"),
        "{tmp:?}"
    );
    let proc = l.mount("/proc");
    assert_eq!(proc.fstype, "proc");
    assert!(proc.has("nosuid") && proc.has("nodev") && proc.has("noexec"));

    // The tree's files and what the operations made, nothing else.
    assert_eq!(
        l.entries("/"),
        ["bin", "etc", "proc", "run", "sbin", "tmp", "var"]
    );
    let bin = ["forkexec", "rootfs-probe", "spawner", "zombie-maker"];
    assert_eq!(l.entries("/bin"), bin);
    assert_eq!(l.entries("/sbin"), bin, "through the symlink");
    assert_eq!(l.file_op("read", "/etc/motd"), Ok("scratch root".into()));
    assert_eq!(
        l.file_op("read", "/run/marker"),
        Ok("made by a file op".into())
    );
    // The root tmpfs is 0755 (the helper mounts it so; not the kernel's default 1777).
    assert_eq!(l.file_op("stat", "/"), Ok("0755 dir 0 0".into()));
    assert_eq!(l.file_op("stat", "/run/marker"), Ok("0600 file 0 0".into()));
    assert_eq!(l.file_op("stat", "/var/empty"), Ok("0700 dir 0 0".into()));
    assert_eq!(l.file_op("stat", "/sbin"), Ok("0777 link 0 0".into()));

    // Read-only root (what the operations made included) and binds; the tmpfs is writable.
    assert_eq!(l.file_op("write", "/new-file"), Err(libc::EROFS));
    assert_eq!(l.file_op("write", "/run/marker"), Err(libc::EROFS));
    assert_eq!(l.file_op("write", "/bin/x"), Err(libc::EROFS));
    assert_eq!(l.file_op("write", "/tmp/t"), Ok(String::new()));

    // uid 0 inside (root, or the caller mapped to 0), pid 1 of the new pid namespace.
    assert_eq!(l.one("uid"), ["0", "0", "0"]);
    assert_eq!(l.one("gid"), ["0", "0", "0"]);
    assert_eq!(l.number("pid"), 1);
    // Nothing was written to the tree through the sandbox.
    assert!(!std::path::Path::new(&rootfs.host("/new-file")).exists());
    assert_eq!(std::fs::read_dir(rootfs.pivot_dir()).unwrap().count(), 0);
}

/// With `writable_root` the new root (the tmpfs) stays writable; the binds stay read-only.
#[test]
fn writable_root_keeps_the_tmpfs_writable() {
    let rootfs = Rootfs::new("writable");
    #[rustfmt::skip]
    let args = [
        PROBE, "mounts", "write", "/new-file", "x", "read", "/new-file",
        "write", "/bin/x", "z",
    ];
    let r = in_rootfs(&rootfs, &args, &[Namespace::NewPid])
        .mount(MountOp::proc("/proc"))
        .writable_root(true);
    let out = run(r).expect("start");
    let l = &out.lines;
    assert!(out.status.success(), "{l:#?} {}", out.stderr);
    assert_eq!(l.mount_points(), ["/", "/bin", "/etc", "/proc"]);
    assert!(!l.mount("/").read_only());
    assert_eq!(l.file_op("read", "/new-file"), Ok("x".into()));
    assert_eq!(l.file_op("write", "/bin/x"), Err(libc::EROFS));
    // The file lived in the sandbox's tmpfs, not in the tree nor the pivot directory.
    assert!(!std::path::Path::new(&rootfs.host("/new-file")).exists());
    assert_eq!(std::fs::read_dir(rootfs.pivot_dir()).unwrap().count(), 0);
}

/// Exec in place (no pid namespace: the helper itself becomes the probe) into the same kind
/// of root: the probe's exit code is the process's exit code.
#[test]
fn exit_status_is_kept_in_place() {
    let rootfs = Rootfs::new("in-place");
    for code in [0, 1, 42, 255] {
        let code_s = code.to_string();
        let r = in_rootfs(&rootfs, &[PROBE, "pids", "exit", &code_s], &[]);
        let out = run(r).expect("start");
        assert_eq!(out.status.code(), Some(code), "{:#?}", out.lines);
        // In place: the probe is the helper process the client spawned.
        assert!(out.lines.number("pid") > 1);
    }
}

/// The probe is killed by a signal (exec in place: the process is the probe): the status
/// says so. (Supervised and as pid 1: tests/container.rs.)
#[test]
fn signal_death_is_kept_in_place() {
    let rootfs = Rootfs::new("signal");
    let r = in_rootfs(&rootfs, &[ZOMBIE_MAKER, "wait-signal"], &[]);
    let mut run = Running::start(r).expect("start");
    assert!(run.read_until("ready"), "{:#?}", run.lines());
    // SIGUSR2 is not handled by the probe: its default action ends it.
    run.process.kill(libc::SIGUSR2).unwrap();
    let out = run.finish().unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGUSR2), "{:#?}", out.lines);
}

/// A host program is not there: executing one by its host path fails with ENOENT (execve's
/// record, exit code 127), and the probe cannot list the host's directories.
#[test]
fn host_files_are_out_of_reach() {
    let rootfs = Rootfs::new("no-host");
    let host_program = if std::path::Path::new("/usr/bin/true").exists() {
        "/usr/bin/true"
    } else {
        "/bin/true"
    };
    match run(in_rootfs(&rootfs, &[host_program], &[])) {
        Err(Error::Child(e)) => {
            assert_eq!(e.location(), Some(Location::Execve), "{e}");
            assert_eq!(e.errno(), libc::ENOENT, "{e}");
        }
        other => panic!("{host_program} ran inside the scratch root: {other:?}"),
    }
    let host_dir = std::env::temp_dir();
    let host_dir = host_dir.to_str().unwrap();
    let out = run(in_rootfs(
        &rootfs,
        &[PROBE, "ls", host_dir, "ls", "/usr"],
        &[],
    ))
    .unwrap();
    assert!(out.status.success());
    assert_eq!(
        out.lines.all("ls"),
        [[host_dir, "errno", "2"], ["/usr", "errno", "2"]]
    );
    assert_eq!(out.lines.all("entry"), Vec::<Vec<&str>>::new());
}
