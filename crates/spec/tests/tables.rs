//! The tables in `crates/spec/src/tables.rs` are the one source of every number and name; the
//! "Tables" section of `docs/spec.md` is generated from them and must match (the Python
//! client's `tests/test_tables.py` reads its constants back from that section).
//! `FORKEXEC_BLESS_TABLES=1 cargo test -p forkexec-spec --test tables` rewrites the section.

use std::path::PathBuf;

use forkexec_spec::layout::{mount_kind, mount_op, ns, opt, record};
use forkexec_spec::tables::{self, KindInfo, SourceRule};

const BEGIN: &str = "<!-- BEGIN GENERATED TABLES: crates/spec/src/tables.rs (FORKEXEC_BLESS_TABLES=1 cargo test -p forkexec-spec --test tables) -->\n";
const END: &str = "<!-- END GENERATED TABLES -->\n";

/// docs/spec.md: in `$FORKEXEC_DOCS_DIR` when set (the ordinary user's run gets a copy, as
/// the checkout may be in a directory only its owner can enter), else in the checkout.
fn spec_md() -> PathBuf {
    match std::env::var_os("FORKEXEC_DOCS_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("spec.md"),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/spec.md"),
    }
}

fn generated() -> String {
    let mut out = String::new();
    tables::markdown(&mut out).unwrap();
    out
}

#[test]
fn docs_spec_md_tables_are_generated_from_the_crate() {
    let path = spec_md();
    let doc = std::fs::read_to_string(&path).unwrap();
    let (Some(begin), Some(end)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!(
            "{} has no generated tables section ({BEGIN:?} … {END:?})",
            path.display()
        );
    };
    let current = &doc[begin + BEGIN.len()..end];
    let want = generated();
    if current == want {
        return;
    }
    if std::env::var_os("FORKEXEC_BLESS_TABLES").is_some() {
        let updated = format!("{}{BEGIN}{want}{}", &doc[..begin], &doc[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    panic!(
        "docs/spec.md's generated tables differ from crates/spec/src/tables.rs; run \
         FORKEXEC_BLESS_TABLES=1 cargo test -p forkexec-spec --test tables\n--- want:\n{want}"
    );
}

/// The markdown carries every row (a table macro that dropped one would show here).
#[test]
fn markdown_lists_every_row() {
    let md = generated();
    for e in record::ALL {
        assert!(md.contains(&format!("| {} | `{}` | `{}` |", e.value, e.name, e.ident)));
    }
    for e in opt::ALL.iter().chain(ns::ALL) {
        assert!(
            md.contains(&format!("| `{:#x}` | `{}` |", e.value, e.name)),
            "{e:?}"
        );
    }
    for k in KindInfo::ALL {
        assert!(
            md.contains(&format!("| {} | `{}` |", k.kind, k.name)),
            "{k:?}"
        );
    }
}

/// The tables hold what the wire format promises: record numbers in ascending order (1-24
/// without a gap; later ones are handed out in ranges, and an unused number is unknown),
/// unique names, bits that are single bits, and every kind's row consistent with itself.
#[test]
fn tables_are_consistent() {
    for (i, e) in record::ALL.iter().enumerate().take(24) {
        assert_eq!(e.value as usize, i + 1, "record numbers run 1..=24");
    }
    for pair in record::ALL.windows(2) {
        assert!(pair[0].value < pair[1].value, "record numbers ascend");
    }
    assert_eq!(record::LAST, record::ALL[record::ALL.len() - 1].value);
    // Kind numbers ascend from 1; a gap is a number another row has reserved (each team
    // member takes numbers from an own range, so parallel work does not collide).
    for (i, k) in KindInfo::ALL.iter().enumerate() {
        let before = if i == 0 { 0 } else { KindInfo::ALL[i - 1].kind };
        assert!(k.kind > before, "kind numbers ascend from 1: {}", k.name);
        assert_eq!(
            k.lower != 0,
            k.name.contains("overlay"),
            "{}: layers",
            k.name
        );
        if k.lower != 0 {
            assert!(
                !k.takes.content && !k.takes.fd,
                "{}: content is its layers",
                k.name
            );
        }
        assert_eq!(mount_kind::name(k.kind), k.name);
        assert_eq!(k.flags & !mount_op::KNOWN, 0, "{}", k.name);
        // A kind that takes a mode has a default, except chmod: its mode is required.
        assert_eq!(
            k.default_mode != 0,
            k.takes.mode && k.kind != mount_kind::CHMOD,
            "{}: default mode",
            k.name
        );
        if k.source == SourceRule::PathOrFd {
            assert!(k.takes.fd, "{}: a path-or-fd source needs the fd", k.name);
        }
    }
    assert_eq!(
        mount_kind::LAST,
        KindInfo::ALL[KindInfo::ALL.len() - 1].kind
    );
    fn names_unique<T>(all: &[tables::Entry<T>]) {
        let mut names: Vec<_> = all.iter().map(|e| e.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len());
    }
    names_unique(record::ALL);
    names_unique(opt::ALL);
    names_unique(ns::ALL);
    names_unique(mount_op::ALL);
    names_unique(mount_kind::ALL);
    for bits in [
        opt::ALL.iter().map(|e| e.value).collect::<Vec<_>>(),
        ns::ALL.iter().map(|e| e.value).collect(),
    ] {
        for v in &bits {
            assert_eq!(v.count_ones(), 1, "{v:#x} is one bit");
        }
    }
    assert_eq!(opt::from_name("writable_root"), Some(opt::WRITABLE_ROOT));
    assert_eq!(opt::name(opt::NO_SETSID), "no_setsid");
    assert_eq!(opt::name(1 << 63), "unknown");
}

/// The JSON keys each mount kind takes besides `type` and `target`, as docs/json.md lists them
/// (the table there, written out here): `takes_key` agrees for every key, and `fd_key` names
/// the fd a kind takes.
#[test]
fn each_mount_kind_takes_the_keys_the_json_docs_list() {
    use forkexec_spec::tables::{KindInfo, MOUNT_OP_KEYS};
    let documented: [(&str, &[&str]); 16] = [
        (
            "bind",
            &["source", "source_fd", "readonly", "dev", "optional"],
        ),
        ("tmpfs", &["size", "mode", "readonly"]),
        ("proc", &["cover"]),
        ("dev", &[]),
        ("mqueue", &[]),
        ("dir", &["mode"]),
        ("symlink", &["source"]),
        ("file", &["mode", "content", "content_fd"]),
        ("remount_ro", &[]),
        ("mask", &["optional"]),
        ("bind_data", &["mode", "content", "content_fd", "readonly"]),
        ("overlay", &["lower", "upper", "work"]),
        ("tmp_overlay", &["lower"]),
        ("ro_overlay", &["lower"]),
        ("chmod", &["mode"]),
        ("no such kind", &[]),
    ];
    assert_eq!(
        KindInfo::ALL.len(),
        documented.len() - 1,
        "a kind the docs do not list"
    );
    for info in KindInfo::ALL {
        let (_, keys) = documented
            .iter()
            .find(|(name, _)| *name == info.name)
            .unwrap_or_else(|| panic!("{} is not in docs/json.md's table", info.name));
        for key in MOUNT_OP_KEYS {
            assert_eq!(
                info.takes_key(key),
                keys.contains(&key),
                "{} {key}",
                info.name
            );
        }
        assert!(
            !info.takes_key("type") && !info.takes_key("sauce"),
            "{}",
            info.name
        );
        let fd_key = if info.name == "bind" {
            "source_fd"
        } else {
            "content_fd"
        };
        assert_eq!(info.fd_key(), fd_key, "{}", info.name);
    }
}
