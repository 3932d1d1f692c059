//! A failed start in words (crates/spec/src/render.rs), the line the helper writes on stderr
//! and every front end shows: `location(index) SUBJECT: errno text`, SUBJECT being what the
//! index refers to in the spec; `spec(offset N): fault (errno text)` for a refused spec. The
//! expected lines are written out here, not computed.

use forkexec_spec::decode::{decode, Fault};
use forkexec_spec::layout::{mount_flags, mount_kind as k, ns};
use forkexec_spec::render::{self, Failure, Out};
use forkexec_spec::Location;
use forkexec_testkit::wire::{build, s, WriteExt, W};

struct Text(String);

impl Out for Text {
    fn put(&mut self, bytes: &[u8]) {
        self.0.push_str(std::str::from_utf8(bytes).unwrap());
    }
}

fn words(location: u32, errno: i32, index: u32, detail: u32, spec: Option<&[u8]>) -> String {
    let decoded = spec.map(|b| decode(b).unwrap());
    let mut out = Text(String::new());
    let f = Failure {
        location,
        errno,
        index,
        detail,
    };
    render::failure(&mut out, &f, decoded.as_ref());
    out.0
}

/// `location` at `index` with ENOENT (2), worded with `spec`.
fn at(location: Location, index: u32, spec: &[u8]) -> String {
    words(location as u32, 2, index, 0, Some(spec))
}

const ENOENT: &str = "no such file or directory";

#[test]
fn a_refused_spec_names_the_offset_and_the_fault() {
    assert_eq!(
        words(Location::Spec as u32, 22, 17, Fault::BadValue as u32, None),
        "spec(offset 17): value out of range (invalid argument)"
    );
    assert_eq!(
        words(Location::Spec as u32, 22, 0, 999, None),
        "spec(offset 0): fault 999 (invalid argument)"
    );
    // The spec at hand changes nothing for a refused spec.
    let spec = build(|w| w.args(s(&["/bin/true"])));
    assert_eq!(
        words(
            Location::Spec as u32,
            7,
            4_294_967_295,
            Fault::TooMany as u32,
            Some(&spec)
        ),
        "spec(offset 4294967295): over the count limit (argument list too long)"
    );
}

#[test]
fn a_location_with_its_index_and_errno() {
    assert_eq!(
        words(Location::Clone as u32, 1, 0, 0, None),
        "clone(0): operation not permitted"
    );
    assert_eq!(
        words(Location::Mount as u32, 2, 3, 0, None),
        format!("mount(3): {ENOENT}")
    );
    assert_eq!(
        words(9999, 13, 12, 0, None),
        "unknown(9999)(12): permission denied"
    );
    assert_eq!(
        words(Location::Dup3 as u32, 200, 1, 0, None),
        "dup3(1): unknown error 200"
    );
    assert_eq!(
        words(Location::Dup3 as u32, -5, 1, 0, None),
        "dup3(1): unknown error -5"
    );
}

fn mounts(w: &mut W) {
    w.args(s(&["/bin/prog"]));
    w.clone_flags(ns::NEWNS | ns::NEWUSER);
    w.raw_mount(mount_flags::BIND, 0, b"/srv/data", b"/data", b"", b"");
    w.op(k::BIND, 0, 0, 0, -1, b"/usr/lib", b"/lib", b"");
    w.op(k::FILE, 0, 0o644, 0, 7, b"", b"/etc/passwd", b"");
    w.op(k::TMPFS, 0, 0o755, 0, -1, b"", b"/tmp", b"");
}

#[test]
fn a_mount_is_named_by_its_target_and_its_source() {
    let spec = build(mounts);
    for loc in [Location::Mount, Location::MountMkdir, Location::MountPath] {
        let name = loc.name();
        assert_eq!(at(loc, 0, &spec), format!("{name}(0) /data: {ENOENT}"));
        assert_eq!(
            at(loc, 2, &spec),
            format!("{name}(2) /etc/passwd: {ENOENT}")
        );
        assert_eq!(
            at(loc, 4, &spec),
            format!("{name}(4): {ENOENT}"),
            "no mount 4"
        );
    }
    let src = Location::MountSource;
    assert_eq!(
        at(src, 0, &spec),
        format!("mount(source)(0) /srv/data: {ENOENT}")
    );
    assert_eq!(
        at(src, 1, &spec),
        format!("mount(source)(1) /usr/lib: {ENOENT}")
    );
    assert_eq!(
        at(src, 2, &spec),
        format!("mount(source)(2) fd 7: {ENOENT}")
    );
    assert_eq!(
        at(src, 3, &spec),
        format!("mount(source)(3): {ENOENT}"),
        "no source"
    );
    assert_eq!(at(src, 9, &spec), format!("mount(source)(9): {ENOENT}"));
}

#[test]
fn the_other_subjects() {
    let spec = build(|w| {
        w.args(s(&["/bin/prog", "-v"]));
        w.clone_flags(ns::NEWNS | ns::NEWUSER | ns::NEWUTS);
        w.work_dir(b"/work");
        w.pivot_root(b"/new-root");
        w.host_name(b"box");
        w.domain_name(b"example");
        w.cgroup_path(b"/sys/fs/cgroup/job");
        w.limit(7, 64, 64);
    });
    let cases = [
        (Location::Execve, 0, "execve(0) /bin/prog"),
        (Location::Chdir, 0, "chdir(0) /work"),
        (Location::MountTmpfs, 0, "mount(tmpfs)(0) /new-root"),
        (Location::MountChdir, 0, "mount(chdir)(0) /new-root"),
        (Location::PivotRoot, 0, "pivot_root(0) /new-root"),
        (Location::SetHostName, 0, "sethostname(0) box"),
        (Location::SetDomainName, 0, "setdomainname(0) example"),
        (Location::Cgroup, 0, "cgroup(0) /sys/fs/cgroup/job"),
        (Location::SetRlimit, 0, "setrlimit(0) nofile"),
        // No rlimit 1: no subject.
        (Location::SetRlimit, 1, "setrlimit(1)"),
        // A location whose index names nothing in the spec.
        (Location::SetSid, 0, "setsid(0)"),
    ];
    for (loc, index, want) in cases {
        assert_eq!(at(loc, index, &spec), format!("{want}: {ENOENT}"));
    }
    // What is not in the spec is not named (no stray space either).
    let bare = build(|w| w.args(s(&["/bin/prog"])));
    for loc in [
        Location::Chdir,
        Location::PivotRoot,
        Location::SetHostName,
        Location::Cgroup,
    ] {
        assert_eq!(at(loc, 0, &bare), format!("{}(0): {ENOENT}", loc.name()));
    }
}

#[test]
fn what_execve_ran() {
    let path = build(|w| {
        w.args(s(&["prog"]));
        w.exec_path(b"/opt/prog");
    });
    assert_eq!(
        at(Location::Execve, 0, &path),
        format!("execve(0) /opt/prog: {ENOENT}")
    );
    let fd = build(|w| {
        w.args(s(&["prog"]));
        w.exec_fd(12);
    });
    assert_eq!(
        at(Location::Execve, 0, &fd),
        format!("execve(0) fd 12: {ENOENT}")
    );
    let argv0 = build(|w| w.args(s(&["/usr/bin/env", "x"])));
    assert_eq!(
        at(Location::Execve, 0, &argv0),
        format!("execve(0) /usr/bin/env: {ENOENT}")
    );
}

#[test]
fn a_landlock_rule_is_named_by_its_path() {
    use forkexec_spec::tables::landlock_fs as fs;
    let spec = build(|w| {
        w.args(s(&["/bin/prog"]));
        w.landlock(fs::READ_FILE, 0, 0, 0);
        w.landlock_path(fs::READ_FILE, b"/usr");
        w.landlock_path(fs::READ_FILE, b"/opt/data");
    });
    let loc = Location::LandlockPath;
    assert_eq!(
        at(loc, 1, &spec),
        format!("landlock(path)(1) /opt/data: {ENOENT}")
    );
    assert_eq!(at(loc, 2, &spec), format!("landlock(path)(2): {ENOENT}"));
}

#[test]
fn an_info_fd_is_named_by_its_number() {
    // Index 0 is INFO_FD, 1 JSON_STATUS_FD (docs/spec.md, location 61).
    let both = build(|w| {
        w.args(s(&["/bin/prog"]));
        w.info_fd(11);
        w.json_status_fd(12);
    });
    let loc = Location::InfoFd;
    assert_eq!(at(loc, 0, &both), format!("info_fd(0) fd 11: {ENOENT}"));
    assert_eq!(at(loc, 1, &both), format!("info_fd(1) fd 12: {ENOENT}"));
    assert_eq!(at(loc, 2, &both), format!("info_fd(2): {ENOENT}"));
    // Only the JSON status fd: index 0 names nothing.
    let json = build(|w| {
        w.args(s(&["/bin/prog"]));
        w.json_status_fd(9);
    });
    assert_eq!(at(loc, 0, &json), format!("info_fd(0): {ENOENT}"));
    assert_eq!(at(loc, 1, &json), format!("info_fd(1) fd 9: {ENOENT}"));
}

#[test]
fn a_namespace_to_join_is_named_by_its_fd() {
    // Index 0 user, 1 pid, 2 user2 (docs/spec.md, location 60).
    let spec = build(|w| {
        w.args(s(&["/bin/prog"]));
        w.join_ns(Some(5), None, Some(7));
    });
    let loc = Location::SetNs;
    assert_eq!(at(loc, 0, &spec), format!("setns(0) fd 5: {ENOENT}"));
    assert_eq!(at(loc, 1, &spec), format!("setns(1): {ENOENT}"));
    assert_eq!(at(loc, 2, &spec), format!("setns(2) fd 7: {ENOENT}"));
    assert_eq!(at(loc, 3, &spec), format!("setns(3): {ENOENT}"));
    let bare = build(|w| w.args(s(&["/bin/prog"])));
    assert_eq!(at(loc, 0, &bare), format!("setns(0): {ENOENT}"));
}

#[test]
fn a_lock_file_is_named_by_its_path_and_the_sync_fd_by_its_number() {
    // lock_file (54): the index is the LOCK_FILE's; sync_fd (55) names SYNC_FD.
    let spec = build(|w| {
        w.args(s(&["/bin/prog"]));
        w.options(forkexec_spec::layout::opt::INIT);
        w.lock_file(b"/run/a.lock");
        w.lock_file(b"/b");
        w.sync_fd(9);
    });
    let loc = Location::LockFile;
    assert_eq!(
        at(loc, 0, &spec),
        format!("lock_file(0) /run/a.lock: {ENOENT}")
    );
    assert_eq!(at(loc, 1, &spec), format!("lock_file(1) /b: {ENOENT}"));
    assert_eq!(at(loc, 2, &spec), format!("lock_file(2): {ENOENT}"));
    assert_eq!(
        at(Location::SyncFd, 0, &spec),
        format!("sync_fd(0) fd 9: {ENOENT}")
    );
}

#[test]
fn a_block_fd_is_named_by_its_number() {
    // block_fd (57): index 0 BLOCK_FD, 1 USERNS_BLOCK_FD.
    let spec = build(|w| {
        w.args(s(&["/bin/prog"]));
        w.clone_flags(forkexec_spec::layout::ns::NEWUSER);
        w.block_fd(7);
        w.userns_block_fd(8);
    });
    let loc = Location::BlockFd;
    assert_eq!(at(loc, 0, &spec), format!("block_fd(0) fd 7: {ENOENT}"));
    assert_eq!(at(loc, 1, &spec), format!("block_fd(1) fd 8: {ENOENT}"));
    assert_eq!(at(loc, 2, &spec), format!("block_fd(2): {ENOENT}"));
}

/// Option BWRAP_ERRORS: the steps bubblewrap's callers meet in bubblewrap 0.11's words
/// (bubblewrap.c's `die_with_error`s), strerror as glibc writes it; any other step, and the same
/// failures without the option, in forkexec's.
#[test]
fn bubblewraps_words_with_bwrap_errors() {
    use forkexec_spec::layout::opt;
    use forkexec_spec::status::mkdir_detail::{FILE, PARENT};
    let ops = |w: &mut W| {
        w.args(s(&["/bin/prog"]));
        w.work_dir(b"/w");
        w.clone_flags(ns::NEWNS | ns::NEWUTS);
        w.host_name(b"box");
        w.op(k::PROC, 0, 0, 0, -1, b"", b"/proc", b"");
        w.op(k::TMPFS, 0, 0o755, 0, -1, b"", b"/tmp", b"");
        w.op(k::BIND, 0, 0, 0, -1, b"/usr", b"/usr", b"");
        w.op(k::SYMLINK, 0, 0, 0, -1, b"usr/lib", b"/lib", b"");
        w.op(k::FILE, 0, 0o644, 0, 7, b"", b"/etc/f", b"");
        w.op(k::REMOUNT_RO, 0, 0, 0, -1, b"", b"/usr", b"");
        w.op(k::BIND_DATA, 0, 0o600, 0, 7, b"", b"/etc/d", b"");
        w.op(k::DEV, 0, 0, 0, -1, b"", b"/dev", b"");
    };
    let native = build(ops);
    let bwrap = build(|w| {
        ops(w);
        w.options(opt::BWRAP_ERRORS);
    });
    let (native, bwrap) = (decode(&native).unwrap(), decode(&bwrap).unwrap());
    let say = |spec, loc: Location, errno: i32, index: u32, detail: u32| {
        let mut out = Text(String::new());
        let f = Failure {
            location: loc as u32,
            errno,
            index,
            detail,
        };
        render::failure(&mut out, &f, Some(spec));
        out.0
    };
    use Location as L;
    let cases = [
        (
            L::Execve,
            2,
            0,
            0,
            "execvp /bin/prog: No such file or directory",
        ),
        (L::Execve, 13, 0, 0, "execvp /bin/prog: Permission denied"),
        (L::Execve, 200, 0, 0, "execvp /bin/prog: Unknown error 200"),
        (
            L::Chdir,
            2,
            0,
            0,
            "Can't chdir to /w: No such file or directory",
        ),
        (
            L::SetHostName,
            1,
            0,
            0,
            "Can't set hostname to box: Operation not permitted",
        ),
        (
            L::Seccomp,
            22,
            0,
            0,
            "prctl(PR_SET_SECCOMP): Invalid argument",
        ),
        (
            L::MountPath,
            20,
            1,
            0,
            "Can't mkdir parents for /tmp: Not a directory",
        ),
        (
            L::MountMkdir,
            30,
            1,
            PARENT,
            "Can't mkdir parents for /tmp: Read-only file system",
        ),
        (
            L::MountMkdir,
            30,
            1,
            0,
            "Can't mkdir /tmp: Read-only file system",
        ),
        (
            L::MountMkdir,
            30,
            2,
            FILE,
            "Can't create file at /usr: Read-only file system",
        ),
        (
            L::MountMkdir,
            17,
            3,
            0,
            "Can't make symlink at /lib: File exists",
        ),
        (
            L::MountMkdir,
            13,
            4,
            0,
            "Can't create file /etc/f: Permission denied",
        ),
        (
            L::MountMkdir,
            30,
            6,
            0,
            "Can't create file at /etc/d: Read-only file system",
        ),
        (
            L::MountMkdir,
            30,
            6,
            FILE,
            "Can't create file at /etc/d: Read-only file system",
        ),
        (
            L::Mount,
            1,
            0,
            0,
            "Can't mount proc on /newroot/proc: Operation not permitted",
        ),
        (
            L::Mount,
            1,
            1,
            0,
            "Can't mount tmpfs on /newroot/tmp: Operation not permitted",
        ),
        (
            L::MountPath,
            2,
            5,
            0,
            "Can't remount readonly on /newroot/usr: realpath(destination): No such file or \
             directory",
        ),
        (
            L::Mount,
            20,
            2,
            0,
            "Can't bind mount /oldroot/usr on /newroot/usr: Unable to mount source on \
             destination: Not a directory",
        ),
        // No errno: none said.
        (
            L::AssertUsernsDisabled,
            0,
            0,
            0,
            "creation of new user namespaces was not disabled as requested",
        ),
        // No words of bubblewrap's: forkexec's.
        (
            L::MountSource,
            2,
            2,
            0,
            "mount(source)(2) /usr: no such file or directory",
        ),
        (L::Mount, 1, 7, 0, "mount(7) /dev: operation not permitted"),
        (L::Dup3, 9, 4, 0, "dup3(4): bad file descriptor"),
        (
            L::MountMkdir,
            30,
            1,
            3,
            "mount(mkdir)(1) /tmp: read-only file system",
        ),
    ];
    for (loc, errno, index, detail, want) in cases {
        assert_eq!(say(&bwrap, loc, errno, index, detail), want, "{loc:?}");
        // Without the option the same failure is forkexec's line.
        let theirs = say(&native, loc, errno, index, detail);
        assert!(theirs.starts_with(loc.name()), "{theirs}");
    }
}
