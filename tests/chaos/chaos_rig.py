"""The system under the chaos soak, built from the project's harnesses: a tools/topology.py
network (gateways between clients and nginx back ends) with, on the internal segment, a
ctl namespace for the soak itself and a registry pair (seed 003 primary and monitor on
the service address, tests/registry/registry_harness.py); ringgate-buddy on every back
end; ringgated on every gateway (tools/cluster_harness.py) following the registry's live
list; tests/chaos/chaos_client.py in the client namespaces.

    client1, client2 --[ext]-- gw1..gwN --[int]-- backend1..M (nginx + buddy)
                                             +--- reg1, reg2 (198.19.0.201/202, service .250)
                                             +--- ctl (198.19.0.254)
"""
import os
import sys
from pathlib import Path

from cluster_harness import SOURCE, Cluster, private_config
from flow_harness import DNAT_VIP, FULLNAT_VIP
from registry_harness import (PORT, SERVICE, RingTopology, ctl, start_agent, start_auto_registry,
                              store_args)
from topology import INTERNAL_NET, Topology, TopologyError

EXAMPLE = SOURCE / "config" / "examples" / "demo-3.yaml"
CLIENT = Path(__file__).with_name("chaos_client.py")
EXTERNAL_VIPS = ["198.18.0.100", FULLNAT_VIP, DNAT_VIP]
INTERNAL_VIPS = ["198.19.0.100"]
AGENT_INTERVAL_MS, AGENT_FAILURES = 200, 3


class ChaosTopology(RingTopology):
    """The gateway topology of tools/topology.py plus RingTopology's ctl and registries
    on its internal switch; back ends double as the buddy ring."""

    def __init__(self, name, backends, registries, gateways=3, clients=2):
        super().__init__(name, backends, registries)
        self.n_gateways, self.n_clients, self.n_backends = gateways, clients, backends
        self.http, self.files = "nginx", ["1k"]

    def _build(self):
        Topology._build(self)
        sw = self.ns("sw", "int")
        self.ctl = self._add_leaf("ctl", 1, sw, "c1", INTERNAL_NET[254], 0x13, 4)
        self.registries = [self._add_leaf("reg", r, sw, f"r{r}", INTERNAL_NET[200 + r], 0x13, 5)
                           for r in range(1, self.want_registries + 1)]
        self.ring = self.backends()
        self.save()
        self.check_isolation()


def gateway_config(topo, cluster_name, gateways):
    """demo-3.yaml with its own cluster name, N nodes and the pool 'web' from the registry."""
    nodes = "".join(f"    - id: {n}\n      addresses: {{ external: 198.18.0.{n}, internal: 198.19.0.{n} }}\n"
                    for n in range(4, gateways + 1))
    return private_config(EXAMPLE, topo.work_dir, [
        (r"^  name: demo$", f"  name: {cluster_name}"),
        (r"^(    - id: 3\n      addresses: .*\n)", rf"\g<1>{nodes}"),
        (r"^pools:\n  - name: web\n    backends:\n(      - .*\n)+",
         f"registry:\n  endpoints: [{SERVICE}:{PORT}]\n  key_file: {topo.key_file()}\n\n"
         "pools:\n  - name: web\n    registry: true\n    port: 80\n"),
    ])


class Rig:
    """Every daemon of the soak, its start, death and return."""

    def __init__(self, topo, gateways, cluster_name):
        self.topo = topo
        self.gateway_ids = list(range(1, gateways + 1))
        self.cluster = Cluster(gateway_config(topo, cluster_name, gateways), topo.work_dir, topo)
        self.sockets = {}  # registry namespace -> management socket
        self.clients = []

    # ---------- registries ----------
    def start_registry(self, reg):
        peers = [r.address for r in self.topo.registries if r is not reg]
        self.sockets[reg.namespace] = start_auto_registry(self.topo, reg, store_args(self.topo, "sqlite",
                                                                                     f"reg{reg.index}"), peers)

    def registry_role(self, reg):
        if reg.namespace not in self.topo.procs:
            return "down"
        try:
            return ctl(self.sockets[reg.namespace], "pool")["role"]
        except (OSError, TopologyError, ValueError):
            return "unanswered"

    def registry_pool(self, reg):
        return ctl(self.sockets[reg.namespace], "pool")

    def live_registries(self):
        return [r for r in self.topo.registries if r.namespace in self.topo.procs]

    # ---------- back ends ----------
    def start_backend(self, backend):
        start_agent(self.topo, backend, SERVICE, AGENT_INTERVAL_MS, AGENT_FAILURES, 10000)

    def live_backends(self):
        return [b for b in self.topo.backends() if b.namespace in self.topo.procs]

    def crash_backend(self, backend):
        """The machine dies: agent and nginx killed, link down."""
        self.topo.crash(backend)
        self.topo.kill_http(backend)

    def revive_backend(self, backend):
        self.topo.revive(backend)
        self.topo.route_back(backend)
        self.topo.restart_http(backend)
        self.start_backend(backend)

    # ---------- gateways ----------
    def start_gateway(self, node):
        self.cluster.start(node)

    def gateway_pid(self, node):
        proc = self.cluster.nodes[node].proc
        return proc.pid if proc.poll() is None else None

    # ---------- clients ----------
    def start_clients(self):
        for client in self.topo.clients():
            out = self.topo.work_dir / f"client{client.index}.jsonl"
            proc = self.topo.spawn(client, [sys.executable, str(CLIENT), "--vips", ",".join(EXTERNAL_VIPS),
                                            "--out", str(out)], log_path=self.topo.work_dir / f"client{client.index}.log")
            self.clients.append((client, proc, out))

    def stop_clients(self):
        for _, proc, _ in self.clients:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(15)

    # ---------- the whole system ----------
    def start(self):
        for reg in self.topo.registries:
            self.start_registry(reg)
        for backend in self.topo.backends():
            self.start_backend(backend)
        for node in self.gateway_ids:
            self.start_gateway(node)
        self.topo.enter_ctl()

    def daemons(self):
        """name -> pid of every running daemon of ours (for the fd and memory checks)."""
        found = {}
        for node in self.gateway_ids:
            if node in self.cluster.nodes and self.gateway_pid(node):
                found[f"ringgated-{node}"] = self.gateway_pid(node)
        for host in self.topo.registries + self.topo.backends():
            proc = self.topo.procs.get(host.namespace)
            if proc and proc.poll() is None:
                # A registry's descriptors differ by role (a primary holds the gateways'
                # subscriptions): each role is judged against itself.
                name = f"registry-{host.index}/{self.registry_role(host)}" if host.role == "reg" \
                    else f"buddy-{host.index}"
                found[name] = proc.pid
        return found

    def logs(self):
        """Paths of every log of the run (kept when a run fails)."""
        return sorted(Path(self.topo.work_dir).glob("*.log")) + sorted(Path(self.topo.work_dir).glob("*.jsonl"))


def resources(pid):
    """(open file descriptors, resident set in kB) of a process, None when it is gone."""
    try:
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return fds, int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None
