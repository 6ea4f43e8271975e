"""/metrics over the real app and a real Redis (no worker): families, values, access, failure."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from observability.telemetry import Telemetry
from service.main import create_app
from tests.fixtures.redis_server import free_port
from tests.unit.service.conftest import batch

PREFIX = "restoration_audit"
EXPECTED = {
    f"{PREFIX}_jobs": "gauge",
    f"{PREFIX}_expired_leases": "gauge",
    f"{PREFIX}_queue_messages": "gauge",
    f"{PREFIX}_workers": "gauge",
    f"{PREFIX}_pairs": "counter",
    f"{PREFIX}_pairs_per_second": "gauge",
    f"{PREFIX}_job_duration_seconds": "histogram",
    f"{PREFIX}_job_run_duration_seconds": "histogram",
    f"{PREFIX}_pair_duration_seconds": "histogram",
}


def _families(text: str) -> dict:
    return {family.name: family for family in text_string_to_metric_families(text)}


def _value(families: dict, family: str, sample: str, **labels: str) -> float:
    (value,) = [
        s.value
        for s in families[family].samples
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    return value


def test_metrics_are_prometheus_text_with_help_and_types(client) -> None:
    response = client.get("/metrics", headers={"Authorization": ""})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    families = _families(response.text)
    assert {name: f.type for name, f in families.items()} == EXPECTED
    assert all(f.documentation for f in families.values())
    assert _value(families, f"{PREFIX}_workers", f"{PREFIX}_workers") == 0
    assert _value(families, f"{PREFIX}_pairs", f"{PREFIX}_pairs_total") == 0


def test_a_submitted_job_is_queued_in_the_store_and_in_the_broker(client) -> None:
    assert client.post("/v1/jobs", **batch(2)).status_code == 202
    families = _families(client.get("/metrics").text)
    assert _value(families, f"{PREFIX}_jobs", f"{PREFIX}_jobs", state="queued") == 1
    assert _value(families, f"{PREFIX}_jobs", f"{PREFIX}_jobs", state="succeeded") == 0
    # No worker consumes in unit tests: the message waits in the real Redis broker.
    assert _value(families, f"{PREFIX}_queue_messages", f"{PREFIX}_queue_messages") == 1


def test_worker_observations_in_redis_show_as_histograms(client, redis_client) -> None:
    telemetry = Telemetry(redis_client)
    telemetry.record_pairs(4, 2.0)  # 0.5 s a pair
    telemetry.record_job("succeeded", 12.0, 9.0)
    telemetry.record_job("failed", 0.2, None)
    telemetry.heartbeat("w@host", 60)
    families = _families(client.get("/metrics").text)
    pair = f"{PREFIX}_pair_duration_seconds"
    assert _value(families, pair, f"{pair}_count") == 4
    assert _value(families, pair, f"{pair}_bucket", le="0.25") == 0
    assert _value(families, pair, f"{pair}_bucket", le="0.5") == 4
    assert _value(families, pair, f"{pair}_sum") == pytest.approx(2.0)
    job = f"{PREFIX}_job_duration_seconds"
    assert _value(families, job, f"{job}_bucket", state="succeeded", le="10.0") == 0
    assert _value(families, job, f"{job}_bucket", state="succeeded", le="30.0") == 1
    assert _value(families, job, f"{job}_count", state="failed") == 1
    run = f"{PREFIX}_job_run_duration_seconds"
    assert _value(families, run, f"{run}_sum", state="succeeded") == 9.0
    assert not [s for s in families[run].samples if s.labels.get("state") == "failed"]
    assert _value(families, f"{PREFIX}_pairs", f"{PREFIX}_pairs_total") == 4
    rate = _value(families, f"{PREFIX}_pairs_per_second", f"{PREFIX}_pairs_per_second")
    assert rate == pytest.approx(4 / 60)
    assert _value(families, f"{PREFIX}_workers", f"{PREFIX}_workers") == 1


def test_metrics_token_is_required_when_configured(settings) -> None:
    token = "metrics-secret"
    guarded = settings.model_copy(
        update={"metrics_token_sha256": hashlib.sha256(token.encode()).hexdigest()}
    )
    with TestClient(create_app(guarded)) as client:
        missing = client.get("/metrics")
        tenant_key = client.get("/metrics", headers={"Authorization": "Bearer key-of-acme"})
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        right = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    for refused in (missing, tenant_key, wrong):
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["errors"][0]["part"] == "authorization"
    assert right.status_code == 200
    assert f"{PREFIX}_jobs" in _families(right.text)


def test_metrics_can_be_switched_off(settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"metrics_enabled": False}))) as c:
        assert c.get("/metrics").status_code == 404


def test_metrics_stay_out_of_the_openapi_document(client) -> None:
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]


def test_unreachable_redis_fails_the_scrape(settings) -> None:
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    with TestClient(create_app(down)) as client:
        response = client.get("/metrics")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"


def test_the_metrics_token_setting_takes_a_digest_not_the_token(settings) -> None:
    with pytest.raises(ValueError, match="SHA-256 hex digest"):
        settings.model_validate(settings.model_dump() | {"metrics_token_sha256": "plain-token"})
