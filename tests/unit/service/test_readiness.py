"""/readyz answers 200 once a real worker process answers a ping over the real broker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.main import create_app

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.integration  # starts a process
def test_readyz_is_200_when_a_worker_answers(settings):
    env = dict(os.environ, RA_TEST_BROKER=settings.redis_url)
    argv = [
        sys.executable, "-m", "celery", "-A", "tests.unit.service.ping_worker", "worker",
        "--pool=solo", "--concurrency=1", "--without-gossip", "--without-mingle",
        "--loglevel=WARNING", "--hostname=ping@%h",
    ]  # fmt: skip
    worker = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    try:
        with TestClient(create_app(settings)) as client:
            deadline = time.monotonic() + 30
            while True:
                response = client.get("/readyz")
                if response.status_code == 200 or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "status": "ready",
            "checks": {"object_store": "ok", "redis": "ok", "storage": "ok", "worker": "ok"},
        }
    finally:
        os.kill(worker.pid, signal.SIGTERM)
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(10)
