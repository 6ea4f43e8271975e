"""Job records against a real Redis server: transitions, leases, pagination, expiry."""

from __future__ import annotations

import pytest

from jobstore import (
    InvalidPageTokenError,
    JobAlreadyFinishedError,
    JobExistsError,
    JobNotFoundError,
    JobRecords,
    JobRunningError,
    TooManyJobsError,
    new_job_id,
)
from tests.support.clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def records(redis_client, clock) -> JobRecords:
    return JobRecords(redis_client, prefix="t", clock=clock)


def test_create_queued_record_has_defaults(records):
    job_id = new_job_id()
    rec = records.create(job_id, "acme", 3, idempotency_key="k", payload_digest="d")
    assert (rec.state, rec.done, rec.total, rec.tenant) == ("queued", 0, 3, "acme")
    assert rec.started_at is None
    assert rec.finished_at is None
    assert rec.error is None
    assert rec.version == 1
    assert rec.etag == f'"{job_id}.1"'
    assert (rec.idempotency_key, rec.payload_digest, rec.attempts) == ("k", "d", 0)
    assert records.get(job_id) == rec


def test_a_record_keeps_its_kind_and_old_records_are_audits(records, redis_client):
    selfcheck, audit = new_job_id(), new_job_id()
    records.create(selfcheck, "acme", 18, kind="selfcheck")
    records.create(audit, "acme", 1)
    assert records.require(selfcheck).kind == "selfcheck"
    assert records.require(selfcheck).to_read("/v1/jobs").kind == "selfcheck"
    assert (records.kind_of(selfcheck), records.kind_of(audit)) == ("selfcheck", "audit")
    assert records.kind_of(new_job_id()) is None
    # A record written before kinds existed has no field: it is an audit.
    redis_client.hdel(f"t:job:{audit}", "kind")
    assert records.require(audit).kind == "audit"
    assert records.kind_of(audit) == "audit"


def test_create_twice_raises(records):
    job_id = new_job_id()
    records.create(job_id, "acme", 1)
    with pytest.raises(JobExistsError, match="exists"):
        records.create(job_id, "acme", 1)


def test_get_malformed_or_unknown_id_is_none(records):
    assert records.get("../etc") is None
    assert records.get(new_job_id()) is None
    with pytest.raises(JobNotFoundError):
        records.require(new_job_id())


def test_lifecycle_start_progress_finish(records):
    job_id = new_job_id()
    records.create(job_id, "acme", 2)
    assert records.try_start(job_id, "w1", 30)
    assert not records.try_start(job_id, "w2", 30), "a live lease is not taken over"
    assert not records.set_progress(job_id, "w2", 1, 2)
    assert records.set_progress(job_id, "w1", 1, 2)
    rec = records.require(job_id)
    assert (rec.state, rec.worker_id, rec.done) == ("running", "w1", 1)
    assert rec.started_at is not None
    assert rec.lease_until is not None
    assert not records.finish(job_id, "w2", "succeeded")
    assert records.finish(job_id, "w1", "succeeded")
    assert not records.finish(job_id, "w1", "failed"), "finish is conditional on running"
    done = records.require(job_id)
    assert done.state == "succeeded"
    assert done.finished_at is not None
    assert done.version > rec.version
    assert not records.try_start(job_id, "w3", 30)


def test_finish_failed_keeps_problem(records):
    job_id = new_job_id()
    records.create(job_id, "acme", 1)
    records.try_start(job_id, "w1", 30)
    problem = {"type": "about:blank", "title": "Bad input", "status": 422, "detail": "x"}
    assert records.finish(job_id, "w1", "failed", problem)
    read = records.require(job_id).to_read("/v1/jobs")
    assert read.error is not None
    assert read.error.title == "Bad input"
    assert read.links.self_ == f"/v1/jobs/{job_id}"
    assert read.model_dump(mode="json")["links"]["cancel"] == f"/v1/jobs/{job_id}/cancel"


def test_finish_rejects_non_final_state(records):
    with pytest.raises(ValueError, match="succeeded or failed"):
        records.finish(new_job_id(), "w", "running")  # type: ignore[arg-type]


def test_expired_lease_is_taken_over_and_counted(records, clock):
    job_id = new_job_id()
    records.create(job_id, "acme", 1)
    assert records.try_start(job_id, "w1", 0.05)
    clock.advance(0.1)
    assert job_id in records.expired_leases()
    assert not records.renew_lease(job_id, "w2", 30)
    assert records.try_start(job_id, "w2", 30)
    rec = records.require(job_id)
    assert (rec.worker_id, rec.attempts) == ("w2", 1)
    assert not records.renew_lease(job_id, "w1", 30), "the old worker lost the job"
    assert records.renew_lease(job_id, "w2", 30)
    assert job_id not in records.expired_leases()


def test_requeue_only_after_lease_expiry(records, clock):
    job_id = new_job_id()
    records.create(job_id, "acme", 1)
    records.try_start(job_id, "w1", 0.05)
    assert not records.requeue(new_job_id())
    assert not records.requeue(job_id), "a live lease is not requeued"
    clock.advance(0.1)
    assert records.expired_leases(now=0.0) == []
    assert records.requeue(job_id)
    rec = records.require(job_id)
    assert (rec.state, rec.worker_id, rec.attempts) == ("queued", None, 1)
    assert records.expired_leases() == []
    assert not records.requeue(job_id)
    assert records.try_start(job_id, "w2", 30)
    assert not records.requeue(job_id), "a live lease is not requeued"


def test_cancel_queued_is_immediate_and_idempotent(records):
    job_id = new_job_id()
    records.create(job_id, "acme", 1)
    rec = records.request_cancel(job_id)
    assert rec.state == "cancelled"
    assert rec.finished_at is not None
    again = records.request_cancel(job_id)
    assert again.version == rec.version
    assert not records.try_start(job_id, "w1", 30)


def test_cancel_running_sets_flag_then_worker_marks(records):
    job_id = new_job_id()
    records.create(job_id, "acme", 1)
    records.try_start(job_id, "w1", 30)
    rec = records.request_cancel(job_id)
    assert rec.state == "running"
    assert rec.cancel_requested
    assert records.is_cancel_requested(job_id)
    # The job stays the worker's, lease renewed, until it acknowledges (issue #11, item 5).
    assert records.renew_lease(job_id, "w1", 30), "a cancel request does not end the lease"
    assert records.holds(job_id, "w1")
    assert not records.holds(job_id, "w2")
    assert records.require(job_id).state == "running"
    assert job_id not in records.expired_leases()
    assert not records.mark_cancelled(job_id, "w2")
    assert records.mark_cancelled(job_id, "w1")
    assert records.require(job_id).state == "cancelled"
    assert not records.holds(job_id, "w1")
    assert not records.renew_lease(job_id, "w1", 30), "acknowledged: no longer the worker's"


def test_cancel_finished_or_missing_raises(records):
    job_id = new_job_id()
    records.create(job_id, "acme", 1)
    records.try_start(job_id, "w1", 30)
    records.finish(job_id, "w1", "failed")
    with pytest.raises(JobAlreadyFinishedError, match="finished"):
        records.request_cancel(job_id)
    with pytest.raises(JobNotFoundError):
        records.request_cancel(new_job_id())


def test_requeue_of_cancel_requested_job_cancels(records, clock):
    job_id = new_job_id()
    records.create(job_id, "acme", 1)
    records.try_start(job_id, "w1", 0.05)
    records.request_cancel(job_id)
    clock.advance(0.1)
    assert not records.requeue(job_id)
    assert records.require(job_id).state == "cancelled"


def test_delete_refuses_running_unless_forced(records):
    job_id = new_job_id()
    records.create(job_id, "acme", 1)
    records.try_start(job_id, "w1", 30)
    with pytest.raises(JobRunningError):
        records.delete(job_id)
    records.delete(job_id, force=True)
    assert records.get(job_id) is None
    assert records.expired_leases(now=1e12) == []
    assert records.list("acme") == ([], None)
    with pytest.raises(JobNotFoundError):
        records.delete(job_id)


def test_list_newest_first_pages_stable_under_inserts(records):
    ids = [new_job_id() for _ in range(5)]
    for job_id in ids:
        records.create(job_id, "acme", 1)
    records.create(new_job_id(), "other", 1)
    page, token = records.list("acme", page_size=2)
    assert [r.id for r in page] == ids[:-3:-1]
    assert token is not None
    records.create(new_job_id(), "acme", 1)  # newer; must not shift the next page
    page2, token2 = records.list("acme", page_size=2, page_token=token)
    assert [r.id for r in page2] == [ids[2], ids[1]]
    page3, token3 = records.list("acme", page_size=2, page_token=token2)
    assert [r.id for r in page3] == [ids[0]]
    assert token3 is None


def test_list_filters_by_state_and_checks_token(records):
    a, b = new_job_id(), new_job_id()
    records.create(a, "acme", 1)
    records.create(b, "acme", 1)
    records.request_cancel(a)
    page, _ = records.list("acme", state="cancelled")
    assert [r.id for r in page] == [a]
    _, token = records.list("acme", page_size=1)
    assert token is not None
    with pytest.raises(InvalidPageTokenError):
        records.list("acme", state="queued", page_token=token)
    with pytest.raises(InvalidPageTokenError):
        records.list("acme", page_token="not-a-token")


def test_in_flight_limit_is_atomic_with_create(records):
    first, second = new_job_id(), new_job_id()
    records.create(first, "acme", 1, max_in_flight=1)
    with pytest.raises(TooManyJobsError, match="1 unfinished"):
        records.create(second, "acme", 1, max_in_flight=1)
    records.create(new_job_id(), "other", 1, max_in_flight=1)
    records.request_cancel(first)
    records.create(second, "acme", 1, max_in_flight=1)
    assert records.count_in_flight("acme") == 1


def test_records_expire_after_retention(redis_client):
    records = JobRecords(redis_client, prefix="t", retention_seconds=1)
    job_id = new_job_id()
    records.create(job_id, "acme", 1)
    assert 0 < redis_client.ttl(f"t:job:{job_id}") <= 1
    assert records.counts_by_state()["queued"] == 1
    # Let Redis expire the record now (an expiry time in the past) instead of waiting 1 s.
    redis_client.pexpireat(f"t:job:{job_id}", 1)
    assert records.get(job_id) is None
    assert records.list("acme") == ([], None)
    assert records.prune_indexes() == 1
    assert records.counts_by_state()["queued"] == 0


def test_change_refreshes_expiry(redis_client):
    records = JobRecords(redis_client, prefix="t", retention_seconds=100)
    job_id = new_job_id()
    records.create(job_id, "acme", 1)
    redis_client.expire(f"t:job:{job_id}", 5)
    records.request_cancel(job_id)
    assert redis_client.ttl(f"t:job:{job_id}") > 5


def test_bytes_client_reads_the_same(redis_server):
    client = redis_server.client()
    client.flushall()
    records = JobRecords(client, prefix="t")
    job_id = new_job_id()
    records.create(job_id, "acme", 1)
    assert records.require(job_id).state == "queued"
    assert records.list("acme")[0][0].id == job_id
    client.close()


def test_malformed_stored_error_is_wrapped(records):
    job_id = new_job_id()
    records.create(job_id, "acme", 1)
    records.try_start(job_id, "w1", 30)
    records.finish(job_id, "w1", "failed", {"oops": True})
    error = records.require(job_id).to_read("/v1/jobs").error
    assert error is not None
    assert (error.title, error.status) == ("Job failed", 500)
    assert "oops" in (error.detail or "")


def test_change_refreshes_tenant_index_expiry(redis_client):
    records = JobRecords(redis_client, prefix="t", retention_seconds=100)
    job_id = new_job_id()
    records.create(job_id, "acme", 1)
    redis_client.expire("t:t:acme:jobs", 5)
    records.request_cancel(job_id)
    assert redis_client.ttl("t:t:acme:jobs") > 5
    assert redis_client.ttl("t:t:acme:state:cancelled") > 5


def test_only_one_of_many_racing_workers_starts_the_job(redis_client):
    from concurrent.futures import ThreadPoolExecutor

    records = JobRecords(redis_client, prefix="t")
    job_id = new_job_id()
    records.create(job_id, "acme", 1)
    with ThreadPoolExecutor(8) as pool:
        won = list(pool.map(lambda w: records.try_start(job_id, f"w{w}", 30), range(16)))
    assert sum(won) == 1
    assert records.require(job_id).worker_id == f"w{won.index(True)}"


@pytest.mark.parametrize("score", [10**400, -1, True, 1.5, "1"])
def test_forged_page_tokens_are_refused(records, score):
    import base64
    import json

    raw = json.dumps({"v": 1, "s": score, "f": None}).encode()
    token = base64.urlsafe_b64encode(raw).decode()
    with pytest.raises(InvalidPageTokenError):
        records.list("acme", page_token=token)
