#!/usr/bin/env python3
"""The ringgate demo: builds the demo topology (3 gateways, a client, 2 back ends) in
network namespaces, starts a ringgated on each gateway from config/examples/demo-3.yaml,
and shows the cluster through ringgatectl. Tears everything down at the end unless
--keep is given (then `python3 tools/topology.py down demo` removes it).

What the demo shows grows with the project: see docs/DEMO.md for the current script."""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_harness import RINGGATECTL, SOURCE, Cluster, private_config  # noqa: E402
from topology import Topology, TopologyError  # noqa: E402

EXAMPLE = SOURCE / "config" / "examples" / "demo-3.yaml"


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

    step("clients reach the gateways' external addresses")
    for gw in topo.gateways():
        show(topo, topo.clients()[0], "ping", "-c1", "-W2", "-q", gw.addresses["ext0"])

    config = private_config(EXAMPLE, topo.work_dir)
    cluster = Cluster(config, topo.work_dir, topo)
    step("start ringgated on every gateway (control plane; fast path not yet built)")
    for node in (1, 2, 3):
        cluster.start(node)
        print(f"node {node}: pid {cluster.nodes[node].proc.pid}, log {cluster.nodes[node].log_path}")

    step("ringgatectl status on every node")
    for node in (1, 2, 3):
        print(f"$ ringgatectl --config {config} --node {node} status")
        print(cluster.ctl(node, "status").stdout.rstrip())

    step("the commands each node answers")
    print(cluster.ctl(1, "help").stdout.rstrip())

    if keep:
        print(f"\nThe cluster stays up (--keep). Try:\n"
              f"  {RINGGATECTL} --config {config} --node 1 status --json\n"
              f"  ip netns exec {topo.clients()[0].namespace} ping 198.18.0.2\n"
              f"Remove it with: python3 tools/topology.py down {topo.name}")
        return
    step("stop: SIGTERM every node")
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
