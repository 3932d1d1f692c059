//! What [`crate::Runner::start`] can fail with, and the helper's error record as a value.

use std::fmt;
use std::io;

use forkexec_spec::render;
use forkexec_spec::status::Record;
use forkexec_spec::{Fault, Location};

use crate::encode::EncodeError;

/// A boxed error, as returned by a sync callback.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why starting a sandboxed program failed.
///
/// `Display` includes the inner error's text, so `source()` is `None` (reporters would
/// otherwise print it twice); match on the variant to get at the inner value.
#[derive(Debug)]
pub enum Error {
    /// The helper ran and reported a failed step; nothing was executed. The helper has been
    /// reaped.
    Child(ChildError),
    /// The spec was refused before spawning anything.
    Spec(EncodeError),
    /// The helper could not be found, spawned or talked to, or it ended without saying why.
    Helper(io::Error),
    /// The sync callback refused, or a warm sandbox's run could not be moved into its cgroup
    /// at its sync point ([`crate::Sandbox::run_in`]); the helper was told to abort and has
    /// been reaped.
    Sync(BoxError),
    /// The spawn hook ([`crate::Runner::on_spawn`]) refused; the helper, which had not been
    /// sent the spec, has been killed and reaped.
    Spawn(BoxError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Child(e) => e.fmt(f),
            Error::Spec(e) => e.fmt(f),
            Error::Helper(e) => write!(f, "forkexec helper: {e}"),
            Error::Sync(e) => write!(f, "sync callback refused: {e}"),
            Error::Spawn(e) => write!(f, "spawn hook refused: {e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<ChildError> for Error {
    fn from(e: ChildError) -> Self {
        Error::Child(e)
    }
}

impl From<EncodeError> for Error {
    fn from(e: EncodeError) -> Self {
        Error::Spec(e)
    }
}

/// The helper's error record: which step failed (go-sandbox's `ChildError`), with what errno,
/// at which index (mount number, rlimit number, target fd, spec byte offset…).
///
/// The location is kept as its raw number so that a newer helper's locations still round
/// trip; [`ChildError::location`] names the known ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChildError {
    location: u32,
    errno: i32,
    index: u32,
    detail: u32,
}

impl ChildError {
    /// The error of a record with these fields (`location` as a number, so that one this
    /// client does not know is kept).
    pub fn new(location: u32, errno: i32, index: u32, detail: u32) -> Self {
        ChildError {
            location,
            errno,
            index,
            detail,
        }
    }

    /// The error in a status record, if it is an error record.
    pub fn from_record(record: &Record) -> Option<Self> {
        match *record {
            Record::Error {
                location,
                errno,
                index,
                detail,
            } => Some(ChildError::new(location, errno, index, detail)),
            _ => None,
        }
    }

    /// The failed step, if this client knows its number.
    pub fn location(&self) -> Option<Location> {
        Location::from_u32(self.location)
    }
    /// The failed step's raw number.
    pub fn location_code(&self) -> u32 {
        self.location
    }
    /// The errno of the failed syscall (for spec errors, the fault's errno).
    pub fn errno(&self) -> i32 {
        self.errno
    }
    /// Which mount / rlimit / fd / map entry failed; the byte offset for spec errors.
    pub fn index(&self) -> u32 {
        self.index
    }
    /// Extra detail: the [`Fault`] number for spec errors, otherwise 0.
    pub fn detail(&self) -> u32 {
        self.detail
    }
    /// Why the helper refused the spec, for `spec` errors.
    pub fn fault(&self) -> Option<Fault> {
        match self.location() {
            Some(Location::Spec) => Fault::from_u32(self.detail),
            _ => None,
        }
    }
    /// The errno as an `io::Error` (e.g. to match on its kind).
    pub fn io_error(&self) -> io::Error {
        io::Error::from_raw_os_error(self.errno)
    }
}

/// go-sandbox's rendering: `mount(3): operation not permitted`; for spec errors
/// `spec(offset 37): unknown flag bits (invalid argument)`. The words are
/// [`forkexec_spec::render`]'s, which the helper itself uses when nobody reads its records.
impl fmt::Display for ChildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = Text::default();
        render::failure(&mut text, &self.record(), None);
        f.write_str(&text.0)
    }
}

impl ChildError {
    fn record(&self) -> render::Failure {
        render::Failure {
            location: self.location,
            errno: self.errno,
            index: self.index,
            detail: self.detail,
        }
    }

    /// The error in words with what its index refers to in `spec`, the spec that failed:
    /// `mount(3) /data: no such file or directory` (the mount's target, a bind's source, the
    /// rlimit's resource, the program, the directory…), as the helper words it on stderr.
    pub fn describe(&self, spec: &crate::Spec) -> String {
        let Ok(bytes) = spec.encode() else {
            return self.to_string();
        };
        let Ok(wire) = forkexec_spec::decode(&bytes) else {
            return self.to_string();
        };
        let mut text = Text::default();
        render::failure(&mut text, &self.record(), Some(&wire));
        text.0
    }
}

/// A `String` for [`render`]'s words (always UTF-8 but for paths that are not).
#[derive(Default)]
struct Text(String);

impl render::Out for Text {
    fn put(&mut self, bytes: &[u8]) {
        self.0.push_str(&String::from_utf8_lossy(bytes));
    }
}

impl std::error::Error for ChildError {}

/// strerror's words for `errno`, as the helper renders them (`no such file or directory`).
pub(crate) fn errno_text(errno: i32) -> String {
    let mut text = Text::default();
    render::errno_text(&mut text, errno);
    text.0
}
