//! The info fd and the JSON status fd (records INFO_FD and JSON_STATUS_FD): bubblewrap's JSON,
//! written by the helper about the target it started, byte for byte as bubblewrap writes it.

use super::*;

/// The id in a `/proc/…/ns/NAME` link's text, e.g. `pid:[4026532182]`.
fn ns_id(link: &Value) -> u64 {
    let text = link.as_str().expect("a link text");
    let id = text
        .split_once(":[")
        .and_then(|(_, rest)| rest.strip_suffix(']'));
    id.and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("{text}"))
}

fn read_all(mut f: File) -> String {
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    s
}

/// bubblewrap's two start documents for `pid` with these `(name, id)` namespaces.
fn expected_start(pid: u32, ids: &[(&str, u64)]) -> (String, String) {
    let mut info = format!("{{\n    \"child-pid\": {pid}");
    let mut json = format!("{{ \"child-pid\": {pid}");
    for (name, id) in ids {
        info += &format!(",\n    \"{name}-namespace\": {id}");
        json += &format!(", \"{name}-namespace\": {id}");
    }
    (info + "\n}\n", json + " }\n")
}

/// Runs `r` with an info fd and a JSON status fd (the write ends of two pipes); returns what
/// was written to each, the target's pid as the runtime sees it, and how it ended.
fn with_info_fds(mut r: Runner) -> (String, String, u32, WaitStatus, String) {
    let (info_r, info_w) = pipe();
    let (json_r, json_w) = pipe();
    r.spec.info_fd = Some(info_w.as_raw_fd());
    r.spec.json_status_fd = Some(json_w.as_raw_fd());
    let run = Running::start(r).unwrap();
    drop((info_w, json_w));
    let target = run.p.target_pid();
    let (status, out, _) = run.finish();
    (read_all(info_r), read_all(json_r), target, status, out)
}

/// Supervise, in new mount, pid, ipc, uts and net namespaces: the pid is the target's (the
/// pid record's), the ids are those of the namespaces it sees (not the user namespace, which
/// bubblewrap leaves out, nor the cgroup namespace, which it does not get), and the JSON
/// status ends with the exit code.
#[test]
fn info_and_json_status_name_the_target_and_its_namespaces() {
    let mut c = Cleanup::default();
    let mut r = pid_root(&mut c, &["report"]);
    r.spec
        .clone_flags
        .extend([Namespace::NewIpc, Namespace::NewUts, Namespace::NewNet]);
    let (info, json, target, status, out) = with_info_fds(r);
    assert!(status.success(), "{status}");
    let report = json_of(&out);
    let ids: Vec<(&str, u64)> = ["ipc", "mnt", "net", "pid", "uts"]
        .into_iter()
        .map(|ns| (ns, ns_id(&report["ns"][ns])))
        .collect();
    assert_ne!(ids[3].1, ns_id(&json!(pid_ns_of(std::process::id()))));
    let (want_info, want_json) = expected_start(target, &ids);
    assert_eq!(info, want_info);
    assert_eq!(json, want_json + "{ \"exit-code\": 0 }\n");
}

/// The exit code in the shell's encoding, from the supervisor (a JSON status fd makes the
/// helper supervise even a spec that could run in place) or from init (pid 2's own end).
#[test]
fn the_exit_code_is_the_targets() {
    let mut c = Cleanup::default();
    let r = sh(probe_runner(&[]), "exit 42");
    let (info, json, target, status, _) = with_info_fds(r);
    assert_eq!(status.code(), Some(42));
    let (want_info, want_json) = expected_start(target, &[]);
    assert_eq!(info, want_info);
    assert_eq!(json, want_json + "{ \"exit-code\": 42 }\n");

    let r = sh(init_root(&mut c, &[]), "kill -9 $$");
    let (_, json, _, status, _) = with_info_fds(r);
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status}");
    assert!(json.ends_with(" }\n{ \"exit-code\": 137 }\n"), "{json}");
}

/// A target that never executed has no exit code: a failed execve, or a failed setup step.
#[test]
fn no_exit_code_without_an_exec() {
    let mut c = Cleanup::default();
    for r in [
        probe_runner(&[]).exec_path("/nonexistent/program"),
        pid_root(&mut c, &["report"]).mount(Mount::bind("/nonexistent-source", "/x", false)),
    ] {
        let (json_r, json_w) = pipe();
        let mut r = r;
        r.spec.json_status_fd = Some(json_w.as_raw_fd());
        let started = r.start();
        drop(json_w);
        assert!(matches!(started, Err(Error::Child(_))), "{started:?}");
        let json = read_all(json_r);
        assert!(json.starts_with("{ \"child-pid\": "), "{json}");
        assert!(!json.contains("exit-code"), "{json}");
    }
}

/// In place (no JSON status fd, nothing that needs a clone) the helper becomes the target:
/// the info names the helper's own pid and the namespaces it unshared.
#[test]
fn info_in_place_names_the_helper_itself() {
    let r = probe_runner(&["report"]);
    let r = if is_root() {
        r.clone_flags([Namespace::NewNs, Namespace::NewUts])
    } else {
        r.clone_flags([Namespace::NewUser, Namespace::NewNs, Namespace::NewUts])
            .uid_mappings([IdMap::new(0, euid(), 1)])
            .gid_mappings([IdMap::new(0, egid(), 1)])
    };
    let (info_r, info_w) = pipe();
    let mut r = r;
    r.spec.info_fd = Some(info_w.as_raw_fd());
    let run = Running::start(r).unwrap();
    drop(info_w);
    let (helper, target) = (run.p.pid(), run.p.target_pid());
    let (status, out, _) = run.finish();
    assert!(status.success(), "{status}");
    assert_eq!(helper, target, "in place");
    let report = json_of(&out);
    let ids = [
        ("mnt", ns_id(&report["ns"]["mnt"])),
        ("uts", ns_id(&report["ns"]["uts"])),
    ];
    assert_eq!(read_all(info_r), expected_start(helper, &ids).0);
}

/// `info_fd` (61): an fd the document cannot be written to (the read end of a pipe: EBADF)
/// stops the start before the target runs; index 0 the info fd, 1 the JSON status fd.
#[test]
fn an_unwritable_info_fd_stops_the_start() {
    let mut c = Cleanup::default();
    for (index, shape) in [(0, Shape::InPlace), (0, Shape::Supervise), (1, Shape::Init)] {
        let (r, marker) = marker_target(&mut c);
        let mut r = shaped(r, shape);
        let (read_end, _write_end) = pipe();
        if index == 0 {
            r.spec.info_fd = Some(read_end.as_raw_fd());
        } else {
            r.spec.json_status_fd = Some(read_end.as_raw_fd());
        }
        match r.start() {
            Err(Error::Child(e)) => {
                assert_eq!(e.location(), Some(Location::InfoFd), "{shape:?}");
                assert_eq!((e.errno(), e.index()), (libc::EBADF, index), "{shape:?}");
            }
            other => panic!("{shape:?}: {other:?}"),
        }
        assert_never_ran(&marker);
    }
    assert_no_children();
}
