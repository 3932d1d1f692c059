//! [`JudgeResult`]: what a judged run did, modelled on go-sandbox's `runner.Result` and
//! isolate's `--meta` file.

use std::fmt;
use std::time::Duration;

use serde_json::{json, Value};

use crate::error::{errno_text, Error};

/// How the run ended, as a judge reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Exited with code 0 within every limit.
    Normal,
    /// Exited with another code (`exit_status`).
    NonzeroExitStatus,
    /// Killed by a signal (`signal`) that is not a limit's.
    Signalled,
    /// Over the CPU time limit or the wall-clock limit ([`JudgeResult::limit`] says which).
    TimeLimitExceeded,
    /// Over the memory limit (the cgroup's OOM killer, or a failed allocation after hitting
    /// it).
    MemoryLimitExceeded,
    /// Wrote more than the output limit to stdout and stderr (or got `SIGXFSZ`).
    OutputLimitExceeded,
    /// Killed by the seccomp filter (`SIGSYS`).
    DangerousSyscall,
    /// The sandbox could not be set up; nothing was run ([`JudgeResult::error`]).
    RunnerError,
}

impl Status {
    /// The name used in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Status::Normal => "normal",
            Status::NonzeroExitStatus => "nonzero_exit_status",
            Status::Signalled => "signalled",
            Status::TimeLimitExceeded => "time_limit_exceeded",
            Status::MemoryLimitExceeded => "memory_limit_exceeded",
            Status::OutputLimitExceeded => "output_limit_exceeded",
            Status::DangerousSyscall => "dangerous_syscall",
            Status::RunnerError => "runner_error",
        }
    }

    /// Every status, in the order above.
    pub const ALL: [Status; 8] = [
        Status::Normal,
        Status::NonzeroExitStatus,
        Status::Signalled,
        Status::TimeLimitExceeded,
        Status::MemoryLimitExceeded,
        Status::OutputLimitExceeded,
        Status::DangerousSyscall,
        Status::RunnerError,
    ];
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which limit ended the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Limit {
    /// CPU time (all processes of the sandbox).
    Cpu,
    /// Wall-clock time.
    Wall,
    /// Memory (the cgroup's limit).
    Memory,
    /// Bytes written to stdout and stderr.
    Output,
}

impl Limit {
    /// `cpu`, `wall`, `memory` or `output`.
    pub fn name(self) -> &'static str {
        match self {
            Limit::Cpu => "cpu",
            Limit::Wall => "wall",
            Limit::Memory => "memory",
            Limit::Output => "output",
        }
    }
}

/// Why a run is a `runner_error`: the message, and the helper's error record when it sent
/// one (its location, errno and index).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunnerError {
    /// What went wrong, in one line.
    pub message: String,
    /// The helper's failed step (`mount`, `execve`…), when the helper reported it.
    pub location: Option<String>,
    /// Its errno.
    pub errno: Option<i32>,
    /// Its index (which mount, rlimit, fd…).
    pub index: Option<u32>,
}

impl RunnerError {
    /// An error with only a message (no helper record).
    pub fn message(message: impl Into<String>) -> Self {
        RunnerError {
            message: message.into(),
            location: None,
            errno: None,
            index: None,
        }
    }

    pub(crate) fn from_start(e: &Error) -> Self {
        match e {
            Error::Child(c) => RunnerError {
                message: c.to_string(),
                location: Some(match c.location() {
                    Some(l) => l.name().to_owned(),
                    None => format!("unknown({})", c.location_code()),
                }),
                errno: Some(c.errno()),
                index: Some(c.index()),
            },
            other => RunnerError::message(other.to_string()),
        }
    }
}

/// What a judged run did.
#[derive(Clone, Debug, PartialEq)]
pub struct JudgeResult {
    /// The verdict.
    pub status: Status,
    /// The exit code, when the program exited.
    pub exit_status: Option<i32>,
    /// The signal that ended it, when one did (a limit's SIGKILL included).
    pub signal: Option<i32>,
    /// Which limit ended it (for `time_limit_exceeded`: `Cpu` or `Wall`).
    pub limit: Option<Limit>,
    /// CPU time, user + system, of every process of the sandbox.
    pub time: Duration,
    /// Wall-clock time from the start of the program to its end.
    pub wall_time: Duration,
    /// Peak memory in bytes.
    pub memory: u64,
    /// Time from the call to the start of the program (cgroup, helper, namespaces, mounts).
    pub setup_time: Duration,
    /// For `runner_error`.
    pub error: Option<RunnerError>,
    /// The cgroup layout used (`v1`, `v2`, `hybrid`), or `None` without a cgroup.
    pub cgroup: Option<&'static str>,
    /// Bytes read from stdout and stderr (all of them, also past the limit).
    pub output_bytes: u64,
    /// Whether the pids limit refused a fork.
    pub pids_limit_hit: bool,
    /// Captured stdout and stderr (up to the output limit), when captured.
    pub stdout: Vec<u8>,
    /// Captured stderr, likewise.
    pub stderr: Vec<u8>,
}

impl JudgeResult {
    pub(crate) fn runner_error(error: RunnerError, setup_time: Duration) -> Self {
        JudgeResult {
            status: Status::RunnerError,
            exit_status: None,
            signal: None,
            limit: None,
            time: Duration::ZERO,
            wall_time: Duration::ZERO,
            memory: 0,
            setup_time,
            error: Some(error),
            cgroup: None,
            output_bytes: 0,
            pids_limit_hit: false,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }

    /// The result as a JSON object (times in seconds; absent values `null`; captured output
    /// is not included).
    pub fn to_json_value(&self) -> Value {
        let secs = |d: Duration| d.as_secs_f64();
        json!({
            "status": self.status.name(),
            "exit_status": self.exit_status,
            "signal": self.signal,
            "limit": self.limit.map(Limit::name),
            "time": secs(self.time),
            "wall_time": secs(self.wall_time),
            "memory": self.memory,
            "setup_time": secs(self.setup_time),
            "output_bytes": self.output_bytes,
            "pids_limit_hit": self.pids_limit_hit,
            "cgroup": self.cgroup,
            "error": self.error.as_ref().map(|e| json!({
                "message": e.message,
                "location": e.location,
                "errno": e.errno,
                "errno_text": e.errno.map(errno_text),
                "index": e.index,
            })),
        })
    }

    /// [`JudgeResult::to_json_value`] as one line.
    pub fn to_json(&self) -> String {
        self.to_json_value().to_string()
    }
}
