//! What a corpus reaches, in the decoder's own terms: for every file, the outcome of `decode`
//! (accepted, or the fault and the record type it was found in), counted. A fault that never
//! shows up is a refusal the fuzzer has not reached; grow the seeds (examples/gen_corpus.rs).
//!
//!   cargo run --manifest-path fuzz/Cargo.toml --example corpus_stats -- fuzz/corpus/decode [DIR…]
//!
//! `helper_validate` inputs start with control bytes: pass `--helper` to skip them.

use std::collections::BTreeMap;
use std::fs;

use forkexec_spec::decode::decode;
use forkexec_spec::layout::{record, HEADER_LEN, RECORD_HEADER_LEN};

/// The record type whose header or payload holds byte `at`, walking the framing as the
/// decoder does (`None` in the header or past the records).
fn record_at(buf: &[u8], at: usize) -> Option<u16> {
    let mut r = HEADER_LEN;
    while r + RECORD_HEADER_LEN <= buf.len() {
        let ty = u16::from_le_bytes([buf[r], buf[r + 1]]);
        let len = u32::from_le_bytes(buf[r + 4..r + 8].try_into().unwrap()) as usize;
        let end = (r + RECORD_HEADER_LEN).saturating_add(len);
        if at < end {
            return (at >= r).then_some(ty);
        }
        r = end;
    }
    None
}

fn main() {
    let mut helper = false;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut files = 0;
    for arg in std::env::args().skip(1) {
        if arg == "--helper" {
            helper = true;
            continue;
        }
        for entry in fs::read_dir(&arg).unwrap() {
            let data = fs::read(entry.unwrap().path()).unwrap();
            let buf = if helper {
                let n = data.get(1).map_or(0, |&b| (b as usize).min(32));
                data.get(2 + n..).unwrap_or(&[]).to_vec()
            } else {
                data
            };
            files += 1;
            let key = match decode(&buf) {
                Ok(_) => "accepted".to_string(),
                Err(e) => {
                    let ty = record_at(&buf, e.offset as usize)
                        .map_or("-".to_string(), |t| record::name(t).to_string());
                    format!("{:?} in {ty}", e.fault)
                }
            };
            *counts.entry(key).or_default() += 1;
        }
    }
    println!("{files} inputs");
    for (k, n) in counts {
        println!("{n:7}  {k}");
    }
}
