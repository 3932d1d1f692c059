//! MOUNT_OP records (type 21) and the WRITABLE_ROOT option: every kind with the fields it
//! takes, the shared mount list and its limit, every refusal of a mount operation with its
//! exact fault and byte offset (and which refusal wins when several apply), the whole-spec
//! rules, the writer's byte layout, and `decode::escapes_root`.

use forkexec_spec::decode::{decode, escapes_root, Fault, MountEntry, Spec, SpecError};
use forkexec_spec::layout::{
    self, limit, mount_kind as k, mount_op as f, ns, opt, record, RECORD_HEADER_LEN,
    RECORD_SKIP_IF_UNKNOWN,
};
use forkexec_testkit::wire::{
    build, build_at, ms, raw_mounts, s, Owned, OwnedMount, OwnedMountEntry, OwnedMountOp, WriteExt,
    W,
};

mod accepted;
mod overlay;
mod refusals;
mod rules;

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

const MODE: usize = 4;

const FD: usize = 16;

const SOURCE: usize = 20;

/// Each kind's rules as docs/spec.md's prose states them, written here by hand on purpose: the
/// decoder reads `tables.rs`, and these tests check it against this second statement. A new
/// kind is one line here (the tests below loop over it).
struct Kind {
    /// Its number; the list is in number order from 1.
    n: u16,
    /// Its JSON `type`.
    name: &'static str,
    /// The MOUNT_OP flags it takes.
    flags: u16,
    /// Which of mode, size, fd and content it takes (`T_*` bits).
    takes: u8,
    /// The source of its smallest valid operation; `None`: it takes none.
    source: Option<&'static [u8]>,
}

const T_MODE: u8 = 1;
const T_SIZE: u8 = 2;
const T_FD: u8 = 4;
const T_CONTENT: u8 = 8;
const O: u16 = f::OPTIONAL;
const R: u16 = f::READONLY;
const D: u16 = f::DEV;
const C: u16 = f::COVER;

#[rustfmt::skip]
const KINDS: &[Kind] = &[
    Kind { n: 1, name: "bind", flags: O | R | D, takes: T_FD, source: Some(b"/s") },
    Kind { n: 2, name: "tmpfs", flags: R, takes: T_MODE | T_SIZE, source: None },
    Kind { n: 3, name: "proc", flags: C, takes: 0, source: None },
    Kind { n: 4, name: "dev", flags: 0, takes: 0, source: None },
    Kind { n: 5, name: "mqueue", flags: 0, takes: 0, source: None },
    Kind { n: 6, name: "dir", flags: 0, takes: T_MODE, source: None },
    Kind { n: 7, name: "symlink", flags: 0, takes: 0, source: Some(b"l") },
    Kind { n: 8, name: "file", flags: 0, takes: T_MODE | T_FD | T_CONTENT, source: None },
    Kind { n: 9, name: "remount_ro", flags: 0, takes: 0, source: None },
    Kind { n: 10, name: "mask", flags: O, takes: 0, source: None },
    Kind { n: 11, name: "bind_data", flags: R, takes: T_MODE | T_FD | T_CONTENT, source: None },
    Kind { n: 12, name: "overlay", flags: 0, takes: 0, source: None },
    Kind { n: 13, name: "tmp_overlay", flags: 0, takes: 0, source: None },
    Kind { n: 14, name: "ro_overlay", flags: 0, takes: 0, source: None },
    Kind { n: 15, name: "chmod", flags: 0, takes: T_MODE, source: None },
];

/// The smallest valid layers (the content) of an overlay kind: upper and work for `overlay`,
/// then one lower directory (two for `ro_overlay`); empty for the other kinds.
fn layers(kind: u16) -> &'static [u8] {
    match kind {
        k::OVERLAY => b"/u\0/w\0/l\0",
        k::TMP_OVERLAY => b"/l\0",
        k::RO_OVERLAY => b"/l1\0/l2\0",
        _ => b"",
    }
}

/// Every kind number, in order.
fn kinds() -> impl Iterator<Item = u16> {
    KINDS.iter().map(|k| k.n)
}

/// The hand-written rules of kind `n`.
fn rule(n: u16) -> &'static Kind {
    KINDS.iter().find(|k| k.n == n).expect("a kind of KINDS")
}

/// Whether kind `n` takes the `T_*` field `what`.
fn takes(n: u16, what: u8) -> bool {
    rule(n).takes & what != 0
}

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
    /// The smallest valid operation of `kind`: a bind of `/s`, a symlink to `l`, an overlay
    /// of its [`layers`], else only the target `/t` (the source in [`KINDS`]).
    fn valid(kind: u16) -> Self {
        let op = Op::new(kind, b"/t");
        match rule(kind).source {
            Some(source) => op.source(source),
            None => op.content(layers(kind)),
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
        w.op(
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

/// Decodes the spec of one op and returns it, checked against the other accessors.
#[track_caller]
fn op_accepted(op: Op) -> OwnedMountOp {
    let (buf, _) = with_op(op);
    let spec = accepted(&buf);
    assert_eq!(spec.mounts.len(), 1);
    assert_eq!(raw_mounts(&spec).len(), 0, "a mount op is not a raw mount");
    let entries: Vec<_> = spec.mounts.iter().copied().collect();
    let [MountEntry::Op(m)] = entries[..] else {
        panic!("not one op: {entries:?}");
    };
    for bit in [f::OPTIONAL, f::READONLY, f::DEV, f::COVER] {
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
