#!/usr/bin/env python3
"""Fails when a Markdown page of the repository points at something that does not exist:

- a relative link `[text](path)`, `[text](path#anchor)` or `[text](#anchor)` whose file is
  missing, or whose anchor is not a heading of that page (GitHub's heading ids);
- a repository path written in code, such as `crates/spec/src/tables.rs` or `src/mounts/`,
  when nothing is there (paths starting with one of the repository's top-level directories;
  paths with placeholders such as `<name>`, `*` or `…`, and build outputs, are skipped).

    scripts/check-docs.py              check every tracked (and untracked, not ignored) *.md
    scripts/check-docs.py FILE.md ...  check these pages
    scripts/check-docs.py --self-test  show that it fails on a planted bad link, anchor and path

Exits 1 and lists `file:line: problem` for each, else prints how many pages and links it read.
`make test` runs the self-test and then the check.
"""

import os
import re
import subprocess
import sys
import tempfile

# Top-level entries a path in code must start with to be checked as a repository path.
TOP = ("src/", "crates/", "docs/", "clients/", "fuzz/", "scripts/", "bench/", "rootfs-tests/",
       "policies/", ".ci/")
# Built or generated at run time, not in the repository.
GENERATED = ("target/", "fuzz/artifacts", "fuzz/work", "bench/out", "fuzz/coverage")
# Placeholder words in a path (`policies/NAME.json`).
PLACEHOLDER = re.compile(r"(^|/)(NAME|FILE|DIR|PATH|N|X|ID)(\.|/|$)")
LINK = re.compile(r"(?<!!)\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\n]+)`")


def slug(heading):
    """GitHub's id for a heading: lower case, markup and punctuation dropped, spaces to '-'."""
    text = re.sub(r"`([^`]*)`", r"\1", heading.strip())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path, cache={}):
    if path not in cache:
        ids, seen = set(), {}
        in_fence = False
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.lstrip().startswith("```"):
                    in_fence = not in_fence
                    continue
                m = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
                if m and not in_fence:
                    base = slug(m.group(2))
                    n = seen.get(base, 0)
                    seen[base] = n + 1
                    ids.add(base if n == 0 else f"{base}-{n}")
                for a in re.findall(r'<a\s+(?:name|id)="([^"]+)"', line):
                    ids.add(a)
        cache[path] = ids
    return cache[path]


def check_page(page, root):
    problems, links = [], 0
    here = os.path.dirname(page)
    in_fence = False
    with open(page, encoding="utf-8") as f:
        lines = f.readlines()
    for no, line in enumerate(lines, 1):
        if line.startswith(("<<<<<<< ", ">>>>>>> ")):
            problems.append(f"{page}:{no}: a merge-conflict marker")
            continue
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        prose = CODE.sub("``", line)  # links inside code spans are not links
        for target in LINK.findall(prose) + IMAGE.findall(prose):
            links += 1
            if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:…
                continue
            path, _, anchor = target.partition("#")
            dest = os.path.normpath(os.path.join(here, path)) if path else page
            if not os.path.exists(dest):
                problems.append(f"{page}:{no}: link to a missing file: {target}")
            elif anchor and dest.endswith(".md") and anchor not in anchors(dest):
                problems.append(f"{page}:{no}: link to a missing anchor: {target}")
        for code in CODE.findall(line):
            code = code.strip()
            if not code.startswith(TOP) or " " in code or code.startswith(GENERATED):
                continue
            if re.search(r"[<>*…{}$|]|\.\.\.", code) or PLACEHOLDER.search(code):
                continue
            path = code.split(":", 1)[0].split("#", 1)[0].rstrip(".,;")
            links += 1
            # From the repository's root, or from the page's own directory (a crate's README).
            if not any(os.path.exists(os.path.join(d, path)) for d in (root, here)):
                # A git-ignored scratch path (fuzz/target/, bench/out/) exists only after a
                # build: not dangling on a fresh clone.
                ignored = subprocess.run(["git", "-C", root, "check-ignore", "-q", path])
                if ignored.returncode != 0:
                    problems.append(f"{page}:{no}: names a path that does not exist: {code}")
    return problems, links


def pages(root):
    out = subprocess.run(["git", "-C", root, "ls-files", "--cached", "--others",
                          "--exclude-standard", "*.md"], capture_output=True, text=True,
                         check=True).stdout
    return [os.path.join(root, p) for p in out.split() if os.path.exists(os.path.join(root, p))]


def run(files, root):
    problems, links = [], 0
    for page in files:
        p, n = check_page(page, root)
        problems += p
        links += n
    for p in problems:
        print(os.path.relpath(p, root) if p.startswith(root) else p)
    return problems, links


def self_test():
    """A page with a good link, a bad link, a bad anchor and a bad path fails with exactly the
    three; fixed, it passes."""
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "docs"))
        os.makedirs(os.path.join(root, "src"))
        open(os.path.join(root, "src", "main.rs"), "w").close()
        page = os.path.join(root, "docs", "page.md")
        good = "# Title\n\n## A `code` section\n\nSee [here](#a-code-section) and `src/main.rs`.\n"
        bad = good + "[gone](missing.md) [nowhere](#no-such-heading) `src/gone.rs`\n"
        with open(page, "w") as f:
            f.write(bad)
        problems, _ = check_page(page, root)
        kinds = sorted(p.split(": ", 1)[1].split(":")[0] for p in problems)
        want = ["link to a missing anchor", "link to a missing file",
                "names a path that does not exist"]
        if kinds != want:
            raise SystemExit(f"check-docs self-test: expected {want}, got {problems}")
        with open(page, "w") as f:
            f.write(good)
        anchors.__defaults__[0].clear()
        problems, links = check_page(page, root)
        if problems or links != 2:
            raise SystemExit(f"check-docs self-test: a good page failed: {problems} ({links})")
    print("check-docs: self-test ok (a bad link, anchor and path are caught)")


def main():
    args = sys.argv[1:]
    if args == ["--self-test"]:
        self_test()
        return
    if args and args[0].startswith("-"):
        raise SystemExit(__doc__)
    root = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True,
                          text=True, check=True).stdout.strip()
    files = [os.path.abspath(a) for a in args] or pages(root)
    problems, links = run(files, root)
    if problems:
        print(f"check-docs: {len(problems)} dangling reference(s) in {len(files)} pages")
        sys.exit(1)
    print(f"check-docs: {len(files)} pages, {links} links and paths, all there")


if __name__ == "__main__":
    main()
