//! Overlay mount operations (overlay, tmp_overlay, ro_overlay), checked from inside the
//! sandbox with the probe's `inspect` and `write`: the topmost layer wins, writes land in the
//! upper directory (overlay), in a private tmpfs gone with the sandbox (tmp_overlay) or
//! nowhere (ro_overlay: EROFS), the lower directories never change, names with `:`, `,`, `\`
//! and spaces need no escaping, every overlay is nosuid and nodev; a missing or non-directory
//! layer is an error with the entry's index and the target never runs. Every test runs as root
//! and as an ordinary user (in a user namespace).
use forkexec_testkit::support;

use std::fs;
use std::path::{Path, PathBuf};

use forkexec_client::MountOp;
use serde_json::Value;
use support::*;

/// Three lower directories and an upper one, as bubblewrap's own test makes them: `a` is
/// `1` in lower1 and `4` in upper, `b` is `2` in lower1 and `3` in lower2.
struct Layers {
    lower1: String,
    lower2: String,
    upper: String,
    work: String,
    dir: PathBuf,
}

fn layers(c: &mut Cleanup, tag: &str) -> Layers {
    let dir = c.dir(tag);
    for d in ["lower1", "lower2", "upper", "work"] {
        fs::create_dir(dir.join(d)).unwrap();
    }
    fs::write(dir.join("lower1/a"), "1").unwrap();
    fs::write(dir.join("lower1/b"), "2").unwrap();
    fs::write(dir.join("lower2/b"), "3").unwrap();
    fs::write(dir.join("upper/a"), "4").unwrap();
    let s = |d: &str| dir.join(d).to_string_lossy().into_owned();
    Layers {
        lower1: s("lower1"),
        lower2: s("lower2"),
        upper: s("upper"),
        work: s("work"),
        dir,
    }
}

/// What the probe read from `path` inside the sandbox, as text.
fn read(v: &Value, path: &str) -> String {
    let bytes: Vec<u8> = v["paths"][path]["read"]
        .as_array()
        .unwrap_or_else(|| panic!("{path} not read: {}", v["paths"][path]))
        .iter()
        .map(|b| b.as_u64().unwrap() as u8)
        .collect();
    String::from_utf8(bytes).unwrap()
}

fn write_errno(r: forkexec_client::Runner) -> Option<i64> {
    let v = run_json(r);
    (v["ok"] != Value::Bool(true)).then(|| v["errno"].as_i64().unwrap())
}

fn host(dir: &Path, file: &str) -> String {
    fs::read_to_string(dir.join(file)).unwrap()
}

#[test]
fn overlay_reads_the_topmost_layer_and_writes_to_upper() {
    let mut c = Cleanup::default();
    let l = layers(&mut c, "ovl");
    // lower2 above lower1: b comes from lower2; a from upper, above both.
    let op = || MountOp::overlay([&l.lower2, &l.lower1], &l.upper, &l.work, "/x/y/z");
    let v = run_json(in_root(&mut c, &["inspect", "/x/y/z/a", "/x/y/z/b"]).mount(op()));
    assert_eq!(read(&v, "/x/y/z/a"), "4");
    assert_eq!(read(&v, "/x/y/z/b"), "3");
    assert_eq!(v["paths"]["/x/y/z/a"]["nosuid"], true);
    assert_eq!(v["paths"]["/x/y/z/a"]["nodev"], true);
    // One lower directory: b from lower1.
    let one = MountOp::overlay([&l.lower1], &l.upper, &l.work, "/x");
    let v = run_json(in_root(&mut c, &["inspect", "/x/b"]).mount(one));
    assert_eq!(read(&v, "/x/b"), "2");
    // A write is copied up into upper; the lower directories keep theirs.
    let r = in_root(&mut c, &["write", "/x/y/z/b", "5"]).mount(op());
    assert_eq!(write_errno(r), None);
    assert_eq!(host(&l.dir, "upper/b"), "5");
    assert_eq!(host(&l.dir, "lower1/b"), "2");
    assert_eq!(host(&l.dir, "lower2/b"), "3");
}

#[test]
fn tmp_overlay_writes_go_to_a_private_tmpfs_gone_with_the_sandbox() {
    let mut c = Cleanup::default();
    let l = layers(&mut c, "tmpovl");
    let op = || MountOp::tmp_overlay([&l.lower2, &l.lower1], "/x");
    let v = run_json(in_root(&mut c, &["inspect", "/x/a", "/x/b"]).mount(op()));
    assert_eq!(
        (read(&v, "/x/a"), read(&v, "/x/b")),
        ("1".into(), "3".into())
    );
    assert_eq!(v["paths"]["/x/a"]["nosuid"], true);
    let r = in_root(&mut c, &["write", "/x/b", "4"]).mount(op());
    assert_eq!(write_errno(r), None, "writable");
    assert_eq!(host(&l.dir, "lower1/b"), "2");
    assert_eq!(host(&l.dir, "lower2/b"), "3");
    // The next sandbox starts from the lower directories again.
    let v = run_json(in_root(&mut c, &["inspect", "/x/b"]).mount(op()));
    assert_eq!(read(&v, "/x/b"), "3");
    // Two tmp overlays of the same directory are independent, and neither shows upper's
    // directories anywhere: the new root holds only what the spec put there.
    let r = in_root(&mut c, &["inspect", "/", "/y/b"])
        .mount(MountOp::tmp_overlay([&l.lower1], "/x"))
        .mount(MountOp::tmp_overlay([&l.lower1], "/y"));
    let v = run_json(r);
    assert_eq!(read(&v, "/y/b"), "2");
    let entries = v["paths"]["/"]["entries"].as_array().unwrap();
    assert!(
        !entries
            .iter()
            .any(|e| e.as_str().unwrap().contains("upper")),
        "{entries:?}"
    );
}

#[test]
fn ro_overlay_is_read_only() {
    let mut c = Cleanup::default();
    let l = layers(&mut c, "roovl");
    let op = || MountOp::ro_overlay([&l.lower2, &l.lower1], "/x");
    let v = run_json(in_root(&mut c, &["inspect", "/x/a", "/x/b"]).mount(op()));
    assert_eq!(
        (read(&v, "/x/a"), read(&v, "/x/b")),
        ("1".into(), "3".into())
    );
    assert_eq!(v["paths"]["/x/b"]["ro"], true);
    let r = in_root(&mut c, &["write", "/x/b", "4"]).mount(op());
    assert_eq!(write_errno(r), Some(libc::EROFS as i64));
    assert_eq!(host(&l.dir, "lower2/b"), "3");
}

/// overlayfs's `lowerdir=a:b,upperdir=…` string needs `:`, `,` and `\` escaped; the helper
/// hands every layer to the kernel as an fd, so no name is parsed at all.
#[test]
fn layer_names_need_no_escaping() {
    let mut c = Cleanup::default();
    let dir = c.dir("ovl-names");
    let name = |d: &str| {
        dir.join(format!("{d} \":,\\=x"))
            .to_string_lossy()
            .into_owned()
    };
    let (lower, upper, work) = (name("lower"), name("upper"), name("work"));
    for d in [&lower, &upper, &work] {
        fs::create_dir(d).unwrap();
    }
    fs::write(Path::new(&lower).join("a"), "1").unwrap();
    let op = MountOp::overlay([&lower], &upper, &work, "/x");
    let r = in_root(&mut c, &["write", "/x/a", "2"]).mount(op);
    assert_eq!(write_errno(r), None);
    assert_eq!(
        fs::read_to_string(Path::new(&lower).join("a")).unwrap(),
        "1"
    );
    assert_eq!(
        fs::read_to_string(Path::new(&upper).join("a")).unwrap(),
        "2"
    );
}

#[test]
fn a_missing_or_non_directory_layer_fails_with_its_index_and_nothing_runs() {
    let mut c = Cleanup::default();
    let l = layers(&mut c, "ovl-missing");
    let out = c.dir("ovl-marker");
    let out_s = out.to_string_lossy().to_string();
    let missing = "/nonexistent/forkexec-lower".to_string();
    let file = l.dir.join("lower1/a").to_string_lossy().into_owned();
    let cases = [
        (
            MountOp::tmp_overlay([&l.lower1, &missing], "/x"),
            libc::ENOENT,
        ),
        (MountOp::ro_overlay([&l.lower1, &file], "/x"), libc::ENOTDIR),
        (
            MountOp::overlay([&l.lower1], &missing, &l.work, "/x"),
            libc::ENOENT,
        ),
        (
            MountOp::overlay([&l.lower1], &l.upper, &file, "/x"),
            libc::ENOTDIR,
        ),
    ];
    for (op, errno) in cases {
        let r = in_root(&mut c, &["write", "/out/ran", "x"]);
        let first = r.spec.mounts.len() as u32;
        let r = r.mount(MountOp::bind(&out_s, "/out")).mount(op);
        assert_child_error(run(r), "mount(source)", errno, first + 1);
        assert!(!out.join("ran").exists(), "the target never ran");
    }
    // The work directory inside upper: overlayfs refuses it (they must be separate trees),
    // at fsconfig, as the operation's `mount` step.
    let inner_work = Path::new(&l.upper).join("wk");
    fs::create_dir(&inner_work).unwrap();
    let op = MountOp::overlay([&l.lower1], &l.upper, inner_work.to_string_lossy(), "/x");
    let r = in_root(&mut c, &["write", "/out/ran", "x"]);
    let first = r.spec.mounts.len() as u32;
    let r = r.mount(MountOp::bind(&out_s, "/out")).mount(op);
    assert_child_error(run(r), "mount", libc::EINVAL, first + 1);
    assert!(!out.join("ran").exists(), "the target never ran");
}
