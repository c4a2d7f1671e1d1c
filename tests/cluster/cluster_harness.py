"""Runs ringgated clusters on loopback addresses inside a private network namespace.

Used by the membership integration test and the detection benchmark. Every daemon runs
in a namespace created here (with its own lo, so 127.0.0.x are private to it) and the
namespace is removed on exit, also on failure. Partitions are made with policy-routing
blackhole rules inside that namespace; nothing in the root namespace is touched.
"""
import json
import os
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

    def write_config(self, node_ids, name="cluster.yaml"):
        """loopback-5.yaml with this run's socket directory and the given node map."""
        with open(os.path.join(SOURCE, "config", "examples", "loopback-5.yaml")) as f:
            text = f.read()
        text = text.replace("/run/ringgate/loopback-{node}.sock", os.path.join(self.tmp, "n{node}.sock"))
        lines = [l for l in text.splitlines() if "addresses: { lo: 127.0.0." not in l]
        at = next(i for i, l in enumerate(lines) if l.strip() == "nodes:") + 1
        for offset, n in enumerate(node_ids):
            lines.insert(at + offset, "    - { id: %d, addresses: { lo: 127.0.0.%d } }" % (n, n))
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
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

    def partition(self, side_a, side_b, heal=False):
        verb = "del" if heal else "add"
        for a in side_a:
            for b in side_b:
                for src, dst in ((a, b), (b, a)):
                    self._nsip("rule", verb, "from", "127.0.0.%d" % src, "to", "127.0.0.%d" % dst,
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
