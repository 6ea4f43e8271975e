"""The payload store's two backends under the same real stack: a directory, and S3-compatible
object storage (moto in server mode, ``tests/fixtures/s3_server.py``).

Each backend gets its own Redis, API and worker (module-scoped, parametrised). On the S3
backend the API and the worker have different data directories (local scratch only), so
everything they share goes through the bucket. A representative subset of the service's
integration tests runs here on both backends (the rest of the suite covers the directory).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest

from jobstore import JobRecords, PayloadStore
from jobstore.objectstore import S3PayloadStore, open_payload_store
from jobstore.storage import StoredBytes
from tests.fixtures.redis_server import RedisServer
from tests.fixtures.s3_server import S3Server, outage
from tests.integration.stack import (
    FAST_RECOVERY,
    ApiServer,
    WorkerProcess,
    assert_close,
    assert_problem,
    png,
    sample_pairs,
    stack_environment,
    submit,
    wait_for,
)
from tests.integration.test_jobs_http import FAST, PNG_MAGIC, in_process_report

QUOTA_BYTES = 600_000
"""Per-tenant quota of these stacks: one batch of two noise pairs (~310 kB) fits, two do not."""


@dataclass
class Stack:
    backend: str
    api: ApiServer
    presign_api: ApiServer
    worker: WorkerProcess
    records: JobRecords
    payloads: PayloadStore
    s3: S3Server | None


@pytest.fixture(scope="module", params=["local", "s3"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    backend: str = request.param
    root = tmp_path_factory.mktemp(f"store-{backend}")
    (root / "logs").mkdir()
    saved = dict(os.environ)
    s3_or_none = S3Server() if backend == "s3" else contextlib.nullcontext()
    with RedisServer() as redis_server, s3_or_none as s3:
        store_env = s3.env() if s3 is not None else {}
        os.environ.update(store_env)  # this process's own store reaches the same bucket

        def env(data: str, **extra: str) -> dict[str, str]:
            return stack_environment(
                redis_server.url,
                root / data,
                **FAST_RECOVERY,
                RA_MAX_STORED_BYTES_PER_TENANT=str(QUOTA_BYTES),
                **store_env,
                **extra,
            )

        # The directory store is shared by API and worker; the object store needs no sharing.
        api_dir, worker_dir = ("data", "data") if s3 is None else ("api-scratch", "worker-scratch")
        api = ApiServer(env(api_dir), root / "logs" / "api.log").start()
        presign_api = ApiServer(
            env(api_dir, RA_STORAGE_PRESIGN="true"), root / "logs" / "api-presign.log"
        ).start()
        worker = WorkerProcess(env(worker_dir), root / "logs").start()
        payloads = open_payload_store(store_env.get("RA_STORAGE_URL"), root / "test-scratch")
        if s3 is None:
            payloads = PayloadStore(root / "data")
        connection = redis_server.client()
        try:
            yield Stack(backend, api, presign_api, worker, JobRecords(connection), payloads, s3)
        finally:
            connection.close()
            worker.stop()
            presign_api.stop()
            api.stop()
            os.environ.clear()
            os.environ.update(saved)


@pytest.fixture
def client(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.api.base_url, timeout=30.0) as http:
        yield http


def _delete(client: httpx.Client, job_id: str) -> None:
    """Delete a finished job, so that the next test starts with the tenant's quota free."""
    assert client.delete(f"/v1/jobs/{job_id}").status_code == 204


def _noise_pairs(count: int, size: int, seed: int) -> list[tuple[bytes, bytes]]:
    """Pairs of incompressible PNGs (their stored size is their pixel size)."""
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(count):
        gt = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        noisy = np.clip(gt.astype(int) + rng.integers(-20, 21, gt.shape), 0, 255).astype(np.uint8)
        pairs.append((png(gt), png(noisy)))
    return pairs


def test_submission_to_report_round_trip(stack: Stack, client: httpx.Client) -> None:
    response = submit(client, sample_pairs(3, 64, seed=7), FAST)
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    done = wait_for(client, job_id, timeout=90)
    assert done["state"] == "succeeded", done
    report = client.get(f"/v1/jobs/{job_id}/report")
    assert report.status_code == 200
    assert_close(report.json(), in_process_report(stack.payloads, job_id))
    if stack.s3 is not None:  # in the bucket, not on a shared disk
        keys = stack.s3.keys(f"payloads/jobs/{job_id}/")
        assert f"payloads/jobs/{job_id}/report.json" in keys
        assert sum("/input/" in key for key in keys) == 6
    _delete(client, job_id)


def test_worker_killed_mid_job_is_recovered_once(stack: Stack, client: httpx.Client) -> None:
    job_id = submit(client, sample_pairs(8, 96, seed=41), FAST).json()["id"]
    wait_for(client, job_id, states=("running",), min_done=2, timeout=60)
    stack.worker.kill()
    stack.worker.start()
    done = wait_for(client, job_id, timeout=120)
    assert done["state"] == "succeeded", done
    assert stack.records.require(job_id).attempts == 1
    report = client.get(f"/v1/jobs/{job_id}/report").json()
    assert_close(report, in_process_report(stack.payloads, job_id))
    _delete(client, job_id)


def test_artifacts_stream_and_presigned_redirect(stack: Stack, client: httpx.Client) -> None:
    job_id = submit(client, sample_pairs(2, 64, seed=3), FAST).json()["id"]
    assert wait_for(client, job_id, timeout=90)["state"] == "succeeded"
    report = client.get(f"/v1/jobs/{job_id}/report").json()
    urls = [url for pair in report["pairs"] for url in pair["hallucination"]["maps"].values()]
    assert urls
    with httpx.Client(base_url=stack.presign_api.base_url, timeout=30.0) as presigning:
        for url in urls:
            streamed = client.get(url)
            assert streamed.status_code == 200
            assert streamed.headers["content-type"] == "image/png"
            assert int(streamed.headers["content-length"]) == len(streamed.content)
            assert streamed.content.startswith(PNG_MAGIC)
            answer = presigning.get(url)
            if stack.s3 is None:  # a directory has no URL to hand out: served as usual
                assert answer.status_code == 200
                assert answer.content == streamed.content
            else:
                assert answer.status_code == 307, answer.text
                direct = httpx.get(answer.headers["location"], timeout=30.0)
                assert direct.status_code == 200
                assert direct.content == streamed.content
        assert_problem(presigning.get(f"/v1/jobs/{job_id}/artifacts/missing.png"), 404)
    assert_problem(client.get(f"/v1/jobs/{job_id}/artifacts/missing.png"), 404)
    _delete(client, job_id)


def test_delete_during_download_sends_the_whole_file_then_404(
    stack: Stack, client: httpx.Client
) -> None:
    job_id = submit(client, sample_pairs(2, 128, seed=5), FAST).json()["id"]
    assert wait_for(client, job_id, timeout=90)["state"] == "succeeded"
    report = client.get(f"/v1/jobs/{job_id}/report").json()
    url = next(iter(report["plots"].values()))
    whole = client.get(url).content
    with client.stream("GET", url) as response:
        assert response.status_code == 200
        chunks = response.iter_bytes(256)
        first = next(chunks)
        assert client.delete(f"/v1/jobs/{job_id}").status_code == 204
        body = first + b"".join(chunks)
    assert body == whole
    assert_problem(client.get(url), 404)
    assert stack.payloads.read_report(job_id) is None
    if stack.s3 is not None:
        assert stack.s3.keys(f"payloads/jobs/{job_id}/") == []


def test_quota_counts_the_store_and_expiry_sweeps_it(stack: Stack, client: httpx.Client) -> None:
    first = submit(client, _noise_pairs(2, 160, seed=11), FAST)
    assert first.status_code == 202, first.text
    job_id = first.json()["id"]
    assert wait_for(client, job_id, timeout=120)["state"] == "succeeded"
    stored = StoredBytes(stack.records.redis, prefix="ra", retention_seconds=3600)
    kept = stack.payloads.stored_bytes(job_id)
    assert kept > 310_000
    # The worker counts the report and maps just after it records the job as succeeded.
    deadline = time.monotonic() + 30
    while stored.usage("local") != kept and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stored.usage("local") == kept
    over = submit(client, _noise_pairs(2, 160, seed=12), FAST)
    body = assert_problem(over, 413)
    assert body["usage_bytes"] == stack.payloads.stored_bytes(job_id)
    _delete(client, job_id)
    second = submit(client, _noise_pairs(2, 160, seed=12), FAST)
    assert second.status_code == 202, second.text
    expired = second.json()["id"]
    assert wait_for(client, expired, timeout=120)["state"] == "succeeded"
    stack.records.delete(expired, force=True)  # what the record's expiry does
    assert stack.payloads.sweep_expired(stack.records, min_age_seconds=0) == [expired]
    assert expired not in stack.payloads.job_ids()
    assert stack.payloads.read_report(expired) is None
    assert stored.usage("local") == 0


@pytest.mark.parametrize("stack", ["s3"], indirect=True)
def test_unreachable_store_is_a_503_and_loses_nothing(stack: Stack, client: httpx.Client) -> None:
    assert stack.s3 is not None
    job_id = submit(client, sample_pairs(8, 96, seed=61), FAST).json()["id"]
    wait_for(client, job_id, states=("running",), min_done=2, timeout=60)
    with outage(stack.s3):
        refused = submit(client, sample_pairs(1, 64, seed=62), FAST)
        body = assert_problem(refused, 503)
        assert int(refused.headers["retry-after"]) >= 1, body
        assert_problem(client.get(f"/v1/jobs/{job_id}/artifacts/pair-0.png"), 503)
        ready = client.get("/readyz")  # a load balancer stops sending work here
        assert_problem(ready, 503)
        assert ready.json()["checks"]["object_store"] == "unreachable", ready.text
        time.sleep(3)  # the worker meets the outage at its next write and gives the job back
        assert client.get(f"/v1/jobs/{job_id}").json()["state"] in ("running", "queued")
    done = wait_for(client, job_id, timeout=120)
    assert done["state"] == "succeeded", done
    log = stack.worker.log()
    assert "StoreUnavailableError" in log, "the worker never met the outage"
    # Celery's retry, not a reject left to the lease sweeper: the pool child's app has the
    # worker's broker (it had Celery's default amqp://localhost before).
    assert "Retry in" in log
    assert "reject requeue=False" not in log
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["object_store"] == "ok"
    report = client.get(f"/v1/jobs/{job_id}/report").json()
    assert_close(report, in_process_report(stack.payloads, job_id))
    _delete(client, job_id)


def test_scratch_directories_differ(stack: Stack) -> None:
    """The S3 stack's API and worker share no directory (the point of the backend)."""
    api_dir = Path(stack.api.env["RA_DATA_DIR"])
    worker_dir = Path(stack.worker.env["RA_DATA_DIR"])
    assert (api_dir == worker_dir) == (stack.backend == "local")
    assert isinstance(stack.payloads, S3PayloadStore) == (stack.backend == "s3")
