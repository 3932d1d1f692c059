//! The named constants of the JSON form: namespaces, mount flags, mount operation types and
//! rlimit resources.
//!
//! Each is an enum with a fixed name table, so a spec written by hand reads `"newns"` or
//! `"nofile"` rather than magic numbers, and a typo is an error that lists every valid name
//! instead of a silently different sandbox.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

use forkexec_spec::layout;
use forkexec_spec::tables::KindInfo;
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
        pub enum $Enum:ident: $T:ty, $what:path $(, numbers: $by_number:path)? {
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

/// Feeds a table's rows (`forkexec_spec::*_rows!`) to [`named!`]: the variants, numbers and
/// names come from `crates/spec/src/tables.rs`, nowhere else.
macro_rules! from_table {
    ({ $(#[$meta:meta])* pub enum $Enum:ident: $T:ty, $what:path $(, numbers: $by_number:path)? }
     $( $(#[$vdoc:meta])* $Variant:ident $CONST:ident = $value:expr => $name:literal
        $({ $($rest:tt)* })?, )*) => {
        named! {
            $(#[$meta])*
            pub enum $Enum: $T, $what $(, numbers: $by_number)? {
                $( $(#[$vdoc])* $Variant = $value => $name, )*
            }
        }
    };
}

forkexec_spec::clone_flag_rows! { from_table! {
    /// A namespace to unshare (`clone_flags`): the `CLONE_NEW*` flags.
    pub enum Namespace: u64, layout::ns::WHAT
} }

forkexec_spec::mount_flag_rows! { from_table! {
    /// A `mount(2)` flag: Linux `MS_*` in lower case without the prefix (the numbers are the
    /// same on every architecture).
    pub enum MountFlag: u64, layout::mount_flags::WHAT
} }

forkexec_spec::rlimit_rows! { from_table! {
    /// An rlimit resource (the numbering of x86, arm, riscv and most architectures, which the
    /// helper passes to `prlimit64` as is). JSON also accepts the bare number.
    pub enum Resource: u32, layout::rlimit::WHAT, numbers: Resource::by_number
} }

forkexec_spec::mount_kind_rows! { from_table! {
    /// The kind of a mount operation ([`crate::MountOp`]): its JSON `"type"`. What each kind
    /// takes is its row in the spec crate ([`MountKind::info`]).
    pub enum MountKind: u16, layout::mount_kind::WHAT
} }

impl MountKind {
    /// The kind's row: which flags and fields it takes, its source rule, its default mode.
    pub fn info(self) -> &'static KindInfo {
        match KindInfo::of(self.value()) {
            Some(info) => info,
            None => unreachable!("MountKind is generated from the same table as KindInfo"),
        }
    }

    /// The mode an operation of this kind gets unless told otherwise: 0755 for a tmpfs or a
    /// directory, 0644 for a file, 0 (none) for the kinds that take no mode.
    pub fn default_mode(self) -> u32 {
        self.info().default_mode
    }
}

// Only rlimit resources may be written as numbers: they are commonly known by number, while
// numbers among clone or mount flags would defeat the point of names.
impl Resource {
    fn by_number(n: u64) -> Option<Self> {
        u32::try_from(n).ok().and_then(Self::from_value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tables' rlimit numbers are the ones libc uses on this architecture.
    #[test]
    fn resource_numbers_match_libc() {
        let libc_numbers = [
            (Resource::Cpu, libc::RLIMIT_CPU),
            (Resource::Fsize, libc::RLIMIT_FSIZE),
            (Resource::Data, libc::RLIMIT_DATA),
            (Resource::Stack, libc::RLIMIT_STACK),
            (Resource::Core, libc::RLIMIT_CORE),
            (Resource::Rss, libc::RLIMIT_RSS),
            (Resource::Nproc, libc::RLIMIT_NPROC),
            (Resource::Nofile, libc::RLIMIT_NOFILE),
            (Resource::Memlock, libc::RLIMIT_MEMLOCK),
            (Resource::As, libc::RLIMIT_AS),
            (Resource::Locks, libc::RLIMIT_LOCKS),
            (Resource::Sigpending, libc::RLIMIT_SIGPENDING),
            (Resource::Msgqueue, libc::RLIMIT_MSGQUEUE),
            (Resource::Nice, libc::RLIMIT_NICE),
            (Resource::Rtprio, libc::RLIMIT_RTPRIO),
            (Resource::Rttime, libc::RLIMIT_RTTIME),
        ];
        assert_eq!(libc_numbers.len(), Resource::ALL.len());
        for (r, n) in libc_numbers {
            assert_eq!(u64::from(r.value()), n as u64, "{r}");
        }
    }

    /// Every kind the spec crate knows has a variant, with its number and name.
    #[test]
    fn kinds_follow_the_table() {
        assert_eq!(MountKind::ALL.len(), KindInfo::ALL.len());
        for (kind, info) in MountKind::ALL.iter().zip(KindInfo::ALL) {
            assert_eq!((kind.value(), kind.name()), (info.kind, info.name));
        }
    }
}
