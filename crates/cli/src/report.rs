//! A failed start as one line and an exit code.
//!
//! The helper's error record is rendered as the client renders it
//! (`mount(3): no such file or directory`), with what its index refers to inserted after the
//! location: the mount's target, the rlimit's resource, the program, the directory…
//! (`mount(3) /data: no such file or directory`).

use forkexec_client::{ChildError, Error, Location, MountEntry, Spec};

use crate::Fail;

/// What the error's location and index refer to in `spec`, if anything worth naming.
fn subject(e: &ChildError, spec: &Spec) -> Option<String> {
    let index = e.index() as usize;
    let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    match e.location()? {
        Location::Mount | Location::MountMkdir | Location::MountPath => {
            spec.mounts.get(index).map(|m| m.target().to_string())
        }
        // What could not be opened or read: a bind's source, a file's content fd.
        Location::MountSource => match spec.mounts.get(index)? {
            MountEntry::Op(op) => match op.fd() {
                Some(fd) => Some(format!("fd {fd}")),
                None => nonempty(&op.source),
            },
            MountEntry::Raw(m) => nonempty(&m.source),
        },
        Location::SetRlimit => spec
            .rlimits
            .get(index)
            .map(|r| r.resource.name().to_string()),
        Location::Execve => match (&spec.exec_path, spec.exec_file) {
            (Some(path), _) => Some(path.clone()),
            (None, Some(fd)) => Some(format!("fd {fd}")),
            (None, None) => spec.args.first().cloned(),
        },
        Location::Chdir => nonempty(&spec.work_dir),
        Location::MountTmpfs | Location::MountChdir | Location::PivotRoot => {
            nonempty(&spec.pivot_root)
        }
        Location::SetHostName => Some(spec.host_name.clone()),
        Location::SetDomainName => Some(spec.domain_name.clone()),
        Location::Cgroup => nonempty(&spec.cgroup),
        _ => None,
    }
}

/// `location(index) SUBJECT: errno text`.
pub fn child_line(e: &ChildError, spec: &Spec) -> String {
    let text = e.to_string();
    let (Some(location), Some(subject)) = (e.location(), subject(e, spec)) else {
        return text;
    };
    let head = format!("{}({})", location.name(), e.index());
    match text.strip_prefix(&head) {
        Some(rest) => format!("{head} {subject}{rest}"),
        None => text,
    }
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
        Error::Child(c) => child_line(c, spec),
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
    use forkexec_client::{Mount, MountOp, Resource, Rlimit};

    fn spec() -> Spec {
        let mut s = Spec::new(["/bin/prog"]);
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
