//! Detach: the target is the runtime's own child (and traceable by it).

use super::*;
use forkexec_testkit::skip;

// ---------------------------------------------------------------------------------------------
// Detach: the runtime's own child
// ---------------------------------------------------------------------------------------------

/// A detached target whose setup fails (execve ENOENT here) reports its error record itself;
/// `start` fails with it, exits 127, and reaps it: it was our child, so nothing else would.
#[test]
fn detached_setup_failure_is_reported_and_reaped() {
    let mut c = Cleanup::default();
    let r = pid_root(&mut c, &[])
        .detach(true)
        .exec_path("/no/such/file");
    assert_child_error(r.start(), "execve", libc::ENOENT, 0);
    assert_no_children();
}

/// The sync callback gets the target's pid as the runtime sees it (the pid record's), not its
/// pid inside the new namespace (1), in the supervise and detach shapes; with detach that is
/// also `pid()`, the process to wait for.
#[test]
fn sync_callback_gets_the_host_pid_in_a_new_pid_namespace() {
    use std::sync::{Arc, Mutex};
    let mut c = Cleanup::default();
    for detach in [false, true] {
        let seen = Arc::new(Mutex::new(None));
        let seen_in = seen.clone();
        let r = pid_root(&mut c, &["sleep", "60"])
            .detach(detach)
            .sync_func(move |pid| {
                let nspid = status_field(pid, "NSpid");
                *seen_in.lock().unwrap() = Some((pid, nspid));
                Ok::<(), std::io::Error>(())
            });
        let run = Running::start(r).unwrap();
        let target = run.p.target_pid();
        assert_eq!(
            seen.lock().unwrap().clone(),
            Some((target, format!("{target}\t1"))),
            "detach {detach}"
        );
        if detach {
            assert_eq!(run.p.pid(), target);
        }
        drop(run);
    }
    assert_no_children();
}

/// Once the target has executed, only the helper holds the runtime's status channel: not the
/// target (close-on-exec) and not init. Otherwise a runtime reading it to the end (the client's
/// `wait`, for the exit record) would wait for the whole namespace if the helper died first.
#[test]
fn only_the_helper_keeps_the_status_channel() {
    let mut c = Cleanup::default();
    for init in [false, true] {
        let spec = ending(&mut c, init, &["sleep", "60"])
            .spec
            .encode()
            .unwrap();
        let mut h = RawHelper::spawn(&spec, |_| {});
        let Some(Record::Pid { pid }) = h.next() else {
            panic!("no pid record")
        };
        assert_eq!(h.next(), Some(Record::Exec { pid }));
        // The fds of `pid` that are the helper's end; None when they cannot be listed: the
        // helper and init are non-dumpable, which hides their fds from an unprivileged test.
        let holders = |pid: u32| -> Option<Vec<String>> {
            let dir = match fs::read_dir(format!("/proc/{pid}/fd")) {
                Ok(dir) => dir,
                Err(e) => {
                    assert!(!is_root(), "{e}");
                    assert_eq!(e.raw_os_error(), Some(libc::EACCES), "{e}");
                    return None;
                }
            };
            let fds = dir
                .flatten()
                .filter(|e| fs::read_link(e.path()).is_ok_and(|l| path_str(&l) == h.their_end))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            Some(fds)
        };
        let (helper, first) = (holders(h.child.id()), holders(pid));
        if is_root() {
            assert_eq!(helper.map(|fds| fds.len()), Some(1), "the helper");
        } else {
            assert_eq!(helper, None, "the helper is dumpable");
        }
        if init {
            if is_root() {
                assert_eq!(first, Some(vec![]), "init");
            } else {
                assert_eq!(first, None, "init is dumpable");
            }
            let children = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap();
            let target: u32 = children.trim().parse().unwrap();
            assert_eq!(holders(target), Some(vec![]), "the target");
        } else {
            assert_eq!(first, Some(vec![]), "the target");
        }
        // SAFETY: kill() on the helper's unreaped child.
        assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
        let (records, status) = h.finish();
        assert!(
            matches!(records[..], [Record::Exit { status: 9, .. }]),
            "{records:?}"
        );
        assert_eq!(status.signal(), Some(libc::SIGKILL));
    }
}

/// `Process::kill(SIGKILL)` of a supervised sandbox kills the target (SIGKILL cannot be
/// forwarded; killing only the helper would leave the target running, orphaned): `wait`
/// returns SIGKILL and nothing is left, in the supervise and init shapes.
#[test]
fn process_kill_sigkill_ends_the_supervised_target() {
    let mut c = Cleanup::default();
    for init in [false, true] {
        let mut run = Running::start(ending(&mut c, init, &["sleep", "60"])).unwrap();
        let target = run.p.target_pid();
        let ns = sandbox_pid_ns(target);
        run.p.kill(libc::SIGKILL).unwrap();
        let status = run.p.wait().unwrap();
        run.done = Some(status);
        assert_eq!(status.signal(), Some(libc::SIGKILL), "init {init}");
        assert!(!alive(target));
        assert_eq!(pid_ns_members(&ns), Vec::<u32>::new());
    }
    assert_no_children();
}

/// Raw: a detached target is the runtime's child and reports on the status fd itself; the
/// helper exits 0 after the pid record. A setup failure ends the target with the code it
/// would have in place (127 for execve ENOENT), not with a SIGPIPE from telling the helper,
/// which is gone (pid 1 of a new pid namespace would ignore that SIGPIPE: also without one).
#[test]
fn detached_target_reports_and_exits_like_in_place() {
    let mut c = Cleanup::default();
    for new_pid in [true, false] {
        let base = |c: &mut Cleanup, args: &[&str]| {
            let r = if new_pid {
                pid_root(c, args)
            } else {
                in_root(c, args)
            };
            r.detach(true)
        };
        let spec = base(&mut c, &[])
            .exec_path("/no/such/file")
            .spec
            .encode()
            .unwrap();
        let (records, status) = RawHelper::spawn(&spec, |_| {}).finish();
        let [Record::Pid { pid }, Record::Error {
            location,
            errno,
            index: 0,
            detail: 0,
        }] = records[..]
        else {
            panic!("{records:?}")
        };
        assert_eq!((location, errno), (Location::Execve as u32, libc::ENOENT));
        assert_eq!(status.code(), Some(0), "the helper");
        assert_eq!(wait_pid(pid).code(), Some(127), "new pid ns {new_pid}");
        assert_no_children();

        // And a target that runs: its own exit code, to its parent, this process.
        let spec = base(&mut c, &["exit", "9"]).spec.encode().unwrap();
        let (records, status) = RawHelper::spawn(&spec, |_| {}).finish();
        let [Record::Pid { pid }] = records[..] else {
            panic!("{records:?}")
        };
        assert_eq!(status.code(), Some(0), "the helper");
        assert_eq!(wait_pid(pid).code(), Some(9), "new pid ns {new_pid}");
        assert_no_children();
    }
}

// ---------------------------------------------------------------------------------------------
// ptrace through detach: the runtime is the target's parent, so it can be its tracer, also
// with a new pid namespace (where the helper cannot stay between them)
// ---------------------------------------------------------------------------------------------

fn event_msg(pid: u32) -> u64 {
    let mut msg: libc::c_ulong = 0;
    // SAFETY: PTRACE_GETEVENTMSG writes one unsigned long we own.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_GETEVENTMSG,
            pid as libc::pid_t,
            std::ptr::null_mut::<libc::c_void>(),
            &mut msg as *mut libc::c_ulong,
        )
    };
    assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
    msg as u64
}

/// A stop's raw status: the signal and the ptrace event (status >> 16).
#[track_caller]
fn stop_of(status: WaitStatus) -> (i32, i32) {
    let raw = status.status.into_raw();
    assert!(libc::WIFSTOPPED(raw), "not a stop: {status}");
    (libc::WSTOPSIG(raw), raw >> 16)
}

/// With ptrace, the runtime sees the exec stop (SIGTRAP after a successful execve) of a target
/// that is pid 1 of a new pid namespace, then lets it run to its exit code.
#[test]
fn detached_tracer_sees_the_exec_stop() {
    let mut c = Cleanup::default();
    let r = pid_root(&mut c, &["exit", "5"]).detach(true).ptrace(true);
    let mut run = Running::start(r).unwrap();
    let pid = run.p.pid();
    assert!(!run.p.start_pending());
    assert_eq!(stop_of(run.p.wait().unwrap()), (libc::SIGTRAP, 0));
    assert_eq!(
        fs::read_link(format!("/proc/{pid}/exe")).unwrap(),
        Path::new(PROBE_IN_ROOT),
        "stopped after the exec"
    );
    assert_eq!(status_field(pid, "NSpid"), format!("{pid}\t1"));
    // The tracer is the thread that started it (the runtime's thread that spawned the helper).
    // SAFETY: gettid cannot fail.
    let tid = unsafe { libc::gettid() };
    assert_eq!(status_field(pid, "TracerPid"), tid.to_string());
    ptrace(libc::PTRACE_CONT, pid, 0);
    let (status, _, err) = run.finish();
    assert_eq!(status.code(), Some(5), "{status} {err}");
    assert_no_children();
}

/// With ptrace and a SECCOMP_RET_TRACE filter, the target stops before seccomp (SIGSTOP) for
/// the tracer to set its options, then the tracer sees the exec event and the seccomp stop
/// with the filter's data, and the traced syscall (getppid: 0, its parent is outside the
/// namespace) runs once the tracer lets it.
#[test]
fn detached_tracer_sees_the_seccomp_stop() {
    if !cfg!(target_arch = "x86_64") {
        skip!("the filter is written for x86_64");
    }
    const LD_W_ABS: u16 = 0x20;
    const JEQ_K: u16 = 0x15;
    const RET_K: u16 = 0x06;
    const SECCOMP_RET_TRACE: u32 = 0x7ff0_0000;
    const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
    const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
    let filter = [
        SockFilter::stmt(LD_W_ABS, 4), // arch
        SockFilter::jump(JEQ_K, AUDIT_ARCH_X86_64, 0, 3),
        SockFilter::stmt(LD_W_ABS, 0), // nr
        SockFilter::jump(JEQ_K, libc::SYS_getppid as u32, 0, 1),
        SockFilter::stmt(RET_K, SECCOMP_RET_TRACE | 0x42),
        SockFilter::stmt(RET_K, SECCOMP_RET_ALLOW),
    ];
    let mut c = Cleanup::default();
    let r = pid_root(&mut c, &["syscall", "getppid"])
        .detach(true)
        .ptrace(true)
        .seccomp(filter);
    let mut run = Running::start(r).unwrap();
    let pid = run.p.pid();
    assert!(run.p.start_pending());
    assert_eq!(stop_of(run.p.wait().unwrap()), (libc::SIGSTOP, 0));
    let options = libc::PTRACE_O_TRACESECCOMP | libc::PTRACE_O_TRACEEXEC | libc::PTRACE_O_EXITKILL;
    ptrace(libc::PTRACE_SETOPTIONS, pid, options as usize);
    ptrace(libc::PTRACE_CONT, pid, 0);
    run.p.finish_start().unwrap();
    assert_eq!(
        stop_of(run.p.wait().unwrap()),
        (libc::SIGTRAP, libc::PTRACE_EVENT_EXEC)
    );
    ptrace(libc::PTRACE_CONT, pid, 0);
    assert_eq!(
        stop_of(run.p.wait().unwrap()),
        (libc::SIGTRAP, libc::PTRACE_EVENT_SECCOMP)
    );
    assert_eq!(event_msg(pid), 0x42);
    ptrace(libc::PTRACE_CONT, pid, 0);
    let (status, out, err) = run.finish();
    assert!(status.success(), "{status} {err}");
    assert_eq!(json_of(&out), json!({"ret": 0}));
    assert_no_children();
}
