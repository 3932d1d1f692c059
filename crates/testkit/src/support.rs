//! Shared harness for the integration tests: they spawn the real static helper through the
//! client and look at what the target (`forkexec-probe`) sees from inside.
//!
//! - [`probe`] / [`probe_runner`]: the probe binary and a Runner that runs it.
//! - [`run`]: start a Runner with stdout/stderr captured, wait, return both and the status.
//! - [`report`]: run `forkexec-probe report` and parse its JSON.
//! - [`sandbox_root`]: a pivot_root sandbox with the host's /usr, /bin, /lib, /lib64 and the
//!   probe bound read-only, enough for the dynamically linked probe and /bin/sh.
//! - [`raw`]: hand the helper raw spec bytes (bypassing the client's checks) and collect
//!   every status record, to test the helper's own validation.
//! - [`static_probe`] / [`static_root`]: the static escape probe
//!   (`crates/probe/static/escape-probe.c`) and a sandbox that holds nothing else.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;

use forkexec_client::{find_helper, Error, Mount, Namespace, Runner, WaitStatus};
use forkexec_spec::status::{Record, RECORD_LEN};
use serde_json::Value;

/// The probe: `FORKEXEC_PROBE`, else `forkexec-probe` in the target directory next to the
/// test binary (`target/<profile>/deps/..`).
pub fn probe() -> PathBuf {
    if let Some(p) = std::env::var_os("FORKEXEC_PROBE") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    for dir in [deps, deps.parent().unwrap()] {
        let p = dir.join("forkexec-probe");
        if p.is_file() {
            return p;
        }
    }
    panic!("forkexec-probe not found next to {}; build it (cargo build -p forkexec-probe) or set FORKEXEC_PROBE", exe.display());
}

pub fn helper() -> PathBuf {
    find_helper().expect("the forkexec helper (set FORKEXEC_HELPER)")
}

pub fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

pub fn euid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

pub fn egid() -> u32 {
    // SAFETY: getegid cannot fail.
    unsafe { libc::getegid() }
}

/// A Runner for `forkexec-probe ARGS…`.
pub fn probe_runner(args: &[&str]) -> Runner {
    let probe = probe();
    let mut argv = vec![probe.to_string_lossy().to_string()];
    argv.extend(args.iter().map(|s| s.to_string()));
    Runner::new(argv)
}

/// What a run produced.
#[derive(Debug)]
pub struct Output {
    pub status: WaitStatus,
    pub stdout: String,
    pub stderr: String,
    pub pid: u32,
}

/// A pipe as (read end, write end), both close-on-exec.
pub fn pipe() -> (File, File) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two fds we then own.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: fresh fds, owned by nobody else.
    unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) }
}

/// Starts `runner` with fd 0 = /dev/null, 1 and 2 captured (unless `files` is already set,
/// in which case fds 1 and 2 of the target are whatever the caller mapped), waits for it.
pub fn run(mut runner: Runner) -> Result<Output, Error> {
    let devnull = File::open("/dev/null").unwrap();
    let (mut out_r, out_w) = pipe();
    let (mut err_r, err_w) = pipe();
    if runner.spec.files.is_empty() {
        runner.spec.files = vec![devnull.as_raw_fd(), out_w.as_raw_fd(), err_w.as_raw_fd()];
    }
    let started = runner.start();
    drop(out_w);
    drop(err_w);
    let mut p = started?;
    let (mut stdout, mut stderr) = (String::new(), String::new());
    out_r.read_to_string(&mut stdout).unwrap();
    err_r.read_to_string(&mut stderr).unwrap();
    let status = p.wait().unwrap();
    Ok(Output {
        status,
        stdout,
        stderr,
        pid: p.pid(),
    })
}

/// Runs `forkexec-probe report` (the Runner's args are replaced) and returns its JSON.
pub fn report(mut runner: Runner) -> Value {
    if runner.spec.args.len() < 2 {
        let probe = runner
            .spec
            .args
            .first()
            .cloned()
            .unwrap_or_else(|| probe().to_string_lossy().to_string());
        runner.spec.args = vec![probe, "report".into()];
    }
    let out = run(runner).expect("start");
    assert!(
        out.status.success(),
        "probe failed: {} stderr: {}",
        out.status,
        out.stderr
    );
    serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

/// Path of the probe inside [`sandbox_root`].
pub const PROBE_IN_ROOT: &str = "/probe";

/// `forkexec-run` flags (native and `--bwrap` alike) for uid and gid 0 of a new user
/// namespace keeping every capability: its root, which may set the namespace's own limits.
pub const USERNS_ROOT_ALL_CAPS: [&str; 7] = [
    "--unshare-user",
    "--uid",
    "0",
    "--gid",
    "0",
    "--cap-add",
    "ALL",
];

/// A scratch directory for pivot_root, unique per call, removed by the caller if wanted.
pub fn scratch_dir(tag: &str) -> PathBuf {
    loop {
        let dir = std::env::temp_dir().join(format!(
            "forkexec-test-{}-{}-{}",
            tag,
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        // Never a directory that exists: one left by an earlier process with this pid may
        // belong to another user (the suite runs as root and as an ordinary user).
        match std::fs::create_dir(&dir) {
            Ok(()) => return dir,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("creating {}: {e}", dir.display()),
        }
    }
}

/// Removes a scratch tree, first making its directories searchable and writable again when
/// it cannot: overlayfs leaves its work directory's `work` subdirectory mode 0000.
pub fn remove_tree(path: &Path) {
    if std::fs::remove_dir_all(path).is_ok() || !path.exists() {
        return;
    }
    fn open_up(p: &Path) {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::symlink_metadata(p) else {
            return;
        };
        if !meta.is_dir() {
            return;
        }
        let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o700));
        if let Ok(entries) = std::fs::read_dir(p) {
            for e in entries.flatten() {
                open_up(&e.path());
            }
        }
    }
    open_up(path);
    let _ = std::fs::remove_dir_all(path);
}

/// A copy of the probe in a directory of its own, both readable and executable by every uid
/// (a target run as host uid 65534 may not reach a checkout under /root, and a Landlock rule
/// can allow just this directory); made once per test process and removed at exit.
pub fn probe_copy() -> PathBuf {
    static COPY: OnceLock<PathBuf> = OnceLock::new();
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    extern "C" fn remove_dir() {
        if let Some(dir) = DIR.get() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    COPY.get_or_init(|| {
        use std::os::unix::fs::PermissionsExt;
        let dir = DIR.get_or_init(|| scratch_dir("probe-copy"));
        // SAFETY: registers a plain function with no arguments.
        unsafe { libc::atexit(remove_dir) };
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let copy = dir.join("forkexec-probe");
        std::fs::copy(probe(), &copy).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
        copy
    })
    .clone()
}
static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A Runner for the probe inside a new user + mount namespace (its pivot_root directory is a
/// fresh [`scratch_dir`]: remove `spec.pivot_root` afterwards, e.g. with [`remove_root`]), pivot_root onto a tmpfs, with
/// the host's /usr, /bin, /lib, /lib64 (where present) and the probe bound read-only, and the
/// caller mapped to root (uid 0, gid 0) inside.
pub fn sandbox_root(args: &[&str]) -> Runner {
    let mut argv = vec![PROBE_IN_ROOT.to_string()];
    argv.extend(args.iter().map(|s| s.to_string()));
    let mut r = Runner::new(argv)
        .clone_flags([Namespace::NewUser, Namespace::NewNs])
        .uid_mappings([forkexec_client::IdMap {
            container_id: 0,
            host_id: euid(),
            size: 1,
        }])
        .gid_mappings([forkexec_client::IdMap {
            container_id: 0,
            host_id: egid(),
            size: 1,
        }])
        .pivot_root(scratch_dir("root").to_string_lossy().to_string());
    for dir in ["/usr", "/bin", "/lib", "/lib64"] {
        if Path::new(dir).exists() {
            r = r.mount(Mount::bind(dir, dir, true));
        }
    }
    r.mount(Mount::bind(
        probe().to_string_lossy().to_string(),
        PROBE_IN_ROOT,
        true,
    ))
}

/// Removes its paths (recursively) when dropped, so no test leaves a directory behind, even
/// when it fails.
#[derive(Default)]
pub struct Cleanup(Vec<PathBuf>);

impl Cleanup {
    /// A fresh scratch directory, removed with the guard.
    pub fn dir(&mut self, tag: &str) -> PathBuf {
        let d = scratch_dir(tag);
        self.0.push(d.clone());
        d
    }
    pub fn add(&mut self, p: impl Into<PathBuf>) {
        self.0.push(p.into());
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for p in &self.0 {
            remove_tree(p);
        }
    }
}

/// [`sandbox_root`] with its pivot_root directory registered for removal.
pub fn in_root(c: &mut Cleanup, args: &[&str]) -> Runner {
    let r = sandbox_root(args);
    c.add(&r.spec.pivot_root);
    r
}

/// A pooled sandbox's shape (crates/client/tests/pool.rs, pool_leaks.rs): [`in_root`] with
/// new user, mount, pid and ipc namespaces and a /dev.
pub fn pool_shape(c: &mut Cleanup) -> Runner {
    let mut runner = in_root(c, &[]);
    runner.spec.clone_flags = vec![
        Namespace::NewUser,
        Namespace::NewNs,
        Namespace::NewPid,
        Namespace::NewIpc,
    ];
    runner.mount(forkexec_client::MountOp::dev("/dev"))
}

/// Removes the (empty) pivot_root directory of a [`sandbox_root`] runner.
pub fn remove_root(pivot_root: &str) {
    let _ = std::fs::remove_dir(pivot_root);
}

/// What the helper said about raw spec bytes.
#[derive(Debug)]
pub struct RawResult {
    pub records: Vec<Record>,
    pub status: ExitStatus,
    pub stderr: String,
}

/// Spawns the helper with `--spec-fd` on a socketpair, writes `bytes`, half-closes our side
/// (so a truncated spec reaches EOF), collects records until EOF.
pub fn raw(bytes: &[u8]) -> RawResult {
    raw_with(bytes, |_| {})
}

/// [`raw`] with a hook to adjust the helper's Command (e.g. `process_group(0)`).
pub fn raw_with(bytes: &[u8], adjust: impl FnOnce(&mut Command)) -> RawResult {
    raw_spawn(bytes, adjust, true)
}

/// [`raw_with`] without the half-close after the spec: a sync answer never comes and never
/// reads as EOF, so a helper waiting for it blocks until it is killed.
pub fn raw_open_with(bytes: &[u8], adjust: impl FnOnce(&mut Command)) -> RawResult {
    raw_spawn(bytes, adjust, false)
}

fn raw_spawn(bytes: &[u8], adjust: impl FnOnce(&mut Command), half_close: bool) -> RawResult {
    spawn_helper(&helper(), bytes, adjust, half_close)
}

/// [`raw_with`] for the helper binary at `helper` (e.g. a copy installed setuid).
pub fn raw_helper(helper: &Path, bytes: &[u8], adjust: impl FnOnce(&mut Command)) -> RawResult {
    spawn_helper(helper, bytes, adjust, true)
}

fn spawn_helper(
    helper: &Path,
    bytes: &[u8],
    adjust: impl FnOnce(&mut Command),
    half_close: bool,
) -> RawResult {
    let (mut ours, theirs) = UnixStream::pair().unwrap();
    let fd = theirs.as_raw_fd();
    let mut cmd = Command::new(helper);
    cmd.arg("--spec-fd")
        .arg(fd.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    adjust(&mut cmd);
    // SAFETY: only fcntl between fork and exec.
    unsafe {
        cmd.pre_exec(move || clear_cloexec(fd));
    }
    let mut child = spawn_retrying_etxtbsy(&mut cmd);
    drop(theirs);
    let _ = ours.write_all(bytes);
    if half_close {
        // A spec shorter than its header says then reads as EOF.
        let _ = ours.shutdown(std::net::Shutdown::Write);
    }
    let records = read_records(&mut ours);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    RawResult {
        records,
        status,
        stderr,
    }
}

pub fn read_records(r: &mut impl Read) -> Vec<Record> {
    let mut out = Vec::new();
    let mut buf = [0u8; RECORD_LEN];
    loop {
        let mut got = 0;
        while got < RECORD_LEN {
            match r.read(&mut buf[got..]) {
                Ok(0) => return out,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return out,
            }
        }
        out.push(Record::decode(&buf).expect("known record kind"));
    }
}

pub fn clear_cloexec(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: F_SETFD with an integer argument.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Asserts `r` failed with an error record at `location` (by name), `errno`, `index`.
#[track_caller]
pub fn assert_child_error<T: std::fmt::Debug>(
    r: Result<T, Error>,
    location: &str,
    errno: i32,
    index: u32,
) {
    match r {
        Err(Error::Child(e)) => {
            assert_eq!(
                (e.location().map(|l| l.name()), e.errno(), e.index()),
                (Some(location), errno, index),
                "got {e}"
            );
        }
        other => panic!("expected {location}({index}) errno {errno}, got {other:?}"),
    }
}

/// An owned fd from a raw one (for fds a test opened with libc).
pub fn owned(fd: RawFd) -> OwnedFd {
    assert!(fd >= 0, "{}", std::io::Error::last_os_error());
    // SAFETY: a fresh fd the caller hands over.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// The static escape probe: `FORKEXEC_STATIC_PROBE`, else `crates/probe/static/escape-probe.c`
/// (compiled into this test binary) built once per test process with `cc -static` (`CC`
/// overrides `cc`; the static libc comes with libc6-dev / glibc-static) in a scratch directory
/// removed at exit. Readable and executable by every uid, for targets run with a credential.
pub fn static_probe() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    extern "C" fn remove_dir() {
        if let Some(dir) = DIR.get() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    BUILT
        .get_or_init(|| {
            if let Some(p) = std::env::var_os("FORKEXEC_STATIC_PROBE") {
                return PathBuf::from(p);
            }
            let dir = DIR.get_or_init(|| scratch_dir("static-probe"));
            // SAFETY: registers a plain function with no arguments.
            unsafe { libc::atexit(remove_dir) };
            let src = dir.join("escape-probe.c");
            std::fs::write(&src, include_str!("../../probe/static/escape-probe.c")).unwrap();
            let exe = dir.join("escape-probe");
            let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
            let out = Command::new(&cc)
                .args(["-static", "-O1", "-o"])
                .arg(&exe)
                .arg(&src)
                .output()
                .unwrap_or_else(|e| panic!("{cc}: {e} (the escape tests build a static probe)"));
            assert!(
                out.status.success(),
                "{cc} -static failed (is the static libc installed? libc6-dev / glibc-static): {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let _ = std::fs::remove_file(&src);
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
            std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
            exe
        })
        .clone()
}

/// A Runner for the static probe (`escape-probe ARGS…`, at `/probe`) in a sandbox that holds
/// nothing but it: a new user and mount namespace mapping the caller to root (uid and gid 0),
/// pivot_root onto a tmpfs (a [`Cleanup`] scratch directory), the probe bound read-only.
pub fn static_root(c: &mut Cleanup, args: &[&str]) -> Runner {
    let mut argv = vec![PROBE_IN_ROOT.to_string()];
    argv.extend(args.iter().map(|s| s.to_string()));
    let root = c.dir("static-root");
    Runner::new(argv)
        .clone_flags([Namespace::NewUser, Namespace::NewNs])
        .uid_mappings([forkexec_client::IdMap {
            container_id: 0,
            host_id: euid(),
            size: 1,
        }])
        .gid_mappings([forkexec_client::IdMap {
            container_id: 0,
            host_id: egid(),
            size: 1,
        }])
        .pivot_root(root.to_string_lossy().to_string())
        .mount(Mount::bind(
            static_probe().to_string_lossy().to_string(),
            PROBE_IN_ROOT,
            true,
        ))
}

/// Runs `runner` (its stdout and stderr captured) and parses the JSON line the probe printed;
/// panics unless it exited 0.
#[track_caller]
pub fn run_json(runner: Runner) -> Value {
    let out = run(runner).expect("start");
    assert!(
        out.status.success(),
        "{}: stdout {:?} stderr {:?}",
        out.status,
        out.stdout,
        out.stderr
    );
    serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {:?}", out.stdout))
}

/// Whether the file system holding `path` is mounted `nosuid` (set-id bits and file
/// capabilities are ignored there), e.g. a hardened /tmp.
pub fn on_nosuid_mount(path: &Path) -> bool {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: statvfs fills a struct we own; the path is NUL-terminated.
    assert_eq!(unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) }, 0);
    // SAFETY: filled by the successful call.
    unsafe { st.assume_init() }.f_flag & libc::ST_NOSUID != 0
}

/// `cmd.spawn()`, retried for a while on ETXTBSY: a test that has just copied an executable
/// (fs::copy keeps a write fd open) races every other test thread that forks meanwhile, whose
/// child holds that fd until its own exec. The helper retries its exec the same way.
pub fn spawn_retrying_etxtbsy(cmd: &mut Command) -> std::process::Child {
    let mut attempt = 0;
    loop {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && attempt < 100 => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            r => return r.unwrap(),
        }
    }
}
