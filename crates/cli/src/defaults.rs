//! Safe defaults: what forkexec-run turns on that the raw spec and its JSON form leave off
//! (they keep go-sandbox's zero values), and the flags that ask for the unsafe power by name.
//! docs/cli.md ("Safe defaults") says what each one protects against.
//!
//! | default                                   | turned off by            |
//! |-------------------------------------------|--------------------------|
//! | every capability dropped (`drop_caps`)    | `--cap-add CAP` (`caps`) |
//! | `no_new_privs`                            | `--allow-new-privs`      |
//! | a new session keyring                     | `--share-keyring`        |
//! | root + user namespace: host uid/gid 65534 | `--host-uid`/`--host-gid`, `--allow-host-root` |
//! | root without one: uid 0 keeps no caps     | `--allow-host-root`      |
//! | `--die-with-parent` brings a pid namespace | (always)                |

use std::sync::OnceLock;

use forkexec_client::{Caps, Credential, IdMap, Namespace, Spec};

use crate::assemble::Ids;
use crate::cli::Cli;
use crate::Fail;

/// The host uid and gid a root caller's user namespace maps the program onto by default:
/// the overflow ids ("nobody"/"nogroup"), which own nothing on the host.
pub const NOBODY: u32 = 65534;

/// The host ids the program is mapped onto in a user namespace: the caller's own for an
/// ordinary user; as root `--host-uid`/`--host-gid` (65534 by default), or host root itself
/// with `--allow-host-root`. Host id 0 without `--allow-host-root` is refused.
pub fn host_ids(cli: &Cli, ids: Ids) -> Result<(u32, u32), Fail> {
    if !is_host_root(ids) {
        if cli.host_uid.is_some() || cli.host_gid.is_some() {
            return Err(Fail::setup(
                "--host-uid/--host-gid: only root chooses the host ids (an ordinary user's \
                 namespace can map only its own)"
                    .to_string(),
            ));
        }
        return Ok((ids.euid, ids.egid));
    }
    let fallback = if cli.allow_host_root { 0 } else { NOBODY };
    let uid = cli.host_uid.unwrap_or(fallback);
    let gid = cli.host_gid.unwrap_or(fallback);
    if (uid == 0 || gid == 0) && !cli.allow_host_root {
        return Err(Fail::setup(
            "--host-uid 0/--host-gid 0 would map the program onto host root (it could read \
             and change every root-owned file it can see): add --allow-host-root to mean it"
                .to_string(),
        ));
    }
    Ok((uid, gid))
}

/// Whether this process is host root: uid 0 of the initial user namespace (whose map is the
/// identity over every id). uid 0 of a user namespace (forkexec-run inside a sandbox) owns
/// only what its namespace maps, and maps like an ordinary user.
pub fn is_host_root(ids: Ids) -> bool {
    ids.euid == 0 && uid_map().split_whitespace().eq(["0", "0", "4294967295"])
}

/// This process's `/proc/self/uid_map` (empty when it cannot be read), read once: several
/// defaults look at it, and it does not change while forkexec-run runs.
pub fn uid_map() -> &'static str {
    static MAP: OnceLock<String> = OnceLock::new();
    MAP.get_or_init(|| std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default())
}

/// As root with a user namespace, the program must really *be* its host ids: without a
/// credential it would keep host uid 0 (the maps only rename it), which owns every
/// root-owned file it can see. So a credential is added for the ids inside that map onto the
/// host ids (`--uid`/`--gid`, else the first map's); refused when a map covers host id 0.
pub fn root_user_namespace(spec: &mut Spec, cli: &Cli, ids: Ids) -> Result<(), Fail> {
    if !is_host_root(ids) || cli.allow_host_root || !spec.clone_flags.contains(&Namespace::NewUser)
    {
        return Ok(());
    }
    let covers_root = |maps: &[IdMap]| {
        maps.iter()
            .any(|m| m.host_id == 0 || (m.host_id as u64 + m.size as u64) > (1u64 << 32))
    };
    if covers_root(&spec.uid_mappings) || covers_root(&spec.gid_mappings) {
        return Err(Fail::setup(
            "the spec's uid/gid maps include host id 0: the program would be host root; add \
             --allow-host-root to mean it"
                .to_string(),
        ));
    }
    let first = |maps: &[IdMap]| maps.first().map_or(0, |m| m.container_id);
    let mut cred = spec
        .credential
        .take()
        .unwrap_or_else(|| Credential::new(first(&spec.uid_mappings), first(&spec.gid_mappings)));
    // --uid/--gid remapped the ids inside: the credential follows them.
    if let Some(uid) = cli.uid {
        cred.uid = uid;
    }
    if let Some(gid) = cli.gid {
        cred.gid = gid;
    }
    spec.credential = Some(cred);
    Ok(())
}

/// `--die-with-parent` brings a pid namespace: without one, the program's own children would
/// outlive forkexec-run (the parent-death signal reaches only the program); in one, the
/// program is its pid 1, and its death ends every process of the namespace.
pub fn die_with_parent(spec: &mut Spec, cli: &Cli) {
    if cli.die_with_parent || spec.die_with_parent {
        spec.die_with_parent = true;
        if !spec.clone_flags.contains(&Namespace::NewPid) {
            spec.clone_flags.push(Namespace::NewPid);
        }
    }
}

/// Capabilities, no_new_privs and the session keyring, after the ids are decided.
pub fn apply(spec: &mut Spec, cli: &Cli, ids: Ids) -> Result<(), Fail> {
    // ALL: every capability of a user namespace the program is in, else the caller's own
    // (root's may lack some: CAP_SYS_RESOURCE here).
    let userns = spec.clone_flags.contains(&Namespace::NewUser)
        || spec
            .join_ns
            .is_some_and(|j| j.user.is_some() || j.user2.is_some());
    let all = if userns {
        u64::MAX
    } else {
        crate::caps::effective()
    };
    let kept = crate::caps::kept(&cli.cap_add, &cli.cap_drop, all).map_err(Fail::setup)?;
    if kept != 0 {
        host_root_with_caps(spec, cli, ids)?;
        spec.caps = Some(Caps::from_mask(kept));
    } else if spec.caps.is_none() {
        // (A spec file's own `caps` is kept, as its other fields are.)
        spec.drop_caps = true;
    }
    if !cli.allow_new_privs {
        spec.no_new_privs = true;
    }
    if !cli.share_keyring {
        spec.new_session_keyring = true;
    }
    Ok(())
}

/// Capabilities kept where the program would be uid 0 of the host's own user namespace or
/// have host capabilities (root without a user namespace), or host root through the maps:
/// host root's power (remounting binds writable, writing sysctls, TIOCSTI,
/// `open_by_handle_at`), refused unless `--allow-host-root`.
fn host_root_with_caps(spec: &Spec, cli: &Cli, ids: Ids) -> Result<(), Fail> {
    let userns = spec.clone_flags.contains(&Namespace::NewUser);
    if is_host_root(ids) && !userns && !cli.allow_host_root {
        return Err(Fail::setup(
            "--cap-add as root without a user namespace keeps host capabilities (host root's \
             power): add --allow-host-root to mean it"
                .to_string(),
        ));
    }
    Ok(())
}
