"""The degradation-aware part of the audit (THEORY.md 2, 3.6, 3.7).

When the client names the degradation, the engine can say how uncertain the problem itself
is, N(X|Y), and where each restorer sits against the uncertainty-perception bound
eta(P; d) N(X|Y). Everything here rests on the Gaussian model of THEORY.md 2 and the report
says so in its warnings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import torch

from api_schemas.degradation import noise_variance, parse_degradation, super_resolution_factor
from api_schemas.options import AuditOptions
from api_schemas.report import Estimate
from workers.estimators.bounds import min_perception_index, min_uncertainty_multiplier
from workers.estimators.degradation import DegradationOperator
from workers.estimators.inherent import inherent_uncertainty

# Squared luma weights: the variance of luma noise per unit of (independent) RGB noise.
_LUMA_NOISE_GAIN = {
    "y": sum((c / 255.0) ** 2 for c in (65.481, 128.553, 24.966)),
    "y_full": 0.299**2 + 0.587**2 + 0.114**2,
}
_PRIOR_PIXEL_BUDGET = 8_000_000
"""Ground-truth pixels (times channels) kept per group to fit the window prior of 3.6."""

GAUSSIAN_MODEL_NOTE = (
    "inherent_uncertainty, uncertainty_ratio, min_perception_index and up_region rest on the "
    "Gaussian model of THEORY.md 2 (a Gaussian prior fitted to ground-truth windows)"
)

UpRegion = Literal["below_bound", "on_bound", "above_bound"]


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
        if options.degradation is None:
            return None
        spec = parse_degradation(options.degradation)
        return cls(
            spec=options.degradation,
            operator=DegradationOperator.from_spec(options.degradation),
            factor=super_resolution_factor(spec),
            rgb_noise_variance=noise_variance(spec),
        )

    def noise_variance_for(self, color: str, input_channels: int) -> float:
        """s^2 in the colour space of the statistics: luma of RGB noise scales it."""
        if input_channels == 3 and color in _LUMA_NOISE_GAIN:
            return self.rgb_noise_variance * _LUMA_NOISE_GAIN[color]
        return self.rgb_noise_variance

    def margin(self, options: AuditOptions) -> int:
        """Margin m of 3.6: the operator's reach plus the factor less one, at least 8."""
        if options.inherent_margin is not None:
            return options.inherent_margin
        return max(8, self.operator.support_radius() + (self.factor or 1) - 1)


class PriorImages:
    """A bounded sample of one group's colour-converted ground truths, for the prior of 3.6.

    Uncropped: the prior models image content, and the border crop of 3.1 concerns the
    error statistics; the whole image gives the window fit more windows.

    Keeps images of the first size seen until the pixel budget is spent, so memory does not
    grow with the job; the prior is a model of image content, which a few dozen images fit.
    """

    def __init__(self, budget: int = _PRIOR_PIXEL_BUDGET) -> None:
        self.budget = budget
        self.images: list[torch.Tensor] = []
        self.shape: tuple[int, ...] | None = None
        self.input_channels = 1

    def wants(self) -> bool:
        """Whether there is room for more images."""
        return self.shape is None or (self.budget - len(self.images) * math.prod(self.shape) > 0)

    def offer(self, prepared: torch.Tensor, input_channels: int) -> None:
        """Keep what fits of a ``(B, C, H, W)`` batch of prepared ground truths."""
        if self.shape is None:
            self.shape = tuple(prepared.shape[1:])
            self.input_channels = input_channels
        if tuple(prepared.shape[1:]) != self.shape:
            return
        per_image = prepared[0].numel()
        room = (self.budget - per_image * len(self.images)) // per_image
        if room > 0:
            self.images.extend(prepared[:room].float().cpu().unbind(0))


@dataclass(frozen=True)
class BoundPlacement:
    """Where a group sits on the uncertainty-perception plane (THEORY.md 3.6)."""

    inherent: float | None
    margin: int
    ratio: float | None
    floor: float | None
    min_perception_index: float | None
    region: UpRegion | None


def place_on_bound(
    prior: PriorImages,
    known: KnownDegradation,
    options: AuditOptions,
    uncertainty: Estimate,
    perception: float | None,
    dimension: int,
) -> BoundPlacement:
    """N(X|Y), the uncertainty ratio, the floor eta N, P_min and the UP region of a group."""
    margin = known.margin(options)
    window = options.patch_size + 2 * margin
    if not prior.images or prior.shape is None or min(prior.shape[-2:]) < window:
        return BoundPlacement(None, margin, None, None, None, None)
    result = inherent_uncertainty(
        torch.stack(prior.images),
        known.operator,
        known.noise_variance_for(options.color, prior.input_channels),
        patch_size=options.patch_size,
        margin=margin,
    )
    inherent = result.value
    if not (math.isfinite(inherent) and inherent > 0) or uncertainty.value is None:
        return BoundPlacement(None, margin, None, None, None, None)
    ratio = uncertainty.value / inherent
    p_min = float(min_perception_index(ratio, dimension)) if ratio > 0 else None
    if perception is None:
        return BoundPlacement(inherent, margin, ratio, None, _finite(p_min), None)
    eta = float(min_uncertainty_multiplier(perception, dimension))
    low = uncertainty.ci_low if uncertainty.ci_low is not None else uncertainty.value
    high = uncertainty.ci_high if uncertainty.ci_high is not None else uncertainty.value
    slack = options.bound_tolerance
    region: UpRegion
    if high / inherent * (1 + slack) < eta:
        region = "below_bound"
    elif low / inherent * (1 - slack) <= eta:
        region = "on_bound"
    else:
        region = "above_bound"
    return BoundPlacement(inherent, margin, ratio, eta * inherent, _finite(p_min), region)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
