"""``GET /v1/jobs/{id}/report.html``: the JSON report's rules (tenant, 404, 409, ETag,
immutable), an HTML body, and the page's security headers. The worker's side is played
through the real job store, as in test_results."""

from __future__ import annotations

import shutil

import pytest

from api_schemas.options import BootstrapOptions, RiskThresholds
from api_schemas.report import AuditReport, EngineInfo, ReportSettings
from jobstore import JobRecords, PayloadStore
from tests.unit.service.conftest import auth, batch

PROBLEM = "application/problem+json"
EMPTY_REPORT = AuditReport(
    engine=EngineInfo(version="0.1.0", device="cpu", torch="2.13.0"),
    settings=ReportSettings(
        color="y",
        patch_size=8,
        patch_stride=1,
        crop_border=0,
        renyi_order=0.5,
        knn_k=3,
        bootstrap=BootstrapOptions(),
        degradation=None,
        thresholds=RiskThresholds(),
    ),
    groups=[],
    pairs=[],
)


@pytest.fixture
def worker(redis_client, settings):
    return JobRecords(redis_client, prefix=settings.redis_prefix), PayloadStore(settings.data_dir)


def finished_job(client, worker, report: bytes | None, state: str = "succeeded") -> str:
    records, store = worker
    job_id = str(client.post("/v1/jobs", **batch(1)).json()["id"])
    assert records.try_start(job_id, "w1", 30)
    if report is not None:
        store.write_report(job_id, report)
    assert records.finish(job_id, "w1", state)
    return job_id


def test_page_of_succeeded_job_is_html_immutable_and_revalidates(client, worker):
    job_id = finished_job(client, worker, EMPTY_REPORT.model_dump_json().encode())
    page = client.get(f"/v1/jobs/{job_id}/report.html")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.text.startswith("<!doctype html>")
    assert "<h1>Restoration audit report</h1>" in page.text
    assert job_id in page.text
    assert "immutable" in page.headers["cache-control"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    etag = page.headers["etag"]
    assert etag != client.get(f"/v1/jobs/{job_id}/report").headers["etag"]  # other bytes
    again = client.get(f"/v1/jobs/{job_id}/report.html")
    assert (again.headers["etag"], again.text) == (etag, page.text)
    cached = client.get(f"/v1/jobs/{job_id}/report.html", headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["etag"] == etag


def test_page_without_inputs_is_still_served_with_another_etag(client, worker, settings):
    job_id = finished_job(client, worker, EMPTY_REPORT.model_dump_json().encode())
    before = client.get(f"/v1/jobs/{job_id}/report.html")
    store = PayloadStore(settings.data_dir)
    shutil.rmtree(store.input_dir(job_id))
    store.manifest_path(job_id).unlink()
    after = client.get(f"/v1/jobs/{job_id}/report.html")
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]


def test_unfinished_job_is_409_with_retry_after(client):
    job_id = client.post("/v1/jobs", **batch(1)).json()["id"]
    response = client.get(f"/v1/jobs/{job_id}/report.html")
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/job-not-finished")
    assert int(response.headers["retry-after"]) >= 1


@pytest.mark.parametrize("state", ["failed", "cancelled"])
def test_job_without_report_is_409(client, worker, state):
    records, _ = worker
    job_id = client.post("/v1/jobs", **batch(1)).json()["id"]
    assert records.try_start(job_id, "w1", 30)
    if state == "failed":
        assert records.finish(job_id, "w1", "failed", {"title": "Bad input", "status": 422})
    else:
        assert records.mark_cancelled(job_id, "w1")
    response = client.get(f"/v1/jobs/{job_id}/report.html")
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/job-has-no-report")


def test_unknown_job_other_tenant_and_lost_report_are_404(client, worker):
    missing = client.get("/v1/jobs/0123456789abcdef0123456789abcdef/report.html")
    assert missing.status_code == 404
    assert missing.json()["type"].endswith("/job-not-found")
    job_id = finished_job(client, worker, EMPTY_REPORT.model_dump_json().encode())
    foreign = client.get(f"/v1/jobs/{job_id}/report.html", headers=auth("globex"))
    assert foreign.status_code == 404
    assert foreign.json()["type"].endswith("/job-not-found")
    lost = finished_job(client, worker, None)
    response = client.get(f"/v1/jobs/{lost}/report.html")
    assert response.status_code == 404
    assert response.json()["type"].endswith("/report-not-found")


def test_report_this_version_cannot_read_is_a_409_problem_pointing_at_the_json(client, worker):
    job_id = finished_job(client, worker, b'{"schema_version": "1", "groups": []}')
    response = client.get(f"/v1/jobs/{job_id}/report.html")
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/report-not-renderable")
    assert "does not match this service's schema" in response.json()["detail"]
    assert client.get(f"/v1/jobs/{job_id}/report").status_code == 200  # served as stored


def test_openapi_documents_the_page_as_text_html(client):
    operation = client.app.openapi()["paths"]["/v1/jobs/{job_id}/report.html"]["get"]
    assert operation["operationId"] == "get_report_html"
    ok = operation["responses"]["200"]
    assert ok["content"] == {"text/html": {"schema": {"type": "string"}}}
    assert "ETag" in ok["headers"]
    assert set(operation["responses"]) >= {"200", "304", "401", "404", "409"}
    assert operation["responses"]["409"]["content"] == {
        PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}
    }


@pytest.mark.parametrize("page", ["comparison", "comparison.html"])
@pytest.mark.parametrize("unfinished", ["queued", "running", "failed"])
@pytest.mark.parametrize("side", ["baseline", "candidate"])
def test_comparison_with_a_job_without_report_is_a_409_naming_it(
    client, worker, page, unfinished, side
):
    # Either side without a report is a conflict (poll, or the job failed), never a 500 nor a
    # comparison of nothing; the problem names the job that lacks it.
    records, _ = worker
    done = finished_job(client, worker, EMPTY_REPORT.model_dump_json().encode())
    other = client.post("/v1/jobs", **batch(1)).json()["id"]
    if unfinished != "queued":
        assert records.try_start(other, "w1", 30)
    if unfinished == "failed":
        assert records.finish(other, "w1", "failed", {"title": "Bad input", "status": 422})
    baseline, candidate = (other, done) if side == "baseline" else (done, other)
    response = client.get(f"/v1/jobs/{candidate}/{page}", params={"baseline": baseline})
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == PROBLEM
    kind = "job-has-no-report" if unfinished == "failed" else "job-not-finished"
    assert response.json()["type"].endswith(f"/{kind}")
    assert other in response.json()["detail"]
