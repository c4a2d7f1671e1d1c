#!/usr/bin/env python3
"""Named test topologies in network namespaces: the one piece of code that the tests,
the demo and the benchmarks use to build a ringgate network and tear it down.

    client namespaces --+                                  +-- back-end namespaces
                        |                                  |
           [ switch namespace "ext": bridge br0 ]   [ switch namespace "int": bridge br0 ]
                        |                                  |
                 ext0 --+-- gateway namespace N (gw1..) ---+-- int0

Addresses (all from 198.18.0.0/15, no route out of any namespace, no default routes):
    external segment 198.18.0.0/24   gateway N 198.18.0.N    client i 198.18.0.(200+i)
    internal segment 198.19.0.0/24   gateway N 198.19.0.N    back end i 198.19.0.(50+i)
    VIPs live at .100 and up on both segments (config/examples/demo-3.yaml).
Back ends reach the external segment through the internal VIP 198.19.0.100 (dnat mode).
MACs are fixed so captures read easily: 02:00:<segment>:00:<role>:<index>.

Nothing is created in the root namespace: every veth is created inside a namespace and
its peer moved straight into another. Namespaces are named rg-<topology>-<role><index>.
A state file /run/ringgate-topology/<topology>.json records what was built and which
process owns it; `cleanup-stale` removes topologies whose owner has died (a killed run),
and the Topology context manager removes its own on exit, exception or SIGTERM.

Command line:
    topology.py up NAME [--gateways N] [--clients N] [--backends N] [--http nginx|python]
                        [--files 1k,100k,1m] [--owner PID]
    topology.py down NAME
    topology.py show NAME [--json]
    topology.py cleanup-stale [--all]
"""
import argparse
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

STATE_DIR = Path("/run/ringgate-topology")
WORK_ROOT = Path("/tmp/ringgate-topology")
NS_PREFIX = "rg-"

EXTERNAL_NET = ipaddress.ip_network("198.18.0.0/24")
INTERNAL_NET = ipaddress.ip_network("198.19.0.0/24")
ALLOWED_NETS = [ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("127.0.0.0/8")]
INTERNAL_VIP = "198.19.0.100"
CLIENT_BASE = 200
BACKEND_BASE = 50
MAX_GATEWAYS = 16


class TopologyError(RuntimeError):
    pass


def sh(*args, check=True, capture=True, timeout=30):
    """Runs a command (no shell); raises TopologyError with its stderr on failure."""
    result = subprocess.run(list(args), capture_output=capture, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise TopologyError(f"{' '.join(args)}: {result.stderr.strip() or result.returncode}")
    return result


def parse_size(text):
    units = {"k": 1024, "m": 1024 * 1024, "g": 1024 * 1024 * 1024}
    text = text.strip().lower()
    if text and text[-1] in units:
        return int(text[:-1]) * units[text[-1]]
    return int(text)


def mac(segment, role, index):
    return f"02:00:{segment:02x}:00:{role:02x}:{index:02x}"


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


class Host:
    """One namespace of the topology with its addresses."""

    def __init__(self, role, index, namespace, addresses, macs):
        self.role, self.index, self.namespace = role, index, namespace
        self.addresses = addresses  # interface -> "a.b.c.d"
        self.macs = macs            # interface -> mac

    @property
    def address(self):
        return next(iter(self.addresses.values()))

    def to_json(self):
        return {"role": self.role, "index": self.index, "namespace": self.namespace,
                "addresses": self.addresses, "macs": self.macs}


class Topology:
    """A built topology. Create with Topology.create(...) and use as a context manager."""

    def __init__(self, name, owner_pid, gateways, clients, backends, http, files):
        if not name.replace("-", "").isalnum() or len(name) > 40:
            raise TopologyError(f"topology name '{name}' must be alphanumeric (and '-'), at most 40 chars")
        self.name = name
        self.owner_pid = owner_pid
        self.n_gateways, self.n_clients, self.n_backends = gateways, clients, backends
        self.http = http
        self.files = files
        self.work_dir = WORK_ROOT / name
        self.hosts = []
        self.switches = []
        self.processes = []  # pids started in namespaces (back-end servers, daemons)
        self.http_procs = {}  # back-end index -> its HTTP server (this run's, not a loaded state's)

    # ---------- naming and lookup ----------
    def ns(self, role, index=None):
        return f"{NS_PREFIX}{self.name}-{role}{'' if index is None else index}"

    def gateways(self):
        return [h for h in self.hosts if h.role == "gw"]

    def clients(self):
        return [h for h in self.hosts if h.role == "client"]

    def backends(self):
        return [h for h in self.hosts if h.role == "backend"]

    def gateway(self, node_id):
        return next(h for h in self.gateways() if h.index == node_id)

    def state_path(self):
        return STATE_DIR / f"{self.name}.json"

    def namespaces(self):
        return self.switches + [h.namespace for h in self.hosts]

    # ---------- state file ----------
    def save(self):
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        state = {"name": self.name, "owner_pid": self.owner_pid, "work_dir": str(self.work_dir),
                 "switches": self.switches, "hosts": [h.to_json() for h in self.hosts],
                 "processes": self.processes, "http": self.http}
        tmp = self.state_path().with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1))
        tmp.replace(self.state_path())

    @classmethod
    def load(cls, name):
        path = STATE_DIR / f"{name}.json"
        state = json.loads(path.read_text())
        topo = cls(state["name"], state["owner_pid"], 0, 0, 0, state.get("http", "nginx"), [])
        topo.switches = state["switches"]
        topo.processes = state["processes"]
        for h in state["hosts"]:
            topo.hosts.append(Host(h["role"], h["index"], h["namespace"], h["addresses"], h["macs"]))
        topo.n_gateways, topo.n_clients, topo.n_backends = (
            len(topo.gateways()), len(topo.clients()), len(topo.backends()))
        return topo

    # ---------- building ----------
    @classmethod
    def create(cls, name, gateways=3, clients=1, backends=2, http="nginx", files=("1k",),
               owner_pid=None):
        if not 1 <= gateways <= MAX_GATEWAYS:
            raise TopologyError(f"gateways must be 1..{MAX_GATEWAYS}")
        if not 0 <= clients <= 40 or not 0 <= backends <= 40:
            raise TopologyError("clients and backends must be 0..40")
        if os.geteuid() != 0:
            raise TopologyError("building namespaces needs root")
        cleanup_stale()
        if (STATE_DIR / f"{name}.json").exists():
            raise TopologyError(f"topology '{name}' already exists (topology.py down {name})")
        topo = cls(name, owner_pid or os.getpid(), gateways, clients, backends, http, list(files))
        try:
            topo._build()
        except BaseException:
            topo.destroy()
            raise
        return topo

    def _add_namespace(self, namespace):
        sh("ip", "netns", "add", namespace)
        sh("ip", "-n", namespace, "link", "set", "lo", "up")
        # Accept the duplicate-address evidence the cluster produces on purpose: VIPs are
        # configured on every gateway's host stack (seed 004), the XDP guard hides them.
        sh("ip", "netns", "exec", namespace, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")

    def _add_switch(self, segment):
        namespace = self.ns("sw", segment)
        self._add_namespace(namespace)
        self.switches.append(namespace)
        self.save()
        sh("ip", "-n", namespace, "link", "add", "br0", "type", "bridge",
           "stp_state", "0", "forward_delay", "0", "mcast_snooping", "0")
        sh("ip", "-n", namespace, "link", "set", "br0", "up")
        return namespace

    def _plug(self, switch_ns, port_name, host_ns, ifname, address, prefix_len, mac_address):
        """A veth from the switch's bridge into host_ns, created inside the switch namespace."""
        sh("ip", "-n", switch_ns, "link", "add", port_name, "type", "veth",
           "peer", "name", ifname, "netns", host_ns)
        sh("ip", "-n", switch_ns, "link", "set", port_name, "master", "br0", "up")
        sh("ip", "-n", host_ns, "link", "set", ifname, "address", mac_address)
        sh("ip", "-n", host_ns, "addr", "add", f"{address}/{prefix_len}", "dev", ifname)
        sh("ip", "-n", host_ns, "link", "set", ifname, "up")

    def _add_leaf(self, role, index, switch_ns, port_name, address, segment, role_code):
        """A client or back end: one namespace with eth0 on one segment."""
        ns = self.ns(role, index)
        self._add_namespace(ns)
        host = Host(role, index, ns, {"eth0": str(address)}, {"eth0": mac(segment, role_code, index)})
        self.hosts.append(host)
        self.save()
        self._plug(switch_ns, port_name, ns, "eth0", host.address, 24, host.macs["eth0"])
        # A veth hands on TCP segments with checksums left to "hardware" and larger than
        # a frame (TSO/GSO); the gateways' AF_XDP ports take frames as they come, so the
        # hosts that talk to them send finished, frame-sized packets, as a real NIC would.
        sh("ip", "netns", "exec", ns, "ethtool", "-K", "eth0", "tx", "off", "tso", "off", "gso", "off")
        return host

    def _build(self):
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.save()
        sw_ext = self._add_switch("ext")
        sw_int = self._add_switch("int")
        for n in range(1, self.n_gateways + 1):
            ns = self.ns("gw", n)
            self._add_namespace(ns)
            host = Host("gw", n, ns, {"ext0": str(EXTERNAL_NET[n]), "int0": str(INTERNAL_NET[n])},
                        {"ext0": mac(0x12, 1, n), "int0": mac(0x13, 1, n)})
            self.hosts.append(host)
            self.save()
            self._plug(sw_ext, f"g{n}", ns, "ext0", host.addresses["ext0"], 24, host.macs["ext0"])
            self._plug(sw_int, f"g{n}", ns, "int0", host.addresses["int0"], 24, host.macs["int0"])
        for i in range(1, self.n_clients + 1):
            self._add_leaf("client", i, sw_ext, f"c{i}", EXTERNAL_NET[CLIENT_BASE + i], 0x12, 2)
        for i in range(1, self.n_backends + 1):
            host = self._add_leaf("backend", i, sw_int, f"b{i}", INTERNAL_NET[BACKEND_BASE + i], 0x13, 3)
            self.route_back(host)
            self._start_http(host)
        self.save()
        self.check_isolation()

    def route_back(self, backend):
        """Replies to clients go back through the cluster's internal VIP (dnat mode). Again
        after the back end's link was down: the kernel drops a downed link's routes."""
        sh("ip", "-n", backend.namespace, "route", "replace", str(EXTERNAL_NET), "via", INTERNAL_VIP)

    # ---------- back-end HTTP servers ----------
    def _start_http(self, host):
        root = self.work_dir / f"backend{host.index}"
        www = root / "www"
        www.mkdir(parents=True, exist_ok=True)
        # /id names the back end, so tests see which one answered; files have fixed,
        # verifiable content (byte i of file-N is i*7+index mod 251).
        (www / "id").write_text(f"backend{host.index}\n")
        for size_text in self.files:
            size = parse_size(size_text)
            pattern = bytes((i * 7 + host.index) % 251 for i in range(251 * 4))
            data = (pattern * (size // len(pattern) + 1))[:size]
            (www / f"file-{size_text}").write_bytes(data)
        log = open(root / "http.log", "w")
        if self.http == "nginx":
            conf = root / "nginx.conf"
            conf.write_text(NGINX_CONF.format(root=root, www=www, address=host.address))
            cmd = ["ip", "netns", "exec", host.namespace, "nginx", "-c", str(conf), "-p", str(root)]
        else:
            cmd = ["ip", "netns", "exec", host.namespace, sys.executable, "-m", "http.server",
                   "80", "--bind", host.address, "--directory", str(www)]
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(proc.pid)
        self.http_procs[host.index] = proc
        self.save()
        wait_until(lambda: self.run(host, "curl", "-sf", "-o", "/dev/null", "--max-time", "1",
                                    f"http://{host.address}/id", check=False).returncode == 0,
                   timeout=15, what=f"HTTP server of backend{host.index}")

    def kill_http(self, backend):
        """A back end's HTTP server dies (kill -9: no goodbye to its clients)."""
        proc = self.http_procs.pop(backend.index, None)
        if proc:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def restart_http(self, backend):
        """Starts a back end's HTTP server again, serving the same files."""
        self.kill_http(backend)
        self._start_http(backend)

    def access_log(self, backend):
        """Lines of a back end's access log: '<client address> <request>'."""
        path = self.work_dir / f"backend{backend.index}" / "access.log"
        return path.read_text().splitlines() if path.exists() else []

    # ---------- running things inside ----------
    def run(self, host, *cmd, check=True, timeout=30):
        namespace = host if isinstance(host, str) else host.namespace
        return sh("ip", "netns", "exec", namespace, *cmd, check=check, timeout=timeout)

    def spawn(self, host, cmd, log_path=None, **popen_args):
        """Starts a long-running process in a namespace; teardown kills it. Its output goes
        to log_path (or nowhere) unless popen_args name stdout/stderr (e.g. a pipe)."""
        namespace = host if isinstance(host, str) else host.namespace
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL
        popen_args.setdefault("stdout", out)
        popen_args.setdefault("stderr", subprocess.STDOUT)
        proc = subprocess.Popen(["ip", "netns", "exec", namespace, *cmd], start_new_session=True,
                                **popen_args)
        self.processes.append(proc.pid)
        self.save()
        return proc

    # ---------- checks ----------
    def check_isolation(self):
        """Every address in 198.18.0.0/15 or loopback, and no default route anywhere."""
        for namespace in self.namespaces():
            addrs = json.loads(sh("ip", "-n", namespace, "-j", "addr", "show").stdout)
            for link in addrs:
                for info in link.get("addr_info", []):
                    if info.get("family") != "inet":
                        continue
                    address = ipaddress.ip_address(info["local"])
                    if not any(address in net for net in ALLOWED_NETS):
                        raise TopologyError(f"{namespace} has {address}, outside 198.18.0.0/15")
            routes = json.loads(sh("ip", "-n", namespace, "-j", "route", "show").stdout)
            for route in routes:
                if route.get("dst") == "default":
                    raise TopologyError(f"{namespace} has a default route")
                dst = route.get("dst", "")
                net = ipaddress.ip_network(dst if "/" in dst else dst + "/32", strict=False)
                if not any(net.subnet_of(allowed) for allowed in ALLOWED_NETS):
                    raise TopologyError(f"{namespace} routes {dst}, outside 198.18.0.0/15")

    # ---------- teardown ----------
    def destroy(self):
        kill_namespaces_and_processes(self.namespaces(), self.processes)
        self.state_path().unlink(missing_ok=True)
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def __enter__(self):
        # SIGTERM (a test runner's timeout) becomes an exception, so __exit__ still runs.
        self._previous_sigterm = signal.signal(signal.SIGTERM, _raise_interrupt)
        return self

    def __exit__(self, *exc):
        self.destroy()
        signal.signal(signal.SIGTERM, self._previous_sigterm)
        return False

    def describe(self):
        lines = [f"topology {self.name} (owner pid {self.owner_pid}, files in {self.work_dir})"]
        for h in self.hosts:
            addrs = ", ".join(f"{i} {a} {h.macs[i]}" for i, a in h.addresses.items())
            lines.append(f"  {h.role + str(h.index):<10} {h.namespace:<28} {addrs}")
        lines.append(f"  switches: {', '.join(self.switches)}")
        return "\n".join(lines)


NGINX_CONF = """\
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log;
daemon off;
events {{ worker_connections 4096; }}
http {{
    log_format combined_short '$remote_addr $request';
    server {{
        listen {address}:80 backlog=4096;
        root {www};
        access_log {root}/access.log combined_short;
        keepalive_requests 100000;
        # The same files at 100 kB/s per connection: downloads that stay open long
        # enough to kill a gateway under them (tools/http_load.py).
        location /slow/ {{ alias {www}/; limit_rate 100k; }}
    }}
}}
"""


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def wait_until(predicate, timeout, what, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TopologyError(f"timed out after {timeout}s waiting for {what}")


def kill_namespaces_and_processes(namespaces, pids):
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    existing = set(list_namespaces())
    for namespace in namespaces:
        if namespace not in existing:
            continue
        # Anything else still running inside (a daemon a test forgot) dies with it.
        pids_inside = sh("ip", "netns", "pids", namespace, check=False).stdout.split()
        for pid in pids_inside:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        sh("ip", "netns", "del", namespace, check=False)


def list_namespaces():
    result = sh("ip", "-j", "netns", "list", check=False)
    if result.returncode != 0 or not result.stdout.strip():
        return []
    return [entry["name"] for entry in json.loads(result.stdout)]


def cleanup_stale(everything=False):
    """Removes topologies whose owner process is gone; returns their names."""
    removed = []
    if STATE_DIR.exists():
        for path in STATE_DIR.glob("*.json"):
            try:
                topo = Topology.load(path.stem)
            except (OSError, ValueError, KeyError):
                path.unlink(missing_ok=True)
                continue
            if everything or not pid_alive(topo.owner_pid):
                topo.destroy()
                removed.append(topo.name)
    # A namespace with our prefix that no state file claims: a run killed mid-build.
    claimed = set()
    if STATE_DIR.exists():
        for path in STATE_DIR.glob("*.json"):
            claimed.update(Topology.load(path.stem).namespaces())
    orphans = [ns for ns in list_namespaces() if ns.startswith(NS_PREFIX) and ns not in claimed]
    # The membership tests' private namespaces (tests/cluster/membership_harness.py) carry
    # their owner's pid: rgcl-<pid>-<random>. Only a dead owner's are leftovers.
    for ns in list_namespaces():
        m = re.match(r"rgcl-(\d+)-", ns)
        if m and not pid_alive(int(m[1])):
            orphans.append(ns)
    if orphans:
        kill_namespaces_and_processes(orphans, [])
        removed.extend(orphans)
    return removed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="build a topology")
    up.add_argument("name")
    up.add_argument("--gateways", type=int, default=3)
    up.add_argument("--clients", type=int, default=1)
    up.add_argument("--backends", type=int, default=2)
    up.add_argument("--http", choices=["nginx", "python"], default="nginx")
    up.add_argument("--files", default="1k,100k,1m", help="sizes of files each back end serves")
    up.add_argument("--owner", type=int, default=os.getppid(),
                    help="pid whose death makes the topology stale (default: the caller)")
    down = sub.add_parser("down", help="tear a topology down")
    down.add_argument("name")
    show = sub.add_parser("show", help="describe a topology")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")
    stale = sub.add_parser("cleanup-stale", help="remove topologies of dead owners")
    stale.add_argument("--all", action="store_true", help="remove every ringgate topology")
    args = parser.parse_args(argv)

    try:
        if args.command == "up":
            topo = Topology.create(args.name, args.gateways, args.clients, args.backends,
                                   args.http, args.files.split(","), owner_pid=args.owner)
            print(topo.describe())
        elif args.command == "down":
            if not (STATE_DIR / f"{args.name}.json").exists():
                print(f"topology.py: no topology named '{args.name}'", file=sys.stderr)
                return 1
            Topology.load(args.name).destroy()
        elif args.command == "show":
            if not (STATE_DIR / f"{args.name}.json").exists():
                print(f"topology.py: no topology named '{args.name}'", file=sys.stderr)
                return 1
            topo = Topology.load(args.name)
            print(json.dumps(json.loads(topo.state_path().read_text()), indent=1)
                  if args.json else topo.describe())
        elif args.command == "cleanup-stale":
            if os.geteuid() != 0:
                return 0  # nothing of ours can exist without root
            for name in cleanup_stale(args.all):
                print(f"removed stale topology {name}")
    except TopologyError as e:
        print(f"topology.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
