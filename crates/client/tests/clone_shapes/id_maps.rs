//! Id maps written from outside by the helper.

use super::*;
use forkexec_testkit::{root_only, user_only};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The kernel's rendering of an id map line.
fn map_line(inside: u32, outside: u32, size: u32) -> String {
    format!("{inside:>10} {outside:>10} {size:>10}\n")
}

// ---------------------------------------------------------------------------------------------
// Id maps written from outside
// ---------------------------------------------------------------------------------------------

/// As root, the helper writes multi-range maps onto the clone from outside (a process cannot
/// write such maps for itself): `/proc/<pid>/uid_map` and `gid_map` read back exactly, and the
/// target, uid/gid 0 inside, is 100000 on the host.
#[test]
fn multi_range_maps_read_back_exactly_as_root() {
    root_only!("only root may write multi-range maps (the unprivileged half is below)");
    let uid_map = [
        IdMap::new(0, 100_000, 65_536),
        IdMap::new(70_000, 200_000, 10),
    ];
    let gid_map = [
        IdMap::new(0, 100_000, 65_536),
        IdMap::new(65_536, 300_000, 5),
    ];
    // Run by fd: uid 100000 may not be able to reach the probe's directory (a checkout
    // under a private directory), but an fd opened here executes all the same.
    let exe = File::open(probe()).unwrap();
    let r = Runner::new(["forkexec-probe", "sleep", "5"])
        .exec_file(exe.as_raw_fd())
        .clone_flags([Namespace::NewUser])
        .uid_mappings(uid_map)
        .gid_mappings(gid_map)
        .credential(Credential::new(0, 0));
    let run = Running::start(r).unwrap();
    drop(exe);
    let target = run.p.target_pid();
    assert_ne!(
        target,
        run.p.pid(),
        "maps from outside need the clone shape"
    );
    let read = |f: &str| fs::read_to_string(format!("/proc/{target}/{f}")).unwrap();
    assert_eq!(
        read("uid_map"),
        map_line(0, 100_000, 65_536) + &map_line(70_000, 200_000, 10)
    );
    assert_eq!(
        read("gid_map"),
        map_line(0, 100_000, 65_536) + &map_line(65_536, 300_000, 5)
    );
    assert_eq!(read("setgroups"), "deny\n");
    assert_eq!(
        status_field(target, "Uid"),
        "100000\t100000\t100000\t100000"
    );
    assert_eq!(
        status_field(target, "Gid"),
        "100000\t100000\t100000\t100000"
    );
    // Not pid 1 here: SIGTERM, forwarded by the helper, ends it.
    run.p.kill(libc::SIGTERM).unwrap();
    let (status, _, err) = run.finish();
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status} {err}");
}

/// An ordinary user may only write a one-id map of its own ids, even from outside: a
/// multi-range uid map fails at `write_uid_map` (37), EPERM, and a multi-range gid map (with a
/// valid uid map) at `write_gid_map` (38); the target never runs.
#[test]
fn multi_range_maps_are_refused_unprivileged() {
    user_only!("root may write any map (the root half is above)");
    let mut c = Cleanup::default();
    let multi = |own: u32| [IdMap::new(0, own, 1), IdMap::new(1, 100_000, 10)];
    let (r, marker) = marker_target(&mut c);
    let r = r
        .clone_flags([Namespace::NewUser])
        .uid_mappings(multi(euid()))
        .gid_mappings([IdMap::new(0, egid(), 1)]);
    assert_child_error(r.start(), "write_uid_map", libc::EPERM, 0);
    assert_never_ran(&marker);
    let (r, marker) = marker_target(&mut c);
    let r = r
        .clone_flags([Namespace::NewUser])
        .uid_mappings([IdMap::new(0, euid(), 1)])
        .gid_mappings(multi(egid()));
    assert_child_error(r.start(), "write_gid_map", libc::EPERM, 0);
    assert_never_ran(&marker);
    assert_no_children();
}

/// Overlapping ranges are refused by the kernel for everyone: `write_uid_map`, EINVAL; in the
/// detach shape too, where the clone is the runtime's own child and must not be left behind as
/// a zombie.
#[test]
fn overlapping_map_fails_at_write_uid_map() {
    let mut c = Cleanup::default();
    for detach in [false, true] {
        let (r, marker) = marker_target(&mut c);
        let r = r
            .clone_flags([Namespace::NewUser])
            .uid_mappings([IdMap::new(0, 100_000, 10), IdMap::new(5, 200_000, 10)])
            .detach(detach);
        assert_child_error(r.start(), "write_uid_map", libc::EINVAL, 0);
        assert_never_ran(&marker);
        assert_no_children();
    }
}
