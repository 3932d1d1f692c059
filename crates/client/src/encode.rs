//! [`Spec::encode`]: the owned spec to wire bytes, checked by the helper's own decoder.
//!
//! # Record order
//!
//! The decoder accepts records in any order, but an encoder's output should be reproducible:
//! committed byte-exact test vectors and the Python client assume exactly this order.
//!
//! | # | record | written when |
//! |---|---|---|
//! | 1 | ARGS | always (even empty, so the decoder reports the missing argv) |
//! | 2 | ENV | `env` is not empty |
//! | 3 | EXEC_PATH | `exec_path` is set |
//! | 4 | EXEC_FD | `exec_file` is set |
//! | 5 | RLIMIT × n | once per `rlimits` entry, in order |
//! | 6 | FILES | `files` is not empty |
//! | 7 | WORK_DIR | `work_dir` is not empty |
//! | 8 | SECCOMP × n | once per `seccomp` program, in order (an empty program is written, and refused) |
//! | 9 | CLONE_FLAGS | at least one namespace (the OR of them) |
//! | 10 | MOUNT / MOUNT_OP × n | once per `mounts` entry, in order: MOUNT for a raw [`Mount`], MOUNT_OP for a [`MountOp`](crate::MountOp) |
//! | 11 | PIVOT_ROOT | `pivot_root` is not empty |
//! | 12 | HOST_NAME | `host_name` is not empty |
//! | 13 | DOMAIN_NAME | `domain_name` is not empty |
//! | 14 | UID_MAP | `uid_mappings` is not empty |
//! | 15 | GID_MAP | `gid_mappings` is not empty |
//! | 16 | CREDENTIAL | `credential` is set |
//! | 17 | OPTIONS | at least one option bit (`setsid: false` is the `NO_SETSID` bit) |
//! | 18 | STATUS_FD | `status_fd` is set |
//! | 19 | CGROUP_PATH | `cgroup` is not empty |
//! | 20 | CGROUP_FD | `cgroup_fd` is set |
//!
//! All records carry record flags 0. Negative fds are written as their two's complement
//! `u32` and so refused by the decoder (`fd out of range`), except -1 inside FILES (and a
//! MOUNT_OP's fd field, where -1 means none; a negative fd of a [`MountOp`](crate::MountOp) is refused
//! before encoding).

use std::fmt;

use forkexec_spec::encode::{Sink, Writer};
use std::ffi::CString;

use forkexec_spec::decode as wire;
use forkexec_spec::layout::caps::LEAVE_SETS;
use forkexec_spec::layout::{self, cred_flag, mount_opt, record};
use forkexec_spec::tables::KindInfo;
use forkexec_spec::{Shape, SpecError};

use crate::names::{MountFlag, Namespace};
use crate::spec::{IdMap, Mount, MountEntry, Spec};
use crate::sys;

/// Why a spec was not encoded: the helper would refuse it, so no helper is spawned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// A string contains a NUL byte, which would silently cut it short on the wire.
    Nul {
        /// The JSON key path of the string, e.g. `args[1]` or `mounts[0].target`.
        field: String,
    },
    /// A mount operation's fields do not fit its kind ([`MountOp::check`](crate::MountOp::check)), e.g. a `mode` on
    /// a bind, or a bind with both `source` and `source_fd`.
    Invalid {
        /// The entry, e.g. `mounts[2]`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The helper's decoder refuses the encoded bytes.
    Refused {
        /// The decoder's refusal: its fault and byte offset.
        error: SpecError,
        /// What sits at the offending offset: a record name (`clone_flags`, `mounts[2]`),
        /// `header`, or `end of spec`.
        record: String,
    },
}

impl EncodeError {
    /// The decoder's refusal, if that is what this is.
    pub fn spec_error(&self) -> Option<SpecError> {
        match self {
            EncodeError::Refused { error, .. } => Some(*error),
            EncodeError::Nul { .. } | EncodeError::Invalid { .. } => None,
        }
    }

    /// A decoder refusal of `bytes`, labelled with the record at the offset.
    pub(crate) fn refused(bytes: &[u8], error: SpecError) -> Self {
        EncodeError::Refused {
            error,
            record: record_at(bytes, error.offset as usize),
        }
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::Nul { field } => write!(f, "spec: {field} contains a NUL byte"),
            EncodeError::Invalid { field, reason } => write!(f, "spec: {field}: {reason}"),
            EncodeError::Refused { error, record } => write!(f, "spec: {error} ({record})"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// The encoder's output buffer (a newtype: `Sink` and `Vec` are both foreign here).
struct VecSink(Vec<u8>);

impl Sink for VecSink {
    fn put(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
    fn written(&self) -> usize {
        self.0.len()
    }
    fn patch(&mut self, at: usize, bytes: [u8; 4]) {
        self.0[at..at + 4].copy_from_slice(&bytes);
    }
}

/// Decodes `bytes` as the helper does and answers `f` of the decoded spec, a refusal as
/// [`EncodeError::Refused`]. The decoded spec is some 26 KB (its lists have room for every
/// record the limits allow), and each page of it is a page fault in a fresh process: it is
/// made once a start (the check and the shape share it, [`Spec::encode_shaped`]) and on the
/// heap; made by [`forkexec_spec::decode`] on the stack, returned and copied, it took some
/// 50 KB of stack (forkexec-run in bubblewrap mode: 73 → 60 page faults a start).
pub(crate) fn decoded<T>(
    bytes: &[u8],
    f: impl FnOnce(&wire::Spec<'_>) -> Result<T, SpecError>,
) -> Result<T, EncodeError> {
    let mut spec = Box::<wire::Spec<'_>>::default();
    forkexec_spec::decode_into(bytes, &mut spec)
        .and_then(|()| f(&spec))
        .map_err(|e| EncodeError::refused(bytes, e))
}

/// The process shape the helper will use (it decides the same way), with its refusals
/// (ptrace in a supervised clone), which depend on who is asking and so are not part of
/// [`Spec::encode`].
pub(crate) fn shape_of(bytes: &[u8]) -> Result<Shape, EncodeError> {
    let (euid, egid) = sys::effective_ids();
    decoded(bytes, |spec| spec.shape(euid, egid))
}

impl Spec {
    /// The wire bytes the helper reads, in the order documented on this module, after checking
    /// them with the helper's own decoder: a spec the helper would refuse is refused here,
    /// with the same fault and offset.
    ///
    /// Refusals that depend on the caller's identity (the exec-in-place shape's limits on id
    /// maps) are checked by [`crate::Runner::start`], not here.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let bytes = self.write()?;
        decoded(&bytes, |_| Ok(()))?;
        Ok(bytes)
    }

    /// [`Spec::encode`], and the process shape the helper runs it in (for a helper with this
    /// process's effective ids), with the shape's refusals: one decode for both.
    pub(crate) fn encode_shaped(&self) -> Result<(Vec<u8>, Shape), EncodeError> {
        let bytes = self.write()?;
        let shape = shape_of(&bytes)?;
        Ok((bytes, shape))
    }

    /// The wire bytes, not yet checked by the decoder.
    fn write(&self) -> Result<Vec<u8>, EncodeError> {
        self.check_nul()?;
        self.check_mount_ops()?;
        let mut w = Writer::new(VecSink(Vec::with_capacity(self.size_hint())));
        w.args(self.args.iter().map(|s| s.as_bytes()));
        if !self.env.is_empty() {
            w.env(self.env.iter().map(|s| s.as_bytes()));
        }
        if let Some(path) = &self.exec_path {
            w.exec_path(path.as_bytes());
        }
        if let Some(fd) = self.exec_file {
            w.exec_fd(fd as u32);
        }
        for r in &self.rlimits {
            w.rlimit(&wire::Rlimit {
                resource: r.resource.value(),
                cur: r.cur,
                max: r.max,
            });
        }
        if !self.files.is_empty() {
            w.files(&self.files);
        }
        if !self.work_dir.is_empty() {
            w.work_dir(self.work_dir.as_bytes());
        }
        for filter in &self.seccomp {
            w.seccomp(filter.iter().map(|i| (i.code, i.jt, i.jf, i.k)));
        }
        let clone_flags = self.clone_flag_bits();
        if clone_flags != 0 {
            w.clone_flags(clone_flags);
        }
        for entry in &self.mounts {
            match entry {
                MountEntry::Raw(m) => {
                    let strings = [&m.source, &m.target, &m.fstype, &m.data].map(|s| c(s));
                    w.mount(&wire::Mount {
                        flags: m.flags.iter().fold(0, |acc, f| acc | MountFlag::value(*f)),
                        options: mount_options(m),
                        source: &strings[0],
                        target: &strings[1],
                        fstype: &strings[2],
                        data: &strings[3],
                    })
                }
                MountEntry::Op(op) => {
                    let (source, target) = (c(&op.source), c(&op.target));
                    let content = op.wire_content();
                    w.mount_op(&wire::MountOp {
                        kind: op.kind.value(),
                        flags: op.flag_bits(),
                        mode: op.mode,
                        size: op.size,
                        // Negative fds are refused by check_mount_ops.
                        fd: op.fd().map(|fd| fd as u32),
                        source: &source,
                        target: &target,
                        content: &content,
                    })
                }
            }
        }
        if !self.pivot_root.is_empty() {
            w.pivot_root(self.pivot_root.as_bytes());
        }
        if !self.host_name.is_empty() {
            w.host_name(self.host_name.as_bytes());
        }
        if !self.domain_name.is_empty() {
            w.domain_name(self.domain_name.as_bytes());
        }
        if !self.uid_mappings.is_empty() {
            w.uid_map(id_entries(&self.uid_mappings));
        }
        if !self.gid_mappings.is_empty() {
            w.gid_map(id_entries(&self.gid_mappings));
        }
        if let Some(c) = &self.credential {
            let flags = if c.no_set_groups {
                cred_flag::NO_SETGROUPS
            } else {
                0
            };
            w.credential(c.uid, c.gid, flags, &c.groups);
        }
        let options = self.option_bits();
        if options != 0 {
            w.options(options);
        }
        if let Some(fd) = self.status_fd {
            w.status_fd(fd as u32);
        }
        if !self.cgroup.is_empty() {
            w.cgroup_path(self.cgroup.as_bytes());
        }
        if let Some(fd) = self.cgroup_fd {
            w.cgroup_fd(fd as u32);
        }
        if let Some(l) = &self.landlock {
            write_landlock(&mut w, l)?;
        }
        if let Some(fd) = self.info_fd {
            w.info_fd(fd as u32);
        }
        if let Some(fd) = self.json_status_fd {
            w.json_status_fd(fd as u32);
        }
        if let Some(j) = self.join_ns {
            // Negative fds are refused by the decoder (FdOutOfRange).
            let fd = |f: Option<i32>| f.map(|f| f as u32);
            w.join_ns(fd(j.user), fd(j.pid), fd(j.user2));
        }
        for path in &self.lock_files {
            w.lock_file(path.as_bytes());
        }
        if let Some(fd) = self.sync_fd {
            w.sync_fd(fd as u32);
        }
        if let Some(c) = &self.caps {
            let kept = c.mask().map_err(|n| EncodeError::Invalid {
                field: "caps.keep".into(),
                reason: format!("{n} is not a capability number (0-63)"),
            })?;
            w.caps(kept, if c.leave_sets { LEAVE_SETS } else { 0 });
        }
        if let Some(fd) = self.block_fd {
            w.block_fd(fd as u32);
        }
        if let Some(fd) = self.userns_block_fd {
            w.userns_block_fd(fd as u32);
        }
        Ok(w.finish().0)
    }

    /// The CLONE_FLAGS bits: the OR of `clone_flags`.
    pub fn clone_flag_bits(&self) -> u64 {
        self.clone_flags
            .iter()
            .fold(0, |acc, ns| acc | Namespace::value(*ns))
    }

    /// Refuses strings with a NUL byte, naming the field: on the wire a NUL ends a string, so
    /// `"a\0b"` would become `"a"` (or two argv entries) instead of an error.
    fn check_nul(&self) -> Result<(), EncodeError> {
        let nul = |field: String| Err(EncodeError::Nul { field });
        for (key, list) in [("args", &self.args), ("env", &self.env)] {
            if let Some(i) = list.iter().position(|s| has_nul(s)) {
                return nul(format!("{key}[{i}]"));
            }
        }
        let singles = [
            ("exec_path", self.exec_path.as_deref().unwrap_or("")),
            ("work_dir", &self.work_dir),
            ("pivot_root", &self.pivot_root),
            ("cgroup", &self.cgroup),
            ("host_name", &self.host_name),
            ("domain_name", &self.domain_name),
        ];
        if let Some((key, _)) = singles.iter().find(|(_, s)| has_nul(s)) {
            return nul((*key).to_owned());
        }
        for (i, entry) in self.mounts.iter().enumerate() {
            let fields = match entry {
                MountEntry::Raw(m) => vec![
                    ("source", &m.source),
                    ("target", &m.target),
                    ("fstype", &m.fstype),
                    ("data", &m.data),
                ],
                // A file's content is the rest of the record: NUL bytes are fine there;
                // an overlay's layers are NUL-terminated paths.
                MountEntry::Op(op) => [("source", &op.source), ("target", &op.target)]
                    .into_iter()
                    .chain([("upper", &op.upper), ("work", &op.work)])
                    .chain(op.lower.iter().map(|l| ("lower", l)))
                    .collect(),
            };
            if let Some((key, _)) = fields.iter().find(|(_, s)| has_nul(s)) {
                return nul(format!("mounts[{i}].{key}"));
            }
        }
        Ok(())
    }

    /// Refuses a mount operation whose fields do not fit its kind ([`MountOp::check`](crate::MountOp::check)), with
    /// the reason, before the decoder would refuse it with only a fault and an offset.
    fn check_mount_ops(&self) -> Result<(), EncodeError> {
        for (i, entry) in self.mounts.iter().enumerate() {
            if let MountEntry::Op(op) = entry {
                op.check().map_err(|reason| EncodeError::Invalid {
                    field: format!("mounts[{i}]"),
                    reason,
                })?;
            }
        }
        Ok(())
    }

    /// Roughly the encoded size, so the buffer is allocated once.
    fn size_hint(&self) -> usize {
        let strings = |v: &[String]| v.iter().map(|s| s.len() + 1).sum::<usize>();
        256 + strings(&self.args)
            + strings(&self.env)
            + self.mounts.len() * 128
            + self
                .mounts
                .iter()
                .filter_map(MountEntry::as_op)
                .map(|op| op.wire_content().len())
                .sum::<usize>()
            + self
                .seccomp
                .iter()
                .map(|f| f.len() * layout::SOCK_FILTER_LEN)
                .sum::<usize>()
    }
}

fn mount_options(m: &Mount) -> u32 {
    let mut options = 0;
    if m.mkdir {
        options |= mount_opt::MKDIR;
    }
    if m.file {
        options |= mount_opt::FILE;
    }
    options
}

/// The LANDLOCK records: `fs`/`net` present (even empty) handle every right of their kind.
fn write_landlock(w: &mut Writer<VecSink>, l: &crate::Landlock) -> Result<(), EncodeError> {
    use crate::landlock::{fs_bits, net_bits, scope_bits};
    use forkexec_spec::layout::landlock::EXACT;
    use forkexec_spec::tables::{landlock_fs, landlock_net};
    let invalid = |field: String| move |reason: String| EncodeError::Invalid { field, reason };
    let scoped = scope_bits(&l.scope).map_err(invalid("landlock.scope".into()))?;
    let fs = if l.fs.is_some() {
        landlock_fs::KNOWN
    } else {
        0
    };
    let net = if l.net.is_some() {
        landlock_net::KNOWN
    } else {
        0
    };
    if fs == 0 && net == 0 && scoped == 0 {
        return Err(EncodeError::Invalid {
            field: "landlock".into(),
            reason: "restricts nothing: give `fs`, `net` (even empty) or `scope`".into(),
        });
    }
    w.landlock(fs, net, scoped, if l.exact { EXACT } else { 0 });
    for (i, rule) in l.fs.iter().flatten().enumerate() {
        let field = format!("landlock.fs[{i}]");
        let access = fs_bits(&rule.access).map_err(invalid(field.clone()))?;
        if has_nul(&rule.path) {
            return Err(EncodeError::Nul {
                field: field + ".path",
            });
        }
        w.landlock_path(access, rule.path.as_bytes());
    }
    for (i, rule) in l.net.iter().flatten().enumerate() {
        let access = net_bits(&rule.access).map_err(invalid(format!("landlock.net[{i}]")))?;
        w.landlock_port(access, rule.port as u64);
    }
    Ok(())
}

fn id_entries(maps: &[IdMap]) -> impl Iterator<Item = (u32, u32, u32)> + '_ {
    maps.iter().map(|m| (m.container_id, m.host_id, m.size))
}

/// A string for the writer; `check_nul` has refused every string with a NUL already.
fn c(s: &str) -> CString {
    CString::new(s).expect("NUL refused by check_nul")
}

fn has_nul(s: &str) -> bool {
    s.as_bytes().contains(&0)
}

/// Names what sits at byte `offset` of a well-framed spec, for messages: the record whose
/// header or payload contains it (`mounts[i]` and `rlimits[i]` counted in order, `seccomp[i]`
/// when there are several programs, others by [`record::name`]), `header`, or `end of spec`.
pub(crate) fn record_at(bytes: &[u8], offset: usize) -> String {
    if offset < layout::HEADER_LEN {
        return "header".to_owned();
    }
    let field = |at: usize, n: usize| -> Option<usize> {
        let b = bytes.get(at..at + n)?;
        Some(b.iter().rev().fold(0, |acc, &x| acc << 8 | x as usize))
    };
    let (mut at, mut rlimits, mut mounts, mut programs) = (layout::HEADER_LEN, 0, 0, 0);
    let several_programs = {
        let (mut at, mut n) = (layout::HEADER_LEN, 0);
        while let (Some(ty), Some(len)) = (field(at, 2), field(at + 4, 4)) {
            n += usize::from(ty as u16 == record::SECCOMP);
            at = at
                .saturating_add(layout::RECORD_HEADER_LEN)
                .saturating_add(len);
        }
        n > 1
    };
    while let (Some(ty), Some(len)) = (field(at, 2), field(at + 4, 4)) {
        let end = at
            .saturating_add(layout::RECORD_HEADER_LEN)
            .saturating_add(len);
        let ty = ty as u16;
        if offset < end {
            return match ty {
                record::RLIMIT => format!("rlimits[{rlimits}]"),
                record::SECCOMP if several_programs => format!("seccomp[{programs}]"),
                record::MOUNT => format!("mounts[{mounts}]"),
                record::MOUNT_OP => {
                    let payload = bytes.get(at + layout::RECORD_HEADER_LEN..end);
                    let payload_at = at + layout::RECORD_HEADER_LEN;
                    match payload.and_then(|p| mount_op_field(p, offset.checked_sub(payload_at)?)) {
                        Some(key) => format!("mounts[{mounts}].{key}"),
                        None => format!("mounts[{mounts}]"),
                    }
                }
                _ => record::name(ty).to_owned(),
            };
        }
        match ty {
            record::RLIMIT => rlimits += 1,
            record::SECCOMP => programs += 1,
            record::MOUNT | record::MOUNT_OP => mounts += 1,
            _ => {}
        }
        at = end;
    }
    "end of spec".to_owned()
}

/// The JSON key of a MOUNT_OP payload's byte `at` (`type`, `mode`, `size`, `source_fd` or
/// `content_fd`, `source`, `target`, `content`); `None` for the flag bits, which are several
/// keys. The fixed fields' ranges are `layout::off::mount_op`'s offsets.
fn mount_op_field(p: &[u8], at: usize) -> Option<&'static str> {
    use layout::off::mount_op as o;
    let fixed = layout::MOUNT_OP_FIXED_LEN;
    if at < fixed {
        return match at {
            _ if at < o::FLAGS => Some("type"),
            _ if at < o::MODE => None,
            _ if at < o::SIZE => Some("mode"),
            _ if at < o::FD => Some("size"),
            _ => {
                let &[a, b] = p.get(o::KIND..o::FLAGS)? else {
                    return None;
                };
                let kind = u16::from_le_bytes([a, b]);
                Some(KindInfo::of(kind).map_or("source_fd", |k| k.fd_key()))
            }
        };
    }
    let rest = p.get(fixed..)?;
    let source_end = fixed + rest.iter().position(|&b| b == 0)?;
    if at <= source_end {
        return Some("source");
    }
    let target_end = source_end + 1 + p.get(source_end + 1..)?.iter().position(|&b| b == 0)?;
    let kind = u16::from_le_bytes([*p.first()?, *p.get(1)?]);
    let layers = KindInfo::of(kind).is_some_and(|k| k.lower != 0);
    Some(if at <= target_end {
        "target"
    } else if layers {
        "lower" // an overlay's layers: upper, work and lower are all refused the same ways
    } else {
        "content"
    })
}

/// Generates [`Spec::option_bits`] from the option table: one term per row of
/// `forkexec_spec::option_rows!`, the `Spec` boolean its row names (`!setsid`: set when false).
macro_rules! option_bits_from_table {
    ({} $( $(#[$doc:meta])* $Variant:ident $CONST:ident = $value:expr => $name:literal {
        field: $($field:tt)+
    }, )*) => {
        impl Spec {
            /// The OPTIONS bits ([`forkexec_spec::layout::opt`]) for the booleans: a bit per
            /// row of the option table, each set by the field its row names.
            pub fn option_bits(&self) -> u64 {
                0 $( | if option_on!(self, $($field)+) { $value } else { 0 } )*
            }
        }
    };
}

/// A `Spec` boolean of an option row: `field` or `!field`.
macro_rules! option_on {
    ($spec:ident, ! $field:ident) => {
        !$spec.$field
    };
    ($spec:ident, $field:ident) => {
        $spec.$field
    };
}

forkexec_spec::option_rows! { option_bits_from_table! {} }

#[cfg(test)]
mod tests {
    use super::*;

    /// Bits the typed API cannot produce, patched into the bytes: the refusal names the
    /// record they sit in.
    #[test]
    fn unknown_clone_bits_are_located_in_clone_flags() {
        let spec = Spec {
            clone_flags: vec![Namespace::NewNs],
            ..Spec::new(["/bin/true"])
        };
        let mut bytes = spec.encode().unwrap();
        // ARGS ends at 12 + 8 + 10 = 30; CLONE_FLAGS' payload starts 8 bytes later.
        assert_eq!(&bytes[30..32], &record::CLONE_FLAGS.to_le_bytes());
        bytes[38 + 7] |= 0x80;
        let error = forkexec_spec::decode(&bytes).unwrap_err();
        let e = EncodeError::refused(&bytes, error);
        assert_eq!(
            e.to_string(),
            "spec: unknown flag bits at byte 38 (clone_flags)"
        );
    }

    #[test]
    fn offsets_are_named_by_record() {
        let spec = Spec {
            rlimits: vec![
                crate::Rlimit::new(crate::Resource::Cpu, 1, 1),
                crate::Rlimit::new(crate::Resource::Core, 0, 0),
            ],
            ..Spec::new(["/bin/true"])
        };
        let bytes = spec.encode().unwrap();
        assert_eq!(record_at(&bytes, 0), "header");
        assert_eq!(record_at(&bytes, 11), "header");
        assert_eq!(record_at(&bytes, 12), "args");
        assert_eq!(record_at(&bytes, 29), "args");
        assert_eq!(record_at(&bytes, 30), "rlimits[0]");
        assert_eq!(record_at(&bytes, 30 + 28), "rlimits[1]");
        assert_eq!(record_at(&bytes, bytes.len()), "end of spec");
    }

    /// Each byte of a MOUNT_OP payload is named by its JSON key (the flag bits by the entry).
    #[test]
    fn mount_op_bytes_are_named_by_their_key() {
        for (op, fd_key) in [
            (crate::MountOp::file_from_fd(7, "/t"), "content_fd"),
            (crate::MountOp::bind_fd(7, "/t"), "source_fd"),
        ] {
            let spec = Spec {
                clone_flags: vec![Namespace::NewNs],
                mounts: vec![op.into()],
                ..Spec::new(["/bin/true"])
            };
            let bytes = spec.encode().unwrap();
            // ARGS and CLONE_FLAGS end at 46; the MOUNT_OP's header is 8 bytes; its payload
            // is 20 fixed bytes, "" and "/t" with their NULs.
            let p = 46 + 8;
            assert_eq!(bytes.len(), p + 20 + 1 + 3);
            let key = |at: usize| record_at(&bytes, p + at);
            for (at, want) in [
                (0, "type"),
                (1, "type"),
                (4, "mode"),
                (7, "mode"),
                (8, "size"),
                (15, "size"),
                (16, fd_key),
                (19, fd_key),
                (20, "source"),
                (21, "target"),
                (23, "target"),
            ] {
                assert_eq!(key(at), format!("mounts[0].{want}"), "byte {at}");
            }
            assert_eq!((key(2), key(3)), ("mounts[0]".into(), "mounts[0]".into()));
            assert_eq!(record_at(&bytes, p - 1), "mounts[0]");
        }
    }
}
