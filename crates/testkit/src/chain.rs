//! Helpers for the exec-chain tests (`exec_chain`, `exec_errors`; on top of
//! [`crate::support`]): captured stdio with caller-chosen fd tables, a process guard that never leaves a child behind,
//! scratch directories removed on drop, seccomp programs, per-thread credential tricks.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use forkexec_client::{Error, Process, Runner, SockFilter, Spec};
use serde_json::Value;

use crate::support::{self, Output, RawResult};

/// A scratch directory (from [`support::scratch_dir`]) removed with everything in it on drop,
/// also when the test panics.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        TempDir(support::scratch_dir(tag))
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A started process that is killed (SIGKILL, which also ends a ptrace or SIGSTOP stop) and
/// reaped on drop unless it has already been waited for to the end.
pub struct Guard(pub Process);

impl Guard {
    pub fn pid(&self) -> u32 {
        self.0.pid()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill(libc::SIGKILL);
        while let Ok(s) = self.0.wait() {
            if s.code().is_some() || s.signal().is_some() {
                break;
            }
        }
    }
}

impl std::ops::Deref for Guard {
    type Target = Process;
    fn deref(&self) -> &Process {
        &self.0
    }
}

impl std::ops::DerefMut for Guard {
    fn deref_mut(&mut self) -> &mut Process {
        &mut self.0
    }
}

/// The test's ends of a target's stdio: /dev/null to read, two pipes to capture. `out_w` and
/// `err_w` are closed by [`Stdio::started`] once the helper has them.
pub struct Stdio {
    pub devnull: File,
    pub out_r: File,
    pub out_w: Option<File>,
    pub err_r: File,
    pub err_w: Option<File>,
}

impl Default for Stdio {
    fn default() -> Self {
        Self::new()
    }
}

impl Stdio {
    pub fn new() -> Self {
        let (out_r, out_w) = support::pipe();
        let (err_r, err_w) = support::pipe();
        Stdio {
            devnull: File::open("/dev/null").unwrap(),
            out_r,
            out_w: Some(out_w),
            err_r,
            err_w: Some(err_w),
        }
    }
    pub fn null(&self) -> RawFd {
        self.devnull.as_raw_fd()
    }
    pub fn out(&self) -> RawFd {
        self.out_w.as_ref().unwrap().as_raw_fd()
    }
    pub fn err(&self) -> RawFd {
        self.err_w.as_ref().unwrap().as_raw_fd()
    }
    /// The usual table: 0 = /dev/null, 1 and 2 captured.
    pub fn std3(&self) -> Vec<RawFd> {
        vec![self.null(), self.out(), self.err()]
    }
    /// Drops our copies of the write ends (so reading reaches EOF when the target ends).
    pub fn started(&mut self) {
        self.out_w = None;
        self.err_w = None;
    }
    /// Everything the target wrote, once it has closed its ends.
    pub fn read_all(&mut self) -> (String, String) {
        self.started();
        let (mut out, mut err) = (String::new(), String::new());
        self.out_r.read_to_string(&mut out).unwrap();
        self.err_r.read_to_string(&mut err).unwrap();
        (out, err)
    }
}

/// Runs `runner` with the fd table `files(&stdio)` (its fds 1 and 2 are captured wherever
/// the table puts them), waits, returns the output.
pub fn run_mapped(
    mut runner: Runner,
    files: impl FnOnce(&Stdio) -> Vec<RawFd>,
) -> Result<Output, Error> {
    let mut stdio = Stdio::new();
    runner.spec.files = files(&stdio);
    let started = runner.start();
    stdio.started();
    let mut p = Guard(started?);
    let (stdout, stderr) = stdio.read_all();
    let status = p.wait().unwrap();
    Ok(Output {
        status,
        stdout,
        stderr,
        pid: p.pid(),
    })
}

/// The probe's JSON output.
#[track_caller]
pub fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "target failed: {} stdout: {} stderr: {}",
        out.status,
        out.stdout,
        out.stderr
    );
    serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: stdout {:?} stderr {:?}", out.stdout, out.stderr))
}

/// `forkexec-probe report` with the fd table `files(&stdio)`.
pub fn report_mapped(runner: Runner, files: impl FnOnce(&Stdio) -> Vec<RawFd>) -> Value {
    json(&run_mapped(runner, files).expect("start"))
}

/// The report's fd table: fd number → link target.
pub fn fd_links(report: &Value) -> BTreeMap<i32, String> {
    report["fds"]
        .as_object()
        .unwrap_or_else(|| panic!("no fds in {report}"))
        .iter()
        .map(|(k, v)| (k.parse().unwrap(), v.as_str().unwrap().to_string()))
        .collect()
}

/// What `/proc/self/fd/N` of this process links to.
pub fn own_link(fd: RawFd) -> String {
    std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .unwrap()
        .to_string_lossy()
        .to_string()
}

/// A close-on-exec duplicate of `fd` numbered `min` or above (the lowest free one).
pub fn dup_at_least(fd: RawFd, min: RawFd) -> OwnedFd {
    // SAFETY: F_DUPFD_CLOEXEC with an integer argument returns a fresh fd.
    support::owned(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, min) })
}

/// Whether `fd` is open in this process.
pub fn is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only queries the fd table.
    unsafe { libc::fcntl(fd, libc::F_GETFD) >= 0 }
}

/// An fd number that is not open in this process (and far above what tests use).
pub fn closed_fd() -> RawFd {
    (900..1000)
        .find(|&fd| !is_open(fd))
        .expect("a closed fd number")
}

/// A probe that would create `dir/ran` if it ever ran: proof that a failed start ran nothing.
pub fn canary(dir: &TempDir) -> (Runner, PathBuf) {
    let path = dir.join("ran");
    let runner = support::probe_runner(&["write", path.to_str().unwrap(), "ran"]);
    (runner, path)
}

#[track_caller]
pub fn assert_never_ran(path: &Path) {
    assert!(
        !path.exists(),
        "the target ran although the start failed: {} exists",
        path.display()
    );
}

/// Hands `spec` (encoded by the client, so valid) to the helper through the raw harness.
pub fn raw_spec(spec: &Spec) -> RawResult {
    support::raw(&spec.encode().expect("encodable spec"))
}

/// Runs `f` on a fresh thread and returns its result. Capabilities, the bounding set and
/// securebits are per thread and inherited by a child forked from that thread: a test that
/// changes them does so here, so the change dies with the thread.
pub fn on_fresh_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match std::thread::spawn(f).join() {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// `prctl(option, arg)` on the calling thread.
pub fn prctl(option: libc::c_int, arg: libc::c_ulong) {
    // SAFETY: the prctl options used here take integer arguments only.
    let r = unsafe { libc::prctl(option, arg, 0, 0, 0) };
    assert_eq!(
        r,
        0,
        "prctl({option}, {arg}): {}",
        std::io::Error::last_os_error()
    );
}

pub mod bpf {
    //! Classic BPF for seccomp, the few instructions the tests need.
    use forkexec_client::SockFilter;

    pub const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    pub const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    pub const RET_K: u16 = 0x06; // BPF_RET | BPF_K
    pub const RET_ALLOW: u32 = 0x7fff_0000;
    pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
    pub const RET_ERRNO: u32 = 0x0005_0000;
    /// `seccomp_data.nr` and `.arch`.
    pub const OFF_NR: u32 = 0;
    pub const OFF_ARCH: u32 = 4;
    pub const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;

    /// `action` for syscall `nr` on x86_64, everything else allowed.
    pub fn on_syscall(nr: i64, action: u32) -> Vec<SockFilter> {
        vec![
            SockFilter::stmt(LD_W_ABS, OFF_ARCH),
            SockFilter::jump(JEQ_K, AUDIT_ARCH_X86_64, 0, 3),
            SockFilter::stmt(LD_W_ABS, OFF_NR),
            SockFilter::jump(JEQ_K, nr as u32, 0, 1),
            SockFilter::stmt(RET_K, action),
            SockFilter::stmt(RET_K, RET_ALLOW),
        ]
    }
}

/// `getppid` fails with EPERM, everything else is allowed (x86_64 only).
pub fn getppid_eperm() -> Vec<SockFilter> {
    bpf::on_syscall(libc::SYS_getppid, bpf::RET_ERRNO | libc::EPERM as u32)
}

/// Whether the seccomp tests' programs (which check for the x86_64 audit arch) apply here.
pub fn seccomp_arch_ok() -> bool {
    if cfg!(target_arch = "x86_64") {
        true
    } else {
        crate::skip::record(
            crate::skip::Kind::Env,
            "the seccomp programs in these tests are written for x86_64",
        );
        false
    }
}

/// The test process's hard limit for `resource`.
pub fn hard_limit(resource: libc::__rlimit_resource_t) -> u64 {
    let mut lim = libc::rlimit64 {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit64 fills a struct we own.
    assert_eq!(unsafe { libc::getrlimit64(resource, &mut lim) }, 0);
    lim.rlim_max
}

/// The highest fd number (exclusive) a raw-spec test may name as "not open in the helper":
/// near this process's soft RLIMIT_NOFILE (which the helper inherits, so every number a test
/// uses stays valid for dup3) and within the FILES table limit, far above any fd this test
/// process — and so the raw helper's spec socket, numbered as here — ever reaches.
pub fn unopened_fd_ceiling() -> i32 {
    let mut lim = libc::rlimit64 {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit64 fills a struct we own.
    assert_eq!(
        unsafe { libc::getrlimit64(libc::RLIMIT_NOFILE, &mut lim) },
        0
    );
    let top = lim.rlim_cur.min(4096) as i32;
    assert!(
        top >= 512,
        "RLIMIT_NOFILE {} is too low for these tests",
        lim.rlim_cur
    );
    top
}

/// The state letter of `/proc/<pid>/stat` (R, S, T, t, Z…).
pub fn proc_state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let (_, rest) = stat.rsplit_once(')').unwrap();
    rest.trim_start().chars().next().unwrap()
}

/// The helper binary's canonical path, as `/proc/<pid>/exe` shows it.
pub fn helper_exe() -> PathBuf {
    std::fs::canonicalize(support::helper()).unwrap()
}

/// `pid` has not executed the target yet: it is still the helper (its `comm`). It is also
/// non-dumpable until then (docs/chain.md), so its `/proc/<pid>/exe` shows the helper binary
/// to root only; an unprivileged runtime (no CAP_SYS_PTRACE) is refused with EACCES.
#[track_caller]
pub fn assert_still_the_helper(pid: u32) {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    let name = support::helper()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_eq!(comm.trim_end(), &name[..name.len().min(15)]);
    match std::fs::read_link(format!("/proc/{pid}/exe")) {
        Ok(exe) => {
            assert!(
                support::is_root(),
                "an unprivileged runtime read the exe link"
            );
            assert_eq!(exe, helper_exe());
        }
        Err(e) => {
            assert!(!support::is_root(), "{e}");
            assert_eq!(e.raw_os_error(), Some(libc::EACCES), "{e}");
        }
    }
}

/// `ptrace(PTRACE_CONT, pid, 0, 0)` from the calling (tracer) thread.
#[track_caller]
pub fn ptrace_cont(pid: u32) {
    // SAFETY: PTRACE_CONT with null addr and data (no signal delivered).
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_CONT,
            pid as libc::pid_t,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
        )
    };
    assert_eq!(r, 0, "PTRACE_CONT: {}", std::io::Error::last_os_error());
}
