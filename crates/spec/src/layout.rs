//! Byte layout of a spec: header, record framing, record types, option bits and limits.
//!
//! All integers are little-endian and unaligned. A spec is a 12-byte header followed by
//! records; each record is an 8-byte record header and `len` payload bytes, no padding.

/// `"FXSP"`: the first four bytes of every spec.
pub const MAGIC: [u8; 4] = *b"FXSP";
/// The version this crate reads and writes.
pub const VERSION: u16 = 1;
/// magic (4) + version (u16) + header flags (u16, must be 0) + total length (u32).
pub const HEADER_LEN: usize = 12;
/// type (u16) + record flags (u16) + payload length (u32).
pub const RECORD_HEADER_LEN: usize = 8;

/// Record flag: a helper that does not know this record type may skip it. Only for advisory
/// records; a record that could weaken the sandbox must never carry it.
pub const RECORD_SKIP_IF_UNKNOWN: u16 = 1 << 0;
/// Every record-flag bit this version defines.
pub const RECORD_FLAGS_KNOWN: u16 = RECORD_SKIP_IF_UNKNOWN;

/// Record types. Payload layouts are documented on each constant and in `docs/spec.md`.
pub mod record {
    /// NUL-terminated strings back to back: the target's argv. Required, at least one.
    pub const ARGS: u16 = 1;
    /// NUL-terminated strings back to back: the target's environment. Absent means empty.
    pub const ENV: u16 = 2;
    /// One NUL-terminated path to execute; absent means `args[0]`.
    pub const EXEC_PATH: u16 = 3;
    /// u32: a helper fd to execute with `execveat(fd, "", AT_EMPTY_PATH)`.
    pub const EXEC_FD: u16 = 4;
    /// u32 resource, u64 soft, u64 hard (20 bytes). Repeatable; index = order among rlimits.
    pub const RLIMIT: u16 = 5;
    /// i32 per target fd: target fd `i` = helper fd `files[i]`, or closed when -1.
    pub const FILES: u16 = 6;
    /// One NUL-terminated path for `chdir`, after `pivot_root` when both are given.
    pub const WORK_DIR: u16 = 7;
    /// Classic BPF program: 8 bytes per `sock_filter` (u16 code, u8 jt, u8 jf, u32 k).
    pub const SECCOMP: u16 = 8;
    /// u64: `CLONE_NEW*` flags to unshare.
    pub const CLONE_FLAGS: u16 = 9;
    /// u64 mount flags, u32 mount options, then source, target, fstype, data as
    /// NUL-terminated strings (empty means NULL). Repeatable; index = order among mounts.
    pub const MOUNT: u16 = 10;
    /// One NUL-terminated absolute path: the new root (go-sandbox's `PivotRoot`).
    pub const PIVOT_ROOT: u16 = 11;
    /// One NUL-terminated host name (at most 64 bytes).
    pub const HOST_NAME: u16 = 12;
    /// One NUL-terminated NIS domain name (at most 64 bytes).
    pub const DOMAIN_NAME: u16 = 13;
    /// u32 container id, u32 host id, u32 size per entry (12 bytes).
    pub const UID_MAP: u16 = 14;
    /// Same layout as [`UID_MAP`].
    pub const GID_MAP: u16 = 15;
    /// u32 uid, u32 gid, u32 credential flags, then u32 per supplementary group.
    pub const CREDENTIAL: u16 = 16;
    /// u64 option bits ([`super::opt`]).
    pub const OPTIONS: u16 = 17;
    /// u32: the fd to write status records to (default: the spec fd).
    pub const STATUS_FD: u16 = 18;
    /// One NUL-terminated absolute path of a cgroup (v2) directory to place the target in.
    pub const CGROUP_PATH: u16 = 19;
    /// u32: a helper fd open on a cgroup (v2) directory to place the target in.
    pub const CGROUP_FD: u16 = 20;
    /// A mount operation ([`super::mount_kind`]): u16 kind, u16 flags ([`super::mount_op`]),
    /// u32 mode, u64 size, i32 fd (-1 for none), then source and target as NUL-terminated
    /// strings, then the rest of the payload as content (a file operation's bytes).
    /// Repeatable; shares its index space with [`MOUNT`] (index = order among both).
    pub const MOUNT_OP: u16 = 21;

    /// Highest record type this version knows.
    pub const LAST: u16 = MOUNT_OP;

    /// Printable record name, for diagnostics.
    pub fn name(ty: u16) -> &'static str {
        match ty {
            ARGS => "args",
            ENV => "env",
            EXEC_PATH => "exec_path",
            EXEC_FD => "exec_file",
            RLIMIT => "rlimit",
            FILES => "files",
            WORK_DIR => "work_dir",
            SECCOMP => "seccomp",
            CLONE_FLAGS => "clone_flags",
            MOUNT => "mount",
            PIVOT_ROOT => "pivot_root",
            HOST_NAME => "host_name",
            DOMAIN_NAME => "domain_name",
            UID_MAP => "uid_mappings",
            GID_MAP => "gid_mappings",
            CREDENTIAL => "credential",
            OPTIONS => "options",
            STATUS_FD => "status_fd",
            CGROUP_PATH => "cgroup",
            CGROUP_FD => "cgroup_fd",
            MOUNT_OP => "mount_op",
            _ => "unknown",
        }
    }

    /// Whether a record type may appear more than once.
    pub fn repeatable(ty: u16) -> bool {
        matches!(ty, RLIMIT | MOUNT | MOUNT_OP)
    }
}

/// Bits of the OPTIONS record: go-sandbox's booleans, plus `NO_SETSID`.
pub mod opt {
    /// Write a sync record before exec and wait for the runtime's one-byte answer.
    pub const SYNC: u64 = 1 << 0;
    /// `PTRACE_TRACEME` before exec.
    pub const PTRACE: u64 = 1 << 1;
    /// `PR_SET_NO_NEW_PRIVS` (implied by a seccomp filter).
    pub const NO_NEW_PRIVS: u64 = 1 << 2;
    /// `kill(getpid(), SIGSTOP)` right before loading seccomp (implied by ptrace + seccomp).
    pub const STOP_BEFORE_SECCOMP: u64 = 1 << 3;
    /// Leave `/proc/self/setgroups` at "allow" in a new user namespace.
    pub const GID_MAPPINGS_ENABLE_SETGROUPS: u64 = 1 << 4;
    /// Clear every capability set before exec.
    pub const DROP_CAPS: u64 = 1 << 5;
    /// Unshare the cgroup namespace after the sync point.
    pub const UNSHARE_CGROUP_AFTER_SYNC: u64 = 1 << 6;
    /// Make fd 0 the controlling terminal (`TIOCSCTTY`); needs the new session.
    pub const CTTY: u64 = 1 << 7;
    /// Stay in the caller's session (by default the target gets a new session, as in go-sandbox).
    pub const NO_SETSID: u64 = 1 << 8;
    /// Clone shape: `CLONE_PARENT`, the target becomes the runtime's own child; the helper
    /// reports its pid and exits (needed for ptrace with a new pid namespace).
    pub const DETACH: u64 = 1 << 9;
    /// Clone shape with a new pid namespace: pid 1 is the helper's minimal init (reaps zombies,
    /// forwards signals), the target runs as pid 2.
    pub const INIT: u64 = 1 << 10;
    /// `PR_SET_PDEATHSIG(SIGKILL)` for the helper and the target, re-armed after id changes.
    pub const DIE_WITH_PARENT: u64 = 1 << 11;
    /// Leave the new root (the tmpfs at `pivot_root`) writable; by default it is remounted
    /// read-only after `pivot_root`, as in go-sandbox. Needs `pivot_root`.
    pub const WRITABLE_ROOT: u64 = 1 << 12;

    /// Whether the helper stops itself (SIGSTOP) before loading seccomp, so only a tracer can
    /// let it go on: `STOP_BEFORE_SECCOMP`, implied by `PTRACE` with a seccomp filter (as in
    /// go-sandbox, so the tracer is attached before a filter that traces the exec). The stop
    /// comes after the sync point.
    pub fn stops_before_exec(options: u64, has_seccomp: bool) -> bool {
        options & STOP_BEFORE_SECCOMP != 0 || (options & PTRACE != 0 && has_seccomp)
    }

    /// Every option bit this version defines.
    pub const KNOWN: u64 = SYNC
        | PTRACE
        | NO_NEW_PRIVS
        | STOP_BEFORE_SECCOMP
        | GID_MAPPINGS_ENABLE_SETGROUPS
        | DROP_CAPS
        | UNSHARE_CGROUP_AFTER_SYNC
        | CTTY
        | NO_SETSID
        | DETACH
        | INIT
        | DIE_WITH_PARENT
        | WRITABLE_ROOT;
}

/// `CLONE_NEW*` namespace flags accepted in the CLONE_FLAGS record.
pub mod ns {
    pub const NEWNS: u64 = 0x0002_0000;
    pub const NEWCGROUP: u64 = 0x0200_0000;
    pub const NEWUTS: u64 = 0x0400_0000;
    pub const NEWIPC: u64 = 0x0800_0000;
    pub const NEWUSER: u64 = 0x1000_0000;
    pub const NEWPID: u64 = 0x2000_0000;
    pub const NEWNET: u64 = 0x4000_0000;
    /// Every namespace flag the format can carry.
    pub const KNOWN: u64 = NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET;
    /// Namespaces the exec-in-place shape can enter with `unshare`.
    pub const IN_PLACE: u64 = KNOWN & !NEWPID;
}

/// Mount option bits (the u32 after the mount flags in a MOUNT record).
pub mod mount_opt {
    /// Create the target's missing parent directories, and the target itself (mode 0755).
    pub const MKDIR: u32 = 1 << 0;
    /// The target is a file: create it with `mknod` instead of `mkdir` (for file binds).
    pub const FILE: u32 = 1 << 1;
    /// Every mount option bit this version defines.
    pub const KNOWN: u32 = MKDIR | FILE;
}

/// Kinds of MOUNT_OP record: the common mounts, so runtimes never hand-craft `MS_*` flags.
/// Every target is an absolute path, resolved inside the new root (or `/`), never through a
/// symlink out of it; missing parents (mode 0755) and a missing target are created.
pub mod mount_kind {
    /// Recursive bind of `source` (a path, or `fd`) on `target`, always nosuid, and nodev
    /// unless [`super::mount_op::DEV`]; [`super::mount_op::READONLY`] makes every submount
    /// read-only too.
    pub const BIND: u16 = 1;
    /// A new tmpfs: `size` bytes (0: the kernel default), root directory `mode`; nosuid, nodev.
    pub const TMPFS: u16 = 2;
    /// A new proc (of the target's pid namespace); nosuid, nodev, noexec.
    pub const PROC: u16 = 3;
    /// A minimal `/dev`: a tmpfs with null, zero, full, random, urandom and tty bound from the
    /// host, a new devpts instance at `pts` with `ptmx` linked to it, `shm` (tmpfs, 1777), and
    /// the `fd`, `stdin`, `stdout`, `stderr` links to `/proc/self/fd`.
    pub const DEV: u16 = 4;
    /// A new mqueue filesystem (of the target's ipc namespace); nosuid, nodev, noexec.
    pub const MQUEUE: u16 = 5;
    /// A directory with exactly `mode`.
    pub const DIR: u16 = 6;
    /// A symlink at `target` whose content is `source`.
    pub const SYMLINK: u16 = 7;
    /// A file with exactly `mode` and the record's content, or what `fd` holds (read to EOF).
    pub const FILE: u16 = 8;
    /// Make the mount at `target` and every mount below it read-only.
    pub const REMOUNT_RO: u16 = 9;
    /// Hide `target`: a read-only empty directory (for a directory) or an empty file (for
    /// anything else) mounted over it.
    pub const MASK: u16 = 10;
    /// Highest kind this version knows.
    pub const LAST: u16 = MASK;

    /// Printable kind name (the JSON `type`).
    pub fn name(kind: u16) -> &'static str {
        match kind {
            BIND => "bind",
            TMPFS => "tmpfs",
            PROC => "proc",
            DEV => "dev",
            MQUEUE => "mqueue",
            DIR => "dir",
            SYMLINK => "symlink",
            FILE => "file",
            REMOUNT_RO => "remount_ro",
            MASK => "mask",
            _ => "unknown",
        }
    }
}

/// Flag bits of a MOUNT_OP record (the u16 after the kind).
pub mod mount_op {
    /// bind: skip the operation when the source does not exist; mask: when the target does not.
    pub const OPTIONAL: u16 = 1 << 0;
    /// bind, tmpfs: read-only (for a bind, every submount too).
    pub const READONLY: u16 = 1 << 1;
    /// bind: allow device nodes (a dev-bind: no nodev).
    pub const DEV: u16 = 1 << 2;
    /// Every flag bit this version defines.
    pub const KNOWN: u16 = OPTIONAL | READONLY | DEV;
}

/// Mount flags (`MS_*`) accepted in a MOUNT record; any other bit is refused, so nothing the
/// kernel might silently ignore reaches it. (`MS_KERNMOUNT` and the legacy `MS_MGC_VAL` magic
/// in the high bits are not for user space.)
pub mod mount_flags {
    pub const RDONLY: u64 = 0x1;
    pub const NOSUID: u64 = 0x2;
    pub const NODEV: u64 = 0x4;
    pub const NOEXEC: u64 = 0x8;
    pub const SYNCHRONOUS: u64 = 0x10;
    pub const REMOUNT: u64 = 0x20;
    pub const MANDLOCK: u64 = 0x40;
    pub const DIRSYNC: u64 = 0x80;
    pub const NOSYMFOLLOW: u64 = 0x100;
    pub const NOATIME: u64 = 0x400;
    pub const NODIRATIME: u64 = 0x800;
    pub const BIND: u64 = 0x1000;
    pub const MOVE: u64 = 0x2000;
    pub const REC: u64 = 0x4000;
    pub const SILENT: u64 = 0x8000;
    pub const POSIXACL: u64 = 0x1_0000;
    pub const UNBINDABLE: u64 = 0x2_0000;
    pub const PRIVATE: u64 = 0x4_0000;
    pub const SLAVE: u64 = 0x8_0000;
    pub const SHARED: u64 = 0x10_0000;
    pub const RELATIME: u64 = 0x20_0000;
    pub const I_VERSION: u64 = 0x80_0000;
    pub const STRICTATIME: u64 = 0x100_0000;
    pub const LAZYTIME: u64 = 0x200_0000;
    /// Every flag a MOUNT record may carry.
    pub const KNOWN: u64 = RDONLY
        | NOSUID
        | NODEV
        | NOEXEC
        | SYNCHRONOUS
        | REMOUNT
        | MANDLOCK
        | DIRSYNC
        | NOSYMFOLLOW
        | NOATIME
        | NODIRATIME
        | BIND
        | MOVE
        | REC
        | SILENT
        | POSIXACL
        | UNBINDABLE
        | PRIVATE
        | SLAVE
        | SHARED
        | RELATIME
        | I_VERSION
        | STRICTATIME
        | LAZYTIME;
}

/// Credential flag bits (the u32 after uid and gid in a CREDENTIAL record).
pub mod cred_flag {
    /// Do not call `setgroups` (go-sandbox's `NoSetGroups`).
    pub const NO_SETGROUPS: u32 = 1 << 0;
    /// Every credential flag bit this version defines.
    pub const KNOWN: u32 = NO_SETGROUPS;
}

/// Fixed limits. The helper keeps all its state in static storage sized by these.
pub mod limit {
    /// Largest whole spec, header included (twice Linux's usual 2 MiB `ARG_MAX`).
    pub const SPEC_LEN: usize = 4 << 20;
    /// Most argv strings.
    pub const ARGS: usize = 262_144;
    /// Most environment strings.
    pub const ENV: usize = 262_144;
    /// Longest path (work_dir, pivot_root, exec_path, mount source and target), NUL included.
    pub const PATH: usize = 4096;
    /// Longest mount data string, NUL included.
    pub const MOUNT_DATA: usize = 4096;
    /// Longest fstype, NUL included.
    pub const FSTYPE: usize = 256;
    /// Longest host or domain name, NUL excluded (the kernel's `__NEW_UTS_LEN`).
    pub const UTS_NAME: usize = 64;
    /// Most rlimit records (Linux has 16 resources).
    pub const RLIMITS: usize = 16;
    /// Number of rlimit resources (`RLIM_NLIMITS`); a resource must be below it.
    pub const RLIMIT_RESOURCES: u32 = 16;
    /// Most entries in FILES.
    pub const FILES: usize = 4096;
    /// Largest fd number anywhere in a spec (exclusive): the kernel's default `nr_open`.
    pub const FD: u32 = 1 << 20;
    /// Most seccomp instructions (`BPF_MAXINSNS`).
    pub const SECCOMP_INSNS: usize = 4096;
    /// Most MOUNT and MOUNT_OP records together.
    pub const MOUNTS: usize = 256;
    /// Largest mode of a MOUNT_OP (permission bits, setuid, setgid, sticky).
    pub const MODE: u32 = 0o7777;
    /// Most uid or gid map entries (the kernel's 340).
    pub const ID_MAP_ENTRIES: usize = 340;
    /// Most supplementary groups (`NGROUPS_MAX`).
    pub const GROUPS: usize = 65_536;
}

/// Size of one seccomp `sock_filter` instruction on the wire.
pub const SOCK_FILTER_LEN: usize = 8;
/// Size of one id map entry on the wire.
pub const ID_MAP_ENTRY_LEN: usize = 12;
/// The rlimit resources' names by number (Linux's generic numbering, which x86, arm and
/// riscv use): how an error names the rlimit it failed at. The Rust client's `Resource`
/// names are checked against this list.
pub const RLIMIT_NAMES: [&str; limit::RLIMIT_RESOURCES as usize] = [
    "cpu",
    "fsize",
    "data",
    "stack",
    "core",
    "rss",
    "nproc",
    "nofile",
    "memlock",
    "as",
    "locks",
    "sigpending",
    "msgqueue",
    "nice",
    "rtprio",
    "rttime",
];

/// Size of an RLIMIT payload.
pub const RLIMIT_LEN: usize = 20;
/// Fixed part of a MOUNT payload: u64 flags + u32 options.
pub const MOUNT_FIXED_LEN: usize = 12;
/// Fixed part of a MOUNT_OP payload: u16 kind, u16 flags, u32 mode, u64 size, i32 fd.
pub const MOUNT_OP_FIXED_LEN: usize = 20;
/// Fixed part of a CREDENTIAL payload: uid, gid, flags.
pub const CREDENTIAL_FIXED_LEN: usize = 12;
