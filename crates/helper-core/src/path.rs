//! Mount targets as paths relative to the new root: the helper resolves them with
//! `openat2(RESOLVE_IN_ROOT)` from an fd on the root, and creates missing parents one
//! component at a time below an fd resolved the same way, never through a path string.

use core::ffi::CStr;

/// A path relative to the root, NUL-terminated, with its leading slashes dropped: a view of
/// the target's own bytes (no copy, so no page of stack for it).
pub struct RelPath<'a> {
    path: &'a CStr,
}

impl<'a> RelPath<'a> {
    /// `target` without its leading `/`s; `.` for the root itself.
    pub fn new(target: &'a CStr) -> Self {
        let bytes = target.to_bytes_with_nul();
        // The NUL is not a '/': there is always a first byte that is not.
        let start = bytes.iter().position(|&b| b != b'/').unwrap_or(0);
        let path = match &bytes[start..] {
            [0] => c".",
            rest => cstr(rest),
        };
        RelPath { path }
    }

    /// The path's bytes, without the NUL.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.path.to_bytes()
    }

    /// The path as a C string.
    pub fn as_cstr(&self) -> &'a CStr {
        self.path
    }

    /// Whether this names the root itself (only `/` and `.` components).
    pub fn is_root(&self) -> bool {
        self.as_bytes()
            .split(|&b| b == b'/')
            .all(|part| part.is_empty() || part == b".")
    }

    /// The last component's start: the parent is everything before it.
    pub fn last_start(&self) -> usize {
        let mut path = self.as_bytes();
        while let [rest @ .., b'/'] = path {
            path = rest;
        }
        path.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1)
    }

    /// The last component (what `mkdirat`/`symlinkat`/`openat` create in the parent) and the
    /// parent as a [`Prefix`] copied into `buf` (empty for a target directly below the root).
    /// A parent longer than `buf` leaves room for (the decoder never hands one out: `buf`
    /// holds `limit::PATH` bytes and a NUL) is cut there.
    pub fn split<'b>(&self, buf: &'b mut [u8]) -> (Prefix<'b>, &'a CStr) {
        let bytes = self.path.to_bytes_with_nul();
        let last = self.last_start();
        let kept = last.min(buf.len().saturating_sub(1));
        buf[..kept].copy_from_slice(&bytes[..kept]);
        if let Some(nul) = buf.get_mut(kept) {
            *nul = 0;
        }
        let prefix = Prefix { buf, len: kept };
        (prefix, cstr(&bytes[last..]))
    }
}

/// A target's parent directories, walked one component at a time: [`Prefix::next`] yields
/// each component's name and the path up to it (both NUL-terminated).
pub struct Prefix<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl Prefix<'_> {
    /// The component starting at `start` (skipping empty ones): `(path up to it, its name,
    /// where the next one starts)`, or `None` after the last.
    pub fn next(&mut self, mut start: usize) -> Option<(&CStr, &CStr, usize)> {
        let len = self.len;
        while start < len {
            let end = self.buf[start..len]
                .iter()
                .position(|&b| b == b'/')
                .map_or(len, |i| start + i);
            if end > start {
                // Cut the path at the component's end (the byte there is a '/' or the NUL
                // already), then give out both views of it.
                self.buf[end] = 0;
                let (path, name) = (&self.buf[..=end], &self.buf[start..=end]);
                return Some((cstr(path), cstr(name), end + 1));
            }
            start = end + 1;
        }
        None
    }

    /// The whole prefix, NUL-terminated (`.` when empty: the target is right below the root).
    /// Only between walks: [`Prefix::next`] cuts it until [`Prefix::rejoin`].
    pub fn whole(&self) -> &CStr {
        if self.len == 0 {
            c"."
        } else {
            cstr(&self.buf[..=self.len])
        }
    }

    /// Restores the `/` that [`Prefix::next`] cut at `end - 1` (its third value), so the next
    /// component's path includes this one.
    pub fn rejoin(&mut self, next_start: usize) {
        if next_start > 0 && next_start - 1 < self.len {
            self.buf[next_start - 1] = b'/';
        }
    }
}

/// The C string at the start of `bytes_with_nul` (empty when there is no NUL).
pub fn cstr(bytes_with_nul: &[u8]) -> &CStr {
    CStr::from_bytes_until_nul(bytes_with_nul).unwrap_or(c"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use forkexec_spec::layout::limit;
    use std::borrow::ToOwned;
    use std::vec::Vec;

    fn rel(s: &CStr) -> RelPath<'_> {
        RelPath::new(s)
    }

    #[test]
    fn leading_slashes_go_and_the_root_is_dot() {
        assert_eq!(rel(c"/usr/lib").as_cstr(), c"usr/lib");
        assert_eq!(rel(c"///a").as_cstr(), c"a");
        assert_eq!(rel(c"/").as_cstr(), c".");
        assert_eq!(rel(c"").as_cstr(), c".");
        assert!(rel(c"/").is_root());
        assert!(rel(c"/././/").is_root());
        assert!(!rel(c"/a/..").is_root(), "`..` is not the root lexically");
        assert!(!rel(c"/tmp").is_root());
    }

    #[test]
    fn split_gives_parent_and_name() {
        let p = rel(c"/etc/ssl/cert.pem");
        let mut buf = [0u8; limit::PATH + 1];
        let (mut prefix, name) = p.split(&mut buf);
        assert_eq!(name, c"cert.pem");
        let mut parts = Vec::new();
        let mut at = 0;
        while let Some((path, comp, next)) = prefix.next(at) {
            parts.push((path.to_owned(), comp.to_owned()));
            prefix.rejoin(next);
            at = next;
        }
        assert_eq!(
            parts,
            [
                (c"etc".to_owned(), c"etc".to_owned()),
                (c"etc/ssl".to_owned(), c"ssl".to_owned())
            ]
        );
    }

    #[test]
    fn whole_is_the_parent_or_dot() {
        let mut buf = [0u8; limit::PATH + 1];
        assert_eq!(rel(c"/dev/null").split(&mut buf).0.whole(), c"dev/");
        assert_eq!(
            rel(c"/etc/ssl/cert.pem").split(&mut buf).0.whole(),
            c"etc/ssl/"
        );
        assert_eq!(rel(c"/usr").split(&mut buf).0.whole(), c".");
        // Whole again after a walk.
        let p = rel(c"/a/b/c");
        let (mut prefix, _) = p.split(&mut buf);
        let (_, _, next) = prefix.next(0).unwrap();
        prefix.rejoin(next);
        assert_eq!(prefix.whole(), c"a/b/");
    }

    #[test]
    fn trailing_and_doubled_slashes() {
        let p = rel(c"/a//b/c/");
        assert_eq!(p.last_start(), 5);
        let mut buf = [0u8; limit::PATH + 1];
        let (mut prefix, name) = p.split(&mut buf);
        assert_eq!(name, c"c/");
        let mut names = Vec::new();
        let mut at = 0;
        while let Some((_, comp, next)) = prefix.next(at) {
            names.push(comp.to_owned());
            prefix.rejoin(next);
            at = next;
        }
        assert_eq!(names, [c"a".to_owned(), c"b".to_owned()]);
        let x = rel(c"/x");
        let (mut top, name) = x.split(&mut buf);
        assert_eq!(name, c"x");
        assert!(
            top.next(0).is_none(),
            "a target below the root has no parents to make"
        );
    }

    /// Each parent's path and name, walked as the helper walks them (rejoining each one).
    fn walk(prefix: &mut Prefix) -> Vec<(std::ffi::CString, std::ffi::CString)> {
        let mut parts = Vec::new();
        let mut at = 0;
        while let Some((path, name, next)) = prefix.next(at) {
            parts.push((path.to_owned(), name.to_owned()));
            prefix.rejoin(next);
            at = next;
        }
        parts
    }

    /// After a walk the prefix is byte for byte what `split` made (every cut restored, the
    /// NUL after the last parent kept), so a second walk gives the same parents; a rejoin at
    /// an offset `next` never returns (0, or past the end) changes nothing and does not panic.
    #[test]
    fn a_walk_leaves_the_prefix_whole() {
        let p = rel(c"/a/bc/d/name");
        let mut buf = [0u8; limit::PATH + 1];
        let (mut prefix, _) = p.split(&mut buf);
        let whole = prefix.buf.to_vec();
        let parents = walk(&mut prefix);
        assert_eq!(parents.len(), 3);
        assert_eq!(parents[2].0.as_c_str(), c"a/bc/d");
        assert_eq!(&prefix.buf[..], &whole[..], "a cut left in the prefix");
        assert_eq!(walk(&mut prefix), parents);
        for off in [0, prefix.len + 1, prefix.len + 2, usize::MAX] {
            prefix.rejoin(off);
            assert_eq!(&prefix.buf[..], &whole[..], "rejoin({off}) wrote a byte");
        }
    }

    /// The last component's start with one-byte names, trailing slashes and no parent.
    #[test]
    fn last_start_at_the_edges() {
        for (path, start) in [
            (c"/a/b", 2),
            (c"/a/b//", 2),
            (c"/ab", 0),
            (c"/a///", 0),
            (c"/x/yz/", 2),
            (c"/x/yz/w", 5),
            (c"/", 0),
        ] {
            assert_eq!(rel(path).last_start(), start, "{path:?}");
        }
    }

    /// A buffer too small for the parent cuts it (with its NUL) instead of failing.
    #[test]
    fn a_short_buffer_cuts_the_parent() {
        let mut buf = [0xffu8; 4];
        let (prefix, name) = rel(c"/abcdef/x").split(&mut buf);
        assert_eq!(name, c"x");
        assert_eq!(prefix.whole(), c"abc");
        let (prefix, _) = rel(c"/ab/x").split(&mut []);
        assert_eq!(prefix.whole(), c".");
    }

    #[test]
    fn longest_target_fits() {
        let mut long = std::vec![b'a'; limit::PATH - 1];
        long.insert(0, b'/');
        long.push(0);
        let p = rel(CStr::from_bytes_with_nul(&long).unwrap());
        assert_eq!(p.as_bytes().len(), limit::PATH - 1);
    }
}
