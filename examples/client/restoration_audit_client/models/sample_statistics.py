from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.estimate import Estimate
    from ..models.interval_coverage import IntervalCoverage


T = TypeVar("T", bound="SampleStatistics")


@_attrs_define
class SampleStatistics:
    """Several outputs per input (docs/theory.md 3.9).

    Attributes:
        per_input (int):
        spread (Estimate): A point estimate with its bootstrap interval and provenance.
        error_to_spread_ratio (Estimate): A point estimate with its bootstrap interval and provenance.
        conditional_perception (Estimate | None | Unset):
        interval_coverage (IntervalCoverage | None | Unset):
    """

    per_input: int
    spread: Estimate
    error_to_spread_ratio: Estimate
    conditional_perception: Estimate | None | Unset = UNSET
    interval_coverage: IntervalCoverage | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.estimate import Estimate
        from ..models.interval_coverage import IntervalCoverage

        per_input = self.per_input

        spread = self.spread.to_dict()

        error_to_spread_ratio = self.error_to_spread_ratio.to_dict()

        conditional_perception: dict[str, Any] | None | Unset
        if isinstance(self.conditional_perception, Unset):
            conditional_perception = UNSET
        elif isinstance(self.conditional_perception, Estimate):
            conditional_perception = self.conditional_perception.to_dict()
        else:
            conditional_perception = self.conditional_perception

        interval_coverage: dict[str, Any] | None | Unset
        if isinstance(self.interval_coverage, Unset):
            interval_coverage = UNSET
        elif isinstance(self.interval_coverage, IntervalCoverage):
            interval_coverage = self.interval_coverage.to_dict()
        else:
            interval_coverage = self.interval_coverage

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "per_input": per_input,
                "spread": spread,
                "error_to_spread_ratio": error_to_spread_ratio,
            }
        )
        if conditional_perception is not UNSET:
            field_dict["conditional_perception"] = conditional_perception
        if interval_coverage is not UNSET:
            field_dict["interval_coverage"] = interval_coverage

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.estimate import Estimate
        from ..models.interval_coverage import IntervalCoverage

        d = dict(src_dict)
        per_input = d.pop("per_input")

        spread = Estimate.from_dict(d.pop("spread"))

        error_to_spread_ratio = Estimate.from_dict(d.pop("error_to_spread_ratio"))

        def _parse_conditional_perception(data: object) -> Estimate | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                conditional_perception_type_0 = Estimate.from_dict(data)

                return conditional_perception_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Estimate | None | Unset, data)

        conditional_perception = _parse_conditional_perception(
            d.pop("conditional_perception", UNSET)
        )

        def _parse_interval_coverage(data: object) -> IntervalCoverage | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                interval_coverage_type_0 = IntervalCoverage.from_dict(data)

                return interval_coverage_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(IntervalCoverage | None | Unset, data)

        interval_coverage = _parse_interval_coverage(d.pop("interval_coverage", UNSET))

        sample_statistics = cls(
            per_input=per_input,
            spread=spread,
            error_to_spread_ratio=error_to_spread_ratio,
            conditional_perception=conditional_perception,
            interval_coverage=interval_coverage,
        )

        return sample_statistics
