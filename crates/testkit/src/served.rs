//! Runs in a warm sandbox ([`forkexec_client::Sandbox`]) with their output captured, shared by
//! the pool tests (per-run namespaces and shared namespaces).

use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;

use forkexec_client::{Runner, Sandbox, ServedProcess};

use crate::support::pipe;

/// Runs `runner` in `sandbox` with stdout captured: (exit code, stdout and stderr).
pub fn run_in(sandbox: &Sandbox, runner: Runner) -> (i32, String) {
    finish(start_in(sandbox, runner))
}

/// Starts `runner` in `sandbox` with stdin from /dev/null and stdout and stderr on a pipe.
pub fn start_in(sandbox: &Sandbox, runner: Runner) -> (ServedProcess, File) {
    let devnull = File::open("/dev/null").unwrap();
    let (out_r, out_w) = pipe();
    let runner = runner.files([devnull.as_raw_fd(), out_w.as_raw_fd(), out_w.as_raw_fd()]);
    let started = sandbox.run(runner);
    drop(out_w);
    (started.unwrap_or_else(|e| panic!("run: {e}")), out_r)
}

/// Reads a started run's output to its end and waits for it: (exit code or -1, output).
pub fn finish((mut run, mut out_r): (ServedProcess, File)) -> (i32, String) {
    let mut out = String::new();
    out_r.read_to_string(&mut out).unwrap();
    let status = run.wait().unwrap();
    (status.code().unwrap_or(-1), out)
}
