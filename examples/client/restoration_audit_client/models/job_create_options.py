from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.job_create_options_color import JobCreateOptionsColor
from ..models.job_create_options_preset_type_0 import JobCreateOptionsPresetType0
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.bootstrap_options import BootstrapOptions
    from ..models.job_create_options_degradation_type_1 import (
        JobCreateOptionsDegradationType1,
    )
    from ..models.pair_spec import PairSpec
    from ..models.risk_thresholds import RiskThresholds
    from ..models.source_pair import SourcePair


T = TypeVar("T", bound="JobCreateOptions")


@_attrs_define
class JobCreateOptions:
    """The JSON ``options`` part of ``POST /v1/jobs``: audit options plus pair names by order.

    ``pairs[i]`` names the i-th ``ground_truth``/``restored`` pair; unnamed pairs are called
    ``pair-<i>`` and unassigned ones belong to group ``default``. ``sources`` lists the pairs
    by reference instead of file parts (then no image part is sent, and no ``pairs``).
    ``callback_url`` receives a signed event when the job finishes (``api_schemas.callbacks``).

        Attributes:
            preset (JobCreateOptionsPresetType0 | None | Unset):
            color (JobCreateOptionsColor | Unset):  Default: JobCreateOptionsColor.Y.
            patch_size (int | Unset):  Default: 8.
            patch_sizes (list[int] | None | Unset):
            patch_stride (int | Unset):  Default: 1.
            crop_border (int | None | Unset):
            renyi_order (float | Unset):  Default: 0.5.
            knn_k (int | Unset):  Default: 3.
            knn_samples (int | Unset):  Default: 2048.
            bootstrap (BootstrapOptions | Unset): Bootstrap over pairs (docs/theory.md 3.4 item 3).
            thresholds (RiskThresholds | Unset): Thresholds of the risk verdict (docs/theory.md 3.8, revision 2); echoed in
                the report.
            detail_sigma (float | None | Unset):
            map_window_sigma (float | Unset):  Default: 8.0.
            interval_level (float | Unset):  Default: 0.9.
            maps (bool | Unset):  Default: True.
            degradation (JobCreateOptionsDegradationType1 | None | str | Unset):
            inherent_margin (int | None | Unset):
            bound_tolerance (float | Unset):  Default: 0.05.
            pairs (list[PairSpec] | None | Unset):
            callback_url (None | str | Unset): Where the worker side POSTs a signed event when the job succeeds, fails or is
                cancelled: https on the operator's RA_CALLBACK_ALLOWED_HOSTS (http to loopback in local mode), signed with the
                tenant's RA_CALLBACK_SECRET.
            sources (list[SourcePair] | None | Unset): The pairs by reference instead of file parts: https:// URIs on
                RA_SOURCE_ALLOWED_HOSTS or file:// URIs under RA_DATASET_ROOTS, fetched by the worker.
    """

    preset: JobCreateOptionsPresetType0 | None | Unset = UNSET
    color: JobCreateOptionsColor | Unset = JobCreateOptionsColor.Y
    patch_size: int | Unset = 8
    patch_sizes: list[int] | None | Unset = UNSET
    patch_stride: int | Unset = 1
    crop_border: int | None | Unset = UNSET
    renyi_order: float | Unset = 0.5
    knn_k: int | Unset = 3
    knn_samples: int | Unset = 2048
    bootstrap: BootstrapOptions | Unset = UNSET
    thresholds: RiskThresholds | Unset = UNSET
    detail_sigma: float | None | Unset = UNSET
    map_window_sigma: float | Unset = 8.0
    interval_level: float | Unset = 0.9
    maps: bool | Unset = True
    degradation: JobCreateOptionsDegradationType1 | None | str | Unset = UNSET
    inherent_margin: int | None | Unset = UNSET
    bound_tolerance: float | Unset = 0.05
    pairs: list[PairSpec] | None | Unset = UNSET
    callback_url: None | str | Unset = UNSET
    sources: list[SourcePair] | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.job_create_options_degradation_type_1 import (
            JobCreateOptionsDegradationType1,
        )

        preset: None | str | Unset
        if isinstance(self.preset, Unset):
            preset = UNSET
        elif isinstance(self.preset, JobCreateOptionsPresetType0):
            preset = self.preset.value
        else:
            preset = self.preset

        color: str | Unset = UNSET
        if not isinstance(self.color, Unset):
            color = self.color.value

        patch_size = self.patch_size

        patch_sizes: list[int] | None | Unset
        if isinstance(self.patch_sizes, Unset):
            patch_sizes = UNSET
        elif isinstance(self.patch_sizes, list):
            patch_sizes = self.patch_sizes

        else:
            patch_sizes = self.patch_sizes

        patch_stride = self.patch_stride

        crop_border: int | None | Unset
        if isinstance(self.crop_border, Unset):
            crop_border = UNSET
        else:
            crop_border = self.crop_border

        renyi_order = self.renyi_order

        knn_k = self.knn_k

        knn_samples = self.knn_samples

        bootstrap: dict[str, Any] | Unset = UNSET
        if not isinstance(self.bootstrap, Unset):
            bootstrap = self.bootstrap.to_dict()

        thresholds: dict[str, Any] | Unset = UNSET
        if not isinstance(self.thresholds, Unset):
            thresholds = self.thresholds.to_dict()

        detail_sigma: float | None | Unset
        if isinstance(self.detail_sigma, Unset):
            detail_sigma = UNSET
        else:
            detail_sigma = self.detail_sigma

        map_window_sigma = self.map_window_sigma

        interval_level = self.interval_level

        maps = self.maps

        degradation: dict[str, Any] | None | str | Unset
        if isinstance(self.degradation, Unset):
            degradation = UNSET
        elif isinstance(self.degradation, JobCreateOptionsDegradationType1):
            degradation = self.degradation.to_dict()
        else:
            degradation = self.degradation

        inherent_margin: int | None | Unset
        if isinstance(self.inherent_margin, Unset):
            inherent_margin = UNSET
        else:
            inherent_margin = self.inherent_margin

        bound_tolerance = self.bound_tolerance

        pairs: list[dict[str, Any]] | None | Unset
        if isinstance(self.pairs, Unset):
            pairs = UNSET
        elif isinstance(self.pairs, list):
            pairs = []
            for pairs_type_0_item_data in self.pairs:
                pairs_type_0_item = pairs_type_0_item_data.to_dict()
                pairs.append(pairs_type_0_item)

        else:
            pairs = self.pairs

        callback_url: None | str | Unset
        if isinstance(self.callback_url, Unset):
            callback_url = UNSET
        else:
            callback_url = self.callback_url

        sources: list[dict[str, Any]] | None | Unset
        if isinstance(self.sources, Unset):
            sources = UNSET
        elif isinstance(self.sources, list):
            sources = []
            for sources_type_0_item_data in self.sources:
                sources_type_0_item = sources_type_0_item_data.to_dict()
                sources.append(sources_type_0_item)

        else:
            sources = self.sources

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if preset is not UNSET:
            field_dict["preset"] = preset
        if color is not UNSET:
            field_dict["color"] = color
        if patch_size is not UNSET:
            field_dict["patch_size"] = patch_size
        if patch_sizes is not UNSET:
            field_dict["patch_sizes"] = patch_sizes
        if patch_stride is not UNSET:
            field_dict["patch_stride"] = patch_stride
        if crop_border is not UNSET:
            field_dict["crop_border"] = crop_border
        if renyi_order is not UNSET:
            field_dict["renyi_order"] = renyi_order
        if knn_k is not UNSET:
            field_dict["knn_k"] = knn_k
        if knn_samples is not UNSET:
            field_dict["knn_samples"] = knn_samples
        if bootstrap is not UNSET:
            field_dict["bootstrap"] = bootstrap
        if thresholds is not UNSET:
            field_dict["thresholds"] = thresholds
        if detail_sigma is not UNSET:
            field_dict["detail_sigma"] = detail_sigma
        if map_window_sigma is not UNSET:
            field_dict["map_window_sigma"] = map_window_sigma
        if interval_level is not UNSET:
            field_dict["interval_level"] = interval_level
        if maps is not UNSET:
            field_dict["maps"] = maps
        if degradation is not UNSET:
            field_dict["degradation"] = degradation
        if inherent_margin is not UNSET:
            field_dict["inherent_margin"] = inherent_margin
        if bound_tolerance is not UNSET:
            field_dict["bound_tolerance"] = bound_tolerance
        if pairs is not UNSET:
            field_dict["pairs"] = pairs
        if callback_url is not UNSET:
            field_dict["callback_url"] = callback_url
        if sources is not UNSET:
            field_dict["sources"] = sources

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.bootstrap_options import BootstrapOptions
        from ..models.job_create_options_degradation_type_1 import (
            JobCreateOptionsDegradationType1,
        )
        from ..models.pair_spec import PairSpec
        from ..models.risk_thresholds import RiskThresholds
        from ..models.source_pair import SourcePair

        d = dict(src_dict)

        def _parse_preset(data: object) -> JobCreateOptionsPresetType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                preset_type_0 = JobCreateOptionsPresetType0(data)

                return preset_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobCreateOptionsPresetType0 | None | Unset, data)

        preset = _parse_preset(d.pop("preset", UNSET))

        _color = d.pop("color", UNSET)
        color: JobCreateOptionsColor | Unset
        if isinstance(_color, Unset):
            color = UNSET
        else:
            color = JobCreateOptionsColor(_color)

        patch_size = d.pop("patch_size", UNSET)

        def _parse_patch_sizes(data: object) -> list[int] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                patch_sizes_type_0 = cast(list[int], data)

                return patch_sizes_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[int] | None | Unset, data)

        patch_sizes = _parse_patch_sizes(d.pop("patch_sizes", UNSET))

        patch_stride = d.pop("patch_stride", UNSET)

        def _parse_crop_border(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        crop_border = _parse_crop_border(d.pop("crop_border", UNSET))

        renyi_order = d.pop("renyi_order", UNSET)

        knn_k = d.pop("knn_k", UNSET)

        knn_samples = d.pop("knn_samples", UNSET)

        _bootstrap = d.pop("bootstrap", UNSET)
        bootstrap: BootstrapOptions | Unset
        if isinstance(_bootstrap, Unset):
            bootstrap = UNSET
        else:
            bootstrap = BootstrapOptions.from_dict(_bootstrap)

        _thresholds = d.pop("thresholds", UNSET)
        thresholds: RiskThresholds | Unset
        if isinstance(_thresholds, Unset):
            thresholds = UNSET
        else:
            thresholds = RiskThresholds.from_dict(_thresholds)

        def _parse_detail_sigma(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        detail_sigma = _parse_detail_sigma(d.pop("detail_sigma", UNSET))

        map_window_sigma = d.pop("map_window_sigma", UNSET)

        interval_level = d.pop("interval_level", UNSET)

        maps = d.pop("maps", UNSET)

        def _parse_degradation(
            data: object,
        ) -> JobCreateOptionsDegradationType1 | None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                degradation_type_1 = JobCreateOptionsDegradationType1.from_dict(data)

                return degradation_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(JobCreateOptionsDegradationType1 | None | str | Unset, data)

        degradation = _parse_degradation(d.pop("degradation", UNSET))

        def _parse_inherent_margin(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        inherent_margin = _parse_inherent_margin(d.pop("inherent_margin", UNSET))

        bound_tolerance = d.pop("bound_tolerance", UNSET)

        def _parse_pairs(data: object) -> list[PairSpec] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                pairs_type_0 = []
                _pairs_type_0 = data
                for pairs_type_0_item_data in _pairs_type_0:
                    pairs_type_0_item = PairSpec.from_dict(pairs_type_0_item_data)

                    pairs_type_0.append(pairs_type_0_item)

                return pairs_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[PairSpec] | None | Unset, data)

        pairs = _parse_pairs(d.pop("pairs", UNSET))

        def _parse_callback_url(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        callback_url = _parse_callback_url(d.pop("callback_url", UNSET))

        def _parse_sources(data: object) -> list[SourcePair] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                sources_type_0 = []
                _sources_type_0 = data
                for sources_type_0_item_data in _sources_type_0:
                    sources_type_0_item = SourcePair.from_dict(sources_type_0_item_data)

                    sources_type_0.append(sources_type_0_item)

                return sources_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[SourcePair] | None | Unset, data)

        sources = _parse_sources(d.pop("sources", UNSET))

        job_create_options = cls(
            preset=preset,
            color=color,
            patch_size=patch_size,
            patch_sizes=patch_sizes,
            patch_stride=patch_stride,
            crop_border=crop_border,
            renyi_order=renyi_order,
            knn_k=knn_k,
            knn_samples=knn_samples,
            bootstrap=bootstrap,
            thresholds=thresholds,
            detail_sigma=detail_sigma,
            map_window_sigma=map_window_sigma,
            interval_level=interval_level,
            maps=maps,
            degradation=degradation,
            inherent_margin=inherent_margin,
            bound_tolerance=bound_tolerance,
            pairs=pairs,
            callback_url=callback_url,
            sources=sources,
        )

        return job_create_options
