from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="IntervalCoverage")


@_attrs_define
class IntervalCoverage:
    """
    Attributes:
        level (float):
        coverage (float):
        mean_width (float):
    """

    level: float
    coverage: float
    mean_width: float

    def to_dict(self) -> dict[str, Any]:
        level = self.level

        coverage = self.coverage

        mean_width = self.mean_width

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "level": level,
                "coverage": coverage,
                "mean_width": mean_width,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        level = d.pop("level")

        coverage = d.pop("coverage")

        mean_width = d.pop("mean_width")

        interval_coverage = cls(
            level=level,
            coverage=coverage,
            mean_width=mean_width,
        )

        return interval_coverage
