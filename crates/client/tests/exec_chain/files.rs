//! The target's fd table: files.

use super::*;

// ---------------------------------------------------------------------------------------
// files

#[test]
fn files_map_a_pipe_to_1_and_a_file_to_3() {
    let dir = TempDir::new("files3");
    let path = dir.join("three");
    std::fs::write(&path, "").unwrap();
    let file = File::open(&path).unwrap();
    let mut expected = BTreeMap::new();
    let r = report_mapped(probe_runner(&["report"]), |s| {
        expected = BTreeMap::from([
            (0, "/dev/null".to_string()),
            (1, own_link(s.out())),
            (2, own_link(s.err())),
            (3, canonical(&path)),
        ]);
        vec![s.null(), s.out(), s.err(), file.as_raw_fd()]
    });
    assert!(expected[&1].starts_with("pipe:"), "{expected:?}");
    assert_eq!(fd_links(&r), expected);
}

/// -1 closes the slot even when the helper has that number open (here: the runtime's fd
/// that is moved to slot 3 has the very number of a -1 slot).
#[test]
fn files_minus_one_closes_the_slot() {
    let dir = TempDir::new("files-close");
    let path = dir.join("f");
    std::fs::write(&path, "").unwrap();
    let f = dup_at_least(File::open(&path).unwrap().as_raw_fd(), 20);
    let n = f.as_raw_fd();
    let r = report_mapped(probe_runner(&["report"]), |s| {
        let mut files = s.std3();
        files.push(n); // slot 3
        files.resize(n as usize + 1, -1); // slots 4..=n closed, slot n among them
        files
    });
    let fds = fd_links(&r);
    assert_eq!(
        fds.keys().copied().collect::<Vec<_>>(),
        [0, 1, 2, 3],
        "{fds:?}"
    );
    assert_eq!(fds[&3], canonical(&path));
}

/// go-sandbox's two passes: the runtime's fds a < b go to target slots b and a, so each
/// target number is also the number of the other source fd.
#[test]
fn files_swap_colliding_numbers() {
    let dir = TempDir::new("files-swap");
    let (pa, pb) = (dir.join("a"), dir.join("b"));
    std::fs::write(&pa, "").unwrap();
    std::fs::write(&pb, "").unwrap();
    let a = dup_at_least(File::open(&pa).unwrap().as_raw_fd(), 40);
    let b = dup_at_least(File::open(&pb).unwrap().as_raw_fd(), a.as_raw_fd() + 1);
    let (na, nb) = (a.as_raw_fd(), b.as_raw_fd());
    let mut expected = BTreeMap::new();
    let r = report_mapped(probe_runner(&["report"]), |s| {
        let mut files = s.std3();
        files.resize(nb as usize + 1, -1);
        files[na as usize] = nb;
        files[nb as usize] = na;
        expected = BTreeMap::from([
            (0, "/dev/null".to_string()),
            (1, own_link(s.out())),
            (2, own_link(s.err())),
            (na, canonical(&pb)),
            (nb, canonical(&pa)),
        ]);
        files
    });
    assert_eq!(fd_links(&r), expected);
}

/// A rotation where every source is below its slot (all go through pass 1), and the same
/// source fd in two slots.
#[test]
fn files_rotation_and_duplicates() {
    let dir = TempDir::new("files-rot");
    let paths: Vec<PathBuf> = (0..3).map(|i| dir.join(&format!("r{i}"))).collect();
    let owned: Vec<OwnedFd> = paths
        .iter()
        .map(|p| {
            std::fs::write(p, "").unwrap();
            dup_at_least(File::open(p).unwrap().as_raw_fd(), 30)
        })
        .collect();
    let n: Vec<RawFd> = owned.iter().map(|f| f.as_raw_fd()).collect();
    let top = *n.iter().max().unwrap() + 2;
    let r = report_mapped(probe_runner(&["report"]), |s| {
        let mut files = s.std3();
        files.resize(top as usize + 1, -1);
        // slot n0 <- n1, slot n1 <- n2, slot n2 <- n0, and slot top <- n0 again.
        files[n[0] as usize] = n[1];
        files[n[1] as usize] = n[2];
        files[n[2] as usize] = n[0];
        files[top as usize] = n[0];
        files
    });
    let fds = fd_links(&r);
    let expected_keys: Vec<i32> = {
        let mut k = vec![0, 1, 2, n[0], n[1], n[2], top];
        k.sort();
        k
    };
    assert_eq!(fds.keys().copied().collect::<Vec<_>>(), expected_keys);
    assert_eq!(fds[&n[0]], canonical(&paths[1]));
    assert_eq!(fds[&n[1]], canonical(&paths[2]));
    assert_eq!(fds[&n[2]], canonical(&paths[0]));
    assert_eq!(fds[&top], canonical(&paths[0]));
}

/// A long table, mostly closed: the target sees exactly the mapped slots, nothing of the
/// helper's own (the spec/status socket is most likely numbered inside the table).
#[test]
fn files_nothing_else_leaks() {
    let dir = TempDir::new("files-leak");
    let path = dir.join("f");
    std::fs::write(&path, "").unwrap();
    let file = File::open(&path).unwrap();
    let r = report_mapped(probe_runner(&["report"]), |s| {
        let mut files = s.std3();
        files.resize(64, -1);
        files[5] = file.as_raw_fd();
        files[63] = file.as_raw_fd();
        files
    });
    let fds = fd_links(&r);
    assert_eq!(
        fds.keys().copied().collect::<Vec<_>>(),
        [0, 1, 2, 5, 63],
        "{fds:?}"
    );
    assert!(
        fds.values().all(|l| !l.starts_with("socket:")),
        "a socket leaked: {fds:?}"
    );
}

/// The usual 0/1/2 table: no socket, nothing but the three.
#[test]
fn files_std3_only() {
    let r = report(probe_runner(&["report"]));
    let fds = fd_links(&r);
    assert_eq!(
        fds.keys().copied().collect::<Vec<_>>(),
        [0, 1, 2],
        "{fds:?}"
    );
    assert_eq!(fds[&0], "/dev/null");
    assert!(fds.values().all(|l| !l.starts_with("socket:")), "{fds:?}");
}

/// With no `files`, the target keeps this process's 0, 1 and 2 (and nothing else). The
/// target is a shell that moves its fd 1 to 3 and writes the probe's report to a file, so
/// that this process's own stdout is left alone.
#[test]
fn no_files_keeps_stdio() {
    let dir = TempDir::new("nofiles");
    let out = dir.join("report.json");
    let runner = Runner::new([
        "/bin/sh",
        "-c",
        "exec \"$0\" report 3>&1 >\"$1\"",
        &probe_path(),
        out.to_str().unwrap(),
    ]);
    assert!(runner.spec.files.is_empty());
    let mut p = Guard(runner.start().unwrap());
    let status = p.wait().unwrap();
    assert!(status.success(), "{status}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let fds = fd_links(&r);
    let expected = BTreeMap::from([
        (0, own_link(0)),
        (1, canonical(&out)),
        (2, own_link(2)),
        (3, own_link(1)),
    ]);
    assert_eq!(fds, expected);
}

/// The same through the raw harness, where the helper's 0/1/2 are /dev/null, a file, a pipe.
#[test]
fn no_files_keeps_stdio_raw() {
    let dir = TempDir::new("nofiles-raw");
    let out = dir.join("report.json");
    let spec = Spec::new([probe_path(), "report".into()]);
    let file = File::create(&out).unwrap();
    let res = raw_with(&spec.encode().unwrap(), |cmd| {
        cmd.stdout(file);
    });
    assert_eq!(res.records, [], "stderr: {}", res.stderr);
    assert!(res.status.success(), "{} {}", res.status, res.stderr);
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let fds = fd_links(&r);
    assert_eq!(
        fds.keys().copied().collect::<Vec<_>>(),
        [0, 1, 2],
        "{fds:?}"
    );
    assert_eq!(fds[&0], "/dev/null");
    assert_eq!(fds[&1], canonical(&out));
    assert!(fds[&2].starts_with("pipe:"), "{fds:?}");
}
