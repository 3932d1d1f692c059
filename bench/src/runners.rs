//! The runners: what each row of the report spawns, and the files they share.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::spawn::{Exe, How, PythonServer};
use crate::{profile, Config, Tools};

/// What a runner is, for the report.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Group {
    Floor,
    Helper,
    Bare,
    Peer,
    Client,
    Python,
}

pub struct Runner {
    /// Short stable name (throughput, strace, targets refer to it).
    pub key: &'static str,
    pub label: String,
    pub group: Group,
    /// Whether the profile includes a net namespace (compared with bwrap's net variant).
    pub net: bool,
    pub how: How,
    pub samples: Vec<Duration>,
}

/// Files the runners share, written once into the out directory.
pub struct Prepared {
    pub root: PathBuf,
    pub spec_empty: PathBuf,
    pub spec_sandbox: PathBuf,
    pub spec_sandbox_status1: PathBuf,
    pub seccomp: PathBuf,
    pub empty: forkexec_client::Spec,
    pub sandbox: forkexec_client::Spec,
    pub sandbox_net: forkexec_client::Spec,
    /// The profile with the helper's init as pid 1 and the payload as pid 2, the shape
    /// bubblewrap uses by default.
    pub sandbox_init: forkexec_client::Spec,
}

/// bwrap reads its filter from this fd.
pub const SECCOMP_FD: i32 = 9; // one digit: `sh` redirects 0–9 only (hyperfine check)

pub fn prepare(c: &Config) -> io::Result<Prepared> {
    fs::create_dir_all(&c.out)?;
    let root = c.out.join("root");
    fs::create_dir_all(&root)?;
    let empty = profile::empty_spec(&c.payload);
    let sandbox = profile::sandbox_spec(&c.payload, &root, false);
    let sandbox_net = profile::sandbox_spec(&c.payload, &root, true);
    let mut sandbox_init = sandbox.clone();
    sandbox_init.init = true;
    let mut sandbox_status1 = sandbox.clone();
    sandbox_status1.status_fd = Some(1);
    let write_spec = |name: &str, spec: &forkexec_client::Spec| -> io::Result<PathBuf> {
        let path = c.out.join(name);
        fs::write(&path, spec.encode().map_err(io::Error::other)?)?;
        Ok(path)
    };
    let seccomp = c.out.join("seccomp.bpf");
    fs::write(&seccomp, profile::seccomp_bytes())?;
    fs::write(c.out.join("spec-sandbox.json"), sandbox.to_json_pretty())?;
    Ok(Prepared {
        spec_empty: write_spec("spec-empty.bin", &empty)?,
        spec_sandbox: write_spec("spec-sandbox.bin", &sandbox)?,
        spec_sandbox_status1: write_spec("spec-sandbox-status1.bin", &sandbox_status1)?,
        seccomp,
        root,
        empty,
        sandbox,
        sandbox_net,
        sandbox_init,
    })
}

fn helper_how(helper: &Path, spec: &forkexec_client::Spec, wait_first: bool) -> How {
    How::Helper {
        exe: Exe::new(&[helper]),
        spec: spec.encode().expect("the profile encodes"),
        wait_first,
    }
}

fn bwrap_how(bwrap: &Path, c: &Config, p: &Prepared, net: bool) -> How {
    How::Plain {
        exe: Exe::new(&profile::bwrap_args(bwrap, &c.payload, SECCOMP_FD, net)),
        fd_file: Some((p.seccomp.clone(), SECCOMP_FD)),
    }
}

fn bare_how(c: &Config, p: &Prepared, mode: &str) -> How {
    let args = [
        c.bare.as_os_str(),
        mode.as_ref(),
        c.payload.as_os_str(),
        p.root.as_os_str(),
    ];
    How::Plain {
        exe: Exe::new(&args),
        fd_file: None,
    }
}

/// The order of the rows in the report and the chart.
const ORDER: [&str; 18] = [
    "floor",
    "bare_exec",
    "empty",
    "empty_file",
    "sandbox",
    "sandbox_init",
    "bare",
    "bare_flags",
    "bwrap",
    "unshare",
    "sandbox_net",
    "bare_net",
    "bwrap_net",
    "client_empty",
    "client_sandbox",
    "py_direct",
    "py_empty",
    "py_sandbox",
];

/// Every runner, in report order. Runners whose tool is missing are named in the second list.
pub fn all(
    c: &Config,
    t: &Tools,
    p: &Prepared,
    py: Option<&Arc<PythonServer>>,
) -> (Vec<Runner>, Vec<String>) {
    use Group::*;
    let plain = |exe: Exe| How::Plain { exe, fd_file: None };
    let helper = |spec| helper_how(&c.helper, spec, false);
    let client = |spec: &forkexec_client::Spec| How::Client {
        helper: c.helper.clone(),
        spec: Box::new(spec.clone()),
    };
    // (key, label, group, net namespace, how)
    let mut list: Vec<(&'static str, &str, Group, bool, How)> = vec![
        (
            "floor",
            "floor: vfork+execve",
            Floor,
            false,
            plain(Exe::new(&[&c.payload])),
        ),
        (
            "empty",
            "forkexec, empty spec (in place)",
            Helper,
            false,
            helper(&p.empty),
        ),
        (
            // The same without the status stream: the spec read from a file on fd 3.
            "empty_file",
            "forkexec, empty spec from a file",
            Helper,
            false,
            How::Plain {
                exe: Exe::new(&[&c.helper]),
                fd_file: Some((p.spec_empty.clone(), 3)),
            },
        ),
        (
            "sandbox",
            "forkexec, sandbox profile",
            Helper,
            false,
            helper(&p.sandbox),
        ),
        (
            "sandbox_net",
            "forkexec, sandbox profile + net",
            Helper,
            true,
            helper(&p.sandbox_net),
        ),
        (
            "sandbox_init",
            "forkexec, sandbox, init (as bwrap)",
            Helper,
            false,
            helper(&p.sandbox_init),
        ),
    ];
    if c.experiments {
        let mut no_setsid = p.empty.clone();
        no_setsid.setsid = false;
        let wait_first = |spec| helper_how(&c.helper, spec, true);
        list.push((
            "x_empty_wait",
            "[x] empty, stream read after wait",
            Helper,
            false,
            wait_first(&p.empty),
        ));
        list.push((
            "x_empty_no_setsid",
            "[x] empty spec, setsid off",
            Helper,
            false,
            helper(&no_setsid),
        ));
        list.push((
            "x_sandbox_wait",
            "[x] sandbox, stream read after wait",
            Helper,
            false,
            wait_first(&p.sandbox),
        ));
        if let Some(alt) = &c.alt_helper {
            let how = helper_how(alt, &p.empty, false);
            list.push((
                "x_alt_empty",
                "[x] other helper build, empty spec",
                Helper,
                false,
                how,
            ));
            let how = helper_how(alt, &p.sandbox, false);
            list.push((
                "x_alt_sandbox",
                "[x] other helper build, sandbox",
                Helper,
                false,
                how,
            ));
        }
    }
    list.extend([
        (
            "bare",
            "bare C, same kernel work",
            Bare,
            false,
            bare_how(c, p, "sandbox"),
        ),
        (
            "bare_net",
            "bare C, same kernel work + net",
            Bare,
            true,
            bare_how(c, p, "sandbox-net"),
        ),
        (
            "bare_exec",
            "bare C, execve → payload",
            Bare,
            false,
            bare_how(c, p, "exec"),
        ),
        (
            "bare_flags",
            "bare C, clone flags only",
            Bare,
            false,
            bare_how(c, p, "flags"),
        ),
    ]);
    let mut skipped = Vec::new();
    match &t.bwrap {
        Some(bwrap) => list.extend([
            (
                "bwrap",
                "bwrap, equivalent profile",
                Peer,
                false,
                bwrap_how(bwrap, c, p, false),
            ),
            (
                "bwrap_net",
                "bwrap, equivalent profile + net",
                Peer,
                true,
                bwrap_how(bwrap, c, p, true),
            ),
        ]),
        None => skipped.push("bubblewrap (bwrap not installed)".to_string()),
    }
    match &t.unshare {
        Some(unshare) => {
            let how = plain(Exe::new(&profile::unshare_args(unshare, &c.payload)));
            list.push(("unshare", "unshare -Urmpf --mount-proc", Peer, false, how));
        }
        None => skipped.push("unshare (util-linux not installed)".to_string()),
    }
    list.extend([
        (
            "client_empty",
            "Rust client Runner, empty spec",
            Client,
            false,
            client(&p.empty),
        ),
        (
            "client_sandbox",
            "Rust client Runner, sandbox profile",
            Client,
            false,
            client(&p.sandbox),
        ),
    ]);
    match py {
        Some(py) => {
            let how = |what| How::Python {
                py: Arc::clone(py),
                what,
            };
            list.extend([
                (
                    "py_direct",
                    "Python subprocess.run(payload)",
                    Python,
                    false,
                    how("direct"),
                ),
                (
                    "py_empty",
                    "Python → forkexec, empty spec",
                    Python,
                    false,
                    how("empty"),
                ),
                (
                    "py_sandbox",
                    "Python → forkexec, sandbox profile",
                    Python,
                    false,
                    how("sandbox"),
                ),
            ]);
        }
        None => skipped.push("Python runners (python3 not found or not starting)".to_string()),
    }
    // Report order: each sandbox next to what it is compared with; experiments last.
    list.sort_by_key(|r| ORDER.iter().position(|k| *k == r.0).unwrap_or(ORDER.len()));
    let runners = list
        .into_iter()
        .map(|(key, label, group, net, how)| Runner {
            key,
            label: label.to_string(),
            group,
            net,
            how,
            samples: Vec::new(),
        })
        .collect();
    (runners, skipped)
}
