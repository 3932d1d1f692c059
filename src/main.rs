//! forkexec: the static sandbox exec helper.
//!
//! A runtime spawns this binary, writes a spec (wire format v1, `crates/spec`) on fd 3, and the
//! helper turns itself into the target: every step below is a raw syscall. When a step fails it
//! writes an error record `(location, errno, index)` on the status fd, runs nothing, and exits
//! 125 (126 / 127 for execve's EACCES / ENOENT). Success is EOF on the close-on-exec status fd.
#![no_std]
#![warn(missing_docs)]
#![no_main]

mod block;
mod cgroup;
mod cli;
mod clone;
mod dumpable;
mod exec;
mod fds;
mod hold;
mod ids;
mod info;
mod init;
mod install;
mod landlock;
mod lifeline;
mod limits;
mod mounts;
mod ns;
mod privs;
mod report;
mod rt;
mod seccomp;
mod serve;
mod session;
mod spec_in;
mod supervise;
mod sync;
mod sys;
mod trace;

use core::convert::Infallible;

use forkexec_spec::{Shape, Spec};

pub use forkexec_helper_core::text;

const SIGPIPE: u32 = linux_raw_sys::general::SIGPIPE;

pub use report::{status_exit, At, Failure};

/// The helper's own fds: where records go, where sync answers come from, what to execute.
/// The fd stage may move them out of the target's way.
#[derive(Clone, Copy)]
pub struct Channel {
    /// How the helper names itself in an error line on stderr (`argv[0]`'s last part).
    pub name: &'static [u8],
    /// The spec, once read: an error line on stderr names what the failure's index refers to.
    pub spec: Option<&'static Spec<'static>>,
    /// The parent this process must have for die-with-parent's check, when getppid can tell.
    pub parent: Option<i32>,
    /// After a clone: the target's end of the handshake with the supervisor.
    pub handshake: Option<i32>,
    /// With LOCK_FILE: the target's end of the socket it asks init for the locks on.
    pub lock: Option<i32>,
    /// Init's child outside a new pid namespace: it dies with init (`PR_SET_PDEATHSIG`), as
    /// pid 2 would with pid 1.
    pub dies_with_init: bool,
    /// The fd the status records go to (the spec socket, or STATUS_FD).
    pub status: i32,
    /// Decided once, so a seccomp filter only has to allow the one call that writes records.
    pub status_is_socket: bool,
    /// The status fd is open read-only: nobody reads records (forkexec-run executing the
    /// helper in its own place). Records are dropped, and an error becomes a stderr line.
    pub status_unread: bool,
    /// The fd the runtime's answer to a sync record is read from.
    pub sync_in: i32,
    /// The fd to execute (EXEC_FD, after the fd stage moved it), if any.
    pub exec_fd: Option<i32>,
    /// SIGPIPE is ignored during setup (a status pipe with no reader is then EPIPE, exit 125
    /// with the record on stderr, not death by signal); whether the runtime had it ignored,
    /// so that the target gets the disposition it would have had.
    pub sigpipe_was_ignored: bool,
    /// Set when SIGPIPE is restored for the target and the status fd is a pipe nobody reads:
    /// a failure after that (execve) goes to stderr only, so it still exits 125/126/127.
    pub status_has_no_reader: bool,
}

impl Channel {
    /// Status records go to `fd`. A socket is never read-only (no fcntl asks then).
    fn set_status(&mut self, fd: i32) {
        self.status = fd;
        self.status_is_socket = sys::is_socket(fd);
        self.status_unread = !self.status_is_socket && sys::is_read_only(fd);
    }
}

/// Entry from `_start`: `sp` points at argc, then argv, NULL, envp.
extern "C" fn main(sp: *const usize) -> ! {
    let sigpipe_was_ignored = sys::set_signal_action(SIGPIPE, true).unwrap_or(false);
    let mode = cli::mode(sp);
    let (cli::Mode::Spec(spec_fd) | cli::Mode::Serve(spec_fd)) = mode;
    let mut chan = Channel {
        name: cli::program_name(sp),
        spec: None,
        parent: Some(sys::getppid()),
        handshake: None,
        lock: None,
        dies_with_init: false,
        status: spec_fd,
        status_is_socket: false,
        status_unread: false,
        sync_in: spec_fd,
        exec_fd: None,
        sigpipe_was_ignored,
        status_has_no_reader: false,
    };
    chan.set_status(spec_fd);
    // Before anything else: refuse a setuid/setgid/file-capability install, and become
    // non-dumpable for the whole setup.
    let ids = match install::refuse_privileged(sp) {
        Ok(ids) => ids,
        Err(failure) => report::fail(&chan, failure),
    };
    if let Err(failure) = dumpable::off_at_start() {
        report::fail(&chan, failure);
    }
    let served = matches!(mode, cli::Mode::Serve(_));
    let storage = spec_in::storage(); // before the fork server's first fork
    if served {
        serve_runs(spec_fd, &mut chan); // returns in a run's child, on its channel
    }
    let (spec, shape) = match spec_in::read_and_validate(chan.sync_in, storage, ids) {
        Ok(read) => read,
        Err(failure) => report::fail(&chan, failure),
    };
    if served {
        if let Err(failure) = serve::announce(spec, shape, &mut chan) {
            report::fail(&chan, failure);
        }
    }
    let spec: &'static Spec<'static> = spec;
    chan.spec = Some(spec);
    if let Some(fd) = spec.status_fd {
        chan.set_status(fd as i32);
    }
    chan.exec_fd = spec.exec_fd.map(|fd| fd as i32);
    let outcome = match shape {
        Shape::InPlace => exec_in_place(spec, &mut chan),
        _ => exec_cloned(spec, shape, &mut chan),
    };
    match outcome {
        Err(failure) => report::fail(&chan, failure),
    }
}

/// The fork server's loop, out of `main`: its frame is a stack page of every one-shot run
/// otherwise (a page fault each, and another in the clone).
#[inline(never)]
fn serve_runs(sock: i32, chan: &mut Channel) {
    serve::serve(sock, chan)
}

/// Exec in place: the runtime's child becomes the target.
fn exec_in_place(spec: &Spec<'static>, chan: &mut Channel) -> Result<Infallible, Failure> {
    lifeline::arm(spec, chan, 0)?; // die with the runtime
    cgroup::enter_in_place(spec)?; // cgroup.procs
    ns::join_namespaces(spec)?; // setns: the user namespace
    ns::unshare_namespaces(spec)?; // unshare, setgroups "deny", uid_map, gid_map
    info::report_start(spec, None)?; // bubblewrap's info fd
    run(spec, chan)
}

/// The clone shapes: the helper stays behind (supervise, init) or leaves (detach); the
/// target goes on with `run`.
fn exec_cloned(
    spec: &'static Spec<'static>,
    shape: Shape,
    chan: &mut Channel,
) -> Result<Infallible, Failure> {
    lifeline::arm(spec, chan, 0)?; // the helper dies with the runtime
    ns::join_namespaces(spec)?; // setns: the user and pid namespaces, before the clone
    clone::into_namespaces(spec, shape, chan, run) // clone3 with the namespaces, maps from outside
}

/// The chain after the namespaces, in go-sandbox's order. Each stage reports the locations it can fail at; only
/// `exec` returns, and only with a failure.
fn run(spec: &Spec<'static>, chan: &mut Channel) -> Result<Infallible, Failure> {
    ns::loopback_up(spec)?; // lo up in the new network namespace (bubblewrap's --unshare-net)
    ids::set_credential(spec)?; // keep caps, setgroups, setgid, setuid
    lifeline::rearm_after_ids(spec, chan)?; // an id change clears the parent-death signal
    fds::map_files(spec, chan)?; // two-pass dup3, everything else close-on-exec
    session::new_session(spec)?; // setsid, controlling tty, session keyring
    mounts::mount_and_pivot(spec)?; // private /, mounts, pivot_root, read-only /
    ns::after_mounts(spec)?; // sethostname, setdomainname, a second or nested user namespace
    mounts::enter_work_dir(spec)?; // chdir
    hold::take_locks(chan)?; // init takes the LOCK_FILE locks in the sandbox
    limits::set_rlimits(spec)?; // prlimit64
    privs::set_no_new_privs(spec)?; // PR_SET_NO_NEW_PRIVS
    landlock::restrict(spec)?; // Landlock: paths, TCP ports, scopes
    privs::set_caps_unless_deferred(spec)?; // bounding, capset, ambient (or drop all)
    sync::sync_point(spec, chan)?; // sync record and answer, cgroup namespace after sync
    trace::trace_me(spec)?; // PTRACE_TRACEME
    trace::stop_before_seccomp(spec)?; // SIGSTOP for the tracer
    seccomp::load_filter(spec, chan)?; // SIGPIPE as it was, the filter: last before execve
    Err(exec::exec(spec, chan))
}
