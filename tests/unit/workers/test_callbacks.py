"""Webhook delivery (workers/callbacks.py) against a real Redis and a real receiver process:
each attempt is recorded on the job, backoff comes from the settings, delivery gives up after
the bounded time. The deliverer is driven round by round here; the integration tests run it
as the worker's thread."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis

from jobstore import JobRecords, PayloadStore, new_job_id
from jobstore.callbacks import CallbackQueue
from tests.support.clock import ManualClock
from tests.support.http_servers import Receiver, free_port
from workers.callbacks import Deliverer, backoff_seconds
from workers.settings import WorkerSettings

SECRET = "unit-secret"


def _settings(**overrides: Any) -> WorkerSettings:
    values: dict[str, Any] = {
        "local_mode": True,
        "callback_allowed_hosts": ["127.0.0.1"],
        "callback_secret": {"acme": SECRET},
        "callback_backoff_base_seconds": 0.05,
        "callback_backoff_max_seconds": 0.2,
        "callback_give_up_seconds": 1.0,
        "callback_timeout_seconds": 2.0,
        "callback_poll_seconds": 0.05,
    }
    values.update(overrides)
    return WorkerSettings(**values)


def _finished_job(records: JobRecords, url: str, state: str = "failed") -> str:
    job_id = new_job_id()
    records.create(job_id, "acme", 1)
    CallbackQueue(records.redis, prefix=records.prefix).register(job_id, url)
    assert records.try_start(job_id, "w", 30)
    error = {"type": "about:blank", "title": "Invalid input", "status": 422, "detail": "x"}
    assert records.finish(job_id, "w", "failed", error)  # type: ignore[arg-type]
    return job_id


def _rounds(deliverer: Deliverer, records: JobRecords, job_id: str, timeout: float) -> Any:
    """Run delivery rounds until the job's delivery is over; its record."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deliverer.deliver_due()
        record = records.require(job_id)
        if record.callback and record.callback["state"] != "pending":
            return record
        time.sleep(0.02)
    raise AssertionError(f"delivery of {job_id} still pending: {records.require(job_id)}")


@pytest.fixture
def records(redis_client: redis.Redis) -> JobRecords:
    return JobRecords(redis_client)


def test_an_event_is_signed_delivered_and_recorded(records: JobRecords, tmp_path: Path) -> None:
    with Receiver(tmp_path) as receiver:
        job_id = _finished_job(records, receiver.url)
        before = records.require(job_id).version
        deliverer = Deliverer(records, PayloadStore(tmp_path / "data"), _settings())
        record = _rounds(deliverer, records, job_id, 10)
        deliverer.stop()
        [request] = receiver.requests()
    assert record.callback["state"] == "delivered"
    [attempt] = record.callback["attempts"]
    assert attempt["status_code"] == 200
    assert record.version > before  # a poll with the old ETag sees the delivery
    headers = {k.lower(): v for k, v in request["headers"].items()}
    stamp = headers["x-ra-timestamp"]
    expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + request["body"], hashlib.sha256)
    assert headers["x-ra-signature"] == "v1=" + expected.hexdigest()
    assert abs(int(stamp) - time.time()) < 60
    event = json.loads(request["body"])
    assert event["job_id"] == job_id
    assert event["state"] == "failed"
    assert event["error"]["title"] == "Invalid input"
    assert event["links"]["report"] == f"/v1/jobs/{job_id}/report"
    assert headers["x-ra-event-id"] == f"{job_id}.failed"


def test_an_unfinished_job_waits(records: JobRecords, tmp_path: Path) -> None:
    job_id = new_job_id()
    records.create(job_id, "acme", 1)
    queue = CallbackQueue(records.redis, prefix=records.prefix)
    queue.register(job_id, f"http://127.0.0.1:{free_port()}/hook")
    deliverer = Deliverer(records, PayloadStore(tmp_path), _settings(callback_poll_seconds=60))
    assert deliverer.deliver_due() == 1
    assert records.require(job_id).callback == {
        "url": f"{records.require(job_id).callback['url']}",  # type: ignore[index]
        "state": "pending",
        "attempts": [],
    }
    assert deliverer.deliver_due() == 0  # looked at again only after the poll interval
    queue.wake(job_id)
    assert deliverer.deliver_due() == 1
    deliverer.stop()


def test_a_receiver_that_always_fails_is_given_up(records: JobRecords, tmp_path: Path) -> None:
    # Time passes on an injected clock, 0.05 s per round: on a loaded machine one slow
    # attempt used to eat the whole 1 s give-up time of the wall clock.
    with Receiver(tmp_path) as receiver:
        receiver.answer(500)
        job_id = _finished_job(records, receiver.url)
        clock = ManualClock()  # from now: the registration is due at once
        deliverer = Deliverer(
            records, PayloadStore(tmp_path), _settings(), random.Random(1), clock=clock
        )
        for _ in range(100):
            deliverer.deliver_due()
            record = records.require(job_id)
            if record.callback["state"] != "pending":
                break
            clock.advance(0.05)
        deliverer.stop()
        sent = len(receiver.requests())
    assert record.callback["state"] == "failed"
    attempts = record.callback["attempts"]
    # Backoff 0.05-0.2 s and give-up 1 s (_settings): at least 1 / 0.2 = 5 attempts, all
    # within the give-up time of the first, each one a request the receiver saw.
    assert len(attempts) >= 5
    assert {a["status_code"] for a in attempts} == {500}
    assert sent == len(attempts)
    times = [datetime.fromisoformat(a["at"]).timestamp() for a in attempts]
    assert times == sorted(times)
    assert times[-1] - times[0] <= 1.0 + 1e-6
    assert CallbackQueue(records.redis).pending() == 0


def test_a_deleted_job_is_dropped(records: JobRecords, tmp_path: Path) -> None:
    job_id = _finished_job(records, f"http://127.0.0.1:{free_port()}/hook")
    records.delete(job_id)
    deliverer = Deliverer(records, PayloadStore(tmp_path), _settings())
    assert deliverer.deliver_due() == 1
    assert CallbackQueue(records.redis).pending() == 0
    deliverer.stop()


def test_a_host_removed_from_the_allow_list_is_not_posted_to(
    records: JobRecords, tmp_path: Path
) -> None:
    with Receiver(tmp_path) as receiver:
        job_id = _finished_job(records, receiver.url)
        deliverer = Deliverer(
            records, PayloadStore(tmp_path), _settings(callback_allowed_hosts=["hooks.example"])
        )
        record = _rounds(deliverer, records, job_id, 10)
        deliverer.stop()
        assert receiver.requests() == []
    assert record.callback["state"] == "failed"
    assert "not sent" in record.callback["attempts"][0]["error"]


def test_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    settings = _settings(callback_backoff_base_seconds=1.0, callback_backoff_max_seconds=8.0)
    rng = random.Random(0)
    for failures, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        delays = [backoff_seconds(settings, failures, rng) for _ in range(200)]
        assert ceiling / 2 <= min(delays) < max(delays) <= ceiling
