"""The degradation a client may name (docs/theory.md §3.6): wire models and the CLI short form.

A degradation is one of ``downsample``, ``blur``, ``noise``, or a ``composite`` of them
applied in the fixed order blur -> downsample -> noise. The JSON form is a discriminated union
on ``type``; a composite may omit ``type`` and be given as ``{"steps": [...]}``::

    {"type": "downsample", "factor": 4, "kernel": "bicubic"}
    {"type": "blur", "sigma": 1.6}
    {"type": "blur", "kernel": [[0, 0.2, 0], [0.2, 0.2, 0.2], [0, 0.2, 0]]}
    {"type": "noise", "sigma": 0.01}
    {"steps": [{"type": "blur", "sigma": 1.0}, {"type": "downsample", "factor": 2}]}

The short forms of :func:`parse_degradation_short` (``"downsample:4:bicubic"``) are accepted
wherever a degradation is, in JSON too. This module imports pydantic only; the linear operator
lives in ``workers.estimators.degradation``.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

__all__ = [
    "KERNEL_SUM_TOLERANCE",
    "MAX_KERNEL_SIZE",
    "QUANTISATION_NOISE_VARIANCE",
    "BlurSpec",
    "CompositeSpec",
    "DegradationSpec",
    "DownsampleKernel",
    "DownsampleSpec",
    "NoiseSpec",
    "StepSpec",
    "noise_variance",
    "parse_degradation",
    "parse_degradation_short",
    "super_resolution_factor",
]

DownsampleKernel = Literal["bicubic", "area", "gaussian"]

MAX_KERNEL_SIZE = 31
"""Largest side of an explicit blur kernel."""
KERNEL_SUM_TOLERANCE = 1e-3
"""An explicit blur kernel must sum to 1 within this tolerance (it preserves flat images)."""
QUANTISATION_NOISE_VARIANCE = 1.0 / (12.0 * 255.0**2)
"""Variance of the rounding error of an 8-bit observation on the [0, 1] scale
(docs/theory.md §3.6)."""

_STEP_ORDER = {"blur": 0, "downsample": 1, "noise": 2}


class DownsampleSpec(BaseModel):
    """Downsampling by an integer factor (output size ``(H // factor, W // factor)``).

    ``bicubic`` matches Pillow's ``Image.resize(..., Resampling.BICUBIC)`` (a = -0.5, antialiased,
    pixel-centre aligned), ``area`` is the box average (Pillow's ``BOX``), ``gaussian`` a Gaussian
    of standard deviation ``factor / 2`` pixels sampled at the output pixel centres.
    """

    model_config = ConfigDict(extra="forbid")

    type: Literal["downsample"] = "downsample"
    factor: Annotated[int, Field(ge=2, le=16, strict=True)]
    kernel: DownsampleKernel = "bicubic"


class BlurSpec(BaseModel):
    """A blur: a Gaussian of standard deviation ``sigma`` pixels, or an explicit 2-D kernel.

    Exactly one of ``sigma`` and ``kernel`` is given. An explicit kernel is a rectangular list of
    rows with odd sides of at most 31, finite entries, summing to 1 within 1e-3.
    """

    model_config = ConfigDict(extra="forbid")

    type: Literal["blur"] = "blur"
    sigma: Annotated[float | None, Field(gt=0.0, le=64.0)] = None
    kernel: list[list[float]] | None = None

    @field_validator("kernel")
    @classmethod
    def _valid_kernel(cls, kernel: list[list[float]] | None) -> list[list[float]] | None:
        if kernel is None:
            return None
        rows = len(kernel)
        cols = len(kernel[0]) if rows else 0
        if rows == 0 or cols == 0:
            raise ValueError("expected a non-empty blur kernel, got an empty one")
        if any(len(row) != cols for row in kernel):
            raise ValueError("expected a rectangular blur kernel, got rows of unequal length")
        if rows % 2 == 0 or cols % 2 == 0:
            raise ValueError(f"expected odd blur kernel sides, got {rows}x{cols}")
        if rows > MAX_KERNEL_SIZE or cols > MAX_KERNEL_SIZE:
            raise ValueError(
                f"expected a blur kernel of at most {MAX_KERNEL_SIZE}x{MAX_KERNEL_SIZE}, "
                f"got {rows}x{cols}"
            )
        if not all(math.isfinite(v) for row in kernel for v in row):
            raise ValueError("expected finite blur kernel entries, got NaN or infinity")
        total = math.fsum(v for row in kernel for v in row)
        if abs(total - 1.0) > KERNEL_SUM_TOLERANCE:
            raise ValueError(f"expected a blur kernel summing to 1, got a sum of {total:.6g}")
        return kernel

    @model_validator(mode="after")
    def _exactly_one(self) -> BlurSpec:
        if (self.sigma is None) == (self.kernel is None):
            raise ValueError("expected exactly one of blur 'sigma' and 'kernel'")
        return self


class NoiseSpec(BaseModel):
    """Additive white Gaussian noise of standard deviation ``sigma`` on the [0, 1] scale."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["noise"] = "noise"
    sigma: Annotated[float, Field(ge=0.0, le=1.0)]


StepSpec = Annotated[BlurSpec | DownsampleSpec | NoiseSpec, Field(discriminator="type")]


class CompositeSpec(BaseModel):
    """Steps applied in the order blur -> downsample -> noise, each at most once."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["composite"] = "composite"
    steps: Annotated[list[StepSpec], Field(min_length=1, max_length=3)]

    @model_validator(mode="after")
    def _ordered_unique(self) -> CompositeSpec:
        kinds = [step.type for step in self.steps]
        for kind in set(kinds):
            if kinds.count(kind) > 1:
                raise ValueError(f"expected each step at most once, got {kind!r} twice or more")
        ranks = [_STEP_ORDER[kind] for kind in kinds]
        if ranks != sorted(ranks):
            raise ValueError(
                f"expected steps in the order blur -> downsample -> noise, got {' -> '.join(kinds)}"
            )
        return self


def _spec_tag(value: Any) -> str | None:
    """Discriminator: the ``type`` field, or ``composite`` for a bare ``{"steps": ...}``."""
    if isinstance(value, dict):
        kind = value.get("type")
        if kind is None and "steps" in value:
            return "composite"
        return kind if isinstance(kind, str) else None
    kind = getattr(value, "type", None)
    return kind if isinstance(kind, str) else None


_KINDS = ("downsample", "blur", "noise", "composite")
_EXPECTED = (
    "expected a degradation: a short form such as 'downsample:4:bicubic' or 'blur:1.0', or an "
    'object whose type is downsample, blur, noise or composite (or {"steps": [...]})'
)


def _short_form_or_known_kind(value: Any) -> Any:
    """Accept the short form (a string) and name a missing or unknown ``type`` in words.

    Without this, pydantic's tagged union answers with the discriminator function's name
    ("Unable to extract tag using discriminator _spec_tag()"), which means nothing to a client.
    """
    if isinstance(value, str):
        return parse_degradation_short(value)  # ValueError: names the bad token
    if isinstance(value, BaseModel):
        return value
    if not isinstance(value, dict):
        raise PydanticCustomError(
            "degradation_type", _EXPECTED + ", got {got}", {"got": type(value).__name__}
        )
    kind = _spec_tag(value)
    if kind not in _KINDS:
        got = "no type" if value.get("type") is None else f"type {value.get('type')!r}"
        raise PydanticCustomError("degradation_type", _EXPECTED + ", got {got}", {"got": got})
    return value


DegradationSpec = Annotated[
    Annotated[DownsampleSpec, Tag("downsample")]
    | Annotated[BlurSpec, Tag("blur")]
    | Annotated[NoiseSpec, Tag("noise")]
    | Annotated[CompositeSpec, Tag("composite")],
    Discriminator(_spec_tag),
    BeforeValidator(_short_form_or_known_kind),
]
"""Any degradation of docs/theory.md §3.6, discriminated by ``type``; a string is read as the
short form of :func:`parse_degradation_short`."""

_ADAPTER: TypeAdapter[DegradationSpec] = TypeAdapter(DegradationSpec)


def parse_degradation(data: Any) -> DegradationSpec:
    """Validate a JSON-like degradation (``dict``, or the short form as a string) into a spec.

    Raises:
        pydantic.ValidationError: if ``data`` is not a valid degradation.

    Example:
        >>> parse_degradation({"type": "blur", "sigma": 1.5}).sigma
        1.5
        >>> parse_degradation("downsample:4:bicubic").factor
        4
    """
    return _ADAPTER.validate_python(data)


def _int_token(text: str, token: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"expected an integer in {token!r}, got {text!r}") from None


def _float_token(text: str, token: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected a number in {token!r}, got {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number in {token!r}, got {text!r}")
    return value


def _parse_step(token: str) -> dict[str, Any]:
    parts = token.strip().split(":")
    kind = parts[0].strip().lower()
    args = [part.strip() for part in parts[1:]]
    if kind == "downsample" and len(args) in (1, 2):
        step: dict[str, Any] = {"type": "downsample", "factor": _int_token(args[0], token)}
        if len(args) == 2:
            step["kernel"] = args[1].lower()
        return step
    if kind == "blur" and len(args) == 1:
        return {"type": "blur", "sigma": _float_token(args[0], token)}
    if kind == "noise" and len(args) == 1:
        return {"type": "noise", "sigma": _float_token(args[0], token)}
    raise ValueError(
        f"expected 'downsample:FACTOR[:KERNEL]', 'blur:SIGMA' or 'noise:SIGMA', got {token!r}"
    )


def parse_degradation_short(text: str) -> DegradationSpec:
    """Parse the command line's short form of a degradation.

    Forms: ``downsample:4:bicubic`` (kernel optional, default bicubic), ``blur:1.6`` (Gaussian
    sigma), ``noise:0.01`` (sigma on the [0, 1] scale), and compositions joined with ``+`` in
    the order blur -> downsample -> noise, e.g. ``blur:1.0+downsample:2:area+noise:0.01``.

    Args:
        text: the short form.

    Returns:
        The validated spec; a single step is returned as itself, not as a composite.

    Raises:
        ValueError: naming the bad token, when a token is malformed or a value out of range, or
            when the steps are out of order or repeated.

    Example:
        >>> spec = parse_degradation_short("downsample:4:area")
        >>> (spec.type, spec.factor, spec.kernel)
        ('downsample', 4, 'area')
    """
    tokens = text.split("+")
    if not text.strip() or any(not token.strip() for token in tokens):
        raise ValueError(f"expected steps joined with '+', got {text!r}")
    steps = [_parse_step(token) for token in tokens]
    data: dict[str, Any] = steps[0] if len(steps) == 1 else {"type": "composite", "steps": steps}
    try:
        return parse_degradation(data)
    except ValueError as error:  # pydantic.ValidationError is a ValueError
        details = "; ".join(
            f"{_token_of(tokens, err.get('loc', ()))}: {err.get('msg', '')}"
            for err in getattr(error, "errors", list)()
        )
        raise ValueError(f"invalid degradation {text!r}: {details or error}") from None


def _token_of(tokens: list[str], loc: tuple[Any, ...]) -> str:
    """Name the short-form token that a pydantic error location points into."""
    if len(tokens) > 1:
        for index, item in enumerate(loc):
            if item == "steps" and index + 1 < len(loc) and isinstance(loc[index + 1], int):
                return repr(tokens[loc[index + 1]].strip())
        return repr("+".join(token.strip() for token in tokens))
    return repr(tokens[0].strip())


def degradation_steps(spec: DegradationSpec) -> list[BlurSpec | DownsampleSpec | NoiseSpec]:
    """The steps of a degradation in order (a single step is a one-step list)."""
    return list(spec.steps) if isinstance(spec, CompositeSpec) else [spec]


def linear_steps(spec: DegradationSpec) -> list[BlurSpec | DownsampleSpec]:
    """The steps that make the linear map H (noise does not change it), in order."""
    return [s for s in degradation_steps(spec) if isinstance(s, BlurSpec | DownsampleSpec)]


def super_resolution_factor(spec: DegradationSpec) -> int | None:
    """The downsampling factor of a degradation, or ``None`` when it does not downsample.

    Example:
        >>> super_resolution_factor(parse_degradation_short("blur:1+downsample:3"))
        3
    """
    for step in degradation_steps(spec):
        if isinstance(step, DownsampleSpec):
            return step.factor
    return None


def noise_variance(spec: DegradationSpec) -> float:
    """Variance s^2 of the observation noise (docs/theory.md §3.6).

    The named noise sigma squared; when no noise is named (or its sigma is 0), the
    quantisation floor of an 8-bit observation ``1 / (12 * 255^2)``, which keeps the posterior
    non-degenerate. A named sigma below the floor is raised to it: a stored 8-bit observation
    carries at least that much noise.

    Example:
        >>> noise_variance(parse_degradation_short("noise:0.1"))
        0.010000000000000002
        >>> round(noise_variance(parse_degradation_short("blur:1")) * 12 * 255**2, 12)
        1.0
    """
    for step in degradation_steps(spec):
        if isinstance(step, NoiseSpec):
            return max(step.sigma**2, QUANTISATION_NOISE_VARIANCE)
    return QUANTISATION_NOISE_VARIANCE
