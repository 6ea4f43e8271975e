"""Self-check wire models (docs/theory.md §3.12): the request, the checks and the result.

One result model for both front ends: ``workers.selfcheck.run_selfcheck`` returns a
:class:`SelfCheckResult`, ``restoration-audit selfcheck --json`` prints it, and
``GET /v1/selfchecks/{id}`` answers it inside :class:`SelfCheckRead`.

The request (:class:`SelfCheckCreate`) has the command line's parameters with the same
defaults and the same rules; the degradation is parsed and validated exactly as a job's
``options.degradation`` is (``api_schemas.degradation``), in its JSON form or the command
line's short form (``downsample:4:bicubic``).
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api_schemas.degradation import parse_degradation, parse_degradation_short
from api_schemas.jobs import JobMonitor, JobProgress, ManifestHeader, RelativePath, ResourceLinks
from api_schemas.options import AuditOptions
from api_schemas.report import AuditReport

DEFAULT_IMAGES = 8
DEFAULT_SIZE = 128
DEFAULT_RESAMPLES = 200
DEFAULT_TOLERANCE = 0.05
"""Issue #13: the uncertainty ratios within 5 % of 1, 2 and 1.25."""
MIN_SIZE = 16
"""The smallest synthetic side (and ground-truth side) the spectrum fit accepts."""
MAX_SIZE = 1024
MAX_IMAGES = 256
Spectrum = Literal["default", "fitted"]
RESTORERS_AUDITED = 3
"""posterior_mean, posterior_sampler and half_spread: each synthetic image is three pairs."""


def normalise_degradation(value: Any) -> dict[str, Any]:
    """The validated JSON form of a degradation given as JSON or in the short form.

    Raises:
        ValueError: not a degradation (pydantic's ``ValidationError`` is one).
    """
    spec = parse_degradation_short(value) if isinstance(value, str) else parse_degradation(value)
    dumped: dict[str, Any] = spec.model_dump(mode="json")
    return dumped


class SelfCheckAuditOptions(AuditOptions):
    """Audit options of the self-check's audit: those of the client's own audits (patch size,
    colour, border...), so the check covers the settings it will trust. The degradation is
    the self-check's own field, and the bootstrap's resamples its ``resamples``."""

    @field_validator("degradation", mode="before")
    @classmethod
    def _no_degradation(cls, value: Any) -> Any:
        if value is not None:
            raise ValueError("give the degradation as the self-check's own 'degradation' field")
        return None


class SelfCheckCreate(BaseModel):
    """The JSON ``options`` part of ``POST /v1/selfchecks`` (the command line's parameters).

    Use ``images`` and ``size`` like those of your own audit: the engine's prior depends on
    how many pixels it is fitted to.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"degradation": "noise:0.05", "images": 4, "size": 64, "resamples": 50},
                {"degradation": {"type": "downsample", "factor": 4, "kernel": "bicubic"}},
            ]
        },
    )

    degradation: dict[str, Any] | str = Field(
        description="The degradation, as a job's options.degradation (JSON) or in the command "
        "line's short form, e.g. 'downsample:4:bicubic', 'noise:0.05', 'blur:1.5+noise:0.02'."
    )
    images: Annotated[int, Field(ge=2, le=MAX_IMAGES)] = DEFAULT_IMAGES
    """Synthetic images; each is audited as three pairs (one per exact restorer)."""
    size: Annotated[int, Field(ge=MIN_SIZE, le=MAX_SIZE)] = DEFAULT_SIZE
    """Side of each synthetic image in pixels (rounded down to a multiple of the
    downsampling factor)."""
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    """Seed of the synthesis and of the audit's bootstrap."""
    tolerance: Annotated[float, Field(gt=0.0, lt=1.0)] = DEFAULT_TOLERANCE
    """Relative tolerance of the uncertainty-ratio checks."""
    resamples: Annotated[int, Field(ge=0, le=10_000)] = DEFAULT_RESAMPLES
    """Bootstrap resamples over pairs."""
    audit: SelfCheckAuditOptions | None = None
    """Audit options as your audits use them (``patch_size``, ``color``, ``crop_border``...);
    ``maps`` is off unless set."""

    @field_validator("degradation", mode="before")
    @classmethod
    def _valid_degradation(cls, value: Any) -> Any:
        return normalise_degradation(value)

    def audit_overrides(self) -> dict[str, Any]:
        """The audit options the client set, as ``run_selfcheck``'s ``options`` takes them
        (only what was set, so the self-check's own defaults hold elsewhere)."""
        overrides: dict[str, Any] = (
            {} if self.audit is None else self.audit.model_dump(mode="json", exclude_unset=True)
        )
        bootstrap = dict(overrides.get("bootstrap") or {})
        bootstrap["resamples"] = self.resamples
        overrides["bootstrap"] = bootstrap
        overrides.pop("degradation", None)
        return overrides

    def effective_audit_options(self) -> AuditOptions:
        """The options the audit of the self-check runs with (the cost model's input)."""
        return AuditOptions.model_validate(
            {"maps": False, **self.audit_overrides(), "degradation": self.degradation}
        )


def synthesis_bytes(images: int, size: int) -> int:
    """Peak bytes of the synthesis (docs/theory.md §3.12): one batched CG solve of
    ``2 images`` systems on the ``canvas`` grid (1.5 times the side), float64. About twelve
    canvas-sized tensors live at once (the CG vectors, the draws, and the FFT buffers of the
    covariance filter, complex), so the estimate is ``12 x 2 images x canvas^2 x 8`` bytes."""
    canvas = 8 * math.ceil(1.5 * size / 8)
    return 12 * 2 * images * canvas * canvas * 8


class SelfCheckManifest(ManifestHeader):
    """What a worker runs for a self-check; written by the service before it is queued."""

    request: SelfCheckCreate
    ground_truth: list[RelativePath] = Field(default_factory=list)
    """Uploaded ground truths, relative to the job's input directory."""


# --------------------------------------------------------------------------- the result
class SelfCheckItem(BaseModel):
    """One expectation of docs/theory.md §3.12 and what the audit measured."""

    name: str
    """e.g. ``posterior_mean uncertainty ratio``, ``posterior_sampler placement``."""
    restorer: str
    """``posterior_mean``, ``posterior_sampler`` or ``half_spread``."""
    expected: str
    """What the theory expects, in words: ``2 ± 5 %``, ``on_bound``, ``high``."""
    measured: str
    """What the engine measured, in words (with its interval when it has one)."""
    expected_value: float | None = None
    """The expected number, for the ratio checks."""
    value: float | None = None
    """The measured number, for the ratio checks."""
    interval: tuple[float, float] | None = None
    """The measured number's bootstrap interval, when it has one."""
    tolerance: float | None = None
    """Relative tolerance of a ratio check: it holds when
    ``|value - expected_value| <= tolerance x expected_value``."""
    holds: bool


class SelfCheckSource(BaseModel):
    """How the synthetic problem was made."""

    degradation: dict[str, Any]
    audited_degradation: dict[str, Any]
    spectrum: Spectrum
    """``default`` (1/f^3) or ``fitted`` to the client's ground truths."""
    fitted_images: int
    pixel_std: float
    size: int
    canvas: int
    n_images: int
    seed: int
    noise_variance: float
    cg_iterations: int
    redrawn: int


class SelfCheckResult(BaseModel):
    """Every check, whether all hold, how the source was made, and the engine's report on
    the three synthetic restorers."""

    passed: bool
    """All checks hold: the placement can be trusted for this degradation and settings."""
    checks: list[SelfCheckItem]
    source: SelfCheckSource
    synthesis_seconds: float
    audit_seconds: float
    notes: list[str] = Field(default_factory=list)
    report: AuditReport


class SelfCheckLinks(ResourceLinks):
    """Where to poll, cancel, and read the engine's report (also under ``/v1/jobs``)."""

    cancel: str
    report: str
    """The engine's report on the synthetic restorers (``/v1/jobs/{id}/report``)."""


class SelfCheckRead(JobMonitor):
    """The status monitor of one self-check; ``result`` once it succeeded."""

    progress: JobProgress
    """Synthetic pairs audited so far (three per image)."""
    request: SelfCheckCreate | None = None
    """The request as validated (``None`` once the inputs expired)."""
    result: SelfCheckResult | None = None
    links: SelfCheckLinks
