from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="SourcePair")


@_attrs_define
class SourcePair:
    """One pair given by reference (``api_schemas.sources``): where the worker reads its
    images, ``https://`` or ``file://`` URIs, plus the names a ``PairSpec`` gives.

        Attributes:
            ground_truth (str):
            restored (str):
            id (None | str | Unset):
            group (None | str | Unset):
            input_ (None | str | Unset):
            sample (int | None | Unset):
            observation (None | str | Unset):
    """

    ground_truth: str
    restored: str
    id: None | str | Unset = UNSET
    group: None | str | Unset = UNSET
    input_: None | str | Unset = UNSET
    sample: int | None | Unset = UNSET
    observation: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        ground_truth = self.ground_truth

        restored = self.restored

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

        observation: None | str | Unset
        if isinstance(self.observation, Unset):
            observation = UNSET
        else:
            observation = self.observation

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "ground_truth": ground_truth,
                "restored": restored,
            }
        )
        if id is not UNSET:
            field_dict["id"] = id
        if group is not UNSET:
            field_dict["group"] = group
        if input_ is not UNSET:
            field_dict["input"] = input_
        if sample is not UNSET:
            field_dict["sample"] = sample
        if observation is not UNSET:
            field_dict["observation"] = observation

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        ground_truth = d.pop("ground_truth")

        restored = d.pop("restored")

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

        def _parse_observation(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        observation = _parse_observation(d.pop("observation", UNSET))

        source_pair = cls(
            ground_truth=ground_truth,
            restored=restored,
            id=id,
            group=group,
            input_=input_,
            sample=sample,
            observation=observation,
        )

        return source_pair
