//! Warm sandboxes for scripts: `forkexec-run serve SOCKET -- SANDBOX FLAGS` builds a pool of
//! sandboxes ([`forkexec_client::Pool`]) once and listens on a unix socket;
//! `forkexec-run --via SOCKET -- COMMAND` sends one run to it with this process's stdin,
//! stdout and stderr, and exits the way the program did (docs/cli.md, "Warm sandboxes").
//!
//! What goes where ([`split`]): the sandbox flags are assembled as for a one-shot run; the
//! namespaces, root, mounts and names are built once per sandbox, and everything that makes
//! a process safe (the credential, no capabilities, no_new_privs, a new session keyring,
//! seccomp, Landlock, rlimits) is applied to each run. As root, forkexec-run's default user
//! namespace (uid 0 inside as host 65534) and its credential go with each run: the sandbox is
//! built by host root in its own mount, pid, ipc… namespaces (so that its mounts are made by
//! an id that owns them, and its fork server keeps the capabilities it needs to build each
//! run's namespaces), and every run gets its own user namespace with the one-shot's maps and
//! credential, as the Rust `Sandbox::run` takes a run's own credential.
//!
//! The conversation on the socket (a `SOCK_STREAM` unix socket, one run per connection): the
//! client sends a 4-byte little-endian length and that many bytes of JSON, `{"args": [...],
//! "env": [...], "work_dir": "...", "rlimits": [...], "cgroup": "...", "judge": [...]}` (only
//! `args` is required; rlimits as in the JSON spec; `cgroup` a host cgroup directory the run
//! is moved into; `judge` the one-shot judge flags as written, parsed here by the same
//! parser: [`JudgeArgs::from_flags`]), with its fds 0, 1 and 2 as `SCM_RIGHTS` on the length;
//! the server answers one JSON line, `{"status": N}` (the wait status), a judged run's
//! `{"judge": RESULT}` (the one-shot's `--result-json` object) or `{"code": 125|126|127,
//! "error": "..."}`, and closes. A client that hangs up before its program ended has the
//! program killed (a judged run: through its cgroup, which is then removed).

use std::convert::Infallible;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};
use forkexec_client::cgroup;
use forkexec_client::judge::Sink;
use forkexec_client::{Namespace, Pool, Rlimit, Runner, Sandbox, Spec};
use serde_json::{json, Value};

use crate::cli::Cli;
use crate::judge::JudgeArgs;
use crate::Fail;

/// The most bytes of JSON one run request may hold.
pub const MAX_REQUEST: usize = 1 << 20;

/// The most sandboxes one `serve` builds (each is a helper and a fork server).
const MAX_POOL: usize = 64;

/// `forkexec-run serve SOCKET [--pool N] [--writable DIR]... [-- SANDBOX FLAGS]`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// The unix socket to listen on: created once the sandboxes are built (mode 0600: only
    /// this user and root may send runs), removed on SIGTERM or SIGINT. A socket nobody
    /// listens on (left by a serve that was killed) is replaced; anything else there is
    /// refused.
    pub socket: PathBuf,

    /// How many sandboxes to build (1 to 64); runs go to them in turn.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub pool: usize,

    /// A directory every run gets as a fresh, empty tmpfs (mode 1777): /tmp, a work dir.
    /// Repeatable. Everything else in the sandbox is read-only.
    #[arg(long, value_name = "DIR")]
    pub writable: Vec<String>,

    /// The sandbox, as forkexec-run's own flags without a COMMAND (--unshare-all,
    /// --ro-bind, --dev, --rlimit, --seccomp, --landlock-*, the safe-default flags…). The
    /// namespaces, ids, root and mounts are built once per sandbox; rlimits, seccomp,
    /// Landlock, the credential and the safe defaults apply to every run.
    #[arg(last = true, value_name = "SANDBOX FLAGS", allow_hyphen_values = true)]
    pub flags: Vec<String>,
}

/// Sandbox flags that `serve` refuses, with why: each belongs to a run (give it with
/// `--via`), or has no meaning for a sandbox shared by many runs.
const NOT_FOR_SERVE: [(&str, &str); 18] = [
    (
        "setenv",
        "the environment is each run's: give it with --via",
    ),
    (
        "unsetenv",
        "the environment is each run's: give it with --via",
    ),
    (
        "clearenv",
        "the environment is each run's: give it with --via",
    ),
    (
        "inherit_env",
        "the environment is each run's: give it with --via",
    ),
    ("argv0", "the command is each run's"),
    ("spec", "the sandbox is built from flags"),
    ("json", "the sandbox is built from flags"),
    ("dump_spec", "the sandbox is built from flags"),
    ("verbose", "the stages of a run are not told"),
    ("stay", "each run's status goes to its client"),
    (
        "writable_root",
        "every run would see what earlier runs left: use serve's --writable DIR",
    ),
    ("cgroup", "the cgroup is each run's: give it with --via"),
    ("userns", "joining namespaces is not supported for a pool"),
    ("userns2", "joining namespaces is not supported for a pool"),
    ("pidns", "joining namespaces is not supported for a pool"),
    ("info_fd", "there is no one-shot start to report"),
    ("json_status_fd", "there is no one-shot start to report"),
    ("via", "a server does not send its runs elsewhere"),
];

/// The flags that go with `--via` (the run's own), besides the judge flags; any other is
/// refused by name.
const VIA_FLAGS: [&str; 8] = [
    "via", "setenv", "unsetenv", "clearenv", "chdir", "rlimit", "cgroup", "command",
];

/// Whether the flag with clap id `id` was given on the command line.
fn given(matches: &ArgMatches, id: &str) -> bool {
    matches.value_source(id) == Some(ValueSource::CommandLine)
}

fn flag_name(id: &str) -> String {
    format!("--{}", id.replace('_', "-"))
}

/// What every run gets from the server's flags, completed by each request.
#[derive(Clone)]
struct Template(Spec);

/// Splits the assembled spec into the sandbox's shape (namespaces, root, mounts, names: built
/// once) and each run's template (the process: its credential, rlimits, seccomp, Landlock and
/// the safe defaults). With a credential (root's defaults, `--uid` as root) the user namespace
/// and its maps go with it: see the module docs.
fn split(mut spec: Spec) -> (Spec, Template) {
    let mut run = Spec::default();
    std::mem::swap(&mut run.work_dir, &mut spec.work_dir);
    std::mem::swap(&mut run.rlimits, &mut spec.rlimits);
    run.seccomp = std::mem::take(&mut spec.seccomp);
    run.landlock = spec.landlock.take();
    run.no_new_privs = std::mem::take(&mut spec.no_new_privs);
    run.drop_caps = std::mem::take(&mut spec.drop_caps);
    run.new_session_keyring = std::mem::take(&mut spec.new_session_keyring);
    run.setsid = spec.setsid;
    run.ctty = spec.ctty;
    run.credential = spec.credential.take();
    if run.credential.is_some() && spec.clone_flags.contains(&Namespace::NewUser) {
        spec.clone_flags.retain(|&ns| ns != Namespace::NewUser);
        run.clone_flags.push(Namespace::NewUser);
        std::mem::swap(&mut run.uid_mappings, &mut spec.uid_mappings);
        std::mem::swap(&mut run.gid_mappings, &mut spec.gid_mappings);
        run.gid_mappings_enable_setgroups = std::mem::take(&mut spec.gid_mappings_enable_setgroups);
    }
    spec.env.clear();
    spec.args = vec!["forkexec".to_string()];
    spec.exec_path = None;
    spec.files = Vec::new();
    (spec, Template(run))
}

/// The sandbox the flags describe: its shape and each run's template.
fn sandbox(args: &ServeArgs) -> Result<(Spec, Template), Fail> {
    if args.pool == 0 || args.pool > MAX_POOL {
        return Err(Fail::setup(format!(
            "serve --pool {}: between 1 and {MAX_POOL} sandboxes",
            args.pool
        )));
    }
    if let Some(dir) = args.writable.iter().find(|d| !d.starts_with('/')) {
        return Err(Fail::setup(format!(
            "serve --writable {dir}: a path in the sandbox, absolute"
        )));
    }
    let argv = std::iter::once("forkexec-run".to_string()).chain(args.flags.iter().cloned());
    let matches = Cli::command()
        .try_get_matches_from(argv)
        .map_err(|e| Fail::setup(format!("serve: {}", first_line(&e.to_string()))))?;
    let mut cli = Cli::from_arg_matches(&matches).map_err(|e| Fail::setup(e.to_string()))?;
    if let Some((id, why)) = NOT_FOR_SERVE.iter().find(|(id, _)| given(&matches, id)) {
        return Err(Fail::setup(format!(
            "serve: {} is not a sandbox flag here: {why}",
            flag_name(id)
        )));
    }
    if !cli.command.is_empty() || cli.tool.is_some() {
        return Err(Fail::setup(
            "serve: the sandbox flags take no COMMAND or subcommand (each run brings its own: \
             forkexec-run --via SOCKET -- COMMAND)"
                .to_string(),
        ));
    }
    if cli.judge.active() {
        return Err(Fail::setup(
            "serve: the judge flags are each run's: give them with --via (forkexec-run --via \
             SOCKET --time-limit 2 --memory-limit 256m -- COMMAND)"
                .to_string(),
        ));
    }
    // The fork server writes each run's id maps through a proc of the sandbox's own pid
    // namespace (and an ordinary user gets a user namespace for them).
    cli.unshare_pid = true;
    // A stand-in COMMAND for the assembly (every run brings its own).
    cli.command = vec!["/".to_string()];
    let mut spec = crate::assemble::assemble(&cli, &matches, crate::assemble::Ids::current())?;
    if cli.chdir.is_none() {
        // Not serve's own working directory: a run starts in --via's --chdir, or at /.
        spec.work_dir.clear();
    }
    spec.env.clear();
    crate::run::ensure_root(&spec)?;
    Ok(split(spec))
}

/// `forkexec-run serve`: builds the pool, listens, serves until SIGTERM or SIGINT.
pub fn main(args: &ServeArgs) -> ! {
    match serve(args) {
        Ok(never) => match never {},
        Err(f) => f.exit(),
    }
}

fn serve(args: &ServeArgs) -> Result<Infallible, Fail> {
    let (shape, template) = sandbox(args)?;
    let writable = args.writable.clone();
    let pool = Pool::new(args.pool, || {
        let mut b = Sandbox::builder(Runner::from_spec(shape.clone()));
        for dir in &writable {
            b = b.writable(dir.clone());
        }
        b
    })
    .map_err(|e| {
        let f = crate::report::failure(&e, &shape);
        Fail::setup(format!("serve: building the sandbox: {}", f.message))
    })?;
    // Per-run cgroups a serve killed with SIGKILL left (their runs still in them) go first.
    if let Ok(layout) = cgroup::Layout::detect() {
        cgroup::reap_stale(&layout, cgroup::DEFAULT_PARENT);
    }
    let listener = listen(&args.socket)?;
    remove_on_signal(args.socket.clone());
    let pool = Arc::new(pool);
    let shape = Arc::new(shape);
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let (pool, shape, template) = (pool.clone(), shape.clone(), template.clone());
        std::thread::spawn(move || serve_one(conn, &pool, &shape, template));
    }
    Err(Fail::setup(
        "serve: the socket stopped accepting".to_string(),
    ))
}

/// Binds `path` with mode 0600 (the umask is 077 while it is made). A socket left by a serve
/// that was killed (nobody listens: ECONNREFUSED) is replaced; anything else is refused.
fn listen(path: &Path) -> Result<UnixListener, Fail> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        let stale = meta.file_type().is_socket()
            && UnixStream::connect(path)
                .is_err_and(|e| e.raw_os_error() == Some(libc::ECONNREFUSED));
        if !stale {
            return Err(Fail::setup(format!(
                "serve: {} exists (a socket in use, or not a socket): remove it or choose \
                 another",
                path.display()
            )));
        }
        let _ = std::fs::remove_file(path);
    }
    // Bound and listening under a private name first, then renamed into place: the path
    // appears only once connections are accepted (bind makes it before listen, and a client
    // that sees it in between would get ECONNREFUSED, as for a stale socket).
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = path.with_file_name(format!(".{name}.{}.binding", std::process::id()));
    let _ = std::fs::remove_file(&temp);
    // SAFETY: umask has no memory effects; no other thread makes files now.
    let old = unsafe { libc::umask(0o077) };
    let bound = UnixListener::bind(&temp);
    // SAFETY: as above.
    unsafe { libc::umask(old) };
    let listener =
        bound.map_err(|e| Fail::setup(format!("serve: binding {}: {e}", path.display())))?;
    let placed = std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| rename_noreplace(&temp, path));
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&temp);
        return Err(Fail::setup(format!("serve: {}: {e}", path.display())));
    }
    Ok(listener)
}

/// `rename` that refuses to replace what appeared at `to` meanwhile (EEXIST).
fn rename_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c =
        |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other);
    let (from, to) = (c(from)?, c(to)?);
    // SAFETY: both paths are NUL-terminated and alive across the call. (The raw syscall: the
    // musl that Rust's musl target links has no renameat2 wrapper.)
    let ret = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if ret == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// On SIGTERM or SIGINT: remove the socket and exit 0. The sandboxes die with this process
/// however it ends (die-with-parent), and their runs with them.
fn remove_on_signal(path: PathBuf) {
    // SAFETY: sigset operations on a local set; pthread_sigmask on this thread before any
    // connection thread is spawned, so every thread has them blocked and sigwait takes them.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    };
    std::thread::spawn(move || {
        let mut sig = 0;
        // SAFETY: sigwait on a set we own, writing into a local.
        unsafe { libc::sigwait(&set, &mut sig) };
        let _ = std::fs::remove_file(&path);
        std::process::exit(0);
    });
}

/// One connection: the request, the run, the answer (never SIGPIPE: a client gone is no
/// reason for the server to die).
fn serve_one(mut conn: UnixStream, pool: &Pool, shape: &Spec, template: Template) {
    // A judged run's output is written to the client's stdout and stderr by threads this one
    // starts (they inherit the mask): a client's closed pipe is EPIPE for them, not SIGPIPE
    // for the server. (The runs themselves are forked by the sandboxes' servers, started
    // before: their mask is not this thread's.)
    // SAFETY: sigset operations on a local set; pthread_sigmask on this thread only.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
    let answer = match run_one(&mut conn, pool, shape, template) {
        Ok(answer) => answer,
        Err(f) => json!({ "code": f.code, "error": f.message }),
    };
    let _ = send_all(&conn, format!("{answer}\n").as_bytes());
    // What a refused request still had on its way is read and dropped: closing with unread
    // bytes would reset the connection, and the client could lose the answer. (For a second
    // at most: a client that keeps its end open gets no longer.)
    let _ = conn.shutdown(std::net::Shutdown::Write);
    let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(1)));
    let _ = std::io::copy(
        &mut (&conn).take(MAX_REQUEST as u64 + 4),
        &mut std::io::sink(),
    );
}

/// The peer's uid, when the kernel says it.
fn peer_uid(conn: &UnixStream) -> Option<u32> {
    // SAFETY: getsockopt SO_PEERCRED into a ucred we own, of the right size.
    unsafe {
        let mut cred: libc::ucred = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
        let r = libc::getsockopt(
            conn.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        );
        (r == 0).then_some(cred.uid)
    }
}

fn refused(m: String) -> Fail {
    Fail::setup(format!("serve: {m}"))
}

/// The keys a request may have.
const REQUEST_KEYS: [&str; 6] = ["args", "env", "work_dir", "rlimits", "cgroup", "judge"];

/// A request's JSON, checked: an object with `args` (non-empty strings) and optionally `env`,
/// `work_dir`, `rlimits`, `cgroup` (an absolute path: a cgroup directory of the host) and
/// `judge` (the judge flags, as strings: a judged run), nothing else.
fn read_request(body: &[u8], template: Template) -> Result<(Spec, Option<JudgeArgs>), Fail> {
    let request: Value = serde_json::from_slice(body)
        .map_err(|e| refused(format!("the request is not JSON: {e}")))?;
    let Some(fields) = request.as_object() else {
        return Err(refused("the request is not a JSON object".to_string()));
    };
    if let Some(key) = fields.keys().find(|k| !REQUEST_KEYS.contains(&k.as_str())) {
        return Err(refused(format!(
            "unknown key `{key}` in the request ({})",
            REQUEST_KEYS.join(", ")
        )));
    }
    let mut spec = template.0;
    spec.args = strings(&request, "args")?
        .ok_or_else(|| refused("a request without `args`".to_string()))?;
    if spec.args.is_empty() {
        return Err(refused("`args` is empty".to_string()));
    }
    if let Some(env) = strings(&request, "env")? {
        spec.env = env;
    }
    match request.get("work_dir") {
        None => {}
        Some(Value::String(dir)) => spec.work_dir.clone_from(dir),
        Some(_) => return Err(refused("`work_dir` must be a string".to_string())),
    }
    if let Some(limits) = request.get("rlimits") {
        let limits: Vec<Rlimit> = serde_json::from_value(limits.clone())
            .map_err(|e| refused(format!("`rlimits`: {e}")))?;
        for l in limits {
            spec.rlimits.retain(|r| r.resource != l.resource);
            spec.rlimits.push(l);
        }
    }
    match request.get("cgroup") {
        None => {}
        Some(Value::String(dir)) if dir.starts_with('/') => spec.cgroup.clone_from(dir),
        Some(_) => {
            return Err(refused(
                "`cgroup` must be an absolute path (a cgroup directory of the host)".to_string(),
            ))
        }
    }
    let judge = match strings(&request, "judge")? {
        None => None,
        Some(flags) => {
            Some(JudgeArgs::from_flags(&flags).map_err(|e| refused(format!("`judge`: {e}")))?)
        }
    };
    if let Some(judge) = judge.as_ref().filter(|j| j.makes_cgroup()) {
        if !spec.cgroup.is_empty() {
            return Err(refused(one_cgroup(judge)));
        }
    }
    Ok((spec, judge))
}

/// Why `--cgroup DIR` and a judged run's own cgroup cannot go together.
fn one_cgroup(judge: &JudgeArgs) -> String {
    format!(
        "--cgroup and a judged run's per-run cgroup (made under {}) cannot go together: a \
         run is in one cgroup (judge it in DIR with --no-cgroup, which has no memory, pids or \
         CPU quota limit, or leave --cgroup out)",
        judge.cgroup_parent()
    )
}

/// Reads the request, runs it, and says how it went: `{"status": N}`, or a judged run's
/// `{"judge": RESULT}`.
fn run_one(
    conn: &mut UnixStream,
    pool: &Pool,
    shape: &Spec,
    template: Template,
) -> Result<Value, Fail> {
    // SAFETY: geteuid has no memory effects.
    let me = unsafe { libc::geteuid() };
    match peer_uid(conn) {
        Some(uid) if uid == me || uid == 0 => {}
        peer => return Err(refused(format!("uid {peer:?} may not send runs"))),
    }
    let (len, fds) = recv_header(conn)?;
    if len > MAX_REQUEST {
        return Err(refused(format!(
            "a {len}-byte request (at most {MAX_REQUEST})"
        )));
    }
    let mut body = vec![0u8; len];
    conn.read_exact(&mut body)
        .map_err(|e| refused(format!("reading the {len}-byte request: {e}")))?;
    let (mut spec, judge) = read_request(&body, template)?;
    // A bare name is looked up in PATH as the sandbox sees it.
    let mut view = shape.clone();
    view.env.clone_from(&spec.env);
    spec.exec_path = crate::assemble::resolve(&spec.args[0], &view)?;
    spec.files = fds.iter().map(|fd| fd.as_raw_fd()).collect();
    if let Some(judge) = judge {
        return Ok(judged(conn, pool, spec, &judge, fds));
    }
    let described = spec.clone();
    let mut run = pool
        .run(Runner::from_spec(spec))
        .map_err(|e| crate::report::failure(&e, &described))?;
    drop(fds);
    // The program's end, or the client hanging up (then the run is killed: dropped).
    let mut polls = [
        libc::pollfd {
            fd: conn.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: run.as_fd().as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    loop {
        // SAFETY: poll on two pollfds we own.
        let n = unsafe { libc::poll(polls.as_mut_ptr(), 2, -1) };
        if n < 0 {
            continue; // EINTR
        }
        if polls[1].revents != 0 {
            let status = run
                .wait()
                .map_err(|e| refused(format!("waiting for the run: {e}")))?;
            use std::os::unix::process::ExitStatusExt;
            return Ok(json!({ "status": status.status.into_raw() }));
        }
        if polls[0].revents != 0 {
            return Err(refused("the client hung up; the run was killed".into()));
        }
    }
}

/// A judged run ([`forkexec_client::judge::Judge::run_in`] the pool's next sandbox), with the
/// judge flags of a one-shot run: its per-run cgroup made under the parent, entered at the
/// run's sync point, watched, read and removed; its stdout and stderr through pipes to the
/// client's (cut at the output limit). A client that hangs up has the run killed (its
/// cgroup's every process) and its cgroup removed, as a limit would.
fn judged(
    conn: &UnixStream,
    pool: &Pool,
    spec: Spec,
    args: &JudgeArgs,
    fds: Vec<OwnedFd>,
) -> Value {
    let [stdin, stdout, stderr]: [OwnedFd; 3] = fds.try_into().expect("3 fds, checked");
    let client = conn.as_raw_fd();
    let result = args
        .judge(Runner::from_spec(spec))
        .stop_if(move || hung_up(client))
        .stdout(Sink::Write(Box::new(std::fs::File::from(stdout))))
        .stderr(Sink::Write(Box::new(std::fs::File::from(stderr))))
        .run_in(pool.next_sandbox());
    drop(stdin);
    json!({ "judge": result.to_json_value() })
}

/// Whether the client has hung up (or sent more than its request, which it does not):
/// its end of the connection is readable.
fn hung_up(conn: RawFd) -> bool {
    let mut poll = libc::pollfd {
        fd: conn,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll on one pollfd we own, without waiting.
    unsafe { libc::poll(&mut poll, 1, 0) > 0 }
}

/// A request's list of strings under `key`: `None` when absent.
fn strings(request: &Value, key: &str) -> Result<Option<Vec<String>>, Fail> {
    let bad = || refused(format!("`{key}` must be a list of strings"));
    let Some(v) = request.get(key) else {
        return Ok(None);
    };
    v.as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|v| v.as_str().map(str::to_owned).ok_or_else(bad))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Reads the 4-byte length and the fds that came with it (exactly 3: stdin, stdout, stderr).
fn recv_header(conn: &UnixStream) -> Result<(usize, Vec<OwnedFd>), Fail> {
    let mut len = [0u8; 4];
    // Room for more than 3 fds, so that a request with too many is refused, not truncated
    // into one that looks right (MSG_CTRUNC is refused too).
    let mut cmsg = [0u64; 16];
    let mut iov = libc::iovec {
        iov_base: len.as_mut_ptr().cast(),
        iov_len: 4,
    };
    // SAFETY: a msghdr over buffers we own; recvmsg writes at most their lengths.
    let (n, msg) = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cmsg.as_mut_ptr().cast();
        // (`as _`: the field is a usize with glibc, a u32 with musl.)
        msg.msg_controllen = std::mem::size_of_val(&cmsg) as _;
        let n = libc::recvmsg(
            conn.as_raw_fd(),
            &mut msg,
            libc::MSG_CMSG_CLOEXEC | libc::MSG_WAITALL,
        );
        (n, msg)
    };
    let mut fds = Vec::new();
    // SAFETY: walking the control messages recvmsg wrote, inside `cmsg`; each fd received is
    // ours to own.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(c).cast::<RawFd>();
                let count = ((*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / 4;
                for i in 0..count {
                    fds.push(OwnedFd::from_raw_fd(data.add(i).read_unaligned()));
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    if n != 4 {
        return Err(refused(format!(
            "the request's length is 4 bytes, and {} came",
            n.max(0)
        )));
    }
    if msg.msg_flags & libc::MSG_CTRUNC != 0 || fds.len() != 3 {
        return Err(refused(format!(
            "a request comes with 3 fds (stdin, stdout, stderr), not {}",
            fds.len()
        )));
    }
    Ok((u32::from_le_bytes(len) as usize, fds))
}

/// Refuses a flag given with `--via` that belongs to the sandbox (the server's), and
/// `--cgroup` with a judged run's own cgroup.
pub fn check_via_flags(matches: &ArgMatches, cli: &Cli) -> Result<(), Fail> {
    for id in matches.ids() {
        let id = id.as_str();
        if given(matches, id) && !VIA_FLAGS.contains(&id) && !JudgeArgs::has_flag(id) {
            return Err(Fail::setup(format!(
                "{} cannot go with --via: the sandbox is `forkexec-run serve`'s (give it \
                 there); a run takes --setenv, --unsetenv, --clearenv, --chdir, --rlimit, \
                 --cgroup and the judge flags",
                flag_name(id)
            )));
        }
    }
    if cli.cgroup.is_some() && cli.judge.makes_cgroup() {
        return Err(Fail::setup(one_cgroup(&cli.judge)));
    }
    Ok(())
}

/// What `--via` sends besides the command: the work dir when `--chdir` named one (the
/// server's default otherwise), `--cgroup`'s directory, a judged run's judge flags.
pub struct ViaRun<'a> {
    /// Whether `--chdir` was given.
    pub chdir: bool,
    /// The judge flags, when any was given: as written ([`JudgeArgs::flags_given`]), and
    /// parsed (for `--result-json`).
    pub judge: Option<(Vec<String>, &'a JudgeArgs)>,
}

/// `forkexec-run --via SOCKET -- COMMAND`: sends the run with this process's environment
/// (after --setenv/--unsetenv/--clearenv), rlimits and stdin, stdout and stderr, and exits
/// the way the program did; a judged run as the one-shot judge does (its result to
/// `--result-json`, its verdict on stderr).
pub fn via(socket: &Path, spec: &Spec, run: &ViaRun<'_>) -> ! {
    let fail = |m: String| -> ! { Fail::setup(format!("--via {}: {m}", socket.display())).exit() };
    let result_out = match &run.judge {
        Some((_, args)) => args.open_result().unwrap_or_else(|f| f.exit()),
        None => None,
    };
    let mut body = json!({
        "args": spec.args,
        "env": spec.env,
        "rlimits": spec.rlimits,
    });
    if run.chdir {
        body["work_dir"] = json!(spec.work_dir);
    }
    if !spec.cgroup.is_empty() {
        body["cgroup"] = json!(spec.cgroup);
    }
    if let Some((flags, _)) = &run.judge {
        body["judge"] = json!(flags);
    }
    let body = body.to_string();
    if body.len() > MAX_REQUEST {
        fail(format!(
            "the run's arguments and environment take {} bytes of JSON (at most {MAX_REQUEST})",
            body.len()
        ));
    }
    let mut conn = UnixStream::connect(socket).unwrap_or_else(|e| fail(e.to_string()));
    let len = (body.len() as u32).to_le_bytes();
    send_with_fds(&conn, &len, &[0, 1, 2]).unwrap_or_else(|e| fail(e.to_string()));
    // (A server that refused the request early may have closed: its answer says why.)
    let _ = send_all(&conn, body.as_bytes());
    let mut answer = String::new();
    conn.read_to_string(&mut answer)
        .unwrap_or_else(|e| fail(e.to_string()));
    if answer.is_empty() {
        fail("the server closed the connection without an answer (did it end?)".to_string());
    }
    let answer: Value = serde_json::from_str(answer.trim())
        .unwrap_or_else(|e| fail(format!("the server's answer: {e}")));
    if let Some(status) = answer.get("status").and_then(Value::as_i64) {
        crate::run::end_like_raw(status as i32)
    }
    if let Some(result) = answer.get("judge").filter(|r| r.is_object()) {
        crate::judge::report(result, result_out)
    }
    let code = answer.get("code").and_then(Value::as_i64).unwrap_or(125) as i32;
    let message = answer
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("the server's answer has no status and no error");
    Fail {
        code,
        message: message.to_string(),
    }
    .exit()
}

/// Writes all of `bytes` without SIGPIPE (a peer gone is EPIPE).
fn send_all(conn: &UnixStream, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: send from a buffer we own, of its length.
        let n = unsafe {
            libc::send(
                conn.as_fd().as_raw_fd(),
                bytes.as_ptr().cast(),
                bytes.len(),
                libc::MSG_NOSIGNAL,
            )
        };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        bytes = &bytes[n as usize..];
    }
    Ok(())
}

/// Sends `bytes` (a few: one message) with `fds` as `SCM_RIGHTS`.
pub fn send_with_fds(conn: &UnixStream, bytes: &[u8], fds: &[RawFd]) -> std::io::Result<()> {
    let mut cmsg = [0u64; 16];
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut _,
        iov_len: bytes.len(),
    };
    assert!(fds.len() <= 16, "at most 16 fds");
    // SAFETY: a msghdr over buffers we own, one SCM_RIGHTS message that fits in `cmsg`
    // (CMSG_SPACE of 16 fds is 80 bytes, of 128).
    let n = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cmsg.as_mut_ptr().cast();
        msg.msg_controllen = libc::CMSG_SPACE((fds.len() * 4) as u32) as _;
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN((fds.len() * 4) as u32) as _;
        let data = libc::CMSG_DATA(c).cast::<RawFd>();
        for (i, fd) in fds.iter().enumerate() {
            data.add(i).write_unaligned(*fd);
        }
        libc::sendmsg(conn.as_raw_fd(), &msg, libc::MSG_NOSIGNAL)
    };
    if n < 0 {
        Err(std::io::Error::last_os_error())
    } else if n as usize != bytes.len() {
        Err(std::io::Error::other("a short send"))
    } else {
        Ok(())
    }
}

fn first_line(s: &str) -> &str {
    s.lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use forkexec_client::{Credential, IdMap, Resource};

    /// Root's one-shot spec: its user namespace, maps and credential all go to the run; the
    /// sandbox keeps its other namespaces and mounts.
    #[test]
    fn a_credential_takes_the_user_namespace_to_the_run() {
        let mut spec = Spec::new(["/"]);
        spec.clone_flags = vec![Namespace::NewUser, Namespace::NewNs, Namespace::NewPid];
        spec.uid_mappings = vec![IdMap::new(0, 65534, 1)];
        spec.gid_mappings = vec![IdMap::new(0, 65534, 1)];
        spec.credential = Some(Credential::new(0, 0));
        spec.drop_caps = true;
        spec.no_new_privs = true;
        spec.new_session_keyring = true;
        spec.rlimits = vec![Rlimit::new(Resource::Nofile, 5, 5)];
        spec.pivot_root = "/r".into();
        let (shape, Template(run)) = split(spec);
        assert_eq!(shape.clone_flags, [Namespace::NewNs, Namespace::NewPid]);
        assert!(shape.uid_mappings.is_empty() && shape.gid_mappings.is_empty());
        assert!(shape.credential.is_none() && !shape.drop_caps && !shape.no_new_privs);
        assert!(shape.rlimits.is_empty() && !shape.new_session_keyring);
        assert_eq!(shape.pivot_root, "/r");
        assert_eq!(run.clone_flags, [Namespace::NewUser]);
        assert_eq!(run.uid_mappings, [IdMap::new(0, 65534, 1)]);
        assert_eq!(run.gid_mappings, [IdMap::new(0, 65534, 1)]);
        assert_eq!(run.credential, Some(Credential::new(0, 0)));
        assert!(run.drop_caps && run.no_new_privs && run.new_session_keyring);
        assert_eq!(run.rlimits, [Rlimit::new(Resource::Nofile, 5, 5)]);
    }

    /// An ordinary user's: no credential, the sandbox keeps its user namespace (the server
    /// needs it), each run still gets the safe defaults.
    #[test]
    fn without_a_credential_the_sandbox_keeps_its_user_namespace() {
        let mut spec = Spec::new(["/"]);
        spec.clone_flags = vec![Namespace::NewUser, Namespace::NewNs];
        spec.uid_mappings = vec![IdMap::new(0, 1000, 1)];
        spec.drop_caps = true;
        let (shape, Template(run)) = split(spec);
        assert_eq!(shape.clone_flags, [Namespace::NewUser, Namespace::NewNs]);
        assert_eq!(shape.uid_mappings, [IdMap::new(0, 1000, 1)]);
        assert!(run.clone_flags.is_empty() && run.uid_mappings.is_empty());
        assert!(run.drop_caps && !shape.drop_caps);
    }

    #[test]
    fn requests_are_checked() {
        let t = || Template(Spec::default());
        let err = |body: &str| read_request(body.as_bytes(), t()).unwrap_err().message;
        assert!(err("{").contains("not JSON"));
        assert!(err("[]").contains("not a JSON object"));
        assert!(err("{}").contains("without `args`"));
        assert!(err(r#"{"args": []}"#).contains("`args` is empty"));
        assert!(err(r#"{"args": [1]}"#).contains("`args` must be a list of strings"));
        assert!(err(r#"{"args": ["x"], "env": "A=1"}"#).contains("`env` must be"));
        assert!(err(r#"{"args": ["x"], "work_dir": 1}"#).contains("`work_dir` must be"));
        assert!(err(r#"{"args": ["x"], "rlimits": [{"x": 1}]}"#).contains("`rlimits`"));
        assert!(err(r#"{"args": ["x"], "pivot_root": "/"}"#).contains("unknown key `pivot_root`"));
        assert!(err(r#"{"args": ["x"], "cgroup": "sys/fs/cgroup/x"}"#).contains("`cgroup` must be"));
        assert!(err(r#"{"args": ["x"], "judge": "--time-limit 1"}"#).contains("`judge` must be"));
        let e = err(r#"{"args": ["x"], "judge": ["--time-limit", "soon"]}"#);
        assert!(
            e.contains("`judge`: ") && e.contains("not a duration"),
            "{e}"
        );
        let e = err(r#"{"args": ["x"], "judge": ["--no-cgroup", "--memory-limit", "1m"]}"#);
        assert!(
            e.contains("--memory-limit") && e.contains("--no-cgroup"),
            "{e}"
        );
        let e = err(r#"{"args": ["x"], "judge": ["--result-json", "/tmp/r"]}"#);
        assert!(e.contains("--result-json is the client's"), "{e}");
        let e =
            err(r#"{"args": ["x"], "cgroup": "/sys/fs/cgroup/a", "judge": ["--time-limit", "1"]}"#);
        assert!(e.contains("cannot go together"), "{e}");
        let (spec, judge) = read_request(
            br#"{"args": ["x"], "cgroup": "/sys/fs/cgroup/a", "judge": ["--no-cgroup", "--wall-time-limit", "1.5s"]}"#,
            t(),
        )
        .unwrap();
        let judge = judge.unwrap();
        assert_eq!(spec.cgroup, "/sys/fs/cgroup/a");
        assert!(judge.no_cgroup);
        assert_eq!(
            judge.wall_time_limit,
            Some(std::time::Duration::from_millis(1500))
        );
        let base = Spec {
            rlimits: vec![
                Rlimit::new(Resource::Nofile, 5, 5),
                Rlimit::new(Resource::Core, 0, 0),
            ],
            work_dir: "/w".into(),
            ..Spec::default()
        };
        let (spec, judge) = read_request(
            br#"{"args": ["a", "b"], "env": ["A=1"], "rlimits": [{"resource": "nofile", "cur": 9, "max": 9}]}"#,
            Template(base),
        )
        .unwrap();
        assert!(judge.is_none() && spec.cgroup.is_empty());
        assert_eq!(spec.args, ["a", "b"]);
        assert_eq!(spec.env, ["A=1"]);
        assert_eq!(spec.work_dir, "/w");
        assert_eq!(
            spec.rlimits,
            [
                Rlimit::new(Resource::Core, 0, 0),
                Rlimit::new(Resource::Nofile, 9, 9)
            ]
        );
    }
}
