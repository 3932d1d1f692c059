//! The JSON form: key names, defaults, names for flags and resources, and error messages.

// libc's constant types differ between targets (c_ulong, c_int, u32): the casts are needed.
#![allow(clippy::unnecessary_cast)]

use forkexec_client::{
    JsonError, Mount, MountEntry, MountFlag, MountKind, MountOp, Namespace, Resource, Runner,
    SockFilter, Spec, RLIM_INFINITY,
};
use forkexec_testkit::fixtures::{every_field_ops, full_spec};

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

/// Every key the JSON form (docs/json.md) names, plus forkexec's own (`exec_path`, `setsid`,
/// `status_fd`, `mkdir`, `file`, `writable_root`, and the clone shapes' `detach`, `init`,
/// `die_with_parent`, `cgroup`, `cgroup_fd`; `new_session_keyring`, `parents_from_mode`, `only_end_records`,
/// `dumpable_init`, `no_wait_init`, `disable_userns`, `assert_userns_disabled`).
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
        "seccomp": [[{"code": 6, "k": 2147418112}, {"code": 21, "jt": 0, "jf": 1, "k": 59}],
                    [{"code": 6, "k": 2147418112}]],
        "clone_flags": ["newns", "newuser", "newuts", "newnet"],
        "mounts": [
            {"source": "/usr", "target": "usr", "fstype": "", "flags": ["bind", "rdonly"],
             "data": ""},
            {"source": "tmpfs", "target": "tmp", "fstype": "tmpfs",
             "flags": ["nosuid", "noatime", "nodev"], "data": "size=1m", "mkdir": false},
            {"source": "/etc/hosts", "target": "etc/hosts", "flags": ["bind"], "file": true}
        ],
        "pivot_root": "/tmp/root",
        "writable_root": true,
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
        "new_session_keyring": true,
        "parents_from_mode": true,
        "only_end_records": true,
        "dumpable_init": true,
        "no_wait_init": true,
        "bwrap_errors": true,
        "loopback": true,
        "disable_userns": true,
        "assert_userns_disabled": true,
        "cgroup": "/sys/fs/cgroup/box",
        "cgroup_fd": 7,
        "info_fd": 11,
        "json_status_fd": 12,
        "join_ns": {"user2": 14},
        "lock_files": ["/run/a.lock", "/b"],
        "sync_fd": 15,
        "block_fd": 16,
        "userns_block_fd": 17
    }"#;
    assert_eq!(Spec::from_json(json).unwrap(), full_spec());
}

#[test]
fn seccomp_is_one_program_or_a_list_of_programs() {
    let allow = SockFilter::stmt(6, 0x7fff_0000);
    let deny = SockFilter::stmt(6, 0);
    let one = Spec::from_json(r#"{"seccomp": [{"code": 6, "k": 2147418112}]}"#).unwrap();
    assert_eq!(one.seccomp, [vec![allow]]);
    // One program is written back as its list of instructions, several as a list of lists.
    assert_eq!(one.to_json(), r#"{"seccomp":[{"code":6,"k":2147418112}]}"#);
    let two =
        Spec::from_json(r#"{"seccomp": [[{"code": 6, "k": 2147418112}], [{"code": 6, "k": 0}]]}"#)
            .unwrap();
    assert_eq!(two.seccomp, [vec![allow], vec![deny]]);
    assert_eq!(Spec::from_json(&two.to_json()).unwrap(), two);
    // `[]` is one empty program (refused by the helper), not "no filter".
    let empty = Spec::from_json(r#"{"seccomp": []}"#).unwrap();
    assert_eq!(empty.seccomp, [Vec::<SockFilter>::new()]);
    let e = Spec::from_json(r#"{"seccomp": [{"code": 6, "k": 0}, [{"code": 6, "k": 0}]]}"#)
        .unwrap_err();
    assert!(e.to_string().contains("instruction 1"), "{e}");
    let e = Spec::from_json(r#"{"seccomp": [[{"code": 6, "k": 0}], [{"code": 6}]]}"#).unwrap_err();
    assert!(
        e.to_string().contains("program 1: missing field `k`"),
        "{e}"
    );
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
    let m = spec.mounts[0].as_raw().expect("no \"type\": a raw mount");
    assert!(m.mkdir);
    assert!(!m.file);
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

// ---------------------------------------------------------------------------------------------
// Mount operations
// ---------------------------------------------------------------------------------------------

/// `{"mounts": [ENTRY]}` read.
fn mounts_of(entries: &str) -> Result<Vec<MountEntry>, JsonError> {
    Spec::from_json(&format!(r#"{{"mounts": [{entries}]}}"#)).map(|s| s.mounts)
}

/// The one entry, read.
fn entry(json: &str) -> MountEntry {
    let mut m = mounts_of(json).unwrap_or_else(|e| panic!("{json}: {e}"));
    assert_eq!(m.len(), 1);
    m.remove(0)
}

/// The refusal of one entry: its key path and message.
fn refusal(json: &str) -> (String, String) {
    let e = mounts_of(json).expect_err(json);
    (e.path().to_owned(), e.to_string())
}

/// Every example of the JSON form, read into the operation its constructor makes, and written
/// back as itself.
#[test]
fn every_mount_op_type_reads_as_its_constructor() {
    let cases: Vec<(&str, MountOp)> = vec![
        (
            r#"{"type":"bind","source":"/usr","target":"/usr","readonly":true,"dev":false,"optional":false}"#,
            MountOp::ro_bind("/usr", "/usr"),
        ),
        (
            r#"{"type":"bind","source":"/lib64","target":"/lib64","readonly":true,"optional":true}"#,
            MountOp::ro_bind("/lib64", "/lib64").optional(),
        ),
        (
            r#"{"type":"bind","source":"/dev/dri","target":"/dev/dri","dev":true}"#,
            MountOp::dev_bind("/dev/dri", "/dev/dri"),
        ),
        (
            r#"{"type":"bind","source_fd":5,"target":"/data"}"#,
            MountOp::bind_fd(5, "/data"),
        ),
        (
            r#"{"type":"tmpfs","target":"/tmp","size":67108864,"mode":"1777","readonly":false}"#,
            MountOp::tmpfs("/tmp").size(64 << 20).mode(0o1777),
        ),
        (
            r#"{"type":"tmpfs","target":"/ro","readonly":true}"#,
            MountOp::tmpfs("/ro").read_only(),
        ),
        (
            r#"{"type":"proc","target":"/proc"}"#,
            MountOp::proc("/proc"),
        ),
        (r#"{"type":"dev","target":"/dev"}"#, MountOp::dev("/dev")),
        (
            r#"{"type":"mqueue","target":"/dev/mqueue"}"#,
            MountOp::mqueue("/dev/mqueue"),
        ),
        (
            r#"{"type":"dir","target":"/work","mode":"700"}"#,
            MountOp::dir("/work").mode(0o700),
        ),
        (
            r#"{"type":"symlink","source":"usr/bin","target":"/bin"}"#,
            MountOp::symlink("usr/bin", "/bin"),
        ),
        (
            r#"{"type":"file","target":"/etc/hostname","mode":"644","content":"box\n"}"#,
            MountOp::file("/etc/hostname", "box\n"),
        ),
        (
            r#"{"type":"file","target":"/input.txt","content_fd":7}"#,
            MountOp::file_from_fd(7, "/input.txt"),
        ),
        (
            r#"{"type":"remount_ro","target":"/data"}"#,
            MountOp::remount_ro("/data"),
        ),
        (
            r#"{"type":"chmod","target":"/home","mode":"0700"}"#,
            MountOp::chmod("/home", 0o700),
        ),
        // A chmod's mode is always written, 0000 too (it has no default).
        (
            r#"{"type":"chmod","target":"/x","mode":"0000"}"#,
            MountOp::chmod("/x", 0),
        ),
        (
            r#"{"type":"mask","target":"/proc/kcore","optional":true}"#,
            MountOp::mask("/proc/kcore").optional(),
        ),
        (
            r#"{"type":"overlay","target":"/src","lower":["/top","/bottom"],"upper":"/u","work":"/w"}"#,
            MountOp::overlay(["/top", "/bottom"], "/u", "/w", "/src"),
        ),
        (
            r#"{"type":"tmp_overlay","target":"/usr","lower":["/usr"]}"#,
            MountOp::tmp_overlay(["/usr"], "/usr"),
        ),
        (
            r#"{"type":"ro_overlay","target":"/opt","lower":["/a","/b"]}"#,
            MountOp::ro_overlay(["/a", "/b"], "/opt"),
        ),
    ];
    for (json, op) in cases {
        let got = entry(json);
        assert_eq!(got, MountEntry::Op(op.clone()), "{json}");
        written_and_read_back(&op);
        // MountOp reads on its own too.
        assert_eq!(serde_json::from_str::<MountOp>(json).unwrap(), op);
    }
    // Every kind of the table (one without a case above too), with every field it takes.
    for kind in MountKind::ALL {
        for op in every_field_ops(*kind) {
            written_and_read_back(&op);
        }
    }
}

/// Written out (compact and pretty) and read back: the same operation, with a `type` key
/// first and only the keys its kind takes.
#[track_caller]
fn written_and_read_back(op: &MountOp) {
    let spec = Spec {
        mounts: vec![op.clone().into()],
        ..Spec::default()
    };
    let json = spec.to_json();
    assert_eq!(Spec::from_json(&json).unwrap(), spec, "{json}");
    assert_eq!(
        Spec::from_json(&spec.to_json_pretty()).unwrap(),
        spec,
        "{json}"
    );
    let alone = serde_json::to_string(op).unwrap();
    assert!(
        alone.starts_with(&format!(r#"{{"type":"{}""#, op.kind)),
        "{alone}"
    );
    assert_eq!(serde_json::from_str::<MountOp>(&alone).unwrap(), *op);
}

#[test]
fn mount_ops_are_written_short_with_type_first() {
    let spec = Spec {
        mounts: vec![
            MountOp::ro_bind("/usr", "/usr").into(),
            MountOp::tmpfs("/tmp").into(),
            MountOp::tmpfs("/t").mode(0o1777).size(1 << 20).into(),
            MountOp::dir("/d").mode(0o700).into(),
            MountOp::file("/f", "x").into(),
            MountOp::bind_fd(4, "/b").optional().into(),
            Mount::tmpfs("/raw", "").into(),
        ],
        ..Spec::default()
    };
    assert_eq!(
        spec.to_json(),
        concat!(
            r#"{"mounts":["#,
            r#"{"type":"bind","source":"/usr","target":"/usr","readonly":true},"#,
            r#"{"type":"tmpfs","target":"/tmp"},"#,
            r#"{"type":"tmpfs","target":"/t","mode":"1777","size":1048576},"#,
            r#"{"type":"dir","target":"/d","mode":"0700"},"#,
            r#"{"type":"file","target":"/f","content":"x"},"#,
            r#"{"type":"bind","source_fd":4,"target":"/b","optional":true},"#,
            r#"{"source":"tmpfs","target":"/raw","fstype":"tmpfs","flags":["nosuid","noatime","nodev"]}"#,
            r#"]}"#
        )
    );
}

/// Modes: octal strings with or without a leading 0, integers as they are, defaults by type.
#[test]
fn mode_forms_and_defaults() {
    let mode = |json: &str| match entry(json) {
        MountEntry::Op(op) => op.mode,
        raw => panic!("{raw:?}"),
    };
    assert_eq!(
        mode(r#"{"type":"tmpfs","target":"/t","mode":"1777"}"#),
        0o1777
    );
    assert_eq!(
        mode(r#"{"type":"tmpfs","target":"/t","mode":"0755"}"#),
        0o755
    );
    assert_eq!(mode(r#"{"type":"dir","target":"/d","mode":"755"}"#), 0o755);
    assert_eq!(mode(r#"{"type":"dir","target":"/d","mode":"0"}"#), 0);
    assert_eq!(mode(r#"{"type":"file","target":"/f","mode":493}"#), 0o755);
    assert_eq!(
        mode(r#"{"type":"file","target":"/f","mode":"4755"}"#),
        0o4755
    );
    // Defaults: dir 755, file 644, tmpfs 755; none for the others.
    assert_eq!(mode(r#"{"type":"dir","target":"/d"}"#), 0o755);
    assert_eq!(mode(r#"{"type":"file","target":"/f"}"#), 0o644);
    assert_eq!(mode(r#"{"type":"tmpfs","target":"/t"}"#), 0o755);
    assert_eq!(mode(r#"{"type":"proc","target":"/p"}"#), 0);
    assert_eq!(MountKind::Dir.default_mode(), 0o755);
    assert_eq!(MountKind::File.default_mode(), 0o644);
    assert_eq!(MountKind::Tmpfs.default_mode(), 0o755);

    // Written as 4 octal digits, and only away from the default.
    let spec = Spec {
        mounts: vec![MountOp::dir("/d").mode(0).into()],
        ..Spec::default()
    };
    assert_eq!(
        spec.to_json(),
        r#"{"mounts":[{"type":"dir","target":"/d","mode":"0000"}]}"#
    );

    for (json, wanted) in [
        (
            r#"{"type":"dir","target":"/d","mode":"10000"}"#,
            "above 7777",
        ),
        (
            r#"{"type":"dir","target":"/d","mode":4096}"#,
            "above 0o7777",
        ),
        (
            r#"{"type":"dir","target":"/d","mode":"rwx"}"#,
            "not an octal mode",
        ),
        (
            r#"{"type":"dir","target":"/d","mode":"0o755"}"#,
            "not an octal mode",
        ),
        (
            r#"{"type":"dir","target":"/d","mode":"789"}"#,
            "not an octal mode",
        ),
        (
            r#"{"type":"dir","target":"/d","mode":""}"#,
            "not an octal mode",
        ),
        (r#"{"type":"dir","target":"/d","mode":-1}"#, "invalid value"),
    ] {
        let (path, msg) = refusal(json);
        assert_eq!(path, "mounts[0].mode", "{json}");
        assert!(msg.contains(wanted), "{json}: {msg}");
    }
}

/// Sizes: bytes, or a string with a 1024-based k/m/g suffix; written as bytes.
#[test]
fn size_forms() {
    let size = |json: &str| match entry(json) {
        MountEntry::Op(op) => op.size,
        raw => panic!("{raw:?}"),
    };
    let t = |v: &str| format!(r#"{{"type":"tmpfs","target":"/t","size":{v}}}"#);
    assert_eq!(size(&t("67108864")), 64 << 20);
    assert_eq!(size(&t(r#""64m""#)), 64 << 20);
    assert_eq!(size(&t(r#""64M""#)), 64 << 20);
    assert_eq!(size(&t(r#""16k""#)), 16 << 10);
    assert_eq!(size(&t(r#""2g""#)), 2 << 30);
    assert_eq!(size(&t(r#""4096""#)), 4096);
    assert_eq!(size(&t("0")), 0);
    assert_eq!(size(r#"{"type":"tmpfs","target":"/t"}"#), 0);
    let spec = Spec {
        mounts: vec![entry(&t(r#""1k""#))],
        ..Spec::default()
    };
    assert_eq!(
        spec.to_json(),
        r#"{"mounts":[{"type":"tmpfs","target":"/t","size":1024}]}"#
    );
    for (v, wanted) in [
        (r#""64x""#, "not a size"),
        (r#""m""#, "not a size"),
        (r#""""#, "not a size"),
        (r#""-1""#, "not a size"),
        (r#""1.5m""#, "not a size"),
        (r#""99999999999999999999g""#, "too large"),
        (r#""17179869184g""#, "too large"),
        ("-1", "expected a size"),
        ("1.5", "expected a size"),
    ] {
        let (path, msg) = refusal(&t(v));
        assert_eq!(path, "mounts[0].size", "{v}");
        assert!(msg.contains(wanted), "{v}: {msg}");
    }
}

/// A file's content: a string, or (for bytes that are not UTF-8) a list of byte values, which
/// is also how such content is written.
#[test]
fn file_content_as_text_or_bytes() {
    let op = MountOp::file("/bin/blob", vec![0x7f, b'E', 0xff, 0, 1]);
    let spec = Spec {
        mounts: vec![op.clone().into()],
        ..Spec::default()
    };
    assert_eq!(
        spec.to_json(),
        r#"{"mounts":[{"type":"file","target":"/bin/blob","content":[127,69,255,0,1]}]}"#
    );
    assert_eq!(Spec::from_json(&spec.to_json()).unwrap(), spec);
    assert_eq!(
        entry(r#"{"type":"file","target":"/f","content":[104,105]}"#),
        MountOp::file("/f", "hi").into()
    );
    // NUL is fine in text content: the content is the rest of the record.
    assert_eq!(
        entry(r#"{"type":"file","target":"/f","content":"a\u0000b"}"#),
        MountOp::file("/f", b"a\0b".to_vec()).into()
    );
    let (path, msg) = refusal(r#"{"type":"file","target":"/f","content":[256]}"#);
    assert_eq!(path, "mounts[0].content[0]");
    assert!(msg.contains("expected u8"), "{msg}");
    let (path, _) = refusal(r#"{"type":"file","target":"/f","content":7}"#);
    assert_eq!(path, "mounts[0].content");
}

/// Refusals name the entry (and the key, where the key itself is wrong) and say what is wrong.
#[test]
fn mount_op_refusals_say_what_is_wrong() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            r#"{"type":"bindd","source":"/a","target":"/b"}"#,
            "mounts[0].type",
            &[
                "unknown mount type `bindd`",
                "expected one of: bind, tmpfs, proc, dev, mqueue, dir, symlink, file, remount_ro, mask, bind_data, overlay, tmp_overlay, ro_overlay, chmod",
            ],
        ),
        (
            r#"{"type":"chmod","target":"/x"}"#,
            "mounts[0]",
            &["a chmod mount operation needs a \"mode\" (it has no default)"],
        ),
        (
            r#"{"type":1,"target":"/b"}"#,
            "mounts[0].type",
            &["expected a mount type name"],
        ),
        // Keys no entry has.
        (
            r#"{"type":"bind","source":"/a","target":"/b","bogus":1}"#,
            "mounts[0].bogus",
            &["unknown field `bogus`", "a bind takes `type`, `target`, `source`, `source_fd`, `readonly`, `dev`, `optional`"],
        ),
        (
            r#"{"target":"/b","bogus":1}"#,
            "mounts[0].bogus",
            &["unknown field `bogus`, expected one of `source`, `target`, `fstype`, `flags`, `data`, `mkdir`, `file`, `make_nod`, `type`"],
        ),
        // A key the type does not take: after "type", the key is named in the path…
        (
            r#"{"type":"bind","source":"/a","target":"/b","mode":"755"}"#,
            "mounts[0].mode",
            &["`mode` does not apply to a bind mount operation", "a bind takes `type`"],
        ),
        // Overlays: enough layers, absolute paths, upper and work only where they apply.
        (
            r#"{"type":"ro_overlay","target":"/x","lower":["/a"]}"#,
            "mounts[0]",
            &["the ro_overlay needs at least 2 `lower` directories, not 1"],
        ),
        (
            r#"{"type":"overlay","target":"/x","upper":"/u","work":"/w"}"#,
            "mounts[0]",
            &["the overlay needs at least 1 `lower` directory, not 0"],
        ),
        (
            r#"{"type":"overlay","target":"/x","lower":["/l"],"upper":"/u"}"#,
            "mounts[0]",
            &["the overlay needs `work` (a host directory)"],
        ),
        (
            r#"{"type":"tmp_overlay","target":"/x","lower":["l"]}"#,
            "mounts[0]",
            &["`lower` paths must be absolute (host paths), not `l`"],
        ),
        (
            r#"{"type":"tmp_overlay","target":"/x","lower":["/l"],"upper":"/u"}"#,
            "mounts[0].upper",
            &["`upper` does not apply to a tmp_overlay mount operation (a tmp_overlay takes `type`, `target`, `lower`)"],
        ),
        (
            r#"{"type":"tmpfs","target":"/t","lower":["/l"]}"#,
            "mounts[0].lower",
            &["`lower` does not apply to a tmpfs"],
        ),
        (
            r#"{"type":"proc","target":"/proc","readonly":true}"#,
            "mounts[0].readonly",
            &["`readonly` does not apply to a proc mount operation (a proc takes `type`, `target`, `cover`)"],
        ),
        (
            r#"{"type":"tmpfs","target":"/t","optional":true}"#,
            "mounts[0].optional",
            &["`optional` does not apply to a tmpfs"],
        ),
        (
            r#"{"type":"dir","target":"/d","size":1}"#,
            "mounts[0].size",
            &["`size` does not apply to a dir"],
        ),
        (
            r#"{"type":"tmpfs","target":"/t","source":"tmpfs"}"#,
            "mounts[0].source",
            &["`source` does not apply to a tmpfs"],
        ),
        (
            r#"{"type":"symlink","source":"x","target":"/t","source_fd":3}"#,
            "mounts[0].source_fd",
            &["`source_fd` does not apply to a symlink"],
        ),
        (
            r#"{"type":"bind","source":"/a","target":"/b","flags":["rdonly"]}"#,
            "mounts[0].flags",
            &["`flags` does not apply to a bind mount operation"],
        ),
        // …before "type", in the message.
        (
            r#"{"mode":"755","type":"bind","source":"/a","target":"/b"}"#,
            "mounts[0]",
            &["`mode` does not apply to a bind mount operation"],
        ),
        (
            r#"{"fstype":"tmpfs","type":"tmpfs","target":"/t"}"#,
            "mounts[0]",
            &["`fstype` does not apply to a tmpfs mount operation"],
        ),
        // A mount operation's key without "type".
        (
            r#"{"source":"/a","target":"/b","readonly":true}"#,
            "mounts[0]",
            &["`readonly` is a key of mount operations, which need a \"type\" (one of: bind, tmpfs"],
        ),
        // What the kind needs.
        (
            r#"{"type":"bind","source":"/a","source_fd":3,"target":"/b"}"#,
            "mounts[0]",
            &["a bind takes `source` or `source_fd`, not both"],
        ),
        (
            r#"{"type":"bind","target":"/b"}"#,
            "mounts[0]",
            &["a bind needs `source` or `source_fd`"],
        ),
        (
            r#"{"type":"bind","source":"","target":"/b"}"#,
            "mounts[0]",
            &["a bind needs `source` or `source_fd`"],
        ),
        (
            r#"{"type":"symlink","target":"/bin"}"#,
            "mounts[0]",
            &["a symlink needs `source` (the link's text)"],
        ),
        (
            r#"{"type":"file","target":"/f","content":"x","content_fd":3}"#,
            "mounts[0]",
            &["a file takes `content` or `content_fd`, not both"],
        ),
        (
            r#"{"type":"bind","source_fd":-1,"target":"/b"}"#,
            "mounts[0]",
            &["`source_fd` must be an fd (0 or more), not -1"],
        ),
        (
            r#"{"type":"file","target":"/f","content_fd":-5}"#,
            "mounts[0]",
            &["`content_fd` must be an fd (0 or more), not -5"],
        ),
        (
            r#"{"type":"proc"}"#,
            "mounts[0]",
            &["missing field `target`"],
        ),
        (
            r#"{"type":"bind","source":"/a","target":"/b","source":"/c"}"#,
            "mounts[0].source",
            &["duplicate field `source`"],
        ),
        (
            r#"{"target":"/b","file":true,"make_nod":true}"#,
            "mounts[0].make_nod",
            &["duplicate field `file`"],
        ),
        (
            r#"{"type":"bind","source":"/a","target":"/b","readonly":"yes"}"#,
            "mounts[0].readonly",
            &["invalid type: string \"yes\", expected a boolean"],
        ),
        (
            r#"{"type":"bind","source_fd":"3","target":"/b"}"#,
            "mounts[0].source_fd",
            &["expected i32"],
        ),
        (r#""/usr""#, "mounts[0]", &["expected a mount object"]),
    ];
    for (json, path, wanted) in cases {
        let (got_path, msg) = refusal(json);
        assert_eq!(&got_path, path, "{json}: {msg}");
        for w in *wanted {
            assert!(msg.contains(w), "{json}: {msg}\nlacks: {w}");
        }
        assert!(msg.contains(" at line 1 column "), "{json}: {msg}");
    }
}

/// Entries with and without "type" mix in one list, in order.
#[test]
fn raw_mounts_and_mount_ops_share_the_list() {
    let spec = Spec::from_json(
        r#"{"mounts": [
            {"source": "/usr", "target": "usr", "flags": ["bind", "rdonly"]},
            {"type": "proc", "target": "/proc"},
            {"target": "t", "fstype": "tmpfs", "file": true, "mkdir": false}
        ]}"#,
    )
    .unwrap();
    assert_eq!(
        spec.mounts,
        [
            Mount::new(
                "/usr",
                "usr",
                "",
                [MountFlag::Bind, MountFlag::ReadOnly],
                ""
            )
            .into(),
            MountOp::proc("/proc").into(),
            Mount::new("", "t", "tmpfs", [], "")
                .file(true)
                .mkdir(false)
                .into(),
        ]
    );
    assert_eq!(spec.mounts[0].target(), "usr");
    assert_eq!(spec.mounts[1].target(), "/proc");
    assert!(spec.mounts[1].as_raw().is_none());
    assert_eq!(spec.mounts[1].as_op().unwrap().kind, MountKind::Proc);
    assert_eq!(Spec::from_json(&spec.to_json()).unwrap(), spec);
}

#[test]
fn writable_root_is_a_top_level_boolean() {
    let spec = Spec::from_json(r#"{"pivot_root": "/r", "writable_root": true}"#).unwrap();
    assert!(spec.writable_root);
    assert_eq!(
        spec.to_json(),
        r#"{"pivot_root":"/r","writable_root":true}"#
    );
    assert!(!Spec::from_json("{}").unwrap().writable_root);
    let e = Spec::from_json(r#"{"writable_root": 1}"#).unwrap_err();
    assert_eq!(e.path(), "writable_root");
}

/// The builder takes raw mounts and mount operations alike, in order.
#[test]
fn runner_takes_mounts_and_mount_ops() {
    let r = Runner::new(["/bin/true"])
        .mount(Mount::tmpfs("/a", ""))
        .mount(MountOp::tmpfs("/b"))
        .mounts(vec![Mount::proc("/c")])
        .mounts([MountOp::dir("/d"), MountOp::mask("/e")])
        .mounts([MountEntry::from(MountOp::dev("/f"))])
        .writable_root(true);
    let targets: Vec<_> = r.spec.mounts.iter().map(|m| m.target()).collect();
    assert_eq!(targets, ["/a", "/b", "/c", "/d", "/e", "/f"]);
    assert!(r.spec.mounts[0].as_raw().is_some());
    assert!(r.spec.mounts[1].as_op().is_some());
    assert!(r.spec.writable_root);
}

/// The constructors' fields and defaults.
#[test]
fn constructors_and_modifiers() {
    let b = MountOp::bind("/s", "/t");
    assert_eq!(
        (b.kind, b.source.as_str(), b.target.as_str()),
        (MountKind::Bind, "/s", "/t")
    );
    assert!(!b.readonly && !b.dev && !b.optional && b.mode == 0 && b.source_fd.is_none());
    assert!(MountOp::ro_bind("/s", "/t").readonly);
    let d = MountOp::dev_bind("/s", "/t");
    assert!(d.dev && !d.readonly);
    let f = MountOp::bind_fd(3, "/t");
    assert_eq!((f.source_fd, f.source.as_str()), (Some(3), ""));
    assert_eq!(f.fd(), Some(3));
    let t = MountOp::tmpfs("/t").size(10).mode(0o700).read_only();
    assert_eq!((t.size, t.mode, t.readonly), (10, 0o700, true));
    assert_eq!(MountOp::dir("/d").mode, 0o755);
    let l = MountOp::symlink("usr/bin", "/bin");
    assert_eq!((l.kind, l.source.as_str()), (MountKind::Symlink, "usr/bin"));
    let file = MountOp::file("/f", "x");
    assert_eq!((file.mode, file.content.as_slice()), (0o644, &b"x"[..]));
    let ffd = MountOp::file_from_fd(9, "/f");
    assert_eq!(
        (ffd.content_fd, ffd.fd(), ffd.mode),
        (Some(9), Some(9), 0o644)
    );
    assert!(MountOp::mask("/m").optional().optional);
    for op in [
        MountOp::proc("/p"),
        MountOp::dev("/d"),
        MountOp::mqueue("/q"),
        MountOp::remount_ro("/r"),
    ] {
        assert_eq!(op.mode, 0);
        assert_eq!(op.check(), Ok(()));
    }
    // A modifier on a kind that does not take it is refused by check (and so by encode).
    assert!(MountOp::proc("/p")
        .read_only()
        .check()
        .unwrap_err()
        .contains("`readonly`"));
    assert!(MountOp::bind("/a", "/b")
        .mode(0o700)
        .check()
        .unwrap_err()
        .contains("`mode`"));
    assert!(MountOp::dir("/d")
        .optional()
        .check()
        .unwrap_err()
        .contains("`optional`"));
    assert!(MountOp::dir("/d")
        .size(1)
        .check()
        .unwrap_err()
        .contains("`size`"));
    assert!(MountOp::dir("/d")
        .mode(0o10000)
        .check()
        .unwrap_err()
        .contains("above 7777"));
}
