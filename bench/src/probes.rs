//! Everything measured besides the interleaved rounds: throughput with concurrent spawners,
//! `strace -f -c` syscall counts, `perf stat` software counters per spawn, and hyperfine's view
//! as a cross-check of the driver's clock.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::runners::{Prepared, SECCOMP_FD};
use crate::spawn::{Exe, How};
use crate::{profile, Config, Tools};

/// `threads` spawners running `how` in a loop for `secs`: spawn+wait per second, all together.
pub fn throughput(how: &How, threads: usize, secs: Duration) -> io::Result<f64> {
    let count = AtomicU64::new(0);
    let failed = AtomicBool::new(false);
    let start = Instant::now();
    let deadline = start + secs;
    let errors: Vec<io::Error> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> io::Result<()> {
                    while Instant::now() < deadline && !failed.load(Ordering::Relaxed) {
                        if let Err(e) = how.once() {
                            failed.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().unwrap().err())
            .collect()
    });
    let took = start.elapsed().as_secs_f64();
    match errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(count.load(Ordering::Relaxed) as f64 / took),
    }
}

pub struct Throughput {
    pub key: &'static str,
    pub label: String,
    pub one: f64,
    pub two: f64,
}

/// `strace -f -c` of one spawn: totals and the most frequent syscalls.
pub struct Straced {
    pub label: String,
    pub total_calls: u64,
    pub total_errors: u64,
    /// (syscall, calls), most first.
    pub top: Vec<(String, u64)>,
    pub file: PathBuf,
}

/// strace's `-c` table: rows of `% time, seconds, usecs/call, calls, [errors], syscall`;
/// returns (syscall, calls) rows and the total calls and errors.
fn parse_strace_summary(text: &str) -> (Vec<(String, u64)>, u64, u64) {
    let mut rows = Vec::new();
    let (mut total_calls, mut total_errors) = (0, 0);
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 5 || f[0].parse::<f64>().is_err() {
            continue;
        }
        let name = f[f.len() - 1].to_string();
        let calls: u64 = f[3].parse().unwrap_or(0);
        // The errors column is blank when there are none.
        let errors: u64 = if f.len() >= 6 {
            f[4].parse().unwrap_or(0)
        } else {
            0
        };
        if name == "total" {
            total_calls = calls;
            total_errors = errors;
        } else {
            rows.push((name, calls));
        }
    }
    (rows, total_calls, total_errors)
}

/// What one straced spawn runs: a program line, plus the spec for the helper (written on fd 3
/// through a socketpair, as the driver does) or a file for a fixed fd (bwrap's filter).
pub struct StraceTarget<'a> {
    pub key: &'a str,
    pub label: &'a str,
    pub args: Vec<String>,
    pub spec: Option<Vec<u8>>,
    pub fd_file: Option<(PathBuf, i32)>,
}

/// One spawn of `t` under `strace -f -c -S calls` (every process: the runner, its clones, the
/// payload; strace's own start is not counted).
pub fn strace_one(strace: &Path, out: &Path, t: StraceTarget) -> io::Result<Straced> {
    let file = out.join(format!("strace-{}.txt", t.key));
    let mut argv = vec![strace.to_string_lossy().into_owned()];
    argv.extend(["-f", "-c", "-S", "calls", "-o"].map(String::from));
    argv.push(file.to_string_lossy().into_owned());
    argv.extend(t.args.iter().cloned());
    let exe = Exe::new(&argv);
    let how = match t.spec {
        Some(spec) => How::Helper {
            exe,
            spec,
            wait_first: false,
        },
        None => How::Plain {
            exe,
            fd_file: t.fd_file,
        },
    };
    how.once()?;
    let (rows, total_calls, total_errors) = parse_strace_summary(&fs::read_to_string(&file)?);
    Ok(Straced {
        label: t.label.to_string(),
        total_calls,
        total_errors,
        top: rows.into_iter().take(6).collect(),
        file,
    })
}

/// `perf stat` software counters, per spawn+wait, of the driver running one runner in a loop
/// (`forkexec-bench --loop KEY --count N`), minus a run with no spawns. Counted over the driver
/// and every process it starts.
pub struct Counters {
    pub label: String,
    /// CPU time, all processes and threads together, µs per spawn.
    pub cpu_us: f64,
    pub context_switches: f64,
    pub migrations: f64,
    pub page_faults: f64,
}

const PERF_EVENTS: &str = "task-clock,context-switches,cpu-migrations,page-faults";

/// Whether perf can count software events here.
pub fn perf_works(perf: &Path) -> bool {
    Command::new(perf)
        .args(["stat", "-x,", "-e", "task-clock", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn perf_stat(perf: &Path, driver_args: &[String]) -> io::Result<[f64; 4]> {
    let out = Command::new(perf)
        .args(["stat", "-x,", "-e", PERF_EVENTS, "--"])
        .args(driver_args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "perf stat: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stderr);
    let mut values = [f64::NAN; 4];
    for line in text.lines() {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() < 3 {
            continue;
        }
        let value: f64 = f[0].parse().unwrap_or(f64::NAN);
        for (i, event) in PERF_EVENTS.split(',').enumerate() {
            if f[2].starts_with(event) {
                values[i] = value;
            }
        }
    }
    Ok(values)
}

/// Counters for each runner key, `count` spawns each.
pub fn perf_counters(
    perf: &Path,
    c: &Config,
    keys: &[(&str, String)],
    count: usize,
) -> io::Result<Vec<Counters>> {
    let driver = std::env::current_exe()?;
    let args = |key: &str, n: usize| -> Vec<String> {
        let mut a = vec![driver.to_string_lossy().into_owned()];
        for (flag, path) in [
            ("--helper", &c.helper),
            ("--payload", &c.payload),
            ("--bare", &c.bare),
            ("--python-script", &c.python_script),
            ("--out", &c.out),
        ] {
            a.push(flag.to_string());
            a.push(path.to_string_lossy().into_owned());
        }
        a.extend([
            "--loop".into(),
            key.to_string(),
            "--count".into(),
            n.to_string(),
        ]);
        a
    };
    let mut out = Vec::new();
    for (key, label) in keys {
        let base = perf_stat(perf, &args(key, 0))?;
        let full = perf_stat(perf, &args(key, count))?;
        let per = |i: usize| (full[i] - base[i]) / count as f64;
        out.push(Counters {
            label: label.clone(),
            cpu_us: per(0) * 1e3, // task-clock is in ms
            context_switches: per(1),
            migrations: per(2),
            page_faults: per(3),
        });
    }
    Ok(out)
}

/// One hyperfine result: the driver's runner key it corresponds to, its label, the median in
/// µs, the number of runs.
pub struct Hyperfined {
    pub key: &'static str,
    pub label: String,
    pub median_us: f64,
    pub runs: usize,
}

/// hyperfine's view of a few runners, as a cross-check of the driver's clock. hyperfine cannot
/// put a file on fd 3 or 9, so every command, the floor included, runs as `sh -c 'exec …'`
/// with its redirections (`-N`: no shell of hyperfine's own, nothing subtracted). Each row
/// thus carries the same `sh` start-up; the differences between rows are what compare with
/// the driver's.
pub fn hyperfine_check(
    hyperfine: &Path,
    c: &Config,
    t: &Tools,
    p: &Prepared,
) -> io::Result<Vec<Hyperfined>> {
    let q = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let line = |args: &[String]| args.iter().map(|a| q(a)).collect::<Vec<_>>().join(" ");
    let path = |p: &Path| p.to_string_lossy().into_owned();
    let helper = q(&path(&c.helper));
    let mut cmds: Vec<(&'static str, &str, String)> = vec![
        ("floor", "floor: payload", q(&path(&c.payload))),
        (
            "empty_file",
            "forkexec, empty spec (from a file)",
            format!("{helper} 3<{}", q(&path(&p.spec_empty))),
        ),
        (
            "sandbox",
            "forkexec, sandbox profile",
            format!("{helper} 3<{}", q(&path(&p.spec_sandbox_status1))),
        ),
    ];
    if let Some(bwrap) = &t.bwrap {
        let args = profile::bwrap_args(bwrap, &c.payload, SECCOMP_FD, false);
        let cmd = format!("{} {SECCOMP_FD}<{}", line(&args), q(&path(&p.seccomp)));
        cmds.push(("bwrap", "bwrap, equivalent profile", cmd));
    }
    if let Some(unshare) = &t.unshare {
        let args = profile::unshare_args(unshare, &c.payload);
        cmds.push(("unshare", "unshare -Urmpf --mount-proc", line(&args)));
    }
    let json = c.out.join("hyperfine.json");
    let mut command = Command::new(hyperfine);
    command.args(["-N", "--warmup", "20", "--runs", "300", "--style", "none"]);
    command.arg("--export-json").arg(&json);
    for (_, name, cmd) in &cmds {
        command.arg("-n").arg(name);
        command.arg(format!("sh -c {}", q(&format!("exec {cmd}"))));
    }
    let log = fs::File::create(c.out.join("hyperfine.log"))?;
    let status = command.stdout(Stdio::null()).stderr(log).status()?;
    if !status.success() {
        return Err(io::Error::other(format!(
            "hyperfine: {status} (see bench/out/hyperfine.log)"
        )));
    }
    let doc: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&json)?).map_err(io::Error::other)?;
    let results = doc["results"].as_array().cloned().unwrap_or_default();
    Ok(cmds
        .iter()
        .zip(results.iter())
        .map(|((key, label, _), r)| Hyperfined {
            key,
            label: label.to_string(),
            median_us: r["median"].as_f64().unwrap_or(f64::NAN) * 1e6,
            runs: r["times"].as_array().map_or(0, |t| t.len()),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strace_summary() {
        let text = "\
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 40.00    0.000040           1        45         1 prctl
 30.00    0.000030           2        15           mount
------ ----------- ----------- --------- --------- ----------------
100.00    0.000100           1       135         7 total
";
        let (rows, calls, errors) = parse_strace_summary(text);
        assert_eq!(rows, vec![("prctl".into(), 45), ("mount".into(), 15)]);
        assert_eq!((calls, errors), (135, 7));
    }
}
