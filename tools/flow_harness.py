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


def owners(cluster, vips, nodes=(1, 2, 3)):
    """For each VIP, the node that answers for it when every node agrees and no move is
    under way, else None (one `vips` query per node)."""
    views = {n: {v["vip"]: v for v in cluster.query(n, "vips")["vips"]} for n in nodes}
    result = {}
    for vip in vips:
        seen = [views[n][vip] for n in nodes]
        current = seen[0]["current_host"]
        answering = [n for n in nodes if views[n][vip]["answered_here"]]
        settled = current is not None and all(v["current_host"] == current and v["moving_to"] is None for v in seen)
        result[vip] = current if settled and answering == [current] else None
    return result


def place(cluster, vips, node, nodes=(1, 2, 3)):
    """Moves `vips` (one or several, together) to `node` and makes them stay there
    (persistence 1: sticky)."""
    vips = [vips] if isinstance(vips, str) else list(vips)
    for vip, current in owners(cluster, vips, nodes).items():
        if current != node:
            cluster.query(node, "vip", "move", vip, str(node))
    wait_until(lambda: all(o == node for o in owners(cluster, vips, nodes).values()), SETTLE,
               f"{', '.join(vips)} on node {node}")
    for vip in vips:
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
