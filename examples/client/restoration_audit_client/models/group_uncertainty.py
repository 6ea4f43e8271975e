from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.estimate import Estimate


T = TypeVar("T", bound="GroupUncertainty")


@_attrs_define
class GroupUncertainty:
    """
    Attributes:
        gaussian (Estimate): A point estimate with its bootstrap interval and provenance.
        knn (Estimate): A point estimate with its bootstrap interval and provenance.
    """

    gaussian: Estimate
    knn: Estimate

    def to_dict(self) -> dict[str, Any]:
        gaussian = self.gaussian.to_dict()

        knn = self.knn.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "gaussian": gaussian,
                "knn": knn,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.estimate import Estimate

        d = dict(src_dict)
        gaussian = Estimate.from_dict(d.pop("gaussian"))

        knn = Estimate.from_dict(d.pop("knn"))

        group_uncertainty = cls(
            gaussian=gaussian,
            knn=knn,
        )

        return group_uncertainty
