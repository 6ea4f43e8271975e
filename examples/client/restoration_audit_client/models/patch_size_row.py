from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.patch_size_row_up_region_type_0 import PatchSizeRowUpRegionType0
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.frontier_point import FrontierPoint


T = TypeVar("T", bound="PatchSizeRow")


@_attrs_define
class PatchSizeRow:
    """One row of the dimension sweep (docs/theory.md 3.11).

    Attributes:
        patch_size (int):
        per_dimension (float | None):
        uncertainty_ratio (float | None):
        uncertainty_floor_ratio (float | None):
        up_region (None | PatchSizeRowUpRegionType0):
        frontier (list[FrontierPoint] | None | Unset):
    """

    patch_size: int
    per_dimension: float | None
    uncertainty_ratio: float | None
    uncertainty_floor_ratio: float | None
    up_region: None | PatchSizeRowUpRegionType0
    frontier: list[FrontierPoint] | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        patch_size = self.patch_size

        per_dimension: float | None
        per_dimension = self.per_dimension

        uncertainty_ratio: float | None
        uncertainty_ratio = self.uncertainty_ratio

        uncertainty_floor_ratio: float | None
        uncertainty_floor_ratio = self.uncertainty_floor_ratio

        up_region: None | str
        if isinstance(self.up_region, PatchSizeRowUpRegionType0):
            up_region = self.up_region.value
        else:
            up_region = self.up_region

        frontier: list[dict[str, Any]] | None | Unset
        if isinstance(self.frontier, Unset):
            frontier = UNSET
        elif isinstance(self.frontier, list):
            frontier = []
            for frontier_type_0_item_data in self.frontier:
                frontier_type_0_item = frontier_type_0_item_data.to_dict()
                frontier.append(frontier_type_0_item)

        else:
            frontier = self.frontier

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "patch_size": patch_size,
                "per_dimension": per_dimension,
                "uncertainty_ratio": uncertainty_ratio,
                "uncertainty_floor_ratio": uncertainty_floor_ratio,
                "up_region": up_region,
            }
        )
        if frontier is not UNSET:
            field_dict["frontier"] = frontier

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.frontier_point import FrontierPoint

        d = dict(src_dict)
        patch_size = d.pop("patch_size")

        def _parse_per_dimension(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        per_dimension = _parse_per_dimension(d.pop("per_dimension"))

        def _parse_uncertainty_ratio(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        uncertainty_ratio = _parse_uncertainty_ratio(d.pop("uncertainty_ratio"))

        def _parse_uncertainty_floor_ratio(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        uncertainty_floor_ratio = _parse_uncertainty_floor_ratio(
            d.pop("uncertainty_floor_ratio")
        )

        def _parse_up_region(data: object) -> None | PatchSizeRowUpRegionType0:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                up_region_type_0 = PatchSizeRowUpRegionType0(data)

                return up_region_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PatchSizeRowUpRegionType0, data)

        up_region = _parse_up_region(d.pop("up_region"))

        def _parse_frontier(data: object) -> list[FrontierPoint] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                frontier_type_0 = []
                _frontier_type_0 = data
                for frontier_type_0_item_data in _frontier_type_0:
                    frontier_type_0_item = FrontierPoint.from_dict(
                        frontier_type_0_item_data
                    )

                    frontier_type_0.append(frontier_type_0_item)

                return frontier_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[FrontierPoint] | None | Unset, data)

        frontier = _parse_frontier(d.pop("frontier", UNSET))

        patch_size_row = cls(
            patch_size=patch_size,
            per_dimension=per_dimension,
            uncertainty_ratio=uncertainty_ratio,
            uncertainty_floor_ratio=uncertainty_floor_ratio,
            up_region=up_region,
            frontier=frontier,
        )

        return patch_size_row
