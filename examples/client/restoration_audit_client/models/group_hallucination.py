from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.estimate import Estimate


T = TypeVar("T", bound="GroupHallucination")


@_attrs_define
class GroupHallucination:
    """
    Attributes:
        invented_detail_ratio (Estimate): A point estimate with its bootstrap interval and provenance.
    """

    invented_detail_ratio: Estimate

    def to_dict(self) -> dict[str, Any]:
        invented_detail_ratio = self.invented_detail_ratio.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "invented_detail_ratio": invented_detail_ratio,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.estimate import Estimate

        d = dict(src_dict)
        invented_detail_ratio = Estimate.from_dict(d.pop("invented_detail_ratio"))

        group_hallucination = cls(
            invented_detail_ratio=invented_detail_ratio,
        )

        return group_hallucination
