//! `forkexec-run`: run a program in a forkexec sandbox from a JSON spec and/or
//! bubblewrap-style flags, pass stdin/stdout/stderr through, and exit the way the program did.
//!
//! - [`cli`]: the flags and their help; [`help`] wraps the help text.
//! - [`assemble`]: the command line to a [`forkexec_client::Spec`].
//! - [`run`]: the new root's directory, signal forwarding, start, wait, the exit status.
//! - [`report`]: one-line errors and the exit codes 125/126/127; [`explain`] adds why and
//!   the fix when the host or the spec say more than the errno.
//! - [`tools`]: the subcommands: [`check`] (what this host allows), the man page and
//!   completion generators.
//! - [`judge`]: the judge flags (limits on the whole sandbox, `--result-json`).
//! - [`bwrap`]: the bubblewrap mode (run as `bwrap`, or with a leading `--bwrap`).
//! - [`verbose`]: `-v`, the stages told as they happen.
//! - [`serve`]: `forkexec-run serve` (a pool of warm sandboxes on a unix socket) and `--via`.
//! - [`arena`]: the allocator (a bump arena, then the C library's `malloc`).

#![cfg_attr(not(test), no_main)]
#![warn(missing_docs)]

mod arena;
mod assemble;
mod bwrap;
mod caps;
mod check;
mod cli;
mod defaults;
mod explain;
mod help;
mod judge;
mod native;
mod report;
mod run;
mod seccomp_check;
mod serve;
mod tools;
mod verbose;

use std::ffi::OsString;
use std::io::Write;
use std::sync::OnceLock;

use clap::{CommandFactory, FromArgMatches};

/// A one-shot run's allocations come from a static arena (arena.rs); `cargo test`'s harness
/// keeps the default allocator.
#[cfg(not(test))]
#[global_allocator]
static ALLOCATOR: arena::Arena = arena::Arena;

/// Why forkexec-run stops before (or instead of) running the program: one line for stderr
/// and the exit code (125 for setup errors, 126/127 for a program that cannot be executed or
/// found).
#[derive(Debug)]
pub struct Fail {
    /// The exit code.
    pub code: i32,
    /// The line for stderr (without the `forkexec-run: ` prefix).
    pub message: String,
}

impl Fail {
    /// A setup failure: exit 125.
    pub fn setup(message: String) -> Fail {
        Fail { code: 125, message }
    }

    /// Prints `forkexec-run: MESSAGE` (`bwrap: MESSAGE` in bubblewrap mode) and exits with
    /// the code (bubblewrap's 1 for every failure in bubblewrap mode).
    pub fn exit(self) -> ! {
        let me = program();
        let _ = writeln!(
            std::io::stderr(),
            "{}{}: {}",
            me.prefix,
            me.name,
            self.message
        );
        if me.name == "bwrap" {
            // bwrap's die(): every failure it reports itself exits 1.
            std::process::exit(1)
        }
        std::process::exit(self.code)
    }
}

/// The C entry point, so that std's runtime setup is skipped: it costs a static binary about
/// a third of its start (reading `/proc/self/maps` for the main thread's stack guard, an
/// alternate signal stack), and forkexec-run is started once per sandbox (docs/cli.md,
/// "Start-up cost"). Without it SIGPIPE keeps its default action, as in a C program, and a
/// stack overflow is a plain SIGSEGV.
#[cfg(not(test))]
#[no_mangle]
extern "C" fn main(argc: libc::c_int, argv: *const *const libc::c_char) -> libc::c_int {
    use std::os::unix::ffi::OsStrExt;
    let args = (0..argc.max(0) as usize)
        .map(|i| {
            // SAFETY: the C runtime passes argc NUL-terminated strings in argv.
            let arg = unsafe { std::ffi::CStr::from_ptr(*argv.add(i)) };
            std::ffi::OsStr::from_bytes(arg.to_bytes()).to_owned()
        })
        .collect();
    real_main(args);
    0
}

/// Under `cargo test` the harness has its own entry; this keeps the code path alive there.
#[cfg(test)]
fn main() {
    real_main(std::env::args_os().collect())
}

/// How forkexec-run names itself in messages: `forkexec-run`, or `bwrap` in bubblewrap mode
/// (with `--level-prefix`, after a syslog level).
pub struct Program {
    /// The name (`forkexec-run` or `bwrap`).
    pub name: &'static str,
    /// What goes before it on each line (a syslog level such as `<3>`, or nothing).
    pub prefix: &'static str,
}

static PROGRAM: OnceLock<Program> = OnceLock::new();

/// This run's [`Program`] (`forkexec-run` unless bubblewrap mode set it).
pub fn program() -> &'static Program {
    PROGRAM.get_or_init(|| Program {
        name: "forkexec-run",
        prefix: "",
    })
}

/// The command line comes from `main`'s own `argv`: std's `args_os` is filled by std's runtime
/// setup with musl (skipped here), by glibc's start with glibc.
fn real_main(args: Vec<OsString>) {
    if bwrap::selected(&args) {
        bwrap_main(args);
    }
    if let [_, flag] = &args[..] {
        if flag == "--version" || flag == "-V" {
            // Answered before clap builds the parser, which is most of forkexec-run's own
            // start (docs/cli.md, "Start-up cost"): the line clap prints (a test holds them
            // equal), exit 0 also when stdout is closed, as clap does.
            let _ = std::io::stdout().write_all(version_line().as_bytes());
            std::process::exit(0);
        }
    }
    let matches = match cli::Cli::command().try_get_matches_from(&args) {
        Ok(m) => m,
        Err(e) => {
            // --help and --version exit 0; a usage error exits 125 (as env, chroot and
            // timeout do), never clap's 2, which a program could return itself.
            use clap::error::ErrorKind::*;
            if e.kind() == DisplayHelp {
                // clap wraps help only with its `wrap_help` feature (which pulls in rustix):
                // wrap it here, to the terminal's width (at most 100 columns).
                let text = help::wrap(&e.render().to_string(), help::width());
                let _ = std::io::stdout().write_all(text.as_bytes());
                std::process::exit(0);
            }
            let _ = e.print();
            std::process::exit(if e.kind() == DisplayVersion { 0 } else { 125 });
        }
    };
    let cli = match cli::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            std::process::exit(125);
        }
    };
    if let Some(tool) = &cli.tool {
        tools::run(tool);
    }
    if let Some(socket) = &cli.via {
        serve::check_via_flags(&matches, &cli).unwrap_or_else(|f| f.exit());
        let spec = assemble::assemble(&cli, &matches, assemble::Ids::current())
            .unwrap_or_else(|f| f.exit());
        let run = serve::ViaRun {
            chdir: cli.chdir.is_some(),
            judge: cli
                .judge
                .active()
                .then(|| (judge::JudgeArgs::flags_given(&matches), &cli.judge)),
        };
        serve::via(socket, &spec, &run);
    }
    let spec =
        assemble::assemble(&cli, &matches, assemble::Ids::current()).unwrap_or_else(|f| f.exit());

    if let Some(path) = &cli.dump_spec {
        let bytes = spec
            .encode()
            .unwrap_or_else(|e| Fail::setup(e.to_string()).exit());
        if let Err(e) = std::fs::write(path, &bytes) {
            Fail::setup(format!("--dump-spec {}: {e}", path.display())).exit();
        }
    }
    if cli.json {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", spec.to_json_pretty());
        let _ = out.flush();
        std::process::exit(0);
    }
    if cli.verbose {
        verbose::enable();
    }
    if cli.judge.active() {
        judge::run(spec, &cli.judge, cli.die_with_parent)
    }
    run::run(spec, cli.stay || cli.verbose, cli.die_with_parent)
}

/// What `forkexec-run --version` prints: clap's `{name} {version}` line.
fn version_line() -> String {
    format!("forkexec-run {}\n", env!("CARGO_PKG_VERSION"))
}

/// bubblewrap mode: bubblewrap's command line read as bwrap reads it into forkexec-run's own
/// (bubblewrap's defaults asked for by name), assembled as forkexec-run's, then what has no
/// flag (bwrap.rs).
fn bwrap_main(args: Vec<OsString>) -> ! {
    let name = args[0].to_string_lossy().into_owned();
    let refused = |r: bwrap::Refusal| -> ! { Fail::setup(r.0).exit() };
    let level = args.iter().any(|a| a == "--level-prefix");
    let _ = PROGRAM.set(Program {
        name: "bwrap",
        prefix: if level { "<3>" } else { "" },
    });
    let host = bwrap::Host::current();
    let b = bwrap::parse(&name, args[1..].to_vec(), &host).unwrap_or_else(|r| refused(r));
    for warning in &b.warnings {
        let me = program();
        eprintln!(
            "{}bwrap: {warning}",
            if me.prefix.is_empty() { "" } else { "<4>" }
        );
    }
    if b.help {
        print!("{}", bwrap::usage(&name));
        std::process::exit(0);
    }
    if b.version {
        println!(
            "bubblewrap 0.11.1 (forkexec-run {})",
            env!("CARGO_PKG_VERSION")
        );
        std::process::exit(0);
    }
    if b.command.is_empty() {
        eprint!("{}", bwrap::usage(&name));
        std::process::exit(1);
    }
    // The line bubblewrap mode wrote is read without clap (native.rs); clap reads what that
    // reader leaves (and gives its errors).
    let (cli, ordered) = native::read(&b.native).unwrap_or_else(|| by_clap(&b.native));
    let mut spec = assemble::assemble_ordered(&cli, ordered, assemble::Ids::current())
        .unwrap_or_else(|f| {
            match f.code {
                // Not found in the sandbox's PATH: bwrap's execvp says it so.
                127 => Fail::setup(format!(
                    "execvp {}: No such file or directory",
                    b.command[0].to_string_lossy()
                ))
                .exit(),
                _ => f.exit(),
            }
        });
    bwrap::apply(&b, &mut spec).unwrap_or_else(|r| refused(r));
    run::run(spec, false, b.die_with_parent)
}

/// bubblewrap mode's native line read by clap.
fn by_clap(native: &[OsString]) -> (cli::Cli, assemble::Ordered) {
    // Values are bwrap's, as given: one that starts with `-` (a variable's value, a path) is a
    // value here too, never taken for a flag. Set once on the command, which clap applies to
    // each argument that takes values when it builds (rebuilding every argument with
    // `mut_args` cost about a tenth of forkexec-run's own CPU).
    let command = cli::Cli::command().allow_hyphen_values(true);
    let matches = match command.try_get_matches_from(native) {
        Ok(m) => m,
        Err(e) => {
            let text = e.to_string();
            let line = text.lines().next().unwrap_or_default();
            Fail::setup(line.trim_start_matches("error: ").to_string()).exit()
        }
    };
    let cli =
        cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| Fail::setup(e.to_string()).exit());
    let ordered = assemble::Ordered::from_matches(&matches);
    (cli, ordered)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn version_line_is_clap_s() {
        assert_eq!(
            super::version_line(),
            super::cli::Cli::command().render_version()
        );
    }
}

/// glibc's words for an errno in the musl build: std asks `__xpg_strerror_r` for an
/// `io::Error`'s text, and `make cli` links the musl build with `-Wl,--wrap=__xpg_strerror_r`,
/// so the text comes from here. musl words some errors differently (`Resource busy`,
/// `Symbolic link loop`); forkexec-run prints glibc's, which are bubblewrap's. The texts are
/// the spec crate's (checked against glibc by its tests), with glibc's capital first letter;
/// `make cli` checks one.
#[cfg(all(target_env = "musl", not(test)))]
#[no_mangle]
extern "C" fn __wrap___xpg_strerror_r(
    errnum: libc::c_int,
    buf: *mut libc::c_char,
    len: usize,
) -> libc::c_int {
    let text = match forkexec_spec::errno::text(errnum) {
        Some(t) => {
            let mut s = t.to_string();
            if let Some(first) = s.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            s
        }
        None => format!("Unknown error {errnum}"),
    };
    if len == 0 {
        return libc::ERANGE;
    }
    let n = text.len().min(len - 1);
    // SAFETY: the caller's buffer holds `len` bytes, and n + 1 <= len.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
        *buf.add(n) = 0;
    }
    if n < text.len() {
        libc::ERANGE
    } else {
        0
    }
}
