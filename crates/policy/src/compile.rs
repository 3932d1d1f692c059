//! Policy → classic BPF for x86_64.
//!
//! The program, in order:
//!
//! 1. `ld arch; jeq AUDIT_ARCH_X86_64` else `ret KILL_PROCESS`.
//! 2. `ld nr`, then a binary search over the number line cut into intervals, each with one
//!    target: x32 numbers (`nr >= 0x40000000`, including -1) go to `ret KILL_PROCESS`, numbers
//!    no rule names to `ret default_action`, runs of neighbouring numbers that one
//!    unconditional action decides to that action's `ret`, and every other number to its own
//!    chain. Each cut is one `jge`, so a call costs about log2(intervals) jumps and no
//!    argument is read before the number is known (the kernel's per-number action cache
//!    still applies to every number whose result does not depend on arguments).
//! 3. The chains: for each rule naming the number, in policy order, the argument comparisons
//!    (64-bit, as two 32-bit halves), the first rule whose comparisons all hold returns its
//!    action; after the last, the default action.
//!
//! The program is assembled backwards, from its last instruction, so every jump target is
//! already placed when a jump to it is written; a conditional jump (8-bit offsets) whose
//! target is too far gets a copy of the target `ret` placed next to it, or a `ja` (32-bit
//! offset) to it.

use std::collections::{BTreeMap, HashMap};

use forkexec_client::SockFilter;

use crate::{Action, ArgCmp, CmpOp, Policy, Rule};

/// `AUDIT_ARCH_X86_64`, `seccomp_data.arch` of a native x86_64 call.
pub const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
/// `__X32_SYSCALL_BIT`: x32 calls have it set in their number (with the x86_64 arch).
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const AND_K: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const JA: u16 = 0x05; // BPF_JMP | BPF_JA
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGT_K: u16 = 0x25; // BPF_JMP | BPF_JGT | BPF_K
const JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K

// struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
fn arg_lo(index: u8) -> u32 {
    16 + 8 * u32::from(index)
}
fn arg_hi(index: u8) -> u32 {
    arg_lo(index) + 4
}

/// Where the dispatch sends a run of syscall numbers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Ret(u32),
    Chain(Label),
}

/// A position counted from the end of the program (index into the reversed program).
type Label = usize;

/// A backwards assembler: instructions are pushed last first.
#[derive(Default)]
struct Asm {
    rev: Vec<SockFilter>,
    /// The most recently placed `ret k` for each k.
    rets: HashMap<u32, Label>,
}

impl Asm {
    fn push(&mut self, ins: SockFilter) -> Label {
        self.rev.push(ins);
        self.rev.len() - 1
    }

    /// The jump offset from the next pushed instruction to `target`.
    fn dist(&self, target: Label) -> usize {
        self.rev.len() - 1 - target
    }

    fn stmt(&mut self, code: u16, k: u32) -> Label {
        self.push(SockFilter::stmt(code, k))
    }

    /// A `ret k` within conditional-jump reach: the last one placed, or a new one.
    fn ret(&mut self, k: u32) -> Label {
        match self.rets.get(&k) {
            Some(&l) if self.dist(l) <= 250 => l,
            _ => {
                let l = self.stmt(RET_K, k);
                self.rets.insert(k, l);
                l
            }
        }
    }

    fn resolve(&mut self, t: Target) -> Label {
        match t {
            Target::Ret(k) => self.ret(k),
            Target::Chain(l) => l,
        }
    }

    /// `target`, or a stand-in for it next to the next instruction when it is out of a
    /// conditional jump's reach: a copy of its `ret`, or a `ja` to it.
    fn near(&mut self, target: Label) -> Label {
        if self.dist(target) <= usize::from(u8::MAX) {
            return target;
        }
        let ins = self.rev[target];
        if ins.code == RET_K {
            self.ret(ins.k)
        } else {
            let off = self.dist(target) as u32;
            self.stmt(JA, off)
        }
    }

    /// `if (A code k) goto jt else goto jf`.
    fn jump(&mut self, code: u16, k: u32, jt: Label, jf: Label) -> Label {
        let jt = self.near(jt);
        let jf = self.near(jf);
        // A stand-in for jf moved jt one further.
        let jt = self.near(jt);
        let (t, f) = (self.dist(jt), self.dist(jf));
        self.push(SockFilter::jump(code, k, t as u8, f as u8))
    }

    fn finish(mut self) -> Vec<SockFilter> {
        self.rev.reverse();
        self.rev
    }
}

pub(crate) fn x86_64(policy: &Policy) -> Vec<SockFilter> {
    let kill = Action::KillProcess.ret();
    let default = policy.default_action.ret();

    let mut rules: BTreeMap<u32, Vec<&Rule>> = BTreeMap::new();
    for rule in &policy.syscalls {
        for name in &rule.names {
            let nr = crate::syscalls::number(name).expect("validated");
            rules.entry(nr).or_default().push(rule);
        }
    }

    let mut a = Asm::default();
    a.ret(default);

    // The chains, last number first, so that the dispatch's targets are in place.
    let mut targets: Vec<(u32, Target)> = Vec::with_capacity(rules.len());
    for (&nr, chain) in rules.iter().rev() {
        let target = match chain.as_slice() {
            [only] if only.args.is_empty() => Target::Ret(only.action.ret()),
            _ => Target::Chain(emit_chain(&mut a, chain, default)),
        };
        targets.push((nr, target));
    }
    targets.reverse();

    // The number line as intervals (start, target), neighbours with equal targets merged.
    let mut intervals: Vec<(u32, Target)> = Vec::new();
    let mut add = |start: u32, t: Target| match intervals.last() {
        Some(&(_, last)) if last == t => {}
        _ => intervals.push((start, t)),
    };
    let mut next = 0u32;
    for &(nr, t) in &targets {
        if nr != next {
            add(next, Target::Ret(default));
        }
        add(nr, t);
        next = nr + 1;
    }
    if next < X32_SYSCALL_BIT {
        add(next, Target::Ret(default));
    }
    add(X32_SYSCALL_BIT, Target::Ret(kill));

    let entry = emit_tree(&mut a, &intervals);
    // `ld nr` falls through to the entry.
    if entry != a.rev.len() - 1 {
        let ins = a.rev[entry];
        if ins.code == RET_K {
            a.stmt(RET_K, ins.k);
        } else {
            let off = a.dist(entry) as u32;
            a.stmt(JA, off);
        }
    }
    let load_nr = a.stmt(LD_W_ABS, OFF_NR);
    let kill_label = a.ret(kill);
    a.jump(JEQ_K, AUDIT_ARCH_X86_64, load_nr, kill_label);
    a.stmt(LD_W_ABS, OFF_ARCH);
    a.finish()
}

/// The binary search over `intervals` (sorted, the first starting at 0); returns its entry.
fn emit_tree(a: &mut Asm, intervals: &[(u32, Target)]) -> Label {
    if let [(_, only)] = intervals {
        return a.resolve(*only);
    }
    let mid = intervals.len() / 2;
    let right = emit_tree(a, &intervals[mid..]);
    let left = emit_tree(a, &intervals[..mid]);
    a.jump(JGE_K, intervals[mid].0, right, left)
}

/// One number's rules in order, falling through to the default; returns the entry.
fn emit_chain(a: &mut Asm, chain: &[&Rule], default: u32) -> Label {
    let mut next = a.ret(default);
    for rule in chain.iter().rev() {
        let mut entry = a.ret(rule.action.ret());
        for cmp in rule.args.iter().rev() {
            entry = emit_cmp(a, cmp, entry, next);
        }
        next = entry;
    }
    next
}

/// One comparison: on to `pass` when it holds, to `fail` when not; returns the entry.
fn emit_cmp(a: &mut Asm, c: &ArgCmp, pass: Label, fail: Label) -> Label {
    let (vh, vl) = ((c.value >> 32) as u32, c.value as u32);
    let (lo, hi) = (arg_lo(c.index), arg_hi(c.index));
    // Each arm is written backwards: the low half's test, then the high half's.
    match c.op {
        CmpOp::Eq => {
            a.jump(JEQ_K, vl, pass, fail);
            let l = a.stmt(LD_W_ABS, lo);
            a.jump(JEQ_K, vh, l, fail);
            a.stmt(LD_W_ABS, hi)
        }
        CmpOp::Ne => {
            a.jump(JEQ_K, vl, fail, pass);
            let l = a.stmt(LD_W_ABS, lo);
            a.jump(JEQ_K, vh, l, pass);
            a.stmt(LD_W_ABS, hi)
        }
        // hi > vh: decided; hi == vh: the low half decides; hi < vh: decided.
        CmpOp::Gt | CmpOp::Ge => {
            let code = if c.op == CmpOp::Gt { JGT_K } else { JGE_K };
            a.jump(code, vl, pass, fail);
            let l = a.stmt(LD_W_ABS, lo);
            let eq = a.jump(JEQ_K, vh, l, fail);
            a.jump(JGT_K, vh, pass, eq);
            a.stmt(LD_W_ABS, hi)
        }
        // a < v is !(a >= v), a <= v is !(a > v).
        CmpOp::Lt | CmpOp::Le => {
            let code = if c.op == CmpOp::Lt { JGE_K } else { JGT_K };
            a.jump(code, vl, fail, pass);
            let l = a.stmt(LD_W_ABS, lo);
            let eq = a.jump(JEQ_K, vh, l, pass);
            a.jump(JGT_K, vh, fail, eq);
            a.stmt(LD_W_ABS, hi)
        }
        CmpOp::MaskedEq => {
            let mask = c.mask.unwrap_or(0);
            let (mh, ml) = ((mask >> 32) as u32, mask as u32);
            // A half whose mask is 0 always matches (the value is within the mask).
            let mut entry = pass;
            if ml != 0 {
                a.jump(JEQ_K, vl, entry, fail);
                a.stmt(AND_K, ml);
                entry = a.stmt(LD_W_ABS, lo);
            }
            if mh != 0 {
                a.jump(JEQ_K, vh, entry, fail);
                a.stmt(AND_K, mh);
                entry = a.stmt(LD_W_ABS, hi);
            }
            entry
        }
    }
}
