from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.report_settings_color import ReportSettingsColor
from ..models.report_settings_preset_type_0 import ReportSettingsPresetType0
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.bootstrap_options import BootstrapOptions
    from ..models.report_settings_degradation_type_0 import (
        ReportSettingsDegradationType0,
    )
    from ..models.risk_thresholds import RiskThresholds


T = TypeVar("T", bound="ReportSettings")


@_attrs_define
class ReportSettings:
    """
    Attributes:
        color (ReportSettingsColor):
        patch_size (int):
        patch_stride (int):
        crop_border (int):
        renyi_order (float):
        knn_k (int):
        bootstrap (BootstrapOptions): Bootstrap over pairs (docs/theory.md 3.4 item 3).
        degradation (None | ReportSettingsDegradationType0):
        thresholds (RiskThresholds): Thresholds of the risk verdict (docs/theory.md 3.8, revision 2); echoed in the
            report.
        preset (None | ReportSettingsPresetType0 | Unset):
        bound_tolerance (float | None | Unset):
    """

    color: ReportSettingsColor
    patch_size: int
    patch_stride: int
    crop_border: int
    renyi_order: float
    knn_k: int
    bootstrap: BootstrapOptions
    degradation: None | ReportSettingsDegradationType0
    thresholds: RiskThresholds
    preset: None | ReportSettingsPresetType0 | Unset = UNSET
    bound_tolerance: float | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.report_settings_degradation_type_0 import (
            ReportSettingsDegradationType0,
        )

        color = self.color.value

        patch_size = self.patch_size

        patch_stride = self.patch_stride

        crop_border = self.crop_border

        renyi_order = self.renyi_order

        knn_k = self.knn_k

        bootstrap = self.bootstrap.to_dict()

        degradation: dict[str, Any] | None
        if isinstance(self.degradation, ReportSettingsDegradationType0):
            degradation = self.degradation.to_dict()
        else:
            degradation = self.degradation

        thresholds = self.thresholds.to_dict()

        preset: None | str | Unset
        if isinstance(self.preset, Unset):
            preset = UNSET
        elif isinstance(self.preset, ReportSettingsPresetType0):
            preset = self.preset.value
        else:
            preset = self.preset

        bound_tolerance: float | None | Unset
        if isinstance(self.bound_tolerance, Unset):
            bound_tolerance = UNSET
        else:
            bound_tolerance = self.bound_tolerance

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "color": color,
                "patch_size": patch_size,
                "patch_stride": patch_stride,
                "crop_border": crop_border,
                "renyi_order": renyi_order,
                "knn_k": knn_k,
                "bootstrap": bootstrap,
                "degradation": degradation,
                "thresholds": thresholds,
            }
        )
        if preset is not UNSET:
            field_dict["preset"] = preset
        if bound_tolerance is not UNSET:
            field_dict["bound_tolerance"] = bound_tolerance

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.bootstrap_options import BootstrapOptions
        from ..models.report_settings_degradation_type_0 import (
            ReportSettingsDegradationType0,
        )
        from ..models.risk_thresholds import RiskThresholds

        d = dict(src_dict)
        color = ReportSettingsColor(d.pop("color"))

        patch_size = d.pop("patch_size")

        patch_stride = d.pop("patch_stride")

        crop_border = d.pop("crop_border")

        renyi_order = d.pop("renyi_order")

        knn_k = d.pop("knn_k")

        bootstrap = BootstrapOptions.from_dict(d.pop("bootstrap"))

        def _parse_degradation(data: object) -> None | ReportSettingsDegradationType0:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                degradation_type_0 = ReportSettingsDegradationType0.from_dict(data)

                return degradation_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ReportSettingsDegradationType0, data)

        degradation = _parse_degradation(d.pop("degradation"))

        thresholds = RiskThresholds.from_dict(d.pop("thresholds"))

        def _parse_preset(data: object) -> None | ReportSettingsPresetType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                preset_type_0 = ReportSettingsPresetType0(data)

                return preset_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | ReportSettingsPresetType0 | Unset, data)

        preset = _parse_preset(d.pop("preset", UNSET))

        def _parse_bound_tolerance(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        bound_tolerance = _parse_bound_tolerance(d.pop("bound_tolerance", UNSET))

        report_settings = cls(
            color=color,
            patch_size=patch_size,
            patch_stride=patch_stride,
            crop_border=crop_border,
            renyi_order=renyi_order,
            knn_k=knn_k,
            bootstrap=bootstrap,
            degradation=degradation,
            thresholds=thresholds,
            preset=preset,
            bound_tolerance=bound_tolerance,
        )

        return report_settings
