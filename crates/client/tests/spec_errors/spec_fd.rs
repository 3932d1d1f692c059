//! Where the spec comes from: unreadable spec fds, read-only sources, memfds, the command line.

use super::*;

// ---------------------------------------------------------------------------------------------
// spec_read: a spec fd that cannot be read
// ---------------------------------------------------------------------------------------------

/// The helper with `args`, the fds in `keep` inherited at their numbers, stdin null, stdout
/// and stderr captured.
fn spawn_helper(args: &[String], keep: &[RawFd]) -> Child {
    let keep = keep.to_vec();
    let mut cmd = Command::new(helper());
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: only fcntl between fork and exec.
    unsafe {
        cmd.pre_exec(move || keep.iter().try_for_each(|&fd| clear_cloexec(fd)));
    }
    cmd.spawn().expect("spawn the helper")
}

fn spec_fd_args(fd: RawFd) -> Vec<String> {
    vec!["--spec-fd".into(), fd.to_string()]
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The write end of a pipe as the spec fd: reading it fails with EBADF, and the record goes
/// where records go before the spec is known, to the spec fd, which here is writable: it
/// arrives on the pipe's read end. Nothing on stderr.
#[test]
fn spec_read_from_a_write_only_pipe_reports_into_the_pipe() {
    let (mut r, w) = pipe();
    let child = spawn_helper(&spec_fd_args(w.as_raw_fd()), &[w.as_raw_fd()]);
    drop(w);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        read_records(&mut r),
        [Record::Error {
            location: forkexec_client::Location::SpecRead as u32,
            errno: libc::EBADF,
            index: 0,
            detail: 0,
        }]
    );
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(stderr_of(&out), "");
    assert!(out.stdout.is_empty());
}

/// A socket whose receive timeout (SO_RCVTIMEO, shared with the helper's copy) runs out
/// after the header and 5 more bytes: the read fails with EAGAIN and the record's index is
/// the number of bytes read so far. The record goes back over the same socket.
#[test]
fn spec_read_timing_out_names_the_bytes_read() {
    let m = Marker::new();
    let bytes = spec_bytes(|w| m.args(w));
    let (mut ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    theirs
        .set_read_timeout(Some(std::time::Duration::from_millis(50)))
        .unwrap();
    // Written before the helper starts, so its first reads find them; the rest never comes
    // (our end stays open, so no EOF either).
    ours.write_all(&bytes[..17]).unwrap();
    let child = spawn_helper(&spec_fd_args(theirs.as_raw_fd()), &[theirs.as_raw_fd()]);
    drop(theirs);
    let records = read_records(&mut ours);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        records,
        [Record::Error {
            location: forkexec_client::Location::SpecRead as u32,
            errno: libc::EAGAIN,
            index: 17,
            detail: 0,
        }]
    );
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(stderr_of(&out), "");
    assert!(!m.ran());
}

/// A directory fd: read fails with EISDIR and the record cannot be written to it either, so
/// the helper says it on stderr, in one line.
#[test]
fn spec_read_from_a_directory_reports_on_stderr() {
    let dir = File::open("/").unwrap();
    let child = spawn_helper(&spec_fd_args(dir.as_raw_fd()), &[dir.as_raw_fd()]);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(stderr_of(&out), "forkexec: spec_read(0): is a directory\n");
    assert!(out.stdout.is_empty());
}

/// An fd that is not open at all: EBADF, on stderr.
#[test]
fn spec_read_from_a_closed_fd_reports_on_stderr() {
    let out = spawn_helper(&spec_fd_args(999), &[])
        .wait_with_output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr_of(&out),
        "forkexec: spec_read(0): bad file descriptor\n"
    );
}

// ---------------------------------------------------------------------------------------------
// A read-only spec source with a separate status fd; specs from a memfd or a regular file
// ---------------------------------------------------------------------------------------------

/// Runs the helper with the spec in a pipe it can only read and STATUS_FD naming the write end
/// of a second pipe; returns the records read from that pipe and the helper's output.
fn run_with_status_pipe(build: impl FnOnce(&mut W, RawFd)) -> (Vec<Record>, Output) {
    let (spec_r, mut spec_w) = pipe();
    let (mut status_r, status_w) = pipe();
    let bytes = spec_bytes(|w| build(w, status_w.as_raw_fd()));
    let child = spawn_helper(
        &spec_fd_args(spec_r.as_raw_fd()),
        &[spec_r.as_raw_fd(), status_w.as_raw_fd()],
    );
    drop(spec_r);
    drop(status_w);
    spec_w.write_all(&bytes).unwrap();
    drop(spec_w);
    let records = read_records(&mut status_r);
    let out = child.wait_with_output().unwrap();
    (records, out)
}

#[test]
fn status_fd_reports_a_failed_exec_of_a_spec_from_a_pipe() {
    let (records, out) = run_with_status_pipe(|w, status| {
        w.args([b"/nonexistent/forkexec-target".as_slice()]);
        w.status_fd(status as u32);
    });
    assert_eq!(
        records,
        [Record::Error {
            location: forkexec_client::Location::Execve as u32,
            errno: libc::ENOENT,
            index: 0,
            detail: 0,
        }]
    );
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(stderr_of(&out), "");
}

/// Success is EOF on the status fd with no record; the target ran.
#[test]
fn status_fd_sees_eof_when_a_spec_from_a_pipe_runs() {
    let m = Marker::new();
    let (records, out) = run_with_status_pipe(|w, status| {
        m.args(w);
        w.status_fd(status as u32);
    });
    assert_eq!(records, []);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(m.ran());
}

/// Before the spec is valid, records go to the spec fd, which a pipe's read end cannot take:
/// the refusal is one line on stderr, and the status pipe gets nothing.
#[test]
fn spec_error_from_a_read_only_pipe_goes_to_stderr() {
    let m = Marker::new();
    let bit = unknown_bit(opt::KNOWN);
    let (records, out) = run_with_status_pipe(|w, status| {
        w.options(bit);
        m.args(w);
        w.status_fd(status as u32);
    });
    assert_eq!(records, []);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        stderr_of(&out),
        format!("forkexec: spec(offset {P0}): unknown flag bits (invalid argument)\n")
    );
    assert!(!m.ran());
}

fn memfd_with(bytes: &[u8]) -> File {
    // SAFETY: memfd_create with a NUL-terminated name; the fd is ours.
    let fd = unsafe { libc::memfd_create(c"forkexec-spec".as_ptr(), libc::MFD_CLOEXEC) };
    assert!(fd >= 0, "{}", std::io::Error::last_os_error());
    // SAFETY: a fresh fd owned by nobody else.
    let mut f = unsafe { File::from_raw_fd(fd) };
    f.write_all(bytes).unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    f
}

/// The whole content of `f`, read at offset 0 (the helper moved the shared file offset).
fn content(f: &File) -> Vec<u8> {
    let mut buf = vec![0; 4096];
    let n = f.read_at(&mut buf, 0).unwrap();
    buf.truncate(n);
    buf
}

/// A spec in a memfd, read with --spec-fd: it runs, and the memfd is left as it was.
#[test]
fn spec_from_a_memfd_runs() {
    let m = Marker::new();
    let bytes = spec_bytes(|w| m.args(w));
    let f = memfd_with(&bytes);
    let out = spawn_helper(&spec_fd_args(f.as_raw_fd()), &[f.as_raw_fd()])
        .wait_with_output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(m.ran());
    assert_eq!(content(&f), bytes);
}

/// A memfd is writable, so without STATUS_FD a failure record is written into it, right after
/// the spec (the shared file offset is there); nothing goes to stderr.
#[test]
fn spec_from_a_memfd_gets_the_error_record_appended() {
    let bytes = spec_bytes(|w| w.args([b"/nonexistent/forkexec-target".as_slice()]));
    let f = memfd_with(&bytes);
    let out = spawn_helper(&spec_fd_args(f.as_raw_fd()), &[f.as_raw_fd()])
        .wait_with_output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(stderr_of(&out), "");
    let all = content(&f);
    assert_eq!(all.len(), bytes.len() + 32);
    assert_eq!(&all[..bytes.len()], &bytes[..]);
    assert_eq!(
        read_records(&mut &all[bytes.len()..]),
        [Record::Error {
            location: forkexec_client::Location::Execve as u32,
            errno: libc::ENOENT,
            index: 0,
            detail: 0,
        }]
    );
}

/// A spec in a regular file opened read-only: it runs; a failure cannot be written back into
/// the file, so it is a line on stderr (and the exit code).
#[test]
fn spec_from_a_read_only_regular_file() {
    let m = Marker::new();
    let path = m.dir.join("spec.bin");
    fs::write(&path, spec_bytes(|w| m.args(w))).unwrap();
    let f = File::open(&path).unwrap();
    let out = spawn_helper(&spec_fd_args(f.as_raw_fd()), &[f.as_raw_fd()])
        .wait_with_output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(m.ran());

    let bad = spec_bytes(|w| w.args([b"/nonexistent/forkexec-target".as_slice()]));
    fs::write(&path, &bad).unwrap();
    let f = File::open(&path).unwrap();
    let out = spawn_helper(&spec_fd_args(f.as_raw_fd()), &[f.as_raw_fd()])
        .wait_with_output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(
        stderr_of(&out),
        "forkexec: execve(0) /nonexistent/forkexec-target: no such file or directory\n"
    );
    assert_eq!(fs::read(&path).unwrap(), bad);
}

// ---------------------------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------------------------

fn cli(args: &[&str]) -> Output {
    Command::new(helper())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

const USAGE_START: &str =
    "usage: forkexec [--spec-fd N]\n       forkexec --serve N [--shared DIR...]\n       forkexec --help | --version\n";

#[test]
fn help_and_version_exit_0_on_stderr() {
    for flag in ["--help", "-h"] {
        let out = cli(&[flag]);
        assert_eq!(out.status.code(), Some(0), "{flag}");
        assert!(out.stdout.is_empty());
        assert!(
            stderr_of(&out).starts_with(USAGE_START),
            "{}",
            stderr_of(&out)
        );
    }
    let version = include_str!("../../../../Cargo.toml")
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("the helper's version in Cargo.toml");
    let out = cli(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert_eq!(stderr_of(&out), format!("forkexec {version} (spec v1)\n"));
}

#[test]
fn usage_errors_exit_125_with_a_message() {
    let cases: [(&[&str], &str); 13] = [
        (
            &["--serve"],
            "forkexec: --serve needs a decimal fd number\n",
        ),
        (
            &["--serve", "x"],
            "forkexec: --serve needs a decimal fd number\n",
        ),
        (
            &["--serve", "3", "4"],
            "forkexec: unexpected extra argument\n",
        ),
        (
            &["--serve", "3", "/tmp"],
            "forkexec: unexpected extra argument\n",
        ),
        (
            &["--spec-fd", "3", "--shared"],
            "forkexec: unexpected extra argument\n",
        ),
        (
            &["--help", "--shared"],
            "forkexec: unexpected extra argument\n",
        ),
        (&["--bogus"], "forkexec: unknown argument\n"),
        (&["3"], "forkexec: unknown argument\n"),
        (
            &["--spec-fd"],
            "forkexec: --spec-fd needs a decimal fd number\n",
        ),
        (
            &["--spec-fd", "x3"],
            "forkexec: --spec-fd needs a decimal fd number\n",
        ),
        (
            &["--spec-fd", "-1"],
            "forkexec: --spec-fd needs a decimal fd number\n",
        ),
        (
            &["--spec-fd", ""],
            "forkexec: --spec-fd needs a decimal fd number\n",
        ),
        (
            &["--spec-fd", "3", "extra"],
            "forkexec: unexpected extra argument\n",
        ),
    ];
    for (args, message) in cases {
        let out = cli(args);
        assert_eq!(out.status.code(), Some(125), "{args:?}");
        assert!(out.stdout.is_empty());
        // The message, then the usage text.
        let err = stderr_of(&out);
        assert!(
            err.strip_prefix(message)
                .is_some_and(|rest| rest.starts_with(USAGE_START)),
            "{args:?}: {err}"
        );
    }
}
