#!/usr/bin/env python3
"""VIPs across a three-gateway cluster with real kernels as clients (issue: VIPs across
the cluster), in one of two modes (first argument):
  fastpath  the product: AF_XDP fast paths answer for the VIPs, every VIP is on every
            gateway's host, and the XDP guard must keep the hosts from ever answering or
            learning a VIP; new connections go through the fast path (fullnat) to nginx;
  kernel    dataplane off: VIPs on the owner's host stack (KernelActuator); each gateway
            serves HTTP on :8080 naming itself.
Who answers is read from each node (`vips --json`, answered_here) and checked from the
client's side: its own ARP cache and arping must name the owner's MAC alone.

Checked: placement by Table 1; kill -9 of an owner (new connections succeed, client ARP
names the new owner); restart (persistence 3 goes home, persistence 1 stays); SIGSTOP past
the timeout then SIGCONT (rejoins by itself); a partition of one gateway and its heal (one
owner per VIP, checked with arping from the client); every operator command with --json,
and refusals that say why."""
import json
import re
import signal
import sys
import time

from cluster_harness import SOURCE, Cluster, private_config, require_root, unique_name
from topology import Topology, TopologyError, wait_until

EXAMPLE = SOURCE / "config" / "examples" / "demo-3.yaml"
VIPS = ["198.18.0.100", "198.18.0.101", "198.18.0.102", "198.19.0.100"]
SETTLE = 10  # seconds: generous bound for a 2-core machine shared with the other suites


MODE = sys.argv[1] if len(sys.argv) > 1 else "fastpath"
CLUSTER = None  # the Cluster under test (fast-path mode asks the nodes who answers)


def holders(topo, vip, live=(1, 2, 3)):
    """Gateways answering for `vip`: in kernel mode every gateway whose host holds the
    address (alive or not); in fast-path mode every live node whose fast path answers."""
    found = []
    if MODE == "kernel":
        for gw in topo.gateways():
            out = topo.run(gw, "ip", "-4", "-o", "addr", "show", check=False).stdout
            if re.search(rf"inet {re.escape(vip)}/", out):
                found.append(gw.index)
        return found
    for node in live:
        view = CLUSTER.query(node, "vips")
        if any(v["vip"] == vip and v["answered_here"] for v in view["vips"]):
            found.append(node)
    return found


def owners(topo, live):
    return {vip: [n for n in holders(topo, vip, live) if n in live] for vip in VIPS}


def settled(topo, live):
    """Every VIP answered by exactly one live gateway and by no other gateway at all."""
    return all(holders(topo, vip, live) in ([n] for n in live) for vip in VIPS)


def hosts_never_learn_vips(topo):
    """The XDP guard: no gateway's host has a neighbour entry for any VIP."""
    for gw in topo.gateways():
        table = topo.run(gw, "ip", "neigh", "show", check=False).stdout
        for vip in VIPS:
            assert not re.search(rf"^{re.escape(vip)} ", table, re.M), f"gw{gw.index}'s host learned {vip}: {table}"


def client_mac_for(topo, vip):
    out = topo.run(topo.clients()[0], "ip", "neigh", "show", vip).stdout
    m = re.search(r"lladdr (\S+)", out)
    return m[1] if m else None


def curl_owner(topo, vip):
    """The node a new TCP connection to `vip` reached: in kernel mode the gateway's own
    HTTP server says; in fast-path mode the connection goes through to a back end, and the
    answering node is the one whose MAC the client's ARP cache holds."""
    if MODE == "kernel":
        result = topo.run(topo.clients()[0], "curl", "-s", "--max-time", "2", f"http://{vip}:8080/whoami",
                          check=False)
        return result.stdout.strip() if result.returncode == 0 else None
    result = topo.run(topo.clients()[0], "curl", "-s", "--max-time", "2", f"http://{vip}/id", check=False)
    if result.returncode != 0 or not result.stdout.startswith("backend"):
        return None
    mac = client_mac_for(topo, vip)
    return next((f"gw{gw.index}" for gw in topo.gateways() if gw.macs["ext0"] == mac), None)


def arping_macs(topo, vip):
    out = topo.run(topo.clients()[0], "arping", "-c", "3", "-w", "3", "-I", "eth0", vip, check=False).stdout
    return set(re.findall(r"\[([0-9a-fA-F:]{17})\]", out))


def main():
    global CLUSTER
    require_root()
    assert MODE in ("fastpath", "kernel"), f"unknown mode {MODE}"
    with Topology.create(unique_name("vipfo"), gateways=3, clients=1, backends=2, files=["1k"]) as topo:
        if MODE == "kernel":
            for gw in topo.gateways():
                www = topo.work_dir / f"www{gw.index}"
                www.mkdir()
                (www / "whoami").write_text(f"gw{gw.index}\n")
                topo.spawn(gw, [sys.executable, "-m", "http.server", "8080", "--directory", str(www)])
        config = private_config(EXAMPLE, topo.work_dir,
                                [(r"^  enabled: true$", "  enabled: false")] if MODE == "kernel" else [])
        live = {1, 2, 3}
        with Cluster(config, topo.work_dir, topo) as cluster:
            CLUSTER = cluster
            for node in (1, 2, 3):
                cluster.start(node)
            wait_until(lambda: all(len(cluster.query(n, "members")["members"]) == 3 for n in live), SETTLE,
                       "three members")
            wait_until(lambda: settled(topo, live), SETTLE, "every VIP on exactly one gateway")
            table = {v["vip"]: v for v in cluster.query(2, "vips")["vips"]}
            assert table["198.18.0.100"]["current_host"] == 1, table  # persistence 3, preferred 1
            for vip in VIPS:
                assert holders(topo, vip) == [table[vip]["current_host"]], (vip, holders(topo, vip), table)
            print(f"ok   placement ({MODE}): one owner per VIP, every node agrees with the table")

            # kill -9 the owner of 198.18.0.100: new connections succeed, the client's ARP follows.
            vip = "198.18.0.100"
            assert curl_owner(topo, vip) == "gw1"
            started = time.monotonic()
            cluster.kill(1)
            live.discard(1)
            if MODE == "kernel":
                # The dead node's kernel keeps its addresses (its links are up): take them
                # down as a dead machine would, so only the survivors can answer. In
                # fast-path mode the links stay up: the XDP program left behind drops VIP
                # traffic, so the dead node's host (which carries every VIP) stays silent.
                topo.run(topo.gateway(1), "ip", "link", "set", "ext0", "down")
                topo.run(topo.gateway(1), "ip", "link", "set", "int0", "down")
            wait_until(lambda: all(len(owners(topo, live)[v]) == 1 for v in VIPS), SETTLE, "failover")
            new_owner = owners(topo, live)[vip][0]
            wait_until(lambda: curl_owner(topo, vip) == f"gw{new_owner}", SETTLE, "connections to the new owner")
            elapsed = time.monotonic() - started
            assert client_mac_for(topo, vip) == topo.gateway(new_owner).macs["ext0"], \
                (client_mac_for(topo, vip), new_owner)
            assert arping_macs(topo, vip) == {topo.gateway(new_owner).macs["ext0"]}, "a dead node answered"
            print(f"ok   kill -9 node 1: {vip} on node {new_owner}, client ARP follows, "
                  f"connections succeed after {elapsed * 1000:.0f} ms")

            # Restart: persistence 3 goes home, persistence 1 stays where it is.
            sticky_current = cluster.query(2, "vips")
            p1_owner = next(v["current_host"] for v in sticky_current["vips"] if v["vip"] == "198.18.0.101")
            if MODE == "kernel":
                for link in ("ext0", "int0"):
                    topo.run(topo.gateway(1), "ip", "link", "set", link, "up")
            cluster.start(1)
            live.add(1)
            wait_until(lambda: owners(topo, live)[vip] == [1] and settled(topo, live), SETTLE,
                       "persistence-3 VIP back home")
            assert owners(topo, live)["198.18.0.101"] == [p1_owner], "persistence 1 must not move back"
            wait_until(lambda: curl_owner(topo, vip) == "gw1", SETTLE, "connections back on node 1")
            print("ok   restart: persistence 3 returned to node 1, persistence 1 stayed on "
                  f"node {p1_owner}")

            # SIGSTOP past the token-loss timeout, then SIGCONT: it rejoins by itself.
            cluster.signal(2, signal.SIGSTOP)
            wait_until(lambda: sorted(m["id"] for m in cluster.query(1, "members")["members"]) == [1, 3],
                       SETTLE, "node 2 dropped while stopped")
            cluster.signal(2, signal.SIGCONT)
            wait_until(lambda: all(len(cluster.query(n, "members")["members"]) == 3 for n in (1, 2, 3)),
                       SETTLE, "node 2 back in the ring")
            wait_until(lambda: settled(topo, live), SETTLE, "one owner per VIP after the stop")
            print("ok   SIGSTOP/SIGCONT: node 2 rejoined by itself, one owner per VIP")

            # Partition node 3 from the others (its switch ports down), then heal.
            for segment in ("ext", "int"):
                topo.run(topo.ns("sw", segment), "ip", "link", "set", "g3", "down")
            wait_until(lambda: sorted(m["id"] for m in cluster.query(1, "members")["members"]) == [1, 2],
                       SETTLE, "the majority side sees two members")
            for segment in ("ext", "int"):
                topo.run(topo.ns("sw", segment), "ip", "link", "set", "g3", "up")
            wait_until(lambda: all(len(cluster.query(n, "members")["members"]) == 3 for n in (1, 2, 3)),
                       SETTLE, "one ring again after the heal")
            wait_until(lambda: settled(topo, live), SETTLE, "one owner per VIP after the heal")
            for v in ("198.18.0.100", "198.18.0.101", "198.18.0.102"):
                macs = arping_macs(topo, v)
                assert len(macs) == 1, f"{v} answered by {macs} after the heal"
            if MODE == "fastpath":
                hosts_never_learn_vips(topo)
            print("ok   partition and heal: one ring, arping sees one MAC per VIP"
                  + (", no host learned a VIP" if MODE == "fastpath" else ""))

            # Operator commands, end to end, JSON for each; refusals say why.
            def vips_of(node):
                return {v["vip"]: v for v in cluster.query(node, "vips")["vips"]}

            moved = cluster.query(3, "vip", "move", "198.18.0.102", "2")
            assert moved["accepted"] == "move 198.18.0.102 to node 2", moved
            wait_until(lambda: owners(topo, live)["198.18.0.102"] == [2] and settled(topo, live), SETTLE, "move")
            # Each node's view is the table as the token last left it: wait for it to come round.
            wait_until(lambda: vips_of(1)["198.18.0.102"]["preferred_host"] == 2, SETTLE, "node 1 sees the preference")
            cluster.query(1, "vip", "persistence", "198.18.0.102", "3")
            wait_until(lambda: vips_of(2)["198.18.0.102"]["persistence"] == 3, SETTLE, "persistence set")
            cluster.query(1, "vip", "persistence", "198.18.0.102", "0")
            cluster.query(1, "vip", "unprefer", "198.18.0.102")
            wait_until(lambda: vips_of(3)["198.18.0.102"]["preferred_host"] is None, SETTLE, "preference cleared")
            cluster.query(2, "vip", "prefer", "198.18.0.102", "3")
            wait_until(lambda: vips_of(1)["198.18.0.102"]["preferred_host"] == 3, SETTLE, "preference set")

            cluster.query(1, "vip", "close", "198.18.0.102")
            wait_until(lambda: holders(topo, "198.18.0.102") == [], SETTLE, "closed VIP released")
            wait_until(lambda: vips_of(2)["198.18.0.102"]["state"] == "closed", SETTLE, "node 2 sees it closed")
            cluster.query(1, "vip", "open", "198.18.0.102")
            wait_until(lambda: len(holders(topo, "198.18.0.102")) == 1, SETTLE, "reopened VIP owned")

            cluster.query(2, "drain", "3")
            wait_until(lambda: all(3 not in owners(topo, live)[v] for v in VIPS) and settled(topo, live),
                       SETTLE, "node 3 drained")
            wait_until(lambda: cluster.query(1, "vips")["drained"] == [3], SETTLE, "node 1 sees node 3 drained")
            cluster.query(2, "undrain", "3")
            wait_until(lambda: cluster.query(1, "vips")["drained"] == [], SETTLE, "node 3 undrained")
            print("ok   move, persistence, prefer/unprefer, close/open, drain/undrain, each with --json")

            for args, needle in ((["vip", "move", "198.18.0.250", "2"], "not a VIP"),
                                 (["vip", "move", "198.18.0.100", "9"], "not in the node map"),
                                 (["vip", "persistence", "198.18.0.102", "2"], "0, 1 or 3"),
                                 (["vip", "unprefer", "198.18.0.100"], "persistence 3"),
                                 (["vip", "fly"], "usage")):
                refused = cluster.ctl(1, *args, json_output=True, check=False)
                assert refused.returncode == 1, args
                assert needle in json.loads(refused.stdout)["error"], (args, refused.stdout)
            print("ok   refused commands say why (JSON errors)")
            if MODE == "fastpath":
                hosts_never_learn_vips(topo)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except TopologyError as e:
        print(f"FAIL: {e}")
        sys.exit(1)
