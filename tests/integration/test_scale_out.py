"""Workers without a shared disk: the API and two workers as separate process trees, each in a
working directory and with a data directory of its own, sharing only Redis and the object
store (moto in server mode). Every job completes exactly once, and its report is the one the
directory backend gives (the in-process audit of the same inputs, which
``test_jobs_http.test_submit_poll_report_matches_in_process_audit`` pins to that backend).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jobstore import JobRecords
from jobstore.objectstore import open_payload_store
from tests.fixtures.redis_server import RedisServer
from tests.fixtures.s3_server import S3Server
from tests.integration.stack import (
    ApiServer,
    WorkerProcess,
    assert_close,
    sample_pairs,
    stack_environment,
    submit,
    wait_for,
)
from tests.integration.test_jobs_http import FAST, in_process_report

JOBS = 6


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[S3Server, dict[str, str]]]:
    with S3Server() as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)  # this process reads the same bucket
        yield server, server.env()


def test_two_workers_without_a_shared_disk_complete_every_job_once(
    tmp_path: Path, s3_env: tuple[S3Server, dict[str, str]]
) -> None:
    server, store_env = s3_env
    with RedisServer() as redis_server:

        def env(name: str) -> dict[str, str]:
            home = tmp_path / name
            (home / "data").mkdir(parents=True)
            return stack_environment(
                redis_server.url, home / "data", RA_BATCH_SIZE="2", **store_env
            )

        (tmp_path / "logs").mkdir()
        api = ApiServer(env("api"), tmp_path / "logs" / "api.log").start()
        workers = [
            WorkerProcess(env(f"w{i}"), tmp_path / "logs", cwd=tmp_path / f"w{i}").start()
            for i in range(2)
        ]
        connection = redis_server.client()
        try:
            with httpx.Client(base_url=api.base_url, timeout=30.0) as client:
                ids = []
                for i in range(JOBS):
                    response = submit(client, sample_pairs(2, 64, seed=300 + i), FAST)
                    assert response.status_code == 202, response.text
                    ids.append(response.json()["id"])
                for job_id in ids:
                    assert wait_for(client, job_id, timeout=180)["state"] == "succeeded"
                reports = {i: client.get(f"/v1/jobs/{i}/report").json() for i in ids}
            records = JobRecords(connection)
            assert all(records.require(job_id).attempts == 0 for job_id in ids)
            logs = "".join(worker.log() for worker in workers)
            for job_id in ids:
                assert logs.count(f"job {job_id}: succeeded") == 1, job_id
            payloads = open_payload_store(os.environ["RA_STORAGE_URL"], tmp_path / "test")
            for job_id in ids:
                assert_close(reports[job_id], in_process_report(payloads, job_id))
            # Nothing of the jobs on the workers' disks once done (scratch copies dropped).
            for i in range(2):
                assert not list((tmp_path / f"w{i}" / "data").rglob("*.png"))
            assert len(server.keys("payloads/jobs/")) >= JOBS * 6
        finally:
            connection.close()
            for worker in workers:
                worker.stop()
            api.stop()
