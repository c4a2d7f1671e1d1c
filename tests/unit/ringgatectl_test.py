"""ringgatectl's command line: help from the declarations, exit statuses, --json errors.

Runs the real binary against a management socket this test serves itself (a Unix socket
in a temporary directory speaking the line protocol of control/management/command_table.h),
so every path from argv to the exit status is exercised without a daemon or root.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

BUILD = Path(os.environ["RINGGATE_BUILD"])
SOURCE = Path(os.environ["RINGGATE_SOURCE"])
CTL = str(BUILD / "tools" / "ringgatectl")
CONFIG = str(SOURCE / "config" / "examples" / "demo-3.yaml")


def run(*args):
    return subprocess.run([CTL, *args], capture_output=True, text=True, timeout=10)


def serve(path, answers):
    """Answers each request line with answers(line); records the lines."""
    seen = []
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(8)

    def loop():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                data = b""
                while not data.endswith(b"\n"):
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                seen.append(data.decode())
                conn.sendall(answers(data.decode()).encode())

    threading.Thread(target=loop, daemon=True).start()
    return server, seen


def main():
    failures = 0

    def check(cond, what, detail=""):
        nonlocal failures
        print(("ok   " if cond else "FAIL ") + what)
        if not cond:
            print("     " + str(detail)[:2000])
            failures += 1

    helptext = run("--help")
    check(helptext.returncode == 0, "--help exits 0", helptext)
    for command in ("status", "members", "vips", "vip", "drain", "undrain", "stats", "connections",
                    "pool", "garp", "live-backends", "log-level"):
        check(f"\n  {command} " in helptext.stdout or f"\n  {command}\n" in helptext.stdout,
              f"--help lists {command}", helptext.stdout)
    check("-c,--config" in helptext.stdout and "Exit status" in helptext.stdout,
          "--help names -c,--config and the exit statuses", helptext.stdout)

    key = run("genkey")
    check(key.returncode == 0 and len(key.stdout.strip()) == 64 and int(key.stdout, 16) >= 0 and
          run("genkey").stdout != key.stdout, "genkey prints a fresh 256-bit hex key", key)
    keyj = run("genkey", "--json")
    check(keyj.returncode == 0 and len(json.loads(keyj.stdout)["shared_key"]) == 64, "genkey --json", keyj)

    env = dict(os.environ, RINGGATE_PASSWORD="hunter2-but-longer")
    hashed = subprocess.run([CTL, "passwd"], capture_output=True, text=True, timeout=30, env=env)
    again = subprocess.run([CTL, "passwd"], capture_output=True, text=True, timeout=30, env=env)
    check(hashed.returncode == 0 and hashed.stdout.startswith("$y$") and hashed.stdout != again.stdout,
          "passwd prints a salted yescrypt hash (a fresh salt each time)", (hashed, again))
    check("passwd" in helptext.stdout and "--host" in helptext.stdout and "--ca-file" in helptext.stdout,
          "--help names passwd, --host and --ca-file", helptext.stdout)

    version = run("--version")
    check(version.returncode == 0 and version.stdout.startswith("ringgatectl "), "--version", version)

    for args, why in ((["frobnicate"], "an unknown command"),
                      ([], "no command"),
                      (["--socket", "/nonexistent", "members", "extra"], "an argument members does not take"),
                      (["--timeout-ms", "0", "--socket", "/x", "status"], "a timeout out of range"),
                      (["status"], "no socket and no configuration"),
                      (["--host", "http://127.0.0.1:8443", "--user", "a", "status"], "plain http:// refused"),
                      (["--host", "https://127.0.0.1:8443/x?y", "--user", "a", "status"], "a URL with a path"),
                      (["--host", "https://127.0.0.1:8443", "status"], "--host without --user"),
                      (["--user", "a", "--socket", "/x", "status"], "--user without --host"),
                      (["--host", "https://127.0.0.1:8443", "--socket", "/x", "--user", "a", "status"],
                       "--host with --socket")):
        r = run(*args)
        check(r.returncode == 2 and r.stderr.strip() and not r.stdout, f"usage error exits 2: {why}", r)
        rj = run(*args, "--json")
        ok = rj.returncode == 2
        try:
            ok = ok and "error" in json.loads(rj.stdout)
        except ValueError:
            ok = False
        check(ok, f"usage error with --json is JSON on stdout: {why}", rj)

    short = run("-c", CONFIG, "-n", "9", "status")
    check(short.returncode == 2 and "node 9 is not in the node map" in short.stderr,
          "-c and -n are recognised (node 9 is refused by the configuration, not the parser)", short)
    missing = run("-c", "/nonexistent.yaml", "--node", "1", "status")
    check(missing.returncode == 2 and "nonexistent" in missing.stderr, "a missing -c FILE is named", missing)

    with tempfile.TemporaryDirectory(prefix="rgctl-") as tmp:
        gone = os.path.join(tmp, "nobody.sock")
        r = run("--socket", gone, "status", "--json")
        try:
            doc = json.loads(r.stdout)
        except ValueError:
            doc = {}
        check(r.returncode == 1 and "cannot reach" in doc.get("error", ""),
              "an unreachable node with --json: exit 1, JSON error on stdout", r)
        r = run("--socket", gone, "status")
        check(r.returncode == 1 and "cannot reach" in r.stderr and not r.stdout,
              "an unreachable node: exit 1, message on stderr", r)

        path = os.path.join(tmp, "node.sock")

        def answers(line):
            if line.startswith("json log-level"):
                return 'error\n{"error":"bad log spec"}\n'
            if line.startswith("text log-level"):
                return "error\nbad log spec\n"
            return "ok\n" + ('{"seen":true}\n' if line.startswith("json") else "seen\n")

        server, seen = serve(path, answers)
        try:
            r = run("--socket", path, "vip", "move", "198.18.0.100", "2", "--json")
            check(r.returncode == 0 and json.loads(r.stdout) == {"seen": True}, "an answer is printed", r)
            check(seen and seen[-1] == "json vip move 198.18.0.100 2\n",
                  "the command and its arguments reach the node as one request line", seen)
            r = run("--json", "--socket", path, "connections")
            check(r.returncode == 0 and seen[-1] == "json connections\n",
                  "optional arguments may be left out", seen)
            r = run("--socket", path, "log-level", "cluster=loud", "--json")
            check(r.returncode == 1 and json.loads(r.stdout)["error"] == "bad log spec",
                  "a refusal with --json: exit 1, the node's JSON error on stdout", r)
            r = run("--socket", path, "log-level", "cluster=loud")
            check(r.returncode == 1 and "bad log spec" in r.stderr and not r.stdout,
                  "a refusal in text: exit 1, on stderr", r)
        finally:
            server.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
