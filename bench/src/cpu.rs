//! The CPU column: every process a run starts, orphans included, counted by a cgroup.
//!
//! wait4's rusage counts the waited process and the descendants it reaped itself. A sandbox
//! whose pid 1 outlives the waited process (bubblewrap's init, and the helper's init in
//! bubblewrap mode: both report the program's exit and are gone a moment later, reparented)
//! is left out of it. So, as root with a cgroup v1 `cpuacct` hierarchy (this machine kind),
//! the thread that runs the rounds moves into a cgroup of its own: what it spawns is born in
//! it, and a run's CPU is the cgroup's `cpuacct.usage` after the run, once only that thread is
//! left in it (the orphans have exited), less the same before, less the thread's own CPU time
//! in between. Elsewhere (an ordinary user, no cpuacct) the column is wait4's rusage, and the
//! report says which.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long the orphans of one run may take to exit before the run is reported as an error.
const SETTLE: Duration = Duration::from_secs(5);

/// A cgroup the calling thread has joined, counting what it spawns.
pub struct Meter {
    dir: PathBuf,
    /// The cgroup the thread came from (its `tasks` file), to go back to.
    home: PathBuf,
    tid: String,
}

/// One reading: the cgroup's CPU less the measuring thread's own, in nanoseconds.
#[derive(Clone, Copy)]
pub struct Reading(i128);

impl Meter {
    /// Moves the calling thread into a new cpuacct cgroup (v1) next to its own, or `None`
    /// when there is no cpuacct hierarchy or the cgroup cannot be made or joined.
    pub fn join() -> Option<Meter> {
        let (mount, own) = cpuacct_of_self()?;
        let home = mount.join(own.trim_start_matches('/'));
        let dir = home.join(format!("forkexec-bench-cpu-{}", std::process::id()));
        fs::create_dir(&dir).ok()?;
        // SAFETY: gettid has no arguments and cannot fail.
        let tid = unsafe { libc::gettid() }.to_string();
        if fs::write(dir.join("tasks"), &tid).is_err() {
            let _ = fs::remove_dir(&dir);
            return None;
        }
        Some(Meter { dir, home, tid })
    }

    /// The cgroup's CPU time less this thread's: the thread's first (reading it charges the
    /// thread's running time to the cgroup), then the cgroup's.
    pub fn read(&self) -> io::Result<Reading> {
        let own = thread_cpu_ns();
        let usage: i128 = fs::read_to_string(self.dir.join("cpuacct.usage"))?
            .trim()
            .parse()
            .map_err(io::Error::other)?;
        Ok(Reading(usage - own as i128))
    }

    /// Waits until this thread is alone in the cgroup again (what the run left behind has
    /// exited).
    pub fn settle(&self) -> io::Result<()> {
        let started = Instant::now();
        loop {
            let tasks = fs::read_to_string(self.dir.join("tasks"))?;
            if tasks.lines().all(|t| t == self.tid) {
                return Ok(());
            }
            if started.elapsed() > SETTLE {
                return Err(io::Error::other(format!(
                    "processes still in {} after {SETTLE:?}: {}",
                    self.dir.display(),
                    tasks.split_whitespace().collect::<Vec<_>>().join(" ")
                )));
            }
            std::thread::sleep(Duration::from_micros(50));
        }
    }

    /// The CPU the run used since `before`, once what it left has exited.
    pub fn since(&self, before: Reading) -> io::Result<Duration> {
        self.settle()?;
        let ns = (self.read()?.0 - before.0).max(0);
        Ok(Duration::from_nanos(ns as u64))
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        let _ = fs::write(self.home.join("tasks"), &self.tid);
        let _ = fs::remove_dir(&self.dir);
    }
}

/// This thread's CPU time (user + system), in nanoseconds.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime into a local timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The cpuacct v1 hierarchy's mount point and this process's cgroup in it.
fn cpuacct_of_self() -> Option<(PathBuf, String)> {
    let own = fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = own.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        controllers
            .split(',')
            .any(|c| c == "cpuacct")
            .then(|| path.to_string())
    })?;
    let mounts = fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mount = mounts.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let mut r = right.split_whitespace();
        let (fstype, _source, options) = (r.next()?, r.next()?, r.next()?);
        let point = left.split_whitespace().nth(4)?;
        (fstype == "cgroup" && options.split(',').any(|o| o == "cpuacct"))
            .then(|| PathBuf::from(point))
    })?;
    Path::new(&mount).is_dir().then_some((mount, path))
}
