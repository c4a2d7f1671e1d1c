#!/usr/bin/env python3
"""The configuration on the token (issue 16, item 4; WO 00/62502: "a version control
number in the configuration data file ... shared via the state sharing token"), with three
gateways in namespaces, each running from its own copy of the file, in one of two modes
(first argument): `kernel` (dataplane off, VIPs on the owner's host stack, each gateway
serving HTTP on :8080 naming itself) or `fastpath` (AF_XDP fast paths, fullnat to nginx).

Checked:
  - SIGHUP after editing one node's file (a VIP and a service added, config_version 2):
    every node runs version 2 with the same hash, every file is rewritten to it, the new
    VIP has exactly one owner, and the client reaches it (arping sees one MAC, the owner's;
    a connection succeeds through it);
  - SIGHUP with an invalid file, and with a change that needs a restart (cluster.port):
    refused with a log line saying why, the daemon stays up, nothing changes anywhere;
  - `ringgatectl config push FILE` on another node (version 3: the VIP removed, timers
    changed): applied, adopted by all, every file rewritten, the VIP answered by nobody;
    an invalid push is refused (exit 1, the reason in the JSON);
  - a node restarted with an older file adopts the cluster's and rewrites its file;
  - a node started with a newer file hands it to the cluster;
  - a node started with another cluster.name, or another shared_key, is refused on both
    sides (each says which) and stays outside;
  - a node map changed by a rolling restart (node 3 removed) leaves no ghost: the version
    waits for the restart on the node that adopts it, and the ex-node coming back with its
    old file stays out of every ring.
"""
import json
import re
import signal
import sys
import time
from pathlib import Path

from cluster_harness import SOURCE, Cluster, private_config, require_root, unique_name
from topology import Topology, TopologyError, wait_until

EXAMPLE = SOURCE / "config" / "examples" / "demo-3.yaml"
MODE = sys.argv[1] if len(sys.argv) > 1 else "kernel"
NEW_VIP = "198.18.0.103"
SETTLE = 15  # seconds: generous bound for a 2-core machine shared with other suites
NODES = (1, 2, 3)


def node_file(work_dir, node):
    return Path(work_dir) / f"node-{node}.yaml"


def with_version(text, version):
    text, count = re.subn(r"(?m)^  config_version: \d+$", f"  config_version: {version}", text)
    assert count == 1
    return text


def with_new_vip(text):
    """The new VIP on the external subnet, and a service on it (fullnat to the web pool)."""
    text = text.replace("      - { address: 198.18.0.102, persistence: 0 }\n",
                        "      - { address: 198.18.0.102, persistence: 0 }\n"
                        f"      - {{ address: {NEW_VIP}, persistence: 0 }}\n", 1)
    text = text.replace("services:\n",
                        f"services:\n  - {{ name: web-103, vip: {NEW_VIP}, port: 80, protocol: tcp, pool: web, "
                        "nat: fullnat }\n", 1)
    assert NEW_VIP in text
    return text


def statuses(cluster, nodes=NODES):
    return {n: cluster.query(n, "status") for n in nodes}


def all_run(cluster, version, nodes=NODES):
    try:
        views = statuses(cluster, nodes)
    except TopologyError:
        return False
    return all(s["config_version"] == version for s in views.values()) and \
        len({s["config_hash"] for s in views.values()}) == 1


def holders(cluster, vip, nodes=NODES):
    found = []
    for n in nodes:
        view = cluster.query(n, "vips")
        if any(v["vip"] == vip and v["answered_here"] for v in view["vips"]):
            found.append(n)
    return found


def in_tables(cluster, vip, nodes=NODES):
    return [n for n in nodes if any(v["vip"] == vip for v in cluster.query(n, "vips")["vips"])]


def arping_macs(topo, vip):
    out = topo.run(topo.clients()[0], "arping", "-c", "2", "-w", "2", "-I", "eth0", vip, check=False).stdout
    return set(re.findall(r"\[([0-9a-fA-F:]{17})\]", out))


def reaches(topo, vip, owner):
    """A new connection to `vip` succeeds and is handled by `owner`."""
    client = topo.clients()[0]
    if MODE == "kernel":
        result = topo.run(client, "curl", "-s", "--max-time", "2", f"http://{vip}:8080/whoami", check=False)
        return result.returncode == 0 and result.stdout.strip() == f"gw{owner}"
    result = topo.run(client, "curl", "-s", "--max-time", "2", f"http://{vip}/id", check=False)
    return result.returncode == 0 and result.stdout.startswith("backend")


def log_has(cluster, node, pattern):
    return re.search(pattern, cluster.nodes[node].log()) is not None


def log_time(cluster, node, pattern):
    """Seconds since midnight of the first log line of `node` matching `pattern`."""
    for line in cluster.nodes[node].log().splitlines():
        if re.search(pattern, line):
            h, m, s = line.split(" ", 1)[0].split(":")
            return int(h) * 3600 + int(m) * 60 + float(s)
    raise TopologyError(f"node {node}: no log line matches {pattern}")


def spread_ms(cluster, origin, origin_pattern, version):
    """How long after `origin` applied `version` the last other node adopted it (log times)."""
    start = log_time(cluster, origin, origin_pattern)
    ends = [log_time(cluster, n, rf"configuration version {version} \(\w+\) adopted from the cluster")
            for n in NODES if n != origin]
    return (max(ends) - start) * 1000


def main():
    require_root()
    assert MODE in ("kernel", "fastpath"), f"unknown mode {MODE}"
    with Topology.create(unique_name("cfgsh"), gateways=3, clients=1, backends=2, files=["1k"]) as topo:
        if MODE == "kernel":
            for gw in topo.gateways():
                www = topo.work_dir / f"www{gw.index}"
                www.mkdir()
                (www / "whoami").write_text(f"gw{gw.index}\n")
                topo.spawn(gw, [sys.executable, "-m", "http.server", "8080", "--directory", str(www)])
        # A cluster name of its own: the fast path's DPDK file prefix is made from it, so a
        # demo-3 cluster of another test on this machine cannot collide with this one.
        name = unique_name("cfg")
        shared = private_config(EXAMPLE, topo.work_dir,
                                [(r"^  name: demo$", f"  name: {name}")] +
                                ([(r"^  enabled: true$", "  enabled: false")] if MODE == "kernel" else []))
        v1 = shared.read_text()
        for n in NODES:
            node_file(topo.work_dir, n).write_text(v1)
        with Cluster(shared, topo.work_dir, topo) as cluster:
            for n in NODES:
                cluster.start(n, config_path=node_file(topo.work_dir, n))
            wait_until(lambda: all(len(cluster.query(n, "members")["members"]) == 3 for n in NODES), SETTLE,
                       "three members")
            wait_until(lambda: all_run(cluster, 1), SETTLE, "version 1 everywhere")

            # 1. SIGHUP after an edit on node 2: a VIP and a service added.
            v2 = with_version(with_new_vip(v1), 2)
            node_file(topo.work_dir, 2).write_text(v2)
            cluster.signal(2, signal.SIGHUP)
            wait_until(lambda: all_run(cluster, 2), SETTLE, "version 2 adopted by every node")
            wait_until(lambda: all(node_file(topo.work_dir, n).read_text() == v2 for n in NODES), SETTLE,
                       "every node's file rewritten to version 2")
            wait_until(lambda: in_tables(cluster, NEW_VIP) == list(NODES), SETTLE, "the new VIP in every table")
            wait_until(lambda: len(holders(cluster, NEW_VIP)) == 1, SETTLE, "the new VIP answered by one node")
            seen = {}

            def owner_alone():
                """arping from the client sees one MAC, the owner's; two would be a failure."""
                seen["holders"], seen["macs"] = holders(cluster, NEW_VIP), arping_macs(topo, NEW_VIP)
                assert len(seen["macs"]) <= 1, f"{NEW_VIP} answered by {seen}"
                return len(seen["holders"]) == 1 and \
                    seen["macs"] == {topo.gateway(seen["holders"][0]).macs["ext0"]}
            try:
                wait_until(owner_alone, SETTLE, "arping sees the owner alone")
            except TopologyError as e:
                raise TopologyError(f"{e}; last seen {seen}; gateway MACs "
                                    f"{ {gw.index: gw.macs['ext0'] for gw in topo.gateways()} }") from e
            owner = seen["holders"][0]
            wait_until(lambda: reaches(topo, NEW_VIP, owner), SETTLE, "a connection through the new VIP")
            for n in NODES:  # every component took the change (an update path that fails logs an error)
                assert not log_has(cluster, n, r" config error: "), cluster.nodes[n].log()
            hashes = {s["config_hash"] for s in statuses(cluster).values()}
            sighup_ms = spread_ms(cluster, 2, r"SIGHUP: configuration version 2 .* applied", 2)
            assert all(log_has(cluster, n, r"adopted from the cluster") for n in (1, 3))
            print(f"ok   SIGHUP on node 2: version 2 ({hashes.pop()}) on every node and in every file; "
                  f"{NEW_VIP} answered by node {owner} alone and reachable ({MODE}); every node had adopted it "
                  f"{sighup_ms:.0f} ms after node 2 applied it")

            # 2. SIGHUP with an invalid file, then with a change that needs a restart.
            bad = with_version(v2, 3).replace("  token_interval_ms:", "  bogus_field: 1\n  token_interval_ms:", 1)
            if bad == with_version(v2, 3):
                bad = with_version(v2, 3) + "\nbogus_section: 1\n"
            node_file(topo.work_dir, 1).write_text(bad)
            cluster.signal(1, signal.SIGHUP)
            wait_until(lambda: log_has(cluster, 1, r"SIGHUP: invalid configuration .* refused, nothing changed: "
                                                   r".*bogus"), SETTLE, "the refusal logged")
            restart = with_version(v2, 3).replace("  port: 7100", "  port: 7200", 1)
            assert restart != with_version(v2, 3)
            node_file(topo.work_dir, 1).write_text(restart)
            cluster.signal(1, signal.SIGHUP)
            wait_until(lambda: log_has(cluster, 1, r"cluster\.port changed \(needs a restart of every node\)"),
                       SETTLE, "the restart-only change refused")
            time.sleep(0.5)
            assert cluster.nodes[1].proc.poll() is None, "SIGHUP killed ringgated"
            assert all_run(cluster, 2), statuses(cluster)
            assert len(holders(cluster, NEW_VIP)) == 1
            node_file(topo.work_dir, 1).write_text(v2)
            print("ok   SIGHUP with an invalid file and with a restart-only change: refused with the reason, "
                  "daemon alive, version 2 everywhere")

            # 3. config push on node 3: the VIP removed again, timers changed (version 3).
            v3 = with_version(v1, 3).replace("dataplane:\n", "timers:\n  garp_repeats: 2\n\ndataplane:\n", 1)
            pushed = topo.work_dir / "pushed.yaml"
            pushed.write_text(v3)
            answer = cluster.query(3, "config", "push", str(pushed))
            assert answer["result"] == "applied" and answer["config_version"] == 3, answer
            assert f"VIP {NEW_VIP} removed" in answer["changes"], answer
            wait_until(lambda: all_run(cluster, 3), SETTLE, "version 3 adopted by every node")
            wait_until(lambda: all(node_file(topo.work_dir, n).read_text() == v3 for n in NODES), SETTLE,
                       "every node's file rewritten to version 3")
            wait_until(lambda: holders(cluster, NEW_VIP) == [] and in_tables(cluster, NEW_VIP) == [], SETTLE,
                       "the removed VIP gone from every table")
            wait_until(lambda: arping_macs(topo, NEW_VIP) == set(), SETTLE, "nobody answers the removed VIP")
            for n in NODES:
                assert not log_has(cluster, n, r" config error: "), cluster.nodes[n].log()
            invalid = topo.work_dir / "invalid.yaml"
            invalid.write_text(with_version(v3, 4).replace(f"  name: {name}", f"  name: {name}\n  colour: blue", 1))
            result = cluster.ctl(3, "config", "push", str(invalid), json_output=True, check=False)
            refused = json.loads(result.stdout)
            assert result.returncode == 1 and refused["result"] == "refused", (result.returncode, refused)
            assert any("colour" in e for e in refused["errors"]), refused
            assert all_run(cluster, 3)
            push_ms = spread_ms(cluster, 3, r"config push: configuration version 3 .* applied", 3)
            print("ok   config push on node 3: version 3 adopted and written by all, the VIP withdrawn; "
                  f"an invalid push refused with its reason; adopted everywhere {push_ms:.0f} ms after the push")

            # 4. Node 1 restarted with the older file adopts the cluster's.
            assert cluster.stop(1) == 0
            node_file(topo.work_dir, 1).write_text(v1)
            cluster.start(1, config_path=node_file(topo.work_dir, 1))
            wait_until(lambda: all_run(cluster, 3), SETTLE, "node 1 adopted version 3")
            wait_until(lambda: node_file(topo.work_dir, 1).read_text() == v3, SETTLE, "node 1's file rewritten")
            print("ok   node 1 restarted with version 1: adopted version 3 and rewrote its file")

            # 5. Node 2 restarted with a newer file hands it to the cluster.
            v4 = with_version(with_new_vip(v3), 4)
            assert cluster.stop(2) == 0
            node_file(topo.work_dir, 2).write_text(v4)
            cluster.start(2, config_path=node_file(topo.work_dir, 2))
            wait_until(lambda: all_run(cluster, 4), SETTLE, "the cluster took node 2's version 4")
            wait_until(lambda: all(node_file(topo.work_dir, n).read_text() == v4 for n in NODES), SETTLE,
                       "every file at version 4")
            wait_until(lambda: len(holders(cluster, NEW_VIP)) == 1, SETTLE, "the VIP answered again")
            print("ok   node 2 restarted with version 4: the cluster adopted it")

            # 6. Node 3 given another cluster's name: refused on both sides, stays outside.
            assert cluster.stop(3) == 0
            foreign = v4.replace(f"  name: {name}", "  name: staging", 1)
            node_file(topo.work_dir, 3).write_text(foreign)
            cluster.start(3, config_path=node_file(topo.work_dir, 3))
            wait_until(lambda: log_has(cluster, 3, rf"belongs to cluster '{name}', this node to cluster 'staging'"),
                       SETTLE, "node 3 logs the refusal")
            wait_until(lambda: any(log_has(cluster, n, r"refused \w+ from node 3: it belongs to cluster 'staging'")
                                   for n in (1, 2)), SETTLE, "the cluster logs the refusal")
            wait_until(lambda: sum(cluster.query(n, "members")["counters"]["foreign_cluster"] for n in (1, 2)) > 0 and
                       cluster.query(3, "members")["counters"]["foreign_cluster"] > 0, SETTLE,
                       "the refusals counted on both sides")
            foreign_counted = 0
            for n in (1, 2):
                view = cluster.query(n, "members")
                assert sorted(m["id"] for m in view["members"]) == [1, 2], view["members"]
                assert view["counters"]["spoofed"] == 0, view["counters"]
                foreign_counted += view["counters"]["foreign_cluster"]
            assert foreign_counted > 0
            assert cluster.query(3, "members")["counters"]["foreign_cluster"] > 0
            assert node_file(topo.work_dir, 3).read_text() == foreign, "a foreign cluster's node kept its file"
            print("ok   node 3 with cluster.name 'staging': refused on both sides, not counted as spoofed")

            # 6b. Node 3 with another shared key: refused by the HMAC, said by name on both sides.
            assert cluster.stop(3) == 0
            other_key = re.sub(r'(?m)^(  shared_key: ")[0-9a-f]+"', r'\g<1>' + "ab" * 32 + '"', v4)
            assert other_key != v4
            node_file(topo.work_dir, 3).write_text(other_key)
            cluster.start(3, config_path=node_file(topo.work_dir, 3))
            wait_until(lambda: log_has(cluster, 3, r"datagrams from node [12] .* fail authentication: its "
                                                   r"cluster\.shared_key differs"), SETTLE, "node 3 names the mismatch")
            wait_until(lambda: any(log_has(cluster, n, r"datagrams from node 3 .* fail authentication")
                                   for n in (1, 2)), SETTLE, "the cluster names the mismatch")
            for n in (1, 2):
                assert sorted(m["id"] for m in cluster.query(n, "members")["members"]) == [1, 2]
            print("ok   node 3 with another shared_key: not admitted, the key mismatch named on both sides")

            # 7. A node map changed by a rolling restart (node 3 removed): stop the node that
            # goes, restart the others one by one with the new file; the ex-node coming back
            # with its old file is kept out, and no ring keeps a ghost of it.
            assert cluster.stop(3) == 0
            v5 = with_version(v4, 5)
            v5, removed = re.subn(r"(?m)^    - id: 3\n      addresses: .*\n", "", v5)
            assert removed == 1
            assert cluster.stop(1) == 0
            node_file(topo.work_dir, 1).write_text(v5)
            cluster.start(1, config_path=node_file(topo.work_dir, 1))
            # Node 2 takes version 5 from the token: written, but a node map waits for a restart.
            try:
                wait_until(lambda: node_file(topo.work_dir, 2).read_text() == v5, SETTLE, "node 2's file at version 5")
            except TopologyError as e:
                tails = {n: cluster.nodes[n].log().splitlines()[-15:] for n in (1, 2)}
                raise TopologyError(f"{e}; logs: {json.dumps(tails, indent=1)}") from e
            pending = cluster.query(2, "status")["config_restart_pending"]
            assert pending and pending["config_version"] == 5, pending
            assert any(r.startswith("cluster.nodes changed") for r in pending["reasons"]), pending
            assert cluster.stop(2) == 0
            cluster.start(2, config_path=node_file(topo.work_dir, 2))
            wait_until(lambda: all_run(cluster, 5, (1, 2)), SETTLE, "nodes 1 and 2 run version 5")
            node_file(topo.work_dir, 3).write_text(v4)
            cluster.start(3, config_path=node_file(topo.work_dir, 3))
            time.sleep(2)
            for n in (1, 2):
                view = cluster.query(n, "members")
                assert sorted(m["id"] for m in view["members"]) == [1, 2], view["members"]
                assert [m["id"] for m in view["outside"]] == [], view["outside"]
            assert cluster.query(3, "status")["config_version"] == 4
            print("ok   node 3 removed from the node map by a rolling restart: version 5 waited for the restart "
                  "on node 2; the ex-node, back with its old file, stays out of every ring")


if __name__ == "__main__":
    try:
        main()
    except TopologyError as e:
        print(f"FAIL {e}")
        sys.exit(1)
