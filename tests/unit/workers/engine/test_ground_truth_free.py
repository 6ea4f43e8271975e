"""The ground-truth-free audit through the engine (docs/theory.md 3.9).

On an exact Gaussian source (built by tests/support, never by the code under test) the
theory fixes what a ground-truth-free audit can measure: a calibrated posterior sampler's
spread is N(X|Y) (the Gaussian bound of the posterior), samples c times too narrow have
c^2 of it (the entropy power scales by c^2), the truth repeated as samples has no spread and
a measurement residual equal to the noise variance s^2 (3.7).
"""

from __future__ import annotations

import pytest
import torch

from api_schemas import AuditOptions
from api_schemas.report import GroundTruthFreeGroup
from tests.support.gaussian_source import GaussianProblem, gaussian_problem
from workers.engine import ArtifactWriter
from workers.engine.gtfree import SampledInput, run_ground_truth_free
from workers.errors import AuditCancelledError, AuditInputError

NOISE = {"type": "noise", "sigma": 0.05}
BICUBIC_4X = {"type": "downsample", "factor": 4, "kernel": "bicubic"}


def _inputs(problem: GaussianProblem) -> list[SampledInput]:
    mean = problem.posterior_mean
    k = problem.samples.shape[1]
    inputs = []
    for group, scale in (("sampler", 1.0), ("half_spread", 0.5)):
        for i in range(mean.shape[0]):
            draws = [
                (mean[i] + scale * (problem.samples[i, j] - mean[i])).float() for j in range(k)
            ]
            inputs.append(SampledInput(group, f"img{i}", draws, problem.observation[i].float()))
    for i in range(mean.shape[0]):
        truth = problem.truth[i].float()
        inputs.append(
            SampledInput(
                "truth_repeated", f"img{i}", [truth, truth], problem.observation[i].float()
            )
        )
    return inputs


@pytest.fixture(scope="module", params=[(NOISE, 4), (BICUBIC_4X, 8)], ids=["noise K=4", "4x K=8"])
def audited(
    request: pytest.FixtureRequest,
) -> tuple[GaussianProblem, dict[str, GroundTruthFreeGroup]]:
    degradation, k = request.param
    problem = gaussian_problem(degradation, n_images=8, samples_per_input=k, seed=4)
    options = AuditOptions(degradation=degradation, crop_border=16, bootstrap={"resamples": 50})
    written: dict[str, bytes] = {}

    def write(name: str, data: bytes) -> None:
        written[name] = data

    artifacts = ArtifactWriter(write=write, url_for=lambda name: name)
    report = run_ground_truth_free(_inputs(problem), options, artifacts)
    maps = {g.name: g for g in report.groups}["sampler"].inputs[0].maps
    assert set(maps) == {"sample_std", "measurement"}
    for link in maps.values():
        assert written[link].startswith(b"\x89PNG")
    return problem, {g.name: g for g in report.groups}


def test_a_calibrated_sampler_s_spread_estimates_the_inherent_uncertainty(
    audited: tuple[GaussianProblem, dict[str, GroundTruthFreeGroup]],
) -> None:
    problem, groups = audited
    sampler = groups["sampler"]
    exact = problem.inherent_uncertainty(8)[0]
    # 5 %: the windowed N(X|Y) overstates the whole-image posterior by about 1 % (3.6), and
    # 8 inputs of 96^2 positions leave about 2 % of sampling noise.
    assert sampler.inherent_uncertainty_from_spread.value == pytest.approx(exact, rel=0.05)
    assert "if_calibrated_sampler" in sampler.inherent_uncertainty_from_spread.estimator
    low, high = sampler.spread.ci_low, sampler.spread.ci_high
    value = sampler.spread.value
    assert low is not None
    assert high is not None
    assert value is not None
    assert low <= value <= high
    assert sampler.per_input == problem.samples.shape[1]
    assert sampler.n_inputs == 8
    assert sampler.dimension == 64
    assert all(row.mean_sample_std > 0 for row in sampler.inputs)


def test_samples_at_half_the_spread_show_a_quarter_of_it(
    audited: tuple[GaussianProblem, dict[str, GroundTruthFreeGroup]],
) -> None:
    # Without ground truth an over-confident sampler cannot be told apart: its spread is
    # simply c^2 N(X|Y), which is why the bound holds only for a calibrated sampler.
    problem, groups = audited
    half = groups["half_spread"].spread.value
    assert half == pytest.approx(0.25 * problem.inherent_uncertainty(8)[0], rel=0.05)


def test_the_truth_repeated_has_no_spread_and_the_noise_as_residual(
    audited: tuple[GaussianProblem, dict[str, GroundTruthFreeGroup]],
) -> None:
    problem, groups = audited
    truth = groups["truth_repeated"]
    assert truth.spread.value == 0.0
    assert truth.measurement_residual is not None
    # E |H x - y|^2 = s^2 per observed value (docs/theory.md 3.7); 8 images of >= 32^2
    # observations pin it to about 1 %.
    assert truth.measurement_residual.value == pytest.approx(problem.noise, rel=0.03)
    assert truth.noise_variance == pytest.approx(problem.noise)


def test_the_verdict_names_the_evidence_missing_without_ground_truth(
    audited: tuple[GaussianProblem, dict[str, GroundTruthFreeGroup]],
) -> None:
    missing = " ".join(audited[1]["sampler"].missing_evidence)
    for name in ("error_to_spread_ratio", "uncertainty_ratio", "interval_coverage"):
        assert name in missing


def test_an_input_with_one_sample_is_refused_naming_it() -> None:
    image = torch.full((1, 32, 32), 0.5)
    with pytest.raises(AuditInputError, match="input 'b' of group 'g' has 1 sample") as error:
        run_ground_truth_free(
            [SampledInput("g", "a", [image, image]), SampledInput("g", "b", [image])],
            AuditOptions(),
        )
    assert error.value.part == "g/b"


def _noisy_inputs(n: int) -> list[SampledInput]:
    gen = torch.Generator().manual_seed(0)
    return [
        SampledInput("g", f"in{i}", [torch.rand(1, 32, 32, generator=gen) for _ in range(3)])
        for i in range(n)
    ]


def test_progress_counts_samples_after_each_input() -> None:
    seen: list[tuple[int, int]] = []
    run_ground_truth_free(
        _noisy_inputs(3), AuditOptions(), progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(3, 9), (6, 9), (9, 9)]


def test_a_cancel_stops_between_inputs() -> None:
    # The worker's should_cancel (lease lost or cancel requested) is polled before each input
    # but the first, as run_audit polls it between batches.
    calls: list[int] = []

    def should_cancel() -> bool:
        calls.append(1)
        return len(calls) > 1  # not at the start; at the first check between inputs

    done: list[int] = []
    with pytest.raises(AuditCancelledError, match="after 3 of 9 samples"):
        run_ground_truth_free(
            _noisy_inputs(3),
            AuditOptions(),
            progress=lambda d, t: done.append(d),
            should_cancel=should_cancel,
        )
    assert done == [3]


def test_maps_false_renders_no_map() -> None:
    written: list[str] = []
    artifacts = ArtifactWriter(write=lambda name, data: written.append(name), url_for=str)
    report = run_ground_truth_free(_noisy_inputs(2), AuditOptions(maps=False), artifacts)
    assert written == []
    assert all(row.maps == {} for row in report.groups[0].inputs)
