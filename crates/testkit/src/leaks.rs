//! The leak checks the suites share: each takes a snapshot, and `check` says what changed.
//! `crates/client/tests/leaks.rs` plants every leak named here (docs/testing.md, "What each
//! check proves") and shows the check fail on it, next to a control that passes.
//!
//! - [`Fds`]: the runtime's own fd table.
//! - [`Descendants`]: every process descended from this one, orphans included: the process
//!   becomes a child subreaper, so what a target leaves running is reparented here instead of
//!   escaping to pid 1 (a check of direct children alone misses a grandchild).
//! - [`Mounts`]: the calling thread's mount table (sorted lines without mount ids). Only a
//!   sandbox whose mount namespace shares a peer group with it can leak into it: a new mount
//!   namespace owned by a new user namespace never propagates back (its shared mounts become
//!   slaves), so this check proves something only for root's spawns without a user namespace
//!   ([`SharedScratch`] makes such a peer group). [`Mounts::of_sandboxes`] looks only where a
//!   sandbox of this process could have left one (its scratch directories: every pivot_root
//!   directory of the suites is one), so that a host mount appearing elsewhere meanwhile
//!   (tracefs, automounted on /sys/kernel/tracing when something looks there) is no leak.
//! - [`cgroup_left`]: a cgroup every target ran in is empty, has no child, and is removable.
//! - [`only_std_fds`]: the target (the probe's `report`) had fds 0, 1 and 2 and nothing else.

use std::ffi::CString;
use std::fs;
use std::path::{Path, PathBuf};

use forkexec_client::{Error, Runner, ServedProcess};
use serde_json::Value;

/// The calling process's open fds as `N -> target`, sorted, without the listing's own fd of
/// `/proc/self/fd`: its number is the lowest free one, which moves when another thread's fd
/// comes and goes meanwhile (seen as "opened 3, closed 4" with nothing leaked).
pub fn open_fds() -> Vec<String> {
    let listing = PathBuf::from(format!("/proc/{}/fd", std::process::id()));
    let mut fds: Vec<String> = fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let link = fs::read_link(e.path()).ok()?;
            if link == listing {
                return None;
            }
            Some(format!(
                "{} -> {}",
                e.file_name().to_string_lossy(),
                link.display()
            ))
        })
        .collect();
    fds.sort();
    fds
}

/// A snapshot of this process's fd table.
pub struct Fds(Vec<String>);

impl Fds {
    pub fn take() -> Fds {
        Fds(open_fds())
    }

    /// Err naming the fds opened (or closed) since the snapshot.
    pub fn check(&self) -> Result<(), String> {
        let now = open_fds();
        let new: Vec<_> = now.iter().filter(|f| !self.0.contains(f)).collect();
        let gone: Vec<_> = self.0.iter().filter(|f| !now.contains(f)).collect();
        if new.is_empty() && gone.is_empty() {
            Ok(())
        } else {
            Err(format!("fds opened: {new:?}, closed: {gone:?}"))
        }
    }
}

/// Makes this process a child subreaper (PR_SET_CHILD_SUBREAPER): orphans of its descendants
/// are reparented to it, so [`Descendants`] sees them. Idempotent.
pub fn become_subreaper() {
    // SAFETY: prctl with integer arguments.
    let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(
        r,
        0,
        "PR_SET_CHILD_SUBREAPER: {}",
        std::io::Error::last_os_error()
    );
}

/// `(pid, ppid, state, comm)` of every process in /proc.
fn processes() -> Vec<(u32, u32, char, String)> {
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces and parentheses.
        let Some((head, tail)) = stat.rsplit_once(')') else {
            continue;
        };
        let comm = head.split_once('(').map(|x| x.1).unwrap_or("").to_string();
        let mut f = tail.split_whitespace();
        let state = f.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid = f.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        out.push((pid, ppid, state, comm));
    }
    out
}

/// Every process descended from `root` (children, their children, ...), as `pid comm state`.
pub fn descendants_of(root: u32) -> Vec<String> {
    let all = processes();
    let mut found = vec![root];
    let mut out = Vec::new();
    let mut grew = true;
    while grew {
        grew = false;
        for (pid, ppid, state, comm) in &all {
            if found.contains(ppid) && !found.contains(pid) {
                found.push(*pid);
                out.push(format!("{pid} {comm} {state}"));
                grew = true;
            }
        }
    }
    out.sort();
    out
}

/// Checks that nothing this process started is left: no descendant process (running or a
/// zombie), orphans included once [`become_subreaper`] was called.
pub struct Descendants;

impl Descendants {
    /// Makes this process a subreaper and checks that nothing is left now.
    pub fn take() -> Descendants {
        become_subreaper();
        let d = Descendants;
        if let Err(e) = d.check() {
            panic!("before the test: {e}");
        }
        d
    }

    pub fn check(&self) -> Result<(), String> {
        let left = descendants_of(std::process::id());
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("processes left: {left:?}"))
        }
    }

    /// Kills and reaps whatever [`Self::check`] found (a planted leak's cleanup).
    pub fn kill_all(&self) {
        for line in descendants_of(std::process::id()) {
            let pid: i32 = line.split(' ').next().unwrap().parse().unwrap();
            // SAFETY: kill with a pid and a signal.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        // SAFETY: waitpid with a null status pointer, until no child is left.
        while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::__WALL) } > 0 {}
    }
}

/// The calling thread's mount table: each line without its mount and parent ids, sorted.
pub fn mount_table() -> Vec<String> {
    let mut v: Vec<String> = fs::read_to_string("/proc/thread-self/mountinfo")
        .unwrap()
        .lines()
        .map(|l| l.splitn(3, ' ').nth(2).unwrap_or("").to_string())
        .collect();
    v.sort();
    v
}

/// Whether a [`mount_table`] line's mount point is one of this process's scratch directories
/// ([`crate::support::scratch_dir`]) or under one.
fn in_scratch_dir(line: &str) -> bool {
    let Some(point) = line.split(' ').nth(2) else {
        return false;
    };
    let base = std::env::temp_dir();
    let Ok(rest) = Path::new(point).strip_prefix(&base) else {
        return false;
    };
    let first = rest.components().next();
    let name = first.map_or(String::new(), |c| {
        c.as_os_str().to_string_lossy().into_owned()
    });
    // forkexec-test-TAG-PID-N (TAG may hold dashes).
    let mut parts = name.rsplitn(3, '-');
    let (_n, pid) = (parts.next(), parts.next());
    name.starts_with("forkexec-test-") && pid == Some(&std::process::id().to_string())
}

/// A snapshot of the calling thread's mount table (or of its sandbox part).
pub struct Mounts(Vec<String>, bool);

impl Mounts {
    pub fn take() -> Mounts {
        Mounts(mount_table(), false)
    }

    /// Only the mounts on or under this process's scratch directories: where a mount that
    /// escaped one of its sandboxes would show.
    pub fn of_sandboxes() -> Mounts {
        Mounts(Self::sandboxes_now(), true)
    }

    fn sandboxes_now() -> Vec<String> {
        mount_table()
            .into_iter()
            .filter(|l| in_scratch_dir(l))
            .collect()
    }

    pub fn check(&self) -> Result<(), String> {
        let now = if self.1 {
            Self::sandboxes_now()
        } else {
            mount_table()
        };
        let new: Vec<_> = now.iter().filter(|m| !self.0.contains(m)).collect();
        let gone: Vec<_> = self.0.iter().filter(|m| !now.contains(m)).collect();
        if new.is_empty() && gone.is_empty() {
            Ok(())
        } else {
            Err(format!("mounts added: {new:?}, removed: {gone:?}"))
        }
    }
}

fn cstr(p: &Path) -> CString {
    CString::new(p.as_os_str().as_encoded_bytes()).unwrap()
}

fn check_os(what: &str, r: libc::c_int) {
    assert!(r == 0, "{what}: {}", std::io::Error::last_os_error());
}

/// A shared peer group to leak into (root only), made in the *calling thread's* own mount
/// namespace so the host's mount table is never touched: the thread unshares its mount
/// namespace, makes everything in it private, mounts a tmpfs on `dir` and makes that shared.
/// A process the thread starts (fork copies the thread's namespaces) that makes a new mount
/// namespace without a new user namespace holds `dir` in the same peer group: a mount it
/// makes under `dir` shows here unless it made its mounts private first.
/// Call it on a thread of its own; the namespace goes when the thread ends.
pub struct SharedScratch {
    pub dir: PathBuf,
}

impl SharedScratch {
    pub fn new(dir: PathBuf) -> SharedScratch {
        fs::create_dir_all(&dir).unwrap();
        let d = cstr(&dir);
        // SAFETY: unshare and mount with NUL-terminated paths we own, on this thread only.
        unsafe {
            check_os("unshare(CLONE_NEWNS)", libc::unshare(libc::CLONE_NEWNS));
            check_os(
                "make / private",
                libc::mount(
                    c"none".as_ptr(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ),
            );
            check_os(
                "mount tmpfs",
                libc::mount(
                    c"tmpfs".as_ptr(),
                    d.as_ptr(),
                    c"tmpfs".as_ptr(),
                    0,
                    c"size=1m".as_ptr().cast(),
                ),
            );
            check_os(
                "make shared",
                libc::mount(
                    c"none".as_ptr(),
                    d.as_ptr(),
                    std::ptr::null(),
                    libc::MS_SHARED,
                    std::ptr::null(),
                ),
            );
        }
        SharedScratch { dir }
    }
}

impl Drop for SharedScratch {
    fn drop(&mut self) {
        let d = cstr(&self.dir);
        // SAFETY: umount2 with a path we own; MNT_DETACH takes whatever was mounted below.
        unsafe { libc::umount2(d.as_ptr(), libc::MNT_DETACH) };
    }
}

/// A cgroup every target ran in is left empty (its processes may take a moment to leave after
/// they were reaped: polled for up to 2 s), with no child cgroup, and removable (it is
/// removed).
pub fn cgroup_left(dir: &Path) -> Result<(), String> {
    let procs = || fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
    let mut tries = 0;
    while !procs().is_empty() && tries < 200 {
        std::thread::sleep(std::time::Duration::from_millis(10));
        tries += 1;
    }
    if !procs().is_empty() {
        return Err(format!("left in the cgroup: {}", procs().trim()));
    }
    let children: Vec<_> = fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.path())
        .collect();
    if !children.is_empty() {
        return Err(format!("cgroups left: {children:?}"));
    }
    fs::remove_dir(dir).map_err(|e| format!("cannot remove {}: {e}", dir.display()))
}

/// The probe's `report` shows fds 0, 1 and 2 and nothing else.
pub fn only_std_fds(report: &Value) -> Result<(), String> {
    let fds: Vec<&String> = report["fds"]
        .as_object()
        .ok_or_else(|| format!("no fds in {report}"))?
        .keys()
        .collect();
    if fds == ["0", "1", "2"] {
        Ok(())
    } else {
        Err(format!("the target had fds {fds:?}: {}", report["fds"]))
    }
}

/// A seccomp program that makes syscall `nr` a no-op returning 0 (SECCOMP_RET_ERRNO with errno
/// 0: the call is not made), optionally only when its argument `arg` (low 32 bits) equals
/// `value`; everything else is allowed. x86_64 only (other architectures are let through).
pub fn noop_filter(nr: i64, arg: Option<(u32, u32)>) -> Vec<libc::sock_filter> {
    const LD: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const RET: u16 = 0x06; // BPF_RET | BPF_K
    let stmt = |code, k| libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |code, k, jt, jf| libc::sock_filter { code, jt, jf, k };
    let mut p = vec![
        stmt(LD, 4),                  // seccomp_data.arch
        jump(JEQ, 0xC000_003E, 0, 5), // AUDIT_ARCH_X86_64, else allow
        stmt(LD, 0),                  // seccomp_data.nr
        jump(JEQ, nr as u32, 0, 3),   // not nr: allow
    ];
    match arg {
        Some((i, v)) => {
            p.push(stmt(LD, 16 + 8 * i)); // seccomp_data.args[i], low half
            p.push(jump(JEQ, v, 0, 1));
        }
        None => {
            p[3].jf = 1;
        }
    }
    if arg.is_none() {
        p[1].jf = 3;
    }
    p.push(stmt(RET, 0x0005_0000)); // SECCOMP_RET_ERRNO | 0: skipped, returns 0
    p.push(stmt(RET, 0x7fff_0000)); // SECCOMP_RET_ALLOW
    p
}

/// Installs `filter` on the calling process (no_new_privs first, as an unprivileged process
/// must). For a `pre_exec` hook: the helper started after it runs under the filter.
///
/// # Safety
/// Async-signal-safe: only prctl calls; call between fork and exec.
pub unsafe fn install_filter(filter: &[libc::sock_filter]) -> std::io::Result<()> {
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
        || libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &prog) != 0
    {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Runs `f` on a thread of its own inside a [`SharedScratch`] made under `dir` (root only),
/// handing it the shared directory: pivot_root directories and bind sources made there are in
/// a peer group a sandbox's mounts would propagate into without the helper's MS_PRIVATE step.
pub fn in_shared_peer_group<T: Send + 'static>(
    dir: PathBuf,
    f: impl FnOnce(&Path) -> T + Send + 'static,
) -> T {
    std::thread::spawn(move || {
        let shared = SharedScratch::new(dir);
        f(&shared.dir)
    })
    .join()
    .unwrap_or_else(|e| std::panic::resume_unwind(e))
}

/// `runner` without its user namespace and id maps (root's sandboxes: a mount namespace with
/// no new user namespace stays in its parent's peer groups until the helper makes it private).
pub fn without_user_ns(mut runner: forkexec_client::Runner) -> forkexec_client::Runner {
    runner
        .spec
        .clone_flags
        .retain(|f| *f != forkexec_client::Namespace::NewUser);
    runner.spec.uid_mappings.clear();
    runner.spec.gid_mappings.clear();
    runner
}

/// Run `i` of a 10,000-run leak test (crates/client/tests/server_leaks.rs, pool_leaks.rs):
/// every 100th runs the shell script `daemon` (which leaves a process running), every 10th
/// (5, 15, …) fails to exec, the others run /bin/true; fds 0, 1 and 2 are `null`.
pub fn mixed_run(i: usize, daemon: &str, null: std::os::fd::RawFd) -> Runner {
    match i % 100 {
        0 => Runner::new(["/bin/sh", "-c", daemon]),
        n if n % 10 == 5 => Runner::new(["/nonexistent"]),
        _ => Runner::new(["/bin/true"]),
    }
    .files([null, null, null])
}

/// How run `i` of [`mixed_run`] must go: started and exit 0, or (every 10th) refused.
pub fn check_mixed_run(i: usize, started: Result<ServedProcess, Error>) {
    match started {
        Ok(mut run) => assert!(run.wait().unwrap().success(), "run {i}"),
        Err(e) => assert!(i % 10 == 5, "run {i}: {e}"),
    }
}

/// As root with a cgroup v2 hierarchy: a new cgroup for a leak test's runs (`TAG-PID`),
/// checked and removed with [`cgroup_left`]; `None` otherwise.
pub fn v2_test_cgroup(tag: &str) -> Option<PathBuf> {
    crate::cgroup::v2()
        .filter(|_| crate::support::is_root())
        .and_then(|base| {
            let dir = base.join(format!("{tag}-{}", std::process::id()));
            fs::create_dir(&dir).ok().map(|()| dir)
        })
}
