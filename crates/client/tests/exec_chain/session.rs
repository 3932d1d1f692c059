//! sync, session and controlling terminal, unshare_cgroup_after_sync, exit status and rusage.

use super::*;
use forkexec_testkit::root_only;

// ---------------------------------------------------------------------------------------
// sync

#[test]
fn sync_callback_runs_before_exec_with_the_pid() {
    if !seccomp_arch_ok() {
        return;
    }
    #[derive(Debug)]
    struct Seen {
        pid: u32,
        limits: String,
        status: String,
    }
    let seen = Arc::new(Mutex::new(None::<Seen>));
    let seen2 = seen.clone();
    let runner = probe_runner(&["report"])
        .rlimit(Resource::Nofile, 64, 64)
        .seccomp(getppid_eperm())
        .sync_func(move |pid| {
            assert_still_the_helper(pid);
            let s = Seen {
                pid,
                limits: std::fs::read_to_string(format!("/proc/{pid}/limits"))?,
                status: std::fs::read_to_string(format!("/proc/{pid}/status"))?,
            };
            *seen2.lock().unwrap() = Some(s);
            Ok::<(), std::io::Error>(())
        });
    let out = run_mapped(runner, |s| s.std3()).unwrap();
    let r = json(&out);
    let seen = seen.lock().unwrap().take().expect("the callback ran");
    assert_eq!(seen.pid, out.pid);
    assert_eq!(r["pid"], out.pid);
    // Before exec: still the helper (checked in the callback), limits already set, seccomp
    // not yet loaded.
    let nofile_line = seen
        .limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert_eq!(
        nofile_line.split_whitespace().collect::<Vec<_>>(),
        ["Max", "open", "files", "64", "64", "files"]
    );
    assert!(seen.status.contains("\nSeccomp:\t0\n"), "{}", seen.status);
    // After exec: the filter is in place.
    assert_eq!(r["seccomp"], "2");
    assert_eq!(
        r["rlimits"][libc::RLIMIT_NOFILE.to_string()],
        json!([64, 64])
    );
}

// ---------------------------------------------------------------------------------------
// session, controlling terminal

#[test]
fn setsid_by_default() {
    let out = run(probe_runner(&["report"])).unwrap();
    let r = json(&out);
    assert_eq!(r["pid"], out.pid);
    assert_eq!(r["sid"], out.pid);
    assert_eq!(r["pgid"], out.pid);
    assert_eq!(r["tty_nr"], 0);
}

#[test]
fn setsid_false_keeps_the_session() {
    let out = run(probe_runner(&["report"]).setsid(false)).unwrap();
    let r = json(&out);
    // SAFETY: getsid(0) and getpgrp() only query this process.
    let (sid, pgid) = unsafe { (libc::getsid(0), libc::getpgrp()) };
    assert_eq!(r["sid"], sid);
    assert_eq!(r["pgid"], pgid);
    assert_ne!(r["sid"], out.pid);
}

/// A helper spawned as a session leader already (a runtime's setsid) skips setsid.
#[test]
fn setsid_skipped_for_a_session_leader() {
    let dir = TempDir::new("leader");
    let out = dir.join("report.json");
    let spec = Spec::new([probe_path(), "report".into()]);
    let file = File::create(&out).unwrap();
    let res = raw_with(&spec.encode().unwrap(), |cmd| {
        cmd.stdout(file);
        // SAFETY: setsid is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    });
    assert_eq!(res.records, [], "stderr: {}", res.stderr);
    assert!(res.status.success(), "{}", res.status);
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(r["sid"], r["pid"]);
}

struct Pty {
    master: OwnedFd,
    slave: File,
}

fn open_pty() -> Pty {
    // SAFETY: plain libc pty calls on an fd we own; ptsname_r fills our buffer.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        let master = owned(m);
        assert_eq!(libc::grantpt(m), 0);
        assert_eq!(libc::unlockpt(m), 0);
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(m, name.as_mut_ptr(), name.len()), 0);
        let s = libc::open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        let slave = File::from(owned(s));
        Pty { master, slave }
    }
}

/// `/proc/<pid>/stat`'s tty_nr of a terminal device (the kernel's new_encode_dev).
fn tty_nr(dev: &File) -> i64 {
    let rdev = dev.metadata().unwrap().rdev();
    let (major, minor) = (libc::major(rdev) as i64, libc::minor(rdev) as i64);
    (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)
}

#[test]
fn ctty_makes_fd0_the_controlling_terminal() {
    let pty = open_pty();
    let expected = tty_nr(&pty.slave);
    assert_ne!(expected, 0);
    let r = report_mapped(probe_runner(&["report"]).ctty(true), |s| {
        vec![pty.slave.as_raw_fd(), s.out(), s.err()]
    });
    assert_eq!(r["tty_nr"], expected);
    assert_eq!(r["sid"], r["pid"]);

    // The same terminal on fd 0 without ctty: no controlling terminal.
    let pty = open_pty();
    let r = report_mapped(probe_runner(&["report"]), |s| {
        vec![pty.slave.as_raw_fd(), s.out(), s.err()]
    });
    assert_eq!(r["tty_nr"], 0);
    drop(pty.master);
}

// ---------------------------------------------------------------------------------------
// unshare_cgroup_after_sync

fn assert_new_cgroup_ns(r: &Value) {
    let own = std::fs::read_link("/proc/self/ns/cgroup").unwrap();
    assert_ne!(r["ns"]["cgroup"], own.to_string_lossy().as_ref());
    assert!(r["ns"]["cgroup"].as_str().unwrap().starts_with("cgroup:["));
    // Inside its own cgroup namespace the process sits at the root of every hierarchy.
    let cgroup = r["cgroup"].as_str().unwrap();
    assert!(!cgroup.is_empty());
    for line in cgroup.lines() {
        assert!(line.ends_with(":/"), "{cgroup}");
    }
}

#[test]
fn unshare_cgroup_after_sync_as_root() {
    root_only!("unshare_cgroup_after_sync_as_root needs root");
    let r = report(probe_runner(&["report"]).unshare_cgroup_after_sync(true));
    assert_new_cgroup_ns(&r);
    // Without it, the runtime's cgroup namespace.
    let r = report(probe_runner(&["report"]));
    let own = std::fs::read_link("/proc/self/ns/cgroup").unwrap();
    assert_eq!(r["ns"]["cgroup"], own.to_string_lossy().as_ref());

    // With a credential: the id change keeps the capabilities the unshare needs, and they
    // are dropped after it.
    let called = Arc::new(Mutex::new(false));
    let called2 = called.clone();
    let (runner, _exe) = probe_by_fd(&["report"]);
    let r = report(
        runner
            .unshare_cgroup_after_sync(true)
            .credential(Credential::new(4242, 4343))
            .sync_func(move |_| {
                *called2.lock().unwrap() = true;
                Ok::<(), std::io::Error>(())
            }),
    );
    assert!(*called.lock().unwrap());
    assert_new_cgroup_ns(&r);
    assert_eq!(r["uid"], json!([4242, 4242, 4242]));
    for set in ["cap_inh", "cap_prm", "cap_eff", "cap_bnd", "cap_amb"] {
        assert_eq!(r[set], ZERO_CAPS, "{set}");
    }
}

#[test]
fn unshare_cgroup_after_sync_in_a_user_namespace() {
    let r = report(in_user_ns(probe_runner(&["report"])).unshare_cgroup_after_sync(true));
    assert_new_cgroup_ns(&r);
    // With credential 0/0 and drop_caps: the deferred drop still happens.
    let r = report(
        in_user_ns(probe_runner(&["report"]))
            .unshare_cgroup_after_sync(true)
            .credential(Credential::new(0, 0))
            .drop_caps(true),
    );
    assert_new_cgroup_ns(&r);
    for set in ["cap_inh", "cap_prm", "cap_eff", "cap_bnd", "cap_amb"] {
        assert_eq!(r[set], ZERO_CAPS, "{set}");
    }
}

// ---------------------------------------------------------------------------------------
// exit status, rusage

#[test]
fn wait_gives_the_exit_code() {
    let out = run(probe_runner(&["exit", "7"])).unwrap();
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(out.status.signal(), None);
    let out = run(probe_runner(&["exit", "0"])).unwrap();
    assert!(out.status.success());
}

#[test]
fn wait_gives_the_signal() {
    let out = run(probe_runner(&["signal", &libc::SIGTERM.to_string()])).unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGTERM), "{}", out.status);
    assert_eq!(out.status.code(), None);

    // Killed from outside while it sleeps.
    let mut stdio = Stdio::new();
    let mut runner = probe_runner(&["sleep", "30"]);
    runner.spec.files = stdio.std3();
    let started = runner.start();
    stdio.started();
    let mut p = Guard(started.unwrap());
    p.kill(libc::SIGKILL).unwrap();
    let s = p.wait().unwrap();
    assert_eq!(s.signal(), Some(libc::SIGKILL), "{s}");
    // Waiting again returns the same status; kill is refused now.
    assert_eq!(p.wait().unwrap(), s);
    assert!(p.kill(libc::SIGKILL).is_err());
}

#[test]
fn rusage_counts_user_time() {
    let out = run(Runner::new([
        "/bin/sh",
        "-c",
        "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done",
    ]))
    .unwrap();
    assert!(out.status.success(), "{} {}", out.status, out.stderr);
    assert!(
        out.status.rusage.user_time > std::time::Duration::ZERO,
        "{:?}",
        out.status.rusage
    );
    assert!(out.status.rusage.max_rss_kib > 0, "{:?}", out.status.rusage);
}
