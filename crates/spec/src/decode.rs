//! Zero-copy, allocation-free decoding and validation of a whole spec.
//!
//! [`decode`] checks every byte before the helper makes any syscall with an effect: framing,
//! lengths, limits, string terminators, fd ranges, unknown bits and impossible combinations.
//! The result points into the caller's buffer. Clients run the same function on what they
//! encoded, so a bad spec is refused identically on both sides.

use core::ffi::CStr;

use crate::layout::{
    self, cred_flag, landlock, limit, mount_flags, mount_opt, ns, off, opt, record,
};
use crate::tables::{self, KindInfo, SourceRule};

/// Why a spec was refused. Carried as `detail` in a `spec` error record; numbers are stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Fault {
    /// The spec ends inside a header, a record or a field.
    Truncated = 1,
    /// The first four bytes are not `FXSP`.
    BadMagic = 2,
    /// A version this helper does not read.
    BadVersion = 3,
    /// The header's total length is below the header size, over the limit, or not the size read.
    BadTotalLength = 4,
    /// A record type this helper does not know, without the skip-if-unknown flag.
    UnknownRecord = 5,
    /// A record that may appear once appears again.
    DuplicateRecord = 6,
    /// A payload length that does not fit its record type.
    BadRecordLength = 7,
    /// A string without its NUL terminator.
    Unterminated = 8,
    /// A single string with a NUL inside it.
    InteriorNul = 9,
    /// A string longer than its documented limit.
    TooLong = 10,
    /// More items than the documented limit.
    TooMany = 11,
    /// An fd outside `0..2^20` (or -1 where "closed" is allowed).
    FdOutOfRange = 12,
    /// Bits set that this version does not define (header, record, options, clone or mount flags).
    UnknownBits = 13,
    /// A value outside its domain (rlimit resource, soft over hard, empty or relative path).
    BadValue = 14,
    /// No ARGS record, or an empty argv.
    MissingArgs = 15,
    /// Fields that contradict each other (mounts without a mount namespace, …).
    Conflict = 16,
    /// Needs a process shape this helper cannot provide. (Reserved: version 1 helpers with the
    /// clone shapes never report it; the number stays taken.)
    NeedsCloneShape = 17,
}

impl Fault {
    /// The fault with this number.
    pub fn from_u32(n: u32) -> Option<Fault> {
        use Fault::*;
        Some(match n {
            1 => Truncated,
            2 => BadMagic,
            3 => BadVersion,
            4 => BadTotalLength,
            5 => UnknownRecord,
            6 => DuplicateRecord,
            7 => BadRecordLength,
            8 => Unterminated,
            9 => InteriorNul,
            10 => TooLong,
            11 => TooMany,
            12 => FdOutOfRange,
            13 => UnknownBits,
            14 => BadValue,
            15 => MissingArgs,
            16 => Conflict,
            17 => NeedsCloneShape,
            _ => return None,
        })
    }

    /// A short description for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Fault::Truncated => "truncated",
            Fault::BadMagic => "bad magic (not a forkexec spec)",
            Fault::BadVersion => "unsupported version",
            Fault::BadTotalLength => "bad total length",
            Fault::UnknownRecord => "unknown record type",
            Fault::DuplicateRecord => "duplicate record",
            Fault::BadRecordLength => "bad record length",
            Fault::Unterminated => "unterminated string",
            Fault::InteriorNul => "NUL inside a string",
            Fault::TooLong => "over the length limit",
            Fault::TooMany => "over the count limit",
            Fault::FdOutOfRange => "fd out of range",
            Fault::UnknownBits => "unknown flag bits",
            Fault::BadValue => "value out of range",
            Fault::MissingArgs => "missing args",
            Fault::Conflict => "conflicting fields",
            Fault::NeedsCloneShape => "needs the clone shape (not supported in place)",
        }
    }

    /// The errno a spec error record carries for this fault.
    pub fn errno(self) -> i32 {
        const EBADF: i32 = 9;
        const E2BIG: i32 = 7;
        const EINVAL: i32 = 22;
        const EOPNOTSUPP: i32 = 95;
        match self {
            Fault::TooLong | Fault::TooMany => E2BIG,
            Fault::FdOutOfRange => EBADF,
            Fault::NeedsCloneShape => EOPNOTSUPP,
            _ => EINVAL,
        }
    }
}

/// A refused spec: the fault and the byte offset (from the start of the spec) it was found at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpecError {
    /// Where, in bytes from the start of the spec.
    pub offset: u32,
    /// What is wrong.
    pub fault: Fault,
}

impl core::error::Error for SpecError {}

impl core::fmt::Display for SpecError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} at byte {}", self.fault.describe(), self.offset)
    }
}

type Result<T> = core::result::Result<T, SpecError>;

fn err<T>(offset: usize, fault: Fault) -> Result<T> {
    Err(SpecError {
        offset: offset as u32,
        fault,
    })
}

/// A list of NUL-terminated strings back to back (ARGS, ENV).
#[derive(Clone, Copy, Debug, Default)]
pub struct StrList<'a> {
    bytes: &'a [u8],
    count: usize,
}

impl<'a> StrList<'a> {
    /// Number of strings.
    pub fn len(&self) -> usize {
        self.count
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// The strings in order.
    pub fn iter(&self) -> StrIter<'a> {
        StrIter { rest: self.bytes }
    }
    /// The first string.
    pub fn first(&self) -> Option<&'a CStr> {
        self.iter().next()
    }
}

/// Iterator over a [`StrList`].
pub struct StrIter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for StrIter<'a> {
    type Item = &'a CStr;
    fn next(&mut self) -> Option<&'a CStr> {
        let s = CStr::from_bytes_until_nul(self.rest).ok()?;
        self.rest = &self.rest[s.to_bytes().len() + 1..];
        Some(s)
    }
}

/// A list of at most `N` items, filled by [`decode`] and never beyond its documented limit:
/// the helper gets every repeatable record typed, once, in spec order.
#[derive(Clone, Copy)]
pub struct List<T: Copy, const N: usize> {
    items: [T; N],
    len: usize,
}

impl<T: Copy + Default, const N: usize> Default for List<T, N> {
    fn default() -> Self {
        List {
            items: [T::default(); N],
            len: 0,
        }
    }
}

impl<T: Copy, const N: usize> List<T, N> {
    /// Number of items.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The items in order.
    pub fn as_slice(&self) -> &[T] {
        &self.items[..self.len]
    }
    /// The items in order.
    pub fn iter(&self) -> core::slice::Iter<'_, T> {
        self.as_slice().iter()
    }
    /// Empties the list. Its storage is left as it is: nothing reads past `len`.
    fn clear(&mut self) {
        self.len = 0;
    }
    /// Appends, or gives the item back when the list is full.
    fn push(&mut self, item: T) -> core::result::Result<(), T> {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = item;
                self.len += 1;
                Ok(())
            }
            None => Err(item),
        }
    }
}

impl<T: Copy + core::fmt::Debug, const N: usize> core::fmt::Debug for List<T, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl<'l, T: Copy, const N: usize> IntoIterator for &'l List<T, N> {
    type Item = &'l T;
    type IntoIter = core::slice::Iter<'l, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// One rlimit: resource number, soft and hard limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rlimit {
    /// The `RLIMIT_*` number ([`layout::rlimit`]).
    pub resource: u32,
    /// The soft limit (`u64::MAX`: none).
    pub cur: u64,
    /// The hard limit (`u64::MAX`: none).
    pub max: u64,
}

/// One mount (go-sandbox's `mount.SyscallParams`). Empty strings are passed as NULL.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mount<'a> {
    /// `MS_*` flags ([`layout::mount_flags`]).
    pub flags: u64,
    /// forkexec's own options ([`layout::mount_opt`]: mkdir, make a file).
    pub options: u32,
    /// What to mount.
    pub source: &'a CStr,
    /// Where.
    pub target: &'a CStr,
    /// The file system type.
    pub fstype: &'a CStr,
    /// File system options.
    pub data: &'a CStr,
}

/// One MOUNT_OP record: a mount operation of a [`layout::mount_kind`] (what each kind takes:
/// [`KindInfo`]). Empty `source` means none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MountOp<'a> {
    /// The operation ([`layout::mount_kind`]).
    pub kind: u16,
    /// Its flags ([`layout::mount_op`]: optional, read-only, dev).
    pub flags: u16,
    /// The mode of what it creates (0: the kind's default).
    pub mode: u32,
    /// A tmpfs's size in bytes (0: the kernel's default).
    pub size: u64,
    /// A helper fd: a bind's source, or a file's content.
    pub fd: Option<u32>,
    /// A bind's source path or a symlink's text.
    pub source: &'a CStr,
    /// Where, inside the new root.
    pub target: &'a CStr,
    /// A file operation's content; an overlay's layers (NUL-terminated paths: the upper
    /// and work directories when the kind takes them, then the lower ones, topmost first).
    pub content: &'a [u8],
}

impl<'a> MountOp<'a> {
    /// Whether `flag` ([`layout::mount_op`]) is set.
    pub fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }
    /// The mode of the missing parent directories made for the target: 0755, or with
    /// `from_mode` (option PARENTS_FROM_MODE) bubblewrap's: 0755 less 0050 when `mode` gives
    /// the group nothing, less 0005 when it gives the others nothing (`mode` is 0 for a kind
    /// without one: 0700).
    pub const fn parents_mode(&self, from_mode: bool) -> u32 {
        let mut parents = 0o755;
        if from_mode && self.mode & 0o070 == 0 {
            parents &= !0o050;
        }
        if from_mode && self.mode & 0o007 == 0 {
            parents &= !0o005;
        }
        parents
    }
    /// An overlay's layers in wire order (see [`MountOp::content`]).
    pub fn layers(&self) -> StrIter<'a> {
        StrIter { rest: self.content }
    }
}

/// One entry of the mount list: a raw mount or a mount operation, in spec order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountEntry<'a> {
    /// A MOUNT record: `mount(2)`'s parameters.
    Raw(Mount<'a>),
    /// A MOUNT_OP record.
    Op(MountOp<'a>),
}

impl Default for MountEntry<'_> {
    fn default() -> Self {
        MountEntry::Raw(Mount::default())
    }
}

impl<'a> MountEntry<'a> {
    /// The entry's target path.
    pub fn target(&self) -> &'a CStr {
        match self {
            MountEntry::Raw(m) => m.target,
            MountEntry::Op(op) => op.target,
        }
    }
    /// The helper fd a mount operation reads after the fd stage (a bind source or a file's
    /// content), if any.
    pub fn op_fd(&self) -> Option<u32> {
        match self {
            MountEntry::Op(op) => op.fd,
            MountEntry::Raw(_) => None,
        }
    }
}

/// Whether `..` components take an absolute or relative path above its starting directory,
/// read lexically (symlinks are the resolver's business: it keeps them inside the root).
pub fn escapes_root(path: &[u8]) -> bool {
    let mut depth = 0usize;
    for part in path.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." if depth == 0 => return true,
            b".." => depth -= 1,
            _ => depth += 1,
        }
    }
    false
}

/// One id map entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdMapEntry {
    /// The first id inside the namespace.
    pub container_id: u32,
    /// The id it stands for outside.
    pub host_id: u32,
    /// How many consecutive ids.
    pub size: u32,
}

/// The entries of a UID_MAP or GID_MAP record.
#[derive(Clone, Copy, Debug, Default)]
pub struct IdMap<'a> {
    bytes: &'a [u8],
}

impl<'a> IdMap<'a> {
    /// The map in `bytes`, laid out as a UID_MAP or GID_MAP payload (12 bytes an entry).
    pub fn from_payload(bytes: &'a [u8]) -> Self {
        IdMap { bytes }
    }
    /// The number of entries.
    pub fn len(&self) -> usize {
        self.bytes.len() / layout::ID_MAP_ENTRY_LEN
    }
    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
    /// The entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = IdMapEntry> + 'a {
        self.bytes
            .chunks_exact(layout::ID_MAP_ENTRY_LEN)
            .map(|c| IdMapEntry {
                container_id: u32_at(c, off::id_map::CONTAINER_ID),
                host_id: u32_at(c, off::id_map::HOST_ID),
                size: u32_at(c, off::id_map::SIZE),
            })
    }
}

/// The target's fd table (go-sandbox's `Files`): entry `i` is a helper fd or -1 (closed).
#[derive(Clone, Copy, Debug, Default)]
pub struct Files<'a> {
    bytes: &'a [u8],
}

impl<'a> Files<'a> {
    /// The number of target fds (0 to len - 1).
    pub fn len(&self) -> usize {
        self.bytes.len() / 4
    }
    /// Whether the table is empty (the target keeps 0, 1 and 2).
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
    /// The helper fd that becomes target fd `i`, or -1 (closed). `i` must be below
    /// [`Files::len`].
    pub fn get(&self, i: usize) -> i32 {
        u32_at(self.bytes, i * 4) as i32
    }
    /// The entries, in target fd order.
    pub fn iter(&self) -> impl Iterator<Item = i32> + 'a {
        self.bytes.chunks_exact(4).map(|c| u32_at(c, 0) as i32)
    }
}

/// JOIN_NS: namespaces to join with `setns`, each a helper fd open on `/proc/PID/ns/…`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JoinNs {
    /// A user namespace, joined before any namespace is created (they are then its own).
    pub user: Option<u32>,
    /// A pid namespace, joined before the clone: the target is born in it (or, with
    /// `newpid`, in a new pid namespace below it).
    pub pid: Option<u32>,
    /// A user namespace joined after the mounts (bubblewrap's `--userns2`).
    pub user2: Option<u32>,
}

/// CAPS: the capabilities the target keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Caps {
    /// The kept set: bit `n` is capability `n`.
    pub kept: u64,
    /// The CAPS flags ([`layout::caps::LEAVE_SETS`]).
    pub flags: u32,
}

impl Caps {
    /// Whether the effective, permitted and inheritable sets are left as they are.
    pub fn leave_sets(&self) -> bool {
        self.flags & layout::caps::LEAVE_SETS != 0
    }
}

/// Credential: uid, gid, flags and supplementary groups (u32 each, little-endian, as
/// `setgroups` reads them on little-endian machines).
#[derive(Clone, Copy, Debug)]
pub struct Credential<'a> {
    /// The user id to become.
    pub uid: u32,
    /// The group id to become.
    pub gid: u32,
    /// [`layout::cred_flag`] bits (`NO_SETGROUPS`).
    pub flags: u32,
    groups: &'a [u8],
}

impl<'a> Credential<'a> {
    /// The groups as raw little-endian bytes (4 per group).
    pub fn groups_bytes(&self) -> &'a [u8] {
        self.groups
    }
    /// The number of supplementary groups.
    pub fn group_count(&self) -> usize {
        self.groups.len() / 4
    }
    /// The supplementary groups.
    pub fn groups(&self) -> impl Iterator<Item = u32> + 'a {
        self.groups.chunks_exact(4).map(|c| u32_at(c, 0))
    }
    /// Whether `setgroups` is to be left alone (go-sandbox's `NoSetGroups`).
    pub fn no_setgroups(&self) -> bool {
        self.flags & cred_flag::NO_SETGROUPS != 0
    }
}

/// The LANDLOCK record: what the ruleset handles, and how strictly ([`landlock::EXACT`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Landlock {
    /// The filesystem rights the ruleset handles (denied unless a path rule allows them).
    pub handled_fs: u64,
    /// The network rights the ruleset handles (denied unless a port rule allows them).
    pub handled_net: u64,
    /// The scopes (abstract unix sockets, signals) restricted to the sandbox.
    pub scoped: u64,
    /// The LANDLOCK flags ([`landlock::EXACT`]).
    pub flags: u32,
}

/// A LANDLOCK_PATH rule: the rights allowed beneath `path`; `at` is the payload's offset.
#[derive(Clone, Copy, Debug, Default)]
pub struct LandlockPath<'a> {
    /// The rights allowed beneath `path`.
    pub access: u64,
    /// The file or directory the rule is for.
    pub path: &'a CStr,
    /// The record payload's offset in the spec.
    pub at: u32,
}

/// A LANDLOCK_PORT rule: the rights allowed on TCP `port`; `at` is the payload's offset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LandlockPort {
    /// The rights allowed on `port`.
    pub access: u64,
    /// The TCP port.
    pub port: u64,
    /// The record payload's offset in the spec.
    pub at: u32,
}

/// A validated spec, pointing into the buffer it was decoded from.
#[derive(Clone, Copy, Debug, Default)]
pub struct Spec<'a> {
    /// ARGS: the target's argv.
    pub args: StrList<'a>,
    /// ENV: its environment.
    pub env: StrList<'a>,
    /// EXEC_PATH: the file to execute instead of `args[0]`.
    pub exec_path: Option<&'a CStr>,
    /// EXEC_FD: a helper fd to execute (`execveat(fd, "", AT_EMPTY_PATH)`).
    pub exec_fd: Option<u32>,
    /// FILES: the target's fd table.
    pub files: Files<'a>,
    /// WORK_DIR: the directory to change to.
    pub work_dir: Option<&'a CStr>,
    /// The SECCOMP programs, in load order: raw `sock_filter` bytes, 8 per instruction (a
    /// program's index is its position here).
    pub seccomp: List<&'a [u8], { limit::SECCOMP_PROGRAMS }>,
    /// CLONE_FLAGS: `CLONE_NEW*` bits ([`layout::ns`]).
    pub clone_flags: u64,
    /// PIVOT_ROOT: the directory that becomes the new root.
    pub pivot_root: Option<&'a CStr>,
    /// HOST_NAME.
    pub host_name: Option<&'a CStr>,
    /// DOMAIN_NAME.
    pub domain_name: Option<&'a CStr>,
    /// UID_MAP.
    pub uid_map: Option<IdMap<'a>>,
    /// GID_MAP.
    pub gid_map: Option<IdMap<'a>>,
    /// CREDENTIAL: the user to become.
    pub credential: Option<Credential<'a>>,
    /// OPTIONS bits ([`layout::opt`]).
    pub options: u64,
    /// STATUS_FD: where the status records go instead of the spec socket.
    pub status_fd: Option<u32>,
    /// INFO_FD: where the start of the target is reported as bubblewrap's `--info-fd` JSON.
    pub info_fd: Option<u32>,
    /// JSON_STATUS_FD: bubblewrap's `--json-status-fd` JSON lines (start, then exit code).
    pub json_status_fd: Option<u32>,
    /// JOIN_NS: existing namespaces to join.
    pub join_ns: Option<JoinNs>,
    /// CAPS: the capabilities the target keeps (instead of dropping them all).
    pub caps: Option<Caps>,
    /// A cgroup (v2) directory to place the target in, by path or by fd.
    pub cgroup_path: Option<&'a CStr>,
    /// CGROUP_FD: the cgroup as a helper fd.
    pub cgroup_fd: Option<u32>,
    /// The RLIMIT records, in order (an rlimit's index is its position here).
    pub rlimits: List<Rlimit, { limit::RLIMITS }>,
    /// The MOUNT and MOUNT_OP records, in spec order (an entry's index is its position here).
    pub mounts: List<MountEntry<'a>, { limit::MOUNTS }>,
    /// Where each mount entry's payload starts, for refusals found after the record was read.
    mount_offsets: List<u32, { limit::MOUNTS }>,
    /// The LANDLOCK record: the target is confined.
    pub landlock: Option<Landlock>,
    /// The LANDLOCK_PATH rules, in order (a rule's index is its position here).
    pub landlock_paths: List<LandlockPath<'a>, { limit::LANDLOCK_RULES }>,
    /// The LANDLOCK_PORT rules, in order.
    pub landlock_ports: List<LandlockPort, { limit::LANDLOCK_RULES }>,
    /// The LOCK_FILE paths, in order (a lock's index is its position here).
    pub lock_files: List<&'a CStr, { limit::LOCK_FILES }>,
    /// SYNC_FD: a helper fd init keeps open while it lives.
    pub sync_fd: Option<u32>,
    /// BLOCK_FD: a helper fd the target reads a byte from before the sync point.
    pub block_fd: Option<u32>,
    /// USERNS_BLOCK_FD: a helper fd the helper reads a byte from before the clone goes on.
    pub userns_block_fd: Option<u32>,
    /// Offsets of the records refused only by the exec-in-place shape check.
    uid_map_offset: usize,
    gid_map_offset: usize,
    options_offset: usize,
    json_status_offset: usize,
    join_ns_offset: usize,
    lock_file_offset: usize,
    sync_fd_offset: usize,
    caps_offset: usize,
    block_fd_offset: usize,
    userns_block_offset: usize,
}

impl<'a> Spec<'a> {
    /// Back to the empty spec ([`Spec::default`]) in place, the lists emptied without
    /// rewriting their storage.
    fn clear(&mut self) {
        // Every field by name, no `..`: a new field does not compile until it is reset here.
        let Spec {
            args,
            env,
            exec_path,
            exec_fd,
            files,
            work_dir,
            seccomp,
            clone_flags,
            pivot_root,
            host_name,
            domain_name,
            uid_map,
            gid_map,
            credential,
            options,
            status_fd,
            info_fd,
            json_status_fd,
            join_ns,
            caps,
            cgroup_path,
            cgroup_fd,
            rlimits,
            mounts,
            mount_offsets,
            landlock,
            landlock_paths,
            landlock_ports,
            lock_files,
            sync_fd,
            uid_map_offset,
            gid_map_offset,
            options_offset,
            json_status_offset,
            join_ns_offset,
            lock_file_offset,
            sync_fd_offset,
            caps_offset,
            block_fd,
            userns_block_fd,
            block_fd_offset,
            userns_block_offset,
        } = self;
        (*args, *env, *files) = Default::default();
        (*exec_path, *work_dir, *pivot_root) = (None, None, None);
        (*host_name, *domain_name, *cgroup_path) = (None, None, None);
        (*exec_fd, *status_fd, *info_fd, *json_status_fd) = (None, None, None, None);
        (*cgroup_fd, *sync_fd, *block_fd, *userns_block_fd) = (None, None, None, None);
        (*uid_map, *gid_map, *credential) = (None, None, None);
        (*join_ns, *caps, *landlock) = (None, None, None);
        (*clone_flags, *options) = (0, 0);
        seccomp.clear();
        rlimits.clear();
        mounts.clear();
        mount_offsets.clear();
        landlock_paths.clear();
        landlock_ports.clear();
        lock_files.clear();
        (*uid_map_offset, *gid_map_offset, *options_offset) = (0, 0, 0);
        (*json_status_offset, *join_ns_offset, *lock_file_offset) = (0, 0, 0);
        (*sync_fd_offset, *caps_offset) = (0, 0);
        (*block_fd_offset, *userns_block_offset) = (0, 0);
    }

    /// Whether an option bit ([`opt`]) is set.
    pub fn has(&self, option: u64) -> bool {
        self.options & option != 0
    }

    /// Whether the helper stops itself before seccomp ([`opt::stops_before_exec`]).
    pub fn stops_before_exec(&self) -> bool {
        opt::stops_before_exec(self.options, !self.seccomp.is_empty())
    }

    /// Number of seccomp instructions, all programs together.
    pub fn seccomp_len(&self) -> usize {
        self.seccomp
            .iter()
            .map(|s| s.len() / layout::SOCK_FILTER_LEN)
            .sum()
    }

    /// The process shape this spec needs when run by a process with these effective ids
    /// (docs/spec.md, "Process shapes"): exec in place whenever possible; a clone for a new pid
    /// namespace (created or joined), for id maps only an outer process may write, for a JSON
    /// status fd (whose exit code only a supervising helper sees), or when asked (detach,
    /// init).
    /// Refuses ptrace or a stop before seccomp in a supervised clone, where the helper, not
    /// the runtime, would be the parent (detach makes the runtime the parent).
    pub fn shape(&self, euid: u32, egid: u32) -> Result<Shape> {
        let self_map = |map: Option<IdMap>, own: u32| {
            map.is_none_or(|m| m.len() == 1 && m.iter().all(|e| e.size == 1 && e.host_id == own))
        };
        let outer_maps = !self_map(self.uid_map, euid)
            || !self_map(self.gid_map, egid)
            || (self.gid_map.is_some() && self.has(opt::GID_MAPPINGS_ENABLE_SETGROUPS));
        let shape = if self.has(opt::INIT) {
            Shape::Init
        } else if self.has(opt::DETACH) {
            Shape::Detach
        } else if outer_maps
            || self.clone_flags & ns::NEWPID != 0
            || self.json_status_fd.is_some()
            || self.userns_block_fd.is_some()
            || self.join_ns.is_some_and(|j| j.pid.is_some())
        {
            Shape::Supervise
        } else {
            Shape::InPlace
        };
        let traced = self.has(opt::PTRACE) || self.has(opt::STOP_BEFORE_SECCOMP);
        if traced && matches!(shape, Shape::Supervise | Shape::Init) {
            return err(self.options_offset, Fault::Conflict);
        }
        Ok(shape)
    }
}

/// How the helper runs the target (see [`Spec::shape`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// The helper unshares and becomes the target: no extra process.
    InPlace,
    /// The helper clones the target into its namespaces, writes its id maps, forwards
    /// signals, waits, writes an exit record and ends the way the target ended.
    Supervise,
    /// Like supervise, but with `CLONE_PARENT`: the target is the runtime's own child and the
    /// helper exits once it has reported the pid.
    Detach,
    /// Supervise a minimal init (pid 1 of the new pid namespace, or without `newpid` the
    /// target's parent) that runs the target as its child and holds the LOCK_FILE locks and
    /// SYNC_FD.
    Init,
}

/// Decodes and validates a whole spec. `buf` must be exactly the spec (the header's total
/// length); every refusal names the byte offset where it was found.
pub fn decode(buf: &[u8]) -> Result<Spec<'_>> {
    let mut spec = Spec::default();
    decode_into(buf, &mut spec)?;
    Ok(spec)
}

/// [`decode`] into `spec`, in place: whatever it held is cleared first, and the spec is never
/// moved or copied. After a refusal it holds part of the refused spec: use nothing of it (a
/// later `decode_into` starts over). A `Spec` is large (its lists have room for every record
/// the limits allow, some 26 KB): the static helper makes one, once, in static memory; a fork
/// server's runs reuse the server's, and each writes only the fields and list items its own
/// spec sets.
pub fn decode_into<'a>(buf: &'a [u8], spec: &mut Spec<'a>) -> Result<()> {
    spec.clear();
    fill(buf, spec)
}

/// Decodes `buf` into `spec`, which is empty.
fn fill<'a>(buf: &'a [u8], spec: &mut Spec<'a>) -> Result<()> {
    check_header(buf)?;
    let body = &buf[layout::HEADER_LEN..];
    let mut seen: u64 = 0;
    let mut args_seen = false;
    let mut exec_path_at = 0;
    let mut mount_at = 0;
    let mut pivot_at = 0;
    let mut uts_at = 0;
    let mut cgroup_at = 0;

    let mut at = 0;
    while at < body.len() {
        let abs = layout::HEADER_LEN + at;
        if body.len() - at < layout::RECORD_HEADER_LEN {
            return err(buf.len(), Fault::Truncated);
        }
        let ty = u16_at(body, at); // the type is the record's first field (off::record::TYPE)
        let rflags = u16_at(body, at + off::record::FLAGS);
        let len = u32_at(body, at + off::record::LEN) as usize;
        let start = at + layout::RECORD_HEADER_LEN;
        if len > body.len() - start {
            return err(buf.len(), Fault::Truncated);
        }
        if rflags & !layout::RECORD_FLAGS_KNOWN != 0 {
            return err(abs + off::record::FLAGS, Fault::UnknownBits);
        }
        let p = &body[start..start + len];
        let pat = layout::HEADER_LEN + start; // absolute offset of the payload
        at = start + len;

        if !record::known(ty) {
            if rflags & layout::RECORD_SKIP_IF_UNKNOWN != 0 {
                continue;
            }
            return err(abs, Fault::UnknownRecord);
        }
        if !record::repeatable(ty) {
            if seen & (1 << ty) != 0 {
                return err(abs, Fault::DuplicateRecord);
            }
            seen |= 1 << ty;
        }

        match ty {
            record::ARGS => {
                spec.args = parse_str_list(p, pat, limit::ARGS)?;
                args_seen = true;
            }
            record::ENV => spec.env = parse_str_list(p, pat, limit::ENV)?,
            record::EXEC_PATH => {
                spec.exec_path = Some(parse_path(p, pat, limit::PATH)?);
                exec_path_at = abs;
            }
            record::EXEC_FD => spec.exec_fd = Some(parse_fd(p, pat)?),
            record::RLIMIT => {
                if spec.rlimits.len() == limit::RLIMITS {
                    return err(abs, Fault::TooMany);
                }
                let rlimit = parse_rlimit(p, pat)?;
                spec.rlimits.push(rlimit).or(err(abs, Fault::TooMany))?;
            }
            record::FILES => spec.files = parse_files(p, pat)?,
            record::WORK_DIR => spec.work_dir = Some(parse_path(p, pat, limit::PATH)?),
            record::SECCOMP => {
                if spec.seccomp.len() == limit::SECCOMP_PROGRAMS {
                    return err(abs, Fault::TooMany);
                }
                let program = parse_seccomp(p, pat)?;
                spec.seccomp.push(program).or(err(abs, Fault::TooMany))?;
            }
            record::CLONE_FLAGS => {
                let flags = parse_u64(p, pat)?;
                if flags & !ns::KNOWN != 0 {
                    return err(pat, Fault::UnknownBits);
                }
                spec.clone_flags = flags;
            }
            record::MOUNT | record::MOUNT_OP => {
                if spec.mounts.len() == limit::MOUNTS {
                    return err(abs, Fault::TooMany);
                }
                let entry = if ty == record::MOUNT {
                    MountEntry::Raw(parse_mount(p, pat)?)
                } else {
                    MountEntry::Op(parse_mount_op(p, pat)?)
                };
                if spec.mounts.is_empty() {
                    mount_at = abs;
                }
                spec.mounts.push(entry).or(err(abs, Fault::TooMany))?;
                spec.mount_offsets
                    .push(pat as u32)
                    .or(err(abs, Fault::TooMany))?;
            }
            record::PIVOT_ROOT => {
                let root = parse_path(p, pat, limit::PATH)?;
                if root.to_bytes().first() != Some(&b'/') {
                    return err(pat, Fault::BadValue);
                }
                spec.pivot_root = Some(root);
                pivot_at = abs;
            }
            record::HOST_NAME => {
                spec.host_name = Some(parse_str(p, pat, limit::UTS_NAME + 1)?);
                uts_at = abs;
            }
            record::DOMAIN_NAME => {
                spec.domain_name = Some(parse_str(p, pat, limit::UTS_NAME + 1)?);
                uts_at = abs;
            }
            record::UID_MAP => {
                spec.uid_map = Some(parse_id_map(p, pat)?);
                spec.uid_map_offset = abs;
            }
            record::GID_MAP => {
                spec.gid_map = Some(parse_id_map(p, pat)?);
                spec.gid_map_offset = abs;
            }
            record::CREDENTIAL => spec.credential = Some(parse_credential(p, pat)?),
            record::OPTIONS => {
                let bits = parse_u64(p, pat)?;
                if bits & !opt::KNOWN != 0 {
                    return err(pat, Fault::UnknownBits);
                }
                spec.options = bits;
                spec.options_offset = pat;
            }
            record::STATUS_FD => spec.status_fd = Some(parse_fd(p, pat)?),
            record::CGROUP_PATH => {
                let path = parse_path(p, pat, limit::PATH)?;
                if path.to_bytes().first() != Some(&b'/') {
                    return err(pat, Fault::BadValue);
                }
                spec.cgroup_path = Some(path);
                cgroup_at = abs;
            }
            record::CGROUP_FD => {
                spec.cgroup_fd = Some(parse_fd(p, pat)?);
                cgroup_at = abs;
            }
            record::LANDLOCK => spec.landlock = Some(parse_landlock(p, pat)?),
            record::LANDLOCK_PATH => {
                let rule = parse_landlock_path(p, pat)?;
                spec.landlock_paths
                    .push(rule)
                    .or(err(abs, Fault::TooMany))?;
            }
            record::LANDLOCK_PORT => {
                let rule = parse_landlock_port(p, pat)?;
                spec.landlock_ports
                    .push(rule)
                    .or(err(abs, Fault::TooMany))?;
            }
            record::INFO_FD => spec.info_fd = Some(parse_fd(p, pat)?),
            record::JSON_STATUS_FD => {
                spec.json_status_fd = Some(parse_fd(p, pat)?);
                spec.json_status_offset = abs;
            }
            record::JOIN_NS => {
                spec.join_ns = Some(parse_join_ns(p, pat)?);
                spec.join_ns_offset = abs;
            }
            record::LOCK_FILE => {
                let path = parse_path(p, pat, limit::PATH)?;
                if path.to_bytes().first() != Some(&b'/') {
                    return err(pat, Fault::BadValue);
                }
                if spec.lock_files.is_empty() {
                    spec.lock_file_offset = abs;
                }
                spec.lock_files.push(path).or(err(abs, Fault::TooMany))?;
            }
            record::SYNC_FD => {
                spec.sync_fd = Some(parse_fd(p, pat)?);
                spec.sync_fd_offset = abs;
            }
            record::CAPS => {
                spec.caps = Some(parse_caps(p, pat)?);
                spec.caps_offset = abs;
            }
            record::BLOCK_FD => {
                spec.block_fd = Some(parse_fd(p, pat)?);
                spec.block_fd_offset = abs;
            }
            record::USERNS_BLOCK_FD => {
                spec.userns_block_fd = Some(parse_fd(p, pat)?);
                spec.userns_block_offset = abs;
            }
            _ => return err(abs, Fault::UnknownRecord),
        }
    }

    // Whole-spec rules: what is required, and combinations that cannot work.
    let end = buf.len();
    if !args_seen || spec.args.is_empty() {
        return err(end, Fault::MissingArgs);
    }
    let arg0_empty = spec.args.first().is_none_or(|a| a.is_empty());
    if arg0_empty && spec.exec_path.is_none() && spec.exec_fd.is_none() {
        return err(end, Fault::MissingArgs);
    }
    if spec.exec_path.is_some() && spec.exec_fd.is_some() {
        return err(exec_path_at, Fault::Conflict);
    }
    let newns = spec.clone_flags & ns::NEWNS != 0;
    if !spec.mounts.is_empty() && !newns {
        return err(mount_at, Fault::Conflict);
    }
    if spec.pivot_root.is_some() && !newns {
        return err(pivot_at, Fault::Conflict);
    }
    if (spec.host_name.is_some() || spec.domain_name.is_some())
        && spec.clone_flags & ns::NEWUTS == 0
    {
        return err(uts_at, Fault::Conflict);
    }
    let newuser = spec.clone_flags & ns::NEWUSER != 0;
    if spec.uid_map.is_some() && !newuser {
        return err(spec.uid_map_offset, Fault::Conflict);
    }
    if spec.gid_map.is_some() && !newuser {
        return err(spec.gid_map_offset, Fault::Conflict);
    }
    if spec.has(opt::CTTY) && spec.has(opt::NO_SETSID) {
        return err(spec.options_offset, Fault::Conflict);
    }
    if spec.cgroup_path.is_some() && spec.cgroup_fd.is_some() {
        return err(cgroup_at, Fault::Conflict);
    }
    if spec.has(opt::DETACH) && spec.has(opt::INIT) {
        return err(spec.options_offset, Fault::Conflict);
    }
    if spec.has(opt::DUMPABLE_INIT) && !spec.has(opt::INIT) {
        return err(spec.options_offset, Fault::Conflict);
    }
    if spec.has(opt::NO_WAIT_INIT) && !spec.has(opt::INIT) {
        return err(spec.options_offset, Fault::Conflict);
    }
    // Locks and the sync fd are held by init, for as long as it lives.
    if !spec.lock_files.is_empty() && !spec.has(opt::INIT) {
        return err(spec.lock_file_offset, Fault::Conflict);
    }
    if spec.sync_fd.is_some() && !spec.has(opt::INIT) {
        return err(spec.sync_fd_offset, Fault::Conflict);
    }
    // Another process writes the id maps of the user namespace the spec creates.
    if spec.userns_block_fd.is_some()
        && (!newuser || spec.uid_map.is_some() || spec.gid_map.is_some())
    {
        return err(spec.userns_block_offset, Fault::Conflict);
    }
    if spec.has(opt::WRITABLE_ROOT) && spec.pivot_root.is_none() {
        return err(spec.options_offset, Fault::Conflict);
    }
    // The loopback interface brought up is the new network namespace's.
    if spec.has(opt::LOOPBACK) && spec.clone_flags & ns::NEWNET == 0 {
        return err(spec.options_offset, Fault::Conflict);
    }
    // The exit code needs a helper that stays to see the end; a detached one exits at once.
    if spec.json_status_fd.is_some() && spec.has(opt::DETACH) {
        return err(spec.json_status_offset, Fault::Conflict);
    }
    // A user namespace is joined or created, not both (bubblewrap: "--userns not compatible
    // --unshare-user").
    if spec.join_ns.is_some_and(|j| j.user.is_some()) && newuser {
        return err(spec.join_ns_offset, Fault::Conflict);
    }
    // A new pid namespace below a joined one: the kernel creates one only below the active
    // pid namespace of the process that clones (EINVAL otherwise), which would need a process
    // between the helper and the target. Not supported (yet): refused rather than ignored.
    if spec.join_ns.is_some_and(|j| j.pid.is_some()) && spec.clone_flags & ns::NEWPID != 0 {
        return err(spec.join_ns_offset, Fault::Conflict);
    }
    // A kept set and "drop every capability" contradict each other.
    if spec.caps.is_some() && spec.has(opt::DROP_CAPS) {
        return err(spec.caps_offset, Fault::Conflict);
    }
    // A Landlock rule needs the LANDLOCK record, and only rights its ruleset handles.
    let (handled_fs, handled_net) = spec
        .landlock
        .map_or((0, 0), |l| (l.handled_fs, l.handled_net));
    for rule in spec.landlock_paths.iter() {
        if rule.access & !handled_fs != 0 {
            return err(rule.at as usize, Fault::Conflict);
        }
    }
    for rule in spec.landlock_ports.iter() {
        if rule.access & !handled_net != 0 {
            return err(rule.at as usize, Fault::Conflict);
        }
    }
    // BLOCK_FD and a mount operation's fd are read after the fd stage: neither may be one
    // that the target's fd table replaces.
    if let Some(fd) = spec.block_fd {
        let slot = fd as usize;
        if slot < spec.files.len() && spec.files.get(slot) != fd as i32 {
            return err(spec.block_fd_offset, Fault::Conflict);
        }
    }
    for (entry, &at) in spec.mounts.iter().zip(spec.mount_offsets.iter()) {
        let Some(fd) = entry.op_fd() else { continue };
        let slot = fd as usize;
        if slot < spec.files.len() && spec.files.get(slot) != fd as i32 {
            return err(at as usize + off::mount_op::FD, Fault::Conflict);
        }
    }
    // The limit is set in, and the nested user namespace made below, a new user namespace.
    if spec.has(opt::DISABLE_USERNS) && !newuser {
        return err(spec.options_offset, Fault::Conflict);
    }
    Ok(())
}

/// Names the first byte of `buf` (which may be shorter than the magic) that is not `FXSP`.
fn check_magic(buf: &[u8]) -> Result<()> {
    for (i, (&b, &m)) in buf.iter().zip(layout::MAGIC.iter()).enumerate() {
        if b != m {
            return err(i, Fault::BadMagic);
        }
    }
    Ok(())
}

fn check_header(buf: &[u8]) -> Result<()> {
    // The magic first, even in a short buffer, so a wrong magic is not reported as truncation.
    check_magic(buf)?;
    if buf.len() < layout::HEADER_LEN {
        return err(buf.len(), Fault::Truncated);
    }
    if u16_at(buf, off::header::VERSION) != layout::VERSION {
        return err(off::header::VERSION, Fault::BadVersion);
    }
    if u16_at(buf, off::header::FLAGS) != 0 {
        return err(off::header::FLAGS, Fault::UnknownBits);
    }
    let total = u32_at(buf, off::header::TOTAL_LEN) as usize;
    if !(layout::HEADER_LEN..=limit::SPEC_LEN).contains(&total) {
        return err(off::header::TOTAL_LEN, Fault::BadTotalLength);
    }
    if total > buf.len() {
        return err(buf.len(), Fault::Truncated);
    }
    if total < buf.len() {
        return err(off::header::TOTAL_LEN, Fault::BadTotalLength);
    }
    Ok(())
}

/// Reads the total length from a header prefix, so a reader knows how many bytes to read.
/// Returns the first fault if the prefix is not a plausible header.
pub fn total_len(header: &[u8; layout::HEADER_LEN]) -> Result<usize> {
    check_magic(header)?;
    if u16_at(header, off::header::VERSION) != layout::VERSION {
        return err(off::header::VERSION, Fault::BadVersion);
    }
    if u16_at(header, off::header::FLAGS) != 0 {
        return err(off::header::FLAGS, Fault::UnknownBits);
    }
    let total = u32_at(header, off::header::TOTAL_LEN) as usize;
    if !(layout::HEADER_LEN..=limit::SPEC_LEN).contains(&total) {
        return err(off::header::TOTAL_LEN, Fault::BadTotalLength);
    }
    Ok(total)
}

fn parse_str_list(p: &[u8], at: usize, max: usize) -> Result<StrList<'_>> {
    if p.last().is_some_and(|&b| b != 0) {
        return err(at + p.len(), Fault::Unterminated);
    }
    let count = p.iter().filter(|&&b| b == 0).count();
    if count > max {
        return err(at, Fault::TooMany);
    }
    Ok(StrList { bytes: p, count })
}

/// One NUL-terminated string filling the whole payload, at most `max` bytes with its NUL.
fn parse_str(p: &[u8], at: usize, max: usize) -> Result<&CStr> {
    let Some(nul) = p.iter().position(|&b| b == 0) else {
        return err(at + p.len(), Fault::Unterminated);
    };
    if nul + 1 != p.len() {
        return err(at + nul, Fault::InteriorNul);
    }
    if p.len() > max {
        return err(at, Fault::TooLong);
    }
    CStr::from_bytes_with_nul(p).or(err(at, Fault::InteriorNul))
}

/// A non-empty path.
fn parse_path(p: &[u8], at: usize, max: usize) -> Result<&CStr> {
    let s = parse_str(p, at, max)?;
    if s.is_empty() {
        return err(at, Fault::BadValue);
    }
    Ok(s)
}

/// LANDLOCK: known bits only, and something to handle.
fn parse_landlock(p: &[u8], at: usize) -> Result<Landlock> {
    if p.len() != layout::LANDLOCK_LEN {
        return err(at - 4, Fault::BadRecordLength);
    }
    let l = Landlock {
        handled_fs: u64_at(p, 0),
        handled_net: u64_at(p, 8),
        scoped: u64_at(p, 16),
        flags: u32_at(p, 24),
    };
    let unknown = [
        (l.handled_fs & !tables::landlock_fs::KNOWN, 0),
        (l.handled_net & !tables::landlock_net::KNOWN, 8),
        (l.scoped & !tables::landlock_scope::KNOWN, 16),
        ((l.flags & !landlock::FLAGS_KNOWN) as u64, 24),
    ];
    if let Some((_, off)) = unknown.iter().find(|(bits, _)| *bits != 0) {
        return err(at + off, Fault::UnknownBits);
    }
    if l.handled_fs == 0 && l.handled_net == 0 && l.scoped == 0 {
        return err(at, Fault::BadValue);
    }
    Ok(l)
}

/// LANDLOCK_PATH: known, non-empty rights and an absolute path.
fn parse_landlock_path(p: &[u8], at: usize) -> Result<LandlockPath<'_>> {
    if p.len() < 9 {
        return err(at - 4, Fault::BadRecordLength);
    }
    let access = u64_at(p, 0);
    if access & !tables::landlock_fs::KNOWN != 0 {
        return err(at, Fault::UnknownBits);
    }
    if access == 0 {
        return err(at, Fault::BadValue);
    }
    let path = parse_path(&p[8..], at + 8, limit::PATH)?;
    if path.to_bytes().first() != Some(&b'/') {
        return err(at + 8, Fault::BadValue);
    }
    Ok(LandlockPath {
        access,
        path,
        at: at as u32,
    })
}

/// LANDLOCK_PORT: known, non-empty rights and a TCP port.
fn parse_landlock_port(p: &[u8], at: usize) -> Result<LandlockPort> {
    if p.len() != layout::LANDLOCK_PORT_LEN {
        return err(at - 4, Fault::BadRecordLength);
    }
    let access = u64_at(p, 0);
    if access & !tables::landlock_net::KNOWN != 0 {
        return err(at, Fault::UnknownBits);
    }
    if access == 0 {
        return err(at, Fault::BadValue);
    }
    let port = u64_at(p, 8);
    if port > 65_535 {
        return err(at + 8, Fault::BadValue);
    }
    Ok(LandlockPort {
        access,
        port,
        at: at as u32,
    })
}

fn parse_u64(p: &[u8], at: usize) -> Result<u64> {
    if p.len() != 8 {
        return err(at - 4, Fault::BadRecordLength);
    }
    Ok(u64_at(p, 0))
}

fn parse_fd(p: &[u8], at: usize) -> Result<u32> {
    if p.len() != 4 {
        return err(at - 4, Fault::BadRecordLength);
    }
    let fd = u32_at(p, 0);
    if fd >= limit::FD {
        return err(at, Fault::FdOutOfRange);
    }
    Ok(fd)
}

/// Three i32 fds, -1 for none; at least one given.
fn parse_join_ns(p: &[u8], at: usize) -> Result<JoinNs> {
    if p.len() != layout::JOIN_NS_LEN {
        return err(at - 4, Fault::BadRecordLength);
    }
    let mut fds = [None; 3];
    for (i, slot) in fds.iter_mut().enumerate() {
        *slot = match u32_at(p, 4 * i) as i32 {
            -1 => None,
            fd if fd < 0 || fd as u32 >= limit::FD => return err(at + 4 * i, Fault::FdOutOfRange),
            fd => Some(fd as u32),
        };
    }
    if fds == [None; 3] {
        return err(at, Fault::BadValue);
    }
    let [user, pid, user2] = fds;
    Ok(JoinNs { user, pid, user2 })
}

/// CAPS: any kept set (the kernel ignores capabilities it does not have), known flags.
fn parse_caps(p: &[u8], at: usize) -> Result<Caps> {
    if p.len() != layout::CAPS_LEN {
        return err(at - 4, Fault::BadRecordLength);
    }
    let flags = u32_at(p, 8);
    if flags & !layout::caps::FLAGS_KNOWN != 0 {
        return err(at + 8, Fault::UnknownBits);
    }
    Ok(Caps {
        kept: u64_at(p, 0),
        flags,
    })
}

fn parse_rlimit(p: &[u8], at: usize) -> Result<Rlimit> {
    use off::rlimit as o;
    if p.len() != layout::RLIMIT_LEN {
        return err(at - 4, Fault::BadRecordLength);
    }
    let rlimit = Rlimit {
        resource: u32_at(p, o::RESOURCE),
        cur: u64_at(p, o::CUR),
        max: u64_at(p, o::MAX),
    };
    if rlimit.resource >= limit::RLIMIT_RESOURCES {
        // The resource is the payload's first field (`o::RESOURCE` is 0): its offset is `at`.
        return err(at, Fault::BadValue);
    }
    if rlimit.cur > rlimit.max {
        return err(at + o::CUR, Fault::BadValue);
    }
    Ok(rlimit)
}

fn parse_files(p: &[u8], at: usize) -> Result<Files<'_>> {
    if !p.len().is_multiple_of(4) {
        return err(at - 4, Fault::BadRecordLength);
    }
    if p.len() / 4 > limit::FILES {
        return err(at, Fault::TooMany);
    }
    for (i, c) in p.chunks_exact(4).enumerate() {
        let fd = u32_at(c, 0) as i32;
        if fd < -1 || fd >= limit::FD as i32 {
            return err(at + i * 4, Fault::FdOutOfRange);
        }
    }
    Ok(Files { bytes: p })
}

fn parse_seccomp(p: &[u8], at: usize) -> Result<&[u8]> {
    if p.is_empty() || !p.len().is_multiple_of(layout::SOCK_FILTER_LEN) {
        return err(at - 4, Fault::BadRecordLength);
    }
    if p.len() / layout::SOCK_FILTER_LEN > limit::SECCOMP_INSNS {
        return err(at, Fault::TooMany);
    }
    Ok(p)
}

fn parse_id_map(p: &[u8], at: usize) -> Result<IdMap<'_>> {
    if p.is_empty() || !p.len().is_multiple_of(layout::ID_MAP_ENTRY_LEN) {
        return err(at - 4, Fault::BadRecordLength);
    }
    if p.len() / layout::ID_MAP_ENTRY_LEN > limit::ID_MAP_ENTRIES {
        return err(at, Fault::TooMany);
    }
    for (i, c) in p.chunks_exact(layout::ID_MAP_ENTRY_LEN).enumerate() {
        let (inside, outside, size) = (u32_at(c, 0), u32_at(c, 4), u32_at(c, 8));
        let fits = |start: u32| start.checked_add(size).is_some();
        if size == 0 || !fits(inside) || !fits(outside) {
            return err(at + i * layout::ID_MAP_ENTRY_LEN + 8, Fault::BadValue);
        }
    }
    Ok(IdMap { bytes: p })
}

fn parse_credential(p: &[u8], at: usize) -> Result<Credential<'_>> {
    let fixed = layout::CREDENTIAL_FIXED_LEN;
    if p.len() < fixed || !(p.len() - fixed).is_multiple_of(4) {
        return err(at - 4, Fault::BadRecordLength);
    }
    if (p.len() - fixed) / 4 > limit::GROUPS {
        return err(at + fixed, Fault::TooMany);
    }
    let flags = u32_at(p, off::credential::FLAGS);
    if flags & !cred_flag::KNOWN != 0 {
        return err(at + off::credential::FLAGS, Fault::UnknownBits);
    }
    Ok(Credential {
        uid: u32_at(p, off::credential::UID),
        gid: u32_at(p, off::credential::GID),
        flags,
        groups: &p[fixed..],
    })
}

fn parse_mount(p: &[u8], at: usize) -> Result<Mount<'_>> {
    let fixed = layout::MOUNT_FIXED_LEN;
    if p.len() < fixed {
        return err(at - 4, Fault::BadRecordLength);
    }
    let flags = u64_at(p, off::mount::FLAGS);
    if flags & !mount_flags::KNOWN != 0 {
        // The flags are the payload's first field (`off::mount::FLAGS` is 0).
        return err(at, Fault::UnknownBits);
    }
    let options = u32_at(p, off::mount::OPTIONS);
    if options & !mount_opt::KNOWN != 0 {
        return err(at + off::mount::OPTIONS, Fault::UnknownBits);
    }
    let mut rest = &p[fixed..];
    let mut off = at + fixed;
    let mut next = |max: usize| -> Result<&CStr> {
        let Some(nul) = rest.iter().position(|&b| b == 0) else {
            return err(at + p.len(), Fault::Unterminated);
        };
        if nul + 1 > max {
            return err(off, Fault::TooLong);
        }
        let s = CStr::from_bytes_with_nul(&rest[..=nul]).or(err(off, Fault::InteriorNul))?;
        rest = &rest[nul + 1..];
        off += nul + 1;
        Ok(s)
    };
    let source = next(limit::PATH)?;
    let target_at = fixed + source.to_bytes().len() + 1;
    let target = next(limit::PATH)?;
    let fstype = next(limit::FSTYPE)?;
    let data = next(limit::MOUNT_DATA)?;
    if !rest.is_empty() {
        return err(at + p.len() - rest.len(), Fault::BadRecordLength);
    }
    if target.is_empty() {
        return err(at + target_at, Fault::BadValue);
    }
    Ok(Mount {
        flags,
        options,
        source,
        target,
        fstype,
        data,
    })
}

// A record's type, and the first field of RLIMIT, MOUNT and MOUNT_OP, are read and reported
// at the record's or payload's own offset: `x + 0` would be written for them otherwise, a sum
// whose mutant `x - 0` cannot differ.
const _: () = assert!(
    off::record::TYPE == 0
        && off::rlimit::RESOURCE == 0
        && off::mount::FLAGS == 0
        && off::mount_op::KIND == 0
);

fn parse_mount_op(p: &[u8], at: usize) -> Result<MountOp<'_>> {
    use off::mount_op as o;
    let fixed = layout::MOUNT_OP_FIXED_LEN;
    if p.len() < fixed {
        return err(at - 4, Fault::BadRecordLength);
    }
    let kind = u16_at(p, o::KIND);
    let flags = u16_at(p, o::FLAGS);
    let mode = u32_at(p, o::MODE);
    let size = u64_at(p, o::SIZE);
    let fd = u32_at(p, o::FD) as i32;
    let Some(info) = KindInfo::of(kind) else {
        // The kind is the payload's first field (`o::KIND` is 0): its offset is `at`.
        return err(at, Fault::BadValue);
    };
    if flags & !layout::mount_op::KNOWN != 0 {
        return err(at + o::FLAGS, Fault::UnknownBits);
    }
    let fd = match fd {
        -1 => None,
        fd if fd < 0 || fd as u32 >= limit::FD => return err(at + o::FD, Fault::FdOutOfRange),
        fd => Some(fd as u32),
    };
    let mut rest = &p[fixed..];
    let mut str_at = at + fixed;
    let mut next = || -> Result<(&CStr, usize)> {
        let Some(nul) = rest.iter().position(|&b| b == 0) else {
            return err(at + p.len(), Fault::Unterminated);
        };
        if nul + 1 > limit::PATH {
            return err(str_at, Fault::TooLong);
        }
        let s = CStr::from_bytes_with_nul(&rest[..=nul]).or(err(str_at, Fault::InteriorNul))?;
        let s_at = str_at;
        rest = &rest[nul + 1..];
        str_at += nul + 1;
        Ok((s, s_at))
    };
    let (source, source_at) = next()?;
    let (target, target_at) = next()?;
    let content = rest;
    let content_at = str_at;

    // What the kind's row says it takes; anything else it carries is refused, not ignored.
    if flags & !info.flags != 0 {
        return err(at + o::FLAGS, Fault::BadValue);
    }
    if mode > limit::MODE || (!info.takes.mode && mode != 0) {
        return err(at + o::MODE, Fault::BadValue);
    }
    if !info.takes.size && size != 0 {
        return err(at + o::SIZE, Fault::BadValue);
    }
    if fd.is_some() && !info.takes.fd {
        return err(at + o::FD, Fault::BadValue);
    }
    match info.source {
        // A bind takes a source path or an fd, exactly one.
        SourceRule::PathOrFd if source.is_empty() == fd.is_none() => {
            return err(source_at, Fault::Conflict)
        }
        SourceRule::Text if source.is_empty() => return err(source_at, Fault::BadValue),
        SourceRule::None if !source.is_empty() => return err(source_at, Fault::BadValue),
        _ => {}
    }
    if info.lower != 0 {
        parse_layers(content, content_at, info)?;
    } else if !content.is_empty() && (!info.takes.content || fd.is_some()) {
        let fault = if info.takes.content {
            Fault::Conflict // content and an fd
        } else {
            Fault::BadValue
        };
        return err(content_at, fault);
    }
    if target.to_bytes().first() != Some(&b'/') {
        return err(target_at, Fault::BadValue);
    }
    Ok(MountOp {
        kind,
        flags,
        mode,
        size,
        fd,
        source,
        target,
        content,
    })
}

/// An overlay's layers (the record's content): NUL-terminated absolute paths, each at most
/// [`limit::PATH`] with its NUL; the upper and work directories first when the kind takes
/// them, then at least `info.lower` and at most [`limit::OVERLAY_LOWER`] lower directories.
fn parse_layers(content: &[u8], at: usize, info: &KindInfo) -> Result<()> {
    let fixed = if info.takes.upper { 2 } else { 0 };
    let mut count = 0;
    let mut off = 0;
    while off < content.len() {
        let Some(len) = content[off..].iter().position(|&b| b == 0) else {
            return err(at + content.len(), Fault::Unterminated);
        };
        if len + 1 > limit::PATH {
            return err(at + off, Fault::TooLong);
        }
        if content[off] != b'/' {
            return err(at + off, Fault::BadValue); // empty or relative
        }
        count += 1;
        if count > fixed + limit::OVERLAY_LOWER {
            return err(at + off, Fault::TooMany);
        }
        off += len + 1;
    }
    if count < fixed + info.lower as usize {
        return err(at + content.len(), Fault::BadValue);
    }
    Ok(())
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}
