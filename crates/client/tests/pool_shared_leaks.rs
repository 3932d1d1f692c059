//! 10,000 runs through a pool of shared-namespace sandboxes leave nothing behind (issue 14,
//! "Done when"; docs/design.md, "Shared namespaces"): no process (at once: the server sweeps
//! before each exit record), no fd and no mount in the sandboxes, nothing here. In its own
//! file: the process checks see every process this test binary's tests start.
use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use forkexec_client::{Pool, Sandbox};
use forkexec_testkit::leaks::{self, Descendants, Fds};
use forkexec_testkit::support::*;

/// 10,000 runs through a pool of two shared sandboxes (every 100th forks a daemon and leaves
/// a file, every 10th fails to exec) leave nothing: the sandboxes' processes, their fds and
/// mounts are what they were right after the last `wait` (no waiting: the server cleans up
/// before the exit record), and nothing here (processes, fds, mounts) is left.
#[test]
fn ten_thousand_runs_leave_nothing() {
    const RUNS: usize = 10_000;
    let d = Descendants::take();
    let fds = Fds::take();
    let mounts = leaks::Mounts::of_sandboxes();
    let mut c = Cleanup::default();
    let pool = Pool::new(2, || {
        Sandbox::builder(pool_shape(&mut c))
            .writable("/tmp")
            .shared_namespaces()
    })
    .unwrap();
    let held = || -> Vec<String> {
        pool.sandboxes()
            .iter()
            .flat_map(|s| leaks::descendants_of(s.pid()))
            .map(|p| {
                let pid = p.split_whitespace().next().unwrap().to_owned();
                let mounts = fs::read_to_string(format!("/proc/{pid}/mountinfo"));
                let fds = fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count());
                let comm = p.split_whitespace().nth(1).unwrap_or_default();
                let mounts = mounts.map(|m| m.lines().count());
                format!("{pid} {comm} {:?} {:?}", fds.ok(), mounts.ok())
            })
            .collect()
    };
    let before = held();
    let devnull = File::open("/dev/null").unwrap();
    let null = devnull.as_raw_fd();
    for i in 0..RUNS {
        let runner = leaks::mixed_run(i, "/bin/sleep 1000 & echo x >/tmp/left", null);
        leaks::check_mixed_run(i, pool.run(runner));
    }
    // The processes at once (the server swept before the last exit record); the server
    // closes the last run's fds just after sending that record.
    let pids = |held: Vec<String>| -> Vec<String> {
        held.iter()
            .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
            .collect()
    };
    assert_eq!(
        pids(held()),
        pids(before.clone()),
        "the sandboxes' processes"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while held() != before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(held(), before, "the sandboxes' processes, fds and mounts");
    drop((pool, devnull));
    assert_eq!(d.check(), Ok(()), "processes");
    assert_eq!(fds.check(), Ok(()), "fds");
    assert_eq!(mounts.check(), Ok(()), "mounts");
}
