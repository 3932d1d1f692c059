//! `forkexec-run` from the outside: the built binary is run with flags and JSON specs, and what
//! the program sees is checked from inside with the probe (`forkexec-probe report`, `write`,
//! `syscall`, `exit`, `signal`, `sleep`), as are forkexec-run's own exit status and error
//! lines.
//!
//! The binary is `$FORKEXEC_RUN` if set (the unprivileged run copies it to a directory the
//! user can read), else cargo's `CARGO_BIN_EXE_forkexec-run`; the helper comes from
//! `$FORKEXEC_HELPER` (or the client's usual places) and the probe from `$FORKEXEC_PROBE`.
//! Every test runs as root and as an ordinary user; the few that only make sense one way say
//! so and return early.
use forkexec_testkit::support;
use forkexec_testkit::{root_needs, root_only};

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use forkexec_client::{MountEntry, MountOp, Namespace, Spec};
use serde_json::Value;
use support::{egid, euid, is_root, Cleanup};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The forkexec-run binary under test.
fn cli() -> PathBuf {
    match std::env::var_os("FORKEXEC_RUN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_forkexec-run")),
    }
}

fn probe() -> String {
    support::probe().to_string_lossy().into_owned()
}

/// `forkexec-run ARGS…` with the helper named, stdin from /dev/null.
fn command<S: AsRef<str>>(args: &[S]) -> Command {
    let mut c = Command::new(cli());
    c.args(args.iter().map(AsRef::as_ref))
        .env("FORKEXEC_HELPER", support::helper())
        .env_remove("XDG_RUNTIME_DIR")
        .stdin(Stdio::null());
    c
}

#[derive(Debug)]
struct Out {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

fn output(mut c: Command) -> Out {
    let o = c.output().expect("run forkexec-run");
    Out {
        status: o.status,
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn run<S: AsRef<str>>(args: &[S]) -> Out {
    output(command(args))
}

/// Strings from string slices.
fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Flags for a fresh root with just enough to run the (dynamically linked) probe and
/// /bin/sh: the host's /usr and the library and binary directories read-only, the probe at
/// /probe.
fn root_flags() -> Vec<String> {
    let mut v = strings(&["--ro-bind", "/usr", "/usr"]);
    for dir in ["/lib", "/lib64", "/bin"] {
        v.extend(strings(&["--ro-bind-try", dir, dir]));
    }
    v.extend(["--ro-bind".to_string(), probe(), "/probe".to_string()]);
    v
}

/// The entries [`root_flags`] puts in `/`.
fn root_entries() -> BTreeSet<String> {
    let mut s: BTreeSet<String> = ["usr", "probe"].iter().map(|s| s.to_string()).collect();
    for dir in ["lib", "lib64", "bin"] {
        if Path::new(&format!("/{dir}")).exists() {
            s.insert(dir.to_string());
        }
    }
    s
}

/// Parses the program's one line of JSON.
#[track_caller]
fn json_of(out: &Out) -> Value {
    assert!(
        out.status.success(),
        "forkexec-run failed: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        out.stdout,
        out.stderr
    );
    serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {:?}", out.stdout))
}

/// `forkexec-run FLAGS… -- <host probe> ARGS…`.
fn host_probe(flags: &[String], args: &[&str]) -> Out {
    let mut v = flags.to_vec();
    v.push("--".into());
    v.push(probe());
    v.extend(strings(args));
    run(&v)
}

/// `forkexec-run <root flags> FLAGS… -- /probe ARGS…`.
fn root_probe(flags: &[String], args: &[&str]) -> Out {
    let mut v = root_flags();
    v.extend_from_slice(flags);
    v.push("--".into());
    v.push("/probe".into());
    v.extend(strings(args));
    run(&v)
}

#[track_caller]
fn host_report(flags: &[&str]) -> Value {
    json_of(&host_probe(&strings(flags), &["report"]))
}

#[track_caller]
fn root_report(flags: &[&str]) -> Value {
    json_of(&root_probe(&strings(flags), &["report"]))
}

/// `/bin/sh -c SCRIPT` in a fresh root (with the root flags), stdout.
#[track_caller]
fn root_sh(flags: &[&str], script: &str) -> String {
    let mut v = root_flags();
    v.extend(strings(flags));
    v.extend(strings(&["--", "/bin/sh", "-c", script]));
    let out = run(&v);
    assert!(out.status.success(), "{out:?}");
    out.stdout
}

fn own_ns(name: &str) -> String {
    path_str(&fs::read_link(format!("/proc/self/ns/{name}")).unwrap())
}

/// The kernel's rendering of an id map line.
fn map_line(inside: u32, outside: u32, size: u32) -> String {
    format!("{inside:>10} {outside:>10} {size:>10}\n")
}

fn ids(v: &Value, key: &str) -> Vec<u64> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

fn env_of(v: &Value) -> Vec<String> {
    v["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

/// Polls `cond` every 10 ms for up to `secs` seconds.
fn eventually(secs: f64, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs_f64(secs);
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether `pid` exists and has not ended (a zombie has ended).
fn alive(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or("X");
    state != "Z" && state != "X"
}

fn kill(pid: u32, sig: i32) {
    // SAFETY: kill() with a pid and a signal number.
    unsafe { libc::kill(pid as i32, sig) };
}

/// forkexec-run started with stdout piped, killed on drop unless waited for.
struct Started {
    child: std::process::Child,
    out: BufReader<std::process::ChildStdout>,
}

impl Started {
    fn new<S: AsRef<str>>(args: &[S]) -> Started {
        let mut c = command(args);
        c.stdout(Stdio::piped());
        Started::from(c)
    }
    fn from(mut c: Command) -> Started {
        let mut child = c.spawn().unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        Started { child, out }
    }
    fn line(&mut self) -> String {
        let mut l = String::new();
        self.out.read_line(&mut l).unwrap();
        l.trim_end().to_string()
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Usage
// ---------------------------------------------------------------------------------------------

/// --help names every flag, the exit codes and the mapping rules; usage errors exit 125.
#[test]
fn help_lists_every_flag() {
    let out = run(&["--help"]);
    assert!(out.status.success(), "{out:?}");
    for flag in [
        "--spec",
        "--json",
        "--dump-spec",
        "--unshare-all",
        "--share-net",
        "--unshare-user",
        "--unshare-pid",
        "--unshare-net",
        "--no-loopback",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup",
        "--uid",
        "--gid",
        "--hostname",
        "--domainname",
        "--bind",
        "--ro-bind",
        "--dev-bind",
        "--bind-try",
        "--ro-bind-try",
        "--dev-bind-try",
        "--bind-fd",
        "--ro-bind-fd",
        "--tmpfs",
        "--size",
        "--perms",
        "--proc",
        "--dev",
        "--mqueue",
        "--dir",
        "--symlink",
        "--file",
        "--write-file",
        "--bind-data",
        "--ro-bind-data",
        "--remount-ro",
        "--mask",
        "--overlay-src",
        "--overlay",
        "--tmp-overlay",
        "--ro-overlay",
        "--writable-root",
        "--chdir",
        "--setenv",
        "--unsetenv",
        "--clearenv",
        "--rlimit",
        "--seccomp",
        "--add-seccomp",
        "--no-new-privs",
        "--drop-caps",
        "--die-with-parent",
        "--init",
        "--new-session",
        "--no-setsid",
        "--cgroup",
        "--argv0",
        "--help",
        "--version",
        "COMMAND",
    ] {
        assert!(out.stdout.contains(flag), "--help lacks {flag}");
    }
    for text in ["EXIT STATUS", "125", "126", "127", "pivot_root", "EXAMPLES"] {
        assert!(out.stdout.contains(text), "--help lacks {text}");
    }
    assert!(run(&["--version"]).status.success());

    let bad = run(&["--no-such-flag", "--", "/bin/true"]);
    assert_eq!(bad.status.code(), Some(125), "{bad:?}");
    let bad = run(&["--rlimit", "cpus=1", "--", "/bin/true"]);
    assert_eq!(bad.status.code(), Some(125), "{bad:?}");
    assert!(
        bad.stderr.contains("unknown rlimit resource `cpus`"),
        "{bad:?}"
    );
    let none = run::<&str>(&[]);
    assert_eq!(none.status.code(), Some(125), "{none:?}");
    assert!(
        none.stderr.starts_with("forkexec-run: no command"),
        "{none:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// JSON specs
// ---------------------------------------------------------------------------------------------

/// A spec file runs as written: its env (not the caller's), its args.
#[test]
fn json_spec_file_runs_as_written() {
    let mut c = Cleanup::default();
    let file = c.dir("spec").join("spec.json");
    let json = serde_json::json!({"args": [probe(), "report"], "env": ["A=1"]});
    fs::write(&file, json.to_string()).unwrap();
    let v = json_of(&run(&["--spec", &path_str(&file)]));
    assert_eq!(env_of(&v), ["A=1"]);
    assert_eq!(v["argv"][1], "report");
}

/// `--spec -` reads the spec from stdin.
#[test]
fn json_spec_from_stdin() {
    let json = serde_json::json!({"args": [probe(), "exit", "9"]}).to_string();
    let mut cmd = command(&["--spec", "-"]);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(json.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(9), "{o:?}");
}

/// Flags add to a spec file (env, limits) and override it (host name, command).
#[test]
fn flags_add_to_and_override_a_spec_file() {
    let mut c = Cleanup::default();
    let file = c.dir("spec").join("spec.json");
    let json = serde_json::json!({
        "args": ["/bin/false"],
        "env": ["A=1", "B=0"],
        "clone_flags": ["newuts"],
        "host_name": "from-file",
        "rlimits": [{"resource": "nofile", "cur": 100, "max": 100},
                    {"resource": "nproc", "cur": 1000, "max": 1000}],
    });
    fs::write(&file, json.to_string()).unwrap();
    let spec = path_str(&file);
    let flags = [
        "--spec",
        &spec,
        "--setenv",
        "B",
        "2",
        "--hostname",
        "from-flag",
        "--rlimit",
        "nofile=50",
    ];
    let v = host_report(&flags);
    assert_eq!(env_of(&v), ["A=1", "B=2"]);
    assert_eq!(v["hostname"], "from-flag");
    let nofile = libc::RLIMIT_NOFILE.to_string();
    let nproc = libc::RLIMIT_NPROC.to_string();
    assert_eq!(v["rlimits"][&nofile], serde_json::json!([50, 50]));
    assert_eq!(v["rlimits"][&nproc], serde_json::json!([1000, 1000]));
}

/// JSON errors name the key path and what was expected; unknown keys are errors; exit 125
/// and nothing runs.
#[test]
fn json_errors_name_the_key_path() {
    let mut c = Cleanup::default();
    let dir = c.dir("spec");
    let cases = [
        (
            r#"{"args": ["/bin/true"], "mounts": [{"target": "/x", "bogus": 1}]}"#,
            &[
                "mounts[0].bogus",
                "unknown field `bogus`",
                "expected one of",
            ][..],
        ),
        (
            r#"{"args": ["/bin/true"], "no_such_key": true}"#,
            &["no_such_key", "unknown field"],
        ),
        (
            r#"{"args": ["/bin/true"], "rlimits": [{"resource": "cpu", "cur": "x", "max": 1}]}"#,
            &["rlimits[0].cur", "expected a non-negative integer"],
        ),
        (
            r#"{"args": ["/bin/true"], "clone_flags": ["newfoo"]}"#,
            &["clone_flags[0]", "unknown clone flag `newfoo`", "newns"],
        ),
    ];
    for (i, (json, wanted)) in cases.iter().enumerate() {
        let file = dir.join(format!("{i}.json"));
        fs::write(&file, json).unwrap();
        let out = run(&["--spec", &path_str(&file)]);
        assert_eq!(out.status.code(), Some(125), "{json}: {out:?}");
        let line = out.stderr.trim_end();
        assert!(!line.contains('\n'), "one line: {line}");
        assert!(
            line.starts_with(&format!("forkexec-run: {}: ", file.display())),
            "{line}"
        );
        for w in *wanted {
            assert!(line.contains(w), "{json}: {line} lacks {w}");
        }
    }
    let out = run(&["--spec", "/nonexistent/spec.json"]);
    assert_eq!(out.status.code(), Some(125), "{out:?}");
}

/// --json prints a spec that --spec reads back and runs (the new root's directory is named,
/// not created, and the run creates and removes it); --dump-spec writes bytes the helper's
/// decoder accepts.
#[test]
fn json_output_round_trips_and_dump_spec_decodes() {
    let mut c = Cleanup::default();
    let dir = c.dir("json");
    let tmp = dir.join("tmpdir");
    fs::create_dir(&tmp).unwrap();
    let dump = dir.join("spec.bin");
    let mut args = root_flags();
    args.extend(strings(&[
        "--hostname",
        "rt",
        "--tmpfs",
        "/tmp",
        "--dump-spec",
    ]));
    args.push(path_str(&dump));
    args.extend(strings(&["--json", "--", "/probe", "report"]));
    let mut cmd = command(&args);
    cmd.env("TMPDIR", &tmp);
    let out = output(cmd);
    assert!(out.status.success(), "{out:?}");
    let spec = Spec::from_json(&out.stdout).expect("--json prints a valid spec");
    assert_eq!(spec.host_name, "rt");
    assert!(spec.clone_flags.contains(&Namespace::NewNs));
    assert!(spec.clone_flags.contains(&Namespace::NewUts));
    assert!(spec.pivot_root.starts_with(&path_str(&tmp)), "{spec:?}");
    assert!(
        !Path::new(&spec.pivot_root).exists(),
        "--json creates nothing"
    );
    assert_eq!(fs::read_dir(&tmp).unwrap().count(), 0);

    let bytes = fs::read(&dump).unwrap();
    let decoded = forkexec_spec::decode(&bytes).expect("the dumped spec decodes");
    assert_eq!(decoded.mounts.len(), spec.mounts.len());
    assert_eq!(bytes, spec.encode().unwrap());

    let file = dir.join("spec.json");
    fs::write(&file, &out.stdout).unwrap();
    let v = json_of(&run(&["--spec", &path_str(&file)]));
    assert_eq!(v["hostname"], "rt");
    assert_only_the_kept_root(&tmp);

    // --dump-spec while running.
    let dump2 = dir.join("run.bin");
    let out = host_probe(
        &strings(&["--dump-spec", &path_str(&dump2)]),
        &["exit", "3"],
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(forkexec_spec::decode(&fs::read(&dump2).unwrap()).is_ok());
}

/// The spec `forkexec-run --json ARGS…` prints (nothing runs).
#[track_caller]
fn json_spec(args: &[&str]) -> Spec {
    let mut v = vec!["--json"];
    v.extend_from_slice(args);
    let out = run(&v);
    assert!(out.status.success(), "{args:?}: {out:?}");
    Spec::from_json(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

/// The filesystem flags become mount operations ("type"d entries), in command-line order;
/// --size and --perms change the next one; --proc is followed by its read-only remount.
#[test]
fn filesystem_flags_are_mount_ops_in_order() {
    let spec = json_spec(&[
        "--ro-bind",
        "/usr",
        "/usr",
        "--bind",
        "/tmp",
        "/scratch",
        "--dev-bind-try",
        "/nonexistent-forkexec",
        "/dev/x",
        "--bind-try",
        "/nonexistent-forkexec",
        "/opt",
        "--bind-fd",
        "3",
        "/data",
        "--ro-bind-fd",
        "4",
        "/ro",
        "--size",
        "16m",
        "--tmpfs",
        "/tmp",
        "--perms",
        "0700",
        "--size",
        "4096",
        "--tmpfs",
        "/t2",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--mqueue",
        "/dev/mqueue",
        "--perms",
        "750",
        "--dir",
        "/work",
        "--dir",
        "relative/dir",
        "--symlink",
        "usr/bin",
        "/bin",
        "--file",
        "5",
        "/in",
        "--perms",
        "600",
        "--write-file",
        "/etc/hostname",
        "box\n",
        "--remount-ro",
        "/usr",
        "--mask",
        "/proc/kcore",
        "--bind-data",
        "6",
        "/etc/passwd",
        "--perms",
        "0644",
        "--ro-bind-data",
        "7",
        "/etc/group",
        "--writable-root",
        "--",
        "/bin/true",
    ]);
    let expected: Vec<MountEntry> = vec![
        MountOp::ro_bind("/usr", "/usr").into(),
        MountOp::bind("/tmp", "/scratch").into(),
        MountOp::dev_bind("/nonexistent-forkexec", "/dev/x")
            .optional()
            .into(),
        MountOp::bind("/nonexistent-forkexec", "/opt")
            .optional()
            .into(),
        MountOp::bind_fd(3, "/data").into(),
        MountOp::bind_fd(4, "/ro").read_only().into(),
        MountOp::tmpfs("/tmp").size(16 << 20).mode(0o1777).into(),
        MountOp::tmpfs("/t2").size(4096).mode(0o700).into(),
        MountOp::proc("/proc").into(),
        MountOp::remount_ro("/proc").into(),
        MountOp::dev("/dev").into(),
        MountOp::mqueue("/dev/mqueue").into(),
        MountOp::dir("/work").mode(0o750).into(),
        MountOp::dir("/relative/dir").into(),
        MountOp::symlink("usr/bin", "/bin").into(),
        MountOp::file_from_fd(5, "/in").into(),
        MountOp::file("/etc/hostname", "box\n").mode(0o600).into(),
        MountOp::remount_ro("/usr").into(),
        MountOp::mask("/proc/kcore").into(),
        MountOp::bind_data_from_fd(6, "/etc/passwd").into(),
        MountOp::bind_data_from_fd(7, "/etc/group")
            .mode(0o644)
            .read_only()
            .into(),
    ];
    assert_eq!(spec.mounts, expected);
    assert_eq!(spec.mounts[19].as_op().unwrap().mode, 0o600);
    assert!(spec.writable_root);
    assert!(!spec.pivot_root.is_empty(), "a fresh root");
    for ns in [Namespace::NewNs, Namespace::NewPid, Namespace::NewIpc] {
        assert!(spec.clone_flags.contains(&ns), "{ns}: {spec:?}");
    }
    // The whole thing is a spec the helper's decoder takes (fds 3, 4, 5 are above files).
    spec.encode().unwrap();

    // --writable-root alone brings a fresh root too.
    let spec = json_spec(&["--writable-root", "--", "/bin/true"]);
    assert!(spec.writable_root && !spec.pivot_root.is_empty());
    assert!(spec.clone_flags.contains(&Namespace::NewNs));

    // A bind onto / binds each entry of SRC, with the bind's flags.
    let spec = json_spec(&["--ro-bind", "/", "/", "--", "/bin/true"]);
    let usr = spec
        .mounts
        .iter()
        .find(|m| m.target() == "/usr")
        .and_then(MountEntry::as_op)
        .expect("/usr is bound");
    assert_eq!(usr, &MountOp::ro_bind("/usr", "/usr").optional());
    assert!(spec
        .mounts
        .iter()
        .all(|m| m.as_op().is_some_and(|op| op.readonly && !op.dev)));

    // A COMMAND is looked up through a --symlink.
    let spec = json_spec(&[
        "--ro-bind",
        "/usr",
        "/usr",
        "--symlink",
        "usr/bin",
        "/bin",
        "--clearenv",
        "--setenv",
        "PATH",
        "/bin",
        "--",
        "sh",
    ]);
    assert_eq!(spec.exec_path.as_deref(), Some("/bin/sh"));
}

/// Filesystem flags in the wrong place or with bad values: one line, exit 125.
#[test]
fn filesystem_flag_refusals() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--size", "1m", "--dir", "/d"],
            "--size applies to the next --tmpfs, but --dir follows it",
        ),
        (
            &["--perms", "700", "--proc", "/proc"],
            "--perms applies to the next --tmpfs, --dir, --file, --write-file, --bind-data or \
             --ro-bind-data, but --proc follows it",
        ),
        (
            &["--perms", "700", "--ro-bind", "/", "/"],
            "--perms applies to the next --tmpfs, --dir, --file, --write-file, --bind-data or \
             --ro-bind-data, but --ro-bind follows it",
        ),
        (
            &["--tmpfs", "/t", "--size", "1m"],
            "--size applies to the next --tmpfs, but the end of the mount flags follows it",
        ),
        (
            &["--size", "1m", "--size", "2m", "--tmpfs", "/t"],
            "--size given twice before the --tmpfs it applies to",
        ),
        (
            &["--perms", "999", "--dir", "/d"],
            "--perms: `999` is not an octal mode",
        ),
        (
            &["--perms", "17777", "--dir", "/d"],
            "--perms: mode 17777 is above 7777",
        ),
        (
            &["--size", "5x", "--tmpfs", "/t"],
            "--size: `5x` is not a size",
        ),
        (
            &["--bind-fd", "x", "/d"],
            "--bind-fd: `x` is not an fd number",
        ),
        (
            &["--file", "fd3", "/f"],
            "--file: `fd3` is not an fd number",
        ),
        (
            &["--ro-bind-data", "stdin", "/f"],
            "--ro-bind-data: `stdin` is not an fd number",
        ),
        (&["--symlink", "", "/l"], "--symlink: an empty link text"),
        (
            &["--overlay", "/u", "/w", "/o"],
            "--overlay requires at least one --overlay-src",
        ),
        (
            &["--overlay-src", "/a", "--ro-overlay", "/o"],
            "--ro-overlay requires at least two --overlay-src",
        ),
        (
            &["--overlay-src", "/a", "--tmpfs", "/t"],
            "--overlay-src must be followed by another --overlay-src or one of --overlay, \
             --tmp-overlay, or --ro-overlay",
        ),
        (
            &[
                "--overlay-src",
                "/a",
                "--tmp-overlay",
                "/o",
                "--overlay-src",
                "/a",
            ],
            "--overlay-src must be followed by another --overlay-src or one of --overlay, \
             --tmp-overlay, or --ro-overlay",
        ),
        (&["--dir", ""], "an empty mount target"),
    ];
    for (flags, wanted) in cases {
        let mut v = flags.to_vec();
        v.extend(["--json", "--", "/bin/true"]);
        let out = run(&v);
        assert_eq!(out.status.code(), Some(125), "{flags:?}: {out:?}");
        let line = out.stderr.trim_end();
        assert!(!line.contains('\n'), "one line: {line}");
        assert!(
            line.starts_with(&format!("forkexec-run: {wanted}")),
            "{flags:?}: {line}"
        );
    }

    // --writable-root with a spec that has mounts but no new root.
    let mut c = Cleanup::default();
    let file = c.dir("wr").join("spec.json");
    fs::write(
        &file,
        r#"{"args": ["/bin/true"], "clone_flags": ["newns"], "mounts": [{"type": "tmpfs", "target": "/mnt"}]}"#,
    )
    .unwrap();
    let out = run(&["--spec", &path_str(&file), "--writable-root", "--json"]);
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    assert!(
        out.stderr.contains("--writable-root needs a new root"),
        "{out:?}"
    );
}

/// The overlay flags: `--overlay-src` directories (bottom first, as bubblewrap lists them,
/// made absolute) become the next overlay's `lower`, topmost first.
#[test]
fn overlay_flags_become_overlay_ops() {
    let spec = json_spec(&[
        "--overlay-src",
        "/l1",
        "--overlay-src",
        "rel",
        "--overlay",
        "/u",
        "w",
        "/o",
        "--overlay-src",
        "/l1",
        "--tmp-overlay",
        "/t",
        "--overlay-src",
        "/l1",
        "--overlay-src",
        "/l2",
        "--ro-overlay",
        "/r",
        "--",
        "/bin/true",
    ]);
    let cwd = std::env::current_dir().unwrap();
    let abs = |p: &str| path_str(&cwd.join(p));
    let ops: Vec<&MountOp> = spec.mounts.iter().filter_map(MountEntry::as_op).collect();
    assert_eq!(
        ops,
        [
            &MountOp::overlay([abs("rel"), "/l1".into()], "/u", abs("w"), "/o"),
            &MountOp::tmp_overlay(["/l1"], "/t"),
            &MountOp::ro_overlay(["/l2", "/l1"], "/r"),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Filesystem flags
// ---------------------------------------------------------------------------------------------

/// A fresh root holds only what the flags put there, read-only; its directory (in $TMPDIR)
/// is gone after the run, and after a failed run too.
#[test]
fn fresh_root_has_only_what_was_mounted() {
    let mut c = Cleanup::default();
    let tmp = c.dir("tmpdir");
    let mut args = root_flags();
    args.extend(strings(&["--tmpfs", "/scratch", "--", "/probe", "report"]));
    let mut cmd = command(&args);
    cmd.env("TMPDIR", &tmp);
    let v = json_of(&output(cmd));
    let root: BTreeSet<String> = v["root"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    let mut expected = root_entries();
    expected.insert("scratch".into());
    assert_eq!(root, expected);
    assert_only_the_kept_root(&tmp);

    let out = root_probe(&[], &["write", "/new-file", "x"]);
    assert_eq!(json_of(&out)["errno"], libc::EROFS, "/ is read-only");

    let mut cmd = command(&["--bind", "/nonexistent-source", "/data", "--", "/bin/true"]);
    cmd.env("TMPDIR", &tmp);
    assert_eq!(output(cmd).status.code(), Some(125));
    assert_only_the_kept_root(&tmp);
}

/// After runs with a fresh root, `dir` ($TMPDIR) holds only the new root's mount point, kept
/// for the next run, mode 0700 and empty: nothing the sandbox did reached it.
fn assert_only_the_kept_root(dir: &Path) {
    let entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let root = dir.join(format!("forkexec-run-root-{}", euid()));
    assert_eq!(entries, vec![root.clone()], "only the kept root");
    let meta = fs::symlink_metadata(&root).unwrap();
    assert!(meta.is_dir());
    assert_eq!(meta.permissions().mode() & 0o7777, 0o700);
    assert_eq!(fs::read_dir(&root).unwrap().count(), 0, "the root is empty");
}

/// --ro-bind: writes fail with EROFS; --bind: writes reach the host.
#[test]
fn ro_bind_refuses_writes_and_bind_takes_them() {
    let mut c = Cleanup::default();
    let dir = c.dir("data");
    let d = path_str(&dir);
    let out = root_probe(
        &strings(&["--ro-bind", &d, "/data"]),
        &["write", "/data/x", "no"],
    );
    assert_eq!(json_of(&out)["errno"], libc::EROFS);
    assert!(!dir.join("x").exists());

    let out = root_probe(
        &strings(&["--bind", &d, "/data"]),
        &["write", "/data/x", "yes"],
    );
    assert_eq!(json_of(&out)["ok"], true);
    assert_eq!(fs::read_to_string(dir.join("x")).unwrap(), "yes");

    // A file source gets a file target.
    let file = dir.join("file");
    fs::write(&file, "content").unwrap();
    let script = "cat /etc/file";
    let f = path_str(&file);
    assert_eq!(root_sh(&["--ro-bind", &f, "/etc/file"], script), "content");

    // --ro-bind-try skips a missing source; --ro-bind does not.
    let out = root_probe(
        &strings(&["--ro-bind-try", "/nonexistent-source", "/x"]),
        &["exit", "0"],
    );
    assert!(out.status.success(), "{out:?}");
}

/// `--ro-bind / /` binds each entry of / read-only: the host's tree, unwritable.
#[test]
fn ro_bind_of_the_whole_root() {
    let v = json_of(&host_probe(&strings(&["--ro-bind", "/", "/"]), &["report"]));
    let root: Vec<&str> = v["root"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    for dir in ["usr", "etc", "tmp"] {
        assert!(root.contains(&dir), "{root:?}");
    }
    let out = host_probe(
        &strings(&["--ro-bind", "/", "/"]),
        &["write", "/tmp/forkexec-run-test-ro", "x"],
    );
    assert_eq!(json_of(&out)["errno"], libc::EROFS);
}

/// --tmpfs: a fresh, writable tmpfs (seen through a fresh /proc).
#[test]
fn tmpfs_is_a_fresh_writable_tmpfs() {
    let out = root_sh(
        &["--tmpfs", "/tmp", "--proc", "/proc"],
        "echo hi > /tmp/x && cat /tmp/x && ls -A /tmp | wc -l && grep ' /tmp ' /proc/self/mountinfo",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "hi");
    assert_eq!(lines[1].trim(), "1", "only the file just written");
    assert!(lines[2].contains(" - tmpfs "), "{out}");
}

/// --proc: a new pid namespace, and a proc that shows only its processes.
/// Overlays end to end: reads from the topmost layer, writes into upper (overlay), into a
/// tmpfs gone with the sandbox (tmp_overlay), or refused (ro_overlay).
#[test]
fn overlays_from_the_command_line() {
    let mut c = Cleanup::default();
    let dir = c.dir("cli-overlay");
    for d in ["l1", "l2", "up", "wk"] {
        fs::create_dir(dir.join(d)).unwrap();
    }
    for (f, v) in [("l1/a", "1"), ("l1/b", "2"), ("l2/b", "3")] {
        fs::write(dir.join(f), v).unwrap();
    }
    let d = |p: &str| path_str(&dir.join(p));
    let (l1, l2, up, wk) = (d("l1"), d("l2"), d("up"), d("wk"));
    let out = root_sh(
        &[
            "--overlay-src",
            &l1,
            "--overlay-src",
            &l2,
            "--overlay",
            &up,
            &wk,
            "/o",
            "--overlay-src",
            &l1,
            "--tmp-overlay",
            "/t",
            "--overlay-src",
            &l1,
            "--overlay-src",
            &l2,
            "--ro-overlay",
            "/r",
        ],
        "cat /o/a /o/b; printf 5 > /o/b; printf 6 > /t/b; cat /t/b; \
         if printf 7 2>/dev/null > /r/b; then echo rw; else echo ro; fi",
    );
    assert_eq!(out, "136ro\n");
    assert_eq!(fs::read_to_string(dir.join("up/b")).unwrap(), "5");
    assert_eq!(fs::read_to_string(dir.join("l1/b")).unwrap(), "2");
    assert_eq!(fs::read_to_string(dir.join("l2/b")).unwrap(), "3");
}

#[test]
fn proc_shows_only_the_sandbox() {
    let out = root_sh(&["--proc", "/proc"], "echo $$; ls /proc");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("1"), "the shell is pid 1");
    let pids: Vec<u32> = lines.filter_map(|l| l.parse().ok()).collect();
    assert!(pids.contains(&1), "{pids:?}");
    assert!(pids.iter().all(|&p| p <= 3), "only the sandbox's: {pids:?}");
}

/// --dev: the helper's minimal /dev (the six device nodes, pts and ptmx, shm, the fd and core
/// links) and nothing else, working.
#[test]
fn dev_has_the_nodes_and_nothing_else() {
    let out = root_sh(
        &["--dev", "/dev"],
        "LC_ALL=C ls -A /dev | tr '\\n' ' '; echo; head -c 16 /dev/urandom | wc -c; \
         echo x > /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c; readlink /dev/fd",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0].trim(),
        "core fd full null ptmx pts random shm stderr stdin stdout tty urandom zero",
        "{out}"
    );
    assert_eq!(lines[1].trim(), "16");
    assert_eq!(lines[2], "null-ok");
    assert_eq!(lines[3].trim(), "4");
    assert_eq!(lines[4], "/proc/self/fd");
}

/// --chdir, and the default: the caller's directory when the same path is bound, else /.
#[test]
fn chdir_and_the_default_working_directory() {
    assert_eq!(host_report(&["--chdir", "/usr"])["cwd"], "/usr");
    assert_eq!(
        root_report(&["--tmpfs", "/w", "--chdir", "/w"])["cwd"],
        "/w"
    );

    let mut v = root_flags();
    v.extend(strings(&["--", "/probe", "report"]));
    let mut cmd = command(&v);
    cmd.current_dir("/usr/bin");
    assert_eq!(json_of(&output(cmd))["cwd"], "/usr/bin");

    let mut c = Cleanup::default();
    let mut cmd = command(&v);
    cmd.current_dir(c.dir("elsewhere"));
    assert_eq!(json_of(&output(cmd))["cwd"], "/");
}

// ---------------------------------------------------------------------------------------------
// Namespaces, names, ids
// ---------------------------------------------------------------------------------------------

/// --hostname sets the name in a new UTS namespace.
#[test]
fn hostname_in_a_new_uts_namespace() {
    let v = host_report(&["--hostname", "sandbox-x", "--domainname", "dom-y"]);
    assert_eq!(v["hostname"], "sandbox-x");
    assert_eq!(v["domainname"], "dom-y");
    assert_ne!(v["ns"]["uts"], own_ns("uts"));
}

/// --unshare-net and --unshare-all bring the new namespace's `lo` up, as bubblewrap does: TCP
/// works on 127.0.0.1 and ::1 inside; --no-loopback leaves it down.
#[test]
fn a_new_network_namespace_has_its_loopback_up() {
    let trip = |flags: &[&str]| {
        let v = json_of(&host_probe(&strings(flags), &["loopback"]));
        (v["127.0.0.1"].clone(), v["::1"].clone())
    };
    let ok = (Value::from("ok"), Value::from("ok"));
    assert_eq!(trip(&["--unshare-net"]), ok);
    assert_eq!(trip(&["--unshare-all"]), ok);
    for flags in [
        &["--unshare-net", "--no-loopback"][..],
        &["--unshare-all", "--no-loopback"],
    ] {
        let (v4, v6) = trip(flags);
        assert!(v4 != "ok" && v6 != "ok", "{flags:?}: {v4} {v6}");
    }
}

/// --unshare-all: every namespace differs from the host's; --share-net keeps the network.
#[test]
fn unshare_all_namespaces_differ() {
    let v = host_report(&["--unshare-all"]);
    for ns in ["cgroup", "ipc", "mnt", "net", "pid", "user", "uts"] {
        assert_ne!(v["ns"][ns], own_ns(ns), "{ns}");
    }
    assert_eq!(v["pid"], 1);
    let v = host_report(&["--unshare-all", "--share-net"]);
    assert_eq!(v["ns"]["net"], own_ns("net"));
    assert_ne!(v["ns"]["ipc"], own_ns("ipc"));

    for (flag, ns) in [
        ("--unshare-net", "net"),
        ("--unshare-ipc", "ipc"),
        ("--unshare-uts", "uts"),
        ("--unshare-cgroup", "cgroup"),
        ("--unshare-pid", "pid"),
        ("--unshare-user", "user"),
    ] {
        let v = host_report(&[flag]);
        assert_ne!(v["ns"][ns], own_ns(ns), "{flag}");
        assert_eq!(
            v["ns"]["mnt"],
            own_ns("mnt"),
            "{flag} alone makes no mount namespace"
        );
    }
}

/// --uid/--gid: the caller mapped to them in a user namespace (its own ids by default) onto
/// the host ids (the caller's own; as root 65534, see tests/safe.rs); as root without one,
/// the credential; as an ordinary user, they imply a user namespace.
#[test]
fn uid_and_gid_inside() {
    let (host_uid, host_gid) = if is_root() {
        (65534, 65534)
    } else {
        (euid(), egid())
    };
    let v = host_report(&["--unshare-user", "--uid", "0", "--gid", "0"]);
    assert_eq!(ids(&v, "uid"), [0, 0, 0]);
    assert_eq!(ids(&v, "gid"), [0, 0, 0]);
    assert_eq!(v["uid_map"], map_line(0, host_uid, 1));
    assert_eq!(v["gid_map"], map_line(0, host_gid, 1));

    let v = host_report(&["--unshare-user", "--uid", "1234", "--gid", "4321"]);
    assert_eq!(ids(&v, "uid"), [1234, 1234, 1234]);
    assert_eq!(ids(&v, "gid"), [4321, 4321, 4321]);
    assert_eq!(v["uid_map"], map_line(1234, host_uid, 1));

    let v = host_report(&["--unshare-user"]);
    let own = u64::from(euid());
    assert_eq!(ids(&v, "uid"), [own, own, own]);
    assert_eq!(v["uid_map"], map_line(euid(), host_uid, 1));

    // As root this becomes a credential: uid 1234 must be able to reach the probe, which a
    // checkout under a private directory does not allow. Run a world-readable copy.
    let mut c = support::Cleanup::default();
    let dir = c.dir("cli-probe");
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let copy = dir.join("forkexec-probe");
    std::fs::copy(probe(), &copy).unwrap();
    let mut v = strings(&["--uid", "1234", "--gid", "4321", "--"]);
    v.push(copy.to_string_lossy().into_owned());
    v.push("report".into());
    let v = json_of(&run(&v));
    assert_eq!(ids(&v, "uid"), [1234, 1234, 1234]);
    assert_eq!(ids(&v, "gid"), [4321, 4321, 4321]);
    if is_root() {
        assert_eq!(
            v["ns"]["user"],
            own_ns("user"),
            "root: a credential, no namespace"
        );
        assert_eq!(v["groups"], serde_json::json!([]));
    } else {
        assert_ne!(v["ns"]["user"], own_ns("user"), "user: a namespace");
        assert_eq!(v["uid_map"], map_line(1234, euid(), 1));
    }
}

/// As an ordinary user, any namespace brings a user namespace with the caller's own ids.
#[test]
fn ordinary_user_gets_a_user_namespace_for_other_namespaces() {
    if is_root() {
        // An ordinary user's rule; as root --unshare-ipc makes no user namespace.
        let v = host_report(&["--unshare-ipc"]);
        assert_eq!(v["ns"]["user"], own_ns("user"));
        return;
    }
    let v = host_report(&["--unshare-ipc"]);
    assert_ne!(v["ns"]["user"], own_ns("user"));
    let own = u64::from(euid());
    assert_eq!(ids(&v, "uid"), [own, own, own]);
}

// ---------------------------------------------------------------------------------------------
// Process flags
// ---------------------------------------------------------------------------------------------

/// --rlimit NAME=VALUE sets both limits, NAME=SOFT:HARD each, an empty side keeps the
/// current value, "unlimited" is RLIM_INFINITY.
#[test]
fn rlimits_are_set() {
    let mut hard_stack = libc::rlimit64 {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit64 fills a struct we own.
    unsafe { libc::getrlimit64(libc::RLIMIT_STACK, &mut hard_stack) };
    let v = host_report(&[
        "--rlimit",
        "nofile=64",
        "--rlimit",
        "cpu=1:2",
        "--rlimit",
        "core=0",
        "--rlimit",
        "stack=1048576:",
    ]);
    let lim = |r: u32| v["rlimits"][r.to_string()].clone();
    assert_eq!(lim(libc::RLIMIT_NOFILE), serde_json::json!([64, 64]));
    assert_eq!(lim(libc::RLIMIT_CPU), serde_json::json!([1, 2]));
    assert_eq!(lim(libc::RLIMIT_CORE), serde_json::json!([0, 0]));
    assert_eq!(
        lim(libc::RLIMIT_STACK),
        serde_json::json!([1048576, hard_stack.rlim_max])
    );
    if hard_stack.rlim_max == libc::RLIM64_INFINITY {
        let v = host_report(&["--rlimit", "stack=8388608:unlimited"]);
        let stack = &v["rlimits"][libc::RLIMIT_STACK.to_string()];
        assert_eq!(*stack, serde_json::json!([8388608, u64::MAX]));
    }
}

/// The caller's environment passes unless --clearenv; --setenv/--unsetenv in order.
#[test]
fn environment_flags() {
    let mut v = strings(&["--setenv", "FOO", "bar", "--unsetenv", "FXRUN_GONE", "--"]);
    v.extend([probe(), "report".into()]);
    let mut cmd = command(&v);
    cmd.env("FXRUN_MARK", "present").env("FXRUN_GONE", "x");
    let env = env_of(&json_of(&output(cmd)));
    assert!(env.contains(&"FXRUN_MARK=present".to_string()), "{env:?}");
    assert!(env.contains(&"FOO=bar".to_string()), "{env:?}");
    assert!(!env.iter().any(|e| e.starts_with("FXRUN_GONE=")), "{env:?}");

    let v = host_report(&[
        "--clearenv",
        "--setenv",
        "A",
        "1",
        "--setenv",
        "B",
        "2",
        "--unsetenv",
        "B",
        "--setenv",
        "A",
        "3",
    ]);
    assert_eq!(env_of(&v), ["A=3"]);
    let bad = run(&["--setenv", "A=B", "c", "--", "/bin/true"]);
    assert_eq!(bad.status.code(), Some(125), "{bad:?}");
}

/// --seccomp judge: the shipped policy denies socket (with an errno or by killing the
/// program); without it socket works. A policy that cannot be read is a setup error.
#[test]
fn seccomp_judge_denies_socket() {
    let allowed = json_of(&host_probe(&[], &["syscall", "socket"]));
    assert!(allowed["ret"].as_i64().unwrap() >= 0, "{allowed}");

    let out = host_probe(&strings(&["--seccomp", "judge"]), &["syscall", "socket"]);
    match out.status.signal() {
        Some(sig) => assert_eq!(sig, libc::SIGSYS, "{out:?}"),
        None => {
            let v = json_of(&out);
            assert!(v["ret"].as_i64().unwrap() < 0, "socket allowed: {v}");
        }
    }
    let out = run(&["--seccomp", "/nonexistent/policy.json", "--", "/bin/true"]);
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    assert!(out.stderr.starts_with("forkexec-run: --seccomp"), "{out:?}");
}

/// --add-seccomp stacks policies after --seccomp's, in order: each is loaded (the second's
/// errno shows), and a first policy that refuses prctl stops the second (seccomp(1)).
#[test]
fn add_seccomp_stacks_policies_in_order() {
    let dir = forkexec_testkit::chain::TempDir::new("policies");
    let policy = |name: &str, deny: &str| {
        let path = dir.path().join(name);
        let json = format!(
            r#"{{"default_action": "allow", "syscalls": [{{"names": ["{deny}"], "action": {{"errno": "EACCES"}}}}]}}"#
        );
        fs::write(&path, json).unwrap();
        path_str(&path)
    };
    let (no_getppid, no_prctl) = (policy("a.json", "getppid"), policy("b.json", "prctl"));
    let allowed = json_of(&host_probe(&[], &["syscall", "getppid"]));
    assert!(allowed["ret"].as_i64().unwrap() > 0, "{allowed}");
    let flags = strings(&["--add-seccomp", &no_getppid, "--add-seccomp", &no_prctl]);
    let v = json_of(&host_probe(&flags, &["syscall", "getppid"]));
    assert_eq!(v["errno"], libc::EACCES, "{v}");
    // The spec has both programs, in order.
    let out = run(&[
        "--json",
        "--add-seccomp",
        &no_getppid,
        "--add-seccomp",
        &no_prctl,
        "--",
        "/bin/true",
    ]);
    let spec: Spec = Spec::from_json(&out.stdout).unwrap();
    assert_eq!(spec.seccomp.len(), 2);
    // The first refuses prctl, the call that loads the second: nothing runs.
    let out = run(&[
        "--seccomp",
        &no_prctl,
        "--add-seccomp",
        &no_getppid,
        "--",
        "/bin/echo",
        "ran",
    ]);
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.contains("seccomp(1): permission denied"),
        "{out:?}"
    );
}

/// --init: pid 1 is the helper's init, the program pid 2, and it can die of its own signal.
#[test]
fn init_runs_the_program_as_pid_2() {
    let v = host_report(&["--init"]);
    assert_eq!(v["pid"], 2);
    assert_eq!(v["ppid"], 1);
    let out = host_probe(&strings(&["--init"]), &["signal", "15"]);
    assert_eq!(out.status.signal(), Some(libc::SIGTERM), "{out:?}");
}

/// --die-with-parent: SIGKILL of the process that ran forkexec-run takes the program down,
/// whether forkexec-run executed the helper in its place or stayed (--stay); without it the
/// program outlives that process. (With it the program is pid 1 of a pid namespace, so its
/// host pid is found by a command line of its own; tests/safe.rs has its children too.)
#[test]
fn die_with_parent() {
    for stay in [false, true] {
        for on in [true, false] {
            let mut v = strings(&["/bin/sh", "-c", "\"$@\" & wait", "sh"]);
            v.push(path_str(&cli()));
            if on {
                v.push("--die-with-parent".to_string());
            }
            if stay {
                v.push("--stay".to_string());
            }
            let token = format!(
                "{}.{}{}",
                600_000 + std::process::id() % 100_000,
                on as u8,
                stay as u8
            );
            let script = format!("echo ready; exec /bin/sleep {token}");
            v.extend(strings(&["--", "/bin/sh", "-c", &script]));
            let mut c = Command::new(&v[0]);
            c.args(&v[1..])
                .env("FORKEXEC_HELPER", support::helper())
                .stdin(Stdio::null())
                .stdout(Stdio::piped());
            let mut s = Started::from(c);
            assert_eq!(s.line(), "ready");
            let with_token = || -> Vec<u32> {
                fs::read_dir("/proc")
                    .unwrap()
                    .flatten()
                    .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                    .filter(|pid| {
                        fs::read(format!("/proc/{pid}/cmdline"))
                            .is_ok_and(|c| c == format!("/bin/sleep\0{token}\0").as_bytes())
                    })
                    .collect()
            };
            assert!(eventually(5.0, || with_token().len() == 1));
            let target = with_token()[0];
            assert!(alive(target));
            s.child.kill().unwrap();
            s.child.wait().unwrap();
            if on {
                assert!(
                    eventually(3.0, || !alive(target)),
                    "the program outlived its runner's parent (stay {stay})"
                );
            } else {
                std::thread::sleep(Duration::from_millis(200));
                assert!(
                    alive(target),
                    "the program died without --die-with-parent (stay {stay})"
                );
                kill(target, libc::SIGKILL);
            }
        }
    }
}

/// stdin, stdout and stderr pass through.
#[test]
fn stdio_passes_through() {
    let mut cmd = command(&["--", "/bin/sh", "-c", "cat; echo err >&2"]);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout), "hello\n");
    assert_eq!(String::from_utf8_lossy(&o.stderr), "err\n");
}

/// A bare COMMAND is found in PATH as the sandbox sees it; one found nowhere is exit 127.
#[test]
fn bare_command_is_looked_up_in_path() {
    let out = run(&[
        "--clearenv",
        "--setenv",
        "PATH",
        "/usr/bin:/bin",
        "--",
        "sh",
        "-c",
        "echo ok",
    ]);
    assert_eq!(out.stdout, "ok\n", "{out:?}");
    let mut v = root_flags();
    v.extend(strings(&["--", "sh", "-c", "echo in-root"]));
    assert_eq!(run(&v).stdout, "in-root\n");
    let out = run(&["--", "no-such-command-forkexec"]);
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    assert!(
        out.stderr
            .contains("no-such-command-forkexec: command not found"),
        "{out:?}"
    );
    // Present on the host, but not in a root that has only /probe.
    let p = probe();
    let out = run(&["--ro-bind", &p, "/probe", "--", "sh"]);
    assert_eq!(out.status.code(), Some(127), "{out:?}");
}

// ---------------------------------------------------------------------------------------------
// Exit status and errors
// ---------------------------------------------------------------------------------------------

/// The program's exit code is forkexec-run's, in place and supervised.
#[test]
fn exit_code_passes_through() {
    for flags in [vec![], strings(&["--unshare-pid"]), strings(&["--init"])] {
        let out = host_probe(&flags, &["exit", "7"]);
        assert_eq!(out.status.code(), Some(7), "{flags:?}: {out:?}");
        let out = host_probe(&flags, &["exit", "0"]);
        assert_eq!(out.status.code(), Some(0), "{flags:?}: {out:?}");
    }
}

/// A program killed by a signal: forkexec-run dies of the same signal.
#[test]
fn signal_passes_through() {
    for sig in [libc::SIGTERM, libc::SIGKILL, libc::SIGUSR1] {
        let out = host_probe(&[], &["signal", &sig.to_string()]);
        assert_eq!(out.status.signal(), Some(sig), "{out:?}");
        assert!(!out.status.core_dumped());
    }
}

/// SIGTERM to forkexec-run goes to the program (which dies of it, and so does
/// forkexec-run); in the supervised shape through the helper to a program that handles it.
#[test]
fn signals_are_forwarded() {
    let script = format!("echo $$; exec {} sleep 30", probe());
    let mut s = Started::new(&["--", "/bin/sh", "-c", &script]);
    let target: u32 = s.line().parse().unwrap();
    kill(s.child.id(), libc::SIGTERM);
    let status = s.child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    assert!(eventually(3.0, || !alive(target)), "the program still runs");

    let script = "trap 'exit 5' TERM; echo ready; while :; do sleep 0.05; done";
    let mut s = Started::new(&["--unshare-pid", "--", "/bin/sh", "-c", script]);
    assert_eq!(s.line(), "ready");
    kill(s.child.id(), libc::SIGTERM);
    assert_eq!(s.child.wait().unwrap().code(), Some(5));
}

/// A missing bind source: one line naming the mount's index and the source, exit 125.
#[test]
fn missing_bind_source_names_the_mount() {
    let out = run(&[
        "--bind",
        "/nonexistent-forkexec",
        "/data",
        "--",
        "/bin/true",
    ]);
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    assert_eq!(
        out.stderr,
        "forkexec-run: mount(source)(0) /nonexistent-forkexec: no such file or directory\n"
    );
    let out = run(&[
        "--tmpfs",
        "/a",
        "--tmpfs",
        "/b",
        "--bind",
        "/nonexistent-forkexec",
        "/c/d",
        "--",
        "/bin/true",
    ]);
    assert_eq!(
        out.stderr,
        "forkexec-run: mount(source)(2) /nonexistent-forkexec: no such file or directory\n"
    );
}

/// execve's ENOENT is 127, EACCES and ENOEXEC 126, each with one line naming the program.
#[test]
fn exec_failures_are_126_and_127() {
    let out = run(&["--", "/nonexistent/program"]);
    assert_eq!(out.status.code(), Some(127), "{out:?}");
    assert_eq!(
        out.stderr,
        "forkexec-run: execve(0) /nonexistent/program: no such file or directory\n"
    );

    let mut c = Cleanup::default();
    let dir = c.dir("exec");
    let plain = dir.join("not-executable");
    fs::write(&plain, "#!/bin/sh\nexit 0\n").unwrap();
    fs::set_permissions(&plain, fs::Permissions::from_mode(0o644)).unwrap();
    let out = run(&["--", &path_str(&plain)]);
    assert_eq!(out.status.code(), Some(126), "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "forkexec-run: execve(0) {}: permission denied\n",
            plain.display()
        )
    );

    let garbage = dir.join("garbage");
    fs::write(&garbage, [0u8, 1, 2, 3, 4, 5, 6, 7]).unwrap();
    fs::set_permissions(&garbage, fs::Permissions::from_mode(0o755)).unwrap();
    let out = run(&["--", &path_str(&garbage)]);
    assert_eq!(out.status.code(), Some(126), "{out:?}");
    assert!(out.stderr.contains("exec format error"), "{out:?}");
}

/// Other setup failures name what failed: a missing --chdir directory.
#[test]
fn chdir_failure_names_the_directory() {
    let out = run(&["--chdir", "/nonexistent-dir", "--", "/bin/true"]);
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    assert_eq!(
        out.stderr,
        "forkexec-run: chdir(0) /nonexistent-dir: no such file or directory\n"
    );
}

/// --cgroup places the program in a cgroup (v2) directory (root only: creating one needs
/// root here).
#[test]
fn cgroup_placement() {
    root_only!("cgroup placement needs root");
    let v2 = forkexec_testkit::cgroup::v2();
    root_needs!(v2.is_some(), "no cgroup v2 hierarchy here");
    let name = format!("forkexec-run-test-{}", std::process::id());
    let dir = v2.unwrap().join(&name);
    fs::create_dir(&dir).unwrap();
    let v = host_report(&["--cgroup", &path_str(&dir)]);
    let _ = fs::remove_dir(&dir);
    let cgroup = v["cgroup"].as_str().unwrap();
    assert!(
        cgroup.lines().any(|l| l == format!("0::/{name}")),
        "{cgroup}"
    );
}

// ---------------------------------------------------------------------------------------------
// The documentation's examples
// ---------------------------------------------------------------------------------------------

const CLI_MD: &str = include_str!("../../../docs/cli.md");
const JSON_MD: &str = include_str!("../../../docs/json.md");

/// The body of the first fenced block opening with `fence` in `text`, and the text after it.
fn fenced<'a>(text: &'a str, fence: &str) -> Option<(&'a str, &'a str)> {
    let start = text.find(fence)? + fence.len();
    let len = text[start..].find("\n```")?;
    Some((&text[start..start + len + 1], &text[start + len + 4..]))
}

/// Every `<!-- run -->` example of docs/cli.md: its ```sh block and the ```text block after it.
fn run_examples(doc: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(at) = rest.find("<!-- run -->") {
        rest = &rest[at + 1..];
        let (script, after) = fenced(rest, "```sh\n").expect("a sh block after <!-- run -->");
        let next = after.trim_start();
        assert!(
            next.starts_with("```text\n"),
            "a text block right after: {script}"
        );
        let (expected, after) = fenced(next, "```text\n").unwrap();
        out.push((script.to_string(), expected.to_string()));
        rest = after;
    }
    out
}

/// docs/cli.md's examples run, with the output shown (stdout and stderr together, by
/// /bin/sh, with this forkexec-run first on PATH).
#[test]
fn cli_md_examples_run_as_shown() {
    let examples = run_examples(CLI_MD);
    assert!(examples.len() >= 7, "{} examples", examples.len());
    let bin = cli().parent().unwrap().to_path_buf();
    for (script, expected) in examples {
        let mut c = Cleanup::default();
        let dir = c.dir("doc");
        let o = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("exec 2>&1\n{script}"))
            .current_dir(&dir)
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("FORKEXEC_HELPER", support::helper())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&o.stdout), expected, "{script}");
    }
}

/// docs/json.md's complete example parses and runs as shown (with its pivot_root moved to a
/// scratch directory, and --uid 0 --gid 0 mapping the caller as the page says).
#[test]
fn json_md_example_runs_as_shown() {
    let (_, block) = JSON_MD.split_once("<!-- example:begin").unwrap();
    let (json, after) = fenced(block, "```json\n").unwrap();
    let mut spec = Spec::from_json(json).expect("the example is a valid spec");
    assert!(
        spec.init && spec.drop_caps && spec.mounts.len() == 8,
        "{spec:?}"
    );
    assert!(
        spec.mounts.iter().all(|m| m.as_op().is_some()),
        "the example uses mount operations"
    );
    let mut c = Cleanup::default();
    let dir = c.dir("json-example");
    spec.pivot_root = path_str(&dir.join("root"));
    let file = dir.join("example.json");
    fs::write(&file, spec.to_json()).unwrap();
    let out = run(&["--spec", &path_str(&file), "--uid", "0", "--gid", "0"]);
    let (_, expected) = after.split_once("```text\n").unwrap();
    let expected = &expected[..expected.find("```").unwrap()];
    assert_eq!(out.stdout, expected, "{out:?}");
    assert!(out.status.success(), "{out:?}");
    let root = dir.join("root");
    assert_eq!(
        fs::read_dir(&root).unwrap().count(),
        0,
        "the mount point, kept empty"
    );
}
