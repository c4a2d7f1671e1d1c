#!/usr/bin/env python3
"""Open flows through any number of live moves (seed 004 Figs 14-15, docs/FLOWS.md): with
keep-alive HTTP connections open through a fullnat and a dnat VIP, rate-limited downloads
running, and a UDP stream on a third VIP, each VIP moves three times within ten seconds.
Every open connection must still answer from the back end it started on, every download
complete byte for byte with no reset, and no node but the first may take over an old flow
(no new flows on the services after the first owner made them: the UDP stream, too, stays
with the node that made it). Needs root; exit 77 without it."""
import sys
import time

from cluster_harness import require_root, unique_name
from flow_harness import (DNAT_VIP, FULLNAT_VIP, INTERNAL_VIP, finish_load, new_flows, place, resets_seen,
                          start_cluster, start_load)
from topology import Topology
from traffic import EXTERNAL_VIP as UDP_VIP, KeepAliveClients, ProbeStream, start_echo

SIZE = 1024 * 1024
ALL = (1, 2, 3)
PATH = [2, 3, 1]  # where the VIPs go, in turn, from node 1


def main():
    require_root()
    with Topology.create(unique_name("flmove"), gateways=3, clients=1, backends=2, files=["1m"]) as topo:
        client = topo.clients()[0]
        start_echo(topo, topo.backends()[0])
        with start_cluster(topo) as cluster:
            vips = (FULLNAT_VIP, DNAT_VIP, UDP_VIP)
            place(cluster, vips, 1)
            place(cluster, INTERNAL_VIP, 2)
            resets = resets_seen(topo, client)
            stream = ProbeStream(topo, 200, UDP_VIP)
            loads = [start_load(topo, client, f"http://{vip}/slow/file-1m", 10, 10, SIZE)
                     for vip in (FULLNAT_VIP, DNAT_VIP)]
            with KeepAliveClients(client, FULLNAT_VIP, 8) as full, KeepAliveClients(client, DNAT_VIP, 8) as dnat:
                assert all(a.startswith("backend") for a in full.first + dnat.first), (full.first, dnat.first)
                time.sleep(1)
                made = {n: {s: new_flows(cluster, n, s) for s in ("web-101", "web-102", "probe-100")} for n in ALL}
                started = time.monotonic()
                for target in PATH:
                    place(cluster, vips, target)
                    time.sleep(0.5)
                took = time.monotonic() - started
                assert took < 10, f"three moves took {took:.1f} s"
                print(f"ok   three moves of {', '.join(vips)} ({' -> '.join(map(str, [1] + PATH))}) in {took:.1f} s")
                assert full.again() == full.first, "fullnat keep-alive connections broke or changed back end"
                assert dnat.again() == dnat.first, "dnat keep-alive connections broke or changed back end"
                print("ok   16 keep-alive connections still answer, each from its first back end")
            results = [finish_load(load) for load in loads]
            for result in results:
                assert result["ok"] == 10 and result["resets"] == 0, result
            assert resets_seen(topo, client) == resets, "the client's kernel took resets"
            print("ok   20 downloads complete and byte-exact through the moves, no reset")
            time.sleep(1)
            stream.stop()
            for n in ALL:
                for service in ("web-101", "web-102", "probe-100"):
                    if n == 1:
                        continue
                    # Nodes 2 and 3 made only the flows of the connections opened after
                    # the moves (the keep-alive checks reuse theirs): none here.
                    assert new_flows(cluster, n, service) == made[n][service], (n, service)
            print("ok   nodes 2 and 3 made no flow of their own for the old connections or the UDP stream")
    return 0


if __name__ == "__main__":
    sys.exit(main())
