#!/usr/bin/env python3
"""Flows that outlive their gateway, measured (docs/FLOWS.md): each round pins a fullnat
and a dnat VIP on one gateway of three, opens --connections rate-limited downloads (1 MiB
at 100 kB/s, half through each VIP) from a real kernel client to real nginx back ends,
kills the VIPs' owner with SIGKILL two seconds in, and counts what the client saw: a
download lost (failed, wrong bytes, or a reset) and the longest pause inside each.
The victim restarts and rejoins before the next round; the victims take turns.

The same-run baseline is the same rounds with flows across the cluster switched off
(`flows: {enabled: false}`): the survivors then take over the VIPs but not the flows.

Usage: flow_survival_bench.py [--kills 10] [--connections 100] [--baseline-kills 2]
The last line is JSON: kills, connections, lost, stall_p99_ms, and the baseline's."""
import argparse
import json
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from cluster_harness import require_root, unique_name  # noqa: E402
from flow_harness import (DNAT_VIP, FULLNAT_VIP, INTERNAL_VIP, finish_load, place, resets_seen,  # noqa: E402
                          settle_members, start_cluster, start_load)
from topology import Topology  # noqa: E402

SIZE = 1024 * 1024
ALL = (1, 2, 3)


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else 0.0


def run(topo, kills, connections, flows_on):
    client = topo.clients()[0]
    replacements = () if flows_on else [(r"\Z", "\nflows:\n  enabled: false\n")]
    lost, stalls, resets_total = 0, [], 0
    with start_cluster(topo, replacements=replacements) as cluster:
        for k in range(kills):
            victim = ALL[k % 3]
            other = ALL[(k + 1) % 3]
            place(cluster, [FULLNAT_VIP, DNAT_VIP], victim)
            place(cluster, INTERNAL_VIP, other)
            resets = resets_seen(topo, client)
            half = connections // 2
            loads = [start_load(topo, client, f"http://{vip}/slow/file-1m", n, n, SIZE)
                     for vip, n in ((FULLNAT_VIP, half), (DNAT_VIP, connections - half))]
            time.sleep(2)
            cluster.signal(victim, signal.SIGKILL)
            cluster.nodes[victim].proc.wait()
            results = [finish_load(load) for load in loads]
            round_lost = sum(r["failed"] for r in results)
            round_resets = resets_seen(topo, client) - resets
            lost += round_lost
            resets_total += round_resets
            # Each completed download's longest pause: what the kill cost it.
            stalls += [s for r in results for s in r["stall_ms"]]
            print(f"{'flows on ' if flows_on else 'flows off'} kill {k + 1}: node {victim}, "
                  f"{connections - round_lost}/{connections} downloads complete, {round_resets} resets, "
                  f"longest pause {max((s for r in results for s in r['stall_ms']), default=0):.0f} ms", flush=True)
            cluster.start(victim)
            settle_members(cluster, ALL)
    return {"kills": kills, "connections": kills * connections, "lost": lost, "resets": resets_total,
            "stall_p50_ms": round(percentile(stalls, 50), 1), "stall_p99_ms": round(percentile(stalls, 99), 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--baseline-kills", type=int, default=2)
    args = parser.parse_args()
    require_root()
    with Topology.create(unique_name("flbench"), gateways=3, clients=1, backends=2, files=["1m"]) as topo:
        ringgate = run(topo, args.kills, args.connections, True)
        baseline = run(topo, args.baseline_kills, args.connections, False) if args.baseline_kills else None
    print(f"flows on:  {ringgate['kills']} kills, {ringgate['connections']} downloads, lost {ringgate['lost']}, "
          f"resets {ringgate['resets']}, longest pause p50 {ringgate['stall_p50_ms']} ms, "
          f"p99 {ringgate['stall_p99_ms']} ms")
    if baseline:
        print(f"flows off: {baseline['kills']} kills, {baseline['connections']} downloads, lost {baseline['lost']}, "
              f"resets {baseline['resets']}, longest pause p99 {baseline['stall_p99_ms']} ms")
    summary = dict(ringgate)
    summary["baseline_flows_off"] = baseline
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
