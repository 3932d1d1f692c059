//! The committed byte-exact vectors (`crates/spec/vectors/*.hex`, format in their README):
//! the JSON of every canonical vector, read with `Spec::from_json` and encoded with
//! `Spec::encode`, gives exactly the vector's bytes, or the vector's refusal.

use std::collections::HashMap;
use std::path::Path;

use forkexec_client::{EncodeError, Spec};

struct Vector {
    name: String,
    meta: HashMap<String, String>,
    bytes: Vec<u8>,
}

fn parse(name: String, text: &str) -> Vector {
    let mut meta = HashMap::new();
    let mut hex = String::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix('#') {
            if let Some((key, value)) = comment.trim_start().split_once(": ") {
                meta.insert(key.to_owned(), value.to_owned());
            }
        } else {
            hex.extend(line.chars().filter(|c| !c.is_whitespace()));
        }
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    Vector { name, meta, bytes }
}

fn vectors() -> Vec<Vector> {
    // FORKEXEC_VECTORS_DIR: the unprivileged test run copies the vectors where it can read them.
    let dir = match std::env::var_os("FORKEXEC_VECTORS_DIR") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/vectors"),
    };
    let mut vectors: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "hex"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            parse(name, &std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    vectors.sort_by(|a, b| a.name.cmp(&b.name));
    vectors
}

#[test]
fn canonical_vectors_match_the_encoder() {
    let vectors = vectors();
    let mut checked = 0;
    for v in &vectors {
        let (Some(json), Some("yes")) = (v.meta.get("json"), v.meta.get("canonical").map(|s| &**s))
        else {
            continue;
        };
        let spec = Spec::from_json(json).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        match v.meta["expect"].as_str() {
            "ok" => {
                let bytes = spec.encode().unwrap_or_else(|e| panic!("{}: {e}", v.name));
                assert_eq!(bytes, v.bytes, "{}", v.name);
            }
            "error" => match spec.encode() {
                Err(EncodeError::Refused { error, .. }) => {
                    let fault: u32 = v.meta["fault"].split(' ').next().unwrap().parse().unwrap();
                    let offset: u32 = v.meta["offset"].parse().unwrap();
                    assert_eq!(
                        (error.fault as u32, error.offset),
                        (fault, offset),
                        "{}",
                        v.name
                    );
                }
                other => panic!("{}: expected a refusal, got {other:?}", v.name),
            },
            other => panic!("{}: unknown expect {other}", v.name),
        }
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} canonical vectors found");
}
