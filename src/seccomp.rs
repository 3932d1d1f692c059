//! The seccomp filter: the last step before execve. The filter must allow what the helper
//! still does after it: `execve`/`execveat`, and on failure `write`/`sendto` of the error
//! record and `exit_group` (docs/spec.md says so to filter authors).

use forkexec_spec::{Location, Spec};

use crate::{sys, At, Failure};

pub fn load_filter(spec: &Spec) -> Result<(), Failure> {
    if let Some(insns) = spec.seccomp {
        sys::seccomp_filter(insns).at(Location::Seccomp)?;
    }
    Ok(())
}
