"""Shared steps of the flows-across-the-cluster tests and benchmark (docs/FLOWS.md): a
three-gateway cluster on config/examples/demo-3.yaml, VIPs pinned where a test wants
them, and checked HTTP downloads from a client namespace (tools/http_load.py)."""
import json
import subprocess
import sys

from cluster_harness import SOURCE, Cluster, private_config
from topology import wait_until

EXAMPLE = SOURCE / "config" / "examples" / "demo-3.yaml"
HTTP_LOAD = SOURCE / "tools" / "http_load.py"
FULLNAT_VIP = "198.18.0.101"
DNAT_VIP = "198.18.0.102"
INTERNAL_VIP = "198.19.0.100"
SETTLE = 15  # seconds: generous on a 2-core machine shared with other suites


def start_cluster(topo, nodes=(1, 2, 3), replacements=()):
    config = private_config(EXAMPLE, topo.work_dir, replacements)
    cluster = Cluster(config, topo.work_dir, topo)
    for node in nodes:
        cluster.start(node)
    wait_until(lambda: all(len(cluster.query(n, "members")["members"]) == len(nodes) for n in nodes), SETTLE,
               f"{len(nodes)} members")
    return cluster


def vip_view(cluster, node, vip):
    return next(v for v in cluster.query(node, "vips")["vips"] if v["vip"] == vip)


def owner(cluster, vip, nodes):
    """The node that answers for `vip` when every node agrees and no move is under way."""
    views = [vip_view(cluster, n, vip) for n in nodes]
    current = views[0]["current_host"]
    if current is None or any(v["current_host"] != current or v["moving_to"] is not None for v in views):
        return None
    answering = [n for n in nodes if vip_view(cluster, n, vip)["answered_here"]]
    return current if answering == [current] else None


def place(cluster, vip, node, nodes=(1, 2, 3)):
    """Moves `vip` to `node` and makes it stay there (persistence 1: sticky)."""
    if owner(cluster, vip, nodes) != node:
        cluster.query(node, "vip", "move", vip, str(node))
        wait_until(lambda: owner(cluster, vip, nodes) == node, SETTLE, f"{vip} on node {node}")
    cluster.query(node, "vip", "persistence", vip, "1")


def load(topo, client, url, count, concurrency, size, timeout=60):
    """Runs tools/http_load.py in the client's namespace; its JSON summary."""
    result = subprocess.run(["ip", "netns", "exec", client.namespace, sys.executable, str(HTTP_LOAD), url,
                             str(count), str(concurrency), str(size)],
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"http_load: {result.stderr}")
    return json.loads(result.stdout)


def start_load(topo, client, url, count, concurrency, size):
    """Starts downloads in the background; finish_load() collects the summary."""
    return subprocess.Popen(["ip", "netns", "exec", client.namespace, sys.executable, str(HTTP_LOAD), url,
                             str(count), str(concurrency), str(size), "--timeout", "60"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_load(proc, timeout=180):
    out, err = proc.communicate(timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"http_load: {err}")
    return json.loads(out)


def flows(cluster, node):
    return cluster.query(node, "flows")


def new_flows(cluster, node, service):
    return next(s for s in cluster.query(node, "stats")["services"] if s["name"] == service)["new_flows"]


def resets_seen(topo, client):
    """TCP resets the client's kernel took on established connections (TcpEstabResets)."""
    out = topo.run(client, "nstat", "-az", "TcpEstabResets").stdout
    for line in out.splitlines():
        fields = line.split()
        if fields and fields[0] == "TcpEstabResets":
            return int(fields[1])
    raise RuntimeError(f"nstat printed no TcpEstabResets: {out!r}")


def settle_members(cluster, nodes):
    wait_until(lambda: all(sorted(m["id"] for m in cluster.query(n, "members")["members"]) == sorted(nodes)
                           for n in nodes),
               SETTLE, f"members {sorted(nodes)}")
