//! Refusals of single fields: strings, counts, fds, unknown bits, bad values.

use super::*;

// ---------------------------------------------------------------------------------------------
// strings

const SINGLE_STRING_TYPES: [u16; 5] = [
    record::EXEC_PATH,
    record::WORK_DIR,
    record::PIVOT_ROOT,
    record::HOST_NAME,
    record::DOMAIN_NAME,
];

#[test]
fn unterminated_single_strings() {
    for ty in SINGLE_STRING_TYPES {
        let (buf, at) = base_and(ty, 0, b"/abc");
        refused(&buf, at + 8 + 4, Fault::Unterminated);
        let (buf, at) = base_and(ty, 0, b"");
        refused(&buf, at + 8, Fault::Unterminated);
    }
}

#[test]
fn unterminated_string_lists() {
    for ty in [record::ARGS, record::ENV] {
        let prefix = |w: &mut W| {
            if ty == record::ENV {
                base(w);
            }
        };
        for payload in [&b"a\0b"[..], b"abc", b"\0\0x"] {
            let (buf, at) = build_at(prefix, |w| w.record(ty, 0, &[payload]));
            refused(&buf, at + 8 + payload.len(), Fault::Unterminated);
        }
    }
}

#[test]
fn unterminated_mount_strings() {
    let fixed = [0u8; layout::MOUNT_FIXED_LEN];
    for strings in [&b""[..], b"src", b"src\0", b"src\0tgt\0", b"s\0t\0fs\0data"] {
        let (buf, at) = base_and(record::MOUNT, 0, &[&fixed[..], strings].concat());
        refused(
            &buf,
            at + 8 + layout::MOUNT_FIXED_LEN + strings.len(),
            Fault::Unterminated,
        );
    }
}

#[test]
fn interior_nul_in_single_strings() {
    for ty in SINGLE_STRING_TYPES {
        let (buf, at) = base_and(ty, 0, b"/a\0b\0");
        refused(&buf, at + 8 + 2, Fault::InteriorNul);
        let (buf, at) = base_and(ty, 0, b"\0\0");
        refused(&buf, at + 8, Fault::InteriorNul);
        let (buf, at) = base_and(ty, 0, b"/ab\0\0");
        refused(&buf, at + 8 + 3, Fault::InteriorNul);
    }
}

#[test]
fn over_long_strings() {
    let string = |n: usize| {
        let mut p = vec![b'a'; n];
        p[0] = b'/';
        p.push(0);
        p
    };
    for ty in [record::EXEC_PATH, record::WORK_DIR, record::PIVOT_ROOT] {
        let (buf, at) = base_and(ty, 0, &string(limit::PATH));
        refused(&buf, at + 8, Fault::TooLong);
        let (buf, at) = base_and(ty, 0, &string(100_000));
        refused(&buf, at + 8, Fault::TooLong);
    }
    for ty in [record::HOST_NAME, record::DOMAIN_NAME] {
        let (buf, at) = base_and(ty, 0, &string(limit::UTS_NAME + 1));
        refused(&buf, at + 8, Fault::TooLong);
    }
    // Mount strings: refused at the start of the string that is too long.
    let path = |n: usize| vec![b'p'; n];
    let long_path = path(limit::PATH);
    let long_fstype = path(limit::FSTYPE);
    let long_data = path(limit::MOUNT_DATA);
    // (source, target, fstype, data, offset of the long string within the strings)
    type Case<'a> = (&'a [u8], &'a [u8], &'a [u8], &'a [u8], usize);
    let cases: [Case; 4] = [
        (&long_path, b"t", b"", b"", 0),
        (b"s", &long_path, b"", b"", 2),
        (b"s", b"t", &long_fstype, b"", 4),
        (b"s", b"t", b"f", &long_data, 6),
    ];
    for (src, tgt, fstype, data, string_at) in cases {
        let (buf, at) = build_at(
            |w| {
                base(w);
                w.clone_flags(ns::NEWNS);
            },
            |w| w.raw_mount(0, 0, src, tgt, fstype, data),
        );
        refused(
            &buf,
            at + 8 + layout::MOUNT_FIXED_LEN + string_at,
            Fault::TooLong,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// counts

#[test]
fn too_many_args_and_env() {
    let (buf, at) = build_at(|_| {}, |w| w.args((0..=limit::ARGS).map(|_| &b"a"[..])));
    refused(&buf, at + 8, Fault::TooMany);
    let (buf, at) = build_at(base, |w| w.env((0..=limit::ENV).map(|_| &b""[..])));
    refused(&buf, at + 8, Fault::TooMany);
}

#[test]
fn too_many_files_and_seccomp_insns() {
    let (buf, at) = build_at(base, |w| w.files(&vec![0; limit::FILES + 1]));
    refused(&buf, at + 8, Fault::TooMany);
    let (buf, at) = build_at(base, |w| {
        w.seccomp((0..=limit::SECCOMP_INSNS).map(|_| (6, 0, 0, 0)))
    });
    refused(&buf, at + 8, Fault::TooMany);
}

#[test]
fn too_many_rlimits_seccomp_programs_and_mounts() {
    let (buf, at) = build_at(
        |w| {
            base(w);
            for r in 0..limit::RLIMITS as u32 {
                w.limit(r, 0, 0);
            }
        },
        |w| w.limit(0, 0, 0),
    );
    refused(&buf, at, Fault::TooMany);
    let (buf, at) = build_at(
        |w| {
            base(w);
            for _ in 0..limit::SECCOMP_PROGRAMS {
                w.seccomp([(6, 0, 0, 0)]);
            }
        },
        |w| w.seccomp([(6, 0, 0, 0)]),
    );
    refused(&buf, at, Fault::TooMany);
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.clone_flags(ns::NEWNS);
            for _ in 0..limit::MOUNTS {
                w.raw_mount(0, 0, b"", b"m", b"", b"");
            }
        },
        |w| w.raw_mount(0, 0, b"", b"m", b"", b""),
    );
    refused(&buf, at, Fault::TooMany);
}

#[test]
fn too_many_id_map_entries_and_groups() {
    for uid in [true, false] {
        let (buf, at) = build_at(
            |w| {
                base(w);
                w.clone_flags(ns::NEWUSER);
            },
            |w| {
                let entries = (0..=limit::ID_MAP_ENTRIES as u32).map(|i| (i, i, 1));
                if uid {
                    w.uid_map(entries)
                } else {
                    w.gid_map(entries)
                }
            },
        );
        refused(&buf, at + 8, Fault::TooMany);
    }
    let (buf, at) = build_at(base, |w| w.credential(0, 0, 0, &vec![0; limit::GROUPS + 1]));
    refused(&buf, at + 8 + layout::CREDENTIAL_FIXED_LEN, Fault::TooMany);
}

// ---------------------------------------------------------------------------------------------
// fds

#[test]
fn files_out_of_range() {
    for bad in [-2, -100, i32::MIN, limit::FD as i32, i32::MAX] {
        let (buf, at) = build_at(base, |w| w.files(&[0, -1, bad, 1]));
        refused(&buf, at + 8 + 2 * 4, Fault::FdOutOfRange);
    }
}

#[test]
fn exec_fd_and_status_fd_out_of_range() {
    for ty in [record::EXEC_FD, record::STATUS_FD] {
        for bad in [limit::FD, limit::FD + 1, u32::MAX, (-1i32) as u32] {
            let (buf, at) = base_and(ty, 0, &bad.to_le_bytes());
            refused(&buf, at + 8, Fault::FdOutOfRange);
        }
        for good in [0, 3, limit::FD - 1] {
            let (buf, _) = base_and(ty, 0, &good.to_le_bytes());
            accepted(&buf);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// unknown bits

#[test]
fn unknown_option_bits() {
    for bit in 0..64 {
        let b = 1u64 << bit;
        let (buf, at) = base_and(record::OPTIONS, 0, &b.to_le_bytes());
        if [
            opt::WRITABLE_ROOT,
            opt::DUMPABLE_INIT,
            opt::NO_WAIT_INIT,
            opt::LOOPBACK,
            opt::DISABLE_USERNS,
        ]
        .contains(&b)
        {
            // A writable root needs pivot_root, a dumpable init and not waiting for init need
            // init, the loopback a new network namespace,
            // disabling user namespaces a new one: alone they are conflicts.
            refused(&buf, at + 8, Fault::Conflict);
        } else if opt::KNOWN & b != 0 {
            assert_eq!(accepted(&buf).options, b);
        } else {
            refused(&buf, at + 8, Fault::UnknownBits);
        }
    }
    assert_eq!(opt::KNOWN, 0x3fffff);
}

#[test]
fn unknown_clone_flags() {
    for bit in 0..64 {
        let b = 1u64 << bit;
        let (buf, at) = base_and(record::CLONE_FLAGS, 0, &b.to_le_bytes());
        if ns::KNOWN & b != 0 {
            assert_eq!(accepted(&buf).clone_flags, b);
        } else {
            refused(&buf, at + 8, Fault::UnknownBits);
        }
    }
    // CLONE_NEWTIME, CLONE_VM, CLONE_THREAD are not namespace flags this format carries.
    for b in [0x80u64, 0x100, 0x10000] {
        let (buf, at) = base_and(record::CLONE_FLAGS, 0, &b.to_le_bytes());
        refused(&buf, at + 8, Fault::UnknownBits);
    }
    assert_eq!(ns::KNOWN, 0x7e02_0000);
}

#[test]
fn unknown_mount_option_bits() {
    for bit in 0..32 {
        let b = 1u32 << bit;
        let (buf, at) = build_at(
            |w| {
                base(w);
                w.clone_flags(ns::NEWNS);
            },
            |w| w.raw_mount(0, b, b"", b"t", b"", b""),
        );
        if mount_opt::KNOWN & b != 0 {
            assert_eq!(
                raw_mounts(&accepted(&buf))
                    .into_iter()
                    .next()
                    .unwrap()
                    .options,
                b
            );
        } else {
            refused(&buf, at + 8 + 8, Fault::UnknownBits);
        }
    }
}

#[test]
fn unknown_credential_flag_bits() {
    for bit in 0..32 {
        let b = 1u32 << bit;
        let (buf, at) = build_at(base, |w| w.credential(0, 0, b, &[1]));
        if cred_flag::KNOWN & b != 0 {
            assert_eq!(accepted(&buf).credential.unwrap().flags, b);
        } else {
            refused(&buf, at + 8 + 8, Fault::UnknownBits);
        }
    }
}

#[test]
fn mount_flags_outside_the_named_set_are_refused() {
    use forkexec_spec::layout::mount_flags;
    let with = |flags: u64| {
        build_at(
            |w| {
                base(w);
                w.clone_flags(ns::NEWNS);
            },
            |w| w.raw_mount(flags, 0, b"", b"t", b"", b""),
        )
    };
    let (buf, _) = with(mount_flags::KNOWN);
    assert_eq!(
        raw_mounts(&accepted(&buf))
            .into_iter()
            .next()
            .unwrap()
            .flags,
        mount_flags::KNOWN
    );
    // MS_KERNMOUNT, the MS_MGC_VAL magic and any high bit: refused at the flags field.
    for bad in [0x40_0000u64, 0xC0ED_0000, 1 << 40, u64::MAX] {
        let (buf, at) = with(bad);
        refused(&buf, at + 8, Fault::UnknownBits);
    }
}

// ---------------------------------------------------------------------------------------------
// bad values

#[test]
fn bad_rlimits() {
    for resource in [limit::RLIMIT_RESOURCES, 100, u32::MAX] {
        let (buf, at) = build_at(base, |w| w.limit(resource, 0, 0));
        refused(&buf, at + 8, Fault::BadValue);
    }
    let (buf, at) = build_at(base, |w| w.limit(0, 2, 1));
    refused(&buf, at + 8 + 4, Fault::BadValue);
    let (buf, at) = build_at(base, |w| w.limit(0, u64::MAX, 0));
    refused(&buf, at + 8 + 4, Fault::BadValue);
    // Resource is checked before soft <= hard.
    let (buf, at) = build_at(base, |w| w.limit(16, 2, 1));
    refused(&buf, at + 8, Fault::BadValue);
}

#[test]
fn bad_paths() {
    for root in [&b"root"[..], b"./root", b"", b"../x"] {
        let (buf, at) = build_at(
            |w| {
                base(w);
                w.clone_flags(ns::NEWNS);
            },
            |w| w.pivot_root(root),
        );
        refused(&buf, at + 8, Fault::BadValue);
    }
    let (buf, at) = build_at(base, |w| w.exec_path(b""));
    refused(&buf, at + 8, Fault::BadValue);
    let (buf, at) = build_at(base, |w| w.work_dir(b""));
    refused(&buf, at + 8, Fault::BadValue);
    // Relative exec paths and work dirs are fine.
    accepted(&build(|w| {
        base(w);
        w.exec_path(b"bin/x");
        w.work_dir(b"sub");
    }));
}

#[test]
fn empty_mount_target() {
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.clone_flags(ns::NEWNS);
        },
        |w| w.raw_mount(0, 0, b"/src", b"", b"tmpfs", b""),
    );
    refused(&buf, at + 8 + 12 + 5, Fault::BadValue);
}

#[test]
fn bad_id_map_entries() {
    let cases: [((u32, u32, u32), usize); 5] = [
        ((0, 0, 0), 8),
        ((u32::MAX, 0, 1), 8),
        ((0, u32::MAX, 1), 8),
        ((1, 0, u32::MAX), 8),
        ((0, 2, u32::MAX - 1), 8),
    ];
    for uid in [true, false] {
        for (entry, field) in cases {
            let (buf, at) = build_at(
                |w| {
                    base(w);
                    w.clone_flags(ns::NEWUSER);
                },
                |w| {
                    let entries = [(0, 0, 1), entry];
                    if uid {
                        w.uid_map(entries)
                    } else {
                        w.gid_map(entries)
                    }
                },
            );
            refused(&buf, at + 8 + 12 + field, Fault::BadValue);
        }
    }
    // The largest ranges that still fit in 32 bits.
    accepted(&build(|w| {
        base(w);
        w.clone_flags(ns::NEWUSER);
        w.uid_map([(0, 0, u32::MAX), (u32::MAX - 1, u32::MAX - 1, 1)]);
    }));
}
