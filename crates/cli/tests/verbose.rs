//! `-v`/`--verbose`: the stages forkexec-run observes, told on stderr in the order they
//! happen, and only those that happened: no "setup done" when a step before the sync point
//! failed, no "executed" when execve failed. A verbose run stays. As root and as an ordinary
//! user.
use forkexec_testkit::support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn cli() -> PathBuf {
    match std::env::var_os("FORKEXEC_RUN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_forkexec-run")),
    }
}

fn command(args: &[&str]) -> Command {
    let mut c = Command::new(cli());
    c.args(args)
        .env("FORKEXEC_HELPER", support::helper())
        .stdin(Stdio::null());
    c
}

fn run(args: &[&str]) -> Output {
    command(args).output().unwrap()
}

fn lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The index of the first line starting with `prefix`, if any.
fn find(lines: &[String], prefix: &str) -> Option<usize> {
    lines.iter().position(|l| l.starts_with(prefix))
}

#[test]
fn a_run_tells_its_stages_in_order() {
    let out = run(&["-v", "--", "/bin/sh", "-c", "echo out; exit 3"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "out\n",
        "stdout is the program's"
    );
    let l = lines(&out);
    let order: Vec<usize> = [
        "forkexec-run: spec: ",
        "forkexec-run: helper: starting ",
        "forkexec-run: setup done: ",
        "forkexec-run: executed /bin/sh (pid ",
        "forkexec-run: the program exited with status 3 (user ",
    ]
    .iter()
    .map(|p| find(&l, p).unwrap_or_else(|| panic!("no {p:?} in {l:#?}")))
    .collect();
    assert_eq!(order, [0, 1, 2, 3, 4], "{l:#?}");
    assert_eq!(l.len(), 5, "{l:#?}");
    assert!(
        l[0].contains("the helper becomes the program (no clone)"),
        "{l:#?}"
    );
    assert!(
        l[1].contains(&support::helper().display().to_string()),
        "{l:#?}"
    );
    assert!(l[2].contains("next: execve"), "{l:#?}");

    // A new pid namespace: the helper supervises, the filter comes after the sync point,
    // and the sync record's pid is the program's as the caller sees it (the executed line's).
    let out = run(&[
        "-v",
        "--unshare-pid",
        "--seccomp",
        "judge",
        "--",
        "/bin/true",
    ]);
    assert!(out.status.success(), "{out:?}");
    let l = lines(&out);
    assert!(
        l[0].contains("the helper clones the program and supervises it"),
        "{l:#?}"
    );
    assert!(l[0].contains("seccomp: "), "{l:#?}");
    let done = &l[find(&l, "forkexec-run: setup done: ").expect("setup done")];
    assert!(done.contains("next: the seccomp filter, execve"), "{done}");
    let pid = |line: &str, key: &str| -> String {
        let at = line.find(key).unwrap_or_else(|| panic!("{key} in {line}")) + key.len();
        line[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect()
    };
    let executed = &l[find(&l, "forkexec-run: executed ").expect("executed")];
    assert_eq!(pid(done, "pid is "), pid(executed, "(pid "), "{l:#?}");
}

/// A step before the sync point fails: no "setup done", no "executed"; the error record is
/// told, then the error line.
#[test]
fn a_failed_setup_tells_the_record_and_nothing_after() {
    let out = run(&["-v", "--chdir", "/nonexistent-forkexec", "--", "/bin/true"]);
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    let l = lines(&out);
    assert!(find(&l, "forkexec-run: setup done").is_none(), "{l:#?}");
    assert!(find(&l, "forkexec-run: executed").is_none(), "{l:#?}");
    let rec = find(&l, "forkexec-run: setup failed: the helper's error record: location 22 (chdir), index 0, errno 2 (no such file or directory)")
        .unwrap_or_else(|| panic!("{l:#?}"));
    assert_eq!(
        l[rec + 1],
        "forkexec-run: chdir(0) /nonexistent-forkexec: no such file or directory"
    );

    // execve fails after the sync point: setup done is told, executed is not.
    let out = run(&["-v", "--", "/nonexistent-forkexec/prog"]);
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    let l = lines(&out);
    assert!(find(&l, "forkexec-run: setup done").is_some(), "{l:#?}");
    assert!(find(&l, "forkexec-run: executed").is_none(), "{l:#?}");
    assert!(
        find(
            &l,
            "forkexec-run: setup failed: the helper's error record: location 32 (execve)"
        )
        .is_some(),
        "{l:#?}"
    );
}

/// A verbose run stays: the program is not forkexec-run's own process, and without -v it is
/// (in place); nothing is told without -v.
#[test]
fn verbose_stays_and_quiet_says_nothing() {
    for verbose in [true, false] {
        let mut args = vec!["--", "/bin/sh", "-c", "echo $$"];
        if verbose {
            args.insert(0, "-v");
        }
        let mut child = command(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let own = child.id().to_string();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        assert_eq!(
            line.trim() != own,
            verbose,
            "pid {line} vs forkexec-run {own}"
        );
        assert_eq!(out.stderr.is_empty(), !verbose, "{out:?}");
    }
}

/// With the judge flags, the judge owns the start and the records: the spec and the judge's
/// result are told (an ordinary user's run goes without a cgroup, which needs root here).
#[test]
fn a_judged_run_tells_the_spec_and_the_result() {
    let mut args = vec!["-v", "--time-limit", "5"];
    if !support::is_root() {
        args.push("--no-cgroup");
    }
    args.extend(["--", "/bin/sh", "-c", "exit 2"]);
    let out = run(&args);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let l = lines(&out);
    assert_eq!(l.len(), 2, "{l:#?}");
    assert!(l[0].starts_with("forkexec-run: spec: "), "{l:#?}");
    let json = l[1]
        .strip_prefix("forkexec-run: the judge's result: ")
        .unwrap_or_else(|| panic!("{l:#?}"));
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["exit_status"], 2, "{v:#}");
    assert_eq!(v["status"], "nonzero_exit_status", "{v:#}");
}
