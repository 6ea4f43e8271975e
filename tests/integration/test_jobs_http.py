"""The job lifecycle over real HTTP: uvicorn, Redis and a Celery worker, all real processes."""

from __future__ import annotations

import time

import httpx
import pytest

from jobstore import JobRecords, PayloadStore
from tests.integration.stack import (
    assert_close,
    assert_problem,
    sample_pairs,
    submit,
    wait_for,
)
from workers.engine import ArtifactWriter, run_audit
from workers.tasks.audit import pair_sources

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FAST = {"bootstrap": {"resamples": 20}, "knn_samples": 200}
"""Options that keep an audit of a few small crops well under a second."""


def in_process_report(payloads: PayloadStore, job_id: str) -> dict[str, object]:
    """``run_audit`` in this process on the job's stored inputs, as the worker ran it."""
    manifest = payloads.read_manifest(job_id)
    pairs = pair_sources(manifest, payloads.input_dir(job_id))
    writer = ArtifactWriter(
        write=lambda name, data: None, url_for=lambda name: f"/v1/jobs/{job_id}/artifacts/{name}"
    )
    report = run_audit(pairs, manifest.options, device="cpu", artifacts=writer, batch_size=2)
    return report.model_dump(mode="json")


def test_submit_poll_report_matches_in_process_audit(
    client: httpx.Client, payloads: PayloadStore
) -> None:
    response = submit(client, sample_pairs(3, 64), FAST)
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"].endswith(f"/v1/jobs/{job['id']}")
    assert int(response.headers["retry-after"]) >= 1
    assert job["state"] in ("queued", "running")

    done = wait_for(client, job["id"])
    assert done["state"] == "succeeded", done
    assert done["progress"] == {"done": 3, "total": 3}
    assert done["started_at"]
    assert done["finished_at"]

    report = client.get(done["links"]["report"])
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("application/json")
    assert report.headers.get("etag")
    assert_close(report.json(), in_process_report(payloads, job["id"]))


def test_artifacts_are_served_as_png(client: httpx.Client) -> None:
    job = submit(client, sample_pairs(2, 64, seed=3), FAST).json()
    assert wait_for(client, job["id"])["state"] == "succeeded"
    report = client.get(f"/v1/jobs/{job['id']}/report").json()
    urls = [url for pair in report["pairs"] for url in pair["hallucination"]["maps"].values()]
    assert urls, "the report links no artifact"
    for url in urls:
        artifact = client.get(url)
        assert artifact.status_code == 200
        assert artifact.headers["content-type"] == "image/png"
        assert artifact.content.startswith(PNG_MAGIC)
    assert_problem(client.get(f"/v1/jobs/{job['id']}/artifacts/missing.png"), 404)


def test_unchanged_job_answers_304_and_report_is_immutable(client: httpx.Client) -> None:
    job = submit(client, sample_pairs(2, 64, seed=5), FAST).json()
    wait_for(client, job["id"])
    first = client.get(f"/v1/jobs/{job['id']}")
    etag = first.headers["etag"]
    again = client.get(f"/v1/jobs/{job['id']}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    report = client.get(f"/v1/jobs/{job['id']}/report")
    cached = client.get(
        f"/v1/jobs/{job['id']}/report", headers={"If-None-Match": report.headers["etag"]}
    )
    assert cached.status_code == 304


def test_progress_is_visible_while_running(client: httpx.Client) -> None:
    job = submit(client, sample_pairs(8, 96, seed=7), FAST).json()
    seen: set[int] = set()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        state = client.get(f"/v1/jobs/{job['id']}").json()
        seen.add(state["progress"]["done"])
        if state["state"] == "succeeded":
            break
        time.sleep(0.05)
    assert state["state"] == "succeeded"
    assert state["progress"] == {"done": 8, "total": 8}
    assert seen - {0, 8}, f"no intermediate progress seen: {sorted(seen)}"


def test_cancel_queued_and_running_jobs(client: httpx.Client, records: JobRecords) -> None:
    running = submit(client, sample_pairs(24, 96, seed=11)).json()
    queued = submit(client, sample_pairs(2, 64, seed=13), FAST).json()
    wait_for(client, running["id"], states=("running",), min_done=2, timeout=60)
    assert client.get(f"/v1/jobs/{queued['id']}").json()["state"] == "queued"

    cancel_queued = client.post(f"/v1/jobs/{queued['id']}/cancel")
    assert cancel_queued.status_code == 202
    assert wait_for(client, queued["id"], timeout=5)["state"] == "cancelled"

    cancel_running = client.post(f"/v1/jobs/{running['id']}/cancel")
    assert cancel_running.status_code == 202
    assert client.post(f"/v1/jobs/{running['id']}/cancel").status_code == 202  # idempotent
    ended = wait_for(client, running["id"], timeout=30)
    assert ended["state"] == "cancelled"
    assert ended["progress"]["done"] < 24
    assert_problem(client.get(f"/v1/jobs/{running['id']}/report"), 409)
    record = records.require(running["id"])
    assert record.worker_id is None or record.lease_until is None


def test_delete_removes_record_and_payloads(client: httpx.Client, payloads: PayloadStore) -> None:
    job = submit(client, sample_pairs(2, 64, seed=17), FAST).json()
    wait_for(client, job["id"])
    assert payloads.job_dir(job["id"]).exists()
    assert client.delete(f"/v1/jobs/{job['id']}").status_code == 204
    assert_problem(client.get(f"/v1/jobs/{job['id']}"), 404)
    assert_problem(client.delete(f"/v1/jobs/{job['id']}"), 404)
    assert not payloads.job_dir(job["id"]).exists()


def test_delete_running_job_is_409(client: httpx.Client) -> None:
    job = submit(client, sample_pairs(16, 96, seed=19)).json()
    wait_for(client, job["id"], states=("running",), timeout=60)
    assert_problem(client.delete(f"/v1/jobs/{job['id']}"), 409)
    client.post(f"/v1/jobs/{job['id']}/cancel")
    wait_for(client, job["id"], timeout=30)


def test_list_pages_follow_tokens(client: httpx.Client) -> None:
    ids = [submit(client, sample_pairs(1, 64, seed=s), FAST).json()["id"] for s in (23, 24, 25)]
    for job_id in ids:
        wait_for(client, job_id)
    seen: list[str] = []
    token = None
    for _ in range(100):
        params = {"page_size": 2} | ({"page_token": token} if token else {})
        page = client.get("/v1/jobs", params=params)
        assert page.status_code == 200
        body = page.json()
        assert len(body["items"]) <= 2
        seen += [item["id"] for item in body["items"]]
        token = body["next_page_token"]
        if token is None:
            break
    assert set(ids) <= set(seen)
    assert len(seen) == len(set(seen)), "a job was listed twice"
    assert seen.index(ids[2]) < seen.index(ids[0]), "expected newest first"
    filtered = client.get("/v1/jobs", params={"state": "succeeded", "page_size": 100}).json()
    assert all(item["state"] == "succeeded" for item in filtered["items"])
    assert_problem(client.get("/v1/jobs", params={"page_token": "not-a-token"}), 422)
    assert_problem(client.get("/v1/jobs", params={"page_size": 0}), 422)


def test_idempotency_key_replays_and_rejects_other_payloads(client: httpx.Client) -> None:
    pairs = sample_pairs(1, 64, seed=29)
    key = {"Idempotency-Key": f"integration-{time.time_ns()}"}
    first = submit(client, pairs, FAST, headers=key)
    replay = submit(client, pairs, FAST, headers=key)
    assert first.status_code == replay.status_code == 202
    assert replay.json()["id"] == first.json()["id"]
    other = submit(client, sample_pairs(1, 64, seed=30), FAST, headers=key)
    assert_problem(other, 422)
    wait_for(client, first.json()["id"])


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/v1/jobs/0123456789abcdef0123456789abcdef", 404),
        ("GET", "/v1/jobs/not-an-id", 404),
        ("GET", "/v1/jobs/0123456789abcdef0123456789abcdef/report", 404),
        ("POST", "/v1/jobs/0123456789abcdef0123456789abcdef/cancel", 404),
        ("GET", "/v1/nothing-here", 404),
        ("PUT", "/v1/jobs", 405),
    ],
)
def test_errors_are_problem_json(client: httpx.Client, method: str, path: str, status: int) -> None:
    assert_problem(client.request(method, path), status)


def test_bad_submissions_name_the_part(client: httpx.Client) -> None:
    assert_problem(client.post("/v1/jobs", data={"options": "{}"}), 415)  # not multipart
    no_images = client.post("/v1/jobs", files=[("options", (None, b"{}"))])
    assert no_images.status_code in (400, 422)
    assert_problem(no_images, no_images.status_code)
    pairs = sample_pairs(1, 64, seed=31)
    broken = [(pairs[0][0], b"not an image at all")]
    body = assert_problem(submit(client, broken, FAST), 422)
    assert any("restored" in error["part"] for error in body.get("errors", [])), body
    bad_options = assert_problem(submit(client, pairs, {"patch_size": 1000}), 422)
    assert any("options" in error["part"] for error in bad_options.get("errors", []))


def test_cancel_finished_job_is_409(client: httpx.Client) -> None:
    job = submit(client, sample_pairs(1, 64, seed=37), FAST).json()
    wait_for(client, job["id"])
    assert_problem(client.post(f"/v1/jobs/{job['id']}/cancel"), 409)
