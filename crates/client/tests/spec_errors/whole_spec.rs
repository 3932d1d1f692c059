//! The whole spec: required records and conflicts; a big spec.

use super::*;

// ---------------------------------------------------------------------------------------------
// The whole spec: required records and conflicts
// ---------------------------------------------------------------------------------------------

#[test]
fn missing_args() {
    let m = Marker::new();
    // No ARGS at all, an empty ARGS, an empty args[0] with nothing else to execute: all at
    // the total length.
    let b = spec_bytes(|w| w.env([b"A=1".as_slice()]));
    assert_refused(&b, Fault::MissingArgs, b.len() as u32, &m);
    let b = spec_bytes(|w| w.args(std::iter::empty()));
    assert_refused(&b, Fault::MissingArgs, b.len() as u32, &m);
    let b = spec_bytes(|w| w.args([b"".as_slice(), b"x"]));
    assert_refused(&b, Fault::MissingArgs, b.len() as u32, &m);
}

#[test]
fn conflicting_records() {
    let m = Marker::new();
    let first_then_args = |build: &dyn Fn(&mut W)| {
        spec_bytes(|w| {
            build(w);
            m.args(w);
        })
    };
    // Each named by the offending record at offset 12.
    let tmpfs = |w: &mut W| w.raw_mount(0, mount_opt::MKDIR, b"tmpfs", b"/x", b"tmpfs", b"");
    assert_refused(&first_then_args(&tmpfs), Fault::Conflict, R0, &m);
    let b = first_then_args(&|w| w.pivot_root(b"/tmp"));
    assert_refused(&b, Fault::Conflict, R0, &m);
    let b = first_then_args(&|w| w.host_name(b"h"));
    assert_refused(&b, Fault::Conflict, R0, &m);
    let b = first_then_args(&|w| w.uid_map([(0, euid(), 1)]));
    assert_refused(&b, Fault::Conflict, R0, &m);
    let b = first_then_args(&|w| w.gid_map([(0, egid(), 1)]));
    assert_refused(&b, Fault::Conflict, R0, &m);
    // Host and domain name without newuts: the later of the two (HOST_NAME is 8 + 2 bytes).
    let b = first_then_args(&|w| {
        w.host_name(b"h");
        w.domain_name(b"d");
    });
    assert_refused(&b, Fault::Conflict, R0 + 10, &m);
    // exec_path and exec_fd: the EXEC_PATH record.
    let b = first_then_args(&|w| {
        w.exec_fd(0);
        w.exec_path(b"/bin/true");
    });
    assert_refused(&b, Fault::Conflict, R0 + 12, &m);
    // ctty without a new session: the OPTIONS payload.
    let b = first_then_args(&|w| w.options(opt::CTTY | opt::NO_SETSID));
    assert_refused(&b, Fault::Conflict, P0, &m);
    // Disabling user namespaces without a new one (where the limit is set): the same.
    let b = first_then_args(&|w| w.options(opt::DISABLE_USERNS));
    assert_refused(&b, Fault::Conflict, P0, &m);
    // With the namespaces they need, the same records are accepted by the decoder.
    let b = first_then_args(&|w| {
        w.clone_flags(ns::NEWNS | ns::NEWUTS);
        tmpfs(w);
        w.host_name(b"h");
    });
    assert!(forkexec_spec::decode(&b).is_ok());
}

/// The client refuses the same Spec values before spawning anything, with the same fault at
/// the same offset as the helper reports for the bytes the client would have sent (written
/// here in the client's record order).
#[test]
fn client_refuses_the_same_specs_up_front() {
    let m = Marker::new();
    let argv = m.argv();
    let base = || Spec::new(argv.clone());
    let args = |w: &mut W| m.args(w);
    let tmpfs = Mount::tmpfs("/x", "");
    let tmpfs_flags = tmpfs.flags.iter().fold(0, |acc, f| acc | f.value());
    let too_big = 1 << 20;
    type Case<'a> = (Spec, Box<dyn Fn(&mut W) + 'a>);
    let cases: Vec<Case> = vec![
        (
            Spec {
                mounts: vec![tmpfs.clone().into()],
                ..base()
            },
            Box::new(move |w: &mut W| {
                args(w);
                w.raw_mount(
                    tmpfs_flags,
                    mount_opt::MKDIR,
                    b"tmpfs",
                    b"/x",
                    b"tmpfs",
                    b"",
                );
            }),
        ),
        (
            Spec {
                host_name: "h".into(),
                ..base()
            },
            Box::new(move |w: &mut W| {
                args(w);
                w.host_name(b"h");
            }),
        ),
        (
            Spec {
                uid_mappings: vec![IdMap::new(0, euid(), 1)],
                ..base()
            },
            Box::new(move |w: &mut W| {
                args(w);
                w.uid_map([(0, euid(), 1)]);
            }),
        ),
        (
            Spec {
                gid_mappings: vec![IdMap::new(0, egid(), 1)],
                ..base()
            },
            Box::new(move |w: &mut W| {
                args(w);
                w.gid_map([(0, egid(), 1)]);
            }),
        ),
        (
            Spec {
                files: vec![0, 1, too_big],
                ..base()
            },
            Box::new(move |w: &mut W| {
                args(w);
                w.files(&[0, 1, too_big]);
            }),
        ),
        (
            Spec {
                clone_flags: vec![Namespace::NewNs],
                pivot_root: "relative".into(),
                ..base()
            },
            Box::new(move |w: &mut W| {
                args(w);
                w.clone_flags(ns::NEWNS);
                w.pivot_root(b"relative");
            }),
        ),
        (
            Spec {
                ctty: true,
                setsid: false,
                ..base()
            },
            Box::new(move |w: &mut W| {
                args(w);
                w.options(opt::CTTY | opt::NO_SETSID);
            }),
        ),
        (
            Spec::new(Vec::<String>::new()),
            Box::new(|w: &mut W| w.args(std::iter::empty())),
        ),
    ];
    for (spec, write) in cases {
        let shown = format!("{spec:?}");
        let refused = match Runner::from_spec(spec)
            .helper("/nonexistent/forkexec")
            .start()
        {
            Err(Error::Spec(e)) => e.spec_error().expect("a decoder refusal"),
            other => panic!("{shown}: expected Error::Spec, got {other:?}"),
        };
        let bytes = spec_bytes(|w| write(w));
        assert_refused(&bytes, refused.fault, refused.offset, &m);
    }
}

// ---------------------------------------------------------------------------------------------
// A big spec
// ---------------------------------------------------------------------------------------------

/// A 2 MiB spec with 100 000 arguments runs, and the target gets every one of them, in order.
#[test]
fn two_mib_spec_with_100k_args() {
    let n = 100_000;
    let mut argv = vec![probe().to_string_lossy().into_owned(), "report".to_string()];
    argv.extend((0..n).map(|i| format!("arg{i:06}-xxxxxxxxxx")));
    let mut runner = Runner::new(argv.clone());
    // execve takes argv up to a quarter of the stack limit (at most 6 MiB): make room.
    let mut stack = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills a struct we own.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut stack) },
        0
    );
    let want = 64 << 20;
    if stack.rlim_cur < want && stack.rlim_max >= want {
        runner = runner.rlimit(Resource::Stack, want, stack.rlim_max);
    }
    let len = runner.spec.encode().unwrap().len();
    assert!(len > 2 << 20, "{len} bytes");
    let r = report(runner);
    let seen: Vec<&str> = r["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(seen.len(), n + 2);
    assert!(seen == argv, "argv differs");
}
