//! The helper run inside a sandbox that the helper made. The outer sandbox (level 1: the
//! host's helper, a mount and pid namespace, and a user namespace when unprivileged, pivot
//! into the scratch root) runs `spawner`, which runs the scratch root's own `/bin/forkexec`
//! with a spec file of the tree (`/etc/level2.spec`, written with the client's encoder) on
//! fd 3 and its status fd on a pipe. That inner helper makes level 2: a new user namespace
//! (0 mapped to 0, the outer root), a new mount namespace, pivot_root onto a tmpfs at `/mnt`,
//! its own mount operations. The spawner relays the inner helper's status records and exit
//! status, and exits with it, so the innermost target's exit code comes out of the outer one.

use forkexec_client::{IdMap, Location, MountOp, Namespace, Runner, Spec};
use forkexec_rootfs_tests::*;
use forkexec_spec::status::Record;

/// How the inner helper runs its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// A new user and mount namespace: the inner helper becomes the target.
    InPlace,
    /// A new pid namespace too: the inner helper supervises it.
    Supervise,
    /// And the inner helper's init as pid 1, the target pid 2.
    Init,
}

/// Where every level pivots.
const NEW_ROOT: &str = "/mnt";

/// The spec of a nested level: `args` in a new user (0 → 0) and mount namespace (and pid
/// namespace unless in place), pivot_root onto a tmpfs at [`NEW_ROOT`] with the parent's
/// `/bin` bound read-only, a tmpfs on `/tmp`, a proc (in place: the parent's, bound, as a
/// new one needs a pid namespace of its own), and either the next level's needs (the parent's
/// `/etc` with the spec files, a directory for the next new root) or, for the last level,
/// only a file `/etc/motd` made by a mount operation. fds 0-2 are the spawner's, records go
/// to its pipe on fd 4.
fn level_spec(args: &[&str], shape: Shape, last: bool) -> Spec {
    let mut s = Spec::new(args.iter().copied());
    s.files = vec![0, 1, 2];
    s.status_fd = Some(4);
    s.clone_flags = vec![Namespace::NewUser, Namespace::NewNs];
    if shape != Shape::InPlace {
        s.clone_flags.push(Namespace::NewPid);
    }
    s.init = shape == Shape::Init;
    s.uid_mappings = vec![IdMap::new(0, 0, 1)];
    s.gid_mappings = vec![IdMap::new(0, 0, 1)];
    s.pivot_root = NEW_ROOT.into();
    let mut ops = vec![
        MountOp::ro_bind("/bin", "/bin"),
        MountOp::tmpfs("/tmp"),
        match shape {
            Shape::InPlace => MountOp::ro_bind("/proc", "/proc"),
            _ => MountOp::proc("/proc"),
        },
    ];
    if last {
        ops.push(MountOp::file("/etc/motd", "inner root\n"));
    } else {
        ops.push(MountOp::ro_bind("/etc", "/etc"));
        ops.push(MountOp::dir(NEW_ROOT));
    }
    s.mounts = ops.into_iter().map(Into::into).collect();
    s
}

/// The spec file of level `n`.
fn spec_path(n: usize) -> String {
    format!("/etc/level{n}.spec")
}

/// Level 1 (the outer sandbox) runs the spawner; levels 2 … `shapes.len() + 1` are made by
/// the helper inside, each but the last running a spawner again (tagged `L<n>`), the last
/// running `args`. `last` adjusts the last level's spec. Spec files are written into the tree.
fn nested(
    rootfs: &Rootfs,
    shapes: &[Shape],
    args: &[&str],
    last: impl FnOnce(&mut Spec),
) -> Runner {
    let depth = shapes.len() + 1;
    let mut last = Some(last);
    for (i, &shape) in shapes.iter().enumerate() {
        let level = i + 2;
        let spec = if level == depth {
            let mut spec = level_spec(args, shape, true);
            (last.take().unwrap())(&mut spec);
            spec
        } else {
            // It mounts a proc for the next helper, so it needs its own pid namespace.
            assert_ne!(shape, Shape::InPlace, "level {level} runs a spawner");
            let next = spec_path(level + 1);
            let tag = format!("L{level}");
            level_spec(&[SPAWNER, HELPER_IN_ROOT, &next, &tag], shape, false)
        };
        let bytes = spec.encode().expect("encode");
        rootfs.add(&spec_path(level), &bytes, 0o644);
    }
    let outer = [SPAWNER, HELPER_IN_ROOT, &spec_path(2), "L1"];
    in_rootfs(rootfs, &outer, &[Namespace::NewPid])
        .mount(MountOp::proc("/proc"))
        .mount(MountOp::dir(NEW_ROOT))
}

/// What the last level's probe is asked.
#[rustfmt::skip]
const REPORT: [&str; 19] = [
    PROBE, "pids", "ids", "mounts", "ls", "/",
    "read", "/etc/motd", "read", "/etc/level2.spec",
    "write", "/tmp/t", "x", "write", "/new-file", "x",
    "stat", "/bin/forkexec", "exit",
];

fn report(code: &str) -> Vec<&str> {
    let mut v = REPORT.to_vec();
    v.push(code);
    v
}

/// Checks what a last level's probe saw: its own mounts only, the file its mount operation
/// made, nothing of the outer levels but `/bin`.
#[track_caller]
fn check_inner_view(l: &Lines, shape: Shape) {
    assert_eq!(l.mount_points(), ["/", "/bin", "/tmp", "/proc"], "{l:#?}");
    assert!(l.mount("/").read_only());
    assert!(l.mount("/bin").read_only());
    assert_eq!(
        l.mount("/proc").fstype,
        "proc",
        "{shape:?}: a new proc, or the parent's bound"
    );
    assert_eq!(l.entries("/"), ["bin", "etc", "proc", "tmp"], "{l:#?}");
    assert_eq!(l.file_op("read", "/etc/motd"), Ok("inner root".into()));
    assert_eq!(
        l.file_op("read", "/etc/level2.spec"),
        Err(libc::ENOENT),
        "the outer level's files are not there"
    );
    assert_eq!(l.file_op("write", "/tmp/t"), Ok(String::new()));
    assert_eq!(l.file_op("write", "/new-file"), Err(libc::EROFS));
    assert!(l.file_op("stat", "/bin/forkexec").is_ok());
    // uid 0 of a user namespace whose 0 is the outer level's 0.
    assert_eq!(l.one("uid"), ["0", "0", "0"]);
    assert_eq!(l.one("gid"), ["0", "0", "0"]);
}

/// The records a spawner relayed for a target that exited with `code`: none in place (EOF
/// says the exec happened), else the pid, the exec and the exit with the target's status.
#[track_caller]
fn check_records(records: &[Record], shape: Shape, code: i32) {
    match (shape, records) {
        (Shape::InPlace, []) => {}
        (
            Shape::Supervise | Shape::Init,
            [Record::Pid { pid }, Record::Exec { pid: exec }, Record::Exit { status, .. }],
        ) => {
            assert!(*pid > 1 && exec == pid, "{records:?}");
            assert_eq!(*status, code << 8, "exit record: {records:?}");
        }
        _ => panic!("{shape:?}: unexpected records {records:?}"),
    }
}

/// Level 2 in each shape: the inner target sees its own root, the spawner gets the inner
/// helper's records, and the exit code (7) comes out of both helpers.
#[test]
fn helper_runs_inside_a_sandbox_it_made() {
    for shape in [Shape::InPlace, Shape::Supervise, Shape::Init] {
        let rootfs = Rootfs::new("nest");
        let out = run(nested(&rootfs, &[shape], &report("7"), |_| {})).expect("start");
        let l = &out.lines;
        assert_eq!(
            out.status.code(),
            Some(7),
            "{shape:?} {l:#?} {}",
            out.stderr
        );
        check_inner_view(l, shape);
        let spawner = l.tagged("L1");
        assert_eq!(spawner.number("helper-exit"), 7, "{l:#?}");
        check_records(&records(&spawner), shape, 7);
        let helper = spawner.number("helper-pid");
        match shape {
            // The inner helper became the probe: same pid, in the outer pid namespace.
            Shape::InPlace => assert_eq!(l.number("pid"), helper),
            Shape::Supervise => assert_eq!(l.number("pid"), 1),
            Shape::Init => assert_eq!((l.number("pid"), l.number("ppid")), (2, 1)),
        }
    }
}

/// Three levels: the outer sandbox's spawner runs the helper, whose target is a spawner that
/// runs the helper again (init this time). Each spawner reports its own helper's records;
/// the innermost exit code (9) comes out of all three helpers.
#[test]
fn three_levels() {
    let rootfs = Rootfs::new("nest3");
    let shapes = [Shape::Supervise, Shape::Init];
    let out = run(nested(&rootfs, &shapes, &report("9"), |_| {})).expect("start");
    let l = &out.lines;
    assert_eq!(out.status.code(), Some(9), "{l:#?} {}", out.stderr);
    check_inner_view(l, Shape::Init);
    assert_eq!(l.file_op("read", "/etc/level2.spec"), Err(libc::ENOENT));
    assert_eq!((l.number("pid"), l.number("ppid")), (2, 1));
    for (tag, shape) in [("L1", Shape::Supervise), ("L2", Shape::Init)] {
        let spawner = l.tagged(tag);
        assert_eq!(spawner.number("helper-exit"), 9, "{tag}: {l:#?}");
        check_records(&records(&spawner), shape, 9);
    }
    // Level 2's spawner is pid 1 of level 2's pid namespace; its helper pid 2 there.
    assert_eq!(l.tagged("L2").number("helper-pid"), 2);
}

/// The inner helper fails a step: its error record (a bind whose source does not exist:
/// mount(source), ENOENT, the operation's index) reaches the spawner, nothing runs, and the
/// setup-failure exit code 125 comes out of the outer helper.
#[test]
fn inner_error_record_reaches_the_outside() {
    for shape in [Shape::InPlace, Shape::Supervise] {
        let rootfs = Rootfs::new("nest-error");
        let mut index = 0;
        let r = nested(&rootfs, &[shape], &report("7"), |spec| {
            index = spec.mounts.len() as u32;
            spec.mounts
                .push(MountOp::ro_bind("/does-not-exist", "/data").into());
        });
        let out = run(r).expect("start");
        let l = &out.lines;
        assert_eq!(out.status.code(), Some(125), "{shape:?} {l:#?}");
        assert!(l.all("pid").is_empty(), "the target ran: {l:#?}");
        let spawner = l.tagged("L1");
        assert_eq!(spawner.number("helper-exit"), 125);
        let records = records(&spawner);
        let error = Record::Error {
            location: Location::MountSource as u32,
            errno: libc::ENOENT,
            index,
            detail: 0,
        };
        match shape {
            Shape::InPlace => assert_eq!(records, [error]),
            _ => assert!(
                matches!(records[..], [Record::Pid { .. }, e] if e == error),
                "{records:?}"
            ),
        }
    }
}
