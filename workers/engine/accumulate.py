"""Per-pair sufficient statistics, computed batch by batch on the device.

The engine streams pairs through the device in batches and keeps only what the group-level
estimates need: per-pair distortion numbers and Gaussian estimates, the group's pooled and
bootstrap-weighted patch-moment sums (docs/theory.md 3.3; no per-pair moments outlive their
batch), a seeded subsample of patches for the nearest-neighbour estimators (a fixed budget
per group), and the invented-detail energies (docs/theory.md 3.7). Memory is bounded by the batch
size and the number of bootstrap resamples, not by the job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from workers.engine.samples import (
    ConditionalInput,
    FinishedSamples,
    GroupSamples,
    SampleBatch,
    sample_statistics,
)
from workers.estimators.color import ColorMode, convert_color, crop_border
from workers.estimators.consistency import measurement_map, measurement_residual, null_space_map
from workers.estimators.degradation import DegradationOperator
from workers.estimators.distortion import distortion_metrics
from workers.estimators.hallucination import invented_detail_map, invented_detail_statistics
from workers.estimators.patches import PatchMoments, patch_moments_within, sample_patches
from workers.estimators.perception import gaussian_renyi_divergence_from_statistics
from workers.estimators.uncertainty import gaussian_entropy_power_from_statistics


@dataclass(frozen=True)
class StatisticSettings:
    """The estimator settings one batch needs (resolved from AuditOptions)."""

    color: ColorMode
    crop: int
    patch_size: int
    patch_stride: int
    detail_sigma: float
    map_window_sigma: float
    knn_per_pair: int
    extra_patch_sizes: tuple[int, ...] = ()
    """Other patch sizes of the dimension sweep (docs/theory.md 3.11)."""
    patch_memory_bytes: int | None = None
    """Working memory the stride-1 patch statistics of one batch may take: above it they are
    summed over row bands (``patch_moments_within``), equal to rounding; None: never."""


@dataclass
class BatchStatistics:
    """Statistics of one batch of B pairs, moved to the CPU."""

    indices: list[int]
    values: PairValues
    """The per-pair numbers, ``(B,)`` each."""
    moments: MomentTriple
    """The patch moments at the main patch size."""
    knn: PatchSamples
    """The nearest-neighbour estimators' subsampled patches of this batch."""
    extra: dict[int, MomentTriple] = field(default_factory=dict)
    """Error, truth and restored patch moments at each extra patch size (docs/theory.md 3.11)."""
    restored_quantised: bool = False
    """Whether every restored image of the batch lies on the 8-bit grid (docs/theory.md 3.6: its
    rounding then adds to every error)."""
    samples: SampleBatch | None = None
    """Within-input statistics when the pairs are several outputs per input (3.9)."""
    maps: dict[str, torch.Tensor] = field(default_factory=dict)
    """Per-pixel maps ``(B, 1, H', W')`` on the cropped grid, by artifact kind."""


@dataclass(frozen=True)
class MomentTriple:
    """Patch moments of the error, the ground truth and the restored images (docs/theory.md
    3.3), one row per pair."""

    error: PatchMoments
    truth: PatchMoments
    restored: PatchMoments

    def to_cpu(self) -> MomentTriple:
        return MomentTriple(
            _moments_to_cpu(self.error), _moments_to_cpu(self.truth), _moments_to_cpu(self.restored)
        )


def _crop(images: torch.Tensor, settings: StatisticSettings) -> torch.Tensor:
    return crop_border(images, settings.crop) if settings.crop > 0 else images


@dataclass(frozen=True)
class DegradationInputs:
    """The known degradation's operator and, per pair, the observation (or None)."""

    operator: DegradationOperator
    observations: list[torch.Tensor | None]


def batch_statistics(
    truth: torch.Tensor,
    restored: torch.Tensor,
    indices: list[int],
    settings: StatisticSettings,
    generator: torch.Generator,
    *,
    with_maps: bool,
    degradation: DegradationInputs | None = None,
    inputs: list[int] | None = None,
) -> BatchStatistics:
    """Compute every per-pair statistic of one same-size batch ``(B, C, H, W)``.

    ``inputs``, when the pairs are several outputs per input, gives each row's input index
    in its group; the rows of one input are then in this batch together (docs/theory.md 3.9).
    """
    x_full = convert_color(truth, settings.color)
    x_hat_full = convert_color(restored, settings.color)
    x, x_hat = _crop(x_full, settings), _crop(x_hat_full, settings)
    error = x_hat - x
    metrics = distortion_metrics(x_hat, x, data_range=1.0)
    p, s = settings.patch_size, settings.patch_stride
    # One call for the three stacks: the lag sums run once over a 3B batch.
    triple = torch.cat([error, x, x_hat])
    budget = settings.patch_memory_bytes
    moments = _split_three(patch_moments_within(triple, p, s, budget), truth.shape[0]).to_cpu()
    by_size = {
        size: _split_three(patch_moments_within(triple, size, s, budget), truth.shape[0]).to_cpu()
        for size in settings.extra_patch_sizes
    }
    samples = [
        _dequantize(sample_patches(img, p, settings.knn_per_pair, generator), generator)
        for img in (error, x, x_hat)
    ]
    residual, detail_energy = invented_detail_statistics(x_hat, x, settings.detail_sigma)
    maps: dict[str, torch.Tensor] = {}
    if with_maps:
        maps["invented_detail"] = invented_detail_map(
            x_hat, x, settings.detail_sigma, window_sigma=settings.map_window_sigma
        ).cpu()
    residual_measure = torch.full((truth.shape[0],), math.nan, dtype=torch.float64)
    if degradation is not None:
        residual_measure, extra = _degradation_statistics(
            x_hat_full, x_full, degradation, settings, with_maps=with_maps
        )
        maps.update(extra)
    sample_batch = None
    if inputs is not None:
        order = list(dict.fromkeys(inputs))
        rows_of_input = [[row for row, i in enumerate(inputs) if i == index] for index in order]
        sample_batch = sample_statistics(x, x_hat, rows_of_input, order, p, s, generator)
        if degradation is not None:
            kept = []
            for position, rows in enumerate(rows_of_input):
                observation = degradation.observations[rows[0]]
                if observation is None:
                    continue
                y = convert_color(observation[None].to(x_hat_full.device), settings.color)
                kept.append(
                    ConditionalInput(
                        order[position],
                        x_hat_full[rows].mean(0).cpu(),
                        y[0].cpu(),
                        x_full[rows[0]].cpu(),
                    )
                )
            sample_batch.conditional = kept
        if with_maps:
            # The input's standard-deviation map goes with its first sample's pair.
            sigma = torch.full((truth.shape[0], 1, *x_hat.shape[-2:]), math.nan)
            for position, rows in enumerate(rows_of_input):
                sigma[rows[0]] = sample_batch.sigma_map[position]
            maps["sample_std"] = sigma
    grid = restored * 255.0
    quantised = bool(((grid - grid.round()).abs() <= 1e-3).all())
    values = PairValues(
        mse=metrics.mse.double().cpu(),
        psnr=metrics.psnr.double().cpu(),
        ssim=metrics.ssim.double().cpu(),
        residual_energy=residual.double().cpu(),
        detail_energy=detail_energy.double().cpu(),
        measurement_residual=residual_measure,
        max_error=error.abs().amax(dim=(1, 2, 3)).double().cpu(),
        patches=moments.error.count.double(),
        values_per_image=torch.full((len(indices),), float(x[0].numel()), dtype=torch.float64),
    )
    return BatchStatistics(
        indices=indices,
        values=values,
        moments=moments,
        knn=PatchSamples(*(sample.double().cpu() for sample in samples)),
        extra=by_size,
        restored_quantised=quantised,
        samples=sample_batch,
        maps=maps,
    )


def _degradation_statistics(
    x_hat_full: torch.Tensor,
    x_full: torch.Tensor,
    degradation: DegradationInputs,
    settings: StatisticSettings,
    *,
    with_maps: bool,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Measurement residual per pair and, for the maps, the 3.7 error decompositions."""
    operator = degradation.operator
    rows = [i for i, obs in enumerate(degradation.observations) if obs is not None]
    residual = torch.full((x_full.shape[0],), math.nan, dtype=torch.float64)
    maps: dict[str, torch.Tensor] = {}
    observed = None
    if rows:
        observed = torch.stack([obs for obs in degradation.observations if obs is not None]).to(
            x_full.device
        )
        observed = convert_color(observed, settings.color)
        values = measurement_residual(x_hat_full[rows], observed, operator)
        residual[rows] = values.double().cpu()
    if with_maps:
        maps["error"] = _crop((x_hat_full - x_full).abs().sum(1, keepdim=True), settings).cpu()
        maps["null_space"] = _crop(null_space_map(x_hat_full, x_full, operator), settings).cpu()
        if observed is not None and len(rows) == x_full.shape[0]:
            maps["measurement"] = _crop(
                measurement_map(x_hat_full, observed, operator), settings
            ).cpu()
    return residual, maps


QUANTUM = 1.0 / 255.0


def _dequantize(samples: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Break the exact ties of 8-bit data before nearest-neighbour estimates.

    Quantised images repeat patches exactly (flat or saturated regions), and a zero
    neighbour distance sends the Kozachenko-Leonenko and Póczos-Schneider sums to infinity.
    Seeded uniform noise of one grey level's width (variance 1/(12 * 255^2), the quantisation
    floor of docs/theory.md 3.6) undoes the quantisation; it matters only for errors of about a
    grey level, where it adds at most that floor to the estimate.
    """
    noise = torch.rand(samples.shape, generator=generator)  # float32: plenty for a jitter
    noise = noise.to(device=samples.device, dtype=samples.dtype)
    return samples + (noise - 0.5) * QUANTUM


def _split_three(stacked: PatchMoments, count: int) -> MomentTriple:
    """The error, truth and restored parts of moments taken over one 3B batch."""
    error, truth, restored = (
        PatchMoments(
            stacked.count[i * count : (i + 1) * count],
            stacked.total[i * count : (i + 1) * count],
            stacked.outer[i * count : (i + 1) * count],
        )
        for i in range(3)
    )
    return MomentTriple(error, truth, restored)


def _moments_to_cpu(m: PatchMoments) -> PatchMoments:
    return PatchMoments(m.count.cpu(), m.total.cpu(), m.outer.cpu())


class _StreamedMoments:
    """Sums of one kind of patch moments over a group's pairs, pooled and bootstrap-weighted,
    added batch by batch so that no per-pair moments outlive their batch."""

    def __init__(self) -> None:
        self.pooled: PatchMoments | None = None
        self.resampled: PatchMoments | None = None

    def add(self, moments: PatchMoments, weights: torch.Tensor | None) -> None:
        self.pooled = _plus(self.pooled, moments.pooled())
        if weights is not None:
            # The first batch's poolings are fresh tensors this class owns; later batches add
            # into them in place (no (R, d, d) temporary per batch).
            self.resampled = moments.weighted(weights, into=self.resampled)

    def finish(self) -> PatchMoments:
        """The pooled sums (one row); a group always has a batch."""
        if self.pooled is None:
            raise RuntimeError("no batch was added to the group")
        return self.pooled


class _StreamedTriple:
    """The streamed sums of error, truth and restored moments at one patch size."""

    def __init__(self) -> None:
        self.error = _StreamedMoments()
        self.truth = _StreamedMoments()
        self.restored = _StreamedMoments()

    def add(self, moments: MomentTriple, weights: torch.Tensor | None) -> None:
        self.error.add(moments.error, weights)
        self.truth.add(moments.truth, weights)
        self.restored.add(moments.restored, weights)

    def finish(self) -> MomentSums:
        return MomentSums(
            pooled_error=self.error.finish(),
            pooled_truth=self.truth.finish(),
            pooled_restored=self.restored.finish(),
            resampled_error=self.error.resampled,
            resampled_truth=self.truth.resampled,
            resampled_restored=self.restored.resampled,
        )


def _plus(total: PatchMoments | None, part: PatchMoments) -> PatchMoments:
    """``total + part``, in place into ``total`` (fresh tensors that this class owns)."""
    if total is None:
        return part
    total.count.add_(part.count)
    total.total.add_(part.total)
    total.outer.add_(part.outer)
    return total


@dataclass(frozen=True)
class PairValues:
    """The per-pair numbers a group keeps of its batches, ``(n,)`` float64 each."""

    mse: torch.Tensor
    psnr: torch.Tensor
    ssim: torch.Tensor
    residual_energy: torch.Tensor
    detail_energy: torch.Tensor
    measurement_residual: torch.Tensor
    """Mean |H x_hat - y|^2 (docs/theory.md 3.7); NaN where no observation was given."""
    max_error: torch.Tensor
    """Largest absolute error of each pair (on the statistics' grid)."""
    patches: torch.Tensor
    """Error patches per pair."""
    values_per_image: torch.Tensor
    """C H' W' of each pair's statistics grid (the cropped images): the invented-detail ratio's
    flat rule is per value (docs/theory.md 3.7)."""

    @classmethod
    def concatenated(cls, parts: list[PairValues], order: torch.Tensor) -> PairValues:
        """The parts' values one after another, then taken in ``order``."""

        def cat(values: list[torch.Tensor]) -> torch.Tensor:
            return torch.cat(values)[order]

        return cls(
            mse=cat([p.mse for p in parts]),
            psnr=cat([p.psnr for p in parts]),
            ssim=cat([p.ssim for p in parts]),
            residual_energy=cat([p.residual_energy for p in parts]),
            detail_energy=cat([p.detail_energy for p in parts]),
            measurement_residual=cat([p.measurement_residual for p in parts]),
            max_error=cat([p.max_error for p in parts]),
            patches=cat([p.patches for p in parts]),
            values_per_image=cat([p.values_per_image for p in parts]),
        )


@dataclass(frozen=True)
class PatchSamples:
    """Subsampled patches of the error, ground truth and restored images for the
    nearest-neighbour estimators (docs/theory.md 3.10)."""

    error: torch.Tensor
    truth: torch.Tensor
    restored: torch.Tensor


@dataclass
class _BatchRecord:
    """What a group keeps of a batch once its moments are summed: per-pair numbers, samples."""

    indices: list[int]
    values: PairValues
    samples: PatchSamples


class GroupStatistics:
    """One group's statistics, accumulated batch by batch.

    Patch moments, the only per-pair statistics of size d^2, are turned into the pairs'
    Gaussian estimates and added to the group's pooled and bootstrap-weighted sums as each
    batch arrives (docs/theory.md 3.3-3.5): the bootstrap resamples pairs with the multinomial
    counts ``weights`` (R x n, drawn before the first batch), so resample r's sums are
    ``sum_i weights[r, i] * moments_i`` whatever the batch order. Memory is R + 1 sums of
    d x d matrices per moment kind, not n.
    """

    def __init__(
        self,
        members: list[int],
        weights: torch.Tensor | None,
        order: float,
        samples: GroupSamples | None = None,
    ) -> None:
        """``members``: the group's pair indices in submission order (``weights``' columns);
        ``samples``: the accumulator of several outputs per input, when there are."""
        self.column = {index: column for column, index in enumerate(members)}
        self.samples = samples
        self.weights = weights
        self.order = order
        self.records: list[_BatchRecord] = []
        self.moments = _StreamedTriple()
        self.extra: dict[int, _StreamedTriple] = {}
        self.uncertainty: list[torch.Tensor] = []
        self.perception: list[torch.Tensor] = []
        self.patch_count = 0
        self.restored_quantised = True

    def add(self, batch: BatchStatistics) -> None:
        """Fold a batch in; the batch's moments are not kept."""
        weights = None
        if self.weights is not None:
            weights = self.weights[:, [self.column[i] for i in batch.indices]]
        self.moments.add(batch.moments, weights)
        for size, parts in batch.extra.items():
            self.extra.setdefault(size, _StreamedTriple()).add(parts, weights)
        self.uncertainty.append(gaussian_entropy_power_from_statistics(batch.moments.error))
        self.perception.append(
            gaussian_renyi_divergence_from_statistics(
                batch.moments.truth, batch.moments.restored, self.order
            )
        )
        self.patch_count += int(batch.moments.error.count.sum())
        self.restored_quantised &= batch.restored_quantised
        if self.samples is not None and batch.samples is not None:
            self.samples.add(batch.samples)
        self.records.append(_BatchRecord(batch.indices, batch.values, batch.knn))

    def finish(self) -> FinishedGroup:
        """Everything in submission order."""
        order = torch.tensor([i for r in self.records for i in r.indices])
        perm = torch.argsort(order)
        values = PairValues.concatenated([r.values for r in self.records], perm)

        def samples(parts: list[torch.Tensor]) -> torch.Tensor:
            # A set of patches: pairs of other sizes may contribute other counts, order is moot.
            return torch.cat([part.flatten(0, 1) for part in parts])

        sums = self.moments.finish()
        return FinishedGroup(
            indices=order[perm].tolist(),
            values=values,
            pair_uncertainty=torch.cat(self.uncertainty)[perm],
            pair_perception=torch.cat(self.perception)[perm],
            sums=sums,
            weights=self.weights,
            patch_count=self.patch_count,
            knn=PatchSamples(
                samples([r.samples.error for r in self.records]),
                samples([r.samples.truth for r in self.records]),
                samples([r.samples.restored for r in self.records]),
            ),
            by_patch_size={size: sums.finish() for size, sums in self.extra.items()},
            restored_quantised=self.restored_quantised,
            samples=self.samples.finish() if self.samples is not None else None,
        )


@dataclass(frozen=True)
class MomentSums:
    """A group's pooled (one row) and bootstrap-resampled (R rows, or None) moment sums of
    error, truth and restored patches at one patch size."""

    pooled_error: PatchMoments
    pooled_truth: PatchMoments
    pooled_restored: PatchMoments
    resampled_error: PatchMoments | None
    resampled_truth: PatchMoments | None
    resampled_restored: PatchMoments | None


@dataclass(frozen=True)
class FinishedGroup:
    """One group's statistics (CPU, float64): per-pair values in submission order, and the
    pooled (one row) and bootstrap-resampled (R rows, or None) patch-moment sums."""

    indices: list[int]
    values: PairValues
    """The per-pair numbers, ``(n,)`` each, in submission order."""
    pair_uncertainty: torch.Tensor
    pair_perception: torch.Tensor
    sums: MomentSums
    """The moment sums at the main patch size."""
    weights: torch.Tensor | None
    """The bootstrap's resampling counts (R x n pairs), or None without a bootstrap."""
    patch_count: int
    knn: PatchSamples
    """Every pair's subsampled patches, in batch order."""
    by_patch_size: dict[int, MomentSums]
    """Moment sums at the extra patch sizes of the dimension sweep (docs/theory.md 3.11)."""
    restored_quantised: bool
    """Whether every restored image of the group lies on the 8-bit grid."""
    samples: FinishedSamples | None = None
    """Several outputs per input (docs/theory.md 3.9), or None."""

    @property
    def dimension(self) -> int:
        """Patch dimension d = C p^2."""
        return int(self.sums.pooled_error.total.shape[-1])
