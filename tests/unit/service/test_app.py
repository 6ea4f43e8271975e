"""App-wide behaviour: problem+json for every error, OpenAPI, health, metrics, local mode."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient

from service import errors
from service.main import create_app
from service.settings import ServiceSettings
from tests.fixtures.redis_server import free_port
from tests.unit.service.conftest import batch

PROBLEM = "application/problem+json"


def _subclasses(cls):
    """Every concrete domain error (private bases such as ``_RetryLaterError`` have no slug)."""
    for sub in cls.__subclasses__():
        if not sub.__name__.startswith("_"):
            yield sub
        yield from _subclasses(sub)


def _plain(cls) -> bool:
    """Raised with a detail alone: the memory-budget errors carry their estimate instead and
    tests/unit/service/test_budget.py checks their problems."""
    from service.budget import JobOverBudgetError

    return not issubclass(cls, JobOverBudgetError)


@pytest.mark.parametrize("cls", [c for c in _subclasses(errors.DomainError) if _plain(c)])
def test_every_domain_error_maps_to_a_problem(cls):
    app = create_app(ServiceSettings(local_mode=True, redis_url="redis://127.0.0.1:1/0"))
    kwargs = {"retry_after": 7} if issubclass(cls, errors._RetryLaterError) else {}

    @app.get("/boom")
    def boom() -> None:
        raise cls("because", **kwargs)

    with TestClient(app) as client:
        response = client.get("/boom")
    assert response.status_code == cls.status
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body == {
        "type": cls.type_uri(),
        "title": cls.title,
        "status": cls.status,
        "detail": "because",
        "instance": "/boom",
    }
    if kwargs:
        assert response.headers["retry-after"] == "7"
    # One type URI per problem kind; a subclass may share its parent's (the 413 and 422 of
    # the "resources" problem), but no two classes may declare the same slug.
    declared = [c for c in _subclasses(errors.DomainError) if "slug" in c.__dict__]
    assert len({c.slug for c in declared}) == len(declared)


def test_unknown_path_and_method_are_problems(client):
    missing = client.get("/v2/nothing")
    assert (missing.status_code, missing.headers["content-type"]) == (404, PROBLEM)
    assert missing.json()["title"] == "Not Found"
    wrong = client.put("/v1/jobs")
    assert (wrong.status_code, wrong.headers["content-type"]) == (405, PROBLEM)
    assert "allow" in wrong.headers


def test_openapi_names_operations_and_binary_parts():
    app = create_app(ServiceSettings(local_mode=True, redis_url="redis://127.0.0.1:1/0"))
    schema = app.openapi()
    ops = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
    assert {
        "create_job",
        "get_job",
        "list_jobs",
        "get_report",
        "get_report_html",
        "get_pairs_csv",
        "get_comparison",
        "get_comparison_html",
        "get_artifact",
        "cancel_job",
        "delete_job",
    } <= ops
    body = schema["components"]["schemas"]["Body_create_job"]["properties"]
    assert body["ground_truth"]["items"]["format"] == "binary"
    assert body["restored"]["items"]["format"] == "binary"
    get_job = schema["paths"]["/v1/jobs/{job_id}"]["get"]["responses"]
    assert get_job["404"]["content"] == {
        PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_healthz_and_readyz_without_worker(client):
    assert client.get("/healthz").json() == {"status": "ok", "checks": {}}
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    parts = {e["part"] for e in response.json()["errors"]}
    assert parts == {"worker"}, "redis and storage are fine; no worker runs in unit tests"


def test_readyz_names_unreachable_redis(settings):
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    with TestClient(create_app(down)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert "redis" in {e["part"] for e in response.json()["errors"]}


def test_redis_down_is_503_problem(settings):
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    headers = {"Authorization": "Bearer key-of-acme"}
    with TestClient(create_app(down), headers=headers) as client:
        response = client.get("/v1/jobs")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM


def test_metrics_count_jobs_by_state(client):
    client.post("/v1/jobs", **batch(1))
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'restoration_audit_jobs{state="queued"} 1' in response.text
    assert 'restoration_audit_jobs{state="running"} 0' in response.text


def test_local_mode_serves_tenant_local_without_key(settings):
    local = settings.model_copy(update={"local_mode": True, "api_keys": {}})
    with TestClient(create_app(local)) as client:
        job = client.post("/v1/jobs", **batch(1))
        assert job.status_code == 202
        listed = client.get("/v1/jobs").json()["items"]
    assert [j["id"] for j in listed] == [job.json()["id"]]


def test_public_base_url_makes_absolute_links(settings):
    public = settings.model_copy(update={"public_base_url": "https://audit.example/"})
    key = {"Authorization": "Bearer key-of-acme"}
    with TestClient(create_app(public), headers=key) as client:
        response = client.post("/v1/jobs", **batch(1))
    job_id = response.json()["id"]
    assert response.headers["location"] == f"https://audit.example/v1/jobs/{job_id}"


def test_key_lookup_is_by_digest(settings):
    from service.auth import tenant_for_key

    assert tenant_for_key(settings, "key-of-globex") == "globex"
    assert tenant_for_key(settings, hashlib.sha256(b"key-of-globex").hexdigest()) is None


def test_upload_without_valid_key_is_refused_before_the_body_is_read(settings):
    received = []

    def body():
        received.append(1)
        yield b"--b--\r\n"

    with TestClient(create_app(settings)) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
            response = client.post(
                "/v1/jobs",
                content=body(),
                headers={"Content-Type": "multipart/form-data; boundary=b", **headers},
            )
            assert response.status_code == 401
            assert response.headers["content-type"] == PROBLEM
    assert received == []


def test_readme_lists_every_problem_type():
    import re
    from pathlib import Path

    readme = (Path(errors.__file__).parent / "README.md").read_text()
    for cls in [errors.DomainError, *_subclasses(errors.DomainError)]:
        # A row may list several statuses of one type: "| 413, 422 | `resources` |".
        row = rf"\| (?:\d+, )*{cls.status}(?:, \d+)* \| `{re.escape(cls.slug)}` \|"
        assert re.search(row, readme), cls.__name__
