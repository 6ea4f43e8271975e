"""Per-pair sufficient statistics, computed batch by batch on the device.

The engine streams pairs through the device in batches and keeps only what the group-level
estimates need: per-pair distortion numbers, per-pair patch moments (THEORY.md 3.3), a seeded
subsample of patches for the nearest-neighbour estimators, and the invented-detail energies
(THEORY.md 3.7). Everything kept is small next to the images, so memory is bounded by the batch
size, not by the job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from workers.estimators.color import convert_color, crop_border
from workers.estimators.consistency import measurement_map, measurement_residual, null_space_map
from workers.estimators.degradation import DegradationOperator
from workers.estimators.distortion import distortion_metrics
from workers.estimators.hallucination import invented_detail_map, invented_detail_statistics
from workers.estimators.patches import PatchMoments, patch_moments, sample_patches


@dataclass(frozen=True)
class StatisticSettings:
    """The estimator settings one batch needs (resolved from AuditOptions)."""

    color: str
    crop: int
    patch_size: int
    patch_stride: int
    detail_sigma: float
    map_window_sigma: float
    knn_per_pair: int


@dataclass
class BatchStatistics:
    """Statistics of one batch of B pairs, moved to the CPU."""

    indices: list[int]
    mse: torch.Tensor
    psnr: torch.Tensor
    ssim: torch.Tensor
    error: PatchMoments
    truth: PatchMoments
    restored: PatchMoments
    knn_error: torch.Tensor
    knn_truth: torch.Tensor
    knn_restored: torch.Tensor
    residual_energy: torch.Tensor
    detail_energy: torch.Tensor
    measurement_residual: torch.Tensor
    """(B,) mean |H x_hat - y|^2 (THEORY.md 3.7); NaN where no observation was given."""
    maps: dict[str, torch.Tensor] = field(default_factory=dict)
    """Per-pixel maps ``(B, 1, H', W')`` on the cropped grid, by artifact kind."""


def _crop(images: torch.Tensor, settings: StatisticSettings) -> torch.Tensor:
    return crop_border(images, settings.crop) if settings.crop > 0 else images


def prepare(images: torch.Tensor, settings: StatisticSettings) -> torch.Tensor:
    """Colour conversion then border crop (THEORY.md 3.1)."""
    return _crop(convert_color(images, settings.color), settings)  # type: ignore[arg-type]


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
) -> BatchStatistics:
    """Compute every per-pair statistic of one same-size batch ``(B, C, H, W)``."""
    x_full = convert_color(truth, settings.color)  # type: ignore[arg-type]
    x_hat_full = convert_color(restored, settings.color)  # type: ignore[arg-type]
    x, x_hat = _crop(x_full, settings), _crop(x_hat_full, settings)
    error = x_hat - x
    metrics = distortion_metrics(x_hat, x, data_range=1.0)
    p, s = settings.patch_size, settings.patch_stride
    # One call for the three stacks: the lag sums run once over a 3B batch.
    stacked = patch_moments(torch.cat([error, x, x_hat]), p, s)
    count = truth.shape[0]
    moments = [
        PatchMoments(
            stacked.count[i * count : (i + 1) * count],
            stacked.total[i * count : (i + 1) * count],
            stacked.outer[i * count : (i + 1) * count],
        )
        for i in range(3)
    ]
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
    cpu = [_moments_to_cpu(m) for m in moments]
    return BatchStatistics(
        indices=indices,
        mse=metrics.mse.double().cpu(),
        psnr=metrics.psnr.double().cpu(),
        ssim=metrics.ssim.double().cpu(),
        error=cpu[0],
        truth=cpu[1],
        restored=cpu[2],
        knn_error=samples[0].double().cpu(),
        knn_truth=samples[1].double().cpu(),
        knn_restored=samples[2].double().cpu(),
        residual_energy=residual.double().cpu(),
        detail_energy=detail_energy.double().cpu(),
        measurement_residual=residual_measure,
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
        observed = torch.stack(
            [degradation.observations[i] for i in rows]  # type: ignore[misc]
        ).to(x_full.device)
        observed = convert_color(observed, settings.color)  # type: ignore[arg-type]
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
    floor of THEORY.md 3.6) undoes the quantisation; it matters only for errors of about a
    grey level, where it adds at most that floor to the estimate.
    """
    noise = torch.rand(samples.shape, generator=generator)  # float32: plenty for a jitter
    noise = noise.to(device=samples.device, dtype=samples.dtype)
    return samples + (noise - 0.5) * QUANTUM


def _moments_to_cpu(m: PatchMoments) -> PatchMoments:
    return PatchMoments(m.count.cpu(), m.total.cpu(), m.outer.cpu())


@dataclass
class GroupStatistics:
    """All per-pair statistics of one group, in pair order, concatenated over batches."""

    batches: list[BatchStatistics] = field(default_factory=list)

    def add(self, batch: BatchStatistics) -> None:
        self.batches.append(batch)

    def _cat(self, name: str) -> torch.Tensor:
        return torch.cat([getattr(b, name) for b in self.batches])

    def _cat_samples(self, name: str) -> torch.Tensor:
        # A set of patches: pairs of other sizes may contribute other counts, order is moot.
        return torch.cat([getattr(b, name).flatten(0, 1) for b in self.batches])

    def _cat_moments(self, name: str) -> PatchMoments:
        parts: list[PatchMoments] = [getattr(b, name) for b in self.batches]
        return PatchMoments(
            torch.cat([m.count for m in parts]),
            torch.cat([m.total for m in parts]),
            torch.cat([m.outer for m in parts]),
        )

    def finish(self) -> FinishedGroup:
        order = torch.tensor([i for b in self.batches for i in b.indices])
        perm = torch.argsort(order)
        error = self._cat_moments("error")
        truth = self._cat_moments("truth")
        restored = self._cat_moments("restored")

        def take(t: torch.Tensor) -> torch.Tensor:
            return t[perm]

        def take_m(m: PatchMoments) -> PatchMoments:
            return PatchMoments(m.count[perm], m.total[perm], m.outer[perm])

        return FinishedGroup(
            indices=take(order).tolist(),
            mse=take(self._cat("mse")),
            psnr=take(self._cat("psnr")),
            ssim=take(self._cat("ssim")),
            error=take_m(error),
            truth=take_m(truth),
            restored=take_m(restored),
            knn_error=self._cat_samples("knn_error"),
            knn_truth=self._cat_samples("knn_truth"),
            knn_restored=self._cat_samples("knn_restored"),
            residual_energy=take(self._cat("residual_energy")),
            detail_energy=take(self._cat("detail_energy")),
            measurement_residual=take(self._cat("measurement_residual")),
        )


@dataclass(frozen=True)
class FinishedGroup:
    """One group's per-pair statistics in submission order (CPU, float64)."""

    indices: list[int]
    mse: torch.Tensor
    psnr: torch.Tensor
    ssim: torch.Tensor
    error: PatchMoments
    truth: PatchMoments
    restored: PatchMoments
    knn_error: torch.Tensor
    knn_truth: torch.Tensor
    knn_restored: torch.Tensor
    residual_energy: torch.Tensor
    detail_energy: torch.Tensor
    measurement_residual: torch.Tensor
