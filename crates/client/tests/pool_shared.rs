//! Warm sandboxes with shared namespaces (issue 14; docs/design.md, "Shared namespaces"):
//! runs forked straight into the sandbox's namespaces, one at a time. No file in a writable
//! place, process, fd, env, work dir or rlimit of an earlier run is visible to the next; a
//! daemon that double-forked and left the session is gone before the run's `wait` returns; a
//! second run on a busy sandbox is refused; the writable places do not stack mounts; what is
//! shared by design (SysV ipc without the run's own `NewIpc`, the user keyring) is shown to
//! be. The 10,000-run leak check is crates/client/tests/pool_shared_leaks.rs.
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::AsRawFd;

use forkexec_client::{Error, Namespace, Pool, Resource, Runner, Sandbox, SandboxBuilder};
use forkexec_client::{MountOp, ServedProcess};
use forkexec_testkit::leaks;
use forkexec_testkit::served::{finish, run_in, start_in};
use forkexec_testkit::support::*;
use serde_json::Value;

/// A shared-namespace sandbox: new user, mount, pid and ipc namespaces built once, the caller
/// mapped to root, a tmpfs root with the host's /usr, /bin, /lib, /lib64 and the probe bound
/// read-only, a /dev; /tmp and /work reset after every run.
fn shape(c: &mut Cleanup) -> SandboxBuilder {
    Sandbox::builder(pool_shape(c))
        .writable("/tmp")
        .writable("/work")
        .shared_namespaces()
}

fn sh(script: &str) -> Runner {
    Runner::new(["/bin/sh", "-c", script])
}

fn report(sandbox: &Sandbox) -> Value {
    let (code, out) = run_in(sandbox, Runner::new([PROBE_IN_ROOT, "report"]));
    assert_eq!(code, 0, "{out}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// The first run leaves what it can; the next sees none of it. Each leftover is first shown
/// to be there within the run that left it, so the check after is not vacuous.
#[test]
fn runs_see_nothing_of_earlier_runs() {
    let mut c = Cleanup::default();
    let sandbox = shape(&mut c).start().unwrap();
    let extra = File::open("/dev/null").unwrap();
    let first = sh(
        "echo x >/tmp/left && mkdir /work/d && echo y >/work/d/left && \
                    chmod 700 /tmp && ls /tmp/left /work/d/left && pwd && ls /proc/self/fd",
    )
    .env(["LEFT=1"])
    .work_dir("/work")
    .rlimit(Resource::Nofile, 64, 64);
    let devnull = File::open("/dev/null").unwrap();
    let (out_r, out_w) = pipe();
    let first = first.files([
        devnull.as_raw_fd(),
        out_w.as_raw_fd(),
        out_w.as_raw_fd(),
        extra.as_raw_fd(),
    ]);
    let started = sandbox.run(first).unwrap();
    drop(out_w);
    assert_eq!(
        finish((started, out_r)),
        (0, "/tmp/left\n/work/d/left\n/work\n0\n1\n2\n3\n4\n".into())
    );
    let (code, out) = run_in(&sandbox, sh("ls -A /tmp /work; stat -c %a /tmp"));
    assert_eq!(
        (code, out.as_str()),
        (0, "/tmp:\n\n/work:\n1777\n"),
        "files of an earlier run"
    );
    let r = report(&sandbox);
    assert!(!r["env"].to_string().contains("LEFT"), "{}", r["env"]);
    assert_eq!(r["cwd"], "/");
    assert_eq!(leaks::only_std_fds(&r), Ok(()));
    let nofile = r["rlimits"]["nofile"].to_string();
    assert!(!nofile.contains("64,"), "{nofile}");
    // Anywhere else is read-only, as in the per-run model.
    for place in ["/left", "/dev/left", "/dev/shm/left"] {
        let (code, out) = run_in(&sandbox, sh(&format!("echo z >{place}")));
        assert_ne!(code, 0, "{place}: {out}");
        assert!(out.contains("Read-only"), "{place}: {out}");
    }
}

/// The sandbox's processes as `pid comm`, without the state (the server may be running or
/// sleeping).
fn tree(sandbox: &Sandbox) -> Vec<String> {
    leaks::descendants_of(sandbox.pid())
        .iter()
        .map(|p| p.rsplit_once(' ').unwrap().0.to_owned())
        .collect()
}

/// A run starts a daemon (double fork, `setsid`, stdio closed) that would live on, and ends:
/// by the time `wait` returns the daemon is gone (the sandbox's process tree is what it was,
/// with no waiting), and the next run sees only the server (pid 1) and itself.
#[test]
fn a_daemon_is_gone_when_its_run_is_waited_for() {
    let mut c = Cleanup::default();
    let sandbox = shape(&mut c).start().unwrap();
    let tree = || tree(&sandbox);
    let before = tree();
    assert_eq!(before.len(), 1, "the server: {before:?}");
    // The run waits until its daemon is there, so the daemon surely outlives the program.
    let daemon =
        "(setsid sh -c '(: >/tmp/started; exec sleep 1000) &' </dev/null >/dev/null 2>&1 &); \
                  for i in $(seq 10000); do [ -e /tmp/started ] && exit 0; done; exit 1";
    let (mut run, mut out_r) = start_in(&sandbox, sh(daemon));
    let mut out = String::new();
    out_r.read_to_string(&mut out).unwrap();
    let status = run.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{out}");
    assert_eq!(tree(), before, "the daemon outlived its run");
    assert_eq!(
        visible_pids(&sandbox),
        Ok(()),
        "processes of an earlier run"
    );
}

/// The processes a run sees in its /proc: the server (pid 1) and itself, nothing else.
fn visible_pids(sandbox: &Sandbox) -> Result<(), String> {
    let (code, out) = run_in(sandbox, sh("cd /proc && echo [0-9]* && echo 1 $$"));
    let lines: Vec<&str> = out.lines().collect();
    match (code, lines.as_slice()) {
        (0, [seen, expected]) if seen == expected => Ok(()),
        _ => Err(out),
    }
}

/// A run cannot take the sandbox down: it is not allowed to signal the server (pid 1 of the
/// namespace gets no signal it has no handler for), so `kill -9 -1` ends only the run.
#[test]
fn a_run_cannot_kill_the_server() {
    let mut c = Cleanup::default();
    let sandbox = shape(&mut c).start().unwrap();
    let tree = || tree(&sandbox);
    let server = tree();
    // The signal to pid 1 is sent and dropped; kill(-1) finds nobody but the caller (ESRCH).
    let (code, out) = run_in(
        &sandbox,
        sh("kill -9 1 && echo sent; kill -9 -1 2>/dev/null; echo $?"),
    );
    assert_eq!((code, out.as_str()), (0, "sent\n1\n"));
    assert_eq!(tree(), server);
    assert_eq!(run_in(&sandbox, sh("echo ok")), (0, "ok\n".into()));
}

/// One run at a time: a second run on a busy sandbox is refused (ResourceBusy) and leaves
/// the first alone; once the first is waited for (or dropped) the sandbox takes the next. A
/// pool gives each run an idle sandbox and refuses when all are busy.
#[test]
fn one_run_at_a_time() {
    let mut c = Cleanup::default();
    let sandbox = shape(&mut c).start().unwrap();
    let (stdin_r, stdin_w) = pipe();
    let devnull = File::open("/dev/null").unwrap();
    let null = devnull.as_raw_fd();
    let reader = || sh("read x; exit 3").files([stdin_r.as_raw_fd(), null, null]);
    let mut first = sandbox.run(reader()).unwrap();
    let busy = |e: Error| match e {
        Error::Helper(e) => e.kind() == ErrorKind::ResourceBusy,
        _ => false,
    };
    assert!(busy(sandbox.run(sh("true")).unwrap_err()));
    drop(stdin_w);
    assert_eq!(first.wait().unwrap().code(), Some(3));
    assert_eq!(run_in(&sandbox, sh("exit 4")).0, 4);
    // Dropped while going: the server kills it, and the next run waits for its cleanup.
    let dropped = sandbox
        .run(sh("exec sleep 1000").files([null, null, null]))
        .unwrap();
    drop(dropped);
    assert_eq!(visible_pids(&sandbox), Ok(()));

    let pool = Pool::new(2, || shape(&mut c)).unwrap();
    let (stdin_r, stdin_w) = pipe();
    let reader = || sh("read x; exit 5").files([stdin_r.as_raw_fd(), null, null]);
    let mut going: Vec<ServedProcess> = (0..2).map(|_| pool.run(reader()).unwrap()).collect();
    assert!(busy(pool.run(sh("true")).unwrap_err()));
    drop(stdin_w);
    for run in &mut going {
        assert_eq!(run.wait().unwrap().code(), Some(5));
    }
    let mut again = pool.run(sh("exit 6").files([null, null, null])).unwrap();
    assert_eq!(again.wait().unwrap().code(), Some(6));
}

/// The writable places are replaced, not stacked: after many runs there is still one mount
/// on each, and the sandbox's mount table is as it was.
#[test]
fn resets_do_not_stack_mounts() {
    let mut c = Cleanup::default();
    let sandbox = shape(&mut c).start().unwrap();
    let table = "cat /proc/self/mountinfo | wc -l; grep -c ' /tmp ' /proc/self/mountinfo";
    let (_, first) = run_in(&sandbox, sh(table));
    for _ in 0..50 {
        assert_eq!(run_in(&sandbox, sh("echo x >/tmp/x")).0, 0);
    }
    let (code, after) = run_in(&sandbox, sh(table));
    assert_eq!(code, 0);
    assert_eq!(after, first);
    assert!(first.ends_with("\n1\n"), "{first}");
}

/// What a shared sandbox's runs share by design: SysV ipc (unless the run asks for its own
/// ipc namespace) and the user keyring (a later run finds the key: EACCES, where a missing
/// key is ENOKEY); a session keyring is the run's own.
#[test]
fn what_runs_share_by_design() {
    let mut c = Cleanup::default();
    let sandbox = shape(&mut c).start().unwrap();
    let count = "ipcs -m | grep -c 4096";
    let own = sh(&format!("ipcmk -M 4096 >/dev/null && {count}")).clone_flags([Namespace::NewIpc]);
    assert_eq!(run_in(&sandbox, own), (0, "1\n".into()));
    assert_eq!(
        run_in(&sandbox, sh(count)).1,
        "0\n",
        "a run's own ipc namespace"
    );
    assert_eq!(
        run_in(
            &sandbox,
            sh(&format!("ipcmk -M 4096 >/dev/null && {count}"))
        )
        .1,
        "1\n"
    );
    assert_eq!(run_in(&sandbox, sh(count)).1, "1\n", "shared ipc");
    for (keyring, errno) in [("session", libc::ENOKEY), ("user", libc::EACCES)] {
        let add = format!("{PROBE_IN_ROOT} addkey left secret {keyring}");
        assert_eq!(run_in(&sandbox, sh(&add)).0, 0);
        let (code, out) = run_in(
            &sandbox,
            Runner::new([PROBE_IN_ROOT, "key", "left", keyring]),
        );
        assert_eq!(code, 0, "{out}");
        let key: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(key["errno"], errno, "{keyring}: {key}");
    }
}

/// What the shared model cannot do safely is refused, clearly, and the sandbox goes on.
#[test]
fn misplaced_settings_are_refused() {
    let mut c = Cleanup::default();
    let start = |b: SandboxBuilder| b.start().expect_err("refused").to_string();
    let e = start(
        Sandbox::builder(pool_shape(&mut c))
            .writable("tmp")
            .shared_namespaces(),
    );
    assert!(e.contains("absolute"), "{e}");
    let e = start(
        Sandbox::builder(pool_shape(&mut c))
            .writable("/")
            .shared_namespaces(),
    );
    assert!(e.contains("absolute"), "{e}");
    let e = start(
        Sandbox::builder(pool_shape(&mut c))
            .writable("/work")
            .writable("/work/sub")
            .shared_namespaces(),
    );
    assert!(e.contains("inside"), "{e}");
    let sandbox = shape(&mut c).start().unwrap();
    let e = sandbox
        .run(sh("true").mount(MountOp::tmpfs("/mnt")))
        .unwrap_err();
    assert!(e.to_string().contains("NewNs"), "{e}");
    let e = sandbox.run(sh("true").pivot_root("/x")).unwrap_err();
    assert!(e.to_string().contains("pivot_root"), "{e}");
    // With a mount namespace of its own a run may mount; the sandbox does not keep it.
    let table = "grep -c ' /tmp/m ' /proc/self/mountinfo";
    let mine = sh(table)
        .clone_flags([Namespace::NewNs])
        .mount(MountOp::tmpfs("/tmp/m"));
    assert_eq!(run_in(&sandbox, mine), (0, "1\n".into()));
    assert_eq!(run_in(&sandbox, sh(table)), (1, "0\n".into()));
    assert_eq!(run_in(&sandbox, sh("exit 7")).0, 7);
}
