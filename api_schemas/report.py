"""The audit report: the stable JSON contract of REPORT.md.

Field names here are fixed (REPORT.md): new fields may be added, none renamed or re-meant.
Numbers are finite JSON numbers; an undefined value is ``None`` with a warning saying why.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from api_schemas.options import BootstrapOptions, ColorMode, RiskThresholds

SCHEMA_VERSION: Final = "1"

RiskLevel = Literal["low", "medium", "high"]
UpRegion = Literal["below_bound", "on_bound", "above_bound"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Estimate(_Model):
    """A point estimate with its bootstrap interval and provenance."""

    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    estimator: str
    n: int = Field(ge=0, description="Sample size behind the estimate (pairs or patches).")


class Verdict(_Model):
    """Hallucination-risk verdict (THEORY.md 3.8) with the reasons that fired."""

    level: RiskLevel
    reasons: list[str]


class EngineInfo(_Model):
    version: str
    device: str
    torch: str


class ReportSettings(_Model):
    color: ColorMode
    patch_size: int
    patch_stride: int
    crop_border: int
    renyi_order: float
    knn_k: int
    bootstrap: BootstrapOptions
    degradation: dict[str, object] | None
    thresholds: RiskThresholds
    bound_tolerance: float | None = None


class GroupDistortion(_Model):
    mse: Estimate
    psnr: Estimate
    ssim: Estimate


class GroupUncertainty(_Model):
    gaussian: Estimate
    knn: Estimate


class GroupPerception(_Model):
    gaussian_renyi: Estimate
    knn_renyi: Estimate
    per_dimension: float | None


class GroupHallucination(_Model):
    invented_detail_ratio: Estimate


class GroupReport(_Model):
    name: str
    n_pairs: int
    n_patches: int
    dimension: int
    distortion: GroupDistortion
    uncertainty: GroupUncertainty
    perception: GroupPerception
    min_uncertainty_multiplier: float | None
    inherent_uncertainty: float | None = None
    inherent_uncertainty_margin: int | None = None
    uncertainty_ratio: float | None = None
    min_perception_index: float | None = None
    up_region: UpRegion | None = None
    uncertainty_floor: float | None = None
    """eta(P; d) N(X|Y): the least uncertainty any restorer at this perception can have."""
    hallucination: GroupHallucination
    risk: Verdict


class PairDistortion(_Model):
    mse: float
    psnr: float | None
    ssim: float


class PairUncertainty(_Model):
    gaussian: float | None


class PairPerception(_Model):
    gaussian_renyi: float | None


class PairConsistency(_Model):
    measurement_residual: float


class PairHallucination(_Model):
    invented_detail_ratio: float | None
    maps: dict[str, str] = Field(default_factory=dict)


class PairReport(_Model):
    id: str
    group: str
    width: int
    height: int
    distortion: PairDistortion
    uncertainty: PairUncertainty
    perception: PairPerception
    consistency: PairConsistency | None = None
    hallucination: PairHallucination
    risk: Verdict
    warnings: list[str] = Field(default_factory=list)


class AuditReport(_Model):
    """The whole report document of REPORT.md."""

    schema_version: Literal["1"] = SCHEMA_VERSION
    engine: EngineInfo
    settings: ReportSettings
    groups: list[GroupReport]
    pairs: list[PairReport]
    plots: dict[str, str] = Field(default_factory=dict)
    """Links to job-level PNG plots: ``up_plane`` and ``dp_plane`` (THEORY.md 2)."""
    warnings: list[str] = Field(default_factory=list)
