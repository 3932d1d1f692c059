//! The LANDLOCK, LANDLOCK_PATH and LANDLOCK_PORT records (docs/spec.md, "22 LANDLOCK,
//! 23 LANDLOCK_PATH, 24 LANDLOCK_PORT"): the writer's records decode to the fields given, and
//! every refusal the section lists comes with its exact fault and offset; the ABI each right
//! came with is the kernel's (landlock(7)).

use forkexec_spec::decode::{decode, Fault, Landlock, Spec, SpecError};
use forkexec_spec::layout::{landlock, limit, record, LANDLOCK_LEN, LANDLOCK_PORT_LEN};
use forkexec_spec::tables::{landlock_fs as fs, landlock_net as net, landlock_scope as scope};
use forkexec_testkit::wire::{build, build_at, s, W};

fn base(w: &mut W) {
    w.args(s(&["/bin/true"]));
}

/// ARGS, then a ruleset handling every right and scope.
fn ruleset(w: &mut W) {
    base(w);
    w.landlock(fs::KNOWN, net::KNOWN, scope::KNOWN, 0);
}

#[track_caller]
fn accepted(buf: &[u8]) -> Spec<'_> {
    match decode(buf) {
        Ok(spec) => spec,
        Err(e) => panic!("refused ({e}): {e:?}"),
    }
}

/// `buf` is refused with exactly this fault at exactly this offset.
#[track_caller]
fn refused(buf: &[u8], offset: usize, fault: Fault) {
    assert_eq!(
        decode(buf).map(|_| ()),
        Err(SpecError {
            offset: offset as u32,
            fault
        })
    );
}

/// `base`, then the record written by `extra`: refused with `fault` at its record offset R
/// plus `from_r` (R + 4 is its length field, R + 8 its payload P).
#[track_caller]
fn refused_at(prefix: fn(&mut W), extra: impl FnOnce(&mut W), from_r: usize, fault: Fault) {
    let (buf, r) = build_at(prefix, extra);
    refused(&buf, r + from_r, fault);
}

const P: usize = 8;

#[test]
fn the_records_decode_to_the_fields_written() {
    let buf = build(|w| {
        base(w);
        w.landlock(
            fs::READ_FILE | fs::READ_DIR | fs::EXECUTE,
            net::CONNECT_TCP,
            scope::SIGNAL,
            landlock::EXACT,
        );
        w.landlock_path(fs::READ_FILE | fs::READ_DIR, b"/usr");
        w.landlock_path(fs::EXECUTE, b"/bin/sh");
        w.landlock_port(net::CONNECT_TCP, 443);
        w.landlock_port(net::CONNECT_TCP, 65_535);
    });
    let spec = accepted(&buf);
    assert_eq!(
        spec.landlock,
        Some(Landlock {
            handled_fs: fs::READ_FILE | fs::READ_DIR | fs::EXECUTE,
            handled_net: net::CONNECT_TCP,
            scoped: scope::SIGNAL,
            flags: landlock::EXACT,
        })
    );
    // Each rule's `at` is its payload's offset: the record's type is 8 bytes before it.
    let mut paths = Vec::new();
    for rule in &spec.landlock_paths {
        let at = rule.at as usize;
        assert_eq!(buf[at - P..at - P + 2], record::LANDLOCK_PATH.to_le_bytes());
        assert_eq!(buf[at..at + 8], rule.access.to_le_bytes());
        paths.push((rule.access, rule.path.to_bytes()));
    }
    assert_eq!(
        paths,
        [
            (fs::READ_FILE | fs::READ_DIR, &b"/usr"[..]),
            (fs::EXECUTE, b"/bin/sh")
        ]
    );
    let mut ports = Vec::new();
    for rule in &spec.landlock_ports {
        let at = rule.at as usize;
        assert_eq!(buf[at - P..at - P + 2], record::LANDLOCK_PORT.to_le_bytes());
        ports.push((rule.access, rule.port));
    }
    assert_eq!(ports, [(net::CONNECT_TCP, 443), (net::CONNECT_TCP, 65_535)]);
    // Without the records: no ruleset, no rules.
    let plain = build(base);
    let spec = accepted(&plain);
    assert_eq!(spec.landlock, None);
    assert!(spec.landlock_paths.is_empty() && spec.landlock_ports.is_empty());
}

/// A ruleset that handles any one kind of thing is enough; nothing at all is BadValue @P.
#[test]
fn a_ruleset_handles_something() {
    for (fs_, net_, scope_) in [
        (fs::EXECUTE, 0, 0),
        (0, net::BIND_TCP, 0),
        (0, 0, scope::ABSTRACT_UNIX_SOCKET),
    ] {
        accepted(&build(|w| {
            base(w);
            w.landlock(fs_, net_, scope_, 0);
        }));
    }
    for flags in [0, landlock::EXACT] {
        refused_at(base, |w| w.landlock(0, 0, 0, flags), P, Fault::BadValue);
    }
}

/// LANDLOCK is exactly 28 bytes (BadRecordLength @R+4); a bit no table names is UnknownBits
/// at its own field.
#[test]
fn landlock_record_refusals() {
    let whole = [0xffu8; LANDLOCK_LEN + 1];
    for len in [0, LANDLOCK_LEN - 1, LANDLOCK_LEN + 1] {
        refused_at(
            base,
            |w| w.record(record::LANDLOCK, 0, &[&whole[..len]]),
            4,
            Fault::BadRecordLength,
        );
    }
    let cases: [((u64, u64, u64, u32), usize); 4] = [
        ((fs::KNOWN + 1, net::KNOWN, scope::KNOWN, 0), 0),
        ((fs::KNOWN, net::KNOWN + 1, scope::KNOWN, 0), 8),
        ((fs::KNOWN, net::KNOWN, scope::KNOWN + 1, 0), 16),
        (
            (
                fs::KNOWN,
                net::KNOWN,
                scope::KNOWN,
                landlock::FLAGS_KNOWN + 1,
            ),
            24,
        ),
    ];
    for ((f, n, sc, flags), field) in cases {
        refused_at(
            base,
            |w| w.landlock(f, n, sc, flags),
            P + field,
            Fault::UnknownBits,
        );
    }
    accepted(&build(|w| {
        base(w);
        w.landlock(fs::KNOWN, net::KNOWN, scope::KNOWN, landlock::FLAGS_KNOWN);
    }));
}

#[test]
fn path_rule_refusals() {
    // Shorter than rights and a NUL.
    let short = [0u8; 8];
    for len in [0, 8] {
        refused_at(
            ruleset,
            |w| w.record(record::LANDLOCK_PATH, 0, &[&short[..len]]),
            4,
            Fault::BadRecordLength,
        );
    }
    let unknown = |w: &mut W| w.landlock_path(fs::KNOWN + 1, b"/usr");
    refused_at(ruleset, unknown, P, Fault::UnknownBits);
    refused_at(ruleset, |w| w.landlock_path(0, b"/usr"), P, Fault::BadValue);
    // The path: empty, relative, unterminated, too long: at P + 8 (or where the fault is).
    refused_at(
        ruleset,
        |w| w.landlock_path(fs::READ_FILE, b""),
        P + 8,
        Fault::BadValue,
    );
    refused_at(
        ruleset,
        |w| w.landlock_path(fs::READ_FILE, b"usr"),
        P + 8,
        Fault::BadValue,
    );
    refused_at(
        ruleset,
        |w| {
            w.record(
                record::LANDLOCK_PATH,
                0,
                &[&fs::READ_FILE.to_le_bytes(), b"/usr"],
            )
        },
        P + 8 + 4,
        Fault::Unterminated,
    );
    let long = [b'/'; limit::PATH + 1];
    refused_at(
        ruleset,
        |w| w.landlock_path(fs::READ_FILE, &long),
        P + 8,
        Fault::TooLong,
    );
    accepted(&build(|w| {
        ruleset(w);
        w.landlock_path(fs::READ_FILE, &long[..limit::PATH - 1]);
        w.landlock_path(fs::KNOWN, b"/");
    }));
}

#[test]
fn port_rule_refusals() {
    let bytes = [0u8; LANDLOCK_PORT_LEN + 1];
    for len in [0, LANDLOCK_PORT_LEN - 1, LANDLOCK_PORT_LEN + 1] {
        refused_at(
            ruleset,
            |w| w.record(record::LANDLOCK_PORT, 0, &[&bytes[..len]]),
            4,
            Fault::BadRecordLength,
        );
    }
    refused_at(
        ruleset,
        |w| w.landlock_port(net::KNOWN + 1, 80),
        P,
        Fault::UnknownBits,
    );
    refused_at(ruleset, |w| w.landlock_port(0, 80), P, Fault::BadValue);
    refused_at(
        ruleset,
        |w| w.landlock_port(net::BIND_TCP, 65_536),
        P + 8,
        Fault::BadValue,
    );
    accepted(&build(|w| {
        ruleset(w);
        w.landlock_port(net::KNOWN, 0);
        w.landlock_port(net::BIND_TCP, 65_535);
    }));
}

/// At most `limit::LANDLOCK_RULES` of each: one more is TooMany at its record.
#[test]
fn rules_are_limited() {
    let many_paths = |w: &mut W| {
        ruleset(w);
        for _ in 0..limit::LANDLOCK_RULES {
            w.landlock_path(fs::READ_FILE, b"/usr");
        }
    };
    let spec_bytes = build(many_paths);
    assert_eq!(
        accepted(&spec_bytes).landlock_paths.len(),
        limit::LANDLOCK_RULES
    );
    refused_at(
        many_paths,
        |w| w.landlock_path(fs::READ_FILE, b"/usr"),
        0,
        Fault::TooMany,
    );
    let many_ports = |w: &mut W| {
        ruleset(w);
        for port in 0..limit::LANDLOCK_RULES as u64 {
            w.landlock_port(net::BIND_TCP, port);
        }
    };
    let spec_bytes = build(many_ports);
    assert_eq!(
        accepted(&spec_bytes).landlock_ports.len(),
        limit::LANDLOCK_RULES
    );
    refused_at(
        many_ports,
        |w| w.landlock_port(net::BIND_TCP, 1),
        0,
        Fault::TooMany,
    );
}

/// A rule needs the LANDLOCK record (before or after it), and allows only rights the ruleset
/// handles: Conflict at the rule's payload, found after every record is read.
#[test]
fn a_rule_allows_only_handled_rights() {
    let handles_read = |w: &mut W| {
        base(w);
        w.landlock(fs::READ_FILE | fs::READ_DIR, net::BIND_TCP, 0, 0);
    };
    accepted(&build(|w| {
        handles_read(w);
        w.landlock_path(fs::READ_FILE | fs::READ_DIR, b"/usr");
        w.landlock_port(net::BIND_TCP, 8080);
    }));
    // The ruleset after its rules.
    accepted(&build(|w| {
        base(w);
        w.landlock_path(fs::READ_FILE, b"/usr");
        w.landlock_port(net::BIND_TCP, 8080);
        w.landlock(fs::READ_FILE, net::BIND_TCP, 0, 0);
    }));
    refused_at(
        handles_read,
        |w| w.landlock_path(fs::READ_FILE | fs::EXECUTE, b"/usr"),
        P,
        Fault::Conflict,
    );
    refused_at(
        handles_read,
        |w| w.landlock_port(net::CONNECT_TCP, 80),
        P,
        Fault::Conflict,
    );
    refused_at(
        base,
        |w| w.landlock_path(fs::READ_FILE, b"/usr"),
        P,
        Fault::Conflict,
    );
    refused_at(
        base,
        |w| w.landlock_port(net::BIND_TCP, 80),
        P,
        Fault::Conflict,
    );
}

/// The ABI each right and scope came with (landlock(7)): filesystem rights at 1 but `refer`
/// (2), `truncate` (3) and `ioctl_dev` (5); network rights at 4; scopes at 6.
#[test]
fn what_each_abi_supports() {
    let late = fs::REFER | fs::TRUNCATE | fs::IOCTL_DEV;
    for e in fs::ALL {
        let since = match e.value {
            fs::REFER => 2,
            fs::TRUNCATE => 3,
            fs::IOCTL_DEV => 5,
            _ => 1,
        };
        assert_eq!(landlock::fs_since(e.value), since, "{}", e.name);
    }
    assert_eq!(landlock::fs_supported(0), 0);
    assert_eq!(landlock::fs_supported(1), fs::KNOWN & !late);
    assert_eq!(landlock::fs_supported(2), fs::KNOWN & !late | fs::REFER);
    assert_eq!(
        landlock::fs_supported(3),
        fs::KNOWN & !late | fs::REFER | fs::TRUNCATE
    );
    assert_eq!(landlock::fs_supported(4), landlock::fs_supported(3));
    assert_eq!(landlock::fs_supported(5), fs::KNOWN);
    assert_eq!(landlock::fs_supported(7), fs::KNOWN);
    for abi in 0..=7 {
        let net_ = if abi >= 4 { net::KNOWN } else { 0 };
        let scope_ = if abi >= 6 { scope::KNOWN } else { 0 };
        assert_eq!(landlock::net_supported(abi), net_, "ABI {abi}");
        assert_eq!(landlock::scope_supported(abi), scope_, "ABI {abi}");
    }
}

/// The rights a rule on a file keeps, and the two groups forkexec-run's options name
/// (docs/spec.md): by their names in the table, so a changed constant shows.
#[test]
fn the_named_groups_of_rights() {
    let named = |names: &[&str]| -> u64 {
        names
            .iter()
            .map(|n| fs::ALL.iter().find(|e| e.name == *n).unwrap().value)
            .fold(0, |a, b| a | b)
    };
    assert_eq!(
        landlock::FS_FILE,
        named(&[
            "execute",
            "write_file",
            "read_file",
            "truncate",
            "ioctl_dev"
        ])
    );
    assert_eq!(landlock::FS_READ, named(&["read_file", "read_dir"]));
    let all: Vec<&str> = fs::ALL.iter().map(|e| e.name).collect();
    let write: Vec<&str> = all
        .iter()
        .copied()
        .filter(|n| !["execute", "read_file", "read_dir"].contains(n))
        .collect();
    assert_eq!(landlock::FS_WRITE, named(&write));
    assert_eq!(landlock::FLAGS_KNOWN, landlock::EXACT);
    assert_eq!(landlock::EXACT, 1, "bit 0");
}
