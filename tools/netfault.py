"""Network faults inside a test's own namespaces, for tests and soaks: random or total
packet loss on one direction of a veth (bpf/loss_drop.bpf.c on a clsact hook, since
this kernel has no netem), links down and up, and partitions of a tools/topology.py
switch (ports moved to a second bridge, so each side still talks within itself).

Nothing here touches the root namespace: tc and ip run with `ip netns exec` / `ip -n`,
and bpftool only reads and writes the maps of programs this module attached."""
import json
import os
import struct
from pathlib import Path

from topology import TopologyError, sh

BUILD = Path(os.environ.get("RINGGATE_BUILD", Path(__file__).resolve().parent.parent / "build"))
LOSS_OBJECT = BUILD / "bpf" / "loss_drop.bpf.o"
# bpf/loss_drop.h: u32 drop_per_million, u32 pad, u64 dropped, u64 passed
STATE = struct.Struct("<IIQQ")


def loss_available():
    """None when loss can be injected here, else why not."""
    if not LOSS_OBJECT.exists():
        return f"{LOSS_OBJECT} is not built (needs -Dbpf: clang, bpftool, libbpf)"
    return None


class Loss:
    """Drops a fraction of the packets crossing one hook ('ingress' or 'egress') of one
    interface in one namespace. A veth's ingress is what its peer sent; its egress is
    what goes to the peer."""

    def __init__(self, namespace, dev, hook, fraction):
        if hook not in ("ingress", "egress"):
            raise TopologyError(f"hook must be ingress or egress, not {hook}")
        self.namespace, self.dev, self.hook = namespace, dev, hook
        sh("ip", "netns", "exec", namespace, "tc", "qdisc", "replace", "dev", dev, "clsact")
        sh("ip", "netns", "exec", namespace, "tc", "filter", "add", "dev", dev, hook, "pref", "7", "bpf",
           "direct-action", "object-file", str(LOSS_OBJECT), "section", "tc")
        self.map_id = self._map_id()
        self.set(fraction)

    def _map_id(self):
        filters = json.loads(sh("ip", "netns", "exec", self.namespace, "tc", "-j", "filter", "show", "dev",
                                self.dev, self.hook).stdout or "[]")
        prog_ids = [f["options"]["prog"]["id"] for f in filters if "prog" in f.get("options", {})]
        if len(prog_ids) != 1:
            raise TopologyError(f"{self.namespace} {self.dev} {self.hook}: expected one loss program, {filters}")
        prog = json.loads(sh("bpftool", "-j", "prog", "show", "id", str(prog_ids[0])).stdout)
        if len(prog.get("map_ids", [])) != 1:
            raise TopologyError(f"loss program {prog_ids[0]} has maps {prog.get('map_ids')}")
        return prog["map_ids"][0]

    def _read(self):
        entry = json.loads(sh("bpftool", "-j", "map", "lookup", "id", str(self.map_id), "key", "0", "0", "0", "0").stdout)
        raw = bytes(int(b, 16) for b in entry["value"])
        return STATE.unpack(raw)

    def set(self, fraction):
        """Changes the drop probability (0..1); counters are kept."""
        if not 0 <= fraction <= 1:
            raise TopologyError(f"loss fraction {fraction} outside 0..1")
        _, _, dropped, passed = self._read()
        value = STATE.pack(round(fraction * 1_000_000), 0, dropped, passed)
        sh("bpftool", "map", "update", "id", str(self.map_id), "key", "0", "0", "0", "0",
           "value", *[str(b) for b in value])

    def counters(self):
        """(dropped, passed) since attached."""
        _, _, dropped, passed = self._read()
        return dropped, passed

    def remove(self):
        """Detaches the program; returns its last (dropped, passed)."""
        counts = self.counters()
        sh("ip", "netns", "exec", self.namespace, "tc", "filter", "del", "dev", self.dev, self.hook, "pref", "7",
           check=False)
        return counts


def link(namespace, dev, up):
    sh("ip", "-n", namespace, "link", "set", dev, "up" if up else "down")


def partition(switch_namespace, ports, side_bridge="br1"):
    """Moves `ports` of a topology switch onto a bridge of their own: they reach each
    other, and nothing on the main bridge br0. heal() moves them back."""
    if sh("ip", "-n", switch_namespace, "link", "show", side_bridge, check=False).returncode != 0:
        sh("ip", "-n", switch_namespace, "link", "add", side_bridge, "type", "bridge",
           "stp_state", "0", "forward_delay", "0", "mcast_snooping", "0")
        sh("ip", "-n", switch_namespace, "link", "set", side_bridge, "up")
    for port in ports:
        sh("ip", "-n", switch_namespace, "link", "set", port, "master", side_bridge)


def heal(switch_namespace, ports):
    for port in ports:
        sh("ip", "-n", switch_namespace, "link", "set", port, "master", "br0")
