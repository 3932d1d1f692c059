//! What init holds for the sandbox's life (records LOCK_FILE and SYNC_FD: bubblewrap's
//! `--lock-file` and `--sync-fd`): the locks are taken by init, in the sandbox's root, after
//! the mounts and before the target runs; they and the sync fd are released exactly when init
//! ends; a lock that cannot be taken stops the start.

use super::*;

/// A host directory with a file `lock`, bound at `/locks` in the sandbox (the path exists
/// only there), and a target that says "started" and waits for its stdin to close.
fn locked_root(c: &mut Cleanup, new_pid: bool) -> (Runner, PathBuf) {
    let dir = c.dir("locks");
    let lock = dir.join("lock");
    fs::write(&lock, "").unwrap();
    let mut r = sh(in_root(c, &[]), "echo started; read x; echo done")
        .mount(Mount::bind(path_str(&dir), "/locks", false))
        .init(true);
    if new_pid {
        r.spec.clone_flags.push(Namespace::NewPid);
    }
    (r, lock)
}

/// The target's stdin (ours to close), stdout and stderr.
struct Waiting {
    p: Process,
    stdin: Option<File>,
    out: BufReader<File>,
}

fn start_waiting(mut r: Runner) -> Waiting {
    let (in_r, in_w) = pipe();
    let (out_r, out_w) = pipe();
    let err = File::create("/dev/null").unwrap();
    r.spec.files = vec![in_r.as_raw_fd(), out_w.as_raw_fd(), err.as_raw_fd()];
    let p = r.start().unwrap();
    let mut w = Waiting {
        p,
        stdin: Some(in_w),
        out: BufReader::new(out_r),
    };
    let mut line = String::new();
    w.out.read_line(&mut line).unwrap();
    assert_eq!(line, "started\n");
    w
}

impl Waiting {
    /// Closes the target's stdin: it ends with 0.
    fn finish(mut self) -> WaitStatus {
        drop(self.stdin.take());
        let status = self.p.wait().unwrap();
        assert!(status.success(), "{status}");
        status
    }
}

/// Who holds a lock conflicting with a write lock on `path`: `Some((type, pid))`, or `None`
/// when a write lock could be taken (`F_GETLK`, so nothing is taken).
fn lock_holder(path: &Path) -> Option<(i32, u32)> {
    let f = File::open(path).unwrap();
    // SAFETY: a zeroed flock is a valid value; F_GETLK reads and fills the one we own.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as i16;
    fl.l_whence = libc::SEEK_SET as i16;
    // SAFETY: fcntl on an fd we own with a pointer to a flock we own.
    assert_eq!(
        unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETLK, &mut fl) },
        0
    );
    (fl.l_type != libc::F_UNLCK as i16).then_some((fl.l_type as i32, fl.l_pid as u32))
}

/// The first child of `pid` (init's child: the target).
fn first_child(pid: u32) -> u32 {
    let children = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap();
    children
        .split_whitespace()
        .next()
        .expect("a child")
        .parse()
        .unwrap()
}

/// The lock is a read lock held by init (the pid record's process), not by the target or the
/// supervisor, from before the target runs until init ends; with and without a pid namespace.
#[test]
fn init_holds_the_lock_while_the_sandbox_lives() {
    for new_pid in [true, false] {
        let mut c = Cleanup::default();
        let (r, lock) = locked_root(&mut c, new_pid);
        let w = start_waiting(r.lock_file("/locks/lock"));
        let init = w.p.target_pid();
        assert_ne!(init, w.p.pid());
        assert_eq!(
            lock_holder(&lock),
            Some((libc::F_RDLCK, init)),
            "new_pid {new_pid}"
        );
        w.finish();
        assert_eq!(lock_holder(&lock), None, "released with init");
    }
    assert_no_children();
}

/// Without a pid namespace init is not pid 1, so the kernel would not end the target with
/// it: the target dies with init (`PR_SET_PDEATHSIG`), and the lock is released.
#[test]
fn without_a_pid_namespace_the_target_dies_with_init() {
    let mut c = Cleanup::default();
    let (r, lock) = locked_root(&mut c, false);
    let mut w = start_waiting(r.lock_file("/locks/lock"));
    let init = w.p.target_pid();
    let target = first_child(init);
    assert!(alive(target));
    // SAFETY: kill() with a pid and a signal number; init is the helper's unreaped child.
    assert_eq!(unsafe { libc::kill(init as i32, libc::SIGKILL) }, 0);
    assert!(
        eventually(10.0, || !alive(target)),
        "the target outlived init"
    );
    let status = w.p.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status}");
    drop(w.stdin.take());
    assert_eq!(lock_holder(&lock), None);
    assert_no_children();
}

/// A lock another process holds (a write lock: EAGAIN) or a missing file (ENOENT) stops the
/// start at `lock_file` with the LOCK_FILE's index; the target never runs, and the locks
/// taken before are released.
#[test]
fn a_lock_that_cannot_be_taken_stops_the_start() {
    let mut c = Cleanup::default();
    for new_pid in [true, false] {
        for (second, errno) in [
            ("/locks/other", libc::EAGAIN),
            ("/locks/none", libc::ENOENT),
        ] {
            let (root, lock) = locked_root(&mut c, new_pid);
            let other = lock.with_file_name("other");
            fs::write(&other, "").unwrap();
            let held = File::options().write(true).open(&other).unwrap();
            // SAFETY: a zeroed flock is valid; F_SETLK reads the one we own.
            let mut fl: libc::flock = unsafe { std::mem::zeroed() };
            fl.l_type = libc::F_WRLCK as i16;
            // SAFETY: fcntl on an fd we own with a pointer to a flock we own.
            assert_eq!(
                unsafe { libc::fcntl(held.as_raw_fd(), libc::F_SETLK, &fl) },
                0
            );
            let (_, marker) = marker_target(&mut c);
            let mut r = root.lock_file("/locks/lock").lock_file(second);
            r.spec.args = vec![PROBE_IN_ROOT.into(), "write".into(), "/m/ran".into()];
            let r = r.mount(Mount::bind(path_str(marker.parent().unwrap()), "/m", false));
            match r.start() {
                Err(Error::Child(e)) => {
                    assert_eq!(e.location(), Some(Location::LockFile), "{second}");
                    assert_eq!((e.errno(), e.index()), (errno, 1), "{second}");
                }
                other => panic!("{second}: {other:?}"),
            }
            assert_never_ran(&marker);
            // Init ends right after the target (the error can arrive first).
            assert!(
                eventually(10.0, || lock_holder(&lock).is_none()),
                "{second}: not released"
            );
        }
    }
    assert_no_children();
}

/// Init keeps the sync fd open while the sandbox lives, and neither the supervisor nor the
/// target has it: its other end sees EOF exactly when init ends.
#[test]
fn init_keeps_the_sync_fd_until_it_ends() {
    let mut c = Cleanup::default();
    let (r, _) = locked_root(&mut c, true);
    let (sync_r, sync_w) = pipe();
    let link = fs::read_link(format!("/proc/self/fd/{}", sync_w.as_raw_fd()))
        .unwrap()
        .to_string_lossy()
        .into_owned();
    // Dumpable, so that an ordinary user may read init's /proc/PID/fd.
    let w = start_waiting(r.sync_fd(sync_w.as_raw_fd()).dumpable_init(true));
    drop(sync_w);
    let init = w.p.target_pid();
    let holds = |pid: u32| {
        fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .any(|e| fs::read_link(e.unwrap().path()).is_ok_and(|l| l.to_string_lossy() == link))
    };
    assert!(holds(init), "init has it");
    assert!(!holds(first_child(init)), "the target does not");
    // The supervisor is not dumpable: only root may look at its fds.
    if is_root() {
        assert!(!holds(w.p.pid()), "the supervisor does not");
    }
    let mut pfd = libc::pollfd {
        fd: sync_r.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll on one pollfd we own, no wait.
    assert_eq!(unsafe { libc::poll(&mut pfd, 1, 0) }, 0, "no EOF yet");
    w.finish();
    let mut rest = Vec::new();
    (&sync_r).read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    assert_no_children();
}

/// LOCK_FILE and SYNC_FD without init are refused before anything runs: nobody would hold
/// them.
#[test]
fn lock_files_and_the_sync_fd_need_init() {
    for r in [
        probe_runner(&["report"]).lock_file("/x"),
        probe_runner(&["report"]).sync_fd(1),
    ] {
        match r.start() {
            Err(e) => assert!(e.to_string().contains("conflict"), "{e}"),
            Ok(_) => panic!("started"),
        }
    }
}

/// A SYNC_FD that is not open (the client checks its own fds, so the raw harness hands the
/// helper a closed number): init stops the start at `sync_fd` (EBADF) before the target
/// exists.
#[test]
fn a_sync_fd_that_is_not_open_stops_the_start() {
    let mut c = Cleanup::default();
    let (r, marker) = marker_target(&mut c);
    // SAFETY: fcntl(F_GETFD) only asks whether the fd is open.
    let closed = (900..1000)
        .find(|&fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0)
        .unwrap();
    let r = r.init(true).sync_fd(closed);
    let res = raw(&r.spec.encode().unwrap());
    let error = Record::Error {
        location: Location::SyncFd as u32,
        errno: libc::EBADF,
        index: 0,
        detail: 0,
    };
    assert_eq!(res.records.last(), Some(&error), "{:?}", res.records);
    assert!(!res.records.iter().any(|r| matches!(r, Record::Exec { .. })));
    assert_eq!(res.status.code(), Some(125));
    assert_never_ran(&marker);
}
