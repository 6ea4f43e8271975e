"""Bootstrap over pairs (docs/theory.md §3.4 item 3) against numpy and binomial closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from workers.estimators.bootstrap import (
    bootstrap_mean_interval,
    bootstrap_weights,
    percentile_interval,
)
from workers.estimators.errors import EstimatorInputError


def test_weights_are_counts_summing_to_n() -> None:
    weights = bootstrap_weights(7, 50, seed=3)
    assert weights.shape == (50, 7)
    assert weights.dtype == torch.float64
    assert weights.device == torch.device("cpu")
    torch.testing.assert_close(weights.sum(dim=1), torch.full((50,), 7.0, dtype=torch.float64))
    assert bool((weights == weights.round()).all())
    assert bool((weights >= 0).all())


def test_weights_follow_binomial_n_one_over_n() -> None:
    n, resamples = 10, 20_000
    counts = bootstrap_weights(n, resamples, seed=11).numpy()
    # Mean 1 and variance 1 - 1/n per cell; standard errors over 200k cells are ~0.002 and ~0.003.
    assert counts.mean() == pytest.approx(1.0, abs=1e-12)  # rows sum to n exactly
    assert counts.var() == pytest.approx(1.0 - 1.0 / n, abs=0.015)
    # Frequencies of each count value against Binomial(n, 1/n) probabilities.
    values, freq = np.unique(counts, return_counts=True)
    pmf = stats.binom.pmf(values, n, 1.0 / n)
    np.testing.assert_allclose(freq / counts.size, pmf, atol=0.005)


def test_weights_reproducible_by_seed_and_device_independent() -> None:
    first = bootstrap_weights(12, 30, seed=42)
    again = bootstrap_weights(12, 30, seed=42, device=torch.device("cpu"))
    other = bootstrap_weights(12, 30, seed=43)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    # Drawn on the CPU, then moved to the requested device.
    moved = bootstrap_weights(12, 30, seed=42, device="meta")
    assert moved.device.type == "meta"
    assert moved.shape == first.shape


def test_weights_with_one_pair_and_no_resamples() -> None:
    assert bootstrap_weights(1, 4, seed=0).tolist() == [[1.0]] * 4
    assert bootstrap_weights(5, 0, seed=0).shape == (0, 5)


@pytest.mark.parametrize("level", [0.5, 0.8, 0.9, 0.95, 0.99])
def test_percentile_matches_numpy_linear(level: float) -> None:
    values = np.random.default_rng(0).standard_normal(201)
    low, high = percentile_interval(torch.from_numpy(values), level)
    expected = np.percentile(values, [50 * (1 - level), 50 * (1 + level)], method="linear")
    np.testing.assert_allclose([low, high], expected, rtol=1e-12, atol=1e-14)


def test_percentile_skips_non_finite_replicates() -> None:
    values = np.random.default_rng(1).random(100)
    values[:30] = np.nan
    values[30:40] = np.inf
    low, high = percentile_interval(torch.from_numpy(values), 0.9)
    expected = np.percentile(values[40:], [5, 95])
    np.testing.assert_allclose([low, high], expected, rtol=1e-12)


def test_percentile_undefined_when_fewer_than_half_finite() -> None:
    values = torch.tensor([0.1, 0.2, math.nan, math.inf, -math.inf], dtype=torch.float64)
    low, high = percentile_interval(values, 0.95)
    assert math.isnan(low)
    assert math.isnan(high)
    empty = percentile_interval(torch.zeros(0, dtype=torch.float64), 0.95)
    assert all(math.isnan(v) for v in empty)
    # Exactly half finite is still defined.
    half = percentile_interval(torch.tensor([1.0, 3.0, math.nan, math.nan]), 0.5)
    assert half == (1.5, 2.5)


def test_mean_interval_matches_numpy_weighted_means() -> None:
    rng = np.random.default_rng(2)
    per_pair = rng.random(9)
    weights = bootstrap_weights(9, 300, seed=5)
    means = weights.numpy() @ per_pair / 9.0
    expected = np.percentile(means, [2.5, 97.5])
    got = bootstrap_mean_interval(torch.from_numpy(per_pair), weights, 0.95)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_mean_interval_skips_resamples_that_draw_undefined_pairs() -> None:
    per_pair = torch.tensor([0.2, math.nan, 0.4, 0.6], dtype=torch.float64)
    weights = bootstrap_weights(4, 400, seed=9)
    drawn_bad = weights[:, 1] > 0
    clean = weights[~drawn_bad]
    values = torch.nan_to_num(per_pair)
    means = (clean @ values / 4.0).numpy()
    # (3/4)^4 = 32 % of resamples avoid the undefined pair: fewer than half, so undefined.
    assert math.isnan(bootstrap_mean_interval(per_pair, weights, 0.95)[0])
    # Over the clean resamples alone (all finite) the interval is that of their means.
    np.testing.assert_allclose(
        bootstrap_mean_interval(per_pair, clean, 0.9), np.percentile(means, [5, 95]), rtol=1e-12
    )


def test_mean_interval_covers_true_mean_at_nominal_rate() -> None:
    # Percentile bootstrap of the mean of 40 normal values: coverage is ~0.93 for 95 %; with 200
    # trials its standard error is 0.017, so [0.88, 0.99] is about three standard errors wide.
    generator = np.random.default_rng(123)
    trials, n, covered = 200, 40, 0
    for trial in range(trials):
        sample = torch.from_numpy(generator.normal(5.0, 2.0, size=n))
        low, high = bootstrap_mean_interval(sample, bootstrap_weights(n, 200, seed=trial), 0.95)
        covered += low <= 5.0 <= high
    assert 0.88 <= covered / trials <= 0.99


def test_mean_interval_of_one_pair_collapses_to_its_value() -> None:
    value = torch.tensor([0.37], dtype=torch.float64)
    low, high = bootstrap_mean_interval(value, bootstrap_weights(1, 200, seed=0), 0.95)
    assert low == pytest.approx(0.37, abs=1e-15)
    assert high == pytest.approx(0.37, abs=1e-15)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0, "resamples": 3, "seed": 0}, "expected n to be an integer >= 1"),
        ({"n": 2.0, "resamples": 3, "seed": 0}, "expected n to be an integer >= 1"),
        ({"n": 2, "resamples": -1, "seed": 0}, "expected resamples to be an integer >= 0"),
        ({"n": 2, "resamples": 3, "seed": -5}, "expected seed to be an integer >= 0"),
        ({"n": 2, "resamples": 3, "seed": True}, "expected seed to be an integer >= 0"),
    ],
)
def test_bad_weight_arguments_raise(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(EstimatorInputError, match=message):
        bootstrap_weights(**kwargs)  # type: ignore[arg-type]


def test_bad_percentile_arguments_raise() -> None:
    with pytest.raises(EstimatorInputError, match=r"expected values of shape \(R,\)"):
        percentile_interval(torch.zeros(2, 2), 0.9)
    with pytest.raises(EstimatorInputError, match=r"expected values of shape \(R,\)"):
        percentile_interval([1.0, 2.0], 0.9)  # type: ignore[arg-type]
    with pytest.raises(EstimatorInputError, match="expected a floating dtype for values"):
        percentile_interval(torch.arange(4), 0.9)
    with pytest.raises(EstimatorInputError, match=r"expected level in \(0, 1\)"):
        percentile_interval(torch.zeros(4), 1.0)


def test_bad_mean_interval_arguments_raise() -> None:
    values = torch.zeros(3, dtype=torch.float64)
    weights = bootstrap_weights(3, 5, seed=0)
    with pytest.raises(EstimatorInputError, match=r"expected per_pair of shape \(n,\)"):
        bootstrap_mean_interval(values[None], weights, 0.9)
    with pytest.raises(EstimatorInputError, match=r"expected weights of shape \(R, n\)"):
        bootstrap_mean_interval(values, weights[0], 0.9)
    with pytest.raises(EstimatorInputError, match="expected a floating dtype for per_pair"):
        bootstrap_mean_interval(torch.zeros(3, dtype=torch.int64), weights, 0.9)
    with pytest.raises(EstimatorInputError, match="expected weights with 4 columns"):
        bootstrap_mean_interval(torch.zeros(4), weights, 0.9)
    with pytest.raises(EstimatorInputError, match="expected finite non-negative weights"):
        bootstrap_mean_interval(values, -weights, 0.9)
    with pytest.raises(EstimatorInputError, match="positive sum"):
        bootstrap_mean_interval(values, torch.zeros(2, 3, dtype=torch.float64), 0.9)
    with pytest.raises(EstimatorInputError, match=r"expected level in \(0, 1\)"):
        bootstrap_mean_interval(values, weights, 0.0)
