#!/usr/bin/env python3
"""Integration: seed 003's primary and monitor sharing the service address 198.19.0.250.

reg1 starts first, finds the address free (ARP probe) and takes it; reg2 and then reg3
find it in use and become monitors in line, following the primary's table. 20 client threads then announce
200 servers concurrently through the service address; in the middle of the stream reg1's
host dies (process killed, link down). reg2 must take the address over, and every
announce that was acknowledged (by either registry) must be in the table, which must be
one ring; reg3 follows reg2. reg1 comes back and, finding the address in use, becomes a
monitor. Then reg2 dies under a stream of deletes: the first in line (reg3) takes over,
reg1 follows it, and nothing acknowledged is lost either way. Finally reg3 is stopped
normally (SIGTERM releases the address) and reg1 takes over.
"""
import threading
import time

from registry_harness import (SERVICE, TopologyError, call, ctl, require_root, run_on_store, start_auto_registry,
                              store_args, wait_for)

CLIENTS = 20
SERVERS = 200


def main():
    require_root()
    run_on_store("rgt", run, backends=0, registries=3, log_hosts=lambda topo: topo.registries, log_lines=30)
    print("takeover test passed")


def stream(verb, addresses, acknowledged):
    """CLIENTS threads send `verb addr` for every address through the service address,
    retrying until OK; records each acknowledged address with the time of its OK."""
    lock = threading.Lock()
    errors = []

    def client(chunk):
        for address in chunk:
            deadline = time.monotonic() + 30
            while True:
                try:
                    reply = call(SERVICE, f"{verb} {address}", timeout=1.0)
                    if reply.startswith("OK"):
                        with lock:
                            acknowledged[address] = time.monotonic()
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    errors.append(f"{verb} {address} never acknowledged")
                    break
                time.sleep(0.05)

    threads = [threading.Thread(target=client, args=(addresses[i::CLIENTS],)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    return threads, errors


def run(topo, store, postgres):
    reg1, reg2, reg3 = topo.registries
    sockets = {h.namespace: topo.work_dir / f"{h.namespace}.sock" for h in topo.registries}
    stores = {h.namespace: store_args(topo, store, f"reg{h.index}", postgres) for h in topo.registries}

    def start(host):
        start_auto_registry(topo, host, stores[host.namespace])

    def role_is(host, role):
        return lambda: None if ctl(sockets[host.namespace], "pool")["role"] == role else \
            f"{host.namespace} is {ctl(sockets[host.namespace], 'pool')['role']}"

    topo.enter_ctl()
    start(reg1)
    wait_for(role_is(reg1, "primary"), 15, "reg1 to become the primary")
    start(reg2)
    wait_for(role_is(reg2, "monitor"), 15, "reg2 to become the monitor")
    wait_for(lambda: None if ctl(sockets[reg1.namespace], "pool")["monitor_attached"] else "no monitor", 10,
             "reg2 to follow reg1")
    start(reg3)
    wait_for(role_is(reg3, "monitor"), 15, "reg3 to become a monitor")

    def monitors_of(host):
        return [m.split(":")[0] for m in ctl(sockets[host.namespace], "pool")["monitor"].split(",") if m]

    wait_for(lambda: None if monitors_of(reg1) == [reg2.address, reg3.address] else f"line {monitors_of(reg1)}",
             10, "reg2 then reg3 in line behind reg1")

    # 1. Kill the primary in the middle of 200 concurrent announces.
    addresses = [f"198.19.0.{i}" for i in range(1, SERVERS + 1)]
    acknowledged = {}
    threads, errors = stream("ANNOUNCE", addresses, acknowledged)
    wait_for(lambda: None if len(acknowledged) >= SERVERS // 3 else f"{len(acknowledged)} acknowledged", 30,
             "a third of the announces")
    killed_at = time.monotonic()
    acked_before_kill = set(acknowledged)
    topo.crash(reg1)
    print(f"killed the primary after {len(acked_before_kill)} acknowledged announces")
    for t in threads:
        t.join()
    if errors:
        raise TopologyError(f"{len(errors)} announces failed: {errors[:3]}")
    wait_for(role_is(reg2, "primary"), 15, "reg2 to take over")
    first_after = min((t for t in acknowledged.values() if t > killed_at), default=None)
    if first_after:
        print(f"service answered again {first_after - killed_at:.2f}s after the primary died")
    pool = ctl(sockets[reg2.namespace], "pool")
    live = set(pool["live"])
    lost = [a for a in acked_before_kill if a not in live]
    if lost:
        raise TopologyError(f"{len(lost)} acknowledged announces lost in the takeover: {sorted(lost)[:5]}")
    if live != set(addresses) or not pool["one_ring"]:
        raise TopologyError(f"after the stream: {len(live)} servers, one ring {pool['one_ring']}")
    print(f"all {SERVERS} announces present after the takeover, one ring")
    wait_for(role_is(reg3, "monitor"), 10, "reg3 to stay a monitor")
    wait_for(lambda: None if monitors_of(reg2) == [reg3.address] else f"line {monitors_of(reg2)}", 10,
             "reg3 to follow reg2")

    # 2. The old primary returns: the address is in use, so it becomes the monitor.
    topo.revive(reg1)
    start(reg1)
    wait_for(role_is(reg1, "monitor"), 15, "the returning reg1 to become the monitor")
    for follower in (reg1, reg3):
        wait_for(lambda: None if ctl(sockets[follower.namespace], "pool")["version"] ==
                 ctl(sockets[reg2.namespace], "pool")["version"] else "copies differ", 10,
                 f"{follower.namespace} to copy reg2's table")

    # 3. Kill the new primary in the middle of deletes.
    doomed = addresses[::2]
    deleted = {}
    threads, errors = stream("DELETE", doomed, deleted)
    wait_for(lambda: None if len(deleted) >= len(doomed) // 3 else f"{len(deleted)} acknowledged", 30,
             "a third of the deletes")
    acked_before_kill = set(deleted)
    topo.crash(reg2)
    for t in threads:
        t.join()
    if errors:
        raise TopologyError(f"{len(errors)} deletes failed: {errors[:3]}")
    wait_for(role_is(reg3, "primary"), 15, "reg3, first in line, to take over")
    wait_for(role_is(reg1, "monitor"), 15, "reg1 to be a monitor of reg3")
    wait_for(lambda: None if monitors_of(reg3) == [reg1.address] else f"line {monitors_of(reg3)}", 10,
             "reg1 to follow reg3 (only a monitor with a current copy may take over)")
    pool = ctl(sockets[reg3.namespace], "pool")
    back = [a for a in acked_before_kill if a in set(pool["live"])]
    if back:
        raise TopologyError(f"{len(back)} acknowledged deletes undone by the takeover: {back[:5]}")
    if set(pool["live"]) != set(addresses) - set(doomed) or not pool["one_ring"]:
        raise TopologyError(f"after deletes: {len(pool['live'])} servers, one ring {pool['one_ring']}")
    print(f"all {len(doomed)} deletes hold after the second takeover, one ring of {len(pool['live'])}")

    # 4. A normal shutdown of the primary releases the address: the monitor takes over.
    status = topo.stop(reg3)
    if status != 0:
        raise TopologyError(f"reg3 exited {status} on SIGTERM")
    wait_for(role_is(reg1, "primary"), 15, "reg1 to take over from the stopped reg3")
    if set(ctl(sockets[reg1.namespace], "pool")["live"]) != set(addresses) - set(doomed):
        live = ctl(sockets[reg1.namespace], "pool")["live"]
        raise TopologyError(f"the table changed across the handover: {len(live)} servers")
    if not call(SERVICE, "LIST").startswith("OK"):
        raise TopologyError("the service address does not answer after the handover")
    print("SIGTERM on the primary: the monitor took over")


if __name__ == "__main__":
    main()
