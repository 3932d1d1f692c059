//! The fork server's request (`forkexec --serve FD`, docs/spec.md "Fork server").
//!
//! A runtime sends one request per run as one message on the server's `SOCK_SEQPACKET`
//! socket: these bytes, and the run's fds as `SCM_RIGHTS`. The first fd is the **run
//! channel** (a connected socket): the run's child reads the spec from it and every status
//! record of the run goes back on it. Each further fd is placed at the number the request
//! gives for it, as if the runtime had spawned the helper with that fd at that number.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `46 58 52 51` (`"FXRQ"`) |
//! | 4 | u32 | `count`: how many fds follow the run channel |
//! | 8 + 4·i | u32 | the number fd `i + 1` gets in the run (below 2^20, all different) |
//!
//! The message is exactly `8 + 4·count` bytes, and carries exactly `1 + count` fds.

use crate::layout::limit;

/// `"FXRQ"`: the first four bytes of a request.
pub const MAGIC: [u8; 4] = *b"FXRQ";
/// magic (4) + count (u32).
pub const HEADER_LEN: usize = 8;
/// The most fds one request carries, the run channel included (the kernel's `SCM_MAX_FD`).
pub const MAX_FDS: usize = 253;
/// The longest request: the header and a number for every fd but the run channel.
pub const MAX_LEN: usize = HEADER_LEN + 4 * (MAX_FDS - 1);
/// The most runs a server has going at once; a request beyond that is refused (EAGAIN).
pub const MAX_RUNS: usize = 64;

/// A refused request: the errno the error record carries and the byte offset of the fault
/// (its index).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// EINVAL (malformed), EBADF (no run channel), ENOTSOCK (the run channel is not a
    /// socket), EMSGSIZE (truncated: more bytes or fds than a request may have), EAGAIN
    /// (too many runs).
    pub errno: i32,
    /// Byte offset in the request of what was refused.
    pub offset: u32,
}

const EINVAL: i32 = 22;
const EBADF: i32 = 9;

/// The fd numbers of a request, as read from its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Numbers<'a>(&'a [u8]);

impl Numbers<'_> {
    /// How many numbers (fds after the run channel).
    pub fn len(&self) -> usize {
        self.0.len() / 4
    }

    /// Whether the request passes only the run channel.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number for fd `i + 1`.
    pub fn get(&self, i: usize) -> u32 {
        let b = &self.0[4 * i..4 * i + 4];
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    /// The numbers in order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

/// Checks a request's bytes against the number of fds it carried (`fds`, the run channel
/// included), in this order: no fd at all → EBADF @0; fewer than 8 bytes or a wrong magic →
/// EINVAL @0; a count that is not `fds - 1` → EINVAL @4; a length other than `8 + 4·count` →
/// EINVAL @4; a number at or above 2^20 → EINVAL @ its offset; a number given twice → EINVAL
/// @ the second one.
pub fn parse(bytes: &[u8], fds: usize) -> Result<Numbers<'_>, Refusal> {
    let refuse = |errno, offset: usize| {
        Err(Refusal {
            errno,
            offset: offset as u32,
        })
    };
    if fds == 0 {
        return refuse(EBADF, 0);
    }
    if bytes.len() < HEADER_LEN || bytes[..4] != MAGIC {
        return refuse(EINVAL, 0);
    }
    let count = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
    if count != fds - 1 || bytes.len() != HEADER_LEN + 4 * count {
        return refuse(EINVAL, 4);
    }
    let numbers = Numbers(&bytes[HEADER_LEN..]);
    for i in 0..numbers.len() {
        let n = numbers.get(i);
        if n >= limit::FD || (0..i).any(|j| numbers.get(j) == n) {
            return refuse(EINVAL, HEADER_LEN + 4 * i);
        }
    }
    Ok(numbers)
}

/// Writes the request for fds placed at `numbers` (the run channel not counted) into `out`;
/// returns its length, or `None` when `out` is too short or there are more than
/// `MAX_FDS - 1` numbers.
pub fn encode(numbers: &[u32], out: &mut [u8]) -> Option<usize> {
    let len = HEADER_LEN + 4 * numbers.len();
    if numbers.len() >= MAX_FDS || out.len() < len {
        return None;
    }
    out[..4].copy_from_slice(&MAGIC);
    out[4..8].copy_from_slice(&(numbers.len() as u32).to_le_bytes());
    for (i, n) in numbers.iter().enumerate() {
        out[HEADER_LEN + 4 * i..HEADER_LEN + 4 * i + 4].copy_from_slice(&n.to_le_bytes());
    }
    Some(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(numbers: &[u32]) -> ([u8; MAX_LEN], usize) {
        let mut buf = [0u8; MAX_LEN];
        let len = encode(numbers, &mut buf).unwrap();
        (buf, len)
    }

    #[test]
    fn round_trip() {
        let (buf, len) = request(&[0, 1, 2, 7]);
        let numbers = parse(&buf[..len], 5).unwrap();
        assert_eq!(numbers.len(), 4);
        assert_eq!([numbers.get(0), numbers.get(3)], [0, 7]);
    }

    #[test]
    fn refusals_in_order() {
        let bad = |errno, offset| Err(Refusal { errno, offset });
        let (buf, len) = request(&[0, 1, 1]);
        assert_eq!(parse(&buf[..len], 0), bad(EBADF, 0));
        assert_eq!(parse(&buf[..7], 4), bad(EINVAL, 0));
        assert_eq!(parse(b"FXSP\0\0\0\0", 1), bad(EINVAL, 0));
        assert_eq!(parse(&buf[..len], 3), bad(EINVAL, 4));
        assert_eq!(parse(&buf[..len - 4], 4), bad(EINVAL, 4));
        assert_eq!(parse(&buf[..len], 4), bad(EINVAL, 16));
        let (buf, len) = request(&[3, 1 << 20]);
        assert_eq!(parse(&buf[..len], 3), bad(EINVAL, 12));
        let (buf, len) = request(&[]);
        assert!(parse(&buf[..len], 1).unwrap().is_empty());
    }

    #[test]
    fn encode_refuses_too_many() {
        let numbers = [0u32; MAX_FDS];
        assert_eq!(encode(&numbers, &mut [0u8; 2 * MAX_LEN]), None);
        assert_eq!(encode(&[1, 2], &mut [0u8; 15]), None);
    }
}
