from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.group_report_up_region_type_0 import GroupReportUpRegionType0
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.estimate import Estimate
    from ..models.frontier_point import FrontierPoint
    from ..models.group_distortion import GroupDistortion
    from ..models.group_hallucination import GroupHallucination
    from ..models.group_perception import GroupPerception
    from ..models.group_uncertainty import GroupUncertainty
    from ..models.knn_calibrated import KnnCalibrated
    from ..models.patch_size_row import PatchSizeRow
    from ..models.sample_statistics import SampleStatistics
    from ..models.verdict import Verdict


T = TypeVar("T", bound="GroupReport")


@_attrs_define
class GroupReport:
    """
    Attributes:
        name (str):
        n_pairs (int):
        n_patches (int):
        dimension (int):
        distortion (GroupDistortion):
        uncertainty (GroupUncertainty):
        perception (GroupPerception):
        min_uncertainty_multiplier (float | None):
        hallucination (GroupHallucination):
        risk (Verdict): Hallucination-risk verdict (docs/theory.md 3.8) with the reasons that fired.
        inherent_uncertainty (float | None | Unset):
        inherent_uncertainty_interval (Estimate | None | Unset):
        inherent_uncertainty_per_phase (float | None | Unset):
        inherent_uncertainty_margin (int | None | Unset):
        uncertainty_ratio (Estimate | None | Unset):
        uncertainty_floor_ratio (Estimate | None | Unset):
        uncertainty_floor (float | None | Unset):
        min_perception_index (float | None | Unset):
        up_region (GroupReportUpRegionType0 | None | Unset):
        frontier (list[FrontierPoint] | None | Unset):
        samples (None | SampleStatistics | Unset):
        knn_calibrated (KnnCalibrated | None | Unset):
        by_patch_size (list[PatchSizeRow] | None | Unset):
    """

    name: str
    n_pairs: int
    n_patches: int
    dimension: int
    distortion: GroupDistortion
    uncertainty: GroupUncertainty
    perception: GroupPerception
    min_uncertainty_multiplier: float | None
    hallucination: GroupHallucination
    risk: Verdict
    inherent_uncertainty: float | None | Unset = UNSET
    inherent_uncertainty_interval: Estimate | None | Unset = UNSET
    inherent_uncertainty_per_phase: float | None | Unset = UNSET
    inherent_uncertainty_margin: int | None | Unset = UNSET
    uncertainty_ratio: Estimate | None | Unset = UNSET
    uncertainty_floor_ratio: Estimate | None | Unset = UNSET
    uncertainty_floor: float | None | Unset = UNSET
    min_perception_index: float | None | Unset = UNSET
    up_region: GroupReportUpRegionType0 | None | Unset = UNSET
    frontier: list[FrontierPoint] | None | Unset = UNSET
    samples: None | SampleStatistics | Unset = UNSET
    knn_calibrated: KnnCalibrated | None | Unset = UNSET
    by_patch_size: list[PatchSizeRow] | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.estimate import Estimate
        from ..models.knn_calibrated import KnnCalibrated
        from ..models.sample_statistics import SampleStatistics

        name = self.name

        n_pairs = self.n_pairs

        n_patches = self.n_patches

        dimension = self.dimension

        distortion = self.distortion.to_dict()

        uncertainty = self.uncertainty.to_dict()

        perception = self.perception.to_dict()

        min_uncertainty_multiplier: float | None
        min_uncertainty_multiplier = self.min_uncertainty_multiplier

        hallucination = self.hallucination.to_dict()

        risk = self.risk.to_dict()

        inherent_uncertainty: float | None | Unset
        if isinstance(self.inherent_uncertainty, Unset):
            inherent_uncertainty = UNSET
        else:
            inherent_uncertainty = self.inherent_uncertainty

        inherent_uncertainty_interval: dict[str, Any] | None | Unset
        if isinstance(self.inherent_uncertainty_interval, Unset):
            inherent_uncertainty_interval = UNSET
        elif isinstance(self.inherent_uncertainty_interval, Estimate):
            inherent_uncertainty_interval = self.inherent_uncertainty_interval.to_dict()
        else:
            inherent_uncertainty_interval = self.inherent_uncertainty_interval

        inherent_uncertainty_per_phase: float | None | Unset
        if isinstance(self.inherent_uncertainty_per_phase, Unset):
            inherent_uncertainty_per_phase = UNSET
        else:
            inherent_uncertainty_per_phase = self.inherent_uncertainty_per_phase

        inherent_uncertainty_margin: int | None | Unset
        if isinstance(self.inherent_uncertainty_margin, Unset):
            inherent_uncertainty_margin = UNSET
        else:
            inherent_uncertainty_margin = self.inherent_uncertainty_margin

        uncertainty_ratio: dict[str, Any] | None | Unset
        if isinstance(self.uncertainty_ratio, Unset):
            uncertainty_ratio = UNSET
        elif isinstance(self.uncertainty_ratio, Estimate):
            uncertainty_ratio = self.uncertainty_ratio.to_dict()
        else:
            uncertainty_ratio = self.uncertainty_ratio

        uncertainty_floor_ratio: dict[str, Any] | None | Unset
        if isinstance(self.uncertainty_floor_ratio, Unset):
            uncertainty_floor_ratio = UNSET
        elif isinstance(self.uncertainty_floor_ratio, Estimate):
            uncertainty_floor_ratio = self.uncertainty_floor_ratio.to_dict()
        else:
            uncertainty_floor_ratio = self.uncertainty_floor_ratio

        uncertainty_floor: float | None | Unset
        if isinstance(self.uncertainty_floor, Unset):
            uncertainty_floor = UNSET
        else:
            uncertainty_floor = self.uncertainty_floor

        min_perception_index: float | None | Unset
        if isinstance(self.min_perception_index, Unset):
            min_perception_index = UNSET
        else:
            min_perception_index = self.min_perception_index

        up_region: None | str | Unset
        if isinstance(self.up_region, Unset):
            up_region = UNSET
        elif isinstance(self.up_region, GroupReportUpRegionType0):
            up_region = self.up_region.value
        else:
            up_region = self.up_region

        frontier: list[dict[str, Any]] | None | Unset
        if isinstance(self.frontier, Unset):
            frontier = UNSET
        elif isinstance(self.frontier, list):
            frontier = []
            for frontier_type_0_item_data in self.frontier:
                frontier_type_0_item = frontier_type_0_item_data.to_dict()
                frontier.append(frontier_type_0_item)

        else:
            frontier = self.frontier

        samples: dict[str, Any] | None | Unset
        if isinstance(self.samples, Unset):
            samples = UNSET
        elif isinstance(self.samples, SampleStatistics):
            samples = self.samples.to_dict()
        else:
            samples = self.samples

        knn_calibrated: dict[str, Any] | None | Unset
        if isinstance(self.knn_calibrated, Unset):
            knn_calibrated = UNSET
        elif isinstance(self.knn_calibrated, KnnCalibrated):
            knn_calibrated = self.knn_calibrated.to_dict()
        else:
            knn_calibrated = self.knn_calibrated

        by_patch_size: list[dict[str, Any]] | None | Unset
        if isinstance(self.by_patch_size, Unset):
            by_patch_size = UNSET
        elif isinstance(self.by_patch_size, list):
            by_patch_size = []
            for by_patch_size_type_0_item_data in self.by_patch_size:
                by_patch_size_type_0_item = by_patch_size_type_0_item_data.to_dict()
                by_patch_size.append(by_patch_size_type_0_item)

        else:
            by_patch_size = self.by_patch_size

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
                "n_pairs": n_pairs,
                "n_patches": n_patches,
                "dimension": dimension,
                "distortion": distortion,
                "uncertainty": uncertainty,
                "perception": perception,
                "min_uncertainty_multiplier": min_uncertainty_multiplier,
                "hallucination": hallucination,
                "risk": risk,
            }
        )
        if inherent_uncertainty is not UNSET:
            field_dict["inherent_uncertainty"] = inherent_uncertainty
        if inherent_uncertainty_interval is not UNSET:
            field_dict["inherent_uncertainty_interval"] = inherent_uncertainty_interval
        if inherent_uncertainty_per_phase is not UNSET:
            field_dict["inherent_uncertainty_per_phase"] = (
                inherent_uncertainty_per_phase
            )
        if inherent_uncertainty_margin is not UNSET:
            field_dict["inherent_uncertainty_margin"] = inherent_uncertainty_margin
        if uncertainty_ratio is not UNSET:
            field_dict["uncertainty_ratio"] = uncertainty_ratio
        if uncertainty_floor_ratio is not UNSET:
            field_dict["uncertainty_floor_ratio"] = uncertainty_floor_ratio
        if uncertainty_floor is not UNSET:
            field_dict["uncertainty_floor"] = uncertainty_floor
        if min_perception_index is not UNSET:
            field_dict["min_perception_index"] = min_perception_index
        if up_region is not UNSET:
            field_dict["up_region"] = up_region
        if frontier is not UNSET:
            field_dict["frontier"] = frontier
        if samples is not UNSET:
            field_dict["samples"] = samples
        if knn_calibrated is not UNSET:
            field_dict["knn_calibrated"] = knn_calibrated
        if by_patch_size is not UNSET:
            field_dict["by_patch_size"] = by_patch_size

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.estimate import Estimate
        from ..models.frontier_point import FrontierPoint
        from ..models.group_distortion import GroupDistortion
        from ..models.group_hallucination import GroupHallucination
        from ..models.group_perception import GroupPerception
        from ..models.group_uncertainty import GroupUncertainty
        from ..models.knn_calibrated import KnnCalibrated
        from ..models.patch_size_row import PatchSizeRow
        from ..models.sample_statistics import SampleStatistics
        from ..models.verdict import Verdict

        d = dict(src_dict)
        name = d.pop("name")

        n_pairs = d.pop("n_pairs")

        n_patches = d.pop("n_patches")

        dimension = d.pop("dimension")

        distortion = GroupDistortion.from_dict(d.pop("distortion"))

        uncertainty = GroupUncertainty.from_dict(d.pop("uncertainty"))

        perception = GroupPerception.from_dict(d.pop("perception"))

        def _parse_min_uncertainty_multiplier(data: object) -> float | None:
            if data is None:
                return data
            return cast(float | None, data)

        min_uncertainty_multiplier = _parse_min_uncertainty_multiplier(
            d.pop("min_uncertainty_multiplier")
        )

        hallucination = GroupHallucination.from_dict(d.pop("hallucination"))

        risk = Verdict.from_dict(d.pop("risk"))

        def _parse_inherent_uncertainty(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        inherent_uncertainty = _parse_inherent_uncertainty(
            d.pop("inherent_uncertainty", UNSET)
        )

        def _parse_inherent_uncertainty_interval(
            data: object,
        ) -> Estimate | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                inherent_uncertainty_interval_type_0 = Estimate.from_dict(data)

                return inherent_uncertainty_interval_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Estimate | None | Unset, data)

        inherent_uncertainty_interval = _parse_inherent_uncertainty_interval(
            d.pop("inherent_uncertainty_interval", UNSET)
        )

        def _parse_inherent_uncertainty_per_phase(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        inherent_uncertainty_per_phase = _parse_inherent_uncertainty_per_phase(
            d.pop("inherent_uncertainty_per_phase", UNSET)
        )

        def _parse_inherent_uncertainty_margin(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        inherent_uncertainty_margin = _parse_inherent_uncertainty_margin(
            d.pop("inherent_uncertainty_margin", UNSET)
        )

        def _parse_uncertainty_ratio(data: object) -> Estimate | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                uncertainty_ratio_type_0 = Estimate.from_dict(data)

                return uncertainty_ratio_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Estimate | None | Unset, data)

        uncertainty_ratio = _parse_uncertainty_ratio(d.pop("uncertainty_ratio", UNSET))

        def _parse_uncertainty_floor_ratio(data: object) -> Estimate | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                uncertainty_floor_ratio_type_0 = Estimate.from_dict(data)

                return uncertainty_floor_ratio_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Estimate | None | Unset, data)

        uncertainty_floor_ratio = _parse_uncertainty_floor_ratio(
            d.pop("uncertainty_floor_ratio", UNSET)
        )

        def _parse_uncertainty_floor(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        uncertainty_floor = _parse_uncertainty_floor(d.pop("uncertainty_floor", UNSET))

        def _parse_min_perception_index(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        min_perception_index = _parse_min_perception_index(
            d.pop("min_perception_index", UNSET)
        )

        def _parse_up_region(data: object) -> GroupReportUpRegionType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                up_region_type_0 = GroupReportUpRegionType0(data)

                return up_region_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(GroupReportUpRegionType0 | None | Unset, data)

        up_region = _parse_up_region(d.pop("up_region", UNSET))

        def _parse_frontier(data: object) -> list[FrontierPoint] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                frontier_type_0 = []
                _frontier_type_0 = data
                for frontier_type_0_item_data in _frontier_type_0:
                    frontier_type_0_item = FrontierPoint.from_dict(
                        frontier_type_0_item_data
                    )

                    frontier_type_0.append(frontier_type_0_item)

                return frontier_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[FrontierPoint] | None | Unset, data)

        frontier = _parse_frontier(d.pop("frontier", UNSET))

        def _parse_samples(data: object) -> None | SampleStatistics | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                samples_type_0 = SampleStatistics.from_dict(data)

                return samples_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | SampleStatistics | Unset, data)

        samples = _parse_samples(d.pop("samples", UNSET))

        def _parse_knn_calibrated(data: object) -> KnnCalibrated | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                knn_calibrated_type_0 = KnnCalibrated.from_dict(data)

                return knn_calibrated_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(KnnCalibrated | None | Unset, data)

        knn_calibrated = _parse_knn_calibrated(d.pop("knn_calibrated", UNSET))

        def _parse_by_patch_size(data: object) -> list[PatchSizeRow] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                by_patch_size_type_0 = []
                _by_patch_size_type_0 = data
                for by_patch_size_type_0_item_data in _by_patch_size_type_0:
                    by_patch_size_type_0_item = PatchSizeRow.from_dict(
                        by_patch_size_type_0_item_data
                    )

                    by_patch_size_type_0.append(by_patch_size_type_0_item)

                return by_patch_size_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[PatchSizeRow] | None | Unset, data)

        by_patch_size = _parse_by_patch_size(d.pop("by_patch_size", UNSET))

        group_report = cls(
            name=name,
            n_pairs=n_pairs,
            n_patches=n_patches,
            dimension=dimension,
            distortion=distortion,
            uncertainty=uncertainty,
            perception=perception,
            min_uncertainty_multiplier=min_uncertainty_multiplier,
            hallucination=hallucination,
            risk=risk,
            inherent_uncertainty=inherent_uncertainty,
            inherent_uncertainty_interval=inherent_uncertainty_interval,
            inherent_uncertainty_per_phase=inherent_uncertainty_per_phase,
            inherent_uncertainty_margin=inherent_uncertainty_margin,
            uncertainty_ratio=uncertainty_ratio,
            uncertainty_floor_ratio=uncertainty_floor_ratio,
            uncertainty_floor=uncertainty_floor,
            min_perception_index=min_perception_index,
            up_region=up_region,
            frontier=frontier,
            samples=samples,
            knn_calibrated=knn_calibrated,
            by_patch_size=by_patch_size,
        )

        return group_report
