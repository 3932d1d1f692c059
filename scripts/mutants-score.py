#!/usr/bin/env python3
"""The mutation score from cargo-mutants' own records (make mutants; docs/testing.md).

Reads every `outcomes.json` under the directories or files given (default: mutants.out),
one per run or per piece of a run (`--file`, `--shard`). A mutant tested in more than one
run counts once, with the outcome of the run that started last (a re-run after a test was
added replaces the earlier result); the previous run that cargo-mutants keeps as
mutants.out.old is not read. Prints, per package: mutants, unviable, caught, timeout,
missed, and detected (caught + timeout) over viable; then the surviving mutants by name.
Exits 1 if a run's baseline failed or a package detects fewer than --min percent (default 90)
of its viable mutants.
"""

import argparse
import json
import pathlib
import sys

SUMMARY = {
    "CaughtMutant": "caught",
    "MissedMutant": "missed",
    "Timeout": "timeout",
    "Unviable": "unviable",
}


def outcome_files(paths):
    for p in map(pathlib.Path, paths):
        if p.is_file():
            yield p
        else:
            # cargo-mutants keeps the previous run of the same directory as mutants.out.old
            yield from sorted(
                f for f in p.rglob("outcomes.json") if "mutants.out.old" not in f.parts
            )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", default=["mutants.out"])
    ap.add_argument("--min", type=float, default=90.0, help="lowest passing score, percent")
    ap.add_argument("--markdown", action="store_true", help="a table for docs/testing.md")
    args = ap.parse_args()

    runs = []
    ok = True
    for f in outcome_files(args.paths):
        d = json.loads(f.read_text())
        runs.append((d.get("start_time") or "", f, d))
    if not runs:
        sys.exit(f"mutants-score: no outcomes.json under {' '.join(args.paths)}")
    latest = {}  # mutant name -> (package, summary)
    for start, f, d in sorted(runs, key=lambda r: r[0]):
        for o in d["outcomes"]:
            sc = o["scenario"]
            if sc == "Baseline":
                if o["summary"] != "Success":
                    print(f"{f}: baseline {o['summary']}", file=sys.stderr)
                    ok = False
                continue
            m = sc["Mutant"]
            if o["summary"] not in SUMMARY:
                print(f"{f}: {m['name']}: unexpected outcome {o['summary']}", file=sys.stderr)
                ok = False
                continue
            latest[m["name"]] = (m["package"], SUMMARY[o["summary"]])

    packages = sorted({pkg for pkg, _ in latest.values()})
    rows = []
    for pkg in packages:
        n = {k: 0 for k in SUMMARY.values()}
        for p, s in latest.values():
            if p == pkg:
                n[s] += 1
        total = sum(n.values())
        viable = total - n["unviable"]
        detected = n["caught"] + n["timeout"]
        score = 100.0 * detected / viable if viable else 100.0
        rows.append((pkg, total, n, viable, detected, score))
        if score < args.min:
            ok = False

    if args.markdown:
        print("| package | mutants | unviable | caught | timeout | missed | detected / viable |")
        print("|---|---|---|---|---|---|---|")
        for pkg, total, n, viable, detected, score in rows:
            print(
                f"| `{pkg}` | {total} | {n['unviable']} | {n['caught']} | {n['timeout']} "
                f"| {n['missed']} | {detected} / {viable} = {score:.1f} % |"
            )
    else:
        for pkg, total, n, viable, detected, score in rows:
            print(
                f"{pkg}: {total} mutants, {n['unviable']} unviable, {n['caught']} caught, "
                f"{n['timeout']} timeout, {n['missed']} missed: "
                f"{detected}/{viable} = {score:.1f}% detected"
            )
    missed = sorted(name for name, (_, s) in latest.items() if s == "missed")
    if missed:
        print(f"\nsurviving ({len(missed)}):")
        for name in missed:
            print(f"- {name}")
    if not ok:
        print(f"\nmutants-score: below {args.min:g}% or a failed baseline", file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
