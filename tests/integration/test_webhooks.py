"""Webhooks end to end: uvicorn, Redis, a Celery worker and a receiver, all real processes.

The stack's settings (tests/integration/conftest.py) allow callbacks to 127.0.0.1, sign them
with ``WEBHOOK_SECRET`` for tenant ``local``, back off from 0.2 s up to 1 s and give up 8 s
after the first attempt, so every case here finishes in seconds without sleeping.
"""

from __future__ import annotations

import hmac
import itertools
import json
import time
from pathlib import Path
from typing import Any

import httpx

from tests.integration.conftest import WEBHOOK_SECRET
from tests.integration.stack import assert_problem, sample_pairs, submit, wait_for
from tests.support.http_servers import Receiver, free_port, wait_until

FAST = {"bootstrap": {"resamples": 20}, "knn_samples": 200, "maps": False}


def delivery_over(client: httpx.Client, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll the job until its webhook is delivered or given up; the job."""

    def over() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        callback = job.get("callback") or {}
        return job if callback.get("state") in ("delivered", "failed") else None

    result: dict[str, Any] = wait_until(over, timeout, f"webhook of job {job_id}")
    return result


def verified_event(request: dict[str, Any]) -> dict[str, Any]:
    """The event of a received request, after checking its signature the way the README
    tells receivers to (HMAC-SHA256 over "<timestamp>." + body, fresh timestamp)."""
    headers = {k.lower(): v for k, v in request["headers"].items()}
    timestamp = headers["x-ra-timestamp"]
    mac = hmac.new(WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + request["body"], "sha256")
    assert hmac.compare_digest(headers["x-ra-signature"], "v1=" + mac.hexdigest())
    assert abs(time.time() - int(timestamp)) < 300
    event: dict[str, Any] = json.loads(request["body"])
    assert headers["x-ra-event-id"] == event["event_id"]
    return event


def test_a_succeeded_job_posts_one_signed_event(client: httpx.Client, tmp_path: Path) -> None:
    with Receiver(tmp_path) as receiver:
        options = {**FAST, "callback_url": receiver.url}
        response = submit(client, sample_pairs(2, 48), options)
        assert response.status_code == 202, response.text
        job = response.json()
        assert job["callback"] == {
            "url": receiver.url,
            "state": "pending",
            "attempts": [],
            "next_attempt_at": None,
        }
        assert wait_for(client, job["id"])["state"] == "succeeded"
        done = delivery_over(client, job["id"])
        [request] = receiver.requests()
    assert done["callback"]["state"] == "delivered"
    [attempt] = done["callback"]["attempts"]
    assert attempt["status_code"] == 200
    assert attempt["error"] is None
    event = verified_event(request)
    assert event["job_id"] == job["id"]
    assert event["state"] == "succeeded"
    assert event["links"]["report"] == f"/v1/jobs/{job['id']}/report"
    report = client.get(event["links"]["report"]).json()
    levels = [pair["risk"]["level"] for pair in report["pairs"]]
    assert event["summary"]["pairs"] == 2
    assert event["summary"]["pairs_by_risk"] == {
        level: levels.count(level) for level in ("low", "medium", "high")
    }
    assert event["summary"]["groups"] == {g["name"]: g["risk"]["level"] for g in report["groups"]}


def test_a_receiver_down_then_up_gets_the_event(client: httpx.Client, tmp_path: Path) -> None:
    receiver = Receiver(tmp_path, free_port())  # nothing listens on its port yet
    response = submit(client, sample_pairs(1, 48, seed=3), {**FAST, "callback_url": receiver.url})
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]

    def refused_once() -> dict[str, Any] | None:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        return job if job["callback"]["attempts"] else None

    job = wait_until(refused_once, 60, "a first, refused attempt")
    assert job["callback"]["state"] == "pending"
    assert job["callback"]["attempts"][0]["status_code"] is None
    assert "Connect" in job["callback"]["attempts"][0]["error"]
    assert job["callback"]["next_attempt_at"] is not None
    with receiver.start():
        done = delivery_over(client, job_id)
        requests = receiver.requests()
    assert done["callback"]["state"] == "delivered"
    attempts = done["callback"]["attempts"]
    assert len(attempts) >= 2
    assert attempts[-1]["status_code"] == 200
    assert [verified_event(r)["job_id"] for r in requests] == [job_id]


def test_a_receiver_that_always_fails_is_given_up_and_recorded(
    client: httpx.Client, tmp_path: Path
) -> None:
    with Receiver(tmp_path) as receiver:
        receiver.answer(500)
        options = {**FAST, "callback_url": receiver.url}
        job_id = submit(client, sample_pairs(1, 48, seed=4), options).json()["id"]
        done = delivery_over(client, job_id, timeout=90)
        requests = receiver.requests()
    callback = done["callback"]
    assert callback["state"] == "failed"
    assert callback["next_attempt_at"] is None
    attempts = callback["attempts"]
    assert len(attempts) >= 3  # 0.2 s doubling to 1 s within the 8 s bound
    assert {a["status_code"] for a in attempts} == {500}
    assert {a["error"] for a in attempts} == {"HTTP 500"}
    assert len(requests) == len(attempts)
    first, last = (r["at"] for r in (requests[0], requests[-1]))
    assert last - first <= 8.0 + 2.0  # the bound, plus one attempt's timeout
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(requests)]
    assert min(gaps) >= 0.1  # backed off: no tight loop (0.2 s times a jitter of 0.5 to 1)


def test_a_cancelled_job_posts_its_event(client: httpx.Client, tmp_path: Path) -> None:
    with Receiver(tmp_path) as receiver:
        running = submit(client, sample_pairs(24, 96, seed=11), {"callback_url": receiver.url})
        job_id = running.json()["id"]
        wait_for(client, job_id, states=("running",), min_done=2, timeout=60)
        assert client.post(f"/v1/jobs/{job_id}/cancel").status_code == 202
        assert wait_for(client, job_id, timeout=30)["state"] == "cancelled"
        done = delivery_over(client, job_id)
        [request] = receiver.requests()
    assert done["callback"]["state"] == "delivered"
    event = verified_event(request)
    assert event["state"] == "cancelled"
    assert event["summary"] is None


def test_a_callback_outside_the_allow_list_is_refused_at_submission(
    client: httpx.Client,
) -> None:
    for url, reason in [
        ("https://hooks.example.com/x", "not in RA_CALLBACK_ALLOWED_HOSTS"),
        ("http://localhost:9/x", "not in RA_CALLBACK_ALLOWED_HOSTS"),
        ("ftp://127.0.0.1/x", "expected an https:// URL"),
    ]:
        response = submit(client, sample_pairs(1, 48), {**FAST, "callback_url": url})
        problem = assert_problem(response, 422)
        [error] = problem["errors"]
        assert error["part"] == "options.callback_url"
        assert reason in error["message"]
