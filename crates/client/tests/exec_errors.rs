//! Every error location the exec-in-place chain can reach, provoked through the real helper:
//! the record is checked field by field (location, errno, index), and the target — a probe
//! that would create a file — is shown never to have run. Where the helper's exit code
//! matters (125 / 126 / 127), the same spec goes through the raw harness, which keeps it.
//!
//! Spec (decoder) errors belong to other test files. Tests that only make sense as root or
//! only unprivileged say so on stderr and return early.
use forkexec_testkit::chain;
use forkexec_testkit::support;
use forkexec_testkit::{root_only, user_only};

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::sync::{Arc, Mutex};

use forkexec_client::{Caps, Credential, Error, IdMap, Namespace, Resource, Runner, SockFilter};
use forkexec_spec::status::{Record, EXIT_CANNOT_EXECUTE, EXIT_NOT_FOUND, EXIT_SETUP_FAILED};
use forkexec_spec::Location;

use chain::*;
use support::*;

/// The error record the raw harness must have collected, alone.
fn error_record(location: Location, errno: i32, index: u32) -> Record {
    Record::Error {
        location: location as u32,
        errno,
        index,
        detail: 0,
    }
}

fn in_user_ns(r: Runner) -> Runner {
    r.clone_flags([Namespace::NewUser])
        .uid_mappings([IdMap::new(0, euid(), 1)])
        .gid_mappings([IdMap::new(0, egid(), 1)])
}

// ---------------------------------------------------------------------------------------
// execve: 127 for ENOENT, 126 for EACCES and ENOEXEC

#[test]
fn execve_enoent() {
    let runner = Runner::new(["/nonexistent/forkexec-test-prog", "arg"]);
    let spec = runner.spec.clone();
    assert_child_error(run(runner), "execve", libc::ENOENT, 0);

    let res = raw_spec(&spec);
    assert_eq!(
        res.records,
        [error_record(Location::Execve, libc::ENOENT, 0)]
    );
    assert_eq!(res.status.code(), Some(EXIT_NOT_FOUND));
    assert_eq!(EXIT_NOT_FOUND, 127);
}

#[test]
fn execve_eacces_without_exec_bit() {
    let dir = TempDir::new("eacces");
    let path = dir.join("not-executable");
    std::fs::write(&path, "#!/bin/sh\ntouch ran\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let runner = Runner::new([path.to_str().unwrap()]).work_dir(dir.path().to_str().unwrap());
    let spec = runner.spec.clone();
    assert_child_error(run(runner), "execve", libc::EACCES, 0);

    let res = raw_spec(&spec);
    assert_eq!(
        res.records,
        [error_record(Location::Execve, libc::EACCES, 0)]
    );
    assert_eq!(res.status.code(), Some(EXIT_CANNOT_EXECUTE));
    assert_eq!(EXIT_CANNOT_EXECUTE, 126);
    assert_never_ran(&dir.join("ran"));
}

#[test]
fn execve_enoexec_for_garbage() {
    let dir = TempDir::new("enoexec");
    let path = dir.join("garbage");
    std::fs::write(&path, b"\0\0\0\0 not an executable format \x01\x02\x03").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let runner = Runner::new([path.to_str().unwrap()]);
    let spec = runner.spec.clone();
    assert_child_error(run(runner), "execve", libc::ENOEXEC, 0);

    let res = raw_spec(&spec);
    assert_eq!(
        res.records,
        [error_record(Location::Execve, libc::ENOEXEC, 0)]
    );
    assert_eq!(res.status.code(), Some(EXIT_CANNOT_EXECUTE));
}

// ---------------------------------------------------------------------------------------
// chdir, setrlimit, seccomp

#[test]
fn chdir_enoent() {
    let dir = TempDir::new("chdir");
    let (runner, ran) = canary(&dir);
    let runner = runner.work_dir(dir.join("missing").to_str().unwrap());
    let spec = runner.spec.clone();
    assert_child_error(run(runner), "chdir", libc::ENOENT, 0);
    let res = raw_spec(&spec);
    assert_eq!(
        res.records,
        [error_record(Location::Chdir, libc::ENOENT, 0)]
    );
    assert_eq!(res.status.code(), Some(EXIT_SETUP_FAILED));
    assert_never_ran(&ran);
}

#[test]
fn setrlimit_raising_the_hard_limit_unprivileged() {
    user_only!("setrlimit_raising_the_hard_limit_unprivileged is for non-root");
    let dir = TempDir::new("rlimit-user");
    let (runner, ran) = canary(&dir);
    let hard = hard_limit(libc::RLIMIT_NOFILE);
    let cpu = hard_limit(libc::RLIMIT_CPU).min(100);
    let runner = runner
        .rlimit(Resource::Cpu, cpu, cpu)
        .rlimit(Resource::Core, 0, 0)
        .rlimit(Resource::Nofile, hard, hard + 1);
    assert_child_error(run(runner), "setrlimit", libc::EPERM, 2);
    assert_never_ran(&ran);
}

#[test]
fn setrlimit_nofile_over_nr_open_as_root() {
    root_only!("setrlimit_nofile_over_nr_open_as_root needs root");
    let nr_open: u64 = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let dir = TempDir::new("rlimit-root");
    let (runner, ran) = canary(&dir);
    let runner = runner
        .rlimit(Resource::Nofile, 64, 64)
        .rlimit(Resource::Nofile, nr_open + 1, nr_open + 1)
        .rlimit(Resource::Cpu, 10, 10);
    assert_child_error(run(runner), "setrlimit", libc::EPERM, 1);
    assert_never_ran(&ran);
}

#[test]
fn seccomp_invalid_program() {
    let dir = TempDir::new("bpf");
    let (runner, ran) = canary(&dir);
    // A conditional jump 5 instructions past the end of a 2-instruction program.
    let runner = runner.seccomp([
        SockFilter::jump(bpf::JEQ_K, 0, 5, 0),
        SockFilter::stmt(bpf::RET_K, bpf::RET_ALLOW),
    ]);
    assert_child_error(run(runner), "seccomp", libc::EINVAL, 0);
    assert_never_ran(&ran);

    // No return at the end is refused too.
    let (runner, ran) = canary(&dir);
    let runner = runner.seccomp([SockFilter::stmt(bpf::LD_W_ABS, bpf::OFF_NR)]);
    assert_child_error(run(runner), "seccomp", libc::EINVAL, 0);
    assert_never_ran(&ran);

    // A stacked program is reported by its index among the programs.
    let (runner, ran) = canary(&dir);
    let runner = runner
        .seccomp([SockFilter::stmt(bpf::RET_K, bpf::RET_ALLOW)])
        .add_seccomp([SockFilter::stmt(bpf::LD_W_ABS, bpf::OFF_NR)]);
    assert_child_error(run(runner), "seccomp", libc::EINVAL, 1);
    assert_never_ran(&ran);
}

/// The programs are loaded in order through prctl: a first program that refuses prctl
/// stops the second (index 1), and nothing runs.
#[test]
fn seccomp_stacked_programs_load_in_order() {
    if !seccomp_arch_ok() {
        return;
    }
    let dir = TempDir::new("bpf-order");
    let (runner, ran) = canary(&dir);
    let runner = runner
        .seccomp(bpf::on_syscall(
            libc::SYS_prctl,
            bpf::RET_ERRNO | libc::EPERM as u32,
        ))
        .add_seccomp([SockFilter::stmt(bpf::RET_K, bpf::RET_ALLOW)]);
    assert_child_error(run(runner), "seccomp", libc::EPERM, 1);
    assert_never_ran(&ran);
}

// ---------------------------------------------------------------------------------------
// session: setsid, ioctl

/// A process-group leader that is not a session leader cannot setsid.
#[test]
fn setsid_eperm_for_a_group_leader() {
    let dir = TempDir::new("setsid");
    let (runner, ran) = canary(&dir);
    let res = support::raw_with(&runner.spec.encode().unwrap(), |cmd| {
        cmd.process_group(0);
    });
    assert_eq!(
        res.records,
        [error_record(Location::SetSid, libc::EPERM, 0)]
    );
    assert_eq!(res.status.code(), Some(EXIT_SETUP_FAILED));
    assert_never_ran(&ran);
}

#[test]
fn ioctl_enotty_when_fd0_is_not_a_terminal() {
    let dir = TempDir::new("ctty");
    let (runner, ran) = canary(&dir);
    // run() maps /dev/null as fd 0.
    assert_child_error(run(runner.ctty(true)), "ioctl", libc::ENOTTY, 0);
    assert_never_ran(&ran);
}

// ---------------------------------------------------------------------------------------
// fds: dup3, fcntl (raw specs: the client refuses fds it does not have)

#[test]
fn client_refuses_fds_it_does_not_have() {
    let dir = TempDir::new("closedfd");
    let closed = closed_fd();
    let (runner, ran) = canary(&dir);
    match runner.files([0, 1, 2, -1, closed]).start() {
        Err(Error::Helper(e)) => {
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
            let text = e.to_string();
            assert!(text.contains(&format!("files[4] (fd {closed})")), "{text}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let (runner, _) = canary(&dir);
    match runner.exec_file(closed).start() {
        Err(Error::Helper(e)) => {
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
            assert!(
                e.to_string().contains(&format!("exec_file (fd {closed})")),
                "{e}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_never_ran(&ran);
}

// The fds "the helper lacks" are numbered near the top of what RLIMIT_NOFILE allows: the raw
// helper has only 0, 1, 2 and its spec socket, which has this process's number for it, and
// with many tests running at once that number can be well above 100.

/// Pass 2: `dup3(files[3], 3)` of an fd the helper does not have.
#[test]
fn dup3_of_an_fd_the_helper_lacks() {
    let dir = TempDir::new("dup3");
    let (runner, ran) = canary(&dir);
    let mut spec = runner.spec;
    let lacking = unopened_fd_ceiling() - 40;
    spec.files = vec![0, 1, 2, lacking];
    let res = raw_spec(&spec);
    assert_eq!(res.records, [error_record(Location::Dup3, libc::EBADF, 3)]);
    assert_eq!(res.status.code(), Some(EXIT_SETUP_FAILED));
    assert_never_ran(&ran);
}

/// Pass 1: an entry below its slot (`files[slot] = lacking`, `lacking < slot`) is moved
/// first, and that fails.
#[test]
fn dup3_in_the_first_pass() {
    let dir = TempDir::new("dup3-pass1");
    let (runner, ran) = canary(&dir);
    let mut spec = runner.spec;
    let slot = unopened_fd_ceiling() - 20;
    let lacking = slot - 20;
    spec.files = vec![-1; slot as usize + 1];
    spec.files[..3].copy_from_slice(&[0, 1, 2]);
    spec.files[slot as usize] = lacking;
    let res = raw_spec(&spec);
    assert_eq!(
        res.records,
        [error_record(Location::Dup3, libc::EBADF, slot as u32)]
    );
    assert_eq!(res.status.code(), Some(EXIT_SETUP_FAILED));
    assert_never_ran(&ran);
}

/// An entry kept in place (`files[slot] = slot`) that the helper does not have: the
/// close-on-exec flag cannot be cleared.
#[test]
fn fcntl_of_an_fd_kept_in_place_that_the_helper_lacks() {
    let dir = TempDir::new("fcntl");
    let (runner, ran) = canary(&dir);
    let mut spec = runner.spec;
    let slot = unopened_fd_ceiling() - 20;
    spec.files = vec![-1; slot as usize + 1];
    spec.files[..3].copy_from_slice(&[0, 1, 2]);
    spec.files[slot as usize] = slot;
    let res = raw_spec(&spec);
    assert_eq!(
        res.records,
        [error_record(Location::Fcntl, libc::EBADF, slot as u32)]
    );
    assert_eq!(res.status.code(), Some(EXIT_SETUP_FAILED));
    assert_never_ran(&ran);
}

// ---------------------------------------------------------------------------------------
// credential: keep_capability, setgroups, setgid, setuid

#[test]
fn keep_capability_eperm_unprivileged() {
    user_only!("keep_capability_eperm_unprivileged is for non-root");
    let dir = TempDir::new("keepcap");
    let (runner, ran) = canary(&dir);
    let runner = runner.credential(Credential::new(euid(), egid()));
    assert_child_error(run(runner), "keep_capability", libc::EPERM, 0);
    assert_never_ran(&ran);
}

/// As root: a runtime thread that locked SECBIT_NO_SETUID_FIXUP off passes that on, and the
/// helper cannot set it.
#[test]
fn keep_capability_eperm_with_locked_securebits_as_root() {
    root_only!("keep_capability_eperm_with_locked_securebits_as_root needs root");
    let dir = TempDir::new("keepcap-root");
    let (runner, ran) = canary(&dir);
    let result = on_fresh_thread(move || {
        prctl(libc::PR_SET_SECUREBITS, 1 << 3); // SECBIT_NO_SETUID_FIXUP_LOCKED
        run(runner.credential(Credential::new(4242, 4242)))
    });
    assert_child_error(result, "keep_capability", libc::EPERM, 0);
    assert_never_ran(&ran);
}

#[test]
fn setgroups_eperm_when_denied_in_a_user_namespace() {
    let dir = TempDir::new("setgroups");
    let (runner, ran) = canary(&dir);
    let runner = in_user_ns(runner).credential(Credential {
        uid: 0,
        gid: 0,
        groups: vec![0],
        no_set_groups: false,
    });
    assert_child_error(run(runner), "setgroups", libc::EPERM, 0);
    assert_never_ran(&ran);
}

#[test]
fn setgid_einval_for_an_unmapped_gid() {
    let dir = TempDir::new("setgid");
    let (runner, ran) = canary(&dir);
    let runner = in_user_ns(runner).credential(Credential::new(0, 1));
    assert_child_error(run(runner), "setgid", libc::EINVAL, 0);
    assert_never_ran(&ran);
}

#[test]
fn setuid_einval_for_an_unmapped_uid() {
    let dir = TempDir::new("setuid");
    let (runner, ran) = canary(&dir);
    let runner = in_user_ns(runner).credential(Credential::new(1, 0));
    assert_child_error(run(runner), "setuid", libc::EINVAL, 0);
    assert_never_ran(&ran);
}

// ---------------------------------------------------------------------------------------
// namespaces: unshare

#[test]
fn unshare_eperm_unprivileged_without_a_user_namespace() {
    user_only!("unshare_eperm_unprivileged_without_a_user_namespace is for non-root");
    let dir = TempDir::new("unshare");
    let (runner, ran) = canary(&dir);
    assert_child_error(
        run(runner.clone_flags([Namespace::NewNs])),
        "unshare",
        libc::EPERM,
        0,
    );
    assert_never_ran(&ran);
}

/// As root, without CAP_SYS_ADMIN in the bounding set (dropped on a runtime thread, so the
/// helper exec'd from it never gets it): the namespaces (index 0) and the cgroup namespace
/// after sync (index 1) both fail.
#[test]
fn unshare_eperm_without_cap_sys_admin_as_root() {
    root_only!("unshare_eperm_without_cap_sys_admin_as_root needs root");
    const CAP_SYS_ADMIN: libc::c_ulong = 21;
    let dir = TempDir::new("unshare-root");
    let (runner, ran) = canary(&dir);
    let result = on_fresh_thread(move || {
        prctl(libc::PR_CAPBSET_DROP, CAP_SYS_ADMIN);
        run(runner.clone_flags([Namespace::NewNs]))
    });
    assert_child_error(result, "unshare", libc::EPERM, 0);
    assert_never_ran(&ran);

    let (runner, ran) = canary(&dir);
    let synced = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let synced2 = synced.clone();
    let result = on_fresh_thread(move || {
        prctl(libc::PR_CAPBSET_DROP, CAP_SYS_ADMIN);
        run(runner.unshare_cgroup_after_sync(true).sync_func(move |_| {
            synced2.store(true, std::sync::atomic::Ordering::SeqCst);
            Ok::<(), std::io::Error>(())
        }))
    });
    assert_child_error(result, "unshare", libc::EPERM, 1);
    assert!(
        synced.load(std::sync::atomic::Ordering::SeqCst),
        "index 1 comes after sync"
    );
    assert_never_ran(&ran);
}

/// As root without `CAP_NET_ADMIN` (dropped from the bounding set by the runtime thread): the
/// new network namespace is made (`CAP_SYS_ADMIN`), but bringing its `lo` up is refused
/// (loopback, index 1: the ioctl).
#[test]
fn loopback_eperm_without_cap_net_admin_as_root() {
    root_only!("loopback_eperm_without_cap_net_admin_as_root needs root");
    const CAP_NET_ADMIN: libc::c_ulong = 12;
    let dir = TempDir::new("loopback-root");
    let (runner, ran) = canary(&dir);
    let result = on_fresh_thread(move || {
        prctl(libc::PR_CAPBSET_DROP, CAP_NET_ADMIN);
        run(runner.clone_flags([Namespace::NewNet]).loopback(true))
    });
    assert_child_error(result, "loopback", libc::EPERM, 1);
    assert_never_ran(&ran);
}

// ---------------------------------------------------------------------------------------
// capabilities: drop_capability

/// As root with SECBIT_NOROOT locked off by the runtime thread: the helper's capability
/// drop cannot set it (drop_capability, index 0: the securebits step).
#[test]
fn drop_capability_eperm_with_locked_securebits_as_root() {
    root_only!("drop_capability_eperm_with_locked_securebits_as_root needs root");
    let dir = TempDir::new("dropcap");
    let (runner, ran) = canary(&dir);
    let result = on_fresh_thread(move || {
        prctl(libc::PR_SET_SECUREBITS, 1 << 1); // SECBIT_NOROOT_LOCKED
        run(runner.drop_caps(true))
    });
    assert_child_error(result, "drop_capability", libc::EPERM, 0);
    assert_never_ran(&ran);
}

// ---------------------------------------------------------------------------------------
// capabilities: set_cap, raise_ambient (CAPS)

/// Unprivileged without a user namespace: a kept capability the process does not have
/// cannot be set (set_cap, EPERM).
#[test]
fn set_cap_eperm_for_a_capability_not_held() {
    user_only!("set_cap_eperm_for_a_capability_not_held is for non-root");
    let dir = TempDir::new("setcap");
    let (runner, ran) = canary(&dir);
    assert_child_error(
        run(runner.caps(Caps::from_mask(1 << 10))),
        "set_cap",
        libc::EPERM,
        0,
    );
    assert_never_ran(&ran);
}

/// A runtime thread that locked SECBIT_NO_CAP_AMBIENT_RAISE on passes it on: the first kept
/// capability cannot be raised (raise_ambient, index = that capability). As root (a new user
/// namespace would reset the securebits).
#[test]
fn raise_ambient_eperm_with_locked_securebits_as_root() {
    root_only!("raise_ambient_eperm_with_locked_securebits_as_root needs root");
    let dir = TempDir::new("ambient");
    let (runner, ran) = canary(&dir);
    let result = on_fresh_thread(move || {
        prctl(libc::PR_SET_SECUREBITS, 3 << 6); // SECBIT_NO_CAP_AMBIENT_RAISE(_LOCKED)
        run(runner.caps(Caps::from_mask(1 << 5 | 1 << 10)))
    });
    assert_child_error(result, "raise_ambient", libc::EPERM, 5);
    assert_never_ran(&ran);
}

// ---------------------------------------------------------------------------------------
// sync: sync_read, sync_write; ptrace_me

#[test]
fn sync_refusal_is_error_sync_and_nothing_runs() {
    let dir = TempDir::new("sync-refuse");
    let (runner, ran) = canary(&dir);
    let pid = std::sync::Arc::new(std::sync::Mutex::new(0u32));
    let pid2 = pid.clone();
    let result = run(runner.sync_func(move |p| {
        *pid2.lock().unwrap() = p;
        Err(std::io::Error::other("refused by the test"))
    }));
    match result {
        Err(Error::Sync(e)) => assert_eq!(e.to_string(), "refused by the test"),
        other => panic!("expected Error::Sync, got {other:?}"),
    }
    assert_never_ran(&ran);
    // The helper has been reaped: it is no longer a child of this process.
    let pid = *pid.lock().unwrap();
    assert_ne!(pid, 0);
    // SAFETY: WNOHANG wait for a specific pid, no status wanted.
    let r = unsafe { libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), libc::WNOHANG) };
    assert_eq!(r, -1);
    assert_eq!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::ECHILD)
    );
}

/// The helper's side of a refusal: a sync record, then `sync_read` ECANCELED.
#[test]
fn sync_read_ecanceled_on_refusal_raw() {
    let dir = TempDir::new("sync-raw");
    let (runner, ran) = canary(&dir);
    let mut spec = runner.spec;
    spec.sync = true;
    // The refusal byte follows the spec at once: the helper reads exactly the spec first.
    let mut bytes = spec.encode().unwrap();
    bytes.push(forkexec_spec::status::SYNC_ABORT);
    let res = raw(&bytes);
    assert_eq!(res.records.len(), 2, "{:?}", res.records);
    assert!(
        matches!(res.records[0], Record::Sync { pid } if pid > 0),
        "{:?}",
        res.records
    );
    assert_eq!(
        res.records[1],
        error_record(Location::SyncRead, libc::ECANCELED, 0)
    );
    assert_eq!(res.status.code(), Some(EXIT_SETUP_FAILED));
    assert_never_ran(&ran);
}

/// No answer at all (the runtime hung up its writing side): `sync_read` EPIPE.
#[test]
fn sync_read_epipe_without_an_answer_raw() {
    let dir = TempDir::new("sync-eof");
    let (runner, ran) = canary(&dir);
    let mut spec = runner.spec;
    spec.sync = true;
    let res = raw_spec(&spec);
    assert_eq!(res.records.len(), 2, "{:?}", res.records);
    assert!(matches!(res.records[0], Record::Sync { .. }));
    assert_eq!(
        res.records[1],
        error_record(Location::SyncRead, libc::EPIPE, 0)
    );
    assert_eq!(res.status.code(), Some(EXIT_SETUP_FAILED));
    assert_never_ran(&ran);
}

/// A read-only status fd (the raw harness's /dev/null on fd 0) means nobody reads records:
/// the sync record, which needs an answer, fails (`sync_write` EBADF) and the error goes to
/// stderr.
#[test]
fn sync_write_ebadf_on_a_read_only_status_fd_raw() {
    let dir = TempDir::new("sync-write");
    let (runner, ran) = canary(&dir);
    let mut spec = runner.spec;
    spec.sync = true;
    spec.status_fd = Some(0);
    let res = raw_spec(&spec);
    assert_eq!(res.records, []);
    assert_eq!(res.stderr, "forkexec: sync_write(0): bad file descriptor\n");
    assert_eq!(res.status.code(), Some(EXIT_SETUP_FAILED));
    assert_never_ran(&ran);
}

/// Already traced when it asks for PTRACE_TRACEME: the sync callback (run on the thread
/// that spawned the helper) attaches with PTRACE_SEIZE first. That takes root: the helper is
/// non-dumpable until it executes the target, so an unprivileged runtime cannot attach to it
/// (the seize itself fails with EPERM, and the callback's error stops the start).
#[test]
fn ptrace_me_eperm_when_already_traced() {
    let dir = TempDir::new("ptrace-me");
    let (runner, ran) = canary(&dir);
    let seized = Arc::new(Mutex::new(None));
    let seized2 = seized.clone();
    let runner = runner.ptrace(true).sync_func(move |pid| {
        // SAFETY: PTRACE_SEIZE of our own child with no options.
        let r = unsafe {
            libc::ptrace(
                libc::PTRACE_SEIZE,
                pid as libc::pid_t,
                std::ptr::null_mut::<libc::c_void>(),
                std::ptr::null_mut::<libc::c_void>(),
            )
        };
        let outcome = if r == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        };
        *seized2.lock().unwrap() = Some(outcome.as_ref().map_err(|e| e.raw_os_error()).copied());
        outcome
    });
    let started = run(runner);
    let seized = seized.lock().unwrap().take().expect("the callback ran");
    if is_root() {
        assert_eq!(seized, Ok(()));
        assert_child_error(started, "ptrace_me", libc::EPERM, 0);
    } else {
        assert_eq!(
            seized,
            Err(Some(libc::EPERM)),
            "attached to a non-dumpable helper"
        );
        assert!(started.is_err());
    }
    assert_never_ran(&ran);
}

/// The canary really runs when nothing fails (so `assert_never_ran`
/// means something).
#[test]
fn canary_runs_when_nothing_fails() {
    let dir = TempDir::new("canary");
    let (runner, ran) = canary(&dir);
    let out = run(runner).unwrap();
    assert!(out.status.success(), "{} {}", out.status, out.stderr);
    assert_eq!(std::fs::read_to_string(&ran).unwrap(), "ran");
    let res = raw_spec(&canary(&dir).0.spec);
    assert_eq!(res.records, []);
    assert!(res.status.success());
}
