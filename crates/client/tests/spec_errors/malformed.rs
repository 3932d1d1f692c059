//! Malformed bytes and payloads, refused by the helper with the exact fault.

use super::*;

// ---------------------------------------------------------------------------------------------
// Malformed bytes: header and framing
// ---------------------------------------------------------------------------------------------

#[test]
fn header_faults() {
    let m = Marker::new();
    let valid = spec_bytes(|w| m.args(w));
    let patched = |at: usize, bytes: &[u8]| {
        let mut b = valid.clone();
        b[at..at + bytes.len()].copy_from_slice(bytes);
        b
    };
    // Nothing at all, then the header cut short (the helper sees EOF after 7 bytes).
    assert_refused(&[], Fault::Truncated, 0, &m);
    assert_refused(&valid[..7], Fault::Truncated, 7, &m);
    // The magic is checked byte by byte, even in a short header.
    assert_refused(&patched(3, b"Q"), Fault::BadMagic, 3, &m);
    assert_refused(&patched(0, b"f"), Fault::BadMagic, 0, &m);
    assert_refused(b"FXS", Fault::Truncated, 3, &m);
    assert_refused(b"FXQ", Fault::BadMagic, 2, &m);
    assert_refused(&patched(4, &2u16.to_le_bytes()), Fault::BadVersion, 4, &m);
    assert_refused(&patched(6, &1u16.to_le_bytes()), Fault::UnknownBits, 6, &m);
    assert_refused(
        &patched(8, &11u32.to_le_bytes()),
        Fault::BadTotalLength,
        8,
        &m,
    );
    let over = (layout::limit::SPEC_LEN + 1) as u32;
    assert_refused(
        &patched(8, &over.to_le_bytes()),
        Fault::BadTotalLength,
        8,
        &m,
    );
}

#[test]
fn truncated_inside_a_record() {
    let m = Marker::new();
    let valid = spec_bytes(|w| m.args(w));
    let len = valid.len();
    // The header promises `len` bytes; the socket reaches EOF 5 bytes earlier.
    assert_refused(&valid[..len - 5], Fault::Truncated, (len - 5) as u32, &m);
    // Only 4 bytes of a second record header fit in the total length.
    let mut short_header = valid.clone();
    short_header.extend_from_slice(&[2, 0, 0, 0]);
    let total = short_header.len() as u32;
    short_header[8..12].copy_from_slice(&total.to_le_bytes());
    assert_refused(&short_header, Fault::Truncated, total, &m);
    // A total length one short of what is sent: the helper reads exactly `total` bytes, so
    // the ARGS payload is cut at its last byte (the extra byte stays unread in the socket).
    let mut one_short = valid.clone();
    one_short[8..12].copy_from_slice(&((len - 1) as u32).to_le_bytes());
    assert_refused_seeing(
        &one_short,
        &one_short[..len - 1],
        Fault::Truncated,
        (len - 1) as u32,
        &m,
    );
}

#[test]
fn unknown_record_types_and_flags() {
    let m = Marker::new();
    let unknown = record::LAST + 1;
    let b = spec_bytes(|w| {
        w.record(unknown, 0, &[b"x"]);
        m.args(w);
    });
    assert_refused(&b, Fault::UnknownRecord, R0, &m);
    let b = spec_bytes(|w| {
        w.record(0, 0, &[]);
        m.args(w);
    });
    assert_refused(&b, Fault::UnknownRecord, R0, &m);
    // Record flag bit 1 is undefined, even on a known record.
    let argv = m.argv();
    let payload: Vec<u8> = argv
        .iter()
        .flat_map(|s| [s.as_bytes(), b"\0"].concat())
        .collect();
    let b = spec_bytes(|w| w.record(record::ARGS, 2, &[&payload]));
    assert_refused(&b, Fault::UnknownBits, R0 + 2, &m);
}

/// The contrast: the same unknown record with SKIP_IF_UNKNOWN is skipped and the spec runs.
#[test]
fn unknown_record_with_skip_if_unknown_is_skipped() {
    let m = Marker::new();
    let b = spec_bytes(|w| {
        w.record(
            record::LAST + 1,
            layout::RECORD_SKIP_IF_UNKNOWN,
            &[b"advice"],
        );
        m.args(w);
    });
    assert!(forkexec_spec::decode(&b).is_ok());
    let r = raw(&b);
    assert_eq!(r.records, []);
    assert_eq!(r.status.code(), Some(0), "{}", r.stderr);
    assert!(m.ran());
}

#[test]
fn duplicate_records() {
    let m = Marker::new();
    // ENV "A=1": 8 + 4 bytes, so the second ENV starts at 24.
    let b = spec_bytes(|w| {
        w.env([b"A=1".as_slice()]);
        w.env([b"B=2".as_slice()]);
        m.args(w);
    });
    assert_refused(&b, Fault::DuplicateRecord, R0 + 12, &m);
    // A duplicate's payload is not looked at: the second ARGS is refused as a duplicate.
    let b = spec_bytes(|w| {
        m.args(w);
        w.record(record::ARGS, 0, &[b"unterminated"]);
    });
    assert_refused(&b, Fault::DuplicateRecord, R0 + m.args_len(), &m);
}

#[test]
fn bad_record_lengths() {
    let m = Marker::new();
    for (ty, payload) in [
        (record::OPTIONS, &[0u8; 4][..]),
        (record::STATUS_FD, &[0u8; 2][..]),
        (record::CLONE_FLAGS, &[0u8; 9][..]),
        (record::RLIMIT, &[0u8; 19][..]),
        (record::MOUNT, &[0u8; 11][..]),
        (record::UID_MAP, &[0u8; 13][..]),
        (record::UID_MAP, &[][..]),
    ] {
        let b = spec_bytes(|w| {
            w.record(ty, 0, &[payload]);
            m.args(w);
        });
        // The offset of the length field.
        assert_refused(&b, Fault::BadRecordLength, R0 + 4, &m);
    }
    // A MOUNT with a byte after its data string: the first left-over byte.
    let b = spec_bytes(|w| {
        w.record(
            record::MOUNT,
            0,
            &[
                &0u64.to_le_bytes(),
                &0u32.to_le_bytes(),
                b"s\0t\0f\0d\0",
                b"!",
            ],
        );
        m.args(w);
    });
    assert_refused(&b, Fault::BadRecordLength, P0 + 12 + 8, &m);
}

// ---------------------------------------------------------------------------------------------
// Malformed payloads
// ---------------------------------------------------------------------------------------------

#[test]
fn string_faults() {
    let m = Marker::new();
    let first = |ty: u16, payload: &[u8]| {
        spec_bytes(|w| {
            w.record(ty, 0, &[payload]);
            m.args(w);
        })
    };
    // No NUL: one past the payload.
    assert_refused(
        &first(record::EXEC_PATH, b"abc"),
        Fault::Unterminated,
        P0 + 3,
        &m,
    );
    assert_refused(
        &first(record::ENV, b"A=1\0B"),
        Fault::Unterminated,
        P0 + 5,
        &m,
    );
    assert_refused(&first(record::WORK_DIR, b""), Fault::Unterminated, P0, &m);
    // A NUL inside a single string: the first NUL.
    assert_refused(
        &first(record::EXEC_PATH, b"a\0b\0"),
        Fault::InteriorNul,
        P0 + 1,
        &m,
    );
    // 65 bytes of host name (64 is the limit): E2BIG, at the string's first byte.
    let long = [vec![b'h'; 65], vec![0]].concat();
    assert_refused(&first(record::HOST_NAME, &long), Fault::TooLong, P0, &m);
    // Relative pivot_root, empty exec path: bad values.
    assert_refused(
        &first(record::PIVOT_ROOT, b"rel\0"),
        Fault::BadValue,
        P0,
        &m,
    );
    assert_refused(&first(record::EXEC_PATH, b"\0"), Fault::BadValue, P0, &m);
}

#[test]
fn fds_out_of_range() {
    let m = Marker::new();
    let too_big = 1u32 << 20;
    let b = spec_bytes(|w| {
        w.status_fd(too_big);
        m.args(w);
    });
    assert_refused(&b, Fault::FdOutOfRange, P0, &m);
    let b = spec_bytes(|w| {
        w.exec_fd(too_big);
        m.args(w);
    });
    assert_refused(&b, Fault::FdOutOfRange, P0, &m);
    // FILES entry 2 of [0, 1, 2^20]: P + 4·2. -2 is out of range too (only -1 means closed).
    let b = spec_bytes(|w| {
        w.files(&[0, 1, too_big as i32]);
        m.args(w);
    });
    assert_refused(&b, Fault::FdOutOfRange, P0 + 8, &m);
    let b = spec_bytes(|w| {
        w.files(&[-1, -2]);
        m.args(w);
    });
    assert_refused(&b, Fault::FdOutOfRange, P0 + 4, &m);
}

#[test]
fn unknown_bits_in_payloads() {
    let m = Marker::new();
    let b = spec_bytes(|w| {
        w.options(unknown_bit(opt::KNOWN));
        m.args(w);
    });
    assert_refused(&b, Fault::UnknownBits, P0, &m);
    let b = spec_bytes(|w| {
        w.clone_flags(unknown_bit(ns::KNOWN));
        m.args(w);
    });
    assert_refused(&b, Fault::UnknownBits, P0, &m);
    // Mount flags: the kernel would silently ignore some unknown bits; the helper refuses.
    let flag = unknown_bit(mount_flags::KNOWN);
    let b = spec_bytes(|w| {
        w.raw_mount(flag, mount_opt::MKDIR, b"", b"/x", b"tmpfs", b"");
        m.args(w);
    });
    assert_refused(&b, Fault::UnknownBits, P0, &m);
    let b = spec_bytes(|w| {
        w.raw_mount(
            0,
            unknown_bit(mount_opt::KNOWN as u64) as u32,
            b"",
            b"/x",
            b"tmpfs",
            b"",
        );
        m.args(w);
    });
    assert_refused(&b, Fault::UnknownBits, P0 + 8, &m);
    let b = spec_bytes(|w| {
        w.credential(1, 1, unknown_bit(cred_flag::KNOWN as u64) as u32, &[]);
        m.args(w);
    });
    assert_refused(&b, Fault::UnknownBits, P0 + 8, &m);
}

#[test]
fn rlimit_and_id_map_values() {
    let m = Marker::new();
    let b = spec_bytes(|w| {
        w.limit(16, 1, 1);
        m.args(w);
    });
    assert_refused(&b, Fault::BadValue, P0, &m);
    // soft over hard: the soft value's offset.
    let b = spec_bytes(|w| {
        w.limit(libc::RLIMIT_NOFILE, 10, 5);
        m.args(w);
    });
    assert_refused(&b, Fault::BadValue, P0 + 4, &m);
    // The second entry has size 0: P + 12·1 + 8.
    let b = spec_bytes(|w| {
        w.uid_map([(0, euid(), 1), (1, 100_000, 0)]);
        m.args(w);
    });
    assert_refused(&b, Fault::BadValue, P0 + 20, &m);
}
