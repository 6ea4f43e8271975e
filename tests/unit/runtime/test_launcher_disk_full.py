"""``serve`` never dies of a state file it cannot write (issue #11, item 4a).

A directory where ``launcher.json.tmp`` should go makes every write of the state fail with an
``OSError`` the way ``ENOSPC`` does, on any file system and for root too (the real full disk is
tests/integration/test_full_disk.py). Small real processes stand in for the children.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import pytest

from runtime import launcher
from runtime.launcher import Child, Launcher
from tests.fixtures.redis_server import free_port

SLEEP = "import time; time.sleep(60)"


def _child(name: str, code: str) -> Child:
    return Child(name, [sys.executable, "-c", code], {"RA_REDIS_URL": "redis://127.0.0.1:1/0"})


def test_a_state_file_that_cannot_be_written_stops_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(launcher, "MAX_RESTART_DELAY_S", 0.01)
    serve = Launcher(data_dir=tmp_path, poll_interval=0.02, redis_port=free_port())
    serve.children = {
        "redis": _child("redis", SLEEP),
        "worker": _child("worker", "raise SystemExit(1)"),  # exits again and again
        "api": _child("api", SLEEP),
    }
    for child in serve.children.values():
        child.start()
    blocker = tmp_path / "launcher.tmp"
    blocker.mkdir()  # every write of the state now fails
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(serve.supervise()), daemon=True)
    try:
        serve._write_state("redis://127.0.0.1:1/0")  # what start() does: must not raise
        thread.start()
        deadline = time.monotonic() + 30
        while serve.children["worker"].starts < 4:
            assert thread.is_alive(), f"supervise returned {result}"
            assert time.monotonic() < deadline, "the worker was not restarted"
            time.sleep(0.05)
        assert not (tmp_path / "launcher.json").exists()
        assert serve.state["worker_starts"] >= 3  # kept in memory
        err = capsys.readouterr().err
        assert err.count("cannot write") == 1, err  # said once, not at every restart
        assert "state kept in memory" in err

        blocker.rmdir()  # space is back: the next turn writes the state
        while not (tmp_path / "launcher.json").exists():
            assert time.monotonic() < deadline, "the state was not written again"
            time.sleep(0.05)
        state = json.loads((tmp_path / "launcher.json").read_text())
        assert state["children"]["api"] == serve.children["api"].pid
        assert state["worker_starts"] >= 3
        assert "written again" in capsys.readouterr().err
        assert thread.is_alive()
    finally:
        serve.request_stop(0, None)
        thread.join(30)
        serve.stop()
    assert result == [0]


def test_a_stderr_that_cannot_be_written_stops_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    class Full:
        def write(self, text: str) -> int:
            raise OSError(28, "No space left on device")

        def flush(self) -> None:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(sys, "stderr", Full())
    launcher._say("worker exited (1); restarting in 1 s")  # no exception


def test_redis_is_started_to_recover_from_a_full_disk_by_itself(tmp_path: Path) -> None:
    argv = launcher.redis_child(tmp_path, 6399, {}).argv
    options = dict(zip(argv[1::2], argv[2::2], strict=True))
    assert options["--appendonly"] == "yes"
    # With "always", Redis exits on an append-only write error; "everysec" refuses writes
    # (MISCONF) and retries the write every second, so it resumes once space returns.
    assert options["--appendfsync"] == "everysec"
    assert options["--save"] == ""
    assert options["--stop-writes-on-bgsave-error"] == "no"
