"""Limits with safe defaults, and a full queue answered with Retry-After (no worker runs here)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from service.main import create_app
from service.settings import MIB, ServiceSettings
from tests.unit.service.conftest import auth, batch

PROBLEM = "application/problem+json"


def test_limits_have_safe_defaults():
    defaults = ServiceSettings(local_mode=True)
    assert defaults.max_body_bytes == 512 * MIB
    assert defaults.max_pixels_per_image == 40_000_000
    assert defaults.max_pairs_per_job == 1024
    assert defaults.max_jobs_in_flight_per_tenant == 16
    assert defaults.max_queued_jobs == 10_000


def test_full_queue_is_503_with_retry_after_for_every_tenant(settings):
    small = settings.model_copy(update={"max_queued_jobs": 2})
    with TestClient(create_app(small), headers=auth("acme")) as client:
        first = client.post("/v1/jobs", **batch(1))
        client.post("/v1/jobs", **batch(1), headers=auth("globex"))
        for tenant in ("acme", "globex"):
            full = client.post("/v1/jobs", **batch(1), headers=auth(tenant))
            assert full.status_code == 503, full.text
            assert full.headers["content-type"] == PROBLEM
            assert full.json()["type"].endswith("/service-unavailable")
            assert "queue is full" in full.json()["detail"]
            assert int(full.headers["retry-after"]) > 0
        # A refused submission releases its key: retried once a slot frees, it is accepted once.
        key = {"Idempotency-Key": "queued-before-full"}
        assert client.post("/v1/jobs", **batch(1), headers=key).status_code == 503
        assert client.post(f"/v1/jobs/{first.json()['id']}/cancel").status_code == 202
        again = client.post("/v1/jobs", **batch(1), headers=key)
        assert again.status_code == 202, "a slot freed by a cancel is taken again"
        assert client.post("/v1/jobs", **batch(1), headers=key).json()["id"] == again.json()["id"]
