//! Judge mode: `--time-limit`, `--wall-time-limit`, `--memory-limit`, `--pids-limit`,
//! `--output-limit`, `--cpu-quota`, `--cgroup-parent`, `--no-cgroup`, `--result-json`. Any of
//! them runs the program through [`forkexec_client::judge::Judge`]: a per-run cgroup, limits
//! on the whole sandbox, stdout and stderr through pipes cut at the output limit, and a result
//! with a verdict (docs/judge.md).

use std::io::Write;
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Command, FromArgMatches};
use forkexec_client::cgroup;
use forkexec_client::judge::{Judge, Limits, Sink, Status};
use forkexec_client::{Runner, Spec};
use serde_json::Value;

use crate::Fail;

const JUDGE: &str = "Judge (limits on the whole sandbox, a result with a verdict: docs/judge.md)";

/// The judge flags (flattened into [`crate::cli::Cli`]).
#[derive(Args, Debug, Default, Clone)]
pub struct JudgeArgs {
    /// CPU time limit, user + system, summed over every process of the sandbox (the
    /// per-run cgroup's accounting; RLIMIT_CPU as a backstop): `2`, `1.5s`, `500ms`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = JUDGE)]
    pub time_limit: Option<Duration>,

    /// Wall-clock limit, from the start of the program: `10`, `2.5s`, `800ms`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = JUDGE)]
    pub wall_time_limit: Option<Duration>,

    /// Memory limit of the whole sandbox, swap included: `256m`, `1g`, `65536k`, bytes.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = JUDGE)]
    pub memory_limit: Option<u64>,

    /// Processes and threads the sandbox may have at once (a fork bomb is contained).
    #[arg(long, value_name = "N", help_heading = JUDGE)]
    pub pids_limit: Option<u64>,

    /// Bytes the program may write to stdout and stderr together (read through pipes and
    /// passed on; past the limit the sandbox is killed): `1m`, `64k`.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = JUDGE)]
    pub output_limit: Option<u64>,

    /// CPU bandwidth of the sandbox in CPUs (`0.5`: half of one CPU).
    #[arg(long, value_name = "CPUS", value_parser = parse_cpus, help_heading = JUDGE)]
    pub cpu_quota: Option<f64>,

    /// Where per-run cgroups are made, relative to each hierarchy's mount point (default
    /// `forkexec`: /sys/fs/cgroup/forkexec on v2, /sys/fs/cgroup/memory/forkexec… on v1). As an
    /// ordinary user: a delegated cgroup v2 subtree.
    #[arg(long, value_name = "PATH", help_heading = JUDGE, conflicts_with = "no_cgroup")]
    pub cgroup_parent: Option<String>,

    /// No per-run cgroup: rlimits only (CPU time per process, no memory or pids limit on the
    /// whole sandbox, usage of the main process only). Refused with --memory-limit,
    /// --pids-limit and --cpu-quota, which need one (use --rlimit as=… instead).
    #[arg(long, help_heading = JUDGE, conflicts_with_all = ["memory_limit", "pids_limit", "cpu_quota"])]
    pub no_cgroup: bool,

    /// Write the result (status, exit_status, signal, time, wall_time, memory, setup_time…)
    /// as JSON to PATH, or to an open fd with `fd:N`.
    #[arg(long, value_name = "PATH|fd:N", help_heading = JUDGE)]
    pub result_json: Option<String>,
}

impl JudgeArgs {
    /// Whether any judge flag was given.
    pub fn active(&self) -> bool {
        self.limits() != Limits::default()
            || self.cgroup_parent.is_some()
            || self.no_cgroup
            || self.result_json.is_some()
    }

    fn limits(&self) -> Limits {
        Limits {
            time: self.time_limit,
            wall_time: self.wall_time_limit,
            memory: self.memory_limit,
            pids: self.pids_limit,
            output: self.output_limit,
            cpu_quota: self.cpu_quota,
        }
    }
}

/// `2`, `1.5`, `1.5s`, `500ms`, `100us`, `2m` (minutes).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = t.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration: expected e.g. 2, 1.5s, 500ms"))?;
    if !value.is_finite() || value <= 0.0 {
        return Err(format!("`{s}`: a duration must be more than 0"));
    }
    Duration::try_from_secs_f64(value * scale).map_err(|e| format!("`{s}`: {e}"))
}

/// `256m`, `1g`, `64k`, `1048576` (bytes); suffixes are powers of 1024, case-insensitive, an
/// optional trailing `b`/`ib` allowed (`256MiB`).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let lower = s.trim().to_ascii_lowercase();
    let t = lower
        .strip_suffix("ib")
        .or_else(|| lower.strip_suffix('b'))
        .unwrap_or(&lower);
    let (num, shift) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 10),
        Some('m') => (&t[..t.len() - 1], 20),
        Some('g') => (&t[..t.len() - 1], 30),
        Some('t') => (&t[..t.len() - 1], 40),
        _ => (t, 0),
    };
    let bad = || format!("`{s}` is not a size: expected e.g. 256m, 1g, 64k or bytes");
    let value: f64 = num.parse().map_err(|_| bad())?;
    if !value.is_finite() || value <= 0.0 {
        return Err(format!("`{s}`: a size must be more than 0"));
    }
    let bytes = value * (1u64 << shift) as f64;
    if bytes >= u64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes.round() as u64)
}

fn parse_cpus(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.01 => Ok(v),
        _ => Err(format!(
            "`{s}` is not a CPU quota: expected a number of CPUs, at least 0.01"
        )),
    }
}

/// Opens `--result-json`'s target.
fn open_result(target: &str) -> Result<Box<dyn Write>, Fail> {
    if let Some(n) = target.strip_prefix("fd:") {
        let fd: i32 = n.parse().ok().filter(|&fd| fd >= 0).ok_or_else(|| {
            Fail::setup(format!("--result-json {target}: `{n}` is not an fd number"))
        })?;
        // SAFETY: F_GETFD only reads the fd's flags.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            return Err(Fail::setup(format!(
                "--result-json {target}: fd {fd} is not open"
            )));
        }
        // SAFETY: the caller handed us this open fd for the result; it is written once, and
        // forkexec-run exits right after.
        return Ok(Box::new(unsafe { std::fs::File::from_raw_fd(fd) }));
    }
    std::fs::File::create(target)
        .map(|f| Box::new(f) as Box<dyn Write>)
        .map_err(|e| Fail::setup(format!("--result-json {target}: {e}")))
}

/// Runs the spec under the judge flags, writes the result, and exits: with the program's exit
/// code, 128 + the signal that ended it (a limit's kill included), or 125 for a
/// `runner_error`.
pub fn run(mut spec: Spec, args: &JudgeArgs, die_with_parent: bool) -> ! {
    if die_with_parent {
        // As in a plain run: the sandbox dies with the process that ran forkexec-run.
        // SAFETY: prctl with integer arguments on this process.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    }
    // Killed with forkexec-run: the helper and the target get SIGKILL when it dies.
    spec.die_with_parent = true;
    stop_on_signals();
    let result_out = args.open_result().unwrap_or_else(|f| f.exit());
    // The new root's mount point, made and checked as in a plain run.
    crate::run::ensure_root(&spec).unwrap_or_else(|f| f.exit());
    crate::verbose::tell_spec(&spec);
    let judge = args
        .judge(Runner::from_spec(spec))
        .stop_when(&STOP)
        .stdout(Sink::Write(Box::new(std::io::stdout())))
        .stderr(Sink::Write(Box::new(std::io::stderr())));
    let result = judge.run().to_json_value();
    report(&result, result_out)
}

impl JudgeArgs {
    /// A [`Judge`] of `runner` with these limits and this cgroup choice; what an earlier
    /// forkexec-run (or `serve`) killed with SIGKILL left under the cgroup parent is reaped
    /// first ([`cgroup::reap_stale`]: only cgroups whose maker is gone).
    pub fn judge(&self, runner: Runner) -> Judge {
        let judge = Judge::new(runner).limits(self.limits());
        if self.no_cgroup {
            return judge.no_cgroup();
        }
        let parent = self.cgroup_parent();
        if let Ok(layout) = cgroup::Layout::detect() {
            cgroup::reap_stale(&layout, parent);
        }
        judge.cgroup_parent(parent)
    }

    /// Where per-run cgroups are made: `--cgroup-parent`, else [`cgroup::DEFAULT_PARENT`].
    pub fn cgroup_parent(&self) -> &str {
        self.cgroup_parent
            .as_deref()
            .unwrap_or(cgroup::DEFAULT_PARENT)
    }

    /// Whether a judged run gets a per-run cgroup (not with `--no-cgroup`).
    pub fn makes_cgroup(&self) -> bool {
        self.active() && !self.no_cgroup
    }

    /// Whether `id` is a judge flag's (or the group clap makes of them all).
    pub fn has_flag(id: &str) -> bool {
        let cmd = JudgeArgs::augment_args(Command::new("judge"));
        cmd.get_arguments().any(|a| a.get_id() == id) || cmd.get_groups().any(|g| g.get_id() == id)
    }

    /// Where `--result-json` goes, opened before the run so a bad target fails first.
    pub fn open_result(&self) -> Result<Option<Box<dyn Write>>, Fail> {
        self.result_json.as_deref().map(open_result).transpose()
    }

    /// The judge flags given on the command line `matches` was parsed from, as they were
    /// written (but `--result-json`, which is the caller's): what `--via` sends for the
    /// server to parse with [`JudgeArgs::from_flags`], the same parser.
    pub fn flags_given(matches: &ArgMatches) -> Vec<String> {
        let mut flags = Vec::new();
        let cmd = JudgeArgs::augment_args(Command::new("judge"));
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "result_json" || matches.value_source(id) != Some(ValueSource::CommandLine) {
                continue;
            }
            let Some(long) = arg.get_long() else { continue };
            if arg.get_action().takes_values() {
                for raw in matches.get_raw(id).into_iter().flatten() {
                    flags.push(format!("--{long}"));
                    flags.push(raw.to_string_lossy().into_owned());
                }
            } else {
                flags.push(format!("--{long}"));
            }
        }
        flags
    }

    /// The judge flags `flags` (as [`JudgeArgs::flags_given`] writes them), parsed as the
    /// command line parses them: the same values, the same conflicts, the same errors.
    pub fn from_flags(flags: &[String]) -> Result<JudgeArgs, String> {
        let cmd = JudgeArgs::augment_args(Command::new("judge").no_binary_name(true));
        let matches = cmd.try_get_matches_from(flags).map_err(|e| {
            let text = e.to_string();
            let line = text.lines().next().unwrap_or_default();
            line.trim_start_matches("error: ").to_string()
        })?;
        let args = JudgeArgs::from_arg_matches(&matches).map_err(|e| e.to_string())?;
        if args.result_json.is_some() {
            return Err("--result-json is the client's: the answer carries the result".into());
        }
        Ok(args)
    }
}

/// Writes a judged run's result (`JudgeResult::to_json_value`, a one-shot's or one a server
/// answered) to `--result-json` and tells it with `-v`, then exits as [`run`] says.
pub fn report(result: &Value, mut out: Option<Box<dyn Write>>) -> ! {
    crate::verbose::judged(&result.to_string());
    // (Kept open to the exit: `fd:2` is stderr, where the verdict goes next.)
    if let Some(out) = out.as_mut() {
        let written = writeln!(out, "{result}").and_then(|()| out.flush());
        if let Err(e) = written {
            Fail::setup(format!("--result-json: {e}")).exit();
        }
    }
    exit_with(result)
}

/// Set by SIGINT, SIGTERM, SIGHUP: the judge kills the sandbox and removes its cgroup, and
/// forkexec-run reports and exits.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(_: libc::c_int) {
    STOP.store(true, Ordering::Release);
}

fn stop_on_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction with a handler that only stores to an atomic.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_stop as *const () as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

fn exit_with(result: &Value) -> ! {
    let text = |key: &str| result.get(key).and_then(Value::as_str);
    let number = |key: &str| result.get(key).and_then(Value::as_i64).map(|n| n as i32);
    if let Some(e) = result.get("error").filter(|e| !e.is_null()) {
        let message = e.get("message").and_then(Value::as_str);
        Fail::setup(message.unwrap_or("the judge failed").to_string()).exit();
    }
    let status = text("status").unwrap_or("runner_error");
    if status != Status::Normal.name() && status != Status::NonzeroExitStatus.name() {
        let _ = writeln!(
            std::io::stderr(),
            "forkexec-run: {}{}",
            status,
            text("limit").map(|l| format!(" ({l})")).unwrap_or_default()
        );
    }
    if let Some(code) = number("exit_status") {
        std::process::exit(code);
    }
    std::process::exit(128 + number("signal").unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("fast")
            .unwrap_err()
            .contains("not a duration"));
        assert_eq!(parse_size("256m"), Ok(256 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert_eq!(parse_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_size("1.5k"), Ok(1536));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").unwrap_err().contains("not a size"));
        assert!(parse_cpus("0.5").is_ok());
        assert!(parse_cpus("0").is_err());
    }

    /// What `--via` sends is what was written, and the server's parse of it is the command
    /// line's.
    #[test]
    fn judge_flags_travel_as_written() {
        use clap::CommandFactory;
        let line = [
            "forkexec-run",
            "--via",
            "s",
            "--time-limit",
            "1.5s",
            "--pids-limit",
            "8",
            "--cgroup-parent",
            "x/y",
            "--result-json",
            "/tmp/r",
            "--setenv",
            "A",
            "1",
            "--",
            "true",
        ];
        let matches = crate::cli::Cli::command().get_matches_from(line);
        let cli = crate::cli::Cli::from_arg_matches(&matches).unwrap();
        let flags = JudgeArgs::flags_given(&matches);
        assert_eq!(
            flags,
            [
                "--time-limit",
                "1.5s",
                "--pids-limit",
                "8",
                "--cgroup-parent",
                "x/y"
            ]
        );
        let parsed = JudgeArgs::from_flags(&flags).unwrap();
        assert_eq!(parsed.limits(), cli.judge.limits());
        assert_eq!(parsed.cgroup_parent(), "x/y");
        assert!(parsed.result_json.is_none() && parsed.makes_cgroup());
        assert!(JudgeArgs::has_flag("no_cgroup") && !JudgeArgs::has_flag("cgroup"));
        let e = JudgeArgs::from_flags(&["--pids-limit".into(), "many".into()]).unwrap_err();
        assert!(e.contains("--pids-limit"), "{e}");
    }
}
