//! bubblewrap mode (docs/cli.md, "bubblewrap mode"): forkexec-run run under the name `bwrap`
//! (a symlink; `make install` makes one) or with a leading `--bwrap` takes bubblewrap 0.11's
//! command line and defaults.
//!
//! bubblewrap's options are read the way bwrap reads them: in order, each with a fixed number
//! of values, `--args FD` splicing NUL-separated arguments in at its place, the first
//! non-option (or `--`) starting the command. Each is then either one of forkexec-run's own
//! flags with the same name and meaning, translated (`--unshare-user-try`), applied to the
//! spec after it is assembled (bubblewrap's defaults, `--seccomp FD`, `--as-pid-1`), or
//! refused by name with "not supported yet" — never silently ignored. [`OPTIONS`] is the one
//! table of all of them.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Read;
use std::os::fd::FromRawFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use forkexec_client::{Namespace, SockFilter, Spec};

/// What forkexec-run does with a bubblewrap option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handling {
    /// forkexec-run's own flag of the same name takes it as it is.
    Same,
    /// Becomes forkexec-run's flag named here (when the host allows it, for the `-try`s).
    As(&'static str),
    /// Read by the bubblewrap mode itself.
    Own,
    /// Not supported yet: refused by name, the sandbox is not started.
    Refused,
}

/// Every bubblewrap 0.11 option: name, number of values, what forkexec-run does with it.
pub const OPTIONS: &[(&str, usize, Handling)] = &[
    ("--help", 0, Handling::Own),
    ("--version", 0, Handling::Own),
    ("--args", 1, Handling::Own),
    ("--argv0", 1, Handling::Same),
    ("--level-prefix", 0, Handling::Own),
    ("--unshare-all", 0, Handling::Same),
    ("--share-net", 0, Handling::Same),
    ("--unshare-user", 0, Handling::Same),
    ("--unshare-user-try", 0, Handling::As("--unshare-user")),
    ("--unshare-ipc", 0, Handling::Same),
    ("--unshare-pid", 0, Handling::Same),
    ("--unshare-net", 0, Handling::Same),
    ("--unshare-uts", 0, Handling::Same),
    ("--unshare-cgroup", 0, Handling::Same),
    ("--unshare-cgroup-try", 0, Handling::As("--unshare-cgroup")),
    ("--userns", 1, Handling::Refused),
    ("--userns2", 1, Handling::Refused),
    ("--disable-userns", 0, Handling::Refused),
    ("--assert-userns-disabled", 0, Handling::Refused),
    ("--pidns", 1, Handling::Refused),
    ("--uid", 1, Handling::Same),
    ("--gid", 1, Handling::Same),
    ("--hostname", 1, Handling::Same),
    ("--chdir", 1, Handling::Same),
    ("--clearenv", 0, Handling::Same),
    ("--setenv", 2, Handling::Same),
    ("--unsetenv", 1, Handling::Same),
    ("--lock-file", 1, Handling::Refused),
    ("--sync-fd", 1, Handling::Refused),
    ("--perms", 1, Handling::Same),
    ("--size", 1, Handling::Same),
    ("--bind", 2, Handling::Same),
    ("--bind-try", 2, Handling::Same),
    ("--dev-bind", 2, Handling::Same),
    ("--dev-bind-try", 2, Handling::Same),
    ("--ro-bind", 2, Handling::Same),
    ("--ro-bind-try", 2, Handling::Same),
    ("--bind-fd", 2, Handling::Same),
    ("--ro-bind-fd", 2, Handling::Same),
    ("--remount-ro", 1, Handling::Same),
    ("--overlay-src", 1, Handling::Refused),
    ("--overlay", 3, Handling::Refused),
    ("--tmp-overlay", 1, Handling::Refused),
    ("--ro-overlay", 1, Handling::Refused),
    ("--exec-label", 1, Handling::Refused),
    ("--file-label", 1, Handling::Refused),
    ("--proc", 1, Handling::Same),
    ("--dev", 1, Handling::Same),
    ("--tmpfs", 1, Handling::Same),
    ("--mqueue", 1, Handling::Same),
    ("--dir", 1, Handling::Same),
    ("--file", 2, Handling::Same),
    ("--bind-data", 2, Handling::Refused),
    ("--ro-bind-data", 2, Handling::Refused),
    ("--symlink", 2, Handling::Same),
    ("--chmod", 2, Handling::Refused),
    ("--seccomp", 1, Handling::Own),
    ("--add-seccomp-fd", 1, Handling::Own),
    ("--block-fd", 1, Handling::Refused),
    ("--userns-block-fd", 1, Handling::Refused),
    ("--info-fd", 1, Handling::Same),
    ("--json-status-fd", 1, Handling::Same),
    ("--new-session", 0, Handling::Own),
    ("--die-with-parent", 0, Handling::Same),
    ("--as-pid-1", 0, Handling::Own),
    ("--cap-add", 1, Handling::Refused),
    ("--cap-drop", 1, Handling::Own),
];

/// How deep `--args FD` may nest (bubblewrap's own limit).
const MAX_ARGS_DEPTH: u32 = 5;

/// Whether this invocation is in bubblewrap mode: the program's name is `bwrap`, or the first
/// argument is `--bwrap`.
pub fn selected(args: &[OsString]) -> bool {
    let name = args
        .first()
        .and_then(|a| Path::new(a).file_name())
        .is_some_and(|n| n == "bwrap");
    name || args.get(1).is_some_and(|a| a == "--bwrap")
}

/// A bubblewrap command line, read.
#[derive(Debug, Default)]
pub struct Bwrap {
    /// forkexec-run's own command line for what it shares with bubblewrap.
    pub native: Vec<OsString>,
    pub help: bool,
    pub version: bool,
    pub level_prefix: bool,
    pub new_session: bool,
    pub as_pid_1: bool,
    pub drop_all_caps: bool,
    /// Compiled BPF programs from `--seccomp FD` / `--add-seccomp-fd FD`, in order.
    pub seccomp_fds: Vec<i32>,
    pub command: Vec<OsString>,
    /// Warnings bubblewrap prints and goes on (a repeated `--chdir`).
    pub warnings: Vec<String>,
}

/// Why a bubblewrap command line cannot run: bubblewrap's wording, exit status 1.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal(pub String);

fn option(name: &[u8]) -> Option<(&'static str, usize, Handling)> {
    OPTIONS
        .iter()
        .copied()
        .find(|(n, _, _)| n.as_bytes() == name)
}

/// Reads bubblewrap's command line (`args` without `argv[0]`).
pub fn parse(name: &str, args: Vec<OsString>) -> Result<Bwrap, Refusal> {
    let mut b = Bwrap {
        native: vec![OsString::from(name)],
        ..Bwrap::default()
    };
    // A --perms given for the next operation (bubblewrap's tmpfs is 0755 without one), and
    // where the last --chdir went (only the last one counts).
    let mut perms_pending = false;
    let mut chdir_at: Option<usize> = None;
    let mut queue: std::collections::VecDeque<(OsString, u32)> =
        args.into_iter().map(|a| (a, 0)).collect();
    if queue.front().is_some_and(|(a, _)| a == "--bwrap") {
        queue.pop_front();
    }
    while let Some((arg, depth)) = queue.pop_front() {
        let bytes = arg.as_bytes();
        if bytes == b"--" {
            break;
        }
        if !bytes.starts_with(b"--") {
            queue.push_front((arg, depth));
            break;
        }
        let Some((opt, arity, handling)) = option(bytes) else {
            return Err(Refusal(format!(
                "Unknown option {}",
                String::from_utf8_lossy(bytes)
            )));
        };
        let mut values = Vec::with_capacity(arity);
        for _ in 0..arity {
            match queue.pop_front() {
                Some((v, _)) => values.push(v),
                None => {
                    return Err(Refusal(format!(
                        "{opt} takes {arity} argument{}",
                        if arity == 1 { "" } else { "s" }
                    )))
                }
            }
        }
        match opt {
            "--size" => check_size(&values[0])?,
            "--tmpfs" if !perms_pending => b.native.extend(["--perms".into(), "0755".into()]),
            "--chdir" => {
                if let Some(at) = chdir_at {
                    b.native.drain(at..at + 2);
                    b.warnings
                        .push("Only the last --chdir option will take effect".into());
                }
                chdir_at = Some(b.native.len());
            }
            "--bind" | "--ro-bind" | "--dev-bind" => {
                let src = Path::new(&values[0]);
                if let Err(e) = std::fs::metadata(src) {
                    return Err(Refusal(format!(
                        "Can't find source path {}: {}",
                        src.display(),
                        strerror(&e)
                    )));
                }
            }
            _ => {}
        }
        perms_pending = opt == "--perms";
        match handling {
            Handling::Same => {
                b.native.push(opt.into());
                b.native.extend(values);
            }
            Handling::As(native) => {
                let ns = if opt == "--unshare-user-try" {
                    "user"
                } else {
                    "cgroup"
                };
                if Path::new("/proc/self/ns").join(ns).exists() {
                    b.native.push(native.into());
                }
            }
            Handling::Refused => {
                return Err(Refusal(format!(
                    "{opt} is not supported by forkexec-run's bubblewrap mode yet"
                )))
            }
            Handling::Own => match opt {
                "--help" => b.help = true,
                "--version" => b.version = true,
                "--level-prefix" => b.level_prefix = true,
                "--new-session" => b.new_session = true,
                "--as-pid-1" => b.as_pid_1 = true,
                "--args" => {
                    if depth >= MAX_ARGS_DEPTH {
                        return Err(Refusal("--args nested too deeply".into()));
                    }
                    let spliced = read_args(&values[0])?;
                    for a in spliced.into_iter().rev() {
                        queue.push_front((a, depth + 1));
                    }
                }
                "--seccomp" | "--add-seccomp-fd" => b.seccomp_fds.push(fd_value(opt, &values[0])?),
                "--cap-drop" => {
                    if values[0].as_bytes().eq_ignore_ascii_case(b"ALL") {
                        b.drop_all_caps = true;
                    } else {
                        return Err(Refusal(format!(
                            "--cap-drop {} is not supported by forkexec-run's bubblewrap mode \
                             yet (only ALL)",
                            values[0].to_string_lossy()
                        )));
                    }
                }
                other => unreachable!("{other} is not read by the bubblewrap mode"),
            },
        }
    }
    b.command = queue.into_iter().map(|(a, _)| a).collect();
    if b.help || b.version {
        return Ok(b);
    }
    if b.command.is_empty() {
        return Err(Refusal("No command specified".into()));
    }
    if b.as_pid_1
        && !b
            .native
            .iter()
            .any(|a| a == "--unshare-pid" || a == "--unshare-all")
    {
        return Err(Refusal(
            "Specifying --as-pid-1 requires --unshare-pid".into(),
        ));
    }
    if b.seccomp_fds.len() > 1 {
        return Err(Refusal(
            "more than one seccomp program (--seccomp, --add-seccomp-fd) is not supported by \
             forkexec-run's bubblewrap mode yet"
                .into(),
        ));
    }
    b.native.push("--".into());
    b.native.extend(b.command.iter().cloned());
    Ok(b)
}

/// bubblewrap's rule for `--size`: decimal digits, more than 0, at most `SIZE_MAX / 2`.
fn check_size(v: &OsStr) -> Result<(), Refusal> {
    let ok = v
        .to_str()
        .filter(|s| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
        .and_then(|s| s.parse::<u64>().ok())
        .is_some_and(|n| n > 0 && n <= u64::MAX / 2);
    if ok {
        Ok(())
    } else {
        Err(Refusal(format!("Invalid size: {}", v.to_string_lossy())))
    }
}

/// The C library's words for an I/O error, as bubblewrap prints them.
fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

fn fd_value(opt: &str, v: &OsStr) -> Result<i32, Refusal> {
    v.to_str()
        .and_then(|s| s.parse::<i32>().ok())
        .filter(|&fd| fd >= 0)
        .ok_or_else(|| Refusal(format!("Invalid fd: {}", v.to_string_lossy())))
        .map_err(|e| Refusal(format!("{opt}: {}", e.0)))
}

/// `--args FD`: NUL-separated arguments read from FD to its end (FD is closed).
fn read_args(v: &OsStr) -> Result<Vec<OsString>, Refusal> {
    let fd = fd_value("--args", v)?;
    // SAFETY: the caller handed this fd to bubblewrap to be read and closed, as bwrap does.
    let mut file = unsafe { File::from_raw_fd(fd) };
    let mut data = Vec::new();
    file.read_to_end(&mut data)
        .map_err(|e| Refusal(format!("Failed to read --args fd {fd}: {e}")))?;
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

/// bubblewrap's defaults and its own options, applied to the spec forkexec-run assembled from
/// the shared flags.
pub fn apply(b: &Bwrap, spec: &mut Spec) -> Result<(), Refusal> {
    // Always a new mount namespace and a root of its own, writable as bubblewrap's tmpfs is.
    if !spec.clone_flags.contains(&Namespace::NewNs) {
        spec.clone_flags.push(Namespace::NewNs);
    }
    if spec.pivot_root.is_empty() {
        spec.pivot_root = crate::assemble::fresh_root();
    }
    spec.writable_root = true;
    // No new session unless asked (bubblewrap filters TIOCSTI instead).
    spec.setsid = b.new_session;
    // bubblewrap's own init is pid 1 of a new pid namespace unless --as-pid-1.
    spec.init = spec.clone_flags.contains(&Namespace::NewPid) && !b.as_pid_1;
    if b.drop_all_caps {
        spec.drop_caps = true;
    }
    if let Some(&fd) = b.seccomp_fds.first() {
        spec.seccomp = Some(read_bpf(fd)?);
    }
    // PWD is the directory the program starts in, as bubblewrap sets it.
    let pwd = if spec.work_dir.is_empty() {
        "/".to_string()
    } else {
        spec.work_dir.clone()
    };
    spec.env.retain(|e| !e.starts_with("PWD="));
    spec.env.push(format!("PWD={pwd}"));
    Ok(())
}

/// A compiled classic-BPF program (`struct sock_filter` array) read from `fd` to its end.
fn read_bpf(fd: i32) -> Result<Vec<SockFilter>, Refusal> {
    // SAFETY: the caller handed this fd to bubblewrap to be read and closed, as bwrap does.
    let mut file = unsafe { File::from_raw_fd(fd) };
    let mut data = Vec::new();
    file.read_to_end(&mut data)
        .map_err(|e| Refusal(format!("Can't read seccomp data: {e}")))?;
    if data.is_empty() || data.len() % 8 != 0 {
        return Err(Refusal(
            "Invalid seccomp data, must be multiple of 8".into(),
        ));
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

/// bubblewrap's `--help`.
pub fn usage(name: &str) -> String {
    let mut s = format!("usage: {name} [OPTIONS...] [--] COMMAND [ARGS...]\n\n");
    s.push_str(
        "forkexec-run's bubblewrap mode: bubblewrap 0.11's command line on the forkexec helper \
         (docs/cli.md, \"bubblewrap mode\").\n\n",
    );
    for (opt, arity, handling) in OPTIONS {
        let values = ["", " VALUE", " VALUE VALUE", " VALUE VALUE VALUE"][*arity];
        let note = match handling {
            Handling::Refused => "  (not supported yet)",
            _ => "",
        };
        s.push_str(&format!("    {opt}{values}{note}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn shared_flags_pass_through_in_order_and_the_command_follows() {
        let b = parse(
            "bwrap",
            os(&[
                "--ro-bind",
                "/usr",
                "/usr",
                "--unshare-user-try",
                "--perms",
                "0700",
                "--dir",
                "/d",
                "sh",
                "-c",
                "--bind",
            ]),
        )
        .unwrap();
        assert_eq!(
            b.native,
            os(&[
                "bwrap",
                "--ro-bind",
                "/usr",
                "/usr",
                "--unshare-user",
                "--perms",
                "0700",
                "--dir",
                "/d",
                "--",
                "sh",
                "-c",
                "--bind"
            ])
        );
        assert_eq!(b.command, os(&["sh", "-c", "--bind"]));
    }

    #[test]
    fn bubblewraps_rules_for_tmpfs_size_and_chdir() {
        let b = parse(
            "bwrap",
            os(&["--tmpfs", "/a", "--perms", "1777", "--tmpfs", "/b", "true"]),
        )
        .unwrap();
        assert_eq!(
            b.native,
            os(&[
                "bwrap", "--perms", "0755", "--tmpfs", "/a", "--perms", "1777", "--tmpfs", "/b",
                "--", "true"
            ])
        );
        for bad in [
            "0",
            "123bogus",
            "",
            "-1",
            " 1",
            "18446744073709551616",
            "9223372036854775809",
        ] {
            let e = parse("bwrap", os(&["--size", bad, "--tmpfs", "/a", "true"])).unwrap_err();
            assert_eq!(e.0, format!("Invalid size: {bad}"));
        }
        let b = parse("bwrap", os(&["--chdir", "/a", "--chdir", "/b", "true"])).unwrap();
        assert_eq!(b.native, os(&["bwrap", "--chdir", "/b", "--", "true"]));
        assert_eq!(
            b.warnings,
            ["Only the last --chdir option will take effect"]
        );
        let e = parse("bwrap", os(&["--bind", "/nonexistent-src", "/d", "true"])).unwrap_err();
        assert_eq!(
            e.0,
            "Can't find source path /nonexistent-src: No such file or directory"
        );
    }

    #[test]
    fn double_dash_ends_the_options() {
        let b = parse("bwrap", os(&["--", "--dev-bind", "x"])).unwrap();
        assert_eq!(b.command, os(&["--dev-bind", "x"]));
    }

    #[test]
    fn refusals_name_the_option() {
        let e = parse("bwrap", os(&["--overlay-src", "/a", "true"])).unwrap_err();
        assert!(e.0.starts_with("--overlay-src is not supported"), "{e:?}");
        let e = parse("bwrap", os(&["--bogus", "true"])).unwrap_err();
        assert_eq!(e.0, "Unknown option --bogus");
        let e = parse("bwrap", os(&["--bind", "/a"])).unwrap_err();
        assert_eq!(e.0, "--bind takes 2 arguments");
        let e = parse("bwrap", os(&["--unshare-pid"])).unwrap_err();
        assert_eq!(e.0, "No command specified");
        let e = parse("bwrap", os(&["--as-pid-1", "true"])).unwrap_err();
        assert_eq!(e.0, "Specifying --as-pid-1 requires --unshare-pid");
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
        let b = parse("bwrap", os(&["--args", &fd, "--dir", "/y", "true"])).unwrap();
        assert_eq!(
            b.native,
            os(&["bwrap", "--dir", "/x", "--setenv", "A", "b", "--dir", "/y", "--", "true"])
        );
    }
}
