//! 10,000 runs through a pool of warm sandboxes leave nothing behind (issue 14, "Done when"):
//! no fd in this process or in any process of the sandboxes, no process (the sandboxes' trees
//! are what they were; orphans included: this process is a child subreaper), no mount (in
//! the sandboxes, and here where one of them could have left one), and (root with cgroup v2) an empty, removable cgroup the runs were in.
//! As root, every run also has a per-run cgroup of its own ([`Pool::run_in`]: made, entered at
//! the run's sync point, removed after it), and none is left under their parent.
use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use forkexec_client::cgroup::{self, Cgroup, Layout};
use forkexec_client::{Pool, Sandbox, SandboxBuilder};
use forkexec_testkit::leaks::{self, Descendants, Fds};
use forkexec_testkit::support::*;

const RUNS: usize = 10_000;

/// A sandbox ([`pool_shape`]: new user, mount, pid and ipc namespaces, a tmpfs root with the
/// host's /usr, /bin, /lib, /lib64 and a /dev); /tmp fresh for every run.
fn shape(c: &mut Cleanup) -> SandboxBuilder {
    Sandbox::builder(pool_shape(c)).writable("/tmp")
}

/// What the sandboxes hold: each process as `pid comm`, its open fds (root only: the sandbox's
/// processes are not dumpable for an ordinary user) and its mounts (root only, likewise).
fn held(pool: &Pool) -> Vec<String> {
    let mut out = Vec::new();
    for sandbox in pool.sandboxes() {
        for p in leaks::descendants_of(sandbox.pid()) {
            let pid = p.split_whitespace().next().unwrap().to_owned();
            let comm = p.split_whitespace().nth(1).unwrap();
            let mut line = format!("{pid} {comm}");
            if is_root() {
                // A process that is exiting has neither (EINVAL, ENOENT): it shows as such,
                // unlike anything in `before`, and the caller looks again.
                let fds = fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count());
                let mounts = fs::read_to_string(format!("/proc/{pid}/mountinfo"));
                match (fds, mounts) {
                    (Ok(fds), Ok(m)) => line += &format!(" fds={fds} mounts={}", m.lines().count()),
                    _ => line += " exiting",
                }
            }
            out.push(line);
        }
    }
    out
}

#[test]
fn ten_thousand_runs_leave_nothing() {
    let d = Descendants::take();
    let fds = Fds::take();
    let mounts = leaks::Mounts::of_sandboxes();
    let cgroup = leaks::v2_test_cgroup("forkexec-pool-leaks");
    let cgroup_fd = cgroup.as_ref().map(|dir| File::open(dir).unwrap());
    // Root: a per-run cgroup for every run, under a parent of this test's own.
    let per_run = Layout::detect()
        .ok()
        .filter(|l| is_root() && l.kind().is_some());
    let parent = format!("forkexec-pool-leaks-{}", std::process::id());
    let mut c = Cleanup::default();
    let pool = Pool::new(2, || shape(&mut c)).unwrap();
    let before = held(&pool);
    let devnull = File::open("/dev/null").unwrap();
    let null = devnull.as_raw_fd();
    for i in 0..RUNS {
        // Every 100th run forks a daemon that outlives its program and leaves a file, and
        // every 10th fails to exec.
        let mut runner = leaks::mixed_run(i, "/bin/sleep 1000 & echo x >/tmp/left", null);
        if let Some(fd) = &cgroup_fd {
            runner = runner.cgroup_fd(fd.as_raw_fd());
        }
        match &per_run {
            Some(layout) => {
                let cg = Cgroup::create(layout, &parent, &cgroup::Limits::default()).unwrap();
                leaks::check_mixed_run(i, pool.run_in(runner, &cg));
                cg.remove().unwrap();
            }
            None => leaks::check_mixed_run(i, pool.run(runner)),
        }
    }
    // A run's process leaves the sandbox's tree when the server has reaped it.
    let deadline = Instant::now() + Duration::from_secs(10);
    while held(&pool) != before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        held(&pool),
        before,
        "the sandboxes' processes, fds and mounts"
    );
    drop(pool);
    assert_eq!(
        d.check(),
        Ok(()),
        "the sandboxes are gone, and no orphan came here"
    );
    drop((devnull, cgroup_fd));
    assert_eq!(fds.check(), Ok(()));
    assert_eq!(mounts.check(), Ok(()));
    if let Some(dir) = cgroup {
        assert_eq!(leaks::cgroup_left(&dir), Ok(()));
    }
    if let Some(layout) = per_run {
        let memory = layout.v1_mount(cgroup::MEMORY).map(|m| m.join(&parent));
        assert!(
            memory.is_none_or(|m| m.is_dir()),
            "the runs' cgroups were made"
        );
        for dir in layout.dirs_of(&parent).iter().filter(|d| d.is_dir()) {
            assert_eq!(leaks::cgroup_left(dir), Ok(()), "per-run cgroups");
        }
    }
}
