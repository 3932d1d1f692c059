//! `-v`/`--verbose`: each stage told on stderr as forkexec-run sees it happen.
//!
//! Only what forkexec-run observes is told, never a guess: the spec it built (and the process
//! shape the helper will take for it), the helper it starts, the helper's sync record (every
//! setup step before it succeeded: ids, fds, session, mounts and the new root, names, working
//! directory, limits, privileges), the program executed (the end of the status stream), a
//! failed step's error record, and how the program ended with its resource usage. The helper
//! reports no record per stage, so the stages inside its setup are not told one by one. A
//! verbose run stays (it must read the records), so it takes the staying path. With the
//! judge flags the judge owns the start and the records: the spec and its result are told.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use forkexec_client::{ChildError, Error, Namespace, Runner, Spec, WaitStatus};

static ON: AtomicBool = AtomicBool::new(false);

/// Turns the telling on (from `--verbose`).
pub fn enable() {
    ON.store(true, Ordering::Relaxed);
}

/// Whether `--verbose` was given.
pub fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// One line on stderr, `forkexec-run: MESSAGE`.
fn say(message: &str) {
    let _ = writeln!(std::io::stderr(), "forkexec-run: {message}");
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

/// The spec in one line: its size, the shape, namespaces, id maps, the root and mounts,
/// limits, filters, the program.
fn describe(spec: &Spec) -> String {
    let bytes = spec
        .encode()
        .map_or("?".to_string(), |b| b.len().to_string());
    // SAFETY: geteuid/getegid cannot fail.
    let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let shape = spec
        .encode()
        .ok()
        .and_then(|b| forkexec_spec::decode(&b).ok()?.shape(euid, egid).ok())
        .map_or("?", |s| match s {
            forkexec_spec::Shape::InPlace => "the helper becomes the program (no clone)",
            forkexec_spec::Shape::Supervise => "the helper clones the program and supervises it",
            forkexec_spec::Shape::Init => "the helper runs an init that runs the program",
            forkexec_spec::Shape::Detach => "the helper clones the program and leaves",
        });
    let ns: Vec<String> = spec
        .clone_flags
        .iter()
        .map(|n| {
            match n {
                Namespace::NewUser => "user",
                Namespace::NewNs => "mount",
                Namespace::NewPid => "pid",
                Namespace::NewNet => "net",
                Namespace::NewIpc => "ipc",
                Namespace::NewUts => "uts",
                Namespace::NewCgroup => "cgroup",
            }
            .to_string()
        })
        .collect();
    let maps: Vec<String> = [("uid", &spec.uid_mappings), ("gid", &spec.gid_mappings)]
        .iter()
        .flat_map(|(what, maps)| {
            maps.iter()
                .map(move |m| format!("{what} {} as {} ({})", m.host_id, m.container_id, m.size))
        })
        .collect();
    let mut parts = vec![
        format!("{bytes} bytes"),
        shape.to_string(),
        format!("namespaces: {}", list(&ns)),
    ];
    if !maps.is_empty() {
        parts.push(format!("id maps: {}", maps.join(", ")));
    }
    if !spec.pivot_root.is_empty() {
        parts.push(format!("new root at {}", spec.pivot_root));
    }
    if !spec.mounts.is_empty() {
        parts.push(format!("{} mounts", spec.mounts.len()));
    }
    if !spec.rlimits.is_empty() {
        let r: Vec<String> = spec
            .rlimits
            .iter()
            .map(|r| r.resource.name().to_string())
            .collect();
        parts.push(format!("limits: {}", r.join(", ")));
    }
    match spec.seccomp.as_slice() {
        [] => {}
        [filter] => parts.push(format!("seccomp: {} instructions", filter.len())),
        filters => {
            let sizes: Vec<String> = filters.iter().map(|f| f.len().to_string()).collect();
            parts.push(format!(
                "seccomp: {} filters of {} instructions",
                filters.len(),
                sizes.join(" + ")
            ));
        }
    }
    let program = spec
        .exec_path
        .clone()
        .or_else(|| spec.args.first().cloned())
        .unwrap_or_default();
    parts.push(format!("program: {program}"));
    parts.join("; ")
}

/// Tells the spec (the `spec:` line).
pub fn tell_spec(spec: &Spec) {
    if on() {
        say(&format!("spec: {}", describe(spec)));
    }
}

/// With the judge flags: the judge runs the program and owns its records, so only its
/// result is told (the JSON of --result-json).
pub fn judged(result_json: &str) {
    if on() {
        say(&format!("the judge's result: {result_json}"));
    }
}

/// Before the start: tells the spec and the helper, and when the spec lets it, asks the
/// helper for its sync record so that the end of the setup can be told when it happens.
pub fn before_start(runner: Runner, spec: &Spec) -> Runner {
    if !on() {
        return runner;
    }
    tell_spec(spec);
    match runner.find_helper() {
        Ok(path) => say(&format!(
            "helper: starting {} with the spec on a socket",
            path.display()
        )),
        Err(e) => say(&format!("helper: not found: {e}")),
    }
    if spec.sync || spec.status_fd.is_some() || spec.stops_before_exec() {
        // The spec's own sync, or records that go elsewhere: nothing to add.
        return runner;
    }
    let seccomp = !spec.seccomp.is_empty();
    runner.sync_func(move |pid: u32| -> Result<(), std::io::Error> {
        say(&format!(
            "setup done: namespaces, ids, fds, session, mounts and root, names, working \
             directory, limits and privileges are in place (the helper's sync record; the \
             program's pid is {pid}); next: {}execve",
            if seccomp { "the seccomp filter, " } else { "" }
        ));
        Ok(())
    })
}

/// After a successful start.
pub fn started(spec: &Spec, pid: u32) {
    if on() {
        let program = spec
            .exec_path
            .clone()
            .or_else(|| spec.args.first().cloned())
            .unwrap_or_default();
        say(&format!("executed {program} (pid {pid})"));
    }
}

/// After a failed start: the error record as the helper wrote it.
pub fn failed(e: &Error) {
    if !on() {
        return;
    }
    match e {
        Error::Child(c) => say(&record(c)),
        other => say(&format!("start failed: {other}")),
    }
}

fn record(c: &ChildError) -> String {
    format!(
        "setup failed: the helper's error record: location {} ({}), index {}, errno {} ({}), \
         detail {}",
        c.location_code(),
        c.location().map_or("unknown", |l| l.name()),
        c.index(),
        c.errno(),
        crate::check::errno_text(c.errno()),
        c.detail()
    )
}

/// The program ended.
pub fn ended(status: &WaitStatus) {
    if !on() {
        return;
    }
    let how = match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (_, Some(sig)) => format!("was killed by signal {sig}"),
        _ => "ended".to_string(),
    };
    let r = &status.rusage;
    say(&format!(
        "the program {how} (user {:.3} s, system {:.3} s, max RSS {} KiB)",
        r.user_time.as_secs_f64(),
        r.system_time.as_secs_f64(),
        r.max_rss_kib
    ));
}
