//! The JSON form: key names, defaults, names for flags and resources, and error messages.

// libc's constant types differ between targets (c_ulong, c_int, u32): the casts are needed.
#![allow(clippy::unnecessary_cast)]

mod common;

use common::full_spec;
use forkexec_client::{MountFlag, Namespace, Resource, Spec, RLIM_INFINITY};

#[test]
fn round_trips_through_json() {
    let spec = full_spec();
    assert_eq!(Spec::from_json(&spec.to_json()).unwrap(), spec);
    assert_eq!(Spec::from_json(&spec.to_json_pretty()).unwrap(), spec);
}

#[test]
fn empty_object_is_the_default_and_the_default_serializes_empty() {
    let spec = Spec::from_json("{}").unwrap();
    assert_eq!(spec, Spec::default());
    assert!(spec.setsid, "setsid defaults to true");
    assert_eq!(Spec::default().to_json(), "{}");
    assert_eq!(
        Spec::new(["/bin/true"]).to_json(),
        r#"{"args":["/bin/true"]}"#
    );
}

#[test]
fn non_default_booleans_are_serialized() {
    let spec = Spec {
        setsid: false,
        ptrace: true,
        ..Spec::default()
    };
    assert_eq!(spec.to_json(), r#"{"ptrace":true,"setsid":false}"#);
}

/// Every key DESIGN.md's JSON form names, plus forkexec's own (`exec_path`, `setsid`,
/// `status_fd`, `mkdir`, `file`, and the clone shapes' `detach`, `init`, `die_with_parent`,
/// `cgroup`, `cgroup_fd`).
#[test]
fn every_documented_key_is_accepted() {
    let json = r#"{
        "args": ["/bin/prog", "-x"],
        "env": ["PATH=/bin", "LANG=C"],
        "exec_path": "/usr/bin/prog",
        "exec_file": 5,
        "rlimits": [{"resource": "cpu", "cur": 1, "max": 2},
                    {"resource": "as", "cur": 1073741824, "max": "infinity"}],
        "files": [0, -1, 2],
        "work_dir": "/w",
        "seccomp": [{"code": 6, "k": 2147418112}, {"code": 21, "jt": 0, "jf": 1, "k": 59}],
        "clone_flags": ["newns", "newuser", "newuts"],
        "mounts": [
            {"source": "/usr", "target": "usr", "fstype": "", "flags": ["bind", "rdonly"],
             "data": ""},
            {"source": "tmpfs", "target": "tmp", "fstype": "tmpfs",
             "flags": ["nosuid", "noatime", "nodev"], "data": "size=1m", "mkdir": false},
            {"source": "/etc/hosts", "target": "etc/hosts", "flags": ["bind"], "file": true}
        ],
        "pivot_root": "/tmp/root",
        "host_name": "box",
        "domain_name": "example",
        "uid_mappings": [{"container_id": 0, "host_id": 1000, "size": 1}],
        "gid_mappings": [{"container_id": 0, "host_id": 1000, "size": 1}],
        "credential": {"uid": 1, "gid": 2, "groups": [3, 4], "no_set_groups": true},
        "sync": true,
        "ptrace": true,
        "no_new_privs": true,
        "stop_before_seccomp": true,
        "gid_mappings_enable_setgroups": true,
        "drop_caps": true,
        "unshare_cgroup_after_sync": true,
        "ctty": true,
        "setsid": false,
        "status_fd": 9,
        "detach": true,
        "init": true,
        "die_with_parent": true,
        "cgroup": "/sys/fs/cgroup/box",
        "cgroup_fd": 7
    }"#;
    assert_eq!(Spec::from_json(json).unwrap(), full_spec());
}

#[test]
fn unknown_key_is_refused_by_name() {
    let e = Spec::from_json(r#"{"args": ["/bin/true"], "clone_flag": ["newns"]}"#).unwrap_err();
    assert_eq!(e.path(), "clone_flag");
    let msg = e.to_string();
    assert!(msg.contains("unknown field `clone_flag`"), "{msg}");
    assert!(msg.contains("`clone_flags`"), "lists the valid keys: {msg}");
}

#[test]
fn unknown_nested_key_names_its_path() {
    let e = Spec::from_json(r#"{"mounts": [{"target": "t", "flag": []}]}"#).unwrap_err();
    assert_eq!(e.path(), "mounts[0].flag");
    assert!(
        e.to_string()
            .starts_with("mounts[0].flag: unknown field `flag`"),
        "{e}"
    );

    let e = Spec::from_json(r#"{"credential": {"uid": 0, "gid": 0, "group": []}}"#).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("credential.group: unknown field `group`"),
        "{e}"
    );
}

#[test]
fn unknown_clone_flag_lists_the_valid_names() {
    let e = Spec::from_json(r#"{"clone_flags": ["newns", "newfoo"]}"#).unwrap_err();
    assert_eq!(e.path(), "clone_flags[1]");
    assert_eq!(e.line(), 1);
    let msg = e.to_string();
    assert!(
        msg.starts_with(
            "clone_flags[1]: unknown clone flag `newfoo`, expected one of: newns, newuts, \
             newipc, newnet, newcgroup, newuser, newpid"
        ),
        "{msg}"
    );
}

#[test]
fn clone_flags_are_names_not_numbers() {
    let e = Spec::from_json(r#"{"clone_flags": [131072]}"#).unwrap_err();
    assert!(e.to_string().contains("expected a clone flag name"), "{e}");
}

#[test]
fn unknown_mount_flag_lists_the_valid_names() {
    let e =
        Spec::from_json(r#"{"mounts": [{"target": "t", "flags": ["bind", "ro"]}]}"#).unwrap_err();
    assert_eq!(e.path(), "mounts[0].flags[1]");
    let msg = e.to_string();
    assert!(msg.contains("unknown mount flag `ro`"), "{msg}");
    assert!(msg.contains("rdonly") && msg.contains("nosuid"), "{msg}");
}

#[test]
fn mount_target_is_required_and_mkdir_defaults_on() {
    let e = Spec::from_json(r#"{"mounts": [{"source": "/x"}]}"#).unwrap_err();
    assert!(e.to_string().contains("missing field `target`"), "{e}");

    let spec = Spec::from_json(r#"{"mounts": [{"target": "t"}]}"#).unwrap();
    assert!(spec.mounts[0].mkdir);
    assert!(!spec.mounts[0].file);
    assert_eq!(spec.to_json(), r#"{"mounts":[{"target":"t"}]}"#);
}

#[test]
fn mount_flag_values_are_linux_ms_constants() {
    let expect = [
        (MountFlag::ReadOnly, libc::MS_RDONLY),
        (MountFlag::NoSuid, libc::MS_NOSUID),
        (MountFlag::NoDev, libc::MS_NODEV),
        (MountFlag::NoExec, libc::MS_NOEXEC),
        (MountFlag::Remount, libc::MS_REMOUNT),
        (MountFlag::NoAtime, libc::MS_NOATIME),
        (MountFlag::Bind, libc::MS_BIND),
        (MountFlag::Rec, libc::MS_REC),
        (MountFlag::Private, libc::MS_PRIVATE),
        (MountFlag::Slave, libc::MS_SLAVE),
        (MountFlag::Shared, libc::MS_SHARED),
        (MountFlag::Unbindable, libc::MS_UNBINDABLE),
        (MountFlag::StrictAtime, libc::MS_STRICTATIME),
        (MountFlag::RelAtime, libc::MS_RELATIME),
        (MountFlag::Silent, libc::MS_SILENT),
        (MountFlag::LazyTime, libc::MS_LAZYTIME),
    ];
    for (flag, ms) in expect {
        assert_eq!(flag.value(), ms as u64, "{flag}");
    }
    for flag in MountFlag::ALL {
        assert_eq!(flag.name().parse::<MountFlag>(), Ok(*flag));
    }
}

#[test]
fn every_rlimit_resource_name() {
    let names = [
        "cpu",
        "fsize",
        "data",
        "stack",
        "core",
        "rss",
        "nproc",
        "nofile",
        "memlock",
        "as",
        "locks",
        "sigpending",
        "msgqueue",
        "nice",
        "rtprio",
        "rttime",
    ];
    let listed: Vec<_> = Resource::ALL.iter().map(|r| r.name()).collect();
    assert_eq!(listed, names);
    for name in names {
        let json = format!(r#"{{"rlimits": [{{"resource": "{name}", "cur": 1, "max": 2}}]}}"#);
        let spec = Spec::from_json(&json).unwrap();
        let r = spec.rlimits[0].resource;
        assert_eq!(r.name(), name);
        // By number too, and back to the name on output.
        let json = format!(
            r#"{{"rlimits": [{{"resource": {}, "cur": 1, "max": 2}}]}}"#,
            r.value()
        );
        assert_eq!(Spec::from_json(&json).unwrap(), spec);
        assert!(spec.to_json().contains(&format!("\"resource\":\"{name}\"")));
    }
    assert_eq!(Resource::Nofile.value(), libc::RLIMIT_NOFILE as u32);
    assert_eq!(Resource::As.value(), libc::RLIMIT_AS as u32);
    assert_eq!(Resource::Rttime.value(), libc::RLIMIT_RTTIME as u32);
}

#[test]
fn unknown_rlimit_resource_is_refused() {
    let e =
        Spec::from_json(r#"{"rlimits": [{"resource": "files", "cur": 1, "max": 1}]}"#).unwrap_err();
    assert_eq!(e.path(), "rlimits[0].resource");
    assert!(
        e.to_string().contains("unknown rlimit resource `files`"),
        "{e}"
    );
    assert!(e.to_string().contains("nofile"), "{e}");

    let e = Spec::from_json(r#"{"rlimits": [{"resource": 99, "cur": 1, "max": 1}]}"#).unwrap_err();
    assert!(e.to_string().contains("invalid value: integer `99`"), "{e}");
}

#[test]
fn infinity_and_unlimited_are_rlim_infinity() {
    let spec = Spec::from_json(
        r#"{"rlimits": [{"resource": "core", "cur": "unlimited", "max": "infinity"}]}"#,
    )
    .unwrap();
    assert_eq!(spec.rlimits[0].cur, RLIM_INFINITY);
    assert_eq!(spec.rlimits[0].max, RLIM_INFINITY);
    assert_eq!(
        spec.to_json(),
        r#"{"rlimits":[{"resource":"core","cur":"infinity","max":"infinity"}]}"#
    );

    let e = Spec::from_json(r#"{"rlimits": [{"resource": "core", "cur": "lots", "max": 1}]}"#)
        .unwrap_err();
    assert_eq!(e.path(), "rlimits[0].cur");
    assert!(e.to_string().contains("\"infinity\""), "{e}");
    let e =
        Spec::from_json(r#"{"rlimits": [{"resource": "core", "cur": -1, "max": 1}]}"#).unwrap_err();
    assert_eq!(e.path(), "rlimits[0].cur");
}

#[test]
fn wrong_types_and_trailing_garbage_are_refused() {
    let e = Spec::from_json(r#"{"args": "/bin/true"}"#).unwrap_err();
    assert_eq!(e.path(), "args");
    let e = Spec::from_json(r#"{"setsid": 1}"#).unwrap_err();
    assert_eq!(e.path(), "setsid");
    assert!(Spec::from_json(r#"{} {}"#).is_err());
}

#[test]
fn namespace_values_are_clone_new_flags() {
    let expect = [
        (Namespace::NewNs, libc::CLONE_NEWNS),
        (Namespace::NewUts, libc::CLONE_NEWUTS),
        (Namespace::NewIpc, libc::CLONE_NEWIPC),
        (Namespace::NewNet, libc::CLONE_NEWNET),
        (Namespace::NewCgroup, libc::CLONE_NEWCGROUP),
        (Namespace::NewUser, libc::CLONE_NEWUSER),
        (Namespace::NewPid, libc::CLONE_NEWPID),
    ];
    for (ns, flag) in expect {
        assert_eq!(ns.value(), flag as u64, "{ns}");
        assert_eq!(Namespace::from_value(flag as u64), Some(ns));
    }
    let e = "newfoo".parse::<Namespace>().unwrap_err();
    assert!(e
        .to_string()
        .starts_with("unknown clone flag `newfoo`, expected one of: newns"));
}
