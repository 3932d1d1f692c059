//! Mounts and pivot_root.

use super::*;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

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

/// Runs `forkexec-probe write PATH TEXT` (already in the runner's args) and returns its JSON.
fn probe_json(runner: Runner) -> Value {
    let out = run(runner).expect("start");
    assert!(out.status.success(), "{} {}", out.status, out.stderr);
    serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", out.stdout))
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

/// 200 sandboxed runs leave the mount table they started from as it was, and no pivot
/// directory mounted. As root they run without a user namespace inside a shared peer group,
/// where a mount that escaped the helper's MS_PRIVATE step would show (tests/leaks.rs shows
/// the check catching that); as a user the sandbox's namespace never propagates back.
#[test]
fn host_mount_table_unchanged_after_200_sandboxed_runs() {
    fn runs(base: &Path, user_ns: bool) {
        let mounts = leaks::Mounts::take();
        for i in 0..200 {
            let mut c = Cleanup::default();
            let mut r = in_root(&mut c, &["exit", "0"]);
            let dir = base.join(format!("root-{i}"));
            fs::create_dir(&dir).unwrap();
            r.spec.pivot_root = dir.to_string_lossy().into_owned();
            let r = if user_ns {
                r
            } else {
                leaks::without_user_ns(r)
            };
            let out = run(r).unwrap();
            assert!(out.status.success(), "{} {}", out.status, out.stderr);
            fs::remove_dir(&dir).unwrap();
        }
        assert_eq!(mounts.check(), Ok(()));
    }
    let mut c = Cleanup::default();
    let base = c.dir("200-runs");
    if is_root() {
        leaks::in_shared_peer_group(base.join("shared"), |dir| runs(dir, false));
    } else {
        runs(&base, true);
    }
}
