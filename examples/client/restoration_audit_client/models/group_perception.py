from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.estimate import Estimate


T = TypeVar("T", bound="GroupPerception")


@_attrs_define
class GroupPerception:
    """
    Attributes:
        gaussian_renyi (Estimate): A point estimate with its bootstrap interval and provenance.
        knn_renyi (Estimate): A point estimate with its bootstrap interval and provenance.
        per_dimension (float | None):
    """

    gaussian_renyi: Estimate
    knn_renyi: Estimate
    per_dimension: float | None

    def to_dict(self) -> dict[str, Any]:
        gaussian_renyi = self.gaussian_renyi.to_dict()

        knn_renyi = self.knn_renyi.to_dict()

        per_dimension: float | None
        per_dimension = self.per_dimension

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "gaussian_renyi": gaussian_renyi,
                "knn_renyi": knn_renyi,
                "per_dimension": per_dimension,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.estimate import Estimate

        d = dict(src_dict)
        gaussian_renyi = Estimate.from_dict(d.pop("gaussian_renyi"))

        knn_renyi = Estimate.from_dict(d.pop("knn_renyi"))

        def _parse_per_dimension(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        per_dimension = _parse_per_dimension(d.pop("per_dimension"))

        group_perception = cls(
            gaussian_renyi=gaussian_renyi,
            knn_renyi=knn_renyi,
            per_dimension=per_dimension,
        )

        return group_perception
