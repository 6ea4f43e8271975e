from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.estimate import Estimate


T = TypeVar("T", bound="GroupDistortion")


@_attrs_define
class GroupDistortion:
    """
    Attributes:
        mse (Estimate): A point estimate with its bootstrap interval and provenance.
        psnr (Estimate): A point estimate with its bootstrap interval and provenance.
        ssim (Estimate): A point estimate with its bootstrap interval and provenance.
    """

    mse: Estimate
    psnr: Estimate
    ssim: Estimate

    def to_dict(self) -> dict[str, Any]:
        mse = self.mse.to_dict()

        psnr = self.psnr.to_dict()

        ssim = self.ssim.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "mse": mse,
                "psnr": psnr,
                "ssim": ssim,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.estimate import Estimate

        d = dict(src_dict)
        mse = Estimate.from_dict(d.pop("mse"))

        psnr = Estimate.from_dict(d.pop("psnr"))

        ssim = Estimate.from_dict(d.pop("ssim"))

        group_distortion = cls(
            mse=mse,
            psnr=psnr,
            ssim=ssim,
        )

        return group_distortion
