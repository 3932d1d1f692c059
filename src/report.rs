//! Failure records: the error status record, the exit code, and a stderr line as a last resort.

use forkexec_spec::layout::opt;
use forkexec_spec::status::{self, Record};
use forkexec_spec::{render, Location};

use crate::{sys, text, Channel};

/// Exit codes a runtime that only looks at the exit status can act on.
pub mod status_exit {
    pub use forkexec_spec::status::{
        EXIT_CANNOT_EXECUTE as CANNOT_EXECUTE, EXIT_NOT_FOUND as NOT_FOUND,
        EXIT_SETUP_FAILED as SETUP_FAILED,
    };
}

pub use forkexec_helper_core::{At, Failure};

/// Writes one status record. A socket gets `send(MSG_NOSIGNAL)` so a vanished runtime means
/// EPIPE rather than SIGPIPE; pipes and files get a plain `write`.
///
/// A read-only status fd means nobody reads records: the pid, exec and exit records are
/// dropped; an error record fails here (so [`fail`] says it on stderr) and so does a sync
/// record (no answer could come).
pub fn send_record(chan: &Channel, record: &Record) -> sys::Result {
    if chan.status_unread {
        return match record {
            Record::Error { .. } | Record::Sync { .. } => Err(sys::EBADF),
            Record::Pid { .. } | Record::Exec { .. } | Record::Exit { .. } => Ok(0),
        };
    }
    let bytes = record.encode();
    loop {
        let sent = if chan.status_is_socket {
            sys::send_nosignal(chan.status, &bytes)
        } else {
            sys::write(chan.status, &bytes)
        };
        match sent {
            Err(sys::EINTR) => continue,
            Ok(n) if n != bytes.len() => return Err(sys::EPIPE),
            other => return other,
        }
    }
}

/// Reports `failure` and exits; the target never runs.
pub fn fail(chan: &Channel, failure: Failure) -> ! {
    let record = Record::Error {
        location: failure.loc as u32,
        errno: failure.errno,
        index: failure.index,
        detail: failure.detail,
    };
    if chan.status_has_no_reader || send_record(chan, &record).is_err() {
        // Nobody to read the record (no status fd, or it is read-only): say it on stderr.
        stderr_line(chan, &failure);
    }
    if let Some(handshake) = chan.handshake {
        // Tell the supervisor that setup failed (EOF would mean the target executed).
        let _ = sys::write(handshake, b"!");
    }
    sys::exit_group(exit_code(chan, &failure))
}

/// 126 / 127 for execve's "cannot execute" / "not found" (as env, chroot, timeout), else 125;
/// 1 for every failure with BWRAP_ERRORS, as bubblewrap exits.
fn exit_code(chan: &Channel, f: &Failure) -> i32 {
    if chan.spec.is_some_and(|s| s.has(opt::BWRAP_ERRORS)) {
        return 1;
    }
    if f.loc != Location::Execve {
        return status::EXIT_SETUP_FAILED;
    }
    match sys::Errno(f.errno) {
        sys::EACCES | sys::ENOEXEC => status::EXIT_CANNOT_EXECUTE,
        sys::ENOENT => status::EXIT_NOT_FOUND,
        _ => status::EXIT_SETUP_FAILED,
    }
}

/// `forkexec: mount(3) /data: no such file or directory`: the words every front end uses
/// (`forkexec_spec::render`), after the name the helper was run as.
fn stderr_line(chan: &Channel, f: &Failure) {
    let mut line = text::Line::<4352>::new();
    line.push(chan.name);
    line.push(b": ");
    let record = render::Failure {
        location: f.loc as u32,
        errno: f.errno,
        index: f.index,
        detail: f.detail,
    };
    render::failure(&mut line, &record, chan.spec);
    line.push(b"\n");
    let _ = sys::write(2, line.as_bytes());
}
