//! Exhaustive tests of the v1 decoder: every field it exposes, and every way a spec is refused,
//! with the exact fault and byte offset.

mod common;

use common::{build, build_at, ms, s, Owned, OwnedCredential, OwnedMount, OwnedMountOp, W};
use forkexec_spec::decode::{decode, total_len, Fault, Shape, Spec, SpecError};
use forkexec_spec::layout::{
    self, cred_flag, limit, mount_opt, ns, opt, record, HEADER_LEN, RECORD_HEADER_LEN,
};
use forkexec_spec::location::Location;

// ---------------------------------------------------------------------------------------------
// helpers

/// Asserts that `buf` is refused with exactly this fault at exactly this offset.
#[track_caller]
fn refused(buf: &[u8], offset: usize, fault: Fault) {
    let got = decode(buf).map(|s| Owned::of(&s));
    assert_eq!(
        got,
        Err(SpecError {
            offset: offset as u32,
            fault
        }),
        "spec of {} bytes",
        buf.len()
    );
}

#[track_caller]
fn accepted(buf: &[u8]) -> Spec<'_> {
    match decode(buf) {
        Ok(spec) => spec,
        Err(e) => panic!("refused ({e}): {e:?}"),
    }
}

/// ARGS = ["/bin/true"]: header (12) + record header (8) + 10 payload bytes.
fn base(w: &mut W) {
    w.args(s(&["/bin/true"]));
}
const BASE_LEN: usize = 30;

fn base_and(ty: u16, flags: u16, payload: &[u8]) -> (Vec<u8>, usize) {
    build_at(base, |w| w.record(ty, flags, &[payload]))
}

fn set_u32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn set_u16(buf: &mut [u8], at: usize, v: u16) {
    buf[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

/// Every record type that may appear only once.
const SINGLE_TYPES: [u16; 16] = [
    record::ARGS,
    record::ENV,
    record::EXEC_PATH,
    record::EXEC_FD,
    record::FILES,
    record::WORK_DIR,
    record::SECCOMP,
    record::CLONE_FLAGS,
    record::PIVOT_ROOT,
    record::HOST_NAME,
    record::DOMAIN_NAME,
    record::UID_MAP,
    record::GID_MAP,
    record::CREDENTIAL,
    record::OPTIONS,
    record::STATUS_FD,
];

/// A valid payload for each record type (valid on its own; whole-spec rules aside).
fn valid_payload(ty: u16) -> Vec<u8> {
    let mut p = Vec::new();
    match ty {
        record::ARGS => p.extend_from_slice(b"/bin/sh\0"),
        record::ENV => p.extend_from_slice(b"A=1\0"),
        record::EXEC_PATH | record::WORK_DIR | record::PIVOT_ROOT => p.extend_from_slice(b"/x\0"),
        record::EXEC_FD | record::STATUS_FD => p.extend_from_slice(&5u32.to_le_bytes()),
        record::RLIMIT => {
            p.extend_from_slice(&7u32.to_le_bytes());
            p.extend_from_slice(&64u64.to_le_bytes());
            p.extend_from_slice(&64u64.to_le_bytes());
        }
        record::FILES => p.extend_from_slice(&0i32.to_le_bytes()),
        record::SECCOMP => p.extend_from_slice(&[6, 0, 0, 0, 0, 0, 0xff, 0x7f]),
        record::CLONE_FLAGS => p.extend_from_slice(&ns::KNOWN.to_le_bytes()),
        record::MOUNT => {
            p.extend_from_slice(&ms::BIND.to_le_bytes());
            p.extend_from_slice(&0u32.to_le_bytes());
            p.extend_from_slice(b"/usr\0usr\0\0\0");
        }
        record::HOST_NAME | record::DOMAIN_NAME => p.extend_from_slice(b"box\0"),
        record::UID_MAP | record::GID_MAP => {
            for v in [0u32, 1000, 1] {
                p.extend_from_slice(&v.to_le_bytes());
            }
        }
        record::CREDENTIAL => {
            for v in [0u32, 0, 0, 10] {
                p.extend_from_slice(&v.to_le_bytes());
            }
        }
        record::OPTIONS => p.extend_from_slice(&opt::SYNC.to_le_bytes()),
        _ => unreachable!("type {ty}"),
    }
    p
}

/// A realistic spec using every record type except EXEC_FD (which conflicts with EXEC_PATH).
fn full(w: &mut W) {
    w.args(s(&["/bin/prog", "-v", "", "last arg"]));
    w.env(s(&["PATH=/bin:/usr/bin", "HOME=/", "EMPTY="]));
    w.exec_path(b"/usr/bin/prog");
    w.rlimit(0, 1, 2);
    w.rlimit(7, 64, 64);
    w.rlimit(9, 1 << 33, u64::MAX);
    w.files(&[0, 1, 2, -1, 9]);
    w.work_dir(b"/w");
    w.seccomp([
        (0x20, 0, 0, 4),
        (0x15, 0, 1, 0xc000_003e),
        (0x06, 0, 0, 0x7fff_0000),
    ]);
    w.clone_flags(ns::KNOWN);
    w.mount(
        ms::BIND | ms::REC | ms::RDONLY,
        mount_opt::MKDIR,
        b"/usr",
        b"usr",
        b"",
        b"",
    );
    w.mount(
        ms::NOSUID | ms::NODEV,
        mount_opt::MKDIR | mount_opt::FILE,
        b"tmpfs",
        b"tmp",
        b"tmpfs",
        b"size=1m,mode=1777",
    );
    w.pivot_root(b"/srv/root");
    w.host_name(b"box");
    w.domain_name(b"example");
    w.uid_map([(0, 1000, 1), (1, 100_000, 65_536)]);
    w.gid_map([(0, 1000, 1)]);
    w.credential(1, 2, cred_flag::NO_SETGROUPS, &[3, 4, 5]);
    w.options(opt::KNOWN & !opt::NO_SETSID & !opt::DETACH);
    w.status_fd(7);
}

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
        seccomp: Some(vec![
            0x20, 0, 0, 0, 4, 0, 0, 0, //
            0x15, 0, 0, 1, 0x3e, 0, 0, 0xc0, //
            0x06, 0, 0, 0, 0, 0, 0xff, 0x7f,
        ]),
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
    assert_eq!(spec.rlimit_count(), 0);
    assert!(spec.files.is_empty());
    assert_eq!(spec.work_dir, None);
    assert_eq!(spec.seccomp, None);
    assert_eq!(spec.seccomp_len(), 0);
    assert_eq!(spec.clone_flags, 0);
    assert_eq!(spec.mount_count(), 0);
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
    assert_eq!(spec.seccomp_len(), 3);
    assert_eq!(spec.rlimit_count(), 3);
    assert_eq!(spec.mount_count(), 2);
    assert_eq!(spec.files.get(3), -1);
    assert!(spec.has(opt::SYNC) && spec.has(opt::CTTY) && !spec.has(opt::NO_SETSID));
    let cred = spec.credential.unwrap();
    assert!(cred.no_setgroups());
    assert_eq!(cred.groups_bytes(), &[3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0]);
    let r = spec.rlimits().nth(2).unwrap();
    assert_eq!((r.resource, r.cur, r.max), (9, 1 << 33, u64::MAX));
    let m = spec.mounts().next().unwrap();
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
    assert_eq!(records.len(), 20);
    let mut reversed = canonical[..HEADER_LEN].to_vec();
    for r in records.iter().rev() {
        reversed.extend_from_slice(r);
    }
    // Same fields; only the repeatable records (whose order is their index) come reversed.
    let mut expected = full_owned();
    expected.rlimits.reverse();
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
        w.mount(0, 0, b"", b"t", b"", b"");
    });
    let spec = accepted(&buf);
    assert_eq!(spec.args.len(), 2);
    assert_eq!(spec.env.len(), 1);
    assert_eq!(spec.host_name.unwrap().to_bytes(), b"");
    assert_eq!(spec.domain_name.unwrap().to_bytes(), b"");
    let m = spec.mounts().next().unwrap();
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
        w.mount(
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
            w.rlimit(r, u64::MAX, u64::MAX);
        }
        w.files(&vec![-1; limit::FILES]);
        w.seccomp((0..limit::SECCOMP_INSNS).map(|_| (6, 0, 0, 0)));
        w.credential(0, 0, 0, &vec![7; limit::GROUPS]);
        w.status_fd(limit::FD - 1);
    });
    let spec = accepted(&buf);
    assert_eq!(spec.rlimit_count(), limit::RLIMITS);
    assert_eq!(spec.files.len(), limit::FILES);
    assert_eq!(spec.seccomp_len(), limit::SECCOMP_INSNS);
    assert_eq!(spec.uid_map.unwrap().len(), limit::ID_MAP_ENTRIES);
    assert_eq!(spec.credential.unwrap().group_count(), limit::GROUPS);
    assert_eq!(spec.host_name.unwrap().to_bytes().len(), limit::UTS_NAME);

    let buf = build(|w| {
        w.args((0..limit::ARGS).map(|_| &b"a"[..]));
        w.env((0..limit::ENV).map(|_| &b"A="[..]));
        w.clone_flags(ns::NEWNS);
        for _ in 0..limit::MOUNTS {
            w.mount(0, 0, b"none", b"m", b"tmpfs", b"");
        }
        w.files(&[limit::FD as i32 - 1, -1, 0]);
        w.exec_fd(limit::FD - 1);
    });
    let spec = accepted(&buf);
    assert_eq!(spec.args.len(), limit::ARGS);
    assert_eq!(spec.env.len(), limit::ENV);
    assert_eq!(spec.mount_count(), limit::MOUNTS);
    assert_eq!(spec.mounts().count(), limit::MOUNTS);
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

// ---------------------------------------------------------------------------------------------
// header

#[test]
fn truncated_at_every_prefix() {
    for spec in [build(base), build(full)] {
        accepted(&spec);
        for len in 0..spec.len() {
            refused(&spec[..len], len, Fault::Truncated);
        }
    }
}

#[test]
fn short_prefix_that_disagrees_with_the_magic_is_bad_magic() {
    // Below the header size, the first byte that differs from "FXSP" is named.
    for len in 1..HEADER_LEN {
        for i in 0..len.min(4) {
            let mut buf = build(base)[..len].to_vec();
            buf[i] ^= 0x20;
            refused(&buf, i, Fault::BadMagic);
        }
    }
    refused(b"", 0, Fault::Truncated);
    refused(b"F", 1, Fault::Truncated);
    refused(b"FXSP", 4, Fault::Truncated);
    refused(b"FXSP\x09", 5, Fault::Truncated);
    refused(b"\x7fELF", 0, Fault::BadMagic);
    refused(b"FXS\0", 3, Fault::BadMagic);
}

#[test]
fn bad_magic_names_the_first_differing_byte() {
    for i in 0..4 {
        let mut buf = build(base);
        buf[i] = b'?';
        refused(&buf, i, Fault::BadMagic);
        let err = SpecError {
            offset: i as u32,
            fault: Fault::BadMagic,
        };
        assert_eq!(total_len(buf[..HEADER_LEN].try_into().unwrap()), Err(err));
    }
    let mut buf = build(base);
    buf[..4].copy_from_slice(b"fxsp");
    refused(&buf, 0, Fault::BadMagic);
    refused(&[0; 64], 0, Fault::BadMagic);
    // Magic is checked before anything else in the header.
    let mut buf = build(base);
    buf[3] = 0;
    set_u16(&mut buf, 4, 9);
    set_u32(&mut buf, 8, 0);
    refused(&buf, 3, Fault::BadMagic);
}

#[test]
fn bad_version() {
    for v in [0u16, 2, 0x100, 0xffff] {
        let mut buf = build(base);
        set_u16(&mut buf, 4, v);
        refused(&buf, 4, Fault::BadVersion);
        assert_eq!(
            total_len(buf[..HEADER_LEN].try_into().unwrap()),
            Err(SpecError {
                offset: 4,
                fault: Fault::BadVersion
            })
        );
    }
}

#[test]
fn non_zero_header_flags() {
    for bit in 0..16 {
        let mut buf = build(base);
        set_u16(&mut buf, 6, 1 << bit);
        refused(&buf, 6, Fault::UnknownBits);
        assert_eq!(
            total_len(buf[..HEADER_LEN].try_into().unwrap()),
            Err(SpecError {
                offset: 6,
                fault: Fault::UnknownBits
            })
        );
    }
}

#[test]
fn total_length_out_of_range() {
    for total in [0u32, 1, 11, limit::SPEC_LEN as u32 + 1, u32::MAX] {
        let mut buf = build(base);
        set_u32(&mut buf, 8, total);
        refused(&buf, 8, Fault::BadTotalLength);
        assert_eq!(
            total_len(buf[..HEADER_LEN].try_into().unwrap()),
            Err(SpecError {
                offset: 8,
                fault: Fault::BadTotalLength
            })
        );
    }
}

#[test]
fn total_length_disagrees_with_the_buffer() {
    let good = build(base);
    assert_eq!(total_len(good[..HEADER_LEN].try_into().unwrap()), Ok(30));
    // Claims more than there is: truncated where the bytes end.
    let mut buf = good.clone();
    set_u32(&mut buf, 8, BASE_LEN as u32 + 1);
    refused(&buf, BASE_LEN, Fault::Truncated);
    // Claims less than there is (trailing bytes after the spec).
    let mut buf = good.clone();
    set_u32(&mut buf, 8, BASE_LEN as u32 - 1);
    refused(&buf, 8, Fault::BadTotalLength);
    let mut buf = good.clone();
    buf.push(0);
    refused(&buf, 8, Fault::BadTotalLength);
    let mut buf = good.clone();
    set_u32(&mut buf, 8, HEADER_LEN as u32);
    refused(&buf, 8, Fault::BadTotalLength);
    // A header alone is a well-framed spec without args.
    refused(&good[..HEADER_LEN], HEADER_LEN, Fault::Truncated);
    let mut header = good[..HEADER_LEN].to_vec();
    set_u32(&mut header, 8, HEADER_LEN as u32);
    refused(&header, HEADER_LEN, Fault::MissingArgs);
}

#[test]
fn consistent_truncation_inside_records() {
    // Cut the spec anywhere and fix the total length to match: a cut inside a record header or
    // payload is Truncated at the cut; a cut between records leaves a shorter, valid spec
    // (ARGS and CLONE_FLAGS come first so no whole-spec rule breaks).
    let spec = build(|w| {
        w.args(s(&["/bin/prog", "-v"]));
        w.clone_flags(ns::KNOWN);
        w.env(s(&["A=1"]));
        w.rlimit(1, 2, 3);
        w.mount(ms::BIND, mount_opt::MKDIR, b"/a", b"b", b"", b"");
        w.uid_map([(0, 0, 1)]);
        w.credential(0, 0, 0, &[1, 2]);
        w.host_name(b"h");
        w.options(opt::SYNC);
    });
    let mut boundaries = vec![HEADER_LEN];
    let mut at = HEADER_LEN;
    while at < spec.len() {
        let len = u32::from_le_bytes(spec[at + 4..at + 8].try_into().unwrap()) as usize;
        at += RECORD_HEADER_LEN + len;
        boundaries.push(at);
    }
    for cut in HEADER_LEN..spec.len() {
        let mut buf = spec[..cut].to_vec();
        set_u32(&mut buf, 8, cut as u32);
        match boundaries.iter().position(|&b| b == cut) {
            Some(0) => refused(&buf, cut, Fault::MissingArgs),
            Some(_) => {
                accepted(&buf);
            }
            None => refused(&buf, cut, Fault::Truncated),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// record framing

#[test]
fn unknown_record_types() {
    for ty in [
        0u16,
        record::LAST + 1,
        0x00ff,
        0x4000,
        0x7fff,
        0x8000,
        0xffff,
    ] {
        let (buf, at) = base_and(ty, 0, b"anything");
        refused(&buf, at, Fault::UnknownRecord);
        // The same record with SKIP_IF_UNKNOWN is skipped.
        let (buf, _) = base_and(ty, layout::RECORD_SKIP_IF_UNKNOWN, b"anything");
        let spec = accepted(&buf);
        assert_eq!(Owned::of(&spec), Owned::of(&decode(&build(base)).unwrap()));
    }
    // Skippable records may come first, be empty, or hold bytes that look like records.
    let buf = build(|w| {
        w.record(0x9000, layout::RECORD_SKIP_IF_UNKNOWN, &[]);
        w.record(
            0x9001,
            layout::RECORD_SKIP_IF_UNKNOWN,
            &[&[record::OPTIONS as u8, 0, 0, 0, 8, 0, 0, 0], &[0xff; 8]],
        );
        base(w);
        w.record(0x9000, layout::RECORD_SKIP_IF_UNKNOWN, &[&[0; 1000]]);
    });
    let spec = accepted(&buf);
    assert_eq!(spec.options, 0);
    // Even a skippable unknown record must be framed correctly.
    let (mut buf, at) = base_and(0x9000, layout::RECORD_SKIP_IF_UNKNOWN, b"xyz");
    set_u32(&mut buf, at + 4, 4);
    refused(&buf, buf.len(), Fault::Truncated);
}

#[test]
fn skip_if_unknown_does_not_exempt_known_records() {
    // A known record with the skip flag is decoded and validated like any other.
    let (buf, at) = base_and(record::OPTIONS, layout::RECORD_SKIP_IF_UNKNOWN, &[0; 4]);
    refused(&buf, at + 4, Fault::BadRecordLength);
    let (buf, at) = base_and(
        record::OPTIONS,
        layout::RECORD_SKIP_IF_UNKNOWN,
        &(1u64 << 63).to_le_bytes(),
    );
    refused(&buf, at + 8, Fault::UnknownBits);
    let (buf, _) = base_and(
        record::OPTIONS,
        layout::RECORD_SKIP_IF_UNKNOWN,
        &opt::SYNC.to_le_bytes(),
    );
    assert_eq!(accepted(&buf).options, opt::SYNC);
}

#[test]
fn unknown_record_flag_bits() {
    for bit in 1..16 {
        let flags = 1u16 << bit;
        // On the first record, on a later record, on a skippable unknown record.
        let buf = build(|w| w.record(record::ARGS, flags, &[b"/bin/true\0"]));
        refused(&buf, HEADER_LEN + 2, Fault::UnknownBits);
        let (buf, at) = base_and(record::ENV, flags, b"A=1\0");
        refused(&buf, at + 2, Fault::UnknownBits);
        let (buf, at) = base_and(0x9000, flags | layout::RECORD_SKIP_IF_UNKNOWN, b"");
        refused(&buf, at + 2, Fault::UnknownBits);
    }
}

#[test]
fn record_header_cut_short() {
    // Fewer than 8 bytes left for a record header: truncated at the end of the spec.
    for extra in 1..RECORD_HEADER_LEN {
        let mut buf = build(base);
        buf.extend(std::iter::repeat_n(0u8, extra));
        let total = buf.len() as u32;
        set_u32(&mut buf, 8, total);
        refused(&buf, buf.len(), Fault::Truncated);
    }
    // A payload length past the end.
    for len in [11u32, 100, u32::MAX] {
        let mut buf = build(base);
        set_u32(&mut buf, HEADER_LEN + 4, len);
        refused(&buf, BASE_LEN, Fault::Truncated);
    }
}

#[test]
fn duplicate_records() {
    for ty in SINGLE_TYPES {
        assert!(!record::repeatable(ty));
        let first = valid_payload(ty);
        let (buf, at) = build_at(
            |w| {
                if ty != record::ARGS {
                    base(w);
                }
                w.record(ty, 0, &[&first]);
            },
            |w| w.record(ty, 0, &[&first]),
        );
        refused(&buf, at, Fault::DuplicateRecord);
        // The duplicate is refused before its payload is looked at.
        let (buf, at) = build_at(
            |w| {
                if ty != record::ARGS {
                    base(w);
                }
                w.record(ty, 0, &[&first]);
            },
            |w| w.record(ty, 0, &[b"\xff"]),
        );
        refused(&buf, at, Fault::DuplicateRecord);
    }
    assert!(record::repeatable(record::RLIMIT) && record::repeatable(record::MOUNT));
}

#[test]
fn repeatable_records_keep_their_order() {
    let buf = build(|w| {
        base(w);
        w.rlimit(3, 10, 20);
        w.clone_flags(ns::NEWNS);
        w.mount(0, 0, b"a", b"1", b"", b"");
        w.rlimit(3, 5, 6);
        w.mount(0, 0, b"b", b"2", b"", b"");
    });
    let o = Owned::of(&accepted(&buf));
    assert_eq!(o.rlimits, vec![(3, 10, 20), (3, 5, 6)]);
    let targets: Vec<_> = o.mounts.iter().map(|m| m.target().to_vec()).collect();
    assert_eq!(targets, vec![b"1".to_vec(), b"2".to_vec()]);
}

#[test]
fn record_names() {
    let names = [
        (record::ARGS, "args"),
        (record::ENV, "env"),
        (record::EXEC_PATH, "exec_path"),
        (record::EXEC_FD, "exec_file"),
        (record::RLIMIT, "rlimit"),
        (record::FILES, "files"),
        (record::WORK_DIR, "work_dir"),
        (record::SECCOMP, "seccomp"),
        (record::CLONE_FLAGS, "clone_flags"),
        (record::MOUNT, "mount"),
        (record::PIVOT_ROOT, "pivot_root"),
        (record::HOST_NAME, "host_name"),
        (record::DOMAIN_NAME, "domain_name"),
        (record::UID_MAP, "uid_mappings"),
        (record::GID_MAP, "gid_mappings"),
        (record::CREDENTIAL, "credential"),
        (record::OPTIONS, "options"),
        (record::STATUS_FD, "status_fd"),
        (record::CGROUP_PATH, "cgroup"),
        (record::CGROUP_FD, "cgroup_fd"),
        (record::MOUNT_OP, "mount_op"),
    ];
    for (i, (ty, name)) in names.iter().enumerate() {
        assert_eq!(*ty as usize, i + 1);
        assert_eq!(record::name(*ty), *name);
    }
    assert_eq!(record::LAST as usize, names.len());
    assert_eq!(record::name(0), "unknown");
    assert_eq!(record::name(record::LAST + 1), "unknown");
}

// ---------------------------------------------------------------------------------------------
// payload lengths

#[test]
fn bad_lengths_of_fixed_size_records() {
    let cases: &[(u16, &[usize])] = &[
        (record::EXEC_FD, &[0, 1, 3, 5, 8]),
        (record::STATUS_FD, &[0, 1, 3, 5, 8]),
        (record::CLONE_FLAGS, &[0, 4, 7, 9, 16]),
        (record::OPTIONS, &[0, 4, 7, 9, 16]),
        (record::RLIMIT, &[0, 8, 19, 21, 40]),
        (record::FILES, &[1, 2, 3, 5, 7, 4097]),
        (record::SECCOMP, &[0, 1, 7, 9, 12, 15]),
        (record::UID_MAP, &[0, 1, 11, 13, 23, 25]),
        (record::GID_MAP, &[0, 1, 11, 13, 23, 25]),
        (record::CREDENTIAL, &[0, 4, 8, 11, 13, 14, 15, 17]),
        (record::MOUNT, &[0, 1, 4, 8, 11]),
    ];
    for &(ty, lens) in cases {
        for &len in lens {
            let (buf, at) = base_and(ty, 0, &vec![0; len]);
            refused(&buf, at + 4, Fault::BadRecordLength);
        }
    }
}

#[test]
fn mount_with_bytes_after_the_data_string() {
    let fixed = [0u8; layout::MOUNT_FIXED_LEN];
    // Junk after the fourth string: refused at the first byte after it.
    let (buf, at) = base_and(
        record::MOUNT,
        0,
        &[&fixed[..], b"s\0t\0f\0d\0junk"].concat(),
    );
    refused(&buf, at + 8 + 12 + 8, Fault::BadRecordLength);
    // A fifth string.
    let (buf, at) = base_and(
        record::MOUNT,
        0,
        &[&fixed[..], b"s\0t\0\0\0extra\0"].concat(),
    );
    refused(&buf, at + 8 + 12 + 6, Fault::BadRecordLength);
}

// ---------------------------------------------------------------------------------------------
// strings

const SINGLE_STRING_TYPES: [u16; 5] = [
    record::EXEC_PATH,
    record::WORK_DIR,
    record::PIVOT_ROOT,
    record::HOST_NAME,
    record::DOMAIN_NAME,
];

#[test]
fn unterminated_single_strings() {
    for ty in SINGLE_STRING_TYPES {
        let (buf, at) = base_and(ty, 0, b"/abc");
        refused(&buf, at + 8 + 4, Fault::Unterminated);
        let (buf, at) = base_and(ty, 0, b"");
        refused(&buf, at + 8, Fault::Unterminated);
    }
}

#[test]
fn unterminated_string_lists() {
    for ty in [record::ARGS, record::ENV] {
        let prefix = |w: &mut W| {
            if ty == record::ENV {
                base(w);
            }
        };
        for payload in [&b"a\0b"[..], b"abc", b"\0\0x"] {
            let (buf, at) = build_at(prefix, |w| w.record(ty, 0, &[payload]));
            refused(&buf, at + 8 + payload.len(), Fault::Unterminated);
        }
    }
}

#[test]
fn unterminated_mount_strings() {
    let fixed = [0u8; layout::MOUNT_FIXED_LEN];
    for strings in [&b""[..], b"src", b"src\0", b"src\0tgt\0", b"s\0t\0fs\0data"] {
        let (buf, at) = base_and(record::MOUNT, 0, &[&fixed[..], strings].concat());
        refused(
            &buf,
            at + 8 + layout::MOUNT_FIXED_LEN + strings.len(),
            Fault::Unterminated,
        );
    }
}

#[test]
fn interior_nul_in_single_strings() {
    for ty in SINGLE_STRING_TYPES {
        let (buf, at) = base_and(ty, 0, b"/a\0b\0");
        refused(&buf, at + 8 + 2, Fault::InteriorNul);
        let (buf, at) = base_and(ty, 0, b"\0\0");
        refused(&buf, at + 8, Fault::InteriorNul);
        let (buf, at) = base_and(ty, 0, b"/ab\0\0");
        refused(&buf, at + 8 + 3, Fault::InteriorNul);
    }
}

#[test]
fn over_long_strings() {
    let string = |n: usize| {
        let mut p = vec![b'a'; n];
        p[0] = b'/';
        p.push(0);
        p
    };
    for ty in [record::EXEC_PATH, record::WORK_DIR, record::PIVOT_ROOT] {
        let (buf, at) = base_and(ty, 0, &string(limit::PATH));
        refused(&buf, at + 8, Fault::TooLong);
        let (buf, at) = base_and(ty, 0, &string(100_000));
        refused(&buf, at + 8, Fault::TooLong);
    }
    for ty in [record::HOST_NAME, record::DOMAIN_NAME] {
        let (buf, at) = base_and(ty, 0, &string(limit::UTS_NAME + 1));
        refused(&buf, at + 8, Fault::TooLong);
    }
    // Mount strings: refused at the start of the string that is too long.
    let path = |n: usize| vec![b'p'; n];
    let long_path = path(limit::PATH);
    let long_fstype = path(limit::FSTYPE);
    let long_data = path(limit::MOUNT_DATA);
    // (source, target, fstype, data, offset of the long string within the strings)
    type Case<'a> = (&'a [u8], &'a [u8], &'a [u8], &'a [u8], usize);
    let cases: [Case; 4] = [
        (&long_path, b"t", b"", b"", 0),
        (b"s", &long_path, b"", b"", 2),
        (b"s", b"t", &long_fstype, b"", 4),
        (b"s", b"t", b"f", &long_data, 6),
    ];
    for (src, tgt, fstype, data, string_at) in cases {
        let (buf, at) = build_at(
            |w| {
                base(w);
                w.clone_flags(ns::NEWNS);
            },
            |w| w.mount(0, 0, src, tgt, fstype, data),
        );
        refused(
            &buf,
            at + 8 + layout::MOUNT_FIXED_LEN + string_at,
            Fault::TooLong,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// counts

#[test]
fn too_many_args_and_env() {
    let (buf, at) = build_at(|_| {}, |w| w.args((0..=limit::ARGS).map(|_| &b"a"[..])));
    refused(&buf, at + 8, Fault::TooMany);
    let (buf, at) = build_at(base, |w| w.env((0..=limit::ENV).map(|_| &b""[..])));
    refused(&buf, at + 8, Fault::TooMany);
}

#[test]
fn too_many_files_and_seccomp_insns() {
    let (buf, at) = build_at(base, |w| w.files(&vec![0; limit::FILES + 1]));
    refused(&buf, at + 8, Fault::TooMany);
    let (buf, at) = build_at(base, |w| {
        w.seccomp((0..=limit::SECCOMP_INSNS).map(|_| (6, 0, 0, 0)))
    });
    refused(&buf, at + 8, Fault::TooMany);
}

#[test]
fn too_many_rlimits_and_mounts() {
    let (buf, at) = build_at(
        |w| {
            base(w);
            for r in 0..limit::RLIMITS as u32 {
                w.rlimit(r, 0, 0);
            }
        },
        |w| w.rlimit(0, 0, 0),
    );
    refused(&buf, at, Fault::TooMany);
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.clone_flags(ns::NEWNS);
            for _ in 0..limit::MOUNTS {
                w.mount(0, 0, b"", b"m", b"", b"");
            }
        },
        |w| w.mount(0, 0, b"", b"m", b"", b""),
    );
    refused(&buf, at, Fault::TooMany);
}

#[test]
fn too_many_id_map_entries_and_groups() {
    for uid in [true, false] {
        let (buf, at) = build_at(
            |w| {
                base(w);
                w.clone_flags(ns::NEWUSER);
            },
            |w| {
                let entries = (0..=limit::ID_MAP_ENTRIES as u32).map(|i| (i, i, 1));
                if uid {
                    w.uid_map(entries)
                } else {
                    w.gid_map(entries)
                }
            },
        );
        refused(&buf, at + 8, Fault::TooMany);
    }
    let (buf, at) = build_at(base, |w| w.credential(0, 0, 0, &vec![0; limit::GROUPS + 1]));
    refused(&buf, at + 8 + layout::CREDENTIAL_FIXED_LEN, Fault::TooMany);
}

// ---------------------------------------------------------------------------------------------
// fds

#[test]
fn files_out_of_range() {
    for bad in [-2, -100, i32::MIN, limit::FD as i32, i32::MAX] {
        let (buf, at) = build_at(base, |w| w.files(&[0, -1, bad, 1]));
        refused(&buf, at + 8 + 2 * 4, Fault::FdOutOfRange);
    }
}

#[test]
fn exec_fd_and_status_fd_out_of_range() {
    for ty in [record::EXEC_FD, record::STATUS_FD] {
        for bad in [limit::FD, limit::FD + 1, u32::MAX, (-1i32) as u32] {
            let (buf, at) = base_and(ty, 0, &bad.to_le_bytes());
            refused(&buf, at + 8, Fault::FdOutOfRange);
        }
        for good in [0, 3, limit::FD - 1] {
            let (buf, _) = base_and(ty, 0, &good.to_le_bytes());
            accepted(&buf);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// unknown bits

#[test]
fn unknown_option_bits() {
    for bit in 0..64 {
        let b = 1u64 << bit;
        let (buf, at) = base_and(record::OPTIONS, 0, &b.to_le_bytes());
        if b == opt::INIT || b == opt::WRITABLE_ROOT {
            // init is pid 1 of a new pid namespace, a writable root needs pivot_root: alone
            // they are conflicts.
            refused(&buf, at + 8, Fault::Conflict);
        } else if opt::KNOWN & b != 0 {
            assert_eq!(accepted(&buf).options, b);
        } else {
            refused(&buf, at + 8, Fault::UnknownBits);
        }
    }
    assert_eq!(opt::KNOWN, 0x1fff);
}

#[test]
fn unknown_clone_flags() {
    for bit in 0..64 {
        let b = 1u64 << bit;
        let (buf, at) = base_and(record::CLONE_FLAGS, 0, &b.to_le_bytes());
        if ns::KNOWN & b != 0 {
            assert_eq!(accepted(&buf).clone_flags, b);
        } else {
            refused(&buf, at + 8, Fault::UnknownBits);
        }
    }
    // CLONE_NEWTIME, CLONE_VM, CLONE_THREAD are not namespace flags this format carries.
    for b in [0x80u64, 0x100, 0x10000] {
        let (buf, at) = base_and(record::CLONE_FLAGS, 0, &b.to_le_bytes());
        refused(&buf, at + 8, Fault::UnknownBits);
    }
    assert_eq!(ns::KNOWN, 0x7e02_0000);
}

#[test]
fn unknown_mount_option_bits() {
    for bit in 0..32 {
        let b = 1u32 << bit;
        let (buf, at) = build_at(
            |w| {
                base(w);
                w.clone_flags(ns::NEWNS);
            },
            |w| w.mount(0, b, b"", b"t", b"", b""),
        );
        if mount_opt::KNOWN & b != 0 {
            assert_eq!(accepted(&buf).mounts().next().unwrap().options, b);
        } else {
            refused(&buf, at + 8 + 8, Fault::UnknownBits);
        }
    }
}

#[test]
fn unknown_credential_flag_bits() {
    for bit in 0..32 {
        let b = 1u32 << bit;
        let (buf, at) = build_at(base, |w| w.credential(0, 0, b, &[1]));
        if cred_flag::KNOWN & b != 0 {
            assert_eq!(accepted(&buf).credential.unwrap().flags, b);
        } else {
            refused(&buf, at + 8 + 8, Fault::UnknownBits);
        }
    }
}

#[test]
fn mount_flags_outside_the_named_set_are_refused() {
    use forkexec_spec::layout::mount_flags;
    let with = |flags: u64| {
        build_at(
            |w| {
                base(w);
                w.clone_flags(ns::NEWNS);
            },
            |w| w.mount(flags, 0, b"", b"t", b"", b""),
        )
    };
    let (buf, _) = with(mount_flags::KNOWN);
    assert_eq!(
        accepted(&buf).mounts().next().unwrap().flags,
        mount_flags::KNOWN
    );
    // MS_KERNMOUNT, the MS_MGC_VAL magic and any high bit: refused at the flags field.
    for bad in [0x40_0000u64, 0xC0ED_0000, 1 << 40, u64::MAX] {
        let (buf, at) = with(bad);
        refused(&buf, at + 8, Fault::UnknownBits);
    }
}

// ---------------------------------------------------------------------------------------------
// bad values

#[test]
fn bad_rlimits() {
    for resource in [limit::RLIMIT_RESOURCES, 100, u32::MAX] {
        let (buf, at) = build_at(base, |w| w.rlimit(resource, 0, 0));
        refused(&buf, at + 8, Fault::BadValue);
    }
    let (buf, at) = build_at(base, |w| w.rlimit(0, 2, 1));
    refused(&buf, at + 8 + 4, Fault::BadValue);
    let (buf, at) = build_at(base, |w| w.rlimit(0, u64::MAX, 0));
    refused(&buf, at + 8 + 4, Fault::BadValue);
    // Resource is checked before soft <= hard.
    let (buf, at) = build_at(base, |w| w.rlimit(16, 2, 1));
    refused(&buf, at + 8, Fault::BadValue);
}

#[test]
fn bad_paths() {
    for root in [&b"root"[..], b"./root", b"", b"../x"] {
        let (buf, at) = build_at(
            |w| {
                base(w);
                w.clone_flags(ns::NEWNS);
            },
            |w| w.pivot_root(root),
        );
        refused(&buf, at + 8, Fault::BadValue);
    }
    let (buf, at) = build_at(base, |w| w.exec_path(b""));
    refused(&buf, at + 8, Fault::BadValue);
    let (buf, at) = build_at(base, |w| w.work_dir(b""));
    refused(&buf, at + 8, Fault::BadValue);
    // Relative exec paths and work dirs are fine.
    accepted(&build(|w| {
        base(w);
        w.exec_path(b"bin/x");
        w.work_dir(b"sub");
    }));
}

#[test]
fn empty_mount_target() {
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.clone_flags(ns::NEWNS);
        },
        |w| w.mount(0, 0, b"/src", b"", b"tmpfs", b""),
    );
    refused(&buf, at + 8 + 12 + 5, Fault::BadValue);
}

#[test]
fn bad_id_map_entries() {
    let cases: [((u32, u32, u32), usize); 5] = [
        ((0, 0, 0), 8),
        ((u32::MAX, 0, 1), 8),
        ((0, u32::MAX, 1), 8),
        ((1, 0, u32::MAX), 8),
        ((0, 2, u32::MAX - 1), 8),
    ];
    for uid in [true, false] {
        for (entry, field) in cases {
            let (buf, at) = build_at(
                |w| {
                    base(w);
                    w.clone_flags(ns::NEWUSER);
                },
                |w| {
                    let entries = [(0, 0, 1), entry];
                    if uid {
                        w.uid_map(entries)
                    } else {
                        w.gid_map(entries)
                    }
                },
            );
            refused(&buf, at + 8 + 12 + field, Fault::BadValue);
        }
    }
    // The largest ranges that still fit in 32 bits.
    accepted(&build(|w| {
        base(w);
        w.clone_flags(ns::NEWUSER);
        w.uid_map([(0, 0, u32::MAX), (u32::MAX - 1, u32::MAX - 1, 1)]);
    }));
}

// ---------------------------------------------------------------------------------------------
// whole-spec rules

#[test]
fn missing_args() {
    let buf = build(|w| w.env(s(&["A=1"])));
    refused(&buf, buf.len(), Fault::MissingArgs);
    let buf = build(|w| w.args(std::iter::empty()));
    refused(&buf, buf.len(), Fault::MissingArgs);
    let buf = build(|w| w.args(s(&[""])));
    refused(&buf, buf.len(), Fault::MissingArgs);
    let buf = build(|w| {
        w.args(s(&["", "x"]));
        w.work_dir(b"/");
    });
    refused(&buf, buf.len(), Fault::MissingArgs);
}

#[test]
fn exec_path_and_exec_fd_conflict() {
    let (buf, at) = build_at(base, |w| {
        w.exec_path(b"/x");
        w.exec_fd(3);
    });
    refused(&buf, at, Fault::Conflict);
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.exec_fd(3);
        },
        |w| w.exec_path(b"/x"),
    );
    refused(&buf, at, Fault::Conflict);
}

#[test]
fn mounts_and_pivot_root_need_newns() {
    for flags in [None, Some(ns::NEWUSER), Some(ns::KNOWN & !ns::NEWNS)] {
        let prefix = |w: &mut W| {
            base(w);
            if let Some(f) = flags {
                w.clone_flags(f);
            }
        };
        let (buf, at) = build_at(prefix, |w| {
            w.mount(0, 0, b"", b"a", b"", b"");
            w.mount(0, 0, b"", b"b", b"", b"");
        });
        refused(&buf, at, Fault::Conflict);
        let (buf, at) = build_at(prefix, |w| w.pivot_root(b"/r"));
        refused(&buf, at, Fault::Conflict);
    }
    // The clone flags may come after the mounts.
    accepted(&build(|w| {
        base(w);
        w.mount(0, 0, b"", b"a", b"", b"");
        w.pivot_root(b"/r");
        w.clone_flags(ns::NEWNS);
    }));
}

#[test]
fn uts_names_need_newuts() {
    let (buf, at) = build_at(base, |w| w.host_name(b"h"));
    refused(&buf, at, Fault::Conflict);
    let (buf, at) = build_at(base, |w| w.domain_name(b"d"));
    refused(&buf, at, Fault::Conflict);
    // With both, the later record is named.
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.domain_name(b"d");
        },
        |w| w.host_name(b"h"),
    );
    refused(&buf, at, Fault::Conflict);
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.host_name(b"h");
            w.clone_flags(ns::NEWNS);
        },
        |w| w.domain_name(b"d"),
    );
    refused(&buf, at, Fault::Conflict);
}

#[test]
fn id_maps_need_newuser() {
    let (buf, at) = build_at(base, |w| w.uid_map([(0, 0, 1)]));
    refused(&buf, at, Fault::Conflict);
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.clone_flags(ns::NEWNS);
        },
        |w| w.gid_map([(0, 0, 1)]),
    );
    refused(&buf, at, Fault::Conflict);
}

#[test]
fn ctty_with_no_setsid_conflicts() {
    let (buf, at) = build_at(base, |w| w.options(opt::CTTY | opt::NO_SETSID));
    refused(&buf, at + 8, Fault::Conflict);
    accepted(&build(|w| {
        base(w);
        w.options(opt::CTTY);
    }));
    accepted(&build(|w| {
        base(w);
        w.options(opt::NO_SETSID);
    }));
}

#[test]
fn precedence_of_faults() {
    // A record fault wins over whole-spec rules (no args, conflicts).
    let (buf, at) = build_at(|w| w.host_name(b"h"), |w| w.options(1 << 40));
    refused(&buf, at + 8, Fault::UnknownBits);
    // Missing args wins over conflicts.
    let buf = build(|w| {
        w.exec_path(b"/x");
        w.exec_fd(3);
    });
    refused(&buf, buf.len(), Fault::MissingArgs);
    // Conflicts are checked in a fixed order: exec, mounts, pivot_root, uts, uid, gid, ctty.
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.options(opt::CTTY | opt::NO_SETSID);
            w.uid_map([(0, 0, 1)]);
            w.host_name(b"h");
            w.pivot_root(b"/r");
            w.mount(0, 0, b"", b"m", b"", b"");
        },
        |w| {
            w.exec_path(b"/x");
            w.exec_fd(1);
        },
    );
    refused(&buf, at, Fault::Conflict);
}

// ---------------------------------------------------------------------------------------------
// exec-in-place shape

fn in_place(f: impl FnOnce(&mut W)) -> Vec<u8> {
    build(|w| {
        base(w);
        f(w);
    })
}

fn shape(buf: &[u8], euid: u32, egid: u32) -> Result<Shape, SpecError> {
    accepted(buf).shape(euid, egid)
}

#[test]
fn exec_in_place_is_the_default_shape() {
    assert_eq!(shape(&in_place(|_| {}), 0, 0), Ok(Shape::InPlace));
    let buf = in_place(|w| w.clone_flags(ns::IN_PLACE));
    assert_eq!(shape(&buf, 0, 0), Ok(Shape::InPlace));
    assert_eq!(ns::IN_PLACE & ns::NEWPID, 0);
    // One entry of size 1 onto our own ids (any inside id) is written in place.
    let buf = in_place(|w| {
        w.clone_flags(ns::NEWUSER);
        w.uid_map([(0, 1000, 1)]);
        w.gid_map([(65_534, 100, 1)]);
    });
    assert_eq!(shape(&buf, 1000, 100), Ok(Shape::InPlace));
    // setgroups left allowed without a gid map: still in place.
    let buf = in_place(|w| {
        w.clone_flags(ns::NEWUSER);
        w.uid_map([(0, 7, 1)]);
        w.options(opt::GID_MAPPINGS_ENABLE_SETGROUPS);
    });
    assert_eq!(shape(&buf, 7, 7), Ok(Shape::InPlace));
}

#[test]
fn a_new_pid_namespace_is_supervised() {
    let buf = in_place(|w| w.clone_flags(ns::NEWPID | ns::NEWNS));
    assert_eq!(shape(&buf, 0, 0), Ok(Shape::Supervise));
}

#[test]
fn maps_only_an_outer_process_may_write_are_supervised() {
    let outer_maps: [&[(u32, u32, u32)]; 4] = [
        &[(0, 1000, 1), (1, 100_000, 10)], // more than one entry
        &[(0, 1000, 2)],                   // size != 1
        &[(0, 1001, 1)],                   // not our own id
        &[(0, 0, 1)],                      // not our own id (we are 1000)
    ];
    for uid in [true, false] {
        for map in outer_maps {
            let buf = in_place(|w| {
                w.clone_flags(ns::NEWUSER);
                if uid {
                    w.uid_map(map.iter().copied())
                } else {
                    w.gid_map(map.iter().copied())
                }
            });
            assert_eq!(shape(&buf, 1000, 1000), Ok(Shape::Supervise), "{map:?}");
        }
    }
    // The uid map is checked against euid, the gid map against egid.
    let buf = in_place(|w| {
        w.clone_flags(ns::NEWUSER);
        w.uid_map([(0, 1000, 1)]);
        w.gid_map([(0, 1000, 1)]);
    });
    assert_eq!(shape(&buf, 1000, 100), Ok(Shape::Supervise));
    assert_eq!(shape(&buf, 1000, 1000), Ok(Shape::InPlace));
    // A gid map with setgroups allowed needs an outer writer too.
    let buf = in_place(|w| {
        w.clone_flags(ns::NEWUSER);
        w.gid_map([(0, 7, 1)]);
        w.options(opt::GID_MAPPINGS_ENABLE_SETGROUPS);
    });
    assert_eq!(shape(&buf, 7, 7), Ok(Shape::Supervise));
}

#[test]
fn detach_and_init_are_asked_for() {
    let buf = in_place(|w| w.options(opt::DETACH));
    assert_eq!(shape(&buf, 0, 0), Ok(Shape::Detach));
    let buf = in_place(|w| {
        w.clone_flags(ns::NEWPID);
        w.options(opt::INIT);
    });
    assert_eq!(shape(&buf, 0, 0), Ok(Shape::Init));
    // Ptrace with a new pid namespace works detached: the runtime is the parent.
    let buf = in_place(|w| {
        w.clone_flags(ns::NEWPID);
        w.options(opt::DETACH | opt::PTRACE | opt::STOP_BEFORE_SECCOMP);
    });
    assert_eq!(shape(&buf, 0, 0), Ok(Shape::Detach));
}

#[test]
fn init_needs_a_pid_namespace_and_excludes_detach() {
    let (buf, at) = build_at(base, |w| w.options(opt::INIT));
    refused(&buf, at + 8, Fault::Conflict);
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.clone_flags(ns::NEWPID);
        },
        |w| w.options(opt::INIT | opt::DETACH),
    );
    refused(&buf, at + 8, Fault::Conflict);
}

#[test]
fn a_supervised_clone_cannot_be_traced_by_the_runtime() {
    for traced in [opt::PTRACE, opt::STOP_BEFORE_SECCOMP] {
        for extra in [0, opt::INIT] {
            let (buf, at) = build_at(
                |w| {
                    base(w);
                    w.clone_flags(ns::NEWPID);
                },
                |w| w.options(traced | extra),
            );
            assert_eq!(
                shape(&buf, 0, 0),
                Err(SpecError {
                    offset: (at + 8) as u32,
                    fault: Fault::Conflict
                })
            );
        }
    }
}

#[test]
fn cgroup_by_path_or_fd_not_both() {
    let buf = in_place(|w| w.cgroup_path(b"/sys/fs/cgroup/unified/job"));
    let spec = accepted(&buf);
    assert_eq!(
        spec.cgroup_path.unwrap().to_bytes(),
        b"/sys/fs/cgroup/unified/job"
    );
    let buf = in_place(|w| w.cgroup_fd(7));
    assert_eq!(accepted(&buf).cgroup_fd, Some(7));
    let (buf, at) = build_at(base, |w| w.cgroup_path(b"relative/job"));
    refused(&buf, at + 8, Fault::BadValue);
    let (buf, at) = build_at(base, |w| w.cgroup_fd(1 << 20));
    refused(&buf, at + 8, Fault::FdOutOfRange);
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.cgroup_path(b"/sys/fs/cgroup/x");
        },
        |w| w.cgroup_fd(7),
    );
    refused(&buf, at, Fault::Conflict);
}

// ---------------------------------------------------------------------------------------------
// faults and locations

const ALL_FAULTS: [(u32, Fault, i32); 17] = [
    (1, Fault::Truncated, 22),
    (2, Fault::BadMagic, 22),
    (3, Fault::BadVersion, 22),
    (4, Fault::BadTotalLength, 22),
    (5, Fault::UnknownRecord, 22),
    (6, Fault::DuplicateRecord, 22),
    (7, Fault::BadRecordLength, 22),
    (8, Fault::Unterminated, 22),
    (9, Fault::InteriorNul, 22),
    (10, Fault::TooLong, 7),
    (11, Fault::TooMany, 7),
    (12, Fault::FdOutOfRange, 9),
    (13, Fault::UnknownBits, 22),
    (14, Fault::BadValue, 22),
    (15, Fault::MissingArgs, 22),
    (16, Fault::Conflict, 22),
    (17, Fault::NeedsCloneShape, 95),
];

#[test]
fn faults_numbers_and_errnos() {
    let mut described = std::collections::HashSet::new();
    for (n, fault, errno) in ALL_FAULTS {
        assert_eq!(fault as u32, n);
        assert_eq!(Fault::from_u32(n), Some(fault));
        assert_eq!(fault.errno(), errno, "{fault:?}");
        assert!(described.insert(fault.describe()));
    }
    for n in [0, 18, 100, u32::MAX] {
        assert_eq!(Fault::from_u32(n), None);
    }
    let e = SpecError {
        offset: 42,
        fault: Fault::FdOutOfRange,
    };
    assert_eq!(e.to_string(), "fd out of range at byte 42");
}

const GO_SANDBOX_NAMES: [&str; 32] = [
    "clone",
    "close_write",
    "unshare_user_read",
    "getpid",
    "keep_capability",
    "setgroups",
    "setgid",
    "setuid",
    "dup3",
    "fcntl",
    "setsid",
    "ioctl",
    "mount(root)",
    "mount(tmpfs)",
    "mount(chdir)",
    "mount",
    "mount(mkdir)",
    "pivot_root",
    "umount",
    "unlink",
    "mount(readonly)",
    "chdir",
    "setrlimt", // go-sandbox's spelling; forkexec says "setrlimit"
    "set_no_new_privs",
    "drop_capability",
    "set_cap",
    "ptrace_me",
    "stop",
    "seccomp",
    "sync_write",
    "sync_read",
    "execve",
];

#[test]
fn locations_1_to_32_are_go_sandboxs() {
    for (i, go_name) in GO_SANDBOX_NAMES.iter().enumerate() {
        let n = i as u32 + 1;
        let loc = Location::from_u32(n).unwrap();
        let expected = if *go_name == "setrlimt" {
            "setrlimit"
        } else {
            go_name
        };
        assert_eq!(loc.name(), expected, "location {n}");
        assert_eq!(loc.to_string(), expected);
    }
}

#[test]
fn every_location_round_trips() {
    assert_eq!(Location::ALL.len(), 49);
    let mut names = std::collections::HashSet::new();
    for (i, &loc) in Location::ALL.iter().enumerate() {
        let n = i as u32 + 1;
        assert_eq!(loc as u32, n);
        assert_eq!(Location::from_u32(n), Some(loc));
        assert!(names.insert(loc.name()), "duplicate name {}", loc.name());
    }
    assert_eq!(Location::from_u32(0), None);
    assert_eq!(Location::from_u32(50), None);
    assert_eq!(Location::from_u32(u32::MAX), None);
    let own = [
        (33, "spec_read"),
        (34, "spec"),
        (35, "unshare"),
        (36, "write_setgroups"),
        (37, "write_uid_map"),
        (38, "write_gid_map"),
        (39, "sethostname"),
        (40, "setdomainname"),
        (41, "close_range"),
        (42, "get_cap"),
        (43, "cgroup"),
        (44, "pdeathsig"),
        (45, "supervise"),
        (46, "privileged_install"),
        (47, "set_dumpable"),
        (48, "mount(path)"),
        (49, "mount(source)"),
    ];
    for (n, name) in own {
        assert_eq!(Location::from_u32(n).unwrap().name(), name);
    }
}

// ---------------------------------------------------------------------------------------------
// random mutations never panic

/// xorshift64* — enough randomness for mutation testing, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, buf: &mut Vec<u8>) {
    const INTERESTING: [u32; 12] = [
        0,
        1,
        4,
        7,
        8,
        12,
        20,
        0xff,
        0xffff,
        1 << 20,
        0x7fff_ffff,
        u32::MAX,
    ];
    for _ in 0..1 + rng.below(4) {
        let len = buf.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                buf[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                buf[i] = rng.next() as u8;
            }
            2 if len >= 4 => {
                let i = rng.below(len - 3);
                let v = INTERESTING[rng.below(INTERESTING.len())];
                buf[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
            3 if len >= 2 => {
                let i = rng.below(len - 1);
                let v = rng.below(record::LAST as usize + 3) as u16;
                buf[i..i + 2].copy_from_slice(&v.to_le_bytes());
            }
            4 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                buf.splice(i..i, bytes);
            }
            5 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(32));
                buf.drain(i..i + n);
            }
            6 => {
                let n = rng.below(len + 1);
                buf.truncate(n);
            }
            7 if len > 0 => {
                // Copy a slice elsewhere (duplicates records or parts of them).
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                let piece = buf[i..i + n].to_vec();
                let j = rng.below(len + 1);
                buf.splice(j..j, piece);
            }
            _ => {
                let i = rng.below(len + 1);
                buf.insert(i, 0);
            }
        }
    }
    // Usually keep the header's total length honest, so the record walk is what gets tested.
    if buf.len() >= HEADER_LEN && rng.below(4) != 0 {
        let total = buf.len() as u32;
        set_u32(buf, 8, total);
    }
}

#[test]
fn random_mutations_never_panic() {
    let seeds = [
        build(base),
        build(full),
        build(|w| {
            w.args(s(&["a", "b"]));
            w.exec_fd(3);
            w.clone_flags(ns::NEWUSER | ns::NEWPID | ns::NEWUTS);
            w.uid_map([(0, 0, 1), (1, 1, 2)]);
            w.gid_map([(0, 0, 1)]);
            w.host_name(b"x");
            w.record(0x9000, layout::RECORD_SKIP_IF_UNKNOWN, &[b"advisory"]);
            w.options(opt::GID_MAPPINGS_ENABLE_SETGROUPS | opt::CTTY);
            w.status_fd(4);
        }),
        build(|w| {
            use layout::mount_kind as k;
            use layout::mount_op as f;
            w.args(s(&["/bin/sh"]));
            w.files(&[0, 1, 2]);
            w.clone_flags(ns::NEWNS);
            w.mount_op(
                k::BIND,
                f::READONLY | f::OPTIONAL,
                0,
                0,
                -1,
                b"/usr",
                b"/usr",
                b"",
            );
            w.mount_op(k::BIND, f::DEV, 0, 0, 5, b"", b"/data", b"");
            w.mount(ms::BIND, 0, b"/a", b"/b", b"", b"");
            w.mount_op(k::TMPFS, 0, 0o1777, 1 << 26, -1, b"", b"/tmp", b"");
            w.mount_op(k::SYMLINK, 0, 0, 0, -1, b"usr/bin", b"/bin", b"");
            w.mount_op(k::FILE, 0, 0o644, 0, -1, b"", b"/etc/hostname", b"box\n");
            w.mount_op(k::FILE, 0, 0o600, 0, 7, b"", b"/in", b"");
            w.mount_op(k::MASK, f::OPTIONAL, 0, 0, -1, b"", b"/proc/kcore", b"");
            w.pivot_root(b"/srv");
            w.options(opt::WRITABLE_ROOT);
        }),
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut ok, mut refused_count) = (0usize, 0usize);
    for round in 0..300_000 {
        let mut buf = seeds[round % seeds.len()].clone();
        mutate(&mut rng, &mut buf);
        match decode(&buf) {
            Ok(spec) => {
                ok += 1;
                // Everything the decoder exposes can be read, and re-encodes to a spec that
                // decodes to the same fields.
                let owned = Owned::of(&spec);
                let again = owned.encode();
                let respec = decode(&again).unwrap_or_else(|e| {
                    panic!("re-encoded spec refused ({e}); original {buf:02x?}")
                });
                assert_eq!(Owned::of(&respec), owned);
                for (euid, egid) in [(0, 0), (1000, 1000)] {
                    let _ = spec.shape(euid, egid);
                }
            }
            Err(e) => {
                refused_count += 1;
                assert!(e.offset as usize <= buf.len(), "{e:?} past the end");
                assert_eq!(Fault::from_u32(e.fault as u32), Some(e.fault));
            }
        }
    }
    // The mutations reach both outcomes, so the test exercises the decoder's depth.
    assert!(ok > 1000, "only {ok} mutated specs accepted");
    assert!(refused_count > 1000, "only {refused_count} refused");
}

/// A random byte string without NUL, `min..=max` bytes long.
fn random_string(rng: &mut Rng, min: usize, max: usize) -> Vec<u8> {
    let n = min + rng.below(max - min + 1);
    (0..n).map(|_| 1 + rng.below(255) as u8).collect()
}

/// A valid mount operation of a random kind, with random values in every field the kind takes;
/// its fd (if any) is not one that `files` replaces.
fn random_mount_op(rng: &mut Rng, files: &[i32]) -> OwnedMountOp {
    use layout::mount_kind as k;
    use layout::mount_op as f;
    let kind = 1 + rng.below(k::LAST as usize) as u16;
    let mut target = random_string(rng, 0, 30);
    target.insert(0, b'/');
    let mut op = OwnedMountOp {
        kind,
        target,
        ..OwnedMountOp::default()
    };
    let allowed = match kind {
        k::BIND => f::OPTIONAL | f::READONLY | f::DEV,
        k::TMPFS => f::READONLY,
        k::MASK => f::OPTIONAL,
        _ => 0,
    };
    op.flags = rng.next() as u16 & allowed;
    if matches!(kind, k::TMPFS | k::DIR | k::FILE) {
        op.mode = rng.below(limit::MODE as usize + 1) as u32;
    }
    if kind == k::TMPFS && rng.below(2) == 0 {
        op.size = rng.next();
    }
    let fd = |rng: &mut Rng| {
        // Mapped to itself by the table, or past it.
        let fd = rng.below(limit::FD as usize - 8) as u32;
        let replaced = (fd as usize) < files.len() && files[fd as usize] != fd as i32;
        Some(if replaced {
            fd + files.len() as u32
        } else {
            fd
        })
    };
    match kind {
        k::BIND if rng.below(2) == 0 => op.fd = fd(rng),
        k::BIND | k::SYMLINK => op.source = random_string(rng, 1, 30),
        k::FILE => match rng.below(3) {
            0 => op.fd = fd(rng),
            // Content is any bytes, NUL included.
            1 => op.content = (0..rng.below(40)).map(|_| rng.next() as u8).collect(),
            _ => {}
        },
        _ => {}
    }
    op
}

fn random_owned(rng: &mut Rng) -> Owned {
    let mut o = Owned::default();
    let coin = |rng: &mut Rng| rng.below(2) == 0;
    o.args = (0..1 + rng.below(4))
        .map(|i| random_string(rng, usize::from(i == 0), 20))
        .collect();
    o.env = (0..rng.below(4))
        .map(|_| random_string(rng, 0, 30))
        .collect();
    match rng.below(3) {
        0 => o.exec_path = Some(random_string(rng, 1, 40)),
        1 => o.exec_fd = Some(rng.below(limit::FD as usize) as u32),
        _ => {}
    }
    for _ in 0..rng.below(limit::RLIMITS + 1) {
        let max = rng.next();
        let cur = if max == 0 { 0 } else { rng.next() % max };
        o.rlimits
            .push((rng.below(limit::RLIMIT_RESOURCES as usize) as u32, cur, max));
    }
    o.files = (0..rng.below(6))
        .map(|_| rng.below(limit::FD as usize + 1) as i32 - 1)
        .collect();
    if coin(rng) {
        o.work_dir = Some(random_string(rng, 1, 40));
    }
    if coin(rng) {
        o.seccomp = Some(
            (0..8 * (1 + rng.below(5)))
                .map(|_| rng.next() as u8)
                .collect(),
        );
    }
    o.clone_flags = rng.next() & ns::KNOWN;
    // Raw mounts and mount operations mixed, in the order they are drawn.
    for _ in 0..rng.below(6) {
        if coin(rng) {
            o.mounts.push(
                OwnedMount {
                    flags: rng.next() & forkexec_spec::layout::mount_flags::KNOWN,
                    options: rng.next() as u32 & mount_opt::KNOWN,
                    source: random_string(rng, 0, 30),
                    target: random_string(rng, 1, 30),
                    fstype: random_string(rng, 0, 10),
                    data: random_string(rng, 0, 30),
                }
                .into(),
            );
        } else {
            let op = random_mount_op(rng, &o.files);
            o.mounts.push(op.into());
        }
    }
    if coin(rng) {
        let mut root = random_string(rng, 0, 30);
        root.insert(0, b'/');
        o.pivot_root = Some(root);
    }
    if coin(rng) {
        o.host_name = Some(random_string(rng, 0, limit::UTS_NAME));
    }
    if coin(rng) {
        o.domain_name = Some(random_string(rng, 0, limit::UTS_NAME));
    }
    let map = |rng: &mut Rng| {
        (0..1 + rng.below(4))
            .map(|_| {
                let size = 1 + rng.below(1 << 16) as u32;
                let start = |rng: &mut Rng| (rng.next() as u32) % (u32::MAX - size);
                (start(rng), start(rng), size)
            })
            .collect::<Vec<_>>()
    };
    if coin(rng) {
        o.uid_map = Some(map(rng));
    }
    if coin(rng) {
        o.gid_map = Some(map(rng));
    }
    if coin(rng) {
        o.credential = Some(OwnedCredential {
            uid: rng.next() as u32,
            gid: rng.next() as u32,
            flags: rng.next() as u32 & cred_flag::KNOWN,
            groups: (0..rng.below(5)).map(|_| rng.next() as u32).collect(),
        });
    }
    o.options = rng.next() & opt::KNOWN;
    if o.options & opt::CTTY != 0 {
        o.options &= !opt::NO_SETSID;
    }
    if o.pivot_root.is_none() {
        o.options &= !opt::WRITABLE_ROOT;
    }
    if rng.below(3) != 0 {
        o.status_fd = Some(rng.below(limit::FD as usize) as u32);
    }
    // The whole-spec rules: namespaces for what needs them.
    if !o.mounts.is_empty() || o.pivot_root.is_some() {
        o.clone_flags |= ns::NEWNS;
    }
    if o.host_name.is_some() || o.domain_name.is_some() {
        o.clone_flags |= ns::NEWUTS;
    }
    if o.uid_map.is_some() || o.gid_map.is_some() {
        o.clone_flags |= ns::NEWUSER;
    }
    if o.options & opt::INIT != 0 {
        o.options &= !opt::DETACH;
        o.clone_flags |= ns::NEWPID;
    }
    o
}

#[test]
fn random_valid_specs_round_trip() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for _ in 0..20_000 {
        let o = random_owned(&mut rng);
        let buf = o.encode();
        let spec = decode(&buf).unwrap_or_else(|e| panic!("refused ({e}): {o:?}"));
        assert_eq!(Owned::of(&spec), o);
    }
}
