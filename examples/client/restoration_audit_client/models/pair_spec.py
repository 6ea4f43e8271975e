from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="PairSpec")


@_attrs_define
class PairSpec:
    """Name and restorer (group) of the pair at the same position in the upload.

    Attributes:
        id (None | str | Unset):
        group (None | str | Unset):
        input_ (None | str | Unset):
        sample (int | None | Unset):
    """

    id: None | str | Unset = UNSET
    group: None | str | Unset = UNSET
    input_: None | str | Unset = UNSET
    sample: int | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        id: None | str | Unset
        if isinstance(self.id, Unset):
            id = UNSET
        else:
            id = self.id

        group: None | str | Unset
        if isinstance(self.group, Unset):
            group = UNSET
        else:
            group = self.group

        input_: None | str | Unset
        if isinstance(self.input_, Unset):
            input_ = UNSET
        else:
            input_ = self.input_

        sample: int | None | Unset
        if isinstance(self.sample, Unset):
            sample = UNSET
        else:
            sample = self.sample

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if id is not UNSET:
            field_dict["id"] = id
        if group is not UNSET:
            field_dict["group"] = group
        if input_ is not UNSET:
            field_dict["input"] = input_
        if sample is not UNSET:
            field_dict["sample"] = sample

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        id = _parse_id(d.pop("id", UNSET))

        def _parse_group(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        group = _parse_group(d.pop("group", UNSET))

        def _parse_input_(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        input_ = _parse_input_(d.pop("input", UNSET))

        def _parse_sample(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        sample = _parse_sample(d.pop("sample", UNSET))

        pair_spec = cls(
            id=id,
            group=group,
            input_=input_,
            sample=sample,
        )

        return pair_spec
