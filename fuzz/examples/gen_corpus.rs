//! Writes the committed seed corpus, `fuzz/corpus/<target>/`, from scratch:
//!
//! - every test vector `crates/spec/vectors/*.hex`, as raw bytes (`vector-<name>`);
//! - specs in the JSON form encoded by the Rust client's encoder (`forkexec_client::Spec::
//!   encode`), together covering every record type, option and namespace bit, both mount
//!   options, every mount operation kind and flag, and the four process shapes
//!   (`client-<name>`);
//! - for `helper_validate`, those specs behind the target's control bytes (ids, read schedule;
//!   see `fuzz_targets/helper_validate.rs`) with a few read schedules, and status records after
//!   the spec (what follows the spec on the fd must stay unread).
//!
//! Run from anywhere: `cargo run --manifest-path fuzz/Cargo.toml --example gen_corpus`.
//! The output is deterministic; commit what changes.

use std::fs;
use std::path::{Path, PathBuf};

use forkexec_spec::status::Record;

/// Client specs, one per line of the JSON form (docs/json.md).
const CLIENT_SPECS: &[(&str, &str)] = &[
    (
        "args-env",
        r#"{"args":["/bin/echo","hello","world"],"env":["PATH=/usr/bin:/bin","LANG=C"]}"#,
    ),
    (
        "exec-path-files-rlimits",
        r#"{"args":["sh","-c","exit 3"],"exec_path":"/bin/sh","files":[0,-1,2,7],
            "rlimits":[{"resource":"cpu","cur":1,"max":2},{"resource":"nofile","cur":64,"max":64},
                       {"resource":"as","cur":18446744073709551615,"max":18446744073709551615}],
            "work_dir":"/tmp"}"#,
    ),
    (
        "exec-file-status-fd-sync",
        r#"{"args":["","x"],"exec_file":5,"status_fd":6,"sync":true,"ptrace":true,"setsid":false}"#,
    ),
    (
        "seccomp",
        r#"{"args":["/bin/true"],"no_new_privs":true,"seccomp":[
            {"code":32,"k":4},{"code":21,"jt":0,"jf":1,"k":3221225534},
            {"code":6,"k":2147418112},{"code":6,"k":2147483648}]}"#,
    ),
    (
        "container",
        r#"{"args":["/bin/sh"],"env":["HOME=/"],"clone_flags":["newns","newuts","newipc","newnet","newcgroup","newuser"],
            "mounts":[{"source":"/usr","target":"/usr","flags":["bind","rec","rdonly","nosuid","nodev"]},
                      {"source":"tmpfs","target":"/tmp","fstype":"tmpfs","flags":["nosuid","nodev","noexec"],"data":"size=16m,mode=1777"},
                      {"source":"/etc/hosts","target":"/etc/hosts","flags":["bind"],"file":true},
                      {"source":"proc","target":"/proc","fstype":"proc","mkdir":false}],
            "pivot_root":"/tmp/root","host_name":"sandbox","domain_name":"example",
            "uid_mappings":[{"container_id":0,"host_id":1000,"size":1}],
            "gid_mappings":[{"container_id":0,"host_id":1000,"size":1}],
            "credential":{"uid":0,"gid":0,"groups":[0,1,2],"no_set_groups":false},
            "drop_caps":true,"unshare_cgroup_after_sync":true,"die_with_parent":true}"#,
    ),
    (
        "supervise-maps",
        r#"{"args":["/bin/id"],"clone_flags":["newuser","newpid","newns"],
            "uid_mappings":[{"container_id":0,"host_id":100000,"size":65536},{"container_id":65536,"host_id":1000,"size":1}],
            "gid_mappings":[{"container_id":0,"host_id":100000,"size":65536}],
            "gid_mappings_enable_setgroups":true,
            "credential":{"uid":1,"gid":1,"no_set_groups":true}}"#,
    ),
    (
        "init",
        r#"{"args":["/sbin/init-target"],"clone_flags":["newpid","newns"],"init":true,"cgroup":"/sys/fs/cgroup/unified/job"}"#,
    ),
    (
        "detach-ptrace",
        r#"{"args":["/bin/traced"],"clone_flags":["newpid"],"detach":true,"ptrace":true,
            "stop_before_seccomp":true,"cgroup_fd":9,"ctty":true}"#,
    ),
    (
        "every-mount-flag",
        r#"{"args":["/x"],"clone_flags":["newns"],"mounts":[{"source":"a","target":"/b","fstype":"c","data":"d",
            "flags":["rdonly","nosuid","nodev","noexec","synchronous","remount","mandlock","dirsync","nosymfollow",
                     "noatime","nodiratime","bind","move","rec","silent","posixacl","unbindable","private","slave",
                     "shared","relatime","i_version","strictatime","lazytime"]}]}"#,
    ),
    (
        "mount-ops",
        r#"{"args":["/bin/sh"],"files":[0,1,2,3],"clone_flags":["newns","newpid","newipc","newuser"],
            "mounts":[{"type":"bind","source":"/usr","target":"/usr","readonly":true},
                      {"type":"bind","source":"/lib64","target":"/lib64","readonly":true,"optional":true},
                      {"type":"bind","source_fd":3,"target":"/data","dev":true},
                      {"source":"tmpfs","target":"/run","fstype":"tmpfs","flags":["nosuid","nodev"]},
                      {"type":"tmpfs","target":"/tmp","size":"64m","mode":"1777"},
                      {"type":"tmpfs","target":"/ro","readonly":true},
                      {"type":"proc","target":"/proc"},{"type":"dev","target":"/dev"},
                      {"type":"mqueue","target":"/dev/mqueue"},
                      {"type":"dir","target":"/work/a/b","mode":"0700"},
                      {"type":"symlink","source":"usr/bin","target":"/bin"},
                      {"type":"file","target":"/etc/hostname","content":"box\n"},
                      {"type":"file","target":"/etc/bin","mode":"0600","content":"a\u0000b"},
                      {"type":"file","target":"/input","content_fd":7},
                      {"type":"remount_ro","target":"/data"},
                      {"type":"mask","target":"/proc/kcore","optional":true}],
            "pivot_root":"/tmp/root","writable_root":true,
            "uid_mappings":[{"container_id":0,"host_id":1000,"size":1}],
            "gid_mappings":[{"container_id":0,"host_id":1000,"size":1}]}"#,
    ),
    (
        "landlock-info-join",
        r#"{"args":["/bin/sh"],"files":[0,1,2],"no_new_privs":true,"info_fd":5,"json_status_fd":6,
            "join_ns":{"user":7,"user2":8},
            "landlock":{"exact":true,"fs":[{"path":"/usr","access":["read","execute"]},
                                          {"path":"/tmp","access":["write"]}],
                        "net":[{"port":443,"access":["connect_tcp"]}],
                        "scope":["abstract_unix_socket","signal"]}}"#,
    ),
    (
        "overlays-bind-data",
        r#"{"args":["/bin/sh"],"files":[0,1,2],"clone_flags":["newns","newuser"],
            "mounts":[{"type":"bind_data","target":"/etc/passwd","content":"root:x:0:0::/:/bin/sh\n","readonly":true},
                      {"type":"bind_data","target":"/etc/group","content_fd":8,"mode":"644"},
                      {"type":"overlay","target":"/src","lower":["/srv/patch","/srv/base"],"upper":"/srv/rw","work":"/srv/work"},
                      {"type":"tmp_overlay","target":"/usr","lower":["/usr"]},
                      {"type":"ro_overlay","target":"/opt","lower":["/opt/b","/opt/a"]}],
            "pivot_root":"/tmp/root"}"#,
    ),
    (
        "mount-ops-host-root",
        r#"{"args":["/bin/true"],"clone_flags":["newns"],
            "mounts":[{"type":"tmpfs","target":"/tmp","size":4096},
                      {"type":"mask","target":"/a/../proc/kcore"},
                      {"type":"remount_ro","target":"/"}]}"#,
    ),
];

/// Raw bytes of a vector file (vectors/README.md: every non-`#` line is hex).
fn vector_bytes(text: &str) -> Vec<u8> {
    let hex: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    assert!(hex.len().is_multiple_of(2), "odd number of hex digits");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// A fresh, empty directory.
fn clean_dir(dir: &Path) {
    if dir.exists() {
        fs::remove_dir_all(dir).unwrap();
    }
    fs::create_dir_all(dir).unwrap();
}

fn main() {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let vectors = fuzz.join("../crates/spec/vectors");

    let mut specs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut names: Vec<_> = fs::read_dir(&vectors)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "hex"))
        .collect();
    names.sort();
    for path in names {
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        let bytes = vector_bytes(&fs::read_to_string(&path).unwrap());
        specs.push((format!("vector-{stem}"), bytes));
    }
    for (name, json) in CLIENT_SPECS {
        let spec = forkexec_client::Spec::from_json(json).unwrap_or_else(|e| panic!("{name}: {e}"));
        let bytes = spec.encode().unwrap_or_else(|e| panic!("{name}: {e}"));
        specs.push((format!("client-{name}"), bytes));
    }

    // At the limits, so one more item reaches the TooMany / TooLong refusals (run the targets
    // with -max_len of at least 64 KiB to let them grow): 4096 fds and 4096 seccomp
    // instructions; 16 rlimits, 256 mounts (raw and operations alternating), 340-entry maps,
    // longest paths and names.
    let list = |n: usize, item: &str| vec![item; n].join(",");
    let long = |n: usize| format!("/{}", "p".repeat(n - 1));
    let limits = [
        (
            "limits-tables",
            format!(
                r#"{{"args":["/a"],"files":[{}],"seccomp":[{}]}}"#,
                list(4096, "-1"),
                list(4096, r#"{"code":6,"k":0}"#)
            ),
        ),
        (
            "limits-records",
            format!(
                r#"{{"args":["/a"],"clone_flags":["newns","newuser","newuts"],"rlimits":[{}],"mounts":[{}],
                    "uid_mappings":[{}],"gid_mappings":[{}],"exec_path":"{}","work_dir":"{}","pivot_root":"{}",
                    "host_name":"{}","domain_name":"{}"}}"#,
                list(16, r#"{"resource":"nofile","cur":1,"max":1}"#),
                list(
                    128,
                    r#"{"target":"/m","fstype":"tmpfs"},{"type":"proc","target":"/p"}"#
                ),
                list(340, r#"{"container_id":1,"host_id":1,"size":1}"#),
                list(340, r#"{"container_id":2,"host_id":2,"size":2}"#),
                long(4095),
                long(4095),
                long(4095),
                "h".repeat(64),
                "d".repeat(64),
            ),
        ),
    ];
    for (name, json) in &limits {
        let spec = forkexec_client::Spec::from_json(json).unwrap_or_else(|e| panic!("{name}: {e}"));
        let bytes = spec.encode().unwrap_or_else(|e| panic!("{name}: {e}"));
        specs.push((format!("client-{name}"), bytes));
    }

    let decode_dir = fuzz.join("corpus/decode");
    clean_dir(&decode_dir);
    for (name, bytes) in &specs {
        fs::write(decode_dir.join(name), bytes).unwrap();
    }

    // helper_validate: [ids selector, schedule length, schedule..., stream...].
    let helper_dir = fuzz.join("corpus/helper_validate");
    clean_dir(&helper_dir);
    let typical = &specs.iter().find(|(n, _)| n == "vector-typical").unwrap().1;
    let status_tail: Vec<u8> = [
        Record::Sync { pid: 42 },
        Record::Error {
            location: 34,
            errno: 22,
            index: 12,
            detail: 15,
        },
        Record::Exit {
            status: 0x0900,
            utime_us: 1,
            stime_us: 2,
            maxrss_kib: 3,
        },
        Record::Pid { pid: 7 },
        Record::Exec { pid: 7 },
    ]
    .iter()
    .flat_map(|r| r.encode())
    .collect();
    for (i, (name, bytes)) in specs.iter().enumerate() {
        // Everything in one read, with ids chosen by position (6: the spec's own map hosts).
        let mut whole = vec![(i % 8) as u8, 0];
        whole.extend_from_slice(bytes);
        fs::write(helper_dir.join(name), whole).unwrap();
    }
    let variants: &[(&str, &[u8])] = &[
        // The header in pieces, EINTR, then the rest.
        ("chunked-typical", &[0, 5, 3, 0, 9, 0, 40]),
        // Byte by byte for a while.
        (
            "bytewise-typical",
            &[1, 16, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
        ),
        // EOF in the header, EOF in the body, a read error after the header.
        ("eof-in-header", &[0, 2, 7, 0xfe]),
        ("eof-in-body", &[0, 3, 12, 20, 0xfe]),
        ("eio-after-header", &[0, 2, 12, 0xff]),
    ];
    for (name, control) in variants {
        let mut input = control.to_vec();
        input.extend_from_slice(typical);
        fs::write(helper_dir.join(name), input).unwrap();
    }
    // Status records after the spec, which the helper must leave on the fd.
    let minimal = &specs.iter().find(|(n, _)| n == "vector-minimal").unwrap().1;
    let mut input = vec![0, 0];
    input.extend_from_slice(minimal);
    input.extend_from_slice(&status_tail);
    fs::write(helper_dir.join("status-after-spec"), input).unwrap();

    let count = |d: &Path| fs::read_dir(d).unwrap().count();
    println!(
        "corpus/decode: {} files, corpus/helper_validate: {} files",
        count(&decode_dir),
        count(&helper_dir)
    );
}
