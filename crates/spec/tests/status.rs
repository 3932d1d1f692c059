//! Status records (crates/spec/src/status.rs; docs/spec.md, "Status records"): each kind's 32
//! bytes written out here, decoded to the record and encoded back; kinds outside 1-5 are not
//! records.

use forkexec_spec::status::{Record, RECORD_LEN};

/// 32 bytes from little-endian u32 words (the rest zero).
fn words(w: &[u32]) -> [u8; RECORD_LEN] {
    let mut b = [0u8; RECORD_LEN];
    for (i, v) in w.iter().enumerate() {
        b[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
    }
    b
}

#[test]
fn every_kind_from_its_bytes_and_back() {
    let exit = {
        // kind 4, status 9, utime 0x0102030405060708, stime 5, maxrss 2^40.
        let mut b = words(&[4, 9]);
        b[8..16].copy_from_slice(&[8, 7, 6, 5, 4, 3, 2, 1]);
        b[16] = 5;
        b[29] = 1;
        b
    };
    let cases = [
        (
            words(&[1, 16, 1, 3, 0]),
            Record::Error {
                location: 16,
                errno: 1,
                index: 3,
                detail: 0,
            },
        ),
        (
            words(&[1, 34, 22, 45, 12]),
            Record::Error {
                location: 34,
                errno: 22,
                index: 45,
                detail: 12,
            },
        ),
        (words(&[2, 4242]), Record::Sync { pid: 4242 }),
        (words(&[3, 77]), Record::Pid { pid: 77 }),
        (words(&[5, 4711]), Record::Exec { pid: 4711 }),
        (
            exit,
            Record::Exit {
                status: 9,
                utime_us: 0x0102_0304_0506_0708,
                stime_us: 5,
                maxrss_kib: 1 << 40,
            },
        ),
    ];
    for (bytes, record) in cases {
        assert_eq!(Record::decode(&bytes), Some(record), "{bytes:?}");
        assert_eq!(record.encode(), bytes, "{record:?}");
    }
}

#[test]
fn a_negative_errno_and_status_keep_their_bits() {
    let b = words(&[1, 32, u32::MAX, 0, 0]);
    assert_eq!(
        Record::decode(&b),
        Some(Record::Error {
            location: 32,
            errno: -1,
            index: 0,
            detail: 0
        })
    );
    let b = words(&[4, 0x8000_0000]);
    let Some(Record::Exit { status, .. }) = Record::decode(&b) else {
        panic!("not an exit record");
    };
    assert_eq!(status, i32::MIN);
}

#[test]
fn other_kinds_are_not_records() {
    for kind in [0, 6, 7, 0x100, u32::MAX] {
        assert_eq!(
            Record::decode(&words(&[kind, 1, 2, 3])),
            None,
            "kind {kind}"
        );
    }
}
