"""The comparison of two audit reports, baseline and candidate (``restoration-audit compare``
and ``GET /v1/jobs/{id}/comparison?baseline={id}``): the wire model and the regression rule.

The arithmetic lives in ``reporting/comparison.py``; this module says what is compared and
how a regression is decided, so the command line and the API state the same rule.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from api_schemas.report import RiskLevel

CompareMetric = Literal["psnr", "ssim", "uncertainty", "perception", "invented_detail"]

COMPARED_METRICS: Final[tuple[CompareMetric, ...]] = (
    "psnr",
    "ssim",
    "uncertainty",
    "perception",
    "invented_detail",
)
HIGHER_IS_BETTER: Final[dict[CompareMetric, bool]] = {
    "psnr": True,
    "ssim": True,
    "uncertainty": False,
    "perception": False,
    "invented_detail": False,
}
"""Every compared per-pair metric and its better direction: PSNR (dB) and SSIM up; the
Gaussian uncertainty of the error, its Rényi perception divergence and the invented-detail
ratio down."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class RegressionRule(_Model):
    """When a candidate counts as a regression of its baseline.

    A metric of a restorer regresses when the paired-bootstrap interval of its mean
    difference (candidate minus baseline, over the matched pairs) lies entirely on the worse
    side of ``-margin`` (PSNR and SSIM) or ``+margin`` (the others): the candidate is worse by
    more than the margin with the interval's confidence. The candidate regresses when any
    metric of any restorer does, or, with ``fail_on_risk_increase``, when a restorer's risk
    level rises.
    """

    level: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.95
    resamples: Annotated[int, Field(ge=100, le=100_000)] = 2000
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    psnr_margin: Annotated[float, Field(ge=0.0)] = 0.0
    """dB of PSNR the candidate may lose before it regresses."""
    ssim_margin: Annotated[float, Field(ge=0.0)] = 0.0
    uncertainty_margin: Annotated[float, Field(ge=0.0)] = 0.0
    perception_margin: Annotated[float, Field(ge=0.0)] = 0.0
    invented_detail_margin: Annotated[float, Field(ge=0.0)] = 0.0
    fail_on_risk_increase: bool = True

    def margin(self, metric: CompareMetric) -> float:
        """The margin of ``metric``."""
        margins = {
            "psnr": self.psnr_margin,
            "ssim": self.ssim_margin,
            "uncertainty": self.uncertainty_margin,
            "perception": self.perception_margin,
            "invented_detail": self.invented_detail_margin,
        }
        return margins[metric]

    def statement(self) -> str:
        """The rule in words, as the outputs print it."""
        margins = ", ".join(f"{m} {self.margin(m):g}" for m in COMPARED_METRICS)
        risk = "; or a restorer's risk level rises" if self.fail_on_risk_increase else ""
        return (
            f"regression when the {self.level:.0%} paired-bootstrap interval ({self.resamples} "
            f"resamples over pairs, seed {self.seed}) of a metric's mean difference, candidate "
            f"minus baseline, lies wholly beyond its margin on the worse side (margins: "
            f"{margins}){risk}"
        )


class ComparisonQuery(RegressionRule):
    """The query of ``GET /v1/jobs/{id}/comparison``: the baseline job and the fields of the
    regression rule (one query model, since the rule forbids unknown parameters)."""

    baseline: Annotated[
        str,
        Field(max_length=64, description="The baseline job's id (32 hex digits; the caller's)."),
    ]

    def rule(self) -> RegressionRule:
        """The regression rule the query states."""
        return RegressionRule.model_validate(self.model_dump(exclude={"baseline"}))


class MetricDifference(_Model):
    """One metric of one restorer: means, the paired mean difference and its interval."""

    metric: CompareMetric
    higher_is_better: bool
    pairs: int = Field(ge=0, description="Matched pairs with a value on both sides.")
    baseline_mean: float | None
    candidate_mean: float | None
    mean_difference: float | None
    """Candidate minus baseline; ``None`` without any pair valued on both sides."""
    ci_low: float | None
    ci_high: float | None
    regressed: bool
    improved: bool
    """The interval lies wholly on the better side of zero."""


class PairChange(_Model):
    """One matched pair: its values on both sides and its verdicts."""

    id: str
    baseline: dict[str, float | None]
    candidate: dict[str, float | None]
    difference: dict[str, float | None]
    baseline_risk: RiskLevel
    candidate_risk: RiskLevel


class GroupComparison(_Model):
    """One restorer (group) present in both reports."""

    baseline_group: str
    candidate_group: str
    pairs: int = Field(ge=0, description="Pairs matched by id.")
    metrics: list[MetricDifference]
    baseline_risk: RiskLevel
    candidate_risk: RiskLevel
    verdict_changes: list[PairChange]
    """Pairs whose risk level differs between the reports."""
    changed_most: list[PairChange]
    """Up to ten pairs with the largest change, verdict changes first, then by |PSNR change|."""


class Comparison(_Model):
    """A candidate report against its baseline."""

    baseline: str
    candidate: str
    rule: RegressionRule
    rule_statement: str
    groups: list[GroupComparison]
    unmatched_baseline_pairs: list[str]
    unmatched_candidate_pairs: list[str]
    regression: bool
    reasons: list[str]
    """Why the candidate regresses (empty when it does not)."""
