//! The writer's own promises (crates/spec/src/encode.rs): a spec written after other bytes in
//! the same sink carries its own length; a decoded mount entry written back is the same
//! record; a fixed buffer says when the spec did not fit.

use forkexec_spec::decode::decode;
use forkexec_spec::encode::{Sink, SliceSink, Writer};
use forkexec_spec::layout::{mount_flags, mount_kind as k, ns};
use forkexec_testkit::wire::{build, s, VecSink, WriteExt, W};

fn spec(w: &mut W) {
    w.args(s(&["/bin/echo", "hi"]));
    w.env(s(&["A=1"]));
    w.clone_flags(ns::NEWNS | ns::NEWUSER);
    w.raw_mount(mount_flags::BIND, 0, b"/usr", b"/usr", b"", b"");
    w.op(k::TMPFS, 0, 0o755, 1 << 20, -1, b"", b"/tmp", b"");
}

/// A spec written after a frame of other bytes (a sink shared with something before it) has
/// its own length in its header, not the sink's, and decodes to what `build` gives alone.
#[test]
fn the_total_length_is_the_specs_own() {
    let alone = build(spec);
    let mut w = Writer::new(VecSink(b"frame".to_vec()));
    spec(&mut w);
    let out = w.finish().0;
    assert_eq!(&out[..5], b"frame");
    assert_eq!(&out[5..], &alone[..]);
    let total = u32::from_le_bytes(out[5 + 8..5 + 12].try_into().unwrap());
    assert_eq!(total as usize, alone.len());
    decode(&out[5..]).unwrap();
}

/// `mount_entry` writes each decoded entry, raw mount or operation, back as the record it
/// was read from.
#[test]
fn a_decoded_mount_entry_writes_back_the_same_record() {
    let bytes = build(spec);
    let decoded = decode(&bytes).unwrap();
    assert_eq!(decoded.mounts.len(), 2);
    let again = build(|w| {
        w.args(s(&["/bin/echo", "hi"]));
        w.env(s(&["A=1"]));
        w.clone_flags(ns::NEWNS | ns::NEWUSER);
        for entry in decoded.mounts.iter() {
            w.mount_entry(entry);
        }
    });
    assert_eq!(again, bytes);
}

/// A spec with the writer's own methods only, for any sink.
fn plain<S: Sink>(w: &mut Writer<S>) {
    w.args(s(&["/bin/echo", "hi"]));
    w.env(s(&["A=1"]));
    w.work_dir(b"/tmp");
}

/// A fixed buffer of exactly the spec's size holds it; one byte less overflows (the bytes
/// that fit whole are still written, and the count says how many were meant).
#[test]
fn a_slice_sink_says_when_the_spec_did_not_fit() {
    let bytes = build(plain);
    let n = bytes.len();
    for room in [n, n + 1, n - 1, 0] {
        let mut buf = vec![0u8; room];
        let mut w = Writer::new(SliceSink {
            buf: &mut buf,
            len: 0,
        });
        plain(&mut w);
        let sink = w.finish();
        assert_eq!(sink.len, n, "room {room}");
        assert_eq!(sink.overflowed(), room < n, "room {room}");
        if room >= n {
            assert_eq!(&buf[..n], &bytes[..]);
        }
    }
}
