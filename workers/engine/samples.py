"""Several outputs per input: the conditional statistics of docs/theory.md 3.9, streamed.

A stochastic restorer run K >= 2 times on one input gives K samples. Per batch, the engine
keeps only sufficient statistics of each input's samples: the patch moments of the deviations
from the input's sample mean (their pooled covariance is the *spread*, the restorer's own
uncertainty about the input), the mean per-pixel sample standard deviation, and a seeded
subsample of the conformal scores ``|x - mean| / std`` of the pixels (docs/theory.md 3.9,
per-pixel intervals). No per-sample tensor outlives its batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from workers.estimators.patches import PatchMoments, patch_moments

SCORES_PER_INPUT = 4096
"""Pixels per input whose conformal score is kept (a seeded subsample): enough for the
quantile and the coverage to about 0.5 % with a few inputs, and memory stays flat."""
_TINY = 1e-12
CONDITIONAL_PIXEL_BUDGET = 8_000_000
"""Values of sample means and ground truths kept per group for the conditional index (with
their observations): it is an average over inputs, which a few dozen images pin down."""


@dataclass(frozen=True)
class ConditionalInput:
    """One input kept for the conditional perception index (docs/theory.md 3.9), its images
    uncropped and colour-converted."""

    input: int
    """Group input index."""
    sample_mean: torch.Tensor
    """(C, H, W) mean of the input's samples."""
    observation: torch.Tensor
    """(C, h, w) the input's observation."""
    truth: torch.Tensor
    """(C, H, W) the input's ground truth: it measures how far the model's posterior mean
    is from the truth, the part of the samples' deviation that no restorer causes."""

    @property
    def pixels(self) -> int:
        """Values kept (sample mean and truth), against the group's budget."""
        return self.sample_mean.numel() + self.truth.numel()


@dataclass
class SampleBatch:
    """The samples' statistics of the inputs in one batch (CPU, float64)."""

    inputs: list[int]
    """Group input index of each row below."""
    samples: list[int]
    """K of each input."""
    spread: PatchMoments
    """Within-input deviation moments per input; ``count`` is positions x (K - 1), so
    ``outer / count`` is the unbiased within-input covariance."""
    sigma_mean: torch.Tensor
    """(n_in,) mean over pixels of the per-pixel sample standard deviation."""
    scores: list[torch.Tensor | None]
    """Per input, a subsample of ``|x - mean| / std`` (None without ground truth)."""
    sigma_map: torch.Tensor
    """(n_in, 1, H, W) per-pixel sample standard deviation (root mean over channels)."""
    conditional: list[ConditionalInput] | None = None
    """Per input with an observation, for the conditional perception index."""


def sample_statistics(
    truth: torch.Tensor | None,
    restored: torch.Tensor,
    rows_of_input: list[list[int]],
    inputs: list[int],
    patch_size: int,
    patch_stride: int,
    generator: torch.Generator,
) -> SampleBatch:
    """Within-input statistics of ``restored`` ``(B, C, H, W)``, rows grouped by input.

    Implements docs/theory.md 3.9 (spread and per-pixel intervals): for input ``i`` with rows
    ``rows_of_input[i]`` (K >= 2 samples), the deviations ``x_k - mean`` give the spread's
    moments (``sum_k`` of their patch outer products, ``count = positions (K - 1)``), the
    per-pixel standard deviation ``sqrt(sum_k dev^2 / (K - 1))`` and, with ``truth`` (the
    colour-converted, cropped ground truth of the same rows), the scores ``|x - mean| / std``.
    """
    spreads: list[PatchMoments] = []
    sigma_means: list[float] = []
    scores: list[torch.Tensor | None] = []
    sigma_maps: list[torch.Tensor] = []
    counts: list[int] = []
    for rows in rows_of_input:
        block = restored[rows]
        k = block.shape[0]
        mean = block.mean(dim=0, keepdim=True)
        deviation = block - mean
        moments = patch_moments(deviation, patch_size, patch_stride).pooled()
        positions = float(moments.count[0]) / k
        spreads.append(
            PatchMoments(
                torch.tensor([positions * (k - 1)], dtype=torch.float64),
                moments.total.cpu(),
                moments.outer.cpu(),
            )
        )
        variance = deviation.square().sum(dim=0) / (k - 1)  # (C, H, W)
        sigma = variance.sqrt()
        sigma_means.append(float(sigma.double().mean()))
        sigma_maps.append(variance.mean(dim=0, keepdim=True).sqrt().cpu())
        counts.append(k)
        if truth is None:
            scores.append(None)
            continue
        gap = (truth[rows[0]] - mean[0]).abs()
        score = torch.where(
            sigma > _TINY, gap / sigma.clamp(min=_TINY), torch.where(gap > _TINY, math.inf, 0.0)
        ).flatten()
        take = min(SCORES_PER_INPUT, score.numel())
        chosen = torch.randperm(score.numel(), generator=generator)[:take].to(score.device)
        scores.append(score[chosen].double().cpu())
    return SampleBatch(
        inputs=inputs,
        samples=counts,
        spread=PatchMoments(
            torch.cat([s.count for s in spreads]),
            torch.cat([s.total for s in spreads]),
            torch.cat([s.outer for s in spreads]),
        ),
        sigma_mean=torch.tensor(sigma_means, dtype=torch.float64),
        scores=scores,
        sigma_map=torch.stack(sigma_maps),
    )


@dataclass(frozen=True)
class FinishedSamples:
    """One group's sample statistics: spread sums pooled (one row) and resampled over inputs
    (R rows, or None), and the conformal scores split into calibration and evaluation."""

    per_input: list[int]
    pooled_spread: PatchMoments
    resampled_spread: PatchMoments | None
    calibration_scores: torch.Tensor
    evaluation_scores: torch.Tensor
    evaluation_sigma: torch.Tensor
    """Mean per-pixel standard deviation of each evaluation input."""
    conditional: list[ConditionalInput]
    """The inputs kept for the conditional index."""
    weights: torch.Tensor | None = None
    """The bootstrap's counts over inputs (R x n_inputs), or None."""


class GroupSamples:
    """A group's sample statistics, accumulated batch by batch (docs/theory.md 3.9).

    ``weights`` are the bootstrap's counts over *inputs* (R x n_inputs): the samples of one
    input are dependent, so inputs, not samples, are resampled. ``calibration`` holds the
    inputs whose scores calibrate the per-pixel intervals (split conformal); the others
    measure their coverage.
    """

    def __init__(self, weights: torch.Tensor | None, calibration: set[int]) -> None:
        self.weights = weights
        self.calibration = calibration
        self.pooled: PatchMoments | None = None
        self.resampled: PatchMoments | None = None
        self.per_input: dict[int, int] = {}
        self.calibration_scores: list[torch.Tensor] = []
        self.evaluation_scores: list[torch.Tensor] = []
        self.evaluation_sigma: list[float] = []
        self.conditional: list[ConditionalInput] = []
        self._conditional_pixels = 0

    def add(self, batch: SampleBatch) -> None:
        """Fold one batch's inputs in."""
        pooled = batch.spread.pooled()
        self.pooled = pooled if self.pooled is None else _plus(self.pooled, pooled)
        if self.weights is not None:
            part = batch.spread.weighted(self.weights[:, batch.inputs])
            self.resampled = part if self.resampled is None else _plus(self.resampled, part)
        for entry in batch.conditional or []:
            pixels = entry.pixels
            if self._conditional_pixels + pixels <= CONDITIONAL_PIXEL_BUDGET:
                self.conditional.append(entry)
                self._conditional_pixels += pixels
        for row, index in enumerate(batch.inputs):
            self.per_input[index] = batch.samples[row]
            scores = batch.scores[row]
            if scores is None:
                continue
            if index in self.calibration:
                self.calibration_scores.append(scores)
            else:
                self.evaluation_scores.append(scores)
                self.evaluation_sigma.append(float(batch.sigma_mean[row]))

    def finish(self) -> FinishedSamples:
        """The group's sample statistics."""
        assert self.pooled is not None
        empty = torch.zeros(0, dtype=torch.float64)
        return FinishedSamples(
            per_input=[self.per_input[i] for i in sorted(self.per_input)],
            pooled_spread=self.pooled,
            resampled_spread=self.resampled,
            calibration_scores=torch.cat(self.calibration_scores)
            if self.calibration_scores
            else empty,
            evaluation_scores=torch.cat(self.evaluation_scores)
            if self.evaluation_scores
            else empty,
            evaluation_sigma=torch.tensor(self.evaluation_sigma, dtype=torch.float64),
            conditional=self.conditional,
            weights=self.weights,
        )


def _plus(total: PatchMoments, part: PatchMoments) -> PatchMoments:
    return PatchMoments(
        total.count + part.count, total.total + part.total, total.outer + part.outer
    )


def conformal_coverage(
    calibration: torch.Tensor, evaluation: torch.Tensor, sigma: torch.Tensor, level: float
) -> tuple[float, float, float] | None:
    """Split-conformal per-pixel intervals ``mean +- q std`` (docs/theory.md 3.9).

    ``q`` is the ``ceil((n + 1) level)``-th smallest of the ``n`` calibration scores, so the
    intervals cover a fresh pixel with probability at least ``level`` when scores are
    exchangeable. Returns ``(q, coverage, mean_width)`` measured on the evaluation scores and
    inputs (width in intensity units), or None without both halves.

    Example:
        >>> cal = torch.arange(1.0, 10.0, dtype=torch.float64)  # scores 1..9
        >>> sigma = torch.tensor([0.1], dtype=torch.float64)
        >>> conformal_coverage(cal, torch.tensor([0.5, 8.5, 20.0]), sigma, 0.8)
        (8.0, 0.3333333333333333, 1.6)
    """
    if calibration.numel() == 0 or evaluation.numel() == 0 or sigma.numel() == 0:
        return None
    ordered = torch.sort(calibration).values
    rank = math.ceil((calibration.numel() + 1) * level)
    q = math.inf if rank > calibration.numel() else float(ordered[rank - 1])
    coverage = float((evaluation <= q).double().mean())
    width = 2.0 * q * float(sigma.mean())
    return q, coverage, width
