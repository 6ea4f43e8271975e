"""Tenant isolation as a matrix: every operation on a job, in every state, by another tenant.

Tenant ``acme`` owns one job in each state (the worker's side played through the real job
store, as in test_results); tenant ``globex`` tries every operation on each of them. Each try
must be a 404 ``job-not-found`` that looks exactly like the answer for a job that never
existed (no existence leak, never 403), must change nothing, and the owner's own request
must not be a 404 (so the matrix cannot pass by everything being missing). Unauthenticated
callers get 401 on every ``/v1`` operation.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from jobstore import JobRecords, PayloadStore
from service.main import create_app
from tests.unit.service.conftest import KEYS, auth, batch

PROBLEM = "application/problem+json"
ARTIFACT = "pair-0_invented_detail.png"
REPORT = {"schema_version": "1", "groups": [], "pairs": [], "warnings": []}
NEVER_EXISTED = "0123456789abcdef0123456789abcdef"
STATES = ("queued", "running", "succeeded", "failed", "cancelled")
OPERATIONS = {
    "read": ("GET", "/v1/jobs/{id}"),
    "read_if_none_match": ("GET", "/v1/jobs/{id}"),
    "report": ("GET", "/v1/jobs/{id}/report"),
    "report_html": ("GET", "/v1/jobs/{id}/report.html"),
    "pairs_csv": ("GET", "/v1/jobs/{id}/pairs.csv"),
    "comparison": ("GET", "/v1/jobs/{id}/comparison?baseline={id}"),
    "comparison_html": ("GET", "/v1/jobs/{id}/comparison.html?baseline={id}"),
    "artifact": ("GET", "/v1/jobs/{id}/artifacts/" + ARTIFACT),
    "cancel": ("POST", "/v1/jobs/{id}/cancel"),
    "delete": ("DELETE", "/v1/jobs/{id}"),
}


@pytest.fixture
def jobs_by_state(client, redis_client, settings) -> dict[str, str]:
    """One job of acme's in each state; finished ones first (the in-flight limit is 3)."""
    records = JobRecords(redis_client, prefix=settings.redis_prefix)
    store = PayloadStore(settings.data_dir)

    def new() -> str:
        response = client.post("/v1/jobs", **batch(1))
        assert response.status_code == 202, response.text
        return str(response.json()["id"])

    ids = {}
    for state in ("succeeded", "failed", "cancelled", "running", "queued"):
        job_id = ids[state] = new()
        if state == "queued":
            continue
        assert records.try_start(job_id, "w1", 300)
        store.write_artifact(job_id, ARTIFACT, b"\x89PNG not really")
        if state == "succeeded":
            store.write_report(job_id, json.dumps(REPORT).encode())
            assert records.finish(job_id, "w1", "succeeded")
        elif state == "failed":
            assert records.finish(job_id, "w1", "failed", {"title": "Bad input", "status": 422})
        elif state == "cancelled":
            assert records.mark_cancelled(job_id, "w1")
    return ids


def _request(client, operation: str, job_id: str, tenant: str):
    method, path = OPERATIONS[operation]
    headers = auth(tenant)
    if operation == "read_if_none_match":
        headers["If-None-Match"] = "*"
    return client.request(method, path.format(id=job_id), headers=headers)


def _shape(response, job_id: str) -> tuple[int, str, dict[str, object]]:
    body = response.json()
    body.pop("instance")
    body["detail"] = body["detail"].replace(job_id, "<id>")
    for error in body.get("errors", []):
        error["message"] = error["message"].replace(job_id, "<id>")
    return response.status_code, response.headers["content-type"], body


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_other_tenant_gets_404_as_if_the_job_did_not_exist(
    client, jobs_by_state, redis_client, settings, operation, state
):
    job_id = jobs_by_state[state]
    records = JobRecords(redis_client, prefix=settings.redis_prefix)
    before = records.require(job_id)

    foreign = _request(client, operation, job_id, "globex")
    missing = _request(client, operation, NEVER_EXISTED, "globex")

    assert foreign.status_code == 404, foreign.text
    assert foreign.json()["type"].endswith("/job-not-found")
    assert _shape(foreign, job_id) == _shape(missing, NEVER_EXISTED)
    after = records.require(job_id)
    assert after == before, "another tenant's request changed the job"
    assert PayloadStore(settings.data_dir).job_dir(job_id).exists()

    own = _request(client, operation, job_id, "acme")
    assert not (own.status_code == 404 and "job-not-found" in own.text), own.text


@pytest.mark.parametrize("operation", ["comparison", "comparison_html"])
@pytest.mark.parametrize("state", STATES)
def test_another_tenants_job_as_baseline_is_a_404_like_a_missing_one(
    client, jobs_by_state, operation, state
):
    # The caller owns the candidate; the baseline query parameter names acme's job. The answer
    # must not tell it from a baseline that never existed (no existence leak through ?baseline=).
    own = client.post("/v1/jobs", **batch(1), headers=auth("globex"))
    assert own.status_code == 202, own.text
    path = OPERATIONS[operation][1].split("?")[0].format(id=own.json()["id"])

    def ask(baseline: str):
        return client.get(path, params={"baseline": baseline}, headers=auth("globex"))

    foreign, missing = ask(jobs_by_state[state]), ask(NEVER_EXISTED)
    assert foreign.status_code == 404, foreign.text
    assert foreign.json()["type"].endswith("/job-not-found")
    assert [e["part"] for e in foreign.json()["errors"]] == ["baseline"]
    assert _shape(foreign, jobs_by_state[state]) == _shape(missing, NEVER_EXISTED)


@pytest.mark.parametrize("state", [*STATES, None])
def test_other_tenant_lists_none_of_the_jobs(client, jobs_by_state, state):
    params = {"page_size": 100} | ({"state": state} if state else {})
    theirs = client.get("/v1/jobs", params=params, headers=auth("globex"))
    assert theirs.status_code == 200
    assert theirs.json() == {"items": [], "next_page_token": None}
    ours = client.get("/v1/jobs", params=params, headers=auth("acme")).json()["items"]
    expected = set(jobs_by_state.values()) if state is None else {jobs_by_state[state]}
    assert {item["id"] for item in ours} == expected


def test_page_token_of_one_tenant_lists_only_the_callers_jobs(client, jobs_by_state):
    # A token is a position, not a capability: with it another tenant still sees only its own.
    own = client.post("/v1/jobs", **batch(1), headers=auth("globex")).json()["id"]
    first = client.get("/v1/jobs", params={"page_size": 2}, headers=auth("acme")).json()
    token = first["next_page_token"]
    assert token
    theirs = client.get(
        "/v1/jobs", params={"page_size": 100, "page_token": token}, headers=auth("globex")
    )
    assert theirs.status_code == 200
    assert {item["id"] for item in theirs.json()["items"]} <= {own}


def test_idempotency_key_of_one_tenant_never_replays_for_another(client):
    key = {"Idempotency-Key": "shared-key"}
    ours = client.post("/v1/jobs", **batch(1), headers=key | auth("acme"))
    theirs = client.post("/v1/jobs", **batch(1), headers=key | auth("globex"))
    assert ours.status_code == theirs.status_code == 202
    assert ours.json()["id"] != theirs.json()["id"]
    foreign = client.get(f"/v1/jobs/{ours.json()['id']}", headers=auth("globex"))
    assert foreign.status_code == 404


def _v1_operations(app) -> list[tuple[str, str]]:
    paths = app.openapi()["paths"]
    return [
        (method.upper(), path.replace("{job_id}", NEVER_EXISTED).replace("{name}", ARTIFACT))
        for path, operations in paths.items()
        if path.startswith("/v1/")
        for method in operations
    ]


@pytest.mark.parametrize("local_mode", [False, True], ids=["keys", "keys-and-local-mode"])
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer not-a-key",
        f"Basic {KEYS['acme']}",
        KEYS["acme"],
        "Token abc",
    ],
    ids=["absent", "empty", "no-token", "unknown-key", "basic-scheme", "no-scheme", "token-scheme"],
)
def test_every_v1_operation_needs_a_key(settings, authorization, local_mode):
    # Keys win: asking for local mode as well changes nothing once keys are configured.
    app = create_app(settings.model_validate(settings.model_dump() | {"local_mode": local_mode}))
    headers = {} if authorization is None else {"Authorization": authorization}
    operations = _v1_operations(app)
    assert len(operations) == 15  # 11 of jobs, 4 of self-checks
    with TestClient(app) as anonymous:
        for method, path in operations:
            kwargs = batch(1) if (method, path) == ("POST", "/v1/jobs") else {}
            response = anonymous.request(method, path, headers=headers, **kwargs)
            assert response.status_code == 401, (method, path, response.text)
            assert response.headers["content-type"] == PROBLEM
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert [e["part"] for e in response.json()["errors"]] == ["authorization"]


def test_local_mode_serves_without_keys_only_on_loopback(settings):
    from pydantic import ValidationError

    for host in ("0.0.0.0", "10.1.2.3", "::"):
        with pytest.raises(ValidationError, match="loopback"):
            settings.model_validate(
                settings.model_dump() | {"local_mode": True, "api_keys": {}, "host": host}
            )
    local = settings.model_copy(update={"local_mode": True, "api_keys": {}})
    with TestClient(create_app(local)) as anonymous:
        for method, path in _v1_operations(anonymous.app):
            kwargs = batch(1) if (method, path) == ("POST", "/v1/jobs") else {}
            assert anonymous.request(method, path, **kwargs).status_code != 401, (method, path)
