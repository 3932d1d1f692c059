//! `Spec::encode`: every field through the helper's decoder, the record order, exact bytes,
//! and refusals.

// libc's constant types differ between targets (c_ulong, c_int, u32): the casts are needed.
#![allow(clippy::unnecessary_cast)]

mod common;

use common::encodable_spec;
use forkexec_client::{EncodeError, Fault, Mount, Namespace, Resource, Rlimit, SockFilter, Spec};
use forkexec_spec::layout::{cred_flag, mount_opt, ns, opt, record};
use forkexec_spec::{decode, SpecError};

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

    let rlimits: Vec<_> = d.rlimits().map(|r| (r.resource, r.cur, r.max)).collect();
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
    assert_eq!(d.seccomp, Some(&seccomp[..]));
    assert_eq!(d.seccomp_len(), 2);

    assert_eq!(d.clone_flags, ns::NEWNS | ns::NEWUSER | ns::NEWUTS);

    let mounts: Vec<_> = d
        .mounts()
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
    assert_eq!(d.options, go_sandbox_options);
    assert_eq!(d.status_fd, Some(9));
    assert_eq!(d.cgroup_path.unwrap().to_bytes(), b"/sys/fs/cgroup/box");
    assert_eq!(d.cgroup_fd, None);
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
            CGROUP_PATH
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
        mounts: vec![Mount::tmpfs("ok", ""), Mount::tmpfs("t\0mp", "")],
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
        mounts: vec![Mount::tmpfs("tmp", "")],
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
        seccomp: Some(vec![]),
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
        seccomp: Some(vec![SockFilter::stmt(6, 0); 4097]),
        ..base()
    });
    assert_eq!(e.fault, Fault::TooMany);
}
