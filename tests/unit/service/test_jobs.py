"""The jobs resource over HTTP against real Redis (no worker runs: jobs stay queued)."""

from __future__ import annotations

import json

from tests.unit.service.conftest import auth, batch

PROBLEM = "application/problem+json"


def submit(client, **kwargs):
    response = client.post("/v1/jobs", **(kwargs or batch()))
    assert response.status_code == 202, response.text
    return response


def test_submit_answers_202_with_location_and_queues_by_id(client, redis_client, settings):
    response = submit(client)
    job = response.json()
    assert job["state"] == "queued"
    assert job["progress"] == {"done": 0, "total": 2}
    assert response.headers["location"] == f"/v1/jobs/{job['id']}" == job["links"]["self"]
    assert response.headers["retry-after"] == "2"
    messages = redis_client.lrange("audit", 0, -1)
    assert len(messages) == 1
    assert json.loads(messages[0])["headers"]["task"] == "audit.run"
    assert job["id"] in messages[0]


def test_submit_writes_inputs_and_manifest(client, settings):
    options = {"pairs": [{"id": "cat", "group": "swinir"}, {"group": "esrgan"}], "color": "rgb"}
    job = submit(client, **batch(2, **options)).json()
    from jobstore import PayloadStore

    store = PayloadStore(settings.data_dir)
    manifest = store.read_manifest(job["id"])
    assert [(p.id, p.group) for p in manifest.pairs] == [("cat", "swinir"), ("pair-1", "esrgan")]
    assert manifest.options.color == "rgb"
    assert manifest.tenant == "acme"
    for pair in manifest.pairs:
        assert (store.input_dir(job["id"]) / pair.restored).is_file()


def test_get_job_has_etag_and_answers_304(client):
    job_id = submit(client).json()["id"]
    first = client.get(f"/v1/jobs/{job_id}")
    assert first.status_code == 200
    assert first.headers["retry-after"] == "2"
    etag = first.headers["etag"]
    again = client.get(f"/v1/jobs/{job_id}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    client.post(f"/v1/jobs/{job_id}/cancel")
    changed = client.get(f"/v1/jobs/{job_id}", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()["state"] == "cancelled"
    assert "retry-after" not in changed.headers


def test_unknown_and_malformed_job_ids_are_problem_404(client):
    for path in ("/v1/jobs/0123456789abcdef0123456789abcdef", "/v1/jobs/..%2f..%2fetc"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM


def test_other_tenants_job_is_404(client):
    job_id = submit(client).json()["id"]
    for method, path in [
        ("GET", f"/v1/jobs/{job_id}"),
        ("GET", f"/v1/jobs/{job_id}/report"),
        ("POST", f"/v1/jobs/{job_id}/cancel"),
        ("DELETE", f"/v1/jobs/{job_id}"),
    ]:
        response = client.request(method, path, headers=auth("globex"))
        assert response.status_code == 404, (method, path)
        assert response.json()["type"].endswith("/job-not-found")
    assert client.get("/v1/jobs", headers=auth("globex")).json()["items"] == []
    assert client.get(f"/v1/jobs/{job_id}").status_code == 200


def test_missing_or_unknown_key_is_401(client):
    response = client.get("/v1/jobs", headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/v1/jobs", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_list_pages_newest_first(client):
    ids = [submit(client, **batch(1)).json()["id"] for _ in range(3)]
    page = client.get("/v1/jobs", params={"page_size": 2}).json()
    assert [j["id"] for j in page["items"]] == ids[:0:-1]
    rest = client.get("/v1/jobs", params={"page_size": 2, "page_token": page["next_page_token"]})
    assert [j["id"] for j in rest.json()["items"]] == ids[:1]
    assert rest.json()["next_page_token"] is None
    client.post(f"/v1/jobs/{ids[1]}/cancel")
    cancelled = client.get("/v1/jobs", params={"state": "cancelled"}).json()["items"]
    assert [j["id"] for j in cancelled] == [ids[1]]


def test_list_rejects_bad_parameters(client):
    for params in ({"page_size": 0}, {"state": "sleeping"}, {"page_token": "garbage"}):
        response = client.get("/v1/jobs", params=params)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == PROBLEM


def test_cancel_queued_is_idempotent_then_delete(client, settings):
    job_id = submit(client).json()["id"]
    for _ in range(2):
        response = client.post(f"/v1/jobs/{job_id}/cancel")
        assert response.status_code == 202
        assert response.json()["state"] == "cancelled"
    assert client.delete(f"/v1/jobs/{job_id}").status_code == 204
    assert client.get(f"/v1/jobs/{job_id}").status_code == 404
    assert not (settings.data_dir / "jobs" / job_id).exists()
    assert client.delete(f"/v1/jobs/{job_id}").status_code == 404


def test_report_is_409_while_queued(client):
    job_id = submit(client).json()["id"]
    response = client.get(f"/v1/jobs/{job_id}/report")
    assert response.status_code == 409
    assert response.headers["retry-after"] == "2"
    assert response.json()["type"].endswith("/job-not-finished")
    assert client.get(f"/v1/jobs/{job_id}/artifacts/map.png").status_code == 404


def test_in_flight_limit_is_429_with_retry_after(client):
    for _ in range(3):
        submit(client, **batch(1))
    response = client.post("/v1/jobs", **batch(1))
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert submit(client, **batch(1), headers=auth("globex")).status_code == 202
