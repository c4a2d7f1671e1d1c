#!/usr/bin/env python3
"""Clients of the chaos soak, run inside a client namespace: long HTTP/1.1 keep-alive
connections that each ask a VIP for /id every few hundred milliseconds for the whole run,
and short connections (one request each, round the VIPs). Writes JSON lines to --out:

    {"t": wall time, "kind": "long"|"short", "vip", "conn", "event": "open"|"error",
     "error": "reset"|"timeout"|"refused"|"closed"|"other ...", "backend": the back end
     the connection last reached, "since": wall time of its last answer}

and every 5 s a {"kind": "counts", ...} line. The soak judges the resets (a reset on a
long connection is only allowed when its back end died) from the events and its own
fault log. Runs until SIGTERM.
"""
import argparse
import http.client
import json
import signal
import socket
import threading
import time

lock = threading.Lock()
counts = {"long_ok": 0, "long_errors": 0, "short_ok": 0, "short_errors": 0}
stopping = threading.Event()


def emit(out, record):
    with lock:
        out.write(json.dumps(record) + "\n")
        out.flush()


def classify(error):
    if isinstance(error, ConnectionResetError):
        return "reset"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timeout"
    if isinstance(error, ConnectionRefusedError):
        return "refused"
    if isinstance(error, (http.client.RemoteDisconnected, http.client.IncompleteRead, BrokenPipeError)):
        return "closed"
    return f"other {type(error).__name__}: {error}"


def ask(conn):
    conn.request("GET", "/id")
    response = conn.getresponse()
    body = response.read().decode().strip()
    if response.status != 200 or not body.startswith("backend"):
        raise RuntimeError(f"HTTP {response.status} {body[:40]!r}")
    return body


def long_connection(out, index, vip, period, timeout):
    while not stopping.is_set():
        conn = http.client.HTTPConnection(vip, 80, timeout=timeout)
        backend, since = None, None
        try:
            backend = ask(conn)
            since = time.time()
            emit(out, {"t": since, "kind": "long", "vip": vip, "conn": index, "event": "open", "backend": backend})
            while not stopping.wait(period):
                answer = ask(conn)
                if answer != backend:
                    raise RuntimeError(f"answered by {answer}, opened on {backend}")
                since = time.time()
                with lock:
                    counts["long_ok"] += 1
        except Exception as error:  # every failure is an event to judge, none ends the client
            if stopping.is_set():
                break
            with lock:
                counts["long_errors"] += 1
            emit(out, {"t": time.time(), "kind": "long", "vip": vip, "conn": index, "event": "error",
                       "error": classify(error), "backend": backend, "since": since})
            stopping.wait(0.5)
        finally:
            conn.close()


def short_connections(out, vips, period, timeout):
    turn = 0
    while not stopping.wait(period):
        vip = vips[turn % len(vips)]
        turn += 1
        conn = http.client.HTTPConnection(vip, 80, timeout=timeout)
        try:
            ask(conn)
            with lock:
                counts["short_ok"] += 1
        except Exception as error:  # counted and logged: new connections may fail during a failover
            with lock:
                counts["short_errors"] += 1
            emit(out, {"t": time.time(), "kind": "short", "vip": vip, "event": "error", "error": classify(error)})
        finally:
            conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vips", required=True, help="comma-separated VIPs serving HTTP on port 80")
    parser.add_argument("--long", type=int, default=6, help="long connections, spread over the VIPs")
    parser.add_argument("--long-period", type=float, default=0.3, help="seconds between requests on one")
    parser.add_argument("--short-period", type=float, default=0.2, help="seconds between short connections")
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    vips = args.vips.split(",")
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    with open(args.out, "a") as out:
        threads = [threading.Thread(target=long_connection, daemon=True,
                                    args=(out, i, vips[i % len(vips)], args.long_period, args.timeout))
                   for i in range(args.long)]
        threads.append(threading.Thread(target=short_connections, daemon=True,
                                        args=(out, vips, args.short_period, args.timeout)))
        for thread in threads:
            thread.start()
        while not stopping.wait(5):
            with lock:
                snapshot = dict(counts)
            emit(out, {"t": time.time(), "kind": "counts", **snapshot})
        with lock:
            snapshot = dict(counts)
        emit(out, {"t": time.time(), "kind": "counts", **snapshot})


if __name__ == "__main__":
    main()
