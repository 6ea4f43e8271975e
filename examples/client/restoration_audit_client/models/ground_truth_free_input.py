from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.ground_truth_free_input_maps import GroundTruthFreeInputMaps


T = TypeVar("T", bound="GroundTruthFreeInput")


@_attrs_define
class GroundTruthFreeInput:
    """One input of a ground-truth-free audit (docs/theory.md 3.9).

    Attributes:
        input_ (str):
        samples (int):
        mean_sample_std (float):
        measurement_residual (float | None | Unset):
        maps (GroundTruthFreeInputMaps | Unset):
    """

    input_: str
    samples: int
    mean_sample_std: float
    measurement_residual: float | None | Unset = UNSET
    maps: GroundTruthFreeInputMaps | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        input_ = self.input_

        samples = self.samples

        mean_sample_std = self.mean_sample_std

        measurement_residual: float | None | Unset
        if isinstance(self.measurement_residual, Unset):
            measurement_residual = UNSET
        else:
            measurement_residual = self.measurement_residual

        maps: dict[str, Any] | Unset = UNSET
        if not isinstance(self.maps, Unset):
            maps = self.maps.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "input": input_,
                "samples": samples,
                "mean_sample_std": mean_sample_std,
            }
        )
        if measurement_residual is not UNSET:
            field_dict["measurement_residual"] = measurement_residual
        if maps is not UNSET:
            field_dict["maps"] = maps

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.ground_truth_free_input_maps import GroundTruthFreeInputMaps

        d = dict(src_dict)
        input_ = d.pop("input")

        samples = d.pop("samples")

        mean_sample_std = d.pop("mean_sample_std")

        def _parse_measurement_residual(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        measurement_residual = _parse_measurement_residual(
            d.pop("measurement_residual", UNSET)
        )

        _maps = d.pop("maps", UNSET)
        maps: GroundTruthFreeInputMaps | Unset
        if isinstance(_maps, Unset):
            maps = UNSET
        else:
            maps = GroundTruthFreeInputMaps.from_dict(_maps)

        ground_truth_free_input = cls(
            input_=input_,
            samples=samples,
            mean_sample_std=mean_sample_std,
            measurement_residual=measurement_residual,
            maps=maps,
        )

        return ground_truth_free_input
