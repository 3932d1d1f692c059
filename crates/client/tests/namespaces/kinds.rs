//! Each namespace really new: clone_flags, user namespaces and id maps, UTS names.

use super::*;
use forkexec_testkit::root_needs;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The namespace link of this (the test) process, e.g. `net:[4026531840]`.
fn own_ns(name: &str) -> String {
    fs::read_link(format!("/proc/self/ns/{name}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

const NS_NAMES: [&str; 7] = ["cgroup", "ipc", "mnt", "net", "pid", "user", "uts"];

fn overflow_id(kind: &str) -> u32 {
    fs::read_to_string(format!("/proc/sys/kernel/overflow{kind}"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// The kernel's rendering of a one-line id map.
fn map_line(inside: u32, outside: u32, size: u32) -> String {
    format!("{inside:>10} {outside:>10} {size:>10}\n")
}

// ---------------------------------------------------------------------------------------------
// clone_flags: each namespace really new
// ---------------------------------------------------------------------------------------------

/// Each clone flag alone (with a user namespace when unprivileged) gives the target a new
/// namespace of that kind and keeps every other one of the runtime's.
#[test]
fn each_clone_flag_makes_that_namespace_new() {
    let flags = [
        (Namespace::NewNs, "mnt"),
        (Namespace::NewUts, "uts"),
        (Namespace::NewIpc, "ipc"),
        (Namespace::NewNet, "net"),
        (Namespace::NewCgroup, "cgroup"),
        (Namespace::NewUser, "user"),
    ];
    for (flag, name) in flags {
        let clone_flags = with_user_ns_unless_root(&[flag]);
        let r = report(probe_runner(&["report"]).clone_flags(clone_flags.clone()));
        for other in NS_NAMES {
            let inside = r["ns"][other].as_str().unwrap();
            assert!(inside.starts_with(&format!("{other}:[")), "{inside}");
            let expect_new =
                other == name || (other == "user" && clone_flags.contains(&Namespace::NewUser));
            if expect_new {
                assert_ne!(inside, own_ns(other), "{flag:?}: {other} should be new");
            } else {
                assert_eq!(inside, own_ns(other), "{flag:?}: {other} should be kept");
            }
        }
    }
}

/// All six at once: every namespace but pid is new.
#[test]
fn all_clone_flags_at_once() {
    use Namespace::*;
    let r = report(
        probe_runner(&["report"]).clone_flags([NewNs, NewUts, NewIpc, NewNet, NewCgroup, NewUser]),
    );
    for name in NS_NAMES {
        let inside = r["ns"][name].as_str().unwrap();
        if name == "pid" {
            assert_eq!(inside, own_ns(name));
        } else {
            assert_ne!(inside, own_ns(name), "{name}");
        }
    }
}

/// A new network namespace has the loopback interface and nothing else.
#[test]
fn new_network_namespace_has_only_loopback() {
    let flags = with_user_ns_unless_root(&[Namespace::NewNet]);
    let out = run(Runner::new(["/bin/cat", "/proc/net/dev"]).clone_flags(flags)).unwrap();
    assert!(out.status.success(), "{} {}", out.status, out.stderr);
    let ifaces: Vec<&str> = out
        .stdout
        .lines()
        .skip(2) // two header lines
        .map(|l| l.split(':').next().unwrap().trim())
        .collect();
    assert_eq!(ifaces, ["lo"], "{}", out.stdout);
}

/// `loopback`: `lo` of the new network namespace is up, TCP works on 127.0.0.1 and ::1 (the
/// kernel gave `lo` both addresses as it came up). Without it `lo` stays down and neither
/// works.
#[test]
fn loopback_is_up_only_when_asked() {
    let flags = with_user_ns_unless_root(&[Namespace::NewNet]);
    let trip = |on: bool| {
        let r = report(
            probe_runner(&["loopback"])
                .clone_flags(flags.clone())
                .loopback(on),
        );
        (r["127.0.0.1"].clone(), r["::1"].clone())
    };
    assert_eq!(trip(true), (json!("ok"), json!("ok")));
    let (v4, v6) = trip(false);
    assert_ne!(v4, json!("ok"), "lo is down without loopback");
    assert_ne!(v6, json!("ok"), "lo is down without loopback");
    // The IPv6 addresses of the namespace: ::1 on lo once it is up, none while it is down.
    let flags_of = |on: bool| {
        let out = run(Runner::new(["/bin/cat", "/proc/net/if_inet6"])
            .clone_flags(flags.clone())
            .loopback(on))
        .unwrap();
        assert!(out.status.success(), "{} {}", out.status, out.stderr);
        out.stdout
    };
    assert_eq!(
        flags_of(true),
        "00000000000000000000000000000001 01 80 10 80       lo\n"
    );
    assert_eq!(flags_of(false), "");
}

/// In a new cgroup namespace the target's own cgroup is the root of every hierarchy. As root
/// the target is first placed in a fresh cgroup v2 directory, so that the check can fail: its
/// v2 line is `0::/<name>` without the namespace (the control) and `0::/` with it. As a user
/// every line ends in `:/` inside, also those that do not in the runtime's own view.
#[test]
fn new_cgroup_namespace_is_rooted_at_the_targets_cgroup() {
    let flags = with_user_ns_unless_root(&[Namespace::NewCgroup]);
    let r = report(probe_runner(&["report"]).clone_flags(flags.clone()));
    let cgroup = r["cgroup"].as_str().unwrap();
    assert!(!cgroup.is_empty());
    for line in cgroup.lines() {
        assert!(line.ends_with(":/"), "{line:?} in {cgroup}");
    }
    if !is_root() {
        return;
    }
    let v2 = forkexec_testkit::cgroup::v2();
    root_needs!(v2.is_some(), "no cgroup v2 hierarchy here");
    let guard = forkexec_testkit::cgroup::TestParent::new("cgns");
    let name = guard.name();
    let dir = v2.unwrap().join(name);
    fs::create_dir(&dir).unwrap();
    let placed = |flags: Vec<Namespace>| {
        let r = report(
            probe_runner(&["report"])
                .clone_flags(flags)
                .cgroup(dir.to_string_lossy().into_owned()),
        );
        let v2_line = r["cgroup"]
            .as_str()
            .unwrap()
            .lines()
            .find(|l| l.starts_with("0::"))
            .map(str::to_string);
        v2_line
    };
    let outside = placed(vec![]);
    let inside = placed(flags);
    assert_eq!(forkexec_testkit::leaks::cgroup_left(&dir), Ok(()));
    assert_eq!(
        outside.as_deref(),
        Some(format!("0::/{name}").as_str()),
        "control"
    );
    assert_eq!(inside.as_deref(), Some("0::/"));
}

// ---------------------------------------------------------------------------------------------
// User namespaces and id maps
// ---------------------------------------------------------------------------------------------

/// The self-mapping is written exactly as given (any inside id), setgroups is denied, and the
/// target runs as the mapped ids.
#[test]
fn user_namespace_self_maps_read_back_exactly() {
    for inside in [0u32, 1000] {
        let r = report(
            probe_runner(&["report"])
                .clone_flags([Namespace::NewUser])
                .uid_mappings([IdMap::new(inside, euid(), 1)])
                .gid_mappings([IdMap::new(inside, egid(), 1)]),
        );
        assert_eq!(r["uid_map"], map_line(inside, euid(), 1).as_str());
        assert_eq!(r["gid_map"], map_line(inside, egid(), 1).as_str());
        assert_eq!(r["setgroups"], "deny\n");
        assert_eq!(r["uid"], json!([inside, inside, inside]));
        assert_eq!(r["gid"], json!([inside, inside, inside]));
        assert_ne!(r["ns"]["user"], own_ns("user").as_str());
    }
}

/// `gid_mappings_enable_setgroups` without a gid map leaves setgroups at "allow"; no gid map
/// is written, so the gid is the overflow gid.
#[test]
fn enable_setgroups_without_a_gid_map_leaves_allow() {
    let r = report(
        probe_runner(&["report"])
            .clone_flags([Namespace::NewUser])
            .uid_mappings([IdMap::new(0, euid(), 1)])
            .gid_mappings_enable_setgroups(true),
    );
    assert_eq!(r["setgroups"], "allow\n");
    assert_eq!(r["uid_map"], map_line(0, euid(), 1).as_str());
    assert_eq!(r["gid_map"], "");
    let og = overflow_id("gid");
    assert_eq!(r["gid"], json!([og, og, og]));
    assert_eq!(r["uid"], json!([0, 0, 0]));
}

/// A new user namespace without maps: the target's ids are the overflow ids (65534), no map
/// is written, setgroups is denied.
#[test]
fn user_namespace_without_maps_runs_as_the_overflow_ids() {
    let (ou, og) = (overflow_id("uid"), overflow_id("gid"));
    assert_eq!((ou, og), (65534, 65534), "this machine's overflow ids");
    let r = report(probe_runner(&["report"]).clone_flags([Namespace::NewUser]));
    assert_eq!(r["uid"], json!([ou, ou, ou]));
    assert_eq!(r["gid"], json!([og, og, og]));
    assert_eq!(r["uid_map"], "");
    assert_eq!(r["gid_map"], "");
    assert_eq!(r["setgroups"], "deny\n");
}

// ---------------------------------------------------------------------------------------------
// UTS names
// ---------------------------------------------------------------------------------------------

#[test]
fn host_and_domain_names_are_set_inside_only() {
    let read = |f: &str| fs::read_to_string(format!("/proc/sys/kernel/{f}")).unwrap();
    let (host, domain) = (read("hostname"), read("domainname"));
    let flags = with_user_ns_unless_root(&[Namespace::NewUts]);
    let r = report(
        probe_runner(&["report"])
            .clone_flags(flags)
            .host_name("fx-sandbox-host")
            .domain_name("fx-sandbox-domain"),
    );
    assert_eq!(r["hostname"], "fx-sandbox-host");
    assert_eq!(r["domainname"], "fx-sandbox-domain");
    assert_ne!(r["ns"]["uts"], own_ns("uts").as_str());
    assert_eq!(
        (read("hostname"), read("domainname")),
        (host.clone(), domain)
    );
    assert_ne!(host.trim(), "fx-sandbox-host");
}
