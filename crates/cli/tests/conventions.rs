//! What a user expects around a command-line tool: `make install` (scripts/install.sh, run
//! into a scratch DESTDIR) puts the helper, forkexec-run, its man pages and its bash, zsh and
//! fish completions where they belong, generated from the installed binary's own definition;
//! the man page renders with man(1); each shell's completion really completes a flag; the
//! `bwrap` name is installed only for a forkexec-run with a bubblewrap mode; `--json` keeps
//! the caller's environment out of a saved spec unless asked.
//!
//! Run as root and as an ordinary user (the install needs no privilege: it writes only under
//! DESTDIR). The shells and man(1) must be installed (`.ci/run` installs zsh, fish, man-db).
use forkexec_testkit::support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use forkexec_client::Spec;
use support::Cleanup;

/// The forkexec-run binary under test (as in tests/cli.rs).
fn cli() -> PathBuf {
    match std::env::var_os("FORKEXEC_RUN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_forkexec-run")),
    }
}

/// scripts/install.sh: `$FORKEXEC_INSTALL_SH` (the unprivileged run copies it), else the
/// checkout's.
fn install_sh() -> PathBuf {
    match std::env::var_os("FORKEXEC_INSTALL_SH") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/install.sh"),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[track_caller]
fn ok(out: Output) -> String {
    assert!(out.status.success(), "{out:?}\n{}", text(&out.stderr));
    text(&out.stdout)
}

/// A program every test needs: a clear failure when it is missing.
fn tool(name: &str) -> PathBuf {
    for dir in ["/usr/bin", "/bin", "/usr/local/bin"] {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("{name} is not installed (.ci/run installs it: apt-get install zsh fish man-db)");
}

/// Runs the install script into a fresh DESTDIR with PREFIX=/usr; returns DESTDIR and the
/// script's stdout.
fn install(c: &mut Cleanup, extra: &[(&str, &str)]) -> (PathBuf, String) {
    let dest = c.dir("install");
    let mut cmd = Command::new(install_sh());
    cmd.env("DESTDIR", &dest)
        .env("PREFIX", "/usr")
        .env("HELPER", support::helper())
        .env("CLI", cli())
        .stdin(Stdio::null());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let out = ok(cmd.output().expect("run scripts/install.sh"));
    (dest, out)
}

const FILES: [&str; 8] = [
    "usr/bin/forkexec",
    "usr/bin/forkexec-run",
    "usr/share/man/man1/forkexec-run.1",
    "usr/share/man/man1/forkexec-run-check.1",
    "usr/share/man/man1/forkexec-run-serve.1",
    "usr/share/bash-completion/completions/forkexec-run",
    "usr/share/zsh/site-functions/_forkexec-run",
    "usr/share/fish/vendor_completions.d/forkexec-run.fish",
];

#[test]
fn install_puts_every_file_in_its_place() {
    let mut c = Cleanup::default();
    let (dest, log) = install(&mut c, &[]);
    for f in FILES {
        let path = dest.join(f);
        let meta = fs::metadata(&path).unwrap_or_else(|e| panic!("{f}: {e}\n{log}"));
        let mode = meta.permissions().mode() & 0o7777;
        let want = if f.starts_with("usr/bin/") {
            0o755
        } else {
            0o644
        };
        assert_eq!(mode, want, "{f}: mode {mode:o}");
        assert!(meta.len() > 0, "{f} is empty");
        assert!(
            log.contains(&format!("installed {}", path.display())),
            "{log}"
        );
    }
    // Nothing else: no leftover temporary files.
    let mut all = Vec::new();
    let mut stack = vec![dest.clone()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                all.push(
                    p.strip_prefix(&dest)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    all.sort();
    let mut want: Vec<String> = FILES.iter().map(|s| s.to_string()).collect();
    // And the bubblewrap mode's name (bwrap_name_only_with_a_bubblewrap_mode below).
    want.push("usr/bin/bwrap".to_string());
    want.sort();
    assert_eq!(all, want);

    // The installed helper is the built one, and the installed forkexec-run finds it next to
    // itself (no FORKEXEC_HELPER, a PATH without it).
    assert_eq!(
        fs::read(dest.join("usr/bin/forkexec")).unwrap(),
        fs::read(support::helper()).unwrap()
    );
    let out = Command::new(dest.join("usr/bin/forkexec-run"))
        .args(["--", "/bin/sh", "-c", "exit 3"])
        .env_remove("FORKEXEC_HELPER")
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
}

/// The `bwrap` name is installed only for a forkexec-run with a bubblewrap mode (one that
/// answers `--bwrap --version`; without one the log says why); BWRAP_LINK=no says so too; any
/// other value is refused.
#[test]
fn bwrap_name_only_with_a_bubblewrap_mode() {
    let mut c = Cleanup::default();
    let has_mode = Command::new(cli())
        .args(["--bwrap", "--version"])
        .stdin(Stdio::null())
        .output()
        .unwrap()
        .status
        .success();
    let (dest, log) = install(&mut c, &[]);
    let link = dest.join("usr/bin/bwrap");
    if has_mode {
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("forkexec-run"));
    } else {
        assert!(fs::symlink_metadata(&link).is_err(), "{log}");
        assert!(
            log.contains("bwrap: not linked: this forkexec-run has no bubblewrap mode yet"),
            "{log}"
        );
    }
    let (dest, log) = install(&mut c, &[("BWRAP_LINK", "no")]);
    assert!(fs::symlink_metadata(dest.join("usr/bin/bwrap")).is_err());
    assert!(log.contains("bwrap: not linked (BWRAP_LINK=no)"), "{log}");
    let out = Command::new(install_sh())
        .env("DESTDIR", c.dir("refused"))
        .env("HELPER", support::helper())
        .env("CLI", cli())
        .env("BWRAP_LINK", "yes")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("BWRAP_LINK must be auto or no"));
}

/// `man -l` renders the installed pages: the flags, the long help's sections, the subcommand.
#[test]
fn man_pages_render() {
    let mut c = Cleanup::default();
    let (dest, _) = install(&mut c, &[]);
    let man = tool("man");
    let render = |page: &str| {
        ok(Command::new(&man)
            .arg("-l")
            .arg(dest.join("usr/share/man/man1").join(page))
            .env("MANWIDTH", "100")
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .stdin(Stdio::null())
            .output()
            .unwrap())
    };
    let page = render("forkexec-run.1");
    // man justifies filled text: compare with runs of spaces collapsed.
    let words = page
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    for want in [
        "forkexec-run - Run a program in a forkexec sandbox",
        "SYNOPSIS",
        "--ro-bind <SRC> <DST>",
        "--inherit-env",
        "HOW THE FLAGS BUILD THE SPEC",
        "EXIT STATUS",
        "EXAMPLES",
        "forkexec-run-check(1)",
    ] {
        assert!(words.contains(want), "the man page lacks {want:?}:\n{page}");
    }
    // The examples keep their lines (not filled into a paragraph).
    assert!(
        page.contains("\n           forkexec-run --spec spec.json\n"),
        "{page}"
    );
    let check = render("forkexec-run-check.1");
    assert!(check.contains("--json"), "{check}");
}

/// The installed bash completion, sourced into a bash, completes `--dev-b` to the two flags
/// that start so, and `che` to the subcommand.
#[test]
fn bash_completion_completes() {
    let mut c = Cleanup::default();
    let (dest, _) = install(&mut c, &[]);
    let file = dest.join("usr/share/bash-completion/completions/forkexec-run");
    let script = r#"
        source "$1"
        func=$(complete -p forkexec-run | sed -E 's/.* -F ([^ ]+) .*/\1/')
        complete_words() {
            COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
            COMPREPLY=()
            "$func" forkexec-run "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
            printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' '; echo
        }
        complete_words forkexec-run --dev-b
        complete_words forkexec-run che
    "#;
    let out = ok(Command::new(tool("bash"))
        .args(["--norc", "--noprofile", "-c", script, "bash"])
        .arg(&file)
        .output()
        .unwrap());
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, ["--dev-bind --dev-bind-try ", "check "], "{out}");
}

/// fish completes from the installed file; zsh parses its file and defines the completion
/// function with every flag's spec.
#[test]
fn fish_and_zsh_completions() {
    let mut c = Cleanup::default();
    let (dest, _) = install(&mut c, &[]);
    let fish_file = dest.join("usr/share/fish/vendor_completions.d/forkexec-run.fish");
    let out = ok(Command::new(tool("fish"))
        .arg("--no-config")
        .arg("-c")
        .arg(format!(
            "source {}; complete -C 'forkexec-run --dev-b'",
            fish_file.display()
        ))
        .env("HOME", c.dir("fish-home"))
        .output()
        .unwrap());
    let mut got: Vec<&str> = out.lines().map(|l| l.split('\t').next().unwrap()).collect();
    got.sort();
    assert_eq!(got, ["--dev-bind", "--dev-bind-try"], "{out}");

    let zsh_file = dest.join("usr/share/zsh/site-functions/_forkexec-run");
    let out = ok(Command::new(tool("zsh"))
        .args(["-f", "-c"])
        .arg(format!(
            "autoload -Uz compinit && compinit -u -d {dump} && source {file} && \
             whence -w _forkexec-run && functions _forkexec-run | grep -c -- '--ro-bind-try'",
            dump = c.dir("zsh").join("compdump").display(),
            file = zsh_file.display()
        ))
        .env("HOME", c.dir("zsh-home"))
        .output()
        .unwrap());
    assert!(out.contains("_forkexec-run: function"), "{out}");
    assert!(
        out.trim_end()
            .ends_with(|ch: char| ch.is_ascii_digit() && ch != '0'),
        "{out}"
    );
}

/// `--json` without `--inherit-env` puts none of the caller's variables in the spec; with it,
/// all of them; `--setenv` names one; `--inherit-env` alone is a usage error. Running (no
/// `--json`) still passes the caller's environment.
#[test]
fn json_keeps_the_callers_environment_out_unless_asked() {
    let json = |args: &[&str]| {
        let out = Command::new(cli())
            .args(args)
            .env("FORKEXEC_TEST_SECRET", "hunter2")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        Spec::from_json(&ok(out)).unwrap()
    };
    let spec = json(&["--json", "--", "/bin/true"]);
    assert!(spec.env.is_empty(), "{:?}", spec.env);
    let spec = json(&["--json", "--setenv", "A", "1", "--", "/bin/true"]);
    assert_eq!(spec.env, ["A=1"]);
    let spec = json(&["--json", "--inherit-env", "--", "/bin/true"]);
    assert!(spec.env.iter().any(|e| e == "FORKEXEC_TEST_SECRET=hunter2"));
    let spec = json(&[
        "--json",
        "--inherit-env",
        "--unsetenv",
        "FORKEXEC_TEST_SECRET",
        "--",
        "/bin/true",
    ]);
    assert!(!spec
        .env
        .iter()
        .any(|e| e.starts_with("FORKEXEC_TEST_SECRET")));
    assert!(!spec.env.is_empty());

    let out = Command::new(cli())
        .args(["--inherit-env", "--", "/bin/true"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    assert!(text(&out.stderr).contains("--json"), "{out:?}");

    let out = Command::new(cli())
        .args(["--", "/bin/sh", "-c", "echo $FORKEXEC_TEST_SECRET"])
        .env("FORKEXEC_HELPER", support::helper())
        .env("FORKEXEC_TEST_SECRET", "hunter2")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(ok(out), "hunter2\n");
}

/// The subcommand names are COMMANDs after `--` or after any flag.
#[test]
fn subcommand_names_are_commands_after_flags() {
    for args in [
        &["--", "completions", "bash"][..],
        &["--clearenv", "completions", "bash"][..],
    ] {
        let out = Command::new(cli())
            .args(args)
            .env("FORKEXEC_HELPER", support::helper())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(127), "{args:?}: {out:?}");
        assert!(
            text(&out.stderr).contains("completions: command not found"),
            "{out:?}"
        );
    }
    let out = ok(Command::new(cli())
        .args(["completions", "bash"])
        .output()
        .unwrap());
    assert!(out.contains("complete -F"), "{out}");
}
