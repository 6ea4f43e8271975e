"""Schemathesis' stateful run (its CLI) against uvicorn on 127.0.0.1, time-bounded.

A stack of the test's own (Redis, a worker, uvicorn with an API key, all on loopback) so that
the hundreds of jobs the run creates never queue in front of the session's other tests.
The state machine follows the links schemathesis infers from the document and the answers
(the job id of a 202 and its ``Location``: create -> read, list, report, artifact, cancel,
delete), in random sequences for ``MAX_SECONDS``; every answer is checked against the
document (status codes, content types, headers, schemas), for authentication being enforced,
and for never being a 5xx. ``stateful_hooks`` gives positive ``POST /v1/jobs`` cases a valid
batch (random bytes are never images); for the same reason the two data-acceptance checks are
off here (the stateless run in tests/unit/service/test_contract.py keeps the negative one).

The CLI, not the in-pytest state machine: its engine tolerates what a live service with a
worker does between two replays of a scenario (a job that finished meanwhile), which makes
Hypothesis' own runner stop with ``FlakyStrategyDefinition``.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures.redis_server import RedisServer
from tests.integration.stack import REPO, ApiServer, WorkerProcess

MAX_SECONDS = 70
"""Long enough to cover every link on a loaded 2-core CI machine (40 s covered 21 of 22)."""
KEY = "stateful-contract-key"


@pytest.mark.timeout(240)
def test_stateful_run_against_uvicorn_finds_no_issue(
    stack_env: dict[str, str], stack_dir: Path, tmp_path: Path
) -> None:
    with RedisServer(tmp_path / "redis") as server:
        env = stack_env | {
            "RA_REDIS_URL": server.url,
            "RA_DATA_DIR": str(tmp_path / "data"),
            "RA_LOCAL_MODE": "false",
            "RA_API_KEYS": json.dumps({"contract": hashlib.sha256(KEY.encode()).hexdigest()}),
            "RA_MAX_JOBS_IN_FLIGHT_PER_TENANT": "64",
        }
        worker = WorkerProcess(env, stack_dir / "logs")
        api = ApiServer(env, stack_dir / "logs" / "api-stateful.log")
        try:
            worker.start()
            api.start()
            started = time.monotonic()
            run = subprocess.run(
                [
                    str(Path(sys.executable).parent / "schemathesis"),
                    "run", f"{api.base_url}/openapi.json",
                    "--phases", "stateful",
                    "--max-time", str(MAX_SECONDS),
                    "--checks", "all",
                    "--exclude-checks", "positive_data_acceptance,negative_data_rejection",
                    "--header", f"Authorization: Bearer {KEY}",
                    "--exclude-path", "/readyz",  # 503 by design while the worker is busy
                    "--seed", "20261127",
                    "--generation-database", "none",
                    "--request-timeout", "30",
                    "--no-color",
                ],
                env=env | {
                    "SCHEMATHESIS_HOOKS": "tests.integration.stateful_hooks",
                    "PYTHONPATH": str(REPO),
                },
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=MAX_SECONDS + 120,
                check=False,
            )  # fmt: skip
            elapsed = time.monotonic() - started
        finally:
            api.stop()
            worker.stop()
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-8000:]
    assert "No issues found" in output, output[-4000:]
    assert elapsed < MAX_SECONDS + 60, f"the run took {elapsed:.0f} s"
    scenarios = re.search(r"Scenarios:\s+(\d+)", output)
    links = re.search(r"API Links:\s+(\d+) covered / (\d+) selected", output)
    assert scenarios is not None, output[-4000:]
    assert links is not None, output[-4000:]
    assert int(scenarios.group(1)) >= 50, output[-4000:]
    covered, selected = int(links.group(1)), int(links.group(2))
    assert selected >= 10, "schemathesis found too few links between operations"
    assert covered == selected, output[-4000:]
