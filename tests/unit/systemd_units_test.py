#!/usr/bin/env python3
"""The systemd units in systemd/ (copies that name the build tree's programs): they pass
`systemd-analyze verify`, every one is Type=notify with a runtime directory that one
instance's stop keeps for the others, ringgated's reloads by SIGHUP, and the command
line of ringgated's ExecStartPre is one the program accepts."""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BUILD = Path(os.environ["RINGGATE_BUILD"])
SOURCE = Path(os.environ["RINGGATE_SOURCE"])
UNITS = {"ringgated@.service": "ringgated@1.service", "ringgate-registry.service": "ringgate-registry.service",
         "ringgate-buddy.service": "ringgate-buddy.service"}


def settings(text):
    """The [Service] section's assignments (key -> list of values)."""
    out, section = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service":
            key, value = line.split("=", 1)
            out.setdefault(key, []).append(value)
    return out


def main():
    analyze = shutil.which("systemd-analyze")
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for template, instance in UNITS.items():
            text = (BUILD / "systemd" / f"build-tree-{template}").read_text()
            service = settings(text)
            assert service["Type"] == ["notify"], (template, service.get("Type"))
            assert service["RuntimeDirectory"] == ["ringgate"], template
            assert service["RuntimeDirectoryPreserve"] == ["yes"], template
            assert service["RestartPreventExitStatus"] == ["2"], template
            installed = (BUILD / "systemd" / template).read_text()
            assert re.search(r"(?m)^ExecStart=/\S+/sbin/ringgate", installed), installed
            if template.startswith("ringgated"):
                assert service["ExecReload"] == ["/bin/kill -HUP $MAINPID"], service.get("ExecReload")
                assert service["ExecStart"][0].endswith("--node %i"), service["ExecStart"]
                # The unit's own check, run on an example in place of /etc/ringgate/ringgate.yaml.
                check = shlex.split(service["ExecStartPre"][0].replace(
                    "/etc/ringgate/ringgate.yaml", str(SOURCE / "config" / "examples" / "demo-3.yaml")))
                result = subprocess.run(check, capture_output=True, text=True, timeout=30)
                assert result.returncode == 0 and result.stdout == "config OK\n", (check, result)
            if analyze is None:
                continue
            path = Path(tmp) / instance
            path.write_text(text)
            result = subprocess.run([analyze, "verify", "--man=no", str(path)], capture_output=True, text=True,
                                    timeout=60)
            # Lines about our file are warnings systemd would log at load (unknown keys,
            # bad values); lines about other units on this host are not ours to judge.
            ours = [line for line in result.stderr.splitlines() if instance in line or str(path) in line]
            if result.returncode != 0 or ours:
                print(f"FAIL {instance}: systemd-analyze verify exit {result.returncode}:\n{result.stderr}")
                failures += 1
            else:
                print(f"ok   {instance}: systemd-analyze verify clean")
    if analyze is None:
        print("systemd-analyze not installed: verified the settings only")
    print(f"{len(UNITS) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
