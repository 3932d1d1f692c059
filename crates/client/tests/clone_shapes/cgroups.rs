//! Cgroups: the target placed in a cgroup directory, by path or by fd.

use super::*;
use forkexec_testkit::{skip, user_only};

// ---------------------------------------------------------------------------------------------
// Cgroups: the target placed in a cgroup (v2) directory, by path or by fd
// ---------------------------------------------------------------------------------------------

/// A fresh child cgroup of the machine's cgroup v2 hierarchy (found, not assumed: see
/// `forkexec_testkit::cgroup`), removed (rmdir) on drop once its processes are gone.
struct Cgroup(PathBuf);

impl Cgroup {
    /// None (a root-only skip, recorded) unless root on a machine with a cgroup v2
    /// hierarchy; as root without one the test fails.
    fn new(tag: &str) -> Option<Cgroup> {
        use forkexec_testkit::skip::{record, Kind};
        if !is_root() {
            record(Kind::RootOnly, "creating cgroups needs root");
            return None;
        }
        let Some(base) = forkexec_testkit::cgroup::v2() else {
            record(Kind::RootOnly, "no cgroup v2 hierarchy here");
            return None;
        };
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("forkexec-test-{}-{n}-{tag}", std::process::id());
        let dir = base.join(name);
        fs::create_dir(&dir).unwrap();
        Some(Cgroup(dir))
    }

    fn path(&self) -> String {
        path_str(&self.0)
    }

    /// The line a member's /proc/PID/cgroup has for the v2 hierarchy.
    fn line(&self) -> String {
        format!("0::/{}", self.0.file_name().unwrap().to_string_lossy())
    }

    fn procs(&self) -> Vec<u32> {
        let mut v: Vec<u32> = fs::read_to_string(self.0.join("cgroup.procs"))
            .unwrap()
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect();
        v.sort_unstable();
        v
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        // A process that has just been reaped may take a moment to leave.
        let gone = eventually(2.0, || fs::remove_dir(&self.0).is_ok());
        if !gone && !std::thread::panicking() {
            panic!("cannot remove {}", self.0.display());
        }
    }
}

/// The host pids of what runs in the sandbox `run` started: the target and, with init, init.
fn sandbox_pids(run: &Running, shape: Shape) -> Vec<u32> {
    let t = run.p.target_pid();
    let mut v = match shape {
        Shape::InPlace | Shape::Detach => vec![run.p.pid()],
        Shape::Supervise => vec![t],
        Shape::Init => {
            let children = fs::read_to_string(format!("/proc/{t}/task/{t}/children")).unwrap();
            vec![t, children.trim().parse().unwrap()]
        }
    };
    v.sort_unstable();
    v
}

/// `probe sleep 60` in `shape` (in place: no namespaces at all).
fn sleeper(shape: Shape) -> Runner {
    shaped(probe_runner(&["sleep", "60"]), shape)
}

/// By path, in every shape, the target (and init) is in the cgroup, and nothing else: a clone
/// enters it with CLONE_INTO_CGROUP (the supervising helper stays where the runtime is), exec
/// in place by writing `cgroup.procs`.
#[test]
fn target_lands_in_the_cgroup_by_path() {
    for shape in [Shape::InPlace, Shape::Supervise, Shape::Detach, Shape::Init] {
        let Some(cg) = Cgroup::new("path") else {
            return;
        };
        let run = Running::start(sleeper(shape).cgroup(cg.path())).unwrap();
        let pids = sandbox_pids(&run, shape);
        assert_eq!(cg.procs(), pids, "{shape:?}");
        for pid in &pids {
            let own = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
            assert!(own.lines().any(|l| l == cg.line()), "{shape:?}: {own}");
        }
        if run.p.pid() != pids[0] {
            let helper = fs::read_to_string(format!("/proc/{}/cgroup", run.p.pid())).unwrap();
            assert!(
                helper.lines().any(|l| l == "0::/"),
                "{shape:?}: helper in {helper}"
            );
        }
        run.p.kill(libc::SIGKILL).unwrap();
        let (status, _, err) = run.finish();
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{shape:?} {err}");
        assert_eq!(cg.procs(), Vec::<u32>::new());
    }
    assert_no_children();
}

/// By fd (an fd of the runtime open on the directory): the same, in place and in a clone.
#[test]
fn target_lands_in_the_cgroup_by_fd() {
    for shape in [Shape::InPlace, Shape::Supervise] {
        let Some(cg) = Cgroup::new("fd") else {
            return;
        };
        let dir = File::open(&cg.0).unwrap();
        let run = Running::start(sleeper(shape).cgroup_fd(dir.as_raw_fd())).unwrap();
        assert_eq!(cg.procs(), sandbox_pids(&run, shape), "{shape:?}");
        run.p.kill(libc::SIGKILL).unwrap();
        run.finish();
    }
    assert_no_children();
}

/// The target is in the cgroup from the start: what the probe reports from inside.
#[test]
fn target_sees_itself_in_the_cgroup() {
    for shape in [Shape::InPlace, Shape::Supervise] {
        let Some(cg) = Cgroup::new("inside") else {
            return;
        };
        let mut r = sleeper(shape).cgroup(cg.path());
        r.spec.args[1] = "report".into();
        let report = probe_json(r);
        let own = report["cgroup"].as_str().unwrap();
        assert!(own.lines().any(|l| l == cg.line()), "{shape:?}: {own}");
    }
}

/// `cgroup` (43), index 0: the directory cannot be opened (it does not exist), in place and
/// before a clone. Nothing runs.
#[test]
fn missing_cgroup_fails_at_cgroup_0() {
    let mut c = Cleanup::default();
    for shape in [Shape::InPlace, Shape::Supervise, Shape::Init] {
        let (r, marker) = marker_target(&mut c);
        let base = forkexec_testkit::cgroup::v2().unwrap_or("/sys/fs/cgroup".into());
        let missing = format!("{}/forkexec-test-no-such-cgroup", base.display());
        let r = shaped(r, shape).cgroup(missing);
        assert_child_error(r.start(), "cgroup", libc::ENOENT, 0);
        assert_never_ran(&marker);
    }
    assert_no_children();
}

/// A directory that is not a cgroup: in place, its `cgroup.procs` is missing (`cgroup` index
/// 1, ENOENT); a clone is refused by clone3 (`clone`, EBADF: not a cgroup fd). By path and by
/// fd.
#[test]
fn non_cgroup_directory_is_refused() {
    let mut c = Cleanup::default();
    let plain = c.dir("notcgroup");
    let dir = File::open(&plain).unwrap();
    for by_fd in [false, true] {
        let place = |r: Runner| {
            if by_fd {
                r.cgroup_fd(dir.as_raw_fd())
            } else {
                r.cgroup(path_str(&plain))
            }
        };
        let (r, marker) = marker_target(&mut c);
        assert_child_error(place(r).start(), "cgroup", libc::ENOENT, 1);
        assert_never_ran(&marker);
        for shape in [Shape::Supervise, Shape::Detach, Shape::Init] {
            let (r, marker) = marker_target(&mut c);
            assert_child_error(place(shaped(r, shape)).start(), "clone", libc::EBADF, 0);
            assert_never_ran(&marker);
        }
    }
    assert_no_children();
}

/// An ordinary user may not move itself into a cgroup whose `cgroup.procs` is root's: in place
/// `cgroup` index 1, EACCES (opening it for writing); a clone: `clone`, EACCES (clone3's own
/// check of the same permission).
#[test]
fn cgroup_without_write_access_is_refused_unprivileged() {
    user_only!("root may write every cgroup.procs");
    let Some(v2) = forkexec_testkit::cgroup::v2() else {
        skip!("no cgroup v2 hierarchy here");
    };
    let v2 = path_str(&v2);
    let mut c = Cleanup::default();
    let (r, marker) = marker_target(&mut c);
    assert_child_error(r.cgroup(&v2).start(), "cgroup", libc::EACCES, 1);
    assert_never_ran(&marker);
    for shape in [Shape::Supervise, Shape::Init] {
        let (r, marker) = marker_target(&mut c);
        let r = shaped(r, shape).cgroup(&v2);
        assert_child_error(r.start(), "clone", libc::EACCES, 0);
        assert_never_ran(&marker);
    }
    assert_no_children();
}
