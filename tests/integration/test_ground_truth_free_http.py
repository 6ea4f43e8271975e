"""A ground-truth-free job (docs/theory.md 3.9) over real HTTP: uvicorn, Redis and a Celery
worker, all real processes. Its samples are exact posterior draws of a Gaussian source (built
by tests/support, never by the code under test), sent as 16-bit PNGs with their observations
and the degradation, no ground truth; the worker's report must be the engine's on the same
files, run in this process."""

from __future__ import annotations

import importlib
import io
import json
import sys
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import torch
from PIL import Image

from jobstore import JobRecords
from tests.integration.stack import assert_close, assert_problem, wait_for
from tests.support.gaussian_source import GaussianProblem, gaussian_problem
from workers.engine import ArtifactWriter
from workers.engine.gtfree import SampledInput, run_ground_truth_free

NOISE = {"type": "noise", "sigma": 0.05}
N_INPUTS, K, SIZE = 3, 3, 48
OPTIONS: dict[str, Any] = {"degradation": NOISE, "crop_border": 8, "bootstrap": {"resamples": 20}}


def png16(image: torch.Tensor) -> bytes:
    """A (1, H, W) image in [0, 1] as a 16-bit grey PNG (quantisation 1/65535)."""
    values = np.round(image[0].numpy() * 65535).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(values).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def problem() -> GaussianProblem:
    return gaussian_problem(NOISE, n_images=N_INPUTS, samples_per_input=K, seed=4, size=SIZE)


@pytest.fixture(scope="module")
def files(problem: GaussianProblem, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The job's images on disk: ``in{i}-s{k}.png`` samples and ``obs{i}.png``."""
    root = tmp_path_factory.mktemp("gtfree")
    for i in range(N_INPUTS):
        (root / f"obs{i}.png").write_bytes(png16(problem.observation[i]))
        for k in range(K):
            (root / f"in{i}-s{k}.png").write_bytes(png16(problem.samples[i, k]))
    return root


def submit(client: httpx.Client, root: Path, per_input: int = K) -> httpx.Response:
    parts: list[tuple[str, tuple[str, bytes, str]]] = []
    pairs = []
    for i in range(N_INPUTS):
        for k in range(per_input):
            sample = root / f"in{i}-s{k}.png"
            parts.append(("restored", (sample.name, sample.read_bytes(), "image/png")))
            parts.append(
                ("observation", (f"obs{i}.png", (root / f"obs{i}.png").read_bytes(), "image/png"))
            )
            pairs.append({"id": f"in{i}-s{k}", "group": "gauss", "input": f"in{i}", "sample": k})
    data = {"options": json.dumps(OPTIONS | {"pairs": pairs})}
    return client.post("/v1/jobs", files=parts, data=data)


def in_process_report(root: Path, job_id: str) -> dict[str, Any]:
    """``run_ground_truth_free`` in this process on the same files, links as the worker's."""
    from api_schemas import AuditOptions

    inputs = [
        SampledInput(
            "gauss", f"in{i}", [root / f"in{i}-s{k}.png" for k in range(K)], root / f"obs{i}.png"
        )
        for i in range(N_INPUTS)
    ]
    writer = ArtifactWriter(
        write=lambda name, data: None, url_for=lambda name: f"/v1/jobs/{job_id}/artifacts/{name}"
    )
    report = run_ground_truth_free(inputs, AuditOptions.model_validate(OPTIONS), writer)
    return report.model_dump(mode="json")


def test_a_ground_truth_free_job_reports_what_the_engine_computes(
    client: httpx.Client, files: Path, problem: GaussianProblem
) -> None:
    response = submit(client, files)
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    done = wait_for(client, job_id, timeout=60)
    assert done["state"] == "succeeded", done
    assert done["progress"] == {"done": N_INPUTS * K, "total": N_INPUTS * K}

    report = client.get(f"/v1/jobs/{job_id}/report")
    assert report.status_code == 200
    body = report.json()
    assert body["mode"] == "ground_truth_free"
    # The same engine on the same bytes: equal to rounding of the JSON numbers.
    assert_close(body, in_process_report(files, job_id), tol=1e-9)
    (group,) = body["groups"]
    assert group["per_input"] == K
    assert group["n_inputs"] == N_INPUTS
    assert "if_calibrated_sampler" in group["inherent_uncertainty_from_spread"]["estimator"]
    assert any("error_to_spread_ratio" in m for m in group["missing_evidence"])
    # Against the theory, from the source's exact posterior (not from the code under test):
    # a calibrated sampler's spread is N(X|Y) (10 %: 3 inputs x 3 samples of 32^2 positions
    # leave a few % of sampling noise, the windowed N(X|Y) about 1 % of bias), and under pure
    # noise its residual E|x_k - y|^2 is exactly s^2 per pixel (posterior variance plus
    # E|mean - y|^2 add up to s^2 for a Gaussian prior; 5 %, about 20k noisy values).
    spread = group["inherent_uncertainty_from_spread"]["value"]
    assert spread == pytest.approx(problem.inherent_uncertainty(8)[0], rel=0.10)
    assert group["measurement_residual"]["value"] == pytest.approx(problem.noise, rel=0.05)
    assert group["noise_variance"] == pytest.approx(problem.noise)
    maps = group["inputs"][0]["maps"]
    assert set(maps) == {"sample_std", "measurement"}
    for link in maps.values():
        artifact = client.get(link)
        assert artifact.status_code == 200
        assert artifact.content.startswith(b"\x89PNG")

    parsed = parsed_by_committed_client(client, job_id)
    assert type(parsed).__name__ == "GroundTruthFreeReport"
    assert parsed.groups[0].per_input == K

    # Views made of per-pair errors say they need ground truth.
    for view in ("report.html", "pairs.csv", f"comparison?baseline={job_id}"):
        problem_body = assert_problem(client.get(f"/v1/jobs/{job_id}/{view}"), 409)
        assert problem_body["type"].endswith("/report-needs-ground-truth"), problem_body
        assert "ground-truth-free" in problem_body["detail"]


def parsed_by_committed_client(client: httpx.Client, job_id: str) -> Any:
    """The report as examples/client (generated from the OpenAPI document) parses it: a report
    model missing from the document would fail or come back untyped."""
    sys.path.insert(0, str(Path(__file__).parents[2] / "examples" / "client"))
    try:
        package = importlib.import_module("restoration_audit_client")
        get_report = importlib.import_module("restoration_audit_client.api.jobs.get_report")
        with package.Client(base_url=str(client.base_url)) as generated:
            return get_report.sync(job_id, client=generated)
    finally:
        sys.path.pop(0)


def test_one_sample_per_input_is_refused_before_any_work(client: httpx.Client, files: Path) -> None:
    response = submit(client, files, per_input=1)
    body = assert_problem(response, 422)
    parts = {e["part"]: e["message"] for e in body["errors"]}
    assert "input 'in0' of group 'gauss' has one sample" in parts["options.pairs[0]"]


def test_a_running_ground_truth_free_job_cancels_between_inputs(
    client: httpx.Client, records: JobRecords
) -> None:
    # The audit task's cancel handling, reused: the engine polls the worker's flag between
    # inputs. Uniform noise is enough here: nothing is measured, the job only has to be long.
    gen = torch.Generator().manual_seed(0)
    parts: list[tuple[str, tuple[str, bytes, str]]] = []
    pairs = []
    inputs = 24
    for i in range(inputs):
        observation = png16(torch.rand(1, 128, 128, generator=gen))
        for k in range(2):
            sample = png16(torch.rand(1, 128, 128, generator=gen))
            parts.append(("restored", (f"in{i}-s{k}.png", sample, "image/png")))
            parts.append(("observation", (f"obs{i}.png", observation, "image/png")))
            pairs.append({"id": f"in{i}-s{k}", "group": "noise", "input": f"in{i}", "sample": k})
    data = {"options": json.dumps(OPTIONS | {"pairs": pairs})}
    job = client.post("/v1/jobs", files=parts, data=data).json()
    wait_for(client, job["id"], states=("running",), min_done=2, timeout=60)
    assert client.post(f"/v1/jobs/{job['id']}/cancel").status_code == 202
    ended = wait_for(client, job["id"], timeout=30)
    assert ended["state"] == "cancelled"
    assert ended["progress"]["done"] < 2 * inputs
    assert_problem(client.get(f"/v1/jobs/{job['id']}/report"), 409)
    record = records.require(job["id"])
    assert record.worker_id is None or record.lease_until is None
