"""At-least-once delivery made exactly-once in effect: worker deaths and duplicate messages."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime

import httpx

from api_schemas.jobs import JobManifest, ManifestPair
from api_schemas.options import AuditOptions
from jobstore import AUDIT_QUEUE, AUDIT_TASK, JobRecords, PayloadStore, new_job_id
from tests.integration.conftest import LEASE_SECONDS
from tests.integration.stack import WorkerProcess, assert_close, sample_pairs, submit, wait_for
from tests.integration.test_jobs_http import FAST, in_process_report


def test_worker_killed_mid_job_is_recovered_once(
    client: httpx.Client, worker: WorkerProcess, records: JobRecords, payloads: PayloadStore
) -> None:
    job = submit(client, sample_pairs(10, 96, seed=41)).json()
    wait_for(client, job["id"], states=("running",), min_done=2, timeout=60)
    worker.kill()  # main process and pool child, SIGKILL: nothing gets to clean up
    killed_at = time.monotonic()
    assert records.require(job["id"]).state == "running"

    worker.start()
    done = wait_for(client, job["id"], timeout=90)
    assert done["state"] == "succeeded", done
    assert time.monotonic() - killed_at >= LEASE_SECONDS - 1, "recovered before the lease expired"
    record = records.require(job["id"])
    assert record.attempts == 1, "expected one requeue after the worker died"
    assert done["progress"] == {"done": 10, "total": 10}
    report = client.get(f"/v1/jobs/{job['id']}/report").json()
    assert_close(report, in_process_report(payloads, job["id"]))


def test_task_sent_twice_leaves_one_result(
    worker: WorkerProcess, records: JobRecords, payloads: PayloadStore
) -> None:
    # A job made the way the API makes one, then its message sent twice (as a redelivery does).
    job_id = new_job_id()
    pairs = []
    for i, (gt, restored) in enumerate(sample_pairs(2, 64, seed=43)):
        payloads.write_input(job_id, f"gt{i}.png", io.BytesIO(gt))
        payloads.write_input(job_id, f"restored{i}.png", io.BytesIO(restored))
        pairs.append(
            ManifestPair(id=f"p{i}", ground_truth=f"gt{i}.png", restored=f"restored{i}.png")
        )
    payloads.write_manifest(
        JobManifest(
            job_id=job_id,
            tenant="local",
            created_at=datetime.now(UTC),
            options=AuditOptions.model_validate(FAST),
            pairs=pairs,
        )
    )
    records.create(job_id, "local", len(pairs))
    for _ in range(2):
        worker.app.send_task(AUDIT_TASK, args=[job_id], queue=AUDIT_QUEUE)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        record = records.require(job_id)
        log = worker.log()
        if record.finished and f"job {job_id}: not startable" in log:
            break
        time.sleep(0.1)
    assert record.state == "succeeded", record
    assert record.attempts == 0
    assert log.count(f"job {job_id}: not startable") == 1
    finished_at = record.finished_at
    assert payloads.read_report(job_id) is not None
    assert records.require(job_id).finished_at == finished_at


def test_malformed_job_id_is_rejected_without_side_effects(worker: WorkerProcess) -> None:
    worker.app.send_task(AUDIT_TASK, args=["../../etc"], queue=AUDIT_QUEUE)
    deadline = time.monotonic() + 30
    while "rejecting a malformed job id" not in worker.log():
        assert time.monotonic() < deadline, worker.log()[-2000:]
        time.sleep(0.1)
