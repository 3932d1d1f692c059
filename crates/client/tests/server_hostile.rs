//! The fork server against hostile requests and clients (docs/spec.md, "Fork server"): each
//! malformed request is refused with an error record at `serve` (or, with no channel to
//! answer on, silently), every spec of the fuzz corpus that the decoder refuses is refused by
//! the run's child, clients that die mid-run have their run killed, and after each of these a
//! good run still works. The server dies with its runtime.
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use forkexec_client::{Location, Runner, Server};
use forkexec_spec::serve as request;
use forkexec_spec::status::{Record, RECORD_LEN};
use forkexec_testkit::support::*;

/// A server spawned by hand, to send it raw bytes.
struct Raw {
    sock: OwnedFd,
    child: Child,
}

impl Drop for Raw {
    fn drop(&mut self) {
        // SAFETY: shutdown on an fd we own.
        unsafe { libc::shutdown(self.sock.as_raw_fd(), libc::SHUT_RDWR) };
        self.child.wait().unwrap();
    }
}

fn seqpacket() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    let ty = libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC;
    // SAFETY: socketpair fills two fds we then own.
    assert_eq!(
        unsafe { libc::socketpair(libc::AF_UNIX, ty, 0, fds.as_mut_ptr()) },
        0
    );
    // SAFETY: fresh fds.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn raw_server() -> Raw {
    let (ours, theirs) = seqpacket();
    let fd = theirs.as_raw_fd();
    let mut cmd = Command::new(helper());
    cmd.arg("--serve").arg(fd.to_string()).stdin(Stdio::null());
    // SAFETY: fcntl between fork and exec.
    unsafe {
        cmd.pre_exec(move || clear_cloexec(fd));
    }
    let child = cmd.spawn().unwrap();
    Raw { sock: ours, child }
}

/// One message with `fds` attached.
fn send(sock: &OwnedFd, bytes: &[u8], fds: &[RawFd]) {
    let mut control = vec![0u64; 160];
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut libc::c_void,
        iov_len: bytes.len(),
    };
    // SAFETY: a zeroed msghdr, then pointers to live buffers; CMSG macros within `control`.
    unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if !fds.is_empty() {
            let n = (fds.len() * 4) as u32;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = libc::CMSG_SPACE(n) as usize;
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN(n) as usize;
            std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(c).cast(), fds.len());
        }
        let sent = libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL);
        assert!(sent >= 0, "sendmsg: {}", std::io::Error::last_os_error());
    }
}

fn request_bytes(numbers: &[u32]) -> Vec<u8> {
    let mut buf = [0u8; request::MAX_LEN];
    let len = request::encode(numbers, &mut buf).unwrap();
    buf[..len].to_vec()
}

/// Every record until end of stream.
fn records(chan: &mut UnixStream) -> Vec<Record> {
    chan.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut all = Vec::new();
    let mut buf = [0u8; RECORD_LEN];
    loop {
        match chan.read_exact(&mut buf) {
            Ok(()) => all.push(Record::decode(&buf).expect("a known record")),
            // ECONNRESET: the peer closed with bytes of ours unread (a spec it refused early).
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return all,
            Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => return all,
            Err(e) => panic!("reading records: {e} (so far {all:?})"),
        }
    }
}

fn serve_error(errno: i32, index: u32) -> Record {
    let location = Location::Serve as u32;
    Record::Error {
        location,
        errno,
        index,
        detail: 0,
    }
}

/// A good run on the raw server: pid, exec, exit 0, end of stream.
fn assert_alive(raw: &Raw) {
    let (mut ours, theirs) = UnixStream::pair().unwrap();
    send(&raw.sock, &request_bytes(&[]), &[theirs.as_raw_fd()]);
    drop(theirs);
    ours.write_all(&Runner::new(["/bin/true"]).spec.encode().unwrap())
        .unwrap();
    let got = records(&mut ours);
    assert!(
        matches!(
            got.as_slice(),
            [
                Record::Pid { .. },
                Record::Exec { .. },
                Record::Exit { status: 0, .. }
            ]
        ),
        "{got:?}"
    );
}

/// Sends `bytes` with a run channel and then `extra`; returns what came back on the channel.
fn refused(raw: &Raw, bytes: &[u8], extra: &[RawFd]) -> Vec<Record> {
    let (mut ours, theirs) = UnixStream::pair().unwrap();
    let mut fds = vec![theirs.as_raw_fd()];
    fds.extend(extra);
    send(&raw.sock, bytes, &fds);
    drop(theirs);
    records(&mut ours)
}

#[test]
fn malformed_requests_are_refused_at_serve() {
    let raw = raw_server();
    let (r, w) = pipe();
    let (p, q) = (r.as_raw_fd(), w.as_raw_fd());
    let good = request_bytes(&[7]);
    let mut bad_magic = good.clone();
    bad_magic[..4].copy_from_slice(b"FXSP");
    let cases: Vec<(&str, Vec<u8>, Vec<RawFd>, Record)> = vec![
        ("empty", vec![], vec![], serve_error(libc::EINVAL, 0)),
        (
            "short",
            b"FXRQ".to_vec(),
            vec![],
            serve_error(libc::EINVAL, 0),
        ),
        ("magic", bad_magic, vec![p], serve_error(libc::EINVAL, 0)),
        ("count", good.clone(), vec![], serve_error(libc::EINVAL, 4)),
        (
            "count",
            good.clone(),
            vec![p, q],
            serve_error(libc::EINVAL, 4),
        ),
        (
            "length",
            good[..10].to_vec(),
            vec![p],
            serve_error(libc::EINVAL, 4),
        ),
        (
            "range",
            request_bytes(&[1 << 20]),
            vec![p],
            serve_error(libc::EINVAL, 8),
        ),
        (
            "twice",
            request_bytes(&[5, 5]),
            vec![p, q],
            serve_error(libc::EINVAL, 12),
        ),
        (
            "truncated",
            vec![0u8; request::MAX_LEN + 100],
            vec![],
            serve_error(libc::EMSGSIZE, request::MAX_LEN as u32),
        ),
    ];
    for (what, bytes, extra, want) in cases {
        assert_eq!(refused(&raw, &bytes, &extra), vec![want], "{what}");
        assert_alive(&raw);
    }
}

#[test]
fn requests_with_no_channel_to_answer_on_are_dropped() {
    let raw = raw_server();
    // No fd at all, and a pipe as the channel: nothing can be answered; the pipe is closed.
    send(&raw.sock, &request_bytes(&[]), &[]);
    send(&raw.sock, b"garbage", &[]);
    assert_alive(&raw);
    let (mut r, w) = pipe();
    send(&raw.sock, &request_bytes(&[]), &[w.as_raw_fd()]);
    drop(w);
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "{rest:?}");
    assert_alive(&raw);
}

#[test]
fn an_fd_that_cannot_be_placed_is_serve_fds() {
    let raw = raw_server();
    let (r, _w) = pipe();
    let top = (1u32 << 20) - 1;
    let got = refused(&raw, &request_bytes(&[top]), &[r.as_raw_fd()]);
    let location = Location::ServeFds as u32;
    assert!(
        matches!(got.as_slice(), [Record::Error { location: l, index, .. }, Record::Exit { status, .. }]
            if *l == location && *index == top && *status == 125 << 8),
        "{got:?}"
    );
    assert_alive(&raw);
}

/// Detach is refused in the run's child: its target would be the server's own child.
#[test]
fn a_detach_run_is_refused_at_serve() {
    let raw = raw_server();
    let (mut ours, theirs) = UnixStream::pair().unwrap();
    send(&raw.sock, &request_bytes(&[]), &[theirs.as_raw_fd()]);
    drop(theirs);
    let spec = Runner::new(["/bin/true"])
        .detach(true)
        .spec
        .encode()
        .unwrap();
    ours.write_all(&spec).unwrap();
    let got = records(&mut ours);
    assert!(
        matches!(got.as_slice(), [e, Record::Exit { status, .. }]
            if *e == serve_error(libc::EINVAL, 0) && *status == 125 << 8),
        "{got:?}"
    );
    assert_alive(&raw);
}

/// ONLY_END_RECORDS in place: the run's stream is its end only (no pid, no exec record from
/// the run or the server): the exit record, or the error record and the exit record.
#[test]
fn only_end_records_sends_no_pid_and_no_exec_record() {
    let raw = raw_server();
    for (program, code) in [("/bin/true", 0), ("/nonexistent", 127)] {
        let (mut ours, theirs) = UnixStream::pair().unwrap();
        send(&raw.sock, &request_bytes(&[]), &[theirs.as_raw_fd()]);
        drop(theirs);
        let mut runner = Runner::new([program]);
        runner.spec.only_end_records = true;
        ours.write_all(&runner.spec.encode().unwrap()).unwrap();
        let got = records(&mut ours);
        let ok = match got.as_slice() {
            [Record::Exit { status, .. }] => code == 0 && *status == 0,
            [Record::Error { .. }, Record::Exit { status, .. }] => *status == code << 8,
            _ => false,
        };
        assert!(ok, "{program}: {got:?}");
    }
    assert_alive(&raw);
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    // As the ordinary user the checkout may be out of reach: scripts/test-as-user.sh copies
    // the corpus and names it.
    let dir = match std::env::var_os("FORKEXEC_FUZZ_CORPUS") {
        Some(d) => std::path::PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus"),
    };
    let mut all = Vec::new();
    for target in fs::read_dir(&dir).unwrap().flatten() {
        for file in fs::read_dir(target.path()).unwrap().flatten() {
            let name = file.path().display().to_string();
            all.push((name, fs::read(file.path()).unwrap()));
        }
    }
    all.sort();
    assert!(
        all.len() > 20,
        "the fuzz corpus is missing: {}",
        dir.display()
    );
    all
}

/// Every corpus input as a request's bytes (with a channel): refused at `serve`. Every corpus
/// input the decoder refuses as a run's spec: refused by the run's child at `spec` (or
/// `spec_read`), the run's exit reported, and the server still serving.
#[test]
fn the_fuzz_corpus_is_refused_without_harm() {
    let raw = raw_server();
    for (name, bytes) in corpus() {
        let cut = &bytes[..bytes.len().min(request::MAX_LEN)];
        let got = refused(&raw, cut, &[]);
        assert!(
            matches!(got.as_slice(), [Record::Error { location, .. }] if *location == Location::Serve as u32),
            "{name}: {got:?}"
        );
        // What the helper reads: the header's total length (a valid spec would run: not hostile).
        let header: Option<[u8; 12]> = bytes.get(..12).and_then(|h| h.try_into().ok());
        let total = header.and_then(|h| forkexec_spec::decode::total_len(&h).ok());
        let read = &bytes[..total.unwrap_or(bytes.len()).min(bytes.len())];
        if forkexec_spec::decode(read).is_ok() {
            continue;
        }
        let (mut ours, theirs) = UnixStream::pair().unwrap();
        send(&raw.sock, &request_bytes(&[]), &[theirs.as_raw_fd()]);
        drop(theirs);
        let _ = ours.write_all(&bytes);
        let _ = ours.shutdown(std::net::Shutdown::Write);
        let got = records(&mut ours);
        let spec = [Location::Spec as u32, Location::SpecRead as u32];
        assert!(
            matches!(got.as_slice(), [Record::Error { location, .. }, Record::Exit { status, .. }]
                if spec.contains(location) && *status == 125 << 8),
            "{name}: {got:?}"
        );
    }
    assert_alive(&raw);
}

fn gone(pid: u32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(s) if s.rsplit_once(") ").is_some_and(|(_, t)| t.starts_with('Z')) => return true,
            Ok(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    false
}

#[test]
fn a_client_that_hangs_up_has_its_run_killed() {
    let server = Server::start_with(helper()).unwrap();
    let run = server
        .run(Runner::new(["/bin/sleep", "1000"]).files([-1, -1, -1]))
        .unwrap();
    let pid = run.pid();
    drop(run);
    assert!(gone(pid), "the run {pid} outlived its channel");
    // Hanging up before the spec was sent: the child reads a truncated spec and ends.
    let raw = raw_server();
    let (ours, theirs) = UnixStream::pair().unwrap();
    send(&raw.sock, &request_bytes(&[]), &[theirs.as_raw_fd()]);
    drop((ours, theirs));
    assert_alive(&raw);
    let mut run = server.run(Runner::new(["/bin/true"])).unwrap();
    assert!(run.wait().unwrap().success());
}

#[test]
fn the_server_ends_with_its_socket_and_kills_its_runs() {
    let server = Server::start_with(helper()).unwrap();
    let server_pid = server.pid();
    let run = server
        .run(Runner::new(["/bin/sleep", "1000"]).files([-1, -1, -1]))
        .unwrap();
    let status = server.shutdown().unwrap();
    assert!(status.success(), "{status}");
    assert!(gone(run.pid()), "the run outlived the server");
    assert!(gone(server_pid));
}

/// The runtime (here a shell, which starts the server and then becomes `sleep`, keeping the
/// server's socket open) is killed: the server's parent-death signal ends it. This test holds
/// the other end of the socket, so end of stream cannot be what ends it.
#[test]
fn the_server_dies_with_its_parent() {
    let (ours, theirs) = seqpacket();
    let fd = theirs.as_raw_fd();
    let script = format!(
        "'{}' --serve {fd} </dev/null >/dev/null & echo $!; exec sleep 1000",
        helper().display()
    );
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(script).stdout(Stdio::piped());
    // SAFETY: fcntl between fork and exec.
    unsafe {
        cmd.pre_exec(move || clear_cloexec(fd));
    }
    let mut runtime = cmd.spawn().unwrap();
    drop(theirs);
    let mut line = String::new();
    BufReader::new(runtime.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let pid: u32 = line.trim().parse().unwrap();
    // Once a run went through, the server has armed its parent-death signal.
    let raw = Raw {
        sock: ours,
        child: Command::new("/bin/true").spawn().unwrap(),
    };
    assert_alive(&raw);
    runtime.kill().unwrap();
    runtime.wait().unwrap();
    assert!(gone(pid), "the server {pid} outlived its parent");
    drop(raw);
}

/// `--serve N --shared` sweeps with `kill(-1)`: anywhere but pid 1 of its own pid namespace it
/// ends after its first run instead (exit 125) and kills nothing. Run inside a pid namespace
/// of `unshare` (where the server is pid 2), so that a server which did sweep would only
/// reach that namespace's other process, the bystander `sleep`.
#[test]
fn a_shared_server_that_is_not_pid_1_kills_nothing() {
    let (ours, theirs) = seqpacket();
    let fd = theirs.as_raw_fd();
    let script = format!(
        "sleep 1000 & \"$0\" --serve {fd} --shared /nonexistent; echo \"server $?\"; \
         kill -TERM $!; wait $!; echo \"bystander $?\""
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["-rpf", "--", "sh", "-c", &script])
        .arg(helper())
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    // SAFETY: fcntl between fork and exec.
    unsafe {
        cmd.pre_exec(move || clear_cloexec(fd));
    }
    let child = cmd.spawn().unwrap();
    drop(theirs);
    // One run that fails at once (its channel has no spec on it, only end of stream): its
    // end is where a shared server sweeps.
    let (chan, run_end) = UnixStream::pair().unwrap();
    send(&ours, &request_bytes(&[]), &[run_end.as_raw_fd()]);
    drop((run_end, chan));
    let out = child.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&out.stdout);
    // 143: the bystander was alive until the TERM (137 had the server's SIGKILL got it).
    assert_eq!(out, "server 125\nbystander 143\n");
}
