from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.group_comparison_baseline_risk import GroupComparisonBaselineRisk
from ..models.group_comparison_candidate_risk import GroupComparisonCandidateRisk

if TYPE_CHECKING:
    from ..models.metric_difference import MetricDifference
    from ..models.pair_change import PairChange


T = TypeVar("T", bound="GroupComparison")


@_attrs_define
class GroupComparison:
    """One restorer (group) present in both reports.

    Attributes:
        baseline_group (str):
        candidate_group (str):
        pairs (int): Pairs matched by id.
        metrics (list[MetricDifference]):
        baseline_risk (GroupComparisonBaselineRisk):
        candidate_risk (GroupComparisonCandidateRisk):
        verdict_changes (list[PairChange]):
        changed_most (list[PairChange]):
    """

    baseline_group: str
    candidate_group: str
    pairs: int
    metrics: list[MetricDifference]
    baseline_risk: GroupComparisonBaselineRisk
    candidate_risk: GroupComparisonCandidateRisk
    verdict_changes: list[PairChange]
    changed_most: list[PairChange]

    def to_dict(self) -> dict[str, Any]:
        baseline_group = self.baseline_group

        candidate_group = self.candidate_group

        pairs = self.pairs

        metrics = []
        for metrics_item_data in self.metrics:
            metrics_item = metrics_item_data.to_dict()
            metrics.append(metrics_item)

        baseline_risk = self.baseline_risk.value

        candidate_risk = self.candidate_risk.value

        verdict_changes = []
        for verdict_changes_item_data in self.verdict_changes:
            verdict_changes_item = verdict_changes_item_data.to_dict()
            verdict_changes.append(verdict_changes_item)

        changed_most = []
        for changed_most_item_data in self.changed_most:
            changed_most_item = changed_most_item_data.to_dict()
            changed_most.append(changed_most_item)

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "baseline_group": baseline_group,
                "candidate_group": candidate_group,
                "pairs": pairs,
                "metrics": metrics,
                "baseline_risk": baseline_risk,
                "candidate_risk": candidate_risk,
                "verdict_changes": verdict_changes,
                "changed_most": changed_most,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.metric_difference import MetricDifference
        from ..models.pair_change import PairChange

        d = dict(src_dict)
        baseline_group = d.pop("baseline_group")

        candidate_group = d.pop("candidate_group")

        pairs = d.pop("pairs")

        metrics = []
        _metrics = d.pop("metrics")
        for metrics_item_data in _metrics:
            metrics_item = MetricDifference.from_dict(metrics_item_data)

            metrics.append(metrics_item)

        baseline_risk = GroupComparisonBaselineRisk(d.pop("baseline_risk"))

        candidate_risk = GroupComparisonCandidateRisk(d.pop("candidate_risk"))

        verdict_changes = []
        _verdict_changes = d.pop("verdict_changes")
        for verdict_changes_item_data in _verdict_changes:
            verdict_changes_item = PairChange.from_dict(verdict_changes_item_data)

            verdict_changes.append(verdict_changes_item)

        changed_most = []
        _changed_most = d.pop("changed_most")
        for changed_most_item_data in _changed_most:
            changed_most_item = PairChange.from_dict(changed_most_item_data)

            changed_most.append(changed_most_item)

        group_comparison = cls(
            baseline_group=baseline_group,
            candidate_group=candidate_group,
            pairs=pairs,
            metrics=metrics,
            baseline_risk=baseline_risk,
            candidate_risk=candidate_risk,
            verdict_changes=verdict_changes,
            changed_most=changed_most,
        )

        return group_comparison
