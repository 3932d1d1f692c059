//! Encoding: a [`Writer`] that lays records out exactly as [`crate::decode`](mod@crate::decode) reads them.
//!
//! The writer is infallible and does not validate; clients validate what they wrote by
//! running [`crate::decode()`](fn@crate::decode) on it, so both sides refuse the same specs. Strings handed to the
//! writer must not contain NUL (a client checks that first: a NUL would split an argv entry).
//! Repeatable records take the decoder's own structs ([`Rlimit`], [`Mount`], [`MountOp`]), so
//! what is written is what [`crate::decode()`](fn@crate::decode) hands back.

use crate::decode::{Mount, MountEntry, MountOp, Rlimit};
use crate::layout::{self, record};

/// Where encoded bytes go (a `Vec<u8>` in std clients, a fixed buffer elsewhere).
pub trait Sink {
    /// Appends bytes.
    fn put(&mut self, bytes: &[u8]);
    /// Bytes written so far.
    fn written(&self) -> usize;
    /// Overwrites 4 bytes at `at` (used to fill in lengths after the fact).
    fn patch(&mut self, at: usize, bytes: [u8; 4]);
}

/// Writes a spec record by record. Call [`Writer::finish`] to fill in the total length.
pub struct Writer<S: Sink> {
    sink: S,
    start: usize,
}

impl<S: Sink> Writer<S> {
    /// Starts a spec: writes the header with a placeholder total length.
    pub fn new(mut sink: S) -> Self {
        let start = sink.written();
        sink.put(&layout::MAGIC);
        sink.put(&layout::VERSION.to_le_bytes());
        sink.put(&0u16.to_le_bytes());
        sink.put(&0u32.to_le_bytes());
        Writer { sink, start }
    }

    /// Fills in the total length and returns the sink.
    pub fn finish(mut self) -> S {
        let total = (self.sink.written() - self.start) as u32;
        self.sink.patch(self.start + 8, total.to_le_bytes());
        self.sink
    }

    /// A record whose payload is `parts` concatenated.
    pub fn record(&mut self, ty: u16, flags: u16, parts: &[&[u8]]) {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        self.sink.put(&ty.to_le_bytes());
        self.sink.put(&flags.to_le_bytes());
        self.sink.put(&(len as u32).to_le_bytes());
        for p in parts {
            self.sink.put(p);
        }
    }

    /// A record whose payload is written by `body`; the length is patched in afterwards.
    fn record_with(&mut self, ty: u16, body: impl FnOnce(&mut S)) {
        self.sink.put(&ty.to_le_bytes());
        self.sink.put(&0u16.to_le_bytes());
        let len_at = self.sink.written();
        self.sink.put(&0u32.to_le_bytes());
        body(&mut self.sink);
        let len = (self.sink.written() - len_at - 4) as u32;
        self.sink.patch(len_at, len.to_le_bytes());
    }

    fn str_list<'s>(&mut self, ty: u16, items: impl IntoIterator<Item = &'s [u8]>) {
        self.record_with(ty, |sink| {
            for s in items {
                sink.put(s);
                sink.put(&[0]);
            }
        });
    }

    fn string(&mut self, ty: u16, s: &[u8]) {
        self.record(ty, 0, &[s, &[0]]);
    }

    /// ARGS: the target's argv.
    pub fn args<'s>(&mut self, args: impl IntoIterator<Item = &'s [u8]>) {
        self.str_list(record::ARGS, args);
    }
    /// ENV: the target's environment, `KEY=value` strings.
    pub fn env<'s>(&mut self, env: impl IntoIterator<Item = &'s [u8]>) {
        self.str_list(record::ENV, env);
    }
    /// EXEC_PATH: the file to execute when it differs from `args[0]`.
    pub fn exec_path(&mut self, path: &[u8]) {
        self.string(record::EXEC_PATH, path);
    }
    /// EXEC_FD: execute this helper fd (`execveat` with `AT_EMPTY_PATH`).
    pub fn exec_fd(&mut self, fd: u32) {
        self.record(record::EXEC_FD, 0, &[&fd.to_le_bytes()]);
    }
    /// RLIMIT: one resource limit.
    pub fn rlimit(&mut self, r: &Rlimit) {
        self.record(
            record::RLIMIT,
            0,
            &[
                &r.resource.to_le_bytes(),
                &r.cur.to_le_bytes(),
                &r.max.to_le_bytes(),
            ],
        );
    }
    /// FILES: target fd `i` = helper fd `files[i]`, or closed for -1.
    pub fn files(&mut self, files: &[i32]) {
        self.record_with(record::FILES, |sink| {
            for fd in files {
                sink.put(&fd.to_le_bytes());
            }
        });
    }
    /// WORK_DIR.
    pub fn work_dir(&mut self, dir: &[u8]) {
        self.string(record::WORK_DIR, dir);
    }
    /// SECCOMP: `(code, jt, jf, k)` instructions.
    pub fn seccomp(&mut self, insns: impl IntoIterator<Item = (u16, u8, u8, u32)>) {
        self.record_with(record::SECCOMP, |sink| {
            for (code, jt, jf, k) in insns {
                sink.put(&code.to_le_bytes());
                sink.put(&[jt, jf]);
                sink.put(&k.to_le_bytes());
            }
        });
    }
    /// LANDLOCK: handled rights and scopes, flags ([`crate::layout::landlock::EXACT`]).
    pub fn landlock(&mut self, fs: u64, net: u64, scoped: u64, flags: u32) {
        let parts: [&[u8]; 4] = [
            &fs.to_le_bytes(),
            &net.to_le_bytes(),
            &scoped.to_le_bytes(),
            &flags.to_le_bytes(),
        ];
        self.record(record::LANDLOCK, 0, &parts);
    }
    /// LANDLOCK_PATH: rights allowed beneath `path`.
    pub fn landlock_path(&mut self, access: u64, path: &[u8]) {
        self.record(
            record::LANDLOCK_PATH,
            0,
            &[&access.to_le_bytes(), path, &[0]],
        );
    }
    /// LANDLOCK_PORT: rights allowed on TCP `port`.
    pub fn landlock_port(&mut self, access: u64, port: u64) {
        self.record(
            record::LANDLOCK_PORT,
            0,
            &[&access.to_le_bytes(), &port.to_le_bytes()],
        );
    }
    /// CLONE_FLAGS.
    pub fn clone_flags(&mut self, flags: u64) {
        self.record(record::CLONE_FLAGS, 0, &[&flags.to_le_bytes()]);
    }
    /// MOUNT: flags, options ([`layout::mount_opt`]) and the four strings (empty for NULL).
    pub fn mount(&mut self, m: &Mount) {
        self.record(
            record::MOUNT,
            0,
            &[
                &m.flags.to_le_bytes(),
                &m.options.to_le_bytes(),
                m.source.to_bytes_with_nul(),
                m.target.to_bytes_with_nul(),
                m.fstype.to_bytes_with_nul(),
                m.data.to_bytes_with_nul(),
            ],
        );
    }
    /// MOUNT_OP: a [`layout::mount_kind`] with its flags ([`layout::mount_op`]), mode, size,
    /// fd (none: -1 on the wire), source, target (empty for none) and content.
    pub fn mount_op(&mut self, op: &MountOp) {
        let fd = op.fd.map_or(-1, |fd| fd as i32);
        self.record(
            record::MOUNT_OP,
            0,
            &[
                &op.kind.to_le_bytes(),
                &op.flags.to_le_bytes(),
                &op.mode.to_le_bytes(),
                &op.size.to_le_bytes(),
                &fd.to_le_bytes(),
                op.source.to_bytes_with_nul(),
                op.target.to_bytes_with_nul(),
                op.content,
            ],
        );
    }
    /// One mount entry, raw or operation.
    pub fn mount_entry(&mut self, entry: &MountEntry) {
        match entry {
            MountEntry::Raw(m) => self.mount(m),
            MountEntry::Op(op) => self.mount_op(op),
        }
    }
    /// PIVOT_ROOT.
    pub fn pivot_root(&mut self, root: &[u8]) {
        self.string(record::PIVOT_ROOT, root);
    }
    /// HOST_NAME.
    pub fn host_name(&mut self, name: &[u8]) {
        self.string(record::HOST_NAME, name);
    }
    /// DOMAIN_NAME.
    pub fn domain_name(&mut self, name: &[u8]) {
        self.string(record::DOMAIN_NAME, name);
    }
    fn id_map(&mut self, ty: u16, entries: impl IntoIterator<Item = (u32, u32, u32)>) {
        self.record_with(ty, |sink| {
            for (inside, outside, size) in entries {
                sink.put(&inside.to_le_bytes());
                sink.put(&outside.to_le_bytes());
                sink.put(&size.to_le_bytes());
            }
        });
    }
    /// UID_MAP: `(container_id, host_id, size)` entries.
    pub fn uid_map(&mut self, entries: impl IntoIterator<Item = (u32, u32, u32)>) {
        self.id_map(record::UID_MAP, entries);
    }
    /// GID_MAP: `(container_id, host_id, size)` entries.
    pub fn gid_map(&mut self, entries: impl IntoIterator<Item = (u32, u32, u32)>) {
        self.id_map(record::GID_MAP, entries);
    }
    /// CREDENTIAL: uid, gid, flags ([`layout::cred_flag`]), supplementary groups.
    pub fn credential(&mut self, uid: u32, gid: u32, flags: u32, groups: &[u32]) {
        self.record_with(record::CREDENTIAL, |sink| {
            sink.put(&uid.to_le_bytes());
            sink.put(&gid.to_le_bytes());
            sink.put(&flags.to_le_bytes());
            for g in groups {
                sink.put(&g.to_le_bytes());
            }
        });
    }
    /// OPTIONS: [`layout::opt`] bits.
    pub fn options(&mut self, bits: u64) {
        self.record(record::OPTIONS, 0, &[&bits.to_le_bytes()]);
    }
    /// CGROUP_PATH: place the target in this cgroup (v2) directory.
    pub fn cgroup_path(&mut self, path: &[u8]) {
        self.string(record::CGROUP_PATH, path);
    }
    /// CGROUP_FD: place the target in the cgroup (v2) directory open on this helper fd.
    pub fn cgroup_fd(&mut self, fd: u32) {
        self.record(record::CGROUP_FD, 0, &[&fd.to_le_bytes()]);
    }
    /// INFO_FD: bubblewrap's `--info-fd` JSON goes to this helper fd.
    pub fn info_fd(&mut self, fd: u32) {
        self.record(record::INFO_FD, 0, &[&fd.to_le_bytes()]);
    }
    /// JSON_STATUS_FD: bubblewrap's `--json-status-fd` JSON lines go to this helper fd.
    pub fn json_status_fd(&mut self, fd: u32) {
        self.record(record::JSON_STATUS_FD, 0, &[&fd.to_le_bytes()]);
    }
    /// JOIN_NS: namespaces to join (helper fds, `None` for none).
    pub fn join_ns(&mut self, user: Option<u32>, pid: Option<u32>, user2: Option<u32>) {
        let fd = |f: Option<u32>| f.map_or(-1, |f| f as i32).to_le_bytes();
        self.record(record::JOIN_NS, 0, &[&fd(user), &fd(pid), &fd(user2)]);
    }
    /// LOCK_FILE: init holds a read lock on this absolute path (repeatable).
    pub fn lock_file(&mut self, path: &[u8]) {
        self.string(record::LOCK_FILE, path);
    }
    /// SYNC_FD: init keeps this helper fd open while it lives.
    pub fn sync_fd(&mut self, fd: u32) {
        self.record(record::SYNC_FD, 0, &[&fd.to_le_bytes()]);
    }
    /// CAPS: the capabilities the target keeps (bit `n` = capability `n`), CAPS flags.
    pub fn caps(&mut self, kept: u64, flags: u32) {
        self.record(
            record::CAPS,
            0,
            &[&kept.to_le_bytes(), &flags.to_le_bytes()],
        );
    }
    /// BLOCK_FD: the target waits for a byte on this helper fd before the sync point.
    pub fn block_fd(&mut self, fd: u32) {
        self.record(record::BLOCK_FD, 0, &[&fd.to_le_bytes()]);
    }
    /// USERNS_BLOCK_FD: the helper waits for a byte on this fd before letting the clone go on.
    pub fn userns_block_fd(&mut self, fd: u32) {
        self.record(record::USERNS_BLOCK_FD, 0, &[&fd.to_le_bytes()]);
    }
    /// STATUS_FD: write status records here instead of the spec fd.
    pub fn status_fd(&mut self, fd: u32) {
        self.record(record::STATUS_FD, 0, &[&fd.to_le_bytes()]);
    }
}

/// A fixed buffer as a [`Sink`]; writes past its end are counted but dropped, so check
/// [`SliceSink::overflowed`].
pub struct SliceSink<'a> {
    /// The buffer.
    pub buf: &'a mut [u8],
    /// Bytes written so far, dropped ones included.
    pub len: usize,
}

impl SliceSink<'_> {
    /// Whether more bytes were written than the buffer holds.
    pub fn overflowed(&self) -> bool {
        self.len > self.buf.len()
    }
}

impl Sink for SliceSink<'_> {
    fn put(&mut self, bytes: &[u8]) {
        if let Some(dst) = self.buf.get_mut(self.len..self.len + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
        self.len += bytes.len();
    }
    fn written(&self) -> usize {
        self.len
    }
    fn patch(&mut self, at: usize, bytes: [u8; 4]) {
        if let Some(dst) = self.buf.get_mut(at..at + 4) {
            dst.copy_from_slice(&bytes);
        }
    }
}
