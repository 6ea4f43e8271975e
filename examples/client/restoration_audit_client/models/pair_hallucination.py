from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.pair_hallucination_maps import PairHallucinationMaps


T = TypeVar("T", bound="PairHallucination")


@_attrs_define
class PairHallucination:
    """
    Attributes:
        invented_detail_ratio (float | None):
        maps (PairHallucinationMaps | Unset):
    """

    invented_detail_ratio: float | None
    maps: PairHallucinationMaps | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        invented_detail_ratio: float | None
        invented_detail_ratio = self.invented_detail_ratio

        maps: dict[str, Any] | Unset = UNSET
        if not isinstance(self.maps, Unset):
            maps = self.maps.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "invented_detail_ratio": invented_detail_ratio,
            }
        )
        if maps is not UNSET:
            field_dict["maps"] = maps

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.pair_hallucination_maps import PairHallucinationMaps

        d = dict(src_dict)

        def _parse_invented_detail_ratio(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        invented_detail_ratio = _parse_invented_detail_ratio(
            d.pop("invented_detail_ratio")
        )

        _maps = d.pop("maps", UNSET)
        maps: PairHallucinationMaps | Unset
        if isinstance(_maps, Unset):
            maps = UNSET
        else:
            maps = PairHallucinationMaps.from_dict(_maps)

        pair_hallucination = cls(
            invented_detail_ratio=invented_detail_ratio,
            maps=maps,
        )

        return pair_hallucination
