from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="PairDistortion")


@_attrs_define
class PairDistortion:
    """
    Attributes:
        mse (float):
        psnr (float | None):
        ssim (float):
    """

    mse: float
    psnr: float | None
    ssim: float

    def to_dict(self) -> dict[str, Any]:
        mse = self.mse

        psnr: float | None
        psnr = self.psnr

        ssim = self.ssim

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
        d = dict(src_dict)
        mse = d.pop("mse")

        def _parse_psnr(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        psnr = _parse_psnr(d.pop("psnr"))

        ssim = d.pop("ssim")

        pair_distortion = cls(
            mse=mse,
            psnr=psnr,
            ssim=ssim,
        )

        return pair_distortion
