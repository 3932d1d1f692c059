//! Accepted mount operations.

use super::*;

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
        Op::new(k::PROC, b"/proc").flags(f::COVER),
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
        w.raw_mount(ms::BIND, 0, b"/src", b"/r0", b"", b"");
        w.limit(7, 1, 1);
        Op::new(k::TMPFS, b"/o1").mode(0o755).write(w);
        Op::new(k::PROC, b"/o2").write(w);
        w.clone_flags(ns::NEWNS);
        w.raw_mount(ms::BIND, 0, b"/src", b"/r3", b"", b"");
        Op::new(k::MASK, b"/o4").write(w);
    });
    let spec = accepted(&buf);
    assert_eq!(spec.mounts.len(), 5);
    let targets: Vec<_> = spec
        .mounts
        .iter()
        .copied()
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
    let raw_targets: Vec<_> = raw_mounts(&spec)
        .into_iter()
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
                w.raw_mount(0, 0, b"", b"/m", b"", b"");
            } else {
                op.write(w);
            }
        }
    };
    let buf = build(|w| entries(w, limit::MOUNTS));
    let spec = accepted(&buf);
    assert_eq!(spec.mounts.len(), limit::MOUNTS);
    assert_eq!(spec.mounts.iter().copied().count(), limit::MOUNTS);
    assert_eq!(raw_mounts(&spec).len(), limit::MOUNTS / 2);
    // A 257th of either kind is one too many, refused at its record header, before its payload
    // is looked at.
    let (buf, at) = build_at(|w| entries(w, limit::MOUNTS), |w| op.write(w));
    refused(&buf, at, Fault::TooMany);
    let (buf, at) = build_at(
        |w| entries(w, limit::MOUNTS),
        |w| w.raw_mount(0, 0, b"", b"/m", b"", b""),
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
        |w| w.raw_mount(0, 0, b"", b"/m", b"", b""),
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
