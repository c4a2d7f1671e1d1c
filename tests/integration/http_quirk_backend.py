#!/usr/bin/env python3
"""A back end with the faults real servers have, for the HTTP path's negative cases
(tests/integration/http_resume_test.py); nginx serves the positive ones. Every body
breaks off after --fail-after bytes (the connection is closed mid-body), so the proxy
must decide whether it may resume, and every decision except one ends the client's
connection:
  /chunked    200, chunked framing (no length): not resumable
  /chunked-whole  the same, but the whole body arrives (a chunked reply passed on intact)
  /norange    200 with length and ETag, but Range is ignored (a resume gets 200 again)
  /failing    correct Range support, same content and ETag everywhere: the resume
              breaks off too (second failure, then the budget)
  /versioned  correct Range and If-Range, but content and ETag differ per --id: a
              resume gets 200 (If-Range failed), never another version's bytes
Byte i of a body is (i * 31 + seed) % 251, seed = --id for /versioned, else 0.

    http_quirk_backend.py --address A --port P --id N [--size BYTES] [--fail-after BYTES]
"""
import argparse
import re
import socketserver
from http.server import BaseHTTPRequestHandler, HTTPServer


def body(size, seed):
    pattern = bytes((i * 31 + seed) % 251 for i in range(251 * 64))
    return (pattern * (size // len(pattern) + 1))[:size]


class Server(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_handler(args):
    common = body(args.size, 0)
    mine = body(args.size, args.id)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def send_broken(self, data):
            """Sends up to --fail-after bytes of data, then drops the connection."""
            self.wfile.write(data[:args.fail_after])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)

        def range_of(self, etag):
            header = self.headers.get("Range")
            if_range = self.headers.get("If-Range")
            if not header or (if_range is not None and if_range != etag):
                return None
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", header)
            if not m:
                return None
            first = int(m[1])
            last = int(m[2]) if m[2] else args.size - 1
            return first, min(last, args.size - 1)

        def do_GET(self):
            if self.path in ("/chunked", "/chunked-whole"):
                self.send_response(200)
                self.send_header("ETag", '"chunked"')
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunks = b"".join(b"%x\r\n%s\r\n" % (len(common[i:i + 16384]), common[i:i + 16384])
                                  for i in range(0, args.size, 16384))
                if self.path == "/chunked":
                    self.send_broken(chunks)
                else:
                    self.wfile.write(chunks + b"0\r\n\r\n")
                    self.close_connection = True
                return
            if self.path in ("/norange", "/failing", "/versioned"):
                data = mine if self.path == "/versioned" else common
                etag = f'"v{args.id}"' if self.path == "/versioned" else '"same"'
                wanted = None if self.path == "/norange" else self.range_of(etag)
                if wanted:
                    first, last = wanted
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {first}-{last}/{args.size}")
                    data = data[first:last + 1]
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("ETag", etag)
                self.end_headers()
                self.send_broken(data)
                return
            self.send_error(404)

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--id", type=int, required=True)
    parser.add_argument("--size", type=int, default=2 * 1024 * 1024)
    parser.add_argument("--fail-after", type=int, default=256 * 1024)
    args = parser.parse_args()
    Server((args.address, args.port), make_handler(args)).serve_forever()


if __name__ == "__main__":
    main()
