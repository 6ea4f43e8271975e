"""A full store and a tenant's quota, as clients see them (issue #11, item 4).

* Redis refusing writes (``MISCONF``, ``OOM``, ``READONLY``, ``NOREPLICAS``) is a 503 problem
  with ``Retry-After`` on every route that writes; reads keep working. Each state is real: a
  Redis server of the test's own is put in it.
* A payload store whose disk would drop below ``RA_MIN_FREE_BYTES`` is a 507 problem before
  anything is written; here the reserve is set above the real free space, so the check
  measures the real disk (tests/integration/test_full_disk.py fills a real one).
* ``RA_MAX_STORED_BYTES_PER_TENANT`` is a 413 problem naming the quota and the usage.
* ``/readyz`` says ``storage: full``, and a failed snapshot is retried from there.
"""

from __future__ import annotations

import errno
import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from jobstore import PayloadStore
from jobstore.storage import Persistence, free_bytes
from service.main import create_app
from service.settings import ServiceSettings
from tests.fixtures.redis_server import RedisServer
from tests.unit.jobstore.test_storage import REFUSALS
from tests.unit.service.conftest import KEYS, auth, batch

PROBLEM = "application/problem+json"


def _settings(redis_url: str, tmp_path: Any, **overrides: Any) -> ServiceSettings:
    values: dict[str, Any] = {
        "redis_url": redis_url,
        "data_dir": tmp_path / "data",
        "api_keys": {t: hashlib.sha256(k.encode()).hexdigest() for t, k in KEYS.items()},
        "max_pairs_per_job": 4,
        "readiness_cache_seconds": 0,
        "worker_ping_timeout_seconds": 0.2,
        "min_free_bytes": 0,
    }
    values.update(overrides)
    return ServiceSettings(**values)


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def _submit(client: TestClient, n: int = 1) -> dict[str, Any]:
    response = client.post("/v1/jobs", **batch(n))
    assert response.status_code == 202, response.text
    job: dict[str, Any] = response.json()
    return job


def _post_selfcheck(client: TestClient) -> Any:
    options = json.dumps({"degradation": "noise:0.05", "images": 2, "size": 32})
    return client.post("/v1/selfchecks", files=[("options", (None, options, "application/json"))])


def _submit_selfcheck(client: TestClient) -> str:
    response = _post_selfcheck(client)
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    return job_id


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


# -- Redis refusing writes -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(REFUSALS))
def test_redis_write_refusals_are_503_with_retry_after_on_every_route(own_redis, tmp_path, kind):
    settings = _settings(own_redis.url, tmp_path, max_pairs_per_job=6)  # a 2-image self-check
    with TestClient(create_app(settings), headers=auth("acme")) as client:
        queued = _submit(client)["id"]
        finished = _submit(client)["id"]
        client.post(f"/v1/jobs/{finished}/cancel")
        check_queued = _submit_selfcheck(client)
        check_finished = _submit_selfcheck(client)
        client.post(f"/v1/selfchecks/{check_finished}/cancel")
        REFUSALS[kind](own_redis.client())

        # Every /v1 route: writes are 503 with Retry-After, reads work, nothing is a 500.
        writes = {
            ("POST", "/v1/jobs"): lambda: client.post("/v1/jobs", **batch(1)),
            ("POST", "/v1/jobs/{job_id}/cancel"): lambda: client.post(f"/v1/jobs/{queued}/cancel"),
            ("DELETE", "/v1/jobs/{job_id}"): lambda: client.delete(f"/v1/jobs/{finished}"),
            ("POST", "/v1/selfchecks"): lambda: _post_selfcheck(client),
            ("POST", "/v1/selfchecks/{job_id}/cancel"): lambda: client.post(
                f"/v1/selfchecks/{check_queued}/cancel"
            ),
            ("DELETE", "/v1/selfchecks/{job_id}"): lambda: client.delete(
                f"/v1/selfchecks/{check_finished}"
            ),
        }
        reads = {
            ("GET", "/v1/jobs"): lambda: client.get("/v1/jobs"),
            ("GET", "/v1/jobs/{job_id}"): lambda: client.get(f"/v1/jobs/{queued}"),
            ("GET", "/v1/jobs/{job_id}/report"): lambda: client.get(f"/v1/jobs/{queued}/report"),
            ("GET", "/v1/jobs/{job_id}/report.html"): lambda: client.get(
                f"/v1/jobs/{finished}/report.html"
            ),
            ("GET", "/v1/jobs/{job_id}/pairs.csv"): lambda: client.get(
                f"/v1/jobs/{finished}/pairs.csv"
            ),
            ("GET", "/v1/jobs/{job_id}/comparison"): lambda: client.get(
                f"/v1/jobs/{finished}/comparison", params={"baseline": finished}
            ),
            ("GET", "/v1/jobs/{job_id}/comparison.html"): lambda: client.get(
                f"/v1/jobs/{finished}/comparison.html", params={"baseline": finished}
            ),
            ("GET", "/v1/jobs/{job_id}/artifacts/{name}"): lambda: client.get(
                f"/v1/jobs/{finished}/artifacts/x.png"
            ),
            ("GET", "/v1/selfchecks/{job_id}"): lambda: client.get(
                f"/v1/selfchecks/{check_queued}"
            ),
        }
        paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
        routes = {
            (method.upper(), path)
            for path, operations in paths.items()
            if path.startswith("/v1")
            for method in operations
        }
        assert routes == set(writes) | set(reads), "a /v1 route this test does not call"
        for route, call in writes.items():
            response = call()
            if kind == "OOM" and route[0] == "DELETE":
                # Redis lets commands that free memory through: a delete is what helps.
                assert response.status_code == 204, response.text
                continue
            body = _problem(response, 503)
            assert body["type"].endswith("/service-unavailable")
            assert kind in body["detail"]
            assert int(response.headers["retry-after"]) > 0
        assert reads[("GET", "/v1/jobs")]().status_code == 200
        assert reads[("GET", "/v1/jobs/{job_id}")]().status_code == 200
        for call in reads.values():
            assert call().status_code in (200, 404, 409)
        listed = {job["id"] for job in client.get("/v1/jobs").json()["items"]}
        if kind == "OOM":  # the deletes went through
            kept = {queued, check_queued}
        else:
            kept = {queued, finished, check_queued, check_finished}
        assert listed == kept  # nothing half-created by the refused submissions


def test_other_redis_errors_stay_internal_errors(client, monkeypatch):
    job = _submit(client)

    def wrong_type(*args: object, **kwargs: object) -> None:
        raise redis.ResponseError("WRONGTYPE Operation against a key holding the wrong kind")

    resources = client.app.state.resources
    monkeypatch.setattr(resources.records, "request_cancel", wrong_type)
    with TestClient(client.app, headers=auth("acme"), raise_server_exceptions=False) as c:
        body = _problem(c.post(f"/v1/jobs/{job['id']}/cancel"), 500)
    assert body["type"].endswith("/internal-error")


# -- the payload store's disk ---------------------------------------------------------------------


def test_a_submission_that_would_leave_less_than_the_reserve_is_507(
    redis_server, redis_client, tmp_path
):
    (tmp_path / "data").mkdir()
    free = free_bytes(tmp_path / "data")
    settings = _settings(redis_server.url, tmp_path, min_free_bytes=free + (1 << 30))
    with TestClient(create_app(settings), headers=auth("acme")) as client:
        response = client.post("/v1/jobs", **batch(2))
        body = _problem(response, 507)
        assert body["type"].endswith("/storage-full")
        assert int(response.headers["retry-after"]) > 0
        assert body["reserve_bytes"] == free + (1 << 30)
        assert body["free_bytes"] > 0
        assert 0 < body["request_bytes"] < 10_000
        assert "reserve" in body["detail"]
        assert not (tmp_path / "data" / "jobs").exists() or not any(
            (tmp_path / "data" / "jobs").iterdir()
        )  # nothing written
        assert client.get("/v1/jobs").json()["items"] == []


def test_enospc_while_storing_is_507_and_leaves_nothing(client, monkeypatch):
    payloads: PayloadStore = client.app.state.resources.payloads
    real_write = PayloadStore.write_input
    calls = []

    def full_after_one(self: PayloadStore, job_id: str, name: str, source: Any) -> Any:
        calls.append(job_id)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, job_id, name, source)

    monkeypatch.setattr(PayloadStore, "write_input", full_after_one)
    response = client.post("/v1/jobs", **batch(2))
    body = _problem(response, 507)
    assert body["type"].endswith("/storage-full")
    assert response.headers["retry-after"]
    assert not payloads.job_dir(calls[0]).exists()
    assert client.get("/v1/jobs").json()["items"] == []


def test_enospc_on_any_route_is_507(client, monkeypatch):
    job = _submit(client)

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(PayloadStore, "artifact_path", full)
    monkeypatch.setattr(PayloadStore, "open_artifact", full, raising=False)
    response = client.get(f"/v1/jobs/{job['id']}/artifacts/pair-00000-error.png")
    assert _problem(response, 507)["type"].endswith("/storage-full")
    assert response.headers["retry-after"]


def test_delete_frees_space_while_the_store_is_below_its_reserve(
    redis_server, redis_client, tmp_path
):
    # (d): Redis can write, the disk is "full" (below the reserve): DELETE still works.
    settings = _settings(redis_server.url, tmp_path)
    with TestClient(create_app(settings), headers=auth("acme")) as client:
        job = _submit(client)["id"]
        client.post(f"/v1/jobs/{job}/cancel")
        job_dir = client.app.state.resources.payloads.job_dir(job)
        assert job_dir.is_dir()
    full = _settings(redis_server.url, tmp_path, min_free_bytes=free_bytes(tmp_path) + (1 << 30))
    with TestClient(create_app(full), headers=auth("acme")) as client:
        assert client.post("/v1/jobs", **batch(1)).status_code == 507
        assert client.delete(f"/v1/jobs/{job}").status_code == 204
        assert not job_dir.exists()


# -- quota ------------------------------------------------------------------------------------


def test_quota_is_413_with_quota_and_usage_and_deleting_makes_room(
    redis_server, redis_client, tmp_path
):
    settings = _settings(redis_server.url, tmp_path, max_stored_bytes_per_tenant=4000)
    with TestClient(create_app(settings), headers=auth("acme")) as client:
        first = _submit(client, 1)
        stored = client.app.state.resources.payloads.job_dir(first["id"])
        used = sum(p.stat().st_size for p in stored.rglob("*") if p.is_file())
        assert 0 < used < 4000
        response = client.post("/v1/jobs", **batch(4))
        body = _problem(response, 413)
        assert body["type"].endswith("/storage-quota-exceeded")
        assert body["quota_bytes"] == 4000
        assert body["usage_bytes"] == used
        assert body["request_bytes"] > 4000 - used
        assert body["errors"][0]["part"] == "body"
        assert "retry-after" not in response.headers
        # another tenant's usage is its own
        assert client.post("/v1/jobs", headers=auth("globex"), **batch(1)).status_code == 202
        # deleting frees the quota at once
        client.post(f"/v1/jobs/{first['id']}/cancel")
        assert client.delete(f"/v1/jobs/{first['id']}").status_code == 204
        assert client.post("/v1/jobs", **batch(1)).status_code == 202


def test_the_quota_is_checked_atomically_when_the_record_is_created(
    redis_server, redis_client, tmp_path
):
    # The early check passed, then a concurrent submission took the room: the record's
    # creation refuses it, and nothing is left behind.
    settings = _settings(redis_server.url, tmp_path, max_stored_bytes_per_tenant=3000)
    with TestClient(create_app(settings), headers=auth("acme")) as client:
        resources = client.app.state.resources
        real_create = resources.records.create

        def concurrent_first(*args: Any, **kwargs: Any) -> Any:
            resources.redis.hset("ra:t:acme:bytes", "0" * 32, 2900)
            resources.redis.hset("ra:job:" + "0" * 32, mapping={"id": "0" * 32, "tenant": "acme"})
            return real_create(*args, **kwargs)

        resources.records.create = concurrent_first
        body = _problem(client.post("/v1/jobs", **batch(1)), 413)
        assert body["usage_bytes"] == 2900
        jobs = resources.payloads.jobs_root
        assert not jobs.exists() or not [p for p in jobs.iterdir() if not p.name.startswith(".")]


# -- readiness ----------------------------------------------------------------------------------


def test_readyz_says_storage_full_below_the_reserve(redis_server, redis_client, tmp_path):
    settings = _settings(redis_server.url, tmp_path, min_free_bytes=free_bytes(tmp_path) << 1)
    with TestClient(create_app(settings)) as client:
        response = client.get("/readyz")
    body = _problem(response, 503)
    assert body["checks"]["storage"] == "full"
    assert body["checks"]["redis"] == "ok"
    storage = [e for e in body["errors"] if e["part"] == "storage"]
    assert "reserve" in storage[0]["message"]
    assert response.headers["retry-after"]


def test_readyz_says_storage_full_while_redis_cannot_persist_and_recovers(own_redis, tmp_path):
    settings = _settings(own_redis.url, tmp_path)
    control = own_redis.client(decode_responses=True)
    REFUSALS["MISCONF"](control)
    with TestClient(create_app(settings), headers=auth("acme")) as client:
        body = _problem(client.get("/readyz"), 503)
        assert body["checks"]["storage"] == "full", body
        assert body["checks"]["redis"] == "ok"
        assert "snapshot" in body["errors"][0]["message"]
        assert client.post("/v1/jobs", **batch(1)).status_code == 503

        # Space is back (a directory Redis can write to). Redis would not retry this snapshot
        # for an hour (its save point), so it is the readiness check's BGSAVE that clears it.
        control.config_set("dir", str(own_redis.directory))
        deadline = time.monotonic() + 30
        while True:
            response = client.get("/readyz")
            checks = response.json().get("checks", {})
            if checks.get("storage") == "ok":
                break
            assert time.monotonic() < deadline, response.text
            time.sleep(0.5)
        assert Persistence.read(control).ok
        assert client.post("/v1/jobs", **batch(1)).status_code == 202


def test_readyz_names_a_redis_that_refuses_writes_for_another_reason(own_redis, tmp_path):
    settings = _settings(own_redis.url, tmp_path)
    REFUSALS["OOM"](own_redis.client())
    with TestClient(create_app(settings)) as client:
        body = _problem(client.get("/readyz"), 503)
    assert body["checks"]["redis"] == "refuses writes"
    assert body["checks"]["storage"] == "ok"
