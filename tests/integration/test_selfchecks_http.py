"""``POST /v1/selfchecks`` over real HTTP, with a real Redis and a real Celery worker.

The session's stack (local mode, tenant ``local``) runs a self-check for pure noise through
the worker and polls it to completion: the exact posterior mean lands at an uncertainty ratio
of 1, the posterior sampler at 2 and the half-spread restorer at 1.25, all on the frontier
(docs/theory.md §3.12), the checks of the command line. Bad requests are problem+json 4xx and
queue nothing; a self-check can be cancelled and deleted like a job, and a worker killed in
the middle of one loses nothing (the lease sweeper requeues it). A second API process on
the same Redis and worker, with two tenants' keys, shows that a self-check belongs to its
tenant (the other gets 404, as for a job) and that uploaded ground truths shape the source.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobstore import JobRecords, new_job_id
from tests.integration.stack import ApiServer, WorkerProcess, assert_problem, png
from tests.support.sample_pairs import crops

# A tiny self-check for the ground-truth upload: its checks are not expected to hold at this
# size (too few pixels for the engine's prior), only the source's spectrum is checked.
TINY_REQUEST: dict[str, Any] = {
    "degradation": "noise:0.05",
    "images": 2,
    "size": 32,
    "resamples": 0,
    "audit": {"knn_samples": 200},
}
# Small enough for two CI cores (about 15 s of worker time), large enough for the engine's
# prior to hold the ratios within 5 % (measured at seed 0: 1.00, 2.00 and 1.25).
FAST_REQUEST: dict[str, Any] = {
    "degradation": "noise:0.05",
    "images": 6,
    "size": 64,
    "resamples": 20,
    "audit": {"knn_samples": 200},
}
EXPECTED_RATIOS = {"posterior_mean": 1.0, "posterior_sampler": 2.0, "half_spread": 1.25}
KEYS = {"acme": "selfcheck-key-of-acme-0123", "globex": "selfcheck-key-of-globex-456"}
Files = list[tuple[str, tuple[str | None, bytes | str, str]]]


def _submit(
    client: httpx.Client, options: dict[str, Any] | str | None, images: Sequence[bytes] = ()
) -> httpx.Response:
    """POST a self-check as multipart: the JSON ``options`` part and ground-truth parts."""
    files: Files = [
        ("ground_truth", (f"gt{i}.png", data, "image/png")) for i, data in enumerate(images)
    ]
    if options is not None:
        text = options if isinstance(options, str) else json.dumps(options)
        files.append(("options", (None, text, "application/json")))
    return client.post("/v1/selfchecks", files=files)


def _poll(client: httpx.Client, url: str, timeout: float = 300.0) -> dict[str, Any]:
    """GET ``url`` until the self-check is finished, at the pace ``Retry-After`` asks."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(url)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["state"] in ("succeeded", "failed", "cancelled"):
            assert "Retry-After" not in response.headers
            return body
        assert int(response.headers["Retry-After"]) >= 1
        assert time.monotonic() < deadline, f"self-check still {body['state']} after {timeout} s"
        time.sleep(0.25)


# --------------------------------------------------------------------------- a self-check
@pytest.fixture(scope="module")
def module_client(api: ApiServer, worker: WorkerProcess) -> Iterator[httpx.Client]:
    """A client of the session's API for the module's one self-check (``client`` is per test)."""
    with httpx.Client(base_url=api.base_url, timeout=30.0) as http:
        yield http


@pytest.fixture(scope="module")
def submitted(module_client: httpx.Client) -> httpx.Response:
    response = _submit(module_client, FAST_REQUEST)
    assert response.status_code == 202, response.text
    return response


@pytest.fixture(scope="module")
def finished(module_client: httpx.Client, submitted: httpx.Response) -> dict[str, Any]:
    return _poll(module_client, submitted.headers["Location"])


def test_a_selfcheck_is_accepted_as_a_job_of_its_own_kind(
    submitted: httpx.Response, records: JobRecords
) -> None:
    body = submitted.json()
    assert submitted.headers["Location"] == body["links"]["self"] == f"/v1/selfchecks/{body['id']}"
    assert body["links"]["report"] == f"/v1/jobs/{body['id']}/report"
    assert body["state"] in ("queued", "running")
    assert body["progress"]["total"] == 3 * FAST_REQUEST["images"]
    assert body["result"] is None
    # The request as validated: the short form in its JSON form, the defaults filled in.
    assert body["request"]["degradation"] == {"type": "noise", "sigma": 0.05}
    assert body["request"]["tolerance"] == 0.05
    record = records.get(body["id"])
    assert record is not None
    assert (record.kind, record.tenant) == ("selfcheck", "local")


def test_the_worker_runs_it_and_every_check_holds(
    finished: dict[str, Any], worker: WorkerProcess
) -> None:
    assert finished["state"] == "succeeded", finished
    assert finished["progress"]["done"] == finished["progress"]["total"] == 18
    result = finished["result"]
    failed = [c for c in result["checks"] if not c["holds"]]
    assert result["passed"] is True, failed
    checks = {check["name"]: check for check in result["checks"]}
    assert len(checks) == 8
    for restorer, expected in EXPECTED_RATIOS.items():
        ratio = checks[f"{restorer} uncertainty ratio"]
        assert ratio["expected_value"] == expected
        assert ratio["tolerance"] == 0.05
        assert ratio["value"] == pytest.approx(expected, rel=0.05)
        low, high = ratio["interval"]  # the bootstrap's (a percentile interval)
        assert low < high
        assert checks[f"{restorer} placement"]["measured"].startswith("on_bound")
    assert checks["posterior_mean risk"]["measured"] == "low"
    assert checks["posterior_sampler risk"]["measured"] == "high"
    assert result["source"]["spectrum"] == "default"
    assert result["source"]["n_images"] == 6
    assert {group["name"] for group in result["report"]["groups"]} == set(EXPECTED_RATIOS)
    # It ran on the worker, never in the API process.
    assert f"self-check {finished['id']}: passed" in worker.log()


def test_it_is_listed_and_reported_like_a_job(
    client: httpx.Client, finished: dict[str, Any]
) -> None:
    job = client.get(f"/v1/jobs/{finished['id']}").json()
    assert (job["kind"], job["state"]) == ("selfcheck", "succeeded")
    report = client.get(finished["links"]["report"])
    assert report.status_code == 200, report.text
    assert report.json() == finished["result"]["report"]
    etag = client.get(finished["links"]["self"]).headers["ETag"]
    assert client.get(finished["links"]["self"], headers={"If-None-Match": etag}).status_code == 304


def test_an_audit_is_not_a_selfcheck(client: httpx.Client, records: JobRecords) -> None:
    audit = records.create(new_job_id(), "local", 1)  # a queued audit record, never sent
    try:
        body = assert_problem(client.get(f"/v1/selfchecks/{audit.id}"), 404)
        assert body["errors"][0]["part"] == "job_id"
        assert_problem(client.delete(f"/v1/selfchecks/{audit.id}"), 404)
    finally:
        records.delete(audit.id, force=True)


def test_deleting_it_removes_it(client: httpx.Client, finished: dict[str, Any]) -> None:
    url = finished["links"]["self"]
    assert client.delete(url).status_code == 204
    assert_problem(client.get(url), 404)
    assert_problem(client.get(f"/v1/jobs/{finished['id']}"), 404)


def test_a_selfcheck_can_be_cancelled(client: httpx.Client) -> None:
    response = _submit(client, FAST_REQUEST)
    assert response.status_code == 202, response.text
    url = response.headers["Location"]
    cancelled = client.post(f"{url}/cancel")
    assert cancelled.status_code == 202, cancelled.text
    assert cancelled.json()["cancel_requested"] is True
    # Queued: cancelled at once; running: at the worker's next batch boundary.
    body = _poll(client, url)
    assert body["state"] == "cancelled"
    assert body["result"] is None
    assert client.delete(url).status_code == 204


def test_a_selfcheck_survives_a_killed_worker(
    client: httpx.Client, worker: WorkerProcess, records: JobRecords
) -> None:
    response = _submit(client, FAST_REQUEST)
    assert response.status_code == 202, response.text
    selfcheck_id, url = response.json()["id"], response.headers["Location"]
    deadline = time.monotonic() + 120
    while (record := records.require(selfcheck_id)).done < 2:  # mid-audit
        assert not record.finished, record
        assert time.monotonic() < deadline, record
        time.sleep(0.05)
    worker.kill()  # main process and pool child, SIGKILL: nothing gets to clean up
    worker.start()
    finished = _poll(client, url)
    assert finished["state"] == "succeeded", finished
    assert records.require(selfcheck_id).attempts == 1, "expected one requeue by the sweeper"
    assert finished["result"]["passed"] is True
    assert client.delete(url).status_code == 204


# --------------------------------------------------------------------------- bad requests
def _tiny_png() -> bytes:
    return png(crops(1, 32, seed=1)[0][:8, :8].copy())


BAD_REQUESTS: dict[str, tuple[Any, list[bytes], int, str]] = {
    "unknown short degradation": ({"degradation": "warp:3"}, [], 422, "options.degradation"),
    "unknown degradation type": ({"degradation": {"type": "warp"}}, [], 422, "options.degradation"),
    "no degradation": ({"images": 4}, [], 422, "options.degradation"),
    "size too small": ({"degradation": "noise:0.05", "size": 8}, [], 422, "options.size"),
    "size too large": ({"degradation": "noise:0.05", "size": 5000}, [], 422, "options.size"),
    "one image": ({"degradation": "noise:0.05", "images": 1}, [], 422, "options.images"),
    "tolerance of 1.5": (
        {"degradation": "noise:0.05", "tolerance": 1.5},
        [],
        422,
        "options.tolerance",
    ),
    "unknown field": ({"degradation": "noise:0.05", "sizes": 64}, [], 422, "options.sizes"),
    "degradation among the audit options": (
        {"degradation": "noise:0.05", "audit": {"degradation": {"type": "noise", "sigma": 0.1}}},
        [],
        422,
        "options.audit.degradation",
    ),
    "colour audit of grey images": (
        {"degradation": "noise:0.05", "audit": {"color": "rgb"}},
        [],
        422,
        "options.audit.color",
    ),
    "options not JSON": ("{degradation", [], 422, "options"),
    "options missing": (None, [png(crops(1, 32, seed=1)[0])], 422, "options"),
    "ground truth not an image": (
        {"degradation": "noise:0.05"},
        [b"not an image"],
        422,
        "ground_truth[0]",
    ),
    "ground truth under 16 pixels": (
        {"degradation": "noise:0.05"},
        [_tiny_png()],
        422,
        "ground_truth[0]",
    ),
    "synthesis over the memory budget": (
        {"degradation": "noise:0.05", "size": 1024, "images": 256},
        [],
        422,
        "options.size",
    ),
    "audit over the memory budget": (
        {"degradation": "downsample:4:bicubic", "size": 1024, "images": 16, "resamples": 10000},
        [],
        422,
        "options.resamples",
    ),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS), ids=list(BAD_REQUESTS))
def test_a_bad_request_is_a_problem_and_queues_nothing(client: httpx.Client, case: str) -> None:
    options, images, status, part = BAD_REQUESTS[case]
    before = client.get("/v1/jobs", params={"page_size": 100}).json()["items"]
    body = assert_problem(_submit(client, options, images), status)
    parts = [error["part"] for error in body.get("errors") or []]
    assert part in parts, body
    if "memory budget" in case:
        assert body["type"].endswith("/resources")
        assert body["estimated_memory_bytes"] > body["memory_limit_bytes"]
    after = client.get("/v1/jobs", params={"page_size": 100}).json()["items"]
    assert [job["id"] for job in after] == [job["id"] for job in before]


def test_a_json_body_is_refused_with_415(client: httpx.Client) -> None:
    response = client.post("/v1/selfchecks", json={"degradation": "noise:0.05"})
    assert_problem(response, 415)


def test_an_unknown_part_is_refused(client: httpx.Client) -> None:
    files: Files = [
        ("options", (None, json.dumps(FAST_REQUEST), "application/json")),
        ("ground_truths", ("gt.png", png(crops(1, 32, seed=1)[0]), "image/png")),
    ]
    body = assert_problem(client.post("/v1/selfchecks", files=files), 422)
    assert [error["part"] for error in body["errors"]] == ["ground_truths"]


# --------------------------------------------------------------------------- tenants
@pytest.fixture(scope="module")
def keyed_api(
    stack_env: dict[str, str], stack_dir: Path, worker: WorkerProcess
) -> Iterator[ApiServer]:
    """A second API process on the session's Redis and worker, with two tenants' keys."""
    digests = {tenant: hashlib.sha256(key.encode()).hexdigest() for tenant, key in KEYS.items()}
    env = stack_env | {"RA_LOCAL_MODE": "false", "RA_API_KEYS": json.dumps(digests)}
    server = ApiServer(env, stack_dir / "logs" / "api-selfcheck-tenants.log").start()
    try:
        yield server
    finally:
        server.stop()


def _as(api: ApiServer, tenant: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {KEYS[tenant]}"}
    return httpx.Client(base_url=api.base_url, headers=headers, timeout=30.0)


def test_a_selfcheck_is_its_tenants_alone(keyed_api: ApiServer) -> None:
    with _as(keyed_api, "acme") as acme, _as(keyed_api, "globex") as globex:
        with httpx.Client(base_url=keyed_api.base_url, timeout=30.0) as anonymous:
            assert_problem(_submit(anonymous, TINY_REQUEST), 401)
        ground_truths = [png(image) for image in crops(2, 96, seed=3)]
        response = _submit(acme, TINY_REQUEST, ground_truths)
        assert response.status_code == 202, response.text
        url = response.headers["Location"]
        selfcheck_id = response.json()["id"]
        for request in (
            globex.get(url),
            globex.post(f"{url}/cancel"),
            globex.delete(url),
            globex.get(f"/v1/jobs/{selfcheck_id}"),
        ):
            assert_problem(request, 404)
        finished = _poll(acme, url)
        assert finished["state"] == "succeeded", finished
        # The uploaded ground truths reached the worker and shaped the source's spectrum.
        source = finished["result"]["source"]
        assert (source["spectrum"], source["fitted_images"]) == ("fitted", 2)
        assert len(finished["result"]["checks"]) == 8
        assert_problem(globex.get(url), 404)
        assert acme.delete(url).status_code == 204
        assert_problem(acme.get(url), 404)
