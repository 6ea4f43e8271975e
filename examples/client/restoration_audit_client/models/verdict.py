from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.verdict_level import VerdictLevel

T = TypeVar("T", bound="Verdict")


@_attrs_define
class Verdict:
    """Hallucination-risk verdict (docs/theory.md 3.8) with the reasons that fired.

    Attributes:
        level (VerdictLevel):
        reasons (list[str]):
    """

    level: VerdictLevel
    reasons: list[str]

    def to_dict(self) -> dict[str, Any]:
        level = self.level.value

        reasons = self.reasons

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "level": level,
                "reasons": reasons,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        level = VerdictLevel(d.pop("level"))

        reasons = cast(list[str], d.pop("reasons"))

        verdict = cls(
            level=level,
            reasons=reasons,
        )

        return verdict
