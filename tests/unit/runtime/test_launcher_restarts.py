"""When ``restoration-audit serve`` restarts a child, and when it gives up (small real
processes stand in for Redis, the worker and the API)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from runtime import launcher
from runtime.launcher import Child, Launcher, Restarts
from tests.fixtures.redis_server import free_port


def _child(name: str, code: str) -> Child:
    return Child(name, [sys.executable, "-c", code], {})


def test_quick_exits_back_off_and_a_stable_run_resets() -> None:
    plan, child = Restarts(), _child("worker", "")
    child.started_at = 100.0
    delays = [plan.schedule(child, 101.0) for _ in range(7)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert plan.quick_exits == 7
    assert plan.schedule(child, 100.0 + launcher.WORKER_STABLE_S + 1) == 0.0
    assert plan.quick_exits == 0
    # Crash-looping again after a stable run backs off again (it used to stay at 0 s).
    assert plan.schedule(child, 101.0) == 1.0


def test_a_redis_that_cannot_start_stops_serve(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(launcher, "MAX_RESTART_DELAY_S", 0.01)
    serve = Launcher(data_dir=tmp_path, poll_interval=0.01, redis_port=free_port())
    serve.children = {
        "redis": _child("redis", "raise SystemExit(1)"),  # a port taken, a corrupt AOF...
        "worker": _child("worker", "import time; time.sleep(60)"),
        "api": _child("api", "import time; time.sleep(60)"),
    }
    serve.children["worker"].env = {"RA_REDIS_URL": "redis://127.0.0.1:1/0"}
    for child in serve.children.values():
        child.start()
    try:
        result: list[int] = []
        thread = threading.Thread(target=lambda: result.append(serve.supervise()))
        thread.start()
        thread.join(60)
        assert result == [1]
        assert serve.children["redis"].starts == launcher.MAX_QUICK_REDIS_EXITS
        assert "redis exited 5 times in a row" in capsys.readouterr().err
    finally:
        serve.stop()
