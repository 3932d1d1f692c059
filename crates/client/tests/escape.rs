//! Escape tests: from inside the sandbox, a static probe (`crates/probe/static/escape-probe.c`,
//! built with `cc -static`: the sandbox holds nothing from the host but that one file) tries
//! the ways out a sandboxed program would try, and each must fail the way SECURITY.md says:
//!
//! - writes to read-only binds fail (EROFS) and the host file is unchanged;
//! - the host tree is invisible after pivot_root, and a fresh proc in a new pid namespace
//!   does not lead back to it (`/proc/1/root`);
//! - every capability set is empty with drop_caps, no_new_privs is set when asked (and by a
//!   seccomp filter), and a setuid-root binary does not raise the target's ids;
//! - the calls a seccomp policy must refuse are refused by the shipped judge policy;
//! - /proc/sys cannot be written;
//! - a new network namespace has no route out;
//! - from a new pid namespace, the host's processes can be neither signalled nor traced.
//!
//! Each test also runs the control that shows the check can fail (the same probe without the
//! protection gets through). Every test runs as root and as an ordinary user; the ones that
//! need root say so and return early.
use forkexec_testkit::support;
use forkexec_testkit::{root_only, skip};

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::Path;

use forkexec_client::{Credential, IdMap, Mount, MountFlag, Namespace, Resource, Runner};
use forkexec_policy::{Action, Policy};
use serde_json::{json, Value};
use support::*;

const ZERO: &str = "0000000000000000";

/// The securebits drop_caps locks: NOROOT, NO_SETUID_FIXUP and KEEP_CAPS, each locked.
const LOCKED_SECUREBITS: u64 = 0x2f;

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// `r` in a new pid namespace with a fresh proc at /proc (the supervise shape).
fn with_new_pid(mut r: Runner) -> Runner {
    r.spec.clone_flags.push(Namespace::NewPid);
    r.mount(Mount::proc("/proc"))
}

/// `{"ret": -1, "errno": E}`, the probe's failed call.
fn failed(errno: i32) -> Value {
    json!({"ret": -1, "errno": errno})
}

// ---------------------------------------------------------------------------------------------
// Read-only binds
// ---------------------------------------------------------------------------------------------

/// A read-only bind of a host directory refuses writes from inside (EROFS), to an existing
/// file and to a new one, and the host sees no change. A target without capabilities cannot
/// remount it writable (EPERM). The control: the same bind without `rdonly` lets the write
/// through to the host.
#[test]
fn writes_to_read_only_binds_fail_and_the_host_file_is_unchanged() {
    let mut c = Cleanup::default();
    let data = c.dir("data");
    fs::write(data.join("f"), "host\n").unwrap();
    let bound = |c: &mut Cleanup, args: &[&str], read_only: bool| {
        static_root(c, args)
            .mount(Mount::bind(path_str(&data), "/data", read_only))
            .drop_caps(true)
    };
    assert_eq!(
        run_json(bound(&mut c, &["write", "/data/f", "pwned"], true)),
        failed(libc::EROFS)
    );
    assert_eq!(
        run_json(bound(&mut c, &["write", "/data/new", "x"], true)),
        failed(libc::EROFS)
    );
    assert_eq!(
        run_json(bound(&mut c, &["remount-rw", "/data"], true)),
        failed(libc::EPERM)
    );
    assert_eq!(fs::read_to_string(data.join("f")).unwrap(), "host\n");
    assert!(!data.join("new").exists());

    assert_eq!(
        run_json(bound(&mut c, &["write", "/data/new", "x"], false)),
        json!({"ret": 0})
    );
    assert_eq!(fs::read_to_string(data.join("new")).unwrap(), "x");
}

/// What SECURITY.md warns about: a read-only bind holds against a target without
/// CAP_SYS_ADMIN over its mount namespace. Root of a new user namespace that keeps its
/// capabilities (no drop_caps, no credential) owns the sandbox's mount namespace and can
/// remount a bind the helper made read-only as writable again (the kernel only locks flags
/// of mounts inherited from a more privileged namespace), then write through it to the host.
/// This test pins that behaviour, so that the documentation stays true.
#[test]
fn read_only_binds_need_the_capabilities_dropped() {
    let mut c = Cleanup::default();
    let data = c.dir("data");
    fs::write(data.join("f"), "host\n").unwrap();
    let r = static_root(&mut c, &["remount-rw", "/data", "/data/f", "changed"]).mount(Mount::bind(
        path_str(&data),
        "/data",
        true,
    ));
    assert_eq!(run_json(r), json!({"ret": 0}));
    assert_eq!(fs::read_to_string(data.join("f")).unwrap(), "changed");
}

// ---------------------------------------------------------------------------------------------
// The host tree
// ---------------------------------------------------------------------------------------------

/// After pivot_root the host's tree is gone: a file the test made on the host is not there
/// at its host path, `/` holds only what was mounted, and `..` of `/` (or 64 of them) is `/`.
#[test]
fn the_host_tree_is_invisible_after_pivot_root() {
    let mut c = Cleanup::default();
    let marker = c.dir("marker").join("marker");
    fs::write(&marker, "host").unwrap();
    let m = path_str(&marker);
    assert_eq!(
        run_json(static_root(&mut c, &["stat", &m])),
        failed(libc::ENOENT)
    );
    assert_eq!(
        run_json(static_root(&mut c, &["ls", "/"])),
        json!({"entries": ["probe"]})
    );
    let v = run_json(static_root(&mut c, &["cwd"]));
    assert_eq!(
        (&v["cwd"], &v["dotdot"], &v["up"]),
        (&json!("/"), &v["root"], &v["root"]),
        "{v}"
    );
    // The control: the probe run without a new root sees the marker.
    let r = Runner::new([path_str(&static_probe()), "stat".into(), m.clone()]);
    assert!(run_json(r)["ino"].is_u64());
}

/// With a new pid namespace and a fresh proc, no process in /proc leads back to the host:
/// `/proc/1/root` (the target, pid 1 of its namespace) is the sandbox's `/`, the host's
/// marker is not under it, and /proc lists the sandbox's processes only. The control (root
/// only): a target that is the host's root, with the host's /proc bound in and no new pid
/// namespace, follows the test's own `/proc/PID/root` straight to the marker. (From a user
/// namespace the kernel refuses `/proc/PID/root` of a process outside it anyway: a tracer
/// must hold CAP_SYS_PTRACE in the tracee's namespace.)
#[test]
fn a_fresh_proc_in_a_new_pid_namespace_does_not_lead_out() {
    let mut c = Cleanup::default();
    let marker = c.dir("marker").join("marker");
    fs::write(&marker, "host").unwrap();
    let via_pid_1 = format!("/proc/1/root{}", path_str(&marker));
    let r = |c: &mut Cleanup, args: &[&str]| with_new_pid(static_root(c, args));
    assert_eq!(
        run_json(r(&mut c, &["readlink", "/proc/1/root"])),
        json!({"link": "/"})
    );
    assert_eq!(
        run_json(r(&mut c, &["stat", &via_pid_1])),
        failed(libc::ENOENT)
    );
    let listed = run_json(r(&mut c, &["ls", "/proc"]));
    let pids: Vec<&str> = listed["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e.as_str())
        .filter(|e| e.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    assert_eq!(pids, ["1"], "{listed}");

    let via_test = format!("/proc/{}/root{}", std::process::id(), path_str(&marker));
    let mut r =
        static_root(&mut c, &["stat", &via_test]).mount(Mount::bind("/proc", "/proc", false));
    if is_root() {
        r.spec.clone_flags.retain(|&f| f != Namespace::NewUser);
        r.spec.uid_mappings.clear();
        r.spec.gid_mappings.clear();
        assert!(
            run_json(r)["ino"].is_u64(),
            "the control did not reach the host"
        );
    } else {
        assert_eq!(run_json(r), failed(libc::EACCES));
    }
}

// ---------------------------------------------------------------------------------------------
// Capabilities, no_new_privs, setuid
// ---------------------------------------------------------------------------------------------

#[track_caller]
fn assert_no_capabilities(v: &Value, what: &str) {
    for set in ["eff", "prm", "inh", "bnd", "amb"] {
        assert_eq!(v[set], ZERO, "{what}: {set} in {v}");
    }
}

/// With drop_caps every capability set is empty, the bounding and ambient sets included,
/// and the securebits are locked (root gains nothing by exec), in place and supervised, in a
/// user namespace and (as root) without one. The control: without drop_caps root of the user
/// namespace has its capabilities.
#[test]
fn every_capability_set_is_empty_with_drop_caps() {
    let mut c = Cleanup::default();
    let v = run_json(static_root(&mut c, &["caps"]).drop_caps(true));
    assert_no_capabilities(&v, "in place");
    assert_eq!(v["securebits"], LOCKED_SECUREBITS);
    let v = run_json(with_new_pid(static_root(&mut c, &["caps"])).drop_caps(true));
    assert_no_capabilities(&v, "supervise");
    let v = run_json(
        with_new_pid(static_root(&mut c, &["caps"]))
            .init(true)
            .drop_caps(true),
    );
    assert_no_capabilities(&v, "init");
    if is_root() {
        let plain = Runner::new([path_str(&static_probe()), "caps".into()]);
        let v = run_json(plain.credential(Credential::new(4321, 4321)));
        assert_no_capabilities(&v, "root with a credential");
        assert_eq!(v["securebits"], LOCKED_SECUREBITS);
    }
    let v = run_json(static_root(&mut c, &["caps"]));
    assert_ne!(v["eff"], ZERO, "{v}");
    assert_ne!(v["bnd"], ZERO, "{v}");
}

/// no_new_privs is set when asked, and by a seccomp filter; not otherwise.
#[test]
fn no_new_privs_is_set() {
    let mut c = Cleanup::default();
    let v = run_json(static_root(&mut c, &["caps"]).no_new_privs(true));
    assert_eq!(v["no_new_privs"], 1);
    if cfg!(target_arch = "x86_64") {
        let getppid_eperm = Policy::new(Action::Allow)
            .rule(["getppid"], Action::Errno(libc::EPERM as u16), vec![])
            .compile()
            .unwrap();
        let v = run_json(static_root(&mut c, &["caps"]).seccomp(getppid_eperm));
        assert_eq!(v["no_new_privs"], 1);
    }
    let v = run_json(static_root(&mut c, &["caps"]));
    assert_eq!(v["no_new_privs"], 0);
}

/// Root only (making a setuid-root file takes root): a setuid-and-setgid-root copy of the
/// probe, bound into a sandbox whose target runs as an ordinary user, does not raise its ids
/// with no_new_privs, nor from a `nosuid` bind (the client's default for binds). The
/// control: the same bind without `nosuid` and without no_new_privs does (euid and egid 0).
#[test]
fn a_setuid_binary_does_not_elevate() {
    root_only!("making a setuid-root binary takes root");
    let mut c = Cleanup::default();
    let dir = c.dir("suid");
    if on_nosuid_mount(&dir) {
        skip!("{} is on a nosuid mount", dir.display());
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let suid = dir.join("suid-probe");
    fs::copy(static_probe(), &suid).unwrap();
    std::os::unix::fs::chown(&suid, Some(0), Some(0)).unwrap();
    fs::set_permissions(&suid, fs::Permissions::from_mode(0o6755)).unwrap();
    let run_suid = |c: &mut Cleanup, nosuid: bool, no_new_privs: bool| {
        let mut flags = vec![MountFlag::Bind, MountFlag::Private, MountFlag::ReadOnly];
        if nosuid {
            flags.push(MountFlag::NoSuid);
        }
        let bind = Mount::new(path_str(&suid), "/suid", "", flags, "").file(true);
        let r = Runner::new(["/suid", "ids"])
            .clone_flags([Namespace::NewNs])
            .pivot_root(path_str(&c.dir("root")))
            .mount(bind)
            .credential(Credential::new(4321, 4321))
            .no_new_privs(no_new_privs);
        run_json(r)
    };
    let plain = json!({"uid": [4321, 4321, 4321], "gid": [4321, 4321, 4321]});
    assert_eq!(run_suid(&mut c, false, true), plain, "no_new_privs");
    assert_eq!(run_suid(&mut c, true, false), plain, "nosuid");
    assert_eq!(
        run_suid(&mut c, false, false),
        json!({"uid": [4321, 0, 0], "gid": [4321, 0, 0]}),
        "the control"
    );
}

// ---------------------------------------------------------------------------------------------
// Seccomp: the calls a policy must refuse
// ---------------------------------------------------------------------------------------------

fn judge() -> Vec<forkexec_client::SockFilter> {
    Policy::default_judge().compile().unwrap()
}

/// What SECURITY.md says a seccomp policy must add to the sandbox: the kernel's interfaces
/// for new namespaces, mounts, keys, BPF, io_uring, userfaultfd, perf, tracing, modules, kexec,
/// file handles, and the like.
const MUST_DENY: &[&str] = &[
    "unshare_user",
    "unshare_ns",
    "clone_newuser",
    "clone3_newuser",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "fsopen",
    "fsmount",
    "open_tree",
    "move_mount",
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "io_uring_setup",
    "io_uring_enter",
    "userfaultfd",
    "perf_event_open",
    "ptrace_traceme",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "open_by_handle_at",
    "name_to_handle_at",
    "fanotify_init",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "settimeofday",
    "clock_settime",
    "adjtimex",
    "iopl",
    "ioperm",
    "syslog",
    "quotactl",
];

/// Under the shipped judge policy (`policies/judge.json`) every call of [`MUST_DENY`] is
/// refused: EPERM (ENOSYS for `clone3`, so that libc falls back to `clone`, whose flags the
/// policy can see), or the process is killed with SIGSYS; none runs. The controls: the probe
/// itself runs under the policy (getpid), and without a filter the sandbox's root can make a
/// user namespace (it is the policy that refuses it, not the sandbox).
#[test]
fn the_judge_policy_denies_what_a_policy_must() {
    if !cfg!(target_arch = "x86_64") {
        skip!("the judge policy compiles for x86_64 only");
    }
    let mut c = Cleanup::default();
    let filter = judge();
    let mut outcomes = Vec::new();
    let mut moot = Vec::new();
    for name in MUST_DENY {
        let r = static_root(&mut c, &["syscall", name])
            .seccomp(filter.clone())
            .rlimit(Resource::Core, 0, 0);
        let out = run(r).unwrap();
        let outcome = if out.status.signal() == Some(libc::SIGSYS) {
            "SIGSYS".to_string()
        } else {
            assert!(
                out.status.success(),
                "{name}: {} {}",
                out.status,
                out.stderr
            );
            let v: Value = serde_json::from_str(out.stdout.trim()).unwrap();
            let errno = if name.starts_with("clone3") {
                libc::ENOSYS
            } else {
                libc::EPERM
            };
            assert_eq!(v, failed(errno), "{name}");
            format!("errno {errno}")
        };
        outcomes.push(format!("{name}: {outcome}"));
        // The control, per syscall: the same call in the same sandbox without the filter. Where
        // the kernel already refuses it the same way, the filter's denial proves nothing.
        let r = static_root(&mut c, &["syscall", name]).rlimit(Resource::Core, 0, 0);
        let out = run(r).unwrap();
        let unfiltered = if out.status.signal() == Some(libc::SIGSYS) {
            "SIGSYS".to_string()
        } else {
            let v: Value = serde_json::from_str(out.stdout.trim()).unwrap();
            match v["errno"].as_i64() {
                Some(e) if v["ret"] == -1 => format!("errno {e}"),
                _ => "allowed".to_string(),
            }
        };
        if unfiltered == outcome {
            moot.push(*name);
        }
    }
    eprintln!("judge policy: {}", outcomes.join(", "));
    eprintln!("denied by the kernel alone here: {moot:?}");
    let unexpected: Vec<_> = moot
        .iter()
        .filter(|n| !KERNEL_MAY_DENY.contains(n))
        .collect();
    assert_eq!(
        unexpected,
        Vec::<&&str>::new(),
        "refused the same way without the filter: the test proves nothing for these"
    );

    let v = run_json(static_root(&mut c, &["syscall", "getpid"]).seccomp(filter));
    assert!(v["ret"].as_i64().unwrap() > 0, "{v}");
}

/// Syscalls of [`MUST_DENY`] the kernel itself may refuse with EPERM inside the test's sandbox
/// (a user namespace without the capability they need in the initial one), so that the
/// filter's EPERM cannot be told from the kernel's there: for these the test proves nothing.
/// Measured as root and as a user: `fanotify_init` needs CAP_SYS_ADMIN in the initial user
/// namespace, `syslog` CAP_SYSLOG there. Every other one is refused differently (or allowed)
/// without the filter, so the filter's denial is what the test sees.
const KERNEL_MAY_DENY: &[&str] = &["fanotify_init", "syslog"];

// ---------------------------------------------------------------------------------------------
// /proc/sys
// ---------------------------------------------------------------------------------------------

/// A writable proc (the client's `Mount::proc` is read-only; this is the one a spec could ask
/// for instead).
fn rw_proc() -> Mount {
    use MountFlag::*;
    Mount::new("proc", "/proc", "proc", [NoSuid, NoDev, NoExec], "")
}

/// The sandbox's /proc/sys cannot be written: not its own UTS namespace's hostname, not the
/// host-wide core_pattern. With the client's read-only proc (what `forkexec-run --proc`
/// mounts), and with a writable proc in a user namespace whose root is an ordinary host user
/// (the files belong to the host's root; as root the namespace's root is mapped to uid
/// 100000, with a credential so that its gid is mapped too).
#[test]
fn proc_sys_is_read_only() {
    let mut c = Cleanup::default();
    let (outside_uid, outside_gid) = if is_root() {
        (100_000, 100_000)
    } else {
        (euid(), egid())
    };
    for file in ["/proc/sys/kernel/hostname", "/proc/sys/kernel/core_pattern"] {
        let mut r = with_new_pid(static_root(&mut c, &["write", file, "x"]));
        r.spec.clone_flags.push(Namespace::NewUts);
        let v = run_json(r);
        assert!(
            v == failed(libc::EROFS) || v == failed(libc::EACCES),
            "read-only proc, {file}: {v}"
        );

        let mut r = static_root(&mut c, &["write", file, "x"]).mount(rw_proc());
        r.spec
            .clone_flags
            .extend([Namespace::NewPid, Namespace::NewUts]);
        r.spec.uid_mappings = vec![IdMap::new(0, outside_uid, 1)];
        r.spec.gid_mappings = vec![IdMap::new(0, outside_gid, 1)];
        if is_root() {
            r = r.credential(Credential::new(0, 0));
        }
        assert_eq!(run_json(r), failed(libc::EACCES), "writable proc, {file}");
    }
}

/// Root only: a target that is the host's root (no user namespace, capabilities dropped)
/// owns /proc/sys by uid, so a writable proc needs /proc/sys bound read-only over it: then
/// the write fails with EROFS. The control: without that bind the same target writes the
/// (new UTS namespace's own) hostname. The host's hostname is untouched either way.
#[test]
fn proc_sys_bound_read_only_stops_a_root_target() {
    root_only!("a target that is the host's root needs root");
    let mut c = Cleanup::default();
    let host_name = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let write_hostname = |c: &mut Cleanup, bind_ro: bool| {
        let mut r = static_root(c, &["write", "/proc/sys/kernel/hostname", "sandbox"])
            .clone_flags([Namespace::NewNs, Namespace::NewPid, Namespace::NewUts])
            .mount(rw_proc())
            .drop_caps(true);
        r.spec.uid_mappings.clear();
        r.spec.gid_mappings.clear();
        if bind_ro {
            // Relative: the fresh proc's sys, under the new root (the helper's cwd then).
            r = r.mount(Mount::bind("proc/sys", "/proc/sys", true));
        }
        run_json(r)
    };
    assert_eq!(write_hostname(&mut c, true), failed(libc::EROFS));
    assert_eq!(write_hostname(&mut c, false), json!({"ret": 0}));
    assert_eq!(
        fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        host_name
    );
}

// ---------------------------------------------------------------------------------------------
// Network
// ---------------------------------------------------------------------------------------------

/// A new network namespace has only `lo` (down): a TCP listener of the test on 127.0.0.1, a
/// documentation address (no route) and the test's abstract unix socket are all out of
/// reach. The control: the same probe in the host's network namespace reaches both of the
/// test's sockets.
#[test]
fn there_is_no_route_out_of_a_new_net_namespace() {
    let mut c = Cleanup::default();
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = tcp.local_addr().unwrap().port().to_string();
    let name = format!("forkexec-escape-{}", std::process::id());
    let unix = {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        UnixListener::bind_addr(&addr).unwrap()
    };
    let net = |c: &mut Cleanup, args: &[&str]| {
        let mut r = static_root(c, args);
        r.spec.clone_flags.push(Namespace::NewNet);
        r
    };
    assert_eq!(
        run_json(net(&mut c, &["ifaces"])),
        json!({"ifaces": ["lo"]})
    );
    assert_eq!(
        run_json(net(&mut c, &["connect", "127.0.0.1", &port])),
        failed(libc::ENETUNREACH)
    );
    assert_eq!(
        run_json(net(&mut c, &["connect", "192.0.2.1", "80"])),
        failed(libc::ENETUNREACH)
    );
    assert_eq!(
        run_json(net(&mut c, &["unix", &name])),
        failed(libc::ECONNREFUSED)
    );

    let host = |c: &mut Cleanup, args: &[&str]| run_json(static_root(c, args));
    assert_eq!(
        host(&mut c, &["connect", "127.0.0.1", &port]),
        json!({"ret": 0})
    );
    assert_eq!(host(&mut c, &["unix", &name]), json!({"ret": 0}));
    drop((tcp, unix));
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

/// From a new pid namespace the host's processes do not exist: signalling the test process
/// (signal 0) or a sleeping child of it, or attaching to either, fails with ESRCH, and
/// `kill(-1)` reaches nobody. The controls: without a new pid namespace the same target may
/// signal the child, and a target without namespaces may attach to it (same user; skipped
/// where Yama's ptrace_scope forbids it).
#[test]
fn host_processes_cannot_be_signalled_or_traced_from_a_new_pid_namespace() {
    let mut c = Cleanup::default();
    let mut sleeper = std::process::Command::new("/bin/sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let (test_pid, sleeper_pid) = (std::process::id().to_string(), sleeper.id().to_string());
    let pid_ns = |c: &mut Cleanup, args: &[&str]| run_json(with_new_pid(static_root(c, args)));
    for pid in [&test_pid, &sleeper_pid] {
        assert_eq!(
            pid_ns(&mut c, &["kill", pid, "0"]),
            failed(libc::ESRCH),
            "{pid}"
        );
        assert_eq!(
            pid_ns(&mut c, &["ptrace", pid]),
            failed(libc::ESRCH),
            "{pid}"
        );
    }
    assert_eq!(pid_ns(&mut c, &["kill", "-1", "0"]), failed(libc::ESRCH));

    let host = |c: &mut Cleanup, args: &[&str]| run_json(static_root(c, args));
    assert_eq!(
        host(&mut c, &["kill", &sleeper_pid, "0"]),
        json!({"ret": 0})
    );
    let yama = fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope").unwrap_or("0".into());
    if yama.trim() == "0" {
        // No namespaces at all: from a user namespace the kernel refuses to trace a process
        // outside it regardless (CAP_SYS_PTRACE in the tracee's namespace).
        let r = Runner::new([
            path_str(&static_probe()),
            "ptrace".into(),
            sleeper_pid.clone(),
        ]);
        assert_eq!(run_json(r), json!({"ret": 0}));
    }
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
}
