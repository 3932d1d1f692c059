//! Warm sandboxes: [`Sandbox`] (go-sandbox's `container`) and [`Pool`] (go-judge's pool).
//!
//! A sandbox's namespaces, root and mounts are built once: the helper is spawned with the
//! sandbox's spec, and the program it executes at the end of that chain is the helper itself
//! as a fork server (`forkexec --serve 3`, docs/spec.md "Fork server"), inside the sandbox,
//! still holding the capabilities of the sandbox's user namespace. Each [`Sandbox::run`] is
//! then one request: a fresh process forked by that server, running the same chain with the
//! run's own args, env, fds, work dir, rlimits, cgroup ([`Sandbox::run_in`]), seccomp and Landlock
//! rules, in **its own user, pid, mount and ipc namespaces** (with init, so the run's whole
//! process tree dies when its program ends: a daemon it forked included), with a fresh tmpfs
//! on each writable place ([`SandboxBuilder::writable`]: what a run writes there is gone for
//! the next), a new session keyring (its own user namespace gives it its own user keyring
//! too), every capability dropped. The sandbox's root is read-only (unless its shape asks for
//! `writable_root`), so the writable places are the only places a run can leave a file.
//! No helper code is added for this: a pooled run is an ordinary fork server request whose
//! spec the client completes (docs/design.md, "Warm sandboxes").
//!
//! ```no_run
//! use forkexec_client::{IdMap, MountOp, Namespace, Pool, Resource, Runner, Sandbox};
//!
//! // The shape: what every run shares, built once per sandbox.
//! let shape = || {
//!     let root = Runner::new(["unused"])
//!         .clone_flags([Namespace::NewUser, Namespace::NewNs, Namespace::NewPid])
//!         .uid_mappings([IdMap::new(0, 1000, 1)])
//!         .gid_mappings([IdMap::new(0, 1000, 1)])
//!         .pivot_root("/tmp/root")
//!         .mounts([MountOp::ro_bind("/usr", "/usr"), MountOp::symlink("usr/bin", "/bin")])
//!         .mount(MountOp::dev("/dev"));
//!     Sandbox::builder(root).writable("/tmp").writable("/work")
//! };
//! let pool = Pool::new(2, shape)?;
//! for _ in 0..1000 {
//!     // Each run: its own program, env, fds, work dir and limits.
//!     let run = Runner::new(["/bin/sh", "-c", "echo hi >/work/out; cat /work/out"])
//!         .env(["LANG=C"])
//!         .files([0, 1, 2])
//!         .work_dir("/work")
//!         .rlimit(Resource::Cpu, 1, 1);
//!     let status = pool.run(run)?.wait()?;
//!     assert!(status.success());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::cgroup::Cgroup;
use crate::error::Error;
use crate::names::Namespace;
use crate::process::{Process, WaitStatus};
use crate::runner::Runner;
use crate::server::{start_run, Placement, ServedProcess};
use crate::shared;
use crate::spec::{IdMap, MountEntry, MountOp};
use crate::status::helper_error;
use crate::sys;

/// How a [`Sandbox`] is built: the sandbox's own spec, and what each run gets fresh.
#[derive(Debug)]
pub struct SandboxBuilder {
    shape: Runner,
    writable: Vec<String>,
    proc_dir: String,
    shared: bool,
}

impl SandboxBuilder {
    /// A directory that every run gets as a fresh, empty tmpfs (mode 1777): `/tmp`, a work dir.
    /// The sandbox itself has a tmpfs there too, so the directory exists in its root.
    pub fn writable(mut self, dir: impl Into<String>) -> Self {
        self.writable.push(dir.into());
        self
    }

    /// Where each run gets a new proc of its own (its own pid namespace: it sees only its own
    /// processes); `/proc` by default. The sandbox has one there too: the server writes each
    /// run's id maps through it, and a run may mount a proc only where one is fully visible.
    pub fn proc(mut self, dir: impl Into<String>) -> Self {
        self.proc_dir = dir.into();
        self
    }

    /// The shared-namespace run model, asked for by name (docs/design.md, "Shared
    /// namespaces"): each run is forked by the sandbox's server straight into the sandbox's
    /// namespaces (no user, pid, mount or ipc namespace of its own: much cheaper), **one run
    /// at a time** ([`Sandbox::run`] refuses a second while one is going; a [`Pool`] gives
    /// each run an idle sandbox). The server is pid 1 of the sandbox's pid namespace (added
    /// when the shape has none); when a run's program has ended it kills and reaps every
    /// other process there (a daemon included) and mounts a fresh tmpfs on each
    /// [`SandboxBuilder::writable`] place in place of the old one, before the run's exit
    /// record. Shared by the runs and not reset: SysV ipc and POSIX message queues (a run may
    /// ask for its own `NewIpc`), the user keyrings of each uid (each run still gets a new
    /// session keyring), the network namespace (sockets die with their processes), the host
    /// name. The default per-run namespaces are the safer model.
    pub fn shared_namespaces(mut self) -> Self {
        self.shared = true;
        self
    }

    /// Builds the sandbox: spawns the helper with the sandbox's spec, whose target is the
    /// helper serving inside it. The spec's args, env, files, exec file and sync callback are
    /// the sandbox's own (replaced); a credential, `drop_caps`, `caps`, seccomp, Landlock, `detach` or
    /// `status_fd` there is refused (they belong to each run: the server needs its
    /// capabilities to build each run's namespaces).
    pub fn start(self) -> Result<Sandbox, Error> {
        let SandboxBuilder {
            shape,
            writable,
            proc_dir,
            shared,
        } = self;
        if shared {
            shared::check_places(&writable)?;
        }
        let helper = shape.find_helper().map_err(Error::Helper)?;
        let mut spec = shape.into_served().0;
        let refused = [
            (spec.credential.is_some(), "credential"),
            (spec.drop_caps, "drop_caps"),
            (spec.caps.is_some(), "caps"),
            (!spec.seccomp.is_empty(), "seccomp"),
            (spec.landlock.is_some(), "landlock"),
            (spec.detach, "detach"),
            (spec.status_fd.is_some(), "status_fd"),
            (spec.sync, "sync"),
        ];
        if let Some((_, what)) = refused.iter().find(|(set, _)| *set) {
            return Err(invalid(&format!(
                "{what}: a pooled sandbox's runs take it, not the sandbox"
            )));
        }
        let exe = File::open(&helper)
            .map_err(|e| helper_error(e, &format!("opening {}", helper.display())))?;
        let devnull = File::open("/dev/null").map_err(|e| helper_error(e, "/dev/null"))?;
        let (ours, theirs) = sys::seqpacket_pair().map_err(|e| helper_error(e, "socketpair"))?;
        spec.args = vec!["forkexec".into(), "--serve".into(), "3".into()];
        spec.env.clear();
        spec.exec_path = None;
        spec.exec_file = Some(exe.as_raw_fd());
        spec.files = vec![
            devnull.as_raw_fd(),
            devnull.as_raw_fd(),
            2,
            theirs.as_raw_fd(),
        ];
        spec.die_with_parent = true;
        if shared {
            shared::shape(&mut spec, &writable);
            shared::place_dirs(&mut spec, &writable);
        } else {
            if spec.clone_flags.contains(&Namespace::NewPid) {
                // Orphans of the sandbox's own pid namespace go to its init, not to the server.
                spec.init = true;
            }
            for dir in &writable {
                spec.mounts
                    .push(MountOp::tmpfs(dir.clone()).mode(0o1777).into());
            }
        }
        spec.mounts.push(MountOp::dir(proc_dir.clone()).into());
        if !spec.writable_root {
            // Every mount in the sandbox read-only (a /dev's tmpfs, its /dev/shm; the
            // sandbox's own tmpfs on each writable place): a run's fresh tmpfs on the
            // writable places are the only places it can leave a file in.
            spec.mounts.push(MountOp::remount_ro("/").into());
        }
        // After the read-only remount: the server writes each run's id maps through it.
        spec.mounts.push(MountOp::proc(proc_dir.clone()).into());
        if shared {
            shared::first_tmpfs(&mut spec, &writable);
        }
        let ids = RunIds {
            uid: identity(&spec.uid_mappings),
            gid: identity(&spec.gid_mappings),
        };
        let process = Runner::from_spec(spec).helper(helper).start()?;
        drop((exe, devnull, theirs));
        // The server is running: the deepest of the sandbox's processes is in its pid
        // namespace.
        let pids = SandboxPids::find(process.pid());
        Ok(Sandbox {
            sock: ours,
            pids,
            process: Mutex::new(process),
            writable,
            proc_dir,
            ids,
            shared: shared.then(shared::Busy::default),
        })
    }
}

/// A warm sandbox: its namespaces, root and mounts built once, a fork server inside running
/// one fresh process per [`Sandbox::run`]. Dropping it ends the server (every run still going
/// is killed) and reaps the sandbox's helper.
#[derive(Debug)]
pub struct Sandbox {
    sock: OwnedFd,
    pids: SandboxPids,
    process: Mutex<Process>,
    writable: Vec<String>,
    proc_dir: String,
    ids: RunIds,
    /// The shared-namespace model: whether a run is going.
    shared: Option<shared::Busy>,
}

/// The id maps of each run's own user namespace: every id the sandbox has, as itself.
#[derive(Debug)]
struct RunIds {
    uid: Vec<IdMap>,
    gid: Vec<IdMap>,
}

/// The identity map of the ids a user namespace with `maps` has (all ids without one).
fn identity(maps: &[IdMap]) -> Vec<IdMap> {
    if maps.is_empty() {
        return vec![IdMap::new(0, 0, u32::MAX)];
    }
    maps.iter()
        .map(|m| IdMap::new(m.container_id, m.container_id, m.size))
        .collect()
}

impl Sandbox {
    /// A builder for the sandbox `shape` describes (its namespaces, id maps, root, mounts,
    /// host name…): see [`SandboxBuilder::start`].
    pub fn builder(shape: Runner) -> SandboxBuilder {
        SandboxBuilder {
            shape,
            writable: Vec::new(),
            proc_dir: "/proc".to_owned(),
            shared: false,
        }
    }

    /// Runs one program in the sandbox (see the module docs for what each run gets). Its
    /// user, pid, mount and ipc namespaces are its own (a user namespace the runner gives id
    /// maps for is used as given: the ids are the sandbox's; otherwise every id of the
    /// sandbox maps to itself); the runner may add namespaces (net, uts) and mounts (after
    /// the fresh tmpfs of each writable place), but not a new root (`pivot_root`). A
    /// `cgroup` path is a host path that this process moves the run into (as
    /// [`Sandbox::run_in`] does; the sandbox does not see the host's cgroup tree), a
    /// `cgroup_fd` (a v2 directory) one the run's helper clones it into. The
    /// [`ServedProcess`]'s pid is the one in the sandbox's pid namespace (its `kill` finds the
    /// process by it); dropping it kills the run too.
    ///
    /// In a [shared-namespace](SandboxBuilder::shared_namespaces) sandbox the run gets no
    /// namespace of its own (it may ask for some: `NewIpc`, `NewNet`, and `NewNs` for
    /// mounts of its own), and a second run while one is going is refused
    /// ([`std::io::ErrorKind::ResourceBusy`]).
    pub fn run(&self, mut runner: Runner) -> Result<ServedProcess, Error> {
        let place = host_cgroup(&mut runner);
        self.start(runner, place)
    }

    /// [`Sandbox::run`] in a per-run cgroup: the run's init and program (in a
    /// shared-namespace sandbox: its program) are moved into every directory of `cgroup`
    /// (`cgroup.procs`, by this process, with the host's pids) before the program executes,
    /// at the run's sync point, so its memory, pids and CPU limits hold from its first
    /// instruction and its usage is the run's alone. The sandbox's server and each run's
    /// helper stay where they are. The caller owns the cgroup: one per run (or one emptied
    /// between runs: [`crate::cgroup::Pool`]), removed when done. A move the caller may not
    /// make (an ordinary user without a delegated cgroup) fails the start with
    /// [`Error::Sync`] naming the file and the fix; the program never runs. A runner with a
    /// `cgroup` path of its own is refused (`InvalidInput`): it would be a second cgroup.
    pub fn run_in(&self, runner: Runner, cgroup: &Cgroup) -> Result<ServedProcess, Error> {
        let place = per_run(&runner, cgroup)?;
        self.start(runner, Some(place))
    }

    fn start(&self, mut runner: Runner, place: Option<Placement>) -> Result<ServedProcess, Error> {
        if let Some(busy) = &self.shared {
            let guard = busy.take().ok_or_else(shared::busy)?;
            return self.run_shared(runner, guard, place);
        }
        let spec = &mut runner.spec;
        if !spec.pivot_root.is_empty() {
            return Err(invalid("pivot_root: a pooled sandbox's root is built once"));
        }
        if !spec.clone_flags.contains(&Namespace::NewUser) {
            spec.clone_flags.push(Namespace::NewUser);
            spec.uid_mappings.clone_from(&self.ids.uid);
            spec.gid_mappings.clone_from(&self.ids.gid);
        }
        for ns in [Namespace::NewPid, Namespace::NewNs, Namespace::NewIpc] {
            if !spec.clone_flags.contains(&ns) {
                spec.clone_flags.push(ns);
            }
        }
        spec.init = true;
        spec.drop_caps = true;
        spec.new_session_keyring = true;
        let mut fresh: Vec<MountEntry> = self
            .writable
            .iter()
            .map(|dir| MountOp::tmpfs(dir.clone()).mode(0o1777).into())
            .collect();
        fresh.push(MountOp::proc(self.proc_dir.clone()).into());
        fresh.append(&mut spec.mounts);
        spec.mounts = fresh;
        start_run(self.sock.as_fd(), runner, Some(self.pids), place)
    }

    /// A run in a shared sandbox, which `guard` holds for it.
    fn run_shared(
        &self,
        mut runner: Runner,
        guard: shared::RunGuard,
        place: Option<Placement>,
    ) -> Result<ServedProcess, Error> {
        shared::run_spec(&mut runner.spec)?;
        let mut run = start_run(self.sock.as_fd(), runner, Some(self.pids), place)?;
        run.hold(guard);
        Ok(run)
    }

    /// Ends the sandbox: the server's end of stream kills every run still going; returns the
    /// sandbox helper's status.
    pub fn shutdown(mut self) -> io::Result<WaitStatus> {
        self.end()
    }

    fn end(&mut self) -> io::Result<WaitStatus> {
        let _ = sys::shutdown(self.sock.as_fd());
        if self.shared.as_ref().is_some_and(|b| b.is_set()) {
            // A shared server does not read its socket while a run is going: its parent,
            // the sandbox's helper, goes, and the server follows (parent-death signal).
            if let Ok(p) = self.process.get_mut() {
                let _ = p.kill(libc::SIGKILL);
            }
        }
        match self.process.get_mut() {
            Ok(p) => p.wait(),
            Err(_) => Err(io::Error::other("the sandbox's lock was poisoned")),
        }
    }

    /// The pid of the helper that built the sandbox (it supervises the server when the
    /// sandbox has its own pid namespace).
    pub fn pid(&self) -> u32 {
        self.process.lock().map_or(0, |p| p.pid())
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.end();
    }
}

/// Several identical [`Sandbox`]es; each [`Pool::run`] goes to the next one in turn. A
/// sandbox serves up to 64 runs at once (each in its own namespaces), so the pool spreads
/// concurrent runs over several server processes.
#[derive(Debug)]
pub struct Pool {
    sandboxes: Vec<Sandbox>,
    next: AtomicUsize,
}

impl Pool {
    /// `size` sandboxes, each built by `make` (called `size` times).
    pub fn new(size: usize, mut make: impl FnMut() -> SandboxBuilder) -> Result<Pool, Error> {
        if size == 0 {
            return Err(invalid("a pool of 0 sandboxes"));
        }
        let sandboxes = (0..size)
            .map(|_| make().start())
            .collect::<Result<_, _>>()?;
        Ok(Pool {
            sandboxes,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs one program in the next sandbox ([`Sandbox::run`]). Shared-namespace sandboxes
    /// run one program each at a time: the run goes to the next idle one, and is refused
    /// ([`std::io::ErrorKind::ResourceBusy`]) when all are busy.
    pub fn run(&self, mut runner: Runner) -> Result<ServedProcess, Error> {
        let place = host_cgroup(&mut runner);
        self.start(runner, place)
    }

    /// Runs one program in the next sandbox, in a per-run cgroup ([`Sandbox::run_in`]).
    pub fn run_in(&self, runner: Runner, cgroup: &Cgroup) -> Result<ServedProcess, Error> {
        let place = per_run(&runner, cgroup)?;
        self.start(runner, Some(place))
    }

    fn start(&self, runner: Runner, place: Option<Placement>) -> Result<ServedProcess, Error> {
        let n = self.sandboxes.len();
        let i = self.next.fetch_add(1, Ordering::Relaxed) % n;
        if self.sandboxes[i].shared.is_none() {
            return self.sandboxes[i].start(runner, place);
        }
        // The first sandbox from the next one on that this run can take.
        let taken = (0..n).find_map(|k| {
            let sandbox = &self.sandboxes[(i + k) % n];
            let guard = sandbox.shared.as_ref().and_then(shared::Busy::take)?;
            Some((sandbox, guard))
        });
        match taken {
            Some((sandbox, guard)) => sandbox.run_shared(runner, guard, place),
            None => Err(shared::busy()),
        }
    }

    /// The sandbox the next run goes to (each call moves on; of shared-namespace sandboxes
    /// the next idle one, else the next, which refuses a run as busy): for
    /// [`crate::judge::Judge::run_in`].
    pub fn next_sandbox(&self) -> &Sandbox {
        let n = self.sandboxes.len();
        let i = self.next.fetch_add(1, Ordering::Relaxed) % n;
        if self.sandboxes[i].shared.is_none() {
            return &self.sandboxes[i];
        }
        (0..n)
            .map(|k| &self.sandboxes[(i + k) % n])
            .find(|s| s.shared.as_ref().is_some_and(|b| !b.is_set()))
            .unwrap_or(&self.sandboxes[i])
    }

    /// The sandboxes.
    pub fn sandboxes(&self) -> &[Sandbox] {
        &self.sandboxes
    }
}

/// Where a sandbox's pids are in this process's pid namespace: the helper that built it (every
/// process of the sandbox descends from it), and the index in `NSpid` (`/proc/PID/status`:
/// the pid in each pid namespace, this one's first) of the sandbox's own pid namespace.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SandboxPids {
    helper: u32,
    level: usize,
}

/// A process of the sandbox: its pid here and its `NSpid`.
struct Member {
    pid: u32,
    nspid: Vec<u32>,
}

impl SandboxPids {
    /// Once the sandbox's server runs: the deepest `NSpid` of the helper and its descendants
    /// ends in the sandbox's pid namespace (the helper's own, without one).
    fn find(helper: u32) -> SandboxPids {
        let level = members(helper)
            .iter()
            .map(|m| m.nspid.len().saturating_sub(1))
            .max()
            .unwrap_or(0);
        SandboxPids { helper, level }
    }

    /// A pidfd on the sandbox's process whose pid in the sandbox is `pid`: found among the
    /// helper's descendants, opened, and checked again (a pid reused meanwhile has another
    /// `NSpid`). ESRCH when there is none.
    pub(crate) fn pidfd(&self, pid: u32) -> io::Result<OwnedFd> {
        let at_level = |nspid: &[u32]| nspid.get(self.level) == Some(&pid);
        let found = members(self.helper)
            .into_iter()
            .find(|m| m.pid != self.helper && at_level(&m.nspid))
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ESRCH))?;
        let fd = sys::pidfd_open(found.pid)?;
        match status_of(found.pid) {
            Some((_, nspid)) if at_level(&nspid) => Ok(fd),
            _ => Err(io::Error::from_raw_os_error(libc::ESRCH)),
        }
    }
}

/// `PPid` and `NSpid` of `/proc/PID/status`.
pub(crate) fn status_of(pid: u32) -> Option<(u32, Vec<u32>)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|rest| rest.split_whitespace().filter_map(|n| n.parse().ok()))
    };
    let ppid = field("PPid:")?.next()?;
    Some((ppid, field("NSpid:")?.collect()))
}

/// `helper` and every process descended from it.
fn members(helper: u32) -> Vec<Member> {
    let all: Vec<(u32, u32, Vec<u32>)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| status_of(pid).map(|(ppid, nspid)| (pid, ppid, nspid)))
        .collect();
    let mut found: Vec<u32> = vec![helper];
    let mut grew = true;
    while grew {
        grew = false;
        for (pid, ppid, _) in &all {
            if found.contains(ppid) && !found.contains(pid) {
                found.push(*pid);
                grew = true;
            }
        }
    }
    all.into_iter()
        .filter(|(pid, _, _)| found.contains(pid))
        .map(|(pid, _, nspid)| Member { pid, nspid })
        .collect()
}

/// A pooled run's `cgroup` path: the host's, which this process moves the run into.
fn host_cgroup(runner: &mut Runner) -> Option<Placement> {
    match std::mem::take(&mut runner.spec.cgroup) {
        path if path.is_empty() => None,
        path => Some(Placement {
            dirs: vec![path.into()],
        }),
    }
}

/// [`Sandbox::run_in`]'s placement: every directory of `cgroup`; a runner's own `cgroup` path
/// as well is refused.
fn per_run(runner: &Runner, cgroup: &Cgroup) -> Result<Placement, Error> {
    if !runner.spec.cgroup.is_empty() {
        return Err(invalid(
            "cgroup: run_in places the run in its cgroup; the runner's own cgroup path would \
             be a second one",
        ));
    }
    let dirs = cgroup.dirs().map(Path::to_path_buf).collect();
    Ok(Placement { dirs })
}

fn invalid(msg: &str) -> Error {
    Error::Helper(io::Error::new(io::ErrorKind::InvalidInput, msg.to_owned()))
}
