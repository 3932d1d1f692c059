//! Soak: many sandboxed spawns in a row, then two threads of them at once, through the client,
//! leave nothing behind in the runtime or on the host: no fd more in this process, no child
//! (zombie or running), no mount more in the host's mountinfo, nothing in the pivot_root
//! directory, and (as root, with a cgroup v2 hierarchy) the cgroup every target ran in empty
//! and removable.
//!
//! `FORKEXEC_SOAK_SEQ` spawns in a row (default 300), then 2 × `FORKEXEC_SOAK_PAR` at once
//! (default 2 × 100). `make soak` runs 10,000 and 2 × 1,000. The spawns rotate through exec in
//! place, supervise and init, each a pivot_root sandbox in a new user and mount namespace
//! holding only the static probe (`escape-probe ids`), whose output is checked every time.
//!
//! One test only: the fd and process checks are of the whole test process. The checks are
//! `forkexec_testkit::leaks`'s, each shown to catch its leak by tests/leaks.rs. Processes are
//! counted as descendants of this process, a child subreaper (orphans come back to it). The
//! spawns here use a user namespace each, whose mounts never propagate back: the mount check
//! here proves nothing is mounted on the shared pivot_root directory; the MS_PRIVATE step is
//! proven by tests/leaks.rs and, as root, by mounts.rs's runs in a shared peer group.
use forkexec_testkit::support;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use forkexec_client::{Mount, Namespace, Runner};
use forkexec_testkit::leaks::{self, Descendants, Fds, Mounts};
use serde_json::json;
use support::*;

fn count(var: &str, default: usize) -> usize {
    match std::env::var(var) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{var}={v}: not a count")),
        Err(_) => default,
    }
}

/// A cgroup directory removed on drop (also when the test fails).
struct CgroupDir(PathBuf);

impl Drop for CgroupDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.0);
    }
}

/// The soak's cgroup: root only, with a cgroup v2 hierarchy; every target runs in it.
fn soak_cgroup() -> Option<CgroupDir> {
    if !is_root() {
        return None; // the spawns are checked without one
    }
    let Some(base) = forkexec_testkit::cgroup::v2() else {
        // As root the cgroup check must run: this fails the test.
        forkexec_testkit::skip::record(
            forkexec_testkit::skip::Kind::RootOnly,
            "the soak's cgroup check: no cgroup v2 hierarchy here",
        );
        return None;
    };
    let dir = base.join(format!("forkexec-soak-{}", std::process::id()));
    fs::create_dir(&dir).unwrap();
    Some(CgroupDir(dir))
}

const SHAPES: [&str; 3] = ["in place", "supervise", "init"];

/// Spawn number `i`: a sandbox of shape `i % 3` on the shared pivot_root directory.
fn spawn_one(i: usize, root: &Path, cgroup: Option<&Path>) {
    let probe = static_probe().to_string_lossy().into_owned();
    let mut r = Runner::new([PROBE_IN_ROOT, "ids"])
        .clone_flags([Namespace::NewUser, Namespace::NewNs])
        .uid_mappings([forkexec_client::IdMap::new(0, euid(), 1)])
        .gid_mappings([forkexec_client::IdMap::new(0, egid(), 1)])
        .pivot_root(root.to_string_lossy().into_owned())
        .mount(Mount::bind(probe, PROBE_IN_ROOT, true));
    let shape = SHAPES[i % SHAPES.len()];
    if shape != "in place" {
        r.spec.clone_flags.push(Namespace::NewPid);
        r = r.mount(Mount::proc("/proc")).init(shape == "init");
    }
    if let Some(dir) = cgroup {
        r = r.cgroup(dir.to_string_lossy().into_owned());
    }
    let out = run(r).unwrap_or_else(|e| panic!("spawn {i} ({shape}): {e}"));
    assert!(
        out.status.success(),
        "spawn {i} ({shape}): {} {}",
        out.status,
        out.stderr
    );
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("spawn {i} ({shape}): {e}: {:?}", out.stdout));
    assert_eq!(
        v,
        json!({"uid": [0, 0, 0], "gid": [0, 0, 0]}),
        "spawn {i} ({shape})"
    );
}

#[test]
fn spawns_leave_nothing_behind() {
    let seq = count("FORKEXEC_SOAK_SEQ", 300);
    let par = count("FORKEXEC_SOAK_PAR", 100);
    let mut c = Cleanup::default();
    let root = c.dir("soak-root");
    let cgroup = soak_cgroup();
    let cg = cgroup.as_ref().map(|d| d.0.as_path());
    // Warm up (the static probe is built, lazy state settles), then take the baseline.
    for i in 0..SHAPES.len() {
        spawn_one(i, &root, cg);
    }
    let (fds, mounts, processes) = (Fds::take(), Mounts::take(), Descendants::take());

    let start = Instant::now();
    for i in 0..seq {
        spawn_one(i, &root, cg);
    }
    let sequential = start.elapsed();
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..2 {
            let root = &root;
            s.spawn(move || {
                for i in 0..par {
                    spawn_one(t + 2 * i, root, cg);
                }
            });
        }
    });
    let parallel = start.elapsed();
    eprintln!(
        "soak: {seq} sandboxed spawns in a row in {:.1} s ({:.2} ms each), 2 x {par} at once in {:.1} s",
        sequential.as_secs_f64(),
        sequential.as_secs_f64() * 1000.0 / seq.max(1) as f64,
        parallel.as_secs_f64()
    );

    assert_eq!(fds.check(), Ok(()), "the runtime's fds changed");
    assert_eq!(
        processes.check(),
        Ok(()),
        "a process (zombie or running) is left"
    );
    assert_eq!(mounts.check(), Ok(()), "the mount table changed");
    let left: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(
        left.is_empty(),
        "left in the pivot_root directory: {left:?}"
    );
    if let Some(CgroupDir(dir)) = &cgroup {
        assert_eq!(leaks::cgroup_left(dir), Ok(()));
    }
}
