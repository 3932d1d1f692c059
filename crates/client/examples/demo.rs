//! `make demo`: runs the embedded example spec (`demo.json`) through the real helper.
//!
//! The spec asks for new user, mount, pid, UTS and IPC namespaces, a pivot_root onto a fresh
//! tmpfs built from mount operations: the host's `/usr` bound read-only (plus `/bin`, `/lib`,
//! `/lib64`, added here because they differ between distributions), a new proc with
//! `/proc/sys` masked, the minimal `/dev`, a private `/tmp` and a file written from the spec;
//! a host name, rlimits, no_new_privs and dropped capabilities. The caller is mapped to root
//! inside (the single self-mapping a process may write for itself). The shell inside prints
//! what it sees.

use std::path::Path;

use forkexec_client::{IdMap, MountOp, Runner, Spec};

const DEMO_SPEC: &str = include_str!("demo.json");

fn main() {
    let mut spec = Spec::from_json(DEMO_SPEC).expect("the embedded demo spec is valid");
    // SAFETY: geteuid/getegid cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    spec.uid_mappings = vec![IdMap {
        container_id: 0,
        host_id: uid,
        size: 1,
    }];
    spec.gid_mappings = vec![IdMap {
        container_id: 0,
        host_id: gid,
        size: 1,
    }];
    for dir in ["/bin", "/lib", "/lib64"] {
        // On merged-/usr systems these are symlinks into /usr: bind what they point to.
        if Path::new(dir).exists() {
            spec.mounts.push(MountOp::ro_bind(dir, dir).into());
        }
    }
    let root = std::env::temp_dir().join(format!("forkexec-demo-{}", std::process::id()));
    std::fs::create_dir_all(&root).expect("create the pivot_root directory");
    spec.pivot_root = root.to_string_lossy().into_owned();

    println!("forkexec demo: running as uid {uid}; the spec in its JSON form:");
    println!("{}", spec.to_json());
    println!();

    let started = Runner::from_spec(spec).start();
    let result = started.map(|mut p| (p.pid(), p.wait()));
    let _ = std::fs::remove_dir(&root);
    match result {
        Ok((pid, Ok(status))) => {
            println!();
            println!(
                "forkexec demo: pid {pid} ended: {status}; user {:?}, system {:?}, max RSS {} KiB",
                status.rusage.user_time, status.rusage.system_time, status.rusage.max_rss_kib
            );
            std::process::exit(if status.success() { 0 } else { 1 });
        }
        Ok((_, Err(e))) => {
            eprintln!("forkexec demo: wait failed: {e}");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("forkexec demo: {e}");
            std::process::exit(125);
        }
    }
}
