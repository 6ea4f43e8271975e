from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.group_comparison import GroupComparison
    from ..models.regression_rule import RegressionRule


T = TypeVar("T", bound="Comparison")


@_attrs_define
class Comparison:
    """A candidate report against its baseline.

    Attributes:
        baseline (str):
        candidate (str):
        rule (RegressionRule): When a candidate counts as a regression of its baseline.

            A metric of a restorer regresses when the paired-bootstrap interval of its mean
            difference (candidate minus baseline, over the matched pairs) lies entirely on the worse
            side of ``-margin`` (PSNR and SSIM) or ``+margin`` (the others): the candidate is worse by
            more than the margin with the interval's confidence. The candidate regresses when any
            metric of any restorer does, or, with ``fail_on_risk_increase``, when a restorer's risk
            level rises.
        rule_statement (str):
        groups (list[GroupComparison]):
        unmatched_baseline_pairs (list[str]):
        unmatched_candidate_pairs (list[str]):
        regression (bool):
        reasons (list[str]):
    """

    baseline: str
    candidate: str
    rule: RegressionRule
    rule_statement: str
    groups: list[GroupComparison]
    unmatched_baseline_pairs: list[str]
    unmatched_candidate_pairs: list[str]
    regression: bool
    reasons: list[str]

    def to_dict(self) -> dict[str, Any]:
        baseline = self.baseline

        candidate = self.candidate

        rule = self.rule.to_dict()

        rule_statement = self.rule_statement

        groups = []
        for groups_item_data in self.groups:
            groups_item = groups_item_data.to_dict()
            groups.append(groups_item)

        unmatched_baseline_pairs = self.unmatched_baseline_pairs

        unmatched_candidate_pairs = self.unmatched_candidate_pairs

        regression = self.regression

        reasons = self.reasons

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "baseline": baseline,
                "candidate": candidate,
                "rule": rule,
                "rule_statement": rule_statement,
                "groups": groups,
                "unmatched_baseline_pairs": unmatched_baseline_pairs,
                "unmatched_candidate_pairs": unmatched_candidate_pairs,
                "regression": regression,
                "reasons": reasons,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.group_comparison import GroupComparison
        from ..models.regression_rule import RegressionRule

        d = dict(src_dict)
        baseline = d.pop("baseline")

        candidate = d.pop("candidate")

        rule = RegressionRule.from_dict(d.pop("rule"))

        rule_statement = d.pop("rule_statement")

        groups = []
        _groups = d.pop("groups")
        for groups_item_data in _groups:
            groups_item = GroupComparison.from_dict(groups_item_data)

            groups.append(groups_item)

        unmatched_baseline_pairs = cast(list[str], d.pop("unmatched_baseline_pairs"))

        unmatched_candidate_pairs = cast(list[str], d.pop("unmatched_candidate_pairs"))

        regression = d.pop("regression")

        reasons = cast(list[str], d.pop("reasons"))

        comparison = cls(
            baseline=baseline,
            candidate=candidate,
            rule=rule,
            rule_statement=rule_statement,
            groups=groups,
            unmatched_baseline_pairs=unmatched_baseline_pairs,
            unmatched_candidate_pairs=unmatched_candidate_pairs,
            regression=regression,
            reasons=reasons,
        )

        return comparison
