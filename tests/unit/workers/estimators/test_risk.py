"""Risk verdict, revision 2 (docs/theory.md §3.8) at and around every threshold."""

from __future__ import annotations

import math

import numpy as np
import pytest

from workers.estimators.errors import EstimatorInputError
from workers.estimators.risk import RiskVerdict, VerdictThresholds, risk_verdict

RATIO = "uncertainty_ratio"
IDR = "invented_detail_ratio"
CAL = "error_to_spread_ratio"
ETA = "min_uncertainty_multiplier"
BELOW = math.nextafter  # one float step, to probe the side of each threshold


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        (0.8, "low"),
        (1.0, "low"),
        (BELOW(1.4, 0.0), "low"),
        (1.4, "medium"),
        (BELOW(1.8, 0.0), "medium"),
        (1.8, "high"),
        (2.0, "high"),
        (3.5, "high"),
    ],
)
def test_uncertainty_ratio_thresholds_alone(ratio: float, expected: str) -> None:
    verdict = risk_verdict(uncertainty_ratio=ratio)
    assert verdict.level == expected
    assert verdict.reasons[0].startswith(f"{RATIO} ")


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        (0.0, "low"),
        (BELOW(0.25, 0.0), "low"),
        (0.25, "medium"),
        (BELOW(0.5, 0.0), "medium"),
        (0.5, "high"),
        (3.0, "high"),
    ],
)
def test_invented_detail_thresholds_alone(ratio: float, expected: str) -> None:
    verdict = risk_verdict(invented_detail_ratio=ratio)
    assert verdict.level == expected
    assert verdict.reasons[1].startswith(f"{IDR} ")


@pytest.mark.parametrize(
    ("value", "expected", "words"),
    [
        (2.0, "low", "matches"),
        (1.5, "low", "matches"),
        (3.0, "low", "matches"),
        (BELOW(1.5, 0.0), "medium", "over-dispersed"),
        (BELOW(3.0, 4.0), "medium", "over-confident"),
        (1.2, "medium", "over-dispersed"),
        (BELOW(1.2, 0.0), "high", "over-dispersed"),
        (5.0, "medium", "over-confident"),
        (BELOW(5.0, 6.0), "high", "over-confident"),
        (9.0, "high", "over-confident"),
    ],
)
def test_calibration_is_graded_by_the_band_it_leaves(
    value: float, expected: str, words: str
) -> None:
    verdict = risk_verdict(error_to_spread_ratio=value)
    assert verdict.level == expected
    assert verdict.reasons[2].startswith(f"{CAL} ")
    assert words in verdict.reasons[2]


@pytest.mark.parametrize(
    ("eta", "expected"), [(1.0, "low"), (1.4, "medium"), (1.8, "high"), (2.0, "high")]
)
def test_conditional_eta_is_evidence(eta: float, expected: str) -> None:
    verdict = risk_verdict(min_uncertainty_multiplier=eta)
    assert verdict.level == expected
    assert verdict.reasons[3].startswith(f"{ETA} ")


@pytest.mark.parametrize(
    ("ratio", "idr", "expected"),
    [
        (1.0, 0.1, "low"),
        (1.5, 0.1, "medium"),
        (1.0, 0.3, "medium"),
        (1.9, 0.1, "high"),
        (1.0, 0.7, "high"),
        (1.9, 0.7, "high"),
    ],
)
def test_level_is_the_worst_grade(ratio: float, idr: float, expected: str) -> None:
    assert risk_verdict(uncertainty_ratio=ratio, invented_detail_ratio=idr).level == expected


def test_reasons_state_value_threshold_and_meaning() -> None:
    verdict = risk_verdict(uncertainty_ratio=1.97, invented_detail_ratio=0.3)
    assert isinstance(verdict, RiskVerdict)
    assert verdict.level == "high"
    assert len(verdict.reasons) == 4
    assert verdict.reasons[0].startswith(f"{RATIO} 1.97 >= 1.8: errors are as large as")
    assert verdict.reasons[1].startswith(f"{IDR} 0.30 >= 0.25 (under 0.5): ")
    low = risk_verdict(uncertainty_ratio=1.01, invented_detail_ratio=0.05)
    assert low.reasons[0].startswith(f"{RATIO} 1.01 < 1.4: errors stay well below a posterior")


def test_printed_value_never_contradicts_the_threshold() -> None:
    verdict = risk_verdict(uncertainty_ratio=1.8 - 1e-9, invented_detail_ratio=0.25 - 1e-12)
    assert verdict.reasons[0].startswith(f"{RATIO} 1.799999999 >= 1.4 (under 1.8): ")
    assert verdict.reasons[1].startswith(f"{IDR} 0.249999999999 < 0.25: ")


@pytest.mark.parametrize("missing", [None, math.nan])
def test_missing_evidence_is_named_with_why_and_never_raises_the_level(
    missing: float | None,
) -> None:
    verdict = risk_verdict(
        uncertainty_ratio=missing,
        invented_detail_ratio=missing,
        error_to_spread_ratio=missing,
        min_uncertainty_multiplier=missing,
        missing={RATIO: "the images are smaller than the window"},
    )
    assert verdict.level == "low"
    assert verdict.reasons[0] == f"{RATIO} not available: the images are smaller than the window"
    assert verdict.reasons[1].startswith(f"{IDR} not available")
    assert "one output per input" in verdict.reasons[2]
    assert "conditional perception" in verdict.reasons[3]
    assert risk_verdict(invented_detail_ratio=0.6).level == "high"
    assert risk_verdict(uncertainty_ratio=1.5).level == "medium"


def test_marginal_eta_is_not_an_input() -> None:
    # Revision 2: the verdict has no parameter for eta of a marginal index; the only eta it
    # takes is the conditional one, and it is named so in the reasons.
    with pytest.raises(TypeError):
        risk_verdict(1.95, 0.1)  # type: ignore[misc]


def test_numpy_scalars_are_accepted() -> None:
    verdict = risk_verdict(uncertainty_ratio=np.float64(1.85), invented_detail_ratio=np.float64(0))
    assert verdict.level == "high"


def test_custom_thresholds_move_the_boundaries() -> None:
    limits = VerdictThresholds(
        high_uncertainty_ratio=1.9,
        medium_uncertainty_ratio=1.6,
        high_invented_detail_ratio=0.8,
        medium_invented_detail_ratio=0.4,
    )
    assert risk_verdict(uncertainty_ratio=1.85, thresholds=limits).level == "medium"
    assert (
        risk_verdict(uncertainty_ratio=1.55, invented_detail_ratio=0.39, thresholds=limits).level
        == "low"
    )
    assert risk_verdict(invented_detail_ratio=0.8, thresholds=limits).level == "high"
    equal = VerdictThresholds(high_uncertainty_ratio=1.5, medium_uncertainty_ratio=1.5)
    assert risk_verdict(uncertainty_ratio=1.5, thresholds=equal).level == "high"


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (
            VerdictThresholds(medium_uncertainty_ratio=1.9),
            "expected medium_uncertainty_ratio <= high_uncertainty_ratio",
        ),
        (
            VerdictThresholds(medium_invented_detail_ratio=0.6),
            "expected medium_invented_detail_ratio <= high_invented_detail_ratio",
        ),
        (
            VerdictThresholds(high_min_uncertainty_multiplier=math.nan),
            "expected high_min_uncertainty_multiplier to be a finite number",
        ),
        (VerdictThresholds(medium_calibration_band=(1.0, 3.0)), "inside the high one"),
        (VerdictThresholds(high_calibration_band=(1.2, math.inf)), "finite number"),
    ],
)
def test_bad_thresholds_raise(limits: VerdictThresholds, message: str) -> None:
    with pytest.raises(EstimatorInputError, match=message):
        risk_verdict(uncertainty_ratio=1.5, thresholds=limits)
