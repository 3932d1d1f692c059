//! The exec-in-place chain, field by field: each test starts the real helper through the
//! client and checks what the target (`forkexec-probe`) sees from inside, and what the
//! runtime receives (pid, sync callback, ptrace stops, exit status, rusage).
//!
//! Error locations are in `exec_errors.rs`. Tests that only make sense as root or only
//! unprivileged say so on stderr and return early; `make test` runs the binary both ways.
use forkexec_testkit::chain;
use forkexec_testkit::support;

use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use forkexec_client::{
    Credential, IdMap, Namespace, Resource, Runner, SockFilter, Spec, RLIM_INFINITY,
};
use serde_json::{json, Value};

use chain::*;
use support::*;

const ZERO_CAPS: &str = "0000000000000000";

fn probe_path() -> String {
    probe().to_string_lossy().to_string()
}

fn canonical(p: &std::path::Path) -> String {
    std::fs::canonicalize(p)
        .unwrap()
        .to_string_lossy()
        .to_string()
}

/// The probe executed by fd (`exec_file`): a target that runs as another uid must not need to
/// look the probe up by path, since the checkout may sit under a directory closed to others
/// (e.g. /root). The `File` must live until the start.
fn probe_by_fd(args: &[&str]) -> (Runner, File) {
    let exe = File::open(probe()).unwrap();
    let mut argv = vec![probe_path()];
    argv.extend(args.iter().map(|s| s.to_string()));
    (Runner::new(argv).exec_file(exe.as_raw_fd()), exe)
}

/// A new user namespace with this process's ids mapped to 0 inside.
fn in_user_ns(r: Runner) -> Runner {
    r.clone_flags([Namespace::NewUser])
        .uid_mappings([IdMap::new(0, euid(), 1)])
        .gid_mappings([IdMap::new(0, egid(), 1)])
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn own_status_field(name: &str) -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap()
        .trim()
        .to_string()
}

mod caps;
mod files;
mod program;
mod security;
mod session;
