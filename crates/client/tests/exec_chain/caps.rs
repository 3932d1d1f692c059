//! CAPS: the capabilities the target keeps (bubblewrap's --cap-add/--cap-drop), as the target
//! sees them in /proc/self/status.
use super::*;

use forkexec_client::Caps;
use forkexec_testkit::{root_only, user_only};

const CAP_KILL: u32 = 5;
const CAP_NET_BIND_SERVICE: u32 = 10;
const CAP_SYS_ADMIN: u32 = 21;

/// A /proc/self/status capability field (16 hex digits) as a mask.
fn mask(r: &Value, set: &str) -> u64 {
    u64::from_str_radix(r[set].as_str().unwrap(), 16).unwrap()
}

fn bits(caps: &[u32]) -> u64 {
    caps.iter().fold(0, |m, c| m | 1 << c)
}

fn own(name: &str) -> u64 {
    u64::from_str_radix(&own_status_field(name), 16).unwrap()
}

/// In a new user namespace (root or not): the kept set is exactly every set of uid 0 there,
/// ambient and bounding included; everything else is gone.
#[test]
fn kept_set_in_a_user_namespace() {
    let keep = [CAP_KILL, CAP_NET_BIND_SERVICE, CAP_SYS_ADMIN];
    let r = report(in_user_ns(probe_runner(&["report"])).caps(Caps {
        keep: keep.to_vec(),
        leave_sets: false,
    }));
    assert_eq!(r["uid"], json!([0, 0, 0]));
    for set in ["cap_inh", "cap_prm", "cap_eff", "cap_bnd", "cap_amb"] {
        assert_eq!(mask(&r, set), bits(&keep), "{set}");
    }
    // An empty kept set: nothing at all, as drop_caps.
    let r = report(in_user_ns(probe_runner(&["report"])).caps(Caps::default()));
    for set in ["cap_inh", "cap_prm", "cap_eff", "cap_bnd", "cap_amb"] {
        assert_eq!(r[set], ZERO_CAPS, "{set}");
    }
    // Every number (bits past the kernel's last capability are ignored): every capability.
    let r = report(in_user_ns(probe_runner(&["report"])).caps(Caps::from_mask(u64::MAX)));
    assert_eq!(r["cap_amb"], r["cap_bnd"]);
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(mask(&r, "cap_eff"), (1u64 << (last + 1)) - 1);
}

/// The ambient set is what carries a kept capability across execve for a uid other than 0: a
/// credential with CAPS keeps it (the credential alone drops every capability).
#[test]
fn kept_set_survives_a_uid_change_as_root() {
    root_only!("kept_set_survives_a_uid_change_as_root needs root");
    let (runner, _exe) = probe_by_fd(&["report"]);
    let r = report(
        runner
            .credential(Credential::new(4242, 4242))
            .caps(Caps::from_mask(1 << CAP_NET_BIND_SERVICE)),
    );
    assert_eq!(r["uid"], json!([4242, 4242, 4242]));
    for set in ["cap_inh", "cap_prm", "cap_eff", "cap_bnd", "cap_amb"] {
        assert_eq!(mask(&r, set), 1 << CAP_NET_BIND_SERVICE, "{set}");
    }
}

/// LEAVE_SETS (bubblewrap as root without --cap-add/--cap-drop): the sets are root's own,
/// the ambient and inheritable sets stay empty; a capability not kept still leaves the
/// bounding set, and so (root regains the bounding set on exec) the effective set.
#[test]
fn leave_sets_as_root() {
    root_only!("leave_sets_as_root needs root");
    let leave = |kept: u64| {
        report(probe_runner(&["report"]).caps(Caps {
            leave_sets: true,
            ..Caps::from_mask(kept)
        }))
    };
    let r = leave(u64::MAX);
    for (set, field) in [
        ("cap_eff", "CapEff"),
        ("cap_prm", "CapPrm"),
        ("cap_bnd", "CapBnd"),
        ("cap_inh", "CapInh"),
        ("cap_amb", "CapAmb"),
    ] {
        assert_eq!(mask(&r, set), own(field), "{set}");
    }
    let r = leave(!(1u64 << CAP_KILL));
    assert_eq!(mask(&r, "cap_bnd"), own("CapBnd") & !(1 << CAP_KILL));
    assert_eq!(mask(&r, "cap_eff"), own("CapEff") & !(1 << CAP_KILL));
    assert_eq!(r["cap_amb"], ZERO_CAPS);
    // Without LEAVE_SETS the same kept set is every set, ambient included.
    let r =
        report(probe_runner(&["report"]).caps(Caps::from_mask(own("CapEff") & !(1 << CAP_KILL))));
    for set in ["cap_inh", "cap_prm", "cap_eff", "cap_amb"] {
        assert_eq!(mask(&r, set), own("CapEff") & !(1 << CAP_KILL), "{set}");
    }
}

/// Unprivileged without a user namespace: an empty kept set clears what can be cleared (the
/// bounding set cannot change without CAP_SETPCAP); with LEAVE_SETS a kept capability the
/// process does not hold is skipped.
#[test]
fn unprivileged_without_a_user_namespace() {
    user_only!("unprivileged_without_a_user_namespace is for non-root");
    let r = report(probe_runner(&["report"]).caps(Caps::default()));
    for set in ["cap_inh", "cap_prm", "cap_eff", "cap_amb"] {
        assert_eq!(r[set], ZERO_CAPS, "{set}");
    }
    assert_eq!(r["cap_bnd"], own_status_field("CapBnd"));
    let r = report(probe_runner(&["report"]).caps(Caps {
        keep: vec![CAP_KILL],
        leave_sets: true,
    }));
    assert_eq!(r["cap_amb"], ZERO_CAPS);
    assert_eq!(r["cap_eff"], ZERO_CAPS);
}
