//! Every leak check is shown to catch the leak it names (issue 16, docs/testing.md "What each
//! check proves"). Each test plants one leak in a test-only way, runs the shared check from
//! `forkexec_testkit::leaks` and sees it fail naming the leak, next to a control (the same run
//! without the plant) that passes:
//!
//! - a mount made in a shared peer group with the helper's `MS_PRIVATE` step skipped (a seccomp
//!   filter on the helper makes that one mount(2) a no-op): the mount table check;
//! - an fd left open in the runtime: the fd check;
//! - a grandchild left running by the target: the descendant check (orphans come back to this
//!   process, a child subreaper, instead of escaping to pid 1);
//! - a process and a child cgroup left in the cgroup the target ran in: the cgroup check;
//! - close_range skipped (a seccomp no-op): an fd the runtime leaked reaches the target, and the
//!   target fd check says so.
//!
//! The checks look at this whole process (its fds, its descendants), so the tests take turns.
use forkexec_testkit::leaks::{self, Descendants, Fds, Mounts, SharedScratch};
use forkexec_testkit::support::*;
use forkexec_testkit::{root_needs, root_only, skip};

use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::sync::Mutex;

use forkexec_client::{Mount, Namespace, Runner};
use serde_json::Value;

static TURN: Mutex<()> = Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

fn sh(script: &str) -> Runner {
    Runner::new(["/bin/sh", "-c", script])
}

/// The helper on `runner`'s spec, from the calling thread, optionally under a seccomp filter
/// that makes one syscall a no-op; the helper's setup must succeed.
fn run_raw(runner: &Runner, filter: Option<Vec<libc::sock_filter>>) -> RawResult {
    let res = raw_with(&runner.spec.encode().unwrap(), move |cmd| {
        if let Some(f) = filter {
            // SAFETY: prctl calls between fork and exec, on a program the closure owns.
            unsafe {
                cmd.pre_exec(move || leaks::install_filter(&f));
            }
        }
    });
    assert!(
        !res.records
            .iter()
            .any(|r| matches!(r, forkexec_spec::status::Record::Error { .. })),
        "{:?} {}",
        res.records,
        res.stderr
    );
    res
}

/// The helper's `mount(none, /, MS_REC | MS_PRIVATE)` made a no-op.
fn skip_ms_private() -> Vec<libc::sock_filter> {
    leaks::noop_filter(
        libc::SYS_mount,
        Some((3, (libc::MS_REC | libc::MS_PRIVATE) as u32)),
    )
}

/// Root, in a thread of its own mount namespace with a shared tmpfs: a sandbox with a new
/// mount namespace (no user namespace: a less privileged namespace never propagates back)
/// mounts a tmpfs under it. With the helper's MS_PRIVATE step the thread's mount table is
/// unchanged; with the step skipped the sandbox's mount shows in it, and the check says so.
#[test]
fn mount_check_catches_a_mount_that_propagates_without_ms_private() {
    root_only!("a mount namespace without a user namespace needs root");
    if !cfg!(target_arch = "x86_64") {
        skip!("the seccomp filter is written for x86_64");
    }
    let _t = turn();
    let mut c = Cleanup::default();
    let dir = c.dir("leak-mounts");
    std::thread::spawn(move || {
        let shared = SharedScratch::new(dir.join("shared"));
        fs::create_dir(shared.dir.join("m")).unwrap();
        let target = shared.dir.join("m").to_string_lossy().into_owned();
        let runner = Runner::new(["/bin/true"])
            .clone_flags([Namespace::NewNs])
            .mount(Mount::tmpfs(target.clone(), "size=1m").mkdir(false));
        let mounts = Mounts::take();
        let of_sandboxes = Mounts::of_sandboxes();

        let res = run_raw(&runner, None);
        assert_eq!(res.status.code(), Some(0), "{}", res.stderr);
        assert_eq!(
            mounts.check(),
            Ok(()),
            "control: the helper made its mounts private"
        );
        assert_eq!(of_sandboxes.check(), Ok(()), "control");
        // A mount outside every scratch directory (as a host mount appearing meanwhile) is
        // in the whole table, not in the sandboxes' part.
        let elsewhere =
            std::env::temp_dir().join(format!("forkexec-elsewhere-{}", std::process::id()));
        fs::create_dir_all(&elsewhere).unwrap();
        let c_elsewhere = std::ffi::CString::new(elsewhere.to_str().unwrap()).unwrap();
        // SAFETY: mount and umount2 with NUL-terminated strings we own, in this thread's own
        // mount namespace (SharedScratch made it, everything private).
        let mounted = unsafe {
            libc::mount(
                c"tmpfs".as_ptr(),
                c_elsewhere.as_ptr(),
                c"tmpfs".as_ptr(),
                0,
                std::ptr::null(),
            )
        };
        assert_eq!(mounted, 0, "{}", std::io::Error::last_os_error());
        assert!(mounts.check().is_err(), "the whole table sees it");
        assert_eq!(of_sandboxes.check(), Ok(()), "not a sandbox's");
        // SAFETY: as above.
        unsafe { libc::umount2(c_elsewhere.as_ptr(), libc::MNT_DETACH) };
        let _ = fs::remove_dir(&elsewhere);

        let res = run_raw(&runner, Some(skip_ms_private()));
        assert_eq!(res.status.code(), Some(0), "{}", res.stderr);
        let err = mounts
            .check()
            .expect_err("the planted mount leak went unseen");
        assert!(err.contains(&format!(" {target} ")), "{err}");
        let err = of_sandboxes
            .check()
            .expect_err("the planted mount leak went unseen by of_sandboxes");
        assert!(err.contains(&format!(" {target} ")), "{err}");
    })
    .join()
    .unwrap();
}

/// An fd the runtime left open is seen by the fd check; closed again, the check passes.
#[test]
fn fd_check_catches_an_fd_left_open() {
    let _t = turn();
    let mut c = Cleanup::default();
    let dir = c.dir("leak-fds");
    let fds = Fds::take();
    let out = run(probe_runner(&["exit", "0"])).unwrap();
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(fds.check(), Ok(()), "control");

    let leaked = File::create(dir.join("leaked")).unwrap();
    let err = fds.check().expect_err("the planted fd went unseen");
    assert!(err.contains("leaked"), "{err}");
    drop(leaked);
    assert_eq!(fds.check(), Ok(()));
}

/// A target that leaves a grandchild running (`sleep &`, then exits): the grandchild is no
/// child of this process, but as a subreaper it comes back here and the check sees it.
#[test]
fn descendant_check_catches_a_grandchild_left_running() {
    let _t = turn();
    let d = Descendants::take();
    let out = run(sh("exit 0")).unwrap();
    assert!(out.status.success(), "{}", out.stderr);
    assert_eq!(d.check(), Ok(()), "control");

    let out = run(sh("sleep 1000 </dev/null >/dev/null 2>&1 & exit 0")).unwrap();
    assert!(out.status.success(), "{}", out.stderr);
    let err = d.check().expect_err("the planted grandchild went unseen");
    d.kill_all();
    assert!(err.contains("sleep"), "{err}");
    assert_eq!(d.check(), Ok(()));
}

/// Root with a cgroup v2 hierarchy: a target that leaves a process in its cgroup, and a child
/// cgroup left behind, are each seen by the cgroup check; a clean run passes it.
#[test]
fn cgroup_check_catches_a_process_or_a_cgroup_left_behind() {
    root_only!("creating cgroups needs root");
    let base = forkexec_testkit::cgroup::v2();
    root_needs!(base.is_some(), "no cgroup v2 hierarchy here");
    let base = base.unwrap();
    let _t = turn();
    let d = Descendants::take();
    let make = |tag: &str| {
        let dir = base.join(format!("forkexec-leaks-{}-{tag}", std::process::id()));
        fs::create_dir(&dir).unwrap();
        dir
    };
    let in_cgroup = |script: &str, dir: &Path| {
        let out = run(sh(script).cgroup(dir.to_string_lossy().into_owned())).unwrap();
        assert!(out.status.success(), "{}", out.stderr);
    };

    let dir = make("control");
    in_cgroup("exit 0", &dir);
    assert_eq!(leaks::cgroup_left(&dir), Ok(()), "control");

    let dir = make("process");
    in_cgroup("sleep 1000 </dev/null >/dev/null 2>&1 & exit 0", &dir);
    let err = leaks::cgroup_left(&dir).expect_err("the planted process went unseen");
    assert!(err.contains("left in the cgroup"), "{err}");
    d.kill_all();
    assert_eq!(leaks::cgroup_left(&dir), Ok(()));

    let dir = make("child");
    in_cgroup("exit 0", &dir);
    fs::create_dir(dir.join("child")).unwrap();
    let err = leaks::cgroup_left(&dir).expect_err("the planted cgroup went unseen");
    assert!(err.contains("cgroups left"), "{err}");
    fs::remove_dir(dir.join("child")).unwrap();
    assert_eq!(leaks::cgroup_left(&dir), Ok(()));
}

/// An fd the runtime leaked into the helper (fd 1000, no close-on-exec): the helper's
/// close_range keeps it from the target (control); with close_range made a no-op by a seccomp
/// filter it reaches the target, and the target fd check says so.
#[test]
fn target_fd_check_catches_close_range_skipped() {
    if !cfg!(target_arch = "x86_64") {
        skip!("the seccomp filter is written for x86_64");
    }
    let _t = turn();
    let mut c = Cleanup::default();
    let dir = c.dir("leak-close-range");
    let leaked = File::create(dir.join("leaked")).unwrap();
    let fd = leaked.as_raw_fd();
    let report = |filter: Option<Vec<libc::sock_filter>>| -> Value {
        let out = dir.join("report.json");
        let stdout = File::create(&out).unwrap();
        let res = raw_with(&probe_runner(&["report"]).spec.encode().unwrap(), |cmd| {
            cmd.stdout(stdout);
            // SAFETY: dup2 and prctl between fork and exec.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::dup2(fd, 1000) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    match &filter {
                        Some(f) => leaks::install_filter(f),
                        None => Ok(()),
                    }
                });
            }
        });
        assert_eq!(res.status.code(), Some(0), "{}", res.stderr);
        serde_json::from_str(&fs::read_to_string(&out).unwrap()).unwrap()
    };
    assert_eq!(leaks::only_std_fds(&report(None)), Ok(()), "control");
    let v = report(Some(leaks::noop_filter(libc::SYS_close_range, None)));
    let err = leaks::only_std_fds(&v).expect_err("the fd close_range left went unseen");
    assert!(err.contains("1000"), "{err}");
}
