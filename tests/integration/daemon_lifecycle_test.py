#!/usr/bin/env python3
"""ringgated in gateway namespaces: starts from an example configuration, answers
ringgatectl, survives hostile management requests, refuses bad arguments, exits 0 on
SIGTERM and removes its socket, recovers the socket of a killed predecessor, and refuses
to start twice for one node."""
import grp
import json
import os
import signal
import socket
import subprocess
import sys
import time

from cluster_harness import (RINGGATECTL, RINGGATED, SOURCE, Cluster, private_config, prometheus_families,
                             require_root, unique_name)
from topology import Topology, wait_until

EXAMPLE = SOURCE / "config" / "examples" / "demo-3.yaml"


def raw_request(path, payload):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        s.sendall(payload)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def main():
    require_root()
    with Topology.create(unique_name("life"), gateways=3, clients=0, backends=0) as topo:
        # The daemon's life cycle with the control plane alone (the fast path has its own tests).
        # The sockets belong to group "daemon" (management.socket_group); a read-only
        # socket beside each belongs to "nogroup".
        ro_socket = f"{topo.work_dir}/ringgated-{{node}}-ro.sock"
        config = private_config(EXAMPLE, topo.work_dir, [(r"^  enabled: true$", "  enabled: false"),
                                                         (r"^(  socket: .*)$", r"\1\n  socket_group: daemon\n"
                                                          f"  read_only_socket: {ro_socket}\n"
                                                          "  read_only_socket_group: nogroup")])
        with Cluster(config, topo.work_dir, topo) as cluster:
            for node in (1, 2, 3):
                cluster.start(node)
            for node in (1, 2, 3):
                status = cluster.query(node, "status")
                assert status["node"] == node and status["cluster"] == "demo", status
                assert status["dataplane"] is False
            print("ok   three nodes answer status")

            # /metrics' text, read by the real Prometheus parser.
            wait_until(lambda: [m["id"] for m in cluster.query(1, "members")["members"]] == [1, 2, 3],
                       timeout=20, what="three members")
            wait_until(lambda: all(v["current_host"] for v in cluster.query(1, "vips")["vips"]),
                       timeout=20, what="VIPs placed")
            families = prometheus_families(cluster.ctl(1, "metrics").stdout)
            sample = lambda family: families[family]["samples"]
            assert sample("ringgate_cluster_members") == [["ringgate_cluster_members", {"node": "1"}, 3.0]], \
                sample("ringgate_cluster_members")
            assert families["ringgate_cluster_tokens_received"]["type"] == "counter"
            assert sample("ringgate_cluster_tokens_received")[0][0] == "ringgate_cluster_tokens_received_total"
            assert sample("ringgate_cluster_tokens_received")[0][2] > 0
            assert {s[1]["member"] for s in sample("ringgate_cluster_member_up") if s[2] == 1} == {"1", "2", "3"}
            owners = {s[1]["vip"]: s[1]["owner"] for s in sample("ringgate_vip_owner")}
            table = {v["vip"]: str(v["current_host"]) for v in cluster.query(1, "vips")["vips"]}
            assert owners == table, (owners, table)
            assert {s[1]["reason"] for s in sample("ringgate_cluster_refused_by_reason")} >= {"malformed_trains"}
            assert "ringgate_port_rx_packets" not in families, "the fast path is off: no port metrics"
            print("ok   metrics parse with prometheus_client: members, token counters, VIP owners")

            text = cluster.ctl(1, "status").stdout
            assert "node 1 of cluster 'demo'" in text, text
            helptext = cluster.query(1, "help")
            assert {"status", "log-level"} <= {c["name"] for c in helptext["commands"]}
            assert cluster.query(2, "log-level", "cluster=debug")["log_level"] == "cluster=debug"
            refused = cluster.ctl(2, "log-level", "cluster=loud", check=False)
            assert refused.returncode == 1 and "bad log spec" in refused.stderr
            unknown = cluster.ctl(2, "frobnicate", json_output=True, check=False)
            assert unknown.returncode == 2 and "error" in json.loads(unknown.stdout), unknown
            refused = cluster.ctl(2, "log-level", "cluster=loud", json_output=True, check=False)
            assert refused.returncode == 1 and "bad log spec" in json.loads(refused.stdout)["error"]
            sock_stat = os.stat(topo.work_dir / "ringgated-1.sock")
            assert sock_stat.st_gid == grp.getgrnam("daemon").gr_gid and sock_stat.st_mode & 0o777 == 0o660, sock_stat
            assert f"operator uid {os.getuid()}: log levels set to cluster=debug" in cluster.nodes[2].log()
            print("ok   commands, run-time log levels, refusals; socket group, the operator's uid logged")

            ro_path = ro_socket.format(node=1)
            ro_stat = os.stat(ro_path)
            assert ro_stat.st_gid == grp.getgrnam("nogroup").gr_gid and ro_stat.st_mode & 0o777 == 0o660, ro_stat
            ro = lambda *words: subprocess.run([str(RINGGATECTL), "--socket", ro_path, *words], capture_output=True,
                                               text=True, timeout=10)
            assert ro("status").returncode == 0
            refused = ro("log-level", "cluster=info", "--json")
            assert refused.returncode == 1 and "read-only" in json.loads(refused.stdout)["error"], refused
            assert "operator uid 0: 'log-level' refused on the read-only socket" in cluster.nodes[1].log()
            # A user outside the control socket's group (nobody, in nogroup): ringgatectl
            # falls back to the read-only socket, where reads work and changes do not.
            nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(RINGGATECTL),
                      "--config", str(config), "--node", "1"]
            read = subprocess.run(nobody + ["members", "--json"], capture_output=True, text=True, timeout=10)
            assert read.returncode == 0 and json.loads(read.stdout)["members"], (read.stdout, read.stderr)
            change = subprocess.run(nobody + ["drain", "2"], capture_output=True, text=True, timeout=10)
            assert change.returncode == 1 and "read-only" in change.stderr, (change.stdout, change.stderr)
            assert "operator uid 65534: 'drain' refused on the read-only socket" in cluster.nodes[1].log()
            print("ok   read-only socket: its own group, reads answered, changes refused with the uid logged; "
                  "ringgatectl falls back to it")

            sock = str(topo.work_dir / "ringgated-1.sock")
            for payload in (b"\x00\xff garbage\n", b"xml status\n",
                            b"text\n", b"json status with\x01control\n"):
                reply = raw_request(sock, payload)
                assert reply.startswith(b"error\n"), (payload[:20], reply[:80])
            # An oversized request: the daemon stops reading at 4 KiB and answers with an
            # error, or resets the connection if the client is still sending.
            try:
                reply = raw_request(sock, b"A" * 100000)
                assert reply.startswith(b"error\n"), reply[:80]
            except ConnectionResetError:
                pass
            # A client that connects and says nothing is dropped after the deadline, and
            # does not block others meanwhile.
            idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            idle.connect(sock)
            assert cluster.query(1, "status")["node"] == 1
            idle.close()
            assert cluster.nodes[1].proc.poll() is None, "hostile requests stopped the daemon"
            print("ok   hostile management requests refused, daemon alive")

            for args, needle in ((["--config", str(config), "--node", "1", "members", "--bogus"], "--bogus"),
                                 (["--config", str(config), "status"], "--node ID"),
                                 (["--config", str(config), "--node", "x", "status"], "--node"),
                                 (["--config", str(config), "--node", "7", "status"], "not in the node map"),
                                 (["--config", str(config), "--node", "1"], "subcommand is required")):
                r = subprocess.run([str(RINGGATECTL), *args], capture_output=True, text=True)
                assert r.returncode == 2 and needle in r.stderr, (args, r.returncode, r.stderr)
            for args, needle in ((["--config", str(config)], "no node of the node map has an address of this host"),
                                 (["--config", str(config), "--node", "0"], "expected a number"),
                                 (["--config", str(config), "--node", "1", "--log", "x=y"], "bad spec"),
                                 (["--config", str(config), "--check-config", "--node", "1"], "exclusive")):
                r = subprocess.run([str(RINGGATED), *args], capture_output=True, text=True)
                assert r.returncode == 2 and needle in r.stderr, (args, r.returncode, r.stderr)
            for program in (RINGGATED, RINGGATECTL):
                r = subprocess.run([str(program), "--help"], capture_output=True, text=True)
                assert r.returncode == 0 and "usage:" in r.stdout.lower(), r.stdout
                v = subprocess.run([str(program), "--version"], capture_output=True, text=True)
                assert v.returncode == 0 and v.stdout.startswith(f"{program.name} "), v.stdout
            print("ok   bad command lines refused with exit 2; --help and --version work")

            twice = subprocess.run(["ip", "netns", "exec", topo.gateway(1).namespace, str(RINGGATED),
                                    "--config", str(config), "--node", "1"],
                                   capture_output=True, text=True, timeout=20)
            assert twice.returncode == 1 and "in use" in twice.stderr, twice.stderr
            # Without --node: the node whose address this host (namespace) has, here node 1.
            found = subprocess.run(["ip", "netns", "exec", topo.gateway(1).namespace, str(RINGGATED),
                                    "--config", str(config)], capture_output=True, text=True, timeout=20)
            assert found.returncode == 1 and "ringgated-1.sock is in use" in found.stderr, found.stderr
            ctl = subprocess.run(["ip", "netns", "exec", topo.gateway(3).namespace, str(RINGGATECTL),
                                  "--config", str(config), "status", "--json"], capture_output=True, text=True)
            assert ctl.returncode == 0 and json.loads(ctl.stdout)["node"] == 3, (ctl.stdout, ctl.stderr)
            print("ok   a second daemon for one node is refused; without --node the host's node is found")

            assert cluster.stop(3) == 0
            assert not (topo.work_dir / "ringgated-3.sock").exists(), "socket left after SIGTERM"
            print("ok   SIGTERM: exit 0, socket removed")

            cluster.kill(2)
            assert (topo.work_dir / "ringgated-2.sock").exists()
            cluster.start(2)
            assert cluster.query(2, "status")["node"] == 2
            print("ok   restart after kill -9 reuses the stale socket")
    return 0


if __name__ == "__main__":
    sys.exit(main())
