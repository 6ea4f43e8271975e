from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="PairPerception")


@_attrs_define
class PairPerception:
    """
    Attributes:
        gaussian_renyi (float | None):
    """

    gaussian_renyi: float | None

    def to_dict(self) -> dict[str, Any]:
        gaussian_renyi: float | None
        gaussian_renyi = self.gaussian_renyi

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "gaussian_renyi": gaussian_renyi,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_gaussian_renyi(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        gaussian_renyi = _parse_gaussian_renyi(d.pop("gaussian_renyi"))

        pair_perception = cls(
            gaussian_renyi=gaussian_renyi,
        )

        return pair_perception
