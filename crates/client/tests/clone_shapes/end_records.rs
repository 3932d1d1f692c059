//! ONLY_END_RECORDS (docs/spec.md, "In the clone shapes"): a supervising helper writes no pid
//! and no exec record, only the target's error record or the exit record; it still tells a
//! setup failure from an exit, aborts a start still in setup on SIGTERM, forwards signals
//! after the exec, and `Runner::run` sets the option and gets the same status.

use super::*;

/// `runner` with only the end records asked for.
fn end_only(mut runner: Runner) -> Runner {
    runner.spec.only_end_records = true;
    runner
}

/// The spec run by the raw helper to the end: every record, the helper's own status.
fn raw(runner: &Runner) -> (Vec<Record>, ExitStatus) {
    RawHelper::spawn(&runner.spec.encode().unwrap(), |_| {}).finish()
}

/// Supervise and init: the exit record alone, with the target's status, and the helper
/// ending the same way; without the option, pid, exec and exit as before.
#[test]
fn only_the_exit_record_comes() {
    let mut c = Cleanup::default();
    for init in [false, true] {
        for code in [0, 3] {
            let r = ending(&mut c, init, &["exit", &code.to_string()]);
            let (records, status) = raw(&r);
            assert!(
                matches!(
                    records[..],
                    [Record::Pid { .. }, Record::Exec { .. }, Record::Exit { .. }]
                ),
                "init {init}, without the option: {records:?}"
            );
            let (records, status_end) = raw(&end_only(r));
            match records[..] {
                [Record::Exit { status: s, .. }] => assert_eq!(s, code << 8, "init {init}"),
                _ => panic!("init {init}: expected the exit record alone: {records:?}"),
            }
            assert_eq!(status_end.code(), Some(code), "init {init}");
            assert_eq!(status.code(), Some(code), "init {init}");
        }
    }
    assert_no_children();
}

/// A setup failure is the target's error record alone, and the helper exits 125 as the
/// target did (no exit record: the supervisor saw the failure byte on the handshake).
#[test]
fn a_setup_failure_is_its_error_record_alone() {
    let mut c = Cleanup::default();
    for init in [false, true] {
        let r = end_only(ending(&mut c, init, &["exit", "0"]).work_dir("/no/such/dir"));
        let (records, status) = raw(&r);
        match records[..] {
            [Record::Error { errno, .. }] => assert_eq!(errno, libc::ENOENT, "init {init}"),
            _ => panic!("init {init}: expected the error record alone: {records:?}"),
        }
        assert_eq!(status.code(), Some(125), "init {init}");
    }
    assert_no_children();
}

/// SIGTERM while the target is still in setup (here: waiting for its sync answer) aborts the
/// start as without the option: the target is killed, the error record is supervise(3) EINTR.
#[test]
fn sigterm_before_exec_still_aborts_the_start() {
    let mut c = Cleanup::default();
    let mut r = end_only(pid_root(&mut c, &["/bin/true"]));
    r.spec.sync = true;
    let mut helper = RawHelper::spawn(&r.spec.encode().unwrap(), |_| {});
    // The sync record comes (the caller asked for it); no pid record before it.
    assert!(matches!(helper.next(), Some(Record::Sync { .. })));
    // SAFETY: kill() on our unreaped child.
    assert_eq!(
        unsafe { libc::kill(helper.child.id() as i32, libc::SIGTERM) },
        0
    );
    let (records, status) = helper.finish();
    match records[..] {
        [Record::Error {
            location,
            errno,
            index,
            ..
        }] => {
            assert_eq!(location, Location::Supervise as u32, "{records:?}");
            assert_eq!((errno, index), (libc::EINTR, 3), "{records:?}");
        }
        _ => panic!("expected supervise(3) EINTR: {records:?}"),
    }
    assert_eq!(status.code(), Some(125));
    assert_no_children();
}

/// After the exec, SIGTERM to the helper reaches the target (a shell that traps it), and the
/// exit record says how it ended.
#[test]
fn signals_after_the_exec_are_forwarded() {
    let mut c = Cleanup::default();
    let script = r#"
        trap 'echo got TERM; exit 71' TERM
        /bin/sleep 5 &
        echo ready
        wait
    "#;
    let r = end_only(sh(with_dev_null(pid_root(&mut c, &[])), script));
    let (out_r, out_w) = pipe();
    let helper = RawHelper::spawn(&r.spec.encode().unwrap(), |cmd| {
        cmd.stdout(Stdio::from(out_w));
    });
    let mut out = BufReader::new(out_r);
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    // SAFETY: kill() on our unreaped child.
    assert_eq!(
        unsafe { libc::kill(helper.child.id() as i32, libc::SIGTERM) },
        0
    );
    let (records, status) = helper.finish();
    match records[..] {
        [Record::Exit { status: s, .. }] => assert_eq!(s, 71 << 8, "{records:?}"),
        _ => panic!("expected the exit record alone: {records:?}"),
    }
    assert_eq!(status.code(), Some(71));
    line.clear();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "got TERM\n");
    assert_no_children();
}

/// `Runner::run` asks for the end records only: the same status, and the CPU time of the
/// target from the exit record (a supervised target's own usage), in both clone shapes and
/// in place; with a sync callback it still calls it.
#[test]
fn runner_run_gets_the_status_and_usage() {
    let mut c = Cleanup::default();
    for init in [false, true] {
        let busy = "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; exit 5";
        let r = sh(ending(&mut c, init, &[]), busy);
        let status = r.run().expect("run");
        assert_eq!(status.code(), Some(5), "init {init}");
        let cpu = status.rusage.user_time + status.rusage.system_time;
        assert!(cpu > Duration::from_millis(1), "init {init}: {status:?}");
    }
    let status = Runner::new(["/bin/sh", "-c", "exit 6"])
        .helper(helper())
        .run();
    assert_eq!(status.expect("in place").code(), Some(6));
    let called = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = called.clone();
    let r = ending(&mut c, false, &["exit", "0"]).sync_func(move |_| {
        seen.store(true, std::sync::atomic::Ordering::SeqCst);
        Ok::<(), std::io::Error>(())
    });
    assert!(r.run().expect("with sync").success());
    assert!(called.load(std::sync::atomic::Ordering::SeqCst));
    assert_no_children();
}
