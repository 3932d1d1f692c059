//! The results as markdown (bench/out/results.md, docs/bench.md, the README's block) and as an
//! SVG bar chart written by hand (no plotting dependency).

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

use crate::machine::Machine;
use crate::probes::{Counters, Hyperfined, Straced, Throughput};
use crate::runners::{Group, Runner};
use crate::stats::{median_us, p90_us};
use crate::Config;

pub const BEGIN: &str = "<!-- bench:begin (written by `make bench`, bench/src/report.rs) -->";
pub const END: &str = "<!-- bench:end -->";

pub struct Results<'a> {
    pub config: &'a Config,
    pub machine: &'a Machine,
    pub runners: &'a [Runner],
    /// The CPU column counted by a cpuacct cgroup (every process of a run, orphans included),
    /// not by wait4 (bench/src/cpu.rs).
    pub cpu_by_cgroup: bool,
    pub throughput: &'a [Throughput],
    pub straced: &'a [Straced],
    pub counters: &'a [Counters],
    pub hyperfine: &'a [Hyperfined],
    pub skipped: &'a [String],
}

impl Results<'_> {
    fn median(&self, key: &str) -> Option<f64> {
        self.runners
            .iter()
            .find(|r| r.key == key)
            .map(|r| median_us(&r.samples))
    }

    /// The bwrap row a runner is compared with: bwrap's same command line for the
    /// forkexec-run rows, else the one with the same net namespace choice.
    fn bwrap_for(&self, r: &Runner) -> Option<f64> {
        self.median(match (r.group, r.net) {
            (Group::Cli, _) => "bwrap_cli",
            (_, true) => "bwrap_net",
            (_, false) => "bwrap",
        })
    }

    /// The median CPU time per run, for runners that spawn one process.
    fn cpu(&self, key: &str) -> Option<f64> {
        self.runners
            .iter()
            .find(|r| r.key == key && !r.cpu.is_empty())
            .map(|r| median_us(&r.cpu))
    }

    fn machine_line(&self) -> String {
        let m = self.machine;
        format!(
            "{}, {} ({} vCPU), Linux {}, run as {}",
            m.date, m.cpu, m.nproc, m.kernel, m.user
        )
    }
}

fn ratio(x: f64, base: Option<f64>) -> String {
    match base {
        Some(b) if b > 0.0 && x.is_finite() => format!("{:.2}×", x / b),
        _ => "–".into(),
    }
}

/// A target's line: what, the measured figure, the goal, met (`None`: not measured).
type Target = (String, String, &'static str, Option<bool>);

/// Targets from the issues (measured, never asserted).
fn targets(r: &Results) -> Vec<Target> {
    let mut out = Vec::new();
    let (floor, empty) = (r.median("floor"), r.median("empty"));
    if let (Some(floor), Some(empty)) = (floor, empty) {
        let x = empty / floor;
        out.push((
            "empty spec vs the floor".into(),
            format!("{x:.2}×"),
            "≤ 1.10×",
            Some(x <= 1.10),
        ));
    }
    // Issue 14: a client's one-shot start next to the driver's own spawn of the helper.
    if let Some(empty) = empty {
        for (key, what, goal, max) in [
            ("client_empty", "Rust client, empty spec", "≤ 1.15×", 1.15),
            (
                "py_client_empty",
                "Python client, empty spec",
                "≤ 1.20×",
                1.20,
            ),
        ] {
            if let Some(client) = r.median(key) {
                let x = client / empty;
                out.push((
                    format!("{what} vs the driver's own helper spawn"),
                    format!("{x:.2}×"),
                    goal,
                    Some(x <= max),
                ));
            }
        }
    }
    out.extend(issue_14_targets(r));
    for (sandbox, bwrap, bare, net) in [
        ("sandbox", "bwrap", "bare", ""),
        ("sandbox_net", "bwrap_net", "bare_net", " + net"),
    ] {
        let Some(s) = r.median(sandbox) else { continue };
        if let Some(b) = r.median(bwrap) {
            let x = b / s;
            out.push((
                format!("sandbox profile{net}: bwrap's time / forkexec's"),
                format!("{x:.2}×"),
                "≥ 3×",
                Some(x >= 3.0),
            ));
        }
        if let Some(b) = r.median(bare) {
            let x = s / b;
            out.push((
                format!("sandbox profile{net} vs the bare kernel work"),
                format!("{x:.2}×"),
                "≤ 1.20×",
                Some(x <= 1.20),
            ));
        }
    }
    if let (Some(cli), Some(bwrap)) = (r.median("cli"), r.median("bwrap_cli")) {
        let x = bwrap / cli;
        out.push((
            "command line through forkexec-run: bwrap's time / forkexec-run's".into(),
            format!("{x:.2}×"),
            "≥ 2×",
            Some(x >= 2.0),
        ));
    }
    if let (Some(cli), Some(bwrap)) = (r.cpu("cli"), r.cpu("bwrap_cli")) {
        let x = cli / bwrap;
        out.push((
            "command line: forkexec-run's CPU per run / bwrap's".into(),
            format!("{x:.2}×"),
            "≤ 1.00×",
            Some(x <= 1.0),
        ));
    }
    if let (Some(cli), Some(bwrap)) = (r.median("cli_bwrap"), r.median("bwrap_cli")) {
        let x = bwrap / cli;
        out.push((
            "forkexec-run as bwrap: bwrap's time / forkexec-run --bwrap's".into(),
            format!("{x:.2}×"),
            "≥ 2×",
            Some(x >= 2.0),
        ));
    }
    if let (Some(cli), Some(bwrap)) = (r.cpu("cli_bwrap"), r.cpu("bwrap_cli")) {
        let x = cli / bwrap;
        out.push((
            "forkexec-run as bwrap: its CPU per run / bwrap's".into(),
            format!("{x:.2}×"),
            "≤ 1.00×",
            Some(x <= 1.0),
        ));
    }
    if let (Some(version), Some(hello)) = (r.median("cli_version"), r.median("c_hello")) {
        let x = version / hello;
        out.push((
            "`forkexec-run --version` vs a static C program's start (glibc hello)".into(),
            format!("{x:.2}×"),
            "≤ 1.20×",
            Some(x <= 1.2),
        ));
    }
    out
}

/// Issue 14's targets beyond the clients: through the fork server, in a warm sandbox, a fresh
/// one-shot, and sandboxed runs per second with two spawners. A row that was not run (no
/// pool, no throughput) is listed as not measured.
fn issue_14_targets(r: &Results) -> Vec<Target> {
    let mut out = Vec::new();
    for (key, base, what, goal, max) in [
        (
            "server_empty",
            "floor",
            "through the fork server: empty spec vs the floor",
            "≤ 1.10×",
            1.10,
        ),
        (
            "server_sandbox",
            "bare",
            "through the fork server: sandbox profile vs the bare kernel work",
            "≤ 1.00×",
            1.00,
        ),
        (
            "pool",
            "floor",
            "a program in a warm sandbox (Pool) vs the floor",
            "≤ 2.00×",
            2.00,
        ),
        (
            "pool_shared",
            "floor",
            "a program in a warm sandbox, shared namespaces, vs the floor",
            "≤ 2.00×",
            2.00,
        ),
        (
            "sandbox_end",
            "bare",
            "fresh sandbox profile one-shot (end records only) vs the bare kernel work",
            "≤ 1.10×",
            1.10,
        ),
    ] {
        let (measured, met) = match (r.median(key), r.median(base)) {
            (Some(x), Some(b)) if b > 0.0 => (format!("{:.2}×", x / b), Some(x / b <= max)),
            _ => ("–".to_string(), None),
        };
        out.push((what.to_string(), measured, goal, met));
    }
    // Sandboxed runs per second with two spawners: the best of forkexec's sandboxed rows.
    let best = [
        "sandbox",
        "sandbox_end",
        "server_sandbox",
        "pool",
        "pool_shared",
    ]
    .iter()
    .filter_map(|k| r.throughput.iter().find(|t| t.key == *k))
    .max_by(|a, b| a.two.total_cmp(&b.two));
    let bwrap = r.throughput.iter().find(|t| t.key == "bwrap");
    let what = |s: &str| match best {
        Some(b) => format!("sandboxed runs/s with two spawners{s} (best: {})", b.label),
        None => format!("sandboxed runs/s with two spawners{s}"),
    };
    out.push(match best {
        Some(b) => (
            what(""),
            format!("{:.0}/s", b.two),
            "≥ 3000/s",
            Some(b.two >= 3000.0),
        ),
        None => (what(""), "–".into(), "≥ 3000/s", None),
    });
    // The warm sandbox's own throughput with two spawners (the issue puts it with the pool).
    let pool = r.throughput.iter().find(|t| t.key == "pool");
    out.push((
        "a program in a warm sandbox (Pool): runs/s with two spawners".into(),
        pool.map_or("–".into(), |p| format!("{:.0}/s", p.two)),
        "≥ 3000/s",
        pool.map(|p| p.two >= 3000.0),
    ));
    let shared = r.throughput.iter().find(|t| t.key == "pool_shared");
    out.push((
        "a program in a warm sandbox, shared namespaces: runs/s with two spawners".into(),
        shared.map_or("–".into(), |p| format!("{:.0}/s", p.two)),
        "≥ 3000/s",
        shared.map(|p| p.two >= 3000.0),
    ));
    out.push(match (best, bwrap) {
        (Some(b), Some(w)) if w.two > 0.0 => {
            let x = b.two / w.two;
            (
                what(" vs bwrap's"),
                format!("{x:.2}×"),
                "≥ 8×",
                Some(x >= 8.0),
            )
        }
        _ => (what(" vs bwrap's"), "–".into(), "≥ 8×", None),
    });
    out
}

/// The full results, for results.md and docs/bench.md. `chart` is the image's relative path.
pub fn markdown_with_chart(r: &Results, chart: &str) -> String {
    let c = r.config;
    let m = r.machine;
    let mut s = String::new();
    let _ = writeln!(s, "**{}.**\n", r.machine_line());
    let _ = writeln!(
        s,
        "{} interleaved rounds (after {} warm-up rounds): every round runs each runner once, \
         in a freshly shuffled order; each spawn+wait timed with the monotonic clock \
         (the Python rows inside Python). Payload: a {}-byte static `exit_group(0)` program, \
         the same file for every runner. Load average (1 min) before / after: {} / {}.\n",
        c.rounds, c.warmup, m.payload_size, m.load.0, m.load.1
    );
    let _ = writeln!(s, "![spawn cost, median and p90]({chart})\n");
    s.push_str("| runner | median µs | p90 µs | CPU µs | × floor | × bwrap |\n");
    s.push_str("|---|---:|---:|---:|---:|---:|\n");
    let floor = r.median("floor");
    for run in r.runners {
        let (med, p90) = (median_us(&run.samples), p90_us(&run.samples));
        let cpu = if run.cpu.is_empty() {
            "–".to_string()
        } else {
            format!("{:.0}", median_us(&run.cpu))
        };
        let _ = writeln!(
            s,
            "| {} | {:.0} | {:.0} | {cpu} | {} | {} |",
            run.label,
            med,
            p90,
            ratio(med, floor),
            ratio(med, r.bwrap_for(run)),
        );
    }
    s.push_str(
        "\n× bwrap compares with bwrap's equivalent profile, the `+ net` rows with bwrap's \
         `+ net` variant, the forkexec-run rows with bwrap given the same command line. CPU \
         is the median user + system time, for the runners that spawn one process, ",
    );
    s.push_str(if r.cpu_by_cgroup {
        "of every process the run started, orphans included (bwrap's pid 1 and the helper's \
         init in bubblewrap mode outlive the waited process): a cpuacct cgroup's usage \
         (bench/src/cpu.rs).\n"
    } else {
        "of the spawned process and of what it waited for (wait4's rusage: no cpuacct cgroup \
         here, so an orphaned pid 1, bwrap's or the helper's init in bubblewrap mode, is left \
         out).\n"
    });

    let t = targets(r);
    if !t.is_empty() {
        s.push_str("\n#### Targets (measured, not asserted)\n\n");
        s.push_str("| target | measured | goal | |\n|---|---:|---:|---|\n");
        for (what, measured, goal, met) in t {
            let verdict = match met {
                Some(true) => "met",
                Some(false) => "**missed**",
                None => "not measured",
            };
            let _ = writeln!(s, "| {what} | {measured} | {goal} | {verdict} |");
        }
    }

    if !r.throughput.is_empty() {
        let _ = writeln!(
            s,
            "\n#### Throughput, spawn+wait per second\n\n{:.1} s per runner and setting, in 20 \
             slices alternating between the runners; the median slice.\n",
            c.tput.as_secs_f64()
        );
        s.push_str("| runner | 1 spawner | 2 concurrent spawners | scaling |\n");
        s.push_str("|---|---:|---:|---:|\n");
        for t in r.throughput {
            let _ = writeln!(
                s,
                "| {} | {:.0}/s | {:.0}/s | {:.2}× |",
                t.label,
                t.one,
                t.two,
                t.two / t.one
            );
        }
    }

    s.push_str("\n#### Size\n\n| file | bytes | |\n|---|---:|---|\n");
    let kind = if m.helper_static {
        "static, no libc"
    } else {
        "**not static**"
    };
    let _ = writeln!(s, "| `forkexec` helper | {} | {kind} |", m.helper_size);
    if let Some(size) = m.bwrap_size {
        let _ = writeln!(
            s,
            "| `bwrap` ({}) | {size} | dynamic (libc, libcap, libselinux) |",
            m.bwrap_version.as_deref().unwrap_or("bubblewrap")
        );
    }
    let _ = writeln!(s, "| payload | {} | static, no libc |", m.payload_size);

    if !r.straced.is_empty() {
        s.push_str(
            "\n#### Syscalls of one sandboxed spawn (`strace -f -c`, every process)\n\n\
             | runner | syscalls | failed | most frequent |\n|---|---:|---:|---|\n",
        );
        for st in r.straced {
            let top: Vec<String> = st.top.iter().map(|(n, c)| format!("{n} {c}")).collect();
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                st.label,
                st.total_calls,
                st.total_errors,
                top.join(", ")
            );
        }
        let files: Vec<String> = r
            .straced
            .iter()
            .filter_map(|st| st.file.file_name())
            .map(|f| format!("`{}`", f.to_string_lossy()))
            .collect();
        let _ = writeln!(s, "\nFull tables: {} in bench/out/.", files.join(", "));
    }

    if !r.counters.is_empty() {
        s.push_str(
            "\n#### Per spawn+wait, `perf stat` software counters (driver and every child)\n\n\
             | runner | CPU µs | context switches | CPU migrations | page faults |\n\
             |---|---:|---:|---:|---:|\n",
        );
        for k in r.counters {
            let _ = writeln!(
                s,
                "| {} | {:.0} | {:.1} | {:.2} | {:.0} |",
                k.label,
                k.cpu_us,
                k.context_switches.max(0.0),
                k.migrations.max(0.0),
                k.page_faults.max(0.0)
            );
        }
    }

    if !r.hyperfine.is_empty() {
        s.push_str(
            "\n#### Cross-check with hyperfine\n\n\
             `hyperfine -N`, each command as `sh -c 'exec …'` so its fds can be redirected: every \
             row carries the same `sh` start-up, so compare the differences to the floor.\n\n\
             | command | hyperfine median µs | runs | hyperfine − floor | driver − floor |\n\
             |---|---:|---:|---:|---:|\n",
        );
        let h_floor = r.hyperfine.iter().find(|h| h.key == "floor");
        let d_floor = r.median("floor");
        for h in r.hyperfine {
            let hd = h_floor.map_or(f64::NAN, |f| h.median_us - f.median_us);
            let dd = match (r.median(h.key), d_floor) {
                (Some(m), Some(f)) => format!("{:.0}", m - f),
                _ => "–".into(),
            };
            let _ = writeln!(
                s,
                "| {} | {:.0} | {} | {hd:.0} | {dd} |",
                h.label, h.median_us, h.runs
            );
        }
    }

    if !r.skipped.is_empty() {
        s.push_str("\n#### Left out\n\n");
        for what in r.skipped {
            let _ = writeln!(s, "- {what}");
        }
    }
    s
}

/// The README's short block: the headline rows, the chart, where they come from.
pub fn headline(r: &Results) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Measured by `make bench` on {}:\n", r.machine_line());
    s.push_str("| spawn+wait of a static `exit(0)` | median µs | p90 µs | × floor | × bwrap |\n");
    s.push_str("|---|---:|---:|---:|---:|\n");
    let floor = r.median("floor");
    for key in [
        "floor",
        "empty",
        "client_empty",
        "py_client_empty",
        "server_empty",
        "pool",
        "pool_shared",
        "sandbox",
        "sandbox_end",
        "server_sandbox",
        "bare",
        "bwrap",
        "unshare",
        "sandbox_net",
        "bwrap_net",
        "py_direct",
        "py_sandbox",
        "cli",
        "cli_bwrap",
        "bwrap_cli",
        "cli_version",
        "c_hello",
    ] {
        if let Some(run) = r.runners.iter().find(|x| x.key == key) {
            let (med, p90) = (median_us(&run.samples), p90_us(&run.samples));
            let _ = writeln!(
                s,
                "| {} | {med:.0} | {p90:.0} | {} | {} |",
                run.label,
                ratio(med, floor),
                ratio(med, r.bwrap_for(run))
            );
        }
    }
    let _ = write!(
        s,
        "\nThe helper is {} bytes{}. ",
        r.machine.helper_size,
        if r.machine.helper_static {
            ", static"
        } else {
            ""
        }
    );
    let t = targets(r);
    if !t.is_empty() {
        s.push_str("Targets, measured and not asserted:\n\n");
        s.push_str("| target | measured | goal | |\n|---|---:|---:|---|\n");
        for (what, measured, goal, met) in t {
            let verdict = match met {
                Some(true) => "met",
                Some(false) => "**missed**",
                None => "not measured",
            };
            let _ = writeln!(s, "| {what} | {measured} | {goal} | {verdict} |");
        }
        s.push('\n');
    }
    s.push_str(
        "![spawn cost, median and p90](docs/bench.svg)\n\n\
         All rows, throughput, syscall counts, targets and where the time goes: \
         [docs/bench.md](docs/bench.md).\n",
    );
    s
}

/// Replaces what lies between [`BEGIN`] and [`END`] in `path` (appends a marked block when
/// there is none).
pub fn update_marked(path: &Path, body: &str) -> io::Result<()> {
    let old = fs::read_to_string(path).unwrap_or_default();
    let block = format!("{BEGIN}\n{body}\n{END}");
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if b < e => format!("{}{block}{}", &old[..b], &old[e + END.len()..]),
        _ => format!("{old}\n{block}\n"),
    };
    fs::write(path, new)
}

fn color(g: Group) -> &'static str {
    match g {
        Group::Floor => "#6b7280",
        Group::Helper => "#2563eb",
        Group::Bare => "#059669",
        Group::Peer => "#d97706",
        Group::Client => "#7c3aed",
        Group::Python => "#db2777",
        Group::Cli => "#0891b2",
        Group::Served => "#16a34a",
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An axis step (1, 2, 2.5 or 5 times a power of ten) giving at most eight ticks.
fn tick_step(max: f64) -> f64 {
    let mut magnitude = 1.0;
    loop {
        for base in [1.0, 2.0, 2.5, 5.0] {
            let step = base * magnitude;
            if max / step <= 8.0 {
                return step;
            }
        }
        magnitude *= 10.0;
    }
}

/// Horizontal bars: median as the bar, p90 as the whisker, one row per runner.
pub fn svg(r: &Results) -> String {
    let (label_w, plot_w, right_w) = (300.0, 520.0, 120.0);
    let (top, row_h, bottom) = (58.0, 24.0, 46.0);
    let n = r.runners.len() as f64;
    let width = label_w + plot_w + right_w;
    let height = top + n * row_h + bottom;
    let max = r
        .runners
        .iter()
        .map(|x| p90_us(&x.samples))
        .fold(0.0, f64::max)
        .max(1.0)
        * 1.04;
    let step = tick_step(max);
    let x = |us: f64| label_w + plot_w * us / max;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="12" y="22" font-size="15" font-weight="bold">Spawn+wait of a static exit(0) payload: median (bar) and p90 (whisker), µs</text>"#
    );
    let _ = writeln!(
        s,
        r##"<text x="12" y="42" fill="#444">{}</text>"##,
        xml_escape(&r.machine_line())
    );
    // Grid and axis.
    let axis_y = top + n * row_h + 4.0;
    let mut t = 0.0;
    while t <= max {
        let tx = x(t);
        let _ = writeln!(
            s,
            r##"<line x1="{tx:.1}" y1="{top}" x2="{tx:.1}" y2="{axis_y}" stroke="#e5e7eb"/>"##
        );
        let _ = writeln!(
            s,
            r##"<text x="{tx:.1}" y="{:.1}" text-anchor="middle" fill="#444">{t:.0}</text>"##,
            axis_y + 16.0
        );
        t += step;
    }
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#444">µs per spawn+wait ({} rounds)</text>"##,
        label_w + plot_w / 2.0,
        axis_y + 34.0,
        r.config.rounds
    );
    for (i, run) in r.runners.iter().enumerate() {
        let y = top + i as f64 * row_h;
        let (med, p90) = (median_us(&run.samples), p90_us(&run.samples));
        let mid = y + row_h / 2.0;
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            label_w - 8.0,
            mid + 4.0,
            xml_escape(&run.label)
        );
        let _ = writeln!(
            s,
            r#"<rect x="{label_w}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{}"/>"#,
            y + 4.0,
            (x(med) - label_w).max(0.5),
            row_h - 8.0,
            color(run.group)
        );
        let _ = writeln!(
            s,
            r##"<line x1="{:.1}" y1="{mid:.1}" x2="{:.1}" y2="{mid:.1}" stroke="#111"/><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#111"/>"##,
            x(med),
            x(p90),
            x(p90),
            mid - 5.0,
            x(p90),
            mid + 5.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}">{med:.0} / {p90:.0}</text>"#,
            x(p90) + 6.0,
            mid + 4.0
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks() {
        assert_eq!(tick_step(700.0), 100.0);
        assert_eq!(tick_step(4200.0), 1000.0);
        assert_eq!(tick_step(7.0), 1.0);
        assert_eq!(tick_step(1500.0), 200.0);
        assert_eq!(tick_step(1900.0), 250.0);
    }

    #[test]
    fn marked_block_is_replaced() {
        let dir = std::env::temp_dir().join(format!("fxbench-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("x.md");
        fs::write(&p, format!("a\n{BEGIN}\nold\n{END}\nb\n")).unwrap();
        update_marked(&p, "new").unwrap();
        assert_eq!(
            fs::read_to_string(&p).unwrap(),
            format!("a\n{BEGIN}\nnew\n{END}\nb\n")
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
