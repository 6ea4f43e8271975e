from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.pair_consistency import PairConsistency
    from ..models.pair_distortion import PairDistortion
    from ..models.pair_hallucination import PairHallucination
    from ..models.pair_perception import PairPerception
    from ..models.pair_uncertainty import PairUncertainty
    from ..models.verdict import Verdict


T = TypeVar("T", bound="PairReport")


@_attrs_define
class PairReport:
    """
    Attributes:
        id (str):
        group (str):
        width (int):
        height (int):
        distortion (PairDistortion):
        uncertainty (PairUncertainty):
        perception (PairPerception):
        hallucination (PairHallucination):
        risk (Verdict): Hallucination-risk verdict (docs/theory.md 3.8) with the reasons that fired.
        consistency (None | PairConsistency | Unset):
        warnings (list[str] | Unset):
    """

    id: str
    group: str
    width: int
    height: int
    distortion: PairDistortion
    uncertainty: PairUncertainty
    perception: PairPerception
    hallucination: PairHallucination
    risk: Verdict
    consistency: None | PairConsistency | Unset = UNSET
    warnings: list[str] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.pair_consistency import PairConsistency

        id = self.id

        group = self.group

        width = self.width

        height = self.height

        distortion = self.distortion.to_dict()

        uncertainty = self.uncertainty.to_dict()

        perception = self.perception.to_dict()

        hallucination = self.hallucination.to_dict()

        risk = self.risk.to_dict()

        consistency: dict[str, Any] | None | Unset
        if isinstance(self.consistency, Unset):
            consistency = UNSET
        elif isinstance(self.consistency, PairConsistency):
            consistency = self.consistency.to_dict()
        else:
            consistency = self.consistency

        warnings: list[str] | Unset = UNSET
        if not isinstance(self.warnings, Unset):
            warnings = self.warnings

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
                "group": group,
                "width": width,
                "height": height,
                "distortion": distortion,
                "uncertainty": uncertainty,
                "perception": perception,
                "hallucination": hallucination,
                "risk": risk,
            }
        )
        if consistency is not UNSET:
            field_dict["consistency"] = consistency
        if warnings is not UNSET:
            field_dict["warnings"] = warnings

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.pair_consistency import PairConsistency
        from ..models.pair_distortion import PairDistortion
        from ..models.pair_hallucination import PairHallucination
        from ..models.pair_perception import PairPerception
        from ..models.pair_uncertainty import PairUncertainty
        from ..models.verdict import Verdict

        d = dict(src_dict)
        id = d.pop("id")

        group = d.pop("group")

        width = d.pop("width")

        height = d.pop("height")

        distortion = PairDistortion.from_dict(d.pop("distortion"))

        uncertainty = PairUncertainty.from_dict(d.pop("uncertainty"))

        perception = PairPerception.from_dict(d.pop("perception"))

        hallucination = PairHallucination.from_dict(d.pop("hallucination"))

        risk = Verdict.from_dict(d.pop("risk"))

        def _parse_consistency(data: object) -> None | PairConsistency | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                consistency_type_0 = PairConsistency.from_dict(data)

                return consistency_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PairConsistency | Unset, data)

        consistency = _parse_consistency(d.pop("consistency", UNSET))

        warnings = cast(list[str], d.pop("warnings", UNSET))

        pair_report = cls(
            id=id,
            group=group,
            width=width,
            height=height,
            distortion=distortion,
            uncertainty=uncertainty,
            perception=perception,
            hallucination=hallucination,
            risk=risk,
            consistency=consistency,
            warnings=warnings,
        )

        return pair_report
