#!/usr/bin/env python3
"""Gateways follow the back-end pool (seeds 000-002 meet seed 004): ringgate-registry runs
on the internal segment, ringgate-buddy on every back end announces it and watches its
buddies with real ICMP, and three ringgated follow the registry's live list. A back end
that dies (agent killed, link down) is found by its buddies, deleted from the table, and
every gateway's pool drops it; back again, it is announced and every gateway takes it
back. The registry restarting costs the gateways nothing they had."""
import sys
import time

from cluster_harness import BUILD, SOURCE, Cluster, private_config, require_root, unique_name
from topology import Topology, wait_until

EXAMPLE = SOURCE / "config" / "examples" / "demo-3.yaml"
REGISTRY = BUILD / "control" / "registry" / "ringgate-registry"
BUDDY = BUILD / "control" / "registry" / "ringgate-buddy"
SERVICE = "198.19.0.51:7300"  # the registry runs on back end 1 in this test
SETTLE = 15


def live_of(cluster, node):
    view = cluster.query(node, "pool")
    pool = next(p for p in view["pools"] if p["name"] == "web")
    return sorted(b["address"] for b in pool["backends"]), view


def main():
    require_root()
    with Topology.create(unique_name("pool"), gateways=3, clients=0, backends=4, files=["1k"]) as topo:
        registry_host = topo.backends()[0]
        key_file = topo.work_dir / "pool.key"
        key_file.write_text("ringgate-test-pool-key-0123456789\n")
        registry = topo.spawn(registry_host, [str(REGISTRY), "--service", SERVICE, "--store", "sqlite",
                                              "--key-file", str(key_file),
                                              "--sqlite-path", str(topo.work_dir / "registry.db")],
                              log_path=topo.work_dir / "registry.log")
        wait_until(lambda: topo.run(topo.gateway(1), "bash", "-c", f"echo LIST >/dev/tcp/{SERVICE.replace(':', '/')}",
                                    check=False).returncode == 0, SETTLE, "the registry")
        buddies = {}
        servers = [b for b in topo.backends()[1:]]

        def start_buddy(backend):
            buddies[backend.index] = topo.spawn(backend, [
                str(BUDDY), "--self", backend.address, "--registry", SERVICE, "--key-file", str(key_file),
                "--interval-ms", "200", "--failures", "3"], log_path=topo.work_dir / f"buddy{backend.index}.log")

        for backend in servers:
            start_buddy(backend)

        config = private_config(EXAMPLE, topo.work_dir, [
            (r"^pools:\n  - name: web\n", f"registry:\n  endpoints: [{SERVICE}]\n  key_file: {key_file}\n\npools:\n  - name: web\n    registry: true\n    port: 80\n"),
        ])
        expected = sorted(b.address for b in servers)
        with Cluster(config, topo.work_dir, topo) as cluster:
            for node in (1, 2, 3):
                cluster.start(node)
            wait_until(lambda: all(live_of(cluster, n)[0] == expected for n in (1, 2, 3)), SETTLE,
                       "every gateway sees the three announced back ends")
            _, view = live_of(cluster, 1)
            assert view["connected"] and view["registry"] == [SERVICE], view
            text = cluster.ctl(2, "pool").stdout
            assert "pool web: 3 live back ends" in text and "198.19.0.53:80" in text, text
            print("ok   three buddies announced; every gateway's pool lists them")

            victim = servers[1]
            buddies[victim.index].kill()
            topo.run(victim, "ip", "link", "set", "eth0", "down")
            started = time.monotonic()
            remaining = sorted(a for a in expected if a != victim.address)
            wait_until(lambda: all(live_of(cluster, n)[0] == remaining for n in (1, 2, 3)), SETTLE,
                       f"{victim.address} dropped from every gateway")
            print(f"ok   back end {victim.address} died: gone from every gateway's pool after "
                  f"{(time.monotonic() - started) * 1000:.0f} ms")

            topo.run(victim, "ip", "link", "set", "eth0", "up")
            start_buddy(victim)
            wait_until(lambda: all(live_of(cluster, n)[0] == expected for n in (1, 2, 3)), SETTLE,
                       f"{victim.address} back in every gateway's pool")
            print("ok   it came back: announced again, every gateway takes it back")

            registry.kill()
            registry.wait()
            wait_until(lambda: not live_of(cluster, 1)[1]["connected"], SETTLE, "gateway notices the registry is gone")
            assert live_of(cluster, 1)[0] == expected, "a registry outage must not empty the pool"
            topo.spawn(registry_host, [str(REGISTRY), "--service", SERVICE, "--store", "sqlite",
                                       "--key-file", str(key_file),
                                       "--sqlite-path", str(topo.work_dir / "registry.db")],
                       log_path=topo.work_dir / "registry.log")
            wait_until(lambda: live_of(cluster, 1)[1]["connected"], SETTLE, "gateway subscribed again")
            assert live_of(cluster, 1)[0] == expected
            print("ok   registry restart: gateways keep their pool and subscribe again")
    return 0


if __name__ == "__main__":
    sys.exit(main())
