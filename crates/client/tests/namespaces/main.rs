//! Namespaces, mounts and pivot_root through the real helper, checked from inside the target
//! (the probe's report) and from the host; and the error locations of those stages, each
//! provoked for real, with the target never having run.
//!
//! Every test runs as root and as an ordinary user (in a user namespace); the few that only
//! make sense one way say so and return early. Temporary directories are removed by a
//! [`Cleanup`] guard, mounts live only in the helper's private mount namespace.
use forkexec_testkit::leaks;
use forkexec_testkit::support;

use std::ffi::CString;
use std::fs;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use forkexec_client::{IdMap, Mount, Namespace, Runner};
use forkexec_spec::status::Record;
use serde_json::{json, Value};
use support::*;

mod error_locations;
mod kinds;
mod mounts;
mod nested_userns;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// `flags`, plus a user namespace when not root: an ordinary user may only make the other
/// namespaces inside a user namespace of its own.
fn with_user_ns_unless_root(flags: &[Namespace]) -> Vec<Namespace> {
    let mut v = flags.to_vec();
    if !is_root() && !v.contains(&Namespace::NewUser) {
        v.push(Namespace::NewUser);
    }
    v
}

/// One line of /proc/PID/mountinfo.
#[derive(Debug, Clone)]
struct MountLine {
    point: String,
    opts: Vec<String>,
    fstype: String,
    super_opts: Vec<String>,
}

fn mountinfo(text: &str) -> Vec<MountLine> {
    text.lines()
        .map(|line| {
            let (left, right) = line.split_once(" - ").expect("mountinfo separator");
            let l: Vec<&str> = left.split(' ').collect();
            let r: Vec<&str> = right.split(' ').collect();
            MountLine {
                point: l[4].to_string(),
                opts: l[5].split(',').map(str::to_string).collect(),
                fstype: r[0].to_string(),
                super_opts: r[2].split(',').map(str::to_string).collect(),
            }
        })
        .collect()
}

fn has(list: &[String], item: &str) -> bool {
    list.iter().any(|s| s == item)
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

// ---------------------------------------------------------------------------------------------
// Error locations that only the environment the runtime starts the helper in can provoke
// (an fd limit, no /proc, a chroot): real kernel failures of the helper's own calls.
// ---------------------------------------------------------------------------------------------

/// A step run in the helper's process between fork and exec (async-signal-safe syscalls
/// only; everything is allocated before the fork).
enum Op {
    Unshare(libc::c_int),
    /// open(O_WRONLY), one write, close.
    Write(CString, Vec<u8>),
    Mount(CString, CString, CString, libc::c_ulong),
    Mkdir(CString),
    /// Create an empty file.
    Touch(CString),
    Chroot(CString),
    Chdir(CString),
    /// RLIMIT_NOFILE 0: no new fd can be opened.
    NoFiles,
}

fn cs(s: impl AsRef<std::ffi::OsStr>) -> CString {
    CString::new(s.as_ref().as_bytes()).unwrap()
}

fn check(ret: libc::c_int) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn run_ops(ops: &[Op]) -> io::Result<()> {
    let null = |s: &CString| {
        if s.is_empty() {
            std::ptr::null()
        } else {
            s.as_ptr()
        }
    };
    for op in ops {
        // SAFETY: plain syscalls on NUL-terminated strings and buffers owned by `ops`.
        unsafe {
            match op {
                Op::Unshare(flags) => check(libc::unshare(*flags))?,
                Op::Write(path, data) => {
                    let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                    check(fd)?;
                    let n = libc::write(fd, data.as_ptr().cast(), data.len());
                    libc::close(fd);
                    if n != data.len() as isize {
                        return Err(io::Error::last_os_error());
                    }
                }
                Op::Mount(src, tgt, fstype, flags) => check(libc::mount(
                    null(src),
                    tgt.as_ptr(),
                    null(fstype),
                    *flags,
                    std::ptr::null(),
                ))?,
                Op::Mkdir(p) => check(libc::mkdir(p.as_ptr(), 0o755))?,
                Op::Touch(p) => {
                    let fd = libc::open(
                        p.as_ptr(),
                        libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC,
                        0o644,
                    );
                    check(fd)?;
                    libc::close(fd);
                }
                Op::Chroot(p) => check(libc::chroot(p.as_ptr()))?,
                Op::Chdir(p) => check(libc::chdir(p.as_ptr()))?,
                Op::NoFiles => {
                    let lim = libc::rlimit {
                        rlim_cur: 0,
                        rlim_max: 0,
                    };
                    check(libc::setrlimit(libc::RLIMIT_NOFILE, &lim))?
                }
            }
        }
    }
    Ok(())
}

/// A mount namespace of our own (inside a user namespace of our own, mapping us to root,
/// when unprivileged), with `/` private. The helper then runs as uid 0 either way.
fn own_mount_ns() -> Vec<Op> {
    let mut ops = Vec::new();
    if is_root() {
        ops.push(Op::Unshare(libc::CLONE_NEWNS));
    } else {
        ops.push(Op::Unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS));
        ops.push(Op::Write(cs("/proc/self/setgroups"), b"deny".to_vec()));
        ops.push(Op::Write(
            cs("/proc/self/uid_map"),
            format!("0 {} 1", euid()).into_bytes(),
        ));
        ops.push(Op::Write(
            cs("/proc/self/gid_map"),
            format!("0 {} 1", egid()).into_bytes(),
        ));
    }
    ops.push(Op::Mount(
        cs(""),
        cs("/"),
        cs(""),
        libc::MS_REC | libc::MS_PRIVATE,
    ));
    ops
}

/// Spawns `program --spec-fd N` on a socketpair after running `ops` in the child, writes the
/// spec, collects the records (as [`raw`] does, with a chosen program and environment).
fn raw_exec(program: &Path, spec: &[u8], ops: Vec<Op>) -> RawResult {
    let (mut ours, theirs) = UnixStream::pair().unwrap();
    let fd = theirs.as_raw_fd();
    let mut cmd = Command::new(program);
    cmd.arg("--spec-fd")
        .arg(fd.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: only raw syscalls between fork and exec, nothing allocated.
    unsafe {
        cmd.pre_exec(move || {
            run_ops(&ops)?;
            clear_cloexec(fd)
        });
    }
    let mut child = cmd.spawn().expect("spawn the helper");
    drop(theirs);
    let _ = ours.write_all(spec);
    let _ = ours.shutdown(std::net::Shutdown::Write);
    let records = read_records(&mut ours);
    let mut stderr = String::new();
    io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let status = child.wait().unwrap();
    RawResult {
        records,
        status,
        stderr,
    }
}
