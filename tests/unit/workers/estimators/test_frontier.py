"""The Gaussian-oracle frontier (docs/theory.md §3.6) against the reference vectors and
against a direct evaluation of the Gaussian Rényi divergence."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from workers.estimators.errors import EstimatorInputError
from workers.estimators.frontier import (
    frontier_eigenvalues,
    frontier_min_perception,
    frontier_perception,
    frontier_points,
    frontier_ratio,
)
from workers.estimators.perception import gaussian_renyi_divergence, gaussian_renyi_half_bias

VECTORS = json.loads((Path(__file__).parents[3] / "data" / "theory_vectors.json").read_text())


def _named(name: str) -> list[dict]:
    found = [v for v in VECTORS if v["name"] == name]
    assert found, f"no {name} vectors in tests/data/theory_vectors.json"
    return found


def _blocks(vector: dict) -> tuple[torch.Tensor, torch.Tensor]:
    inputs = vector["inputs"]
    return (
        torch.tensor(inputs["S_x"], dtype=torch.float64),
        torch.tensor(inputs["B_pooled"], dtype=torch.float64),
    )


@pytest.mark.parametrize("vector", _named("oracle_frontier_point"))
def test_points_match_the_reference(vector: dict) -> None:
    s, b = _blocks(vector)
    t = vector["inputs"]["t"]
    assert float(frontier_perception(s, b, t)) == pytest.approx(
        vector["expected"]["perception"], rel=1e-9, abs=1e-15
    )
    # And the closed form equals the Gaussian D_1/2 of the output law, computed directly.
    zero = torch.zeros(3, dtype=torch.float64)
    direct = gaussian_renyi_divergence(zero, s, zero, s - (1 - t * t) * b, 0.5)
    assert float(frontier_perception(s, b, t)) == pytest.approx(float(direct), abs=1e-12)


@pytest.mark.parametrize("vector", _named("oracle_frontier_ratio"))
def test_ratios_match_the_reference(vector: dict) -> None:
    s, b = _blocks(vector)
    assert float(frontier_ratio(s, b, vector["inputs"]["P"])) == pytest.approx(
        vector["expected"], rel=1e-8
    )


@pytest.mark.parametrize("vector", _named("gauss_renyi_half_small_sample_bias"))
def test_small_sample_bias_matches_the_reference(vector: dict) -> None:
    inputs = vector["inputs"]
    value = gaussian_renyi_half_bias(inputs["d"], inputs["n1"], inputs["n2"])
    assert value == pytest.approx(vector["expected"], rel=1e-9)


def _random_pair(seed: int, d: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    a = torch.randn(d, d, generator=generator, dtype=torch.float64)
    s = a @ a.T + 0.5 * torch.eye(d, dtype=torch.float64)
    # A posterior block between 0 and S: S^(1/2) diag(u) S^(1/2), u in (0, 1).
    u = torch.rand(d, generator=generator, dtype=torch.float64) * 0.9 + 0.05
    root = torch.linalg.cholesky(s)
    return s, root @ torch.diag(u) @ root.T


@given(
    seed=st.integers(0, 10_000),
    ratio=st.floats(0.5, 2.5),
    perception=st.floats(0.0, 3.0),
)
def test_min_perception_and_frontier_describe_one_curve(
    seed: int, ratio: float, perception: float
) -> None:
    # r >= r_oracle(P) exactly when P >= P_min(r) (P_min undefined, so false, under ratio 1).
    s, b = _random_pair(seed)
    floor = float(frontier_ratio(s, b, perception))
    p_min = float(frontier_min_perception(s, b, ratio))
    if abs(ratio - floor) < 1e-7 or abs(perception - p_min) < 1e-7:
        return  # on the curve itself, within the bisection's resolution
    assert (ratio >= floor) == (perception >= p_min)


def test_points_run_from_the_sampler_to_the_posterior_mean() -> None:
    s, b = _random_pair(7)
    points = frontier_points(s, b, 9)
    assert points[0] == (0.0, 2.0)
    assert points[-1][1] == 1.0
    assert points[-1][0] == pytest.approx(float(frontier_perception(s, b, 0.0)))
    perceptions = [p for p, _ in points]
    assert perceptions == sorted(perceptions)


def test_bad_blocks_and_t_raise() -> None:
    s, b = _random_pair(8)
    with pytest.raises(EstimatorInputError, match="t in"):
        frontier_perception(s, b, 1.5)
    with pytest.raises(EstimatorInputError, match="equal d"):
        frontier_ratio(s, b[:2, :2], 0.1)


def _prior_and_posterior(seed: int, d: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    a = torch.randn(d, d, generator=gen, dtype=torch.float64)
    prior = a @ a.T + d * torch.eye(d, dtype=torch.float64)
    return prior, prior / 3  # a posterior inside the prior: eigenvalues 1/3


def test_a_singular_or_nan_prior_costs_its_own_row_not_the_batch() -> None:
    # A bootstrap resample can refit a prior that is not positive definite, or NaN; the
    # batched eigen-solve used to raise for the whole batch (LinAlgError) and fail the audit.
    prior, posterior = _prior_and_posterior(3)
    singular = torch.zeros_like(prior)
    nan_prior = torch.full_like(prior, math.nan)
    got = frontier_eigenvalues(
        torch.stack([prior, singular, nan_prior]), torch.stack([posterior] * 3)
    )
    torch.testing.assert_close(got[0], torch.full((4,), 1 / 3, dtype=torch.float64))
    assert torch.isnan(got[1:]).all()


def test_rows_are_solved_one_by_one_when_the_batched_solve_gives_up(monkeypatch) -> None:
    # LAPACK's non-convergence on a finite, ill-conditioned matrix cannot be produced on
    # demand, so the batched call is made to fail (a fault injected, as the rules allow):
    # every row is then solved on its own, the one that still fails is NaN.
    prior, posterior = _prior_and_posterior(4)
    batch_prior = torch.stack([prior, prior * 2])
    batch_posterior = torch.stack([posterior, posterior * 2])
    want = frontier_eigenvalues(batch_prior, batch_posterior)
    real = torch.linalg.eigvalsh
    calls = []

    def flaky(matrix: torch.Tensor) -> torch.Tensor:
        calls.append(matrix.shape)
        if matrix.dim() == 3 or len(calls) == 3:  # the batch, then the second row alone
            raise torch.linalg.LinAlgError("failed to converge (injected)")
        return real(matrix)

    monkeypatch.setattr(torch.linalg, "eigvalsh", flaky)
    got = frontier_eigenvalues(batch_prior, batch_posterior)
    assert calls == [(2, 4, 4), (4, 4), (4, 4)]
    torch.testing.assert_close(got[0], want[0])
    assert torch.isnan(got[1]).all()
