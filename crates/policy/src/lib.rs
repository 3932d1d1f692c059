//! Seccomp policies for forkexec: a JSON policy compiled to a classic BPF program that the
//! helper loads with `prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)` right before `execve`.
//!
//! ```json
//! {"default_action": {"errno": "EPERM"},
//!  "syscalls": [
//!    {"names": ["read", "write", "exit_group", "execve"], "action": "allow"},
//!    {"names": ["socket"], "action": "allow", "args": [{"index": 0, "op": "eq", "value": 1}]},
//!    {"names": ["ptrace"], "action": "kill_process"}]}
//! ```
//!
//! For a system call, the rules that name it are tried in the order they are written and the
//! first whose argument comparisons all hold decides; when none does, `default_action`
//! decides. `docs/policy.md` describes every field, the compiled program's layout and the
//! shipped default policy ([`Policy::default_judge`], `policies/judge.json`).
//!
//! The compiler is this crate's own (`src/compile.rs`, [`Policy::compile`]): seccompiler,
//! the obvious well-kept crate, builds one "match" action per filter, while a policy gives
//! each rule its own action, and it lets x32 calls through. The tests check this compiler's
//! programs against seccompiler's on the policies both can express, and against
//! [`Policy::action_for`] on random ones.
//!
//! ```no_run
//! use forkexec_client::Runner;
//! use forkexec_policy::Policy;
//!
//! let filter = Policy::default_judge().compile()?;
//! let mut process = Runner::new(["/usr/bin/python3", "solution.py"]).seccomp(filter).start()?;
//! let status = process.wait()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

pub use forkexec_client::SockFilter;

mod compile;
pub mod errno;
mod suggest;
pub mod syscalls;

pub use compile::{AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};

/// The kernel's limit on a filter's length (`BPF_MAXINSNS`).
pub const MAX_INSTRUCTIONS: usize = 4096;
/// The largest errno an `errno` action can return (`MAX_ERRNO`; the kernel caps larger data).
pub const MAX_ERRNO: u16 = 4095;

/// The shipped default policy, `policies/judge.json`.
pub const JUDGE_JSON: &str = include_str!("../policies/judge.json");

/// The shipped policies by name, each `policies/NAME.json` in the repository (the crate's
/// `policies` directory links there): the names `forkexec-run --seccomp NAME` and the Python
/// client's `seccomp="NAME"` accept. A test checks that this table and the directory list the
/// same files, and that the Python package's compiled copies are this crate's output.
pub const NAMED: &[(&str, &str)] = &[("judge", JUDGE_JSON)];

/// A seccomp policy: what to do with each system call. See the crate documentation and
/// `docs/policy.md` for the JSON form.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Free text for people; ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// What happens to a system call that no rule decides.
    pub default_action: Action,
    /// The rules, tried in order for each system call.
    #[serde(default)]
    pub syscalls: Vec<Rule>,
}

/// One rule: `action` for the system calls in `names` when every comparison in `args` holds.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Free text for people; ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// x86_64 system call names, as in `<asm/unistd_64.h>` (`"openat"`, `"newfstatat"`).
    pub names: Vec<String>,
    /// What happens to those calls when the comparisons hold.
    pub action: Action,
    /// Argument comparisons, all of which must hold (none: the rule always applies).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<ArgCmp>,
}

/// A comparison of one system call argument (as a 64-bit unsigned register value) with
/// `value`: `arg OP value`, or `(arg & mask) == value` for `masked_eq`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ArgCmp {
    /// Which argument, 0 to 5.
    #[serde(deserialize_with = "de_index")]
    pub index: u8,
    /// How the argument is compared with `value`.
    pub op: CmpOp,
    /// A number, a negative number (as its 64-bit two's complement, e.g. `-100` for
    /// `AT_FDCWD`), or a string `"0x…"`, `"0o…"`, `"0b…"` or decimal.
    #[serde(deserialize_with = "de_u64")]
    pub value: u64,
    /// For `masked_eq` only, and required there.
    #[serde(
        default,
        deserialize_with = "de_opt_u64",
        skip_serializing_if = "Option::is_none"
    )]
    pub mask: Option<u64>,
}

/// The comparisons, all unsigned and on the whole 64-bit argument.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum CmpOp {
    /// `arg == value`.
    Eq,
    /// `arg != value`.
    Ne,
    /// `arg < value`.
    Lt,
    /// `arg <= value`.
    Le,
    /// `arg > value`.
    Gt,
    /// `arg >= value`.
    Ge,
    /// `(arg & mask) == value`.
    MaskedEq,
}

/// What the kernel does with a system call (`SECCOMP_RET_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Run it (`SECCOMP_RET_ALLOW`).
    Allow,
    /// Do not run it; it returns `-1` with this errno (`SECCOMP_RET_ERRNO`). 0 makes it
    /// return 0 without running.
    Errno(u16),
    /// Kill the whole process as by an uncatchable `SIGSYS` (`SECCOMP_RET_KILL_PROCESS`).
    KillProcess,
    /// Kill the calling thread (`SECCOMP_RET_KILL_THREAD`); the process with it when it is
    /// the last thread.
    KillThread,
    /// Do not run it; send the thread a catchable `SIGSYS` with `si_code = SYS_SECCOMP`
    /// (`SECCOMP_RET_TRAP`).
    Trap,
    /// Stop for a `PTRACE_O_TRACESECCOMP` tracer with this event data; without a tracer the
    /// call fails with `ENOSYS` (`SECCOMP_RET_TRACE`).
    Trace(u16),
    /// Run it and log it to the audit log / kernel log (`SECCOMP_RET_LOG`).
    Log,
}

const ACTIONS: &str =
    "\"allow\", {\"errno\": N}, \"kill_process\", \"kill_thread\", \"trap\", {\"trace\": N}, \"log\"";
const ACTION_NAMES: [&str; 7] = [
    "allow",
    "errno",
    "kill_process",
    "kill_thread",
    "trap",
    "trace",
    "log",
];

impl Action {
    /// The filter's return value for this action (`SECCOMP_RET_*` with its data).
    pub fn ret(self) -> u32 {
        match self {
            Action::Allow => 0x7fff_0000,
            Action::Errno(e) => 0x0005_0000 | u32::from(e),
            Action::KillProcess => 0x8000_0000,
            Action::KillThread => 0,
            Action::Trap => 0x0003_0000,
            Action::Trace(n) => 0x7ff0_0000 | u32::from(n),
            Action::Log => 0x7ffc_0000,
        }
    }

    /// Whether the system call runs (`allow`, `log`).
    pub fn runs(self) -> bool {
        matches!(self, Action::Allow | Action::Log)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Action::Allow => f.write_str("allow"),
            Action::Errno(e) => match errno::name(e) {
                Some(name) => write!(f, "errno {name}"),
                None => write!(f, "errno {e}"),
            },
            Action::KillProcess => f.write_str("kill_process"),
            Action::KillThread => f.write_str("kill_thread"),
            Action::Trap => f.write_str("trap"),
            Action::Trace(n) => write!(f, "trace {n}"),
            Action::Log => f.write_str("log"),
        }
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            Action::Allow => s.serialize_str("allow"),
            Action::KillProcess => s.serialize_str("kill_process"),
            Action::KillThread => s.serialize_str("kill_thread"),
            Action::Trap => s.serialize_str("trap"),
            Action::Log => s.serialize_str("log"),
            Action::Errno(e) => {
                let mut m = s.serialize_map(Some(1))?;
                match errno::name(e) {
                    Some(name) => m.serialize_entry("errno", name)?,
                    None => m.serialize_entry("errno", &e)?,
                }
                m.end()
            }
            Action::Trace(n) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("trace", &n)?;
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Action;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "an action: {ACTIONS}")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Action, E> {
                Ok(match s {
                    "allow" => Action::Allow,
                    "kill_process" => Action::KillProcess,
                    "kill_thread" => Action::KillThread,
                    "trap" => Action::Trap,
                    "trace" => Action::Trace(0),
                    "log" => Action::Log,
                    "errno" => {
                        return Err(E::custom(
                            "action \"errno\" needs its value: {\"errno\": \"EPERM\"} or {\"errno\": 1}",
                        ))
                    }
                    "kill" => {
                        return Err(E::custom(
                            "unknown action \"kill\": say \"kill_process\" or \"kill_thread\"",
                        ))
                    }
                    other => return Err(E::custom(unknown_action(other))),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Action, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(de::Error::custom(
                        "an action object has one key: {\"errno\": N} or {\"trace\": N}",
                    ));
                };
                let action = match key.as_str() {
                    "errno" => Action::Errno(map.next_value::<ErrnoValue>()?.0),
                    "trace" => Action::Trace(map.next_value::<u16>()?),
                    other => {
                        return Err(de::Error::custom(format!(
                            "{}; an action object is {{\"errno\": N}} or {{\"trace\": N}}",
                            unknown_action(other)
                        )))
                    }
                };
                if let Some(extra) = map.next_key::<String>()? {
                    return Err(de::Error::custom(format!(
                        "an action object has one key, not also {extra:?}"
                    )));
                }
                Ok(action)
            }
        }
        d.deserialize_any(V)
    }
}

fn unknown_action(name: &str) -> String {
    let close = suggest::close(name, ACTION_NAMES);
    let close = if close.is_empty() {
        String::new()
    } else {
        format!(" (close: {})", close.join(", "))
    };
    format!("unknown action {name:?}{close}; valid actions: {ACTIONS}")
}

/// An errno by value (0 to 4095) or by name.
struct ErrnoValue(u16);

impl<'de> Deserialize<'de> for ErrnoValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ErrnoValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an errno: a number from 0 to 4095 or a name such as \"EPERM\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ErrnoValue, E> {
                match u16::try_from(v) {
                    Ok(e) if e <= MAX_ERRNO => Ok(ErrnoValue(e)),
                    _ => Err(E::custom(format!(
                        "errno {v} is out of range: 0 to {MAX_ERRNO}"
                    ))),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ErrnoValue, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom(format!(
                        "errno {v} is out of range: 0 to {MAX_ERRNO} (an errno is positive)"
                    ))),
                }
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ErrnoValue, E> {
                errno::number(s).map(ErrnoValue).ok_or_else(|| {
                    E::custom(format!(
                        "unknown errno name {s:?}{}",
                        suggest::hint(
                            s,
                            errno::all().map(|(n, _)| n),
                            " (names as in errno(3): EPERM, EACCES, ENOSYS, …)"
                        )
                    ))
                })
            }
        }
        d.deserialize_any(V)
    }
}

fn de_index<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    let v = u64::deserialize(d)?;
    match u8::try_from(v) {
        Ok(i) if i <= 5 => Ok(i),
        _ => Err(de::Error::custom(format!(
            "argument index {v} is out of range: a system call has arguments 0 to 5"
        ))),
    }
}

fn de_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a 64-bit number, or a string such as \"0x1f\", \"0o755\" or \"-100\"")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
            Ok(v as u64)
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<u64, E> {
            parse_number(s).ok_or_else(|| {
                E::custom(format!(
                    "{s:?} is not a number (decimal, \"-N\", \"0x…\", \"0o…\" or \"0b…\", 64 bits)"
                ))
            })
        }
    }
    d.deserialize_any(V)
}

fn de_opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    de_u64(d).map(Some)
}

/// `"0x1f"`, `"0o755"`, `"0b101"`, `"42"`, `"-100"` (two's complement).
fn parse_number(s: &str) -> Option<u64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (radix, digits) = match digits.get(..2) {
        Some("0x" | "0X") => (16, &digits[2..]),
        Some("0o" | "0O") => (8, &digits[2..]),
        Some("0b" | "0B") => (2, &digits[2..]),
        _ => (10, digits),
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let v = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        // Down to i64::MIN, as the two's complement of a negative 64-bit value.
        (v <= 1 << 63).then(|| v.wrapping_neg())
    } else {
        Some(v)
    }
}

impl ArgCmp {
    /// `arg[index] OP value` (for `masked_eq`, use [`ArgCmp::masked`]).
    pub fn new(index: u8, op: CmpOp, value: u64) -> Self {
        ArgCmp {
            index,
            op,
            value,
            mask: None,
        }
    }

    /// `(arg[index] & mask) == value`.
    pub fn masked(index: u8, mask: u64, value: u64) -> Self {
        ArgCmp {
            index,
            op: CmpOp::MaskedEq,
            value,
            mask: Some(mask),
        }
    }

    /// Whether the comparison holds for argument value `arg`.
    pub fn matches(&self, arg: u64) -> bool {
        match self.op {
            CmpOp::Eq => arg == self.value,
            CmpOp::Ne => arg != self.value,
            CmpOp::Lt => arg < self.value,
            CmpOp::Le => arg <= self.value,
            CmpOp::Gt => arg > self.value,
            CmpOp::Ge => arg >= self.value,
            CmpOp::MaskedEq => arg & self.mask.unwrap_or(0) == self.value,
        }
    }
}

/// A policy that could not be read, checked or compiled: where (the file, and the key path
/// such as `syscalls[2].names[0]`) and what. Its `Display` is one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    file: Option<PathBuf>,
    path: String,
    message: String,
}

impl PolicyError {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        let path = path.into();
        PolicyError {
            file: None,
            path: if path == "." { String::new() } else { path },
            message: message.into(),
        }
    }
    /// The key path in the JSON, e.g. `syscalls[2].args[0].op`; empty for the whole policy.
    pub fn path(&self) -> &str {
        &self.path
    }
    /// What is wrong (serde_json's messages carry the line and column).
    pub fn message(&self) -> &str {
        &self.message
    }
    /// The policy file, for [`Policy::from_file`].
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}: ", file.display())?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for PolicyError {}

impl FromStr for Policy {
    type Err = PolicyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Policy::from_json(s)
    }
}

impl Policy {
    /// A policy with `default_action` and no rules.
    pub fn new(default_action: Action) -> Self {
        Policy {
            comment: None,
            default_action,
            syscalls: Vec::new(),
        }
    }

    /// Adds a rule (builder style): `action` for `names` when all of `args` hold.
    pub fn rule<I, S>(mut self, names: I, action: Action, args: Vec<ArgCmp>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.syscalls.push(Rule {
            comment: None,
            names: names.into_iter().map(Into::into).collect(),
            action,
            args,
        });
        self
    }

    /// Parses and checks ([`Policy::validate`]) the JSON form. Errors name the key path, e.g.
    /// `syscalls[1].names[0]: unknown syscall "opne" for x86_64; close names: open, …`.
    pub fn from_json(text: &str) -> Result<Policy, PolicyError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let policy: Policy = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| PolicyError::new(e.path().to_string(), e.into_inner().to_string()))?;
        de.end().map_err(|e| PolicyError::new("", e.to_string()))?;
        policy.validate()?;
        Ok(policy)
    }

    /// [`Policy::from_json`] on a file's contents; errors start with the file's name.
    pub fn from_file(path: &Path) -> Result<Policy, PolicyError> {
        let with_file = |mut e: PolicyError| {
            e.file = Some(path.to_path_buf());
            e
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| with_file(PolicyError::new("", format!("cannot read the policy: {e}"))))?;
        Policy::from_json(&text).map_err(with_file)
    }

    /// The shipped default policy for untrusted programs (`policies/judge.json`; see
    /// `docs/policy.md` for its choices).
    pub fn default_judge() -> Policy {
        Policy::from_json(JUDGE_JSON).expect("policies/judge.json is a valid policy")
    }

    /// A shipped policy by name ([`NAMED`]: `"judge"`), or `None` for a name not shipped.
    pub fn named(name: &str) -> Option<Policy> {
        NAMED.iter().find(|(n, _)| *n == name).map(|(n, json)| {
            Policy::from_json(json)
                .unwrap_or_else(|e| panic!("the shipped policies/{n}.json is invalid: {e}"))
        })
    }

    /// The JSON form, indented.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("a Policy always serializes")
    }

    /// Checks what the JSON types cannot say: known system call names, argument indexes
    /// 0–5, `mask` with `masked_eq` only (and a value within it), errno ≤ 4095, and no rule
    /// that could never apply (a name listed twice in one rule, or after a rule that decides
    /// that system call without conditions). [`Policy::from_json`] and [`Policy::compile`]
    /// call it.
    pub fn validate(&self) -> Result<(), PolicyError> {
        check_action(self.default_action, "default_action")?;
        // syscall number → the rule that decides it without conditions
        let mut decided: HashMap<u32, usize> = HashMap::new();
        for (i, rule) in self.syscalls.iter().enumerate() {
            let at = format!("syscalls[{i}]");
            if rule.names.is_empty() {
                return Err(PolicyError::new(
                    format!("{at}.names"),
                    "a rule names at least one system call",
                ));
            }
            check_action(rule.action, &format!("{at}.action"))?;
            for (k, arg) in rule.args.iter().enumerate() {
                check_arg(arg, &format!("{at}.args[{k}]"))?;
            }
            let mut seen = HashSet::new();
            for (j, name) in rule.names.iter().enumerate() {
                let path = format!("{at}.names[{j}]");
                let nr = syscalls::number(name).ok_or_else(|| {
                    PolicyError::new(
                        &path,
                        format!(
                            "unknown syscall {name:?} for x86_64{}",
                            suggest::hint(
                                name,
                                syscalls::all().map(|(n, _)| n),
                                " (names as in <asm/unistd_64.h>, e.g. \"openat\", \"newfstatat\")"
                            )
                        ),
                    )
                })?;
                if !seen.insert(nr) {
                    return Err(PolicyError::new(
                        path,
                        format!("{name:?} is named twice in this rule"),
                    ));
                }
                if let Some(earlier) = decided.get(&nr) {
                    return Err(PolicyError::new(
                        path,
                        format!(
                            "this rule could never apply to {name:?}: syscalls[{earlier}] \
                             already decides it without argument conditions"
                        ),
                    ));
                }
                if rule.args.is_empty() {
                    decided.insert(nr, i);
                }
            }
        }
        Ok(())
    }

    /// The classic BPF program for this machine's architecture, for
    /// [`forkexec_client::Runner::seccomp`]. Only x86_64 is supported: elsewhere this is an
    /// error rather than a program with the wrong system call numbers.
    pub fn compile(&self) -> Result<Vec<SockFilter>, PolicyError> {
        if cfg!(target_arch = "x86_64") {
            self.compile_x86_64()
        } else {
            Err(PolicyError::new(
                "",
                format!(
                    "seccomp policies compile for x86_64 only (its system call numbers and \
                     AUDIT_ARCH_X86_64); this machine is {}",
                    std::env::consts::ARCH
                ),
            ))
        }
    }

    /// The program for x86_64, whatever the machine (it kills the process at its first
    /// system call on any other architecture).
    pub fn compile_x86_64(&self) -> Result<Vec<SockFilter>, PolicyError> {
        self.validate()?;
        let program = compile::x86_64(self);
        if program.len() > MAX_INSTRUCTIONS {
            return Err(PolicyError::new(
                "",
                format!(
                    "the compiled program has {} instructions, over the kernel's limit of \
                     {MAX_INSTRUCTIONS} (BPF_MAXINSNS): use fewer argument comparisons",
                    program.len()
                ),
            ));
        }
        Ok(program)
    }

    /// What the policy decides for x86_64 system call `nr` (below [`X32_SYSCALL_BIT`]) with
    /// these arguments: the first rule naming it whose comparisons hold, else the default.
    /// The compiled program decides the same; this is its reference.
    pub fn action_for(&self, nr: u32, args: &[u64; 6]) -> Action {
        self.syscalls
            .iter()
            .find(|rule| {
                rule.names.iter().any(|n| syscalls::number(n) == Some(nr))
                    && rule
                        .args
                        .iter()
                        .all(|a| a.matches(args[usize::from(a.index)]))
            })
            .map_or(self.default_action, |rule| rule.action)
    }

    /// The action for `nr` when it does not depend on the arguments, else `None`.
    fn fixed_action(&self, nr: u32) -> Option<Action> {
        for rule in &self.syscalls {
            if rule.names.iter().any(|n| syscalls::number(n) == Some(nr)) {
                return rule.args.is_empty().then_some(rule.action);
            }
        }
        Some(self.default_action)
    }

    /// What the helper still needs after loading the filter (docs/spec.md, section 8) and
    /// this policy does not always allow, one sentence each; empty when all is well.
    pub fn helper_warnings(&self) -> Vec<String> {
        let runs = |name: &str| {
            syscalls::number(name)
                .and_then(|nr| self.fixed_action(nr))
                .is_some_and(Action::runs)
        };
        let mut out = Vec::new();
        if !runs("execve") && !runs("execveat") {
            out.push(
                "neither execve nor execveat is always allowed: the helper may be unable to \
                 start the program"
                    .to_string(),
            );
        }
        for (name, why) in [
            ("exit_group", "the helper exits with it when the exec fails"),
            (
                "write",
                "the helper reports a failed exec with it on a pipe status fd, and on stderr",
            ),
            (
                "sendto",
                "the helper reports a failed exec with it on a socket status fd",
            ),
            (
                "nanosleep",
                "the helper sleeps with it between retries of an exec that failed with ETXTBSY",
            ),
        ] {
            if !runs(name) {
                out.push(format!("{name} is not always allowed: {why}"));
            }
        }
        out
    }
}

fn check_action(action: Action, path: &str) -> Result<(), PolicyError> {
    match action {
        Action::Errno(e) if e > MAX_ERRNO => Err(PolicyError::new(
            path,
            format!("errno {e} is out of range: 0 to {MAX_ERRNO}"),
        )),
        _ => Ok(()),
    }
}

fn check_arg(arg: &ArgCmp, path: &str) -> Result<(), PolicyError> {
    if arg.index > 5 {
        return Err(PolicyError::new(
            format!("{path}.index"),
            format!(
                "argument index {} is out of range: a system call has arguments 0 to 5",
                arg.index
            ),
        ));
    }
    match (arg.op, arg.mask) {
        (CmpOp::MaskedEq, None) => Err(PolicyError::new(path, "op \"masked_eq\" needs a \"mask\"")),
        (CmpOp::MaskedEq, Some(mask)) if arg.value & !mask != 0 => Err(PolicyError::new(
            format!("{path}.value"),
            format!(
                "value {:#x} has bits outside the mask {mask:#x}: (arg & mask) can never equal it",
                arg.value
            ),
        )),
        (CmpOp::MaskedEq, Some(_)) | (_, None) => Ok(()),
        (_, Some(_)) => Err(PolicyError::new(
            format!("{path}.mask"),
            "\"mask\" goes with op \"masked_eq\" only",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_strings() {
        assert_eq!(parse_number("0x1f"), Some(31));
        assert_eq!(parse_number("0o755"), Some(0o755));
        assert_eq!(parse_number("0b101"), Some(5));
        assert_eq!(parse_number("42"), Some(42));
        assert_eq!(parse_number("-100"), Some((-100i64) as u64));
        assert_eq!(parse_number("-0x8000000000000000"), Some(1 << 63));
        assert_eq!(parse_number("-0x8000000000000001"), None);
        assert_eq!(parse_number("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_number("18446744073709551616"), None);
        for bad in ["", "-", "0x", "+1", "--1", "0x-1", "1.5", "x"] {
            assert_eq!(parse_number(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn return_values() {
        // <linux/seccomp.h>
        assert_eq!(Action::Allow.ret(), 0x7fff_0000);
        assert_eq!(Action::Errno(1).ret(), 0x0005_0001);
        assert_eq!(Action::Errno(4095).ret(), 0x0005_0fff);
        assert_eq!(Action::KillProcess.ret(), 0x8000_0000);
        assert_eq!(Action::KillThread.ret(), 0);
        assert_eq!(Action::Trap.ret(), 0x0003_0000);
        assert_eq!(Action::Trace(7).ret(), 0x7ff0_0007);
        assert_eq!(Action::Log.ret(), 0x7ffc_0000);
    }
}
