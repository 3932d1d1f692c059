//! Formatting without an allocator: decimal numbers into a fixed line buffer.

/// A fixed-size byte line of `N` bytes; bytes past the capacity are dropped.
pub struct Line<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Line<N> {
    pub const fn new() -> Self {
        Line {
            buf: [0; N],
            len: 0,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.len < self.buf.len() {
                self.buf[self.len] = b;
                self.len += 1;
            }
        }
    }

    pub fn push_u32(&mut self, n: u32) {
        let mut digits = [0u8; 10];
        self.push(decimal(n, &mut digits));
    }

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
pub fn number_cstr(mut n: u64, radix: u64, out: &mut [u8; 24]) -> &core::ffi::CStr {
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
    core::ffi::CStr::from_bytes_with_nul(&out[i..]).unwrap_or(c"0")
}
