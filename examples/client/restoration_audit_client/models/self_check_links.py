from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="SelfCheckLinks")


@_attrs_define
class SelfCheckLinks:
    """Where to poll, cancel, and read the engine's report (also under ``/v1/jobs``).

    Attributes:
        self_ (str):
        cancel (str):
        report (str):
    """

    self_: str
    cancel: str
    report: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        self_ = self.self_

        cancel = self.cancel

        report = self.report

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "self": self_,
                "cancel": cancel,
                "report": report,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        self_ = d.pop("self")

        cancel = d.pop("cancel")

        report = d.pop("report")

        self_check_links = cls(
            self_=self_,
            cancel=cancel,
            report=report,
        )

        self_check_links.additional_properties = d
        return self_check_links

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
