"""The lease sweeper on a real Redis: requeue once, give up after MAX_ATTEMPTS, expire payloads.

No worker here: the tests play the dead worker themselves by taking a job with a short lease.
"""

from __future__ import annotations

import os
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery.exceptions import TimeLimitExceeded

from api_schemas.tasks import AUDIT_TASK
from jobstore import JobRecords, JobRunningError, PayloadStore
from tests.fixtures.redis_server import RedisServer
from tests.integration.stack import sample_pairs, stored_job
from workers import sweeper as sweeper_module
from workers.settings import WorkerSettings
from workers.stores import Stores
from workers.sweeper import MAX_ATTEMPTS, Sweeper, hard_limit_key, note_hard_time_limit

SHORT_LEASE = 0.2


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    with RedisServer() as server:
        client: redis.Redis = server.client()
        settings = WorkerSettings(redis_url=server.url, data_dir=tmp_path, lease_seconds=1)
        try:
            yield Stores(JobRecords(client), PayloadStore(tmp_path), settings)
        finally:
            client.close()


def _abandon(stores: Stores, job_id: str) -> None:
    """Take the job as a worker that then dies: its lease runs out."""
    assert stores.records.try_start(job_id, "dead-worker", SHORT_LEASE)
    time.sleep(SHORT_LEASE + 0.1)


def test_expired_lease_is_requeued_and_sent_once(stores: Stores) -> None:
    job_id = stored_job(stores.records, stores.payloads, sample_pairs(1, 64))
    sent: list[str] = []
    sweeper = Sweeper(stores, sent.append, interval=60)
    assert sweeper.sweep_once() == []  # queued, nothing to do

    _abandon(stores, job_id)
    assert sweeper.sweep_once() == [job_id]
    assert sweeper.sweep_once() == []  # already requeued
    record = stores.records.require(job_id)
    assert record.state == "queued"
    assert record.attempts == 1
    assert sent == [job_id]


def test_two_sweepers_requeue_a_job_once(stores: Stores) -> None:
    job_id = stored_job(stores.records, stores.payloads, sample_pairs(1, 64))
    sent: list[str] = []
    first, second = Sweeper(stores, sent.append, 60), Sweeper(stores, sent.append, 60)
    _abandon(stores, job_id)
    first.sweep_once()
    second.sweep_once()
    assert sent == [job_id]


def test_live_lease_is_left_alone(stores: Stores) -> None:
    job_id = stored_job(stores.records, stores.payloads, sample_pairs(1, 64))
    assert stores.records.try_start(job_id, "live-worker", 30)
    sent: list[str] = []
    assert Sweeper(stores, sent.append, 60).sweep_once() == []
    assert stores.records.require(job_id).state == "running"


def test_job_that_keeps_losing_its_worker_is_failed(stores: Stores) -> None:
    job_id = stored_job(stores.records, stores.payloads, sample_pairs(1, 64))
    sent: list[str] = []
    sweeper = Sweeper(stores, sent.append, interval=60)
    for _ in range(MAX_ATTEMPTS):
        _abandon(stores, job_id)
        sweeper.sweep_once()
    assert len(sent) == MAX_ATTEMPTS
    _abandon(stores, job_id)
    sweeper.sweep_once()
    record = stores.records.require(job_id)
    assert record.state == "failed"
    assert record.error is not None
    # Issue #11, item 2: a job whose worker died again after its one retry (most likely out
    # of memory) fails with a resources problem carrying the estimate and the budget.
    assert MAX_ATTEMPTS == 1
    assert record.error["type"].endswith("/resources")
    assert record.error["title"] == "Job exceeds the memory budget"
    assert "died 2 times" in record.error["detail"]
    assert record.error["memory_limit_bytes"] == stores.settings.max_job_memory_bytes
    assert record.error["estimated_memory_bytes"] > 0
    assert len(sent) == MAX_ATTEMPTS


def test_cancel_requested_while_abandoned_ends_cancelled(stores: Stores) -> None:
    job_id = stored_job(stores.records, stores.payloads, sample_pairs(1, 64))
    _abandon(stores, job_id)
    stores.records.request_cancel(job_id)
    sent: list[str] = []
    Sweeper(stores, sent.append, interval=60).sweep_once()
    assert stores.records.require(job_id).state == "cancelled"
    assert sent == []


def test_cancel_requested_job_keeps_its_renewed_lease_until_it_lapses(stores: Stores) -> None:
    # Issue #11, item 5: a worker still in its batch after a cancel keeps renewing its lease,
    # so the sweeper leaves the job running (delete refused) until the worker acknowledges or
    # stops renewing because it is gone.
    job_id = stored_job(stores.records, stores.payloads, sample_pairs(1, 64))
    assert stores.records.try_start(job_id, "busy-worker", SHORT_LEASE)
    stores.records.request_cancel(job_id)
    sent: list[str] = []
    sweeper = Sweeper(stores, sent.append, interval=60)
    for _ in range(4):  # two leases long
        time.sleep(SHORT_LEASE / 2)
        assert stores.records.renew_lease(job_id, "busy-worker", SHORT_LEASE)
        sweeper.sweep_once()
        record = stores.records.require(job_id)
        assert (record.state, record.cancel_requested) == ("running", True)
        with pytest.raises(JobRunningError):
            stores.records.delete(job_id)
    time.sleep(SHORT_LEASE + 0.1)  # the worker is gone: nobody renews
    sweeper.sweep_once()
    assert stores.records.require(job_id).state == "cancelled"
    assert not stores.records.renew_lease(job_id, "busy-worker", SHORT_LEASE)
    assert sent == []


def test_payloads_of_expired_records_are_deleted(stores: Stores) -> None:
    kept = stored_job(stores.records, stores.payloads, sample_pairs(1, 64))
    orphan = stored_job(stores.records, stores.payloads, sample_pairs(1, 64))
    stores.records.delete(orphan)
    old = time.time() - 2 * 3600
    for job_id in (kept, orphan):
        os.utime(stores.payloads.job_dir(job_id), (old, old))
    Sweeper(stores, lambda job_id: None, interval=60).sweep_once()
    assert stores.payloads.job_dir(kept).exists()
    assert not stores.payloads.job_dir(orphan).exists()


def test_thread_sweeps_until_stopped(stores: Stores) -> None:
    job_id = stored_job(stores.records, stores.payloads, sample_pairs(1, 64))
    sent: list[str] = []
    sweeper = Sweeper(stores, sent.append, interval=0.05)
    sweeper.start()
    try:
        _abandon(stores, job_id)
        deadline = time.monotonic() + 5
        while not sent:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        sweeper.stop()
    assert sent == [job_id]


def test_job_killed_at_the_hard_time_limit_is_failed_not_rerun(stores: Stores) -> None:
    job_id = stored_job(stores.records, stores.payloads, sample_pairs(1, 64))
    _abandon(stores, job_id)
    note_hard_time_limit(stores, job_id)
    sent: list[str] = []
    Sweeper(stores, sent.append, interval=60).sweep_once()
    record = stores.records.require(job_id)
    assert record.state == "failed"
    assert record.error is not None
    assert record.error["title"] == "Time limit"
    assert "hard time limit" in record.error["detail"]
    assert sent == []


def test_hard_time_limit_signal_marks_only_audit_jobs(
    stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The handler Celery calls in the worker's main process, called as Celery calls it.
    monkeypatch.setattr(sweeper_module, "stores", lambda: stores)
    job_id = stored_job(stores.records, stores.payloads, sample_pairs(1, 64))
    audit_task = types.SimpleNamespace(name=AUDIT_TASK)
    other_task = types.SimpleNamespace(name="other.task")
    sweeper_module._on_task_failure(
        sender=other_task, exception=TimeLimitExceeded(5), args=[job_id]
    )
    sweeper_module._on_task_failure(sender=audit_task, exception=ValueError("x"), args=[job_id])
    sweeper_module._on_task_failure(
        sender=audit_task, exception=TimeLimitExceeded(5), args=["../x"]
    )
    assert not stores.records.redis.exists(hard_limit_key(stores, job_id))
    sweeper_module._on_task_failure(
        sender=audit_task, exception=TimeLimitExceeded(5), args=[job_id]
    )
    assert stores.records.redis.exists(hard_limit_key(stores, job_id))
