from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.self_check_source_spectrum import SelfCheckSourceSpectrum

if TYPE_CHECKING:
    from ..models.self_check_source_audited_degradation import (
        SelfCheckSourceAuditedDegradation,
    )
    from ..models.self_check_source_degradation import SelfCheckSourceDegradation


T = TypeVar("T", bound="SelfCheckSource")


@_attrs_define
class SelfCheckSource:
    """How the synthetic problem was made.

    Attributes:
        degradation (SelfCheckSourceDegradation):
        audited_degradation (SelfCheckSourceAuditedDegradation):
        spectrum (SelfCheckSourceSpectrum):
        fitted_images (int):
        pixel_std (float):
        size (int):
        canvas (int):
        n_images (int):
        seed (int):
        noise_variance (float):
        cg_iterations (int):
        redrawn (int):
    """

    degradation: SelfCheckSourceDegradation
    audited_degradation: SelfCheckSourceAuditedDegradation
    spectrum: SelfCheckSourceSpectrum
    fitted_images: int
    pixel_std: float
    size: int
    canvas: int
    n_images: int
    seed: int
    noise_variance: float
    cg_iterations: int
    redrawn: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        degradation = self.degradation.to_dict()

        audited_degradation = self.audited_degradation.to_dict()

        spectrum = self.spectrum.value

        fitted_images = self.fitted_images

        pixel_std = self.pixel_std

        size = self.size

        canvas = self.canvas

        n_images = self.n_images

        seed = self.seed

        noise_variance = self.noise_variance

        cg_iterations = self.cg_iterations

        redrawn = self.redrawn

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "degradation": degradation,
                "audited_degradation": audited_degradation,
                "spectrum": spectrum,
                "fitted_images": fitted_images,
                "pixel_std": pixel_std,
                "size": size,
                "canvas": canvas,
                "n_images": n_images,
                "seed": seed,
                "noise_variance": noise_variance,
                "cg_iterations": cg_iterations,
                "redrawn": redrawn,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.self_check_source_audited_degradation import (
            SelfCheckSourceAuditedDegradation,
        )
        from ..models.self_check_source_degradation import SelfCheckSourceDegradation

        d = dict(src_dict)
        degradation = SelfCheckSourceDegradation.from_dict(d.pop("degradation"))

        audited_degradation = SelfCheckSourceAuditedDegradation.from_dict(
            d.pop("audited_degradation")
        )

        spectrum = SelfCheckSourceSpectrum(d.pop("spectrum"))

        fitted_images = d.pop("fitted_images")

        pixel_std = d.pop("pixel_std")

        size = d.pop("size")

        canvas = d.pop("canvas")

        n_images = d.pop("n_images")

        seed = d.pop("seed")

        noise_variance = d.pop("noise_variance")

        cg_iterations = d.pop("cg_iterations")

        redrawn = d.pop("redrawn")

        self_check_source = cls(
            degradation=degradation,
            audited_degradation=audited_degradation,
            spectrum=spectrum,
            fitted_images=fitted_images,
            pixel_std=pixel_std,
            size=size,
            canvas=canvas,
            n_images=n_images,
            seed=seed,
            noise_variance=noise_variance,
            cg_iterations=cg_iterations,
            redrawn=redrawn,
        )

        self_check_source.additional_properties = d
        return self_check_source

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
