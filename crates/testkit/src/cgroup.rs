//! The machine's cgroup layout, found from /proc/self/mountinfo instead of assumed: cgroup v2
//! alone (`/sys/fs/cgroup`), v1 controllers alone, or both (hybrid: v2 at
//! `/sys/fs/cgroup/unified`). Tests ask for what they need and skip (or, when root-only, fail
//! as root) when the machine has no way to give it.

use std::fs;
use std::path::PathBuf;

/// One cgroup mount: where, and its filesystem type (`cgroup` or `cgroup2`) and super options.
#[derive(Clone, Debug)]
pub struct CgroupMount {
    pub path: PathBuf,
    pub fstype: String,
    pub options: Vec<String>,
}

/// Every cgroup and cgroup2 mount this process sees.
pub fn mounts() -> Vec<CgroupMount> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mut r = right.split(' ');
        let fstype = r.next().unwrap_or("").to_string();
        if fstype != "cgroup" && fstype != "cgroup2" {
            continue;
        }
        let options = r
            .nth(1)
            .unwrap_or("")
            .split(',')
            .map(str::to_string)
            .collect();
        let Some(path) = left.split(' ').nth(4) else {
            continue;
        };
        out.push(CgroupMount {
            path: PathBuf::from(path),
            fstype,
            options,
        });
    }
    out
}

/// The cgroup v2 hierarchy's mount point, if there is one.
pub fn v2() -> Option<PathBuf> {
    mounts()
        .into_iter()
        .find(|m| m.fstype == "cgroup2")
        .map(|m| m.path)
}

/// The mount point of the v1 hierarchy holding `controller`, if there is one.
pub fn v1(controller: &str) -> Option<PathBuf> {
    mounts()
        .into_iter()
        .find(|m| m.fstype == "cgroup" && m.options.iter().any(|o| o == controller))
        .map(|m| m.path)
}

/// `v2`, `v1`, `hybrid` or `none`.
pub fn layout() -> &'static str {
    let all = mounts();
    let two = all.iter().any(|m| m.fstype == "cgroup2");
    let one = all.iter().any(|m| m.fstype == "cgroup");
    match (one, two) {
        (true, true) => "hybrid",
        (false, true) => "v2",
        (true, false) => "v1",
        (false, false) => "none",
    }
}

/// A cgroup directory whose new children take `pids.max` (root only): the v1 pids hierarchy,
/// else the v2 root with the pids controller enabled for its children (enabled here if the
/// root offers it). None when neither exists.
pub fn pids_parent() -> Option<PathBuf> {
    if let Some(p) = v1("pids") {
        return Some(p);
    }
    let root = v2()?;
    let offered = fs::read_to_string(root.join("cgroup.controllers")).ok()?;
    if !offered.split_whitespace().any(|c| c == "pids") {
        return None;
    }
    let enabled = fs::read_to_string(root.join("cgroup.subtree_control")).ok()?;
    if !enabled.split_whitespace().any(|c| c == "pids") {
        fs::write(root.join("cgroup.subtree_control"), "+pids").ok()?;
    }
    Some(root)
}

/// A cgroup parent of this test process's own, `forkexec-test-TAG-PID` (relative to each
/// hierarchy's mount), removed from every hierarchy when the guard drops, also when the test
/// fails midway: each cgroup left under it is emptied (its processes killed) and removed,
/// deepest first. Tests check for themselves that nothing was left before it drops; the
/// guard only keeps a failed test from leaving the host a cgroup.
pub struct TestParent(String);

impl TestParent {
    pub fn new(tag: &str) -> TestParent {
        TestParent(format!("forkexec-test-{tag}-{}", std::process::id()))
    }

    /// The parent's name, for `--cgroup-parent` or `Cgroup::create`.
    pub fn name(&self) -> &str {
        &self.0
    }
}

impl Drop for TestParent {
    fn drop(&mut self) {
        for m in mounts() {
            remove_tree(&m.path.join(&self.0));
        }
    }
}

/// Removes the cgroup `dir` and every cgroup under it, killing what runs there (best effort:
/// a process just killed may take a moment to leave, so each removal is retried for up to 2 s).
fn remove_tree(dir: &std::path::Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            remove_tree(&e.path());
        }
    }
    for _ in 0..200 {
        let procs = fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        for pid in procs
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
        {
            // SAFETY: kill with a pid and a signal.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        if fs::remove_dir(dir).is_ok() || !dir.exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
