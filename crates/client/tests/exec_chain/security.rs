//! seccomp, no_new_privs, credential, capabilities, ptrace.

use super::*;
use forkexec_testkit::{root_only, user_only};

// ---------------------------------------------------------------------------------------
// seccomp, no_new_privs

#[test]
fn seccomp_errno_filter() {
    if !seccomp_arch_ok() {
        return;
    }
    let out = run(probe_runner(&["syscall", "getppid"]).seccomp(getppid_eperm())).unwrap();
    assert_eq!(json(&out), json!({"ret": -1, "errno": libc::EPERM}));

    let out = run(probe_runner(&["syscall", "getpid"]).seccomp(getppid_eperm())).unwrap();
    assert_eq!(json(&out), json!({"ret": out.pid}));

    // Mode 2 (filter), and the filter implied no_new_privs.
    let r = report(probe_runner(&["report"]).seccomp(getppid_eperm()));
    assert_eq!(r["seccomp"], "2");
    assert_eq!(r["no_new_privs"], "1");
    assert_eq!(r["ppid"], -1, "getppid itself is refused in the report");
}

/// Stacked programs: each is loaded (the second one's errno shows; the kernel counts both).
#[test]
fn seccomp_stacked_programs() {
    if !seccomp_arch_ok() {
        return;
    }
    let allow = [SockFilter::stmt(bpf::RET_K, bpf::RET_ALLOW)];
    let out = run(probe_runner(&["syscall", "getppid"])
        .seccomp(allow)
        .add_seccomp(getppid_eperm()))
    .unwrap();
    assert_eq!(json(&out), json!({"ret": -1, "errno": libc::EPERM}));
    // The programs' count in the kernel: two more than the test process has.
    let filters = |pid: &str| -> String {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status.lines().find(|l| l.starts_with("Seccomp_filters:"));
        line.unwrap().split_whitespace().nth(1).unwrap().to_string()
    };
    let ours: u32 = filters("self").parse().unwrap();
    let out = run(
        Runner::new(["/bin/sh", "-c", "grep Seccomp_filters /proc/self/status"])
            .seccomp(allow)
            .add_seccomp(allow),
    )
    .unwrap();
    assert_eq!(out.stdout, format!("Seccomp_filters:\t{}\n", ours + 2));
}

#[test]
fn seccomp_kill_process_filter() {
    if !seccomp_arch_ok() {
        return;
    }
    let dir = TempDir::new("sigsys");
    let out = run(probe_runner(&["syscall", "getppid"])
        .seccomp(bpf::on_syscall(libc::SYS_getppid, bpf::RET_KILL_PROCESS))
        // No core file (core_pattern may be a plain file name), and none in our cwd anyway.
        .rlimit(Resource::Core, 0, 0)
        .work_dir(dir.path().to_str().unwrap()))
    .unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGSYS), "{}", out.status);
    assert_eq!(out.stdout, "");
}

#[test]
fn seccomp_absent_by_default() {
    let r = report(probe_runner(&["report"]));
    assert_eq!(r["seccomp"], "0");
    assert_eq!(r["no_new_privs"], "0");
}

#[test]
fn no_new_privs() {
    let r = report(probe_runner(&["report"]).no_new_privs(true));
    assert_eq!(r["no_new_privs"], "1");
    assert_eq!(r["seccomp"], "0");
    let r = report(probe_runner(&["report"]).no_new_privs(false));
    assert_eq!(r["no_new_privs"], "0");
}

// ---------------------------------------------------------------------------------------
// credential, capabilities

#[test]
fn credential_as_root() {
    root_only!("credential_as_root needs root");
    let (runner, _exe) = probe_by_fd(&["report"]);
    let r = report(runner.credential(Credential {
        uid: 4242,
        gid: 4343,
        groups: vec![7, 4444, 65000],
        no_set_groups: false,
    }));
    assert_eq!(r["uid"], json!([4242, 4242, 4242]));
    assert_eq!(r["gid"], json!([4343, 4343, 4343]));
    assert_eq!(r["groups"], json!([7, 4444, 65000]));
    // A credential drops every capability.
    for set in ["cap_inh", "cap_prm", "cap_eff", "cap_bnd", "cap_amb"] {
        assert_eq!(r[set], ZERO_CAPS, "{set}");
    }

    // No groups clears them; no_set_groups keeps this process's.
    let (runner, _exe) = probe_by_fd(&["report"]);
    let r = report(runner.credential(Credential::new(4242, 4343)));
    assert_eq!(r["groups"], json!([]));
    let (runner, _exe) = probe_by_fd(&["report"]);
    let r = report(runner.credential(Credential {
        uid: 4242,
        gid: 4343,
        groups: vec![1, 2],
        no_set_groups: true,
    }));
    assert_eq!(r["groups"], json!(own_groups()));
    assert_eq!(r["uid"], json!([4242, 4242, 4242]));
}

fn own_groups() -> Vec<u32> {
    // SAFETY: getgroups(0, NULL) returns the count, then fills a buffer of that size.
    let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    let mut g = vec![0 as libc::gid_t; n as usize];
    // SAFETY: g has room for n entries.
    let n = unsafe { libc::getgroups(n, g.as_mut_ptr()) };
    g.truncate(n as usize);
    g
}

/// Unprivileged (and as root too): in a new user namespace mapping 0 to our own ids, the
/// credential 0/0 works. setgroups is denied there, so a credential without groups leaves
/// the inherited supplementary groups as they were, seen through the map (our egid as 0,
/// any other as the overflow gid).
#[test]
fn credential_in_a_user_namespace() {
    let r = report(in_user_ns(probe_runner(&["report"])).credential(Credential::new(0, 0)));
    assert_eq!(r["uid"], json!([0, 0, 0]));
    assert_eq!(r["gid"], json!([0, 0, 0]));
    let overflow: u32 = std::fs::read_to_string("/proc/sys/kernel/overflowgid")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut expected: Vec<u32> = own_groups()
        .into_iter()
        .map(|g| if g == egid() { 0 } else { overflow })
        .collect();
    expected.sort();
    let mut got: Vec<u32> = serde_json::from_value(r["groups"].clone()).unwrap();
    got.sort();
    assert_eq!(got, expected);
    let fields = |v: &Value| -> Vec<String> {
        v.as_str()
            .unwrap()
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    assert_eq!(fields(&r["uid_map"]), ["0", &euid().to_string(), "1"]);
    assert_eq!(fields(&r["gid_map"]), ["0", &egid().to_string(), "1"]);
    assert_eq!(r["setgroups"], "deny\n");
    // The credential dropped the namespace's capabilities.
    assert_eq!(r["cap_eff"], ZERO_CAPS);
    assert_eq!(r["cap_prm"], ZERO_CAPS);
}

#[test]
fn drop_caps_as_root() {
    root_only!("drop_caps_as_root needs root");
    let r = report(probe_runner(&["report"]).drop_caps(true));
    for set in ["cap_inh", "cap_prm", "cap_eff", "cap_bnd", "cap_amb"] {
        assert_eq!(r[set], ZERO_CAPS, "{set}");
    }
    assert_eq!(r["uid"], json!([0, 0, 0]));
    let r = report(probe_runner(&["report"]));
    assert_ne!(r["cap_eff"], ZERO_CAPS);
    assert_ne!(r["cap_bnd"], ZERO_CAPS);
}

/// In a new user namespace the target (uid 0 there) has every capability of that namespace
/// unless drop_caps clears them all, bounding set included.
#[test]
fn drop_caps_in_a_user_namespace() {
    let r = report(in_user_ns(probe_runner(&["report"])).drop_caps(true));
    for set in ["cap_inh", "cap_prm", "cap_eff", "cap_bnd", "cap_amb"] {
        assert_eq!(r[set], ZERO_CAPS, "{set}");
    }
    let r = report(in_user_ns(probe_runner(&["report"])));
    assert_ne!(r["cap_eff"], ZERO_CAPS);
    assert_eq!(r["uid"], json!([0, 0, 0]));
}

/// Unprivileged without a user namespace: the bounding set cannot change (no CAP_SETPCAP)
/// and is left as it is (docs/chain.md); the other sets are zero.
#[test]
fn drop_caps_unprivileged_keeps_the_bounding_set() {
    user_only!("drop_caps_unprivileged_keeps_the_bounding_set is for non-root");
    let r = report(probe_runner(&["report"]).drop_caps(true));
    for set in ["cap_inh", "cap_prm", "cap_eff", "cap_amb"] {
        assert_eq!(r[set], ZERO_CAPS, "{set}");
    }
    assert_eq!(r["cap_bnd"], own_status_field("CapBnd"));
}

// ---------------------------------------------------------------------------------------
// ptrace, stop_before_seccomp

/// The test thread forked the helper, so it is the tracer: the exec stop comes to it.
#[test]
fn ptrace_sees_the_exec_stop() {
    let mut stdio = Stdio::new();
    let mut runner = probe_runner(&["exit", "3"]).ptrace(true);
    runner.spec.files = stdio.std3();
    let started = runner.start();
    stdio.started();
    let mut p = Guard(started.unwrap());
    assert!(!p.start_pending());
    let s = p.wait().unwrap();
    assert_eq!(s.status.stopped_signal(), Some(libc::SIGTRAP), "{s}");
    // Stopped after the exec: the process is the probe now.
    let exe = std::fs::read_link(format!("/proc/{}/exe", p.pid())).unwrap();
    assert_eq!(exe, std::fs::canonicalize(probe()).unwrap());
    ptrace_cont(p.pid());
    let s = p.wait().unwrap();
    assert_eq!(s.code(), Some(3), "{s}");
}

/// ptrace with seccomp: the helper stops itself (SIGSTOP) before loading the filter, the
/// tracer continues it, `finish_start` reads the rest of the stream, then the exec stop.
#[test]
fn ptrace_with_seccomp_stops_before_the_filter() {
    if !seccomp_arch_ok() {
        return;
    }
    let mut stdio = Stdio::new();
    let mut runner = probe_runner(&["syscall", "getppid"])
        .ptrace(true)
        .seccomp(getppid_eperm());
    runner.spec.files = stdio.std3();
    let started = runner.start();
    stdio.started();
    let mut p = Guard(started.unwrap());
    assert!(p.start_pending());
    let pid = p.pid();

    let s = p.wait().unwrap();
    assert_eq!(s.status.stopped_signal(), Some(libc::SIGSTOP), "{s}");
    assert_still_the_helper(pid);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(status.contains("\nSeccomp:\t0\n"), "filter not loaded yet");
    ptrace_cont(pid);
    p.finish_start().unwrap();
    assert!(!p.start_pending());

    let s = p.wait().unwrap();
    assert_eq!(s.status.stopped_signal(), Some(libc::SIGTRAP), "{s}");
    ptrace_cont(pid);
    let (out, err) = stdio.read_all();
    let s = p.wait().unwrap();
    assert_eq!(s.code(), Some(0), "{s} {err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v, json!({"ret": -1, "errno": libc::EPERM}));
}

/// Without ptrace: the helper stops in group-stop; SIGCONT resumes it.
#[test]
fn stop_before_seccomp_waits_for_sigcont() {
    let mut stdio = Stdio::new();
    let mut runner = probe_runner(&["exit", "5"]).stop_before_seccomp(true);
    runner.spec.files = stdio.std3();
    let started = runner.start();
    stdio.started();
    let mut p = Guard(started.unwrap());
    assert!(p.start_pending());
    let pid = p.pid();

    let mut raw = 0;
    // SAFETY: waitpid on our own child, filling an int we own.
    let r = unsafe { libc::waitpid(pid as libc::pid_t, &mut raw, libc::WUNTRACED) };
    assert_eq!(r, pid as libc::pid_t, "{}", std::io::Error::last_os_error());
    assert!(libc::WIFSTOPPED(raw), "status {raw:#x}");
    assert_eq!(libc::WSTOPSIG(raw), libc::SIGSTOP);
    assert_eq!(proc_state(pid), 'T');
    assert_still_the_helper(pid);

    p.kill(libc::SIGCONT).unwrap();
    p.finish_start().unwrap();
    let _ = stdio.read_all();
    let s = p.wait().unwrap();
    assert_eq!(s.code(), Some(5), "{s}");
}
