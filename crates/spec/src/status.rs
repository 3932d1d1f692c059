//! Status records: what the helper writes back on the status fd.
//!
//! Every record is exactly [`RECORD_LEN`] bytes, little-endian, written with one `write`
//! (well under `PIPE_BUF`, so records never interleave). EOF on the status fd with no error
//! record means `execve` succeeded (the fd is close-on-exec).
//!
//! | offset | error | sync | pid | exit | exec |
//! |---|---|---|---|---|---|
//! | 0 | kind = 1 | kind = 2 | kind = 3 | kind = 4 | kind = 5 |
//! | 4 | u32 location | u32 pid | u32 pid | i32 wait status | u32 pid |
//! | 8 | i32 errno | 0 | 0 | u64 user time (µs) | 0 |
//! | 12 | u32 index | 0 | 0 | | 0 |
//! | 16 | u32 detail | 0 | 0 | u64 system time (µs) | 0 |
//! | 24 | 0 | 0 | 0 | u64 max RSS (KiB) | 0 |

/// Size of every status record.
pub const RECORD_LEN: usize = 32;

/// Record kinds (the u32 at offset 0).
pub mod kind {
    /// [`super::Record::Error`].
    pub const ERROR: u32 = 1;
    /// [`super::Record::Sync`].
    pub const SYNC: u32 = 2;
    /// [`super::Record::Pid`].
    pub const PID: u32 = 3;
    /// [`super::Record::Exit`].
    pub const EXIT: u32 = 4;
    /// [`super::Record::Exec`].
    pub const EXEC: u32 = 5;
}

/// The runtime's answer to a sync record: one byte, [`SYNC_CONTINUE`] or anything else to abort.
pub const SYNC_CONTINUE: u8 = 0;
/// A conventional refusal byte (any non-zero byte refuses).
pub const SYNC_ABORT: u8 = 1;

/// What an error record's `detail` says at location `mount(mkdir)` (17): what could not be
/// made.
pub mod mkdir_detail {
    /// The target, as its mount operation makes it (or the operation's own file or content).
    pub const TARGET: u32 = 0;
    /// One of the target's missing parent directories.
    pub const PARENT: u32 = 1;
    /// The target as an empty file (the mount point of a bind of a file, or of bound data).
    pub const FILE: u32 = 2;
}

/// Helper exit code for a failed setup step.
pub const EXIT_SETUP_FAILED: i32 = 125;
/// Helper exit code when execve fails with EACCES or ENOEXEC.
pub const EXIT_CANNOT_EXECUTE: i32 = 126;
/// Helper exit code when execve fails with ENOENT.
pub const EXIT_NOT_FOUND: i32 = 127;

/// A decoded status record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    /// A step failed; the helper exits after writing this.
    Error {
        /// Where ([`crate::Location`] number).
        location: u32,
        /// The errno of the failed step.
        errno: i32,
        /// Which entry; the byte offset for `spec` errors.
        index: u32,
        /// For `spec` errors, the [`crate::Fault`] code; for `mount(mkdir)`, what could not
        /// be made ([`mkdir_detail`]); otherwise 0.
        detail: u32,
    },
    /// About to exec; the helper waits for one byte.
    Sync {
        /// The target's pid in its own pid namespace.
        pid: u32,
    },
    /// The target's pid as the runtime sees it (clone shapes).
    Pid {
        /// The target's pid (with init: init's) in the runtime's pid namespace.
        pid: u32,
    },
    /// The target was executed (clone shapes that supervise it, where the helper keeps the
    /// status fd open, so EOF cannot say it).
    Exec {
        /// The target's pid as the runtime sees it.
        pid: u32,
    },
    /// The supervised target ended.
    Exit {
        /// Its raw wait status.
        status: i32,
        /// User CPU time, microseconds.
        utime_us: u64,
        /// System CPU time, microseconds.
        stime_us: u64,
        /// Peak resident set size, KiB.
        maxrss_kib: u64,
    },
}

impl Record {
    /// The 32 bytes of this record.
    pub fn encode(&self) -> [u8; RECORD_LEN] {
        let mut b = [0u8; RECORD_LEN];
        match *self {
            Record::Error {
                location,
                errno,
                index,
                detail,
            } => {
                put_u32(&mut b, 0, kind::ERROR);
                put_u32(&mut b, 4, location);
                put_u32(&mut b, 8, errno as u32);
                put_u32(&mut b, 12, index);
                put_u32(&mut b, 16, detail);
            }
            Record::Sync { pid } => {
                put_u32(&mut b, 0, kind::SYNC);
                put_u32(&mut b, 4, pid);
            }
            Record::Pid { pid } => {
                put_u32(&mut b, 0, kind::PID);
                put_u32(&mut b, 4, pid);
            }
            Record::Exec { pid } => {
                put_u32(&mut b, 0, kind::EXEC);
                put_u32(&mut b, 4, pid);
            }
            Record::Exit {
                status,
                utime_us,
                stime_us,
                maxrss_kib,
            } => {
                put_u32(&mut b, 0, kind::EXIT);
                put_u32(&mut b, 4, status as u32);
                b[8..16].copy_from_slice(&utime_us.to_le_bytes());
                b[16..24].copy_from_slice(&stime_us.to_le_bytes());
                b[24..32].copy_from_slice(&maxrss_kib.to_le_bytes());
            }
        }
        b
    }

    /// Decodes one record; `None` for an unknown kind.
    pub fn decode(b: &[u8; RECORD_LEN]) -> Option<Record> {
        let u32_at = |at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let u64_at = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[at..at + 8]);
            u64::from_le_bytes(w)
        };
        Some(match u32_at(0) {
            kind::ERROR => Record::Error {
                location: u32_at(4),
                errno: u32_at(8) as i32,
                index: u32_at(12),
                detail: u32_at(16),
            },
            kind::SYNC => Record::Sync { pid: u32_at(4) },
            kind::PID => Record::Pid { pid: u32_at(4) },
            kind::EXEC => Record::Exec { pid: u32_at(4) },
            kind::EXIT => Record::Exit {
                status: u32_at(4) as i32,
                utime_us: u64_at(8),
                stime_us: u64_at(16),
                maxrss_kib: u64_at(24),
            },
            _ => return None,
        })
    }
}

fn put_u32(b: &mut [u8; RECORD_LEN], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_record_bytes_are_exact() {
        let r = Record::Error {
            location: 16,
            errno: 1,
            index: 3,
            detail: 0,
        };
        let b = r.encode();
        assert_eq!(&b[..16], &[1, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0]);
        assert!(b[16..].iter().all(|&x| x == 0));
        assert_eq!(Record::decode(&b), Some(r));
    }

    #[test]
    fn every_kind_round_trips() {
        for r in [
            Record::Sync { pid: 4242 },
            Record::Pid { pid: 7 },
            Record::Exit {
                status: 9,
                utime_us: 1_234_567,
                stime_us: 89,
                maxrss_kib: 1 << 40,
            },
            Record::Error {
                location: 34,
                errno: 22,
                index: 12,
                detail: 6,
            },
        ] {
            assert_eq!(Record::decode(&r.encode()), Some(r));
        }
    }

    #[test]
    fn unknown_kind_is_none() {
        let mut b = [0u8; RECORD_LEN];
        b[0] = 99;
        assert_eq!(Record::decode(&b), None);
    }
}
