//! Namespaces for the exec-in-place shape: one `unshare` of every requested namespace, then
//! (in a new user namespace) `setgroups` "deny" and the single self-mapping only this process
//! may write for itself. Also the UTS names, set once the new UTS namespace exists.

use forkexec_spec::decode::IdMap;
use forkexec_spec::layout::{ns, opt};
use forkexec_spec::{Location, Spec};

use crate::rt::Static;
use crate::{dumpable, sys, text, At, Failure};

/// JOIN_NS, before any namespace is created: the user namespace (the new ones are then its
/// own), and the pid namespace the clone is born in (or, with `newpid`, below).
pub fn join_namespaces(spec: &Spec) -> Result<(), Failure> {
    let Some(join) = spec.join_ns else {
        return Ok(());
    };
    for (index, fd, nstype) in [(0, join.user, ns::NEWUSER), (1, join.pid, ns::NEWPID)] {
        if let Some(fd) = fd {
            sys::setns(fd as i32, nstype).at_index(Location::SetNs, index)?;
        }
    }
    Ok(())
}

pub fn unshare_namespaces(spec: &Spec) -> Result<(), Failure> {
    if spec.clone_flags == 0 {
        return Ok(());
    }
    sys::unshare(spec.clone_flags).at(Location::Unshare)?;
    if spec.clone_flags & ns::NEWUSER != 0 {
        // Our own /proc/self/uid_map belongs to root while we are non-dumpable.
        dumpable::on_for_maps()?;
        write_id_maps(spec, None)?;
        dumpable::off_after_maps()?;
        limit_user_namespaces(spec)?;
    }
    Ok(())
}

/// LOOPBACK: `lo` of the new network namespace up, as bubblewrap's `--unshare-net` does; the
/// kernel gives it 127.0.0.1/8 and ::1 as it comes up.
pub fn loopback_up(spec: &Spec) -> Result<(), Failure> {
    if !spec.has(opt::LOOPBACK) {
        return Ok(());
    }
    let fd = sys::ioctl_socket().at_index(Location::Loopback, 0)?;
    let up = sys::set_link_up(fd, b"lo");
    let _ = sys::close(fd);
    up.at_index(Location::Loopback, 1).map(drop)
}

/// Writes the id maps of this process (`None`, exec in place) or of a cloned target (from
/// outside, which may write any map the helper's own privilege allows). `setgroups` is denied
/// unless asked otherwise (as go-sandbox does without gid mappings, and as the kernel requires
/// before an unprivileged gid map).
pub fn write_id_maps(spec: &Spec, pid: Option<i32>) -> Result<(), Failure> {
    let deny = !spec.has(opt::GID_MAPPINGS_ENABLE_SETGROUPS);
    write_maps(ProcPath::new(pid), deny, spec.uid_map, spec.gid_map, 0)
}

/// `setgroups` ("deny", when asked), `uid_map`, `gid_map`, in the order the kernel requires;
/// a failure is at `index` of their locations.
fn write_maps(
    mut path: ProcPath,
    deny: bool,
    uid: Option<IdMap>,
    gid: Option<IdMap>,
    index: usize,
) -> Result<(), Failure> {
    if deny {
        write_file(path.file(b"setgroups"), b"deny").at_index(Location::WriteSetgroups, index)?;
    }
    if let Some(map) = uid {
        write_file(
            path.file(b"uid_map"),
            format_map(map, &mut [0; MAP_ON_STACK * 33]),
        )
        .at_index(Location::WriteUidMap, index)?;
    }
    if let Some(map) = gid {
        write_file(
            path.file(b"gid_map"),
            format_map(map, &mut [0; MAP_ON_STACK * 33]),
        )
        .at_index(Location::WriteGidMap, index)?;
    }
    Ok(())
}

/// `/proc/self/NAME` or `/proc/PID/NAME`, NUL-terminated, without an allocator.
pub struct ProcPath {
    buf: [u8; 40],
    dir_len: usize,
}

impl ProcPath {
    pub fn new(pid: Option<i32>) -> Self {
        let mut buf = [0u8; 40];
        let mut digits = [0u8; 10];
        let dir: &[u8] = match pid {
            Some(pid) => text::decimal(pid as u32, &mut digits),
            None => b"self",
        };
        buf[..6].copy_from_slice(b"/proc/");
        buf[6..6 + dir.len()].copy_from_slice(dir);
        buf[6 + dir.len()] = b'/';
        ProcPath {
            buf,
            dir_len: 7 + dir.len(),
        }
    }

    fn file(&mut self, name: &[u8]) -> &core::ffi::CStr {
        self.file_in(b"", name)
    }

    /// `/proc/…/ns/NAME`.
    pub fn ns_file(&mut self, name: &[u8]) -> &core::ffi::CStr {
        self.file_in(b"ns/", name)
    }

    fn file_in(&mut self, dir: &[u8], name: &[u8]) -> &core::ffi::CStr {
        let start = self.dir_len + dir.len();
        let end = start + name.len();
        self.buf[self.dir_len..start].copy_from_slice(dir);
        self.buf[start..end].copy_from_slice(name);
        self.buf[end] = 0;
        core::ffi::CStr::from_bytes_until_nul(&self.buf).unwrap_or(c"/proc/self/")
    }
}

/// The id map's text (the core's `id_map_text`, at most 340 lines of 33 bytes).
static MAP_TEXT: Static<[u8; text::MAP_TEXT_LEN]> = Static::new([0; text::MAP_TEXT_LEN]);

/// A map of up to this many entries is formatted on the stack (a page touched already), not
/// in the static buffer (a page fault more).
const MAP_ON_STACK: usize = 4;

fn format_map<'b>(map: IdMap, small: &'b mut [u8; MAP_ON_STACK * 33]) -> &'b [u8] {
    let out: &mut [u8] = if map.len() <= MAP_ON_STACK {
        small
    } else {
        MAP_TEXT.get()
    };
    let len = text::id_map_text(map, out);
    &out[..len]
}

/// The whole map in one `write`, as the kernel requires.
fn write_file(path: &core::ffi::CStr, content: &[u8]) -> sys::Result {
    let fd = sys::open(path, linux_raw_sys::general::O_WRONLY)?;
    let written = sys::write(fd, content);
    let _ = sys::close(fd);
    written
}

/// After the mounts: the UTS names, then the second user namespace of JOIN_NS or the nested
/// one of DISABLE_USERNS (after which the mount and UTS namespaces may no longer be the
/// target's to change), then the check that no user namespace can be created.
pub fn after_mounts(spec: &Spec) -> Result<(), Failure> {
    if let Some(name) = spec.host_name {
        sys::sethostname(name).at(Location::SetHostName)?;
    }
    if let Some(name) = spec.domain_name {
        sys::setdomainname(name).at(Location::SetDomainName)?;
    }
    if let Some(fd) = spec.join_ns.and_then(|j| j.user2) {
        sys::setns(fd as i32, ns::NEWUSER).at_index(Location::SetNs, 2)?;
    }
    if spec.has(opt::DISABLE_USERNS) {
        nest_user_namespace()?;
    }
    // A user namespace created here is never used: the start fails at once.
    if spec.has(opt::DISABLE_USERNS | opt::ASSERT_USERNS_DISABLED)
        && sys::unshare(ns::NEWUSER).is_ok()
    {
        return Err(Failure::new(
            Location::AssertUsernsDisabled,
            sys::Errno(0),
            0,
        ));
    }
    Ok(())
}

/// DISABLE_USERNS, first thing in the new user namespace, while the host's `/proc` is still
/// there: its `user.max_user_namespaces` becomes 1. The kernel counts every user namespace
/// created below it against that limit, and only a process in it may change it.
pub fn limit_user_namespaces(spec: &Spec) -> Result<(), Failure> {
    if spec.has(opt::DISABLE_USERNS) {
        write_file(c"/proc/sys/user/max_user_namespaces", b"1").at(Location::MaxUserNamespaces)?;
    }
    Ok(())
}

/// DISABLE_USERNS after the mounts: the target enters a user namespace below the limited one,
/// which uses the limit up and leaves the sysctl out of its reach. Its ids are mapped to
/// themselves, and setgroups is denied (as the kernel requires for such a gid map).
fn nest_user_namespace() -> Result<(), Failure> {
    let (uid, gid) = (self_map(sys::geteuid()), self_map(sys::getegid()));
    sys::unshare(ns::NEWUSER).at_index(Location::Unshare, 2)?;
    dumpable::on_for_maps()?;
    let (uid, gid) = (IdMap::from_payload(&uid), IdMap::from_payload(&gid));
    write_maps(ProcPath::new(None), true, Some(uid), Some(gid), 1)?;
    dumpable::off_after_maps()
}

/// The id mapped to itself, as a UID_MAP entry (container id, host id, size 1).
fn self_map(id: u32) -> [u8; 12] {
    let mut entry = [1u8; 12];
    entry[..4].copy_from_slice(&id.to_le_bytes());
    entry[4..8].copy_from_slice(&id.to_le_bytes());
    entry[8..].copy_from_slice(&1u32.to_le_bytes());
    entry
}
