'use strict';
// The numbers of wire format v1 (docs/spec.md) and the names of the JSON form. Every table here
// is copied from docs/spec.md; test/names.test.js compares them with its tables.

const MAGIC = Buffer.from('FXSP', 'latin1');
const VERSION = 1;
const HEADER_LEN = 12;
const RECORD_HEADER_LEN = 8;
const STATUS_RECORD_LEN = 32;
/** RLIM_INFINITY: no limit. */
const RLIM_INFINITY = 0xffffffffffffffffn;

/** Record types (the u16 at the start of every record). */
const Record = Object.freeze({
  ARGS: 1, ENV: 2, EXEC_PATH: 3, EXEC_FD: 4, RLIMIT: 5, FILES: 6, WORK_DIR: 7, SECCOMP: 8,
  CLONE_FLAGS: 9, MOUNT: 10, PIVOT_ROOT: 11, HOST_NAME: 12, DOMAIN_NAME: 13, UID_MAP: 14,
  GID_MAP: 15, CREDENTIAL: 16, OPTIONS: 17, STATUS_FD: 18, CGROUP_PATH: 19, CGROUP_FD: 20,
  MOUNT_OP: 21, LANDLOCK: 22, LANDLOCK_PATH: 23, LANDLOCK_PORT: 24, INFO_FD: 25,
  JSON_STATUS_FD: 26, JOIN_NS: 27, LOCK_FILE: 28, SYNC_FD: 29, CAPS: 30,
  BLOCK_FD: 31, USERNS_BLOCK_FD: 32,
});
const RECORD_LAST = 32;

/** Printable record names: the JSON key each record carries. */
const RECORD_NAMES = Object.freeze({
  1: 'args', 2: 'env', 3: 'exec_path', 4: 'exec_file', 5: 'rlimits', 6: 'files', 7: 'work_dir',
  8: 'seccomp', 9: 'clone_flags', 10: 'mounts', 11: 'pivot_root', 12: 'host_name',
  13: 'domain_name', 14: 'uid_mappings', 15: 'gid_mappings', 16: 'credential', 17: 'options',
  18: 'status_fd', 19: 'cgroup', 20: 'cgroup_fd', 21: 'mounts',
  22: 'landlock', 23: 'landlock', 24: 'landlock', 25: 'info_fd', 26: 'json_status_fd',
  27: 'join_ns', 28: 'lock_files', 29: 'sync_fd', 30: 'caps', 31: 'block_fd',
  32: 'userns_block_fd',
});

const SKIP_IF_UNKNOWN = 0x1;

/** Option bits (record OPTIONS) by JSON key; `setsid` is inverted (false sets NO_SETSID). */
const OPTION_BITS = Object.freeze({
  sync: 0x1, ptrace: 0x2, no_new_privs: 0x4, stop_before_seccomp: 0x8,
  gid_mappings_enable_setgroups: 0x10, drop_caps: 0x20, unshare_cgroup_after_sync: 0x40,
  ctty: 0x80, setsid: 0x100, detach: 0x200, init: 0x400, die_with_parent: 0x800,
  writable_root: 0x1000, new_session_keyring: 0x2000, parents_from_mode: 0x4000,
  only_end_records: 0x8000, dumpable_init: 0x10000, no_wait_init: 0x20000,
  bwrap_errors: 0x40000, loopback: 0x80000,
  disable_userns: 0x100000, assert_userns_disabled: 0x200000,
});
const OPTIONS_KNOWN = 0x3fffff;
const Opt = Object.freeze({
  SYNC: 0x1, PTRACE: 0x2, NO_NEW_PRIVS: 0x4, STOP_BEFORE_SECCOMP: 0x8,
  GID_MAPPINGS_ENABLE_SETGROUPS: 0x10, DROP_CAPS: 0x20, UNSHARE_CGROUP_AFTER_SYNC: 0x40,
  CTTY: 0x80, NO_SETSID: 0x100, DETACH: 0x200, INIT: 0x400, DIE_WITH_PARENT: 0x800,
  WRITABLE_ROOT: 0x1000, NEW_SESSION_KEYRING: 0x2000, PARENTS_FROM_MODE: 0x4000,
  ONLY_END_RECORDS: 0x8000, DUMPABLE_INIT: 0x10000, NO_WAIT_INIT: 0x20000,
  BWRAP_ERRORS: 0x40000, LOOPBACK: 0x80000,
  DISABLE_USERNS: 0x100000, ASSERT_USERNS_DISABLED: 0x200000,
});

/** Clone flags (record CLONE_FLAGS), in the order the decoder lists them. */
const CLONE_FLAGS = Object.freeze({
  newns: 0x00020000, newcgroup: 0x02000000, newuts: 0x04000000, newipc: 0x08000000,
  newuser: 0x10000000, newpid: 0x20000000, newnet: 0x40000000,
});
const CLONE_KNOWN = 0x7e020000;

/** Mount flags (MS_* in lower case), passed to mount(2) as they are. */
const MOUNT_FLAGS = Object.freeze({
  rdonly: 0x1, nosuid: 0x2, nodev: 0x4, noexec: 0x8, synchronous: 0x10, remount: 0x20,
  mandlock: 0x40, dirsync: 0x80, nosymfollow: 0x100, noatime: 0x400, nodiratime: 0x800,
  bind: 0x1000, move: 0x2000, rec: 0x4000, silent: 0x8000, posixacl: 0x10000,
  unbindable: 0x20000, private: 0x40000, slave: 0x80000, shared: 0x100000, relatime: 0x200000,
  i_version: 0x800000, strictatime: 0x1000000, lazytime: 0x2000000,
});
const MOUNT_FLAGS_KNOWN = Object.values(MOUNT_FLAGS).reduce((a, b) => a | b, 0);

/** Mount options (the u32 after a MOUNT record's flags). */
const MOUNT_MKDIR = 0x1;
const MOUNT_FILE = 0x2;
const MOUNT_OPTIONS_KNOWN = 0x3;

/** MOUNT_OP kinds by JSON `type`. */
const MOUNT_KINDS = Object.freeze({
  bind: 1, tmpfs: 2, proc: 3, dev: 4, mqueue: 5, dir: 6, symlink: 7, file: 8, remount_ro: 9,
  mask: 10, bind_data: 11, overlay: 12, tmp_overlay: 13, ro_overlay: 14, chmod: 15,
});
const MOUNT_KIND_LAST = 15;
const MOUNT_OP_OPTIONAL = 0x1;
const MOUNT_OP_READONLY = 0x2;
const MOUNT_OP_DEV = 0x4;
const MOUNT_OP_COVER = 0x8;
const MOUNT_OP_FLAGS_KNOWN = 0xf;
const MOUNT_OP_FIXED_LEN = 20;
/** The fields each mount operation type takes besides `type` and `target`. */
const MOUNT_OP_FIELDS = Object.freeze({
  bind: ['source', 'source_fd', 'readonly', 'dev', 'optional'],
  tmpfs: ['size', 'mode', 'readonly'],
  proc: ['cover'], dev: [], mqueue: [],
  dir: ['mode'],
  symlink: ['source'],
  file: ['mode', 'content', 'content_fd'],
  remount_ro: [],
  mask: ['optional'],
  bind_data: ['mode', 'content', 'content_fd', 'readonly'],
  overlay: ['lower', 'upper', 'work'],
  tmp_overlay: ['lower'],
  ro_overlay: ['lower'],
  chmod: ['mode'],
});
/** The overlays: the fewest `lower` directories each needs (its layers are the record's content). */
const MOUNT_OP_LOWER = Object.freeze({ overlay: 1, tmp_overlay: 1, ro_overlay: 2 });
/** The mode a mount operation gets when none is given. */
const MOUNT_OP_DEFAULT_MODE = Object.freeze({ tmpfs: 0o755, dir: 0o755, file: 0o644, bind_data: 0o600 });

/** Landlock (records LANDLOCK, LANDLOCK_PATH, LANDLOCK_PORT; docs/spec.md "Tables"): the
 * kernel's own bits, by name. */
const LANDLOCK_FS = Object.freeze({
  execute: 1 << 0, write_file: 1 << 1, read_file: 1 << 2, read_dir: 1 << 3, remove_dir: 1 << 4,
  remove_file: 1 << 5, make_char: 1 << 6, make_dir: 1 << 7, make_reg: 1 << 8, make_sock: 1 << 9,
  make_fifo: 1 << 10, make_block: 1 << 11, make_sym: 1 << 12, refer: 1 << 13, truncate: 1 << 14,
  ioctl_dev: 1 << 15,
});
const LANDLOCK_FS_KNOWN = 0xffff;
/** The groups a path rule's `access` may name (docs/json.md): reading files and listing
 * directories, and every right but execute and the reading ones. */
const LANDLOCK_FS_GROUPS = Object.freeze({
  read: LANDLOCK_FS.read_file | LANDLOCK_FS.read_dir,
  write: LANDLOCK_FS_KNOWN & ~(LANDLOCK_FS.execute | LANDLOCK_FS.read_file | LANDLOCK_FS.read_dir),
});
const LANDLOCK_NET = Object.freeze({ bind_tcp: 1 << 0, connect_tcp: 1 << 1 });
const LANDLOCK_NET_KNOWN = 0x3;
const LANDLOCK_SCOPES = Object.freeze({ abstract_unix_socket: 1 << 0, signal: 1 << 1 });
const LANDLOCK_SCOPES_KNOWN = 0x3;
/** LANDLOCK flag: refuse when the kernel lacks a requested right (else best effort). */
const LANDLOCK_EXACT = 0x1;

/** CAPS flag: leave the effective, permitted and inheritable sets as they are. */
const CAPS_LEAVE_SETS = 0x1;

const CRED_NO_SETGROUPS = 0x1;
const CRED_FLAGS_KNOWN = 0x1;

/** rlimit resources, RLIMIT_* numbers 0-15 in order. */
const RESOURCES = Object.freeze([
  'cpu', 'fsize', 'data', 'stack', 'core', 'rss', 'nproc', 'nofile', 'memlock', 'as', 'locks',
  'sigpending', 'msgqueue', 'nice', 'rtprio', 'rttime',
]);

/** The limits of docs/spec.md ("Limits"). */
const Limit = Object.freeze({
  SPEC: 4 * 1024 * 1024, STRINGS: 262144, PATH: 4096, MOUNT_DATA: 4096, FSTYPE: 256, NAME: 65,
  RLIMITS: 16, RESOURCE: 16, FILES: 4096, FD: 1 << 20, SECCOMP: 4096, SECCOMP_PROGRAMS: 16,
  MOUNTS: 256, MODE: 0o7777, ID_MAP: 340, GROUPS: 65536, OVERLAY_LOWER: 500, LANDLOCK_RULES: 64,
  LOCK_FILES: 8,
});

/** Fault numbers of a refused spec (`detail` of a `spec` error record). */
const Fault = Object.freeze({
  TRUNCATED: 1, BAD_MAGIC: 2, BAD_VERSION: 3, BAD_TOTAL_LENGTH: 4, UNKNOWN_RECORD: 5,
  DUPLICATE_RECORD: 6, BAD_RECORD_LENGTH: 7, UNTERMINATED: 8, INTERIOR_NUL: 9, TOO_LONG: 10,
  TOO_MANY: 11, FD_OUT_OF_RANGE: 12, UNKNOWN_BITS: 13, BAD_VALUE: 14, MISSING_ARGS: 15,
  CONFLICT: 16, NEEDS_CLONE_SHAPE: 17,
});

/** fault number -> [name, description (Fault::describe), errno]. */
const FAULTS = Object.freeze({
  1: ['Truncated', 'truncated', 22],
  2: ['BadMagic', 'bad magic (not a forkexec spec)', 22],
  3: ['BadVersion', 'unsupported version', 22],
  4: ['BadTotalLength', 'bad total length', 22],
  5: ['UnknownRecord', 'unknown record type', 22],
  6: ['DuplicateRecord', 'duplicate record', 22],
  7: ['BadRecordLength', 'bad record length', 22],
  8: ['Unterminated', 'unterminated string', 22],
  9: ['InteriorNul', 'NUL inside a string', 22],
  10: ['TooLong', 'over the length limit', 7],
  11: ['TooMany', 'over the count limit', 7],
  12: ['FdOutOfRange', 'fd out of range', 9],
  13: ['UnknownBits', 'unknown flag bits', 22],
  14: ['BadValue', 'value out of range', 22],
  15: ['MissingArgs', 'missing args', 22],
  16: ['Conflict', 'conflicting fields', 22],
  17: ['NeedsCloneShape', 'needs the clone shape (not supported in place)', 95],
});

/** Error locations 1-53 (docs/spec.md, "Error locations"): number -> name. */
const LOCATIONS = Object.freeze({
  1: 'clone', 2: 'close_write', 3: 'unshare_user_read', 4: 'getpid', 5: 'keep_capability',
  6: 'setgroups', 7: 'setgid', 8: 'setuid', 9: 'dup3', 10: 'fcntl', 11: 'setsid', 12: 'ioctl',
  13: 'mount(root)', 14: 'mount(tmpfs)', 15: 'mount(chdir)', 16: 'mount', 17: 'mount(mkdir)',
  18: 'pivot_root', 19: 'umount', 20: 'unlink', 21: 'mount(readonly)', 22: 'chdir',
  23: 'setrlimit', 24: 'set_no_new_privs', 25: 'drop_capability', 26: 'set_cap',
  27: 'ptrace_me', 28: 'stop', 29: 'seccomp', 30: 'sync_write', 31: 'sync_read', 32: 'execve',
  33: 'spec_read', 34: 'spec', 35: 'unshare', 36: 'write_setgroups', 37: 'write_uid_map',
  38: 'write_gid_map', 39: 'sethostname', 40: 'setdomainname', 41: 'close_range',
  42: 'get_cap', 43: 'cgroup', 44: 'pdeathsig', 45: 'supervise', 46: 'privileged_install',
  47: 'set_dumpable', 48: 'mount(path)', 49: 'mount(source)', 50: 'keyring',
  51: 'landlock', 52: 'landlock(path)', 53: 'landlock(port)', 54: 'lock_file', 55: 'sync_fd',
  56: 'raise_ambient', 57: 'block_fd', 58: 'loopback', 59: 'max_user_namespaces',
  60: 'setns', 61: 'info_fd', 62: 'assert_userns_disabled',
  64: 'serve', 65: 'serve_fds',
});
const Loc = Object.freeze({ SYNC_READ: 31, EXECVE: 32, SPEC_READ: 33, SPEC: 34 });

/** Status record kinds. */
const Kind = Object.freeze({ ERROR: 1, SYNC: 2, PID: 3, EXIT: 4, EXEC: 5 });

/** The runtime's answers to a sync record. */
const SYNC_CONTINUE = Buffer.from([0]);
const SYNC_ABORT = Buffer.from([1]);

module.exports = {
  MAGIC, VERSION, HEADER_LEN, RECORD_HEADER_LEN, STATUS_RECORD_LEN, RLIM_INFINITY, Record,
  RECORD_LAST, RECORD_NAMES, SKIP_IF_UNKNOWN, OPTION_BITS, OPTIONS_KNOWN, Opt, CLONE_FLAGS,
  CLONE_KNOWN, MOUNT_FLAGS, MOUNT_FLAGS_KNOWN, MOUNT_MKDIR, MOUNT_FILE, MOUNT_OPTIONS_KNOWN,
  MOUNT_KINDS, MOUNT_KIND_LAST, MOUNT_OP_OPTIONAL, MOUNT_OP_READONLY, MOUNT_OP_DEV, MOUNT_OP_COVER,
  MOUNT_OP_FLAGS_KNOWN, MOUNT_OP_FIXED_LEN, MOUNT_OP_FIELDS, MOUNT_OP_DEFAULT_MODE, MOUNT_OP_LOWER,
  CAPS_LEAVE_SETS, CRED_NO_SETGROUPS, CRED_FLAGS_KNOWN, LANDLOCK_FS, LANDLOCK_FS_KNOWN, LANDLOCK_FS_GROUPS, LANDLOCK_NET,
  LANDLOCK_NET_KNOWN, LANDLOCK_SCOPES, LANDLOCK_SCOPES_KNOWN, LANDLOCK_EXACT, RESOURCES, Limit,
  Fault, FAULTS, LOCATIONS, Loc, Kind,
  SYNC_CONTINUE, SYNC_ABORT,
};
