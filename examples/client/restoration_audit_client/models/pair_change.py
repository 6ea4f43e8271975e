from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.pair_change_baseline_risk import PairChangeBaselineRisk
from ..models.pair_change_candidate_risk import PairChangeCandidateRisk

if TYPE_CHECKING:
    from ..models.pair_change_baseline import PairChangeBaseline
    from ..models.pair_change_candidate import PairChangeCandidate
    from ..models.pair_change_difference import PairChangeDifference


T = TypeVar("T", bound="PairChange")


@_attrs_define
class PairChange:
    """One matched pair: its values on both sides and its verdicts.

    Attributes:
        id (str):
        baseline (PairChangeBaseline):
        candidate (PairChangeCandidate):
        difference (PairChangeDifference):
        baseline_risk (PairChangeBaselineRisk):
        candidate_risk (PairChangeCandidateRisk):
    """

    id: str
    baseline: PairChangeBaseline
    candidate: PairChangeCandidate
    difference: PairChangeDifference
    baseline_risk: PairChangeBaselineRisk
    candidate_risk: PairChangeCandidateRisk

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        baseline = self.baseline.to_dict()

        candidate = self.candidate.to_dict()

        difference = self.difference.to_dict()

        baseline_risk = self.baseline_risk.value

        candidate_risk = self.candidate_risk.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
                "baseline": baseline,
                "candidate": candidate,
                "difference": difference,
                "baseline_risk": baseline_risk,
                "candidate_risk": candidate_risk,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.pair_change_baseline import PairChangeBaseline
        from ..models.pair_change_candidate import PairChangeCandidate
        from ..models.pair_change_difference import PairChangeDifference

        d = dict(src_dict)
        id = d.pop("id")

        baseline = PairChangeBaseline.from_dict(d.pop("baseline"))

        candidate = PairChangeCandidate.from_dict(d.pop("candidate"))

        difference = PairChangeDifference.from_dict(d.pop("difference"))

        baseline_risk = PairChangeBaselineRisk(d.pop("baseline_risk"))

        candidate_risk = PairChangeCandidateRisk(d.pop("candidate_risk"))

        pair_change = cls(
            id=id,
            baseline=baseline,
            candidate=candidate,
            difference=difference,
            baseline_risk=baseline_risk,
            candidate_risk=candidate_risk,
        )

        return pair_change
