#!/usr/bin/env python3
"""The chaos soak (issue 15): the whole system in namespaces under random faults drawn
from a seed, with its invariants checked all along (tests/chaos/chaos_checks.py).

    chaos_soak.py [--seed N] [--minutes M] [--gateways 3|5] [--faults kill,stop,...]

Rounds until the time is up: draw one to three faults (tests/chaos/chaos_faults.py),
hold them 1-6 s, heal them, wait for quiet (bounded), check. Meanwhile arping watches
every VIP and clients keep long and short HTTP connections through the VIPs. A failing
run stops at the end of its round, prints what broke, the seed and the command that
replays the same schedule, and keeps its logs. Results: docs/CHAOS.md.
"""
import argparse
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent.parent
os.environ.setdefault("RINGGATE_SOURCE", str(SOURCE))
os.environ.setdefault("RINGGATE_BUILD", str(SOURCE / "build"))
sys.path[:0] = [str(SOURCE / "tools"), str(SOURCE / "tests" / "registry")]

import chaos_checks  # noqa: E402  (after the path set-up above)
import chaos_faults  # noqa: E402
import netfault  # noqa: E402
from chaos_rig import EXTERNAL_VIPS, INTERNAL_VIPS, ChaosTopology, Rig, resources  # noqa: E402
from cluster_harness import require_root  # noqa: E402
from topology import TopologyError  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=None, help="the fault schedule's seed (default: random)")
    parser.add_argument("--minutes", type=float, default=3.0, help="how long to inject faults")
    parser.add_argument("--gateways", type=int, default=3, choices=[3, 5])
    parser.add_argument("--backends", type=int, default=4)
    parser.add_argument("--faults", default=",".join(chaos_faults.HELD_KINDS),
                        help=f"comma-separated kinds of {', '.join(chaos_faults.ALL_KINDS)} (default: the kinds "
                             f"the system holds today; {', '.join(chaos_faults.PENDING_KINDS)} do not hold yet: "
                             "docs/CHAOS.md)")
    parser.add_argument("--failover-bound", type=float, default=3.0,
                        help="seconds a VIP may go unanswered (arping resolution: 1 s)")
    parser.add_argument("--settle", type=float, default=30.0, help="seconds allowed to become quiet after a heal")
    parser.add_argument("--keep-logs", default="/tmp", help="where a failing run copies its logs")
    parser.add_argument("--keep-going", action="store_true",
                        help="do not stop at the first broken invariant: run the whole time and count them all")
    args = parser.parse_args()
    kinds = args.faults.split(",")
    unknown = [k for k in kinds if k not in chaos_faults.ALL_KINDS]
    if unknown:
        parser.error(f"unknown fault kinds {unknown}; known: {chaos_faults.ALL_KINDS}")
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 2**31)
    args.kinds = kinds
    return args


def replay_command(args):
    build = os.environ["RINGGATE_BUILD"]
    where = "" if Path(build) == SOURCE / "build" else f"RINGGATE_BUILD={build} "
    return (f"sudo {where}python3 {SOURCE / 'tests/chaos/chaos_soak.py'} --seed {args.seed} --minutes {args.minutes:g} "
            f"--gateways {args.gateways} --backends {args.backends} --faults {','.join(args.kinds)}"
            + (" --keep-going" if args.keep_going else ""))


def run(args, topo, log):
    rig = Rig(topo, args.gateways, f"chaos{os.getpid()}")
    rng = random.Random(args.seed)
    vips = EXTERNAL_VIPS + INTERNAL_VIPS
    violations = []
    started = time.monotonic()
    rig.start()
    log(f"started: {args.gateways} gateways, 2 registries, {args.backends} back ends, 2 clients "
        f"in {time.monotonic() - started:.0f} s")
    log(f"quiet after start in {chaos_checks.wait_quiet(rig, vips, 60):.1f} s")
    rig.start_clients()
    clients = [c for c in topo.clients()]
    watch = chaos_checks.ArpWatch(topo, {clients[0].namespace: EXTERNAL_VIPS[:2],
                                         clients[1].namespace: EXTERNAL_VIPS[2:],
                                         topo.ctl.namespace: INTERNAL_VIPS}, args.failover_bound)
    watch.start()
    track = chaos_checks.ResourceTrack()
    backend_deaths = []
    injected = {}
    quiet_times = []
    deadline = time.monotonic() + args.minutes * 60
    round_number = 0
    try:
        while time.monotonic() < deadline and (args.keep_going or not violations):
            round_number += 1
            round_start = time.time()
            busy_gateways, busy_hosts, faults = set(), set(), []
            for _ in range(rng.randint(1, 3)):
                fault = chaos_faults.draw(rng, args.kinds, rig, busy_gateways, busy_hosts)
                if fault is None:
                    break
                faults.append(fault)
                injected[fault.kind] = injected.get(fault.kind, 0) + 1
                if fault.kind == "backend":
                    index = fault.detail.split()[0]
                    backend_deaths.append((time.time(), index))
            hold = rng.uniform(1, 6)
            what = "; ".join(f.describe() for f in faults)
            log(f"round {round_number}: {what} for {hold:.1f} s")
            before = len(violations)
            time.sleep(hold)
            for fault in faults:
                fault.heal()
            try:
                quiet_times.append(chaos_checks.wait_quiet(rig, vips, args.settle))
            except TopologyError as error:
                violations.append(f"round {round_number} ({what}): {error}")
            track.sample(rig.daemons(), resources)
            violations += [f"round {round_number} ({what}): {p}" for p in watch.problems_since(round_start)]
            log(f"round {round_number}: quiet after {quiet_times[-1] if quiet_times else 0:.1f} s"
                if len(violations) == before else f"round {round_number}: FAILED")
    finally:
        watch.stop()
        rig.stop_clients()
    # A silence still open at the end of the run.
    violations += [f"end: {p}" for p in watch.problems_since(time.time() - 1) if "unanswered" in p]
    unexplained, totals, errors = chaos_checks.judge_clients([out for _, _, out in rig.clients], backend_deaths)
    for record in unexplained:
        violations.append(f"reset on long connection {record['conn']} to {record['vip']} ({record['backend']}, "
                          f"last answer t={record['since']}, reset t={record['t']:.1f}); no back-end death explains it")
    growth = track.report()
    for row in growth:
        if row["grew"]:
            violations.append(f"{row['daemon']} (pid {row['pid']}) grew: fds {row['fds'][0]}->{row['fds'][1]}, "
                              f"RSS {row['rss_kb'][0]}->{row['rss_kb'][1]} kB over {row['samples']} quiet points")
    summary = {"seed": args.seed, "minutes": args.minutes, "gateways": args.gateways, "faults": args.kinds,
               "rounds": round_number, "injected": injected, "arping_samples": watch.samples,
               "late_doubles": [[round(t, 1), vip, who] for t, vip, who in watch.late_doubles],
               "longest_silence_s": {v: round(s, 2) for v, s in watch.longest.items()},
               "quiet_s_max": round(max(quiet_times, default=0), 1),
               "quiet_s_mean": round(sum(quiet_times) / len(quiet_times), 1) if quiet_times else None,
               "clients": totals, "client_errors": errors,
               "daemons_judged": sum(1 for r in growth if r["judged"]),
               "resources": [{k: r[k] for k in ("daemon", "samples", "fds", "rss_kb")} for r in growth if r["judged"]],
               "violations": violations}
    return summary, rig


def main():
    args = parse_args()
    require_root()
    if "loss" in args.kinds or "oneway" in args.kinds:
        missing = netfault.loss_available()
        if missing:
            print(f"SKIP: loss faults need {missing}")
            return 77
    name = f"chaos{os.getpid() % 100000}"
    print(f"chaos soak: seed {args.seed}; replay: {replay_command(args)}", flush=True)
    t0 = time.monotonic()

    def log(text):
        print(f"[{time.monotonic() - t0:7.1f}] {text}", flush=True)

    topo = ChaosTopology.build(name, backends=args.backends, registries=2, gateways=args.gateways, clients=2)
    with topo:
        summary, rig = None, None
        try:
            summary, rig = run(args, topo, log)
        except BaseException as error:
            summary = {"seed": args.seed, "violations": [f"the soak itself failed: {type(error).__name__}: {error}"]}
            raise
        finally:
            if summary and summary["violations"]:
                print(f"FAIL: {len(summary['violations'])} invariant(s) broken:", file=sys.stderr)
                for violation in summary["violations"]:
                    print(f"  {violation}", file=sys.stderr)
                kept = Path(args.keep_logs) / f"ringgate-chaos-{args.seed}-{os.getpid()}"
                shutil.copytree(topo.work_dir, kept, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("*.db*", "www", "*.pem", "*.sock", "*.key"))
                print(f"seed {args.seed}; logs kept in {kept}", file=sys.stderr)
                print(f"replay: {replay_command(args)}", file=sys.stderr)
            if rig:
                rig.cluster.stop_all()
    print(json.dumps(summary))
    return 1 if summary["violations"] else 0


if __name__ == "__main__":
    sys.exit(main())
