//! Error locations of the clone shapes, provoked for real.

use super::*;
use forkexec_testkit::{root_needs, root_only, user_only};

// ---------------------------------------------------------------------------------------------
// Error locations of the clone shapes: `clone` (1), `unshare_user_read` (3), `supervise` (45)
// (`cgroup` (43) and `pdeathsig` (44) are above).
//
// Not provoked, because the kernel gives no way to: `supervise` index 0 (sigprocmask with a
// valid set cannot fail) and index 1 (signalfd needs one free fd, and the helper has just
// closed the clone's end of the handshake, and init its copy, so RLIMIT_NOFILE cannot stop it
// without stopping the socketpair first); `pdeathsig` index 1 (the clone arms right after
// clone3 while the helper waits for it, and re-arms after the credential step: the parent
// would have to die within those few instructions, and a parent dying earlier already killed
// it through the first arming); `prctl(PR_SET_PDEATHSIG, SIGKILL)` itself never fails.
// ---------------------------------------------------------------------------------------------

/// A pre_exec step: `setrlimit(RLIMIT_NOFILE, n)`.
fn nofile_limit(cmd: &mut Command, n: u64) {
    // SAFETY: setrlimit between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: n,
                rlim_max: n,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

/// `supervise` (45), index 2: with no fd to spare (RLIMIT_NOFILE 3, fds 0-2 taken) the
/// handshake socketpair cannot be made: EMFILE, before any clone; in each clone shape.
#[test]
fn no_free_fd_fails_at_supervise_2() {
    let mut c = Cleanup::default();
    for shape in [Shape::Supervise, Shape::Detach, Shape::Init] {
        let (r, marker) = marker_target(&mut c);
        let spec = shaped(r, shape).spec.encode().unwrap();
        let (records, status) = RawHelper::spawn(&spec, |cmd| nofile_limit(cmd, 3)).finish();
        let expected = Record::Error {
            location: Location::Supervise as u32,
            errno: libc::EMFILE,
            index: 2,
            detail: 0,
        };
        assert_eq!(records, [expected], "{shape:?}");
        assert_eq!(status.code(), Some(125));
        assert_never_ran(&marker);
    }
    assert_no_children();
}

/// A read-only spec fd with no status fd means nobody reads records (docs/spec.md,
/// "No reader"): a clone shape runs without its pid and exec records and ends like its target;
/// a failed step is one stderr line naming what failed, and the target never runs.
#[test]
fn read_only_spec_fd_means_no_reader_in_clone_shapes() {
    for shape in [Shape::Supervise, Shape::Init] {
        let mut c = Cleanup::default();
        let (r, marker) = marker_target(&mut c);
        let file = c.dir("rospec").join("spec");
        fs::write(&file, shaped(r, shape).spec.encode().unwrap()).unwrap();
        let out = helper_on_file(&file);
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{shape:?}");
        assert_eq!(out.status.code(), Some(0), "{shape:?}");
        assert!(marker.exists(), "{shape:?}: the target ran");

        let (r, marker) = marker_target(&mut c);
        let r = shaped(r.exec_path("/nonexistent/program"), shape);
        fs::write(&file, r.spec.encode().unwrap()).unwrap();
        let out = helper_on_file(&file);
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "forkexec: execve(0) /nonexistent/program: no such file or directory\n",
            "{shape:?}"
        );
        assert_eq!(out.status.code(), Some(127), "{shape:?}");
        assert_never_ran(&marker);
    }
    assert_no_children();
}

/// The helper with `file` (opened read-only) as its spec fd, waited for.
fn helper_on_file(file: &Path) -> std::process::Output {
    let spec = File::open(file).unwrap();
    let fd = spec.as_raw_fd();
    let mut cmd = Command::new(helper());
    cmd.arg("--spec-fd").arg(fd.to_string());
    // SAFETY: only fcntl between fork and exec.
    unsafe {
        cmd.pre_exec(move || clear_cloexec(fd));
    }
    cmd.stdin(Stdio::null()).output().unwrap()
}

/// `clone` (1), index 0: an ordinary user cannot make a pid namespace outside a user namespace
/// of its own: clone3 fails with EPERM (the supervise shape, chosen for `newpid`).
#[test]
fn new_pid_namespace_without_a_user_namespace_fails_at_clone_unprivileged() {
    user_only!("root may make a pid namespace (root's clone failures are below)");
    let mut c = Cleanup::default();
    for init in [false, true] {
        let (r, marker) = marker_target(&mut c);
        let r = r.clone_flags([Namespace::NewPid]).init(init);
        assert_child_error(r.start(), "clone", libc::EPERM, 0);
        assert_never_ran(&marker);
    }
    assert_no_children();
}

/// `clone` (1), EAGAIN, by a process limit (the pids controller, v1 or v2, root only): with
/// room for the helper alone its clone fails (index 0); with room for the helper and init,
/// init's clone of pid 2 fails (index 1), after the pid record.
#[test]
fn process_limit_fails_at_clone_0_and_init_clone_1() {
    root_only!("a process limit needs a cgroup of root's");
    let pids = forkexec_testkit::cgroup::pids_parent();
    root_needs!(pids.is_some(), "no pids controller (v1 or v2) here");
    let pids = pids.unwrap();
    let mut c = Cleanup::default();
    for (max, index) in [(1, 0), (2, 1)] {
        let group = pids.join(format!("forkexec-test-{}-{max}", std::process::id()));
        fs::create_dir(&group).unwrap();
        let _rmdir = RmdirOnDrop(group.clone());
        fs::write(group.join("pids.max"), max.to_string()).unwrap();
        let procs = std::ffi::CString::new(path_str(&group.join("cgroup.procs"))).unwrap();
        let (r, marker) = marker_target(&mut c);
        let spec = shaped(r, Shape::Init).spec.encode().unwrap();
        let (records, status) = RawHelper::spawn(&spec, |cmd| {
            // SAFETY: open, write, close between fork and exec (the path is allocated).
            unsafe {
                cmd.pre_exec(move || {
                    let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                    if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                        return Err(std::io::Error::last_os_error());
                    }
                    libc::close(fd);
                    Ok(())
                });
            }
        })
        .finish();
        let error = Record::Error {
            location: Location::Clone as u32,
            errno: libc::EAGAIN,
            index,
            detail: 0,
        };
        match index {
            0 => assert_eq!(records, [error]),
            _ => assert!(
                matches!(records[..], [Record::Pid { .. }, e] if e == error),
                "{records:?}"
            ),
        }
        assert_eq!(status.code(), Some(125));
        assert_never_ran(&marker);
    }
    assert_no_children();
}

struct RmdirOnDrop(PathBuf);

impl Drop for RmdirOnDrop {
    fn drop(&mut self) {
        eventually(2.0, || fs::remove_dir(&self.0).is_ok());
    }
}

/// `unshare_user_read` (3), EPIPE: the clone waits for the helper's go byte, and the helper is
/// killed first (here while it blocks writing the pid record to a full status pipe). The
/// detached clone (no namespaces), the runtime's own child, reports it itself and exits 125.
#[test]
fn helper_gone_before_the_go_byte_fails_at_unshare_user_read() {
    let mut c = Cleanup::default();
    let (r, marker) = marker_target(&mut c);
    let (mut status_r, status_w) = pipe();
    let wfd = status_w.as_raw_fd();
    // Fill the status pipe: the 32-byte pid record (written whole or not at all) must block.
    let fill = vec![0xffu8; 4096];
    let mut filled = 0;
    // SAFETY: F_SETFL on our own fd.
    unsafe { libc::fcntl(wfd, libc::F_SETFL, libc::O_NONBLOCK) };
    loop {
        // SAFETY: write from a buffer we own.
        let n = unsafe { libc::write(wfd, fill.as_ptr().cast(), fill.len()) };
        if n <= 0 {
            break;
        }
        filled += n as usize;
    }
    // SAFETY: as above.
    unsafe { libc::fcntl(wfd, libc::F_SETFL, 0) };
    let mut r = r.detach(true);
    r.spec.status_fd = Some(wfd);
    let spec = r.spec.encode().unwrap();
    let mut h = RawHelper::spawn(&spec, |cmd| {
        // SAFETY: only fcntl between fork and exec.
        unsafe {
            cmd.pre_exec(move || clear_cloexec(wfd));
        }
    });
    drop(status_w);
    let helper = h.child.id();
    // An unprivileged test cannot read the syscall of the (non-dumpable) helper: the clone
    // (the detached one is this thread's child) exists and the helper sleeps, so it is past
    // the clone and blocks on the full pipe.
    let blocked = eventually(5.0, || {
        match fs::read_to_string(format!("/proc/{helper}/syscall")) {
            Ok(s) => s.starts_with(&format!("{} {wfd:#x} ", libc::SYS_write)),
            Err(_) => !is_root() && own_children().len() == 2 && is_helper_sleeping(helper),
        }
    });
    assert!(blocked, "the helper never blocked on the status pipe");
    h.child.kill().unwrap();
    assert_eq!(h.child.wait().unwrap().signal(), Some(libc::SIGKILL));
    let [target] = own_children()[..] else {
        panic!("the clone: {:?}", own_children())
    };
    let mut all = Vec::new();
    status_r.read_to_end(&mut all).unwrap();
    assert!(all[..filled].iter().all(|&b| b == 0xff));
    let records = read_records(&mut &all[filled..]);
    let expected = Record::Error {
        location: Location::UnshareUserRead as u32,
        errno: libc::EPIPE,
        index: 0,
        detail: 0,
    };
    assert_eq!(records, [expected]);
    assert_eq!(wait_pid(target).code(), Some(125));
    assert_never_ran(&marker);
    assert_no_children();
}

/// The supervisor and init keep no copy of the target's stdio: a target that closes its
/// stdout while it keeps running gives the runtime EOF at once, as in place.
#[test]
fn supervisor_and_init_keep_no_copy_of_the_targets_stdout() {
    for init in [false, true] {
        let (mut out_r, out_w) = pipe();
        let devnull = File::open("/dev/null").unwrap();
        let mut r = sh(
            new_pid_ns(Runner::new(["/bin/sh"])),
            "echo up; exec >&-; sleep 5",
        );
        r.spec.init = init;
        r.spec.files = vec![devnull.as_raw_fd(), out_w.as_raw_fd(), 2];
        let mut p = r.start().unwrap();
        drop(out_w);
        let mut out = String::new();
        out_r.read_to_string(&mut out).unwrap();
        // EOF while the target sleeps: nobody else held the pipe (had the helper or init kept
        // a copy, EOF would only come once the target and they had exited).
        let running = p.try_wait().unwrap().is_none();
        p.kill(libc::SIGKILL).unwrap();
        p.wait().unwrap();
        assert_eq!(out, "up\n");
        assert!(
            running,
            "the target still ran when stdout hit EOF (init {init})"
        );
    }
}
