//! Judged runs through `forkexec-run serve`: `--via` takes the one-shot judge flags (the same
//! parser on both sides) and `--cgroup`; the server makes each run's cgroup, enters it at the
//! run's sync point, watches, reads and removes it; the verdict, the exit status and
//! `--result-json` are the one-shot judge's. A client that hangs up has its judged run killed
//! and its cgroup removed; the cgroups a killed server left are reaped by the next; bad
//! combinations are refused before anything runs.
//!
//! As root on this machine's cgroups; as an ordinary user without a delegated cgroup v2
//! subtree a per-run cgroup is the one-shot's clear error, and what needs none (`--no-cgroup`,
//! a wall-time limit) runs.
use forkexec_testkit::cgroup::TestParent;
use forkexec_testkit::cli_serve::{eventually, start_background, via, Served};
use forkexec_testkit::leaks::descendants_of;
use forkexec_testkit::skip::{self, Kind};
use forkexec_testkit::support::{self, is_root, Cleanup};

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn cli() -> PathBuf {
    match std::env::var_os("FORKEXEC_RUN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_forkexec-run")),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn serve(c: &mut Cleanup) -> Served {
    forkexec_testkit::cli_serve::serve(&cli(), c, &[])
}

/// The per-run cgroups under `parent`, in every hierarchy.
fn runs_under(parent: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for m in forkexec_testkit::cgroup::mounts() {
        let Ok(entries) = std::fs::read_dir(m.path.join(parent)) else {
            continue;
        };
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with("run-") {
                found.push(e.path());
            }
        }
    }
    found
}

/// `--via FLAGS --result-json fd:3 -- sh -c SCRIPT`: the output, and the result read from fd 3.
fn judged(s: &Served, flags: &[&str], script: &str) -> (Output, Value) {
    let (r, w) = support::pipe();
    let mut cmd = forkexec_testkit::cli_serve::via_command(s, flags);
    cmd.args(["--result-json", "fd:3", "--", "sh", "-c", script])
        .stdin(Stdio::null());
    let w_fd = std::os::fd::AsRawFd::as_raw_fd(&w);
    // SAFETY: dup2 (or fcntl) in the child before exec: only async-signal-safe calls.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
            let ok = if w_fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0) == 0
            } else {
                libc::dup2(w_fd, 3) == 3
            };
            if ok {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let out = cmd.output().unwrap();
    drop(w);
    let json = std::io::read_to_string(r).unwrap();
    let json = serde_json::from_str(json.trim()).unwrap_or(Value::Null);
    eprintln!("{flags:?} {script}: {json} {}", text(&out.stderr));
    (out, json)
}

/// As an ordinary user a per-run cgroup is the one-shot's clear error (exit 125): checked,
/// and then `true` when the test has nothing more to check.
fn user_without_cgroups(out: &Output, json: &Value) -> bool {
    if is_root() || json["status"] != "runner_error" {
        return false;
    }
    let message = json["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("delegated cgroup v2 subtree") && message.contains("--no-cgroup"),
        "{json}"
    );
    assert_eq!(out.status.code(), Some(125));
    assert!(text(&out.stderr).contains(message), "{}", text(&out.stderr));
    skip::record(Kind::RootOnly, &format!("a per-run cgroup: {message}"));
    true
}

/// The limits of the one-shot judge, each with its verdict, the result's keys those of the
/// one-shot's `--result-json`, and no cgroup left.
#[test]
fn judged_runs_get_the_one_shot_verdicts() {
    let mut c = Cleanup::default();
    let s = serve(&mut c);
    let guard = TestParent::new("verdicts");
    let p = guard.name();
    let (out, r) = judged(
        &s,
        &["--time-limit", "1", "--cgroup-parent", p],
        "while :; do :; done",
    );
    if user_without_cgroups(&out, &r) {
        return;
    }
    assert_eq!(r["status"], "time_limit_exceeded", "{r}");
    assert_eq!(r["limit"], "cpu");
    assert!((1.0..1.5).contains(&r["time"].as_f64().unwrap()), "{r}");
    assert_eq!(out.status.code(), Some(128 + libc::SIGKILL));
    assert!(text(&out.stderr).contains("forkexec-run: time_limit_exceeded (cpu)"));

    let (_, r) = judged(
        &s,
        &["--memory-limit", "16m", "--cgroup-parent", p],
        "dd if=/dev/zero of=/dev/null bs=64M count=1",
    );
    assert_eq!(r["status"], "memory_limit_exceeded", "{r}");

    let (out, r) = judged(
        &s,
        &["--pids-limit", "3", "--cgroup-parent", p],
        "for i in 1 2 3 4; do sleep 1 & done; wait",
    );
    assert_eq!(r["pids_limit_hit"], true, "{r}");
    assert_ne!(out.status.code(), Some(0));

    let (out, r) = judged(
        &s,
        &["--output-limit", "10", "--cgroup-parent", p],
        "yes | head -c 100000",
    );
    assert_eq!(r["status"], "output_limit_exceeded", "{r}");
    assert_eq!(text(&out.stdout), "y\n".repeat(5));

    let (out, r) = judged(&s, &["--cgroup-parent", p], "echo hi; exit 3");
    assert_eq!(r["status"], "nonzero_exit_status", "{r}");
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(text(&out.stdout), "hi\n");
    assert!(r["memory"].as_u64().unwrap() > 0, "{r}");

    // The one-shot judge's result has the same keys.
    let file = c.dir("one-shot").join("result.json");
    let one_shot = Command::new(cli())
        .args(["--no-cgroup", "--result-json"])
        .arg(&file)
        .args(["--", "true"])
        .env("FORKEXEC_HELPER", support::helper())
        .output()
        .unwrap();
    assert!(one_shot.status.success(), "{}", text(&one_shot.stderr));
    let one: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let keys = |v: &Value| {
        v.as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(keys(&one), keys(&r));

    assert_eq!(runs_under(p), Vec::<PathBuf>::new());
}

/// What needs no cgroup runs as root and as an ordinary user alike: a wall-time limit with
/// --no-cgroup.
#[test]
fn a_wall_time_limit_needs_no_cgroup() {
    let mut c = Cleanup::default();
    let s = serve(&mut c);
    let (out, r) = judged(
        &s,
        &["--no-cgroup", "--wall-time-limit", "300ms"],
        "sleep 5",
    );
    assert_eq!(r["status"], "time_limit_exceeded", "{r}");
    assert_eq!(r["limit"], "wall");
    assert_eq!(r["cgroup"], Value::Null);
    assert_eq!(out.status.code(), Some(128 + libc::SIGKILL));
    let (out, r) = judged(&s, &["--no-cgroup", "--output-limit", "4"], "echo abcdefgh");
    assert_eq!(r["status"], "output_limit_exceeded", "{r}");
    assert_eq!(text(&out.stdout), "abcd");
}

/// A client that hangs up mid-run: its run is killed (every process of it), its cgroup
/// removed, and the server serves the next run.
#[test]
fn a_client_gone_stops_its_judged_run() {
    let mut c = Cleanup::default();
    let s = serve(&mut c);
    let guard = TestParent::new("gone");
    let p = guard.name();
    let idle = descendants_of(s.child.id()).len();
    let flags = if is_root() {
        vec!["--time-limit", "100", "--cgroup-parent", p]
    } else {
        vec!["--no-cgroup", "--wall-time-limit", "100"]
    };
    let (mut client, line) =
        start_background(&s, &flags, "sleep 1000 & echo started; exec sleep 1000");
    assert_eq!(line, "started\n");
    assert!(descendants_of(s.child.id()).len() > idle);
    if is_root() {
        assert!(!runs_under(p).is_empty(), "no per-run cgroup under {p}");
    }
    client.kill().unwrap();
    client.wait().unwrap();
    eventually("the judged run outlived its client", || {
        descendants_of(s.child.id()).len() == idle
    });
    eventually("the run's cgroup outlived its client", || {
        runs_under(p).is_empty()
    });
    let out = via(&s, &["--", "echo", "next"], "");
    assert_eq!(text(&out.stdout), "next\n", "{}", text(&out.stderr));
}

/// The per-run cgroups of a server killed with SIGKILL (named for its pid, now gone) are
/// reaped by the next `serve` before it listens.
#[test]
fn a_killed_servers_cgroups_are_reaped_at_start() {
    forkexec_testkit::root_only!("making cgroups under the default parent needs root here");
    // A pid that is gone: a child reaped.
    let mut gone = Command::new("true").spawn().unwrap();
    let pid = gone.id();
    gone.wait().unwrap();
    let name = format!("run-{pid}-0");
    // In every hierarchy a judge's per-run cgroup has a directory in.
    let layout = forkexec_client::cgroup::Layout::detect().unwrap();
    let mut made = Vec::new();
    for dir in layout.dirs_of(forkexec_client::cgroup::DEFAULT_PARENT) {
        let dir = dir.join(&name);
        if std::fs::create_dir_all(&dir).is_ok() {
            made.push(dir);
        }
    }
    forkexec_testkit::root_needs!(!made.is_empty(), "no cgroup hierarchy to make one in");
    let mut c = Cleanup::default();
    let _s = serve(&mut c);
    let left: Vec<_> = made.iter().filter(|d| d.exists()).collect();
    assert!(left.is_empty(), "not reaped: {left:?}");
}

/// `--cgroup DIR`: the run is placed in a cgroup of the host (here one whose pids.max lets
/// its shell fork nothing); not with a judged run's own cgroup.
#[test]
fn a_run_in_a_cgroup_of_its_own_choosing() {
    let mut c = Cleanup::default();
    let s = serve(&mut c);
    // Refused before anything runs: one cgroup per run.
    let out = via(
        &s,
        &[
            "--cgroup",
            "/sys/fs/cgroup/x",
            "--time-limit",
            "1",
            "--",
            "echo",
            "ran",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).contains("cannot go together"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), "");
    forkexec_testkit::root_only!("a cgroup of the host's to place a run in needs root here");
    let Some(pids) = forkexec_testkit::cgroup::pids_parent() else {
        skip::record(Kind::Env, "no pids controller");
        return;
    };
    let guard = TestParent::new("own");
    let dir = pids.join(guard.name());
    std::fs::create_dir_all(&dir).unwrap();
    // Init and the shell: no room for a third.
    std::fs::write(dir.join("pids.max"), "2").unwrap();
    let script = "true & wait $! && echo forked";
    let out = via(&s, &["--", "sh", "-c", script], "");
    assert_eq!(text(&out.stdout), "forked\n", "{}", text(&out.stderr));
    let d = dir.to_str().unwrap();
    let out = via(&s, &["--cgroup", d, "--", "sh", "-c", script], "");
    assert_eq!(text(&out.stdout), "", "{}", text(&out.stderr));
    assert_ne!(out.status.code(), Some(0));
    // And judged there, without a cgroup of the judge's.
    let (out, r) = judged(&s, &["--cgroup", d, "--no-cgroup"], script);
    assert_eq!(text(&out.stdout), "", "{r}");
    assert_eq!(r["status"], "nonzero_exit_status", "{r}");
    eventually("the cgroup stays busy", || {
        std::fs::remove_dir(&dir).is_ok()
    });
}

/// Bad values and combinations: a clear error from `--via` itself, before it connects.
#[test]
fn bad_judge_flags_are_refused_before_anything_runs() {
    let mut c = Cleanup::default();
    let s = serve(&mut c);
    let missing = c.dir("none").join("no/such/dir/result.json");
    for (flags, why) in [
        (
            vec!["--no-cgroup", "--memory-limit", "1m"],
            "cannot be used with".to_string(),
        ),
        (vec!["--time-limit", "soon"], "not a duration".to_string()),
        (vec!["--pids-limit", "x"], "--pids-limit".to_string()),
        (
            vec!["--result-json", missing.to_str().unwrap()],
            "--result-json".to_string(),
        ),
        (
            vec!["--seccomp", "judge"],
            "--seccomp cannot go with --via".to_string(),
        ),
    ] {
        let mut args = flags.clone();
        args.extend(["--", "echo", "ran"]);
        let out = via(&s, &args, "");
        assert_eq!(out.status.code(), Some(125), "{flags:?}");
        assert!(
            text(&out.stderr).contains(&why),
            "{flags:?}: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stdout), "", "{flags:?}");
    }
}
