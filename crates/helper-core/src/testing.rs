//! Unit-test helpers: specs built with the spec crate's `Writer`.

use forkexec_spec::encode::{Sink, Writer};
use std::vec::Vec;

/// A growable sink.
pub struct V(pub Vec<u8>);

impl Sink for V {
    fn put(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b)
    }
    fn written(&self) -> usize {
        self.0.len()
    }
    fn patch(&mut self, at: usize, b: [u8; 4]) {
        self.0[at..at + 4].copy_from_slice(&b)
    }
}

/// A spec with argv `[arg0]` and whatever `f` writes.
pub fn spec(arg0: &[u8], f: impl FnOnce(&mut Writer<V>)) -> Vec<u8> {
    let mut w = Writer::new(V(Vec::new()));
    w.args([arg0]);
    f(&mut w);
    w.finish().0
}
