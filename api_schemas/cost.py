"""What an audit job costs: peak memory (bytes) and a rough time, before it runs.

One model, imported by the API (at submission, from the image headers) and by the worker
(before running a job, and to choose how many pairs go in a batch). Pure Python arithmetic: no
torch, no numpy, so the API image can use it.

The model follows the engine's memory (``workers/engine``), term by term; its constants were
fitted to the peak RSS of real ``run_audit`` calls (``benchmarks/bench_cost_model.py`` prints
the estimate beside the measured peak for each calibration shape). A job's peak is

    base + resident + max(batch, summary, prior build, prior fit)

* ``base``: the worker process with torch imported.
* ``resident`` (held while a group runs): the group's pooled and bootstrap-resampled patch
  moment sums, ``3 (R + 1) d^2`` float64 per patch size; the nearest-neighbour samples;
  the ground truths kept for the window prior and its observation matrices ``A_phi``.
* ``batch``: one device batch of ``B`` pairs, decoded and in flight (the next batch is decoded
  meanwhile), per pixel and channel, plus the working memory of its stride-1 patch moments
  (one image's float64 copy and a chunk of spectra).

With a budget the model plans the job as the worker runs it: fewer pairs per batch first,
then, when even one pair's patch moments do not fit what the budget leaves, the patch
statistics in row bands (docs/theory.md 3.3: the lag sums are additive over bands that overlap
by ``p - 1`` rows, so the report is the same to rounding). The band rule is the engine's own
(``api_schemas.conventions.patch_band_rows``); the estimate carries the patch memory budget
the engine must be given (``CostEstimate.patch_memory_bytes``). Bands bound only the patch
moments: the per-pixel buffers of a batch (decoded images, colour and error stacks, SSIM and
detail filters) are not tiled and still grow with the image, so a large enough image is
refused even with the thinnest bands.
* ``summary``: the bootstrap's covariances and divergences, several ``rows d^2`` float64 copies
  (the resamples are evaluated ``api_schemas.conventions.covariance_chunk_rows(d)`` at a time).
* ``prior build``: ``matrix_for_window`` builds each phase's matrix from a basis of ``w^2``
  canvas-sized images (``w^2 canvas^2`` float64).
* ``prior fit`` (docs/theory.md 3.6): the windows of the kept ground truths (``n d_w``), the
  shrinkage's dense ``d_w x d_w`` matrices when there are fewer than ``10 d_w`` windows, and
  the ``(R + 1) Phi d^2`` posterior blocks of every resample and phase.

``d = C p^2`` (``C``: channels of the statistics, 3 for ``rgb`` else 1), ``w = p + 2m`` the
window of the inherent uncertainty, ``d_w = C w^2``, ``Phi = f^2`` sampling phases of a
downsampling by ``f``. The margin ``m`` is the engine's rule (:func:`inherent_margin`), with
the operator's support radius reproduced from the spec (:func:`support_radius`).

Example:
    >>> from api_schemas.options import AuditOptions
    >>> small = estimate_job([PairShape(256, 256, 3)] * 4, AuditOptions(), batch_size=4)
    >>> small.peak_bytes < 2 * GIB, small.batch_size
    (True, 4)
    >>> rgb = AuditOptions(color="rgb", degradation={"type": "downsample", "factor": 16})
    >>> over_budget([PairShape(128, 128, 3)], rgb, 12 * GIB).part
    'options.degradation'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from api_schemas.conventions import (
    covariance_chunk_rows,
    fast_fft_size,
    patch_band_rows,
    patch_transform_chunk,
    patch_working_bytes,
)
from api_schemas.degradation import (
    BlurSpec,
    DegradationSpec,
    DownsampleSpec,
    linear_steps,
    super_resolution_factor,
)
from api_schemas.options import AuditOptions
from api_schemas.problems import PROBLEM_TYPE_BASE, Problem, ProblemError

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_MAX_JOB_MEMORY_BYTES",
    "GIB",
    "RESOURCES_SLUG",
    "RESOURCES_TITLE",
    "CostEstimate",
    "OverBudget",
    "PairShape",
    "WindowGeometry",
    "estimate_job",
    "format_bytes",
    "inherent_margin",
    "over_budget",
    "pairs_per_batch",
    "support_radius",
    "window_geometry",
]

GIB: Final = 1 << 30
MIB: Final = 1 << 20
DEFAULT_MAX_JOB_MEMORY_BYTES: Final = 12 * GIB
"""``RA_MAX_JOB_MEMORY_BYTES`` by default: a 16 GiB worker, less room for the main process,
the operating system and the model's error."""
DEFAULT_BATCH_SIZE: Final = 16
"""Pairs per device batch at most (``RA_BATCH_SIZE``'s default)."""

# --------------------------------------------------------------------------- engine constants
# Mirrors of the engine's own limits (workers/engine, workers/estimators); a unit test checks
# each against its source.
PRIOR_PIXEL_BUDGET: Final = 8_000_000
"""``workers.engine.degradation._PRIOR_PIXEL_BUDGET``."""
PRIOR_SUM_BYTES: Final = 256 * MIB
"""``workers.engine.degradation._PRIOR_SUM_BYTES``."""
MAX_PRIOR_WINDOWS: Final = 50_000
"""``max_windows`` of ``workers.estimators.inherent.window_stride``."""

MIN_BAND_ROWS: Final = 64
"""Fewest rows of patch positions per band the model plans: every band also computes its
border strips (``p - 1`` rows on each side) and its own transforms, so thinner bands cost far
more time for little memory; a job that needs thinner ones is refused instead."""

# --------------------------------------------------------------------------- fitted constants
# Fitted to the peak RSS of each engine step (benchmarks/bench_cost_model.py --phases) on the
# project's 2-core CPU machine (torch 2.13, CPU), then rounded so that the estimate covers
# every calibration shape; the script prints estimate against measured peak.
BASE_BYTES: Final = 300 * MIB
"""A worker pool process with torch, Celery and the engine imported, before any job
(measured 253 MiB)."""
BATCH_FIXED_BYTES: Final = 184 * MIB
"""Per-batch overhead that does not grow with the pixels (allocator pools, FFT plans)."""
BYTES_PER_PAIR_PIXEL: Final = 40.0
"""Per pixel of each pair of a batch and per channel of the statistics: colour-converted and
cropped images, the float64 error/truth/restored stack, SSIM and detail filters, maps."""
BYTES_PER_INPUT_PIXEL: Final = 8.0
"""Per pixel of each pair of a batch and per decoded channel: the next batch, decoded while
this one runs."""
DISTORTION_BYTES_PER_PAIR_PIXEL: Final = 48.0
"""Per pixel of each pair of a batch and per channel of the statistics while PSNR and SSIM run
(``distortion_metrics``, before the patch moments): the batch's colour-converted images and
SSIM's four channels-last maps with their two blurred copies, float32..."""
DISTORTION_BYTES_PER_INPUT_PIXEL: Final = 16.0
"""...per decoded channel: the decoded pair and the next batch..."""
DISTORTION_BYTES_PER_PIXEL: Final = 24.0
"""...and per pixel of each pair. Fitted to that step's peak over the imports at 4096 px
(``bench_cost_model.py --phases``): 207 B per pixel of an RGB PNG pair with ``color: rgb``,
112 with luma, 85 for a grey float TIFF pair (rounded up: 216, 120, 88). This step is the
batch's peak when its patch moments are in bands; otherwise the moments' spectra are."""
BYTES_PER_DEGRADED_PIXEL: Final = 24.0
"""Per pixel of each pair and statistics channel with a degradation: the operator's float64
passes and the conjugate-gradient vectors of the null-space map."""
BYTES_PER_IMAGE_PIXEL: Final = 10.0
"""Per pixel of one image and per squared statistics channel: the stride-1 moments of one
image at a time (cross spectra of every channel pair)."""
SPECTRUM_COPIES: Final = 4.8
"""Complex128 copies of the patch moments' spectra per image of a transform chunk
(``PATCH_CHUNK_ELEMENTS``), per squared channel."""
SWEEP_SPECTRUM_SHARE: Final = 0.5
"""Each further patch size of a dimension sweep adds this share of the spectra (its moments
are taken in the same batch, one size after the other)."""
LEFTOVER_SHARE: Final = 0.6
"""Share of the batches' peak still resident (freed but not returned to the system, or too
fragmented to reuse) when the group's summary and window prior are computed."""
SUMMARY_COPIES: Final = 9.5
"""``rows x d^2`` float64 copies alive while the bootstrap's covariances and divergences are
computed (summarize_group), beside the resident sums: ``rows`` is one chunk of
``covariance_chunk_rows(d)`` resamples (or all ``R + 1`` when fewer)."""
WEIGHTED_COPIES: Final = 2.0
"""``(R + 1) d^2`` float64 copies of a batch's bootstrap-weighted moments (GroupStatistics.add)."""
KNN_COPIES: Final = 3.0
"""Copies of the nearest-neighbour samples alive during their Gaussian-null calibration."""
BASIS_COPIES: Final = 1.25
"""Copies of one phase's ``w^2 x canvas^2`` basis while ``matrix_for_window`` applies H (the
basis, and H's output, ``1 / f^2`` of it)..."""
BLUR_BASIS_COPIES: Final = 2.25
"""...plus this many over ``f^2`` (a blur's output is as large as the basis: measured 3.3
basis copies for a blur, 1.1-1.2 for 8x and 16x downsamplings)."""
WINDOW_COPIES: Final = 4.5
"""Copies of the ``n x d_w`` unfolded windows alive while the prior is fitted."""
SHRINKAGE_COPIES: Final = 6.0
"""Dense ``d_w x d_w`` float64 matrices of the shrinkage intensity (fewer than 10 d_w windows)."""
BLOCK_COPIES: Final = 4.2
"""Copies of the ``(R + 1) Phi d^2`` posterior blocks (stack, rounding added, determinants)."""
PRIOR_COVARIANCE_COPIES: Final = 5.0
"""``(R + 1) d^2`` float64 copies of the resampled prior blocks beside them."""

# Time: rough wall seconds on the same machine (2 cores shared with other work, CPU); the
# measured times move by 2-4x with the machine's load.
SECONDS_FIXED: Final = 2.0
SECONDS_PER_STAT_PIXEL: Final = 0.9e-6
"""Per pixel of a pair, per ``(1 + C^2) / 2`` (spectra of every channel pair)."""
SECONDS_PER_BOOTSTRAP_FLOP: Final = 1.0e-9
SECONDS_PER_KNN_FLOP: Final = 0.5e-9
SECONDS_PER_PRIOR_FLOP: Final = 4.5e-10
SECONDS_PER_BASIS_BYTE: Final = 3.0e-9
"""Per byte of each phase's basis (measured 19.7 s for one 4.1 GiB basis of a 16x window on
the loaded machine)."""

_FLOAT64: Final = 8
_COMPLEX128: Final = 16


# --------------------------------------------------------------------------- the degradation
def _factor(degradation: DegradationSpec) -> int:
    return super_resolution_factor(degradation) or 1


def support_radius(degradation: DegradationSpec) -> int:
    """How far, in input pixels, one observation reaches from its centre: the rule of
    ``DegradationOperator.support_radius`` (``workers/estimators/degradation.py``) on the
    degradation's model (``AuditOptions.degradation_spec``).

    Example:
        >>> from api_schemas.degradation import parse_degradation_short
        >>> support_radius(parse_degradation_short("downsample:4"))
        9
        >>> support_radius(parse_degradation_short("blur:1+downsample:2"))
        9
    """
    radius = 0.0
    for step in linear_steps(degradation):
        if isinstance(step, BlurSpec) and step.kernel is not None:
            radius += max(len(step.kernel), len(step.kernel[0])) // 2
        elif isinstance(step, BlurSpec):
            radius += int(4.0 * float(step.sigma or 0.0) + 0.5)
        else:
            radius += 2.0 * step.factor
    return math.ceil(radius) + 1


def inherent_margin(options: AuditOptions) -> int | None:
    """Margin m of docs/theory.md 3.6 the engine uses (``KnownDegradation.margin``): the
    option when given, else the operator's reach plus the factor less one, at least 8;
    ``None`` without a degradation.

    Example:
        >>> inherent_margin(AuditOptions(degradation={"type": "downsample", "factor": 4}))
        12
    """
    spec = options.degradation_spec
    if spec is None:
        return None
    if options.inherent_margin is not None:
        return options.inherent_margin
    return max(8, support_radius(spec) + _factor(spec) - 1)


def _bicubic(x: float) -> float:
    """Pillow's ``bicubic_filter`` (Keys, a = -0.5), as ``workers.estimators.degradation``."""
    a = -0.5
    x = abs(x)
    if x < 1.0:
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    if x < 2.0:
        return (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return 0.0


def _box(x: float) -> float:
    return 1.0 if -0.5 < x <= 0.5 else 0.0


def _downsample_span(kernel: str, factor: int, size: int, index: int) -> tuple[int, int]:
    """First and last input pixel with a nonzero weight in output ``index`` of a downsampling
    of ``size`` pixels (the coefficients of ``workers.estimators.degradation``)."""
    out = size // factor
    scale = size / out
    if kernel == "gaussian":
        sigma = factor / 2.0
        radius = 4.0 * sigma
        center = (index + 0.5) * scale
        start = max(math.ceil(center - radius - 0.5), 0)
        taps = range(start, start + math.ceil(2 * radius) + 2)
        nonzero = [j for j in taps if j < size and abs(j + 0.5 - center) <= radius]
    else:
        filterscale = max(scale, 1.0)
        base, function = (2.0, _bicubic) if kernel == "bicubic" else (0.5, _box)
        support = base * filterscale
        center = (index + 0.5) * scale
        start = max(math.trunc(center - support + 0.5), 0)
        stop = min(math.trunc(center + support + 0.5), size)
        taps = range(start, min(start + math.ceil(support) * 2 + 1, stop))
        nonzero = [j for j in taps if function((j - center + 0.5) / filterscale) != 0.0]
    return min(nonzero), max(nonzero)


def _blur_offsets(step: BlurSpec) -> tuple[tuple[int, int], tuple[int, int]]:
    """Row and column offsets (least, greatest) of the input pixels one blurred pixel reads."""
    kernel = step.kernel
    if kernel is None:
        radius = int(4.0 * float(step.sigma or 0.0) + 0.5)
        return (-radius, radius), (-radius, radius)
    rows = [a for a, row in enumerate(kernel) if any(v != 0 for v in row)]
    cols = [b for b in range(len(kernel[0])) if any(row[b] != 0 for row in kernel)]
    # A true convolution (the kernel flipped): entry (a, b) reads offset (rh - a, rw - b).
    rh, rw = len(kernel) // 2, len(kernel[0]) // 2
    return (rh - max(rows), rh - min(rows)), (rw - max(cols), rw - min(cols))


@dataclass(frozen=True)
class WindowGeometry:
    """The inherent uncertainty's windows (docs/theory.md 3.6) for one patch size.

    Attributes:
        margin: m.
        window: w = p + 2m.
        channels: C of the statistics.
        factor: the downsampling factor f (1 without).
        canvas: side of the canvas ``matrix_for_window`` builds each phase's matrix on.
        rows: per phase offset along the rows, the observations whose support lies inside
            the window's rows (phase (a, b) has ``rows[a] * cols[b]`` observations per
            channel: a support is inside a rectangle when its bounding box is).
        cols: the same along the columns.
    """

    margin: int
    window: int
    channels: int
    factor: int
    canvas: int
    rows: tuple[int, ...]
    cols: tuple[int, ...]

    @property
    def phases(self) -> int:
        """f^2."""
        return self.factor * self.factor

    @property
    def window_dimension(self) -> int:
        """d_w = C w^2."""
        return self.channels * self.window * self.window

    def observations(self, phase: tuple[int, int]) -> int:
        """Rows of ``A_phi`` for one channel: ``matrix_for_window(w, phase).shape[0]``."""
        return self.rows[phase[0]] * self.cols[phase[1]]

    @property
    def total_observations(self) -> int:
        """Rows of every phase's ``A_phi``, channels included: sum_phi C d'_phi."""
        return self.channels * sum(self.rows) * sum(self.cols)

    @property
    def squared_observations(self) -> int:
        """sum_phi (C d'_phi)^2: the per-image projected sums ``A_phi w (A_phi w)'``."""
        return self.channels**2 * sum(r * r for r in self.rows) * sum(c * c for c in self.cols)

    @property
    def basis_bytes(self) -> int:
        """One phase's basis in ``matrix_for_window``: w^2 canvas-sized float64 images."""
        return self.window**2 * self.canvas**2 * _FLOAT64

    @property
    def matrix_bytes(self) -> int:
        """Every phase's ``A_phi`` (kron'ed over channels), float64."""
        return self.total_observations * self.window_dimension * _FLOAT64


def window_geometry(options: AuditOptions, patch_size: int | None = None) -> WindowGeometry | None:
    """The windows of the inherent uncertainty for ``patch_size`` (default the options'), or
    ``None`` without a degradation.

    Example:
        >>> g = window_geometry(AuditOptions(degradation={"type": "downsample", "factor": 4}))
        >>> g.window, g.phases, g.observations((0, 0)), g.canvas
        (32, 16, 16, 60)
    """
    margin = inherent_margin(options)
    if margin is None or options.degradation is None:
        return None
    p = options.patch_size if patch_size is None else patch_size
    window = p + 2 * margin
    spec = options.degradation_spec
    assert spec is not None  # inherent_margin is None without a degradation
    factor = _factor(spec)
    pad = factor * (support_radius(spec) // factor + 1)
    canvas = factor * math.ceil((2 * pad + factor + window) / factor)
    offsets = ((0, 0), (0, 0))
    downsample: DownsampleSpec | None = None
    for step in linear_steps(spec):
        if isinstance(step, BlurSpec):
            offsets = _blur_offsets(step)
        else:
            downsample = step
    counts: list[tuple[int, ...]] = []
    for low, high in offsets:
        axis = []
        for phase in range(factor):
            top = pad + phase
            count = 0
            for index in range(canvas // factor):
                if downsample is None:
                    first = last = index
                else:
                    first, last = _downsample_span(downsample.kernel, factor, canvas, index)
                if first + low >= top and last + high <= top + window - 1:
                    count += 1
            axis.append(count)
        counts.append(tuple(axis))
    channels = 3 if options.color == "rgb" else 1
    return WindowGeometry(margin, window, channels, factor, canvas, counts[0], counts[1])


# --------------------------------------------------------------------------- the job
@dataclass(frozen=True)
class PairShape:
    """One pair as the model sees it.

    Attributes:
        height, width: pixels of the ground truth (and restored image).
        channels: decoded channels of the images: 1 (grey) or 3 (colour).
        group: the restorer; groups are audited one after the other.
        observation: whether the pair comes with its observation.
        part: how a problem names the pair's pixels, e.g. ``ground_truth[3]``.
    """

    height: int
    width: int
    channels: int = 3
    group: str = "default"
    observation: bool = False
    part: str = "ground_truth"

    @property
    def pixels(self) -> int:
        """height x width."""
        return self.height * self.width


@dataclass(frozen=True)
class CostEstimate:
    """What a job is expected to cost.

    Attributes:
        peak_bytes: peak resident memory of the worker process running it.
        seconds: rough wall time on the calibration machine (2 CPU cores).
        batch_size: pairs per device batch: the worker's batch size, lowered to fit the
            budget when one was given (what the worker passes to the engine).
        components: the peak's terms in bytes (``base``, ``resident``, and the largest of
            ``batch``, ``summary``, ``prior_build``, ``prior_fit``), for messages.
        patch_memory_bytes: the working memory the engine's patch statistics may take
            (``run_audit(..., patch_memory_bytes=...)``), planned when one pair's untiled
            patch moments do not fit the budget; ``None``: untiled.
        band_rows: rows of patch positions per band the engine then uses for the costliest
            group (``None``: untiled).
    """

    peak_bytes: int
    seconds: float
    batch_size: int
    components: dict[str, int] = field(default_factory=dict)
    patch_memory_bytes: int | None = None
    band_rows: int | None = None

    @property
    def largest(self) -> str:
        """The largest term other than the base."""
        terms = {k: v for k, v in self.components.items() if k != "base"}
        return max(terms, key=lambda k: terms[k]) if terms else "base"


_COMPONENT_WORDS: Final = {
    "base": "the worker process",
    "resident": "the group's bootstrap sums, nearest-neighbour samples and window prior",
    "batch": "one batch of pairs in flight",
    "summary": "the bootstrap's covariances",
    "prior_build": "the observation matrices of the inherent-uncertainty windows",
    "prior_fit": "the inherent-uncertainty window prior and its posterior blocks",
}


def format_bytes(value: float) -> str:
    """``12.0 GiB``, ``512 MiB``.

    Example:
        >>> format_bytes(12 * GIB), format_bytes(3 * MIB)
        ('12.0 GiB', '3 MiB')
    """
    if value >= GIB:
        return f"{value / GIB:.1f} GiB"
    return f"{value / MIB:.0f} MiB"


def _crop(options: AuditOptions) -> int:
    if options.crop_border is not None:
        return options.crop_border
    spec = options.degradation_spec
    return _factor(spec) if spec is not None else 0


def _stat_channels(options: AuditOptions, channels: int) -> int:
    return 3 if options.color == "rgb" and channels == 3 else 1


def _patch_sizes(options: AuditOptions) -> list[int]:
    return sorted({options.patch_size, *(options.patch_sizes or ())})


def _covariance_rows(resamples: int, dimension: int) -> int:
    """Rows of ``d x d`` covariances the group summary holds at once (the engine's chunks)."""
    return min(resamples + 1, covariance_chunk_rows(dimension))


def _resamples(options: AuditOptions, pairs: int) -> int:
    """Bootstrap resamples the engine draws for a group of ``pairs`` (none for one pair)."""
    return options.bootstrap.resamples if pairs > 1 else 0


def _prior_stride(images: int, height: int, width: int, window: int) -> int:
    """``window_stride`` of workers/estimators/inherent.py."""
    stride = 2
    while (
        stride < window
        and images * (((height - window) // stride + 1) * ((width - window) // stride + 1))
        > MAX_PRIOR_WINDOWS
    ):
        stride += 1
    return stride


@dataclass(frozen=True)
class _Group:
    pairs: int
    first: PairShape
    largest: PairShape
    channels: int
    observation: bool


def _groups(pairs: Sequence[PairShape]) -> list[_Group]:
    members: dict[str, list[PairShape]] = {}
    for pair in pairs:
        members.setdefault(pair.group, []).append(pair)
    return [
        _Group(
            pairs=len(shapes),
            first=shapes[0],
            largest=max(shapes, key=lambda s: s.pixels),
            channels=max(s.channels for s in shapes),
            observation=any(s.observation for s in shapes),
        )
        for shapes in members.values()
    ]


@dataclass(frozen=True)
class _Patches:
    """The stride-1 patch moments of one group's batches: what the model counts for them,
    whole or in row bands, and the band the engine picks under a patch memory budget.

    Attributes:
        channels: C of the statistics.
        height, width: the decoded images (the model's per-pixel terms).
        grid_height, grid_width: the cropped grid the engine takes the moments on.
        size: the largest patch size.
        sizes: how many patch sizes (a dimension sweep's are taken one after the other).
        bandable: stride 1 and p > 1 (other strides use unfold in chunks of images).
    """

    channels: int
    height: int
    width: int
    grid_height: int
    grid_width: int
    size: int
    sizes: int
    bandable: bool

    def bytes(self, pairs: int, rows: int | None = None) -> float:
        """Working memory of a batch of ``pairs`` pairs' moments (error, truth and restored
        of each), whole (``rows`` None) or in bands of ``rows`` rows of positions: one
        image's (band's) float64 copy and cross spectra, and one chunk of spectra."""
        q = self.size - 1
        height = self.height if rows is None else min(self.height, rows + q)
        fft_rows, fft_cols = fast_fft_size(height + q), fast_fft_size(self.width + q)
        squared = self.channels * self.channels
        chunk = min(3 * pairs, patch_transform_chunk(self.channels, height, self.width, self.size))
        spectrum = (
            SPECTRUM_COPIES
            * (1 + SWEEP_SPECTRUM_SHARE * (self.sizes - 1))
            * _COMPLEX128
            * squared
            * fft_rows
            * (fft_cols // 2 + 1)
        )
        return BYTES_PER_IMAGE_PIXEL * squared * height * self.width + chunk * spectrum

    @property
    def max_rows(self) -> int:
        """Rows of patch positions of the whole grid (one band)."""
        return max(1, self.grid_height - self.size + 1)

    def engine_budget(self, pairs: int, rows: int) -> int:
        """The patch memory budget under which the engine bands a batch of ``pairs`` pairs
        by exactly ``rows`` rows of positions (its working bytes rise with every row)."""
        band = min(self.grid_height, rows + self.size - 1)
        return patch_working_bytes(3 * pairs, self.channels, band, self.grid_width, self.size)

    def engine_rows(self, pairs: int, budget: int | None) -> int | None:
        """Rows per band the engine uses under ``budget`` (``None``: untiled)."""
        if not self.bandable:
            return None
        return patch_band_rows(
            3 * pairs, self.channels, self.grid_height, self.grid_width, self.size, budget
        )


@dataclass(frozen=True)
class _Terms:
    """One group's terms, bytes (a batch's as a function of its pairs), and seconds."""

    resident: float
    batch_fixed: float
    batch_per_pair: float
    distortion_per_pair: float
    patches: _Patches
    summary: float
    prior_build: float
    prior_fit: float
    seconds_fixed: float
    seconds_per_pixel: float

    def batch(self, pairs: int, rows: int | None = None) -> float:
        """Bytes of a batch of ``pairs`` pairs, its patch moments in bands of ``rows`` rows
        of positions (``None``: untiled): the larger of its two steps, PSNR and SSIM, then
        the patch moments (their temporaries are not alive at once)."""
        moments = pairs * self.batch_per_pair + self.patches.bytes(pairs, rows)
        return self.batch_fixed + max(pairs * self.distortion_per_pair, moments)


def _prior_terms(
    options: AuditOptions, group: _Group, resamples: int, c_stat: int
) -> tuple[float, float, float, float]:
    """(resident, build, fit) bytes and seconds of the window prior of one group."""
    resident = build = fit = seconds = 0.0
    shape = group.first
    for size in _patch_sizes(options):
        geometry = window_geometry(options, size)
        if geometry is None:
            return 0.0, 0.0, 0.0, 0.0
        d = c_stat * size * size
        d_w = geometry.window_dimension
        resident += geometry.matrix_bytes  # cached per patch size for the whole group
        copies = BASIS_COPIES + BLUR_BASIS_COPIES / geometry.phases
        build = max(build, copies * geometry.basis_bytes)
        seconds += geometry.phases * geometry.basis_bytes * SECONDS_PER_BASIS_BYTE
        if min(shape.height, shape.width) < geometry.window:
            continue  # the engine leaves the group unplaced: no windows fitted
        # How many ground truths the prior keeps (PriorImages.offer).
        per_image = _FLOAT64 * (
            geometry.squared_observations + geometry.total_observations * d + d * d + 3 * d_w
        )
        by_memory = max(2, PRIOR_SUM_BYTES // per_image)
        capacity = max(2, min(PRIOR_PIXEL_BUDGET // (c_stat * shape.pixels), by_memory))
        images = min(group.pairs, capacity)
        stride = _prior_stride(images, shape.height, shape.width, geometry.window)
        per = ((shape.height - geometry.window) // stride + 1) * (
            (shape.width - geometry.window) // stride + 1
        )
        windows = images * per
        kept = 4 * images * c_stat * shape.pixels  # float32, held while the group runs
        resident = max(resident, kept)
        unfolded = WINDOW_COPIES * (windows if windows < 10 * d_w else per) * d_w * _FLOAT64
        shrinkage = SHRINKAGE_COPIES * d_w * d_w * _FLOAT64 if windows < 10 * d_w else 0.0
        copies = BLOCK_COPIES * geometry.phases + PRIOR_COVARIANCE_COPIES
        blocks = copies * (resamples + 1) * d * d * _FLOAT64
        sums = min(PRIOR_SUM_BYTES, images * per_image) + 2 * geometry.matrix_bytes
        fit = max(fit, 3 * kept + sums + max(unfolded + shrinkage, blocks))
        seconds += SECONDS_PER_PRIOR_FLOP * (
            windows * d_w * (geometry.total_observations + d)
            + (windows * d_w * d_w if windows < 10 * d_w else 0)
            + (resamples + 1)
            * geometry.phases
            * (d * d * d + (geometry.total_observations / geometry.phases) ** 2 * d)
        )
    return resident, build, fit, seconds


def _group_terms(options: AuditOptions, group: _Group) -> _Terms:
    c_in = group.channels
    c_stat = _stat_channels(options, c_in)
    resamples = _resamples(options, group.pairs)
    sizes = _patch_sizes(options)
    dims = [c_stat * q * q for q in sizes]
    d = c_stat * options.patch_size**2
    # Resident: pooled and resampled moment sums of error, truth and restored at every size.
    moments = sum(3 * (resamples + 1) * k * k * _FLOAT64 for k in dims)
    # Nearest-neighbour samples: the engine's share per pair, capped by the patch positions.
    crop = _crop(options)
    shape = group.largest
    positions = max(1, (shape.height - 2 * crop - options.patch_size + 1)) * max(
        1, (shape.width - 2 * crop - options.patch_size + 1)
    )
    per_pair = min(max(1, math.ceil(options.knn_samples / group.pairs)), positions)
    samples = group.pairs * per_pair
    knn = 3 * samples * d * _FLOAT64
    prior_resident, prior_build, prior_fit, prior_seconds = _prior_terms(
        options, group, resamples, c_stat
    )
    resident = moments + knn + prior_resident
    # A batch: per pixel of each pair, plus one image's stride-1 moments at a time.
    degraded = options.degradation is not None
    per_pixel = (
        BYTES_PER_PAIR_PIXEL * c_stat
        + BYTES_PER_INPUT_PIXEL * c_in
        + (BYTES_PER_DEGRADED_PIXEL * c_stat if degraded else 0.0)
    )
    biggest = max(sizes)
    patches = _Patches(
        channels=c_stat,
        height=shape.height,
        width=shape.width,
        grid_height=max(1, shape.height - 2 * crop),
        grid_width=max(1, shape.width - 2 * crop),
        size=biggest,
        sizes=len(sizes),
        bandable=options.patch_stride == 1 and biggest > 1,
    )
    weighted = WEIGHTED_COPIES * (resamples + 1) * max(dims) ** 2 * _FLOAT64
    # The sweep's sizes are summarised one after the other, but what one leaves behind is
    # fragmented: counted for every size (measured peaks of a 4, 8, 12 sweep vary by 15 %).
    summary = SUMMARY_COPIES * sum(_covariance_rows(resamples, k) * k * k for k in dims) * _FLOAT64
    # Time.
    stat_work = (1 + c_stat * c_stat) / 2 * sum(q * q for q in sizes) / 64
    bootstrap = sum(3 * (resamples + 1) * k**3 for k in dims) + (
        group.pairs * resamples * sum(3 * k * k for k in dims)
    )
    knn_flops = 6 * samples * samples * d
    return _Terms(
        resident=resident,
        batch_fixed=BATCH_FIXED_BYTES + weighted,
        batch_per_pair=per_pixel * shape.pixels,
        distortion_per_pair=(
            DISTORTION_BYTES_PER_PAIR_PIXEL * c_stat
            + DISTORTION_BYTES_PER_INPUT_PIXEL * c_in
            + DISTORTION_BYTES_PER_PIXEL
        )
        * shape.pixels,
        patches=patches,
        summary=max(summary, KNN_COPIES * knn),
        prior_build=prior_build,
        prior_fit=prior_fit,
        seconds_fixed=SECONDS_FIXED
        + SECONDS_PER_BOOTSTRAP_FLOP * bootstrap
        + SECONDS_PER_KNN_FLOP * knn_flops
        + prior_seconds,
        seconds_per_pixel=SECONDS_PER_STAT_PIXEL * stat_work * (2.0 if degraded else 1.0),
    )


def _group_peak(terms: _Terms, batch: int, rows: int | None = None) -> dict[str, int]:
    """The terms of a group run ``batch`` pairs at a time, its patch moments in bands of
    ``rows`` rows of positions (``None``: untiled). The summary runs after the batches
    and the window prior's fit inside the summary, each on top of what the steps before it
    left resident (``LEFTOVER_SHARE``)."""
    batch_bytes = terms.batch(batch, rows)
    summary = terms.summary + LEFTOVER_SHARE * batch_bytes
    fit = terms.prior_fit + LEFTOVER_SHARE * max(batch_bytes, summary) if terms.prior_fit else 0
    return {
        "base": BASE_BYTES,
        "resident": int(terms.resident),
        "batch": int(batch_bytes),
        "summary": int(summary),
        "prior_build": int(terms.prior_build),
        "prior_fit": int(fit),
    }


def _peak(components: Mapping[str, int]) -> int:
    transient = max(
        components["batch"],
        components["summary"],
        components["prior_build"],
        components["prior_fit"],
    )
    return components["base"] + components["resident"] + transient


def estimate_job(
    pairs: Sequence[PairShape],
    options: AuditOptions,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    budget: int | None = None,
) -> CostEstimate:
    """Peak memory and rough time of auditing ``pairs`` with ``options``.

    Args:
        pairs: every pair of the job, in submission order.
        options: the job's options.
        batch_size: pairs per device batch at most (the worker's ``RA_BATCH_SIZE``).
        budget: when given, the job is planned as the worker runs it: the batch size
            lowered (:func:`pairs_per_batch`) so that the batch fits the budget, and when
            even one pair does not fit, its patch statistics in row bands as tall as the
            budget allows (``patch_memory_bytes`` of the estimate).

    Returns:
        The estimate; ``components`` are those of the costliest group.

    Raises:
        ValueError: on no pairs or a batch size below 1.
    """
    if not pairs:
        raise ValueError("expected at least one pair")
    if batch_size < 1:
        raise ValueError(f"expected batch_size >= 1, got {batch_size}")
    groups = [(group, _group_terms(options, group)) for group in _groups(pairs)]
    # One batch size for the whole job, as the engine takes it: the smallest that fits.
    batch = batch_size
    patch_budget = None
    if budget is not None:
        batch = min(_fitting_batch(terms, budget, batch_size) for _, terms in groups)
        patch_budget = _patch_budget(groups, batch, budget)
    worst: dict[str, int] | None = None
    worst_rows = None
    seconds = 0.0
    for group, terms in groups:
        pairs_in_batch = min(batch, group.pairs)
        rows = terms.patches.engine_rows(pairs_in_batch, patch_budget)
        components = _group_peak(terms, pairs_in_batch, rows)
        if worst is None or _peak(components) > _peak(worst):
            worst, worst_rows = components, rows
        pixels = sum(p.pixels for p in pairs if p.group == group.first.group)
        seconds += terms.seconds_fixed + terms.seconds_per_pixel * pixels
    assert worst is not None
    return CostEstimate(_peak(worst), round(seconds, 1), batch, worst, patch_budget, worst_rows)


def _patch_budget(groups: Sequence[tuple[_Group, _Terms]], batch: int, budget: int) -> int | None:
    """The patch memory budget the engine must use: ``None`` when every group fits ``budget``
    untiled at ``batch`` pairs per batch, else the smallest of those the groups that do not
    fit need, each the one under which the engine picks the tallest band keeping its group
    within ``budget`` (``MIN_BAND_ROWS`` when none does and the batch is what is too big:
    :func:`over_budget` then refuses, the estimate counting the thinnest bands)."""
    planned = []
    for group, terms in groups:
        pairs = min(batch, group.pairs)
        untiled = _group_peak(terms, pairs)
        if not terms.patches.bandable or _peak(untiled) <= budget:
            continue
        rows = _fitting_rows(terms, pairs, budget)
        transient = {k: v for k, v in untiled.items() if k not in ("base", "resident")}
        if _peak(_group_peak(terms, pairs, rows)) > budget and max(
            transient, key=lambda k: transient[k]
        ) not in ("batch", "summary"):
            continue  # too big for another reason (the window prior): bands would not help
        planned.append(terms.patches.engine_budget(pairs, rows))
    return min(planned) if planned else None


def _fitting_rows(terms: _Terms, pairs: int, budget: int) -> int:
    """The most rows of patch positions per band whose peak stays within ``budget``;
    ``MIN_BAND_ROWS`` (or the whole grid when shorter) when even that band does not fit."""
    low, high = min(MIN_BAND_ROWS, terms.patches.max_rows), terms.patches.max_rows
    while low < high:  # the peak grows with the band: bisect
        middle = (low + high + 1) // 2
        if _peak(_group_peak(terms, pairs, middle)) <= budget:
            low = middle
        else:
            high = middle - 1
    return low


def _fitting_batch(terms: _Terms, budget: int, most: int) -> int:
    """The most pairs per batch, at most ``most``, whose peak stays within ``budget``; 1
    when even one pair does not fit."""
    low, high = 1, max(1, most)
    if _peak(_group_peak(terms, high)) <= budget:
        return high
    while high - low > 1:  # the peak grows with the batch: bisect
        middle = (low + high) // 2
        if _peak(_group_peak(terms, middle)) <= budget:
            low = middle
        else:
            high = middle
    return low


def pairs_per_batch(
    budget: int,
    height: int,
    width: int,
    channels: int,
    options: AuditOptions | None = None,
    *,
    group_pairs: int = DEFAULT_BATCH_SIZE,
    observation: bool = False,
    max_batch: int = DEFAULT_BATCH_SIZE,
) -> int:
    """How many pairs of ``height x width x channels`` one device batch may hold so that the
    job's estimated peak stays within ``budget`` bytes: at least 1, at most ``max_batch``.

    ``group_pairs`` is the number of pairs of the group (its bootstrap sums and
    nearest-neighbour samples are held beside the batch). A job whose single pair does not
    fit gets 1 here; :func:`over_budget` is what refuses it.

    Example:
        >>> pairs_per_batch(12 * GIB, 256, 256, 3)
        16
        >>> pairs_per_batch(12 * GIB, 6000, 6000, 1)
        3
    """
    opts = options if options is not None else AuditOptions()
    group = _Group(
        pairs=max(1, group_pairs),
        first=PairShape(height, width, channels, observation=observation),
        largest=PairShape(height, width, channels, observation=observation),
        channels=channels,
        observation=observation,
    )
    return _fitting_batch(_group_terms(opts, group), budget, max_batch)


# --------------------------------------------------------------------------- the verdict
RESOURCES_SLUG: Final = "resources"
"""Problem type slug of a job over the memory budget (at submission, before running, or when
its worker kept dying)."""
RESOURCES_TITLE: Final = "Job exceeds the memory budget"


@dataclass(frozen=True)
class OverBudget:
    """A job whose estimated peak exceeds the budget, and who is to blame.

    Attributes:
        status: 413 when the pixels are too many (even with the default options and one pair
            per batch), 422 when the options make the job too big.
        errors: ``(part, message)`` pairs: the largest pair's part (``ground_truth[3]``)
            for a 413; for a 422 each option that alone, back at its default, would bring the
            job within the budget (or the one that saves the most when none does).
        estimate: the job's estimate.
        limit: the budget, bytes.
    """

    status: Literal[413, 422]
    errors: list[tuple[str, str]]
    estimate: CostEstimate
    limit: int

    @property
    def part(self) -> str:
        """The part named first."""
        return self.errors[0][0]

    @property
    def detail(self) -> str:
        """The problem's ``detail``."""
        largest = self.estimate.largest
        detail = (
            f"the job would need about {format_bytes(self.estimate.peak_bytes)} of memory at "
            f"its peak, over the {format_bytes(self.limit)} a worker may use for one job "
            f"(largest term: {_COMPONENT_WORDS[largest]}, "
            f"{format_bytes(self.estimate.components[largest])})"
        )
        if self.estimate.band_rows is not None:
            detail += (
                f"; that is with its patch statistics already in row bands of "
                f"{self.estimate.band_rows} rows: bands bound only those, the rest of a batch "
                "(decoded images, colour and error stacks, SSIM and detail filters) is not "
                "tiled and grows with the pixels"
            )
        return detail

    def problem(self, instance: str | None = None) -> Problem:
        """The ``resources`` problem document, with the estimate and the limit."""
        return Problem(
            type=PROBLEM_TYPE_BASE + RESOURCES_SLUG,
            title=RESOURCES_TITLE,
            status=self.status,
            detail=self.detail,
            instance=instance,
            errors=[ProblemError(part=part, message=message) for part, message in self.errors],
            estimated_memory_bytes=self.estimate.peak_bytes,
            memory_limit_bytes=self.limit,
        )


_COSTLY_OPTIONS: Final = (
    "degradation",
    "inherent_margin",
    "color",
    "patch_size",
    "patch_sizes",
    "bootstrap",
    "knn_samples",
)
"""Options that change the memory, in the order a problem names them when several do."""


def _reset(options: AuditOptions, name: str, defaults: AuditOptions) -> AuditOptions:
    if name == "bootstrap":
        resamples = defaults.bootstrap.resamples
        return options.model_copy(
            update={"bootstrap": options.bootstrap.model_copy(update={"resamples": resamples})}
        )
    return options.model_copy(update={name: getattr(defaults, name)})


def _part_name(name: str) -> str:
    return "options.bootstrap.resamples" if name == "bootstrap" else f"options.{name}"


def over_budget(
    pairs: Sequence[PairShape],
    options: AuditOptions,
    budget: int,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> OverBudget | None:
    """``None`` when the job fits ``budget`` bytes (its batches lowered as the worker lowers
    them, :func:`pairs_per_batch`), else who is to blame: the pixels (413, naming the largest
    pair's part) when even the default options do not fit, else the options (422, naming
    each option that alone, back at its default, would fit; the one that saves the most
    when none does)."""
    estimate = estimate_job(pairs, options, batch_size=batch_size, budget=budget)
    if estimate.peak_bytes <= budget:
        return None
    limit = format_bytes(budget)
    need = format_bytes(estimate.peak_bytes)
    defaults = AuditOptions()
    baseline = estimate_job(pairs, defaults, batch_size=batch_size, budget=budget)
    if baseline.peak_bytes > budget:
        largest = max(pairs, key=lambda p: p.pixels * p.channels)
        message = (
            f"{largest.width}x{largest.height} pixels with {largest.channels} channel(s): the "
            f"job needs about {format_bytes(baseline.peak_bytes)} even with the default "
            f"options, one pair per batch and its patch statistics in row bands, over the "
            f"{limit} a worker may use (the per-pixel buffers of a batch are not tiled); "
            "send smaller images"
        )
        return OverBudget(413, [(largest.part, message)], estimate, budget)
    peaks: dict[str, int] = {}
    for name in _COSTLY_OPTIONS:
        changed = _reset(options, name, defaults)
        if changed == options:
            continue
        peak = estimate_job(pairs, changed, batch_size=batch_size, budget=budget).peak_bytes
        if peak < estimate.peak_bytes:
            peaks[name] = peak
    named = [n for n, peak in peaks.items() if peak <= budget]
    if not named and peaks:
        named = [min(peaks, key=lambda n: peaks[n])]
    errors = [
        (
            _part_name(name),
            f"the job needs about {need} at its peak with this value, "
            f"{format_bytes(peaks[name])} with the default; a worker may use {limit}",
        )
        for name in named
    ]
    return OverBudget(
        422, errors or [("options", f"needs about {need}; limit {limit}")], estimate, budget
    )
