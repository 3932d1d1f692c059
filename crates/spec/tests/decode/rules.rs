//! Whole-spec rules and the process shape a spec asks for.

use super::*;

// ---------------------------------------------------------------------------------------------
// whole-spec rules

#[test]
fn missing_args() {
    let buf = build(|w| w.env(s(&["A=1"])));
    refused(&buf, buf.len(), Fault::MissingArgs);
    let buf = build(|w| w.args(std::iter::empty()));
    refused(&buf, buf.len(), Fault::MissingArgs);
    let buf = build(|w| w.args(s(&[""])));
    refused(&buf, buf.len(), Fault::MissingArgs);
    let buf = build(|w| {
        w.args(s(&["", "x"]));
        w.work_dir(b"/");
    });
    refused(&buf, buf.len(), Fault::MissingArgs);
    // An ARGS record with no strings is refused even when EXEC_PATH or EXEC_FD names the
    // program: the target gets an argv[0] always.
    let execs: [fn(&mut W); 2] = [|w| w.exec_path(b"/bin/true"), |w| w.exec_fd(3)];
    for exec in execs {
        let buf = build(|w| {
            w.args(std::iter::empty());
            exec(w);
        });
        refused(&buf, buf.len(), Fault::MissingArgs);
        let buf = build(|w| {
            w.args(s(&[""]));
            exec(w);
        });
        accepted(&buf);
    }
}

#[test]
fn exec_path_and_exec_fd_conflict() {
    let (buf, at) = build_at(base, |w| {
        w.exec_path(b"/x");
        w.exec_fd(3);
    });
    refused(&buf, at, Fault::Conflict);
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.exec_fd(3);
        },
        |w| w.exec_path(b"/x"),
    );
    refused(&buf, at, Fault::Conflict);
}

#[test]
fn mounts_and_pivot_root_need_newns() {
    for flags in [None, Some(ns::NEWUSER), Some(ns::KNOWN & !ns::NEWNS)] {
        let prefix = |w: &mut W| {
            base(w);
            if let Some(f) = flags {
                w.clone_flags(f);
            }
        };
        let (buf, at) = build_at(prefix, |w| {
            w.raw_mount(0, 0, b"", b"a", b"", b"");
            w.raw_mount(0, 0, b"", b"b", b"", b"");
        });
        refused(&buf, at, Fault::Conflict);
        let (buf, at) = build_at(prefix, |w| w.pivot_root(b"/r"));
        refused(&buf, at, Fault::Conflict);
    }
    // The clone flags may come after the mounts.
    accepted(&build(|w| {
        base(w);
        w.raw_mount(0, 0, b"", b"a", b"", b"");
        w.pivot_root(b"/r");
        w.clone_flags(ns::NEWNS);
    }));
}

#[test]
fn uts_names_need_newuts() {
    let (buf, at) = build_at(base, |w| w.host_name(b"h"));
    refused(&buf, at, Fault::Conflict);
    let (buf, at) = build_at(base, |w| w.domain_name(b"d"));
    refused(&buf, at, Fault::Conflict);
    // With both, the later record is named.
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.domain_name(b"d");
        },
        |w| w.host_name(b"h"),
    );
    refused(&buf, at, Fault::Conflict);
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.host_name(b"h");
            w.clone_flags(ns::NEWNS);
        },
        |w| w.domain_name(b"d"),
    );
    refused(&buf, at, Fault::Conflict);
}

#[test]
fn id_maps_need_newuser() {
    let (buf, at) = build_at(base, |w| w.uid_map([(0, 0, 1)]));
    refused(&buf, at, Fault::Conflict);
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.clone_flags(ns::NEWNS);
        },
        |w| w.gid_map([(0, 0, 1)]),
    );
    refused(&buf, at, Fault::Conflict);
}

#[test]
fn ctty_with_no_setsid_conflicts() {
    let (buf, at) = build_at(base, |w| w.options(opt::CTTY | opt::NO_SETSID));
    refused(&buf, at + 8, Fault::Conflict);
    accepted(&build(|w| {
        base(w);
        w.options(opt::CTTY);
    }));
    accepted(&build(|w| {
        base(w);
        w.options(opt::NO_SETSID);
    }));
}

#[test]
fn precedence_of_faults() {
    // A record fault wins over whole-spec rules (no args, conflicts).
    let (buf, at) = build_at(|w| w.host_name(b"h"), |w| w.options(1 << 40));
    refused(&buf, at + 8, Fault::UnknownBits);
    // Missing args wins over conflicts.
    let buf = build(|w| {
        w.exec_path(b"/x");
        w.exec_fd(3);
    });
    refused(&buf, buf.len(), Fault::MissingArgs);
    // Conflicts are checked in a fixed order: exec, mounts, pivot_root, uts, uid, gid, ctty.
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.options(opt::CTTY | opt::NO_SETSID);
            w.uid_map([(0, 0, 1)]);
            w.host_name(b"h");
            w.pivot_root(b"/r");
            w.raw_mount(0, 0, b"", b"m", b"", b"");
        },
        |w| {
            w.exec_path(b"/x");
            w.exec_fd(1);
        },
    );
    refused(&buf, at, Fault::Conflict);
}

// ---------------------------------------------------------------------------------------------
// exec-in-place shape

fn in_place(f: impl FnOnce(&mut W)) -> Vec<u8> {
    build(|w| {
        base(w);
        f(w);
    })
}

#[test]
fn exec_in_place_is_the_default_shape() {
    assert_eq!(shape(&in_place(|_| {}), 0, 0), Ok(Shape::InPlace));
    let buf = in_place(|w| w.clone_flags(ns::IN_PLACE));
    assert_eq!(shape(&buf, 0, 0), Ok(Shape::InPlace));
    assert_eq!(ns::IN_PLACE & ns::NEWPID, 0);
    // One entry of size 1 onto our own ids (any inside id) is written in place.
    let buf = in_place(|w| {
        w.clone_flags(ns::NEWUSER);
        w.uid_map([(0, 1000, 1)]);
        w.gid_map([(65_534, 100, 1)]);
    });
    assert_eq!(shape(&buf, 1000, 100), Ok(Shape::InPlace));
    // setgroups left allowed without a gid map: still in place.
    let buf = in_place(|w| {
        w.clone_flags(ns::NEWUSER);
        w.uid_map([(0, 7, 1)]);
        w.options(opt::GID_MAPPINGS_ENABLE_SETGROUPS);
    });
    assert_eq!(shape(&buf, 7, 7), Ok(Shape::InPlace));
}

#[test]
fn a_new_pid_namespace_is_supervised() {
    let buf = in_place(|w| w.clone_flags(ns::NEWPID | ns::NEWNS));
    assert_eq!(shape(&buf, 0, 0), Ok(Shape::Supervise));
}

#[test]
fn maps_only_an_outer_process_may_write_are_supervised() {
    let outer_maps: [&[(u32, u32, u32)]; 4] = [
        &[(0, 1000, 1), (1, 100_000, 10)], // more than one entry
        &[(0, 1000, 2)],                   // size != 1
        &[(0, 1001, 1)],                   // not our own id
        &[(0, 0, 1)],                      // not our own id (we are 1000)
    ];
    for uid in [true, false] {
        for map in outer_maps {
            let buf = in_place(|w| {
                w.clone_flags(ns::NEWUSER);
                if uid {
                    w.uid_map(map.iter().copied())
                } else {
                    w.gid_map(map.iter().copied())
                }
            });
            assert_eq!(shape(&buf, 1000, 1000), Ok(Shape::Supervise), "{map:?}");
        }
    }
    // The uid map is checked against euid, the gid map against egid.
    let buf = in_place(|w| {
        w.clone_flags(ns::NEWUSER);
        w.uid_map([(0, 1000, 1)]);
        w.gid_map([(0, 1000, 1)]);
    });
    assert_eq!(shape(&buf, 1000, 100), Ok(Shape::Supervise));
    assert_eq!(shape(&buf, 1000, 1000), Ok(Shape::InPlace));
    // A gid map with setgroups allowed needs an outer writer too.
    let buf = in_place(|w| {
        w.clone_flags(ns::NEWUSER);
        w.gid_map([(0, 7, 1)]);
        w.options(opt::GID_MAPPINGS_ENABLE_SETGROUPS);
    });
    assert_eq!(shape(&buf, 7, 7), Ok(Shape::Supervise));
}

#[test]
fn detach_and_init_are_asked_for() {
    let buf = in_place(|w| w.options(opt::DETACH));
    assert_eq!(shape(&buf, 0, 0), Ok(Shape::Detach));
    let buf = in_place(|w| {
        w.clone_flags(ns::NEWPID);
        w.options(opt::INIT);
    });
    assert_eq!(shape(&buf, 0, 0), Ok(Shape::Init));
    // Ptrace with a new pid namespace works detached: the runtime is the parent.
    let buf = in_place(|w| {
        w.clone_flags(ns::NEWPID);
        w.options(opt::DETACH | opt::PTRACE | opt::STOP_BEFORE_SECCOMP);
    });
    assert_eq!(shape(&buf, 0, 0), Ok(Shape::Detach));
}

#[test]
fn init_excludes_detach_and_needs_no_pid_namespace() {
    // Without newpid, init is the target's parent (it holds LOCK_FILE locks and SYNC_FD).
    let buf = in_place(|w| w.options(opt::INIT));
    assert_eq!(shape(&buf, 0, 0), Ok(Shape::Init));
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.clone_flags(ns::NEWPID);
        },
        |w| w.options(opt::INIT | opt::DETACH),
    );
    refused(&buf, at + 8, Fault::Conflict);
}

#[test]
fn a_dumpable_init_needs_init() {
    let pid_ns = |w: &mut W| {
        base(w);
        w.clone_flags(ns::NEWPID);
    };
    let (buf, at) = build_at(pid_ns, |w| w.options(opt::DUMPABLE_INIT));
    refused(&buf, at + 8, Fault::Conflict);
    let (buf, _) = build_at(pid_ns, |w| w.options(opt::INIT | opt::DUMPABLE_INIT));
    assert_eq!(shape(&buf, 0, 0), Ok(Shape::Init));
}

#[test]
fn the_loopback_needs_a_new_network_namespace() {
    let (buf, at) = build_at(base, |w| w.options(opt::LOOPBACK));
    refused(&buf, at + 8, Fault::Conflict);
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.clone_flags(ns::NEWUTS);
        },
        |w| w.options(opt::LOOPBACK),
    );
    refused(&buf, at + 8, Fault::Conflict);
    let (buf, _) = build_at(
        |w| {
            base(w);
            w.clone_flags(ns::NEWNET);
        },
        |w| w.options(opt::LOOPBACK),
    );
    assert!(accepted(&buf).has(opt::LOOPBACK));
    assert_eq!(opt::LOOPBACK, 1 << 19);
}

#[test]
fn not_waiting_for_init_needs_init() {
    let pid_ns = |w: &mut W| {
        base(w);
        w.clone_flags(ns::NEWPID);
    };
    let (buf, at) = build_at(pid_ns, |w| w.options(opt::NO_WAIT_INIT));
    refused(&buf, at + 8, Fault::Conflict);
    let (buf, _) = build_at(pid_ns, |w| w.options(opt::INIT | opt::NO_WAIT_INIT));
    assert_eq!(shape(&buf, 0, 0), Ok(Shape::Init));
}

#[test]
fn disabling_user_namespaces_needs_a_new_one() {
    let (buf, at) = build_at(base, |w| w.options(opt::DISABLE_USERNS));
    refused(&buf, at + 8, Fault::Conflict);
    let user_ns = |w: &mut W| {
        base(w);
        w.clone_flags(ns::NEWUSER);
    };
    let (buf, _) = build_at(user_ns, |w| w.options(opt::DISABLE_USERNS));
    assert_eq!(shape(&buf, 0, 0), Ok(Shape::InPlace));
    // The check alone needs nothing: it runs wherever the target is.
    let (buf, _) = build_at(base, |w| w.options(opt::ASSERT_USERNS_DISABLED));
    assert_eq!(shape(&buf, 0, 0), Ok(Shape::InPlace));
}

#[test]
fn a_supervised_clone_cannot_be_traced_by_the_runtime() {
    for traced in [opt::PTRACE, opt::STOP_BEFORE_SECCOMP] {
        for extra in [0, opt::INIT] {
            let (buf, at) = build_at(
                |w| {
                    base(w);
                    w.clone_flags(ns::NEWPID);
                },
                |w| w.options(traced | extra),
            );
            assert_eq!(
                shape(&buf, 0, 0),
                Err(SpecError {
                    offset: (at + 8) as u32,
                    fault: Fault::Conflict
                })
            );
        }
    }
}

#[test]
fn cgroup_by_path_or_fd_not_both() {
    let buf = in_place(|w| w.cgroup_path(b"/sys/fs/cgroup/unified/job"));
    let spec = accepted(&buf);
    assert_eq!(
        spec.cgroup_path.unwrap().to_bytes(),
        b"/sys/fs/cgroup/unified/job"
    );
    let buf = in_place(|w| w.cgroup_fd(7));
    assert_eq!(accepted(&buf).cgroup_fd, Some(7));
    let (buf, at) = build_at(base, |w| w.cgroup_path(b"relative/job"));
    refused(&buf, at + 8, Fault::BadValue);
    let (buf, at) = build_at(base, |w| w.cgroup_fd(1 << 20));
    refused(&buf, at + 8, Fault::FdOutOfRange);
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.cgroup_path(b"/sys/fs/cgroup/x");
        },
        |w| w.cgroup_fd(7),
    );
    refused(&buf, at, Fault::Conflict);
}

#[test]
fn info_and_json_status_fds() {
    let buf = in_place(|w| w.info_fd(42));
    let spec = accepted(&buf);
    assert_eq!((spec.info_fd, spec.json_status_fd), (Some(42), None));
    // The info fd is written wherever the helper is: in place too.
    assert_eq!(shape(&buf, 0, 0), Ok(Shape::InPlace));
    // The exit code needs a helper that stays: a JSON status fd is supervised ...
    let buf = in_place(|w| w.json_status_fd(43));
    assert_eq!(accepted(&buf).json_status_fd, Some(43));
    assert_eq!(shape(&buf, 0, 0), Ok(Shape::Supervise));
    let buf = in_place(|w| {
        w.clone_flags(ns::NEWPID);
        w.options(opt::INIT);
        w.json_status_fd(43);
    });
    assert_eq!(shape(&buf, 0, 0), Ok(Shape::Init));
    // ... so it cannot be traced by the runtime, nor detached (the helper would be gone).
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.json_status_fd(43);
        },
        |w| w.options(opt::PTRACE),
    );
    assert_eq!(
        shape(&buf, 0, 0),
        Err(SpecError {
            offset: (at + 8) as u32,
            fault: Fault::Conflict
        })
    );
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.options(opt::DETACH);
        },
        |w| w.json_status_fd(43),
    );
    refused(&buf, at, Fault::Conflict);
    for record in [record::INFO_FD, record::JSON_STATUS_FD] {
        let (buf, at) = base_and(record, 0, &(1u32 << 20).to_le_bytes());
        refused(&buf, at + 8, Fault::FdOutOfRange);
    }
}

/// The helper stops itself before seccomp when asked (STOP_BEFORE_SECCOMP), or when traced
/// (PTRACE) with a filter to load; PTRACE alone, or a filter alone, does not.
#[test]
fn when_the_helper_stops_before_exec() {
    use forkexec_spec::layout::opt::stops_before_exec as stops;
    let cases = [
        (0, false, false),
        (0, true, false),
        (opt::SYNC | opt::NO_NEW_PRIVS, true, false),
        (opt::STOP_BEFORE_SECCOMP, false, true),
        (opt::STOP_BEFORE_SECCOMP, true, true),
        (opt::PTRACE, false, false),
        (opt::PTRACE, true, true),
        (opt::PTRACE | opt::STOP_BEFORE_SECCOMP, false, true),
    ];
    for (options, seccomp, want) in cases {
        assert_eq!(stops(options, seccomp), want, "{options:#x} {seccomp}");
    }
    let stop = build(|w| {
        base(w);
        w.options(opt::STOP_BEFORE_SECCOMP);
    });
    assert!(accepted(&stop).stops_before_exec());
    assert!(!accepted(&build(base)).stops_before_exec());
}

#[test]
fn join_ns() {
    let buf = in_place(|w| w.join_ns(Some(11), None, Some(13)));
    let j = accepted(&buf).join_ns.unwrap();
    assert_eq!((j.user, j.pid, j.user2), (Some(11), None, Some(13)));
    // A user namespace is joined in place too; a pid namespace only by a clone.
    assert_eq!(shape(&buf, 0, 0), Ok(Shape::InPlace));
    let buf = in_place(|w| w.join_ns(None, Some(12), None));
    assert_eq!(shape(&buf, 0, 0), Ok(Shape::Supervise));
    let buf = in_place(|w| {
        w.clone_flags(ns::NEWPID);
        w.options(opt::INIT);
        w.join_ns(Some(11), None, None);
    });
    assert_eq!(shape(&buf, 0, 0), Ok(Shape::Init));
    // A new pid namespace below a joined one is not supported: refused.
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.clone_flags(ns::NEWPID);
        },
        |w| w.join_ns(Some(11), Some(12), None),
    );
    refused(&buf, at, Fault::Conflict);
    // Joined or created, not both.
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.clone_flags(ns::NEWUSER);
        },
        |w| w.join_ns(Some(11), None, None),
    );
    refused(&buf, at, Fault::Conflict);
    let buf = in_place(|w| {
        w.clone_flags(ns::NEWUSER);
        w.join_ns(None, Some(12), Some(13));
    });
    accepted(&buf);
    // Each fd -1 (none) or in range; not all of them none.
    for slot in 0..3 {
        for bad in [-2i32, 1 << 20] {
            let mut payload = [(-1i32).to_le_bytes(); 3].concat();
            payload[4 * slot..4 * slot + 4].copy_from_slice(&bad.to_le_bytes());
            let (buf, at) = base_and(record::JOIN_NS, 0, &payload);
            refused(&buf, at + 8 + 4 * slot, Fault::FdOutOfRange);
        }
    }
    let (buf, at) = base_and(record::JOIN_NS, 0, &[0xff; 12]);
    refused(&buf, at + 8, Fault::BadValue);
    // The range's ends are fds like any other: 0 (a runtime may pass its stdin) and 2^20 - 1.
    for slot in 0..3 {
        for good in [0i32, (1 << 20) - 1] {
            let mut payload = [(-1i32).to_le_bytes(); 3].concat();
            payload[4 * slot..4 * slot + 4].copy_from_slice(&good.to_le_bytes());
            let (buf, _) = base_and(record::JOIN_NS, 0, &payload);
            let j = accepted(&buf).join_ns.expect("JOIN_NS decoded");
            let mut want = [None; 3];
            want[slot] = Some(good as u32);
            assert_eq!([j.user, j.pid, j.user2], want, "slot {slot}, fd {good}");
        }
    }
}

#[test]
fn lock_files_and_the_sync_fd_are_held_by_init() {
    let buf = in_place(|w| {
        w.options(opt::INIT);
        w.lock_file(b"/run/a.lock");
        w.lock_file(b"/b");
        w.sync_fd(9);
    });
    let spec = accepted(&buf);
    let paths: Vec<&[u8]> = spec.lock_files.iter().map(|p| p.to_bytes()).collect();
    assert_eq!(paths, [&b"/run/a.lock"[..], b"/b"]);
    assert_eq!(spec.sync_fd, Some(9));
    assert_eq!(shape(&buf, 0, 0), Ok(Shape::Init));
    // Without init there is nobody to hold them: Conflict at the (first) record.
    let (buf, at) = build_at(base, |w| w.lock_file(b"/a"));
    refused(&buf, at, Fault::Conflict);
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.lock_file(b"/a");
        },
        |w| w.lock_file(b"/b"),
    );
    refused(&buf, at - 11, Fault::Conflict);
    let (buf, at) = build_at(base, |w| w.sync_fd(9));
    refused(&buf, at, Fault::Conflict);
    // A path is absolute; at most limit::LOCK_FILES of them.
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.options(opt::INIT);
        },
        |w| w.lock_file(b"run/a"),
    );
    refused(&buf, at + 8, Fault::BadValue);
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.options(opt::INIT);
            for _ in 0..limit::LOCK_FILES {
                w.lock_file(b"/a");
            }
        },
        |w| w.lock_file(b"/a"),
    );
    refused(&buf, at, Fault::TooMany);
    let (buf, at) = base_and(record::SYNC_FD, 0, &(1u32 << 20).to_le_bytes());
    refused(&buf, at + 8, Fault::FdOutOfRange);
}

#[test]
fn caps() {
    let buf = in_place(|w| w.caps(1 << 10 | 1 << 40 | 1 << 63, layout::caps::LEAVE_SETS));
    let c = accepted(&buf).caps.unwrap();
    assert_eq!((c.kept, c.flags), (1 << 10 | 1 << 40 | 1 << 63, 1));
    assert!(c.leave_sets());
    let c = accepted(&in_place(|w| w.caps(0, 0))).caps.unwrap();
    assert_eq!((c.kept, c.leave_sets()), (0, false));
    // The payload is exactly 12 bytes, and only LEAVE_SETS is a flag.
    for len in [8, 11, 13, 16] {
        let (buf, at) = base_and(record::CAPS, 0, &vec![0; len]);
        refused(&buf, at + 4, Fault::BadRecordLength);
    }
    for bad in [2u32, 1 << 31, 3] {
        let mut payload = vec![0xff; 8];
        payload.extend_from_slice(&bad.to_le_bytes());
        let (buf, at) = base_and(record::CAPS, 0, &payload);
        refused(&buf, at + 16, Fault::UnknownBits);
    }
    // A kept set with DROP_CAPS (drop them all) is a contradiction, in either order.
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.options(opt::DROP_CAPS);
        },
        |w| w.caps(1, 0),
    );
    refused(&buf, at, Fault::Conflict);
    let (buf, at) = build_at(base, |w| {
        w.caps(1, 0);
        w.options(opt::DROP_CAPS);
    });
    refused(&buf, at, Fault::Conflict);
    // With a credential or other options it is fine (it replaces the credential's drop).
    accepted(&in_place(|w| {
        w.credential(1, 1, 0, &[]);
        w.options(opt::NO_NEW_PRIVS);
        w.caps(u64::MAX, 0);
    }));
}

#[test]
fn block_fds() {
    // BLOCK_FD: any fd the target's table does not replace (it is read after the fd stage).
    let buf = in_place(|w| w.block_fd(5));
    assert_eq!(accepted(&buf).block_fd, Some(5));
    assert_eq!(shape(&buf, 0, 0), Ok(Shape::InPlace));
    let buf = in_place(|w| {
        w.files(&[0, 1, 2, 3]);
        w.block_fd(3);
    });
    accepted(&buf);
    let (buf, at) = build_at(
        |w| {
            base(w);
            w.files(&[0, 1, 2, 4]);
        },
        |w| w.block_fd(3),
    );
    refused(&buf, at, Fault::Conflict);
    // USERNS_BLOCK_FD: a new user namespace whose maps another process writes; a clone.
    let buf = in_place(|w| {
        w.clone_flags(ns::NEWUSER);
        w.userns_block_fd(6);
    });
    assert_eq!(accepted(&buf).userns_block_fd, Some(6));
    assert_eq!(shape(&buf, 0, 0), Ok(Shape::Supervise));
    let (buf, at) = build_at(base, |w| w.userns_block_fd(6));
    refused(&buf, at, Fault::Conflict);
    for map in [record::UID_MAP, record::GID_MAP] {
        let (buf, at) = build_at(
            |w| {
                base(w);
                w.clone_flags(ns::NEWUSER);
                if map == record::UID_MAP {
                    w.uid_map([(0, 0, 1)]);
                } else {
                    w.gid_map([(0, 0, 1)]);
                }
            },
            |w| w.userns_block_fd(6),
        );
        refused(&buf, at, Fault::Conflict);
    }
    for ty in [record::BLOCK_FD, record::USERNS_BLOCK_FD] {
        let (buf, at) = base_and(ty, 0, &(1u32 << 20).to_le_bytes());
        refused(&buf, at + 8, Fault::FdOutOfRange);
    }
}
