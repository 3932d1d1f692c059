//! Faults and error locations: numbers, names, round trips.

use super::*;

// ---------------------------------------------------------------------------------------------
// faults and locations

const ALL_FAULTS: [(u32, Fault, i32); 17] = [
    (1, Fault::Truncated, 22),
    (2, Fault::BadMagic, 22),
    (3, Fault::BadVersion, 22),
    (4, Fault::BadTotalLength, 22),
    (5, Fault::UnknownRecord, 22),
    (6, Fault::DuplicateRecord, 22),
    (7, Fault::BadRecordLength, 22),
    (8, Fault::Unterminated, 22),
    (9, Fault::InteriorNul, 22),
    (10, Fault::TooLong, 7),
    (11, Fault::TooMany, 7),
    (12, Fault::FdOutOfRange, 9),
    (13, Fault::UnknownBits, 22),
    (14, Fault::BadValue, 22),
    (15, Fault::MissingArgs, 22),
    (16, Fault::Conflict, 22),
    (17, Fault::NeedsCloneShape, 95),
];

#[test]
fn faults_numbers_and_errnos() {
    let mut described = std::collections::HashSet::new();
    for (n, fault, errno) in ALL_FAULTS {
        assert_eq!(fault as u32, n);
        assert_eq!(Fault::from_u32(n), Some(fault));
        assert_eq!(fault.errno(), errno, "{fault:?}");
        assert!(described.insert(fault.describe()));
    }
    for n in [0, 18, 100, u32::MAX] {
        assert_eq!(Fault::from_u32(n), None);
    }
    let e = SpecError {
        offset: 42,
        fault: Fault::FdOutOfRange,
    };
    assert_eq!(e.to_string(), "fd out of range at byte 42");
}

const GO_SANDBOX_NAMES: [&str; 32] = [
    "clone",
    "close_write",
    "unshare_user_read",
    "getpid",
    "keep_capability",
    "setgroups",
    "setgid",
    "setuid",
    "dup3",
    "fcntl",
    "setsid",
    "ioctl",
    "mount(root)",
    "mount(tmpfs)",
    "mount(chdir)",
    "mount",
    "mount(mkdir)",
    "pivot_root",
    "umount",
    "unlink",
    "mount(readonly)",
    "chdir",
    "setrlimt", // go-sandbox's spelling; forkexec says "setrlimit"
    "set_no_new_privs",
    "drop_capability",
    "set_cap",
    "ptrace_me",
    "stop",
    "seccomp",
    "sync_write",
    "sync_read",
    "execve",
];

#[test]
fn locations_1_to_32_are_go_sandboxs() {
    for (i, go_name) in GO_SANDBOX_NAMES.iter().enumerate() {
        let n = i as u32 + 1;
        let loc = Location::from_u32(n).unwrap();
        let expected = if *go_name == "setrlimt" {
            "setrlimit"
        } else {
            go_name
        };
        assert_eq!(loc.name(), expected, "location {n}");
        assert_eq!(loc.to_string(), expected);
    }
}

#[test]
fn every_location_round_trips() {
    // 1-50 without a gap; numbers after that are handed out in ranges, so a range may be
    // partly used (the gaps are unknown locations).
    assert_eq!(Location::ALL[49] as u32, 50);
    let mut names = std::collections::HashSet::new();
    let mut last = 0;
    for &loc in Location::ALL {
        let n = loc as u32;
        assert!(n > last, "ALL in ascending order");
        for gap in last + 1..n {
            assert_eq!(Location::from_u32(gap), None);
        }
        last = n;
        assert_eq!(Location::from_u32(n), Some(loc));
        assert!(names.insert(loc.name()), "duplicate name {}", loc.name());
    }
    assert_eq!(Location::from_u32(0), None);
    assert_eq!(Location::from_u32(last + 1), None);
    assert_eq!(Location::from_u32(u32::MAX), None);
    let own = [
        (33, "spec_read"),
        (34, "spec"),
        (35, "unshare"),
        (36, "write_setgroups"),
        (37, "write_uid_map"),
        (38, "write_gid_map"),
        (39, "sethostname"),
        (40, "setdomainname"),
        (41, "close_range"),
        (42, "get_cap"),
        (43, "cgroup"),
        (44, "pdeathsig"),
        (45, "supervise"),
        (46, "privileged_install"),
        (47, "set_dumpable"),
        (48, "mount(path)"),
        (49, "mount(source)"),
        (50, "keyring"),
        (51, "landlock"),
        (52, "landlock(path)"),
        (53, "landlock(port)"),
        (60, "setns"),
        (61, "info_fd"),
        (64, "serve"),
        (65, "serve_fds"),
    ];
    for (n, name) in own {
        assert_eq!(Location::from_u32(n).unwrap().name(), name);
    }
}
