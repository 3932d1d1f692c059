//! [`Runner::exec_in_place`]: the helper replaces the calling process, as `execve` would
//! replace it with the program (std's `CommandExt::exec`, for a sandbox).
//!
//! For a front end with nothing to do once the program runs (no limits to enforce, no output
//! to capture, no result to write): no second process, no wait, no status stream. The spec
//! goes to the helper on a read-only fd (a pipe's read end); the helper's records, having no
//! reader, are dropped, and an error becomes one
//! line on stderr in the same words [`crate::ChildError::describe`] uses, and its exit status
//! (125/126/127 for a failed start, else the program's own, mirrored by a supervising helper)
//! is the process's.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

use super::{inherited_fds, remap_mount_fds, Runner};
use crate::error::Error;
use crate::sys;

impl Runner {
    /// Replaces this process with the helper, which sets the sandbox up and becomes (or
    /// supervises) the program. Returns only when that could not even begin: a spec the
    /// helper would refuse, no helper binary, a spec that needs a reader (`sync`, `detach`, a
    /// stop before exec), or `execve` of the helper failing. Once the helper runs, a failed
    /// step is one line on stderr, `ARG0: location(index) subject: errno text`, and exit
    /// status 125 (126/127 for a program that cannot be executed / found).
    ///
    /// `arg0` is the name the helper runs under and puts before its error line (a front end
    /// passes its own, so that its errors read the same on either path). Other threads of
    /// this process are gone with it, as with any `execve`.
    pub fn exec_in_place(mut self, arg0: &str) -> Error {
        if let Some(why) = needs_a_reader(&self) {
            return Error::Helper(io::Error::new(io::ErrorKind::InvalidInput, why));
        }
        // A mount operation's fd the target's fd table would replace is moved out of the way
        // (see `start`); here the copies live until the helper replaces this process.
        let copies = match remap_mount_fds(&mut self.spec) {
            Ok(copies) => copies,
            Err(e) => return Error::Helper(e),
        };
        // With the helper's own refusals that depend on who asks (detach was refused above).
        let spec = match self.spec.encode_shaped() {
            Ok((spec, _)) => spec,
            Err(e) => return e.into(),
        };
        let path = match self.find_helper() {
            Ok(path) => path,
            Err(e) => return Error::Helper(e),
        };
        let keep = match inherited_fds(&self.spec) {
            Ok(keep) => keep,
            Err(e) => return Error::Helper(e),
        };
        let reader = match sys::spec_reader(&spec) {
            Ok(fd) => fd,
            Err(e) => return Error::Helper(io::Error::new(e.kind(), format!("spec fd: {e}"))),
        };
        let cleared = keep
            .iter()
            .chain([&reader.as_raw_fd()])
            .try_for_each(|&fd| sys::clear_cloexec(fd));
        if let Err(e) = cleared {
            return Error::Helper(e);
        }
        let err = Command::new(&path)
            .arg0(arg0)
            .arg("--spec-fd")
            .arg(reader.as_raw_fd().to_string())
            .exec();
        drop(copies);
        Error::Helper(io::Error::new(
            err.kind(),
            format!("cannot run {}: {err}", path.display()),
        ))
    }
}

/// Why this spec cannot run without somebody reading the helper's records, if it cannot.
fn needs_a_reader(runner: &Runner) -> Option<&'static str> {
    let spec = &runner.spec;
    if spec.sync || runner.sync_func.is_some() {
        Some("exec_in_place: sync needs a reader for the sync record; use start()")
    } else if spec.detach {
        Some("exec_in_place: detach reports the target's pid to a reader; use start()")
    } else if spec.stops_before_exec() {
        Some("exec_in_place: a stop before exec needs the caller as tracer; use start()")
    } else {
        None
    }
}
