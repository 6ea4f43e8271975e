from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.group_report_up_region_type_0 import GroupReportUpRegionType0
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.group_distortion import GroupDistortion
    from ..models.group_hallucination import GroupHallucination
    from ..models.group_perception import GroupPerception
    from ..models.group_uncertainty import GroupUncertainty
    from ..models.verdict import Verdict


T = TypeVar("T", bound="GroupReport")


@_attrs_define
class GroupReport:
    """
    Attributes:
        name (str):
        n_pairs (int):
        n_patches (int):
        dimension (int):
        distortion (GroupDistortion):
        uncertainty (GroupUncertainty):
        perception (GroupPerception):
        min_uncertainty_multiplier (float | None):
        hallucination (GroupHallucination):
        risk (Verdict): Hallucination-risk verdict (THEORY.md 3.8) with the reasons that fired.
        inherent_uncertainty (float | None | Unset):
        inherent_uncertainty_margin (int | None | Unset):
        uncertainty_ratio (float | None | Unset):
        min_perception_index (float | None | Unset):
        up_region (GroupReportUpRegionType0 | None | Unset):
        uncertainty_floor (float | None | Unset):
    """

    name: str
    n_pairs: int
    n_patches: int
    dimension: int
    distortion: GroupDistortion
    uncertainty: GroupUncertainty
    perception: GroupPerception
    min_uncertainty_multiplier: float | None
    hallucination: GroupHallucination
    risk: Verdict
    inherent_uncertainty: float | None | Unset = UNSET
    inherent_uncertainty_margin: int | None | Unset = UNSET
    uncertainty_ratio: float | None | Unset = UNSET
    min_perception_index: float | None | Unset = UNSET
    up_region: GroupReportUpRegionType0 | None | Unset = UNSET
    uncertainty_floor: float | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        n_pairs = self.n_pairs

        n_patches = self.n_patches

        dimension = self.dimension

        distortion = self.distortion.to_dict()

        uncertainty = self.uncertainty.to_dict()

        perception = self.perception.to_dict()

        min_uncertainty_multiplier: float | None
        min_uncertainty_multiplier = self.min_uncertainty_multiplier

        hallucination = self.hallucination.to_dict()

        risk = self.risk.to_dict()

        inherent_uncertainty: float | None | Unset
        if isinstance(self.inherent_uncertainty, Unset):
            inherent_uncertainty = UNSET
        else:
            inherent_uncertainty = self.inherent_uncertainty

        inherent_uncertainty_margin: int | None | Unset
        if isinstance(self.inherent_uncertainty_margin, Unset):
            inherent_uncertainty_margin = UNSET
        else:
            inherent_uncertainty_margin = self.inherent_uncertainty_margin

        uncertainty_ratio: float | None | Unset
        if isinstance(self.uncertainty_ratio, Unset):
            uncertainty_ratio = UNSET
        else:
            uncertainty_ratio = self.uncertainty_ratio

        min_perception_index: float | None | Unset
        if isinstance(self.min_perception_index, Unset):
            min_perception_index = UNSET
        else:
            min_perception_index = self.min_perception_index

        up_region: None | str | Unset
        if isinstance(self.up_region, Unset):
            up_region = UNSET
        elif isinstance(self.up_region, GroupReportUpRegionType0):
            up_region = self.up_region.value
        else:
            up_region = self.up_region

        uncertainty_floor: float | None | Unset
        if isinstance(self.uncertainty_floor, Unset):
            uncertainty_floor = UNSET
        else:
            uncertainty_floor = self.uncertainty_floor

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
                "n_pairs": n_pairs,
                "n_patches": n_patches,
                "dimension": dimension,
                "distortion": distortion,
                "uncertainty": uncertainty,
                "perception": perception,
                "min_uncertainty_multiplier": min_uncertainty_multiplier,
                "hallucination": hallucination,
                "risk": risk,
            }
        )
        if inherent_uncertainty is not UNSET:
            field_dict["inherent_uncertainty"] = inherent_uncertainty
        if inherent_uncertainty_margin is not UNSET:
            field_dict["inherent_uncertainty_margin"] = inherent_uncertainty_margin
        if uncertainty_ratio is not UNSET:
            field_dict["uncertainty_ratio"] = uncertainty_ratio
        if min_perception_index is not UNSET:
            field_dict["min_perception_index"] = min_perception_index
        if up_region is not UNSET:
            field_dict["up_region"] = up_region
        if uncertainty_floor is not UNSET:
            field_dict["uncertainty_floor"] = uncertainty_floor

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.group_distortion import GroupDistortion
        from ..models.group_hallucination import GroupHallucination
        from ..models.group_perception import GroupPerception
        from ..models.group_uncertainty import GroupUncertainty
        from ..models.verdict import Verdict

        d = dict(src_dict)
        name = d.pop("name")

        n_pairs = d.pop("n_pairs")

        n_patches = d.pop("n_patches")

        dimension = d.pop("dimension")

        distortion = GroupDistortion.from_dict(d.pop("distortion"))

        uncertainty = GroupUncertainty.from_dict(d.pop("uncertainty"))

        perception = GroupPerception.from_dict(d.pop("perception"))

        def _parse_min_uncertainty_multiplier(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        min_uncertainty_multiplier = _parse_min_uncertainty_multiplier(
            d.pop("min_uncertainty_multiplier")
        )

        hallucination = GroupHallucination.from_dict(d.pop("hallucination"))

        risk = Verdict.from_dict(d.pop("risk"))

        def _parse_inherent_uncertainty(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        inherent_uncertainty = _parse_inherent_uncertainty(
            d.pop("inherent_uncertainty", UNSET)
        )

        def _parse_inherent_uncertainty_margin(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        inherent_uncertainty_margin = _parse_inherent_uncertainty_margin(
            d.pop("inherent_uncertainty_margin", UNSET)
        )

        def _parse_uncertainty_ratio(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        uncertainty_ratio = _parse_uncertainty_ratio(d.pop("uncertainty_ratio", UNSET))

        def _parse_min_perception_index(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        min_perception_index = _parse_min_perception_index(
            d.pop("min_perception_index", UNSET)
        )

        def _parse_up_region(data: object) -> GroupReportUpRegionType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                up_region_type_0 = GroupReportUpRegionType0(data)

                return up_region_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(GroupReportUpRegionType0 | None | Unset, data)

        up_region = _parse_up_region(d.pop("up_region", UNSET))

        def _parse_uncertainty_floor(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        uncertainty_floor = _parse_uncertainty_floor(d.pop("uncertainty_floor", UNSET))

        group_report = cls(
            name=name,
            n_pairs=n_pairs,
            n_patches=n_patches,
            dimension=dimension,
            distortion=distortion,
            uncertainty=uncertainty,
            perception=perception,
            min_uncertainty_multiplier=min_uncertainty_multiplier,
            hallucination=hallucination,
            risk=risk,
            inherent_uncertainty=inherent_uncertainty,
            inherent_uncertainty_margin=inherent_uncertainty_margin,
            uncertainty_ratio=uncertainty_ratio,
            min_perception_index=min_perception_index,
            up_region=up_region,
            uncertainty_floor=uncertainty_floor,
        )

        return group_report
