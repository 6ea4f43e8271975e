from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.estimate import Estimate
    from ..models.ground_truth_free_input import GroundTruthFreeInput


T = TypeVar("T", bound="GroundTruthFreeGroup")


@_attrs_define
class GroundTruthFreeGroup:
    """A stochastic restorer audited without ground truth (docs/theory.md 3.9).

    Attributes:
        name (str):
        n_inputs (int):
        per_input (int):
        dimension (int):
        spread (Estimate): A point estimate with its bootstrap interval and provenance.
        inherent_uncertainty_from_spread (Estimate): A point estimate with its bootstrap interval and provenance.
        missing_evidence (list[str]):
        inputs (list[GroundTruthFreeInput]):
        measurement_residual (Estimate | None | Unset):
        noise_variance (float | None | Unset):
    """

    name: str
    n_inputs: int
    per_input: int
    dimension: int
    spread: Estimate
    inherent_uncertainty_from_spread: Estimate
    missing_evidence: list[str]
    inputs: list[GroundTruthFreeInput]
    measurement_residual: Estimate | None | Unset = UNSET
    noise_variance: float | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.estimate import Estimate

        name = self.name

        n_inputs = self.n_inputs

        per_input = self.per_input

        dimension = self.dimension

        spread = self.spread.to_dict()

        inherent_uncertainty_from_spread = (
            self.inherent_uncertainty_from_spread.to_dict()
        )

        missing_evidence = self.missing_evidence

        inputs = []
        for inputs_item_data in self.inputs:
            inputs_item = inputs_item_data.to_dict()
            inputs.append(inputs_item)

        measurement_residual: dict[str, Any] | None | Unset
        if isinstance(self.measurement_residual, Unset):
            measurement_residual = UNSET
        elif isinstance(self.measurement_residual, Estimate):
            measurement_residual = self.measurement_residual.to_dict()
        else:
            measurement_residual = self.measurement_residual

        noise_variance: float | None | Unset
        if isinstance(self.noise_variance, Unset):
            noise_variance = UNSET
        else:
            noise_variance = self.noise_variance

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
                "n_inputs": n_inputs,
                "per_input": per_input,
                "dimension": dimension,
                "spread": spread,
                "inherent_uncertainty_from_spread": inherent_uncertainty_from_spread,
                "missing_evidence": missing_evidence,
                "inputs": inputs,
            }
        )
        if measurement_residual is not UNSET:
            field_dict["measurement_residual"] = measurement_residual
        if noise_variance is not UNSET:
            field_dict["noise_variance"] = noise_variance

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.estimate import Estimate
        from ..models.ground_truth_free_input import GroundTruthFreeInput

        d = dict(src_dict)
        name = d.pop("name")

        n_inputs = d.pop("n_inputs")

        per_input = d.pop("per_input")

        dimension = d.pop("dimension")

        spread = Estimate.from_dict(d.pop("spread"))

        inherent_uncertainty_from_spread = Estimate.from_dict(
            d.pop("inherent_uncertainty_from_spread")
        )

        missing_evidence = cast(list[str], d.pop("missing_evidence"))

        inputs = []
        _inputs = d.pop("inputs")
        for inputs_item_data in _inputs:
            inputs_item = GroundTruthFreeInput.from_dict(inputs_item_data)

            inputs.append(inputs_item)

        def _parse_measurement_residual(data: object) -> Estimate | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                measurement_residual_type_0 = Estimate.from_dict(data)

                return measurement_residual_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Estimate | None | Unset, data)

        measurement_residual = _parse_measurement_residual(
            d.pop("measurement_residual", UNSET)
        )

        def _parse_noise_variance(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        noise_variance = _parse_noise_variance(d.pop("noise_variance", UNSET))

        ground_truth_free_group = cls(
            name=name,
            n_inputs=n_inputs,
            per_input=per_input,
            dimension=dimension,
            spread=spread,
            inherent_uncertainty_from_spread=inherent_uncertainty_from_spread,
            missing_evidence=missing_evidence,
            inputs=inputs,
            measurement_residual=measurement_residual,
            noise_variance=noise_variance,
        )

        return ground_truth_free_group
