//! The command line: every flag, its help text, and the typed values some of them parse to.
//!
//! Flags whose order matters (mounts, `--setenv`/`--unsetenv`) are read back from the
//! [`clap::ArgMatches`] with their positions by [`crate::assemble`]; the fields here keep
//! clap's derive in charge of parsing, `--help` and usage errors.

// The doc comments below are the `--help` text, written for a terminal (`argv[0]`), not
// rustdoc markdown.
#![allow(rustdoc::broken_intra_doc_links)]

use std::path::PathBuf;
use std::str::FromStr;

use clap::{Arg, ArgAction, ArgMatches, Command, Parser};
use forkexec_client::{Resource, RLIM_INFINITY};

const SPEC: &str = "Spec";
const NS: &str = "Namespaces and ids";
const FS: &str = "Filesystem (mounts are made in command-line order)";
const PROC: &str = "Process";
const SAFE: &str = "Safe defaults (unsafe power is asked for by name)";
const LANDLOCK: &str =
    "Landlock (works without any namespace, e.g. where user namespaces are refused)";

const ABOUT: &str =
    "Run a program in a forkexec sandbox: a JSON spec and/or bubblewrap-style flags in, \
the program's exit status out.";

const LONG_ABOUT: &str = "\
Run a program in a forkexec sandbox: a JSON spec and/or bubblewrap-style flags in, the \
program's exit status out.

forkexec-run builds a forkexec spec, starts the static `forkexec` helper with it, passes \
stdin, stdout and stderr through to the program, waits for it and exits the way it did: \
with its exit code, or killed by the same signal. Signals sent to forkexec-run (HUP, INT, \
QUIT, TERM, USR1, USR2, ALRM, WINCH) are forwarded to the program.

The helper is found through $FORKEXEC_HELPER, next to this executable (or in its parent \
directory), or on $PATH.";

const AFTER_LONG_HELP: &str = "\
HOW THE FLAGS BUILD THE SPEC
  Without --spec, the spec starts empty with the caller's environment (entries that are not \
UTF-8 are left out; with --json, an empty environment unless --inherit-env) and fds 0, 1 and 2 passed through. With --spec FILE, the spec is FILE as \
written (an absent key keeps its JSON default: no \"env\" is an empty environment) and each \
flag changes only what it names: list flags (mounts, --setenv, --rlimit) add to the file's \
entries, single-valued flags (--hostname, --chdir, --uid, --seccomp, ...) replace them, and \
COMMAND replaces \"args\" (and drops \"exec_path\"/\"exec_file\").

  Each flag brings what it needs:
    --unshare-all         -> newuser, newns, newpid, newipc, newuts, newnet, newcgroup
                             (without newnet with --share-net)
    --unshare-net, --unshare-all's newnet
                          -> \"loopback\": lo up in it, as bubblewrap's (not with --no-loopback)
    any mount flag        -> newns; and, when the spec has neither \"pivot_root\" nor \"mounts\" \
of its own, a fresh root: this user's directory $XDG_RUNTIME_DIR/forkexec-run-root or \
$TMPDIR/forkexec-run-root-UID (mode 0700, made once and kept: only a mount point) becomes \
\"pivot_root\". The helper mounts a tmpfs there, \
makes the mounts inside it, pivots into it and remounts it read-only (unless \
--writable-root), so the program sees only what the flags put there. DST is then a path \
inside the new root. Each mount flag adds one mount operation to \"mounts\" (a \"type\"d \
entry: docs/json.md), in command-line order; --size and --perms change the next one.
    --proc                -> newpid (a fresh proc shows only the sandbox's processes)
    --mqueue              -> newipc
    --init                -> newpid
    --hostname/--domainname -> newuts
    any namespace, as an ordinary user -> newuser (the kernel requires one)
    --uid/--gid other than your own, as an ordinary user -> newuser
  With a user namespace, the caller is mapped to --uid/--gid inside (default: the caller's \
own uid and gid) by single-id maps (\"uid_mappings\": [{container_id: UID, host_id: your euid, \
size: 1}], likewise for gids). As root without a user namespace, --uid/--gid become the \
\"credential\" (setgroups([]), setgid, setuid). A spec's own maps are kept unless --uid/--gid \
is given.

  COMMAND is looked up like a shell would when it has no `/`: in the PATH the program will \
get (else /bin:/usr/bin), as the sandbox will see it (through the bind mounts), and the \
result becomes \"exec_path\" while COMMAND stays argv[0]. A name found nowhere is an error \
(exit 127). A COMMAND from --spec (\"args\") is run as written.

  Without --chdir, a fresh root starts in the caller's working directory when a bind mount \
makes that same path visible inside (e.g. --ro-bind / /), else in `/`.

  --json prints the resulting spec's JSON form (the input of --spec) and exits without \
running anything.

  `forkexec-run check` tells what this host allows you (user namespaces, cgroups, seccomp, \
Landlock, ...) and, for each \"no\", why and the fix. A program named check runs after --.

SAFE DEFAULTS
  The raw spec keeps go-sandbox's zero values; forkexec-run does not. By default the program \
keeps no capability (so uid 0 inside cannot remount a read-only bind writable, unmount a \
--mask, write sysctls, use open_by_handle_at or TIOCSTI), runs with no_new_privs (no setuid \
gains), and gets a new, empty session keyring (your keys stay yours). As root with a user \
namespace the program is host uid/gid 65534, never host root, so it cannot read a root-owned \
0600 file even through a read-only bind. Each is turned off by a flag that names it: \
--cap-add ALL, --allow-new-privs, --share-keyring, --host-uid/--host-gid, --allow-host-root. \
--die-with-parent brings a pid namespace, so the program's children die too. RLIMIT_NPROC \
does not bind host uid 0 (a kernel exemption): use a cgroup's pids.max. SIGTERM or SIGINT \
during the setup abort the start.

EXIT STATUS
  The program's exit code; or, when a signal killed it, forkexec-run kills itself with the \
same signal (core dumps off). When the sandbox cannot be set up, forkexec-run prints one \
line such as
      forkexec-run: mount(3) /data: no such file or directory
  (the helper's error location and index, what it refers to, and the errno; with --stay, then \
`why:` and `fix:` lines when the host or the spec say more, e.g. a namespace limit, or an \
ELF interpreter missing from the sandbox) and exits
    125  a setup step failed, the spec or a flag is invalid, or the helper cannot be run
    126  the program was found but cannot be executed (execve: EACCES, ENOEXEC)
    127  the program was not found (execve: ENOENT, or COMMAND not in PATH)

EXAMPLES
  Run `ls /` with only /usr and the libraries visible, read-only:
    forkexec-run --ro-bind /usr /usr --ro-bind-try /lib /lib --ro-bind-try /lib64 /lib64 \\
        --ro-bind-try /bin /bin --proc /proc --dev /dev --tmpfs /tmp -- ls /

  A judge-style run: every namespace, no network, limits, the shipped seccomp policy:
    forkexec-run --unshare-all --die-with-parent --ro-bind /usr /usr \\
        --ro-bind-try /lib /lib --ro-bind-try /lib64 /lib64 --bind ./work /work --chdir /work \\
        --rlimit cpu=2 --rlimit as=1073741824 --rlimit nofile=64 --seccomp judge \\
        --clearenv --setenv PATH /usr/bin -- ./solution

  Save a spec, then run it (and run it again with one more variable):
    forkexec-run --json --unshare-user --uid 0 -- id > spec.json
    forkexec-run --spec spec.json
    forkexec-run --spec spec.json --setenv DEBUG 1

See docs/cli.md and docs/json.md.";

/// The command line. Field ids are the flag names with `_` (clap's derive default), which
/// [`crate::assemble`] uses to read the positions of order-sensitive flags. `Default` is
/// the command line without flags (no field has a default of clap's), which bubblewrap
/// mode's own reader (crate::native) starts from.
#[derive(Parser, Debug, Default)]
#[command(
    name = "forkexec-run",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_long_help = AFTER_LONG_HELP,
    after_help = "Run with --help for how the flags map to the spec, exit codes and examples.",
    // `forkexec-run check` is the subcommand; after any flag, `check` is a COMMAND (and
    // `forkexec-run -- check` always is).
    args_conflicts_with_subcommands = true,
    disable_help_subcommand = true,
)]
pub struct Cli {
    // ---------------------------------------------------------------------------------------
    // The spec
    // ---------------------------------------------------------------------------------------
    /// Start from this spec in its JSON form (`-` reads it from stdin); the flags add to it or
    /// override it. Unknown keys are errors, which name the key path (docs/json.md).
    #[arg(long, value_name = "FILE", help_heading = SPEC)]
    pub spec: Option<String>,

    /// Print the resulting spec's JSON form on stdout and exit without running anything.
    #[arg(long, help_heading = SPEC)]
    pub json: bool,

    /// Write the binary spec (the bytes the helper reads, docs/spec.md) to FILE before
    /// running; with --json, write it and run nothing.
    #[arg(long, value_name = "FILE", help_heading = SPEC)]
    pub dump_spec: Option<PathBuf>,

    /// With --json: copy the caller's whole environment into the spec (without it, --json
    /// starts from an empty environment, so a saved spec holds no variable you did not name
    /// with --setenv).
    #[arg(long, requires = "json", help_heading = SPEC)]
    pub inherit_env: bool,

    /// Tell on stderr each stage as forkexec-run sees it happen: the spec, the helper
    /// started, its setup done (the sync record), the program executed or the step that
    /// failed, how the program ended. Implies --stay.
    #[arg(short, long, help_heading = SPEC)]
    pub verbose: bool,

    /// Send the run to the warm sandboxes of `forkexec-run serve SOCKET` instead of building a
    /// sandbox: the program gets this process's stdin, stdout and stderr and environment, and
    /// forkexec-run exits the way it did. Only --setenv, --unsetenv, --clearenv, --chdir,
    /// --rlimit, --cgroup and the judge flags go with it (a judged run: the server makes,
    /// limits, reads and removes its cgroup); the sandbox is the server's.
    #[arg(long, value_name = "SOCKET", help_heading = SPEC)]
    pub via: Option<PathBuf>,

    /// `check`, `serve`, or the hidden generators (`completions`, `manpage`).
    #[command(subcommand)]
    pub tool: Option<crate::tools::Tool>,

    // ---------------------------------------------------------------------------------------
    // Namespaces and ids
    // ---------------------------------------------------------------------------------------
    /// Unshare every namespace bubblewrap's --unshare-all does: user, mount, pid, ipc, uts,
    /// net and cgroup ("clone_flags").
    #[arg(long, help_heading = NS)]
    pub unshare_all: bool,

    /// With --unshare-all (or a spec's "newnet"): keep the caller's network namespace.
    #[arg(long, help_heading = NS)]
    pub share_net: bool,

    /// New user namespace ("newuser"); the caller is mapped to --uid/--gid inside.
    #[arg(long, help_heading = NS)]
    pub unshare_user: bool,

    /// New pid namespace ("newpid"): the program is pid 1 of it (pid 2 with --init), and the
    /// helper stays to supervise it (the exit status is still the program's). As pid 1 the
    /// program gets only the signals it has handlers for; use --init for ordinary semantics.
    #[arg(long, help_heading = NS)]
    pub unshare_pid: bool,

    /// New network namespace ("newnet"): only a loopback interface, brought up as bubblewrap
    /// does ("loopback": 127.0.0.1 and ::1 reach the sandbox itself, nothing else).
    #[arg(long, help_heading = NS)]
    pub unshare_net: bool,

    /// Leave the new network namespace's loopback interface down: no "loopback" (no IP at all
    /// inside, as go-sandbox's newnet).
    #[arg(long, help_heading = NS)]
    pub no_loopback: bool,

    /// New IPC namespace ("newipc").
    #[arg(long, help_heading = NS)]
    pub unshare_ipc: bool,

    /// New UTS namespace ("newuts"): host and domain name of its own.
    #[arg(long, help_heading = NS)]
    pub unshare_uts: bool,

    /// New cgroup namespace ("newcgroup").
    #[arg(long, help_heading = NS)]
    pub unshare_cgroup: bool,

    /// The uid inside: with a user namespace, the caller's uid is mapped to UID
    /// ("uid_mappings"); as root without one, the program runs as UID ("credential.uid").
    #[arg(long, value_name = "UID", help_heading = NS)]
    pub uid: Option<u32>,

    /// The gid inside, like --uid ("gid_mappings" or "credential.gid"; supplementary groups
    /// are cleared when it becomes the credential).
    #[arg(long, value_name = "GID", help_heading = NS)]
    pub gid: Option<u32>,

    /// Host name in a new UTS namespace ("host_name"; implies --unshare-uts).
    #[arg(long, value_name = "NAME", help_heading = NS)]
    pub hostname: Option<String>,

    /// NIS domain name in a new UTS namespace ("domain_name"; implies --unshare-uts).
    #[arg(long, value_name = "NAME", help_heading = NS)]
    pub domainname: Option<String>,

    // ---------------------------------------------------------------------------------------
    // Filesystem
    // ---------------------------------------------------------------------------------------
    /// The mount flags (--bind, --tmpfs, --file, …): one row each in
    /// [`crate::assemble::FS_FLAGS`], in help order.
    #[command(flatten)]
    pub fs: FsFlags,

    /// Leave the new root writable ("writable_root"); by default it is read-only outside the
    /// writable mounts. Brings a fresh root like a mount flag.
    #[arg(long, help_heading = FS)]
    pub writable_root: bool,

    /// Working directory of the program ("work_dir"; inside the new root when there is one).
    #[arg(long, value_name = "DIR", help_heading = PROC)]
    pub chdir: Option<String>,

    // ---------------------------------------------------------------------------------------
    // Process
    // ---------------------------------------------------------------------------------------
    /// Set an environment variable ("env"); applied in order with --unsetenv, after
    /// --clearenv.
    #[arg(long, num_args = 2, value_names = ["VAR", "VALUE"], action = ArgAction::Append,
          help_heading = PROC)]
    pub setenv: Vec<String>,

    /// Remove an environment variable.
    #[arg(long, value_name = "VAR", action = ArgAction::Append, help_heading = PROC)]
    pub unsetenv: Vec<String>,

    /// Start from an empty environment instead of the caller's (or the spec's).
    #[arg(long, help_heading = PROC)]
    pub clearenv: bool,

    /// A resource limit ("rlimits"), NAME one of cpu, fsize, data, stack, core, rss, nproc,
    /// nofile, memlock, as, locks, sigpending, msgqueue, nice, rtprio, rttime. VALUE alone sets
    /// both limits (as prlimit(1) does); SOFT:HARD sets each, an empty side keeps the caller's
    /// current value; "unlimited" or "infinity" for none. Replaces a spec's limit of the same
    /// NAME. Repeat for several.
    #[arg(long, value_name = "NAME=SOFT[:HARD]", value_parser = parse_rlimit,
          action = ArgAction::Append, help_heading = PROC)]
    pub rlimit: Vec<RlimitArg>,

    /// A seccomp filter, loaded last before execve ("seccomp"; implies no_new_privs): a policy
    /// file in forkexec-policy's JSON form, or the word `judge` for the shipped policy
    /// (write ./judge for a file of that name).
    #[arg(long, value_name = "POLICY", help_heading = PROC)]
    pub seccomp: Option<String>,

    /// One more seccomp filter, loaded after --seccomp's and the spec's (stacked, as bwrap's
    /// --add-seccomp-fd): a policy file or `judge`, as for --seccomp. Repeat for several, in
    /// order; every filter but the last must allow prctl.
    #[arg(long, value_name = "POLICY", action = ArgAction::Append, help_heading = PROC)]
    pub add_seccomp: Vec<String>,

    /// Set no_new_privs ("no_new_privs"): the default; see --allow-new-privs.
    #[arg(long, help_heading = SAFE, conflicts_with = "allow_new_privs")]
    pub no_new_privs: bool,

    /// Turn no_new_privs off: setuid/setgid binaries and file capabilities work again in the
    /// sandbox (by default execve grants no privilege the program did not have).
    #[arg(long, help_heading = SAFE)]
    pub allow_new_privs: bool,

    /// Clear every capability set of the program before execve ("drop_caps"): the default;
    /// see --cap-add.
    #[arg(long, help_heading = SAFE, conflicts_with = "cap_add")]
    pub drop_caps: bool,

    /// Keep capability CAP (`CAP_NET_BIND_SERVICE`, `cap_kill`, a number, or `ALL`; "caps"):
    /// it stays in every set, ambient included, so it survives execve for any uid. Repeatable.
    /// By default every one is dropped, so even uid 0 inside cannot remount a read-only bind
    /// writable, unmount a --mask, write a sysctl or inject terminal input (TIOCSTI). As root
    /// without a user namespace this needs --allow-host-root too.
    #[arg(long, value_name = "CAP", action = ArgAction::Append, help_heading = SAFE)]
    pub cap_add: Vec<String>,

    /// Do not keep capability CAP (as --cap-add; `ALL` keeps none): what --cap-add keeps less
    /// every --cap-drop, in any order (e.g. --cap-add ALL --cap-drop CAP_SYS_ADMIN).
    #[arg(long, value_name = "CAP", action = ArgAction::Append, help_heading = SAFE)]
    pub cap_drop: Vec<String>,

    /// Keep forkexec-run's session keyring. By default the program joins a new, empty one
    /// ("new_session_keyring"), so it cannot read the keys stored in the caller's.
    #[arg(long, help_heading = SAFE)]
    pub share_keyring: bool,

    /// As root with a user namespace: the host uid the program is mapped onto (default
    /// 65534, which owns nothing), and which it really runs as. 0 needs --allow-host-root.
    #[arg(long, value_name = "UID", help_heading = SAFE)]
    pub host_uid: Option<u32>,

    /// As root with a user namespace: the host gid the program is mapped onto (default
    /// 65534). 0 needs --allow-host-root.
    #[arg(long, value_name = "GID", help_heading = SAFE)]
    pub host_gid: Option<u32>,

    /// As root: let the program be host root. With a user namespace, map it onto host uid and
    /// gid 0 (it then owns every root-owned file it can see, e.g. through --ro-bind / /); without
    /// one, allow --cap-add (host capabilities; with ALL and uid 0 full host root: remounts,
    /// sysctls, open_by_handle_at, TIOCSTI).
    #[arg(long, help_heading = SAFE)]
    pub allow_host_root: bool,

    /// The program and everything it starts cannot create user namespaces (ENOSPC), so they
    /// cannot reach the kernel code only a user namespace's root may use ("disable_userns").
    /// Implies --unshare-user: the limit (user.max_user_namespaces = 1) is set in it, and
    /// the program runs in one nested user namespace below it that uses the limit up.
    #[arg(long, help_heading = SAFE, conflicts_with = "userns")]
    pub disable_userns: bool,

    /// Refuse to start the program if it could create a user namespace
    /// ("assert_userns_disabled"), e.g. inside a sandbox that should have disabled them.
    #[arg(long, help_heading = SAFE)]
    pub assert_userns_disabled: bool,

    /// Landlock: allow reading files and listing directories beneath PATH ("landlock.fs":
    /// read). Any --landlock-read/-exec/-write confines the filesystem: what no rule allows is
    /// refused (EACCES), for root too.
    #[arg(long, value_name = "PATH", action = ArgAction::Append, help_heading = LANDLOCK)]
    pub landlock_read: Vec<String>,

    /// Landlock: allow reading and executing beneath PATH (read, execute).
    #[arg(long, value_name = "PATH", action = ArgAction::Append, help_heading = LANDLOCK)]
    pub landlock_exec: Vec<String>,

    /// Landlock: allow reading and writing beneath PATH (read, write: every right but
    /// execute).
    #[arg(long, value_name = "PATH", action = ArgAction::Append, help_heading = LANDLOCK)]
    pub landlock_write: Vec<String>,

    /// Landlock: allow binding TCP PORT. Any --landlock-bind/-connect (or --landlock-no-tcp)
    /// confines TCP: what no rule allows is refused.
    #[arg(long, value_name = "PORT", action = ArgAction::Append, help_heading = LANDLOCK)]
    pub landlock_bind: Vec<u16>,

    /// Landlock: allow connecting to TCP PORT.
    #[arg(long, value_name = "PORT", action = ArgAction::Append, help_heading = LANDLOCK)]
    pub landlock_connect: Vec<u16>,

    /// Landlock: refuse every TCP bind and connect but the --landlock-bind/-connect ports.
    #[arg(long, help_heading = LANDLOCK)]
    pub landlock_no_tcp: bool,

    /// Landlock scope: `abstract_unix_socket` (no connecting to abstract unix sockets made
    /// outside the sandbox) or `signal` (no signals to processes outside it). Repeatable.
    #[arg(long, value_name = "SCOPE", action = ArgAction::Append, help_heading = LANDLOCK)]
    pub landlock_scope: Vec<String>,

    /// Refuse to start (landlock(2): operation not supported) when the kernel lacks a
    /// requested Landlock right or scope, instead of using what it has ("best effort").
    #[arg(long, help_heading = LANDLOCK)]
    pub landlock_exact: bool,

    /// Kill the sandbox (SIGKILL) when the process that ran forkexec-run dies
    /// ("die_with_parent"), as bubblewrap's flag does. Brings a pid namespace
    /// (--unshare-pid), so the program's own children die with it too.
    #[arg(long, help_heading = PROC)]
    pub die_with_parent: bool,

    /// Keep forkexec-run running as the program's parent (it forwards signals, waits and
    /// exits the way the program did). Without it, forkexec-run executes the helper in its
    /// own place when nothing needs it after the start: one process less, the same exit
    /// status, signals and error lines.
    #[arg(long, help_heading = PROC)]
    pub stay: bool,

    /// In the new pid namespace (implied), pid 1 is a minimal init that reaps zombies and
    /// forwards signals, and the program runs as pid 2 ("init").
    #[arg(long, help_heading = PROC)]
    pub init: bool,

    /// Run the program in a new session, without a controlling terminal ("setsid": true, the
    /// default; this flag overrides a spec's "setsid": false).
    #[arg(long, help_heading = PROC, conflicts_with = "no_setsid")]
    pub new_session: bool,

    /// Keep the caller's session ("setsid": false), e.g. for an interactive shell's job
    /// control. The program can then reach the terminal (TIOCSTI on older kernels).
    #[arg(long, help_heading = PROC)]
    pub no_setsid: bool,

    /// Join the user namespace FD is open on (e.g. `11</proc/PID/ns/user`) instead of creating
    /// one ("join_ns": {"user": FD}); the new namespaces are then its own.
    #[arg(long, value_name = "FD", help_heading = PROC)]
    pub userns: Option<i32>,

    /// Join the user namespace FD is open on after the mounts ("join_ns": {"user2": FD}).
    #[arg(long, value_name = "FD", help_heading = PROC)]
    pub userns2: Option<i32>,

    /// Run the program in the pid namespace FD is open on ("join_ns": {"pid": FD}); usually
    /// with --userns, the user namespace that owns it. Not with a new pid namespace.
    #[arg(long, value_name = "FD", help_heading = PROC)]
    pub pidns: Option<i32>,

    /// Write bubblewrap's --info-fd JSON to FD (an fd of forkexec-run, e.g. `42>info.json`)
    /// once the program is started: its pid and the ids of its new namespaces ("info_fd").
    #[arg(long, value_name = "FD", help_heading = PROC)]
    pub info_fd: Option<i32>,

    /// Write bubblewrap's --json-status-fd JSON lines to FD: the pid and namespace ids once
    /// the program is started, then `{ "exit-code": N }` when it ends ("json_status_fd"). The
    /// helper stays to see the end.
    #[arg(long, value_name = "FD", help_heading = PROC)]
    pub json_status_fd: Option<i32>,

    /// Take a read lock on PATH (absolute, inside the sandbox: resolved after the mounts) and
    /// hold it while the sandbox runs, as bubblewrap's --lock-file ("lock_files"; at most 8).
    /// The helper's init holds it: this brings --init's process, without a pid namespace
    /// unless one is asked for. Another process's write lock on PATH stops the start.
    #[arg(long, value_name = "PATH", help_heading = PROC)]
    pub lock_file: Vec<String>,

    /// Keep FD (an fd of forkexec-run) open while the sandbox runs and close it when it ends,
    /// as bubblewrap's --sync-fd ("sync_fd"): the helper's init holds it (brought as with
    /// --lock-file); the program does not get it.
    #[arg(long, value_name = "FD", help_heading = PROC)]
    pub sync_fd: Option<i32>,

    /// Before the program runs (after the mounts), wait until FD (an fd of forkexec-run) has a
    /// byte to read or is at its end, as bubblewrap's --block-fd ("block_fd").
    #[arg(long, value_name = "FD", help_heading = PROC)]
    pub block_fd: Option<i32>,

    /// Do not write the new user namespace's id maps: once it exists (its pid is on --info-fd),
    /// wait until FD has a byte to read or is at its end, so another process (newuidmap,
    /// newgidmap) writes them first, as bubblewrap's --userns-block-fd ("userns_block_fd").
    /// Needs --unshare-user; not with --uid/--gid.
    #[arg(long, value_name = "FD", help_heading = PROC)]
    pub userns_block_fd: Option<i32>,

    /// Place the program in this cgroup (v2) directory from its first instruction
    /// ("cgroup"). With --via: a directory of the host's cgroup tree (v1 or v2) that the
    /// server moves the run into before its program starts; not with a judged run's own
    /// cgroup (add --no-cgroup).
    #[arg(long, value_name = "DIR", help_heading = PROC)]
    pub cgroup: Option<String>,

    /// argv[0] of the program, when it should differ from COMMAND (COMMAND is then what is
    /// executed).
    #[arg(long, value_name = "VALUE", help_heading = PROC)]
    pub argv0: Option<String>,

    /// Limits on the whole sandbox and a result with a verdict.
    #[command(flatten)]
    pub judge: crate::judge::JudgeArgs,

    /// The program and its arguments ("args"); required unless --spec gives "args".
    #[arg(value_name = "COMMAND", trailing_var_arg = true)]
    pub command: Vec<String>,
}

/// One `--rlimit NAME=SOFT[:HARD]`; `None` sides take the caller's current value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RlimitArg {
    pub resource: Resource,
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

fn parse_limit(s: &str) -> Result<Option<u64>, String> {
    match s {
        "" => Ok(None),
        "unlimited" | "infinity" => Ok(Some(RLIM_INFINITY)),
        n => n.parse::<u64>().map(Some).map_err(|_| {
            format!("`{n}` is not a limit: expected a number, \"unlimited\" or \"infinity\"")
        }),
    }
}

/// `NAME=VALUE` or `NAME=SOFT:HARD`.
pub fn parse_rlimit(s: &str) -> Result<RlimitArg, String> {
    let (name, value) = s
        .split_once('=')
        .ok_or_else(|| "expected NAME=SOFT[:HARD], e.g. cpu=1 or nofile=64:128".to_string())?;
    let resource = Resource::from_str(name).map_err(|e| e.to_string())?;
    let (soft, hard) = match value.split_once(':') {
        None => {
            let v = parse_limit(value)?;
            if v.is_none() {
                return Err(format!("no value for {name}"));
            }
            (v, v)
        }
        Some((soft, hard)) => (parse_limit(soft)?, parse_limit(hard)?),
    };
    Ok(RlimitArg {
        resource,
        soft,
        hard,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rlimit_forms() {
        let r = parse_rlimit("cpu=1").unwrap();
        assert_eq!(
            (r.resource, r.soft, r.hard),
            (Resource::Cpu, Some(1), Some(1))
        );
        let r = parse_rlimit("nofile=64:128").unwrap();
        assert_eq!((r.soft, r.hard), (Some(64), Some(128)));
        let r = parse_rlimit("as=unlimited").unwrap();
        assert_eq!((r.soft, r.hard), (Some(RLIM_INFINITY), Some(RLIM_INFINITY)));
        let r = parse_rlimit("stack=:infinity").unwrap();
        assert_eq!((r.soft, r.hard), (None, Some(RLIM_INFINITY)));
        let r = parse_rlimit("core=0:").unwrap();
        assert_eq!((r.soft, r.hard), (Some(0), None));
        assert!(parse_rlimit("cpu").is_err());
        assert!(parse_rlimit("cpu=").is_err());
        assert!(parse_rlimit("cpu=x").is_err());
        let e = parse_rlimit("cpus=1").unwrap_err();
        assert!(e.contains("unknown rlimit resource `cpus`"), "{e}");
    }
}

/// The mount flags: declared by the rows of [`crate::assemble::FS_FLAGS`] (each flag's name,
/// values, help line and what it makes), and read back from the matches by
/// [`crate::assemble`] in command-line order, so a flag is one row.
#[derive(Debug, Default, Clone, Copy)]
pub struct FsFlags;

impl clap::FromArgMatches for FsFlags {
    fn from_arg_matches(_: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(FsFlags)
    }
    fn update_from_arg_matches(&mut self, _: &ArgMatches) -> Result<(), clap::Error> {
        Ok(())
    }
}

impl clap::Args for FsFlags {
    fn augment_args(cmd: Command) -> Command {
        cmd.args(crate::assemble::FS_FLAGS.iter().map(|f| {
            Arg::new(f.long)
                .long(f.long)
                .num_args(f.values.len())
                .value_names(f.values)
                .action(ArgAction::Append)
                .help(f.help)
                .help_heading(FS)
        }))
    }
    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}
