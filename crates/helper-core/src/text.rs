//! Text without an allocator: decimal and octal numbers into fixed buffers, a fixed line,
//! and the content of a `uid_map`/`gid_map` file.

use core::ffi::CStr;

use forkexec_spec::decode::IdMap;
use forkexec_spec::layout::limit;

/// A fixed-size byte line of `N` bytes; bytes past the capacity are dropped.
pub struct Line<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Default for Line<N> {
    fn default() -> Self {
        Line::new()
    }
}

impl<const N: usize> Line<N> {
    /// An empty line.
    pub const fn new() -> Self {
        Line {
            buf: [0; N],
            len: 0,
        }
    }

    /// Appends `bytes` (what does not fit is dropped).
    #[inline(never)]
    pub fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.len < self.buf.len() {
                self.buf[self.len] = b;
                self.len += 1;
            }
        }
    }

    /// Appends `n` in decimal.
    pub fn push_u32(&mut self, n: u32) {
        let mut digits = [0u8; 10];
        self.push(decimal(n, &mut digits));
    }

    /// The bytes so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl<const N: usize> forkexec_spec::render::Out for Line<N> {
    fn put(&mut self, bytes: &[u8]) {
        self.push(bytes);
    }
}

/// `n` in decimal, written into the end of `out`.
pub fn decimal(mut n: u32, out: &mut [u8; 10]) -> &[u8] {
    let mut i = out.len();
    loop {
        i -= 1;
        out[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &out[i..];
        }
    }
}

/// Parses a non-empty decimal number that fits in an i32 fd.
pub fn parse_fd(s: &[u8]) -> Option<i32> {
    if s.is_empty() || s.len() > 7 {
        return None;
    }
    let mut n: i32 = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (c - b'0') as i32;
    }
    Some(n)
}

/// `n` in `radix` (8 or 10) as a NUL-terminated string written into the end of `out`: the
/// values `fsconfig` takes (a tmpfs size in bytes, a mode in octal).
pub fn number_cstr(mut n: u64, radix: u64, out: &mut [u8; 24]) -> &CStr {
    let mut i = out.len() - 1;
    out[i] = 0;
    loop {
        i -= 1;
        out[i] = b'0' + (n % radix) as u8;
        n /= radix;
        if n == 0 {
            break;
        }
    }
    CStr::from_bytes_with_nul(&out[i..]).unwrap_or(c"0")
}

/// The most bytes an id map's text takes: 340 lines of "inside outside size\n" (33 at most).
pub const MAP_TEXT_LEN: usize = limit::ID_MAP_ENTRIES * 33;

/// The content of a `uid_map`/`gid_map` file for `map`, one "inside outside size" line per
/// entry, written into `out`; returns its length. The kernel takes the whole map in one write.
/// `out` holds [`MAP_TEXT_LEN`] bytes for any map, 33 per entry for a given one: the entries
/// beyond what it holds are left out (the decoder never hands out more than 340).
pub fn id_map_text(map: IdMap, out: &mut [u8]) -> usize {
    let mut len = 0;
    for entry in map.iter().take(limit::ID_MAP_ENTRIES.min(out.len() / 33)) {
        for (n, sep) in [
            (entry.container_id, b' '),
            (entry.host_id, b' '),
            (entry.size, b'\n'),
        ] {
            let mut digits = [0u8; 10];
            let d = decimal(n, &mut digits);
            out[len..len + d.len()].copy_from_slice(d);
            out[len + d.len()] = sep;
            len += d.len() + 1;
        }
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;
    use forkexec_spec::layout::ns;
    use std::vec::Vec;

    #[test]
    fn numbers() {
        let mut d = [0u8; 10];
        assert_eq!(decimal(0, &mut d), b"0");
        assert_eq!(decimal(u32::MAX, &mut d), b"4294967295");
        let mut o = [0u8; 24];
        assert_eq!(number_cstr(0o1777, 8, &mut o), c"1777");
        assert_eq!(number_cstr(u64::MAX, 10, &mut o), c"18446744073709551615");
        assert_eq!(parse_fd(b"3"), Some(3));
        assert_eq!(parse_fd(b"1048575"), Some(1_048_575));
        for bad in [&b""[..], b"-1", b"12345678", b"3a"] {
            assert_eq!(parse_fd(bad), None);
        }
        let mut line = Line::<256>::new();
        line.push(b"fd ");
        line.push_u32(42);
        assert_eq!(line.as_bytes(), b"fd 42");
        for _ in 0..100 {
            line.push(b"xxxx");
        }
        assert_eq!(line.as_bytes().len(), 256, "cut at the capacity");
    }

    /// The helper's stderr line is rendered into a `Line` (`render::Out`): what the renderer
    /// puts arrives in order after what was pushed, and is cut at the capacity too.
    #[test]
    fn a_rendered_failure_reads_back_from_a_line() {
        use forkexec_spec::render;
        let record = render::Failure {
            location: forkexec_spec::Location::MountPath as u32,
            errno: 2,
            index: 3,
            detail: 0,
        };
        let mut line = Line::<128>::new();
        line.push(b"forkexec: ");
        render::failure(&mut line, &record, None);
        assert_eq!(
            line.as_bytes(),
            b"forkexec: mount(path)(3): no such file or directory"
        );
        let mut short = Line::<16>::new();
        render::failure(&mut short, &record, None);
        assert_eq!(short.as_bytes(), b"mount(path)(3): ");
    }

    #[test]
    fn id_map_text_is_one_line_per_entry_and_fits_the_largest_map() {
        let entries: Vec<(u32, u32, u32)> = (0..limit::ID_MAP_ENTRIES as u32)
            .map(|i| (u32::MAX - 1 - i, u32::MAX - 1 - i, 1))
            .collect();
        let bytes = crate::testing::spec(b"x", |w| {
            w.clone_flags(ns::NEWUSER);
            w.uid_map(entries.iter().copied());
            w.gid_map([(0, 1000, 1)]);
        });
        let spec = forkexec_spec::decode(&bytes).unwrap();
        let mut out = [0u8; MAP_TEXT_LEN];
        let len = id_map_text(spec.gid_map.unwrap(), &mut out);
        assert_eq!(&out[..len], b"0 1000 1\n");
        let len = id_map_text(spec.uid_map.unwrap(), &mut out);
        let text = core::str::from_utf8(&out[..len]).unwrap();
        assert_eq!(text.lines().count(), limit::ID_MAP_ENTRIES);
        assert_eq!(text.lines().next(), Some("4294967294 4294967294 1"));
        // A buffer of 33 bytes an entry holds the widest lines; a shorter one leaves the
        // entries it cannot hold out instead of failing.
        let mut four = [0u8; 4 * 33];
        let len = id_map_text(spec.uid_map.unwrap(), &mut four);
        assert_eq!(
            core::str::from_utf8(&four[..len]).unwrap().lines().count(),
            4
        );
        assert_eq!(id_map_text(spec.gid_map.unwrap(), &mut [0u8; 32]), 0);
    }
}
