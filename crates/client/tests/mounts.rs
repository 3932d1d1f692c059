//! Mount operations (MOUNT_OP records), checked from inside the sandbox with the probe's
//! `inspect` and `write`: read-only binds (submounts too) and the host file unchanged, nosuid
//! and nodev on every bind but a dev-bind, tmpfs size and mode, a new proc with only the
//! sandbox's pids, the minimal /dev, dir / symlink / file content and modes, bind_data over a
//! read-only file, masks, remounts,
//! binds by fd; refusals with the entry's index before anything runs (missing sources,
//! escaping targets, symlinks planted to lead out); mountinfo after pivot_root; the host's
//! mountinfo unchanged after thousands of runs. Every test runs as root and as an ordinary user
//! (in a user namespace).
use forkexec_testkit::support;

use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use forkexec_client::{MountOp, Namespace, Runner};
use forkexec_testkit::leaks;
use serde_json::Value;
use support::*;

const EROFS: i64 = libc::EROFS as i64;

fn inspect(c: &mut Cleanup, paths: &[&str]) -> Runner {
    let mut args = vec!["inspect"];
    args.extend_from_slice(paths);
    in_root(c, &args)
}

fn with_pid_ns(r: Runner) -> Runner {
    r.clone_flags([Namespace::NewUser, Namespace::NewNs, Namespace::NewPid])
}

fn path<'v>(v: &'v Value, p: &str) -> &'v Value {
    &v["paths"][p]
}

fn write_errno(r: Runner) -> Option<i64> {
    let v = run_json(r);
    if v["ok"] == Value::Bool(true) {
        None
    } else {
        Some(v["errno"].as_i64().unwrap())
    }
}

#[test]
fn read_only_binds_refuse_writes_and_leave_the_host_file_unchanged() {
    let mut c = Cleanup::default();
    let host = c.dir("ro-host");
    std::fs::write(host.join("f"), "host").unwrap();
    let src = host.to_string_lossy().to_string();
    let r = in_root(&mut c, &["write", "/ro/f", "changed"]).mount(MountOp::ro_bind(&src, "/ro"));
    assert_eq!(write_errno(r), Some(EROFS));
    assert_eq!(std::fs::read_to_string(host.join("f")).unwrap(), "host");

    // A plain bind of the same tree is writable: the EROFS came from the read-only bind.
    let r = in_root(&mut c, &["write", "/rw/f", "changed"]).mount(MountOp::bind(&src, "/rw"));
    assert_eq!(write_errno(r), None);
    assert_eq!(std::fs::read_to_string(host.join("f")).unwrap(), "changed");
}

#[test]
fn read_only_reaches_every_submount_of_a_bind() {
    let mut c = Cleanup::default();
    let host = c.dir("ro-sub");
    std::fs::create_dir(host.join("sub")).unwrap();
    let src = host.to_string_lossy().to_string();
    // Inside the sandbox: /a is a writable bind with a tmpfs mounted below it; binding the
    // helper's view of /a read-only at /b must make /b/sub (the tmpfs) read-only too.
    let probe = in_root(&mut c, &["write", "/b/sub/f", "x"]);
    let root = probe.spec.pivot_root.clone();
    let r = probe
        .mount(MountOp::bind(&src, "/a"))
        .mount(MountOp::tmpfs("/a/sub"))
        .mount(MountOp::ro_bind(format!("{root}/a"), "/b"));
    assert_eq!(write_errno(r), Some(EROFS));
    let r = in_root(&mut c, &["write", "/a/sub/f", "x"])
        .mount(MountOp::bind(&src, "/a"))
        .mount(MountOp::tmpfs("/a/sub"));
    assert_eq!(write_errno(r), None, "the submount itself is writable");
    assert!(
        !host.join("sub/f").exists(),
        "the tmpfs hid the host directory"
    );
}

/// As root, a real host submount (a tmpfs mounted under the bound directory) is read-only
/// under a read-only bind, and its file unchanged.
#[test]
fn read_only_reaches_a_host_submount() {
    if !is_root() {
        return; // mounting on the host needs root; the in-sandbox variant runs for everyone
    }
    let mut c = Cleanup::default();
    let host = c.dir("ro-hostsub");
    let sub = host.join("sub");
    std::fs::create_dir(&sub).unwrap();
    let status = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "tmpfs"])
        .arg(&sub)
        .status()
        .unwrap();
    assert!(status.success());
    struct Umount(std::path::PathBuf);
    impl Drop for Umount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _u = Umount(sub.clone());
    std::fs::write(sub.join("f"), "host").unwrap();
    let src = host.to_string_lossy().to_string();
    let r =
        in_root(&mut c, &["write", "/ro/sub/f", "changed"]).mount(MountOp::ro_bind(&src, "/ro"));
    assert_eq!(write_errno(r), Some(EROFS));
    assert_eq!(std::fs::read_to_string(sub.join("f")).unwrap(), "host");
}

#[test]
fn binds_are_nosuid_and_nodev_unless_dev_bind() {
    let mut c = Cleanup::default();
    let host = c.dir("flags");
    let src = host.to_string_lossy().to_string();
    let r = inspect(&mut c, &["/b", "/rb", "/null"])
        .mount(MountOp::bind(&src, "/b"))
        .mount(MountOp::ro_bind(&src, "/rb"))
        .mount(MountOp::dev_bind("/dev/null", "/null"));
    let v = run_json(r);
    for p in ["/b", "/rb"] {
        let e = path(&v, p);
        assert_eq!(
            (e["nosuid"].as_bool(), e["nodev"].as_bool()),
            (Some(true), Some(true)),
            "{p}: {e}"
        );
    }
    assert_eq!(path(&v, "/b")["ro"], false);
    assert_eq!(path(&v, "/rb")["ro"], true);
    let null = path(&v, "/null");
    assert_eq!(null["type"], "char", "{null}");
    assert_eq!(null["nodev"], false, "a dev-bind allows devices");
    assert_eq!(
        null["read"],
        serde_json::json!([]),
        "/dev/null opens and reads empty"
    );

    // A plain bind of the same node is nodev: opening it fails.
    let v = run_json(inspect(&mut c, &["/null"]).mount(MountOp::bind("/dev/null", "/null")));
    assert_eq!(path(&v, "/null")["read"]["errno"], libc::EACCES);
}

#[test]
fn tmpfs_has_the_size_and_mode_asked() {
    let mut c = Cleanup::default();
    let r = inspect(&mut c, &["/t", "/plain"])
        .mount(MountOp::tmpfs("/t").size(2 << 20).mode(0o1777))
        .mount(MountOp::tmpfs("/plain"));
    let v = run_json(r);
    let t = path(&v, "/t");
    assert_eq!(t["mode"], 0o1777, "{t}");
    assert_eq!(t["fs_bytes"], 2 << 20, "{t}");
    assert_eq!(
        (t["nosuid"].as_bool(), t["nodev"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(path(&v, "/plain")["mode"], 0o755);
}

#[test]
fn a_read_only_tmpfs_refuses_writes() {
    let mut c = Cleanup::default();
    let r = in_root(&mut c, &["write", "/t/f", "x"]).mount(MountOp::tmpfs("/t").read_only());
    assert_eq!(write_errno(r), Some(EROFS));
}

#[test]
fn a_new_proc_shows_only_the_sandbox_pids() {
    let mut c = Cleanup::default();
    let r = with_pid_ns(inspect(&mut c, &["/proc/1/status"])).mount(MountOp::proc("/proc"));
    let v = run_json(r);
    assert_eq!(
        v["proc_pids"],
        serde_json::json!([1]),
        "the target is pid 1, alone"
    );

    let r = with_pid_ns(inspect(&mut c, &["/proc"]))
        .init(true)
        .mount(MountOp::proc("/proc"));
    let v = run_json(r);
    assert_eq!(
        v["proc_pids"],
        serde_json::json!([1, 2]),
        "init and the target"
    );
    let mi = v["mountinfo"].as_str().unwrap();
    assert!(mi.contains(" /proc rw,nosuid,nodev,noexec"), "{mi}");
}

#[test]
fn a_covered_proc_stays_writable_under_bubblewraps_read_only_covers() {
    let mut c = Cleanup::default();
    let covers = |r: Runner| -> Vec<String> {
        let v = run_json(r);
        let mi = v["mountinfo"].as_str().unwrap();
        // The proc itself is writable (no remount_ro after it).
        assert!(mi.contains(" /proc rw,nosuid,nodev,noexec"), "{mi}");
        mi.lines()
            .map(|l| l.split(' ').collect::<Vec<_>>())
            .filter(|f| f[4].starts_with("/proc/"))
            .map(|f| format!("{} {}", f[4], &f[5][..2]))
            .collect()
    };
    // As an ordinary user (in a user namespace where only the caller is mapped) the host's
    // /proc/irq and /proc/bus are not the namespace root's to write: nothing is covered. As
    // host root (mapped to 0 in the user namespace, or without one) they are: each is bound
    // read-only over itself (/proc/sys is not writable even for root, /proc/sysrq-trigger
    // may be absent: as bubblewrap finds them).
    let mut want = Vec::new();
    if is_root() {
        if Path::new("/proc/sysrq-trigger").exists() {
            want.push("/proc/sysrq-trigger ro".to_string());
        }
        want.extend(["/proc/irq ro".to_string(), "/proc/bus ro".to_string()]);
    }
    let r = with_pid_ns(inspect(&mut c, &["/proc"])).mount(MountOp::proc("/proc").cover());
    assert_eq!(covers(r), want);
    if is_root() {
        let mut r = with_pid_ns(inspect(&mut c, &["/proc"])).mount(MountOp::proc("/proc").cover());
        r = r.clone_flags([Namespace::NewNs, Namespace::NewPid]);
        r.spec.uid_mappings.clear();
        r.spec.gid_mappings.clear();
        assert_eq!(covers(r), want, "without a user namespace");
    }
}

#[test]
fn the_minimal_dev_works_and_shows_no_other_host_device() {
    let mut c = Cleanup::default();
    let paths = [
        "/dev",
        "/dev/null",
        "/dev/zero",
        "/dev/full",
        "/dev/random",
        "/dev/urandom",
        "/dev/pts",
        "/dev/ptmx",
        "/dev/shm",
        "/dev/fd",
        "/dev/stdin",
        "/dev/stdout",
        "/dev/stderr",
        "/dev/tty",
        "/dev/core",
    ];
    let r = with_pid_ns(inspect(&mut c, &paths))
        .mount(MountOp::proc("/proc"))
        .mount(MountOp::dev("/dev"));
    let v = run_json(r);
    let entries = &path(&v, "/dev")["entries"];
    assert_eq!(
        entries,
        &serde_json::json!([
            "core", "fd", "full", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin",
            "stdout", "tty", "urandom", "zero"
        ]),
        "nothing else of the host's /dev"
    );
    for (dev, rdev) in [
        ("/dev/null", (1, 3)),
        ("/dev/zero", (1, 5)),
        ("/dev/full", (1, 7)),
        ("/dev/random", (1, 8)),
        ("/dev/urandom", (1, 9)),
        ("/dev/tty", (5, 0)),
    ] {
        let e = path(&v, dev);
        assert_eq!(e["type"], "char", "{dev}: {e}");
        let n = e["rdev"].as_u64().unwrap();
        assert_eq!((libc::major(n), libc::minor(n)), rdev, "{dev}");
    }
    assert_eq!(path(&v, "/dev/null")["read"], serde_json::json!([]));
    assert_eq!(
        path(&v, "/dev/zero")["read"],
        serde_json::json!(vec![0u8; 64])
    );
    assert_eq!(
        path(&v, "/dev/urandom")["read"].as_array().unwrap().len(),
        64
    );
    assert_eq!(path(&v, "/dev/ptmx")["link"], "pts/ptmx");
    assert!(path(&v, "/dev/pts")["entries"]
        .as_array()
        .unwrap()
        .contains(&Value::from("ptmx")));
    assert_eq!(path(&v, "/dev/shm")["mode"], 0o1777);
    assert_eq!(path(&v, "/dev/fd")["link"], "/proc/self/fd");
    assert_eq!(
        path(&v, "/dev/core")["link"],
        "/proc/kcore",
        "as bubblewrap's"
    );
    for (i, name) in ["stdin", "stdout", "stderr"].iter().enumerate() {
        assert_eq!(
            path(&v, &format!("/dev/{name}"))["link"],
            format!("/proc/self/fd/{i}")
        );
    }
    let mi = v["mountinfo"].as_str().unwrap();
    assert!(
        mi.contains(" /dev/pts ") && mi.contains(" - devpts "),
        "{mi}"
    );
    assert!(mi.contains("ptmxmode=666"), "{mi}");
}

#[test]
fn dir_symlink_and_file_have_exact_content_and_modes() {
    let mut c = Cleanup::default();
    let host = c.dir("content");
    std::fs::write(host.join("input"), b"from an fd\n").unwrap();
    let input = std::fs::File::open(host.join("input")).unwrap();
    let fd = input.as_raw_fd();
    let r = inspect(
        &mut c,
        &[
            "/d/e",
            "/l",
            "/etc/greeting",
            "/etc/secret",
            "/in",
            "/empty",
        ],
    )
    .mount(MountOp::dir("/d/e").mode(0o711))
    .mount(MountOp::symlink("../somewhere/else", "/l"))
    .mount(MountOp::file("/etc/greeting", "hello\n"))
    .mount(MountOp::file("/etc/secret", b"\x00\x01binary".to_vec()).mode(0o600))
    .mount(MountOp::file_from_fd(fd, "/in").mode(0o444))
    .mount(MountOp::file("/empty", Vec::new()));
    let v = run_json(r);
    drop(input);
    assert_eq!(path(&v, "/d/e")["type"], "dir");
    assert_eq!(path(&v, "/d/e")["mode"], 0o711);
    assert_eq!(path(&v, "/l")["type"], "symlink");
    assert_eq!(path(&v, "/l")["link"], "../somewhere/else");
    let file = |p: &str, mode: u32, content: &[u8]| {
        let e = path(&v, p);
        assert_eq!(e["type"], "file", "{p}: {e}");
        assert_eq!(e["mode"], mode, "{p}");
        assert_eq!(e["read"], serde_json::json!(content), "{p}");
    };
    file("/etc/greeting", 0o644, b"hello\n");
    file("/etc/secret", 0o600, b"\x00\x01binary");
    file("/in", 0o444, b"from an fd\n");
    file("/empty", 0o644, b"");
}

/// The mount points a bind makes where its target is missing: a directory 0755, an empty file
/// 0444 (bubblewrap's modes), seen on the host through a writable bind.
#[test]
fn mount_points_made_for_binds_have_bubblewraps_modes() {
    let mut c = Cleanup::default();
    let host = c.dir("mount-points");
    let src = c.dir("mount-points-src");
    std::fs::write(src.join("f"), "x").unwrap();
    std::fs::set_permissions(src.join("f"), std::fs::Permissions::from_mode(0o600)).unwrap();
    let w = host.to_string_lossy().to_string();
    let s = src.to_string_lossy().to_string();
    let r = inspect(&mut c, &["/w/new-file"])
        .mount(MountOp::bind(&w, "/w"))
        .mount(MountOp::bind(&s, "/w/new-dir"))
        .mount(MountOp::bind(format!("{s}/f"), "/w/new-file"));
    let v = run_json(r);
    assert_eq!(
        path(&v, "/w/new-file")["mode"],
        0o600,
        "the bound file: {v}"
    );
    let mode = |name: &str| std::fs::metadata(host.join(name)).unwrap().mode() & 0o7777;
    assert_eq!(mode("new-dir"), 0o755);
    assert_eq!(mode("new-file"), 0o444);
}

/// The missing parent directories of a mount operation's target: 0755, or with
/// parents_from_mode bubblewrap's (0755 less the group's / others' bits the operation's mode
/// leaves out; 0700 for kinds without a mode).
#[test]
fn parent_directories_are_0755_or_follow_the_mode_with_parents_from_mode() {
    let cases: [(&str, MountOp, u32); 8] = [
        ("/p1", MountOp::dir("/p1/d").mode(0o700), 0o700),
        ("/p2", MountOp::dir("/p2/d").mode(0o750), 0o750),
        ("/p3", MountOp::dir("/p3/d").mode(0o705), 0o705),
        ("/p4", MountOp::dir("/p4/d").mode(0o1777), 0o755),
        ("/p5", MountOp::file("/p5/f", "x").mode(0o640), 0o750),
        ("/p6", MountOp::tmpfs("/p6/t/u").mode(0o1777), 0o755),
        ("/p7", MountOp::symlink("x", "/p7/l"), 0o700),
        ("/p8", MountOp::proc("/p8/proc"), 0o700),
    ];
    for from_mode in [false, true] {
        let mut c = Cleanup::default();
        let parents: Vec<&str> = cases.iter().map(|(p, _, _)| *p).collect();
        let mut r = with_pid_ns(inspect(&mut c, &parents)).parents_from_mode(from_mode);
        for (_, op, _) in &cases {
            r = r.mount(op.clone());
        }
        let v = run_json(r);
        for (p, _, want) in &cases {
            let want = if from_mode { *want } else { 0o755 };
            assert_eq!(
                path(&v, p)["mode"],
                want,
                "{p}, parents_from_mode {from_mode}: {v}"
            );
        }
    }
}

/// bind_data (bubblewrap's `--bind-data`): the data in a file of its own, bound over an
/// existing file of a read-only bind (where `file` fails with EROFS) or at a new path; mode
/// 0600 unless asked; read-only only when asked; the host file never changes.
#[test]
fn bind_data_covers_files_a_file_operation_cannot_write() {
    let mut c = Cleanup::default();
    let host = c.dir("bind-data");
    std::fs::write(host.join("f"), "host").unwrap();
    std::fs::write(host.join("input"), "host input").unwrap();
    let src = host.to_string_lossy().to_string();
    let data = c.dir("bind-data-input").join("data");
    std::fs::write(&data, b"from an fd\n").unwrap();
    let input = std::fs::File::open(&data).unwrap();
    let r = inspect(&mut c, &["/ro/f", "/ro/input", "/etc/new"])
        .mount(MountOp::ro_bind(&src, "/ro"))
        .mount(MountOp::bind_data("/ro/f", b"\x00data\n".to_vec()))
        .mount(
            MountOp::bind_data_from_fd(input.as_raw_fd(), "/ro/input")
                .mode(0o444)
                .read_only(),
        )
        .mount(MountOp::bind_data("/etc/new", "new"));
    let v = run_json(r);
    drop(input);
    let file = |p: &str, mode: u32, content: &[u8], ro: bool| {
        let e = path(&v, p);
        assert_eq!(e["type"], "file", "{p}: {e}");
        assert_eq!(e["mode"], mode, "{p}");
        assert_eq!(e["read"], serde_json::json!(content), "{p}");
        assert_eq!(e["ro"], ro, "{p}");
    };
    file("/ro/f", 0o600, b"\x00data\n", false);
    file("/ro/input", 0o444, b"from an fd\n", true);
    file("/etc/new", 0o600, b"new", false);

    // Writes reach the copy only; read_only() refuses them.
    for (read_only, errno) in [(false, None), (true, Some(EROFS))] {
        let mut op = MountOp::bind_data("/ro/f", "data");
        op.readonly = read_only;
        let r = in_root(&mut c, &["write", "/ro/f", "changed"])
            .mount(MountOp::ro_bind(&src, "/ro"))
            .mount(op);
        assert_eq!(write_errno(r), errno);
    }
    assert_eq!(std::fs::read_to_string(host.join("f")).unwrap(), "host");
    assert_eq!(
        std::fs::read_to_string(host.join("input")).unwrap(),
        "host input"
    );

    // A file operation at the same place cannot write there; and a bind_data onto a directory
    // fails at its own index (as making a file there would: EISDIR); neither target runs.
    let out = c.dir("bind-data-marker");
    let out_s = out.to_string_lossy().to_string();
    for (last, location, errno) in [
        (MountOp::file("/ro/f", "data"), "mount(mkdir)", libc::EROFS),
        (
            MountOp::bind_data("/ro", "data"),
            "mount(mkdir)",
            libc::EISDIR,
        ),
    ] {
        let r = in_root(&mut c, &["write", "/out/ran", "x"]);
        let first = r.spec.mounts.len() as u32;
        let r = r
            .mount(MountOp::bind(&out_s, "/out"))
            .mount(MountOp::ro_bind(&src, "/ro"))
            .mount(last);
        assert_child_error(run(r), location, errno, first + 2);
        assert!(!out.join("ran").exists(), "the target never ran");
    }
}

#[test]
fn masks_hide_a_file_and_a_directory() {
    let mut c = Cleanup::default();
    let r = with_pid_ns(inspect(
        &mut c,
        &["/proc/meminfo", "/proc/sys", "/proc/nothing"],
    ))
    .mount(MountOp::proc("/proc"))
    .mount(MountOp::mask("/proc/meminfo"))
    .mount(MountOp::mask("/proc/sys"))
    .mount(MountOp::mask("/proc/nothing").optional());
    let v = run_json(r);
    let file = path(&v, "/proc/meminfo");
    assert_eq!(
        (file["type"].as_str(), file["size"].as_u64()),
        (Some("file"), Some(0)),
        "{file}"
    );
    assert_eq!(file["read"], serde_json::json!([]));
    assert_eq!(file["ro"], true);
    let dir = path(&v, "/proc/sys");
    assert_eq!(dir["entries"], serde_json::json!([]), "{dir}");
    assert_eq!(dir["ro"], true);
    assert_eq!(path(&v, "/proc/nothing")["errno"], libc::ENOENT);

    let r = with_pid_ns(in_root(&mut c, &["write", "/proc/sys/x", "x"]))
        .mount(MountOp::proc("/proc"))
        .mount(MountOp::mask("/proc/sys"));
    assert_eq!(write_errno(r), Some(EROFS));
}

#[test]
fn remount_ro_makes_a_writable_bind_read_only() {
    let mut c = Cleanup::default();
    let host = c.dir("remount");
    let src = host.to_string_lossy().to_string();
    let r = in_root(&mut c, &["write", "/w/f", "x"])
        .mount(MountOp::bind(&src, "/w"))
        .mount(MountOp::remount_ro("/w"));
    assert_eq!(write_errno(r), Some(EROFS));
    assert!(!host.join("f").exists());
}

#[test]
fn a_bind_source_given_as_an_fd() {
    let mut c = Cleanup::default();
    let host = c.dir("byfd");
    std::fs::write(host.join("f"), "by fd").unwrap();
    let dir = std::fs::File::open(&host).unwrap();
    let r = inspect(&mut c, &["/fd/f"]).mount(MountOp::bind_fd(dir.as_raw_fd(), "/fd").read_only());
    let v = run_json(r);
    assert_eq!(path(&v, "/fd/f")["read"], serde_json::json!(b"by fd"));
    assert_eq!(path(&v, "/fd/f")["ro"], true);
}

#[test]
fn the_root_is_read_only_unless_writable_root() {
    let mut c = Cleanup::default();
    assert_eq!(
        write_errno(in_root(&mut c, &["write", "/f", "x"])),
        Some(EROFS)
    );
    let r = in_root(&mut c, &["write", "/f", "x"]).writable_root(true);
    assert_eq!(write_errno(r), None);
}

#[test]
fn mountinfo_after_pivot_root_lists_only_the_configured_mounts() {
    let mut c = Cleanup::default();
    let r = with_pid_ns(in_root(&mut c, &["report"]))
        .mount(MountOp::proc("/proc"))
        .mount(MountOp::tmpfs("/tmp"));
    let configured = r.spec.mounts.len();
    let v = run_json(r);
    let mi = v["mountinfo"].as_str().unwrap();
    let points: Vec<&str> = mi.lines().map(|l| l.split(' ').nth(4).unwrap()).collect();
    assert_eq!(
        points.len(),
        configured + 1,
        "the root and each entry: {mi}"
    );
    assert_eq!(points[0], "/");
    // The root's tmpfs: read-only by default, and never suid or device nodes.
    let root_opts = mi.lines().next().unwrap().split(' ').nth(5).unwrap();
    assert_eq!(root_opts, "ro,nosuid,nodev,relatime", "{mi}");
    assert!(!mi.contains("old_root"), "{mi}");
    let root = v["root"].to_string();
    assert!(
        !root.contains("old_root"),
        "no directory left for the old root: {root}"
    );
}

#[test]
fn a_missing_source_is_an_error_with_its_index_and_nothing_runs() {
    let mut c = Cleanup::default();
    let out = c.dir("marker");
    let out_s = out.to_string_lossy().to_string();
    let r = in_root(&mut c, &["write", "/out/ran", "x"]);
    let first = r.spec.mounts.len();
    let r = r
        .mount(MountOp::bind(&out_s, "/out"))
        .mount(MountOp::bind("/nonexistent/forkexec-source", "/x"));
    assert_child_error(run(r), "mount(source)", libc::ENOENT, first as u32 + 1);
    assert!(!out.join("ran").exists(), "the target never ran");

    // Optional: skipped, nothing created at the target, the target runs.
    let r = inspect(&mut c, &["/x"])
        .mount(MountOp::bind("/nonexistent/forkexec-source", "/x").optional());
    let v = run_json(r);
    assert_eq!(path(&v, "/x")["errno"], libc::ENOENT);
}

/// `mount(mkdir)` (17), for real: a symlink whose path is already taken (by the directory the
/// entry before it made) fails in symlinkat with EEXIST, at its own index; the target never
/// runs.
#[test]
fn a_symlink_over_a_taken_path_fails_at_mount_mkdir() {
    let mut c = Cleanup::default();
    let out = c.dir("mkdir-marker");
    let out_s = out.to_string_lossy().to_string();
    let r = in_root(&mut c, &["write", "/out/ran", "x"]);
    let first = r.spec.mounts.len() as u32;
    let r = r
        .mount(MountOp::bind(&out_s, "/out"))
        .mount(MountOp::dir("/x"))
        .mount(MountOp::symlink("y", "/x"));
    assert_child_error(run(r), "mount(mkdir)", libc::EEXIST, first + 2);
    assert!(!out.join("ran").exists(), "the target never ran");
}

/// `mount(mkdir)`'s detail says what could not be made (`status::mkdir_detail`): on a
/// read-only bind, a missing parent of a directory, the empty file a bind of a file is
/// attached on, a directory itself. bubblewrap mode words them apart (`Can't mkdir parents
/// for`, `Can't create file at`, `Can't mkdir`).
#[test]
fn mount_mkdir_says_what_could_not_be_made() {
    use forkexec_client::Error;
    use forkexec_spec::status::mkdir_detail::{FILE, PARENT, TARGET};
    let mut c = Cleanup::default();
    let host = c.dir("mkdir-detail");
    std::fs::write(host.join("f"), "host").unwrap();
    let src = host.to_string_lossy().to_string();
    let file = host.join("f").to_string_lossy().to_string();
    for (last, detail) in [
        (MountOp::dir("/ro/a/b"), PARENT),
        (MountOp::ro_bind(&file, "/ro/x"), FILE),
        (MountOp::dir("/ro/x"), TARGET),
    ] {
        let r = in_root(&mut c, &["write", "/tmp/ran", "x"]);
        let first = r.spec.mounts.len() as u32;
        let r = r.mount(MountOp::ro_bind(&src, "/ro")).mount(last);
        match run(r) {
            Err(Error::Child(e)) => assert_eq!(
                (
                    e.location().map(|l| l.name()),
                    e.errno(),
                    e.index(),
                    e.detail()
                ),
                (Some("mount(mkdir)"), libc::EROFS, first + 1, detail),
                "{e}"
            ),
            other => panic!("expected mount(mkdir), got {other:?}"),
        }
    }
}

/// chmod (bubblewrap's `--chmod`): exactly the mode given, on a directory made before it, on
/// a host file shown by a bind, and through a symlink that stays inside the root; a missing
/// target fails at `mount(path)` with ENOENT, at its own index, creates nothing, and the target
/// never runs.
#[test]
fn chmod_sets_exactly_the_mode_of_an_existing_target() {
    let mut c = Cleanup::default();
    let host = c.dir("chmod-host");
    std::fs::write(host.join("f"), "x").unwrap();
    std::fs::set_permissions(host.join("f"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let h = host.to_string_lossy().to_string();
    let r = inspect(&mut c, &["/d", "/e"])
        .mount(MountOp::bind(&h, "/h"))
        .mount(MountOp::dir("/d"))
        .mount(MountOp::chmod("/d", 0o1701))
        .mount(MountOp::chmod("/h/f", 0o600))
        .mount(MountOp::dir("/e"))
        .mount(MountOp::symlink("/e", "/link"))
        .mount(MountOp::chmod("/link", 0o750));
    let v = run_json(r);
    assert_eq!(path(&v, "/d")["mode"], 0o1701, "{v}");
    assert_eq!(path(&v, "/e")["mode"], 0o750, "through the link: {v}");
    let mode = std::fs::metadata(host.join("f")).unwrap().mode() & 0o7777;
    assert_eq!(mode, 0o600, "the host file shown by the bind");

    let out = c.dir("chmod-marker");
    let out_s = out.to_string_lossy().to_string();
    let r = in_root(&mut c, &["write", "/out/ran", "x"]);
    let first = r.spec.mounts.len() as u32;
    let r = r
        .mount(MountOp::bind(&out_s, "/out"))
        .mount(MountOp::chmod("/out/missing/x", 0o700));
    assert_child_error(run(r), "mount(path)", libc::ENOENT, first + 1);
    assert!(!out.join("ran").exists(), "the target never ran");
    assert!(!out.join("missing").exists(), "nothing created");
}

#[test]
fn an_escaping_target_is_refused_before_any_mount() {
    let mut c = Cleanup::default();
    let out = c.dir("escape-marker");
    let out_s = out.to_string_lossy().to_string();
    let r = in_root(&mut c, &["write", "/out/ran", "x"]);
    let first = r.spec.mounts.len() as u32;
    let r = r
        .mount(MountOp::bind(&out_s, "/out"))
        .mount(MountOp::file("/out/before", "written before the refusal?"))
        .mount(MountOp::dir("/a/../../etc"));
    assert_child_error(run(r), "mount(path)", libc::EXDEV, first + 2);
    assert!(!out.join("ran").exists());
    assert!(!out.join("before").exists(), "refused before any entry ran");
}

/// A bound host tree holding symlinks that point out of it (`abs`: an absolute path, `rel`: a
/// climb of `..`s) cannot lead an entry out of the new root: the link is followed inside the
/// root. Where its target does not exist in the root the entry fails there (`mount(path)`,
/// ENOENT, at its own index); where the same path is made inside the root first, the entry
/// follows the link to it and succeeds (the control: the failure is the in-root resolution,
/// nothing else). The host directory the links name stays empty either way.
#[test]
fn symlinks_in_a_bound_tree_never_lead_out_of_the_root() {
    let mut c = Cleanup::default();
    let host = c.dir("trap");
    let outside = c.dir("outside");
    std::os::unix::fs::symlink(&outside, host.join("abs")).unwrap();
    let up = format!(
        "{}{}",
        "../".repeat(16),
        outside.to_string_lossy().trim_start_matches('/')
    );
    std::os::unix::fs::symlink(&up, host.join("rel")).unwrap();
    let src = host.to_string_lossy().to_string();
    // The directories of `outside`'s path, made inside the new root for the control.
    let mut in_root_copy: Vec<&Path> = outside
        .ancestors()
        .filter(|p| p.parent().is_some())
        .collect();
    in_root_copy.reverse();
    for link in ["abs", "rel"] {
        let ops = || {
            [
                MountOp::file(format!("/trap/{link}/pwned"), "x"),
                MountOp::dir(format!("/trap/{link}/pwned")),
                MountOp::tmpfs(format!("/trap/{link}/pwned")),
                MountOp::symlink("/", format!("/trap/{link}/pwned")),
            ]
        };
        for (k, op) in ops().into_iter().enumerate() {
            let r = in_root(&mut c, &["exit", "0"]).mount(MountOp::bind(&src, "/trap"));
            let index = r.spec.mounts.len() as u32;
            assert_child_error(run(r.mount(op)), "mount(path)", libc::ENOENT, index);
            assert_eq!(
                std::fs::read_dir(&outside).unwrap().count(),
                0,
                "{link} {k}"
            );
        }
        for (k, op) in ops().into_iter().enumerate() {
            let mut r = in_root(&mut c, &["exit", "0"]);
            for dir in &in_root_copy {
                r = r.mount(MountOp::dir(dir.to_string_lossy().into_owned()));
            }
            let out = run(r.mount(MountOp::bind(&src, "/trap")).mount(op)).unwrap();
            assert!(out.status.success(), "{link} {k}: {}", out.stderr);
            assert_eq!(
                std::fs::read_dir(&outside).unwrap().count(),
                0,
                "{link} {k}"
            );
        }
    }
}

#[test]
fn a_bind_onto_the_root_receives_the_entries_after_it() {
    let mut c = Cleanup::default();
    let host = c.dir("newroot");
    for d in ["usr", "bin", "lib", "lib64"] {
        if Path::new("/").join(d).exists() {
            std::fs::create_dir(host.join(d)).unwrap();
        }
    }
    std::fs::write(host.join("marker"), "root").unwrap();
    std::fs::write(host.join("probe"), "").unwrap(); // the probe is bound onto it
    std::fs::create_dir(host.join("proc")).unwrap(); // the bind is read-only: targets exist
    let root = c.dir("pivot");
    let mut r = Runner::new(vec![
        PROBE_IN_ROOT.to_string(),
        "inspect".into(),
        "/marker".into(),
    ])
    .clone_flags([Namespace::NewUser, Namespace::NewNs, Namespace::NewPid])
    .uid_mappings([forkexec_client::IdMap {
        container_id: 0,
        host_id: euid(),
        size: 1,
    }])
    .gid_mappings([forkexec_client::IdMap {
        container_id: 0,
        host_id: egid(),
        size: 1,
    }])
    .pivot_root(root.to_string_lossy().to_string())
    .mount(MountOp::ro_bind(host.to_string_lossy().to_string(), "/"));
    for d in ["/usr", "/bin", "/lib", "/lib64"] {
        if Path::new(d).exists() {
            r = r.mount(MountOp::ro_bind(d, d));
        }
    }
    let r = r
        .mount(MountOp::ro_bind(
            probe().to_string_lossy().to_string(),
            PROBE_IN_ROOT,
        ))
        .mount(MountOp::proc("/proc"));
    let v = run_json(r);
    assert_eq!(path(&v, "/marker")["read"], serde_json::json!(b"root"));
    assert_eq!(v["proc_pids"], serde_json::json!([1]));
}

/// A target made in the same directory as the one before is made there without resolving
/// its parent path again (the nodes of a /dev); a mount on that directory in between (an
/// existing target) must be seen: the next target is made in what is mounted there now.
#[test]
fn a_mount_over_the_directory_last_made_in_is_seen_by_the_next_target() {
    let mut c = Cleanup::default();
    let r = inspect(&mut c, &["/d"])
        .mount(MountOp::tmpfs("/d/a")) // makes /d and /d/a
        .mount(MountOp::tmpfs("/d")) // covers them
        .mount(MountOp::tmpfs("/d/b"))
        .mount(MountOp::tmpfs("/d/c"));
    let v = run_json(r);
    assert_eq!(path(&v, "/d")["entries"], serde_json::json!(["b", "c"]));
    // Raw mounts (`mount(2)` on the target) alike.
    let raw = |target: &str| forkexec_client::Mount::tmpfs(target, "mode=755").mkdir(true);
    let r = inspect(&mut c, &["/e"])
        .mount(raw("/e/a"))
        .mount(raw("/e"))
        .mount(raw("/e/b"));
    let v = run_json(r);
    assert_eq!(path(&v, "/e")["entries"], serde_json::json!(["b"]));
}

/// Thousands of sandboxed runs with every kind of mount leave the mount table they started
/// from as it was. As root the runs have no user namespace and start inside a shared peer
/// group (`leaks::in_shared_peer_group`), where a mount that escaped the helper's MS_PRIVATE
/// step would show (tests/leaks.rs shows this check catching exactly that); as a user each
/// sandbox's namespace is owned by a new user namespace, which never propagates back, so the
/// check there proves the pivot directory and bind sources are left clean.
#[test]
fn host_mountinfo_is_unchanged_after_thousands_of_runs() {
    let runs = std::env::var("FORKEXEC_MOUNT_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let mut c = Cleanup::default();
    let base = c.dir("many");
    if is_root() {
        leaks::in_shared_peer_group(base.join("shared"), move |dir| many_runs(dir, runs, false));
    } else {
        many_runs(&base, runs, true);
    }
}

fn many_runs(base: &Path, runs: usize, user_ns: bool) {
    let host = base.join("many");
    let root = base.join("many-root");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::create_dir_all(&root).unwrap();
    let src = host.to_string_lossy().to_string();
    let root = root.to_string_lossy().to_string();
    let mounts = leaks::Mounts::take();
    for i in 0..runs {
        let r = Runner::new(vec!["/bin/true".to_string()])
            .clone_flags([Namespace::NewUser, Namespace::NewNs, Namespace::NewPid])
            .uid_mappings([forkexec_client::IdMap {
                container_id: 0,
                host_id: euid(),
                size: 1,
            }])
            .gid_mappings([forkexec_client::IdMap {
                container_id: 0,
                host_id: egid(),
                size: 1,
            }])
            .pivot_root(root.clone())
            .mount(MountOp::ro_bind("/usr", "/usr"))
            .mount(MountOp::symlink("usr/bin", "/bin"))
            .mount(MountOp::symlink("usr/lib", "/lib"))
            .mount(MountOp::symlink("usr/lib64", "/lib64"))
            .mount(MountOp::bind(&src, "/data"))
            .mount(MountOp::tmpfs("/tmp").size(1 << 20))
            .mount(MountOp::proc("/proc"))
            .mount(MountOp::dev("/dev"))
            .mount(MountOp::file("/etc/hostname", "box\n"))
            .mount(MountOp::mask("/proc/sys"));
        let r = if user_ns {
            r
        } else {
            leaks::without_user_ns(r)
        };
        let out = run(r).unwrap_or_else(|e| panic!("run {i}: {e}"));
        assert!(out.status.success(), "run {i}: {:?}", out.stderr);
    }
    assert_eq!(mounts.check(), Ok(()));
    assert_eq!(
        std::fs::read_dir(&root).unwrap().count(),
        0,
        "the pivot directory is empty"
    );
    assert_eq!(std::fs::read_dir(&host).unwrap().count(), 0);
}
