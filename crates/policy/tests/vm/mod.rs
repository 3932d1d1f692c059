//! A classic BPF interpreter for seccomp programs, the subset the kernel accepts for them
//! and this crate emits, with the kernel's static checks: the tests run compiled programs on
//! made-up `seccomp_data` without loading them.
#![allow(dead_code)]

use forkexec_client::SockFilter;

pub const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
pub const AUDIT_ARCH_AARCH64: u32 = 0xC000_00B7;

pub const RET_ALLOW: u32 = 0x7fff_0000;
pub const RET_KILL_PROCESS: u32 = 0x8000_0000;

/// `struct seccomp_data`.
#[derive(Clone, Copy, Debug)]
pub struct Data {
    pub nr: u32,
    pub arch: u32,
    pub ip: u64,
    pub args: [u64; 6],
}

impl Data {
    /// A native x86_64 call.
    pub fn x86_64(nr: u32, args: [u64; 6]) -> Self {
        Data {
            nr,
            arch: AUDIT_ARCH_X86_64,
            ip: 0x7f00_1234_5678,
            args,
        }
    }

    fn bytes(&self) -> [u8; 64] {
        let mut b = [0u8; 64];
        b[0..4].copy_from_slice(&self.nr.to_le_bytes());
        b[4..8].copy_from_slice(&self.arch.to_le_bytes());
        b[8..16].copy_from_slice(&self.ip.to_le_bytes());
        for (i, a) in self.args.iter().enumerate() {
            b[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
        }
        b
    }
}

/// What the kernel's `seccomp_check_filter` / `bpf_check_classic` check: a length of 1 to
/// 4096, known opcodes only, aligned in-bounds loads, jumps that land inside the program,
/// a `ret` last.
pub fn check(prog: &[SockFilter]) {
    assert!(
        !prog.is_empty() && prog.len() <= 4096,
        "length {}",
        prog.len()
    );
    for (pc, ins) in prog.iter().enumerate() {
        let after = pc + 1;
        match ins.code {
            0x20 => assert!(ins.k % 4 == 0 && ins.k < 64, "load at {pc}: {ins:?}"),
            0x54 | 0x06 => {}
            0x05 => assert!(after + (ins.k as usize) < prog.len(), "ja at {pc} out"),
            0x15 | 0x25 | 0x35 | 0x45 => {
                assert!(after + usize::from(ins.jt) < prog.len(), "jt at {pc} out");
                assert!(after + usize::from(ins.jf) < prog.len(), "jf at {pc} out");
            }
            other => panic!("opcode {other:#x} at {pc}"),
        }
    }
    assert_eq!(
        prog.last().unwrap().code,
        0x06,
        "the last instruction is a ret"
    );
}

/// Runs `prog` on `d`, returning the filter's verdict and the number of instructions run.
pub fn run_counted(prog: &[SockFilter], d: &Data) -> (u32, usize) {
    let bytes = d.bytes();
    let mut a: u32 = 0;
    let mut pc = 0usize;
    let mut steps = 0;
    loop {
        let ins = prog[pc];
        pc += 1;
        steps += 1;
        let cond = |c: bool| usize::from(if c { ins.jt } else { ins.jf });
        match ins.code {
            0x20 => {
                let k = ins.k as usize;
                a = u32::from_le_bytes(bytes[k..k + 4].try_into().unwrap());
            }
            0x54 => a &= ins.k,
            0x05 => pc += ins.k as usize,
            0x15 => pc += cond(a == ins.k),
            0x25 => pc += cond(a > ins.k),
            0x35 => pc += cond(a >= ins.k),
            0x45 => pc += cond(a & ins.k != 0),
            0x06 => return (ins.k, steps),
            other => panic!("opcode {other:#x}"),
        }
    }
}

pub fn run(prog: &[SockFilter], d: &Data) -> u32 {
    run_counted(prog, d).0
}

/// A small deterministic generator (xorshift64*), so the tests need no `rand`.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}
