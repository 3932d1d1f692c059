//! Scratch root filesystems for the rootfs scenarios (`tests/`): a directory holding nothing
//! but the static helper and the project's static probes (`probes/*.c`, compiled by
//! `build.rs` and embedded in the test binaries), and the sandboxes that pivot into it.
//!
//! - [`Rootfs`]: the scratch tree (`bin/forkexec`, `bin/rootfs-probe`, `bin/zombie-maker`,
//!   `bin/spawner`, an empty `etc/`) and an empty directory for `pivot_root`; removed on drop.
//! - [`in_rootfs`]: a Runner that pivots into a fresh tmpfs with the tree's `bin` and `etc`
//!   bound read-only, in new namespaces: as root a mount (and pid) namespace, as an ordinary
//!   user a user namespace too, mapping the caller to 0 (so uid 0 inside either way).
//! - [`run`] / [`Running`]: run to the end, or start and read the output line by line.
//! - [`Lines`]: the probes' "KEY FIELDS…" lines; [`records`]: the status records the spawner
//!   relays.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use forkexec_client::{find_helper, Error, IdMap, MountOp, Namespace, Process, Runner, WaitStatus};
use forkexec_spec::status::{Record, RECORD_LEN};

/// The probes, as built by `build.rs` (empty when the build could not compile them).
const PROBES: [(&str, &[u8]); 3] = [
    (
        "rootfs-probe",
        include_bytes!(concat!(env!("OUT_DIR"), "/rootfs-probe")),
    ),
    (
        "zombie-maker",
        include_bytes!(concat!(env!("OUT_DIR"), "/zombie-maker")),
    ),
    (
        "spawner",
        include_bytes!(concat!(env!("OUT_DIR"), "/spawner")),
    ),
];

/// Where the helper sits in every scratch root.
pub const HELPER_IN_ROOT: &str = "/bin/forkexec";
/// The report probe (`probes/rootfs-probe.c`).
pub const PROBE: &str = "/bin/rootfs-probe";
/// The init scenario's target (`probes/zombie-maker.c`).
pub const ZOMBIE_MAKER: &str = "/bin/zombie-maker";
/// The nesting scenario's runtime (`probes/spawner.c`).
pub const SPAWNER: &str = "/bin/spawner";

/// The helper binary the tests use: `FORKEXEC_HELPER`, else [`find_helper`]'s search.
pub fn helper() -> PathBuf {
    find_helper().expect("the forkexec helper (set FORKEXEC_HELPER to the built static helper)")
}

pub fn euid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

pub fn egid() -> u32 {
    // SAFETY: getegid cannot fail.
    unsafe { libc::getegid() }
}

pub fn is_root() -> bool {
    euid() == 0
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A scratch root file system on the host: `tree/` is its content, `root/` the empty
/// directory the helper mounts its tmpfs on for `pivot_root`. Removed on drop.
pub struct Rootfs {
    base: PathBuf,
}

impl Rootfs {
    /// `tree/bin` with the helper (a copy of [`helper`]) and the probes, and an empty
    /// `tree/etc`; nothing else from the host.
    pub fn new(tag: &str) -> Rootfs {
        let build_error = env!("ROOTFS_PROBES_BUILD_ERROR");
        assert!(
            build_error.is_empty(),
            "the rootfs probes were not built (needs cc and a static libc: libc6-dev / \
             glibc-static): {build_error}"
        );
        let base = std::env::temp_dir().join(format!(
            "forkexec-rootfs-{tag}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&base);
        let rootfs = Rootfs { base };
        for dir in ["tree/bin", "tree/etc", "root"] {
            std::fs::create_dir_all(rootfs.base.join(dir)).unwrap();
        }
        for dir in ["", "tree", "tree/bin", "tree/etc", "root"] {
            set_mode(&rootfs.base.join(dir), 0o755);
        }
        let helper = helper();
        let bytes = std::fs::read(&helper)
            .unwrap_or_else(|e| panic!("reading the helper {}: {e}", helper.display()));
        rootfs.add(HELPER_IN_ROOT, &bytes, 0o755);
        for (name, bytes) in PROBES {
            assert!(!bytes.is_empty(), "probe {name} is empty");
            rootfs.add(&format!("/bin/{name}"), bytes, 0o755);
        }
        rootfs
    }

    /// The content of the root file system on the host.
    pub fn tree(&self) -> PathBuf {
        self.base.join("tree")
    }

    /// The host path of `path` (absolute, as seen inside) in [`Rootfs::tree`].
    pub fn host(&self, path: &str) -> String {
        let rel = path.trim_start_matches('/');
        self.tree().join(rel).to_string_lossy().into_owned()
    }

    /// The empty directory for `pivot_root`.
    pub fn pivot_dir(&self) -> String {
        self.base.join("root").to_string_lossy().into_owned()
    }

    /// Writes a file into the tree (`path` as seen inside, e.g. `/etc/motd`).
    pub fn add(&self, path: &str, bytes: &[u8], mode: u32) {
        let host = PathBuf::from(self.host(path));
        std::fs::write(&host, bytes).unwrap();
        set_mode(&host, mode);
    }
}

impl Drop for Rootfs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// New namespaces for a sandbox that pivots: as root a mount namespace, plus `extra`; as an
/// ordinary user a user namespace too, with the caller mapped to uid and gid 0 (a mount
/// namespace needs it).
pub fn isolate(r: Runner, extra: &[Namespace]) -> Runner {
    let mut flags = vec![Namespace::NewNs];
    flags.extend_from_slice(extra);
    if is_root() {
        return r.clone_flags(flags);
    }
    flags.insert(0, Namespace::NewUser);
    r.clone_flags(flags)
        .uid_mappings([IdMap::new(0, euid(), 1)])
        .gid_mappings([IdMap::new(0, egid(), 1)])
}

/// A Runner for `args` in `rootfs`: pivot_root onto a tmpfs on [`Rootfs::pivot_dir`] with
/// the tree's `/bin` and `/etc` bound read-only (mount operations), and nothing else; in a
/// new mount namespace plus `extra` ([`isolate`]). The new root is read-only (the default).
pub fn in_rootfs(rootfs: &Rootfs, args: &[&str], extra: &[Namespace]) -> Runner {
    isolate(Runner::new(args.iter().copied()), extra)
        .pivot_root(rootfs.pivot_dir())
        .mount(MountOp::ro_bind(rootfs.host("/bin"), "/bin"))
        .mount(MountOp::ro_bind(rootfs.host("/etc"), "/etc"))
}

/// A pipe as (read end, write end), both close-on-exec.
pub fn pipe() -> (File, File) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two fds we then own.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: fresh fds, owned by nobody else.
    unsafe { (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1])) }
}

/// What a run produced.
#[derive(Debug)]
pub struct Output {
    pub status: WaitStatus,
    pub lines: Lines,
    pub stderr: String,
}

/// Starts `runner` with fd 0 = /dev/null and fds 1 and 2 captured, waits for the end.
pub fn run(runner: Runner) -> Result<Output, Error> {
    Running::start(runner)?.finish()
}

/// How long a sandbox may run before the watchdog kills it (a test then fails instead of
/// hanging).
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// A started sandbox whose stdout is read line by line. Killed (SIGKILL) and reaped on drop
/// unless [`Running::finish`] waited for it, and killed by a watchdog after [`TIMEOUT`].
pub struct Running {
    pub process: Process,
    out: BufReader<File>,
    err: File,
    seen: Vec<String>,
    done: bool,
    watchdog: Watchdog,
}

impl Running {
    pub fn start(mut runner: Runner) -> Result<Running, Error> {
        let devnull = File::open("/dev/null").unwrap();
        let (out_r, out_w) = pipe();
        let (err_r, err_w) = pipe();
        runner.spec.files = vec![devnull.as_raw_fd(), out_w.as_raw_fd(), err_w.as_raw_fd()];
        let started = runner.start();
        drop(out_w);
        drop(err_w);
        let process = started?;
        let watchdog = Watchdog::arm(&[process.pid(), process.target_pid()]);
        Ok(Running {
            process,
            out: BufReader::new(out_r),
            err: err_r,
            seen: Vec::new(),
            done: false,
            watchdog,
        })
    }

    /// Reads output lines until one equals `line` (true), or end of output (false).
    pub fn read_until(&mut self, line: &str) -> bool {
        loop {
            let mut l = String::new();
            if self.out.read_line(&mut l).unwrap() == 0 {
                return false;
            }
            let l = l.trim_end_matches('\n').to_owned();
            let found = l == line;
            self.seen.push(l);
            if found {
                return true;
            }
        }
    }

    /// The lines read so far.
    pub fn lines(&self) -> Lines {
        Lines(self.seen.clone())
    }

    /// Reads the rest of the output and waits for the end.
    pub fn finish(mut self) -> Result<Output, Error> {
        let mut rest = String::new();
        self.out.read_to_string(&mut rest).unwrap();
        self.seen.extend(rest.lines().map(str::to_owned));
        let mut stderr = String::new();
        self.err.read_to_string(&mut stderr).unwrap();
        let status = self.process.wait().map_err(Error::Helper)?;
        self.done = true;
        assert!(
            !self.watchdog.fired(),
            "the sandbox ran for more than {TIMEOUT:?} and was killed: {status}, output {:#?}, \
             stderr {stderr:?}",
            self.seen
        );
        Ok(Output {
            status,
            lines: Lines(std::mem::take(&mut self.seen)),
            stderr,
        })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.process.kill(libc::SIGKILL);
            let _ = self.process.wait();
        }
    }
}

/// Kills processes that outlive [`TIMEOUT`], through pidfds (opened right after the start), so
/// a reused pid is never hit.
struct Watchdog {
    cancel: Option<mpsc::Sender<()>>,
    fired: Arc<AtomicBool>,
}

impl Watchdog {
    fn arm(pids: &[u32]) -> Watchdog {
        let pidfds: Vec<OwnedFd> = pids.iter().filter_map(|&pid| pidfd_open(pid)).collect();
        let (cancel, cancelled) = mpsc::channel::<()>();
        let fired = Arc::new(AtomicBool::new(false));
        let flag = fired.clone();
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = cancelled.recv_timeout(TIMEOUT) {
                flag.store(true, Ordering::SeqCst);
                for fd in &pidfds {
                    // SAFETY: pidfd_send_signal on an fd we own, no siginfo.
                    unsafe {
                        libc::syscall(
                            libc::SYS_pidfd_send_signal,
                            fd.as_raw_fd(),
                            libc::SIGKILL,
                            std::ptr::null::<libc::siginfo_t>(),
                            0,
                        )
                    };
                }
            }
        });
        Watchdog {
            cancel: Some(cancel),
            fired,
        }
    }

    fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Some(c) = self.cancel.take() {
            let _ = c.send(());
        }
    }
}

fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    // SAFETY: pidfd_open returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    // SAFETY: a fresh fd we own.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// The probes' output: one fact per line, "KEY FIELD…".
#[derive(Clone, Debug, Default)]
pub struct Lines(pub Vec<String>);

impl Lines {
    /// The fields after `key` of every line that starts with it, in order.
    pub fn all(&self, key: &str) -> Vec<Vec<&str>> {
        self.0
            .iter()
            .filter_map(|l| {
                let mut words = l.split(' ');
                (words.next() == Some(key)).then(|| words.collect())
            })
            .collect()
    }

    /// The lines that start with the word `tag`, without it (a spawner's lines: "L1 record …").
    pub fn tagged(&self, tag: &str) -> Lines {
        let prefix = format!("{tag} ");
        Lines(
            self.0
                .iter()
                .filter_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
                .collect(),
        )
    }

    /// The fields after `key` of its only line.
    #[track_caller]
    pub fn one(&self, key: &str) -> Vec<&str> {
        let all = self.all(key);
        assert_eq!(all.len(), 1, "one {key:?} line expected in {self:#?}");
        all.into_iter().next().unwrap()
    }

    /// `key`'s only line as a number (the first field).
    #[track_caller]
    pub fn number(&self, key: &str) -> i64 {
        let v = self.one(key);
        v[0].parse().unwrap_or_else(|e| panic!("{key} {v:?}: {e}"))
    }

    /// The first field of every `key` line, as numbers.
    pub fn numbers(&self, key: &str) -> Vec<i64> {
        self.all(key)
            .iter()
            .map(|v| v[0].parse().unwrap_or_else(|e| panic!("{key} {v:?}: {e}")))
            .collect()
    }

    /// The names `ls DIR` printed, sorted.
    pub fn entries(&self, dir: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .all("entry")
            .into_iter()
            .filter(|v| v.len() == 2 && v[0] == dir)
            .map(|v| v[1].to_owned())
            .collect();
        names.sort();
        names
    }

    /// The mount points `mounts` printed, in mountinfo order.
    pub fn mount_points(&self) -> Vec<String> {
        self.mounts().into_iter().map(|m| m.point).collect()
    }

    /// Every `mount` line.
    pub fn mounts(&self) -> Vec<MountLine> {
        self.all("mount")
            .into_iter()
            .map(|v| {
                assert_eq!(v.len(), 4, "mount line {v:?}");
                MountLine {
                    point: v[0].to_owned(),
                    fstype: v[1].to_owned(),
                    options: v[2].split(',').map(str::to_owned).collect(),
                    source: v[3].to_owned(),
                }
            })
            .collect()
    }

    /// The mount at `point` (the last one, which is the visible one).
    #[track_caller]
    pub fn mount(&self, point: &str) -> MountLine {
        self.mounts()
            .into_iter()
            .rev()
            .find(|m| m.point == point)
            .unwrap_or_else(|| panic!("no mount at {point} in {self:#?}"))
    }

    /// What `read PATH` or `write PATH …` said: `Ok(text)` or `Err(errno)`.
    #[track_caller]
    pub fn file_op(&self, op: &str, path: &str) -> Result<String, i32> {
        let all: Vec<Vec<&str>> = self
            .all(op)
            .into_iter()
            .filter(|v| v.first() == Some(&path))
            .collect();
        assert_eq!(all.len(), 1, "one {op} {path} line expected in {self:#?}");
        match all[0].get(1..) {
            Some(["ok", text @ ..]) => Ok(text.join(" ")),
            Some(["errno", n]) => Err(n.parse().unwrap()),
            other => panic!("{op} {path}: {other:?}"),
        }
    }
}

/// One line of the probe's `mounts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountLine {
    pub point: String,
    pub fstype: String,
    /// Per-mount options (`ro`, `nosuid`, …).
    pub options: Vec<String>,
    pub source: String,
}

impl MountLine {
    pub fn read_only(&self) -> bool {
        self.options.iter().any(|o| o == "ro")
    }
    pub fn has(&self, option: &str) -> bool {
        self.options.iter().any(|o| o == option)
    }
}

/// The status records the spawner relayed (`record HEX` lines), in order.
pub fn records(lines: &Lines) -> Vec<Record> {
    lines
        .all("record")
        .into_iter()
        .map(|v| {
            let hex = v[0];
            assert_eq!(hex.len(), 2 * RECORD_LEN, "record {hex}");
            let mut b = [0u8; RECORD_LEN];
            for (i, byte) in b.iter_mut().enumerate() {
                *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
            }
            Record::decode(&b).unwrap_or_else(|| panic!("unknown record {hex}"))
        })
        .collect()
}

/// The host pids of `pid`'s children (`/proc/PID/task/*/children`), sorted.
pub fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        if let Ok(list) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(list.split_whitespace().map(|p| p.parse::<u32>().unwrap()));
        }
    }
    out.sort_unstable();
    out
}

/// A pidfd on the host's process `pid`, to tell later whether that very process has ended
/// (a pid may be reused, a pidfd never is).
pub struct Watched {
    pub pid: u32,
    fd: OwnedFd,
}

impl Watched {
    #[track_caller]
    pub fn new(pid: u32) -> Watched {
        let fd = pidfd_open(pid)
            .unwrap_or_else(|| panic!("pidfd_open({pid}): {}", std::io::Error::last_os_error()));
        Watched { pid, fd }
    }

    /// Whether the process has ended (a pidfd polls readable once it has exited).
    pub fn ended(&self) -> bool {
        let mut p = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd we own, no timeout.
        let n = unsafe { libc::poll(&mut p, 1, 0) };
        assert!(n >= 0, "{}", std::io::Error::last_os_error());
        n == 1
    }
}

/// [`Watched`] for each of `pids`.
pub fn watch(pids: &[u32]) -> Vec<Watched> {
    pids.iter().map(|&p| Watched::new(p)).collect()
}
