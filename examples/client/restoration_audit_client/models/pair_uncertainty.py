from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="PairUncertainty")


@_attrs_define
class PairUncertainty:
    """
    Attributes:
        gaussian (float | None):
    """

    gaussian: float | None

    def to_dict(self) -> dict[str, Any]:
        gaussian: float | None
        gaussian = self.gaussian

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "gaussian": gaussian,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_gaussian(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        gaussian = _parse_gaussian(d.pop("gaussian"))

        pair_uncertainty = cls(
            gaussian=gaussian,
        )

        return pair_uncertainty
