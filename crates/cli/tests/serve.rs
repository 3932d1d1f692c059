//! `forkexec-run serve` and `--via`: a pool of warm sandboxes behind a unix socket, runs sent
//! to it from scripts. A run gets the client's stdin, stdout and stderr and exits the way its
//! program did, with forkexec-run's safe defaults (as root: host uid 65534, no capability,
//! no_new_privs); runs see nothing of each other, earlier or at the same time; a client that
//! hangs up has its run killed; a bad request gets a clear error and the server goes on; the
//! sandboxes and their runs die with the server, even of SIGKILL. As root and as an ordinary
//! user.
use forkexec_testkit::cli_serve::{
    eventually, serve_command as serve_with, sh, start_background, via, Served,
};
use forkexec_testkit::leaks::descendants_of;
use forkexec_testkit::support::{self, Cleanup};

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn cli() -> PathBuf {
    match std::env::var_os("FORKEXEC_RUN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_forkexec-run")),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn serve(c: &mut Cleanup, extra: &[&str]) -> Served {
    forkexec_testkit::cli_serve::serve(&cli(), c, extra)
}

fn serve_command(socket: &Path, extra: &[&str]) -> Command {
    serve_with(&cli(), socket, extra)
}

#[test]
fn runs_get_the_clients_stdio_env_and_exit_status() {
    let mut c = Cleanup::default();
    let s = serve(&mut c, &[]);
    let out = via(
        &s,
        &[
            "--setenv",
            "X",
            "1",
            "--chdir",
            "/tmp",
            "--",
            "sh",
            "-c",
            "read a; echo $a $X $(pwd); echo err >&2; exit 3",
        ],
        "hi\n",
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hi 1 /tmp\n");
    assert_eq!(text(&out.stderr), "err\n");
    // The client's environment, not the server's.
    let out = Command::new(cli())
        .arg("--via")
        .arg(&s.socket)
        .args(["--", "sh", "-c", "echo $FROM_CLIENT; pwd"])
        .env("FROM_CLIENT", "yes")
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "yes\n/\n", "{}", text(&out.stderr));
    // Killed by a signal: forkexec-run dies of it too.
    let out = sh(&s, "kill -TERM $$");
    assert_eq!(out.status.signal(), Some(libc::SIGTERM), "{out:?}");
}

/// Each run has forkexec-run's safe defaults: no capability, no_new_privs, a new session
/// keyring, and as root the program is host uid 65534 (its user namespace maps uid 0 there).
#[test]
fn each_run_gets_the_safe_defaults() {
    let mut c = Cleanup::default();
    let s = serve(&mut c, &["--rlimit", "nofile=17"]);
    let out = sh(
        &s,
        "ulimit -n; grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs)' /proc/self/status; \
         cat /proc/self/uid_map",
    );
    let host_uid = if support::is_root() {
        65534
    } else {
        support::euid()
    };
    let inside = if support::is_root() {
        0
    } else {
        support::euid()
    };
    let map = format!("{inside:>10} {host_uid:>10} {:>10}\n", 1);
    assert_eq!(
        text(&out.stdout),
        format!(
            "17\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n\
             CapBnd:\t0000000000000000\nNoNewPrivs:\t1\n{map}"
        ),
        "{}",
        text(&out.stderr)
    );
    // --via's --rlimit overrides the server's for its run only.
    let out = via(
        &s,
        &["--rlimit", "nofile=20", "--", "sh", "-c", "ulimit -n"],
        "",
    );
    assert_eq!(text(&out.stdout), "20\n", "{}", text(&out.stderr));
    assert_eq!(text(&sh(&s, "ulimit -n").stdout), "17\n");
}

/// Nothing of an earlier run (a file in /tmp, a daemon) is seen by the next, and a run going
/// on at the same time is invisible too (its file, its processes); the root is read-only.
#[test]
fn runs_see_nothing_of_each_other() {
    let mut c = Cleanup::default();
    let s = serve(&mut c, &[]);
    for _ in 0..3 {
        let out = sh(&s, "ls -A /tmp; echo x >/tmp/left && echo wrote");
        assert_eq!(text(&out.stdout), "wrote\n", "{}", text(&out.stderr));
    }
    // One run going on (its file written, its sleep running) in each sandbox of the pool...
    let busy: Vec<_> = (0..2)
        .map(|_| start_background(&s, &[], "echo x >/tmp/busy; echo started; exec sleep 1000"))
        .collect();
    for (_, line) in &busy {
        assert_eq!(line, "started\n");
    }
    // ...and another beside them sees only itself: its own init (1) and shell (2).
    let out = sh(&s, "ls -A /tmp; cd /proc && echo [0-9]*; echo x >/left");
    assert_eq!(text(&out.stdout), "1 2\n", "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("Read-only"),
        "{}",
        text(&out.stderr)
    );
    for (mut child, _) in busy {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A client that goes away has its run killed: the server's processes are back to what they
/// were before the run.
#[test]
fn a_client_gone_kills_its_run() {
    let mut c = Cleanup::default();
    let s = serve(&mut c, &[]);
    // Before any run (the sandboxes are built once the socket is there): each sandbox's
    // helper, init and server.
    let idle = descendants_of(s.child.id()).len();
    // A daemon goes with the run that forked it.
    assert_eq!(
        sh(&s, "sleep 1000 >/dev/null 2>&1 &").status.code(),
        Some(0)
    );
    eventually("a daemon outlived its run", || {
        descendants_of(s.child.id()).len() == idle
    });
    let (mut client, line) =
        start_background(&s, &[], "sleep 1000 & echo started; exec sleep 1000");
    assert_eq!(line, "started\n");
    assert!(descendants_of(s.child.id()).len() > idle);
    client.kill().unwrap();
    client.wait().unwrap();
    eventually("the run outlived its client", || {
        descendants_of(s.child.id()).len() == idle
    });
}

/// Sends raw bytes (with no fds, or with 0, 1 and 2) and returns the server's answer.
fn raw_request(socket: &Path, len: u32, body: &[u8], with_fds: bool) -> String {
    let mut conn = UnixStream::connect(socket).unwrap();
    if with_fds {
        let (r, w) = support::pipe();
        use std::os::fd::AsRawFd;
        let fds = [r.as_raw_fd(), w.as_raw_fd(), w.as_raw_fd()];
        send_with_fds(&conn, &len.to_le_bytes(), &fds);
    } else {
        conn.write_all(&len.to_le_bytes()).unwrap();
    }
    let _ = conn.write_all(body);
    let _ = conn.shutdown(std::net::Shutdown::Write);
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    answer
}

fn send_with_fds(conn: &UnixStream, bytes: &[u8], fds: &[i32]) {
    use std::os::fd::AsRawFd;
    let mut cmsg = [0u64; 8];
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut _,
        iov_len: bytes.len(),
    };
    // SAFETY: a msghdr over buffers we own; one SCM_RIGHTS message of 3 fds fits in `cmsg`.
    let n = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cmsg.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE((fds.len() * 4) as u32) as usize;
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN((fds.len() * 4) as u32) as usize;
        let data = libc::CMSG_DATA(c).cast::<i32>();
        for (i, fd) in fds.iter().enumerate() {
            data.add(i).write_unaligned(*fd);
        }
        libc::sendmsg(conn.as_raw_fd(), &msg, 0)
    };
    assert_eq!(n, bytes.len() as isize);
}

/// Bad requests get a clear error each, and the server goes on serving.
#[test]
fn bad_requests_are_refused_and_the_server_goes_on() {
    let mut c = Cleanup::default();
    let s = serve(&mut c, &[]);
    let whole = |b: &[u8]| b.len() as u32;
    let good = br#"{"args": ["true"]}"#;
    let cases: [(Option<u32>, &[u8], bool, &str); 8] = [
        (None, good, false, "comes with 3 fds"),
        (None, b"{}", true, "without `args`"),
        (None, b"nope!", true, "not JSON"),
        (
            None,
            br#"{"args": "x"}"#,
            true,
            "`args` must be a list of strings",
        ),
        (Some(1 << 30), b"", true, "at most 1048576"),
        (
            Some(100),
            b"{\"args\"",
            true,
            "reading the 100-byte request",
        ),
        (
            None,
            br#"{"args":["x"],"mounts":[]}"#,
            true,
            "unknown key `mounts`",
        ),
        (None, br#"{"args":["/nonexistent"]}"#, true, "/nonexistent"),
    ];
    for (len, body, fds, why) in cases {
        let answer = raw_request(&s.socket, len.unwrap_or(whole(body)), body, fds);
        assert!(answer.contains(why), "{why}: {answer}");
        assert!(answer.contains("\"code\""), "{answer}");
    }
    // A connection that closes at once, and one that sends half a length.
    drop(UnixStream::connect(&s.socket).unwrap());
    UnixStream::connect(&s.socket)
        .unwrap()
        .write_all(&[1, 0])
        .unwrap();
    let out = sh(&s, "echo still");
    assert_eq!(text(&out.stdout), "still\n", "{}", text(&out.stderr));
}

#[test]
fn failures_and_refusals_say_why() {
    let mut c = Cleanup::default();
    let s = serve(&mut c, &[]);
    let out = via(&s, &["--", "no-such-command"], "");
    assert_eq!(out.status.code(), Some(127), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no-such-command"),
        "{}",
        text(&out.stderr)
    );
    // Found in the host's PATH, not in the sandbox's (no /sbin there).
    let out = via(&s, &["--", "/sbin/no-such"], "");
    assert_eq!(out.status.code(), Some(127), "{}", text(&out.stderr));
    let out = via(&s, &["--ro-bind", "/", "/", "--", "true"], "");
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).contains("--ro-bind cannot go with --via"),
        "{}",
        text(&out.stderr)
    );
    let out = Command::new(cli())
        .args(["--via", "/nonexistent/socket", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).contains("/nonexistent/socket"),
        "{}",
        text(&out.stderr)
    );
    // The socket is taken: a second serve on it is refused, and the first goes on.
    let again = serve_command(&s.socket, &[]).output().unwrap();
    assert_eq!(again.status.code(), Some(125), "{}", text(&again.stderr));
    assert!(
        text(&again.stderr).contains("exists"),
        "{}",
        text(&again.stderr)
    );
    assert_eq!(sh(&s, "true").status.code(), Some(0));
    // Sandbox flags that belong to a run, or to no pool.
    let dir = c.dir("refused");
    for (flags, why) in [
        (
            &["--setenv", "A", "1"][..],
            "--setenv is not a sandbox flag here",
        ),
        (
            &["--writable-root"],
            "--writable-root is not a sandbox flag here",
        ),
        (&["--cgroup", "/x"], "--cgroup is not a sandbox flag here"),
        (&["--time-limit", "1"], "judge flags"),
        (&["--", "true"], "take no COMMAND"),
    ] {
        let out = serve_command(&dir.join("s"), flags).output().unwrap();
        assert_eq!(out.status.code(), Some(125), "{flags:?}");
        assert!(
            text(&out.stderr).contains(why),
            "{flags:?}: {}",
            text(&out.stderr)
        );
        assert!(!dir.join("s").exists());
    }
    let out = Command::new(cli())
        .args(["serve", "--pool", "0"])
        .arg(dir.join("s"))
        .output()
        .unwrap();
    assert!(
        text(&out.stderr).contains("between 1 and 64"),
        "{}",
        text(&out.stderr)
    );
}

/// SIGTERM removes the socket; a socket left by a serve that was killed is replaced.
#[test]
fn sigterm_removes_the_socket_and_a_stale_one_is_replaced() {
    let mut c = Cleanup::default();
    let s = serve(&mut c, &[]);
    let socket = s.socket.clone();
    drop(s);
    assert!(!socket.exists());
    let stale = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    drop(stale);
    assert!(socket.exists());
    let child = serve_command(&socket, &[]).spawn().unwrap();
    let s = Served {
        child,
        socket: socket.clone(),
        cli: cli(),
    };
    eventually("serve did not take over the stale socket", || {
        UnixStream::connect(&socket).is_ok()
    });
    assert_eq!(text(&sh(&s, "echo ok").stdout), "ok\n");
}

/// The sandboxes and their runs die with the server, even when it is killed: nothing it
/// started is left, and a client waiting for its run is told.
#[test]
fn everything_dies_with_the_server() {
    let mut c = Cleanup::default();
    let mut s = serve(&mut c, &[]);
    let (client, line) = start_background(&s, &[], "sleep 1000 & echo started; exec sleep 1000");
    assert_eq!(line, "started\n");
    let started = descendants_of(s.child.id());
    let pids: Vec<u32> = started
        .iter()
        .map(|p| p.split(' ').next().unwrap().parse().unwrap())
        .collect();
    // The two sandboxes (helper, init, server each at least) and the run (its helper, init,
    // sh and two sleeps).
    assert!(pids.len() >= 8, "{started:?}");
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    eventually("processes outlived the server", || {
        pids.iter()
            .all(|p| !Path::new(&format!("/proc/{p}")).exists())
    });
    let out = client.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(125));
}
