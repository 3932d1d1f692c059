//! A failed start in words, the same in every front end: the helper's own stderr line (when
//! nobody reads its records), the Rust client's `ChildError` and `forkexec-run`'s message all
//! come from [`failure`].
//!
//! `location(index) SUBJECT: errno text`, where SUBJECT is what the index refers to in the
//! spec (a mount's target, a bind's source, the rlimit's resource, the program…) when the
//! spec is at hand; `spec(offset N): fault (errno text)` for a refused spec.

use core::ffi::CStr;

use crate::decode::{MountEntry, Spec};
use crate::status::mkdir_detail;
use crate::{errno, layout, Fault, Location};

/// Where the words go: a fixed buffer in the helper, a `String` in a client.
pub trait Out {
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);
}

/// An error record's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The location number ([`Location`]).
    pub location: u32,
    /// The errno.
    pub errno: i32,
    /// Which entry (a mount, an rlimit, an fd…); a byte offset for `spec`.
    pub index: u32,
    /// For `spec`, the [`Fault`]; otherwise 0.
    pub detail: u32,
}

/// Writes `failure` in words; with `spec`, what its index refers to as well, and in
/// bubblewrap's words when the spec asks for them (option BWRAP_ERRORS) and bubblewrap has
/// words for the step (`execvp PROG: No such file or directory`).
pub fn failure(out: &mut impl Out, f: &Failure, spec: Option<&Spec>) {
    if let Some(spec) = spec.filter(|s| s.has(layout::opt::BWRAP_ERRORS)) {
        if bwrap_failure(out, f, spec) {
            return;
        }
    }
    let location = Location::from_u32(f.location);
    match location {
        Some(Location::Spec) => {
            out.put(b"spec(offset ");
            number(out, f.index as i64);
            out.put(b"): ");
            match Fault::from_u32(f.detail) {
                Some(fault) => out.put(fault.describe().as_bytes()),
                None => {
                    out.put(b"fault ");
                    number(out, f.detail as i64);
                }
            }
            out.put(b" (");
            errno_text(out, f.errno);
            out.put(b")");
            return;
        }
        Some(loc) => out.put(loc.name().as_bytes()),
        None => {
            out.put(b"unknown(");
            number(out, f.location as i64);
            out.put(b")");
        }
    }
    out.put(b"(");
    number(out, f.index as i64);
    out.put(b")");
    if let (Some(loc), Some(spec)) = (location, spec) {
        subject(out, loc, f.index as usize, spec);
    }
    out.put(b": ");
    errno_text(out, f.errno);
}

/// strerror's words for `n` (lowercased first letter), `unknown error N` as glibc says for a
/// number it has no name for.
pub fn errno_text(out: &mut impl Out, n: i32) {
    strerror(out, n, false)
}

/// strerror's words for `n`, with the first letter as glibc writes it when `capital`.
fn strerror(out: &mut impl Out, n: i32, capital: bool) {
    let text = errno::bytes(n);
    let known = !text.is_empty();
    if let [first, rest @ ..] = if known { text } else { b"unknown error " } {
        out.put(&[if capital {
            first.to_ascii_uppercase()
        } else {
            *first
        }]);
        out.put(rest);
    }
    if !known {
        number(out, n as i64);
    }
}

/// A failure in bubblewrap's words, for the steps bubblewrap's callers meet
/// ([`BWRAP_WORDS`]), then `: ` and strerror as glibc writes it (none for errno 0); false
/// (nothing written) for any other step.
#[inline(never)]
fn bwrap_failure(out: &mut impl Out, f: &Failure, spec: &Spec) -> bool {
    let entry = spec.mounts.as_slice().get(f.index as usize);
    let (kind, source) = match entry {
        Some(MountEntry::Op(op)) => (op.kind as u32, op.source.to_bytes()),
        _ => (0, &b""[..]),
    };
    let found = BWRAP_STEPS.iter().enumerate().find(|(_, &(l, k, d))| {
        l as u32 == f.location && (k == 0 || k as u32 == kind) && d as u32 == f.detail
    });
    let Some((i, &(loc, ..))) = found else {
        return false;
    };
    if i >= CANT {
        out.put(b"Can't ");
    }
    // The words, with what the failure refers to at each mark.
    let words = errno::line(BWRAP_WORDS.as_bytes(), i);
    let mut start = 0;
    for (at, &b) in words.iter().enumerate() {
        if b < b' ' {
            out.put(&words[start..at]);
            match b {
                SOURCE => out.put(source),
                TARGET => out.put(entry.map_or(&b""[..], |m| m.target().to_bytes())),
                _ => subject(out, loc, f.index as usize, spec),
            }
            start = at + 1;
        }
    }
    out.put(&words[start..]);
    if f.errno != 0 {
        out.put(b": ");
        strerror(out, f.errno, true);
    }
    true
}

/// The steps bubblewrap has words for, the first that fits: location, mount kind (0: any) and
/// detail ([`mkdir_detail`] at `mount(mkdir)`, else 0). Their words are the lines of
/// [`BWRAP_WORDS`].
const BWRAP_STEPS: [(Location, u8, u8); 16] = {
    use crate::layout::mount_kind as kind;
    use Location as L;
    const PARENT: u8 = mkdir_detail::PARENT as u8;
    const FILE: u8 = mkdir_detail::FILE as u8;
    [
        (L::Execve, 0, 0),
        (L::Seccomp, 0, 0),
        (L::AssertUsernsDisabled, 0, 0),
        (L::Chdir, 0, 0),
        (L::SetHostName, 0, 0),
        (L::MountPath, kind::REMOUNT_RO as u8, 0),
        (L::MountPath, 0, 0),
        (L::MountMkdir, 0, PARENT),
        (L::MountMkdir, kind::SYMLINK as u8, 0),
        (L::MountMkdir, kind::FILE as u8, 0),
        (L::MountMkdir, 0, FILE),
        (L::MountMkdir, kind::BIND_DATA as u8, 0),
        (L::MountMkdir, 0, 0),
        (L::Mount, kind::PROC as u8, 0),
        (L::Mount, kind::TMPFS as u8, 0),
        (L::Mount, kind::BIND as u8, 0),
    ]
};

/// The steps of [`BWRAP_STEPS`] from this one on are said after `Can't `.
const CANT: usize = 3;
/// In [`BWRAP_WORDS`]: the mount operation's source (a bind's), its target, and (any other
/// control byte) what the failure's index refers to, as forkexec's words name it
/// (` PROG`, ` DIR`…).
const SOURCE: u8 = 1;
const TARGET: u8 = 2;

/// bubblewrap 0.11's words for the steps of [`BWRAP_STEPS`], one a line (from [`CANT`] on,
/// after `Can't `), with marks ([`SOURCE`], [`TARGET`], 3) where what the failure refers to
/// goes: `execvp PROG`, `prctl(PR_SET_SECCOMP)`, …, `Can't chdir to DIR`, …, `Can't mount
/// proc on /newroot/DEST`, `Can't bind mount /oldroot/SRC on /newroot/DEST: Unable to mount
/// source on destination`.
const BWRAP_WORDS: &str = "execvp\x03
prctl(PR_SET_SECCOMP)
creation of new user namespaces was not disabled as requested
chdir to\x03
set hostname to\x03
remount readonly on /newroot\x02: realpath(destination)
mkdir parents for \x02
mkdir parents for \x02
make symlink at \x02
create file \x02
create file at \x02
create file at \x02
mkdir \x02
mount proc on /newroot\x02
mount tmpfs on /newroot\x02
bind mount /oldroot\x01 on /newroot\x02: Unable to mount source on destination";

/// ` SUBJECT` for the entry `index` refers to at `loc`, when there is one worth naming.
fn subject(out: &mut impl Out, loc: Location, index: usize, spec: &Spec) {
    let mut put = |s: &[u8]| {
        if !s.is_empty() {
            out.put(b" ");
            out.put(s);
        }
    };
    match loc {
        Location::Mount | Location::MountMkdir | Location::MountPath => {
            if let Some(m) = spec.mounts.as_slice().get(index) {
                put(m.target().to_bytes());
            }
        }
        // What could not be opened or read: a bind's source, a file's content fd.
        Location::MountSource => match spec.mounts.as_slice().get(index) {
            Some(MountEntry::Op(op)) => match op.fd {
                Some(fd) => fd_subject(&mut put, fd),
                None => put(op.source.to_bytes()),
            },
            Some(MountEntry::Raw(m)) => put(m.source.to_bytes()),
            None => {}
        },
        Location::SetRlimit => {
            if let Some(name) = spec
                .rlimits
                .as_slice()
                .get(index)
                .and_then(|r| layout::RLIMIT_NAMES.get(r.resource as usize))
            {
                put(name.as_bytes());
            }
        }
        Location::Execve => match (spec.exec_path, spec.exec_fd) {
            (Some(p), _) => put(p.to_bytes()),
            (None, Some(fd)) => fd_subject(&mut put, fd),
            (None, None) => put(path(spec.args.first())),
        },
        Location::Chdir => put(path(spec.work_dir)),
        Location::MountTmpfs | Location::MountChdir | Location::PivotRoot => {
            put(path(spec.pivot_root))
        }
        Location::SetHostName => put(path(spec.host_name)),
        Location::SetDomainName => put(path(spec.domain_name)),
        Location::Cgroup => put(path(spec.cgroup_path)),
        Location::LandlockPath => {
            if let Some(rule) = spec.landlock_paths.as_slice().get(index) {
                put(rule.path.to_bytes());
            }
        }
        Location::LockFile => {
            if let Some(path) = spec.lock_files.as_slice().get(index) {
                put(path.to_bytes());
            }
        }
        Location::SyncFd => {
            if let Some(fd) = spec.sync_fd {
                fd_subject(&mut put, fd);
            }
        }
        Location::BlockFd => {
            if let Some(fd) = [spec.block_fd, spec.userns_block_fd]
                .get(index)
                .copied()
                .flatten()
            {
                fd_subject(&mut put, fd);
            }
        }
        Location::SetNs => {
            if let Some(j) = spec.join_ns {
                if let Some(fd) = [j.user, j.pid, j.user2].get(index).copied().flatten() {
                    fd_subject(&mut put, fd);
                }
            }
        }
        Location::InfoFd => {
            if let Some(fd) = [spec.info_fd, spec.json_status_fd]
                .get(index)
                .copied()
                .flatten()
            {
                fd_subject(&mut put, fd);
            }
        }
        _ => {}
    }
}

/// A path's bytes, or nothing.
fn path(p: Option<&CStr>) -> &[u8] {
    p.map_or(&[], |p| p.to_bytes())
}

fn fd_subject(put: &mut impl FnMut(&[u8]), fd: u32) {
    let mut digits = [0u8; 20];
    let mut line = [0u8; 23];
    line[..3].copy_from_slice(b"fd ");
    let d = decimal(fd as i64, &mut digits);
    line[3..3 + d.len()].copy_from_slice(d);
    put(&line[..3 + d.len()]);
}

fn number(out: &mut impl Out, n: i64) {
    let mut digits = [0u8; 20];
    out.put(decimal(n, &mut digits));
}

/// `n` in decimal (with a `-` when negative), written into the end of `out`.
fn decimal(n: i64, out: &mut [u8; 20]) -> &[u8] {
    let mut v = n.unsigned_abs();
    let mut i = out.len();
    loop {
        i -= 1;
        out[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if n < 0 {
        i -= 1;
        out[i] = b'-';
    }
    &out[i..]
}
