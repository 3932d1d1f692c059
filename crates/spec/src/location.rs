//! Where in the chain a step failed. 1–32 keep go-sandbox's `ErrorLocation` numbers and names
//! (`LocClone` … `LocExecve`); forkexec's own steps take 33 and up and are never renumbered.

macro_rules! locations {
    ($($(#[$doc:meta])* $variant:ident = $num:literal => $name:literal,)*) => {
        /// An error location, as carried in an error status record.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum Location {
            $($(#[$doc])* $variant = $num,)*
        }

        impl Location {
            /// Every location, in numeric order.
            pub const ALL: &'static [Location] = &[$(Location::$variant,)*];

            /// The location with this number, if it is one.
            pub fn from_u32(n: u32) -> Option<Location> {
                match n {
                    $($num => Some(Location::$variant),)*
                    _ => None,
                }
            }

            /// The name a client prints, e.g. `mount` in `mount(3): operation not permitted`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Location::$variant => $name,)*
                }
            }
        }
    };
}

locations! {
    /// clone (go-sandbox's fork); reserved for the clone shape.
    Clone = 1 => "clone",
    /// Closing the write end of the go-sandbox pipe (not used by the helper).
    CloseWrite = 2 => "close_write",
    /// go-sandbox's read of the user namespace sync (not used by the helper).
    UnshareUserRead = 3 => "unshare_user_read",
    /// getpid after clone (not used by the helper).
    GetPid = 4 => "getpid",
    /// `PR_SET_SECUREBITS` keeping capabilities across setuid.
    KeepCapability = 5 => "keep_capability",
    /// setgroups (the credential's supplementary groups).
    SetGroups = 6 => "setgroups",
    /// setgid (the credential's gid).
    SetGid = 7 => "setgid",
    /// setuid (the credential's uid).
    SetUid = 8 => "setuid",
    /// Moving an fd for the target (index: target fd, or the internal fd being moved).
    Dup3 = 9 => "dup3",
    /// Clearing close-on-exec on an fd kept in place (index: target fd).
    Fcntl = 10 => "fcntl",
    /// setsid (a new session).
    SetSid = 11 => "setsid",
    /// `TIOCSCTTY` on fd 0.
    Ioctl = 12 => "ioctl",
    /// Making `/` private (recursive) in the new mount namespace.
    MountRoot = 13 => "mount(root)",
    /// The tmpfs at the pivot_root directory.
    MountTmpfs = 14 => "mount(tmpfs)",
    /// chdir into the pivot_root directory.
    MountChdir = 15 => "mount(chdir)",
    /// A mount (index: mount number).
    Mount = 16 => "mount",
    /// Creating a mount target or its parents (index: mount number).
    MountMkdir = 17 => "mount(mkdir)",
    /// pivot_root into the new root.
    PivotRoot = 18 => "pivot_root",
    /// Detaching the old root after pivot_root.
    Umount = 19 => "umount",
    /// Removing the old root's mount point.
    Unlink = 20 => "unlink",
    /// Remounting the new root read-only (unless `writable_root`).
    MountRootReadonly = 21 => "mount(readonly)",
    /// chdir to `work_dir`.
    Chdir = 22 => "chdir",
    /// prlimit64 (index: rlimit number). go-sandbox spells it "setrlimt".
    SetRlimit = 23 => "setrlimit",
    /// `PR_SET_NO_NEW_PRIVS`.
    SetNoNewPrivs = 24 => "set_no_new_privs",
    /// Securebits, bounding set or ambient set while dropping (index: capability or step).
    DropCapability = 25 => "drop_capability",
    /// capset: to zero, or to the CAPS record's kept set.
    SetCap = 26 => "set_cap",
    /// `PTRACE_TRACEME`.
    PtraceMe = 27 => "ptrace_me",
    /// kill(self, SIGSTOP) before seccomp.
    Stop = 28 => "stop",
    /// Loading the seccomp filter.
    Seccomp = 29 => "seccomp",
    /// Writing the sync record.
    SyncWrite = 30 => "sync_write",
    /// The runtime's answer: EOF (EPIPE) or a refusal (ECANCELED).
    SyncRead = 31 => "sync_read",
    /// execve/execveat (126 for EACCES/ENOEXEC, 127 for ENOENT).
    Execve = 32 => "execve",
    /// Reading the spec from its fd (index: bytes read so far).
    SpecRead = 33 => "spec_read",
    /// A malformed or refused spec (index: byte offset; detail: a [`crate::Fault`]).
    Spec = 34 => "spec",
    /// unshare of the namespace flags (index 0), of the cgroup namespace after sync (1), or of
    /// DISABLE_USERNS's nested user namespace (2).
    Unshare = 35 => "unshare",
    /// Writing "deny" to `/proc/self/setgroups` (index 1: DISABLE_USERNS's nested user
    /// namespace).
    WriteSetgroups = 36 => "write_setgroups",
    /// Writing `/proc/self/uid_map` (index 1: DISABLE_USERNS's nested user namespace).
    WriteUidMap = 37 => "write_uid_map",
    /// Writing `/proc/self/gid_map` (index 1: DISABLE_USERNS's nested user namespace).
    WriteGidMap = 38 => "write_gid_map",
    /// sethostname.
    SetHostName = 39 => "sethostname",
    /// setdomainname.
    SetDomainName = 40 => "setdomainname",
    /// Marking every fd the target does not get close-on-exec.
    CloseRange = 41 => "close_range",
    /// Reading the capability sets before dropping them.
    GetCap = 42 => "get_cap",
    /// Entering the cgroup: opening its directory (index 0) or writing `cgroup.procs` (1).
    Cgroup = 43 => "cgroup",
    /// `PR_SET_PDEATHSIG` (index 0 helper, 1 target); ESRCH when the parent was already gone.
    Pdeathsig = 44 => "pdeathsig",
    /// Setting up a supervisor (helper or init): the signal mask (index 0), the signalfd (1),
    /// the handshake socket, the report pipe, init's lock socket or the pid record (2); or the
    /// start aborted by SIGTERM/SIGINT before the target executed (3, EINTR: the target was
    /// killed).
    Supervise = 45 => "supervise",
    /// Refused at start: the helper was installed setuid (index 0: real and effective uid
    /// differ), setgid (1: real and effective gid differ) or with file capabilities (2: the
    /// kernel asked for a secure exec, `AT_SECURE`). Always EPERM, before the spec is read.
    PrivilegedInstall = 46 => "privileged_install",
    /// `PR_SET_DUMPABLE`: non-dumpable at start (index 0), dumpable again for the id-map
    /// writes (1), non-dumpable after them (2).
    SetDumpable = 47 => "set_dumpable",
    /// A mount entry's target refused (EXDEV: `..` climbs above the root) or not resolvable
    /// inside the new root (ENOENT, ENOTDIR, ELOOP…); checked for every entry before any
    /// mount (index: mount entry).
    MountPath = 48 => "mount(path)",
    /// A mount operation's source: the bind source (path or fd; ENOENT when missing and not
    /// optional) or a file operation's content fd (index: mount entry).
    MountSource = 49 => "mount(source)",
    /// `KEYCTL_JOIN_SESSION_KEYRING`: the target's new session keyring (option
    /// NEW_SESSION_KEYRING).
    Keyring = 50 => "keyring",
    /// Landlock: the ABI query or creating the ruleset (index 0), `landlock_restrict_self`
    /// (1), or EXACT and the kernel lacks a requested right, scope or Landlock itself (2,
    /// EOPNOTSUPP).
    Landlock = 51 => "landlock",
    /// A LANDLOCK_PATH rule: opening its path (ENOENT…) or adding the rule (index: the rule).
    LandlockPath = 52 => "landlock(path)",
    /// A LANDLOCK_PORT rule: adding it (index: the rule).
    LandlockPort = 53 => "landlock(port)",
    /// A LOCK_FILE, by init: opening it (ENOENT, EACCES…) or its read lock (EAGAIN: another
    /// process holds a write lock) (index: the LOCK_FILE).
    LockFile = 54 => "lock_file",
    /// SYNC_FD, kept by init: not an open fd (EBADF).
    SyncFd = 55 => "sync_fd",
    /// `PR_CAP_AMBIENT_RAISE` of a capability the CAPS record keeps (index: the capability).
    RaiseAmbient = 56 => "raise_ambient",
    /// Reading the byte of BLOCK_FD (index 0, the target) or USERNS_BLOCK_FD (1, the helper
    /// after the clone): EBADF for an fd not open for reading.
    BlockFd = 57 => "block_fd",
    /// LOOPBACK: the socket the request goes through (index 0) or `SIOCSIFFLAGS` bringing
    /// `lo` up (1: EPERM without `CAP_NET_ADMIN` over the new network namespace).
    Loopback = 58 => "loopback",
    /// DISABLE_USERNS: writing 1 to `/proc/sys/user/max_user_namespaces` in the new user
    /// namespace.
    MaxUserNamespaces = 59 => "max_user_namespaces",
    /// `setns` into an existing namespace (JOIN_NS): the user namespace (index 0, before any
    /// namespace is created), the pid namespace (1, before the clone), the second user
    /// namespace (2, after the mounts).
    SetNs = 60 => "setns",
    /// Writing the start of the target (its pid and namespace ids, as bubblewrap's JSON) to
    /// the info fd (index 0) or the JSON status fd (1).
    InfoFd = 61 => "info_fd",
    /// DISABLE_USERNS or ASSERT_USERNS_DISABLED: creating a user namespace after the mounts
    /// succeeded, so user namespaces are not disabled (errno 0).
    AssertUsernsDisabled = 62 => "assert_userns_disabled",
    /// A request the fork server refused (index: the byte offset in the request; EINVAL
    /// malformed, EBADF no run channel, ENOTSOCK a run channel that is not a socket, EMSGSIZE
    /// truncated, EAGAIN too many runs), or its fork (index 0 past the request, with fork's
    /// errno).
    Serve = 64 => "serve",
    /// Placing a request's fd at its number in the run (index: that number; EMFILE or EBADF
    /// when it is not below the run's RLIMIT_NOFILE).
    ServeFds = 65 => "serve_fds",
}

impl core::fmt::Display for Location {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}
