"""The faults of the chaos soak: each kind draws its targets from the run's random
generator (so a seed replays the same schedule), applies itself and knows how to heal.

Kinds (--faults): gateway kill (kill -9, restarted at heal), stop (SIGSTOP, SIGCONT at
heal), isolate (both of a gateway's switch ports down), partition (a minority of the
gateways on a bridge of their own, on both segments), backend (a back end's machine
dies: agent and nginx killed, link down; it boots again at heal), registry (the
primary registry's machine dies; it boots again and must come back as monitor), link
(one segment's port of a gateway down), loss (random loss on every gateway port, both
directions), oneway (everything a gateway sends is lost; what it receives arrives).
"""
import signal

import netfault

# The kinds the system holds today: the short soak's default.
HELD_KINDS = ["backend", "registry"]
# Known not to hold yet, selectable with --faults (docs/CHAOS.md, "Defects found"): a
# gateway's death, stop, isolation or partition lets two gateways answer one VIP at once
# (no ownership lease yet: issue 16 item 2); loss and one-way loss (issue 16 items 2-3);
# one dead link (local monitors, issue 16 item 5). Each joins HELD_KINDS when its fix lands.
PENDING_KINDS = ["kill", "stop", "isolate", "partition", "link", "loss", "oneway"]
ALL_KINDS = HELD_KINDS + PENDING_KINDS
GATEWAY_KINDS = {"kill", "stop", "isolate", "partition", "link", "loss", "oneway"}


class Fault:
    """One applied fault: what it hit (for the log and the replay) and how to undo it."""

    def __init__(self, kind, targets, detail, heal):
        self.kind, self.targets, self.detail, self._heal = kind, targets, detail, heal

    def heal(self):
        self._heal()

    def describe(self):
        return f"{self.kind} {self.detail}"


def switch_ports(topo, nodes, segments=("ext", "int")):
    return [(topo.ns("sw", segment), f"g{n}") for segment in segments for n in nodes]


def draw(rng, kinds, rig, busy_gateways, busy_hosts):
    """Picks a kind the current state allows and its targets; returns a Fault already
    applied, or None when nothing more may fail now. At most a minority of the gateways
    is hit at once (a majority keeps the VIPs answered), at most one registry, and at
    least two back ends stay alive."""
    topo = rig.topo
    gateways = rig.gateway_ids
    minority = (len(gateways) - 1) // 2
    free = [n for n in gateways if n not in busy_gateways]
    options = []
    for kind in kinds:
        if kind in GATEWAY_KINDS and len(busy_gateways) < minority and free:
            if kind == "loss" and busy_gateways:
                continue  # loss hits every gateway: alone
            options.append(kind)
        elif kind == "backend" and len([b for b in rig.live_backends() if b.namespace not in busy_hosts]) > 2:
            options.append(kind)
        elif kind == "registry" and not any(r.namespace in busy_hosts for r in topo.registries):
            options.append(kind)
    if not options:
        return None
    kind = rng.choice(sorted(options))
    return APPLY[kind](rng, rig, free, minority - len(busy_gateways), busy_gateways, busy_hosts)


def _kill(rng, rig, free, room, busy_gateways, busy_hosts):
    node = rng.choice(free)
    rig.cluster.kill(node)
    busy_gateways.add(node)
    return Fault("kill", [node], f"gw{node}", lambda: rig.start_gateway(node))


def _stop(rng, rig, free, room, busy_gateways, busy_hosts):
    node = rng.choice(free)
    rig.cluster.signal(node, signal.SIGSTOP)
    busy_gateways.add(node)
    return Fault("stop", [node], f"gw{node}", lambda: rig.cluster.signal(node, signal.SIGCONT))


def _ports_down(kind, nodes, segments, rig, busy_gateways):
    ports = switch_ports(rig.topo, nodes, segments)
    for namespace, port in ports:
        netfault.link(namespace, port, up=False)
    busy_gateways.update(nodes)

    def heal():
        for namespace, port in ports:
            netfault.link(namespace, port, up=True)
    return Fault(kind, nodes, " ".join(f"gw{n}" for n in nodes) + ("" if len(segments) == 2 else f" {segments[0]}"),
                 heal)


def _isolate(rng, rig, free, room, busy_gateways, busy_hosts):
    return _ports_down("isolate", [rng.choice(free)], ("ext", "int"), rig, busy_gateways)


def _link(rng, rig, free, room, busy_gateways, busy_hosts):
    return _ports_down("link", [rng.choice(free)], (rng.choice(["ext", "int"]),), rig, busy_gateways)


def _partition(rng, rig, free, room, busy_gateways, busy_hosts):
    nodes = sorted(rng.sample(free, rng.randint(1, min(room, len(free)))))
    for segment in ("ext", "int"):
        netfault.partition(rig.topo.ns("sw", segment), [f"g{n}" for n in nodes])
    busy_gateways.update(nodes)

    def heal():
        for segment in ("ext", "int"):
            netfault.heal(rig.topo.ns("sw", segment), [f"g{n}" for n in nodes])
    return Fault("partition", nodes, "{" + ",".join(f"gw{n}" for n in nodes) + "} apart", heal)


def _loss_on(kind, points, fraction, detail, nodes, busy_gateways):
    drops = [netfault.Loss(namespace, port, hook, fraction) for namespace, port, hook in points]
    busy_gateways.update(nodes)

    def heal():
        for drop in drops:
            drop.remove()
    return Fault(kind, nodes, detail, heal)


def _loss(rng, rig, free, room, busy_gateways, busy_hosts):
    fraction = rng.choice([0.05, 0.1, 0.2])
    points = [(ns, port, hook) for ns, port in switch_ports(rig.topo, rig.gateway_ids) for hook in ("ingress", "egress")]
    # Every gateway's links are lossy, but none is down: it counts as hitting one gateway.
    return _loss_on("loss", points, fraction, f"{fraction:.0%} on every gateway link", [free[0]], busy_gateways)


def _oneway(rng, rig, free, room, busy_gateways, busy_hosts):
    node = rng.choice(free)
    # The switch port's ingress is what the gateway sends.
    points = [(ns, port, "ingress") for ns, port in switch_ports(rig.topo, [node])]
    return _loss_on("oneway", points, 1.0, f"gw{node} sends into the void", [node], busy_gateways)


def _backend(rng, rig, free, room, busy_gateways, busy_hosts):
    backend = rng.choice([b for b in rig.live_backends() if b.namespace not in busy_hosts])
    rig.crash_backend(backend)
    busy_hosts.add(backend.namespace)
    return Fault("backend", [backend.address], f"backend{backend.index} ({backend.address})",
                 lambda: rig.revive_backend(backend))


def _registry(rng, rig, free, room, busy_gateways, busy_hosts):
    primaries = [r for r in rig.live_registries() if rig.registry_role(r) == "primary"]
    reg = primaries[0] if primaries else rng.choice(rig.live_registries())
    rig.topo.crash(reg)
    busy_hosts.add(reg.namespace)

    def heal():
        rig.topo.revive(reg)
        rig.start_registry(reg)
    return Fault("registry", [reg.address], f"reg{reg.index} (was {'primary' if primaries else 'no primary'})", heal)


APPLY = {"kill": _kill, "stop": _stop, "isolate": _isolate, "partition": _partition, "link": _link,
         "loss": _loss, "oneway": _oneway, "backend": _backend, "registry": _registry}
