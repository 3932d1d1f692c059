//! Accepted specs expose exactly their fields.

use super::*;

// ---------------------------------------------------------------------------------------------
// helpers

fn full_owned() -> Owned {
    let v = |x: &str| x.as_bytes().to_vec();
    Owned {
        args: vec![v("/bin/prog"), v("-v"), v(""), v("last arg")],
        env: vec![v("PATH=/bin:/usr/bin"), v("HOME=/"), v("EMPTY=")],
        exec_path: Some(v("/usr/bin/prog")),
        exec_fd: None,
        rlimits: vec![(0, 1, 2), (7, 64, 64), (9, 1 << 33, u64::MAX)],
        files: vec![0, 1, 2, -1, 9],
        work_dir: Some(v("/w")),
        seccomp: vec![
            vec![
                0x20, 0, 0, 0, 4, 0, 0, 0, //
                0x15, 0, 0, 1, 0x3e, 0, 0, 0xc0, //
                0x06, 0, 0, 0, 0, 0, 0xff, 0x7f,
            ],
            vec![0x06, 0, 0, 0, 0, 0, 0xff, 0x7f],
        ],
        clone_flags: ns::KNOWN,
        mounts: vec![
            OwnedMount {
                flags: ms::BIND | ms::REC | ms::RDONLY,
                options: mount_opt::MKDIR,
                source: v("/usr"),
                target: v("usr"),
                fstype: v(""),
                data: v(""),
            }
            .into(),
            OwnedMount {
                flags: ms::NOSUID | ms::NODEV,
                options: mount_opt::MKDIR | mount_opt::FILE,
                source: v("tmpfs"),
                target: v("tmp"),
                fstype: v("tmpfs"),
                data: v("size=1m,mode=1777"),
            }
            .into(),
        ],
        pivot_root: Some(v("/srv/root")),
        host_name: Some(v("box")),
        domain_name: Some(v("example")),
        uid_map: Some(vec![(0, 1000, 1), (1, 100_000, 65_536)]),
        gid_map: Some(vec![(0, 1000, 1)]),
        credential: Some(OwnedCredential {
            uid: 1,
            gid: 2,
            flags: cred_flag::NO_SETGROUPS,
            groups: vec![3, 4, 5],
        }),
        options: opt::KNOWN & !opt::NO_SETSID & !opt::DETACH,
        status_fd: Some(7),
        cgroup_path: None,
        cgroup_fd: None,
        info_fd: Some(11),
        json_status_fd: Some(12),
        join_ns: Some((None, None, Some(14))),
        // The full spec drops every capability (DROP_CAPS): no kept set with it.
        caps: None,
        ..Owned::default()
    }
}

// ---------------------------------------------------------------------------------------------
// accepted specs expose exactly their fields

#[test]
fn minimal_spec_bytes_and_fields() {
    let buf = build(base);
    #[rustfmt::skip]
    let expected: [u8; BASE_LEN] = [
        b'F', b'X', b'S', b'P', 1, 0, 0, 0, 30, 0, 0, 0,
        1, 0, 0, 0, 10, 0, 0, 0,
        b'/', b'b', b'i', b'n', b'/', b't', b'r', b'u', b'e', 0,
    ];
    assert_eq!(buf, expected);
    let spec = accepted(&buf);
    assert_eq!(
        Owned::of(&spec),
        Owned {
            args: vec![b"/bin/true".to_vec()],
            ..Owned::default()
        }
    );
    assert_eq!(spec.args.first().unwrap().to_bytes(), b"/bin/true");
    assert!(spec.env.is_empty());
    assert_eq!(spec.exec_path, None);
    assert_eq!(spec.exec_fd, None);
    assert_eq!(spec.rlimits.len(), 0);
    assert!(spec.files.is_empty());
    assert_eq!(spec.work_dir, None);
    assert!(spec.seccomp.is_empty());
    assert_eq!(spec.seccomp_len(), 0);
    assert_eq!(spec.clone_flags, 0);
    assert_eq!(spec.mounts.len(), 0);
    assert_eq!(spec.pivot_root, None);
    assert_eq!(spec.host_name, None);
    assert_eq!(spec.domain_name, None);
    assert!(spec.uid_map.is_none() && spec.gid_map.is_none());
    assert!(spec.credential.is_none());
    assert_eq!(spec.options, 0);
    assert_eq!(spec.status_fd, None);
    assert_eq!(spec.shape(1000, 1000), Ok(Shape::InPlace));
}

#[test]
fn full_spec_exposes_every_field() {
    let buf = build(full);
    let spec = accepted(&buf);
    assert_eq!(Owned::of(&spec), full_owned());
    // Spot checks through the raw accessors.
    assert_eq!(spec.seccomp_len(), 4);
    assert_eq!(spec.seccomp.len(), 2);
    assert_eq!(spec.seccomp.as_slice()[1], &[6, 0, 0, 0, 0, 0, 0xff, 0x7f]);
    assert_eq!(spec.rlimits.len(), 3);
    assert_eq!(spec.mounts.len(), 2);
    assert_eq!(spec.files.get(3), -1);
    assert!(spec.has(opt::SYNC) && spec.has(opt::CTTY) && !spec.has(opt::NO_SETSID));
    let cred = spec.credential.unwrap();
    assert!(cred.no_setgroups());
    assert_eq!(cred.groups_bytes(), &[3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0]);
    let r = spec.rlimits.iter().nth(2).unwrap();
    assert_eq!((r.resource, r.cur, r.max), (9, 1 << 33, u64::MAX));
    // A list prints as the slice it holds (what a `{:?}` of a decoded spec shows).
    let shown = format!("{:?}", spec.rlimits);
    assert_eq!(shown, format!("{:?}", spec.rlimits.as_slice()));
    assert!(
        shown.starts_with("[Rlimit {") && shown.matches("Rlimit {").count() == 3,
        "{shown}"
    );
    let m = raw_mounts(&spec).into_iter().next().unwrap();
    assert!(m.fstype.is_empty() && m.data.is_empty());
    // The canonical re-encoding of the decoded fields is the same bytes (full() is canonical).
    assert_eq!(full_owned().encode(), buf);
}

#[test]
fn exec_fd_spec() {
    let buf = build(|w| {
        w.args(s(&["prog"]));
        w.exec_fd(3);
        w.status_fd(0);
    });
    let spec = accepted(&buf);
    assert_eq!(spec.exec_fd, Some(3));
    assert_eq!(spec.exec_path, None);
    assert_eq!(spec.status_fd, Some(0));
}

#[test]
fn record_order_does_not_matter() {
    let canonical = build(full);
    let mut records = Vec::new();
    let mut at = HEADER_LEN;
    while at < canonical.len() {
        let len = u32::from_le_bytes(canonical[at + 4..at + 8].try_into().unwrap()) as usize;
        records.push(&canonical[at..at + RECORD_HEADER_LEN + len]);
        at += RECORD_HEADER_LEN + len;
    }
    assert_eq!(records.len(), 24);
    let mut reversed = canonical[..HEADER_LEN].to_vec();
    for r in records.iter().rev() {
        reversed.extend_from_slice(r);
    }
    // Same fields; only the repeatable records (whose order is their index) come reversed.
    let mut expected = full_owned();
    expected.rlimits.reverse();
    expected.seccomp.reverse();
    expected.mounts.reverse();
    assert_eq!(Owned::of(&accepted(&reversed)), expected);
}

#[test]
fn empty_optional_lists_are_accepted() {
    let buf = build(|w| {
        base(w);
        w.env(std::iter::empty());
        w.files(&[]);
        w.credential(5, 6, 0, &[]);
    });
    let spec = accepted(&buf);
    assert!(spec.env.is_empty() && spec.files.is_empty());
    let c = spec.credential.unwrap();
    assert_eq!((c.uid, c.gid, c.flags, c.group_count()), (5, 6, 0, 0));
    assert!(!c.no_setgroups());
}

#[test]
fn empty_strings_where_allowed() {
    // An empty host/domain name is a value (sethostname("", 0)); empty mount strings are NULL;
    // an empty env string and empty later args are passed through.
    let buf = build(|w| {
        w.args(s(&["/bin/true", ""]));
        w.env(s(&[""]));
        w.clone_flags(ns::NEWUTS | ns::NEWNS);
        w.host_name(b"");
        w.domain_name(b"");
        w.raw_mount(0, 0, b"", b"t", b"", b"");
    });
    let spec = accepted(&buf);
    assert_eq!(spec.args.len(), 2);
    assert_eq!(spec.env.len(), 1);
    assert_eq!(spec.host_name.unwrap().to_bytes(), b"");
    assert_eq!(spec.domain_name.unwrap().to_bytes(), b"");
    let m = raw_mounts(&spec).into_iter().next().unwrap();
    assert!(m.source.is_empty() && m.fstype.is_empty() && m.data.is_empty());
}

#[test]
fn empty_argv0_is_fine_with_an_exec_path_or_fd() {
    let buf = build(|w| {
        w.args(s(&[""]));
        w.exec_path(b"/bin/true");
    });
    accepted(&buf);
    let buf = build(|w| {
        w.args(s(&["", "x"]));
        w.exec_fd(4);
    });
    accepted(&buf);
}

#[test]
fn limits_are_inclusive() {
    let path = |n: usize| {
        let mut p = vec![b'a'; n];
        p[0] = b'/';
        p
    };
    // Paths: 4095 bytes + NUL.
    let buf = build(|w| {
        base(w);
        w.exec_path(&path(limit::PATH - 1));
        w.work_dir(&path(limit::PATH - 1));
        w.clone_flags(ns::NEWNS | ns::NEWUTS | ns::NEWUSER);
        w.pivot_root(&path(limit::PATH - 1));
        w.host_name(&[b'h'; limit::UTS_NAME]);
        w.domain_name(&[b'd'; limit::UTS_NAME]);
        w.raw_mount(
            0,
            0,
            &path(limit::PATH - 1),
            &path(limit::PATH - 1),
            &vec![b'f'; limit::FSTYPE - 1],
            &vec![b'x'; limit::MOUNT_DATA - 1],
        );
        w.uid_map((0..limit::ID_MAP_ENTRIES as u32).map(|i| (i, i, 1)));
        w.gid_map([(u32::MAX - 1, 0, 1), (0, 1, u32::MAX - 1)]);
        for r in 0..limit::RLIMITS as u32 {
            w.limit(r, u64::MAX, u64::MAX);
        }
        w.files(&vec![-1; limit::FILES]);
        w.seccomp((0..limit::SECCOMP_INSNS).map(|_| (6, 0, 0, 0)));
        for _ in 1..limit::SECCOMP_PROGRAMS {
            w.seccomp([(6, 0, 0, 0)]);
        }
        w.credential(0, 0, 0, &vec![7; limit::GROUPS]);
        w.status_fd(limit::FD - 1);
    });
    let spec = accepted(&buf);
    assert_eq!(spec.rlimits.len(), limit::RLIMITS);
    assert_eq!(spec.files.len(), limit::FILES);
    assert_eq!(spec.seccomp.len(), limit::SECCOMP_PROGRAMS);
    assert_eq!(
        spec.seccomp_len(),
        limit::SECCOMP_INSNS + limit::SECCOMP_PROGRAMS - 1
    );
    assert_eq!(spec.uid_map.unwrap().len(), limit::ID_MAP_ENTRIES);
    assert_eq!(spec.credential.unwrap().group_count(), limit::GROUPS);
    assert_eq!(spec.host_name.unwrap().to_bytes().len(), limit::UTS_NAME);

    let buf = build(|w| {
        w.args((0..limit::ARGS).map(|_| &b"a"[..]));
        w.env((0..limit::ENV).map(|_| &b"A="[..]));
        w.clone_flags(ns::NEWNS);
        for _ in 0..limit::MOUNTS {
            w.raw_mount(0, 0, b"none", b"m", b"tmpfs", b"");
        }
        w.files(&[limit::FD as i32 - 1, -1, 0]);
        w.exec_fd(limit::FD - 1);
    });
    let spec = accepted(&buf);
    assert_eq!(spec.args.len(), limit::ARGS);
    assert_eq!(spec.env.len(), limit::ENV);
    assert_eq!(spec.mounts.len(), limit::MOUNTS);
    assert_eq!(raw_mounts(&spec).len(), limit::MOUNTS);
}

#[test]
fn whole_spec_of_exactly_the_size_limit() {
    let with_env_len = |n: usize| {
        build(|w| {
            base(w);
            w.env([&vec![b'x'; n][..]]);
        })
    };
    // 30 bytes of base, 8 of ENV record header, n + 1 of payload.
    let n = limit::SPEC_LEN - BASE_LEN - RECORD_HEADER_LEN - 1;
    let buf = with_env_len(n);
    assert_eq!(buf.len(), limit::SPEC_LEN);
    accepted(&buf);
    assert_eq!(
        total_len(buf[..HEADER_LEN].try_into().unwrap()),
        Ok(limit::SPEC_LEN)
    );
    let buf = with_env_len(n + 1);
    refused(&buf, 8, Fault::BadTotalLength);
    assert_eq!(
        total_len(buf[..HEADER_LEN].try_into().unwrap()),
        Err(SpecError {
            offset: 8,
            fault: Fault::BadTotalLength
        })
    );
}
