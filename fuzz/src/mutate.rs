//! A structure-aware mutator for specs. A byte-level mutator rarely keeps a record's length
//! field, the next record's framing and the header's total length consistent, so it seldom
//! gets past the framing checks with a grown payload (one more FILES entry, a 66-byte host
//! name, a 257th mount). This one parses the input's records leniently, changes whole records
//! or one payload (with libFuzzer's own mutator), and writes the lengths back; half the time
//! it leaves the bytes to libFuzzer's mutator alone, so broken framing is fuzzed as well.

use forkexec_spec::layout::{ns, opt, record, HEADER_LEN, RECORD_HEADER_LEN};
use forkexec_spec::tables::{landlock_fs, landlock_net, landlock_scope, KindInfo, SourceRule};

// `super`, not `crate`: crates/spec/tests/reference.rs compiles this crate as a module.
use super::ADVISORY_TYPE;

/// libFuzzer's default mutator: `(data, size, max_size) -> new size`.
pub type DefaultMutator<'a> = &'a mut dyn FnMut(&mut [u8], usize, usize) -> usize;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

struct Rec {
    ty: u16,
    flags: u16,
    payload: Vec<u8>,
}

/// Typical payloads, so a new record has a chance to be accepted and reach the later checks.
fn template(ty: u16, rng: &mut Rng) -> Vec<u8> {
    match ty {
        record::ARGS | record::ENV => b"a\0bc\0".to_vec(),
        record::EXEC_PATH
        | record::WORK_DIR
        | record::PIVOT_ROOT
        | record::HOST_NAME
        | record::DOMAIN_NAME
        | record::CGROUP_PATH
        | record::LOCK_FILE => b"/x\0".to_vec(),
        record::EXEC_FD
        | record::STATUS_FD
        | record::CGROUP_FD
        | record::INFO_FD
        | record::JSON_STATUS_FD
        | record::SYNC_FD
        | record::BLOCK_FD
        | record::USERNS_BLOCK_FD => vec![3, 0, 0, 0],
        record::LANDLOCK => {
            let mut p = Vec::new();
            p.extend_from_slice(&(rng.next() & landlock_fs::KNOWN).to_le_bytes());
            p.extend_from_slice(&(rng.next() & landlock_net::KNOWN).to_le_bytes());
            p.extend_from_slice(&(rng.next() & landlock_scope::KNOWN).to_le_bytes());
            p.extend_from_slice(&(rng.below(2) as u32).to_le_bytes());
            p
        }
        record::LANDLOCK_PATH => {
            let mut p = (1u64 << rng.below(17)).to_le_bytes().to_vec();
            p.extend_from_slice(b"/x\0");
            p
        }
        record::LANDLOCK_PORT => {
            let mut p = (1u64 << rng.below(3)).to_le_bytes().to_vec();
            p.extend_from_slice(&[80u64, 65_535, 65_536][rng.below(3)].to_le_bytes());
            p
        }
        record::CAPS => {
            let mut p = rng.next().to_le_bytes().to_vec();
            p.extend_from_slice(&(rng.below(3) as u32).to_le_bytes());
            p
        }
        record::JOIN_NS => (0..3)
            .flat_map(|_| [-1i32, -1, 3, 4][rng.below(4)].to_le_bytes())
            .collect(),
        record::RLIMIT => {
            let mut p = vec![0; 20];
            p[0] = rng.below(17) as u8;
            p
        }
        record::FILES => vec![0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff],
        record::SECCOMP => vec![6, 0, 0, 0, 0, 0, 0xff, 0x7f],
        record::CLONE_FLAGS => (rng.next() & ns::KNOWN).to_le_bytes().to_vec(),
        record::OPTIONS => (rng.next() & opt::KNOWN).to_le_bytes().to_vec(),
        record::MOUNT => {
            let mut p = vec![0; 12];
            p[1] = 0x10; // MS_BIND
            p.extend_from_slice(b"/a\0/b\0\0\0");
            p
        }
        record::MOUNT_OP => mount_op_template(rng),
        record::UID_MAP | record::GID_MAP => vec![0, 0, 0, 0, 0xe8, 3, 0, 0, 1, 0, 0, 0],
        record::CREDENTIAL => vec![0; 16],
        _ => vec![0; rng.below(9)],
    }
}

/// A mount operation of a random kind with the fields that kind takes (a valid one), now and
/// then with one field too many, so both the acceptance and each kind's refusals are near.
fn mount_op_template(rng: &mut Rng) -> Vec<u8> {
    let row = &KindInfo::ALL[rng.below(KindInfo::ALL.len())];
    let kind = row.kind;
    let mut flags = rng.below(8) as u16 & row.flags;
    let mut mode: u32 = row.default_mode;
    let mut size: u64 = if row.takes.size { 1 << 20 } else { 0 };
    let (mut source, mut content, mut fd): (&[u8], &[u8], i32) = (b"", b"", -1);
    match row.source {
        SourceRule::PathOrFd if rng.below(2) == 0 => source = b"/s",
        SourceRule::PathOrFd => fd = rng.below(8) as i32,
        SourceRule::Text => source = b"l",
        SourceRule::None => {}
    }
    // An overlay's layers: upper and work when it takes them, then its fewest lower
    // directories, sometimes one fewer or one more.
    let layers: Vec<u8>;
    if row.lower != 0 {
        let upper = if row.takes.upper { 2 } else { 0 };
        let n = upper + row.lower as usize + rng.below(3) - 1;
        layers = (0..n).flat_map(|i| [b'/', b'a' + i as u8, 0]).collect();
        content = &layers;
    }
    if row.takes.content {
        match rng.below(3) {
            0 => content = b"c\0d",
            1 if row.takes.fd => fd = rng.below(8) as i32,
            _ => {}
        }
    }
    match rng.below(16) {
        0 => flags |= 1 << rng.below(16),
        1 => mode = 1 << rng.below(32),
        2 => size = 1,
        3 => fd = [-2, 3, 1 << 20][rng.below(3)],
        4 => source = b"/x",
        5 => content = b"x",
        _ => {}
    }
    let mut p = Vec::new();
    p.extend_from_slice(&kind.to_le_bytes());
    p.extend_from_slice(&flags.to_le_bytes());
    p.extend_from_slice(&mode.to_le_bytes());
    p.extend_from_slice(&size.to_le_bytes());
    p.extend_from_slice(&fd.to_le_bytes());
    p.extend_from_slice(source);
    p.push(0);
    p.extend_from_slice(if rng.below(8) == 0 { b"t\0" } else { b"/t\0" });
    p.extend_from_slice(content);
    p
}

/// The unit a payload of this type is made of (for growing it by whole entries).
fn unit(ty: u16) -> usize {
    match ty {
        record::FILES | record::CREDENTIAL => 4,
        record::SECCOMP => 8,
        record::UID_MAP | record::GID_MAP => 12,
        _ => 1,
    }
}

/// Mutates `data[start..size]` (a spec; `start` skips a target's control bytes) in place and
/// returns the new size (at most `max_size`).
pub fn mutate_spec(
    data: &mut [u8],
    size: usize,
    max_size: usize,
    seed: u32,
    start: usize,
    default: DefaultMutator,
) -> usize {
    let mut rng = Rng(seed as u64 ^ ((size as u64) << 32));
    if rng.below(2) == 0 || size < start + HEADER_LEN {
        return default(data, size, max_size);
    }
    let spec = &data[start..size];
    let mut recs = Vec::new();
    let mut r = HEADER_LEN;
    while r + RECORD_HEADER_LEN <= spec.len() {
        let ty = u16::from_le_bytes([spec[r], spec[r + 1]]);
        let flags = u16::from_le_bytes([spec[r + 2], spec[r + 3]]);
        let len = u32::from_le_bytes(spec[r + 4..r + 8].try_into().unwrap()) as usize;
        let len = len.min(spec.len() - r - RECORD_HEADER_LEN);
        let p = r + RECORD_HEADER_LEN;
        recs.push(Rec {
            ty,
            flags,
            payload: spec[p..p + len].to_vec(),
        });
        r = p + len;
    }
    let tail = spec[r..].to_vec();
    let room = max_size.saturating_sub(size);

    let pick = |rng: &mut Rng, recs: &Vec<Rec>| rng.below(recs.len());
    match rng.below(8) {
        // One payload through libFuzzer's mutator.
        0 | 1 if !recs.is_empty() => {
            let i = pick(&mut rng, &recs);
            let p = &mut recs[i].payload;
            let len = p.len();
            let cap = (len + room.min(4096)).max(1);
            p.resize(cap, 0);
            let n = default(p, len, cap);
            p.truncate(n);
        }
        // Grow a payload by whole entries (towards the count and length limits).
        2 if !recs.is_empty() => {
            let i = pick(&mut rng, &recs);
            let ty = recs[i].ty;
            let u = unit(ty);
            let p = &mut recs[i].payload;
            let chunk: Vec<u8> = if p.len() >= u {
                p[p.len() - u..].to_vec()
            } else {
                vec![b'a'; u]
            };
            let times = [1, 2, 64, 4096][rng.below(4)].min(room / u.max(1));
            let at = if ty == record::ARGS || ty == record::ENV {
                p.len() // keep the list terminated
            } else {
                p.len().saturating_sub(1).min(rng.below(p.len() + 1))
            };
            let grown: Vec<u8> = chunk.iter().copied().cycle().take(u * times).collect();
            p.splice(at..at, grown);
        }
        // Duplicate, delete or swap records.
        3 if !recs.is_empty() => {
            let i = pick(&mut rng, &recs);
            let copy = Rec {
                ty: recs[i].ty,
                flags: recs[i].flags,
                payload: recs[i].payload.clone(),
            };
            let at = rng.below(recs.len() + 1);
            recs.insert(at, copy);
        }
        4 if !recs.is_empty() => {
            let i = pick(&mut rng, &recs);
            recs.remove(i);
        }
        5 if recs.len() >= 2 => {
            let (i, j) = (pick(&mut rng, &recs), pick(&mut rng, &recs));
            recs.swap(i, j);
        }
        // A new record of any type, mostly with a plausible payload.
        6 => {
            let ty = match rng.below(8) {
                0 => 0,
                1 => ADVISORY_TYPE,
                2 => record::LAST + 1,
                _ => 1 + rng.below(record::LAST as usize) as u16,
            };
            let flags = if rng.below(4) == 0 { 1 } else { 0 };
            let payload = template(ty, &mut rng);
            let at = rng.below(recs.len() + 1);
            recs.insert(at, Rec { ty, flags, payload });
        }
        // Retype a record or flip its flags.
        _ if !recs.is_empty() => {
            let i = pick(&mut rng, &recs);
            if rng.below(2) == 0 {
                recs[i].ty = rng.below(record::LAST as usize + 2) as u16;
            } else {
                recs[i].flags ^= 1 << rng.below(16);
            }
        }
        _ => return default(data, size, max_size),
    }

    let mut out = data[..start + HEADER_LEN].to_vec();
    for rec in &recs {
        out.extend_from_slice(&rec.ty.to_le_bytes());
        out.extend_from_slice(&rec.flags.to_le_bytes());
        out.extend_from_slice(&(rec.payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&rec.payload);
    }
    // Dropping the unframed tail and fixing the total length keep the spec whole; now and
    // then leave them as they were.
    if rng.below(8) == 0 {
        out.extend_from_slice(&tail);
    }
    if rng.below(16) != 0 {
        let total = (out.len() - start) as u32;
        out[start + 8..start + 12].copy_from_slice(&total.to_le_bytes());
    }
    if out.len() > max_size || out.len() > data.len() {
        return default(data, size, max_size);
    }
    data[..out.len()].copy_from_slice(&out);
    out.len()
}
