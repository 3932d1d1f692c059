//! Landlock (LANDLOCK records): after `no_new_privs`, before seccomp, the target confines
//! itself: filesystem rights beneath paths, TCP bind/connect per port, and scopes (abstract
//! unix sockets, signals). Best effort by default: what the kernel's ABI lacks is left out
//! (rights, scopes, or Landlock itself); with EXACT that is a failure instead.

use forkexec_spec::decode::{Landlock, Spec};
use forkexec_spec::layout::landlock::{self, EXACT, FS_FILE};
use forkexec_spec::Location;
use linux_raw_sys::general as g;

use crate::{sys, At, Failure};

const EOPNOTSUPP: sys::Errno = sys::Errno(linux_raw_sys::errno::EOPNOTSUPP as i32);

pub fn restrict(spec: &Spec) -> Result<(), Failure> {
    let Some(want) = spec.landlock else {
        return Ok(());
    };
    let exact = want.flags & EXACT != 0;
    // No Landlock (ENOSYS, or EOPNOTSUPP when disabled at boot) is ABI 0.
    let abi = sys::landlock_abi().unwrap_or(0) as u32;
    let have = Landlock {
        handled_fs: want.handled_fs & landlock::fs_supported(abi),
        handled_net: want.handled_net & landlock::net_supported(abi),
        scoped: want.scoped & landlock::scope_supported(abi),
        flags: want.flags,
    };
    if exact && have != want {
        return Err(EOPNOTSUPP).at_index(Location::Landlock, 2);
    }
    if have.handled_fs == 0 && have.handled_net == 0 && have.scoped == 0 {
        return Ok(()); // best effort on a kernel without any of it
    }
    let ruleset = sys::landlock_create_ruleset(have.handled_fs, have.handled_net, have.scoped)
        .at_index(Location::Landlock, 0)?;
    for (i, rule) in spec.landlock_paths.iter().enumerate() {
        let dir =
            sys::open(rule.path, g::O_PATH | g::O_CLOEXEC).at_index(Location::LandlockPath, i)?;
        let dir = sys::Fd(dir);
        let is_dir =
            sys::fstat(dir.0).at_index(Location::LandlockPath, i)?.mode & g::S_IFMT == g::S_IFDIR;
        // A file takes only the rights that apply to files.
        let mut access = rule.access & have.handled_fs;
        if !is_dir {
            access &= FS_FILE;
        }
        if access != 0 {
            sys::landlock_add_path_rule(ruleset.0, access, dir.0)
                .at_index(Location::LandlockPath, i)?;
        }
    }
    for (i, rule) in spec.landlock_ports.iter().enumerate() {
        let access = rule.access & have.handled_net;
        if access != 0 {
            sys::landlock_add_port_rule(ruleset.0, access, rule.port)
                .at_index(Location::LandlockPort, i)?;
        }
    }
    sys::landlock_restrict_self(ruleset.0).at_index(Location::Landlock, 1)?;
    Ok(())
}
