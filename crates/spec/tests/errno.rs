//! The helper's errno texts are the C library's: every number from -5 to 200 is worded as
//! glibc's `strerror` words it (first letter lowercased), so the helper's stderr line and a
//! client's error read the same.

use forkexec_spec::render::{self, Out};

struct Text(String);

impl Out for Text {
    fn put(&mut self, bytes: &[u8]) {
        self.0.push_str(std::str::from_utf8(bytes).unwrap());
    }
}

fn libc_text(n: i32) -> String {
    let text = std::io::Error::from_raw_os_error(n).to_string();
    let text = text
        .strip_suffix(&format!(" (os error {n})"))
        .unwrap_or(&text)
        .to_string();
    let mut chars = text.chars();
    let first = chars.next().unwrap();
    first.to_lowercase().chain(chars).collect()
}

#[test]
fn every_errno_reads_as_strerror() {
    for n in -5..=200 {
        let mut ours = Text(String::new());
        render::errno_text(&mut ours, n);
        assert_eq!(ours.0, libc_text(n), "errno {n}");
    }
}

#[test]
fn named_numbers_stop_at_max() {
    assert!(forkexec_spec::errno::text(forkexec_spec::errno::MAX).is_some());
    assert_eq!(
        forkexec_spec::errno::text(forkexec_spec::errno::MAX + 1),
        None
    );
    assert_eq!(forkexec_spec::errno::text(41), None);
    assert_eq!(
        forkexec_spec::errno::text(2),
        Some("no such file or directory")
    );
}
