//! [`Runner`]: go-sandbox's `Runner`, run by spawning the helper.
//!
//! # How `start` talks to the helper
//!
//! 1. The spec is encoded and checked by the helper's own decoder (so a bad spec fails here,
//!    before any process exists).
//! 2. A close-on-exec `socketpair` is made; the helper is spawned with `--spec-fd N`, where
//!    `N` is its end, the way `posix_spawn` spawns (libc's, which is
//!    `clone(CLONE_VM | CLONE_VFORK)` + `execve`: no `fork` copying this process, nothing
//!    allocated after the clone; argv, file actions and attributes are built before). Its file
//!    actions clear close-on-exec, in the child only, on that end, the `files`, `exec_file`,
//!    `status_fd`, `cgroup_fd` and the mount operations' fds (`source_fd`, `content_fd`), so
//!    they reach the helper with their numbers while processes spawned concurrently by other
//!    threads inherit none of them. A mount operation's fd that the
//!    target's fd table would replace (`fd < files.len()` and `files[fd] != fd`: the helper
//!    uses it after setting up that table, and refuses it) is first duplicated to a free
//!    number at or above `files.len()`, and the helper is given the copy's number.
//! 3. The whole spec is written to the socket, then 32-byte status records are read until
//!    end of stream: an **error** record fails the start; a **sync** record calls the sync
//!    callback and answers with one byte; a **pid** record names the target. End of stream
//!    with no error record means `execve` closed the helper's (close-on-exec) end: the target
//!    runs.
//!
//! End of stream cannot by itself tell a successful exec from a helper that died without a
//! record (a crash, or being killed): the exec'd target may itself have ended by the time
//! anyone looks, so no check afterwards can tell them apart either. As in go-sandbox, end of
//! stream is success, and such a death shows up in [`Process::wait`] (exit status 125, or the
//! signal). The exception is a helper that hung up before it had the whole spec (or its sync
//! answer): it cannot have executed anything, so `start` reaps it and reports
//! [`Error::Helper`] with its exit status.
//!
//! On every failure path the helper is killed (if still running) and reaped, so a failed
//! `start` leaves neither a process nor a zombie behind; the same happens if the sync
//! callback panics. In the detach shape the target is this process's child from the pid
//! record on, and is killed and reaped the same way.
//!
//! In the clone shapes the sync callback gets the pid record's pid (the target's pid here;
//! with init, init's), not the pid in the sync record, which is the one inside the target's
//! pid namespace (1 in a new one).
//!
//! A helper told to stop itself before exec (`stop_before_seccomp`, implied by `ptrace` with
//! `seccomp`) would never reach end of stream while `start` waited for it, since only the
//! caller, as its tracer, can let it go on. For such specs `start` returns once the spec is
//! written and the sync record (which comes before the stop) answered, and
//! [`Process::finish_start`] reads the rest of the stream after the tracer has resumed the
//! helper, as go-sandbox's `Start` returns early for ptrace.

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

use forkexec_spec::Shape;

pub(crate) use crate::encode::shape_of;
use crate::error::{BoxError, Error};
use crate::helper::find_helper;
use crate::names::{Namespace, Resource};
use crate::process::{Process, WaitStatus};
use crate::spec::{Credential, IdMap, MountEntry, Rlimit, SockFilter, Spec};
pub use crate::status::SyncFunc;
use crate::status::{helper_error, Spawned, Stream};

mod in_place;
use crate::sys;

/// The spawn hook: called with the helper's pid once it is spawned, before it is sent the
/// spec (so before it has done anything: it is waiting for the spec). `Err` kills it.
pub type SpawnFunc = Box<dyn FnOnce(u32) -> Result<(), BoxError> + Send>;

/// A sandboxed program to start: the [`Spec`] plus what only a live runtime has (the sync
/// callback, where the helper binary is).
///
/// ```no_run
/// use forkexec_client::{Mount, Namespace, Resource, Runner};
///
/// let mut process = Runner::new(["/bin/true"])
///     .files([0, 1, 2])
///     .clone_flags([Namespace::NewNs, Namespace::NewUser])
///     .rlimit(Resource::Nofile, 64, 64)
///     .start()?;
/// let status = process.wait()?;
/// println!("{status}, {:?} user time", status.rusage.user_time);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Runner {
    /// Everything the helper is told.
    pub spec: Spec,
    sync_func: Option<SyncFunc>,
    on_spawn: Option<SpawnFunc>,
    helper: Option<PathBuf>,
}

impl fmt::Debug for Runner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runner")
            .field("spec", &self.spec)
            .field("sync_func", &self.sync_func.as_ref().map(|_| "FnOnce(u32)"))
            .field("on_spawn", &self.on_spawn.as_ref().map(|_| "FnOnce(u32)"))
            .field("helper", &self.helper)
            .finish()
    }
}

impl Runner {
    /// [`Runner::new`] with forkexec-run's safe defaults (docs/cli.md, "Safe defaults"): every
    /// capability dropped, `no_new_privs`, a new session keyring. `new` and the spec keep
    /// go-sandbox's zero values; each default here is turned off by its builder method
    /// (`drop_caps(false)`, `no_new_privs(false)`, `new_session_keyring(false)`).
    pub fn safe<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Runner::new(args)
            .drop_caps(true)
            .no_new_privs(true)
            .new_session_keyring(true)
    }

    /// Runs `args` (`args[0]` is the file executed, as given: no `PATH` search). The target
    /// gets an empty environment and keeps only fds 0, 1 and 2 unless told otherwise.
    pub fn new<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Runner::from_spec(Spec::new(args))
    }

    /// Runs a spec as it is (e.g. one read with [`Spec::from_json`]).
    pub fn from_spec(spec: Spec) -> Self {
        Runner {
            spec,
            sync_func: None,
            on_spawn: None,
            helper: None,
        }
    }

    /// The target's environment (`KEY=value`).
    pub fn env<I, S>(mut self, env: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.spec.env = env.into_iter().map(Into::into).collect();
        self
    }

    /// The target's fds: target fd `i` = this process's fd `files[i]`, or closed for -1.
    pub fn files(mut self, files: impl IntoIterator<Item = RawFd>) -> Self {
        self.spec.files = files.into_iter().collect();
        self
    }

    /// Namespaces to unshare.
    pub fn clone_flags(mut self, flags: impl IntoIterator<Item = Namespace>) -> Self {
        self.spec.clone_flags = flags.into_iter().collect();
        self
    }

    /// Adds a mount: a raw [`Mount`](crate::Mount) or a [`MountOp`](crate::MountOp) (needs
    /// [`Namespace::NewNs`]).
    pub fn mount(mut self, mount: impl Into<MountEntry>) -> Self {
        self.spec.mounts.push(mount.into());
        self
    }

    /// Adds mounts ([`Mount`](crate::Mount)s or [`MountOp`](crate::MountOp)s), in order.
    pub fn mounts(mut self, mounts: impl IntoIterator<Item = impl Into<MountEntry>>) -> Self {
        self.spec.mounts.extend(mounts.into_iter().map(Into::into));
        self
    }

    /// Leave the new root writable (by default it is remounted read-only after
    /// `pivot_root`). Needs [`Runner::pivot_root`].
    pub fn writable_root(mut self, on: bool) -> Self {
        self.spec.writable_root = on;
        self
    }

    /// Adds a resource limit ([`crate::RLIM_INFINITY`] for none).
    pub fn rlimit(mut self, resource: Resource, cur: u64, max: u64) -> Self {
        self.spec.rlimits.push(Rlimit::new(resource, cur, max));
        self
    }

    /// The working directory (inside the new root with `pivot_root`).
    pub fn work_dir(mut self, dir: impl Into<String>) -> Self {
        self.spec.work_dir = dir.into();
        self
    }

    /// The seccomp filter, loaded as the last step before `execve` (replacing any filters
    /// given before). It must allow what the helper still does after it: `write` (an error
    /// record), `exit_group`, `execve`/`execveat`.
    pub fn seccomp(mut self, filter: impl IntoIterator<Item = SockFilter>) -> Self {
        self.spec.seccomp = vec![filter.into_iter().collect()];
        self
    }

    /// One more seccomp filter, loaded after those given before (stacked, as bubblewrap's
    /// `--add-seccomp-fd`): each filter but the last must allow `prctl`, the call that loads
    /// the next one.
    pub fn add_seccomp(mut self, filter: impl IntoIterator<Item = SockFilter>) -> Self {
        self.spec.seccomp.push(filter.into_iter().collect());
        self
    }

    /// The new root (needs [`Namespace::NewNs`]).
    pub fn pivot_root(mut self, root: impl Into<String>) -> Self {
        self.spec.pivot_root = root.into();
        self
    }

    /// Host name (needs [`Namespace::NewUts`]).
    pub fn host_name(mut self, name: impl Into<String>) -> Self {
        self.spec.host_name = name.into();
        self
    }

    /// NIS domain name (needs [`Namespace::NewUts`]).
    pub fn domain_name(mut self, name: impl Into<String>) -> Self {
        self.spec.domain_name = name.into();
        self
    }

    /// uid map of the new user namespace (needs [`Namespace::NewUser`]).
    pub fn uid_mappings(mut self, maps: impl IntoIterator<Item = IdMap>) -> Self {
        self.spec.uid_mappings = maps.into_iter().collect();
        self
    }

    /// gid map of the new user namespace (needs [`Namespace::NewUser`]).
    pub fn gid_mappings(mut self, maps: impl IntoIterator<Item = IdMap>) -> Self {
        self.spec.gid_mappings = maps.into_iter().collect();
        self
    }

    /// The user and groups to become.
    pub fn credential(mut self, credential: Credential) -> Self {
        self.spec.credential = Some(credential);
        self
    }

    /// Calls `f` with the target's pid right before exec and runs the target only if it
    /// returns `Ok` (go-sandbox's `SyncFunc`, e.g. to put the pid into a cgroup). Sets
    /// `spec.sync`.
    pub fn sync_func<F, E>(mut self, f: F) -> Self
    where
        F: FnOnce(u32) -> Result<(), E> + Send + 'static,
        E: Into<BoxError>,
    {
        self.spec.sync = true;
        self.sync_func = Some(Box::new(move |pid| f(pid).map_err(Into::into)));
        self
    }

    /// Calls `f` with the helper's pid right after it is spawned, before it is sent the spec:
    /// nothing of the sandbox exists yet, and everything the helper starts (init, the target)
    /// will be its descendant. `Err` aborts the start ([`Error::Spawn`]). Used to place the
    /// helper into cgroup v1 hierarchies ([`crate::cgroup::Cgroup::place`]), which have no
    /// `CLONE_INTO_CGROUP`; and by forkexec-run to learn whom to signal when a start hangs
    /// (SIGTERM or SIGINT to the helper before the target executes aborts the start in every
    /// shape: in place the helper dies of it, a supervising helper kills the target and
    /// reports `supervise(3)` EINTR).
    pub fn on_spawn<F, E>(mut self, f: F) -> Self
    where
        F: FnOnce(u32) -> Result<(), E> + Send + 'static,
        E: Into<BoxError>,
    {
        self.on_spawn = Some(Box::new(move |pid| f(pid).map_err(Into::into)));
        self
    }

    /// Clone shape with `CLONE_PARENT`: the target becomes this process's own child and the
    /// helper exits once it has reported the pid (ptrace with a new pid namespace needs it).
    pub fn detach(mut self, on: bool) -> Self {
        self.spec.detach = on;
        self
    }

    /// With a new pid namespace: pid 1 is the helper's minimal init, the target pid 2.
    pub fn init(mut self, on: bool) -> Self {
        self.spec.init = on;
        self
    }

    /// With `init`: pid 1 drops its capabilities, takes the seccomp filter and becomes
    /// dumpable, as bubblewrap's init does ([`Spec::dumpable_init`]).
    pub fn dumpable_init(mut self, on: bool) -> Self {
        self.spec.dumpable_init = on;
        self
    }

    /// With `init`: the helper ends once init reports the program's end, without waiting for
    /// init's own exit, as bubblewrap does ([`Spec::no_wait_init`]).
    pub fn no_wait_init(mut self, on: bool) -> Self {
        self.spec.no_wait_init = on;
        self
    }

    /// With `newnet`: `lo` up in the new network namespace, as bubblewrap's `--unshare-net`
    /// (127.0.0.1 and ::1 work inside). Off by default.
    pub fn loopback(mut self, on: bool) -> Self {
        self.spec.loopback = on;
        self
    }

    /// The program cannot create user namespaces; needs a new user namespace
    /// ([`Spec::disable_userns`]).
    pub fn disable_userns(mut self, on: bool) -> Self {
        self.spec.disable_userns = on;
        self
    }

    /// Fail the start if the program could create a user namespace
    /// ([`Spec::assert_userns_disabled`]).
    pub fn assert_userns_disabled(mut self, on: bool) -> Self {
        self.spec.assert_userns_disabled = on;
        self
    }

    /// SIGKILL the helper and the target when the thread that called `start` exits.
    pub fn die_with_parent(mut self, on: bool) -> Self {
        self.spec.die_with_parent = on;
        self
    }

    /// A fresh session keyring for the target ([`Spec::new_session_keyring`]).
    pub fn new_session_keyring(mut self, on: bool) -> Self {
        self.spec.new_session_keyring = on;
        self
    }

    /// bubblewrap's modes for the parent directories mount operations make
    /// ([`Spec::parents_from_mode`]).
    pub fn parents_from_mode(mut self, on: bool) -> Self {
        self.spec.parents_from_mode = on;
        self
    }

    /// Place the target in this cgroup (v2) directory before it runs anything.
    pub fn cgroup(mut self, path: impl Into<String>) -> Self {
        self.spec.cgroup = path.into();
        self
    }

    /// Place the target in the cgroup (v2) directory open on this fd.
    pub fn cgroup_fd(mut self, fd: RawFd) -> Self {
        self.spec.cgroup_fd = Some(fd);
        self
    }

    /// Keep these capabilities ([`crate::Caps`]) instead of dropping them all.
    pub fn caps(mut self, caps: crate::Caps) -> Self {
        self.spec.caps = Some(caps);
        self
    }

    /// Join existing namespaces ([`crate::JoinNs`]).
    pub fn join_ns(mut self, join: crate::JoinNs) -> Self {
        self.spec.join_ns = Some(join);
        self
    }

    /// Write bubblewrap's `--info-fd` JSON (the target's pid, its namespace ids) to this fd.
    pub fn info_fd(mut self, fd: RawFd) -> Self {
        self.spec.info_fd = Some(fd);
        self
    }

    /// Write bubblewrap's `--json-status-fd` JSON lines (the start, then the exit code) to
    /// this fd; the helper then supervises the target.
    pub fn json_status_fd(mut self, fd: RawFd) -> Self {
        self.spec.json_status_fd = Some(fd);
        self
    }

    /// Init takes a read lock on this absolute path (inside the sandbox) and holds it while
    /// it lives (bubblewrap's `--lock-file`); needs [`Runner::init`].
    pub fn lock_file(mut self, path: impl Into<String>) -> Self {
        self.spec.lock_files.push(path.into());
        self
    }

    /// Init keeps this fd open while it lives (bubblewrap's `--sync-fd`); needs
    /// [`Runner::init`].
    pub fn sync_fd(mut self, fd: RawFd) -> Self {
        self.spec.sync_fd = Some(fd);
        self
    }

    /// The target waits for a byte (or EOF) on this fd after its mounts, before it runs
    /// (bubblewrap's `--block-fd`).
    pub fn block_fd(mut self, fd: RawFd) -> Self {
        self.spec.block_fd = Some(fd);
        self
    }

    /// The helper waits for a byte (or EOF) on this fd once the target's new user namespace
    /// exists, before the target goes on; the id maps are another process's to write
    /// (bubblewrap's `--userns-block-fd`).
    pub fn userns_block_fd(mut self, fd: RawFd) -> Self {
        self.spec.userns_block_fd = Some(fd);
        self
    }

    /// `PTRACE_TRACEME` before exec; this process becomes the tracer.
    pub fn ptrace(mut self, on: bool) -> Self {
        self.spec.ptrace = on;
        self
    }

    /// `PR_SET_NO_NEW_PRIVS` (implied by a seccomp filter).
    pub fn no_new_privs(mut self, on: bool) -> Self {
        self.spec.no_new_privs = on;
        self
    }

    /// `SIGSTOP` right before loading seccomp, for a tracer (implied by ptrace + seccomp).
    pub fn stop_before_seccomp(mut self, on: bool) -> Self {
        self.spec.stop_before_seccomp = on;
        self
    }

    /// Leave `setgroups` allowed in the new user namespace.
    pub fn gid_mappings_enable_setgroups(mut self, on: bool) -> Self {
        self.spec.gid_mappings_enable_setgroups = on;
        self
    }

    /// Clear every capability set before exec.
    pub fn drop_caps(mut self, on: bool) -> Self {
        self.spec.drop_caps = on;
        self
    }

    /// Unshare the cgroup namespace after the sync point.
    pub fn unshare_cgroup_after_sync(mut self, on: bool) -> Self {
        self.spec.unshare_cgroup_after_sync = on;
        self
    }

    /// Make fd 0 the controlling terminal (needs `setsid`).
    pub fn ctty(mut self, on: bool) -> Self {
        self.spec.ctty = on;
        self
    }

    /// Start a new session (default `true`).
    pub fn setsid(mut self, on: bool) -> Self {
        self.spec.setsid = on;
        self
    }

    /// Execute this fd of this process instead of a path (`execveat` with `AT_EMPTY_PATH`).
    pub fn exec_file(mut self, fd: RawFd) -> Self {
        self.spec.exec_file = Some(fd);
        self
    }

    /// Execute this file instead of `args[0]`.
    pub fn exec_path(mut self, path: impl Into<String>) -> Self {
        self.spec.exec_path = Some(path.into());
        self
    }

    /// Use this helper binary instead of looking for one ([`crate::find_helper`]).
    pub fn helper(mut self, path: impl Into<PathBuf>) -> Self {
        self.helper = Some(path.into());
        self
    }

    /// The helper binary `start` would run: [`Runner::helper`] if set, else
    /// [`crate::find_helper`].
    pub fn find_helper(&self) -> io::Result<PathBuf> {
        match &self.helper {
            Some(path) => Ok(path.clone()),
            None => find_helper(),
        }
    }

    /// What a fork server's run takes from this runner: the spec and the sync callback
    /// ([`crate::Server::run`]; the spawn hook and the helper path are the server's).
    pub(crate) fn into_served(self) -> (Spec, Option<SyncFunc>) {
        (self.spec, self.sync_func)
    }

    /// Starts the program and waits for it to end: [`Runner::start`] then [`Process::wait`].
    /// When nothing needs the records of the start (no sync callback, no stop before exec,
    /// not detach, no `status_fd`), the spec asks the helper for only the end records
    /// ([`Spec::only_end_records`]): a supervising helper then does not wake this process at
    /// the target's exec, and the stream is read once, when the helper has ended.
    pub fn run(mut self) -> Result<WaitStatus, Error> {
        let spec = &self.spec;
        let needs_start = self.sync_func.is_some()
            || spec.sync
            || spec.stops_before_exec()
            || spec.detach
            || spec.status_fd.is_some();
        if !needs_start {
            self.spec.only_end_records = true;
        }
        self.start()?.wait().map_err(Error::Helper)
    }

    /// Spawns the helper, hands it the spec and answers its status records until the target
    /// is executed (see the module docs). Safe to call from several threads at once.
    ///
    /// When the helper is to stop itself before exec ([`Spec::stops_before_exec`]), only the
    /// caller, as the tracer, can let it go on: `start` then returns once the spec is written
    /// (and the sync answered), and [`Process::finish_start`] reads the rest of the stream.
    pub fn start(mut self) -> Result<Process, Error> {
        if self.spec.status_fd.is_some() && self.spec.sync {
            // The records, sync included, would go to that fd, which this client does not read.
            return Err(Error::Helper(io::Error::new(
                io::ErrorKind::InvalidInput,
                "status_fd with sync: the sync record would go to status_fd, which start() \
                 does not read; answer it yourself or drop status_fd",
            )));
        }
        // Copies of mount-operation fds the target's fd table would replace; they stay open
        // until the helper is spawned.
        let copies = remap_mount_fds(&mut self.spec).map_err(Error::Helper)?;
        let (spec, shape) = self.spec.encode_shaped()?;
        let path = self.find_helper().map_err(Error::Helper)?;
        let mut keep = inherited_fds(&self.spec).map_err(Error::Helper)?;

        let (ours, theirs) = sys::socketpair().map_err(|e| helper_error(e, "socketpair"))?;
        keep.push(theirs.as_raw_fd());
        // Everything the spawn needs is built first: nothing is allocated between the
        // clone and the helper's execve.
        let spec_fd = theirs.as_raw_fd().to_string();
        let args = [OsStr::new("--spec-fd"), OsStr::new(&spec_fd)];
        let cannot_run = |e| helper_error(e, &format!("cannot run {}", path.display()));
        let pid = sys::Spawn::new(&path, &args, &keep)
            .and_then(|spawn| spawn.spawn())
            .map_err(cannot_run)?;
        // From here on `Spawned` owns the pid: it kills and reaps on every failure path;
        // `Process::wait` uses wait4 for the rusage.
        let mut helper = Spawned::new(pid, path);
        drop(theirs);
        drop(copies);

        if let Some(hook) = self.on_spawn.take() {
            hook(helper.pid).map_err(Error::Spawn)?;
        }
        let mut stream = Stream::new(ours, self.sync_func.take());
        stream.send(&spec, "writing the spec")?;
        let pid = helper.pid;
        if shape == Shape::Detach {
            let stops = self.spec.stops_before_exec();
            return start_detached(helper, stream, stops, self.spec.sync);
        }
        if self.spec.stops_before_exec() {
            // The sync point comes before the stop.
            let target_pid = if self.spec.sync {
                stream.through_sync(&mut helper, pid)?
            } else {
                pid
            };
            helper.armed = false;
            return Ok(Process::pending(
                target_pid,
                std::mem::take(&mut helper.path),
                stream,
            ));
        }
        let target_pid = stream.finish(&mut helper, pid)?;
        match shape {
            Shape::InPlace => {
                helper.armed = false;
                Ok(Process::new(pid, target_pid))
            }
            Shape::Detach => unreachable!("started by start_detached"),
            // The helper supervises: waiting for it is waiting for the target, and its exit
            // record (read by `wait`) has the target's own status and usage.
            Shape::Supervise | Shape::Init => {
                helper.armed = false;
                Ok(Process::supervised(pid, target_pid, stream))
            }
        }
    }
}

/// Detach: the helper exits right after the pid record (or after an error record), and from
/// that record on the target is this process's own child, so every failure path kills and
/// reaps it too: nothing else would.
fn start_detached(
    mut helper: Spawned,
    mut stream: Stream,
    stops: bool,
    sync: bool,
) -> Result<Process, Error> {
    let pid = helper.pid;
    let target_pid = stream.through_pid(&mut helper, pid)?;
    let mut target = Spawned::new(target_pid, helper.path.clone());
    if stops {
        // The sync point comes before the stop, the rest is read by `finish_start`.
        if sync {
            stream.through_sync(&mut target, target_pid)?;
        }
        if let Err(e) = reap_detached(&mut helper) {
            // Its error record (the maps, say), if it wrote one, says more.
            target.kill_and_reap();
            return Err(match stream.finish(&mut target, target_pid) {
                Err(child @ Error::Child(_)) => child,
                _ => e,
            });
        }
        target.armed = false;
        let path = std::mem::take(&mut target.path);
        return Ok(Process::pending(target_pid, path, stream));
    }
    let finished = stream.finish(&mut target, target_pid);
    let reaped = reap_detached(&mut helper);
    let target_pid = finished?;
    reaped?;
    target.armed = false;
    Ok(Process::new(target_pid, target_pid))
}

/// Reaps a detaching helper, which exits right after reporting the target's pid.
fn reap_detached(helper: &mut Spawned) -> Result<(), Error> {
    let status = helper
        .reap()
        .map_err(|e| helper_error(e, "waiting for the helper"))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Helper(io::Error::other(format!(
            "{} ended ({status}) after starting a detached target",
            helper.describe()
        ))))
    }
}

/// The fds of mount operations (`mounts[i].source_fd` / `content_fd`), named.
fn mount_op_fds(spec: &Spec) -> impl Iterator<Item = (String, RawFd)> + '_ {
    spec.mounts.iter().enumerate().flat_map(|(i, entry)| {
        let op = entry.as_op();
        let source = op.and_then(|op| op.source_fd);
        let content = op.and_then(|op| op.content_fd);
        source
            .map(|fd| (format!("mounts[{i}].source_fd"), fd))
            .into_iter()
            .chain(content.map(|fd| (format!("mounts[{i}].content_fd"), fd)))
    })
}

fn not_open(field: &str, fd: RawFd) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("cannot pass {field} (fd {fd}): not an open fd of this process"),
    )
}

/// The helper uses a mount operation's fd after it has set up the target's fd table, so it
/// refuses one that the table replaces (`fd < files.len()` and `files[fd] != fd`). Such an fd
/// is duplicated here to the lowest free number at or above `files.len()` (close-on-exec, so
/// only this start's helper inherits it), and the spec is given the copy's number. The copies
/// are returned, to be closed once the helper is spawned.
pub(crate) fn remap_mount_fds(spec: &mut Spec) -> io::Result<Vec<OwnedFd>> {
    let files = spec.files.clone();
    let replaced = |fd: RawFd| fd >= 0 && (fd as usize) < files.len() && files[fd as usize] != fd;
    let mut copies: Vec<(RawFd, OwnedFd)> = Vec::new();
    for (i, entry) in spec.mounts.iter_mut().enumerate() {
        let MountEntry::Op(op) = entry else {
            continue;
        };
        for (key, slot) in [
            ("source_fd", &mut op.source_fd),
            ("content_fd", &mut op.content_fd),
        ] {
            let Some(fd) = slot.filter(|&fd| replaced(fd)) else {
                continue;
            };
            let copy = match copies.iter().find(|(old, _)| *old == fd) {
                Some((_, copy)) => copy.as_raw_fd(),
                None => {
                    if !sys::fd_is_open(fd) {
                        return Err(not_open(&format!("mounts[{i}].{key}"), fd));
                    }
                    let copy = sys::dup_at_least(fd, files.len() as RawFd)?;
                    let raw = copy.as_raw_fd();
                    copies.push((fd, copy));
                    raw
                }
            };
            *slot = Some(copy);
        }
    }
    Ok(copies.into_iter().map(|(_, copy)| copy).collect())
}

/// JOIN_NS's fds, named as in the JSON form.
fn join_ns_fds(spec: &Spec) -> Vec<(String, RawFd)> {
    let Some(j) = spec.join_ns else {
        return Vec::new();
    };
    [("user", j.user), ("pid", j.pid), ("user2", j.user2)]
        .into_iter()
        .filter_map(|(key, fd)| fd.map(|fd| (format!("join_ns.{key}"), fd)))
        .collect()
}

/// The fds of this process the helper must inherit with their numbers, checked to be open
/// (a closed one would otherwise surface as a bare EBADF from the spawn).
pub(crate) fn inherited_fds(spec: &Spec) -> io::Result<Vec<RawFd>> {
    let files = spec.files.iter().enumerate();
    let named = files
        .filter(|(_, fd)| **fd >= 0)
        .map(|(i, &fd)| (format!("files[{i}]"), fd))
        .chain(spec.exec_file.map(|fd| ("exec_file".to_owned(), fd)))
        .chain(spec.status_fd.map(|fd| ("status_fd".to_owned(), fd)))
        .chain(spec.cgroup_fd.map(|fd| ("cgroup_fd".to_owned(), fd)))
        .chain(spec.info_fd.map(|fd| ("info_fd".to_owned(), fd)))
        .chain(
            spec.json_status_fd
                .map(|fd| ("json_status_fd".to_owned(), fd)),
        )
        .chain(join_ns_fds(spec))
        .chain(spec.sync_fd.map(|fd| ("sync_fd".to_owned(), fd)))
        .chain(spec.block_fd.map(|fd| ("block_fd".to_owned(), fd)))
        .chain(
            spec.userns_block_fd
                .map(|fd| ("userns_block_fd".to_owned(), fd)),
        )
        .chain(mount_op_fds(spec));
    let mut fds = Vec::new();
    for (field, fd) in named {
        if !sys::fd_is_open(fd) {
            return Err(not_open(&field, fd));
        }
        fds.push(fd);
    }
    fds.sort_unstable();
    fds.dedup();
    Ok(fds)
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;

    use super::*;
    use crate::spec::MountOp;

    fn inode(fd: RawFd) -> (u64, u64) {
        let m = std::fs::metadata(format!("/proc/self/fd/{fd}")).unwrap();
        (m.dev(), m.ino())
    }

    /// A mount operation's fd that `files` would replace is handed over as a copy above the
    /// table; fds the table keeps (or does not reach) are passed as they are.
    #[test]
    fn mount_op_fds_the_table_replaces_are_copied_above_it() {
        let dir = File::open("/").unwrap();
        let file = File::open("/proc/self/status").unwrap();
        let (d, f) = (dir.as_raw_fd(), file.as_raw_fd());
        // files[d] is 0, so d would be replaced; files[f] = f keeps f (f < d or not). The
        // other entries are closed (-1): fds of other tests running in parallel come and go.
        let len = d.max(f) as usize + 1;
        let files: Vec<RawFd> = (0..len as RawFd)
            .map(|i| match i {
                _ if i == d => 0,
                _ if i == f => f,
                _ => -1,
            })
            .collect();
        let mut spec = Spec {
            files,
            mounts: vec![
                MountOp::bind_fd(d, "/a").into(),
                MountOp::file_from_fd(f, "/b").into(),
                MountOp::bind_fd(d, "/c").read_only().into(),
            ],
            ..Spec::new(["/bin/true"])
        };
        let copies = remap_mount_fds(&mut spec).unwrap();
        assert_eq!(copies.len(), 1, "one copy for the two uses of fd {d}");
        let copy = copies[0].as_raw_fd();
        assert!(copy as usize >= len, "{copy} is above the table");
        assert_eq!(inode(copy), inode(d));
        let fds: Vec<_> = spec
            .mounts
            .iter()
            .map(|m| m.as_op().unwrap().fd())
            .collect();
        assert_eq!(fds, [Some(copy), Some(f), Some(copy)]);
        // The decoder now takes it, and start would pass the copy.
        let mut named: Vec<_> = mount_op_fds(&spec).collect();
        named.sort();
        assert_eq!(
            named,
            [
                ("mounts[0].source_fd".to_owned(), copy),
                ("mounts[1].content_fd".to_owned(), f),
                ("mounts[2].source_fd".to_owned(), copy),
            ]
        );
        spec.clone_flags = vec![crate::Namespace::NewNs];
        spec.encode().unwrap();
        assert!(inherited_fds(&spec).unwrap().contains(&copy));

        // A closed fd is named.
        let mut spec = Spec {
            files: vec![0, 1, 2, 0],
            mounts: vec![MountOp::bind_fd(3, "/a").into()],
            ..Spec::new(["/bin/true"])
        };
        if !sys::fd_is_open(3) {
            let e = remap_mount_fds(&mut spec).unwrap_err();
            assert!(e.to_string().contains("mounts[0].source_fd (fd 3)"), "{e}");
        }
        let spec = Spec {
            mounts: vec![MountOp::file_from_fd(1 << 19, "/a").into()],
            ..Spec::new(["/bin/true"])
        };
        let e = inherited_fds(&spec).unwrap_err();
        assert!(
            e.to_string()
                .contains("cannot pass mounts[0].content_fd (fd 524288): not an open fd"),
            "{e}"
        );
    }
}
