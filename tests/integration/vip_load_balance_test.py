#!/usr/bin/env python3
"""Load balancing by VIP moves with real traffic (issue: VIPs across the cluster, seed 004
§A.5): three gateways with their fast paths; node 1 starts alone and claims every VIP;
two movable VIPs then carry real HTTP downloads through node 1's fast path. Nodes 2 and 3
read the load carriage (byte rates from the fast path's counters), take a VIP from the
overloaded node, and once the load is spread the VIPs stay where they are (no flapping)
while the traffic goes on."""
import sys
import threading
import time

from cluster_harness import SOURCE, Cluster, private_config, require_root, unique_name
from topology import Topology, wait_until

EXAMPLE = SOURCE / "config" / "examples" / "demo-3.yaml"
LOADED = ["198.18.0.101", "198.18.0.102"]


def owners(cluster):
    table = {}
    for node in (n for n, process in cluster.nodes.items() if process.proc.poll() is None):
        for v in cluster.query(node, "vips")["vips"]:
            if v["answered_here"]:
                table[v["vip"]] = node
    return table


def main():
    require_root()
    with Topology.create(unique_name("viplb"), gateways=3, clients=1, backends=2, files=["1m"]) as topo:
        # Both loaded VIPs movable, without preference, and served with fullnat.
        config = private_config(EXAMPLE, topo.work_dir, [
            (r"\{ address: 198\.18\.0\.101, preferred_host: 2, persistence: 1 \}", "{ address: 198.18.0.101, persistence: 0 }"),
            (r"nat: dnat \}", "nat: fullnat }"),
        ])
        with Cluster(config, topo.work_dir, topo) as cluster:
            cluster.start(1)
            wait_until(lambda: len(owners(cluster)) == 4 and set(owners(cluster).values()) == {1}, 20,
                       "node 1 alone owns every VIP")
            cluster.start(2)
            cluster.start(3)
            wait_until(lambda: len(cluster.query(1, "members")["members"]) == 3, 20, "three members")
            assert set(owners(cluster).values()) == {1}, "without load nothing moves"

            stop = threading.Event()
            client = topo.clients()[0]

            def download(vip):
                while not stop.is_set():
                    topo.run(client, "curl", "-s", "-o", "/dev/null", "--max-time", "5",
                             f"http://{vip}/file-1m", check=False)

            threads = [threading.Thread(target=download, args=(vip,), daemon=True) for vip in LOADED]
            for t in threads:
                t.start()
            try:
                wait_until(lambda: len({owners(cluster).get(v) for v in LOADED} - {1}) >= 1, 40,
                           "a loaded VIP moved off node 1")
                placed = owners(cluster)
                print(f"ok   under load a VIP moved off node 1: {placed}")
                # Each node's view is the table as the token last left it: wait until all
                # three agree, then watch that version.
                versions = lambda: {cluster.query(n, "vips")["table_version"] for n in (1, 2, 3)}
                wait_until(lambda: len(versions()) == 1, 10, "every node sees the same table")
                version = versions().pop()
                rates = {v["vip"]: v["bytes_per_second"] for v in cluster.query(2, "vips")["vips"]}
                assert any(rates[v] > 1_000_000 for v in LOADED), f"no measured load: {rates}"
                # Watch for two load-balancing cooldowns with the load still on: any move
                # fails at once.
                window_end = time.monotonic() + 12
                checks = 0
                while time.monotonic() < window_end:
                    now = owners(cluster)
                    assert now == placed, f"VIPs kept moving: {placed} -> {now}"
                    assert versions() == {version}, "the table kept changing"
                    checks += 1
                    stop.wait(0.5)
                assert checks >= 10, f"only {checks} checks in the window"

                print(f"ok   then they stay: no move in {checks} checks over 12 s under the same load (rates {rates})")
            finally:
                stop.set()
                for t in threads:
                    t.join(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
