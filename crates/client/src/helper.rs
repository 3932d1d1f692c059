//! Finding the `forkexec` helper binary.

use std::env;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Environment variable naming the helper binary.
pub const HELPER_ENV: &str = "FORKEXEC_HELPER";
/// The helper's file name.
pub const HELPER_NAME: &str = "forkexec";

/// Finds the helper: `$FORKEXEC_HELPER` if set; else a `forkexec` file next to the current
/// executable, or in its parent directory (cargo puts test binaries in `target/<profile>/deps`
/// and the helper in `target/<profile>`); else the first `forkexec` on `PATH`.
///
/// The error lists every place looked at.
pub fn find_helper() -> io::Result<PathBuf> {
    if let Some(path) = env::var_os(HELPER_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let mut looked = vec![format!("${HELPER_ENV} (unset)")];
    if let Ok(exe) = env::current_exe() {
        let dir = exe.parent();
        for dir in dir.into_iter().chain(dir.and_then(Path::parent)) {
            let candidate = dir.join(HELPER_NAME);
            if is_executable(&candidate) {
                return Ok(candidate);
            }
            looked.push(candidate.display().to_string());
        }
    }
    let path = env::var_os("PATH").unwrap_or_default();
    for dir in env::split_paths(&path).filter(|d| !d.as_os_str().is_empty()) {
        let candidate = dir.join(HELPER_NAME);
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    looked.push(format!("$PATH ({})", path.to_string_lossy()));
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!(
            "cannot find the `{HELPER_NAME}` binary; set {HELPER_ENV} or Runner::helper \
             (looked at: {})",
            looked.join(", ")
        ),
    ))
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
