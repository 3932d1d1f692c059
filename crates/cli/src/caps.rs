//! Capability names and the kept set of `--cap-add`/`--cap-drop` (native and bubblewrap
//! mode): the helper keeps exactly that set (the spec's CAPS record, docs/spec.md).

use std::ffi::OsStr;

/// The capabilities by number, as libcap names them (`cap_from_name`, capabilities(7)).
pub const CAPABILITIES: &[&str] = &[
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
];

/// This process's effective capabilities (`CapEff` of `/proc/self/status`), from `capget`:
/// one system call where the status file costs the kernel a page of text (0 when it fails,
/// as an unreadable status file gave).
pub fn effective() -> u64 {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    // _LINUX_CAPABILITY_VERSION_3: two data words (capabilities 0-31 and 32-63).
    let mut header = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: capget of this process with a version-3 header and the two data words that
    // version writes.
    let r = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) };
    if r != 0 {
        return 0;
    }
    u64::from(data[0].effective) | u64::from(data[1].effective) << 32
}

/// The bits of a `--cap-add`/`--cap-drop` value: `ALL` (any case) is every bit, else one
/// capability by name (`CAP_KILL`, `cap_kill`) or number, as libcap's `cap_from_name` reads
/// it; `None` for anything else.
pub fn bits(name: &OsStr) -> Option<u64> {
    if name.as_encoded_bytes().eq_ignore_ascii_case(b"ALL") {
        return Some(u64::MAX);
    }
    let name = name.to_str()?.to_ascii_lowercase();
    if let Ok(n) = name.parse::<u32>() {
        return (n < 64).then(|| 1 << n);
    }
    let bare = name.strip_prefix("cap_")?;
    CAPABILITIES.iter().position(|c| *c == bare).map(|n| 1 << n)
}

/// forkexec-run's kept set: every `--cap-add` minus every `--cap-drop` (nothing is kept by
/// default, so a drop only narrows an `ALL`), `ALL` meaning `all`. An unknown name is an
/// error naming it.
pub fn kept(add: &[String], drop: &[String], all: u64) -> Result<u64, String> {
    let mask = |opt: &str, names: &[String]| {
        names.iter().try_fold(0u64, |m, name| {
            bits(OsStr::new(name))
                .map(|b| m | if b == u64::MAX { all } else { b })
                .ok_or_else(|| {
                    format!(
                        "{opt} {name}: not a capability (a name of capabilities(7) such as \
                     CAP_NET_BIND_SERVICE, its number, or ALL)"
                    )
                })
        })
    };
    Ok(mask("--cap-add", add)? & !mask("--cap-drop", drop)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_numbers_and_all() {
        assert_eq!(bits(OsStr::new("CAP_KILL")), Some(1 << 5));
        assert_eq!(bits(OsStr::new("cap_net_bind_service")), Some(1 << 10));
        assert_eq!(bits(OsStr::new("40")), Some(1 << 40));
        assert_eq!(bits(OsStr::new("all")), Some(u64::MAX));
        for bad in ["KILL", "CAP_BOGUS", "64", "", "cap_"] {
            assert_eq!(bits(OsStr::new(bad)), None, "{bad}");
        }
        assert_eq!(CAPABILITIES.len(), 41);
    }

    #[test]
    fn adds_minus_drops() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(kept(&[], &[], u64::MAX), Ok(0));
        assert_eq!(
            kept(&s(&["CAP_KILL", "cap_chown"]), &[], u64::MAX),
            Ok(0b100001)
        );
        assert_eq!(
            kept(&s(&["ALL"]), &s(&["CAP_SYS_ADMIN"]), u64::MAX),
            Ok(!(1u64 << 21))
        );
        // A drop wins whatever the order; a drop of nothing kept is no error.
        assert_eq!(
            kept(&s(&["CAP_KILL"]), &s(&["CAP_KILL", "CAP_CHOWN"]), u64::MAX),
            Ok(0)
        );
        // ALL is what the caller says it is; a single one is kept as asked.
        assert_eq!(kept(&s(&["ALL", "CAP_KILL"]), &[], 0b11), Ok(0b100011));
        let e = kept(&s(&["CAP_KILL"]), &s(&["CAP_BOGUS"]), 1).unwrap_err();
        assert!(
            e.starts_with("--cap-drop CAP_BOGUS: not a capability"),
            "{e}"
        );
        let e = kept(&s(&["kill"]), &[], 1).unwrap_err();
        assert!(e.starts_with("--cap-add kill: not a capability"), "{e}");
    }
}
