from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.audit_report import AuditReport
    from ..models.self_check_item import SelfCheckItem
    from ..models.self_check_source import SelfCheckSource


T = TypeVar("T", bound="SelfCheckResult")


@_attrs_define
class SelfCheckResult:
    """Every check, whether all hold, how the source was made, and the engine's report on
    the three synthetic restorers.

        Attributes:
            passed (bool):
            checks (list[SelfCheckItem]):
            source (SelfCheckSource): How the synthetic problem was made.
            synthesis_seconds (float):
            audit_seconds (float):
            report (AuditReport): The whole report document of REPORT.md.
            notes (list[str] | Unset):
    """

    passed: bool
    checks: list[SelfCheckItem]
    source: SelfCheckSource
    synthesis_seconds: float
    audit_seconds: float
    report: AuditReport
    notes: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        passed = self.passed

        checks = []
        for checks_item_data in self.checks:
            checks_item = checks_item_data.to_dict()
            checks.append(checks_item)

        source = self.source.to_dict()

        synthesis_seconds = self.synthesis_seconds

        audit_seconds = self.audit_seconds

        report = self.report.to_dict()

        notes: list[str] | Unset = UNSET
        if not isinstance(self.notes, Unset):
            notes = self.notes

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "passed": passed,
                "checks": checks,
                "source": source,
                "synthesis_seconds": synthesis_seconds,
                "audit_seconds": audit_seconds,
                "report": report,
            }
        )
        if notes is not UNSET:
            field_dict["notes"] = notes

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.audit_report import AuditReport
        from ..models.self_check_item import SelfCheckItem
        from ..models.self_check_source import SelfCheckSource

        d = dict(src_dict)
        passed = d.pop("passed")

        checks = []
        _checks = d.pop("checks")
        for checks_item_data in _checks:
            checks_item = SelfCheckItem.from_dict(checks_item_data)

            checks.append(checks_item)

        source = SelfCheckSource.from_dict(d.pop("source"))

        synthesis_seconds = d.pop("synthesis_seconds")

        audit_seconds = d.pop("audit_seconds")

        report = AuditReport.from_dict(d.pop("report"))

        notes = cast(list[str], d.pop("notes", UNSET))

        self_check_result = cls(
            passed=passed,
            checks=checks,
            source=source,
            synthesis_seconds=synthesis_seconds,
            audit_seconds=audit_seconds,
            report=report,
            notes=notes,
        )

        self_check_result.additional_properties = d
        return self_check_result

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
