//! A failed start as one line and an exit code.
//!
//! The helper's error record is rendered as the client renders it
//! (`mount(3): no such file or directory`), with what its index refers to inserted after the
//! location: the mount's target, the rlimit's resource, the program, the directory…
//! (`mount(3) /data: no such file or directory`). The words come from
//! `forkexec_spec::render`, which the helper uses for the same line on stderr.

use forkexec_client::{ChildError, Error, Location, Spec};

use crate::Fail;

/// `location(index) SUBJECT: errno text`: the helper's own wording (it prints the same line
/// when it runs in place of forkexec-run, with nobody to read its records).
pub fn child_line(e: &ChildError, spec: &Spec) -> String {
    e.describe(spec)
}

/// The exit code for a failed start: 126/127 for execve's EACCES or ENOEXEC / ENOENT (as
/// `env` and the helper itself), 125 for everything else.
pub fn exit_code(e: &Error) -> i32 {
    match e {
        Error::Child(c) if c.location() == Some(Location::Execve) => match c.errno() {
            libc::EACCES | libc::ENOEXEC => 126,
            libc::ENOENT => 127,
            _ => 125,
        },
        _ => 125,
    }
}

/// A failed start as a [`Fail`].
pub fn failure(e: &Error, spec: &Spec) -> Fail {
    let message = match e {
        // The line, then why and the fix when the host or the spec say more (explain.rs).
        // (bubblewrap mode: bwrap's one line, no more.)
        Error::Child(c) if spec.bwrap_errors => child_line(c, spec),
        Error::Child(c) => match crate::explain::explain(c, spec) {
            Some(x) => child_line(c, spec) + &x.render(),
            None => child_line(c, spec),
        },
        other => other.to_string(),
    };
    Fail {
        code: exit_code(e),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use forkexec_client::{Mount, MountOp, Namespace, Resource, Rlimit};

    /// A spec the helper would take (mounts need a mount namespace): a failure can only come
    /// from one.
    fn spec() -> Spec {
        let mut s = Spec::new(["/bin/prog"]);
        s.clone_flags = vec![Namespace::NewNs];
        s.mounts = vec![
            Mount::tmpfs("/tmp", "").into(),
            Mount::bind("/nonexistent", "/data", true).into(),
            MountOp::ro_bind("/missing", "/m").into(),
            MountOp::file_from_fd(7, "/etc/f").into(),
        ];
        s.rlimits = vec![Rlimit::new(Resource::Nofile, 1, 1)];
        s
    }

    #[test]
    fn lines_name_what_the_index_refers_to() {
        let enoent = libc::ENOENT;
        let mount = ChildError::new(Location::Mount as u32, enoent, 1, 0);
        assert_eq!(
            child_line(&mount, &spec()),
            "mount(1) /data: no such file or directory"
        );
        let rlimit = ChildError::new(Location::SetRlimit as u32, libc::EPERM, 0, 0);
        assert_eq!(
            child_line(&rlimit, &spec()),
            "setrlimit(0) nofile: operation not permitted"
        );
        let exec = ChildError::new(Location::Execve as u32, enoent, 0, 0);
        assert_eq!(
            child_line(&exec, &spec()),
            "execve(0) /bin/prog: no such file or directory"
        );
        assert_eq!(exit_code(&Error::Child(exec)), 127);
        let eacces = ChildError::new(Location::Execve as u32, libc::EACCES, 0, 0);
        assert_eq!(exit_code(&Error::Child(eacces)), 126);
        // A mount index the spec does not have: the client's rendering as it is.
        let odd = ChildError::new(Location::Mount as u32, enoent, 9, 0);
        assert_eq!(
            child_line(&odd, &spec()),
            "mount(9): no such file or directory"
        );
        // Mount operations: the target for mount(path), the source for mount(source).
        let path = ChildError::new(Location::MountPath as u32, libc::EXDEV, 2, 0);
        assert_eq!(
            child_line(&path, &spec()),
            "mount(path)(2) /m: invalid cross-device link"
        );
        let source = ChildError::new(Location::MountSource as u32, enoent, 2, 0);
        assert_eq!(
            child_line(&source, &spec()),
            "mount(source)(2) /missing: no such file or directory"
        );
        let fd = ChildError::new(Location::MountSource as u32, libc::EBADF, 3, 0);
        assert_eq!(
            child_line(&fd, &spec()),
            "mount(source)(3) fd 7: bad file descriptor"
        );
        let other = ChildError::new(Location::SetUid as u32, libc::EPERM, 0, 0);
        assert_eq!(
            child_line(&other, &spec()),
            "setuid(0): operation not permitted"
        );
        assert_eq!(exit_code(&Error::Child(other)), 125);
    }
}
