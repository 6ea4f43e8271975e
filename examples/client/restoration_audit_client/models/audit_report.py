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

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.audit_report_plots import AuditReportPlots
    from ..models.engine_info import EngineInfo
    from ..models.group_report import GroupReport
    from ..models.pair_report import PairReport
    from ..models.report_settings import ReportSettings


T = TypeVar("T", bound="AuditReport")


@_attrs_define
class AuditReport:
    """The whole report document of REPORT.md.

    Attributes:
        engine (EngineInfo):
        settings (ReportSettings):
        groups (list[GroupReport]):
        pairs (list[PairReport]):
        schema_version (Literal['2'] | Unset):  Default: '2'.
        plots (AuditReportPlots | Unset):
        warnings (list[str] | Unset):
    """

    engine: EngineInfo
    settings: ReportSettings
    groups: list[GroupReport]
    pairs: list[PairReport]
    schema_version: Literal["2"] | Unset = "2"
    plots: AuditReportPlots | Unset = UNSET
    warnings: list[str] | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        engine = self.engine.to_dict()

        settings = self.settings.to_dict()

        groups = []
        for groups_item_data in self.groups:
            groups_item = groups_item_data.to_dict()
            groups.append(groups_item)

        pairs = []
        for pairs_item_data in self.pairs:
            pairs_item = pairs_item_data.to_dict()
            pairs.append(pairs_item)

        schema_version = self.schema_version

        plots: dict[str, Any] | Unset = UNSET
        if not isinstance(self.plots, Unset):
            plots = self.plots.to_dict()

        warnings: list[str] | Unset = UNSET
        if not isinstance(self.warnings, Unset):
            warnings = self.warnings

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "engine": engine,
                "settings": settings,
                "groups": groups,
                "pairs": pairs,
            }
        )
        if schema_version is not UNSET:
            field_dict["schema_version"] = schema_version
        if plots is not UNSET:
            field_dict["plots"] = plots
        if warnings is not UNSET:
            field_dict["warnings"] = warnings

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.audit_report_plots import AuditReportPlots
        from ..models.engine_info import EngineInfo
        from ..models.group_report import GroupReport
        from ..models.pair_report import PairReport
        from ..models.report_settings import ReportSettings

        d = dict(src_dict)
        engine = EngineInfo.from_dict(d.pop("engine"))

        settings = ReportSettings.from_dict(d.pop("settings"))

        groups = []
        _groups = d.pop("groups")
        for groups_item_data in _groups:
            groups_item = GroupReport.from_dict(groups_item_data)

            groups.append(groups_item)

        pairs = []
        _pairs = d.pop("pairs")
        for pairs_item_data in _pairs:
            pairs_item = PairReport.from_dict(pairs_item_data)

            pairs.append(pairs_item)

        schema_version = cast(Literal["2"] | Unset, d.pop("schema_version", UNSET))
        if schema_version != "2" and not isinstance(schema_version, Unset):
            raise ValueError(
                f"schema_version must match const '2', got '{schema_version}'"
            )

        _plots = d.pop("plots", UNSET)
        plots: AuditReportPlots | Unset
        if isinstance(_plots, Unset):
            plots = UNSET
        else:
            plots = AuditReportPlots.from_dict(_plots)

        warnings = cast(list[str], d.pop("warnings", UNSET))

        audit_report = cls(
            engine=engine,
            settings=settings,
            groups=groups,
            pairs=pairs,
            schema_version=schema_version,
            plots=plots,
            warnings=warnings,
        )

        return audit_report
