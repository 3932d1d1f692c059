//! `Runner::safe`: the client's builder with forkexec-run's safe defaults (no capability,
//! no_new_privs, a new session keyring), next to `Runner::new`, which keeps go-sandbox's zero
//! values. As root and as an ordinary user (root of its own user namespace, so that there is
//! something to drop).
use forkexec_testkit::support;

use forkexec_client::{IdMap, Namespace, Runner};
use support::{egid, euid, is_root, probe, report, run};

const NO_CAPS: &str = "0000000000000000";

/// uid 0 (root itself, or root of a user namespace for an ordinary user).
fn as_uid_0(r: Runner) -> Runner {
    if is_root() {
        r
    } else {
        r.clone_flags([Namespace::NewUser])
            .uid_mappings([IdMap::new(0, euid(), 1)])
            .gid_mappings([IdMap::new(0, egid(), 1)])
    }
}

#[test]
fn safe_drops_capabilities_and_sets_no_new_privs() {
    let p = probe().to_string_lossy().into_owned();
    let v = report(as_uid_0(Runner::safe([p.as_str(), "report"])));
    assert_eq!(v["cap_eff"], NO_CAPS, "{v}");
    assert_eq!(v["cap_bnd"], NO_CAPS, "{v}");
    assert_eq!(v["no_new_privs"], "1");
    // The control: `new` keeps go-sandbox's zero values.
    let v = report(as_uid_0(Runner::new([p.as_str(), "report"])));
    assert_ne!(v["cap_eff"], NO_CAPS, "{v}");
    assert_eq!(v["no_new_privs"], "0");
}

#[test]
fn safe_gives_a_new_session_keyring() {
    let p = probe().to_string_lossy().into_owned();
    let key = |r: Runner| -> serde_json::Value {
        let out = run(r).expect("start");
        assert!(out.status.success(), "{out:?}");
        serde_json::from_str(out.stdout.trim()).unwrap()
    };
    let ours = key(Runner::new([p.as_str(), "key", "none"]));
    let theirs = key(Runner::safe([p.as_str(), "key", "none"]));
    assert_ne!(ours["session"], theirs["session"], "{ours} {theirs}");
    let again = key(Runner::new([p.as_str(), "key", "none"]));
    assert_eq!(
        ours["session"], again["session"],
        "without it: the caller's keyring"
    );
}
