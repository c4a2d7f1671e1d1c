"""Runs ringgated clusters on loopback addresses inside a private network namespace.

Used by the membership integration test and the detection benchmark. Every daemon runs
in a namespace created here (with its own lo, so 127.0.0.x are private to it) and the
namespace is removed on exit, also on failure. Partitions are made with policy-routing
blackhole rules inside that namespace; nothing in the root namespace is touched.
"""
import json
import os
import re
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BUILD = os.environ.get("RINGGATE_BUILD", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
SOURCE = os.environ.get("RINGGATE_SOURCE", os.path.join(os.path.dirname(__file__), "..", ".."))
RINGGATED = os.path.join(BUILD, "control", "ringgated")
RINGGATECTL = os.path.join(BUILD, "tools", "ringgatectl")


class Skip(Exception):
    pass


def require_root():
    if os.geteuid() != 0:
        raise Skip("needs root to create a network namespace")
    if shutil.which("ip") is None:
        raise Skip("needs iproute2 (ip)")


class Cluster:
    def __init__(self, nodes=5, extra_nodes=(), log_spec="info"):
        require_root()
        self.ns = "rgcl-%d-%04x" % (os.getpid(), random.randrange(1 << 16))
        self.tmp = tempfile.mkdtemp(prefix="rgcl-")
        self.procs = {}
        self.log_spec = log_spec
        self._ip("netns", "add", self.ns)
        try:
            self._nsip("link", "set", "lo", "up")
            # Rules above the local table can then blackhole loopback pairs (partitions).
            self._nsip("rule", "add", "pref", "100", "lookup", "local")
            self._nsip("rule", "del", "pref", "0")
        except Exception:
            self.close()
            raise
        self.config = self.write_config(list(range(1, nodes + 1)) + list(extra_nodes))

    def write_config(self, node_ids, name="cluster.yaml", shared_key=None):
        """loopback-5.yaml with this run's socket directory and the given node map; its
        shared key, another one (shared_key="..."), or none (shared_key="")."""
        with open(os.path.join(SOURCE, "config", "examples", "loopback-5.yaml")) as f:
            text = f.read()
        text = text.replace("/run/ringgate/loopback-{node}.sock", os.path.join(self.tmp, "n{node}.sock"))
        if shared_key is not None:
            text = re.sub(r'(?m)^  shared_key: .*\n', '  shared_key: "%s"\n' % shared_key if shared_key else "", text)
        lines = [l for l in text.splitlines() if "addresses: { lo: 127.0.0." not in l]
        at = next(i for i, l in enumerate(lines) if l.strip() == "nodes:") + 1
        for offset, n in enumerate(node_ids):
            lines.insert(at + offset, "    - { id: %d, addresses: { lo: 127.0.0.%d } }" % (n, n))
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def write_two_subnet_config(self, node_ids, name="two-subnets.yaml"):
        """Every node on two subnets, 127.0.1.0/24 (path 0) and 127.0.2.0/24 (path 1)."""
        nodes = "\n".join("    - { id: %d, addresses: { a: 127.0.1.%d, b: 127.0.2.%d } }" % (n, n, n)
                          for n in node_ids)
        text = ("cluster:\n  name: two-subnets\n  config_version: 1\n  port: 7100\n  nodes:\n%s\n"
                "subnets:\n  - name: a\n    prefix: 127.0.1.0/24\n  - name: b\n    prefix: 127.0.2.0/24\n"
                "management:\n  socket: %s\n"
                "dataplane:\n  enabled: false\n") % (nodes, os.path.join(self.tmp, "n{node}.sock"))
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def _ip(self, *args):
        subprocess.run(["ip"] + list(args), check=True, capture_output=True)

    def _nsip(self, *args):
        self._ip("-n", self.ns, *args)

    def socket_path(self, node):
        return os.path.join(self.tmp, "n%d.sock" % node)

    def start(self, node, config=None):
        log = open(os.path.join(self.tmp, "node%d.log" % node), "ab")
        try:
            os.unlink(self.socket_path(node))
        except FileNotFoundError:
            pass
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, RINGGATED, "--config", config or self.config,
             "--node", str(node), "--log", self.log_spec],
            stdout=log, stderr=log)
        self.procs[node] = proc
        return proc

    def signal(self, node, sig):
        os.kill(self.procs[node].pid, sig)

    def kill(self, node):
        self.signal(node, signal.SIGKILL)
        self.procs[node].wait()
        del self.procs[node]

    def stop(self, node, timeout=5.0):
        """SIGTERM: returns (exit status, seconds it took to leave)."""
        t0 = time.monotonic()
        self.signal(node, signal.SIGTERM)
        status = self.procs[node].wait(timeout=timeout)
        del self.procs[node]
        return status, time.monotonic() - t0

    def request(self, node, command, timeout=0.5):
        """Asks a node's management socket; returns the JSON reply or None."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(self.socket_path(node))
            s.sendall(("json %s\n" % command).encode())
            chunks = []
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except OSError:
            return None
        finally:
            s.close()
        text = b"".join(chunks).decode()
        status, _, body = text.partition("\n")
        if status != "ok":
            return None
        return json.loads(body)

    def members(self, node):
        reply = self.request(node, "members")
        if reply is None or reply.get("phase") != "member":
            return None
        return [m["id"] for m in reply["members"]]

    def agree(self, nodes, expected):
        """True when every node in `nodes` sees exactly `expected`, all in one ring."""
        rings = set()
        for n in nodes:
            reply = self.request(n, "members")
            if reply is None or reply.get("phase") != "member":
                return False
            if sorted(m["id"] for m in reply["members"]) != sorted(expected):
                return False
            rings.add(reply["ring_id"])
        return len(rings) == 1

    def views(self, nodes):
        return {n: self.members(n) for n in nodes}

    def wait_for(self, what, predicate, timeout, interval=0.005):
        deadline = time.monotonic() + timeout
        t0 = time.monotonic()
        while time.monotonic() < deadline:
            if predicate():
                return time.monotonic() - t0
            time.sleep(interval)
        raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))

    def send_udp(self, address, port, datagrams):
        """Sends raw datagrams from inside the namespace (hostile-input tests)."""
        script = ("import socket,sys,binascii\n"
                  "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                  "for line in sys.stdin.read().split():\n"
                  "    s.sendto(binascii.unhexlify(line),(%r,%d))\n" % (address, port))
        data = "\n".join(d.hex() if d else "" for d in datagrams if d)
        subprocess.run(["ip", "netns", "exec", self.ns, "python3", "-c", script], input=data.encode(),
                       check=True, capture_output=True)

    def send_as(self, source, sport, address, port, datagrams):
        """Sends raw UDP datagrams with a forged source address and port (a raw IPv4
        socket inside the namespace): what an attacker on the segment can do."""
        script = ("import socket,struct,sys,binascii\n"
                  "s=socket.socket(socket.AF_INET,socket.SOCK_RAW,socket.IPPROTO_RAW)\n"
                  "src,dst=socket.inet_aton(%r),socket.inet_aton(%r)\n"
                  "for line in sys.stdin.read().split():\n"
                  "    p=binascii.unhexlify(line)\n"
                  "    udp=struct.pack('!HHHH',%d,%d,8+len(p),0)+p\n"
                  "    ip=struct.pack('!BBHHHBBH4s4s',0x45,0,20+len(udp),0,0,64,17,0,src,dst)\n"
                  "    s.sendto(ip+udp,(%r,0))\n" % (source, address, sport, port, address))
        data = "\n".join(d.hex() for d in datagrams if d)
        subprocess.run(["ip", "netns", "exec", self.ns, "python3", "-c", script], input=data.encode(),
                       check=True, capture_output=True)

    def capture(self, address, port, count, timeout=5.0):
        """The next `count` UDP payloads sent to address:port on lo, with their source
        (address, port): sniffed by a packet socket inside the namespace."""
        script = ("import socket,struct,sys,time\n"
                  "s=socket.socket(socket.AF_PACKET,socket.SOCK_DGRAM,socket.htons(0x0800))\n"
                  "s.settimeout(%f)\n"
                  "dst=socket.inet_aton(%r)\n"
                  "n=0\n"
                  "while n<%d:\n"
                  "    f,a=s.recvfrom(65536)\n"
                  "    if a[0]!='lo' or f[9]!=17 or f[16:20]!=dst: continue\n"
                  "    h=(f[0]&15)*4\n"
                  "    sp,dp=struct.unpack('!HH',f[h:h+4])\n"
                  "    if dp!=%d: continue\n"
                  "    print(socket.inet_ntoa(f[12:16]),sp,f[h+8:].hex(),flush=True)\n"
                  "    n+=1\n" % (timeout, address, count, port))
        out = subprocess.run(["ip", "netns", "exec", self.ns, "python3", "-c", script], check=True,
                             capture_output=True, text=True, timeout=timeout + 5).stdout
        result = []
        for line in out.split("\n"):
            if line.strip():
                src, sport, payload = line.split()
                result.append((src, int(sport), bytes.fromhex(payload)))
        return result

    def partition(self, side_a, side_b, heal=False, net="127.0.0"):
        """Blackholes traffic between the two sides on one subnet (or removes that)."""
        verb = "del" if heal else "add"
        for a in side_a:
            for b in side_b:
                for src, dst in ((a, b), (b, a)):
                    self._nsip("rule", verb, "from", "%s.%d" % (net, src), "to", "%s.%d" % (net, dst),
                               "blackhole", "pref", "10")

    def logs(self):
        out = []
        for name in sorted(os.listdir(self.tmp)):
            if name.endswith(".log"):
                with open(os.path.join(self.tmp, name), errors="replace") as f:
                    out.append("--- %s (last lines)\n%s" % (name, "".join(f.readlines()[-15:])))
        return "\n".join(out)

    def close(self):
        for node, proc in list(self.procs.items()):
            try:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
                proc.wait(timeout=5)
            except Exception:
                pass
        self.procs.clear()
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
