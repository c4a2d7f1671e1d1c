#!/usr/bin/env python3
"""Symmetric routing (seed 004 Figs 20-21): a dnat VIP owned by node 1 while the internal
VIP, through which the back ends reply, is on node 2. 1,000 downloads from a real kernel
client through real nginx back ends, each on a new connection, byte for byte; every flow
is node 1's (it translates them all: nodes 2 and 3 create none) and leaves through node 1:
node 2, the default reply node, sends every reply on to the flow's authority or straight
to node 1 once it has asked, never to the client itself.
Before flows across the cluster, node 2 dropped these replies (no such flow). Needs root;
exit 77 without it."""
import sys

from cluster_harness import require_root, unique_name
from flow_harness import DNAT_VIP, INTERNAL_VIP, flows, load, new_flows, place, start_cluster
from topology import Topology

REQUESTS = 1000
SIZE = 100 * 1024


def main():
    require_root()
    with Topology.create(unique_name("flsym"), gateways=3, clients=1, backends=2, files=["100k"]) as topo:
        client = topo.clients()[0]
        with start_cluster(topo) as cluster:
            place(cluster, DNAT_VIP, 1)
            place(cluster, INTERNAL_VIP, 2)
            print(f"ok   {DNAT_VIP} (dnat) on node 1, {INTERNAL_VIP} (the back ends' next hop) on node 2")
            before = {n: flows(cluster, n) for n in (1, 2, 3)}
            ext_tx = {n: cluster.query(n, "stats")["ports"][0]["tx_packets"] for n in (1, 2, 3)}

            result = load(topo, client, f"http://{DNAT_VIP}/file-100k", REQUESTS, 8, SIZE, timeout=300)
            assert result["ok"] == REQUESTS, result
            print(f"ok   {REQUESTS} downloads of 100 KiB, byte-exact, {result['seconds']} s")

            made = {n: new_flows(cluster, n, "web-102") for n in (1, 2, 3)}
            # A client port used again after TIME_WAIT restarts its old entry instead of
            # counting a new flow, so node 1 counts somewhat fewer than REQUESTS.
            assert made[1] >= REQUESTS * 0.9 and made[2] == 0 and made[3] == 0, made
            after = {n: flows(cluster, n) for n in (1, 2, 3)}
            fast = lambda n, key: after[n]["fast_path"][key] - before[n]["fast_path"][key]  # noqa: E731
            sent_on = {n: fast(n, "to_authority") + fast(n, "to_handler") for n in (2, 3)}
            # Every reply reached node 2 first; it sent each on (to the authority until its
            # cache knew, then to node 1 directly). Replies are many per download.
            assert sent_on[2] >= REQUESTS * 10, (sent_on, after[2])
            asked = after[2]["replication"]["asks_sent"] - before[2]["replication"]["asks_sent"]
            assert asked > 0, after[2]
            tx = {n: cluster.query(n, "stats")["ports"][0]["tx_packets"] - ext_tx[n] for n in (1, 2, 3)}
            # 100 KiB a download: ~70 segments toward the client each, all from node 1.
            assert tx[1] >= REQUESTS * 60 and tx[2] < REQUESTS and tx[3] < REQUESTS, tx
            print(f"ok   node 1 made all {made[1]} flows and sent {tx[1]} packets to the client; node 2 "
                  f"sent {sent_on[2]} replies on (asked {asked} times), "
                  f"and {tx[2]} packets to the client")
            held = sum(fast(n, "held") for n in (1, 2, 3))
            expired = sum(fast(n, "hold_expired") for n in (1, 2, 3))
            print(f"ok   {held} replies held for their record, {expired} of them past hold_ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
