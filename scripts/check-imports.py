#!/usr/bin/env python3
"""Fails when a target imports a module that Package.swift does not declare as its dependency.

Swift lets a target import any module that is built before it, so an undeclared import compiles
until the graph changes. This reads the manifest (`swift package dump-package`, or a JSON file
given with --manifest) and greps every target's Swift files for `import X`. Modules of the
toolchain and the OS (SYSTEM_MODULES) need no declaration. Part of `make test`.
"""
import argparse
import json
import os
import re
import subprocess
import sys

# Modules that come with the toolchain or the platform, never declared in Package.swift.
SYSTEM_MODULES = {
    "Swift", "_Concurrency", "Darwin", "Glibc", "Musl", "Dispatch", "Foundation",
    "FoundationEssentials", "FoundationNetworking", "Synchronization", "XCTest", "Testing",
}

IMPORT = re.compile(
    r"^\s*(?:@[A-Za-z_]+(?:\([^)]*\))?\s+)*import\s+(?:(?:typealias|struct|class|enum|protocol|let|var|func)\s+)?([A-Za-z_][A-Za-z0-9_]*)",
    re.M,
)


def load_manifest(path):
    if path:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    out = subprocess.run(["swift", "package", "dump-package"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def target_dir(target):
    if target.get("path"):
        return target["path"]
    base = "Tests" if target["type"] == "test" else "Sources"
    return os.path.join(base, target["name"])


def declared_modules(target):
    names = set()
    for dep in target["dependencies"]:
        for kind in ("byName", "target", "product"):
            if kind in dep:
                names.add(dep[kind][0])
    return names


def imports_of(directory):
    """module -> first file:line that imports it"""
    found = {}
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d != "Fixtures")
        for name in sorted(files):
            if not name.endswith(".swift"):
                continue
            path = os.path.join(root, name)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            for m in IMPORT.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                found.setdefault(m.group(1), f"{path}:{line}")
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", help="JSON of `swift package dump-package` (default: run it)")
    args = parser.parse_args()
    manifest = load_manifest(args.manifest)
    problems = []
    checked = 0
    for target in manifest["targets"]:
        if target["type"] in ("system", "binary", "plugin", "macro"):
            continue
        directory = target_dir(target)
        if not os.path.isdir(directory):
            problems.append(f"{target['name']}: source folder {directory} not found")
            continue
        checked += 1
        declared = declared_modules(target) | {target["name"]}
        for module, where in sorted(imports_of(directory).items()):
            if module not in declared and module not in SYSTEM_MODULES:
                problems.append(f"{where}: target {target['name']} imports {module}, "
                                f"which is not in its dependencies in Package.swift")
    for p in problems:
        print(f"check-imports: {p}", file=sys.stderr)
    if problems:
        print(f"check-imports: FAILED: {len(problems)} undeclared import(s)", file=sys.stderr)
        return 1
    print(f"check-imports: ok: every import of {checked} targets is declared")
    return 0


if __name__ == "__main__":
    sys.exit(main())
