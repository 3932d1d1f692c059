//! Namespaces, mounts and pivot_root through the real helper, checked from inside the target
//! (the probe's report) and from the host; and the error locations of those stages, each
//! provoked for real, with the target never having run.
//!
//! Every test runs as root and as an ordinary user (in a user namespace); the few that only
//! make sense one way say so and return early. Temporary directories are removed by a
//! [`Cleanup`] guard, mounts live only in the helper's private mount namespace.
mod support;

use std::ffi::CString;
use std::fs;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use forkexec_client::{IdMap, Mount, Namespace, Runner};
use forkexec_spec::status::Record;
use serde_json::{json, Value};
use support::*;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// `flags`, plus a user namespace when not root: an ordinary user may only make the other
/// namespaces inside a user namespace of its own.
fn with_user_ns_unless_root(flags: &[Namespace]) -> Vec<Namespace> {
    let mut v = flags.to_vec();
    if !is_root() && !v.contains(&Namespace::NewUser) {
        v.push(Namespace::NewUser);
    }
    v
}

/// `runner` with `flags`; when not root, also a user namespace mapping the caller to root
/// there (so the target may create files on the tmpfs it mounts).
fn in_namespaces(runner: Runner, flags: &[Namespace]) -> Runner {
    let flags = with_user_ns_unless_root(flags);
    let runner = runner.clone_flags(flags);
    if is_root() {
        return runner;
    }
    runner
        .uid_mappings([IdMap::new(0, euid(), 1)])
        .gid_mappings([IdMap::new(0, egid(), 1)])
}

/// The namespace link of this (the test) process, e.g. `net:[4026531840]`.
fn own_ns(name: &str) -> String {
    fs::read_link(format!("/proc/self/ns/{name}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

const NS_NAMES: [&str; 7] = ["cgroup", "ipc", "mnt", "net", "pid", "user", "uts"];

/// One line of /proc/PID/mountinfo.
#[derive(Debug, Clone)]
struct MountLine {
    point: String,
    opts: Vec<String>,
    fstype: String,
    super_opts: Vec<String>,
}

fn mountinfo(text: &str) -> Vec<MountLine> {
    text.lines()
        .map(|line| {
            let (left, right) = line.split_once(" - ").expect("mountinfo separator");
            let l: Vec<&str> = left.split(' ').collect();
            let r: Vec<&str> = right.split(' ').collect();
            MountLine {
                point: l[4].to_string(),
                opts: l[5].split(',').map(str::to_string).collect(),
                fstype: r[0].to_string(),
                super_opts: r[2].split(',').map(str::to_string).collect(),
            }
        })
        .collect()
}

/// The mount table of the target `runner` starts, as the target sees it (paths relative to
/// its root). A pivot_root sandbox has no /proc (a new proc needs a new pid namespace), so it
/// is read from the host's /proc/PID/mountinfo while the probe sleeps, then the probe is
/// killed and reaped.
fn target_mounts(mut runner: Runner) -> Vec<MountLine> {
    let probe = runner.spec.args[0].clone();
    runner.spec.args = vec![probe, "sleep".into(), "60".into()];
    let mut p = runner.start().expect("start");
    let text = fs::read_to_string(format!("/proc/{}/mountinfo", p.pid()));
    p.kill(libc::SIGKILL).unwrap();
    p.wait().unwrap();
    mountinfo(&text.unwrap())
}

#[track_caller]
fn mount_at(all: &[MountLine], point: &str) -> MountLine {
    let at: Vec<_> = all.iter().filter(|m| m.point == point).collect();
    assert_eq!(at.len(), 1, "one mount at {point}: {all:#?}");
    at[0].clone()
}

fn has(list: &[String], item: &str) -> bool {
    list.iter().any(|s| s == item)
}

fn overflow_id(kind: &str) -> u32 {
    fs::read_to_string(format!("/proc/sys/kernel/overflow{kind}"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// The kernel's rendering of a one-line id map.
fn map_line(inside: u32, outside: u32, size: u32) -> String {
    format!("{inside:>10} {outside:>10} {size:>10}\n")
}

/// Runs `forkexec-probe write PATH TEXT` (already in the runner's args) and returns its JSON.
fn probe_json(runner: Runner) -> Value {
    let out = run(runner).expect("start");
    assert!(out.status.success(), "{} {}", out.status, out.stderr);
    serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
}

fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// A sandbox root whose target, if it ever ran, would leave the file `ran` in a host directory
/// bound read-write at `/out`. Returns the runner and that file's host path.
fn marker_root(c: &mut Cleanup) -> (Runner, PathBuf) {
    let out = c.dir("out");
    let r =
        in_root(c, &["write", "/out/ran", "ran"]).mount(Mount::bind(path_str(&out), "/out", false));
    (r, out.join("ran"))
}

/// A target outside any new root that would leave `marker` on the host if it ran.
fn marker_target(c: &mut Cleanup) -> (Runner, PathBuf) {
    let marker = c.dir("marker").join("ran");
    let r = probe_runner(&["write", &path_str(&marker), "ran"]);
    (r, marker)
}

// ---------------------------------------------------------------------------------------------
// clone_flags: each namespace really new
// ---------------------------------------------------------------------------------------------

/// Each clone flag alone (with a user namespace when unprivileged) gives the target a new
/// namespace of that kind and keeps every other one of the runtime's.
#[test]
fn each_clone_flag_makes_that_namespace_new() {
    let flags = [
        (Namespace::NewNs, "mnt"),
        (Namespace::NewUts, "uts"),
        (Namespace::NewIpc, "ipc"),
        (Namespace::NewNet, "net"),
        (Namespace::NewCgroup, "cgroup"),
        (Namespace::NewUser, "user"),
    ];
    for (flag, name) in flags {
        let clone_flags = with_user_ns_unless_root(&[flag]);
        let r = report(probe_runner(&["report"]).clone_flags(clone_flags.clone()));
        for other in NS_NAMES {
            let inside = r["ns"][other].as_str().unwrap();
            assert!(inside.starts_with(&format!("{other}:[")), "{inside}");
            let expect_new =
                other == name || (other == "user" && clone_flags.contains(&Namespace::NewUser));
            if expect_new {
                assert_ne!(inside, own_ns(other), "{flag:?}: {other} should be new");
            } else {
                assert_eq!(inside, own_ns(other), "{flag:?}: {other} should be kept");
            }
        }
    }
}

/// All six at once: every namespace but pid is new.
#[test]
fn all_clone_flags_at_once() {
    use Namespace::*;
    let r = report(
        probe_runner(&["report"]).clone_flags([NewNs, NewUts, NewIpc, NewNet, NewCgroup, NewUser]),
    );
    for name in NS_NAMES {
        let inside = r["ns"][name].as_str().unwrap();
        if name == "pid" {
            assert_eq!(inside, own_ns(name));
        } else {
            assert_ne!(inside, own_ns(name), "{name}");
        }
    }
}

/// A new network namespace has the loopback interface and nothing else.
#[test]
fn new_network_namespace_has_only_loopback() {
    let flags = with_user_ns_unless_root(&[Namespace::NewNet]);
    let out = run(Runner::new(["/bin/cat", "/proc/net/dev"]).clone_flags(flags)).unwrap();
    assert!(out.status.success(), "{} {}", out.status, out.stderr);
    let ifaces: Vec<&str> = out
        .stdout
        .lines()
        .skip(2) // two header lines
        .map(|l| l.split(':').next().unwrap().trim())
        .collect();
    assert_eq!(ifaces, ["lo"], "{}", out.stdout);
}

/// In a new cgroup namespace the target's own cgroup is the root of every hierarchy.
#[test]
fn new_cgroup_namespace_is_rooted_at_the_targets_cgroup() {
    let flags = with_user_ns_unless_root(&[Namespace::NewCgroup]);
    let r = report(probe_runner(&["report"]).clone_flags(flags));
    let cgroup = r["cgroup"].as_str().unwrap();
    assert!(!cgroup.is_empty());
    for line in cgroup.lines() {
        assert!(line.ends_with(":/"), "{line:?} in {cgroup}");
    }
}

// ---------------------------------------------------------------------------------------------
// User namespaces and id maps
// ---------------------------------------------------------------------------------------------

/// The self-mapping is written exactly as given (any inside id), setgroups is denied, and the
/// target runs as the mapped ids.
#[test]
fn user_namespace_self_maps_read_back_exactly() {
    for inside in [0u32, 1000] {
        let r = report(
            probe_runner(&["report"])
                .clone_flags([Namespace::NewUser])
                .uid_mappings([IdMap::new(inside, euid(), 1)])
                .gid_mappings([IdMap::new(inside, egid(), 1)]),
        );
        assert_eq!(r["uid_map"], map_line(inside, euid(), 1).as_str());
        assert_eq!(r["gid_map"], map_line(inside, egid(), 1).as_str());
        assert_eq!(r["setgroups"], "deny\n");
        assert_eq!(r["uid"], json!([inside, inside, inside]));
        assert_eq!(r["gid"], json!([inside, inside, inside]));
        assert_ne!(r["ns"]["user"], own_ns("user").as_str());
    }
}

/// `gid_mappings_enable_setgroups` without a gid map leaves setgroups at "allow"; no gid map
/// is written, so the gid is the overflow gid.
#[test]
fn enable_setgroups_without_a_gid_map_leaves_allow() {
    let r = report(
        probe_runner(&["report"])
            .clone_flags([Namespace::NewUser])
            .uid_mappings([IdMap::new(0, euid(), 1)])
            .gid_mappings_enable_setgroups(true),
    );
    assert_eq!(r["setgroups"], "allow\n");
    assert_eq!(r["uid_map"], map_line(0, euid(), 1).as_str());
    assert_eq!(r["gid_map"], "");
    let og = overflow_id("gid");
    assert_eq!(r["gid"], json!([og, og, og]));
    assert_eq!(r["uid"], json!([0, 0, 0]));
}

/// A new user namespace without maps: the target's ids are the overflow ids (65534), no map
/// is written, setgroups is denied.
#[test]
fn user_namespace_without_maps_runs_as_the_overflow_ids() {
    let (ou, og) = (overflow_id("uid"), overflow_id("gid"));
    assert_eq!((ou, og), (65534, 65534), "this machine's overflow ids");
    let r = report(probe_runner(&["report"]).clone_flags([Namespace::NewUser]));
    assert_eq!(r["uid"], json!([ou, ou, ou]));
    assert_eq!(r["gid"], json!([og, og, og]));
    assert_eq!(r["uid_map"], "");
    assert_eq!(r["gid_map"], "");
    assert_eq!(r["setgroups"], "deny\n");
}

// ---------------------------------------------------------------------------------------------
// UTS names
// ---------------------------------------------------------------------------------------------

#[test]
fn host_and_domain_names_are_set_inside_only() {
    let read = |f: &str| fs::read_to_string(format!("/proc/sys/kernel/{f}")).unwrap();
    let (host, domain) = (read("hostname"), read("domainname"));
    let flags = with_user_ns_unless_root(&[Namespace::NewUts]);
    let r = report(
        probe_runner(&["report"])
            .clone_flags(flags)
            .host_name("fx-sandbox-host")
            .domain_name("fx-sandbox-domain"),
    );
    assert_eq!(r["hostname"], "fx-sandbox-host");
    assert_eq!(r["domainname"], "fx-sandbox-domain");
    assert_ne!(r["ns"]["uts"], own_ns("uts").as_str());
    assert_eq!(
        (read("hostname"), read("domainname")),
        (host.clone(), domain)
    );
    assert_ne!(host.trim(), "fx-sandbox-host");
}

// ---------------------------------------------------------------------------------------------
// Mounts
// ---------------------------------------------------------------------------------------------

/// A tmpfs takes its `size=` and `mode=` data and go-sandbox's nosuid/nodev/noatime flags.
#[test]
fn tmpfs_mount_takes_size_and_mode() {
    let mut c = Cleanup::default();
    let mounts =
        target_mounts(in_root(&mut c, &[]).mount(Mount::tmpfs("/scratch", "size=1m,mode=0710")));
    let m = mount_at(&mounts, "/scratch");
    assert_eq!(m.fstype, "tmpfs");
    assert!(has(&m.super_opts, "size=1024k"), "{m:?}");
    assert!(has(&m.super_opts, "mode=710"), "{m:?}");
    for flag in ["rw", "nosuid", "nodev", "noatime"] {
        assert!(has(&m.opts, flag), "{flag} in {m:?}");
    }
}

/// A read-only bind refuses writes with EROFS (existing and new files), and the host file is
/// unchanged; the bind is nosuid and ro in mountinfo.
#[test]
fn read_only_bind_refuses_writes() {
    let mut c = Cleanup::default();
    let host = c.dir("robind");
    fs::write(host.join("f"), "original").unwrap();
    let bind = || Mount::bind(path_str(&host), "/data", true);
    for path in ["/data/f", "/data/new"] {
        let w = probe_json(in_root(&mut c, &["write", path, "changed"]).mount(bind()));
        assert_eq!(w, json!({"ok": false, "errno": libc::EROFS}), "{path}");
    }
    assert_eq!(fs::read_to_string(host.join("f")).unwrap(), "original");
    assert!(!host.join("new").exists());
    let m = mount_at(&target_mounts(in_root(&mut c, &[]).mount(bind())), "/data");
    assert!(has(&m.opts, "ro") && has(&m.opts, "nosuid"), "{m:?}");
}

/// A read-write bind's writes reach the host; the bind is nosuid and rw in mountinfo.
#[test]
fn read_write_bind_writes_reach_the_host() {
    let mut c = Cleanup::default();
    let host = c.dir("rwbind");
    let bind = || Mount::bind(path_str(&host), "/rw", false);
    let w = probe_json(in_root(&mut c, &["write", "/rw/new", "hello"]).mount(bind()));
    assert_eq!(w, json!({"ok": true}));
    assert_eq!(fs::read_to_string(host.join("new")).unwrap(), "hello");
    let m = mount_at(&target_mounts(in_root(&mut c, &[]).mount(bind())), "/rw");
    assert!(has(&m.opts, "rw") && has(&m.opts, "nosuid"), "{m:?}");
}

/// Every bind the harness makes (Mount::bind) is nosuid, the read-only ones ro.
#[test]
fn binds_are_nosuid() {
    let mut c = Cleanup::default();
    let mounts = target_mounts(in_root(&mut c, &[]));
    let binds: Vec<_> = mounts.iter().filter(|m| m.point != "/").collect();
    assert!(binds.len() >= 2, "{mounts:#?}");
    for m in binds {
        assert!(has(&m.opts, "nosuid") && has(&m.opts, "ro"), "{m:?}");
    }
}

/// Binding a file creates the target as a file (and its missing parents as directories).
#[test]
fn file_bind_creates_a_file_target() {
    let mut c = Cleanup::default();
    let host = c.dir("filebind");
    let file = host.join("app.conf");
    fs::write(&file, "file-content\n").unwrap();
    let bind = Mount::bind(path_str(&file), "/etc/fx/app.conf", true);
    assert!(bind.file, "Mount::bind sets `file` for a file source");
    let mut cat = in_root(&mut c, &[]).mount(bind.clone());
    cat.spec.args = vec!["/bin/cat".into(), "/etc/fx/app.conf".into()];
    let out = run(cat).unwrap();
    assert!(out.status.success(), "{} {}", out.status, out.stderr);
    assert_eq!(out.stdout, "file-content\n");
    mount_at(
        &target_mounts(in_root(&mut c, &[]).mount(bind.clone())),
        "/etc/fx/app.conf",
    );
    let r = report(in_root(&mut c, &["report"]).mount(bind.clone()));
    assert!(r["root"].as_array().unwrap().contains(&json!("etc")));
    let w = probe_json(in_root(&mut c, &["write", "/etc/fx/app.conf", "x"]).mount(bind));
    assert_eq!(w, json!({"ok": false, "errno": libc::EROFS}));
    assert_eq!(fs::read_to_string(&file).unwrap(), "file-content\n");
}

/// A deep target gets all its missing parents.
#[test]
fn deep_target_gets_its_parents() {
    let mut c = Cleanup::default();
    let mounts = target_mounts(in_root(&mut c, &[]).mount(Mount::tmpfs("/a/b/c/d", "")));
    assert_eq!(mount_at(&mounts, "/a/b/c/d").fstype, "tmpfs");
    let r = report(in_root(&mut c, &["report"]).mount(Mount::tmpfs("/a/b/c/d", "")));
    assert!(r["root"].as_array().unwrap().contains(&json!("a")));
    let w = probe_json(
        in_root(&mut c, &["write", "/a/b/c/d/x", "y"]).mount(Mount::tmpfs("/a/b/c/d", "")),
    );
    assert_eq!(w, json!({"ok": true}));
}

/// Without pivot_root, a mount lands on the host path in the private mount namespace only:
/// the target sees it, the host's mount table and directory do not.
#[test]
fn mount_without_pivot_root_stays_private() {
    let mut c = Cleanup::default();
    let dir = c.dir("private");
    let target = dir.join("mnt");
    let tmpfs = || Mount::tmpfs(path_str(&target), "size=64k");
    let inside = path_str(&target.join("inside"));
    let writer = probe_runner(&["write", &inside, "x"]).mount(tmpfs());
    let w = probe_json(in_namespaces(writer, &[Namespace::NewNs]));
    assert_eq!(w, json!({"ok": true}));
    let r = report(in_namespaces(
        probe_runner(&["report"]).mount(tmpfs()),
        &[Namespace::NewNs],
    ));
    let m = mount_at(
        &mountinfo(r["mountinfo"].as_str().unwrap()),
        &path_str(&target),
    );
    assert!(has(&m.super_opts, "size=64k"), "{m:?}");
    let host = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!host.contains(&path_str(&target)), "{host}");
    // mkdir made the target on the host; what was written went to the tmpfs.
    assert!(target.is_dir());
    assert_eq!(fs::read_dir(&target).unwrap().count(), 0);
}

// ---------------------------------------------------------------------------------------------
// pivot_root
// ---------------------------------------------------------------------------------------------

/// The harness's binds, as (target, host source) where the source exists.
fn root_binds() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = ["/usr", "/bin", "/lib", "/lib64"]
        .iter()
        .filter(|d| Path::new(d).exists())
        .map(|d| (d.to_string(), d.to_string()))
        .collect();
    v.push((PROBE_IN_ROOT.to_string(), path_str(&probe())));
    v
}

/// The new root holds exactly what was mounted: no host entry and no `old_root`; mountinfo
/// lists `/` (a read-only tmpfs) and the configured mounts (plus, for recursive binds, the
/// host's submounts below their sources), nothing else.
#[test]
fn pivot_root_shows_only_the_configured_mounts() {
    let mut c = Cleanup::default();
    let r = report(in_root(&mut c, &["report"]));
    let binds = root_binds();
    let mut expected: Vec<String> = binds.iter().map(|(t, _)| t[1..].to_string()).collect();
    expected.sort();
    assert_eq!(r["root"], json!(expected));

    let mounts = target_mounts(in_root(&mut c, &[]));
    let root = mount_at(&mounts, "/");
    assert_eq!(root.fstype, "tmpfs");
    assert!(has(&root.opts, "ro"), "{root:?}");
    for (target, _) in &binds {
        mount_at(&mounts, target);
    }
    // Host submounts below a recursively bound source come along (none on most machines).
    let host = mountinfo(&fs::read_to_string("/proc/self/mountinfo").unwrap());
    let mut allowed: Vec<String> = vec!["/".into()];
    for (target, source) in &binds {
        allowed.push(target.clone());
        let source = fs::canonicalize(source).unwrap();
        for m in &host {
            if let Ok(rest) = Path::new(&m.point).strip_prefix(&source) {
                if !rest.as_os_str().is_empty() {
                    allowed.push(format!("{target}/{}", rest.display()));
                }
            }
        }
    }
    for m in &mounts {
        assert!(allowed.contains(&m.point), "unexpected mount {m:?}");
    }
}

/// The new `/` is read-only.
#[test]
fn new_root_is_read_only() {
    let mut c = Cleanup::default();
    let w = probe_json(in_root(&mut c, &["write", "/x", "y"]));
    assert_eq!(w, json!({"ok": false, "errno": libc::EROFS}));
}

/// work_dir is resolved inside the new root (absolute or relative to it).
#[test]
fn work_dir_is_inside_the_new_root() {
    let mut c = Cleanup::default();
    let only_inside = "/forkexec-inside-only";
    assert!(!Path::new(only_inside).exists());
    let r = report(
        in_root(&mut c, &["report"])
            .mount(Mount::tmpfs(only_inside, ""))
            .work_dir(only_inside),
    );
    assert_eq!(r["cwd"], only_inside);
    let r = report(in_root(&mut c, &["report"]).work_dir("usr"));
    assert_eq!(r["cwd"], "/usr");
}

/// A read-write bind (`Mount::bind(.., false)`) of a source mounted read-only stays
/// read-only, as go-sandbox's plain bind leaves it: the remount that applies `nosuid` must not
/// make it writable (with enough privilege) or fail (in a user namespace, where the kernel
/// locks the source's read-only flag). The source here is a tmpfs remounted read-only in a
/// mount namespace of the test's own; the helper runs there with and without a new user
/// namespace.
#[test]
fn read_write_bind_of_a_read_only_mount_stays_read_only() {
    let mut c = Cleanup::default();
    let source = c.dir("rosource");
    let target = c.dir("robindtarget");
    let file = path_str(&target.join("f"));
    for user_ns in [false, true] {
        let mut runner = probe_runner(&["write", &file, "x"])
            .files([0, 2, 2]) // the probe's JSON goes to the captured stderr
            .mount(Mount::bind(path_str(&source), path_str(&target), false));
        runner = if user_ns {
            runner
                .clone_flags([Namespace::NewUser, Namespace::NewNs])
                .uid_mappings([IdMap::new(0, 0, 1)])
                .gid_mappings([IdMap::new(0, 0, 1)])
        } else {
            runner.clone_flags([Namespace::NewNs])
        };
        let spec = runner.spec.encode().unwrap();
        let mut ops = own_mount_ns();
        ops.extend([
            Op::Mount(cs("tmpfs"), cs(&source), cs("tmpfs"), 0),
            Op::Mount(
                cs(""),
                cs(&source),
                cs(""),
                libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY,
            ),
        ]);
        let res = raw_exec(&helper(), &spec, ops);
        assert_eq!(res.records, [], "user_ns {user_ns}: {}", res.stderr);
        assert_eq!(res.status.code(), Some(0), "user_ns {user_ns}");
        let w: Value = serde_json::from_str(res.stderr.trim()).unwrap();
        assert_eq!(
            w,
            json!({"ok": false, "errno": libc::EROFS}),
            "user_ns {user_ns}"
        );
    }
}

/// 200 sandboxed runs leave the host's mount table as it was.
#[test]
fn host_mount_table_unchanged_after_200_sandboxed_runs() {
    let before = fs::read_to_string("/proc/self/mountinfo").unwrap();
    for _ in 0..200 {
        let mut c = Cleanup::default();
        let out = run(in_root(&mut c, &["exit", "0"])).unwrap();
        assert!(out.status.success(), "{} {}", out.status, out.stderr);
    }
    let after = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert_eq!(
        before.lines().count(),
        after.lines().count(),
        "{before}\n--\n{after}"
    );
    assert!(!after.contains("forkexec-test-"), "{after}");
}

// ---------------------------------------------------------------------------------------------
// Error locations, provoked through the spec (and the filesystem it names)
// ---------------------------------------------------------------------------------------------

/// The "never ran" checks below can fail: the same sandboxes without the fault do run the
/// target, which leaves its file.
#[test]
fn marker_targets_leave_their_file_when_they_run() {
    let mut c = Cleanup::default();
    let (r, marker) = marker_root(&mut c);
    let out = run(r).unwrap();
    assert!(out.status.success(), "{} {}", out.status, out.stderr);
    assert_eq!(fs::read_to_string(marker).unwrap(), "ran");
    let (r, marker) = marker_target(&mut c);
    let out = run(r).unwrap();
    assert!(out.status.success(), "{} {}", out.status, out.stderr);
    assert_eq!(fs::read_to_string(marker).unwrap(), "ran");
}

/// A bind whose source does not exist: `mount`, ENOENT, index = its position (the third
/// mount here).
#[test]
fn missing_bind_source_fails_at_its_mount_index() {
    let mut c = Cleanup::default();
    let (mut r, marker) = marker_root(&mut c);
    let missing = c.dir("gone").join("missing-source");
    r.spec.mounts.splice(
        0..0,
        [
            Mount::tmpfs("/t0", ""),
            Mount::tmpfs("/t1", ""),
            Mount::bind(path_str(&missing), "/t2", false),
        ]
        .map(Into::into),
    );
    assert_child_error(r.start(), "mount", libc::ENOENT, 2);
    assert!(!marker.exists());
}

/// A target below a regular file: resolving it inside the new root fails, `mount(path)`,
/// ENOTDIR, index of that mount.
#[test]
fn target_under_a_regular_file_fails_at_mount_path() {
    let mut c = Cleanup::default();
    let (mut r, marker) = marker_root(&mut c);
    let file = c.dir("plainfile").join("f");
    fs::write(&file, "x").unwrap();
    r.spec.mounts.splice(
        0..0,
        [
            Mount::bind(path_str(&file), "/f", true),
            Mount::tmpfs("/f/sub", ""),
        ]
        .map(Into::into),
    );
    assert_child_error(r.start(), "mount(path)", libc::ENOTDIR, 1);
    assert!(!marker.exists());
}

/// A pivot_root directory that does not exist: `mount(tmpfs)`, ENOENT.
#[test]
fn missing_pivot_root_dir_fails_at_mount_tmpfs() {
    let mut c = Cleanup::default();
    let (mut r, marker) = marker_root(&mut c);
    let missing = c.dir("noroot").join("missing");
    r.spec.pivot_root = path_str(&missing);
    assert_child_error(r.start(), "mount(tmpfs)", libc::ENOENT, 0);
    assert!(!marker.exists());
    assert!(!missing.exists());
}

/// A pivot_root path that only resolves before the tmpfs covers it (`DIR/sub/..`): the tmpfs
/// lands on DIR, then `chdir(DIR/sub/..)` finds no `sub` in the empty tmpfs: `mount(chdir)`,
/// ENOENT.
#[test]
fn pivot_root_path_through_a_covered_dir_fails_at_mount_chdir() {
    let mut c = Cleanup::default();
    let (mut r, marker) = marker_root(&mut c);
    let root = PathBuf::from(&r.spec.pivot_root);
    fs::create_dir(root.join("sub")).unwrap();
    r.spec.pivot_root = format!("{}/sub/..", root.display());
    assert_child_error(r.start(), "mount(chdir)", libc::ENOENT, 0);
    assert!(!marker.exists());
}

/// pivot_root(".", ".") needs no directory for the old root: a mount on `/old_root` (which
/// made go-sandbox's `mkdir old_root` fail) is just another mount, and the target runs.
#[test]
fn a_mount_on_old_root_is_just_a_mount() {
    let mut c = Cleanup::default();
    let (r, marker) = marker_root(&mut c);
    let r = r.mount(Mount::tmpfs("/old_root", ""));
    r.start().expect("start").wait().expect("wait");
    assert!(marker.exists());
}

/// An ordinary user cannot make a mount namespace without a user namespace: `unshare`, EPERM.
#[test]
fn unshare_without_a_user_namespace_is_refused_unprivileged() {
    if is_root() {
        eprintln!("skipped: root may unshare a mount namespace without a user namespace");
        return;
    }
    let mut c = Cleanup::default();
    let (r, marker) = marker_target(&mut c);
    let r = r.clone_flags([Namespace::NewNs]);
    assert_child_error(r.start(), "unshare", libc::EPERM, 0);
    assert!(!marker.exists());
}

// ---------------------------------------------------------------------------------------------
// Error locations that only the environment the runtime starts the helper in can provoke
// (an fd limit, no /proc, a chroot): real kernel failures of the helper's own calls.
// ---------------------------------------------------------------------------------------------

/// A step run in the helper's process between fork and exec (async-signal-safe syscalls
/// only; everything is allocated before the fork).
enum Op {
    Unshare(libc::c_int),
    /// open(O_WRONLY), one write, close.
    Write(CString, Vec<u8>),
    Mount(CString, CString, CString, libc::c_ulong),
    Mkdir(CString),
    /// Create an empty file.
    Touch(CString),
    Chroot(CString),
    Chdir(CString),
    /// RLIMIT_NOFILE 0: no new fd can be opened.
    NoFiles,
}

fn cs(s: impl AsRef<std::ffi::OsStr>) -> CString {
    CString::new(s.as_ref().as_bytes()).unwrap()
}

fn check(ret: libc::c_int) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn run_ops(ops: &[Op]) -> io::Result<()> {
    let null = |s: &CString| {
        if s.is_empty() {
            std::ptr::null()
        } else {
            s.as_ptr()
        }
    };
    for op in ops {
        // SAFETY: plain syscalls on NUL-terminated strings and buffers owned by `ops`.
        unsafe {
            match op {
                Op::Unshare(flags) => check(libc::unshare(*flags))?,
                Op::Write(path, data) => {
                    let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                    check(fd)?;
                    let n = libc::write(fd, data.as_ptr().cast(), data.len());
                    libc::close(fd);
                    if n != data.len() as isize {
                        return Err(io::Error::last_os_error());
                    }
                }
                Op::Mount(src, tgt, fstype, flags) => check(libc::mount(
                    null(src),
                    tgt.as_ptr(),
                    null(fstype),
                    *flags,
                    std::ptr::null(),
                ))?,
                Op::Mkdir(p) => check(libc::mkdir(p.as_ptr(), 0o755))?,
                Op::Touch(p) => {
                    let fd = libc::open(
                        p.as_ptr(),
                        libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC,
                        0o644,
                    );
                    check(fd)?;
                    libc::close(fd);
                }
                Op::Chroot(p) => check(libc::chroot(p.as_ptr()))?,
                Op::Chdir(p) => check(libc::chdir(p.as_ptr()))?,
                Op::NoFiles => {
                    let lim = libc::rlimit {
                        rlim_cur: 0,
                        rlim_max: 0,
                    };
                    check(libc::setrlimit(libc::RLIMIT_NOFILE, &lim))?
                }
            }
        }
    }
    Ok(())
}

/// A mount namespace of our own (inside a user namespace of our own, mapping us to root,
/// when unprivileged), with `/` private. The helper then runs as uid 0 either way.
fn own_mount_ns() -> Vec<Op> {
    let mut ops = Vec::new();
    if is_root() {
        ops.push(Op::Unshare(libc::CLONE_NEWNS));
    } else {
        ops.push(Op::Unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS));
        ops.push(Op::Write(cs("/proc/self/setgroups"), b"deny".to_vec()));
        ops.push(Op::Write(
            cs("/proc/self/uid_map"),
            format!("0 {} 1", euid()).into_bytes(),
        ));
        ops.push(Op::Write(
            cs("/proc/self/gid_map"),
            format!("0 {} 1", egid()).into_bytes(),
        ));
    }
    ops.push(Op::Mount(
        cs(""),
        cs("/"),
        cs(""),
        libc::MS_REC | libc::MS_PRIVATE,
    ));
    ops
}

/// Spawns `program --spec-fd N` on a socketpair after running `ops` in the child, writes the
/// spec, collects the records (as [`raw`] does, with a chosen program and environment).
fn raw_exec(program: &Path, spec: &[u8], ops: Vec<Op>) -> RawResult {
    let (mut ours, theirs) = UnixStream::pair().unwrap();
    let fd = theirs.as_raw_fd();
    let mut cmd = Command::new(program);
    cmd.arg("--spec-fd")
        .arg(fd.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: only raw syscalls between fork and exec, nothing allocated.
    unsafe {
        cmd.pre_exec(move || {
            run_ops(&ops)?;
            clear_cloexec(fd)
        });
    }
    let mut child = cmd.spawn().expect("spawn the helper");
    drop(theirs);
    let _ = ours.write_all(spec);
    let _ = ours.shutdown(std::net::Shutdown::Write);
    let records = read_records(&mut ours);
    let mut stderr = String::new();
    io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let status = child.wait().unwrap();
    RawResult {
        records,
        status,
        stderr,
    }
}

#[track_caller]
fn assert_failed_at(r: &RawResult, location: forkexec_client::Location, errno: i32) {
    assert_eq!(
        r.records,
        [Record::Error {
            location: location as u32,
            errno,
            index: 0,
            detail: 0,
        }],
        "stderr: {}",
        r.stderr
    );
    assert_eq!(r.status.code(), Some(125), "{:?}", r.status);
    assert_eq!(r.stderr, "");
}

/// With no fd to spare (RLIMIT_NOFILE 0) `/proc/self/setgroups` cannot be opened:
/// `write_setgroups`, EMFILE.
#[test]
fn write_setgroups_fails_without_a_free_fd() {
    let mut c = Cleanup::default();
    let (r, marker) = marker_target(&mut c);
    let spec = r.clone_flags([Namespace::NewUser]).spec.encode().unwrap();
    let res = raw_exec(&helper(), &spec, vec![Op::NoFiles]);
    assert_failed_at(
        &res,
        forkexec_client::Location::WriteSetgroups,
        libc::EMFILE,
    );
    assert!(!marker.exists());
}

/// The same with setgroups left allowed: the first open is the uid map's: `write_uid_map`,
/// EMFILE.
#[test]
fn write_uid_map_fails_without_a_free_fd() {
    let mut c = Cleanup::default();
    let (r, marker) = marker_target(&mut c);
    let spec = r
        .clone_flags([Namespace::NewUser])
        .uid_mappings([IdMap::new(0, euid(), 1)])
        .gid_mappings_enable_setgroups(true)
        .spec
        .encode()
        .unwrap();
    let res = raw_exec(&helper(), &spec, vec![Op::NoFiles]);
    assert_failed_at(&res, forkexec_client::Location::WriteUidMap, libc::EMFILE);
    assert!(!marker.exists());
}

/// Under a /proc that is not procfs (a tmpfs holding only `self/setgroups` and
/// `self/uid_map` as plain files, as in a scratch container that has not mounted proc),
/// the gid map cannot be opened: `write_gid_map`, ENOENT.
#[test]
fn write_gid_map_fails_without_proc() {
    let mut c = Cleanup::default();
    let (r, marker) = marker_target(&mut c);
    // The helper runs as uid/gid 0 (root, or mapped to root by own_mount_ns).
    let spec = r
        .clone_flags([Namespace::NewUser])
        .uid_mappings([IdMap::new(0, 0, 1)])
        .gid_mappings([IdMap::new(0, 0, 1)])
        .spec
        .encode()
        .unwrap();
    let mut ops = own_mount_ns();
    ops.extend([
        Op::Mount(cs("tmpfs"), cs("/proc"), cs("tmpfs"), 0),
        Op::Mkdir(cs("/proc/self")),
        Op::Touch(cs("/proc/self/setgroups")),
        Op::Touch(cs("/proc/self/uid_map")),
    ]);
    let res = raw_exec(&helper(), &spec, ops);
    assert_failed_at(&res, forkexec_client::Location::WriteGidMap, libc::ENOENT);
    assert!(!marker.exists());
}

/// A runtime whose own gid has no mapping in its user namespace cannot make a nested one:
/// `unshare`, EPERM (for root too).
#[test]
fn unshare_of_a_user_namespace_fails_with_an_unmapped_gid() {
    let mut c = Cleanup::default();
    let (r, marker) = marker_target(&mut c);
    let spec = r.clone_flags([Namespace::NewUser]).spec.encode().unwrap();
    let ops = vec![
        Op::Unshare(libc::CLONE_NEWUSER),
        Op::Write(
            cs("/proc/self/uid_map"),
            format!("0 {} 1", euid()).into_bytes(),
        ),
    ];
    let res = raw_exec(&helper(), &spec, ops);
    assert_failed_at(&res, forkexec_client::Location::Unshare, libc::EPERM);
    assert!(!marker.exists());
}

/// A helper chrooted into a directory that is not a mount point cannot make `/` private:
/// `mount(root)`, EINVAL.
#[test]
fn chroot_that_is_not_a_mount_point_fails_at_mount_root() {
    let mut c = Cleanup::default();
    let dir = c.dir("chroot");
    fs::write(dir.join("forkexec"), "").unwrap();
    let spec = Runner::new(["/never-run"])
        .clone_flags([Namespace::NewNs])
        .spec
        .encode()
        .unwrap();
    let mut ops = own_mount_ns();
    ops.extend([
        Op::Mount(
            cs(helper()),
            cs(dir.join("forkexec")),
            cs(""),
            libc::MS_BIND,
        ),
        Op::Chroot(cs(&dir)),
        Op::Chdir(cs("/")),
    ]);
    let res = raw_exec(Path::new("/forkexec"), &spec, ops);
    assert_failed_at(&res, forkexec_client::Location::MountRoot, libc::EINVAL);
}

/// A helper whose root is a mount covered by another mount (chrooted into a tmpfs, then a
/// second tmpfs mounted on `/`). go-sandbox's `old_root` directory could not be removed there
/// (`unlink`, EBUSY: only the cover was detached); `pivot_root(".", ".")` stacks the old root
/// with its cover on the new root and the lazy detach takes both, so the chain goes on to
/// execve (of a target that does not exist: ENOENT).
#[test]
fn a_covered_old_root_is_detached_whole() {
    let mut c = Cleanup::default();
    let dir = c.dir("covered");
    let spec = Runner::new(["/never-run"])
        .clone_flags([Namespace::NewNs])
        .pivot_root("/newroot")
        .spec
        .encode()
        .unwrap();
    let mut ops = own_mount_ns();
    ops.extend([
        Op::Mount(cs("tmpfs"), cs(&dir), cs("tmpfs"), 0),
        Op::Touch(cs(dir.join("forkexec"))),
        Op::Mount(
            cs(helper()),
            cs(dir.join("forkexec")),
            cs(""),
            libc::MS_BIND,
        ),
        Op::Mkdir(cs(dir.join("newroot"))),
        Op::Chroot(cs(&dir)),
        Op::Chdir(cs("/")),
        Op::Mount(cs("tmpfs"), cs("/"), cs("tmpfs"), 0),
    ]);
    let res = raw_exec(Path::new("/forkexec"), &spec, ops);
    let execve = forkexec_client::Location::Execve as u32;
    assert_eq!(
        res.records,
        [Record::Error {
            location: execve,
            errno: libc::ENOENT,
            index: 0,
            detail: 0
        }],
        "stderr: {}",
        res.stderr
    );
    assert_eq!(res.status.code(), Some(127), "not found");
}
