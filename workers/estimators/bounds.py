"""The uncertainty-perception bound of the Gaussian closed form and its inverse.

Implements docs/theory.md §2 (Thm 3): ``eta(P; d)`` and ``P_min(r; d)``. Both accept a Python
float or a tensor (elementwise; device and dtype follow the tensor). NaN propagates, so an
estimate that came out null (NaN) stays null.
"""

from __future__ import annotations

import math
from typing import overload

import torch

from workers.estimators.errors import EstimatorInputError

__all__ = ["min_perception_index", "min_uncertainty_multiplier"]


def _check_dimension(dimension: int) -> None:
    if isinstance(dimension, bool) or not isinstance(dimension, int) or dimension < 1:
        raise EstimatorInputError(f"expected dimension a positive int, got {dimension!r}")


@overload
def min_uncertainty_multiplier(perception: float, dimension: int) -> float: ...
@overload
def min_uncertainty_multiplier(perception: torch.Tensor, dimension: int) -> torch.Tensor: ...
def min_uncertainty_multiplier(
    perception: float | torch.Tensor, dimension: int
) -> float | torch.Tensor:
    """Factor eta(P; d) by which any restorer at perception index P exceeds N(X|Y).

    Implements docs/theory.md §2 (Thm 3):
    ``eta(P; d) = 1 + exp(-2 arccosh(exp(t)))``, t = P / d. With
    ``exp(-arccosh(e^t)) = 1 / (e^t + sqrt(expm1(2 t)))`` this is evaluated without the
    cancellation of ``2 e^(2t) - sqrt((2 e^(2t) - 1)^2 - 1)`` near t = 0 and without
    overflow for large t: eta(0) = 2, eta(inf) = 1, decreasing in between.

    A Hellinger-distance bound maps onto it: ``D_1/2 = -2 log(1 - H^2)`` for the squared
    Hellinger distance ``H^2 = 1 - integral sqrt(p q)``, so ``eta_H(H^2; d) =
    eta(-2 log(1 - H^2); d)``.

    Args:
        perception: P >= 0 (Rényi-1/2 perception index, nats), float or tensor; inf allowed.
        dimension: d >= 1, the dimension the index refers to (p^2 C for patches).

    Returns:
        eta in [1, 2], a float for a float input, else a tensor of the same shape.

    Raises:
        EstimatorInputError: if P < 0 or d is not a positive int.

    Example:
        >>> min_uncertainty_multiplier(0.0, 64)
        2.0
        >>> round(min_uncertainty_multiplier(math.log(2.0), 1), 6)  # 1 + (2 - sqrt(3))^2
        1.071797
    """
    _check_dimension(dimension)
    if isinstance(perception, torch.Tensor):
        if not perception.is_floating_point():
            raise EstimatorInputError(
                f"expected a floating perception tensor, got {perception.dtype}"
            )
        if bool((perception < 0).any()):
            raise EstimatorInputError("expected perception >= 0, got a negative value")
        t = perception / dimension
        inv = torch.reciprocal(torch.exp(t) + torch.sqrt(torch.expm1(2 * t)))
        return 1 + inv * inv
    value = float(perception)
    if value < 0:
        raise EstimatorInputError(f"expected perception >= 0, got {perception!r}")
    if math.isnan(value):
        return math.nan
    ratio = value / dimension
    if ratio > 350.0:  # exp(-2 arccosh(e^t)) < e^(-2t) underflows: eta is 1 in double
        return 1.0
    small = 1.0 / (math.exp(ratio) + math.sqrt(math.expm1(2 * ratio)))
    return 1.0 + small * small


@overload
def min_perception_index(ratio: float, dimension: int) -> float: ...
@overload
def min_perception_index(ratio: torch.Tensor, dimension: int) -> torch.Tensor: ...
def min_perception_index(ratio: float | torch.Tensor, dimension: int) -> float | torch.Tensor:
    """Smallest perception index compatible with the uncertainty ratio r (inverse of eta).

    Implements docs/theory.md §2 (Thm 3): for r = U / N(X|Y) in (1, 2],
    ``P_min(r; d) = d log(r / (2 sqrt(r - 1)))``, computed as
    ``(d / 2) log1p((2 - r)^2 / (4 (r - 1)))`` (since r^2 - 4 (r - 1) = (2 - r)^2), which
    stays accurate as r -> 2 where P_min -> 0; eta(P_min(r; d); d) = r.

    Outside (1, 2]: r > 2 gives 0 (eta <= 2 for every P >= 0, so any perception index is
    compatible with such an uncertainty), and r <= 1 gives inf (eta > 1 for every finite P:
    no finite perception index reaches the inherent uncertainty, so the bound says the
    measurement is below it).

    Args:
        ratio: r > 0, float or tensor; inf allowed (gives 0).
        dimension: d >= 1.

    Returns:
        P_min >= 0 (possibly inf), a float for a float input, else a tensor of r's shape.

    Raises:
        EstimatorInputError: if r <= 0 or d is not a positive int.

    Example:
        >>> min_perception_index(2.0, 64)
        0.0
        >>> round(min_perception_index(1.25, 1), 12)  # log(1.25 / (2 * 0.5))
        0.223143551314
    """
    _check_dimension(dimension)
    if isinstance(ratio, torch.Tensor):
        if not ratio.is_floating_point():
            raise EstimatorInputError(f"expected a floating ratio tensor, got {ratio.dtype}")
        if bool((ratio <= 0).any()):
            raise EstimatorInputError("expected ratio > 0, got a value <= 0")
        inside = 0.5 * dimension * torch.log1p((2 - ratio) ** 2 / (4 * (ratio - 1)))
        out = torch.where(ratio > 2, torch.zeros_like(ratio), inside)
        return torch.where(ratio <= 1, torch.full_like(ratio, math.inf), out)
    value = float(ratio)
    if math.isnan(value):
        return math.nan
    if value <= 0:
        raise EstimatorInputError(f"expected ratio > 0, got {ratio!r}")
    if value <= 1:
        return math.inf
    if value >= 2:
        return 0.0
    return 0.5 * dimension * math.log1p((2 - value) ** 2 / (4 * (value - 1)))
