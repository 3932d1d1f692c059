//! The owned spec and its JSON form.
//!
//! [`Spec`] holds go-sandbox's `Runner` fields under their snake_case names (see DESIGN.md,
//! "JSON form"), plus forkexec's own `exec_path`, `setsid` and `status_fd`. Every key is
//! optional and unknown keys are errors; serializing skips defaults so a spec stays as short
//! as what a person would write by hand.
//!
//! Strings are UTF-8 (`String`), like the JSON they come from. Empty `work_dir`, `pivot_root`,
//! `host_name` and `domain_name` mean "not set", as in go-sandbox.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::names::{MountFlag, Namespace, Resource};

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
    /// A classic BPF seccomp filter, loaded last before `execve`. Implies `no_new_privs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<Vec<SockFilter>>,
    /// Namespaces to unshare.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub clone_flags: Vec<Namespace>,
    /// Mounts, in order, in the new mount namespace (needs `newns`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<Mount>,
    /// Absolute path of the new root: a tmpfs is mounted there, `mounts` are made relative
    /// to it, then `pivot_root` and a read-only remount (go-sandbox's `PivotRoot`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pivot_root: String,
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
    /// A cgroup (v2) directory to place the target in from its first instruction.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cgroup: String,
    /// The same, as an fd of this process open on the directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup_fd: Option<i32>,
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
            seccomp: None,
            clone_flags: Vec::new(),
            mounts: Vec::new(),
            pivot_root: String::new(),
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
            cgroup: String::new(),
            cgroup_fd: None,
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
        forkexec_spec::layout::opt::stops_before_exec(self.option_bits(), self.seccomp.is_some())
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
    pub fn new(resource: Resource, cur: u64, max: u64) -> Self {
        Rlimit { resource, cur, max }
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
    pub code: u16,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub jt: u8,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub jf: u8,
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
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    pub target: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fstype: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<MountFlag>,
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

/// One id map entry (`syscall.SysProcIDMap`): `size` ids from `host_id` appear as
/// `container_id` onwards.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IdMap {
    pub container_id: u32,
    pub host_id: u32,
    pub size: u32,
}

impl IdMap {
    pub const fn new(container_id: u32, host_id: u32, size: u32) -> Self {
        IdMap {
            container_id,
            host_id,
            size,
        }
    }
}

/// The user to become (`syscall.Credential`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    pub uid: u32,
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
