//! Die with parent: a runtime killed with SIGKILL takes the sandbox down.

use super::*;

// ---------------------------------------------------------------------------------------------
// Die with parent: a runtime killed with SIGKILL takes the sandbox down
// ---------------------------------------------------------------------------------------------
//
// The "runtime" is /bin/sh, which starts the helper in the background (spec from a file or a
// pipe, records to a status file) and then becomes `sleep 60`. It runs under a reaper: this
// test binary re-executed (`reaper_process`) as a child subreaper, so that what the killed
// runtime leaves behind is reaped (pid 1 here may not), and the reaper exits only once
// nothing of the sandbox is left.

const REAPER_ENV: &str = "FORKEXEC_TEST_REAPER_SCRIPT";

/// Not a test: the body of the reaper process the die-with-parent tests start (a no-op unless
/// re-executed with `REAPER_ENV`). It makes itself a child subreaper, runs the script with
/// /bin/sh, reaps every process that ends up its child until none is left, and exits.
/// Ignored, so that it never counts as a passing test; the re-execution asks for it by name
/// with `--ignored`.
#[test]
#[ignore = "not a test: the reaper's entry point, run only when re-executed"]
fn reaper_process() {
    let Some(script) = std::env::var_os(REAPER_ENV) else {
        return;
    };
    // SAFETY: prctl with integer arguments.
    assert_eq!(
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) },
        0
    );
    let shell = Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    drop(shell); // reaped below, with everything else
    loop {
        // SAFETY: waitpid with a null status pointer.
        let r = unsafe { libc::waitpid(-1, std::ptr::null_mut(), 0) };
        if r < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            break; // ECHILD: nothing left
        }
    }
    std::process::exit(0);
}

/// A reaper process running a runtime script, and the pids the test learns; on drop, every
/// one of them still running is killed and the reaper waited for.
struct Reaper {
    child: Child,
    pids: Vec<u32>,
}

impl Reaper {
    /// Starts the reaper; `keep` is an fd of this process it (and so the script) inherits.
    fn start(script: &str, keep: Option<RawFd>) -> Reaper {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--exact",
            "--ignored",
            "die_with_parent::reaper_process",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(REAPER_ENV, script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        if let Some(fd) = keep {
            // SAFETY: only fcntl between fork and exec.
            unsafe {
                cmd.pre_exec(move || clear_cloexec(fd));
            }
        }
        Reaper {
            child: cmd.spawn().unwrap(),
            pids: Vec::new(),
        }
    }

    /// Waits (up to 5 s) for the reaper to have reaped everything and exited.
    fn finished(&mut self) -> bool {
        eventually(5.0, || matches!(self.child.try_wait(), Ok(Some(_))))
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        for &pid in &self.pids {
            if alive(pid) {
                // SAFETY: kill() with a pid and a signal number.
                unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            }
        }
        if !self.finished() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Waits (up to 5 s) for a file the script or the target writes; returns its content once it
/// is a complete line.
fn await_line(path: &Path) -> String {
    let mut line = String::new();
    let ok = eventually(5.0, || {
        line = fs::read_to_string(path).unwrap_or_default();
        line.ends_with('\n')
    });
    assert!(ok, "{} never written", path.display());
    line.trim().to_string()
}

/// Every record in a status file.
fn records_in(path: &Path) -> Vec<Record> {
    read_records(&mut File::open(path).unwrap())
}

/// The script of a runtime that starts the helper with the spec in `dir/spec` and its records
/// going to `dir/status`, writes its own pid and the helper's, and stays (as `sleep`).
fn runtime_script(dir: &Path, spec_fd: &str) -> String {
    let d = path_str(dir);
    format!(
        "echo $$ > {d}/runtime\n\
         {helper} --spec-fd {spec_fd} 4>{d}/status &\n\
         echo $! > {d}/helper\n\
         exec /bin/sleep 60\n",
        helper = path_str(&helper()),
    )
}

/// Runs a sandbox of `shape` (its target: a shell that says it is ready, then sleeps) under a
/// runtime and kills the runtime with SIGKILL. Returns the sandbox's processes that ran, and
/// those still running afterwards: 3 s later at most with die-with-parent (as soon as all are
/// gone), 200 ms later without (then they are killed here).
fn kill_the_runtime(shape: Shape, die_with_parent: bool) -> (Vec<u32>, Vec<u32>) {
    let mut c = Cleanup::default();
    let dir = c.dir("runtime");
    let out = dir.join("out");
    fs::create_dir(&out).unwrap();
    let base = match shape {
        Shape::InPlace => in_root(&mut c, &[]),
        Shape::Supervise => pid_root(&mut c, &[]),
        Shape::Detach => pid_root(&mut c, &[]).detach(true),
        Shape::Init => init_root(&mut c, &[]),
    };
    let mut r = sh(
        base.mount(Mount::bind(path_str(&out), "/out", false)),
        "echo ready > /out/ready; exec /probe sleep 60",
    )
    .die_with_parent(die_with_parent);
    r.spec.files = vec![0, 1, 2];
    r.spec.status_fd = Some(4);
    fs::write(dir.join("spec"), r.spec.encode().unwrap()).unwrap();

    let script = format!(
        "exec 3<{}/spec\n{}",
        path_str(&dir),
        runtime_script(&dir, "3")
    );
    let mut reaper = Reaper::start(&script, None);
    let runtime: u32 = await_line(&dir.join("runtime")).parse().unwrap();
    reaper.pids.push(runtime);
    let helper: u32 = await_line(&dir.join("helper")).parse().unwrap();
    reaper.pids.push(helper);
    assert_eq!(await_line(&out.join("ready")), "ready");

    // The sandbox's processes, all running now.
    let mut sandbox = vec![helper];
    if shape != Shape::InPlace {
        let records = records_in(&dir.join("status"));
        let Some(Record::Pid { pid }) = records.first() else {
            panic!("{shape:?}: {records:?}")
        };
        let members = pid_ns_members(&sandbox_pid_ns(*pid));
        let expected = if shape == Shape::Init { 2 } else { 1 };
        assert_eq!(members.len(), expected, "{shape:?}: {members:?}");
        assert!(members.contains(pid));
        sandbox.extend(members);
    }
    reaper.pids.extend(&sandbox);
    let running: Vec<u32> = sandbox.iter().copied().filter(|&p| alive(p)).collect();
    let mut expected_running = sandbox.clone();
    if shape == Shape::Detach {
        expected_running.retain(|&p| p != helper); // it exited after the pid record
    }
    assert_eq!(running, expected_running, "{shape:?}");

    // SAFETY: kill() of the runtime (not yet reaped: the reaper's child).
    assert_eq!(unsafe { libc::kill(runtime as i32, libc::SIGKILL) }, 0);
    assert!(
        eventually(3.0, || stat_of(runtime).is_none()),
        "runtime reaped"
    );
    let left =
        |running: &[u32]| -> Vec<u32> { running.iter().copied().filter(|&p| alive(p)).collect() };
    let still = if die_with_parent {
        eventually(3.0, || left(&running).is_empty());
        left(&running)
    } else {
        // The parent-death signal is sent as the runtime exits, so before it is reaped.
        std::thread::sleep(Duration::from_millis(200));
        let still = left(&running);
        for &p in &running {
            // SAFETY: kill() of a process of ours that runs (the reaper has not reaped it).
            unsafe { libc::kill(p as i32, libc::SIGKILL) };
        }
        still
    };
    assert!(reaper.finished(), "the reaper is left with a process");
    assert!(sandbox.iter().all(|&p| stat_of(p).is_none()), "reaped");
    (running, still)
}

/// With die-with-parent, SIGKILL of the runtime takes down the whole sandbox within moments,
/// in every shape: the helper (the target itself in place), the supervised target, the
/// detached target (the runtime's own child), init and pid 2.
#[test]
fn killing_the_runtime_takes_the_sandbox_down() {
    for shape in [Shape::InPlace, Shape::Supervise, Shape::Detach, Shape::Init] {
        let (ran, still) = kill_the_runtime(shape, true);
        assert_eq!(
            still,
            Vec::<u32>::new(),
            "{shape:?}: left running of {ran:?}"
        );
    }
}

/// The control: without die-with-parent the same sandboxes outlive the runtime (every one of
/// their processes still runs 200 ms after the runtime was reaped).
#[test]
fn without_die_with_parent_the_sandbox_outlives_the_runtime() {
    for shape in [Shape::InPlace, Shape::Supervise, Shape::Init] {
        let (ran, still) = kill_the_runtime(shape, false);
        assert_eq!(still, ran, "{shape:?}");
    }
}

/// `pdeathsig` (44), ESRCH, index 0: the runtime died after starting the helper but before the
/// helper armed the parent-death signal. The window is made wide on purpose: the spec comes
/// through a pipe this test writes only once the runtime is dead and the helper (blocked
/// reading it, having noted its parent at start) has been reparented. The helper reports and
/// runs nothing. The control: the same with the runtime alive runs the target.
#[test]
fn pdeathsig_esrch_when_the_runtime_died_before_the_helper_armed() {
    let read_syscall = format!("{} ", libc::SYS_read);
    for runtime_dies in [true, false] {
        let mut c = Cleanup::default();
        let dir = c.dir("esrch");
        let (r, marker) = marker_target(&mut c);
        let mut r = r.die_with_parent(true);
        r.spec.status_fd = Some(4);
        let spec = r.spec.encode().unwrap();

        let (spec_r, mut spec_w) = pipe();
        // Far above 4, the script's status fd.
        // SAFETY: F_DUPFD_CLOEXEC returns a fresh fd we own.
        let spec_r = owned(unsafe { libc::fcntl(spec_r.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 20) });
        let fd = spec_r.as_raw_fd();
        let mut reaper = Reaper::start(&runtime_script(&dir, &fd.to_string()), Some(fd));
        drop(spec_r);
        let runtime: u32 = await_line(&dir.join("runtime")).parse().unwrap();
        let helper: u32 = await_line(&dir.join("helper")).parse().unwrap();
        reaper.pids.extend([runtime, helper]);
        // The helper has started (noted its parent) and blocks reading the spec.
        // An unprivileged test cannot read the syscall of the (non-dumpable) helper: after
        // its exec, the only call it can sleep in before the spec arrives is that read.
        let blocked = eventually(5.0, || {
            match fs::read_to_string(format!("/proc/{helper}/syscall")) {
                Ok(s) => s.starts_with(&format!("{read_syscall}{fd:#x} ")),
                Err(_) => !is_root() && is_helper_sleeping(helper),
            }
        });
        assert!(blocked, "the helper never blocked reading fd {fd}");
        if runtime_dies {
            // SAFETY: kill() of the runtime (the reaper's unreaped child).
            assert_eq!(unsafe { libc::kill(runtime as i32, libc::SIGKILL) }, 0);
            assert!(eventually(3.0, || stat_of(helper).is_some_and(|(_, pp)| pp != runtime)));
        }
        spec_w.write_all(&spec).unwrap();
        drop(spec_w);
        assert!(eventually(5.0, || !alive(helper)), "the helper ended");
        let records = records_in(&dir.join("status"));
        if runtime_dies {
            let esrch = Record::Error {
                location: Location::Pdeathsig as u32,
                errno: libc::ESRCH,
                index: 0,
                detail: 0,
            };
            assert_eq!(records, [esrch]);
            assert_never_ran(&marker);
        } else {
            assert_eq!(records, []);
            assert_eq!(fs::read_to_string(&marker).unwrap(), "ran");
            // SAFETY: kill() of the runtime (the reaper's unreaped child).
            assert_eq!(unsafe { libc::kill(runtime as i32, libc::SIGKILL) }, 0);
        }
        assert!(reaper.finished());
    }
}
