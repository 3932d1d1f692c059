//! `forkexec-run check`: what this host allows the current user, and for each "no", why and
//! the fix.
//!
//! Each answer comes from trying the thing itself wherever a read of a setting could mislead:
//! a forked child creates the user namespace (with its id maps and a capability check inside),
//! each other namespace, a seccomp filter, a Landlock domain, a tmpfs through the new mount
//! API; the parent writes a child's gid map as the helper would; `clone3` forks a child;
//! `openat2` opens `/`; a child cgroup is created and removed in the caller's own cgroup. The
//! settings (sysctls, mounts) are read to explain a "no" and to name the fix. The children
//! exit at once and leave nothing behind.
//!
//! [`Host`] holds the settings that [`crate::explain`] also uses to turn a failed start's
//! errno into an explanation.

use std::ffi::CString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

/// `forkexec-run check [--json]`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Print the answers as one JSON object (each answer: "ok", "summary", "why", "fix" and
    /// what was found) instead of text.
    #[arg(long)]
    pub json: bool,
}

/// One answer: a yes or a no, what was found, and for a no, why and the fix.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The JSON key, e.g. `user_namespaces`.
    pub key: &'static str,
    /// The text label, e.g. `user namespaces`.
    pub title: &'static str,
    pub ok: bool,
    pub summary: String,
    pub why: Option<String>,
    pub fix: Option<String>,
    /// What was found, for the JSON form.
    pub facts: Map<String, Value>,
}

impl Answer {
    fn yes(key: &'static str, title: &'static str, summary: impl Into<String>) -> Answer {
        Answer {
            key,
            title,
            ok: true,
            summary: summary.into(),
            why: None,
            fix: None,
            facts: Map::new(),
        }
    }

    fn no(
        key: &'static str,
        title: &'static str,
        summary: impl Into<String>,
        why: impl Into<String>,
        fix: impl Into<String>,
    ) -> Answer {
        Answer {
            ok: false,
            why: Some(why.into()),
            fix: Some(fix.into()),
            ..Answer::yes(key, title, summary)
        }
    }

    fn fact(mut self, key: &str, value: impl Into<Value>) -> Answer {
        self.facts.insert(key.to_string(), value.into());
        self
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("ok".into(), self.ok.into());
        m.insert("summary".into(), self.summary.clone().into());
        m.insert("why".into(), self.why.clone().into());
        m.insert("fix".into(), self.fix.clone().into());
        m.extend(self.facts.clone());
        Value::Object(m)
    }
}

// ---------------------------------------------------------------------------------------------
// The host's settings
// ---------------------------------------------------------------------------------------------

/// Settings read from /proc and /sys (no probing): what explains a refusal.
#[derive(Debug, Clone, Default)]
pub struct Host {
    pub euid: u32,
    pub egid: u32,
    /// `user.max_user_namespaces` (per user namespace; this process's).
    pub max_user_namespaces: Option<u64>,
    /// Debian's and older Ubuntu's `kernel.unprivileged_userns_clone` (absent elsewhere).
    pub unprivileged_userns_clone: Option<u64>,
    /// Ubuntu's `kernel.apparmor_restrict_unprivileged_userns` (absent elsewhere).
    pub apparmor_restrict_userns: Option<u64>,
}

/// A number in a /proc or /sys file.
pub fn read_number(path: &str) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

impl Host {
    pub fn read() -> Host {
        // SAFETY: geteuid/getegid cannot fail.
        let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
        Host {
            euid,
            egid,
            max_user_namespaces: read_number("/proc/sys/user/max_user_namespaces"),
            unprivileged_userns_clone: read_number("/proc/sys/kernel/unprivileged_userns_clone"),
            apparmor_restrict_userns: read_number(
                "/proc/sys/kernel/apparmor_restrict_unprivileged_userns",
            ),
        }
    }

    pub fn is_root(&self) -> bool {
        self.euid == 0
    }

    /// Why an ordinary user's user namespace is refused with `errno`, and the fix, judging
    /// by the settings; `None` when they do not explain it.
    pub fn userns_refusal(&self, errno: i32) -> Option<(String, String)> {
        let persist = "as root; a file in /etc/sysctl.d/ keeps it across reboots";
        if self.max_user_namespaces == Some(0) {
            return Some((
                "user.max_user_namespaces is 0: user namespaces are turned off for everyone".into(),
                format!("sysctl -w user.max_user_namespaces=15000 ({persist})"),
            ));
        }
        if errno == libc::ENOSPC {
            return Some((
                format!(
                    "the user namespace limit is reached: user.max_user_namespaces = {} \
                     (counted per user, in this namespace and every one above it)",
                    self.max_user_namespaces
                        .map_or("?".to_string(), |n| n.to_string())
                ),
                format!(
                    "raise it: sysctl -w user.max_user_namespaces=N ({persist}); or find \
                     what holds so many (lsns -t user)"
                ),
            ));
        }
        if errno == libc::EUSERS {
            return Some((
                "user namespaces nest at most 32 deep, and this one is at the limit".into(),
                "run from a less deeply nested sandbox".into(),
            ));
        }
        if errno == libc::EPERM && self.unprivileged_userns_clone == Some(0) {
            return Some((
                "kernel.unprivileged_userns_clone is 0: only root may create user namespaces"
                    .into(),
                format!("sysctl -w kernel.unprivileged_userns_clone=1 ({persist})"),
            ));
        }
        if self.apparmor_restrict_userns == Some(1) {
            return Some((
                "AppArmor restricts unprivileged user namespaces \
                 (kernel.apparmor_restrict_unprivileged_userns = 1): a program without an \
                 AppArmor profile that allows `userns` gets one without capabilities"
                    .into(),
                "as root, give the helper a profile: /etc/apparmor.d/forkexec with `abi \
                 <abi/4.0>, include <tunables/global> profile forkexec /PATH/TO/forkexec \
                 flags=(unconfined) { userns, }` then `apparmor_parser -r \
                 /etc/apparmor.d/forkexec`; or sysctl -w \
                 kernel.apparmor_restrict_unprivileged_userns=0"
                    .into(),
            ));
        }
        if errno == libc::EPERM && in_chroot() {
            return Some((
                "this process is in a chroot, and the kernel refuses user namespaces to a \
                 chrooted process"
                    .into(),
                "run outside the chroot (or in a mount namespace with pivot_root instead)".into(),
            ));
        }
        if errno == libc::EINVAL {
            return Some((
                "this kernel is built without user namespaces (CONFIG_USER_NS)".into(),
                "a kernel with CONFIG_USER_NS=y".into(),
            ));
        }
        if errno == libc::EPERM {
            return Some((
                "something above the kernel's own settings refuses it: a container's seccomp \
                 profile (Docker's default refuses unshare), or a Linux security module"
                    .into(),
                "run on the host, or in a container started with a seccomp profile that \
                 allows unshare and clone with namespace flags"
                    .into(),
            ));
        }
        None
    }
}

/// Whether this process's root is not the root of its mount namespace (a chroot).
fn in_chroot() -> bool {
    match (fs::metadata("/"), fs::metadata("/proc/1/root/.")) {
        (Ok(a), Ok(b)) => {
            use std::os::unix::fs::MetadataExt;
            (a.dev(), a.ino()) != (b.dev(), b.ino())
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Trying things in a child
// ---------------------------------------------------------------------------------------------

/// The errno of the last failed libc call.
fn errno() -> i32 {
    io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// `0` or the errno of a raw syscall's return value.
fn sys_result(r: libc::c_long) -> i32 {
    if r < 0 {
        errno()
    } else {
        0
    }
}

/// Runs `f` in a forked child and returns its two numbers (a step and an errno, by
/// convention). `f` runs in a copy of this process, which is single-threaded (forkexec-run
/// starts no threads), so it may allocate; the child exits right after it, running no
/// destructors.
fn in_child(f: impl FnOnce() -> (i32, i32)) -> io::Result<(i32, i32)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two-element array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let (r, w) = (fds[0], fds[1]);
    // SAFETY: fork in a single-threaded process (forkexec-run starts no threads); the child
    // makes only syscalls and leaves with _exit.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        let e = io::Error::last_os_error();
        // SAFETY: closing our own fds.
        unsafe {
            libc::close(r);
            libc::close(w);
        }
        return Err(e);
    }
    if pid == 0 {
        let (a, b) = f();
        let mut buf = [0u8; 8];
        buf[..4].copy_from_slice(&a.to_ne_bytes());
        buf[4..].copy_from_slice(&b.to_ne_bytes());
        // SAFETY: writing 8 bytes from a local buffer to the pipe, then leaving the child.
        unsafe {
            libc::write(w, buf.as_ptr().cast(), 8);
            libc::_exit(0);
        }
    }
    // SAFETY: closing our copy of the write end; reading into a local buffer.
    unsafe { libc::close(w) };
    let mut buf = [0u8; 8];
    let n = unsafe { libc::read(r, buf.as_mut_ptr().cast(), 8) };
    unsafe { libc::close(r) };
    let status = reap(pid)?;
    if n != 8 {
        return Err(io::Error::other(format!(
            "the probe process ended without an answer ({})",
            describe_status(status)
        )));
    }
    let a = i32::from_ne_bytes(buf[..4].try_into().unwrap());
    let b = i32::from_ne_bytes(buf[4..].try_into().unwrap());
    Ok((a, b))
}

/// Waits for our child `pid`; its raw wait status.
fn reap(pid: libc::pid_t) -> io::Result<i32> {
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child, status into a local.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return Ok(status);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

fn describe_status(status: i32) -> String {
    if libc::WIFSIGNALED(status) {
        format!("killed by signal {}", libc::WTERMSIG(status))
    } else {
        format!("exit status {}", libc::WEXITSTATUS(status))
    }
}

/// `strerror`-like text of an errno, lower case as the helper's errors print.
pub fn errno_text(errno: i32) -> String {
    let s = io::Error::from_raw_os_error(errno).to_string();
    let s = s.split(" (os error").next().unwrap_or(&s).to_string();
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect(),
        None => s,
    }
}

/// An errno as `NAME (text)`, e.g. `ENOSPC (no space left on device)`.
pub fn errno_name(errno: i32) -> String {
    let name = match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EACCES => "EACCES",
        libc::EINVAL => "EINVAL",
        libc::ENOSPC => "ENOSPC",
        libc::ENOSYS => "ENOSYS",
        libc::EUSERS => "EUSERS",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EBUSY => "EBUSY",
        libc::EROFS => "EROFS",
        libc::ENODEV => "ENODEV",
        libc::E2BIG => "E2BIG",
        _ => return format!("errno {errno} ({})", errno_text(errno)),
    };
    format!("{name} ({})", errno_text(errno))
}

/// Writes `text` to a /proc file of `pid` (`self` or a number); 0 or the errno.
fn write_proc(pid: &str, file: &str, text: &str) -> i32 {
    match fs::OpenOptions::new()
        .write(true)
        .open(format!("/proc/{pid}/{file}"))
        .and_then(|mut f| f.write_all(text.as_bytes()))
    {
        Ok(()) => 0,
        Err(e) => e.raw_os_error().unwrap_or(libc::EIO),
    }
}

/// In a child: a user namespace as the helper makes one for an ordinary user (unshare, then
/// setgroups "deny" and single-id maps written by the process itself), then a mount
/// namespace inside it, which needs the capabilities the new namespace should give.
/// `(0, 0)`, or the failed step (1 unshare, 2 setgroups, 3 uid_map, 4 gid_map, 5 capability
/// check) and its errno.
fn try_user_namespace(host: &Host) -> io::Result<(i32, i32)> {
    let (uid, gid) = (host.euid, host.egid);
    in_child(move || {
        // SAFETY: unshare in the probe child.
        if unsafe { libc::unshare(libc::CLONE_NEWUSER) } != 0 {
            return (1, errno());
        }
        for (step, file, text) in [
            (2, "setgroups", "deny".to_string()),
            (3, "uid_map", format!("0 {uid} 1")),
            (4, "gid_map", format!("0 {gid} 1")),
        ] {
            let e = write_proc("self", file, &text);
            if e != 0 {
                return (step, e);
            }
        }
        // SAFETY: as above.
        if unsafe { libc::unshare(libc::CLONE_NEWNS) } != 0 {
            return (5, errno());
        }
        (0, 0)
    })
}

/// The namespaces besides the user namespace, by flag name.
const NAMESPACES: [(&str, libc::c_int, &str); 7] = [
    ("mount", libc::CLONE_NEWNS, "mnt"),
    ("pid", libc::CLONE_NEWPID, "pid"),
    ("net", libc::CLONE_NEWNET, "net"),
    ("ipc", libc::CLONE_NEWIPC, "ipc"),
    ("uts", libc::CLONE_NEWUTS, "uts"),
    ("cgroup", libc::CLONE_NEWCGROUP, "cgroup"),
    ("time", libc::CLONE_NEWTIME, "time"),
];

/// In a child: `unshare(flag)`, inside a new user namespace unless root. `(0, 0)`, `(1, e)`
/// when the user namespace failed, `(2, e)` when the namespace did.
fn try_namespace(flag: libc::c_int, in_userns: bool) -> io::Result<(i32, i32)> {
    in_child(move || {
        // SAFETY: unshare in the probe child.
        if in_userns && unsafe { libc::unshare(libc::CLONE_NEWUSER) } != 0 {
            return (1, errno());
        }
        // SAFETY: as above.
        if unsafe { libc::unshare(flag) } != 0 {
            return (2, errno());
        }
        (0, 0)
    })
}

/// Whether a gid map written from outside, without setgroups "deny" first (so that
/// setgroups keeps working inside), is accepted for a child's new user namespace, as the
/// helper writes it for a supervised target; then whether setgroups works in there.
/// `(0, 0)`, `(1, e)` unshare failed, `(2, e)` the map was refused, `(3, e)` setgroups
/// failed.
fn try_setgroups(host: &Host) -> io::Result<(i32, i32)> {
    let mut up = [0; 2];
    let mut down = [0; 2];
    // SAFETY: pipe2 fills the arrays.
    unsafe {
        if libc::pipe2(up.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::pipe2(down.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            let e = io::Error::last_os_error();
            libc::close(up[0]);
            libc::close(up[1]);
            return Err(e);
        }
    }
    // SAFETY: fork in a single-threaded process; the child only makes syscalls.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: the child: unshare, report on `up`, wait for a byte on `down`, try
        // setgroups, report, leave.
        unsafe {
            let mut answer = [0i32; 2];
            if libc::unshare(libc::CLONE_NEWUSER) != 0 {
                answer = [1, errno()];
            }
            libc::write(up[1], answer.as_ptr().cast(), 8);
            if answer[0] == 0 {
                let mut b = 0u8;
                libc::read(down[0], (&mut b as *mut u8).cast(), 1);
                if b == 1 {
                    if libc::setgroups(0, std::ptr::null()) != 0 {
                        answer = [3, errno()];
                    }
                    libc::write(up[1], answer.as_ptr().cast(), 8);
                }
            }
            libc::_exit(0);
        }
    }
    // SAFETY: closing the child's ends in the parent.
    unsafe {
        libc::close(up[1]);
        libc::close(down[0]);
    }
    let read_answer = |fd: i32| -> Option<(i32, i32)> {
        let mut a = [0i32; 2];
        // SAFETY: reading 8 bytes into a local array.
        let n = unsafe { libc::read(fd, a.as_mut_ptr().cast(), 8) };
        (n == 8).then_some((a[0], a[1]))
    };
    let result = if pid < 0 {
        Err(io::Error::last_os_error())
    } else {
        match read_answer(up[0]) {
            Some((0, _)) => {
                let e = write_proc(&pid.to_string(), "gid_map", &format!("0 {} 1", host.egid));
                let go = if e == 0 { 1u8 } else { 0u8 };
                // SAFETY: one byte from a local to our end of the pipe.
                unsafe { libc::write(down[1], (&go as *const u8).cast(), 1) };
                if e != 0 {
                    Ok((2, e))
                } else {
                    read_answer(up[0]).ok_or_else(|| io::Error::other("no answer"))
                }
            }
            Some(failed) => Ok(failed),
            None => Err(io::Error::other(
                "the probe process ended without an answer",
            )),
        }
    };
    // SAFETY: closing our ends; the child exits once its pipe is closed or answered.
    unsafe {
        libc::close(down[1]);
        libc::close(up[0]);
    }
    if pid > 0 {
        reap(pid)?;
    }
    result
}

/// In a child: `no_new_privs` and a filter that allows everything. 0 or the errno.
fn try_seccomp() -> io::Result<i32> {
    in_child(|| {
        let allow = libc::sock_filter {
            code: (libc::BPF_RET | libc::BPF_K) as u16,
            jt: 0,
            jf: 0,
            k: libc::SECCOMP_RET_ALLOW,
        };
        let prog = libc::sock_fprog {
            len: 1,
            filter: &allow as *const _ as *mut _,
        };
        // SAFETY: prctl and seccomp in the probe child, with a one-instruction program that
        // lives on this stack for the call.
        unsafe {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return (1, errno());
            }
            let r = libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &prog as *const libc::sock_fprog,
            );
            (2, sys_result(r))
        }
    })
    .map(|(_, e)| e)
}

const LANDLOCK_CREATE_RULESET_VERSION: u32 = 1;
const LANDLOCK_ACCESS_FS_EXECUTE: u64 = 1;

/// Landlock's ABI version (`Ok(n)`), or the errno of the query.
pub fn landlock_abi() -> Result<i64, i32> {
    // SAFETY: the version query takes no ruleset (NULL, size 0).
    let r = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

/// In a child: a ruleset handling execute, enforced on itself. 0 or the errno.
fn try_landlock() -> io::Result<i32> {
    in_child(|| {
        let attr: [u64; 1] = [LANDLOCK_ACCESS_FS_EXECUTE];
        // SAFETY: landlock calls in the probe child; the attribute is a local of the size
        // passed (ABI 1's struct: handled_access_fs only).
        unsafe {
            let fd = libc::syscall(
                libc::SYS_landlock_create_ruleset,
                attr.as_ptr(),
                8usize,
                0u32,
            );
            if fd < 0 {
                return (1, errno());
            }
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return (2, errno());
            }
            let r = libc::syscall(libc::SYS_landlock_restrict_self, fd as i32, 0u32);
            (3, sys_result(r))
        }
    })
    .map(|(_, e)| e)
}

/// Forks a child with clone3 (fork semantics); 0 or the errno.
fn try_clone3() -> io::Result<i32> {
    // SAFETY: clone_args is plain data; zeroed then the two fields fork needs.
    let mut args: libc::clone_args = unsafe { std::mem::zeroed() };
    args.exit_signal = libc::SIGCHLD as u64;
    // SAFETY: clone3 without CLONE_VM and without a stack is fork: the child continues on a
    // copy of this stack and leaves at once with _exit.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut libc::clone_args,
            std::mem::size_of::<libc::clone_args>(),
        )
    };
    if r == 0 {
        // SAFETY: the child leaves.
        unsafe { libc::_exit(0) };
    }
    if r < 0 {
        return Ok(errno());
    }
    let status = reap(r as libc::pid_t)?;
    if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
        Ok(0)
    } else {
        Err(io::Error::other(describe_status(status)))
    }
}

/// openat2 of `/` resolved in root, as the helper resolves mount targets; 0 or the errno.
fn try_openat2() -> i32 {
    // SAFETY: open_how is plain data.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_PATH | libc::O_CLOEXEC | libc::O_DIRECTORY) as u64;
    how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: openat2 with a NUL-terminated path and a local open_how of the size passed.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            libc::AT_FDCWD,
            c"/".as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        return errno();
    }
    // SAFETY: our fd.
    unsafe { libc::close(fd as i32) };
    0
}

/// The steps of [`try_mount_api`], by number.
const MOUNT_API_STEPS: [&str; 9] = [
    "",
    "unshare (a user and mount namespace)",
    "mount(MS_PRIVATE) of /",
    "fsopen(tmpfs)",
    "fsconfig(FSCONFIG_CMD_CREATE)",
    "fsmount",
    "mount_setattr(MOUNT_ATTR_RDONLY)",
    "open_tree(OPEN_TREE_CLONE | AT_RECURSIVE)",
    "move_mount",
];

/// In a child, in a new mount namespace (and user namespace unless root), the calls the
/// helper's mount operations make: a tmpfs through fsopen/fsconfig/fsmount, made read-only
/// with mount_setattr and attached with move_mount; a bind through open_tree. `(0, 0)` or
/// the failed step and its errno.
fn try_mount_api(host: &Host) -> io::Result<(i32, i32)> {
    let root = host.is_root();
    in_child(move || {
        let flags = if root {
            libc::CLONE_NEWNS
        } else {
            libc::CLONE_NEWUSER | libc::CLONE_NEWNS
        };
        // SAFETY: every call below runs in the probe child, in its own new mount namespace
        // (made private first, so nothing propagates to the host), with NUL-terminated
        // literals and locals of the sizes passed.
        unsafe {
            if libc::unshare(flags) != 0 {
                return (1, errno());
            }
            if libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            ) != 0
            {
                return (2, errno());
            }
            let fs = libc::syscall(libc::SYS_fsopen, c"tmpfs".as_ptr(), 1u32);
            if fs < 0 {
                return (3, errno());
            }
            let r = libc::syscall(
                libc::SYS_fsconfig,
                fs as i32,
                6u32, // FSCONFIG_CMD_CREATE
                std::ptr::null::<u8>(),
                std::ptr::null::<u8>(),
                0,
            );
            if r < 0 {
                return (4, errno());
            }
            let mnt = libc::syscall(libc::SYS_fsmount, fs as i32, 1u32, 0u32);
            if mnt < 0 {
                return (5, errno());
            }
            let attr: [u64; 4] = [1, 0, 0, 0]; // attr_set = MOUNT_ATTR_RDONLY
            let r = libc::syscall(
                libc::SYS_mount_setattr,
                mnt as i32,
                c"".as_ptr(),
                libc::AT_EMPTY_PATH,
                attr.as_ptr(),
                32usize,
            );
            if r < 0 {
                return (6, errno());
            }
            let tree = libc::syscall(
                libc::SYS_open_tree,
                libc::AT_FDCWD,
                c"/".as_ptr(),
                // OPEN_TREE_CLONE, recursive as the helper's binds (a user namespace may
                // not clone a tree without the mounts locked over it: EINVAL).
                1u32 | libc::O_CLOEXEC as u32 | libc::AT_RECURSIVE as u32,
            );
            if tree < 0 {
                return (7, errno());
            }
            let r = libc::syscall(
                libc::SYS_move_mount,
                mnt as i32,
                c"".as_ptr(),
                libc::AT_FDCWD,
                c"/tmp".as_ptr(),
                4u32, // MOVE_MOUNT_F_EMPTY_PATH
            );
            if r < 0 {
                return (8, errno());
            }
        }
        (0, 0)
    })
}

// ---------------------------------------------------------------------------------------------
// cgroups
// ---------------------------------------------------------------------------------------------

/// A mounted cgroup hierarchy.
#[derive(Debug, Clone)]
struct Hierarchy {
    /// `cgroup` (v1) or `cgroup2`.
    fstype: String,
    mount_point: PathBuf,
    /// The mount's root inside the hierarchy (mountinfo field 4).
    root: String,
    /// v1: the controllers (and `name=…`) in the super options; v2: cgroup.controllers.
    controllers: Vec<String>,
}

fn hierarchies() -> Vec<Hierarchy> {
    let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for line in info.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let l: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        if l.len() < 5 || r.len() < 3 || !(r[0] == "cgroup" || r[0] == "cgroup2") {
            continue;
        }
        let mount_point = PathBuf::from(unescape(l[4]));
        let controllers = if r[0] == "cgroup2" {
            fs::read_to_string(mount_point.join("cgroup.controllers"))
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect()
        } else {
            r[2].split(',')
                .filter(|o| !matches!(*o, "rw" | "ro") && !o.contains("xattr"))
                .filter(|o| {
                    !o.contains('=') || o.starts_with("name=") // named hierarchies
                })
                .filter(|o| !matches!(*o, "noprefix" | "clone_children" | "cpuset_v2_mode"))
                .map(str::to_string)
                .collect()
        };
        out.push(Hierarchy {
            fstype: r[0].to_string(),
            mount_point,
            root: unescape(l[3]),
            controllers,
        });
    }
    out
}

/// mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) {
            let n = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(n);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// This process's cgroup in the hierarchy (from /proc/self/cgroup), as a directory.
fn own_cgroup_dir(h: &Hierarchy) -> Option<PathBuf> {
    let text = fs::read_to_string("/proc/self/cgroup").ok()?;
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, list, path) = (parts.next()?, parts.next()?, parts.next()?);
        let matches = if h.fstype == "cgroup2" {
            list.is_empty()
        } else {
            !list.is_empty()
                && list
                    .split(',')
                    .any(|c| h.controllers.iter().any(|k| k == c))
        };
        if matches {
            let rel = path
                .strip_prefix(h.root.as_str())
                .unwrap_or(path)
                .trim_start_matches('/');
            return Some(if rel.is_empty() {
                h.mount_point.clone()
            } else {
                h.mount_point.join(rel)
            });
        }
    }
    None
}

/// Creates and removes a child cgroup in `dir`; 0 or the errno of the mkdir.
fn try_child_cgroup(dir: &Path) -> i32 {
    let child = dir.join(format!("forkexec-check.{}", std::process::id()));
    let Ok(c) = CString::new(child.as_os_str().as_encoded_bytes()) else {
        return libc::EINVAL;
    };
    // SAFETY: mkdir/rmdir with a NUL-terminated path.
    if unsafe { libc::mkdir(c.as_ptr(), 0o755) } != 0 {
        return errno();
    }
    unsafe { libc::rmdir(c.as_ptr()) };
    0
}

/// The controllers a sandbox limits resources with.
const LIMIT_CONTROLLERS: [&str; 4] = ["memory", "pids", "cpu", "io"];

fn cgroup_answers(host: &Host, user: &str) -> Vec<Answer> {
    let all = hierarchies();
    let v1: Vec<&Hierarchy> = all.iter().filter(|h| h.fstype == "cgroup").collect();
    let v2 = all.iter().find(|h| h.fstype == "cgroup2");
    let version = match (v1.is_empty(), v2.is_some()) {
        (true, true) => "v2",
        (false, true) => "hybrid",
        (false, false) => "v1",
        (true, false) => "none",
    };
    // Controllers only: a named hierarchy (name=systemd) controls nothing.
    let v1_map: Map<String, Value> = v1
        .iter()
        .flat_map(|h| {
            h.controllers
                .iter()
                .filter(|c| !c.starts_with("name="))
                .map(|c| (c.clone(), Value::from(h.mount_point.display().to_string())))
        })
        .collect();
    let v1_names: Vec<&String> = v1_map.keys().collect();
    let v2_controllers: Vec<String> = v2.map(|h| h.controllers.clone()).unwrap_or_default();
    let v2_limits: Vec<&str> = LIMIT_CONTROLLERS
        .iter()
        .copied()
        .filter(|c| v2_controllers.iter().any(|k| k == c))
        .collect();
    let v2_json = v2.map_or(Value::Null, |h| {
        json!({
            "mount": h.mount_point.display().to_string(),
            "controllers": h.controllers,
            "limit_controllers": v2_limits,
        })
    });
    let summary = match version {
        "none" => "no cgroup file system is mounted".to_string(),
        _ => {
            let mut parts = Vec::new();
            if !v1.is_empty() {
                let names: Vec<&str> = v1_names.iter().map(|s| s.as_str()).collect();
                // Where they are: one parent for all (/sys/fs/cgroup/NAME), or each listed.
                let parents: Vec<_> = v1.iter().map(|h| h.mount_point.parent()).collect();
                let place = match parents.first() {
                    Some(Some(p)) if parents.iter().all(|q| *q == Some(*p)) => {
                        format!(" (each at {}/NAME)", p.display())
                    }
                    _ => String::new(),
                };
                parts.push(format!("v1 {}{place}", names.join(", ")));
            }
            if let Some(h) = v2 {
                parts.push(format!(
                    "v2 at {} with {}",
                    h.mount_point.display(),
                    if h.controllers.is_empty() {
                        "no controllers".to_string()
                    } else {
                        format!("only {}", h.controllers.join(", "))
                    }
                ));
            }
            format!("{version}: {}", parts.join("; "))
        }
    };
    let mut cgroups = if version == "none" {
        Answer::no(
            "cgroups",
            "cgroups",
            summary,
            "neither cgroup (v1) nor cgroup2 is mounted in this mount namespace",
            "as root: mount -t cgroup2 none /sys/fs/cgroup",
        )
    } else if v2.is_some() && v2_limits.is_empty() && v1.is_empty() {
        Answer::no(
            "cgroups",
            "cgroups",
            summary,
            "cgroup v2 has none of the memory, pids, cpu and io controllers",
            "enable them in the root's cgroup.subtree_control (echo +memory +pids > \
             /sys/fs/cgroup/cgroup.subtree_control)",
        )
    } else {
        Answer::yes("cgroups", "cgroups", summary)
    };
    cgroups = cgroups
        .fact("version", version)
        .fact("v1", Value::Object(v1_map.clone()))
        .fact("v2", v2_json);

    // Delegation: can this user make a cgroup of its own where it is?
    let mut tried = Map::new();
    let mut allowed = Vec::new();
    let mut denied = Vec::new();
    for h in &all {
        let Some(dir) = own_cgroup_dir(h) else {
            continue;
        };
        let e = try_child_cgroup(&dir);
        let label = if h.fstype == "cgroup2" {
            "v2".to_string()
        } else {
            h.controllers.join(",")
        };
        tried.insert(
            label.clone(),
            json!({"dir": dir.display().to_string(), "ok": e == 0,
                   "errno": if e == 0 { Value::Null } else { Value::from(errno_name(e)) }}),
        );
        if e == 0 {
            allowed.push(label);
        } else {
            denied.push((label, dir, e));
        }
    }
    let delegation = if denied.is_empty() && !allowed.is_empty() {
        Answer::yes(
            "cgroup_delegation",
            "cgroup delegation",
            format!("can create cgroups in its own: {}", allowed.join("; ")),
        )
    } else if allowed.is_empty() && denied.is_empty() {
        Answer::no(
            "cgroup_delegation",
            "cgroup delegation",
            "no cgroup of this process was found",
            "/proc/self/cgroup names no directory under the mounted hierarchies",
            "mount the cgroup file systems (see cgroups)",
        )
    } else {
        let (label, dir, e) = &denied[0];
        let owner = fs::metadata(dir)
            .map(|m| {
                use std::os::unix::fs::MetadataExt;
                format!(" (owner uid {}, mode {:o})", m.uid(), m.mode() & 0o7777)
            })
            .unwrap_or_default();
        let v2_fix = "on a systemd host, run inside a delegated scope: systemd-run --user \
                      --scope -p Delegate=yes forkexec-run …";
        let fix = if host.is_root() {
            format!(
                "{dir} refuses even root: see its cgroup.max.descendants and the \
                     hierarchy's state",
                dir = dir.display()
            )
        } else {
            format!(
                "as root, make a cgroup and give it to {user}: mkdir {p}/{user} && \
                 chown -R {user} {p}/{user} (for v1, in each controller's hierarchy; \
                 for v2 also chown its parent's cgroup.procs or move {user}'s processes in \
                 first); {v2_fix}",
                p = dir.display()
            )
        };
        let mut a = Answer::no(
            "cgroup_delegation",
            "cgroup delegation",
            format!(
                "cannot create cgroups in {} of its {} hierarchies{}",
                denied.len(),
                denied.len() + allowed.len(),
                if allowed.is_empty() {
                    String::new()
                } else {
                    format!(" (can in: {})", allowed.join("; "))
                }
            ),
            format!(
                "mkdir in {} ({label}) fails with {}: the cgroup is not delegated to this \
                 user{owner}",
                dir.display(),
                errno_name(*e)
            ),
            fix,
        );
        a.ok = false;
        a
    };
    vec![cgroups, delegation.fact("tried", Value::Object(tried))]
}

// ---------------------------------------------------------------------------------------------
// The answers
// ---------------------------------------------------------------------------------------------

fn probe_error(key: &'static str, title: &'static str, e: io::Error) -> Answer {
    Answer::no(
        key,
        title,
        format!("could not be tried: {e}"),
        format!("the probe itself failed: {e}"),
        "run forkexec-run check again; if it persists, report it",
    )
}

fn user_namespace_answer(host: &Host) -> Answer {
    const KEY: &str = "user_namespaces";
    const TITLE: &str = "user namespaces";
    let settings = |a: Answer| {
        a.fact("max_user_namespaces", host.max_user_namespaces)
            .fact("unprivileged_userns_clone", host.unprivileged_userns_clone)
            .fact(
                "apparmor_restrict_unprivileged_userns",
                host.apparmor_restrict_userns,
            )
    };
    let (step, e) = match try_user_namespace(host) {
        Ok(r) => r,
        Err(err) => return settings(probe_error(KEY, TITLE, err)),
    };
    let limit = host.max_user_namespaces.map_or(String::new(), |n| {
        format!(" (user.max_user_namespaces = {n})")
    });
    if step == 0 {
        return settings(Answer::yes(
            KEY,
            TITLE,
            format!("unshare(CLONE_NEWUSER), own-id maps and capabilities inside work{limit}"),
        ));
    }
    let what = [
        "",
        "unshare(CLONE_NEWUSER)",
        "setgroups deny",
        "uid_map",
        "gid_map",
        "a mount namespace inside (capabilities in the new user namespace)",
    ][step as usize];
    let (why, fix) = host.userns_refusal(e).unwrap_or_else(|| {
        (
            format!("{what} fails with {}", errno_name(e)),
            "see forkexec-run check's other answers and the kernel log (dmesg)".to_string(),
        )
    });
    settings(Answer::no(
        KEY,
        TITLE,
        format!("{what} fails with {}", errno_name(e)),
        why,
        fix,
    ))
    .fact("failed_step", what)
}

fn namespaces_answer(host: &Host, userns_ok: bool) -> Answer {
    const KEY: &str = "namespaces";
    const TITLE: &str = "namespaces";
    let in_userns = !host.is_root();
    if in_userns && !userns_ok {
        return Answer::no(
            KEY,
            TITLE,
            "none: an ordinary user needs a user namespace for every other namespace",
            "user namespaces are refused (see user namespaces)",
            "the fix for user namespaces",
        );
    }
    let mut works = Vec::new();
    let mut fails = Vec::new();
    let mut each = Map::new();
    for (name, flag, proc_name) in NAMESPACES {
        let r = try_namespace(flag, in_userns);
        let ok = matches!(r, Ok((0, _)));
        each.insert(name.into(), ok.into());
        match r {
            Ok((0, _)) => works.push(name),
            Ok((_, e)) => fails.push((name, proc_name, e)),
            Err(err) => fails.push((name, proc_name, err.raw_os_error().unwrap_or(libc::EIO))),
        }
    }
    let how = if in_userns {
        " (inside a user namespace)"
    } else {
        ""
    };
    if fails.is_empty() {
        return Answer::yes(KEY, TITLE, format!("{}{how}", works.join(", "))).fact("each", each);
    }
    let (name, proc_name, e) = fails[0];
    let sysctl = format!("user.max_{proc_name}_namespaces");
    let (why, fix) = if e == libc::ENOSPC
        || read_number(&format!("/proc/sys/{}", sysctl.replace('.', "/"))) == Some(0)
    {
        (
            format!(
                "{sysctl} = {} (0 turns {name} namespaces off; else the limit is reached)",
                read_number(&format!("/proc/sys/{}", sysctl.replace('.', "/")))
                    .map_or("?".to_string(), |n| n.to_string())
            ),
            format!("as root: sysctl -w {sysctl}=15000"),
        )
    } else if e == libc::EINVAL {
        (
            format!("this kernel is built without {name} namespaces"),
            format!("a kernel with {name} namespace support"),
        )
    } else {
        (
            format!(
                "unshare of the {name} namespace fails with {}",
                errno_name(e)
            ),
            "run on the host, or in a container whose seccomp profile allows unshare".into(),
        )
    };
    let names: Vec<String> = fails
        .iter()
        .map(|(n, _, e)| format!("{n} ({})", errno_name(*e)))
        .collect();
    Answer::no(
        KEY,
        TITLE,
        format!(
            "{}{how}; refused: {}",
            if works.is_empty() {
                "none work".to_string()
            } else {
                works.join(", ")
            },
            names.join(", ")
        ),
        why,
        fix,
    )
    .fact("each", each)
}

fn setgroups_answer(host: &Host, userns_ok: bool) -> Answer {
    const KEY: &str = "setgroups";
    const TITLE: &str = "setgroups";
    if !userns_ok && !host.is_root() {
        return Answer::no(
            KEY,
            TITLE,
            "not tried: user namespaces are refused",
            "a sandbox of an ordinary user needs a user namespace (see user namespaces)",
            "the fix for user namespaces",
        );
    }
    match try_setgroups(host) {
        Ok((0, _)) => Answer::yes(
            KEY,
            TITLE,
            "a gid map written from outside keeps setgroups working in the sandbox \
             (gid_mappings_enable_setgroups)",
        )
        .fact("in_user_namespace", true),
        Ok((2, e)) if e == libc::EPERM && !host.is_root() => Answer::no(
            KEY,
            TITLE,
            "in a user namespace the program cannot call setgroups (EPERM); the sandbox's own \
             single-id maps work",
            "the kernel lets an ordinary user write a gid map only after setgroups is set to \
             \"deny\" in that namespace (since Linux 3.19, so that dropping a group cannot \
             gain access)",
            "nothing to fix for most programs; one that must call setgroups needs a runtime \
             run as root (then forkexec writes the map from outside and \
             gid_mappings_enable_setgroups keeps setgroups)",
        )
        .fact("in_user_namespace", false),
        Ok((step, e)) => Answer::no(
            KEY,
            TITLE,
            format!(
                "{} fails with {}",
                [
                    "",
                    "unshare(CLONE_NEWUSER)",
                    "writing gid_map from outside",
                    "setgroups"
                ][step.clamp(0, 3) as usize],
                errno_name(e)
            ),
            "the kernel refuses it here",
            "see user namespaces",
        )
        .fact("in_user_namespace", false),
        Err(e) => probe_error(KEY, TITLE, e),
    }
}

fn seccomp_answer() -> Answer {
    const KEY: &str = "seccomp";
    const TITLE: &str = "seccomp";
    let actions: Vec<String> = fs::read_to_string("/proc/sys/kernel/seccomp/actions_avail")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let mode = status
        .lines()
        .find_map(|l| l.strip_prefix("Seccomp:"))
        .map(|s| s.trim().to_string());
    let filtered = mode.as_deref() == Some("2");
    let a = match try_seccomp() {
        Ok(0) => Answer::yes(
            KEY,
            TITLE,
            format!(
                "a filter loads{}",
                if filtered {
                    " (on top of the filter this process already has)"
                } else {
                    ""
                }
            ),
        ),
        Ok(e) => Answer::no(
            KEY,
            TITLE,
            format!("loading a filter fails with {}", errno_name(e)),
            if e == libc::EINVAL {
                "this kernel is built without seccomp filters (CONFIG_SECCOMP_FILTER)".to_string()
            } else {
                format!(
                    "seccomp(SECCOMP_SET_MODE_FILTER) fails with {}",
                    errno_name(e)
                )
            },
            "a kernel with CONFIG_SECCOMP_FILTER=y; without it, run without --seccomp",
        ),
        Err(e) => probe_error(KEY, TITLE, e),
    };
    a.fact("actions", actions)
        .fact("already_filtered", filtered)
}

fn landlock_answer() -> Answer {
    const KEY: &str = "landlock";
    const TITLE: &str = "Landlock";
    match landlock_abi() {
        Ok(abi) => match try_landlock() {
            Ok(0) => Answer::yes(KEY, TITLE, format!("ABI {abi}; a ruleset is enforced")),
            Ok(e) => Answer::no(
                KEY,
                TITLE,
                format!(
                    "ABI {abi}, but enforcing a ruleset fails with {}",
                    errno_name(e)
                ),
                "landlock_restrict_self is refused",
                "see the kernel log (dmesg)",
            ),
            Err(e) => probe_error(KEY, TITLE, e),
        }
        .fact("abi", abi),
        Err(e) if e == libc::EOPNOTSUPP => Answer::no(
            KEY,
            TITLE,
            "built into the kernel but not enabled",
            "landlock is not in the kernel's list of security modules (lsm= at boot)",
            "add landlock to the lsm= boot parameter (e.g. lsm=landlock,lockdown,yama,\
             apparmor,bpf), or CONFIG_LSM at build time",
        )
        .fact("abi", Value::Null),
        Err(e) => Answer::no(
            KEY,
            TITLE,
            format!("not available ({})", errno_name(e)),
            "this kernel has no Landlock (before Linux 5.13, or built without \
             CONFIG_SECURITY_LANDLOCK)",
            "Linux 5.13 or later with CONFIG_SECURITY_LANDLOCK=y",
        )
        .fact("abi", Value::Null),
    }
}

fn clone3_answer() -> Answer {
    const KEY: &str = "clone3";
    const TITLE: &str = "clone3";
    match try_clone3() {
        Ok(0) => Answer::yes(KEY, TITLE, "a child is forked with clone3"),
        Ok(e) => Answer::no(
            KEY,
            TITLE,
            format!("clone3 fails with {}", errno_name(e)),
            if e == libc::ENOSYS {
                "the kernel is older than 5.3, or a seccomp filter (a container's) answers \
                 ENOSYS for clone3"
                    .to_string()
            } else {
                format!("clone3 is refused ({})", errno_name(e))
            },
            "the helper falls back to clone for the supervised shapes; only --cgroup with a \
             new pid namespace (CLONE_INTO_CGROUP) needs clone3: Linux 5.7 or later, or a \
             container profile that allows clone3",
        ),
        Err(e) => probe_error(KEY, TITLE, e),
    }
}

fn openat2_answer() -> Answer {
    const KEY: &str = "openat2";
    const TITLE: &str = "openat2";
    match try_openat2() {
        0 => Answer::yes(
            KEY,
            TITLE,
            "RESOLVE_IN_ROOT works (mount targets resolve inside the new root)",
        ),
        e => Answer::no(
            KEY,
            TITLE,
            format!("openat2 fails with {}", errno_name(e)),
            "the kernel is older than 5.6, or a seccomp filter refuses openat2; the helper \
             resolves every mount operation's target with it",
            "Linux 5.6 or later (mount flags need it), or a container profile that allows \
             openat2",
        ),
    }
}

fn mount_api_answer(host: &Host, userns_ok: bool) -> Answer {
    const KEY: &str = "mount_api";
    const TITLE: &str = "new mount API";
    if !host.is_root() && !userns_ok {
        return Answer::no(
            KEY,
            TITLE,
            "not tried: an ordinary user needs a user namespace to mount anything",
            "user namespaces are refused (see user namespaces)",
            "the fix for user namespaces",
        );
    }
    match try_mount_api(host) {
        Ok((0, _)) => Answer::yes(
            KEY,
            TITLE,
            "fsopen, fsconfig, fsmount, mount_setattr, open_tree and move_mount work",
        ),
        Ok((step, e)) => {
            let what = MOUNT_API_STEPS[(step.clamp(1, 8)) as usize];
            Answer::no(
                KEY,
                TITLE,
                format!("{what} fails with {}", errno_name(e)),
                if e == libc::ENOSYS {
                    "the kernel is older than 5.12 (mount_setattr), or a seccomp filter \
                     refuses the new mount API"
                        .to_string()
                } else {
                    format!("{what} is refused ({})", errno_name(e))
                },
                "Linux 5.12 or later; the mount flags (--bind, --tmpfs, --proc, …) need it",
            )
            .fact("failed_step", what)
        }
        Err(e) => probe_error(KEY, TITLE, e),
    }
}

/// The user's name from /etc/passwd (or the uid).
fn user_name(uid: u32) -> String {
    fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_string())
            })
        })
        .unwrap_or_else(|| uid.to_string())
}

/// Every answer, in the order they print.
pub fn answers(host: &Host) -> Vec<Answer> {
    let user = user_name(host.euid);
    let userns = user_namespace_answer(host);
    let userns_ok = userns.ok;
    let mut out = vec![
        userns,
        namespaces_answer(host, userns_ok),
        setgroups_answer(host, userns_ok),
    ];
    out.extend(cgroup_answers(host, &user));
    out.extend([
        seccomp_answer(),
        landlock_answer(),
        clone3_answer(),
        openat2_answer(),
        mount_api_answer(host, userns_ok),
    ]);
    out
}

/// The kernel release (uname -r).
fn kernel() -> String {
    fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// `head` then `text` filled to `width`, continuation lines under the text's first column.
fn fill(head: &str, text: &str, width: usize) -> String {
    let hang = head.chars().count();
    let mut out = head.to_string();
    let mut len = hang;
    for (i, word) in text.split(' ').filter(|w| !w.is_empty()).enumerate() {
        let n = word.chars().count();
        if i > 0 && len + 1 + n > width {
            out.push('\n');
            out.push_str(&" ".repeat(hang));
            len = hang;
        } else if i > 0 {
            out.push(' ');
            len += 1;
        }
        out.push_str(word);
        len += n;
    }
    out.push('\n');
    out
}

/// The text form, filled to `width` columns.
pub fn render_text(host: &Host, answers: &[Answer], width: usize) -> String {
    let mut out = format!(
        "forkexec-run check: what this host allows uid {} ({}), Linux {}\n",
        host.euid,
        user_name(host.euid),
        kernel()
    );
    let titles = answers.iter().map(|a| a.title.len()).max().unwrap_or(0);
    let pad = " ".repeat(titles + 9);
    for a in answers {
        let head = format!(
            "  {:<3}  {:<titles$}  ",
            if a.ok { "yes" } else { "no" },
            a.title
        );
        out.push_str(&fill(&head, &a.summary, width));
        if let Some(why) = &a.why {
            out.push_str(&fill(&format!("{pad}why: "), why, width));
        }
        if let Some(fix) = &a.fix {
            out.push_str(&fill(&format!("{pad}fix: "), fix, width));
        }
    }
    out
}

/// The JSON form: `host`, then one object per answer under its key.
pub fn render_json(host: &Host, answers: &[Answer]) -> Value {
    let mut m = Map::new();
    m.insert(
        "host".into(),
        json!({"uid": host.euid, "gid": host.egid, "user": user_name(host.euid),
               "kernel": kernel()}),
    );
    for a in answers {
        m.insert(a.key.into(), a.to_json());
    }
    Value::Object(m)
}

/// `forkexec-run check`: prints the answers and exits 0 (the answers say yes or no; 125 only
/// when they cannot be printed).
pub fn main(args: &CheckArgs) -> ! {
    let host = Host::read();
    let answers = answers(&host);
    let text = if args.json {
        let mut s = serde_json::to_string_pretty(&render_json(&host, &answers))
            .expect("a JSON value serializes");
        s.push('\n');
        s
    } else {
        render_text(&host, &answers, crate::help::width())
    };
    let mut out = io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        std::process::exit(125);
    }
    std::process::exit(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert_eq!(unescape("/plain"), "/plain");
        assert_eq!(unescape("/end\\04"), "/end\\04");
    }

    #[test]
    fn refusals_are_explained_from_the_settings() {
        let mut host = Host {
            euid: 1000,
            egid: 1000,
            max_user_namespaces: Some(0),
            ..Host::default()
        };
        let (why, fix) = host.userns_refusal(libc::ENOSPC).unwrap();
        assert!(why.contains("user.max_user_namespaces is 0"), "{why}");
        assert!(fix.contains("sysctl -w user.max_user_namespaces="), "{fix}");
        host.max_user_namespaces = Some(5);
        let (why, _) = host.userns_refusal(libc::ENOSPC).unwrap();
        assert!(
            why.contains("limit is reached: user.max_user_namespaces = 5"),
            "{why}"
        );
        host.unprivileged_userns_clone = Some(0);
        let (why, fix) = host.userns_refusal(libc::EPERM).unwrap();
        assert!(
            why.contains("kernel.unprivileged_userns_clone is 0"),
            "{why}"
        );
        assert!(fix.contains("kernel.unprivileged_userns_clone=1"), "{fix}");
        host.unprivileged_userns_clone = None;
        host.apparmor_restrict_userns = Some(1);
        let (why, fix) = host.userns_refusal(libc::EPERM).unwrap();
        assert!(why.contains("AppArmor"), "{why}");
        assert!(fix.contains("userns,"), "{fix}");
        host.apparmor_restrict_userns = None;
        let (why, _) = host.userns_refusal(libc::EINVAL).unwrap();
        assert!(why.contains("CONFIG_USER_NS"), "{why}");
        assert!(host.userns_refusal(libc::EBADF).is_none());
    }

    #[test]
    fn errno_names() {
        assert_eq!(errno_name(libc::ENOSPC), "ENOSPC (no space left on device)");
        assert_eq!(errno_text(libc::EPERM), "operation not permitted");
    }
}
