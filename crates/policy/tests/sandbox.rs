//! Policies from inside the sandbox: each action does what it says to a real program run by
//! the real helper (`FORKEXEC_HELPER`), whose filter is this crate's compiled policy.
//!
//! The programs: `forkexec-probe` (`FORKEXEC_PROBE`), whose `syscall NAME` makes one call
//! and prints `{"ret": …}` or `{"ret": -1, "errno": …}`; and this test binary itself, run
//! as [`target_main`] for what the probe cannot do (catch SIGSYS, run a second thread).

use forkexec_testkit::skip;
use forkexec_testkit::skip::Kind::Env;
use forkexec_testkit::support;

use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use forkexec_client::{Resource, Runner, SockFilter};
use forkexec_policy::{Action, ArgCmp, CmpOp, Policy};
use serde_json::{json, Value};
use support::{probe, probe_runner, report, run, Output};

const SYS_GETPPID: u32 = 110;
const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;

/// The filters are x86_64 programs; elsewhere `compile` refuses (tested in compile.rs).
fn x86_64() -> bool {
    if cfg!(target_arch = "x86_64") {
        true
    } else {
        forkexec_testkit::skip::record(Env, "seccomp policies compile for x86_64 only");
        false
    }
}

fn filter(p: &Policy) -> Vec<SockFilter> {
    p.compile().unwrap_or_else(|e| panic!("{e}"))
}

fn judge() -> Vec<SockFilter> {
    filter(&Policy::default_judge())
}

/// Everything allowed but `getppid`, which gets `action`.
fn on_getppid(action: Action) -> Vec<SockFilter> {
    filter(&Policy::new(Action::Allow).rule(["getppid"], action, vec![]))
}

fn parse(out: &Output) -> Value {
    serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "{e}: status {} stdout {:?} stderr {:?}",
            out.status, out.stdout, out.stderr
        )
    })
}

/// `forkexec-probe syscall NAME` under `prog`: its JSON, after checking it exited 0.
fn probe_syscall(name: &str, prog: Vec<SockFilter>) -> Value {
    let out = run(probe_runner(&["syscall", name]).seccomp(prog)).expect("start");
    assert!(out.status.success(), "{}: {out:?}", out.status);
    parse(&out)
}

/// Runs `runner` with no core file (core_pattern may be a plain file name in the cwd).
fn run_no_core(runner: Runner) -> Output {
    run(runner.rlimit(Resource::Core, 0, 0).work_dir("/")).expect("start")
}

/// The judge policy without `name` in any rule.
fn judge_without(name: &str) -> Policy {
    let mut p = Policy::default_judge();
    for r in &mut p.syscalls {
        r.names.retain(|n| n != name);
    }
    p.syscalls.retain(|r| !r.names.is_empty());
    p
}

// ---------------------------------------------------------------------------------------
// The actions

#[test]
fn allow_runs_the_call() {
    if !x86_64() {
        return;
    }
    // Under the judge policy (default EPERM), getpid is allowed: it returns the pid…
    let out = run(probe_runner(&["syscall", "getpid"]).seccomp(judge())).unwrap();
    assert_eq!(parse(&out), json!({"ret": out.pid}));
    // …and without its rule it falls to the default.
    let v = probe_syscall("getpid", filter(&judge_without("getpid")));
    assert_eq!(v, json!({"ret": -1, "errno": libc::EPERM}));
}

#[test]
fn errno_returns_that_errno() {
    if !x86_64() {
        return;
    }
    let by_name = Policy::from_json(
        r#"{"default_action": "allow", "syscalls": [{"names": ["getppid"], "action": {"errno": "EACCES"}}]}"#,
    )
    .unwrap();
    assert_eq!(
        probe_syscall("getppid", filter(&by_name)),
        json!({"ret": -1, "errno": libc::EACCES})
    );
    assert_eq!(
        probe_syscall("getppid", on_getppid(Action::Errno(4000))),
        json!({"ret": -1, "errno": 4000})
    );
    // errno 0: the call "succeeds" with 0 and does not run.
    assert_eq!(
        probe_syscall("getppid", on_getppid(Action::Errno(0))),
        json!({"ret": 0})
    );
    // Other calls are untouched.
    assert_eq!(
        probe_syscall("getuid", on_getppid(Action::Errno(1))),
        json!({"ret": support::euid()})
    );
}

#[test]
fn kill_process_ends_it_with_sigsys() {
    if !x86_64() {
        return;
    }
    let out =
        run_no_core(probe_runner(&["syscall", "getppid"]).seccomp(on_getppid(Action::KillProcess)));
    assert_eq!(out.status.signal(), Some(libc::SIGSYS), "{}", out.status);
    assert_eq!(out.stdout, "", "nothing ran after the call");
}

#[test]
fn kill_thread_kills_the_calling_thread_only() {
    if !x86_64() {
        return;
    }
    // The probe is single-threaded: its only thread dies, and with it the process.
    let out =
        run_no_core(probe_runner(&["syscall", "getppid"]).seccomp(on_getppid(Action::KillThread)));
    assert_eq!(out.status.signal(), Some(libc::SIGSYS), "{}", out.status);
    assert_eq!(out.stdout, "");

    // A second thread calls getppid: it dies, the main thread goes on.
    let v = run_target("thread", on_getppid(Action::KillThread));
    assert_eq!(
        v,
        json!({"main": "alive", "thread_gone": true, "thread_returned": false})
    );
    // The same program without the rule: the thread returns.
    let v = run_target("thread", filter(&Policy::new(Action::Allow)));
    assert_eq!(
        v,
        json!({"main": "alive", "thread_gone": true, "thread_returned": true})
    );
    // kill_process for comparison: the whole process goes.
    let out = run_no_core(target_runner("thread").seccomp(on_getppid(Action::KillProcess)));
    assert_eq!(out.status.signal(), Some(libc::SIGSYS), "{}", out.status);
}

#[test]
fn trap_sends_a_catchable_sigsys() {
    if !x86_64() {
        return;
    }
    // The probe does not catch SIGSYS: it dies of it.
    let out = run_no_core(probe_runner(&["syscall", "getppid"]).seccomp(on_getppid(Action::Trap)));
    assert_eq!(out.status.signal(), Some(libc::SIGSYS), "{}", out.status);
    assert_eq!(out.stdout, "");

    // A program with a SIGSYS handler sees the seccomp trap (si_code SYS_SECCOMP = 1) for
    // getppid on x86_64, and carries on: the call did not run.
    let v = run_target("trap", on_getppid(Action::Trap));
    assert_eq!(v["signal"], libc::SIGSYS);
    assert_eq!(v["si_code"], 1, "SYS_SECCOMP");
    assert_eq!(v["si_syscall"], SYS_GETPPID);
    assert_eq!(v["si_arch"], AUDIT_ARCH_X86_64);
    assert_eq!(v["si_errno"], 0, "SECCOMP_RET_DATA of a plain trap");
    assert_eq!(v["after"], "returned");
    // Without the trap, no signal.
    let v = run_target("trap", filter(&Policy::new(Action::Allow)));
    assert_eq!(v["signal"], 0);
    assert_eq!(
        v["ret"],
        std::process::id(),
        "the target's parent is this test (exec in place)"
    );
}

#[test]
fn trace_without_a_tracer_is_enosys() {
    if !x86_64() {
        return;
    }
    assert_eq!(
        probe_syscall("getppid", on_getppid(Action::Trace(7))),
        json!({"ret": -1, "errno": libc::ENOSYS})
    );
}

/// With a tracer that asked for PTRACE_O_TRACESECCOMP, `trace` stops the target with
/// PTRACE_EVENT_SECCOMP and the rule's data as the event message; continued, the call runs.
#[test]
fn trace_stops_for_a_tracer() {
    if !x86_64() {
        return;
    }
    let devnull = File::open("/dev/null").unwrap();
    let (mut out_r, out_w) = support::pipe();
    let (mut err_r, err_w) = support::pipe();
    let mut runner = probe_runner(&["syscall", "getppid"])
        .ptrace(true)
        .seccomp(on_getppid(Action::Trace(0x1234)));
    runner.spec.files = vec![devnull.as_raw_fd(), out_w.as_raw_fd(), err_w.as_raw_fd()];
    // This thread forks the helper and so is its tracer: every ptrace call is made here.
    let mut p = Killer(runner.start().expect("start"));
    drop((out_w, err_w));
    let pid = p.0.pid();

    // ptrace + seccomp: the helper stops itself before loading the filter.
    let s = p.0.wait().unwrap();
    assert_eq!(s.status.stopped_signal(), Some(libc::SIGSTOP), "{s}");
    ptrace(
        libc::PTRACE_SETOPTIONS,
        pid,
        libc::PTRACE_O_TRACESECCOMP as usize,
    );
    ptrace(libc::PTRACE_CONT, pid, 0);
    p.0.finish_start().expect("the exec");

    // The exec's SIGTRAP, then the seccomp event at getppid.
    let s = p.0.wait().unwrap();
    assert_eq!(s.status.stopped_signal(), Some(libc::SIGTRAP), "{s}");
    ptrace(libc::PTRACE_CONT, pid, 0);
    let s = p.0.wait().unwrap();
    let raw = s.status.into_raw();
    assert_eq!(
        raw >> 8,
        libc::SIGTRAP | (libc::PTRACE_EVENT_SECCOMP << 8),
        "status {raw:#x}"
    );
    let mut msg: libc::c_ulong = 0;
    ptrace(libc::PTRACE_GETEVENTMSG, pid, &mut msg as *mut _ as usize);
    assert_eq!(msg, 0x1234);
    // SAFETY: user_regs_struct is plain data; PTRACE_GETREGS fills it.
    let mut regs: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    ptrace(libc::PTRACE_GETREGS, pid, &mut regs as *mut _ as usize);
    assert_eq!(regs.orig_rax, u64::from(SYS_GETPPID));

    ptrace(libc::PTRACE_CONT, pid, 0);
    let s = p.0.wait().unwrap();
    let (mut out, mut err) = (String::new(), String::new());
    out_r.read_to_string(&mut out).unwrap();
    err_r.read_to_string(&mut err).unwrap();
    assert_eq!(s.code(), Some(0), "{s} {err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v, json!({"ret": std::process::id()}), "the call ran");
}

#[test]
fn log_runs_the_call() {
    if !x86_64() {
        return;
    }
    assert_eq!(
        probe_syscall("getppid", on_getppid(Action::Log)),
        json!({"ret": std::process::id()})
    );
    let r = report(probe_runner(&["report"]).seccomp(on_getppid(Action::Log)));
    assert_eq!(r["seccomp"], "2");
    assert_eq!(r["ppid"], std::process::id());
}

// ---------------------------------------------------------------------------------------
// Argument comparisons

/// The probe calls `socket(AF_INET = 2, SOCK_STREAM = 1, 0)`. A rule answers EAFNOSUPPORT
/// when its comparison holds; otherwise the socket is made.
#[test]
fn argument_comparisons_on_real_arguments() {
    if !x86_64() {
        return;
    }
    let cases: &[(u8, CmpOp, u64, Option<u64>)] = &[
        (0, CmpOp::Eq, 2, None),
        (0, CmpOp::Eq, 1, None),
        (0, CmpOp::Eq, 0x1_0000_0002, None),
        (0, CmpOp::Ne, 2, None),
        (0, CmpOp::Ne, 0x1_0000_0002, None),
        (0, CmpOp::Lt, 3, None),
        (0, CmpOp::Lt, 2, None),
        (0, CmpOp::Le, 2, None),
        (0, CmpOp::Le, 1, None),
        (0, CmpOp::Gt, 1, None),
        (0, CmpOp::Gt, 2, None),
        (0, CmpOp::Ge, 2, None),
        (0, CmpOp::Ge, 0x1_0000_0000, None),
        (0, CmpOp::MaskedEq, 2, Some(0xff)),
        (0, CmpOp::MaskedEq, 0, Some(0xfd)),
        (1, CmpOp::Eq, 1, None),
        (1, CmpOp::MaskedEq, 0, Some(0x80800)), // no SOCK_NONBLOCK | SOCK_CLOEXEC
        (2, CmpOp::Eq, 0, None),
        (2, CmpOp::Gt, 0, None),
    ];
    let actual = [2u64, 1, 0];
    for &(index, op, value, mask) in cases {
        let c = ArgCmp {
            index,
            op,
            value,
            mask,
        };
        let p = Policy::new(Action::Allow).rule(["socket"], Action::Errno(97), vec![c]);
        let v = probe_syscall("socket", filter(&p));
        if c.matches(actual[usize::from(index)]) {
            assert_eq!(v, json!({"ret": -1, "errno": libc::EAFNOSUPPORT}), "{c:?}");
        } else {
            assert!(v["ret"].as_i64().unwrap() >= 0, "{c:?}: {v}");
        }
    }
}

/// `socket` for AF_UNIX only: the probe's AF_INET socket is refused.
#[test]
fn socket_for_af_unix_only() {
    if !x86_64() {
        return;
    }
    let p = Policy::from_json(
        r#"{"default_action": "allow", "syscalls": [
            {"names": ["socket"], "action": "allow", "args": [{"index": 0, "op": "eq", "value": 1}]},
            {"names": ["socket"], "action": {"errno": "EAFNOSUPPORT"}}]}"#,
    )
    .unwrap();
    assert_eq!(
        probe_syscall("socket", filter(&p)),
        json!({"ret": -1, "errno": libc::EAFNOSUPPORT})
    );
}

/// The probe calls `mkdir("/tmp/forkexec-probe-mkdir", 0700)`: rules on the mode argument,
/// first match wins, and no directory is ever made.
#[test]
fn rules_on_mkdir_mode_in_order() {
    if !x86_64() {
        return;
    }
    let policy = |mode: u64| {
        Policy::new(Action::Allow)
            .rule(
                ["mkdir"],
                Action::Errno(libc::EROFS as u16),
                vec![ArgCmp {
                    index: 1,
                    op: CmpOp::Eq,
                    value: mode,
                    mask: None,
                }],
            )
            .rule(["mkdir"], Action::Errno(libc::EDQUOT as u16), vec![])
    };
    assert_eq!(
        probe_syscall("mkdir", filter(&policy(0o700))),
        json!({"ret": -1, "errno": libc::EROFS})
    );
    assert_eq!(
        probe_syscall("mkdir", filter(&policy(0o755))),
        json!({"ret": -1, "errno": libc::EDQUOT})
    );
}

// ---------------------------------------------------------------------------------------
// The judge policy

#[test]
fn judge_runs_the_probe_report() {
    if !x86_64() {
        return;
    }
    // A dynamically linked Rust program: loader, std start-up, /proc reads, JSON out.
    let r = report(probe_runner(&["report"]).seccomp(judge()));
    assert_eq!(r["seccomp"], "2");
    assert_eq!(r["no_new_privs"], "1");
    assert_eq!(r["ppid"], std::process::id());
    let uid = support::euid();
    assert_eq!(r["uid"], json!([uid, uid, uid]));
    assert!(
        r["root"].as_array().unwrap().iter().any(|e| e == "proc"),
        "{r}"
    );
}

#[test]
fn judge_refuses_network_files_and_processes() {
    if !x86_64() {
        return;
    }
    assert_eq!(
        probe_syscall("socket", judge()),
        json!({"ret": -1, "errno": libc::EPERM})
    );
    assert_eq!(
        probe_syscall("mkdir", judge()),
        json!({"ret": -1, "errno": libc::EPERM})
    );
    assert_eq!(
        probe_syscall("getppid", judge()),
        json!({"ret": std::process::id()})
    );
    // Writing a file: the open for writing is refused.
    let dir = support::scratch_dir("judge-write");
    let path = dir.join("out");
    let out = run(probe_runner(&["write", path.to_str().unwrap(), "x"]).seccomp(judge())).unwrap();
    assert_eq!(parse(&out), json!({"ok": false, "errno": libc::EPERM}));
    assert!(!path.exists());
    std::fs::remove_dir_all(&dir).unwrap();

    // A shell that starts a command (vfork) is killed with SIGSYS.
    if Path::new("/bin/sh").exists() {
        let out =
            run_no_core(Runner::new(["/bin/sh", "-c", "/bin/true; echo after"]).seccomp(judge()));
        assert_eq!(out.status.signal(), Some(libc::SIGSYS), "{out:?}");
        assert_eq!(out.stdout, "");
    }
}

/// The helper still reports a failed exec under the judge policy (it writes its error record
/// after loading the filter), and execs by fd (execveat) too.
#[test]
fn judge_keeps_the_helper_working() {
    if !x86_64() {
        return;
    }
    let r = run(Runner::new(["/nonexistent/program"]).seccomp(judge()));
    support::assert_child_error(r, "execve", libc::ENOENT, 0);

    let exe = File::open(probe()).unwrap();
    let runner = Runner::new(["forkexec-probe", "syscall", "getpid"])
        .exec_file(exe.as_raw_fd())
        .seccomp(judge());
    let out = run(runner).unwrap();
    assert_eq!(parse(&out), json!({"ret": out.pid}));
}

/// Compiles `source` (C or C++) with `compiler FLAGS`, runs it under the judge policy with
/// `input` on stdin, returns its exit status and stdout; None when the compiler is missing
/// or cannot build (e.g. no static libc).
fn compiled_under_judge(
    compiler: &str,
    flags: &[&str],
    ext: &str,
    source: &str,
    input: &str,
) -> Option<(forkexec_client::WaitStatus, String)> {
    let dir = support::scratch_dir("judge-cc");
    let _rm = RemoveDir(dir.clone());
    let src = dir.join(format!("main.{ext}"));
    let exe = dir.join("main");
    std::fs::write(&src, source).unwrap();
    let built = std::process::Command::new(compiler)
        .args(flags)
        .arg("-o")
        .arg(&exe)
        .arg(&src)
        .output();
    match built {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            forkexec_testkit::skip::record(
                Env,
                &format!(
                    "{compiler} {flags:?} failed ({}): {}",
                    o.status,
                    String::from_utf8_lossy(&o.stderr)
                ),
            );
            return None;
        }
        Err(e) => {
            forkexec_testkit::skip::record(Env, &format!("{compiler}: {e}"));
            return None;
        }
    }
    std::fs::write(dir.join("in"), input).unwrap();
    let stdin = File::open(dir.join("in")).unwrap();
    let stdout = File::create(dir.join("out")).unwrap();
    let runner = Runner::new([exe.to_string_lossy().to_string()])
        .files([stdin.as_raw_fd(), stdout.as_raw_fd(), stdout.as_raw_fd()])
        .seccomp(judge());
    let mut p = runner.start().expect("start");
    let status = p.wait().unwrap();
    Some((status, std::fs::read_to_string(dir.join("out")).unwrap()))
}

struct RemoveDir(std::path::PathBuf);

impl Drop for RemoveDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn judge_runs_static_c_and_dynamic_cpp() {
    if !x86_64() {
        return;
    }
    let c = r#"#include <stdio.h>
#include <stdlib.h>
int main(void) {
    long a, b;
    if (scanf("%ld %ld", &a, &b) != 2) return 3;
    long *p = malloc(64 << 20);
    p[(64 << 20) / sizeof(long) - 1] = a + b;
    printf("%ld\n", p[(64 << 20) / sizeof(long) - 1]);
    return 0;
}
"#;
    if let Some((status, out)) = compiled_under_judge("cc", &["-O2", "-static"], "c", c, "2 40") {
        assert!(status.success(), "{status}: {out}");
        assert_eq!(out, "42\n");
    }
    let cpp = r#"#include <algorithm>
#include <iostream>
#include <thread>
#include <vector>
int main() {
    std::vector<long> v;
    for (long x; std::cin >> x;) v.push_back(x);
    long sum = 0;
    std::thread t([&] { std::sort(v.begin(), v.end()); for (long x : v) sum += x; });
    t.join();
    std::cout << v.front() << " " << v.back() << " " << sum << std::endl;
}
"#;
    if let Some((status, out)) =
        compiled_under_judge("c++", &["-O2", "-pthread"], "cc", cpp, "5 3 9 1")
    {
        assert!(status.success(), "{status}: {out}");
        assert_eq!(out, "1 9 18\n");
    }
}

#[test]
fn judge_runs_python() {
    if !x86_64() {
        return;
    }
    let python = "/usr/bin/python3";
    if !Path::new(python).exists() {
        skip!("{python} not found");
    }
    let script = "import sys, json, threading, collections\n\
                  r = []\n\
                  t = threading.Thread(target=lambda: r.append(sum(range(10))))\n\
                  t.start(); t.join()\n\
                  print(json.dumps({'sum': r[0], 'ok': True}))";
    let out = run(Runner::new([python, "-c", script]).seccomp(judge())).unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(parse(&out), json!({"sum": 45, "ok": true}));

    // fork is a forbidden call: SIGSYS.
    let out = run_no_core(
        Runner::new([python, "-c", "import os\nos.fork()\nprint('forked')"]).seccomp(judge()),
    );
    assert_eq!(out.status.signal(), Some(libc::SIGSYS), "{out:?}");
    assert_eq!(out.stdout, "");
    // A socket is refused, not killed (runtimes probe sockets themselves).
    let out = run(Runner::new([
        python,
        "-c",
        "import socket\ntry:\n socket.socket()\nexcept OSError as e:\n print(e.errno)",
    ])
    .seccomp(judge()))
    .unwrap();
    assert_eq!(out.stdout.trim(), libc::EPERM.to_string(), "{out:?}");
}

#[test]
fn judge_runs_java() {
    if !x86_64() {
        return;
    }
    let java = "/usr/bin/java";
    if !Path::new(java).exists() {
        skip!("{java} not found");
    }
    // The JVM: many threads (clone3 → ENOSYS → clone with CLONE_THREAD), signals, /proc.
    let out = run(Runner::new([java, "-Xshare:auto", "-version"]).seccomp(judge())).unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(out.stderr.contains("version"), "{out:?}");
}

// ---------------------------------------------------------------------------------------
// This binary as the sandboxed program

/// A Runner for this test binary as [`target_main`] doing `what`.
fn target_runner(what: &str) -> Runner {
    let exe = std::env::current_exe().unwrap();
    Runner::new([
        exe.to_string_lossy().to_string(),
        "--exact".into(),
        "--ignored".into(),
        "target_main".into(),
        "--nocapture".into(),
        "--test-threads=1".into(),
    ])
    .env([format!("FORKEXEC_POLICY_TARGET={what}")])
}

/// Runs [`target_main`] under `prog` and returns the JSON it printed.
fn run_target(what: &str, prog: Vec<SockFilter>) -> Value {
    let out = run_no_core(target_runner(what).seccomp(prog));
    assert!(out.status.success(), "{out:?}");
    let line = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("TARGET "))
        .unwrap_or_else(|| panic!("no TARGET line: {out:?}"));
    serde_json::from_str(line).unwrap()
}

/// Not a test of its own: with `FORKEXEC_POLICY_TARGET` set, this binary runs as the
/// sandboxed program, prints `TARGET {json}` and exits. Ignored, so that it never counts as a
/// passing test; the re-execution asks for it by name with `--ignored`.
#[test]
#[ignore = "not a test: the sandboxed program's entry point, run only when re-executed"]
fn target_main() {
    let Ok(what) = std::env::var("FORKEXEC_POLICY_TARGET") else {
        return;
    };
    let v = match what.as_str() {
        "trap" => target::trap(),
        "thread" => target::thread(),
        other => panic!("unknown target {other}"),
    };
    let line = format!("\nTARGET {v}\n");
    // SAFETY: write(2) of a buffer we own to fd 1 (past libtest's output capture).
    unsafe { libc::write(1, line.as_ptr().cast(), line.len()) };
    std::process::exit(0);
}

mod target {
    use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering::SeqCst};
    use std::sync::{mpsc, Arc};
    use std::time::{Duration, Instant};

    use serde_json::{json, Value};

    static SIGNAL: AtomicI32 = AtomicI32::new(0);
    static CODE: AtomicI32 = AtomicI32::new(0);
    static ERRNO: AtomicI32 = AtomicI32::new(0);
    static SYSCALL: AtomicI32 = AtomicI32::new(0);
    static ARCH: AtomicU32 = AtomicU32::new(0);

    extern "C" fn on_sigsys(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
        // SAFETY: the kernel hands a valid siginfo_t. For SIGSYS its union holds
        // `struct { void *_call_addr; int _syscall; unsigned int _arch; }` at offset 16.
        unsafe {
            SIGNAL.store(sig, SeqCst);
            CODE.store((*info).si_code, SeqCst);
            ERRNO.store((*info).si_errno, SeqCst);
            let base = info as *const u8;
            SYSCALL.store(*(base.add(24) as *const i32), SeqCst);
            ARCH.store(*(base.add(28) as *const u32), SeqCst);
        }
    }

    /// getppid with a SIGSYS handler installed: what the handler saw, and that we got back.
    pub fn trap() -> Value {
        // SAFETY: a zeroed sigaction with an SA_SIGINFO handler that only stores atomics.
        let ret = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_sigsys as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO;
            assert_eq!(libc::sigaction(libc::SIGSYS, &sa, std::ptr::null_mut()), 0);
            libc::syscall(libc::SYS_getppid)
        };
        json!({
            "signal": SIGNAL.load(SeqCst), "si_code": CODE.load(SeqCst),
            "si_errno": ERRNO.load(SeqCst), "si_syscall": SYSCALL.load(SeqCst),
            "si_arch": ARCH.load(SeqCst), "ret": ret, "after": "returned",
        })
    }

    /// A second thread calls getppid; the main thread waits for it to be gone.
    pub fn thread() -> Value {
        let returned = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let flag = returned.clone();
        std::thread::spawn(move || {
            // SAFETY: gettid and getppid take no arguments.
            tx.send(unsafe { libc::gettid() }).unwrap();
            unsafe { libc::syscall(libc::SYS_getppid) };
            flag.store(true, SeqCst);
        });
        let tid = rx.recv().unwrap();
        let task = format!("/proc/self/task/{tid}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::path::Path::new(&task).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        json!({
            "main": "alive",
            "thread_gone": !std::path::Path::new(&task).exists(),
            "thread_returned": returned.load(SeqCst),
        })
    }
}

// ---------------------------------------------------------------------------------------

/// A started process killed (SIGKILL ends a ptrace stop too) and reaped if the test fails.
struct Killer(forkexec_client::Process);

impl Drop for Killer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self.0.kill(libc::SIGKILL);
            let _ = self.0.wait();
        }
    }
}

fn ptrace(request: libc::c_uint, pid: u32, data: usize) {
    // SAFETY: the requests used here take an integer or a pointer to memory we own as data.
    let r = unsafe {
        libc::ptrace(
            request,
            pid as libc::pid_t,
            std::ptr::null_mut::<libc::c_void>(),
            data as *mut libc::c_void,
        )
    };
    assert_eq!(
        r,
        0,
        "ptrace({request}): {}",
        std::io::Error::last_os_error()
    );
}
