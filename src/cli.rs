//! The command line: `forkexec [--spec-fd N]`, `forkexec --serve N [--shared DIR...]`,
//! `--help`, `--version`.
//! Anything else is refused.

use crate::{rt, status_exit, sys};

const DEFAULT_SPEC_FD: i32 = 3;

const USAGE: &str = "\
usage: forkexec [--spec-fd N]
       forkexec --serve N [--shared DIR...]
       forkexec --help | --version

Reads one spec (forkexec wire format v1, docs/spec.md) from fd 3, or fd N, sets up the
sandbox it describes and executes the target in place. Status records go to the spec fd
(or the spec's status fd): an error record (location, errno, index) when a step fails,
EOF when execve succeeded. Exit codes: 125 setup failed, 126 cannot execute, 127 not found.
With --serve, a fork server on the SOCK_SEQPACKET socket N: one run per request.
";

/// How the helper was asked to run.
pub enum Mode {
    /// Read one spec from this fd.
    Spec(i32),
    /// Serve requests on this socket (docs/spec.md, "Fork server"); with `--shared`,
    /// `serve::SHARED` holds where its DIRs are.
    Serve(i32),
}

/// The fd to read the spec from, or to serve on; or exit after `--help` / `--version` / a
/// usage error.
pub fn mode(sp: *const usize) -> Mode {
    let mut args = rt::Args::from_stack(sp).skip(1);
    let first = args.next().map(|a| a.to_bytes());
    let fd = match first {
        None => DEFAULT_SPEC_FD,
        Some(b"--spec-fd" | b"--serve") => match args
            .next()
            .and_then(|n| crate::text::parse_fd(n.to_bytes()))
        {
            Some(fd) => fd,
            None if first == Some(b"--serve") => {
                usage_error(b"forkexec: --serve needs a decimal fd number\n")
            }
            None => usage_error(b"forkexec: --spec-fd needs a decimal fd number\n"),
        },
        Some(b"--help") | Some(b"-h") | Some(b"--version") => 0,
        Some(_) => usage_error(b"forkexec: unknown argument\n"),
    };
    // `--serve N --shared DIR...`: the shared server (serve::SHARED says where the DIRs are).
    // Of the arguments left here, --serve is the only one 7 bytes long.
    if let Some(extra) = args.next() {
        if first.map(<[u8]>::len) != Some(7) || extra.to_bytes() != b"--shared" {
            usage_error(b"forkexec: unexpected extra argument\n");
        }
        crate::serve::SHARED.store(sp as usize, core::sync::atomic::Ordering::Relaxed);
    }
    match first {
        Some(b"--help") | Some(b"-h") => exit_with(0, USAGE.as_bytes()),
        Some(b"--version") => exit_with(0, VERSION_LINE.as_bytes()),
        Some(b"--serve") => return Mode::Serve(fd),
        _ => {}
    }
    Mode::Spec(fd)
}

/// How the helper names itself on stderr: the last part of its `argv[0]` (`forkexec`, or
/// `forkexec-run` when the CLI executes it in its own place), `forkexec` when there is none.
pub fn program_name(sp: *const usize) -> &'static [u8] {
    let arg0 = rt::Args::from_stack(sp)
        .next()
        .map_or(&b""[..], |a| a.to_bytes());
    let base = match arg0.iter().rposition(|&c| c == b'/') {
        Some(slash) => &arg0[slash + 1..],
        None => arg0,
    };
    if base.is_empty() {
        b"forkexec"
    } else {
        base
    }
}

const VERSION_LINE: &str = concat!("forkexec ", env!("CARGO_PKG_VERSION"), " (spec v1)\n");

fn usage_error(msg: &[u8]) -> ! {
    let _ = sys::write(2, msg);
    exit_with(status_exit::SETUP_FAILED, USAGE.as_bytes())
}

fn exit_with(code: i32, msg: &[u8]) -> ! {
    let _ = sys::write(2, msg);
    sys::exit_group(code)
}
