//! 10,000 runs through one fork server leave nothing behind (issue 14, "Done when"): no fd
//! in this process or in the server, no process (orphans included: this process is a child
//! subreaper), no mount where a run could leave one (the runs have no mount namespace: the
//! check is the same as the pool's), and (root with cgroup v2) an empty, removable cgroup the runs were in.
use std::fs::{self, File};
use std::os::fd::AsRawFd;

use forkexec_client::Server;
use forkexec_testkit::leaks::{self, Descendants, Fds};
use forkexec_testkit::support::*;

const RUNS: usize = 10_000;

/// The server's open fds, as root; `None` for an ordinary user (the server is not dumpable:
/// only root may look).
fn fd_count(pid: u32) -> Option<usize> {
    if !is_root() {
        return None;
    }
    Some(fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count())
}

#[test]
fn ten_thousand_runs_leave_nothing() {
    let d = Descendants::take();
    let fds = Fds::take();
    let mounts = leaks::Mounts::of_sandboxes();
    let cgroup = leaks::v2_test_cgroup("forkexec-server-leaks");
    let server = Server::start_with(helper()).unwrap();
    let server_fds = fd_count(server.pid());
    let devnull = File::open("/dev/null").unwrap();
    let null = devnull.as_raw_fd();
    for i in 0..RUNS {
        // Every 100th run forks a child that outlives it, and every 10th fails to exec.
        let mut runner = leaks::mixed_run(i, "/bin/sleep 1000 & exit 0", null);
        if let Some(dir) = &cgroup {
            runner = runner.cgroup(dir.to_string_lossy().into_owned());
        }
        leaks::check_mixed_run(i, server.run(runner));
    }
    // The server closes a run's channel and pidfd right after sending its exit record.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while fd_count(server.pid()) != server_fds && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(fd_count(server.pid()), server_fds, "the server's fds");
    // The daemons of every 100th run are orphans, reparented here: found, then killed.
    let left = d
        .check()
        .expect_err("the sleeps of every 100th run are here");
    assert!(left.contains("server") || left.contains("sleep"), "{left}");
    server.shutdown().unwrap();
    d.kill_all();
    assert_eq!(d.check(), Ok(()));
    drop(devnull);
    assert_eq!(fds.check(), Ok(()));
    assert_eq!(mounts.check(), Ok(()));
    if let Some(dir) = cgroup {
        assert_eq!(leaks::cgroup_left(&dir), Ok(()));
    }
}
