//! The fork server (`forkexec --serve N`, docs/spec.md "Fork server"): runs through
//! [`Server::run`] behave as one-shot starts do (output, exit status, error records, sync,
//! clone shapes), and the server outlives its runs' failures.
use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;

use forkexec_client::{Error, Location, Namespace, Runner, Server};
use forkexec_testkit::support::*;

fn server() -> Server {
    Server::start_with(helper()).expect("start the fork server")
}

/// Runs `runner` through `server` with stdout and stderr captured; (status, stdout).
fn served(server: &Server, mut runner: Runner) -> Result<(i32, String), Error> {
    let devnull = File::open("/dev/null").unwrap();
    let (mut out_r, out_w) = pipe();
    runner.spec.files = vec![devnull.as_raw_fd(), out_w.as_raw_fd(), out_w.as_raw_fd()];
    let started = server.run(runner);
    drop(out_w);
    let mut run = started?;
    let mut out = String::new();
    out_r.read_to_string(&mut out).unwrap();
    let status = run.wait().unwrap();
    Ok((status.code().unwrap_or(-1), out))
}

fn sh(script: &str) -> Runner {
    Runner::new(["/bin/sh", "-c", script])
}

#[test]
fn runs_report_output_and_exit_status() {
    let server = server();
    for i in 0..3 {
        let (code, out) = served(&server, sh(&format!("echo run {i}; exit {i}"))).unwrap();
        assert_eq!((code, out.as_str()), (i, format!("run {i}\n").as_str()));
    }
}

#[test]
fn a_failed_step_is_an_error_record_and_the_server_goes_on() {
    let server = server();
    let err = served(&server, Runner::new(["/nonexistent/program"])).unwrap_err();
    match err {
        Error::Child(e) => {
            assert_eq!(e.location(), Some(Location::Execve));
            assert_eq!(e.errno(), libc::ENOENT);
        }
        other => panic!("{other}"),
    }
    let (code, out) = served(&server, sh("echo still here")).unwrap();
    assert_eq!((code, out.as_str()), (0, "still here\n"));
}

#[test]
fn sync_gets_the_target_pid() {
    let server = server();
    let (tx, rx) = std::sync::mpsc::channel();
    let runner = sh("echo $$").sync_func(move |pid| {
        tx.send(pid).unwrap();
        Ok::<(), std::io::Error>(())
    });
    let (code, out) = served(&server, runner).unwrap();
    assert_eq!(code, 0);
    assert_eq!(out.trim(), rx.recv().unwrap().to_string());
}

#[test]
fn clone_shapes_report_through_their_supervisor() {
    let server = server();
    let mut runner = sh("echo pid $$; exit 3").clone_flags([Namespace::NewUser, Namespace::NewPid]);
    runner.spec.uid_mappings = vec![forkexec_client::IdMap {
        container_id: 0,
        host_id: euid(),
        size: 1,
    }];
    let (code, out) = served(&server, runner).unwrap();
    assert_eq!((code, out.as_str()), (3, "pid 1\n"));
}

/// ONLY_END_RECORDS, in place and supervised: no pid or exec record, so `run` returns once
/// the program has ended, with its status and output; a failed step is still an error.
#[test]
fn only_end_records_returns_at_the_end() {
    let server = server();
    for supervised in [false, true] {
        let mut runner = sh("echo end $$; exit 3");
        if supervised {
            runner = runner.clone_flags([Namespace::NewUser, Namespace::NewPid]);
            runner.spec.uid_mappings = vec![forkexec_client::IdMap::new(0, euid(), 1)];
        }
        runner.spec.only_end_records = true;
        let devnull = File::open("/dev/null").unwrap();
        let (mut out_r, out_w) = pipe();
        runner.spec.files = vec![devnull.as_raw_fd(), out_w.as_raw_fd(), out_w.as_raw_fd()];
        let mut run = server.run(runner).unwrap();
        drop(out_w);
        // Ended already: its output is all there, its status known; no pid was reported.
        let mut out = String::new();
        out_r.read_to_string(&mut out).unwrap();
        assert!(out.starts_with("end "), "{out}");
        assert_eq!(run.pid(), 0);
        assert_eq!(run.wait().unwrap().code(), Some(3));
    }
    let mut runner = Runner::new(["/nonexistent/program"]);
    runner.spec.only_end_records = true;
    assert!(matches!(served(&server, runner), Err(Error::Child(_))));
}

/// A run has the fds its request passes and nothing else: none of the server's (its socket,
/// other runs' channels, its stdio) nor its own channel.
#[test]
fn a_run_has_only_its_own_fds() {
    let server = server();
    // Another run is going (its channel and pidfd are open in the server) meanwhile.
    let other = server
        .run(Runner::new(["/bin/sleep", "1000"]).files([-1, -1, -1]))
        .unwrap();
    let (code, out) = served(&server, probe_runner(&["report"])).unwrap();
    assert_eq!(code, 0, "{out}");
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(forkexec_testkit::leaks::only_std_fds(&report), Ok(()));
    drop(other);
}

/// Before its exec, a run's child holds its request's fds, its channel and its handshake pipe,
/// and nothing of the server's (the server's socket, another run's channel, pidfd and pipe,
/// the server's stdio): seen from the sync callback in /proc (root: the child is not dumpable).
#[test]
fn a_run_holds_nothing_of_the_server_during_setup() {
    forkexec_testkit::root_only!("reading /proc/PID/fd of a non-dumpable process needs root");
    let server = server();
    let other = server
        .run(Runner::new(["/bin/sleep", "1000"]).files([-1, -1, -1]))
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let runner = sh("exit 0").sync_func(move |pid| {
        let mut fds: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))?
            .flatten()
            .map(|e| {
                format!(
                    "{} {:?}",
                    e.file_name().to_string_lossy(),
                    std::fs::read_link(e.path()).ok()
                )
            })
            .collect();
        fds.sort();
        tx.send(fds).unwrap();
        Ok::<(), std::io::Error>(())
    });
    let (code, _) = served(&server, runner).unwrap();
    assert_eq!(code, 0);
    let fds = rx.recv().unwrap();
    // The request's two fds (/dev/null and the output pipe) at their numbers, their copies
    // at 0, 1 and 2 (the FILES table), the channel and the handshake pipe: 7.
    assert_eq!(fds.len(), 7, "{fds:?}");
    drop(other);
}

/// The report keys that a spec sets (everything but pids, fds and the like).
const SET_BY_A_SPEC: [&str; 17] = [
    "argv",
    "cap_amb",
    "cap_bnd",
    "cap_eff",
    "cap_inh",
    "cap_prm",
    "cwd",
    "domainname",
    "env",
    "gid",
    "groups",
    "hostname",
    "mountinfo",
    "no_new_privs",
    "ns",
    "rlimits",
    "uid",
];

/// The helper decodes each spec into static memory: a run decodes its own afresh. After a run
/// with every list and field it could keep (env, work dir, rlimits, namespaces, id maps, host
/// name, mounts, pivot_root, no_new_privs, dropped capabilities), a bare run on the same server
/// is exactly what a bare run on a fresh server is.
#[test]
fn a_run_keeps_nothing_of_the_spec_before() {
    let bare = || probe_runner(&["report"]);
    let report = |server: &Server, runner: Runner| {
        let (code, out) = served(server, runner).unwrap();
        assert_eq!(code, 0, "{out}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        SET_BY_A_SPEC.map(|k| (k, v[k].clone()))
    };
    let fresh = report(&server(), bare());

    let mut c = Cleanup::default();
    let mut full = in_root(&mut c, &["report"])
        .env(["STALE=1"])
        .work_dir("/usr")
        .rlimit(forkexec_client::Resource::Nofile, 64, 64)
        .host_name("stale")
        .mount(forkexec_client::MountOp::tmpfs("/stale"))
        .no_new_privs(true)
        .drop_caps(true);
    full.spec.clone_flags.push(Namespace::NewUts);
    let server = server();
    let stale = report(&server, full);
    assert_eq!(stale[6].1, "/usr", "the full run had its own spec");
    assert_eq!(report(&server, bare()), fresh);
}
