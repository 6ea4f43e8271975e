"""A webhook receiver that verifies restoration-audit's signed events (README: Webhooks).

    RA_CALLBACK_SECRET_VALUE=the-tenant-secret python examples/webhook_receiver.py --port 9000

Then submit jobs with ``"callback_url": "http://127.0.0.1:9000/hook"`` (local mode; with API
keys, an https URL on ``RA_CALLBACK_ALLOWED_HOSTS``). Each verified event is printed; a
request with a bad signature or a stale timestamp gets 401 and is not printed. Standard
library only, so the snippet drops into any receiver.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

MAX_AGE_SECONDS = 300
"""Reject events signed longer ago than this: a replayed request keeps its old timestamp."""


def verify(secret: str, timestamp: str, signature: str, body: bytes, now: float) -> bool:
    """Whether ``body`` was signed with ``secret`` at ``timestamp`` within ``MAX_AGE_SECONDS``.

    ``timestamp`` and ``signature`` are the ``X-RA-Timestamp`` and ``X-RA-Signature`` headers;
    the signature is ``v1=`` and the hex HMAC-SHA256 of ``"<timestamp>." + body``.
    """
    if not timestamp.isdigit() or abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(signature, "v1=" + expected.hexdigest())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    secret = os.environ["RA_CALLBACK_SECRET_VALUE"]
    seen: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            stamp = self.headers.get("X-RA-Timestamp", "")
            signed = self.headers.get("X-RA-Signature", "")
            if not verify(secret, stamp, signed, body, time.time()):
                self.send_response(401)
                self.end_headers()
                return
            event_id = self.headers.get("X-RA-Event-Id", "")
            if event_id not in seen:  # a retried delivery repeats its event id
                seen.add(event_id)
                event = json.loads(body)
                print(event["job_id"], event["state"], json.dumps(event["summary"]), flush=True)
            self.send_response(204)
            self.end_headers()

    HTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
