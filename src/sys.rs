//! The syscall layer: thin wrappers over the `syscall` instruction (`sc`), numbers and structs
//! from `linux-raw-sys`. Every `unsafe` of the helper outside `rt.rs` is here, one `// SAFETY:`
//! each. Wrappers return `Result<usize, Errno>`; the kernel's `-4095..=-1` range is the error.

use core::ffi::CStr;

use linux_raw_sys::general as g;

/// A raw errno value (the helper core's: pure logic and syscalls share it).
pub use forkexec_helper_core::Errno;

pub const EINTR: Errno = Errno(linux_raw_sys::errno::EINTR as i32);
pub const EBADF: Errno = Errno(linux_raw_sys::errno::EBADF as i32);
pub const EEXIST: Errno = Errno(linux_raw_sys::errno::EEXIST as i32);
pub const EINVAL: Errno = Errno(linux_raw_sys::errno::EINVAL as i32);
pub const EPERM: Errno = Errno(linux_raw_sys::errno::EPERM as i32);
pub const EPIPE: Errno = Errno(linux_raw_sys::errno::EPIPE as i32);
pub const ETXTBSY: Errno = Errno(linux_raw_sys::errno::ETXTBSY as i32);
pub const ECANCELED: Errno = Errno(linux_raw_sys::errno::ECANCELED as i32);
pub const EACCES: Errno = Errno(linux_raw_sys::errno::EACCES as i32);
pub const ENOEXEC: Errno = Errno(linux_raw_sys::errno::ENOEXEC as i32);
pub const ENOENT: Errno = Errno(linux_raw_sys::errno::ENOENT as i32);
pub const ENOTDIR: Errno = Errno(linux_raw_sys::errno::ENOTDIR as i32);
pub const EISDIR: Errno = Errno(linux_raw_sys::errno::EISDIR as i32);
pub const EAGAIN: Errno = Errno(linux_raw_sys::errno::EAGAIN as i32);
pub const ENXIO: Errno = Errno(linux_raw_sys::errno::ENXIO as i32);
pub const EROFS: Errno = Errno(linux_raw_sys::errno::EROFS as i32);

pub type Result<T = usize> = core::result::Result<T, Errno>;

fn check(ret: usize) -> Result {
    if ret > (-4096isize) as usize {
        Err(Errno(-(ret as isize) as i32))
    } else {
        Ok(ret)
    }
}

/// Pointer to a C string, or NULL for an empty one (mount's source, fstype and data).
fn ptr_or_null(s: &CStr) -> usize {
    if s.is_empty() {
        0
    } else {
        s.as_ptr() as usize
    }
}

macro_rules! nr {
    ($name:ident) => {
        g::$name as usize
    };
}

pub fn read(fd: i32, buf: &mut [u8]) -> Result {
    // SAFETY: the kernel writes at most buf.len() bytes into memory we exclusively borrow.
    check(unsafe {
        sc::syscall3(
            nr!(__NR_read),
            fd as usize,
            buf.as_mut_ptr() as usize,
            buf.len(),
        )
    })
}

pub fn write(fd: i32, buf: &[u8]) -> Result {
    // SAFETY: the kernel only reads buf.len() bytes from a live slice.
    check(unsafe {
        sc::syscall3(
            nr!(__NR_write),
            fd as usize,
            buf.as_ptr() as usize,
            buf.len(),
        )
    })
}

/// `send(fd, buf, MSG_NOSIGNAL)`: writing to a runtime that went away gives EPIPE, not SIGPIPE.
pub fn send_nosignal(fd: i32, buf: &[u8]) -> Result {
    let flags = linux_raw_sys::net::MSG_NOSIGNAL as usize;
    // SAFETY: reads buf.len() bytes from a live slice; NULL address with length 0 is valid.
    check(unsafe {
        sc::syscall6(
            nr!(__NR_sendto),
            fd as usize,
            buf.as_ptr() as usize,
            buf.len(),
            flags,
            0,
            0,
        )
    })
}

/// `recv(fd, buf, flags)` (with `MSG_DONTWAIT`: EAGAIN while nothing has arrived yet).
pub fn recv(fd: i32, buf: &mut [u8], flags: u32) -> Result {
    // SAFETY: the kernel writes at most buf.len() bytes into memory we exclusively borrow;
    // NULL address with length 0 is valid.
    check(unsafe {
        sc::syscall6(
            nr!(__NR_recvfrom),
            fd as usize,
            buf.as_mut_ptr() as usize,
            buf.len(),
            flags as usize,
            0,
            0,
        )
    })
}

/// Whether `fd` is a socket (status records then go out with `send`, never raising SIGPIPE).
pub fn is_socket(fd: i32) -> bool {
    let mut st = core::mem::MaybeUninit::<g::stat>::zeroed();
    // SAFETY: the kernel fills a stat struct we own.
    let ok = check(unsafe { sc::syscall2(nr!(__NR_fstat), fd as usize, st.as_mut_ptr() as usize) });
    // SAFETY: zero-initialised, and filled when fstat succeeded.
    ok.is_ok() && unsafe { st.assume_init() }.st_mode & g::S_IFMT == g::S_IFSOCK
}

/// Whether `fd` is open read-only (`O_RDONLY`): a status fd nobody can write records to.
pub fn is_read_only(fd: i32) -> bool {
    // SAFETY: F_GETFL only reads the fd's flags.
    let flags = unsafe { sc::syscall2(nr!(__NR_fcntl), fd as usize, g::F_GETFL as usize) };
    check(flags).is_ok() && flags as u32 & g::O_ACCMODE == g::O_RDONLY
}

/// A whole-file read lock (`F_SETLK`, `F_RDLCK` from offset 0, length 0: all zero), owned by
/// this process until it closes `fd` or exits; EAGAIN when another process holds a write lock.
pub fn read_lock(fd: i32) -> Result {
    let lock = g::flock {
        l_type: g::F_RDLCK as _,
        l_whence: g::SEEK_SET as _,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    // SAFETY: the kernel reads a flock struct we own, alive across the call.
    check(unsafe {
        sc::syscall3(
            nr!(__NR_fcntl),
            fd as usize,
            g::F_SETLK as usize,
            &lock as *const g::flock as usize,
        )
    })
}

pub fn close(fd: i32) -> Result {
    // SAFETY: closing an fd has no memory effects.
    check(unsafe { sc::syscall1(nr!(__NR_close), fd as usize) })
}

pub fn exit_group(code: i32) -> ! {
    // SAFETY: exit_group does not return.
    unsafe { sc::syscall1(nr!(__NR_exit_group), code as usize) };
    #[allow(clippy::empty_loop)]
    loop {}
}

pub fn getpid() -> i32 {
    // SAFETY: no arguments, cannot fail.
    unsafe { sc::syscall0(nr!(__NR_getpid)) as i32 }
}

pub fn getsid() -> Result {
    // SAFETY: getsid(0) reads our own session id; no memory arguments.
    check(unsafe { sc::syscall1(nr!(__NR_getsid), 0) })
}

/// The real, effective and saved user ids (`getresuid`), in one call.
pub fn getresuid() -> [u32; 3] {
    getres(nr!(__NR_getresuid))
}

/// The real, effective and saved group ids (`getresgid`), in one call.
pub fn getresgid() -> [u32; 3] {
    getres(nr!(__NR_getresgid))
}

pub fn geteuid() -> u32 {
    // SAFETY: no arguments, cannot fail.
    unsafe { sc::syscall0(nr!(__NR_geteuid)) as u32 }
}

pub fn getegid() -> u32 {
    // SAFETY: no arguments, cannot fail.
    unsafe { sc::syscall0(nr!(__NR_getegid)) as u32 }
}

fn getres(nr: usize) -> [u32; 3] {
    let mut ids = [0u32; 3];
    let p = ids.as_mut_ptr() as usize;
    // SAFETY: the kernel writes three u32s into an array we own (4 bytes apart); it cannot
    // fail with valid pointers.
    unsafe { sc::syscall3(nr, p, p + 4, p + 8) };
    ids
}

pub fn unshare(flags: u64) -> Result {
    // SAFETY: no memory arguments.
    check(unsafe { sc::syscall1(nr!(__NR_unshare), flags as usize) })
}

/// `setns(fd, nstype)`: join the namespace `fd` is open on.
pub fn setns(fd: i32, nstype: u64) -> Result {
    // SAFETY: no memory arguments.
    check(unsafe { sc::syscall2(nr!(__NR_setns), fd as usize, nstype as usize) })
}

pub fn open(path: &CStr, flags: u32) -> Result<i32> {
    let flags = (flags | g::O_CLOEXEC) as usize;
    // SAFETY: path is NUL-terminated and lives across the call.
    let fd = check(unsafe {
        sc::syscall4(
            nr!(__NR_openat),
            g::AT_FDCWD as usize,
            path.as_ptr() as usize,
            flags,
            0,
        )
    })?;
    Ok(fd as i32)
}

pub fn mount(source: &CStr, target: &CStr, fstype: &CStr, flags: u64, data: &CStr) -> Result {
    // SAFETY: every pointer is NULL or a NUL-terminated string alive across the call.
    check(unsafe {
        sc::syscall5(
            nr!(__NR_mount),
            ptr_or_null(source),
            target.as_ptr() as usize,
            ptr_or_null(fstype),
            flags as usize,
            ptr_or_null(data),
        )
    })
}

pub fn umount2(target: &CStr, flags: u32) -> Result {
    // SAFETY: target is NUL-terminated and alive across the call.
    check(unsafe { sc::syscall2(nr!(__NR_umount2), target.as_ptr() as usize, flags as usize) })
}

pub fn mkdir(path: &CStr, mode: u32) -> Result {
    // SAFETY: path is NUL-terminated and alive across the call.
    check(unsafe {
        sc::syscall3(
            nr!(__NR_mkdirat),
            g::AT_FDCWD as usize,
            path.as_ptr() as usize,
            mode as usize,
        )
    })
}

pub fn mknod_file(path: &CStr, mode: u32) -> Result {
    mknodat_file(g::AT_FDCWD, path, mode)
}

/// An empty regular file `path` (below `dir`), made without opening it.
pub fn mknodat_file(dir: i32, path: &CStr, mode: u32) -> Result {
    let mode = (g::S_IFREG | mode) as usize;
    // SAFETY: path is NUL-terminated and alive across the call; a regular file needs no dev.
    check(unsafe {
        sc::syscall4(
            nr!(__NR_mknodat),
            dir as usize,
            path.as_ptr() as usize,
            mode,
            0,
        )
    })
}

/// `faccessat(dir, path, mode)`: checked with the real ids, as `access(2)`.
pub fn faccessat(dir: i32, path: &CStr, mode: u32) -> Result {
    // SAFETY: path is NUL-terminated and alive across the call.
    check(unsafe {
        sc::syscall3(
            nr!(__NR_faccessat),
            dir as usize,
            path.as_ptr() as usize,
            mode as usize,
        )
    })
}

pub fn chdir(path: &CStr) -> Result {
    // SAFETY: path is NUL-terminated and alive across the call.
    check(unsafe { sc::syscall1(nr!(__NR_chdir), path.as_ptr() as usize) })
}

/// The working directory's path as the kernel resolves it from this process's root; the
/// kernel prefixes it with `(unreachable)` when the directory is not below that root.
pub fn getcwd(buf: &mut [u8]) -> Result {
    // SAFETY: the kernel writes at most buf.len() bytes into memory we exclusively borrow.
    check(unsafe { sc::syscall2(nr!(__NR_getcwd), buf.as_mut_ptr() as usize, buf.len()) })
}

pub fn pivot_root(new_root: &CStr, put_old: &CStr) -> Result {
    // SAFETY: both paths are NUL-terminated and alive across the call.
    check(unsafe {
        sc::syscall2(
            nr!(__NR_pivot_root),
            new_root.as_ptr() as usize,
            put_old.as_ptr() as usize,
        )
    })
}

/// The `ST_*` mount flags of the filesystem holding `path`.
pub fn statfs_flags(path: &CStr) -> Result<u64> {
    let mut st = core::mem::MaybeUninit::<g::statfs>::zeroed();
    // SAFETY: the kernel fills a statfs struct we own; path is NUL-terminated.
    check(unsafe {
        sc::syscall2(
            nr!(__NR_statfs),
            path.as_ptr() as usize,
            st.as_mut_ptr() as usize,
        )
    })?;
    // SAFETY: zero-initialised and then filled by a successful statfs.
    Ok(unsafe { st.assume_init() }.f_flags as u64)
}

pub fn sethostname(name: &CStr) -> Result {
    let len = name.to_bytes().len();
    // SAFETY: reads len bytes of a live string.
    check(unsafe { sc::syscall2(nr!(__NR_sethostname), name.as_ptr() as usize, len) })
}

pub fn setdomainname(name: &CStr) -> Result {
    let len = name.to_bytes().len();
    // SAFETY: reads len bytes of a live string.
    check(unsafe { sc::syscall2(nr!(__NR_setdomainname), name.as_ptr() as usize, len) })
}

pub fn prctl(option: u32, arg2: usize, arg3: usize) -> Result {
    // SAFETY: only used with options whose arguments are plain integers.
    check(unsafe { sc::syscall5(nr!(__NR_prctl), option as usize, arg2, arg3, 0, 0) })
}

/// `prctl(PR_SET_NAME)`: this thread's name (`comm`), `name` cut to its first 15 bytes.
pub fn set_name(name: &[u8]) -> Result {
    let mut comm = [0u8; 16];
    let len = name.len().min(15);
    comm[..len].copy_from_slice(&name[..len]);
    // SAFETY: the kernel reads at most 16 bytes of comm, which is NUL-terminated and alive.
    check(unsafe {
        sc::syscall2(
            nr!(__NR_prctl),
            linux_raw_sys::prctl::PR_SET_NAME as usize,
            comm.as_ptr() as usize,
        )
    })
}

/// capget/capset's arguments: a version 3 header for this thread and two empty data structs
/// (the low and high 32 capabilities).
fn cap_args() -> (g::__user_cap_header_struct, [g::__user_cap_data_struct; 2]) {
    let header = g::__user_cap_header_struct {
        version: g::_LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = g::__user_cap_data_struct {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    };
    (header, [data; 2])
}

/// The capability sets (effective, permitted, inheritable), 64 bits each.
pub fn capget() -> Result<[u64; 3]> {
    let (mut header, mut data) = cap_args();
    // SAFETY: version 3 reads two data structs into an array of two we own.
    check(unsafe {
        sc::syscall2(
            nr!(__NR_capget),
            &mut header as *mut _ as usize,
            data.as_mut_ptr() as usize,
        )
    })?;
    let join = |lo: u32, hi: u32| lo as u64 | (hi as u64) << 32;
    Ok([
        join(data[0].effective, data[1].effective),
        join(data[0].permitted, data[1].permitted),
        join(data[0].inheritable, data[1].inheritable),
    ])
}

/// Sets the effective, permitted and inheritable sets all to `caps` (bit `n` = capability `n`).
pub fn capset(caps: u64) -> Result {
    let (mut header, mut data) = cap_args();
    for (i, d) in data.iter_mut().enumerate() {
        let word = (caps >> (32 * i)) as u32;
        (d.effective, d.permitted, d.inheritable) = (word, word, word);
    }
    // SAFETY: version 3 reads two data structs from an array of two that lives across the call.
    check(unsafe {
        sc::syscall2(
            nr!(__NR_capset),
            &mut header as *mut _ as usize,
            data.as_ptr() as usize,
        )
    })
}

/// `setgroups` with raw little-endian u32 groups (the wire bytes, native on x86_64).
pub fn setgroups(count: usize, groups: &[u8]) -> Result {
    debug_assert_eq!(groups.len(), count * 4);
    // SAFETY: the kernel copies count u32s from a live slice of exactly that size (unaligned
    // user memory is fine for copy_from_user).
    check(unsafe { sc::syscall2(nr!(__NR_setgroups), count, groups.as_ptr() as usize) })
}

pub fn setgid(gid: u32) -> Result {
    // SAFETY: no memory arguments.
    check(unsafe { sc::syscall1(nr!(__NR_setgid), gid as usize) })
}

pub fn setuid(uid: u32) -> Result {
    // SAFETY: no memory arguments.
    check(unsafe { sc::syscall1(nr!(__NR_setuid), uid as usize) })
}

pub fn dup3(old: i32, new: i32, flags: u32) -> Result {
    // SAFETY: no memory arguments.
    check(unsafe { sc::syscall3(nr!(__NR_dup3), old as usize, new as usize, flags as usize) })
}

pub fn clear_cloexec(fd: i32) -> Result {
    // SAFETY: F_SETFD takes an integer argument.
    check(unsafe { sc::syscall3(nr!(__NR_fcntl), fd as usize, g::F_SETFD as usize, 0) })
}

/// Closes every fd except those in `keep` (a supervisor keeps only its own channels, so the
/// runtime's pipes given to the target see EOF when the target closes them).
pub fn close_all_except(keep: &[i32]) {
    let mut first: u32 = 0;
    loop {
        // The lowest kept fd at or above `first`: close everything below it.
        let next = keep
            .iter()
            .filter(|&&fd| fd >= 0 && fd as u32 >= first)
            .min();
        let last = next.map_or(u32::MAX, |&fd| fd as u32);
        if last > first {
            // SAFETY: no memory arguments.
            let _ = unsafe {
                sc::syscall3(
                    nr!(__NR_close_range),
                    first as usize,
                    (last - 1) as usize,
                    0,
                )
            };
        }
        match next {
            Some(&fd) if fd as u32 != u32::MAX => first = fd as u32 + 1,
            _ => return,
        }
    }
}

/// Marks every fd in `first..` close-on-exec.
pub fn close_range_cloexec(first: u32) -> Result {
    const CLOSE_RANGE_CLOEXEC: usize = 1 << 2; // not in linux-raw-sys
                                               // SAFETY: no memory arguments.
    check(unsafe {
        sc::syscall3(
            nr!(__NR_close_range),
            first as usize,
            u32::MAX as usize,
            CLOSE_RANGE_CLOEXEC,
        )
    })
}

pub fn setsid() -> Result {
    // SAFETY: no arguments.
    check(unsafe { sc::syscall0(nr!(__NR_setsid)) })
}

/// `TIOCSCTTY` on `fd`, without stealing a terminal that is another session's (arg 0).
pub fn set_controlling_tty(fd: i32) -> Result {
    let req = linux_raw_sys::ioctl::TIOCSCTTY as usize;
    // SAFETY: TIOCSCTTY takes an integer argument.
    check(unsafe { sc::syscall3(nr!(__NR_ioctl), fd as usize, req, 0) })
}

pub fn prlimit(resource: u32, cur: u64, max: u64) -> Result {
    let limit = g::rlimit64 {
        rlim_cur: cur,
        rlim_max: max,
    };
    // SAFETY: the kernel reads a live rlimit64; the old-limit pointer is NULL.
    check(unsafe {
        sc::syscall4(
            nr!(__NR_prlimit64),
            0,
            resource as usize,
            &limit as *const _ as usize,
            0,
        )
    })
}

pub fn ptrace_traceme() -> Result {
    let req = linux_raw_sys::ptrace::PTRACE_TRACEME as usize;
    // SAFETY: PTRACE_TRACEME takes no memory arguments.
    check(unsafe { sc::syscall4(nr!(__NR_ptrace), req, 0, 0, 0) })
}

pub fn kill(pid: i32, sig: u32) -> Result {
    // SAFETY: no memory arguments.
    check(unsafe { sc::syscall2(nr!(__NR_kill), pid as usize, sig as usize) })
}

/// Loads a classic BPF seccomp filter given as raw `sock_filter` bytes (8 per instruction),
/// with `prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)` as bubblewrap does: a filter stacked
/// before another must allow `prctl`, the call bubblewrap's filter authors already allow.
pub fn seccomp_filter(insns: &[u8]) -> Result {
    let prog = linux_raw_sys::ptrace::sock_fprog {
        len: (insns.len() / 8) as u16,
        filter: insns.as_ptr() as *mut linux_raw_sys::ptrace::sock_filter,
    };
    let (set, mode) = (
        linux_raw_sys::prctl::PR_SET_SECCOMP,
        linux_raw_sys::ptrace::SECCOMP_MODE_FILTER,
    );
    // SAFETY: the kernel copies len instructions from a live byte slice of exactly that size
    // (sock_filter's wire layout is its native layout on little-endian; copy_from_user does
    // not need alignment) and reads the sock_fprog on our stack.
    check(unsafe {
        sc::syscall5(
            nr!(__NR_prctl),
            set as usize,
            mode as usize,
            &prog as *const _ as usize,
            0,
            0,
        )
    })
}

/// `execve(path, argv, envp)`; only returns on failure. (Plain execve rather than execveat, so
/// a seccomp filter that allows only execve still lets the helper exec.)
pub fn execve(path: &CStr, argv: *const *const u8, envp: *const *const u8) -> Errno {
    // SAFETY: path is NUL-terminated; argv and envp are NULL-terminated arrays of pointers to
    // NUL-terminated strings in the static spec buffer, all alive across the call.
    let ret = unsafe {
        sc::syscall3(
            nr!(__NR_execve),
            path.as_ptr() as usize,
            argv as usize,
            envp as usize,
        )
    };
    check(ret).err().unwrap_or(EINVAL)
}

/// `execveat(dirfd, path, argv, envp, flags)`; only returns on failure.
pub fn execveat(
    dirfd: i32,
    path: &CStr,
    argv: *const *const u8,
    envp: *const *const u8,
    flags: u32,
) -> Errno {
    // SAFETY: path is NUL-terminated; argv and envp are NULL-terminated arrays of pointers to
    // NUL-terminated strings in the static spec buffer, all alive across the call.
    let ret = unsafe {
        sc::syscall5(
            nr!(__NR_execveat),
            dirfd as usize,
            path.as_ptr() as usize,
            argv as usize,
            envp as usize,
            flags as usize,
        )
    };
    check(ret).err().unwrap_or(EINVAL)
}

pub fn sleep_ms(ms: u64) {
    let ts = g::__kernel_timespec {
        tv_sec: (ms / 1000) as i64,
        tv_nsec: ((ms % 1000) * 1_000_000) as i64,
    };
    // SAFETY: the kernel reads a live timespec; the remainder pointer is NULL.
    unsafe { sc::syscall2(nr!(__NR_nanosleep), &ts as *const _ as usize, 0) };
}

// ---- processes and signals (the clone shapes) ----

/// A signal set as the kernel's `rt_sig*` calls take it (64 bits on x86_64).
pub type SigSet = u64;
const SIGSET_SIZE: usize = 8;

pub fn getppid() -> i32 {
    // SAFETY: no arguments, cannot fail.
    unsafe { sc::syscall0(nr!(__NR_getppid)) as i32 }
}

/// A connected `AF_UNIX` stream pair, both ends close-on-exec.
pub fn socketpair() -> Result<[i32; 2]> {
    let mut fds = [0i32; 2];
    let kind = (linux_raw_sys::net::SOCK_STREAM | g::O_CLOEXEC) as usize;
    let domain = linux_raw_sys::net::AF_UNIX as usize;
    // SAFETY: the kernel writes two ints into an array we own.
    check(unsafe {
        sc::syscall4(
            nr!(__NR_socketpair),
            domain,
            kind,
            0,
            fds.as_mut_ptr() as usize,
        )
    })?;
    Ok(fds)
}

/// A close-on-exec `AF_UNIX` datagram socket: a handle for the network device ioctls of this
/// process's network namespace.
pub fn ioctl_socket() -> Result<i32> {
    let kind = (linux_raw_sys::net::SOCK_DGRAM | g::O_CLOEXEC) as usize;
    let domain = linux_raw_sys::net::AF_UNIX as usize;
    // SAFETY: socket takes three integers.
    check(unsafe { sc::syscall3(nr!(__NR_socket), domain, kind, 0) }).map(|fd| fd as i32)
}

/// `SIOCSIFFLAGS` through socket `fd`: the interface `name` (below 16 bytes) up, its other
/// changeable flags cleared (a new network namespace's `lo` has none).
pub fn set_link_up(fd: i32, name: &[u8]) -> Result {
    const IFF_UP: u8 = 1; // linux/if.h
                          // struct ifreq: the name (16 bytes, NUL-terminated), then a 24-byte union whose first
                          // member here is the flags (a short).
    let mut ifr = [0u8; 40];
    ifr[..name.len()].copy_from_slice(name);
    ifr[16] = IFF_UP;
    let req = linux_raw_sys::ioctl::SIOCSIFFLAGS as usize;
    // SAFETY: SIOCSIFFLAGS reads a struct ifreq: 40 bytes we own.
    check(unsafe { sc::syscall3(nr!(__NR_ioctl), fd as usize, req, ifr.as_ptr() as usize) })
}

/// A pipe `[read, write]`, both ends close-on-exec.
pub fn pipe() -> Result<[i32; 2]> {
    let mut fds = [0i32; 2];
    // SAFETY: the kernel writes two ints into an array we own.
    check(unsafe {
        sc::syscall2(
            nr!(__NR_pipe2),
            fds.as_mut_ptr() as usize,
            g::O_CLOEXEC as usize,
        )
    })?;
    Ok(fds)
}

/// `clone3` arguments with fork semantics: `flags`, exit signal SIGCHLD, no stack, no pidfd,
/// no cgroup (the callers set what they need).
fn fork_args(flags: u64) -> g::clone_args {
    g::clone_args {
        flags,
        pidfd: 0,
        child_tid: 0,
        parent_tid: 0,
        exit_signal: g::SIGCHLD as u64,
        stack: 0,
        stack_size: 0,
        tls: 0,
        set_tid: 0,
        set_tid_size: 0,
        cgroup: 0,
    }
}

/// `clone3(args)` for `fork_args`-shaped arguments: no `CLONE_VM` and no stack.
fn clone3(args: &g::clone_args) -> Result<usize> {
    debug_assert!(args.flags & g::CLONE_VM as u64 == 0 && args.stack == 0);
    let size = core::mem::size_of::<g::clone_args>();
    // SAFETY: no CLONE_VM and no stack (fork_args): the child gets a copy of this address
    // space and returns from the syscall like fork(2); the kernel reads the args we own and
    // writes only through the pointers in them, which the callers keep live (a pidfd slot).
    check(unsafe { sc::syscall2(nr!(__NR_clone3), args as *const _ as usize, size) })
}

/// `clone3` without `CLONE_VM`: fork semantics, with namespace flags, `CLONE_PARENT` and
/// `CLONE_INTO_CGROUP`. Returns 0 in the child and the child's pid in the parent. Falls back
/// to `clone` when the kernel has no clone3 (ENOSYS) and no cgroup is asked for.
pub fn clone(flags: u64, cgroup_fd: Option<i32>) -> Result<i32> {
    let mut args = fork_args(flags);
    if flags & g::CLONE_PARENT as u64 != 0 {
        // clone3 refuses an exit signal with CLONE_PARENT: the child takes ours (SIGCHLD).
        args.exit_signal = 0;
    }
    if let Some(fd) = cgroup_fd {
        args.flags |= g::CLONE_INTO_CGROUP;
        args.cgroup = fd as u64;
    }
    match clone3(&args) {
        Err(Errno(38)) if cgroup_fd.is_none() => {
            let flags = (flags | g::SIGCHLD as u64) as usize;
            // SAFETY: as above, clone(2) with no CLONE_VM and a NULL stack is fork(2).
            Ok(check(unsafe { sc::syscall5(nr!(__NR_clone), flags, 0, 0, 0, 0) })? as i32)
        }
        other => Ok(other? as i32),
    }
}

/// A child's stack for [`clone_vm`]: page-aligned, its lowest page made a guard (PROT_NONE)
/// by `clone_vm`, so an overflow faults instead of writing over other static memory.
#[repr(C, align(4096))]
pub struct CloneStack(pub [u8; CLONE_STACK_LEN]);

/// Size of a [`CloneStack`], guard page included. The chain's deepest path uses a few pages
/// (`scripts/helper-frames.py` keeps every frame under 6 KiB).
pub const CLONE_STACK_LEN: usize = 128 << 10;

/// `clone3` with `CLONE_VM`, as `posix_spawn`'s `clone(CLONE_VM | CLONE_VFORK)` but without
/// the parent waiting: the child shares this address space until it executes, so no page
/// table is copied for it, none is torn down at its `execve`, and nothing it writes (a stack
/// page, a static) is a copy-on-write fault on either side. The child starts in `entry(arg)`
/// on `stack` and must never return: no frame of the caller exists on its stack. Flags,
/// `CLONE_PARENT`, the cgroup and the ENOSYS fallback (to `clone`, without a cgroup) are as
/// for [`clone`]. Returns the child's pid.
pub fn clone_vm(
    flags: u64,
    cgroup_fd: Option<i32>,
    stack: &'static mut CloneStack,
    entry: extern "C" fn(usize) -> !,
    arg: usize,
) -> Result<i32> {
    let lo = stack.0.as_mut_ptr() as usize;
    // SAFETY: the guard is the first page of memory we own (page-aligned, static); no
    // reference into that page is ever used.
    check(unsafe { sc::syscall3(nr!(__NR_mprotect), lo, 4096, g::PROT_NONE as usize) })?;
    let top = (lo + CLONE_STACK_LEN) & !15;
    let flags = flags | g::CLONE_VM as u64;
    let mut args = fork_args(flags);
    if flags & g::CLONE_PARENT as u64 != 0 {
        args.exit_signal = 0; // as in `clone`
    }
    if let Some(fd) = cgroup_fd {
        args.flags |= g::CLONE_INTO_CGROUP;
        args.cgroup = fd as u64;
    }
    args.stack = lo as u64;
    args.stack_size = (top - lo) as u64;
    let size = core::mem::size_of::<g::clone_args>();
    let entry = entry as usize;
    // SAFETY: the child runs only `entry` on its own stack (it touches nothing of this frame)
    // and never returns; the kernel reads the args we own.
    let got = unsafe {
        spawn_on(
            nr!(__NR_clone3),
            &args as *const _ as usize,
            size,
            0,
            entry,
            arg,
        )
    };
    match check(got) {
        Err(Errno(38)) if cgroup_fd.is_none() => {
            let flags = (flags | g::SIGCHLD as u64) as usize;
            // SAFETY: as above; clone(2) takes the stack's top.
            let got = unsafe { spawn_on(nr!(__NR_clone), flags, top, 0, entry, arg) };
            Ok(check(got)? as i32)
        }
        other => Ok(other? as i32),
    }
}

/// The syscall `nr(a1, a2, a3)` that creates a child with its own stack pointer: in the child
/// (0 returned) `entry(arg)` is called on that stack, and never returns.
///
/// # Safety
/// `nr` must be `clone3` or `clone` with arguments that give the child a stack of its own;
/// `entry` must never return.
unsafe fn spawn_on(nr: usize, a1: usize, a2: usize, a3: usize, entry: usize, arg: usize) -> usize {
    let ret: usize;
    // SAFETY: the caller's contract; the child's path only reads registers it got from us.
    unsafe {
        core::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "xor ebp, ebp",
            "mov rdi, r13",
            "call r12",
            "ud2",
            "2:",
            inlateout("rax") nr => ret,
            in("rdi") a1,
            in("rsi") a2,
            in("rdx") a3,
            in("r10") 0usize,
            in("r8") 0usize,
            in("r12") entry,
            in("r13") arg,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    ret
}

/// What `wait4` reports: the pid, its raw wait status and its resource usage.
pub struct Waited {
    pub pid: i32,
    pub status: i32,
    pub utime_us: u64,
    pub stime_us: u64,
    pub maxrss_kib: u64,
}

/// Reaps any child (`wait4(-1)` with `__WALL`), blocking; ECHILD when there is none.
pub fn reap_any() -> Result {
    // SAFETY: no status or rusage is asked for (null pointers).
    check(unsafe { sc::syscall4(nr!(__NR_wait4), usize::MAX, 0, g::__WALL as usize, 0) })
}

/// `wait4(pid, options)`; `Ok(None)` with WNOHANG when nothing has changed state.
pub fn wait4(pid: i32, options: u32) -> Result<Option<Waited>> {
    let mut status = 0i32;
    let mut ru = core::mem::MaybeUninit::<g::rusage>::zeroed();
    // SAFETY: the kernel writes the status and a rusage struct we own.
    let got = check(unsafe {
        sc::syscall4(
            nr!(__NR_wait4),
            pid as usize,
            &mut status as *mut i32 as usize,
            options as usize,
            ru.as_mut_ptr() as usize,
        )
    })? as i32;
    if got == 0 {
        return Ok(None);
    }
    // SAFETY: zero-initialised, and filled by a successful wait4.
    let ru = unsafe { ru.assume_init() };
    let us = |tv: g::__kernel_old_timeval| tv.tv_sec as u64 * 1_000_000 + tv.tv_usec as u64;
    Ok(Some(Waited {
        pid: got,
        status,
        utime_us: us(ru.ru_utime),
        stime_us: us(ru.ru_stime),
        maxrss_kib: ru.ru_maxrss as u64,
    }))
}

/// Sets the signal mask; returns the previous one.
pub fn sigprocmask(how: u32, set: SigSet) -> Result<SigSet> {
    let mut old: SigSet = 0;
    // SAFETY: the kernel reads and writes 8-byte sets we own.
    check(unsafe {
        sc::syscall4(
            nr!(__NR_rt_sigprocmask),
            how as usize,
            &set as *const SigSet as usize,
            &mut old as *mut SigSet as usize,
            SIGSET_SIZE,
        )
    })?;
    Ok(old)
}

/// A close-on-exec signalfd for `mask`.
pub fn signalfd(mask: SigSet) -> Result<i32> {
    // SAFETY: the kernel reads an 8-byte set we own.
    let fd = check(unsafe {
        sc::syscall4(
            nr!(__NR_signalfd4),
            usize::MAX, // -1: a new signalfd
            &mask as *const SigSet as usize,
            SIGSET_SIZE,
            g::O_CLOEXEC as usize,
        )
    })?;
    Ok(fd as i32)
}

/// Reads one `signalfd_siginfo` and returns its signal number.
pub fn read_signal(fd: i32) -> Result<u32> {
    let mut info = [0u8; 128];
    read(fd, &mut info)?;
    Ok(u32::from_le_bytes([info[0], info[1], info[2], info[3]]))
}

/// Whether `fd` is the write end of a pipe whose read end is closed (poll says POLLERR):
/// a write would raise SIGPIPE.
pub fn has_no_reader(fd: i32) -> bool {
    #[repr(C)]
    struct PollFd {
        fd: i32,
        events: i16,
        revents: i16,
    }
    let mut p = PollFd {
        fd,
        events: g::POLLOUT as i16,
        revents: 0,
    };
    // SAFETY: the kernel reads and updates one pollfd we own; timeout 0 never blocks.
    let r = unsafe { sc::syscall3(nr!(__NR_poll), &mut p as *mut PollFd as usize, 1, 0) };
    check(r).is_ok() && p.revents & g::POLLERR as i16 != 0
}

/// Waits until one of `fds` is readable (or hung up); returns which, as a bit per fd.
pub fn poll_read(fds: &[i32; 2]) -> Result<u32> {
    #[repr(C)]
    struct PollFd {
        fd: i32,
        events: i16,
        revents: i16,
    }
    let mut p = [
        PollFd {
            fd: fds[0],
            events: g::POLLIN as i16,
            revents: 0,
        },
        PollFd {
            fd: fds[1],
            events: g::POLLIN as i16,
            revents: 0,
        },
    ];
    // SAFETY: the kernel reads and updates two pollfd structs we own; -1 waits forever.
    check(unsafe { sc::syscall3(nr!(__NR_poll), p.as_mut_ptr() as usize, 2, usize::MAX) })?;
    Ok((p[0].revents != 0) as u32 | ((p[1].revents != 0) as u32) << 1)
}

/// Resets `sig` to its default action.
pub fn default_signal(sig: u32) -> Result {
    set_signal_action(sig, false).map(|_| 0)
}

/// Sets `sig` to SIG_IGN (`ignore`) or SIG_DFL; returns whether it was ignored before.
pub fn set_signal_action(sig: u32, ignore: bool) -> Result<bool> {
    // SIG_IGN is the handler value 1; SIG_DFL is 0 (None).
    let handler: g::__kernel_sighandler_t = if ignore {
        // SAFETY: SIG_IGN is a sentinel the kernel never calls; the value is only stored.
        unsafe { core::mem::transmute::<usize, g::__kernel_sighandler_t>(1) }
    } else {
        None
    };
    let act = g::kernel_sigaction {
        sa_handler_kernel: handler,
        sa_flags: 0,
        sa_restorer: None,
        sa_mask: g::kernel_sigset_t { sig: [0] },
    };
    let mut old = g::kernel_sigaction {
        sa_handler_kernel: None,
        sa_flags: 0,
        sa_restorer: None,
        sa_mask: g::kernel_sigset_t { sig: [0] },
    };
    // SAFETY: SIG_IGN/SIG_DFL need no handler or restorer; the kernel reads `act` and writes
    // `old`, two structs we own.
    check(unsafe {
        sc::syscall4(
            nr!(__NR_rt_sigaction),
            sig as usize,
            &act as *const _ as usize,
            &mut old as *mut _ as usize,
            SIGSET_SIZE,
        )
    })?;
    Ok(old.sa_handler_kernel.map(|h| h as usize) == Some(1))
}

/// `keyctl(KEYCTL_JOIN_SESSION_KEYRING, NULL)`: a new anonymous session keyring.
pub fn join_new_session_keyring() -> Result {
    const KEYCTL_JOIN_SESSION_KEYRING: usize = 1;
    // SAFETY: a NULL name asks for an anonymous keyring; nothing is read or written.
    check(unsafe { sc::syscall2(nr!(__NR_keyctl), KEYCTL_JOIN_SESSION_KEYRING, 0) })
}

pub fn openat(dirfd: i32, path: &CStr, flags: u32) -> Result<i32> {
    let flags = (flags | g::O_CLOEXEC) as usize;
    // SAFETY: path is NUL-terminated and lives across the call.
    let fd = check(unsafe {
        sc::syscall4(
            nr!(__NR_openat),
            dirfd as usize,
            path.as_ptr() as usize,
            flags,
            0,
        )
    })?;
    Ok(fd as i32)
}

// ---- Paths and the new mount API (mount operations, `mounts.rs`) ----

/// An owned fd, closed on drop: the mount stage opens many (roots, targets, detached mounts).
pub struct Fd(pub i32);

impl Drop for Fd {
    fn drop(&mut self) {
        let _ = close(self.0);
    }
}

/// `openat2` with `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`: `path` is resolved as if `root`
/// were `/`, so neither `..` nor a symlink (absolute or relative) can lead out of it.
/// The kernel answers EAGAIN when a mount or rename anywhere (any namespace) raced a `..`
/// step of the walk; openat2(2) says to retry: up to [`OPEN_IN_ROOT_TRIES`] times.
pub fn open_in_root(root: i32, path: &CStr, flags: u32) -> Result<Fd> {
    open_in_root_resolving(root, path, flags, 0)
}

/// [`open_in_root`] with more `RESOLVE_*` flags (`RESOLVE_NO_SYMLINKS` for a mask).
pub fn open_in_root_resolving(root: i32, path: &CStr, flags: u32, resolve: u32) -> Result<Fd> {
    let how = g::open_how {
        flags: (flags | g::O_CLOEXEC) as u64,
        mode: 0,
        resolve: (g::RESOLVE_IN_ROOT | g::RESOLVE_NO_MAGICLINKS | resolve) as u64,
    };
    let mut tries = 1;
    loop {
        // SAFETY: path is NUL-terminated; the kernel reads an open_how of the size we pass.
        let r = check(unsafe {
            sc::syscall4(
                nr!(__NR_openat2),
                root as usize,
                path.as_ptr() as usize,
                &how as *const g::open_how as usize,
                core::mem::size_of::<g::open_how>(),
            )
        });
        match r {
            Err(EAGAIN) if tries < OPEN_IN_ROOT_TRIES => tries += 1,
            r => return r.map(|fd| Fd(fd as i32)),
        }
    }
}

/// How many times [`open_in_root`] tries a walk that raced a mount or rename (a fixed limit:
/// a walk that keeps racing is reported with EAGAIN).
pub const OPEN_IN_ROOT_TRIES: u32 = 64;

/// `openat(dir, path, flags, mode)`, close-on-exec, for creating files.
pub fn openat_mode(dir: i32, path: &CStr, flags: u32, mode: u32) -> Result<Fd> {
    let flags = (flags | g::O_CLOEXEC) as usize;
    // SAFETY: path is NUL-terminated and lives across the call.
    let fd = check(unsafe {
        sc::syscall4(
            nr!(__NR_openat),
            dir as usize,
            path.as_ptr() as usize,
            flags,
            mode as usize,
        )
    })?;
    Ok(Fd(fd as i32))
}

pub fn mkdirat(dir: i32, name: &CStr, mode: u32) -> Result {
    // SAFETY: name is NUL-terminated and alive across the call.
    check(unsafe {
        sc::syscall3(
            nr!(__NR_mkdirat),
            dir as usize,
            name.as_ptr() as usize,
            mode as usize,
        )
    })
}

pub fn symlinkat(text: &CStr, dir: i32, name: &CStr) -> Result {
    // SAFETY: both strings are NUL-terminated and alive across the call.
    check(unsafe {
        sc::syscall3(
            nr!(__NR_symlinkat),
            text.as_ptr() as usize,
            dir as usize,
            name.as_ptr() as usize,
        )
    })
}

pub fn fchdir(fd: i32) -> Result {
    // SAFETY: no memory arguments.
    check(unsafe { sc::syscall1(nr!(__NR_fchdir), fd as usize) })
}

pub fn ftruncate(fd: i32, len: u64) -> Result {
    // SAFETY: no memory arguments.
    check(unsafe { sc::syscall2(nr!(__NR_ftruncate), fd as usize, len as usize) })
}

pub fn fchmod(fd: i32, mode: u32) -> Result {
    // SAFETY: no memory arguments.
    check(unsafe { sc::syscall2(nr!(__NR_fchmod), fd as usize, mode as usize) })
}

/// Sets the mode of the file an fd names, an O_PATH fd too (`fchmodat2` with `AT_EMPTY_PATH`,
/// Linux 6.6).
pub fn fchmod_path(fd: i32, mode: u32) -> Result {
    let flags = g::AT_EMPTY_PATH as usize;
    let empty = c"".as_ptr() as usize;
    // SAFETY: the path is a static NUL-terminated empty string.
    check(unsafe {
        sc::syscall4(
            nr!(__NR_fchmodat2),
            fd as usize,
            empty,
            mode as usize,
            flags,
        )
    })
}

/// Sets the file mode creation mask; returns the previous one.
pub fn umask(mask: u32) -> u32 {
    // SAFETY: no memory arguments; umask cannot fail.
    unsafe { sc::syscall1(nr!(__NR_umask), mask as usize) as u32 }
}

/// What identifies a file: its type and mode, device and inode.
pub struct FileId {
    pub mode: u32,
    pub dev: u64,
    pub ino: u64,
}

/// `fstat` of an fd (O_PATH fds included).
pub fn fstat(fd: i32) -> Result<FileId> {
    let mut st = core::mem::MaybeUninit::<g::stat>::zeroed();
    let empty = c"";
    // SAFETY: the kernel fills a stat struct we own; the empty path is NUL-terminated.
    check(unsafe {
        sc::syscall4(
            nr!(__NR_newfstatat),
            fd as usize,
            empty.as_ptr() as usize,
            st.as_mut_ptr() as usize,
            g::AT_EMPTY_PATH as usize,
        )
    })?;
    // SAFETY: zero-initialised and then filled by a successful fstatat.
    let st = unsafe { st.assume_init() };
    Ok(FileId {
        mode: st.st_mode,
        dev: st.st_dev,
        ino: st.st_ino,
    })
}

/// The target of the symlink at `path`, into `buf` (not NUL-terminated); its length.
pub fn readlink(path: &CStr, buf: &mut [u8]) -> Result {
    // SAFETY: path is NUL-terminated; the kernel writes at most buf.len() bytes into buf.
    check(unsafe {
        sc::syscall4(
            nr!(__NR_readlinkat),
            g::AT_FDCWD as usize,
            path.as_ptr() as usize,
            buf.as_mut_ptr() as usize,
            buf.len(),
        )
    })
}

/// `open_tree(dir, path, OPEN_TREE_CLONE [| AT_RECURSIVE])`: a detached copy of the mount
/// (tree) at `path`, or at `dir` itself when `path` is empty.
pub fn open_tree_clone(dir: i32, path: &CStr, recursive: bool) -> Result<Fd> {
    let mut flags = g::OPEN_TREE_CLONE | g::OPEN_TREE_CLOEXEC;
    if recursive {
        flags |= g::AT_RECURSIVE;
    }
    if path.is_empty() {
        flags |= g::AT_EMPTY_PATH;
    }
    // SAFETY: path is NUL-terminated and alive across the call.
    let fd = check(unsafe {
        sc::syscall3(
            nr!(__NR_open_tree),
            dir as usize,
            path.as_ptr() as usize,
            flags as usize,
        )
    })?;
    Ok(Fd(fd as i32))
}

/// `mount_setattr(mnt, "", AT_EMPTY_PATH [| AT_RECURSIVE])` setting `MOUNT_ATTR_*` bits.
pub fn mount_setattr(mnt: i32, set: u32, recursive: bool) -> Result {
    mount_setattr_clear(mnt, set, 0, recursive)
}

/// [`mount_setattr`] that also clears `clear` (the atime mode is a field: set one mode, clear
/// `MOUNT_ATTR__ATIME`).
pub fn mount_setattr_clear(mnt: i32, set: u32, clear: u32, recursive: bool) -> Result {
    let attr = g::mount_attr {
        attr_set: set as u64,
        attr_clr: clear as u64,
        propagation: 0,
        userns_fd: 0,
    };
    let mut flags = g::AT_EMPTY_PATH;
    if recursive {
        flags |= g::AT_RECURSIVE;
    }
    let empty = c"";
    // SAFETY: the kernel reads a mount_attr of the size we pass; the path is NUL-terminated.
    check(unsafe {
        sc::syscall5(
            nr!(__NR_mount_setattr),
            mnt as usize,
            empty.as_ptr() as usize,
            flags as usize,
            &attr as *const g::mount_attr as usize,
            core::mem::size_of::<g::mount_attr>(),
        )
    })
}

/// Attaches the detached mount `mnt` on `dir`/`path` (on `dir` itself when `path` is empty).
pub fn move_mount(mnt: i32, dir: i32, path: &CStr) -> Result {
    let mut flags = g::MOVE_MOUNT_F_EMPTY_PATH;
    if path.is_empty() {
        flags |= g::MOVE_MOUNT_T_EMPTY_PATH;
    }
    let empty = c"";
    // SAFETY: both paths are NUL-terminated and alive across the call.
    check(unsafe {
        sc::syscall5(
            nr!(__NR_move_mount),
            mnt as usize,
            empty.as_ptr() as usize,
            dir as usize,
            path.as_ptr() as usize,
            flags as usize,
        )
    })
}

/// `fsopen(fstype)`: a filesystem context to configure.
pub fn fsopen(fstype: &CStr) -> Result<Fd> {
    // SAFETY: fstype is NUL-terminated and alive across the call.
    let fd = check(unsafe {
        sc::syscall2(
            nr!(__NR_fsopen),
            fstype.as_ptr() as usize,
            g::FSOPEN_CLOEXEC as usize,
        )
    })?;
    Ok(Fd(fd as i32))
}

/// `fsconfig(FSCONFIG_SET_STRING, key, value)`.
pub fn fsconfig_string(fs: i32, key: &CStr, value: &CStr) -> Result {
    fsconfig(
        fs,
        g::fsconfig_command::FSCONFIG_SET_STRING,
        key,
        Some(value),
        0,
    )
}

/// `fsconfig(FSCONFIG_SET_FD, key, NULL, fd)`: a layer given as an open directory.
pub fn fsconfig_fd(fs: i32, key: &CStr, fd: i32) -> Result {
    fsconfig(fs, g::fsconfig_command::FSCONFIG_SET_FD, key, None, fd)
}

/// `fsconfig(FSCONFIG_SET_FLAG, key, NULL, 0)`.
pub fn fsconfig_flag(fs: i32, key: &CStr) -> Result {
    fsconfig(fs, g::fsconfig_command::FSCONFIG_SET_FLAG, key, None, 0)
}

fn fsconfig(
    fs: i32,
    cmd: g::fsconfig_command,
    key: &CStr,
    value: Option<&CStr>,
    aux: i32,
) -> Result {
    let value = value.map_or(0, |v| v.as_ptr() as usize);
    // SAFETY: key (and value, when given) are NUL-terminated and alive across the call.
    check(unsafe {
        sc::syscall5(
            nr!(__NR_fsconfig),
            fs as usize,
            cmd as usize,
            key.as_ptr() as usize,
            value,
            aux as usize,
        )
    })
}

/// `fsconfig(FSCONFIG_CMD_CREATE)` then `fsmount` with `MOUNT_ATTR_*` bits: a detached mount.
pub fn fs_create_mount(fs: i32, attrs: u32) -> Result<Fd> {
    let cmd = g::fsconfig_command::FSCONFIG_CMD_CREATE as usize;
    // SAFETY: no memory arguments (key and value are NULL for CMD_CREATE).
    check(unsafe { sc::syscall5(nr!(__NR_fsconfig), fs as usize, cmd, 0, 0, 0) })?;
    // SAFETY: no memory arguments.
    let fd = check(unsafe {
        sc::syscall3(
            nr!(__NR_fsmount),
            fs as usize,
            g::FSMOUNT_CLOEXEC as usize,
            attrs as usize,
        )
    })?;
    Ok(Fd(fd as i32))
}

// ---- Landlock (`landlock.rs`) ----

/// `landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)`: the kernel's ABI
/// version (ENOSYS or EOPNOTSUPP without Landlock).
pub fn landlock_abi() -> Result<usize> {
    const LANDLOCK_CREATE_RULESET_VERSION: usize = 1;
    // SAFETY: a NULL attribute with size 0 only asks for the version.
    check(unsafe {
        sc::syscall3(
            nr!(__NR_landlock_create_ruleset),
            0,
            0,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    })
}

/// A ruleset handling these filesystem and network rights and scopes.
pub fn landlock_create_ruleset(fs: u64, net: u64, scoped: u64) -> Result<Fd> {
    let attr: [u64; 3] = [fs, net, scoped];
    // SAFETY: the kernel reads the 24-byte struct landlock_ruleset_attr we own (older kernels
    // accept the larger size when the fields they do not know are zero).
    let fd = check(unsafe {
        sc::syscall3(
            nr!(__NR_landlock_create_ruleset),
            attr.as_ptr() as usize,
            core::mem::size_of_val(&attr),
            0,
        )
    })?;
    Ok(Fd(fd as i32))
}

/// `LANDLOCK_RULE_PATH_BENEATH`: `access` beneath what `fd` (O_PATH) is open on.
pub fn landlock_add_path_rule(ruleset: i32, access: u64, fd: i32) -> Result {
    // struct landlock_path_beneath_attr is packed: u64 allowed_access, s32 parent_fd.
    let mut attr = [0u8; 12];
    attr[..8].copy_from_slice(&access.to_ne_bytes());
    attr[8..].copy_from_slice(&fd.to_ne_bytes());
    // SAFETY: the kernel reads the 12 bytes we own.
    check(unsafe {
        sc::syscall4(
            nr!(__NR_landlock_add_rule),
            ruleset as usize,
            1,
            attr.as_ptr() as usize,
            0,
        )
    })
}

/// `LANDLOCK_RULE_NET_PORT`: `access` (bind, connect) for TCP `port`.
pub fn landlock_add_port_rule(ruleset: i32, access: u64, port: u64) -> Result {
    let attr: [u64; 2] = [access, port];
    // SAFETY: the kernel reads the struct landlock_net_port_attr we own.
    check(unsafe {
        sc::syscall4(
            nr!(__NR_landlock_add_rule),
            ruleset as usize,
            2,
            attr.as_ptr() as usize,
            0,
        )
    })
}

/// `landlock_restrict_self(ruleset, 0)`: this thread (and what it executes) is confined.
pub fn landlock_restrict_self(ruleset: i32) -> Result {
    // SAFETY: no memory arguments.
    check(unsafe { sc::syscall2(nr!(__NR_landlock_restrict_self), ruleset as usize, 0) })
}

// ---- the fork server (serve.rs) ----

/// One `struct pollfd`.
#[repr(C)]
pub struct PollFd {
    pub fd: i32,
    pub events: i16,
    pub revents: i16,
}

/// `poll(fds, -1)`: waits until one of them has an event.
pub fn poll(fds: &mut [PollFd]) -> Result {
    // SAFETY: the kernel reads and updates fds.len() pollfd structs we exclusively borrow.
    check(unsafe {
        sc::syscall3(
            nr!(__NR_poll),
            fds.as_mut_ptr() as usize,
            fds.len(),
            usize::MAX,
        )
    })
}

/// One message received with `recvmsg(MSG_CMSG_CLOEXEC)`: its length, the fds it carried
/// (every `SCM_RIGHTS` header, in order, up to `fds.len()`), and whether the kernel cut the
/// bytes or the fds (MSG_TRUNC, MSG_CTRUNC). 0 bytes and no fds is end of stream.
pub struct Received {
    pub len: usize,
    pub fds: usize,
    pub truncated: bool,
}

/// Receives one message and its fds; control messages other than `SCM_RIGHTS` are ignored.
pub fn recv_with_fds(sock: i32, data: &mut [u8], fds: &mut [i32]) -> Result<Received> {
    use linux_raw_sys::net as n;
    // Room for SCM_MAX_FD fds (the kernel's per-message limit) behind one cmsghdr, aligned.
    let mut control = [0u64; 130];
    let mut iov = g::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len() as _,
    };
    let mut msg = n::msghdr {
        msg_name: core::ptr::null_mut(),
        msg_namelen: 0,
        msg_iov: (&mut iov as *mut g::iovec).cast(),
        msg_iovlen: 1,
        msg_control: control.as_mut_ptr().cast(),
        msg_controllen: core::mem::size_of_val(&control),
        msg_flags: 0,
    };
    let flags = n::MSG_CMSG_CLOEXEC as usize;
    // SAFETY: the kernel writes at most data.len() bytes through the iovec and at most
    // msg_controllen bytes of control data into buffers we exclusively borrow, and updates
    // the msghdr on our stack.
    let len = check(unsafe {
        sc::syscall3(
            nr!(__NR_recvmsg),
            sock as usize,
            &mut msg as *mut _ as usize,
            flags,
        )
    })?;
    let truncated = msg.msg_flags & (n::MSG_TRUNC | n::MSG_CTRUNC) != 0;
    // Walk the control messages (all fds received are ours to close, even past `fds`).
    let bytes: &[u8] = {
        // SAFETY: `control` is a live u64 array viewed as its bytes, within its size.
        unsafe { core::slice::from_raw_parts(control.as_ptr().cast(), msg.msg_controllen) }
    };
    let header = core::mem::size_of::<n::cmsghdr>();
    let word = |at: usize| usize::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]));
    let (mut at, mut got, mut cut) = (0, 0, truncated);
    while at + header <= bytes.len() {
        let cmsg_len = word(at).min(bytes.len() - at);
        if cmsg_len < header {
            break;
        }
        let level = i32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap_or([0; 4]));
        let kind = i32::from_le_bytes(bytes[at + 12..at + 16].try_into().unwrap_or([0; 4]));
        if level == n::SOL_SOCKET as i32 && kind == n::SCM_RIGHTS as i32 {
            for fd in bytes[at + header..at + cmsg_len].chunks_exact(4) {
                let fd = i32::from_le_bytes([fd[0], fd[1], fd[2], fd[3]]);
                match fds.get_mut(got) {
                    Some(slot) => {
                        *slot = fd;
                        got += 1;
                    }
                    None => {
                        let _ = close(fd);
                        cut = true;
                    }
                }
            }
        }
        at += (cmsg_len + 7) & !7;
    }
    Ok(Received {
        len,
        fds: got,
        truncated: cut,
    })
}

/// fork(2) with a pidfd (`clone3(CLONE_PIDFD)`): `(pid, pidfd)` in the parent, `(0, -1)` in
/// the child. The pidfd is close-on-exec.
pub fn fork_with_pidfd() -> Result<(i32, i32)> {
    let mut pidfd: i32 = -1;
    let mut args = fork_args(g::CLONE_PIDFD as u64);
    args.pidfd = &mut pidfd as *mut i32 as u64;
    // `pidfd` is live until clone3 returns: the kernel writes the new pidfd into it.
    let pid = clone3(&args)?;
    Ok((pid as i32, if pid == 0 { -1 } else { pidfd }))
}

/// `fcntl(fd, F_DUPFD_CLOEXEC, min)`: a close-on-exec copy at the lowest free number ≥ `min`.
pub fn dup_at_least(fd: i32, min: u32) -> Result<i32> {
    let cmd = g::F_DUPFD_CLOEXEC as usize;
    // SAFETY: F_DUPFD_CLOEXEC takes an integer argument.
    Ok(check(unsafe { sc::syscall3(nr!(__NR_fcntl), fd as usize, cmd, min as usize) })? as i32)
}

/// `send(fd, buf, MSG_NOSIGNAL | MSG_DONTWAIT)`: the fork server never blocks on a run's
/// channel (a client that does not read loses the record, not the server).
pub fn send_nowait(fd: i32, buf: &[u8]) -> Result {
    let flags = (linux_raw_sys::net::MSG_NOSIGNAL | linux_raw_sys::net::MSG_DONTWAIT) as usize;
    // SAFETY: reads buf.len() bytes from a live slice; NULL address with length 0 is valid.
    check(unsafe {
        sc::syscall6(
            nr!(__NR_sendto),
            fd as usize,
            buf.as_ptr() as usize,
            buf.len(),
            flags,
            0,
            0,
        )
    })
}
