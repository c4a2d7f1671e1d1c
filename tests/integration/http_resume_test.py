#!/usr/bin/env python3
"""The HTTP path (issue 13; WO 00/62502 §5, "Highly Available Internet Link"), with real
nginx back ends and curl clients in namespaces, in one of two modes (first argument):
  kernel    dataplane off: the VIP is on its owner's host stack, the proxy listens there;
  fastpath  AF_XDP fast path: ringgate's XDP program passes the service's VIP:port to the
            owner's host stack (and the rest of the VIP to the fast path).

Three nginx back ends serve the same files (hard links: same bytes, same ETag). Checked:
  - downloads (10 MB, 200 MB) through the VIP while the serving back end is killed
    (kill -9 of nginx) or its link taken down, at random points: curl exits 0, the
    SHA-256 is right, curl did not retry, and the proxy counts the resume;
  - a client's own Range, resumed inside the range;
  - back ends serving other versions of a file (other ETag): curl fails, and what it got
    is a prefix of one version, never a mix;
  - the quirk back ends (http_quirk_backend.py): chunked, 200 to a range, a second
    failure past the budget: the client's connection ends short;
  - chunked replies passed on intact; keep-alive sequences on one connection, HEAD,
    1,000 connections open at once, a client that reads slowly (served) and one that
    stops reading (dropped after client_write_timeout_ms), a slow-loris head.
"""
import asyncio
import hashlib
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time

from cluster_harness import SOURCE, Cluster, private_config, prometheus_families, require_root, unique_name
from http_quirk_backend import body as quirk_body
from topology import Topology, TopologyError, wait_until

EXAMPLE = SOURCE / "config" / "examples" / "http-link.yaml"
VIP = "198.18.0.100"
QUIRK_PORT = 8081
MODE = sys.argv[1] if len(sys.argv) > 1 else "kernel"
TRIALS = int(os.environ.get("HTTP_RESUME_TRIALS", "20"))

# One gateway; a second service on the quirk servers with a budget of one resume.
QUIRK_SERVICE = f"""
  - name: quirks
    vip: {VIP}
    port: {QUIRK_PORT}
    pool: quirk
    mode: http
    http: {{ resume: true, stall_ms: 500, max_resumes: 1, connect_timeout_ms: 500 }}
"""
QUIRK_POOL = """  - name: quirk
    backends:
      - { address: 198.19.0.51, port: 8081 }
      - { address: 198.19.0.52, port: 8081 }
      - { address: 198.19.0.53, port: 8081 }
"""


def configure(work_dir):
    replacements = [
        (r"^    - id: 2\n      addresses: .*\n", ""),
        (r"^services:\n", QUIRK_POOL + "\nservices:\n" + QUIRK_SERVICE),
        (r"client_write_timeout_ms: \d+", "client_write_timeout_ms: 2000"),
        (r"header_timeout_ms: \d+", "header_timeout_ms: 1000"),
    ]
    if MODE == "kernel":
        replacements.append((r"^  enabled: true$", "  enabled: false"))
    return private_config(EXAMPLE, work_dir, replacements)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Farm:
    """The topology's three nginx back ends, with shared files and kill/restart."""

    def __init__(self, topo):
        self.topo = topo
        self.files = {}
        shared = topo.work_dir / "shared"
        shared.mkdir()
        rng = random.Random(13)
        for name, size in (("same-1k", 1024), ("same-10m", 10 << 20), ("same-200m", 200 << 20)):
            path = shared / name
            with open(path, "wb") as f:
                block = rng.randbytes(1 << 20)
                left = size
                while left > 0:
                    f.write(block[:min(left, len(block))])
                    left -= len(block)
            self.files[name] = (path, sha256(path))
            for backend in topo.backends():
                os.link(path, topo.work_dir / f"backend{backend.index}" / "www" / name)
        # file-100m differs per back end (topology.py); give each its own mtime, hence ETag.
        for backend in topo.backends():
            own = topo.work_dir / f"backend{backend.index}" / "www" / "file-100m"
            os.utime(own, (1_700_000_000 + backend.index, 1_700_000_000 + backend.index))

    def root(self, backend):
        return self.topo.work_dir / f"backend{backend.index}"

    def master_pid(self, backend):
        return int((self.root(backend) / "nginx.pid").read_text())

    def serving(self):
        """Back ends with an established connection from the gateway on port 80."""
        found = []
        for backend in self.topo.backends():
            out = self.topo.run(backend, "ss", "-Htn", "state", "established", "( sport = :80 )",
                                check=False).stdout
            if out.strip():
                found.append(backend)
        return found

    def kill(self, backend):
        os.killpg(os.getpgid(self.master_pid(backend)), signal.SIGKILL)

    def restart(self, backend):
        root = self.root(backend)
        (root / "nginx.pid").unlink(missing_ok=True)
        self.topo.spawn(backend, ["nginx", "-c", str(root / "nginx.conf"), "-p", str(root)])
        wait_until(lambda: self.topo.run(backend, "curl", "-sf", "-o", "/dev/null", "--max-time", "1",
                                         f"http://{backend.address}/id", check=False).returncode == 0,
                   10, f"nginx of backend{backend.index} again")

    def link(self, backend, up):
        self.topo.run(backend, "ip", "link", "set", "eth0", "up" if up else "down")


def stats(cluster, service="downloads"):
    view = cluster.query(1, "http-stats")
    return next(s for s in view["services"] if s["name"] == service)


def curl(topo, *args, timeout=120):
    return topo.run(topo.clients()[0], "curl", "-sS", "--max-time", "100", *args, check=False, timeout=timeout)


def start_download(topo, url, out, rate, extra=()):
    return topo.spawn(topo.clients()[0],
                      ["curl", "-sS", "--max-time", "100", "--limit-rate", rate, "-o", str(out),
                       "-w", "%{http_code} %{num_connects}", *extra, url],
                      stdout=open(str(out) + ".meta", "wb"), stderr=open(str(out) + ".err", "wb"))


def kill_trials(topo, cluster, farm):
    """Kills the serving back end at random points; every download must complete intact."""
    rng = random.Random(int(os.environ.get("HTTP_RESUME_SEED", "1302")))
    resumed = attempts = 0
    # 200 MB at 60 MB/s: the socket buffers between nginx and curl hold ~10 MB, so at any
    # point of death nginx still has most of the file to send (a resume is needed).
    # 10 MB fits in those buffers soon after the start: killed early, it may or may not
    # need a resume; either way the bytes must be right. Not slower than 20 MB/s: curl's
    # --limit-rate reads in bursts and then sleeps to bring its average down, and at 2 MB/s
    # a burst of a few MB meant a sleep past this test's client_write_timeout_ms (2 s):
    # the proxy rightly dropped curl as a client that stopped reading (CI, exit 18).
    plan = [("same-10m", "20M", 0.1)] * 3 + [("same-200m", "60M", 2.5)] * (TRIALS + 10)
    for name, rate, latest in plan:
        if resumed >= TRIALS:
            break
        attempts += 1
        path, digest = farm.files[name]
        out = topo.work_dir / f"trial{attempts}.bin"
        before = stats(cluster)["resumes_spliced"]
        proc = start_download(topo, f"http://{VIP}/{name}", out, rate)
        wait_until(lambda: farm.serving() or proc.poll() is not None, 10, "a back end serving the download")
        time.sleep(rng.uniform(0.01, latest))  # the random point of death (not a wait for a condition)
        victims = farm.serving()
        use_link = attempts % 4 == 0  # every fourth trial: the link goes down instead (a stall)
        for victim in victims:
            farm.link(victim, False) if use_link else farm.kill(victim)
        proc.wait(120)
        for victim in victims:
            if use_link:
                farm.link(victim, True)
                farm.kill(victim)  # its half-open connection to the gateway would look like a download
            farm.restart(victim)
        meta = open(str(out) + ".meta").read().split()
        error = open(str(out) + ".err").read().strip()
        if proc.returncode != 0:
            view = stats(cluster)
            raise AssertionError(f"trial {attempts} ({name}): curl exit {proc.returncode}: {error}; "
                                 f"proxy: aborted {view['aborted']}, back-end failures {view['backend_failures']}, "
                                 f"client timeouts {view['client_timeouts']}, back ends {view['backends']}")
        assert meta == ["200", "1"], f"trial {attempts}: status/connects {meta} (a retry would connect twice)"
        got = sha256(out)
        assert got == digest, f"trial {attempts} ({name}): checksum {got} != {digest}"
        after = stats(cluster)["resumes_spliced"]
        if victims and after > before:
            resumed += 1
        out.unlink()
        print(f"ok   trial {attempts}: {name} {'link down' if use_link else 'kill -9'} of "
              f"{[f'backend{v.index}' for v in victims]}, resumes {after - before}, checksum ok")
    assert resumed >= TRIALS, f"only {resumed} of {attempts} trials exercised a resume"
    print(f"ok   {resumed} downloads survived their back end's death ({attempts} trials), all intact")


def client_range(topo, cluster, farm):
    path, _ = farm.files["same-200m"]
    data = path.read_bytes()[1000:150_000_001]
    out = topo.work_dir / "range.bin"
    before = stats(cluster)["resumes_spliced"]
    proc = start_download(topo, f"http://{VIP}/same-200m", out, "60M", ["-r", "1000-150000000"])
    wait_until(lambda: farm.serving() or proc.poll() is not None, 10, "a back end serving the range")
    time.sleep(0.5)
    victims = farm.serving()
    for victim in victims:
        farm.kill(victim)
    proc.wait(60)
    for victim in victims:
        farm.restart(victim)
    assert proc.returncode == 0, open(str(out) + ".err").read()
    assert open(str(out) + ".meta").read().split() == ["206", "1"]
    assert out.read_bytes() == data, "the client's range came back wrong"
    assert stats(cluster)["resumes_spliced"] > before, "the range was not resumed"
    print("ok   a client's own Range resumed inside the range")


def other_versions(topo, cluster, farm):
    """file-100m differs per back end: a resume must never splice another version."""
    versions = [(farm.root(b) / "www" / "file-100m").read_bytes() for b in topo.backends()]
    out = topo.work_dir / "versions.bin"
    before = stats(cluster)
    proc = start_download(topo, f"http://{VIP}/file-100m", out, "40M")
    wait_until(lambda: farm.serving() or proc.poll() is not None, 10, "a back end serving file-100m")
    time.sleep(0.4)
    victims = farm.serving()
    for victim in victims:
        farm.kill(victim)
    proc.wait(60)
    for victim in victims:
        farm.restart(victim)
    got = out.read_bytes()
    assert proc.returncode != 0, "curl succeeded although only other versions were left"
    assert len(got) < len(versions[0]), "the body is complete"
    assert any(v.startswith(got) for v in versions), "the client got a mix of versions"
    after = stats(cluster)
    assert after["aborted"]["wrong_status"] + after["aborted"]["validator_changed"] > \
        before["aborted"]["wrong_status"] + before["aborted"]["validator_changed"], after
    print(f"ok   another version: curl exit {proc.returncode} after {len(got)} bytes of one version, no splice")


def quirks(topo, cluster):
    for backend in topo.backends():
        topo.spawn(backend, [sys.executable, str(SOURCE / "tests" / "integration" / "http_quirk_backend.py"),
                             "--address", backend.address, "--port", str(QUIRK_PORT), "--id", str(backend.index)])
    for backend in topo.backends():
        wait_until(lambda: topo.run(backend, "curl", "-s", "-o", "/dev/null", "--max-time", "1",
                                    f"http://{backend.address}:{QUIRK_PORT}/none", check=False).returncode == 0,
                   10, "quirk back end")
    cases = [("/chunked", "not_resumable"), ("/norange", "wrong_status"), ("/failing", "budget"),
             ("/versioned", "wrong_status")]
    for path, reason in cases:
        before = stats(cluster, "quirks")
        out = topo.work_dir / "quirk.bin"
        result = curl(topo, "-o", str(out), f"http://{VIP}:{QUIRK_PORT}{path}")
        after = stats(cluster, "quirks")
        assert result.returncode != 0, f"{path}: curl exit 0"
        assert out.stat().st_size < 2 * 1024 * 1024, f"{path}: a whole body arrived"
        assert after["aborted"][reason] == before["aborted"][reason] + 1, (path, reason, after["aborted"])
        print(f"ok   {path}: connection ended short ({reason}), curl exit {result.returncode}")
    # /failing: the first resume happened and the second failure ended it.
    assert stats(cluster, "quirks")["resumes_spliced"] >= 1
    chunked_whole(topo)


def chunked_whole(topo):
    """A chunked reply that arrives whole: passed on chunked and intact, and the client's
    connection stays open for the next request."""
    expected = quirk_body(2 * 1024 * 1024, 0)
    outs = [topo.work_dir / f"chunked{i}.bin" for i in range(2)]
    url = f"http://{VIP}:{QUIRK_PORT}/chunked-whole"
    heads = topo.work_dir / "chunked.heads"
    result = curl(topo, "-D", str(heads), "-w", "%{num_connects} ", "-o", str(outs[0]), url, "-o", str(outs[1]), url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "0"], f"chunked: connects {result.stdout} (keep-alive lost)"
    assert len(re.findall(r"(?im)^transfer-encoding: chunked\r?$", heads.read_text())) == 2, heads.read_text()
    for out in outs:
        assert out.read_bytes() == expected, "a chunked reply came through wrong"
    print("ok   chunked replies: passed on chunked, intact, two on one connection")


def keep_alive_and_head(topo, farm):
    path, digest = farm.files["same-1k"]
    urls = [f"http://{VIP}/same-1k", f"http://{VIP}/id", f"http://{VIP}/same-1k"]
    outs = [str(topo.work_dir / f"ka{i}") for i in range(3)]
    args = []
    for url, out in zip(urls, outs):
        args += ["-o", out, url]
    result = curl(topo, "-w", "%{num_connects} ", *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "0", "0"], f"keep-alive: connects {result.stdout}"
    assert sha256(outs[0]) == digest and sha256(outs[2]) == digest
    assert open(outs[1]).read().startswith("backend")
    head = curl(topo, "-I", f"http://{VIP}/same-10m")
    assert head.returncode == 0, head.stderr
    assert re.search(r"(?im)^content-length: 10485760\r?$", head.stdout), head.stdout
    assert re.search(r"(?im)^etag: ", head.stdout)
    print("ok   keep-alive: three requests on one connection; HEAD answered with the length")


# Opens every connection first and holds them all (the proxy must have 1,000 open at
# once), then, told to go on stdin, asks each for 1 KB.
CONCURRENT_CLIENT = r"""
import asyncio, sys
async def main():
    n = int(sys.argv[2])
    conns = await asyncio.gather(*(asyncio.open_connection(sys.argv[1], 80) for _ in range(n)))
    print("connected", len(conns), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    async def one(r, w):
        w.write(b"GET /same-1k HTTP/1.1\r\nHost: v\r\nConnection: close\r\n\r\n")
        data = await asyncio.wait_for(r.read(), 60)
        w.close()
        return data.startswith(b"HTTP/1.1 200") and len(data.split(b"\r\n\r\n", 1)[1]) == 1024
    ok = await asyncio.gather(*(one(r, w) for r, w in conns), return_exceptions=True)
    print(sum(1 for x in ok if x is True), flush=True)
asyncio.run(main())
"""


def concurrency(topo, cluster):
    script = topo.work_dir / "many_clients.py"
    script.write_text(CONCURRENT_CLIENT)
    proc = topo.spawn(topo.clients()[0], ["sh", "-c", f"ulimit -n 8192; exec {sys.executable} {script} {VIP} 1000"],
                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().split()
        assert line == ["connected", "1000"], f"concurrent: {line} {proc.stderr.read() if not line else ''}"
        # The proxy's accept loop may still be taking the last ones from its listen queue.
        wait_until(lambda: stats(cluster)["connections_open"] >= 1000, 10, "1,000 connections open at the proxy")
        held = stats(cluster)["connections_open"]
        proc.stdin.write("go\n")
        proc.stdin.flush()
        done = proc.stdout.readline().strip()
        assert done == "1000", f"concurrent: {done} of 1000 got their 1 KB; {proc.stderr.read()}"
    finally:
        proc.kill()
        proc.wait()
    print(f"ok   1,000 concurrent connections ({held} open at the proxy at once), each got its 1 KB")


# A client with a small receive window that reads at its own pace: argv VIP PATH RANGE
# (or -) RCVBUF PAUSE_S STEP_S: it waits PAUSE_S after the head, then sleeps STEP_S after
# every read. Prints: status, body bytes, their SHA-256, seconds.
READER = r"""
import hashlib, socket, sys, time
vip, path, byte_range, rcvbuf, pause, step = sys.argv[1:7]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(rcvbuf))
s.connect((vip, 80))
extra = "" if byte_range == "-" else "Range: bytes=%s\r\n" % byte_range
s.sendall(("GET %s HTTP/1.1\r\nHost: v\r\n%sConnection: close\r\n\r\n" % (path, extra)).encode())
s.settimeout(30)
buf = b""
while b"\r\n\r\n" not in buf:
    buf += s.recv(4096)
head, body = buf.split(b"\r\n\r\n", 1)
h = hashlib.sha256(body)
got = len(body)
start = time.monotonic()
time.sleep(float(pause))
try:
    while True:
        data = s.recv(16384)
        if not data:
            break
        got += len(data)
        h.update(data)
        time.sleep(float(step))
except OSError:
    pass
print(head.split(b"\r\n")[0].decode().split()[1], got, h.hexdigest(), round(time.monotonic() - start, 1))
"""


def reader(topo, path, byte_range, rcvbuf, pause, step):
    script = topo.work_dir / "reader.py"
    script.write_text(READER)
    status, got, digest, seconds = topo.run(topo.clients()[0], sys.executable, str(script), VIP, path, byte_range,
                                            str(rcvbuf), str(pause), str(step), timeout=120).stdout.split()
    return status, int(got), digest, seconds


def slow_reader(topo, cluster, farm):
    """3 MB of a 206 through a 16 KB receive window at about 1 MB/s: the proxy's writes
    wait for room again and again, yet the client keeps reading, so it is served."""
    path, _ = farm.files["same-10m"]
    expected = hashlib.sha256(path.read_bytes()[:3 << 20]).hexdigest()
    before = stats(cluster)["client_timeouts"]
    status, got, digest, seconds = reader(topo, "/same-10m", f"0-{(3 << 20) - 1}", 16384, 0, 0.015)
    assert status == "206" and got == 3 << 20 and digest == expected, (status, got, digest)
    assert stats(cluster)["client_timeouts"] == before, "a slow reader was taken for one that stopped"
    print(f"ok   a slow reader (16 KB window, ~1 MB/s) got its 3 MB intact in {seconds} s")


SLOWLORIS = r"""
import socket, sys, time
s = socket.socket()
s.connect((sys.argv[1], 80))
s.sendall(b"GET /same-1k HTTP/1.1\r\n")
start = time.monotonic()
s.settimeout(20)
data = s.recv(1000)
print(round(time.monotonic() - start, 1), repr(data[:12]))
"""


def hostile_clients(topo, cluster):
    before = stats(cluster)
    # Stops reading for 4 s: the proxy must give up after client_write_timeout_ms (2 s).
    _, got, _, _ = reader(topo, "/same-200m", "-", 4096, 4, 0)
    assert got < 200 << 20, "a client that stopped reading still got the whole file"
    slow = topo.work_dir / "slowloris.py"
    slow.write_text(SLOWLORIS)
    answer = topo.run(topo.clients()[0], sys.executable, str(slow), VIP, timeout=60).stdout.split(maxsplit=1)
    # header_timeout_ms is 1000: the connection is closed (the deadline closes the socket).
    assert float(answer[0]) < 5 and "200" not in answer[1], f"slow-loris: {answer}"
    after = stats(cluster)
    assert after["client_timeouts"] >= before["client_timeouts"] + 2, after
    print(f"ok   a client that stopped reading was dropped (got {got} bytes); a slow head was closed after {answer[0]} s")


def main():
    require_root()
    assert MODE in ("kernel", "fastpath"), MODE
    with Topology.create(unique_name("httpres"), gateways=1, clients=1, backends=3, files=["100m"]) as topo:
        farm = Farm(topo)
        config = configure(topo.work_dir)
        with Cluster(config, topo.work_dir, topo) as cluster:
            cluster.start(1)
            wait_until(lambda: curl(topo, "-sf", "-o", "/dev/null", f"http://{VIP}/id").returncode == 0, 20,
                       "the VIP's proxy answering")
            keep_alive_and_head(topo, farm)
            kill_trials(topo, cluster, farm)
            client_range(topo, cluster, farm)
            other_versions(topo, cluster, farm)
            quirks(topo, cluster)
            concurrency(topo, cluster)
            slow_reader(topo, cluster, farm)
            hostile_clients(topo, cluster)
            final = stats(cluster)
            held = [b for b in final["backends"] if b["failures"] > 0]
            assert held, "the pool was never told of a failed back end"
            print(f"ok   back-end failures fed the pool: {[(b['backend'], b['failures']) for b in held]}")
            # The same counters in /metrics, read by the real Prometheus parser.
            families = prometheus_families(cluster.ctl(1, "metrics").stdout)
            spliced = [v for name, labels, v in families["ringgate_http_resumes_spliced"]["samples"]
                       if labels["service"] == "downloads"]
            assert spliced == [final["resumes_spliced"]], (spliced, final["resumes_spliced"])
            assert "ringgate_http_aborted" in families and "ringgate_http_backend_held" in families
            print(f"ok   /metrics: the HTTP path's families parse ({len(families)} families in all)")
            print(cluster.ctl(1, "http-stats").stdout)


if __name__ == "__main__":
    main()
