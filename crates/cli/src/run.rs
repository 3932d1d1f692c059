//! Running the spec: the new root's directory, signal forwarding, start, wait, and ending the
//! way the program ended.

use std::fs::DirBuilder;
use std::io::Write;
use std::mem::MaybeUninit;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};

use forkexec_client::{Runner, Spec, WaitStatus};

use crate::{report, Fail};

/// Signals forkexec-run passes on to the program instead of dying of them.
const FORWARDED: [i32; 8] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGTERM,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGALRM,
    libc::SIGWINCH,
];

// Forwarding state, read by the signal handler (so atomics only: a handler may do nothing
// but async-signal-safe work).
/// The process forwarded signals go to; 0 until the program has started.
static TARGET_PID: AtomicI32 = AtomicI32::new(0);
/// A pidfd on it (race-free even once the process is reaped), or -1.
static TARGET_PIDFD: AtomicI32 = AtomicI32::new(-1);
/// Whether it is in forkexec-run's process group: a signal the terminal sent to the group
/// reached it already, and forwarding it would deliver it twice.
static SAME_GROUP: AtomicBool = AtomicBool::new(false);
/// Signals that came before the start (bit `sig`), and which of them the kernel sent.
static PENDING: AtomicU64 = AtomicU64::new(0);
static PENDING_FROM_KERNEL: AtomicU64 = AtomicU64::new(0);
/// The helper, from its spawn until the program has started (0 before the spawn).
static HELPER_PID: AtomicI32 = AtomicI32::new(0);
/// SIGTERM or SIGINT that came during the setup (0 if none): the start is aborted.
static ABORTED_BY: AtomicI32 = AtomicI32::new(0);

/// During the setup, these abort the start instead of waiting for the program: a setup
/// stuck on a bind source or a content fd could not be stopped by `timeout` otherwise.
fn aborts_setup(sig: i32) -> bool {
    sig == libc::SIGTERM || sig == libc::SIGINT
}

/// Passes an aborting signal to the helper (async-signal-safe: one syscall). A signal the
/// terminal sent to the whole foreground group reached it already.
fn abort_setup(sig: i32, from_kernel: bool) {
    let helper = HELPER_PID.load(Ordering::Acquire);
    if helper > 0 && !from_kernel {
        // SAFETY: kill() of our own unreaped child (the client reaps it only after `start`).
        unsafe { libc::kill(helper, sig) };
    }
}

/// Sends `sig` to the target; async-signal-safe (two syscalls).
fn send(sig: i32) {
    let pid = TARGET_PID.load(Ordering::Acquire);
    if pid <= 0 {
        return;
    }
    let pidfd = TARGET_PIDFD.load(Ordering::Acquire);
    if pidfd >= 0 {
        // SAFETY: pidfd_send_signal with a pidfd we own, no siginfo, no flags. Once the
        // process is gone it fails with ESRCH, and nothing else is signalled.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                pidfd,
                sig,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        return;
    }
    // Without pidfds (kernels before 5.3): the pid is our child and is only reaped by the
    // wait that ends forkexec-run, so it cannot be reused before then but in that instant.
    // SAFETY: kill() with a pid and a signal number.
    unsafe { libc::kill(pid, sig) };
}

extern "C" fn on_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler; errno is this
    // thread's, saved and restored around the syscalls so the interrupted code keeps its own.
    let from_kernel = !info.is_null() && unsafe { (*info).si_code } == libc::SI_KERNEL;
    let errno = unsafe { *libc::__errno_location() };
    if TARGET_PID.load(Ordering::Acquire) == 0 && aborts_setup(sig) {
        ABORTED_BY.store(sig, Ordering::Release);
        abort_setup(sig, from_kernel);
    } else if TARGET_PID.load(Ordering::Acquire) == 0 {
        PENDING.fetch_or(1 << sig, Ordering::AcqRel);
        if from_kernel {
            PENDING_FROM_KERNEL.fetch_or(1 << sig, Ordering::AcqRel);
        }
    } else if !(from_kernel && SAME_GROUP.load(Ordering::Acquire)) {
        send(sig);
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

/// Catches the forwarded signals. Handlers, not a blocked mask and a thread: the helper
/// inherits a signal mask, while caught signals are reset to their defaults by execve.
fn start_forwarding() {
    for sig in FORWARDED {
        // SAFETY: a zeroed sigaction with our handler, SA_SIGINFO | SA_RESTART (so that the
        // client's reads and wait4 go on), and an empty mask.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

/// From now on signals go to `pid`; the ones that came before are sent now.
fn attach(pid: u32) {
    let pid = pid as i32;
    // SAFETY: pidfd_open of our own unreaped child, no flags; the fd stays open for the
    // rest of the run (forkexec-run exits when the program does).
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    TARGET_PIDFD.store(
        if pidfd >= 0 { pidfd as i32 } else { -1 },
        Ordering::Release,
    );
    // SAFETY: getpgid/getpgrp only read process attributes.
    let same_group = unsafe { libc::getpgid(pid) == libc::getpgrp() };
    SAME_GROUP.store(same_group, Ordering::Release);
    TARGET_PID.store(pid, Ordering::Release);
    let pending = PENDING.swap(0, Ordering::AcqRel);
    let from_kernel = PENDING_FROM_KERNEL.swap(0, Ordering::AcqRel);
    for sig in FORWARDED {
        let bit = 1u64 << sig;
        if pending & bit != 0 && !(from_kernel & bit != 0 && same_group) {
            send(sig);
        }
    }
}

/// Makes sure the new root's mount point exists: this user's own directory (made mode 0700
/// when missing, and kept: every run mounts over it in its own mount namespace). One that is
/// not a real directory owned by this user, or is writable by others, is refused: another
/// user could otherwise swap it for a symlink between the check and the mount.
pub(crate) fn ensure_root(spec: &Spec) -> Result<(), Fail> {
    if spec.pivot_root.is_empty() {
        return Ok(());
    }
    let dir = Path::new(&spec.pivot_root);
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return match DirBuilder::new().mode(0o700).create(dir) {
                Ok(()) => Ok(()),
                // Made by a run alongside this one: check it as any other.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => ensure_root(spec),
                Err(e) => Err(Fail::setup(format!(
                    "creating the new root {}: {e}",
                    dir.display()
                ))),
            };
        }
        Err(e) => return Err(Fail::setup(format!("the new root {}: {e}", dir.display()))),
    };
    // SAFETY: geteuid has no memory effects and cannot fail.
    let euid = unsafe { libc::geteuid() };
    let why = if !meta.file_type().is_dir() {
        Some("is not a directory (a symlink is not followed)".to_string())
    } else if meta.uid() != euid && meta.uid() != 0 {
        Some(format!("belongs to uid {}, not to uid {euid}", meta.uid()))
    } else if meta.mode() & 0o022 != 0 && meta.mode() & 0o1000 == 0 {
        Some(format!(
            "is writable by others (mode {:o}) without the sticky bit",
            meta.mode() & 0o7777
        ))
    } else {
        None
    };
    match why {
        Some(why) => Err(Fail::setup(format!(
            "the new root {} {why}; remove it or set pivot_root",
            dir.display()
        ))),
        None => Ok(()),
    }
}

/// Whether forkexec-run has to stay the program's parent: when it has work after the start
/// (`--stay`, or records only it would read). Otherwise it executes the helper in its own
/// place (docs/cli.md, "Which path a command line takes"). A flag whose work comes after the
/// start (limits to enforce, a result to write, output to capture) must make it stay: add it
/// here. (The judge flags take their own path: [`crate::judge::run`] always stays.)
pub fn must_stay(stay: bool, spec: &Spec) -> bool {
    stay || spec.sync || spec.detach || spec.stops_before_exec()
}

/// Runs the spec and exits the way the program did: by executing the helper in place when
/// nothing needs forkexec-run after the start, else as the program's supervising parent.
pub fn run(spec: Spec, stay: bool, die_with_parent: bool) -> ! {
    ensure_root(&spec).unwrap_or_else(|f| f.exit());
    if !must_stay(stay, &spec) {
        let runner = Runner::from_spec(spec.clone());
        // The helper says a failure after this name: with bwrap's `--level-prefix`, after
        // its level too (`<3>bwrap: …`).
        let me = crate::program();
        let err = runner.exec_in_place(&format!("{}{}", me.prefix, me.name));
        report::failure(&err, &spec).exit();
    }
    if die_with_parent {
        // The same meaning on both paths: the sandbox dies with forkexec-run's parent (in
        // place, the helper's parent is that process).
        // SAFETY: prctl with integer arguments on this process.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    }
    start_forwarding();
    let runner = Runner::from_spec(spec.clone()).on_spawn(|pid| {
        HELPER_PID.store(pid as i32, Ordering::Release);
        // A signal that came before the spawn.
        let sig = ABORTED_BY.load(Ordering::Acquire);
        if sig != 0 {
            abort_setup(sig, false);
        }
        Ok::<(), std::io::Error>(())
    });
    let runner = crate::verbose::before_start(runner, &spec);
    let mut process = match runner.start() {
        Ok(p) => p,
        Err(e) => match ABORTED_BY.load(Ordering::Acquire) {
            0 => {
                crate::verbose::failed(&e);
                report::failure(&e, &spec).exit()
            }
            // The helper (or the supervised target) is gone and reaped: end as the signal
            // would have ended us.
            sig => {
                let _ = writeln!(
                    std::io::stderr(),
                    "forkexec-run: start aborted by signal {sig}"
                );
                TARGET_PID.store(0, Ordering::Release);
                die_of(sig)
            }
        },
    };
    crate::verbose::started(&spec, process.target_pid());
    attach(process.pid());
    let status = loop {
        match process.wait() {
            Ok(s) if s.code().is_some() || s.signal().is_some() => break s,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => Fail::setup(format!("waiting for the program: {e}")).exit(),
        }
    };
    crate::verbose::ended(&status);
    end_like(status)
}

/// Exits with the program's code, or dies of its signal (with core dumps off, so that
/// forkexec-run leaves no core of its own).
fn end_like(status: WaitStatus) -> ! {
    if let Some(code) = status.code() {
        std::process::exit(code);
    }
    let Some(sig) = status.signal() else {
        std::process::exit(125);
    };
    TARGET_PID.store(0, Ordering::Release);
    die_of(sig)
}

/// [`end_like`] for a raw wait status (a served run's, from `forkexec-run serve`).
pub(crate) fn end_like_raw(raw: i32) -> ! {
    if libc::WIFEXITED(raw) {
        std::process::exit(libc::WEXITSTATUS(raw));
    }
    if libc::WIFSIGNALED(raw) {
        die_of(libc::WTERMSIG(raw))
    }
    std::process::exit(125)
}

/// Dies of `sig` (core dumps off, so that forkexec-run leaves no core of its own).
fn die_of(sig: i32) -> ! {
    // SAFETY: plain libc calls on this process: the core limit, the signal's disposition,
    // the mask (unblocked in case the caller blocked it), and a signal to this thread
    // (raise), which its default action turns into the death of the whole process.
    unsafe {
        let mut core = libc::rlimit64 {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit64(libc::RLIMIT_CORE, &mut core) == 0 {
            core.rlim_cur = 0;
            libc::setrlimit64(libc::RLIMIT_CORE, &core);
        }
        libc::signal(sig, libc::SIG_DFL);
        let mut set = MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), sig);
        libc::sigprocmask(libc::SIG_UNBLOCK, set.as_ptr(), std::ptr::null_mut());
        libc::raise(sig);
    }
    // A signal whose default action is not to terminate (the program cannot have died of
    // one, but still): the shell's convention.
    std::process::exit(128 + sig)
}
