//! The compiled programs, run in a BPF interpreter (tests/vm): every action's return value,
//! the architecture and x32 checks, 64-bit argument comparisons at their edges, first-match
//! order, long programs (jumps beyond 255 instructions), the 4096-instruction limit, and
//! agreement with seccompiler on the policies both can express.

mod tables;
mod vm;

use std::collections::BTreeMap;

use forkexec_policy::{syscalls, Action, ArgCmp, CmpOp, Policy, X32_SYSCALL_BIT};
use vm::{check, run, run_counted, Data, Rng, AUDIT_ARCH_AARCH64, AUDIT_ARCH_I386, RET_ALLOW};

const GETPID: u32 = 39;
const GETPPID: u32 = 110;
const SOCKET: u32 = 41;

fn compile(p: &Policy) -> Vec<forkexec_client::SockFilter> {
    let prog = p.compile_x86_64().unwrap();
    check(&prog);
    prog
}

fn cmp(index: u8, op: CmpOp, value: u64) -> ArgCmp {
    ArgCmp::new(index, op, value)
}

fn masked(index: u8, mask: u64, value: u64) -> ArgCmp {
    ArgCmp::masked(index, mask, value)
}

#[test]
fn every_action_returns_its_value() {
    for (action, ret) in [
        (Action::Allow, 0x7fff_0000),
        (Action::Errno(1), 0x0005_0001),
        (Action::Errno(0), 0x0005_0000),
        (Action::Errno(4095), 0x0005_0fff),
        (Action::KillProcess, 0x8000_0000),
        (Action::KillThread, 0x0000_0000),
        (Action::Trap, 0x0003_0000),
        (Action::Trace(0), 0x7ff0_0000),
        (Action::Trace(0xabcd), 0x7ff0_abcd),
        (Action::Log, 0x7ffc_0000),
    ] {
        // As a rule's action…
        let p = Policy::new(Action::Allow).rule(["getppid"], action, vec![]);
        let prog = compile(&p);
        assert_eq!(run(&prog, &Data::x86_64(GETPPID, [0; 6])), ret, "{action}");
        assert_eq!(
            run(&prog, &Data::x86_64(GETPID, [0; 6])),
            RET_ALLOW,
            "{action}"
        );
        // …as a conditional rule's action…
        let p = Policy::new(Action::Allow).rule(["getppid"], action, vec![cmp(0, CmpOp::Eq, 7)]);
        let prog = compile(&p);
        assert_eq!(
            run(&prog, &Data::x86_64(GETPPID, [7, 0, 0, 0, 0, 0])),
            ret,
            "{action}"
        );
        assert_eq!(
            run(&prog, &Data::x86_64(GETPPID, [8, 0, 0, 0, 0, 0])),
            RET_ALLOW,
            "{action}"
        );
        // …and as the default.
        let p = Policy::new(action).rule(["getpid"], Action::Allow, vec![]);
        let prog = compile(&p);
        assert_eq!(run(&prog, &Data::x86_64(GETPPID, [0; 6])), ret, "{action}");
        assert_eq!(
            run(&prog, &Data::x86_64(GETPID, [0; 6])),
            RET_ALLOW,
            "{action}"
        );
    }
}

#[test]
fn foreign_architectures_and_x32_are_killed() {
    let kill = Action::KillProcess.ret();
    for p in [
        Policy::new(Action::Allow),
        Policy::new(Action::Errno(1)).rule(["getpid"], Action::Allow, vec![]),
        Policy::default_judge(),
    ] {
        let prog = compile(&p);
        // The program starts by checking the architecture.
        assert_eq!((prog[0].code, prog[0].k), (0x20, 4), "ld seccomp_data.arch");
        assert_eq!((prog[1].code, prog[1].k), (0x15, 0xC000_003E));
        for arch in [AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64, 0] {
            let d = Data {
                arch,
                ..Data::x86_64(GETPID, [0; 6])
            };
            assert_eq!(run(&prog, &d), kill, "arch {arch:#x}");
        }
        for nr in [
            X32_SYSCALL_BIT,
            X32_SYSCALL_BIT + GETPID,
            X32_SYSCALL_BIT + 520,
            u32::MAX,
        ] {
            assert_eq!(run(&prog, &Data::x86_64(nr, [0; 6])), kill, "nr {nr:#x}");
        }
        let just_below = p.default_action.ret();
        assert_eq!(
            run(&prog, &Data::x86_64(X32_SYSCALL_BIT - 1, [0; 6])),
            just_below
        );
        assert_eq!(run(&prog, &Data::x86_64(471, [0; 6])), just_below);
    }
}

/// Values around the edges of 32-bit halves, for each op and several right-hand values.
#[test]
fn comparisons_are_64_bit_and_unsigned() {
    let values = [
        0,
        1,
        2,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        0x1_0000_0000,
        0x1_0000_0001,
        0x2_0000_0000,
        0xffff_ffff_0000_0000,
        (-100i64) as u64,
        u64::MAX - 1,
        u64::MAX,
    ];
    let mut probes: Vec<u64> = Vec::new();
    for v in values {
        for d in [0u64, 1, 2, 0x1_0000_0000] {
            probes.extend([v.wrapping_add(d), v.wrapping_sub(d)]);
        }
    }
    for op in [
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
    ] {
        for &v in &values {
            for index in [0u8, 3, 5] {
                let c = cmp(index, op, v);
                let p = Policy::new(Action::Allow).rule(["socket"], Action::Errno(97), vec![c]);
                let prog = compile(&p);
                for &arg in &probes {
                    let mut args = [0x5555_5555_5555_5555u64; 6];
                    args[usize::from(index)] = arg;
                    let want = if c.matches(arg) {
                        Action::Errno(97).ret()
                    } else {
                        RET_ALLOW
                    };
                    assert_eq!(
                        run(&prog, &Data::x86_64(SOCKET, args)),
                        want,
                        "arg{index} {arg:#x} {op:?} {v:#x}"
                    );
                }
            }
        }
    }
    for (mask, value) in [
        (0x243u64, 0u64),
        (0x10000, 0x10000),
        (0xffff_ffff, 2),
        (0xff_0000_0000, 0x12_0000_0000),
        (u64::MAX, 0x1234_5678_9abc_def0),
        (0, 0),
    ] {
        let c = masked(2, mask, value);
        let p = Policy::new(Action::Allow).rule(["openat"], Action::Errno(13), vec![c]);
        let prog = compile(&p);
        for &arg in probes
            .iter()
            .chain(&[value, value | !mask, 0x41, 0x42, 0x200, 0x8000])
        {
            let args = [0, 0, arg, 0, 0, 0];
            let want = if c.matches(arg) {
                Action::Errno(13).ret()
            } else {
                RET_ALLOW
            };
            assert_eq!(
                run(&prog, &Data::x86_64(257, args)),
                want,
                "{arg:#x} & {mask:#x} == {value:#x}"
            );
        }
    }
}

#[test]
fn rules_are_tried_in_order_and_conditions_are_anded() {
    let p = Policy::from_json(
        r#"{"default_action": {"errno": 1}, "syscalls": [
            {"names": ["socket"], "action": "allow", "args": [
                {"index": 0, "op": "eq", "value": 1}, {"index": 1, "op": "masked_eq", "mask": 15, "value": 1}]},
            {"names": ["socket"], "action": {"errno": 97}, "args": [{"index": 0, "op": "ge", "value": 2},
                {"index": 0, "op": "le", "value": 10}]},
            {"names": ["socket", "getppid"], "action": "trap"}]}"#,
    )
    .unwrap();
    let prog = compile(&p);
    for (args0, args1, want) in [
        (1, 1, Action::Allow),
        (1, 0x801, Action::Allow),
        (1, 2, Action::Trap),
        (2, 1, Action::Errno(97)),
        (10, 0, Action::Errno(97)),
        (11, 0, Action::Trap),
        (0, 1, Action::Trap),
    ] {
        let args = [args0, args1, 0, 0, 0, 0];
        assert_eq!(p.action_for(SOCKET, &args), want);
        assert_eq!(
            run(&prog, &Data::x86_64(SOCKET, args)),
            want.ret(),
            "{args0} {args1}"
        );
    }
    assert_eq!(
        run(&prog, &Data::x86_64(GETPPID, [0; 6])),
        Action::Trap.ret()
    );
    assert_eq!(
        run(&prog, &Data::x86_64(GETPID, [0; 6])),
        Action::Errno(1).ret()
    );
}

/// A random policy: rules over a few syscall numbers, random ops, values near a few
/// interesting points, random actions, unconditional rules only last for their syscalls.
fn random_policy(rng: &mut Rng, names: &[&str], rules: usize) -> Policy {
    let actions = [
        Action::Allow,
        Action::Errno(1),
        Action::Errno(38),
        Action::KillProcess,
        Action::KillThread,
        Action::Trap,
        Action::Trace(9),
        Action::Log,
    ];
    let points = [
        0u64,
        1,
        5,
        0xffff_ffff,
        0x1_0000_0000,
        u64::MAX,
        0x8000_0000_0000_0000,
    ];
    let ops = [
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
        CmpOp::MaskedEq,
    ];
    let mut p = Policy::new(rng.pick(&actions));
    let mut closed: Vec<&str> = Vec::new();
    for _ in 0..rules {
        let mut rule_names: Vec<&str> = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let n = rng.pick(names);
            if !rule_names.contains(&n) && !closed.contains(&n) {
                rule_names.push(n);
            }
        }
        if rule_names.is_empty() {
            continue;
        }
        let nargs = if rng.below(5) == 0 {
            0
        } else {
            1 + rng.below(3)
        };
        if nargs == 0 {
            closed.extend(&rule_names);
        }
        let args = (0..nargs)
            .map(|_| {
                let index = rng.below(6) as u8;
                let op = rng.pick(&ops);
                let value = rng.pick(&points).wrapping_add(rng.below(3)).wrapping_sub(1);
                if op == CmpOp::MaskedEq {
                    let mask = rng.next() | rng.next();
                    masked(index, mask, value & mask)
                } else {
                    cmp(index, op, value)
                }
            })
            .collect();
        p = p.rule(rule_names, rng.pick(&actions), args);
    }
    p
}

fn random_args(rng: &mut Rng, p: &Policy) -> [u64; 6] {
    // Mostly the policy's own values and their neighbours, so that conditions hold often.
    let values: Vec<u64> = p
        .syscalls
        .iter()
        .flat_map(|r| r.args.iter().map(|a| a.value))
        .collect();
    std::array::from_fn(|_| {
        if values.is_empty() || rng.below(4) == 0 {
            rng.next()
        } else {
            let v = rng.pick(&values);
            v.wrapping_add(rng.below(5)).wrapping_sub(2) ^ (rng.below(2) << 40)
        }
    })
}

#[test]
fn random_policies_decide_as_action_for() {
    let mut rng = Rng::new(0x5eed_1234);
    let all: Vec<&str> = syscalls::all().map(|(n, _)| n).collect();
    for round in 0..300 {
        let names: Vec<&str> = (0..1 + rng.below(12)).map(|_| rng.pick(&all)).collect();
        let rules = 1 + rng.below(10) as usize;
        let p = random_policy(&mut rng, &names, rules);
        let prog = compile(&p);
        for _ in 0..200 {
            let nr = if rng.below(8) == 0 {
                rng.below(480) as u32
            } else {
                syscalls::number(rng.pick(&names)).unwrap()
            };
            let args = random_args(&mut rng, &p);
            assert_eq!(
                run(&prog, &Data::x86_64(nr, args)),
                p.action_for(nr, &args).ret(),
                "round {round}, nr {nr}, args {args:x?}\n{}",
                p.to_json_pretty()
            );
        }
    }
}

/// Programs longer than a conditional jump's reach (255): far targets get a nearby `ret`
/// copy or a `ja`.
#[test]
fn long_programs_still_jump_right() {
    let mut rng = Rng::new(77);
    let all: Vec<&str> = syscalls::all().map(|(n, _)| n).collect();
    let mut long_jumps = 0;
    for size in [40, 120, 200] {
        let p = random_policy(&mut rng, &all, size);
        let prog = compile(&p);
        assert!(prog.len() > 300, "{} instructions", prog.len());
        long_jumps += prog.iter().filter(|i| i.code == 0x05).count();
        for _ in 0..5000 {
            let nr = syscalls::number(rng.pick(&all)).unwrap();
            let args = random_args(&mut rng, &p);
            assert_eq!(
                run(&prog, &Data::x86_64(nr, args)),
                p.action_for(nr, &args).ret()
            );
        }
    }
    assert!(long_jumps > 0, "no `ja` was needed: the test is too small");
    // One syscall with a long chain: the rules' fall-through targets are far apart.
    let mut p = Policy::new(Action::Errno(1));
    for v in 0..200u64 {
        p = p.rule(
            ["socket"],
            Action::Errno(v as u16 + 100),
            vec![cmp(0, CmpOp::Eq, v * 3)],
        );
    }
    let p = p.rule(["socket"], Action::Allow, vec![]);
    let prog = compile(&p);
    assert!(prog.len() > 800);
    for v in 0..620u64 {
        let args = [v, 0, 0, 0, 0, 0];
        assert_eq!(
            run(&prog, &Data::x86_64(SOCKET, args)),
            p.action_for(SOCKET, &args).ret(),
            "{v}"
        );
    }
}

#[test]
fn over_4096_instructions_is_refused() {
    let policy = |n: u64| {
        let mut p = Policy::new(Action::Allow);
        for v in 0..n {
            p = p.rule(["ioctl"], Action::Errno(1), vec![cmp(1, CmpOp::Eq, v)]);
        }
        p
    };
    // Each `eq` is 4 instructions plus the rule's ret: about 5 per rule.
    let ok = policy(700);
    let len = ok.compile_x86_64().unwrap().len();
    assert!(len < 4096, "{len}");
    let Err(e) = policy(1100).compile_x86_64() else {
        panic!("1100 rules compiled")
    };
    assert!(
        e.to_string().starts_with("the compiled program has ")
            && e.to_string()
                .contains("instructions, over the kernel's limit of 4096 (BPF_MAXINSNS)"),
        "{e}"
    );
}

#[test]
fn compile_refuses_other_architectures() {
    let r = Policy::default_judge().compile();
    if cfg!(target_arch = "x86_64") {
        assert_eq!(
            r.unwrap(),
            Policy::default_judge().compile_x86_64().unwrap()
        );
    } else {
        let e = r.unwrap_err();
        assert!(
            e.to_string()
                .starts_with("seccomp policies compile for x86_64 only"),
            "{e}"
        );
    }
}

/// The judge policy's decisions on the calls docs/policy.md talks about, and its cost.
#[test]
fn judge_policy_program() {
    let p = Policy::default_judge();
    let prog = compile(&p);
    let nr = |n: &str| syscalls::number(n).unwrap();
    let at = |name: &str, args: [u64; 6]| run(&prog, &Data::x86_64(nr(name), args));
    let eperm = Action::Errno(1).ret();
    let allow = RET_ALLOW;
    let kill = Action::KillProcess.ret();
    const AT_FDCWD: u64 = (-100i64) as u64;
    for name in [
        "execve",
        "execveat",
        "write",
        "sendto",
        "nanosleep",
        "exit_group",
        "read",
        "mmap",
        "futex",
        "getpid",
    ] {
        assert_eq!(at(name, [0; 6]), allow, "{name}");
    }
    // openat: read-only only.
    let o_cloexec = 0o2000000;
    assert_eq!(at("openat", [AT_FDCWD, 0x1000, o_cloexec, 0, 0, 0]), allow);
    assert_eq!(
        at("openat", [AT_FDCWD, 0x1000, 0o200000 | o_cloexec, 0, 0, 0]),
        allow,
        "O_DIRECTORY"
    );
    for flags in [1, 2, 3, 0o100, 0o1000, 0o101, 0o20200000 | 2] {
        assert_eq!(
            at("openat", [AT_FDCWD, 0x1000, flags, 0, 0, 0]),
            eperm,
            "flags {flags:#o}"
        );
    }
    assert_eq!(at("open", [0x1000, 0, 0, 0, 0, 0]), allow);
    assert_eq!(at("open", [0x1000, 0o1101, 0o644, 0, 0, 0]), eperm);
    assert_eq!(at("openat2", [0; 6]), Action::Errno(38).ret());
    // Threads yes, processes no.
    let thread = 0x3d0f00; // glibc's pthread_create flags
    assert_eq!(at("clone", [thread, 0, 0, 0, 0, 0]), allow);
    assert_eq!(
        at("clone", [0x1200011, 0, 0, 0, 0, 0]),
        kill,
        "fork's flags"
    );
    assert_eq!(at("clone", [0x4111, 0, 0, 0, 0, 0]), kill, "vfork's flags");
    assert_eq!(at("clone3", [0; 6]), Action::Errno(38).ret());
    for name in [
        "fork",
        "vfork",
        "ptrace",
        "mount",
        "bpf",
        "unshare",
        "io_uring_setup",
        "kexec_load",
    ] {
        assert_eq!(at(name, [0; 6]), kill, "{name}");
    }
    // Network: refused, not killed (glibc's NSS probes nscd's socket on its own).
    for name in ["socket", "connect", "bind", "socketpair"] {
        assert_eq!(at(name, [1, 0, 0, 0, 0, 0]), eperm, "{name}");
    }
    // ioctl: terminal queries yes, TIOCSTI no.
    assert_eq!(at("ioctl", [1, 0x5401, 0, 0, 0, 0]), allow, "TCGETS");
    assert_eq!(at("ioctl", [1, 0x5413, 0, 0, 0, 0]), allow, "TIOCGWINSZ");
    assert_eq!(
        at("ioctl", [0, 0x5412, 0, 0, 0, 0]),
        Action::Errno(25).ret(),
        "TIOCSTI"
    );
    assert_eq!(
        at("ioctl", [0, 0x1_0000_5401, 0, 0, 0, 0]),
        Action::Errno(25).ret()
    );
    // prlimit64 on itself only; prctl thread names only.
    assert_eq!(at("prlimit64", [0, 7, 0, 0x1000, 0, 0]), allow);
    assert_eq!(at("prlimit64", [1, 7, 0x1000, 0, 0, 0]), eperm);
    assert_eq!(at("prctl", [15, 0x1000, 0, 0, 0, 0]), allow);
    assert_eq!(at("prctl", [4, 1, 0, 0, 0, 0]), eperm, "PR_SET_DUMPABLE");
    // Unlisted calls: EPERM.
    for name in ["mkdir", "unlink", "kill", "setuid", "chmod", "seccomp"] {
        assert_eq!(at(name, [0; 6]), eperm, "{name}");
    }

    // A binary search: no call takes more than a few dozen instructions.
    let worst = (0..480u32)
        .map(|n| run_counted(&prog, &Data::x86_64(n, [0; 6])).1)
        .max()
        .unwrap();
    assert!(worst <= 40, "worst case {worst} instructions");
    let read = run_counted(&prog, &Data::x86_64(0, [0; 6])).1;
    assert!(read <= 12, "read takes {read}");
    assert!(prog.len() < 400, "{} instructions", prog.len());
}

/// seccompiler builds the same decisions for policies with one action besides the default.
#[test]
fn agrees_with_seccompiler() {
    use seccompiler::{
        BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
        SeccompRule, TargetArch,
    };
    let theirs_action = |a: Action| match a {
        Action::Allow => SeccompAction::Allow,
        Action::Errno(e) => SeccompAction::Errno(u32::from(e)),
        Action::KillProcess => SeccompAction::KillProcess,
        Action::KillThread => SeccompAction::KillThread,
        Action::Trap => SeccompAction::Trap,
        Action::Trace(n) => SeccompAction::Trace(u32::from(n)),
        Action::Log => SeccompAction::Log,
    };
    let mut rng = Rng::new(2024);
    let all: Vec<&str> = syscalls::all().map(|(n, _)| n).collect();
    let mut compared = 0;
    for _ in 0..200 {
        let names: Vec<&str> = (0..1 + rng.below(8)).map(|_| rng.pick(&all)).collect();
        let rules = 1 + rng.below(8) as usize;
        let mut p = random_policy(&mut rng, &names, rules);
        // One match action for every rule, unlike the default.
        let action = p.syscalls.first().map_or(Action::Allow, |r| r.action);
        if action == p.default_action {
            continue;
        }
        for r in &mut p.syscalls {
            r.action = action;
        }
        let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
        let mut unconditional: Vec<i64> = Vec::new();
        for r in &p.syscalls {
            for n in &r.names {
                let nr = i64::from(syscalls::number(n).unwrap());
                let entry = rules.entry(nr).or_default();
                if r.args.is_empty() {
                    unconditional.push(nr);
                    continue;
                }
                let conds = r
                    .args
                    .iter()
                    .map(|a| {
                        let op = match a.op {
                            CmpOp::Eq => SeccompCmpOp::Eq,
                            CmpOp::Ne => SeccompCmpOp::Ne,
                            CmpOp::Lt => SeccompCmpOp::Lt,
                            CmpOp::Le => SeccompCmpOp::Le,
                            CmpOp::Gt => SeccompCmpOp::Gt,
                            CmpOp::Ge => SeccompCmpOp::Ge,
                            CmpOp::MaskedEq => SeccompCmpOp::MaskedEq(a.mask.unwrap()),
                        };
                        SeccompCondition::new(a.index, SeccompCmpArgLen::Qword, op, a.value)
                            .unwrap()
                    })
                    .collect();
                entry.push(SeccompRule::new(conds).unwrap());
            }
        }
        // seccompiler: an empty rule list means "any arguments".
        for nr in unconditional {
            rules.insert(nr, Vec::new());
        }
        let filter = SeccompFilter::new(
            rules,
            theirs_action(p.default_action),
            theirs_action(action),
            TargetArch::x86_64,
        )
        .unwrap();
        let theirs: BpfProgram = filter.try_into().unwrap();
        let theirs: Vec<forkexec_client::SockFilter> = theirs
            .iter()
            .map(|i| forkexec_client::SockFilter::jump(i.code, i.k, i.jt, i.jf))
            .collect();
        let ours = compile(&p);
        for _ in 0..300 {
            let nr = if rng.below(6) == 0 {
                rng.below(480) as u32
            } else {
                syscalls::number(rng.pick(&names)).unwrap()
            };
            let args = random_args(&mut rng, &p);
            let d = Data::x86_64(nr, args);
            assert_eq!(
                run(&ours, &d),
                run(&theirs, &d),
                "nr {nr} args {args:x?}\n{}",
                p.to_json_pretty()
            );
            compared += 1;
        }
        // Both kill a foreign architecture.
        let d = Data {
            arch: AUDIT_ARCH_AARCH64,
            ..Data::x86_64(0, [0; 6])
        };
        assert_eq!(run(&ours, &d), run(&theirs, &d));
    }
    assert!(compared > 20_000, "{compared}");
}

#[test]
fn syscall_table_matches_libc() {
    for &(name, nr) in tables::LIBC_SYSCALLS {
        assert_eq!(syscalls::number(name), Some(nr as u32), "{name}");
        assert_eq!(syscalls::name(nr as u32), Some(name), "{nr}");
    }
    // The table: unique names and numbers, in order, all below the x32 bit.
    let all: Vec<(&str, u32)> = syscalls::all().collect();
    assert!(all.windows(2).all(|w| w[0].1 < w[1].1));
    let mut names: Vec<&str> = all.iter().map(|(n, _)| *n).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), all.len());
    assert!(all.len() >= tables::LIBC_SYSCALLS.len());
    assert_eq!(all.last(), Some(&("listns", 470)));
    assert!(all.iter().all(|&(_, nr)| nr < X32_SYSCALL_BIT));
}

#[test]
fn errno_table_matches_libc() {
    for &(name, value) in tables::LIBC_ERRNO {
        assert_eq!(
            forkexec_policy::errno::number(name),
            Some(value as u16),
            "{name}"
        );
    }
    assert_eq!(
        forkexec_policy::errno::all().count(),
        tables::LIBC_ERRNO.len()
    );
    assert_eq!(forkexec_policy::errno::name(11), Some("EAGAIN"));
    assert_eq!(forkexec_policy::errno::name(95), Some("EOPNOTSUPP"));
}
