"""Hallucination-risk verdict, revision 2: graded evidence, the worst grade wins.

Implements docs/theory.md §3.8. Pure Python: the inputs are the already-reduced numbers of one pair
or one group, so the verdict can be recomputed from a report alone.

The evidence, in the order the reasons are listed:

1. the uncertainty ratio ``r = U / N(X|Y)`` (degradation known): errors as large as a
   posterior sampler's (``r`` near 2) mean added content is as often wrong as right;
2. the invented-detail ratio (docs/theory.md §3.7);
3. sample calibration, the error-to-spread ratio of several outputs per input (docs/theory.md
   §3.9): 2 for a calibrated posterior sampler, above for over-confident samples, below for
   over-dispersed ones, so it is graded by the band it falls outside;
4. ``eta(P; d)`` of a *conditional* perception index (docs/theory.md §3.9).

``eta`` of the marginal index is not evidence (docs/theory.md §3.5): at high signal-to-noise the
posterior mean has a near-perfect marginal law, and calling it high risk was the defect that
revision 2 corrects. Evidence that is not available is named as missing, with why, and never
raises the level.
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
    """A risk level and one sentence per piece of evidence, in the module's fixed order."""

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


@dataclass(frozen=True)
class VerdictThresholds:
    """Where each piece of evidence turns medium and high (docs/theory.md §3.8 defaults)."""

    # Grouped by the evidence each grades: the errors against the inherent uncertainty, then
    # what several outputs per input show (eta, calibration), then the invented detail.
    high_uncertainty_ratio: float = 1.8
    medium_uncertainty_ratio: float = 1.4
    high_min_uncertainty_multiplier: float = 1.8
    medium_min_uncertainty_multiplier: float = 1.4
    medium_calibration_band: tuple[float, float] = (1.5, 3.0)
    """Error-to-spread ratios outside this band are at least medium."""
    high_calibration_band: tuple[float, float] = (1.2, 5.0)
    """Error-to-spread ratios outside this band are high."""
    high_invented_detail_ratio: float = 0.5
    medium_invented_detail_ratio: float = 0.25

    def check(self) -> None:
        """Raise EstimatorInputError unless every threshold is finite and ordered."""
        for name in ("uncertainty_ratio", "invented_detail_ratio", "min_uncertainty_multiplier"):
            high, medium = getattr(self, f"high_{name}"), getattr(self, f"medium_{name}")
            _check_thresholds(high, medium, name)
        for band, name in (
            (self.medium_calibration_band, "medium_calibration_band"),
            (self.high_calibration_band, "high_calibration_band"),
        ):
            _check_thresholds(band[1], band[0], name)
        if not (
            self.high_calibration_band[0] <= self.medium_calibration_band[0]
            and self.medium_calibration_band[1] <= self.high_calibration_band[1]
        ):
            raise EstimatorInputError(
                "expected the medium calibration band inside the high one, got "
                f"{self.medium_calibration_band!r} and {self.high_calibration_band!r}"
            )


_RATIO_MEANING = (
    "errors are as large as a posterior sampler's ({value} times the inherent uncertainty, 2 "
    "for a sampler): added content is as often wrong as right",
    "errors are well above the least possible ({value} times the inherent uncertainty): "
    "part of the restored content is not supported by the observation",
    "errors stay well below a posterior sampler's ({value} times the inherent uncertainty; "
    "1 is the least possible, 2 a sampler's)",
)
_IDR_MEANING = (
    "the restored image carries detail absent from the ground truth with {value} "
    "times the energy of the true detail",
    "the restored image carries detail absent from the ground truth with {value} "
    "times the energy of the true detail",
    "little restored detail is absent from the ground truth ({value} times the "
    "energy of the true detail)",
)
_ETA_MEANING = (
    "the samples' conditional law is near the posterior's, so their uncertainty must be at "
    "least {value} times the inherent uncertainty (2 for a posterior sampler)",
    "the samples' conditional law is close to the posterior's, so their uncertainty must be "
    "at least {value} times the inherent uncertainty",
    "the conditional perception leaves room for uncertainty close to the inherent "
    "uncertainty (at least {value} times it)",
)

MISSING_DEFAULTS = {
    "uncertainty_ratio": "no degradation named, so the inherent uncertainty N(X|Y) is unknown",
    "invented_detail_ratio": "undefined (for example a flat ground truth)",
    "error_to_spread_ratio": "one output per input, so the samples' calibration is unknown",
    "min_uncertainty_multiplier": (
        "no conditional perception index (it needs several outputs per input, the "
        "degradation and the observations)"
    ),
}


def _calibration(value: float, thresholds: VerdictThresholds) -> tuple[RiskLevel, str]:
    shown = _number(value, *thresholds.medium_calibration_band, *thresholds.high_calibration_band)
    high_low, high_high = thresholds.high_calibration_band
    medium_low, medium_high = thresholds.medium_calibration_band
    if value < high_low or value > high_high:
        level: RiskLevel = "high"
        band = f"outside [{high_low:g}, {high_high:g}]"
    elif value < medium_low or value > medium_high:
        level = "medium"
        band = f"outside [{medium_low:g}, {medium_high:g}]"
    else:
        level = "low"
        band = f"inside [{medium_low:g}, {medium_high:g}]"
    if level == "low":
        meaning = "the samples' spread matches their errors (2 for a calibrated posterior sampler)"
    elif value > medium_high:
        meaning = "over-confident samples: their spread understates their errors"
    else:
        meaning = "over-dispersed samples: their spread overstates their errors"
    return level, f"error_to_spread_ratio {shown} {band}: {meaning}"


def risk_verdict(
    *,
    uncertainty_ratio: float | None = None,
    invented_detail_ratio: float | None = None,
    error_to_spread_ratio: float | None = None,
    min_uncertainty_multiplier: float | None = None,
    thresholds: VerdictThresholds | None = None,
    missing: dict[str, str] | None = None,
) -> RiskVerdict:
    """Low, medium or high hallucination risk, with one reason per piece of evidence.

    Implements docs/theory.md §3.8 (revision 2). Each available input is graded (``high`` at or
    above its high threshold, ``medium`` at or above its medium one, else ``low``; the
    error-to-spread ratio by the band it falls outside) and the verdict is the worst grade.
    A missing input (``None`` or NaN) adds a sentence saying it is missing and why (from
    ``missing``, else a default) and never raises the level; with nothing available the level
    is ``low``. ``min_uncertainty_multiplier`` must be ``eta`` of a *conditional* index.

    Args:
        uncertainty_ratio: ``U / N(X|Y)`` (>= 0), or None without a known degradation.
        invented_detail_ratio: the invented-detail ratio (>= 0), or None.
        error_to_spread_ratio: error-to-spread ratio of several outputs per input, or None.
        min_uncertainty_multiplier: ``eta(P_cond; d)`` in [1, 2], or None.
        thresholds: the thresholds (defaults of docs/theory.md §3.8).
        missing: why an input is missing, by input name, for the reasons.

    Returns:
        :class:`RiskVerdict` with ``level`` and four ``reasons`` in the module's order.

    Raises:
        EstimatorInputError: If a threshold is not a finite number or thresholds are not
            ordered (medium under high, the medium calibration band inside the high one).

    Example:
        >>> verdict = risk_verdict(uncertainty_ratio=1.93, invented_detail_ratio=0.1)
        >>> verdict.level
        'high'
        >>> verdict.reasons[0].split(":")[0]
        'uncertainty_ratio 1.93 >= 1.8'
        >>> risk_verdict(uncertainty_ratio=1.02, invented_detail_ratio=0.3).level
        'medium'
        >>> risk_verdict().level
        'low'
    """
    limits = thresholds or VerdictThresholds()
    limits.check()
    why = {**MISSING_DEFAULTS, **(missing or {})}
    level: RiskLevel = "low"
    reasons: list[str] = []

    def consider(grade: RiskLevel, reason: str) -> None:
        nonlocal level
        level = max(level, grade, key=_RANK.__getitem__)
        reasons.append(reason)

    graded = (
        (
            "uncertainty_ratio",
            uncertainty_ratio,
            limits.high_uncertainty_ratio,
            limits.medium_uncertainty_ratio,
            _RATIO_MEANING,
        ),
        (
            "invented_detail_ratio",
            invented_detail_ratio,
            limits.high_invented_detail_ratio,
            limits.medium_invented_detail_ratio,
            _IDR_MEANING,
        ),
    )
    for name, value, high, medium, meaning in graded:
        if _available(value):
            consider(*_grade(name, float(value), high, medium, meaning))  # type: ignore[arg-type]
        else:
            reasons.append(f"{name} not available: {why[name]}")
    if _available(error_to_spread_ratio):
        consider(*_calibration(float(error_to_spread_ratio), limits))  # type: ignore[arg-type]
    else:
        reasons.append(f"error_to_spread_ratio not available: {why['error_to_spread_ratio']}")
    if _available(min_uncertainty_multiplier):
        consider(
            *_grade(
                "min_uncertainty_multiplier",
                float(min_uncertainty_multiplier),  # type: ignore[arg-type]
                limits.high_min_uncertainty_multiplier,
                limits.medium_min_uncertainty_multiplier,
                _ETA_MEANING,
            )
        )
    else:
        reasons.append(
            f"min_uncertainty_multiplier not available: {why['min_uncertainty_multiplier']}"
        )
    return RiskVerdict(level=level, reasons=tuple(reasons))
