"""From per-pair statistics to the report's group and pair sections (REPORT.md).

Group estimates pool the per-pair patch moments (THEORY.md 3.4, 3.5) and bootstrap over pairs
by reweighting those moments, so one resample costs a weighted sum and a log-determinant, never
a pass over the images.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from api_schemas.options import AuditOptions
from api_schemas.report import (
    Estimate,
    GroupDistortion,
    GroupHallucination,
    GroupPerception,
    GroupReport,
    GroupUncertainty,
    PairConsistency,
    PairDistortion,
    PairHallucination,
    PairPerception,
    PairReport,
    PairUncertainty,
    Verdict,
)
from workers.engine.accumulate import FinishedGroup
from workers.engine.degradation import KnownDegradation, PriorImages, place_on_bound
from workers.engine.gaussian import perception_of, uncertainty_of
from workers.estimators.bootstrap import bootstrap_weights, percentile_interval
from workers.estimators.bounds import min_uncertainty_multiplier
from workers.estimators.perception import knn_renyi_divergence
from workers.estimators.risk import risk_verdict
from workers.estimators.uncertainty import knn_entropy_power

ZERO_ERROR_REASON = "restored image equals the ground truth (MSE 0): no error, nothing invented"


@dataclass(frozen=True)
class PairMeta:
    """What the report says of a pair besides its statistics."""

    id: str
    group: str
    width: int
    height: int
    warnings: list[str]
    maps: dict[str, str]


def finite_or_none(value: float | torch.Tensor) -> float | None:
    """Plain float for the report, or None where the value is undefined."""
    number = float(value)
    return number if math.isfinite(number) else None


def _estimate(
    value: float | None, resampled: torch.Tensor | None, level: float, estimator: str, n: int
) -> Estimate:
    low = high = None
    if value is not None and resampled is not None and resampled.numel() > 0:
        lo, hi = percentile_interval(resampled, level)
        low, high = finite_or_none(lo), finite_or_none(hi)
    return Estimate(value=value, ci_low=low, ci_high=high, estimator=estimator, n=n)


def _mean_estimate(
    values: torch.Tensor, weights: torch.Tensor | None, level: float, estimator: str
) -> Estimate:
    mean = finite_or_none(values.mean()) if values.numel() else None
    resampled = None if weights is None else (weights @ values) / values.numel()
    return _estimate(mean, resampled, level, estimator, values.numel())


def _verdict(
    mse: float, eta: float | None, invented: float | None, options: AuditOptions
) -> Verdict:
    if mse == 0.0:
        return Verdict(level="low", reasons=[ZERO_ERROR_REASON])
    t = options.thresholds
    verdict = risk_verdict(
        eta,
        invented,
        high_eta=t.high_min_uncertainty_multiplier,
        medium_eta=t.medium_min_uncertainty_multiplier,
        high_idr=t.high_invented_detail_ratio,
        medium_idr=t.medium_invented_detail_ratio,
    )
    return Verdict(level=verdict.level, reasons=list(verdict.reasons))


def _consistency(residual: torch.Tensor) -> PairConsistency | None:
    value = finite_or_none(residual)
    return None if value is None else PairConsistency(measurement_residual=value)


def group_bootstrap_weights(n_pairs: int, options: AuditOptions) -> torch.Tensor | None:
    """The multinomial resampling counts of a group's pairs (THEORY.md 3.4 item 3), drawn
    before its first batch so that resampled sums can be accumulated as pairs stream by;
    ``None`` without a bootstrap (no resamples asked for, or a single pair)."""
    if options.bootstrap.resamples <= 0 or n_pairs <= 1:
        return None
    return bootstrap_weights(
        n_pairs, options.bootstrap.resamples, options.bootstrap.seed, torch.device("cpu")
    )


def summarize_group(
    name: str,
    stats: FinishedGroup,
    metas: Sequence[PairMeta],
    options: AuditOptions,
    dimension: int,
    *,
    known: KnownDegradation | None = None,
    prior: PriorImages | None = None,
) -> tuple[GroupReport, list[PairReport], list[str]]:
    """Build one group's report and its pairs' reports; returns them with group warnings."""
    warnings: list[str] = []
    order = options.renyi_order
    level = options.bootstrap.level
    weights = stats.weights
    n_pairs = len(stats.indices)

    # Per pair (THEORY.md 3.4, 3.5 on one image's patches), computed batch by batch.
    pair_u = stats.pair_uncertainty
    pair_p = stats.pair_perception
    ratio = stats.residual_energy / stats.detail_energy
    ratio = torch.where(stats.detail_energy > 0, ratio, torch.full_like(ratio, math.nan))

    # Pooled over the group, and over each bootstrap resample of its pairs.
    pooled_u = float(uncertainty_of(stats.pooled_error)[0])
    pooled_p = float(perception_of(stats.pooled_truth, stats.pooled_restored, order)[0])
    boot_u = boot_p = None
    if stats.resampled_error is not None:
        boot_u = uncertainty_of(stats.resampled_error)
    if stats.resampled_truth is not None and stats.resampled_restored is not None:
        boot_p = perception_of(stats.resampled_truth, stats.resampled_restored, order)
    n_patches = stats.patch_count

    knn_u = finite_or_none(knn_entropy_power(stats.knn_error, options.knn_k))
    knn_p = finite_or_none(
        knn_renyi_divergence(stats.knn_truth, stats.knn_restored, order, options.knn_k)
    )
    if knn_p is not None and knn_p < 0:
        warnings.append(
            f"group {name}: the nearest-neighbour Rényi estimate is negative ({knn_p:.3g}); "
            f"at d = {dimension} its bias dominates, so read the Gaussian estimate instead"
        )
    if finite_or_none(pooled_u) is None:
        warnings.append(
            f"group {name}: the error covariance is singular, so the Gaussian uncertainty is "
            "undefined (too few patches, or a constant error)"
        )
    perception = finite_or_none(pooled_p)
    eta = None if perception is None else float(min_uncertainty_multiplier(perception, dimension))

    psnr = stats.psnr
    if not bool(torch.isfinite(psnr).all()):
        warnings.append(
            f"group {name}: PSNR is undefined for pairs with MSE 0; the group PSNR is null"
        )
    finite_ratio = ratio[torch.isfinite(ratio)]
    ratio_weights = None
    if weights is not None and finite_ratio.numel() == ratio.numel():
        ratio_weights = weights
    elif finite_ratio.numel() < ratio.numel():
        warnings.append(
            f"group {name}: {ratio.numel() - finite_ratio.numel()} pairs have a flat ground "
            "truth (no detail), so their invented-detail ratio is undefined and left out"
        )
    invented = _mean_estimate(finite_ratio, ratio_weights, level, "regressed high-pass residual")

    mse_mean = float(stats.mse.mean())
    uncertainty = _estimate(
        finite_or_none(pooled_u), boot_u, level, "gaussian_wishart_corrected", n_patches
    )
    placement = None
    if known is not None and prior is not None:
        placement = place_on_bound(prior, known, options, uncertainty, perception, dimension)
        if placement.inherent is None:
            warnings.append(
                f"group {name}: the inherent uncertainty could not be computed (images smaller "
                f"than the {options.patch_size + 2 * placement.margin}-pixel window of "
                "THEORY.md 3.6, or no uncertainty estimate)"
            )
        elif placement.region == "below_bound":
            warnings.append(
                f"group {name}: below the theoretical bound, which is impossible under the "
                "Gaussian model: an estimation problem (too few patches) or a degradation "
                "that does not match the one named"
            )
    group = GroupReport(
        name=name,
        n_pairs=n_pairs,
        n_patches=n_patches,
        dimension=dimension,
        distortion=GroupDistortion(
            mse=_mean_estimate(stats.mse, weights, level, "mean over pairs"),
            psnr=_mean_estimate(psnr, weights, level, "mean over pairs"),
            ssim=_mean_estimate(stats.ssim, weights, level, "mean over pairs (Gaussian window)"),
        ),
        uncertainty=GroupUncertainty(
            gaussian=uncertainty,
            knn=_estimate(
                knn_u,
                None,
                level,
                f"kozachenko_leonenko_k{options.knn_k}",
                int(stats.knn_error.shape[0]),
            ),
        ),
        perception=GroupPerception(
            gaussian_renyi=_estimate(
                perception, boot_p, level, f"gaussian_renyi_order_{order:g}", n_patches
            ),
            knn_renyi=_estimate(
                knn_p,
                None,
                level,
                f"poczos_schneider_k{options.knn_k}",
                int(stats.knn_truth.shape[0]),
            ),
            per_dimension=None if perception is None else perception / dimension,
        ),
        min_uncertainty_multiplier=eta,
        inherent_uncertainty=placement.inherent if placement else None,
        inherent_uncertainty_margin=placement.margin if placement else None,
        uncertainty_ratio=placement.ratio if placement else None,
        min_perception_index=placement.min_perception_index if placement else None,
        up_region=placement.region if placement else None,
        uncertainty_floor=placement.floor if placement else None,
        hallucination=GroupHallucination(invented_detail_ratio=invented),
        risk=_verdict(mse_mean, eta, invented.value, options),
    )

    pairs: list[PairReport] = []
    for row, meta in enumerate(metas):
        mse = float(stats.mse[row])
        p_pair = finite_or_none(pair_p[row])
        eta_pair = None if p_pair is None else float(min_uncertainty_multiplier(p_pair, dimension))
        pair_warnings = list(meta.warnings)
        psnr_pair = finite_or_none(stats.psnr[row])
        if psnr_pair is None:
            pair_warnings.append("psnr is null: MSE is 0 (restored equals ground truth)")
        ratio_pair = finite_or_none(ratio[row])
        if ratio_pair is None:
            pair_warnings.append("invented_detail_ratio is null: the ground truth has no detail")
        u_pair = finite_or_none(pair_u[row])
        if u_pair is None:
            pair_warnings.append("uncertainty is null: the error covariance is singular")
        if p_pair is None:
            pair_warnings.append("perception is null: a patch covariance is singular")
        pairs.append(
            PairReport(
                id=meta.id,
                group=meta.group,
                width=meta.width,
                height=meta.height,
                distortion=PairDistortion(mse=mse, psnr=psnr_pair, ssim=float(stats.ssim[row])),
                uncertainty=PairUncertainty(gaussian=u_pair),
                perception=PairPerception(gaussian_renyi=p_pair),
                consistency=_consistency(stats.measurement_residual[row]),
                hallucination=PairHallucination(invented_detail_ratio=ratio_pair, maps=meta.maps),
                risk=_verdict(mse, eta_pair, ratio_pair, options),
                warnings=pair_warnings,
            )
        )
    return group, pairs, warnings
