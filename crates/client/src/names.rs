//! The named constants of the JSON form: namespaces, mount flags, mount operation types and
//! rlimit resources.
//!
//! Each is an enum with a fixed name table, so a spec written by hand reads `"newns"` or
//! `"nofile"` rather than magic numbers, and a typo is an error that lists every valid name
//! instead of a silently different sandbox.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use forkexec_spec::layout::{mount_kind, ns};
use serde::de::{self, Deserializer, Unexpected, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// What the name tables have in common; drives the shared serde and parsing code.
pub trait Named: Copy + Sized + 'static {
    /// What one of these is called in messages ("clone flag", "mount flag", …).
    const WHAT: &'static str;
    /// Every value, in table order.
    const ALL: &'static [Self];
    /// The JSON name.
    fn name(self) -> &'static str;
    /// The value with this JSON name.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.name() == name)
    }
    /// The value a bare JSON number stands for, where numbers are accepted at all.
    fn from_number(_n: u64) -> Option<Self> {
        None
    }
}

/// A name that is not in the table; the message lists the valid ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownName {
    what: &'static str,
    name: String,
    valid: String,
}

impl UnknownName {
    fn new<T: Named>(name: &str) -> Self {
        UnknownName {
            what: T::WHAT,
            name: name.to_owned(),
            valid: valid_names::<T>(),
        }
    }
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} `{}`, expected one of: {}",
            self.what, self.name, self.valid
        )
    }
}

impl std::error::Error for UnknownName {}

fn valid_names<T: Named>() -> String {
    T::ALL
        .iter()
        .map(|v| v.name())
        .collect::<Vec<_>>()
        .join(", ")
}

struct NameVisitor<T>(PhantomData<T>);

impl<T: Named> Visitor<'_> for NameVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} name (one of: {})", T::WHAT, valid_names::<T>())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        T::from_name(v).ok_or_else(|| E::custom(UnknownName::new::<T>(v)))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<T, E> {
        T::from_number(n).ok_or_else(|| E::invalid_value(Unexpected::Unsigned(n), &self))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<T, E> {
        match u64::try_from(n) {
            Ok(n) => self.visit_u64(n),
            Err(_) => Err(E::invalid_value(Unexpected::Signed(n), &self)),
        }
    }
}

/// Defines a [`Named`] enum with its table, `value()`, `Display`, `FromStr` and serde impls.
macro_rules! named {
    (
        $(#[$meta:meta])*
        pub enum $Enum:ident: $T:ty, $what:literal $(, numbers: $by_number:path)? {
            $( $(#[$vdoc:meta])* $Variant:ident = $value:expr => $name:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $Enum {
            $( $(#[$vdoc])* $Variant, )*
        }

        impl $Enum {
            /// Every value, in table order.
            pub const ALL: &'static [$Enum] = &[ $( $Enum::$Variant, )* ];

            /// The JSON name.
            pub const fn name(self) -> &'static str {
                match self {
                    $( $Enum::$Variant => $name, )*
                }
            }

            /// The number that goes on the wire.
            pub const fn value(self) -> $T {
                match self {
                    $( $Enum::$Variant => $value as $T, )*
                }
            }

            /// The value whose wire number is `v`.
            pub fn from_value(v: $T) -> Option<Self> {
                Self::ALL.iter().copied().find(|x| x.value() == v)
            }
        }

        impl Named for $Enum {
            const WHAT: &'static str = $what;
            const ALL: &'static [Self] = $Enum::ALL;
            fn name(self) -> &'static str {
                $Enum::name(self)
            }
            $(
                fn from_number(n: u64) -> Option<Self> {
                    $by_number(n)
                }
            )?
        }

        impl fmt::Display for $Enum {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $Enum {
            type Err = UnknownName;
            fn from_str(s: &str) -> Result<Self, UnknownName> {
                <Self as Named>::from_name(s).ok_or_else(|| UnknownName::new::<Self>(s))
            }
        }

        impl Serialize for $Enum {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $Enum {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(NameVisitor::<Self>(PhantomData))
            }
        }
    };
}

named! {
    /// A namespace to unshare (`clone_flags`): the `CLONE_NEW*` flags.
    pub enum Namespace: u64, "clone flag" {
        /// Mount namespace (`CLONE_NEWNS`); required by `mounts` and `pivot_root`.
        NewNs = ns::NEWNS => "newns",
        /// UTS namespace; required by `host_name` and `domain_name`.
        NewUts = ns::NEWUTS => "newuts",
        NewIpc = ns::NEWIPC => "newipc",
        NewNet = ns::NEWNET => "newnet",
        NewCgroup = ns::NEWCGROUP => "newcgroup",
        /// User namespace; required by `uid_mappings` and `gid_mappings`.
        NewUser = ns::NEWUSER => "newuser",
        /// Pid namespace; needs the clone shape.
        NewPid = ns::NEWPID => "newpid",
    }
}

named! {
    /// A `mount(2)` flag: Linux `MS_*` in lower case without the prefix (the numbers are the
    /// same on every architecture).
    pub enum MountFlag: u64, "mount flag" {
        ReadOnly = 0x1 => "rdonly",
        NoSuid = 0x2 => "nosuid",
        NoDev = 0x4 => "nodev",
        NoExec = 0x8 => "noexec",
        Synchronous = 0x10 => "synchronous",
        Remount = 0x20 => "remount",
        Mandlock = 0x40 => "mandlock",
        DirSync = 0x80 => "dirsync",
        NoSymFollow = 0x100 => "nosymfollow",
        NoAtime = 0x400 => "noatime",
        NoDirAtime = 0x800 => "nodiratime",
        Bind = 0x1000 => "bind",
        Move = 0x2000 => "move",
        Rec = 0x4000 => "rec",
        Silent = 0x8000 => "silent",
        PosixAcl = 0x1_0000 => "posixacl",
        Unbindable = 0x2_0000 => "unbindable",
        Private = 0x4_0000 => "private",
        Slave = 0x8_0000 => "slave",
        Shared = 0x10_0000 => "shared",
        RelAtime = 0x20_0000 => "relatime",
        IVersion = 0x80_0000 => "i_version",
        StrictAtime = 0x100_0000 => "strictatime",
        LazyTime = 0x200_0000 => "lazytime",
    }
}

named! {
    /// An rlimit resource. The numbers come from libc because a few architectures (mips,
    /// sparc, alpha) number them differently, and the helper passes them to `prlimit64` as is.
    /// JSON also accepts the bare number.
    pub enum Resource: u32, "rlimit resource", numbers: Resource::by_number {
        Cpu = libc::RLIMIT_CPU => "cpu",
        Fsize = libc::RLIMIT_FSIZE => "fsize",
        Data = libc::RLIMIT_DATA => "data",
        Stack = libc::RLIMIT_STACK => "stack",
        Core = libc::RLIMIT_CORE => "core",
        Rss = libc::RLIMIT_RSS => "rss",
        Nproc = libc::RLIMIT_NPROC => "nproc",
        Nofile = libc::RLIMIT_NOFILE => "nofile",
        Memlock = libc::RLIMIT_MEMLOCK => "memlock",
        As = libc::RLIMIT_AS => "as",
        Locks = libc::RLIMIT_LOCKS => "locks",
        Sigpending = libc::RLIMIT_SIGPENDING => "sigpending",
        Msgqueue = libc::RLIMIT_MSGQUEUE => "msgqueue",
        Nice = libc::RLIMIT_NICE => "nice",
        Rtprio = libc::RLIMIT_RTPRIO => "rtprio",
        Rttime = libc::RLIMIT_RTTIME => "rttime",
    }
}

named! {
    /// The kind of a mount operation ([`crate::MountOp`]): its JSON `"type"`.
    pub enum MountKind: u16, "mount type" {
        /// Recursive bind of a path or an fd (`source` / `source_fd`).
        Bind = mount_kind::BIND => "bind",
        /// A new tmpfs (`size`, `mode`).
        Tmpfs = mount_kind::TMPFS => "tmpfs",
        /// A new proc of the target's pid namespace.
        Proc = mount_kind::PROC => "proc",
        /// A minimal `/dev`.
        Dev = mount_kind::DEV => "dev",
        /// A new mqueue file system of the target's ipc namespace.
        Mqueue = mount_kind::MQUEUE => "mqueue",
        /// A directory (`mode`).
        Dir = mount_kind::DIR => "dir",
        /// A symlink whose text is `source`.
        Symlink = mount_kind::SYMLINK => "symlink",
        /// A file (`mode`) holding `content` or what `content_fd` holds.
        File = mount_kind::FILE => "file",
        /// Make the mount at the target, and every mount below it, read-only.
        RemountRo = mount_kind::REMOUNT_RO => "remount_ro",
        /// Hide the target under an empty read-only directory or file.
        Mask = mount_kind::MASK => "mask",
    }
}

impl MountKind {
    /// The mode an operation of this kind gets unless told otherwise: 0755 for a tmpfs or a
    /// directory, 0644 for a file, 0 (none) for the kinds that take no mode.
    pub const fn default_mode(self) -> u32 {
        match self {
            MountKind::Tmpfs | MountKind::Dir => 0o755,
            MountKind::File => 0o644,
            _ => 0,
        }
    }
}

// Only rlimit resources may be written as numbers: they are commonly known by number, while
// numbers among clone or mount flags would defeat the point of names.
impl Resource {
    fn by_number(n: u64) -> Option<Self> {
        u32::try_from(n).ok().and_then(Self::from_value)
    }
}
