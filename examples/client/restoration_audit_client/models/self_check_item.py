from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="SelfCheckItem")


@_attrs_define
class SelfCheckItem:
    """One expectation of docs/theory.md §3.12 and what the audit measured.

    Attributes:
        name (str):
        restorer (str):
        expected (str):
        measured (str):
        holds (bool):
        expected_value (float | None | Unset):
        value (float | None | Unset):
        interval (list[float] | None | Unset):
        tolerance (float | None | Unset):
    """

    name: str
    restorer: str
    expected: str
    measured: str
    holds: bool
    expected_value: float | None | Unset = UNSET
    value: float | None | Unset = UNSET
    interval: list[float] | None | Unset = UNSET
    tolerance: float | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        restorer = self.restorer

        expected = self.expected

        measured = self.measured

        holds = self.holds

        expected_value: float | None | Unset
        if isinstance(self.expected_value, Unset):
            expected_value = UNSET
        else:
            expected_value = self.expected_value

        value: float | None | Unset
        if isinstance(self.value, Unset):
            value = UNSET
        else:
            value = self.value

        interval: list[float] | None | Unset
        if isinstance(self.interval, Unset):
            interval = UNSET
        elif isinstance(self.interval, list):
            interval = []
            for interval_type_0_item_data in self.interval:
                interval_type_0_item: float
                interval_type_0_item = interval_type_0_item_data
                interval.append(interval_type_0_item)

        else:
            interval = self.interval

        tolerance: float | None | Unset
        if isinstance(self.tolerance, Unset):
            tolerance = UNSET
        else:
            tolerance = self.tolerance

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "restorer": restorer,
                "expected": expected,
                "measured": measured,
                "holds": holds,
            }
        )
        if expected_value is not UNSET:
            field_dict["expected_value"] = expected_value
        if value is not UNSET:
            field_dict["value"] = value
        if interval is not UNSET:
            field_dict["interval"] = interval
        if tolerance is not UNSET:
            field_dict["tolerance"] = tolerance

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        name = d.pop("name")

        restorer = d.pop("restorer")

        expected = d.pop("expected")

        measured = d.pop("measured")

        holds = d.pop("holds")

        def _parse_expected_value(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        expected_value = _parse_expected_value(d.pop("expected_value", UNSET))

        def _parse_value(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        value = _parse_value(d.pop("value", UNSET))

        def _parse_interval(data: object) -> list[float] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                interval_type_0 = []
                _interval_type_0 = data
                for interval_type_0_item_data in _interval_type_0:

                    def _parse_interval_type_0_item(data: object) -> float:
                        return cast(float, data)

                    interval_type_0_item = _parse_interval_type_0_item(
                        interval_type_0_item_data
                    )

                    interval_type_0.append(interval_type_0_item)

                return interval_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[float] | None | Unset, data)

        interval = _parse_interval(d.pop("interval", UNSET))

        def _parse_tolerance(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        tolerance = _parse_tolerance(d.pop("tolerance", UNSET))

        self_check_item = cls(
            name=name,
            restorer=restorer,
            expected=expected,
            measured=measured,
            holds=holds,
            expected_value=expected_value,
            value=value,
            interval=interval,
            tolerance=tolerance,
        )

        self_check_item.additional_properties = d
        return self_check_item

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
