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
pub const RECORD_SKIP_IF_UNKNOWN: u16 = 1;
/// Every record-flag bit this version defines.
pub const RECORD_FLAGS_KNOWN: u16 = RECORD_SKIP_IF_UNKNOWN;

/// Record types ([`crate::tables::record`]), with the highest one and which repeat.
pub mod record {
    pub use crate::tables::record::*;

    /// Highest record type this version knows (the table's largest number; the decoder keeps
    /// one bit per non-repeatable type in a u64, so it must stay below 64).
    pub const LAST: u16 = {
        let mut i = 0;
        let mut max = 0;
        while i < ALL.len() {
            if ALL[i].value > max {
                max = ALL[i].value;
            }
            i += 1;
        }
        assert!(
            max < 64,
            "record types must stay below 64 (the decoder's `seen` bits)"
        );
        max
    };

    /// One bit per record type this version knows (computed from the table, so the helper
    /// does not carry the table's names to answer [`known`]).
    const KNOWN_TYPES: u64 = {
        let mut i = 0;
        let mut bits = 0u64;
        while i < ALL.len() {
            bits |= 1 << ALL[i].value;
            i += 1;
        }
        bits
    };

    /// Whether this version knows the record type (a gap in the numbering is unknown).
    pub fn known(ty: u16) -> bool {
        ty < 64 && KNOWN_TYPES & (1 << ty) != 0
    }

    /// Whether a record type may appear more than once.
    pub fn repeatable(ty: u16) -> bool {
        crate::tables::REPEATABLE_RECORDS.contains(&ty)
    }
}

/// Bits of the OPTIONS record ([`crate::tables::opt`]).
pub mod opt {
    pub use crate::tables::opt::*;

    /// Whether the helper stops itself (SIGSTOP) before loading seccomp, so only a tracer can
    /// let it go on: `STOP_BEFORE_SECCOMP`, implied by `PTRACE` with a seccomp filter (as in
    /// go-sandbox, so the tracer is attached before a filter that traces the exec). The stop
    /// comes after the sync point.
    pub fn stops_before_exec(options: u64, has_seccomp: bool) -> bool {
        options & STOP_BEFORE_SECCOMP != 0 || (options & PTRACE != 0 && has_seccomp)
    }
}

/// CAPS record flags.
pub mod caps {
    /// Leave the effective, permitted and inheritable sets as they are (bubblewrap as uid 0
    /// without `--cap-add`/`--cap-drop`): only the bounding set loses what is not kept, and a
    /// kept capability that is not both permitted and inheritable is not raised into the
    /// ambient set. Without it they are all set to the kept set (`capset`).
    pub const LEAVE_SETS: u32 = 1;
    /// Every CAPS flag this version defines.
    pub const FLAGS_KNOWN: u32 = LEAVE_SETS;
}

/// Landlock (records LANDLOCK, LANDLOCK_PATH, LANDLOCK_PORT): the rights and scopes are the
/// tables [`crate::tables::landlock_fs`], [`crate::tables::landlock_net`] and
/// [`crate::tables::landlock_scope`] (the kernel's own bit values).
pub mod landlock {
    use crate::tables::{landlock_fs as fs, landlock_net as net, landlock_scope as scope};

    /// LANDLOCK flag: refuse (`landlock(2)`, EOPNOTSUPP) when the kernel lacks a requested
    /// right or scope, or Landlock itself, instead of using what it has ("best effort").
    pub const EXACT: u32 = 1;
    /// Every LANDLOCK flag this version defines.
    pub const FLAGS_KNOWN: u32 = EXACT;
    /// The rights that apply to a file (not a directory): a rule on a file keeps only these.
    pub const FS_FILE: u64 =
        fs::EXECUTE | fs::WRITE_FILE | fs::READ_FILE | fs::TRUNCATE | fs::IOCTL_DEV;
    /// Reading files and listing directories.
    pub const FS_READ: u64 = fs::READ_FILE | fs::READ_DIR;
    /// Every right but execute and the reading ones.
    pub const FS_WRITE: u64 = fs::KNOWN & !(fs::EXECUTE | FS_READ);

    /// The Landlock ABI version that brought a filesystem right.
    pub fn fs_since(bit: u64) -> u32 {
        match bit {
            fs::REFER => 2,
            fs::TRUNCATE => 3,
            fs::IOCTL_DEV => 5,
            _ => 1,
        }
    }
    /// The filesystem rights a kernel with ABI `abi` knows.
    pub fn fs_supported(abi: u32) -> u64 {
        fs::ALL
            .iter()
            .filter(|e| abi >= fs_since(e.value))
            .fold(0, |a, e| a | e.value)
    }
    /// The network rights a kernel with ABI `abi` knows (ABI 4).
    pub fn net_supported(abi: u32) -> u64 {
        if abi >= 4 {
            net::KNOWN
        } else {
            0
        }
    }
    /// The scopes a kernel with ABI `abi` knows (ABI 6).
    pub fn scope_supported(abi: u32) -> u64 {
        if abi >= 6 {
            scope::KNOWN
        } else {
            0
        }
    }
}

/// `CLONE_NEW*` namespace flags accepted in the CLONE_FLAGS record ([`crate::tables::ns`]).
pub mod ns {
    pub use crate::tables::ns::*;

    /// Namespaces the exec-in-place shape can enter with `unshare`.
    pub const IN_PLACE: u64 = KNOWN & !NEWPID;
}

/// Mount option bits (the u32 after the mount flags in a MOUNT record).
pub mod mount_opt {
    /// Create the target's missing parent directories, and the target itself (mode 0755).
    pub const MKDIR: u32 = 1;
    /// The target is a file: create it with `mknod` instead of `mkdir` (for file binds).
    pub const FILE: u32 = 1 << 1;
    /// Every mount option bit this version defines.
    pub const KNOWN: u32 = MKDIR | FILE;
}

/// Kinds of MOUNT_OP record ([`crate::tables::mount_kind`]; what each takes:
/// [`crate::tables::KindInfo`]).
pub mod mount_kind {
    pub use crate::tables::mount_kind::*;

    /// Highest kind this version knows.
    pub const LAST: u16 = {
        let all = crate::tables::KindInfo::ALL;
        all[all.len() - 1].kind
    };
}

/// Flag bits of a MOUNT_OP record ([`crate::tables::mount_op`]).
pub use crate::tables::mount_op;

/// Mount flags (`MS_*`) accepted in a MOUNT record ([`crate::tables::mount_flags`]).
pub use crate::tables::mount_flags;

/// Rlimit resources ([`crate::tables::rlimit`]).
pub use crate::tables::rlimit;

/// Credential flag bits (the u32 after uid and gid in a CREDENTIAL record).
pub mod cred_flag {
    /// Do not call `setgroups` (go-sandbox's `NoSetGroups`).
    pub const NO_SETGROUPS: u32 = 1;
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
    pub const RLIMIT_RESOURCES: u32 = crate::tables::rlimit::ALL.len() as u32;
    /// Most entries in FILES.
    pub const FILES: usize = 4096;
    /// Largest fd number anywhere in a spec (exclusive): the kernel's default `nr_open`.
    pub const FD: u32 = 1 << 20;
    /// Most seccomp instructions (`BPF_MAXINSNS`).
    pub const SECCOMP_INSNS: usize = 4096;
    /// Most SECCOMP records (stacked programs).
    pub const SECCOMP_PROGRAMS: usize = 16;
    /// Most MOUNT and MOUNT_OP records together.
    pub const MOUNTS: usize = 256;
    /// Most lower directories of one overlay (the kernel's own limit, `OVL_MAX_STACK`).
    pub const OVERLAY_LOWER: usize = 500;
    /// Largest mode of a MOUNT_OP (permission bits, setuid, setgid, sticky).
    pub const MODE: u32 = 0o7777;
    /// Most uid or gid map entries (the kernel's 340).
    pub const ID_MAP_ENTRIES: usize = 340;
    /// Most supplementary groups (`NGROUPS_MAX`).
    pub const GROUPS: usize = 65_536;
    /// Most LANDLOCK_PATH records, and most LANDLOCK_PORT records.
    pub const LANDLOCK_RULES: usize = 64;
    /// Most LOCK_FILE records (the locks init holds).
    pub const LOCK_FILES: usize = 8;
}

/// Size of one seccomp `sock_filter` instruction on the wire.
pub const SOCK_FILTER_LEN: usize = 8;
/// Size of one id map entry on the wire.
pub const ID_MAP_ENTRY_LEN: usize = 12;
/// The rlimit resources' names by number (Linux's generic numbering, which x86, arm and
/// riscv use): how an error names the rlimit it failed at. The Rust client's `Resource`
/// names are checked against this list.
pub const RLIMIT_NAMES: [&str; limit::RLIMIT_RESOURCES as usize] = {
    let mut names = [""; limit::RLIMIT_RESOURCES as usize];
    let mut i = 0;
    while i < names.len() {
        // The table lists the resources in number order (crates/spec/tests/tables.rs).
        names[i] = rlimit::ALL[i].name;
        i += 1;
    }
    names
};

/// Size of a JOIN_NS payload: three i32 fds.
pub const JOIN_NS_LEN: usize = 12;
/// Size of a CAPS payload: u64 kept set, u32 flags.
pub const CAPS_LEN: usize = 12;
/// Size of an RLIMIT payload.
pub const RLIMIT_LEN: usize = 20;
/// Size of a LANDLOCK payload: u64 fs, u64 net, u64 scopes, u32 flags.
pub const LANDLOCK_LEN: usize = 28;
/// Size of a LANDLOCK_PORT payload: u64 rights, u64 port.
pub const LANDLOCK_PORT_LEN: usize = 16;
/// Fixed part of a MOUNT payload: u64 flags + u32 options.
pub const MOUNT_FIXED_LEN: usize = off::mount::STRINGS;
/// Fixed part of a MOUNT_OP payload: u16 kind, u16 flags, u32 mode, u64 size, i32 fd.
pub const MOUNT_OP_FIXED_LEN: usize = off::mount_op::STRINGS;
/// Fixed part of a CREDENTIAL payload: uid, gid, flags.
pub const CREDENTIAL_FIXED_LEN: usize = off::credential::GROUPS;

/// Field offsets inside payloads (from the payload's first byte).
pub mod off {
    /// RLIMIT: u32 resource, u64 soft, u64 hard.
    pub mod rlimit {
        /// u32 resource number.
        pub const RESOURCE: usize = 0;
        /// u64 soft limit.
        pub const CUR: usize = 4;
        /// u64 hard limit.
        pub const MAX: usize = 12;
    }
    /// MOUNT: u64 flags, u32 options, then the strings.
    pub mod mount {
        /// u64 `MS_*` flags.
        pub const FLAGS: usize = 0;
        /// u32 mount options.
        pub const OPTIONS: usize = 8;
        /// source, target, fstype and data, each NUL-terminated.
        pub const STRINGS: usize = 12;
    }
    /// MOUNT_OP: u16 kind, u16 flags, u32 mode, u64 size, i32 fd, then the strings.
    pub mod mount_op {
        /// u16 kind.
        pub const KIND: usize = 0;
        /// u16 flags.
        pub const FLAGS: usize = 2;
        /// u32 mode.
        pub const MODE: usize = 4;
        /// u64 size.
        pub const SIZE: usize = 8;
        /// i32 fd (-1: none).
        pub const FD: usize = 16;
        /// source and target, each NUL-terminated, then the content bytes.
        pub const STRINGS: usize = 20;
    }
    /// CREDENTIAL: u32 uid, u32 gid, u32 flags, then u32 per group.
    pub mod credential {
        /// u32 uid.
        pub const UID: usize = 0;
        /// u32 gid.
        pub const GID: usize = 4;
        /// u32 flags.
        pub const FLAGS: usize = 8;
        /// u32 per supplementary group.
        pub const GROUPS: usize = 12;
    }
    /// One id map entry: u32 container id, u32 host id, u32 size.
    pub mod id_map {
        /// u32 first id inside.
        pub const CONTAINER_ID: usize = 0;
        /// u32 first id outside.
        pub const HOST_ID: usize = 4;
        /// u32 count.
        pub const SIZE: usize = 8;
    }
    /// The spec header: magic, u16 version, u16 flags, u32 total length.
    pub mod header {
        /// u16 version.
        pub const VERSION: usize = 4;
        /// u16 flags (0).
        pub const FLAGS: usize = 6;
        /// u32 length of the whole spec.
        pub const TOTAL_LEN: usize = 8;
    }
    /// A record header: u16 type, u16 flags, u32 payload length.
    pub mod record {
        /// u16 record type.
        pub const TYPE: usize = 0;
        /// u16 flags (0).
        pub const FLAGS: usize = 2;
        /// u32 payload length.
        pub const LEN: usize = 4;
    }
}
