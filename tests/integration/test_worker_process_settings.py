"""A worker's pool children run with the engine's process settings (workers/process_tuning.py):
idle OpenMP threads sleep unless the operator chose a wait policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.stack import WorkerProcess
from workers.process_tuning import WAIT_SETTINGS

pytestmark = pytest.mark.integration


def test_pool_children_let_idle_openmp_threads_sleep(
    worker: WorkerProcess, stack_env: dict[str, str]
) -> None:
    (child,) = worker.pool_children()
    raw = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
    environ = dict(entry.decode().split("=", 1) for entry in raw if b"=" in entry)
    if any(name in stack_env for name in WAIT_SETTINGS):  # the operator's choice stands
        assert environ.get("OMP_WAIT_POLICY") == stack_env.get("OMP_WAIT_POLICY")
    else:
        assert environ["OMP_WAIT_POLICY"] == "PASSIVE"
