"""A succeeded job reports all its pairs done, even when progress updates were lost."""

from __future__ import annotations

from jobstore import JobRecords, new_job_id


def test_success_completes_progress_that_a_redis_blip_lost(redis_client):
    records = JobRecords(redis_client)
    job_id = new_job_id()
    records.create(job_id, "acme", 6)
    assert records.try_start(job_id, "w1", 30)
    assert records.set_progress(job_id, "w1", 2, 6)  # updates 3..6 lost while Redis was down
    assert records.finish(job_id, "w1", "succeeded")
    record = records.require(job_id)
    assert (record.state, record.done, record.total) == ("succeeded", 6, 6)


def test_failure_keeps_the_progress_it_reached(redis_client):
    records = JobRecords(redis_client)
    job_id = new_job_id()
    records.create(job_id, "acme", 6)
    assert records.try_start(job_id, "w1", 30)
    assert records.set_progress(job_id, "w1", 2, 6)
    assert records.finish(job_id, "w1", "failed", {"title": "Time limit", "status": 500})
    assert records.require(job_id).done == 2
