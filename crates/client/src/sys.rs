//! The few libc calls the runner and [`crate::Process`] make. All of the crate's `unsafe`
//! lives here, each call retried on `EINTR` where that applies.

use std::ffi::{CString, OsStr};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// A connected `AF_UNIX` stream pair, both ends close-on-exec so that no other child of this
/// process (spawned concurrently by another thread) keeps one open.
pub(crate) fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds: [libc::c_int; 2] = [-1; 2];
    let ty = libc::SOCK_STREAM | libc::SOCK_CLOEXEC;
    // SAFETY: `fds` has room for the two fds socketpair writes.
    cvt(unsafe { libc::socketpair(libc::AF_UNIX, ty, 0, fds.as_mut_ptr()) })?;
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Writes all of `buf` with `MSG_NOSIGNAL`: a helper that died early must give this process
/// `EPIPE`, not a `SIGPIPE` that would kill it.
pub(crate) fn send_all(fd: BorrowedFd<'_>, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: `buf` is valid for `buf.len()` bytes.
        let n = unsafe {
            libc::send(
                fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        buf = &buf[n as usize..];
    }
    Ok(())
}

/// Reads until `buf` is full or end of stream and returns the number of bytes read.
///
/// `ECONNRESET` counts as end of stream: Linux reports it instead of EOF when the peer
/// closed with bytes of ours still unread (a helper that refused the spec early), and only
/// after every byte the peer sent has been read.
pub(crate) fn read_full(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        let rest = &mut buf[got..];
        // SAFETY: `rest` is valid for writes of `rest.len()` bytes.
        let n = unsafe { libc::read(fd.as_raw_fd(), rest.as_mut_ptr().cast(), rest.len()) };
        if n > 0 {
            got += n as usize;
        } else if n == 0 {
            break;
        } else {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::ECONNRESET) => break,
                _ => return Err(e),
            }
        }
    }
    Ok(got)
}

/// Whether `fd` is an open fd of this process.
pub(crate) fn fd_is_open(fd: RawFd) -> bool {
    // SAFETY: F_GETFD only reads the fd's flags; a bad fd is reported as EBADF.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

/// `fcntl(fd, F_DUPFD_CLOEXEC, min)`: a close-on-exec copy of `fd` at the lowest free number
/// at or above `min`.
pub(crate) fn dup_at_least(fd: RawFd, min: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: fcntl on an fd number has no memory effects.
    let copy = cvt(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, min) })?;
    // SAFETY: the copy was just created and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(copy) })
}

/// Clears `FD_CLOEXEC` so `fd` survives `execve` with its number.
///
/// Async-signal-safe (two `fcntl` calls, no allocation): it runs in the forked child before
/// the helper is executed.
pub(crate) fn clear_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on an fd number has no memory effects.
    let flags = cvt(unsafe { libc::fcntl(fd, libc::F_GETFD) })?;
    if flags & libc::FD_CLOEXEC != 0 {
        // SAFETY: as above.
        cvt(unsafe { libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) })?;
    }
    Ok(())
}

/// A close-on-exec, read-only fd from which `bytes` can be read to the end: how a spec
/// reaches a helper that replaces this process (nobody is left to write it). Read-only also
/// tells the helper that nobody reads its status records. A pipe's read end when the pipe
/// can hold it all, else a sealed memfd reopened read-only through `/proc/self/fd`.
pub(crate) fn spec_reader(bytes: &[u8]) -> io::Result<OwnedFd> {
    let mut fds: [libc::c_int; 2] = [-1; 2];
    // SAFETY: `fds` has room for the two fds pipe2 writes.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: both fds were just created and are owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: fcntl on our own pipe, no memory effects.
    let size = unsafe { libc::fcntl(write.as_raw_fd(), libc::F_GETPIPE_SZ) };
    let fits = size >= 0 && bytes.len() <= size as usize
        // SAFETY: as above; it fails beyond /proc/sys/fs/pipe-max-size.
        || unsafe { libc::fcntl(write.as_raw_fd(), libc::F_SETPIPE_SZ, bytes.len()) } >= 0;
    if fits {
        write_all(&write, bytes)?;
        return Ok(read);
    }
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: the name is NUL-terminated; memfd_create returns a new fd or -1.
    let fd = cvt(unsafe { libc::memfd_create(c"forkexec-spec".as_ptr(), flags) })?;
    // SAFETY: the fd was just created and is owned by nobody else.
    let memfd = unsafe { OwnedFd::from_raw_fd(fd) };
    write_all(&memfd, bytes)?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl on an fd we own has no memory effects.
    cvt(unsafe { libc::fcntl(memfd.as_raw_fd(), libc::F_ADD_SEALS, seals) })?;
    let path = std::ffi::CString::new(format!("/proc/self/fd/{}", memfd.as_raw_fd()))
        .map_err(io::Error::other)?;
    // SAFETY: a NUL-terminated path; open returns a new fd (at offset 0) or -1.
    let fd = cvt(unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) })?;
    // SAFETY: the fd was just opened and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Writes all of `bytes` to `fd` (a pipe or file of ours).
fn write_all(fd: &OwnedFd, mut rest: &[u8]) -> io::Result<()> {
    while !rest.is_empty() {
        // SAFETY: `rest` is valid for `rest.len()` bytes.
        let n = unsafe { libc::write(fd.as_raw_fd(), rest.as_ptr().cast(), rest.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        rest = &rest[n as usize..];
    }
    Ok(())
}

/// `kill(pid, sig)`.
pub(crate) fn kill(pid: u32, sig: i32) -> io::Result<()> {
    // SAFETY: kill has no memory effects.
    cvt(unsafe { libc::kill(pid as libc::pid_t, sig) }).map(drop)
}

/// `wait4(pid, options)`: `None` when `WNOHANG` found it still running, else the raw wait
/// status and the resource usage of the process and its waited-for descendants.
pub(crate) fn wait4(pid: u32, options: i32) -> io::Result<Option<(i32, libc::rusage)>> {
    let mut status = 0;
    let mut rusage = MaybeUninit::<libc::rusage>::zeroed();
    loop {
        // SAFETY: both out-pointers are valid for writes.
        let r = unsafe {
            libc::wait4(
                pid as libc::pid_t,
                &mut status,
                options,
                rusage.as_mut_ptr(),
            )
        };
        match r {
            -1 => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
            0 => return Ok(None),
            // SAFETY: zero-initialised, then filled by a successful wait4.
            _ => return Ok(Some((status, unsafe { rusage.assume_init() }))),
        }
    }
}

/// This process's effective uid and gid.
pub(crate) fn effective_ids() -> (u32, u32) {
    // SAFETY: geteuid and getegid cannot fail.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

/// `pidfd_open(pid, 0)`: an fd that becomes readable when the process ends.
pub(crate) fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and has no memory effects.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the fd was just created and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `pidfd_send_signal(fd, sig, NULL, 0)`: ESRCH once the process has ended.
pub(crate) fn pidfd_send_signal(fd: BorrowedFd<'_>, sig: i32) -> io::Result<()> {
    // SAFETY: a pidfd we hold, no siginfo, no flags; no memory effects.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Waits up to `timeout_ms` (-1: no limit) for `fd` to be readable; `false` on timeout.
/// An interrupted wait counts as a timeout (the caller looks again).
pub(crate) fn poll_readable(fd: BorrowedFd<'_>, timeout_ms: i32) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let r = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    match r {
        -1 => {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                Ok(false)
            } else {
                Err(e)
            }
        }
        0 => Ok(false),
        _ => Ok(true),
    }
}

/// A pipe, both ends close-on-exec: (read, write).
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds: [libc::c_int; 2] = [-1; 2];
    // SAFETY: `fds` has room for the two fds pipe2 writes.
    cvt(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

extern "C" {
    /// The process environment (glibc and musl both export it).
    static environ: *const *const libc::c_char;
}

/// A program ready to be spawned the way `posix_spawn` spawns: everything the spawn needs
/// (argv as C strings, the file actions, the attributes) is built here, before any process
/// exists, so that nothing is allocated between the clone and the `execve`.
pub(crate) struct Spawn {
    path: CString,
    /// Owns the strings `argv` points into.
    _args: Vec<CString>,
    argv: Vec<*mut libc::c_char>,
    /// No `/` in the path: looked up on `PATH` (`posix_spawnp`), as `Command` does.
    search: bool,
    actions: libc::posix_spawn_file_actions_t,
    attr: libc::posix_spawnattr_t,
}

/// A libc `posix_spawn*` return code (an errno value, not -1).
fn cvt_spawn(rc: libc::c_int) -> io::Result<()> {
    match rc {
        0 => Ok(()),
        e => Err(io::Error::from_raw_os_error(e)),
    }
}

impl Spawn {
    /// `path` run with `args` (argv[0] is `path`), inheriting `keep` with their numbers and
    /// close-on-exec cleared in the child only (file action `dup2(fd, fd)`, which POSIX 2024
    /// and glibc 2.29+ / musl 1.1.24+ define to clear `FD_CLOEXEC`), so that processes other
    /// threads spawn meanwhile inherit none of them. As `std::process::Command`: the signal
    /// mask is emptied and SIGPIPE (which the Rust runtime ignores) is reset to its default in
    /// the child; the environment is this process's.
    pub(crate) fn new(path: &Path, args: &[&OsStr], keep: &[RawFd]) -> io::Result<Spawn> {
        let cstr = |s: &OsStr| CString::new(s.as_bytes()).map_err(io::Error::other);
        let path_c = cstr(path.as_os_str())?;
        let mut owned = vec![path_c.clone()];
        for a in args {
            owned.push(cstr(a)?);
        }
        let mut argv: Vec<*mut libc::c_char> =
            owned.iter().map(|a| a.as_ptr().cast_mut()).collect();
        argv.push(std::ptr::null_mut());
        // SAFETY: zeroed storage is what the init functions expect to initialise; each is
        // destroyed in Drop, which runs only once both inits have succeeded (`spawn` is built
        // only then).
        let mut actions: libc::posix_spawn_file_actions_t = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut attr: libc::posix_spawnattr_t = unsafe { std::mem::zeroed() };
        // SAFETY: initialising our own zeroed objects.
        cvt_spawn(unsafe { libc::posix_spawn_file_actions_init(&mut actions) })?;
        // SAFETY: as above.
        if let Err(e) = cvt_spawn(unsafe { libc::posix_spawnattr_init(&mut attr) }) {
            // SAFETY: initialised just above, destroyed once.
            unsafe { libc::posix_spawn_file_actions_destroy(&mut actions) };
            return Err(e);
        }
        let spawn = Spawn {
            search: !path.as_os_str().as_bytes().contains(&b'/'),
            path: path_c,
            _args: owned,
            argv,
            actions,
            attr,
        };
        spawn.prepare(keep)
    }

    fn prepare(mut self, keep: &[RawFd]) -> io::Result<Spawn> {
        for &fd in keep {
            // SAFETY: an initialised file-actions object of ours; adding an action only
            // records it (allocating here, in this process, before the spawn).
            cvt_spawn(unsafe {
                libc::posix_spawn_file_actions_adddup2(&mut self.actions, fd, fd)
            })?;
        }
        // SAFETY: sigset_t is plain data; sigemptyset/sigaddset initialise it.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: a valid sigset of ours and an initialised attribute object.
        unsafe {
            libc::sigemptyset(&mut set);
            cvt_spawn(libc::posix_spawnattr_setsigmask(&mut self.attr, &set))?;
            libc::sigaddset(&mut set, libc::SIGPIPE);
            cvt_spawn(libc::posix_spawnattr_setsigdefault(&mut self.attr, &set))?;
            let flags = libc::POSIX_SPAWN_SETSIGMASK | libc::POSIX_SPAWN_SETSIGDEF;
            cvt_spawn(libc::posix_spawnattr_setflags(&mut self.attr, flags as _))?;
        }
        Ok(self)
    }

    /// Spawns it: libc's `posix_spawn`, `clone(CLONE_VM | CLONE_VFORK)` with the file actions
    /// and `execve` in the child, no `fork`. Returns once the child has executed the program
    /// (or failed to: that errno is the error).
    pub(crate) fn spawn(&self) -> io::Result<u32> {
        let mut pid: libc::pid_t = 0;
        let spawn = if self.search {
            libc::posix_spawnp
        } else {
            libc::posix_spawn
        };
        // SAFETY: `path` and every `argv` entry are NUL-terminated strings owned by `self`,
        // `argv` is NULL-terminated, the file actions and attributes are initialised, and
        // `environ` is the process environment (as `std::process::Command` reads it).
        cvt_spawn(unsafe {
            spawn(
                &mut pid,
                self.path.as_ptr(),
                &self.actions,
                &self.attr,
                self.argv.as_ptr(),
                environ.cast(),
            )
        })?;
        Ok(pid as u32)
    }
}

impl Drop for Spawn {
    fn drop(&mut self) {
        // SAFETY: both were initialised in `new` and are destroyed only here.
        unsafe {
            libc::posix_spawn_file_actions_destroy(&mut self.actions);
            libc::posix_spawnattr_destroy(&mut self.attr);
        }
    }
}

/// A connected `AF_UNIX` `SOCK_SEQPACKET` pair (a fork server's socket), both ends
/// close-on-exec.
pub(crate) fn seqpacket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds: [libc::c_int; 2] = [-1; 2];
    let ty = libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC;
    // SAFETY: `fds` has room for the two fds socketpair writes.
    cvt(unsafe { libc::socketpair(libc::AF_UNIX, ty, 0, fds.as_mut_ptr()) })?;
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Sends `bytes` as one message with `fds` attached (`SCM_RIGHTS`), with `MSG_NOSIGNAL`.
pub(crate) fn send_with_fds(sock: BorrowedFd<'_>, bytes: &[u8], fds: &[RawFd]) -> io::Result<()> {
    let fd_bytes = std::mem::size_of_val(fds) as u32;
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(fd_bytes) } as usize;
    let mut control = vec![0u64; space.div_ceil(8)];
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    // SAFETY: an all-zero msghdr is a valid empty one.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !fds.is_empty() {
        msg.msg_control = control.as_mut_ptr().cast();
        // (`as _`: the field is a usize with glibc, a u32 with musl.)
        msg.msg_controllen = space as _;
        // SAFETY: the control buffer holds CMSG_SPACE(fd_bytes) bytes, 8-aligned, so the first
        // header and its data (fds.len() ints) fit in it.
        unsafe {
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(fd_bytes) as _;
            std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(cmsg).cast(), fds.len());
        }
    }
    loop {
        // SAFETY: msg points at live buffers (iov, control) for the duration of the call.
        let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
        if n >= 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// `shutdown(fd, SHUT_RDWR)`: the peer sees end of stream even while other copies of `fd`
/// stay open.
pub(crate) fn shutdown(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: shutdown takes no memory arguments.
    cvt(unsafe { libc::shutdown(fd.as_raw_fd(), libc::SHUT_RDWR) }).map(drop)
}

/// `SO_PASSCRED` on a unix socket: every message read from it comes with its sender's
/// credentials, the pid as this process's pid namespace numbers it (`SCM_CREDENTIALS`).
pub(crate) fn pass_credentials(fd: BorrowedFd<'_>) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: setsockopt reads one c_int from a live local.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PASSCRED,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })
    .map(drop)
}

/// [`read_full`] on a socket with [`pass_credentials`]: also the pid of the sender of the
/// first bytes read (a stream socket with `SO_PASSCRED` never joins two senders' messages in
/// one read), in this process's pid namespace; `None` when none came.
pub(crate) fn read_full_with_sender(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
) -> io::Result<(usize, Option<u32>)> {
    let ucred_len = std::mem::size_of::<libc::ucred>() as u32;
    let mut control = [0u64; 8];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: an all-zero msghdr is a valid empty one.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    let n = loop {
        // SAFETY: msg points at live buffers (buf, control) for the duration of the call.
        let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n >= 0 {
            break n as usize;
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::ECONNRESET) => return Ok((0, None)),
            _ => return Err(e),
        }
    };
    let mut sender = None;
    // SAFETY: walking the control messages recvmsg wrote inside `control`; a credentials
    // message's data is one ucred, read unaligned.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET
                && (*c).cmsg_type == libc::SCM_CREDENTIALS
                && (*c).cmsg_len as usize >= libc::CMSG_LEN(ucred_len) as usize
            {
                let cred = libc::CMSG_DATA(c).cast::<libc::ucred>().read_unaligned();
                sender = u32::try_from(cred.pid).ok().filter(|&p| p != 0);
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    if n == 0 || n == buf.len() {
        return Ok((n, sender));
    }
    let rest = read_full(fd, &mut buf[n..])?;
    Ok((n + rest, sender))
}
