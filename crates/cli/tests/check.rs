//! `forkexec-run check` and the explanations under a failed start's error line, from the
//! outside: answers compared with what other tools and the kernel's own files say, refusals
//! made for real (a user namespace whose `user.max_user_namespaces` is 0, a seccomp filter
//! that answers ENOSYS and EPERM as a container's would, a sandbox without the program's
//! interpreter, limits above what the caller may set, a directory that is not a cgroup).
//! As root and as an ordinary user. The explanations come from a forkexec-run that stays
//! (`--stay`): in place, the helper's own error line is all there is (the same first line).
use forkexec_testkit::support;
use forkexec_testkit::{skip, user_only};

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use support::{is_root, Cleanup};

fn cli() -> PathBuf {
    match std::env::var_os("FORKEXEC_RUN") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_forkexec-run")),
    }
}

fn command(args: &[&str]) -> Command {
    let mut c = Command::new(cli());
    c.args(args)
        .env("FORKEXEC_HELPER", support::helper())
        .stdin(Stdio::null());
    c
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[track_caller]
fn json_of(out: Output) -> Value {
    assert!(out.status.success(), "{out:?}\n{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)))
}

/// `forkexec-run check --json` run inside `forkexec-run FLAGS -- sh -c 'SETUP; exec CHECK'`.
fn check_inside(flags: &[&str], setup: &str) -> Value {
    let script = format!("{setup} exec \"$0\" check --json");
    let mut args = flags.to_vec();
    args.extend(["--", "/bin/sh", "-c", &script]);
    let mut c = command(&args);
    c.arg(cli());
    json_of(c.output().unwrap())
}

/// The answers' keys, in the order the text form prints them.
const KEYS: [&str; 10] = [
    "user_namespaces",
    "namespaces",
    "setgroups",
    "cgroups",
    "cgroup_delegation",
    "seccomp",
    "landlock",
    "clone3",
    "openat2",
    "mount_api",
];

/// The file system type name of `path` (`stat -f -c %T`).
fn fs_type(path: &str) -> String {
    let out = Command::new("stat")
        .args(["-f", "-c", "%T", path])
        .output()
        .unwrap();
    text(&out.stdout).trim().to_string()
}

/// (major, minor) of the running kernel.
fn kernel() -> (u32, u32) {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut parts = release
        .trim()
        .split(['.', '-'])
        .map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap(), parts.next().unwrap())
}

/// Every answer has its shape; the ones this machine's kernel and settings decide are
/// compared with what util-linux, /proc/cgroups, the cgroup2 mount and the landlock syscall
/// say independently.
#[test]
fn check_json_matches_the_host() {
    let v = json_of(command(&["check", "--json"]).output().unwrap());
    assert_eq!(v["host"]["uid"], support::euid(), "{v:#}");
    for key in KEYS {
        let a = &v[key];
        let ok = a["ok"].as_bool().unwrap_or_else(|| panic!("{key}: {a:#}"));
        assert!(
            a["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{key}: {a:#}"
        );
        for field in ["why", "fix"] {
            assert_eq!(a[field].is_string(), !ok, "{key}.{field}: {a:#}");
        }
    }

    // User namespaces: as util-linux's unshare finds them.
    let unshare = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "/bin/true"])
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert_eq!(
        v["user_namespaces"]["ok"], unshare,
        "{:#}",
        v["user_namespaces"]
    );
    let max: u64 = fs::read_to_string("/proc/sys/user/max_user_namespaces")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(v["user_namespaces"]["max_user_namespaces"], max);

    // cgroup v1: exactly the controllers /proc/cgroups says are bound to a hierarchy.
    let mut v1_bound: Vec<String> = fs::read_to_string("/proc/cgroups")
        .unwrap()
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 4 && f[1] != "0" && f[3] == "1").then(|| f[0].to_string())
        })
        .collect();
    v1_bound.sort();
    let cg = &v["cgroups"];
    let mut v1: Vec<String> = cg["v1"].as_object().unwrap().keys().cloned().collect();
    v1.sort();
    assert_eq!(v1, v1_bound, "{cg:#}");
    // cgroup v2: where stat says cgroup2fs is, with what its cgroup.controllers lists.
    let v2_mount = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .into_iter()
        .find(|p| fs_type(p) == "cgroup2fs");
    match v2_mount {
        Some(m) => {
            assert_eq!(cg["v2"]["mount"], m, "{cg:#}");
            let listed: Vec<String> = fs::read_to_string(Path::new(m).join("cgroup.controllers"))
                .unwrap()
                .split_whitespace()
                .map(str::to_string)
                .collect();
            assert_eq!(cg["v2"]["controllers"], serde_json::json!(listed), "{cg:#}");
        }
        None => assert!(cg["v2"].is_null(), "{cg:#}"),
    }
    let version = match (v1.is_empty(), v2_mount.is_some()) {
        (true, true) => "v2",
        (false, true) => "hybrid",
        (false, false) => "v1",
        (true, false) => "none",
    };
    assert_eq!(cg["version"], version);
    // This machine (the issue's "done when"): hybrid, v2 at /sys/fs/cgroup/unified holding
    // none of the limit controllers.
    if v2_mount == Some("/sys/fs/cgroup/unified") && !v1.is_empty() {
        assert_eq!(cg["version"], "hybrid");
        assert_eq!(
            cg["v2"]["limit_controllers"],
            serde_json::json!([]),
            "{cg:#}"
        );
    }

    // Landlock: the ABI the syscall reports here.
    // SAFETY: the version query (NULL attr, size 0, LANDLOCK_CREATE_RULESET_VERSION).
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32,
        )
    };
    if abi > 0 {
        assert_eq!(v["landlock"]["abi"], abi, "{:#}", v["landlock"]);
        assert_eq!(v["landlock"]["ok"], true);
    } else {
        assert_eq!(v["landlock"]["ok"], false);
    }

    // A kernel of 5.12 or later has clone3, openat2 and the whole new mount API.
    if kernel() >= (5, 12) {
        for key in ["clone3", "openat2", "seccomp"] {
            assert_eq!(v[key]["ok"], true, "{key}: {:#}", v[key]);
        }
        assert_eq!(
            v["mount_api"]["ok"],
            unshare || is_root(),
            "{:#}",
            v["mount_api"]
        );
    }

    // setgroups survives a gid map only when root writes it from outside.
    assert_eq!(v["setgroups"]["ok"], is_root(), "{:#}", v["setgroups"]);
    if !is_root() {
        assert!(v["setgroups"]["why"].as_str().unwrap().contains("\"deny\""));
    }
    // Delegation: root may make cgroups anywhere; a denial names the directory it tried.
    let d = &v["cgroup_delegation"];
    if is_root() {
        assert_eq!(d["ok"], true, "{d:#}");
    }
    for (_, t) in d["tried"].as_object().unwrap() {
        assert!(Path::new(t["dir"].as_str().unwrap()).is_dir(), "{d:#}");
    }
    if d["ok"] == false {
        assert!(
            d["why"].as_str().unwrap().contains("not delegated"),
            "{d:#}"
        );
    }
}

/// The text form: one `yes`/`no` line per answer, in order, and every `no` followed by its
/// `why:` and `fix:`.
#[test]
fn check_text_lists_every_answer() {
    let out = command(&["check"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let t = text(&out.stdout);
    let mut lines = t.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("forkexec-run check: what this host allows uid "));
    let titles = [
        "user namespaces",
        "namespaces",
        "setgroups",
        "cgroups",
        "cgroup delegation",
        "seccomp",
        "Landlock",
        "clone3",
        "openat2",
        "new mount API",
    ];
    let heads: Vec<&str> = t
        .lines()
        .filter(|l| l.starts_with("  yes") || l.starts_with("  no"))
        .collect();
    assert_eq!(heads.len(), titles.len(), "{t}");
    for (line, title) in heads.iter().zip(titles) {
        assert_eq!(line[7..].split("  ").next().unwrap().trim(), title, "{t}");
        if line.starts_with("  no") {
            let after = t.split(line).nth(1).unwrap();
            let why = after.find("why: ").expect(&t);
            let fix = after.find("fix: ").expect(&t);
            let next = after
                .find("\n  yes")
                .or(after.find("\n  no "))
                .unwrap_or(after.len());
            assert!(why < fix && fix < next, "{t}");
        }
    }
}

/// Inside a user namespace whose user.max_user_namespaces is 0 (its root, keeping its
/// capabilities, may set its own limits): check says no, why and the fix; and a start that needs a user namespace fails
/// with `unshare(0)` (in place) or `clone(0)` (a new pid namespace) ENOSPC, explained.
#[test]
fn a_namespace_limit_of_zero_is_found_and_explained() {
    let zero = "echo 0 > /proc/sys/user/max_user_namespaces || exit 99;";
    // Root of the namespace with its capabilities (dropped by default), as root mapped onto
    // host root (by default 65534 owns nothing, and could not reach this checkout's binaries).
    let namespace_root = || {
        let mut flags = support::USERNS_ROOT_ALL_CAPS.to_vec();
        if support::is_root() {
            flags.push("--allow-host-root");
        }
        flags
    };
    let v = check_inside(&namespace_root(), zero);
    let u = &v["user_namespaces"];
    assert_eq!(u["ok"], false, "{u:#}");
    assert_eq!(u["max_user_namespaces"], 0, "{u:#}");
    assert!(
        u["why"]
            .as_str()
            .unwrap()
            .contains("user.max_user_namespaces is 0"),
        "{u:#}"
    );
    assert!(
        u["fix"]
            .as_str()
            .unwrap()
            .contains("sysctl -w user.max_user_namespaces="),
        "{u:#}"
    );

    for (flags, location) in [
        ("--unshare-user", "unshare(0)"),
        ("--unshare-user --unshare-pid", "clone(0)"),
    ] {
        let script = format!("{zero} exec \"$0\" --stay {flags} -- /bin/true");
        let mut outer = namespace_root();
        outer.extend(["--", "/bin/sh", "-c", &script]);
        let mut c = command(&outer);
        c.arg(cli());
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(125), "{out:?}");
        let err = text(&out.stderr);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 3, "{err}");
        assert_eq!(
            lines[0],
            format!("forkexec-run: {location}: no space left on device")
        );
        assert_eq!(
            lines[1],
            "  why: the namespace limit: user.max_user_namespaces is 0, so no user namespace \
             can be made"
        );
        assert!(
            lines[2].starts_with("  fix: as root: sysctl -w user.max_user_namespaces="),
            "{err}"
        );
    }
}

/// Under a seccomp filter like a container's (clone3 and openat2 answer ENOSYS, unshare
/// EPERM), check finds each refusal by trying, and says why.
#[test]
fn check_finds_what_a_seccomp_filter_refuses() {
    let mut c = Cleanup::default();
    let policy = c.dir("policy").join("container.json");
    fs::write(
        &policy,
        r#"{"default_action": "allow", "syscalls": [
            {"names": ["clone3", "openat2"], "action": {"errno": "ENOSYS"}},
            {"names": ["unshare"], "action": {"errno": "EPERM"}}]}"#,
    )
    .unwrap();
    let v = check_inside(&["--seccomp", policy.to_str().unwrap()], "");
    for key in ["clone3", "openat2"] {
        assert_eq!(v[key]["ok"], false, "{key}: {:#}", v[key]);
        assert!(
            v[key]["summary"].as_str().unwrap().contains("ENOSYS"),
            "{:#}",
            v[key]
        );
        assert!(
            v[key]["why"].as_str().unwrap().contains("seccomp"),
            "{:#}",
            v[key]
        );
    }
    let u = &v["user_namespaces"];
    assert_eq!(u["ok"], false, "{u:#}");
    assert_eq!(
        u["summary"],
        "unshare(CLONE_NEWUSER) fails with EPERM (operation not permitted)"
    );
    assert!(
        u["why"].as_str().unwrap().contains("seccomp profile"),
        "{u:#}"
    );
    assert_eq!(v["mount_api"]["ok"], false, "{:#}", v["mount_api"]);
    // What the filter allows still works.
    for key in ["seccomp", "landlock", "cgroups"] {
        assert_eq!(v[key]["ok"], true, "{key}: {:#}", v[key]);
    }
}

/// The interpreter a dynamically linked program asks for, as readelf(1) reads it.
fn readelf_interp(path: &str) -> String {
    let out = Command::new("readelf").args(["-l", path]).output().unwrap();
    let t = text(&out.stdout);
    let at = t.find("Requesting program interpreter: ").expect(&t);
    t[at..]
        .split(": ")
        .nth(1)
        .unwrap()
        .split(']')
        .next()
        .unwrap()
        .to_string()
}

/// The stderr lines of a failed run of a forkexec-run that stays, with its exit code
/// checked; the same run in place (the helper's own error line) must give the first line
/// alone.
#[track_caller]
fn failure(args: &[&str], code: i32) -> Vec<String> {
    let mut stay = vec!["--stay"];
    stay.extend_from_slice(args);
    let out = command(&stay).output().unwrap();
    assert_eq!(out.status.code(), Some(code), "{args:?}: {out:?}");
    let lines: Vec<String> = text(&out.stderr).lines().map(str::to_string).collect();
    let in_place = command(args).output().unwrap();
    assert_eq!(in_place.status.code(), Some(code), "{args:?}: {in_place:?}");
    assert_eq!(
        text(&in_place.stderr),
        format!("{}\n", lines[0]),
        "{args:?}"
    );
    lines
}

/// execve ENOENT for a file that is in the sandbox: its ELF interpreter is not; for a file
/// only the host has: which directory no mount brings; for a script: its `#!` program.
#[test]
fn execve_enoent_is_explained() {
    let interp = readelf_interp("/usr/bin/true");
    let top = format!(
        "/{}",
        interp.trim_start_matches('/').split('/').next().unwrap()
    );
    assert_ne!(top, "/usr", "this test needs an interpreter outside /usr");
    let lines = failure(&["--ro-bind", "/usr", "/usr", "--", "/usr/bin/true"], 127);
    assert_eq!(
        lines,
        [
            "forkexec-run: execve(0) /usr/bin/true: no such file or directory".to_string(),
            format!(
                "  why: /usr/bin/true is in the sandbox, but its ELF interpreter {interp} is not"
            ),
            format!("  fix: make it visible, e.g. --ro-bind {top} {top}"),
        ]
    );
    // With the interpreter there, it runs.
    let mut all = vec!["--ro-bind", "/usr", "/usr"];
    for d in ["/lib", "/lib64", "/bin"] {
        all.extend(["--ro-bind-try", d, d]);
    }
    all.extend(["--", "/usr/bin/true"]);
    assert!(command(&all).status().unwrap().success());

    let lines = failure(&["--ro-bind", "/usr", "/usr", "--", "/bin/true"], 127);
    assert_eq!(
        lines[1..],
        [
            "  why: /bin/true exists on the host but not in the sandbox: no mount makes /bin \
             visible",
            "  fix: bind it, e.g. --ro-bind /bin /bin",
        ]
    );

    let mut c = Cleanup::default();
    let script = c.dir("script").join("run-me");
    fs::write(&script, "#!/nonexistent-forkexec/sh\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let s = script.to_str().unwrap();
    let lines = failure(&["--", s], 127);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(
        lines[1],
        format!(
            "  why: {s} is in the sandbox, but its #! interpreter /nonexistent-forkexec/sh is not"
        )
    );
    assert!(
        lines[2].starts_with("  fix: install /nonexistent-forkexec/sh"),
        "{lines:?}"
    );

    // A file that is nowhere: the line alone, as before.
    let lines = failure(&["--", "/nonexistent-forkexec/prog"], 127);
    assert_eq!(lines.len(), 1, "{lines:?}");
}

/// setrlimit EPERM: above fs.nr_open (root too); above the caller's own hard limit without
/// CAP_SYS_RESOURCE (an ordinary user; here also root, whose bounding set lacks it; with it,
/// the run succeeds).
#[test]
fn rlimit_refusals_are_explained() {
    let nr_open: u64 = fs::read_to_string("/proc/sys/fs/nr_open")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let above = format!("nofile={}", nr_open + 1);
    let lines = failure(&["--rlimit", &above, "--", "/bin/true"], 125);
    assert_eq!(
        lines[0],
        "forkexec-run: setrlimit(0) nofile: operation not permitted"
    );
    assert_eq!(
        lines[1],
        format!(
            "  why: nofile {} is above the kernel's fs.nr_open = {nr_open}",
            nr_open + 1
        )
    );

    // forkexec-run itself started with a hard nofile limit of 256.
    let mut c = command(&["--stay", "--rlimit", "nofile=512", "--", "/bin/true"]);
    // SAFETY: setrlimit in the child before exec, with a local struct.
    unsafe {
        c.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 256,
                rlim_max: 256,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = c.output().unwrap();
    // CAP_SYS_RESOURCE (24) in the effective set: root usually, not every root.
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .unwrap();
    let can_raise = u64::from_str_radix(eff.trim(), 16).unwrap() & (1 << 24) != 0;
    if can_raise {
        assert!(
            out.status.success(),
            "CAP_SYS_RESOURCE raises the hard limit: {out:?}"
        );
    } else {
        assert_eq!(out.status.code(), Some(125), "{out:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains(
                "  why: raising the hard nofile limit above its current 256 needs \
                 CAP_SYS_RESOURCE, which forkexec-run does not have"
            ),
            "{err}"
        );
        assert!(err.contains("  fix: ask for at most 256"), "{err}");
    }
}

/// --cgroup: a directory that is not a cgroup (root and user); a cgroup not delegated to an
/// ordinary user.
#[test]
fn cgroup_refusals_are_explained() {
    let mut c = Cleanup::default();
    let dir = c.dir("not-a-cgroup");
    let d = dir.to_str().unwrap();
    let lines = failure(&["--cgroup", d, "--", "/bin/true"], 125);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(
        lines[1],
        format!("  why: {d} is not a cgroup: it is not on a cgroup file system")
    );

    user_only!("the rest is an ordinary user's refusal: root may enter any cgroup");
    let Some(v2) = forkexec_testkit::cgroup::v2() else {
        skip!("no cgroup v2 hierarchy here");
    };
    let v2 = v2.to_str().unwrap();
    let lines = failure(&["--cgroup", v2, "--", "/bin/true"], 125);
    assert_eq!(
        lines[0],
        format!("forkexec-run: cgroup(1) {v2}: permission denied")
    );
    assert!(
        lines[1].starts_with(&format!("  why: {v2} is not delegated to this user")),
        "{lines:?}"
    );
}

/// An ordinary user's id map of another id: the rule, and what the spec asked.
#[test]
fn id_map_refusals_are_explained() {
    user_only!("root may map any id");
    let mut c = Cleanup::default();
    let spec = c.dir("spec").join("map.json");
    fs::write(
        &spec,
        r#"{"args": ["/bin/true"], "clone_flags": ["newuser"],
            "uid_mappings": [{"container_id": 0, "host_id": 0, "size": 1}]}"#,
    )
    .unwrap();
    let lines = failure(&["--spec", spec.to_str().unwrap()], 125);
    assert_eq!(
        lines[0],
        "forkexec-run: write_uid_map(0): operation not permitted"
    );
    assert_eq!(
        lines[1],
        format!(
            "  why: an ordinary user may map only its own uid ({}), one id; the spec maps host \
             0 to 0 (1 id)",
            support::euid()
        )
    );
}
