"""The degradation-aware part of the audit (docs/theory.md 2, 3.6, 3.7).

When the client names the degradation, the engine can say how uncertain the problem itself
is, N(X|Y), and where each restorer sits against the Gaussian-oracle frontier r_oracle(P) of
docs/theory.md 3.6 (revision 2: a single-output audit measures the marginal perception index, for
which eta(P; d) is not a floor). The prior is refitted inside the bootstrap resamples, so N,
the ratio, r_oracle and the region carry the prior's sampling uncertainty too. Everything here
rests on the Gaussian model of docs/theory.md 2 and the report says so in its warnings.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch

from api_schemas.conventions import BT601_LUMA_WEIGHTS, MATLAB_Y_WEIGHTS
from api_schemas.degradation import (
    DegradationSpec,
    DownsampleSpec,
    linear_steps,
    noise_variance,
    super_resolution_factor,
)
from api_schemas.options import AuditOptions
from api_schemas.report import Estimate
from workers.estimators.bootstrap import percentile_interval
from workers.estimators.degradation import Blur, DegradationOperator, Downsample, Step
from workers.estimators.frontier import (
    frontier_min_perception,
    frontier_points,
    frontier_ratio,
)
from workers.estimators.inherent import (
    PosteriorSums,
    block_entropy_powers,
    posterior_blocks_from_sums,
    posterior_sums,
    shrinkage_intensity,
    window_matrices,
    window_stride,
)

# Squared luma weights: the variance of luma noise per unit of (independent) RGB noise.
_LUMA_NOISE_GAIN = {
    "y": sum(w**2 for w in MATLAB_Y_WEIGHTS),
    "y_full": sum(w**2 for w in BT601_LUMA_WEIGHTS),
}
_PRIOR_PIXEL_BUDGET = 8_000_000
"""Ground-truth pixels (times channels) kept per group to fit the window prior of 3.6."""
_PRIOR_SUM_BYTES = 256 * 2**20
"""Memory for the per-image projected window sums that let each bootstrap resample refit the
prior (``PosteriorSums``): it caps the prior's images (at 97 for pure noise on luma, where
the observations are the whole window; far more under downsampling)."""

GAUSSIAN_MODEL_NOTE = (
    "inherent_uncertainty, uncertainty_ratio, uncertainty_floor_ratio, min_perception_index "
    "and up_region rest on the Gaussian model of docs/theory.md 2 (a Gaussian prior fitted to "
    "ground-truth windows). On real photographs the true N(X|Y) is smaller than the Gaussian "
    "one, so a good non-linear restorer can measure a ratio under 1 and land below the "
    "Gaussian-oracle frontier: that is not an error"
)
ROUNDING_VARIANCE = 1.0 / (12 * 255.0**2)
"""Variance of the rounding of one 8-bit image (docs/theory.md 3.6)."""

UpRegion = Literal["below_bound", "on_bound", "above_bound"]


def linear_operator(spec: DegradationSpec) -> DegradationOperator:
    """The estimators' H of a validated degradation: its blur and downsampling steps, in order
    (noise does not change H; docs/theory.md §3.6).

    Example:
        >>> linear_operator(parse_degradation_short("blur:1+downsample:2")).steps
        (Blur(sigma=1.0, kernel=None), Downsample(factor=2, kernel='bicubic'))
    """
    steps: list[Step] = []
    for step in linear_steps(spec):
        if isinstance(step, DownsampleSpec):
            steps.append(Downsample(factor=step.factor, kernel=step.kernel))
        elif step.kernel is not None:
            steps.append(Blur(kernel=tuple(tuple(float(v) for v in row) for row in step.kernel)))
        else:
            steps.append(Blur(sigma=step.sigma))
    return DegradationOperator(steps)


@dataclass(frozen=True)
class KnownDegradation:
    """A validated degradation with its linear operator and noise level."""

    spec: dict[str, Any]
    operator: DegradationOperator
    factor: int | None
    rgb_noise_variance: float

    @classmethod
    def from_options(cls, options: AuditOptions) -> KnownDegradation | None:
        """The degradation of ``options``, or None when none was named."""
        spec = options.degradation_spec
        if options.degradation is None or spec is None:
            return None
        return cls(
            spec=options.degradation,
            operator=linear_operator(spec),
            factor=super_resolution_factor(spec),
            rgb_noise_variance=noise_variance(spec),
        )

    def noise_variance_for(self, color: str, input_channels: int) -> float:
        """s^2 in the colour space of the statistics: luma of RGB noise scales it."""
        if input_channels == 3 and color in _LUMA_NOISE_GAIN:
            return self.rgb_noise_variance * _LUMA_NOISE_GAIN[color]
        return self.rgb_noise_variance

    def rounding_variance(self, color: str, input_channels: int) -> float:
        """Variance per statistic channel of one 8-bit image's rounding (docs/theory.md 3.6)."""
        if input_channels == 3 and color in _LUMA_NOISE_GAIN:
            return ROUNDING_VARIANCE * _LUMA_NOISE_GAIN[color]
        return ROUNDING_VARIANCE

    def margin(self, options: AuditOptions) -> int:
        """Margin m of 3.6: the operator's reach plus the factor less one, at least 8."""
        if options.inherent_margin is not None:
            return options.inherent_margin
        return max(8, self.operator.support_radius() + (self.factor or 1) - 1)


class PriorImages:
    """A bounded sample of one group's colour-converted ground truths, for the prior of 3.6.

    Uncropped: the prior models image content, and the border crop of 3.1 concerns the
    error statistics; the whole image gives the window fit more windows.

    Keeps images of the first size seen, each with the index of its pair (so the bootstrap
    can weight it as it weights the pair), until the pixel budget or the memory for their
    window sums (``window`` pixels square) is spent, so memory does not grow with the job.
    """

    def __init__(
        self, known: KnownDegradation, options: AuditOptions, budget: int = _PRIOR_PIXEL_BUDGET
    ) -> None:
        self.margin = known.margin(options)
        self.operator = known.operator
        self.window = options.patch_size + 2 * self.margin
        channels = 3 if options.color == "rgb" else 1
        self.channels = channels
        self.matrices = window_matrices(known.operator, self.window, channels)
        self._geometry = {options.patch_size: (self.window, self.matrices)}
        d = channels * options.patch_size**2
        d_w = channels * self.window**2
        per_image = 8 * (
            sum(m.shape[0] * (m.shape[0] + d) for m in self.matrices) + d * d + 3 * d_w
        )
        self.by_memory = max(2, _PRIOR_SUM_BYTES // per_image)
        self.budget = budget
        self.images: list[torch.Tensor] = []
        self.pairs: list[int] = []
        self.shape: tuple[int, ...] | None = None
        self.input_channels = 1
        self.capacity = 0

    def geometry(self, patch_size: int) -> tuple[int, list[torch.Tensor]]:
        """Window side and observation matrices for patches of ``patch_size`` (same margin)."""
        if patch_size not in self._geometry:
            window = patch_size + 2 * self.margin
            self._geometry[patch_size] = (
                window,
                window_matrices(self.operator, window, self.channels),
            )
        return self._geometry[patch_size]

    def wants(self) -> bool:
        """Whether there is room for more images."""
        return self.shape is None or len(self.images) < self.capacity

    def offer(self, prepared: torch.Tensor, input_channels: int, pairs: list[int]) -> None:
        """Keep what fits of a ``(B, C, H, W)`` batch of prepared ground truths."""
        if self.shape is None:
            self.shape = tuple(prepared.shape[1:])
            self.input_channels = input_channels
            per_image = max(1, prepared[0].numel())
            self.capacity = int(max(2, min(self.budget // per_image, self.by_memory)))
        if tuple(prepared.shape[1:]) != self.shape:
            return
        room = self.capacity - len(self.images)
        if room > 0:
            self.images.extend(prepared[:room].float().cpu().unbind(0))
            self.pairs.extend(pairs[:room])


@dataclass(frozen=True)
class PosteriorModel:
    """The Gaussian window model fitted to a group's ground truths (docs/theory.md 3.6)."""

    sums: PosteriorSums
    shrinkage: float
    noise_variance: float
    posterior_block: torch.Tensor
    """B, pooled over phases, rounding included as in the ratios."""
    margin: int
    restored_rounding: float = 0.0
    """The restored images' 8-bit rounding variance in ``posterior_block`` (the truth's is in
    the prior it was fitted to)."""


@dataclass(frozen=True)
class BoundPlacement:
    """Where a group sits against the Gaussian-oracle frontier (docs/theory.md 3.6)."""

    inherent: Estimate | None
    inherent_per_phase: float | None
    margin: int
    ratio: Estimate | None
    floor_ratio: Estimate | None
    min_perception_index: float | None
    region: UpRegion | None
    frontier: list[tuple[float, float]] | None
    prior_resamples: int
    ratio_of_pair: Callable[[float | None], float | None]
    model: PosteriorModel | None = None
    """The fitted Gaussian model, for the conditional audit of several samples (3.9)."""

    @property
    def floor(self) -> float | None:
        """r_oracle(P) N(X|Y), the oracle's uncertainty at the group's perception."""
        if self.inherent is None or self.floor_ratio is None:
            return None
        if self.inherent.value is None or self.floor_ratio.value is None:
            return None
        return self.inherent.value * self.floor_ratio.value


def _no_ratio(_: float | None) -> float | None:
    return None


def _unplaced(margin: int) -> BoundPlacement:
    return BoundPlacement(None, None, margin, None, None, None, None, None, 0, _no_ratio)


@dataclass(frozen=True)
class Measured:
    """What the placement needs of a group: U and the marginal D_1/2 (bias-corrected), each
    as a point value and, with a bootstrap, one value per resample (same resamples)."""

    uncertainty: float | None
    uncertainty_resampled: torch.Tensor | None
    perception: float | None
    perception_resampled: torch.Tensor | None
    weights: torch.Tensor | None
    """(R, n) resampling counts of the group's pairs."""
    columns: dict[int, int]
    """Pair index -> column of ``weights``."""
    rounding_variance: float
    """Variance per pixel that 8-bit rounding of the restored images adds to every error."""


def _interval(values: torch.Tensor | None, level: float) -> tuple[float | None, float | None]:
    if values is None or values.numel() == 0:
        return None, None
    low, high = percentile_interval(values.to(torch.float64), level)
    return _finite(low), _finite(high)


def place_on_frontier(
    prior: PriorImages,
    known: KnownDegradation,
    options: AuditOptions,
    measured: Measured,
    dimension: int,
    patch_size: int | None = None,
) -> BoundPlacement:
    """N(X|Y), the uncertainty ratio, r_oracle(P), P_min and the UP region of a group.

    Implements docs/theory.md 3.6 (revision 2). With a bootstrap, the prior's window moments are
    re-weighted with each resample's pair counts (for the first resamples that the work
    budget allows), so N, r, P and r_oracle come from the same resamples; the region
    compares r / r_oracle(P) with 1 through its interval, allowing ``bound_tolerance``.
    """
    margin = prior.margin
    p = options.patch_size if patch_size is None else patch_size
    window, matrices = prior.geometry(p)
    if not prior.images or prior.shape is None or min(prior.shape[-2:]) < window:
        return _unplaced(margin)
    images = torch.stack(prior.images).to(torch.float64)
    noise = known.noise_variance_for(options.color, prior.input_channels)
    stride = window_stride(tuple(images.shape), window)
    sums = posterior_sums(images, matrices, p, margin, stride)
    d_w = images.shape[1] * window * window
    lam = 0.0
    if float(sums.count.sum()) < 10 * d_w:
        lam = shrinkage_intensity(images, window, stride)
    rounding = measured.rounding_variance * torch.eye(dimension, dtype=torch.float64)

    prior_blocks, blocks = posterior_blocks_from_sums(sums, noise, None, lam)
    prior_block, pooled_block = prior_blocks[0], blocks[0].mean(dim=-3)
    inherent_t, per_phase_t = block_entropy_powers(blocks[0] + rounding)
    inherent, per_phase = _finite(float(inherent_t)), _finite(float(per_phase_t))
    if inherent is None or inherent <= 0:
        return _unplaced(margin)

    # The bootstrap: the prior refitted with each resample's counts of the prior's pairs.
    resampled_inherent = resampled_block = resampled_prior_block = None
    used = 0
    if measured.weights is not None:
        used = measured.weights.shape[0]
        columns = [measured.columns[i] for i in prior.pairs]
        resampled_prior_block, resampled = posterior_blocks_from_sums(
            sums, noise, measured.weights[:, columns], lam
        )
        resampled_inherent = block_entropy_powers(resampled + rounding)[0]
        resampled_block = resampled.mean(dim=-3)

    level = options.bootstrap.level
    n_pairs = len(measured.columns)
    inherent_estimate = _with_interval(
        inherent,
        resampled_inherent,
        level,
        f"gaussian_window_prior_m{margin}_posterior_pooled_over_phases",
        int(sums.count.sum()),
    )
    frontier = frontier_points(prior_block, pooled_block)
    u = measured.uncertainty
    if u is None:
        return BoundPlacement(
            inherent_estimate,
            per_phase,
            margin,
            None,
            None,
            None,
            None,
            frontier,
            used,
            _no_ratio,
        )

    def pair_ratio(value: float | None) -> float | None:
        return None if value is None else value / inherent

    ratio = u / inherent
    ratio_resampled = None
    if resampled_inherent is not None and measured.uncertainty_resampled is not None:
        ratio_resampled = measured.uncertainty_resampled[:used] / resampled_inherent
    ratio_estimate = _with_interval(
        ratio, ratio_resampled, level, "uncertainty_gaussian / inherent_uncertainty", n_pairs
    )
    p_min = _finite(float(frontier_min_perception(prior_block, pooled_block, ratio)))
    if measured.perception is None:
        return BoundPlacement(
            inherent_estimate,
            per_phase,
            margin,
            ratio_estimate,
            None,
            p_min,
            None,
            frontier,
            used,
            pair_ratio,
        )
    floor = float(frontier_ratio(prior_block, pooled_block, measured.perception))
    floor_resampled = None
    if (
        resampled_prior_block is not None  # set together with resampled_block
        and resampled_block is not None
        and measured.perception_resampled is not None
    ):
        floor_resampled = frontier_ratio(
            resampled_prior_block,
            resampled_block,
            measured.perception_resampled[:used],
        )
    floor_estimate = _with_interval(
        floor, floor_resampled, level, "gaussian_oracle_frontier_at_marginal_p", n_pairs
    )
    gap_low = gap_high = ratio / floor
    if ratio_resampled is not None and floor_resampled is not None:
        low, high = _interval(ratio_resampled / floor_resampled, level)
        if low is not None and high is not None:
            gap_low, gap_high = min(low, gap_low), max(high, gap_high)
    slack = options.bound_tolerance
    region: UpRegion
    if gap_high * (1 + slack) < 1.0:
        region = "below_bound"
    elif gap_low * (1 - slack) <= 1.0:
        region = "on_bound"
    else:
        region = "above_bound"
    return BoundPlacement(
        inherent_estimate,
        per_phase,
        margin,
        ratio_estimate,
        floor_estimate,
        p_min,
        region,
        frontier,
        used,
        pair_ratio,
        PosteriorModel(
            sums, lam, noise, pooled_block + rounding, margin, measured.rounding_variance
        ),
    )


def _with_interval(
    value: float, resampled: torch.Tensor | None, level: float, estimator: str, n: int
) -> Estimate:
    low, high = _interval(resampled, level)
    return Estimate(value=_finite(value), ci_low=low, ci_high=high, estimator=estimator, n=n)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
