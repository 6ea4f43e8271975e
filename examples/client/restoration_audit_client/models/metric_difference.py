from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.metric_difference_metric import MetricDifferenceMetric

T = TypeVar("T", bound="MetricDifference")


@_attrs_define
class MetricDifference:
    """One metric of one restorer: means, the paired mean difference and its interval.

    Attributes:
        metric (MetricDifferenceMetric):
        higher_is_better (bool):
        pairs (int): Matched pairs with a value on both sides.
        baseline_mean (float | None):
        candidate_mean (float | None):
        mean_difference (float | None):
        ci_low (float | None):
        ci_high (float | None):
        regressed (bool):
        improved (bool):
    """

    metric: MetricDifferenceMetric
    higher_is_better: bool
    pairs: int
    baseline_mean: float | None
    candidate_mean: float | None
    mean_difference: float | None
    ci_low: float | None
    ci_high: float | None
    regressed: bool
    improved: bool

    def to_dict(self) -> dict[str, Any]:
        metric = self.metric.value

        higher_is_better = self.higher_is_better

        pairs = self.pairs

        baseline_mean: float | None
        baseline_mean = self.baseline_mean

        candidate_mean: float | None
        candidate_mean = self.candidate_mean

        mean_difference: float | None
        mean_difference = self.mean_difference

        ci_low: float | None
        ci_low = self.ci_low

        ci_high: float | None
        ci_high = self.ci_high

        regressed = self.regressed

        improved = self.improved

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "metric": metric,
                "higher_is_better": higher_is_better,
                "pairs": pairs,
                "baseline_mean": baseline_mean,
                "candidate_mean": candidate_mean,
                "mean_difference": mean_difference,
                "ci_low": ci_low,
                "ci_high": ci_high,
                "regressed": regressed,
                "improved": improved,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        metric = MetricDifferenceMetric(d.pop("metric"))

        higher_is_better = d.pop("higher_is_better")

        pairs = d.pop("pairs")

        def _parse_baseline_mean(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        baseline_mean = _parse_baseline_mean(d.pop("baseline_mean"))

        def _parse_candidate_mean(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        candidate_mean = _parse_candidate_mean(d.pop("candidate_mean"))

        def _parse_mean_difference(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        mean_difference = _parse_mean_difference(d.pop("mean_difference"))

        def _parse_ci_low(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        ci_low = _parse_ci_low(d.pop("ci_low"))

        def _parse_ci_high(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        ci_high = _parse_ci_high(d.pop("ci_high"))

        regressed = d.pop("regressed")

        improved = d.pop("improved")

        metric_difference = cls(
            metric=metric,
            higher_is_better=higher_is_better,
            pairs=pairs,
            baseline_mean=baseline_mean,
            candidate_mean=candidate_mean,
            mean_difference=mean_difference,
            ci_low=ci_low,
            ci_high=ci_high,
            regressed=regressed,
            improved=improved,
        )

        return metric_difference
