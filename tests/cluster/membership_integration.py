#!/usr/bin/env python3
"""Multi-process membership test: real ringgated processes on 127.0.0.x in a private
network namespace. Five daemons from loopback-5.yaml agree on five members; kill -9 one
and the four others agree on four; SIGSTOP one past the token timeout, SIGCONT, and it
rejoins by itself; a partition that heals becomes one ring again; SIGTERM leaves at once;
then a sixth node (6-node variant of the configuration) joins a running ring. Forgeries:
with the key, a replayed datagram and an authentic one from the wrong address are
counted and dropped; without a key, a forged epoch and a forged token from a member's own
address and port change nothing (the epoch is confirmed by a challenge first), replays
are counted, and `status` warns.
Exit 0 pass, 1 fail, 77 no root / no ip."""
import binascii
import hashlib
import hmac
import json
import os
import random
import re
import signal
import subprocess
import sys
import time

import membership_harness as h


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


def forged_packet(sender, receiver, kind=2, epoch=1, counter=1, payload=b"", key=None):
    """A well-formed cluster datagram (docs/CLUSTER.md has the layout): an ack (kind 2) or
    one whole message as data (kind 1); HMAC-tagged when a key is given."""
    header = bytearray(56)
    header[0:2] = b"RG"
    header[2], header[3] = 1, kind
    header[4:6] = (56).to_bytes(2, "big")
    header[6:8] = len(payload).to_bytes(2, "big")
    header[8:12] = sender.to_bytes(4, "big")
    header[12:16] = receiver.to_bytes(4, "big")
    header[16:24] = epoch.to_bytes(8, "big")
    header[24:32] = counter.to_bytes(8, "big")
    if kind == 1:
        header[32:40] = (1).to_bytes(8, "big")  # message id
        header[42:44] = (1).to_bytes(2, "big")  # one fragment
        header[44:48] = len(payload).to_bytes(4, "big")
    header[48] = 1 if key else 0
    datagram = bytearray(header + payload)
    datagram[52:56] = binascii.crc32(bytes(datagram)).to_bytes(4, "big")
    if key:
        datagram += hmac.new(key.encode(), bytes(datagram), hashlib.sha256).digest()
    return bytes(datagram)


def forged_ack(sender, receiver, key=None):
    return forged_packet(sender, receiver, key=key)


def forged_token(sender, receiver, ring_id, members):
    """A token train (version 1) of a ring with a low id, which would win a merge."""
    train = bytearray()
    train += bytes([1, 1]) + (0).to_bytes(2, "big") + ring_id.to_bytes(8, "big")
    train += (1000).to_bytes(4, "big") + sender.to_bytes(4, "big") + (1).to_bytes(4, "big")
    for node in (sender, sender, receiver):
        train += node.to_bytes(4, "big")
    train += len(members).to_bytes(2, "big") + (0).to_bytes(2, "big")
    for m in members:
        train += m.to_bytes(4, "big")
    return forged_packet(sender, receiver, kind=1, epoch=2**63 + 5, counter=2**40, payload=bytes(train))


def config_key(path):
    with open(path) as f:
        return re.search(r'(?m)^  shared_key: "([^"]+)"', f.read()).group(1)


def counters(c, node):
    return (c.request(node, "members") or {}).get("counters", {})


def stays_whole(c, nodes, seconds):
    """The ring stays exactly `nodes` and nobody drops anybody for `seconds`."""
    before = {n: counters(c, n).get("members_dropped") for n in nodes}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert c.agree(nodes, nodes), c.views(nodes)
        time.sleep(0.02)
    after = {n: counters(c, n).get("members_dropped") for n in nodes}
    assert before == after, (before, after)


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

    # Hostile datagrams: counted and dropped, the ring carries on.
    rng = random.Random(3)
    junk = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))) for _ in range(200)]
    junk.append(b"RG\x01\x01" + bytes(52))  # a header whose checksum does not match
    c.send_udp("127.0.0.1", 7100, junk)
    c.wait_for("node 1 to count the junk",
               lambda: (c.request(1, "members") or {}).get("counters", {}).get("malformed", 0) >= len(junk), 5)
    assert c.agree(all5, all5), c.views(all5)
    step("%d hostile datagrams counted as malformed, ring intact" % len(junk))
    # Authentic, but claiming to come from node 2 while sent from another address.
    key = config_key(c.config)
    c.send_udp("127.0.0.1", 7100, [forged_ack(sender=2, receiver=1, key=key)] * 5)
    c.wait_for("node 1 to count spoofed datagrams",
               lambda: (c.request(1, "members") or {}).get("counters", {}).get("spoofed", 0) >= 5, 5)
    assert c.agree(all5, all5), c.views(all5)
    step("datagrams with a forged sender counted as spoofed, ring intact")
    replay(c, all5)

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
    for n in list(c.procs):
        status, _ = c.stop(n)
        assert status == 0, "node %d exited %d on SIGTERM" % (n, status)

    # A sixth node joins a running ring (the 6-node variant of the configuration), this
    # time with a shared key: every datagram is authenticated.
    six = c.write_config([1, 2, 3, 4, 5, 6], "cluster-6.yaml", shared_key="integration-test-shared-key")
    for n in all5:
        c.start(n, six)
    c.wait_for("five of six to agree", lambda: c.agree(all5, all5), 10)
    c.start(6, six)
    all6 = all5 + [6]
    took = c.wait_for("node 6 to join", lambda: c.agree(all6, all6), 5)
    step("node 6 joined: six members after %.0f ms" % (took * 1000))
    # A well-formed datagram without the tag (as a node without the key would send) is
    # refused as unauthenticated.
    c.send_udp("127.0.0.1", 7100, [forged_ack(sender=2, receiver=1)] * 5)
    c.wait_for("node 1 to count unauthenticated datagrams",
               lambda: (c.request(1, "members") or {}).get("counters", {}).get("unauthenticated", 0) >= 5, 5)
    assert c.agree(all6, all6), c.views(all6)
    step("forged datagrams without the key counted as unauthenticated, ring intact")
    for n in list(c.procs):
        c.stop(n)

    # Two subnets = two paths: with the first subnet dead between every pair, the ring
    # carries on over the second, and nobody is dropped.
    two = c.write_two_subnet_config([1, 2, 3])
    trio = [1, 2, 3]
    for n in trio:
        c.start(n, two)
    c.wait_for("three nodes on two subnets", lambda: c.agree(trio, trio), 10)
    before = c.request(1, "members")["counters"]
    c.partition([1], [2, 3], net="127.0.1")
    c.partition([2], [3], net="127.0.1")

    def carried_on():
        now = c.request(1, "members")
        assert now is not None and [m["id"] for m in now["members"]] == trio, now
        return now["counters"]["tokens_received"] >= before["tokens_received"] + 20

    took = c.wait_for("20 tokens over the second subnet", carried_on, 10)
    after = c.request(1, "members")["counters"]
    assert after["members_dropped"] == before["members_dropped"], (before, after)
    assert c.agree(trio, trio), c.views(trio)
    step("first subnet down: 20 rotations over the second in %.0f ms, nobody dropped" % (took * 1000))
    for n in list(c.procs):
        c.stop(n)
    without_a_key(c)
    print("PASS")


def replay(c, nodes):
    """A datagram captured on its way to node 1, sent again from its own source: counted
    as replayed, the ring carries on."""
    before = counters(c, 1).get("replayed", 0)
    # Data and acks only (challenges and responses are answered, not windowed).
    captured = [p for p in c.capture("127.0.0.1", 7100, 8) if p[2][3] in (1, 2)][:3]
    assert captured, "nothing captured"
    for source, sport, payload in captured:
        c.send_as(source, sport, "127.0.0.1", 7100, [payload])
    c.wait_for("node 1 to count replays", lambda: counters(c, 1).get("replayed", 0) >= before + len(captured), 5)
    stays_whole(c, nodes, 0.5)
    step("%d captured datagrams replayed from their sources: counted as replayed, ring intact" % len(captured))


def without_a_key(c):
    keyless = c.write_config([1, 2, 3, 4, 5], "keyless.yaml", shared_key="")
    all5 = [1, 2, 3, 4, 5]
    for n in all5:
        c.start(n, keyless)
    c.wait_for("five keyless nodes to agree", lambda: c.agree(all5, all5), 10)
    status = c.request(1, "status")
    assert status["authenticated"] is False and status["warnings"], status
    with open(os.path.join(c.tmp, "node1.log"), errors="replace") as f:
        assert "shared_key is not set" in f.read()
    step("without a key: status and log warn")

    # One ack from node 2's own address and port with epoch 2^64-1 used to make node 1 drop
    # every datagram of node 2 as stale until node 1 restarted.
    c.send_as("127.0.0.2", 7100, "127.0.0.1", 7100,
              [forged_packet(2, 1, kind=2, epoch=2**64 - 1, counter=7)])
    c.wait_for("node 1 to refuse the forged epoch", lambda: counters(c, 1).get("unconfirmed", 0) >= 1, 5)
    stays_whole(c, all5, 1.5)
    assert counters(c, 1).get("stale_epoch", 0) == 0, counters(c, 1)
    step("forged epoch 2^64-1 from node 2's address: unconfirmed, refused, ring intact for 1.5 s")

    # Node 2's real epoch and counter, sniffed on the way to node 1, and one ack forged with
    # that epoch and a counter just inside the allowed jump: it used to push node 1's replay
    # window 2^20 ahead, refusing node 2's real datagrams as replays for hours.
    sniffed = [p for p in c.capture("127.0.0.1", 7100, 16) if p[0] == "127.0.0.2" and p[2][3] in (1, 2)]
    assert sniffed, "no datagram of node 2 seen"
    epoch = int.from_bytes(sniffed[-1][2][16:24], "big")
    counter = int.from_bytes(sniffed[-1][2][24:32], "big")
    resets = counters(c, 1).get("window_resets", 0)
    c.send_as("127.0.0.2", 7100, "127.0.0.1", 7100,
              [forged_packet(2, 1, kind=2, epoch=epoch, counter=counter + 2**20 - 1)])
    c.wait_for("node 1 to move its window back", lambda: counters(c, 1).get("window_resets", 0) > resets, 5)
    stays_whole(c, all5, 1.5)
    step("forged counter 2^20 ahead with node 2's real epoch: window moved back, ring intact for 1.5 s")

    # A forged token of a ring with id 1 (it would win any merge) naming only nodes 2 and 3.
    c.send_as("127.0.0.2", 7100, "127.0.0.3", 7100, [forged_token(2, 3, 1, [2, 3])])
    c.wait_for("node 3 to refuse the forged token", lambda: counters(c, 3).get("unconfirmed", 0) >= 1, 5)
    stays_whole(c, all5, 1.5)
    step("forged token from node 2's address: refused, ring intact for 1.5 s")
    replay(c, all5)


if __name__ == "__main__":
    T0 = time.monotonic()
    try:
        sys.exit(main())
    except h.Skip as e:
        print("SKIP: %s" % e)
        sys.exit(77)
