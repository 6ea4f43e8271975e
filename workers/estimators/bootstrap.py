"""Bootstrap over pairs: resampling weights and percentile intervals.

Implements docs/theory.md §3.4 item 3. Pairs, not patches, are resampled (patches of one image are
correlated, and resampling them would understate the spread). A resample is a row of
multinomial counts ``w`` (how often each pair was drawn); any per-pair sufficient statistic is
then re-pooled with these weights, e.g. ``PatchMoments.weighted(w)`` or a weighted mean.

The counts come from a seeded ``torch.Generator`` on the CPU and are moved to the requested
device afterwards, so one seed gives the same resamples on every device.
"""

from __future__ import annotations

import math

import torch

from workers.estimators._checks import check_open_unit
from workers.estimators.errors import EstimatorInputError


def _check_count(value: int, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise EstimatorInputError(f"expected {name} to be an integer >= {minimum}, got {value!r}")


def bootstrap_weights(
    n: int, resamples: int, seed: int, device: torch.device | str | None = None
) -> torch.Tensor:
    """Multinomial resampling counts of ``n`` pairs, one row per bootstrap resample.

    Implements docs/theory.md §3.4 item 3.

    Row ``r`` draws ``n`` indices uniformly with replacement and counts them:
    ``w[r, i] = #{j : idx[r, j] = i}``, so ``sum_i w[r, i] = n`` and each
    ``w[r, i] ~ Binomial(n, 1 / n)`` (mean 1, variance ``1 - 1 / n``).

    Args:
        n: Number of pairs, >= 1.
        resamples: Number of resamples ``R``, >= 0 (0 gives an empty ``(0, n)`` tensor).
        seed: Seed of the CPU ``torch.Generator``, >= 0.
        device: Device of the result; the draw itself always happens on the CPU.

    Returns:
        float64 tensor of shape ``(R, n)`` with non-negative integer values.

    Raises:
        EstimatorInputError: If ``n``, ``resamples`` or ``seed`` is not an integer in range.

    Example:
        >>> w = bootstrap_weights(4, 3, seed=0)
        >>> w.shape, w.dtype, w.sum(dim=1).tolist()
        (torch.Size([3, 4]), torch.float64, [4.0, 4.0, 4.0])
        >>> bootstrap_weights(1, 2, seed=5).tolist()
        [[1.0], [1.0]]
    """
    _check_count(n, "n", 1)
    _check_count(resamples, "resamples", 0)
    _check_count(seed, "seed", 0)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    indices = torch.randint(0, n, (resamples, n), generator=generator)
    counts = torch.zeros((resamples, n), dtype=torch.float64)
    counts.scatter_add_(1, indices, torch.ones((resamples, n), dtype=torch.float64))
    return counts.to(device)


def percentile_interval(values: torch.Tensor, level: float) -> tuple[float, float]:
    """Equal-tailed percentile interval of bootstrap replicates, skipping non-finite ones.

    Implements docs/theory.md §3.4 item 3.

    ``(q((1 - level) / 2), q((1 + level) / 2))`` with ``q`` the quantile with linear
    interpolation (numpy's default ``method="linear"``) over the finite replicates. A resample
    can be non-finite (for instance a resample of flat images only); when fewer than half of the
    ``R`` replicates are finite, or ``R = 0``, the interval is undefined and ``(nan, nan)`` is
    returned (the engine reports null with a warning).

    Args:
        values: Replicates, tensor of shape ``(R,)``, any floating dtype, may hold NaN / inf.
        level: Confidence level in (0, 1), e.g. 0.95.

    Returns:
        ``(low, high)`` as Python floats, ``low <= high``, or ``(nan, nan)``.

    Raises:
        EstimatorInputError: If ``values`` is not a one-dimensional floating tensor or ``level``
            is not in (0, 1).

    Example:
        >>> percentile_interval(torch.arange(5.0), 0.5)
        (1.0, 3.0)
        >>> percentile_interval(torch.tensor([1.0, float("nan"), float("nan")]), 0.9)
        (nan, nan)
    """
    if not isinstance(values, torch.Tensor) or values.ndim != 1:
        shape = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
        raise EstimatorInputError(f"expected values of shape (R,), got {shape}")
    if not values.is_floating_point():
        raise EstimatorInputError(f"expected a floating dtype for values, got {values.dtype}")
    check_open_unit(level, "level")
    finite = values[torch.isfinite(values)].to(torch.float64)
    if finite.numel() == 0 or 2 * finite.numel() < values.numel():
        return math.nan, math.nan
    tail = (1.0 - level) / 2.0
    probabilities = torch.tensor([tail, 1.0 - tail], dtype=torch.float64, device=finite.device)
    low, high = torch.quantile(finite, probabilities).tolist()
    return float(low), float(high)


def bootstrap_mean_from_statistics(
    per_pair: torch.Tensor, weights: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Mean of per-pair values and its bootstrap replicates, from the resampling counts.

    Implements docs/theory.md §3.4 item 3 for a group mean (distortion, invented-detail ratio):
    the estimate is ``m = sum_i v_i / n`` and replicate ``r`` is ``m_r = sum_i w[r, i] v_i / n``,
    with ``n`` the number of values. For the counts of :func:`bootstrap_weights` (rows summing
    to ``n``) that is the mean of the pairs drawn. A non-finite value makes the mean and every
    replicate non-finite (``0 * inf`` is NaN): the engine reports such a mean as null, and
    :func:`bootstrap_mean_interval` is the variant that skips only the resamples drawing it.

    Args:
        per_pair: Values ``v`` of shape ``(n,)``, floating, ``n >= 1``.
        weights: Counts ``w`` of shape ``(R, n)``, in ``per_pair``'s dtype and device, or
            ``None`` for no bootstrap.

    Returns:
        ``(m, replicates)``: a 0-d tensor and an ``(R,)`` tensor (``None`` without weights).

    Raises:
        EstimatorInputError: If ``per_pair`` is not a non-empty ``(n,)`` floating tensor or
            ``weights`` is not ``(R, n)``.

    Example:
        >>> v = torch.tensor([1.0, 2.0, 6.0], dtype=torch.float64)
        >>> w = torch.tensor([[3.0, 0.0, 0.0], [0.0, 1.0, 2.0]], dtype=torch.float64)
        >>> mean, replicates = bootstrap_mean_from_statistics(v, w)
        >>> float(mean), replicates.tolist()
        (3.0, [1.0, 4.666666666666667])
    """
    if not isinstance(per_pair, torch.Tensor) or per_pair.ndim != 1 or per_pair.numel() == 0:
        got = tuple(per_pair.shape) if isinstance(per_pair, torch.Tensor) else type(per_pair)
        raise EstimatorInputError(f"expected per_pair of shape (n,) with n >= 1, got {got}")
    if not per_pair.is_floating_point():
        raise EstimatorInputError(f"expected a floating dtype for per_pair, got {per_pair.dtype}")
    n = per_pair.numel()
    if weights is not None and (weights.ndim != 2 or weights.shape[1] != n):
        raise EstimatorInputError(f"expected weights of shape (R, {n}), got {tuple(weights.shape)}")
    replicates = None if weights is None else (weights @ per_pair) / n
    return per_pair.mean(), replicates


def bootstrap_mean_interval(
    per_pair: torch.Tensor, weights: torch.Tensor, level: float
) -> tuple[float, float]:
    """Percentile interval of the mean of per-pair values under bootstrap resampling.

    Implements docs/theory.md §3.4 item 3 (used for group means such as the invented-detail ratio
    of §3.7).

    Replicate ``r`` is the weighted mean ``m_r = sum_i w[r, i] v_i / sum_i w[r, i]``; the
    interval is :func:`percentile_interval` of the ``m_r``. A replicate that draws a non-finite
    ``v_i`` (``w[r, i] > 0``) is itself NaN, so it is skipped, and a pair with a non-finite value
    that a resample does not draw does not affect it.

    Args:
        per_pair: Values ``v`` of shape ``(n,)``, floating, may hold NaN / inf.
        weights: Counts ``w`` of shape ``(R, n)`` from :func:`bootstrap_weights`, >= 0 with
            positive row sums, on the same device as ``per_pair``.
        level: Confidence level in (0, 1).

    Returns:
        ``(low, high)`` as Python floats, or ``(nan, nan)`` (see :func:`percentile_interval`).

    Raises:
        EstimatorInputError: If the shapes do not match, a dtype is not floating, a weight is
            negative or not finite, a row of weights sums to 0, or ``level`` is not in (0, 1).

    Example:
        >>> v = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
        >>> w = torch.tensor([[3.0, 0.0, 0.0], [0.0, 0.0, 3.0], [1.0, 1.0, 1.0]])
        >>> bootstrap_mean_interval(v, w, 0.5)
        (1.5, 2.5)
    """
    for tensor, name, ndim in ((per_pair, "per_pair", 1), (weights, "weights", 2)):
        if not isinstance(tensor, torch.Tensor) or tensor.ndim != ndim:
            got = tuple(tensor.shape) if isinstance(tensor, torch.Tensor) else type(tensor)
            expected = "(n,)" if ndim == 1 else "(R, n)"
            raise EstimatorInputError(f"expected {name} of shape {expected}, got {got}")
        if not tensor.is_floating_point():
            raise EstimatorInputError(f"expected a floating dtype for {name}, got {tensor.dtype}")
    if weights.shape[1] != per_pair.shape[0]:
        raise EstimatorInputError(
            f"expected weights with {per_pair.shape[0]} columns (one per pair), "
            f"got shape {tuple(weights.shape)}"
        )
    if not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()):
        raise EstimatorInputError(
            "expected finite non-negative weights, got a negative or non-finite entry"
        )
    totals = weights.to(torch.float64).sum(dim=1)
    if bool((totals <= 0).any()):
        raise EstimatorInputError("expected every row of weights to have a positive sum, got 0")
    values = per_pair.to(device=weights.device, dtype=torch.float64)
    finite = torch.isfinite(values)
    weights64 = weights.to(torch.float64)
    means = weights64 @ torch.where(finite, values, torch.zeros_like(values)) / totals
    draws_bad = (weights64[:, ~finite] > 0).any(dim=1)
    means = torch.where(draws_bad, torch.full_like(means, math.nan), means)
    return percentile_interval(means, level)
