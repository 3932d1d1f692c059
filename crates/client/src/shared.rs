//! The shared-namespace run model of a warm sandbox ([`crate::SandboxBuilder::shared_namespaces`];
//! docs/design.md, "Shared namespaces: one run at a time, cleaned up between runs").
//!
//! The sandbox's server is `forkexec --serve 3 --shared DIR...` as pid 1 of the sandbox's own
//! pid namespace: each run is forked straight into the sandbox's namespaces (no namespace of
//! its own), one at a time; when the run's program has ended the server kills and reaps every
//! other process of the namespace and mounts a fresh tmpfs on each writable place in place of
//! the old one, before the run's exit record. This module completes the sandbox's and the
//! runs' specs for it and keeps the one-run-at-a-time rule on the client's side.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::Error;
use crate::names::Namespace;
use crate::spec::{MountOp, Spec};

/// Whether a shared sandbox has a run going: set by a run, cleared when its exit record is
/// read or its [`crate::ServedProcess`] is dropped (the server then kills the run and cleans
/// up before it reads the next request).
#[derive(Debug, Default)]
pub(crate) struct Busy(Arc<AtomicBool>);

/// A shared sandbox's run holds this while it is going; dropping it frees the sandbox.
#[derive(Debug)]
pub(crate) struct RunGuard(Arc<AtomicBool>);

impl Drop for RunGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Busy {
    /// The sandbox for one run, or `None` while another run is going.
    pub(crate) fn take(&self) -> Option<RunGuard> {
        self.0
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| RunGuard(Arc::clone(&self.0)))
    }

    /// Whether a run is going.
    pub(crate) fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Refuses writable places the server could not reset safely: each must be an absolute path
/// other than `/`, without `.` or `..` parts, and none may lie in another (a reset of the
/// outer one would take the inner one's directory away).
pub(crate) fn check_places(writable: &[String]) -> Result<(), Error> {
    for dir in writable {
        let parts: Vec<&str> = dir.split('/').skip(1).collect();
        let bad = !dir.starts_with('/')
            || parts.iter().all(|p| p.is_empty())
            || parts.iter().any(|p| *p == "." || *p == "..")
            || dir.contains('\0');
        if bad {
            return Err(invalid(&format!(
                "writable place {dir:?}: a shared sandbox needs an absolute path other than /, \
                 without . or .."
            )));
        }
    }
    let norm = |d: &String| format!("{}/", d.trim_end_matches('/'));
    for (i, a) in writable.iter().enumerate() {
        for b in &writable[i + 1..] {
            let (na, nb) = (norm(a), norm(b));
            if na.starts_with(&nb) || nb.starts_with(&na) {
                return Err(invalid(&format!(
                    "writable places {a:?} and {b:?}: one is inside the other"
                )));
            }
        }
    }
    Ok(())
}

/// The sandbox's spec for a shared server: a pid namespace whose pid 1 is the server (no
/// `init`), each writable place a directory of the (read-only) root and, after the read-only
/// remount, a writable tmpfs for the first run; the server's argv names the places.
pub(crate) fn shape(spec: &mut Spec, writable: &[String]) {
    if !spec.clone_flags.contains(&Namespace::NewPid) {
        spec.clone_flags.push(Namespace::NewPid);
    }
    // The server itself is pid 1: every orphan is its child, and no run can signal it.
    spec.init = false;
    spec.args = ["forkexec", "--serve", "3", "--shared"]
        .iter()
        .map(|s| s.to_string())
        .chain(writable.iter().cloned())
        .collect();
}

/// Before the read-only remount: the directories the server mounts on.
pub(crate) fn place_dirs(spec: &mut Spec, writable: &[String]) {
    for dir in writable {
        spec.mounts.push(MountOp::dir(dir.clone()).into());
    }
}

/// After the read-only remount: the first run's fresh tmpfs (later ones are the server's).
pub(crate) fn first_tmpfs(spec: &mut Spec, writable: &[String]) {
    for dir in writable {
        spec.mounts
            .push(MountOp::tmpfs(dir.clone()).mode(0o1777).into());
    }
}

/// A run's spec in a shared sandbox: no namespace of its own unless it asks for one, every
/// capability dropped before exec, a new session keyring; a mount only with its own mount
/// namespace (it would stay for the next run), no new root, no cgroup path.
pub(crate) fn run_spec(spec: &mut Spec) -> Result<(), Error> {
    if !spec.pivot_root.is_empty() {
        return Err(invalid("pivot_root: a pooled sandbox's root is built once"));
    }
    if !spec.cgroup.is_empty() {
        return Err(invalid(
            "cgroup: the path is not visible inside the sandbox; use cgroup_fd",
        ));
    }
    if !spec.mounts.is_empty() && !spec.clone_flags.contains(&Namespace::NewNs) {
        return Err(invalid(
            "mounts: a shared-namespace sandbox's runs share its mount namespace (a mount \
             would stay for the next run); ask for NewNs in the run too",
        ));
    }
    spec.drop_caps = true;
    spec.new_session_keyring = true;
    Ok(())
}

/// The error for a run on a shared sandbox that has one going.
pub(crate) fn busy() -> Error {
    Error::Helper(io::Error::new(
        io::ErrorKind::ResourceBusy,
        "a shared-namespace sandbox runs one program at a time, and one is going \
         (wait for it or drop it first)",
    ))
}

fn invalid(msg: &str) -> Error {
    Error::Helper(io::Error::new(io::ErrorKind::InvalidInput, msg.to_owned()))
}
