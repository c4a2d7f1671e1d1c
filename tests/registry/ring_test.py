#!/usr/bin/env python3
"""Integration: a ring of 20 back ends, each in its own namespace with real ICMP probes,
against a real ringgate-registry (SQLite or PostgreSQL: RINGGATE_TEST_STORE).

Steps, each followed by "within BOUND seconds the table is one ring of exactly the live
servers and every agent's buddy list equals its table entry":
  all 20 join at once; one crashes; two ring neighbours crash together; three adjacent
  crash at once (the middle one's buddies die with it: its death is found once the ring
  has repaired around the other two); one shuts down normally (SIGTERM, claims 15-16);
  two crashed servers come back. Hostile lines to an agent's listener and to the
  registry are refused and counted, and change nothing; 300 idle connections to an
  agent's listener are closed (over its cap at once, the rest after its idle limit)
  while it stays in the ring.
"""
import socket
import time

from registry_harness import (BUDDY_PORT, PORT, TopologyError, agent_status, call, ctl, require_root, ring_problem,
                              run_on_store, sign_request, start_standalone, wait_for)
from registry_harness import start_agent as harness_start_agent

BOUND = 10.0        # seconds: 3 silent probes at 200 ms, repair, confirmation, slack
INTERVAL_MS = 200


def main():
    require_root()
    run_on_store("reg", run, backends=20, registries=1, log_hosts=lambda topo: topo.registries + topo.ring[:3])
    print("ring test passed")


def run(topo, store, postgres):
    service, management = start_standalone(topo, store, postgres)

    def start_agent(host):
        harness_start_agent(topo, host, service, INTERVAL_MS, 3, 2000)

    live = {h.address: h for h in topo.ring}

    def settle(step):
        started = time.monotonic()
        wait_for(lambda: ring_problem(ctl(management, "pool"), live), BOUND, step)
        print(f"{step}: one ring of {len(live)} after {time.monotonic() - started:.2f}s")

    for host in topo.ring:
        start_agent(host)
    settle("20 join at once")

    def order():
        return [e["server"] for e in ctl(management, "pool")["ring"]]

    def crash(*addresses):
        for address in addresses:
            topo.crash(live.pop(address))

    crash(topo.ring[6].address)
    settle("one crash")

    ring = order()
    crash(ring[3], ring[4])
    settle("two neighbours crash")

    ring = order()
    crash(ring[0], ring[1], ring[2])  # adjacent: the middle one's buddies die with it
    settle("three adjacent crash at once")

    ring = order()
    leaving = live.pop(ring[2])
    status = topo.stop(leaving)
    if status != 0:
        raise TopologyError(f"agent {leaving.address} exited {status} on SIGTERM")
    settle("normal shutdown")

    for host in [h for h in topo.ring if h.address not in live][:2]:
        topo.revive(host)
        start_agent(host)
        live[host.address] = host
    settle("two come back")

    # Hostile input: refused with an error, counted, nothing changes.
    target = next(iter(live))
    before = agent_status(target)
    for line in ["HELLO", "REPLACE 1 198.19.0.999 198.19.0.1", "REPLACE x y z", "\x00\x01\x02",
                 "STATUS extra", "A" * 100]:
        reply = call(target, line, port=BUDDY_PORT)
        if not reply.startswith("ERR"):
            raise TopologyError(f"agent accepted hostile line {line!r}: {reply}")
    try:
        call(target, "B" * 5000, port=BUDDY_PORT)  # too long: the agent hangs up
    except OSError:
        pass
    after = agent_status(target)
    if after[:2] != before[:2] or after[2] < before[2] + 7:
        raise TopologyError(f"agent {target}: hostile lines counted {after[2] - before[2]}, buddies {after[:2]}")
    for line in ["ANNOUNCE 300.1.1.1", "DROP TABLE ringgate_servers", "DELETE", "STATUS"]:
        if not call(service, line).startswith("ERR"):
            raise TopologyError(f"registry accepted hostile line {line!r}")
    pool = ctl(management, "pool")
    if pool["counters"]["refused"] < 4:
        raise TopologyError(f"registry counted {pool['counters']['refused']} refused requests, expected >= 4")
    settle("after hostile input")
    forged(service, management, live)
    settle("after forged input")
    idle_connections(target)
    settle("after 300 idle connections to an agent")


def forged(service, management, live):
    """A host without the key: DELETE of a live back end, REPLACE into an attacker's
    address, ANNOUNCE, a death report, a ServerReplace from the future; a replayed signed
    line; and, with the key, addresses no back end has. All refused; nothing changes."""
    before = sorted(ctl(management, "pool")["live"])
    victim, other = before[0], before[1]
    a, b, _ = agent_status(victim)
    lines = [f"DELETE {victim}", f"REPLACE {victim} 198.19.0.99", "ANNOUNCE 198.19.0.98", f"DEAD {victim} {a} 1",
             "REPLICATE"]  # a fake monitor would slow every write to its acknowledgement timeout
    for line in lines:
        for key in (None, "a-key-that-is-not-the-pool-key"):
            reply = call(service, line, key=key)
            if not reply.startswith("ERR unauthenticated"):
                raise TopologyError(f"registry accepted {line!r} signed with {key!r}: {reply}")
    for line in [f"REPLACE 99999999999 {a} 198.19.0.99", f"REPLACE 1 {a} 198.19.0.99", "STATUS"]:
        reply = call(victim, line, port=BUDDY_PORT, key=None)
        if not reply.startswith("ERR unauthenticated"):
            raise TopologyError(f"agent accepted unsigned {line!r}: {reply}")
    reply = call(victim, f"REPLACE 99999999999 {a} 198.19.0.99", port=BUDDY_PORT)  # signed, from the future
    if not reply.startswith("ERR") or agent_status(victim)[:2] != (a, b):
        raise TopologyError(f"agent took a version from the future: {reply}")
    signed, _ = sign_request("LIST")
    for attempt in range(2):  # the second time it is a replay
        with socket.create_connection((service, PORT), timeout=2) as s:
            s.sendall(signed.encode() + b"\n")
            reply = s.makefile().readline()
        if (attempt == 1) != reply.startswith("ERR unauthenticated"):
            raise TopologyError(f"signed LIST sent twice, answer {attempt + 1}: {reply[:80]}")
    for line in ["ANNOUNCE 127.0.0.1", "ANNOUNCE 0.0.0.0", "ANNOUNCE 255.255.255.255", "ANNOUNCE 224.0.0.9",
                 "ANNOUNCE 10.1.2.3", f"REPLACE {other} 127.0.0.2"]:
        reply = call(service, line)
        if not reply.startswith("ERR"):
            raise TopologyError(f"registry accepted {line!r}: {reply}")
    pool = ctl(management, "pool")
    if sorted(pool["live"]) != before:
        raise TopologyError(f"forged input changed the live list: {sorted(pool['live'])}")
    if pool["monitor_attached"]:
        raise TopologyError("a forged REPLICATE attached as a monitor")
    if pool["counters"]["unauthenticated"] < 11:
        raise TopologyError(f"registry counted {pool['counters']['unauthenticated']} unauthenticated lines")
    print("forged, replayed and future-versioned input refused; live list unchanged")


def idle_connections(agent, count=300, cap=256, idle_s=5.0):
    """Connections that never send a request: the agent closes those over its cap at once
    and the others after its idle limit (each counted from its own connect), and serves
    again afterwards."""
    conns, opened = [], []
    for _ in range(count):
        conns.append(socket.create_connection((agent, BUDDY_PORT), timeout=2))
        opened.append(time.monotonic())
        conns[-1].setblocking(False)
    spread = opened[-1] - opened[0]
    closed = {}
    deadline = time.monotonic() + idle_s + 4
    while len(closed) < count and time.monotonic() < deadline:
        for i, c in enumerate(conns):
            if i in closed:
                continue
            try:
                if c.recv(1) == b"":
                    closed[i] = time.monotonic() - opened[i]
            except BlockingIOError:
                pass
            except OSError:
                closed[i] = time.monotonic() - opened[i]
        time.sleep(0.02)
    for c in conns:
        c.close()
    if len(closed) < count:
        raise TopologyError(f"agent {agent}: {count - len(closed)} idle connections still open after {idle_s + 4} s")
    # Polled only once all are open: "at once" is any time before the idle limit.
    early = sum(1 for t in closed.values() if t < idle_s - 0.5)
    late = sum(1 for t in closed.values() if idle_s - 0.5 <= t <= idle_s + 3)
    if early + late != count or late < 1 or (spread < idle_s - 1 and early < count - cap):
        raise TopologyError(f"agent {agent}: {early} closed at once (over the cap of {cap}), {late} after the idle "
                            f"limit, {count - early - late} otherwise (opened over {spread:.1f} s)")
    agent_status(agent)  # serving again
    print(f"{count} idle connections to agent {agent} (opened over {spread:.1f} s): {early} closed at once, "
          f"{late} after the idle limit")


if __name__ == "__main__":
    main()
