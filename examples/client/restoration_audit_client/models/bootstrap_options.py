from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="BootstrapOptions")


@_attrs_define
class BootstrapOptions:
    """Bootstrap over pairs (docs/theory.md 3.4 item 3).

    Attributes:
        resamples (int | Unset):  Default: 200.
        level (float | Unset):  Default: 0.95.
        seed (int | Unset):  Default: 0.
    """

    resamples: int | Unset = 200
    level: float | Unset = 0.95
    seed: int | Unset = 0

    def to_dict(self) -> dict[str, Any]:
        resamples = self.resamples

        level = self.level

        seed = self.seed

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if resamples is not UNSET:
            field_dict["resamples"] = resamples
        if level is not UNSET:
            field_dict["level"] = level
        if seed is not UNSET:
            field_dict["seed"] = seed

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        resamples = d.pop("resamples", UNSET)

        level = d.pop("level", UNSET)

        seed = d.pop("seed", UNSET)

        bootstrap_options = cls(
            resamples=resamples,
            level=level,
            seed=seed,
        )

        return bootstrap_options
