"""Schemathesis' stateful run against uvicorn on 127.0.0.1, with the session's real worker.

The API runs with API keys (not local mode), so schemathesis' authentication checks apply:
every operation must refuse a request without the key.

The state machine follows the links schemathesis infers from the document and the answers
(the job id of a 202 and its ``Location``: create -> read, list, report,
artifact, cancel, delete): random sequences of calls, each answer checked against the
document (status codes, content types, headers, schemas) and never a 5xx. Random bytes are
never images, so a positive ``POST /v1/jobs`` case is given a valid small batch, letting the
chains reach queued, running, finished, cancelled and deleted jobs. Bounded by a fixed number
of scenarios and steps, derandomised, and checked to stay under ``MAX_SECONDS``;
tests/unit/service/test_contract.py runs the stateless phase in process.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance
from schemathesis.config import SchemathesisConfig

from tests.integration.stack import ApiServer, WorkerProcess, sample_pairs

MAX_SECONDS = 60.0
SCENARIOS = 60
KEY = "stateful-contract-key"


@pytest.fixture(scope="module")
def keyed_api(stack_env: dict[str, str], stack_dir: Path) -> Iterator[ApiServer]:
    """uvicorn with one API key, on the session's Redis and worker."""
    env = stack_env | {
        "RA_LOCAL_MODE": "false",
        "RA_API_KEYS": json.dumps({"contract": hashlib.sha256(KEY.encode()).hexdigest()}),
    }
    server = ApiServer(env, stack_dir / "logs" / "api-keyed.log").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.timeout(300)
def test_stateful_sequences_conform_to_the_document(
    keyed_api: ApiServer, worker: WorkerProcess
) -> None:
    config = SchemathesisConfig.from_dict({"auth": {"openapi": {"HTTPBearer": {"bearer": KEY}}}})
    schema = schemathesis.openapi.from_url(f"{keyed_api.base_url}/openapi.json", config=config)
    schema = schema.exclude(path="/readyz")  # 503 by design while the worker is busy
    pairs = sample_pairs(2, 32, seed=101)
    valid_body = {
        "ground_truth": [pairs[0][0], pairs[1][0]],
        "restored": [pairs[0][1], pairs[1][1]],
        "options": '{"bootstrap": {"resamples": 20}, "knn_samples": 200}',
    }
    replaced: set[int] = set()
    stats: dict[str, Any] = {"calls": 0, "statuses": set()}
    started = time.monotonic()

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Any) -> None:
            negative = case.meta is not None and case.meta.generation.mode.is_negative
            if case.operation.label == "POST /v1/jobs" and not negative:
                case.body = dict(valid_body)
                case.media_type = "multipart/form-data"
                replaced.add(id(case))

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            stats["calls"] += 1
            stats["statuses"].add((case.operation.label, response.status_code))
            assert response.status_code < 500, (case.operation.label, response.text[:500])
            # Random file bytes are refused with 422 by design (not images); a body replaced
            # by a valid batch is re-read by schemathesis as negative (bytes are not strings).
            excluded = [positive_data_acceptance] if case.operation.path == "/v1/jobs" else []
            if id(case) in replaced:
                excluded.append(negative_data_rejection)
            case.validate_response(
                response, excluded_checks=excluded, transport_kwargs=kwargs or None
            )

    Workflow.run(
        settings=hypothesis_settings(
            max_examples=SCENARIOS,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
    )
    elapsed = time.monotonic() - started
    assert elapsed < MAX_SECONDS, f"the stateful run took {elapsed:.0f} s; lower SCENARIOS"
    seen = stats["statuses"]
    assert stats["calls"] >= SCENARIOS
    # The chains got past authentication and creation into the job's own operations.
    assert {("POST /v1/jobs", 202), ("GET /v1/jobs/{job_id}", 200)} <= seen, sorted(seen)
    reached = {label for label, status in seen if status not in (401, 404, 422)}
    assert len(reached) >= 5, sorted(seen)
