"""Finishing a group's statistics: the estimator library's functions over its sums.

The engine keeps sufficient statistics as pairs stream by (``accumulate``); this module turns
one group's into numbers, each a call of a ``workers.estimators`` function on them, with the
bootstrap replicates beside every point value (docs/theory.md 3.4 item 3). It knows nothing of
the report model: ``summarize`` maps these numbers to the report's sections and warnings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from api_schemas.options import AuditOptions
from workers.engine.accumulate import FinishedGroup, MomentSums
from workers.engine.degradation import Measured
from workers.estimators.bootstrap import bootstrap_mean_from_statistics
from workers.estimators.hallucination import invented_detail_ratio_from_statistics
from workers.estimators.knn_calibration import (
    CalibratedEstimate,
    calibrated_knn_entropy_power,
    calibrated_knn_renyi_divergence,
)
from workers.estimators.perception import (
    gaussian_renyi_divergence_from_statistics,
    gaussian_renyi_half_debiased,
)
from workers.estimators.uncertainty import gaussian_entropy_power_from_statistics


def finite_or_none(value: float | torch.Tensor) -> float | None:
    """Plain float for the report, or None where the value is undefined."""
    number = float(value)
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Resampled:
    """A point value (None where undefined), its bootstrap replicates (None without a
    bootstrap) and the number of observations behind it."""

    value: float | None
    resampled: torch.Tensor | None
    n: int


@dataclass(frozen=True)
class PerceptionEstimate:
    """The group's Gaussian Rényi divergence and how it was corrected."""

    value: float | None
    resampled: torch.Tensor | None
    estimator: str


def mean_over_pairs(values: torch.Tensor, weights: torch.Tensor | None) -> Resampled:
    """Group mean of per-pair values and its bootstrap replicates (docs/theory.md 3.4 item 3)."""
    if not values.numel():
        return Resampled(None, None, 0)
    mean, resampled = bootstrap_mean_from_statistics(values, weights)
    return Resampled(finite_or_none(mean), resampled, values.numel())


def invented_detail_ratios(stats: FinishedGroup) -> torch.Tensor:
    """(n,) invented-detail ratio of each pair, NaN for a flat ground truth (the library's
    rule, docs/theory.md 3.7, on each pair's statistics grid)."""
    return invented_detail_ratio_from_statistics(
        stats.values.residual_energy, stats.values.detail_energy, stats.values.values_per_image
    )


def uncertainty(sums: MomentSums) -> tuple[float, torch.Tensor | None]:
    """Pooled Gaussian entropy power of the error and its replicates (docs/theory.md 3.4)."""
    pooled = float(gaussian_entropy_power_from_statistics(sums.pooled_error)[0])
    resampled = None
    if sums.resampled_error is not None:
        resampled = gaussian_entropy_power_from_statistics(sums.resampled_error)
    return pooled, resampled


def perception(
    sums: MomentSums, order: float, dimension: int, patches: float
) -> PerceptionEstimate:
    """Pooled Gaussian Rényi divergence and its resamples, at order 1/2 bias-corrected.

    docs/theory.md 3.6: :func:`gaussian_renyi_half_debiased` subtracts the small-sample bias
    (measured by the bootstrap, or the first-order formula without one); other orders are
    reported as measured.
    """
    raw = finite_or_none(
        gaussian_renyi_divergence_from_statistics(sums.pooled_truth, sums.pooled_restored, order)[0]
    )
    resampled = None
    if sums.resampled_truth is not None and sums.resampled_restored is not None:
        resampled = gaussian_renyi_divergence_from_statistics(
            sums.resampled_truth, sums.resampled_restored, order
        )
    if order != 0.5 or raw is None:
        return PerceptionEstimate(raw, resampled, f"gaussian_renyi_order_{order:g}")
    debiased = gaussian_renyi_half_debiased(raw, resampled, dimension, patches)
    estimator = (
        "gaussian_renyi_order_0.5_bootstrap_bias_corrected"
        if debiased.method == "bootstrap"
        else "gaussian_renyi_order_0.5_first_order_bias_corrected"
    )
    return PerceptionEstimate(debiased.value, debiased.resampled, estimator)


def measured(sums: MomentSums, dimension: int, stats: FinishedGroup, rounding: float) -> Measured:
    """U and the bias-corrected D_1/2 of one patch size, for the placement (docs/theory.md 3.6)."""
    u = finite_or_none(gaussian_entropy_power_from_statistics(sums.pooled_error)[0])
    boot_u = (
        gaussian_entropy_power_from_statistics(sums.resampled_error)
        if sums.resampled_error is not None
        else None
    )
    patches = float(sums.pooled_error.count[0])
    half = perception(sums, 0.5, dimension, patches)
    return Measured(
        uncertainty=u,
        uncertainty_resampled=boot_u,
        perception=half.value,
        perception_resampled=half.resampled,
        weights=stats.weights,
        columns={index: column for column, index in enumerate(stats.indices)},
        rounding_variance=rounding,
    )


@dataclass(frozen=True)
class KnnEstimates:
    """Nearest-neighbour estimates, raw and calibrated against the matched Gaussian
    (docs/theory.md 3.10)."""

    uncertainty: CalibratedEstimate
    perception: CalibratedEstimate


def knn_estimates(stats: FinishedGroup, options: AuditOptions) -> KnnEstimates:
    """The group's Kozachenko-Leonenko and Póczos-Schneider estimates with their calibration."""
    seed = options.bootstrap.seed
    return KnnEstimates(
        uncertainty=calibrated_knn_entropy_power(stats.knn.error, options.knn_k, seed),
        perception=calibrated_knn_renyi_divergence(
            stats.knn.truth, stats.knn.restored, options.renyi_order, options.knn_k, seed
        ),
    )
