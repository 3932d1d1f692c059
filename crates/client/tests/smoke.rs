//! The harness itself works: the probe runs through the real helper, in place and in a root.
use forkexec_testkit::support;
use support::*;

#[test]
fn probe_reports_through_the_helper() {
    let r = report(probe_runner(&["report", "x y"]));
    assert_eq!(r["argv"][2], "x y");
}

#[test]
fn probe_runs_in_a_sandbox_root() {
    let runner = sandbox_root(&["report"]);
    let root = runner.spec.pivot_root.clone();
    let r = report(runner);
    remove_root(&root);
    assert_eq!(r["uid"][1], 0);
    assert!(
        r["root"].as_array().unwrap().iter().any(|e| e == "usr"),
        "{}",
        r["root"]
    );
}
