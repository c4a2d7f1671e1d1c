"""The invariants of the chaos soak.

Continuous (ArpWatch, one thread per VIP, one `arping -c 1` a second from a client
namespace, or from ctl for the internal VIP): no ARP request for a VIP is answered by two
gateways within SAME_INSTANT_MS of each other, nor by a second one later unless that one
is then the VIP's one owner (a hand-over); no VIP goes unanswered for longer than the
failover bound.
Once quiet (quiet_problem, after every round's faults are healed): every gateway's ring
is the whole cluster; every VIP has one owner all nodes agree on; every gateway's pool is
the live back ends; the registries are one primary and a monitor, and the primary's table
is one ring of the live back ends with every agent's buddies as the table says; a new
connection to every external VIP is answered.
At the end: no reset on a long connection unless its back end died (judge_clients); no
growth of any daemon's descriptors or memory (ResourceTrack).
"""
import json
import re
import subprocess
import threading
import time

from flow_harness import owners
from registry_harness import ring_problem
from topology import TopologyError


SAME_INSTANT_MS = 20.0


class ArpWatch:
    def __init__(self, topo, vips_by_namespace, bound_s):
        self.topo = topo
        self.bound_s = bound_s
        self.mac_names = {gw.macs[i]: f"gw{gw.index}" for gw in topo.gateways() for i in gw.macs}
        self.targets = [(ns, vip) for ns, vips in vips_by_namespace.items() for vip in vips]
        self.lock = threading.Lock()
        self.samples = 0
        self.doubles = []  # (time, vip, {gateway: reply ms}) answered by two at the same instant
        self.late_doubles = []  # replies further apart, the later sender the one owner next
        self.pending_late = {}  # vip -> a late double waiting for the next probe
        self.gaps = []     # (start, end, vip) of silences longer than the bound
        self.longest = {vip: 0.0 for _, vip in self.targets}
        self.last_answer = {}  # vip -> end of its last answered probe
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._watch, args=target, daemon=True) for target in self.targets]

    def start(self):
        for thread in self.threads:
            thread.start()

    def stop(self):
        self.stopping.set()
        for thread in self.threads:
            thread.join(10)
        with self.lock:  # a silence still running at the end counts too
            now = time.time()
            for _, vip in self.targets:
                self._close_gap(vip, self.last_answer.get(vip), now, final=True)

    def _probe(self, namespace, vip):
        """{answering gateway: ms from the request to its first reply} for one request."""
        out = subprocess.run(["ip", "netns", "exec", namespace, "arping", "-c", "1", "-I", "eth0", vip],
                             capture_output=True, text=True, timeout=10).stdout
        replies = {}
        for mac, ms in re.findall(r"\[([0-9A-Fa-f:]{17})\]\s+([0-9.]+)ms", out):
            name = self.mac_names.get(mac.lower(), mac.lower())
            replies[name] = min(float(ms), replies.get(name, float("inf")))
        return replies

    def _close_gap(self, vip, last, now, final=False):
        if last is None:
            return
        silence = now - last
        self.longest[vip] = max(self.longest[vip], silence)
        if silence > self.bound_s:
            self.gaps.append((last, now, vip, final))

    def _watch(self, namespace, vip):
        while not self.stopping.is_set():
            started = time.time()
            answered = self._probe(namespace, vip)
            ended = time.time()
            with self.lock:
                self.samples += 1
                pending = self.pending_late.pop(vip, None)
                if pending:
                    # A late second reply is a hand-over only if its sender is the one
                    # owner now; otherwise it answered for a VIP another node still held.
                    late_sender = max(pending[2], key=pending[2].get)
                    if list(answered) == [late_sender]:
                        self.late_doubles.append(pending)
                    else:
                        self.doubles.append(pending)
                if len(answered) > 1:
                    # Two nodes answered one request. Within SAME_INSTANT_MS of each other
                    # both held the VIP at that moment. Further apart, the later one may
                    # have answered a request it found queued after it had taken the VIP
                    # over from the earlier one: the next probe decides (above).
                    times = sorted(answered.values())
                    if times[-1] - times[0] <= SAME_INSTANT_MS:
                        self.doubles.append((started, vip, answered))
                    else:
                        self.pending_late[vip] = (started, vip, answered)
                if answered:
                    # The silence ran from the end of the last answered probe to the start
                    # of this one (a probe waits a second for its answers).
                    self._close_gap(vip, self.last_answer.get(vip), started)
                    self.last_answer[vip] = ended

    def problems_since(self, since):
        with self.lock:
            found = [f"{vip} answered by two at once: " + ", ".join(f"{g} after {ms} ms" for g, ms in who.items())
                     + f" (t={t:.1f})" for t, vip, who in self.doubles if t >= since]
            found += [f"{vip} unanswered for {end - start:.1f} s (bound {self.bound_s} s, t={start:.1f})"
                      for start, end, vip, _ in self.gaps if end >= since]
            return found


def quiet_problem(rig, vips):
    """None when the system has settled into its invariants, else what is wrong."""
    cluster, nodes = rig.cluster, rig.gateway_ids
    for node in nodes:
        members = sorted(m["id"] for m in cluster.query(node, "members")["members"])
        if members != nodes:
            return f"gw{node}'s ring is {members}, not {nodes}"
    placed = owners(cluster, vips, nodes)
    unsettled = [vip for vip, owner in placed.items() if owner is None]
    if unsettled:
        return f"VIPs without one agreed owner: {unsettled}"
    live = sorted(f"{b.address}:80" for b in rig.live_backends())
    for node in nodes:
        view = cluster.query(node, "pool")
        if not view["connected"]:
            return f"gw{node} is not subscribed to the registry"
        web = next(p for p in view["pools"] if p["name"] == "web")
        pool = sorted(f"{b['address']}:{b['port']}" for b in web["backends"])
        if pool != live:
            return f"gw{node}'s pool is {pool}, the live back ends {live}"
    roles = {f"reg{r.index}": rig.registry_role(r) for r in rig.topo.registries}
    if sorted(roles.values()) != ["monitor", "primary"]:
        return f"registry roles {roles}"
    primary = next(r for r in rig.topo.registries if rig.registry_role(r) == "primary")
    problem = ring_problem(rig.registry_pool(primary), [b.address for b in rig.live_backends()])
    if problem:
        return f"reg{primary.index}: {problem}"
    client = rig.topo.clients()[0]
    for vip in vips:
        if vip.startswith("198.18."):
            # Enough new connections to reach every back end of the pool, most likely.
            for _ in range(2 * len(live)):
                result = rig.topo.run(client, "curl", "-s", "--max-time", "2", f"http://{vip}/id", check=False)
                if not result.stdout.startswith("backend"):
                    return f"a new connection to {vip} failed (curl exit {result.returncode})"
    return None


def wait_quiet(rig, vips, timeout):
    """Seconds until quiet_problem() is None; raises TopologyError with the last problem."""
    started = time.monotonic()
    problem = None
    while time.monotonic() - started < timeout:
        try:
            problem = quiet_problem(rig, vips)
        except (OSError, TopologyError, ValueError, KeyError, subprocess.TimeoutExpired) as error:
            problem = f"{type(error).__name__}: {error}"
        if problem is None:
            return time.monotonic() - started
        time.sleep(0.5)
    raise TopologyError(f"not quiet {timeout} s after the heal: {problem}")


class ResourceTrack:
    """Descriptors and resident memory of every daemon at every quiet point. A daemon's
    first quiet sample is its baseline; growth is judged against it at the end, for
    daemons seen at `min_samples` quiet points or more (a restarted one starts anew)."""

    FD_SLACK = 3
    RSS_SLACK_KB = 8 * 1024
    RSS_SLACK_FRACTION = 0.10

    def __init__(self, min_samples=3):
        self.min_samples = min_samples
        self.series = {}  # (name, pid) -> [(fds, rss_kb)]

    def sample(self, daemons, resources):
        for name, pid in daemons.items():
            measured = resources(pid)
            if measured:
                self.series.setdefault((name, pid), []).append(measured)

    def report(self):
        rows = []
        for (name, pid), values in sorted(self.series.items()):
            (fd0, rss0), (fd1, rss1) = values[0], values[-1]
            judged = len(values) >= self.min_samples
            grew = judged and (fd1 > fd0 + self.FD_SLACK or
                               rss1 > rss0 + max(self.RSS_SLACK_KB, rss0 * self.RSS_SLACK_FRACTION))
            rows.append({"daemon": name, "pid": pid, "samples": len(values), "fds": [fd0, fd1],
                         "rss_kb": [rss0, rss1], "judged": judged, "grew": grew})
        return rows


def judge_clients(paths, backend_deaths):
    """Resets on long connections that no back-end death explains, and totals.
    backend_deaths: [(time, "backendN")]."""
    unexplained, totals, errors = [], {}, {}
    for path in paths:
        last_counts, opened = {}, {}
        for line in open(path):
            record = json.loads(line)
            if record["kind"] == "counts":
                last_counts = record
                continue
            if record["event"] == "open":
                opened[record["conn"]] = record["t"]
                continue
            key = f"{record['kind']} {record['error'].split(':')[0]}"
            errors[key] = errors.get(key, 0) + 1
            if record["kind"] == "long" and record["error"] == "reset":
                # Its back end died while it was open: a request may wait out the outage
                # in TCP retransmissions and meet the back end's next life.
                began = opened.get(record["conn"], 0)
                explained = any(who == record.get("backend") and began - 1 <= t <= record["t"] + 1
                                for t, who in backend_deaths)
                if not explained:
                    unexplained.append(record)
        for key, value in last_counts.items():
            if key not in ("t", "kind"):
                totals[key] = totals.get(key, 0) + value
    return unexplained, totals, errors
