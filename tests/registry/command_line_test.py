"""ringgate-registry's and ringgate-buddy's command lines (declared with CLI11, common/cli_app.h):
--help and --version, and every bad value refused with exit 2 and a message naming the
option, before anything is opened or bound. No root, no network.
"""
import os
import subprocess
import sys
from pathlib import Path

BUILD = Path(os.environ["RINGGATE_BUILD"])
REGISTRY = str(BUILD / "control/registry/ringgate-registry")
BUDDY = str(BUILD / "control/registry/ringgate-buddy")
SERVICE = ["--service", "198.19.0.250:7300"]


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=10)


def refused(program, args, needle):
    r = run(program, *args)
    assert r.returncode == 2, (args, r.returncode, r.stdout, r.stderr)
    assert needle in r.stderr, (args, needle, r.stderr)


def main():
    buddy = ["--self", "198.19.0.5", "--registry", "198.19.0.250:7300"]
    for program, name, needs in ((REGISTRY, "ringgate-registry", SERVICE), (BUDDY, "ringgate-buddy", buddy)):
        h = run(program, "--help")
        assert h.returncode == 0 and "usage:" in h.stdout.lower() and "--key-file" in h.stdout, h.stdout
        v = run(program, "--version")
        assert v.returncode == 0 and v.stdout.startswith(name + " "), v.stdout
        refused(program, [*needs, "--bogus"], "--bogus")
        refused(program, [*needs, "--no-auth", "--log", "x=y"], "--log: bad spec")
    print("ok   --help, --version, unknown options")

    for args, needle in ((["--service", "nope"], "--service"),
                         ([*SERVICE, "--check-interval-ms", "0"], "--check-interval-ms"),
                         ([*SERVICE, "--role", "leader"], "--role"),
                         ([*SERVICE, "--peers", "198.19.0.201,zz"], "'zz' is not an IPv4 address"),
                         ([*SERVICE, "--backend-prefixes", "198.19.0.0/24,10.0.0.0/99"], "--backend-prefixes"),
                         ([*SERVICE, "--guard-fraction", "1.5"], "--guard-fraction"),
                         ([*SERVICE, "--confirm", "ping"], "--confirm"),
                         ([*SERVICE, "--store", "mysql"], "--store"),
                         ([*SERVICE, "--no-auth", "--role", "auto"], "--interface"),
                         ([*SERVICE, "--no-auth", "--confirm", "tcp"], "--confirm-port"),
                         ([*SERVICE], "--key-file"),
                         (["--no-auth"], "--service"),
                         ([*SERVICE, "--config", "/nonexistent.yaml"], "--config")):
        refused(REGISTRY, args, needle)
    print("ok   ringgate-registry: bad values refused, exit 2")

    registry = ["--registry", "198.19.0.250:7300"]
    for args, needle in (([*registry], "--self"),
                         (["--self", "198.19.0.300", *registry], "--self"),
                         (["--self", "198.19.0.5", "--registry", "198.19.0.250:7300,x"], "'x' is not ADDR:PORT"),
                         (["--self", "198.19.0.5", "--no-auth"], "--registry"),
                         (["--self", "198.19.0.5", *registry, "--no-auth", "--check", "tcp"], "--check-port"),
                         (["--self", "198.19.0.5", *registry, "--check", "udp"], "--check"),
                         (["--self", "198.19.0.5", *registry, "--interval-ms", "5"], "--interval-ms"),
                         (["--self", "198.19.0.5", *registry], "--key-file")):
        refused(BUDDY, args, needle)
    print("ok   ringgate-buddy: bad values refused, exit 2")
    return 0


if __name__ == "__main__":
    sys.exit(main())
