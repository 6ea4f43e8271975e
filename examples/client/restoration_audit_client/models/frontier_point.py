from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="FrontierPoint")


@_attrs_define
class FrontierPoint:
    """One point of the Gaussian-oracle frontier (docs/theory.md 3.6): the oracle restorer
    ``E[X|Y] + t W`` has marginal index ``perception`` and uncertainty ratio ``1 + t^2``.

        Attributes:
            perception (float):
            ratio (float):
    """

    perception: float
    ratio: float

    def to_dict(self) -> dict[str, Any]:
        perception = self.perception

        ratio = self.ratio

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "perception": perception,
                "ratio": ratio,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        perception = d.pop("perception")

        ratio = d.pop("ratio")

        frontier_point = cls(
            perception=perception,
            ratio=ratio,
        )

        return frontier_point
