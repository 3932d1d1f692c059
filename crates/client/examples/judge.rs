//! The README's example: run a command the way an online judge would, in fresh namespaces
//! with a read-only view of /usr, a private /tmp, limits and no privileges, then report how it
//! ended and what it used.
//!
//! `cargo run -p forkexec-client --example judge -- /bin/sh -c 'echo hi; ls /'`

use std::os::fd::AsRawFd;
use std::path::Path;

use forkexec_client::{Error, IdMap, MountOp, Namespace, Resource, Runner};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args = if args.is_empty() {
        vec!["/bin/ls".into(), "-la".into(), "/".into()]
    } else {
        args
    };
    // SAFETY: geteuid/getegid cannot fail.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let root = std::env::temp_dir().join(format!("forkexec-judge-{}", std::process::id()));
    std::fs::create_dir_all(&root)?;
    let (stdin, stdout, stderr) = (std::io::stdin(), std::io::stdout(), std::io::stderr());

    let mut runner = Runner::new(args)
        .env(["PATH=/usr/bin:/bin"])
        .files([stdin.as_raw_fd(), stdout.as_raw_fd(), stderr.as_raw_fd()])
        .clone_flags([
            Namespace::NewUser,
            Namespace::NewNs,
            Namespace::NewUts,
            Namespace::NewIpc,
            Namespace::NewNet,
        ])
        .uid_mappings([IdMap {
            container_id: 0,
            host_id: uid,
            size: 1,
        }])
        .gid_mappings([IdMap {
            container_id: 0,
            host_id: gid,
            size: 1,
        }])
        .pivot_root(root.to_string_lossy()) // a tmpfs is mounted there
        .mount(MountOp::ro_bind("/usr", "/usr")) // recursive, read-only, inside the new root
        .mount(MountOp::tmpfs("/tmp").size(64 << 20))
        .work_dir("/tmp")
        .host_name("judge")
        .rlimit(Resource::Cpu, 2, 2)
        .rlimit(Resource::As, 1 << 30, 1 << 30)
        .no_new_privs(true)
        .drop_caps(true)
        .sync_func(|pid| {
            eprintln!("judge: pid {pid} is about to exec"); // e.g. add it to a cgroup here
            Ok::<(), Error>(())
        });
    for dir in ["/bin", "/lib", "/lib64"] {
        if Path::new(dir).exists() {
            runner = runner.mount(MountOp::ro_bind(dir, dir));
        }
    }

    let started = runner.start(); // Err(Error::Child(e)) prints like "mount(1): no such file or directory"
    let _ = std::fs::remove_dir(&root);
    let status = started?.wait()?; // exit status, user and system time, max RSS
    eprintln!(
        "judge: {status}, user {:?}, system {:?}, max RSS {} KiB",
        status.rusage.user_time, status.rusage.system_time, status.rusage.max_rss_kib
    );
    Ok(())
}
