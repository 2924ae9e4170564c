"""A stand-in for a Sanic server in the supervisor tests (standard library only).

    python fake_server.py --port PORT [--ignore-term] [--exit-after SECONDS] [--escape FILE]

Like Sanic, the main process binds the port and a forked worker answers HTTP on it (200 on every
GET), so a dead worker leaves the port open but silent. SIGTERM makes the main process stop its
worker and exit, unless --ignore-term.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        body = b'{"status":"ok"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ignore-term", action="store_true")
    parser.add_argument("--exit-after", type=float)
    parser.add_argument("--escape", help="fork a process that leaves the session; its pid here")
    args = parser.parse_args()
    if args.escape and os.fork() == 0:
        os.setsid()  # out of the keeper's process group and session, like a daemonising helper
        with open(args.escape, "a") as handle:
            handle.write(f"{os.getpid()}\n")
        while True:
            time.sleep(60)
    sock = socket.create_server(("127.0.0.1", args.port))
    worker = os.fork()
    if worker == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        server = HTTPServer(("127.0.0.1", args.port), Handler, bind_and_activate=False)
        server.socket = sock
        server.serve_forever()
        return 0
    if args.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"fake server {os.getpid()} (worker {worker}) on port {args.port}", flush=True)
    try:
        if args.exit_after is not None:
            time.sleep(args.exit_after)
            return 3
        os.waitpid(worker, 0)  # the worker dying leaves this process and the port open
        while True:
            time.sleep(60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker, signal.SIGKILL)


if __name__ == "__main__":
    sys.exit(main())
