//! The info fd and the JSON status fd (records INFO_FD, JSON_STATUS_FD): bubblewrap's JSON
//! about the target, written by the process that is outside it — the helper after the clone
//! (before the target goes on), or in place the helper itself once it has unshared. The JSON
//! status fd's exit code comes from the supervisor when a target that executed ends.

use forkexec_helper_core::info::{self, Style, NAMESPACES};
use forkexec_spec::{Location, Spec};

use crate::ns::ProcPath;
use crate::{sys, At, Failure};

const O_PATH: u32 = linux_raw_sys::general::O_PATH;

/// Writes the start document (`pid`, the ids of the namespaces the spec creates, read from
/// `/proc/PID/ns/` of `proc_pid`, `None` for this process) to the info fd and the JSON status
/// fd. The info fd is then closed, as bubblewrap does; in place its copy is the target's until
/// exec, where it is close-on-exec unless FILES keeps it.
pub fn report_start(spec: &Spec, proc_pid: Option<i32>) -> Result<(), Failure> {
    if spec.info_fd.is_none() && spec.json_status_fd.is_none() {
        return Ok(());
    }
    let pid = proc_pid.unwrap_or_else(sys::getpid);
    let mut ids = [0; 6];
    let mut path = ProcPath::new(proc_pid);
    for ((flag, name), id) in NAMESPACES.iter().zip(ids.iter_mut()) {
        if spec.clone_flags & flag != 0 {
            // An id that cannot be read is left out, as bubblewrap does.
            *id = namespace_id(path.ns_file(name)).unwrap_or(0);
        }
    }
    let docs = [
        (spec.info_fd, Style::Info),
        (spec.json_status_fd, Style::JsonStatus),
    ];
    for (index, (fd, style)) in docs.into_iter().enumerate() {
        if let Some(fd) = fd {
            let doc = info::start(style, pid as u32, &ids);
            write_all(fd as i32, doc.as_bytes()).at_index(Location::InfoFd, index)?;
        }
    }
    if let (Some(fd), Some(_)) = (spec.info_fd, proc_pid) {
        let _ = sys::close(fd as i32);
    }
    Ok(())
}

/// The JSON status line for a target that executed and ended with `wait_status`; the fd is
/// closed after it. Nothing to report to when the reader is gone.
pub fn report_exit(spec: &Spec, wait_status: i32) {
    if let Some(fd) = spec.json_status_fd {
        let _ = write_all(fd as i32, info::exit(wait_status).as_bytes());
        let _ = sys::close(fd as i32);
    }
}

fn namespace_id(path: &core::ffi::CStr) -> Option<u32> {
    let fd = sys::open(path, O_PATH).ok()?;
    let id = sys::fstat(fd).ok().map(|f| f.ino as u32);
    let _ = sys::close(fd);
    id
}

fn write_all(fd: i32, mut bytes: &[u8]) -> sys::Result<()> {
    while !bytes.is_empty() {
        match sys::write(fd, bytes) {
            Err(sys::EINTR) => continue,
            Err(e) => return Err(e),
            Ok(0) => return Err(sys::EPIPE),
            Ok(n) => bytes = &bytes[n..],
        }
    }
    Ok(())
}
