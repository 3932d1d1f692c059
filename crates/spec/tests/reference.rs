//! The decoder against the second validator written from docs/spec.md alone
//! (`fuzz/src/reference.rs`) and the fuzz targets' other checks (`fuzz/src/lib.rs`: every
//! accessor, the invariants of an accepted spec, the rules of a refusal, re-encoding in any
//! record order, the process shape), compiled here from the fuzz crate's own sources: the
//! reference knows every record type and mount kind the crate defines, and both give the same
//! answer (accepted, or the same fault at the same offset) on every committed vector and on
//! random mutations of specs that use every record type and every mount kind. The fuzz targets
//! run the same checks on what libFuzzer finds (`fuzz/run-short.sh`).

#[allow(dead_code, unused_imports)]
#[path = "../../../fuzz/src/lib.rs"]
mod fuzz;

use fuzz::reference;

use std::path::PathBuf;

use forkexec_spec::decode::decode;
use forkexec_spec::layout::{
    self, landlock, mount_kind as k, mount_op as f, ns, opt, record, HEADER_LEN,
};
use forkexec_spec::tables::{landlock_fs as fs, landlock_net as net, landlock_scope, KindInfo};
use forkexec_testkit::wire::{build, hex, s, WriteExt, W};

/// The decoder's answer in the reference's terms.
fn decoded(buf: &[u8]) -> Result<(), (usize, forkexec_spec::decode::Fault)> {
    decode(buf)
        .map(|_| ())
        .map_err(|e| (e.offset as usize, e.fault))
}

#[track_caller]
fn agree(buf: &[u8], what: &str) {
    assert!(reference::models(buf), "{what}: left out of the comparison");
    assert_eq!(
        decoded(buf),
        reference::validate(buf),
        "{what}: decode (left) and docs/spec.md's reference (right) disagree on {}",
        hex_of(buf)
    );
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn the_reference_knows_every_record_type_and_mount_kind() {
    // A record type or mount kind added to crates/spec/src/tables.rs fails here until
    // fuzz/src/reference.rs is written for it from docs/spec.md.
    assert_eq!(
        reference::LAST_MODELED_RECORD,
        record::LAST,
        "record types: extend fuzz/src/reference.rs from docs/spec.md"
    );
    for ty in 0..=u16::MAX {
        assert_eq!(
            (1..=reference::LAST_MODELED_RECORD).contains(&ty),
            record::known(ty),
            "record type {ty}"
        );
        assert_eq!(
            reference::REPEATABLE.contains(&ty),
            record::known(ty) && record::repeatable(ty),
            "record type {ty} repeatable"
        );
    }
    assert_eq!(
        reference::LAST_MODELED_KIND,
        k::LAST,
        "mount kinds: extend fuzz/src/reference.rs from docs/spec.md"
    );
    for kind in 0..=u16::MAX {
        assert_eq!(
            (1..=reference::LAST_MODELED_KIND).contains(&kind),
            KindInfo::of(kind).is_some(),
            "mount kind {kind}"
        );
    }
}

/// `models` leaves out exactly the specs with a record type or mount kind the reference does
/// not implement: none today (every type and kind is written), so it is checked with the
/// numbers just past the tables, which the crate does not know either.
#[test]
fn models_leaves_out_nothing_the_crate_knows() {
    let past_record = build(|w| {
        w.args(s(&["/bin/true"]));
        w.record(record::LAST + 1, layout::RECORD_SKIP_IF_UNKNOWN, &[b"x"]);
    });
    assert!(reference::models(&past_record));
    agree(&past_record, "a skippable unknown type");
    let past_kind = build(|w| {
        w.args(s(&["/bin/true"]));
        w.clone_flags(ns::NEWNS);
        w.op(k::LAST + 1, 0, 0, 0, -1, b"", b"/t", b"");
    });
    agree(&past_kind, "a kind past the table");
}

/// The committed vectors; `FORKEXEC_VECTORS_DIR` points elsewhere when the checkout is not
/// readable (scripts/test-as-user.sh runs this as an ordinary user on a copy).
fn vectors_dir() -> PathBuf {
    match std::env::var_os("FORKEXEC_VECTORS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("vectors"),
    }
}

#[test]
fn every_vector_gets_the_same_answer() {
    let mut n = 0;
    for entry in std::fs::read_dir(vectors_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "hex") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let body: String = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        agree(&hex(&body), &path.display().to_string());
        n += 1;
    }
    assert!(n >= 20, "only {n} vectors");
}

/// Specs that use every record type and every mount kind, accepted by both.
fn seeds() -> Vec<Vec<u8>> {
    let every_record = build(|w: &mut W| {
        w.args(s(&["/bin/prog", "-v"]));
        w.env(s(&["A=1"]));
        w.exec_path(b"/usr/bin/prog");
        w.limit(7, 64, 64);
        w.files(&[0, 1, 2, -1, 9]);
        w.work_dir(b"/w");
        w.seccomp([(0x06, 0, 0, 0x7fff_0000)]);
        w.clone_flags(ns::NEWNS | ns::NEWUTS | ns::NEWUSER | ns::NEWPID);
        w.raw_mount(ms_bind(), 0, b"/usr", b"/usr", b"", b"");
        w.op(k::BIND, f::READONLY, 0, 0, 9, b"", b"/data", b"");
        w.pivot_root(b"/srv");
        w.host_name(b"box");
        w.domain_name(b"d");
        w.uid_map([(0, 1000, 1)]);
        w.gid_map([(0, 1000, 1)]);
        w.credential(1, 2, 0, &[3]);
        w.options(opt::SYNC | opt::NO_NEW_PRIVS | opt::WRITABLE_ROOT);
        w.status_fd(7);
        w.cgroup_path(b"/sys/fs/cgroup/x");
        w.landlock(
            fs::KNOWN,
            net::KNOWN,
            landlock_scope::KNOWN,
            landlock::EXACT,
        );
        w.landlock_path(landlock::FS_READ, b"/usr");
        w.landlock_port(net::CONNECT_TCP, 443);
        w.info_fd(11);
        w.json_status_fd(12);
        w.join_ns(None, None, Some(14));
        w.caps(1 << 10 | 1 << 21, 0);
    });
    // Held by init: LOCK_FILE, SYNC_FD.
    let held = build(|w: &mut W| {
        w.args(s(&["/bin/true"]));
        w.options(opt::INIT | opt::DUMPABLE_INIT);
        w.lock_file(b"/run/a.lock");
        w.lock_file(b"/b");
        w.sync_fd(15);
        w.block_fd(16);
        w.clone_flags(ns::NEWUSER);
        w.userns_block_fd(17);
    });
    let other_fds = build(|w: &mut W| {
        w.args(s(&["", "x"]));
        w.exec_fd(3);
        w.cgroup_fd(5);
        w.join_ns(Some(6), Some(8), None);
        w.caps(u64::MAX, layout::caps::LEAVE_SETS);
        w.landlock(fs::EXECUTE, 0, 0, 0);
        w.landlock_path(fs::EXECUTE, b"/bin");
        w.options(opt::DETACH);
    });
    let every_kind = build(|w: &mut W| {
        w.args(s(&["/bin/sh"]));
        w.files(&[0, 1, 2]);
        w.clone_flags(ns::NEWNS);
        w.op(
            k::BIND,
            f::OPTIONAL | f::DEV,
            0,
            0,
            -1,
            b"/usr",
            b"/usr",
            b"",
        );
        w.op(
            k::TMPFS,
            f::READONLY,
            0o1777,
            1 << 20,
            -1,
            b"",
            b"/tmp",
            b"",
        );
        w.op(k::PROC, 0, 0, 0, -1, b"", b"/proc", b"");
        w.op(k::DEV, 0, 0, 0, -1, b"", b"/dev", b"");
        w.op(k::MQUEUE, 0, 0, 0, -1, b"", b"/dev/mqueue", b"");
        w.op(k::DIR, 0, 0o755, 0, -1, b"", b"/d", b"");
        w.op(k::SYMLINK, 0, 0, 0, -1, b"usr/bin", b"/bin", b"");
        w.op(k::FILE, 0, 0o644, 0, -1, b"", b"/etc/hostname", b"box\n");
        w.op(k::REMOUNT_RO, 0, 0, 0, -1, b"", b"/usr", b"");
        w.op(k::MASK, f::OPTIONAL, 0, 0, -1, b"", b"/proc/kcore", b"");
        w.op(k::BIND_DATA, f::READONLY, 0o600, 0, 7, b"", b"/etc/x", b"");
        w.op(k::OVERLAY, 0, 0, 0, -1, b"", b"/o", b"/up\0/work\0/lo\0");
        w.op(k::TMP_OVERLAY, 0, 0, 0, -1, b"", b"/t", b"/a\0/b\0");
        w.op(k::RO_OVERLAY, 0, 0, 0, -1, b"", b"/r", b"/a\0/b\0");
        w.pivot_root(b"/srv");
    });
    vec![every_record, other_fds, every_kind, held]
}

/// The edges of the rules random mutations rarely reach, each built whole.
#[test]
fn edge_cases_get_the_same_answer() {
    let with = |extra: &dyn Fn(&mut W)| {
        build(|w: &mut W| {
            w.args(s(&["/bin/true"]));
            extra(w);
        })
    };
    let lowers = |n: usize| -> Vec<u8> {
        (0..n)
            .flat_map(|i| format!("/l{i}\0").into_bytes())
            .collect()
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("join_ns none", with(&|w| w.join_ns(None, None, None))),
        (
            "join_ns user with newuser",
            with(&|w| {
                w.clone_flags(ns::NEWUSER);
                w.join_ns(Some(3), None, None);
            }),
        ),
        (
            "join_ns pid with newpid",
            with(&|w| {
                w.clone_flags(ns::NEWPID);
                w.join_ns(None, Some(3), None);
            }),
        ),
        (
            "join_ns user2 with newuser",
            with(&|w| {
                w.clone_flags(ns::NEWUSER);
                w.join_ns(None, None, Some(3));
            }),
        ),
        (
            "caps with drop_caps",
            with(&|w| {
                w.caps(1, 0);
                w.options(opt::DROP_CAPS);
            }),
        ),
        ("caps unknown flag", with(&|w| w.caps(1, 2))),
        (
            "caps short",
            with(&|w| w.record(record::CAPS, 0, &[&[0u8; 8]])),
        ),
        (
            "json_status_fd with detach",
            with(&|w| {
                w.options(opt::DETACH);
                w.json_status_fd(3);
            }),
        ),
        (
            "landlock nothing handled",
            with(&|w| w.landlock(0, 0, 0, 0)),
        ),
        (
            "landlock rule without landlock",
            with(&|w| w.landlock_port(net::BIND_TCP, 1)),
        ),
        (
            "landlock rule not handled",
            with(&|w| {
                w.landlock(fs::READ_FILE, net::BIND_TCP, 0, 0);
                w.landlock_port(net::BIND_TCP, 1);
                w.landlock_path(fs::READ_FILE | fs::EXECUTE, b"/x");
            }),
        ),
        (
            "64 path rules",
            with(&|w| {
                w.landlock(fs::READ_FILE, 0, 0, 0);
                (0..64).for_each(|_| w.landlock_path(fs::READ_FILE, b"/x"));
            }),
        ),
        (
            "65 path rules",
            with(&|w| {
                w.landlock(fs::READ_FILE, 0, 0, 0);
                (0..65).for_each(|_| w.landlock_path(fs::READ_FILE, b"/x"));
            }),
        ),
        (
            "65th path rule relative",
            with(&|w| {
                w.landlock(fs::READ_FILE, 0, 0, 0);
                (0..64).for_each(|_| w.landlock_path(fs::READ_FILE, b"/x"));
                w.landlock_path(fs::READ_FILE, b"x");
            }),
        ),
        (
            "65 port rules",
            with(&|w| {
                w.landlock(0, net::BIND_TCP, 0, 0);
                (0..65).for_each(|p| w.landlock_port(net::BIND_TCP, p));
            }),
        ),
        ("lock_file without init", with(&|w| w.lock_file(b"/l"))),
        ("sync_fd without init", with(&|w| w.sync_fd(3))),
        (
            "9 lock files",
            with(&|w| {
                w.options(opt::INIT);
                (0..9).for_each(|_| w.lock_file(b"/l"));
            }),
        ),
        (
            "9th lock file relative",
            with(&|w| {
                w.options(opt::INIT);
                (0..8).for_each(|_| w.lock_file(b"/l"));
                w.lock_file(b"l");
            }),
        ),
        ("init without newpid", with(&|w| w.options(opt::INIT))),
        (
            "userns_block_fd without newuser",
            with(&|w| w.userns_block_fd(3)),
        ),
        (
            "userns_block_fd with a uid map",
            with(&|w| {
                w.clone_flags(ns::NEWUSER);
                w.uid_map([(0, 0, 1)]);
                w.userns_block_fd(3);
            }),
        ),
        (
            "block_fd replaced by files",
            with(&|w| {
                w.files(&[0, 1, 2, 4]);
                w.block_fd(3);
            }),
        ),
        (
            "block_fd kept by files",
            with(&|w| {
                w.files(&[0, 1, 2, 3]);
                w.block_fd(3);
            }),
        ),
        (
            "port 65536",
            with(&|w| {
                w.landlock(0, net::BIND_TCP, 0, 0);
                w.landlock_port(net::BIND_TCP, 65_536);
            }),
        ),
    ];
    let overlay = |kind: u16, layers: &[u8]| {
        let layers = layers.to_vec();
        with(&move |w: &mut W| {
            w.clone_flags(ns::NEWNS);
            w.op(kind, 0, 0, 0, -1, b"", b"/o", &layers);
        })
    };
    let mut cases = cases;
    for (kind, upper) in [(k::OVERLAY, 2), (k::TMP_OVERLAY, 0), (k::RO_OVERLAY, 0)] {
        for n in [0, 1, 2, 3, upper + 500, upper + 501] {
            cases.push(("overlay layers", overlay(kind, &lowers(n))));
        }
        cases.push(("overlay unterminated", overlay(kind, b"/a\0/b\0/c")));
        cases.push(("overlay relative", overlay(kind, b"/a\0b\0/c\0")));
        cases.push(("overlay empty layer", overlay(kind, b"/a\0\0/c\0")));
        let long = [b"/".repeat(4096), b"\0/b\0/c\0".to_vec()].concat();
        cases.push(("overlay long layer", overlay(kind, &long)));
    }
    for (what, buf) in &cases {
        agree(buf, what);
    }
}

fn ms_bind() -> u64 {
    layout::mount_flags::BIND
}

/// xorshift64*.
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

/// One to four edits: a bit, a byte, an interesting u32 or u16 (record types and kinds around
/// the tables' ends), bytes removed or copied elsewhere; the total length usually kept right.
fn mutate(rng: &mut Rng, buf: &mut Vec<u8>) {
    const WORDS: [u32; 10] = [0, 1, 2, 0xff, 0xffff, 65_536, 1 << 20, 0x7fff_ffff, !1, !0];
    for _ in 0..1 + rng.below(4) {
        let len = buf.len();
        match rng.below(6) {
            0 if len > 0 => buf[rng.below(len)] ^= 1 << rng.below(8),
            1 if len > 0 => buf[rng.below(len)] = rng.next() as u8,
            2 if len >= 4 => {
                let i = rng.below(len - 3);
                let v = WORDS[rng.below(WORDS.len())];
                buf[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
            3 if len >= 2 => {
                let i = rng.below(len - 1);
                let v = rng.below(record::LAST.max(k::LAST) as usize + 3) as u16;
                buf[i..i + 2].copy_from_slice(&v.to_le_bytes());
            }
            4 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(24));
                buf.drain(i..i + n);
            }
            _ if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(48));
                let piece = buf[i..i + n].to_vec();
                let j = rng.below(len + 1);
                buf.splice(j..j, piece);
            }
            _ => buf.push(0),
        }
    }
    if buf.len() >= HEADER_LEN && rng.below(4) != 0 {
        let total = buf.len() as u32;
        buf[8..12].copy_from_slice(&total.to_le_bytes());
    }
}

#[test]
fn random_mutations_get_the_same_answer() {
    let seeds = seeds();
    for (i, seed) in seeds.iter().enumerate() {
        let owned = fuzz::decode_checked(seed).unwrap_or_else(|e| panic!("seed {i}: {e:?}"));
        fuzz::check_accepted(seed, &decode(seed).unwrap(), &owned, i as u64);
        agree(seed, "seed");
    }
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let (mut ok, mut refused) = (0, 0);
    for round in 0..30_000 {
        let mut buf = seeds[round % seeds.len()].clone();
        mutate(&mut rng, &mut buf);
        agree(&buf, &format!("round {round}"));
        // The fuzz target's own checks, as `fuzz_targets/decode.rs` runs them.
        match fuzz::decode_checked(&buf) {
            Ok(owned) => {
                ok += 1;
                let spec = decode(&buf).unwrap();
                fuzz::check_accepted(&buf, &spec, &owned, round as u64);
            }
            Err(_) => refused += 1,
        }
    }
    // Both answers are exercised, not only refusals.
    assert!(
        ok > 700 && refused > 20_000,
        "{ok} accepted, {refused} refused"
    );
}
