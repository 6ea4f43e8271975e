"""Webhook delivery: the worker side POSTs each job's terminal event to its ``callback_url``.

A ``Deliverer`` thread runs in every worker's main process (started by ``worker_ready`` like
the lease sweeper), so a slow or dead receiver never holds an audit: the audit task only
*wakes* the job's queue entry when it finishes it (``jobstore.callbacks``). Every
``RA_CALLBACK_POLL_SECONDS`` the thread also looks at the jobs whose entry came due, which
catches terminal states reached elsewhere (a queued job cancelled through the API, a job the
sweeper failed).

Each attempt is one POST of the event (``event_body``), signed by ``api_schemas.callbacks
.signature`` with the tenant's ``RA_CALLBACK_SECRET``, and recorded on the job (time, status
code or error), which ``GET /v1/jobs/{id}`` shows. A 2xx answer delivers it. Otherwise the
next attempt comes after ``min(base * 2**(n-1), max)`` seconds times a random factor in
[0.5, 1] (exponential backoff with jitter), until ``RA_CALLBACK_GIVE_UP_SECONDS`` after the
first attempt; the delivery is then ``failed``. Several deliverers share the queue: each
claims its entries for a lease, so one attempt is never posted twice at once (a receiver may
still see an event again after a worker died mid-attempt: ``X-RA-Event-Id`` lets it drop it).
"""

from __future__ import annotations

import json
import logging
import random
import time
from datetime import UTC, datetime
from typing import Any, Final

import httpx
import redis

from api_schemas.callbacks import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    callback_url_problem,
    signature,
)
from jobstore import JobRecord, JobRecords, PayloadStore
from jobstore.callbacks import CallbackQueue
from jobstore.clock import Clock
from workers.periodic import Periodic, run_in_worker
from workers.settings import WorkerSettings
from workers.stores import stores

logger = logging.getLogger(__name__)

CLAIM_MARGIN_SECONDS: Final = 30.0
"""A claimed entry comes due again this long after the attempt's timeout, should its
deliverer die mid-attempt."""
MAX_ERROR_CHARS: Final = 300


def backoff_seconds(settings: WorkerSettings, failures: int, rng: random.Random) -> float:
    """Delay after the ``failures``-th failed attempt: exponential, capped, with jitter."""
    ceiling = min(
        settings.callback_backoff_base_seconds * 2 ** (failures - 1),
        settings.callback_backoff_max_seconds,
    )
    return float(ceiling * rng.uniform(0.5, 1.0))


def event_body(record: JobRecord, payloads: PayloadStore, settings: WorkerSettings) -> bytes:
    """The JSON event of a finished job: id, state, links, a summary of the verdicts (a
    succeeded job) or the problem's title and detail (a failed one)."""
    base = (settings.public_base_url or "").rstrip("/")
    url = f"{base}/v1/jobs/{record.id}"
    event: dict[str, Any] = {
        "type": "job.finished",
        "event_id": f"{record.id}.{record.state}",
        "job_id": record.id,
        "state": record.state,
        "finished_at": record.finished_at.isoformat() if record.finished_at else None,
        "links": {"self": url, "report": f"{url}/report", "report_html": f"{url}/report.html"},
        "summary": verdict_summary(payloads, record.id) if record.state == "succeeded" else None,
        "error": None,
    }
    if record.error is not None:
        event["error"] = {k: record.error.get(k) for k in ("type", "title", "status", "detail")}
    return json.dumps(event, separators=(",", ":"), sort_keys=True).encode()


def verdict_summary(payloads: PayloadStore, job_id: str) -> dict[str, Any] | None:
    """Pairs and their risk verdicts by level, and each restorer's verdict, from the report."""
    data = payloads.read_report(job_id)
    if data is None:
        return None
    try:
        report = json.loads(data)
        pairs = report.get("pairs", [])
        levels = {"low": 0, "medium": 0, "high": 0}
        for pair in pairs:
            level = pair["risk"]["level"]
            levels[level] = levels.get(level, 0) + 1
        groups = {g["name"]: g["risk"]["level"] for g in report.get("groups", [])}
    except (ValueError, KeyError, TypeError):
        return None
    return {"pairs": len(pairs), "pairs_by_risk": levels, "groups": groups}


class Deliverer(Periodic):
    """Delivers due webhook events in a daemon thread (or ``deliver_due`` when called)."""

    def __init__(
        self,
        records: JobRecords,
        payloads: PayloadStore,
        settings: WorkerSettings,
        rng: random.Random | None = None,
        clock: Clock | None = None,
    ) -> None:
        # Poll often enough for the shortest backoff; a due entry waits at most this long.
        super().__init__("webhooks", min(settings.callback_poll_seconds, 1.0))
        self.records = records
        self.payloads = payloads
        self.settings = settings
        self.clock: Clock = clock or time.time
        """Epoch seconds now, for the backoff, the give-up time and the recorded attempts
        (injectable: tests make time pass instead of sleeping)."""
        self.queue = CallbackQueue(records.redis, prefix=records.prefix, clock=self.clock)
        self.rng = rng or random.Random()
        self._client = httpx.Client(
            timeout=settings.callback_timeout_seconds, follow_redirects=False, trust_env=False
        )

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to stop, wait for it, and close the HTTP client."""
        super().stop(timeout)
        self._client.close()

    def run_once(self) -> None:
        """Deliver until nothing is due (or the thread is asked to stop)."""
        while self.deliver_due() and not self._stop.is_set():
            pass

    def deliver_due(self) -> int:
        """Handle the entries due now; returns how many were claimed."""
        lease = self.settings.callback_timeout_seconds + CLAIM_MARGIN_SECONDS
        job_ids = self.queue.claim(lease)
        for job_id in job_ids:
            self.handle(job_id)
        return len(job_ids)

    def handle(self, job_id: str) -> None:
        """One claimed entry: wait for the job to finish, or make one attempt."""
        record = self.records.get(job_id)
        delivery = None if record is None else record.callback
        if record is None or delivery is None or delivery.get("state") != "pending":
            self.queue.drop(job_id)
            return
        if not record.finished:
            self.queue.look_again(job_id, self.clock() + self.settings.callback_poll_seconds)
            return
        attempt = self._attempt(record, str(delivery.get("url", "")))
        attempts = [*delivery.get("attempts", []), attempt]
        delivery = {**delivery, "attempts": attempts}
        status = attempt.get("status_code")
        if isinstance(status, int) and 200 <= status < 300:
            delivery.update(state="delivered", next_attempt_at=None)
            self.queue.update(job_id, delivery, next_at=None)
            logger.info("job %s: webhook delivered (attempt %d)", job_id, len(attempts))
            return
        now = self.clock()
        first = datetime.fromisoformat(attempts[0]["at"]).timestamp()
        delay = backoff_seconds(self.settings, len(attempts), self.rng)
        if attempt.get("final") or now + delay - first > self.settings.callback_give_up_seconds:
            delivery.update(state="failed", next_attempt_at=None)
            self.queue.update(job_id, delivery, next_at=None)
            logger.warning("job %s: webhook failed after %d attempts", job_id, len(attempts))
            return
        next_at = now + delay
        delivery["next_attempt_at"] = datetime.fromtimestamp(next_at, UTC).isoformat()
        self.queue.update(job_id, delivery, next_at=next_at)

    def _attempt(self, record: JobRecord, url: str) -> dict[str, Any]:
        """POST the event once; the attempt as recorded (``final``: no retry can help)."""
        at = datetime.fromtimestamp(self.clock(), UTC).isoformat()
        problem = callback_url_problem(
            url, self.settings.callback_allowed_hosts, local_mode=self.settings.local_mode
        )
        secret = self.settings.callback_secret.get(record.tenant)
        if problem is None and secret is None:
            problem = f"tenant {record.tenant} has no RA_CALLBACK_SECRET on this worker"
        if problem is not None or secret is None:  # settings changed since the submission
            return {"at": at, "status_code": None, "error": f"not sent: {problem}", "final": True}
        body = event_body(record, self.payloads, self.settings)
        timestamp = int(self.clock())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "restoration-audit-webhooks",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: signature(secret.get_secret_value(), timestamp, body),
            EVENT_ID_HEADER: f"{record.id}.{record.state}",
        }
        try:
            response = self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
            return {"at": at, "status_code": None, "error": error}
        failure = None if response.is_success else f"HTTP {response.status_code}"
        return {"at": at, "status_code": response.status_code, "error": failure}


def wake(records: JobRecords, job_id: str) -> None:
    """The job just reached a terminal state: its webhook (if any) goes out now. Best
    effort: the deliverer's poll catches the job anyway."""
    try:
        CallbackQueue(records.redis, prefix=records.prefix).wake(job_id)
    except redis.RedisError as exc:
        logger.warning("job %s: webhook not woken (%s); the next poll sends it", job_id, exc)


def _deliverer_of(consumer: Any) -> Deliverer:
    s = stores()
    logger.info("webhooks: deliverer started")
    return Deliverer(s.records, s.payloads, s.settings)


run_in_worker("webhooks", _deliverer_of)
