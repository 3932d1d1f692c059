//! From the command line to a [`Spec`]: the base (`--spec FILE` or an empty spec with the
//! caller's environment), then each flag with what it implies (see `--help`, "HOW THE FLAGS
//! BUILD THE SPEC", and docs/cli.md).

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use clap::ArgMatches;
use forkexec_client::{Credential, IdMap, Mount, MountFlag, Namespace, Rlimit, Spec};
use forkexec_policy::Policy;

use crate::cli::{Cli, RlimitArg};
use crate::Fail;

/// The host devices `--dev` binds into its tmpfs.
pub const DEV_NODES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

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

/// A mount flag as given, before it becomes one or more [`Mount`]s.
#[derive(Debug)]
enum MountArg {
    Bind {
        src: String,
        dst: String,
        read_only: bool,
        optional: bool,
    },
    Tmpfs(String),
    Proc(String),
    Dev(String),
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

fn mount_args(m: &ArgMatches) -> Vec<MountArg> {
    let mut all: Vec<(usize, MountArg)> = Vec::new();
    for (id, read_only, optional) in [
        ("bind", false, false),
        ("ro_bind", true, false),
        ("bind_try", false, true),
        ("ro_bind_try", true, true),
    ] {
        for (at, mut v) in occurrences(m, id) {
            let dst = v.pop().unwrap_or_default();
            let src = v.pop().unwrap_or_default();
            all.push((
                at,
                MountArg::Bind {
                    src,
                    dst,
                    read_only,
                    optional,
                },
            ));
        }
    }
    type Make = fn(String) -> MountArg;
    for (id, make) in [
        ("tmpfs", MountArg::Tmpfs as Make),
        ("proc", MountArg::Proc),
        ("dev", MountArg::Dev),
    ] {
        for (at, mut v) in occurrences(m, id) {
            all.push((at, make(v.pop().unwrap_or_default())));
        }
    }
    all.sort_by_key(|(at, _)| *at);
    all.into_iter().map(|(_, a)| a).collect()
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

/// A fresh name for the new root's mount point: `$TMPDIR/forkexec-run-PID-NANOS` (created
/// by [`crate::run`] right before the start).
fn fresh_root() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::env::temp_dir()
        .join(format!("forkexec-run-{}-{nanos:08x}", std::process::id()))
        .to_string_lossy()
        .into_owned()
}

/// What the host path behind `path` (a path as the program will see it) is, judging by the
/// spec's mounts: the last bind whose target covers it decides; a tmpfs or proc there, or no
/// mount at all under a pivot_root, means nothing from the host is there (`None`).
pub fn host_view(spec: &Spec, path: &Path) -> Option<PathBuf> {
    let pivot = !spec.pivot_root.is_empty();
    for m in spec.mounts.iter().rev() {
        let t = if pivot {
            PathBuf::from("/").join(m.target.trim_start_matches('/'))
        } else {
            std::path::absolute(&m.target).ok()?
        };
        if let Ok(rest) = path.strip_prefix(&t) {
            if !m.flags.contains(&MountFlag::Bind) {
                return None;
            }
            return Some(if rest.as_os_str().is_empty() {
                PathBuf::from(&m.source)
            } else {
                Path::new(&m.source).join(rest)
            });
        }
    }
    if pivot {
        None
    } else {
        Some(path.to_path_buf())
    }
}

/// `--bind SRC /` and `--ro-bind SRC /`: the helper's new root is a tmpfs that it remounts
/// read-only after the pivot, and a bind onto that root itself would leave it nowhere to put
/// the old root. So SRC's entries are bound one by one at `/NAME` (in name order; symlinks
/// are followed, and dangling ones are skipped), which gives the program the same tree, with
/// `/` itself read-only. An entry named `old_root` is left out: the helper's pivot_root
/// creates (and removes) a directory of that name in the new root and cannot if one is there.
fn bind_root(src: &str, read_only: bool) -> Result<Vec<Mount>, Fail> {
    let entries =
        fs::read_dir(src).map_err(|e| Fail::setup(format!("binding {src} onto /: {e}")))?;
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names
        .into_iter()
        .filter(|name| name != "old_root" && Path::new(src).join(name).exists())
        .map(|name| {
            let from = Path::new(src).join(&name).to_string_lossy().into_owned();
            Mount::bind(from, format!("/{name}"), read_only)
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
    let policy = if policy == "judge" {
        Policy::default_judge()
    } else {
        Policy::from_file(Path::new(policy)).map_err(|e| Fail::setup(format!("--seccomp: {e}")))?
    };
    policy
        .compile()
        .map_err(|e| Fail::setup(format!("--seccomp: {e}")))
}

/// The spec the command line describes.
pub fn assemble(cli: &Cli, matches: &ArgMatches, ids: Ids) -> Result<Spec, Fail> {
    let mut spec = match &cli.spec {
        Some(file) => read_spec(file)?,
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
    if !mounts.is_empty() {
        add_ns(&mut spec, Namespace::NewNs);
        if !base_has_root {
            spec.pivot_root = fresh_root();
            fresh = true;
        }
    }
    let pivot = !spec.pivot_root.is_empty();
    for arg in mounts {
        match arg {
            MountArg::Bind {
                src,
                dst,
                read_only,
                optional,
            } => {
                let src = absolute(&src)?;
                if optional && !Path::new(&src).exists() {
                    continue;
                }
                let dst = target(&dst, pivot)?;
                if dst.trim_end_matches('/').is_empty() {
                    // Onto the new root itself: one bind per entry of SRC (see bind_root).
                    let binds = bind_root(&src, read_only)?;
                    spec.mounts.extend(binds);
                } else {
                    spec.mounts.push(Mount::bind(src, dst, read_only));
                }
            }
            MountArg::Tmpfs(dst) => spec.mounts.push(Mount::tmpfs(target(&dst, pivot)?, "")),
            MountArg::Proc(dst) => {
                spec.mounts.push(Mount::proc(target(&dst, pivot)?));
                add_ns(&mut spec, Namespace::NewPid);
            }
            MountArg::Dev(dst) => {
                let dir = target(&dst, pivot)?;
                spec.mounts
                    .push(Mount::tmpfs(dir.clone(), "mode=0755").flag(MountFlag::NoExec));
                for node in DEV_NODES {
                    let host = format!("/dev/{node}");
                    if Path::new(&host).exists() {
                        spec.mounts.push(Mount::bind(host, join(&dir, node), false));
                    }
                }
            }
        }
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
    if let Some(dir) = &cli.chdir {
        spec.work_dir = dir.clone();
    } else if fresh && spec.work_dir.is_empty() {
        // Start where the caller is when that same path is visible inside (and the caller
        // may still enter it: after su/runuser the cwd can be a directory it cannot search).
        if let Ok(cwd) = std::env::current_dir() {
            if host_view(&spec, &cwd).is_some_and(|h| h == cwd) && searchable(&cwd) {
                spec.work_dir = cwd.to_string_lossy().into_owned();
            }
        }
    }
    if let Some(policy) = &cli.seccomp {
        spec.seccomp = Some(seccomp(policy)?);
    }
    if let Some(dir) = &cli.cgroup {
        spec.cgroup = absolute(dir)?;
        spec.cgroup_fd = None;
    }
    spec.no_new_privs |= cli.no_new_privs;
    spec.drop_caps |= cli.drop_caps;
    spec.die_with_parent |= cli.die_with_parent;
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

    // Ids: a user namespace where an ordinary user needs one, then the maps or credential.
    user_namespace(&mut spec, cli, ids);

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

/// The user-namespace rules of `--help`: an ordinary user gets a user namespace whenever
/// anything else needs one; in a user namespace the caller is mapped to `--uid`/`--gid`
/// (default: the caller's own ids); as root without one, `--uid`/`--gid` are the credential.
fn user_namespace(spec: &mut Spec, cli: &Cli, ids: Ids) {
    let root = ids.euid == 0;
    let other_ns = spec.clone_flags.iter().any(|&ns| ns != Namespace::NewUser);
    let other_ids =
        cli.uid.is_some_and(|u| u != ids.euid) || cli.gid.is_some_and(|g| g != ids.egid);
    if !root && (other_ns || other_ids) {
        add_ns(spec, Namespace::NewUser);
    }
    if has_ns(spec, Namespace::NewUser) {
        if cli.uid.is_some() || spec.uid_mappings.is_empty() {
            let inside = cli.uid.unwrap_or(ids.euid);
            spec.uid_mappings = vec![IdMap::new(inside, ids.euid, 1)];
        }
        if cli.gid.is_some() || spec.gid_mappings.is_empty() {
            let inside = cli.gid.unwrap_or(ids.egid);
            spec.gid_mappings = vec![IdMap::new(inside, ids.egid, 1)];
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
