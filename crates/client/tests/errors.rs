//! How errors render: go-sandbox's `ChildError` text, spec errors, and `Error`.

use forkexec_client::{ChildError, Error, Fault, Location, Mount, Runner, Spec};
use forkexec_spec::status::Record;

#[test]
fn child_error_renders_as_go_sandbox() {
    let e = ChildError::new(16, libc::EPERM, 3, 0);
    assert_eq!(e.to_string(), "mount(3): operation not permitted");
    assert_eq!(e.location(), Some(Location::Mount));
    assert_eq!(e.location_code(), 16);
    assert_eq!(e.errno(), 1);
    assert_eq!(e.index(), 3);
    assert_eq!(e.fault(), None);
    assert_eq!(e.io_error().kind(), std::io::ErrorKind::PermissionDenied);

    assert_eq!(
        ChildError::new(32, libc::ENOENT, 0, 0).to_string(),
        "execve(0): no such file or directory"
    );
    assert_eq!(
        ChildError::new(13, libc::EINVAL, 0, 0).to_string(),
        "mount(root)(0): invalid argument"
    );
}

/// `describe` words the failure with what its index refers to, in bubblewrap's words when the
/// spec asks for them (`bwrap_errors`), as the helper does on stderr.
#[test]
fn describe_uses_bubblewraps_words_with_bwrap_errors() {
    let mut spec = Spec::new(["/bin/prog"]);
    spec.work_dir = "/w".into();
    let e = ChildError::new(Location::Chdir as u32, libc::ENOENT, 0, 0);
    assert_eq!(e.describe(&spec), "chdir(0) /w: no such file or directory");
    spec.bwrap_errors = true;
    assert_eq!(
        e.describe(&spec),
        "Can't chdir to /w: No such file or directory"
    );
    let e = ChildError::new(Location::Execve as u32, libc::EACCES, 0, 0);
    assert_eq!(e.describe(&spec), "execvp /bin/prog: Permission denied");
}

#[test]
fn spec_child_error_names_offset_and_fault() {
    let e = ChildError::new(34, libc::EINVAL, 37, Fault::UnknownBits as u32);
    assert_eq!(
        e.to_string(),
        "spec(offset 37): unknown flag bits (invalid argument)"
    );
    assert_eq!(e.location(), Some(Location::Spec));
    assert_eq!(e.fault(), Some(Fault::UnknownBits));

    let e = ChildError::new(34, libc::E2BIG, 12, Fault::TooMany as u32);
    assert_eq!(
        e.to_string(),
        "spec(offset 12): over the count limit (argument list too long)"
    );
    let e = ChildError::new(34, libc::EINVAL, 0, 999);
    assert_eq!(
        e.to_string(),
        "spec(offset 0): fault 999 (invalid argument)"
    );
}

#[test]
fn unknown_locations_keep_their_number() {
    let e = ChildError::new(1000, libc::EPERM, 2, 0);
    assert_eq!(e.location(), None);
    assert_eq!(e.to_string(), "unknown(1000)(2): operation not permitted");
}

#[test]
fn child_error_from_a_status_record() {
    let record = Record::Error {
        location: 16,
        errno: 1,
        index: 3,
        detail: 0,
    };
    let decoded = Record::decode(&record.encode()).unwrap();
    let e = ChildError::from_record(&decoded).unwrap();
    assert_eq!(e, ChildError::new(16, 1, 3, 0));
    assert_eq!(ChildError::from_record(&Record::Sync { pid: 1 }), None);
}

#[test]
fn error_display() {
    let e = Error::from(ChildError::new(16, 1, 3, 0));
    assert_eq!(e.to_string(), "mount(3): operation not permitted");
    let e = Error::Helper(std::io::Error::other("gone"));
    assert_eq!(e.to_string(), "forkexec helper: gone");
    let e = Error::Sync("no cgroup".into());
    assert_eq!(e.to_string(), "sync callback refused: no cgroup");
}

/// A spec the decoder refuses fails `start` before any helper is looked for or spawned.
#[test]
fn start_refuses_a_bad_spec_before_spawning() {
    let runner = Runner::new(["/bin/true"])
        .mount(Mount::tmpfs("tmp", ""))
        .helper("/nonexistent/forkexec");
    match runner.start() {
        Err(Error::Spec(e)) => {
            assert_eq!(
                e.to_string(),
                "spec: conflicting fields at byte 30 (mounts[0])"
            );
        }
        other => panic!("expected a spec error, got {other:?}"),
    }
    let runner = Runner::from_spec(Spec::new(["/bin/\0true"])).helper("/nonexistent/forkexec");
    assert!(matches!(runner.start(), Err(Error::Spec(_))));
}

#[test]
fn a_missing_helper_is_a_helper_error() {
    let runner = Runner::new(["/bin/true"]).helper("/nonexistent/forkexec");
    match runner.start() {
        Err(Error::Helper(e)) => {
            assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
            let msg = e.to_string();
            assert!(msg.contains("cannot run /nonexistent/forkexec"), "{msg}");
        }
        other => panic!("expected a helper error, got {other:?}"),
    }
}

#[test]
fn a_closed_fd_in_files_is_refused_before_spawning() {
    let runner = Runner::new(["/bin/true"])
        .files([0, 1, 2, 987_654])
        .helper("/bin/true");
    match runner.start() {
        Err(Error::Helper(e)) => assert_eq!(
            e.to_string(),
            "cannot pass files[3] (fd 987654): not an open fd of this process"
        ),
        other => panic!("expected a helper error, got {other:?}"),
    }
}

/// Shape refusals (which depend on the caller) come before spawning too, naming the record.
#[test]
fn start_refuses_what_no_shape_can_do() {
    use forkexec_client::Namespace;
    let start = |runner: Runner| match runner.helper("/nonexistent/forkexec").start() {
        Err(Error::Spec(e)) => e.to_string(),
        other => panic!("expected a spec error, got {other:?}"),
    };
    // ptrace in a supervised clone: the helper, not this process, would be the parent.
    let msg = start(
        Runner::new(["/bin/true"])
            .clone_flags([Namespace::NewPid])
            .ptrace(true),
    );
    assert_eq!(msg, "spec: conflicting fields at byte 54 (options)");
    // detach and init at once.
    let msg = start(
        Runner::new(["/bin/true"])
            .clone_flags([Namespace::NewPid])
            .detach(true)
            .init(true),
    );
    assert_eq!(msg, "spec: conflicting fields at byte 54 (options)");
}

/// The client reads records only from its own socket: a sync answered elsewhere cannot work.
#[test]
fn status_fd_with_sync_is_refused() {
    let runner = Runner::new(["/bin/true"])
        .sync_func(|_| Ok::<(), forkexec_client::BoxError>(()))
        .helper("/nonexistent/forkexec");
    let mut runner = runner;
    runner.spec.status_fd = Some(2);
    match runner.start() {
        Err(Error::Helper(e)) => assert!(e.to_string().starts_with("status_fd with sync"), "{e}"),
        other => panic!("expected a helper error, got {other:?}"),
    }
}
