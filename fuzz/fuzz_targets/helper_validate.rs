//! `helper_validate`: the helper's whole parse-and-validate path, as `src/spec_in.rs` runs it,
//! against a spec fd whose reads are driven by the input (short reads, EINTR, a read error or
//! EOF at any point), then what the helper does with the result before any syscall: the error
//! record it would write, or the walks over the decoded spec into its fixed-size static
//! tables (argv/envp pointer arrays, the fd table, mount target paths and their parents, id
//! map text).
//!
//! The helper's pure logic is the `forkexec-helper-core` library, which the helper binary links:
//! this target calls the same code (`read::read_and_validate` over a fake fd instead of
//! `sys::read`, ids from the input instead of `geteuid`/`getegid`; `RelPath`, `id_map_text`,
//! `pointers`, the fd plan), nothing copied.
//!
//! Input layout (docs/fuzzing.md):
//!
//! | byte | meaning |
//! |---|---|
//! | 0 | effective ids: `IDS[b & 7]`; 6 and 7 take the spec's own map host ids |
//! | 1 | `n`: number of read-schedule bytes (at most 32) |
//! | 2 .. 2+n | the read schedule, one byte per `read` call: 0 = EINTR, 0xff = EIO, 0xfe = EOF from then on, k = at most k bytes; after the schedule every read gets all it asks for |
//! | rest | the bytes on the spec fd |
//!
//! Checked:
//! - no panic in the helper's path (slicing the static buffer by the header's total length);
//! - the helper reads exactly the spec: at most the header, then at most `total` bytes, never
//!   asks `read` for 0 bytes, and leaves what follows the spec on the fd (on a socket, the sync
//!   answer comes later);
//! - the outcome equals `decode` + `shape` on the bytes read (and, when the schedule has no
//!   EOF or error, equals the outcome of reading everything at once: chunking never matters);
//! - a failure's index is within the bytes read; a trailing byte is never "bad total length";
//! - the error record the helper would write decodes back (status `Record::decode`);
//! - an accepted spec satisfies every invariant (`Owned::assert_valid`), fits the helper's
//!   static tables, and its shape follows the documented rules;
//! - `Record::decode` on every 32-byte chunk of the input.
#![no_main]

use std::cell::RefCell;

use forkexec_fuzz::{check_shape, check_status_record, decode_checked, Owned};

use forkexec_helper_core::fdplan::{self, Own, Place};
use forkexec_helper_core::{pointers, read, text, Errno, Failure, RelPath};
use forkexec_spec::decode::{self, MountEntry, Shape, Spec, SpecError};
use forkexec_spec::layout::{limit, mount_kind, HEADER_LEN};
use forkexec_spec::status::{Record, RECORD_LEN};
use forkexec_spec::Location;
use libfuzzer_sys::{fuzz_mutator, fuzz_target, fuzzer_mutate};

const EINTR: Errno = Errno(4);
const EIO: Errno = Errno(5);

// ---------------------------------------------------------------------------------------------
// The spec fd.

struct FakeFd<'a> {
    stream: &'a [u8],
    pos: usize,
    schedule: &'a [u8],
    next: usize,
    eof: bool,
}

impl FakeFd<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Errno> {
        assert!(
            !buf.is_empty(),
            "read of 0 bytes (its 0 would look like EOF)"
        );
        if self.eof {
            return Ok(0);
        }
        let mut want = buf.len();
        if let Some(&step) = self.schedule.get(self.next) {
            self.next += 1;
            match step {
                0 => return Err(EINTR),
                0xff => return Err(EIO),
                0xfe => {
                    self.eof = true;
                    return Ok(0);
                }
                k => want = want.min(k as usize),
            }
        }
        let n = want.min(self.stream.len() - self.pos);
        buf[..n].copy_from_slice(&self.stream[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The helper's read path (src/spec_in.rs calls the same function with `sys::read`).
fn read_and_validate<'b>(
    fd: &mut FakeFd,
    buf: &'b mut [u8],
    spec: &'b mut Spec<'b>,
    (euid, egid): (u32, u32),
) -> Result<(&'b mut Spec<'b>, Shape), Failure> {
    read::read_and_validate(|b: &mut [u8]| fd.read(b), buf, spec, euid, egid)
}

// ---------------------------------------------------------------------------------------------
// What the helper does next with a decoded spec, into tables of the same fixed sizes.

/// The static storage of the helper, allocated once (the helper's is in .bss).
struct Tables {
    spec_buf: Vec<u8>,
    argv: Vec<*const u8>,
    envp: Vec<*const u8>,
    fd_table: Vec<i32>,
    map_text: Box<[u8; text::MAP_TEXT_LEN]>,
}

thread_local! {
    static TABLES: RefCell<Tables> = RefCell::new(Tables {
        spec_buf: vec![0; limit::SPEC_LEN],
        argv: vec![std::ptr::null(); limit::ARGS + 1],
        envp: vec![std::ptr::null(); limit::ENV + 1],
        fd_table: vec![0; limit::FILES],
        map_text: Box::new([0; text::MAP_TEXT_LEN]),
    });
}

/// src/mounts/path.rs `open_parent`, its buffers only: the last component's name and the
/// parent's components as `make_dirs` walks them (the core's `Prefix`).
fn parent_and_name(path: &RelPath) -> (usize, usize) {
    let mut buf = [0u8; limit::PATH + 1];
    let (mut prefix, name) = path.split(&mut buf);
    let mut components = 0;
    let mut start = 0;
    while let Some((upto, comp, next)) = prefix.next(start) {
        assert!(!upto.is_empty() && !comp.is_empty());
        components += 1;
        prefix.rejoin(next);
        start = next;
    }
    (name.to_bytes().len(), components)
}

fn use_spec(spec: &Spec, t: &mut Tables) {
    assert_eq!(pointers(&spec.args, &mut t.argv), spec.args.len());
    assert_eq!(pointers(&spec.env, &mut t.envp), spec.env.len());
    assert!(t.argv[spec.args.len()].is_null() && t.envp[spec.env.len()].is_null());
    // src/fds.rs: the table, then the used part of it.
    let n = if spec.files.is_empty() {
        3
    } else {
        spec.files.len()
    };
    if spec.files.is_empty() {
        t.fd_table[..3].copy_from_slice(&[0, 1, 2]);
    }
    for (slot, fd) in t.fd_table.iter_mut().zip(spec.files.iter()) {
        *slot = fd;
    }
    // The core's plan, with a spec fd 3 and an exec fd when the spec has one: no move lands
    // on an fd still needed, and every slot ends up with the fd its entry named.
    let table = &mut t.fd_table[..n];
    let wanted: Vec<i32> = table.to_vec();
    let mut own = Own {
        status: spec.status_fd.map_or(3, |fd| fd as i32),
        sync_in: 3,
        exec_fd: spec.exec_fd.map(|fd| fd as i32),
        handshake: None,
        lock: None,
    };
    let op_fds: Vec<i32> = spec
        .mounts
        .iter()
        .filter_map(|e| e.op_fd())
        .map(|fd| fd as i32)
        .collect();
    let mut needed: Vec<i32> = wanted
        .iter()
        .copied()
        .chain(op_fds.iter().copied())
        .collect();
    needed.extend([own.status, own.sync_in]);
    needed.extend(own.exec_fd);
    let mut moved = std::collections::HashMap::new();
    fdplan::move_out_of_the_way(table, &mut own, op_fds.iter().copied(), |from, to, _| {
        assert!(
            !needed.contains(&to),
            "a move lands on fd {to}, still needed"
        );
        moved.insert(to, *moved.get(&from).unwrap_or(&from));
        Ok::<(), ()>(())
    })
    .unwrap();
    for (place, &want) in fdplan::placements(table).zip(&wanted) {
        match place {
            Place::Close { .. } => assert_eq!(want, -1),
            Place::Keep { slot } => assert_eq!(want, slot),
            Place::Dup { from, slot } => {
                assert!(
                    !op_fds.contains(&slot),
                    "a mount operation's fd {slot} replaced"
                );
                assert_eq!(*moved.get(&from).unwrap_or(&from), want);
            }
        }
    }
    // src/mounts/mod.rs: `check_targets` (`..` above the root, refused before any mount),
    // then every entry's target inside the new root (or `/`), or a raw one as a host path.
    let inside_root = spec.pivot_root.is_some();
    let mut index = 0;
    for &entry in spec.mounts.iter() {
        let (target, in_root) = match entry {
            MountEntry::Op(op) => (op.target, true),
            MountEntry::Raw(m) => (m.target, inside_root),
        };
        let _ = in_root && decode::escapes_root(target.to_bytes());
        if in_root {
            let path = RelPath::new(target);
            assert_eq!(path.as_cstr().to_bytes(), path.as_bytes());
            let _ = path.is_root();
            if let MountEntry::Op(op) = entry {
                if matches!(
                    op.kind,
                    mount_kind::DIR | mount_kind::SYMLINK | mount_kind::FILE
                ) {
                    let (name, _) = parent_and_name(&path);
                    assert!(name > 0, "no last component in {target:?}");
                }
            }
        } else {
            assert!(
                target.to_bytes().len() < limit::PATH,
                "a host target fits the helper's buffer"
            );
        }
        index += 1;
    }
    assert_eq!(index, spec.mounts.len());
    // src/ns.rs.
    for map in [spec.uid_map, spec.gid_map].into_iter().flatten() {
        let len = text::id_map_text(map, &mut t.map_text[..]);
        assert_eq!(
            t.map_text[..len].iter().filter(|&&b| b == b'\n').count(),
            map.len()
        );
    }
    // src/ids.rs: setgroups(count, bytes); src/limits.rs: prlimit per entry.
    if let Some(c) = spec.credential {
        assert!(c.group_count() <= limit::GROUPS);
        assert_eq!(c.groups_bytes().len(), 4 * c.group_count());
    }
    for r in spec.rlimits.iter() {
        assert!(r.resource < limit::RLIMIT_RESOURCES && r.cur <= r.max);
    }
}

// ---------------------------------------------------------------------------------------------

const IDS: [(u32, u32); 6] = [
    (0, 0),
    (1000, 1000),
    (65534, 65534),
    (0, 1000),
    (1000, 0),
    (u32::MAX, u32::MAX),
];

/// The outcome, owned, for comparisons.
type Outcome = Result<(Owned, Shape), Failure>;

/// Runs the helper's path on `stream` with `schedule`; returns the outcome and the number of
/// bytes it took from the fd.
fn run(stream: &[u8], schedule: &[u8], ids: (u32, u32), t: &mut Tables) -> (Outcome, usize) {
    let mut fd = FakeFd {
        stream,
        pos: 0,
        schedule,
        next: 0,
        eof: false,
    };
    // A fresh spec each time, as the helper's (its static one is decoded into once per process).
    let mut spec = Box::new(Spec::default());
    let result = read_and_validate(&mut fd, &mut t.spec_buf, &mut spec, ids);
    let outcome = result.map(|(spec, shape)| (Owned::of(spec), shape));
    (outcome, fd.pos)
}

fn header_total(stream: &[u8]) -> Option<usize> {
    let header: [u8; HEADER_LEN] = stream.get(..HEADER_LEN)?.try_into().ok()?;
    decode::total_len(&header).ok()
}

fuzz_target!(|data: &[u8]| {
    let ids_sel = data.first().copied().unwrap_or(0);
    let n = data.get(1).map_or(0, |&b| (b as usize).min(32));
    let schedule = data.get(2..2 + n).unwrap_or(&[]);
    let stream = data.get(2 + n..).unwrap_or(&[]);

    for chunk in data.chunks_exact(RECORD_LEN) {
        check_status_record(chunk.try_into().unwrap());
    }

    // The ids the helper runs with: fixed ones, or the spec's own map hosts (in place).
    let total = header_total(stream);
    let whole = &stream[..total.unwrap_or(HEADER_LEN).min(stream.len())];
    let ids = match ids_sel & 7 {
        i @ 0..=5 => IDS[i as usize],
        _ => decode::decode(whole).map_or((0, 0), |s| {
            let host =
                |m: Option<decode::IdMap>| m.and_then(|m| m.iter().next()).map(|e| e.host_id);
            (host(s.uid_map).unwrap_or(0), host(s.gid_map).unwrap_or(0))
        }),
    };

    TABLES.with(|t| {
        let t = &mut *t.borrow_mut();
        let (outcome, consumed) = run(stream, schedule, ids, t);

        // It read exactly the spec, or less on EOF or an error; never past it.
        let limit = total.unwrap_or(HEADER_LEN);
        assert!(
            consumed <= limit.min(stream.len()),
            "read {consumed} bytes, past the spec"
        );
        let clean = !schedule.iter().any(|&s| s == 0xfe || s == 0xff);
        if clean {
            assert_eq!(
                consumed,
                limit.min(stream.len()),
                "stopped early without EOF"
            );
        }

        let read = &stream[..consumed];
        match &outcome {
            Err(f) if f.loc == Location::SpecRead => {
                assert_eq!(f.errno, EIO.0);
                assert_eq!(f.index as usize, consumed, "read error index");
                assert!(!clean);
            }
            Err(f) => {
                assert_eq!(f.loc, Location::Spec);
                assert!(
                    f.index as usize <= consumed,
                    "{f:?} past the {consumed} bytes read"
                );
                let fault = decode::Fault::from_u32(f.detail).expect("a fault number");
                assert_eq!(f.errno, fault.errno());
                if fault == decode::Fault::BadTotalLength {
                    assert!(
                        total.is_none(),
                        "trailing bytes reported as bad total length"
                    );
                }
                // The same refusal as decode (+ shape) on the bytes read.
                let spec_error = SpecError {
                    offset: f.index,
                    fault,
                };
                match decode_checked(read) {
                    Err(e) => assert_eq!(e, spec_error, "decode on the bytes read disagrees"),
                    Ok(_) => {
                        let spec = decode::decode(read).unwrap();
                        assert_eq!(spec.shape(ids.0, ids.1), Err(spec_error));
                    }
                }
            }
            Ok((owned, shape)) => {
                let again = decode_checked(read).expect("decode on the bytes read refuses");
                assert_eq!(&again, owned);
                let spec = decode::decode(read).unwrap();
                assert_eq!(spec.shape(ids.0, ids.1).as_ref(), Ok(shape));
                owned.assert_valid();
                check_shape(read, &spec, owned, ids.0, ids.1);
                use_spec(&spec, t);
            }
        }

        // The error record the helper would write, as a client reads it.
        if let Err(f) = &outcome {
            let r = Record::Error {
                location: f.loc as u32,
                errno: f.errno,
                index: f.index,
                detail: f.detail,
            };
            let bytes = r.encode();
            assert_eq!(Record::decode(&bytes), Some(r));
            check_status_record(&bytes);
        }

        // Chunking never matters: the same outcome when everything comes in one read.
        if clean && !schedule.is_empty() {
            let (at_once, consumed_at_once) = run(stream, &[], ids, t);
            assert_eq!(consumed_at_once, consumed);
            assert_eq!(at_once, outcome, "short reads changed the outcome");
        }
    });
});

// Half the time a structure-aware mutation of the spec after the control bytes (src/mutate.rs).
fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    let start = 2 + data.get(1).map_or(0, |&b| (b as usize).min(32));
    forkexec_fuzz::mutate::mutate_spec(data, size, max_size, seed, start, &mut fuzzer_mutate)
});
