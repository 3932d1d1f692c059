//! A failed start's errno, explained: what the host's settings, the spec and the files say
//! about why the step failed, and the fix, printed under the error line as `why:` and `fix:`
//! (only when there is more to say than the errno's own text).
//!
//! The same knowledge as `forkexec-run check` ([`crate::check::Host`]): `clone(0)` /
//! `unshare(0)` ENOSPC is a namespace limit, EPERM a setting that refuses user namespaces;
//! `execve` ENOENT for a file that is in the sandbox is its ELF (or `#!`) interpreter that is
//! not; and so on.

use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use forkexec_client::{ChildError, Location, MountEntry, MountKind, Namespace, Resource, Spec};

use crate::assemble::host_view;
use crate::check::{errno_name, read_number, Host};

/// Why a step failed and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub why: String,
    pub fix: String,
}

impl Explanation {
    fn new(why: impl Into<String>, fix: impl Into<String>) -> Option<Explanation> {
        Some(Explanation {
            why: why.into(),
            fix: fix.into(),
        })
    }

    /// The two lines printed under the error line (each starting with a newline).
    pub fn render(&self) -> String {
        format!("\n  why: {}\n  fix: {}", self.why, self.fix)
    }
}

/// The explanation of `e` for a start of `spec`, if the host, the spec or the files say more
/// than the errno.
pub fn explain(e: &ChildError, spec: &Spec) -> Option<Explanation> {
    let host = Host::read();
    let errno = e.errno();
    match e.location()? {
        Location::Clone | Location::Unshare if e.index() == 0 => namespaces(errno, spec, &host),
        Location::WriteUidMap | Location::WriteGidMap | Location::WriteSetgroups
            if errno == libc::EPERM =>
        {
            id_maps(e.location()?, spec, &host)
        }
        Location::SetGroups if errno == libc::EPERM && has(spec, Namespace::NewUser) => {
            Explanation::new(
                "in a user namespace whose gid map an ordinary user wrote, setgroups is denied \
                 (the kernel requires setgroups \"deny\" before such a map)",
                "leave the supplementary groups out of the credential, or run forkexec-run as \
                 root (forkexec-run check: setgroups)",
            )
        }
        Location::Mount
        | Location::MountRoot
        | Location::MountTmpfs
        | Location::PivotRoot
        | Location::MountPath
            if errno == libc::EPERM
                && !host.is_root()
                && host.apparmor_restrict_userns == Some(1) =>
        {
            let (why, fix) = host.userns_refusal(libc::EPERM)?;
            Explanation::new(why, fix)
        }
        Location::MountPath | Location::MountMkdir => refused_mount_op(e, spec),
        Location::Execve => execve(errno, spec),
        Location::SetRlimit if errno == libc::EPERM => rlimit(e.index() as usize, spec, &host),
        Location::Cgroup => cgroup(errno, e.index(), spec),
        Location::Seccomp if errno == libc::EINVAL => Explanation::new(
            "this kernel has no seccomp filters (CONFIG_SECCOMP_FILTER), or the filter is \
             longer than the kernel takes (4096 instructions)",
            "run without --seccomp, or with a shorter policy",
        ),
        Location::Seccomp if errno == libc::EACCES => Explanation::new(
            "loading a filter without no_new_privs needs CAP_SYS_ADMIN",
            "add --no-new-privs (\"no_new_privs\": true)",
        ),
        Location::AssertUsernsDisabled => Explanation::new(
            "--assert-userns-disabled: the program could still create a user namespace \
             (creating one after the setup succeeded)",
            "add --disable-userns (\"disable_userns\": true), or run it where user \
             namespaces are disabled",
        ),
        Location::MaxUserNamespaces => Explanation::new(
            "--disable-userns sets user.max_user_namespaces to 1 through /proc/sys of the \
             program's new user namespace, which needs a writable /proc and CAP_SYS_RESOURCE \
             in that namespace",
            "run it where /proc/sys is writable (not inside a sandbox with a read-only /proc), \
             or without --disable-userns",
        ),
        _ => None,
    }
}

/// The mount operations the helper refuses rather than half do: a mask through a symlink,
/// a file operation onto something that is not a regular file.
fn refused_mount_op(e: &ChildError, spec: &Spec) -> Option<Explanation> {
    let MountEntry::Op(op) = spec.mounts.get(e.index() as usize)? else {
        return None;
    };
    match (e.location()?, e.errno(), op.kind) {
        (Location::MountPath, libc::ELOOP, MountKind::Mask) => Explanation::new(
            "a --mask target must not lead through a symlink: /proc/net or /proc/mounts go \
             through /proc/self, so only the setup process's own copy would be hidden",
            "mask what the program reaches without a symlink, or use a namespace instead \
             (--unshare-net for /proc/net)",
        ),
        (Location::MountMkdir, libc::EINVAL, MountKind::File) => Explanation::new(
            "the target exists and is not a regular file (a FIFO, device or socket): writing \
             it could hang the start or feed whoever reads it",
            "write the file somewhere else, or remove what is there",
        ),
        _ => None,
    }
}

fn has(spec: &Spec, ns: Namespace) -> bool {
    spec.clone_flags.contains(&ns)
}

/// `clone(0)` / `unshare(0)`: the namespaces could not be made.
fn namespaces(errno: i32, spec: &Spec, host: &Host) -> Option<Explanation> {
    let kinds: [(Namespace, &str, &str); 7] = [
        (Namespace::NewUser, "user", "user"),
        (Namespace::NewNs, "mnt", "mount"),
        (Namespace::NewPid, "pid", "pid"),
        (Namespace::NewNet, "net", "net"),
        (Namespace::NewIpc, "ipc", "ipc"),
        (Namespace::NewUts, "uts", "uts"),
        (Namespace::NewCgroup, "cgroup", "cgroup"),
    ];
    let asked: Vec<_> = kinds.iter().filter(|(ns, _, _)| has(spec, *ns)).collect();
    match errno {
        libc::ENOSPC => {
            // A limit of 0 names the culprit; else the user namespace limit is the usual one.
            for (_, proc_name, name) in &asked {
                let sysctl = format!("user.max_{proc_name}_namespaces");
                if read_number(&format!("/proc/sys/user/max_{proc_name}_namespaces")) == Some(0) {
                    return Explanation::new(
                        format!(
                            "the namespace limit: {sysctl} is 0, so no {name} namespace can \
                             be made"
                        ),
                        format!(
                            "as root: sysctl -w {sysctl}=15000 (a file in /etc/sysctl.d/ \
                             keeps it)"
                        ),
                    );
                }
            }
            if has(spec, Namespace::NewUser) {
                let (why, fix) = host.userns_refusal(libc::ENOSPC)?;
                return Explanation::new(format!("the namespace limit: {why}"), fix);
            }
            Explanation::new(
                "the namespace limit: a user.max_*_namespaces limit is reached, or a pid \
                 namespace would nest deeper than 32",
                "raise the limit (sysctl user.max_*_namespaces), or nest less",
            )
        }
        libc::EPERM if !host.is_root() && !has(spec, Namespace::NewUser) => Explanation::new(
            "an ordinary user can make namespaces only together with a user namespace",
            "add \"newuser\" to \"clone_flags\" (forkexec-run adds it for its own flags, \
             a --spec file must say it)",
        ),
        libc::EPERM | libc::EUSERS | libc::EINVAL if has(spec, Namespace::NewUser) => {
            if errno == libc::EINVAL {
                if let Some(x) = missing_namespace(&asked) {
                    return Some(x);
                }
            }
            let (why, fix) = host.userns_refusal(errno)?;
            Explanation::new(why, format!("{fix} (forkexec-run check tells more)"))
        }
        libc::EINVAL => missing_namespace(&asked),
        _ => None,
    }
}

/// A namespace type this kernel does not have (no /proc/self/ns entry).
fn missing_namespace(asked: &[&(Namespace, &str, &str)]) -> Option<Explanation> {
    let (_, proc_name, name) = asked
        .iter()
        .find(|(_, proc_name, _)| !Path::new(&format!("/proc/self/ns/{proc_name}")).exists())?;
    Explanation::new(
        format!("this kernel has no {name} namespaces (no /proc/self/ns/{proc_name})"),
        format!("leave the {name} namespace out, or use a kernel built with it"),
    )
}

/// The id maps (or setgroups "deny") were refused.
fn id_maps(location: Location, spec: &Spec, host: &Host) -> Option<Explanation> {
    if !host.is_root() && host.apparmor_restrict_userns == Some(1) {
        let (why, fix) = host.userns_refusal(libc::EPERM)?;
        return Explanation::new(why, fix);
    }
    if host.is_root() || location == Location::WriteSetgroups {
        return None;
    }
    let (maps, own, what) = if location == Location::WriteUidMap {
        (&spec.uid_mappings, host.euid, "uid")
    } else {
        (&spec.gid_mappings, host.egid, "gid")
    };
    let own_only = maps.len() == 1 && maps[0].host_id == own && maps[0].size == 1;
    if own_only {
        return None;
    }
    let listed: Vec<String> = maps
        .iter()
        .map(|m| {
            let unit = if m.size == 1 { "id" } else { "ids" };
            format!(
                "host {} to {} ({} {unit})",
                m.host_id, m.container_id, m.size
            )
        })
        .collect();
    Explanation::new(
        format!(
            "an ordinary user may map only its own {what} ({own}), one id; the spec maps {}",
            listed.join(", ")
        ),
        format!(
            "map only your own {what} (--uid/--gid choose the id inside), or run \
             forkexec-run as root"
        ),
    )
}

/// The program that failed: `exec_path`, else `args[0]`, made absolute against the working
/// directory the sandbox gives it.
fn program(spec: &Spec) -> Option<PathBuf> {
    let path = spec.exec_path.clone().or_else(|| {
        spec.exec_file
            .is_none()
            .then(|| spec.args.first().cloned())?
    })?;
    let p = PathBuf::from(&path);
    Some(if p.is_absolute() {
        p
    } else {
        let dir = if spec.work_dir.is_empty() {
            if spec.pivot_root.is_empty() {
                std::env::current_dir().ok()?
            } else {
                PathBuf::from("/")
            }
        } else {
            PathBuf::from(&spec.work_dir)
        };
        dir.join(p)
    })
}

/// Where `path` (as the program sees it) leads in the sandbox, symlinks followed inside it:
/// `Ok(host path)` of what is there, or `Err(sandbox path)` of the first part that is not.
pub fn resolve_in_sandbox(spec: &Spec, path: &Path) -> Result<PathBuf, PathBuf> {
    let mut todo: Vec<String> = Vec::new();
    push_components(&mut todo, path);
    let mut cur = PathBuf::from("/");
    let mut hops = 0;
    while let Some(c) = todo.pop() {
        match c.as_str() {
            "." => continue,
            ".." => {
                cur.pop();
                continue;
            }
            _ => {}
        }
        let next = cur.join(&c);
        let Some(host) = host_view(spec, &next) else {
            // A directory the helper made for a mount below it, or nothing.
            if is_mount_parent(spec, &next) {
                cur = next;
                continue;
            }
            return Err(next);
        };
        let Ok(meta) = fs::symlink_metadata(&host) else {
            return Err(next);
        };
        if meta.file_type().is_symlink() && hops < 40 {
            hops += 1;
            let Ok(target) = fs::read_link(&host) else {
                return Err(next);
            };
            if target.is_absolute() {
                cur = PathBuf::from("/");
            }
            push_components(&mut todo, &target);
        } else {
            cur = next;
        }
    }
    host_view(spec, &cur).ok_or(cur)
}

/// Pushes `path`'s components onto a stack, so that the first pops first.
fn push_components(todo: &mut Vec<String>, path: &Path) {
    let parts: Vec<String> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    todo.extend(parts.into_iter().rev());
}

/// Whether a mount of the new root lies below `dir` (so the helper made `dir`).
fn is_mount_parent(spec: &Spec, dir: &Path) -> bool {
    !spec.pivot_root.is_empty()
        && spec.mounts.iter().any(|m: &MountEntry| {
            let t = Path::new("/").join(m.target().trim_start_matches('/'));
            t.starts_with(dir) && t != dir
        })
}

/// The interpreter a file asks for: an ELF's PT_INTERP or a script's `#!` program.
fn interpreter(host_path: &Path) -> Option<(String, &'static str)> {
    let mut f = fs::File::open(host_path).ok()?;
    let mut head = vec![0u8; 4096];
    let n = f.read(&mut head).ok()?;
    head.truncate(n);
    if let Some(rest) = head.strip_prefix(b"#!") {
        let line = rest.split(|&b| b == b'\n').next()?;
        let text = String::from_utf8_lossy(line);
        let prog = text.split_whitespace().next()?;
        return Some((prog.to_string(), "#! interpreter"));
    }
    elf_interp(&head, &mut f).map(|p| (p, "ELF interpreter"))
}

/// PT_INTERP of a little-endian ELF file (32 or 64 bit).
fn elf_interp(head: &[u8], f: &mut fs::File) -> Option<String> {
    use std::io::{Seek, SeekFrom};
    if head.len() < 52 || &head[..4] != b"\x7fELF" || head[5] != 1 {
        return None;
    }
    let u16_at = |b: &[u8], at: usize| u16::from_le_bytes([b[at], b[at + 1]]) as u64;
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as u64;
    let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let wide = head[4] == 2;
    let (phoff, phentsize, phnum) = if wide {
        if head.len() < 64 {
            return None;
        }
        (u64_at(head, 32), u16_at(head, 54), u16_at(head, 56))
    } else {
        (u32_at(head, 28), u16_at(head, 42), u16_at(head, 44))
    };
    if phnum > 256 || !(32..=64).contains(&phentsize) {
        return None;
    }
    let mut table = vec![0u8; (phentsize * phnum) as usize];
    f.seek(SeekFrom::Start(phoff)).ok()?;
    f.read_exact(&mut table).ok()?;
    for ph in table.chunks(phentsize as usize) {
        if u32_at(ph, 0) != 3 {
            continue; // not PT_INTERP
        }
        let (offset, size) = if wide {
            (u64_at(ph, 8), u64_at(ph, 32))
        } else {
            (u32_at(ph, 4), u32_at(ph, 16))
        };
        if size == 0 || size > 4096 {
            return None;
        }
        let mut name = vec![0u8; size as usize];
        f.seek(SeekFrom::Start(offset)).ok()?;
        f.read_exact(&mut name).ok()?;
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        return Some(String::from_utf8_lossy(&name[..end]).into_owned());
    }
    None
}

/// The bind flag that makes `missing` (a sandbox path) visible: its top directory.
fn bind_hint(missing: &Path) -> String {
    let top = missing
        .components()
        .find_map(|c| match c {
            Component::Normal(s) => Some(Path::new("/").join(s)),
            _ => None,
        })
        .unwrap_or_else(|| PathBuf::from("/"));
    format!("--ro-bind {0} {0}", top.display())
}

fn execve(errno: i32, spec: &Spec) -> Option<Explanation> {
    let prog = program(spec)?;
    match errno {
        libc::ENOENT => match resolve_in_sandbox(spec, &prog) {
            Ok(host) if host.is_file() => {
                let (interp, what) = interpreter(&host)?;
                match resolve_in_sandbox(spec, Path::new(&interp)) {
                    Ok(_) => None,
                    Err(missing) => {
                        let via = if !Path::new(&interp).starts_with(&missing) {
                            format!(" (it leads to {}, which is not)", missing.display())
                        } else {
                            String::new()
                        };
                        Explanation::new(
                            format!(
                                "{} is in the sandbox, but its {what} {interp} is not{via}",
                                prog.display()
                            ),
                            if spec.pivot_root.is_empty() {
                                format!(
                                    "install {interp} (the program was built for another \
                                     system), or run it with an interpreter that exists"
                                )
                            } else {
                                format!("make it visible, e.g. {}", bind_hint(&missing))
                            },
                        )
                    }
                }
            }
            Ok(_) => None,
            Err(missing) if !spec.pivot_root.is_empty() && prog.exists() => Explanation::new(
                format!(
                    "{} exists on the host but not in the sandbox: no mount makes {} visible",
                    prog.display(),
                    missing.display()
                ),
                format!("bind it, e.g. {}", bind_hint(&missing)),
            ),
            Err(_) => None,
        },
        libc::EACCES => {
            let host = resolve_in_sandbox(spec, &prog).ok()?;
            let meta = fs::metadata(&host).ok()?;
            if meta.mode() & 0o111 == 0 || !meta.is_file() {
                return None;
            }
            let noexec = statvfs_noexec(&host) || mounted_noexec(spec, &prog);
            if noexec {
                Explanation::new(
                    format!(
                        "{} is executable, but the file system it is on is mounted noexec",
                        prog.display()
                    ),
                    "run it from a mount without noexec (a bind of its directory, or a tmpfs \
                     without noexec)",
                )
            } else {
                Explanation::new(
                    format!(
                        "{} is executable, but the sandbox's user cannot reach it: a \
                         directory on the way is not searchable for that uid",
                        prog.display()
                    ),
                    "make the directories searchable (chmod o+x), or run with an --uid that \
                     may enter them",
                )
            }
        }
        _ => None,
    }
}

/// Whether the host file system holding `path` is mounted noexec.
fn statvfs_noexec(path: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: statvfs with a NUL-terminated path into a local struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    unsafe { libc::statvfs(c.as_ptr(), &mut st) == 0 && st.f_flag & libc::ST_NOEXEC != 0 }
}

/// Whether the spec's last mount covering `path` is a proc (mounted noexec by the helper).
fn mounted_noexec(spec: &Spec, path: &Path) -> bool {
    spec.mounts.iter().rev().any(|m| {
        let t = Path::new("/").join(m.target().trim_start_matches('/'));
        path.starts_with(&t)
            && m.as_op()
                .is_some_and(|op| op.kind == forkexec_client::MountKind::Proc)
    })
}

fn rlimit(index: usize, spec: &Spec, host: &Host) -> Option<Explanation> {
    let r = spec.rlimits.get(index)?;
    let mut current = libc::rlimit64 {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit64 into a local.
    if unsafe { libc::getrlimit64(r.resource.value() as _, &mut current) } != 0 {
        return None;
    }
    let name = r.resource.name();
    if r.resource == Resource::Nofile {
        if let Some(nr_open) = read_number("/proc/sys/fs/nr_open") {
            if r.max > nr_open {
                return Explanation::new(
                    format!(
                        "nofile {} is above the kernel's fs.nr_open = {nr_open}",
                        r.max
                    ),
                    format!(
                        "ask for at most {nr_open}, or (as root) sysctl -w fs.nr_open={}",
                        r.max
                    ),
                );
            }
        }
    }
    if r.cur > r.max {
        return None; // the spec check refuses it before the helper runs
    }
    if !has_capability(CAP_SYS_RESOURCE) && r.max > current.rlim_max {
        return Explanation::new(
            format!(
                "raising the hard {name} limit above its current {} needs CAP_SYS_RESOURCE, \
                 which forkexec-run does not have{}",
                limit_text(current.rlim_max),
                if host.is_root() {
                    " (this root runs without it)"
                } else {
                    ""
                }
            ),
            format!(
                "ask for at most {} (`ulimit -H` shows it), or run forkexec-run with \
                 CAP_SYS_RESOURCE (as root)",
                limit_text(current.rlim_max)
            ),
        );
    }
    None
}

const CAP_SYS_RESOURCE: u32 = 24;

/// Whether this process has the capability in its effective set (/proc/self/status).
pub fn has_capability(cap: u32) -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let hex = s
                .lines()
                .find_map(|l| l.strip_prefix("CapEff:"))?
                .trim()
                .to_string();
            u64::from_str_radix(&hex, 16).ok()
        })
        .is_some_and(|bits| bits & (1 << cap) != 0)
}

fn limit_text(v: u64) -> String {
    if v == libc::RLIM64_INFINITY {
        "unlimited".into()
    } else {
        v.to_string()
    }
}

const CGROUP_SUPER_MAGIC: i64 = 0x27e0eb;
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// The file system type of `path` (statfs magic).
fn fs_magic(path: &Path) -> Option<i64> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: statfs with a NUL-terminated path into a local struct.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    (unsafe { libc::statfs(c.as_ptr(), &mut st) } == 0).then_some(st.f_type as i64)
}

fn cgroup(errno: i32, index: u32, spec: &Spec) -> Option<Explanation> {
    if spec.cgroup.is_empty() {
        return None;
    }
    let dir = Path::new(&spec.cgroup);
    let magic = fs_magic(dir);
    if !matches!(magic, Some(CGROUP_SUPER_MAGIC) | Some(CGROUP2_SUPER_MAGIC)) {
        if errno == libc::ENOENT && index == 0 && magic.is_none() {
            return Explanation::new(
                format!("{} does not exist", dir.display()),
                "make it first: mkdir under a cgroup hierarchy (forkexec-run check lists \
                 them), e.g. /sys/fs/cgroup/unified/NAME",
            );
        }
        return Explanation::new(
            format!(
                "{} is not a cgroup: it is not on a cgroup file system",
                dir.display()
            ),
            "give a directory under a mounted cgroup hierarchy (forkexec-run check lists them)",
        );
    }
    match errno {
        libc::EACCES | libc::EPERM => {
            let owner = fs::metadata(dir.join("cgroup.procs"))
                .map(|m| {
                    format!(
                        " (cgroup.procs: owner uid {}, mode {:o})",
                        m.uid(),
                        m.mode() & 0o777
                    )
                })
                .unwrap_or_default();
            Explanation::new(
                format!(
                    "{} is not delegated to this user: it may not write its cgroup.procs{owner}{}",
                    dir.display(),
                    if magic == Some(CGROUP2_SUPER_MAGIC) {
                        ", nor (cgroup v2) the cgroup.procs of the common ancestor of its \
                         current cgroup and this one"
                    } else {
                        ""
                    }
                ),
                "as root, chown the cgroup (and its cgroup.procs) to the user, or use one \
                 delegated to it (forkexec-run check: cgroup delegation)",
            )
        }
        libc::EBUSY | libc::EOPNOTSUPP if magic == Some(CGROUP2_SUPER_MAGIC) => Explanation::new(
            format!(
                "cgroup v2 puts processes only in leaves: {} has controllers enabled for \
                     its children (cgroup.subtree_control), or is a threaded cgroup",
                dir.display()
            ),
            "use a child cgroup of it (a leaf) instead",
        ),
        libc::ENOENT => Explanation::new(
            format!(
                "{} has no cgroup.procs: it was removed, or is not a cgroup",
                dir.display()
            ),
            "give an existing cgroup directory",
        ),
        e => Explanation::new(
            format!("entering {} fails with {}", dir.display(), errno_name(e)),
            "see forkexec-run check: cgroups",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use forkexec_client::MountOp;

    fn sandbox(mounts: Vec<MountOp>) -> Spec {
        let mut s = Spec::new(["/usr/bin/prog"]);
        s.pivot_root = "/tmp/forkexec-root".into();
        s.mounts = mounts.into_iter().map(Into::into).collect();
        s
    }

    #[test]
    fn paths_resolve_through_binds_and_the_sandboxs_own_symlinks() {
        let dir = std::env::temp_dir().join(format!("forkexec-explain-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("lib")).unwrap();
        fs::write(dir.join("lib/ld.so"), "x").unwrap();
        std::os::unix::fs::symlink("/lib/ld.so", dir.join("lib64")).unwrap();
        let d = dir.display().to_string();
        let tree = sandbox(vec![MountOp::ro_bind(d.clone(), "/sys-root")]);
        assert_eq!(
            resolve_in_sandbox(&tree, Path::new("/sys-root/lib/ld.so")),
            Ok(dir.join("lib/ld.so"))
        );
        // The link's absolute text is read inside the sandbox, where /lib is missing.
        assert_eq!(
            resolve_in_sandbox(&tree, Path::new("/sys-root/lib64")),
            Err(PathBuf::from("/lib"))
        );
        // A directory the helper made for a deeper mount exists; nothing else does.
        let deep = sandbox(vec![MountOp::ro_bind(d.clone(), "/a/b")]);
        assert_eq!(
            resolve_in_sandbox(&deep, Path::new("/a/b/lib/../lib/ld.so")),
            Ok(dir.join("lib/ld.so"))
        );
        assert_eq!(
            resolve_in_sandbox(&deep, Path::new("/a/c")),
            Err(PathBuf::from("/a/c"))
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn user_namespaces_not_disabled() {
        let spec = Spec::new(["/bin/true"]);
        let e = ChildError::new(Location::AssertUsernsDisabled as u32, 0, 0, 0);
        let x = explain(&e, &spec).unwrap();
        assert!(x.fix.contains("--disable-userns"), "{x:?}");
        let e = ChildError::new(Location::MaxUserNamespaces as u32, libc::EROFS, 0, 0);
        let x = explain(&e, &spec).unwrap();
        assert!(x.why.contains("user.max_user_namespaces"), "{x:?}");
    }

    fn user() -> Host {
        Host {
            euid: 1000,
            egid: 1000,
            max_user_namespaces: Some(100),
            ..Host::default()
        }
    }

    #[test]
    fn namespace_refusals() {
        let mut spec = Spec::new(["/bin/true"]);
        spec.clone_flags = vec![Namespace::NewNs];
        let x = namespaces(libc::EPERM, &spec, &user()).unwrap();
        assert!(
            x.why.contains("only together with a user namespace"),
            "{x:?}"
        );
        assert!(namespaces(libc::EPERM, &spec, &Host::default()).is_none());
        spec.clone_flags.push(Namespace::NewUser);
        let mut host = user();
        host.unprivileged_userns_clone = Some(0);
        let x = namespaces(libc::EPERM, &spec, &host).unwrap();
        assert!(
            x.why.contains("kernel.unprivileged_userns_clone is 0"),
            "{x:?}"
        );
        assert!(x.fix.contains("forkexec-run check"), "{x:?}");
        let x = namespaces(libc::ENOSPC, &spec, &user()).unwrap();
        assert!(
            x.why
                .contains("limit is reached: user.max_user_namespaces = 100"),
            "{x:?}"
        );
        assert!(namespaces(libc::EBADF, &spec, &user()).is_none());
    }

    #[test]
    fn id_map_refusals() {
        let mut spec = Spec::new(["/bin/true"]);
        spec.uid_mappings = vec![forkexec_client::IdMap {
            container_id: 0,
            host_id: 0,
            size: 1,
        }];
        let x = id_maps(Location::WriteUidMap, &spec, &user()).unwrap();
        assert!(
            x.why
                .contains("only its own uid (1000), one id; the spec maps host 0 to 0 (1 id)"),
            "{x:?}"
        );
        spec.uid_mappings[0].host_id = 1000;
        assert!(id_maps(Location::WriteUidMap, &spec, &user()).is_none());
        spec.uid_mappings[0].size = 5;
        let x = id_maps(Location::WriteUidMap, &spec, &user()).unwrap();
        assert!(x.why.contains("host 1000 to 0 (5 ids)"), "{x:?}");
        assert!(id_maps(Location::WriteUidMap, &spec, &Host::default()).is_none());
    }

    #[test]
    fn interpreters_of_elf_files_and_scripts() {
        // This test binary is a dynamically linked ELF file with an interpreter.
        let exe = std::env::current_exe().unwrap();
        let (interp, what) = interpreter(&exe).unwrap();
        assert_eq!(what, "ELF interpreter");
        assert!(
            interp.contains("ld-linux") || interp.contains("ld-musl"),
            "{interp}"
        );
        let dir = std::env::temp_dir().join(format!("forkexec-interp-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let script = dir.join("s");
        fs::write(&script, "#!/opt/python3 -u\nprint(1)\n").unwrap();
        assert_eq!(
            interpreter(&script),
            Some(("/opt/python3".to_string(), "#! interpreter"))
        );
        fs::write(&script, "plain text").unwrap();
        assert_eq!(interpreter(&script), None);
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            bind_hint(Path::new("/lib64/ld.so")),
            "--ro-bind /lib64 /lib64"
        );
    }
}
