//! Refusals of the header, the record framing and payload lengths.

use super::*;

// ---------------------------------------------------------------------------------------------
// helpers

fn set_u16(buf: &mut [u8], at: usize, v: u16) {
    buf[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

/// Every record type that may appear only once.
const SINGLE_TYPES: [u16; 15] = [
    record::ARGS,
    record::ENV,
    record::EXEC_PATH,
    record::EXEC_FD,
    record::FILES,
    record::WORK_DIR,
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
        w.limit(1, 2, 3);
        w.raw_mount(ms::BIND, mount_opt::MKDIR, b"/a", b"b", b"", b"");
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
        w.limit(3, 10, 20);
        w.clone_flags(ns::NEWNS);
        w.raw_mount(0, 0, b"a", b"1", b"", b"");
        w.limit(3, 5, 6);
        w.raw_mount(0, 0, b"b", b"2", b"", b"");
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
        (record::LANDLOCK, "landlock"),
        (record::LANDLOCK_PATH, "landlock_path"),
        (record::LANDLOCK_PORT, "landlock_port"),
        (record::INFO_FD, "info_fd"),
        (record::JSON_STATUS_FD, "json_status_fd"),
        (record::JOIN_NS, "join_ns"),
        (record::LOCK_FILE, "lock_file"),
        (record::SYNC_FD, "sync_fd"),
        (record::CAPS, "caps"),
        (record::BLOCK_FD, "block_fd"),
        (record::USERNS_BLOCK_FD, "userns_block_fd"),
    ];
    // 1-24 without a gap; later types are handed out in ranges (a gap is an unknown type).
    for (i, (ty, _)) in names[..24].iter().enumerate() {
        assert_eq!(*ty as usize, i + 1);
    }
    assert_eq!(
        (record::INFO_FD, record::JSON_STATUS_FD, record::JOIN_NS),
        (25, 26, 27)
    );
    assert_eq!(
        (record::LOCK_FILE, record::SYNC_FD, record::CAPS),
        (28, 29, 30)
    );
    assert_eq!((record::BLOCK_FD, record::USERNS_BLOCK_FD), (31, 32));
    for (ty, name) in names {
        assert_eq!(record::name(ty), name);
        assert!(record::known(ty));
    }
    assert_eq!(record::ALL.len(), names.len());
    assert_eq!(record::LAST, record::USERNS_BLOCK_FD);
    assert_eq!(record::name(0), "unknown");
    assert!(!record::known(0) && !record::known(record::LAST + 1) && !record::known(u16::MAX));
    assert_eq!(record::name(record::LAST + 1), "unknown");
}

// ---------------------------------------------------------------------------------------------
// payload lengths

#[test]
fn bad_lengths_of_fixed_size_records() {
    let cases: &[(u16, &[usize])] = &[
        (record::EXEC_FD, &[0, 1, 3, 5, 8]),
        (record::STATUS_FD, &[0, 1, 3, 5, 8]),
        (record::INFO_FD, &[0, 1, 3, 5, 8]),
        (record::JSON_STATUS_FD, &[0, 1, 3, 5, 8]),
        (record::SYNC_FD, &[0, 1, 3, 5, 8]),
        (record::BLOCK_FD, &[0, 1, 3, 5, 8]),
        (record::USERNS_BLOCK_FD, &[0, 1, 3, 5, 8]),
        (record::JOIN_NS, &[0, 4, 8, 11, 13, 16]),
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
