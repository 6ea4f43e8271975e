"""A job over the memory budget is refused at submission (issue #11, item 2): 422 naming the
option that makes it too big, 413 naming the part whose pixels do, with the estimate and the
limit in the problem; nothing is stored and no job is created."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api_schemas.cost import DEFAULT_MAX_JOB_MEMORY_BYTES, MIB
from api_schemas.problems import ProblemError
from service.budget import JobOverBudgetError
from service.main import create_app
from service.selfchecks import SelfCheckOverBudgetError
from service.settings import ServiceSettings
from tests.unit.service.conftest import auth, batch, png
from workers.settings import WorkerSettings

PROBLEM = "application/problem+json"
X16_RGB = {"color": "rgb", "degradation": {"type": "downsample", "factor": 16}}


def _no_job_created(client: TestClient) -> None:
    assert client.get("/v1/jobs").json()["items"] == []


def test_options_that_need_too_much_memory_are_a_422_naming_the_option(client) -> None:
    response = client.post("/v1/jobs", **batch(1, (128, 128), **X16_RGB))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"].endswith("/resources")
    assert body["title"] == "Job exceeds the memory budget"
    assert body["memory_limit_bytes"] == DEFAULT_MAX_JOB_MEMORY_BYTES
    assert body["estimated_memory_bytes"] > body["memory_limit_bytes"]
    parts = [e["part"] for e in body["errors"]]
    assert parts[0] == "options.degradation"
    assert "12.0 GiB" in body["detail"]
    _no_job_created(client)


def test_images_too_large_for_the_budget_are_a_413_naming_the_part(settings) -> None:
    small = settings.model_copy(update={"max_job_memory_bytes": 400 * MIB})
    kwargs = batch(2, (16, 12))
    files = kwargs["files"]
    files[1] = ("ground_truth", ("big.png", png((640, 640), seed=5), "image/png"))
    files[3] = ("restored", ("big.png", png((640, 640), seed=6), "image/png"))
    with TestClient(create_app(small), headers=auth("acme")) as client:
        response = client.post("/v1/jobs", **kwargs)
        assert response.status_code == 413, response.text
        body = response.json()
        assert body["type"].endswith("/resources")
        assert body["status"] == 413
        assert body["memory_limit_bytes"] == 400 * MIB
        assert body["estimated_memory_bytes"] > 400 * MIB
        assert [e["part"] for e in body["errors"]] == ["ground_truth[1]"]
        assert "640x640" in body["errors"][0]["message"]
        _no_job_created(client)


def test_a_job_within_the_budget_is_accepted(client) -> None:
    response = client.post("/v1/jobs", **batch(2, (64, 64)))
    assert response.status_code == 202, response.text


def test_the_idempotency_key_of_a_refused_job_is_released(client) -> None:
    headers = {"Idempotency-Key": "over-budget-1"}
    refused = client.post("/v1/jobs", headers=headers, **batch(1, (128, 128), **X16_RGB))
    assert refused.status_code == 422
    again = client.post("/v1/jobs", headers=headers, **batch(1, (128, 128), **X16_RGB))
    assert again.status_code == 422  # refused again, not "in progress" nor a replay


@pytest.mark.parametrize("value", ["1073741824", "17179869184"])
def test_api_and_workers_read_the_same_budget(monkeypatch, value: str) -> None:
    monkeypatch.setenv("RA_MAX_JOB_MEMORY_BYTES", value)
    monkeypatch.setenv("RA_LOCAL_MODE", "true")
    assert ServiceSettings().max_job_memory_bytes == int(value)
    assert WorkerSettings().max_job_memory_bytes == int(value)


def test_the_budget_defaults_to_a_16_gib_worker() -> None:
    assert ServiceSettings(local_mode=True).max_job_memory_bytes == 12 * 1024 * MIB
    assert WorkerSettings().max_job_memory_bytes == DEFAULT_MAX_JOB_MEMORY_BYTES
    assert json.dumps(DEFAULT_MAX_JOB_MEMORY_BYTES) == str(12 << 30)


def test_a_selfcheck_over_budget_is_the_resources_problem_with_its_estimate() -> None:
    errors = [ProblemError(part="images", message="too many")]
    problem = SelfCheckOverBudgetError("needs 9 bytes", errors, need=9, limit=4).problem("/x")
    assert (problem.status, problem.detail, problem.instance) == (422, "needs 9 bytes", "/x")
    assert problem.type.endswith(JobOverBudgetError.slug)
    assert (problem.estimated_memory_bytes, problem.memory_limit_bytes) == (9, 4)
    assert problem.errors == errors
