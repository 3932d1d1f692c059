//! A second, independent v1 validator written from docs/spec.md alone ("Header", "Record
//! framing", each record's "Faults, in order", "Order of checks"), not from `decode.rs`. The
//! fuzz targets require `forkexec_spec::decode` to accept exactly what this accepts and to
//! refuse the rest with the same fault at the same offset, which checks the decoder and the
//! claim that docs/spec.md is enough to write a compatible decoder from.
//!
//! Only the refusal is computed here; the accepted fields are checked by re-encoding.
//!
//! The bit sets (option bits, clone flags, mount flags, Landlock rights and scopes) and what
//! each mount kind takes are the generated tables of docs/spec.md ("Tables"), read from
//! `forkexec_spec::tables` as that section is generated from it; the rules are written here.
//!
//! Also compiled into `crates/spec/tests/reference.rs`, so `make test` fails when the crate
//! gains a record type or a mount kind this reference does not know, and checks the
//! reference against the decoder on every vector and on each byte of them changed.

use forkexec_spec::decode::Fault;
use forkexec_spec::layout::{mount_flags, ns, opt};
use forkexec_spec::tables::{landlock_fs, landlock_net, landlock_scope, KindInfo, SourceRule};

type Refusal = (usize, Fault);

/// The record types this reference implements: every type docs/spec.md defines, ARGS (1)
/// ..= USERNS_BLOCK_FD (32). A spec with a type the crate knows above it is left out of the
/// comparison ([`models`]); `crates/spec/tests/reference.rs` fails until it is written here.
pub const LAST_MODELED_RECORD: u16 = 32;
/// The mount operation kinds this reference implements: bind (1) ..= chmod (15). See
/// [`LAST_MODELED_RECORD`].
pub const LAST_MODELED_KIND: u16 = 15;

/// Record types that may appear more than once: RLIMIT, SECCOMP, MOUNT, MOUNT_OP,
/// LANDLOCK_PATH, LANDLOCK_PORT, LOCK_FILE (docs/spec.md, "Record types", the "repeatable"
/// column).
pub const REPEATABLE: [u16; 7] = [5, 8, 10, 21, 23, 24, 28];

/// Whether every record of `buf` (as far as its framing reads) is one this reference
/// implements: no known record type above [`LAST_MODELED_RECORD`] (with the skip flag or
/// without), no MOUNT_OP kind above [`LAST_MODELED_KIND`].
pub fn models(buf: &[u8]) -> bool {
    if buf.len() < 12 {
        return true;
    }
    let total = (u32_at(buf, 8) as usize).min(buf.len());
    let mut r = 12;
    while r + 8 <= total {
        let (ty, len) = (u16_at(buf, r), u32_at(buf, r + 4) as usize);
        // A known type this reference does not implement, skip flag or not (the decoder
        // parses every type it knows); unknown types are judged here as the decoder does.
        if ty > LAST_MODELED_RECORD && forkexec_spec::layout::record::known(ty) {
            return false;
        }
        let p = r + 8;
        if ty == 21 && p + 2 <= total && unmodeled_kind(u16_at(buf, p)) {
            return false;
        }
        if len > total - p {
            break;
        }
        r = p + len;
    }
    true
}

/// A mount kind the crate knows above [`LAST_MODELED_KIND`].
fn unmodeled_kind(kind: u16) -> bool {
    kind > LAST_MODELED_KIND && KindInfo::of(kind).is_some()
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

const SPEC_MAX: usize = 4_194_304;
const FD_MAX: u32 = 1 << 20;
const PATH_MAX: usize = 4096;
/// At most 64 LANDLOCK_PATH and 64 LANDLOCK_PORT records.
const LANDLOCK_RULES: usize = 64;
/// At most 8 LOCK_FILE records.
const LOCK_FILES: usize = 8;
/// At most 500 lower directories in an overlay, besides upper and work.
const OVERLAY_LOWER: usize = 500;

/// One single string filling the payload at `p` (`len` bytes, `len` ≥ 0): Unterminated,
/// InteriorNul, TooLong over `limit`, in that order. Returns the string's length (no NUL).
fn single_string(buf: &[u8], p: usize, len: usize, limit: usize) -> Result<usize, Refusal> {
    let payload = &buf[p..p + len];
    let Some(nul) = payload.iter().position(|&b| b == 0) else {
        return Err((p + len, Fault::Unterminated));
    };
    if nul != len - 1 {
        return Err((p + nul, Fault::InteriorNul));
    }
    if len > limit {
        return Err((p, Fault::TooLong));
    }
    Ok(nul)
}

/// An fd field of a u32 fd record (EXEC_FD and the others like it).
fn fd_record(buf: &[u8], r: usize, len: usize) -> Result<u32, Refusal> {
    if len != 4 {
        return Err((r + 4, Fault::BadRecordLength));
    }
    let fd = u32_at(buf, r + 8);
    if fd >= FD_MAX {
        return Err((r + 8, Fault::FdOutOfRange));
    }
    Ok(fd)
}

/// "Order of checks": `Ok(())` for a spec the decoder must accept, else the first refusal.
pub fn validate(buf: &[u8]) -> Result<(), Refusal> {
    let n = buf.len();
    // 1. Header.
    for (i, &m) in b"FXSP".iter().enumerate().take(n.min(4)) {
        if buf[i] != m {
            return Err((i, Fault::BadMagic));
        }
    }
    if n < 12 {
        return Err((n, Fault::Truncated));
    }
    if u16_at(buf, 4) != 1 {
        return Err((4, Fault::BadVersion));
    }
    if u16_at(buf, 6) != 0 {
        return Err((6, Fault::UnknownBits));
    }
    let total = u32_at(buf, 8) as usize;
    if !(12..=SPEC_MAX).contains(&total) {
        return Err((8, Fault::BadTotalLength));
    }
    if total > n {
        return Err((n, Fault::Truncated));
    }
    if total < n {
        return Err((8, Fault::BadTotalLength));
    }

    // 2. Records.
    let mut seen = [false; LAST_MODELED_RECORD as usize + 1];
    let (mut rlimits, mut mounts, mut seccomp_programs) = (0, 0, 0);
    let mut args: Option<(usize, bool)> = None; // (strings, first is empty)
    let (mut exec_path, mut exec_fd) = (None, false);
    let (mut first_mount, mut pivot, mut uts) = (None, None, None);
    let (mut uid_map, mut gid_map) = (None, None);
    let (mut cgroup_path, mut cgroup_fd) = (None, None);
    let mut json_status = None;
    // The first LOCK_FILE's R and how many; SYNC_FD's R.
    let (mut lock_file, mut lock_files, mut sync_fd) = (None, 0, None);
    // BLOCK_FD's R and fd; USERNS_BLOCK_FD's R.
    let (mut block_fd, mut userns_block) = (None, None);
    // JOIN_NS: (R, joins a user namespace, joins a pid namespace).
    let mut join_ns: Option<(usize, bool, bool)> = None;
    // CAPS: R.
    let mut caps = None;
    // LANDLOCK's handled filesystem and network rights; each rule's P and rights.
    let mut landlock: Option<(u64, u64)> = None;
    let mut ll_paths: Vec<(usize, u64)> = vec![];
    let mut ll_ports: Vec<(usize, u64)> = vec![];
    // FILES entries, and the offset of each mount operation's fd field with its value.
    let mut files: Vec<i32> = Vec::new();
    let mut op_fds: Vec<(usize, i32)> = Vec::new();
    let (mut clone, mut options, mut options_at) = (0u64, 0u64, 0usize);
    let mut r = 12;
    while r < total {
        if total - r < 8 {
            return Err((total, Fault::Truncated));
        }
        let (ty, flags, len) = (
            u16_at(buf, r),
            u16_at(buf, r + 2),
            u32_at(buf, r + 4) as usize,
        );
        if len > total - r - 8 {
            return Err((total, Fault::Truncated));
        }
        if flags & !1 != 0 {
            return Err((r + 2, Fault::UnknownBits));
        }
        let p = r + 8;
        let payload = &buf[p..p + len];
        let next = p + len;
        if ty == 0 || ty > LAST_MODELED_RECORD {
            if flags & 1 != 0 {
                r = next;
                continue;
            }
            return Err((r, Fault::UnknownRecord));
        }
        if !REPEATABLE.contains(&ty) {
            if seen[ty as usize] {
                return Err((r, Fault::DuplicateRecord));
            }
            seen[ty as usize] = true;
        }
        let bad_len = Err((r + 4, Fault::BadRecordLength));
        match ty {
            // ARGS, ENV.
            1 | 2 => {
                if payload.last().is_some_and(|&b| b != 0) {
                    return Err((p + len, Fault::Unterminated));
                }
                let count = payload.iter().filter(|&&b| b == 0).count();
                if count > 262_144 {
                    return Err((p, Fault::TooMany));
                }
                if ty == 1 {
                    args = Some((count, payload.first() == Some(&0)));
                }
            }
            // Single strings.
            3 | 7 | 11 | 12 | 13 | 19 => {
                let limit = if ty == 12 || ty == 13 { 65 } else { PATH_MAX };
                let slen = single_string(buf, p, len, limit)?;
                if matches!(ty, 3 | 7 | 11 | 19) && slen == 0 {
                    return Err((p, Fault::BadValue));
                }
                if matches!(ty, 11 | 19) && payload[0] != b'/' {
                    return Err((p, Fault::BadValue));
                }
                match ty {
                    3 => exec_path = Some(r),
                    11 => pivot = Some(r),
                    12 | 13 => uts = Some(r),
                    19 => cgroup_path = Some(r),
                    _ => {}
                }
            }
            // Fds: EXEC_FD, STATUS_FD, CGROUP_FD, INFO_FD, JSON_STATUS_FD, SYNC_FD, BLOCK_FD,
            // USERNS_BLOCK_FD.
            4 | 18 | 20 | 25 | 26 | 29 | 31 | 32 => {
                let fd = fd_record(buf, r, len)?;
                match ty {
                    31 => block_fd = Some((r, fd)),
                    32 => userns_block = Some(r),
                    4 => exec_fd = true,
                    20 => cgroup_fd = Some(r),
                    26 => json_status = Some(r),
                    29 => sync_fd = Some(r),
                    _ => {}
                }
            }
            // RLIMIT.
            5 => {
                if rlimits == 16 {
                    return Err((r, Fault::TooMany));
                }
                if len != 20 {
                    return bad_len;
                }
                if u32_at(payload, 0) >= 16 {
                    return Err((p, Fault::BadValue));
                }
                if u64_at(payload, 4) > u64_at(payload, 12) {
                    return Err((p + 4, Fault::BadValue));
                }
                rlimits += 1;
            }
            // FILES.
            6 => {
                if len % 4 != 0 {
                    return bad_len;
                }
                if len / 4 > 4096 {
                    return Err((p, Fault::TooMany));
                }
                for i in 0..len / 4 {
                    let fd = u32_at(payload, 4 * i) as i32;
                    if fd < -1 || fd as i64 >= FD_MAX as i64 {
                        return Err((p + 4 * i, Fault::FdOutOfRange));
                    }
                    files.push(fd);
                }
            }
            // SECCOMP.
            8 => {
                if seccomp_programs == 16 {
                    return Err((r, Fault::TooMany));
                }
                if len == 0 || len % 8 != 0 {
                    return bad_len;
                }
                if len / 8 > 4096 {
                    return Err((p, Fault::TooMany));
                }
                seccomp_programs += 1;
            }
            // CLONE_FLAGS.
            9 => {
                if len != 8 {
                    return bad_len;
                }
                clone = u64_at(payload, 0);
                if clone & !ns::KNOWN != 0 {
                    return Err((p, Fault::UnknownBits));
                }
            }
            // MOUNT.
            10 => {
                if mounts == 256 {
                    return Err((r, Fault::TooMany));
                }
                if len < 12 {
                    return bad_len;
                }
                if u64_at(payload, 0) & !mount_flags::KNOWN != 0 {
                    return Err((p, Fault::UnknownBits));
                }
                if u32_at(payload, 8) & !3 != 0 {
                    return Err((p + 8, Fault::UnknownBits));
                }
                let mut at = p + 12;
                let mut target = (0, 0);
                for (i, limit) in [PATH_MAX, PATH_MAX, 256, 4096].into_iter().enumerate() {
                    let Some(slen) = buf[at..next].iter().position(|&b| b == 0) else {
                        return Err((p + len, Fault::Unterminated));
                    };
                    if slen + 1 > limit {
                        return Err((at, Fault::TooLong));
                    }
                    if i == 1 {
                        target = (at, slen);
                    }
                    at += slen + 1;
                }
                if at < next {
                    return Err((at, Fault::BadRecordLength));
                }
                if target.1 == 0 {
                    return Err((target.0, Fault::BadValue));
                }
                first_mount.get_or_insert(r);
                mounts += 1;
            }
            // MOUNT_OP: one list with MOUNT, one count.
            21 => {
                if mounts == 256 {
                    return Err((r, Fault::TooMany));
                }
                mount_op(buf, p, len)?;
                op_fds.push((p + 16, u32_at(payload, 16) as i32));
                first_mount.get_or_insert(r);
                mounts += 1;
            }
            // UID_MAP, GID_MAP.
            14 | 15 => {
                if len == 0 || len % 12 != 0 {
                    return bad_len;
                }
                if len / 12 > 340 {
                    return Err((p, Fault::TooMany));
                }
                for i in 0..len / 12 {
                    let (c, h, size) = (
                        u32_at(payload, 12 * i) as u64,
                        u32_at(payload, 12 * i + 4) as u64,
                        u32_at(payload, 12 * i + 8) as u64,
                    );
                    if size == 0 || c + size > u32::MAX as u64 || h + size > u32::MAX as u64 {
                        return Err((p + 12 * i + 8, Fault::BadValue));
                    }
                }
                if ty == 14 {
                    uid_map = Some(r);
                } else {
                    gid_map = Some(r);
                }
            }
            // CREDENTIAL.
            16 => {
                if len < 12 || (len - 12) % 4 != 0 {
                    return bad_len;
                }
                if (len - 12) / 4 > 65_536 {
                    return Err((p + 12, Fault::TooMany));
                }
                if u32_at(payload, 8) & !1 != 0 {
                    return Err((p + 8, Fault::UnknownBits));
                }
            }
            // OPTIONS.
            17 => {
                if len != 8 {
                    return bad_len;
                }
                options = u64_at(payload, 0);
                if options & !opt::KNOWN != 0 {
                    return Err((p, Fault::UnknownBits));
                }
                options_at = p;
            }
            // LANDLOCK: u64 handled fs, u64 handled net, u64 scopes, u32 flags (bit 0 EXACT).
            22 => {
                if len != 28 {
                    return bad_len;
                }
                let (fs, net, scopes) =
                    (u64_at(payload, 0), u64_at(payload, 8), u64_at(payload, 16));
                let fields = [
                    (fs & !landlock_fs::KNOWN, 0),
                    (net & !landlock_net::KNOWN, 8),
                    (scopes & !landlock_scope::KNOWN, 16),
                    (u32_at(payload, 24) as u64 & !1, 24),
                ];
                for (unknown, at) in fields {
                    if unknown != 0 {
                        return Err((p + at, Fault::UnknownBits));
                    }
                }
                if fs == 0 && net == 0 && scopes == 0 {
                    return Err((p, Fault::BadValue));
                }
                landlock = Some((fs, net));
            }
            // LANDLOCK_PATH (u64 rights, a path) and LANDLOCK_PORT (u64 rights, u64 port); the
            // count comes after the payload's own checks.
            23 | 24 => {
                let (known, rules) = if ty == 23 {
                    if len < 9 {
                        return bad_len;
                    }
                    (landlock_fs::KNOWN, &mut ll_paths)
                } else {
                    if len != 16 {
                        return bad_len;
                    }
                    (landlock_net::KNOWN, &mut ll_ports)
                };
                let access = u64_at(payload, 0);
                if access & !known != 0 {
                    return Err((p, Fault::UnknownBits));
                }
                if access == 0 {
                    return Err((p, Fault::BadValue));
                }
                if ty == 23 {
                    let slen = single_string(buf, p + 8, len - 8, PATH_MAX)?;
                    if slen == 0 || payload[8] != b'/' {
                        return Err((p + 8, Fault::BadValue));
                    }
                } else if u64_at(payload, 8) > 65_535 {
                    return Err((p + 8, Fault::BadValue));
                }
                if rules.len() == LANDLOCK_RULES {
                    return Err((r, Fault::TooMany));
                }
                rules.push((p, access));
            }
            // JOIN_NS: three i32 fds (user, pid, user2), -1 for none, at least one given.
            27 => {
                if len != 12 {
                    return bad_len;
                }
                let fds = [0, 4, 8].map(|at| u32_at(payload, at) as i32);
                for (i, &fd) in fds.iter().enumerate() {
                    if fd < -1 || fd >= FD_MAX as i32 {
                        return Err((p + 4 * i, Fault::FdOutOfRange));
                    }
                }
                if fds == [-1; 3] {
                    return Err((p, Fault::BadValue));
                }
                join_ns = Some((r, fds[0] != -1, fds[1] != -1));
            }
            // LOCK_FILE: one absolute path; at most 8.
            28 => {
                let slen = single_string(buf, p, len, PATH_MAX)?;
                if slen == 0 || payload[0] != b'/' {
                    return Err((p, Fault::BadValue));
                }
                if lock_files == LOCK_FILES {
                    return Err((r, Fault::TooMany));
                }
                lock_files += 1;
                lock_file = lock_file.or(Some(r));
            }
            // CAPS: u64 kept set (any), u32 flags (only LEAVE_SETS = 1).
            30 => {
                if len != 12 {
                    return bad_len;
                }
                if u32_at(payload, 8) & !1 != 0 {
                    return Err((p + 8, Fault::UnknownBits));
                }
                caps = Some(r);
            }
            _ => unreachable!("type {ty} is in 1..=LAST_MODELED_RECORD"),
        }
        r = next;
    }

    // 3. The whole spec.
    let t = total;
    let has = |bit: u64| options & bit != 0;
    let Some((count, first_empty)) = args else {
        return Err((t, Fault::MissingArgs));
    };
    if count == 0 {
        return Err((t, Fault::MissingArgs));
    }
    if first_empty && exec_path.is_none() && !exec_fd {
        return Err((t, Fault::MissingArgs));
    }
    let conflict = |at: usize| Err((at, Fault::Conflict));
    if let (Some(at), true) = (exec_path, exec_fd) {
        return conflict(at);
    }
    if let (Some(at), false) = (first_mount, clone & ns::NEWNS != 0) {
        return conflict(at);
    }
    if let (Some(at), false) = (pivot, clone & ns::NEWNS != 0) {
        return conflict(at);
    }
    if let (Some(at), false) = (uts, clone & ns::NEWUTS != 0) {
        return conflict(at);
    }
    if let (Some(at), false) = (uid_map, clone & ns::NEWUSER != 0) {
        return conflict(at);
    }
    if let (Some(at), false) = (gid_map, clone & ns::NEWUSER != 0) {
        return conflict(at);
    }
    if has(opt::CTTY) && has(opt::NO_SETSID) {
        return conflict(options_at);
    }
    if let (Some(a), Some(b)) = (cgroup_path, cgroup_fd) {
        return conflict(a.max(b));
    }
    if has(opt::DETACH) && has(opt::INIT) {
        return conflict(options_at);
    }
    if has(opt::DUMPABLE_INIT) && !has(opt::INIT) {
        return conflict(options_at);
    }
    if has(opt::NO_WAIT_INIT) && !has(opt::INIT) {
        return conflict(options_at);
    }
    // LOCK_FILE and SYNC_FD are held by init.
    for at in [lock_file, sync_fd].into_iter().flatten() {
        if !has(opt::INIT) {
            return conflict(at);
        }
    }
    // USERNS_BLOCK_FD: another process maps the user namespace the spec creates.
    if let Some(at) = userns_block {
        if clone & ns::NEWUSER == 0 || uid_map.is_some() || gid_map.is_some() {
            return conflict(at);
        }
    }
    if has(opt::WRITABLE_ROOT) && pivot.is_none() {
        return conflict(options_at);
    }
    if has(opt::LOOPBACK) && clone & ns::NEWNET == 0 {
        return conflict(options_at);
    }
    if let (Some(at), true) = (json_status, has(opt::DETACH)) {
        return conflict(at);
    }
    if let Some((at, user, pid)) = join_ns {
        if (user && clone & ns::NEWUSER != 0) || (pid && clone & ns::NEWPID != 0) {
            return conflict(at);
        }
    }
    if let (Some(at), true) = (caps, has(opt::DROP_CAPS)) {
        return conflict(at);
    }
    // A Landlock rule needs LANDLOCK, and only rights its ruleset handles: the first such
    // LANDLOCK_PATH, then the first such LANDLOCK_PORT.
    let (fs, net) = landlock.unwrap_or((0, 0));
    for (rules, handled) in [(&ll_paths, fs), (&ll_ports, net)] {
        if let Some(&(at, _)) = rules.iter().find(|&&(_, access)| access & !handled != 0) {
            return conflict(at);
        }
    }
    // BLOCK_FD, then an fd a mount operation uses, must survive the fd table: not one it
    // replaces or closes.
    if let Some((at, fd)) = block_fd {
        if (fd as usize) < files.len() && files[fd as usize] != fd as i32 {
            return conflict(at);
        }
    }
    for &(at, fd) in &op_fds {
        if fd >= 0 && (fd as usize) < files.len() && files[fd as usize] != fd {
            return conflict(at);
        }
    }
    if has(opt::DISABLE_USERNS) && clone & ns::NEWUSER == 0 {
        return conflict(options_at);
    }
    Ok(())
}

/// One MOUNT_OP payload at `p` (`len` bytes): u16 kind, u16 flags, u32 mode, u64 size, i32 fd,
/// `source\0`, `target\0`, content (an overlay's layers for the kinds with a "lower" count). What each kind takes is its row in the kind table
/// (`docs/spec.md`, "Tables", generated from `forkexec_spec::tables`): this validator reads the
/// rows, and checks the order and offsets of the refusals independently of the decoder.
fn mount_op(buf: &[u8], p: usize, len: usize) -> Result<(), Refusal> {
    if len < 20 {
        return Err((p - 4, Fault::BadRecordLength));
    }
    let end = p + len;
    let (kind, flags, mode) = (u16_at(buf, p), u16_at(buf, p + 2), u32_at(buf, p + 4));
    let (size, fd) = (u64_at(buf, p + 8), u32_at(buf, p + 16) as i32);
    let Some(row) = KindInfo::ALL.iter().find(|k| k.kind == kind) else {
        return Err((p, Fault::BadValue));
    };
    if flags & !0xf != 0 {
        return Err((p + 2, Fault::UnknownBits));
    }
    if fd < -1 || fd >= FD_MAX as i32 {
        return Err((p + 16, Fault::FdOutOfRange));
    }
    // source\0 target\0 (each at most 4096 bytes with its NUL), then content to the end.
    let source_at = p + 20;
    let Some(source_len) = buf[source_at..end].iter().position(|&b| b == 0) else {
        return Err((end, Fault::Unterminated));
    };
    if source_len + 1 > 4096 {
        return Err((source_at, Fault::TooLong));
    }
    let target_at = source_at + source_len + 1;
    let Some(target_len) = buf[target_at..end].iter().position(|&b| b == 0) else {
        return Err((end, Fault::Unterminated));
    };
    if target_len + 1 > 4096 {
        return Err((target_at, Fault::TooLong));
    }
    let content_at = target_at + target_len + 1;
    if flags & !row.flags != 0 {
        return Err((p + 2, Fault::BadValue));
    }
    if mode > 0o7777 || (mode != 0 && !row.takes.mode) {
        return Err((p + 4, Fault::BadValue));
    }
    if size != 0 && !row.takes.size {
        return Err((p + 8, Fault::BadValue));
    }
    let has_fd = fd != -1;
    if has_fd && !row.takes.fd {
        return Err((p + 16, Fault::BadValue));
    }
    match row.source {
        SourceRule::PathOrFd if (source_len == 0) != has_fd => {
            return Err((source_at, Fault::Conflict))
        }
        SourceRule::Text if source_len == 0 => return Err((source_at, Fault::BadValue)),
        SourceRule::None if source_len != 0 => return Err((source_at, Fault::BadValue)),
        _ => {}
    }
    if row.lower != 0 {
        let upper = if row.takes.upper { 2 } else { 0 };
        layers(buf, content_at, end, upper, row.lower as usize)?;
    } else if content_at < end {
        if !row.takes.content {
            return Err((content_at, Fault::BadValue));
        }
        if has_fd {
            return Err((content_at, Fault::Conflict));
        }
    }
    if target_len == 0 || buf[target_at] != b'/' {
        return Err((target_at, Fault::BadValue));
    }
    Ok(())
}

/// An overlay's layers, the content from `at` to `end`: NUL-terminated paths read one at a
/// time (no NUL in the rest → Unterminated @`end`; over 4096 with its NUL → TooLong, empty or
/// relative → BadValue, one lower directory over 500 → TooMany, each @ the path), then fewer
/// than `upper` (2 when the kind takes upper and work, else 0) plus `lower` → BadValue @`end`.
fn layers(
    buf: &[u8],
    mut at: usize,
    end: usize,
    upper: usize,
    lower: usize,
) -> Result<(), Refusal> {
    let mut count = 0;
    while at < end {
        let Some(plen) = buf[at..end].iter().position(|&b| b == 0) else {
            return Err((end, Fault::Unterminated));
        };
        if plen + 1 > PATH_MAX {
            return Err((at, Fault::TooLong));
        }
        if plen == 0 || buf[at] != b'/' {
            return Err((at, Fault::BadValue));
        }
        count += 1;
        if count > upper + OVERLAY_LOWER {
            return Err((at, Fault::TooMany));
        }
        at += plen + 1;
    }
    if count < upper + lower {
        return Err((end, Fault::BadValue));
    }
    Ok(())
}
