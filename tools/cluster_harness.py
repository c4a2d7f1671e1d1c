"""Runs ringgated nodes for tests, the demo and benchmarks: one per gateway namespace of a
tools/topology.py topology (or on loopback), each from a private copy of a configuration
whose management sockets live in the run's own directory, so two runs never collide.
"""
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from topology import TopologyError, wait_until

SOURCE = Path(os.environ.get("RINGGATE_SOURCE", Path(__file__).resolve().parent.parent))
BUILD = Path(os.environ.get("RINGGATE_BUILD", SOURCE / "build"))
RINGGATED = BUILD / "control" / "ringgated"
RINGGATECTL = BUILD / "tools" / "ringgatectl"


def private_config(example, work_dir, replacements=()):
    """Copies a configuration with management.socket moved into work_dir.

    `replacements` are (regex, text) pairs applied to the YAML text, for tests that need
    a variant (shorter timers, another node map) without a second example file."""
    text = Path(example).read_text()
    socket = f"{work_dir}/ringgated-{{node}}.sock"
    if re.search(r"^management:", text, re.M):
        text, count = re.subn(r"(?m)^(\s+socket:\s*).*$", rf"\g<1>{socket}", text)
        if count != 1:
            raise TopologyError(f"{example}: expected one management.socket line")
    else:
        text += f"\nmanagement:\n  socket: {socket}\n"
    if re.search(r"(?m)^\s+listen:", text):
        cert, key = make_tls(work_dir, re.findall(r"\b(?:\d{1,3}\.){3}\d{1,3}\b", text))
        text = re.sub(r"(?m)^(\s+certificate:\s*).*$", rf"\g<1>{cert}", text)
        text = re.sub(r"(?m)^(\s+private_key:\s*).*$", rf"\g<1>{key}", text)
    for pattern, replacement in replacements:
        text = re.sub(pattern, replacement, text, flags=re.M)
    path = Path(work_dir) / Path(example).name
    path.write_text(text)
    return path


def gateway_cluster(name, gateways=2):
    """The `cluster` section of a configuration for a topology.py topology of `gateways`
    gateways (gateway N is 198.18.0.N outside, 198.19.0.N inside), with a key of its own;
    tests append their subnets and the rest."""
    nodes = "".join(f"    - {{ id: {n}, addresses: {{ external: 198.18.0.{n}, internal: 198.19.0.{n} }} }}\n"
                    for n in range(1, gateways + 1))
    key = (name * 4 + "-ringgate-test-key")[-40:]
    return f"cluster:\n  name: {name}\n  config_version: 1\n  shared_key: \"{key}\"\n  nodes:\n{nodes}"


def make_tls(work_dir, addresses, name="management"):
    """A self-signed ECDSA certificate (and key) for remote management, valid for
    `addresses` (IPv4, e.g. every gateway's) and 127.0.0.1: what an operator's CA would sign."""
    cert, key = Path(work_dir) / f"{name}-cert.pem", Path(work_dir) / f"{name}-key.pem"
    names = ",".join(f"IP:{a}" for a in dict.fromkeys(["127.0.0.1", *addresses]))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "30", "-subj", f"/CN=ringgate {name}", "-addext", f"subjectAltName={names}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=30)
    return cert, key


class Node:
    def __init__(self, node_id, proc, log_path):
        self.id, self.proc, self.log_path = node_id, proc, log_path

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Cluster:
    """ringgated processes of one configuration. Stops every node on exit."""

    def __init__(self, config_path, work_dir, topology=None):
        self.config_path = Path(config_path)
        self.work_dir = Path(work_dir)
        self.topology = topology
        self.nodes = {}

    def start(self, node_id, extra_args=(), wait=True, config_path=None):
        """`config_path`: this node's own file (tests of configuration sharing, where each
        node rewrites its file); by default the cluster's one file."""
        log_path = self.work_dir / f"ringgated-{node_id}.log"
        config = config_path or self.config_path
        cmd = [str(RINGGATED), "--config", str(config), "--node", str(node_id), *extra_args]
        if self.topology:
            proc = self.topology.spawn(self.topology.gateway(node_id), cmd, log_path=log_path)
        else:
            proc = subprocess.Popen(cmd, stdout=open(log_path, "ab"), stderr=subprocess.STDOUT,
                                    start_new_session=True)
        node = Node(node_id, proc, log_path)
        self.nodes[node_id] = node
        if wait:
            wait_until(lambda: self._answers(node), timeout=20, what=f"ringgated node {node_id}")
        return node

    def _answers(self, node):
        if node.proc.poll() is not None:
            raise TopologyError(f"ringgated node {node.id} exited with {node.proc.returncode}:\n"
                                f"{node.log()}")
        return self.ctl(node.id, "status", check=False).returncode == 0

    def ctl(self, node_id, *command, json_output=False, check=True, timeout=10):
        cmd = [str(RINGGATECTL), "--config", str(self.config_path), "--node", str(node_id),
               *command]
        if json_output:
            cmd.append("--json")
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise TopologyError(f"ringgatectl {' '.join(command)} on node {node_id}: "
                                f"exit {result.returncode}: {(result.stderr or result.stdout).strip()}")
        return result

    def query(self, node_id, *command):
        """A management command's JSON answer."""
        return json.loads(self.ctl(node_id, *command, json_output=True).stdout)

    def signal(self, node_id, sig):
        # ip netns exec execs the daemon in place, so the pid is ringgated's own.
        os.kill(self.nodes[node_id].proc.pid, sig)

    def stop(self, node_id, timeout=10):
        node = self.nodes[node_id]
        if node.proc.poll() is None:
            node.proc.send_signal(signal.SIGTERM)
            try:
                node.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                node.proc.kill()
                node.proc.wait()
                raise TopologyError(f"node {node_id} ignored SIGTERM for {timeout}s")
        return node.proc.returncode

    def kill(self, node_id):
        node = self.nodes[node_id]
        node.proc.kill()
        node.proc.wait()

    def stop_all(self):
        for node_id, node in self.nodes.items():
            if node.proc.poll() is None:
                node.proc.kill()
                node.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop_all()
        return False


def require_root():
    """Integration tests build namespaces; without root this machine cannot (exit 77)."""
    if os.geteuid() != 0:
        print("SKIP: network namespaces need root")
        raise SystemExit(77)


def unique_name(prefix):
    return f"{prefix}{os.getpid()}"


def now_ms():
    return time.monotonic() * 1000


def prometheus_families(exposition):
    """Parses a /metrics text with the real parser (python3-prometheus-client, run by
    Debian's /usr/bin/python3): {family: {"type": T, "samples": [[name, labels, value]]}}."""
    result = subprocess.run(["/usr/bin/python3", str(Path(__file__).with_name("prometheus_parse.py"))],
                            input=exposition, capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise AssertionError(f"the Prometheus parser refused the exposition: {result.stderr}\n{exposition[:2000]}")
    return json.loads(result.stdout)
