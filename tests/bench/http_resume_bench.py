#!/usr/bin/env python3
"""The HTTP path's benchmark (issue 13), in one run on one topology (three gateways, one
client, three nginx back ends serving the same files; fast path off, so both proxies
below sit on the same host stack of gateway 1):

1. Throughput: parallel downloads of a 200 MB file through ringgate's HTTP path
   (VIP 198.18.0.100:80) beside nginx as a reverse proxy (`proxy_pass` to the same three
   back ends, round robin, `proxy_buffering off` with one 64 KB buffer: the same memory
   model as ringgate's proxy, one worker as ringgate's one proxy thread) on gateway 1's
   own address, alternating (which goes first alternates too), --rounds each; the ratio
   of the medians. Beside it, each proxy's own CPU time per GB moved (ringgated's
   rg-http threads, nginx's worker): the figure least moved by other load on the machine.
2. Resume trials: a client downloads the 200 MB file unthrottled, timing every read;
   the serving back end dies at a random point (kill -9 of nginx, or every third trial
   its link taken down: a silent back end, detected by stall_ms). Counted: trials,
   completed intact, corrupt (complete but wrong bytes); the client-visible pause at the
   death is the longest gap between two reads.
3. The token's timers under proxy load: detection time of a gateway's death (kill -9 of
   gateway 2 or 3, until the survivors' membership excludes it), with and without
   saturating downloads through gateway 1's proxy (--parallel clients downloading back
   to back; their rate during the series is printed beside the throughput above).
The last line is one JSON object."""
import argparse
import hashlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent / "tools"))
from cluster_harness import SOURCE, Cluster, private_config, require_root, unique_name  # noqa: E402
from topology import Topology, wait_until  # noqa: E402

EXAMPLE = SOURCE / "config" / "examples" / "http-link.yaml"
VIP = "198.18.0.100"
NGINX_PROXY_PORT = 8088

NGINX_PROXY = """worker_processes 1;
pid {root}/proxy.pid;
error_log {root}/proxy-error.log;
daemon off;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    upstream farm {{ server 198.19.0.51:80; server 198.19.0.52:80; server 198.19.0.53:80; }}
    server {{
        listen 198.18.0.1:{port} backlog=4096;
        location / {{
            proxy_pass http://farm;
            proxy_buffering off;
            proxy_buffer_size 64k;
            proxy_buffers 4 64k;
            proxy_busy_buffers_size 128k;
        }}
    }}
}}
"""

# Downloads `url` unthrottled; prints bytes, SHA-256 and the longest gap between reads (ms).
TIMED_CLIENT = r"""
import hashlib, socket, sys, time
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, port), timeout=30)
s.sendall(("GET %s HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n" % path).encode())
buf = b""
while b"\r\n\r\n" not in buf:
    buf += s.recv(65536)
head, body = buf.split(b"\r\n\r\n", 1)
length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
h = hashlib.sha256(body)
got, last, gap = len(body), time.monotonic(), 0.0
while got < length:
    try:
        data = s.recv(1 << 20)
    except OSError:
        break
    now = time.monotonic()
    if not data:
        break
    gap = max(gap, now - last)
    last = now
    got += len(data)
    h.update(data)
print(got, h.hexdigest(), round(gap * 1000, 1))
"""


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def make_files(topo):
    shared = topo.work_dir / "shared-200m"
    rng = random.Random(13)
    block = rng.randbytes(1 << 20)
    with open(shared, "wb") as f:
        for _ in range(200):
            f.write(block)
            block = block[1:] + block[:1]
    for backend in topo.backends():
        os.link(shared, topo.work_dir / f"backend{backend.index}" / "www" / "same-200m")
    return sha256(shared)


def throughput(topo, url, parallel, size):
    cmd = " & ".join(f"curl -s -o /dev/null --max-time 120 {url}" for _ in range(parallel)) + " & wait"
    t0 = time.monotonic()
    topo.run(topo.clients()[0], "sh", "-c", cmd, timeout=200)
    return parallel * size / (time.monotonic() - t0) / 1e6


def cpu_seconds(pid, thread_name=None):
    """User + system CPU time of a process's threads (those named thread_name, if given)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        name, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        if thread_name is None or name == thread_name:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def measured(topo, url, parallel, size, pid, thread_name=None):
    """(MB/s, the proxy's CPU seconds per GB) of one round."""
    before = cpu_seconds(pid, thread_name)
    rate = throughput(topo, url, parallel, size)
    return rate, (cpu_seconds(pid, thread_name) - before) / (parallel * size / 1e9)


def serving(topo):
    found = []
    for backend in topo.backends():
        out = topo.run(backend, "ss", "-Htn", "state", "established", "( sport = :80 )", check=False).stdout
        if out.strip():
            found.append(backend)
    return found


def restart_nginx(topo, backend):
    root = topo.work_dir / f"backend{backend.index}"
    (root / "nginx.pid").unlink(missing_ok=True)
    topo.spawn(backend, ["nginx", "-c", str(root / "nginx.conf"), "-p", str(root)])
    wait_until(lambda: topo.run(backend, "curl", "-sf", "-o", "/dev/null", "--max-time", "1",
                                f"http://{backend.address}/id", check=False).returncode == 0, 10, "nginx again")


def kill_nginx(topo, backend):
    pid = int((topo.work_dir / f"backend{backend.index}" / "nginx.pid").read_text())
    os.killpg(os.getpgid(pid), signal.SIGKILL)


def resume_trials(topo, trials, digest, rng):
    script = topo.work_dir / "timed_client.py"
    script.write_text(TIMED_CLIENT)
    completed = corrupt = 0
    pauses = []
    for trial in range(trials):
        proc = topo.spawn(topo.clients()[0], [sys.executable, str(script), VIP, "80", "/same-200m"],
                          stdout=subprocess.PIPE)
        wait_until(lambda: serving(topo) or proc.poll() is not None, 10, "a serving back end")
        time.sleep(rng.uniform(0.02, 0.25))  # the random point of death
        victims = serving(topo)
        link = trial % 3 == 2
        for victim in victims:
            if link:
                topo.run(victim, "ip", "link", "set", "eth0", "down")
            else:
                kill_nginx(topo, victim)
        out, _ = proc.communicate(timeout=120)
        for victim in victims:
            if link:
                topo.run(victim, "ip", "link", "set", "eth0", "up")
                kill_nginx(topo, victim)
            restart_nginx(topo, victim)
        got, got_digest, gap = out.decode().split()
        intact = int(got) == 200 << 20 and got_digest == digest
        completed += intact
        corrupt += int(got) == 200 << 20 and got_digest != digest
        if victims:
            pauses.append(float(gap))
        print(f"trial {trial + 1}: {'link down' if link else 'kill -9'} of {len(victims)} back end(s), "
              f"{'intact' if intact else 'NOT intact'}, longest pause {gap} ms", flush=True)
    return completed, corrupt, pauses


def detection(cluster, rounds, rng):
    times = []
    for _ in range(rounds):
        wait_until(lambda: all(len(cluster.query(n, "members")["members"]) == 3 for n in (1, 2, 3)), 20,
                   "a whole ring")
        time.sleep(rng.uniform(0, 0.1))  # a random phase of the token's rotation
        victim = rng.choice([2, 3])
        survivors = [n for n in (1, 2, 3) if n != victim]
        t0 = time.monotonic()
        cluster.kill(victim)
        while not all(victim not in [m["id"] for m in cluster.query(n, "members")["members"]] for n in survivors):
            if time.monotonic() - t0 > 10:
                raise AssertionError(f"node {victim} never excluded")
            time.sleep(0.005)  # polls a little apart: the load must keep the cores, not ringgatectl
        times.append((time.monotonic() - t0) * 1000)
        cluster.start(victim)
    return times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5, help="throughput rounds per proxy")
    parser.add_argument("--parallel", type=int, default=4, help="parallel downloads per round")
    parser.add_argument("--trials", type=int, default=20, help="resume trials")
    parser.add_argument("--kills", type=int, default=10, help="gateway kills per detection series")
    args = parser.parse_args()
    require_root()
    rng = random.Random(1302)
    with Topology.create(unique_name("httpbench"), gateways=3, clients=1, backends=3, files=[]) as topo:
        digest = make_files(topo)
        root = topo.work_dir
        (root / "proxy.conf").write_text(NGINX_PROXY.format(root=root, port=NGINX_PROXY_PORT))
        topo.spawn(topo.gateway(1), ["nginx", "-c", str(root / "proxy.conf"), "-p", str(root)])
        config = private_config(EXAMPLE, topo.work_dir, [
            (r"^  nodes:\n", "  nodes:\n    - id: 3\n      addresses: { external: 198.18.0.3, internal: 198.19.0.3 }\n"),
            (r"^  enabled: true$", "  enabled: false")])
        with Cluster(config, topo.work_dir, topo) as cluster:
            for node in (1, 2, 3):
                cluster.start(node)
            wait_until(lambda: topo.run(topo.clients()[0], "curl", "-sf", "-o", "/dev/null", f"http://{VIP}/id",
                                        check=False).returncode == 0, 20, "the VIP's proxy")
            wait_until(lambda: topo.run(topo.clients()[0], "curl", "-sf", "-o", "/dev/null",
                                        f"http://198.18.0.1:{NGINX_PROXY_PORT}/id", check=False).returncode == 0,
                       20, "nginx proxy")
            nginx_master = int((root / "proxy.pid").read_text())
            nginx_worker = int(subprocess.run(["pgrep", "-P", str(nginx_master)], capture_output=True,
                                              text=True).stdout.split()[0])
            ringgated = cluster.nodes[1].proc.pid
            ours, theirs, our_cpu, their_cpu = [], [], [], []
            for round_ in range(args.rounds):
                def ringgate():
                    rate, cpu = measured(topo, f"http://{VIP}/same-200m", args.parallel, 200 << 20, ringgated,
                                         "rg-http")
                    ours.append(rate)
                    our_cpu.append(cpu)

                def nginx():
                    rate, cpu = measured(topo, f"http://198.18.0.1:{NGINX_PROXY_PORT}/same-200m", args.parallel,
                                         200 << 20, nginx_worker)
                    theirs.append(rate)
                    their_cpu.append(cpu)
                for run in ((ringgate, nginx) if round_ % 2 == 0 else (nginx, ringgate)):
                    run()
                print(f"throughput: ringgate {ours[-1]:.0f} MB/s ({our_cpu[-1]:.2f} CPU s/GB), "
                      f"nginx {theirs[-1]:.0f} MB/s ({their_cpu[-1]:.2f} CPU s/GB)", flush=True)

            completed, corrupt, pauses = resume_trials(topo, args.trials, digest, rng)

            idle = detection(cluster, args.kills, rng)
            load = topo.spawn(topo.clients()[0], ["sh", "-c", " & ".join(
                f"while true; do curl -s -o /dev/null http://{VIP}/same-200m; done"
                for _ in range(args.parallel)) + " & wait"])
            time.sleep(1)  # the downloads are running (warm-up, not a condition wait)
            before = cluster.query(1, "http-stats")["services"][0]["bytes_to_clients"]
            t0 = time.monotonic()
            loaded = detection(cluster, args.kills, rng)
            load_rate = (cluster.query(1, "http-stats")["services"][0]["bytes_to_clients"] - before) / \
                (time.monotonic() - t0) / 1e6
            os.killpg(load.pid, signal.SIGKILL)

    ratio = statistics.median(ours) / statistics.median(theirs)
    summary = {
        "throughput_ratio_vs_nginx": round(ratio, 3),
        "ringgate_mb_s": round(statistics.median(ours), 1),
        "nginx_proxy_mb_s": round(statistics.median(theirs), 1),
        "ringgate_cpu_s_per_gb": round(statistics.median(our_cpu), 2),
        "nginx_cpu_s_per_gb": round(statistics.median(their_cpu), 2),
        "cpu_ratio_vs_nginx": round(statistics.median(our_cpu) / statistics.median(their_cpu), 3),
        "resume_trials": args.trials,
        "resume_completed": completed,
        "resume_corrupt": corrupt,
        "stall_p50_ms": percentile(pauses, 50) if pauses else None,
        "stall_p99_ms": percentile(pauses, 99) if pauses else None,
        "detection_idle_p50_ms": round(percentile(idle, 50), 1),
        "detection_idle_max_ms": round(max(idle), 1),
        "detection_loaded_p50_ms": round(percentile(loaded, 50), 1),
        "detection_loaded_max_ms": round(max(loaded), 1),
        "load_during_detection_mb_s": round(load_rate, 1),
    }
    print(json.dumps(summary))
    # Speed is reported, not judged here; wrong or missing bytes are a failure.
    if corrupt or completed < args.trials:
        sys.exit(1)


if __name__ == "__main__":
    main()
