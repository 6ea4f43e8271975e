from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="Estimate")


@_attrs_define
class Estimate:
    """A point estimate with its bootstrap interval and provenance.

    Attributes:
        value (float | None):
        estimator (str):
        n (int): Sample size behind the estimate (pairs or patches).
        ci_low (float | None | Unset):
        ci_high (float | None | Unset):
    """

    value: float | None
    estimator: str
    n: int
    ci_low: float | None | Unset = UNSET
    ci_high: float | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        value: float | None
        value = self.value

        estimator = self.estimator

        n = self.n

        ci_low: float | None | Unset
        if isinstance(self.ci_low, Unset):
            ci_low = UNSET
        else:
            ci_low = self.ci_low

        ci_high: float | None | Unset
        if isinstance(self.ci_high, Unset):
            ci_high = UNSET
        else:
            ci_high = self.ci_high

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "value": value,
                "estimator": estimator,
                "n": n,
            }
        )
        if ci_low is not UNSET:
            field_dict["ci_low"] = ci_low
        if ci_high is not UNSET:
            field_dict["ci_high"] = ci_high

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_value(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        value = _parse_value(d.pop("value"))

        estimator = d.pop("estimator")

        n = d.pop("n")

        def _parse_ci_low(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        ci_low = _parse_ci_low(d.pop("ci_low", UNSET))

        def _parse_ci_high(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        ci_high = _parse_ci_high(d.pop("ci_high", UNSET))

        estimate = cls(
            value=value,
            estimator=estimator,
            n=n,
            ci_low=ci_low,
            ci_high=ci_high,
        )

        return estimate
