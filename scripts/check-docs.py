#!/usr/bin/env python3
"""Checks the documentation against the tree. Part of `make test`.

- Every relative link in every Markdown file (README.md, docs/, the rest of the tree) names a
  file that exists, and its `#anchor`, if any, a heading of that file (GitHub's anchor rule).
- README.md stays a front door: under README_LIMIT bytes.
- `.ci/run` runs the test command the README gives under "The two commands".
- The module table of docs/architecture.md lists every target of Package.swift once, with
  exactly its dependencies (`swift package dump-package`, or the JSON given with --manifest).
"""
import argparse
import json
import os
import re
import subprocess
import sys

README_LIMIT = 12 * 1024
SKIP_DIRS = {".build", ".git", ".lab", "node_modules"}
LINK = re.compile(r"(?<!\\)\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"`[^`]*`")

problems = []


def problem(text):
    problems.append(text)


def markdown_files():
    for root, dirs, files in os.walk("."):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith(".build"))
        for name in sorted(files):
            if name.endswith(".md"):
                yield os.path.normpath(os.path.join(root, name))


def prose_lines(path):
    """(line number, text) of the lines outside fenced code blocks, inline code removed."""
    fenced = False
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if FENCE.match(line):
                fenced = not fenced
                continue
            if not fenced:
                yield number, INLINE_CODE.sub("", line.rstrip("\n"))


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


anchor_cache = {}


def anchors(path):
    if path not in anchor_cache:
        seen = {}
        result = set()
        fenced = False
        with open(path, encoding="utf-8") as f:
            for line in f:
                if FENCE.match(line):
                    fenced = not fenced
                    continue
                m = HEADING.match(line) if not fenced else None
                if m:
                    base = slug(m.group(2))
                    n = seen.get(base, 0)
                    seen[base] = n + 1
                    result.add(base if n == 0 else f"{base}-{n}")
        anchor_cache[path] = result
    return anchor_cache[path]


def check_links():
    count = 0
    for path in markdown_files():
        for number, line in prose_lines(path):
            for m in LINK.finditer(line):
                target = m.group(1)
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                    continue
                count += 1
                file_part, _, anchor = target.partition("#")
                resolved = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
                where = f"{path}:{number}: link ({target})"
                if not os.path.exists(resolved):
                    problem(f"{where}: {resolved} does not exist")
                    continue
                if anchor:
                    if not resolved.endswith(".md"):
                        problem(f"{where}: an anchor into a file that is not Markdown")
                    elif anchor not in anchors(resolved):
                        problem(f"{where}: {resolved} has no heading with the anchor #{anchor}")
    return count


def check_readme():
    size = os.path.getsize("README.md")
    if size > README_LIMIT:
        problem(f"README.md: {size} bytes, over {README_LIMIT}: move details into docs/")
    # The test command: the `make ...` line of "The two commands" whose comment mentions CI.
    text = open("README.md", encoding="utf-8").read()
    section = re.search(r"^## The two commands\n(.*?)(?=^## )", text, re.M | re.S)
    if not section:
        problem("README.md: no section '## The two commands'")
        return
    commands = [l.split("#")[0].strip() for l in section.group(1).splitlines() if "CI" in l and l.startswith("make ")]
    if len(commands) != 1:
        problem("README.md: 'The two commands' should have one `make ...` line that says CI runs it")
        return
    ci = [l.strip() for l in open(".ci/run", encoding="utf-8") if l.strip() and not l.lstrip().startswith("#")]
    if commands[0] not in ci:
        problem(f".ci/run does not run the README's test command `{commands[0]}` on a line of its own")


def check_module_table(manifest_path):
    path = "docs/architecture.md"
    text = open(path, encoding="utf-8").read()
    section = re.search(r"^## Modules\n(.*?)(?=^## )", text, re.M | re.S)
    if not section:
        problem(f"{path}: no section '## Modules'")
        return
    documented = {}
    for line in section.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        name = cells[0].strip("`")
        if name in documented:
            problem(f"{path}: target {name} is listed twice in the module table")
        documented[name] = set(re.findall(r"`([^`]+)`", cells[1]))
    if manifest_path:
        manifest = json.load(open(manifest_path, encoding="utf-8"))
    else:
        out = subprocess.run(["swift", "package", "dump-package"], check=True, capture_output=True, text=True)
        manifest = json.loads(out.stdout)
    declared = {}
    for target in manifest["targets"]:
        deps = set()
        for dep in target["dependencies"]:
            for kind in ("byName", "target", "product"):
                if kind in dep:
                    deps.add(dep[kind][0])
        declared[target["name"]] = deps
    for name in sorted(set(declared) - set(documented)):
        problem(f"{path}: target {name} of Package.swift is missing from the module table")
    for name in sorted(set(documented) - set(declared)):
        problem(f"{path}: the module table lists {name}, which Package.swift does not declare")
    for name in sorted(set(declared) & set(documented)):
        if declared[name] != documented[name]:
            problem(f"{path}: {name} depends on {sorted(declared[name]) or '-'} in Package.swift, "
                    f"the module table says {sorted(documented[name]) or '-'}")
    return len(documented)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", help="JSON of `swift package dump-package` (default: run it)")
    args = parser.parse_args()
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    links = check_links()
    check_readme()
    targets = check_module_table(args.manifest)
    for p in problems:
        print(f"check-docs: {p}", file=sys.stderr)
    if problems:
        print(f"check-docs: FAILED: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"check-docs: ok: {links} links, README {os.path.getsize('README.md')} bytes, "
          f".ci/run runs the README's test command, {targets} targets in the module table")
    return 0


if __name__ == "__main__":
    sys.exit(main())
