"""From a group's finished statistics to the report's group and pair sections (REPORT.md).

The numbers come from ``finish`` (the estimator library over the group's pooled and
bootstrap-reweighted sums, docs/theory.md 3.4, 3.5); this module maps them to the report model,
with their intervals, warnings and verdicts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from api_schemas.options import AuditOptions
from api_schemas.report import (
    Estimate,
    FrontierPoint,
    GroupDistortion,
    GroupHallucination,
    GroupPerception,
    GroupReport,
    GroupUncertainty,
    IntervalCoverage,
    KnnCalibrated,
    PairConsistency,
    PairDistortion,
    PairHallucination,
    PairPerception,
    PairReport,
    PairUncertainty,
    PatchSizeRow,
    SampleStatistics,
    Verdict,
)
from workers.engine import finish
from workers.engine.accumulate import FinishedGroup
from workers.engine.degradation import (
    BoundPlacement,
    KnownDegradation,
    PosteriorModel,
    PriorImages,
    place_on_frontier,
)
from workers.engine.finish import finite_or_none, mean_over_pairs
from workers.engine.samples import FinishedSamples, conformal_coverage
from workers.estimators.bootstrap import bootstrap_weights, percentile_interval
from workers.estimators.bounds import min_uncertainty_multiplier
from workers.estimators.conditional import (
    conditional_perception,
    posterior_mean_deviation_moments,
)
from workers.estimators.inherent import posterior_gains
from workers.estimators.patches import PatchMoments
from workers.estimators.risk import VerdictThresholds, risk_verdict
from workers.estimators.uncertainty import gaussian_entropy_power

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
    mean = mean_over_pairs(values, weights)
    return _estimate(mean.value, mean.resampled, level, estimator, mean.n)


def _knn_estimate(value: float | None, estimator: str, k: int, samples: torch.Tensor) -> Estimate:
    """A k-NN estimate over ``samples`` (one row each): no bootstrap, so no interval."""
    n = int(samples.shape[0])
    return Estimate(value=value, ci_low=None, ci_high=None, estimator=f"{estimator}_k{k}", n=n)


def verdict_thresholds(options: AuditOptions) -> VerdictThresholds:
    """The verdict's thresholds from the job's options (docs/theory.md 3.8): the library's
    thresholds carry the wire model's names, so they pass through as they are."""
    return VerdictThresholds(**options.thresholds.model_dump())


_ROUNDING_REASON = (
    "restored image within the 8-bit rounding of the ground truth (every error at most one "
    "grey level): nothing invented"
)


def _verdict(
    mse: float,
    max_error: float | None,
    ratio: float | None,
    invented: float | None,
    options: AuditOptions,
    missing: dict[str, str],
    calibration: float | None = None,
    conditional_eta: float | None = None,
) -> Verdict:
    if mse == 0.0:
        return Verdict(level="low", reasons=[ZERO_ERROR_REASON])
    verdict = risk_verdict(
        uncertainty_ratio=ratio,
        invented_detail_ratio=invented,
        error_to_spread_ratio=calibration,
        min_uncertainty_multiplier=conditional_eta,
        thresholds=verdict_thresholds(options),
        missing=missing,
    )
    reasons = list(verdict.reasons)
    if max_error is not None and max_error <= 1.0 / 255.0 + 1e-6 and verdict.level != "low":
        # docs/theory.md 3.8: errors within the rounding of both 8-bit images are not content.
        return Verdict(level="low", reasons=[_ROUNDING_REASON, *reasons])
    return Verdict(level=verdict.level, reasons=reasons)


_NO_SPREAD = 1e-12
"""Per-pixel variance of the samples below which they count as identical: float32 rounding
of values near 0.5 leaves about 1e-15, a grey level's quantisation 1.3e-6."""


def spread_of(moments: PatchMoments) -> torch.Tensor:
    """Entropy power of the within-input covariance, one per row (docs/theory.md 3.9).

    The deviations from each input's sample mean have mean 0 by construction and ``count``
    is positions x (K - 1), so ``outer / count`` is the unbiased covariance, with the Wishart
    correction of 3.4 at ``n - 1 = count``. Identical samples give 0.
    """
    cov = moments.outer / moments.count[:, None, None]
    values = gaussian_entropy_power(cov, moments.count + 1, covariance="sample")
    # Identical samples leave only float rounding (about 1e-16 per pixel): no spread.
    variance = cov.diagonal(dim1=-2, dim2=-1).mean(-1)
    return torch.where(variance <= _NO_SPREAD, torch.zeros_like(values), values)


def _samples_report(
    name: str,
    samples: FinishedSamples,
    uncertainty: Estimate,
    boot_u: torch.Tensor | None,
    options: AuditOptions,
    warnings: list[str],
) -> SampleStatistics:
    """Spread, error-to-spread ratio and interval coverage of a sampled group (3.9)."""
    level = options.bootstrap.level
    n_inputs = len(samples.per_input)
    spread = finite_or_none(spread_of(samples.pooled_spread)[0])
    boot_spread = (
        spread_of(samples.resampled_spread) if samples.resampled_spread is not None else None
    )
    n_deviations = int(samples.pooled_spread.count[0])
    spread_estimate = _estimate(
        spread, boot_spread, level, "gaussian_wishart_corrected_within_input", n_deviations
    )
    ratio = None
    boot_ratio = None
    if spread is None or spread == 0.0:
        warnings.append(
            f"group {name}: its samples of each input are identical (spread 0): a "
            "deterministic restorer run several times, so there is no error-to-spread ratio"
        )
    elif uncertainty.value is not None:
        ratio = uncertainty.value / spread
        if boot_u is not None and boot_spread is not None:
            boot_ratio = boot_u / boot_spread
    coverage = conformal_coverage(
        samples.calibration_scores,
        samples.evaluation_scores,
        samples.evaluation_sigma,
        options.interval_level,
    )
    interval = None
    if coverage is not None and math.isfinite(coverage[0]):
        interval = IntervalCoverage(
            level=options.interval_level, coverage=coverage[1], mean_width=coverage[2]
        )
    elif n_inputs >= 2 and spread:
        warnings.append(
            f"group {name}: per-pixel intervals need inputs with ground truth in both halves "
            "of the split (calibration and evaluation); their coverage is not reported"
        )
    if len(set(samples.per_input)) > 1:
        warnings.append(
            f"group {name}: inputs have different numbers of samples "
            f"({min(samples.per_input)} to {max(samples.per_input)})"
        )
    return SampleStatistics(
        per_input=min(samples.per_input),
        spread=spread_estimate,
        error_to_spread_ratio=_estimate(
            ratio, boot_ratio, level, "uncertainty_gaussian / spread", n_inputs
        ),
        interval_coverage=interval,
    )


def _conditional(
    name: str,
    samples: FinishedSamples,
    model: PosteriorModel,
    known: KnownDegradation,
    options: AuditOptions,
    dimension: int,
    warnings: list[str],
) -> tuple[Estimate | None, float | None]:
    """The conditional perception index of a sampled group and eta of it (3.9).

    Over the inputs kept with their observation: the second moment of the samples' mean
    minus the Gaussian-model posterior mean of each patch, then P_cond with the finite-K and
    Wishart corrections; its bootstrap re-weights the inputs' sums with the resamples of the
    spread. Returns (estimate, eta), both None when it cannot be computed.

    The model's posterior mean m of a patch is not the exact E[X|Y]: its window misses the far
    observations and its prior is fitted to a few images. That gap e = E[X|Y] - m is in every
    restorer's deviation x̄ - m, and at d = 64 its second moment alone made a calibrated
    sampler's P_cond 0.24-0.35 nats (eta 1.81-1.84). The ground truth measures it: X - E[X|Y]
    is orthogonal to every function of Y, so the second moment of X - m is B + E[e e'], and
    the restorer's own deviation's second moment is estimated as that of x̄ - m minus that of
    X - m plus the model's B (the cross term of the restorer's offset with e is neglected).
    What is left is the model's error on B itself, which the uncertainty ratio of the exact
    posterior mean measures at about 1 %.
    """
    spread_count = float(samples.pooled_spread.count[0])
    if not samples.conditional or spread_count <= 0:
        return None, None
    spread = samples.pooled_spread.outer[0] / spread_count
    if float(spread.diagonal().mean()) <= _NO_SPREAD:
        return None, None  # deterministic: infinite conditional index, said elsewhere
    window_mean, gains = posterior_gains(model.sums, model.noise_variance, model.shrinkage)
    block = model.posterior_block
    # B of the truth's law (its rounding is in the prior; the restored images' is not).
    truth_block = block - model.restored_rounding * torch.eye(
        block.shape[-1], dtype=block.dtype, device=block.device
    )

    def deviation(image: torch.Tensor, observation: torch.Tensor) -> tuple[torch.Tensor, int]:
        return posterior_mean_deviation_moments(
            image,
            observation,
            known.operator,
            window_mean,
            gains,
            model.sums.matrices,
            options.patch_size,
            model.margin,
        )

    inputs, moments, counts = [], [], []
    for kept in samples.conditional:
        moment, count = deviation(kept.sample_mean, kept.observation)
        if count:
            truth_moment, _ = deviation(kept.truth, kept.observation)
            inputs.append(kept.input)
            moments.append(moment - truth_moment + count * truth_block)
            counts.append(float(count))
    if not moments:
        return None, None
    stacked = torch.stack(moments)
    weights_count = torch.tensor(counts, dtype=torch.float64)
    k = sum(samples.per_input[i] for i in inputs) / len(inputs)
    value = conditional_perception(
        stacked.sum(0) / weights_count.sum(), block, spread, k, spread_count
    )
    if not math.isfinite(value):
        return None, None
    resampled = None
    if samples.weights is not None and samples.resampled_spread is not None:
        rows = samples.weights[:, inputs]
        moment_r = torch.einsum("ri,iab->rab", rows, stacked)
        count_r = rows @ weights_count
        spread_r = samples.resampled_spread.outer / samples.resampled_spread.count[:, None, None]
        values = [
            conditional_perception(
                moment_r[r] / count_r[r],
                block,
                spread_r[r],
                k,
                float(samples.resampled_spread.count[r]),
            )
            if float(count_r[r]) > 0
            else math.nan
            for r in range(rows.shape[0])
        ]
        resampled = torch.tensor(values, dtype=torch.float64).clamp(min=0.0)
    if value < 0:
        warnings.append(
            f"group {name}: the conditional perception index came out {value:.3g} before "
            "clamping at 0 (sampling noise around a calibrated posterior sampler)"
        )
    clamped = max(0.0, value)
    estimate = _estimate(
        clamped,
        resampled,
        options.bootstrap.level,
        "gaussian_renyi_order_0.5_conditional_k_and_wishart_corrected",
        len(inputs),
    )
    eta = float(min_uncertainty_multiplier(clamped, dimension))
    return estimate, eta


def _consistency(residual: torch.Tensor) -> PairConsistency | None:
    value = finite_or_none(residual)
    return None if value is None else PairConsistency(measurement_residual=value)


def _sweep(
    stats: FinishedGroup,
    options: AuditOptions,
    channels: int,
    known: KnownDegradation | None,
    prior: PriorImages | None,
    rounding: float,
    main: tuple[float | None, BoundPlacement | None],
) -> list[PatchSizeRow] | None:
    """The dimension sweep's table (docs/theory.md 3.11), one row per asked patch size."""
    if not options.patch_sizes:
        return None
    rows = []
    for size in options.patch_sizes:
        dimension = channels * size * size
        if size == options.patch_size:
            perception, placement = main
        else:
            sums = stats.by_patch_size[size]
            measured = finish.measured(sums, dimension, stats, rounding)
            perception = measured.perception
            placement = None
            if known is not None and prior is not None:
                placement = place_on_frontier(prior, known, options, measured, dimension, size)
        rows.append(
            PatchSizeRow(
                patch_size=size,
                per_dimension=None if perception is None else perception / dimension,
                uncertainty_ratio=placement.ratio.value if placement and placement.ratio else None,
                uncertainty_floor_ratio=(
                    placement.floor_ratio.value if placement and placement.floor_ratio else None
                ),
                up_region=placement.region if placement else None,
                frontier=(
                    [FrontierPoint(perception=p, ratio=r) for p, r in placement.frontier]
                    if placement and placement.frontier
                    else None
                ),
            )
        )
    return rows


def _placement_warnings(
    name: str, placement: BoundPlacement, rounding: float, options: AuditOptions
) -> list[str]:
    warnings = []
    if placement.region == "below_bound":
        warnings.append(
            f"group {name}: below the Gaussian-oracle frontier (docs/theory.md 3.6): more certain "
            "than the best Gaussian restorer at this perceptual quality. On photographs this "
            "is most likely a good non-linear restorer (the true N(X|Y) is below the Gaussian "
            "one); on Gaussian-like data, an estimation problem or a degradation that does not "
            "match the one named"
        )
    if rounding > 0:
        warnings.append(
            f"group {name}: the restored images are 8-bit, so their rounding ({rounding:.3g} "
            "per pixel) is added to the posterior covariance before every ratio (docs/theory.md "
            "3.6); the ground truth's rounding is already in the prior fitted to it"
        )
    return warnings


def group_bootstrap_weights(n_pairs: int, options: AuditOptions) -> torch.Tensor | None:
    """The multinomial resampling counts of a group's pairs (docs/theory.md 3.4 item 3), drawn
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

    # Per pair (docs/theory.md 3.4, 3.5 on one image's patches), computed batch by batch.
    pair_u = stats.pair_uncertainty
    pair_p = stats.pair_perception
    # The library's rule for a flat ground truth (docs/theory.md 3.7), on each pair's grid.
    ratio = finish.invented_detail_ratios(stats)

    # Pooled over the group, and over each bootstrap resample of its pairs.
    pooled_u, boot_u = finish.uncertainty(stats.sums)
    n_patches = stats.patch_count
    pooled_p = finish.perception(stats.sums, order, dimension, float(n_patches))
    perception, boot_p, estimator_p = pooled_p.value, pooled_p.resampled, pooled_p.estimator

    # Raw nearest-neighbour estimates are biased at patch dimensions; each is reported beside
    # its calibration against the matched Gaussian (docs/theory.md 3.10).
    knn = finish.knn_estimates(stats, options)
    calibrated_u, calibrated_p = knn.uncertainty, knn.perception
    knn_u = finite_or_none(calibrated_u.raw)
    knn_p = finite_or_none(calibrated_p.raw)
    if knn_p is not None:
        warnings.append(
            f"group {name}: the raw nearest-neighbour Rényi estimate ({knn_p:.3g}) is biased "
            f"at d = {dimension} (wrong sign on Gaussian data); read the calibrated one "
            "(knn_calibrated, docs/theory.md 3.10) or the Gaussian estimate"
        )
    n_knn = int(stats.knn.error.shape[0])
    knn_calibrated = KnnCalibrated(
        uncertainty=_estimate(
            finite_or_none(calibrated_u.value),
            None,
            level,
            f"kozachenko_leonenko_k{options.knn_k}_gaussian_null_calibrated",
            n_knn,
        ),
        perception=_estimate(
            finite_or_none(calibrated_p.value),
            None,
            level,
            f"poczos_schneider_k{options.knn_k}_gaussian_null_calibrated",
            int(stats.knn.truth.shape[0]),
        ),
        uncertainty_correction=finite_or_none(calibrated_u.correction),
        perception_correction=finite_or_none(calibrated_p.correction),
    )
    if finite_or_none(pooled_u) is None:
        warnings.append(
            f"group {name}: the error covariance is singular, so the Gaussian uncertainty is "
            "undefined (too few patches, or a constant error)"
        )

    psnr = stats.values.psnr
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

    mse_mean = float(stats.values.mse.mean())
    uncertainty = _estimate(
        finite_or_none(pooled_u), boot_u, level, "gaussian_wishart_corrected", n_patches
    )
    placement: BoundPlacement | None = None
    missing: dict[str, str] = {}
    rounding = 0.0
    if known is not None and prior is not None:
        if stats.restored_quantised:
            rounding = known.rounding_variance(options.color, prior.input_channels)
        # The placement uses D_1/2 whatever order the report shows (docs/theory.md 3.6).
        measured = finish.measured(stats.sums, dimension, stats, rounding)
        placement = place_on_frontier(prior, known, options, measured, dimension)
        if placement.inherent is None:
            reason = (
                f"the inherent uncertainty could not be computed (images smaller than the "
                f"{options.patch_size + 2 * placement.margin}-pixel window of docs/theory.md 3.6, "
                "or no uncertainty estimate)"
            )
            warnings.append(f"group {name}: {reason}")
            missing["uncertainty_ratio"] = reason
        else:
            warnings.extend(_placement_warnings(name, placement, rounding, options))
    group_ratio = placement.ratio.value if placement and placement.ratio else None
    samples_report = None
    calibration = None
    eta = None
    if stats.samples is not None:
        samples_report = _samples_report(
            name, stats.samples, uncertainty, boot_u, options, warnings
        )
        calibration = samples_report.error_to_spread_ratio.value
        if calibration is None:
            missing["error_to_spread_ratio"] = "the samples have no spread (deterministic)"
        if known is not None and placement is not None and placement.model is not None:
            conditional, eta = _conditional(
                name, stats.samples, placement.model, known, options, dimension, warnings
            )
            if conditional is not None:
                samples_report = samples_report.model_copy(
                    update={"conditional_perception": conditional}
                )
    group = GroupReport(
        name=name,
        n_pairs=n_pairs,
        n_patches=n_patches,
        dimension=dimension,
        distortion=GroupDistortion(
            mse=_mean_estimate(stats.values.mse, weights, level, "mean over pairs"),
            psnr=_mean_estimate(psnr, weights, level, "mean over pairs"),
            ssim=_mean_estimate(
                stats.values.ssim, weights, level, "mean over pairs (Gaussian window)"
            ),
        ),
        uncertainty=GroupUncertainty(
            gaussian=uncertainty,
            knn=_knn_estimate(knn_u, "kozachenko_leonenko", options.knn_k, stats.knn.error),
        ),
        perception=GroupPerception(
            gaussian_renyi=_estimate(perception, boot_p, level, estimator_p, n_patches),
            knn_renyi=_knn_estimate(knn_p, "poczos_schneider", options.knn_k, stats.knn.truth),
            per_dimension=None if perception is None else perception / dimension,
        ),
        min_uncertainty_multiplier=eta,
        inherent_uncertainty=placement.inherent.value if placement and placement.inherent else None,
        inherent_uncertainty_interval=placement.inherent if placement else None,
        inherent_uncertainty_per_phase=placement.inherent_per_phase if placement else None,
        inherent_uncertainty_margin=placement.margin if placement else None,
        uncertainty_ratio=placement.ratio if placement else None,
        uncertainty_floor_ratio=placement.floor_ratio if placement else None,
        uncertainty_floor=placement.floor if placement else None,
        min_perception_index=placement.min_perception_index if placement else None,
        up_region=placement.region if placement else None,
        frontier=(
            [FrontierPoint(perception=p, ratio=r) for p, r in placement.frontier]
            if placement and placement.frontier
            else None
        ),
        knn_calibrated=knn_calibrated,
        samples=samples_report,
        by_patch_size=_sweep(
            stats,
            options,
            dimension // options.patch_size**2,
            known,
            prior,
            rounding,
            (perception, placement),
        ),
        hallucination=GroupHallucination(invented_detail_ratio=invented),
        risk=_verdict(
            mse_mean,
            float(stats.values.max_error.max()),
            group_ratio,
            invented.value,
            options,
            missing,
            calibration,
            eta,
        ),
    )

    pair_missing = dict(missing)
    if stats.samples is not None:
        pair_missing["error_to_spread_ratio"] = (
            "the samples' calibration is measured over the group's inputs, not per pair"
        )
    pairs: list[PairReport] = []
    for row, meta in enumerate(metas):
        mse = float(stats.values.mse[row])
        p_pair = finite_or_none(pair_p[row])
        pair_warnings = list(meta.warnings)
        psnr_pair = finite_or_none(stats.values.psnr[row])
        if psnr_pair is None:
            pair_warnings.append("psnr is null: MSE is 0 (restored equals ground truth)")
        ratio_pair = finite_or_none(ratio[row])
        if ratio_pair is None:
            pair_warnings.append("invented_detail_ratio is null: the ground truth has no detail")
        u_pair = finite_or_none(pair_u[row])
        if u_pair is None:
            pair_warnings.append("uncertainty is null: the error covariance is singular")
        elif float(stats.values.patches[row]) < 10 * dimension:
            pair_warnings.append(
                f"uncertainty rests on {int(stats.values.patches[row])} patches (< 10 d = "
                f"{10 * dimension}): the Wishart-corrected estimate can exceed the MSE by several "
                "per cent on so few patches (docs/theory.md 3.4)"
            )
        if p_pair is None:
            pair_warnings.append("perception is null: a patch covariance is singular")
        pair_ratio = placement.ratio_of_pair(u_pair) if placement else None
        pairs.append(
            PairReport(
                id=meta.id,
                group=meta.group,
                width=meta.width,
                height=meta.height,
                distortion=PairDistortion(
                    mse=mse, psnr=psnr_pair, ssim=float(stats.values.ssim[row])
                ),
                uncertainty=PairUncertainty(gaussian=u_pair),
                perception=PairPerception(gaussian_renyi=p_pair),
                consistency=_consistency(stats.values.measurement_residual[row]),
                hallucination=PairHallucination(invented_detail_ratio=ratio_pair, maps=meta.maps),
                risk=_verdict(
                    mse,
                    float(stats.values.max_error[row]),
                    pair_ratio,
                    ratio_pair,
                    options,
                    pair_missing,
                ),
                warnings=pair_warnings,
            )
        )
    return group, pairs, warnings
