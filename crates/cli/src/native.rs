//! bubblewrap mode's reader of the command line it writes ([`crate::bwrap::Bwrap::native`]):
//! forkexec-run's own flags read into a [`Cli`] and the [`Ordered`] flags without clap.
//!
//! Building clap's parser and matching against it is most of what forkexec-run does of its
//! own in bubblewrap mode (docs/cli.md, "Start-up cost"), and that line is always of one
//! shape: the program's name, flags with a fixed number of values each, `--`, the command.
//! This reader takes exactly the flags bubblewrap mode writes, as clap would read them
//! (the same fields, the same order of the mount and environment flags). Anything it does
//! not read exactly as clap would (a flag it does not take, a value that is not UTF-8, a
//! number clap would refuse, a single-valued flag given twice, a `--` as a value) makes it
//! answer `None`, and clap reads the line, with its own errors.

use std::ffi::OsString;

use crate::assemble::{EnvArg, MountArg, Ordered, FS_FLAGS};
use crate::cli::Cli;

/// `native` (with its program name first) as clap would read it, or `None` for clap to read.
pub fn read(native: &[OsString]) -> Option<(Cli, Ordered)> {
    let args: Vec<&str> = native.iter().map(|a| a.to_str()).collect::<Option<_>>()?;
    let mut r = Reader {
        args: &args,
        at: 1,
        cli: Cli::default(),
        ordered: Ordered::default(),
    };
    while let Some(arg) = r.next() {
        if arg == "--" {
            // (clap refuses the two together.)
            if r.cli.disable_userns && r.cli.userns.is_some() {
                return None;
            }
            r.cli.command = args[r.at..].iter().map(|a| a.to_string()).collect();
            return Some((r.cli, r.ordered));
        }
        r.flag(arg.strip_prefix("--")?)?;
    }
    // bubblewrap mode always ends its flags with `--`.
    None
}

struct Reader<'a> {
    args: &'a [&'a str],
    at: usize,
    cli: Cli,
    ordered: Ordered,
}

impl<'a> Reader<'a> {
    fn next(&mut self) -> Option<&'a str> {
        let arg = self.args.get(self.at)?;
        self.at += 1;
        Some(arg)
    }

    /// The next `n` values (never a `--`, which clap may take for the end of the flags).
    fn values(&mut self, n: usize) -> Option<Vec<String>> {
        let values = self.args.get(self.at..self.at + n)?;
        if values.contains(&"--") {
            return None;
        }
        self.at += n;
        Some(values.iter().map(|v| v.to_string()).collect())
    }

    fn value(&mut self) -> Option<String> {
        self.values(1)?.pop()
    }

    /// One flag (its name without `--`) and its values.
    fn flag(&mut self, name: &str) -> Option<()> {
        if let Some(flag) = FS_FLAGS.iter().find(|f| f.long == name) {
            let values = self.values(flag.values.len())?;
            self.ordered.mounts.push(MountArg { flag, values });
            return Some(());
        }
        let c = &mut self.cli;
        match name {
            "writable-root" => switch(&mut c.writable_root),
            "share-keyring" => switch(&mut c.share_keyring),
            "allow-host-root" => switch(&mut c.allow_host_root),
            "unshare-user" => switch(&mut c.unshare_user),
            "unshare-pid" => switch(&mut c.unshare_pid),
            "unshare-net" => switch(&mut c.unshare_net),
            "unshare-ipc" => switch(&mut c.unshare_ipc),
            "unshare-uts" => switch(&mut c.unshare_uts),
            "unshare-cgroup" => switch(&mut c.unshare_cgroup),
            "init" => switch(&mut c.init),
            "new-session" => switch(&mut c.new_session),
            "no-setsid" => switch(&mut c.no_setsid),
            "clearenv" => switch(&mut c.clearenv),
            "disable-userns" => switch(&mut c.disable_userns),
            "assert-userns-disabled" => switch(&mut c.assert_userns_disabled),
            "cap-add" => {
                let v = self.value()?;
                self.cli.cap_add.push(v);
                Some(())
            }
            "lock-file" => {
                let v = self.value()?;
                self.cli.lock_file.push(v);
                Some(())
            }
            "setenv" => {
                let v = self.values(2)?;
                self.ordered
                    .env
                    .push(EnvArg::Set(v[0].clone(), v[1].clone()));
                self.cli.setenv.extend(v);
                Some(())
            }
            "uid" => {
                let v = number(&self.value()?)?;
                once(&mut self.cli.uid, v)
            }
            "gid" => {
                let v = number(&self.value()?)?;
                once(&mut self.cli.gid, v)
            }
            "userns" | "userns2" | "pidns" | "sync-fd" | "info-fd" | "json-status-fd" => {
                let v = number(&self.value()?)?;
                let c = &mut self.cli;
                let slot = match name {
                    "userns" => &mut c.userns,
                    "userns2" => &mut c.userns2,
                    "pidns" => &mut c.pidns,
                    "sync-fd" => &mut c.sync_fd,
                    "info-fd" => &mut c.info_fd,
                    _ => &mut c.json_status_fd,
                };
                once(slot, v)
            }
            "hostname" | "chdir" | "argv0" => {
                let v = self.value()?;
                let c = &mut self.cli;
                let slot = match name {
                    "hostname" => &mut c.hostname,
                    "chdir" => &mut c.chdir,
                    _ => &mut c.argv0,
                };
                once(slot, v)
            }
            _ => None,
        }
    }
}

/// A flag without a value: clap refuses it twice.
fn switch(on: &mut bool) -> Option<()> {
    (!std::mem::replace(on, true)).then_some(())
}

/// A single-valued flag: clap refuses it twice.
fn once<T>(slot: &mut Option<T>, v: T) -> Option<()> {
    slot.replace(v).is_none().then_some(())
}

/// A number as clap's integer parsers read it (an `i64`, then in the type's range).
fn number<T: TryFrom<i64>>(v: &str) -> Option<T> {
    T::try_from(v.parse::<i64>().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};

    use super::*;
    use crate::assemble::Ordered;
    use crate::bwrap::{self, Host};

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    fn host(uid: u32) -> Host {
        Host {
            uid,
            gid: uid,
            host_root: uid == 0,
            caps: if uid == 0 { (1 << 41) - 1 } else { 0 },
            all_caps: (1 << 41) - 1,
            userns: true,
            cgroupns: true,
            env: vec![
                ("PATH".into(), "/usr/bin:/bin".into()),
                ("HOME".into(), "/home/me".into()),
            ],
        }
    }

    /// clap's reading of a native line, as bubblewrap mode did it before this reader.
    fn by_clap(native: &[OsString]) -> Result<(Cli, Ordered), String> {
        let m = Cli::command()
            .allow_hyphen_values(true)
            .try_get_matches_from(native)
            .map_err(|e| e.to_string())?;
        let cli = Cli::from_arg_matches(&m).map_err(|e| e.to_string())?;
        Ok((cli, Ordered::from_matches(&m)))
    }

    fn same(a: &(Cli, Ordered), b: &(Cli, Ordered)) -> bool {
        format!("{a:?}") == format!("{b:?}")
    }

    /// Real-world and corner-case bubblewrap lines: this reader reads each of them (no
    /// fallback) into exactly what clap reads.
    #[test]
    fn reads_what_clap_reads() {
        let p = "/bin/sh";
        let lines: &[&[&str]] = &[
            &[
                "--unshare-all",
                "--ro-bind",
                "/usr",
                "/usr",
                "--ro-bind",
                p,
                "/payload",
                "--proc",
                "/proc",
                "--dev",
                "/dev",
                "--tmpfs",
                "/tmp",
                "/payload",
            ],
            &[
                "--unshare-all",
                "--share-net",
                "--die-with-parent",
                "--new-session",
                "--ro-bind",
                "/usr",
                "/usr",
                "--symlink",
                "usr/lib64",
                "/lib64",
                "--symlink",
                "usr/lib64",
                "/lib64",
                "--proc",
                "/proc",
                "--dev",
                "/dev",
                "--hostname",
                "box",
                "--chdir",
                "/",
                "--uid",
                "1000",
                "--gid",
                "1000",
                "--",
                "sh",
                "-c",
                "echo hi -- there",
            ],
            &[
                "--unshare-user",
                "--unshare-pid",
                // (An mqueue in a new user namespace needs its own IPC namespace, as bwrap's.)
                "--unshare-ipc",
                "--cap-add",
                "CAP_NET_RAW",
                "--cap-drop",
                "ALL",
                "--cap-add",
                "cap_kill",
                "--perms",
                "0700",
                "--dir",
                "/d",
                "--size",
                "4096",
                "--tmpfs",
                "/t",
                "--file",
                "0",
                "/f",
                "--bind-data",
                "0",
                "/bd",
                "--chmod",
                "0755",
                "/d",
                "--remount-ro",
                "/",
                "--mqueue",
                "/mq",
                "--info-fd",
                "1",
                "--json-status-fd",
                "2",
                "--sync-fd",
                "0",
                "--lock-file",
                "/l1",
                "--lock-file",
                "/l2",
                "--argv0",
                "-x",
                "true",
            ],
            &[
                "--clearenv",
                "--setenv",
                "A",
                "-1",
                "--setenv",
                "B",
                "",
                "--unsetenv",
                "A",
                "--setenv",
                "C",
                "--x=y",
                "--bind-try",
                "/nonexistent",
                "-dash",
                "--dev-bind",
                "/dev",
                "/dev",
                "--overlay-src",
                "/usr",
                "--tmp-overlay",
                "/o",
                "--as-pid-1",
                "--unshare-pid",
                "--",
                "--",
                "x",
            ],
            &[
                "--userns",
                "0",
                "--pidns",
                "1",
                "--userns2",
                "2",
                "--unshare-net",
                "sh",
            ],
            &[
                "--unshare-user",
                "--disable-userns",
                "--assert-userns-disabled",
                "true",
            ],
            &[
                "--unshare-uts",
                "--unshare-ipc",
                "--unshare-cgroup-try",
                "--hostname",
                "",
                "id",
            ],
        ];
        for uid in [0, 1000] {
            for line in lines {
                let b = bwrap::parse("bwrap", os(line), &host(uid))
                    .unwrap_or_else(|r| panic!("{line:?}: {r:?}"));
                let native = &b.native;
                let fast = read(native).unwrap_or_else(|| panic!("not read: {native:?}"));
                let slow = by_clap(native).unwrap();
                assert!(same(&fast, &slow), "{native:?}\n{fast:?}\n{slow:?}");
            }
        }
    }

    /// What the reader leaves to clap, and that clap then reads or refuses it as before.
    #[test]
    fn leaves_the_rest_to_clap() {
        let lines: &[&[&str]] = &[
            // A number clap refuses, with its error.
            &["x", "--info-fd", "one", "--", "true"],
            // A single-valued flag twice (clap: "cannot be used multiple times").
            &["x", "--info-fd", "1", "--info-fd", "2", "--", "true"],
            &["x", "--init", "--init", "--", "true"],
            // A value that is `--`.
            &["x", "--hostname", "--", "--", "true"],
            // A flag bubblewrap mode never writes.
            &["x", "--json", "--", "true"],
            // Flags clap refuses together.
            &["x", "--disable-userns", "--userns", "3", "--", "true"],
            // No `--`.
            &["x", "true"],
        ];
        for line in lines {
            assert!(read(&os(line)).is_none(), "{line:?}");
        }
        let bad = os(&["x", "--info-fd", "one", "--", "true"]);
        assert!(by_clap(&bad).is_err());
        use std::os::unix::ffi::OsStringExt;
        let mut not_utf8 = os(&["x", "--hostname"]);
        not_utf8.extend([OsString::from_vec(vec![0xff]), "--".into(), "true".into()]);
        assert!(read(&not_utf8).is_none());
    }
}
