//! `make bench`: forkexec's spawn cost next to the floor and the peers, in one run.
//!
//! The same tiny static payload (`bench/payload.c`: `exit_group(0)`) is started by every
//! runner, in interleaved rounds (each round runs every runner once, in a freshly shuffled
//! order), each spawn+wait timed from here with the monotonic clock. Then one and two
//! concurrent spawners measure throughput, `strace -f -c` counts the syscalls of one
//! sandboxed spawn, `perf stat` counts CPU time, context switches and page faults per spawn,
//! hyperfine cross-checks a few runners, and the results are written as markdown and an SVG
//! chart (`bench/out/`, and with `--docs`/`--readme` into docs/ and README.md).
//!
//! Run `make bench`; `forkexec-bench --help` lists the options.

mod cpu;
mod machine;
mod probes;
mod profile;
mod report;
mod runners;
mod spawn;
mod stats;

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use probes::{StraceTarget, Throughput};
use runners::{Group, Prepared, Runner, SECCOMP_FD};
use spawn::PythonServer;

const USAGE: &str = "\
forkexec-bench: spawn cost of forkexec next to the vfork+execve floor, bubblewrap, unshare, Python

usage: forkexec-bench [options]
  --helper PATH      the forkexec helper          (target/release/forkexec)
  --cli PATH         forkexec-run, for the command-line rows (left out without it)
  --hello PATH       a static C hello (glibc), the yardstick for forkexec-run --version
  --payload PATH     the static payload           (bench/out/payload)
  --bare PATH        the bare C sandbox program   (bench/out/bare)
  --python-script P  bench/spawn.py               (bench/spawn.py)
  --out DIR          results, chart, scratch      (bench/out)
  --docs DIR         also write DIR/bench.md and DIR/bench.svg (between their markers)
  --readme PATH      also refresh the marked Performance block of this README
  --rounds N         interleaved rounds           (1000)
  --warmup N         untimed rounds first         (30)
  --tput-secs S      seconds per throughput run   (3)
  --quick            a smoke run: 40 rounds, short throughput, no extras
  --no-extras       skip the perf stat counters and the hyperfine cross-check
  --experiments      add the [x] runners used to find where the time goes (docs/bench.md)
  --alt-helper PATH  with --experiments: also run this helper build
  --only K1,K2,..    run only these runners (keys: floor, empty, empty_file, sandbox, bare,
                     bare_exec, bwrap, …; see ORDER in bench/src/runners.rs)
  --loop KEY         (for perf stat) spawn only runner KEY, --count N times, print nothing
";

pub struct Config {
    pub helper: PathBuf,
    /// forkexec-run (statically linked by `make cli`), for the command-line rows.
    pub cli: Option<PathBuf>,
    /// A static glibc C program printing one line (bench/hello.c).
    pub hello: Option<PathBuf>,
    pub payload: PathBuf,
    pub bare: PathBuf,
    pub python_script: PathBuf,
    pub out: PathBuf,
    pub docs: Option<PathBuf>,
    pub readme: Option<PathBuf>,
    pub rounds: usize,
    pub warmup: usize,
    pub tput: Duration,
    /// The perf stat counters and the hyperfine cross-check.
    pub extras: bool,
    /// Extra runners used to find where the time goes (docs/bench.md), labelled `[x]`.
    pub experiments: bool,
    pub alt_helper: Option<PathBuf>,
    /// Only these runner keys (for profiling one comparison).
    pub only: Option<Vec<String>>,
    /// `--loop KEY --count N`: the process `perf stat` counts.
    pub loop_key: Option<String>,
    pub count: usize,
}

fn parse_args() -> Result<Config, String> {
    let mut c = Config {
        helper: "target/release/forkexec".into(),
        cli: None,
        hello: None,
        payload: "bench/out/payload".into(),
        bare: "bench/out/bare".into(),
        python_script: "bench/spawn.py".into(),
        out: "bench/out".into(),
        docs: None,
        readme: None,
        rounds: 1000,
        warmup: 30,
        tput: Duration::from_secs(3),
        extras: true,
        experiments: false,
        alt_helper: None,
        only: None,
        loop_key: None,
        count: 1000,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        let number = |v: String| v.parse::<usize>().map_err(|e| format!("{v}: {e}"));
        match a.as_str() {
            "--helper" => c.helper = value()?.into(),
            "--cli" => c.cli = Some(value()?.into()),
            "--hello" => c.hello = Some(value()?.into()),
            "--payload" => c.payload = value()?.into(),
            "--bare" => c.bare = value()?.into(),
            "--python-script" => c.python_script = value()?.into(),
            "--out" => c.out = value()?.into(),
            "--docs" => c.docs = Some(value()?.into()),
            "--readme" => c.readme = Some(value()?.into()),
            "--rounds" => c.rounds = number(value()?)?.max(1),
            "--warmup" => c.warmup = number(value()?)?,
            "--tput-secs" => c.tput = Duration::from_secs_f64(number(value()?)? as f64),
            "--experiments" => c.experiments = true,
            "--alt-helper" => c.alt_helper = Some(value()?.into()),
            "--no-extras" => c.extras = false,
            "--only" => c.only = Some(value()?.split(',').map(str::to_string).collect()),
            "--loop" => c.loop_key = Some(value()?),
            "--count" => c.count = number(value()?)?,
            "--quick" => {
                c.rounds = 40;
                c.warmup = 5;
                c.tput = Duration::from_millis(300);
                c.extras = false;
            }
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(format!("unknown argument {a}\n\n{USAGE}")),
        }
    }
    Ok(c)
}

/// A small seeded PRNG for the round order (reproducible, no dependency).
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Fisher–Yates.
    fn shuffle(&mut self, v: &mut [usize]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// A tool looked up on PATH.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file()))
}

pub struct Tools {
    pub bwrap: Option<PathBuf>,
    pub unshare: Option<PathBuf>,
    pub strace: Option<PathBuf>,
    pub hyperfine: Option<PathBuf>,
    pub python: Option<PathBuf>,
    /// Only when it can count software events here.
    pub perf: Option<PathBuf>,
}

fn main() {
    let mut c = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("forkexec-bench: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&mut c) {
        eprintln!("forkexec-bench: {e}");
        std::process::exit(1);
    }
}

/// Makes the paths absolute (the sandbox binds the payload and pivots onto a directory under
/// `out`) and checks that the built files are there.
fn resolve_paths(c: &mut Config) -> io::Result<()> {
    for (what, path) in [
        ("helper", &mut c.helper),
        ("payload", &mut c.payload),
        ("bare", &mut c.bare),
        ("script", &mut c.python_script),
    ] {
        if !path.is_file() {
            return Err(io::Error::other(format!(
                "no {what} at {} (run `make bench`)",
                path.display()
            )));
        }
        *path = path.canonicalize()?;
    }
    for path in [&mut c.cli, &mut c.hello].into_iter().flatten() {
        if !path.is_file() {
            return Err(io::Error::other(format!("no file at {}", path.display())));
        }
        *path = path.canonicalize()?;
    }
    fs::create_dir_all(&c.out)?;
    c.out = c.out.canonicalize()?;
    Ok(())
}

/// `--loop KEY`: spawn one runner `count` times and nothing else (what `perf stat` counts).
/// The fork server rows start their server first (counted, like the zero-count run's).
fn run_loop(c: &Config, tools: &Tools, p: &Prepared, key: &str) -> io::Result<()> {
    let server = match key.starts_with("server_") {
        true => Some(Arc::new(
            forkexec_client::Server::start_with(&c.helper).map_err(io::Error::other)?,
        )),
        false => None,
    };
    let (rs, _) = runners::all(c, tools, p, None, server.as_ref(), [None, None]);
    let r = rs
        .iter()
        .find(|r| r.key == key)
        .ok_or_else(|| io::Error::other(format!("no runner {key}")))?;
    for _ in 0..c.count {
        r.how.once()?;
    }
    Ok(())
}

/// The interleaved rounds: every round runs each runner once, in a new shuffled order. A spawn
/// can be slowed by the one before it (namespace teardown finishes asynchronously, on the
/// other CPU), and a fixed or merely rotated order would give each runner the same neighbour
/// every time. The CPU column is counted by a cgroup where one can be had (bench/src/cpu.rs;
/// the answer says whether), else by wait4.
fn rounds(c: &Config, rs: &mut [Runner]) -> io::Result<bool> {
    let meter = cpu::Meter::join();
    let k = rs.len();
    eprintln!(
        "bench: {k} runners, {} warm-up + {} interleaved rounds",
        c.warmup, c.rounds
    );
    let started = Instant::now();
    let mut order: Vec<usize> = (0..k).collect();
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for round in 0..c.warmup + c.rounds {
        rng.shuffle(&mut order);
        for &i in &order {
            let r = &mut rs[i];
            let failed = |e: io::Error| io::Error::other(format!("{}: {e}", r.label));
            let before = meter.as_ref().map(cpu::Meter::read).transpose();
            let (took, cpu) = r.how.once_cpu().map_err(failed)?;
            // With the cgroup: every process of the run, once the last has exited.
            let cpu = match (&meter, before.map_err(failed)?) {
                (Some(m), Some(before)) => {
                    let total = m.since(before).map_err(failed)?;
                    cpu.map(|_| total)
                }
                _ => cpu,
            };
            if round >= c.warmup {
                r.samples.push(took);
                r.cpu.extend(cpu);
            }
        }
        if (round + 1) % 100 == 0 {
            eprint!(
                "\rbench: round {}/{} ({:.0} s)",
                round + 1,
                c.warmup + c.rounds,
                started.elapsed().as_secs_f64()
            );
            let _ = io::stderr().flush();
        }
    }
    eprintln!(
        "\rbench: {} rounds in {:.1} s          ",
        c.warmup + c.rounds,
        started.elapsed().as_secs_f64()
    );
    Ok(meter.is_some())
}

/// Throughput of a few runners with one and with two concurrent spawners. The time is cut
/// into short slices that alternate between the runners (and the two settings), and the
/// median slice is reported, so that a burst of other work on the machine does not decide a
/// whole row.
fn throughputs(c: &Config, rs: &[Runner]) -> io::Result<Vec<Throughput>> {
    const SLICES: u32 = 20;
    let slice = c.tput / SLICES;
    let chosen: Vec<&Runner> = [
        "floor",
        "empty",
        "sandbox",
        "sandbox_end",
        "server_empty",
        "server_sandbox",
        "pool",
        "pool_shared",
        "bwrap",
    ]
    .iter()
    .filter_map(|key| rs.iter().find(|r| r.key == *key && r.how.concurrent()))
    .collect();
    eprintln!(
        "bench: throughput, 1 and 2 spawners, {} × {SLICES} slices of {:.1} s",
        chosen.len(),
        slice.as_secs_f64()
    );
    let mut rates = vec![(Vec::new(), Vec::new()); chosen.len()];
    for _ in 0..SLICES {
        for (r, (one, two)) in chosen.iter().zip(rates.iter_mut()) {
            one.push(probes::throughput(&r.how, 1, slice)?);
            two.push(probes::throughput(&r.how, 2, slice)?);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Ok(chosen
        .iter()
        .zip(rates.iter_mut())
        .map(|(r, (one, two))| Throughput {
            key: r.key,
            label: r.label.clone(),
            one: median(one),
            two: median(two),
        })
        .collect())
}

/// `strace -f -c` of one spawn of the helper's sandbox profile, the bare program, bwrap and
/// unshare.
fn syscall_counts(strace: &Path, c: &Config, t: &Tools, p: &Prepared) -> Vec<probes::Straced> {
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let mut targets = vec![
        StraceTarget {
            key: "forkexec",
            label: "forkexec, sandbox profile",
            args: vec![s(&c.helper)],
            spec: p.sandbox.encode().ok(),
            fd_file: None,
        },
        StraceTarget {
            key: "bare",
            label: "bare C, same kernel work",
            args: vec![s(&c.bare), "sandbox".into(), s(&c.payload), s(&p.root)],
            spec: None,
            fd_file: None,
        },
    ];
    if let Some(bwrap) = &t.bwrap {
        targets.push(StraceTarget {
            key: "bwrap",
            label: "bwrap, equivalent profile",
            args: profile::bwrap_args(bwrap, &c.payload, SECCOMP_FD, false),
            spec: None,
            fd_file: Some((p.seccomp.clone(), SECCOMP_FD)),
        });
    }
    if let Some(unshare) = &t.unshare {
        targets.push(StraceTarget {
            key: "unshare",
            label: "unshare -Urmpf --mount-proc",
            args: profile::unshare_args(unshare, &c.payload),
            spec: None,
            fd_file: None,
        });
    }
    let mut out = Vec::new();
    for target in targets {
        let label = target.label;
        match probes::strace_one(strace, &c.out, target) {
            Ok(s) => out.push(s),
            Err(e) => eprintln!("bench: strace of {label} failed: {e}"),
        }
    }
    out
}

fn run(c: &mut Config) -> io::Result<()> {
    resolve_paths(c)?;
    let c = &*c;
    let tools = Tools {
        bwrap: which("bwrap"),
        unshare: which("unshare"),
        strace: which("strace"),
        hyperfine: which("hyperfine"),
        python: which("python3"),
        perf: which("perf").filter(|p| probes::perf_works(p)),
    };
    let load_before = machine::loadavg();
    let prepared = runners::prepare(c)?;
    if let Some(key) = &c.loop_key {
        return run_loop(c, &tools, &prepared, key);
    }
    let py = match &tools.python {
        Some(python) => {
            let args = [
                c.helper.as_path(),
                c.payload.as_path(),
                prepared.spec_empty.as_path(),
                prepared.spec_sandbox.as_path(),
            ];
            match PythonServer::start(python, &c.python_script, &args) {
                Ok(server) => Some(Arc::new(server)),
                Err(e) => {
                    eprintln!("bench: leaving out the Python runners: {e}");
                    None
                }
            }
        }
        None => None,
    };
    // The fork server, started once for its rows (issue 14): each run is one request.
    let server = match forkexec_client::Server::start_with(&c.helper) {
        Ok(server) => Some(Arc::new(server)),
        Err(e) => {
            eprintln!("bench: leaving out the fork server rows: {e}");
            None
        }
    };
    // The warm sandboxes, built once for their row (issue 14): two, so that two concurrent
    // spawners are served by two server processes.
    let shape = || profile::pool_shape(&c.helper, &c.payload, &prepared.root);
    let pool = match forkexec_client::Pool::new(2, shape) {
        Ok(pool) => Some(Arc::new(pool)),
        Err(e) => {
            eprintln!("bench: leaving out the warm sandbox row: {e}");
            None
        }
    };
    // The same shape with shared namespaces (opt-in, one run at a time per sandbox, /tmp
    // reset after each run): two sandboxes again, one per spawner.
    let shared_shape = || shape().writable("/tmp").shared_namespaces();
    let pool_shared = match forkexec_client::Pool::new(2, shared_shape) {
        Ok(pool) => Some(Arc::new(pool)),
        Err(e) => {
            eprintln!("bench: leaving out the shared warm sandbox row: {e}");
            None
        }
    };
    let (mut rs, mut skipped) = runners::all(
        c,
        &tools,
        &prepared,
        py.as_ref(),
        server.as_ref(),
        [pool.as_ref(), pool_shared.as_ref()],
    );
    if let Some(only) = &c.only {
        rs.retain(|r| only.iter().any(|k| k == r.key));
    }

    // Each runner once: a runner that cannot run at all is reported and left out (a peer
    // tool refused here, say); the helper's own runners must work.
    let mut kept = Vec::new();
    for r in rs {
        match r.how.once() {
            Ok(_) => kept.push(r),
            Err(e) if matches!(r.group, Group::Peer | Group::Python) => {
                eprintln!("bench: leaving out {}: {e}", r.label);
                skipped.push(format!("{} ({e})", r.label));
            }
            Err(e) => return Err(io::Error::other(format!("{}: {e}", r.label))),
        }
    }
    let mut rs = kept;
    let cpu_by_cgroup = rounds(c, &mut rs)?;
    if let Some(py) = &py {
        py.stop();
    }

    let tput = if c.tput.is_zero() {
        Vec::new()
    } else {
        throughputs(c, &rs)?
    };

    let straced = match &tools.strace {
        Some(strace) => {
            eprintln!("bench: strace -f -c of one spawn each");
            syscall_counts(strace, c, &tools, &prepared)
        }
        None => {
            skipped.push("syscall counts (strace not installed)".to_string());
            Vec::new()
        }
    };

    let counters = match (&tools.perf, c.extras) {
        (Some(perf), true) => {
            eprintln!("bench: perf stat per spawn");
            let keys: Vec<(&str, String)> = rs
                .iter()
                .filter(|r| {
                    ["floor", "bare_exec", "empty", "sandbox", "bare", "bwrap"].contains(&r.key)
                })
                .map(|r| (r.key, r.label.clone()))
                .collect();
            probes::perf_counters(perf, c, &keys, 500).unwrap_or_else(|e| {
                eprintln!("bench: perf stat failed: {e}");
                Vec::new()
            })
        }
        (None, _) => {
            skipped.push("perf stat counters (perf not installed or not permitted)".into());
            Vec::new()
        }
        (_, false) => Vec::new(),
    };

    let hyper = match (&tools.hyperfine, c.extras) {
        (Some(h), true) => {
            eprintln!("bench: hyperfine cross-check");
            probes::hyperfine_check(h, c, &tools, &prepared).unwrap_or_else(|e| {
                eprintln!("bench: hyperfine failed: {e}");
                Vec::new()
            })
        }
        (None, _) => {
            skipped.push("hyperfine cross-check (hyperfine not installed)".to_string());
            Vec::new()
        }
        (_, false) => Vec::new(),
    };

    let m = machine::machine(c, &tools, load_before);
    let results = report::Results {
        config: c,
        machine: &m,
        runners: &rs,
        cpu_by_cgroup,
        throughput: &tput,
        straced: &straced,
        counters: &counters,
        hyperfine: &hyper,
        skipped: &skipped,
    };
    let md = report::markdown_with_chart(&results, "chart.svg");
    let svg = report::svg(&results);
    fs::write(c.out.join("results.md"), &md)?;
    fs::write(c.out.join("chart.svg"), &svg)?;
    println!("{md}");
    eprintln!(
        "bench: wrote {} and {}",
        c.out.join("results.md").display(),
        c.out.join("chart.svg").display()
    );
    if let Some(docs) = &c.docs {
        fs::create_dir_all(docs)?;
        let md = report::markdown_with_chart(&results, "bench.svg");
        report::update_marked(&docs.join("bench.md"), &md)?;
        fs::write(docs.join("bench.svg"), &svg)?;
        eprintln!(
            "bench: updated {0}/bench.md and {0}/bench.svg",
            docs.display()
        );
    }
    if let Some(readme) = &c.readme {
        report::update_marked(readme, &report::headline(&results))?;
        eprintln!(
            "bench: updated the Performance block of {}",
            readme.display()
        );
    }
    Ok(())
}
