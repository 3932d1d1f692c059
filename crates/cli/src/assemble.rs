//! From the command line to a [`Spec`]: the base (`--spec FILE` or an empty spec with the
//! caller's environment), then each flag with what it implies (see `--help`, "HOW THE FLAGS
//! BUILD THE SPEC", and docs/cli.md).

use std::fs;
use std::io::Read;
use std::os::fd::RawFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
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

/// What a filesystem flag makes, from its values.
#[derive(Clone, Copy, Debug)]
pub enum Makes {
    /// `SRC DST`: a bind of a host path.
    Bind {
        read_only: bool,
        optional: bool,
        dev: bool,
    },
    /// `FD DST`: an operation on one of forkexec-run's fds.
    Fd {
        make: fn(RawFd, String) -> MountOp,
        read_only: bool,
    },
    /// `DST`: an operation of this kind with its defaults.
    Target(MountKind),
    /// `SRC DST`: a symlink whose text is SRC.
    Symlink,
    /// `DST CONTENT`: a file holding CONTENT.
    WriteFile,
    /// `BYTES`: the size of the next operation.
    Size,
    /// `OCTAL`: the mode of the next operation.
    Perms,
    /// `SRC`: a lower directory of the next overlay.
    OverlaySrc,
    /// `RWSRC WORKDIR DST`: an overlay with an upper directory.
    Overlay,
    /// `OCTAL DST`: the mode of an existing DST.
    Chmod,
}

/// One filesystem flag of the command line: its name (also its clap id), its values, its
/// help line, the kind of operation it makes (none for `--size` and `--perms`) and how.
#[derive(Debug)]
pub struct FsFlag {
    /// The long name, without `--`.
    pub long: &'static str,
    /// The value names (their count is the flag's number of values).
    pub values: &'static [&'static str],
    /// `--help`'s line.
    pub help: &'static str,
    /// The mount kind it makes.
    pub kind: Option<MountKind>,
    /// How its values become the operation.
    pub makes: Makes,
}

const SRC_DST: &[&str] = &["SRC", "DST"];
const FD_DST: &[&str] = &["FD", "DST"];
const DST: &[&str] = &["DST"];

const fn binds(
    long: &'static str,
    help: &'static str,
    read_only: bool,
    optional: bool,
    dev: bool,
) -> FsFlag {
    FsFlag {
        long,
        values: SRC_DST,
        help,
        kind: Some(MountKind::Bind),
        makes: Makes::Bind {
            read_only,
            optional,
            dev,
        },
    }
}

const fn with_fd(
    long: &'static str,
    help: &'static str,
    kind: MountKind,
    make: fn(RawFd, String) -> MountOp,
    read_only: bool,
) -> FsFlag {
    FsFlag {
        long,
        values: FD_DST,
        help,
        kind: Some(kind),
        makes: Makes::Fd { make, read_only },
    }
}

const fn to_dst(long: &'static str, help: &'static str, kind: MountKind) -> FsFlag {
    FsFlag {
        long,
        values: DST,
        help,
        kind: Some(kind),
        makes: Makes::Target(kind),
    }
}

/// Every filesystem flag, in `--help` order: a new flag for a mount kind is one row (its
/// values and defaults come from the spec crate's kind table: `--size` and `--perms` apply
/// to the flags whose kind takes a size or a mode). docs/cli.md describes them.
#[rustfmt::skip]
pub const FS_FLAGS: &[FsFlag] = &[
    binds("bind", "Bind SRC (a host path) at DST, writable (\"type\": \"bind\"): recursive, nosuid, nodev. A \
        file SRC gets a file target. DST `/` binds each entry of SRC at `/NAME` instead (the new root \
        itself stays the helper's tmpfs), so `--ro-bind / /` shows the host's tree.", false, false, false),
    binds("ro-bind", "Bind SRC at DST read-only, and every mount below it too (\"readonly\"): writes fail \
        with EROFS.", true, false, false),
    binds("dev-bind", "Bind SRC at DST with device nodes usable (\"dev\": binds are nodev otherwise).",
        false, false, true),
    binds("bind-try", "As --bind, but skipped when SRC does not exist (\"optional\").", false, true, false),
    binds("ro-bind-try", "As --ro-bind, but skipped when SRC does not exist.", true, true, false),
    binds("dev-bind-try", "As --dev-bind, but skipped when SRC does not exist.", false, true, true),
    with_fd("bind-fd", "Bind what FD (an fd of forkexec-run, e.g. `3<dir` in the shell) is open on at \
        DST, writable (\"source_fd\").", MountKind::Bind, MountOp::bind_fd, false),
    with_fd("ro-bind-fd", "As --bind-fd, read-only.", MountKind::Bind, MountOp::bind_fd, true),
    to_dst("tmpfs", "A fresh tmpfs at DST (\"type\": \"tmpfs\"; nosuid, nodev), mode 1777 unless \
        --perms, the kernel's default size (half of RAM) unless --size.", MountKind::Tmpfs),
    FsFlag { long: "size", values: &["BYTES"], kind: None, makes: Makes::Size,
        help: "The size of the next --tmpfs: bytes, or a number with k, m or g (1024-based: 64m)." },
    FsFlag { long: "perms", values: &["OCTAL"], kind: None, makes: Makes::Perms,
        help: "The mode (octal, e.g. 0700 or 1777) of the next flag that makes a tmpfs, a \
        directory or a file (--tmpfs, --dir, --file, --write-file, --bind-data, --ro-bind-data)." },
    to_dst("proc", "A fresh proc at DST (\"type\": \"proc\"; nosuid, nodev, noexec), then made \
        read-only (\"remount_ro\"); implies --unshare-pid, so it shows only the sandbox's processes.",
        MountKind::Proc),
    to_dst("dev", "A minimal /dev at DST (\"type\": \"dev\"): null, zero, full, random, urandom and \
        tty from the host, a new devpts at pts with ptmx, shm (tmpfs, 1777), and the fd, stdin, \
        stdout and stderr links to /proc/self/fd.", MountKind::Dev),
    to_dst("mqueue", "A fresh mqueue file system at DST (\"type\": \"mqueue\"); implies --unshare-ipc.",
        MountKind::Mqueue),
    to_dst("dir", "A directory at DST (\"type\": \"dir\"), mode 0755 unless --perms.", MountKind::Dir),
    FsFlag { long: "symlink", values: SRC_DST, kind: Some(MountKind::Symlink), makes: Makes::Symlink,
        help: "A symlink at DST whose text is SRC (\"type\": \"symlink\"), e.g. --symlink usr/bin /bin." },
    with_fd("file", "A file at DST holding what FD (an fd of forkexec-run, e.g. `3<file` in the shell) \
        holds, read to its end (\"content_fd\"); mode 0644 unless --perms.", MountKind::File,
        MountOp::file_from_fd, false),
    FsFlag { long: "write-file", values: &["DST", "CONTENT"], kind: Some(MountKind::File),
        makes: Makes::WriteFile,
        help: "A file at DST holding CONTENT (\"content\"), as given (add a newline yourself); mode \
        0644 unless --perms." },
    with_fd("bind-data", "A file holding what FD holds, read to its end, bind-mounted on DST \
        (\"bind_data\", \"content_fd\"): DST may be an existing file or on a read-only filesystem; \
        mode 0600 unless --perms (bubblewrap's --bind-data).", MountKind::BindData,
        MountOp::bind_data_from_fd, false),
    with_fd("ro-bind-data", "As --bind-data, the bind read-only (\"readonly\").", MountKind::BindData,
        MountOp::bind_data_from_fd, true),
    to_dst("remount-ro", "Make the mount at DST, and every mount below it, read-only (\"type\": \
        \"remount_ro\").", MountKind::RemountRo),
    to_dst("mask", "Hide DST under an empty read-only directory (or file) (\"type\": \"mask\"), e.g. \
        --mask /proc/kcore.", MountKind::Mask),
    FsFlag { long: "overlay-src", values: &["SRC"], kind: None, makes: Makes::OverlaySrc,
        help: "A lower directory (a host path) for the next --overlay, --tmp-overlay or \
        --ro-overlay (\"lower\"); repeat it for more, the first one given at the bottom (as bubblewrap)." },
    FsFlag { long: "overlay", values: &["RWSRC", "WORKDIR", "DST"], kind: Some(MountKind::Overlay),
        makes: Makes::Overlay,
        help: "An overlayfs at DST (\"type\": \"overlay\"; nosuid, nodev) of the --overlay-src \
        directories before it under RWSRC, a host directory that takes the writes; WORKDIR is an \
        empty directory on RWSRC's filesystem for the kernel." },
    to_dst("tmp-overlay", "An overlayfs at DST (\"type\": \"tmp_overlay\") of the --overlay-src \
        directories before it, whose writes go to a private tmpfs, gone when the sandbox ends.",
        MountKind::TmpOverlay),
    to_dst("ro-overlay", "A read-only overlayfs at DST (\"type\": \"ro_overlay\") of the two or more \
        --overlay-src directories before it.", MountKind::RoOverlay),
    FsFlag { long: "chmod", values: &["OCTAL", "DST"], kind: Some(MountKind::Chmod), makes: Makes::Chmod,
        help: "Set the mode of DST, which must exist (an earlier flag made it, or a bind shows it), \
        to OCTAL (\"type\": \"chmod\"), e.g. --chmod 0700 /home/me (bubblewrap's --chmod)." },
];

/// Whether `--perms` applies to a flag of `kind`: the kinds that create something with a
/// mode (a chmod takes its mode as its own value).
pub fn takes_perms(kind: MountKind) -> bool {
    kind.info().takes.mode && kind != MountKind::Chmod
}

/// A filesystem flag as given: its row and its values, in command-line order.
#[derive(Debug)]
pub struct MountArg {
    /// The flag's row.
    pub flag: &'static FsFlag,
    /// Its values, as given.
    pub values: Vec<String>,
}

/// An environment flag, applied in command-line order.
#[derive(Debug, PartialEq, Eq)]
pub enum EnvArg {
    /// `--setenv VAR VALUE`.
    Set(String, String),
    /// `--unsetenv VAR`.
    Unset(String),
}

/// The flags whose order matters, in command-line order: what [`assemble`] reads besides the
/// [`Cli`]. clap's matches give them with their positions ([`Ordered::from_matches`]);
/// bubblewrap mode's own reader gives them as it reads (crate::native).
#[derive(Debug, Default)]
pub struct Ordered {
    /// The filesystem flags.
    pub mounts: Vec<MountArg>,
    /// `--setenv` and `--unsetenv`.
    pub env: Vec<EnvArg>,
}

impl Ordered {
    /// The order-sensitive flags of clap's matches.
    pub fn from_matches(m: &ArgMatches) -> Ordered {
        Ordered {
            mounts: mount_args(m),
            env: env_args(m),
        }
    }
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
    for flag in FS_FLAGS {
        for (at, values) in occurrences(m, flag.long) {
            all.push((at, MountArg { flag, values }));
        }
    }
    all.sort_by_key(|(at, _)| *at);
    all.into_iter().map(|(_, a)| a).collect()
}

/// "--tmpfs, --dir, --file or --write-file": the flags of the kinds `takes` says yes to.
fn flags_taking(takes: impl Fn(MountKind) -> bool) -> String {
    let flags: Vec<String> = FS_FLAGS
        .iter()
        .filter(|f| f.kind.is_some_and(&takes))
        .map(|f| format!("--{}", f.long))
        .collect();
    match flags.split_last() {
        Some((last, [])) => last.clone(),
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
    format!("--perms applies to the next {}", flags_taking(takes_perms))
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
    // --overlay-src directories waiting for their overlay, bottom first.
    let mut lower: Vec<String> = Vec::new();
    for MountArg { flag, values } in args {
        let name = format!("--{}", flag.long);
        // The values (clap gives exactly as many as the row names).
        let (one, two, three) = match &values[..] {
            [a] => (a.clone(), String::new(), String::new()),
            [a, b] => (a.clone(), b.clone(), String::new()),
            [a, b, c] => (a.clone(), b.clone(), c.clone()),
            _ => return Err(Fail::setup(format!("{name}: {} values", values.len()))),
        };
        let overlay = matches!(flag.makes, Makes::OverlaySrc | Makes::Overlay)
            || flag.kind.is_some_and(|k| k.info().lower != 0);
        if !overlay && !lower.is_empty() {
            return Err(Fail::setup(OVERLAY_SRC_ALONE.to_string()));
        }
        let op = match flag.makes {
            Makes::OverlaySrc => {
                lower.push(absolute(&one)?);
                continue;
            }
            Makes::Overlay => {
                let lower = overlay_lower(&mut lower, MountKind::Overlay, &name)?;
                MountOp::overlay(
                    lower,
                    absolute(&one)?,
                    absolute(&two)?,
                    target(&three, pivot)?,
                )
            }
            Makes::Target(kind) if kind.info().lower != 0 => {
                let mut op = MountOp::new(kind, target(&one, pivot)?);
                op.lower = overlay_lower(&mut lower, kind, &name)?;
                op
            }
            Makes::Size => {
                if size.is_some() {
                    return Err(Fail::setup(
                        "--size given twice before the --tmpfs it applies to".to_string(),
                    ));
                }
                let bytes = parse_size(&one).map_err(|e| Fail::setup(format!("--size: {e}")))?;
                size = Some(bytes);
                continue;
            }
            Makes::Perms => {
                if perms.is_some() {
                    return Err(Fail::setup(
                        "--perms given twice before the flag it applies to".to_string(),
                    ));
                }
                let mode = parse_mode(&one).map_err(|e| Fail::setup(format!("--perms: {e}")))?;
                perms = Some(mode);
                continue;
            }
            Makes::Bind {
                read_only,
                optional,
                dev,
            } => {
                let src = absolute(&one)?;
                let dst = target(&two, pivot)?;
                let mut op = MountOp::bind(src, dst);
                op.readonly = read_only;
                op.optional = optional;
                op.dev = dev;
                if op.target.trim_end_matches('/').is_empty() {
                    // Onto the new root itself: one bind per entry of SRC (see bind_root).
                    check_no_modifier(size, perms, &name)?;
                    if !optional || Path::new(&op.source).exists() {
                        ops.extend(bind_root(&op)?);
                    }
                    continue;
                }
                op
            }
            Makes::Fd { make, read_only } => {
                let mut op = make(fd_arg(&name, &one)?, target(&two, pivot)?);
                op.readonly = read_only;
                op
            }
            Makes::Target(kind) => {
                let mut op = MountOp::new(kind, target(&one, pivot)?);
                if kind == MountKind::Tmpfs {
                    // Writable for whoever the program runs as, as a tmpfs's default is.
                    op.mode = 0o1777;
                }
                op
            }
            Makes::Symlink => {
                if one.is_empty() {
                    return Err(Fail::setup("--symlink: an empty link text".to_string()));
                }
                MountOp::symlink(one, target(&two, pivot)?)
            }
            Makes::WriteFile => MountOp::file(target(&one, pivot)?, two),
            Makes::Chmod => {
                let mode = parse_mode(&one).map_err(|e| Fail::setup(format!("{name}: {e}")))?;
                MountOp::chmod(target(&two, pivot)?, mode)
            }
        };
        let mut op = op;
        if let Some(bytes) = size.take() {
            if !op.kind.info().takes.size {
                return Err(Fail::setup(format!(
                    "{}, but {name} follows it",
                    size_applies()
                )));
            }
            op.size = bytes;
        }
        if let Some(mode) = perms.take() {
            if !takes_perms(op.kind) {
                return Err(Fail::setup(format!(
                    "{}, but {name} follows it",
                    perms_applies()
                )));
            }
            op.mode = mode;
        }
        ops.push(op);
    }
    check_no_modifier(size, perms, "the end of the mount flags")?;
    if !lower.is_empty() {
        return Err(Fail::setup(OVERLAY_SRC_ALONE.to_string()));
    }
    Ok(ops)
}

/// bubblewrap's words for an --overlay-src that no overlay flag follows.
pub const OVERLAY_SRC_ALONE: &str = "--overlay-src must be followed by another --overlay-src \
    or one of --overlay, --tmp-overlay, or --ro-overlay";

/// The --overlay-src directories given before the overlay flag `flag` (of `kind`), topmost
/// first (as the spec lists them), or bubblewrap's refusal when there are too few.
fn overlay_lower(
    pending: &mut Vec<String>,
    kind: MountKind,
    flag: &str,
) -> Result<Vec<String>, Fail> {
    let fewest = kind.info().lower as usize;
    if pending.len() < fewest {
        let count = if fewest == 1 { "one" } else { "two" };
        return Err(Fail::setup(format!(
            "{flag} requires at least {count} --overlay-src"
        )));
    }
    let mut lower = std::mem::take(pending);
    lower.reverse();
    Ok(lower)
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
        None => own_temp_root(std::env::temp_dir()),
    };
    path.to_string_lossy().into_owned()
}

/// `TMP/forkexec-run-root-UID`, UID as the parent user namespace knows this user. Two levels
/// or more below the host's user namespace (a sandbox's program in a nested one, as under
/// `--disable-userns`), that uid is not the host's, and the directory of that name may be
/// another user's: host root's shows as the overflow uid. Then this user's own directory is
/// the `forkexec-run-root-*` there that this process sees as its own (the one its user made
/// outside). [`crate::run::ensure_root`] checks whichever it is.
fn own_temp_root(tmp: PathBuf) -> PathBuf {
    const PREFIX: &str = "forkexec-run-root-";
    let named = tmp.join(format!("{PREFIX}{}", outer_uid()));
    if defaults::uid_map()
        .split_whitespace()
        .eq(["0", "0", "4294967295"])
    {
        return named; // the host's user namespace: the uid is the host's
    }
    // SAFETY: geteuid has no memory effects and cannot fail.
    let euid = unsafe { libc::geteuid() };
    let ours = |p: &Path| fs::symlink_metadata(p).is_ok_and(|m| m.is_dir() && m.uid() == euid);
    if ours(&named) {
        return named;
    }
    // (Also when it is missing: made here, it would take the name of an id that is not this
    // user's on the host.)
    fs::read_dir(&tmp)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(PREFIX))
                && ours(p)
        })
        .unwrap_or(named)
}

/// This user's uid as the parent user namespace knows it (`/proc/self/uid_map`; the host's
/// own map is the identity): forkexec-run run inside a sandbox (as uid 0 of a user namespace
/// over the host's /tmp) then uses its user's own directory, which it sees as its own, and
/// not host root's, which it sees as owned by the overflow uid.
fn outer_uid() -> u32 {
    // SAFETY: geteuid has no memory effects and cannot fail.
    let euid = unsafe { libc::geteuid() };
    defaults::uid_map()
        .lines()
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
/// skipped), a symlink is followed, a `remount_ro` or `chmod` changes nothing; anything else there (a
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
                MountKind::RemountRo | MountKind::Chmod => continue,
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
pub(crate) fn resolve(cmd: &str, spec: &Spec) -> Result<Option<String>, Fail> {
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
    assemble_ordered(cli, Ordered::from_matches(matches), ids)
}

/// [`assemble`] with the order-sensitive flags already read.
pub fn assemble_ordered(cli: &Cli, ordered: Ordered, ids: Ids) -> Result<Spec, Fail> {
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
    for arg in ordered.env {
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
        (cli.unshare_user || cli.disable_userns, Namespace::NewUser),
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
    // A network namespace these flags make gets its loopback up, as bubblewrap's does: it
    // reaches nothing outside (docs/design.md, "The loopback of a new network namespace"). A
    // spec file's own choice stands; none without the namespace.
    if (cli.unshare_net || cli.unshare_all) && !cli.no_loopback {
        spec.loopback = true;
    }
    if cli.no_loopback || !spec.clone_flags.contains(&Namespace::NewNet) {
        spec.loopback = false;
    }

    // Mounts, in command-line order.
    let mounts = ordered.mounts;
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
            // A fresh proc is of a new pid namespace, or of the one --pidns joins.
            MountKind::Proc if cli.pidns.is_none() => add_ns(&mut spec, Namespace::NewPid),
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
        spec.seccomp = vec![seccomp(policy)?];
    }
    for policy in &cli.add_seccomp {
        spec.seccomp.push(seccomp(policy)?);
    }
    if let Some(dir) = &cli.cgroup {
        spec.cgroup = absolute(dir)?;
        spec.cgroup_fd = None;
    }
    if cli.userns.is_some() || cli.pidns.is_some() || cli.userns2.is_some() {
        let mut join = spec.join_ns.unwrap_or_default();
        join.user = cli.userns.or(join.user);
        join.pid = cli.pidns.or(join.pid);
        join.user2 = cli.userns2.or(join.user2);
        spec.join_ns = Some(join);
    }
    if cli.info_fd.is_some() {
        spec.info_fd = cli.info_fd;
    }
    if cli.json_status_fd.is_some() {
        spec.json_status_fd = cli.json_status_fd;
    }
    for path in &cli.lock_file {
        if !path.starts_with('/') {
            return Err(Fail::setup(format!(
                "--lock-file {path}: the path must be absolute (it is resolved inside the sandbox)"
            )));
        }
        spec.lock_files.push(path.clone());
    }
    if cli.sync_fd.is_some() {
        spec.sync_fd = cli.sync_fd;
    }
    // The helper's init holds them (without a pid namespace unless one is asked for).
    if !spec.lock_files.is_empty() || spec.sync_fd.is_some() {
        spec.init = true;
    }
    spec.no_new_privs |= cli.no_new_privs;
    spec.drop_caps |= cli.drop_caps;
    spec.disable_userns |= cli.disable_userns;
    spec.assert_userns_disabled |= cli.assert_userns_disabled;
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
    if cli.block_fd.is_some() {
        spec.block_fd = cli.block_fd;
    }
    if cli.userns_block_fd.is_some() {
        if !has_ns(&spec, Namespace::NewUser) {
            return Err(Fail::setup(
                "--userns-block-fd needs a new user namespace (--unshare-user)".to_string(),
            ));
        }
        if cli.uid.is_some() || cli.gid.is_some() {
            return Err(Fail::setup(
                "--userns-block-fd: the id maps are another process's to write, not with \
                 --uid/--gid"
                    .to_string(),
            ));
        }
        spec.uid_mappings.clear();
        spec.gid_mappings.clear();
        spec.userns_block_fd = cli.userns_block_fd;
    }
    defaults::root_user_namespace(&mut spec, cli, ids)?;
    defaults::apply(&mut spec, cli, ids)?;
    landlock(&mut spec, cli);
    default_work_dir(&mut spec, cli, ids, fresh);

    // What to run.
    if !cli.command.is_empty() {
        spec.args = cli.command.clone();
        spec.exec_file = None;
        // With --via, the server looks the command up as its sandbox sees it.
        if cli.via.is_none() {
            spec.exec_path = resolve(&cli.command[0], &spec)?;
        }
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
    // A joined user namespace (--userns) gives the rights a new one would.
    if spec.join_ns.is_some_and(|j| j.user.is_some()) {
        if cli.uid.is_some() || cli.gid.is_some() {
            return Err(Fail::setup(
                "--uid/--gid with --userns are not supported yet".to_string(),
            ));
        }
        return Ok(());
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every row of [`FS_FLAGS`] that makes an operation, given once: one operation of the
    /// row's kind, with the row's flags and fd, and fields
    /// its kind takes (so a new row is checked without a new case).
    #[test]
    fn every_filesystem_flag_makes_its_operation() {
        for flag in FS_FLAGS.iter().filter(|f| f.kind.is_some()) {
            let long = format!("--{}", flag.long);
            let mut argv = vec!["forkexec-run".to_string()];
            // An overlay takes the --overlay-src directories before it.
            let srcs = flag.kind.map_or(0, |k| k.info().lower as usize);
            for _ in 0..srcs {
                argv.extend(["--overlay-src".to_string(), "/l".to_string()]);
            }
            argv.push(long.clone());
            argv.extend(flag.values.iter().map(|v| {
                match *v {
                    "SRC" => "/usr",
                    "FD" => "6",
                    "CONTENT" => "c",
                    "OCTAL" => "0700",
                    _ => "/x",
                }
                .to_string()
            }));
            argv.extend(["--".into(), "/bin/true".into()]);
            let m = crate::cli::Cli::command()
                .try_get_matches_from(&argv)
                .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
            let args = mount_args(&m);
            assert_eq!(args.len(), 1 + srcs, "{long}");
            let ops = mount_ops(args, true).unwrap_or_else(|e| panic!("{long}: {e:?}"));
            let op = &ops[0];
            assert_eq!(Some(op.kind), flag.kind, "{long}");
            assert_eq!(op.target, "/x", "{long}");
            assert_eq!(ops.len(), 1, "{long}");
            op.check().unwrap_or_else(|e| panic!("{long}: {e}"));
            match flag.makes {
                Makes::Bind {
                    read_only,
                    optional,
                    dev,
                } => assert_eq!(
                    (op.readonly, op.optional, op.dev),
                    (read_only, optional, dev)
                ),
                Makes::Fd { read_only, .. } => {
                    assert_eq!((op.fd(), op.readonly), (Some(6), read_only), "{long}")
                }
                _ => assert_eq!(op.fd(), None),
            }
            // --perms and --size reach it exactly when its kind takes them.
            for (modifier, value, takes) in [
                ("--perms", "0700", takes_perms(op.kind)),
                ("--size", "4k", op.kind.info().takes.size),
            ] {
                let mut with = argv.clone();
                with.splice(1..1, [modifier.to_string(), value.to_string()]);
                let m = crate::cli::Cli::command()
                    .try_get_matches_from(&with)
                    .unwrap();
                match mount_ops(mount_args(&m), true) {
                    Ok(ops) => {
                        assert!(takes, "{modifier} {long}");
                        let op = &ops[0];
                        assert!(op.mode == 0o700 || op.size == 4096, "{modifier} {long}");
                    }
                    Err(_) => assert!(!takes, "{modifier} {long}"),
                }
            }
        }
    }
}
