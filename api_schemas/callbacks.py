"""Webhooks: the callback a job may name, its signature and its delivery record (API.md).

A job submitted with ``callback_url`` gets one POST of a small JSON event when it reaches a
terminal state (succeeded, failed or cancelled), sent by the worker side, signed with the
tenant's secret (``RA_CALLBACK_SECRET``), and retried with exponential backoff and jitter for
a bounded time. Every attempt is recorded on the job (``GET /v1/jobs/{id}``: ``callback``).

The signature, one rule for sender and receivers::

    X-RA-Timestamp: <unix seconds>
    X-RA-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

A receiver recomputes the HMAC over the timestamp header, a dot and the raw body, compares it
in constant time, and rejects a timestamp older than a few minutes (a replayed request keeps
its old timestamp; it cannot be re-signed without the secret). ``X-RA-Event-Id`` is the same
on every attempt of one event, so a receiver can drop duplicates.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime
from typing import Final, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from api_schemas.net import remote_host_problem

TIMESTAMP_HEADER: Final = "X-RA-Timestamp"
SIGNATURE_HEADER: Final = "X-RA-Signature"
EVENT_ID_HEADER: Final = "X-RA-Event-Id"
SIGNATURE_VERSION: Final = "v1"
MAX_CALLBACK_URL_LENGTH: Final = 2048

DeliveryState = Literal["pending", "delivered", "failed"]


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-RA-Signature`` value of ``body`` sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def callback_url_problem(url: str, allowed_hosts: Sequence[str], *, local_mode: bool) -> str | None:
    """Why ``url`` may not receive callbacks, or ``None`` when it may: ``https`` to a host of
    ``allowed_hosts`` (``RA_CALLBACK_ALLOWED_HOSTS``); plain ``http`` only to a loopback host
    in local mode (a receiver on the same machine). No credentials or fragment in the URL."""
    if len(url) > MAX_CALLBACK_URL_LENGTH:
        return f"at most {MAX_CALLBACK_URL_LENGTH} characters"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port  # raises on a malformed port
    except ValueError as exc:
        return f"not a URL: {exc}"
    if parts.scheme not in ("https", "http") or not host:
        return "expected an https:// URL"
    if parts.username is not None or parts.password is not None or parts.fragment:
        return "a callback URL carries no credentials and no fragment"
    return remote_host_problem(
        parts.scheme, host, allowed_hosts, "RA_CALLBACK_ALLOWED_HOSTS", local_mode=local_mode
    )


class CallbackAttempt(BaseModel):
    """One POST of the event to the callback URL."""

    at: datetime = Field(description="When the attempt started (UTC).")
    status_code: int | None = Field(
        default=None,
        description="The receiver's HTTP status; null when no answer came (`error` says why).",
    )
    error: str | None = Field(
        default=None, description="Why the attempt failed (`HTTP 500`, a connect error, ...)."
    )


class CallbackDelivery(BaseModel):
    """Where the job's terminal event goes and how its delivery went."""

    url: str = Field(description="The job's `callback_url`.")
    state: DeliveryState = Field(
        description="`pending` until the job finishes and the receiver answers 2xx "
        "(`delivered`); `failed` once retries ran out (`RA_CALLBACK_GIVE_UP_SECONDS` after "
        "the first attempt)."
    )
    attempts: list[CallbackAttempt] = Field(
        default_factory=list, description="Every POST so far, oldest first."
    )
    next_attempt_at: datetime | None = Field(
        default=None, description="When the next retry is due; null when none is planned."
    )
