"""Storage limits in the job store: Redis write refusals named in every form, and each tenant's
stored bytes counted atomically with job creation, deletion and expiry (issue #11, item 4).

Refusals are real: a Redis server of the test's own put in each state (a snapshot that cannot
be written, ``maxmemory``, a replica, ``min-replicas-to-write``).
"""

from __future__ import annotations

import errno
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from jobstore import JobRecords, StorageQuotaExceededError, new_job_id
from jobstore.storage import (
    Persistence,
    StoredBytes,
    directory_bytes,
    format_bytes,
    free_bytes,
    is_disk_full,
    write_refusal,
)
from tests.fixtures.redis_server import RedisServer

UNWRITABLE_DIR = "/proc"
"""A directory no snapshot can be written in, for root too."""


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    with RedisServer() as own:
        yield own


def misconf(client: redis.Redis) -> None:
    """Make Redis refuse writes with MISCONF: save points on, a snapshot that fails."""
    client.config_set("save", "3600 1")
    client.config_set("stop-writes-on-bgsave-error", "yes")
    client.set("dirty", "1")
    client.config_set("dir", UNWRITABLE_DIR)
    client.bgsave()
    deadline = time.monotonic() + 10
    while Persistence.read(client).rdb_save_ok or Persistence.read(client).rdb_saving:
        assert time.monotonic() < deadline, "the snapshot did not fail"
        time.sleep(0.05)


REFUSALS = {
    "MISCONF": misconf,
    "OOM": lambda c: (
        c.config_set("maxmemory-policy", "noeviction"),
        c.config_set("maxmemory", "1"),
    ),
    "READONLY": lambda c: c.replicaof("127.0.0.1", "1"),  # a master that is not there
    "NOREPLICAS": lambda c: c.config_set("min-replicas-to-write", "1"),
}


@pytest.mark.parametrize("kind", sorted(REFUSALS))
def test_write_refusals_are_named_from_commands_pipelines_and_scripts(own_redis, kind):
    client = own_redis.client(decode_responses=True)
    script = client.register_script("return redis.call('SET', KEYS[1], 'v')")
    REFUSALS[kind](client)
    errors = []
    for attempt in (
        lambda: client.set("k", "v"),
        lambda: client.pipeline(transaction=False).set("k", "v").get("k").execute(),
        lambda: client.pipeline().set("k", "v").execute(),
        lambda: script(keys=["k"]),
    ):
        with pytest.raises(redis.ResponseError) as caught:
            attempt()
        errors.append(caught.value)
    assert [write_refusal(e) for e in errors] == [kind] * 4, [str(e) for e in errors]
    assert client.get("dirty") in (None, "1")  # reads still work


def test_other_response_errors_are_not_refusals(redis_client):
    redis_client.rpush("list", "x")
    with pytest.raises(redis.ResponseError) as wrong_type:
        redis_client.get("list")
    with pytest.raises(redis.ResponseError) as script_bug:
        redis_client.eval("return redis.call('INCR', KEYS[1])", 1, "list")
    with pytest.raises(redis.ResponseError) as user_text:  # a refusal's words in a value
        redis_client.eval("return redis.error_reply('bad: -MISCONF no')", 0)
    for error in (wrong_type.value, script_bug.value, user_text.value):
        assert write_refusal(error) is None, str(error)
    assert write_refusal(redis.ConnectionError("MISCONF ")) is None


def test_snapshot_failure_is_seen_and_cleared_by_a_bgsave(own_redis):
    client = own_redis.client(decode_responses=True)
    misconf(client)
    state = Persistence.read(client)
    assert not state.ok
    assert "snapshot" in state.describe()
    client.config_set("dir", str(own_redis.directory))
    client.bgsave()  # not a write: allowed under MISCONF
    deadline = time.monotonic() + 10
    while not Persistence.read(client).ok:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert client.set("k", "v")


def test_disk_full_errors_and_sizes(tmp_path):
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(ValueError("ENOSPC"))
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "x").write_bytes(b"1234")
    (tmp_path / "a" / "b" / "y").write_bytes(b"12")
    assert directory_bytes(tmp_path / "a") == 6
    assert directory_bytes(tmp_path / "missing") == 0
    assert [format_bytes(n) for n in (512, 1536, 5 << 20, 3 << 30)] == [
        "512 B",
        "1.5 KiB",
        "5.0 MiB",
        "3.0 GiB",
    ]


# -- stored bytes ------------------------------------------------------------------------------


def _stores(client: redis.Redis, retention: int = 3600) -> tuple[JobRecords, StoredBytes]:
    records = JobRecords(client, prefix="ra", retention_seconds=retention)
    return records, StoredBytes(client, prefix="ra", retention_seconds=retention)


def test_usage_follows_creation_output_and_deletion(redis_client):
    records, stored = _stores(redis_client)
    first, second = new_job_id(), new_job_id()
    records.create(first, "acme", 1, stored_bytes=100, max_stored_bytes=1000)
    records.create(second, "acme", 1, stored_bytes=300, max_stored_bytes=1000)
    records.create(new_job_id(), "globex", 1, stored_bytes=999, max_stored_bytes=1000)
    assert stored.usage("acme") == 400
    assert stored.set_job_bytes(first, 650)  # the worker's outputs, once finished
    assert stored.usage("acme") == 950
    with pytest.raises(StorageQuotaExceededError) as refused:
        records.create(new_job_id(), "acme", 1, stored_bytes=51, max_stored_bytes=1000)
    assert (refused.value.usage, refused.value.quota, refused.value.job_bytes) == (950, 1000, 51)
    records.create(new_job_id(), "acme", 1, stored_bytes=50, max_stored_bytes=1000)  # fits
    assert stored.usage("acme") == 1000

    records.delete(second)  # its bytes stop counting in the same script
    assert stored.usage("acme") == 700
    assert not stored.set_job_bytes(second, 10)  # gone: not brought back
    assert stored.usage("acme") == 700
    assert second not in redis_client.hkeys("ra:t:acme:bytes")  # pruned when met


def test_usage_drops_when_records_expire(redis_client):
    records, stored = _stores(redis_client, retention=1)
    job_id = new_job_id()
    records.create(job_id, "acme", 1, stored_bytes=123, max_stored_bytes=200)
    assert stored.usage("acme") == 123
    assert redis_client.ttl("ra:t:acme:bytes") > 0  # the hash expires with the tenant's indexes
    # Let Redis expire the record now (an expiry time in the past) instead of waiting 1 s.
    redis_client.pexpireat(f"ra:job:{job_id}", 1)
    assert not redis_client.exists(f"ra:job:{job_id}")
    # the record expired: its bytes no longer count, and a new job fits the quota again
    records2, stored2 = _stores(redis_client)
    records2.create(new_job_id(), "acme", 1, stored_bytes=150, max_stored_bytes=200)
    assert stored2.usage("acme") == 150


def test_no_quota_still_counts(redis_client):
    records, stored = _stores(redis_client)
    records.create(new_job_id(), "acme", 1, stored_bytes=10)
    records.create(new_job_id(), "acme", 1)  # callers that store nothing yet
    assert stored.usage("acme") == 10
    with pytest.raises(ValueError):
        stored.set_job_bytes(new_job_id(), -1)


def test_free_bytes_of_a_real_directory(tmp_path: Path):
    assert free_bytes(tmp_path) > 0
    assert free_bytes(tmp_path / "not" / "yet") == free_bytes(tmp_path)
