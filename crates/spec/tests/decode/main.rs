//! Exhaustive tests of the v1 decoder: every field it exposes, and every way a spec is refused,
//! with the exact fault and byte offset.

use forkexec_spec::decode::{decode, total_len, Fault, Shape, Spec, SpecError};
use forkexec_spec::layout::{
    self, cred_flag, limit, mount_opt, ns, opt, record, HEADER_LEN, RECORD_HEADER_LEN,
};
use forkexec_spec::location::Location;
use forkexec_testkit::wire::{
    build, build_at, ms, raw_mounts, s, Owned, OwnedCredential, OwnedMount, OwnedMountOp, WriteExt,
    W,
};

mod accepted;
mod faults;
mod fields;
mod framing;
mod random;
mod rules;

// ---------------------------------------------------------------------------------------------
// helpers

/// Asserts that `buf` is refused with exactly this fault at exactly this offset.
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

/// ARGS = ["/bin/true"]: header (12) + record header (8) + 10 payload bytes.
fn base(w: &mut W) {
    w.args(s(&["/bin/true"]));
}

const BASE_LEN: usize = 30;

fn base_and(ty: u16, flags: u16, payload: &[u8]) -> (Vec<u8>, usize) {
    build_at(base, |w| w.record(ty, flags, &[payload]))
}

fn set_u32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// A realistic spec using every record type except EXEC_FD (which conflicts with EXEC_PATH).
fn full(w: &mut W) {
    w.args(s(&["/bin/prog", "-v", "", "last arg"]));
    w.env(s(&["PATH=/bin:/usr/bin", "HOME=/", "EMPTY="]));
    w.exec_path(b"/usr/bin/prog");
    w.limit(0, 1, 2);
    w.limit(7, 64, 64);
    w.limit(9, 1 << 33, u64::MAX);
    w.files(&[0, 1, 2, -1, 9]);
    w.work_dir(b"/w");
    w.seccomp([
        (0x20, 0, 0, 4),
        (0x15, 0, 1, 0xc000_003e),
        (0x06, 0, 0, 0x7fff_0000),
    ]);
    w.seccomp([(0x06, 0, 0, 0x7fff_0000)]);
    w.clone_flags(ns::KNOWN);
    w.raw_mount(
        ms::BIND | ms::REC | ms::RDONLY,
        mount_opt::MKDIR,
        b"/usr",
        b"usr",
        b"",
        b"",
    );
    w.raw_mount(
        ms::NOSUID | ms::NODEV,
        mount_opt::MKDIR | mount_opt::FILE,
        b"tmpfs",
        b"tmp",
        b"tmpfs",
        b"size=1m,mode=1777",
    );
    w.pivot_root(b"/srv/root");
    w.host_name(b"box");
    w.domain_name(b"example");
    w.uid_map([(0, 1000, 1), (1, 100_000, 65_536)]);
    w.gid_map([(0, 1000, 1)]);
    w.credential(1, 2, cred_flag::NO_SETGROUPS, &[3, 4, 5]);
    w.options(opt::KNOWN & !opt::NO_SETSID & !opt::DETACH);
    w.status_fd(7);
    w.info_fd(11);
    w.json_status_fd(12);
    w.join_ns(None, None, Some(14));
}

// ---------------------------------------------------------------------------------------------
// exec-in-place shape

fn shape(buf: &[u8], euid: u32, egid: u32) -> Result<Shape, SpecError> {
    accepted(buf).shape(euid, egid)
}
