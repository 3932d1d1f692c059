//! Error locations of the namespace and mount stages, provoked for real.

use super::*;
use forkexec_testkit::user_only;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A sandbox root whose target, if it ever ran, would leave the file `ran` in a host directory
/// bound read-write at `/out`. Returns the runner and that file's host path.
fn marker_root(c: &mut Cleanup) -> (Runner, PathBuf) {
    let out = c.dir("out");
    let r =
        in_root(c, &["write", "/out/ran", "ran"]).mount(Mount::bind(path_str(&out), "/out", false));
    (r, out.join("ran"))
}

/// A target outside any new root that would leave `marker` on the host if it ran.
fn marker_target(c: &mut Cleanup) -> (Runner, PathBuf) {
    let marker = c.dir("marker").join("ran");
    let r = probe_runner(&["write", &path_str(&marker), "ran"]);
    (r, marker)
}

// ---------------------------------------------------------------------------------------------
// Error locations, provoked through the spec (and the filesystem it names)
// ---------------------------------------------------------------------------------------------

/// The "never ran" checks below can fail: the same sandboxes without the fault do run the
/// target, which leaves its file.
#[test]
fn marker_targets_leave_their_file_when_they_run() {
    let mut c = Cleanup::default();
    let (r, marker) = marker_root(&mut c);
    let out = run(r).unwrap();
    assert!(out.status.success(), "{} {}", out.status, out.stderr);
    assert_eq!(fs::read_to_string(marker).unwrap(), "ran");
    let (r, marker) = marker_target(&mut c);
    let out = run(r).unwrap();
    assert!(out.status.success(), "{} {}", out.status, out.stderr);
    assert_eq!(fs::read_to_string(marker).unwrap(), "ran");
}

/// A bind whose source does not exist: `mount`, ENOENT, index = its position (the third
/// mount here).
#[test]
fn missing_bind_source_fails_at_its_mount_index() {
    let mut c = Cleanup::default();
    let (mut r, marker) = marker_root(&mut c);
    let missing = c.dir("gone").join("missing-source");
    r.spec.mounts.splice(
        0..0,
        [
            Mount::tmpfs("/t0", ""),
            Mount::tmpfs("/t1", ""),
            Mount::bind(path_str(&missing), "/t2", false),
        ]
        .map(Into::into),
    );
    assert_child_error(r.start(), "mount", libc::ENOENT, 2);
    assert!(!marker.exists());
}

/// A target below a regular file: resolving it inside the new root fails, `mount(path)`,
/// ENOTDIR, index of that mount.
#[test]
fn target_under_a_regular_file_fails_at_mount_path() {
    let mut c = Cleanup::default();
    let (mut r, marker) = marker_root(&mut c);
    let file = c.dir("plainfile").join("f");
    fs::write(&file, "x").unwrap();
    r.spec.mounts.splice(
        0..0,
        [
            Mount::bind(path_str(&file), "/f", true),
            Mount::tmpfs("/f/sub", ""),
        ]
        .map(Into::into),
    );
    assert_child_error(r.start(), "mount(path)", libc::ENOTDIR, 1);
    assert!(!marker.exists());
}

/// A pivot_root directory that does not exist: `mount(tmpfs)`, ENOENT.
#[test]
fn missing_pivot_root_dir_fails_at_mount_tmpfs() {
    let mut c = Cleanup::default();
    let (mut r, marker) = marker_root(&mut c);
    let missing = c.dir("noroot").join("missing");
    r.spec.pivot_root = path_str(&missing);
    assert_child_error(r.start(), "mount(tmpfs)", libc::ENOENT, 0);
    assert!(!marker.exists());
    assert!(!missing.exists());
}

/// A pivot_root path that only resolves before the tmpfs covers it (`DIR/sub/..`): the tmpfs
/// lands on DIR, then `chdir(DIR/sub/..)` finds no `sub` in the empty tmpfs: `mount(chdir)`,
/// ENOENT.
#[test]
fn pivot_root_path_through_a_covered_dir_fails_at_mount_chdir() {
    let mut c = Cleanup::default();
    let (mut r, marker) = marker_root(&mut c);
    let root = PathBuf::from(&r.spec.pivot_root);
    fs::create_dir(root.join("sub")).unwrap();
    r.spec.pivot_root = format!("{}/sub/..", root.display());
    assert_child_error(r.start(), "mount(chdir)", libc::ENOENT, 0);
    assert!(!marker.exists());
}

/// pivot_root(".", ".") needs no directory for the old root: a mount on `/old_root` (which
/// made go-sandbox's `mkdir old_root` fail) is just another mount, and the target runs.
#[test]
fn a_mount_on_old_root_is_just_a_mount() {
    let mut c = Cleanup::default();
    let (r, marker) = marker_root(&mut c);
    let r = r.mount(Mount::tmpfs("/old_root", ""));
    r.start().expect("start").wait().expect("wait");
    assert!(marker.exists());
}

/// An ordinary user cannot make a mount namespace without a user namespace: `unshare`, EPERM.
#[test]
fn unshare_without_a_user_namespace_is_refused_unprivileged() {
    user_only!("root may unshare a mount namespace without a user namespace");
    let mut c = Cleanup::default();
    let (r, marker) = marker_target(&mut c);
    let r = r.clone_flags([Namespace::NewNs]);
    assert_child_error(r.start(), "unshare", libc::EPERM, 0);
    assert!(!marker.exists());
}

// ---------------------------------------------------------------------------------------------
// Error locations that only the environment the runtime starts the helper in can provoke
// (an fd limit, no /proc, a chroot): real kernel failures of the helper's own calls.
// ---------------------------------------------------------------------------------------------

#[track_caller]
fn assert_failed_at(r: &RawResult, location: forkexec_client::Location, errno: i32) {
    assert_eq!(
        r.records,
        [Record::Error {
            location: location as u32,
            errno,
            index: 0,
            detail: 0,
        }],
        "stderr: {}",
        r.stderr
    );
    assert_eq!(r.status.code(), Some(125), "{:?}", r.status);
    assert_eq!(r.stderr, "");
}

/// With no fd to spare (RLIMIT_NOFILE 0) `/proc/self/setgroups` cannot be opened:
/// `write_setgroups`, EMFILE.
#[test]
fn write_setgroups_fails_without_a_free_fd() {
    let mut c = Cleanup::default();
    let (r, marker) = marker_target(&mut c);
    let spec = r.clone_flags([Namespace::NewUser]).spec.encode().unwrap();
    let res = raw_exec(&helper(), &spec, vec![Op::NoFiles]);
    assert_failed_at(
        &res,
        forkexec_client::Location::WriteSetgroups,
        libc::EMFILE,
    );
    assert!(!marker.exists());
}

/// The same with setgroups left allowed: the first open is the uid map's: `write_uid_map`,
/// EMFILE.
#[test]
fn write_uid_map_fails_without_a_free_fd() {
    let mut c = Cleanup::default();
    let (r, marker) = marker_target(&mut c);
    let spec = r
        .clone_flags([Namespace::NewUser])
        .uid_mappings([IdMap::new(0, euid(), 1)])
        .gid_mappings_enable_setgroups(true)
        .spec
        .encode()
        .unwrap();
    let res = raw_exec(&helper(), &spec, vec![Op::NoFiles]);
    assert_failed_at(&res, forkexec_client::Location::WriteUidMap, libc::EMFILE);
    assert!(!marker.exists());
}

/// Under a /proc that is not procfs (a tmpfs holding only `self/setgroups` and
/// `self/uid_map` as plain files, as in a scratch container that has not mounted proc),
/// the gid map cannot be opened: `write_gid_map`, ENOENT.
#[test]
fn write_gid_map_fails_without_proc() {
    let mut c = Cleanup::default();
    let (r, marker) = marker_target(&mut c);
    // The helper runs as uid/gid 0 (root, or mapped to root by own_mount_ns).
    let spec = r
        .clone_flags([Namespace::NewUser])
        .uid_mappings([IdMap::new(0, 0, 1)])
        .gid_mappings([IdMap::new(0, 0, 1)])
        .spec
        .encode()
        .unwrap();
    let mut ops = own_mount_ns();
    ops.extend([
        Op::Mount(cs("tmpfs"), cs("/proc"), cs("tmpfs"), 0),
        Op::Mkdir(cs("/proc/self")),
        Op::Touch(cs("/proc/self/setgroups")),
        Op::Touch(cs("/proc/self/uid_map")),
    ]);
    let res = raw_exec(&helper(), &spec, ops);
    assert_failed_at(&res, forkexec_client::Location::WriteGidMap, libc::ENOENT);
    assert!(!marker.exists());
}

/// A runtime whose own gid has no mapping in its user namespace cannot make a nested one:
/// `unshare`, EPERM (for root too).
#[test]
fn unshare_of_a_user_namespace_fails_with_an_unmapped_gid() {
    let mut c = Cleanup::default();
    let (r, marker) = marker_target(&mut c);
    let spec = r.clone_flags([Namespace::NewUser]).spec.encode().unwrap();
    let ops = vec![
        Op::Unshare(libc::CLONE_NEWUSER),
        Op::Write(
            cs("/proc/self/uid_map"),
            format!("0 {} 1", euid()).into_bytes(),
        ),
    ];
    let res = raw_exec(&helper(), &spec, ops);
    assert_failed_at(&res, forkexec_client::Location::Unshare, libc::EPERM);
    assert!(!marker.exists());
}

/// A helper chrooted into a directory that is not a mount point cannot make `/` private:
/// `mount(root)`, EINVAL.
#[test]
fn chroot_that_is_not_a_mount_point_fails_at_mount_root() {
    let mut c = Cleanup::default();
    let dir = c.dir("chroot");
    fs::write(dir.join("forkexec"), "").unwrap();
    let spec = Runner::new(["/never-run"])
        .clone_flags([Namespace::NewNs])
        .spec
        .encode()
        .unwrap();
    let mut ops = own_mount_ns();
    ops.extend([
        Op::Mount(
            cs(helper()),
            cs(dir.join("forkexec")),
            cs(""),
            libc::MS_BIND,
        ),
        Op::Chroot(cs(&dir)),
        Op::Chdir(cs("/")),
    ]);
    let res = raw_exec(Path::new("/forkexec"), &spec, ops);
    assert_failed_at(&res, forkexec_client::Location::MountRoot, libc::EINVAL);
}

/// A helper whose root is a mount covered by another mount (chrooted into a tmpfs, then a
/// second tmpfs mounted on `/`). go-sandbox's `old_root` directory could not be removed there
/// (`unlink`, EBUSY: only the cover was detached); `pivot_root(".", ".")` stacks the old root
/// with its cover on the new root and the lazy detach takes both, so the chain goes on to
/// execve (of a target that does not exist: ENOENT).
#[test]
fn a_covered_old_root_is_detached_whole() {
    let mut c = Cleanup::default();
    let dir = c.dir("covered");
    let spec = Runner::new(["/never-run"])
        .clone_flags([Namespace::NewNs])
        .pivot_root("/newroot")
        .spec
        .encode()
        .unwrap();
    let mut ops = own_mount_ns();
    ops.extend([
        Op::Mount(cs("tmpfs"), cs(&dir), cs("tmpfs"), 0),
        Op::Touch(cs(dir.join("forkexec"))),
        Op::Mount(
            cs(helper()),
            cs(dir.join("forkexec")),
            cs(""),
            libc::MS_BIND,
        ),
        Op::Mkdir(cs(dir.join("newroot"))),
        Op::Chroot(cs(&dir)),
        Op::Chdir(cs("/")),
        Op::Mount(cs("tmpfs"), cs("/"), cs("tmpfs"), 0),
    ]);
    let res = raw_exec(Path::new("/forkexec"), &spec, ops);
    let execve = forkexec_client::Location::Execve as u32;
    assert_eq!(
        res.records,
        [Record::Error {
            location: execve,
            errno: libc::ENOENT,
            index: 0,
            detail: 0
        }],
        "stderr: {}",
        res.stderr
    );
    assert_eq!(res.status.code(), Some(127), "not found");
}
