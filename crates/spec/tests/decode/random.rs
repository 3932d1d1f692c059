//! Random mutations never panic; random valid specs round-trip.

use super::*;

// ---------------------------------------------------------------------------------------------
// random mutations never panic

/// xorshift64* — enough randomness for mutation testing, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, buf: &mut Vec<u8>) {
    const INTERESTING: [u32; 12] = [
        0,
        1,
        4,
        7,
        8,
        12,
        20,
        0xff,
        0xffff,
        1 << 20,
        0x7fff_ffff,
        u32::MAX,
    ];
    for _ in 0..1 + rng.below(4) {
        let len = buf.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                buf[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                buf[i] = rng.next() as u8;
            }
            2 if len >= 4 => {
                let i = rng.below(len - 3);
                let v = INTERESTING[rng.below(INTERESTING.len())];
                buf[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
            3 if len >= 2 => {
                let i = rng.below(len - 1);
                let v = rng.below(record::LAST as usize + 3) as u16;
                buf[i..i + 2].copy_from_slice(&v.to_le_bytes());
            }
            4 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                buf.splice(i..i, bytes);
            }
            5 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(32));
                buf.drain(i..i + n);
            }
            6 => {
                let n = rng.below(len + 1);
                buf.truncate(n);
            }
            7 if len > 0 => {
                // Copy a slice elsewhere (duplicates records or parts of them).
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                let piece = buf[i..i + n].to_vec();
                let j = rng.below(len + 1);
                buf.splice(j..j, piece);
            }
            _ => {
                let i = rng.below(len + 1);
                buf.insert(i, 0);
            }
        }
    }
    // Usually keep the header's total length honest, so the record walk is what gets tested.
    if buf.len() >= HEADER_LEN && rng.below(4) != 0 {
        let total = buf.len() as u32;
        set_u32(buf, 8, total);
    }
}

#[test]
fn random_mutations_never_panic() {
    let seeds = [
        build(base),
        build(full),
        build(|w| {
            w.args(s(&["a", "b"]));
            w.exec_fd(3);
            w.clone_flags(ns::NEWUSER | ns::NEWPID | ns::NEWUTS);
            w.uid_map([(0, 0, 1), (1, 1, 2)]);
            w.gid_map([(0, 0, 1)]);
            w.host_name(b"x");
            w.record(0x9000, layout::RECORD_SKIP_IF_UNKNOWN, &[b"advisory"]);
            w.options(opt::GID_MAPPINGS_ENABLE_SETGROUPS | opt::CTTY);
            w.status_fd(4);
        }),
        build(|w| {
            use layout::mount_kind as k;
            use layout::mount_op as f;
            w.args(s(&["/bin/sh"]));
            w.files(&[0, 1, 2]);
            w.clone_flags(ns::NEWNS);
            w.op(
                k::BIND,
                f::READONLY | f::OPTIONAL,
                0,
                0,
                -1,
                b"/usr",
                b"/usr",
                b"",
            );
            w.op(k::BIND, f::DEV, 0, 0, 5, b"", b"/data", b"");
            w.raw_mount(ms::BIND, 0, b"/a", b"/b", b"", b"");
            w.op(k::TMPFS, 0, 0o1777, 1 << 26, -1, b"", b"/tmp", b"");
            w.op(k::SYMLINK, 0, 0, 0, -1, b"usr/bin", b"/bin", b"");
            w.op(k::FILE, 0, 0o644, 0, -1, b"", b"/etc/hostname", b"box\n");
            w.op(k::FILE, 0, 0o600, 0, 7, b"", b"/in", b"");
            w.op(k::MASK, f::OPTIONAL, 0, 0, -1, b"", b"/proc/kcore", b"");
            w.pivot_root(b"/srv");
            w.options(opt::WRITABLE_ROOT);
        }),
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut ok, mut refused_count) = (0usize, 0usize);
    for round in 0..300_000 {
        let mut buf = seeds[round % seeds.len()].clone();
        mutate(&mut rng, &mut buf);
        match decode(&buf) {
            Ok(spec) => {
                ok += 1;
                // Everything the decoder exposes can be read, and re-encodes to a spec that
                // decodes to the same fields.
                let owned = Owned::of(&spec);
                let again = owned.encode();
                let respec = decode(&again).unwrap_or_else(|e| {
                    panic!("re-encoded spec refused ({e}); original {buf:02x?}")
                });
                assert_eq!(Owned::of(&respec), owned);
                for (euid, egid) in [(0, 0), (1000, 1000)] {
                    let _ = spec.shape(euid, egid);
                }
            }
            Err(e) => {
                refused_count += 1;
                assert!(e.offset as usize <= buf.len(), "{e:?} past the end");
                assert_eq!(Fault::from_u32(e.fault as u32), Some(e.fault));
            }
        }
    }
    // The mutations reach both outcomes, so the test exercises the decoder's depth.
    assert!(ok > 1000, "only {ok} mutated specs accepted");
    assert!(refused_count > 1000, "only {refused_count} refused");
}

/// A random byte string without NUL, `min..=max` bytes long.
fn random_string(rng: &mut Rng, min: usize, max: usize) -> Vec<u8> {
    let n = min + rng.below(max - min + 1);
    (0..n).map(|_| 1 + rng.below(255) as u8).collect()
}

/// A valid mount operation of a random kind, with random values in every field the kind takes;
/// its fd (if any) is not one that `files` replaces.
fn random_mount_op(rng: &mut Rng, files: &[i32]) -> OwnedMountOp {
    use layout::mount_kind as k;
    use layout::mount_op as f;
    let all = forkexec_spec::tables::KindInfo::ALL;
    let kind = all[rng.below(all.len())].kind;
    let mut target = random_string(rng, 0, 30);
    target.insert(0, b'/');
    let mut op = OwnedMountOp {
        kind,
        target,
        ..OwnedMountOp::default()
    };
    let allowed = match kind {
        k::BIND => f::OPTIONAL | f::READONLY | f::DEV,
        k::TMPFS => f::READONLY,
        k::MASK => f::OPTIONAL,
        _ => 0,
    };
    op.flags = rng.next() as u16 & allowed;
    if matches!(kind, k::TMPFS | k::DIR | k::FILE) {
        op.mode = rng.below(limit::MODE as usize + 1) as u32;
    }
    if kind == k::TMPFS && rng.below(2) == 0 {
        op.size = rng.next();
    }
    let fd = |rng: &mut Rng| {
        // Mapped to itself by the table, or past it.
        let fd = rng.below(limit::FD as usize - 8) as u32;
        let replaced = (fd as usize) < files.len() && files[fd as usize] != fd as i32;
        Some(if replaced {
            fd + files.len() as u32
        } else {
            fd
        })
    };
    match kind {
        k::BIND if rng.below(2) == 0 => op.fd = fd(rng),
        k::BIND | k::SYMLINK => op.source = random_string(rng, 1, 30),
        k::FILE => match rng.below(3) {
            0 => op.fd = fd(rng),
            // Content is any bytes, NUL included.
            1 => op.content = (0..rng.below(40)).map(|_| rng.next() as u8).collect(),
            _ => {}
        },
        // Layers: upper and work, then 1 to 4 lower directories (2 to 4 for ro_overlay).
        k::OVERLAY | k::TMP_OVERLAY | k::RO_OVERLAY => {
            let fixed = if kind == k::OVERLAY { 2 } else { 0 };
            let lower = if kind == k::RO_OVERLAY { 2 } else { 1 } + rng.below(3);
            for _ in 0..fixed + lower {
                op.content.push(b'/');
                op.content.extend(random_string(rng, 0, 20));
                op.content.push(0);
            }
        }
        _ => {}
    }
    op
}

fn random_owned(rng: &mut Rng) -> Owned {
    let mut o = Owned::default();
    let coin = |rng: &mut Rng| rng.below(2) == 0;
    o.args = (0..1 + rng.below(4))
        .map(|i| random_string(rng, usize::from(i == 0), 20))
        .collect();
    o.env = (0..rng.below(4))
        .map(|_| random_string(rng, 0, 30))
        .collect();
    match rng.below(3) {
        0 => o.exec_path = Some(random_string(rng, 1, 40)),
        1 => o.exec_fd = Some(rng.below(limit::FD as usize) as u32),
        _ => {}
    }
    for _ in 0..rng.below(limit::RLIMITS + 1) {
        let max = rng.next();
        let cur = if max == 0 { 0 } else { rng.next() % max };
        o.rlimits
            .push((rng.below(limit::RLIMIT_RESOURCES as usize) as u32, cur, max));
    }
    o.files = (0..rng.below(6))
        .map(|_| rng.below(limit::FD as usize + 1) as i32 - 1)
        .collect();
    if coin(rng) {
        o.work_dir = Some(random_string(rng, 1, 40));
    }
    for _ in 0..rng.below(3) {
        o.seccomp.push(
            (0..8 * (1 + rng.below(5)))
                .map(|_| rng.next() as u8)
                .collect(),
        );
    }
    o.clone_flags = rng.next() & ns::KNOWN;
    // Raw mounts and mount operations mixed, in the order they are drawn.
    for _ in 0..rng.below(6) {
        if coin(rng) {
            o.mounts.push(
                OwnedMount {
                    flags: rng.next() & forkexec_spec::layout::mount_flags::KNOWN,
                    options: rng.next() as u32 & mount_opt::KNOWN,
                    source: random_string(rng, 0, 30),
                    target: random_string(rng, 1, 30),
                    fstype: random_string(rng, 0, 10),
                    data: random_string(rng, 0, 30),
                }
                .into(),
            );
        } else {
            let op = random_mount_op(rng, &o.files);
            o.mounts.push(op.into());
        }
    }
    if coin(rng) {
        let mut root = random_string(rng, 0, 30);
        root.insert(0, b'/');
        o.pivot_root = Some(root);
    }
    if coin(rng) {
        o.host_name = Some(random_string(rng, 0, limit::UTS_NAME));
    }
    if coin(rng) {
        o.domain_name = Some(random_string(rng, 0, limit::UTS_NAME));
    }
    let map = |rng: &mut Rng| {
        (0..1 + rng.below(4))
            .map(|_| {
                let size = 1 + rng.below(1 << 16) as u32;
                let start = |rng: &mut Rng| (rng.next() as u32) % (u32::MAX - size);
                (start(rng), start(rng), size)
            })
            .collect::<Vec<_>>()
    };
    if coin(rng) {
        o.uid_map = Some(map(rng));
    }
    if coin(rng) {
        o.gid_map = Some(map(rng));
    }
    if coin(rng) {
        o.credential = Some(OwnedCredential {
            uid: rng.next() as u32,
            gid: rng.next() as u32,
            flags: rng.next() as u32 & cred_flag::KNOWN,
            groups: (0..rng.below(5)).map(|_| rng.next() as u32).collect(),
        });
    }
    o.options = rng.next() & opt::KNOWN;
    if o.options & opt::CTTY != 0 {
        o.options &= !opt::NO_SETSID;
    }
    if o.pivot_root.is_none() {
        o.options &= !opt::WRITABLE_ROOT;
    }
    if rng.below(3) != 0 {
        o.status_fd = Some(rng.below(limit::FD as usize) as u32);
    }
    // The whole-spec rules: namespaces for what needs them.
    if !o.mounts.is_empty() || o.pivot_root.is_some() {
        o.clone_flags |= ns::NEWNS;
    }
    if o.host_name.is_some() || o.domain_name.is_some() {
        o.clone_flags |= ns::NEWUTS;
    }
    if o.uid_map.is_some() || o.gid_map.is_some() || o.options & opt::DISABLE_USERNS != 0 {
        o.clone_flags |= ns::NEWUSER;
    }
    if o.options & opt::LOOPBACK != 0 {
        o.clone_flags |= ns::NEWNET;
    }
    if o.options & opt::INIT != 0 {
        o.options &= !opt::DETACH;
        o.clone_flags |= ns::NEWPID;
    } else {
        o.options &= !(opt::DUMPABLE_INIT | opt::NO_WAIT_INIT);
    }
    o
}

#[test]
fn random_valid_specs_round_trip() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for _ in 0..20_000 {
        let o = random_owned(&mut rng);
        let buf = o.encode();
        let spec = decode(&buf).unwrap_or_else(|e| panic!("refused ({e}): {o:?}"));
        assert_eq!(Owned::of(&spec), o);
    }
}

/// One `Spec` kept across many decodes (as the helper's static one, and a fork server's runs)
/// holds exactly what a fresh decode gives each time: nothing of an earlier spec, accepted or
/// refused, stays in it.
#[test]
fn decode_into_starts_over_each_time() {
    use forkexec_spec::decode::decode_into;
    let mut rng = Rng(0x5eed_0f5e_ed00_0001);
    // What the reference model (`Owned`) leaves out: Landlock, locks, sync, init, block fds.
    let others = build(|w| {
        w.args(s(&["/bin/true"]));
        w.clone_flags(ns::NEWUSER);
        w.block_fd(6);
        w.userns_block_fd(7);
        w.landlock(0b11, 0b1, 0b10, 0);
        w.landlock_path(0b1, b"/usr");
        w.landlock_port(0b1, 8080);
        w.options(opt::INIT);
        w.lock_file(b"/run/lock");
        w.sync_fd(5);
    });
    let mut bufs: Vec<Vec<u8>> = (0..6_000)
        .map(|i| {
            let mut buf = random_owned(&mut rng).encode();
            if i % 3 == 2 {
                mutate(&mut rng, &mut buf);
            }
            buf
        })
        .collect();
    for i in (0..bufs.len()).step_by(50) {
        bufs[i] = others.clone();
    }
    let mut kept = Spec::default();
    let (mut ok, mut refused_count) = (0, 0);
    for buf in &bufs {
        let into = decode_into(buf, &mut kept);
        match decode(buf) {
            Ok(fresh) => {
                ok += 1;
                assert_eq!(into, Ok(()));
                assert_eq!(Owned::of(&kept), Owned::of(&fresh));
                assert_eq!(format!("{kept:?}"), format!("{fresh:?}"), "every field");
                for (euid, egid) in [(0, 0), (1000, 1000)] {
                    assert_eq!(kept.shape(euid, egid), fresh.shape(euid, egid));
                }
            }
            Err(e) => {
                refused_count += 1;
                assert_eq!(into, Err(e));
            }
        }
    }
    assert!(
        ok > 1000 && refused_count > 500,
        "{ok} accepted, {refused_count} refused"
    );
}
