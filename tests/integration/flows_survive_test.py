#!/usr/bin/env python3
"""Flows outlive their gateway (docs/FLOWS.md): 100 concurrent downloads of 1 MiB at
100 kB/s each (about ten seconds), half through a fullnat VIP and half through a dnat VIP,
from a real kernel client through real nginx back ends; a gateway is killed with SIGKILL
in the middle. Every download must complete byte for byte, and the client's kernel must
take no reset. Four rounds, each with the cluster whole again first:
  1. kill the node that owns both VIPs and handles every flow (the others adopt them);
  2. kill the internal VIP's owner (the back ends' next hop moves; replies find the flows);
  3. kill a node that only keeps replicas;
  4. after those restarts and rejoins, kill the handler again.
Needs root; exit 77 without it."""
import signal
import sys
import time

from cluster_harness import require_root, unique_name
from flow_harness import (DNAT_VIP, FULLNAT_VIP, INTERNAL_VIP, finish_load, flows, place, resets_seen,
                          settle_members, start_cluster, start_load)
from topology import Topology

DOWNLOADS = 50  # per VIP
SIZE = 1024 * 1024
ALL = (1, 2, 3)

ROUNDS = [
    # (what, VIPs' node, internal VIP's node, node killed)
    ("the VIPs' owner and every flow's handler", 1, 2, 1),
    ("the internal VIP's owner", 3, 1, 1),
    ("a node that only keeps replicas", 2, 2, 3),
    ("the handler again, after two restarts", 3, 1, 3),
]


def main():
    require_root()
    with Topology.create(unique_name("flsurv"), gateways=3, clients=1, backends=2, files=["1m"]) as topo:
        client = topo.clients()[0]
        with start_cluster(topo) as cluster:
            for what, vip_node, internal_node, victim in ROUNDS:
                place(cluster, FULLNAT_VIP, vip_node)
                place(cluster, DNAT_VIP, vip_node)
                place(cluster, INTERNAL_VIP, internal_node)
                resets = resets_seen(topo, client)
                loads = [start_load(topo, client, f"http://{vip}/slow/file-1m", DOWNLOADS, DOWNLOADS, SIZE)
                         for vip in (FULLNAT_VIP, DNAT_VIP)]
                time.sleep(3)
                cluster.signal(victim, signal.SIGKILL)
                cluster.nodes[victim].proc.wait()
                results = [finish_load(load) for load in loads]
                survivors = [n for n in ALL if n != victim]
                adopted = sum(flows(cluster, n)["replication"]["adopted"] for n in survivors)
                unsaved = sum(flows(cluster, n)["fast_path"]["unsaved"] for n in survivors)
                new_resets = resets_seen(topo, client) - resets
                for vip, result in zip((FULLNAT_VIP, DNAT_VIP), results):
                    assert result["ok"] == DOWNLOADS and result["resets"] == 0, (what, vip, result)
                assert new_resets == 0, (what, new_resets)
                assert unsaved == 0, (what, "flows restarted mid-stream without their record", unsaved)
                stall = max(max(r["stall_ms"]) for r in results)
                print(f"ok   kill -9 of node {victim} ({what}): {2 * DOWNLOADS} downloads complete and "
                      f"byte-exact, 0 resets, longest pause {stall:.0f} ms; adopted so far {adopted}, "
                      f"unsaved {unsaved}")
                cluster.start(victim)
                settle_members(cluster, ALL)
    return 0


if __name__ == "__main__":
    sys.exit(main())
