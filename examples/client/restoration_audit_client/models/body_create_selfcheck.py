from __future__ import annotations

from collections.abc import Mapping
from io import BytesIO
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from .. import types
from ..types import UNSET, File, FileTypes, Unset

T = TypeVar("T", bound="BodyCreateSelfcheck")


@_attrs_define
class BodyCreateSelfcheck:
    """
    Attributes:
        options (str): JSON object (SelfCheckCreate): `degradation` (required; JSON or short form such as
            `downsample:4:bicubic`), `images`, `size`, `seed`, `tolerance`, `resamples`, `audit`. Example: `{"degradation":
            "noise:0.05", "images": 4, "size": 64}`.
        ground_truth (list[File] | None | Unset): Optional ground truths whose luma spectrum shapes the source.
    """

    options: str
    ground_truth: list[File] | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        options = self.options

        ground_truth: list[FileTypes] | None | Unset
        if isinstance(self.ground_truth, Unset):
            ground_truth = UNSET
        elif isinstance(self.ground_truth, list):
            ground_truth = []
            for ground_truth_type_0_item_data in self.ground_truth:
                ground_truth_type_0_item = ground_truth_type_0_item_data.to_tuple()

                ground_truth.append(ground_truth_type_0_item)

        else:
            ground_truth = self.ground_truth

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "options": options,
            }
        )
        if ground_truth is not UNSET:
            field_dict["ground_truth"] = ground_truth

        return field_dict

    def to_multipart(self) -> types.RequestFiles:
        files: types.RequestFiles = []

        files.append(("options", (None, str(self.options).encode(), "text/plain")))

        if not isinstance(self.ground_truth, Unset):
            if isinstance(self.ground_truth, list):
                for ground_truth_type_0_item_element in self.ground_truth:
                    files.append(
                        ("ground_truth", ground_truth_type_0_item_element.to_tuple())
                    )
            else:
                files.append(
                    (
                        "ground_truth",
                        (None, str(self.ground_truth).encode(), "text/plain"),
                    )
                )

        for prop_name, prop in self.additional_properties.items():
            files.append((prop_name, (None, str(prop).encode(), "text/plain")))

        return files

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        options = d.pop("options")

        def _parse_ground_truth(data: object) -> list[File] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                ground_truth_type_0 = []
                _ground_truth_type_0 = data
                for ground_truth_type_0_item_data in _ground_truth_type_0:
                    ground_truth_type_0_item = File(
                        payload=BytesIO(ground_truth_type_0_item_data)
                    )

                    ground_truth_type_0.append(ground_truth_type_0_item)

                return ground_truth_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[File] | None | Unset, data)

        ground_truth = _parse_ground_truth(d.pop("ground_truth", UNSET))

        body_create_selfcheck = cls(
            options=options,
            ground_truth=ground_truth,
        )

        body_create_selfcheck.additional_properties = d
        return body_create_selfcheck

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
