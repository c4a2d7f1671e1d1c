#!/usr/bin/env python3
"""Connections survive a VIP move (seed 004 §B.2): two gateways with AF_XDP fast paths
(config/examples/demo-3.yaml, nodes 1 and 2), a fullnat VIP, real nginx back ends and a
real kernel as the client. Open keep-alive connections through the VIP, move the VIP to
the other gateway, and check:
  - the client's ARP cache follows the VIP to the new owner;
  - every open connection still answers, from the same back end: the new owner sends
    their segments on to the previous owner, which holds their NAT state (without the
    hand-over and the VIP's flow records the back end would see a new source port and
    reset them);
  - a new connection is the new owner's own (its service counts a new flow);
  - the new owner counts the segments it sent to the peer (`stats` handed_to_peer,
    `flows` to_handler).
Needs root (namespaces, XDP); exit 77 without it."""
import re
import sys

from cluster_harness import SOURCE, Cluster, private_config, require_root, unique_name
from topology import Topology, wait_until
from traffic import KeepAliveClients

EXAMPLE = SOURCE / "config" / "examples" / "demo-3.yaml"
VIP = "198.18.0.101"  # fullnat
SETTLE = 10  # seconds: generous on a 2-core machine shared with other suites


def answering(cluster, node, vip):
    return any(v["vip"] == vip and v["answered_here"] for v in cluster.query(node, "vips")["vips"])


def settled_owner(cluster, vip):
    """The node holding `vip` once placement is at rest (both nodes' tables agree, no move
    under way, only that node answers), else None."""
    views = [next(v for v in cluster.query(n, "vips")["vips"] if v["vip"] == vip) for n in (1, 2)]
    owner = views[0]["current_host"]
    if any(v["current_host"] != owner or v["moving_to"] is not None for v in views) or owner is None:
        return None
    return owner if answering(cluster, owner, vip) and not answering(cluster, 3 - owner, vip) else None


def client_mac_for(topo, vip):
    out = topo.run(topo.clients()[0], "ip", "neigh", "show", vip).stdout
    m = re.search(r"lladdr (\S+)", out)
    return m[1] if m else None


def service_stats(cluster, node, name):
    return next(s for s in cluster.query(node, "stats")["services"] if s["name"] == name)


def main():
    require_root()
    with Topology.create(unique_name("vipho"), gateways=2, clients=1, backends=2, files=["1k"]) as topo:
        config = private_config(EXAMPLE, topo.work_dir)
        client = topo.clients()[0]
        with Cluster(config, topo.work_dir, topo) as cluster:
            for node in (1, 2):
                cluster.start(node)
            wait_until(lambda: all(len(cluster.query(n, "members")["members"]) == 2 for n in (1, 2)), SETTLE,
                       "two members")
            # Which node holds it depends on who was first on the ring (persistence 1 sticks);
            # wait until placement is at rest and the VIP carries a request end to end.
            def reachable():
                return topo.run(client, "curl", "-s", "--max-time", "2", f"http://{VIP}/id",
                                check=False).stdout.startswith("backend")
            wait_until(lambda: settled_owner(cluster, VIP) is not None and reachable(), SETTLE,
                       f"{VIP} settled on one node and reachable")
            old = settled_owner(cluster, VIP)
            assert old is not None
            new = 3 - old
            print(f"ok   {VIP} (fullnat) answered by node {old}")

            with KeepAliveClients(client, VIP, 8) as keep:
                assert all(answer.startswith("backend") for answer in keep.first), keep.first
                before = service_stats(cluster, new, "web-101")["new_flows"]

                moved = cluster.query(new, "vip", "move", VIP, str(new))
                assert moved["accepted"] == f"move {VIP} to node {new}", moved
                wait_until(lambda: answering(cluster, new, VIP) and not answering(cluster, old, VIP), SETTLE,
                           f"{VIP} moved to node {new}")
                new_mac = topo.gateway(new).macs["ext0"]
                wait_until(lambda: client_mac_for(topo, VIP) == new_mac, SETTLE,
                           f"the client's ARP cache names node {new}")
                print(f"ok   moved to node {new}; the client's ARP cache followed (gratuitous ARP)")

                after = keep.again()
                assert after == keep.first, f"open connections broke or changed back end: {keep.first} -> {after}"
                # Sent on by the hand-over (until the VIP's flow records were in), then by
                # the flows' Forwarding entries (docs/FLOWS.md).
                handed = (cluster.query(new, "stats")["ports"][0]["handed_to_peer"] +
                          cluster.query(new, "flows")["fast_path"]["to_handler"])
                assert handed >= len(after), f"node {new} sent {handed} segments to node {old} for {len(after)} requests"
                assert service_stats(cluster, new, "web-101")["new_flows"] == before, \
                    f"node {new} took over flows that node {old} handles"
                print(f"ok   all {len(after)} open connections still answer from the same back end "
                      f"({handed} segments handed to node {old})")

            result = topo.run(client, "curl", "-s", "--max-time", "3", f"http://{VIP}/id", check=False)
            assert result.returncode == 0 and result.stdout.startswith("backend"), result
            wait_until(lambda: service_stats(cluster, new, "web-101")["new_flows"] > before, SETTLE,
                       f"node {new} counts the new connection")
            print(f"ok   a new connection after the move is node {new}'s own")
    return 0


if __name__ == "__main__":
    sys.exit(main())
