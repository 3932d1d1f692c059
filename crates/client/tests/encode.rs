//! `Spec::encode`: every field through the helper's decoder, the record order, exact bytes,
//! and refusals.

// libc's constant types differ between targets (c_ulong, c_int, u32): the casts are needed.
#![allow(clippy::unnecessary_cast)]

use forkexec_client::{
    EncodeError, Fault, Mount, MountEntry, MountKind, MountOp, Namespace, Resource, Rlimit,
    SockFilter, Spec,
};
use forkexec_spec::layout::{self, cred_flag, mount_kind, mount_op, mount_opt, ns, opt, record};
use forkexec_spec::{decode, SpecError};
use forkexec_testkit::fixtures::{encodable_spec, every_field_ops};

fn strings(list: forkexec_spec::decode::StrList<'_>) -> Vec<String> {
    list.iter()
        .map(|s| s.to_str().unwrap().to_owned())
        .collect()
}

fn text(s: Option<&std::ffi::CStr>) -> Option<&str> {
    s.map(|s| s.to_str().unwrap())
}

/// The record types of an encoded spec, in order.
fn record_types(bytes: &[u8]) -> Vec<u16> {
    let mut types = Vec::new();
    let mut at = 12;
    while at < bytes.len() {
        types.push(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
        assert_eq!(&bytes[at + 2..at + 4], &[0, 0], "record flags are 0");
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        at += 8 + len;
    }
    assert_eq!(at, bytes.len());
    types
}

#[test]
fn every_field_survives_the_decoder() {
    let spec = encodable_spec();
    let bytes = spec.encode().unwrap();
    let d = decode(&bytes).unwrap();

    assert_eq!(strings(d.args), ["/bin/prog", "-x"]);
    assert_eq!(strings(d.env), ["PATH=/bin", "LANG=C"]);
    assert_eq!(text(d.exec_path), Some("/usr/bin/prog"));
    assert_eq!(d.exec_fd, None);

    let rlimits: Vec<_> = d
        .rlimits
        .iter()
        .map(|r| (r.resource, r.cur, r.max))
        .collect();
    assert_eq!(
        rlimits,
        [
            (libc::RLIMIT_CPU as u32, 1, 2),
            (libc::RLIMIT_AS as u32, 1 << 30, u64::MAX)
        ]
    );

    assert_eq!(d.files.iter().collect::<Vec<_>>(), [0, -1, 2]);
    assert_eq!(text(d.work_dir), Some("/w"));

    let mut seccomp = Vec::new();
    seccomp.extend_from_slice(&6u16.to_le_bytes());
    seccomp.extend_from_slice(&[0, 0]);
    seccomp.extend_from_slice(&0x7fff_0000u32.to_le_bytes());
    seccomp.extend_from_slice(&0x15u16.to_le_bytes());
    seccomp.extend_from_slice(&[0, 1]);
    seccomp.extend_from_slice(&59u32.to_le_bytes());
    assert_eq!(d.seccomp.as_slice(), [&seccomp[..8 * 2], &seccomp[..8]]);
    assert_eq!(d.seccomp_len(), 3);

    assert_eq!(
        d.clone_flags,
        ns::NEWNS | ns::NEWUSER | ns::NEWUTS | ns::NEWNET
    );

    let mounts: Vec<_> = d
        .mounts
        .iter()
        .filter_map(|e| match e {
            forkexec_spec::decode::MountEntry::Raw(m) => Some(m),
            forkexec_spec::decode::MountEntry::Op(_) => None,
        })
        .map(|m| {
            (
                m.flags,
                m.options,
                m.source.to_str().unwrap(),
                m.target.to_str().unwrap(),
                m.fstype.to_str().unwrap(),
                m.data.to_str().unwrap(),
            )
        })
        .collect();
    let (bind, ro) = (libc::MS_BIND as u64, libc::MS_RDONLY as u64);
    let tmpfs = (libc::MS_NOSUID | libc::MS_NOATIME | libc::MS_NODEV) as u64;
    assert_eq!(
        mounts,
        [
            (bind | ro, mount_opt::MKDIR, "/usr", "usr", "", ""),
            (tmpfs, 0, "tmpfs", "tmp", "tmpfs", "size=1m"),
            (
                bind,
                mount_opt::MKDIR | mount_opt::FILE,
                "/etc/hosts",
                "etc/hosts",
                "",
                ""
            ),
        ]
    );

    assert_eq!(text(d.pivot_root), Some("/tmp/root"));
    assert_eq!(text(d.host_name), Some("box"));
    assert_eq!(text(d.domain_name), Some("example"));
    for map in [d.uid_map.unwrap(), d.gid_map.unwrap()] {
        let entries: Vec<_> = map
            .iter()
            .map(|e| (e.container_id, e.host_id, e.size))
            .collect();
        assert_eq!(entries, [(0, 1000, 1)]);
    }

    let cred = d.credential.unwrap();
    assert_eq!((cred.uid, cred.gid), (1, 2));
    assert_eq!(cred.flags, cred_flag::NO_SETGROUPS);
    assert_eq!(cred.groups().collect::<Vec<_>>(), [3, 4]);

    let go_sandbox_options = opt::SYNC
        | opt::PTRACE
        | opt::NO_NEW_PRIVS
        | opt::STOP_BEFORE_SECCOMP
        | opt::GID_MAPPINGS_ENABLE_SETGROUPS
        | opt::DROP_CAPS
        | opt::UNSHARE_CGROUP_AFTER_SYNC
        | opt::CTTY
        | opt::DIE_WITH_PARENT;
    assert_eq!(
        d.options,
        go_sandbox_options
            | opt::WRITABLE_ROOT
            | opt::NEW_SESSION_KEYRING
            | opt::PARENTS_FROM_MODE
            | opt::ONLY_END_RECORDS
            | opt::BWRAP_ERRORS
            | opt::LOOPBACK
            | opt::DISABLE_USERNS
            | opt::ASSERT_USERNS_DISABLED
    );
    assert_eq!(d.status_fd, Some(9));
    assert_eq!(d.cgroup_path.unwrap().to_bytes(), b"/sys/fs/cgroup/box");
    assert_eq!(d.cgroup_fd, None);
    assert_eq!((d.info_fd, d.json_status_fd), (Some(11), Some(12)));
    let j = d.join_ns.unwrap();
    assert_eq!((j.user, j.pid, j.user2), (None, None, Some(14)));
}

/// Each option bit of the table is set by its JSON key alone (`"setsid": false` for
/// NO_SETSID) and by nothing else: `Spec::option_bits` is generated from the rows.
#[test]
fn every_option_bit_is_set_by_its_own_key() {
    for row in opt::ALL {
        let (key, on) = match row.name {
            "no_setsid" => ("setsid", false),
            name => (name, true),
        };
        let spec = Spec::from_json(&format!(r#"{{"args":["x"],"{key}":{on}}}"#)).unwrap();
        assert_eq!(spec.option_bits(), row.value, "{key}");
    }
    assert_eq!(Spec::new(["x"]).option_bits(), 0);
}

#[test]
fn exec_file_and_no_setsid_survive_the_decoder() {
    let spec = Spec {
        exec_path: None,
        ctty: false,
        ..encodable_spec()
    };
    let spec = Spec {
        exec_file: Some(5),
        setsid: false,
        ..spec
    };
    let d_bytes = spec.encode().unwrap();
    let d = decode(&d_bytes).unwrap();
    assert_eq!(d.exec_fd, Some(5));
    assert_eq!(d.exec_path, None);
    assert!(d.has(opt::NO_SETSID));
    assert!(!d.has(opt::CTTY));
}

/// The order is part of the contract: byte-exact vectors and the Python client follow it.
#[test]
fn records_come_in_the_documented_order() {
    let bytes = encodable_spec().encode().unwrap();
    use record::*;
    assert_eq!(
        record_types(&bytes),
        [
            ARGS,
            ENV,
            EXEC_PATH,
            RLIMIT,
            RLIMIT,
            FILES,
            WORK_DIR,
            SECCOMP,
            SECCOMP,
            CLONE_FLAGS,
            MOUNT,
            MOUNT,
            MOUNT,
            PIVOT_ROOT,
            HOST_NAME,
            DOMAIN_NAME,
            UID_MAP,
            GID_MAP,
            CREDENTIAL,
            OPTIONS,
            STATUS_FD,
            CGROUP_PATH,
            INFO_FD,
            JSON_STATUS_FD,
            JOIN_NS,
            BLOCK_FD
        ]
    );
    let spec = Spec {
        exec_path: None,
        exec_file: Some(5),
        ctty: false,
        ..encodable_spec()
    };
    let types = record_types(&spec.encode().unwrap());
    assert_eq!(&types[..4], [ARGS, ENV, EXEC_FD, RLIMIT]);
}

#[test]
fn defaults_are_left_out() {
    let bytes = Spec::new(["/bin/true"]).encode().unwrap();
    assert_eq!(record_types(&bytes), [record::ARGS]);
    let spec = Spec {
        setsid: false,
        ..Spec::new(["/bin/true"])
    };
    assert_eq!(
        record_types(&spec.encode().unwrap()),
        [record::ARGS, record::OPTIONS]
    );
}

#[test]
fn minimal_spec_bytes_are_exact() {
    let bytes = Spec::new(["/bin/true"]).encode().unwrap();
    let mut expect = Vec::new();
    expect.extend_from_slice(b"FXSP");
    expect.extend_from_slice(&[1, 0, 0, 0]); // version 1, header flags 0
    expect.extend_from_slice(&30u32.to_le_bytes()); // 12 + 8 + 10
    expect.extend_from_slice(&[1, 0, 0, 0]); // ARGS, record flags 0
    expect.extend_from_slice(&10u32.to_le_bytes());
    expect.extend_from_slice(b"/bin/true\0");
    assert_eq!(bytes, expect);

    let spec = Spec {
        env: vec!["A=1".into()],
        setsid: false,
        ..Spec::new(["/bin/true"])
    };
    let mut expect2 = expect.clone();
    expect2[8..12].copy_from_slice(&(30u32 + 12 + 16).to_le_bytes());
    expect2.extend_from_slice(&[2, 0, 0, 0, 4, 0, 0, 0]);
    expect2.extend_from_slice(b"A=1\0");
    expect2.extend_from_slice(&[17, 0, 0, 0, 8, 0, 0, 0]);
    expect2.extend_from_slice(&opt::NO_SETSID.to_le_bytes());
    assert_eq!(spec.encode().unwrap(), expect2);
}

#[test]
fn nul_in_a_string_is_refused_naming_the_field() {
    let spec = Spec::new(["/bin/echo", "a\0b"]);
    let e = spec.encode().unwrap_err();
    assert_eq!(
        e,
        EncodeError::Nul {
            field: "args[1]".into()
        }
    );
    assert_eq!(e.to_string(), "spec: args[1] contains a NUL byte");

    let spec = Spec {
        env: vec!["A=1".into(), "B\0=2".into()],
        ..Spec::new(["/bin/true"])
    };
    assert_eq!(
        spec.encode().unwrap_err().to_string(),
        "spec: env[1] contains a NUL byte"
    );

    let spec = Spec {
        clone_flags: vec![Namespace::NewNs],
        mounts: vec![
            Mount::tmpfs("ok", "").into(),
            Mount::tmpfs("t\0mp", "").into(),
        ],
        ..Spec::new(["/bin/true"])
    };
    assert_eq!(
        spec.encode().unwrap_err().to_string(),
        "spec: mounts[1].target contains a NUL byte"
    );

    let spec = Spec {
        work_dir: "/\0".into(),
        ..Spec::new(["/bin/true"])
    };
    assert_eq!(
        spec.encode().unwrap_err().to_string(),
        "spec: work_dir contains a NUL byte"
    );
}

fn refusal(spec: &Spec) -> (SpecError, String) {
    match spec.encode().unwrap_err() {
        EncodeError::Refused { error, record } => (error, record),
        e => panic!("expected a decoder refusal, got {e}"),
    }
}

#[test]
fn mounts_without_a_mount_namespace_are_refused() {
    let spec = Spec {
        mounts: vec![Mount::tmpfs("tmp", "").into()],
        ..Spec::new(["/bin/true"])
    };
    let (error, record) = refusal(&spec);
    assert_eq!(error.fault, Fault::Conflict);
    assert_eq!(error.offset, 30, "the first MOUNT record, right after ARGS");
    assert_eq!(record, "mounts[0]");
    assert_eq!(
        spec.encode().unwrap_err().to_string(),
        "spec: conflicting fields at byte 30 (mounts[0])"
    );
    assert_eq!(
        spec.encode().unwrap_err().spec_error(),
        Some(SpecError {
            offset: 30,
            fault: Fault::Conflict
        })
    );
}

#[test]
fn other_refusals_name_their_record() {
    let base = || Spec::new(["/bin/true"]);

    let (e, record) = refusal(&Spec {
        args: vec![],
        ..base()
    });
    assert_eq!(
        (e.fault, record.as_str()),
        (Fault::MissingArgs, "end of spec")
    );

    let (e, record) = refusal(&Spec {
        rlimits: vec![
            Rlimit::new(Resource::Cpu, 1, 1),
            Rlimit::new(Resource::Nofile, 10, 5),
        ],
        ..base()
    });
    assert_eq!((e.fault, record.as_str()), (Fault::BadValue, "rlimits[1]"));

    let (e, record) = refusal(&Spec {
        seccomp: vec![vec![SockFilter::stmt(6, 0)], vec![]],
        ..base()
    });
    assert_eq!(
        (e.fault, record.as_str()),
        (Fault::BadRecordLength, "seccomp[1]")
    );
    let (e, record) = refusal(&Spec {
        seccomp: vec![vec![]],
        ..base()
    });
    assert_eq!(
        (e.fault, record.as_str()),
        (Fault::BadRecordLength, "seccomp")
    );

    let (e, record) = refusal(&Spec {
        exec_file: Some(-3),
        ..base()
    });
    assert_eq!(
        (e.fault, record.as_str()),
        (Fault::FdOutOfRange, "exec_file")
    );

    let (e, record) = refusal(&Spec {
        files: vec![0, -2],
        ..base()
    });
    assert_eq!((e.fault, record.as_str()), (Fault::FdOutOfRange, "files"));

    let (e, record) = refusal(&Spec {
        ctty: true,
        setsid: false,
        ..base()
    });
    assert_eq!((e.fault, record.as_str()), (Fault::Conflict, "options"));

    let (e, record) = refusal(&Spec {
        host_name: "x".repeat(65),
        clone_flags: vec![Namespace::NewUts],
        ..base()
    });
    assert_eq!((e.fault, record.as_str()), (Fault::TooLong, "host_name"));

    let (e, record) = refusal(&Spec {
        pivot_root: "relative".into(),
        clone_flags: vec![Namespace::NewNs],
        ..base()
    });
    assert_eq!((e.fault, record.as_str()), (Fault::BadValue, "pivot_root"));

    let (e, _) = refusal(&Spec {
        seccomp: vec![vec![SockFilter::stmt(6, 0); 4097]],
        ..base()
    });
    assert_eq!(e.fault, Fault::TooMany);
}

// ---------------------------------------------------------------------------------------------
// Mount operations
// ---------------------------------------------------------------------------------------------

/// A spec with a mount namespace and these mounts.
fn with_mounts(mounts: Vec<MountEntry>) -> Spec {
    Spec {
        clone_flags: vec![Namespace::NewNs],
        mounts,
        ..Spec::new(["/bin/true"])
    }
}

/// The records of an encoded spec: (type, payload).
fn records(bytes: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut at = 12;
    while at < bytes.len() {
        let ty = u16::from_le_bytes([bytes[at], bytes[at + 1]]);
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        out.push((ty, &bytes[at + 8..at + 8 + len]));
        at += 8 + len;
    }
    out
}

/// The payload of the one MOUNT_OP record `op` encodes to.
fn op_payload(op: MountOp) -> Vec<u8> {
    let bytes = with_mounts(vec![op.into()]).encode().unwrap();
    let ops: Vec<_> = records(&bytes)
        .into_iter()
        .filter(|(ty, _)| *ty == record::MOUNT_OP)
        .collect();
    assert_eq!(ops.len(), 1);
    ops[0].1.to_vec()
}

/// A MOUNT_OP payload written out field by field from the layout: u16 kind, u16 flags, u32
/// mode, u64 size, i32 fd, source NUL, target NUL, content.
#[allow(clippy::too_many_arguments)]
fn layout_payload(
    kind: u16,
    flags: u16,
    mode: u32,
    size: u64,
    fd: i32,
    source: &str,
    target: &str,
    content: &[u8],
) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&kind.to_le_bytes());
    p.extend_from_slice(&flags.to_le_bytes());
    p.extend_from_slice(&mode.to_le_bytes());
    p.extend_from_slice(&size.to_le_bytes());
    p.extend_from_slice(&fd.to_le_bytes());
    assert_eq!(p.len(), layout::MOUNT_OP_FIXED_LEN);
    p.extend_from_slice(source.as_bytes());
    p.push(0);
    p.extend_from_slice(target.as_bytes());
    p.push(0);
    p.extend_from_slice(content);
    p
}

/// Every kind (and every flag) gives exactly the bytes the layout describes.
#[test]
fn mount_op_records_are_exact_for_every_kind() {
    use mount_kind as k;
    use mount_op as f;
    let cases: Vec<(MountOp, Vec<u8>)> = vec![
        (
            MountOp::bind("/src", "/dst"),
            layout_payload(k::BIND, 0, 0, 0, -1, "/src", "/dst", b""),
        ),
        (
            MountOp::ro_bind("/usr", "/usr"),
            layout_payload(k::BIND, f::READONLY, 0, 0, -1, "/usr", "/usr", b""),
        ),
        (
            MountOp::dev_bind("/dev/dri", "/dev/dri").optional(),
            layout_payload(
                k::BIND,
                f::DEV | f::OPTIONAL,
                0,
                0,
                -1,
                "/dev/dri",
                "/dev/dri",
                b"",
            ),
        ),
        (
            MountOp::bind_fd(5, "/data").read_only(),
            layout_payload(k::BIND, f::READONLY, 0, 0, 5, "", "/data", b""),
        ),
        (
            MountOp::tmpfs("/tmp")
                .size(64 << 20)
                .mode(0o1777)
                .read_only(),
            layout_payload(k::TMPFS, f::READONLY, 0o1777, 64 << 20, -1, "", "/tmp", b""),
        ),
        (
            MountOp::tmpfs("/t"),
            layout_payload(k::TMPFS, 0, 0o755, 0, -1, "", "/t", b""),
        ),
        (
            MountOp::proc("/proc"),
            layout_payload(k::PROC, 0, 0, 0, -1, "", "/proc", b""),
        ),
        (
            MountOp::dev("/dev"),
            layout_payload(k::DEV, 0, 0, 0, -1, "", "/dev", b""),
        ),
        (
            MountOp::mqueue("/dev/mqueue"),
            layout_payload(k::MQUEUE, 0, 0, 0, -1, "", "/dev/mqueue", b""),
        ),
        (
            MountOp::dir("/work").mode(0o700),
            layout_payload(k::DIR, 0, 0o700, 0, -1, "", "/work", b""),
        ),
        (
            MountOp::symlink("usr/bin", "/bin"),
            layout_payload(k::SYMLINK, 0, 0, 0, -1, "usr/bin", "/bin", b""),
        ),
        (
            MountOp::file("/etc/hostname", "box\n"),
            layout_payload(k::FILE, 0, 0o644, 0, -1, "", "/etc/hostname", b"box\n"),
        ),
        (
            MountOp::file("/bin/blob", vec![0, 0xff, 0]),
            layout_payload(k::FILE, 0, 0o644, 0, -1, "", "/bin/blob", &[0, 0xff, 0]),
        ),
        (
            MountOp::file("/empty", ""),
            layout_payload(k::FILE, 0, 0o644, 0, -1, "", "/empty", b""),
        ),
        (
            MountOp::file_from_fd(7, "/input.txt").mode(0o600),
            layout_payload(k::FILE, 0, 0o600, 0, 7, "", "/input.txt", b""),
        ),
        (
            MountOp::remount_ro("/data"),
            layout_payload(k::REMOUNT_RO, 0, 0, 0, -1, "", "/data", b""),
        ),
        (
            MountOp::mask("/proc/kcore").optional(),
            layout_payload(k::MASK, f::OPTIONAL, 0, 0, -1, "", "/proc/kcore", b""),
        ),
        // An overlay's layers are its content: upper and work, then lower topmost first.
        (
            MountOp::overlay(["/top", "/bottom"], "/u", "/w", "/o"),
            layout_payload(
                k::OVERLAY,
                0,
                0,
                0,
                -1,
                "",
                "/o",
                b"/u\0/w\0/top\0/bottom\0",
            ),
        ),
        (
            MountOp::tmp_overlay(["/usr"], "/usr"),
            layout_payload(k::TMP_OVERLAY, 0, 0, 0, -1, "", "/usr", b"/usr\0"),
        ),
        (
            MountOp::ro_overlay(["/b", "/a"], "/opt"),
            layout_payload(k::RO_OVERLAY, 0, 0, 0, -1, "", "/opt", b"/b\0/a\0"),
        ),
    ];
    for (op, expect) in cases {
        assert_eq!(op_payload(op.clone()), expect, "{op:?}");
    }
    // Every kind of the table (one without a case above too), with every field it takes.
    for kind in MountKind::ALL {
        assert_eq!(layout::mount_kind::name(kind.value()), kind.name());
        for op in every_field_ops(*kind) {
            let expect = layout_payload(
                kind.value(),
                kind.info().flags,
                op.mode,
                op.size,
                op.fd().unwrap_or(-1),
                &op.source,
                "/t",
                &op.wire_content(),
            );
            assert_eq!(op_payload(op.clone()), expect, "{op:?}");
        }
    }

    // One record in full, byte by byte: header, then the payload.
    let bytes = with_mounts(vec![MountOp::ro_bind("/a", "/b").into()])
        .encode()
        .unwrap();
    // ARGS ends at 30, CLONE_FLAGS (8 + 8) at 46, then the MOUNT_OP record.
    let expect: &[u8] = &[
        21, 0, 0, 0, // MOUNT_OP, record flags 0
        26, 0, 0, 0, // payload length: 20 + "/a\0" + "/b\0"
        1, 0, // kind: bind
        2, 0, // flags: READONLY
        0, 0, 0, 0, // mode
        0, 0, 0, 0, 0, 0, 0, 0, // size
        0xff, 0xff, 0xff, 0xff, // fd: -1
        b'/', b'a', 0, b'/', b'b', 0,
    ];
    assert_eq!(&bytes[46..], expect);
    assert_eq!(bytes.len(), 46 + 34);
}

/// The helper's decoder reads back what the operations say, raw mounts and operations in one
/// list, in order.
#[test]
fn mount_ops_survive_the_decoder_in_order() {
    use forkexec_spec::decode::MountEntry as Decoded;
    let spec = with_mounts(vec![
        MountOp::ro_bind("/usr", "/usr").into(),
        Mount::tmpfs("/raw", "").into(),
        MountOp::tmpfs("/tmp").size(1 << 20).mode(0o1777).into(),
        MountOp::file_from_fd(9, "/in").into(),
        MountOp::file("/etc/hostname", "box\n").into(),
    ]);
    let bytes = spec.encode().unwrap();
    let types: Vec<u16> = records(&bytes).iter().map(|(t, _)| *t).collect();
    use record::*;
    assert_eq!(
        types,
        [
            ARGS,
            CLONE_FLAGS,
            MOUNT_OP,
            MOUNT,
            MOUNT_OP,
            MOUNT_OP,
            MOUNT_OP
        ]
    );
    let d = decode(&bytes).unwrap();
    assert_eq!(d.mounts.len(), 5);
    let entries: Vec<_> = d.mounts.iter().copied().collect();
    assert_eq!(entries.len(), 5);
    let Decoded::Op(usr) = entries[0] else {
        panic!("{:?}", entries[0])
    };
    assert_eq!(usr.kind, mount_kind::BIND);
    assert_eq!(usr.flags, mount_op::READONLY);
    assert_eq!(usr.fd, None);
    assert_eq!(usr.source.to_bytes(), b"/usr");
    assert_eq!(usr.target.to_bytes(), b"/usr");
    assert!(matches!(entries[1], Decoded::Raw(m) if m.target.to_bytes() == b"/raw"));
    let Decoded::Op(tmp) = entries[2] else {
        panic!()
    };
    assert_eq!(
        (tmp.kind, tmp.mode, tmp.size),
        (mount_kind::TMPFS, 0o1777, 1 << 20)
    );
    let Decoded::Op(input) = entries[3] else {
        panic!()
    };
    assert_eq!((input.kind, input.fd), (mount_kind::FILE, Some(9)));
    let Decoded::Op(host) = entries[4] else {
        panic!()
    };
    assert_eq!(host.content, b"box\n");
    assert_eq!(host.mode, 0o644);
}

#[test]
fn writable_root_is_an_option_bit() {
    let spec = Spec {
        pivot_root: "/tmp/root".into(),
        writable_root: true,
        ..with_mounts(vec![])
    };
    let d_bytes = spec.encode().unwrap();
    assert_eq!(decode(&d_bytes).unwrap().options, opt::WRITABLE_ROOT);
    // Without a pivot_root there is no new root to leave writable.
    let (e, record) = refusal(&Spec {
        writable_root: true,
        ..Spec::new(["/bin/true"])
    });
    assert_eq!((e.fault, record.as_str()), (Fault::Conflict, "options"));
}

/// A mount operation whose fields do not fit its kind is refused before encoding, with the
/// reason; what only the decoder checks is refused with the key named.
#[test]
fn mount_op_refusals() {
    let invalid = |op: MountOp| match with_mounts(vec![Mount::tmpfs("/t", "").into(), op.into()])
        .encode()
        .unwrap_err()
    {
        EncodeError::Invalid { field, reason } => {
            assert_eq!(field, "mounts[1]");
            reason
        }
        e => panic!("expected Invalid, got {e:?}"),
    };
    assert_eq!(
        invalid(MountOp::bind("/a", "/b").mode(0o700)),
        "`mode` does not apply to a bind mount operation (a bind takes `type`, `target`, \
         `source`, `source_fd`, `readonly`, `dev`, `optional`)"
    );
    assert!(invalid(MountOp::proc("/p").read_only()).contains("`readonly`"));
    let mut both = MountOp::bind("/a", "/b");
    both.source_fd = Some(3);
    assert_eq!(
        invalid(both),
        "a bind takes `source` or `source_fd`, not both"
    );
    let mut both = MountOp::file("/f", "x");
    both.content_fd = Some(3);
    assert!(invalid(both).contains("not both"));
    assert!(invalid(MountOp::bind_fd(-2, "/b")).contains("not -2"));
    assert!(invalid(MountOp::symlink("", "/b")).contains("needs `source`"));
    let e = with_mounts(vec![MountOp::tmpfs("/t").mode(0o10000).into()])
        .encode()
        .unwrap_err();
    assert_eq!(e.to_string(), "spec: mounts[0]: mode 10000 is above 7777");
    assert_eq!(e.spec_error(), None);

    // A relative target: the decoder's refusal, named down to the key.
    let (e, record) = refusal(&with_mounts(vec![
        Mount::tmpfs("t", "").into(),
        MountOp::tmpfs("t").into(),
    ]));
    assert_eq!(
        (e.fault, record.as_str()),
        (Fault::BadValue, "mounts[1].target")
    );
    // An fd the target's fd table replaces (files[3] is fd 7, not 3).
    let (e, record) = refusal(&Spec {
        files: vec![0, 1, 2, 7],
        ..with_mounts(vec![MountOp::bind_fd(3, "/d").into()])
    });
    assert_eq!(
        (e.fault, record.as_str()),
        (Fault::Conflict, "mounts[0].source_fd")
    );
    let (e, record) = refusal(&Spec {
        files: vec![0, 1, 2, 7],
        ..with_mounts(vec![MountOp::file_from_fd(3, "/f").into()])
    });
    assert_eq!(
        (e.fault, record.as_str()),
        (Fault::Conflict, "mounts[0].content_fd")
    );
    // Kept where they are (files[3] = 3), or above the table: fine.
    let fine = Spec {
        files: vec![0, 1, 2, 3],
        ..with_mounts(vec![
            MountOp::bind_fd(3, "/d").into(),
            MountOp::file_from_fd(4, "/f").into(),
        ])
    };
    fine.encode().unwrap();
    // Mount operations without a mount namespace.
    let (e, record) = refusal(&Spec {
        mounts: vec![MountOp::proc("/proc").into()],
        ..Spec::new(["/bin/true"])
    });
    assert_eq!((e.fault, record.as_str()), (Fault::Conflict, "mounts[0]"));
    // Raw mounts and operations count together against the limit.
    let many: Vec<MountEntry> = (0..=layout::limit::MOUNTS)
        .map(|i| {
            if i % 2 == 0 {
                MountOp::dir(format!("/d{i}")).into()
            } else {
                Mount::tmpfs(format!("/t{i}"), "").into()
            }
        })
        .collect();
    let (e, record) = refusal(&with_mounts(many));
    assert_eq!((e.fault, record.as_str()), (Fault::TooMany, "mounts[256]"));
}

#[test]
fn nul_in_a_mount_op_string_is_refused_but_not_in_content() {
    let e = with_mounts(vec![
        MountOp::dir("/ok").into(),
        MountOp::dir("/a\0b").into(),
    ])
    .encode()
    .unwrap_err();
    assert_eq!(e.to_string(), "spec: mounts[1].target contains a NUL byte");
    let e = with_mounts(vec![MountOp::symlink("x\0y", "/l").into()])
        .encode()
        .unwrap_err();
    assert_eq!(e.to_string(), "spec: mounts[0].source contains a NUL byte");
    with_mounts(vec![MountOp::file("/f", b"\0\0".to_vec()).into()])
        .encode()
        .unwrap();
}

/// CAPS: the kept numbers as a mask and LEAVE_SETS, the last record; the JSON form lists
/// numbers; a number that is no capability, or CAPS with drop_caps, is refused.
#[test]
fn caps_record() {
    use forkexec_client::Caps;
    let caps = Caps {
        keep: vec![40, 5, 0, 5],
        leave_sets: true,
    };
    let spec = Spec {
        caps: Some(caps.clone()),
        ..Spec::new(["/bin/true"])
    };
    let bytes = spec.encode().unwrap();
    assert_eq!(record_types(&bytes), [record::ARGS, record::CAPS]);
    let mut payload = (1u64 << 40 | 1 << 5 | 1).to_le_bytes().to_vec();
    payload.extend_from_slice(&1u32.to_le_bytes());
    assert_eq!(&bytes[bytes.len() - 12..], payload);
    let d = decode(&bytes).unwrap().caps.unwrap();
    assert_eq!((d.kept, d.leave_sets()), (1 << 40 | 1 << 5 | 1, true));
    assert_eq!(Caps::from_mask(d.kept).keep, [0, 5, 40]);
    let json: Spec = serde_json::from_str(r#"{"args":["a"],"caps":{"keep":[21]}}"#).unwrap();
    assert_eq!(json.caps, Some(Caps::from_mask(1 << 21)));
    assert!(serde_json::from_str::<Spec>(r#"{"args":["a"],"caps":{"keep":[1],"x":1}}"#).is_err());
    let bad = Spec {
        caps: Some(Caps {
            keep: vec![0, 64],
            leave_sets: false,
        }),
        ..Spec::new(["/bin/true"])
    };
    let e = bad.encode().unwrap_err().to_string();
    assert!(e.contains("caps.keep") && e.contains("64"), "{e}");
    let both = Spec {
        drop_caps: true,
        ..spec
    };
    let EncodeError::Refused { error, record } = both.encode().unwrap_err() else {
        panic!("not refused by the decoder");
    };
    assert_eq!((error.fault, record.as_str()), (Fault::Conflict, "caps"));
}
