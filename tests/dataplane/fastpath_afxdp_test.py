#!/usr/bin/env python3
"""The fast path end to end: one ringgated with AF_XDP ports (ringgate's XDP program)
between a client namespace and two real nginx back ends (tools/topology.py). Checks:
  - ARP and TCP through both VIPs; every response byte-correct (/file-* patterns);
  - the back ends see the client's address through the dnat VIP and the internal VIP
    through the fullnat VIP;
  - a back end removed at run time gets no new flows, and open connections to the other
    back end are untouched;
  - the node's own address still reaches the host stack (XDP_PASS);
  - an idle gateway uses under 5% of a core;
  - `ringgatectl stats --json` counts what happened; `connections --json` lists flows.
Needs root (namespaces, XDP); exit 77 without it."""
import json
import os
import sys
import time

from cluster_harness import Cluster, prometheus_families, require_root, unique_name
from topology import Topology, wait_until
from traffic import KeepAliveClients

CONFIG = """\
cluster:
  name: {name}
  config_version: 1
  nodes:
    - {{ id: 1, addresses: {{ external: 198.18.0.1, internal: 198.19.0.1 }} }}
subnets:
  - name: external
    prefix: 198.18.0.0/24
    vips:
      - {{ address: 198.18.0.100 }}
      - {{ address: 198.18.0.101 }}
  - name: internal
    prefix: 198.19.0.0/24
    vips:
      - {{ address: 198.19.0.100 }}
pools:
  - name: web
    backends:
      - {{ address: 198.19.0.51, port: 80 }}
      - {{ address: 198.19.0.52, port: 80 }}
services:
  - {{ name: web-dnat, vip: 198.18.0.100, port: 80, protocol: tcp, pool: web, nat: dnat }}
  - {{ name: web-fullnat, vip: 198.18.0.101, port: 80, protocol: tcp, pool: web, nat: fullnat }}
management:
  socket: {work}/ringgated-{{node}}.sock
dataplane:
  enabled: true
  hugepages: false
  memory_mb: 512
  lcores: [1]
  idle: {{ policy: backoff, max_sleep_us: 1000 }}
  tables: {{ connections: 65536, neighbours: 256 }}
  ports:
    - {{ name: ext, subnet: external, driver: af_xdp, interface: ext0 }}
    - {{ name: int, subnet: internal, driver: af_xdp, interface: int0 }}
"""

# Runs inside the client namespace: fresh connections, each response checked byte by byte
# against the back end's pattern (byte i of file-N is (i*7 + index) % 251).
FETCH = r"""
import http.client, json, sys
vip, path, count, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
seen, bad = {}, 0
for _ in range(count):
    c = http.client.HTTPConnection(vip, 80, timeout=5)
    c.request("GET", path)
    body = c.getresponse().read()
    c.close()
    index = body[0] if body else -1
    expected = bytes((i * 7 + index) % 251 for i in range(size))
    if len(body) != size or body != expected:
        bad += 1
    seen[index] = seen.get(index, 0) + 1
print(json.dumps({"seen": seen, "bad": bad}))
"""

def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fetch(topo, client, vip, path, count, size):
    out = topo.run(client, sys.executable, "-c", FETCH, vip, path, str(count), str(size), timeout=300)
    result = json.loads(out.stdout)
    return {int(k): v for k, v in result["seen"].items()}, result["bad"]


def main():
    require_root()
    name = unique_name("dpx")
    with Topology.create(name, gateways=1, clients=1, backends=2, http="nginx", files=("1k", "100k")) as topo:
        config = topo.work_dir / "fastpath.yaml"
        config.write_text(CONFIG.format(name=name, work=topo.work_dir))
        client = topo.clients()[0]
        backend1, backend2 = topo.backends()
        with Cluster(config, topo.work_dir, topo) as cluster:
            node = cluster.start(1)
            print("ok   ringgated started with AF_XDP ports ext0/int0")

            seen, bad = fetch(topo, client, "198.18.0.100", "/file-1k", 1000, 1024)
            assert bad == 0, f"{bad} corrupt responses through the dnat VIP"
            assert set(seen) == {1, 2} and sum(seen.values()) == 1000, seen
            seen, bad = fetch(topo, client, "198.18.0.100", "/file-100k", 100, 102400)
            assert bad == 0 and sum(seen.values()) == 100, (seen, bad)
            seen, bad = fetch(topo, client, "198.18.0.101", "/file-1k", 300, 1024)
            assert bad == 0 and set(seen) == {1, 2} and sum(seen.values()) == 300, (seen, bad)
            print("ok   1400 requests, every byte correct, both back ends used, both NAT modes")

            logs = topo.access_log(backend1) + topo.access_log(backend2)
            dnat = [l for l in logs if "file-100k" in l]
            assert dnat and all(l.startswith("198.18.0.201 ") for l in dnat), dnat[:3]
            sources = {l.split()[0] for l in logs if "file-1k" in l}
            assert sources == {"198.18.0.201", "198.19.0.100"}, sources
            print("ok   back ends see the client (dnat) and the internal VIP (fullnat)")

            stats = cluster.query(1, "stats")
            services = {s["name"]: s for s in stats["services"]}
            assert services["web-dnat"]["new_flows"] >= 1100, services
            assert services["web-fullnat"]["new_flows"] >= 300, services
            ext = stats["ports"][0]
            assert ext["arp_replies"] >= 1 and ext["drops"]["truncated"] == 0, ext
            print("ok   stats --json counts flows, ARP and drops")

            families = prometheus_families(cluster.ctl(1, "metrics").stdout)
            flows = {s[1]["service"]: s[2] for s in families["ringgate_service_new_flows"]["samples"]}
            assert flows["web-dnat"] >= 1100 and flows["web-fullnat"] >= 300, flows
            assert families["ringgate_port_rx_packets"]["type"] == "counter"
            rx = {s[1]["port"]: s[2] for s in families["ringgate_port_rx_packets"]["samples"]}
            assert rx[ext["name"]] >= ext["rx_packets"] > 0, (rx, ext["rx_packets"])
            reasons = {s[1]["reason"] for s in families["ringgate_port_drops"]["samples"]}
            assert {"truncated", "no_backend", "table_full"} <= reasons, reasons
            assert families["ringgate_flows_active"]["type"] == "gauge"
            print("ok   metrics parse with prometheus_client: flows per service, port packets, drops by reason")

            with KeepAliveClients(client, "198.18.0.100", 16) as keep:
                assert set(keep.first) == {"backend1", "backend2"}, keep.first
                listed = cluster.query(1, "connections", "198.18.0.100", "100000")  # every one
                open_ones = [c for c in listed["connections"] if c["state"] == "established"]
                assert len(open_ones) >= 16 and listed["shown"] <= listed["total"], listed["shown"]
                assert all(c["service"] == "web-dnat" and c["client"].startswith("198.18.0.201:") and
                           c["nat_source"] == c["client"] and c["backend"] in ("198.19.0.51:80", "198.19.0.52:80")
                           for c in listed["connections"]), listed["connections"][:3]
                refused = cluster.ctl(1, "connections", "bogus", check=False)
                assert refused.returncode != 0 and "neither a VIP nor a count" in refused.stdout + refused.stderr, refused
                print("ok   `connections --json` lists the open dnat connections with their back ends")
                cluster.ctl(1, "live-backends", "web", "198.19.0.51:80")
                after = keep.again()
                assert after == keep.first, (keep.first, after)  # every open connection kept its back end
                seen, bad = fetch(topo, client, "198.18.0.100", "/file-1k", 200, 1024)
                assert bad == 0 and seen == {1: 200}, seen  # new flows avoid the removed one
            print("ok   back end removed at run time: new flows avoid it, open connections untouched")

            assert topo.run(client, "ping", "-c", "1", "-W", "2", "198.18.0.1", check=False).returncode == 0
            assert topo.run(client, "ping", "-c", "1", "-W", "2", "198.18.0.100", check=False).returncode == 0
            print("ok   the node's own address reaches the host (XDP_PASS); the VIP answers ICMP echo")

            start_cpu, start = cpu_seconds(node.proc.pid), time.monotonic()
            wait_until(lambda: time.monotonic() - start >= 5, timeout=15, what="5 idle seconds")
            share = (cpu_seconds(node.proc.pid) - start_cpu) / (time.monotonic() - start)
            assert share < 0.05, f"idle gateway used {share:.1%} of a core"
            print(f"ok   idle gateway uses {share:.1%} of a core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
