"""Submitting a job without ground truth (docs/theory.md 3.9): what is accepted and stored,
and each combination the ground-truth-free audit cannot run, refused with a 422 naming it."""

from __future__ import annotations

import json

import pytest

from jobstore import PayloadStore
from tests.unit.service.conftest import png
from tests.unit.service.test_submission import errors_of

NOISE = {"type": "noise", "sigma": 0.05}
SIZE = (32, 32)


def samples_batch(
    inputs: int = 2,
    per_input: int = 2,
    *,
    observations: bool = True,
    ground_truths: int = 0,
    **options: object,
) -> dict[str, object]:
    """``client.post`` arguments: ``per_input`` restored samples of each input, each with its
    input's observation; ``options`` default to the noise degradation and the sample names."""
    files = []
    pairs = []
    for i in range(inputs):
        for k in range(per_input):
            files.append(("restored", (f"in{i}-s{k}.png", png(SIZE, seed=10 * i + k), "image/png")))
            if observations:
                files.append(("observation", (f"obs{i}.png", png(SIZE, seed=100 + i), "image/png")))
            pairs.append({"id": f"in{i}-s{k}", "group": "sd", "input": f"in{i}", "sample": k})
    files += [
        ("ground_truth", (f"gt{i}.png", png(SIZE), "image/png")) for i in range(ground_truths)
    ]
    data = {"degradation": NOISE, "pairs": pairs} | options
    return {"files": files, "data": {"options": json.dumps(data)}}


def test_samples_with_observations_and_a_degradation_are_accepted(client, settings) -> None:
    response = client.post("/v1/jobs", **samples_batch(1, 3))
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["progress"] == {"done": 0, "total": 3}  # one per sample
    manifest = PayloadStore(settings.data_dir).read_manifest(job["id"])
    assert manifest.ground_truth_free
    assert [(p.input, p.sample) for p in manifest.pairs] == [("in0", 0), ("in0", 1), ("in0", 2)]
    assert all(p.ground_truth is None and p.observation for p in manifest.pairs)


@pytest.mark.parametrize(
    ("kwargs", "part", "words"),
    [
        ({"degradation": None}, "options.degradation", "declare the degradation"),
        ({"observations": False}, "observation", "expected 4 parts, one per restored part"),
        ({"per_input": 1}, "options.pairs[0]", "has one sample"),
        ({"pairs": None}, "options.pairs", "name each pair's input and sample"),
        ({"ground_truths": 1}, "restored", "mixes no pairs with and without ground truth"),
        ({"inputs": 3}, "restored", "at most 4 pairs, got 6"),
    ],
    ids=["no degradation", "no observation", "one sample", "no sample names", "mixed", "many"],
)
def test_what_the_mode_cannot_run_is_a_422_naming_the_part(client, kwargs, part, words) -> None:
    response = client.post("/v1/jobs", **samples_batch(**kwargs))
    assert response.status_code == 422, response.text
    errors = errors_of(response)
    assert words in errors[part], errors


def test_restored_parts_alone_name_both_ways_out(client) -> None:
    errors = errors_of(client.post("/v1/jobs", **samples_batch(1, 2, observations=False)))
    assert "or none for a ground-truth-free audit" in errors["ground_truth"]
    assert "ground-truth-free audit" in errors["observation"]


def test_samples_of_one_input_must_share_their_observation(client) -> None:
    kwargs = samples_batch(1, 2)
    files = kwargs["files"]
    files[3] = ("observation", ("other.png", png(SIZE, seed=7), "image/png"))
    response = client.post("/v1/jobs", **kwargs)
    assert response.status_code == 422
    message = errors_of(response)["observation[1]"]
    assert "differs from observation[0]" in message
    assert message.startswith("'other.png'")  # the uploaded file is named too


def test_an_observation_of_the_wrong_size_names_the_degradation(client) -> None:
    kwargs = samples_batch(1, 2, degradation={"type": "downsample", "factor": 2})
    response = client.post("/v1/jobs", **kwargs)
    assert response.status_code == 422
    assert "the degradation makes 16x16 of restored[0]" in errors_of(response)["observation[0]"]
