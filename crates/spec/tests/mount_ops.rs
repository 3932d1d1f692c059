//! MOUNT_OP records (type 21) and the WRITABLE_ROOT option: every kind with the fields it
//! takes, the shared mount list and its limit, every refusal of a mount operation with its
//! exact fault and byte offset (and which refusal wins when several apply), the whole-spec
//! rules, the writer's byte layout, and `decode::escapes_root`.

mod common;

use common::{build, build_at, ms, s, Owned, OwnedMount, OwnedMountEntry, OwnedMountOp, W};
use forkexec_spec::decode::{decode, escapes_root, Fault, MountEntry, Spec, SpecError};
use forkexec_spec::layout::{
    self, limit, mount_kind as k, mount_op as f, ns, opt, record, RECORD_HEADER_LEN,
    RECORD_SKIP_IF_UNKNOWN,
};

// ---------------------------------------------------------------------------------------------
// helpers

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

/// Offsets inside a MOUNT_OP payload.
const KIND: usize = 0;
const FLAGS: usize = 2;
const MODE: usize = 4;
const SIZE: usize = 8;
const FD: usize = 16;
const SOURCE: usize = 20;

const KINDS: [u16; 10] = [
    k::BIND,
    k::TMPFS,
    k::PROC,
    k::DEV,
    k::MQUEUE,
    k::DIR,
    k::SYMLINK,
    k::FILE,
    k::REMOUNT_RO,
    k::MASK,
];

/// A MOUNT_OP's fields as the writer takes them (fd -1 for none, empty source for none).
#[derive(Clone, Copy, Debug)]
struct Op<'a> {
    kind: u16,
    flags: u16,
    mode: u32,
    size: u64,
    fd: i32,
    source: &'a [u8],
    target: &'a [u8],
    content: &'a [u8],
}

impl<'a> Op<'a> {
    fn new(kind: u16, target: &'a [u8]) -> Self {
        Op {
            kind,
            flags: 0,
            mode: 0,
            size: 0,
            fd: -1,
            source: b"",
            target,
            content: b"",
        }
    }
    /// The smallest valid operation of `kind`: a bind of `/s`, a symlink to `l`, else only
    /// the target `/t`.
    fn valid(kind: u16) -> Self {
        let op = Op::new(kind, b"/t");
        match kind {
            k::BIND => op.source(b"/s"),
            k::SYMLINK => op.source(b"l"),
            _ => op,
        }
    }
    fn flags(self, flags: u16) -> Self {
        Op { flags, ..self }
    }
    fn mode(self, mode: u32) -> Self {
        Op { mode, ..self }
    }
    fn size(self, size: u64) -> Self {
        Op { size, ..self }
    }
    fn fd(self, fd: i32) -> Self {
        Op { fd, ..self }
    }
    fn source(self, source: &'a [u8]) -> Self {
        Op { source, ..self }
    }
    fn target(self, target: &'a [u8]) -> Self {
        Op { target, ..self }
    }
    fn content(self, content: &'a [u8]) -> Self {
        Op { content, ..self }
    }
    fn write(&self, w: &mut W) {
        w.mount_op(
            self.kind,
            self.flags,
            self.mode,
            self.size,
            self.fd,
            self.source,
            self.target,
            self.content,
        );
    }
    /// Offset of the target string in the payload.
    fn target_at(&self) -> usize {
        SOURCE + self.source.len() + 1
    }
    /// Offset of the content in the payload.
    fn content_at(&self) -> usize {
        self.target_at() + self.target.len() + 1
    }
    fn owned(&self) -> OwnedMountOp {
        OwnedMountOp {
            kind: self.kind,
            flags: self.flags,
            mode: self.mode,
            size: self.size,
            fd: (self.fd != -1).then_some(self.fd as u32),
            source: self.source.to_vec(),
            target: self.target.to_vec(),
            content: self.content.to_vec(),
        }
    }
}

/// ARGS ["/bin/true"] (30 bytes with the header), CLONE_FLAGS newns (16).
fn prelude(w: &mut W) {
    w.args(s(&["/bin/true"]));
    w.clone_flags(ns::NEWNS);
}
const PRELUDE_LEN: usize = 46;

/// The prelude and one MOUNT_OP; returns the bytes and the payload's offset.
fn with_op(op: Op) -> (Vec<u8>, usize) {
    let (buf, at) = build_at(prelude, |w| op.write(w));
    assert_eq!(at, PRELUDE_LEN);
    (buf, at + RECORD_HEADER_LEN)
}

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
fn op_refused(op: Op, at: usize, fault: Fault) {
    let (buf, pat) = with_op(op);
    refused(&buf, pat + at, fault);
}

/// Decodes the spec of one op and returns it, checked against the other accessors.
#[track_caller]
fn op_accepted(op: Op) -> OwnedMountOp {
    let (buf, _) = with_op(op);
    let spec = accepted(&buf);
    assert_eq!(spec.mount_count(), 1);
    assert_eq!(spec.mounts().count(), 0, "a mount op is not a raw mount");
    let entries: Vec<_> = spec.mount_entries().collect();
    let [MountEntry::Op(m)] = entries[..] else {
        panic!("not one op: {entries:?}");
    };
    for bit in [f::OPTIONAL, f::READONLY, f::DEV] {
        assert_eq!(m.has(bit), op.flags & bit != 0);
    }
    let o = Owned::of(&spec);
    let [OwnedMountEntry::Op(got)] = &o.mounts[..] else {
        panic!("{:?}", o.mounts)
    };
    // The canonical re-encoding is the same bytes.
    assert_eq!(o.encode(), buf);
    got.clone()
}

// ---------------------------------------------------------------------------------------------
// accepted operations

#[test]
fn every_kind_with_its_fields_is_accepted() {
    let long = [b'p'; limit::PATH - 2];
    let mut long_target = vec![b'/'];
    long_target.extend_from_slice(&long);
    let big_content = vec![0xa5u8; 100_000];
    let ops = [
        Op::new(k::BIND, b"/usr").source(b"/usr"),
        Op::new(k::BIND, b"/usr")
            .source(b"/usr")
            .flags(f::OPTIONAL | f::READONLY | f::DEV),
        Op::new(k::BIND, b"/data").fd(5).flags(f::DEV),
        Op::new(k::BIND, b"/zero").fd(0),
        Op::new(k::BIND, b"/max").fd((limit::FD - 1) as i32),
        Op::new(k::BIND, b"/rel").source(b"relative/source"),
        Op::new(k::TMPFS, b"/tmp")
            .mode(0o1777)
            .size(64 << 20)
            .flags(f::READONLY),
        Op::new(k::TMPFS, b"/t0"),
        Op::new(k::TMPFS, b"/t1").mode(limit::MODE).size(u64::MAX),
        Op::new(k::PROC, b"/proc"),
        Op::new(k::DEV, b"/dev"),
        Op::new(k::MQUEUE, b"/dev/mqueue"),
        Op::new(k::DIR, b"/work").mode(0o700),
        Op::new(k::DIR, b"/d0"),
        Op::new(k::DIR, b"/d1").mode(limit::MODE),
        Op::new(k::SYMLINK, b"/bin").source(b"usr/bin"),
        Op::new(k::SYMLINK, b"/up").source(b"/../../etc"),
        Op::new(k::FILE, b"/etc/hostname")
            .mode(0o644)
            .content(b"box\n"),
        Op::new(k::FILE, b"/bin.dat").content(b"\0a\0\0b\0"),
        Op::new(k::FILE, b"/big").content(&big_content),
        Op::new(k::FILE, b"/input.txt").mode(0o600).fd(7),
        Op::new(k::FILE, b"/empty").mode(0o4755),
        Op::new(k::REMOUNT_RO, b"/data"),
        Op::new(k::MASK, b"/proc/kcore").flags(f::OPTIONAL),
        Op::new(k::MASK, b"/sys"),
        // Targets: the root itself, redundant slashes, dots; `..` above the root is the
        // helper's to refuse (mount(path), EXDEV), not the decoder's.
        Op::new(k::TMPFS, b"/"),
        Op::new(k::DIR, b"//a/./b//"),
        Op::new(k::DIR, b"/a/../../etc"),
        Op::new(k::DIR, &long_target),
        Op::new(k::SYMLINK, b"/l").source(&long),
    ];
    for op in ops {
        assert_eq!(op_accepted(op), op.owned(), "{op:?}");
    }
}

#[test]
fn raw_mounts_and_mount_ops_share_one_list_in_record_order() {
    let raw = |t: &str| OwnedMount {
        flags: ms::BIND,
        source: b"/src".to_vec(),
        target: t.as_bytes().to_vec(),
        ..OwnedMount::default()
    };
    let buf = build(|w| {
        w.args(s(&["/bin/true"]));
        w.mount(ms::BIND, 0, b"/src", b"/r0", b"", b"");
        w.rlimit(7, 1, 1);
        Op::new(k::TMPFS, b"/o1").mode(0o755).write(w);
        Op::new(k::PROC, b"/o2").write(w);
        w.clone_flags(ns::NEWNS);
        w.mount(ms::BIND, 0, b"/src", b"/r3", b"", b"");
        Op::new(k::MASK, b"/o4").write(w);
    });
    let spec = accepted(&buf);
    assert_eq!(spec.mount_count(), 5);
    let targets: Vec<_> = spec
        .mount_entries()
        .map(|e| match e {
            MountEntry::Raw(m) => ("raw", m.target.to_bytes().to_vec()),
            MountEntry::Op(op) => (k::name(op.kind), op.target.to_bytes().to_vec()),
        })
        .collect();
    let want: Vec<_> = [
        ("raw", "/r0"),
        ("tmpfs", "/o1"),
        ("proc", "/o2"),
        ("raw", "/r3"),
        ("mask", "/o4"),
    ]
    .iter()
    .map(|(n, t)| (*n, t.as_bytes().to_vec()))
    .collect();
    assert_eq!(targets, want);
    let raw_targets: Vec<_> = spec
        .mounts()
        .map(|m| m.target.to_bytes().to_vec())
        .collect();
    assert_eq!(raw_targets, [b"/r0".to_vec(), b"/r3".to_vec()]);
    let o = Owned::of(&spec);
    assert_eq!(
        o.mounts,
        vec![
            raw("/r0").into(),
            OwnedMountOp {
                mode: 0o755,
                ..OwnedMountOp::new(k::TMPFS, "/o1")
            }
            .into(),
            OwnedMountOp::new(k::PROC, "/o2").into(),
            raw("/r3").into(),
            OwnedMountOp::new(k::MASK, "/o4").into(),
        ]
    );
    // Re-encoded canonically, the list keeps its order (all of it where MOUNT goes).
    let again = o.encode();
    assert_eq!(Owned::of(&accepted(&again)), o);
}

#[test]
fn mounts_and_mount_ops_share_the_count_limit() {
    let op = Op::new(k::PROC, b"/p");
    // 256 entries, alternating raw and op: the limit is inclusive.
    let entries = |w: &mut W, n: usize| {
        w.args(s(&["/bin/true"]));
        w.clone_flags(ns::NEWNS);
        for i in 0..n {
            if i % 2 == 0 {
                w.mount(0, 0, b"", b"/m", b"", b"");
            } else {
                op.write(w);
            }
        }
    };
    let buf = build(|w| entries(w, limit::MOUNTS));
    let spec = accepted(&buf);
    assert_eq!(spec.mount_count(), limit::MOUNTS);
    assert_eq!(spec.mount_entries().count(), limit::MOUNTS);
    assert_eq!(spec.mounts().count(), limit::MOUNTS / 2);
    // A 257th of either kind is one too many, refused at its record header, before its payload
    // is looked at.
    let (buf, at) = build_at(|w| entries(w, limit::MOUNTS), |w| op.write(w));
    refused(&buf, at, Fault::TooMany);
    let (buf, at) = build_at(
        |w| entries(w, limit::MOUNTS),
        |w| w.mount(0, 0, b"", b"/m", b"", b""),
    );
    refused(&buf, at, Fault::TooMany);
    let (buf, at) = build_at(
        |w| entries(w, limit::MOUNTS),
        |w| w.record(record::MOUNT_OP, 0, &[b"short"]),
    );
    refused(&buf, at, Fault::TooMany);
    // 256 ops alone, then a raw mount.
    let (buf, at) = build_at(
        |w| {
            prelude(w);
            for _ in 0..limit::MOUNTS {
                op.write(w);
            }
        },
        |w| w.mount(0, 0, b"", b"/m", b"", b""),
    );
    refused(&buf, at, Fault::TooMany);
}

#[test]
fn writable_root_with_pivot_root() {
    let buf = build(|w| {
        prelude(w);
        Op::new(k::TMPFS, b"/").write(w);
        w.pivot_root(b"/srv/root");
        w.options(opt::WRITABLE_ROOT);
    });
    let spec = accepted(&buf);
    assert!(spec.has(opt::WRITABLE_ROOT));
    assert_eq!(opt::WRITABLE_ROOT, 1 << 12);
    assert_ne!(opt::KNOWN & opt::WRITABLE_ROOT, 0);
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
fn kinds_outside_1_to_10_are_bad_values() {
    assert_eq!(k::LAST, 10);
    for kind in [0, k::LAST + 1, 0x100, u16::MAX] {
        let (buf, pat) = with_op(Op {
            kind,
            ..Op::valid(k::PROC)
        });
        refused(&buf, pat + KIND, Fault::BadValue);
    }
    for (i, kind) in KINDS.iter().enumerate() {
        assert_eq!(*kind as usize, i + 1);
        op_accepted(Op::valid(*kind));
    }
}

#[test]
fn unknown_flag_bits() {
    assert_eq!(f::KNOWN, 0b111);
    for kind in KINDS {
        for bit in 3..16 {
            let op = Op::valid(kind).flags(1 << bit);
            op_refused(op, FLAGS, Fault::UnknownBits);
            // Even next to known ones.
            op_refused(op.flags(f::KNOWN | 1 << bit), FLAGS, Fault::UnknownBits);
        }
    }
}

#[test]
fn a_flag_the_kind_does_not_take() {
    for kind in KINDS {
        let takes = match kind {
            k::BIND => f::OPTIONAL | f::READONLY | f::DEV,
            k::TMPFS => f::READONLY,
            k::MASK => f::OPTIONAL,
            _ => 0,
        };
        for flag in [f::OPTIONAL, f::READONLY, f::DEV] {
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
fn mode_only_on_tmpfs_dir_and_file_and_at_most_7777() {
    assert_eq!(limit::MODE, 0o7777);
    for kind in KINDS {
        let takes = matches!(kind, k::TMPFS | k::DIR | k::FILE);
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
fn size_only_on_tmpfs() {
    for kind in KINDS {
        for size in [1, 64 << 20, u64::MAX] {
            let op = Op::valid(kind).size(size);
            if kind == k::TMPFS {
                assert_eq!(op_accepted(op).size, size);
            } else {
                op_refused(op, SIZE, Fault::BadValue);
            }
        }
    }
}

#[test]
fn fd_out_of_range() {
    for kind in KINDS {
        for fd in [-2, i32::MIN, limit::FD as i32, i32::MAX] {
            op_refused(Op::valid(kind).fd(fd), FD, Fault::FdOutOfRange);
        }
    }
    let op = Op::new(k::BIND, b"/t").fd(limit::FD as i32 - 1);
    assert_eq!(op_accepted(op).fd, Some(limit::FD - 1));
}

#[test]
fn fd_only_on_bind_and_file() {
    for kind in KINDS {
        let op = Op::new(kind, b"/t").fd(3);
        match kind {
            k::BIND | k::FILE => assert_eq!(op_accepted(op).fd, Some(3)),
            // (A symlink's missing text comes later: the fd is refused first.)
            _ => op_refused(op, FD, Fault::BadValue),
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
    for kind in KINDS {
        if matches!(kind, k::BIND | k::SYMLINK) {
            continue;
        }
        op_refused(Op::new(kind, b"/t").source(b"/s"), SOURCE, Fault::BadValue);
        op_refused(Op::new(kind, b"/t").source(b"x"), SOURCE, Fault::BadValue);
    }
}

#[test]
fn content_only_on_a_file_without_fd() {
    for kind in KINDS {
        let op = Op::valid(kind).content(b"c");
        match kind {
            k::FILE => assert_eq!(op_accepted(op).content, b"c"),
            _ => op_refused(op, op.content_at(), Fault::BadValue),
        }
        // A single NUL is content too.
        let op = Op::valid(kind).content(b"\0");
        if kind != k::FILE {
            op_refused(op, op.content_at(), Fault::BadValue);
        }
    }
    let op = Op::new(k::FILE, b"/t").fd(3).content(b"text");
    op_refused(op, op.content_at(), Fault::Conflict);
    let op = op.content(b"\0");
    op_refused(op, op.content_at(), Fault::Conflict);
}

#[test]
fn target_must_be_absolute() {
    for kind in KINDS {
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
    assert_eq!(accepted(&buf).mount_count(), 1);
}

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
            w.mount(0, 0, b"", b"/m", b"", b"");
        },
    );
    refused(&buf, at, Fault::Conflict);
    let (buf, at) = build_at(
        |w| w.args(s(&["/bin/true"])),
        |w| {
            w.mount(0, 0, b"", b"/m", b"", b"");
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
    let buf = build(|w| w.mount_op(k::FILE, 0, 0o644, 0, -1, b"", b"/etc/hostname", b"box\n"));
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
        w.mount_op(
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
    let tmpfs = build(|w| w.mount_op(k::TMPFS, 0, 0o1777, 1 << 26, -1, b"", b"/tmp", b""));
    assert_eq!(&tmpfs[12 + 8 + 4..12 + 8 + 8], &0o1777u32.to_le_bytes());
    assert_eq!(&tmpfs[12 + 8 + 8..12 + 8 + 16], &(1u64 << 26).to_le_bytes());
}

#[test]
fn names_and_constants() {
    assert_eq!(record::MOUNT_OP, 21);
    assert_eq!(record::LAST, record::MOUNT_OP);
    assert_eq!(record::name(record::MOUNT_OP), "mount_op");
    assert!(record::repeatable(record::MOUNT_OP));
    assert_eq!(layout::MOUNT_OP_FIXED_LEN, 20);
    let names = [
        "bind",
        "tmpfs",
        "proc",
        "dev",
        "mqueue",
        "dir",
        "symlink",
        "file",
        "remount_ro",
        "mask",
    ];
    for (kind, name) in KINDS.iter().zip(names) {
        assert_eq!(k::name(*kind), name);
    }
    assert_eq!(k::name(0), "unknown");
    assert_eq!(k::name(11), "unknown");
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
