//! Mount-operation refusals, one rule at a time.

use super::*;

// ---------------------------------------------------------------------------------------------
// helpers

/// Offsets inside a MOUNT_OP payload.
const KIND: usize = 0;

pub(crate) const FLAGS: usize = 2;

pub(crate) const SIZE: usize = 8;

/// The prelude and a MOUNT_OP record with this payload; returns the bytes and the payload's
/// offset.
fn with_payload(p: &[u8]) -> (Vec<u8>, usize) {
    let (buf, at) = build_at(prelude, |w| w.record(record::MOUNT_OP, 0, &[p]));
    (buf, at + RECORD_HEADER_LEN)
}

/// The fixed part of a payload.
fn fixed(kind: u16, flags: u16, mode: u32, size: u64, fd: i32) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&kind.to_le_bytes());
    p.extend_from_slice(&flags.to_le_bytes());
    p.extend_from_slice(&mode.to_le_bytes());
    p.extend_from_slice(&size.to_le_bytes());
    p.extend_from_slice(&fd.to_le_bytes());
    assert_eq!(p.len(), layout::MOUNT_OP_FIXED_LEN);
    p
}

#[track_caller]
pub(crate) fn op_refused(op: Op, at: usize, fault: Fault) {
    let (buf, pat) = with_op(op);
    refused(&buf, pat + at, fault);
}

// ---------------------------------------------------------------------------------------------
// refusals, one rule at a time

#[test]
fn payload_shorter_than_the_fixed_part() {
    let full = fixed(k::PROC, 0, 0, 0, -1);
    for len in 0..layout::MOUNT_OP_FIXED_LEN {
        let (buf, pat) = with_payload(&full[..len]);
        // At the record's length field.
        refused(&buf, pat - 4, Fault::BadRecordLength);
    }
    // The fixed part alone: the source string is missing, so the payload ends unterminated.
    let (buf, pat) = with_payload(&full);
    refused(&buf, pat + 20, Fault::Unterminated);
    let mut p = full.clone();
    p.push(0);
    let (buf, pat) = with_payload(&p);
    refused(&buf, pat + 21, Fault::Unterminated);
    p.extend_from_slice(b"/t\0");
    let (buf, _) = with_payload(&p);
    accepted(&buf);
}

#[test]
fn kinds_outside_the_table_are_bad_values() {
    assert_eq!(k::LAST as usize, KINDS.len());
    for kind in [0, k::LAST + 1, 0x100, u16::MAX] {
        let (buf, pat) = with_op(Op {
            kind,
            ..Op::valid(k::PROC)
        });
        refused(&buf, pat + KIND, Fault::BadValue);
    }
    for (i, kind) in kinds().enumerate() {
        assert_eq!(kind as usize, i + 1);
        op_accepted(Op::valid(kind));
    }
}

#[test]
fn unknown_flag_bits() {
    assert_eq!(f::KNOWN, 0b1111);
    for kind in kinds() {
        for bit in 4..16 {
            let op = Op::valid(kind).flags(1 << bit);
            op_refused(op, FLAGS, Fault::UnknownBits);
            // Even next to known ones.
            op_refused(op.flags(f::KNOWN | 1 << bit), FLAGS, Fault::UnknownBits);
        }
    }
}

#[test]
fn a_flag_the_kind_does_not_take() {
    for kind in kinds() {
        let takes = rule(kind).flags;
        for flag in [f::OPTIONAL, f::READONLY, f::DEV, f::COVER] {
            let op = Op::valid(kind).flags(flag);
            if takes & flag != 0 {
                assert_eq!(op_accepted(op).flags, flag);
            } else {
                op_refused(op, FLAGS, Fault::BadValue);
                // One taken flag does not excuse another.
                op_refused(op.flags(flag | takes), FLAGS, Fault::BadValue);
            }
        }
        if takes != 0 {
            assert_eq!(op_accepted(Op::valid(kind).flags(takes)).flags, takes);
        }
    }
}

#[test]
fn mode_only_on_the_kinds_that_take_one_and_at_most_7777() {
    assert_eq!(limit::MODE, 0o7777);
    for kind in kinds() {
        let takes = takes(kind, T_MODE);
        for mode in [1, 0o755, 0o7777] {
            let op = Op::valid(kind).mode(mode);
            if takes {
                assert_eq!(op_accepted(op).mode, mode);
            } else {
                op_refused(op, MODE, Fault::BadValue);
            }
        }
        for mode in [0o10000, 0o17777, u32::MAX] {
            op_refused(Op::valid(kind).mode(mode), MODE, Fault::BadValue);
        }
    }
}

#[test]
fn size_only_on_the_kinds_that_take_one() {
    for kind in kinds() {
        for size in [1, 64 << 20, u64::MAX] {
            let op = Op::valid(kind).size(size);
            if takes(kind, T_SIZE) {
                assert_eq!(op_accepted(op).size, size);
            } else {
                op_refused(op, SIZE, Fault::BadValue);
            }
        }
    }
}

#[test]
fn fd_out_of_range() {
    for kind in kinds() {
        for fd in [-2, i32::MIN, limit::FD as i32, i32::MAX] {
            op_refused(Op::valid(kind).fd(fd), FD, Fault::FdOutOfRange);
        }
    }
    let op = Op::new(k::BIND, b"/t").fd(limit::FD as i32 - 1);
    assert_eq!(op_accepted(op).fd, Some(limit::FD - 1));
}

#[test]
fn fd_only_on_the_kinds_that_take_one() {
    for kind in kinds() {
        let op = Op::new(kind, b"/t").fd(3);
        if takes(kind, T_FD) {
            assert_eq!(op_accepted(op).fd, Some(3));
        } else {
            // (A symlink's missing text comes later: the fd is refused first.)
            op_refused(op, FD, Fault::BadValue);
        }
    }
}

#[test]
fn a_bind_takes_a_source_path_or_an_fd_exactly() {
    let both = Op::new(k::BIND, b"/t").source(b"/s").fd(3);
    op_refused(both, SOURCE, Fault::Conflict);
    let neither = Op::new(k::BIND, b"/t");
    op_refused(neither, SOURCE, Fault::Conflict);
    op_refused(neither.flags(f::OPTIONAL), SOURCE, Fault::Conflict);
}

#[test]
fn a_symlink_needs_its_text() {
    op_refused(Op::new(k::SYMLINK, b"/t"), SOURCE, Fault::BadValue);
}

#[test]
fn source_on_the_other_kinds() {
    for kind in kinds() {
        if rule(kind).source.is_some() {
            continue;
        }
        op_refused(Op::new(kind, b"/t").source(b"/s"), SOURCE, Fault::BadValue);
        op_refused(Op::new(kind, b"/t").source(b"x"), SOURCE, Fault::BadValue);
    }
}

#[test]
fn content_only_on_the_kinds_that_take_it_without_fd() {
    for kind in kinds() {
        if !layers(kind).is_empty() {
            continue; // an overlay's content is its layers (overlay.rs)
        }
        let op = Op::valid(kind).content(b"c");
        if takes(kind, T_CONTENT) {
            assert_eq!(op_accepted(op).content, b"c");
            // Not with an fd.
            let op = Op::new(kind, b"/t").fd(3).content(b"text");
            op_refused(op, op.content_at(), Fault::Conflict);
            let op = op.content(b"\0");
            op_refused(op, op.content_at(), Fault::Conflict);
        } else {
            op_refused(op, op.content_at(), Fault::BadValue);
            // A single NUL is content too.
            let op = Op::valid(kind).content(b"\0");
            op_refused(op, op.content_at(), Fault::BadValue);
        }
    }
    assert!(takes(k::FILE, T_CONTENT));
}

#[test]
fn target_must_be_absolute() {
    for kind in kinds() {
        for target in [&b"tmp"[..], b"", b"./x", b"../x", b" /x"] {
            let op = Op::valid(kind).target(target);
            op_refused(op, op.target_at(), Fault::BadValue);
        }
    }
}

#[test]
fn unterminated_strings() {
    // The source runs to the end of the payload.
    let mut p = fixed(k::BIND, 0, 0, 0, -1);
    p.extend_from_slice(b"/usr");
    let (buf, pat) = with_payload(&p);
    refused(&buf, pat + p.len(), Fault::Unterminated);
    // The target does.
    p.extend_from_slice(b"\0/usr");
    let (buf, pat) = with_payload(&p);
    refused(&buf, pat + p.len(), Fault::Unterminated);
    // With its NUL it is whole, and nothing is left for content.
    p.push(0);
    let (buf, _) = with_payload(&p);
    accepted(&buf);
}

#[test]
fn over_long_strings() {
    // At most PATH bytes with the NUL, for the source (bind path, symlink text) and the target.
    let max = vec![b'a'; limit::PATH - 1];
    let over = vec![b'a'; limit::PATH];
    let mut max_abs = max.clone();
    max_abs[0] = b'/';
    let mut over_abs = over.clone();
    over_abs[0] = b'/';
    for kind in [k::BIND, k::SYMLINK] {
        op_accepted(Op::new(kind, b"/t").source(&max));
        op_refused(Op::new(kind, b"/t").source(&over), SOURCE, Fault::TooLong);
    }
    op_accepted(Op::new(k::DIR, &max_abs));
    let op = Op::new(k::DIR, &over_abs);
    op_refused(op, op.target_at(), Fault::TooLong);
    let op = Op::new(k::BIND, &over_abs).source(b"/s");
    op_refused(op, op.target_at(), Fault::TooLong);
    // Sources are over-long on kinds that take none too: the length comes first.
    op_refused(
        Op::new(k::PROC, b"/t").source(&over),
        SOURCE,
        Fault::TooLong,
    );
    // An unterminated over-long string is unterminated.
    let mut p = fixed(k::BIND, 0, 0, 0, -1);
    p.extend_from_slice(&over);
    let (buf, pat) = with_payload(&p);
    refused(&buf, pat + p.len(), Fault::Unterminated);
}

#[test]
fn precedence_within_a_mount_op() {
    // Length, kind, unknown flag bits, fd range, the strings (terminated, not too long), then
    // the kind's fields: flags, mode, size, fd, source, content, target.
    let mut p = fixed(0, 0x8000, 0o10000, 1, -2);
    p.truncate(19);
    let (buf, pat) = with_payload(&p);
    refused(&buf, pat - 4, Fault::BadRecordLength);

    let bad = Op::new(0, b"rel")
        .flags(0x8000 | f::READONLY)
        .mode(0o10000)
        .size(1)
        .fd(-2)
        .source(b"/s")
        .content(b"c");
    op_refused(bad, KIND, Fault::BadValue);
    let bad = Op {
        kind: k::PROC,
        ..bad
    };
    op_refused(bad, FLAGS, Fault::UnknownBits);
    let bad = bad.flags(f::READONLY);
    op_refused(bad, FD, Fault::FdOutOfRange);
    // The strings are walked before the kind's fields are checked.
    let mut p = fixed(k::PROC, f::READONLY, 0o10000, 1, 3);
    p.extend_from_slice(b"/s");
    let (buf, pat) = with_payload(&p);
    refused(&buf, pat + p.len(), Fault::Unterminated);
    let long = vec![b'a'; limit::PATH];
    op_refused(bad.fd(3).source(&long), SOURCE, Fault::TooLong);
    let bad = bad.fd(3);
    op_refused(bad, FLAGS, Fault::BadValue);
    let bad = bad.flags(0);
    op_refused(bad, MODE, Fault::BadValue);
    let bad = bad.mode(0);
    op_refused(bad, SIZE, Fault::BadValue);
    let bad = bad.size(0);
    op_refused(bad, FD, Fault::BadValue);
    let bad = bad.fd(-1);
    op_refused(bad, SOURCE, Fault::BadValue);
    let bad = bad.source(b"");
    op_refused(bad, bad.content_at(), Fault::BadValue);
    let bad = bad.content(b"");
    op_refused(bad, bad.target_at(), Fault::BadValue);
    op_accepted(bad.target(b"/t"));

    // A bind: the source/fd conflict comes after the mode, before the content and the target.
    let bind = Op::new(k::BIND, b"rel").mode(1).content(b"c");
    op_refused(bind, MODE, Fault::BadValue);
    let bind = bind.mode(0);
    op_refused(bind, SOURCE, Fault::Conflict);
    let bind = bind.source(b"/s");
    op_refused(bind, bind.content_at(), Fault::BadValue);
    // A file: content and fd conflict before the target.
    let file = Op::new(k::FILE, b"rel").fd(3).content(b"c");
    op_refused(file, file.content_at(), Fault::Conflict);
    // A symlink: the missing text before the target.
    op_refused(Op::new(k::SYMLINK, b"rel"), SOURCE, Fault::BadValue);
}

#[test]
fn skip_if_unknown_does_not_exempt_a_mount_op() {
    // MOUNT_OP is a known type: the flag changes nothing, a bad one is refused all the same.
    let mut p = fixed(0, 0, 0, 0, -1);
    p.extend_from_slice(b"\0/t\0");
    let (buf, at) = build_at(prelude, |w| {
        w.record(record::MOUNT_OP, RECORD_SKIP_IF_UNKNOWN, &[&p])
    });
    refused(&buf, at + RECORD_HEADER_LEN, Fault::BadValue);
    p[0] = k::PROC as u8;
    let (buf, _) = build_at(prelude, |w| {
        w.record(record::MOUNT_OP, RECORD_SKIP_IF_UNKNOWN, &[&p])
    });
    assert_eq!(accepted(&buf).mounts.len(), 1);
}

/// Parse once, fail closed: the decoder hands out the typed entries it validated, so a
/// corrupt entry after a good one refuses the whole spec at that entry; it is never skipped
/// (which would shift every later index) and the good one is not handed out alone.
#[test]
fn a_corrupt_second_entry_is_refused_not_skipped() {
    let good = |w: &mut W| {
        w.args(s(&["/bin/true"]));
        w.clone_flags(ns::NEWNS);
        w.op(k::TMPFS, 0, 0o755, 0, -1, b"", b"/tmp", b"");
    };
    let ok = build(|w| {
        good(w);
        w.op(k::DIR, 0, 0o700, 0, -1, b"", b"/d", b"");
    });
    let spec = accepted(&ok);
    assert_eq!(spec.mounts.len(), 2);
    // The same second entry with a size its kind does not take.
    let (bad, at) = build_at(good, |w| w.op(k::DIR, 0, 0o700, 1, -1, b"", b"/d", b""));
    let e = decode(&bad).unwrap_err();
    assert_eq!(e.fault, Fault::BadValue);
    assert_eq!(
        e.offset as usize,
        at + 8 + 8,
        "the second entry's size field"
    );
}
