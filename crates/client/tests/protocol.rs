//! `Runner::start` against a fake helper: this test binary itself, re-executed by the runner as
//! `protocol --spec-fd N`. The fake reads and decodes the spec like the real helper, checks
//! what it inherited, then does what the spec's `FAKE=<mode>` environment entry says (write
//! an error record, ask for sync, die, write garbage…) or execs the target.
//!
//! This tests the client's half of the status protocol without the real helper, which is
//! built and tested elsewhere. Tests run one after another (no libtest harness: it would
//! refuse `--spec-fd`), so "this process has no children left" is a meaningful check.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use forkexec_client::{BoxError, Error, Runner, Spec};
use forkexec_spec::status::{Record, SYNC_CONTINUE};
use forkexec_spec::Location;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 3 && args[1] == "--spec-fd" {
        fake_helper(args[2].parse().expect("--spec-fd N"));
    }

    let tests: &[(&str, fn())] = &[
        ("exec_success_and_wait", exec_success_and_wait),
        ("rusage_is_reported", rusage_is_reported),
        (
            "files_arrive_with_their_numbers",
            files_arrive_with_their_numbers,
        ),
        (
            "error_record_is_a_child_error",
            error_record_is_a_child_error,
        ),
        ("sync_continue", sync_continue),
        ("sync_abort", sync_abort),
        ("sync_without_callback", sync_without_callback),
        ("pid_record_names_the_target", pid_record_names_the_target),
        (
            "death_after_the_spec_is_seen_at_wait",
            death_after_the_spec_is_seen_at_wait,
        ),
        (
            "early_death_is_a_helper_error",
            early_death_is_a_helper_error,
        ),
        (
            "garbage_record_kills_the_helper",
            garbage_record_kills_the_helper,
        ),
        (
            "partial_record_is_a_helper_error",
            partial_record_is_a_helper_error,
        ),
        (
            "stop_before_exec_defers_the_stream",
            stop_before_exec_defers_the_stream,
        ),
        ("deferred_sync_and_error", deferred_sync_and_error),
        ("no_fds_leak", no_fds_leak),
        ("concurrent_starts", concurrent_starts),
    ];
    let filters: Vec<&String> = args[1..].iter().filter(|a| !a.starts_with('-')).collect();
    if args.iter().any(|a| a == "--list") {
        for (name, _) in tests {
            println!("{name}: test");
        }
        return;
    }
    let selected: Vec<_> = tests
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())))
        .collect();
    println!("\nrunning {} tests", selected.len());
    for (name, test) in &selected {
        print!("test {name} ... ");
        test();
        assert_no_children(name);
        println!("ok");
    }
    println!("\ntest result: ok. {} passed\n", selected.len());
}

fn runner(mode: &str, args: &[&str]) -> Runner {
    Runner::new(args.iter().copied())
        .env([format!("FAKE={mode}")])
        .files([0, 1, 2])
        .helper(std::env::current_exe().unwrap())
}

fn exit_with(code: i32) -> Runner {
    runner("exec", &["/bin/sh", "-c", &format!("exit {code}")])
}

/// Every helper a test started has been reaped (by the runner or by `wait`).
fn assert_no_children(test: &str) {
    // SAFETY: waitpid with a null status pointer only reads process state.
    let r = unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) };
    let errno = std::io::Error::last_os_error().raw_os_error();
    assert!(
        r == -1 && errno == Some(libc::ECHILD),
        "{test} left a child behind (waitpid: {r})"
    );
}

fn exec_success_and_wait() {
    let mut p = exit_with(7).start().unwrap();
    assert!(p.pid() > 0);
    assert_eq!(p.target_pid(), p.pid());
    let status = p.wait().unwrap();
    assert_eq!(status.code(), Some(7));
    assert_eq!(status.signal(), None);
    assert!(!status.success());
    // The status is remembered; the pid is not signalled once it may be reused.
    assert_eq!(p.wait().unwrap(), status);
    assert_eq!(p.try_wait().unwrap(), Some(status));
    assert!(p.kill(libc::SIGKILL).is_err());
}

fn rusage_is_reported() {
    let burn = "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; kill -TERM $$";
    let mut p = runner("exec", &["/bin/sh", "-c", burn]).start().unwrap();
    let status = p.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    assert_eq!(status.code(), None);
    let r = status.rusage;
    assert!(r.user_time + r.system_time > Duration::ZERO, "{r:?}");
    assert!(r.max_rss_kib > 0, "{r:?}");
}

fn files_arrive_with_their_numbers() {
    let null = File::open("/dev/null").unwrap();
    let sh = File::open("/bin/sh").unwrap();
    let mut p = exit_with(3)
        .files([0, 1, 2, -1, null.as_raw_fd()])
        .exec_file(sh.as_raw_fd())
        .start()
        .unwrap();
    assert_eq!(p.wait().unwrap().code(), Some(3));
    // Close-on-exec was cleared in the helper only, not here.
    for f in [&null, &sh] {
        // SAFETY: F_GETFD only reads the fd's flags.
        let flags = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETFD) };
        assert_eq!(flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
    }
}

fn error_record_is_a_child_error() {
    match runner("error", &["/bin/true"]).start() {
        Err(Error::Child(e)) => {
            assert_eq!(e.to_string(), "mount(3): operation not permitted");
            assert_eq!(e.location(), Some(Location::Mount));
        }
        other => panic!("expected a child error, got {other:?}"),
    }
}

fn sync_continue() {
    let seen = Arc::new(Mutex::new(None));
    let seen2 = Arc::clone(&seen);
    let mut p = runner("sync", &["/bin/sh", "-c", "exit 5"])
        .sync_func(move |pid| {
            *seen2.lock().unwrap() = Some(pid);
            Ok::<(), BoxError>(())
        })
        .start()
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), Some(p.pid()));
    assert_eq!(p.target_pid(), p.pid());
    assert_eq!(p.wait().unwrap().code(), Some(5));
}

fn sync_abort() {
    let result = runner("sync", &["/bin/sh", "-c", "exit 5"])
        .sync_func(|_pid| Err("not today"))
        .start();
    match result {
        Err(e @ Error::Sync(_)) => assert_eq!(e.to_string(), "sync callback refused: not today"),
        other => panic!("expected a sync error, got {other:?}"),
    }
}

fn sync_without_callback() {
    let spec = Spec {
        sync: true,
        ..runner("sync", &["/bin/sh", "-c", "exit 6"]).spec
    };
    let mut p = Runner::from_spec(spec)
        .helper(std::env::current_exe().unwrap())
        .start()
        .unwrap();
    assert_eq!(p.wait().unwrap().code(), Some(6));
}

fn pid_record_names_the_target() {
    let mut p = runner("pid", &["/bin/true"]).start().unwrap();
    assert_eq!(p.target_pid(), 4242);
    assert_eq!(p.wait().unwrap().code(), Some(0));
}

/// A helper that dies without a record after taking the spec looks like a successful exec
/// (end of stream); its status shows at `wait`.
fn death_after_the_spec_is_seen_at_wait() {
    let mut p = runner("die", &["/bin/true"]).start().unwrap();
    assert_eq!(p.wait().unwrap().code(), Some(125));
}

/// A helper that hangs up before the whole spec is written cannot have executed anything:
/// `start` reaps it and reports its status.
fn early_death_is_a_helper_error() {
    let big = format!("BIG={}", "x".repeat(2 << 20));
    let result = runner("exec", &["/bin/true"]).env([big]).start();
    match result {
        Err(Error::Helper(e)) => {
            let msg = e.to_string();
            assert!(
                msg.contains("ended (exit status: 125) without an error record"),
                "{msg}"
            );
        }
        other => panic!("expected a helper error, got {other:?}"),
    }
}

fn garbage_record_kills_the_helper() {
    let start = Instant::now();
    match runner("garbage", &["/bin/true"]).start() {
        Err(Error::Helper(e)) => {
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
            assert!(e.to_string().contains("unknown record kind 99"), "{e}");
        }
        other => panic!("expected a helper error, got {other:?}"),
    }
    // The fake sleeps 30 s after the garbage: it was killed, not waited out.
    assert!(start.elapsed() < Duration::from_secs(20));
}

fn partial_record_is_a_helper_error() {
    match runner("partial", &["/bin/true"]).start() {
        Err(Error::Helper(e)) => {
            assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
            assert!(
                e.to_string().contains("10 bytes into a 32-byte record"),
                "{e}"
            );
        }
        other => panic!("expected a helper error, got {other:?}"),
    }
}

/// Waits until `pid` is in the stopped state.
fn wait_until_stopped(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let state = stat.rsplit_once(") ").unwrap().1.chars().next().unwrap();
        if state == 'T' {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{pid} never stopped (state {state})"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A helper that stops itself before exec would deadlock a `start` that waited for the
/// exec: `start` returns after the spec, the caller resumes it, `finish_start` completes.
fn stop_before_exec_defers_the_stream() {
    let mut p = exit_with(4).stop_before_seccomp(true).start().unwrap();
    assert!(p.start_pending());
    wait_until_stopped(p.pid());
    p.kill(libc::SIGCONT).unwrap();
    p.finish_start().unwrap();
    assert!(!p.start_pending());
    p.finish_start().unwrap(); // nothing left: a no-op
    assert_eq!(p.wait().unwrap().code(), Some(4));
}

fn deferred_sync_and_error() {
    let called = Arc::new(Mutex::new(false));
    let called2 = Arc::clone(&called);
    let mut p = runner("sync", &["/bin/sh", "-c", "exit 2"])
        .stop_before_seccomp(true)
        .sync_func(move |_| {
            *called2.lock().unwrap() = true;
            Ok::<(), BoxError>(())
        })
        .start()
        .unwrap();
    // The sync point comes before the stop: `start` answers it before returning.
    assert!(*called.lock().unwrap(), "sync answered by start");
    wait_until_stopped(p.pid());
    p.kill(libc::SIGCONT).unwrap();
    p.finish_start().unwrap();
    assert_eq!(p.wait().unwrap().code(), Some(2));

    // An error after the stop: `finish_start` reports it and has reaped the helper.
    let mut p = runner("error", &["/bin/true"])
        .stop_before_seccomp(true)
        .start()
        .unwrap();
    wait_until_stopped(p.pid());
    p.kill(libc::SIGCONT).unwrap();
    match p.finish_start() {
        Err(Error::Child(e)) => assert_eq!(e.to_string(), "mount(3): operation not permitted"),
        other => panic!("expected a child error, got {other:?}"),
    }
    let status = p.wait().unwrap();
    assert!(
        status.code() == Some(125) || status.signal() == Some(libc::SIGKILL),
        "{status}"
    );
    assert!(p.kill(libc::SIGCONT).is_err(), "reaped");
}

fn open_fds() -> Vec<String> {
    let mut fds: Vec<_> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    fds.sort();
    fds
}

fn no_fds_leak() {
    let before = open_fds();
    for _ in 0..3 {
        exit_with(0).start().unwrap().wait().unwrap();
        runner("error", &["/bin/true"]).start().unwrap_err();
        runner("sync", &["/bin/true"])
            .sync_func(|_| Err("no"))
            .start()
            .unwrap_err();
        runner("garbage", &["/bin/true"]).start().unwrap_err();
    }
    assert_eq!(open_fds(), before);
}

fn concurrent_starts() {
    let threads: Vec<_> = (0..16)
        .map(|i| {
            std::thread::spawn(move || {
                if i % 4 == 3 {
                    let e = runner("error", &["/bin/true"]).start().unwrap_err();
                    assert!(matches!(e, Error::Child(_)), "{e}");
                    None
                } else {
                    let mut p = exit_with(i).start().unwrap();
                    Some(p.wait().unwrap().code())
                }
            })
        })
        .collect();
    for (i, t) in threads.into_iter().enumerate() {
        let code = t.join().unwrap();
        if i % 4 != 3 {
            assert_eq!(code, Some(Some(i as i32)));
        }
    }
}

// ---- the fake helper ----

fn fake_helper(fd: i32) -> ! {
    // The spec socket must arrive without close-on-exec, or it would not have survived.
    if !inheritable(fd) {
        std::process::exit(90);
    }
    let mut header = [0u8; 12];
    read_exact(fd, &mut header);
    let total = forkexec_spec::decode::total_len(&header).expect("header");
    if total > 1 << 20 {
        // Hang up with most of the spec unread, without a record.
        std::process::exit(125);
    }
    let mut buf = header.to_vec();
    buf.resize(total, 0);
    read_exact(fd, &mut buf[12..]);
    let spec = forkexec_spec::decode(&buf).expect("the runner sends valid specs");
    let mode = spec
        .env
        .iter()
        .find_map(|e| e.to_str().ok()?.strip_prefix("FAKE="))
        .unwrap_or("exec")
        .to_owned();

    // Everything the runtime listed arrived with its number and without close-on-exec.
    for (i, f) in spec.files.iter().enumerate() {
        if f >= 0 && !inheritable(f) {
            fail(fd, Location::Fcntl, libc::EBADF, i as u32);
        }
    }
    if let Some(f) = spec.exec_fd {
        if !inheritable(f as i32) {
            fail(fd, Location::Execve, libc::EBADF, 0);
        }
    }
    // Like the real helper, the stop comes after the sync point.
    let stop = || {
        if spec.has(forkexec_spec::layout::opt::STOP_BEFORE_SECCOMP) {
            // SAFETY: kill and getpid have no memory effects.
            unsafe { libc::kill(libc::getpid(), libc::SIGSTOP) };
        }
    };
    // Like the real helper: the status fd closes on exec, which is how success is seen.
    // SAFETY: fcntl on an fd number has no memory effects.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };

    match mode.as_str() {
        "exec" => {
            stop();
            exec(fd, &spec)
        }
        "error" => {
            stop();
            fail(fd, Location::Mount, libc::EPERM, 3)
        }
        "sync" => {
            // SAFETY: getpid cannot fail.
            let pid = unsafe { libc::getpid() } as u32;
            write_all(fd, &Record::Sync { pid }.encode());
            let mut answer = [1u8];
            if read_some(fd, &mut answer) != 1 || answer[0] != SYNC_CONTINUE {
                fail(fd, Location::SyncRead, libc::ECANCELED, 0);
            }
            stop();
            exec(fd, &spec)
        }
        "pid" => {
            write_all(fd, &Record::Pid { pid: 4242 }.encode());
            exec(fd, &spec)
        }
        "die" => std::process::exit(125),
        "garbage" => {
            let mut record = [0u8; 32];
            record[0] = 99;
            write_all(fd, &record);
            std::thread::sleep(Duration::from_secs(30));
            std::process::exit(0)
        }
        "partial" => {
            let record = Record::Error {
                location: 16,
                errno: 1,
                index: 0,
                detail: 0,
            };
            write_all(fd, &record.encode()[..10]);
            std::process::exit(125)
        }
        other => panic!("unknown FAKE mode {other}"),
    }
}

fn exec(fd: i32, spec: &forkexec_spec::Spec<'_>) -> ! {
    let cstrings = |list: forkexec_spec::decode::StrList<'_>| -> Vec<CString> {
        list.iter().map(CString::from).collect()
    };
    let args = cstrings(spec.args);
    let env = cstrings(spec.env);
    let mut argv: Vec<_> = args.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<_> = env.iter().map(|e| e.as_ptr()).collect();
    envp.push(std::ptr::null());
    // SAFETY: argv and envp are NULL-terminated arrays of valid C strings.
    unsafe { libc::execve(args[0].as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    fail(fd, Location::Execve, errno, 0)
}

fn fail(fd: i32, location: Location, errno: i32, index: u32) -> ! {
    let record = Record::Error {
        location: location as u32,
        errno,
        index,
        detail: 0,
    };
    write_all(fd, &record.encode());
    std::process::exit(125)
}

fn inheritable(fd: i32) -> bool {
    // SAFETY: F_GETFD only reads the fd's flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    flags != -1 && flags & libc::FD_CLOEXEC == 0
}

fn read_some(fd: i32, buf: &mut [u8]) -> usize {
    // SAFETY: buf is valid for writes of its length.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    n.max(0) as usize
}

fn read_exact(fd: i32, buf: &mut [u8]) {
    let mut got = 0;
    while got < buf.len() {
        let n = read_some(fd, &mut buf[got..]);
        if n == 0 {
            std::process::exit(91);
        }
        got += n;
    }
}

fn write_all(fd: i32, buf: &[u8]) {
    // SAFETY: buf is valid for reads of its length. One write, as the real helper does.
    let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
    assert_eq!(n, buf.len() as isize);
}
