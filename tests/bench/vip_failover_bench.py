#!/usr/bin/env python3
"""VIP failover outage, measured as the gap in a sequenced UDP probe stream (udp_probe)
from a client through the cluster's VIP to a back end and back, while the VIP's owner
dies again and again. "Dies" means what a dead node does to the network: its process is
killed with SIGKILL and its links go down. After each kill the node is brought back
(links up, process restarted) and the stream settles before the next kill.

Modes, run side by side in the same topology (tools/topology.py, 3 gateways):
  keepalived  the baseline: VRRPv3 with the fastest advert interval that stays stable on
              this machine (--advert-ms), VIPs on the kernel, kernel forwarding with an
              nftables DNAT rule, the same back end
  ringgate    ringgated with its fast path on AF_XDP (config/examples/demo-3.yaml): the
              stream goes through the owner's fast path (fullnat service probe-100)

Prints each outage, then p50/p99 per mode; the last line is JSON. A kill after which
traffic does not come back within --recover-s is a result, not a crash: it is counted
(`unrecovered`, with its kill number), enters the percentiles as an outage of --recover-s,
and the mode carries on after reviving the node (or stops, counted, if it cannot).
Usage: vip_failover_bench.py [--mode keepalived] [--kills 30] [--rate 5000] [--advert-ms 50]
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from cluster_harness import SOURCE, Cluster, private_config, require_root, unique_name  # noqa: E402
from topology import Topology, TopologyError, wait_until  # noqa: E402
from traffic import EXTERNAL_VIP, ProbeStream, kernel_forwarding, links, start_echo, vip_holder  # noqa: E402

INTERNAL_VIP = "198.19.0.100"


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class KeepalivedCluster:
    """Baseline: keepalived VRRPv3, VIPs on the kernel (sync group keeps both together)."""

    def __init__(self, topo, advert_ms):
        self.topo = topo
        self.advert = advert_ms / 1000
        self.procs = {}
        for gw in topo.gateways():
            conf = topo.work_dir / f"keepalived-{gw.index}.conf"
            # All start as BACKUP without preemption, so a node that comes back does not
            # take the VIPs again (that would be a second, unmeasured outage).
            conf.write_text(f"""global_defs {{
  router_id gw{gw.index}
  vrrp_garp_master_delay 0
  vrrp_garp_master_repeat 3
}}
vrrp_sync_group G {{ group {{ EXT INT }} }}
vrrp_instance EXT {{
  state BACKUP
  nopreempt
  interface ext0
  virtual_router_id 51
  priority {200 - gw.index}
  advert_int {self.advert}
  version 3
  virtual_ipaddress {{ {EXTERNAL_VIP}/24 }}
}}
vrrp_instance INT {{
  state BACKUP
  nopreempt
  interface int0
  virtual_router_id 52
  priority {200 - gw.index}
  advert_int {self.advert}
  version 3
  virtual_ipaddress {{ {INTERNAL_VIP}/24 }}
}}
""")
            self.start(gw.index)

    def start(self, node):
        gw = self.topo.gateway(node)
        run_dir = self.topo.work_dir / f"ka{node}"
        run_dir.mkdir(exist_ok=True)
        # A killed keepalived leaves pid files naming its (possibly unreaped) processes,
        # and would refuse to start; a rebooted node has none.
        for pid_file in ("k.pid", "v.pid"):
            (run_dir / pid_file).unlink(missing_ok=True)
        self.procs[node] = self.topo.spawn(gw, [
            "keepalived", "--dont-fork", "--log-console", "--vrrp",
            "-f", str(self.topo.work_dir / f"keepalived-{node}.conf"),
            "-p", str(run_dir / "k.pid"), "-r", str(run_dir / "v.pid")],
            log_path=run_dir / "log")

    def owner(self, exclude=None):
        return vip_holder(self.topo, exclude=exclude)

    def kill_node(self, node):
        gw = self.topo.gateway(node)
        # keepalived forks a VRRP child in a session of its own; kill every keepalived
        # process of the node at once, as a crash would (killing only the parent lets the
        # child resign gracefully with priority 0, which is not a failure).
        pids = subprocess.run(["ip", "netns", "pids", gw.namespace], capture_output=True, text=True).stdout
        for pid in pids.split():
            try:
                if Path(f"/proc/{pid}/comm").read_text().strip() == "keepalived":
                    os.kill(int(pid), signal.SIGKILL)
            except (FileNotFoundError, ProcessLookupError):
                pass  # exited meanwhile
        self.procs[node].wait()
        links(self.topo, node, "down")
        # keepalived killed with SIGKILL leaves its addresses behind; a dead node's
        # addresses die with it, so remove them before the node comes back.
        for link, vip in (("ext0", EXTERNAL_VIP), ("int0", INTERNAL_VIP)):
            self.topo.run(gw, "ip", "addr", "del", f"{vip}/24", "dev", link, check=False)

    def revive_node(self, node):
        log = self.topo.work_dir / f"ka{node}" / "log"
        seen = log.read_text().count("(EXT) Entering BACKUP STATE") if log.exists() else 0
        links(self.topo, node, "up")
        self.start(node)
        # Ready means back as a backup: a revived keepalived first sits in FAULT until
        # it sees its links up, and a kill before that would find nobody to take over.
        wait_until(lambda: log.read_text().count("(EXT) Entering BACKUP STATE") > seen, 20,
                   f"keepalived on node {node} back as BACKUP")

    def stop(self):
        for node, proc in self.procs.items():
            if proc.poll() is None:
                self.kill_node(node)


class RingGateCluster:
    """ringgated with the fast path on each gateway, from demo-3.yaml with default timers;
    the measured VIP is made sticky to its current host (persistence 1) so that a revived
    node does not take it back (that planned move would be a second, unmeasured gap)."""

    def __init__(self, topo):
        self.topo = topo
        config = private_config(SOURCE / "config" / "examples" / "demo-3.yaml", topo.work_dir, [
            (r"\{ address: 198\.18\.0\.100, preferred_host: 1, persistence: 3 \}",
             "{ address: 198.18.0.100, persistence: 1 }")])
        self.cluster = Cluster(config, topo.work_dir, topo)
        for node in (1, 2, 3):
            self.cluster.start(node)
        wait_until(lambda: self._members(1) == 3, 20, "three ringgate members")

    def _members(self, node):
        try:
            return len(self.cluster.query(node, "members")["members"])
        except (TopologyError, ValueError):
            return 0

    def owner(self, exclude=None):
        # Every gateway's host carries every VIP in this mode: ask the fast paths.
        for node, proc in self.cluster.nodes.items():
            if node == exclude or proc.proc.poll() is not None:
                continue
            view = self.cluster.query(node, "vips")
            if any(v["vip"] == EXTERNAL_VIP and v["answered_here"] for v in view["vips"]):
                return node
        return None

    def kill_node(self, node):
        self.cluster.kill(node)
        links(self.topo, node, "down")

    def revive_node(self, node):
        links(self.topo, node, "up")
        self.cluster.start(node)
        others = [n for n in (1, 2, 3) if n != node]
        wait_until(lambda: self._members(node) == 3 and self._members(others[0]) == 3, 20,
                   f"ringgate node {node} back in the ring")

    def stop(self):
        for node in list(self.cluster.nodes):
            self.cluster.stop(node)
        # What a killed node left behind (its XDP program, the VIPs on its host) must not
        # meet the next mode.
        for gw in self.topo.gateways():
            for link in ("ext0", "int0"):
                self.topo.run(gw, "ip", "link", "set", "dev", link, "xdp", "off", check=False)
            for vip in ("198.18.0.100", "198.18.0.101", "198.18.0.102"):
                self.topo.run(gw, "ip", "addr", "del", f"{vip}/32", "dev", "ext0", check=False)
            self.topo.run(gw, "ip", "addr", "del", f"{INTERNAL_VIP}/32", "dev", "int0", check=False)


def measure(name, cluster, topo, kills, rate, recover_s):
    """Returns (outages in ms, unrecovered kill numbers); an unrecovered kill counts as an
    outage of recover_s."""
    wait_until(lambda: cluster.owner() is not None, 30, f"{name}: a VIP owner")
    stream = ProbeStream(topo, rate)
    outages, unrecovered = [], []
    try:
        time.sleep(1.0)  # the stream reaches its rate before the first kill
        for k in range(kills):
            try:
                wait_until(lambda: cluster.owner() is not None, recover_s, f"{name}: an owner before kill {k + 1}")
            except TopologyError as e:
                print(f"{name}: {e}; stopping this mode after {k} kills", flush=True)
                unrecovered.append(k + 1)
                outages.append(recover_s * 1000.0)
                break
            owner = cluster.owner()
            before = stream.gap_count()
            cluster.kill_node(owner)
            try:
                wait_until(lambda: stream.gap_count() > before, recover_s, f"{name}: traffic back after kill {k + 1}")
                with stream.lock:
                    gap = max(stream.gaps[before:])
                print(f"{name} kill {k + 1}/{kills}: node {owner} -> node {cluster.owner(exclude=owner)}, "
                      f"outage {gap:.1f} ms", flush=True)
            except TopologyError:
                gap = recover_s * 1000.0
                unrecovered.append(k + 1)
                print(f"{name} kill {k + 1}/{kills}: node {owner}: traffic not back within {recover_s} s "
                      f"(counted as unrecovered)", flush=True)
            outages.append(gap)
            try:
                cluster.revive_node(owner)
            except TopologyError as e:
                print(f"{name}: {e}; stopping this mode after {k + 1} kills", flush=True)
                break
            # Settle: the revived node is back and the stream flows.
            settled = stream.gap_count()
            time.sleep(0.3)
            if stream.gap_count() != settled:
                print(f"{name}: extra outage while node {owner} came back", flush=True)
    finally:
        stream.stop()
    return outages, unrecovered


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=["both", "ringgate", "keepalived"], default="both")
    parser.add_argument("--kills", type=int, default=30)
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--advert-ms", type=int, default=50)
    parser.add_argument("--recover-s", type=float, default=20.0)
    args = parser.parse_args()
    require_root()
    results = {}
    with Topology.create(unique_name("vipbench"), gateways=3, clients=1, backends=1, files=[]) as topo:
        backend = topo.backends()[0]
        start_echo(topo, backend)
        kernel_forwarding(topo)  # for keepalived; the fast path's XDP takes VIP traffic first
        modes = ["ringgate", "keepalived"] if args.mode == "both" else [args.mode]
        for mode in modes:
            cluster = RingGateCluster(topo) if mode == "ringgate" else KeepalivedCluster(topo, args.advert_ms)
            try:
                outages, unrecovered = measure(mode, cluster, topo, args.kills, args.rate, args.recover_s)
            finally:
                cluster.stop()
            if not outages:
                results[mode] = {"kills": 0, "unrecovered": unrecovered}
                continue
            results[mode] = {"kills": len(outages), "unrecovered": unrecovered,
                             "p50_ms": round(percentile(outages, 50), 1),
                             "p99_ms": round(percentile(outages, 99), 1),
                             "max_ms": round(max(outages), 1), "mean_ms": round(statistics.mean(outages), 1)}
            print(f"{mode}: {len(outages)} kills ({len(unrecovered)} unrecovered), outage "
                  f"p50 {results[mode]['p50_ms']} ms, p99 {results[mode]['p99_ms']} ms", flush=True)
    print(json.dumps({"benchmark": "vip_failover", "rate_pps": args.rate,
                      "keepalived_advert_ms": args.advert_ms, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
