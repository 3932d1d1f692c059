//! The fork server's request (crates/spec/src/serve.rs; docs/spec.md, "Fork server"): its
//! bytes written out here, the longest one, what `encode` refuses, what `parse` returns.

use forkexec_spec::serve::{encode, parse, Refusal, HEADER_LEN, MAX_FDS, MAX_LEN};

#[test]
fn a_request_byte_for_byte() {
    let mut out = [0xaau8; 20];
    assert_eq!(encode(&[0, 1, 7], &mut out), Some(20));
    assert_eq!(
        out,
        [b'F', b'X', b'R', b'Q', 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0]
    );
    let numbers = parse(&out, 4).unwrap();
    assert_eq!((numbers.len(), numbers.is_empty()), (3, false));
    assert_eq!(numbers.iter().collect::<Vec<_>>(), [0, 1, 7]);
    // Only the run channel: 8 bytes, no number.
    let mut out = [0u8; HEADER_LEN];
    assert_eq!(encode(&[], &mut out), Some(8));
    let numbers = parse(&out, 1).unwrap();
    assert_eq!((numbers.len(), numbers.is_empty()), (0, true));
}

#[test]
fn the_longest_request_is_1016_bytes() {
    // docs/spec.md: at most 253 fds (SCM_MAX_FD), so 252 numbers: 8 + 4 * 252 bytes.
    assert_eq!((MAX_FDS, MAX_LEN), (253, 1016));
    let numbers: Vec<u32> = (0..252).collect();
    let mut out = [0u8; MAX_LEN];
    assert_eq!(encode(&numbers, &mut out), Some(MAX_LEN));
    assert_eq!(parse(&out, MAX_FDS).unwrap().len(), 252);
    // One more number is over the fd limit, whatever room there is.
    let numbers: Vec<u32> = (0..253).collect();
    assert_eq!(encode(&numbers, &mut [0u8; 2 * MAX_LEN]), None);
}

#[test]
fn encode_needs_exactly_the_room_it_writes() {
    assert_eq!(encode(&[5, 6], &mut [0u8; 16]), Some(16));
    assert_eq!(encode(&[5, 6], &mut [0u8; 15]), None);
    assert_eq!(encode(&[], &mut [0u8; 7]), None);
}

#[test]
fn refusals_name_the_errno_and_offset() {
    let bad = |errno, offset| Err(Refusal { errno, offset });
    let mut req = [0u8; 16];
    encode(&[3, 3], &mut req).unwrap();
    assert_eq!(parse(&req, 0), bad(9, 0));
    assert_eq!(parse(&req[..7], 3), bad(22, 0));
    assert_eq!(parse(&req, 2), bad(22, 4));
    // The second 3 is given twice: its offset.
    assert_eq!(parse(&req, 3), bad(22, 12));
    encode(&[1 << 20, 3], &mut req).unwrap();
    assert_eq!(parse(&req, 3), bad(22, 8));
    encode(&[(1 << 20) - 1, 3], &mut req).unwrap();
    assert!(parse(&req, 3).is_ok());
}
