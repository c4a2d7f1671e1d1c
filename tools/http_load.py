#!/usr/bin/env python3
"""HTTP downloads from inside a client namespace, each on its own TCP connection, with
every body checked byte for byte against the back ends' file pattern (tools/topology.py:
byte i of a back end's file is (i*7 + its index) mod 251), and what the client saw:
connection resets, other failures, and the longest pause inside each download.

    http_load.py URL COUNT CONCURRENCY SIZE_BYTES [--timeout S]

Prints one JSON object: ok, failed, resets, errors (first few), stall_ms (the longest
pause of each completed download), seconds. Used by the flow integration tests and tests/bench/flow_survival_bench.py.
"""
import argparse
import json
import socket
import sys
import threading
import time
from urllib.parse import urlparse

PATTERN_LEN = 251 * 4


def pattern(index, size):
    base = bytes((i * 7 + index) % 251 for i in range(PATTERN_LEN))
    return (base * (size // PATTERN_LEN + 1))[:size]


def download(url, size, timeout, expected):
    """(outcome, longest pause in ms): outcome is 'ok', 'reset' or an error text."""
    parsed = urlparse(url)
    sock = socket.create_connection((parsed.hostname, parsed.port or 80), timeout=timeout)
    try:
        sock.sendall(f"GET {parsed.path} HTTP/1.1\r\nHost: {parsed.hostname}\r\nConnection: close\r\n\r\n".encode())
        data = bytearray()
        last = time.monotonic()
        stall = 0.0
        while True:
            chunk = sock.recv(65536)
            now = time.monotonic()
            stall = max(stall, now - last)
            last = now
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        return "reset", 0.0
    except OSError as error:
        return f"{type(error).__name__}: {error}", 0.0
    finally:
        sock.close()
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        return f"status {head[:40]!r}", stall * 1000
    if len(body) != size:
        return f"short body {len(body)} of {size}", stall * 1000
    index = body[0] if body else -1
    if index not in expected or body != expected[index]:
        return "wrong bytes", stall * 1000
    return "ok", stall * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("count", type=int)
    parser.add_argument("concurrency", type=int)
    parser.add_argument("size", type=int)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--backends", type=int, default=4, help="back-end indices 1..N may answer")
    args = parser.parse_args()
    expected = {i: pattern(i, args.size) for i in range(1, args.backends + 1)}
    results = []
    lock = threading.Lock()
    todo = list(range(args.count))
    started = time.monotonic()

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                todo.pop()
            outcome = download(args.url, args.size, args.timeout, expected)
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outcomes = [o for o, _ in results]
    print(json.dumps({
        "ok": outcomes.count("ok"),
        "resets": outcomes.count("reset"),
        "failed": len(outcomes) - outcomes.count("ok"),
        "errors": sorted(set(o for o in outcomes if o != "ok"))[:5],
        "stall_ms": [round(s, 1) for o, s in results if o == "ok"],  # completed downloads
        "seconds": round(time.monotonic() - started, 2),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
