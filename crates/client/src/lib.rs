//! Rust client for the `forkexec` sandbox exec helper.
//!
//! go-sandbox's `pkg/forkexec` forks and runs the sandbox chain in the child; here the child
//! half is the static `forkexec` helper binary, so this crate only spawns it, writes the
//! binary spec and answers its status records. The API follows go-sandbox: a [`Runner`] with
//! the same fields, [`Runner::start`] returning the running [`Process`] or a [`ChildError`]
//! such as `mount(3): operation not permitted`, a sync callback, and `wait` with rusage.
//!
//! - [`spec`]: the owned [`Spec`] and its JSON form ([`Spec::from_json`], [`Spec::to_json`]);
//!   its `mounts` are raw [`Mount`]s and [`MountOp`]s ([`MountEntry`]).
//! - [`names`]: [`Namespace`], [`MountFlag`], [`MountKind`] and [`Resource`], the names used
//!   in JSON.
//! - [`encode`]: [`Spec::encode`] to wire bytes, validated by the helper's own decoder.
//! - [`runner`]: [`Runner`], the builder, `start` and (in its docs) the status protocol.
//! - [`helper`]: where the helper binary is looked for ([`find_helper`]).
//! - [`process`]: [`Process`], `wait` with [`Rusage`], `kill`.
//! - [`pool`]: warm sandboxes, [`Sandbox`] and [`Pool`]: namespaces, root and mounts built once,
//!   a fork server inside running one fresh process per run.
//! - [`server`]: [`Server`], the helper started once as a fork server, and its runs
//!   ([`ServedProcess`]).
//! - [`error`]: [`Error`] and [`ChildError`].
//! - [`cgroup`]: per-run cgroups on v1, v2 and hybrid machines, and a [`cgroup::Pool`].
//! - [`judge`]: [`judge::Judge`], a run under limits on the whole sandbox, with a verdict
//!   ([`judge::JudgeResult`]).

#![warn(missing_docs)]

pub mod cgroup;
pub mod encode;
pub mod error;
pub mod helper;
pub mod judge;
pub mod landlock;
pub mod names;
pub mod pool;
pub mod process;
pub mod runner;
pub mod server;
mod shared;
pub mod spec;
mod status;
mod sys;

pub use encode::EncodeError;
pub use error::{BoxError, ChildError, Error};
pub use forkexec_spec::{Fault, Location, SpecError};
pub use helper::{find_helper, HELPER_ENV, HELPER_NAME};
pub use landlock::{Landlock, LandlockPath, LandlockPort};
pub use names::{MountFlag, MountKind, Named, Namespace, Resource, UnknownName};
pub use pool::{Pool, Sandbox, SandboxBuilder};
pub use process::{Process, Rusage, WaitStatus};
pub use runner::{Runner, SpawnFunc, SyncFunc};
pub use server::{ServedProcess, Server};
pub use spec::{
    Caps, Credential, IdMap, JoinNs, JsonError, Mount, MountEntry, MountOp, Rlimit, SockFilter,
    Spec, RLIM_INFINITY,
};
