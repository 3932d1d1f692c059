//! Signals forwarded to the target, and exit statuses mirrored (exit record, helper's own end).

use super::*;

// ---------------------------------------------------------------------------------------------
// The raw helper: the spec's bytes in, every record out, the helper's own exit status
// ---------------------------------------------------------------------------------------------

/// `runner`'s spec run by [`RawHelper`] to the end: records and the helper's status.
fn raw_run(runner: &Runner) -> (Vec<Record>, ExitStatus) {
    RawHelper::spawn(&runner.spec.encode().unwrap(), |_| {}).finish()
}

/// The records a supervising helper writes for a target that ran and ended with `status`:
/// pid, exec, exit. Returns the exit record's times and RSS for further checks.
#[track_caller]
fn assert_supervised_records(records: &[Record], status: i32) -> (u64, u64, u64) {
    match records {
        [Record::Pid { pid }, Record::Exec { pid: exec_pid }, Record::Exit {
            status: s,
            utime_us,
            stime_us,
            maxrss_kib,
        }] => {
            assert_eq!(pid, exec_pid, "{records:?}");
            assert_eq!(*s, status, "exit record {records:?}");
            (*utime_us, *stime_us, *maxrss_kib)
        }
        _ => panic!("expected pid, exec, exit({status:#x}): {records:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Signals: forwarded by the supervisor (and init) to the target
// ---------------------------------------------------------------------------------------------

const FORWARDED: [(i32, &str); 3] = [
    (libc::SIGTERM, "TERM"),
    (libc::SIGINT, "INT"),
    (libc::SIGUSR1, "USR1"),
];

/// Supervise: SIGTERM, SIGINT and SIGUSR1 sent to the helper (the process a runtime knows)
/// reach the target. The target is pid 1 of its namespace, which only gets signals it has a
/// handler for: a shell that traps each one, says which it got and exits with its own code;
/// the helper then exits with that code.
#[test]
fn supervisor_forwards_signals_to_the_target() {
    let mut c = Cleanup::default();
    for (i, (sig, name)) in FORWARDED.iter().enumerate() {
        let script = r#"
            trap 'echo got TERM; exit 71' TERM
            trap 'echo got INT; exit 72' INT
            trap 'echo got USR1; exit 73' USR1
            /bin/sleep 5 &
            echo ready
            wait
            echo "wait returned"
        "#;
        let mut run = Running::start(sh(with_dev_null(pid_root(&mut c, &[])), script)).unwrap();
        assert_eq!(run.line(), "ready");
        // SAFETY: kill() on our unreaped child.
        assert_eq!(unsafe { libc::kill(run.p.pid() as i32, *sig) }, 0);
        let (status, out, err) = run.finish();
        assert_eq!(out, format!("got {name}\n"), "{err}");
        assert_eq!(status.code(), Some(71 + i as i32), "{status} {err}");
    }
    assert_no_children();
}

/// Init: the signal goes helper → init → the target (pid 2), which has no handler and dies
/// of it; init passes the status up and the runtime sees the same signal.
#[test]
fn init_forwards_signals_to_pid_2() {
    let mut c = Cleanup::default();
    for (sig, _) in FORWARDED {
        let run = Running::start(init_root(&mut c, &["sleep", "5"])).unwrap();
        // `start` returned after the exec record: the probe runs.
        run.p.kill(sig).unwrap();
        let (status, _, err) = run.finish();
        assert_eq!(status.signal(), Some(sig), "{status} {err}");
        assert!(!status.status.core_dumped());
    }
    assert_no_children();
}

// ---------------------------------------------------------------------------------------------
// Exit statuses: the exit record, and the helper ending the same way
// ---------------------------------------------------------------------------------------------

/// Exit codes pass through unchanged: the exit record has the target's wait status, and the
/// helper (all that a runtime which only waits for its child sees) exits with the same code.
#[test]
fn exit_codes_are_mirrored() {
    let mut c = Cleanup::default();
    for init in [false, true] {
        for code in [0, 1, 42, 255] {
            let r = ending(&mut c, init, &["exit", &code.to_string()]);
            let (records, status) = raw_run(&r);
            assert_supervised_records(&records, code << 8);
            assert_eq!(status.code(), Some(code), "init {init}: {status:?}");
            // Through the client: the same code.
            let out = run(ending(&mut c, init, &["exit", &code.to_string()])).unwrap();
            assert_eq!(out.status.code(), Some(code), "init {init}");
        }
    }
}

/// SIGKILL: the supervised target (pid 1) killed from the host, or pid 2 killing itself under
/// init. The record says SIGKILL and the helper dies of SIGKILL too.
#[test]
fn sigkill_is_mirrored() {
    let mut c = Cleanup::default();
    let spec = ending(&mut c, false, &["sleep", "60"])
        .spec
        .encode()
        .unwrap();
    let mut h = RawHelper::spawn(&spec, |_| {});
    let Some(Record::Pid { pid }) = h.next() else {
        panic!("no pid record")
    };
    assert_eq!(h.next(), Some(Record::Exec { pid }));
    // SAFETY: kill() on the helper's unreaped child.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    let (records, status) = h.finish();
    assert!(
        matches!(records[..], [Record::Exit { status: 9, .. }]),
        "{records:?}"
    );
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");

    let (records, status) = raw_run(&ending(&mut c, true, &["signal", "9"]));
    assert_supervised_records(&records, libc::SIGKILL);
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
}

/// SIGSEGV under init (pid 2 raises it; pid 1 could not die of its own signal): the record
/// has exactly SIGSEGV (the target's core limit is 0), and the helper dies of SIGSEGV without
/// dumping a core of its own, although its core limit is unlimited and its working directory
/// writable (where the same probe, run directly, does dump one when the system dumps cores).
#[test]
fn sigsegv_under_init_is_mirrored_without_a_core_dump() {
    let mut c = Cleanup::default();
    let cwd = c.dir("cores");
    let unlimited_cores_in = |cmd: &mut Command, dir: &Path| {
        cmd.current_dir(dir);
        // SAFETY: setrlimit between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                let lim = libc::rlimit {
                    rlim_cur: libc::RLIM_INFINITY,
                    rlim_max: libc::RLIM_INFINITY,
                };
                if libc::setrlimit(libc::RLIMIT_CORE, &lim) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
    };
    let spec = ending(&mut c, true, &["signal", "11"])
        .spec
        .encode()
        .unwrap();
    let (records, status) = RawHelper::spawn(&spec, |cmd| unlimited_cores_in(cmd, &cwd)).finish();
    assert_supervised_records(&records, libc::SIGSEGV);
    assert_eq!(status.signal(), Some(libc::SIGSEGV), "{status:?}");
    assert!(!status.core_dumped(), "{status:?}");
    assert_eq!(fs::read_dir(&cwd).unwrap().count(), 0, "a core file");

    // The control: this system does dump the probe's core in these conditions.
    let control = c.dir("control");
    let mut cmd = Command::new(probe());
    cmd.args(["signal", "11"]).stderr(Stdio::null());
    unlimited_cores_in(&mut cmd, &control);
    let direct = cmd.status().unwrap();
    assert_eq!(direct.signal(), Some(libc::SIGSEGV));
    if !direct.core_dumped() {
        eprintln!("note: this system dumps no core for a direct SIGSEGV either (core_pattern)");
    }
}

/// The least CPU time a busy loop stopped by a 1 s CPU limit is reported to have used. The
/// kernel checks the limit against tick-sampled time, while rusage is precise: on a busy
/// machine a loop can be charged for more ticks than it ran (0.85 s seen with another test
/// suite running), so this is a plausibility bound; the exact check is
/// `exit_record_has_the_targets_own_cpu_time`.
const CPU_LIMIT_FLOOR: Duration = Duration::from_millis(500);

/// SIGXCPU under init: a busy loop with a 1 s CPU limit. The runtime sees the target's own
/// end (SIGXCPU, from the exit record) and its CPU time: about the limit, at most the wall
/// time it ran (one thread); and a plausible peak RSS.
#[test]
fn sigxcpu_under_init_is_mirrored_with_its_cpu_time() {
    let mut c = Cleanup::default();
    let r = sh(ending(&mut c, true, &[]), "while :; do :; done").rlimit(Resource::Cpu, 1, 2);
    let started = Instant::now();
    let out = run(r).unwrap();
    let wall = started.elapsed();
    assert_eq!(out.status.signal(), Some(libc::SIGXCPU), "{}", out.status);
    let usage = out.status.rusage;
    let cpu = usage.user_time + usage.system_time;
    assert!(cpu >= CPU_LIMIT_FLOOR, "{usage:?}");
    assert!(cpu <= wall, "{usage:?} in {wall:?}");
    assert!(usage.user_time > usage.system_time, "{usage:?}");
    assert!((100..100_000).contains(&usage.max_rss_kib), "{usage:?}");
}

/// Supervise: the kernel's SIGKILL at a 1 s hard CPU limit ends even pid 1. The exit record
/// (read raw here) carries the busy loop's CPU time, and the helper dies of SIGKILL.
#[test]
fn cpu_limit_sigkill_of_a_supervised_busy_loop() {
    let mut c = Cleanup::default();
    let r = sh(ending(&mut c, false, &[]), "while :; do :; done").rlimit(Resource::Cpu, 1, 1);
    let started = Instant::now();
    let (records, status) = raw_run(&r);
    let wall = started.elapsed();
    let (utime, stime, rss) = assert_supervised_records(&records, libc::SIGKILL);
    let cpu = Duration::from_micros(utime + stime);
    assert!(cpu >= CPU_LIMIT_FLOOR, "{records:?}");
    assert!(cpu <= wall, "{records:?} in {wall:?}");
    assert!(utime > stime, "{records:?}");
    assert!((100..100_000).contains(&rss), "{records:?}");
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status:?}");
}

/// `0m1.230000s` (the shell's `times`) as a Duration.
fn shell_time(t: &str) -> Duration {
    let (m, s) = t.trim_end_matches('s').split_once('m').unwrap();
    Duration::from_secs(m.parse::<u64>().unwrap() * 60)
        + Duration::from_secs_f64(s.parse().unwrap())
}

/// The CPU time `wait` reports (from the exit record) is the target's own: a shell busy for
/// a fixed amount of work prints its CPU time (`times`, 10 ms steps) right before it exits,
/// and the record's user + system time is that, plus at most the few instructions of its
/// exit. (The helper's own time would be a few milliseconds.) Supervise and init.
#[test]
fn exit_record_has_the_targets_own_cpu_time() {
    let mut c = Cleanup::default();
    for init in [false, true] {
        let script = "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; times";
        let out = run(sh(ending(&mut c, init, &[]), script)).unwrap();
        assert!(out.status.success(), "{} {}", out.status, out.stderr);
        let first = out.stdout.lines().next().unwrap();
        let (user, system) = first.split_once(' ').unwrap();
        let said = shell_time(user) + shell_time(system);
        let usage = out.status.rusage;
        let recorded = usage.user_time + usage.system_time;
        assert!(said >= Duration::from_millis(50), "init {init}: {first}");
        assert!(
            recorded >= said && recorded <= said + Duration::from_millis(40),
            "init {init}: the shell said {first}, the record {usage:?}"
        );
    }
}
