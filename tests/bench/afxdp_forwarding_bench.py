#!/usr/bin/env python3
"""ringgate's fast path beside dpdk-testpmd mac forwarding on the same AF_XDP veth ports
(issue 4, section 7: "over veth with AF_XDP: within 1.15x of testpmd mac forwarding").

    generator namespace          DUT namespace                 sink namespace
    eth0 198.18.0.201  ==veth==  ext0 198.18.0.1 | int0 198.19.0.1  ==veth==  eth0 198.19.0.51

Devices under test, run alternately (A B C A B C ...) on the same veths, each owning
both ends through the DPDK AF_XDP PMD (copy mode: veths have no zero-copy; the same
devargs) with one worker lcore on CPU 1 and its main lcore on CPU 0:
  testpmd           dpdk-testpmd --forward-mode=mac, --eth-peer set to the sink's MAC
  ringgate          build/control/ringgated, one gateway: UDP service 198.18.0.100:9000
                    -> back end 198.19.0.51:9000 (--nat dnat, default, or fullnat),
                    ringgate's own XDP program steering the VIP's traffic to the fast
                    path; `idle: poll`, a worker that spins like testpmd's (like for like:
                    the ratio of the goal)
  ringgate-backoff  the same with the default `idle: backoff` (--no-backoff leaves it out)
Generator (pinned to CPU 0): an XDP program run with BPF_PROG_RUN in live-frames mode
(afxdp_bench_xdp generate) sends 64-byte UDP frames to the DUT's MAC and the VIP:port, the
source port cycling over --flows ports, i.e. that many flows, which ringgate's connection
table holds as established UDP entries. It offers several times what either DUT forwards,
so the DUT's own cost sets the rate.
Sink: an XDP program on the sink's veth end (afxdp_bench_xdp sink) counts and drops IPv4
and passes ARP to the sink's kernel, which answers ringgate's resolution of the back end.

Each round: start the DUT, start the generator, wait for forwarded frames, warm up, then
count over a fixed window: frames at the sink (Mpps) and the DUT process's CPU time
(utime+stime; cycles/packet = CPU seconds x TSC Hz / frames), besides the DUT's sleeps
(voluntary context switches) and what its socket refused (veth counters). The kernel's
receive work for the DUT (veth NAPI, XDP program, copy into the UMEM) runs in softirq on
the generator's CPU, or in the DUT's own recvfrom when the PMD's preferred busy polling
picks it up; its transmit work (copy, veth, the sink's XDP) runs in the DUT's sendto. Only
what runs in the DUT's context is in its figure, alike for every DUT. Medians over the
rounds; ratio = ringgate / testpmd cycles/packet (goal <= 1.15). Forwarding is checked in
every round: every frame at the sink carries the right MACs and the untouched (testpmd)
or translated (ringgate) destination and source (the client's, fullnat's NAT source), and
for ringgate `ringgatectl stats --json` counts what the sink saw and exactly --flows new
flows.

Prints a table; the last line is one JSON object. Needs root; exit 77 without it or
without dpdk-testpmd, 1 when forwarding is wrong (or the goal is missed and
--require-goal is given).
Usage: afxdp_forwarding_bench.py [--rounds 4] [--window 4] [--warmup 1] [--flows 8192]
                                 [--nat dnat|fullnat] [--no-backoff] [--quick] [--require-goal]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from cluster_harness import BUILD, Cluster, require_root, unique_name  # noqa: E402
from topology import (EXTERNAL_NET, INTERNAL_NET, Host, Topology, TopologyError, mac, sh,  # noqa: E402
                      wait_until)

BENCH_TOOL = BUILD / "tests" / "dataplane" / "afxdp_bench_xdp"
VIP, VIP_PORT = "198.18.0.100", 9000
INTERNAL_VIP = "198.19.0.100"
DPDK_RUNTIME = Path("/var/run/dpdk")
GOAL_COST_RATIO = 1.15
FRAME_BYTES = 64
WORKER_CPU = 1        # both DUTs' polling lcore
GENERATOR_CPU = 0     # shared with both DUTs' (mostly idle) main lcore

CONFIG = """\
cluster:
  name: {name}
  config_version: 1
  nodes:
    - {{ id: 1, addresses: {{ external: {dut_ext}, internal: {dut_int} }} }}
subnets:
  - name: external
    prefix: 198.18.0.0/24
    vips:
      - {{ address: {vip} }}
  - name: internal
    prefix: 198.19.0.0/24
    vips:
      - {{ address: {internal_vip} }}
pools:
  - name: sink
    backends:
      - {{ address: {backend}, port: {port} }}
services:
  - {{ name: bench, vip: {vip}, port: {port}, protocol: udp, pool: sink, nat: {nat} }}
management:
  socket: {work}/ringgated-{{node}}.sock
dataplane:
  enabled: true
  hugepages: false
  memory_mb: 512
  lcores: [{worker}]
  idle: {{ policy: {idle}, max_sleep_us: 1000 }}
  tables: {{ connections: {connections}, neighbours: 256 }}
  ports:
    - {{ name: ext, subnet: external, driver: af_xdp, interface: ext0 }}
    - {{ name: int, subnet: internal, driver: af_xdp, interface: int0 }}
"""


class ForwardingTopology(Topology):
    """generator -- DUT -- sink on two point-to-point veths (no switches): the shared
    topology tool's namespaces, state file, stale cleanup and teardown, its addressing
    plan (the generator is client 1, the DUT gateway 1, the sink back end 1)."""

    def _build(self):
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.save()
        gen = self._host("client", 1, {"eth0": (EXTERNAL_NET[201], mac(0x12, 2, 1))})
        dut = self._host("gw", 1, {"ext0": (EXTERNAL_NET[1], mac(0x12, 1, 1)),
                                   "int0": (INTERNAL_NET[1], mac(0x13, 1, 1))})
        sink = self._host("backend", 1, {"eth0": (INTERNAL_NET[51], mac(0x13, 3, 1))})
        self._wire(gen, "eth0", dut, "ext0")
        self._wire(dut, "int0", sink, "eth0")
        self.check_isolation()

    def _host(self, role, index, interfaces):
        namespace = self.ns(role, index)
        self._add_namespace(namespace)
        host = Host(role, index, namespace, {i: str(a) for i, (a, _) in interfaces.items()},
                    {i: m for i, (_, m) in interfaces.items()})
        self.hosts.append(host)
        self.save()
        return host

    def _wire(self, a, a_if, b, b_if):
        # Created inside a's namespace, the peer moved straight into b's: nothing in root.
        sh("ip", "-n", a.namespace, "link", "add", a_if, "type", "veth", "peer", "name", b_if,
           "netns", b.namespace)
        for host, ifname in ((a, a_if), (b, b_if)):
            sh("ip", "-n", host.namespace, "link", "set", ifname, "address", host.macs[ifname])
            sh("ip", "-n", host.namespace, "addr", "add", f"{host.addresses[ifname]}/24", "dev", ifname)
            sh("ip", "-n", host.namespace, "link", "set", ifname, "up")


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tsc_hz():
    """The CPU's nominal clock (the TSC rate on this VM), from /proc/cpuinfo."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("cpu MHz"):
            return float(line.split(":")[1]) * 1e6
    raise TopologyError("no 'cpu MHz' in /proc/cpuinfo")


class LineTool:
    """afxdp_bench_xdp in a namespace, asked for its counters one line at a time."""

    def __init__(self, topo, host, args, log_name, cpu=None):
        pin = ["taskset", "-c", str(cpu)] if cpu is not None else []
        # Answers on stdout (a pipe), complaints in the run's log.
        self.proc = topo.spawn(host, [*pin, str(BENCH_TOOL), *args], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=open(topo.work_dir / f"{log_name}.log", "ab"),
                               text=True)
        self.log_name = log_name

    def read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise TopologyError(f"{self.log_name} exited with {self.proc.wait()}")
        return json.loads(line)

    def ask(self):
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        answer = self.read()
        if "error" in answer:
            raise TopologyError(f"{self.log_name}: {answer['error']}")
        return answer

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


class TestpmdDut:
    name = "testpmd"

    def __init__(self, topo, dut, sink):
        self.topo, self.dut, self.sink = topo, dut, sink
        self.log = topo.work_dir / "testpmd.log"
        self.proc = None

    def start(self):
        # The same PMD and devargs ringgated uses (dataplane/eal.cpp), its default XDP
        # program instead of ringgate's; one forwarding lcore, like ringgated's one worker.
        self.log.write_text("")
        vdevs = []
        for n, ifname in enumerate(("ext0", "int0")):
            vdevs += ["--vdev", f"net_af_xdp{n},iface={ifname},start_queue=0,queue_count=1"]
        # Line-buffered, so that its "Press enter to exit" (forwarding started) shows in the log.
        cmd = ["stdbuf", "-oL", "dpdk-testpmd", "-l", f"{GENERATOR_CPU},{WORKER_CPU}",
               "--main-lcore", str(GENERATOR_CPU), "--no-huge", "-m", "512", "--no-pci",
               "--file-prefix", self.file_prefix(),
               *vdevs, "--log-level", "lib.eal:warning", "--",
               "--forward-mode=mac", f"--eth-peer=0,{self.topo.clients()[0].macs['eth0']}",
               f"--eth-peer=1,{self.sink.macs['eth0']}", "--total-num-mbufs=16384", "--nb-cores=1"]
        self.proc = self.topo.spawn(self.dut, cmd, log_path=self.log, stdin=subprocess.PIPE)

        def ready():
            if self.proc.poll() is not None:
                raise TopologyError(f"dpdk-testpmd exited with {self.proc.returncode}:\n{self.log.read_text()}")
            return "Press enter to exit" in self.log.read_text(errors="replace")
        wait_until(ready, timeout=30, what="dpdk-testpmd forwarding")

    def file_prefix(self):
        return f"{self.topo.name}-testpmd"

    def pid(self):
        return self.proc.pid

    def counters(self):
        return {}

    def stop(self):
        # Enter ends testpmd cleanly: its ports close and the PMD detaches its XDP program.
        try:
            self.proc.stdin.write(b"\n")
            self.proc.stdin.close()
            self.proc.wait(20)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


class RinggateDut:
    def __init__(self, name, topo, dut, config):
        self.name, self.topo, self.dut = name, topo, dut
        self.cluster = Cluster(config, topo.work_dir, topo)

    def start(self):
        self.cluster.start(1)

        # Ready when the back end is resolved and the node owns its VIPs: a fullnat flow
        # created before it owns the internal VIP takes the node's own address as its
        # source (by design) and would keep it.
        def ready():
            stats = self.cluster.query(1, "stats")
            return (any(b["live"] for b in stats["backends"]) and stats["neighbours"] >= 1
                    and all(v["owned"] for v in stats["vips"]))
        wait_until(ready, timeout=20, what="ringgated owning its VIPs and resolving its back end")

    def pid(self):
        return self.cluster.nodes[1].proc.pid

    def counters(self):
        stats = self.cluster.query(1, "stats")
        service = next(s for s in stats["services"] if s["name"] == "bench")
        drops = {}
        for port in stats["ports"]:
            for reason, count in port["drops"].items():
                drops[reason] = drops.get(reason, 0) + count
        return {"service_packets": service["packets"], "new_flows": service["new_flows"], "drops": drops}

    def file_prefix(self):
        return f"ringgate-{self.topo.name}-1"  # dataplane/eal.cpp: ringgate-<cluster>-<node>

    def stop(self):
        self.cluster.stop(1)


def detach_leftover_xdp(topo, dut):
    """Neither DUT may find the other's XDP program: a killed process leaves it attached."""
    for ifname in ("ext0", "int0"):
        sh("ip", "-n", dut.namespace, "link", "set", "dev", ifname, "xdp", "off", check=False)


def veth_stats(namespace, ifname):
    """The veth's own per-queue counters (ethtool -S)."""
    out = sh("ip", "netns", "exec", namespace, "ethtool", "-S", ifname).stdout
    return {k.strip(): int(v) for k, v in (line.split(":") for line in out.splitlines()[1:])}


def voluntary_switches(pid):
    """How often the DUT's threads gave up the CPU (sleeps, blocking calls)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                total += int(line.split()[1])
    return total


def snapshot(topo, dut_runner, generator, sink):
    ext0 = veth_stats(topo.gateway(1).namespace, "ext0")
    return {"time": time.monotonic(), "cpu": cpu_seconds(dut_runner.pid()),
            "generator_cpu": cpu_seconds(generator.proc.pid),
            "sleeps": voluntary_switches(dut_runner.pid()),
            "sent": generator.ask()["frames_sent"], "sink": sink.ask(), "dut": dut_runner.counters(),
            # what the DUT's XDP program handed to its AF_XDP socket, and what the socket
            # refused (no free buffer: the DUT did not keep up; DPDK counts them as imissed)
            "to_socket": ext0["rx_queue_0_xdp_redirect"], "socket_drops": ext0["rx_queue_0_drops"]}


def measure_round(topo, dut_runner, args, hz, sink):
    gen_host, dut = topo.clients()[0], topo.gateway(1)
    detach_leftover_xdp(topo, dut)
    dut_runner.start()
    generator = None
    try:
        generator = LineTool(topo, gen_host, [
            "generate", "--interface", "eth0", "--src-mac", gen_host.macs["eth0"],
            "--dst-mac", dut.macs["ext0"], "--src", f"{gen_host.address}:1024",
            "--dst", f"{VIP}:{VIP_PORT}", "--flows", str(args.flows), "--size", str(FRAME_BYTES)],
            "generator", cpu=GENERATOR_CPU)  # it and the veth softirq it runs: off the worker's CPU
        first = sink.ask()["ipv4_frames"]
        wait_until(lambda: sink.ask()["ipv4_frames"] > first + 1000, timeout=20,
                   what=f"frames forwarded by {dut_runner.name}")
        warm_end = time.monotonic() + args.warmup
        wait_until(lambda: time.monotonic() >= warm_end, timeout=args.warmup + 5, what="warm-up")
        before = snapshot(topo, dut_runner, generator, sink)
        window_end = before["time"] + args.window
        wait_until(lambda: time.monotonic() >= window_end, timeout=args.window + 5, what="window")
        after = snapshot(topo, dut_runner, generator, sink)
    finally:
        if generator:
            generator.stop()
        dut_runner.stop()
        detach_leftover_xdp(topo, dut)
        # EAL leaves its runtime directory behind; this one is the run's own.
        shutil.rmtree(DPDK_RUNTIME / dut_runner.file_prefix(), ignore_errors=True)
    return evaluate(dut_runner.name, before, after, hz, args)


def evaluate(name, before, after, hz, args):
    seconds = after["time"] - before["time"]
    delta = {k: after["sink"][k] - before["sink"][k] for k in after["sink"]}
    frames = delta["ipv4_frames"]
    cpu = after["cpu"] - before["cpu"]
    result = {"dut": name, "seconds": seconds, "frames": frames, "mpps": frames / seconds / 1e6,
              "offered_mpps": (after["sent"] - before["sent"]) / seconds / 1e6,
              "to_socket_mpps": (after["to_socket"] - before["to_socket"]) / seconds / 1e6,
              "socket_drops_mpps": (after["socket_drops"] - before["socket_drops"]) / seconds / 1e6,
              "cpu_share": cpu / seconds,
              "sleeps_per_s": (after["sleeps"] - before["sleeps"]) / seconds,
              # CPU 0 is shared: what the generator (and the receive softirq it runs) got
              "generator_cpu_share": (after["generator_cpu"] - before["generator_cpu"]) / seconds,
              "cycles_per_packet": cpu * hz / frames if frames else float("inf"), "problems": []}
    problems = result["problems"]
    if frames == 0:
        problems.append("nothing reached the sink")
    # testpmd's mac forwarding leaves the addresses alone; ringgate translates the
    # destination (the VIP) to the back end, and in fullnat the source to the NAT source.
    wrong = ["wrong_macs", "to_other", "to_backend" if name == "testpmd" else "to_vip", "from_other",
             "from_client" if name != "testpmd" and args.nat == "fullnat" else "from_nat"]
    for counter in wrong:
        if delta[counter]:
            problems.append(f"{delta[counter]} of {frames} frames {counter}")
    if name.startswith("ringgate"):
        sent = after["dut"]["service_packets"] - before["dut"]["service_packets"]
        result["ringgate_counted"] = sent
        # The two counters are read a few ms apart; at these rates that is well under 2%.
        if abs(sent - frames) > 0.02 * max(frames, 1):
            problems.append(f"ringgated counted {sent} service packets, the sink {frames}")
        if after["dut"]["new_flows"] != args.flows:
            problems.append(f"ringgated created {after['dut']['new_flows']} flows for {args.flows}")
        grown = {r: c - before["dut"]["drops"].get(r, 0) for r, c in after["dut"]["drops"].items()}
        result["ringgate_drops"] = {r: c for r, c in grown.items() if c}
    return result


def median(rounds, key):
    return statistics.median(r[key] for r in rounds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=4, help="rounds per DUT (>= 3)")
    parser.add_argument("--window", type=float, default=4.0, help="measured seconds per round")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before each window")
    parser.add_argument("--flows", type=int, default=8192, help="distinct UDP flows (source ports)")
    parser.add_argument("--nat", choices=["dnat", "fullnat"], default="dnat")
    parser.add_argument("--no-backoff", action="store_true",
                        help="leave out ringgated with its default idle back-off (poll only)")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 2 s (the meson 'bench' suite)")
    parser.add_argument("--require-goal", action="store_true",
                        help=f"exit 1 when ringgate costs more than {GOAL_COST_RATIO}x testpmd")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.window = 3, 2.0
    if args.rounds < 3 or args.window <= 0 or args.warmup < 0 or not 1 <= args.flows <= 60000:
        parser.error("--rounds >= 3, --window > 0, --warmup >= 0, --flows 1..60000")

    require_root()
    if shutil.which("dpdk-testpmd") is None:
        print("SKIP: dpdk-testpmd is not installed (the baseline)")
        return 77
    if not BENCH_TOOL.exists():
        print(f"SKIP: {BENCH_TOOL} not built (needs DPDK and libbpf)")
        return 77
    hz = tsc_hz()
    name = unique_name("afx")
    with ForwardingTopology.create(name, gateways=1, clients=0, backends=0) as topo:
        dut, sink_host = topo.gateway(1), topo.backends()[0]

        def ringgate(dut_name, idle):
            config = topo.work_dir / f"{dut_name}.yaml"
            config.write_text(CONFIG.format(
                name=name, work=topo.work_dir, dut_ext=dut.addresses["ext0"], dut_int=dut.addresses["int0"],
                vip=VIP, internal_vip=INTERNAL_VIP, backend=sink_host.address, port=VIP_PORT, nat=args.nat,
                idle=idle, worker=WORKER_CPU, connections=max(4096, 4 * args.flows)))
            return RinggateDut(dut_name, topo, dut, config)
        # ringgate spins like testpmd (like for like), and, unless left out, with the idle
        # back-off of its default configuration.
        duts = [TestpmdDut(topo, dut, sink_host), ringgate("ringgate", "poll")]
        if not args.no_backoff:
            duts.append(ringgate("ringgate-backoff", "backoff"))
        rounds = {runner.name: [] for runner in duts}
        sink = LineTool(topo, sink_host, [
            "sink", "--interface", "eth0", "--sink-mac", sink_host.macs["eth0"], "--dut-mac", dut.macs["int0"],
            "--vip", f"{VIP}:{VIP_PORT}", "--backend", f"{sink_host.address}:{VIP_PORT}",
            "--client", topo.clients()[0].address, "--nat-source", INTERNAL_VIP], "sink")
        sink.read()  # {"attached": true}
        try:
            for run in range(args.rounds):
                for runner in duts:
                    result = measure_round(topo, runner, args, hz, sink)
                    rounds[runner.name].append(result)
                    print(f"round {run + 1} {runner.name:<16} {result['mpps']:.3f} Mpps "
                          f"{result['cycles_per_packet']:>7,.0f} cycles/pkt  CPU {result['cpu_share']:>4.0%}  "
                          f"sleeps {result['sleeps_per_s']:>5.0f}/s  offered {result['offered_mpps']:.2f} "
                          f"(generator CPU {result['generator_cpu_share']:.0%})  "
                          f"to socket {result['to_socket_mpps']:.3f}  "
                          f"socket drops {result['socket_drops_mpps']:.3f} Mpps"
                          + (f"  drops {result['ringgate_drops']}" if result.get("ringgate_drops") else "")
                          + (f"  problems: {'; '.join(result['problems'])}" if result["problems"] else ""),
                          flush=True)
        finally:
            sink.stop()

    keys = ["mpps", "cycles_per_packet", "cpu_share", "sleeps_per_s", "offered_mpps", "generator_cpu_share",
            "to_socket_mpps", "socket_drops_mpps"]
    summary = {dut_name: {k: median(results, k) for k in keys} for dut_name, results in rounds.items()}
    base = summary["testpmd"]
    for dut_name, s in summary.items():
        s["cost_ratio"] = s["cycles_per_packet"] / base["cycles_per_packet"]
        s["throughput_ratio"] = base["mpps"] / s["mpps"]
    problems = [f"{r['dut']}: {p}" for results in rounds.values() for r in results for p in r["problems"]]

    print()
    print(f"AF_XDP over veth, {FRAME_BYTES}-byte UDP frames, {args.flows} flows, ringgate {args.nat}, "
          f"medians of {args.rounds} alternating rounds of {args.window:g} s, TSC {hz / 1e6:.0f} MHz")
    print(f"{'DUT':<18}{'Mpps':>7}{'cycles/pkt':>12}{'cost vs testpmd':>17}{'CPU':>6}{'sleeps/s':>10}"
          f"{'socket drops Mpps':>19}")
    for dut_name, s in summary.items():
        print(f"{dut_name:<18}{s['mpps']:>7.3f}{s['cycles_per_packet']:>12,.0f}{s['cost_ratio']:>16.2f}x"
              f"{s['cpu_share']:>6.0%}{s['sleeps_per_s']:>10.0f}{s['socket_drops_mpps']:>19.3f}")
    like = summary["ringgate"]
    goal_met = like["cost_ratio"] <= GOAL_COST_RATIO
    print(f"ringgate (polling) / testpmd: cost {like['cost_ratio']:.2f}x (goal <= {GOAL_COST_RATIO}: "
          f"{'met' if goal_met else 'NOT met'}), throughput testpmd/ringgate {like['throughput_ratio']:.2f}x")
    print("forwarding checked: " + ("every frame right (MACs, addresses, ringgate counters, flows)"
                                    if not problems else "; ".join(problems)))
    print(json.dumps({
        "bench": "afxdp_forwarding", "frame_bytes": FRAME_BYTES, "flows": args.flows, "nat": args.nat,
        "rounds": args.rounds, "window_s": args.window, "tsc_mhz": round(hz / 1e6),
        **{dut_name.replace("-", "_"): {k: round(v, 4) for k, v in s.items()} for dut_name, s in summary.items()},
        "cost_ratio": round(like["cost_ratio"], 3), "throughput_ratio": round(like["throughput_ratio"], 3),
        "goal_cost_ratio": GOAL_COST_RATIO, "goal_met": goal_met,
        "forwarding_ok": not problems, "problems": problems}))
    if problems or (args.require_goal and not goal_met):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
