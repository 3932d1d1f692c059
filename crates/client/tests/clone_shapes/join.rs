//! Joining existing namespaces (record JOIN_NS; bubblewrap's `--userns`, `--pidns`,
//! `--userns2`): the target of a second sandbox runs in the namespaces of a first one.

use super::*;

/// A first sandbox to join: a target in its own user and pid namespaces (mapping the caller
/// to root inside), sleeping; with fds on its `ns/user` and `ns/pid`.
struct Box1 {
    run: Running,
    user: File,
    pid: File,
}

impl Box1 {
    fn start() -> Box1 {
        let r = probe_runner(&["sleep", "60"])
            .clone_flags([Namespace::NewUser, Namespace::NewPid])
            .uid_mappings([IdMap::new(0, euid(), 1)])
            .gid_mappings([IdMap::new(0, egid(), 1)]);
        let run = Running::start(r).unwrap();
        let target = run.p.target_pid();
        let user = File::open(format!("/proc/{target}/ns/user")).unwrap();
        let pid = File::open(format!("/proc/{target}/ns/pid")).unwrap();
        Box1 { run, user, pid }
    }

    fn ns(&self, name: &str) -> String {
        let target = self.run.p.target_pid();
        path_str(&fs::read_link(format!("/proc/{target}/ns/{name}")).unwrap())
    }
}

fn join(user: Option<&File>, pid: Option<&File>, user2: Option<&File>) -> JoinNs {
    let fd = |f: Option<&File>| f.map(|f| f.as_raw_fd());
    JoinNs {
        user: fd(user),
        pid: fd(pid),
        user2: fd(user2),
    }
}

/// `--userns` and `--pidns`: the target is in the first sandbox's user and pid namespaces
/// (not its pid 1, which is the first target), its parent outside them.
#[test]
fn the_target_joins_a_user_and_a_pid_namespace() {
    let b = Box1::start();
    let r = probe_runner(&["report"]).join_ns(join(Some(&b.user), Some(&b.pid), None));
    let report = probe_json(r);
    assert_eq!(report["ns"]["user"], b.ns("user").as_str());
    assert_eq!(report["ns"]["pid"], b.ns("pid").as_str());
    assert_eq!(
        report["ppid"],
        json!(0),
        "the helper is outside the pid namespace"
    );
    assert!(report["pid"].as_u64().unwrap() > 1, "{report}");
    // Only the user namespace: in place, its pid namespace is still the caller's.
    let r = probe_runner(&["report"]).join_ns(join(Some(&b.user), None, None));
    let report = probe_json(r);
    assert_eq!(report["ns"]["user"], b.ns("user").as_str());
    assert_eq!(report["ns"]["pid"], pid_ns_of(std::process::id()).as_str());
}

/// `--pidns` with `--unshare-pid` (a new pid namespace below the joined one) is refused
/// before anything runs: the kernel makes a new pid namespace only below the cloning
/// process's own, so it would take a process between the helper and the target.
#[test]
fn a_new_pid_namespace_below_a_joined_one_is_refused() {
    let b = Box1::start();
    let r = probe_runner(&["report"])
        .clone_flags([Namespace::NewPid])
        .join_ns(join(Some(&b.user), Some(&b.pid), None));
    match r.start() {
        Err(Error::Spec(e)) => assert!(e.to_string().contains("conflicting fields"), "{e}"),
        other => panic!("{other:?}"),
    }
}

/// `--userns2`: the user namespace joined after the mounts (here with no other namespace).
#[test]
fn a_second_user_namespace_after_the_mounts() {
    let b = Box1::start();
    let r = probe_runner(&["report"]).join_ns(join(None, None, Some(&b.user)));
    let report = probe_json(r);
    assert_eq!(report["ns"]["user"], b.ns("user").as_str());
}

/// `setns` (60): an fd that is not on a namespace of the kind (EINVAL), or a user namespace
/// the target may not enter (a sibling of its own new one: EPERM) stops the start; index 0
/// the user namespace, 1 the pid namespace, 2 the second user namespace.
#[test]
fn a_namespace_that_cannot_be_joined_stops_the_start() {
    let mut c = Cleanup::default();
    let b = Box1::start();
    let devnull = File::open("/dev/null").unwrap();
    let sibling = || {
        probe_runner(&[])
            .clone_flags([Namespace::NewUser])
            .uid_mappings([IdMap::new(0, euid(), 1)])
            .gid_mappings([IdMap::new(0, egid(), 1)])
    };
    let cases = [
        (
            probe_runner(&[]),
            join(Some(&devnull), None, None),
            libc::EINVAL,
            0,
        ),
        (
            probe_runner(&[]),
            join(Some(&b.user), Some(&b.user), None),
            libc::EINVAL,
            1,
        ),
        (sibling(), join(None, None, Some(&b.user)), libc::EPERM, 2),
    ];
    for (r, j, errno, index) in cases {
        let (marker_r, marker) = marker_target(&mut c);
        let mut r = r.join_ns(j);
        r.spec.args = marker_r.spec.args;
        match r.start() {
            Err(Error::Child(e)) => {
                assert_eq!(e.location(), Some(Location::SetNs), "{index}: {e}");
                assert_eq!((e.errno(), e.index()), (errno, index), "{e}");
            }
            other => panic!("{index}: {other:?}"),
        }
        assert_never_ran(&marker);
    }
}
