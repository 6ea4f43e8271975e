from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="PairConsistency")


@_attrs_define
class PairConsistency:
    """
    Attributes:
        measurement_residual (float):
    """

    measurement_residual: float

    def to_dict(self) -> dict[str, Any]:
        measurement_residual = self.measurement_residual

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "measurement_residual": measurement_residual,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        measurement_residual = d.pop("measurement_residual")

        pair_consistency = cls(
            measurement_residual=measurement_residual,
        )

        return pair_consistency
