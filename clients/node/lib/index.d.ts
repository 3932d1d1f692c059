// Type declarations of the forkexec Node client (docs/node.md). Checked by test/types.test.js.
/// <reference types="node" />

import type { ChildProcess, StdioNull, StdioPipe } from 'child_process';
import type { Readable, Stream, Writable } from 'stream';

/** A string of the spec: a JS string (written as UTF-8) or bytes, written as they are. */
export type Str = string | Uint8Array;
/** An unsigned 64-bit value: a Number up to 2^53, or a BigInt. */
export type U64 = number | bigint;

export type ResourceName =
  | 'cpu' | 'fsize' | 'data' | 'stack' | 'core' | 'rss' | 'nproc' | 'nofile' | 'memlock' | 'as'
  | 'locks' | 'sigpending' | 'msgqueue' | 'nice' | 'rtprio' | 'rttime';
export type CloneFlag = 'newns' | 'newcgroup' | 'newuts' | 'newipc' | 'newuser' | 'newpid' | 'newnet';
export type MountFlag =
  | 'rdonly' | 'nosuid' | 'nodev' | 'noexec' | 'synchronous' | 'remount' | 'mandlock' | 'dirsync'
  | 'nosymfollow' | 'noatime' | 'nodiratime' | 'bind' | 'move' | 'rec' | 'silent' | 'posixacl'
  | 'unbindable' | 'private' | 'slave' | 'shared' | 'relatime' | 'i_version' | 'strictatime'
  | 'lazytime';

export interface Rlimit {
  /** A name, or the RLIMIT_* number 0-15. */
  resource: ResourceName | number;
  /** Soft limit; 'infinity' / 'unlimited' = RLIM_INFINITY. */
  cur: U64 | 'infinity' | 'unlimited';
  /** Hard limit. */
  max: U64 | 'infinity' | 'unlimited';
}

/** One classic BPF instruction (struct sock_filter). */
export interface SockFilter {
  code: number;
  jt?: number;
  jf?: number;
  k: number;
}

/** A raw mount(2) (record MOUNT): an entry of `mounts` without `type`. */
export interface RawMount {
  type?: undefined;
  source?: Str;
  target: Str;
  fstype?: Str;
  flags?: MountFlag[];
  data?: Str;
  /** Create the target and its missing parents (default true). */
  mkdir?: boolean;
  /** With mkdir: create the target as a file, to bind a file. */
  file?: boolean;
  /** go-sandbox's name for `file`. */
  make_nod?: boolean;
}

/** A mode: an octal string ("1777", "0755") or a number taken as is (0o755). */
export type Mode = string | number;
/** Bytes, or a string with a k, m or g suffix ("64m"). */
export type Size = U64 | string;

interface MountOpBase {
  /** An absolute path inside the new root. */
  target: Str;
}
export interface BindOp extends MountOpBase {
  type: 'bind';
  source?: Str;
  source_fd?: number;
  readonly?: boolean;
  dev?: boolean;
  optional?: boolean;
}
export interface TmpfsOp extends MountOpBase { type: 'tmpfs'; size?: Size; mode?: Mode; readonly?: boolean }
/** `cover`: bubblewrap's read-only covers over sys, sysrq-trigger, irq, bus where writable. */
export interface ProcOp extends MountOpBase { type: 'proc'; cover?: boolean }
export interface DevOp extends MountOpBase { type: 'dev' }
export interface MqueueOp extends MountOpBase { type: 'mqueue' }
export interface DirOp extends MountOpBase { type: 'dir'; mode?: Mode }
export interface SymlinkOp extends MountOpBase { type: 'symlink'; source: Str }
export interface FileOp extends MountOpBase { type: 'file'; mode?: Mode; content?: Str; content_fd?: number }
export interface RemountRoOp extends MountOpBase { type: 'remount_ro' }
export interface MaskOp extends MountOpBase { type: 'mask'; optional?: boolean }
/** An overlayfs of `lower` (host directories, topmost first) under `upper`, which takes the writes. */
export interface OverlayOp extends MountOpBase { type: 'overlay'; lower: Str[]; upper: Str; work: Str }
/** An overlayfs of `lower` whose writes go to a private tmpfs, gone with the sandbox. */
export interface TmpOverlayOp extends MountOpBase { type: 'tmp_overlay'; lower: Str[] }
/** A read-only overlayfs of two or more `lower` directories. */
export interface RoOverlayOp extends MountOpBase { type: 'ro_overlay'; lower: Str[] }
/** The existing target gets exactly `mode` (bubblewrap's `--chmod`); nothing is created. */
export interface ChmodOp extends MountOpBase { type: 'chmod'; mode: Mode }
/** bubblewrap's --bind-data / --ro-bind-data: the data in a file of its own, bound on the target (mode 0600 unless given). */
export interface BindDataOp extends MountOpBase { type: 'bind_data'; mode?: Mode; content?: Str; content_fd?: number; readonly?: boolean }
/** A mount operation (record MOUNT_OP): an entry of `mounts` with `type`. */
export type MountOp =
  | BindOp | TmpfsOp | ProcOp | DevOp | MqueueOp | DirOp | SymlinkOp | FileOp | RemountRoOp | MaskOp
  | BindDataOp | OverlayOp | TmpOverlayOp | RoOverlayOp | ChmodOp;
export type MountEntry = RawMount | MountOp;

/** A Landlock filesystem right (docs/spec.md, "Landlock filesystem rights"). */
export type LandlockFsRight =
  | 'execute' | 'write_file' | 'read_file' | 'read_dir' | 'remove_dir' | 'remove_file'
  | 'make_char' | 'make_dir' | 'make_reg' | 'make_sock' | 'make_fifo' | 'make_block' | 'make_sym'
  | 'refer' | 'truncate' | 'ioctl_dev';
/** Landlock confinement (docs/json.md, `landlock`): `fs` present (even `[]`) confines the
 * filesystem to what its rules allow (rights by name, or the groups `read` and `write`), `net`
 * likewise TCP bind/connect; `scope` keeps abstract unix sockets and signals inside; `exact`
 * refuses a kernel that lacks a requested right instead of using what it has. */
export interface Landlock {
  exact?: boolean;
  fs?: { path: Str; access: (LandlockFsRight | 'read' | 'write')[] }[] | null;
  net?: { port: number; access: ('bind_tcp' | 'connect_tcp')[] }[] | null;
  scope?: ('abstract_unix_socket' | 'signal')[];
}

export interface IdMap {
  container_id: number;
  host_id: number;
  size: number;
}

export interface Credential {
  uid: number;
  gid: number;
  groups?: number[];
  no_set_groups?: boolean;
}

/** A spec in the JSON form (docs/json.md); every key is optional but `args`. */
export interface Spec {
  args: Str[];
  env?: Str[];
  exec_path?: Str | null;
  exec_file?: number | null;
  rlimits?: Rlimit[];
  /** Target fd i = helper fd files[i] (-1: closed). Helper fds are ours, at the same numbers. */
  files?: number[];
  work_dir?: Str;
  /** One program, or several loaded in order (each but the last must allow prctl). */
  seccomp?: SockFilter[] | SockFilter[][] | null;
  clone_flags?: CloneFlag[];
  mounts?: MountEntry[];
  pivot_root?: Str;
  host_name?: Str;
  domain_name?: Str;
  uid_mappings?: IdMap[];
  gid_mappings?: IdMap[];
  credential?: Credential | null;
  sync?: boolean;
  /** Refused by this client (UnsupportedError): Node cannot trace. */
  ptrace?: boolean;
  no_new_privs?: boolean;
  /** Refused by this client (UnsupportedError). */
  stop_before_seccomp?: boolean;
  gid_mappings_enable_setgroups?: boolean;
  drop_caps?: boolean;
  unshare_cgroup_after_sync?: boolean;
  ctty?: boolean;
  /** Default true (a new session). */
  setsid?: boolean;
  /** Refused by this client (UnsupportedError): Node cannot reap a detached target. */
  detach?: boolean;
  init?: boolean;
  /** Refused from a worker thread (UnsupportedError). */
  die_with_parent?: boolean;
  writable_root?: boolean;
  new_session_keyring?: boolean;
  /** bubblewrap's modes for the parents mount operations make (OPTIONS PARENTS_FROM_MODE). */
  parents_from_mode?: boolean;
  /** Clone shapes: only the error or exit record (docs/spec.md, ONLY_END_RECORDS). */
  only_end_records?: boolean;
  dumpable_init?: boolean;
  /** With init: the helper ends once init reports the program's end (NO_WAIT_INIT). */
  no_wait_init?: boolean;
  /** A failure exits 1 in bubblewrap's words, as bubblewrap does (docs/spec.md, BWRAP_ERRORS). */
  bwrap_errors?: boolean;
  /** `lo` up in the new network namespace, as bubblewrap's --unshare-net (LOOPBACK); needs newnet. */
  loopback?: boolean;
  /** In the new user namespace: the program cannot create user namespaces (DISABLE_USERNS). */
  disable_userns?: boolean;
  /** Fail the start if the program could create a user namespace (ASSERT_USERNS_DISABLED). */
  assert_userns_disabled?: boolean;
  status_fd?: number | null;
  cgroup?: Str;
  cgroup_fd?: number | null;
  /** Landlock confinement (docs/spec.md, LANDLOCK, LANDLOCK_PATH, LANDLOCK_PORT). */
  landlock?: Landlock | null;
  /** An fd for bubblewrap's `--info-fd` JSON (docs/spec.md, INFO_FD). */
  info_fd?: number | null;
  /** An fd for bubblewrap's `--json-status-fd` JSON lines; the helper supervises the target. */
  json_status_fd?: number | null;
  /** Existing namespaces to join (docs/spec.md, JOIN_NS): fds on `/proc/PID/ns/user` or `…/pid`. */
  join_ns?: { user?: number | null; pid?: number | null; user2?: number | null } | null;
  /** Absolute paths (inside the sandbox) init read-locks and holds while it lives (docs/spec.md, LOCK_FILE); needs `init`. */
  lock_files?: Str[];
  /** An fd init keeps open while it lives (docs/spec.md, SYNC_FD); needs `init`. */
  sync_fd?: number | null;
  /** The capabilities the target keeps (docs/spec.md, CAPS): capability numbers 0-63. */
  caps?: { keep: number[]; leave_sets?: boolean } | null;
  /** An fd the target reads a byte from before it runs (docs/spec.md, BLOCK_FD). */
  block_fd?: number | null;
  /** An fd the helper reads a byte from once the new user namespace exists; another process writes the maps (docs/spec.md, USERNS_BLOCK_FD). */
  userns_block_fd?: number | null;
}

/** What fds 0-2 of the helper (and so of the target, unless `files` says otherwise) are. */
export type StdioEntry = StdioPipe | StdioNull | number | Stream | null | undefined;

export interface RunnerOptions {
  /**
   * Called right before exec (after ids, mounts and limits, before seccomp) with the target's
   * pid as we see it; returning (or resolving) lets the target run, throwing (rejecting) aborts.
   */
  syncFunc?: ((pid: number) => void | Promise<void>) | null;
  /** The helper binary (default: findHelper()). */
  helper?: string | null;
  /** fds 0-2 of the helper, as spawn()'s stdio: one value for all three, or an array of up to 3. */
  stdio?: StdioPipe | StdioNull | StdioEntry[];
  /** The helper's working directory (the target's too, unless work_dir). */
  cwd?: string;
}

export interface Rusage {
  /** Seconds. */
  userTime: number;
  systemTime: number;
  maxRssKib: number;
}

export interface WaitStatus {
  /** The exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal's name ('SIGTERM'), or null. */
  signal: NodeJS.Signals | string | null;
  signalNumber: number | null;
  /** The raw wait status (as wait4 gives it). */
  status: number;
  /** The target's own rusage from a supervising helper's exit record; null in place. */
  rusage: Rusage | null;
  success: boolean;
}

export type ShapeName = 'in_place' | 'supervise' | 'detach' | 'init';
export const Shape: {
  readonly IN_PLACE: 'in_place';
  readonly SUPERVISE: 'supervise';
  readonly DETACH: 'detach';
  readonly INIT: 'init';
};

export class Process {
  private constructor();
  /** The helper's ChildProcess (in place: now the target). */
  readonly child: ChildProcess;
  /** Our child's pid (the helper's; in place the target's). */
  readonly pid: number;
  /** The target's pid as we see it. */
  targetPid: number;
  readonly shape: 'in_place' | 'supervise' | 'init';
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  wait(): Promise<WaitStatus>;
  /** Default SIGKILL (to the target itself in the supervised shapes). False if already gone. */
  kill(signal?: NodeJS.Signals | number): boolean;
}

export class Runner {
  constructor(spec: Spec | Str[], options?: RunnerOptions);
  spec: Spec | Str[];
  syncFunc: RunnerOptions['syncFunc'];
  helper: string | null;
  /** The spec bytes start() would send. */
  encode(): Buffer;
  start(): Promise<Process>;
}

/** new Runner(spec, options).start() */
export function start(spec: Spec | Str[], options?: RunnerOptions): Promise<Process>;
/** Sends bytes as they are (for testing a helper); an in-place conversation unless `shape`. */
export function startRaw(bytes: Uint8Array, options?: RunnerOptions & { shape?: ShapeName; halfClose?: boolean }): Promise<Process>;
export function findHelper(): string;

/** Canonical wire bytes, checked by decode() (throws SpecError). */
export function encode(spec: Spec | Str[]): Buffer;
/** Canonical wire bytes without the decoder's checks. */
export function encodeUnchecked(spec: Spec | Str[]): Buffer;
export interface Decoded {
  /** The JSON form the bytes describe (absent keys left out; u64 values as BigInt). */
  spec: Record<string, unknown>;
  shape(euid: number, egid: number): ShapeName;
}
/** Validates as the helper does (throws SpecError with its fault and offset). */
export function decode(bytes: Uint8Array): Decoded;
/** The JSON form with every key present and checked (throws JsonError). */
export function normalize(spec: Spec | Str[]): Required<Spec>;
/** JSON.parse keeping integers above 2^53 exact (as BigInt). */
export function parseJson(text: string): unknown;

export type StatusRecord =
  | { kind: 'error'; location: number; errno: number; index: number; detail: number }
  | { kind: 'sync' | 'pid' | 'exec'; pid: number }
  | { kind: 'exit'; status: number; utimeUs: bigint; stimeUs: bigint; maxRssKib: bigint }
  | { kind: 'unknown'; number: number };
export function decodeRecord(bytes: Uint8Array): StatusRecord;
export function encodeRecord(record: StatusRecord): Buffer;
/** strerror as Go prints it: 'no such file or directory'. */
export function errnoText(errno: number): string;

export class ForkexecError extends Error {}
/** The helper's error record: a step failed and the target never ran. */
export class ChildError extends ForkexecError {
  constructor(location: number, errno: number, index?: number, detail?: number);
  readonly location: number;
  /** 'mount(mkdir)'; undefined for a number this client does not know. */
  readonly locationName: string | undefined;
  readonly errno: number;
  /** The errno's name ('ENOENT'). */
  readonly code: string | undefined;
  readonly index: number;
  readonly detail: number;
  /** For location 34 (spec): the fault number and name. */
  readonly fault: number | undefined;
  readonly faultName: string | undefined;
  /** How the helper ended (125, 126, 127), once start() reaped it. */
  exitCode: number | null;
  signal: string | null;
}
/** Refused before spawning: the helper's fault and byte offset, or a string with a NUL. */
export class SpecError extends ForkexecError {
  readonly fault: number | undefined;
  readonly faultName: string | undefined;
  readonly errno: number | undefined;
  readonly offset: number | undefined;
  /** What sits at the offset: 'header', 'clone_flags', 'mounts[2]', 'end of spec'. */
  readonly record: string | undefined;
  /** The string holding a NUL byte ('args[1]'). */
  readonly field: string | undefined;
}
/** The JSON form is not a spec; `path` names the key ('mounts[0].flags[1]'). */
export class JsonError extends ForkexecError {
  readonly path: string;
  readonly detail: string;
}
export class HelperError extends ForkexecError {}
/** The sync callback threw; the helper was told to abort. `cause` is what it threw. */
export class SyncError extends ForkexecError {
  readonly childError: ChildError | null;
}
/** Something this client cannot do correctly from Node (docs/node.md, "Traps"). */
export class UnsupportedError extends ForkexecError {
  readonly feature: string;
}

/** The numbers of the wire format (docs/spec.md). */
export const names: {
  readonly LOCATIONS: Readonly<Record<number, string>>;
  readonly FAULTS: Readonly<Record<number, readonly [string, string, number]>>;
  readonly Loc: { readonly SYNC_READ: 31; readonly EXECVE: 32; readonly SPEC_READ: 33; readonly SPEC: 34 };
  readonly [key: string]: unknown;
};
