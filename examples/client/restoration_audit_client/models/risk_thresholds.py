from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="RiskThresholds")


@_attrs_define
class RiskThresholds:
    """Thresholds of the risk verdict (THEORY.md 3.8); echoed in the report.

    Attributes:
        high_min_uncertainty_multiplier (float | Unset):  Default: 1.8.
        medium_min_uncertainty_multiplier (float | Unset):  Default: 1.4.
        high_invented_detail_ratio (float | Unset):  Default: 0.5.
        medium_invented_detail_ratio (float | Unset):  Default: 0.25.
    """

    high_min_uncertainty_multiplier: float | Unset = 1.8
    medium_min_uncertainty_multiplier: float | Unset = 1.4
    high_invented_detail_ratio: float | Unset = 0.5
    medium_invented_detail_ratio: float | Unset = 0.25

    def to_dict(self) -> dict[str, Any]:
        high_min_uncertainty_multiplier = self.high_min_uncertainty_multiplier

        medium_min_uncertainty_multiplier = self.medium_min_uncertainty_multiplier

        high_invented_detail_ratio = self.high_invented_detail_ratio

        medium_invented_detail_ratio = self.medium_invented_detail_ratio

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if high_min_uncertainty_multiplier is not UNSET:
            field_dict["high_min_uncertainty_multiplier"] = (
                high_min_uncertainty_multiplier
            )
        if medium_min_uncertainty_multiplier is not UNSET:
            field_dict["medium_min_uncertainty_multiplier"] = (
                medium_min_uncertainty_multiplier
            )
        if high_invented_detail_ratio is not UNSET:
            field_dict["high_invented_detail_ratio"] = high_invented_detail_ratio
        if medium_invented_detail_ratio is not UNSET:
            field_dict["medium_invented_detail_ratio"] = medium_invented_detail_ratio

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        high_min_uncertainty_multiplier = d.pop(
            "high_min_uncertainty_multiplier", UNSET
        )

        medium_min_uncertainty_multiplier = d.pop(
            "medium_min_uncertainty_multiplier", UNSET
        )

        high_invented_detail_ratio = d.pop("high_invented_detail_ratio", UNSET)

        medium_invented_detail_ratio = d.pop("medium_invented_detail_ratio", UNSET)

        risk_thresholds = cls(
            high_min_uncertainty_multiplier=high_min_uncertainty_multiplier,
            medium_min_uncertainty_multiplier=medium_min_uncertainty_multiplier,
            high_invented_detail_ratio=high_invented_detail_ratio,
            medium_invented_detail_ratio=medium_invented_detail_ratio,
        )

        return risk_thresholds
