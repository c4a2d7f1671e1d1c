#!/usr/bin/env python3
"""Multi-process membership test: real ringgated processes on 127.0.0.x in a private
network namespace. Five daemons from loopback-5.yaml agree on five members; kill -9 one
and the four others agree on four; SIGSTOP one past the token timeout, SIGCONT, and it
rejoins by itself; a partition that heals becomes one ring again; SIGTERM leaves at once;
then a sixth node (6-node variant of the configuration) joins a running ring.
Exit 0 pass, 1 fail, 77 no root / no ip."""
import json
import signal
import subprocess
import sys
import time

import cluster_harness as h


def step(message):
    print("[%7.3f] %s" % (time.monotonic() - T0, message), flush=True)


def main():
    with h.Cluster(nodes=5) as c:
        try:
            run(c)
        except AssertionError as e:
            print("FAIL: %s" % e)
            print(c.logs())
            return 1
    return 0


def run(c):
    all5 = [1, 2, 3, 4, 5]
    for n in all5:
        c.start(n)
    took = c.wait_for("five daemons to agree on five members", lambda: c.agree(all5, all5), 10)
    step("five members agree after %.0f ms" % (took * 1000))

    # ringgatectl itself, text and JSON.
    text = subprocess.run([h.RINGGATECTL, "--config", c.config, "--node", "1", "members"],
                          capture_output=True, text=True, timeout=10)
    assert text.returncode == 0 and "5 members" in text.stdout, text.stdout + text.stderr
    js = subprocess.run([h.RINGGATECTL, "--config", c.config, "--node", "1", "members", "--json"],
                        capture_output=True, text=True, timeout=10)
    doc = json.loads(js.stdout)
    assert [m["id"] for m in doc["members"]] == all5 and all("state" in m for m in doc["members"]), js.stdout

    # kill -9: the four others agree on four members.
    c.kill(3)
    rest = [1, 2, 4, 5]
    took = c.wait_for("survivors to drop node 3", lambda: c.agree(rest, rest), 5)
    step("kill -9 node 3: four members agree after %.0f ms" % (took * 1000))

    # SIGSTOP past the token timeout, then SIGCONT: it rejoins by itself.
    c.signal(2, signal.SIGSTOP)
    others = [1, 4, 5]
    took = c.wait_for("the others to drop stopped node 2", lambda: c.agree(others, others), 5)
    step("SIGSTOP node 2: dropped after %.0f ms" % (took * 1000))
    c.signal(2, signal.SIGCONT)
    took = c.wait_for("node 2 to rejoin by itself", lambda: c.agree(rest, rest), 5)
    step("SIGCONT node 2: rejoined after %.0f ms" % (took * 1000))

    # A restarted node comes back.
    c.start(3)
    took = c.wait_for("restarted node 3 to rejoin", lambda: c.agree(all5, all5), 5)
    step("node 3 restarted: five members after %.0f ms" % (took * 1000))

    # A partition {1,2} | {3,4,5}, then heal: one ring again.
    c.partition([1, 2], [3, 4, 5])
    took = c.wait_for("two rings during the partition",
                      lambda: c.agree([1, 2], [1, 2]) and c.agree([3, 4, 5], [3, 4, 5]), 5)
    step("partition: {1,2} and {3,4,5} after %.0f ms" % (took * 1000))
    c.partition([1, 2], [3, 4, 5], heal=True)
    took = c.wait_for("one ring after the heal", lambda: c.agree(all5, all5), 10)
    step("healed: one ring of five after %.0f ms" % (took * 1000))

    # SIGTERM: the node leaves at once and the others see it gone without a timeout.
    status, seconds = c.stop(4)
    assert status == 0, "ringgated exited %d on SIGTERM" % status
    rest = [1, 2, 3, 5]
    took = c.wait_for("the others to see node 4 leave", lambda: c.agree(rest, rest), 5)
    step("SIGTERM node 4: exited 0 in %.0f ms, others agree %.0f ms later" % (seconds * 1000, took * 1000))
    reply = c.request(1, "members")
    assert reply["counters"]["malformed"] == 0 and reply["counters"]["unauthenticated"] == 0, reply
    for n in list(c.procs):
        status, _ = c.stop(n)
        assert status == 0, "node %d exited %d on SIGTERM" % (n, status)

    # A sixth node joins a running ring (the 6-node variant of the configuration).
    six = c.write_config([1, 2, 3, 4, 5, 6], "cluster-6.yaml")
    for n in all5:
        c.start(n, six)
    c.wait_for("five of six to agree", lambda: c.agree(all5, all5), 10)
    c.start(6, six)
    all6 = all5 + [6]
    took = c.wait_for("node 6 to join", lambda: c.agree(all6, all6), 5)
    step("node 6 joined: six members after %.0f ms" % (took * 1000))
    print("PASS")


if __name__ == "__main__":
    T0 = time.monotonic()
    try:
        sys.exit(main())
    except h.Skip as e:
        print("SKIP: %s" % e)
        sys.exit(77)
