//! The owned spec and its JSON form.
//!
//! [`Spec`] holds go-sandbox's `Runner` fields under their snake_case names (see docs/design.md and docs/json.md,
//! "JSON form"), plus forkexec's own `exec_path`, `setsid` and `status_fd`. Every key is
//! optional and unknown keys are errors; serializing skips defaults so a spec stays as short
//! as what a person would write by hand.
//!
//! Strings are UTF-8 (`String`), like the JSON they come from. Empty `work_dir`, `pivot_root`,
//! `host_name` and `domain_name` mean "not set", as in go-sandbox.

use std::fmt;
use std::os::fd::RawFd;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::names::{MountFlag, MountKind, Namespace, Resource};
use forkexec_spec::tables::{SourceRule, MOUNT_OP_KEYS};

/// `RLIM_INFINITY`: no limit. Written `"infinity"` in JSON, where numbers this large lose
/// precision in many parsers.
pub const RLIM_INFINITY: u64 = u64::MAX;

/// A whole sandbox spec: what the helper does between being spawned and `execve`.
///
/// `Default` is not derived because `setsid` defaults to `true` (a new session, as in
/// go-sandbox); everything else defaults to empty / `false` / `None`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Spec {
    /// The target's argv; `args[0]` is also the file executed unless `exec_path` or
    /// `exec_file` says otherwise (no `PATH` search).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// The target's environment, `KEY=value` strings. Empty means an empty environment.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// The file to execute when it is not `args[0]` (forkexec's addition).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec_path: Option<String>,
    /// Execute this fd of the runtime (`execveat(fd, "", AT_EMPTY_PATH)`), go-sandbox's
    /// `ExecFile`. It is inherited by the helper with the same number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec_file: Option<i32>,
    /// Resource limits, applied in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rlimits: Vec<Rlimit>,
    /// The target's fd table: target fd `i` = the runtime's fd `files[i]`, or closed for -1.
    /// Every fd not listed is closed. Empty keeps fds 0, 1 and 2 as they are (`[-1, -1, -1]`
    /// closes them too).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<i32>,
    /// `chdir` here before exec (after `pivot_root`, so relative to the new root).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub work_dir: String,
    /// Classic BPF seccomp programs, loaded in order (stacked) as the last step before
    /// `execve`; every program but the last must allow `prctl`. Implies `no_new_privs`. JSON
    /// spells one program as its list of instructions, several as a list of programs.
    #[serde(skip_serializing_if = "Vec::is_empty", with = "seccomp_programs")]
    pub seccomp: Vec<Vec<SockFilter>>,
    /// Namespaces to unshare.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clone_flags: Vec<Namespace>,
    /// Mounts, in order, in the new mount namespace (needs `newns`): raw go-sandbox mounts
    /// ([`Mount`]) and mount operations ([`MountOp`]), in one list (one index space).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<MountEntry>,
    /// Absolute path of the new root: a tmpfs is mounted there, `mounts` are made relative
    /// to it, then `pivot_root` and a read-only remount (go-sandbox's `PivotRoot`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pivot_root: String,
    /// Leave the new root writable after `pivot_root` instead of remounting it read-only
    /// (needs `pivot_root`).
    #[serde(skip_serializing_if = "is_false")]
    pub writable_root: bool,
    /// Host name in the new UTS namespace (needs `newuts`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host_name: String,
    /// NIS domain name in the new UTS namespace (needs `newuts`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub domain_name: String,
    /// `/proc/self/uid_map` entries for a new user namespace (needs `newuser`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub uid_mappings: Vec<IdMap>,
    /// `/proc/self/gid_map` entries for a new user namespace (needs `newuser`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gid_mappings: Vec<IdMap>,
    /// User and groups to become (setgroups, setgid, setuid, in that order).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<Credential>,
    /// Stop before exec, report the pid and wait for the runtime's go-ahead (go-sandbox's
    /// `SyncFunc`). [`crate::Runner::sync_func`] sets it.
    #[serde(skip_serializing_if = "is_false")]
    pub sync: bool,
    /// `PTRACE_TRACEME` before exec.
    #[serde(skip_serializing_if = "is_false")]
    pub ptrace: bool,
    /// `PR_SET_NO_NEW_PRIVS`.
    #[serde(skip_serializing_if = "is_false")]
    pub no_new_privs: bool,
    /// `SIGSTOP` itself right before loading seccomp, for a tracer.
    #[serde(skip_serializing_if = "is_false")]
    pub stop_before_seccomp: bool,
    /// Leave `setgroups` allowed in the new user namespace.
    #[serde(skip_serializing_if = "is_false")]
    pub gid_mappings_enable_setgroups: bool,
    /// Clear every capability set before exec.
    #[serde(skip_serializing_if = "is_false")]
    pub drop_caps: bool,
    /// Unshare the cgroup namespace after the sync point (the sync callback may move the
    /// target into its cgroup first).
    #[serde(skip_serializing_if = "is_false")]
    pub unshare_cgroup_after_sync: bool,
    /// Make fd 0 the controlling terminal; needs `setsid`.
    #[serde(skip_serializing_if = "is_false")]
    pub ctty: bool,
    /// Start a new session (default `true`, as go-sandbox always does). `false` keeps the
    /// runtime's session, e.g. so that a terminal's job control still reaches the target.
    #[serde(skip_serializing_if = "is_true")]
    pub setsid: bool,
    /// Write status records to this fd of the runtime instead of the spec socket. Rarely
    /// needed; [`crate::Runner::start`] then sees no records and the caller owns that fd's
    /// protocol (sync answers included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_fd: Option<i32>,
    /// Clone shape: `CLONE_PARENT`, so the target is this process's own child (the helper
    /// reports its pid and exits). Needed for ptrace together with a new pid namespace.
    #[serde(skip_serializing_if = "is_false")]
    pub detach: bool,
    /// With `newpid`: pid 1 of the new namespace is a minimal init (reaps zombies, forwards
    /// signals) and the target runs as pid 2.
    #[serde(skip_serializing_if = "is_false")]
    pub init: bool,
    /// Kill the helper and the target (SIGKILL) when the thread that started them exits.
    #[serde(skip_serializing_if = "is_false")]
    pub die_with_parent: bool,
    /// A new anonymous session keyring for the target (`KEYCTL_JOIN_SESSION_KEYRING`), so it
    /// cannot read the keys of the runtime's session keyring.
    #[serde(skip_serializing_if = "is_false")]
    pub new_session_keyring: bool,
    /// The missing parent directories of mount operation targets take bubblewrap's modes
    /// (0755 less the group's or the others' bits where the operation's mode gives them
    /// none; 0700 for kinds without a mode) instead of 0755.
    #[serde(skip_serializing_if = "is_false")]
    pub parents_from_mode: bool,
    /// Clone shapes: the helper sends no pid and no exec record, only an error or the exit
    /// record, for a runtime that reads the stream once the helper has ended (detach keeps
    /// its pid record). [`crate::Runner::run`] sets it when nothing needs those records.
    #[serde(skip_serializing_if = "is_false")]
    pub only_end_records: bool,
    /// With `init`: pid 1 drops every capability, takes the seccomp filter and becomes
    /// dumpable, as bubblewrap's init does (the caller's user can open its `/proc/PID/ns/*`).
    #[serde(skip_serializing_if = "is_false")]
    pub dumpable_init: bool,
    /// With `init`: the helper ends as soon as init reports the program's end, without
    /// waiting for init's own exit (the namespaces' teardown), as bubblewrap does.
    #[serde(skip_serializing_if = "is_false")]
    pub no_wait_init: bool,
    /// Every failure exits 1 (not 125/126/127) and is said in bubblewrap's words, as bubblewrap
    /// does (forkexec-run's bubblewrap mode): the helper's stderr line and
    /// [`crate::ChildError::describe`] alike.
    #[serde(skip_serializing_if = "is_false")]
    pub bwrap_errors: bool,
    /// With `newnet`: bring `lo` up, as bubblewrap's `--unshare-net` does (127.0.0.1 and ::1
    /// work inside the sandbox). Off by default: the new network namespace's `lo` stays down.
    #[serde(skip_serializing_if = "is_false")]
    pub loopback: bool,
    /// In the new user namespace (`newuser`, needed): the program and everything it starts
    /// cannot create user namespaces (ENOSPC). `user.max_user_namespaces` is set to 1 in it
    /// and the program runs in one nested user namespace below it, its ids mapped to
    /// themselves; checked as [`Spec::assert_userns_disabled`] (bubblewrap's
    /// `--disable-userns`).
    #[serde(skip_serializing_if = "is_false")]
    pub disable_userns: bool,
    /// Fail the start (location `assert_userns_disabled`) if the program could still create
    /// a user namespace (bubblewrap's `--assert-userns-disabled`).
    #[serde(skip_serializing_if = "is_false")]
    pub assert_userns_disabled: bool,
    /// Landlock confinement ([`crate::Landlock`]): rights beneath paths, TCP ports, scopes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub landlock: Option<crate::Landlock>,
    /// A cgroup (v2) directory to place the target in from its first instruction.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cgroup: String,
    /// The same, as an fd of this process open on the directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup_fd: Option<i32>,
    /// An fd of this process to write bubblewrap's `--info-fd` JSON to once the target is
    /// started (its pid and the ids of its new namespaces; docs/spec.md, INFO_FD).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info_fd: Option<i32>,
    /// An fd of this process for bubblewrap's `--json-status-fd` JSON lines: the start, then
    /// the exit code of a target that executed. Makes the helper supervise the target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json_status_fd: Option<i32>,
    /// Existing namespaces to join ([`JoinNs`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join_ns: Option<JoinNs>,
    /// Absolute paths (inside the sandbox) init takes a read lock on and holds while it lives
    /// (bubblewrap's `--lock-file`; at most 8). Needs `init`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lock_files: Vec<String>,
    /// An fd of this process init keeps open while it lives, so its other end sees EOF when
    /// the sandbox ends (bubblewrap's `--sync-fd`). Needs `init`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_fd: Option<i32>,
    /// The capabilities the target keeps ([`Caps`]) instead of `drop_caps`'s none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caps: Option<Caps>,
    /// An fd of this process the target reads one byte from (or EOF) after its mounts, before
    /// it runs (bubblewrap's `--block-fd`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_fd: Option<i32>,
    /// An fd of this process the helper reads one byte from (or EOF) once the target's new
    /// user namespace exists and its pid is reported, before the target goes on; another
    /// process writes its id maps meanwhile (bubblewrap's `--userns-block-fd`). Needs
    /// `newuser` and no `uid_mappings`/`gid_mappings`; the helper supervises the target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userns_block_fd: Option<i32>,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            args: Vec::new(),
            env: Vec::new(),
            exec_path: None,
            exec_file: None,
            rlimits: Vec::new(),
            files: Vec::new(),
            work_dir: String::new(),
            seccomp: Vec::new(),
            clone_flags: Vec::new(),
            mounts: Vec::new(),
            pivot_root: String::new(),
            writable_root: false,
            host_name: String::new(),
            domain_name: String::new(),
            uid_mappings: Vec::new(),
            gid_mappings: Vec::new(),
            credential: None,
            sync: false,
            ptrace: false,
            no_new_privs: false,
            stop_before_seccomp: false,
            gid_mappings_enable_setgroups: false,
            drop_caps: false,
            unshare_cgroup_after_sync: false,
            ctty: false,
            setsid: true,
            status_fd: None,
            detach: false,
            init: false,
            die_with_parent: false,
            new_session_keyring: false,
            parents_from_mode: false,
            only_end_records: false,
            dumpable_init: false,
            no_wait_init: false,
            bwrap_errors: false,
            loopback: false,
            disable_userns: false,
            assert_userns_disabled: false,
            landlock: None,
            cgroup: String::new(),
            cgroup_fd: None,
            info_fd: None,
            json_status_fd: None,
            join_ns: None,
            lock_files: Vec::new(),
            sync_fd: None,
            caps: None,
            block_fd: None,
            userns_block_fd: None,
        }
    }
}

impl Spec {
    /// A spec that runs `args` with everything else at its default.
    pub fn new<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Spec {
            args: args.into_iter().map(Into::into).collect(),
            ..Spec::default()
        }
    }

    /// Whether the helper stops itself (`SIGSTOP`) before exec to wait for a tracer:
    /// `stop_before_seccomp`, which `ptrace` with a `seccomp` filter implies (as in
    /// go-sandbox, so that the tracer sees the exec even if the filter traps it).
    pub fn stops_before_exec(&self) -> bool {
        forkexec_spec::layout::opt::stops_before_exec(self.option_bits(), !self.seccomp.is_empty())
    }

    /// Parses the JSON form. Errors name the key path, e.g.
    /// ``clone_flags[0]: unknown clone flag `newfoo`, expected one of: newns, … at line 1 column 24``.
    pub fn from_json(json: &str) -> Result<Spec, JsonError> {
        let mut de = serde_json::Deserializer::from_str(json);
        let spec = serde_path_to_error::deserialize(&mut de).map_err(|e| JsonError {
            path: e.path().to_string(),
            inner: e.into_inner(),
        })?;
        de.end().map_err(|inner| JsonError {
            path: String::new(),
            inner,
        })?;
        Ok(spec)
    }

    /// The compact JSON form, defaults left out.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a Spec always serializes")
    }

    /// The JSON form, indented for people.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("a Spec always serializes")
    }
}

/// A JSON spec that could not be read: the key path where it went wrong and serde_json's
/// message (which carries the line and column).
#[derive(Debug)]
pub struct JsonError {
    path: String,
    inner: serde_json::Error,
}

impl JsonError {
    /// The key path, e.g. `mounts[2].flags[0]`; empty or `.` at the top level.
    pub fn path(&self) -> &str {
        &self.path
    }
    /// 1-based line of the error.
    pub fn line(&self) -> usize {
        self.inner.line()
    }
    /// 1-based column of the error.
    pub fn column(&self) -> usize {
        self.inner.column()
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.path.as_str() {
            "" | "." => write!(f, "{}", self.inner),
            path => write!(f, "{path}: {}", self.inner),
        }
    }
}

impl std::error::Error for JsonError {}

/// One resource limit (go-sandbox's `rlimit.RLimit`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Rlimit {
    /// By name (`"nofile"`) or number.
    pub resource: Resource,
    /// Soft limit; [`RLIM_INFINITY`] (`"infinity"` / `"unlimited"` in JSON) for none.
    #[serde(with = "limit_value")]
    pub cur: u64,
    /// Hard limit; must not be below `cur`.
    #[serde(with = "limit_value")]
    pub max: u64,
}

impl Rlimit {
    /// `resource` limited to `cur` (soft) and `max` (hard).
    pub fn new(resource: Resource, cur: u64, max: u64) -> Self {
        Rlimit { resource, cur, max }
    }
}

/// `seccomp` in JSON: one program (a list of instructions) or a list of programs.
mod seccomp_programs {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::SockFilter;

    pub fn serialize<S: Serializer>(v: &[Vec<SockFilter>], s: S) -> Result<S::Ok, S::Error> {
        match v {
            [one] => one.serialize(s),
            many => many.serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<SockFilter>>, D::Error> {
        let items = Vec::<serde_json::Value>::deserialize(d)?;
        let programs = items.iter().all(serde_json::Value::is_array);
        if programs && !items.is_empty() {
            return items
                .into_iter()
                .enumerate()
                .map(|(i, p)| {
                    Vec::<SockFilter>::deserialize(p)
                        .map_err(|e| D::Error::custom(format!("program {i}: {e}")))
                })
                .collect();
        }
        // One program; `[]` is one empty program, which the helper refuses.
        let program = items
            .into_iter()
            .enumerate()
            .map(|(i, insn)| {
                SockFilter::deserialize(insn)
                    .map_err(|e| D::Error::custom(format!("instruction {i}: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(vec![program])
    }
}

/// Limit values: a number, or `"infinity"` / `"unlimited"` for [`RLIM_INFINITY`].
mod limit_value {
    use std::fmt;

    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    use super::RLIM_INFINITY;

    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        if *v == RLIM_INFINITY {
            s.serialize_str("infinity")
        } else {
            s.serialize_u64(*v)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        struct Limit;
        impl Visitor<'_> for Limit {
            type Value = u64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative integer, \"infinity\" or \"unlimited\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
                Ok(v)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
                match v {
                    "infinity" | "unlimited" => Ok(RLIM_INFINITY),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
        }
        d.deserialize_any(Limit)
    }
}

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SockFilter {
    /// The instruction (`BPF_LD | BPF_W | BPF_ABS`, ...).
    pub code: u16,
    /// Jump offset when the condition holds.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub jt: u8,
    /// Jump offset when it does not.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub jf: u8,
    /// The constant (an offset, a value, a return value).
    pub k: u32,
}

impl SockFilter {
    /// `BPF_STMT(code, k)`.
    pub const fn stmt(code: u16, k: u32) -> Self {
        SockFilter {
            code,
            jt: 0,
            jf: 0,
            k,
        }
    }
    /// `BPF_JUMP(code, k, jt, jf)`.
    pub const fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Self {
        SockFilter { code, jt, jf, k }
    }
}

/// One mount (go-sandbox's `mount.SyscallParams`). Empty strings are passed to `mount(2)`
/// as NULL. A relative `target` is relative to `pivot_root` when one is given.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Mount {
    /// What to mount: a path for a bind, a name (`tmpfs`, `proc`) otherwise.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// Where.
    pub target: String,
    /// The file system type (`tmpfs`, `proc`); empty for a bind or a remount.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fstype: String,
    /// `MS_*` flags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<MountFlag>,
    /// File system options (`size=64m,mode=755`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub data: String,
    /// Create the target (and its missing parents) first; default `true`.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub mkdir: bool,
    /// The target is a file, created with `mknod` rather than `mkdir` (for binding files).
    /// Also accepted as `make_nod`, go-sandbox's name (`SyscallParams.MakeNod`).
    #[serde(default, alias = "make_nod", skip_serializing_if = "is_false")]
    pub file: bool,
}

/// go-sandbox's flags for bind mounts.
const BIND: [MountFlag; 4] = [
    MountFlag::Bind,
    MountFlag::NoSuid,
    MountFlag::Private,
    MountFlag::Rec,
];

impl Mount {
    /// A mount with every field given; `mkdir` on, `file` off.
    pub fn new(
        source: impl Into<String>,
        target: impl Into<String>,
        fstype: impl Into<String>,
        flags: impl IntoIterator<Item = MountFlag>,
        data: impl Into<String>,
    ) -> Self {
        Mount {
            source: source.into(),
            target: target.into(),
            fstype: fstype.into(),
            flags: flags.into_iter().collect(),
            data: data.into(),
            mkdir: true,
            file: false,
        }
    }

    /// A bind mount as go-sandbox's `WithBind` makes it (`bind`, `nosuid`, `private`, `rec`,
    /// plus `rdonly` when asked; the helper remounts read-only binds). `file` is set when
    /// `source` exists and is not a directory, as go-sandbox's builder does, so that the
    /// target is created as a file.
    pub fn bind(source: impl Into<String>, target: impl Into<String>, read_only: bool) -> Self {
        let source = source.into();
        let file = std::fs::metadata(&source).is_ok_and(|m| !m.is_dir());
        let mut m = Mount::new(source, target, "", BIND, "");
        if read_only {
            m.flags.push(MountFlag::ReadOnly);
        }
        m.file = file;
        m
    }

    /// A tmpfs as go-sandbox's `WithTmpfs` makes it (`nosuid`, `noatime`, `nodev`).
    pub fn tmpfs(target: impl Into<String>, data: impl Into<String>) -> Self {
        use MountFlag::*;
        Mount::new("tmpfs", target, "tmpfs", [NoSuid, NoAtime, NoDev], data)
    }

    /// A read-only proc as go-sandbox's `WithProc` makes it. No atime flag: in a user
    /// namespace the kernel only allows a new proc whose atime mode matches the (locked) one
    /// of the proc already mounted (usually `relatime`), so `noatime` would fail with EPERM.
    pub fn proc(target: impl Into<String>) -> Self {
        use MountFlag::*;
        let flags = [NoSuid, NoDev, NoExec, ReadOnly];
        Mount::new("proc", target, "proc", flags, "")
    }

    /// Adds a flag.
    pub fn flag(mut self, flag: MountFlag) -> Self {
        self.flags.push(flag);
        self
    }

    /// Whether to create the target and its parents.
    pub fn mkdir(mut self, mkdir: bool) -> Self {
        self.mkdir = mkdir;
        self
    }

    /// Whether the target is a file.
    pub fn file(mut self, file: bool) -> Self {
        self.file = file;
        self
    }
}

/// One entry of [`Spec::mounts`]: a raw go-sandbox mount or a mount operation. Both share one
/// list and one index space (an error record's mount index is the position in this list).
///
/// In JSON an entry with a `"type"` key is a [`MountOp`], one without is a [`Mount`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MountEntry {
    /// A raw `mount(2)` call as go-sandbox describes it (MOUNT record).
    Raw(Mount),
    /// A mount operation (MOUNT_OP record).
    Op(MountOp),
}

impl From<Mount> for MountEntry {
    fn from(m: Mount) -> Self {
        MountEntry::Raw(m)
    }
}

impl From<MountOp> for MountEntry {
    fn from(op: MountOp) -> Self {
        MountEntry::Op(op)
    }
}

impl MountEntry {
    /// Where the entry mounts (or what it changes).
    pub fn target(&self) -> &str {
        match self {
            MountEntry::Raw(m) => &m.target,
            MountEntry::Op(op) => &op.target,
        }
    }
    /// The raw mount, if this is one.
    pub fn as_raw(&self) -> Option<&Mount> {
        match self {
            MountEntry::Raw(m) => Some(m),
            MountEntry::Op(_) => None,
        }
    }
    /// The mount operation, if this is one.
    pub fn as_op(&self) -> Option<&MountOp> {
        match self {
            MountEntry::Op(op) => Some(op),
            MountEntry::Raw(_) => None,
        }
    }
}

/// A mount operation: one of the common mounts ([`MountKind`]) with the safe flags chosen by
/// the helper, so no `MS_*` flag is crafted by hand. The target is an absolute path inside the
/// new root (`pivot_root`, else `/`), resolved there without following a symlink out of it;
/// missing parents (and a missing target) are created.
///
/// Build one with a constructor and the chainable modifiers:
///
/// ```
/// use forkexec_client::MountOp;
///
/// let usr = MountOp::ro_bind("/usr", "/usr");
/// let lib64 = MountOp::ro_bind("/lib64", "/lib64").optional();
/// let tmp = MountOp::tmpfs("/tmp").size(64 << 20).mode(0o1777);
/// let hostname = MountOp::file("/etc/hostname", "box\n");
/// # let _ = (usr, lib64, tmp, hostname);
/// ```
///
/// The fields are public, as in [`Mount`]; a field the kind does not take (a `mode` on a bind,
/// say) is refused by [`Spec::encode`] ([`MountOp::check`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountOp {
    /// The operation (its JSON `"type"`).
    pub kind: MountKind,
    /// bind: the host path to bind; symlink: the link's text. Empty for none.
    pub source: String,
    /// bind: an fd of the runtime (open on a file or directory) to bind instead of a path.
    pub source_fd: Option<RawFd>,
    /// Absolute path inside the new root.
    pub target: String,
    /// tmpfs, dir, file: the exact mode (permission bits, setuid, setgid, sticky); 0 for the
    /// kinds that take none. The constructors set [`MountKind::default_mode`].
    pub mode: u32,
    /// tmpfs: its size in bytes (0: the kernel's default, half of RAM).
    pub size: u64,
    /// file: its content.
    pub content: Vec<u8>,
    /// file: an fd of the runtime whose content (read to its end) becomes the file's.
    pub content_fd: Option<RawFd>,
    /// overlay, tmp_overlay, ro_overlay: the lower (read-only) directories, host paths,
    /// topmost first (overlayfs's `lowerdir` order; bubblewrap's `--overlay-src` lists them
    /// bottom first).
    pub lower: Vec<String>,
    /// overlay: the host directory that takes the writes.
    pub upper: String,
    /// overlay: the kernel's work directory, empty, on the same filesystem as `upper`.
    pub work: String,
    /// bind, tmpfs: read-only (for a bind, every mount below it too).
    pub readonly: bool,
    /// bind: keep device nodes usable (a "dev-bind"; binds are `nodev` otherwise).
    pub dev: bool,
    /// bind: skip the operation when the source does not exist; mask: when the target does not.
    pub optional: bool,
    /// proc: bubblewrap's covers: `sys`, `sysrq-trigger`, `irq` and `bus`, where the helper may
    /// write to them (host root), bound read-only over themselves; the proc stays writable.
    pub cover: bool,
}

impl MountOp {
    /// An operation of `kind` at `target`, with the kind's default mode and nothing else.
    pub fn new(kind: MountKind, target: impl Into<String>) -> Self {
        MountOp {
            kind,
            source: String::new(),
            source_fd: None,
            target: target.into(),
            mode: kind.default_mode(),
            size: 0,
            content: Vec::new(),
            content_fd: None,
            lower: Vec::new(),
            upper: String::new(),
            work: String::new(),
            readonly: false,
            dev: false,
            optional: false,
            cover: false,
        }
    }

    /// Recursive bind of the host path `source` at `target`: writable, `nosuid`, `nodev`.
    pub fn bind(source: impl Into<String>, target: impl Into<String>) -> Self {
        MountOp {
            source: source.into(),
            ..MountOp::new(MountKind::Bind, target)
        }
    }

    /// [`MountOp::bind`], read-only, every mount below it too.
    pub fn ro_bind(source: impl Into<String>, target: impl Into<String>) -> Self {
        MountOp::bind(source, target).read_only()
    }

    /// [`MountOp::bind`] with device nodes usable (no `nodev`), as bubblewrap's `--dev-bind`.
    pub fn dev_bind(source: impl Into<String>, target: impl Into<String>) -> Self {
        MountOp {
            dev: true,
            ..MountOp::bind(source, target)
        }
    }

    /// Recursive bind of what `fd` (an fd of this process) is open on, at `target`.
    pub fn bind_fd(fd: RawFd, target: impl Into<String>) -> Self {
        MountOp {
            source_fd: Some(fd),
            ..MountOp::new(MountKind::Bind, target)
        }
    }

    /// A new tmpfs: mode 0755, the kernel's default size, `nosuid`, `nodev`.
    pub fn tmpfs(target: impl Into<String>) -> Self {
        MountOp::new(MountKind::Tmpfs, target)
    }

    /// A new proc (of the target's pid namespace): `nosuid`, `nodev`, `noexec`.
    pub fn proc(target: impl Into<String>) -> Self {
        MountOp::new(MountKind::Proc, target)
    }

    /// A minimal `/dev`: null, zero, full, random, urandom and tty from the host, a new
    /// devpts at `pts` with `ptmx`, `shm` (a tmpfs, 1777), and `fd`, `stdin`, `stdout`,
    /// `stderr` links to `/proc/self/fd`.
    pub fn dev(target: impl Into<String>) -> Self {
        MountOp::new(MountKind::Dev, target)
    }

    /// A new mqueue file system (of the target's ipc namespace).
    pub fn mqueue(target: impl Into<String>) -> Self {
        MountOp::new(MountKind::Mqueue, target)
    }

    /// A directory, mode 0755.
    pub fn dir(target: impl Into<String>) -> Self {
        MountOp::new(MountKind::Dir, target)
    }

    /// A symlink at `target` whose text is `link` (e.g. `symlink("usr/bin", "/bin")`).
    pub fn symlink(link: impl Into<String>, target: impl Into<String>) -> Self {
        MountOp {
            source: link.into(),
            ..MountOp::new(MountKind::Symlink, target)
        }
    }

    /// A file holding `content`, mode 0644.
    pub fn file(target: impl Into<String>, content: impl Into<Vec<u8>>) -> Self {
        MountOp {
            content: content.into(),
            ..MountOp::new(MountKind::File, target)
        }
    }

    /// A file holding what `fd` (an fd of this process) holds, read to its end; mode 0644.
    pub fn file_from_fd(fd: RawFd, target: impl Into<String>) -> Self {
        MountOp {
            content_fd: Some(fd),
            ..MountOp::new(MountKind::File, target)
        }
    }

    /// A file holding `content`, mode 0600 (as bubblewrap's `--bind-data`; see
    /// [`MountOp::mode`]), made on a private tmpfs and bind-mounted on `target`: unlike
    /// [`MountOp::file`], `target` may be an existing file or on a read-only filesystem.
    /// [`MountOp::read_only`] makes the bind read-only (`--ro-bind-data`).
    pub fn bind_data(target: impl Into<String>, content: impl Into<Vec<u8>>) -> Self {
        MountOp {
            content: content.into(),
            ..MountOp::new(MountKind::BindData, target)
        }
    }

    /// [`MountOp::bind_data`] holding what `fd` (an fd of this process) holds, read to its end.
    pub fn bind_data_from_fd(fd: RawFd, target: impl Into<String>) -> Self {
        MountOp {
            content_fd: Some(fd),
            ..MountOp::new(MountKind::BindData, target)
        }
    }

    /// An overlayfs at `target` of the host directories `lower` (topmost first) under
    /// `upper`, which takes the writes; `work` is an empty directory on `upper`'s filesystem
    /// for the kernel. `nosuid`, `nodev`.
    pub fn overlay<S: Into<String>>(
        lower: impl IntoIterator<Item = S>,
        upper: impl Into<String>,
        work: impl Into<String>,
        target: impl Into<String>,
    ) -> Self {
        MountOp {
            lower: lower.into_iter().map(Into::into).collect(),
            upper: upper.into(),
            work: work.into(),
            ..MountOp::new(MountKind::Overlay, target)
        }
    }

    /// An overlayfs at `target` of the host directories `lower` (topmost first) whose writes
    /// go to a new private tmpfs, gone when the sandbox ends. `nosuid`, `nodev`.
    pub fn tmp_overlay<S: Into<String>>(
        lower: impl IntoIterator<Item = S>,
        target: impl Into<String>,
    ) -> Self {
        MountOp {
            lower: lower.into_iter().map(Into::into).collect(),
            ..MountOp::new(MountKind::TmpOverlay, target)
        }
    }

    /// A read-only overlayfs at `target` of the host directories `lower` (topmost first; at
    /// least two). `nosuid`, `nodev`.
    pub fn ro_overlay<S: Into<String>>(
        lower: impl IntoIterator<Item = S>,
        target: impl Into<String>,
    ) -> Self {
        MountOp {
            lower: lower.into_iter().map(Into::into).collect(),
            ..MountOp::new(MountKind::RoOverlay, target)
        }
    }

    /// The record's content on the wire: a file's bytes, or an overlay's layers (upper and
    /// work when set, then the lower directories), each NUL-terminated.
    pub fn wire_content(&self) -> std::borrow::Cow<'_, [u8]> {
        if self.kind.info().lower == 0 {
            return std::borrow::Cow::Borrowed(&self.content);
        }
        let mut bytes = Vec::new();
        let upper = [&self.upper, &self.work];
        let layers = upper.into_iter().filter(|s| !s.is_empty());
        for layer in layers.chain(&self.lower) {
            bytes.extend_from_slice(layer.as_bytes());
            bytes.push(0);
        }
        std::borrow::Cow::Owned(bytes)
    }

    /// Make the mount at `target`, and every mount below it, read-only.
    pub fn remount_ro(target: impl Into<String>) -> Self {
        MountOp::new(MountKind::RemountRo, target)
    }

    /// Set the mode of `target`, which must exist, to exactly `mode` (bubblewrap's `--chmod`).
    pub fn chmod(target: impl Into<String>, mode: u32) -> Self {
        MountOp::new(MountKind::Chmod, target).mode(mode)
    }

    /// Hide `target`: an empty read-only directory (over a directory) or file (over anything
    /// else) is mounted on it.
    pub fn mask(target: impl Into<String>) -> Self {
        MountOp::new(MountKind::Mask, target)
    }

    /// Read-only (bind, tmpfs).
    pub fn read_only(mut self) -> Self {
        self.readonly = true;
        self
    }

    /// Skipped when the source (bind) or the target (mask) does not exist.
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// proc: bubblewrap's read-only covers over `sys`, `sysrq-trigger`, `irq` and `bus` where
    /// the helper may write to them, instead of a read-only proc.
    pub fn cover(mut self) -> Self {
        self.cover = true;
        self
    }

    /// The exact mode (tmpfs, dir, file), e.g. `0o1777`.
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }

    /// The size in bytes (tmpfs).
    pub fn size(mut self, bytes: u64) -> Self {
        self.size = bytes;
        self
    }

    /// The MOUNT_OP flag bits ([`forkexec_spec::layout::mount_op`]).
    pub fn flag_bits(&self) -> u16 {
        use forkexec_spec::layout::mount_op as f;
        [
            (self.optional, f::OPTIONAL),
            (self.readonly, f::READONLY),
            (self.dev, f::DEV),
            (self.cover, f::COVER),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .fold(0, |acc, (_, bit)| acc | bit)
    }

    /// The operation's fd (`source_fd` or `content_fd`), if it has one.
    pub fn fd(&self) -> Option<RawFd> {
        self.source_fd.or(self.content_fd)
    }

    /// Whether the fields fit the kind: every field is one the kind takes, a bind has exactly
    /// one of `source` and `source_fd`, a symlink has its text, a file at most one of
    /// `content` and `content_fd`, fds are not negative, `mode` is at most 0o7777. The message
    /// says what is wrong. (The target is checked by the helper's decoder: it must be an
    /// absolute path.)
    pub fn check(&self) -> Result<(), String> {
        let kind = self.kind;
        let takes = |key: &str| kind_takes(kind, key);
        let not_for = |key: &str| -> Result<(), String> {
            Err(format!(
                "`{key}` does not apply to a {kind} mount operation ({})",
                takes_list(kind)
            ))
        };
        for (on, key) in [
            (self.readonly, "readonly"),
            (self.dev, "dev"),
            (self.optional, "optional"),
            (self.cover, "cover"),
            (self.mode != 0, "mode"),
            (self.size != 0, "size"),
            (self.source_fd.is_some(), "source_fd"),
            (!self.content.is_empty(), "content"),
            (self.content_fd.is_some(), "content_fd"),
            (!self.lower.is_empty(), "lower"),
            (!self.upper.is_empty(), "upper"),
            (!self.work.is_empty(), "work"),
        ] {
            if on && !takes(key) {
                return not_for(key);
            }
        }
        self.check_layers()?;
        if self.mode > forkexec_spec::layout::limit::MODE {
            return Err(format!("mode {:o} is above 7777", self.mode));
        }
        for (fd, key) in [
            (self.source_fd, "source_fd"),
            (self.content_fd, "content_fd"),
        ] {
            if let Some(fd) = fd.filter(|fd| *fd < 0) {
                return Err(format!("`{key}` must be an fd (0 or more), not {fd}"));
            }
        }
        let info = kind.info();
        match info.source {
            SourceRule::PathOrFd => match (self.source.is_empty(), self.source_fd.is_some()) {
                (true, false) => Err(format!("a {kind} needs `source` or `source_fd`")),
                (false, true) => Err(format!("a {kind} takes `source` or `source_fd`, not both")),
                _ => Ok(()),
            },
            SourceRule::Text if self.source.is_empty() => {
                Err(format!("a {kind} needs `source` (the link's text)"))
            }
            SourceRule::None if !self.source.is_empty() => not_for("source"),
            _ if info.takes.content && !self.content.is_empty() && self.content_fd.is_some() => {
                Err(format!(
                    "a {kind} takes `content` or `content_fd`, not both"
                ))
            }
            _ => Ok(()),
        }
    }
}

impl MountOp {
    /// An overlay's layers: enough lower directories, upper and work when it takes them,
    /// every one an absolute path.
    fn check_layers(&self) -> Result<(), String> {
        let (kind, info) = (self.kind, self.kind.info());
        if info.lower == 0 {
            return Ok(());
        }
        let fewest = info.lower as usize;
        if self.lower.len() < fewest {
            let dirs = if fewest == 1 {
                "directory"
            } else {
                "directories"
            };
            return Err(format!(
                "the {kind} needs at least {fewest} `lower` {dirs}, not {}",
                self.lower.len()
            ));
        }
        let most = forkexec_spec::layout::limit::OVERLAY_LOWER;
        if self.lower.len() > most {
            return Err(format!(
                "the {kind} takes at most {most} `lower` directories, not {}",
                self.lower.len()
            ));
        }
        if info.takes.upper {
            for (value, key) in [(&self.upper, "upper"), (&self.work, "work")] {
                if value.is_empty() {
                    return Err(format!("the {kind} needs `{key}` (a host directory)"));
                }
            }
        }
        let upper = [(&self.upper, "upper"), (&self.work, "work")];
        let lower = self.lower.iter().map(|l| (l, "lower"));
        for (path, key) in upper
            .into_iter()
            .filter(|(p, _)| !p.is_empty())
            .chain(lower)
        {
            if !path.starts_with('/') {
                return Err(format!(
                    "`{key}` paths must be absolute (host paths), not `{path}`"
                ));
            }
        }
        Ok(())
    }
}

/// The JSON keys of every mount operation.
const OP_COMMON_KEYS: [&str; 2] = ["type", "target"];

/// The JSON keys a kind takes besides `type` and `target`, read from its row in the table.
fn kind_keys(kind: MountKind) -> impl Iterator<Item = &'static &'static str> {
    let info = kind.info();
    MOUNT_OP_KEYS.iter().filter(|k| info.takes_key(k))
}

fn kind_takes(kind: MountKind, key: &str) -> bool {
    OP_COMMON_KEYS.contains(&key) || kind.info().takes_key(key)
}

/// "it takes `type`, `target`, `source`…", for messages.
fn takes_list(kind: MountKind) -> String {
    let keys: Vec<String> = OP_COMMON_KEYS
        .iter()
        .chain(kind_keys(kind))
        .map(|k| format!("`{k}`"))
        .collect();
    format!("a {kind} takes {}", keys.join(", "))
}

/// Parses a mode written as an octal string: `"1777"`, `"0755"`, `"755"`; at most `7777`.
pub fn parse_mode(s: &str) -> Result<u32, String> {
    let bad = || format!("`{s}` is not an octal mode such as \"755\" or \"1777\"");
    if s.is_empty() || s.len() > 11 || !s.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return Err(bad());
    }
    let mode = u32::from_str_radix(s, 8).map_err(|_| bad())?;
    if mode > forkexec_spec::layout::limit::MODE {
        return Err(format!("mode {s} is above 7777"));
    }
    Ok(mode)
}

/// Parses a size in bytes: digits, optionally followed by `k`, `m` or `g` (or `K`, `M`, `G`:
/// KiB, MiB, GiB), e.g. `"65536"` or `"64m"`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let (digits, unit) = match s.as_bytes().last() {
        Some(b'k' | b'K') => (&s[..s.len() - 1], 1u64 << 10),
        Some(b'm' | b'M') => (&s[..s.len() - 1], 1 << 20),
        Some(b'g' | b'G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`{s}` is not a size: expected bytes, or a number with k, m or g (\"64m\")"
        ));
    }
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(|| format!("size `{s}` is too large"))
}

impl Serialize for MountEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MountEntry::Raw(m) => m.serialize(s),
            MountEntry::Op(op) => op.serialize(s),
        }
    }
}

/// `type` first, then the fields away from their defaults; `mode` as a 4-digit octal string
/// (left out at the kind's default), `content` as a string when it is UTF-8, else as a list of
/// byte values.
impl Serialize for MountOp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("type", &self.kind)?;
        if !self.source.is_empty() {
            map.serialize_entry("source", &self.source)?;
        }
        if let Some(fd) = self.source_fd {
            map.serialize_entry("source_fd", &fd)?;
        }
        map.serialize_entry("target", &self.target)?;
        // A chmod's mode is always written: it has no default.
        if self.mode != self.kind.default_mode() || self.kind == MountKind::Chmod {
            map.serialize_entry("mode", &format!("{:04o}", self.mode))?;
        }
        if self.size != 0 {
            map.serialize_entry("size", &self.size)?;
        }
        if !self.content.is_empty() {
            match std::str::from_utf8(&self.content) {
                Ok(text) => map.serialize_entry("content", text)?,
                Err(_) => map.serialize_entry("content", &self.content)?,
            }
        }
        if let Some(fd) = self.content_fd {
            map.serialize_entry("content_fd", &fd)?;
        }
        if !self.lower.is_empty() {
            map.serialize_entry("lower", &self.lower)?;
        }
        for (value, key) in [(&self.upper, "upper"), (&self.work, "work")] {
            if !value.is_empty() {
                map.serialize_entry(key, value)?;
            }
        }
        for (on, key) in [
            (self.readonly, "readonly"),
            (self.dev, "dev"),
            (self.optional, "optional"),
            (self.cover, "cover"),
        ] {
            if on {
                map.serialize_entry(key, &true)?;
            }
        }
        map.end()
    }
}

/// The keys of a `mounts` entry: a raw mount's and a mount operation's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    // Both.
    Source,
    Target,
    // Raw mounts.
    Fstype,
    Flags,
    Data,
    Mkdir,
    File,
    // Mount operations.
    Type,
    SourceFd,
    Mode,
    Size,
    Content,
    ContentFd,
    Lower,
    Upper,
    Work,
    Readonly,
    Dev,
    Optional,
    Cover,
}

/// Every key with its name; `make_nod` is go-sandbox's name for `file`.
const KEYS: [(&str, Key); 21] = [
    ("source", Key::Source),
    ("target", Key::Target),
    ("fstype", Key::Fstype),
    ("flags", Key::Flags),
    ("data", Key::Data),
    ("mkdir", Key::Mkdir),
    ("file", Key::File),
    ("make_nod", Key::File),
    ("type", Key::Type),
    ("source_fd", Key::SourceFd),
    ("mode", Key::Mode),
    ("size", Key::Size),
    ("content", Key::Content),
    ("content_fd", Key::ContentFd),
    ("lower", Key::Lower),
    ("upper", Key::Upper),
    ("work", Key::Work),
    ("readonly", Key::Readonly),
    ("dev", Key::Dev),
    ("optional", Key::Optional),
    ("cover", Key::Cover),
];

/// A raw mount's keys (and `type`, which makes an entry a mount operation), for messages.
const RAW_KEYS: &[&str] = &[
    "source", "target", "fstype", "flags", "data", "mkdir", "file", "make_nod", "type",
];

impl Key {
    fn name(self) -> &'static str {
        KEYS.iter()
            .find(|(_, k)| *k == self)
            .map(|(n, _)| *n)
            .unwrap()
    }
    fn is_raw(self) -> bool {
        matches!(
            self,
            Key::Source
                | Key::Target
                | Key::Fstype
                | Key::Flags
                | Key::Data
                | Key::Mkdir
                | Key::File
        )
    }
    fn is_op(self) -> bool {
        !matches!(
            self,
            Key::Fstype | Key::Flags | Key::Data | Key::Mkdir | Key::File
        )
    }
}

/// Reads one key of a `mounts` entry, refusing (with the key in the error's path) a key no
/// entry has, one given twice, and, once the `type` is known, one that type does not take.
struct KeySeed<'a> {
    kind: Option<MountKind>,
    seen: &'a [(Key, &'static str)],
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = (Key, &'static str);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl Visitor<'_> for KeySeed<'_> {
    type Value = (Key, &'static str);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mount key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let Some(&(name, key)) = KEYS.iter().find(|(n, _)| *n == v) else {
            return Err(match self.kind {
                Some(kind) => E::custom(format!("unknown field `{v}`; {}", takes_list(kind))),
                None => E::unknown_field(v, RAW_KEYS),
            });
        };
        if self.seen.iter().any(|(k, _)| *k == key) {
            return Err(E::duplicate_field(key.name()));
        }
        if let Some(kind) = self.kind {
            if !kind_takes(kind, name) {
                return Err(E::custom(format!(
                    "`{name}` does not apply to a {kind} mount operation ({})",
                    takes_list(kind)
                )));
            }
        }
        Ok((key, name))
    }
}

/// A mode: an octal string or an integer (taken as is).
struct ModeValue(u32);

impl<'de> Deserialize<'de> for ModeValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ModeValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an octal mode string such as \"755\" or \"1777\", or an integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ModeValue, E> {
                parse_mode(v).map(ModeValue).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ModeValue, E> {
                match u32::try_from(v) {
                    Ok(m) if m <= forkexec_spec::layout::limit::MODE => Ok(ModeValue(m)),
                    _ => Err(E::custom(format!(
                        "mode {v} (octal {v:o}) is above 0o7777 (4095)"
                    ))),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ModeValue, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A size: an integer (bytes) or a string with an optional k/m/g suffix.
struct SizeValue(u64);

impl<'de> Deserialize<'de> for SizeValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SizeValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size in bytes, or a string such as \"64m\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SizeValue, E> {
                parse_size(v).map(SizeValue).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SizeValue, E> {
                Ok(SizeValue(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// A file's content: a string, or a list of byte values.
struct ContentValue(Vec<u8>);

impl<'de> Deserialize<'de> for ContentValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ContentValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, or a list of byte values")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ContentValue, E> {
                Ok(ContentValue(v.as_bytes().to_vec()))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<ContentValue, A::Error> {
                let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(b) = seq.next_element::<u8>()? {
                    bytes.push(b);
                }
                Ok(ContentValue(bytes))
            }
        }
        d.deserialize_any(V)
    }
}

/// What a `mounts` entry object held, before it is known to be a raw mount or an operation.
#[derive(Default)]
struct EntryFields {
    source: Option<String>,
    target: Option<String>,
    fstype: Option<String>,
    flags: Option<Vec<MountFlag>>,
    data: Option<String>,
    mkdir: Option<bool>,
    file: Option<bool>,
    kind: Option<MountKind>,
    source_fd: Option<RawFd>,
    mode: Option<u32>,
    size: Option<u64>,
    content: Option<Vec<u8>>,
    content_fd: Option<RawFd>,
    lower: Option<Vec<String>>,
    upper: Option<String>,
    work: Option<String>,
    readonly: Option<bool>,
    dev: Option<bool>,
    optional: Option<bool>,
    cover: Option<bool>,
}

struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = MountEntry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mount object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MountEntry, A::Error> {
        let mut seen: Vec<(Key, &'static str)> = Vec::new();
        let mut f = EntryFields::default();
        while let Some((key, name)) = map.next_key_seed(KeySeed {
            kind: f.kind,
            seen: &seen,
        })? {
            seen.push((key, name));
            match key {
                Key::Source => f.source = Some(map.next_value()?),
                Key::Target => f.target = Some(map.next_value()?),
                Key::Fstype => f.fstype = Some(map.next_value()?),
                Key::Flags => f.flags = Some(map.next_value()?),
                Key::Data => f.data = Some(map.next_value()?),
                Key::Mkdir => f.mkdir = Some(map.next_value()?),
                Key::File => f.file = Some(map.next_value()?),
                Key::Type => f.kind = Some(map.next_value()?),
                Key::SourceFd => f.source_fd = Some(map.next_value()?),
                Key::Mode => f.mode = Some(map.next_value::<ModeValue>()?.0),
                Key::Size => f.size = Some(map.next_value::<SizeValue>()?.0),
                Key::Content => f.content = Some(map.next_value::<ContentValue>()?.0),
                Key::ContentFd => f.content_fd = Some(map.next_value()?),
                Key::Lower => f.lower = Some(map.next_value()?),
                Key::Upper => f.upper = Some(map.next_value()?),
                Key::Work => f.work = Some(map.next_value()?),
                Key::Readonly => f.readonly = Some(map.next_value()?),
                Key::Dev => f.dev = Some(map.next_value()?),
                Key::Optional => f.optional = Some(map.next_value()?),
                Key::Cover => f.cover = Some(map.next_value()?),
            }
        }
        let Some(kind) = f.kind else {
            if let Some((_, name)) = seen.iter().find(|(k, _)| !k.is_raw()) {
                return Err(de::Error::custom(format!(
                    "`{name}` is a key of mount operations, which need a \"type\" (one of: {})",
                    MountKind::ALL
                        .iter()
                        .map(|k| k.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            return Ok(MountEntry::Raw(Mount {
                source: f.source.unwrap_or_default(),
                target: f.target.ok_or_else(|| de::Error::missing_field("target"))?,
                fstype: f.fstype.unwrap_or_default(),
                flags: f.flags.unwrap_or_default(),
                data: f.data.unwrap_or_default(),
                mkdir: f.mkdir.unwrap_or(true),
                file: f.file.unwrap_or(false),
            }));
        };
        // Keys that came before "type" were not checked against it yet.
        if let Some((_, name)) = seen
            .iter()
            .find(|(k, name)| !k.is_op() || !kind_takes(kind, name))
        {
            return Err(de::Error::custom(format!(
                "`{name}` does not apply to a {kind} mount operation ({})",
                takes_list(kind)
            )));
        }
        if kind == MountKind::Chmod && f.mode.is_none() {
            return Err(de::Error::custom(
                "a chmod mount operation needs a \"mode\" (it has no default)",
            ));
        }
        let op = MountOp {
            kind,
            source: f.source.unwrap_or_default(),
            source_fd: f.source_fd,
            target: f.target.ok_or_else(|| de::Error::missing_field("target"))?,
            mode: f.mode.unwrap_or(kind.default_mode()),
            size: f.size.unwrap_or(0),
            content: f.content.unwrap_or_default(),
            content_fd: f.content_fd,
            lower: f.lower.unwrap_or_default(),
            upper: f.upper.unwrap_or_default(),
            work: f.work.unwrap_or_default(),
            readonly: f.readonly.unwrap_or(false),
            dev: f.dev.unwrap_or(false),
            optional: f.optional.unwrap_or(false),
            cover: f.cover.unwrap_or(false),
        };
        op.check().map_err(de::Error::custom)?;
        Ok(MountEntry::Op(op))
    }
}

impl<'de> Deserialize<'de> for MountEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(EntryVisitor)
    }
}

impl<'de> Deserialize<'de> for MountOp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match MountEntry::deserialize(d)? {
            MountEntry::Op(op) => Ok(op),
            MountEntry::Raw(_) => Err(de::Error::missing_field("type")),
        }
    }
}

/// One id map entry (`syscall.SysProcIDMap`): `size` ids from `host_id` appear as
/// `container_id` onwards.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IdMap {
    /// The first id inside the namespace.
    pub container_id: u32,
    /// The id it stands for outside.
    pub host_id: u32,
    /// How many consecutive ids.
    pub size: u32,
}

impl IdMap {
    /// `size` ids from `host_id` seen as `container_id` onwards.
    pub const fn new(container_id: u32, host_id: u32, size: u32) -> Self {
        IdMap {
            container_id,
            host_id,
            size,
        }
    }
}

/// Existing namespaces to join with `setns` (record JOIN_NS; bubblewrap's `--userns`,
/// `--pidns`, `--userns2`): fds of this process open on `/proc/PID/ns/user` or `…/pid`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct JoinNs {
    /// A user namespace to join before any namespace is created (not with `newuser`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<RawFd>,
    /// A pid namespace the target is born in (with `newpid`: in a new one below it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<RawFd>,
    /// A user namespace to join after the mounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user2: Option<RawFd>,
}

/// The capabilities the target keeps (record CAPS; bubblewrap's `--cap-add`/`--cap-drop`):
/// every other one leaves the bounding set, the kept ones are the effective, permitted,
/// inheritable and ambient sets (so they survive execve for a uid other than 0).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Caps {
    /// Capability numbers (`CAP_NET_BIND_SERVICE` is 10), each below 64; numbers the kernel
    /// does not have are ignored.
    pub keep: Vec<u32>,
    /// Leave the effective, permitted and inheritable sets as they are (bubblewrap as uid 0
    /// without `--cap-add`/`--cap-drop`): only the bounding and ambient sets change.
    #[serde(default, skip_serializing_if = "is_false")]
    pub leave_sets: bool,
}

impl Caps {
    /// Keeps the capabilities of this mask (bit `n` = capability `n`).
    pub fn from_mask(mask: u64) -> Self {
        Caps {
            keep: (0..64).filter(|n| mask & 1 << n != 0).collect(),
            leave_sets: false,
        }
    }
    /// The kept set as a mask, or the first number that is not a capability (64 or more).
    pub fn mask(&self) -> Result<u64, u32> {
        self.keep.iter().try_fold(0u64, |m, &n| match n {
            0..=63 => Ok(m | 1 << n),
            _ => Err(n),
        })
    }
}

/// The user to become (`syscall.Credential`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    /// The user id to become (`setuid`).
    pub uid: u32,
    /// The group id to become (`setgid`).
    pub gid: u32,
    /// Supplementary groups; empty clears them (unless `no_set_groups`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<u32>,
    /// Leave the supplementary groups alone (no `setgroups` call).
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_set_groups: bool,
}

impl Credential {
    /// `uid` and `gid`, no supplementary groups.
    pub fn new(uid: u32, gid: u32) -> Self {
        Credential {
            uid,
            gid,
            ..Credential::default()
        }
    }
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(v: &u8) -> bool {
    *v == 0
}
