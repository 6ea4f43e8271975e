"""``LeaseKeeper.checked``: a payload write runs only while the job is ours (real Redis)."""

from __future__ import annotations

import pytest

from jobstore import JobNotFoundError, JobRecords, new_job_id
from workers.tasks.lease import JobLostError, LeaseKeeper


def _started(records: JobRecords) -> str:
    job_id = new_job_id()
    records.create(job_id, "acme", 1)
    assert records.try_start(job_id, "w1", 30)
    return job_id


def test_a_held_job_is_written(redis_client) -> None:
    records = JobRecords(redis_client)
    keeper = LeaseKeeper(records, _started(records), "w1", 30)
    written: list[int] = []
    keeper.checked(lambda: written.append(1))
    assert written == [1]
    assert not keeper.lost.is_set()


def test_a_job_held_by_another_worker_is_not_written(redis_client) -> None:
    records = JobRecords(redis_client)
    keeper = LeaseKeeper(records, _started(records), "w2", 30)
    written: list[int] = []
    with pytest.raises(JobLostError, match="no longer ours"):
        keeper.checked(lambda: written.append(1))
    assert written == []
    assert keeper.lost.is_set()


def test_a_store_that_finds_the_job_gone_marks_it_lost(redis_client) -> None:
    records = JobRecords(redis_client)
    keeper = LeaseKeeper(records, _started(records), "w1", 30)

    def write() -> None:
        raise JobNotFoundError("job directory gone")

    with pytest.raises(JobLostError, match="job directory gone"):
        keeper.checked(write)
    assert keeper.lost.is_set()
