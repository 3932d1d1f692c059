//! Landlock in the client's spec (JSON key `landlock`, docs/json.md): rules by path and port
//! with rights by name, turned into the LANDLOCK records ([`forkexec_spec::layout::landlock`]).

use serde::{Deserialize, Serialize};

use forkexec_spec::layout::landlock::{FS_READ, FS_WRITE};
use forkexec_spec::tables::{landlock_fs, landlock_net, landlock_scope};

fn is_false(b: &bool) -> bool {
    !*b
}

/// Landlock confinement of the target: what it may do beneath paths, on TCP ports, and the
/// scopes it is kept inside. The helper applies it after `no_new_privs`, before seccomp.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Landlock {
    /// Refuse to start when the kernel lacks a requested right or scope (or Landlock itself);
    /// by default ("best effort") what the kernel has is used.
    #[serde(default, skip_serializing_if = "is_false")]
    pub exact: bool,
    /// Filesystem rules. `Some` (even empty) restricts the filesystem: only what a rule
    /// allows beneath its path is allowed. `None` leaves the filesystem alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs: Option<Vec<LandlockPath>>,
    /// TCP rules. `Some` (even empty) restricts bind and connect to the listed ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net: Option<Vec<LandlockPort>>,
    /// Scopes: `abstract_unix_socket`, `signal`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scope: Vec<String>,
}

/// Rights beneath a path (resolved in the target's root).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LandlockPath {
    /// The file or directory the rights are granted beneath.
    pub path: String,
    /// Right names ([`landlock_fs`]: `execute`, `read_file`, …) or the groups `read`
    /// (read_file, read_dir) and `write` (every right but execute and the reading ones).
    pub access: Vec<String>,
}

/// Rights on a TCP port.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LandlockPort {
    /// The TCP port.
    pub port: u16,
    /// `bind_tcp`, `connect_tcp`.
    pub access: Vec<String>,
}

impl LandlockPath {
    /// `access` (names) beneath `path`.
    pub fn new(path: impl Into<String>, access: &[&str]) -> Self {
        LandlockPath {
            path: path.into(),
            access: access.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl LandlockPort {
    /// `access` (names) on TCP `port`.
    pub fn new(port: u16, access: &[&str]) -> Self {
        LandlockPort {
            port,
            access: access.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// The bits of filesystem right names (with the `read` and `write` groups).
pub fn fs_bits(names: &[String]) -> Result<u64, String> {
    names.iter().try_fold(0, |acc, n| {
        let bit = match n.as_str() {
            "read" => FS_READ,
            "write" => FS_WRITE,
            other => landlock_fs::from_name(other).ok_or_else(|| {
                format!(
                    "unknown Landlock filesystem right `{other}` (read, write, {})",
                    names_of(landlock_fs::ALL)
                )
            })?,
        };
        Ok(acc | bit)
    })
}

/// The bits of network right names.
pub fn net_bits(names: &[String]) -> Result<u64, String> {
    names.iter().try_fold(0, |acc, n| {
        landlock_net::from_name(n).map(|b| acc | b).ok_or_else(|| {
            format!(
                "unknown Landlock network right `{n}` ({})",
                names_of(landlock_net::ALL)
            )
        })
    })
}

/// The bits of scope names.
pub fn scope_bits(names: &[String]) -> Result<u64, String> {
    names.iter().try_fold(0, |acc, n| {
        landlock_scope::from_name(n)
            .map(|b| acc | b)
            .ok_or_else(|| {
                format!(
                    "unknown Landlock scope `{n}` ({})",
                    names_of(landlock_scope::ALL)
                )
            })
    })
}

fn names_of(all: &[forkexec_spec::tables::Entry<u64>]) -> String {
    all.iter().map(|e| e.name).collect::<Vec<_>>().join(", ")
}
