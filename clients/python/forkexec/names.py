"""The numbers of wire format v1 (docs/spec.md) and the names of the JSON form.

Every table here is copied from docs/spec.md: record types, option bits, clone flags, mount
flags and options, mount operation kinds and flags, rlimit resources, fault numbers and error
locations.
"""

from typing import Tuple

MAGIC = b"FXSP"
VERSION = 1
HEADER_LEN = 12
RECORD_HEADER_LEN = 8
STATUS_RECORD_LEN = 32

#: ``RLIM_INFINITY``: no limit (written ``"infinity"`` or ``"unlimited"`` in JSON).
RLIM_INFINITY = 0xFFFF_FFFF_FFFF_FFFF


class Record:
    """Record types (the u16 at the start of every record)."""

    ARGS = 1
    ENV = 2
    EXEC_PATH = 3
    EXEC_FD = 4
    RLIMIT = 5
    FILES = 6
    WORK_DIR = 7
    SECCOMP = 8
    CLONE_FLAGS = 9
    MOUNT = 10
    PIVOT_ROOT = 11
    HOST_NAME = 12
    DOMAIN_NAME = 13
    UID_MAP = 14
    GID_MAP = 15
    CREDENTIAL = 16
    OPTIONS = 17
    STATUS_FD = 18
    CGROUP_PATH = 19
    CGROUP_FD = 20
    MOUNT_OP = 21
    LANDLOCK = 22
    LANDLOCK_PATH = 23
    LANDLOCK_PORT = 24
    INFO_FD = 25
    JSON_STATUS_FD = 26
    JOIN_NS = 27
    LOCK_FILE = 28
    SYNC_FD = 29
    CAPS = 30
    BLOCK_FD = 31
    USERNS_BLOCK_FD = 32
    LAST = 32


#: Printable record names (the JSON key of the field each record carries).
RECORD_NAMES = {
    1: "args", 2: "env", 3: "exec_path", 4: "exec_file", 5: "rlimit", 6: "files",
    7: "work_dir", 8: "seccomp", 9: "clone_flags", 10: "mount", 11: "pivot_root",
    12: "host_name", 13: "domain_name", 14: "uid_mappings", 15: "gid_mappings",
    16: "credential", 17: "options", 18: "status_fd", 19: "cgroup", 20: "cgroup_fd",
    21: "mount_op", 22: "landlock", 23: "landlock_path", 24: "landlock_port",
    25: "info_fd", 26: "json_status_fd", 27: "join_ns",
    28: "lock_file", 29: "sync_fd", 30: "caps", 31: "block_fd", 32: "userns_block_fd",
}

#: Landlock (records LANDLOCK, LANDLOCK_PATH, LANDLOCK_PORT; docs/spec.md "Tables"): the
#: kernel's own bits, by name.
LANDLOCK_FS = {
    "execute": 1 << 0, "write_file": 1 << 1, "read_file": 1 << 2, "read_dir": 1 << 3,
    "remove_dir": 1 << 4, "remove_file": 1 << 5, "make_char": 1 << 6, "make_dir": 1 << 7,
    "make_reg": 1 << 8, "make_sock": 1 << 9, "make_fifo": 1 << 10, "make_block": 1 << 11,
    "make_sym": 1 << 12, "refer": 1 << 13, "truncate": 1 << 14, "ioctl_dev": 1 << 15,
}
LANDLOCK_FS_KNOWN = 0xFFFF
#: The groups a rule may name: ``read`` (read_file, read_dir) and ``write`` (every right but
#: execute and the reading ones).
LANDLOCK_FS_GROUPS = {"read": 0x000C, "write": 0xFFF2}
LANDLOCK_NET = {"bind_tcp": 1 << 0, "connect_tcp": 1 << 1}
LANDLOCK_NET_KNOWN = 0x3
LANDLOCK_SCOPES = {"abstract_unix_socket": 1 << 0, "signal": 1 << 1}
LANDLOCK_SCOPES_KNOWN = 0x3
#: LANDLOCK flag: refuse when the kernel lacks a requested right (else best effort).
LANDLOCK_EXACT = 0x1
#: CAPS flag: leave the effective, permitted and inheritable sets as they are.
CAPS_LEAVE_SETS = 0x1

#: Record flag bit 0: a decoder that does not know the type skips the record.
SKIP_IF_UNKNOWN = 0x0001

#: Option bits (record OPTIONS), by JSON key. ``setsid`` is inverted: ``False`` sets NO_SETSID.
OPTION_BITS = {
    "sync": 0x001,
    "ptrace": 0x002,
    "no_new_privs": 0x004,
    "stop_before_seccomp": 0x008,
    "gid_mappings_enable_setgroups": 0x010,
    "drop_caps": 0x020,
    "unshare_cgroup_after_sync": 0x040,
    "ctty": 0x080,
    "setsid": 0x100,  # NO_SETSID, set when setsid is False
    "detach": 0x200,
    "init": 0x400,
    "die_with_parent": 0x800,
    "writable_root": 0x1000,
    "new_session_keyring": 0x2000,
    "parents_from_mode": 0x4000,
    "only_end_records": 0x8000,
    "dumpable_init": 0x10000,
    "no_wait_init": 0x20000,
    "bwrap_errors": 0x40000,
    "loopback": 0x80000,
    "disable_userns": 0x100000,
    "assert_userns_disabled": 0x200000,
}
OPT_SYNC = 0x001
OPT_PTRACE = 0x002
OPT_STOP_BEFORE_SECCOMP = 0x008
OPT_GID_MAPPINGS_ENABLE_SETGROUPS = 0x010
OPT_DROP_CAPS = 0x020
OPT_CTTY = 0x080
OPT_NO_SETSID = 0x100
OPT_DETACH = 0x200
OPT_INIT = 0x400
OPT_WRITABLE_ROOT = 0x1000
OPT_DUMPABLE_INIT = 0x10000
OPT_NO_WAIT_INIT = 0x20000
OPT_BWRAP_ERRORS = 0x40000
OPT_LOOPBACK = 0x80000
OPT_DISABLE_USERNS = 0x100000
OPTIONS_KNOWN = 0x3FFFFF

#: Clone flags (record CLONE_FLAGS), in the Rust client's table order.
CLONE_FLAGS = {
    "newns": 0x0002_0000,
    "newuts": 0x0400_0000,
    "newipc": 0x0800_0000,
    "newnet": 0x4000_0000,
    "newcgroup": 0x0200_0000,
    "newuser": 0x1000_0000,
    "newpid": 0x2000_0000,
}
CLONE_NEWNS = 0x0002_0000
CLONE_NEWUTS = 0x0400_0000
CLONE_NEWUSER = 0x1000_0000
CLONE_NEWPID = 0x2000_0000
CLONE_KNOWN = 0x7E02_0000

#: Mount flags (``MS_*`` in lower case), passed to mount(2) as they are.
MOUNT_FLAGS = {
    "rdonly": 0x1,
    "nosuid": 0x2,
    "nodev": 0x4,
    "noexec": 0x8,
    "synchronous": 0x10,
    "remount": 0x20,
    "mandlock": 0x40,
    "dirsync": 0x80,
    "nosymfollow": 0x100,
    "noatime": 0x400,
    "nodiratime": 0x800,
    "bind": 0x1000,
    "move": 0x2000,
    "rec": 0x4000,
    "silent": 0x8000,
    "posixacl": 0x10000,
    "unbindable": 0x20000,
    "private": 0x40000,
    "slave": 0x80000,
    "shared": 0x100000,
    "relatime": 0x200000,
    "i_version": 0x800000,
    "strictatime": 0x1000000,
    "lazytime": 0x2000000,
}
MOUNT_FLAGS_KNOWN = 0
for _v in MOUNT_FLAGS.values():
    MOUNT_FLAGS_KNOWN |= _v
del _v

#: Mount options (the u32 after a MOUNT record's flags).
MOUNT_MKDIR = 0x1
MOUNT_FILE = 0x2
MOUNT_OPTIONS_KNOWN = 0x3

#: Flag bits of a MOUNT_OP record (the u16 after the kind).
MOUNT_OP_OPTIONAL = 0x1  # bind: skip when the source is missing; mask: when the target is
MOUNT_OP_READONLY = 0x2  # bind, tmpfs
MOUNT_OP_DEV = 0x4  # bind: allow device nodes
MOUNT_OP_COVER = 0x8  # proc: bubblewrap's read-only covers over sys, sysrq-trigger, irq, bus
MOUNT_OP_FLAGS_KNOWN = 0xf
#: The flag bits by JSON key.
MOUNT_OP_FLAGS = {"optional": MOUNT_OP_OPTIONAL, "readonly": MOUNT_OP_READONLY,
                  "dev": MOUNT_OP_DEV, "cover": MOUNT_OP_COVER}


class MountKind:
    """One row of the mount operation kind table (docs/spec.md, "Tables"): its number, the
    flag bits it accepts, whether it takes a mode, a size, an fd and content, its source rule
    (``none``: empty; ``text``: required; ``path_or_fd``: exactly one of a path and the fd)
    and the mode a client fills in; for an overlay, the fewest ``lower`` directories it needs
    and whether it takes ``upper`` and ``work`` (its layers are then the record's content).
    Everything the decoder and the JSON form check per kind is read from here."""

    def __init__(self, number: int, flags: int, mode: bool, size: bool, fd: bool,
                 content: bool, source: str, default_mode: int, lower: int = 0,
                 upper: bool = False) -> None:
        self.number, self.flags, self.source, self.default_mode = number, flags, source, default_mode
        self.mode, self.size, self.fd, self.content = mode, size, fd, content
        self.lower, self.upper = lower, upper

    @property
    def fd_key(self) -> str:
        """The JSON key of the record's fd: ``source_fd`` for a bind, else ``content_fd``."""
        return "source_fd" if self.source == "path_or_fd" else "content_fd"

    def takes(self, key: str) -> bool:
        """Whether the JSON key (other than ``type`` and ``target``) applies to this kind."""
        if key == "source":
            return self.source != "none"
        if key in ("source_fd", "content_fd"):
            return self.fd and key == self.fd_key
        if key in MOUNT_OP_FLAGS:
            return bool(self.flags & MOUNT_OP_FLAGS[key])
        if key == "lower":
            return self.lower != 0
        if key in ("upper", "work"):
            return self.upper
        return {"size": self.size, "mode": self.mode, "content": self.content}.get(key, False)

    @property
    def keys(self) -> Tuple[str, ...]:
        """The JSON keys it takes besides ``type`` and ``target``, in the documented order."""
        return tuple(k for k in MOUNT_OP_KEYS if self.takes(k))


#: Every JSON key of a mount operation besides ``type`` and ``target``, in message order.
MOUNT_OP_KEYS = ("source", "source_fd", "size", "mode", "content", "content_fd", "lower",
                 "upper", "work", "readonly", "dev", "optional", "cover")

_O, _R, _D, _C = MOUNT_OP_OPTIONAL, MOUNT_OP_READONLY, MOUNT_OP_DEV, MOUNT_OP_COVER
#: The mount operation kinds by JSON ``type``, in number order:
#: number, flags, mode, size, fd, content, source rule, default mode (and for an overlay the
#: fewest lower directories, and whether it takes upper and work).
MOUNT_KIND_TABLE = {
    "bind": MountKind(1, _O | _R | _D, False, False, True, False, "path_or_fd", 0),
    "tmpfs": MountKind(2, _R, True, True, False, False, "none", 0o755),
    "proc": MountKind(3, _C, False, False, False, False, "none", 0),
    "dev": MountKind(4, 0, False, False, False, False, "none", 0),
    "mqueue": MountKind(5, 0, False, False, False, False, "none", 0),
    "dir": MountKind(6, 0, True, False, False, False, "none", 0o755),
    "symlink": MountKind(7, 0, False, False, False, False, "text", 0),
    "file": MountKind(8, 0, True, False, True, True, "none", 0o644),
    "remount_ro": MountKind(9, 0, False, False, False, False, "none", 0),
    "mask": MountKind(10, _O, False, False, False, False, "none", 0),
    "bind_data": MountKind(11, _R, True, False, True, True, "none", 0o600),
    "overlay": MountKind(12, 0, False, False, False, False, "none", 0, lower=1, upper=True),
    "tmp_overlay": MountKind(13, 0, False, False, False, False, "none", 0, lower=1),
    "ro_overlay": MountKind(14, 0, False, False, False, False, "none", 0, lower=2),
    "chmod": MountKind(15, 0, True, False, False, False, "none", 0),
}
del _O, _R, _D, _C

#: Kinds of MOUNT_OP record (the JSON ``type`` of a mount operation), in number order.
MOUNT_KINDS = {name: k.number for name, k in MOUNT_KIND_TABLE.items()}
MOUNT_KIND_LAST = max(MOUNT_KINDS.values())
#: Fixed part of a MOUNT_OP payload: u16 kind, u16 flags, u32 mode, u64 size, i32 fd.
MOUNT_OP_FIXED_LEN = 20

#: Credential flags.
CRED_NO_SETGROUPS = 0x1
CRED_FLAGS_KNOWN = 0x1

#: rlimit resources, ``RLIMIT_*`` numbers 0-15 in order.
RESOURCES = (
    "cpu", "fsize", "data", "stack", "core", "rss", "nproc", "nofile", "memlock", "as",
    "locks", "sigpending", "msgqueue", "nice", "rtprio", "rttime",
)


class Limit:
    """The limits of docs/spec.md ("Limits")."""

    SPEC = 4 * 1024 * 1024
    STRINGS = 262_144  # argv, and separately env
    PATH = 4096  # NUL included: exec_path, work_dir, pivot_root, mount source and target
    MOUNT_DATA = 4096  # NUL included
    FSTYPE = 256  # NUL included
    NAME = 65  # host / domain name, NUL included (64 bytes + NUL)
    RLIMITS = 16
    RESOURCE = 16
    FILES = 4096
    FD = 1 << 20
    SECCOMP = 4096
    SECCOMP_PROGRAMS = 16  # SECCOMP records
    MOUNTS = 256  # MOUNT and MOUNT_OP records together
    LANDLOCK_RULES = 64  # LANDLOCK_PATH records, and LANDLOCK_PORT records
    LOCK_FILES = 8  # LOCK_FILE records
    MODE = 0o7777  # largest mode of a mount operation
    OVERLAY_LOWER = 500  # lower directories of one overlay
    ID_MAP = 340
    GROUPS = 65_536


class Fault:
    """Fault numbers of a refused spec (``detail`` of a ``spec`` error record)."""

    TRUNCATED = 1
    BAD_MAGIC = 2
    BAD_VERSION = 3
    BAD_TOTAL_LENGTH = 4
    UNKNOWN_RECORD = 5
    DUPLICATE_RECORD = 6
    BAD_RECORD_LENGTH = 7
    UNTERMINATED = 8
    INTERIOR_NUL = 9
    TOO_LONG = 10
    TOO_MANY = 11
    FD_OUT_OF_RANGE = 12
    UNKNOWN_BITS = 13
    BAD_VALUE = 14
    MISSING_ARGS = 15
    CONFLICT = 16
    NEEDS_CLONE_SHAPE = 17


#: fault number -> (name, description, errno). The descriptions are the Rust crate's
#: (``Fault::describe``), used in ``spec(offset N): <description> (<errno text>)``.
FAULTS = {
    1: ("Truncated", "truncated", 22),
    2: ("BadMagic", "bad magic (not a forkexec spec)", 22),
    3: ("BadVersion", "unsupported version", 22),
    4: ("BadTotalLength", "bad total length", 22),
    5: ("UnknownRecord", "unknown record type", 22),
    6: ("DuplicateRecord", "duplicate record", 22),
    7: ("BadRecordLength", "bad record length", 22),
    8: ("Unterminated", "unterminated string", 22),
    9: ("InteriorNul", "NUL inside a string", 22),
    10: ("TooLong", "over the length limit", 7),
    11: ("TooMany", "over the count limit", 7),
    12: ("FdOutOfRange", "fd out of range", 9),
    13: ("UnknownBits", "unknown flag bits", 22),
    14: ("BadValue", "value out of range", 22),
    15: ("MissingArgs", "missing args", 22),
    16: ("Conflict", "conflicting fields", 22),
    17: ("NeedsCloneShape", "needs the clone shape (not supported in place)", 95),
}

#: Error locations 1-53 (docs/spec.md, "Error locations"): number -> name.
LOCATIONS = {
    1: "clone",
    2: "close_write",
    3: "unshare_user_read",
    4: "getpid",
    5: "keep_capability",
    6: "setgroups",
    7: "setgid",
    8: "setuid",
    9: "dup3",
    10: "fcntl",
    11: "setsid",
    12: "ioctl",
    13: "mount(root)",
    14: "mount(tmpfs)",
    15: "mount(chdir)",
    16: "mount",
    17: "mount(mkdir)",
    18: "pivot_root",
    19: "umount",
    20: "unlink",
    21: "mount(readonly)",
    22: "chdir",
    23: "setrlimit",
    24: "set_no_new_privs",
    25: "drop_capability",
    26: "set_cap",
    27: "ptrace_me",
    28: "stop",
    29: "seccomp",
    30: "sync_write",
    31: "sync_read",
    32: "execve",
    33: "spec_read",
    34: "spec",
    35: "unshare",
    36: "write_setgroups",
    37: "write_uid_map",
    38: "write_gid_map",
    39: "sethostname",
    40: "setdomainname",
    41: "close_range",
    42: "get_cap",
    43: "cgroup",
    44: "pdeathsig",
    45: "supervise",
    46: "privileged_install",
    47: "set_dumpable",
    48: "mount(path)",
    49: "mount(source)",
    50: "keyring",
    51: "landlock",
    52: "landlock(path)",
    53: "landlock(port)",
    54: "lock_file",
    55: "sync_fd",
    56: "raise_ambient",
    57: "block_fd",
    58: "loopback",
    59: "max_user_namespaces",
    60: "setns",
    61: "info_fd",
    62: "assert_userns_disabled",
    64: "serve",
    65: "serve_fds",
}

LOC_SYNC_READ = 31
LOC_EXECVE = 32
LOC_SPEC_READ = 33
LOC_SPEC = 34

#: Status record kinds.
KIND_ERROR = 1
KIND_SYNC = 2
KIND_PID = 3
KIND_EXIT = 4
KIND_EXEC = 5

#: The runtime's answer to a sync record.
SYNC_CONTINUE = b"\x00"
SYNC_ABORT = b"\x01"

#: Helper exit codes.
EXIT_SETUP_FAILED = 125
EXIT_CANNOT_EXECUTE = 126
EXIT_NOT_FOUND = 127
