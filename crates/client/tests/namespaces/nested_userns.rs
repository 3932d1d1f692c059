//! DISABLE_USERNS and ASSERT_USERNS_DISABLED (bubblewrap's `--disable-userns` and
//! `--assert-userns-disabled`): the target, in place and in the clone shapes, cannot create a
//! user namespace; the limit is out of its reach; the check refuses a start where one can
//! still be created, before the target runs.

use super::*;
use forkexec_client::Caps;

/// A new user namespace with this process's ids mapped to 0 inside, plus `extra` namespaces.
fn user_ns(runner: Runner, extra: &[Namespace]) -> Runner {
    let mut flags = vec![Namespace::NewUser];
    flags.extend_from_slice(extra);
    runner
        .clone_flags(flags)
        .uid_mappings([IdMap::new(0, euid(), 1)])
        .gid_mappings([IdMap::new(0, egid(), 1)])
}

/// The shapes: in place, a supervised clone (new pid namespace), init.
fn shapes() -> [(&'static str, Vec<Namespace>, bool); 3] {
    [
        ("in place", vec![], false),
        ("supervised", vec![Namespace::NewPid], false),
        ("init", vec![Namespace::NewPid], true),
    ]
}

#[test]
fn the_target_cannot_create_a_user_namespace() {
    for (shape, extra, init) in shapes() {
        // What `unshare(CLONE_NEWUSER)` gives the target.
        let unshare_user = |disable: bool| {
            report(
                user_ns(probe_runner(&["syscall", "unshare-user"]), &extra)
                    .init(init)
                    .disable_userns(disable),
            )
        };
        let allowed = unshare_user(false);
        assert_eq!(allowed, json!({"ret": 0}), "{shape}: without the option");
        let refused = unshare_user(true);
        assert_eq!(
            refused,
            json!({"ret": -1, "errno": libc::ENOSPC}),
            "{shape}: with disable_userns"
        );
    }
}

/// The target runs one user namespace further down, as the same ids (mapped to themselves),
/// with setgroups denied as the kernel requires for such a map; drop_caps still empties the
/// bounding set, which the nested namespace gave back in full.
#[test]
fn the_target_keeps_its_ids_in_the_nested_namespace() {
    for (shape, extra, init) in shapes() {
        let r = report(
            user_ns(probe_runner(&["report"]), &extra)
                .init(init)
                .drop_caps(true)
                .disable_userns(true),
        );
        assert_eq!(r["uid"], json!([0, 0, 0]), "{shape}");
        assert_eq!(r["gid"], json!([0, 0, 0]), "{shape}");
        let one = format!("{:>10} {:>10} {:>10}\n", 0, 0, 1);
        assert_eq!(r["uid_map"], json!(one), "{shape}");
        assert_eq!(r["gid_map"], json!(one), "{shape}");
        assert_eq!(r["setgroups"], json!("deny\n"), "{shape}");
        assert_eq!(r["cap_eff"], json!("0000000000000000"), "{shape}");
        assert_eq!(r["cap_bnd"], json!("0000000000000000"), "{shape}");
    }
}

/// Even with every capability of its own user namespace, the target cannot lift the limit:
/// it can write only its own namespace's `user.max_user_namespaces`, and the kernel checks
/// every namespace above it.
#[test]
fn the_limit_is_out_of_the_targets_reach() {
    let probe = probe().to_string_lossy().into_owned();
    let script = format!(
        "echo 100 > /proc/sys/user/max_user_namespaces && exec {probe} syscall unshare-user"
    );
    let runner = |disable: bool| {
        user_ns(Runner::new(["/bin/sh", "-c", &script]), &[])
            .caps(Caps::from_mask(u64::MAX))
            .disable_userns(disable)
    };
    assert_eq!(report(runner(false)), json!({"ret": 0}));
    assert_eq!(
        report(runner(true)),
        json!({"ret": -1, "errno": libc::ENOSPC})
    );
}

/// ASSERT_USERNS_DISABLED where a user namespace can be created (none disabled them): the
/// start fails at `assert_userns_disabled` with errno 0, and the target never runs. With
/// DISABLE_USERNS the same check passes.
#[test]
fn the_check_refuses_a_start_where_user_namespaces_work() {
    let dir = scratch_dir("assert-userns");
    let marker = dir.join("ran");
    let marker_arg = marker.to_string_lossy().into_owned();
    let writes = || probe_runner(&["write", &marker_arg, "x"]);
    let cases = [
        ("without namespaces", writes()),
        ("in a new user namespace", user_ns(writes(), &[])),
        ("init", user_ns(writes(), &[Namespace::NewPid]).init(true)),
    ];
    for (what, runner) in cases {
        let r = run(runner.assert_userns_disabled(true));
        assert_child_error(r, "assert_userns_disabled", 0, 0);
        assert!(!marker.exists(), "{what}: the target ran");
    }
    let out = run(user_ns(writes(), &[])
        .disable_userns(true)
        .assert_userns_disabled(true))
    .expect("start");
    assert!(out.status.success(), "{}", out.stderr);
    assert!(marker.exists());
    let _ = fs::remove_dir_all(&dir);
}
