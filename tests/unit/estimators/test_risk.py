"""Risk verdict (THEORY.md §3.8) at and around every threshold."""

from __future__ import annotations

import math

import numpy as np
import pytest

from workers.estimators.errors import EstimatorInputError
from workers.estimators.risk import RiskVerdict, risk_verdict

ETA = "min_uncertainty_multiplier"
IDR = "invented_detail_ratio"
BELOW = math.nextafter  # one float step, to probe the side of each threshold


@pytest.mark.parametrize(
    ("eta", "expected"),
    [
        (1.0, "low"),
        (BELOW(1.4, 0.0), "low"),
        (1.4, "medium"),
        (BELOW(1.4, 2.0), "medium"),
        (BELOW(1.8, 0.0), "medium"),
        (1.8, "high"),
        (1.86, "high"),
        (2.0, "high"),
    ],
)
def test_eta_thresholds_alone(eta: float, expected: str) -> None:
    verdict = risk_verdict(eta, None)
    assert verdict.level == expected
    assert verdict.reasons[0].startswith(f"{ETA} ")


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        (0.0, "low"),
        (BELOW(0.25, 0.0), "low"),
        (0.25, "medium"),
        (0.4, "medium"),
        (BELOW(0.5, 0.0), "medium"),
        (0.5, "high"),
        (3.0, "high"),
    ],
)
def test_ratio_thresholds_alone(ratio: float, expected: str) -> None:
    verdict = risk_verdict(None, ratio)
    assert verdict.level == expected
    assert verdict.reasons[1].startswith(f"{IDR} ")


@pytest.mark.parametrize(
    ("eta", "ratio", "expected"),
    [
        (1.2, 0.1, "low"),
        (1.5, 0.1, "medium"),
        (1.2, 0.3, "medium"),
        (1.5, 0.3, "medium"),
        (1.9, 0.1, "high"),
        (1.2, 0.7, "high"),
        (1.9, 0.7, "high"),
    ],
)
def test_level_is_the_higher_of_both(eta: float, ratio: float, expected: str) -> None:
    assert risk_verdict(eta, ratio).level == expected


def test_reasons_state_value_and_threshold() -> None:
    verdict = risk_verdict(1.86, 0.3)
    assert isinstance(verdict, RiskVerdict)
    assert verdict.level == "high"
    assert len(verdict.reasons) == 2
    assert verdict.reasons[0].startswith(f"{ETA} 1.86 >= 1.8: perception is near perfect")
    assert "1.86 times the inherent uncertainty" in verdict.reasons[0]
    assert verdict.reasons[1].startswith(f"{IDR} 0.30 >= 0.25 (under 0.5): ")
    low = risk_verdict(1.1, 0.05)
    assert low.reasons[0].startswith(f"{ETA} 1.10 < 1.4: ")
    assert low.reasons[1].startswith(f"{IDR} 0.05 < 0.25: ")


def test_printed_value_never_contradicts_the_threshold() -> None:
    # 1.8 - 1e-9 must not print as "1.80" under the medium rule, nor 0.25 - 1e-12 as "0.25".
    verdict = risk_verdict(1.8 - 1e-9, 0.25 - 1e-12)
    assert verdict.reasons[0].startswith(f"{ETA} 1.799999999 >= 1.4 (under 1.8): ")
    assert verdict.reasons[1].startswith(f"{IDR} 0.249999999999 < 0.25: ")


@pytest.mark.parametrize("missing", [None, math.nan])
def test_missing_evidence_is_said_and_never_raises_the_level(missing: float | None) -> None:
    verdict = risk_verdict(missing, missing)
    assert verdict.level == "low"
    assert verdict.reasons[0].startswith(f"{ETA} not available")
    assert verdict.reasons[1].startswith(f"{IDR} not available")
    assert risk_verdict(missing, 0.6).level == "high"
    assert risk_verdict(1.5, missing).level == "medium"


def test_numpy_scalars_are_accepted() -> None:
    assert risk_verdict(np.float64(1.85), np.float64(0.1)).level == "high"


def test_custom_thresholds_move_the_boundaries() -> None:
    kwargs = {"high_eta": 1.9, "medium_eta": 1.6, "high_idr": 0.8, "medium_idr": 0.4}
    assert risk_verdict(1.85, 0.3, **kwargs).level == "medium"
    assert risk_verdict(1.55, 0.39, **kwargs).level == "low"
    assert risk_verdict(1.9, 0.0, **kwargs).level == "high"
    assert risk_verdict(1.0, 0.8, **kwargs).level == "high"
    # Equal medium and high thresholds: no medium band.
    assert risk_verdict(1.5, None, high_eta=1.5, medium_eta=1.5).level == "high"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"medium_eta": 1.9}, "expected medium_eta <= high_eta"),
        ({"medium_idr": 0.6}, "expected medium_idr <= high_idr"),
        ({"high_eta": math.nan}, "expected high_eta to be a finite number"),
        ({"medium_idr": math.inf}, "expected medium_idr to be a finite number"),
        ({"high_idr": "0.5"}, "expected high_idr to be a finite number"),
    ],
)
def test_bad_thresholds_raise(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(EstimatorInputError, match=message):
        risk_verdict(1.5, 0.3, **kwargs)  # type: ignore[arg-type]
