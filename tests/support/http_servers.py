"""Real HTTP servers for the webhook and source tests, on free loopback ports.

* ``Receiver``: a webhook receiver in a process of its own (``python -m
  tests.support.http_servers receive``) that appends every request (headers and raw body) to
  a JSON-lines file and answers the status written in a control file (200 unless told), so a
  test can make it fail, stop it and start it again on the same port.
* ``ImageServer``: a threaded server in the test process serving named routes: bytes with a
  content type, a redirect, a body that trickles out byte by byte (a slow-loris server).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A loopback port free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# -- webhook receiver process -------------------------------------------------------------------


def _serve_receiver(port: int, record: Path, status_file: Path) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's naming
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            status = int(status_file.read_text().strip() or "200") if status_file.exists() else 200
            entry = {
                "path": self.path,
                "headers": dict(self.headers.items()),
                "body": base64.b64encode(body).decode(),
                "status": status,
                "at": time.time(),
            }
            with record.open("a") as fh:
                fh.write(json.dumps(entry) + "\n")
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print("ready", flush=True)
    server.serve_forever()


class Receiver:
    """A webhook receiver process on ``port``, recording to ``directory``."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.record = directory / f"received-{self.port}.jsonl"
        self.status_file = directory / f"status-{self.port}.txt"
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def answer(self, status: int) -> None:
        """Answer ``status`` from now on."""
        self.status_file.write_text(str(status))

    def start(self, timeout: float = 20.0) -> Receiver:
        command = [sys.executable, "-m", "tests.support.http_servers", "receive"]
        command += [str(self.port), str(self.record), str(self.status_file)]
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # blocks until the socket is bound
        if line.strip() != "ready":
            self.stop()
            raise RuntimeError(f"receiver did not start: {line!r}")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None

    def requests(self) -> list[dict[str, Any]]:
        """Requests received so far, bodies decoded to bytes."""
        if not self.record.exists():
            return []
        rows = [json.loads(line) for line in self.record.read_text().splitlines() if line]
        for row in rows:
            row["body"] = base64.b64decode(row["body"])
        return rows

    def __enter__(self) -> Receiver:
        return self if self.process is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- image server (a thread) --------------------------------------------------------------------


@dataclass
class Route:
    """What a path answers: a body, or a redirect, optionally trickled out slowly."""

    body: bytes = b""
    content_type: str = "image/png"
    status: int = 200
    location: str | None = None
    trickle_seconds: float = 0.0
    """Pause between single bytes of the body (a slow-loris server)."""
    declared_length: int | None = None
    """Content-Length sent: the body's by default; -1 sends none (ends at close)."""


class ImageServer:
    """A threaded HTTP server on a free loopback port serving ``routes`` (path -> Route)."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.scheme = "https" if tls is not None else "http"
        self.routes: dict[str, Route] = {}
        self.hits: list[str] = []
        routes, hits = self.routes, self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server's naming
                hits.append(self.path)
                route = routes.get(self.path)
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(route.status)
                if route.location is not None:
                    self.send_header("Location", route.location)
                self.send_header("Content-Type", route.content_type)
                length = route.declared_length
                if length != -1:  # -1: no length, the body ends when the connection closes
                    size = len(route.body) if length is None else length
                    self.send_header("Content-Length", str(size))
                self.end_headers()
                with contextlib.suppress(OSError):
                    if route.trickle_seconds:
                        for i in range(len(route.body)):
                            self.wfile.write(route.body[i : i + 1])
                            self.wfile.flush()
                            time.sleep(route.trickle_seconds)
                    else:
                        self.wfile.write(route.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.server.daemon_threads = True
        self.port: int = self.server.server_address[1]
        # Serving from construction on: the socket is bound already, and a `with` block only
        # has to shut it down.
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def __enter__(self) -> ImageServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``check`` every 0.1 s until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["receive"])
    parser.add_argument("port", type=int)
    parser.add_argument("record", type=Path)
    parser.add_argument("status_file", type=Path)
    args = parser.parse_args()
    _serve_receiver(args.port, args.record, args.status_file)
