"""Shared pieces of the registry's integration tests and benchmark: a topology of back
ends and registries on one segment (built with tools/topology.py's primitives, so the
usual state file and stale-cleanup apply), the registry and agent processes, a throwaway
PostgreSQL cluster, and small clients for the registry's and agents' line protocols.

    [ switch namespace "int": bridge br0 ]  198.19.0.0/24, no route out
       ctl     198.19.0.254   the test itself runs here (setns) to talk to everyone
       reg N   198.19.0.(200+N)   ringgate-registry; service address 198.19.0.250
       backend i  198.19.0.(50+i) ringgate-buddy
"""
import ctypes
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from topology import INTERNAL_NET, Topology, TopologyError, cleanup_stale, sh, wait_until

BUILD = Path(os.environ.get("RINGGATE_BUILD", "build"))
SOURCE = Path(os.environ.get("RINGGATE_SOURCE", "."))
REGISTRY_BIN = BUILD / "control/registry/ringgate-registry"
BUDDY_BIN = BUILD / "control/registry/ringgate-buddy"
RINGGATECTL = BUILD / "tools/ringgatectl"
PG_CLUSTER = SOURCE / "tests/registry/pg_cluster.sh"
SERVICE = "198.19.0.250"
PORT = 7300
BUDDY_PORT = 7301
CLONE_NEWNET = 0x40000000
# The pool's key (control/registry/line_auth.h): registries and agents get it through
# --key-file; call() signs with it unless told otherwise.
KEY = "ringgate-test-pool-key-0123456789"


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(77)


def require_root():
    if os.geteuid() != 0:
        skip("needs root for network namespaces and ICMP")


class RingTopology(Topology):
    """ctl + registries + back ends on one bridged segment."""

    def __init__(self, name, backends, registries, owner_pid=None):
        super().__init__(name, owner_pid or os.getpid(), 0, 0, 0, "none", [])
        self.want_backends, self.want_registries = backends, registries
        self.procs = {}  # host namespace -> Popen of its ringgate process

    @classmethod
    def build(cls, name, backends, registries, **more):
        """`more`: what a subclass's constructor takes besides (tests/chaos/chaos_rig.py)."""
        cleanup_stale()
        topo = cls(name, backends, registries, **more)
        try:
            topo._build()
        except BaseException:
            topo.destroy()
            raise
        return topo

    def _build(self):
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.save()
        sw = self._add_switch("int")
        self.ctl = self._add_leaf("ctl", 1, sw, "c1", INTERNAL_NET[254], 0x13, 4)
        self.registries = [self._add_leaf("reg", r, sw, f"r{r}", INTERNAL_NET[200 + r], 0x13, 5)
                           for r in range(1, self.want_registries + 1)]
        self.ring = [self._add_leaf("backend", i, sw, f"b{i}", INTERNAL_NET[50 + i], 0x13, 3)
                     for i in range(1, self.want_backends + 1)]
        self.save()
        self.check_isolation()

    def enter_ctl(self):
        """Moves this thread (and threads and children it creates) into the ctl namespace."""
        if getattr(self, "home_ns", None) is None:
            self.home_ns = os.open("/proc/self/ns/net", os.O_RDONLY)
        self._setns(f"/run/netns/{self.ctl.namespace}")

    def _setns(self, path_or_fd):
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(path_or_fd, os.O_RDONLY) if isinstance(path_or_fd, str) else path_or_fd
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise TopologyError(f"setns {path_or_fd}: errno {ctypes.get_errno()}")
        finally:
            if isinstance(path_or_fd, str):
                os.close(fd)

    def destroy(self):
        # Back home first: teardown kills every process inside the namespaces, us included.
        if getattr(self, "home_ns", None) is not None:
            self._setns(self.home_ns)
            os.close(self.home_ns)
            self.home_ns = None
        super().destroy()

    def key_file(self):
        path = self.work_dir / "pool.key"
        if not path.exists():
            path.write_text(KEY + "\n")
            path.chmod(0o600)
        return path

    def log(self, host):
        return self.work_dir / f"{host.namespace}.log"

    def start(self, host, cmd):
        proc = self.spawn(host, [str(c) for c in cmd], log_path=self.log(host))
        self.procs[host.namespace] = proc
        return proc

    def crash(self, host):
        """The host dies: its process is killed and its link goes down (no more ICMP)."""
        proc = self.procs.pop(host.namespace, None)
        if proc:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        sh("ip", "-n", host.namespace, "link", "set", "eth0", "down")

    def revive(self, host):
        """The host boots again: without the service address it may have held (a reboot
        does not keep addresses added at run time), link up."""
        sh("ip", "-n", host.namespace, "addr", "del", f"{SERVICE}/32", "dev", "eth0", check=False)
        sh("ip", "-n", host.namespace, "link", "set", "eth0", "up")

    def stop(self, host, timeout=10):
        """A normal shutdown (SIGTERM); returns the exit status."""
        proc = self.procs.pop(host.namespace)
        os.killpg(proc.pid, signal.SIGTERM)
        return proc.wait(timeout=timeout)

    def tail(self, host, lines=15):
        path = self.log(host)
        return "\n".join(path.read_text().splitlines()[-lines:]) if path.exists() else ""


class Postgres:
    """A throwaway PostgreSQL cluster (tests/registry/pg_cluster.sh) with one database per registry."""

    def __init__(self, directory):
        self.directory = Path(directory)
        result = subprocess.run([str(PG_CLUSTER), "start", str(self.directory)], capture_output=True, text=True)
        if result.returncode == 77:
            skip("PostgreSQL 15 server binaries are not installed")
        if result.returncode != 0:
            raise TopologyError(f"pg_cluster start: {result.stderr.strip()}")
        self.base = result.stdout.strip()

    def database(self, name):
        sh("psql", self.base, "-qc", f"CREATE DATABASE {name}")
        return self.base.replace("dbname=postgres", f"dbname={name}")

    def stop(self):
        subprocess.run([str(PG_CLUSTER), "stop", str(self.directory)], capture_output=True)


def run_on_store(prefix, run, backends, registries, log_hosts, log_lines=15):
    """Builds a RingTopology and runs `run(topo, store, postgres)` on the store that
    RINGGATE_TEST_STORE names (sqlite, the default, or postgresql: a throwaway cluster in
    /tmp); on failure prints the log tails of `log_hosts(topo)` before re-raising."""
    store = os.environ.get("RINGGATE_TEST_STORE", "sqlite")
    name = f"{prefix}{os.getpid() % 100000}{store[0]}"
    postgres = None
    topo = RingTopology.build(name, backends=backends, registries=registries)
    with topo:
        try:
            if store == "postgresql":
                postgres = Postgres(tempfile.mkdtemp(prefix="ringgate-pg-", dir="/tmp"))
            run(topo, store, postgres)
        except BaseException:
            for host in log_hosts(topo):
                print(f"--- {host.namespace} log tail:\n{topo.tail(host, log_lines)}", file=sys.stderr)
            raise
        finally:
            if postgres:
                postgres.stop()


def store_args(topo, store, name, postgres=None):
    if store == "postgresql":
        return ["--store", "postgresql", "--postgres", postgres.database(name)]
    return ["--store", "sqlite", "--sqlite-path", topo.work_dir / f"{name}.db"]


def sign_request(line, key=KEY, sent_ms=None, nonce=None):
    """'<line> @<unix-ms>.<nonce> <tag>' as line_auth.h defines it; returns (signed, nonce)."""
    sent_ms = int(time.time() * 1000) if sent_ms is None else sent_ms
    nonce = int.from_bytes(os.urandom(8), "big") if nonce is None else nonce
    signed = f"{line} @{sent_ms}.{nonce:016x}"
    return signed + " " + hmac.new(key.encode(), b"rq " + signed.encode(), hashlib.sha256).hexdigest(), nonce


def verify_reply(line, nonce, seq=0, key=KEY):
    """The body of a signed reply; an unsigned ERR (the refusal of an unsigned request) as is."""
    signed, _, tag = line.rpartition(" ")
    body, _, stamp = signed.rpartition(" @")
    expected = hmac.new(key.encode(), b"rp " + signed.encode(), hashlib.sha256).hexdigest()
    if not stamp or not hmac.compare_digest(tag, expected):
        if line.startswith("ERR"):
            return line
        raise TopologyError(f"unsigned or forged reply {line[:80]!r}")
    if stamp != f"{nonce:016x}.{seq}":
        raise TopologyError(f"reply to another request: {stamp}")
    return body


def start_standalone(topo, store, postgres, *extra):
    """Starts the one standalone registry of a ring test (signed, back ends in
    198.19.0.0/24), enters ctl, waits until it serves; returns (service, management)."""
    reg = topo.registries[0]
    management = topo.work_dir / "reg1.sock"
    topo.start(reg, [REGISTRY_BIN, "--service", f"{reg.address}:{PORT}", "--role", "standalone", "--name", "reg1",
                     "--key-file", topo.key_file(), "--backend-prefixes", "198.19.0.0/24", *extra,
                     "--management", management, *store_args(topo, store, "reg1", postgres)])
    topo.enter_ctl()
    wait_for(lambda: None if call(reg.address, "ROLE").startswith("OK standalone") else "not serving", 10,
             "the registry")
    return reg.address, management


def start_auto_registry(topo, host, store_arguments, peers=()):
    """Starts a registry with --role auto on `host` (seed 003: it takes the free service
    address as primary, or follows as monitor), checking every 200 ms, its management
    socket in the run's folder; returns that socket's path."""
    management = topo.work_dir / f"{host.namespace}.sock"
    topo.start(host, [REGISTRY_BIN, "--service", f"{SERVICE}:{PORT}", "--role", "auto", "--interface", "eth0",
                      "--key-file", topo.key_file(), *(["--peers", ",".join(peers)] if peers else []),
                      "--name", f"reg{host.index}", "--management", management,
                      "--check-interval-ms", 200, "--check-failures", 3, *store_arguments])
    return management


def start_agent(topo, host, service, interval_ms, failures, reconcile_ms):
    topo.start(host, [BUDDY_BIN, "--self", host.address, "--registry", f"{service}:{PORT}",
                      "--key-file", topo.key_file(), "--interval-ms", interval_ms, "--failures", failures,
                      "--reconcile-ms", reconcile_ms])


def call(address, line, port=PORT, timeout=2.0, key=KEY):
    """One request line (signed with `key`, None: unsigned), one reply line without its
    signature; raises OSError when there is no answer."""
    nonce = None
    if key is not None:
        line, nonce = sign_request(line, key)
    with socket.create_connection((address, port), timeout=timeout) as s:
        s.sendall(line.encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
        reply = data.decode().strip()
        return verify_reply(reply, nonce, key=key) if key is not None and reply else reply


def ctl(socket_path, *command):
    result = subprocess.run([str(RINGGATECTL), "--socket", str(socket_path), *command, "--json"],
                            capture_output=True, text=True, timeout=10)
    if result.returncode != 0:
        raise TopologyError(f"ringgatectl {' '.join(command)}: {result.stderr.strip()}")
    return json.loads(result.stdout)


def agent_status(address):
    """(buddy A, buddy B, refused) as the agent itself reports them."""
    words = call(address, "STATUS", port=BUDDY_PORT, timeout=1.0).split()
    if len(words) != 6 or words[0] != "OK":
        raise TopologyError(f"agent {address}: bad STATUS reply {' '.join(words)}")
    return words[2], words[3], int(words[5])


def ring_problem(pool, live_agents):
    """None when the registry's table is one ring of exactly live_agents and every
    agent's buddy list equals its table entry; otherwise what is wrong."""
    if not pool["one_ring"]:
        return f"table is not one ring: {pool.get('problem')}"
    servers = {e["server"] for e in pool["ring"]}
    if servers != set(live_agents):
        return f"table has {sorted(servers - set(live_agents))} extra, {sorted(set(live_agents) - servers)} missing"
    for entry in pool["ring"]:
        try:
            a, b, _ = agent_status(entry["server"])
        except OSError as error:
            return f"agent {entry['server']} does not answer STATUS: {error}"
        if {a, b} != {entry["buddy_a"], entry["buddy_b"]}:
            return (f"agent {entry['server']} lists {a},{b} but the table says "
                    f"{entry['buddy_a']},{entry['buddy_b']}")
    return None


def wait_for(predicate, timeout, what):
    """Polls predicate (returning None when satisfied, else a reason) until a deadline."""
    deadline = time.monotonic() + timeout
    reason = None
    while time.monotonic() < deadline:
        try:
            reason = predicate()
        except (OSError, TopologyError, ValueError) as error:
            reason = str(error)
        if reason is None:
            return
        time.sleep(0.1)
    raise TopologyError(f"timed out after {timeout}s waiting for {what}: {reason}")
