"""Conditional perception index (docs/theory.md §3.9) against closed forms."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from api_schemas.degradation import parse_degradation_short
from workers.engine.degradation import linear_operator
from workers.estimators.bounds import min_uncertainty_multiplier
from workers.estimators.conditional import (
    conditional_perception,
    posterior_mean_deviation_moments,
)
from workers.estimators.inherent import (
    posterior_gains,
    posterior_sums,
    window_matrices,
)

VECTORS = json.loads((Path(__file__).parents[3] / "data" / "theory_vectors.json").read_text())


def _random_spd(d: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    a = torch.randn(d, d, generator=generator, dtype=torch.float64)
    return a @ a.T / d + 0.1 * torch.eye(d, dtype=torch.float64)


@pytest.mark.parametrize(
    "vector", [v for v in VECTORS if v["name"] == "conditional_family_on_theorem3"]
)
def test_the_oracle_family_traces_theorem_3(vector: dict) -> None:
    # Samples E[X|Y] + t W: spread t^2 B, and a K-sample mean off the posterior mean by
    # t^2 B / K; with exact moments the index is d log((1 + t^2) / (2 t)) and eta = 1 + t^2.
    t, d, k = vector["inputs"]["t"], 12, 4
    b = _random_spd(d, seed=1)
    value = conditional_perception(t * t * b / k, b, t * t * b, k, 1e12)
    expected = vector["expected"]
    assert value / d == pytest.approx(expected["P_per_dimension"], rel=1e-6)
    assert float(min_uncertainty_multiplier(value, d)) == pytest.approx(expected["eta"], rel=1e-6)


def test_a_calibrated_sampler_has_index_zero_whatever_k() -> None:
    b = _random_spd(8, seed=2)
    for k in (2, 4, 8):
        assert conditional_perception(b / k, b, b, k, 1e12) == pytest.approx(0.0, abs=1e-9)


def test_the_wishart_term_matches_a_finite_count() -> None:
    # The correction is the expected log-determinant bias of a sample covariance: with it, a
    # spread of n deviations equal to B in expectation gives 0 on average; here the exact B is
    # passed, so the correction alone moves the index by + bias / 2.
    from workers.estimators.uncertainty import wishart_logdet_bias

    b = _random_spd(6, seed=3)
    n = 500.0
    shifted = conditional_perception(b / 4, b, b, 4, n)
    assert shifted == pytest.approx(float(wishart_logdet_bias(6, n + 1)) / 2, rel=1e-9)


def test_deviation_moments_use_each_window_posterior_mean() -> None:
    # Dense check at every position of one phase: m = mu_c + gain' (y_w - A mu_w) from the
    # matrices of the window, against the function's second moment of x - m.
    operator = linear_operator(parse_degradation_short("downsample:2:area"))
    generator = torch.Generator().manual_seed(4)
    images = 0.5 + 0.1 * torch.randn(6, 1, 40, 40, generator=generator, dtype=torch.float64)
    p, margin = 4, 4
    window = p + 2 * margin
    matrices = window_matrices(operator, window)
    sums = posterior_sums(images, matrices, p, margin, stride=2)
    mean, gains = posterior_gains(sums, 1e-4)
    x, y = images[0], operator.apply(images[:1])[0]
    moment, count = posterior_mean_deviation_moments(
        x, y, operator, mean, gains, matrices, p, margin
    )
    total = torch.zeros(p * p, p * p, dtype=torch.float64)
    positions = 0
    for phase, (gain, matrix) in enumerate(zip(gains, matrices, strict=True)):
        a, b = divmod(phase, 2)
        for r in range(a, 40 - window + 1, 2):
            for c in range(b, 40 - window + 1, 2):
                x_w = x[0, r : r + window, c : c + window].flatten()
                m = mean[sums.central_index] + (matrix @ x_w - matrix @ mean) @ gain
                dm = x[0, r + margin : r + margin + p, c + margin : c + margin + p].flatten() - m
                total += torch.outer(dm, dm)
                positions += 1
    assert count == positions
    assert torch.allclose(moment, total, rtol=1e-9, atol=1e-12)


def test_an_undefined_block_gives_nan() -> None:
    b = _random_spd(3, seed=5)
    singular = torch.zeros(3, 3, dtype=torch.float64)
    assert math.isnan(conditional_perception(b, singular, singular, 4, 100.0))
