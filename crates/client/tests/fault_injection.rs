//! Fault injection: the error locations of the helper that no test can make fail for real
//! (`close_range`, `set_no_new_privs`, `get_cap`, `set_cap`, `stop`, `drop_capability` 1 and 2,
//! `sethostname`, `setdomainname`, `pivot_root`, `umount`, `mount(readonly)`, `supervise` 0,
//! `pdeathsig`, `sync_write`) are provoked by a seccomp filter the test installs on the helper itself
//! between fork and exec. The filter fails exactly one syscall (narrowed by argument where the
//! helper makes the same call earlier) with an errno the call could not return for real (EIO,
//! unless said otherwise), so each test proves the record carries the injected errno. Every
//! test checks the one error record field by field, the exit code 125, and that the target (a
//! `touch` of a marker file) never ran.
//!
//! Every test runs as root and as an ordinary user; a step that needs privilege gets a new
//! user namespace when not root.
use forkexec_testkit::support;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use forkexec_client::{
    IdMap, Landlock, LandlockPath, LandlockPort, Location, Mount, Namespace, Spec,
};
use forkexec_spec::status::Record;
use support::*;

const TOUCH: &str = "/usr/bin/touch";

/// One argument check of [`deny`]: the low 32 bits of `args[index]` equal `value`.
type ArgEq = (u32, u32);

/// A seccomp program (x86_64) that fails syscall `nr` with `errno` when every `args` check
/// holds, and allows everything else.
fn deny(nr: i64, args: &[ArgEq], errno: i32) -> Vec<libc::sock_filter> {
    const LD: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const RET: u16 = 0x06; // BPF_RET | BPF_K
    let stmt = |code, k| libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    };
    // Loads and compares: (offset, value) pairs; arch, nr, then the arguments.
    let mut checks = vec![(4u32, 0xC000_003Eu32), (0, nr as u32)];
    checks.extend(args.iter().map(|&(i, v)| (16 + 8 * i, v)));
    let len = checks.len() * 2 + 2;
    let allow = len - 1;
    let mut p = Vec::with_capacity(len);
    for (offset, value) in checks {
        p.push(stmt(LD, offset));
        let at = p.len();
        p.push(libc::sock_filter {
            code: JEQ,
            jt: 0,
            jf: (allow - at - 1) as u8,
            k: value,
        });
    }
    p.push(stmt(RET, 0x0005_0000 | errno as u32)); // SECCOMP_RET_ERRNO
    p.push(stmt(RET, 0x7fff_0000)); // SECCOMP_RET_ALLOW
    assert_eq!(p.len(), len);
    p
}

/// Runs the helper on `spec` with `filter` installed on it before its exec; returns the
/// result.
fn run_filtered(spec: &Spec, filter: Vec<libc::sock_filter>) -> RawResult {
    let bytes = spec.encode().unwrap();
    raw_with(&bytes, move |cmd| install_on(cmd, filter))
}

/// [`run_filtered`] without the half-close after the spec ([`raw_open_with`]).
fn run_filtered_open(spec: &Spec, filter: Vec<libc::sock_filter>) -> RawResult {
    let bytes = spec.encode().unwrap();
    raw_open_with(&bytes, move |cmd| install_on(cmd, filter))
}

/// Makes `cmd` install `filter` (with no_new_privs) on the child right before its exec.
fn install_on(cmd: &mut Command, filter: Vec<libc::sock_filter>) {
    {
        // SAFETY: only prctl and seccomp between fork and exec, on memory the closure owns.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let prog = libc::sock_fprog {
                    len: filter.len() as u16,
                    filter: filter.as_ptr() as *mut _,
                };
                let r = libc::syscall(
                    libc::SYS_seccomp,
                    1, // SECCOMP_SET_MODE_FILTER
                    0,
                    &prog as *const libc::sock_fprog,
                );
                if r != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
}

/// A scratch directory (world-writable for a target with a credential) and the marker the
/// target would create in it.
fn marker(c: &mut Cleanup) -> (PathBuf, PathBuf) {
    let dir = c.dir("fault");
    let m = dir.join("ran");
    (dir, m)
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// A spec whose target touches `marker`.
fn touching(marker: &Path) -> Spec {
    Spec::new([TOUCH.to_string(), path_str(marker)])
}

/// `spec` in a new user namespace (this process's ids mapped to 0) unless root, plus `ns`.
fn privileged(mut spec: Spec, ns: &[Namespace]) -> Spec {
    if !is_root() {
        spec.clone_flags.push(Namespace::NewUser);
        spec.uid_mappings = vec![IdMap::new(0, euid(), 1)];
        spec.gid_mappings = vec![IdMap::new(0, egid(), 1)];
    }
    spec.clone_flags.extend_from_slice(ns);
    spec
}

/// A spec with a new mount namespace and pivot_root (scratch `root`), binding the host's
/// /usr, /bin, /lib, /lib64 and `dir` (at /out) without per-mount flags (so no bind remount
/// comes before the step under test); the target touches /out/ran.
fn pivoting(c: &mut Cleanup, dir: &Path) -> Spec {
    let root = c.dir("fault-root");
    let mut spec = privileged(
        Spec::new([TOUCH, "/out/ran"].map(String::from)),
        &[Namespace::NewNs],
    );
    spec.pivot_root = path_str(&root);
    for d in ["/usr", "/bin", "/lib", "/lib64"] {
        if Path::new(d).exists() {
            spec.mounts.push(Mount::bind(d, d, false).into());
        }
    }
    spec.mounts
        .push(Mount::bind(path_str(dir), "/out", false).into());
    spec
}

#[track_caller]
fn assert_injected(res: &RawResult, marker: &Path, location: Location, errno: i32, index: u32) {
    let expected = Record::Error {
        location: location as u32,
        errno,
        index,
        detail: 0,
    };
    assert_eq!(res.records, [expected], "stderr: {}", res.stderr);
    assert_eq!(res.status.code(), Some(125), "{:?}", res.status);
    assert!(!marker.exists(), "the target ran");
}

/// `close_range` (41): marking the fds past `files` close-on-exec (flags CLOSE_RANGE_CLOEXEC;
/// the earlier close_range calls pass 0).
#[test]
fn close_range_fails() {
    let mut c = Cleanup::default();
    let (_, m) = marker(&mut c);
    let filter = deny(libc::SYS_close_range, &[(2, 4)], libc::EIO);
    let res = run_filtered(&touching(&m), filter);
    assert_injected(&res, &m, Location::CloseRange, libc::EIO, 0);
}

/// `set_no_new_privs` (24): `prctl(PR_SET_NO_NEW_PRIVS)`.
#[test]
fn set_no_new_privs_fails() {
    let mut c = Cleanup::default();
    let (_, m) = marker(&mut c);
    let mut spec = touching(&m);
    spec.no_new_privs = true;
    let filter = deny(
        libc::SYS_prctl,
        &[(0, libc::PR_SET_NO_NEW_PRIVS as u32)],
        libc::EIO,
    );
    let res = run_filtered(&spec, filter);
    assert_injected(&res, &m, Location::SetNoNewPrivs, libc::EIO, 0);
}

fn dropping(m: &Path) -> Spec {
    let mut spec = touching(m);
    spec.drop_caps = true;
    spec
}

/// `get_cap` (42): the capget before dropping capabilities.
#[test]
fn get_cap_fails() {
    let mut c = Cleanup::default();
    let (_, m) = marker(&mut c);
    let res = run_filtered(&dropping(&m), deny(libc::SYS_capget, &[], libc::EIO));
    assert_injected(&res, &m, Location::GetCap, libc::EIO, 0);
}

/// `set_cap` (26): the capset to zero.
#[test]
fn set_cap_fails() {
    let mut c = Cleanup::default();
    let (_, m) = marker(&mut c);
    let res = run_filtered(&dropping(&m), deny(libc::SYS_capset, &[], libc::EIO));
    assert_injected(&res, &m, Location::SetCap, libc::EIO, 0);
}

/// `stop` (28): `kill(self, SIGSTOP)` with `stop_before_seccomp`.
#[test]
fn stop_fails() {
    let mut c = Cleanup::default();
    let (_, m) = marker(&mut c);
    let mut spec = touching(&m);
    spec.stop_before_seccomp = true;
    let filter = deny(libc::SYS_kill, &[(1, libc::SIGSTOP as u32)], libc::EIO);
    let res = run_filtered(&spec, filter);
    assert_injected(&res, &m, Location::Stop, libc::EIO, 0);
}

/// `drop_capability` index 1: clearing the ambient set (done with or without CAP_SETPCAP).
#[test]
fn drop_capability_ambient_fails() {
    let mut c = Cleanup::default();
    let (_, m) = marker(&mut c);
    let filter = deny(
        libc::SYS_prctl,
        &[(0, libc::PR_CAP_AMBIENT as u32)],
        libc::EIO,
    );
    let res = run_filtered(&dropping(&m), filter);
    assert_injected(&res, &m, Location::DropCapability, libc::EIO, 1);
}

/// `drop_capability` index 2: emptying the bounding set (needs CAP_SETPCAP: root, or a new
/// user namespace).
#[test]
fn drop_capability_bounding_fails() {
    let mut c = Cleanup::default();
    let (_, m) = marker(&mut c);
    let spec = privileged(dropping(&m), &[]);
    let filter = deny(
        libc::SYS_prctl,
        &[(0, libc::PR_CAPBSET_DROP as u32)],
        libc::EIO,
    );
    let res = run_filtered(&spec, filter);
    assert_injected(&res, &m, Location::DropCapability, libc::EIO, 2);
}

fn naming(m: &Path) -> Spec {
    let mut spec = privileged(touching(m), &[Namespace::NewUts]);
    spec.host_name = "fault-host".into();
    spec.domain_name = "fault-domain".into();
    spec
}

/// `sethostname` (39).
#[test]
fn sethostname_fails() {
    let mut c = Cleanup::default();
    let (_, m) = marker(&mut c);
    let res = run_filtered(&naming(&m), deny(libc::SYS_sethostname, &[], libc::EIO));
    assert_injected(&res, &m, Location::SetHostName, libc::EIO, 0);
}

/// `setdomainname` (40).
#[test]
fn setdomainname_fails() {
    let mut c = Cleanup::default();
    let (_, m) = marker(&mut c);
    let res = run_filtered(&naming(&m), deny(libc::SYS_setdomainname, &[], libc::EIO));
    assert_injected(&res, &m, Location::SetDomainName, libc::EIO, 0);
}

/// `umount` (19): detaching the old root after pivot_root (`MNT_DETACH`).
#[test]
fn umount_fails() {
    let mut c = Cleanup::default();
    let (dir, m) = marker(&mut c);
    let spec = pivoting(&mut c, &dir);
    let filter = deny(
        libc::SYS_umount2,
        &[(1, libc::MNT_DETACH as u32)],
        libc::EIO,
    );
    let res = run_filtered(&spec, filter);
    assert_injected(&res, &m, Location::Umount, libc::EIO, 0);
}

/// `pivot_root` (18): `pivot_root(".", ".")` in the new root (the kernel has no way to make
/// it fail once the helper has mounted the new root's tmpfs itself).
#[test]
fn pivot_root_fails() {
    let mut c = Cleanup::default();
    let (dir, m) = marker(&mut c);
    let spec = pivoting(&mut c, &dir);
    let res = run_filtered(&spec, deny(libc::SYS_pivot_root, &[], libc::EIO));
    assert_injected(&res, &m, Location::PivotRoot, libc::EIO, 0);
}

/// openat2 with RESOLVE_IN_ROOT answers EAGAIN when a mount or rename anywhere raced a `..`
/// of the walk; the helper retries, a fixed number of times (`sys::OPEN_IN_ROOT_TRIES`): a
/// walk that always races ends with the error at the first mount entry's target, not a hang.
/// That target is below a directory (one right below the root is made there without a walk).
#[test]
fn open_in_root_eagain_is_retried_a_bounded_number_of_times() {
    let mut c = Cleanup::default();
    let (dir, m) = marker(&mut c);
    let mut spec = pivoting(&mut c, &dir);
    let nested = Mount::bind(path_str(&dir), "/nested/out", false);
    spec.mounts.insert(0, nested.into());
    let res = run_filtered(&spec, deny(libc::SYS_openat2, &[], libc::EAGAIN));
    assert_injected(&res, &m, Location::MountPath, libc::EAGAIN, 0);
}

/// `mount(readonly)` (21): making the new `/` read-only, `mount_setattr` on the root mount
/// alone (`AT_EMPTY_PATH` without `AT_RECURSIVE`; the binds before it are set up
/// recursively).
#[test]
fn mount_readonly_fails() {
    let mut c = Cleanup::default();
    let (dir, m) = marker(&mut c);
    let spec = pivoting(&mut c, &dir);
    let flags = libc::AT_EMPTY_PATH as u32;
    let filter = deny(libc::SYS_mount_setattr, &[(2, flags)], libc::EIO);
    let res = run_filtered(&spec, filter);
    assert_injected(&res, &m, Location::MountRootReadonly, libc::EIO, 0);
}

/// `supervise` index 0: blocking the signals before the clone (`rt_sigprocmask(SIG_BLOCK)`)
/// in the supervise shape (a new pid namespace).
#[test]
fn supervise_sigprocmask_fails() {
    let mut c = Cleanup::default();
    let (_, m) = marker(&mut c);
    let spec = privileged(touching(&m), &[Namespace::NewPid]);
    let filter = deny(
        libc::SYS_rt_sigprocmask,
        &[(0, libc::SIG_BLOCK as u32)],
        libc::EIO,
    );
    let res = run_filtered(&spec, filter);
    assert_injected(&res, &m, Location::Supervise, libc::EIO, 0);
}

/// `supervise` index 1: the supervisor's signalfd (the step after the go byte). The target
/// (pid 1 of the new pid namespace) is held at the sync point, where no answer ever comes,
/// until the supervisor kills it: the records are the clone's pid, maybe the target's sync
/// record (whether it got that far first is a race), and the one error.
#[test]
fn supervise_signalfd_fails() {
    let mut c = Cleanup::default();
    let (_, m) = marker(&mut c);
    let mut spec = privileged(touching(&m), &[Namespace::NewPid]);
    spec.sync = true;
    let res = run_filtered_open(&spec, deny(libc::SYS_signalfd4, &[], libc::EIO));
    let expected = Record::Error {
        location: Location::Supervise as u32,
        errno: libc::EIO,
        index: 1,
        detail: 0,
    };
    let records: Vec<_> = res
        .records
        .iter()
        .filter(|r| !matches!(r, Record::Sync { .. }))
        .collect();
    assert!(
        matches!(records[..], [Record::Pid { .. }, e] if *e == expected),
        "{:?} stderr: {}",
        res.records,
        res.stderr
    );
    assert_eq!(res.status.code(), Some(125), "{:?}", res.status);
    assert!(!m.exists(), "the target ran");
}

/// `pdeathsig` (44): `prctl(PR_SET_PDEATHSIG)` with die-with-parent, index 0 (the helper).
#[test]
fn pdeathsig_fails() {
    let mut c = Cleanup::default();
    let (_, m) = marker(&mut c);
    let mut spec = touching(&m);
    spec.die_with_parent = true;
    let filter = deny(
        libc::SYS_prctl,
        &[(0, libc::PR_SET_PDEATHSIG as u32)],
        libc::EIO,
    );
    let res = run_filtered(&spec, filter);
    assert_injected(&res, &m, Location::Pdeathsig, libc::EIO, 0);
}

/// `sync_write` (30) with EPIPE: the sync record cannot be sent on the status socket (every
/// `sendto` fails, as if the runtime had closed its end), so the error record cannot be sent
/// either and the helper says it on stderr; no record arrives.
#[test]
fn sync_write_fails_with_epipe() {
    let mut c = Cleanup::default();
    let (_, m) = marker(&mut c);
    let mut spec = touching(&m);
    spec.sync = true;
    let res = run_filtered(&spec, deny(libc::SYS_sendto, &[], libc::EPIPE));
    assert_eq!(res.records, []);
    assert_eq!(res.stderr, "forkexec: sync_write(0): broken pipe\n");
    assert_eq!(res.status.code(), Some(125), "{:?}", res.status);
    assert!(!m.exists(), "the target ran");
}

/// The control: each spec above runs its target (the marker appears) under a filter that
/// fails nothing the helper calls, so "the target never ran" means the injected failure
/// stopped it.
#[test]
fn without_the_injected_failure_every_target_runs() {
    let mut c = Cleanup::default();
    let mut specs = Vec::new();
    for make in [touching, dropping, naming] {
        let (_, m) = marker(&mut c);
        specs.push((make(&m), m));
    }
    let (_, m) = marker(&mut c);
    specs.push((privileged(touching(&m), &[Namespace::NewPid]), m));
    let (dir, m) = marker(&mut c);
    specs.push((pivoting(&mut c, &dir), m));
    for (mut spec, m) in specs {
        spec.no_new_privs = true;
        spec.stop_before_seccomp = false;
        // kill with a signal number no helper sends: allows everything it does.
        let res = run_filtered(&spec, deny(libc::SYS_kill, &[(1, 1000)], libc::EIO));
        assert!(
            !res.records
                .iter()
                .any(|r| matches!(r, Record::Error { .. })),
            "{spec:?}: {:?} {}",
            res.records,
            res.stderr
        );
        assert_eq!(res.status.code(), Some(0), "{spec:?}: {}", res.stderr);
        assert!(m.exists(), "{spec:?}: the target did not run");
    }
}

/// `keyring` (50): `keyctl(KEYCTL_JOIN_SESSION_KEYRING)` with new_session_keyring, index 0.
#[test]
fn keyring_fails() {
    let mut c = Cleanup::default();
    let (_, m) = marker(&mut c);
    let mut spec = touching(&m);
    spec.new_session_keyring = true;
    let filter = deny(libc::SYS_keyctl, &[(0, 1)], libc::EIO);
    let res = run_filtered(&spec, filter);
    assert_injected(&res, &m, Location::Keyring, libc::EIO, 0);
}

/// `landlock` (51), index 2, EOPNOTSUPP: on a kernel without Landlock (here
/// `landlock_create_ruleset` fails with ENOSYS, as it does where Landlock is not built in),
/// EXACT refuses and the target never runs; best effort (the control) runs it unconfined.
#[test]
fn landlock_exact_refuses_a_kernel_without_landlock() {
    for exact in [true, false] {
        let mut c = Cleanup::default();
        let (_, m) = marker(&mut c);
        let mut spec = touching(&m);
        spec.no_new_privs = true;
        spec.landlock = Some(Landlock {
            exact,
            scope: vec!["signal".into()],
            ..Landlock::default()
        });
        let filter = deny(libc::SYS_landlock_create_ruleset, &[], libc::ENOSYS);
        let res = run_filtered(&spec, filter);
        if exact {
            assert_injected(&res, &m, Location::Landlock, libc::EOPNOTSUPP, 2);
        } else {
            assert_eq!(res.records, [], "stderr: {}", res.stderr);
            assert!(res.status.success(), "{:?} {}", res.status, res.stderr);
            assert!(m.exists(), "best effort runs the target");
        }
    }
}

/// `landlock` (51), index 1: `landlock_restrict_self` failing (EIO) stops the start.
#[test]
fn landlock_restrict_self_fails() {
    let mut c = Cleanup::default();
    let (_, m) = marker(&mut c);
    let mut spec = touching(&m);
    spec.no_new_privs = true;
    spec.landlock = Some(Landlock {
        scope: vec!["signal".into()],
        ..Landlock::default()
    });
    let filter = deny(libc::SYS_landlock_restrict_self, &[], libc::EIO);
    let res = run_filtered(&spec, filter);
    assert_injected(&res, &m, Location::Landlock, libc::EIO, 1);
}

/// `landlock(path)` (52): a rule whose path does not exist, for real (ENOENT), index 1 (the
/// second rule).
#[test]
fn landlock_path_missing() {
    let mut c = Cleanup::default();
    let (_, m) = marker(&mut c);
    let mut spec = touching(&m);
    spec.no_new_privs = true;
    spec.landlock = Some(Landlock {
        fs: Some(vec![
            LandlockPath::new("/", &["read", "execute", "write"]),
            LandlockPath::new("/nonexistent-landlock-rule", &["read"]),
        ]),
        ..Landlock::default()
    });
    let res = run_filtered(&spec, deny(libc::SYS_getppid, &[(0, 12345)], libc::EIO));
    assert_injected(&res, &m, Location::LandlockPath, libc::ENOENT, 1);
}

/// `landlock(port)` (53): adding a TCP port rule (`landlock_add_rule` with
/// LANDLOCK_RULE_NET_PORT) failing (EIO), index 0.
#[test]
fn landlock_port_rule_fails() {
    let mut c = Cleanup::default();
    let (_, m) = marker(&mut c);
    let mut spec = touching(&m);
    spec.no_new_privs = true;
    spec.landlock = Some(Landlock {
        net: Some(vec![LandlockPort::new(443, &["connect_tcp"])]),
        ..Landlock::default()
    });
    let filter = deny(libc::SYS_landlock_add_rule, &[(1, 2)], libc::EIO);
    let res = run_filtered(&spec, filter);
    assert_injected(&res, &m, Location::LandlockPort, libc::EIO, 0);
}
