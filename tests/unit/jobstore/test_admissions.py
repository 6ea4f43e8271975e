"""Submissions in progress count with the tenant's unfinished jobs (jobstore.admissions)."""

from __future__ import annotations

import pytest

from jobstore import JobRecords, new_job_id
from jobstore.admissions import Admissions
from tests.support.clock import ManualClock


@pytest.fixture
def records(redis_client) -> JobRecords:
    return JobRecords(redis_client, prefix="t")


@pytest.fixture
def admissions(redis_client) -> Admissions:
    return Admissions(redis_client, prefix="t")


def test_submissions_in_progress_and_jobs_share_the_limit(records, admissions):
    records.create(new_job_id(), "acme", 1)
    first, second = new_job_id(), new_job_id()
    assert admissions.admit("acme", first, 3)
    assert admissions.admit("acme", second, 3)
    assert not admissions.admit("acme", new_job_id(), 3)  # 1 job + 2 being inspected
    assert admissions.admit("globex", new_job_id(), 3)  # per tenant
    admissions.release("acme", second)
    assert admissions.admit("acme", new_job_id(), 3)


def test_a_slot_whose_job_exists_is_not_counted_twice(records, admissions):
    job_id = new_job_id()
    assert admissions.admit("acme", job_id, 2)
    records.create(job_id, "acme", 1)  # created before the slot is given back
    assert admissions.in_progress("acme") == 1
    assert admissions.admit("acme", new_job_id(), 2)  # 1 job, 0 other submissions


def test_finished_jobs_do_not_count(records, admissions):
    job_id = new_job_id()
    records.create(job_id, "acme", 1)
    assert records.try_start(job_id, "w", 30)
    records.finish(job_id, "w", "succeeded")
    assert admissions.admit("acme", new_job_id(), 1)


def test_a_slot_of_a_dead_api_lapses(redis_client):
    clock = ManualClock()
    admissions = Admissions(redis_client, prefix="t", ttl_seconds=0.2, clock=clock)
    assert admissions.admit("acme", new_job_id(), 1)
    assert not admissions.admit("acme", new_job_id(), 1)
    assert admissions.in_progress("acme") == 1
    clock.advance(0.3)
    assert admissions.in_progress("acme") == 0
    assert admissions.admit("acme", new_job_id(), 1)
