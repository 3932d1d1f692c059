//! The block fds (records BLOCK_FD and USERNS_BLOCK_FD: bubblewrap's `--block-fd` and
//! `--userns-block-fd`): the sandbox waits for a byte (or EOF) on an fd of the runtime; with
//! USERNS_BLOCK_FD the helper writes no id maps, and the runtime writes them meanwhile.

use super::*;

use std::sync::mpsc;

/// What `pid` waits in (`/proc/PID/wchan`), when this process may read it (root: the helper is
/// not dumpable).
fn wchan(pid: u32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/wchan")).ok()
}

/// The target (in place: the helper itself) waits for BLOCK_FD before it runs: it is still the
/// helper, asleep (as root: in a pipe read), and the program has not run; one byte of two is
/// consumed and it goes on. EOF lets it go on too.
#[test]
fn the_target_waits_for_the_block_fd() {
    for eof in [false, true] {
        let mut c = Cleanup::default();
        let (r, marker) = marker_target(&mut c);
        let (block_r, mut block_w) = pipe();
        let (tx, rx) = mpsc::channel();
        let r = r.block_fd(block_r.as_raw_fd()).on_spawn(move |pid| {
            tx.send(pid).unwrap();
            Ok::<(), std::io::Error>(())
        });
        let run = std::thread::spawn(move || run(r));
        let pid = rx.recv().unwrap();
        assert!(
            eventually(10.0, || is_helper_sleeping(pid)),
            "never blocked"
        );
        if is_root() {
            assert!(
                eventually(10.0, || wchan(pid).is_some_and(|w| w.contains("pipe_read"))),
                "{:?}",
                wchan(pid)
            );
        }
        assert!(!marker.exists(), "ran before the byte");
        if eof {
            block_w = File::open("/dev/null").unwrap();
        } else {
            (&block_w).write_all(b"xy").unwrap();
        }
        let out = run.join().unwrap().unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(marker.exists());
        if !eof {
            drop(block_w);
            let mut rest = String::new();
            (&block_r).read_to_string(&mut rest).unwrap();
            assert_eq!(rest, "y", "one byte read");
        }
    }
    assert_no_children();
}

/// With USERNS_BLOCK_FD the helper writes no maps: the runtime learns the pid on the info fd,
/// writes `setgroups`, `uid_map` and `gid_map` itself, then sends the byte; the target then
/// runs as the ids it mapped.
#[test]
fn the_runtime_writes_the_maps_while_the_helper_waits() {
    let (info_r, info_w) = pipe();
    let (block_r, block_w) = pipe();
    let r = probe_runner(&["report"])
        .clone_flags([Namespace::NewUser])
        .info_fd(info_w.as_raw_fd())
        .userns_block_fd(block_r.as_raw_fd());
    let run = std::thread::spawn(move || run(r));
    let mut doc = Vec::new();
    let mut byte = [0u8; 1];
    while !doc.ends_with(b"}\n") {
        assert_eq!((&info_r).read(&mut byte).unwrap(), 1, "{doc:?}");
        doc.push(byte[0]);
    }
    let info: Value = serde_json::from_slice(&doc).unwrap();
    let pid = info["child-pid"].as_u64().unwrap();
    let proc = |name: &str| format!("/proc/{pid}/{name}");
    assert_eq!(
        fs::read_to_string(proc("uid_map")).unwrap(),
        "",
        "mapped already"
    );
    assert_eq!(fs::read_to_string(proc("setgroups")).unwrap(), "allow\n");
    fs::write(proc("setgroups"), "deny").unwrap();
    fs::write(proc("uid_map"), format!("0 {} 1", euid())).unwrap();
    fs::write(proc("gid_map"), format!("0 {} 1", egid())).unwrap();
    (&block_w).write_all(b"x").unwrap();
    let out = run.join().unwrap().unwrap();
    assert!(out.status.success(), "{out:?}");
    let report = json_of(&out.stdout);
    assert_eq!(report["uid"], json!([0, 0, 0]), "{report}");
    assert_eq!(report["gid"], json!([0, 0, 0]), "{report}");
    drop((info_w, block_w));
    assert_no_children();
}

/// A block fd that cannot be read (the write end of a pipe: EBADF) stops the start at
/// `block_fd`, index 0 BLOCK_FD (the target's), 1 USERNS_BLOCK_FD (the helper's); the
/// target never runs.
#[test]
fn an_unreadable_block_fd_stops_the_start() {
    let mut c = Cleanup::default();
    for index in [0, 1] {
        let (r, marker) = marker_target(&mut c);
        let (_read_end, write_end) = pipe();
        let r = if index == 0 {
            r.block_fd(write_end.as_raw_fd())
        } else {
            r.clone_flags([Namespace::NewUser])
                .userns_block_fd(write_end.as_raw_fd())
        };
        match r.start() {
            Err(Error::Child(e)) => {
                assert_eq!(e.location(), Some(Location::BlockFd), "{index}");
                assert_eq!((e.errno(), e.index()), (libc::EBADF, index), "{index}");
            }
            other => panic!("{index}: {other:?}"),
        }
        assert_never_ran(&marker);
    }
    assert_no_children();
}
