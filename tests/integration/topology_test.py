#!/usr/bin/env python3
"""tools/topology.py builds what it promises and removes all of it: reachability across
each segment, byte-correct files from the back ends, isolation (198.18.0.0/15 only, no
default routes, root namespace untouched), two runs side by side, teardown on SIGTERM,
and a killed run's leftovers cleaned by the next start."""
import json
import os
import signal
import subprocess
import sys
import time

from cluster_harness import require_root, unique_name
from topology import STATE_DIR, Topology, cleanup_stale, list_namespaces, wait_until, sh

TOOLS = os.path.join(os.environ["RINGGATE_SOURCE"], "tools")


def root_links():
    return sorted(link["ifname"] for link in json.loads(sh("ip", "-j", "link", "show").stdout))


def expected_file(index, size):
    pattern = bytes((i * 7 + index) % 251 for i in range(251 * 4))
    return (pattern * (size // len(pattern) + 1))[:size]


def test_build_reach_and_teardown():
    before = root_links()
    name = unique_name("topo")
    with Topology.create(name, gateways=2, clients=2, backends=2, files=["1k", "300k"]) as topo:
        assert len(topo.gateways()) == 2 and len(topo.clients()) == 2 and len(topo.backends()) == 2
        assert root_links() == before, "the root namespace gained or lost interfaces"
        topo.check_isolation()
        for client in topo.clients():
            for gw in topo.gateways():
                topo.run(client, "ping", "-c1", "-W2", gw.addresses["ext0"])
        for gw in topo.gateways():
            for backend in topo.backends():
                body = topo.run(gw, "curl", "-sf", "--max-time", "5",
                                f"http://{backend.address}/id").stdout
                assert body == f"backend{backend.index}\n", body
                data = subprocess.run(["ip", "netns", "exec", gw.namespace, "curl", "-sf",
                                       "--max-time", "5", f"http://{backend.address}/file-300k"],
                                      capture_output=True, check=True).stdout
                assert data == expected_file(backend.index, 300 * 1024), "file content differs"
        # The back end saw the gateway's own address.
        log = topo.access_log(topo.backends()[0])
        assert any(line.startswith("198.19.0.1 ") for line in log), log
        # Clients cannot reach the internal segment: the cluster is the only way in.
        result = topo.run(topo.clients()[0], "ping", "-c1", "-W1", "198.19.0.51", check=False)
        assert result.returncode != 0
        namespaces = topo.namespaces()
        assert all(ns in list_namespaces() for ns in namespaces)
    assert not any(ns in list_namespaces() for ns in namespaces), "namespaces left behind"
    assert not (STATE_DIR / f"{name}.json").exists()
    assert root_links() == before


def test_two_runs_side_by_side():
    a, b = unique_name("sideA"), unique_name("sideB")
    with Topology.create(a, gateways=1, clients=1, backends=1) as ta, \
         Topology.create(b, gateways=1, clients=1, backends=1) as tb:
        # Same addresses in both, and each works on its own.
        for topo in (ta, tb):
            topo.run(topo.clients()[0], "ping", "-c1", "-W2", "198.18.0.1")
        assert set(ta.namespaces()).isdisjoint(tb.namespaces())


def test_sigterm_tears_down():
    name = unique_name("sigterm")
    child = subprocess.Popen([sys.executable, "-c", f"""
import sys, time
sys.path.insert(0, {TOOLS!r})
from topology import Topology
try:
    with Topology.create({name!r}, gateways=1, clients=1, backends=0):
        print("ready", flush=True)
        time.sleep(120)
except KeyboardInterrupt:
    pass  # SIGTERM: the context manager has already torn everything down
"""], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    assert f"rg-{name}-gw1" in list_namespaces()
    child.send_signal(signal.SIGTERM)
    child.wait(timeout=30)
    assert not any(ns.startswith(f"rg-{name}-") for ns in list_namespaces()), list_namespaces()


def test_killed_run_is_cleaned_next_time():
    name = unique_name("killed")
    child = subprocess.Popen([sys.executable, "-c", f"""
import os, sys, time
sys.path.insert(0, {TOOLS!r})
from topology import Topology
Topology.create({name!r}, gateways=1, clients=1, backends=1, owner_pid=os.getpid())
print("ready", flush=True)
time.sleep(120)
"""], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    child.kill()
    child.wait()
    assert f"rg-{name}-gw1" in list_namespaces(), "the killed run should have left namespaces"
    removed = cleanup_stale()
    assert name in removed, removed
    assert not any(ns.startswith(f"rg-{name}-") for ns in list_namespaces())
    # A back-end HTTP server of the killed run must be gone too.
    out = subprocess.run(["pgrep", "-f", f"ringgate-topology/{name}/"], capture_output=True, text=True)
    assert out.stdout.strip() == "", f"leftover processes: {out.stdout}"


def test_cli_up_show_down():
    name = unique_name("cli")
    tool = os.path.join(TOOLS, "topology.py")
    up = subprocess.run([sys.executable, tool, "up", name, "--gateways", "1", "--clients", "1",
                         "--backends", "1", "--owner", str(os.getpid())],
                        capture_output=True, text=True)
    try:
        assert up.returncode == 0, up.stderr
        shown = json.loads(subprocess.run([sys.executable, tool, "show", name, "--json"],
                                          capture_output=True, text=True, check=True).stdout)
        assert [h["namespace"] for h in shown["hosts"]][0] == f"rg-{name}-gw1"
        again = subprocess.run([sys.executable, tool, "up", name], capture_output=True, text=True)
        assert again.returncode == 1 and "already exists" in again.stderr
    finally:
        down = subprocess.run([sys.executable, tool, "down", name], capture_output=True, text=True)
    assert down.returncode == 0, down.stderr
    missing = subprocess.run([sys.executable, tool, "down", name], capture_output=True, text=True)
    assert missing.returncode == 1 and "no topology" in missing.stderr
    bad = subprocess.run([sys.executable, tool, "up", "bad name!"], capture_output=True, text=True)
    assert bad.returncode == 1 and "alphanumeric" in bad.stderr


def main():
    require_root()
    tests = [v for k, v in globals().items() if k.startswith("test_")]
    for test in tests:
        started = time.monotonic()
        test()
        print(f"ok   {test.__name__} ({time.monotonic() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
