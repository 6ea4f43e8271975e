"""Submissions still being inspected count against the tenant's in-flight limit, and health
and polling are served while they are (issue #11, item 3)."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient

import service.submission as submission
from service.main import create_app
from tests.unit.service.conftest import auth, batch


def test_submissions_being_inspected_hold_the_tenants_slots(settings, monkeypatch):
    # settings: at most 3 unfinished jobs per tenant; 5 submission threads here (4 held).
    app = create_app(settings.model_copy(update={"max_concurrent_submissions": 5}))
    release = threading.Event()
    inside = threading.Semaphore(0)
    inspect = submission.inspect_image

    def slow_inspect(fp, limits):
        inside.release()
        assert release.wait(30)
        return inspect(fp, limits)

    monkeypatch.setattr(submission, "inspect_image", slow_inspect)
    answers: dict[str, list[int]] = {"acme": [], "globex": []}
    with TestClient(app) as client:

        def send(tenant: str) -> None:
            response = client.post("/v1/jobs", **batch(1), headers=auth(tenant))
            answers[tenant].append(response.status_code)

        senders = [threading.Thread(target=send, args=(t,)) for t in ["acme"] * 3 + ["globex"]]
        for sender in senders:
            sender.start()
        for _ in senders:  # all four are being inspected; none has a job yet
            assert inside.acquire(timeout=30)
        refused = client.post("/v1/jobs", **batch(1), headers=auth("acme"))
        assert refused.status_code == 429  # acme's three slots are taken by its inspections
        assert refused.headers["retry-after"]
        assert client.get("/healthz").status_code == 200
        assert client.get("/v1/jobs", headers=auth("acme")).status_code == 200
        release.set()
        for sender in senders:
            sender.join(30)
        assert answers == {"acme": [202, 202, 202], "globex": [202]}
        # The slots became three queued jobs: still at the limit, and no slot left behind.
        assert client.post("/v1/jobs", **batch(1), headers=auth("acme")).status_code == 429
        assert submission.Admissions(app.state.resources.redis).in_progress("acme") == 0
