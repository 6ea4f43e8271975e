"""The ground-truth-free audit of a stochastic restorer (docs/theory.md 3.9).

Observations, K >= 2 samples per input and the declared degradation, no ground truth: what
can still be measured is the samples' own spread (which, for a calibrated posterior sampler
only, estimates N(X|Y)), their measurement residual against the observation (3.7), and
per-pixel standard-deviation and measurement-space maps. Everything that compares with the
truth (error, error-to-spread ratio, interval coverage, the uncertainty ratio) is named as
missing. The engine only groups inputs and accumulates; the statistics are the estimators'.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from api_schemas.images import ImageLimits, effective_crop
from api_schemas.options import AuditOptions
from api_schemas.report import (
    Estimate,
    GroundTruthFreeGroup,
    GroundTruthFreeInput,
    GroundTruthFreeReport,
)
from workers.engine.artifacts import render_input_map
from workers.engine.degradation import KnownDegradation
from workers.engine.finish import finite_or_none
from workers.engine.samples import GroupSamples, sample_statistics
from workers.engine.sources import ArtifactWriter, ImageSource, load_image
from workers.engine.summarize import group_bootstrap_weights, spread_of
from workers.errors import AuditCancelledError, AuditInputError
from workers.estimators.bootstrap import percentile_interval
from workers.estimators.color import convert_color, crop_border
from workers.estimators.consistency import measurement_map, measurement_residual

MISSING_WITHOUT_GROUND_TRUTH = (
    "error_to_spread_ratio (sample calibration needs the errors x_k - x)",
    "uncertainty_ratio (U needs the errors)",
    "interval_coverage (split conformal needs ground truth to calibrate)",
    "invented_detail_ratio (needs the ground truth's detail)",
)
"""The evidence of docs/theory.md 3.8 a ground-truth-free audit cannot have."""


@dataclass(frozen=True)
class SampledInput:
    """One input of a ground-truth-free audit: its samples and, optionally, its observation."""

    group: str
    input: str
    samples: Sequence[ImageSource]
    observation: ImageSource | None = None


def run_ground_truth_free(
    inputs: Sequence[SampledInput],
    options: AuditOptions,
    artifacts: ArtifactWriter | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    limits: ImageLimits | None = None,
) -> GroundTruthFreeReport:
    """Audit ``inputs`` without ground truth (docs/theory.md 3.9).

    Args:
        inputs: the inputs with their samples (and observations), in report order.
        options: estimator settings; ``maps`` false renders no artifact.
        artifacts: where the per-input maps go; ``None`` renders none.
        progress: called with ``(done, total)`` samples after each input (the service counts
            a job's pairs, one per sample).
        should_cancel: polled before each input; True stops with AuditCancelledError.
        limits: the deployment's image limits (``RA_MAX_PIXELS_PER_IMAGE``...); default ones
            when ``None``.

    Raises:
        AuditInputError: an input with fewer than two samples, samples of one input that
            disagree in size, or an observation of the wrong shape; the message names it.
        AuditCancelledError: ``should_cancel`` returned True.
    """
    known = KnownDegradation.from_options(options)
    limits = limits or ImageLimits()
    crop = effective_crop(options)
    if not options.maps:
        artifacts = None
    groups: dict[str, list[SampledInput]] = {}
    for item in inputs:
        groups.setdefault(item.group, []).append(item)
    warnings: list[str] = []
    total = sum(len(item.samples) for item in inputs)
    done = 0

    def advance(item: SampledInput) -> None:
        # Between inputs, as run_audit between batches: a cancel stops before the next one.
        nonlocal done
        done += len(item.samples)
        if progress is not None:
            progress(done, total)
        if done < total and should_cancel is not None and should_cancel():
            raise AuditCancelledError(f"cancelled after {done} of {total} samples")

    if should_cancel is not None and should_cancel():
        raise AuditCancelledError("cancelled before the first input")
    reports = [
        _group(name, members, options, known, limits, crop, artifacts, warnings, advance)
        for name, members in groups.items()
    ]
    return GroundTruthFreeReport(
        degradation=options.degradation,
        patch_size=options.patch_size,
        groups=reports,
        warnings=warnings,
    )


def _group(
    name: str,
    members: list[SampledInput],
    options: AuditOptions,
    known: KnownDegradation | None,
    limits: ImageLimits,
    crop: int,
    artifacts: ArtifactWriter | None,
    warnings: list[str],
    advance: Callable[[SampledInput], None],
) -> GroundTruthFreeGroup:
    weights = group_bootstrap_weights(len(members), options)
    accumulated = GroupSamples(weights, calibration=set())
    generator = torch.Generator().manual_seed(options.bootstrap.seed)
    rows: list[GroundTruthFreeInput] = []
    residuals: list[float] = []
    stat_channels = 1
    for index, item in enumerate(members):
        part = f"{name}/{item.input}"
        if len(item.samples) < 2:
            raise AuditInputError(
                f"input {item.input!r} of group {name!r} has {len(item.samples)} sample(s); "
                "a ground-truth-free audit needs at least two per input",
                part=part,
            )
        images = [load_image(s, f"{part}/{k}", limits).tensor for k, s in enumerate(item.samples)]
        if len({tuple(i.shape) for i in images}) > 1:
            raise AuditInputError(
                f"the samples of input {item.input!r} disagree in size", part=part
            )
        block = torch.stack(images)
        converted = convert_color(block, options.color)
        statistics_images = crop_border(converted, crop) if crop > 0 else converted
        stat_channels = statistics_images.shape[1]
        batch = sample_statistics(
            None,
            statistics_images,
            [list(range(block.shape[0]))],
            [index],
            options.patch_size,
            options.patch_stride,
            generator,
        )
        accumulated.add(batch)
        maps: dict[str, str] = {}
        mean = block.double().mean(dim=0)
        if artifacts is not None:
            shown = crop_border(mean[None], crop)[0] if crop > 0 else mean
            _add_map(maps, name, item.input, "sample_std", shown, batch.sigma_map[0], artifacts)
        residual = None
        if item.observation is not None and known is not None:
            observed = load_image(item.observation, f"{part}/observation", limits).tensor
            expected = known.operator.output_size(*block.shape[-2:])
            if tuple(observed.shape) != (block.shape[1], *expected):
                raise AuditInputError(
                    f"expected an observation of shape {(block.shape[1], *expected)}, "
                    f"got {tuple(observed.shape)}",
                    part=f"{part}/observation",
                )
            observation = observed[None].expand(block.shape[0], -1, -1, -1)
            residual = float(measurement_residual(block, observation, known.operator).mean())
            residuals.append(residual)
            if artifacts is not None:
                back = measurement_map(mean[None], observed[None].double(), known.operator)
                _add_map(maps, name, item.input, "measurement", mean, back[0], artifacts)
        rows.append(
            GroundTruthFreeInput(
                input=item.input,
                samples=len(item.samples),
                mean_sample_std=float(batch.sigma_mean[0]),
                measurement_residual=residual,
                maps=maps,
            )
        )
        advance(item)
    finished = accumulated.finish()
    level = options.bootstrap.level
    value = finite_or_none(spread_of(finished.pooled_spread)[0])
    low = high = None
    if value is not None and finished.resampled_spread is not None:
        lo, hi = percentile_interval(spread_of(finished.resampled_spread), level)
        low, high = finite_or_none(lo), finite_or_none(hi)
    n_deviations = int(finished.pooled_spread.count[0])
    spread = Estimate(
        value=value,
        ci_low=low,
        ci_high=high,
        estimator="gaussian_wishart_corrected_within_input",
        n=n_deviations,
    )
    bound = spread.model_copy(
        update={"estimator": "spread_as_posterior_entropy_power_if_calibrated_sampler"}
    )
    if not value:
        warnings.append(
            f"group {name}: its samples of each input are identical (spread 0): a "
            "deterministic restorer, so the spread says nothing of N(X|Y)"
        )
    missing = list(MISSING_WITHOUT_GROUND_TRUTH)
    if known is None or not residuals:
        missing.append("measurement_residual (needs the observations and the degradation)")
    dimension = stat_channels * options.patch_size**2
    return GroundTruthFreeGroup(
        name=name,
        n_inputs=len(members),
        per_input=min(r.samples for r in rows),
        dimension=dimension,
        spread=spread,
        inherent_uncertainty_from_spread=bound,
        measurement_residual=Estimate(
            value=sum(residuals) / len(residuals),
            estimator="mean_squared_measurement_residual",
            n=len(residuals),
        )
        if residuals
        else None,
        # The residual is taken on the images as given, so s^2 is the declared one per channel.
        noise_variance=known.rgb_noise_variance if known else None,
        missing_evidence=missing,
        inputs=rows,
    )


def _add_map(
    maps: dict[str, str],
    group: str,
    input_name: str,
    kind: str,
    background: torch.Tensor,
    heat: torch.Tensor,
    artifacts: ArtifactWriter,
) -> None:
    link = render_input_map(
        group,
        input_name,
        kind,
        background.mean(0).numpy(),
        heat[0].double().numpy(),
        artifacts,
    )
    if link is not None:
        maps[kind] = link
