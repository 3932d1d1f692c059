//! `forkexec-run serve` for the CLI suites (`crates/cli/tests/serve*.rs`): a server on a
//! scratch socket with the suites' sandbox, and runs sent to it with `--via`. The
//! forkexec-run under test is the caller's (`CARGO_BIN_EXE_forkexec-run` is only known there).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::{self, Cleanup};

/// A running `forkexec-run serve`, killed (SIGTERM) and reaped when dropped.
pub struct Served {
    /// The `serve` process.
    pub child: Child,
    /// Its socket.
    pub socket: PathBuf,
    /// The forkexec-run it is (and that `--via` runs).
    pub cli: PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return; // reaped already: its pid may be another process's now
        }
        // SAFETY: kill on our own child's pid, not reaped yet.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// The sandbox the suites use: every namespace but the network, the host's /usr, /bin, /lib
/// and /lib64 read-only, a /dev.
pub const SANDBOX: &str = "--unshare-all --share-net --ro-bind /usr /usr --ro-bind-try /bin /bin \
                       --ro-bind-try /lib /lib --ro-bind-try /lib64 /lib64 --dev /dev";

/// `CLI serve SOCKET --pool 2 --writable /tmp -- EXTRA SANDBOX`.
pub fn serve_command(cli: &Path, socket: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(cli);
    cmd.arg("serve")
        .arg(socket)
        .args(["--pool", "2", "--writable", "/tmp", "--"])
        .args(extra)
        .args(SANDBOX.split_whitespace())
        .env("FORKEXEC_HELPER", support::helper())
        .stdin(Stdio::null());
    cmd
}

/// [`serve_command`] on a scratch socket, started; waits for the socket (made once the
/// sandboxes are built).
pub fn serve(cli: &Path, c: &mut Cleanup, extra: &[&str]) -> Served {
    let socket = c.dir("serve").join("s");
    let child = serve_command(cli, &socket, extra).spawn().unwrap();
    let mut served = Served {
        child,
        socket,
        cli: cli.to_path_buf(),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !served.socket.exists() {
        if let Some(status) = served.child.try_wait().unwrap() {
            panic!("serve ended: {status:?}");
        }
        assert!(Instant::now() < deadline, "serve did not make its socket");
        std::thread::sleep(Duration::from_millis(10));
    }
    served
}

/// `CLI --via SOCKET ARGS`.
pub fn via_command(s: &Served, args: &[&str]) -> Command {
    let mut cmd = Command::new(&s.cli);
    cmd.arg("--via").arg(&s.socket).args(args);
    cmd
}

/// `CLI --via SOCKET ARGS` with `stdin` written to it, its output captured.
pub fn via(s: &Served, args: &[&str], stdin: &str) -> Output {
    let mut child = via_command(s, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// `sh -c SCRIPT` sent with `--via`.
pub fn sh(s: &Served, script: &str) -> Output {
    via(s, &["--", "sh", "-c", script], "")
}

/// Waits (up to 30 s) until `done` holds.
pub fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A run (`--via FLAGS -- sh -c SCRIPT`) started in the background: its client, and the
/// first line the program printed.
pub fn start_background(s: &Served, flags: &[&str], script: &str) -> (Child, String) {
    let mut child = via_command(s, flags)
        .args(["--", "sh", "-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line)
}
