//! Per-run cgroups, made, limited, read, emptied and removed by the runtime (the helper only
//! places the target: [`crate::Runner::cgroup_fd`]).
//!
//! Works on cgroup v1, v2 and hybrid machines ([`Layout::detect`]):
//!
//! - **v2**: one directory `<v2 root>/<parent>/<name>`, with `memory.max`, `memory.swap.max`,
//!   `pids.max`, `cpu.max`; usage from `cpu.stat`, `memory.peak`, `memory.events`; placement by
//!   the helper (`CLONE_INTO_CGROUP`, or `cgroup.procs` in place) through `cgroup_fd`; kill
//!   with `cgroup.kill`.
//! - **v1**: one directory per hierarchy (`memory`, `pids`, `cpuacct`, `freezer`, and `cpu`
//!   for a quota), `<mount>/<parent>/<name>`; `memory.limit_in_bytes` and
//!   `memory.memsw.limit_in_bytes` (swap included, when swap accounting exists), `pids.max`,
//!   `cpu.cfs_quota_us`; usage from `cpuacct.usage`, `memory.max_usage_in_bytes`,
//!   `memory.oom_control`; placement by writing the helper's pid into each `cgroup.procs`
//!   before it is sent the spec ([`crate::Runner::on_spawn`]), so everything it starts is in
//!   them; kill by freezing, SIGKILLing every member and thawing.
//! - **hybrid**: the v1 directories for the limits, and a v2 directory as well when the v2
//!   tree is writable: placement through `cgroup_fd`, `cgroup.kill`, `cgroup.events`.
//!
//! A [`Pool`] keeps emptied cgroups for reuse (directory creation and, on v1, the first moves
//! into a new cgroup are what a run pays for: `make bench`).

mod layout;
mod pool;

pub use layout::{Kind, Layout, CPU, CPUACCT, FREEZER, MEMORY, PIDS};
pub use pool::Pool;

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Limits a cgroup puts on everything in it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Limits {
    /// Memory in bytes, swap included.
    pub memory: Option<u64>,
    /// Number of processes (and threads).
    pub pids: Option<u64>,
    /// CPU bandwidth in CPUs (1.0 = one CPU's worth per period).
    pub cpu_quota: Option<f64>,
}

/// What a cgroup's members used, summed over all of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// CPU time, user + system.
    pub cpu: Duration,
    /// Peak memory in bytes (0 when the kernel does not say).
    pub memory_peak: u64,
    /// Processes the OOM killer killed here.
    pub oom_kills: u64,
    /// Times the memory limit was hit (a charge failed or had to reclaim).
    pub memory_limit_hits: u64,
    /// Times a fork or clone was refused by the pids limit.
    pub pids_limit_hits: u64,
}

/// Why a cgroup could not be made or used: what, where, and the OS error.
#[derive(Debug)]
pub struct CgroupError {
    /// What could not be done, and where.
    pub message: String,
    /// The OS error, when there is one.
    pub source: Option<io::Error>,
}

impl CgroupError {
    fn new(message: impl Into<String>) -> Self {
        CgroupError {
            message: message.into(),
            source: None,
        }
    }
    fn io(what: impl fmt::Display, e: io::Error) -> Self {
        let hint = if matches!(
            e.raw_os_error(),
            Some(libc::EACCES | libc::EPERM | libc::EROFS)
        ) {
            format!(
                " (as uid {}: a per-run cgroup needs root, or a delegated cgroup v2 subtree \
                 given with --cgroup-parent; without one, --no-cgroup runs with rlimits only: \
                 CPU time of each process, no memory or pids limit on the whole sandbox)",
                crate::sys::effective_ids().0
            )
        } else {
            String::new()
        };
        CgroupError {
            message: format!("{what}: {e}{hint}"),
            source: Some(e),
        }
    }
}

impl fmt::Display for CgroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CgroupError {}

/// The default parent of per-run cgroups, under each hierarchy's mount point.
pub const DEFAULT_PARENT: &str = "forkexec";

/// One per-run cgroup: a directory in each hierarchy it uses. Dropping it kills what is
/// still in it and removes the directories (a [`Pool`] takes it back instead).
#[derive(Debug)]
pub struct Cgroup {
    kind: Kind,
    /// v1: (controllers, directory), one per hierarchy used.
    v1: Vec<(Vec<&'static str>, PathBuf)>,
    /// v2: the directory (with the controllers on v2, for placement and kill on hybrid).
    v2: Option<PathBuf>,
    /// Counters at the start of this use (a reused cgroup keeps its kernel counters).
    base: Usage,
    /// v2 `memory.peak`, open so that a reused cgroup can reset it (per open file).
    peak: Option<File>,
    /// Whether dropping removes the directories.
    owned: bool,
    /// Whether `cgroup.kill` was written to the v2 directory: from then on this kernel kills
    /// every process cloned into it with `CLONE_INTO_CGROUP` (seen on 6.18: the clone's kill
    /// sequence is compared with the wrong cgroup's), so a reused cgroup is entered through
    /// `cgroup.procs` instead.
    v2_killed: AtomicBool,
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A name no other run of this or another process uses at the same time.
fn unique_name() -> String {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    format!("run-{}-{n}", std::process::id())
}

fn relative(parent: &str) -> &Path {
    Path::new(parent.trim_start_matches('/'))
}

impl Cgroup {
    /// Makes a new cgroup `<mount>/<parent>/<unique name>` in each hierarchy needed (the
    /// parent is created if missing) and sets `limits`. On any error nothing is left behind.
    pub fn create(layout: &Layout, parent: &str, limits: &Limits) -> Result<Cgroup, CgroupError> {
        let kind = layout.kind().ok_or_else(|| {
            CgroupError::new(format!(
                "no memory controller: neither a v1 memory hierarchy nor a cgroup2 tree that \
                 offers it ({layout})"
            ))
        })?;
        let name = unique_name();
        let mut cg = Cgroup {
            kind,
            v1: Vec::new(),
            v2: None,
            base: Usage::default(),
            peak: None,
            owned: true,
            v2_killed: AtomicBool::new(false),
        };
        let parent = relative(parent);
        match kind {
            Kind::V2 => {
                let root = layout.v2.as_ref().expect("v2 kind has a v2 mount");
                let wanted: Vec<&str> = [MEMORY, PIDS, CPU]
                    .into_iter()
                    .filter(|c| layout.v2_has(c))
                    .collect();
                let dir = make_v2(root, parent, &name, &wanted)?;
                cg.v2 = Some(dir);
            }
            Kind::V1 | Kind::Hybrid => {
                let mut wanted = vec![MEMORY, PIDS, CPUACCT, FREEZER];
                if limits.cpu_quota.is_some() {
                    wanted.push(CPU);
                }
                for c in wanted {
                    let Some(mount) = layout.v1_mount(c) else {
                        if c == MEMORY || c == CPUACCT || limits.cpu_quota.is_some() && c == CPU {
                            return Err(CgroupError::new(format!(
                                "no v1 {c} hierarchy ({layout})"
                            )));
                        }
                        if c == PIDS && limits.pids.is_some() {
                            return Err(CgroupError::new(format!(
                                "no pids controller for --pids-limit ({layout})"
                            )));
                        }
                        continue;
                    };
                    if let Some((cs, _)) = cg.v1.iter_mut().find(|(_, d)| d.starts_with(mount)) {
                        cs.push(c);
                        continue;
                    }
                    let dir = mount.join(parent).join(&name);
                    let made = fs::create_dir_all(mount.join(parent))
                        .and_then(|()| fs::create_dir(&dir))
                        .map_err(|e| CgroupError::io(format!("creating {}", dir.display()), e));
                    if let Err(e) = made {
                        drop(cg);
                        return Err(e);
                    }
                    cg.v1.push((vec![c], dir));
                }
                // The v2 tree of a hybrid machine, when we may use it: placement and kill.
                if kind == Kind::Hybrid {
                    if let Some(root) = &layout.v2 {
                        cg.v2 = make_v2(root, parent, &name, &[]).ok();
                    }
                }
            }
        }
        if let Err(e) = cg.set_limits(limits) {
            drop(cg);
            return Err(e);
        }
        cg.open_peak();
        cg.base = cg.raw_usage();
        Ok(cg)
    }

    /// A cgroup over existing directories (not removed on drop): for tests against scratch
    /// directories and for callers that manage their own.
    pub fn at(kind: Kind, v1: Vec<(Vec<&'static str>, PathBuf)>, v2: Option<PathBuf>) -> Cgroup {
        let mut cg = Cgroup {
            kind,
            v1,
            v2,
            base: Usage::default(),
            peak: None,
            owned: false,
            v2_killed: AtomicBool::new(false),
        };
        cg.open_peak();
        cg
    }

    /// The layout this cgroup was made for.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Every directory of this cgroup.
    pub fn dirs(&self) -> impl Iterator<Item = &Path> {
        self.v1
            .iter()
            .map(|(_, d)| d.as_path())
            .chain(self.v2.as_deref())
    }

    /// The v2 directory, if any.
    pub fn v2_dir(&self) -> Option<&Path> {
        self.v2.as_deref()
    }

    /// The v2 directory for the helper's placement ([`crate::Runner::cgroup_fd`]:
    /// `CLONE_INTO_CGROUP`), unless [`Cgroup::place`] does it (after a `cgroup.kill`).
    pub fn clone_into(&self) -> Option<&Path> {
        self.v2
            .as_deref()
            .filter(|_| !self.v2_killed.load(Ordering::Acquire))
    }

    /// The directories [`Cgroup::place`] writes a pid into: every v1 directory, and the v2
    /// one when [`Cgroup::clone_into`] does not name it.
    pub fn place_dirs(&self) -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = self.v1.iter().map(|(_, d)| d.clone()).collect();
        if let (Some(v2), true) = (&self.v2, self.v2_killed.load(Ordering::Acquire)) {
            dirs.push(v2.clone());
        }
        dirs
    }

    fn dir_of(&self, controller: &str) -> Option<&Path> {
        if self.kind == Kind::V2 {
            return self.v2.as_deref();
        }
        self.v1
            .iter()
            .find(|(cs, _)| cs.contains(&controller))
            .map(|(_, d)| d.as_path())
    }

    /// Writes the limits (an absent one is lifted: "max" / -1).
    pub fn set_limits(&self, limits: &Limits) -> Result<(), CgroupError> {
        if self.kind == Kind::V2 {
            let dir = self.v2.as_deref().expect("a v2 cgroup has its directory");
            let mem = limits.memory.map_or("max".to_owned(), |m| m.to_string());
            write_file(dir, "memory.max", &mem)?;
            // No swap: the memory limit is all the sandbox gets (skipped when the kernel has
            // no swap accounting).
            write_optional(
                dir,
                "memory.swap.max",
                if limits.memory.is_some() { "0" } else { "max" },
            )?;
            let pids = limits.pids.map_or("max".to_owned(), |p| p.to_string());
            write_file(dir, "pids.max", &pids)?;
            if dir.join("cpu.max").exists() || limits.cpu_quota.is_some() {
                write_file(dir, "cpu.max", &cpu_max(limits.cpu_quota))?;
            }
            return Ok(());
        }
        if let Some(dir) = self.dir_of(MEMORY) {
            let mem = limits.memory.map_or("-1".to_owned(), |m| m.to_string());
            set_v1_memory(dir, &mem)?;
        }
        match self.dir_of(PIDS) {
            Some(dir) => {
                let pids = limits.pids.map_or("max".to_owned(), |p| p.to_string());
                write_file(dir, "pids.max", &pids)?;
            }
            None if limits.pids.is_some() => {
                return Err(CgroupError::new("no pids hierarchy for the pids limit"));
            }
            None => {}
        }
        match self.dir_of(CPU) {
            Some(dir) => {
                let (quota, period) = match limits.cpu_quota {
                    Some(q) => ((q * 100_000.0).round().max(1000.0) as i64, 100_000),
                    None => (-1, 100_000),
                };
                write_file(dir, "cpu.cfs_period_us", &period.to_string())?;
                write_file(dir, "cpu.cfs_quota_us", &quota.to_string())?;
            }
            None if limits.cpu_quota.is_some() => {
                return Err(CgroupError::new("no cpu hierarchy for the CPU quota"));
            }
            None => {}
        }
        Ok(())
    }

    /// Moves process `pid` into [`Cgroup::place_dirs`] (its future children follow).
    pub fn place(&self, pid: u32) -> Result<(), CgroupError> {
        place_into(&self.place_dirs(), pid)
    }

    /// What the members used since this cgroup was made (or taken from the pool).
    pub fn usage(&self) -> Usage {
        let raw = self.raw_usage();
        Usage {
            cpu: raw.cpu.saturating_sub(self.base.cpu),
            memory_peak: raw.memory_peak,
            oom_kills: raw.oom_kills.saturating_sub(self.base.oom_kills),
            memory_limit_hits: raw
                .memory_limit_hits
                .saturating_sub(self.base.memory_limit_hits),
            pids_limit_hits: raw
                .pids_limit_hits
                .saturating_sub(self.base.pids_limit_hits),
        }
    }

    /// The CPU time used so far (read often while a run goes on).
    pub fn cpu_time(&self) -> Duration {
        self.cpu_raw().saturating_sub(self.base.cpu)
    }

    fn cpu_raw(&self) -> Duration {
        if self.kind == Kind::V2 {
            let dir = self.v2.as_deref().expect("v2 dir");
            let usec = keyed(dir, "cpu.stat", "usage_usec").unwrap_or(0);
            return Duration::from_micros(usec);
        }
        self.dir_of(CPUACCT)
            .and_then(|d| read_u64(d, "cpuacct.usage"))
            .map_or(Duration::ZERO, Duration::from_nanos)
    }

    fn raw_usage(&self) -> Usage {
        let cpu = self.cpu_raw();
        if self.kind == Kind::V2 {
            let dir = self.v2.as_deref().expect("v2 dir");
            let peak = self.read_peak().unwrap_or(0);
            return Usage {
                cpu,
                memory_peak: peak,
                oom_kills: keyed(dir, "memory.events", "oom_kill").unwrap_or(0),
                memory_limit_hits: keyed(dir, "memory.events", "max").unwrap_or(0),
                pids_limit_hits: keyed(dir, "pids.events", "max").unwrap_or(0),
            };
        }
        let mem = self.dir_of(MEMORY);
        let pids = self.dir_of(PIDS);
        Usage {
            cpu,
            memory_peak: mem
                .and_then(|d| {
                    read_u64(d, "memory.memsw.max_usage_in_bytes")
                        .or_else(|| read_u64(d, "memory.max_usage_in_bytes"))
                })
                .unwrap_or(0),
            oom_kills: mem
                .and_then(|d| keyed(d, "memory.oom_control", "oom_kill"))
                .unwrap_or(0),
            memory_limit_hits: mem
                .and_then(|d| {
                    let memsw = read_u64(d, "memory.memsw.failcnt").unwrap_or(0);
                    Some(read_u64(d, "memory.failcnt")?.max(memsw))
                })
                .unwrap_or(0),
            pids_limit_hits: pids
                .and_then(|d| keyed(d, "pids.events", "max"))
                .unwrap_or(0),
        }
    }

    fn open_peak(&mut self) {
        if self.kind == Kind::V2 {
            let dir = self.v2.as_deref().expect("v2 dir");
            self.peak = OpenOptions::new()
                .read(true)
                .write(true)
                .open(dir.join("memory.peak"))
                .or_else(|_| File::open(dir.join("memory.peak")))
                .ok();
        }
    }

    fn read_peak(&self) -> Option<u64> {
        let mut file = self.peak.as_ref()?;
        file.rewind().ok()?;
        let mut s = String::new();
        file.read_to_string(&mut s).ok()?;
        s.trim().parse().ok()
    }

    /// The pids in this cgroup (in any of its directories).
    pub fn procs(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = self
            .dirs()
            .flat_map(|d| {
                fs::read_to_string(d.join("cgroup.procs"))
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|l| l.trim().parse().ok())
                    .collect::<Vec<u32>>()
            })
            .collect();
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// Whether no process is left in it. On v2 (and the v2 part of hybrid) `cgroup.events`
    /// says so for the whole subtree; on v1 every directory's `cgroup.procs` is empty.
    pub fn is_empty(&self) -> bool {
        if let Some(dir) = &self.v2 {
            if let Some(populated) = keyed(dir, "cgroup.events", "populated") {
                if populated != 0 {
                    return false;
                }
            }
        }
        self.procs().is_empty()
    }

    /// Kills every process in the cgroup and waits (up to 5 s) until none is left:
    /// `cgroup.kill` on v2 (kernel 5.14+), else the v1 freezer (freeze, SIGKILL each member,
    /// thaw), else SIGKILL passes over `cgroup.procs` until it stays empty.
    pub fn kill(&self) -> io::Result<()> {
        let killed_v2 = match &self.v2 {
            Some(dir) if dir.join("cgroup.kill").exists() => {
                self.v2_killed.store(true, Ordering::Release);
                write_file(dir, "cgroup.kill", "1").map_err(to_io)?;
                true
            }
            _ => false,
        };
        if !killed_v2 {
            match self.dir_of(FREEZER).filter(|_| self.kind != Kind::V2) {
                Some(freezer) => self.kill_frozen(freezer)?,
                None => self.kill_pass(),
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.is_empty() {
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("processes left in the cgroup: {:?}", self.procs()),
                ));
            }
            // Members frozen or forked between passes: kill again.
            self.kill_pass();
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }

    /// v1: freezing stops every member where it is (no fork can slip through a kill pass),
    /// the kill is then queued for each and delivered once thawed.
    fn kill_frozen(&self, freezer: &Path) -> io::Result<()> {
        write_file(freezer, "freezer.state", "FROZEN").map_err(to_io)?;
        let deadline = Instant::now() + Duration::from_secs(1);
        while fs::read_to_string(freezer.join("freezer.state"))?.trim() != "FROZEN"
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_micros(200));
        }
        self.kill_pass();
        write_file(freezer, "freezer.state", "THAWED").map_err(to_io)?;
        Ok(())
    }

    fn kill_pass(&self) {
        for pid in self.procs() {
            let _ = crate::sys::kill(pid, libc::SIGKILL);
        }
    }

    /// Kills what is left and removes the directories (retrying while the last members are
    /// still exiting).
    pub fn remove(mut self) -> io::Result<()> {
        self.owned = false;
        self.remove_dirs()
    }

    fn remove_dirs(&mut self) -> io::Result<()> {
        let killed = self.kill();
        let mut result = killed;
        self.peak = None;
        for dir in self.dirs().map(Path::to_path_buf).collect::<Vec<_>>() {
            let deadline = Instant::now() + Duration::from_secs(2);
            loop {
                match fs::remove_dir(&dir) {
                    Ok(()) => break,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                    Err(e)
                        if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline =>
                    {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Err(e) => {
                        result = result.and(Err(io::Error::new(
                            e.kind(),
                            format!("removing {}: {e}", dir.display()),
                        )));
                        break;
                    }
                }
            }
        }
        result
    }

    /// Makes a used cgroup ready for its next run: the peaks and failure counts that can be
    /// reset are reset, the others are read as the new base.
    pub(crate) fn reset(&mut self) {
        if self.kind == Kind::V2 {
            if let Some(file) = self.peak.as_mut() {
                // Kernel 6.12+: any write resets the peak as seen through this open file.
                let _ = file.write_all(b"reset");
            }
        } else if let Some(mem) = self.dir_of(MEMORY) {
            for f in [
                "memory.max_usage_in_bytes",
                "memory.memsw.max_usage_in_bytes",
                "memory.failcnt",
                "memory.memsw.failcnt",
            ] {
                let _ = write_file(mem, f, "0");
            }
            if let Some(acct) = self.dir_of(CPUACCT) {
                let _ = write_file(acct, "cpuacct.usage", "0");
            }
        }
        self.base = self.raw_usage();
        self.base.memory_peak = 0;
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        if self.owned {
            let _ = self.remove_dirs();
        }
    }
}

/// Writes `pid` into each directory's `cgroup.procs`.
pub fn place_into(dirs: &[PathBuf], pid: u32) -> Result<(), CgroupError> {
    for dir in dirs {
        write_file(dir, "cgroup.procs", &pid.to_string())?;
    }
    Ok(())
}

/// Kills and removes the per-run cgroups under `parent` whose maker is gone: those named
/// `run-<pid>-…` where no process `<pid>` exists (a runtime killed with SIGKILL cannot clean
/// up; what it left running, a fork bomb say, would run on). A cgroup whose pid is alive is
/// left alone, even if the pid was reused. Returns how many were removed.
pub fn reap_stale(layout: &Layout, parent: &str) -> usize {
    let parent = relative(parent);
    let mut mounts: Vec<(Option<&'static str>, &Path)> = Vec::new();
    for c in [MEMORY, PIDS, CPUACCT, FREEZER, CPU] {
        if let Some(m) = layout.v1_mount(c) {
            if !mounts.iter().any(|(_, p)| *p == m) {
                mounts.push((Some(c), m));
            }
        }
    }
    if let Some(v2) = &layout.v2 {
        mounts.push((None, v2.as_path()));
    }
    let mut stale: Vec<String> = Vec::new();
    for (_, mount) in &mounts {
        let Ok(entries) = fs::read_dir(mount.join(parent)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(pid) = name
                .strip_prefix("run-")
                .and_then(|r| r.split('-').next())
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if !Path::new(&format!("/proc/{pid}")).exists() && !stale.contains(&name) {
                stale.push(name);
            }
        }
    }
    let kind = layout.kind().unwrap_or(Kind::V1);
    for name in &stale {
        let mut v1 = Vec::new();
        let mut v2 = None;
        for (c, mount) in &mounts {
            let dir = mount.join(parent).join(name);
            if !dir.is_dir() {
                continue;
            }
            match c {
                // The controllers co-mounted there come along (the kill only needs freezer).
                Some(c) => v1.push((vec![*c], dir)),
                None => v2 = Some(dir),
            }
        }
        let mut cg = Cgroup::at(kind, v1, v2);
        cg.owned = true;
        drop(cg);
    }
    stale.len()
}

/// `cpu.max` for a quota in CPUs, per 100 ms.
fn cpu_max(quota: Option<f64>) -> String {
    match quota {
        Some(q) => format!("{} 100000", (q * 100_000.0).round().max(1000.0) as u64),
        None => "max 100000".to_owned(),
    }
}

/// v1 memory and memory+swap limits: memsw must stay at or above the memory limit, so the
/// order of the two writes depends on whether the limit goes up or down.
fn set_v1_memory(dir: &Path, value: &str) -> Result<(), CgroupError> {
    let has_memsw = dir.join("memory.memsw.limit_in_bytes").exists();
    if !has_memsw {
        return write_file(dir, "memory.limit_in_bytes", value);
    }
    if write_file(dir, "memory.limit_in_bytes", value).is_ok() {
        write_file(dir, "memory.memsw.limit_in_bytes", value)
    } else {
        write_file(dir, "memory.memsw.limit_in_bytes", value)?;
        write_file(dir, "memory.limit_in_bytes", value)
    }
}

/// Makes `<root>/<parent>/<name>` in the v2 tree, enabling `controllers` for the children of
/// every level from the root down to the parent.
fn make_v2(
    root: &Path,
    parent: &Path,
    name: &str,
    controllers: &[&str],
) -> Result<PathBuf, CgroupError> {
    let mut dir = root.to_path_buf();
    let enable: String = controllers.iter().map(|c| format!("+{c} ")).collect();
    let enable_here = |dir: &Path| -> Result<(), CgroupError> {
        if enable.is_empty() {
            return Ok(());
        }
        let have = fs::read_to_string(dir.join("cgroup.subtree_control")).unwrap_or_default();
        if controllers
            .iter()
            .all(|c| have.split_whitespace().any(|h| h == *c))
        {
            return Ok(());
        }
        write_file(dir, "cgroup.subtree_control", enable.trim_end())
    };
    enable_here(&dir)?;
    for part in parent.components() {
        dir.push(part);
        match fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(CgroupError::io(format!("creating {}", dir.display()), e)),
        }
        enable_here(&dir)?;
    }
    dir.push(name);
    fs::create_dir(&dir).map_err(|e| CgroupError::io(format!("creating {}", dir.display()), e))?;
    Ok(dir)
}

fn to_io(e: CgroupError) -> io::Error {
    e.source.unwrap_or_else(|| io::Error::other(e.message))
}

/// Writes `value` to an existing control file.
fn write_file(dir: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
    let path = dir.join(file);
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .and_then(|mut f| f.write_all(value.as_bytes()))
        .map_err(|e| CgroupError::io(format!("writing {value:?} to {}", path.display()), e))
}

/// Like [`write_file`], but a missing file is not an error.
fn write_optional(dir: &Path, file: &str, value: &str) -> Result<(), CgroupError> {
    if dir.join(file).exists() {
        write_file(dir, file, value)
    } else {
        Ok(())
    }
}

fn read_u64(dir: &Path, file: &str) -> Option<u64> {
    fs::read_to_string(dir.join(file)).ok()?.trim().parse().ok()
}

/// The value of `key` in a flat-keyed file (`key value` lines).
fn keyed(dir: &Path, file: &str, key: &str) -> Option<u64> {
    let text = fs::read_to_string(dir.join(file)).ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory with the control files a v2 cgroup has.
    fn scratch(files: &[&str]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("forkexec-cgroup-unit-{}", unique_name()));
        fs::create_dir_all(&dir).unwrap();
        for f in files {
            fs::write(dir.join(f), "").unwrap();
        }
        dir
    }

    #[test]
    fn v2_limit_files_are_written() {
        let dir = scratch(&["memory.max", "memory.swap.max", "pids.max", "cpu.max"]);
        let cg = Cgroup::at(Kind::V2, vec![], Some(dir.clone()));
        let limits = Limits {
            memory: Some(64 << 20),
            pids: Some(32),
            cpu_quota: Some(0.5),
        };
        cg.set_limits(&limits).unwrap();
        let read = |f: &str| fs::read_to_string(dir.join(f)).unwrap();
        assert_eq!(read("memory.max"), "67108864");
        assert_eq!(read("memory.swap.max"), "0");
        assert_eq!(read("pids.max"), "32");
        assert_eq!(read("cpu.max"), "50000 100000");
        cg.set_limits(&Limits::default()).unwrap();
        assert_eq!(read("memory.max"), "max");
        assert_eq!(read("memory.swap.max"), "max");
        assert_eq!(read("pids.max"), "max");
        assert_eq!(read("cpu.max"), "max 100000");
        fs::write(
            dir.join("cpu.stat"),
            "usage_usec 1500000\nuser_usec 1000000\n",
        )
        .unwrap();
        fs::write(
            dir.join("memory.events"),
            "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n",
        )
        .unwrap();
        fs::write(dir.join("pids.events"), "max 3\n").unwrap();
        let u = cg.usage();
        assert_eq!(u.cpu, Duration::from_millis(1500));
        assert_eq!(
            (u.oom_kills, u.memory_limit_hits, u.pids_limit_hits),
            (1, 7, 3)
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn v1_limit_files_are_written() {
        let mem = scratch(&["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]);
        let pids = scratch(&["pids.max"]);
        let cpu = scratch(&["cpu.cfs_quota_us", "cpu.cfs_period_us"]);
        let cg = Cgroup::at(
            Kind::V1,
            vec![
                (vec![MEMORY], mem.clone()),
                (vec![PIDS], pids.clone()),
                (vec![CPU], cpu.clone()),
            ],
            None,
        );
        cg.set_limits(&Limits {
            memory: Some(1 << 30),
            pids: Some(5),
            cpu_quota: Some(2.0),
        })
        .unwrap();
        let read = |d: &Path, f: &str| fs::read_to_string(d.join(f)).unwrap();
        assert_eq!(read(&mem, "memory.limit_in_bytes"), "1073741824");
        assert_eq!(read(&mem, "memory.memsw.limit_in_bytes"), "1073741824");
        assert_eq!(read(&pids, "pids.max"), "5");
        assert_eq!(read(&cpu, "cpu.cfs_quota_us"), "200000");
        assert_eq!(read(&cpu, "cpu.cfs_period_us"), "100000");
        for d in [mem, pids, cpu] {
            fs::remove_dir_all(d).unwrap();
        }
    }
}
