from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="RiskThresholds")


@_attrs_define
class RiskThresholds:
    """Thresholds of the risk verdict (docs/theory.md 3.8, revision 2); echoed in the report.

    Attributes:
        high_uncertainty_ratio (float | Unset):  Default: 1.8.
        medium_uncertainty_ratio (float | Unset):  Default: 1.4.
        high_min_uncertainty_multiplier (float | Unset):  Default: 1.8.
        medium_min_uncertainty_multiplier (float | Unset):  Default: 1.4.
        high_invented_detail_ratio (float | Unset):  Default: 0.5.
        medium_invented_detail_ratio (float | Unset):  Default: 0.25.
        medium_calibration_band (list[float] | Unset):
        high_calibration_band (list[float] | Unset):
    """

    high_uncertainty_ratio: float | Unset = 1.8
    medium_uncertainty_ratio: float | Unset = 1.4
    high_min_uncertainty_multiplier: float | Unset = 1.8
    medium_min_uncertainty_multiplier: float | Unset = 1.4
    high_invented_detail_ratio: float | Unset = 0.5
    medium_invented_detail_ratio: float | Unset = 0.25
    medium_calibration_band: list[float] | Unset = UNSET
    high_calibration_band: list[float] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        high_uncertainty_ratio = self.high_uncertainty_ratio

        medium_uncertainty_ratio = self.medium_uncertainty_ratio

        high_min_uncertainty_multiplier = self.high_min_uncertainty_multiplier

        medium_min_uncertainty_multiplier = self.medium_min_uncertainty_multiplier

        high_invented_detail_ratio = self.high_invented_detail_ratio

        medium_invented_detail_ratio = self.medium_invented_detail_ratio

        medium_calibration_band: list[float] | Unset = UNSET
        if not isinstance(self.medium_calibration_band, Unset):
            medium_calibration_band = []
            for medium_calibration_band_item_data in self.medium_calibration_band:
                medium_calibration_band_item: float
                medium_calibration_band_item = medium_calibration_band_item_data
                medium_calibration_band.append(medium_calibration_band_item)

        high_calibration_band: list[float] | Unset = UNSET
        if not isinstance(self.high_calibration_band, Unset):
            high_calibration_band = []
            for high_calibration_band_item_data in self.high_calibration_band:
                high_calibration_band_item: float
                high_calibration_band_item = high_calibration_band_item_data
                high_calibration_band.append(high_calibration_band_item)

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if high_uncertainty_ratio is not UNSET:
            field_dict["high_uncertainty_ratio"] = high_uncertainty_ratio
        if medium_uncertainty_ratio is not UNSET:
            field_dict["medium_uncertainty_ratio"] = medium_uncertainty_ratio
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
        if medium_calibration_band is not UNSET:
            field_dict["medium_calibration_band"] = medium_calibration_band
        if high_calibration_band is not UNSET:
            field_dict["high_calibration_band"] = high_calibration_band

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        high_uncertainty_ratio = d.pop("high_uncertainty_ratio", UNSET)

        medium_uncertainty_ratio = d.pop("medium_uncertainty_ratio", UNSET)

        high_min_uncertainty_multiplier = d.pop(
            "high_min_uncertainty_multiplier", UNSET
        )

        medium_min_uncertainty_multiplier = d.pop(
            "medium_min_uncertainty_multiplier", UNSET
        )

        high_invented_detail_ratio = d.pop("high_invented_detail_ratio", UNSET)

        medium_invented_detail_ratio = d.pop("medium_invented_detail_ratio", UNSET)

        _medium_calibration_band = d.pop("medium_calibration_band", UNSET)
        medium_calibration_band: list[float] | Unset = UNSET
        if _medium_calibration_band is not UNSET:
            medium_calibration_band = []
            for medium_calibration_band_item_data in _medium_calibration_band:

                def _parse_medium_calibration_band_item(data: object) -> float:
                    return cast(float, data)

                medium_calibration_band_item = _parse_medium_calibration_band_item(
                    medium_calibration_band_item_data
                )

                medium_calibration_band.append(medium_calibration_band_item)

        _high_calibration_band = d.pop("high_calibration_band", UNSET)
        high_calibration_band: list[float] | Unset = UNSET
        if _high_calibration_band is not UNSET:
            high_calibration_band = []
            for high_calibration_band_item_data in _high_calibration_band:

                def _parse_high_calibration_band_item(data: object) -> float:
                    return cast(float, data)

                high_calibration_band_item = _parse_high_calibration_band_item(
                    high_calibration_band_item_data
                )

                high_calibration_band.append(high_calibration_band_item)

        risk_thresholds = cls(
            high_uncertainty_ratio=high_uncertainty_ratio,
            medium_uncertainty_ratio=medium_uncertainty_ratio,
            high_min_uncertainty_multiplier=high_min_uncertainty_multiplier,
            medium_min_uncertainty_multiplier=medium_min_uncertainty_multiplier,
            high_invented_detail_ratio=high_invented_detail_ratio,
            medium_invented_detail_ratio=medium_invented_detail_ratio,
            medium_calibration_band=medium_calibration_band,
            high_calibration_band=high_calibration_band,
        )

        return risk_thresholds
