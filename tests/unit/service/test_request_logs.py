"""Every API line logged for a request names the caller's tenant and, once owned, its job."""

from __future__ import annotations

import io
import json
import logging

from fastapi.testclient import TestClient

from observability.logs import configure_logging
from service.deps import OwnedJobDep
from service.main import create_app
from tests.unit.service.conftest import auth, batch


def test_api_lines_name_the_callers_job_and_tenant(settings) -> None:
    app = create_app(settings)
    captured = io.StringIO()
    configure_logging("json", stream=captured)  # after create_app, which logs to stderr
    try:
        _run_requests(app, captured)
    finally:
        configure_logging("json")


def _run_requests(app, captured: io.StringIO) -> None:

    @app.get("/probe/{job_id}")
    def probe(job: OwnedJobDep) -> dict[str, str]:
        logging.getLogger("service.probe").info("looked at the job")
        return {"id": job.id}

    with TestClient(app) as client:
        job_id = client.post("/v1/jobs", headers=auth("acme"), **batch(1)).json()["id"]
        assert client.get(f"/probe/{job_id}", headers=auth("acme")).status_code == 200
        # Another tenant asking for the job is refused before the job is bound.
        assert client.get(f"/probe/{job_id}", headers=auth("globex")).status_code == 404
    lines = [json.loads(text) for text in captured.getvalue().splitlines()]
    queued = [line for line in lines if line["logger"] == "service.submission"]
    assert [(line["job_id"], line["tenant"]) for line in queued] == [(job_id, "acme")]
    probes = [line for line in lines if line["logger"] == "service.probe"]
    assert [(line["job_id"], line["tenant"]) for line in probes] == [(job_id, "acme")]
