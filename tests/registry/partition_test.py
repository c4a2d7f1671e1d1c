#!/usr/bin/env python3
"""Integration: the back-end pool under partitions and idle connections, on SQLite or
PostgreSQL (RINGGATE_TEST_STORE): 12 back ends with ringgate-buddy (real ICMP) and a
registry that confirms death reports with its own probe (docs/REGISTRY.md, "Death
reports are evidence"). After each step: the live list is the truly live set and the
table one ring whose every agent agrees.

  1. ICMP blocked (nftables in every back end) between two groups of six for 40 s, the
     registry reachable by all: nobody leaves the live list, at any moment;
  2. half the segment's links down for 5 s, then up: the cut half leaves, and after the
     heal every one is back within two detection periods (+ 1 s of slack for the
     machine), the ring whole soon after;
  3. one back end cut off for 3 s: the same;
  4. 300 idle connections to the registry: they are closed after the idle limit, and the
     registry keeps serving (a restarted agent is announced meanwhile).
"""
import socket
import time

from registry_harness import PORT, TopologyError, ctl, require_root, ring_problem, run_on_store, sh, wait_for
from registry_harness import start_agent as harness_start_agent
from registry_harness import start_standalone

INTERVAL_MS = 200
FAILURES = 3
PERIOD = INTERVAL_MS * FAILURES / 1000  # one detection period, seconds


def main():
    require_root()
    run_on_store("prt", run, backends=12, registries=1, log_hosts=lambda topo: topo.registries + topo.ring[:2])
    print("partition test passed")


def run(topo, store, postgres):
    service, management = start_standalone(topo, store, postgres, "--check-interval-ms", INTERVAL_MS,
                                           "--idle-timeout-ms", 2000, "--max-connections", 400)

    def start_agent(host):
        harness_start_agent(topo, host, service, INTERVAL_MS, FAILURES, 10000)

    everyone = {h.address: h for h in topo.ring}
    for host in topo.ring:
        start_agent(host)

    def live():
        return set(ctl(management, "pool")["live"])

    def settle(step, bound=15):
        started = time.monotonic()
        wait_for(lambda: ring_problem(ctl(management, "pool"), everyone), bound, step)
        print(f"{step}: one ring of {len(everyone)} after {time.monotonic() - started:.2f}s")

    settle("12 join")

    # 1. ICMP-only partition between two groups for 40 s.
    left, right = topo.ring[:6], topo.ring[6:]
    for group, other in ((left, right), (right, left)):
        addresses = ", ".join(h.address for h in other)
        for host in group:
            nft = ["ip", "netns", "exec", host.namespace, "nft"]
            sh(*nft, "add", "table", "inet", "rgcut")
            for chain, hook, field in (("out", "output", "daddr"), ("in", "input", "saddr")):
                sh(*nft, "add", "chain", "inet", "rgcut", chain, f"{{ type filter hook {hook} priority 0; }}")
                sh(*nft, "add", "rule", "inet", "rgcut", chain, "ip", field, f"{{ {addresses} }}",
                   "meta", "l4proto", "icmp", "drop")
    started = time.monotonic()
    smallest = len(everyone)
    while time.monotonic() - started < 40:
        smallest = min(smallest, len(live()))
        if smallest < len(everyone):
            raise TopologyError(f"a live server left the live list during the ICMP partition: {sorted(live())}")
        time.sleep(0.5)
    for host in topo.ring:
        sh("ip", "netns", "exec", host.namespace, "nft", "delete", "table", "inet", "rgcut")
    refused = ctl(management, "pool")["death_reports"]
    print(f"ICMP partition for 40 s: the live list never lost anyone; reports refused as alive: {refused['alive']}")
    settle("after the ICMP partition")

    # 2. and 3. Links down, then up.
    def cut(hosts, seconds, step):
        for h in hosts:
            sh("ip", "-n", h.namespace, "link", "set", "eth0", "down")
        gone = {h.address for h in hosts}
        wait_for(lambda: None if not (gone & live()) else f"still listed {sorted(gone & live())}", 10,
                 f"{step}: the cut-off servers to leave")
        time.sleep(max(0.0, seconds - 0))
        for h in hosts:
            sh("ip", "-n", h.namespace, "link", "set", "eth0", "up")
        healed = time.monotonic()
        wait_for(lambda: None if live() == set(everyone) else f"missing {sorted(set(everyone) - live())}",
                 2 * PERIOD + 1.0, f"{step}: every live server back within two detection periods")
        print(f"{step}: live list complete {time.monotonic() - healed:.2f}s after the heal "
              f"(two detection periods: {2 * PERIOD:.1f}s)")
        settle(f"after {step}")

    cut(topo.ring[::2], 5, "half the segment down for 5 s")
    cut([topo.ring[3]], 3, "one back end cut off for 3 s")

    # 4. 300 idle connections.
    before = ctl(management, "pool")["counters"]["idle_closed"]
    idle = []
    for _ in range(300):
        idle.append(socket.create_connection((service, PORT), timeout=2))
    victim = topo.ring[5]
    topo.crash(victim)
    del everyone[victim.address]
    settle("a crash while 300 connections idle")
    topo.revive(victim)
    start_agent(victim)
    everyone[victim.address] = victim
    settle("its return while 300 connections idle")
    wait_for(lambda: None if ctl(management, "pool")["counters"]["idle_closed"] - before >= 300 else "not yet closed",
             10, "the 300 idle connections to be closed")
    for s in idle:
        s.close()
    print("300 idle connections: closed after the idle limit; the registry served throughout")


if __name__ == "__main__":
    main()
