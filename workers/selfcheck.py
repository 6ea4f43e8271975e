"""Self-check of the frontier placement for one declared degradation (docs/theory.md §3.12).

Before trusting ``up_region`` and the uncertainty ratio on their own models, a user can run the
engine on a problem whose answer is known. This module builds that problem:

1. **A source.** A stationary Gaussian field, periodic on a ``canvas x canvas`` torus; each
   image is its top-left ``size x size`` crop (the canvas is 1.5 times larger, so the crop
   itself is not periodic). Its power spectrum is either fitted to the client's ground truths
   (the radially averaged, Hann-windowed periodogram of their luma, smoothed in log-log) or a
   default ``(k0^2 + |k|^2)^-3/2`` with k0 = 0.1 cycles per pixel (1/f^3 above k0). Either is
   scaled to a pixel standard deviation of 0.08 around 0.5, so the images, observations and
   posterior samples stay inside [0, 1] (an image that does not is redrawn).
2. **Observations** through the named degradation: the engine's own operator A
   (``workers.engine.degradation.linear_operator``) plus white Gaussian noise of the spec's
   variance s^2 (``noise_variance``: the 8-bit quantisation variance when no noise is named).
3. **Exact restorers** on the crop, with the crop's exact covariance S:
   the posterior mean ``E[x|y] = mu + S A' (A S A' + s^2 I)^-1 (y - A mu)``, solved by
   preconditioned conjugate gradients (batched, float64), and an exact posterior draw W by the
   perturbation rule of docs/theory.md §3.9 (``W = x' - E[x'|y']`` for a fresh prior draw x'
   and fresh noise). The restorers audited are ``posterior_mean`` (E[x|y]),
   ``posterior_sampler`` (E[x|y] + W) and ``half_spread`` (E[x|y] + W / 2).
4. **The audit** by :func:`workers.engine.run_audit` with the degradation and observations,
   and the checks of docs/theory.md §3.6 and §3.8: ratio 1, 2 and 1.25 (within a tolerance,
   5 % by default), every restorer ``on_bound``, the posterior mean ``low`` risk and the
   sampler ``high``.

Pure torch (FFTs and CG on the chosen device); no service code is imported.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from api_schemas.degradation import noise_variance, parse_degradation, parse_degradation_short
from api_schemas.options import AuditOptions
from api_schemas.report import AuditReport, GroupReport
from api_schemas.selfcheck import (
    DEFAULT_RESAMPLES,
    DEFAULT_TOLERANCE,
    SelfCheckCreate,
    SelfCheckItem,
    SelfCheckResult,
    SelfCheckSource,
    Spectrum,
)
from workers.engine.degradation import linear_operator
from workers.errors import AuditInputError
from workers.estimators.degradation import DegradationOperator

__all__ = [
    "DEFAULT_PIXEL_STD",
    "RESTORERS",
    "Check",
    "GaussianPosterior",
    "SelfCheckError",
    "SelfCheckResult",
    "SourceInfo",
    "StationarySource",
    "SyntheticProblem",
    "default_spectrum",
    "fitted_spectrum",
    "run_selfcheck",
    "run_selfcheck_request",
    "synthesize",
]

DEFAULT_PIXEL_STD = 0.08
"""Pixel standard deviation of the synthetic source (mean 0.5): a posterior sample (prior law)
stays 6 sigma from 0 and 1, and an observation under noise 0.05 more than 5 sigma."""
PRIOR_MEAN = 0.5
DEFAULT_CORNER = 0.1
"""k0 of the default spectrum ``(k0^2 + |k|^2)^-3/2``, in cycles per pixel."""
CG_TOLERANCE = 1e-10
"""Relative residual of every CG solve."""
MAX_CG_ITERATIONS = 2000
_MAX_REDRAWS = 20
_PROFILE_BINS = 40

RESTORERS: dict[str, tuple[float, str]] = {
    "posterior_mean": (1.0, "low"),
    "posterior_sampler": (2.0, "high"),
    "half_spread": (1.25, ""),
}
"""Restorer -> (expected uncertainty ratio 1 + t^2, expected risk or "" when not checked)."""


class SelfCheckError(RuntimeError):
    """The synthetic problem could not be built (CG did not converge, images left [0, 1])."""


# --------------------------------------------------------------------------- spectra
Profile = Callable[[torch.Tensor], torch.Tensor]
"""Power as a function of the radial frequency |k| (cycles per pixel), up to a scale."""


def default_spectrum(corner: float = DEFAULT_CORNER) -> Profile:
    """The default radial power ``(k0^2 + |k|^2)^-3/2`` (1/f^3 above the corner k0)."""

    def profile(radius: torch.Tensor) -> torch.Tensor:
        return (corner**2 + radius**2) ** -1.5

    return profile


def fitted_spectrum(images: Sequence[torch.Tensor], bins: int = _PROFILE_BINS) -> Profile:
    """A radial power profile fitted to grey images (their luma).

    Each ``(H, W)`` image (or ``(1, H, W)``) has its mean removed and a 2-D Hann window applied
    (the photographs are not periodic: without the window their border discontinuities would
    add a 1/|k|^2 cross to the periodogram); ``|FFT|^2 / sum(window^2)`` is its periodogram.
    The periodograms of all images are averaged in log-spaced bins of |k| between
    ``1 / min side`` and ``sqrt(1/2)``, the log powers smoothed with a [1, 2, 1] / 4 filter,
    and interpolated linearly in log-log; outside the bins the end values are held.

    Raises:
        ValueError: if no image is at least 16 pixels on each side, or all are flat.
    """
    usable = [img.reshape(img.shape[-2:]).to(torch.float64) for img in images]
    usable = [img for img in usable if min(img.shape) >= 16]
    if not usable:
        raise ValueError("expected ground truths of at least 16x16 pixels to fit a spectrum")
    low = 1.0 / min(min(img.shape) for img in usable)
    edges = torch.logspace(math.log10(low), math.log10(math.sqrt(0.5) + 1e-9), bins + 1)
    edges = edges.to(torch.float64)
    total = torch.zeros(bins, dtype=torch.float64)
    count = torch.zeros(bins, dtype=torch.float64)
    for img in usable:
        height, width = img.shape
        window = torch.outer(
            torch.hann_window(height, periodic=False, dtype=torch.float64),
            torch.hann_window(width, periodic=False, dtype=torch.float64),
        )
        centred = (img - img.mean()) * window
        power = torch.fft.fft2(centred).abs() ** 2 / float((window**2).sum())
        radius = torch.sqrt(
            torch.fft.fftfreq(height, dtype=torch.float64)[:, None] ** 2
            + torch.fft.fftfreq(width, dtype=torch.float64)[None, :] ** 2
        )
        which = torch.bucketize(radius.flatten(), edges) - 1
        inside = (which >= 0) & (which < bins)
        total.index_add_(0, which[inside], power.flatten()[inside])
        count.index_add_(0, which[inside], torch.ones_like(power.flatten()[inside]))
    keep = (count > 0) & (total > 0)
    if int(keep.sum()) < 2:
        raise ValueError("expected ground truths with some texture, got flat images")
    centres = torch.sqrt(edges[:-1] * edges[1:])[keep].log()
    levels = (total[keep] / count[keep]).log()
    padded = torch.cat([levels[:1], levels, levels[-1:]])
    smooth = (padded[:-2] + 2 * padded[1:-1] + padded[2:]) / 4

    def profile(radius: torch.Tensor) -> torch.Tensor:
        where = radius.clamp(min=float(centres[0].exp()), max=float(centres[-1].exp())).log()
        nodes, values = centres.to(radius.device), smooth.to(radius.device)
        upper = torch.searchsorted(nodes, where.contiguous()).clamp(1, nodes.numel() - 1)
        x0, x1 = nodes[upper - 1], nodes[upper]
        y0, y1 = values[upper - 1], values[upper]
        weight = ((where - x0) / (x1 - x0)).clamp(0.0, 1.0)
        return (y0 + weight * (y1 - y0)).exp()

    return profile


# --------------------------------------------------------------------------- the source
@dataclass(frozen=True)
class StationarySource:
    """Crops of a stationary Gaussian field that is periodic on a ``canvas`` torus.

    ``half_spectrum`` holds the eigenvalues of the canvas covariance (a circulant) as an
    ``rfft2`` half spectrum; their mean over the full grid is the pixel variance. The images
    are the top-left ``size x size`` crops, with the crop's exact covariance S
    (:meth:`covariance_apply`).
    """

    size: int
    canvas: int
    half_spectrum: torch.Tensor
    mean: float = PRIOR_MEAN

    @classmethod
    def from_profile(
        cls,
        profile: Profile,
        size: int,
        pixel_std: float = DEFAULT_PIXEL_STD,
        device: torch.device | str = "cpu",
    ) -> StationarySource:
        """The source whose eigenvalues are ``profile(|k|)`` scaled to ``pixel_std``."""
        canvas = 8 * math.ceil(1.5 * size / 8)
        freq = torch.fft.fftfreq(canvas, dtype=torch.float64)
        radius = torch.sqrt(freq[:, None] ** 2 + freq[None, :] ** 2)
        eigen = profile(radius)
        eigen = eigen * (pixel_std**2 / float(eigen.mean()))
        half = eigen[:, : canvas // 2 + 1].contiguous().to(device)
        return cls(size=size, canvas=canvas, half_spectrum=half)

    @property
    def device(self) -> torch.device:
        return self.half_spectrum.device

    @property
    def pixel_std(self) -> float:
        """Standard deviation of one pixel: the root of the mean eigenvalue."""
        full = torch.fft.irfft2(self.half_spectrum, s=(self.canvas, self.canvas))
        return math.sqrt(float(full[0, 0]))

    def _filter(self, v: torch.Tensor, half: torch.Tensor) -> torch.Tensor:
        """Zero-pad ``(..., h, w)`` onto the canvas, filter by ``half``, crop back."""
        h, w = v.shape[-2:]
        spread = torch.fft.rfft2(v, s=(self.canvas, self.canvas)) * half
        back: torch.Tensor = torch.fft.irfft2(spread, s=(self.canvas, self.canvas))
        return back[..., :h, :w]

    def draw(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` images ``(n, 1, size, size)``, float64 (white noise from a CPU generator)."""
        white = torch.randn(
            n, 1, self.canvas, self.canvas, generator=generator, dtype=torch.float64
        )
        field_ = self._filter(white.to(self.device), self.half_spectrum.sqrt())
        return self.mean + field_[..., : self.size, : self.size]

    def covariance_apply(self, v: torch.Tensor) -> torch.Tensor:
        """S v for ``v`` of shape ``(..., size, size)``: the exact covariance of the crop."""
        return self._filter(v, self.half_spectrum)


# --------------------------------------------------------------------------- the posterior
class GaussianPosterior:
    """E[x|y] for the source observed as ``y = A x + noise`` (variance ``noise``), by PCG.

    The system ``M z = (A S A' + s^2 I) z = r`` lives on the observation grid. The
    preconditioner is a stationary approximation of M built from M's own central column (one
    probe of M with a delta at the centre of the grid), inverted in the Fourier domain, its
    symbol floored at s^2 (below which M has no eigenvalue):

    * with downsampling, the circulant on the observation grid's torus;
    * without (noise, blur), the circulant on the torus of the grid's even (half-sample
      symmetric) extension, applied as ``E' C^-1 E / 4`` with E the extension: a cosine
      preconditioner, which fits the engine's reflecting blur borders where a periodic one
      needs hundreds of iterations more.

    Only the iteration count depends on it, never the answer.
    """

    def __init__(
        self, source: StationarySource, operator: DegradationOperator, noise: float
    ) -> None:
        self.source, self.operator, self.noise = source, operator, noise
        self.image_size = (source.size, source.size)
        self.grid: tuple[int, int] = operator.output_size(source.size, source.size)
        self.even = operator.factor == 1
        h, w = self.grid
        torus = (2 * h, 2 * w) if self.even else (h, w)
        probe = torch.zeros(1, 1, h, w, dtype=torch.float64, device=source.device)
        probe[..., h // 2, w // 2] = 1.0
        column = self.system(probe)[0, 0]
        rows = (torch.arange(h, device=source.device) - h // 2) % torus[0]
        cols = (torch.arange(w, device=source.device) - w // 2) % torus[1]
        kernel = torch.zeros(torus, dtype=torch.float64, device=source.device)
        kernel[rows[:, None], cols[None, :]] = column
        self.torus = torus
        self._inverse_symbol = 1.0 / torch.fft.rfft2(kernel).real.clamp(min=noise)
        self.iterations = 0

    def _lift(self, z: torch.Tensor) -> torch.Tensor:
        """S A' z: from the observation grid to the image."""
        adjoint = self.operator.adjoint(z, self.image_size)
        return self.source.covariance_apply(adjoint)

    def system(self, z: torch.Tensor) -> torch.Tensor:
        """M z = A S A' z + s^2 z."""
        return self.operator.apply(self._lift(z)) + self.noise * z

    def _precondition(self, r: torch.Tensor) -> torch.Tensor:
        if not self.even:
            periodic: torch.Tensor = torch.fft.irfft2(
                torch.fft.rfft2(r) * self._inverse_symbol, s=self.torus
            )
            return periodic
        h, w = self.grid
        extended = torch.cat([r, r.flip(-2)], dim=-2)
        extended = torch.cat([extended, extended.flip(-1)], dim=-1)
        y: torch.Tensor = torch.fft.irfft2(
            torch.fft.rfft2(extended) * self._inverse_symbol, s=self.torus
        )
        folded = y[..., :h, :] + y[..., h:, :].flip(-2)
        return (folded[..., :w] + folded[..., w:].flip(-1)) / 4

    def solve(self, rhs: torch.Tensor, tol: float = CG_TOLERANCE) -> torch.Tensor:
        """M^-1 rhs for a batch ``(B, 1, h, w)``, each item to ``|rhs - M z| <= tol |rhs|``.

        Raises:
            SelfCheckError: if some item has not converged after ``MAX_CG_ITERATIONS``.
        """

        def inner(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return (a * b).sum(dim=(1, 2, 3), keepdim=True)

        z = torch.zeros_like(rhs)
        residual = rhs.clone()
        goal = tol**2 * inner(rhs, rhs)
        preconditioned = self._precondition(residual)
        direction = preconditioned
        rho = inner(residual, preconditioned)
        for step in range(MAX_CG_ITERATIONS):
            running = inner(residual, residual) > goal
            if not bool(running.any()):
                self.iterations = max(self.iterations, step)
                return z
            image = self.system(direction)
            alpha = torch.where(running, rho / inner(direction, image), torch.zeros_like(rho))
            z = z + alpha * direction
            residual = residual - alpha * image
            preconditioned = self._precondition(residual)
            rho_next = inner(residual, preconditioned)
            beta = torch.where(running, rho_next / rho, torch.zeros_like(rho))
            direction = preconditioned + beta * direction
            rho = torch.where(running, rho_next, rho)
        raise SelfCheckError(
            f"conjugate gradients did not reach a relative residual of {tol:g} in "
            f"{MAX_CG_ITERATIONS} iterations"
        )

    def mean(self, y: torch.Tensor) -> torch.Tensor:
        """E[x|y] = mu + S A' M^-1 (y - A mu) for observations ``(B, 1, h, w)``."""
        prior_mean = torch.full(
            (y.shape[0], 1, *self.image_size), self.source.mean, dtype=y.dtype, device=y.device
        )
        return prior_mean + self._lift(self.solve(y - self.operator.apply(prior_mean)))


# --------------------------------------------------------------------------- synthesis
@dataclass(frozen=True)
class SyntheticProblem:
    """The synthesised images, float64 on the source's device.

    ``truth``, ``posterior_mean`` and ``posterior_noise`` (W, an exact draw of the posterior
    law minus its mean) are ``(B, 1, size, size)``; ``observation`` is ``(B, 1, h, w)``.
    """

    spec: dict[str, Any]
    source: StationarySource
    posterior: GaussianPosterior
    noise: float
    truth: torch.Tensor
    observation: torch.Tensor
    posterior_mean: torch.Tensor
    posterior_noise: torch.Tensor
    redrawn: int

    def restored(self) -> dict[str, torch.Tensor]:
        """The three audited restorers: E[x|y] + t W for t = 0, 1 and 1/2."""
        return {
            "posterior_mean": self.posterior_mean,
            "posterior_sampler": self.posterior_mean + self.posterior_noise,
            "half_spread": self.posterior_mean + 0.5 * self.posterior_noise,
        }


def _in_unit_range(*batches: torch.Tensor) -> torch.Tensor:
    """Per item of the batch: every value of every tensor inside [0, 1]."""
    ok = torch.ones(batches[0].shape[0], dtype=torch.bool, device=batches[0].device)
    for batch in batches:
        flat = batch.flatten(1)
        ok &= (flat.amin(dim=1) >= 0.0) & (flat.amax(dim=1) <= 1.0)
    return ok


def synthesize(
    spec: dict[str, Any],
    source: StationarySource,
    n_images: int,
    generator: torch.Generator,
) -> SyntheticProblem:
    """Draw ``n_images`` truths, observe them through ``spec``, and compute E[x|y] and W.

    All items are solved in one CG batch (the observations and the perturbation draws' ones
    together). An item whose truth, observation or restored images leave [0, 1] is redrawn.

    Raises:
        SelfCheckError: if [0, 1] cannot be met after several redraws (a spectrum too strong).
    """
    parsed = parse_degradation(spec)
    operator = linear_operator(parsed)
    noise = noise_variance(parsed)
    posterior = GaussianPosterior(source, operator, noise)
    sigma = math.sqrt(noise)
    device = source.device

    def observe(x: torch.Tensor) -> torch.Tensor:
        clean = operator.apply(x)
        fresh = torch.randn(clean.shape, generator=generator, dtype=torch.float64)
        return clean + sigma * fresh.to(device)

    kept: list[tuple[torch.Tensor, ...]] = []
    have = redrawn = 0
    for _ in range(_MAX_REDRAWS):
        need = n_images - have
        truth = source.draw(need, generator)
        observation = observe(truth)
        prior_draw = source.draw(need, generator)
        means = posterior.mean(torch.cat([observation, observe(prior_draw)]))
        estimate, noise_draw = means[:need], prior_draw - means[need:]
        # E[x|y] + W / 2 lies between E[x|y] and E[x|y] + W: no check of its own.
        ok = _in_unit_range(truth, observation, estimate, estimate + noise_draw)
        kept.append(tuple(t[ok] for t in (truth, observation, estimate, noise_draw)))
        have += int(ok.sum())
        redrawn += need - int(ok.sum())
        if have == n_images:
            truth, observation, estimate, noise_draw = (
                torch.cat([batch[i] for batch in kept]) for i in range(4)
            )
            return SyntheticProblem(
                spec, source, posterior, noise, truth, observation, estimate, noise_draw, redrawn
            )
    raise SelfCheckError(
        f"the synthetic images left [0, 1] in {_MAX_REDRAWS} draws (pixel std "
        f"{source.pixel_std:.3g}): lower the source's pixel standard deviation"
    )


# --------------------------------------------------------------------------- the self-check
# One result model for the command line and the service (api_schemas.selfcheck); the old
# names stay as aliases for callers of this module.
Check = SelfCheckItem
SourceInfo = SelfCheckSource


def _normalise(degradation: Mapping[str, Any] | str) -> dict[str, Any]:
    """The JSON form of a degradation given as JSON or as the command line's short form."""
    spec = (
        parse_degradation_short(degradation)
        if isinstance(degradation, str)
        else parse_degradation(dict(degradation))
    )
    dumped: dict[str, Any] = spec.model_dump(mode="json")
    return dumped


def _luma(images: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Full-range BT.601 luma of ``(C, H, W)`` or ``(H, W)`` images (the spectrum's shape is
    what matters; the two luma conventions differ by a gain)."""
    from workers.estimators.color import convert_color

    grey = []
    for image in images:
        batch = image.to(torch.float64).reshape(1, -1, *image.shape[-2:])
        grey.append(convert_color(batch, "y_full")[0, 0] if batch.shape[1] == 3 else batch[0, 0])
    return grey


def _ratio_check(group: GroupReport, expected: float, tolerance: float) -> Check:
    estimate = group.uncertainty_ratio
    value = None if estimate is None else estimate.value
    measured = "-" if value is None else f"{value:.3f}"
    low = high = None
    if value is not None and estimate is not None:
        low, high = estimate.ci_low, estimate.ci_high
    interval = None if low is None or high is None else (low, high)
    if interval is not None:
        measured += f" [{interval[0]:.3f}, {interval[1]:.3f}]"
    return Check(
        name=f"{group.name} uncertainty ratio",
        restorer=group.name,
        expected=f"{expected:g} ± {100 * tolerance:g} %",
        expected_value=expected,
        tolerance=tolerance,
        holds=value is not None and abs(value - expected) <= tolerance * expected,
        measured=measured,
        value=value,
        interval=interval,
    )


def _checks(report: AuditReport, tolerance: float) -> list[Check]:
    groups = {group.name: group for group in report.groups}
    checks: list[Check] = []
    for name, (ratio, risk) in RESTORERS.items():
        group = groups[name]
        checks.append(_ratio_check(group, ratio, tolerance))
        floor = group.uncertainty_floor_ratio
        where: str = group.up_region or "-"
        if floor is not None and floor.value is not None:
            where += f" (oracle r {floor.value:.3f})"
        checks.append(
            Check(
                name=f"{name} placement",
                restorer=name,
                expected="on_bound",
                measured=where,
                holds=group.up_region == "on_bound",
            )
        )
        if risk:
            checks.append(
                Check(
                    name=f"{name} risk",
                    restorer=name,
                    expected=risk,
                    measured=group.risk.level,
                    holds=group.risk.level == risk,
                )
            )
    return checks


def _prior_notes(report: AuditReport, options: AuditOptions) -> list[str]:
    """Say when the engine shrank its window prior (docs/theory.md §3.6 step 2): that happens
    below 10 d_w windows and moves N(X|Y), so the user should know which regime was checked."""
    group = report.groups[0]
    interval, margin = group.inherent_uncertainty_interval, group.inherent_uncertainty_margin
    if interval is None or margin is None:
        return []
    channels = 3 if options.color == "rgb" else 1
    needed = 10 * channels * (options.patch_size + 2 * margin) ** 2
    if interval.n >= needed:
        return []
    return [
        f"the engine fitted its Gaussian prior to {interval.n} windows, fewer than 10 d_w = "
        f"{needed}, so it shrank the prior towards its diagonal (docs/theory.md §3.6 step 2); "
        "more or larger images avoid that regime"
    ]


def run_selfcheck(
    degradation: Mapping[str, Any] | str,
    ground_truth: Sequence[torch.Tensor] | None = None,
    n_images: int = 8,
    size: int = 128,
    seed: int = 0,
    device: str = "cpu",
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    options: Mapping[str, Any] | None = None,
    pixel_std: float = DEFAULT_PIXEL_STD,
    audited_degradation: Mapping[str, Any] | str | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> SelfCheckResult:
    """Check that the engine places the exact Gaussian restorers right for ``degradation``.

    Implements docs/theory.md §3.12 (see the module's docstring for the construction).

    Args:
        degradation: the degradation as ``AuditOptions.degradation`` takes it (a dict) or in
            the command line's short form (``"downsample:4:bicubic"``, ``"noise:0.05"``).
        ground_truth: the client's ground truths, ``(C, H, W)`` or ``(H, W)`` float tensors in
            [0, 1] (C in {1, 3}); their luma spectrum shapes the source. ``None``: the default
            1/f^3 spectrum.
        n_images: synthetic images (pairs per restorer), at least 2 (the bootstrap needs 2).
        size: side of each synthetic image; rounded down to a multiple of the downsampling
            factor (the engine's model of A needs it).
        seed: seed of everything drawn (and of the audit's bootstrap unless ``options`` sets
            one).
        device: where the synthesis and the audit run (``cpu``, ``cuda``, ``auto``...).
        tolerance: relative slack of the ratio checks.
        options: audit options overriding the self-check's defaults (``maps`` off, the
            bootstrap seeded with ``seed``); e.g. ``{"bootstrap": {"resamples": 50}}`` or the
            ``patch_size``, ``color``, ``crop_border`` a real audit would use. Must not set
            ``degradation``.
        pixel_std: pixel standard deviation of the source.
        audited_degradation: the degradation the audit is *told* (default: ``degradation``).
            Only for testing the self-check itself: a mismatch must make it fail.
        progress: the engine's progress callback (pairs done, pairs in all: three per image).
        should_cancel: the engine's cancel check, asked between batches of the audit (the
            service's worker passes its lease keeper's).

    Returns:
        The checks (each with name, expected, measured and whether it holds), the engine's
        report, and how the source was made.

    Raises:
        ValueError: on an invalid degradation, option or size (pydantic's ValidationError
            is a ValueError).
        workers.errors.AuditInputError: when the engine rejects the synthetic pairs (images
            too small for the patch size and border, for instance).
        workers.errors.AuditCancelledError: when ``should_cancel`` said so.
        SelfCheckError: when the synthetic problem cannot be built.
    """
    from workers.engine import PairSource, resolve_device, run_audit

    if n_images < 2:
        raise ValueError(f"expected at least 2 images, got {n_images}")
    if not 0.0 < tolerance < 1.0:
        raise ValueError(f"expected a tolerance in (0, 1), got {tolerance}")
    spec = _normalise(degradation)
    audited = spec if audited_degradation is None else _normalise(audited_degradation)
    overrides = dict(options or {})
    if "degradation" in overrides:
        raise ValueError("the degradation is run_selfcheck's own argument, not an option")
    bootstrap = {"resamples": DEFAULT_RESAMPLES, "seed": seed, **overrides.pop("bootstrap", {})}
    audit_options = AuditOptions.model_validate(
        {"maps": False, **overrides, "bootstrap": bootstrap, "degradation": audited}
    )

    factor = linear_operator(parse_degradation(spec)).factor
    notes: list[str] = []
    side = size // factor * factor
    if side != size:
        notes.append(f"size {size} rounded down to {side}, a multiple of the factor {factor}")
    if side < 16:
        raise ValueError(f"expected a size of at least 16 pixels, got {size}")
    torch_device = resolve_device(device)

    started = time.perf_counter()
    kind: Spectrum
    if ground_truth:
        try:
            profile, kind = fitted_spectrum(_luma(ground_truth)), "fitted"
        except ValueError as error:  # EstimatorInputError too: the images are the problem
            raise AuditInputError(str(error), part="ground_truth") from error
    else:
        profile, kind = default_spectrum(), "default"
    source = StationarySource.from_profile(profile, side, pixel_std, torch_device)
    generator = torch.Generator().manual_seed(seed)
    problem = synthesize(spec, source, n_images, generator)
    audited_grid = linear_operator(parse_degradation(audited)).output_size(side, side)
    with_observations = tuple(problem.observation.shape[-2:]) == audited_grid
    if not with_observations:
        notes.append(
            "the observations do not have the size the audited degradation produces, so the "
            "audit runs without them"
        )
    pairs = []
    for name, restored in problem.restored().items():
        for i in range(n_images):
            pairs.append(
                PairSource(
                    id=f"{name}/{i}",
                    group=name,
                    ground_truth=problem.truth[i].float().cpu(),
                    restored=restored[i].float().cpu(),
                    observation=(
                        problem.observation[i].float().cpu() if with_observations else None
                    ),
                )
            )
    synthesis_seconds = time.perf_counter() - started
    if problem.redrawn:
        notes.append(f"{problem.redrawn} synthetic image(s) left [0, 1] and were redrawn")

    started = time.perf_counter()
    report = run_audit(
        pairs,
        audit_options,
        device=str(torch_device),
        progress=progress,
        should_cancel=should_cancel,
    )
    audit_seconds = time.perf_counter() - started
    info = SelfCheckSource(
        degradation=spec,
        audited_degradation=audited,
        spectrum=kind,
        fitted_images=len(ground_truth or []),
        pixel_std=source.pixel_std,
        size=side,
        canvas=source.canvas,
        n_images=n_images,
        seed=seed,
        noise_variance=problem.noise,
        cg_iterations=problem.posterior.iterations,
        redrawn=problem.redrawn,
    )
    checks = _checks(report, tolerance)
    return SelfCheckResult(
        passed=all(check.holds for check in checks),
        checks=checks,
        report=report,
        notes=[*notes, *_prior_notes(report, audit_options)],
        source=info,
        synthesis_seconds=synthesis_seconds,
        audit_seconds=audit_seconds,
    )


def run_selfcheck_request(
    request: SelfCheckCreate,
    ground_truth: Sequence[torch.Tensor] | None,
    device: str,
    *,
    audited_degradation: Mapping[str, Any] | str | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> SelfCheckResult:
    """:func:`run_selfcheck` with the parameters of a validated request: the one reading of
    ``SelfCheckCreate`` that the service's job and the command line share."""
    return run_selfcheck(
        request.degradation,
        ground_truth,
        request.images,
        request.size,
        request.seed,
        device,
        tolerance=request.tolerance,
        options=request.audit_overrides(),
        audited_degradation=audited_degradation,
        progress=progress,
        should_cancel=should_cancel,
    )
