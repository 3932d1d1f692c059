//! The overlay kinds (overlay, tmp_overlay, ro_overlay): their layers travel as the record's
//! content, NUL-terminated absolute paths (upper and work first for `overlay`, then the lower
//! directories topmost first); every refusal with its fault and offset.

use super::refusals::{op_refused, FLAGS, SIZE};
use super::*;

const OVERLAYS: [u16; 3] = [k::OVERLAY, k::TMP_OVERLAY, k::RO_OVERLAY];

/// Layers as the wire has them: each path NUL-terminated.
fn paths(list: &[&str]) -> Vec<u8> {
    list.iter()
        .flat_map(|p| [p.as_bytes(), b"\0"].concat())
        .collect()
}

#[test]
fn the_layers_are_kept_in_order() {
    let content = paths(&["/up", "/work", "/top", "/mid", "/bottom"]);
    let got = op_accepted(Op::new(k::OVERLAY, b"/t").content(&content));
    assert_eq!(got.content, content);
    let (buf, _) = with_op(Op::new(k::OVERLAY, b"/t").content(&content));
    let spec = accepted(&buf);
    let MountEntry::Op(op) = spec.mounts.iter().next().unwrap() else {
        panic!("not an op")
    };
    let layers: Vec<_> = op.layers().map(|p| p.to_str().unwrap()).collect();
    assert_eq!(layers, ["/up", "/work", "/top", "/mid", "/bottom"]);
    // Any byte but NUL in a name: ':' ',' '\\' and spaces need no escaping on the wire.
    let odd = paths(&["/lower \":,\\", "/l=2,x:y"]);
    assert_eq!(
        op_accepted(Op::new(k::RO_OVERLAY, b"/t").content(&odd)).content,
        odd
    );
}

#[test]
fn the_fewest_layers_each_kind_needs() {
    // overlay: upper, work and one lower; tmp_overlay: one lower; ro_overlay: two.
    for (kind, fewest) in [(k::OVERLAY, 3), (k::TMP_OVERLAY, 1), (k::RO_OVERLAY, 2)] {
        let all = ["/a", "/b", "/c", "/d"];
        for n in 0..fewest {
            let content = paths(&all[..n]);
            let op = Op::new(kind, b"/t").content(&content);
            // Refused at the end of the content: what is missing would be there.
            op_refused(op, op.content_at() + content.len(), Fault::BadValue);
        }
        let content = paths(&all[..fewest]);
        op_accepted(Op::new(kind, b"/t").content(&content));
    }
}

#[test]
fn every_layer_is_a_non_empty_absolute_path() {
    for kind in OVERLAYS {
        let good = layers(kind);
        for bad in [&b""[..], b"rel", b"./x", b" /x"] {
            // As the first layer and as the last.
            let content = [bad, b"\0", good].concat();
            let op = Op::new(kind, b"/t").content(&content);
            op_refused(op, op.content_at(), Fault::BadValue);
            let content = [good, bad, b"\0"].concat();
            let op = Op::new(kind, b"/t").content(&content);
            op_refused(op, op.content_at() + good.len(), Fault::BadValue);
        }
    }
}

#[test]
fn an_unterminated_last_layer() {
    for kind in OVERLAYS {
        let content = [layers(kind), b"/more"].concat();
        let op = Op::new(kind, b"/t").content(&content);
        op_refused(op, op.content_at() + content.len(), Fault::Unterminated);
    }
}

#[test]
fn layer_length_and_count_limits() {
    // A path of limit::PATH bytes with its NUL is the longest.
    let longest = format!("/{}", "x".repeat(limit::PATH - 2));
    let content = paths(&[&longest, "/l"]);
    op_accepted(Op::new(k::RO_OVERLAY, b"/t").content(&content));
    let content = paths(&["/l", &format!("{longest}x")]);
    let op = Op::new(k::RO_OVERLAY, b"/t").content(&content);
    op_refused(op, op.content_at() + 3, Fault::TooLong);
    // limit::OVERLAY_LOWER lower directories at most, besides upper and work.
    assert_eq!(limit::OVERLAY_LOWER, 500);
    let lower: Vec<String> = (0..limit::OVERLAY_LOWER)
        .map(|i| format!("/{i:03}"))
        .collect();
    let refs: Vec<&str> = lower.iter().map(String::as_str).collect();
    for (kind, fixed) in [(k::OVERLAY, &["/u", "/w"][..]), (k::RO_OVERLAY, &[][..])] {
        let all = [fixed, &refs[..]].concat();
        op_accepted(Op::new(kind, b"/t").content(&paths(&all)));
        let over = [&all[..], &["/one-more"]].concat();
        let content = paths(&over);
        let op = Op::new(kind, b"/t").content(&content);
        op_refused(op, op.content_at() + paths(&all).len(), Fault::TooMany);
    }
}

#[test]
fn what_an_overlay_does_not_take() {
    for kind in OVERLAYS {
        let op = Op::valid(kind);
        for flag in [f::OPTIONAL, f::READONLY, f::DEV, f::COVER] {
            op_refused(op.flags(flag), FLAGS, Fault::BadValue);
        }
        op_refused(op.mode(0o755), MODE, Fault::BadValue);
        op_refused(op.size(1 << 20), SIZE, Fault::BadValue);
        op_refused(op.fd(3), FD, Fault::BadValue);
        op_refused(op.source(b"/s"), SOURCE, Fault::BadValue);
    }
}
