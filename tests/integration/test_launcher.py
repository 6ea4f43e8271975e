"""`restoration-audit serve`: one command starts Redis, a worker and the API; stops them all."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtime.launcher import serve_main
from tests.fixtures.redis_server import RedisServer, free_port
from tests.integration.stack import (
    REPO,
    ServeProcess,
    group_pids,
    sample_pairs,
    spawn,
    submit,
    wait_for,
)
from tests.integration.test_jobs_http import FAST
from tests.support.http_servers import wait_until
from workers.celery_app import create_celery_app
from workers.settings import WorkerSettings

SERVE = "import sys; from runtime.launcher import serve_main; sys.exit(serve_main(sys.argv[1:]))"


def _state(data_dir: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads((data_dir / "launcher.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return state


def _ready(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/readyz", timeout=2.0).status_code == 200
    except httpx.TransportError:
        return False


def test_serve_runs_a_job_restarts_a_dead_worker_and_leaves_no_orphans(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RA_")}
    env.update(RA_DEVICE="cpu", PYTHONUNBUFFERED="1")
    argv = [sys.executable, "-c", SERVE, "--port", str(port), "--data-dir", str(data_dir)]
    launcher = spawn(argv, env, REPO, tmp_path / "serve.log")
    groups: set[int] = set()
    try:
        wait_until(lambda: _ready(base_url), 120, "the API to be ready (Redis, storage, a worker)")
        state = _state(data_dir)
        assert state is not None
        children = state["children"]
        assert set(children) == {"redis", "worker", "api"}
        groups.update(children.values())
        assert len(group_pids(children["worker"])) >= 2, "expected the worker and a pool child"

        with httpx.Client(base_url=base_url, timeout=30) as client:
            job = submit(client, sample_pairs(1, 64, seed=51), {"knn_samples": 200}).json()
            assert wait_for(client, job["id"], timeout=90)["state"] == "succeeded"

            os.killpg(children["worker"], signal.SIGKILL)
            restarted = wait_until(
                lambda: (s := _state(data_dir)) and s["worker_starts"] == 2 and s,
                30,
                "the launcher to restart the worker",
            )
            groups.add(restarted["children"]["worker"])
            assert client.get("/healthz").status_code == 200

        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(60) == 0
        for pgid in groups:
            assert group_pids(pgid) == [], f"process group {pgid} outlived the launcher"
        assert (data_dir / "redis").is_dir()
        assert any(p.name.startswith("appendonly") for p in (data_dir / "redis").iterdir())
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait()
        for pgid in groups:
            for pid in group_pids(pgid):
                os.kill(pid, signal.SIGKILL)


def test_serve_refuses_a_public_host_without_api_keys(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("RA_API_KEYS", raising=False)
    assert serve_main(["--host", "0.0.0.0", "--data-dir", str(tmp_path)]) == 2
    assert "refusing to bind 0.0.0.0 without API keys" in capsys.readouterr().err
    assert not (tmp_path / "launcher.json").exists()


def test_serve_restarts_a_killed_redis_over_its_append_only_file(tmp_path: Path) -> None:
    # SIGKILL, as an OOM kill: no shutdown save, only what the append-only file holds. Before,
    # the launcher stopped everything when Redis exited. Killed while one job is finished, one
    # is running (batches of two pairs, so progress shows) and one is queued.
    serve = ServeProcess(tmp_path / "data", tmp_path / "serve.log", RA_BATCH_SIZE="2")
    try:
        serve.start()
        first = serve.state()
        assert first is not None
        with httpx.Client(base_url=serve.base_url, timeout=30) as client:
            finished = submit(client, sample_pairs(1, 64, seed=61), FAST).json()["id"]
            assert wait_for(client, finished, timeout=90)["state"] == "succeeded"
            running = submit(client, sample_pairs(8, 96, seed=62), FAST).json()["id"]
            queued = submit(client, sample_pairs(2, 64, seed=63), FAST).json()["id"]
            wait_for(client, running, states=("running",), min_done=1, timeout=90)

            os.kill(first["children"]["redis"], signal.SIGKILL)

            def restarted() -> dict[str, Any] | None:
                assert serve.popen is not None
                assert serve.popen.poll() is None, f"serve stopped:\n{serve.log()[-3000:]}"
                state = serve.state()
                return state if state and state.get("redis_starts") == 2 else None

            state = wait_until(restarted, 30, "the launcher to restart Redis")
            assert state["children"]["redis"] != first["children"]["redis"]
            assert state["redis_url"] == first["redis_url"], "Redis must come back on its port"

            wait_until(lambda: _ready(serve.base_url), 60, "the API to be ready again")
            job = client.get(f"/v1/jobs/{finished}")
            assert job.status_code == 200, job.text
            assert job.json()["state"] == "succeeded"
            assert client.get(f"/v1/jobs/{finished}/report").status_code == 200
            for job_id in (running, queued):
                job = wait_for(client, job_id, timeout=120)
                assert job["state"] == "succeeded", (job, serve.log()[-3000:])
                assert client.get(f"/v1/jobs/{job_id}/report").status_code == 200
            listed = {item["id"] for item in client.get("/v1/jobs").json()["items"]}
            assert listed == {finished, running, queued}
            again = submit(client, sample_pairs(1, 64, seed=64), FAST).json()["id"]
            assert wait_for(client, again, timeout=90)["state"] == "succeeded"
        assert serve.stop() == 0
    finally:
        serve.stop()


def test_serve_on_another_loopback_address_runs_in_local_mode(tmp_path: Path) -> None:
    # 127.0.0.2 is loopback to the launcher and to the settings alike (it used to pass the
    # launcher's check and crash the API with a pydantic traceback).
    serve = ServeProcess(tmp_path / "data", tmp_path / "serve.log", host="127.0.0.2")
    try:
        serve.start()
        state = serve.state()
        assert state is not None
        assert state["api"] == serve.base_url
        with httpx.Client(base_url=serve.base_url, timeout=30) as client:
            listing = client.get("/v1/jobs")  # no key: local mode
            assert listing.status_code == 200, listing.text
            assert submit(client, sample_pairs(1, 32, seed=9)).status_code == 202
        assert "Traceback" not in serve.log()
        assert serve.stop() == 0
    finally:
        serve.stop()


def test_worker_main_serves_the_audit_queue_until_sigterm(tmp_path: Path) -> None:
    code = "import sys; from runtime.launcher import worker_main; sys.exit(worker_main([]))"
    with RedisServer() as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RA_")}
        env.update(RA_REDIS_URL=server.url, RA_DATA_DIR=str(tmp_path), RA_DEVICE="cpu")
        process = spawn([sys.executable, "-c", code], env, REPO, tmp_path / "worker.log")
        app = create_celery_app(WorkerSettings(redis_url=server.url, data_dir=tmp_path))
        try:
            replies = wait_until(lambda: app.control.ping(timeout=0.5), 90, "the worker to answer")
            assert len(replies) == 1
            stats = app.control.inspect(timeout=2).active_queues()
            assert [q["name"] for q in next(iter(stats.values()))] == ["audit"]
            process.send_signal(signal.SIGTERM)
            assert process.wait(30) == 0
            # billiard's semaphore tracker leaves once its pipe closes, a moment later
            wait_until(lambda: group_pids(process.pid) == [], 10, "the worker's group to exit")
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            app.close()
