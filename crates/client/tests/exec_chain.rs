//! The exec-in-place chain, field by field: each test starts the real helper through the
//! client and checks what the target (`forkexec-probe`) sees from inside, and what the
//! runtime receives (pid, sync callback, ptrace stops, exit status, rusage).
//!
//! Error locations are in `exec_errors.rs`. Tests that only make sense as root or only
//! unprivileged say so on stderr and return early; `make test` runs the binary both ways.
mod chain_util;
mod support;

use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use forkexec_client::{Credential, IdMap, Namespace, Resource, Runner, Spec, RLIM_INFINITY};
use serde_json::{json, Value};

use chain_util::*;
use support::*;

const ZERO_CAPS: &str = "0000000000000000";

fn probe_path() -> String {
    probe().to_string_lossy().to_string()
}

fn canonical(p: &std::path::Path) -> String {
    std::fs::canonicalize(p)
        .unwrap()
        .to_string_lossy()
        .to_string()
}

/// The probe executed by fd (`exec_file`): a target that runs as another uid must not need to
/// look the probe up by path, since the checkout may sit under a directory closed to others
/// (e.g. /root). The `File` must live until the start.
fn probe_by_fd(args: &[&str]) -> (Runner, File) {
    let exe = File::open(probe()).unwrap();
    let mut argv = vec![probe_path()];
    argv.extend(args.iter().map(|s| s.to_string()));
    (Runner::new(argv).exec_file(exe.as_raw_fd()), exe)
}

/// A new user namespace with this process's ids mapped to 0 inside.
fn in_user_ns(r: Runner) -> Runner {
    r.clone_flags([Namespace::NewUser])
        .uid_mappings([IdMap::new(0, euid(), 1)])
        .gid_mappings([IdMap::new(0, egid(), 1)])
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn own_status_field(name: &str) -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap()
        .trim()
        .to_string()
}

// ---------------------------------------------------------------------------------------
// args, env, exec_path, exec_file

#[test]
fn args_arrive_byte_exact() {
    let mut args: Vec<String> = vec![
        probe_path(),
        "report".into(),
        String::new(),
        " ".into(),
        "two words".into(),
        "  leading and trailing  ".into(),
        "日本語 ünïcødé ✓".into(),
        "tab\there\nnewline".into(),
        "--".into(),
        "-x=\"quoted\" 'single' $HOME \\back".into(),
        String::new(),
        "x".repeat(100_000),
    ];
    args.extend((0..3000).map(|i| format!("arg-{i}")));
    let r = report(Runner::new(args.clone()));
    assert_eq!(strings(&r["argv"]), args);
}

#[test]
fn env_arrives_exactly_in_order() {
    let env = vec![
        "PATH=/nowhere".to_string(),
        "EMPTY=".into(),
        "SPACES=a b  c ".into(),
        "EQUALS=a=b=c".into(),
        "UNICODE=ü日本".into(),
        "NEWLINE=one\ntwo".into(),
        "ZZZ=last but not sorted".into(),
        "AAA=first letter, last place".into(),
        format!("LONG={}", "v".repeat(50_000)),
    ];
    let r = report(probe_runner(&["report"]).env(env.clone()));
    assert_eq!(strings(&r["env"]), env);
}

#[test]
fn empty_env_means_an_empty_environment() {
    // This process has a non-empty environment (PATH at least under cargo and make); none
    // of it may reach the target.
    assert!(std::env::vars_os().next().is_some());
    let r = report(probe_runner(&["report"]));
    assert_eq!(r["env"], json!([]));
}

#[test]
fn exec_path_runs_another_file_than_argv0() {
    let r = report(
        Runner::new(["/nonexistent/argv0-is-not-executed", "report", "x"]).exec_path(probe_path()),
    );
    assert_eq!(
        strings(&r["argv"]),
        ["/nonexistent/argv0-is-not-executed", "report", "x"]
    );
}

#[test]
fn exec_file_runs_the_fd_and_does_not_leak_it() {
    let exe = File::open(probe()).unwrap();
    let r = report_mapped(
        Runner::new(["argv0-is-not-a-path", "report"]).exec_file(exe.as_raw_fd()),
        |s| s.std3(),
    );
    assert_eq!(strings(&r["argv"]), ["argv0-is-not-a-path", "report"]);
    let fds = fd_links(&r);
    assert_eq!(
        fds.keys().copied().collect::<Vec<_>>(),
        [0, 1, 2],
        "{fds:?}"
    );
}

/// The exec fd's own number is a slot the target gets closed: the helper must move it out
/// of the way before closing the slot, and still not leak it.
#[test]
fn exec_file_numbered_like_a_closed_target_slot() {
    let exe = dup_at_least(File::open(probe()).unwrap().as_raw_fd(), 20);
    let e = exe.as_raw_fd();
    let r = report_mapped(Runner::new(["argv0", "report"]).exec_file(e), |s| {
        let mut files = s.std3();
        files.resize(e as usize + 1, -1);
        files
    });
    let fds = fd_links(&r);
    assert_eq!(
        fds.keys().copied().collect::<Vec<_>>(),
        [0, 1, 2],
        "{fds:?}"
    );
}

/// The helper's fds (spec socket, exec fd) must not be clobbered while the fd table is
/// shuffled: here the exec fd is numbered right above every fd in `files`, which is where
/// the helper moves the first fd it has to get out of the way (the spec socket).
#[test]
fn exec_file_right_above_the_files_table() {
    let dir = TempDir::new("execfd-above");
    let data = dir.join("data");
    std::fs::write(&data, "x").unwrap();
    let data_file = File::open(&data).unwrap();
    let probe_file = File::open(probe()).unwrap();
    // Two consecutive numbers F, F+1 well above the spec socket's (this process's lowest
    // free fd when `start` runs).
    let mut base = 200;
    let (f, e) = loop {
        let f = dup_at_least(data_file.as_raw_fd(), base);
        let e = dup_at_least(probe_file.as_raw_fd(), f.as_raw_fd() + 1);
        if e.as_raw_fd() == f.as_raw_fd() + 1 {
            break (f, e);
        }
        base = e.as_raw_fd() + 1;
    };
    let (fd_f, fd_e) = (f.as_raw_fd(), e.as_raw_fd());
    let r = report_mapped(Runner::new(["argv0", "report"]).exec_file(fd_e), |s| {
        vec![s.null(), s.out(), s.err(), fd_f]
    });
    let fds = fd_links(&r);
    assert_eq!(
        fds.keys().copied().collect::<Vec<_>>(),
        [0, 1, 2, 3],
        "{fds:?}"
    );
    assert_eq!(fds[&3], canonical(&data));
}

// ---------------------------------------------------------------------------------------
// files

#[test]
fn files_map_a_pipe_to_1_and_a_file_to_3() {
    let dir = TempDir::new("files3");
    let path = dir.join("three");
    std::fs::write(&path, "").unwrap();
    let file = File::open(&path).unwrap();
    let mut expected = BTreeMap::new();
    let r = report_mapped(probe_runner(&["report"]), |s| {
        expected = BTreeMap::from([
            (0, "/dev/null".to_string()),
            (1, own_link(s.out())),
            (2, own_link(s.err())),
            (3, canonical(&path)),
        ]);
        vec![s.null(), s.out(), s.err(), file.as_raw_fd()]
    });
    assert!(expected[&1].starts_with("pipe:"), "{expected:?}");
    assert_eq!(fd_links(&r), expected);
}

/// -1 closes the slot even when the helper has that number open (here: the runtime's fd
/// that is moved to slot 3 has the very number of a -1 slot).
#[test]
fn files_minus_one_closes_the_slot() {
    let dir = TempDir::new("files-close");
    let path = dir.join("f");
    std::fs::write(&path, "").unwrap();
    let f = dup_at_least(File::open(&path).unwrap().as_raw_fd(), 20);
    let n = f.as_raw_fd();
    let r = report_mapped(probe_runner(&["report"]), |s| {
        let mut files = s.std3();
        files.push(n); // slot 3
        files.resize(n as usize + 1, -1); // slots 4..=n closed, slot n among them
        files
    });
    let fds = fd_links(&r);
    assert_eq!(
        fds.keys().copied().collect::<Vec<_>>(),
        [0, 1, 2, 3],
        "{fds:?}"
    );
    assert_eq!(fds[&3], canonical(&path));
}

/// go-sandbox's two passes: the runtime's fds a < b go to target slots b and a, so each
/// target number is also the number of the other source fd.
#[test]
fn files_swap_colliding_numbers() {
    let dir = TempDir::new("files-swap");
    let (pa, pb) = (dir.join("a"), dir.join("b"));
    std::fs::write(&pa, "").unwrap();
    std::fs::write(&pb, "").unwrap();
    let a = dup_at_least(File::open(&pa).unwrap().as_raw_fd(), 40);
    let b = dup_at_least(File::open(&pb).unwrap().as_raw_fd(), a.as_raw_fd() + 1);
    let (na, nb) = (a.as_raw_fd(), b.as_raw_fd());
    let mut expected = BTreeMap::new();
    let r = report_mapped(probe_runner(&["report"]), |s| {
        let mut files = s.std3();
        files.resize(nb as usize + 1, -1);
        files[na as usize] = nb;
        files[nb as usize] = na;
        expected = BTreeMap::from([
            (0, "/dev/null".to_string()),
            (1, own_link(s.out())),
            (2, own_link(s.err())),
            (na, canonical(&pb)),
            (nb, canonical(&pa)),
        ]);
        files
    });
    assert_eq!(fd_links(&r), expected);
}

/// A rotation where every source is below its slot (all go through pass 1), and the same
/// source fd in two slots.
#[test]
fn files_rotation_and_duplicates() {
    let dir = TempDir::new("files-rot");
    let paths: Vec<PathBuf> = (0..3).map(|i| dir.join(&format!("r{i}"))).collect();
    let owned: Vec<OwnedFd> = paths
        .iter()
        .map(|p| {
            std::fs::write(p, "").unwrap();
            dup_at_least(File::open(p).unwrap().as_raw_fd(), 30)
        })
        .collect();
    let n: Vec<RawFd> = owned.iter().map(|f| f.as_raw_fd()).collect();
    let top = *n.iter().max().unwrap() + 2;
    let r = report_mapped(probe_runner(&["report"]), |s| {
        let mut files = s.std3();
        files.resize(top as usize + 1, -1);
        // slot n0 <- n1, slot n1 <- n2, slot n2 <- n0, and slot top <- n0 again.
        files[n[0] as usize] = n[1];
        files[n[1] as usize] = n[2];
        files[n[2] as usize] = n[0];
        files[top as usize] = n[0];
        files
    });
    let fds = fd_links(&r);
    let expected_keys: Vec<i32> = {
        let mut k = vec![0, 1, 2, n[0], n[1], n[2], top];
        k.sort();
        k
    };
    assert_eq!(fds.keys().copied().collect::<Vec<_>>(), expected_keys);
    assert_eq!(fds[&n[0]], canonical(&paths[1]));
    assert_eq!(fds[&n[1]], canonical(&paths[2]));
    assert_eq!(fds[&n[2]], canonical(&paths[0]));
    assert_eq!(fds[&top], canonical(&paths[0]));
}

/// A long table, mostly closed: the target sees exactly the mapped slots, nothing of the
/// helper's own (the spec/status socket is most likely numbered inside the table).
#[test]
fn files_nothing_else_leaks() {
    let dir = TempDir::new("files-leak");
    let path = dir.join("f");
    std::fs::write(&path, "").unwrap();
    let file = File::open(&path).unwrap();
    let r = report_mapped(probe_runner(&["report"]), |s| {
        let mut files = s.std3();
        files.resize(64, -1);
        files[5] = file.as_raw_fd();
        files[63] = file.as_raw_fd();
        files
    });
    let fds = fd_links(&r);
    assert_eq!(
        fds.keys().copied().collect::<Vec<_>>(),
        [0, 1, 2, 5, 63],
        "{fds:?}"
    );
    assert!(
        fds.values().all(|l| !l.starts_with("socket:")),
        "a socket leaked: {fds:?}"
    );
}

/// The usual 0/1/2 table: no socket, nothing but the three.
#[test]
fn files_std3_only() {
    let r = report(probe_runner(&["report"]));
    let fds = fd_links(&r);
    assert_eq!(
        fds.keys().copied().collect::<Vec<_>>(),
        [0, 1, 2],
        "{fds:?}"
    );
    assert_eq!(fds[&0], "/dev/null");
    assert!(fds.values().all(|l| !l.starts_with("socket:")), "{fds:?}");
}

/// With no `files`, the target keeps this process's 0, 1 and 2 (and nothing else). The
/// target is a shell that moves its fd 1 to 3 and writes the probe's report to a file, so
/// that this process's own stdout is left alone.
#[test]
fn no_files_keeps_stdio() {
    let dir = TempDir::new("nofiles");
    let out = dir.join("report.json");
    let runner = Runner::new([
        "/bin/sh",
        "-c",
        "exec \"$0\" report 3>&1 >\"$1\"",
        &probe_path(),
        out.to_str().unwrap(),
    ]);
    assert!(runner.spec.files.is_empty());
    let mut p = Guard(runner.start().unwrap());
    let status = p.wait().unwrap();
    assert!(status.success(), "{status}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let fds = fd_links(&r);
    let expected = BTreeMap::from([
        (0, own_link(0)),
        (1, canonical(&out)),
        (2, own_link(2)),
        (3, own_link(1)),
    ]);
    assert_eq!(fds, expected);
}

/// The same through the raw harness, where the helper's 0/1/2 are /dev/null, a file, a pipe.
#[test]
fn no_files_keeps_stdio_raw() {
    let dir = TempDir::new("nofiles-raw");
    let out = dir.join("report.json");
    let spec = Spec::new([probe_path(), "report".into()]);
    let file = File::create(&out).unwrap();
    let res = raw_with(&spec.encode().unwrap(), |cmd| {
        cmd.stdout(file);
    });
    assert_eq!(res.records, [], "stderr: {}", res.stderr);
    assert!(res.status.success(), "{} {}", res.status, res.stderr);
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let fds = fd_links(&r);
    assert_eq!(
        fds.keys().copied().collect::<Vec<_>>(),
        [0, 1, 2],
        "{fds:?}"
    );
    assert_eq!(fds[&0], "/dev/null");
    assert_eq!(fds[&1], canonical(&out));
    assert!(fds[&2].starts_with("pipe:"), "{fds:?}");
}

// ---------------------------------------------------------------------------------------
// work_dir, rlimits

#[test]
fn work_dir_is_the_cwd() {
    let dir = TempDir::new("cwd");
    let sub = dir.join("sub dir ü");
    std::fs::create_dir(&sub).unwrap();
    let r = report(probe_runner(&["report"]).work_dir(sub.to_str().unwrap()));
    assert_eq!(r["cwd"], canonical(&sub));
    // Without work_dir, the runtime's cwd.
    let r = report(probe_runner(&["report"]));
    assert_eq!(
        r["cwd"],
        std::env::current_dir().unwrap().to_string_lossy().as_ref()
    );
}

#[test]
fn rlimits_are_set() {
    // cur < max, both within this process's hard limit (so this works unprivileged too).
    let pick = |res: libc::__rlimit_resource_t, cur: u64, max: u64| {
        let max = max.min(hard_limit(res));
        (cur.min(max), max)
    };
    let nofile = pick(libc::RLIMIT_NOFILE, 100, 200);
    let cpu = pick(libc::RLIMIT_CPU, 100, 200);
    let as_ = pick(libc::RLIMIT_AS, 3 << 30, 4 << 30);
    let core = pick(libc::RLIMIT_CORE, 0, 1 << 20);
    let fsize = pick(libc::RLIMIT_FSIZE, 1 << 20, RLIM_INFINITY);
    let r = report(
        probe_runner(&["report"])
            .rlimit(Resource::Nofile, nofile.0, nofile.1)
            .rlimit(Resource::Cpu, cpu.0, cpu.1)
            .rlimit(Resource::As, as_.0, as_.1)
            .rlimit(Resource::Core, core.0, core.1)
            .rlimit(Resource::Fsize, fsize.0, fsize.1),
    );
    let got = |res: libc::__rlimit_resource_t| -> (u64, u64) {
        let v = &r["rlimits"][res.to_string()];
        (v[0].as_u64().unwrap(), v[1].as_u64().unwrap())
    };
    assert_eq!(got(libc::RLIMIT_NOFILE), nofile);
    assert_eq!(got(libc::RLIMIT_CPU), cpu);
    assert_eq!(got(libc::RLIMIT_AS), as_);
    assert_eq!(got(libc::RLIMIT_CORE), core);
    assert_eq!(got(libc::RLIMIT_FSIZE), fsize);
    assert!(nofile.0 < nofile.1 && cpu.0 < cpu.1 && as_.0 < as_.1);
}

/// A later rlimit record for the same resource wins (they are applied in order).
#[test]
fn rlimits_apply_in_order() {
    let r = report(
        probe_runner(&["report"])
            .rlimit(Resource::Nofile, 50, 100)
            .rlimit(Resource::Nofile, 20, 30),
    );
    assert_eq!(
        r["rlimits"][libc::RLIMIT_NOFILE.to_string()],
        json!([20, 30])
    );
}

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
    if !is_root() {
        eprintln!("note: credential_as_root needs root; skipped");
        return;
    }
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
    if !is_root() {
        eprintln!("note: drop_caps_as_root needs root; skipped");
        return;
    }
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
    if is_root() {
        eprintln!("note: drop_caps_unprivileged_keeps_the_bounding_set is for non-root; skipped");
        return;
    }
    let r = report(probe_runner(&["report"]).drop_caps(true));
    for set in ["cap_inh", "cap_prm", "cap_eff", "cap_amb"] {
        assert_eq!(r[set], ZERO_CAPS, "{set}");
    }
    assert_eq!(r["cap_bnd"], own_status_field("CapBnd"));
}

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
    if !is_root() {
        eprintln!("note: unshare_cgroup_after_sync_as_root needs root; skipped");
        return;
    }
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
