//! From the command line to a [`Spec`]: the base (`--spec FILE` or an empty spec with the
//! caller's environment), then each flag with what it implies (see `--help`, "HOW THE FLAGS
//! BUILD THE SPEC", and docs/cli.md).

use std::fs;
use std::io::Read;
use std::os::fd::RawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use clap::ArgMatches;
use forkexec_client::spec::{parse_mode, parse_size};
use forkexec_client::{
    Credential, IdMap, MountEntry, MountFlag, MountKind, MountOp, Namespace, Rlimit, Spec,
};
use forkexec_policy::Policy;

use crate::cli::{Cli, RlimitArg};
use crate::{defaults, Fail};

/// `execvp`'s search path when the environment has no `PATH` (glibc's `_CS_PATH`).
const DEFAULT_PATH: &str = "/bin:/usr/bin";

/// The caller's effective ids, which decide the user-namespace rules.
#[derive(Clone, Copy, Debug)]
pub struct Ids {
    pub euid: u32,
    pub egid: u32,
}

impl Ids {
    pub fn current() -> Ids {
        // SAFETY: geteuid and getegid cannot fail.
        unsafe {
            Ids {
                euid: libc::geteuid(),
                egid: libc::getegid(),
            }
        }
    }
}

/// A filesystem flag as given, before it becomes one or more [`MountOp`]s (or, for `--size`
/// and `--perms`, changes the next one).
#[derive(Debug)]
enum MountArg {
    Bind {
        flag: &'static str,
        src: String,
        dst: String,
        read_only: bool,
        optional: bool,
        dev: bool,
    },
    /// `FD DST` flags: `--bind-fd`, `--file`, `--bind-data` and their read-only forms.
    Fd {
        flag: &'static str,
        fd: String,
        dst: String,
        make: fn(RawFd, String) -> MountOp,
        read_only: bool,
    },
    /// `--tmpfs`, `--proc`, `--dev`, `--mqueue`, `--dir`, `--remount-ro`, `--mask`.
    Simple(MountKind, String),
    Symlink(String, String),
    WriteFile(String, String),
    Size(String),
    Perms(String),
}

/// An environment flag, applied in command-line order.
#[derive(Debug)]
enum EnvArg {
    Set(String, String),
    Unset(String),
}

/// Each occurrence of flag `id` with the position of its first value.
fn occurrences(m: &ArgMatches, id: &str) -> Vec<(usize, Vec<String>)> {
    let Some(occurrences) = m.get_occurrences::<String>(id) else {
        return Vec::new();
    };
    let indices: Vec<usize> = m.indices_of(id).map(Iterator::collect).unwrap_or_default();
    let mut out = Vec::new();
    let mut at = 0;
    for values in occurrences {
        let values: Vec<String> = values.cloned().collect();
        out.push((
            indices.get(at).copied().unwrap_or(usize::MAX),
            values.clone(),
        ));
        at += values.len();
    }
    out
}

/// Every filesystem flag, in command-line order.
fn mount_args(m: &ArgMatches) -> Vec<MountArg> {
    let mut all: Vec<(usize, MountArg)> = Vec::new();
    // The two values of a two-value flag.
    let pair = |mut v: Vec<String>| {
        let second = v.pop().unwrap_or_default();
        (v.pop().unwrap_or_default(), second)
    };
    for (id, flag, read_only, optional, dev) in [
        ("bind", "--bind", false, false, false),
        ("ro_bind", "--ro-bind", true, false, false),
        ("dev_bind", "--dev-bind", false, false, true),
        ("bind_try", "--bind-try", false, true, false),
        ("ro_bind_try", "--ro-bind-try", true, true, false),
        ("dev_bind_try", "--dev-bind-try", false, true, true),
    ] {
        for (at, v) in occurrences(m, id) {
            let (src, dst) = pair(v);
            let bind = MountArg::Bind {
                flag,
                src,
                dst,
                read_only,
                optional,
                dev,
            };
            all.push((at, bind));
        }
    }
    type MakeFd = fn(RawFd, String) -> MountOp;
    let (bind, file, data): (MakeFd, MakeFd, MakeFd) = (
        MountOp::bind_fd,
        MountOp::file_from_fd,
        MountOp::bind_data_from_fd,
    );
    for (id, flag, make, read_only) in [
        ("bind_fd", "--bind-fd", bind, false),
        ("ro_bind_fd", "--ro-bind-fd", bind, true),
        ("file", "--file", file, false),
        ("bind_data", "--bind-data", data, false),
        ("ro_bind_data", "--ro-bind-data", data, true),
    ] {
        for (at, v) in occurrences(m, id) {
            let (fd, dst) = pair(v);
            let op = MountArg::Fd {
                flag,
                fd,
                dst,
                make,
                read_only,
            };
            all.push((at, op));
        }
    }
    for &(kind, id, _) in MOUNT_FLAGS.iter().filter(|(_, id, _)| !id.is_empty()) {
        for (at, mut v) in occurrences(m, id) {
            all.push((at, MountArg::Simple(kind, v.pop().unwrap_or_default())));
        }
    }
    type Make2 = fn(String, String) -> MountArg;
    for (id, make) in [
        ("symlink", MountArg::Symlink as Make2),
        ("write_file", MountArg::WriteFile),
    ] {
        for (at, v) in occurrences(m, id) {
            let (a, b) = pair(v);
            all.push((at, make(a, b)));
        }
    }
    type Make1 = fn(String) -> MountArg;
    for (id, make) in [
        ("size", MountArg::Size as Make1),
        ("perms", MountArg::Perms),
    ] {
        for (at, mut v) in occurrences(m, id) {
            all.push((at, make(v.pop().unwrap_or_default())));
        }
    }
    all.sort_by_key(|(at, _)| *at);
    all.into_iter().map(|(_, a)| a).collect()
}

/// The command line's mount flags per mount kind: the kind, the clap id of its one-argument
/// flag (empty when its flags take more: binds, symlinks, files), and the flag as written in
/// messages. The spec crate's kind table says what each kind takes; `--size` and `--perms`
/// apply to the kinds that take a size or a mode.
pub const MOUNT_FLAGS: &[(MountKind, &str, &str)] = &[
    (MountKind::Bind, "", "a bind flag"),
    (MountKind::Tmpfs, "tmpfs", "--tmpfs"),
    (MountKind::Proc, "proc", "--proc"),
    (MountKind::Dev, "dev", "--dev"),
    (MountKind::Mqueue, "mqueue", "--mqueue"),
    (MountKind::Dir, "dir", "--dir"),
    (MountKind::Symlink, "", "--symlink"),
    (MountKind::File, "", "--file/--write-file"),
    (MountKind::RemountRo, "remount_ro", "--remount-ro"),
    (MountKind::Mask, "mask", "--mask"),
    (MountKind::BindData, "", "--bind-data/--ro-bind-data"),
];

/// The flag that made an operation of `kind`, for messages.
fn flag_of(kind: MountKind) -> &'static str {
    MOUNT_FLAGS
        .iter()
        .find(|(k, _, _)| *k == kind)
        .map_or("a mount flag", |(_, _, flag)| flag)
}

/// "--tmpfs, --dir, --file or --write-file": the flags of the kinds `takes` says yes to.
fn flags_taking(takes: impl Fn(MountKind) -> bool) -> String {
    let flags: Vec<&str> = MOUNT_FLAGS
        .iter()
        .filter(|(k, _, _)| takes(*k))
        .flat_map(|(_, _, flag)| flag.split('/'))
        .collect();
    match flags.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

fn size_applies() -> String {
    format!(
        "--size applies to the next {}",
        flags_taking(|k| k.info().takes.size)
    )
}

fn perms_applies() -> String {
    format!(
        "--perms applies to the next {}",
        flags_taking(|k| k.info().takes.mode)
    )
}

/// An fd given on the command line (`--bind-fd FD DST`, `--file FD DST`).
fn fd_arg(flag: &str, fd: &str) -> Result<RawFd, Fail> {
    fd.parse::<RawFd>()
        .ok()
        .filter(|fd| *fd >= 0)
        .ok_or_else(|| Fail::setup(format!("{flag}: `{fd}` is not an fd number")))
}

/// The mount operations of the filesystem flags, `--size` and `--perms` applied to the
/// operation that follows them (as bubblewrap does).
fn mount_ops(args: Vec<MountArg>, pivot: bool) -> Result<Vec<MountOp>, Fail> {
    let mut ops = Vec::new();
    let mut size: Option<u64> = None;
    let mut perms: Option<u32> = None;
    for arg in args {
        let op = match arg {
            MountArg::Size(s) => {
                if size.is_some() {
                    return Err(Fail::setup(
                        "--size given twice before the --tmpfs it applies to".to_string(),
                    ));
                }
                let bytes = parse_size(&s).map_err(|e| Fail::setup(format!("--size: {e}")))?;
                size = Some(bytes);
                continue;
            }
            MountArg::Perms(p) => {
                if perms.is_some() {
                    return Err(Fail::setup(
                        "--perms given twice before the flag it applies to".to_string(),
                    ));
                }
                let mode = parse_mode(&p).map_err(|e| Fail::setup(format!("--perms: {e}")))?;
                perms = Some(mode);
                continue;
            }
            MountArg::Bind {
                flag,
                src,
                dst,
                read_only,
                optional,
                dev,
            } => {
                let src = absolute(&src)?;
                let dst = target(&dst, pivot)?;
                let mut op = MountOp::bind(src, dst);
                op.readonly = read_only;
                op.optional = optional;
                op.dev = dev;
                if op.target.trim_end_matches('/').is_empty() {
                    // Onto the new root itself: one bind per entry of SRC (see bind_root).
                    check_no_modifier(size, perms, flag)?;
                    if !optional || Path::new(&op.source).exists() {
                        ops.extend(bind_root(&op)?);
                    }
                    continue;
                }
                op
            }
            MountArg::Fd {
                flag,
                fd,
                dst,
                make,
                read_only,
            } => {
                let mut op = make(fd_arg(flag, &fd)?, target(&dst, pivot)?);
                op.readonly = read_only;
                op
            }
            MountArg::Simple(kind, dst) => {
                let mut op = MountOp::new(kind, target(&dst, pivot)?);
                if kind == MountKind::Tmpfs {
                    // Writable for whoever the program runs as, as a tmpfs's default is.
                    op.mode = 0o1777;
                }
                op
            }
            MountArg::Symlink(link, dst) => {
                if link.is_empty() {
                    return Err(Fail::setup("--symlink: an empty link text".to_string()));
                }
                MountOp::symlink(link, target(&dst, pivot)?)
            }
            MountArg::WriteFile(dst, content) => MountOp::file(target(&dst, pivot)?, content),
        };
        let mut op = op;
        if let Some(bytes) = size.take() {
            if !op.kind.info().takes.size {
                return Err(Fail::setup(format!(
                    "{}, but {} follows it",
                    size_applies(),
                    flag_of(op.kind)
                )));
            }
            op.size = bytes;
        }
        if let Some(mode) = perms.take() {
            if !op.kind.info().takes.mode {
                return Err(Fail::setup(format!(
                    "{}, but {} follows it",
                    perms_applies(),
                    flag_of(op.kind)
                )));
            }
            op.mode = mode;
        }
        ops.push(op);
    }
    check_no_modifier(size, perms, "the end of the mount flags")?;
    Ok(ops)
}

/// `--size`/`--perms` waiting for their operation when `what` comes, which takes neither.
fn check_no_modifier(size: Option<u64>, perms: Option<u32>, what: &str) -> Result<(), Fail> {
    if size.is_some() {
        return Err(Fail::setup(format!(
            "{}, but {what} follows it",
            size_applies()
        )));
    }
    if perms.is_some() {
        return Err(Fail::setup(format!(
            "{}, but {what} follows it",
            perms_applies()
        )));
    }
    Ok(())
}

fn env_args(m: &ArgMatches) -> Vec<EnvArg> {
    let mut all: Vec<(usize, EnvArg)> = Vec::new();
    for (at, mut v) in occurrences(m, "setenv") {
        let value = v.pop().unwrap_or_default();
        let name = v.pop().unwrap_or_default();
        all.push((at, EnvArg::Set(name, value)));
    }
    for (at, mut v) in occurrences(m, "unsetenv") {
        all.push((at, EnvArg::Unset(v.pop().unwrap_or_default())));
    }
    all.sort_by_key(|(at, _)| *at);
    all.into_iter().map(|(_, a)| a).collect()
}

/// Reads `--spec FILE` (`-`: stdin).
pub fn read_spec(file: &str) -> Result<Spec, Fail> {
    let (name, text) = if file == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Fail::setup(format!("--spec -: reading stdin: {e}")))?;
        ("<stdin>", text)
    } else {
        let text = fs::read_to_string(file).map_err(|e| Fail::setup(format!("{file}: {e}")))?;
        (file, text)
    };
    Spec::from_json(&text).map_err(|e| Fail::setup(format!("{name}: {e}")))
}

/// The caller's environment as `KEY=value` strings (entries that are not UTF-8 are left out:
/// a spec's strings are UTF-8).
fn caller_env() -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_str()?, v.to_str()?)))
        .collect()
}

fn add_ns(spec: &mut Spec, ns: Namespace) {
    if !spec.clone_flags.contains(&ns) {
        spec.clone_flags.push(ns);
    }
}

fn has_ns(spec: &Spec, ns: Namespace) -> bool {
    spec.clone_flags.contains(&ns)
}

/// A host path as an absolute string (relative to the current directory).
fn absolute(p: &str) -> Result<String, Fail> {
    if p.is_empty() {
        return Err(Fail::setup("an empty path".to_string()));
    }
    std::path::absolute(p)
        .map(|p| p.to_string_lossy().into_owned())
        .map_err(|e| Fail::setup(format!("{p}: {e}")))
}

/// A mount target: inside the new root with a pivot_root (where a relative path means the
/// same as with a leading `/`), else a host path made absolute.
fn target(dst: &str, pivot: bool) -> Result<String, Fail> {
    if dst.is_empty() {
        return Err(Fail::setup("an empty mount target".to_string()));
    }
    if pivot {
        Ok(if dst.starts_with('/') {
            dst.to_string()
        } else {
            format!("/{dst}")
        })
    } else {
        absolute(dst)
    }
}

fn join(dir: &str, name: &str) -> String {
    format!("{}/{name}", dir.trim_end_matches('/'))
}

/// The new root's mount point when the command line makes one: a directory of this user's
/// that every run mounts its new root's tmpfs over, in its own mount namespace (the host
/// never sees those mounts), so it is made once and kept, as bubblewrap keeps
/// `/run/user/UID/.bwrap`. `$XDG_RUNTIME_DIR/forkexec-run-root` when that is set, else
/// `$TMPDIR/forkexec-run-root-UID` (created and checked by [`crate::run`]).
pub fn fresh_root() -> String {
    let runtime = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| Path::new(d).is_absolute());
    let path = match runtime {
        Some(dir) => Path::new(&dir).join("forkexec-run-root"),
        None => std::env::temp_dir().join(format!("forkexec-run-root-{}", outer_uid())),
    };
    path.to_string_lossy().into_owned()
}

/// This user's uid as the parent user namespace knows it (`/proc/self/uid_map`; the host's
/// own map is the identity): forkexec-run run inside a sandbox (as uid 0 of a user namespace
/// over the host's /tmp) then uses its user's own directory, which it sees as its own, and
/// not host root's, which it sees as owned by the overflow uid.
fn outer_uid() -> u32 {
    // SAFETY: geteuid has no memory effects and cannot fail.
    let euid = unsafe { libc::geteuid() };
    let map = fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
    map.lines()
        .find_map(|line| {
            let v: Vec<u64> = line
                .split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect();
            let (inside, outside, size) = (*v.first()?, *v.get(1)?, *v.get(2)?);
            let id = u64::from(euid);
            (id >= inside && id - inside < size).then(|| (outside + id - inside) as u32)
        })
        .unwrap_or(euid)
}

/// What the host path behind `path` (a path as the program will see it) is, judging by the
/// spec's mounts: the last mount whose target covers it decides. A bind maps it into its
/// source (an fd's through `/proc/self/fd/N`; an optional bind whose source is missing is
/// skipped), a symlink is followed, a `remount_ro` changes nothing; anything else there (a
/// tmpfs, proc, dir, file…), or no mount at all under a pivot_root, means nothing from the
/// host is there (`None`).
pub fn host_view(spec: &Spec, path: &Path) -> Option<PathBuf> {
    view(spec, &normalize(path), 0)
}

fn view(spec: &Spec, path: &Path, depth: u32) -> Option<PathBuf> {
    let pivot = !spec.pivot_root.is_empty();
    for entry in spec.mounts.iter().rev() {
        let t = if pivot {
            PathBuf::from("/").join(entry.target().trim_start_matches('/'))
        } else {
            std::path::absolute(entry.target()).ok()?
        };
        let Ok(rest) = path.strip_prefix(&t) else {
            continue;
        };
        let source = match entry {
            MountEntry::Raw(m) if m.flags.contains(&MountFlag::Bind) => PathBuf::from(&m.source),
            MountEntry::Raw(_) => return None,
            MountEntry::Op(op) => match op.kind {
                MountKind::RemountRo => continue,
                MountKind::Bind => match op.source_fd {
                    Some(fd) => PathBuf::from(format!("/proc/self/fd/{fd}")),
                    None if op.optional && !Path::new(&op.source).exists() => continue,
                    None => PathBuf::from(&op.source),
                },
                MountKind::Symlink if depth < 8 => {
                    let link = t.parent().unwrap_or(Path::new("/")).join(&op.source);
                    return view(spec, &normalize(&link.join(rest)), depth + 1);
                }
                _ => return None,
            },
        };
        return Some(if rest.as_os_str().is_empty() {
            source
        } else {
            source.join(rest)
        });
    }
    if pivot {
        None
    } else {
        Some(path.to_path_buf())
    }
}

/// `path` with `.` and `..` taken out lexically (`..` of `/` is `/`).
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::Normal(name) => out.push(name),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// `--bind SRC /` and the other binds onto `/`: binding onto the new root itself would hide
/// the helper's tmpfs (and the mounts made in it) under SRC, so SRC's entries are bound one
/// by one at `/NAME` (in name order; symlinks are followed, and dangling ones are skipped)
/// with the flags of `op`, which gives the program the same tree, with `/` itself the
/// helper's read-only tmpfs.
fn bind_root(op: &MountOp) -> Result<Vec<MountOp>, Fail> {
    let src = &op.source;
    let entries =
        fs::read_dir(src).map_err(|e| Fail::setup(format!("binding {src} onto /: {e}")))?;
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names
        .into_iter()
        .filter(|name| Path::new(src).join(name).exists())
        .map(|name| MountOp {
            source: Path::new(src).join(&name).to_string_lossy().into_owned(),
            target: format!("/{name}"),
            // A missing entry was filtered out just now; if it vanishes before the start,
            // that is not the caller's mistake.
            optional: true,
            ..op.clone()
        })
        .collect())
}

fn is_executable(p: &Path) -> bool {
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// `cmd` looked up in the program's PATH as the sandbox will see it; `Ok(None)` when it has
/// a `/` (run as given).
fn resolve(cmd: &str, spec: &Spec) -> Result<Option<String>, Fail> {
    if cmd.contains('/') {
        return Ok(None);
    }
    if cmd.is_empty() {
        return Err(Fail::setup("an empty COMMAND".to_string()));
    }
    let path = spec
        .env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    for dir in path.split(':').filter(|d| d.starts_with('/')) {
        let inside = join(dir, cmd);
        if host_view(spec, Path::new(&inside)).is_some_and(|h| is_executable(&h)) {
            return Ok(Some(inside));
        }
    }
    Err(Fail {
        code: 127,
        message: format!("{cmd}: command not found (PATH={path}, as the sandbox sees it)"),
    })
}

fn rlimit(arg: &RlimitArg) -> Result<Rlimit, Fail> {
    let current = || {
        let mut lim = libc::rlimit64 {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit64 fills a struct we own.
        let r = unsafe { libc::getrlimit64(arg.resource.value() as _, &mut lim) };
        if r == 0 {
            Ok((lim.rlim_cur, lim.rlim_max))
        } else {
            Err(Fail::setup(format!(
                "--rlimit {}: getrlimit: {}",
                arg.resource,
                std::io::Error::last_os_error()
            )))
        }
    };
    let (soft, hard) = match (arg.soft, arg.hard) {
        (Some(s), Some(h)) => (s, h),
        (s, h) => {
            let (cur, max) = current()?;
            (s.unwrap_or(cur), h.unwrap_or(max))
        }
    };
    if soft > hard {
        return Err(Fail::setup(format!(
            "--rlimit {}: the soft limit {soft} is above the hard limit {hard}",
            arg.resource
        )));
    }
    Ok(Rlimit::new(arg.resource, soft, hard))
}

fn seccomp(policy: &str) -> Result<Vec<forkexec_client::SockFilter>, Fail> {
    // A shipped policy's name (`judge`) or a file (`./judge` for a file of that name).
    let policy = match Policy::named(policy) {
        Some(named) => named,
        None => Policy::from_file(Path::new(policy))
            .map_err(|e| Fail::setup(format!("--seccomp: {e}")))?,
    };
    policy
        .compile()
        .map_err(|e| Fail::setup(format!("--seccomp: {e}")))
}

/// The spec the command line describes.
pub fn assemble(cli: &Cli, matches: &ArgMatches, ids: Ids) -> Result<Spec, Fail> {
    let mut spec = match &cli.spec {
        Some(file) => read_spec(file)?,
        // A spec printed by --json is saved and shared: it holds the caller's environment
        // (tokens, keys) only when --inherit-env asks for it.
        None if cli.json && !cli.inherit_env => Spec::default(),
        None => Spec {
            env: caller_env(),
            ..Spec::default()
        },
    };
    // The base's own mounts and root decide whether flag mounts get a fresh root.
    let base_has_root = !spec.pivot_root.is_empty() || !spec.mounts.is_empty();

    // Environment: --clearenv first, then --setenv/--unsetenv in order.
    if cli.clearenv {
        spec.env.clear();
    }
    for arg in env_args(matches) {
        let name = match &arg {
            EnvArg::Set(name, _) | EnvArg::Unset(name) => name.clone(),
        };
        if name.is_empty() || name.contains('=') {
            return Err(Fail::setup(format!(
                "`{name}` is not an environment variable name (empty, or contains `=`)"
            )));
        }
        let prefix = format!("{name}=");
        spec.env.retain(|e| !e.starts_with(&prefix) && *e != name);
        if let EnvArg::Set(_, value) = arg {
            spec.env.push(format!("{name}={value}"));
        }
    }

    // Namespaces asked for by name.
    if cli.unshare_all {
        use Namespace::*;
        for ns in [NewUser, NewNs, NewPid, NewIpc, NewUts, NewNet, NewCgroup] {
            add_ns(&mut spec, ns);
        }
    }
    for (on, ns) in [
        (cli.unshare_user, Namespace::NewUser),
        (cli.unshare_pid, Namespace::NewPid),
        (cli.unshare_net, Namespace::NewNet),
        (cli.unshare_ipc, Namespace::NewIpc),
        (cli.unshare_uts, Namespace::NewUts),
        (cli.unshare_cgroup, Namespace::NewCgroup),
    ] {
        if on {
            add_ns(&mut spec, ns);
        }
    }
    if cli.share_net {
        spec.clone_flags.retain(|&ns| ns != Namespace::NewNet);
    }

    // Mounts, in command-line order.
    let mounts = mount_args(matches);
    let mut fresh = false;
    if !mounts.is_empty() || cli.writable_root {
        add_ns(&mut spec, Namespace::NewNs);
        if !base_has_root {
            spec.pivot_root = fresh_root();
            fresh = true;
        }
    }
    let pivot = !spec.pivot_root.is_empty();
    for op in mount_ops(mounts, pivot)? {
        match op.kind {
            MountKind::Proc => add_ns(&mut spec, Namespace::NewPid),
            MountKind::Mqueue => add_ns(&mut spec, Namespace::NewIpc),
            _ => {}
        }
        let proc = (op.kind == MountKind::Proc).then(|| MountOp::remount_ro(op.target.clone()));
        spec.mounts.push(op.into());
        // A read-only proc, as before mount operations (and as go-sandbox's).
        spec.mounts.extend(proc.map(MountEntry::from));
    }
    if cli.writable_root {
        if !pivot {
            return Err(Fail::setup(
                "--writable-root needs a new root, and the spec has mounts but no pivot_root"
                    .to_string(),
            ));
        }
        spec.writable_root = true;
    }

    // Names, limits, directories, options.
    if let Some(name) = &cli.hostname {
        spec.host_name = name.clone();
        add_ns(&mut spec, Namespace::NewUts);
    }
    if let Some(name) = &cli.domainname {
        spec.domain_name = name.clone();
        add_ns(&mut spec, Namespace::NewUts);
    }
    for arg in &cli.rlimit {
        let limit = rlimit(arg)?;
        match spec.rlimits.iter_mut().find(|r| r.resource == arg.resource) {
            Some(existing) => *existing = limit,
            None => spec.rlimits.push(limit),
        }
    }
    if let Some(policy) = &cli.seccomp {
        spec.seccomp = Some(seccomp(policy)?);
    }
    if let Some(dir) = &cli.cgroup {
        spec.cgroup = absolute(dir)?;
        spec.cgroup_fd = None;
    }
    if cli.info_fd.is_some() {
        spec.info_fd = cli.info_fd;
    }
    if cli.json_status_fd.is_some() {
        spec.json_status_fd = cli.json_status_fd;
    }
    spec.no_new_privs |= cli.no_new_privs;
    spec.drop_caps |= cli.drop_caps;
    defaults::die_with_parent(&mut spec, cli);
    if cli.init {
        spec.init = true;
        add_ns(&mut spec, Namespace::NewPid);
    }
    if cli.new_session {
        spec.setsid = true;
    }
    if cli.no_setsid {
        spec.setsid = false;
        spec.ctty = false;
    }

    // Ids: a user namespace where an ordinary user needs one, then the maps or credential;
    // then the safe defaults (capabilities, no_new_privs, keyring).
    user_namespace(&mut spec, cli, ids)?;
    defaults::root_user_namespace(&mut spec, cli, ids)?;
    defaults::apply(&mut spec, cli, ids)?;
    landlock(&mut spec, cli);
    default_work_dir(&mut spec, cli, ids, fresh);

    // What to run.
    if !cli.command.is_empty() {
        spec.args = cli.command.clone();
        spec.exec_file = None;
        spec.exec_path = resolve(&cli.command[0], &spec)?;
        if let Some(argv0) = &cli.argv0 {
            if spec.exec_path.is_none() {
                spec.exec_path = Some(cli.command[0].clone());
            }
            spec.args[0] = argv0.clone();
        }
    } else if spec.args.is_empty() {
        return Err(Fail::setup(
            "no command: give one after the options (or after --), or \"args\" in --spec"
                .to_string(),
        ));
    } else if let Some(argv0) = &cli.argv0 {
        if spec.exec_path.is_none() && spec.exec_file.is_none() {
            spec.exec_path = Some(spec.args[0].clone());
        }
        spec.args[0] = argv0.clone();
    }
    if spec.files.is_empty() {
        // (std opens /dev/null for any of them that was closed when forkexec-run started.)
        spec.files = vec![0, 1, 2];
    }

    if spec.ptrace || spec.stop_before_seccomp {
        return Err(Fail::setup(
            "the spec asks for ptrace or stop_before_seccomp, which need a tracer: forkexec-run \
             is not one (use the client library)"
                .to_string(),
        ));
    }
    Ok(spec)
}

/// The Landlock flags: rules add to a spec's own, each kind present only when asked for.
fn landlock(spec: &mut Spec, cli: &Cli) {
    use forkexec_client::{LandlockPath, LandlockPort};
    let fs: Vec<LandlockPath> = [
        (&cli.landlock_read, &["read"][..]),
        (&cli.landlock_exec, &["read", "execute"]),
        (&cli.landlock_write, &["read", "write"]),
    ]
    .into_iter()
    .flat_map(|(paths, access)| {
        paths
            .iter()
            .map(move |p| LandlockPath::new(p.clone(), access))
    })
    .collect();
    let net: Vec<LandlockPort> = [
        (&cli.landlock_bind, "bind_tcp"),
        (&cli.landlock_connect, "connect_tcp"),
    ]
    .into_iter()
    .flat_map(|(ports, access)| ports.iter().map(move |&p| LandlockPort::new(p, &[access])))
    .collect();
    let tcp = cli.landlock_no_tcp || !net.is_empty();
    let asked = !fs.is_empty() || tcp || !cli.landlock_scope.is_empty() || cli.landlock_exact;
    if !asked {
        return;
    }
    let l = spec.landlock.get_or_insert_with(Default::default);
    if !fs.is_empty() {
        l.fs.get_or_insert_with(Vec::new).extend(fs);
    }
    if tcp {
        l.net.get_or_insert_with(Vec::new).extend(net);
    }
    l.scope.extend(cli.landlock_scope.iter().cloned());
    l.exact |= cli.landlock_exact;
}

/// `--chdir`, or without it in a fresh root the caller's working directory when that same
/// path is visible inside and the program may enter it.
fn default_work_dir(spec: &mut Spec, cli: &Cli, ids: Ids, fresh: bool) {
    if let Some(dir) = &cli.chdir {
        spec.work_dir = dir.clone();
    } else if fresh && spec.work_dir.is_empty() {
        // (After su/runuser the cwd can be a directory the caller cannot search; as root with
        // a user namespace the program is another host uid.)
        if let Ok(cwd) = std::env::current_dir() {
            if host_view(spec, &cwd).is_some_and(|h| h == cwd) && target_may_enter(spec, ids, &cwd)
            {
                spec.work_dir = cwd.to_string_lossy().into_owned();
            }
        }
    }
}

/// Whether the program may enter `dir`: the caller's own check (`access`), unless root's
/// program runs as other host ids through a user namespace; then each directory's mode bits
/// are read for those ids (its capabilities there do not apply to host-owned files).
fn target_may_enter(spec: &Spec, ids: Ids, dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    if !(defaults::is_host_root(ids) && has_ns(spec, Namespace::NewUser)) {
        return searchable(dir);
    }
    let host = |maps: &[IdMap], inside: u32| {
        maps.iter()
            .find(|m| inside >= m.container_id && inside - m.container_id < m.size)
            .map(|m| m.host_id + (inside - m.container_id))
    };
    let Some(cred) = &spec.credential else {
        return searchable(dir);
    };
    let (Some(uid), Some(gid)) = (
        host(&spec.uid_mappings, cred.uid),
        host(&spec.gid_mappings, cred.gid),
    ) else {
        return false;
    };
    dir.ancestors().all(|d| {
        d.metadata().is_ok_and(|m| {
            let bits = if m.uid() == uid {
                m.mode() >> 6
            } else if m.gid() == gid {
                m.mode() >> 3
            } else {
                m.mode()
            };
            bits & 0o1 != 0
        })
    })
}

/// The user-namespace rules of `--help`: an ordinary user gets a user namespace whenever
/// anything else needs one; in a user namespace the caller is mapped to `--uid`/`--gid`
/// (default: the caller's own ids) onto the host ids of [`defaults::host_ids`]; as root
/// without one, `--uid`/`--gid` are the credential.
fn user_namespace(spec: &mut Spec, cli: &Cli, ids: Ids) -> Result<(), Fail> {
    let root = ids.euid == 0;
    let other_ns = spec.clone_flags.iter().any(|&ns| ns != Namespace::NewUser);
    let other_ids =
        cli.uid.is_some_and(|u| u != ids.euid) || cli.gid.is_some_and(|g| g != ids.egid);
    if !root && (other_ns || other_ids) {
        add_ns(spec, Namespace::NewUser);
    }
    if has_ns(spec, Namespace::NewUser) {
        let (host_uid, host_gid) = defaults::host_ids(cli, ids)?;
        if cli.uid.is_some() || spec.uid_mappings.is_empty() {
            let inside = cli.uid.unwrap_or(ids.euid);
            spec.uid_mappings = vec![IdMap::new(inside, host_uid, 1)];
        }
        if cli.gid.is_some() || spec.gid_mappings.is_empty() {
            let inside = cli.gid.unwrap_or(ids.egid);
            spec.gid_mappings = vec![IdMap::new(inside, host_gid, 1)];
        }
    } else if root && (cli.uid.is_some() || cli.gid.is_some()) {
        let mut cred = spec
            .credential
            .take()
            .unwrap_or_else(|| Credential::new(ids.euid, ids.egid));
        if let Some(uid) = cli.uid {
            cred.uid = uid;
        }
        if let Some(gid) = cli.gid {
            cred.gid = gid;
        }
        spec.credential = Some(cred);
    }
    Ok(())
}

/// Whether this process may enter `dir` (`access(dir, X_OK)`).
fn searchable(dir: &std::path::Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access reads a NUL-terminated path that lives across the call.
    unsafe { libc::access(path.as_ptr(), libc::X_OK) == 0 }
}
