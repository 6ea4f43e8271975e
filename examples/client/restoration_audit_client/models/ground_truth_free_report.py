from __future__ import annotations

from collections.abc import Mapping
from typing import (
    TYPE_CHECKING,
    Any,
    Literal,
    Self,
    TypeVar,
    cast,
)

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.ground_truth_free_group import GroundTruthFreeGroup
    from ..models.ground_truth_free_report_degradation_type_0 import (
        GroundTruthFreeReportDegradationType0,
    )


T = TypeVar("T", bound="GroundTruthFreeReport")


@_attrs_define
class GroundTruthFreeReport:
    """The report of an audit of samples with no ground truth (docs/theory.md 3.9).

    Attributes:
        schema_version (str):  Default: '2'.
        mode (Literal['ground_truth_free']):  Default: 'ground_truth_free'.
        degradation (GroundTruthFreeReportDegradationType0 | None):
        patch_size (int):
        groups (list[GroundTruthFreeGroup]):
        warnings (list[str]):
    """

    degradation: GroundTruthFreeReportDegradationType0 | None
    patch_size: int
    groups: list[GroundTruthFreeGroup]
    warnings: list[str]
    schema_version: str = "2"
    mode: Literal["ground_truth_free"] = "ground_truth_free"

    def to_dict(self) -> dict[str, Any]:
        from ..models.ground_truth_free_report_degradation_type_0 import (
            GroundTruthFreeReportDegradationType0,
        )

        schema_version = self.schema_version

        mode = self.mode

        degradation: dict[str, Any] | None
        if isinstance(self.degradation, GroundTruthFreeReportDegradationType0):
            degradation = self.degradation.to_dict()
        else:
            degradation = self.degradation

        patch_size = self.patch_size

        groups = []
        for groups_item_data in self.groups:
            groups_item = groups_item_data.to_dict()
            groups.append(groups_item)

        warnings = self.warnings

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "schema_version": schema_version,
                "mode": mode,
                "degradation": degradation,
                "patch_size": patch_size,
                "groups": groups,
                "warnings": warnings,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.ground_truth_free_group import GroundTruthFreeGroup
        from ..models.ground_truth_free_report_degradation_type_0 import (
            GroundTruthFreeReportDegradationType0,
        )

        d = dict(src_dict)
        schema_version = d.pop("schema_version")

        mode = cast(Literal["ground_truth_free"], d.pop("mode"))
        if mode != "ground_truth_free":
            raise ValueError(f"mode must match const 'ground_truth_free', got '{mode}'")

        def _parse_degradation(
            data: object,
        ) -> GroundTruthFreeReportDegradationType0 | None:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                degradation_type_0 = GroundTruthFreeReportDegradationType0.from_dict(
                    data
                )

                return degradation_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(GroundTruthFreeReportDegradationType0 | None, data)

        degradation = _parse_degradation(d.pop("degradation"))

        patch_size = d.pop("patch_size")

        groups = []
        _groups = d.pop("groups")
        for groups_item_data in _groups:
            groups_item = GroundTruthFreeGroup.from_dict(groups_item_data)

            groups.append(groups_item)

        warnings = cast(list[str], d.pop("warnings"))

        ground_truth_free_report = cls(
            schema_version=schema_version,
            mode=mode,
            degradation=degradation,
            patch_size=patch_size,
            groups=groups,
            warnings=warnings,
        )

        return ground_truth_free_report
