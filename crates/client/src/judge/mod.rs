//! [`Judge`]: run untrusted code under limits on the whole sandbox and get a
//! [`JudgeResult`] with a verdict ([`Status`]), as go-sandbox's `runner` and isolate do.
//!
//! A run:
//!
//! 1. a per-run cgroup ([`crate::cgroup`]) with the memory (swap included), pids and CPU
//!    quota limits, fresh or from a [`Pool`] (unless [`Judge::no_cgroup`]);
//! 2. the helper is placed in it before it is sent the spec (v1: [`Runner::on_spawn`]; v2: the
//!    helper's `CLONE_INTO_CGROUP` / `cgroup.procs` through `cgroup_fd`), so every process of
//!    the sandbox is in it from its first instruction;
//! 3. stdout and stderr are pipes read here, cut at the output limit;
//! 4. while it runs, the watcher wakes up when the process ends (pidfd) or every few ms to
//!    compare the cgroup's CPU time (all processes) with the time limit, the clock with the
//!    wall-time limit, the output with its limit; on any limit every process of the sandbox is
//!    killed (`cgroup.kill`, or freezer + SIGKILL on v1; without a cgroup: the process, and
//!    with a new pid namespace its init, which takes the namespace down);
//! 5. when the program ends, whatever it left in the cgroup is killed too, the usage is read
//!    (it survives the kill: the cgroup's counters), the cgroup removed or pooled.
//!
//! `RLIMIT_CPU` is set as a backstop (a second over the limit with a cgroup, at the limit
//! without one), and in a new pid namespace the target never runs as pid 1 (the helper's
//! init is), so that the kernel's SIGXCPU and SIGXFSZ reach it: a pid 1 ignores signals it
//! has no handler for.

mod output;
mod result;

pub use output::Sink;
pub use result::{JudgeResult, Limit, RunnerError, Status};

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cgroup::{self, Cgroup, Layout, Pool};
use crate::names::{Namespace, Resource};
use crate::pool::Sandbox;
use crate::process::{Process, WaitStatus};
use crate::runner::Runner;
use crate::server::ServedProcess;
use crate::spec::Rlimit;
use crate::sys;
use output::{Meter, Reader};

/// Limits on the whole sandbox. `None` is no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Limits {
    /// CPU time, user + system, summed over every process.
    pub time: Option<Duration>,
    /// Wall-clock time.
    pub wall_time: Option<Duration>,
    /// Memory in bytes, swap included.
    pub memory: Option<u64>,
    /// Processes and threads at once.
    pub pids: Option<u64>,
    /// Bytes written to stdout and stderr together.
    pub output: Option<u64>,
    /// CPU bandwidth, in CPUs.
    pub cpu_quota: Option<f64>,
}

impl Limits {
    fn cgroup(&self) -> cgroup::Limits {
        cgroup::Limits {
            memory: self.memory,
            pids: self.pids,
            cpu_quota: self.cpu_quota,
        }
    }

    fn any(&self) -> bool {
        *self != Limits::default()
    }
}

/// Where the per-run cgroup comes from.
#[derive(Clone, Debug)]
pub enum CgroupMode {
    /// A new one under this parent (relative to each hierarchy's mount), removed after the
    /// run.
    Fresh {
        /// The parent directory, relative to each hierarchy's mount.
        parent: String,
    },
    /// One from this pool, given back after the run.
    Pooled(Arc<Pool>),
    /// None: rlimits only (CPU time per process, no memory or pids limit on the whole
    /// sandbox, no usage summed over processes).
    Off,
}

/// How often the watcher looks at the CPU time and the output while the program runs.
pub const TICK: Duration = Duration::from_millis(5);

/// A judged run: a [`Runner`] plus [`Limits`].
///
/// ```no_run
/// use std::time::Duration;
/// use forkexec_client::judge::{Judge, Limits, Status};
/// use forkexec_client::Runner;
///
/// let result = Judge::new(Runner::new(["/usr/bin/python3", "-c", "while 1: pass"]))
///     .limits(Limits {
///         time: Some(Duration::from_secs(1)),
///         memory: Some(256 << 20),
///         ..Limits::default()
///     })
///     .run();
/// assert_eq!(result.status, Status::TimeLimitExceeded);
/// println!("{}", result.to_json());
/// ```
pub struct Judge {
    runner: Runner,
    limits: Limits,
    cgroup: CgroupMode,
    layout: Option<Layout>,
    stdout: Sink,
    stderr: Sink,
    stop: Option<StopWhen>,
}

/// What [`Judge::stop_when`] / [`Judge::stop_if`] watch: asked at every tick.
type StopWhen = Box<dyn FnMut() -> bool + Send>;

impl Judge {
    /// Judges `runner`'s program; stdout and stderr are captured into the result.
    pub fn new(runner: Runner) -> Judge {
        Judge {
            runner,
            limits: Limits::default(),
            cgroup: CgroupMode::Fresh {
                parent: cgroup::DEFAULT_PARENT.to_owned(),
            },
            layout: None,
            stdout: Sink::Capture,
            stderr: Sink::Capture,
            stop: None,
        }
    }

    /// Kill the sandbox as soon as `flag` is set (e.g. by a SIGINT handler); the result is
    /// then `signalled` with SIGKILL.
    pub fn stop_when(self, flag: &'static AtomicBool) -> Self {
        self.stop_if(move || flag.load(Ordering::Acquire))
    }

    /// Kill the sandbox as soon as `stop` says so: it is asked at every tick of the watcher
    /// ([`TICK`]) while the program runs (e.g. whether the client a server runs it for has
    /// hung up); the result is then `signalled` with SIGKILL.
    pub fn stop_if(mut self, stop: impl FnMut() -> bool + Send + 'static) -> Self {
        self.stop = Some(Box::new(stop));
        self
    }

    /// The limits on the whole sandbox.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Where per-run cgroups are made (default [`cgroup::DEFAULT_PARENT`]).
    pub fn cgroup_parent(mut self, parent: impl Into<String>) -> Self {
        self.cgroup = CgroupMode::Fresh {
            parent: parent.into(),
        };
        self
    }

    /// Take the cgroup from `pool`.
    pub fn pool(mut self, pool: Arc<Pool>) -> Self {
        self.cgroup = CgroupMode::Pooled(pool);
        self
    }

    /// No cgroup: rlimits only.
    pub fn no_cgroup(mut self) -> Self {
        self.cgroup = CgroupMode::Off;
        self
    }

    /// The cgroup layout to use instead of detecting it.
    pub fn layout(mut self, layout: Layout) -> Self {
        self.layout = Some(layout);
        self
    }

    /// Where the program's stdout goes (default: captured into the result).
    pub fn stdout(mut self, sink: Sink) -> Self {
        self.stdout = sink;
        self
    }

    /// Where the program's stderr goes (default: captured into the result).
    pub fn stderr(mut self, sink: Sink) -> Self {
        self.stderr = sink;
        self
    }

    /// Runs the program to its end (or a limit's) and says how it went. Never fails: a
    /// sandbox that cannot be set up is a `runner_error` result.
    pub fn run(self) -> JudgeResult {
        self.run_on(None)
    }

    /// [`Judge::run`] as one run of a warm sandbox ([`Sandbox::run`]; a pool's next one:
    /// [`crate::Pool::next_sandbox`]): the runner brings the run's own settings, the sandbox
    /// its namespaces, root and mounts. The per-run cgroup is entered by the run's init and
    /// program at its sync point ([`Sandbox::run_in`]) instead of by the helper; limits,
    /// usage and verdicts are then the same as for a one-shot run.
    pub fn run_in(self, sandbox: &Sandbox) -> JudgeResult {
        self.run_on(Some(sandbox))
    }

    fn run_on(self, sandbox: Option<&Sandbox>) -> JudgeResult {
        let began = Instant::now();
        let Judge {
            mut runner,
            limits,
            cgroup: mode,
            layout,
            stdout,
            stderr,
            mut stop,
        } = self;
        let fail = |e: RunnerError| JudgeResult::runner_error(e, began.elapsed());

        // 1. The cgroup.
        if let (CgroupMode::Off, Some(what)) = (&mode, needs_cgroup(&limits)) {
            return fail(RunnerError::message(format!(
                "{what} needs a cgroup, and no_cgroup was asked: without one only rlimits \
                 apply (RLIMIT_AS for memory, per process)"
            )));
        }
        let cg = match make_cgroup(&mode, layout, &limits) {
            Ok(cg) => cg,
            Err(e) => return fail(RunnerError::message(e.to_string())),
        };
        let kind = cg.as_ref().map(|c| c.kind().name());
        // 2. Placement, rlimits, init, output pipes.
        let placed = match prepare(&mut runner, cg.as_ref(), &limits, sandbox.is_none()) {
            Ok(p) => p,
            Err(e) => return finish_cgroup(&mode, cg, fail(RunnerError::message(e))),
        };
        let meter = Arc::new(Meter::default());
        let mut readers = Vec::new();
        let mut ends = Vec::new();
        for (fd, sink) in [(1usize, stdout), (2, stderr)] {
            if runner.spec.files.get(fd).is_some_and(|&f| f < 0) {
                continue; // closed on purpose
            }
            let (read, write) = match sys::pipe() {
                Ok(p) => p,
                Err(e) => {
                    let e = RunnerError::message(format!("pipe: {e}"));
                    return finish_cgroup(&mode, cg, fail(e));
                }
            };
            while runner.spec.files.len() <= fd {
                let next = runner.spec.files.len() as i32;
                runner.spec.files.push(next);
            }
            runner.spec.files[fd] = write.as_raw_fd();
            readers.push((fd, Reader::spawn(read, sink, limits.output, meter.clone())));
            ends.push(write);
        }
        let seccomp = !runner.spec.seccomp.is_empty();

        // 3. Start.
        let started = match (sandbox, &cg) {
            (None, _) => runner.start().map(Started::Local),
            (Some(s), Some(cg)) => s.run_in(runner, cg).map(Started::Served),
            (Some(s), None) => s.run(runner).map(Started::Served),
        };
        drop(ends);
        drop(placed);
        let setup_time = began.elapsed();
        let mut process = match started {
            Ok(p) => p,
            Err(e) => {
                meter.stop.store(true, Ordering::Release);
                let mut r = fail(RunnerError::from_start(&e));
                r.setup_time = setup_time;
                return finish_cgroup(&mode, cg, r);
            }
        };
        let ran = Instant::now();

        // 4. Watch.
        let mut reason = None;
        let mut stopped = false;
        let status = loop {
            let tick = match limits.wall_time {
                Some(w) => TICK.min(w.saturating_sub(ran.elapsed())),
                None => TICK,
            };
            match process.wait_timeout(tick) {
                Ok(Some(s)) if s.code().is_some() || s.signal().is_some() => break Ok(s),
                Ok(_) => {}
                Err(e) => break Err(e),
            }
            if reason.is_some() || stopped {
                continue; // killed: waiting for the end
            }
            if stop.as_mut().is_some_and(|f| f()) {
                stopped = true;
                kill_all(cg.as_ref(), &process);
                continue;
            }
            let over_cpu = match (limits.time, &cg) {
                (Some(t), Some(cg)) => cg.cpu_time() >= t,
                _ => false,
            };
            reason = if meter.exceeded.load(Ordering::Acquire) {
                Some(Limit::Output)
            } else if over_cpu {
                Some(Limit::Cpu)
            } else if limits.wall_time.is_some_and(|w| ran.elapsed() >= w) {
                Some(Limit::Wall)
            } else {
                None
            };
            if reason.is_some() {
                kill_all(cg.as_ref(), &process);
            }
        };
        let wall_time = ran.elapsed();
        // Whatever the program left behind goes too.
        if let Some(cg) = &cg {
            let _ = cg.kill();
        }
        let status = match status {
            Ok(s) => s,
            Err(e) => {
                let e = RunnerError::message(format!("waiting for the program: {e}"));
                return finish_cgroup(&mode, cg, fail(e));
            }
        };
        meter.stop.store(true, Ordering::Release);
        let mut captured = [Vec::new(), Vec::new()];
        for (fd, reader) in readers {
            captured[fd - 1] = reader.finish(Duration::from_millis(500));
        }
        // Past the output limit and ended before the watcher's next tick saw it: the
        // verdict is the limit's all the same.
        if reason.is_none() && meter.exceeded.load(Ordering::Acquire) {
            reason = Some(Limit::Output);
        }
        let usage = cg.as_ref().map(Cgroup::usage).unwrap_or_default();
        let rusage = status.rusage;
        let time = if cg.is_some() {
            usage.cpu
        } else {
            rusage.user_time + rusage.system_time
        };
        // The cgroup's peak when there is one: ru_maxrss counts the runtime's own RSS from
        // before the helper's exec (the helper starts as a fork of this process).
        let memory = match usage.memory_peak {
            0 => rusage.max_rss_kib * 1024,
            peak => peak,
        };

        let (status_kind, limit) = verdict(&VerdictInput {
            reason,
            code: status.code(),
            signal: status.signal(),
            time,
            limits: &limits,
            oom_kills: usage.oom_kills,
            memory_limit_hits: usage.memory_limit_hits,
            seccomp,
        });
        let [stdout, stderr] = captured;
        let result = JudgeResult {
            status: status_kind,
            exit_status: status.code(),
            signal: status.signal(),
            limit,
            time,
            wall_time,
            memory,
            setup_time,
            error: None,
            cgroup: kind,
            output_bytes: meter.total.load(Ordering::Acquire),
            pids_limit_hit: usage.pids_limit_hits > 0,
            stdout,
            stderr,
        };
        finish_cgroup(&mode, cg, result)
    }
}

/// The limit only a cgroup can enforce, if one is asked for.
fn needs_cgroup(limits: &Limits) -> Option<&'static str> {
    if limits.memory.is_some() {
        Some("a memory limit")
    } else if limits.pids.is_some() {
        Some("a pids limit")
    } else if limits.cpu_quota.is_some() {
        Some("a CPU quota")
    } else {
        None
    }
}

fn make_cgroup(
    mode: &CgroupMode,
    layout: Option<Layout>,
    limits: &Limits,
) -> Result<Option<Cgroup>, cgroup::CgroupError> {
    match mode {
        CgroupMode::Off => Ok(None),
        CgroupMode::Pooled(pool) => pool.get(&limits.cgroup()).map(Some),
        CgroupMode::Fresh { parent } => {
            let layout = match layout {
                Some(l) => l,
                None => Layout::detect().map_err(|e| cgroup::CgroupError {
                    message: format!("reading /proc/self/mountinfo: {e}"),
                    source: Some(e),
                })?,
            };
            Cgroup::create(&layout, parent, &limits.cgroup()).map(Some)
        }
    }
}

/// Gives the cgroup back (pool) or removes it, and returns `result`.
fn finish_cgroup(mode: &CgroupMode, cg: Option<Cgroup>, result: JudgeResult) -> JudgeResult {
    if let Some(cg) = cg {
        match mode {
            CgroupMode::Pooled(pool) => pool.put(cg),
            _ => {
                let _ = cg.remove();
            }
        }
    }
    result
}

/// Sets up placement (by the helper: `local`; a warm sandbox's run is placed at its sync
/// point instead), the CPU rlimit backstop and init; returns what must stay open until the
/// helper has started (the v2 directory's fd).
fn prepare(
    runner: &mut Runner,
    cg: Option<&Cgroup>,
    limits: &Limits,
    local: bool,
) -> Result<Vec<OwnedFd>, String> {
    let mut keep = Vec::new();
    if let Some(cg) = cg.filter(|_| local) {
        if let Some(dir) = cg.clone_into() {
            if runner.spec.cgroup.is_empty() && runner.spec.cgroup_fd.is_none() {
                let fd = std::fs::File::open(dir)
                    .map_err(|e| format!("opening {}: {e}", dir.display()))?;
                let fd = OwnedFd::from(fd);
                runner.spec.cgroup_fd = Some(fd.as_raw_fd());
                keep.push(fd);
            }
        }
        let dirs = cg.place_dirs();
        if !dirs.is_empty() {
            take_on_spawn(runner, move |pid| cgroup::place_into(&dirs, pid));
        }
    }
    if let Some(t) = limits.time {
        let has_cpu = runner
            .spec
            .rlimits
            .iter()
            .any(|r| r.resource == Resource::Cpu);
        if !has_cpu {
            // Whole seconds; one more with a cgroup, which is what enforces the limit.
            let secs = t.as_secs() + u64::from(t.subsec_nanos() > 0) + u64::from(cg.is_some());
            runner
                .spec
                .rlimits
                .push(Rlimit::new(Resource::Cpu, secs, secs + 1));
        }
    }
    if limits.any() && runner.spec.clone_flags.contains(&Namespace::NewPid) && !runner.spec.detach {
        // Never pid 1: the kernel's SIGXCPU/SIGXFSZ must reach the target.
        runner.spec.init = true;
    }
    Ok(keep)
}

fn take_on_spawn<F>(runner: &mut Runner, hook: F)
where
    F: FnOnce(u32) -> Result<(), cgroup::CgroupError> + Send + 'static,
{
    let r = std::mem::replace(runner, Runner::new(Vec::<String>::new()));
    *runner = r.on_spawn(hook);
}

/// The program judged: a one-shot's helper, or a warm sandbox's run.
enum Started {
    Local(Process),
    Served(ServedProcess),
}

impl Started {
    fn wait_timeout(&mut self, timeout: Duration) -> std::io::Result<Option<WaitStatus>> {
        match self {
            Started::Local(p) => p.wait_timeout(timeout),
            Started::Served(p) => p.wait_timeout(timeout),
        }
    }

    fn kill(&self, sig: i32) -> std::io::Result<()> {
        match self {
            Started::Local(p) => p.kill(sig),
            Started::Served(p) => p.kill(sig),
        }
    }
}

/// Kills every process of the sandbox.
fn kill_all(cg: Option<&Cgroup>, process: &Started) {
    if let Some(cg) = cg {
        let _ = cg.kill();
    }
    let _ = process.kill(libc::SIGKILL);
}

struct VerdictInput<'a> {
    reason: Option<Limit>,
    code: Option<i32>,
    signal: Option<i32>,
    time: Duration,
    limits: &'a Limits,
    oom_kills: u64,
    memory_limit_hits: u64,
    seccomp: bool,
}

/// The status, from what ended the run and what the kernel counted.
fn verdict(v: &VerdictInput<'_>) -> (Status, Option<Limit>) {
    match v.reason {
        Some(Limit::Output) => return (Status::OutputLimitExceeded, Some(Limit::Output)),
        Some(Limit::Cpu) => return (Status::TimeLimitExceeded, Some(Limit::Cpu)),
        Some(Limit::Wall) => return (Status::TimeLimitExceeded, Some(Limit::Wall)),
        Some(Limit::Memory) | None => {}
    }
    let success = v.code == Some(0);
    if v.limits.time.is_some_and(|t| v.time >= t) && !success || v.signal == Some(libc::SIGXCPU) {
        return (Status::TimeLimitExceeded, Some(Limit::Cpu));
    }
    if v.oom_kills > 0 || v.limits.memory.is_some() && v.memory_limit_hits > 0 && !success {
        return (Status::MemoryLimitExceeded, Some(Limit::Memory));
    }
    if v.signal == Some(libc::SIGXFSZ) {
        return (Status::OutputLimitExceeded, Some(Limit::Output));
    }
    if v.signal == Some(libc::SIGSYS) && v.seccomp {
        return (Status::DangerousSyscall, None);
    }
    if v.signal.is_some() {
        return (Status::Signalled, None);
    }
    if success {
        (Status::Normal, None)
    } else {
        (Status::NonzeroExitStatus, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(limits: &Limits) -> VerdictInput<'_> {
        VerdictInput {
            reason: None,
            code: Some(0),
            signal: None,
            time: Duration::from_millis(10),
            limits,
            oom_kills: 0,
            memory_limit_hits: 0,
            seccomp: true,
        }
    }

    #[test]
    fn verdicts() {
        let l = Limits {
            time: Some(Duration::from_secs(1)),
            memory: Some(1 << 20),
            ..Limits::default()
        };
        let v = |f: &dyn Fn(&mut VerdictInput)| {
            let mut i = input(&l);
            f(&mut i);
            verdict(&i)
        };
        assert_eq!(v(&|_| {}), (Status::Normal, None));
        assert_eq!(v(&|i| i.code = Some(3)).0, Status::NonzeroExitStatus);
        let killed = |i: &mut VerdictInput| {
            i.code = None;
            i.signal = Some(libc::SIGKILL);
        };
        assert_eq!(v(&killed).0, Status::Signalled);
        assert_eq!(
            v(&|i| {
                killed(i);
                i.oom_kills = 1
            }),
            (Status::MemoryLimitExceeded, Some(Limit::Memory))
        );
        assert_eq!(
            v(&|i| {
                killed(i);
                i.time = Duration::from_secs(2)
            }),
            (Status::TimeLimitExceeded, Some(Limit::Cpu))
        );
        assert_eq!(
            v(&|i| {
                killed(i);
                i.reason = Some(Limit::Wall)
            }),
            (Status::TimeLimitExceeded, Some(Limit::Wall))
        );
        assert_eq!(
            v(&|i| {
                i.code = Some(1);
                i.memory_limit_hits = 4
            })
            .0,
            Status::MemoryLimitExceeded
        );
        assert_eq!(
            v(&|i| {
                i.code = None;
                i.signal = Some(libc::SIGXFSZ)
            })
            .0,
            Status::OutputLimitExceeded
        );
        assert_eq!(
            v(&|i| {
                i.code = None;
                i.signal = Some(libc::SIGSYS)
            })
            .0,
            Status::DangerousSyscall
        );
        assert_eq!(
            v(&|i| i.reason = Some(Limit::Output)).0,
            Status::OutputLimitExceeded
        );
    }
}
