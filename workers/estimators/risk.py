"""Hallucination-risk verdict from the perception bound and the invented-detail ratio.

Implements THEORY.md §3.8. Pure Python: the inputs are the already-reduced numbers of one pair
or one group, so the verdict can be recomputed from a report alone.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Literal

from workers.estimators.errors import EstimatorInputError

RiskLevel = Literal["low", "medium", "high"]
_RANK: dict[RiskLevel, int] = {"low": 0, "medium": 1, "high": 2}
_RANK_DESC: dict[RiskLevel, int] = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class RiskVerdict:
    """A risk level and one sentence per piece of evidence, in a fixed order (eta, then ratio)."""

    level: RiskLevel
    reasons: tuple[str, ...]


def _number(value: float, *thresholds: float) -> str:
    """``value`` with two decimals, or more when rounding would hide its side of a threshold."""
    for decimals in range(2, 16):
        text = f"{value:.{decimals}f}"
        if all((float(text) >= t) == (value >= t) for t in thresholds):
            return text
    return repr(value)


def _grade(
    name: str, value: float, high: float, medium: float, meaning: tuple[str, str, str]
) -> tuple[RiskLevel, str]:
    """Level of one piece of evidence and the sentence that says why.

    ``meaning`` holds the explanations for high, medium and low; ``{value}`` in them is
    replaced by the value as printed.
    """
    shown = _number(value, high, medium)
    if value >= high:
        level: RiskLevel = "high"
        relation = f">= {high:g}"
    elif value >= medium:
        level = "medium"
        relation = f">= {medium:g} (under {high:g})"
    else:
        level = "low"
        relation = f"< {medium:g}"
    explanation = meaning[_RANK_DESC[level]].replace("{value}", shown)
    return level, f"{name} {shown} {relation}: {explanation}"


def _check_thresholds(high: float, medium: float, name: str) -> None:
    for value, which in ((high, f"high_{name}"), (medium, f"medium_{name}")):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise EstimatorInputError(f"expected {which} to be a finite number, got {value!r}")
    if medium > high:
        raise EstimatorInputError(
            f"expected medium_{name} <= high_{name}, got {medium!r} > {high!r}"
        )


def _available(value: float | None) -> bool:
    return isinstance(value, numbers.Real) and math.isfinite(value)


def risk_verdict(
    min_uncertainty_multiplier: float | None,
    invented_detail_ratio: float | None,
    *,
    high_eta: float = 1.8,
    medium_eta: float = 1.4,
    high_idr: float = 0.5,
    medium_idr: float = 0.25,
) -> RiskVerdict:
    """Low, medium or high hallucination risk, with the reasons behind it.

    Implements THEORY.md §3.8.

    ``level = max(level(eta), level(ratio))`` where ``level(v)`` is ``high`` if
    ``v >= high``, ``medium`` if ``v >= medium``, else ``low``; ``eta = eta(P; d)`` is the
    ``min_uncertainty_multiplier``. Each input contributes one sentence with its value and the
    threshold it reached (or stayed under). A missing input (``None`` or NaN, e.g. an undefined
    ratio on a flat ground truth) contributes a sentence saying the evidence is missing and never
    raises the level; with both missing the level is ``low``.

    Args:
        min_uncertainty_multiplier: ``eta(P; d)`` in [1, 2], or ``None`` when unknown.
        invented_detail_ratio: Invented-detail ratio (>= 0), or ``None`` when undefined.
        high_eta: ``eta`` at or above which the risk is high (default 1.8).
        medium_eta: ``eta`` at or above which the risk is at least medium (default 1.4).
        high_idr: Ratio at or above which the risk is high (default 0.5).
        medium_idr: Ratio at or above which the risk is at least medium (default 0.25).

    Returns:
        :class:`RiskVerdict` with ``level`` and ``reasons`` (one sentence per input).

    Raises:
        EstimatorInputError: If a threshold is not a finite number, or a medium threshold
            exceeds its high threshold.

    Example:
        >>> verdict = risk_verdict(1.86, 0.1)
        >>> verdict.level
        'high'
        >>> verdict.reasons[0].split(":")[0]
        'min_uncertainty_multiplier 1.86 >= 1.8'
        >>> risk_verdict(1.2, 0.3).level, risk_verdict(None, None).level
        ('medium', 'low')
    """
    _check_thresholds(high_eta, medium_eta, "eta")
    _check_thresholds(high_idr, medium_idr, "idr")
    level: RiskLevel = "low"
    reasons: list[str] = []
    if min_uncertainty_multiplier is not None and _available(min_uncertainty_multiplier):
        grade, reason = _grade(
            "min_uncertainty_multiplier",
            float(min_uncertainty_multiplier),
            high_eta,
            medium_eta,
            (
                "perception is near perfect, so uncertainty must be at least {value} times the "
                "inherent uncertainty (2 for a posterior sampler)",
                "perception is good, so uncertainty must be at least {value} times the "
                "inherent uncertainty",
                "perception leaves room for uncertainty close to the inherent uncertainty "
                "(at least {value} times it)",
            ),
        )
        level = max(level, grade, key=_RANK.__getitem__)
        reasons.append(reason)
    else:
        reasons.append(
            "min_uncertainty_multiplier not available: the perception bound gives no evidence"
        )
    if invented_detail_ratio is not None and _available(invented_detail_ratio):
        grade, reason = _grade(
            "invented_detail_ratio",
            float(invented_detail_ratio),
            high_idr,
            medium_idr,
            (
                "the restored image carries detail absent from the ground truth with {value} "
                "times the energy of the true detail",
                "the restored image carries detail absent from the ground truth with {value} "
                "times the energy of the true detail",
                "little restored detail is absent from the ground truth ({value} times the "
                "energy of the true detail)",
            ),
        )
        level = max(level, grade, key=_RANK.__getitem__)
        reasons.append(reason)
    else:
        reasons.append(
            "invented_detail_ratio not available (for example a flat ground truth): "
            "no evidence on invented detail"
        )
    return RiskVerdict(level=level, reasons=tuple(reasons))
