//! The helper's own validation, through raw bytes that bypass the client: every malformed
//! spec gets exactly one `spec` error record (location 34) naming the fault's errno, the byte
//! offset the shared decoder names, and the fault number; the helper exits 125 and runs
//! nothing. Also: a spec fd that cannot be read (`spec_read`), a separate status fd with a
//! read-only spec pipe, specs from a memfd or a regular file, the command line, and a 2 MiB
//! spec with 100 000 arguments.
use forkexec_testkit::support;

use std::fs::{self, File};
use std::io::{Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, FromRawFd, RawFd};
use std::os::unix::fs::FileExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use forkexec_client::{Error, Fault, IdMap, Mount, Namespace, Resource, Runner, Spec, SpecError};
use forkexec_spec::encode::Writer;
use forkexec_spec::layout::{self, cred_flag, mount_flags, mount_opt, ns, opt, record};
use forkexec_spec::status::Record;
use forkexec_testkit::wire::{VecSink, WriteExt, W};
use support::*;

mod malformed;
mod spec_fd;
mod whole_spec;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

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
