//! Reading the spec: exactly the header's total length from the spec fd (never past it: on a
//! socket the sync answer comes later), then the decoder validates all of it and the process
//! shape is decided, before any syscall with an effect.

use forkexec_spec::decode::{self, Shape, Spec};
use forkexec_spec::layout::HEADER_LEN;
use forkexec_spec::Location;

use crate::failure::{Errno, Failure, EINTR};

/// Reads one spec with `read` (the spec fd's `read(2)`) into `buf`, validates it into `spec`
/// (in place: [`decode::decode_into`]), and decides the shape for a process with these
/// effective ids. A read error is `spec_read` with the number of bytes read so far as its
/// index; EOF early leaves a short spec the decoder refuses (Truncated).
pub fn read_and_validate<'b>(
    mut read: impl FnMut(&mut [u8]) -> Result<usize, Errno>,
    buf: &'b mut [u8],
    spec: &'b mut Spec<'b>,
    euid: u32,
    egid: u32,
) -> Result<(&'b mut Spec<'b>, Shape), Failure> {
    let mut got = read_full(&mut read, &mut buf[..HEADER_LEN], 0)?;
    if got == HEADER_LEN {
        let mut header = [0u8; HEADER_LEN];
        header.copy_from_slice(&buf[..HEADER_LEN]);
        let total = decode::total_len(&header)?;
        // `total` is at most the limit, the size of the helper's buffer.
        got += read_full(&mut read, &mut buf[HEADER_LEN..total], HEADER_LEN)?;
    }
    decode::decode_into(&buf[..got], spec)?;
    let shape = spec.shape(euid, egid)?;
    Ok((spec, shape))
}

/// Fills `buf` unless EOF comes first; returns how much was read. `base` is the offset of
/// `buf` in the spec, for the error index.
fn read_full(
    read: &mut impl FnMut(&mut [u8]) -> Result<usize, Errno>,
    buf: &mut [u8],
    base: usize,
) -> Result<usize, Failure> {
    let mut got = 0;
    while got < buf.len() {
        match read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(EINTR) => continue,
            Err(e) => return Err(Failure::new(Location::SpecRead, e, base + got)),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;
    use forkexec_spec::layout::{limit, ns};
    use forkexec_spec::Fault;
    use std::vec;
    use std::vec::Vec;

    fn spec(f: impl FnOnce(&mut forkexec_spec::encode::Writer<crate::testing::V>)) -> Vec<u8> {
        crate::testing::spec(b"/bin/true", f)
    }

    /// A reader over `bytes` that hands out at most `chunk` bytes per call, with an EINTR
    /// before every second call; it records how much was taken.
    fn reader<'a>(
        bytes: &'a [u8],
        chunk: usize,
        taken: &'a mut usize,
    ) -> impl FnMut(&mut [u8]) -> Result<usize, Errno> + 'a {
        let mut calls = 0;
        move |buf: &mut [u8]| {
            assert!(!buf.is_empty(), "a read of 0 bytes looks like EOF");
            calls += 1;
            if calls % 2 == 0 {
                return Err(EINTR);
            }
            let n = buf.len().min(chunk).min(bytes.len() - *taken);
            buf[..n].copy_from_slice(&bytes[*taken..*taken + n]);
            *taken += n;
            Ok(n)
        }
    }

    #[test]
    fn reads_exactly_the_spec_in_any_chunks() {
        let mut bytes = spec(|w| w.env([&b"A=1"[..]]));
        let len = bytes.len();
        bytes.extend_from_slice(b"\x00sync answer");
        for chunk in [1, 3, 12, 4096] {
            let mut taken = 0;
            let mut buf = vec![0u8; limit::SPEC_LEN];
            let mut slot = Spec::default();
            let (s, shape) =
                read_and_validate(reader(&bytes, chunk, &mut taken), &mut buf, &mut slot, 0, 0)
                    .unwrap();
            assert_eq!((s.args.len(), s.env.len(), shape), (1, 1, Shape::InPlace));
            assert_eq!(taken, len, "chunk {chunk}: read past the spec");
        }
    }

    #[test]
    fn read_errors_name_the_bytes_read_so_far() {
        let bytes = spec(|_| {});
        let mut calls = 0;
        let failing = |buf: &mut [u8]| {
            calls += 1;
            if calls == 1 {
                buf[..5].copy_from_slice(&bytes[..5]);
                Ok(5)
            } else {
                Err(Errno(5))
            }
        };
        let mut buf = vec![0u8; 64];
        let mut slot = Spec::default();
        let f = read_and_validate(failing, &mut buf, &mut slot, 0, 0).unwrap_err();
        assert_eq!(f, Failure::new(Location::SpecRead, Errno(5), 5));
    }

    #[test]
    fn early_eof_is_a_truncated_spec() {
        let bytes = spec(|_| {});
        let short = &bytes[..bytes.len() - 2];
        let mut taken = 0;
        let mut buf = vec![0u8; limit::SPEC_LEN];
        let mut slot = Spec::default();
        let f =
            read_and_validate(reader(short, 7, &mut taken), &mut buf, &mut slot, 0, 0).unwrap_err();
        assert_eq!((f.loc, f.detail), (Location::Spec, Fault::Truncated as u32));
        assert_eq!(f.index as usize, short.len());
    }

    /// The shape check runs on what was read: ptrace with a new pid namespace is refused.
    #[test]
    fn shape_refusals_come_back_as_spec_failures() {
        let bytes = spec(|w| {
            w.clone_flags(ns::NEWPID);
            w.options(forkexec_spec::layout::opt::PTRACE);
        });
        let mut taken = 0;
        let mut buf = vec![0u8; limit::SPEC_LEN];
        let mut slot = Spec::default();
        let f = read_and_validate(reader(&bytes, 4096, &mut taken), &mut buf, &mut slot, 0, 0)
            .unwrap_err();
        assert_eq!((f.loc, f.detail), (Location::Spec, Fault::Conflict as u32));
    }

    /// Parse once, fail closed: a spec whose second mount entry is corrupt is refused at that
    /// entry, whatever the first one was; the helper never gets a list with it left out.
    #[test]
    fn a_corrupt_second_mount_entry_is_refused_not_skipped() {
        use forkexec_spec::decode::{MountEntry, MountOp};
        use forkexec_spec::layout::mount_kind as k;
        let op = |kind, mode, target| MountOp {
            kind,
            mode,
            target,
            ..MountOp::default()
        };
        let good = spec(|w| {
            w.clone_flags(ns::NEWNS);
            w.mount_op(&op(k::TMPFS, 0o755, c"/tmp"));
            w.mount_op(&op(k::DIR, 0o700, c"/d"));
        });
        let mut buf = vec![0u8; limit::SPEC_LEN];
        let mut slot = Spec::default();
        let mut taken = 0;
        let (s, _) =
            read_and_validate(reader(&good, 4096, &mut taken), &mut buf, &mut slot, 0, 0).unwrap();
        assert_eq!(s.mounts.len(), 2);
        assert!(matches!(
            s.mounts.as_slice()[1],
            MountEntry::Op(MountOp { kind: k::DIR, .. })
        ));
        // The same bytes, the second entry's mode field changed in memory to a mode above
        // 0o7777 (a value its decode-time check refuses).
        let mut bad = good.clone();
        let second = bad.len() - (8 + 20 + 1 + 3); // record header, fixed part, "", "/d"
        let mode_at = second + 8 + 4;
        assert_eq!(&bad[mode_at..mode_at + 4], &0o700u32.to_le_bytes());
        bad[mode_at + 2] = 1;
        let (mut buf, mut slot) = (vec![0u8; limit::SPEC_LEN], Spec::default());
        let mut taken = 0;
        let f = read_and_validate(reader(&bad, 4096, &mut taken), &mut buf, &mut slot, 0, 0)
            .unwrap_err();
        assert_eq!((f.loc, f.detail), (Location::Spec, Fault::BadValue as u32));
        assert_eq!(
            f.index as usize, mode_at,
            "refused at the second entry's mode"
        );
    }
}
