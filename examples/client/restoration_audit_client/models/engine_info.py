from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="EngineInfo")


@_attrs_define
class EngineInfo:
    """
    Attributes:
        version (str):
        device (str):
        torch (str):
    """

    version: str
    device: str
    torch: str

    def to_dict(self) -> dict[str, Any]:
        version = self.version

        device = self.device

        torch = self.torch

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "version": version,
                "device": device,
                "torch": torch,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        version = d.pop("version")

        device = d.pop("device")

        torch = d.pop("torch")

        engine_info = cls(
            version=version,
            device=device,
            torch=torch,
        )

        return engine_info
