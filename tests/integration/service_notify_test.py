#!/usr/bin/env python3
"""The daemons under systemd's readiness protocol (Type=notify units in systemd/): the test
binds the NOTIFY_SOCKET that systemd would, starts ringgated, ringgate-registry and
ringgate-buddy in a gateway namespace, and checks READY=1 only once each answers,
RELOADING=1 then READY=1 around ringgated's SIGHUP reload (READY naming the new
configuration), and STOPPING=1 before a clean exit on SIGTERM."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

from cluster_harness import (BUILD, RINGGATECTL, SOURCE, Cluster, Node, private_config, require_root,
                             unique_name)
from topology import Topology

EXAMPLE = SOURCE / "config" / "examples" / "demo-3.yaml"
REGISTRY = BUILD / "control" / "registry" / "ringgate-registry"
BUDDY = BUILD / "control" / "registry" / "ringgate-buddy"


class NotifySocket:
    """systemd's end of sd_notify(3): a datagram socket; each datagram is one state change."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def next(self, timeout=20):
        self.sock.settimeout(timeout)
        data = self.sock.recv(4096).decode()
        return dict(line.split("=", 1) for line in data.split("\n") if line)

    def assert_quiet(self, seconds):
        self.sock.settimeout(seconds)
        try:
            extra = self.sock.recv(4096)
        except socket.timeout:
            return
        raise AssertionError(f"unexpected notification {extra!r}")

    def close(self):
        self.sock.close()
        os.unlink(self.path)


def spawn_notified(topo, host, cmd, notify, log_path):
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    return topo.spawn(host, cmd, log_path=log_path, env=env)


def main():
    require_root()
    with Topology.create(unique_name("svc"), gateways=1, clients=0, backends=0) as topo:
        gateway = topo.gateway(1)
        config = private_config(EXAMPLE, topo.work_dir, [(r"^  enabled: true$", "  enabled: false"),
                                                         (r"^  name: demo$", f"  name: svc{os.getpid()}")])
        notify = NotifySocket(topo.work_dir / "notify.sock")
        cluster = Cluster(config, topo.work_dir, topo)
        try:
            log_path = topo.work_dir / "ringgated-1.log"
            proc = spawn_notified(topo, gateway, [str(BUILD / "control" / "ringgated"), "--config", str(config),
                                                  "--node", "1"], notify, log_path)
            cluster.nodes[1] = Node(1, proc, log_path)
            ready = notify.next()
            assert ready.get("READY") == "1", ready
            assert ready["STATUS"] == f"node 1 of cluster 'svc{os.getpid()}', config version 1", ready
            # READY means serving: the management socket answers at once.
            assert cluster.query(1, "status")["node"] == 1
            print("ok   ringgated: READY=1 once it serves, STATUS names node and config version")

            text = config.read_text()
            config.write_text(re.sub(r"(?m)^  config_version: 1$", "  config_version: 2", text))
            os.kill(proc.pid, signal.SIGHUP)
            reloading = notify.next()
            assert reloading.get("RELOADING") == "1" and int(reloading["MONOTONIC_USEC"]) > 0, reloading
            ready = notify.next()
            assert ready.get("READY") == "1" and ready["STATUS"].endswith("config version 2"), ready
            assert cluster.query(1, "status")["config_version"] == 2
            # A refused reload (config_version must grow) still ends with READY=1: the old
            # configuration stays in force and the daemon serves on.
            os.kill(proc.pid, signal.SIGHUP)
            assert notify.next().get("RELOADING") == "1"
            ready = notify.next()
            assert ready.get("READY") == "1" and ready["STATUS"].endswith("config version 2"), ready
            print("ok   ringgated: SIGHUP -> RELOADING=1, then READY=1 with the configuration in force")

            proc.send_signal(signal.SIGTERM)
            assert notify.next().get("STOPPING") == "1"
            assert proc.wait(20) == 0
            print("ok   ringgated: SIGTERM -> STOPPING=1, exit 0")

            # The registry and a buddy on this namespace's loopback and own address.
            port = 7300 + os.getpid() % 1000
            management = topo.work_dir / "registry.sock"
            registry = spawn_notified(topo, gateway, [str(REGISTRY), "--service", f"127.0.0.1:{port}", "--no-auth",
                                                      "--sqlite-path", str(topo.work_dir / "registry.db"),
                                                      "--management", str(management)],
                                      notify, topo.work_dir / "registry.log")
            ready = notify.next()
            assert ready.get("READY") == "1" and f"127.0.0.1:{port}" in ready["STATUS"], ready
            status = subprocess.run([str(RINGGATECTL), "--socket", str(management), "status", "--json"],
                                    capture_output=True, text=True, timeout=10)
            assert status.returncode == 0 and "role" in json.loads(status.stdout), (status.stdout, status.stderr)
            print("ok   ringgate-registry: READY=1 once its port and management socket answer")

            self_address = gateway.addresses[next(iter(gateway.addresses))]
            buddy = spawn_notified(topo, gateway, [str(BUDDY), "--self", self_address, "--registry",
                                                   f"127.0.0.1:{port}", "--no-auth", "--check", "tcp",
                                                   "--check-port", "9", "--port", str(port + 1)],
                                   notify, topo.work_dir / "buddy.log")
            ready = notify.next()
            assert ready.get("READY") == "1" and ready["STATUS"] == f"back end {self_address}", ready
            deadline = time.monotonic() + 10
            while True:
                pool = json.loads(subprocess.run([str(RINGGATECTL), "--socket", str(management), "pool", "--json"],
                                                 capture_output=True, text=True, timeout=10).stdout)
                if self_address in json.dumps(pool):
                    break
                assert time.monotonic() < deadline, pool
                time.sleep(0.1)
            buddy.send_signal(signal.SIGTERM)
            assert notify.next().get("STOPPING") == "1"
            assert buddy.wait(20) == 0
            print("ok   ringgate-buddy: READY=1, announced; SIGTERM -> STOPPING=1, exit 0")

            registry.send_signal(signal.SIGTERM)
            assert notify.next().get("STOPPING") == "1"
            assert registry.wait(20) == 0
            notify.assert_quiet(0.3)
            print("ok   ringgate-registry: SIGTERM -> STOPPING=1, exit 0")
        finally:
            cluster.stop_all()
            notify.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
