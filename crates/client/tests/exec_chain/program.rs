//! What the target runs: args, env, exec_path, exec_file, work_dir, rlimits.

use super::*;

// ---------------------------------------------------------------------------------------
// args, env, exec_path, exec_file

#[test]
fn args_arrive_byte_exact() {
    let mut args: Vec<String> = vec![
        probe_path(),
        "report".into(),
        String::new(),
        " ".into(),
        "two words".into(),
        "  leading and trailing  ".into(),
        "日本語 ünïcødé ✓".into(),
        "tab\there\nnewline".into(),
        "--".into(),
        "-x=\"quoted\" 'single' $HOME \\back".into(),
        String::new(),
        "x".repeat(100_000),
    ];
    args.extend((0..3000).map(|i| format!("arg-{i}")));
    let r = report(Runner::new(args.clone()));
    assert_eq!(strings(&r["argv"]), args);
}

#[test]
fn env_arrives_exactly_in_order() {
    let env = vec![
        "PATH=/nowhere".to_string(),
        "EMPTY=".into(),
        "SPACES=a b  c ".into(),
        "EQUALS=a=b=c".into(),
        "UNICODE=ü日本".into(),
        "NEWLINE=one\ntwo".into(),
        "ZZZ=last but not sorted".into(),
        "AAA=first letter, last place".into(),
        format!("LONG={}", "v".repeat(50_000)),
    ];
    let r = report(probe_runner(&["report"]).env(env.clone()));
    assert_eq!(strings(&r["env"]), env);
}

#[test]
fn empty_env_means_an_empty_environment() {
    // This process has a non-empty environment (PATH at least under cargo and make); none
    // of it may reach the target.
    assert!(std::env::vars_os().next().is_some());
    let r = report(probe_runner(&["report"]));
    assert_eq!(r["env"], json!([]));
}

#[test]
fn exec_path_runs_another_file_than_argv0() {
    let r = report(
        Runner::new(["/nonexistent/argv0-is-not-executed", "report", "x"]).exec_path(probe_path()),
    );
    assert_eq!(
        strings(&r["argv"]),
        ["/nonexistent/argv0-is-not-executed", "report", "x"]
    );
}

#[test]
fn exec_file_runs_the_fd_and_does_not_leak_it() {
    let exe = File::open(probe()).unwrap();
    let r = report_mapped(
        Runner::new(["argv0-is-not-a-path", "report"]).exec_file(exe.as_raw_fd()),
        |s| s.std3(),
    );
    assert_eq!(strings(&r["argv"]), ["argv0-is-not-a-path", "report"]);
    let fds = fd_links(&r);
    assert_eq!(
        fds.keys().copied().collect::<Vec<_>>(),
        [0, 1, 2],
        "{fds:?}"
    );
}

/// The exec fd's own number is a slot the target gets closed: the helper must move it out
/// of the way before closing the slot, and still not leak it.
#[test]
fn exec_file_numbered_like_a_closed_target_slot() {
    let exe = dup_at_least(File::open(probe()).unwrap().as_raw_fd(), 20);
    let e = exe.as_raw_fd();
    let r = report_mapped(Runner::new(["argv0", "report"]).exec_file(e), |s| {
        let mut files = s.std3();
        files.resize(e as usize + 1, -1);
        files
    });
    let fds = fd_links(&r);
    assert_eq!(
        fds.keys().copied().collect::<Vec<_>>(),
        [0, 1, 2],
        "{fds:?}"
    );
}

/// The helper's fds (spec socket, exec fd) must not be clobbered while the fd table is
/// shuffled: here the exec fd is numbered right above every fd in `files`, which is where
/// the helper moves the first fd it has to get out of the way (the spec socket).
#[test]
fn exec_file_right_above_the_files_table() {
    let dir = TempDir::new("execfd-above");
    let data = dir.join("data");
    std::fs::write(&data, "x").unwrap();
    let data_file = File::open(&data).unwrap();
    let probe_file = File::open(probe()).unwrap();
    // Two consecutive numbers F, F+1 well above the spec socket's (this process's lowest
    // free fd when `start` runs).
    let mut base = 200;
    let (f, e) = loop {
        let f = dup_at_least(data_file.as_raw_fd(), base);
        let e = dup_at_least(probe_file.as_raw_fd(), f.as_raw_fd() + 1);
        if e.as_raw_fd() == f.as_raw_fd() + 1 {
            break (f, e);
        }
        base = e.as_raw_fd() + 1;
    };
    let (fd_f, fd_e) = (f.as_raw_fd(), e.as_raw_fd());
    let r = report_mapped(Runner::new(["argv0", "report"]).exec_file(fd_e), |s| {
        vec![s.null(), s.out(), s.err(), fd_f]
    });
    let fds = fd_links(&r);
    assert_eq!(
        fds.keys().copied().collect::<Vec<_>>(),
        [0, 1, 2, 3],
        "{fds:?}"
    );
    assert_eq!(fds[&3], canonical(&data));
}

// ---------------------------------------------------------------------------------------
// work_dir, rlimits

#[test]
fn work_dir_is_the_cwd() {
    let dir = TempDir::new("cwd");
    let sub = dir.join("sub dir ü");
    std::fs::create_dir(&sub).unwrap();
    let r = report(probe_runner(&["report"]).work_dir(sub.to_str().unwrap()));
    assert_eq!(r["cwd"], canonical(&sub));
    // Without work_dir, the runtime's cwd.
    let r = report(probe_runner(&["report"]));
    assert_eq!(
        r["cwd"],
        std::env::current_dir().unwrap().to_string_lossy().as_ref()
    );
}

#[test]
fn rlimits_are_set() {
    // cur < max, both within this process's hard limit (so this works unprivileged too).
    let pick = |res: libc::__rlimit_resource_t, cur: u64, max: u64| {
        let max = max.min(hard_limit(res));
        (cur.min(max), max)
    };
    let nofile = pick(libc::RLIMIT_NOFILE, 100, 200);
    let cpu = pick(libc::RLIMIT_CPU, 100, 200);
    let as_ = pick(libc::RLIMIT_AS, 3 << 30, 4 << 30);
    let core = pick(libc::RLIMIT_CORE, 0, 1 << 20);
    let fsize = pick(libc::RLIMIT_FSIZE, 1 << 20, RLIM_INFINITY);
    let r = report(
        probe_runner(&["report"])
            .rlimit(Resource::Nofile, nofile.0, nofile.1)
            .rlimit(Resource::Cpu, cpu.0, cpu.1)
            .rlimit(Resource::As, as_.0, as_.1)
            .rlimit(Resource::Core, core.0, core.1)
            .rlimit(Resource::Fsize, fsize.0, fsize.1),
    );
    let got = |res: libc::__rlimit_resource_t| -> (u64, u64) {
        let v = &r["rlimits"][res.to_string()];
        (v[0].as_u64().unwrap(), v[1].as_u64().unwrap())
    };
    assert_eq!(got(libc::RLIMIT_NOFILE), nofile);
    assert_eq!(got(libc::RLIMIT_CPU), cpu);
    assert_eq!(got(libc::RLIMIT_AS), as_);
    assert_eq!(got(libc::RLIMIT_CORE), core);
    assert_eq!(got(libc::RLIMIT_FSIZE), fsize);
    assert!(nofile.0 < nofile.1 && cpu.0 < cpu.1 && as_.0 < as_.1);
}

/// A later rlimit record for the same resource wins (they are applied in order).
#[test]
fn rlimits_apply_in_order() {
    let r = report(
        probe_runner(&["report"])
            .rlimit(Resource::Nofile, 50, 100)
            .rlimit(Resource::Nofile, 20, 30),
    );
    assert_eq!(
        r["rlimits"][libc::RLIMIT_NOFILE.to_string()],
        json!([20, 30])
    );
}

// ---------------------------------------------------------------------------------------
// what the spawn of the helper hands on

/// The helper is spawned as `std::process::Command` spawns: this (Rust) process ignores
/// SIGPIPE and the starting thread blocks SIGUSR1 and SIGTERM here, yet the target starts with
/// SIGPIPE at its default and an empty signal mask (the spawn resets both in the child).
#[test]
fn the_spawn_resets_sigpipe_and_the_signal_mask() {
    let out = on_fresh_thread(|| {
        // SAFETY: sigset_t is plain data, initialised by sigemptyset; pthread_sigmask on
        // this (fresh, test-only) thread.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGUSR1);
            libc::sigaddset(&mut set, libc::SIGTERM);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        }
        let args = ["/bin/grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"];
        run_mapped(Runner::new(args), |s| s.std3()).expect("start")
    });
    assert!(out.status.success(), "{} {}", out.status, out.stderr);
    let field = |name: &str| {
        let line = out.stdout.lines().find_map(|l| l.strip_prefix(name));
        let hex = line.unwrap_or_else(|| panic!("no {name} in {:?}", out.stdout));
        u64::from_str_radix(hex.trim(), 16).unwrap()
    };
    assert_eq!(
        field("SigBlk:"),
        0,
        "the thread's blocked signals reached the target"
    );
    let sigpipe = 1u64 << (libc::SIGPIPE - 1);
    assert_eq!(
        field("SigIgn:") & sigpipe,
        0,
        "SIGPIPE ignored in the target"
    );
}
