//! Whole-spec rules for mount operations, the writer and the names, escapes_root.

use super::*;

// ---------------------------------------------------------------------------------------------
// whole-spec rules

#[test]
fn mount_ops_need_newns() {
    let op = Op::new(k::PROC, b"/proc");
    // No clone flags: refused at the first mount entry's record.
    let (buf, at) = build_at(|w| w.args(s(&["/bin/true"])), |w| op.write(w));
    refused(&buf, at, Fault::Conflict);
    // Other namespaces are not enough.
    let (buf, at) = build_at(
        |w| {
            w.args(s(&["/bin/true"]));
            w.clone_flags(ns::KNOWN & !ns::NEWNS);
        },
        |w| {
            op.write(w);
            op.write(w);
        },
    );
    refused(&buf, at, Fault::Conflict);
    // The first entry names it, raw or op.
    let (buf, at) = build_at(
        |w| w.args(s(&["/bin/true"])),
        |w| {
            op.write(w);
            w.raw_mount(0, 0, b"", b"/m", b"", b"");
        },
    );
    refused(&buf, at, Fault::Conflict);
    let (buf, at) = build_at(
        |w| w.args(s(&["/bin/true"])),
        |w| {
            w.raw_mount(0, 0, b"", b"/m", b"", b"");
            op.write(w);
        },
    );
    refused(&buf, at, Fault::Conflict);
    // The clone flags may come after the ops.
    let buf = build(|w| {
        w.args(s(&["/bin/true"]));
        op.write(w);
        w.clone_flags(ns::NEWNS);
    });
    accepted(&buf);
}

#[test]
fn writable_root_needs_pivot_root() {
    let (buf, at) = build_at(prelude, |w| w.options(opt::WRITABLE_ROOT));
    refused(&buf, at + RECORD_HEADER_LEN, Fault::Conflict);
    let (buf, at) = build_at(
        |w| {
            prelude(w);
            Op::new(k::TMPFS, b"/").write(w);
        },
        |w| w.options(opt::WRITABLE_ROOT | opt::SYNC),
    );
    refused(&buf, at + RECORD_HEADER_LEN, Fault::Conflict);
    // Without a mount namespace (and so without pivot_root) too.
    let (buf, at) = build_at(
        |w| w.args(s(&["/bin/true"])),
        |w| w.options(opt::WRITABLE_ROOT),
    );
    refused(&buf, at + RECORD_HEADER_LEN, Fault::Conflict);
    // pivot_root given after the options is fine.
    let buf = build(|w| {
        prelude(w);
        w.options(opt::WRITABLE_ROOT);
        w.pivot_root(b"/srv");
    });
    assert!(accepted(&buf).has(opt::WRITABLE_ROOT));
}

/// The payload offsets of the MOUNT_OP records in `buf`.
fn op_offsets(buf: &[u8]) -> Vec<usize> {
    let mut at = layout::HEADER_LEN;
    let mut found = Vec::new();
    while at < buf.len() {
        let ty = u16::from_le_bytes([buf[at], buf[at + 1]]);
        let len = u32::from_le_bytes(buf[at + 4..at + 8].try_into().unwrap()) as usize;
        if ty == record::MOUNT_OP {
            found.push(at + RECORD_HEADER_LEN);
        }
        at += RECORD_HEADER_LEN + len;
    }
    found
}

/// The prelude, FILES `files` (when not empty), then the ops; returns the bytes and each op's
/// payload offset.
fn with_files(files: &[i32], ops: &[Op]) -> (Vec<u8>, Vec<usize>) {
    let buf = build(|w| {
        prelude(w);
        if !files.is_empty() {
            w.files(files);
        }
        for op in ops {
            op.write(w);
        }
    });
    let at = op_offsets(&buf);
    (buf, at)
}

#[test]
fn a_mount_op_fd_the_fd_table_replaces_is_a_conflict() {
    let bind = |fd| Op::new(k::BIND, b"/b").fd(fd);
    let file = |fd| Op::new(k::FILE, b"/f").fd(fd);
    // Mapped to itself, or past the table: fine.
    for (files, fd) in [
        (&[0, 1, 2][..], 0),
        (&[0, 1, 2], 2),
        (&[0, 1, 2], 3),
        (&[0, 1, 2], 1000),
        (&[], 0),
        (&[-1, 1], 1),
        (&[5, 1, 2], 3),
    ] {
        for op in [bind(fd), file(fd)] {
            let (buf, _) = with_files(files, &[op]);
            accepted(&buf);
        }
    }
    // Replaced by another fd, or closed: refused at the op's fd.
    for (files, fd) in [
        (&[2, 1, 0][..], 0),
        (&[0, 1, 0], 2),
        (&[0, -1], 1),
        (&[-1], 0),
        (&[0, 1, 2, 4, 3], 4),
    ] {
        for op in [bind(fd), file(fd)] {
            let (buf, at) = with_files(files, &[op]);
            refused(&buf, at[0] + FD, Fault::Conflict);
        }
    }
    // The first such op in record order; ops without an fd are never in the way.
    let ops = [
        Op::new(k::BIND, b"/b").source(b"/s"),
        bind(1),
        file(0),
        bind(2),
    ];
    let (buf, at) = with_files(&[1, 1, 0], &ops);
    refused(&buf, at[2] + FD, Fault::Conflict);
    // The FILES record may come after the ops: the rule is on the whole spec.
    let (buf, at) = build_at(prelude, |w| {
        bind(0).write(w);
        w.files(&[1]);
    });
    refused(&buf, at + RECORD_HEADER_LEN + FD, Fault::Conflict);
}

#[test]
fn precedence_of_the_whole_spec_rules() {
    // A record fault anywhere comes before every whole-spec rule.
    let (buf, at) = build_at(
        |w| {
            w.args(s(&["/bin/true"]));
            w.files(&[1]);
            Op::new(k::BIND, b"/b").fd(0).write(w);
            w.options(opt::WRITABLE_ROOT);
        },
        |w| w.record(record::MOUNT_OP, 0, &[b""]),
    );
    refused(&buf, at + 4, Fault::BadRecordLength);
    // Mounts without newns, before writable_root without pivot_root, before the fd rule.
    let (buf, at) = build_at(
        |w| {
            w.args(s(&["/bin/true"]));
            w.files(&[1]);
        },
        |w| {
            Op::new(k::BIND, b"/b").fd(0).write(w);
            w.options(opt::WRITABLE_ROOT);
        },
    );
    refused(&buf, at, Fault::Conflict);
    let (buf, at) = build_at(
        |w| {
            prelude(w);
            w.files(&[1]);
            Op::new(k::BIND, b"/b").fd(0).write(w);
        },
        |w| w.options(opt::WRITABLE_ROOT),
    );
    refused(&buf, at + RECORD_HEADER_LEN, Fault::Conflict);
    // The older rules keep their place: exec_path with exec_fd comes first.
    let (buf, at) = build_at(
        |w| {
            prelude(w);
            w.files(&[1]);
            Op::new(k::BIND, b"/b").fd(0).write(w);
            w.options(opt::WRITABLE_ROOT);
        },
        |w| {
            w.exec_path(b"/x");
            w.exec_fd(3);
        },
    );
    refused(&buf, at, Fault::Conflict);
}

// ---------------------------------------------------------------------------------------------
// the writer and the names

#[test]
fn writer_layout_of_a_mount_op() {
    let buf = build(|w| w.op(k::FILE, 0, 0o644, 0, -1, b"", b"/etc/hostname", b"box\n"));
    let hex: String = buf[12..].iter().map(|b| format!("{b:02x}")).collect();
    let want = concat!(
        "1500",
        "0000",
        "27000000", // type 21, flags 0, 39 payload bytes
        "0800",
        "0000",
        "a4010000",
        "0000000000000000",
        "ffffffff",                     // file, 0, 0o644, 0, -1
        "00",                           // source ""
        "2f6574632f686f73746e616d6500", // "/etc/hostname"
        "626f780a",                     // content "box\n", no NUL
    );
    assert_eq!(hex, want);
    let buf = build(|w| {
        w.op(
            k::BIND,
            f::READONLY | f::DEV,
            0,
            0,
            0x0102_0304,
            b"",
            b"/d",
            b"",
        )
    });
    let hex: String = buf[12..].iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        "15000000180000000100060000000000000000000000000004030201002f6400"
    );
    let tmpfs = build(|w| w.op(k::TMPFS, 0, 0o1777, 1 << 26, -1, b"", b"/tmp", b""));
    assert_eq!(&tmpfs[12 + 8 + 4..12 + 8 + 8], &0o1777u32.to_le_bytes());
    assert_eq!(&tmpfs[12 + 8 + 8..12 + 8 + 16], &(1u64 << 26).to_le_bytes());
}

#[test]
fn names_and_constants() {
    assert_eq!(record::MOUNT_OP, 21);
    assert_eq!(record::name(record::MOUNT_OP), "mount_op");
    assert!(record::repeatable(record::MOUNT_OP));
    assert_eq!(layout::MOUNT_OP_FIXED_LEN, 20);
    for kind in KINDS {
        assert_eq!(k::name(kind.n), kind.name);
    }
    assert_eq!(k::name(0), "unknown");
    assert_eq!(k::name(KINDS.len() as u16 + 1), "unknown");
    assert_eq!((f::OPTIONAL, f::READONLY, f::DEV), (1, 2, 4));
}

// ---------------------------------------------------------------------------------------------
// escapes_root

#[test]
fn escapes_root_reads_dot_dot_lexically() {
    let escapes: &[&[u8]] = &[
        b"..",
        b"/..",
        b"/../",
        b"/..//",
        b"//..",
        b"/./..",
        b"./..",
        b"/a/../..",
        b"/a/../../",
        b"/a/../../b",
        b"/a/b/../../..",
        b"/a/./../..",
        b"a/../..",
        b"../a",
        b"/../a/b",
        b"/a/b/c/../../../../d",
    ];
    for p in escapes {
        assert!(escapes_root(p), "{:?} escapes", String::from_utf8_lossy(p));
    }
    let inside: &[&[u8]] = &[
        b"",
        b"/",
        b"//",
        b".",
        b"/.",
        b"/./",
        b"a",
        b"a/..",
        b"/a/..",
        b"/a/../",
        b"/a/..//",
        b"/a/../b",
        b"/a/b/../..",
        b"/a/./../b/..",
        b"/a/",
        b"/a//b///",
        b"...",
        b"/.../..",
        b"/..a",
        b"/a..",
        b"/a/..b/..",
        b"/a/.. /..",
    ];
    for p in inside {
        assert!(
            !escapes_root(p),
            "{:?} stays inside",
            String::from_utf8_lossy(p)
        );
    }
}

/// MountOp::parents_mode: 0755 without PARENTS_FROM_MODE whatever the mode; with it,
/// bubblewrap's rule (its test suite's table: 1777, 0755, 0644 -> 0755; 0750, 0710, 0720,
/// 0640 -> 0750; 0700, 0600, 0000 -> 0700; 0705, 0604 -> 0705), and a kind without a mode
/// (mode 0) -> 0700.
#[test]
fn parents_mode_is_0755_or_bubblewraps() {
    use forkexec_spec::decode::MountOp;
    let table = [
        (0o1777, 0o755),
        (0o755, 0o755),
        (0o644, 0o755),
        (0o750, 0o750),
        (0o710, 0o750),
        (0o720, 0o750),
        (0o640, 0o750),
        (0o700, 0o700),
        (0o600, 0o700),
        (0o705, 0o705),
        (0o604, 0o705),
        (0o000, 0o700),
        (0o001, 0o705),
        (0o010, 0o750),
    ];
    for (mode, want) in table {
        let op = MountOp {
            kind: k::DIR,
            mode,
            ..MountOp::default()
        };
        assert_eq!(op.parents_mode(false), 0o755, "{mode:o} without the option");
        assert_eq!(op.parents_mode(true), want, "{mode:o}");
    }
    let bind = MountOp {
        kind: k::BIND,
        ..MountOp::default()
    };
    assert_eq!(bind.parents_mode(true), 0o700);
    assert_eq!(opt::PARENTS_FROM_MODE, 1 << 14);
}
