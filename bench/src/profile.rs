//! What every runner is told to do: the forkexec specs (empty, the sandbox profile), the
//! equivalent bubblewrap and `unshare` command lines, and the seccomp filter they share.

use std::path::Path;

use forkexec_client::{IdMap, Mount, MountFlag, Namespace, Resource, SockFilter, Spec};

/// Where the payload appears inside the sandbox.
pub const PAYLOAD_INSIDE: &str = "/payload";

/// The device nodes bubblewrap's `--dev` binds from the host, bound the same way here.
pub const DEV_NODES: [&str; 6] = [
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
];

/// The rlimits of the profile (bubblewrap has no rlimit option; see docs/bench.md).
pub const RLIMITS: [(Resource, u64); 5] = [
    (Resource::Nofile, 64),
    (Resource::Core, 0),
    (Resource::Cpu, 10),
    (Resource::Fsize, 64 << 20),
    (Resource::As, 1 << 30),
];

/// Syscalls the profile's seccomp filter answers with EPERM; everything else is allowed.
pub const DENIED: [u32; 16] = [
    101, // ptrace
    246, // kexec_load
    320, // kexec_file_load
    175, // init_module
    313, // finit_module
    176, // delete_module
    169, // reboot
    167, // swapon
    168, // swapoff
    163, // acct
    248, // add_key
    249, // request_key
    250, // keyctl
    321, // bpf
    298, // perf_event_open
    323, // userfaultfd
];

const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
const RET_K: u16 = 0x06; // BPF_RET | BPF_K
const RET_KILL_PROCESS: u32 = 0x8000_0000;
const RET_ALLOW: u32 = 0x7fff_0000;
const RET_ERRNO_EPERM: u32 = 0x0005_0000 | 1;

/// A small realistic filter: the wrong architecture kills, x32 numbers and [`DENIED`] get
/// EPERM, everything else is allowed (the helper's last `execve` included).
pub fn seccomp_filter() -> Vec<SockFilter> {
    let n = DENIED.len();
    let errno_at = 6 + n; // index of the final `ret ERRNO`
    let mut f = vec![
        SockFilter::stmt(LD_W_ABS, 4), // seccomp_data.arch
        SockFilter::jump(JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
        SockFilter::stmt(RET_K, RET_KILL_PROCESS),
        SockFilter::stmt(LD_W_ABS, 0), // seccomp_data.nr
        SockFilter::jump(JGE_K, X32_SYSCALL_BIT, (errno_at - 5) as u8, 0),
    ];
    for (i, &nr) in DENIED.iter().enumerate() {
        let at = 5 + i;
        f.push(SockFilter::jump(JEQ_K, nr, (errno_at - at - 1) as u8, 0));
    }
    f.push(SockFilter::stmt(RET_K, RET_ALLOW));
    f.push(SockFilter::stmt(RET_K, RET_ERRNO_EPERM));
    f
}

/// The filter as `struct sock_filter[]` bytes, for `bwrap --seccomp FD`.
pub fn seccomp_bytes() -> Vec<u8> {
    let mut out = Vec::new();
    for i in seccomp_filter() {
        out.extend_from_slice(&i.code.to_le_bytes());
        out.push(i.jt);
        out.push(i.jf);
        out.extend_from_slice(&i.k.to_le_bytes());
    }
    out
}

/// The empty spec: the payload, nothing else (the client's defaults: fds 0–2, `setsid`).
pub fn empty_spec(payload: &Path) -> Spec {
    Spec::new([payload.to_string_lossy()])
}

/// The typical sandbox profile (see docs/bench.md): user, mount, pid, ipc, uts and cgroup
/// namespaces (plus net with `net`), root mapped to the caller, `pivot_root` onto a tmpfs with
/// `/usr` and the payload bound read-only, proc, a minimal `/dev`, a host name, rlimits,
/// `no_new_privs`, capabilities dropped, a seccomp filter.
pub fn sandbox_spec(payload: &Path, root: &Path, net: bool) -> Spec {
    let (euid, egid) = (unsafe { libc::geteuid() }, unsafe { libc::getegid() });
    let mut spec = Spec::new([PAYLOAD_INSIDE]);
    spec.clone_flags = vec![
        Namespace::NewUser,
        Namespace::NewNs,
        Namespace::NewPid,
        Namespace::NewIpc,
        Namespace::NewUts,
        Namespace::NewCgroup,
    ];
    if net {
        spec.clone_flags.push(Namespace::NewNet);
    }
    spec.uid_mappings = vec![IdMap::new(0, euid, 1)];
    spec.gid_mappings = vec![IdMap::new(0, egid, 1)];
    spec.pivot_root = root.to_string_lossy().into_owned();
    spec.mounts = vec![
        Mount::bind("/usr", "/usr", true).into(),
        Mount::bind(payload.to_string_lossy(), PAYLOAD_INSIDE, true).into(),
        Mount::proc("/proc").into(),
        Mount::tmpfs("/dev", "mode=755").into(),
    ];
    for node in DEV_NODES {
        spec.mounts.push(
            Mount::new(node, node, "", [MountFlag::Bind], "")
                .file(true)
                .into(),
        );
    }
    spec.host_name = "sandbox".into();
    spec.work_dir = "/".into();
    spec.rlimits = RLIMITS
        .iter()
        .map(|&(r, v)| forkexec_client::Rlimit::new(r, v, v))
        .collect();
    spec.no_new_privs = true;
    spec.drop_caps = true;
    spec.seccomp = vec![seccomp_filter()];
    spec
}

/// The warm sandbox of the pool row (issue 14): the profile's namespaces, id maps, root,
/// mounts and host name, built once per sandbox (the pool adds the proc each run gets). What
/// belongs to each run is left out here ([`pool_run`]): the sandbox's server keeps its
/// capabilities to build each run's namespaces.
pub fn pool_shape(helper: &Path, payload: &Path, root: &Path) -> forkexec_client::SandboxBuilder {
    let mut spec = sandbox_spec(payload, root, false);
    spec.args = vec!["unused".into()];
    spec.mounts
        .retain(|m| m.as_raw().is_none_or(|raw| raw.fstype != "proc"));
    spec.rlimits.clear();
    spec.no_new_privs = false;
    spec.drop_caps = false;
    spec.seccomp = Vec::new();
    let shape = forkexec_client::Runner::from_spec(spec).helper(helper);
    forkexec_client::Sandbox::builder(shape)
}

/// One run in the warm sandbox: the payload with the profile's per-run parts (work dir,
/// rlimits, `no_new_privs`, the seccomp filter); the pool adds its own user, pid, mount and
/// ipc namespaces, init, a fresh proc, capabilities dropped.
pub fn pool_run() -> Spec {
    let mut spec = Spec::new([PAYLOAD_INSIDE]);
    spec.work_dir = "/".into();
    spec.rlimits = RLIMITS
        .iter()
        .map(|&(r, v)| forkexec_client::Rlimit::new(r, v, v))
        .collect();
    spec.no_new_privs = true;
    spec.seccomp = vec![seccomp_filter()];
    spec
}

/// bubblewrap with the same profile. `seccomp_fd` is where the runner puts the filter.
/// bubblewrap always sets `no_new_privs`, always pivots onto a tmpfs, and has no rlimits.
pub fn bwrap_args(bwrap: &Path, payload: &Path, seccomp_fd: i32, net: bool) -> Vec<String> {
    let mut a: Vec<String> = vec![bwrap.to_string_lossy().into_owned()];
    let mut push = |items: &[&str]| a.extend(items.iter().map(|s| s.to_string()));
    push(&["--unshare-user", "--uid", "0", "--gid", "0"]);
    push(&[
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup",
    ]);
    if net {
        push(&["--unshare-net"]);
    }
    push(&["--ro-bind", "/usr", "/usr"]);
    push(&["--ro-bind", &payload.to_string_lossy(), PAYLOAD_INSIDE]);
    push(&["--proc", "/proc", "--dev", "/dev", "--hostname", "sandbox"]);
    push(&["--chdir", "/", "--new-session", "--cap-drop", "ALL"]);
    push(&["--seccomp", &seccomp_fd.to_string(), PAYLOAD_INSIDE]);
    a
}

/// util-linux's `unshare -Urmpf --mount-proc`: user (root mapped), mount, pid namespaces,
/// fork, a new proc; no new root.
pub fn unshare_args(unshare: &Path, payload: &Path) -> Vec<String> {
    vec![
        unshare.to_string_lossy().into_owned(),
        "-Urmpf".into(),
        "--mount-proc".into(),
        payload.to_string_lossy().into_owned(),
    ]
}

/// The command line of issue 17, the same words for forkexec-run and bwrap: every namespace,
/// `/usr` and the payload bound read-only, a fresh proc, a minimal /dev, a tmpfs, the payload.
pub fn cli_line(payload: &Path) -> Vec<std::ffi::OsString> {
    let mut v: Vec<std::ffi::OsString> =
        ["--unshare-all", "--ro-bind", "/usr", "/usr", "--ro-bind"]
            .iter()
            .map(Into::into)
            .collect();
    v.push(payload.into());
    v.extend(
        [
            "/payload", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "/payload",
        ]
        .iter()
        .map(Into::into),
    );
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_jumps_land_on_errno() {
        let f = seccomp_filter();
        let last = f.len() - 1;
        assert_eq!(f[last].k, RET_ERRNO_EPERM);
        for (i, ins) in f.iter().enumerate().skip(4).take(DENIED.len() + 1) {
            assert_eq!(i + 1 + ins.jt as usize, last, "instruction {i}");
        }
    }
}
