//! Client spec fixtures: a [`Spec`] with every field set, and the nearest one the helper takes.

use forkexec_client::{
    Credential, IdMap, JoinNs, Mount, MountFlag, MountKind, MountOp, Namespace, Resource, Rlimit,
    SockFilter, Spec, RLIM_INFINITY,
};
use forkexec_spec::layout::mount_op as f;
use forkexec_spec::tables::SourceRule;

/// A spec with every field away from its default. The helper would refuse it (`exec_path`
/// with `exec_file`, `ctty` without `setsid`, `detach` with `init`, …); [`encodable_spec`] is
/// the nearest one it takes.
pub fn full_spec() -> Spec {
    Spec {
        args: vec!["/bin/prog".into(), "-x".into()],
        env: vec!["PATH=/bin".into(), "LANG=C".into()],
        exec_path: Some("/usr/bin/prog".into()),
        exec_file: Some(5),
        rlimits: vec![
            Rlimit::new(Resource::Cpu, 1, 2),
            Rlimit::new(Resource::As, 1 << 30, RLIM_INFINITY),
        ],
        files: vec![0, -1, 2],
        work_dir: "/w".into(),
        seccomp: vec![
            vec![
                SockFilter::stmt(6, 0x7fff_0000),
                SockFilter::jump(0x15, 59, 0, 1),
            ],
            vec![SockFilter::stmt(6, 0x7fff_0000)],
        ],
        clone_flags: vec![
            Namespace::NewNs,
            Namespace::NewUser,
            Namespace::NewUts,
            Namespace::NewNet,
        ],
        mounts: vec![
            Mount::new(
                "/usr",
                "usr",
                "",
                [MountFlag::Bind, MountFlag::ReadOnly],
                "",
            )
            .into(),
            Mount::tmpfs("tmp", "size=1m").mkdir(false).into(),
            Mount::new("/etc/hosts", "etc/hosts", "", [MountFlag::Bind], "")
                .file(true)
                .into(),
        ],
        pivot_root: "/tmp/root".into(),
        writable_root: true,
        host_name: "box".into(),
        domain_name: "example".into(),
        uid_mappings: vec![IdMap::new(0, 1000, 1)],
        gid_mappings: vec![IdMap::new(0, 1000, 1)],
        credential: Some(Credential {
            uid: 1,
            gid: 2,
            groups: vec![3, 4],
            no_set_groups: true,
        }),
        sync: true,
        ptrace: true,
        no_new_privs: true,
        stop_before_seccomp: true,
        gid_mappings_enable_setgroups: true,
        drop_caps: true,
        unshare_cgroup_after_sync: true,
        ctty: true,
        setsid: false,
        status_fd: Some(9),
        detach: true,
        init: true,
        die_with_parent: true,
        new_session_keyring: true,
        parents_from_mode: true,
        only_end_records: true,
        dumpable_init: true,
        no_wait_init: true,
        bwrap_errors: true,
        loopback: true,
        disable_userns: true,
        assert_userns_disabled: true,
        landlock: None,
        cgroup: "/sys/fs/cgroup/box".into(),
        cgroup_fd: Some(7),
        info_fd: Some(11),
        json_status_fd: Some(12),
        join_ns: Some(JoinNs {
            user: None,
            pid: None,
            user2: Some(14),
        }),
        lock_files: vec!["/run/a.lock".into(), "/b".into()],
        sync_fd: Some(15),
        // Not with drop_caps (set above): crates/client/tests/encode.rs has its own.
        caps: None,
        block_fd: Some(16),
        userns_block_fd: Some(17),
    }
}

/// [`full_spec`] without its conflicts: no `exec_file`, `setsid` left on for `ctty`, no
/// `detach` with `init` (which needs `newpid`) or `json_status_fd`, no `dumpable_init` or
/// `no_wait_init` without `init`, one way to name the cgroup, no lock files or sync fd (they
/// need `init`).
pub fn encodable_spec() -> Spec {
    Spec {
        exec_file: None,
        lock_files: Vec::new(),
        sync_fd: None,
        userns_block_fd: None,
        setsid: true,
        detach: false,
        init: false,
        dumpable_init: false,
        no_wait_init: false,
        cgroup_fd: None,
        ..full_spec()
    }
}

/// Operations of `kind` at `/t` with every field its row in the spec crate's table says it
/// takes set away from its default: every flag it takes, mode `0o1234`, size 4096, the source
/// its rule wants (`/s`, `l`), content `c\0d`, an overlay's layers (`/l0`…, `/u`, `/w`);
/// and, for a kind that takes an fd, the same with fd 5 in place of the source or content. Tests run them through the encoder and the JSON
/// form, so a new kind is covered before anyone writes a case for it.
pub fn every_field_ops(kind: MountKind) -> Vec<MountOp> {
    let info = kind.info();
    let mut op = MountOp::new(kind, "/t");
    op.readonly = info.flags & f::READONLY != 0;
    op.dev = info.flags & f::DEV != 0;
    op.optional = info.flags & f::OPTIONAL != 0;
    op.cover = info.flags & f::COVER != 0;
    if info.takes.mode {
        op.mode = 0o1234;
    }
    if info.takes.size {
        op.size = 4096;
    }
    match info.source {
        SourceRule::PathOrFd => op.source = "/s".into(),
        SourceRule::Text => op.source = "l".into(),
        SourceRule::None => {}
    }
    if info.takes.content {
        op.content = b"c\0d".to_vec();
    }
    // An overlay: as many lower directories as it needs, upper and work when it takes them.
    op.lower = (0..info.lower).map(|i| format!("/l{i}")).collect();
    if info.takes.upper {
        (op.upper, op.work) = ("/u".into(), "/w".into());
    }
    let mut ops = vec![op.clone()];
    if info.takes.fd {
        let mut by_fd = op;
        match info.source {
            SourceRule::PathOrFd => {
                by_fd.source.clear();
                by_fd.source_fd = Some(5);
            }
            _ => {
                by_fd.content.clear();
                by_fd.content_fd = Some(5);
            }
        }
        ops.push(by_fd);
    }
    ops
}
