from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="ProblemError")


@_attrs_define
class ProblemError:
    """One offending part of a request, for example ``restored[3]``.

    Attributes:
        part (str): The offending part: a form part with its index, a field path.
        message (str): What is wrong with it, in words.
    """

    part: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        part = self.part

        message = self.message

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "part": part,
                "message": message,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        part = d.pop("part")

        message = d.pop("message")

        problem_error = cls(
            part=part,
            message=message,
        )

        return problem_error
