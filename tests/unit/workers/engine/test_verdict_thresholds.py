"""The job's risk thresholds reach the library's verdict unchanged (docs/theory.md 3.8)."""

from __future__ import annotations

import dataclasses

from api_schemas.options import AuditOptions, RiskThresholds
from workers.engine.summarize import verdict_thresholds
from workers.estimators.risk import VerdictThresholds


def test_the_library_thresholds_have_the_wire_fields_and_defaults() -> None:
    library = {f.name: f.default for f in dataclasses.fields(VerdictThresholds)}
    wire = RiskThresholds().model_dump()
    assert library == wire


def test_a_jobs_thresholds_pass_through() -> None:
    options = AuditOptions.model_validate(
        {
            "thresholds": {
                "high_uncertainty_ratio": 1.7,
                "medium_uncertainty_ratio": 1.2,
                "medium_calibration_band": [1.4, 3.5],
            }
        }
    )
    limits = verdict_thresholds(options)
    assert limits.high_uncertainty_ratio == 1.7
    assert limits.medium_uncertainty_ratio == 1.2
    assert limits.medium_calibration_band == (1.4, 3.5)
    assert limits.high_invented_detail_ratio == RiskThresholds().high_invented_detail_ratio
    limits.check()
