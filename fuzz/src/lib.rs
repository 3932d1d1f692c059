//! Shared by the fuzz targets (`fuzz_targets/*.rs`) and the seed corpus generator: an owned
//! copy of a decoded spec taken through every public accessor, the invariants every accepted
//! spec must satisfy (docs/spec.md, "Limits" and "Validation and faults"), the rules every
//! refusal must follow, a re-encoder that writes the fields back with the crate's `Writer` in
//! any record order, and the process-shape rules as docs/spec.md states them.
//!
//! Every check is an `assert!`: a violated invariant aborts the fuzzer like a crash, and the
//! input is saved under `fuzz/artifacts/<target>/`.

pub mod mutate;
pub mod reference;

use std::ffi::{CStr, CString};

use forkexec_spec::decode::{
    decode, total_len, Caps, Fault, IdMap, JoinNs, Mount, MountEntry, MountOp, Rlimit, Shape, Spec,
    SpecError,
};
use forkexec_spec::encode::{Sink, Writer};
use forkexec_spec::layout::{
    self, cred_flag, landlock, limit, mount_flags, mount_op, mount_opt, ns, opt, record,
    HEADER_LEN, MAGIC, RECORD_HEADER_LEN, RECORD_SKIP_IF_UNKNOWN,
};
use forkexec_spec::status::{self, Record};
use forkexec_spec::tables::{landlock_fs, landlock_net, landlock_scope, KindInfo, SourceRule};
use forkexec_spec::Location;

/// A growable sink for the [`Writer`].
#[derive(Default)]
pub struct VecSink(pub Vec<u8>);

impl Sink for VecSink {
    fn put(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
    fn written(&self) -> usize {
        self.0.len()
    }
    fn patch(&mut self, at: usize, bytes: [u8; 4]) {
        self.0[at..at + 4].copy_from_slice(&bytes);
    }
}

/// One mount, owned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnedMount {
    pub flags: u64,
    pub options: u32,
    pub source: Vec<u8>,
    pub target: Vec<u8>,
    pub fstype: Vec<u8>,
    pub data: Vec<u8>,
}

impl OwnedMount {
    fn of(m: &Mount<'_>) -> OwnedMount {
        OwnedMount {
            flags: m.flags,
            options: m.options,
            source: owned(m.source),
            target: owned(m.target),
            fstype: owned(m.fstype),
            data: owned(m.data),
        }
    }
}

/// One mount operation (MOUNT_OP), owned; an empty `source` is none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnedMountOp {
    pub kind: u16,
    pub flags: u16,
    pub mode: u32,
    pub size: u64,
    pub fd: Option<u32>,
    pub source: Vec<u8>,
    pub target: Vec<u8>,
    pub content: Vec<u8>,
}

impl OwnedMountOp {
    fn of(op: &MountOp<'_>) -> OwnedMountOp {
        for bit in 0..16 {
            assert_eq!(op.has(1 << bit), op.flags & (1 << bit) != 0, "has({bit})");
        }
        OwnedMountOp {
            kind: op.kind,
            flags: op.flags,
            mode: op.mode,
            size: op.size,
            fd: op.fd,
            source: owned(op.source),
            target: owned(op.target),
            content: op.content.to_vec(),
        }
    }
}

/// One entry of the mount list: MOUNT and MOUNT_OP records, in record order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnedMountEntry {
    Raw(OwnedMount),
    Op(OwnedMountOp),
}

/// A credential, owned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnedCredential {
    pub uid: u32,
    pub gid: u32,
    pub flags: u32,
    pub groups: Vec<u32>,
}

/// The LANDLOCK record, owned.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OwnedLandlock {
    pub handled_fs: u64,
    pub handled_net: u64,
    pub scoped: u64,
    pub flags: u32,
}

/// Everything a decoded [`Spec`] exposes, owned and comparable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Owned {
    pub args: Vec<Vec<u8>>,
    pub env: Vec<Vec<u8>>,
    pub exec_path: Option<Vec<u8>>,
    pub exec_fd: Option<u32>,
    pub rlimits: Vec<(u32, u64, u64)>,
    pub files: Vec<i32>,
    pub work_dir: Option<Vec<u8>>,
    /// The SECCOMP programs, in order.
    pub seccomp: Vec<Vec<u8>>,
    pub clone_flags: u64,
    /// Raw mounts and mount operations, in record order (one index space).
    pub mounts: Vec<OwnedMountEntry>,
    pub pivot_root: Option<Vec<u8>>,
    pub host_name: Option<Vec<u8>>,
    pub domain_name: Option<Vec<u8>>,
    pub uid_map: Option<Vec<(u32, u32, u32)>>,
    pub gid_map: Option<Vec<(u32, u32, u32)>>,
    pub credential: Option<OwnedCredential>,
    pub options: u64,
    pub status_fd: Option<u32>,
    pub cgroup_path: Option<Vec<u8>>,
    pub cgroup_fd: Option<u32>,
    /// JSON_STATUS_FD (it makes the helper supervise).
    pub json_status_fd: Option<u32>,
    pub info_fd: Option<u32>,
    pub join_ns: Option<JoinNs>,
    /// CAPS: kept set, flags.
    pub caps: Option<Caps>,
    pub landlock: Option<OwnedLandlock>,
    /// LANDLOCK_PATH rules in order: rights, path.
    pub landlock_paths: Vec<(u64, Vec<u8>)>,
    /// LANDLOCK_PORT rules in order: rights, port.
    pub landlock_ports: Vec<(u64, u64)>,
    /// LOCK_FILE paths in order.
    pub lock_files: Vec<Vec<u8>>,
    pub sync_fd: Option<u32>,
    pub block_fd: Option<u32>,
    pub userns_block_fd: Option<u32>,
}

/// A string's bytes, checked to be a proper C string (no NUL inside; the NUL right after).
fn owned(c: &CStr) -> Vec<u8> {
    let bytes = c.to_bytes();
    assert!(!bytes.contains(&0), "interior NUL in {bytes:?}");
    assert_eq!(c.to_bytes_with_nul().len(), bytes.len() + 1);
    assert_eq!(c.to_bytes_with_nul().last(), Some(&0));
    bytes.to_vec()
}

fn id_map(m: Option<IdMap<'_>>) -> Option<Vec<(u32, u32, u32)>> {
    m.map(|m| {
        let v: Vec<_> = m
            .iter()
            .map(|e| (e.container_id, e.host_id, e.size))
            .collect();
        assert_eq!(v.len(), m.len(), "id map len");
        assert_eq!(v.is_empty(), m.is_empty(), "id map is_empty");
        v
    })
}

impl Owned {
    /// Copies out every field of a decoded spec through its public accessors, checking that
    /// the accessors agree with each other (counts, `first`, `get`, `is_empty`, byte views).
    pub fn of(spec: &Spec<'_>) -> Owned {
        let args: Vec<_> = spec.args.iter().map(owned).collect();
        assert_eq!(args.len(), spec.args.len(), "args count");
        assert_eq!(args.is_empty(), spec.args.is_empty());
        assert_eq!(args.first().cloned(), spec.args.first().map(owned));
        let env: Vec<_> = spec.env.iter().map(owned).collect();
        assert_eq!(env.len(), spec.env.len(), "env count");
        assert_eq!(env.is_empty(), spec.env.is_empty());
        assert_eq!(env.first().cloned(), spec.env.first().map(owned));

        let rlimits: Vec<_> = spec
            .rlimits
            .iter()
            .map(|r| (r.resource, r.cur, r.max))
            .collect();
        assert_eq!(rlimits.len(), spec.rlimits.len(), "rlimit count");
        let mounts: Vec<_> = spec
            .mounts
            .iter()
            .map(|e| match e {
                MountEntry::Raw(m) => OwnedMountEntry::Raw(OwnedMount::of(m)),
                MountEntry::Op(op) => OwnedMountEntry::Op(OwnedMountOp::of(op)),
            })
            .collect();
        assert_eq!(mounts.len(), spec.mounts.len(), "mount count");

        let files: Vec<i32> = spec.files.iter().collect();
        assert_eq!(files.len(), spec.files.len(), "files len");
        assert_eq!(files.is_empty(), spec.files.is_empty());
        for (i, &fd) in files.iter().enumerate() {
            assert_eq!(spec.files.get(i), fd, "files.get({i})");
        }

        let credential = spec.credential.map(|c| {
            let groups: Vec<u32> = c.groups().collect();
            assert_eq!(groups.len(), c.group_count(), "group count");
            assert_eq!(c.groups_bytes().len(), 4 * groups.len());
            for (g, b) in groups.iter().zip(c.groups_bytes().chunks_exact(4)) {
                assert_eq!(g.to_le_bytes(), b);
            }
            assert_eq!(c.no_setgroups(), c.flags & cred_flag::NO_SETGROUPS != 0);
            OwnedCredential {
                uid: c.uid,
                gid: c.gid,
                flags: c.flags,
                groups,
            }
        });

        let seccomp: Vec<Vec<u8>> = spec.seccomp.iter().map(|p| p.to_vec()).collect();
        assert_eq!(
            spec.seccomp_len(),
            seccomp
                .iter()
                .map(|s| s.len() / layout::SOCK_FILTER_LEN)
                .sum::<usize>()
        );
        for bit in 0..64 {
            assert_eq!(spec.has(1 << bit), spec.options & (1 << bit) != 0);
        }
        assert_eq!(
            spec.stops_before_exec(),
            opt::stops_before_exec(spec.options, !spec.seccomp.is_empty())
        );

        let landlock_paths: Vec<_> = spec
            .landlock_paths
            .iter()
            .map(|r| (r.access, owned(r.path)))
            .collect();
        assert_eq!(landlock_paths.len(), spec.landlock_paths.len());
        let landlock_ports: Vec<_> = spec
            .landlock_ports
            .iter()
            .map(|r| (r.access, r.port))
            .collect();
        assert_eq!(landlock_ports.len(), spec.landlock_ports.len());
        // A rule's offset is its payload's, inside the spec.
        for at in spec.landlock_paths.iter().map(|r| r.at) {
            assert!(
                at as usize >= HEADER_LEN + RECORD_HEADER_LEN,
                "rule at {at}"
            );
        }
        for at in spec.landlock_ports.iter().map(|r| r.at) {
            assert!(
                at as usize >= HEADER_LEN + RECORD_HEADER_LEN,
                "rule at {at}"
            );
        }

        Owned {
            args,
            env,
            exec_path: spec.exec_path.map(owned),
            exec_fd: spec.exec_fd,
            rlimits,
            files,
            work_dir: spec.work_dir.map(owned),
            seccomp,
            clone_flags: spec.clone_flags,
            mounts,
            pivot_root: spec.pivot_root.map(owned),
            host_name: spec.host_name.map(owned),
            domain_name: spec.domain_name.map(owned),
            uid_map: id_map(spec.uid_map),
            gid_map: id_map(spec.gid_map),
            credential,
            options: spec.options,
            status_fd: spec.status_fd,
            cgroup_path: spec.cgroup_path.map(owned),
            cgroup_fd: spec.cgroup_fd,
            json_status_fd: spec.json_status_fd,
            info_fd: spec.info_fd,
            join_ns: spec.join_ns,
            caps: spec.caps,
            landlock: spec.landlock.map(|l| OwnedLandlock {
                handled_fs: l.handled_fs,
                handled_net: l.handled_net,
                scoped: l.scoped,
                flags: l.flags,
            }),
            landlock_paths,
            landlock_ports,
            lock_files: spec.lock_files.iter().map(|p| owned(p)).collect(),
            sync_fd: spec.sync_fd,
            block_fd: spec.block_fd,
            userns_block_fd: spec.userns_block_fd,
        }
    }

    /// Every rule an accepted spec satisfies (docs/spec.md: "Limits", the record types' own
    /// checks, and the whole-spec rules). The helper sizes its static storage on these.
    pub fn assert_valid(&self) {
        let s = self;
        // Counts within layout::limit.
        assert!(
            !s.args.is_empty() && s.args.len() <= limit::ARGS,
            "args count"
        );
        assert!(s.env.len() <= limit::ENV, "env count");
        assert!(s.rlimits.len() <= limit::RLIMITS, "rlimit count");
        assert!(s.files.len() <= limit::FILES, "files count");
        assert!(s.mounts.len() <= limit::MOUNTS, "mount count");
        // Strings: no interior NUL (checked by `owned`), lengths with their NUL.
        let path = |p: &Option<Vec<u8>>| {
            if let Some(p) = p {
                assert!(!p.is_empty() && p.len() < limit::PATH, "path {p:?}");
            }
        };
        path(&s.exec_path);
        path(&s.work_dir);
        path(&s.pivot_root);
        path(&s.cgroup_path);
        for p in [&s.pivot_root, &s.cgroup_path].into_iter().flatten() {
            assert_eq!(p[0], b'/', "relative path {p:?}");
        }
        for n in [&s.host_name, &s.domain_name].into_iter().flatten() {
            assert!(n.len() <= limit::UTS_NAME, "uts name of {} bytes", n.len());
        }
        // fds.
        let joined = s.join_ns.map_or([None; 3], |j| [j.user, j.pid, j.user2]);
        assert!(
            s.join_ns.is_none() || joined != [None; 3],
            "JOIN_NS joining nothing"
        );
        let fds = [
            s.exec_fd,
            s.status_fd,
            s.cgroup_fd,
            s.info_fd,
            s.json_status_fd,
            s.sync_fd,
            s.block_fd,
            s.userns_block_fd,
        ];
        for fd in fds.into_iter().chain(joined).flatten() {
            assert!(fd < limit::FD, "fd {fd}");
        }
        for &fd in &s.files {
            assert!(
                fd >= -1 && (fd as i64) < limit::FD as i64,
                "files entry {fd}"
            );
        }
        // rlimits.
        for &(resource, cur, max) in &s.rlimits {
            assert!(
                resource < limit::RLIMIT_RESOURCES,
                "rlimit resource {resource}"
            );
            assert!(cur <= max, "rlimit soft {cur} over hard {max}");
        }
        // seccomp.
        assert!(s.seccomp.len() <= limit::SECCOMP_PROGRAMS);
        for f in &s.seccomp {
            assert!(!f.is_empty() && f.len().is_multiple_of(layout::SOCK_FILTER_LEN));
            assert!(f.len() / layout::SOCK_FILTER_LEN <= limit::SECCOMP_INSNS);
        }
        // Mounts.
        for m in s.mounts.iter().filter_map(|e| match e {
            OwnedMountEntry::Raw(m) => Some(m),
            OwnedMountEntry::Op(_) => None,
        }) {
            assert_eq!(
                m.flags & !mount_flags::KNOWN,
                0,
                "mount flags {:#x}",
                m.flags
            );
            assert_eq!(
                m.options & !mount_opt::KNOWN,
                0,
                "mount options {:#x}",
                m.options
            );
            assert!(m.source.len() < limit::PATH);
            assert!(!m.target.is_empty() && m.target.len() < limit::PATH);
            assert!(m.fstype.len() < limit::FSTYPE);
            assert!(m.data.len() < limit::MOUNT_DATA);
        }
        // Mount operations: each field only on the kinds that take it.
        for op in s.mounts.iter().filter_map(|e| match e {
            OwnedMountEntry::Op(op) => Some(op),
            OwnedMountEntry::Raw(_) => None,
        }) {
            let kind = op.kind;
            let row = KindInfo::of(kind).unwrap_or_else(|| panic!("mount op kind {kind}"));
            assert_eq!(
                op.flags & !mount_op::KNOWN,
                0,
                "mount op flags {:#x}",
                op.flags
            );
            assert_eq!(
                op.flags & !row.flags,
                0,
                "flags {:#x} on kind {kind}",
                op.flags
            );
            assert!(op.mode <= limit::MODE, "mode {:o}", op.mode);
            if !row.takes.mode {
                assert_eq!(op.mode, 0, "mode on kind {kind}");
            }
            if !row.takes.size {
                assert_eq!(op.size, 0, "size on kind {kind}");
            }
            if let Some(fd) = op.fd {
                assert!(fd < limit::FD, "fd {fd}");
                assert!(row.takes.fd, "fd on kind {kind}");
                let replaced = s.files.get(fd as usize).is_some_and(|&f| f != fd as i32);
                assert!(
                    !replaced,
                    "mount op fd {fd} replaced by files {:?}",
                    s.files
                );
            }
            match row.source {
                SourceRule::PathOrFd => {
                    assert_ne!(op.source.is_empty(), op.fd.is_none(), "bind source/fd")
                }
                SourceRule::Text => assert!(!op.source.is_empty(), "symlink without text"),
                SourceRule::None => assert!(op.source.is_empty(), "source on kind {kind}"),
            }
            if row.lower != 0 {
                // An overlay's content is its layers: absolute paths, each with its NUL.
                let upper = if row.takes.upper { 2 } else { 0 };
                assert_eq!(op.content.last(), Some(&0), "layers unterminated");
                let layers: Vec<&[u8]> = op.content[..op.content.len() - 1]
                    .split(|&b| b == 0)
                    .collect();
                assert!(
                    (upper + row.lower as usize..=upper + limit::OVERLAY_LOWER)
                        .contains(&layers.len()),
                    "{} layers on kind {kind}",
                    layers.len()
                );
                for l in layers {
                    assert!(
                        l.first() == Some(&b'/') && l.len() < limit::PATH,
                        "layer {l:?}"
                    );
                }
            } else if !op.content.is_empty() {
                assert!(
                    row.takes.content && op.fd.is_none(),
                    "content on kind {kind}"
                );
            }
            assert!(op.source.len() < limit::PATH);
            assert!(op.target.len() < limit::PATH);
            assert_eq!(
                op.target.first(),
                Some(&b'/'),
                "relative target {:?}",
                op.target
            );
        }
        // Id maps.
        for map in [&s.uid_map, &s.gid_map].into_iter().flatten() {
            assert!(
                !map.is_empty() && map.len() <= limit::ID_MAP_ENTRIES,
                "id map entries"
            );
            for &(inside, outside, size) in map {
                assert!(size > 0, "empty id map entry");
                assert!(inside.checked_add(size).is_some() && outside.checked_add(size).is_some());
            }
        }
        // Landlock: known bits, something handled, rules within what is handled.
        let (fs, net) = match s.landlock {
            Some(l) => {
                assert_eq!(l.handled_fs & !landlock_fs::KNOWN, 0, "landlock fs");
                assert_eq!(l.handled_net & !landlock_net::KNOWN, 0, "landlock net");
                assert_eq!(l.scoped & !landlock_scope::KNOWN, 0, "landlock scopes");
                assert_eq!(l.flags & !landlock::FLAGS_KNOWN, 0, "landlock flags");
                assert!(
                    l.handled_fs | l.handled_net | l.scoped != 0,
                    "landlock of nothing"
                );
                (l.handled_fs, l.handled_net)
            }
            None => (0, 0),
        };
        assert!(s.landlock_paths.len() <= limit::LANDLOCK_RULES);
        assert!(s.landlock_ports.len() <= limit::LANDLOCK_RULES);
        for (access, path) in &s.landlock_paths {
            assert!(
                *access != 0 && access & !fs == 0,
                "path rule {access:#x} of {fs:#x}"
            );
            assert!(
                path.first() == Some(&b'/') && path.len() < limit::PATH,
                "{path:?}"
            );
        }
        for &(access, port) in &s.landlock_ports {
            assert!(
                access != 0 && access & !net == 0,
                "port rule {access:#x} of {net:#x}"
            );
            assert!(port <= 65_535, "port {port}");
        }
        // Credential.
        if let Some(c) = &s.credential {
            assert!(c.groups.len() <= limit::GROUPS, "groups");
            assert_eq!(c.flags & !cred_flag::KNOWN, 0, "credential flags");
        }
        // Flags.
        assert_eq!(s.clone_flags & !ns::KNOWN, 0, "clone flags");
        assert_eq!(s.options & !opt::KNOWN, 0, "options");
        // Whole-spec rules.
        let has = |bit: u64| s.options & bit != 0;
        let newns = s.clone_flags & ns::NEWNS != 0;
        assert!(
            !s.args[0].is_empty() || s.exec_path.is_some() || s.exec_fd.is_some(),
            "nothing to execute"
        );
        assert!(!(s.exec_path.is_some() && s.exec_fd.is_some()));
        assert!(s.mounts.is_empty() || newns, "mount without newns");
        assert!(s.pivot_root.is_none() || newns, "pivot_root without newns");
        assert!(
            (s.host_name.is_none() && s.domain_name.is_none()) || s.clone_flags & ns::NEWUTS != 0
        );
        assert!((s.uid_map.is_none() && s.gid_map.is_none()) || s.clone_flags & ns::NEWUSER != 0);
        assert!(!(has(opt::CTTY) && has(opt::NO_SETSID)));
        assert!(!(s.cgroup_path.is_some() && s.cgroup_fd.is_some()));
        assert!(!(has(opt::DETACH) && has(opt::INIT)));
        assert!(!has(opt::WRITABLE_ROOT) || s.pivot_root.is_some());
        assert!(!has(opt::LOOPBACK) || s.clone_flags & ns::NEWNET != 0);
        assert!(!(s.json_status_fd.is_some() && has(opt::DETACH)));
        if let Some(j) = s.join_ns {
            assert!(
                j.user.is_none() || s.clone_flags & ns::NEWUSER == 0,
                "join user, newuser"
            );
            assert!(
                j.pid.is_none() || s.clone_flags & ns::NEWPID == 0,
                "join pid, newpid"
            );
        }
        assert!(!has(opt::DUMPABLE_INIT) || has(opt::INIT));
        assert!(s.lock_files.len() <= limit::LOCK_FILES, "lock file count");
        for p in &s.lock_files {
            assert!(
                !p.is_empty() && p.len() < limit::PATH && p[0] == b'/',
                "lock {p:?}"
            );
        }
        assert!(
            (s.lock_files.is_empty() && s.sync_fd.is_none()) || has(opt::INIT),
            "lock file or sync fd without init"
        );
        assert!(
            !(s.caps.is_some() && has(opt::DROP_CAPS)),
            "caps, drop_caps"
        );
        if let Some(c) = s.caps {
            assert_eq!(c.flags & !layout::caps::FLAGS_KNOWN, 0, "unknown CAPS flag");
        }
        assert!(!has(opt::NO_WAIT_INIT) || has(opt::INIT));
        assert!(
            s.userns_block_fd.is_none()
                || (s.clone_flags & ns::NEWUSER != 0 && s.uid_map.is_none() && s.gid_map.is_none()),
            "userns block fd without newuser, or with maps"
        );
        if let Some(fd) = s.block_fd {
            let slot = fd as usize;
            assert!(
                slot >= s.files.len() || s.files[slot] == fd as i32,
                "block fd replaced"
            );
        }
        assert!(!has(opt::DISABLE_USERNS) || s.clone_flags & ns::NEWUSER != 0);
    }

    /// Writes one record type (every RLIMIT, or the whole mount list for MOUNT) with the
    /// crate's `Writer`, when the field carries something.
    fn write_type(&self, w: &mut Writer<VecSink>, ty: u16) {
        fn sl(v: &[Vec<u8>]) -> impl Iterator<Item = &[u8]> {
            v.iter().map(Vec::as_slice)
        }
        match ty {
            record::ARGS => w.args(sl(&self.args)),
            record::ENV => {
                if !self.env.is_empty() {
                    w.env(sl(&self.env))
                }
            }
            record::EXEC_PATH => self.exec_path.iter().for_each(|p| w.exec_path(p)),
            record::EXEC_FD => self.exec_fd.iter().for_each(|&fd| w.exec_fd(fd)),
            record::RLIMIT => {
                for &(resource, cur, max) in &self.rlimits {
                    w.rlimit(&Rlimit { resource, cur, max });
                }
            }
            record::FILES => {
                if !self.files.is_empty() {
                    w.files(&self.files)
                }
            }
            record::WORK_DIR => self.work_dir.iter().for_each(|d| w.work_dir(d)),
            record::SECCOMP => {
                for f in &self.seccomp {
                    w.seccomp(f.chunks_exact(8).map(|c| {
                        (
                            u16::from_le_bytes([c[0], c[1]]),
                            c[2],
                            c[3],
                            u32::from_le_bytes([c[4], c[5], c[6], c[7]]),
                        )
                    }));
                }
            }
            record::CLONE_FLAGS => {
                if self.clone_flags != 0 {
                    w.clone_flags(self.clone_flags)
                }
            }
            // The whole mount list where MOUNT goes, in order (MOUNT_OP shares its index
            // space, so it is never written on its own).
            record::MOUNT => {
                for e in &self.mounts {
                    // Decoded strings never hold a NUL, so they convert back.
                    let c = |b: &[u8]| CString::new(b).expect("decoded string without NUL");
                    match e {
                        OwnedMountEntry::Raw(m) => {
                            let [source, target, fstype, data] =
                                [&m.source, &m.target, &m.fstype, &m.data].map(|s| c(s));
                            w.mount(&Mount {
                                flags: m.flags,
                                options: m.options,
                                source: &source,
                                target: &target,
                                fstype: &fstype,
                                data: &data,
                            })
                        }
                        OwnedMountEntry::Op(op) => {
                            let (source, target) = (c(&op.source), c(&op.target));
                            w.mount_op(&MountOp {
                                kind: op.kind,
                                flags: op.flags,
                                mode: op.mode,
                                size: op.size,
                                fd: op.fd,
                                source: &source,
                                target: &target,
                                content: &op.content,
                            })
                        }
                    }
                }
            }
            record::PIVOT_ROOT => self.pivot_root.iter().for_each(|p| w.pivot_root(p)),
            record::HOST_NAME => self.host_name.iter().for_each(|n| w.host_name(n)),
            record::DOMAIN_NAME => self.domain_name.iter().for_each(|n| w.domain_name(n)),
            record::UID_MAP => self
                .uid_map
                .iter()
                .for_each(|m| w.uid_map(m.iter().copied())),
            record::GID_MAP => self
                .gid_map
                .iter()
                .for_each(|m| w.gid_map(m.iter().copied())),
            record::CREDENTIAL => {
                if let Some(c) = &self.credential {
                    w.credential(c.uid, c.gid, c.flags, &c.groups);
                }
            }
            record::OPTIONS => {
                if self.options != 0 {
                    w.options(self.options)
                }
            }
            record::STATUS_FD => self.status_fd.iter().for_each(|&fd| w.status_fd(fd)),
            record::CGROUP_PATH => self.cgroup_path.iter().for_each(|p| w.cgroup_path(p)),
            record::CGROUP_FD => self.cgroup_fd.iter().for_each(|&fd| w.cgroup_fd(fd)),
            record::JSON_STATUS_FD => self
                .json_status_fd
                .iter()
                .for_each(|&fd| w.json_status_fd(fd)),
            record::INFO_FD => self.info_fd.iter().for_each(|&fd| w.info_fd(fd)),
            record::JOIN_NS => self
                .join_ns
                .iter()
                .for_each(|j| w.join_ns(j.user, j.pid, j.user2)),
            record::CAPS => self.caps.iter().for_each(|c| w.caps(c.kept, c.flags)),
            record::LANDLOCK => self
                .landlock
                .iter()
                .for_each(|l| w.landlock(l.handled_fs, l.handled_net, l.scoped, l.flags)),
            record::LANDLOCK_PATH => {
                for (access, path) in &self.landlock_paths {
                    w.landlock_path(*access, path);
                }
            }
            record::LANDLOCK_PORT => {
                for &(access, port) in &self.landlock_ports {
                    w.landlock_port(access, port);
                }
            }
            record::LOCK_FILE => self.lock_files.iter().for_each(|p| w.lock_file(p)),
            record::SYNC_FD => self.sync_fd.iter().for_each(|&fd| w.sync_fd(fd)),
            record::BLOCK_FD => self.block_fd.iter().for_each(|&fd| w.block_fd(fd)),
            record::USERNS_BLOCK_FD => self
                .userns_block_fd
                .iter()
                .for_each(|&fd| w.userns_block_fd(fd)),
            // MOUNT_OP is written with MOUNT (one list, one index space).
            record::MOUNT_OP => {}
            // Every type the decoder parses is written back, or the round trip would lose it
            // silently: a new type fails here until it has its arm.
            _ => panic!("record type {ty} is not written back (fuzz/src/lib.rs, Owned)"),
        }
    }

    /// The fields written back with the `Writer`, record types in `order` (types missing from
    /// `order` are not written); `advisory` adds an unknown record with SKIP_IF_UNKNOWN after
    /// the first record, which a decoder must skip.
    pub fn encode_in(&self, order: &[u16], advisory: Option<&[u8]>) -> Vec<u8> {
        let mut w = Writer::new(VecSink::default());
        for (i, &ty) in order.iter().enumerate() {
            self.write_type(&mut w, ty);
            if i == 0 {
                if let Some(payload) = advisory {
                    w.record(ADVISORY_TYPE, RECORD_SKIP_IF_UNKNOWN, &[payload]);
                }
            }
        }
        w.finish().0
    }

    /// The canonical encoding (vectors/README.md): ascending record types, the mount list
    /// where MOUNT goes.
    pub fn encode(&self) -> Vec<u8> {
        let order: Vec<u16> = (1..=record::LAST).collect();
        self.encode_in(&order, None)
    }
}

/// A record type far above the ones version 1 defines, for the advisory record in re-encodings.
pub const ADVISORY_TYPE: u16 = 0x7ff0;

/// A permutation of the record types 1..=LAST chosen by `seed` (Fisher–Yates, xorshift).
pub fn record_order(mut seed: u64) -> Vec<u16> {
    let mut order: Vec<u16> = (1..=record::LAST).collect();
    seed |= 1;
    for i in (1..order.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        order.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    order
}

/// Decodes `buf`, and on success copies it out and checks every invariant; on refusal checks
/// the refusal's rules. Either way the outcome must be the one docs/spec.md prescribes
/// ([`reference::validate`], for the records and kinds it implements). Returns what it found.
pub fn decode_checked(buf: &[u8]) -> Result<Owned, SpecError> {
    let result = decode(buf);
    // The reference is compared on the records and kinds it implements (reference::models).
    if reference::models(buf) {
        let want = reference::validate(buf);
        assert_eq!(
            result
                .as_ref()
                .map(|_| ())
                .map_err(|e| (e.offset as usize, e.fault)),
            want,
            "decode and docs/spec.md disagree"
        );
    }
    match result {
        Ok(spec) => {
            let o = Owned::of(&spec);
            o.assert_valid();
            // Decoding is a pure function of the bytes.
            let again = decode(buf).map(|s| Owned::of(&s));
            assert_eq!(again.as_ref(), Ok(&o), "decode is not deterministic");
            Ok(o)
        }
        Err(e) => {
            check_refusal(buf, e);
            Err(e)
        }
    }
}

/// The rules every refusal follows (docs/spec.md, "Order of checks", "Offsets at a glance").
pub fn check_refusal(buf: &[u8], e: SpecError) {
    let at = e.offset as usize;
    let n = buf.len();
    assert!(at <= n, "{e:?}: offset past the {n} bytes given");
    assert_eq!(Fault::from_u32(e.fault as u32), Some(e.fault));
    assert!(!e.fault.describe().is_empty());
    assert!(matches!(e.fault.errno(), 7 | 9 | 22 | 95));
    match e.fault {
        Fault::BadMagic => {
            assert!(at < MAGIC.len() && at < n, "{e:?}");
            assert_eq!(
                &buf[..at],
                &MAGIC[..at],
                "{e:?}: an earlier magic byte differs"
            );
            assert_ne!(buf[at], MAGIC[at], "{e:?}: that magic byte is right");
        }
        Fault::Truncated | Fault::MissingArgs => assert_eq!(at, n, "{e:?} of {n} bytes"),
        Fault::BadVersion => assert_eq!(at, 4),
        Fault::BadTotalLength => assert_eq!(at, 8),
        Fault::UnknownBits => assert!(at == 6 || at >= HEADER_LEN + 2, "{e:?}"),
        Fault::NeedsCloneShape => panic!("reserved fault reported: {e:?}"),
        _ => assert!(at >= HEADER_LEN, "{e:?}: a record fault inside the header"),
    }
    // Anything that reached the records has a whole, plausible header.
    let header_fault = matches!(
        e.fault,
        Fault::BadMagic | Fault::BadVersion | Fault::BadTotalLength
    ) || (e.fault == Fault::UnknownBits && at == 6)
        || (e.fault == Fault::Truncated && n < HEADER_LEN);
    if !header_fault {
        assert!(n >= HEADER_LEN, "{e:?}");
        assert_eq!(&buf[..4], &MAGIC);
    }
    // `total_len` on the header agrees with `decode` on the header checks.
    if n >= HEADER_LEN {
        let header: [u8; HEADER_LEN] = buf[..HEADER_LEN].try_into().unwrap();
        match total_len(&header) {
            Err(h) => assert_eq!(h, e, "total_len and decode disagree"),
            Ok(total) => {
                assert!((HEADER_LEN..=limit::SPEC_LEN).contains(&total));
                assert!(!matches!(e.fault, Fault::BadMagic | Fault::BadVersion));
                if total == n {
                    assert!(!header_fault, "{e:?} with a whole, exact header");
                }
            }
        }
    }
}

/// Checks everything about an accepted spec that needs the original bytes: the re-encodings
/// decode to the same fields, and the shape for a few (euid, egid) pairs follows the rules.
pub fn check_accepted(buf: &[u8], spec: &Spec<'_>, o: &Owned, seed: u64) {
    // Canonical re-encoding: the same fields, no longer than the original.
    let canonical = o.encode();
    assert!(
        canonical.len() <= buf.len(),
        "canonical form is longer than the original"
    );
    let back = decode(&canonical).map(|s| Owned::of(&s));
    assert_eq!(
        back.as_ref(),
        Ok(o),
        "canonical re-encoding decodes differently"
    );
    let canonical_again = back.unwrap().encode();
    assert_eq!(
        canonical_again, canonical,
        "canonical encoding is not a fixed point"
    );
    // SKIP_IF_UNKNOWN on every (known) record changes nothing (docs/spec.md, record flags).
    let mut flagged = canonical.clone();
    let mut r = HEADER_LEN;
    while r < flagged.len() {
        flagged[r + 2] |= RECORD_SKIP_IF_UNKNOWN as u8;
        r += RECORD_HEADER_LEN
            + u32::from_le_bytes(flagged[r + 4..r + 8].try_into().unwrap()) as usize;
    }
    let back = decode(&flagged).map(|s| Owned::of(&s));
    assert_eq!(
        back.as_ref(),
        Ok(o),
        "SKIP_IF_UNKNOWN on a known record changed it"
    );
    // Records in another order, plus a skippable advisory record: the same fields.
    let order = record_order(seed);
    let advisory = &buf[..buf.len().min(16)];
    let shuffled = o.encode_in(&order, Some(advisory));
    let back = decode(&shuffled).map(|s| Owned::of(&s));
    assert_eq!(
        back.as_ref(),
        Ok(o),
        "record order {order:?} decodes differently"
    );

    // The process shape for a few effective ids: the spec's own map hosts, root, a user.
    let mut ids = vec![(0, 0), (1000, 1000), (u32::MAX, u32::MAX), (0, 1000)];
    let host = |m: &Option<Vec<(u32, u32, u32)>>| m.as_ref().and_then(|m| m.first()).map(|e| e.1);
    if let (Some(u), Some(g)) = (host(&o.uid_map), host(&o.gid_map)) {
        ids.push((u, g));
    }
    if let Some(u) = host(&o.uid_map) {
        ids.push((u, 0));
    }
    if let Some(g) = host(&o.gid_map) {
        ids.push((0, g));
    }
    for (euid, egid) in ids {
        check_shape(buf, spec, o, euid, egid);
    }
}

/// The process shape as docs/spec.md ("Order of checks", 4) states it.
pub fn expected_shape(o: &Owned, euid: u32, egid: u32) -> Result<Shape, Fault> {
    let has = |bit: u64| o.options & bit != 0;
    let self_map = |m: &Option<Vec<(u32, u32, u32)>>, own: u32| match m {
        None => true,
        Some(m) => m.len() == 1 && m[0].2 == 1 && m[0].1 == own,
    };
    let outer = !self_map(&o.uid_map, euid)
        || !self_map(&o.gid_map, egid)
        || (o.gid_map.is_some() && has(opt::GID_MAPPINGS_ENABLE_SETGROUPS));
    let shape = if has(opt::INIT) {
        Shape::Init
    } else if has(opt::DETACH) {
        Shape::Detach
    } else if outer
        || o.clone_flags & ns::NEWPID != 0
        || o.json_status_fd.is_some()
        || o.userns_block_fd.is_some()
        || o.join_ns.is_some_and(|j| j.pid.is_some())
    {
        // The supervisor writes the JSON status fd's exit code; a joined pid namespace takes
        // a clone.
        Shape::Supervise
    } else {
        Shape::InPlace
    };
    let traced = has(opt::PTRACE) || has(opt::STOP_BEFORE_SECCOMP);
    if traced && matches!(shape, Shape::Supervise | Shape::Init) {
        return Err(Fault::Conflict);
    }
    Ok(shape)
}

/// `Spec::shape` against [`expected_shape`]; a refusal names the OPTIONS payload.
pub fn check_shape(buf: &[u8], spec: &Spec<'_>, o: &Owned, euid: u32, egid: u32) {
    let got = spec.shape(euid, egid);
    let want = expected_shape(o, euid, egid);
    match (got, want) {
        (Ok(g), Ok(w)) => {
            assert_eq!(g, w, "shape for ({euid}, {egid})");
            if g == Shape::InPlace {
                assert_eq!(o.clone_flags & !ns::IN_PLACE, 0, "in place with newpid");
            }
        }
        (Err(e), Err(f)) => {
            assert_eq!(e.fault, f);
            let at = e.offset as usize;
            // The offset is the OPTIONS payload: its record header is 8 bytes before it.
            assert!(
                at >= HEADER_LEN + RECORD_HEADER_LEN && at + 8 <= buf.len(),
                "{e:?}"
            );
            let ty = u16::from_le_bytes([buf[at - 8], buf[at - 7]]);
            assert_eq!(ty, record::OPTIONS, "{e:?} does not name OPTIONS");
            let bits = u64::from_le_bytes(buf[at..at + 8].try_into().unwrap());
            assert_eq!(bits, o.options, "{e:?}: not the OPTIONS record in force");
        }
        (g, w) => panic!("shape for ({euid}, {egid}): got {g:?}, docs say {w:?}"),
    }
}

/// One 32-byte status record as a client reads it: `Record::decode` knows exactly the kinds
/// 1–5, round-trips through `encode`, and keeps every byte that carries a field.
pub fn check_status_record(chunk: &[u8; status::RECORD_LEN]) {
    let kind = u32::from_le_bytes(chunk[..4].try_into().unwrap());
    let decoded = Record::decode(chunk);
    assert_eq!(decoded.is_some(), (1..=5).contains(&kind), "kind {kind}");
    let Some(r) = decoded else { return };
    let bytes = r.encode();
    assert_eq!(
        Record::decode(&bytes),
        Some(r),
        "record does not round-trip"
    );
    let meaningful = match r {
        Record::Error {
            location, detail, ..
        } => {
            if let Some(loc) = Location::from_u32(location) {
                assert_eq!(loc as u32, location);
                assert!(!loc.name().is_empty());
            }
            if let Some(f) = Fault::from_u32(detail) {
                assert_eq!(f as u32, detail);
                assert!(!f.describe().is_empty());
            }
            20
        }
        Record::Sync { .. } | Record::Pid { .. } | Record::Exec { .. } => 8,
        Record::Exit { .. } => 32,
    };
    assert_eq!(
        &bytes[..meaningful],
        &chunk[..meaningful],
        "field bytes lost"
    );
    assert!(
        bytes[meaningful..].iter().all(|&b| b == 0),
        "padding not zero"
    );
}
