#!/usr/bin/env python3
"""Remote management over HTTPS (docs/OPERATIONS.md): three gateways of
config/examples/demo-3.yaml with management.listen on, a self-signed certificate made by
openssl for their addresses, and ringgatectl and curl on the client's namespace. Checks:
  - any node answers for the whole cluster (members and VIPs of all three from node 2);
  - a wrong password and an unknown user are refused (401), and nothing runs;
  - a read-only user may read but its `vip move` is refused (403) and the VIP stays;
  - an admin's `vip move` through node 3 happens on the cluster (the local socket of
    node 1 shows it) and the daemon logs who made it;
  - plain HTTP on the port is refused (400, no command), ringgatectl refuses http:// URLs;
  - ringgatectl checks the certificate: the right CA file works, another CA or none fails;
  - oversized request heads and bodies are refused (431, 413);
  - the console's session cookie works and is HttpOnly, Secure, SameSite=Strict;
  - GET /metrics is the Prometheus exposition (parsed by the real parser).
Needs root (namespaces, XDP); exit 77 without it."""
import json
import sys

from cluster_harness import RINGGATECTL, SOURCE, Cluster, make_tls, prometheus_families, private_config, \
    require_root, unique_name
from topology import Topology, wait_until

EXAMPLE = SOURCE / "config" / "examples" / "demo-3.yaml"
VIP = "198.18.0.101"  # persistence 1: stays where the operator puts it (0 may be balanced back)
SETTLE = 15


def main():
    require_root()
    with Topology.create(unique_name("mgmt"), gateways=3, clients=1, backends=1, files=["1k"]) as topo:
        work = topo.work_dir
        config = private_config(EXAMPLE, work)
        cert = work / "management-cert.pem"
        other_ca, _ = make_tls(work, ["198.18.0.1"], name="other")
        (work / "admin.pw").write_text("demo-admin\n")
        (work / "viewer.pw").write_text("demo-viewer\n")
        (work / "wrong.pw").write_text("demo-admin2\n")
        client = topo.clients()[0]

        def ctl(node, user, *command, password=None, ca=cert, json_output=True, url=None):
            args = [str(RINGGATECTL), "--host", url or f"https://198.18.0.{node}:8443", "--user", user,
                    "--password-file", str(work / f"{password or user}.pw")]
            if ca:
                args += ["--ca-file", str(ca)]
            args += list(command) + (["--json"] if json_output else [])
            return topo.run(client, *args, check=False, timeout=20)

        def curl(*args):
            return topo.run(client, "curl", "-s", "--max-time", "5", "--cacert", str(cert), *args,
                            check=False, timeout=20)

        with Cluster(config, work, topo) as cluster:
            for node in (1, 2, 3):
                cluster.start(node)
            wait_until(lambda: all(len(cluster.query(n, "members")["members"]) == 3 for n in (1, 2, 3)), SETTLE,
                       "three members")

            # Any node answers for the whole cluster.
            result = ctl(2, "viewer", "members")
            assert result.returncode == 0, result
            members = json.loads(result.stdout)["members"]
            assert sorted(m["id"] for m in members) == [1, 2, 3], members
            vips = json.loads(ctl(2, "viewer", "vips").stdout)["vips"]
            assert len(vips) == 4 and all(v["current_host"] in (1, 2, 3) for v in vips), vips
            print("ok   node 2 over HTTPS: 3 members, 4 VIPs (a read-only user may read)")

            # Wrong passwords and unknown users: 401, nothing runs.
            result = ctl(1, "admin", "log-level", "debug", password="wrong")
            assert result.returncode == 1 and "log in first" in json.loads(result.stdout)["error"], result
            result = ctl(1, "nobody", "status", password="admin")
            assert result.returncode == 1, result
            code = curl("-o", "/dev/null", "-w", "%{http_code}", "-u", "admin:nope",
                        "https://198.18.0.1:8443/api/status").stdout
            assert code == "401", code
            assert "log levels set" not in cluster.nodes[1].log()
            print("ok   a wrong password and an unknown user are refused (401)")

            # A read-only user's move is refused and changes nothing.
            before = next(v for v in cluster.query(1, "vips")["vips"] if v["vip"] == VIP)["current_host"]
            target = 1 + before % 3
            result = ctl(1, "viewer", "vip", "move", VIP, str(target))
            assert result.returncode == 1 and "read-only" in json.loads(result.stdout)["error"], result
            result = ctl(1, "viewer", "vip", "move", VIP, str(target), json_output=False)
            assert result.returncode == 1 and "read-only" in result.stderr, result
            assert "user viewer (read-only) from 198.18.0.201 may not run 'vip'" in cluster.nodes[1].log()
            assert next(v for v in cluster.query(1, "vips")["vips"] if v["vip"] == VIP)["current_host"] == before
            print(f"ok   the read-only user's 'vip move' is refused (403); {VIP} stays on node {before}")

            # An admin's move through node 3 happens on the cluster, logged with who made it.
            result = ctl(3, "admin", "vip", "move", VIP, str(target))
            assert result.returncode == 0, result
            assert json.loads(result.stdout)["accepted"] == f"move {VIP} to node {target}", result.stdout
            wait_until(lambda: next(v for v in cluster.query(1, "vips")["vips"] if v["vip"] == VIP)["current_host"]
                       == target, SETTLE, f"{VIP} on node {target} (seen on node 1's socket)")
            assert "operator user admin (admin) from 198.18.0.201" in cluster.nodes[3].log(), cluster.nodes[3].log()
            print(f"ok   the admin moved {VIP} to node {target} through node 3; logged with the user")

            # Plain HTTP is refused.
            result = topo.run(client, "curl", "-s", "-i", "--max-time", "5", "http://198.18.0.1:8443/api/status",
                              check=False)
            assert result.stdout.startswith("HTTP/1.1 400") and "HTTPS only" in result.stdout, result
            result = ctl(1, "admin", "status", url="http://198.18.0.1:8443")
            assert result.returncode == 2 and "plain HTTP is refused" in result.stdout, result
            print("ok   plain HTTP refused (400 from the node, exit 2 from ringgatectl)")

            # ringgatectl checks the certificate.
            result = ctl(1, "viewer", "status", ca=other_ca)
            assert result.returncode == 1 and "TLS handshake failed" in result.stdout, result
            result = ctl(1, "viewer", "status", ca=None)
            assert result.returncode == 1 and "TLS handshake failed" in result.stdout, result
            print("ok   ringgatectl refuses the node's certificate with another CA or none")

            # Bounded requests.
            big_header = "X-Pad: " + "a" * 9000
            code = curl("-o", "/dev/null", "-w", "%{http_code}", "-H", big_header, "-u", "viewer:demo-viewer",
                        "https://198.18.0.1:8443/api/status").stdout
            assert code == "431", code
            (work / "big.json").write_text('{"command":"status","pad":"' + "a" * 70000 + '"}')
            code = curl("-o", "/dev/null", "-w", "%{http_code}", "-u", "admin:demo-admin", "-H",
                        "Content-Type: application/json", "--data-binary", f"@{work / 'big.json'}",
                        "https://198.18.0.1:8443/api/command").stdout
            assert code == "413", code
            print("ok   oversized head (431) and body (413) refused")

            # The console's session: a cookie that scripts cannot read and other sites cannot send.
            jar = work / "cookies"
            result = curl("-i", "-c", str(jar), "-H", "Content-Type: application/json",
                          "-d", '{"user":"viewer","password":"demo-viewer"}', "https://198.18.0.2:8443/api/login")
            cookie = next(line for line in result.stdout.splitlines() if line.lower().startswith("set-cookie"))
            assert all(flag in cookie for flag in ("HttpOnly", "Secure", "SameSite=Strict")), cookie
            result = curl("-b", str(jar), "https://198.18.0.2:8443/api/vips")
            assert len(json.loads(result.stdout)["vips"]) == 4, result
            result = curl("-b", str(jar), "-H", "Content-Type: application/json",
                          "-d", json.dumps({"command": "drain", "args": ["1"]}), "https://198.18.0.2:8443/api/command")
            assert "read-only" in json.loads(result.stdout)["error"], result
            print("ok   console login: session cookie HttpOnly, Secure, SameSite=Strict; roles apply to it")

            exposition = curl("-u", "viewer:demo-viewer", "https://198.18.0.1:8443/metrics").stdout
            families = prometheus_families(exposition)
            assert "ringgate_cluster_members" in families, sorted(families)[:20]
            print(f"ok   GET /metrics over HTTPS: {len(families)} families parsed by prometheus_client")
    return 0


if __name__ == "__main__":
    sys.exit(main())
