"""Idempotency keys against a real Redis server."""

from __future__ import annotations

import pytest

from jobstore import IdempotencyKeys, JobRecords, new_job_id


@pytest.fixture
def keys(redis_client) -> IdempotencyKeys:
    return IdempotencyKeys(redis_client, prefix="t", pending_seconds=30)


def test_new_then_in_progress_then_replay(keys, redis_client):
    records = JobRecords(redis_client, prefix="t")
    assert keys.reserve("acme", "key-1", "d1").state == "new"
    busy = keys.reserve("acme", "key-1", "d1")
    assert busy.state == "in_progress"
    assert 1 <= busy.retry_after <= 30
    job_id = new_job_id()
    records.create(job_id, "acme", 1, idempotency_key="key-1")
    assert keys.complete("acme", "key-1", job_id)
    replay = keys.reserve("acme", "key-1", "d1")
    assert (replay.state, replay.job_id) == ("replay", job_id)


def test_different_payload_is_mismatch(keys):
    keys.reserve("acme", "key-1", "d1")
    assert keys.reserve("acme", "key-1", "d2").state == "mismatch"


def test_keys_are_scoped_to_tenant(keys):
    keys.reserve("acme", "key-1", "d1")
    assert keys.reserve("other", "key-1", "d2").state == "new"


def test_release_frees_the_key(keys):
    keys.reserve("acme", "key-1", "d1")
    assert keys.release("acme", "key-1")
    assert keys.reserve("acme", "key-1", "d2").state == "new"


def test_replay_of_deleted_job_starts_afresh(keys, redis_client):
    records = JobRecords(redis_client, prefix="t")
    keys.reserve("acme", "k", "d")
    job_id = new_job_id()
    records.create(job_id, "acme", 1, idempotency_key="k")
    keys.complete("acme", "k", job_id)
    records.delete(job_id)
    assert keys.reserve("acme", "k", "d").state == "new"


def test_completed_key_expires_with_retention(redis_client):
    keys = IdempotencyKeys(redis_client, prefix="t", retention_seconds=60)
    keys.reserve("acme", "k", "d")
    keys.complete("acme", "k", new_job_id())
    ttls = [redis_client.ttl(k) for k in redis_client.keys("t:idem:*")]
    assert len(ttls) == 1
    assert 0 < ttls[0] <= 60
    assert not keys.release("acme", "k"), "a completed key is not released"
