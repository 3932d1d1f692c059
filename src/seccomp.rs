//! The seccomp filters: the last step before execve. The programs are loaded in spec order
//! with `prctl(PR_SET_SECCOMP)`, so each but the last must allow `prctl`; together they must
//! allow what the helper still does after them: `execve`/`execveat`, and on failure
//! `write`/`sendto` of the error record and `exit_group` (docs/spec.md says so to filter
//! authors).

use forkexec_spec::{Location, Spec};

use crate::{sys, At, Channel, Failure};

/// SIGPIPE goes back to the disposition the runtime gave (ignored during setup, see
/// [`Channel::sigpipe_was_ignored`]), then the filter is loaded.
pub fn load_filter(spec: &Spec, chan: &mut Channel) -> Result<(), Failure> {
    let sigpipe = linux_raw_sys::general::SIGPIPE;
    // Cannot fail: a valid signal, SIG_DFL, structs of the right size. Ignored by the
    // runtime (as Rust's and Python's runtimes leave it) it is ignored already.
    if !chan.sigpipe_was_ignored {
        let _ = sys::set_signal_action(sigpipe, false);
    }
    // A failure record from here on (the filter, execve) must not meet a readerless pipe:
    // the filter may not allow rt_sigaction to ignore SIGPIPE again.
    chan.status_has_no_reader = !chan.status_is_socket && sys::has_no_reader(chan.status);
    load_programs(spec)
}

/// Every SECCOMP program, in order (also used by a dumpable init).
pub fn load_programs(spec: &Spec) -> Result<(), Failure> {
    for (i, insns) in spec.seccomp.iter().enumerate() {
        sys::seccomp_filter(insns).at_index(Location::Seccomp, i)?;
    }
    Ok(())
}
