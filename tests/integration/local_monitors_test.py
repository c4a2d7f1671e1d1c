#!/usr/bin/env python3
"""Local fault monitors (WO 00/62502 Figure 5; issue 16 item 5) on two gateways, in one of
two modes (first argument): `kernel` (fast path off, VIPs on the owner's host stack) or
`fastpath` (AF_XDP fast paths answer for the VIPs; the NIC monitor names the port's
interface and takes its subnet from the port). Each kind fails on node 1 and recovers
while node 2 stays healthy:
  link  ext0 loses its carrier (the switch side of its veth goes down);
  ping  the router namespace stops answering node 1's echo requests (nftables drop);
  tcp   node 1's application port closes (its server is killed);
  http  node 1's application answers 500.
Each time node 1 must give up the external VIP (preferred host 1, persistence 3): node
2 takes it, the client's arping hears node 2 alone; when the fault ends node 1 takes it
back by itself and arping hears node 1 alone. Never do two gateways hold a VIP. Each
monitor's state is read from `status --json`, `status` (text) and `metrics`."""
import re
import sys
import time
from pathlib import Path

from cluster_harness import Cluster, gateway_cluster, private_config, require_root, unique_name
from topology import EXTERNAL_NET, Topology, wait_until

VIP = "198.18.0.100"       # external, preferred host 1, persistence 3
INNER = "198.19.0.100"     # internal: only the tcp monitor (every subnet) withdraws it
ROUTER = str(EXTERNAL_NET[254])
SETTLE = 15

CONFIG = """{cluster}
subnets:
  - name: external
    prefix: 198.18.0.0/24
    vips:
      - {{ address: {vip}, preferred_host: 1, persistence: 3 }}
  - name: internal
    prefix: 198.19.0.0/24
    vips:
      - {{ address: {inner}, preferred_host: 1, persistence: 3 }}
local_monitors:
  interval_ms: 200
  timeout_ms: 150
  fall: 2
  rise: 2
  nics:
    - {nic}
  ping_targets: [{router}]
  applications:
    - {{ kind: tcp, target: 127.0.0.1, port: 8081 }}
    - {{ kind: http, target: 127.0.0.1, port: 8082, path: /health, subnets: [external] }}
management:
  socket: /unused
dataplane:
{dataplane}
"""

KERNEL = """  enabled: false"""
FASTPATH = """  enabled: true
  hugepages: false
  memory_mb: 256
  lcores: [1]
  idle: {{ policy: backoff, max_sleep_us: 1000 }}
  tables: {{ connections: 4096, neighbours: 256 }}
  ports:
    - {{ name: ext, subnet: external, driver: af_xdp, interface: ext0 }}
    - {{ name: int, subnet: internal, driver: af_xdp, interface: int0 }}"""
MODE = sys.argv[1] if len(sys.argv) > 1 else "kernel"

# An application whose health page answers the status code in a file (200 or 500).
HEALTH_SERVER = r"""
import http.server, sys
path = sys.argv[1]
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = int(open(path).read().strip() or 200)
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", 8082), Health).serve_forever()
"""


class Run:
    def __init__(self, topo, cluster):
        self.topo, self.cluster = topo, cluster
        self.double = []  # samples where two gateways held one VIP

    def holders(self, vip):
        """Gateways answering for `vip`: whose host holds it (kernel mode), or whose fast
        path answers for it (fast-path mode: every host carries every VIP)."""
        found = []
        for gw in self.topo.gateways():
            if MODE == "fastpath":
                view = self.cluster.query(gw.index, "vips")["vips"]
                if any(v["vip"] == vip and v["answered_here"] for v in view):
                    found.append(gw.index)
                continue
            out = self.topo.run(gw, "ip", "-4", "-o", "addr", "show", check=False).stdout
            if re.search(rf"inet {re.escape(vip)}/", out):
                found.append(gw.index)
        if len(found) > 1:
            self.double.append((vip, found, time.monotonic()))
        return found

    def arping(self, vip):
        out = self.topo.run(self.topo.clients()[0], "arping", "-c", "3", "-w", "3", "-I", "eth0", vip,
                            check=False).stdout
        macs = set(m.lower() for m in re.findall(r"\[([0-9a-fA-F:]{17})\]", out))
        return {gw.index for gw in self.topo.gateways() if gw.macs["ext0"].lower() in macs} | (
            {"?"} if macs - {gw.macs["ext0"].lower() for gw in self.topo.gateways()} else set())

    def monitor(self, node, name):
        status = self.cluster.query(node, "status")["local_monitors"]
        return next(m for m in status["monitors"] if m["name"] == name), status["withdrawn_subnets"]

    def wait_held(self, vip, node, what):
        """Seconds until `node` alone holds `vip` (then arping must hear it alone)."""
        started = time.monotonic()
        wait_until(lambda: self.holders(vip) == [node], SETTLE, f"{vip} on node {node} ({what})", interval=0.05)
        took = time.monotonic() - started
        if vip == VIP:  # the client is on the external subnet only
            heard = self.arping(vip)
            assert heard == {node}, f"{what}: arping {vip} heard {heard}, expected node {node} alone"
        return took

    def fault(self, name, kind, inflict, heal, also_inner=False):
        inflict()
        moved = self.wait_held(VIP, 2, f"{kind} failing on node 1")
        state, withdrawn = self.monitor(1, name)
        assert state["state"] == "down", state
        assert "external" in withdrawn and name in withdrawn["external"], withdrawn
        assert self.monitor(2, name)[0]["state"] == "up", "node 2's own monitor must not fail"
        loads = {row["node"]: row for row in self.cluster.query(2, "vips")["loads"]}
        assert VIP in loads[1]["withdrawn"], f"node 2 does not see node 1's withdrawal: {loads}"
        text = self.cluster.ctl(1, "status").stdout
        assert re.search(rf"^{re.escape(name)}\s+down\b", text, re.M), text
        assert "withdrawn from the VIPs of subnet external" in text, text
        metrics = self.cluster.ctl(1, "metrics").stdout
        assert re.search(rf'ringgate_local_monitor_up{{node="1",monitor="{re.escape(name)}",kind="{kind}"}} 0', metrics), \
            [l for l in metrics.splitlines() if "local_monitor_up" in l]
        if also_inner:
            self.wait_held(INNER, 2, f"{kind} withdraws every subnet")
        else:
            assert self.holders(INNER) == [1], f"{kind} on external only must leave {INNER} on node 1"
        print(f"ok   {kind}: {name} down on node 1 -> {VIP} on node 2 alone {moved:.2f} s after the fault "
              f"(arping hears node 2 alone; status, text and metrics say why)")

        heal()
        back = self.wait_held(VIP, 1, f"{kind} recovered")
        assert self.monitor(1, name)[0]["state"] == "up"
        if also_inner:
            self.wait_held(INNER, 1, f"{kind} recovered (internal)")
        state, withdrawn = self.monitor(1, name)
        assert withdrawn == {}, withdrawn
        assert state["transitions"] >= 2, state
        print(f"ok   {kind}: recovered -> {VIP} back on node 1 by itself in {back:.2f} s")
        return moved, back


def main():
    require_root()
    assert MODE in ("kernel", "fastpath"), f"unknown mode {MODE}"
    name = unique_name("mon" + MODE[0])
    with Topology.create(name, gateways=2, clients=1, backends=0) as topo:
        router = topo._add_leaf("router", 1, topo.ns("sw", "ext"), "r1", ROUTER, 0x12, 4)
        apps = {}
        for gw in topo.gateways():
            status = topo.work_dir / f"health-{gw.index}"
            status.write_text("200\n")
            script = topo.work_dir / "health_server.py"
            script.write_text(HEALTH_SERVER)
            topo.spawn(gw, [sys.executable, str(script), str(status)])
            apps[gw.index] = topo.spawn(gw, [sys.executable, "-m", "http.server", "8081", "--bind", "127.0.0.1",
                                             "--directory", str(topo.work_dir)])
        for gw in topo.gateways():
            wait_until(lambda: topo.run(gw, "curl", "-sf", "-o", "/dev/null", "http://127.0.0.1:8082/health",
                                        check=False).returncode == 0, 10, f"health page on gw{gw.index}")
        path = Path(topo.work_dir) / "monitors.yaml"
        nic = "ext0" if MODE == "fastpath" else "{ interface: ext0, subnets: [external] }"
        path.write_text(CONFIG.format(cluster=gateway_cluster(name), vip=VIP, inner=INNER, router=ROUTER, nic=nic,
                                      dataplane=(FASTPATH if MODE == "fastpath" else KERNEL).format()))
        config = private_config(path, topo.work_dir)
        with Cluster(config, topo.work_dir, topo) as cluster:
            run = Run(topo, cluster)
            for node in (1, 2):
                cluster.start(node)
            wait_until(lambda: all(len(cluster.query(n, "members")["members"]) == 2 for n in (1, 2)), SETTLE,
                       "two members")
            for node in (1, 2):
                wait_until(lambda: all(m["state"] == "up" for m in cluster.query(node, "status")["local_monitors"]["monitors"]),
                           SETTLE, f"every monitor up on node {node}")
            run.wait_held(VIP, 1, "start")
            run.wait_held(INNER, 1, "start")
            print(f"ok   start ({MODE}): 4 monitors up on both nodes, both VIPs on their preferred node 1")

            sw_ext = topo.ns("sw", "ext")
            run.fault("link ext0", "link",
                      lambda: topo.run(sw_ext, "ip", "link", "set", "g1", "down"),
                      lambda: topo.run(sw_ext, "ip", "link", "set", "g1", "up"))
            topo.run(router, "nft", "add", "table", "inet", "mon")
            topo.run(router, "nft", "add", "chain", "inet", "mon", "input", "{ type filter hook input priority 0; }")
            run.fault(f"ping {ROUTER}", "ping",
                      lambda: topo.run(router, "nft", "add", "rule", "inet", "mon", "input", "ip", "saddr",
                                       "198.18.0.1", "icmp", "type", "echo-request", "drop"),
                      lambda: topo.run(router, "nft", "flush", "chain", "inet", "mon", "input"))

            def close_port():
                apps[1].kill()
                apps[1].wait()

            def reopen_port():
                apps[1] = topo.spawn(topo.gateway(1), [sys.executable, "-m", "http.server", "8081", "--bind",
                                                       "127.0.0.1", "--directory", str(topo.work_dir)])

            run.fault("tcp 127.0.0.1:8081", "tcp", close_port, reopen_port, also_inner=True)
            health = topo.work_dir / "health-1"
            run.fault("http 127.0.0.1:8082/health", "http", lambda: health.write_text("500\n"),
                      lambda: health.write_text("200\n"))
            assert not run.double, f"two gateways held one VIP: {run.double}"
            print("ok   never two gateways holding one VIP in any sample")
            for node in (1, 2):
                log = cluster.nodes[node].log()
                assert "Assertion" not in log and "terminate called" not in log, log[-2000:]
    print(f"PASS local_monitors {MODE}")


if __name__ == "__main__":
    main()
