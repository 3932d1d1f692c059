//! The JSON form: what parses, what each error says and where.

use forkexec_policy::{Action, ArgCmp, CmpOp, Policy, PolicyError};

fn err(json: &str) -> PolicyError {
    Policy::from_json(json).expect_err("should be refused")
}

/// A policy with one rule whose body is `rule` (a JSON object's inside).
fn one_rule(rule: &str) -> String {
    format!(r#"{{"default_action": "allow", "syscalls": [{{{rule}}}]}}"#)
}

#[test]
fn a_complete_policy_parses() {
    let p = Policy::from_json(
        r#"{
          "comment": "every field",
          "default_action": {"errno": "EPERM"},
          "syscalls": [
            {"comment": "c", "names": ["read", "write"], "action": "allow"},
            {"names": ["getppid"], "action": {"errno": 13}},
            {"names": ["getpid"], "action": "kill_process"},
            {"names": ["gettid"], "action": "kill_thread"},
            {"names": ["getuid"], "action": "trap"},
            {"names": ["getgid"], "action": {"trace": 7}},
            {"names": ["geteuid"], "action": "trace"},
            {"names": ["getegid"], "action": "log"},
            {"names": ["socket"], "action": "allow", "args": [
              {"index": 0, "op": "eq", "value": 1},
              {"index": 1, "op": "ne", "value": "0x3"},
              {"index": 2, "op": "lt", "value": "0o10"},
              {"index": 3, "op": "le", "value": "0b11"},
              {"index": 4, "op": "gt", "value": -100},
              {"index": 5, "op": "ge", "value": 18446744073709551615},
              {"index": 0, "op": "masked_eq", "mask": "0xff", "value": 1}
            ]}
          ]
        }"#,
    )
    .unwrap();
    assert_eq!(p.comment.as_deref(), Some("every field"));
    assert_eq!(p.default_action, Action::Errno(1));
    let actions: Vec<Action> = p.syscalls.iter().map(|r| r.action).collect();
    assert_eq!(
        actions,
        [
            Action::Allow,
            Action::Errno(13),
            Action::KillProcess,
            Action::KillThread,
            Action::Trap,
            Action::Trace(7),
            Action::Trace(0),
            Action::Log,
            Action::Allow
        ]
    );
    let args = &p.syscalls[8].args;
    assert_eq!(
        args.iter()
            .map(|a| (a.index, a.op, a.value))
            .collect::<Vec<_>>(),
        [
            (0, CmpOp::Eq, 1),
            (1, CmpOp::Ne, 3),
            (2, CmpOp::Lt, 8),
            (3, CmpOp::Le, 3),
            (4, CmpOp::Gt, (-100i64) as u64),
            (5, CmpOp::Ge, u64::MAX),
            (0, CmpOp::MaskedEq, 1),
        ]
    );
    assert_eq!(args[6].mask, Some(0xff));
    assert_eq!(args[0].mask, None);
}

#[test]
fn serializes_back_to_the_same_policy() {
    let judge = Policy::default_judge();
    let again = Policy::from_json(&judge.to_json_pretty()).unwrap();
    assert_eq!(again, judge);
    let p = Policy::new(Action::Errno(4000))
        .rule(["getpid"], Action::Trace(3), vec![])
        .rule(
            ["socket"],
            Action::Errno(97),
            vec![ArgCmp {
                index: 0,
                op: CmpOp::MaskedEq,
                value: 2,
                mask: Some(0xff),
            }],
        );
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(
        json,
        r#"{"default_action":{"errno":4000},"syscalls":[{"names":["getpid"],"action":{"trace":3}},{"names":["socket"],"action":{"errno":"EAFNOSUPPORT"},"args":[{"index":0,"op":"masked_eq","value":2,"mask":255}]}]}"#
    );
    assert_eq!(Policy::from_json(&json).unwrap(), p);
}

#[test]
fn errno_by_name_or_number() {
    for (text, want) in [
        ("\"EPERM\"", 1),
        ("\"EACCES\"", 13),
        ("\"ENOSYS\"", 38),
        ("\"EWOULDBLOCK\"", 11),
        ("\"ENOTSUP\"", 95),
        ("\"EHWPOISON\"", 133),
        ("0", 0),
        ("4095", 4095),
    ] {
        let p = Policy::from_json(&format!(r#"{{"default_action": {{"errno": {text}}}}}"#))
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(p.default_action, Action::Errno(want), "{text}");
    }
}

#[test]
fn unknown_key_names_its_path() {
    let e = err(r#"{"default_action": "allow", "sycalls": []}"#);
    assert_eq!(e.path(), "sycalls");
    assert!(
        e.message().starts_with(
            "unknown field `sycalls`, expected one of `comment`, `default_action`, `syscalls`"
        ),
        "{e}"
    );

    let e = err(&one_rule(
        r#""names": ["read"], "action": "allow", "arg": []"#,
    ));
    assert_eq!(e.path(), "syscalls[0].arg", "{e}");
    assert!(e.to_string().starts_with("syscalls[0].arg: unknown field `arg`, expected one of `comment`, `names`, `action`, `args`"), "{e}");

    let e = err(&one_rule(
        r#""names": ["read"], "action": "allow", "args": [{"index": 0, "op": "eq", "value": 1, "valu": 2}]"#,
    ));
    assert_eq!(e.path(), "syscalls[0].args[0].valu", "{e}");

    let e = err(r#"{"syscalls": []}"#);
    assert!(
        e.message().starts_with("missing field `default_action`"),
        "{e}"
    );
    assert_eq!(e.to_string().lines().count(), 1);
}

#[test]
fn unknown_syscall_lists_close_names() {
    let e = err(&one_rule(r#""names": ["read", "opne"], "action": "allow""#));
    assert_eq!(e.path(), "syscalls[0].names[1]");
    assert_eq!(
        e.to_string(),
        "syscalls[0].names[1]: unknown syscall \"opne\" for x86_64; close names: open"
    );
    let e = err(&one_rule(r#""names": ["fstatat"], "action": "allow""#));
    assert!(
        e.message()
            .ends_with("close names: fstat, fstatfs, newfstatat"),
        "{e}"
    );
    let e = err(&one_rule(r#""names": ["xyzzyplugh"], "action": "allow""#));
    assert!(e.message().contains("names as in <asm/unistd_64.h>"), "{e}");
    // Names of other architectures are not x86_64's.
    let e = err(&one_rule(r#""names": ["fstatat64"], "action": "allow""#));
    assert!(
        e.message()
            .starts_with("unknown syscall \"fstatat64\" for x86_64"),
        "{e}"
    );
}

#[test]
fn bad_actions_list_the_valid_ones() {
    let e = err(r#"{"default_action": "alow"}"#);
    assert_eq!(e.path(), "default_action");
    assert!(e.message().starts_with(
        "unknown action \"alow\" (close: allow); valid actions: \"allow\", {\"errno\": N}, \"kill_process\", \"kill_thread\", \"trap\", {\"trace\": N}, \"log\""
    ), "{e}");

    let e = err(&one_rule(r#""names": ["read"], "action": "kill""#));
    assert_eq!(e.path(), "syscalls[0].action");
    assert!(
        e.message()
            .contains("say \"kill_process\" or \"kill_thread\""),
        "{e}"
    );

    let e = err(&one_rule(r#""names": ["read"], "action": "errno""#));
    assert!(
        e.message().starts_with("action \"errno\" needs its value"),
        "{e}"
    );

    let e = err(&one_rule(r#""names": ["read"], "action": {"erno": 1}"#));
    assert!(
        e.message()
            .starts_with("unknown action \"erno\" (close: errno)"),
        "{e}"
    );

    let e = err(&one_rule(
        r#""names": ["read"], "action": {"errno": 1, "trace": 2}"#,
    ));
    assert!(
        e.message().starts_with("an action object has one key"),
        "{e}"
    );

    let e = err(&one_rule(r#""names": ["read"], "action": {}"#));
    assert!(
        e.message().starts_with("an action object has one key"),
        "{e}"
    );

    let e = err(&one_rule(r#""names": ["read"], "action": 3"#));
    assert!(
        e.message()
            .starts_with("invalid type: integer `3`, expected an action"),
        "{e}"
    );
}

#[test]
fn bad_errno_values() {
    let e = err(r#"{"default_action": {"errno": "EPREM"}}"#);
    assert_eq!(e.path(), "default_action.errno");
    assert!(
        e.message()
            .starts_with("unknown errno name \"EPREM\"; close names: EPERM"),
        "{e}"
    );
    let e = err(r#"{"default_action": {"errno": 4096}}"#);
    assert!(
        e.message()
            .starts_with("errno 4096 is out of range: 0 to 4095"),
        "{e}"
    );
    let e = err(r#"{"default_action": {"errno": -1}}"#);
    assert!(e.message().starts_with("errno -1 is out of range"), "{e}");
    let e = err(r#"{"default_action": {"trace": 65536}}"#);
    assert_eq!(e.path(), "default_action.trace");
}

#[test]
fn bad_op_lists_the_valid_ones() {
    let e = err(&one_rule(
        r#""names": ["read"], "action": "allow", "args": [{"index": 0, "op": "equals", "value": 1}]"#,
    ));
    assert_eq!(e.path(), "syscalls[0].args[0].op");
    assert!(
        e.message().starts_with(
            "unknown variant `equals`, expected one of `eq`, `ne`, `lt`, `le`, `gt`, `ge`, `masked_eq`"
        ),
        "{e}"
    );
}

#[test]
fn argument_index_is_0_to_5() {
    for bad in ["6", "300", "-1"] {
        let e = err(&one_rule(&format!(
            r#""names": ["read"], "action": "allow", "args": [{{"index": {bad}, "op": "eq", "value": 1}}]"#
        )));
        assert_eq!(e.path(), "syscalls[0].args[0].index", "{bad}: {e}");
    }
    let e = err(&one_rule(
        r#""names": ["read"], "action": "allow", "args": [{"index": 6, "op": "eq", "value": 1}]"#,
    ));
    assert!(
        e.message()
            .starts_with("argument index 6 is out of range: a system call has arguments 0 to 5"),
        "{e}"
    );

    // The same check for a policy built in code.
    let p = Policy::new(Action::Allow).rule(
        ["read"],
        Action::Log,
        vec![ArgCmp {
            index: 6,
            op: CmpOp::Eq,
            value: 0,
            mask: None,
        }],
    );
    let e = p.compile_x86_64().unwrap_err();
    assert_eq!(e.path(), "syscalls[0].args[0].index");
}

#[test]
fn masks_and_values() {
    let e = err(&one_rule(
        r#""names": ["read"], "action": "allow", "args": [{"index": 0, "op": "masked_eq", "value": 1}]"#,
    ));
    assert_eq!(
        e.to_string(),
        "syscalls[0].args[0]: op \"masked_eq\" needs a \"mask\""
    );
    let e = err(&one_rule(
        r#""names": ["read"], "action": "allow", "args": [{"index": 0, "op": "eq", "value": 1, "mask": 3}]"#,
    ));
    assert_eq!(
        e.to_string(),
        "syscalls[0].args[0].mask: \"mask\" goes with op \"masked_eq\" only"
    );
    let e = err(&one_rule(
        r#""names": ["read"], "action": "allow", "args": [{"index": 0, "op": "masked_eq", "mask": "0xf0", "value": 1}]"#,
    ));
    assert_eq!(
        e.to_string(),
        "syscalls[0].args[0].value: value 0x1 has bits outside the mask 0xf0: (arg & mask) can never equal it"
    );
    let e = err(&one_rule(
        r#""names": ["read"], "action": "allow", "args": [{"index": 0, "op": "eq", "value": "0xzz"}]"#,
    ));
    assert_eq!(e.path(), "syscalls[0].args[0].value");
    assert!(e.message().starts_with("\"0xzz\" is not a number"), "{e}");
    let e = err(&one_rule(
        r#""names": ["read"], "action": "allow", "args": [{"index": 0, "op": "eq", "value": 1.5}]"#,
    ));
    assert_eq!(e.path(), "syscalls[0].args[0].value");
}

#[test]
fn rules_that_could_never_apply_are_refused() {
    // An unconditional rule decides; a later rule for the same call is dead.
    let e = err(r#"{"default_action": "allow", "syscalls": [
            {"names": ["read", "socket"], "action": "allow"},
            {"names": ["socket"], "action": "kill_process"}]}"#);
    assert_eq!(
        e.to_string(),
        "syscalls[1].names[0]: this rule could never apply to \"socket\": syscalls[0] already decides it without argument conditions"
    );
    let e = err(&one_rule(
        r#""names": ["read", "write", "read"], "action": "allow""#,
    ));
    assert_eq!(
        e.to_string(),
        "syscalls[0].names[2]: \"read\" is named twice in this rule"
    );
    let e = err(&one_rule(r#""names": [], "action": "allow""#));
    assert_eq!(e.path(), "syscalls[0].names");

    // Conditional rules first, then a catch-all, with different actions: fine.
    Policy::from_json(
        r#"{"default_action": "allow", "syscalls": [
            {"names": ["socket"], "action": "allow", "args": [{"index": 0, "op": "eq", "value": 1}]},
            {"names": ["socket"], "action": {"errno": "EACCES"}, "args": [{"index": 0, "op": "eq", "value": 2}]},
            {"names": ["socket"], "action": "kill_process"}]}"#,
    )
    .unwrap();
}

#[test]
fn syntax_errors_and_trailing_text() {
    let e = err(r#"{"default_action": "allow""#);
    assert!(e.message().contains("EOF while parsing"), "{e}");
    let e = err(r#"{"default_action": "allow"} x"#);
    assert!(e.message().starts_with("trailing characters"), "{e}");
}

#[test]
fn from_file_names_the_file() {
    let dir = std::env::temp_dir().join(format!("forkexec-policy-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.json");
    std::fs::write(&path, r#"{"default_action": {"errno": "EPREM"}}"#).unwrap();
    let e = Policy::from_file(&path).unwrap_err();
    assert_eq!(e.file(), Some(path.as_path()));
    assert!(
        e.to_string().starts_with(&format!(
            "{}: default_action.errno: unknown errno name",
            path.display()
        )),
        "{e}"
    );
    let good = dir.join("good.json");
    std::fs::write(&good, forkexec_policy::JUDGE_JSON).unwrap();
    assert_eq!(Policy::from_file(&good).unwrap(), Policy::default_judge());
    let missing = dir.join("missing.json");
    let e = Policy::from_file(&missing).unwrap_err();
    assert!(e.to_string().contains("cannot read the policy"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();

    // The shipped file itself, by path.
    let shipped =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/judge.json");
    if shipped.exists() {
        assert_eq!(
            Policy::from_file(&shipped).unwrap(),
            Policy::default_judge()
        );
    }
}

#[test]
fn judge_policy_keeps_what_the_helper_needs() {
    let judge = Policy::default_judge();
    assert_eq!(judge.helper_warnings(), Vec::<String>::new());
    assert_eq!(judge.default_action, Action::Errno(1));

    let strict = Policy::from_json(r#"{"default_action": "kill_process", "syscalls": [
        {"names": ["execve", "write"], "action": "allow"},
        {"names": ["sendto"], "action": "allow", "args": [{"index": 3, "op": "eq", "value": 16384}]}]}"#)
    .unwrap();
    let w = strict.helper_warnings();
    assert_eq!(w.len(), 3, "{w:?}");
    assert!(
        w[0].starts_with("exit_group is not always allowed"),
        "{w:?}"
    );
    assert!(w[1].starts_with("sendto is not always allowed"), "{w:?}");
    assert!(w[2].starts_with("nanosleep is not always allowed"), "{w:?}");
    let none = Policy::new(Action::Errno(1));
    assert!(none.helper_warnings()[0].starts_with("neither execve nor execveat"));
}

#[test]
fn action_for_is_first_match() {
    let p = Policy::from_json(
        r#"{"default_action": {"errno": 1}, "syscalls": [
            {"names": ["socket"], "action": "allow", "args": [{"index": 0, "op": "eq", "value": 1}]},
            {"names": ["socket"], "action": {"errno": 97}, "args": [{"index": 0, "op": "lt", "value": 10}]},
            {"names": ["socket"], "action": "kill_process"}]}"#,
    )
    .unwrap();
    let socket = 41;
    assert_eq!(p.action_for(socket, &[1, 0, 0, 0, 0, 0]), Action::Allow);
    assert_eq!(p.action_for(socket, &[2, 0, 0, 0, 0, 0]), Action::Errno(97));
    assert_eq!(
        p.action_for(socket, &[10, 0, 0, 0, 0, 0]),
        Action::KillProcess
    );
    assert_eq!(p.action_for(0, &[0; 6]), Action::Errno(1));
    assert_eq!(Action::Errno(1).to_string(), "errno EPERM");
    assert_eq!(Action::Errno(4000).to_string(), "errno 4000");
}
