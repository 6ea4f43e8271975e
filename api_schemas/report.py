"""The audit report: the stable JSON contract of REPORT.md.

Field names here are fixed (REPORT.md): new fields may be added, none renamed or re-meant.
Numbers are finite JSON numbers; an undefined value is ``None`` with a warning saying why.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from api_schemas.options import BootstrapOptions, RiskThresholds
from api_schemas.presets import ColorMode, PresetName

SCHEMA_VERSION: Final = "2"
"""Revision 2 of docs/theory.md re-means ``up_region`` and ``min_uncertainty_multiplier``."""

RiskLevel = Literal["low", "medium", "high"]
RISK_RANK: Final[dict[RiskLevel, int]] = {"low": 0, "medium": 1, "high": 2}
"""Order of the risk levels, for sorting and for "rises to or above" comparisons."""
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
    """Hallucination-risk verdict (docs/theory.md 3.8) with the reasons that fired."""

    level: RiskLevel
    reasons: list[str]


class EngineInfo(_Model):
    version: str
    device: str
    torch: str


class ReportSettings(_Model):
    preset: PresetName | None = None
    """The measurement convention named by the request (api_schemas/presets.py), if any;
    ``color`` and ``crop_border`` are what it resolved to."""
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


class FrontierPoint(_Model):
    """One point of the Gaussian-oracle frontier (docs/theory.md 3.6): the oracle restorer
    ``E[X|Y] + t W`` has marginal index ``perception`` and uncertainty ratio ``1 + t^2``."""

    perception: float
    ratio: float


class KnnCalibrated(_Model):
    """Nearest-neighbour estimates calibrated against a Gaussian null (docs/theory.md 3.10)."""

    uncertainty: Estimate
    perception: Estimate
    uncertainty_correction: float | None = None
    """Calibrated over Gaussian entropy power of the error: under 1, the errors have less
    entropy than a Gaussian of their covariance (evidence of non-Gaussian structure)."""
    perception_correction: float | None = None
    """Calibrated minus Gaussian Rényi divergence (nats)."""


class IntervalCoverage(_Model):
    level: float
    coverage: float
    mean_width: float


class SampleStatistics(_Model):
    """Several outputs per input (docs/theory.md 3.9)."""

    per_input: int
    spread: Estimate
    error_to_spread_ratio: Estimate
    conditional_perception: Estimate | None = None
    interval_coverage: IntervalCoverage | None = None


class PatchSizeRow(_Model):
    """One row of the dimension sweep (docs/theory.md 3.11)."""

    patch_size: int
    per_dimension: float | None
    uncertainty_ratio: float | None
    uncertainty_floor_ratio: float | None
    up_region: UpRegion | None
    frontier: list[FrontierPoint] | None = None


class GroupReport(_Model):
    name: str
    n_pairs: int
    n_patches: int
    dimension: int
    distortion: GroupDistortion
    uncertainty: GroupUncertainty
    perception: GroupPerception
    min_uncertainty_multiplier: float | None
    """eta(P_cond; d) of a conditional perception index (docs/theory.md 3.9): only with several
    outputs per input, the observations and the degradation; null otherwise."""
    inherent_uncertainty: float | None = None
    """N(X|Y) pooled over sampling phases (docs/theory.md 3.6), as the pooled errors see it."""
    inherent_uncertainty_interval: Estimate | None = None
    """The same with its bootstrap interval (the prior refitted in every resample)."""
    inherent_uncertainty_per_phase: float | None = None
    """The paper's N(X|Y) at a known position: geometric mean over phases."""
    inherent_uncertainty_margin: int | None = None
    uncertainty_ratio: Estimate | None = None
    """U_gauss / N(X|Y) with its interval."""
    uncertainty_floor_ratio: Estimate | None = None
    """r_oracle(P): the Gaussian oracle's ratio at this group's marginal P (docs/theory.md 3.6)."""
    uncertainty_floor: float | None = None
    """r_oracle(P) N(X|Y): the Gaussian oracle's uncertainty at this perception."""
    min_perception_index: float | None = None
    """P_min(r): the least marginal index the Gaussian oracle has at this ratio; null for a
    ratio under 1, which no Gaussian oracle reaches."""
    up_region: UpRegion | None = None
    """Against the Gaussian-oracle frontier, intervals and ``bound_tolerance`` included."""
    frontier: list[FrontierPoint] | None = None
    samples: SampleStatistics | None = None
    knn_calibrated: KnnCalibrated | None = None
    by_patch_size: list[PatchSizeRow] | None = None
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

    schema_version: Literal["2"] = SCHEMA_VERSION
    engine: EngineInfo
    settings: ReportSettings
    groups: list[GroupReport]
    pairs: list[PairReport]
    plots: dict[str, str] = Field(default_factory=dict)
    """Links to job-level PNG plots: ``up_plane`` and ``dp_plane`` (docs/theory.md 2)."""
    warnings: list[str] = Field(default_factory=list)


class GroundTruthFreeInput(_Model):
    """One input of a ground-truth-free audit (docs/theory.md 3.9)."""

    input: str
    samples: int
    mean_sample_std: float
    """Mean over pixels of the per-pixel sample standard deviation (intensity units)."""
    measurement_residual: float | None = None
    """Mean over the samples of ``mean |H x_k - y|^2`` (docs/theory.md 3.7); null without an
    observation."""
    maps: dict[str, str] = Field(default_factory=dict)
    """Artifact name -> path: the standard-deviation map and the measurement-space map."""


class GroundTruthFreeGroup(_Model):
    """A stochastic restorer audited without ground truth (docs/theory.md 3.9)."""

    name: str
    n_inputs: int
    per_input: int
    dimension: int
    spread: Estimate
    """Entropy power of the pooled within-input sample covariance (Wishart-corrected)."""
    inherent_uncertainty_from_spread: Estimate
    """N(X|Y) estimated from the spread: the Gaussian bound of the posterior, valid only if the
    sampler is a calibrated posterior sampler, which cannot be checked without ground truth."""
    measurement_residual: Estimate | None = None
    """Mean measurement residual over inputs (docs/theory.md 3.7); compare with noise_variance."""
    noise_variance: float | None = None
    """s^2 of the declared degradation per channel of the images as given (the residual's
    scale: a consistent restorer's residual is near it, docs/theory.md 3.7)."""
    missing_evidence: list[str]
    """The evidence of docs/theory.md 3.8 that needs ground truth and is therefore absent."""
    inputs: list[GroundTruthFreeInput]


class GroundTruthFreeReport(_Model):
    """The report of an audit of samples with no ground truth (docs/theory.md 3.9)."""

    # ``mode`` is always written, so the published schema says so: clients tell this report
    # from an AuditReport by it (TypeScript's ``"mode" in report`` narrows only then).
    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, json_schema_serialization_defaults_required=True
    )

    schema_version: str = SCHEMA_VERSION
    mode: Literal["ground_truth_free"] = "ground_truth_free"
    degradation: dict[str, object] | None
    patch_size: int
    groups: list[GroundTruthFreeGroup]
    warnings: list[str]
