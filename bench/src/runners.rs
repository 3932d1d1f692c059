//! The runners: what each row of the report spawns, and the files they share.

use std::ffi::OsStr;
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
    /// The same command line through forkexec-run and through bwrap (issue 17).
    Cli,
    /// Runs through a fork server (or a warm sandbox) started once (issue 14).
    Served,
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
    /// CPU time per run (user + system of the spawned process and what it waited for), for
    /// the runners that spawn one process.
    pub cpu: Vec<Duration>,
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
    /// The profile with only the end records asked for (`only_end_records`): what a runtime
    /// that only waits for the end sends.
    pub sandbox_end: forkexec_client::Spec,
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
    let mut sandbox_end = sandbox.clone();
    sandbox_end.only_end_records = true;
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
        sandbox_end,
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

/// The served rows' runs ask for only the exit record (`only_end_records`), as the clients'
/// `Runner::run` does when nothing needs the start's records: each row waits for the end
/// only, as the floor and the bare program do.
fn end_only(mut spec: forkexec_client::Spec) -> forkexec_client::Spec {
    spec.only_end_records = true;
    spec
}

type Row = (&'static str, &'static str, Group, bool, How);

/// The judge rows (docs/judge.md, "Cost"): the sandbox profile through `Judge` without a
/// cgroup, with a fresh cgroup per run, with one from a pool. The cgroup rows need root and
/// a memory controller.
fn judge_rows(c: &Config, p: &Prepared, list: &mut Vec<Row>, skipped: &mut Vec<String>) {
    use crate::spawn::JudgeCgroup;
    use forkexec_client::cgroup::{Layout, Pool};
    let how = |cgroup| How::Judge {
        helper: c.helper.clone(),
        spec: Box::new(p.sandbox.clone()),
        cgroup,
    };
    list.push((
        "judge_none",
        "Rust Judge, sandbox, no cgroup",
        Group::Client,
        false,
        how(JudgeCgroup::None),
    ));
    // SAFETY: geteuid cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let layout = Layout::detect().ok().filter(|l| l.kind().is_some());
    match (root, layout) {
        (true, Some(layout)) => {
            let pool = Pool::new(layout.clone(), "forkexec-bench", 4);
            list.push((
                "judge_fresh",
                "Rust Judge, sandbox, fresh cgroup",
                Group::Client,
                false,
                how(JudgeCgroup::Fresh(layout)),
            ));
            list.push((
                "judge_pool",
                "Rust Judge, sandbox, pooled cgroup",
                Group::Client,
                false,
                how(JudgeCgroup::Pool(Arc::new(pool))),
            ));
        }
        (false, _) => skipped.push("judge cgroup rows (need root)".to_string()),
        (true, None) => skipped.push("judge cgroup rows (no memory controller)".to_string()),
    }
}

/// The order of the rows in the report and the chart.
const ORDER: [&str; 35] = [
    "floor",
    "bare_exec",
    "empty",
    "empty_file",
    "server_empty",
    "pool",
    "pool_shared",
    "sandbox",
    "sandbox_end",
    "server_sandbox",
    "sandbox_init",
    "bare",
    "bare_flags",
    "bwrap",
    "unshare",
    "sandbox_net",
    "bare_net",
    "bwrap_net",
    "cli",
    "cli_stay",
    "cli_bwrap",
    "bwrap_cli",
    "cli_version",
    "c_hello",
    "client_empty",
    "client_sandbox",
    "judge_none",
    "judge_fresh",
    "judge_pool",
    "py_direct",
    "py_empty",
    "py_sandbox",
    "py_spawn_empty",
    "py_client_empty",
    "py_client_sandbox",
];

/// Every runner, in report order. Runners whose tool is missing are named in the second list.
pub fn all(
    c: &Config,
    t: &Tools,
    p: &Prepared,
    py: Option<&Arc<PythonServer>>,
    server: Option<&Arc<forkexec_client::Server>>,
    [pool, pool_shared]: [Option<&Arc<forkexec_client::Pool>>; 2],
) -> (Vec<Runner>, Vec<String>) {
    use Group::*;
    let plain = |exe: Exe| How::Plain { exe, fd_file: None };
    let helper = |spec| helper_how(&c.helper, spec, false);
    let client = |spec: &forkexec_client::Spec| How::Client {
        helper: c.helper.clone(),
        spec: Box::new(spec.clone()),
    };
    // (key, label, group, net namespace, how)
    let mut list: Vec<Row> = vec![
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
        (
            "sandbox_end",
            "forkexec, sandbox profile, end records only",
            Helper,
            false,
            helper(&p.sandbox_end),
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
        // The client rows without setsid too: with autogroup on, setsid moves the helper
        // into a new scheduler group, which on a loaded machine delays every helper row by
        // milliseconds and hides what the clients themselves cost.
        list.push((
            "x_client_empty_no_setsid",
            "[x] Rust client, empty spec, setsid off",
            Client,
            false,
            client(&no_setsid),
        ));
        if let Some(py) = py {
            let how = How::Python {
                py: Arc::clone(py),
                what: "client_empty_no_setsid",
            };
            let label = "[x] Python client, empty spec, setsid off";
            list.push(("x_py_client_empty_no_setsid", label, Python, false, how));
        }
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
    if let Some(cli) = &c.cli {
        // One command line, as a person types it (issue 17): the CLI finds the helper next to
        // itself; in place by default, staying as the parent with --stay.
        let line = profile::cli_line(&c.payload);
        let with = |first: &[&OsStr]| {
            let mut v: Vec<&OsStr> = vec![cli.as_os_str()];
            v.extend_from_slice(first);
            v.extend(line.iter().map(|a| a.as_os_str()));
            plain(Exe::new(&v))
        };
        list.push((
            "cli",
            "forkexec-run, command line (in place)",
            Cli,
            true,
            with(&[]),
        ));
        let stay = with(&[OsStr::new("--stay")]);
        list.push((
            "cli_stay",
            "forkexec-run --stay, command line",
            Cli,
            true,
            stay,
        ));
        // bubblewrap mode: the same words read as bwrap reads them, bwrap's defaults (issue 18).
        list.push((
            "cli_bwrap",
            "forkexec-run as bwrap (--bwrap), command line",
            Cli,
            true,
            with(&[OsStr::new("--bwrap")]),
        ));
        let version = plain(Exe::new(&[cli.as_os_str(), OsStr::new("--version")]));
        list.push(("cli_version", "forkexec-run --version", Cli, false, version));
        if let Some(hello) = &c.hello {
            let how = plain(Exe::new(&[hello]));
            list.push(("c_hello", "static C hello (glibc), start", Cli, false, how));
        }
        match &t.bwrap {
            Some(bwrap) => {
                let mut v: Vec<&OsStr> = vec![bwrap.as_os_str()];
                v.extend(line.iter().map(|a| a.as_os_str()));
                list.push((
                    "bwrap_cli",
                    "bwrap, the same command line",
                    Cli,
                    true,
                    plain(Exe::new(&v)),
                ));
            }
            None => skipped.push("bwrap's command-line row (bwrap not installed)".to_string()),
        }
    } else {
        skipped.push("the forkexec-run rows (no --cli)".to_string());
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
            "Rust client Runner::run, empty spec",
            Client,
            false,
            client(&p.empty),
        ),
        (
            "client_sandbox",
            "Rust client Runner::run, sandbox profile",
            Client,
            false,
            client(&p.sandbox),
        ),
    ]);
    judge_rows(c, p, &mut list, &mut skipped);
    match server {
        Some(server) => {
            let how = |spec: &forkexec_client::Spec| How::Server {
                server: Arc::clone(server),
                spec: Box::new(end_only(spec.clone())),
            };
            list.push((
                "server_empty",
                "fork server, empty spec",
                Served,
                false,
                how(&p.empty),
            ));
            list.push((
                "server_sandbox",
                "fork server, sandbox profile",
                Served,
                false,
                how(&p.sandbox),
            ));
        }
        None => skipped.push("fork server rows (the server did not start)".to_string()),
    }
    match pool {
        Some(pool) => list.push((
            "pool",
            "warm sandbox (Pool), sandbox profile",
            Served,
            false,
            How::Pool {
                pool: Arc::clone(pool),
                run: Box::new(end_only(profile::pool_run())),
            },
        )),
        None => skipped.push("the warm sandbox row (the pool did not start)".to_string()),
    }
    match pool_shared {
        Some(pool) => list.push((
            "pool_shared",
            "warm sandbox, shared namespaces, sandbox profile",
            Served,
            false,
            How::Pool {
                pool: Arc::clone(pool),
                run: Box::new(end_only(profile::pool_run())),
            },
        )),
        None => skipped.push("the shared warm sandbox row (the pool did not start)".into()),
    }
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
                (
                    "py_spawn_empty",
                    "Python os.posix_spawn → forkexec, empty spec (no client)",
                    Python,
                    false,
                    how("spawned_empty"),
                ),
                (
                    "py_client_empty",
                    "Python client Runner.run, empty spec",
                    Python,
                    false,
                    how("client_empty"),
                ),
                (
                    "py_client_sandbox",
                    "Python client Runner.run, sandbox profile",
                    Python,
                    false,
                    how("client_sandbox"),
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
            cpu: Vec::new(),
        })
        .collect();
    (runners, skipped)
}
