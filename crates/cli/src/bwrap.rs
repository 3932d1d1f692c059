//! bubblewrap mode (docs/cli.md, "bubblewrap mode"): forkexec-run run under the name `bwrap`
//! (a symlink; `make install` makes one) or with a leading `--bwrap` takes bubblewrap 0.11's
//! command line and behaves as bubblewrap 0.11.1 does.
//!
//! bubblewrap's options are read the way bwrap reads them: in order, each with a fixed number
//! of values, `--args FD` splicing NUL-separated arguments in at its place, the first
//! non-option (or `--`) starting the command, and bwrap's own checks with its words. The
//! result is forkexec-run's own command line ([`Bwrap::native`]): the mount flags in order, the
//! rest from what bwrap decided (namespaces, ids, environment), and bubblewrap's defaults asked
//! for by the names of the flags that turn forkexec-run's safe defaults off
//! ([`Bwrap::native`] is built in [`Parser::finish`]). What has no flag is applied to the
//! assembled spec ([`apply`]: `--seccomp FD`, `--die-with-parent` without a pid namespace,
//! `PWD`, a repeated `--symlink`, the parent directories' modes). Options the helper cannot do yet are refused by name, never
//! ignored. [`OPTIONS`] is the one table of all of them.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, IntoRawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use forkexec_client::{MountEntry, MountKind, SockFilter, Spec};

/// What forkexec-run does with a bubblewrap option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handling {
    /// Passed on in command-line order as forkexec-run's own flag of the same name.
    Same,
    /// Read by the bubblewrap mode, which gives forkexec-run the flags (or the spec the
    /// values) that do what bwrap does with it.
    Own,
    /// Not supported yet: refused by name, the sandbox is not started.
    Refused,
}

/// Every bubblewrap 0.11 option: name, number of values, what forkexec-run does with it.
pub const OPTIONS: &[(&str, usize, Handling)] = &[
    ("--help", 0, Handling::Own),
    ("--version", 0, Handling::Own),
    ("--args", 1, Handling::Own),
    ("--argv0", 1, Handling::Own),
    ("--level-prefix", 0, Handling::Own),
    ("--unshare-all", 0, Handling::Own),
    ("--share-net", 0, Handling::Own),
    ("--unshare-user", 0, Handling::Own),
    ("--unshare-user-try", 0, Handling::Own),
    ("--unshare-ipc", 0, Handling::Own),
    ("--unshare-pid", 0, Handling::Own),
    ("--unshare-net", 0, Handling::Own),
    ("--unshare-uts", 0, Handling::Own),
    ("--unshare-cgroup", 0, Handling::Own),
    ("--unshare-cgroup-try", 0, Handling::Own),
    ("--userns", 1, Handling::Own),
    ("--userns2", 1, Handling::Own),
    ("--disable-userns", 0, Handling::Own),
    ("--assert-userns-disabled", 0, Handling::Own),
    ("--pidns", 1, Handling::Own),
    ("--uid", 1, Handling::Own),
    ("--gid", 1, Handling::Own),
    ("--hostname", 1, Handling::Own),
    ("--chdir", 1, Handling::Own),
    ("--clearenv", 0, Handling::Own),
    ("--setenv", 2, Handling::Own),
    ("--unsetenv", 1, Handling::Own),
    ("--lock-file", 1, Handling::Own),
    ("--sync-fd", 1, Handling::Own),
    ("--perms", 1, Handling::Own),
    ("--size", 1, Handling::Own),
    ("--bind", 2, Handling::Same),
    ("--bind-try", 2, Handling::Same),
    ("--dev-bind", 2, Handling::Same),
    ("--dev-bind-try", 2, Handling::Same),
    ("--ro-bind", 2, Handling::Same),
    ("--ro-bind-try", 2, Handling::Same),
    ("--bind-fd", 2, Handling::Same),
    ("--ro-bind-fd", 2, Handling::Same),
    ("--remount-ro", 1, Handling::Same),
    ("--overlay-src", 1, Handling::Same),
    ("--overlay", 3, Handling::Same),
    ("--tmp-overlay", 1, Handling::Same),
    ("--ro-overlay", 1, Handling::Same),
    ("--exec-label", 1, Handling::Refused),
    ("--file-label", 1, Handling::Refused),
    ("--proc", 1, Handling::Same),
    ("--dev", 1, Handling::Same),
    ("--tmpfs", 1, Handling::Same),
    ("--mqueue", 1, Handling::Same),
    ("--dir", 1, Handling::Same),
    ("--file", 2, Handling::Same),
    ("--bind-data", 2, Handling::Same),
    ("--ro-bind-data", 2, Handling::Same),
    ("--symlink", 2, Handling::Same),
    ("--chmod", 2, Handling::Same),
    ("--seccomp", 1, Handling::Own),
    ("--add-seccomp-fd", 1, Handling::Own),
    ("--block-fd", 1, Handling::Own),
    ("--userns-block-fd", 1, Handling::Own),
    ("--info-fd", 1, Handling::Same),
    ("--json-status-fd", 1, Handling::Same),
    ("--new-session", 0, Handling::Own),
    ("--die-with-parent", 0, Handling::Own),
    ("--as-pid-1", 0, Handling::Own),
    ("--cap-add", 1, Handling::Own),
    ("--cap-drop", 1, Handling::Own),
];

/// bwrap's limit on the number of arguments, `--args` included.
const MAX_ARGS: usize = 9000;

/// bwrap's limit on `--size`: `SIZE_MAX >> 1`.
const MAX_TMPFS_BYTES: u64 = u64::MAX >> 1;

/// Whether this invocation is in bubblewrap mode: the program's name is `bwrap`, or the first
/// argument is `--bwrap`.
pub fn selected(args: &[OsString]) -> bool {
    let name = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .is_some_and(|n| n == "bwrap");
    name || args.get(1).is_some_and(|a| a == "--bwrap")
}

/// What bubblewrap looks at on the host before it decides: who runs it, which namespaces the
/// kernel offers, the caller's capabilities and environment. [`Host::current`] reads them;
/// tests make their own.
#[derive(Clone, Debug)]
pub struct Host {
    /// The real uid (bwrap's `real_uid`: 0 keeps its capabilities).
    pub uid: u32,
    /// The real gid.
    pub gid: u32,
    /// Whether this is root of the host's own user namespace (forkexec-run's
    /// `--allow-host-root` is then what bwrap does).
    pub host_root: bool,
    /// The effective capabilities (bwrap as uid 0 keeps these by default).
    pub caps: u64,
    /// Every capability this kernel has (up to `cap_last_cap`).
    pub all_caps: u64,
    /// Whether user namespaces can be made (`--unshare-user-try`).
    pub userns: bool,
    /// Whether the kernel has cgroup namespaces.
    pub cgroupns: bool,
    /// The caller's environment.
    pub env: Vec<(OsString, OsString)>,
}

impl Host {
    /// This process's host.
    pub fn current() -> Host {
        // SAFETY: getuid and getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let caps = crate::caps::effective();
        let last = read_small("/proc/sys/kernel/cap_last_cap")
            .and_then(|v| v.trim().parse::<u32>().ok())
            .unwrap_or(crate::caps::CAPABILITIES.len() as u32 - 1)
            .min(63);
        let disabled = read_small("/proc/sys/user/max_user_namespaces")
            .is_some_and(|v| v.trim() == "0")
            || read_small("/sys/module/user_namespace/parameters/enable")
                .is_some_and(|v| v.starts_with('N'));
        let ids = crate::assemble::Ids::current();
        Host {
            uid,
            gid,
            host_root: crate::defaults::is_host_root(ids),
            caps,
            all_caps: if last == 63 {
                u64::MAX
            } else {
                (1u64 << (last + 1)) - 1
            },
            userns: Path::new("/proc/self/ns/user").exists() && !disabled,
            cgroupns: Path::new("/proc/self/ns/cgroup").exists(),
            env: std::env::vars_os().collect(),
        }
    }
}

/// A small file of the kernel's (`/proc/sys`, `/sys/module`) in one `read`: its first 64
/// bytes, which hold the whole of the single numbers and words these files have.
fn read_small(path: &str) -> Option<String> {
    let mut buf = [0u8; 64];
    let n = std::io::Read::read(&mut std::fs::File::open(path).ok()?, &mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// A bubblewrap command line, read.
#[derive(Debug, Default)]
pub struct Bwrap {
    /// forkexec-run's own command line that does what this one asks (the program name, the
    /// flags, `--`, the command); empty for `--help`, `--version` and a missing command.
    pub native: Vec<OsString>,
    /// `--help` came (bwrap prints its usage at once and exits 0).
    pub help: bool,
    /// `--version` came.
    pub version: bool,
    /// `--level-prefix`: messages start with a syslog level.
    pub level_prefix: bool,
    /// `--die-with-parent`: the sandbox dies with bwrap's parent (no pid namespace brought).
    pub die_with_parent: bool,
    /// Compiled BPF programs read from `--add-seccomp-fd FD`s, in order (bwrap reads each
    /// at once, and closes its fd).
    pub seccomp: Vec<Vec<SockFilter>>,
    /// `--seccomp FD` (the last one): read once the command line is taken.
    pub seccomp_fd: Option<i32>,
    /// `--sync-fd FD` with `--as-pid-1`: bwrap leaves it open in the program (pid 1), which
    /// then holds it; the program gets it at its number.
    pub sync_fd_in_program: Option<i32>,
    /// The command and its arguments (empty: bwrap prints its usage and exits 1).
    pub command: Vec<OsString>,
    /// Warnings bubblewrap prints and goes on (a repeated `--chdir`).
    pub warnings: Vec<String>,
    /// bwrap as uid 0 without `--cap-add`/`--cap-drop`: the program keeps what bwrap has,
    /// its capability sets untouched (the kept set's LEAVE_SETS).
    pub leave_cap_sets: bool,
}

/// Why a bubblewrap command line cannot run: bubblewrap's wording, exit status 1.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal(pub String);

fn refuse<T>(text: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal(text.into()))
}

/// `--exec-label`/`--file-label`, refused where bwrap reads them. Without SELinux bubblewrap
/// refuses them itself, in these words (`die_unless_label_valid`); with SELinux enabled it
/// would apply them, which forkexec-run does not (yet): a refusal that says so.
fn label_refusal(opt: &str) -> String {
    if selinux_enabled() {
        format!(
            "{opt}: SELinux labels are not applied by forkexec-run's bubblewrap mode yet \
             (SELinux is enabled on this system)"
        )
    } else {
        "labeling not supported on this system".to_string()
    }
}

/// Whether SELinux is enabled, as libselinux's `is_selinux_enabled()` decides (bubblewrap asks
/// it): a selinuxfs mounted read-write at /sys/fs/selinux or /selinux (or listed in
/// /proc/mounts), and a policy configuration, /etc/selinux/config.
fn selinux_enabled() -> bool {
    const SELINUX_MAGIC: u32 = 0xf97c_ff8c;
    let selinuxfs = |path: &str| {
        let Ok(c) = std::ffi::CString::new(path) else {
            return false;
        };
        // SAFETY: statfs and statvfs write into the zeroed structs we own; `c` is a C string.
        let mut st: libc::statfs = unsafe { std::mem::zeroed() };
        let mut vfs: libc::statvfs = unsafe { std::mem::zeroed() };
        let ok = unsafe { libc::statfs(c.as_ptr(), &mut st) == 0 }
            && unsafe { libc::statvfs(c.as_ptr(), &mut vfs) == 0 };
        ok && st.f_type as u32 == SELINUX_MAGIC && vfs.f_flag & libc::ST_RDONLY == 0
    };
    let mounted = ["/sys/fs/selinux", "/selinux"].into_iter().any(selinuxfs)
        || std::fs::read_to_string("/proc/mounts")
            .is_ok_and(|m| m.lines().any(|l| l.split(' ').nth(2) == Some("selinuxfs")));
    mounted && Path::new("/etc/selinux/config").exists()
}

fn option(name: &[u8]) -> Option<(&'static str, usize, Handling)> {
    OPTIONS
        .iter()
        .copied()
        .find(|(n, _, _)| n.as_bytes() == name)
}

/// bwrap's words for a missing value.
fn takes(opt: &str, arity: usize) -> String {
    let what = match (opt, arity) {
        ("--argv0" | "--chdir" | "--remount-ro", _) => "one argument",
        (_, 1) => "an argument",
        (_, 2) => "two arguments",
        _ => "three arguments",
    };
    format!("{opt} takes {what}")
}

/// The namespaces asked for, as bwrap keeps them.
#[derive(Debug, Default)]
struct Unshare {
    user: bool,
    user_try: bool,
    ipc: bool,
    pid: bool,
    net: bool,
    uts: bool,
    cgroup: bool,
    cgroup_try: bool,
}

/// The state of bwrap's option reading.
struct Parser<'h> {
    host: &'h Host,
    b: Bwrap,
    /// The mount flags, in order, as forkexec-run's own.
    mounts: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    /// The first `--mqueue`'s destination (bwrap's mount of it may be refused: `Parser::finish`).
    mqueue: Option<OsString>,
    /// An environment option came (`--clearenv`, `--setenv`, `--unsetenv`): without one the
    /// program gets the caller's environment, which is forkexec-run's own default.
    env_changed: bool,
    unshare: Unshare,
    uid: Option<u32>,
    gid: Option<u32>,
    /// `--userns`, `--userns2`, `--pidns`: fds of namespaces to join (the last of each).
    userns: Option<i32>,
    userns2: Option<i32>,
    pidns: Option<i32>,
    hostname: Option<OsString>,
    chdir: Option<OsString>,
    argv0: Option<OsString>,
    caps: u64,
    caps_used: bool,
    new_session: bool,
    as_pid_1: bool,
    disable_userns: bool,
    assert_userns_disabled: bool,
    /// `--lock-file`s, in order; the last `--sync-fd`.
    lock_files: Vec<OsString>,
    sync_fd: Option<i32>,
    /// The last `--block-fd` and `--userns-block-fd`; whether an `--info-fd` came.
    block_fd: Option<i32>,
    userns_block_fd: Option<i32>,
    info_fd: bool,
    next_perms: Option<u32>,
    next_size: Option<u64>,
    /// `--symlink`s so far (text, destination): the same one again is skipped.
    symlinks: Vec<(OsString, OsString)>,
    /// The last option was an `--overlay-src`.
    overlay_src: bool,
    total: usize,
}

/// Reads bubblewrap's command line (`args` without `argv[0]`, with or without the leading
/// `--bwrap`) as bwrap would on `host`.
pub fn parse(name: &str, args: Vec<OsString>, host: &Host) -> Result<Bwrap, Refusal> {
    let mut p = Parser {
        host,
        b: Bwrap::default(),
        mounts: Vec::new(),
        env: host.env.clone(),
        mqueue: None,
        env_changed: false,
        unshare: Unshare::default(),
        uid: None,
        gid: None,
        userns: None,
        userns2: None,
        pidns: None,
        hostname: None,
        chdir: None,
        argv0: None,
        // bwrap as uid 0 starts from its own capabilities; anyone else from none.
        caps: if host.uid == 0 { host.caps } else { 0 },
        caps_used: false,
        new_session: false,
        as_pid_1: false,
        disable_userns: false,
        assert_userns_disabled: false,
        lock_files: Vec::new(),
        sync_fd: None,
        block_fd: None,
        userns_block_fd: None,
        info_fd: false,
        next_perms: None,
        next_size: None,
        symlinks: Vec::new(),
        overlay_src: false,
        total: args.len(),
    };
    let skip = usize::from(args.first().is_some_and(|a| a == "--bwrap"));
    let rest = p.read(&args[skip..], false)?;
    if p.b.help || p.b.version {
        return Ok(p.b);
    }
    p.b.command = args[skip + rest..].to_vec();
    if p.b.command.first().is_some_and(|a| a == "--") {
        p.b.command.remove(0);
    }
    p.finish(name)?;
    Ok(p.b)
}

impl Parser<'_> {
    /// Reads options from `args` up to the command; returns where it starts. In an `--args`
    /// file, a non-option ends the file's options (bwrap takes the command from the command
    /// line only).
    fn read(&mut self, args: &[OsString], in_file: bool) -> Result<usize, Refusal> {
        if self.total > MAX_ARGS {
            return refuse(format!("Exceeded maximum number of arguments {MAX_ARGS}"));
        }
        let mut i = 0;
        while i < args.len() {
            let arg = args[i].as_bytes();
            if arg == b"--" || !arg.starts_with(b"-") {
                // `--` itself is left for the caller to drop.
                return Ok(i);
            }
            let Some((opt, arity, handling)) = option(arg) else {
                return refuse(format!("Unknown option {}", String::from_utf8_lossy(arg)));
            };
            if args.len() - i - 1 < arity {
                return refuse(takes(opt, arity));
            }
            let values = &args[i + 1..i + 1 + arity];
            i += 1 + arity;
            // bubblewrap: an --overlay-src is followed by another or by an overlay option, not
            // by any other option (forkexec-run checks the order among mount flags only).
            if self.overlay_src && !opt.contains("overlay") {
                return refuse(crate::assemble::OVERLAY_SRC_ALONE);
            }
            self.overlay_src = opt == "--overlay-src";
            match handling {
                Handling::Refused if opt.ends_with("-label") => return refuse(label_refusal(opt)),
                Handling::Refused => {
                    return refuse(format!(
                        "{opt} is not supported by forkexec-run's bubblewrap mode yet"
                    ))
                }
                Handling::Same => self.mount(opt, values)?,
                Handling::Own => {
                    if self.own(opt, values, in_file)? {
                        return Ok(i);
                    }
                }
            }
            // A --perms or --size not taken by this option: bwrap's checks.
            if opt != "--perms" && opt != "--size" {
                if self.next_perms.is_some() {
                    return refuse("--perms must be followed by an option that creates a file");
                }
                if self.next_size.is_some() {
                    return refuse("--size must be followed by --tmpfs");
                }
            }
        }
        Ok(i)
    }

    /// A mount option, passed on in order (with the mode and size bwrap gives it).
    fn mount(&mut self, opt: &str, values: &[OsString]) -> Result<(), Refusal> {
        // bwrap's default modes where forkexec-run's differ: a tmpfs 0755 (not 1777), a file
        // 0666 (not 0644); a --dir (0755) and the file of --bind-data (0600) as in both.
        let default_mode = match opt {
            "--tmpfs" => Some(0o755),
            "--file" => Some(0o666),
            "--dir" => Some(0o755),
            "--bind-data" | "--ro-bind-data" => Some(0o600),
            _ => None,
        };
        if let Some(mode) = default_mode {
            let mode = self.next_perms.take().unwrap_or(mode);
            self.mounts
                .extend(["--perms".into(), format!("{mode:04o}").into()]);
        }
        if opt == "--tmpfs" {
            if let Some(size) = self.next_size.take() {
                self.mounts
                    .extend(["--size".into(), size.to_string().into()]);
            }
        }
        match opt {
            "--info-fd" => self.info_fd = true,
            "--file" | "--bind-data" | "--ro-bind-data" => {
                data_fd(fd_value(&values[0])?, &values[1])?;
            }
            "--mqueue" if self.mqueue.is_none() => self.mqueue = Some(values[0].clone()),
            "--chmod" if parse_octal(&values[0]).is_none() => {
                return refuse("--chmod takes an octal argument <= 07777");
            }
            "--bind" | "--ro-bind" | "--dev-bind" => {
                let src = Path::new(&values[0]);
                if let Err(e) = std::fs::metadata(src) {
                    return refuse(format!(
                        "Can't find source path {}: {}",
                        src.display(),
                        strerror(&e)
                    ));
                }
            }
            "--symlink" => {
                let pair = (values[0].clone(), values[1].clone());
                if let Some((text, _)) = self.symlinks.iter().find(|(_, d)| *d == pair.1) {
                    if *text == pair.0 {
                        return Ok(());
                    }
                    return refuse(format!(
                        "Can't make symlink at {}: existing destination is {}",
                        pair.1.to_string_lossy(),
                        text.to_string_lossy()
                    ));
                }
                self.symlinks.push(pair);
            }
            _ => {}
        }
        self.mounts.push(opt.into());
        self.mounts.extend(values.iter().cloned());
        Ok(())
    }

    /// An option bwrap mode reads itself; `true` when reading stops (`--help`, `--version`).
    fn own(&mut self, opt: &str, values: &[OsString], in_file: bool) -> Result<bool, Refusal> {
        let value = || values[0].clone();
        let text = || values[0].to_string_lossy().into_owned();
        let u = &mut self.unshare;
        match opt {
            "--help" => self.b.help = true,
            "--version" => self.b.version = true,
            "--level-prefix" => self.b.level_prefix = true,
            "--args" => {
                if in_file {
                    return refuse("--args not supported in arguments file");
                }
                let spliced = read_args(&values[0])?;
                self.total += spliced.len();
                if self.total > MAX_ARGS {
                    return refuse(format!("Exceeded maximum number of arguments {MAX_ARGS}"));
                }
                self.read(&spliced, true)?;
                return Ok(self.b.help || self.b.version);
            }
            "--argv0" => {
                if self.argv0.is_some() {
                    return refuse("--argv0 used multiple times");
                }
                self.argv0 = Some(value());
            }
            "--unshare-all" => {
                // bwrap's own choice: the -try variants of user and cgroup.
                u.user_try = true;
                u.ipc = true;
                u.pid = true;
                u.uts = true;
                u.cgroup_try = true;
                u.net = true;
            }
            "--share-net" => u.net = false,
            "--unshare-user" => u.user = true,
            "--unshare-user-try" => u.user_try = true,
            "--unshare-ipc" => u.ipc = true,
            "--unshare-pid" => u.pid = true,
            "--unshare-net" => u.net = true,
            "--unshare-uts" => u.uts = true,
            "--unshare-cgroup" => u.cgroup = true,
            "--unshare-cgroup-try" => u.cgroup_try = true,
            "--uid" | "--gid" => {
                let what = &opt[2..];
                let id = text()
                    .parse::<i32>()
                    .ok()
                    .filter(|&id| id >= 0)
                    .ok_or_else(|| Refusal(format!("Invalid {what}: {}", text())))?;
                let slot = if opt == "--uid" {
                    &mut self.uid
                } else {
                    &mut self.gid
                };
                if slot.is_some() {
                    self.b.warnings.push(last_only(opt));
                }
                *slot = Some(id as u32);
            }
            "--userns" | "--userns2" | "--pidns" => {
                let slot = match opt {
                    "--userns" => &mut self.userns,
                    "--userns2" => &mut self.userns2,
                    _ => &mut self.pidns,
                };
                if slot.is_some() {
                    self.b.warnings.push(last_only(opt));
                }
                *slot = Some(fd_value(&values[0])?);
            }
            "--hostname" | "--chdir" => {
                let slot = if opt == "--hostname" {
                    &mut self.hostname
                } else {
                    &mut self.chdir
                };
                if slot.is_some() {
                    self.b.warnings.push(last_only(opt));
                }
                *slot = Some(value());
            }
            "--clearenv" => {
                self.env.clear();
                self.env_changed = true;
            }
            "--setenv" => {
                self.env.retain(|(k, _)| *k != values[0]);
                self.env.push((values[0].clone(), values[1].clone()));
                self.env_changed = true;
            }
            "--unsetenv" => {
                self.env.retain(|(k, _)| *k != values[0]);
                self.env_changed = true;
            }
            "--perms" => {
                if self.next_perms.is_some() {
                    return refuse("--perms given twice for the same action");
                }
                self.next_perms =
                    Some(parse_octal(&values[0]).ok_or_else(|| {
                        Refusal("--perms takes an octal argument <= 07777".into())
                    })?);
            }
            "--size" => {
                if self.next_size.is_some() {
                    return refuse("--size given twice for the same action");
                }
                self.next_size = Some(parse_size(&values[0])?);
            }
            "--seccomp" => {
                if !self.b.seccomp.is_empty() {
                    return refuse("--seccomp cannot be combined with --add-seccomp-fd");
                }
                if self.b.seccomp_fd.is_some() {
                    self.b.warnings.push(last_only(opt));
                }
                self.b.seccomp_fd = Some(fd_value(&values[0])?);
            }
            "--add-seccomp-fd" => {
                if self.b.seccomp_fd.is_some() {
                    return refuse("--add-seccomp-fd cannot be combined with --seccomp");
                }
                let program = read_bpf(fd_value(&values[0])?)?;
                self.b.seccomp.push(program);
            }
            "--lock-file" => self.lock_files.push(value()),
            "--sync-fd" | "--block-fd" | "--userns-block-fd" => {
                let slot = match opt {
                    "--sync-fd" => &mut self.sync_fd,
                    "--block-fd" => &mut self.block_fd,
                    _ => &mut self.userns_block_fd,
                };
                if slot.is_some() {
                    self.b.warnings.push(last_only(opt));
                }
                *slot = Some(fd_value(&values[0])?);
            }
            "--new-session" => self.new_session = true,
            "--die-with-parent" => self.b.die_with_parent = true,
            "--as-pid-1" => self.as_pid_1 = true,
            "--disable-userns" => self.disable_userns = true,
            "--assert-userns-disabled" => self.assert_userns_disabled = true,
            "--cap-add" | "--cap-drop" => {
                self.caps_used = true;
                let bits = crate::caps::bits(&values[0])
                    .ok_or_else(|| Refusal(format!("unknown cap: {}", text())))?;
                if opt == "--cap-add" {
                    self.caps |= bits;
                } else {
                    self.caps &= !bits;
                }
            }
            other => unreachable!("{other} is not read by the bubblewrap mode"),
        }
        Ok(self.b.help || self.b.version)
    }

    /// bwrap's checks after reading, then forkexec-run's command line: bubblewrap's defaults
    /// by the names of the flags that turn forkexec-run's own safe defaults off.
    fn finish(&mut self, name: &str) -> Result<(), Refusal> {
        let host = self.host;
        let u = &mut self.unshare;
        if self.userns_block_fd.is_some() && !u.user {
            return refuse("--userns-block-fd requires --unshare-user");
        }
        if self.userns_block_fd.is_some() && !self.info_fd {
            return refuse("--userns-block-fd requires --info-fd");
        }
        if self.userns.is_some() && u.user {
            return refuse("--userns not compatible --unshare-user");
        }
        if self.userns.is_some() && u.user_try {
            return refuse("--userns not compatible --unshare-user-try");
        }
        // Asked for by name: not the user namespace an ordinary user gets anyway (below).
        if self.disable_userns && !u.user {
            return refuse("--disable-userns requires --unshare-user");
        }
        if self.disable_userns && self.userns_block_fd.is_some() {
            // (bwrap's words, two spaces included.)
            return refuse("--disable-userns is not compatible with  --userns-block-fd");
        }
        // An ordinary user always gets a user namespace (bwrap is not setuid here), unless
        // it joins one.
        if host.uid != 0 && self.userns.is_none() {
            u.user = true;
        }
        if u.user_try && host.userns {
            u.user = true;
        }
        if self.b.command.is_empty() {
            // bwrap prints its usage and exits 1.
            return Ok(());
        }
        let user = u.user || self.userns.is_some();
        // bwrap's mount(2) of an mqueue needs CAP_SYS_ADMIN over the user namespace that owns
        // the IPC namespace: a new one's, or else the caller's own, which only a capable
        // caller that stays in its user namespace has. (The helper's new mount API would
        // mount it all the same.)
        if let Some(dest) = &self.mqueue {
            if !u.ipc && (user || !owns_ipc_namespace(host)) {
                return refuse(format!(
                    "Can't mount mqueue on /newroot/{}: Operation not permitted",
                    dest.to_string_lossy().trim_start_matches('/')
                ));
            }
        }
        if !user && self.uid.is_some_and(|id| id != host.uid) {
            return refuse("Specifying --uid requires --unshare-user or --userns");
        }
        if !user && self.gid.is_some_and(|id| id != host.gid) {
            return refuse("Specifying --gid requires --unshare-user or --userns");
        }
        if self.userns.is_some() && (self.uid.is_some() || self.gid.is_some()) {
            return refuse(
                "--uid/--gid with --userns are not supported by forkexec-run's bubblewrap mode yet",
            );
        }
        if self.pidns.is_some() && u.pid {
            return refuse(
                "--pidns with --unshare-pid (a new pid namespace below the joined one) is not \
                 supported by forkexec-run's bubblewrap mode yet",
            );
        }
        if !u.uts && self.hostname.is_some() {
            return refuse("Specifying --hostname requires --unshare-uts");
        }
        if self.as_pid_1 && !u.pid {
            return refuse("Specifying --as-pid-1 requires --unshare-pid");
        }
        if self.as_pid_1 && !self.lock_files.is_empty() {
            return refuse("Specifying --as-pid-1 and --lock-file is not permitted");
        }
        if let Some(path) = self
            .lock_files
            .iter()
            .find(|p| !p.as_bytes().starts_with(b"/"))
        {
            return refuse(format!(
                "--lock-file {} (a relative path) is not supported by forkexec-run's \
                 bubblewrap mode yet",
                path.to_string_lossy()
            ));
        }
        if u.cgroup && !host.cgroupns {
            return refuse(
                "Cannot create new cgroup namespace because the kernel does not support it",
            );
        }
        if u.cgroup_try && host.cgroupns {
            u.cgroup = true;
        }

        let n = &mut self.b.native;
        let flag = |n: &mut Vec<OsString>, f: &str| n.push(f.into());
        n.push(name.into());
        // bubblewrap's root: a new one, a tmpfs, writable.
        flag(n, "--writable-root");
        // bubblewrap leaves the session keyring alone.
        flag(n, "--share-keyring");
        // bubblewrap as host root maps the program onto host root (uid 0 outside) in a user
        // namespace, and without one it runs as uid 0 with root's capabilities.
        if host.host_root {
            flag(n, "--allow-host-root");
        }
        // The capabilities bwrap keeps: as uid 0 its own unless --cap-add/--cap-drop (then
        // untouched: LEAVE_SETS, applied by `apply`), anyone else none unless --cap-add.
        // (Root without a user namespace keeping one it does not have: bwrap's capset
        // fails, and bwrap goes on with its sets untouched.)
        let own_ns = !u.user && self.userns.is_none();
        self.b.leave_cap_sets =
            host.uid == 0 && (!self.caps_used || (own_ns && self.caps & !host.caps != 0));
        if self.caps & host.all_caps == host.all_caps {
            n.extend(["--cap-add".into(), "ALL".into()]);
        } else {
            for cap in (0..64).filter(|c| self.caps & 1 << c != 0) {
                n.extend(["--cap-add".into(), cap.to_string().into()]);
            }
        }
        // no_new_privs: bubblewrap always sets it, as forkexec-run's default does.
        for (on, f) in [
            (u.user, "--unshare-user"),
            (u.pid, "--unshare-pid"),
            (u.net, "--unshare-net"),
            (u.ipc, "--unshare-ipc"),
            (u.uts, "--unshare-uts"),
            (u.cgroup, "--unshare-cgroup"),
        ] {
            if on {
                flag(n, f);
            }
        }
        for (on, f) in [
            (self.disable_userns, "--disable-userns"),
            (self.assert_userns_disabled, "--assert-userns-disabled"),
        ] {
            if on {
                flag(n, f);
            }
        }
        for (f, fd) in [
            ("--userns", self.userns),
            ("--pidns", self.pidns),
            ("--userns2", self.userns2),
        ] {
            if let Some(fd) = fd {
                n.extend([f.into(), fd.to_string().into()]);
            }
        }
        // bubblewrap's own init is pid 1 of its pid namespace, unless --as-pid-1.
        if u.pid && !self.as_pid_1 {
            flag(n, "--init");
        }
        // bwrap forks an init to hold the locks and the sync fd (pid 1 with --unshare-pid,
        // else the program's parent): forkexec-run's --lock-file and --sync-fd bring the
        // helper's, the same way. With --as-pid-1 the program itself keeps the sync fd.
        for path in &self.lock_files {
            n.extend(["--lock-file".into(), path.clone()]);
        }
        for (f, fd) in [
            ("--block-fd", self.block_fd),
            ("--userns-block-fd", self.userns_block_fd),
        ] {
            if let Some(fd) = fd {
                n.extend([f.into(), fd.to_string().into()]);
            }
        }
        if let Some(fd) = self.sync_fd {
            if self.as_pid_1 {
                self.b.sync_fd_in_program = Some(fd);
            } else {
                n.extend(["--sync-fd".into(), fd.to_string().into()]);
            }
        }
        flag(
            n,
            if self.new_session {
                "--new-session"
            } else {
                "--no-setsid"
            },
        );
        if u.user {
            for (f, id) in [("--uid", self.uid), ("--gid", self.gid)] {
                if let Some(id) = id {
                    n.extend([f.into(), id.to_string().into()]);
                }
            }
        }
        for (f, v) in [
            ("--hostname", &self.hostname),
            ("--chdir", &self.chdir),
            ("--argv0", &self.argv0),
        ] {
            if let Some(v) = v {
                n.extend([f.into(), v.clone()]);
            }
        }
        // The environment bwrap would pass: the caller's, changed in command-line order. The
        // caller's unchanged is forkexec-run's default, and then nothing is said: a --setenv
        // per variable would be most of what clap reads.
        if self.env_changed {
            flag(n, "--clearenv");
            for (k, v) in &self.env {
                if k.to_str().is_some() && v.to_str().is_some() && !k.is_empty() {
                    n.extend(["--setenv".into(), k.clone(), v.clone()]);
                }
            }
        }
        n.append(&mut self.mounts);
        n.push("--".into());
        n.extend(self.b.command.iter().cloned());
        Ok(())
    }
}

fn last_only(opt: &str) -> String {
    format!("Only the last {opt} option will take effect")
}

/// `--perms`: octal, at most 07777 (bwrap's `strtoul(…, 8)`).
fn parse_octal(v: &OsStr) -> Option<u32> {
    let s = v.to_str()?;
    if s.is_empty() || !s.bytes().all(|c| (b'0'..=b'7').contains(&c)) {
        return None;
    }
    u32::from_str_radix(s, 8).ok().filter(|&m| m <= 0o7777)
}

/// `--size`: a number in C's notation (decimal, `0x` hex, `0` octal) that starts with a digit,
/// above 0 and at most [`MAX_TMPFS_BYTES`] (bwrap's `strtoull(…, 0)` rules).
fn parse_size(v: &OsStr) -> Result<u64, Refusal> {
    let bad = || Refusal("--size takes a non-zero number of bytes".into());
    let s = v.to_str().ok_or_else(bad)?;
    if !s.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(bad());
    }
    let (digits, radix) = if let Some(hex) = s.strip_prefix("0x").or(s.strip_prefix("0X")) {
        (hex, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    let size = u64::from_str_radix(digits, radix).map_err(|_| bad())?;
    if size == 0 {
        return Err(bad());
    }
    if size > MAX_TMPFS_BYTES {
        return refuse(format!(
            "--size (for tmpfs) is limited to {MAX_TMPFS_BYTES}"
        ));
    }
    Ok(size)
}

/// The C library's words for an I/O error, as bubblewrap prints them.
fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// The fd bwrap copies a file's data from (`--file`, `--bind-data`): not open, or a
/// directory, fails as bwrap's copy of it does (`Can't write data to file DEST: Bad file
/// descriptor`), here before anything is set up.
fn data_fd(fd: i32, dest: &OsStr) -> Result<(), Refusal> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes at most one stat into st, which is large enough.
    let err = if unsafe { libc::fstat(fd, st.as_mut_ptr()) } != 0 {
        std::io::Error::last_os_error()
    } else {
        // SAFETY: fstat succeeded and filled st.
        let mode = unsafe { st.assume_init() }.st_mode;
        if mode & libc::S_IFMT != libc::S_IFDIR {
            return Ok(());
        }
        std::io::Error::from_raw_os_error(libc::EISDIR)
    };
    refuse(format!(
        "Can't write data to file {}: {}",
        dest.to_string_lossy(),
        strerror(&err)
    ))
}

/// Whether this process has CAP_SYS_ADMIN over the user namespace that owns its IPC
/// namespace (it is the caller's own; the kernel's `NS_GET_USERNS` says which). Unknown
/// (no `/proc`, an old kernel): true, and the mount says what it says.
fn owns_ipc_namespace(host: &Host) -> bool {
    const CAP_SYS_ADMIN: u32 = 21;
    const NS_GET_USERNS: u32 = 0xb701; // _IO(0xb7, 0x1)
    if host.caps & 1 << CAP_SYS_ADMIN == 0 {
        return false;
    }
    let Ok(ipc) = File::open("/proc/self/ns/ipc") else {
        return true;
    };
    // SAFETY: an ioctl without an argument on an fd this function owns; it returns a new fd.
    let owner = unsafe { libc::ioctl(std::os::fd::AsRawFd::as_raw_fd(&ipc), NS_GET_USERNS as _) };
    if owner < 0 {
        return true;
    }
    // SAFETY: the ioctl just returned this fd, owned by nobody else.
    let owner = unsafe { File::from_raw_fd(owner) };
    use std::os::unix::fs::MetadataExt;
    match (owner.metadata(), std::fs::metadata("/proc/self/ns/user")) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => true,
    }
}

/// An fd number as bwrap reads it (`Invalid fd: X`).
fn fd_value(v: &OsStr) -> Result<i32, Refusal> {
    v.to_str()
        .filter(|s| s.bytes().all(|c| c.is_ascii_digit()))
        .and_then(|s| s.parse::<i32>().ok())
        .ok_or_else(|| Refusal(format!("Invalid fd: {}", v.to_string_lossy())))
}

/// `--args FD`: NUL-separated arguments read from FD to its end (FD is closed).
fn read_args(v: &OsStr) -> Result<Vec<OsString>, Refusal> {
    let fd = fd_value(v)?;
    // SAFETY: the caller handed this fd to bubblewrap to be read and closed, as bwrap does.
    let mut file = unsafe { File::from_raw_fd(fd) };
    let mut data = Vec::new();
    file.read_to_end(&mut data)
        .map_err(|e| Refusal(format!("Can't read --args data: {}", strerror(&e))))?;
    if data.last() == Some(&0) {
        data.pop();
    }
    if data.is_empty() {
        return Ok(Vec::new());
    }
    Ok(data
        .split(|&c| c == 0)
        .map(|a| OsString::from_vec(a.to_vec()))
        .collect())
}

/// bubblewrap's `--proc` is writable (a nested sandbox writes its child's uid_map, a program
/// its oom_score_adj) with read-only covers over `sys`, `sysrq-trigger`, `irq` and `bus` where
/// they are writable (as host root): the proc operation's `cover`, in place of the read-only
/// remount forkexec-run puts right after each proc.
fn proc_as_bubblewrap(spec: &mut Spec) {
    let mut i = 0;
    while i < spec.mounts.len() {
        if let MountEntry::Op(op) = &mut spec.mounts[i] {
            if op.kind == MountKind::Proc {
                op.cover = true;
                let target = op.target.clone();
                let remount = spec.mounts.get(i + 1).and_then(MountEntry::as_op);
                if remount.is_some_and(|r| r.kind == MountKind::RemountRo && r.target == target) {
                    spec.mounts.remove(i + 1);
                }
            }
        }
        i += 1;
    }
}

/// What bubblewrap does that has no forkexec-run flag, applied to the assembled spec.
pub fn apply(b: &Bwrap, spec: &mut Spec) -> Result<(), Refusal> {
    // bwrap's --die-with-parent: PR_SET_PDEATHSIG down the chain (the caller, bwrap, the
    // program), without the pid namespace forkexec-run's flag brings.
    spec.die_with_parent = b.die_with_parent;
    // The parent directories bwrap makes for a mount target: 0755 less what the operation's
    // mode denies its group and the others (0700 for a bind, a proc, a symlink...).
    spec.parents_from_mode = true;
    // bubblewrap's pid 1 holds nothing the program does not and is dumpable: the caller's
    // user can open its /proc/PID/ns/* (the info fd's child-pid) to join its namespaces.
    spec.dumpable_init = spec.init;
    proc_as_bubblewrap(spec);
    if let Some(caps) = &mut spec.caps {
        caps.leave_sets = b.leave_cap_sets;
    }
    // bwrap exits as soon as its pid 1 reports the program's exit code, leaving pid 1's own
    // exit (the namespaces' teardown) behind it.
    spec.no_wait_init = spec.init;
    // Every failure exits 1, as bwrap's: the helper's too when it runs in forkexec-run's place.
    spec.bwrap_errors = true;
    // The programs in bwrap's order: `--seccomp`'s (read now, as bwrap reads it after its
    // setup), or every `--add-seccomp-fd`'s.
    spec.seccomp = match b.seccomp_fd {
        Some(fd) => vec![read_bpf(fd)?],
        None => b.seccomp.clone(),
    };
    if !spec
        .seccomp
        .iter()
        .all(|p| crate::seccomp_check::kernel_accepts(p))
    {
        // A program the kernel refuses (an empty one too) reaches bwrap's prctl, whose
        // EINVAL bwrap says with a hint; the helper has no room for it, so it is said here.
        return refuse(
            "Unable to set up system call filtering as requested: prctl(PR_SET_SECCOMP) \
             reported EINVAL. (Hint: this requires a kernel configured with CONFIG_SECCOMP \
             and CONFIG_SECCOMP_FILTER.)",
        );
    }
    if let Some(fd) = b.sync_fd_in_program {
        let slot = fd as usize;
        if spec.files.len() <= slot {
            spec.files.resize(slot + 1, -1);
        }
        spec.files[slot] = fd;
    }
    // PWD is the directory the program starts in, as bubblewrap sets it.
    let pwd = if spec.work_dir.is_empty() {
        "/".to_string()
    } else {
        spec.work_dir.clone()
    };
    spec.env.retain(|e| !e.starts_with("PWD="));
    spec.env.push(format!("PWD={pwd}"));
    symlinks_onto_the_host(spec)?;
    // `/proc/self/exe` is bwrap itself under bubblewrap: here it is forkexec-run (the helper
    // would find itself), run by its fd and told its mode.
    if spec.args.first().is_some_and(|a| a == "/proc/self/exe") {
        let me = std::env::current_exe()
            .and_then(File::open)
            .map_err(|e| Refusal(format!("/proc/self/exe: {}", strerror(&e))))?;
        spec.exec_path = None;
        spec.exec_file = Some(me.into_raw_fd());
        spec.args.insert(1, "--bwrap".into());
    }
    Ok(())
}

/// A `--symlink` onto a path the host shows through a bind (`--bind "$PWD" "$PWD" --symlink
/// X "$PWD/link"`): bwrap accepts an existing link with the same text and refuses anything
/// else there, in its words; the helper would fail with EEXIST. So the link already there is
/// read here: the same text drops the operation, another one is refused.
fn symlinks_onto_the_host(spec: &mut Spec) -> Result<(), Refusal> {
    let mut i = 0;
    while i < spec.mounts.len() {
        let MountEntry::Op(op) = &spec.mounts[i] else {
            i += 1;
            continue;
        };
        if op.kind != MountKind::Symlink {
            i += 1;
            continue;
        }
        // What the host shows at the target, by the mounts before this one.
        let before = Spec {
            mounts: spec.mounts[..i].to_vec(),
            pivot_root: spec.pivot_root.clone(),
            ..Spec::default()
        };
        let host = crate::assemble::host_view(&before, Path::new(&op.target));
        let existing = host.as_deref().and_then(|h| h.symlink_metadata().ok());
        match existing {
            None => i += 1,
            Some(meta) if !meta.file_type().is_symlink() => {
                return refuse(format!(
                    "Can't make symlink at {}: destination exists and is not a symlink",
                    op.target
                ))
            }
            Some(_) => {
                let text = std::fs::read_link(host.unwrap_or_default()).unwrap_or_default();
                if text.as_os_str() == OsStr::new(&op.source) {
                    spec.mounts.remove(i);
                } else {
                    return refuse(format!(
                        "Can't make symlink at {}: existing destination is {}",
                        op.target,
                        text.display()
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A compiled classic-BPF program (`struct sock_filter` array) read from `fd` to its end;
/// `fd` is closed, as bwrap closes it (the same fd given twice cannot be read again).
fn read_bpf(fd: i32) -> Result<Vec<SockFilter>, Refusal> {
    // SAFETY: the caller handed this fd to bubblewrap to be read and closed, as bwrap does.
    // It may be closed already (given twice): the File is never dropped, the fd is closed
    // below whatever the read gave.
    let mut file = std::mem::ManuallyDrop::new(unsafe { File::from_raw_fd(fd) });
    let mut data = Vec::new();
    let read = file.read_to_end(&mut data);
    // SAFETY: closing a number this process does not use for anything else (EBADF when it
    // is not open: nothing to close).
    unsafe { libc::close(fd) };
    read.map_err(|e| Refusal(format!("Can't read seccomp data: {}", strerror(&e))))?;
    if data.len() % 8 != 0 {
        return refuse("Invalid seccomp data, must be multiple of 8");
    }
    Ok(data
        .chunks_exact(8)
        .map(|c| SockFilter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect())
}

/// The names of an option's values in the usage text.
fn metavars(opt: &str, arity: usize) -> String {
    let names: &[&str] = match opt {
        "--argv0" => &["VALUE"],
        "--setenv" => &["VAR", "VALUE"],
        "--unsetenv" => &["VAR"],
        "--uid" => &["UID"],
        "--gid" => &["GID"],
        "--hostname" => &["NAME"],
        "--chdir" => &["DIR"],
        "--perms" => &["OCTAL"],
        "--chmod" => &["OCTAL", "PATH"],
        "--size" => &["BYTES"],
        "--cap-add" | "--cap-drop" => &["CAP"],
        "--exec-label" | "--file-label" => &["LABEL"],
        "--overlay" => &["RWSRC", "WORKDIR", "DEST"],
        "--overlay-src" => &["SRC"],
        "--symlink" => &["SRC", "DEST"],
        o if o.ends_with("-fd") || o.ends_with("-data") || o == "--file" => &["FD", "DEST"],
        _ if arity == 2 => &["SRC", "DEST"],
        "--args" | "--seccomp" | "--userns" | "--userns2" | "--pidns" => &["FD"],
        _ if opt.ends_with("-fd") => &["FD"],
        _ if arity == 1 => &["DEST"],
        _ => &[],
    };
    names.iter().take(arity).map(|n| format!(" {n}")).collect()
}

/// bubblewrap's usage text: its first line, then every option with its values.
pub fn usage(name: &str) -> String {
    let mut s = format!("usage: {name} [OPTIONS...] [--] COMMAND [ARGS...]\n\n");
    for (opt, arity, handling) in OPTIONS {
        let values = metavars(opt, *arity);
        let note = match handling {
            Handling::Refused => "  (not supported by forkexec-run yet)",
            _ => "",
        };
        s.push_str(&format!("    {opt}{values}{note}\n"));
    }
    s.push_str(
        "\nforkexec-run's bubblewrap mode: bubblewrap 0.11's command line on the forkexec \
         helper (docs/cli.md, \"bubblewrap mode\").\n",
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    /// An ordinary user's host with user and cgroup namespaces and an empty environment.
    fn user() -> Host {
        Host {
            uid: 1000,
            gid: 1000,
            host_root: false,
            caps: 0,
            all_caps: (1 << 41) - 1,
            userns: true,
            cgroupns: true,
            env: Vec::new(),
        }
    }

    /// Host root, without CAP_SYS_RESOURCE (as on this machine kind).
    fn root() -> Host {
        Host {
            uid: 0,
            gid: 0,
            host_root: true,
            caps: ((1 << 41) - 1) & !(1 << 24),
            ..user()
        }
    }

    fn native(host: &Host, args: &[&str]) -> Vec<OsString> {
        parse("bwrap", os(args), host).unwrap().native
    }

    /// The flags before the mounts (bubblewrap's defaults by name) are these.
    const USER_DEFAULTS: [&str; 5] = [
        "bwrap",
        "--writable-root",
        "--share-keyring",
        "--unshare-user",
        "--no-setsid",
    ];

    #[test]
    fn mount_flags_pass_through_in_order_and_the_command_follows() {
        let n = native(
            &user(),
            &[
                "--ro-bind",
                "/usr",
                "/usr",
                "--perms",
                "0700",
                "--dir",
                "/d",
                "--symlink",
                "usr/lib",
                "/lib",
                "sh",
                "-c",
                "--bind",
            ],
        );
        let mut want = os(&USER_DEFAULTS);
        want.extend(os(&[
            "--ro-bind",
            "/usr",
            "/usr",
            "--perms",
            "0700",
            "--dir",
            "/d",
            "--symlink",
            "usr/lib",
            "/lib",
            "--",
            "sh",
            "-c",
            "--bind",
        ]));
        assert_eq!(n, want);
    }

    /// The safe defaults forkexec-run keeps natively are turned off here by name, and only as
    /// bubblewrap would: root keeps its capabilities (and host root's ids), an ordinary user
    /// gets none unless --cap-add.
    #[test]
    fn bubblewraps_defaults_are_asked_for_by_name() {
        let has = |n: &[OsString], f: &str| n.iter().any(|a| a == f);
        let n = native(&root(), &["true"]);
        for f in [
            "--writable-root",
            "--share-keyring",
            "--allow-host-root",
            "--cap-add",
            "--no-setsid",
        ] {
            assert!(has(&n, f), "root: {f} missing from {n:?}");
        }
        assert!(!has(&n, "--unshare-user"), "{n:?}");
        let n = native(&root(), &["--cap-drop", "ALL", "true"]);
        assert!(!has(&n, "--cap-add"), "{n:?}");
        // --cap-drop ALL then --cap-add ALL: in order, as bwrap reads them.
        let n = native(&root(), &["--cap-drop", "ALL", "--cap-add", "all", "true"]);
        assert!(has(&n, "--cap-add"), "{n:?}");
        let n = native(&user(), &["--uid", "0", "true"]);
        assert!(
            !has(&n, "--cap-add") && !has(&n, "--allow-host-root"),
            "{n:?}"
        );
        let n = native(&user(), &["--uid", "0", "--cap-add", "ALL", "true"]);
        assert!(has(&n, "--cap-add"), "{n:?}");
        // A set in between: one --cap-add per kept capability, by number.
        let added = |n: &[OsString]| -> Vec<String> {
            n.windows(2)
                .filter(|w| w[0] == "--cap-add")
                .map(|w| w[1].to_string_lossy().into_owned())
                .collect()
        };
        let n = native(
            &user(),
            &["--cap-add", "CAP_NET_ADMIN", "--cap-add", "1", "true"],
        );
        assert_eq!(added(&n), ["1", "12"]);
        let n = native(&root(), &["--cap-drop", "CAP_KILL", "true"]);
        let want: Vec<String> = (0..41)
            .filter(|c| ![5, 24].contains(c))
            .map(|c| c.to_string())
            .collect();
        assert_eq!(
            added(&n),
            want,
            "root's own less CAP_KILL (this root lacks 24)"
        );
        // Root without --cap-add/--cap-drop keeps its sets as they are; with one it does not.
        assert!(
            parse("bwrap", os(&["true"]), &root())
                .unwrap()
                .leave_cap_sets
        );
        for args in [
            &["--cap-drop", "CAP_KILL", "true"][..],
            &["--unshare-user", "--cap-add", "ALL", "true"],
        ] {
            assert!(!parse("bwrap", os(args), &root()).unwrap().leave_cap_sets);
        }
        // ... unless it keeps one it does not have without a user namespace: bwrap's capset
        // fails and bwrap goes on with its sets as they are.
        let b = parse("bwrap", os(&["--cap-add", "ALL", "true"]), &root()).unwrap();
        assert!(b.leave_cap_sets);
        assert!(
            !parse("bwrap", os(&["true"]), &user())
                .unwrap()
                .leave_cap_sets
        );
        // A capability already there, added again: still all of them.
        let n = native(&root(), &["--cap-add", "cap_kill", "true"]);
        assert_eq!(added(&n).len(), 40, "{n:?}");
        let e = parse("bwrap", os(&["--cap-add", "CAP_BOGUS", "true"]), &root()).unwrap_err();
        assert_eq!(e.0, "unknown cap: CAP_BOGUS");
        // The pid namespace gets bubblewrap's init unless --as-pid-1; --die-with-parent
        // brings no pid namespace.
        let n = native(&user(), &["--unshare-pid", "true"]);
        assert!(has(&n, "--init"), "{n:?}");
        let n = native(&user(), &["--unshare-pid", "--as-pid-1", "true"]);
        assert!(!has(&n, "--init"), "{n:?}");
        let b = parse("bwrap", os(&["--die-with-parent", "true"]), &user()).unwrap();
        assert!(b.die_with_parent);
        assert!(!has(&b.native, "--die-with-parent") && !has(&b.native, "--unshare-pid"));
        let n = native(&user(), &["--new-session", "true"]);
        assert!(has(&n, "--new-session") && !has(&n, "--no-setsid"), "{n:?}");
    }

    #[test]
    fn namespaces_as_bwrap_decides_them() {
        let has = |n: &[OsString], f: &str| n.iter().any(|a| a == f);
        let n = native(&root(), &["--unshare-all", "true"]);
        for f in [
            "--unshare-user",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup",
        ] {
            assert!(has(&n, f), "{f}: {n:?}");
        }
        // --share-net only undoes what came before it.
        let n = native(&root(), &["--unshare-all", "--share-net", "true"]);
        assert!(!has(&n, "--unshare-net"), "{n:?}");
        let n = native(&root(), &["--share-net", "--unshare-all", "true"]);
        assert!(has(&n, "--unshare-net"), "{n:?}");
        // The -try variants follow the kernel.
        let none = Host {
            userns: false,
            cgroupns: false,
            ..root()
        };
        let n = native(&none, &["--unshare-all", "true"]);
        assert!(
            !has(&n, "--unshare-user") && !has(&n, "--unshare-cgroup"),
            "{n:?}"
        );
        let e = parse("bwrap", os(&["--unshare-cgroup", "true"]), &none).unwrap_err();
        assert!(
            e.0.starts_with("Cannot create new cgroup namespace"),
            "{e:?}"
        );
        // bwrap's rules for what needs which namespace.
        for (args, text) in [
            (
                &["--uid", "5", "true"][..],
                "Specifying --uid requires --unshare-user or --userns",
            ),
            (
                &["--gid", "5", "true"],
                "Specifying --gid requires --unshare-user or --userns",
            ),
            (
                &["--hostname", "h", "true"],
                "Specifying --hostname requires --unshare-uts",
            ),
            (
                &["--as-pid-1", "true"],
                "Specifying --as-pid-1 requires --unshare-pid",
            ),
        ] {
            let e = parse("bwrap", os(args), &root()).unwrap_err();
            assert_eq!(e.0, text, "{args:?}");
        }
        let n = native(&root(), &["--uid", "0", "true"]);
        assert!(!has(&n, "--uid"), "{n:?}");
    }

    /// `--disable-userns` needs `--unshare-user` asked for by name (not the one an ordinary
    /// user gets anyway, nor `--unshare-all`'s try), checked with bwrap's words before the
    /// rest; then both flags become forkexec-run's own.
    #[test]
    fn disabling_user_namespaces_as_bwrap_reads_it() {
        let has = |n: &[OsString], f: &str| n.iter().any(|a| a == f);
        for host in [root(), user()] {
            for args in [
                &["--disable-userns", "true"][..],
                &["--unshare-all", "--disable-userns", "true"],
                // Checked before bwrap's other rules (and before a missing command).
                &["--disable-userns", "--hostname", "h"],
            ] {
                let e = parse("bwrap", os(args), &host).unwrap_err();
                assert_eq!(e.0, "--disable-userns requires --unshare-user", "{args:?}");
            }
            let block = [
                "--unshare-user",
                "--info-fd",
                "1",
                "--userns-block-fd",
                "0",
                "--disable-userns",
                "true",
            ];
            let e = parse("bwrap", os(&block), &host).unwrap_err();
            assert_eq!(
                e.0,
                "--disable-userns is not compatible with  --userns-block-fd"
            );
            let n = native(&host, &["--unshare-user", "--disable-userns", "true"]);
            assert!(has(&n, "--disable-userns"), "{n:?}");
            assert!(!has(&n, "--assert-userns-disabled"), "{n:?}");
            let n = native(&host, &["--assert-userns-disabled", "true"]);
            assert!(has(&n, "--assert-userns-disabled"), "{n:?}");
            assert!(!has(&n, "--disable-userns"), "{n:?}");
        }
    }

    /// `--userns`/`--pidns`/`--userns2` become forkexec-run's flags of the same name; a
    /// joined user namespace replaces the one an ordinary user would get, with bwrap's rules.
    #[test]
    fn joined_namespaces_as_bwrap_reads_them() {
        let has = |n: &[OsString], f: &str| n.iter().any(|a| a == f);
        let n = native(&user(), &["--userns", "11", "--pidns", "12", "true"]);
        assert!(!has(&n, "--unshare-user"), "{n:?}");
        let at = |f: &str| n.iter().position(|a| a == f).map(|i| n[i + 1].clone());
        assert_eq!(at("--userns"), Some("11".into()), "{n:?}");
        assert_eq!(at("--pidns"), Some("12".into()), "{n:?}");
        assert_eq!(at("--userns2"), None, "{n:?}");
        let n = native(&root(), &["--userns2", "7", "--userns2", "8", "true"]);
        let i = n.iter().position(|a| a == "--userns2").unwrap();
        assert_eq!(n[i + 1], "8", "the last one counts: {n:?}");
        for (args, text) in [
            (
                &["--unshare-user", "--userns", "3", "true"][..],
                "--userns not compatible --unshare-user",
            ),
            (
                &["--userns", "3", "--unshare-user-try", "true"],
                "--userns not compatible --unshare-user-try",
            ),
            (&["--pidns", "x", "true"], "Invalid fd: x"),
        ] {
            let e = parse("bwrap", os(args), &user()).unwrap_err();
            assert_eq!(e.0, text, "{args:?}");
        }
        for args in [
            &["--userns", "3", "--uid", "0", "true"][..],
            &["--pidns", "3", "--unshare-pid", "true"],
        ] {
            let e = parse("bwrap", os(args), &root()).unwrap_err();
            assert!(e.0.ends_with("bubblewrap mode yet"), "{args:?}: {e:?}");
        }
    }

    #[test]
    fn bubblewraps_rules_for_perms_size_and_modes() {
        let n = native(
            &user(),
            &[
                "--tmpfs",
                "/a",
                "--perms",
                "1777",
                "--size",
                "0x100",
                "--tmpfs",
                "/b",
                "--size",
                "010",
                "--perms",
                "01777",
                "--tmpfs",
                "/c",
                "--file",
                "0",
                "/f",
                "--bind-data",
                "0",
                "/g",
                "--perms",
                "640",
                "--ro-bind-data",
                "0",
                "/h",
                "true",
            ],
        );
        let want = os(&[
            "--perms",
            "0755",
            "--tmpfs",
            "/a",
            "--perms",
            "1777",
            "--size",
            "256",
            "--tmpfs",
            "/b",
            "--perms",
            "1777",
            "--size",
            "8",
            "--tmpfs",
            "/c",
            "--perms",
            "0666",
            "--file",
            "0",
            "/f",
            "--perms",
            "0600",
            "--bind-data",
            "0",
            "/g",
            "--perms",
            "0640",
            "--ro-bind-data",
            "0",
            "/h",
            "--",
            "true",
        ]);
        assert_eq!(n[USER_DEFAULTS.len()..], want[..]);
        for bad in [
            "0",
            "123bogus",
            "",
            "-1",
            " 1",
            "18446744073709551616",
            "0x",
        ] {
            let e = parse(
                "bwrap",
                os(&["--size", bad, "--tmpfs", "/a", "true"]),
                &user(),
            )
            .unwrap_err();
            assert_eq!(e.0, "--size takes a non-zero number of bytes", "{bad:?}");
        }
        let e = parse(
            "bwrap",
            os(&["--size", "9223372036854775808", "--tmpfs", "/a", "true"]),
            &user(),
        )
        .unwrap_err();
        assert!(e.0.starts_with("--size (for tmpfs) is limited to"), "{e:?}");
        for (args, text) in [
            (
                &["--perms", "0755", "--perms", "0700", "--dir", "/d", "true"][..],
                "--perms given twice for the same action",
            ),
            (
                &["--size", "1", "--size", "2", "--tmpfs", "/d", "true"],
                "--size given twice for the same action",
            ),
            (
                &["--perms", "0755", "--bind", "/", "/x", "true"],
                "--perms must be followed by an option that creates a file",
            ),
            (
                &["--size", "1", "--dir", "/d", "true"],
                "--size must be followed by --tmpfs",
            ),
            (
                &["--perms", "8", "--dir", "/d", "true"],
                "--perms takes an octal argument <= 07777",
            ),
            (
                &["--perms", "10000", "--dir", "/d", "true"],
                "--perms takes an octal argument <= 07777",
            ),
        ] {
            let e = parse("bwrap", os(args), &user()).unwrap_err();
            assert_eq!(e.0, text, "{args:?}");
        }
    }

    #[test]
    fn chdir_environment_and_repeated_symlinks() {
        let host = Host {
            env: vec![("FOO".into(), "1".into()), ("BAR".into(), "2".into())],
            ..user()
        };
        let b = parse(
            "bwrap",
            os(&[
                "--chdir",
                "/a",
                "--setenv",
                "X",
                "y",
                "--clearenv",
                "--setenv",
                "Z",
                "z",
                "--chdir",
                "/b",
                "true",
            ]),
            &host,
        )
        .unwrap();
        let at = USER_DEFAULTS.len();
        assert_eq!(
            b.native[at..],
            os(&[
                "--chdir",
                "/b",
                "--clearenv",
                "--setenv",
                "Z",
                "z",
                "--",
                "true"
            ])[..]
        );
        assert_eq!(
            b.warnings,
            ["Only the last --chdir option will take effect"]
        );
        // No environment option: the caller's environment, forkexec-run's default, unsaid.
        let b = parse("bwrap", os(&["true"]), &host).unwrap();
        assert_eq!(b.native[at..], os(&["--", "true"])[..]);
        let b = parse("bwrap", os(&["--unsetenv", "FOO", "true"]), &host).unwrap();
        assert_eq!(
            b.native[at..at + 4],
            os(&["--clearenv", "--setenv", "BAR", "2"])[..]
        );
        // The same symlink twice is one; another text at the same place is bwrap's refusal.
        let n = native(
            &user(),
            &["--symlink", "a", "/l", "--symlink", "a", "/l", "true"],
        );
        assert_eq!(n.iter().filter(|a| *a == "--symlink").count(), 1, "{n:?}");
        let e = parse(
            "bwrap",
            os(&["--symlink", "a", "/l", "--symlink", "b", "/l", "true"]),
            &user(),
        )
        .unwrap_err();
        assert_eq!(e.0, "Can't make symlink at /l: existing destination is a");
        let e = parse(
            "bwrap",
            os(&["--bind", "/nonexistent-src", "/d", "true"]),
            &user(),
        )
        .unwrap_err();
        assert_eq!(
            e.0,
            "Can't find source path /nonexistent-src: No such file or directory"
        );
    }

    #[test]
    fn double_dash_ends_the_options() {
        let b = parse("bwrap", os(&["--", "--dev-bind", "x"]), &user()).unwrap();
        assert_eq!(b.command, os(&["--dev-bind", "x"]));
        let b = parse("bwrap", os(&["--bwrap", "--unshare-pid"]), &user()).unwrap();
        assert!(b.command.is_empty() && b.native.is_empty(), "{b:?}");
        // --help stops reading at once.
        let b = parse("bwrap", os(&["--help", "--bogus"]), &user()).unwrap();
        assert!(b.help);
    }

    #[test]
    fn refusals_in_bubblewraps_words() {
        // bwrap's own words without SELinux; with it, ours: labels are not applied.
        for opt in ["--exec-label", "--file-label"] {
            let e = parse("bwrap", os(&[opt, "x", "--bogus"]), &user()).unwrap_err();
            if selinux_enabled() {
                assert!(e.0.starts_with(&format!("{opt}: SELinux labels")), "{e:?}");
            } else {
                assert_eq!(e.0, "labeling not supported on this system");
            }
        }
        for (args, text) in [
            (&["--bogus", "true"][..], "Unknown option --bogus"),
            (&["-x", "true"], "Unknown option -x"),
            (&["--bind", "/a"], "--bind takes two arguments"),
            (&["--chdir"], "--chdir takes one argument"),
            (&["--tmpfs"], "--tmpfs takes an argument"),
            (&["--uid", "x", "true"], "Invalid uid: x"),
            (&["--gid", "-1", "true"], "Invalid gid: -1"),
            (&["--file", "x", "/f", "true"], "Invalid fd: x"),
            (
                &["--argv0", "a", "--argv0", "b", "true"],
                "--argv0 used multiple times",
            ),
            (
                &["--seccomp", "5", "--add-seccomp-fd", "6", "true"],
                "--add-seccomp-fd cannot be combined with --seccomp",
            ),
            (&["--add-seccomp-fd", "-1", "true"], "Invalid fd: -1"),
        ] {
            let e = parse("bwrap", os(args), &user()).unwrap_err();
            assert_eq!(e.0, text, "{args:?}");
        }
        // --add-seccomp-fd reads its program at once (and closes the fd); --seccomp after it
        // is refused.
        let mut fds = [0; 2];
        // SAFETY: a two-int array for pipe2's two new fds.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: the write end was just made and is owned here.
        let mut w = unsafe { File::from_raw_fd(fds[1]) };
        std::io::Write::write_all(&mut w, &[6, 0, 0, 0, 0, 0, 0xff, 0x7f]).unwrap();
        drop(w);
        let r = fds[0].to_string();
        let args = ["--add-seccomp-fd", &r, "--seccomp", "5", "true"];
        let e = parse("bwrap", os(&args), &user()).unwrap_err();
        assert_eq!(e.0, "--seccomp cannot be combined with --add-seccomp-fd");
    }

    #[test]
    fn every_option_is_in_the_table_once() {
        let mut names: Vec<_> = OPTIONS.iter().map(|(n, _, _)| *n).collect();
        names.sort();
        let len = names.len();
        names.dedup();
        assert_eq!(names.len(), len);
    }

    /// docs/cli.md's table of bubblewrap options is this table: every option, its number of
    /// values and whether it is supported, and nothing else.
    #[test]
    fn the_docs_table_is_this_table() {
        let docs = include_str!("../../../docs/cli.md");
        let section = &docs[docs.find("## bubblewrap mode").unwrap()..];
        let section = &section[..section.find("\n## ").unwrap()];
        let rows: Vec<&str> = section.lines().filter(|l| l.starts_with("| `--")).collect();
        assert_eq!(rows.len(), OPTIONS.len());
        for (opt, arity, handling) in OPTIONS {
            let status = if *handling == Handling::Refused {
                "not yet"
            } else {
                "supported"
            };
            let row = format!("| `{opt}` | {arity} | {status} |");
            assert!(
                rows.iter().any(|r| r.starts_with(&row)),
                "docs/cli.md lacks {row}"
            );
        }
    }

    #[test]
    fn args_fd_splices_arguments_in_place() {
        let (r, w) = std::io::pipe().unwrap();
        std::io::Write::write_all(&mut &w, b"--dir\0/x\0--setenv\0A\0b\0").unwrap();
        drop(w);
        let fd = std::os::fd::IntoRawFd::into_raw_fd(r).to_string();
        let n = native(&user(), &["--args", &fd, "--dir", "/y", "true"]);
        assert_eq!(
            n[USER_DEFAULTS.len()..],
            os(&[
                "--clearenv",
                "--setenv",
                "A",
                "b",
                "--perms",
                "0755",
                "--dir",
                "/x",
                "--perms",
                "0755",
                "--dir",
                "/y",
                "--",
                "true"
            ])[..]
        );
        // No --args inside an --args file.
        let (r, w) = std::io::pipe().unwrap();
        std::io::Write::write_all(&mut &w, b"--args\x000\0").unwrap();
        drop(w);
        let fd = std::os::fd::IntoRawFd::into_raw_fd(r).to_string();
        let e = parse("bwrap", os(&["--args", &fd, "true"]), &user()).unwrap_err();
        assert_eq!(e.0, "--args not supported in arguments file");
    }
}
