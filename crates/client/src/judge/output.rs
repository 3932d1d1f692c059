//! The program's stdout and stderr: pipes read by the runtime, passed on or kept up to the
//! output limit (counted over both), the rest read and dropped.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::sys;

/// Where a stream goes.
pub enum Sink {
    /// Kept in [`crate::judge::JudgeResult`] (`stdout` / `stderr`).
    Capture,
    /// Written here as it comes (e.g. forkexec-run's own stdout).
    Write(Box<dyn Write + Send>),
    /// Read and dropped (still counted).
    Discard,
}

/// Shared between the readers and the watcher.
#[derive(Default)]
pub(crate) struct Meter {
    /// Bytes read, over both streams.
    pub total: AtomicU64,
    /// Set when the total went past the limit.
    pub exceeded: AtomicBool,
    /// Set when the readers must stop waiting for end of stream.
    pub stop: AtomicBool,
}

pub(crate) struct Reader {
    handle: JoinHandle<Vec<u8>>,
}

impl Reader {
    /// Reads `pipe` on a thread until end of stream (or [`Meter::stop`]).
    pub fn spawn(pipe: OwnedFd, sink: Sink, limit: Option<u64>, meter: Arc<Meter>) -> Reader {
        let handle = std::thread::spawn(move || read_loop(pipe, sink, limit, &meter));
        Reader { handle }
    }

    /// The captured bytes, once the reader is done; `None` if it is still blocked after
    /// [`Meter::stop`] (a process outside the sandbox's reach holds the pipe): its thread is
    /// left to end on its own.
    pub fn finish(self, grace: Duration) -> Vec<u8> {
        let deadline = std::time::Instant::now() + grace;
        while !self.handle.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        if self.handle.is_finished() {
            self.handle.join().unwrap_or_default()
        } else {
            Vec::new()
        }
    }
}

fn read_loop(pipe: OwnedFd, mut sink: Sink, limit: Option<u64>, meter: &Meter) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut file = File::from(pipe);
    loop {
        // Wake up now and then to see whether to give up (see `finish`).
        match sys::poll_readable(file.as_fd(), 50) {
            Ok(false) => {
                if meter.stop.load(Ordering::Acquire) {
                    break;
                }
                continue;
            }
            Ok(true) => {}
            Err(_) => break,
        }
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let before = meter.total.fetch_add(n as u64, Ordering::AcqRel);
        let allowed = match limit {
            Some(limit) => limit.saturating_sub(before).min(n as u64) as usize,
            None => n,
        };
        if allowed < n {
            meter.exceeded.store(true, Ordering::Release);
        }
        let chunk = &buf[..allowed];
        if chunk.is_empty() {
            continue;
        }
        match &mut sink {
            Sink::Capture => kept.extend_from_slice(chunk),
            Sink::Write(w) => {
                if w.write_all(chunk).and_then(|()| w.flush()).is_err() {
                    // Nobody reads our side any more: drop the rest, keep counting.
                    sink = Sink::Discard;
                }
            }
            Sink::Discard => {}
        }
    }
    kept
}
