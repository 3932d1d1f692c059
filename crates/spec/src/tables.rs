//! The tables: one row per record type, option bit, clone flag, mount flag, mount kind, mount
//! operation flag and rlimit resource. Everything else reads these rows: the decoder, the
//! writer, the helper, the Rust client's name enums (through the `*_rows!` macros), the CLI,
//! the fuzz crate, and `docs/spec.md` (its "Tables" section is generated from them by
//! [`markdown`] and compared in a test; the Python client's test checks its copy against it).
//!
//! Adding a row here is most of adding a concept: a new mount kind is one row in
//! [`mount_kind_rows!`](crate::mount_kind_rows) (what it takes and refuses is data), plus the helper's code that
//! performs it.

/// One named value of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<T: 'static> {
    /// The number on the wire.
    pub value: T,
    /// The name in JSON and messages.
    pub name: &'static str,
    /// The constant's name in `layout` (`NO_SETSID`).
    pub ident: &'static str,
}

/// Finds the entry with this value.
pub fn by_value<T: Copy + PartialEq>(
    all: &'static [Entry<T>],
    value: T,
) -> Option<&'static Entry<T>> {
    all.iter().find(|e| e.value == value)
}

/// Finds the entry with this name.
pub fn by_name<T>(all: &'static [Entry<T>], name: &str) -> Option<&'static Entry<T>> {
    all.iter().find(|e| e.name == name)
}

/// Builds a `layout` module from a table's rows: a constant per row, `ALL`, `KNOWN` (the union,
/// for bit tables), `name()` and `from_name()`.
macro_rules! table_module {
    ({ $(#[$mdoc:meta])* $module:ident: $T:ty, $what:literal }
     $( $(#[$doc:meta])* $Variant:ident $CONST:ident = $value:expr => $name:literal, )*) => {
        $(#[$mdoc])*
        pub mod $module {
            use $crate::tables::Entry;
            $( $(#[$doc])* pub const $CONST: $T = $value; )*
            /// What a value of this table is called in messages.
            pub const WHAT: &str = $what;
            /// Every row, in table order.
            pub const ALL: &[Entry<$T>] = &[
                $( Entry { value: $CONST, name: $name, ident: stringify!($CONST) }, )*
            ];
            /// Every value or-ed together (the known bits, for a bit table).
            pub const KNOWN: $T = 0 $( | $CONST )*;
            /// The row's name, or `"unknown"`.
            pub fn name(value: $T) -> &'static str {
                match $crate::tables::by_value(ALL, value) {
                    Some(e) => e.name,
                    None => "unknown",
                }
            }
            /// The value with this name.
            pub fn from_name(name: &str) -> Option<$T> {
                $crate::tables::by_name(ALL, name).map(|e| e.value)
            }
        }
    };
}

/// Calls `$cb! { $args <rows> }` with the rows of the record type table: `Variant CONST = number
/// => "name"`. A record is repeatable when it is listed in [`REPEATABLE_RECORDS`].
#[macro_export]
macro_rules! record_rows {
    ($cb:ident ! $args:tt) => {
        $cb! { $args
            /// NUL-terminated strings back to back: the target's argv. Required, at least one.
            Args ARGS = 1 => "args",
            /// NUL-terminated strings back to back: the target's environment. Absent means empty.
            Env ENV = 2 => "env",
            /// One NUL-terminated path to execute; absent means `args[0]`.
            ExecPath EXEC_PATH = 3 => "exec_path",
            /// u32: a helper fd to execute with `execveat(fd, "", AT_EMPTY_PATH)`.
            ExecFd EXEC_FD = 4 => "exec_file",
            /// u32 resource, u64 soft, u64 hard (20 bytes). Repeatable; index = order among rlimits.
            Rlimit RLIMIT = 5 => "rlimit",
            /// i32 per target fd: target fd `i` = helper fd `files[i]`, or closed when -1.
            Files FILES = 6 => "files",
            /// One NUL-terminated path for `chdir`, after `pivot_root` when both are given.
            WorkDir WORK_DIR = 7 => "work_dir",
            /// Classic BPF program: 8 bytes per `sock_filter` (u16 code, u8 jt, u8 jf, u32 k).
            /// Repeatable: the programs are loaded in order (stacked); index = order among
            /// SECCOMP records.
            Seccomp SECCOMP = 8 => "seccomp",
            /// u64: `CLONE_NEW*` flags to unshare.
            CloneFlags CLONE_FLAGS = 9 => "clone_flags",
            /// u64 mount flags, u32 mount options, then source, target, fstype, data as
            /// NUL-terminated strings (empty means NULL). Repeatable; index = order among mounts.
            Mount MOUNT = 10 => "mount",
            /// One NUL-terminated absolute path: the new root (go-sandbox's `PivotRoot`).
            PivotRoot PIVOT_ROOT = 11 => "pivot_root",
            /// One NUL-terminated host name (at most 64 bytes).
            HostName HOST_NAME = 12 => "host_name",
            /// One NUL-terminated NIS domain name (at most 64 bytes).
            DomainName DOMAIN_NAME = 13 => "domain_name",
            /// u32 container id, u32 host id, u32 size per entry (12 bytes).
            UidMap UID_MAP = 14 => "uid_mappings",
            /// Same layout as [`UID_MAP`].
            GidMap GID_MAP = 15 => "gid_mappings",
            /// u32 uid, u32 gid, u32 credential flags, then u32 per supplementary group.
            Credential CREDENTIAL = 16 => "credential",
            /// u64 option bits ([`super::opt`]).
            Options OPTIONS = 17 => "options",
            /// u32: the fd to write status records to (default: the spec fd).
            StatusFd STATUS_FD = 18 => "status_fd",
            /// One NUL-terminated absolute path of a cgroup (v2) directory to place the target in.
            CgroupPath CGROUP_PATH = 19 => "cgroup",
            /// u32: a helper fd open on a cgroup (v2) directory to place the target in.
            CgroupFd CGROUP_FD = 20 => "cgroup_fd",
            /// A mount operation ([`super::mount_kind`]): u16 kind, u16 flags
            /// ([`super::mount_op`]), u32 mode, u64 size, i32 fd (-1 for none), then source and
            /// target as NUL-terminated strings, then the rest of the payload as content (a file
            /// operation's bytes). Repeatable; shares its index space with [`MOUNT`].
            MountOp MOUNT_OP = 21 => "mount_op",
            /// Landlock: u64 handled filesystem rights ([`super::landlock_fs`]), u64 handled
            /// network rights ([`super::landlock_net`]), u64 scopes ([`super::landlock_scope`]),
            /// u32 flags (`layout::landlock::EXACT`) (28 bytes). Present: the target is
            /// confined (after `no_new_privs`, before seccomp).
            Landlock LANDLOCK = 22 => "landlock",
            /// u64 filesystem rights allowed beneath an absolute path (NUL-terminated, resolved
            /// in the target's root). Repeatable; index = order among LANDLOCK_PATH records.
            LandlockPath LANDLOCK_PATH = 23 => "landlock_path",
            /// u64 network rights allowed on a u64 TCP port (16 bytes). Repeatable; index =
            /// order among LANDLOCK_PORT records.
            LandlockPort LANDLOCK_PORT = 24 => "landlock_port",
            /// u32: a helper fd to write bubblewrap's `--info-fd` JSON to once the target is
            /// started: its pid and the ids of the namespaces the helper created.
            InfoFd INFO_FD = 25 => "info_fd",
            /// u32: a helper fd for bubblewrap's `--json-status-fd` JSON lines: the pid and
            /// namespace ids once the target is started, its exit code when it ends.
            JsonStatusFd JSON_STATUS_FD = 26 => "json_status_fd",
            /// Existing namespaces to join with `setns` (bubblewrap's `--userns`, `--pidns`,
            /// `--userns2`): i32 user, i32 pid, i32 user2 helper fds, -1 for none (12 bytes).
            JoinNs JOIN_NS = 27 => "join_ns",
            /// One NUL-terminated absolute path (bubblewrap's `--lock-file`): init takes a read
            /// lock on it, resolved inside the sandbox after the mounts, and holds it while it
            /// lives. Repeatable; index = order among LOCK_FILE records. Needs INIT.
            LockFile LOCK_FILE = 28 => "lock_file",
            /// u32: a helper fd init keeps open while it lives (bubblewrap's `--sync-fd`); the
            /// target and the supervisor do not have it. Needs INIT.
            SyncFd SYNC_FD = 29 => "sync_fd",
            /// u64 kept capability set (bit `n` = capability `n`), u32 flags
            /// ([`crate::layout::caps`]) (12 bytes): the target keeps these capabilities, as bubblewrap's
            /// `--cap-add`/`--cap-drop` leave them (bounding, effective, permitted,
            /// inheritable and ambient sets). Not with `drop_caps`.
            Caps CAPS = 30 => "caps",
            /// u32: a helper fd the target reads one byte from (or EOF) after its mounts, before
            /// the sync point (bubblewrap's `--block-fd`).
            BlockFd BLOCK_FD = 31 => "block_fd",
            /// u32: a helper fd the helper reads one byte from (or EOF) once the clone's user
            /// namespace exists and its pid is reported, before it lets the clone go on; the id
            /// maps are another process's to write (bubblewrap's `--userns-block-fd`). Needs
            /// `newuser`, no UID_MAP or GID_MAP; makes the spec a clone.
            UsernsBlockFd USERNS_BLOCK_FD = 32 => "userns_block_fd",
        }
    };
}

/// Record types that may appear more than once.
pub const REPEATABLE_RECORDS: &[u16] = &[
    crate::layout::record::RLIMIT,
    crate::layout::record::SECCOMP,
    crate::layout::record::MOUNT,
    crate::layout::record::MOUNT_OP,
    crate::layout::record::LANDLOCK_PATH,
    crate::layout::record::LANDLOCK_PORT,
    crate::layout::record::LOCK_FILE,
];

/// Calls `$cb! { $args <rows> }` with Landlock's filesystem rights (the kernel's
/// `LANDLOCK_ACCESS_FS_*`); [`crate::layout::landlock::fs_since`] gives the ABI of each.
#[macro_export]
macro_rules! landlock_fs_rows {
    ($cb:ident ! $args:tt) => {
        $cb! { $args
            /// Execute a file.
            Execute EXECUTE = 1 << 0 => "execute",
            /// Open a file for writing.
            WriteFile WRITE_FILE = 1 << 1 => "write_file",
            /// Open a file for reading.
            ReadFile READ_FILE = 1 << 2 => "read_file",
            /// List a directory.
            ReadDir READ_DIR = 1 << 3 => "read_dir",
            /// Remove a directory.
            RemoveDir REMOVE_DIR = 1 << 4 => "remove_dir",
            /// Unlink a file.
            RemoveFile REMOVE_FILE = 1 << 5 => "remove_file",
            /// Create a character device.
            MakeChar MAKE_CHAR = 1 << 6 => "make_char",
            /// Create a directory.
            MakeDir MAKE_DIR = 1 << 7 => "make_dir",
            /// Create a regular file.
            MakeReg MAKE_REG = 1 << 8 => "make_reg",
            /// Create a unix socket.
            MakeSock MAKE_SOCK = 1 << 9 => "make_sock",
            /// Create a FIFO.
            MakeFifo MAKE_FIFO = 1 << 10 => "make_fifo",
            /// Create a block device.
            MakeBlock MAKE_BLOCK = 1 << 11 => "make_block",
            /// Create a symlink.
            MakeSym MAKE_SYM = 1 << 12 => "make_sym",
            /// Link or rename a file from or to another directory (ABI 2).
            Refer REFER = 1 << 13 => "refer",
            /// Truncate a file (ABI 3).
            Truncate TRUNCATE = 1 << 14 => "truncate",
            /// ioctl on a device file (ABI 5).
            IoctlDev IOCTL_DEV = 1 << 15 => "ioctl_dev",
        }
    };
}

/// Calls `$cb! { $args <rows> }` with Landlock's network rights (ABI 4).
#[macro_export]
macro_rules! landlock_net_rows {
    ($cb:ident ! $args:tt) => {
        $cb! { $args
            /// Bind a TCP socket to the port.
            BindTcp BIND_TCP = 1 << 0 => "bind_tcp",
            /// Connect a TCP socket to the port.
            ConnectTcp CONNECT_TCP = 1 << 1 => "connect_tcp",
        }
    };
}

/// Calls `$cb! { $args <rows> }` with Landlock's scopes (ABI 6): what the target may not
/// reach outside its Landlock domain.
#[macro_export]
macro_rules! landlock_scope_rows {
    ($cb:ident ! $args:tt) => {
        $cb! { $args
            /// Connecting to an abstract unix socket made outside the domain.
            AbstractUnixSocket ABSTRACT_UNIX_SOCKET = 1 << 0 => "abstract_unix_socket",
            /// Sending a signal to a process outside the domain.
            Signal SIGNAL = 1 << 1 => "signal",
        }
    };
}

/// Calls `$cb! { $args <rows> }` with the option bits (record OPTIONS). Each row names the
/// boolean of the client's `Spec` (and JSON key) that sets it: `field: sync`, or
/// `field: !setsid` for a bit set when that boolean is false.
#[macro_export]
macro_rules! option_rows {
    ($cb:ident ! $args:tt) => {
        $cb! { $args
            /// Write a sync record before exec and wait for the runtime's one-byte answer.
            Sync SYNC = 1 << 0 => "sync" { field: sync },
            /// `PTRACE_TRACEME` before exec.
            Ptrace PTRACE = 1 << 1 => "ptrace" { field: ptrace },
            /// `PR_SET_NO_NEW_PRIVS` (implied by a seccomp filter).
            NoNewPrivs NO_NEW_PRIVS = 1 << 2 => "no_new_privs" { field: no_new_privs },
            /// `kill(getpid(), SIGSTOP)` right before loading seccomp (implied by ptrace + seccomp).
            StopBeforeSeccomp STOP_BEFORE_SECCOMP = 1 << 3 => "stop_before_seccomp" { field: stop_before_seccomp },
            /// Leave `/proc/self/setgroups` at "allow" in a new user namespace.
            GidMappingsEnableSetgroups GID_MAPPINGS_ENABLE_SETGROUPS = 1 << 4 => "gid_mappings_enable_setgroups" { field: gid_mappings_enable_setgroups },
            /// Clear every capability set before exec.
            DropCaps DROP_CAPS = 1 << 5 => "drop_caps" { field: drop_caps },
            /// Unshare the cgroup namespace after the sync point.
            UnshareCgroupAfterSync UNSHARE_CGROUP_AFTER_SYNC = 1 << 6 => "unshare_cgroup_after_sync" { field: unshare_cgroup_after_sync },
            /// Make fd 0 the controlling terminal (`TIOCSCTTY`); needs the new session.
            Ctty CTTY = 1 << 7 => "ctty" { field: ctty },
            /// Stay in the caller's session (by default the target gets a new session, as in
            /// go-sandbox). JSON spells it inverted: `"setsid": false`.
            NoSetsid NO_SETSID = 1 << 8 => "no_setsid" { field: !setsid },
            /// Clone shape: `CLONE_PARENT`, the target becomes the runtime's own child; the helper
            /// reports its pid and exits (needed for ptrace with a new pid namespace).
            Detach DETACH = 1 << 9 => "detach" { field: detach },
            /// Clone shape with a new pid namespace: pid 1 is the helper's minimal init (reaps
            /// zombies, forwards signals), the target runs as pid 2.
            Init INIT = 1 << 10 => "init" { field: init },
            /// `PR_SET_PDEATHSIG(SIGKILL)` for the helper and the target, re-armed after id changes.
            DieWithParent DIE_WITH_PARENT = 1 << 11 => "die_with_parent" { field: die_with_parent },
            /// Leave the new root (the tmpfs at `pivot_root`) writable; by default it is remounted
            /// read-only after `pivot_root`, as in go-sandbox. Needs `pivot_root`.
            WritableRoot WRITABLE_ROOT = 1 << 12 => "writable_root" { field: writable_root },
            /// Join a new anonymous session keyring (`KEYCTL_JOIN_SESSION_KEYRING`) after the
            /// ids are set, in every shape, so the target cannot read or use the keys of the
            /// runtime's session keyring.
            NewSessionKeyring NEW_SESSION_KEYRING = 1 << 13 => "new_session_keyring" { field: new_session_keyring },
            /// The missing parent directories a mount operation makes for its target take
            /// bubblewrap's modes instead of 0755: 0755 less the group's bits when the
            /// operation's mode gives its group nothing, less the others' when it gives them
            /// nothing (a kind without a mode counts as mode 0: 0700). See
            /// [`MountOp::parents_mode`](crate::decode::MountOp::parents_mode).
            ParentsFromMode PARENTS_FROM_MODE = 1 << 14 => "parents_from_mode" { field: parents_from_mode },
            /// Clone shapes (and a fork server's in-place run): no pid record and no exec
            /// record, for a runtime that reads the
            /// stream only once the helper has ended (error and exit records still come, and
            /// detach keeps its pid record). The supervisor then sleeps in its signalfd until
            /// the target ends instead of waking at its exec.
            OnlyEndRecords ONLY_END_RECORDS = 1 << 15 => "only_end_records" { field: only_end_records },
            /// With init: once the target is released, pid 1 drops every capability, takes the
            /// target's seccomp filter and becomes dumpable, as bubblewrap's init does, so that
            /// processes of the same user outside can open its `/proc/PID/ns/*` (and the target
            /// can trace it). Needs init.
            DumpableInit DUMPABLE_INIT = 1 << 16 => "dumpable_init" { field: dumpable_init },
            /// With init: the supervising helper ends as soon as init reports the target's end
            /// (the exit record), without waiting for init's own exit, in which the kernel tears
            /// the namespaces down; init is left to the system, as bubblewrap's parent leaves its
            /// pid 1. Needs init.
            NoWaitInit NO_WAIT_INIT = 1 << 17 => "no_wait_init" { field: no_wait_init },
            /// Every failure exits 1 instead of 125/126/127, and the helper's stderr line says
            /// the step in bubblewrap's words (`render::failure`), as bubblewrap does
            /// (forkexec-run's bubblewrap mode). The error record is the same.
            BwrapErrors BWRAP_ERRORS = 1 << 18 => "bwrap_errors" { field: bwrap_errors },
            /// Bring the loopback interface `lo` of the new network namespace up, as
            /// bubblewrap's `--unshare-net` does; the kernel then gives it 127.0.0.1/8 and ::1.
            /// Needs `newnet`.
            Loopback LOOPBACK = 1 << 19 => "loopback" { field: loopback },
            /// In the new user namespace (needed): `user.max_user_namespaces` is set to 1 while
            /// the host's `/proc` is still there, and after the mounts the target enters one
            /// nested user namespace, its ids mapped to themselves, that uses up that limit: the
            /// target and everything it starts can create no user namespace (ENOSPC), and the
            /// limit is out of their reach. Then checked as ASSERT_USERNS_DISABLED does
            /// (bubblewrap's `--disable-userns`).
            DisableUserns DISABLE_USERNS = 1 << 20 => "disable_userns" { field: disable_userns },
            /// After the mounts (and the nested user namespace of DISABLE_USERNS): creating a
            /// user namespace must fail; if it succeeds, the start fails at location
            /// `assert_userns_disabled` (bubblewrap's `--assert-userns-disabled`).
            AssertUsernsDisabled ASSERT_USERNS_DISABLED = 1 << 21 => "assert_userns_disabled" { field: assert_userns_disabled },
        }
    };
}

/// Calls `$cb! { $args <rows> }` with the `CLONE_NEW*` namespace flags (record CLONE_FLAGS).
#[macro_export]
macro_rules! clone_flag_rows {
    ($cb:ident ! $args:tt) => {
        $cb! { $args
            /// Mount namespace (`CLONE_NEWNS`); required by `mounts` and `pivot_root`.
            NewNs NEWNS = 0x0002_0000 => "newns",
            /// UTS namespace; required by `host_name` and `domain_name`.
            NewUts NEWUTS = 0x0400_0000 => "newuts",
            /// IPC namespace (`CLONE_NEWIPC`): System V IPC and POSIX message queues.
            NewIpc NEWIPC = 0x0800_0000 => "newipc",
            /// Network namespace (`CLONE_NEWNET`): only a loopback interface, down (up with the
            /// LOOPBACK option).
            NewNet NEWNET = 0x4000_0000 => "newnet",
            /// Cgroup namespace (`CLONE_NEWCGROUP`): the current cgroup becomes the root.
            NewCgroup NEWCGROUP = 0x0200_0000 => "newcgroup",
            /// User namespace; required by `uid_mappings` and `gid_mappings`.
            NewUser NEWUSER = 0x1000_0000 => "newuser",
            /// Pid namespace; needs the clone shape.
            NewPid NEWPID = 0x2000_0000 => "newpid",
        }
    };
}

/// Calls `$cb! { $args <rows> }` with the mount flags (`MS_*`) a MOUNT record may carry; any
/// other bit is refused, so nothing the kernel might silently ignore reaches it.
/// (`MS_KERNMOUNT` and the legacy `MS_MGC_VAL` magic in the high bits are not for user space.)
#[macro_export]
macro_rules! mount_flag_rows {
    ($cb:ident ! $args:tt) => {
        $cb! { $args
            /// `MS_RDONLY`: read-only.
            ReadOnly RDONLY = 0x1 => "rdonly",
            /// `MS_NOSUID`: setuid and setgid bits and file capabilities ignored.
            NoSuid NOSUID = 0x2 => "nosuid",
            /// `MS_NODEV`: device nodes unusable.
            NoDev NODEV = 0x4 => "nodev",
            /// `MS_NOEXEC`: no execution.
            NoExec NOEXEC = 0x8 => "noexec",
            /// `MS_SYNCHRONOUS`: writes synchronous.
            Synchronous SYNCHRONOUS = 0x10 => "synchronous",
            /// `MS_REMOUNT`: change an existing mount.
            Remount REMOUNT = 0x20 => "remount",
            /// `MS_MANDLOCK`: mandatory locking.
            Mandlock MANDLOCK = 0x40 => "mandlock",
            /// `MS_DIRSYNC`: directory changes synchronous.
            DirSync DIRSYNC = 0x80 => "dirsync",
            /// `MS_NOSYMFOLLOW`: symlinks not followed.
            NoSymFollow NOSYMFOLLOW = 0x100 => "nosymfollow",
            /// `MS_NOATIME`: no access times.
            NoAtime NOATIME = 0x400 => "noatime",
            /// `MS_NODIRATIME`: no directory access times.
            NoDirAtime NODIRATIME = 0x800 => "nodiratime",
            /// `MS_BIND`: a bind mount.
            Bind BIND = 0x1000 => "bind",
            /// `MS_MOVE`: move a mount.
            Move MOVE = 0x2000 => "move",
            /// `MS_REC`: recursive (with bind or a propagation flag).
            Rec REC = 0x4000 => "rec",
            /// `MS_SILENT`: fewer kernel messages.
            Silent SILENT = 0x8000 => "silent",
            /// `MS_POSIXACL`: POSIX ACLs.
            PosixAcl POSIXACL = 0x1_0000 => "posixacl",
            /// `MS_UNBINDABLE`: propagation: unbindable.
            Unbindable UNBINDABLE = 0x2_0000 => "unbindable",
            /// `MS_PRIVATE`: propagation: private.
            Private PRIVATE = 0x4_0000 => "private",
            /// `MS_SLAVE`: propagation: slave.
            Slave SLAVE = 0x8_0000 => "slave",
            /// `MS_SHARED`: propagation: shared.
            Shared SHARED = 0x10_0000 => "shared",
            /// `MS_RELATIME`: relative access times.
            RelAtime RELATIME = 0x20_0000 => "relatime",
            /// `MS_I_VERSION`: inode versions.
            IVersion I_VERSION = 0x80_0000 => "i_version",
            /// `MS_STRICTATIME`: always update access times.
            StrictAtime STRICTATIME = 0x100_0000 => "strictatime",
            /// `MS_LAZYTIME`: lazy time updates.
            LazyTime LAZYTIME = 0x200_0000 => "lazytime",
        }
    };
}

/// Calls `$cb! { $args <rows> }` with the rlimit resources (`RLIMIT_*`, the numbering of
/// x86, arm, riscv and most architectures; the helper passes them to `prlimit64` as they are).
#[macro_export]
macro_rules! rlimit_rows {
    ($cb:ident ! $args:tt) => {
        $cb! { $args
            /// `RLIMIT_CPU`: CPU time in seconds.
            Cpu CPU = 0 => "cpu",
            /// `RLIMIT_FSIZE`: largest file size in bytes.
            Fsize FSIZE = 1 => "fsize",
            /// `RLIMIT_DATA`: data segment size in bytes.
            Data DATA = 2 => "data",
            /// `RLIMIT_STACK`: stack size in bytes.
            Stack STACK = 3 => "stack",
            /// `RLIMIT_CORE`: core file size in bytes.
            Core CORE = 4 => "core",
            /// `RLIMIT_RSS`: resident set size (not enforced by Linux).
            Rss RSS = 5 => "rss",
            /// `RLIMIT_NPROC`: processes (threads) of the real user id.
            Nproc NPROC = 6 => "nproc",
            /// `RLIMIT_NOFILE`: one more than the largest fd number.
            Nofile NOFILE = 7 => "nofile",
            /// `RLIMIT_MEMLOCK`: locked memory in bytes.
            Memlock MEMLOCK = 8 => "memlock",
            /// `RLIMIT_AS`: address space in bytes.
            As AS = 9 => "as",
            /// `RLIMIT_LOCKS`: file locks (not enforced).
            Locks LOCKS = 10 => "locks",
            /// `RLIMIT_SIGPENDING`: queued signals.
            Sigpending SIGPENDING = 11 => "sigpending",
            /// `RLIMIT_MSGQUEUE`: bytes in POSIX message queues.
            Msgqueue MSGQUEUE = 12 => "msgqueue",
            /// `RLIMIT_NICE`: ceiling of the nice value (20 - nice).
            Nice NICE = 13 => "nice",
            /// `RLIMIT_RTPRIO`: real-time priority ceiling.
            Rtprio RTPRIO = 14 => "rtprio",
            /// `RLIMIT_RTTIME`: real-time CPU time in microseconds without a blocking call.
            Rttime RTTIME = 15 => "rttime",
        }
    };
}

/// Calls `$cb! { $args <rows> }` with the flag bits of a MOUNT_OP record (the u16 after the
/// kind). Which kind takes which is in [`mount_kind_rows!`](crate::mount_kind_rows).
#[macro_export]
macro_rules! mount_op_flag_rows {
    ($cb:ident ! $args:tt) => {
        $cb! { $args
            /// bind: skip the operation when the source does not exist; mask: when the target
            /// does not.
            Optional OPTIONAL = 1 << 0 => "optional",
            /// bind, tmpfs: read-only (for a bind, every submount too).
            Readonly READONLY = 1 << 1 => "readonly",
            /// bind: allow device nodes (a dev-bind: no nodev).
            Dev DEV = 1 << 2 => "dev",
            /// proc: bubblewrap's covers: each of `sys`, `sysrq-trigger`, `irq` and `bus` in the
            /// new proc that the helper can write to is bound read-only over itself (the proc
            /// itself stays writable).
            Cover COVER = 1 << 3 => "cover",
        }
    };
}

/// Calls `$cb! { $args <rows> }` with the mount operation kinds (MOUNT_OP). Each row says what
/// the kind takes; the decoder refuses every field a kind does not take:
///
/// - `flags`: the [`crate::layout::mount_op`] bits it accepts;
/// - `takes`: which of `mode`, `size`, `fd`, `content` it accepts (the rest must be 0 / -1 /
///   empty);
/// - `source`: `none` (must be empty), `text` (required: a symlink's text) or `path_or_fd`
///   (exactly one of a source path and the fd);
/// - `default_mode`: the mode a client fills in when none is given (0 for kinds without one);
/// - `lower` (overlays only): the fewest lower directories it needs. The layers travel as the
///   record's content: NUL-terminated absolute host paths, the upper and the work directory
///   first when it takes `upper`, then the lower directories, topmost first (overlayfs's
///   `lowerdir` order).
///
/// Every target is an absolute path resolved inside the new root (or `/`), never through a
/// symlink out of it; missing parents (mode 0755) and a missing target are created.
#[macro_export]
macro_rules! mount_kind_rows {
    ($cb:ident ! $args:tt) => {
        $cb! { $args
            /// Recursive bind of `source` (a path, or `fd`) on `target`, always nosuid, and nodev
            /// unless `dev`; `readonly` makes every submount read-only too.
            Bind BIND = 1 => "bind" {
                flags: [OPTIONAL, READONLY, DEV], takes: [fd], source: path_or_fd, default_mode: 0
            },
            /// A new tmpfs: `size` bytes (0: the kernel default), root directory `mode`; nosuid,
            /// nodev.
            Tmpfs TMPFS = 2 => "tmpfs" {
                flags: [READONLY], takes: [mode, size], source: none, default_mode: 0o755
            },
            /// A new proc (of the target's pid namespace); nosuid, nodev, noexec; `cover`:
            /// bubblewrap's read-only covers over its writable `sys`, `sysrq-trigger`, `irq`,
            /// `bus`.
            Proc PROC = 3 => "proc" {
                flags: [COVER], takes: [], source: none, default_mode: 0
            },
            /// A minimal `/dev`: a tmpfs with null, zero, full, random, urandom and tty bound
            /// from the host, a new devpts instance at `pts` with `ptmx` linked to it, `shm`
            /// (tmpfs, 1777), the `fd`, `stdin`, `stdout`, `stderr` links to `/proc/self/fd`, and
            /// `core` to `/proc/kcore`.
            Dev DEV = 4 => "dev" {
                flags: [], takes: [], source: none, default_mode: 0
            },
            /// A new mqueue filesystem (of the target's ipc namespace); nosuid, nodev, noexec.
            Mqueue MQUEUE = 5 => "mqueue" {
                flags: [], takes: [], source: none, default_mode: 0
            },
            /// A directory with exactly `mode`.
            Dir DIR = 6 => "dir" {
                flags: [], takes: [mode], source: none, default_mode: 0o755
            },
            /// A symlink at `target` whose content is `source`.
            Symlink SYMLINK = 7 => "symlink" {
                flags: [], takes: [], source: text, default_mode: 0
            },
            /// A file with exactly `mode` and the record's content, or what `fd` holds (read to
            /// EOF).
            File FILE = 8 => "file" {
                flags: [], takes: [mode, fd, content], source: none, default_mode: 0o644
            },
            /// Make the mount at `target` and every mount below it read-only.
            RemountRo REMOUNT_RO = 9 => "remount_ro" {
                flags: [], takes: [], source: none, default_mode: 0
            },
            /// Hide `target`: a read-only empty directory (for a directory) or an empty file (for
            /// anything else) mounted over it.
            Mask MASK = 10 => "mask" {
                flags: [OPTIONAL], takes: [], source: none, default_mode: 0
            },
            /// A file holding the record's content, or what `fd` holds (read to EOF), with
            /// exactly `mode`, made on a private tmpfs and bind-mounted on `target` (nosuid,
            /// nodev; `readonly`: read-only). Unlike `file` it works where `target` is an
            /// existing file or on a read-only filesystem (bubblewrap's `--bind-data` and
            /// `--ro-bind-data`; its default mode, 0600, too).
            BindData BIND_DATA = 11 => "bind_data" {
                flags: [READONLY], takes: [mode, fd, content], source: none, default_mode: 0o600
            },
            /// An overlayfs of the `lower` directories under the writable `upper` one (writes
            /// go there; `work` is the kernel's work directory on the same filesystem);
            /// nosuid, nodev, `userxattr`. Every layer is opened in the runtime's view and
            /// handed to the kernel as an fd, so no path is parsed as a mount option.
            Overlay OVERLAY = 12 => "overlay" {
                flags: [], takes: [upper], source: none, default_mode: 0, lower: 1
            },
            /// An overlayfs of the `lower` directories whose writes go to a new private tmpfs
            /// that nothing else can reach: they are gone when the sandbox ends; nosuid,
            /// nodev, `userxattr`.
            TmpOverlay TMP_OVERLAY = 13 => "tmp_overlay" {
                flags: [], takes: [], source: none, default_mode: 0, lower: 1
            },
            /// A read-only overlayfs of the `lower` directories (overlayfs without an upper
            /// layer needs two); nosuid, nodev, `userxattr`.
            RoOverlay RO_OVERLAY = 14 => "ro_overlay" {
                flags: [], takes: [], source: none, default_mode: 0, lower: 2
            },
            /// Set the mode of `target`, which must exist (nothing is created, parents
            /// neither), to exactly `mode`; a symlink there is followed inside the root
            /// (bubblewrap's `--chmod`). A client gives the mode always (no default).
            Chmod CHMOD = 15 => "chmod" {
                flags: [], takes: [mode], source: none, default_mode: 0
            },
        }
    };
}

/// What a mount kind's `source` string is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceRule {
    /// Must be empty.
    None,
    /// Required, any text (a symlink's content).
    Text,
    /// A bind's source: exactly one of a source path and the fd.
    PathOrFd,
}

impl SourceRule {
    /// The word used in the table (`none`, `text`, `path_or_fd`).
    pub const fn word(self) -> &'static str {
        match self {
            SourceRule::None => "none",
            SourceRule::Text => "text",
            SourceRule::PathOrFd => "path_or_fd",
        }
    }
}

/// The fields of a MOUNT_OP record a kind may carry besides the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Takes {
    /// A mode.
    pub mode: bool,
    /// A size.
    pub size: bool,
    /// An fd (a bind's source, a file's content).
    pub fd: bool,
    /// Content bytes.
    pub content: bool,
    /// An overlay's upper and work directories (in the content, before the lower ones).
    pub upper: bool,
}

/// One mount kind's row: everything the decoder and the clients need to know about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindInfo {
    /// The kind number.
    pub kind: u16,
    /// Its JSON `"type"`.
    pub name: &'static str,
    /// The [`crate::layout::mount_op`] bits it accepts.
    pub flags: u16,
    /// The fields it takes besides the target.
    pub takes: Takes,
    /// Whether it needs, takes or refuses a source.
    pub source: SourceRule,
    /// The mode a client fills in when none is given (0 when the kind takes none).
    pub default_mode: u32,
    /// An overlay: the fewest lower directories it needs (0: not an overlay; its content is
    /// then bytes, not layers).
    pub lower: u8,
}

impl KindInfo {
    /// The JSON key of the record's fd for this kind: `source_fd` for a bind, `content_fd`
    /// for a kind that takes content.
    pub const fn fd_key(&self) -> &'static str {
        match self.source {
            SourceRule::PathOrFd => "source_fd",
            _ => "content_fd",
        }
    }

    /// Whether the JSON field `key` (other than `type` and `target`) applies to this kind.
    pub fn takes_key(&self, key: &str) -> bool {
        use crate::layout::mount_op as f;
        match key {
            "source" => !matches!(self.source, SourceRule::None),
            "source_fd" => self.takes.fd && matches!(self.source, SourceRule::PathOrFd),
            "content_fd" => self.takes.fd && !matches!(self.source, SourceRule::PathOrFd),
            "size" => self.takes.size,
            "mode" => self.takes.mode,
            "content" => self.takes.content,
            "lower" => self.lower != 0,
            "upper" | "work" => self.takes.upper,
            // A flag's key is its name in the flag table.
            _ => f::ALL
                .iter()
                .any(|e| e.name == key && self.flags & e.value != 0),
        }
    }
}

/// Every JSON key of a mount operation besides `type` and `target`, in the order messages and
/// documentation list them.
pub const MOUNT_OP_KEYS: [&str; 13] = [
    "source",
    "source_fd",
    "size",
    "mode",
    "content",
    "content_fd",
    "lower",
    "upper",
    "work",
    "readonly",
    "dev",
    "optional",
    "cover",
];

/// One field a kind takes, as named in its row.
#[derive(Clone, Copy)]
#[doc(hidden)]
pub enum Take {
    Mode,
    Size,
    Fd,
    Content,
    Upper,
}

impl Takes {
    #[doc(hidden)]
    pub const fn of(list: &[Take]) -> Takes {
        let mut t = Takes {
            mode: false,
            size: false,
            fd: false,
            content: false,
            upper: false,
        };
        let mut i = 0;
        while i < list.len() {
            match list[i] {
                Take::Mode => t.mode = true,
                Take::Size => t.size = true,
                Take::Fd => t.fd = true,
                Take::Content => t.content = true,
                Take::Upper => t.upper = true,
            }
            i += 1;
        }
        t
    }
}

macro_rules! take {
    (mode) => {
        Take::Mode
    };
    (size) => {
        Take::Size
    };
    (fd) => {
        Take::Fd
    };
    (content) => {
        Take::Content
    };
    (upper) => {
        Take::Upper
    };
}

macro_rules! source_rule {
    (none) => {
        $crate::tables::SourceRule::None
    };
    (text) => {
        $crate::tables::SourceRule::Text
    };
    (path_or_fd) => {
        $crate::tables::SourceRule::PathOrFd
    };
}

macro_rules! mount_kind_module {
    ({ $(#[$mdoc:meta])* $module:ident: $T:ty, $what:literal }
     $( $(#[$doc:meta])* $Variant:ident $CONST:ident = $value:literal => $name:literal {
         flags: [$($flag:ident),*], takes: [$($take:ident),*], source: $source:ident,
         default_mode: $mode:literal $(, lower: $lower:literal)?
     }, )*) => {
        table_module! { { $(#[$mdoc])* $module: $T, $what }
            $( $(#[$doc])* $Variant $CONST = $value => $name, )*
        }
        impl KindInfo {
            /// Every mount kind's row, in number order.
            pub const ALL: &'static [KindInfo] = &[
                $( KindInfo {
                    kind: $value,
                    name: $name,
                    flags: 0 $( | crate::layout::mount_op::$flag )*,
                    takes: Takes::of(&[$(take!($take)),*]),
                    source: source_rule!($source),
                    default_mode: $mode,
                    lower: 0 $( + $lower )?,
                }, )*
            ];
        }
    };
}

impl KindInfo {
    /// The row of mount kind `kind`.
    pub fn of(kind: u16) -> Option<&'static KindInfo> {
        KindInfo::ALL.iter().find(|k| k.kind == kind)
    }
}

record_rows! { table_module! {
    /// Record types. Payload layouts are documented on each constant and in `docs/spec.md`.
    record: u16, "record type"
} }
/// A table module for rows with a `{ field: … }` trailer (the option bits): the trailer is for
/// the client, the module is [`table_module!`]'s.
macro_rules! option_module {
    ({ $(#[$mdoc:meta])* $module:ident: $T:ty, $what:literal }
     $( $(#[$doc:meta])* $Variant:ident $CONST:ident = $value:expr => $name:literal {
         field: $($field:tt)+
     }, )*) => {
        table_module! { { $(#[$mdoc])* $module: $T, $what }
            $( $(#[$doc])* $Variant $CONST = $value => $name, )*
        }
    };
}

option_rows! { option_module! {
    /// Bits of the OPTIONS record: go-sandbox's booleans, plus forkexec's own.
    opt: u64, "option"
} }
clone_flag_rows! { table_module! {
    /// `CLONE_NEW*` namespace flags accepted in the CLONE_FLAGS record.
    ns: u64, "clone flag"
} }
mount_flag_rows! { table_module! {
    /// Mount flags (`MS_*`) accepted in a MOUNT record.
    mount_flags: u64, "mount flag"
} }
rlimit_rows! { table_module! {
    /// Rlimit resources (the u32 at the start of an RLIMIT record).
    rlimit: u32, "rlimit resource"
} }
mount_op_flag_rows! { table_module! {
    /// Flag bits of a MOUNT_OP record (the u16 after the kind).
    mount_op: u16, "mount operation flag"
} }
landlock_fs_rows! { table_module! {
    /// Landlock filesystem rights (LANDLOCK, LANDLOCK_PATH).
    landlock_fs: u64, "Landlock filesystem right"
} }
landlock_net_rows! { table_module! {
    /// Landlock network rights (LANDLOCK, LANDLOCK_PORT).
    landlock_net: u64, "Landlock network right"
} }
landlock_scope_rows! { table_module! {
    /// Landlock scopes (LANDLOCK).
    landlock_scope: u64, "Landlock scope"
} }
mount_kind_rows! { mount_kind_module! {
    /// Kinds of MOUNT_OP record: the common mounts, so runtimes never hand-craft `MS_*` flags.
    mount_kind: u16, "mount type"
} }

/// Writes every table above as markdown: the generated "Tables" section of `docs/spec.md`
/// (between its markers), for encoders in other languages; the Python client's test reads it
/// back.
pub fn markdown(out: &mut impl core::fmt::Write) -> core::fmt::Result {
    fn hex_table<T: Copy + Into<u64>>(
        out: &mut impl core::fmt::Write,
        title: &str,
        all: &[Entry<T>],
        hex: bool,
    ) -> core::fmt::Result {
        writeln!(out, "#### {title}\n")?;
        writeln!(out, "| value | name | constant |")?;
        writeln!(out, "|---|---|---|")?;
        for e in all {
            let v: u64 = e.value.into();
            if hex {
                writeln!(out, "| `{v:#x}` | `{}` | `{}` |", e.name, e.ident)?;
            } else {
                writeln!(out, "| {v} | `{}` | `{}` |", e.name, e.ident)?;
            }
        }
        writeln!(out)
    }
    hex_table(out, "Record types", record::ALL, false)?;
    write!(out, "Repeatable records:")?;
    for (i, r) in REPEATABLE_RECORDS.iter().enumerate() {
        let sep = if i + 1 == REPEATABLE_RECORDS.len() {
            ".\n"
        } else {
            ","
        };
        write!(out, " `{}`{sep}", record::name(*r))?;
    }
    writeln!(out)?;
    hex_table(out, "Option bits (OPTIONS)", opt::ALL, true)?;
    hex_table(out, "Clone flags (CLONE_FLAGS)", ns::ALL, true)?;
    hex_table(out, "Mount flags (MOUNT)", mount_flags::ALL, true)?;
    hex_table(out, "Rlimit resources (RLIMIT)", rlimit::ALL, false)?;
    hex_table(out, "Mount operation flags (MOUNT_OP)", mount_op::ALL, true)?;
    writeln!(out, "#### Mount operation kinds (MOUNT_OP)\n")?;
    writeln!(
        out,
        "| kind | name | flags | mode | size | fd | content | source | default mode | lower | upper |"
    )?;
    writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|")?;
    let yes = |b: bool| if b { "yes" } else { "no" };
    for k in KindInfo::ALL {
        write!(out, "| {} | `{}` | ", k.kind, k.name)?;
        let mut first = true;
        for f in mount_op::ALL.iter().filter(|f| k.flags & f.value != 0) {
            write!(out, "{}`{}`", if first { "" } else { ", " }, f.name)?;
            first = false;
        }
        if first {
            write!(out, "-")?;
        }
        writeln!(
            out,
            " | {} | {} | {} | {} | `{}` | `{:04o}` | {} | {} |",
            yes(k.takes.mode),
            yes(k.takes.size),
            yes(k.takes.fd),
            yes(k.takes.content),
            k.source.word(),
            k.default_mode,
            k.lower,
            yes(k.takes.upper)
        )?;
    }
    writeln!(out)?;
    hex_table(
        out,
        "Landlock filesystem rights (LANDLOCK, LANDLOCK_PATH)",
        landlock_fs::ALL,
        true,
    )?;
    hex_table(
        out,
        "Landlock network rights (LANDLOCK, LANDLOCK_PORT)",
        landlock_net::ALL,
        true,
    )?;
    hex_table(out, "Landlock scopes (LANDLOCK)", landlock_scope::ALL, true)?;
    Ok(())
}
