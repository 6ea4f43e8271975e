"""Reports and artifacts once a job finished, and conflicts with running jobs.

A worker's side is played through the job store itself (the real records and payload store):
the integration tests run the real worker.
"""

from __future__ import annotations

import json

import pytest

from jobstore import JobRecords, PayloadStore
from tests.unit.service.conftest import batch

REPORT = {"schema_version": "1", "groups": [], "pairs": [], "warnings": []}


@pytest.fixture
def worker(redis_client, settings):
    return JobRecords(redis_client, prefix=settings.redis_prefix), PayloadStore(settings.data_dir)


def test_report_and_artifact_of_succeeded_job(client, worker):
    records, store = worker
    job_id = client.post("/v1/jobs", **batch(1)).json()["id"]
    assert records.try_start(job_id, "w1", 30)
    assert client.get(f"/v1/jobs/{job_id}").json()["state"] == "running"
    store.write_report(job_id, json.dumps(REPORT).encode())
    store.write_artifact(job_id, "pair-0_invented_detail.png", b"\x89PNG fake")
    assert records.set_progress(job_id, "w1", 1, 1)
    assert records.finish(job_id, "w1", "succeeded")
    job = client.get(f"/v1/jobs/{job_id}").json()
    assert (job["state"], job["progress"]["done"]) == ("succeeded", 1)
    report = client.get(job["links"]["report"])
    assert report.status_code == 200
    assert report.json() == REPORT
    assert "immutable" in report.headers["cache-control"]
    cached = client.get(job["links"]["report"], headers={"If-None-Match": report.headers["etag"]})
    assert cached.status_code == 304
    artifact = client.get(f"/v1/jobs/{job_id}/artifacts/pair-0_invented_detail.png")
    assert artifact.status_code == 200
    assert artifact.headers["content-type"] == "image/png"
    assert artifact.content == b"\x89PNG fake"
    missing = client.get(f"/v1/jobs/{job_id}/artifacts/..%2Freport.json")
    assert missing.status_code == 404


def test_failed_job_carries_its_problem_and_has_no_report(client, worker):
    records, _ = worker
    job_id = client.post("/v1/jobs", **batch(1)).json()["id"]
    records.try_start(job_id, "w1", 30)
    problem = {"type": "https://x/estimator-input", "title": "Bad input", "status": 422}
    records.finish(job_id, "w1", "failed", problem)
    job = client.get(f"/v1/jobs/{job_id}").json()
    assert job["error"]["title"] == "Bad input"
    response = client.get(f"/v1/jobs/{job_id}/report")
    assert response.status_code == 409
    assert response.json()["type"].endswith("/job-has-no-report")
    assert client.post(f"/v1/jobs/{job_id}/cancel").status_code == 409


def test_running_job_cancel_is_flagged_and_delete_refused(client, worker):
    records, _ = worker
    job_id = client.post("/v1/jobs", **batch(1)).json()["id"]
    records.try_start(job_id, "w1", 30)
    response = client.post(f"/v1/jobs/{job_id}/cancel")
    assert response.status_code == 202
    assert response.json()["state"] == "running"
    assert response.json()["cancel_requested"] is True
    assert records.is_cancel_requested(job_id)
    deleted = client.delete(f"/v1/jobs/{job_id}")
    assert deleted.status_code == 409
    assert deleted.json()["type"].endswith("/job-running")
    assert records.mark_cancelled(job_id, "w1")
    assert client.delete(f"/v1/jobs/{job_id}").status_code == 204


def test_report_missing_from_store_is_404(client, worker):
    records, _ = worker
    job_id = client.post("/v1/jobs", **batch(1)).json()["id"]
    records.try_start(job_id, "w1", 30)
    records.finish(job_id, "w1", "succeeded")
    assert client.get(f"/v1/jobs/{job_id}/report").status_code == 404
