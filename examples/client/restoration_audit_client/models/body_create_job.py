from __future__ import annotations

import json
from collections.abc import Mapping
from io import BytesIO
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from .. import types
from ..types import UNSET, File, FileTypes, Unset

if TYPE_CHECKING:
    from ..models.job_create_options import JobCreateOptions


T = TypeVar("T", bound="BodyCreateJob")


@_attrs_define
class BodyCreateJob:
    """
    Attributes:
        ground_truth (list[File] | Unset): Ground truths, in pair order (none with `options.sources`, none for a ground-
            truth-free audit of samples).
        restored (list[File] | Unset): Restorations, in pair order (none with `options.sources`).
        observation (list[File] | None | Unset): Observations, in pair order (with `options.degradation`); without
            ground truth one per restored part, the same image for every sample of an input.
        options (JobCreateOptions | Unset): The JSON ``options`` part of ``POST /v1/jobs``: audit options plus pair
            names by order.

            ``pairs[i]`` names the i-th ``ground_truth``/``restored`` pair; unnamed pairs are called
            ``pair-<i>`` and unassigned ones belong to group ``default``. ``sources`` lists the pairs
            by reference instead of file parts (then no image part is sent, and no ``pairs``).
            ``callback_url`` receives a signed event when the job finishes (``api_schemas.callbacks``).
    """

    ground_truth: list[File] | Unset = UNSET
    restored: list[File] | Unset = UNSET
    observation: list[File] | None | Unset = UNSET
    options: JobCreateOptions | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        ground_truth: list[FileTypes] | Unset = UNSET
        if not isinstance(self.ground_truth, Unset):
            ground_truth = []
            for ground_truth_item_data in self.ground_truth:
                ground_truth_item = ground_truth_item_data.to_tuple()

                ground_truth.append(ground_truth_item)

        restored: list[FileTypes] | Unset = UNSET
        if not isinstance(self.restored, Unset):
            restored = []
            for restored_item_data in self.restored:
                restored_item = restored_item_data.to_tuple()

                restored.append(restored_item)

        observation: list[FileTypes] | None | Unset
        if isinstance(self.observation, Unset):
            observation = UNSET
        elif isinstance(self.observation, list):
            observation = []
            for observation_type_0_item_data in self.observation:
                observation_type_0_item = observation_type_0_item_data.to_tuple()

                observation.append(observation_type_0_item)

        else:
            observation = self.observation

        options: dict[str, Any] | Unset = UNSET
        if not isinstance(self.options, Unset):
            options = self.options.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if ground_truth is not UNSET:
            field_dict["ground_truth"] = ground_truth
        if restored is not UNSET:
            field_dict["restored"] = restored
        if observation is not UNSET:
            field_dict["observation"] = observation
        if options is not UNSET:
            field_dict["options"] = options

        return field_dict

    def to_multipart(self) -> types.RequestFiles:
        files: types.RequestFiles = []

        if not isinstance(self.ground_truth, Unset):
            for ground_truth_item_element in self.ground_truth:
                files.append(("ground_truth", ground_truth_item_element.to_tuple()))

        if not isinstance(self.restored, Unset):
            for restored_item_element in self.restored:
                files.append(("restored", restored_item_element.to_tuple()))

        if not isinstance(self.observation, Unset):
            if isinstance(self.observation, list):
                for observation_type_0_item_element in self.observation:
                    files.append(
                        ("observation", observation_type_0_item_element.to_tuple())
                    )
            else:
                files.append(
                    (
                        "observation",
                        (None, str(self.observation).encode(), "text/plain"),
                    )
                )

        if not isinstance(self.options, Unset):
            files.append(
                (
                    "options",
                    (
                        None,
                        json.dumps(self.options.to_dict()).encode(),
                        "application/json",
                    ),
                )
            )

        for prop_name, prop in self.additional_properties.items():
            files.append((prop_name, (None, str(prop).encode(), "text/plain")))

        return files

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.job_create_options import JobCreateOptions

        d = dict(src_dict)
        _ground_truth = d.pop("ground_truth", UNSET)
        ground_truth: list[File] | Unset = UNSET
        if _ground_truth is not UNSET:
            ground_truth = []
            for ground_truth_item_data in _ground_truth:
                ground_truth_item = File(payload=BytesIO(ground_truth_item_data))

                ground_truth.append(ground_truth_item)

        _restored = d.pop("restored", UNSET)
        restored: list[File] | Unset = UNSET
        if _restored is not UNSET:
            restored = []
            for restored_item_data in _restored:
                restored_item = File(payload=BytesIO(restored_item_data))

                restored.append(restored_item)

        def _parse_observation(data: object) -> list[File] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                observation_type_0 = []
                _observation_type_0 = data
                for observation_type_0_item_data in _observation_type_0:
                    observation_type_0_item = File(
                        payload=BytesIO(observation_type_0_item_data)
                    )

                    observation_type_0.append(observation_type_0_item)

                return observation_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[File] | None | Unset, data)

        observation = _parse_observation(d.pop("observation", UNSET))

        _options = d.pop("options", UNSET)
        options: JobCreateOptions | Unset
        if isinstance(_options, Unset):
            options = UNSET
        else:
            options = JobCreateOptions.from_dict(_options)

        body_create_job = cls(
            ground_truth=ground_truth,
            restored=restored,
            observation=observation,
            options=options,
        )

        body_create_job.additional_properties = d
        return body_create_job

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
