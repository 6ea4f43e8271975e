"""/metrics and JSON logs of the real stack: uvicorn (access log on), a Celery worker, Redis.

The stack here is the module's own, fresh, so the counts on /metrics must equal exactly the
jobs and pairs this module ran; the session stack's worker has run other tests' jobs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fixtures.redis_server import RedisServer
from tests.integration.stack import (
    ApiServer,
    WorkerProcess,
    sample_pairs,
    stack_environment,
    submit,
    wait_for,
)

PAIRS_PER_JOB = (3, 2)
"""Two jobs; with batches of two pairs the first is recorded in two batches."""
OPTIONS = {"knn_samples": 200, "maps": False}


@dataclass
class Stack:
    api: ApiServer
    worker: WorkerProcess
    logs: Path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("observability")
    (root / "data").mkdir()
    (root / "logs").mkdir()
    with RedisServer() as server:
        env = stack_environment(
            server.url,
            root / "data",
            RA_BATCH_SIZE="2",
            RA_POLL_AFTER_SECONDS="1",
            RA_HEARTBEAT_INTERVAL="1",
        )
        worker = WorkerProcess(env, root / "logs").start()
        api = ApiServer(env, root / "logs" / "api.log", access_log=True).start()
        try:
            yield Stack(api, worker, root / "logs")
        finally:
            api.stop()
            worker.stop()


@pytest.fixture(scope="module")
def finished_jobs(stack: Stack) -> list[dict[str, Any]]:
    """The module's jobs, run to success one after the other."""
    jobs = []
    with httpx.Client(base_url=stack.api.base_url, timeout=30) as client:
        for seed, count in enumerate(PAIRS_PER_JOB):
            response = submit(client, sample_pairs(count, 64, seed=70 + seed), OPTIONS)
            assert response.status_code == 202, response.text
            job = wait_for(client, response.json()["id"], timeout=120)
            assert job["state"] == "succeeded", job
            jobs.append(job)
    return jobs


def scrape(stack: Stack) -> tuple[str, dict[str, Any]]:
    """The /metrics text and its families by name, parsed by prometheus_client's parser."""
    response = httpx.get(f"{stack.api.base_url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    return response.text, families


def samples(family: Any, name: str, **labels: str) -> list[float]:
    return [
        s.value
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    ]


def test_metrics_count_the_jobs_and_pairs_this_stack_ran(
    stack: Stack, finished_jobs: list[dict[str, Any]]
) -> None:
    text, families = scrape(stack)
    jobs, pairs = len(PAIRS_PER_JOB), sum(PAIRS_PER_JOB)
    prefix = "restoration_audit"

    by_state = families[f"{prefix}_jobs"]
    assert by_state.type == "gauge"
    assert samples(by_state, f"{prefix}_jobs", state="succeeded") == [jobs]
    for state in ("queued", "running", "failed", "cancelled"):
        assert samples(by_state, f"{prefix}_jobs", state=state) == [0], state

    for name in ("job_duration_seconds", "job_run_duration_seconds"):
        family = families[f"{prefix}_{name}"]
        assert family.type == "histogram"
        assert samples(family, f"{prefix}_{name}_count", state="succeeded") == [jobs]
        buckets = [
            (s.labels["le"], s.value)
            for s in family.samples
            if s.name == f"{prefix}_{name}_bucket" and s.labels["state"] == "succeeded"
        ]
        assert buckets[-1] == ("+Inf", jobs)
        counts = [value for _, value in buckets]
        assert counts == sorted(counts), "cumulative buckets never decrease"
        (total,) = samples(family, f"{prefix}_{name}_sum", state="succeeded")
        assert 0 < total < 600
    # Submission to end includes the time queued, so it is at least the run time.
    (waited,) = samples(
        families[f"{prefix}_job_duration_seconds"],
        f"{prefix}_job_duration_seconds_sum",
        state="succeeded",
    )
    (ran,) = samples(
        families[f"{prefix}_job_run_duration_seconds"],
        f"{prefix}_job_run_duration_seconds_sum",
        state="succeeded",
    )
    assert waited >= ran

    pair_family = families[f"{prefix}_pair_duration_seconds"]
    assert pair_family.type == "histogram"
    assert samples(pair_family, f"{prefix}_pair_duration_seconds_count") == [pairs]
    assert samples(pair_family, f"{prefix}_pair_duration_seconds_bucket", le="+Inf") == [pairs]
    (pair_seconds,) = samples(pair_family, f"{prefix}_pair_duration_seconds_sum")
    assert 0 < pair_seconds <= ran

    # prometheus_client's parser names a counter family without its _total suffix.
    counter = families[f"{prefix}_pairs"]
    assert counter.type == "counter"
    assert samples(counter, f"{prefix}_pairs_total") == [pairs]
    (rate,) = samples(families[f"{prefix}_pairs_per_second"], f"{prefix}_pairs_per_second")
    assert rate == pytest.approx(pairs / 60), "all pairs ran within the last minute"

    assert samples(families[f"{prefix}_workers"], f"{prefix}_workers") == [1]
    assert samples(families[f"{prefix}_queue_messages"], f"{prefix}_queue_messages") == [0]
    assert samples(families[f"{prefix}_expired_leases"], f"{prefix}_expired_leases") == [0]

    for family in families.values():
        assert family.documentation, f"{family.name} has no HELP text"
    # Aggregates only: no job id and no tenant name is ever a label value.
    for job in finished_jobs:
        assert job["id"] not in text
    assert "local" not in text


def _json_lines(path: Path) -> list[dict[str, Any]]:
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    assert lines, f"{path.name} is empty"
    parsed = []
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"{path.name}: not a JSON line: {line!r}")
        assert isinstance(entry, dict), line
        assert {"timestamp", "level", "logger", "message"} <= entry.keys(), line
        parsed.append(entry)
    return parsed


def test_every_api_and_worker_line_is_json_and_names_its_job(
    stack: Stack, finished_jobs: list[dict[str, Any]]
) -> None:
    job_ids = {job["id"] for job in finished_jobs}
    time.sleep(0.5)  # the last access lines are flushed after the responses
    api_lines = _json_lines(stack.api.log_path)
    worker_lines = _json_lines(stack.worker.log_path)

    for source, lines in (("api", api_lines), ("worker", worker_lines)):
        about_a_job = [line for line in lines if any(i in json.dumps(line) for i in job_ids)]
        assert about_a_job, f"{source}: no line about the jobs"
        for line in about_a_job:
            assert line.get("job_id") in job_ids, f"{source}: {line}"
            assert line.get("tenant") == "local", f"{source}: {line}"

    for job_id in job_ids:
        # The API's own line when it queued the job, and uvicorn's access line of a poll.
        api_about = [line for line in api_lines if line.get("job_id") == job_id]
        assert any(line["logger"] == "service.submission" for line in api_about), api_about
        polls = [
            line
            for line in api_about
            if line["logger"] == "uvicorn.access" and line["http_path"] == f"/v1/jobs/{job_id}"
        ]
        assert polls, api_about
        assert all(line["http_method"] == "GET" and line["http_status"] == 200 for line in polls)
        # Celery's "received" (main process) and "succeeded" (pool child) lines.
        worker_about = [line for line in worker_lines if line.get("job_id") == job_id]
        messages = " ".join(line["message"] for line in worker_about)
        assert "received" in messages, worker_about
        assert "succeeded" in messages, worker_about


def test_a_stopped_worker_leaves_the_count_and_only_celerys_notice_is_not_json(
    stack: Stack, finished_jobs: list[dict[str, Any]]
) -> None:
    stack.worker.stop()
    _, families = scrape(stack)
    # A clean shutdown deregisters at once, without waiting for the heartbeat to expire.
    assert samples(families["restoration_audit_workers"], "restoration_audit_workers") == [0]
    lines = [line for line in stack.worker.log().splitlines() if line.strip()]
    not_json = [line for line in lines if not line.startswith("{")]
    # Celery's SIGTERM handler prints this straight to the real stdout, outside logging.
    assert not_json == ["worker: Warm shutdown (MainProcess)"]
    assert all(isinstance(json.loads(line), dict) for line in lines if line.startswith("{"))
