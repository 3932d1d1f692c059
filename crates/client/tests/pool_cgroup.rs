//! A per-run cgroup for a warm sandbox's runs (issue 14, Deliver 3): the run's init and program
//! are moved into the cgroup by the client at the run's sync point, so memory, pids and CPU
//! limits and the judge's verdicts hold for pooled runs as for one-shot ones; each run's
//! cgroup starts empty and nothing is left of it afterwards. As an ordinary user without a
//! writable cgroup: a clear error, and the program never runs (not a run without limits).

use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use forkexec_client::cgroup::{self, Cgroup, Kind, Layout, Limits as CgLimits};
use forkexec_client::judge::{Judge, JudgeResult, Limit, Limits, Status};
use forkexec_client::{Error, Pool, Runner, Sandbox, SandboxBuilder};
use forkexec_testkit::cgroup::TestParent;
use forkexec_testkit::skip::{self, Kind as Skip};
use forkexec_testkit::support::*;

/// The text every "no cgroup for you" error carries (docs/judge.md).
const CLEAR_ERROR: [&str; 2] = ["delegated cgroup v2 subtree", "--no-cgroup"];

fn shape(c: &mut Cleanup) -> SandboxBuilder {
    Sandbox::builder(pool_shape(c)).writable("/tmp")
}

fn probe(args: &[&str]) -> Runner {
    let mut argv = vec![PROBE_IN_ROOT.to_string()];
    argv.extend(args.iter().map(|s| s.to_string()));
    Runner::new(argv)
}

/// A cgroup parent of this test's own (`forkexec-test-pooled-TAG-PID` under each hierarchy),
/// removed with whatever is left under it when the guard drops (a failed test too).
fn parent(tag: &str) -> TestParent {
    TestParent::new(&format!("pooled-{tag}"))
}

/// No cgroup is left under `parent` in any hierarchy (then the parent is removed).
fn nothing_left(layout: &Layout, parent: &str) {
    for dir in layout.dirs_of(parent) {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        let left: Vec<_> = entries
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| e.path())
            .collect();
        assert_eq!(
            left,
            Vec::<PathBuf>::new(),
            "cgroups left in {}",
            dir.display()
        );
        fs::remove_dir(&dir).unwrap();
    }
}

/// The machine's layout as root (per-run cgroups can be made); as a user, `None` after
/// checking that a judged pooled run is the documented clear `runner_error`.
fn root_layout(sandbox: &Sandbox) -> Option<Layout> {
    let layout = Layout::detect().unwrap();
    if layout.kind().is_none() {
        skip::record(Skip::Env, &format!("no memory controller ({layout})"));
        return None;
    }
    if is_root() {
        return Some(layout);
    }
    let r = Judge::new(probe(&["exit", "0"]))
        .layout(layout)
        .limits(Limits {
            memory: Some(64 << 20),
            ..Limits::default()
        })
        .run_in(sandbox);
    assert_eq!(r.status, Status::RunnerError);
    let message = &r.error.as_ref().unwrap().message;
    assert!(CLEAR_ERROR.iter().all(|t| message.contains(t)), "{message}");
    skip::record(Skip::RootOnly, "making per-run cgroups needs root here");
    None
}

fn judged(sandbox: &Sandbox, layout: &Layout, parent: &str, r: Runner, l: Limits) -> JudgeResult {
    let result = Judge::new(r)
        .layout(layout.clone())
        .cgroup_parent(parent)
        .limits(l)
        .run_in(sandbox);
    eprintln!("{}", result.to_json());
    result
}

/// 64 MiB of memory, and a wall-time backstop.
fn memory_limits() -> Limits {
    Limits {
        memory: Some(64 << 20),
        wall_time: Some(Duration::from_secs(20)),
        ..Limits::default()
    }
}

/// Over its memory limit a pooled run is `memory_limit_exceeded`, and the one after it in the
/// same sandbox, under the same limit, is `normal`: the limit is each run's.
#[test]
fn a_pooled_run_over_its_memory_limit_is_mle() {
    let mut c = Cleanup::default();
    let sandbox = shape(&mut c).start().unwrap();
    let Some(layout) = root_layout(&sandbox) else {
        return;
    };
    let guard = parent("mle");
    let parent = guard.name();
    let limits = memory_limits();
    let r = judged(&sandbox, &layout, parent, probe(&["alloc", "512"]), limits);
    assert_eq!(r.status, Status::MemoryLimitExceeded, "{}", r.to_json());
    assert_eq!(r.limit, Some(Limit::Memory));
    let r = judged(&sandbox, &layout, parent, probe(&["alloc", "16"]), limits);
    assert_eq!(r.status, Status::Normal, "{}", r.to_json());
    assert!(r.memory >= 16 << 20, "{}", r.to_json());
    nothing_left(&layout, parent);
}

/// Over its pids limit a pooled run cannot fork: with 4 (the run's init and shell count),
/// the shell starts two children and its third fork fails (dash then exits 2); without the
/// limit all six start.
#[test]
fn a_pooled_run_over_its_pids_limit_cannot_fork() {
    let mut c = Cleanup::default();
    let sandbox = shape(&mut c).start().unwrap();
    let Some(layout) = root_layout(&sandbox) else {
        return;
    };
    let guard = parent("pids");
    let parent = guard.name();
    let script = "i=0; while [ $i -lt 6 ]; do /bin/sleep 1000 & i=$((i+1)); echo $i; done";
    let sh = || Runner::new(["/bin/sh", "-c", script]);
    let limits = Limits {
        pids: Some(4),
        wall_time: Some(Duration::from_secs(20)),
        ..Limits::default()
    };
    let r = judged(&sandbox, &layout, parent, sh(), limits);
    let out = String::from_utf8_lossy(&r.stdout);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(r.pids_limit_hit, "{}", r.to_json());
    assert_eq!((out.as_ref(), r.exit_status), ("1\n2\n", Some(2)), "{err}");
    assert!(err.contains("Cannot fork"), "{err}");
    let r = judged(&sandbox, &layout, parent, sh(), Limits::default());
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(!r.pids_limit_hit, "{}", r.to_json());
    assert_eq!(
        (out.as_ref(), r.status),
        ("1\n2\n3\n4\n5\n6\n", Status::Normal),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    nothing_left(&layout, parent);
}

/// CPU time is each run's own: a loop is stopped at its limit (the cgroup's sum, not a
/// per-process rlimit), and the short run after it in the same sandbox is charged only its
/// own few milliseconds, in a fresh cgroup and in one reused from a cgroup pool.
#[test]
fn cpu_time_is_accounted_per_run() {
    let mut c = Cleanup::default();
    let sandbox = shape(&mut c).start().unwrap();
    let Some(layout) = root_layout(&sandbox) else {
        return;
    };
    let guard = parent("cpu");
    let parent = guard.name();
    let limits = Limits {
        time: Some(Duration::from_millis(500)),
        wall_time: Some(Duration::from_secs(20)),
        ..Limits::default()
    };
    let pool = Arc::new(cgroup::Pool::new(layout.clone(), parent, 1));
    for pooled in [false, true] {
        let judge = |r: Runner| {
            let j = Judge::new(r).layout(layout.clone()).limits(limits);
            let j = if pooled {
                j.pool(pool.clone())
            } else {
                j.cgroup_parent(parent)
            };
            let result = j.run_in(&sandbox);
            eprintln!("pooled {pooled}: {}", result.to_json());
            result
        };
        let r = judge(probe(&["spin", "2"]));
        assert_eq!(r.status, Status::TimeLimitExceeded, "{}", r.to_json());
        assert_eq!(r.limit, Some(Limit::Cpu));
        assert!(
            r.time >= Duration::from_millis(500) && r.time < Duration::from_millis(1000),
            "{}",
            r.to_json()
        );
        let r = judge(probe(&["exit", "0"]));
        assert_eq!(r.status, Status::Normal, "{}", r.to_json());
        assert!(r.time < Duration::from_millis(200), "{}", r.to_json());
    }
    drop(pool);
    nothing_left(&layout, parent);
}

/// At its sync point a run's cgroup holds exactly the run's init and program (the sandbox's
/// server and the run's helper stay out), also a reused cgroup after a run that left a
/// daemon; afterwards it is empty again.
#[test]
fn a_later_runs_cgroup_starts_empty() {
    let mut c = Cleanup::default();
    let pool = Pool::new(1, || shape(&mut c)).unwrap();
    let Some(layout) = root_layout(&pool.sandboxes()[0]) else {
        return;
    };
    let guard = parent("empty");
    let parent = guard.name();
    let cg = Arc::new(Cgroup::create(&layout, parent, &CgLimits::default()).unwrap());
    let devnull = File::open("/dev/null").unwrap();
    let null = devnull.as_raw_fd();
    for script in ["/bin/sleep 1000 & exit 0", "exit 0"] {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (cg2, seen2) = (cg.clone(), seen.clone());
        let runner = Runner::new(["/bin/sh", "-c", script])
            .files([null, null, null])
            .sync_func(move |_| {
                // Each process in it: its pid in its own pid namespace (the run's: 1 and 2).
                let inner = |pid: u32| {
                    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
                    let line = status.lines().find(|l| l.starts_with("NSpid:"));
                    let last = line.and_then(|l| l.split_whitespace().last());
                    Ok::<_, std::io::Error>(last.unwrap_or_default().to_owned())
                };
                *seen2.lock().unwrap() = cg2.procs().into_iter().map(inner).collect();
                Ok::<(), std::io::Error>(())
            });
        let mut run = pool.run_in(runner, &cg).unwrap();
        let inner: Vec<String> = seen.lock().unwrap().drain(..).map(Result::unwrap).collect();
        assert_eq!(inner, ["1", "2"]);
        assert!(run.wait().unwrap().success());
        cg.kill().unwrap();
        assert!(cg.is_empty(), "{:?}", cg.procs());
    }
    Arc::try_unwrap(cg).unwrap().remove().unwrap();
    nothing_left(&layout, parent);
}

/// A move the caller may not make (an ordinary user: the host's root cgroups) fails the start
/// with the file and the fix named, the program never runs, and the sandbox serves on.
#[test]
fn a_cgroup_it_may_not_enter_is_a_clear_error() {
    forkexec_testkit::user_only!("root may move a process into any cgroup");
    let layout = Layout::detect().unwrap();
    let Some(memory) = layout.v1_mount(cgroup::MEMORY).map(PathBuf::from) else {
        forkexec_testkit::skip!("no v1 memory hierarchy");
    };
    let mut c = Cleanup::default();
    let sandbox = shape(&mut c).start().unwrap();
    let theirs = Cgroup::at(Kind::V1, vec![(vec![cgroup::MEMORY], memory)], None);
    let (r, w) = pipe();
    let runner = Runner::new(["/bin/sh", "-c", "echo ran"]).files([-1, w.as_raw_fd(), -1]);
    let e = sandbox.run_in(runner, &theirs).unwrap_err();
    drop(w);
    let message = e.to_string();
    assert!(matches!(e, Error::Sync(_)), "{message}");
    assert!(message.contains("cgroup.procs"), "{message}");
    assert!(CLEAR_ERROR.iter().all(|t| message.contains(t)), "{message}");
    let mut out = String::new();
    use std::io::Read;
    (&r).read_to_string(&mut out).unwrap();
    assert_eq!(out, "", "the program ran");
    let (_, w) = pipe();
    let mut ok = sandbox
        .run(Runner::new(["/bin/true"]).files([-1, w.as_raw_fd(), 2]))
        .unwrap();
    assert!(ok.wait().unwrap().success());
}

/// A runner's `cgroup` path in a pooled run is a host path: the run's init and program are
/// moved into it as with `run_in`.
#[test]
fn a_cgroup_path_is_the_hosts() {
    forkexec_testkit::root_only!("a cgroup to place runs in");
    let layout = Layout::detect().unwrap();
    let Some(mount) = layout.v1_mount(cgroup::PIDS).or(layout.v2.as_deref()) else {
        forkexec_testkit::skip!("no pids hierarchy or cgroup2 tree");
    };
    let guard = parent("path");
    let dir = mount.join(guard.name());
    fs::create_dir(&dir).unwrap();
    let mut c = Cleanup::default();
    let sandbox = shape(&mut c).start().unwrap();
    let (stdin_r, stdin_w) = pipe();
    let runner = Runner::new(["/bin/sh", "-c", "read x"])
        .files([stdin_r.as_raw_fd(), -1, -1])
        .cgroup(dir.to_string_lossy());
    let mut run = sandbox.run(runner).unwrap();
    // Placed before the exec: in it as soon as the start returns.
    let procs = fs::read_to_string(dir.join("cgroup.procs")).unwrap();
    assert_eq!(procs.lines().count(), 2, "init and sh: {procs}");
    drop((stdin_r, stdin_w));
    assert!(run.wait().is_ok());
    assert_eq!(forkexec_testkit::leaks::cgroup_left(&dir), Ok(()));
    // With run_in too it would be a second cgroup: refused, in both sandbox models.
    let cg = Cgroup::at(Kind::V1, vec![(vec![cgroup::PIDS], dir.clone())], None);
    let shared = shape(&mut c).shared_namespaces().start().unwrap();
    for sandbox in [&sandbox, &shared] {
        let e = sandbox
            .run_in(
                Runner::new(["/bin/true"]).cgroup(dir.to_string_lossy()),
                &cg,
            )
            .unwrap_err();
        let m = e.to_string();
        assert!(m.contains("runner's own cgroup path"), "{m}");
    }
}

/// A shared-namespace sandbox's run has no init of its own: its program's parent is the
/// sandbox's server (pid 1 there), which never enters the run's cgroup (a kill of the cgroup
/// would end the sandbox); the program alone does, and with an init the run asks for, init
/// and program. Judged there, a run over its memory limit is still MLE.
#[test]
fn a_shared_runs_cgroup_never_holds_the_server() {
    let mut c = Cleanup::default();
    let sandbox = shape(&mut c).shared_namespaces().start().unwrap();
    let Some(layout) = root_layout(&sandbox) else {
        return;
    };
    let server: Vec<u32> = forkexec_testkit::leaks::descendants_of(sandbox.pid())
        .iter()
        .map(|p| p.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(server.len(), 1, "{server:?}");
    let guard = parent("shared");
    let parent = guard.name();
    let cg = Arc::new(Cgroup::create(&layout, parent, &CgLimits::default()).unwrap());
    let devnull = File::open("/dev/null").unwrap();
    let null = devnull.as_raw_fd();
    for (init, members) in [(false, 1), (true, 2)] {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (cg2, seen2) = (cg.clone(), seen.clone());
        let runner = Runner::new(["/bin/true"])
            .init(init)
            .files([null, null, null])
            .sync_func(move |_| {
                *seen2.lock().unwrap() = cg2.procs();
                Ok::<(), std::io::Error>(())
            });
        let mut run = sandbox.run_in(runner, &cg).unwrap();
        let procs = seen.lock().unwrap().clone();
        assert_eq!(procs.len(), members, "init {init}: {procs:?}");
        assert!(
            !procs.contains(&server[0]),
            "the server was moved: {procs:?}"
        );
        assert!(run.wait().unwrap().success());
        assert!(cg.is_empty(), "{:?}", cg.procs());
    }
    Arc::try_unwrap(cg).unwrap().remove().unwrap();
    let limits = memory_limits();
    let r = judged(&sandbox, &layout, parent, probe(&["alloc", "512"]), limits);
    assert_eq!(r.status, Status::MemoryLimitExceeded, "{}", r.to_json());
    let (_, w) = pipe();
    let mut ok = sandbox
        .run(Runner::new(["/bin/true"]).files([-1, w.as_raw_fd(), 2]))
        .unwrap();
    assert!(ok.wait().unwrap().success());
    nothing_left(&layout, parent);
}
