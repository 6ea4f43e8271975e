from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.self_check_audit_options import SelfCheckAuditOptions
    from ..models.self_check_create_degradation_type_0 import (
        SelfCheckCreateDegradationType0,
    )


T = TypeVar("T", bound="SelfCheckCreate")


@_attrs_define
class SelfCheckCreate:
    """The JSON ``options`` part of ``POST /v1/selfchecks`` (the command line's parameters).

    Use ``images`` and ``size`` like those of your own audit: the engine's prior depends on
    how many pixels it is fitted to.

        Attributes:
            degradation (SelfCheckCreateDegradationType0 | str): The degradation, as a job's options.degradation (JSON) or
                in the command line's short form, e.g. 'downsample:4:bicubic', 'noise:0.05', 'blur:1.5+noise:0.02'.
            images (int | Unset):  Default: 8.
            size (int | Unset):  Default: 128.
            seed (int | Unset):  Default: 0.
            tolerance (float | Unset):  Default: 0.05.
            resamples (int | Unset):  Default: 200.
            audit (None | SelfCheckAuditOptions | Unset):
    """

    degradation: SelfCheckCreateDegradationType0 | str
    images: int | Unset = 8
    size: int | Unset = 128
    seed: int | Unset = 0
    tolerance: float | Unset = 0.05
    resamples: int | Unset = 200
    audit: None | SelfCheckAuditOptions | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.self_check_audit_options import SelfCheckAuditOptions
        from ..models.self_check_create_degradation_type_0 import (
            SelfCheckCreateDegradationType0,
        )

        degradation: dict[str, Any] | str
        if isinstance(self.degradation, SelfCheckCreateDegradationType0):
            degradation = self.degradation.to_dict()
        else:
            degradation = self.degradation

        images = self.images

        size = self.size

        seed = self.seed

        tolerance = self.tolerance

        resamples = self.resamples

        audit: dict[str, Any] | None | Unset
        if isinstance(self.audit, Unset):
            audit = UNSET
        elif isinstance(self.audit, SelfCheckAuditOptions):
            audit = self.audit.to_dict()
        else:
            audit = self.audit

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "degradation": degradation,
            }
        )
        if images is not UNSET:
            field_dict["images"] = images
        if size is not UNSET:
            field_dict["size"] = size
        if seed is not UNSET:
            field_dict["seed"] = seed
        if tolerance is not UNSET:
            field_dict["tolerance"] = tolerance
        if resamples is not UNSET:
            field_dict["resamples"] = resamples
        if audit is not UNSET:
            field_dict["audit"] = audit

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.self_check_audit_options import SelfCheckAuditOptions
        from ..models.self_check_create_degradation_type_0 import (
            SelfCheckCreateDegradationType0,
        )

        d = dict(src_dict)

        def _parse_degradation(data: object) -> SelfCheckCreateDegradationType0 | str:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                degradation_type_0 = SelfCheckCreateDegradationType0.from_dict(data)

                return degradation_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(SelfCheckCreateDegradationType0 | str, data)

        degradation = _parse_degradation(d.pop("degradation"))

        images = d.pop("images", UNSET)

        size = d.pop("size", UNSET)

        seed = d.pop("seed", UNSET)

        tolerance = d.pop("tolerance", UNSET)

        resamples = d.pop("resamples", UNSET)

        def _parse_audit(data: object) -> None | SelfCheckAuditOptions | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                audit_type_0 = SelfCheckAuditOptions.from_dict(data)

                return audit_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SelfCheckAuditOptions | Unset, data)

        audit = _parse_audit(d.pop("audit", UNSET))

        self_check_create = cls(
            degradation=degradation,
            images=images,
            size=size,
            seed=seed,
            tolerance=tolerance,
            resamples=resamples,
            audit=audit,
        )

        return self_check_create
