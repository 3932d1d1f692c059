//! The kernel's checks of a classic BPF program for seccomp (`bpf_check_classic`,
//! `check_load_and_stores` in net/core/filter.c and `seccomp_check_filter` in
//! kernel/seccomp.c), so that bubblewrap mode says bwrap's words for a program the kernel
//! would refuse with EINVAL (bwrap's hint) before anything is set up: the helper has no room
//! for that hint. A program that passes may still be refused by the kernel for other reasons
//! (then the helper's `prctl(PR_SET_SECCOMP): …`).

use forkexec_client::SockFilter;

const LD: u16 = 0x00;
const LDX: u16 = 0x01;
const ST: u16 = 0x02;
const STX: u16 = 0x03;
const ALU: u16 = 0x04;
const JMP: u16 = 0x05;
const RET: u16 = 0x06;
const MISC: u16 = 0x07;

const W: u16 = 0x00;
const IMM: u16 = 0x00;
const ABS: u16 = 0x20;
const MEM: u16 = 0x60;
const LEN: u16 = 0x80;

const K: u16 = 0x00;
const X: u16 = 0x08;
const A: u16 = 0x10;

const ADD: u16 = 0x00;
const SUB: u16 = 0x10;
const MUL: u16 = 0x20;
const DIV: u16 = 0x30;
const OR: u16 = 0x40;
const AND: u16 = 0x50;
const LSH: u16 = 0x60;
const RSH: u16 = 0x70;
const NEG: u16 = 0x80;
const XOR: u16 = 0xa0;

const JA: u16 = 0x00;
const JEQ: u16 = 0x10;
const JGT: u16 = 0x20;
const JGE: u16 = 0x30;
const JSET: u16 = 0x40;

const TAX: u16 = 0x00;
const TXA: u16 = 0x80;

/// `BPF_MAXINSNS`.
const MAX_INSNS: usize = 4096;
/// `BPF_MEMWORDS`: the scratch memory slots.
const MEMWORDS: u32 = 16;
/// `sizeof(struct seccomp_data)`.
const SECCOMP_DATA: u32 = 64;

/// Whether the kernel takes `prog` as a seccomp filter (false: `prctl(PR_SET_SECCOMP)` would
/// fail with EINVAL).
pub fn kernel_accepts(prog: &[SockFilter]) -> bool {
    let len = prog.len();
    if len == 0 || len > MAX_INSNS {
        return false;
    }
    let fits = |pc: usize, off: u32| pc + 1 + (off as usize) < len;
    for (pc, ins) in prog.iter().enumerate() {
        let ok = match ins.code {
            c if c == LD | W | ABS => ins.k < SECCOMP_DATA && ins.k & 3 == 0,
            c if c == LD | W | LEN || c == LDX | W | LEN => true,
            c if c == RET | K || c == RET | A => true,
            c if c == ALU | DIV | K => ins.k != 0,
            c if c == ALU | LSH | K || c == ALU | RSH | K => ins.k < 32,
            c if c & 0x07 == ALU => {
                let op = c & 0xf0;
                c & !(0xf0 | X) == ALU
                    && (c == ALU | NEG
                        || [ADD, SUB, MUL, DIV, AND, OR, XOR, LSH, RSH].contains(&op))
            }
            c if c == LD | IMM || c == LDX | IMM => true,
            c if c == MISC | TAX || c == MISC | TXA => true,
            c if c == LD | MEM || c == LDX | MEM || c == ST || c == STX => ins.k < MEMWORDS,
            c if c == JMP | JA => fits(pc, ins.k),
            c if c & 0x07 == JMP && c & !(0xf0 | X) == JMP => {
                [JEQ, JGT, JGE, JSET].contains(&(c & 0xf0))
                    && fits(pc, ins.jt.into())
                    && fits(pc, ins.jf.into())
            }
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    matches!(prog[len - 1].code, c if c == RET | K || c == RET | A) && loads_after_stores(prog)
}

/// `check_load_and_stores`: no scratch slot is read on a path where it was not written.
fn loads_after_stores(prog: &[SockFilter]) -> bool {
    let mut masks = vec![u16::MAX; prog.len()];
    let mut valid = 0u16;
    for (pc, ins) in prog.iter().enumerate() {
        valid &= masks[pc];
        let c = ins.code;
        if c == ST || c == STX {
            valid |= 1 << ins.k;
        } else if c == LD | MEM || c == LDX | MEM {
            if valid & 1 << ins.k == 0 {
                return false;
            }
        } else if c == JMP | JA {
            masks[pc + 1 + ins.k as usize] &= valid;
            valid = u16::MAX;
        } else if c & 0x07 == JMP {
            masks[pc + 1 + ins.jt as usize] &= valid;
            masks[pc + 1 + ins.jf as usize] &= valid;
            valid = u16::MAX;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ins(code: u16, jt: u8, jf: u8, k: u32) -> SockFilter {
        SockFilter { code, jt, jf, k }
    }

    const ALLOW: u32 = 0x7fff_0000;

    /// What the kernel itself says of `prog`: 0 when a child could install it, else the
    /// errno.
    fn kernel_says(prog: &[SockFilter]) -> i32 {
        let mut raw: Vec<libc::sock_filter> = prog
            .iter()
            .map(|i| libc::sock_filter {
                code: i.code,
                jt: i.jt,
                jf: i.jf,
                k: i.k,
            })
            .collect();
        let fprog = libc::sock_fprog {
            len: raw.len() as u16,
            filter: raw.as_mut_ptr(),
        };
        // SAFETY: the child makes only raw system calls (prctl, seccomp, _exit) on memory
        // the parent set up before the fork; the parent reaps it.
        unsafe {
            let pid = libc::fork();
            assert!(pid >= 0);
            if pid == 0 {
                libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                let r = libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_SET_MODE_FILTER,
                    0,
                    &fprog as *const libc::sock_fprog,
                );
                libc::_exit(if r == 0 { 0 } else { *libc::__errno_location() });
            }
            let mut status = 0;
            assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
            assert!(libc::WIFEXITED(status), "{status:#x}");
            libc::WEXITSTATUS(status)
        }
    }

    #[test]
    fn what_the_kernel_takes_and_refuses() {
        let ret = ins(RET | K, 0, 0, ALLOW);
        let good = [
            ins(LD | W | ABS, 0, 0, 4),
            ins(JMP | JEQ | K, 1, 0, 0xc000_003e),
            ins(RET | K, 0, 0, 0),
            ins(ST, 0, 0, 3),
            ins(LD | MEM, 0, 0, 3),
            ins(ALU | AND | K, 0, 0, 1),
            ins(MISC | TAX, 0, 0, 0),
            ret,
        ];
        assert!(kernel_accepts(&good));
        let refused: [&[SockFilter]; 12] = [
            &[],
            &[ins(JMP | JA, 0, 0, 1), ret],        // past the end
            &[ins(JMP | JEQ | K, 0, 1, 0), ret],   // jf past the end
            &[ins(LD | W | ABS, 0, 0, 64), ret],   // beyond seccomp_data
            &[ins(LD | W | ABS, 0, 0, 2), ret],    // unaligned
            &[ins(LD | 0x08 | ABS, 0, 0, 0), ret], // a half-word load
            &[ins(ALU | DIV | K, 0, 0, 0), ret],   // by zero
            &[ins(ALU | LSH | K, 0, 0, 32), ret],  // too far
            &[ins(LD | MEM, 0, 0, 0), ret],        // read before written
            &[ins(LD | W | ABS, 0, 0, 0)],         // no RET at the end
            &[ins(ALU | 0x90, 0, 0, 1), ret],      // BPF_MOD
            &[ins(ALU | NEG | X, 0, 0, 0), ret],   // no such NEG
        ];
        for (i, prog) in refused.iter().enumerate() {
            assert!(!kernel_accepts(prog), "{i}: {prog:?}");
            if !prog.is_empty() {
                assert_eq!(kernel_says(prog), libc::EINVAL, "{i}: {prog:?}");
            }
        }
        if cfg!(target_arch = "x86_64") {
            assert_eq!(kernel_says(&good), 0);
        }
        assert!(kernel_accepts(&[ins(ALU | ADD | X, 0, 0, 0), ret]));
        assert!(!kernel_accepts(&vec![ret; MAX_INSNS + 1]));
        assert!(kernel_accepts(&vec![ret; MAX_INSNS]));
        // A slot written on one path only, read where the paths meet.
        let one_path = [
            ins(JMP | JEQ | K, 0, 1, 0),
            ins(ST, 0, 0, 0),
            ins(LD | MEM, 0, 0, 0),
            ret,
        ];
        assert!(!kernel_accepts(&one_path));
        assert_eq!(kernel_says(&one_path), libc::EINVAL);
        assert_eq!(kernel_says(&vec![ret; MAX_INSNS + 1]), libc::EINVAL);
        assert_eq!(kernel_says(&vec![ret; MAX_INSNS]), 0);
    }
}
