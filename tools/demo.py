#!/usr/bin/env python3
"""The ringgate demo: builds the demo topology (3 gateways, a client, 2 back ends) in
network namespaces, starts a ringgated on each gateway from config/examples/demo-3.yaml,
shows the ring and the VIP table through ringgatectl, then kills the owner of a VIP
under a live probe stream and with keep-alive connections open through it, and shows the
outage, the connections still answering (the new owner adopted their flows from the
replicas), the client's ARP cache following the VIP, and the VIP going home when its
preferred node returns; last, an operator moves a VIP while keep-alive connections are
open through it, and they keep working (the new owner sends their segments to the gateway
that handles them). Tears everything down at
the end unless --keep is given (then `python3 tools/topology.py down demo` removes it).

The nodes run the DPDK fast path on AF_XDP ports: the probe stream and HTTP requests go
through the owner's fast path (fullnat) to the back ends, and ringgate's XDP program keeps
every gateway's host (which carries every VIP) from answering for a VIP."""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_harness import RINGGATECTL, SOURCE, Cluster, private_config  # noqa: E402
from topology import Topology, TopologyError, wait_until  # noqa: E402
from traffic import EXTERNAL_VIP, KeepAliveClients, ProbeStream, start_echo  # noqa: E402

EXAMPLE = SOURCE / "config" / "examples" / "demo-3.yaml"
MOVED_VIP = "198.18.0.101"  # fullnat, persistence 1: the operator moves it


def step(title):
    print(f"\n=== {title}", flush=True)


def show(topo, host, *cmd):
    print(f"$ ({host.namespace}) {' '.join(cmd)}")
    print(topo.run(host, *cmd).stdout.rstrip())


def run_demo(topo, keep):
    step("topology: namespaces, addresses, MACs")
    print(topo.describe())

    step("back ends serve real HTTP")
    gw1 = topo.gateway(1)
    for backend in topo.backends():
        show(topo, gw1, "curl", "-s", "--max-time", "3", f"http://{backend.address}/id")

    config = private_config(EXAMPLE, topo.work_dir)
    cluster = Cluster(config, topo.work_dir, topo)
    step("start ringgated on every gateway")
    for node in (1, 2, 3):
        cluster.start(node)
        print(f"node {node}: pid {cluster.nodes[node].proc.pid}, log {cluster.nodes[node].log_path}")
    wait_until(lambda: len(cluster.query(3, "members")["members"]) == 3, 15, "three members")

    def owner(vip=EXTERNAL_VIP):
        for node in (n for n in (1, 2, 3) if cluster.nodes[n].proc.poll() is None):
            if any(v["vip"] == vip and v["answered_here"] for v in cluster.query(node, "vips")["vips"]):
                return node
        return None

    wait_until(lambda: owner() is not None, 15, f"an owner for {EXTERNAL_VIP}")

    step("the ring, as node 1 sees it (ringgatectl members)")
    print(cluster.ctl(1, "members").stdout.rstrip())
    step("the VIP table, seed 004's Table 1 (ringgatectl vips)")
    print(cluster.ctl(2, "vips").stdout.rstrip())

    client = topo.clients()[0]
    cert = topo.work_dir / "management-cert.pem"
    password_file = topo.work_dir / "viewer.pw"
    password_file.write_text("demo-viewer\n")
    step("remote management over HTTPS from the client, as a read-only user (ringgatectl --host)")
    show(topo, client, str(RINGGATECTL), "--host", "https://198.18.0.3:8443", "--user", "viewer",
         "--password-file", str(password_file), "--ca-file", str(cert), "members")
    print(f"(the web console: https://198.18.0.N:8443/ from the client's namespace; "
          f"user admin, password demo-admin; certificate {cert})")

    step(f"HTTP through the fast path: {EXTERNAL_VIP} (fullnat) to the nginx back ends")
    for _ in range(4):
        show(topo, client, "curl", "-s", "--max-time", "3", f"http://{EXTERNAL_VIP}/id")

    step(f"live traffic: a 5,000 packet/s UDP probe stream from the client to {EXTERNAL_VIP}:9000")
    start_echo(topo, topo.backends()[0])
    stream = ProbeStream(topo, 5000)
    try:
        wait_until(lambda: stream.proc.poll() is None, 5, "the probe stream")
        first = owner()
        show(topo, client, "ip", "neigh", "show", EXTERNAL_VIP)
        print(f"{EXTERNAL_VIP} is answered by node {first} ({topo.gateway(first).macs['ext0']}); "
              f"every gateway's host carries it, the XDP program keeps them quiet:")
        show(topo, client, "arping", "-c", "2", "-I", "eth0", EXTERNAL_VIP)
        print(cluster.ctl(first, "stats").stdout.rstrip())

        step(f"kill -9 node {first}, the VIP's owner, with keep-alive HTTP connections open through it")
        with KeepAliveClients(client, EXTERNAL_VIP, 4) as open_connections:
            print(f"4 keep-alive HTTP connections through node {first}, answered by: {open_connections.first}")
            # A flow whose record has not yet left its gateway (a few ms: docs/FLOWS.md,
            # Limits) dies with it; these were opened just now: let their copies arrive.
            others = [n for n in (1, 2, 3) if n != first]
            wait_until(lambda: sum(cluster.query(n, "flows")["replication"]["held_for_others"] for n in others) >=
                       cluster.query(first, "flows")["replication"]["local_flows"], 5, "the flows' copies on the other nodes")
            seen = stream.gap_count()
            cluster.kill(first)
            wait_until(lambda: stream.gap_count() > seen, 15, "traffic to resume")
            new_owner = owner()
            print(f"outage seen by the client: {max(stream.outages_since(seen)):.0f} ms; "
                  f"{EXTERNAL_VIP} is now answered by node {new_owner}")
            again = open_connections.again()
            print(f"the same connections after the kill, answered by: {again}")
            if again != open_connections.first:
                raise TopologyError(f"open connections did not survive their gateway: {open_connections.first} -> "
                                    f"{again}")
        adopted = cluster.query(new_owner, "flows")["replication"]["adopted"]
        print(f"node {new_owner} adopted {adopted} flows of node {first} from their replicas, with the same "
              f"NAT source and port: the back ends noticed nothing (docs/FLOWS.md)")
        show(topo, client, "ip", "neigh", "show", EXTERNAL_VIP)
        print(cluster.ctl(new_owner, "vips").stdout.rstrip())

        step(f"node {first} comes back: the persistence-3 VIP returns to its preferred host")
        seen = stream.gap_count()
        cluster.start(first)
        wait_until(lambda: owner() == 1, 15, "the VIP back on node 1")
        print(cluster.ctl(first, "vips").stdout.rstrip())
        moved = stream.outages_since(seen)
        print(f"planned move (release, then claim): "
              f"{f'{max(moved):.0f} ms gap' if moved else 'no gap over 1 ms'}")
        home_mac = topo.gateway(1).macs["ext0"]
        moved_at = time.monotonic()
        wait_until(lambda: home_mac in topo.run(client, "ip", "neigh", "show", EXTERNAL_VIP).stdout, 30,
                   "the client's ARP cache to name node 1 again")
        print(f"the client's ARP cache named node 1 after {time.monotonic() - moved_at:.1f} s")
        show(topo, client, "ip", "neigh", "show", EXTERNAL_VIP)
        show(topo, client, "curl", "-s", "--max-time", "5", f"http://{EXTERNAL_VIP}/id")
    finally:
        stream.stop()
    print(f"probe stream: {stream.summary}")

    holder = owner(MOVED_VIP)
    target = next(n for n in (1, 2, 3) if n != holder)
    step(f"operator move of {MOVED_VIP} (node {holder} -> {target}) with connections open through it")
    with KeepAliveClients(client, MOVED_VIP, 4) as connections:
        print(f"4 keep-alive HTTP connections through node {holder}, answered by: {connections.first}")
        print(cluster.ctl(target, "vip", "move", MOVED_VIP, str(target)).stdout.rstrip())
        wait_until(lambda: owner(MOVED_VIP) == target, 15, f"{MOVED_VIP} on node {target}")
        again = connections.again()
        print(f"the same connections after the move, answered by: {again}")
        if again != connections.first:
            raise TopologyError(f"open connections did not survive the move: {connections.first} -> {again}")
    handed = (cluster.query(target, "stats")["ports"][0]["handed_to_peer"] +
              cluster.query(target, "flows")["fast_path"]["to_handler"])
    print(f"node {target} sent {handed} segments of node {holder}'s flows on to it; "
          f"new connections are node {target}'s own:")
    show(topo, client, "curl", "-s", "--max-time", "3", f"http://{MOVED_VIP}/id")

    if keep:
        print(f"\nThe cluster stays up (--keep). Try:\n"
              f"  {RINGGATECTL} --config {config} --node 1 vips\n"
              f"  {RINGGATECTL} --config {config} --node 1 vip move {EXTERNAL_VIP} 2\n"
              f"  ip netns exec {topo.clients()[0].namespace} {RINGGATECTL} --host https://198.18.0.1:8443 "
              f"--user admin --ca-file {topo.work_dir}/management-cert.pem vips   (password demo-admin)\n"
              f"  ip netns exec {topo.clients()[0].namespace} arping -c 3 -I eth0 {EXTERNAL_VIP}\n"
              f"Remove it with: python3 tools/topology.py down {topo.name}")
        return
    step("stop: SIGTERM every node (each leaves the ring cleanly)")
    for node in (1, 2, 3):
        print(f"node {node} exited with {cluster.stop(node)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="leave the cluster running")
    parser.add_argument("--name", default="demo", help="topology name (default: demo)")
    args = parser.parse_args()
    try:
        if args.keep:
            # Owned by init (pid 1) so that cleanup-stale leaves it alone until `down`.
            topo = Topology.create(args.name, gateways=3, clients=1, backends=2,
                                   files=["1k", "1m"], owner_pid=1)
            run_demo(topo, keep=True)
        else:
            with Topology.create(args.name, gateways=3, clients=1, backends=2,
                                 files=["1k", "1m"]) as topo:
                run_demo(topo, keep=False)
            print("\ndemo finished; topology removed")
    except TopologyError as e:
        print(f"demo: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
