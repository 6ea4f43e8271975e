"""`restoration-audit serve` with API keys on loopback: every ``/v1`` request needs a valid key.

The launcher used to turn local mode on for any loopback host, keys or not, so a request with
no key (or a key under another scheme) was served as tenant ``local``. Here a real launcher
(Redis, a worker, uvicorn) runs with ``RA_API_KEYS`` on 127.0.0.1 and is asked over real HTTP
with every kind of missing or wrong credential, on a route of each kind.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.stack import (
    PROBLEM_JSON,
    ServeProcess,
    multipart,
    sample_pairs,
    submit,
    wait_for,
)

KEY = "key-of-acme-0123456789"
BAD_CREDENTIALS = {
    "no-header": None,
    "empty-header": "",
    "bearer-without-token": "Bearer",
    "basic-with-the-key": f"Basic {KEY}",
    "key-without-scheme": KEY,
    "token-scheme": "Token abc",
    "unknown-bearer-key": "Bearer not-a-key",
}


@pytest.fixture(scope="module")
def keyed_serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """serve on 127.0.0.1 with one tenant's key configured (and nothing about local mode)."""
    root = tmp_path_factory.mktemp("serve-keys")
    digest = hashlib.sha256(KEY.encode()).hexdigest()
    serve = ServeProcess(
        root / "data", root / "serve.log", RA_API_KEYS=json.dumps({"acme": digest})
    )
    serve.start()
    try:
        yield serve
    finally:
        serve.stop()


@pytest.fixture(scope="module")
def acme(keyed_serve: ServeProcess) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=keyed_serve.base_url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def job_id(acme: httpx.Client) -> str:
    """A finished job of acme's (a finished one, so that acme can delete it at the end)."""
    response = submit(acme, sample_pairs(1, 64, seed=7), {"knn_samples": 200})
    assert response.status_code == 202, response.text
    job = wait_for(acme, response.json()["id"], timeout=120)
    assert job["state"] == "succeeded", job
    return str(job["id"])


def _routes(job_id: str) -> list[tuple[str, str]]:
    return [
        ("POST", "/v1/jobs"),
        ("GET", "/v1/jobs"),
        ("GET", f"/v1/jobs/{job_id}"),
        ("POST", f"/v1/jobs/{job_id}/cancel"),
        ("DELETE", f"/v1/jobs/{job_id}"),
    ]


def _request(base_url: str, method: str, path: str, authorization: str | None) -> httpx.Response:
    headers = {} if authorization is None else {"Authorization": authorization}
    kwargs: dict[str, object] = {}
    if (method, path) == ("POST", "/v1/jobs"):
        kwargs = {"files": multipart(sample_pairs(1, 32, seed=3)), "data": {"options": "{}"}}
    with httpx.Client(base_url=base_url, timeout=30) as anonymous:  # no default headers
        return anonymous.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("credential", list(BAD_CREDENTIALS))
def test_without_a_valid_bearer_key_every_route_is_401(
    keyed_serve: ServeProcess, acme: httpx.Client, job_id: str, credential: str
) -> None:
    for method, path in _routes(job_id):
        response = _request(keyed_serve.base_url, method, path, BAD_CREDENTIALS[credential])
        assert response.status_code == 401, (method, path, response.status_code, response.text)
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        assert response.headers["www-authenticate"].startswith("Bearer")
        body = response.json()
        assert body["status"] == 401
        assert [e["part"] for e in body["errors"]] == ["authorization"]
    # Nothing was created, listed as someone else's, cancelled or deleted.
    assert acme.get(f"/v1/jobs/{job_id}").json()["state"] == "succeeded"
    assert [item["id"] for item in acme.get("/v1/jobs").json()["items"]] == [job_id]


def test_the_valid_key_is_served_and_health_stays_open(
    keyed_serve: ServeProcess, acme: httpx.Client, job_id: str
) -> None:
    with httpx.Client(base_url=keyed_serve.base_url, timeout=30) as anonymous:
        for path in ("/healthz", "/readyz", "/metrics"):
            assert anonymous.get(path).status_code == 200, path
    assert acme.get(f"/v1/jobs/{job_id}").status_code == 200
    assert job_id in {item["id"] for item in acme.get("/v1/jobs").json()["items"]}
    created = submit(acme, sample_pairs(1, 32, seed=5), {"knn_samples": 200})
    assert created.status_code == 202, created.text
    assert acme.post(f"/v1/jobs/{created.json()['id']}/cancel").status_code in (202, 409)
    assert acme.delete(f"/v1/jobs/{job_id}").status_code == 204
    assert acme.get(f"/v1/jobs/{job_id}").status_code == 404
