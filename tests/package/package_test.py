#!/usr/bin/env python3
"""Builds the Debian package from the tree the conventional way (dpkg-buildpackage with
debian/, in a copy of the tracked and new files) and checks what it holds: the programs
where the units and man pages say they are, the units, man pages that render without
warnings, bash completion, the XDP object the installed ringgated loads, the docs; no
test programs. The extracted programs answer --version, and lintian's errors fail it.
Prints the build's wall time (CI budgets it: a package build is a full rebuild)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOURCE = Path(os.environ["RINGGATE_SOURCE"])
BUILD = Path(os.environ["RINGGATE_BUILD"])

EXPECTED = [
    "./usr/sbin/ringgated", "./usr/sbin/ringgate-registry", "./usr/sbin/ringgate-buddy", "./usr/bin/ringgatectl",
    "./lib/systemd/system/ringgated@.service", "./lib/systemd/system/ringgate-registry.service",
    "./lib/systemd/system/ringgate-buddy.service",
    "./usr/share/man/man8/ringgated.8.gz", "./usr/share/man/man8/ringgatectl.8.gz",
    "./usr/share/man/man8/ringgate-registry.8.gz", "./usr/share/man/man8/ringgate-buddy.8.gz",
    "./usr/share/man/man5/ringgate.yaml.5.gz",
    "./usr/share/bash-completion/completions/ringgatectl", "./usr/share/bash-completion/completions/ringgated",
    "./usr/share/bash-completion/completions/ringgate-registry",
    "./usr/share/bash-completion/completions/ringgate-buddy",
    "./etc/default/ringgate-buddy", "./etc/default/ringgate-registry", "./etc/ringgate/",
    "./usr/share/doc/ringgate/OPERATIONS.md.gz", "./usr/share/doc/ringgate/copyright",
    "./usr/share/doc/ringgate/examples/demo-3.yaml",
]
NOT_SHIPPED = re.compile(r"/(unit_|udp_probe|.*_bench|.*fuzz|https_client)[^/]*$")


def run(cmd, **kwargs):
    return subprocess.run(cmd, capture_output=True, text=True, **kwargs)


def copy_tree(target):
    """The tracked files and new ones not ignored: what a clone plus this change holds."""
    listed = run(["git", "-C", str(SOURCE), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                 check=True).stdout.split("\0")
    for name in filter(None, listed):
        src = SOURCE / name
        if not src.is_file():
            continue  # deleted in the work tree
        dst = target / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)


def main():
    for tool in ("dpkg-buildpackage", "dh"):
        if shutil.which(tool) is None:
            print(f"SKIP: {tool} missing (tools/install-deps.sh installs it)")
            return 77
    failures = []
    with tempfile.TemporaryDirectory(prefix="ringgate-package-", dir=BUILD) as tmp:
        tree = Path(tmp) / "ringgate"
        copy_tree(tree)
        env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck noddebs parallel=2")
        started = time.monotonic()
        built = run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=tree, env=env)
        seconds = time.monotonic() - started
        (Path(BUILD) / "package-build.log").write_text(built.stdout + built.stderr)
        if built.returncode != 0:
            print((built.stdout + built.stderr)[-6000:])
            print(f"FAIL dpkg-buildpackage exit {built.returncode} after {seconds:.0f} s")
            return 1
        debs = sorted(Path(tmp).glob("ringgate_*.deb"))
        assert len(debs) == 1, debs
        deb = debs[0]
        print(f"ok   dpkg-buildpackage -b: {deb.name}, {deb.stat().st_size / 1e6:.1f} MB, {seconds:.0f} s")

        listing = run(["dpkg-deb", "-c", str(deb)], check=True).stdout
        paths = {line.split()[5] for line in listing.splitlines()}
        missing = [p for p in EXPECTED if p not in paths]
        xdp = [p for p in paths if p.endswith("/ringgate/ringgate_xdp.bpf.o")]
        test_programs = sorted(p for p in paths if NOT_SHIPPED.search(p))
        if missing or len(xdp) != 1 or test_programs:
            failures.append(f"contents: missing {missing}, XDP objects {xdp}, test programs shipped {test_programs}")
        else:
            print(f"ok   dpkg-deb -c: {len(paths)} paths, programs, units, 5 man pages, completion, XDP object")

        fields = run(["dpkg-deb", "-f", str(deb), "Depends"], check=True).stdout
        for library in ("libdpdk", "libsystemd0", "libbpf", "libyaml-cpp", "libpq5", "libsqlite3"):
            if library not in fields:
                failures.append(f"Depends lacks {library}: {fields}")
        print(f"ok   Depends: {fields.strip()[:160]}...")

        root = Path(tmp) / "root"
        run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
        for program in ("usr/sbin/ringgated", "usr/bin/ringgatectl", "usr/sbin/ringgate-registry",
                        "usr/sbin/ringgate-buddy"):
            name = Path(program).name
            version = run([str(root / program), "--version"], timeout=30)
            if version.returncode != 0 or not version.stdout.startswith(f"{name} 0."):
                failures.append(f"{program} --version: {version.returncode} {version.stdout!r} {version.stderr!r}")
        unit = (root / "lib/systemd/system/ringgated@.service").read_text()
        if "ExecStart=/usr/sbin/ringgated --config /etc/ringgate/ringgate.yaml --node %i" not in unit:
            failures.append("ringgated@.service does not start /usr/sbin/ringgated")
        # The installed ringgated must load the installed XDP object, not the build tree's.
        strings = run(["grep", "-c", "/usr/lib/.*/ringgate/ringgate_xdp.bpf.o", "-a",
                       str(root / "usr/sbin/ringgated")]).stdout.strip()
        if strings in ("", "0"):
            failures.append("ringgated does not name the installed XDP object")
        print("ok   extracted programs answer --version; the unit starts /usr/sbin/ringgated")

        for page in sorted((root / "usr/share/man").rglob("*.gz")):
            rendered = subprocess.run(f"zcat {page} | groff -man -Tutf8 -ww -z", shell=True, capture_output=True,
                                      text=True)
            if rendered.returncode != 0 or rendered.stderr.strip():
                failures.append(f"{page.name}: groff warnings: {rendered.stderr.strip()[:400]}")
        text = subprocess.run(f"zcat {root}/usr/share/man/man8/ringgated.8.gz | groff -man -Tutf8",
                              shell=True, capture_output=True, text=True).stdout
        for needle in ("--check-config", "/etc/ringgate/ringgate.yaml", "ringgated@.service", "ringgatectl(8)"):
            if needle not in text.replace("\u2010", "-"):
                failures.append(f"ringgated(8) lacks {needle!r}")
        text = subprocess.run(f"zcat {root}/usr/share/man/man5/ringgate.yaml.5.gz | groff -man -Tutf8",
                              shell=True, capture_output=True, text=True).stdout
        for needle in ("shared_key", "config_version", "socket_group"):
            if needle not in text:
                failures.append(f"ringgate.yaml(5) lacks {needle!r}")
        print("ok   man pages render without groff warnings and carry options, files, fields")

        if shutil.which("lintian"):
            lint = run(["lintian", "--no-tag-display-limit", str(deb)], timeout=600)
            tags = [line for line in lint.stdout.splitlines() if re.match(r"^[EWI]: ", line)]
            errors = [line for line in tags if line.startswith("E: ")]
            print(f"ok   lintian ran: {len(errors)} errors, {sum(t.startswith('W: ') for t in tags)} warnings")
            for line in tags:
                print("     " + line)
            if errors:
                failures.append(f"lintian errors: {errors}")
        else:
            print("lintian not installed: not run")
    for failure in failures:
        print("FAIL " + failure)
    print(f"package build seconds: {seconds:.0f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
