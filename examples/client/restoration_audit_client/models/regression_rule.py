from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="RegressionRule")


@_attrs_define
class RegressionRule:
    """When a candidate counts as a regression of its baseline.

    A metric of a restorer regresses when the paired-bootstrap interval of its mean
    difference (candidate minus baseline, over the matched pairs) lies entirely on the worse
    side of ``-margin`` (PSNR and SSIM) or ``+margin`` (the others): the candidate is worse by
    more than the margin with the interval's confidence. The candidate regresses when any
    metric of any restorer does, or, with ``fail_on_risk_increase``, when a restorer's risk
    level rises.

        Attributes:
            level (float | Unset):  Default: 0.95.
            resamples (int | Unset):  Default: 2000.
            seed (int | Unset):  Default: 0.
            psnr_margin (float | Unset):  Default: 0.0.
            ssim_margin (float | Unset):  Default: 0.0.
            uncertainty_margin (float | Unset):  Default: 0.0.
            perception_margin (float | Unset):  Default: 0.0.
            invented_detail_margin (float | Unset):  Default: 0.0.
            fail_on_risk_increase (bool | Unset):  Default: True.
    """

    level: float | Unset = 0.95
    resamples: int | Unset = 2000
    seed: int | Unset = 0
    psnr_margin: float | Unset = 0.0
    ssim_margin: float | Unset = 0.0
    uncertainty_margin: float | Unset = 0.0
    perception_margin: float | Unset = 0.0
    invented_detail_margin: float | Unset = 0.0
    fail_on_risk_increase: bool | Unset = True

    def to_dict(self) -> dict[str, Any]:
        level = self.level

        resamples = self.resamples

        seed = self.seed

        psnr_margin = self.psnr_margin

        ssim_margin = self.ssim_margin

        uncertainty_margin = self.uncertainty_margin

        perception_margin = self.perception_margin

        invented_detail_margin = self.invented_detail_margin

        fail_on_risk_increase = self.fail_on_risk_increase

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if level is not UNSET:
            field_dict["level"] = level
        if resamples is not UNSET:
            field_dict["resamples"] = resamples
        if seed is not UNSET:
            field_dict["seed"] = seed
        if psnr_margin is not UNSET:
            field_dict["psnr_margin"] = psnr_margin
        if ssim_margin is not UNSET:
            field_dict["ssim_margin"] = ssim_margin
        if uncertainty_margin is not UNSET:
            field_dict["uncertainty_margin"] = uncertainty_margin
        if perception_margin is not UNSET:
            field_dict["perception_margin"] = perception_margin
        if invented_detail_margin is not UNSET:
            field_dict["invented_detail_margin"] = invented_detail_margin
        if fail_on_risk_increase is not UNSET:
            field_dict["fail_on_risk_increase"] = fail_on_risk_increase

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        level = d.pop("level", UNSET)

        resamples = d.pop("resamples", UNSET)

        seed = d.pop("seed", UNSET)

        psnr_margin = d.pop("psnr_margin", UNSET)

        ssim_margin = d.pop("ssim_margin", UNSET)

        uncertainty_margin = d.pop("uncertainty_margin", UNSET)

        perception_margin = d.pop("perception_margin", UNSET)

        invented_detail_margin = d.pop("invented_detail_margin", UNSET)

        fail_on_risk_increase = d.pop("fail_on_risk_increase", UNSET)

        regression_rule = cls(
            level=level,
            resamples=resamples,
            seed=seed,
            psnr_margin=psnr_margin,
            ssim_margin=ssim_margin,
            uncertainty_margin=uncertainty_margin,
            perception_margin=perception_margin,
            invented_detail_margin=invented_detail_margin,
            fail_on_risk_increase=fail_on_risk_increase,
        )

        return regression_rule
