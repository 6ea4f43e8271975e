"""Audit options: what a client may set for one audit (job or CLI run).

These are the settings echoed in the report's ``settings`` block (REPORT.md). Every field
has the default of docs/theory.md, so an empty ``{}`` is a valid request.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from api_schemas.degradation import DegradationSpec, parse_degradation, super_resolution_factor
from api_schemas.presets import ColorMode, PresetName, preset_settings

_DEGRADATION_REQUEST_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "string",
            "description": "Short form: downsample:F[:bicubic|area|gaussian], blur:SIGMA, "
            "noise:SIGMA, joined by + in the order blur, downsample, noise.",
            "examples": ["downsample:4:bicubic", "blur:1.0+downsample:2:area+noise:0.01"],
        },
        {
            "type": "object",
            "additionalProperties": True,
            "description": 'JSON form, e.g. {"type": "downsample", "factor": 4, '
            '"kernel": "bicubic"} (api_schemas/degradation.py).',
        },
        {"type": "null"},
    ],
    "title": "Degradation",
}
"""What a client may send as ``degradation`` (the report echoes the normalised object)."""


class BootstrapOptions(BaseModel):
    """Bootstrap over pairs (docs/theory.md 3.4 item 3)."""

    model_config = ConfigDict(extra="forbid")

    resamples: Annotated[int, Field(ge=0, le=10_000)] = 200
    level: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.95
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0


class RiskThresholds(BaseModel):
    """Thresholds of the risk verdict (docs/theory.md 3.8, revision 2); echoed in the report."""

    model_config = ConfigDict(extra="forbid")

    high_uncertainty_ratio: Annotated[float, Field(ge=0.0, le=10.0)] = 1.8
    """U / N(X|Y) at or above which the risk is high (2 for a posterior sampler)."""
    medium_uncertainty_ratio: Annotated[float, Field(ge=0.0, le=10.0)] = 1.4
    high_min_uncertainty_multiplier: Annotated[float, Field(ge=1.0, le=2.0)] = 1.8
    """eta of a *conditional* perception index (several outputs per input) at or above which
    the risk is high; eta of the marginal index is not evidence (docs/theory.md 3.5)."""
    medium_min_uncertainty_multiplier: Annotated[float, Field(ge=1.0, le=2.0)] = 1.4
    high_invented_detail_ratio: Annotated[float, Field(ge=0.0)] = 0.5
    medium_invented_detail_ratio: Annotated[float, Field(ge=0.0)] = 0.25
    medium_calibration_band: tuple[
        Annotated[float, Field(gt=0.0)], Annotated[float, Field(gt=0.0)]
    ] = (1.5, 3.0)
    """Error-to-spread ratios (docs/theory.md 3.9) outside this band are at least medium."""
    high_calibration_band: tuple[
        Annotated[float, Field(gt=0.0)], Annotated[float, Field(gt=0.0)]
    ] = (1.2, 5.0)
    """Error-to-spread ratios outside this band are high."""

    @model_validator(mode="after")
    def _medium_below_high(self) -> RiskThresholds:
        if self.medium_uncertainty_ratio > self.high_uncertainty_ratio:
            raise ValueError("medium_uncertainty_ratio must not exceed high_uncertainty_ratio")
        medium, high = self.medium_calibration_band, self.high_calibration_band
        if not (high[0] <= medium[0] <= medium[1] <= high[1]):
            raise ValueError(
                "the calibration bands must be ordered: high_calibration_band[0] <= "
                "medium_calibration_band[0] <= medium_calibration_band[1] <= "
                "high_calibration_band[1]"
            )
        if self.medium_min_uncertainty_multiplier > self.high_min_uncertainty_multiplier:
            raise ValueError(
                "medium_min_uncertainty_multiplier must not exceed high_min_uncertainty_multiplier"
            )
        if self.medium_invented_detail_ratio > self.high_invented_detail_ratio:
            raise ValueError(
                "medium_invented_detail_ratio must not exceed high_invented_detail_ratio"
            )
        return self


class AuditOptions(BaseModel):
    """Estimator settings of one audit. Defaults follow docs/theory.md section 3."""

    model_config = ConfigDict(extra="forbid")

    preset: PresetName | None = None
    """A named measurement convention (api_schemas/presets.py): fixes ``color`` and
    ``crop_border``; an explicit value that contradicts it is refused."""
    color: ColorMode = "y"
    patch_size: Annotated[int, Field(ge=2, le=16)] = 8
    patch_sizes: Annotated[
        list[Annotated[int, Field(ge=2, le=16)]] | None, Field(min_length=1, max_length=4)
    ] = None
    """Dimension sweep (docs/theory.md 3.11): patch sizes at which every patch statistic is also
    taken in the same pass over the pixels; the report gains a ``by_patch_size`` table."""
    patch_stride: Annotated[int, Field(ge=1, le=64)] = 1
    crop_border: Annotated[int | None, Field(ge=0, le=256)] = None
    """Pixels removed from every side; ``None`` means the super-resolution factor when a
    downsampling degradation is known, else 0 (docs/theory.md 3.1)."""
    renyi_order: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.5
    knn_k: Annotated[int, Field(ge=1, le=32)] = 3
    knn_samples: Annotated[int, Field(ge=100, le=100_000)] = 2048
    """Patches drawn (seeded) per group for the nearest-neighbour estimators. Their cost is
    quadratic in this number and their bias at d = 64 dominates their variance well before
    it, so a few thousand is enough (docs/theory.md 4)."""
    bootstrap: BootstrapOptions = Field(default_factory=BootstrapOptions)
    thresholds: RiskThresholds = Field(default_factory=RiskThresholds)
    detail_sigma: Annotated[float | None, Field(gt=0.0, le=64.0)] = None
    """Scale of the high-pass detail operator (docs/theory.md 3.7); ``None``: factor / 2 when a
    downsampling factor is known, else 2 pixels."""
    map_window_sigma: Annotated[float, Field(gt=0.0, le=128.0)] = 8.0
    interval_level: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.9
    """Level of the per-pixel intervals of several outputs per input (docs/theory.md 3.9),
    calibrated by split conformal prediction on half of the inputs."""
    maps: bool = True
    """Render the per-pair heat maps and the job's plots as PNG artifacts where the caller
    keeps artifacts (the service does; the CLI with ``--maps``). On small images they add
    over half the audit's time (the service encodes a map's PNG only when it is first
    downloaded), so batch pipelines that read only the numbers can turn them off."""
    degradation: Annotated[
        dict[str, Any] | None, WithJsonSchema(_DEGRADATION_REQUEST_SCHEMA, mode="validation")
    ] = None
    """The degradation as submitted (docs/theory.md 3.6); ``None`` when unknown. Validated against
    ``api_schemas.degradation`` (the short form ``"downsample:4:bicubic"`` too) and kept in its
    normalised JSON form."""
    inherent_margin: Annotated[int | None, Field(ge=0, le=32)] = None
    """Margin m of docs/theory.md 3.6 in pixels; ``None``: the degradation's support plus the
    factor less one, at least 8 (12 for 4x bicubic)."""

    bound_tolerance: Annotated[float, Field(ge=0.0, le=0.5)] = 0.05
    """Relative slack when placing a restorer against the bound (docs/theory.md 3.6): the windowed
    N(X|Y) overstates the whole-image posterior by a few per cent at the default margin (the
    exact posterior mean of a Gaussian source measures 0.99 at m = 12), and the bootstrap
    interval does not carry that bias, so ``on_bound`` allows this much on either side."""

    @field_validator("patch_sizes")
    @classmethod
    def _distinct_sizes(cls, value: list[int] | None) -> list[int] | None:
        if value is None:
            return None
        if len(set(value)) != len(value):
            raise ValueError("patch_sizes must not repeat a size")
        return sorted(value)

    _degradation_spec: DegradationSpec | None = PrivateAttr(default=None)

    @property
    def degradation_spec(self) -> DegradationSpec | None:
        """``degradation`` as its validated model (parsed once, on first use): what the engine,
        the cost model and the image policy read, so none of them parses the JSON again."""
        if self.degradation is not None and self._degradation_spec is None:
            self._degradation_spec = parse_degradation(self.degradation)
        return self._degradation_spec

    @model_validator(mode="after")
    def _apply_preset(self) -> AuditOptions:
        if self.preset is None:
            return self
        explicit = self.model_fields_set
        spec = self.degradation_spec
        self.color, self.crop_border = preset_settings(
            self.preset,
            color=self.color if "color" in explicit else None,
            crop_border=self.crop_border if "crop_border" in explicit else None,
            scale=None if spec is None else super_resolution_factor(spec),
        )
        return self

    @field_validator("degradation", mode="before")
    @classmethod
    def _valid_degradation(cls, value: Any) -> Any:
        if value is None:
            return None
        dumped: dict[str, Any] = parse_degradation(value).model_dump(mode="json")
        return dumped
