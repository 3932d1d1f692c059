//! Which process is the target (pids inside and outside), and nothing left behind.

use super::*;

// ---------------------------------------------------------------------------------------------
// Which process is the target: pids inside and outside
// ---------------------------------------------------------------------------------------------

/// Supervise: the target is pid 1 of a new pid namespace (its parent, the helper, is outside:
/// ppid 0); the runtime's child is the helper, and `target_pid` is the target's host pid,
/// whose NSpid ends in 1.
#[test]
fn supervised_target_is_pid_1_of_its_namespace() {
    let mut c = Cleanup::default();
    let r = probe_json(pid_root(&mut c, &["report"]));
    assert_eq!((r["pid"].clone(), r["ppid"].clone()), (json!(1), json!(0)));
    let own_pid_ns = pid_ns_of(std::process::id());
    assert_ne!(r["ns"]["pid"], own_pid_ns.as_str());

    let run = Running::start(pid_root(&mut c, &["sleep", "60"])).unwrap();
    let (helper, target) = (run.p.pid(), run.p.target_pid());
    assert_ne!(helper, target);
    assert_eq!(
        stat_of(target).unwrap().1,
        helper,
        "the target is the helper's child"
    );
    assert_eq!(status_field(target, "NSpid"), format!("{target}\t1"));
    assert_eq!(status_field(helper, "NSpid"), helper.to_string());
    // SIGKILL from the ancestor namespace reaches even pid 1; the helper ends the same way.
    // SAFETY: kill() with a pid and a signal number.
    assert_eq!(unsafe { libc::kill(target as i32, libc::SIGKILL) }, 0);
    let (status, _, _) = run.finish();
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status}");
    assert!(!alive(target) && !alive(helper));
    assert_no_children();
}

/// Init: pid 1 is the helper's init (`target_pid` is init's host pid), the target runs as
/// pid 2, its child.
#[test]
fn init_runs_the_target_as_pid_2() {
    let mut c = Cleanup::default();
    let r = probe_json(init_root(&mut c, &["report"]));
    assert_eq!((r["pid"].clone(), r["ppid"].clone()), (json!(2), json!(1)));

    let run = Running::start(init_root(&mut c, &["sleep", "60"])).unwrap();
    let (helper, init) = (run.p.pid(), run.p.target_pid());
    assert_eq!(
        stat_of(init).unwrap().1,
        helper,
        "init is the helper's child"
    );
    assert_eq!(status_field(init, "NSpid"), format!("{init}\t1"));
    let children = fs::read_to_string(format!("/proc/{init}/task/{init}/children")).unwrap();
    let target: u32 = children.trim().parse().expect("one child of init");
    assert_eq!(status_field(target, "NSpid"), format!("{target}\t2"));
    assert_eq!(
        fs::read_link(format!("/proc/{target}/exe")).unwrap(),
        Path::new(PROBE_IN_ROOT)
    );
    // SAFETY: kill() with a pid and a signal number.
    assert_eq!(unsafe { libc::kill(target as i32, libc::SIGKILL) }, 0);
    let (status, _, _) = run.finish();
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status}");
    assert!(!alive(init) && !alive(target));
    assert_no_children();
}

/// A fresh /proc (mounted in the new pid and mount namespaces before pivot_root) lists only
/// the sandbox's processes: the target (`ls` itself) as 1, or init and the target as 1 and 2.
#[test]
fn fresh_proc_shows_only_the_sandbox() {
    let mut c = Cleanup::default();
    for (r, expected) in [
        (pid_root(&mut c, &[]), vec!["1"]),
        (init_root(&mut c, &[]), vec!["1", "2"]),
    ] {
        let mut r = r;
        r.spec.args = vec!["/bin/ls".into(), "/proc".into()];
        let out = run(r).unwrap();
        assert!(out.status.success(), "{} {}", out.status, out.stderr);
        let pids: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| l.bytes().all(|b| b.is_ascii_digit()))
            .collect();
        assert_eq!(pids, expected, "{}", out.stdout);
        assert!(out.stdout.lines().any(|l| l == "self"), "{}", out.stdout);
    }
}

/// Detach: `CLONE_PARENT` makes the target the runtime's own child (the helper has exited and
/// been reaped); `pid()` is the target. In a new pid namespace it is pid 1 with its parent
/// outside.
#[test]
fn detached_target_is_the_runtimes_child() {
    let mut c = Cleanup::default();
    let run = Running::start(pid_root(&mut c, &["sleep", "60"]).detach(true)).unwrap();
    let target = run.p.pid();
    assert_eq!(run.p.target_pid(), target);
    assert_eq!(stat_of(target).unwrap().1, std::process::id());
    assert_eq!(own_children(), [target], "the helper is reaped");
    assert_eq!(status_field(target, "NSpid"), format!("{target}\t1"));
    run.p.kill(libc::SIGKILL).unwrap();
    let (status, _, _) = run.finish();
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    assert_no_children();

    let r = probe_json(pid_root(&mut c, &["report"]).detach(true));
    assert_eq!((r["pid"].clone(), r["ppid"].clone()), (json!(1), json!(0)));
}

// ---------------------------------------------------------------------------------------------
// Zombies and leftovers
// ---------------------------------------------------------------------------------------------

/// A target that double-forks: the grandchild is orphaned to pid 1 of the namespace, init,
/// which reaps it when it ends (the target watches its /proc entry disappear).
#[test]
fn init_reaps_a_double_forked_orphan() {
    let mut c = Cleanup::default();
    let script = r#"
        p=$( (/bin/sleep 0.2 >&- 2>&- & echo $!) )
        echo "orphan $p ppid $(cut -d' ' -f4 /proc/$p/stat)"
        i=0
        while [ -e /proc/$p ] && [ $i -lt 500 ]; do /bin/sleep 0.01; i=$((i+1)); done
        if [ -e /proc/$p ]; then echo "left: $(cat /proc/$p/stat)"; else echo reaped; fi
    "#;
    let out = run(sh(with_dev_null(init_root(&mut c, &[])), script)).unwrap();
    assert!(out.status.success(), "{} {}", out.status, out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{} {}", out.stdout, out.stderr);
    assert!(
        lines[0].starts_with("orphan ") && lines[0].ends_with(" ppid 1"),
        "{}",
        out.stdout
    );
    assert_eq!(lines[1], "reaped", "{}", out.stdout);
}

/// When the target ends, the kernel kills whatever is left in its namespace: a daemon it
/// double-forked is gone by the time the runtime's wait returns (supervise and init), and the
/// runtime has no child left.
#[test]
fn nothing_is_left_in_the_namespace_after_the_target_ends() {
    let mut c = Cleanup::default();
    for init in [false, true] {
        let base = if init {
            init_root(&mut c, &[])
        } else {
            pid_root(&mut c, &[])
        };
        let script = r#"
            p=$( (/bin/sleep 60 >&- 2>&- & echo $!) )
            [ -d /proc/$p ] && echo "$(readlink /proc/self/ns/pid) $(cut -d' ' -f2 /proc/$p/stat)"
            exit 7
        "#;
        let mut run = Running::start(sh(with_dev_null(base), script)).unwrap();
        let line = run.line();
        // The daemon was there, in the target's pid namespace.
        let (ns, comm) = line.split_once(' ').unwrap();
        assert!(ns.starts_with("pid:["), "{line}");
        assert_eq!(comm, "(sleep)", "{line}");
        let (status, _, err) = run.finish();
        assert_eq!(status.code(), Some(7), "{status} {err}");
        assert_eq!(pid_ns_members(ns), Vec::<u32>::new(), "init {init}");
        assert_no_children();
    }
}

/// DUMPABLE_INIT (bubblewrap's init): pid 1 holds no capability and the target's seccomp
/// filter, and only then is dumpable, so the caller's user may open its `/proc/PID/ns/*`
/// (bubblewrap's `--info-fd` child-pid, joined with `--userns`/`--pidns`). Without it, init
/// keeps what it was born with and is not dumpable: an ordinary user is refused.
#[test]
fn dumpable_init_holds_nothing_and_lets_the_callers_user_in() {
    let mut c = Cleanup::default();
    let allow = SockFilter {
        code: 0x06, // BPF_RET | BPF_K
        jt: 0,
        jf: 0,
        k: 0x7fff_0000, // SECCOMP_RET_ALLOW
    };
    for dumpable in [false, true] {
        let r = init_root(&mut c, &["sleep", "60"])
            .seccomp([allow])
            .dumpable_init(dumpable);
        let run = Running::start(r).unwrap();
        let init = run.p.target_pid();
        if dumpable {
            // Init drops its capabilities, takes the filter and becomes dumpable on its own
            // once the target is released, while the start returns: wait for its last step.
            let done = || {
                status_field(init, "Seccomp") == "2"
                    && File::open(format!("/proc/{init}/ns/user")).is_ok()
            };
            assert!(eventually(10.0, done), "init never became dumpable");
        }
        let caps = status_field(init, "CapEff");
        let opened = File::open(format!("/proc/{init}/ns/user"));
        if dumpable {
            assert_eq!(caps, "0000000000000000", "init's capabilities");
            assert_eq!(status_field(init, "CapPrm"), "0000000000000000");
            assert_eq!(status_field(init, "Seccomp"), "2", "init's filter");
            assert_eq!(status_field(init, "NoNewPrivs"), "1");
            opened.expect("the caller's user opens a dumpable init's ns/user");
        } else {
            assert_ne!(caps, "0000000000000000", "init keeps its capabilities");
            assert_eq!(
                status_field(init, "Seccomp"),
                "0",
                "the filter is the target's"
            );
            if !is_root() {
                let e = opened.expect_err("init is not dumpable");
                assert_eq!(e.raw_os_error(), Some(libc::EACCES), "{e}");
            }
        }
        // SAFETY: kill() with a pid and a signal number.
        assert_eq!(unsafe { libc::kill(init as i32, libc::SIGKILL) }, 0);
        let (status, _, _) = run.finish();
        assert_eq!(status.signal(), Some(libc::SIGKILL), "{status}");
    }
    assert_no_children();
}

/// The helper's own resource usage (itself and the children it reaped), read without
/// reaping it: `waitid(WNOWAIT)` with the rusage argument of the raw syscall.
fn helper_cpu_when_ended(pid: u32) -> Duration {
    // SAFETY: waitid for our own child with buffers we own; WNOWAIT leaves it unreaped.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe {
        libc::syscall(
            libc::SYS_waitid,
            libc::P_PID,
            pid,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
            &mut usage,
        )
    };
    assert_eq!(r, 0, "waitid: {}", std::io::Error::last_os_error());
    let time = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// NO_WAIT_INIT (bubblewrap's way): the helper ends as soon as init reports the target's end
/// and never reaps init, so the target's CPU time (which init reaped) is not in the helper's
/// own usage; without it the helper reaps init and its usage holds the target's. The exit
/// record, the status and the target's usage are the same either way.
#[test]
fn no_wait_init_ends_without_reaping_init() {
    let mut c = Cleanup::default();
    let burn = Duration::from_millis(300);
    for no_wait in [false, true] {
        let r = init_root(&mut c, &["burn", "300"]).no_wait_init(no_wait);
        let run = Running::start(r).unwrap();
        let helper_cpu = helper_cpu_when_ended(run.p.pid());
        let (status, out, err) = run.finish();
        assert_eq!(status.code(), Some(0), "{status} {err}");
        assert_eq!(json_of(&out)["burned_ms"], json!(300));
        let target_cpu = status.rusage.user_time + status.rusage.system_time;
        assert!(target_cpu >= burn, "the record's usage {target_cpu:?}");
        if no_wait {
            assert!(helper_cpu < burn / 2, "init was reaped: {helper_cpu:?}");
        } else {
            assert!(helper_cpu >= burn, "init was not reaped: {helper_cpu:?}");
        }
    }
    assert_no_children();
}
