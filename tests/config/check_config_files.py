#!/usr/bin/env python3
"""Runs `ringgated --check-config` on every example (must print "config OK", exit 0)
and on every malformed configuration (must exit 2, print only well-formed error lines
FILE:LINE:COLUMN: field.path: reason, and name the expected field and reason).

Each file in malformed/ starts with `# expect: <field.path>: <reason fragment>`.
Inputs that cannot carry such a comment (binary garbage, huge files) are generated here.
"""
import os
import random
import re
import subprocess
import sys
import tempfile
from pathlib import Path

BUILD = Path(os.environ["RINGGATE_BUILD"])
SOURCE = Path(os.environ["RINGGATE_SOURCE"])
RINGGATED = BUILD / "control" / "ringgated"
ERROR_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<path>\S+): (?P<reason>.+)$")

failures = []


def check(path, *extra):
    return subprocess.run([str(RINGGATED), "--config", str(path), *extra],
                          capture_output=True, text=True, errors="replace", timeout=60)


def expect_refused(path, want_path, want_reason, label):
    result = check(path, "--check-config")
    problems = []
    if result.returncode != 2:
        problems.append(f"exit status {result.returncode}, expected 2")
    if "config OK" in result.stdout:
        problems.append("printed 'config OK'")
    lines = result.stderr.strip().splitlines()
    if not lines or not lines[-1].startswith("ringgated: "):
        problems.append("no closing summary line")
    errors = []
    for line in lines[:-1]:
        m = ERROR_LINE.match(line)
        if not m:
            problems.append(f"malformed error line: {line!r}")
        elif m["file"] != str(path):
            problems.append(f"error names file {m['file']!r}, not {path}")
        else:
            errors.append(m)
    if not errors:
        problems.append("no error lines")
    if want_path and not any(e["path"] == want_path and want_reason in e["reason"] for e in errors):
        problems.append(f"no error '{want_path}: ...{want_reason}...' in:\n    " + "\n    ".join(lines))
    for marker in ("terminate called", "Aborted", "Segmentation", "what():"):
        if marker in result.stderr:
            problems.append(f"crashed ({marker})")
    if problems:
        failures.append(f"{label}: " + "; ".join(problems))
    else:
        print(f"ok   refused {label}: {errors[0].group(0)}")


def main():
    examples = sorted((SOURCE / "config" / "examples").glob("*.yaml"))
    assert examples, "no example configurations found"
    for path in examples:
        result = check(path, "--check-config")
        if result.returncode != 0 or result.stdout.strip() != "config OK":
            failures.append(f"example {path.name}: exit {result.returncode}: {result.stderr.strip()}")
        else:
            print(f"ok   example {path.name}")

    malformed = sorted((SOURCE / "tests" / "config" / "malformed").glob("*.yaml"))
    for path in malformed:
        first = path.read_text(errors="replace").splitlines()[0]
        m = re.match(r"# expect: (\S+): (.*)$", first)
        if not m:
            failures.append(f"{path.name}: first line must be '# expect: PATH: REASON'")
            continue
        expect_refused(path, m[1], m[2], path.name)

    rng = random.Random(20261122)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        generated = {
            "binary-garbage-with-nul": bytes(rng.randrange(256) for _ in range(4096)),
            "binary-garbage-no-nul": bytes(rng.randrange(1, 256) for _ in range(4096)),
            "too-large": b"# padding\n" * 500_000,
            "deep-nesting": b"[" * 200_000,
            "huge-node-map": ("cluster:\n  name: x\n  config_version: 1\n  nodes:\n" +
                              "".join(f"    - {{ id: {i % 70000 + 1}, addresses: {{ e: 198.18.0.1 }} }}\n"
                                      for i in range(60_000))).encode(),
        }
        for name, data in generated.items():
            path = tmp / f"{name}.yaml"
            path.write_bytes(data)
            expect_refused(path, None, "", name)
        expect_refused(tmp / "does-not-exist.yaml", "(file)", "cannot open", "missing file")

    # --node must name a node of the map; the check happens before anything starts.
    result = check(SOURCE / "config" / "examples" / "demo-3.yaml", "--node", "9")
    if result.returncode != 2 or "not in the node map" not in result.stderr:
        failures.append(f"--node 9: exit {result.returncode}: {result.stderr.strip()}")
    count = len(malformed) + 6
    if count < 25:
        failures.append(f"only {count} malformed cases; the issue asks for at least 25")
    if failures:
        print("\nFAILED:\n" + "\n".join(failures))
        return 1
    print(f"\n{len(examples)} examples OK, {count} malformed configurations refused")
    return 0


if __name__ == "__main__":
    sys.exit(main())
