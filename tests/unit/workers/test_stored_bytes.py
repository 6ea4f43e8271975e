"""A finished job's outputs count in its tenant's stored bytes (issue #11, item 4f)."""

from __future__ import annotations

import io

from jobstore import JobRecords, PayloadStore, new_job_id
from jobstore.storage import StoredBytes
from workers.settings import WorkerSettings
from workers.stores import Stores
from workers.tasks.audit import observe_finished


def test_a_finished_job_counts_what_it_stores(redis_client, redis_server, tmp_path):
    records = JobRecords(redis_client, prefix="ra")
    payloads = PayloadStore(tmp_path)
    stores = Stores(
        records, payloads, WorkerSettings(redis_url=redis_server.url, data_dir=tmp_path)
    )
    job_id = new_job_id()
    payloads.write_input(job_id, "gt.png", io.BytesIO(b"x" * 100))
    records.create(job_id, "acme", 1, stored_bytes=100)
    usage = StoredBytes(redis_client, prefix="ra", retention_seconds=records.retention_seconds)
    assert usage.usage("acme") == 100

    worker = "w1"
    assert records.try_start(job_id, worker, 30)
    payloads.write_report(job_id, b"{" + b" " * 898 + b"}")
    payloads.write_artifact(job_id, "plot.png", b"p" * 1000)
    assert records.finish(job_id, worker, "succeeded")
    observe_finished(stores, job_id)
    assert usage.usage("acme") == 2000

    records.delete(job_id)
    observe_finished(stores, job_id)  # a job deleted meanwhile is not brought back
    assert usage.usage("acme") == 0
