//! The shipped policies have one source, `policies/NAME.json`:
//!
//! - [`forkexec_policy::NAMED`] lists exactly the files in `policies/`;
//! - the Python package's copies, `clients/python/forkexec/policies/NAME.json`, are what this
//!   crate compiles from them (the Python client has no compiler; it ships the programs). When a
//!   policy changes, regenerate them with
//!   `FORKEXEC_BLESS=1 cargo test -p forkexec-policy --test shipped`.
//!
//! Both checks need the repository around the crate (they are skipped, saying so, in a
//! packaged copy of the crate, which has neither `policies/` as a directory of its own nor the
//! Python client).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use forkexec_policy::{Policy, NAMED};

fn repo() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if root.join("clients/python/forkexec").is_dir() && root.join("policies").is_dir() {
        Some(root)
    } else {
        forkexec_testkit::skip::record(
            forkexec_testkit::skip::Kind::Env,
            "not in the forkexec repository (or it is not readable here)",
        );
        None
    }
}

fn json_files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter_map(|n| n.strip_suffix(".json").map(str::to_string))
        .collect()
}

/// The Python package's file for a policy: its name, source, comment and compiled program
/// (the spec's JSON form of `seccomp`, one instruction a line).
fn python_file(name: &str, policy: &Policy) -> String {
    let program = policy.compile_x86_64().expect("a shipped policy compiles");
    let instructions: Vec<String> = program
        .iter()
        .map(|i| serde_json::to_string(i).unwrap())
        .collect();
    let s = |v: &str| serde_json::to_string(v).unwrap();
    format!(
        "{{\n  \"name\": {},\n  \"source\": {},\n  \"generated_by\": {},\n  \"comment\": {},\n  \
         \"arch\": \"x86_64\",\n  \"seccomp\": [\n    {}\n  ]\n}}\n",
        s(name),
        s(&format!("policies/{name}.json")),
        s("FORKEXEC_BLESS=1 cargo test -p forkexec-policy --test shipped (do not edit)"),
        s(policy.comment.as_deref().unwrap_or("")),
        instructions.join(",\n    ")
    )
}

#[test]
fn the_named_table_lists_the_policies_directory() {
    let Some(root) = repo() else { return };
    let files = json_files(&root.join("policies"));
    let named: BTreeSet<String> = NAMED.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        files, named,
        "policies/*.json and forkexec_policy::NAMED must list the same policies"
    );
    for (name, json) in NAMED {
        let on_disk = std::fs::read_to_string(root.join(format!("policies/{name}.json"))).unwrap();
        assert_eq!(&on_disk, json, "NAMED[{name}] is not policies/{name}.json");
        assert!(Policy::named(name).is_some());
    }
    assert!(Policy::named("no-such-policy").is_none());
    assert_eq!(Policy::named("judge"), Some(Policy::default_judge()));
}

#[test]
fn the_python_package_ships_the_compiled_policies() {
    let Some(root) = repo() else { return };
    let dir = root.join("clients/python/forkexec/policies");
    let bless = std::env::var_os("FORKEXEC_BLESS").is_some_and(|v| v == "1");
    if bless {
        std::fs::create_dir_all(&dir).unwrap();
        for name in json_files(&dir) {
            if !NAMED.iter().any(|(n, _)| *n == name) {
                std::fs::remove_file(dir.join(format!("{name}.json"))).unwrap();
            }
        }
    }
    let mut stale = Vec::new();
    for (name, _) in NAMED {
        let want = python_file(name, &Policy::named(name).unwrap());
        let path = dir.join(format!("{name}.json"));
        if bless {
            std::fs::write(&path, &want).unwrap();
        }
        match std::fs::read_to_string(&path) {
            Ok(have) if have == want => {}
            _ => stale.push(path.display().to_string()),
        }
    }
    let shipped = json_files(&dir);
    let named: BTreeSet<String> = NAMED.iter().map(|(n, _)| n.to_string()).collect();
    assert!(
        stale.is_empty() && shipped == named,
        "the Python package's policies are not this crate's compiled policies/*.json \
         (stale or missing: {stale:?}; shipped: {shipped:?}, named: {named:?}); regenerate with \
         FORKEXEC_BLESS=1 cargo test -p forkexec-policy --test shipped"
    );
}
