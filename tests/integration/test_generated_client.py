"""A client generated from the live ``/openapi.json`` submits, polls and reads a report.

This is how many production pipelines call the service, so the OpenAPI document must describe
the multipart upload (files as binary), the problem+json errors and the report model well
enough for ``openapi-python-client`` to produce working code.
"""

from __future__ import annotations

import importlib
import io
import json
import sys
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.integration.stack import ApiServer, WorkerProcess, sample_pairs
from tests.support.openapi_client import generate_client

PACKAGE = "ra_generated_client"


@pytest.fixture(scope="module")
def generated(
    api: ApiServer, worker: WorkerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ModuleType]:
    root = tmp_path_factory.mktemp("generated")
    spec = root / "openapi.json"
    spec.write_bytes(httpx.get(f"{api.base_url}/openapi.json", timeout=10).content)
    result = generate_client(spec, root / PACKAGE)
    assert result.returncode == 0, result.stdout + result.stderr
    # The generator cannot type image/png answers (artifacts); every other operation must parse.
    warned = [line for line in result.stdout.splitlines() if line.startswith("WARNING parsing")]
    assert all("/artifacts/" in line for line in warned), result.stdout
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def test_generated_client_submits_polls_and_reads_the_report(
    generated: ModuleType, api: ApiServer
) -> None:
    types = _module("types")
    models = _module("models")
    # Local mode: no API key, so the plain (unauthenticated) client class.
    with generated.Client(base_url=api.base_url, raise_on_unexpected_status=True) as client:
        _submit_poll_read(client, models, types)


def _submit_poll_read(client: Any, models: Any, types: Any) -> None:
    create_job = _module("api.jobs.create_job")
    get_job = _module("api.jobs.get_job")
    get_report = _module("api.jobs.get_report")
    pairs = sample_pairs(2, 64, seed=61)
    body = models.BodyCreateJob(
        ground_truth=[
            types.File(payload=io.BytesIO(gt), file_name=f"gt{i}.png", mime_type="image/png")
            for i, (gt, _) in enumerate(pairs)
        ],
        restored=[
            types.File(payload=io.BytesIO(rs), file_name=f"rs{i}.png", mime_type="image/png")
            for i, (_, rs) in enumerate(pairs)
        ],
        # A typed model (the document publishes JobCreateOptions), sent as one JSON part.
        options=models.JobCreateOptions.from_dict(
            {"knn_samples": 200, "pairs": [{"id": "first"}, {"id": "second"}]}
        ),
    )
    created = create_job.sync_detailed(client=client, body=body)
    assert created.status_code == 202, created.content
    job = created.parsed
    assert isinstance(job, models.JobRead)

    deadline = time.monotonic() + 90
    while True:
        polled = get_job.sync(job.id, client=client)
        assert isinstance(polled, models.JobRead)
        if polled.state.value in ("succeeded", "failed", "cancelled"):
            break
        assert time.monotonic() < deadline, polled
        time.sleep(0.2)
    assert polled.state.value == "succeeded"
    assert polled.progress.done == polled.progress.total == 2

    report = get_report.sync(job.id, client=client)
    assert isinstance(report, models.AuditReport)
    assert [pair.id for pair in report.pairs] == ["first", "second"]
    assert report.schema_version == "2"
    assert report.groups[0].n_pairs == 2


def test_generated_client_parses_problem_details(generated: ModuleType, api: ApiServer) -> None:
    models = _module("models")
    get_job = _module("api.jobs.get_job")
    with generated.Client(base_url=api.base_url) as client:
        missing = get_job.sync_detailed("0123456789abcdef0123456789abcdef", client=client)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert isinstance(missing.parsed, models.Problem)
    assert missing.parsed.status == 404


def test_generated_client_runs_a_selfcheck(generated: ModuleType, api: ApiServer) -> None:
    """The README's example: a typed request in the JSON ``options`` part, a typed result."""
    models = _module("models")
    create_selfcheck = _module("api.selfchecks.create_selfcheck")
    get_selfcheck = _module("api.selfchecks.get_selfcheck")
    delete_selfcheck = _module("api.selfchecks.delete_selfcheck")
    # The smallest self-check the engine takes (its checks need more pixels to hold; the
    # integration test of the endpoint runs one that does): this is about the typed client.
    request = models.SelfCheckCreate(degradation="noise:0.05", images=2, size=32, resamples=0)
    body = models.BodyCreateSelfcheck(options=json.dumps(request.to_dict()))
    with generated.Client(base_url=api.base_url, raise_on_unexpected_status=True) as client:
        created = create_selfcheck.sync_detailed(client=client, body=body)
        assert created.status_code == 202, created.content
        selfcheck = created.parsed
        assert isinstance(selfcheck, models.SelfCheckRead)
        assert created.headers["location"] == selfcheck.links.self_
        deadline = time.monotonic() + 120
        while selfcheck.state.value not in ("succeeded", "failed", "cancelled"):
            assert time.monotonic() < deadline, selfcheck
            time.sleep(0.5)
            selfcheck = get_selfcheck.sync(selfcheck.id, client=client)
            assert isinstance(selfcheck, models.SelfCheckRead)
        assert selfcheck.state.value == "succeeded", selfcheck.error
        result = selfcheck.result
        assert isinstance(result, models.SelfCheckResult)
        assert isinstance(result.passed, bool)
        assert len(result.checks) == 8
        assert all(isinstance(check, models.SelfCheckItem) for check in result.checks)
        ratio = next(c for c in result.checks if c.name == "posterior_sampler uncertainty ratio")
        assert (ratio.expected_value, ratio.tolerance) == (2.0, 0.05)
        assert result.source.n_images == 2
        assert delete_selfcheck.sync_detailed(selfcheck.id, client=client).status_code == 204
