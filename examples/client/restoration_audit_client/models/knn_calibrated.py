from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.estimate import Estimate


T = TypeVar("T", bound="KnnCalibrated")


@_attrs_define
class KnnCalibrated:
    """Nearest-neighbour estimates calibrated against a Gaussian null (docs/theory.md 3.10).

    Attributes:
        uncertainty (Estimate): A point estimate with its bootstrap interval and provenance.
        perception (Estimate): A point estimate with its bootstrap interval and provenance.
        uncertainty_correction (float | None | Unset):
        perception_correction (float | None | Unset):
    """

    uncertainty: Estimate
    perception: Estimate
    uncertainty_correction: float | None | Unset = UNSET
    perception_correction: float | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        uncertainty = self.uncertainty.to_dict()

        perception = self.perception.to_dict()

        uncertainty_correction: float | None | Unset
        if isinstance(self.uncertainty_correction, Unset):
            uncertainty_correction = UNSET
        else:
            uncertainty_correction = self.uncertainty_correction

        perception_correction: float | None | Unset
        if isinstance(self.perception_correction, Unset):
            perception_correction = UNSET
        else:
            perception_correction = self.perception_correction

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "uncertainty": uncertainty,
                "perception": perception,
            }
        )
        if uncertainty_correction is not UNSET:
            field_dict["uncertainty_correction"] = uncertainty_correction
        if perception_correction is not UNSET:
            field_dict["perception_correction"] = perception_correction

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.estimate import Estimate

        d = dict(src_dict)
        uncertainty = Estimate.from_dict(d.pop("uncertainty"))

        perception = Estimate.from_dict(d.pop("perception"))

        def _parse_uncertainty_correction(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        uncertainty_correction = _parse_uncertainty_correction(
            d.pop("uncertainty_correction", UNSET)
        )

        def _parse_perception_correction(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        perception_correction = _parse_perception_correction(
            d.pop("perception_correction", UNSET)
        )

        knn_calibrated = cls(
            uncertainty=uncertainty,
            perception=perception,
            uncertainty_correction=uncertainty_correction,
            perception_correction=perception_correction,
        )

        return knn_calibrated
