//! ptrace: become a tracee, and stop for the tracer before seccomp when asked (or when a
//! seccomp filter with ptrace may trace execve itself, as go-sandbox does).

use forkexec_spec::layout::opt;
use forkexec_spec::{Location, Spec};

use crate::{sys, At, Failure};

const SIGSTOP: u32 = linux_raw_sys::general::SIGSTOP;

pub fn trace_me(spec: &Spec) -> Result<(), Failure> {
    if spec.has(opt::PTRACE) {
        sys::ptrace_traceme().at(Location::PtraceMe)?;
    }
    Ok(())
}

pub fn stop_before_seccomp(spec: &Spec) -> Result<(), Failure> {
    if spec.stops_before_exec() {
        sys::kill(sys::getpid(), SIGSTOP).at(Location::Stop)?;
    }
    Ok(())
}
