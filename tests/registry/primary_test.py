#!/usr/bin/env python3
"""Integration: exactly one primary among registries sharing the service address
(seed 003 with terms, docs/REGISTRY.md "Exactly one primary"), on SQLite or PostgreSQL
(RINGGATE_TEST_STORE), three registries with --peers in their own namespaces:

  1. started at once, ten times: one primary, two monitors, never two primaries;
  2. the primary's process killed while its host stays up (answers ARP and ICMP): a
     monitor takes over, the dead registry's address guard removed the address;
  3. the primary cut off for 4 s and healed: a monitor takes over during the cut (a new
     term); after the heal the old primary steps down and follows; one primary; every
     acknowledged announce (before, during, after the cut) is in every copy.
"""
import time

from registry_harness import (SERVICE, TopologyError, call, ctl, require_root, run_on_store, start_auto_registry,
                              sh, store_args, wait_for)

TRIALS = 10


def main():
    require_root()
    run_on_store("pri", run, backends=0, registries=3, log_hosts=lambda topo: topo.registries, log_lines=25)
    print("primary test passed")


def run(topo, store, postgres):
    regs = topo.registries
    sockets = {h.namespace: topo.work_dir / f"{h.namespace}.sock" for h in regs}
    stores = {h.namespace: store_args(topo, store, f"reg{h.index}", postgres) for h in regs}

    def start(host):
        start_auto_registry(topo, host, stores[host.namespace], peers=[h.address for h in regs if h is not host])

    def role(host):
        try:
            return ctl(sockets[host.namespace], "pool")["role"]
        except (OSError, TopologyError, ValueError):
            return "down"

    def roles():
        return {h.namespace: role(h) for h in regs if h.namespace in topo.procs}

    def primaries():
        return [n for n, r in roles().items() if r == "primary"]

    def holders():
        """Namespaces whose eth0 carries the service address."""
        out = []
        for h in regs:
            text = sh("ip", "-n", h.namespace, "-4", "addr", "show", "dev", "eth0").stdout
            if f" {SERVICE}/32" in text:
                out.append(h.namespace)
        return out

    def one_primary():
        p, r = primaries(), roles()
        if len(p) != 1:
            return f"primaries {p}, roles {r}"
        if any(x not in ("primary", "monitor") for x in r.values()):
            return f"roles {r}"
        if holders() != p:
            return f"address held by {holders()}, primary {p}"
        return None

    topo.enter_ctl()

    # 1. Started at once.
    for trial in range(1, TRIALS + 1):
        for h in regs:
            sh("ip", "-n", h.namespace, "addr", "del", f"{SERVICE}/32", "dev", "eth0", check=False)
        for h in regs:  # within a few milliseconds: all probe the free address together
            start(h)
        deadline = time.monotonic() + 15
        settled = None
        while time.monotonic() < deadline:
            p = primaries()
            if len(p) > 1:
                raise TopologyError(f"trial {trial}: two primaries at once: {roles()}")
            if one_primary() is None:
                settled = True
                break
            time.sleep(0.1)
        if settled is None:
            raise TopologyError(f"trial {trial}: no single primary after 15 s: {one_primary()}")
        time.sleep(0.6)  # three more check intervals: still one
        if one_primary() is not None:
            raise TopologyError(f"trial {trial}: after settling: {one_primary()}")
        for h in regs:
            if topo.stop(h) != 0:
                raise TopologyError(f"trial {trial}: {h.namespace} did not stop cleanly")
    print(f"started at once {TRIALS} times: one primary each time")

    for h in regs:
        sh("ip", "-n", h.namespace, "addr", "del", f"{SERVICE}/32", "dev", "eth0", check=False)
    start(regs[0])
    wait_for(lambda: None if role(regs[0]) == "primary" else role(regs[0]), 15, "reg1 to become the primary")
    for h in regs[1:]:
        start(h)
    wait_for(one_primary, 15, "one primary, two monitors")
    acknowledged = set()

    def announce(addresses):
        for a in addresses:
            deadline = time.monotonic() + 20
            while True:
                try:
                    reply = call(SERVICE, f"ANNOUNCE {a}", timeout=1.0)
                    if reply.startswith("OK"):
                        acknowledged.add(a)
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise TopologyError(f"announce {a} never acknowledged")
                time.sleep(0.1)

    announce([f"198.19.0.{i}" for i in range(1, 11)])

    def copies_hold_everything():
        for h in regs:
            if h.namespace not in topo.procs:
                continue
            live = set(ctl(sockets[h.namespace], "pool")["live"])
            if not acknowledged <= live:
                return f"{h.namespace} lacks {sorted(acknowledged - live)[:5]}"
        versions = {ctl(sockets[h.namespace], "pool")["version"] for h in regs if h.namespace in topo.procs}
        return None if len(versions) == 1 else f"versions differ: {versions}"

    wait_for(copies_hold_everything, 10, "every copy to hold the announces")

    # 2. The primary's process dies; its host stays up.
    victim = next(h for h in regs if role(h) == "primary")
    proc = topo.procs.pop(victim.namespace)
    proc.kill()
    proc.wait()
    started = time.monotonic()
    wait_for(lambda: None if victim.namespace not in holders() else "address still on the dead registry's host",
             5, "the address guard to remove the address")
    wait_for(one_primary, 15, "a monitor to take over from the killed primary")
    print(f"primary process killed (host up): taken over after {time.monotonic() - started:.2f}s")
    announce([f"198.19.0.{i}" for i in range(11, 16)])
    start(victim)
    wait_for(one_primary, 15, "the restarted registry to follow")
    wait_for(copies_hold_everything, 10, "every copy to hold the announces")

    # 3. The primary is cut off for 4 s, then healed.
    old = next(h for h in regs if role(h) == "primary")
    old_term = int(call(SERVICE, "ROLE").split()[2])
    sh("ip", "-n", old.namespace, "link", "set", "eth0", "down")
    cut = time.monotonic()
    others = [h for h in regs if h is not old]
    wait_for(lambda: None if any(role(h) == "primary" for h in others) else f"roles {roles()}", 4,
             "a monitor to take over during the cut")
    announce([f"198.19.0.{i}" for i in range(16, 21)])  # acknowledged by the new primary
    time.sleep(max(0.0, 4 - (time.monotonic() - cut)))
    sh("ip", "-n", old.namespace, "link", "set", "eth0", "up")
    wait_for(one_primary, 10, "exactly one primary after the heal")
    if role(old) != "monitor":
        raise TopologyError(f"the old primary is {role(old)} after the heal")
    new_term = int(call(SERVICE, "ROLE").split()[2])
    if new_term <= old_term:
        raise TopologyError(f"term did not grow: {old_term} -> {new_term}")
    wait_for(copies_hold_everything, 15, "every copy, the old primary's too, to hold every acknowledged announce")
    print(f"primary cut off 4 s: one primary after the heal (term {old_term} -> {new_term}); "
          f"{len(acknowledged)} acknowledged announces in every copy")


if __name__ == "__main__":
    main()
