//! The helper as pid 1 of a container made from a scratch root: option init with a new pid
//! namespace, pivot_root into the scratch tree, a proc of the new pid namespace. The
//! runtime's helper is the scratch root's own copy (`tree/bin/forkexec`), so every program of
//! the container, pid 1 included, comes from the tree. The target, `zombie-maker`, leaves
//! orphans behind and waits for signals; the tests check from inside (its /proc) and from
//! the host (`/proc/PID/task/*/children`), with controls run without init (the target is
//! then pid 1 itself).

use forkexec_client::{MountOp, Namespace, Runner};
use forkexec_rootfs_tests::*;

/// `zombie-maker ARGS…` as pid 2 under the helper's init (pid 1), or as pid 1 without init.
fn container(rootfs: &Rootfs, args: &[&str], init: bool) -> Runner {
    let mut argv = vec![ZOMBIE_MAKER];
    argv.extend_from_slice(args);
    in_rootfs(rootfs, &argv, &[Namespace::NewPid])
        .mount(MountOp::proc("/proc"))
        .helper(rootfs.host(HELPER_IN_ROOT))
        .init(init)
}

/// The `ps` lines as (pid, state, ppid, comm), sorted by pid.
fn ps(l: &Lines) -> Vec<(i64, String, i64, String)> {
    let mut v: Vec<_> = l
        .all("ps")
        .into_iter()
        .map(|f| {
            (
                f[0].parse().unwrap(),
                f[1].to_owned(),
                f[2].parse().unwrap(),
                f[3].to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Orphans that end are reparented to pid 1, the helper's init, which reaps them: none is
/// left, /proc of the container lists init and the target only, and the target's exit code
/// is the container's.
#[test]
fn init_reaps_orphaned_zombies() {
    let rootfs = Rootfs::new("init-reaps");
    let args = ["orphans", "5", "await-reaped", "10000", "ps", "exit", "23"];
    let out = run(container(&rootfs, &args, true)).expect("start");
    let l = &out.lines;
    assert_eq!(out.status.code(), Some(23), "{l:#?} {}", out.stderr);
    let orphans = l.numbers("orphan");
    assert_eq!(orphans.len(), 5, "{l:#?}");
    assert_eq!(l.numbers("reaped"), orphans, "{l:#?}");
    assert!(l.all("left").is_empty(), "{l:#?}");
    let ps = ps(l);
    assert_eq!(ps.len(), 2, "{ps:?}");
    let (init, target) = (&ps[0], &ps[1]);
    assert_eq!(
        (init.0, init.2, init.3.as_str()),
        (1, 0, "forkexec"),
        "{ps:?}"
    );
    assert_eq!(
        (target.0, target.2, target.3.as_str()),
        (2, 1, "zombie-maker")
    );
}

/// Control: without init the target itself is pid 1 and never reaps the orphans, so they
/// stay zombies (state Z, parent 1) — what the check above would see if init did not reap.
#[test]
fn without_init_orphans_stay_zombies() {
    let rootfs = Rootfs::new("no-init");
    let args = ["orphans", "3", "await-reaped", "300", "ps", "exit", "23"];
    let out = run(container(&rootfs, &args, false)).expect("start");
    let l = &out.lines;
    assert_eq!(out.status.code(), Some(23), "{l:#?} {}", out.stderr);
    let orphans = l.numbers("orphan");
    assert_eq!(orphans.len(), 3, "{l:#?}");
    assert!(l.all("reaped").is_empty(), "{l:#?}");
    for left in l.all("left") {
        assert_eq!(left[1..], ["Z", "1"], "{l:#?}");
    }
    assert_eq!(l.numbers("left"), orphans);
    let zombies = ps(l).into_iter().filter(|p| p.1 == "Z").count();
    assert_eq!(zombies, 3, "{l:#?}");
}

/// A signal sent to the helper is forwarded to init and by init to the target, which exits
/// with 64 + the signal's number; the helper ends with that code. Seen from the host while
/// it runs: helper → init → the target and the daemons it left behind (the reaped orphans
/// are gone); once the target has ended, init exits and the kernel ends the rest of the pid
/// namespace: no daemon survives.
#[test]
fn init_forwards_signals_and_the_exit_status() {
    let rootfs = Rootfs::new("init-signals");
    for sig in [libc::SIGTERM, libc::SIGUSR1, libc::SIGHUP] {
        let args = [
            "orphans",
            "3",
            "await-reaped",
            "10000",
            "daemons",
            "2",
            "wait-signal",
        ];
        let mut run = Running::start(container(&rootfs, &args, true)).expect("start");
        assert!(run.read_until("ready"), "{:#?}", run.lines());
        let helper = run.process.pid();
        let init = run.process.target_pid();
        assert_eq!(children(helper), [init], "the helper's only child is init");
        let in_container = watch(&children(init));
        assert_eq!(in_container.len(), 3, "the target and 2 daemons");
        assert!(in_container.iter().all(|p| !p.ended()));
        assert_eq!(run.lines().numbers("reaped").len(), 3);

        run.process.kill(sig).unwrap();
        let out = run.finish().unwrap();
        assert_eq!(out.lines.number("signal"), i64::from(sig));
        assert_eq!(out.status.code(), Some(64 + sig), "{:#?}", out.lines);
        for p in in_container {
            assert!(p.ended(), "pid {} outlived the container", p.pid);
        }
    }
}

/// The target (pid 2) killed by a signal it does not handle: forwarded through init, and the
/// helper ends by the same signal. Control: without init the target is pid 1, and the kernel
/// drops a signal whose action is the default for a namespace's init, so SIGUSR2 does
/// nothing and the handled SIGTERM that follows ends it.
#[test]
fn unhandled_signal_ends_pid_2_and_the_status_is_kept() {
    let rootfs = Rootfs::new("init-kill");
    let mut run = Running::start(container(&rootfs, &["wait-signal"], true)).expect("start");
    assert!(run.read_until("ready"), "{:#?}", run.lines());
    run.process.kill(libc::SIGUSR2).unwrap();
    let out = run.finish().unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGUSR2), "{:#?}", out.lines);

    let mut run = Running::start(container(&rootfs, &["wait-signal"], false)).expect("start");
    assert!(run.read_until("ready"), "{:#?}", run.lines());
    run.process.kill(libc::SIGUSR2).unwrap();
    run.process.kill(libc::SIGTERM).unwrap();
    let out = run.finish().unwrap();
    assert_eq!(out.lines.number("signal"), i64::from(libc::SIGTERM));
    assert_eq!(out.status.code(), Some(64 + libc::SIGTERM));
}

/// SIGKILL cannot be forwarded: the client sends it to init, which takes the whole pid
/// namespace down, and the helper ends the same way.
#[test]
fn sigkill_takes_the_container_down() {
    let rootfs = Rootfs::new("init-sigkill");
    let args = ["daemons", "3", "wait-signal"];
    let mut run = Running::start(container(&rootfs, &args, true)).expect("start");
    assert!(run.read_until("ready"), "{:#?}", run.lines());
    let init = Watched::new(run.process.target_pid());
    let in_container = watch(&children(init.pid));
    assert_eq!(in_container.len(), 4, "the target and 3 daemons");
    assert!(!init.ended() && in_container.iter().all(|p| !p.ended()));
    run.process.kill(libc::SIGKILL).unwrap();
    let out = run.finish().unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGKILL));
    assert!(init.ended());
    for p in in_container {
        assert!(p.ended(), "pid {} outlived the container", p.pid);
    }
}
