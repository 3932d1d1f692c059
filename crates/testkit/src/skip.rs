//! Skips that are seen and counted (docs/testing.md, "Skips").
//!
//! A test that cannot run here says why with one of the macros, which return from the test:
//!
//! - [`root_only!`](crate::root_only): the test needs root; as an ordinary user it is skipped.
//! - [`user_only!`](crate::user_only): the test is about an ordinary user's limits; as root it
//!   is skipped.
//! - [`root_needs!`](crate::root_needs): inside a root-only test, something else it needs (a
//!   cgroup controller, a filesystem): as a user it is a skip, **as root it fails the test**.
//! - [`skip!`](macro@crate::skip): the environment lacks something (another architecture, a tool, a
//!   nosuid mount); skipped as anyone.
//!
//! Each skip writes one line to the test's real stderr (libtest does not capture it, so it shows
//! in the test report next to `ok`) and, when `FORKEXEC_SKIPS` names a file, appends
//! `uid<TAB>kind<TAB>binary<TAB>test<TAB>reason` to it; `make test` prints the count with
//! `scripts/skips.sh`, which fails the run when a root-only test was skipped as root.

use std::io::Write;

/// Why a test did not run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Needs root; skipped as an ordinary user. Never skipped as root (the test fails instead).
    RootOnly,
    /// About an ordinary user's limits; skipped as root.
    UserOnly,
    /// The machine lacks something the test needs.
    Env,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::RootOnly => "root-only",
            Kind::UserOnly => "user-only",
            Kind::Env => "env",
        }
    }
}

/// The running test's name (libtest names each test's thread after it).
pub fn test_name() -> String {
    std::thread::current().name().unwrap_or("?").to_string()
}

/// The test binary's name without cargo's hash suffix.
pub fn binary_name() -> String {
    let exe = std::env::current_exe().unwrap_or_default();
    let stem = exe
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match stem.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            name.to_string()
        }
        _ => stem,
    }
}

/// Records a skip of the running test: one line on the real stderr, one in `FORKEXEC_SKIPS`.
/// A root-only skip while running as root panics: a root-only test must run as root.
pub fn record(kind: Kind, reason: &str) {
    let uid = crate::support::euid();
    let (binary, test) = (binary_name(), test_name());
    let _ = writeln!(
        std::io::stderr(),
        "SKIP [{}] {binary} {test}: {reason} (uid {uid})",
        kind.name()
    );
    if let Some(path) = std::env::var_os("FORKEXEC_SKIPS") {
        let line = format!(
            "{uid}\t{}\t{binary}\t{test}\t{}\n",
            kind.name(),
            reason.replace(['\t', '\n'], " ")
        );
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path);
        match file {
            // One write of a short line with O_APPEND: lines of parallel tests do not mix.
            Ok(mut f) => f.write_all(line.as_bytes()).unwrap(),
            Err(e) => panic!("FORKEXEC_SKIPS={}: {e}", path.to_string_lossy()),
        }
    }
    if kind == Kind::RootOnly && uid == 0 {
        panic!("a root-only test cannot run as root: {reason}");
    }
}

/// Skips the running test (returns from it): the machine lacks something it needs.
/// `skip!("the filter is written for x86_64")`.
#[macro_export]
macro_rules! skip {
    ($($reason:tt)+) => {{
        $crate::skip::record($crate::skip::Kind::Env, &format!($($reason)+));
        return;
    }};
}

/// Returns from the running test unless it runs as root (recorded as a root-only skip).
#[macro_export]
macro_rules! root_only {
    ($($reason:tt)+) => {
        if !$crate::support::is_root() {
            $crate::skip::record($crate::skip::Kind::RootOnly, &format!($($reason)+));
            return;
        }
    };
}

/// Returns from the running test when it runs as root (recorded as a user-only skip).
#[macro_export]
macro_rules! user_only {
    ($($reason:tt)+) => {
        if $crate::support::is_root() {
            $crate::skip::record($crate::skip::Kind::UserOnly, &format!($($reason)+));
            return;
        }
    };
}

/// In a root-only test: unless `cond` holds, skip as a user and fail as root.
#[macro_export]
macro_rules! root_needs {
    ($cond:expr, $($reason:tt)+) => {
        if !$cond {
            $crate::skip::record($crate::skip::Kind::RootOnly, &format!($($reason)+));
            return;
        }
    };
}
