"""Live traffic through a test cluster, shared by the demo, the tests and the benchmarks:
a sequenced UDP probe stream (tools/udp_probe) from a client to a VIP and back from a
back end, the kernel forwarding that carries it while the fast path is off, and
long-lived HTTP keep-alive connections."""
import json
import re
import signal
import subprocess
import sys
import threading

from cluster_harness import BUILD

UDP_PROBE = BUILD / "tools" / "udp_probe"
EXTERNAL_VIP = "198.18.0.100"
PORT = 9000


def start_echo(topo, backend):
    """udp_probe echo on a back end, at PORT."""
    return topo.spawn(backend, [str(UDP_PROBE), "echo", "--listen", f"{backend.address}:{PORT}"])


def kernel_forwarding(topo, vip=EXTERNAL_VIP):
    """The same forwarding for both modes: each gateway's kernel forwards VIP:PORT to the
    back end with DNAT and masquerades the source to its own internal address, so replies
    return through whichever gateway holds the flow (no internal VIP needed)."""
    backend = topo.backends()[0].address
    for gw in topo.gateways():
        for setting in ("net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
                        "net.ipv4.conf.default.rp_filter=0"):
            topo.run(gw, "sysctl", "-qw", setting)
        rules = topo.work_dir / f"nft-{gw.index}.conf"
        rules.write_text(f"""table ip bench {{
  chain prerouting {{
    type nat hook prerouting priority -100;
    ip daddr {vip} udp dport {PORT} dnat to {backend}:{PORT}
  }}
  chain postrouting {{
    type nat hook postrouting priority 100;
    oifname "int0" masquerade
  }}
}}
""")
        topo.run(gw, "nft", "-f", str(rules))


def links(topo, node, state):
    for link in ("ext0", "int0"):
        topo.run(topo.gateway(node), "ip", "link", "set", link, state)


def vip_holder(topo, vip=EXTERNAL_VIP, exclude=None):
    for gw in topo.gateways():
        if gw.index == exclude:
            continue  # a dead node's kernel still lists the address on its downed link
        out = topo.run(gw, "ip", "-4", "-o", "addr", "show", "dev", "ext0", check=False).stdout
        if f"{vip}/" in out:
            return gw.index
    return None


class ProbeStream:
    """udp_probe stream in the client namespace; collects outage lines as they come."""

    def __init__(self, topo, rate, vip=EXTERNAL_VIP):
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", topo.clients()[0].namespace, str(UDP_PROBE), "stream",
             "--to", f"{vip}:{PORT}", "--rate", str(rate)],
            stdout=subprocess.PIPE, text=True)
        self.gaps = []
        self.summary = None
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            m = re.match(r"gap (\S+) lost", line)
            if m:
                with self.lock:
                    self.gaps.append(float(m[1]))
            elif line.startswith("{"):
                self.summary = json.loads(line)

    def gap_count(self):
        with self.lock:
            return len(self.gaps)

    def outages_since(self, count):
        with self.lock:
            return list(self.gaps[count:])

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(10)
        self.reader.join(5)


# Runs inside the client namespace: keep-alive connections driven by commands on stdin.
# "open VIP N" opens N connections and asks each for /id; "again" asks on the same ones.
# Answers are JSON lists of back-end names; a connection that broke answers "broken: ...".
_KEEPALIVE = r"""
import http.client, json, sys
conns = []
def ask(c):
    try:
        c.request("GET", "/id")
        return c.getresponse().read().decode().strip()
    except Exception as error:
        return "broken: " + type(error).__name__ + " " + str(error)
for line in sys.stdin:
    words = line.split()
    if words[0] == "open":
        conns = [http.client.HTTPConnection(words[1], 80, timeout=5) for _ in range(int(words[2]))]
        print(json.dumps([ask(c) for c in conns]), flush=True)
    elif words[0] == "again":
        print(json.dumps([ask(c) for c in conns]), flush=True)
"""


class KeepAliveClients:
    """HTTP/1.1 keep-alive connections from a client to a VIP that stay open between
    questions: which back end each reached, and whether it still answers later."""

    def __init__(self, client, vip, count):
        self.proc = subprocess.Popen(["ip", "netns", "exec", client.namespace, sys.executable, "-c", _KEEPALIVE],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.first = self._ask(f"open {vip} {count}")

    def _ask(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def again(self):
        return self._ask("again")

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
