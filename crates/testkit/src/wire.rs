//! Helpers shared by the integration tests: a `Vec<u8>` sink, spec builders, and an owned,
//! comparable copy of a decoded spec that can be re-encoded in canonical record order.

use std::ffi::CString;

use forkexec_spec::decode::{Mount, MountEntry, MountOp, Rlimit, Spec};
use forkexec_spec::encode::{Sink, Writer};
use forkexec_spec::layout::record;

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

pub type W = Writer<VecSink>;

/// Positional forms of the writer's struct methods, for tests that build specs field by
/// field. Values the decoder's structs cannot hold (a string with a NUL inside, an fd below
/// -1) are written as raw records, so refusals of such bytes stay testable.
pub trait WriteExt {
    fn raw_mount(
        &mut self,
        flags: u64,
        options: u32,
        src: &[u8],
        tgt: &[u8],
        fs: &[u8],
        data: &[u8],
    );
    #[allow(clippy::too_many_arguments)]
    fn op(
        &mut self,
        kind: u16,
        flags: u16,
        mode: u32,
        size: u64,
        fd: i32,
        src: &[u8],
        tgt: &[u8],
        content: &[u8],
    );
    fn limit(&mut self, resource: u32, cur: u64, max: u64);
}

fn cstring(b: &[u8]) -> Option<CString> {
    CString::new(b).ok()
}

impl WriteExt for W {
    fn raw_mount(
        &mut self,
        flags: u64,
        options: u32,
        src: &[u8],
        tgt: &[u8],
        fs: &[u8],
        data: &[u8],
    ) {
        match [src, tgt, fs, data].map(cstring) {
            [Some(source), Some(target), Some(fstype), Some(data)] => self.mount(&Mount {
                flags,
                options,
                source: &source,
                target: &target,
                fstype: &fstype,
                data: &data,
            }),
            _ => self.record(
                record::MOUNT,
                0,
                &[
                    &flags.to_le_bytes(),
                    &options.to_le_bytes(),
                    src,
                    &[0],
                    tgt,
                    &[0],
                    fs,
                    &[0],
                    data,
                    &[0],
                ],
            ),
        }
    }

    fn op(
        &mut self,
        kind: u16,
        flags: u16,
        mode: u32,
        size: u64,
        fd: i32,
        src: &[u8],
        tgt: &[u8],
        content: &[u8],
    ) {
        match (cstring(src), cstring(tgt)) {
            (Some(source), Some(target)) if fd >= -1 => self.mount_op(&MountOp {
                kind,
                flags,
                mode,
                size,
                fd: (fd >= 0).then_some(fd as u32),
                source: &source,
                target: &target,
                content,
            }),
            _ => self.record(
                record::MOUNT_OP,
                0,
                &[
                    &kind.to_le_bytes(),
                    &flags.to_le_bytes(),
                    &mode.to_le_bytes(),
                    &size.to_le_bytes(),
                    &fd.to_le_bytes(),
                    src,
                    &[0],
                    tgt,
                    &[0],
                    content,
                ],
            ),
        }
    }

    fn limit(&mut self, resource: u32, cur: u64, max: u64) {
        self.rlimit(&Rlimit { resource, cur, max });
    }
}

/// Builds a whole spec.
pub fn build(f: impl FnOnce(&mut W)) -> Vec<u8> {
    let mut w = Writer::new(VecSink::default());
    f(&mut w);
    w.finish().0
}

/// Builds `base` then `extra`; returns the bytes and the offset at which `extra` starts.
pub fn build_at(base: impl Fn(&mut W), extra: impl FnOnce(&mut W)) -> (Vec<u8>, usize) {
    let at = build(&base).len();
    let buf = build(|w| {
        base(w);
        extra(w);
    });
    (buf, at)
}

/// `&str`s as the byte strings the writer takes.
pub fn s<'a>(items: &'a [&'a str]) -> impl Iterator<Item = &'a [u8]> + 'a {
    items.iter().map(|x| x.as_bytes())
}

/// Mount flags (`MS_*`) used by the tests.
pub mod ms {
    pub const RDONLY: u64 = 1;
    pub const NOSUID: u64 = 2;
    pub const NODEV: u64 = 4;
    pub const NOEXEC: u64 = 8;
    pub const BIND: u64 = 4096;
    pub const REC: u64 = 16384;
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

/// One mount operation (MOUNT_OP), owned. An empty `source` is none; `fd` is `None` for -1.
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
    /// An operation of `kind` on `target`, every other field empty.
    pub fn new(kind: u16, target: &str) -> OwnedMountOp {
        OwnedMountOp {
            kind,
            target: target.as_bytes().to_vec(),
            ..OwnedMountOp::default()
        }
    }

    fn of(op: &MountOp<'_>) -> OwnedMountOp {
        for bit in 0..16 {
            assert_eq!(op.has(1 << bit), op.flags & (1 << bit) != 0);
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

    /// Written with the crate's `Writer`.
    pub fn write(&self, w: &mut W) {
        w.op(
            self.kind,
            self.flags,
            self.mode,
            self.size,
            self.fd.map_or(-1, |fd| fd as i32),
            &self.source,
            &self.target,
            &self.content,
        );
    }
}

/// One entry of the mount list (MOUNT and MOUNT_OP records share it, in record order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnedMountEntry {
    Raw(OwnedMount),
    Op(OwnedMountOp),
}

impl OwnedMountEntry {
    /// The target, whichever the kind of entry.
    pub fn target(&self) -> &[u8] {
        match self {
            OwnedMountEntry::Raw(m) => &m.target,
            OwnedMountEntry::Op(op) => &op.target,
        }
    }
}

impl From<OwnedMount> for OwnedMountEntry {
    fn from(m: OwnedMount) -> Self {
        OwnedMountEntry::Raw(m)
    }
}

impl From<OwnedMountOp> for OwnedMountEntry {
    fn from(op: OwnedMountOp) -> Self {
        OwnedMountEntry::Op(op)
    }
}

/// Credential, owned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnedCredential {
    pub uid: u32,
    pub gid: u32,
    pub flags: u32,
    pub groups: Vec<u32>,
}

/// Everything a decoded [`Spec`] exposes, owned, so specs can be compared and re-encoded.
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
    /// Raw mounts and mount operations, in record order (their shared index space).
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
    pub info_fd: Option<u32>,
    pub json_status_fd: Option<u32>,
    pub join_ns: Option<(Option<u32>, Option<u32>, Option<u32>)>,
    pub caps: Option<(u64, u32)>,
    /// LANDLOCK: handled filesystem rights, handled network rights, scopes, flags.
    pub landlock: Option<(u64, u64, u64, u32)>,
    /// LANDLOCK_PATH rules (rights, path), in order.
    pub landlock_paths: Vec<(u64, Vec<u8>)>,
    /// LANDLOCK_PORT rules (rights, port), in order.
    pub landlock_ports: Vec<(u64, u64)>,
    pub lock_files: Vec<Vec<u8>>,
    pub sync_fd: Option<u32>,
    pub block_fd: Option<u32>,
    pub userns_block_fd: Option<u32>,
}

fn owned(c: &std::ffi::CStr) -> Vec<u8> {
    c.to_bytes().to_vec()
}

impl Owned {
    /// Copies out every field of a decoded spec, through its public accessors.
    pub fn of(spec: &Spec<'_>) -> Owned {
        let args: Vec<_> = spec.args.iter().map(owned).collect();
        assert_eq!(args.len(), spec.args.len(), "args count");
        assert_eq!(args.is_empty(), spec.args.is_empty());
        assert_eq!(args.first().cloned(), spec.args.first().map(owned));
        let env: Vec<_> = spec.env.iter().map(owned).collect();
        assert_eq!(env.len(), spec.env.len(), "env count");
        let rlimits: Vec<_> = spec
            .rlimits
            .iter()
            .map(|r| (r.resource, r.cur, r.max))
            .collect();
        assert_eq!(rlimits.len(), spec.rlimits.len());
        assert_eq!(rlimits.is_empty(), spec.rlimits.is_empty());
        let mounts: Vec<_> = spec
            .mounts
            .iter()
            .map(|e| match e {
                MountEntry::Raw(m) => OwnedMountEntry::Raw(OwnedMount::of(m)),
                MountEntry::Op(op) => OwnedMountEntry::Op(OwnedMountOp::of(op)),
            })
            .collect();
        assert_eq!(mounts.len(), spec.mounts.len());
        assert_eq!(mounts.is_empty(), spec.mounts.is_empty());
        let files: Vec<i32> = spec.files.iter().collect();
        assert_eq!(files.len(), spec.files.len());
        assert_eq!(files.is_empty(), spec.files.is_empty());
        for (i, &fd) in files.iter().enumerate() {
            assert_eq!(spec.files.get(i), fd);
        }
        let map = |m: Option<forkexec_spec::decode::IdMap<'_>>| {
            m.map(|m| {
                let v: Vec<_> = m
                    .iter()
                    .map(|e| (e.container_id, e.host_id, e.size))
                    .collect();
                assert_eq!(v.len(), m.len());
                assert_eq!(v.is_empty(), m.is_empty());
                v
            })
        };
        let credential = spec.credential.map(|c| {
            let groups: Vec<u32> = c.groups().collect();
            assert_eq!(groups.len(), c.group_count());
            assert_eq!(c.groups_bytes().len(), 4 * groups.len());
            assert_eq!(
                c.no_setgroups(),
                c.flags & forkexec_spec::layout::cred_flag::NO_SETGROUPS != 0
            );
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
            seccomp.iter().map(|s| s.len() / 8).sum::<usize>()
        );
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
            uid_map: map(spec.uid_map),
            gid_map: map(spec.gid_map),
            credential,
            options: spec.options,
            status_fd: spec.status_fd,
            cgroup_path: spec.cgroup_path.map(owned),
            cgroup_fd: spec.cgroup_fd,
            info_fd: spec.info_fd,
            json_status_fd: spec.json_status_fd,
            join_ns: spec.join_ns.map(|j| (j.user, j.pid, j.user2)),
            caps: spec.caps.map(|c| (c.kept, c.flags)),
            landlock: spec
                .landlock
                .map(|l| (l.handled_fs, l.handled_net, l.scoped, l.flags)),
            landlock_paths: spec
                .landlock_paths
                .iter()
                .map(|r| (r.access, owned(r.path)))
                .collect(),
            landlock_ports: spec
                .landlock_ports
                .iter()
                .map(|r| (r.access, r.port))
                .collect(),
            lock_files: spec.lock_files.iter().map(|p| owned(p)).collect(),
            sync_fd: spec.sync_fd,
            block_fd: spec.block_fd,
            userns_block_fd: spec.userns_block_fd,
        }
    }

    /// The canonical encoding: records in ascending type order, except that the whole mount
    /// list (MOUNT and MOUNT_OP records, in list order) goes where MOUNT goes; RLIMIT entries
    /// in list order; ARGS always, every other record only when it carries something (a
    /// non-empty list, a present value, non-zero flags). `vectors/README.md` states the same.
    pub fn encode(&self) -> Vec<u8> {
        build(|w| {
            w.args(self.args.iter().map(Vec::as_slice));
            if !self.env.is_empty() {
                w.env(self.env.iter().map(Vec::as_slice));
            }
            if let Some(p) = &self.exec_path {
                w.exec_path(p);
            }
            if let Some(fd) = self.exec_fd {
                w.exec_fd(fd);
            }
            for &(r, cur, max) in &self.rlimits {
                w.limit(r, cur, max);
            }
            if !self.files.is_empty() {
                w.files(&self.files);
            }
            if let Some(d) = &self.work_dir {
                w.work_dir(d);
            }
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
            if self.clone_flags != 0 {
                w.clone_flags(self.clone_flags);
            }
            for entry in &self.mounts {
                match entry {
                    OwnedMountEntry::Raw(m) => {
                        w.raw_mount(m.flags, m.options, &m.source, &m.target, &m.fstype, &m.data)
                    }
                    OwnedMountEntry::Op(op) => op.write(w),
                }
            }
            if let Some(p) = &self.pivot_root {
                w.pivot_root(p);
            }
            if let Some(h) = &self.host_name {
                w.host_name(h);
            }
            if let Some(d) = &self.domain_name {
                w.domain_name(d);
            }
            if let Some(m) = &self.uid_map {
                w.uid_map(m.iter().copied());
            }
            if let Some(m) = &self.gid_map {
                w.gid_map(m.iter().copied());
            }
            if let Some(c) = &self.credential {
                w.credential(c.uid, c.gid, c.flags, &c.groups);
            }
            if self.options != 0 {
                w.options(self.options);
            }
            if let Some(fd) = self.status_fd {
                w.status_fd(fd);
            }
            if let Some(p) = &self.cgroup_path {
                w.cgroup_path(p);
            }
            if let Some(fd) = self.cgroup_fd {
                w.cgroup_fd(fd);
            }
            if let Some((fs, net, scoped, flags)) = self.landlock {
                w.landlock(fs, net, scoped, flags);
            }
            for (access, path) in &self.landlock_paths {
                w.landlock_path(*access, path);
            }
            for &(access, port) in &self.landlock_ports {
                w.landlock_port(access, port);
            }
            if let Some(fd) = self.info_fd {
                w.info_fd(fd);
            }
            if let Some(fd) = self.json_status_fd {
                w.json_status_fd(fd);
            }
            if let Some((user, pid, user2)) = self.join_ns {
                w.join_ns(user, pid, user2);
            }
            for path in &self.lock_files {
                w.lock_file(path);
            }
            if let Some(fd) = self.sync_fd {
                w.sync_fd(fd);
            }
            if let Some((kept, flags)) = self.caps {
                w.caps(kept, flags);
            }
            if let Some(fd) = self.block_fd {
                w.block_fd(fd);
            }
            if let Some(fd) = self.userns_block_fd {
                w.userns_block_fd(fd);
            }
        })
    }
}

/// The raw MOUNT entries of a decoded spec, in order.
pub fn raw_mounts<'a>(spec: &Spec<'a>) -> Vec<Mount<'a>> {
    let mut raw = Vec::new();
    for entry in spec.mounts.iter() {
        if let MountEntry::Raw(m) = entry {
            raw.push(*m);
        }
    }
    raw
}

/// Bytes from hex digits as `xxd -p` or `od -An -tx1` print them (whitespace and newlines are
/// ignored): for regression inputs pasted from a fuzz run.
pub fn hex(text: &str) -> Vec<u8> {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(digits.len().is_multiple_of(2), "odd number of hex digits");
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("hex digit"))
        .collect()
}

#[cfg(test)]
mod tests {
    /// `vectors/minimal.hex`'s bytes in the forms `xxd -p` and `od -An -tx1` print it.
    #[test]
    fn hex_reads_what_xxd_and_od_print() {
        let xxd = "46585350010000001e000000010000000a0000002f62696e2f7472756500\n";
        let od = " 46 58 53 50 01 00 00 00 1e 00 00 00 01 00 00 00\n 0a 00 00 00 2f 62 69 6e 2f 74 72 75 65 00\n";
        let mut want = b"FXSP\x01\0\0\0\x1e\0\0\0\x01\0\0\0\x0a\0\0\0".to_vec();
        want.extend_from_slice(b"/bin/true\0");
        for text in [xxd, od] {
            assert_eq!(super::hex(text), want);
        }
    }
}
