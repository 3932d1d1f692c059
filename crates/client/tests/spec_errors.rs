//! The helper's own validation, through raw bytes that bypass the client: every malformed
//! spec gets exactly one `spec` error record (location 34) naming the fault's errno, the byte
//! offset the shared decoder names, and the fault number; the helper exits 125 and runs
//! nothing. Also: a spec fd that cannot be read (`spec_read`), a separate status fd with a
//! read-only spec pipe, specs from a memfd or a regular file, the command line, and a 2 MiB
//! spec with 100 000 arguments.
mod support;

use std::fs::{self, File};
use std::io::{Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::fs::FileExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use forkexec_client::{Error, Fault, IdMap, Mount, Namespace, Resource, Runner, Spec, SpecError};
use forkexec_spec::encode::{Sink, Writer};
use forkexec_spec::layout::{self, cred_flag, mount_flags, mount_opt, ns, opt, record};
use forkexec_spec::status::Record;
use support::*;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The spec writer over a `Vec` (the crate only provides a fixed-buffer sink).
struct VecSink(Vec<u8>);

impl Sink for VecSink {
    fn put(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
    fn written(&self) -> usize {
        self.0.len()
    }
    fn patch(&mut self, at: usize, bytes: [u8; 4]) {
        self.0[at..at + 4].copy_from_slice(&bytes);
    }
}

type W = Writer<VecSink>;

/// A whole spec: header, then whatever `build` writes, total length filled in.
fn spec_bytes(build: impl FnOnce(&mut W)) -> Vec<u8> {
    let mut w = Writer::new(VecSink(Vec::new()));
    build(&mut w);
    w.finish().0
}

/// Offset of the first record, and of its payload.
const R0: u32 = layout::HEADER_LEN as u32;
const P0: u32 = R0 + layout::RECORD_HEADER_LEN as u32;

/// The lowest bit of a field that its `known` mask leaves undefined.
fn unknown_bit(known: u64) -> u64 {
    1 << (!known).trailing_zeros()
}

/// A target that would leave a file behind if it ever ran (the probe writing it). Its
/// directory is removed on drop.
struct Marker {
    dir: PathBuf,
    file: PathBuf,
}

impl Marker {
    fn new() -> Self {
        let dir = scratch_dir("marker");
        let file = dir.join("ran");
        Marker { dir, file }
    }
    fn argv(&self) -> Vec<String> {
        vec![
            probe().to_string_lossy().into_owned(),
            "write".into(),
            self.file.to_string_lossy().into_owned(),
            "ran".into(),
        ]
    }
    /// Writes the ARGS record.
    fn args(&self, w: &mut W) {
        let argv = self.argv();
        w.args(argv.iter().map(|s| s.as_bytes()));
    }
    /// Length of that record, header included.
    fn args_len(&self) -> u32 {
        let payload: usize = self.argv().iter().map(|s| s.len() + 1).sum();
        (layout::RECORD_HEADER_LEN + payload) as u32
    }
    fn ran(&self) -> bool {
        self.file.exists()
    }
}

impl Drop for Marker {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn spec_error(fault: Fault, offset: u32) -> Record {
    Record::Error {
        location: forkexec_client::Location::Spec as u32,
        errno: fault.errno(),
        index: offset,
        detail: fault as u32,
    }
}

/// `sent` (all the helper gets) is refused with `fault` at the hand-computed `offset`: the
/// decoder says so on the same bytes, and the helper answers with exactly that one record,
/// exits 125, prints nothing, and the target did not run.
#[track_caller]
fn assert_refused(sent: &[u8], fault: Fault, offset: u32, marker: &Marker) {
    assert_refused_seeing(sent, sent, fault, offset, marker);
}

/// [`assert_refused`] when the helper reads only a prefix `seen` of what is sent (the header
/// names a shorter total length).
#[track_caller]
fn assert_refused_seeing(sent: &[u8], seen: &[u8], fault: Fault, offset: u32, marker: &Marker) {
    let decoded = forkexec_spec::decode(seen).err();
    assert_eq!(decoded, Some(SpecError { offset, fault }), "the decoder");
    let r = raw(sent);
    assert_eq!(
        r.records,
        [spec_error(fault, offset)],
        "stderr: {}",
        r.stderr
    );
    assert_eq!(r.status.code(), Some(125), "{:?}", r.status);
    assert_eq!(r.stderr, "");
    assert!(!marker.ran(), "the target ran");
}

// ---------------------------------------------------------------------------------------------
// Malformed bytes: header and framing
// ---------------------------------------------------------------------------------------------

#[test]
fn header_faults() {
    let m = Marker::new();
    let valid = spec_bytes(|w| m.args(w));
    let patched = |at: usize, bytes: &[u8]| {
        let mut b = valid.clone();
        b[at..at + bytes.len()].copy_from_slice(bytes);
        b
    };
    // Nothing at all, then the header cut short (the helper sees EOF after 7 bytes).
    assert_refused(&[], Fault::Truncated, 0, &m);
    assert_refused(&valid[..7], Fault::Truncated, 7, &m);
    // The magic is checked byte by byte, even in a short header.
    assert_refused(&patched(3, b"Q"), Fault::BadMagic, 3, &m);
    assert_refused(&patched(0, b"f"), Fault::BadMagic, 0, &m);
    assert_refused(b"FXS", Fault::Truncated, 3, &m);
    assert_refused(b"FXQ", Fault::BadMagic, 2, &m);
    assert_refused(&patched(4, &2u16.to_le_bytes()), Fault::BadVersion, 4, &m);
    assert_refused(&patched(6, &1u16.to_le_bytes()), Fault::UnknownBits, 6, &m);
    assert_refused(
        &patched(8, &11u32.to_le_bytes()),
        Fault::BadTotalLength,
        8,
        &m,
    );
    let over = (layout::limit::SPEC_LEN + 1) as u32;
    assert_refused(
        &patched(8, &over.to_le_bytes()),
        Fault::BadTotalLength,
        8,
        &m,
    );
}

#[test]
fn truncated_inside_a_record() {
    let m = Marker::new();
    let valid = spec_bytes(|w| m.args(w));
    let len = valid.len();
    // The header promises `len` bytes; the socket reaches EOF 5 bytes earlier.
    assert_refused(&valid[..len - 5], Fault::Truncated, (len - 5) as u32, &m);
    // Only 4 bytes of a second record header fit in the total length.
    let mut short_header = valid.clone();
    short_header.extend_from_slice(&[2, 0, 0, 0]);
    let total = short_header.len() as u32;
    short_header[8..12].copy_from_slice(&total.to_le_bytes());
    assert_refused(&short_header, Fault::Truncated, total, &m);
    // A total length one short of what is sent: the helper reads exactly `total` bytes, so
    // the ARGS payload is cut at its last byte (the extra byte stays unread in the socket).
    let mut one_short = valid.clone();
    one_short[8..12].copy_from_slice(&((len - 1) as u32).to_le_bytes());
    assert_refused_seeing(
        &one_short,
        &one_short[..len - 1],
        Fault::Truncated,
        (len - 1) as u32,
        &m,
    );
}

#[test]
fn unknown_record_types_and_flags() {
    let m = Marker::new();
    let unknown = record::LAST + 1;
    let b = spec_bytes(|w| {
        w.record(unknown, 0, &[b"x"]);
        m.args(w);
    });
    assert_refused(&b, Fault::UnknownRecord, R0, &m);
    let b = spec_bytes(|w| {
        w.record(0, 0, &[]);
        m.args(w);
    });
    assert_refused(&b, Fault::UnknownRecord, R0, &m);
    // Record flag bit 1 is undefined, even on a known record.
    let argv = m.argv();
    let payload: Vec<u8> = argv
        .iter()
        .flat_map(|s| [s.as_bytes(), b"\0"].concat())
        .collect();
    let b = spec_bytes(|w| w.record(record::ARGS, 2, &[&payload]));
    assert_refused(&b, Fault::UnknownBits, R0 + 2, &m);
}

/// The contrast: the same unknown record with SKIP_IF_UNKNOWN is skipped and the spec runs.
#[test]
fn unknown_record_with_skip_if_unknown_is_skipped() {
    let m = Marker::new();
    let b = spec_bytes(|w| {
        w.record(
            record::LAST + 1,
            layout::RECORD_SKIP_IF_UNKNOWN,
            &[b"advice"],
        );
        m.args(w);
    });
    assert!(forkexec_spec::decode(&b).is_ok());
    let r = raw(&b);
    assert_eq!(r.records, []);
    assert_eq!(r.status.code(), Some(0), "{}", r.stderr);
    assert!(m.ran());
}

#[test]
fn duplicate_records() {
    let m = Marker::new();
    // ENV "A=1": 8 + 4 bytes, so the second ENV starts at 24.
    let b = spec_bytes(|w| {
        w.env([b"A=1".as_slice()]);
        w.env([b"B=2".as_slice()]);
        m.args(w);
    });
    assert_refused(&b, Fault::DuplicateRecord, R0 + 12, &m);
    // A duplicate's payload is not looked at: the second ARGS is refused as a duplicate.
    let b = spec_bytes(|w| {
        m.args(w);
        w.record(record::ARGS, 0, &[b"unterminated"]);
    });
    assert_refused(&b, Fault::DuplicateRecord, R0 + m.args_len(), &m);
}

#[test]
fn bad_record_lengths() {
    let m = Marker::new();
    for (ty, payload) in [
        (record::OPTIONS, &[0u8; 4][..]),
        (record::STATUS_FD, &[0u8; 2][..]),
        (record::CLONE_FLAGS, &[0u8; 9][..]),
        (record::RLIMIT, &[0u8; 19][..]),
        (record::MOUNT, &[0u8; 11][..]),
        (record::UID_MAP, &[0u8; 13][..]),
        (record::UID_MAP, &[][..]),
    ] {
        let b = spec_bytes(|w| {
            w.record(ty, 0, &[payload]);
            m.args(w);
        });
        // The offset of the length field.
        assert_refused(&b, Fault::BadRecordLength, R0 + 4, &m);
    }
    // A MOUNT with a byte after its data string: the first left-over byte.
    let b = spec_bytes(|w| {
        w.record(
            record::MOUNT,
            0,
            &[
                &0u64.to_le_bytes(),
                &0u32.to_le_bytes(),
                b"s\0t\0f\0d\0",
                b"!",
            ],
        );
        m.args(w);
    });
    assert_refused(&b, Fault::BadRecordLength, P0 + 12 + 8, &m);
}

// ---------------------------------------------------------------------------------------------
// Malformed payloads
// ---------------------------------------------------------------------------------------------

#[test]
fn string_faults() {
    let m = Marker::new();
    let first = |ty: u16, payload: &[u8]| {
        spec_bytes(|w| {
            w.record(ty, 0, &[payload]);
            m.args(w);
        })
    };
    // No NUL: one past the payload.
    assert_refused(
        &first(record::EXEC_PATH, b"abc"),
        Fault::Unterminated,
        P0 + 3,
        &m,
    );
    assert_refused(
        &first(record::ENV, b"A=1\0B"),
        Fault::Unterminated,
        P0 + 5,
        &m,
    );
    assert_refused(&first(record::WORK_DIR, b""), Fault::Unterminated, P0, &m);
    // A NUL inside a single string: the first NUL.
    assert_refused(
        &first(record::EXEC_PATH, b"a\0b\0"),
        Fault::InteriorNul,
        P0 + 1,
        &m,
    );
    // 65 bytes of host name (64 is the limit): E2BIG, at the string's first byte.
    let long = [vec![b'h'; 65], vec![0]].concat();
    assert_refused(&first(record::HOST_NAME, &long), Fault::TooLong, P0, &m);
    // Relative pivot_root, empty exec path: bad values.
    assert_refused(
        &first(record::PIVOT_ROOT, b"rel\0"),
        Fault::BadValue,
        P0,
        &m,
    );
    assert_refused(&first(record::EXEC_PATH, b"\0"), Fault::BadValue, P0, &m);
}

#[test]
fn fds_out_of_range() {
    let m = Marker::new();
    let too_big = 1u32 << 20;
    let b = spec_bytes(|w| {
        w.status_fd(too_big);
        m.args(w);
    });
    assert_refused(&b, Fault::FdOutOfRange, P0, &m);
    let b = spec_bytes(|w| {
        w.exec_fd(too_big);
        m.args(w);
    });
    assert_refused(&b, Fault::FdOutOfRange, P0, &m);
    // FILES entry 2 of [0, 1, 2^20]: P + 4·2. -2 is out of range too (only -1 means closed).
    let b = spec_bytes(|w| {
        w.files(&[0, 1, too_big as i32]);
        m.args(w);
    });
    assert_refused(&b, Fault::FdOutOfRange, P0 + 8, &m);
    let b = spec_bytes(|w| {
        w.files(&[-1, -2]);
        m.args(w);
    });
    assert_refused(&b, Fault::FdOutOfRange, P0 + 4, &m);
}

#[test]
fn unknown_bits_in_payloads() {
    let m = Marker::new();
    let b = spec_bytes(|w| {
        w.options(unknown_bit(opt::KNOWN));
        m.args(w);
    });
    assert_refused(&b, Fault::UnknownBits, P0, &m);
    let b = spec_bytes(|w| {
        w.clone_flags(unknown_bit(ns::KNOWN));
        m.args(w);
    });
    assert_refused(&b, Fault::UnknownBits, P0, &m);
    // Mount flags: the kernel would silently ignore some unknown bits; the helper refuses.
    let flag = unknown_bit(mount_flags::KNOWN);
    let b = spec_bytes(|w| {
        w.mount(flag, mount_opt::MKDIR, b"", b"/x", b"tmpfs", b"");
        m.args(w);
    });
    assert_refused(&b, Fault::UnknownBits, P0, &m);
    let b = spec_bytes(|w| {
        w.mount(
            0,
            unknown_bit(mount_opt::KNOWN as u64) as u32,
            b"",
            b"/x",
            b"tmpfs",
            b"",
        );
        m.args(w);
    });
    assert_refused(&b, Fault::UnknownBits, P0 + 8, &m);
    let b = spec_bytes(|w| {
        w.credential(1, 1, unknown_bit(cred_flag::KNOWN as u64) as u32, &[]);
        m.args(w);
    });
    assert_refused(&b, Fault::UnknownBits, P0 + 8, &m);
}

#[test]
fn rlimit_and_id_map_values() {
    let m = Marker::new();
    let b = spec_bytes(|w| {
        w.rlimit(16, 1, 1);
        m.args(w);
    });
    assert_refused(&b, Fault::BadValue, P0, &m);
    // soft over hard: the soft value's offset.
    let b = spec_bytes(|w| {
        w.rlimit(libc::RLIMIT_NOFILE, 10, 5);
        m.args(w);
    });
    assert_refused(&b, Fault::BadValue, P0 + 4, &m);
    // The second entry has size 0: P + 12·1 + 8.
    let b = spec_bytes(|w| {
        w.uid_map([(0, euid(), 1), (1, 100_000, 0)]);
        m.args(w);
    });
    assert_refused(&b, Fault::BadValue, P0 + 20, &m);
}

// ---------------------------------------------------------------------------------------------
// The whole spec: required records and conflicts
// ---------------------------------------------------------------------------------------------

#[test]
fn missing_args() {
    let m = Marker::new();
    // No ARGS at all, an empty ARGS, an empty args[0] with nothing else to execute: all at
    // the total length.
    let b = spec_bytes(|w| w.env([b"A=1".as_slice()]));
    assert_refused(&b, Fault::MissingArgs, b.len() as u32, &m);
    let b = spec_bytes(|w| w.args(std::iter::empty()));
    assert_refused(&b, Fault::MissingArgs, b.len() as u32, &m);
    let b = spec_bytes(|w| w.args([b"".as_slice(), b"x"]));
    assert_refused(&b, Fault::MissingArgs, b.len() as u32, &m);
}

#[test]
fn conflicting_records() {
    let m = Marker::new();
    let first_then_args = |build: &dyn Fn(&mut W)| {
        spec_bytes(|w| {
            build(w);
            m.args(w);
        })
    };
    // Each named by the offending record at offset 12.
    let tmpfs = |w: &mut W| w.mount(0, mount_opt::MKDIR, b"tmpfs", b"/x", b"tmpfs", b"");
    assert_refused(&first_then_args(&tmpfs), Fault::Conflict, R0, &m);
    let b = first_then_args(&|w| w.pivot_root(b"/tmp"));
    assert_refused(&b, Fault::Conflict, R0, &m);
    let b = first_then_args(&|w| w.host_name(b"h"));
    assert_refused(&b, Fault::Conflict, R0, &m);
    let b = first_then_args(&|w| w.uid_map([(0, euid(), 1)]));
    assert_refused(&b, Fault::Conflict, R0, &m);
    let b = first_then_args(&|w| w.gid_map([(0, egid(), 1)]));
    assert_refused(&b, Fault::Conflict, R0, &m);
    // Host and domain name without newuts: the later of the two (HOST_NAME is 8 + 2 bytes).
    let b = first_then_args(&|w| {
        w.host_name(b"h");
        w.domain_name(b"d");
    });
    assert_refused(&b, Fault::Conflict, R0 + 10, &m);
    // exec_path and exec_fd: the EXEC_PATH record.
    let b = first_then_args(&|w| {
        w.exec_fd(0);
        w.exec_path(b"/bin/true");
    });
    assert_refused(&b, Fault::Conflict, R0 + 12, &m);
    // ctty without a new session: the OPTIONS payload.
    let b = first_then_args(&|w| w.options(opt::CTTY | opt::NO_SETSID));
    assert_refused(&b, Fault::Conflict, P0, &m);
    // With the namespaces they need, the same records are accepted by the decoder.
    let b = first_then_args(&|w| {
        w.clone_flags(ns::NEWNS | ns::NEWUTS);
        tmpfs(w);
        w.host_name(b"h");
    });
    assert!(forkexec_spec::decode(&b).is_ok());
}

/// The client refuses the same Spec values before spawning anything, with the same fault at
/// the same offset as the helper reports for the bytes the client would have sent (written
/// here in the client's record order).
#[test]
fn client_refuses_the_same_specs_up_front() {
    let m = Marker::new();
    let argv = m.argv();
    let base = || Spec::new(argv.clone());
    let args = |w: &mut W| m.args(w);
    let tmpfs = Mount::tmpfs("/x", "");
    let tmpfs_flags = tmpfs.flags.iter().fold(0, |acc, f| acc | f.value());
    let too_big = 1 << 20;
    type Case<'a> = (Spec, Box<dyn Fn(&mut W) + 'a>);
    let cases: Vec<Case> = vec![
        (
            Spec {
                mounts: vec![tmpfs.clone().into()],
                ..base()
            },
            Box::new(move |w: &mut W| {
                args(w);
                w.mount(
                    tmpfs_flags,
                    mount_opt::MKDIR,
                    b"tmpfs",
                    b"/x",
                    b"tmpfs",
                    b"",
                );
            }),
        ),
        (
            Spec {
                host_name: "h".into(),
                ..base()
            },
            Box::new(move |w: &mut W| {
                args(w);
                w.host_name(b"h");
            }),
        ),
        (
            Spec {
                uid_mappings: vec![IdMap::new(0, euid(), 1)],
                ..base()
            },
            Box::new(move |w: &mut W| {
                args(w);
                w.uid_map([(0, euid(), 1)]);
            }),
        ),
        (
            Spec {
                gid_mappings: vec![IdMap::new(0, egid(), 1)],
                ..base()
            },
            Box::new(move |w: &mut W| {
                args(w);
                w.gid_map([(0, egid(), 1)]);
            }),
        ),
        (
            Spec {
                files: vec![0, 1, too_big],
                ..base()
            },
            Box::new(move |w: &mut W| {
                args(w);
                w.files(&[0, 1, too_big]);
            }),
        ),
        (
            Spec {
                clone_flags: vec![Namespace::NewNs],
                pivot_root: "relative".into(),
                ..base()
            },
            Box::new(move |w: &mut W| {
                args(w);
                w.clone_flags(ns::NEWNS);
                w.pivot_root(b"relative");
            }),
        ),
        (
            Spec {
                ctty: true,
                setsid: false,
                ..base()
            },
            Box::new(move |w: &mut W| {
                args(w);
                w.options(opt::CTTY | opt::NO_SETSID);
            }),
        ),
        (
            Spec::new(Vec::<String>::new()),
            Box::new(|w: &mut W| w.args(std::iter::empty())),
        ),
    ];
    for (spec, write) in cases {
        let shown = format!("{spec:?}");
        let refused = match Runner::from_spec(spec)
            .helper("/nonexistent/forkexec")
            .start()
        {
            Err(Error::Spec(e)) => e.spec_error().expect("a decoder refusal"),
            other => panic!("{shown}: expected Error::Spec, got {other:?}"),
        };
        let bytes = spec_bytes(|w| write(w));
        assert_refused(&bytes, refused.fault, refused.offset, &m);
    }
}

// ---------------------------------------------------------------------------------------------
// spec_read: a spec fd that cannot be read
// ---------------------------------------------------------------------------------------------

/// The helper with `args`, the fds in `keep` inherited at their numbers, stdin null, stdout
/// and stderr captured.
fn spawn_helper(args: &[String], keep: &[RawFd]) -> Child {
    let keep = keep.to_vec();
    let mut cmd = Command::new(helper());
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: only fcntl between fork and exec.
    unsafe {
        cmd.pre_exec(move || keep.iter().try_for_each(|&fd| clear_cloexec(fd)));
    }
    cmd.spawn().expect("spawn the helper")
}

fn spec_fd_args(fd: RawFd) -> Vec<String> {
    vec!["--spec-fd".into(), fd.to_string()]
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The write end of a pipe as the spec fd: reading it fails with EBADF, and the record goes
/// where records go before the spec is known, to the spec fd, which here is writable: it
/// arrives on the pipe's read end. Nothing on stderr.
#[test]
fn spec_read_from_a_write_only_pipe_reports_into_the_pipe() {
    let (mut r, w) = pipe();
    let child = spawn_helper(&spec_fd_args(w.as_raw_fd()), &[w.as_raw_fd()]);
    drop(w);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        read_records(&mut r),
        [Record::Error {
            location: forkexec_client::Location::SpecRead as u32,
            errno: libc::EBADF,
            index: 0,
            detail: 0,
        }]
    );
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(stderr_of(&out), "");
    assert!(out.stdout.is_empty());
}

/// A socket whose receive timeout (SO_RCVTIMEO, shared with the helper's copy) runs out
/// after the header and 5 more bytes: the read fails with EAGAIN and the record's index is
/// the number of bytes read so far. The record goes back over the same socket.
#[test]
fn spec_read_timing_out_names_the_bytes_read() {
    let m = Marker::new();
    let bytes = spec_bytes(|w| m.args(w));
    let (mut ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    theirs
        .set_read_timeout(Some(std::time::Duration::from_millis(50)))
        .unwrap();
    // Written before the helper starts, so its first reads find them; the rest never comes
    // (our end stays open, so no EOF either).
    ours.write_all(&bytes[..17]).unwrap();
    let child = spawn_helper(&spec_fd_args(theirs.as_raw_fd()), &[theirs.as_raw_fd()]);
    drop(theirs);
    let records = read_records(&mut ours);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        records,
        [Record::Error {
            location: forkexec_client::Location::SpecRead as u32,
            errno: libc::EAGAIN,
            index: 17,
            detail: 0,
        }]
    );
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(stderr_of(&out), "");
    assert!(!m.ran());
}

/// A directory fd: read fails with EISDIR and the record cannot be written to it either, so
/// the helper says it on stderr, in one line.
#[test]
fn spec_read_from_a_directory_reports_on_stderr() {
    let dir = File::open("/").unwrap();
    let child = spawn_helper(&spec_fd_args(dir.as_raw_fd()), &[dir.as_raw_fd()]);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(stderr_of(&out), "forkexec: spec_read(0): is a directory\n");
    assert!(out.stdout.is_empty());
}

/// An fd that is not open at all: EBADF, on stderr.
#[test]
fn spec_read_from_a_closed_fd_reports_on_stderr() {
    let out = spawn_helper(&spec_fd_args(999), &[])
        .wait_with_output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr_of(&out),
        "forkexec: spec_read(0): bad file descriptor\n"
    );
}

// ---------------------------------------------------------------------------------------------
// A read-only spec source with a separate status fd; specs from a memfd or a regular file
// ---------------------------------------------------------------------------------------------

/// Runs the helper with the spec in a pipe it can only read and STATUS_FD naming the write end
/// of a second pipe; returns the records read from that pipe and the helper's output.
fn run_with_status_pipe(build: impl FnOnce(&mut W, RawFd)) -> (Vec<Record>, Output) {
    let (spec_r, mut spec_w) = pipe();
    let (mut status_r, status_w) = pipe();
    let bytes = spec_bytes(|w| build(w, status_w.as_raw_fd()));
    let child = spawn_helper(
        &spec_fd_args(spec_r.as_raw_fd()),
        &[spec_r.as_raw_fd(), status_w.as_raw_fd()],
    );
    drop(spec_r);
    drop(status_w);
    spec_w.write_all(&bytes).unwrap();
    drop(spec_w);
    let records = read_records(&mut status_r);
    let out = child.wait_with_output().unwrap();
    (records, out)
}

#[test]
fn status_fd_reports_a_failed_exec_of_a_spec_from_a_pipe() {
    let (records, out) = run_with_status_pipe(|w, status| {
        w.args([b"/nonexistent/forkexec-target".as_slice()]);
        w.status_fd(status as u32);
    });
    assert_eq!(
        records,
        [Record::Error {
            location: forkexec_client::Location::Execve as u32,
            errno: libc::ENOENT,
            index: 0,
            detail: 0,
        }]
    );
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(stderr_of(&out), "");
}

/// Success is EOF on the status fd with no record; the target ran.
#[test]
fn status_fd_sees_eof_when_a_spec_from_a_pipe_runs() {
    let m = Marker::new();
    let (records, out) = run_with_status_pipe(|w, status| {
        m.args(w);
        w.status_fd(status as u32);
    });
    assert_eq!(records, []);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(m.ran());
}

/// Before the spec is valid, records go to the spec fd, which a pipe's read end cannot take:
/// the refusal is one line on stderr, and the status pipe gets nothing.
#[test]
fn spec_error_from_a_read_only_pipe_goes_to_stderr() {
    let m = Marker::new();
    let bit = unknown_bit(opt::KNOWN);
    let (records, out) = run_with_status_pipe(|w, status| {
        w.options(bit);
        m.args(w);
        w.status_fd(status as u32);
    });
    assert_eq!(records, []);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr_of(&out),
        format!("forkexec: spec(offset {P0}): unknown flag bits (invalid argument)\n")
    );
    assert!(!m.ran());
}

fn memfd_with(bytes: &[u8]) -> File {
    // SAFETY: memfd_create with a NUL-terminated name; the fd is ours.
    let fd = unsafe { libc::memfd_create(c"forkexec-spec".as_ptr(), libc::MFD_CLOEXEC) };
    assert!(fd >= 0, "{}", std::io::Error::last_os_error());
    // SAFETY: a fresh fd owned by nobody else.
    let mut f = unsafe { File::from_raw_fd(fd) };
    f.write_all(bytes).unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    f
}

/// The whole content of `f`, read at offset 0 (the helper moved the shared file offset).
fn content(f: &File) -> Vec<u8> {
    let mut buf = vec![0; 4096];
    let n = f.read_at(&mut buf, 0).unwrap();
    buf.truncate(n);
    buf
}

/// A spec in a memfd, read with --spec-fd: it runs, and the memfd is left as it was.
#[test]
fn spec_from_a_memfd_runs() {
    let m = Marker::new();
    let bytes = spec_bytes(|w| m.args(w));
    let f = memfd_with(&bytes);
    let out = spawn_helper(&spec_fd_args(f.as_raw_fd()), &[f.as_raw_fd()])
        .wait_with_output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(m.ran());
    assert_eq!(content(&f), bytes);
}

/// A memfd is writable, so without STATUS_FD a failure record is written into it, right after
/// the spec (the shared file offset is there); nothing goes to stderr.
#[test]
fn spec_from_a_memfd_gets_the_error_record_appended() {
    let bytes = spec_bytes(|w| w.args([b"/nonexistent/forkexec-target".as_slice()]));
    let f = memfd_with(&bytes);
    let out = spawn_helper(&spec_fd_args(f.as_raw_fd()), &[f.as_raw_fd()])
        .wait_with_output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(stderr_of(&out), "");
    let all = content(&f);
    assert_eq!(all.len(), bytes.len() + 32);
    assert_eq!(&all[..bytes.len()], &bytes[..]);
    assert_eq!(
        read_records(&mut &all[bytes.len()..]),
        [Record::Error {
            location: forkexec_client::Location::Execve as u32,
            errno: libc::ENOENT,
            index: 0,
            detail: 0,
        }]
    );
}

/// A spec in a regular file opened read-only: it runs; a failure cannot be written back into
/// the file, so it is a line on stderr (and the exit code).
#[test]
fn spec_from_a_read_only_regular_file() {
    let m = Marker::new();
    let path = m.dir.join("spec.bin");
    fs::write(&path, spec_bytes(|w| m.args(w))).unwrap();
    let f = File::open(&path).unwrap();
    let out = spawn_helper(&spec_fd_args(f.as_raw_fd()), &[f.as_raw_fd()])
        .wait_with_output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(m.ran());

    let bad = spec_bytes(|w| w.args([b"/nonexistent/forkexec-target".as_slice()]));
    fs::write(&path, &bad).unwrap();
    let f = File::open(&path).unwrap();
    let out = spawn_helper(&spec_fd_args(f.as_raw_fd()), &[f.as_raw_fd()])
        .wait_with_output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(
        stderr_of(&out),
        "forkexec: execve(0) /nonexistent/forkexec-target: no such file or directory\n"
    );
    assert_eq!(fs::read(&path).unwrap(), bad);
}

// ---------------------------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------------------------

fn cli(args: &[&str]) -> Output {
    Command::new(helper())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

const USAGE_START: &str = "usage: forkexec [--spec-fd N]\n       forkexec --help | --version\n";

#[test]
fn help_and_version_exit_0_on_stderr() {
    for flag in ["--help", "-h"] {
        let out = cli(&[flag]);
        assert_eq!(out.status.code(), Some(0), "{flag}");
        assert!(out.stdout.is_empty());
        assert!(
            stderr_of(&out).starts_with(USAGE_START),
            "{}",
            stderr_of(&out)
        );
    }
    let version = include_str!("../../../Cargo.toml")
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("the helper's version in Cargo.toml");
    let out = cli(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert_eq!(stderr_of(&out), format!("forkexec {version} (spec v1)\n"));
}

#[test]
fn usage_errors_exit_125_with_a_message() {
    let cases: [(&[&str], &str); 7] = [
        (&["--bogus"], "forkexec: unknown argument\n"),
        (&["3"], "forkexec: unknown argument\n"),
        (
            &["--spec-fd"],
            "forkexec: --spec-fd needs a decimal fd number\n",
        ),
        (
            &["--spec-fd", "x3"],
            "forkexec: --spec-fd needs a decimal fd number\n",
        ),
        (
            &["--spec-fd", "-1"],
            "forkexec: --spec-fd needs a decimal fd number\n",
        ),
        (
            &["--spec-fd", ""],
            "forkexec: --spec-fd needs a decimal fd number\n",
        ),
        (
            &["--spec-fd", "3", "extra"],
            "forkexec: unexpected extra argument\n",
        ),
    ];
    for (args, message) in cases {
        let out = cli(args);
        assert_eq!(out.status.code(), Some(125), "{args:?}");
        assert!(out.stdout.is_empty());
        // The message, then the usage text.
        let err = stderr_of(&out);
        assert!(
            err.strip_prefix(message)
                .is_some_and(|rest| rest.starts_with(USAGE_START)),
            "{args:?}: {err}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// A big spec
// ---------------------------------------------------------------------------------------------

/// A 2 MiB spec with 100 000 arguments runs, and the target gets every one of them, in order.
#[test]
fn two_mib_spec_with_100k_args() {
    let n = 100_000;
    let mut argv = vec![probe().to_string_lossy().into_owned(), "report".to_string()];
    argv.extend((0..n).map(|i| format!("arg{i:06}-xxxxxxxxxx")));
    let mut runner = Runner::new(argv.clone());
    // execve takes argv up to a quarter of the stack limit (at most 6 MiB): make room.
    let mut stack = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills a struct we own.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut stack) },
        0
    );
    let want = 64 << 20;
    if stack.rlim_cur < want && stack.rlim_max >= want {
        runner = runner.rlimit(Resource::Stack, want, stack.rlim_max);
    }
    let len = runner.spec.encode().unwrap().len();
    assert!(len > 2 << 20, "{len} bytes");
    let r = report(runner);
    let seen: Vec<&str> = r["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(seen.len(), n + 2);
    assert!(seen == argv, "argv differs");
}
