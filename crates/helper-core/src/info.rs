//! bubblewrap's info and JSON status documents (records INFO_FD and JSON_STATUS_FD), byte for
//! byte as bubblewrap 0.11 writes them: the target's pid and the ids of the namespaces it was
//! given once it is started, and (JSON status only) its exit code when it ends.

use forkexec_spec::layout::ns;

use crate::text::Line;

/// The namespaces bubblewrap names, in its order: the clone flag that creates one and its
/// file in `/proc/PID/ns/`. (bubblewrap leaves the user namespace out.)
pub const NAMESPACES: [(u64, &[u8]); 6] = [
    (ns::NEWCGROUP, b"cgroup"),
    (ns::NEWIPC, b"ipc"),
    (ns::NEWNS, b"mnt"),
    (ns::NEWNET, b"net"),
    (ns::NEWPID, b"pid"),
    (ns::NEWUTS, b"uts"),
];

/// Room for the longest start document: the pid and six namespace ids.
pub const START_LEN: usize = 256;

/// Which of the two documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// `--info-fd`: a multi-line JSON object.
    Info,
    /// `--json-status-fd`: one JSON object per line.
    JsonStatus,
}

/// The start document: `pid`, then `"NAME-namespace": ID` for each of [`NAMESPACES`] whose
/// id is known (`ids[i]`, in the table's order; 0, unknown, is left out as bubblewrap does).
/// (A namespace id is an nsfs inode number, which the kernel keeps in an `unsigned int`.)
pub fn start(style: Style, pid: u32, ids: &[u32; 6]) -> Line<START_LEN> {
    let (open, sep, close): (&[u8], &[u8], &[u8]) = match style {
        Style::Info => (b"{\n    \"child-pid\": ", b",\n    \"", b"\n}\n"),
        Style::JsonStatus => (b"{ \"child-pid\": ", b", \"", b" }\n"),
    };
    let mut out = Line::new();
    out.push(open);
    out.push_u32(pid);
    for ((_, name), id) in NAMESPACES.iter().zip(ids) {
        if *id != 0 {
            out.push(sep);
            out.push(name);
            out.push(b"-namespace\": ");
            out.push_u32(*id);
        }
    }
    out.push(close);
    out
}

/// The JSON status line written when the target ends: its exit code in the shell's encoding.
pub fn exit(wait_status: i32) -> Line<32> {
    let mut out = Line::new();
    out.push(b"{ \"exit-code\": ");
    out.push_u32(exit_code(wait_status) as u32);
    out.push(b" }\n");
    out
}

/// The shell's encoding of a wait status: the exit code, or 128 + the signal.
pub fn exit_code(wait_status: i32) -> i32 {
    match wait_status & 0x7f {
        0 => (wait_status >> 8) & 0xff,
        sig => 128 + sig,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bubblewraps_bytes() {
        let ids = [11, 0, 13, 0, 4026532000, 0];
        assert_eq!(
            start(Style::Info, 42, &ids).as_bytes(),
            b"{\n    \"child-pid\": 42,\n    \"cgroup-namespace\": 11,\n    \
              \"mnt-namespace\": 13,\n    \"pid-namespace\": 4026532000\n}\n"
        );
        assert_eq!(
            start(Style::JsonStatus, 7, &ids).as_bytes(),
            b"{ \"child-pid\": 7, \"cgroup-namespace\": 11, \"mnt-namespace\": 13, \
              \"pid-namespace\": 4026532000 }\n"
        );
        assert_eq!(
            start(Style::JsonStatus, 7, &[0; 6]).as_bytes(),
            b"{ \"child-pid\": 7 }\n"
        );
        let text = start(Style::Info, u32::MAX, &[u32::MAX; 6]);
        assert!(text
            .as_bytes()
            .ends_with(b"\"uts-namespace\": 4294967295\n}\n"));
    }

    #[test]
    fn exit_codes_in_the_shells_encoding() {
        assert_eq!(exit(42 << 8).as_bytes(), b"{ \"exit-code\": 42 }\n");
        assert_eq!(exit(0).as_bytes(), b"{ \"exit-code\": 0 }\n");
        assert_eq!(exit(9).as_bytes(), b"{ \"exit-code\": 137 }\n");
        assert_eq!(exit_code(0x80 | 11), 139); // a core dump does not change it
        assert_eq!(exit_code(255 << 8), 255);
    }
}
