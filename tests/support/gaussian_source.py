"""A stationary Gaussian image source with exact posterior restorers (test oracle).

For such a source the posterior is Gaussian and computable on the whole image, so the
posterior-mean restorer and a posterior sampler are exact: docs/theory.md 3.6 says their
uncertainty ratios tend to 1 and 2. Shared by the estimator and engine tests.

* :func:`gaussian_super_resolution`: 4x bicubic only, one sample per input (kept as it was).
* :func:`gaussian_problem`: any degradation spec of ``api_schemas.degradation``, K samples per
  input at any scale, and the exact posterior covariance of p x p patches (per phase and
  pooled), i.e. the exact N(X|Y) of docs/theory.md 3.6. Checked against dense closed forms in
  tests/unit/support/test_gaussian_source.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property, wraps
from typing import Any, ParamSpec, TypeVar

import numpy as np
import scipy.fft
import torch

from api_schemas.degradation import QUANTISATION_NOISE_VARIANCE, noise_variance, parse_degradation
from workers.engine.degradation import linear_operator
from workers.estimators.degradation import DegradationOperator, Downsample

SIZE, CANVAS = 128, 192


def spectrum() -> torch.Tensor:
    """Power spectrum (k0^2 + |k|^2)^-1.5 on the canvas torus, pixel variance 0.1^2."""
    freq = torch.fft.fftfreq(CANVAS, dtype=torch.float64)
    power = (freq[:, None] ** 2 + freq[None, :] ** 2 + 0.1**2) ** -1.5
    return power / power.mean() * 0.1**2


def sample(n: int, power: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """``n`` fields of SIZE x SIZE around 0.5 (a crop of a circulant field on the canvas)."""
    white = torch.randn(n, 1, CANVAS, CANVAS, generator=gen, dtype=torch.float64)
    field = torch.fft.ifft2(torch.fft.fft2(white) * power.sqrt()).real
    return 0.5 + field[..., :SIZE, :SIZE]


def prior_apply(v: torch.Tensor, power: torch.Tensor) -> torch.Tensor:
    """Exact prior covariance of the SIZE x SIZE crop applied to v (circulant on the canvas)."""
    big = v.new_zeros(v.shape[0], 1, CANVAS, CANVAS)
    big[..., :SIZE, :SIZE] = v
    return torch.fft.ifft2(torch.fft.fft2(big) * power).real[..., :SIZE, :SIZE]


def posterior_mean(
    y: torch.Tensor, op: DegradationOperator, power: torch.Tensor, noise: float
) -> torch.Tensor:
    """E[x | y] = mu + S A' (A S A' + s^2 I)^-1 (y - A mu), by CG on the whole image."""
    size = (SIZE, SIZE)
    mean = torch.full((y.shape[0], 1, SIZE, SIZE), 0.5, dtype=torch.float64)
    rhs = y - op.apply(mean)

    def system(z: torch.Tensor) -> torch.Tensor:
        return op.apply(prior_apply(op.adjoint(z, size), power)) + noise * z

    z, residual = torch.zeros_like(rhs), rhs.clone()
    direction, rr = residual.clone(), (residual * residual).sum((1, 2, 3), keepdim=True)
    target = 1e-16 * rr
    for _ in range(500):
        q = system(direction)
        alpha = rr / (direction * q).sum((1, 2, 3), keepdim=True)
        z, residual = z + alpha * direction, residual - alpha * q
        rr_new = (residual * residual).sum((1, 2, 3), keepdim=True)
        if bool((rr_new <= target).all()):
            break
        direction, rr = residual + rr_new / rr * direction, rr_new
    else:
        raise RuntimeError("CG did not converge")
    return mean + prior_apply(op.adjoint(z, size), power)


@dataclass(frozen=True)
class GaussianSuperResolution:
    """Truth, observation, posterior mean and a posterior sample, all float64 (B, 1, H, W)."""

    truth: torch.Tensor
    observation: torch.Tensor
    estimate: torch.Tensor
    sample: torch.Tensor
    op: DegradationOperator
    noise: float


def gaussian_super_resolution(n_images: int = 8, seed: int = 0) -> GaussianSuperResolution:
    """4x bicubic super-resolution of the Gaussian source with exact posterior restorers."""
    gen = torch.Generator().manual_seed(seed)
    power = spectrum()
    op = DegradationOperator([Downsample(4, "bicubic")])
    noise = QUANTISATION_NOISE_VARIANCE

    def observe(x: torch.Tensor) -> torch.Tensor:
        y = op.apply(x)
        return y + math.sqrt(noise) * torch.randn(y.shape, generator=gen, dtype=torch.float64)

    truth = sample(n_images, power, gen)
    observation = observe(truth)
    estimate = posterior_mean(observation, op, power, noise)
    # Perturbation trick: x' - E[x' | y'] has the posterior law and is independent of y.
    prior_draw = sample(n_images, power, gen)
    posterior = estimate + prior_draw - posterior_mean(observe(prior_draw), op, power, noise)
    return GaussianSuperResolution(truth, observation, estimate, posterior, op, noise)


# =========================================================================== general builder
#
# The same kind of source (a crop of a circulant Gaussian field) observed through any
# degradation of api_schemas.degradation, with the engine's own operator A
# (linear_operator of the parsed spec) and noise variance s^2 (noise_variance). Every result
# is exact for the cropped field: S is the canvas's circulant covariance restricted to the crop,
# and the posterior is solved on the crop by preconditioned CG. A periodic (Fourier) model enters
# only the preconditioner, which changes the iteration count, never the answer.

_K0 = 0.1
"""Corner frequency of the power spectrum (k0^2 + |k|^2)^-1.5, in cycles per pixel."""
PRIOR_MEAN = 0.5
_MAX_CG_ITERATIONS = 1000
_P = ParamSpec("_P")
_R = TypeVar("_R")


@contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Many small float64 operations: on the shared CPU one torch thread is 2-3x faster."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _single_threaded(function: Callable[_P, _R]) -> Callable[_P, _R]:
    @wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with _one_torch_thread():
            return function(*args, **kwargs)

    return wrapper


def _periodic_filter(v: torch.Tensor, half_spectrum: np.ndarray, period: int) -> torch.Tensor:
    """Embed ``v`` (..., h, w) at the top left of a zero ``period``-torus, multiply by the rfft2
    half spectrum, crop back. scipy's FFT: on the CPU several times faster than torch's irfft2."""
    h, w = v.shape[-2:]
    big = np.zeros((*v.shape[:-2], period, period))
    big[..., :h, :w] = v.numpy()
    out = scipy.fft.irfft2(scipy.fft.rfft2(big) * half_spectrum, s=(period, period))
    return torch.from_numpy(np.ascontiguousarray(out[..., :h, :w]))


@dataclass(frozen=True)
class GaussianPrior:
    """A ``size x size`` crop of a stationary Gaussian field that is periodic on a canvas.

    Mean ``PRIOR_MEAN``, pixel standard deviation ``pixel_std``, power spectrum proportional to
    ``(k0^2 + |k|^2)^-1.5`` (k0 = 0.1 cycles per pixel) on the ``canvas x canvas`` torus, so
    the crop's covariance S is known exactly (:meth:`apply`, :meth:`patch_covariance`).
    """

    size: int
    canvas: int
    pixel_std: float

    def spectrum(self, freq: torch.Tensor) -> torch.Tensor:
        """The canvas's eigenvalue formula evaluated at any frequencies (cycles per pixel)."""
        grid = torch.fft.fftfreq(self.canvas, dtype=torch.float64)
        scale = self.pixel_std**2 / float(((grid[:, None] ** 2 + grid**2 + _K0**2) ** -1.5).mean())
        return scale * (freq[:, None] ** 2 + freq[None, :] ** 2 + _K0**2) ** -1.5

    @cached_property
    def power(self) -> torch.Tensor:
        """Eigenvalues of the canvas covariance as an rfft2 half spectrum; their mean is
        ``pixel_std ** 2``."""
        full = self.spectrum(torch.fft.fftfreq(self.canvas, dtype=torch.float64))
        return full[:, : self.canvas // 2 + 1].contiguous()

    @cached_property
    def _power(self) -> np.ndarray:
        return self.power.numpy()

    def autocovariance(self) -> torch.Tensor:
        """``c[dy, dx] = Cov(x[i, j], x[i + dy, j + dx])``, indices mod canvas: (canvas, canvas)."""
        return torch.fft.irfft2(self.power, s=(self.canvas, self.canvas))

    def sample(self, n: int, gen: torch.Generator) -> torch.Tensor:
        """``n`` prior draws, ``(n, 1, size, size)``."""
        white = torch.randn(n, 1, self.canvas, self.canvas, generator=gen, dtype=torch.float64)
        field = _periodic_filter(white, np.sqrt(self._power), self.canvas)
        return PRIOR_MEAN + field[..., : self.size, : self.size]

    def apply(self, v: torch.Tensor) -> torch.Tensor:
        """S v for ``v`` of shape ``(..., size, size)``: the exact covariance of the crop."""
        return _periodic_filter(v, self._power, self.canvas)

    def patch_covariance(self, p: int) -> torch.Tensor:
        """Prior covariance of any ``p x p`` patch, ``(p^2, p^2)``, row-major pixel order."""
        c = self.autocovariance()
        rows = torch.arange(p).repeat_interleave(p)
        cols = torch.arange(p).repeat(p)
        return c[
            (rows[None, :] - rows[:, None]) % self.canvas,
            (cols[None, :] - cols[:, None]) % self.canvas,
        ]


class _Posterior:
    """Solves with M = A S A' + s^2 I on the crop's observation grid, batched."""

    def __init__(
        self, prior: GaussianPrior, op: DegradationOperator, noise: float, tol: float
    ) -> None:
        self.prior, self.op, self.noise, self.tol = prior, op, noise, tol
        self.size = (prior.size, prior.size)
        self.obs = op.output_size(prior.size, prior.size)
        # The filter of A: a row of A, the adjoint of an observation delta far from the border.
        delta = torch.zeros(1, 1, *self.obs, dtype=torch.float64)
        delta[..., self.obs[0] // 2, self.obs[1] // 2] = 1.0
        self._row = op.adjoint(delta, self.size)[0, 0]
        if op.factor == 1:
            self._period = 2 * prior.size  # blur / identity: half-sample symmetric borders
        else:
            self._period = prior.canvas // op.factor  # downsampling: a periodic observation grid
        self._inverse_symbol = self._symbol()

    def _symbol(self) -> np.ndarray:
        """1 / (symbol of the periodic analogue of M + s^2), an rfft2 half spectrum.

        Factor 1: the blur's squared response times the prior's spectrum on the 2n torus of the
        image's symmetric extension (a DCT preconditioner; the engine's blur reflects at the
        borders, so the zero-padded torus converges 5-40x slower). Factor f: on the canvas,
        folded onto the canvas / f observation torus (aliasing).
        """
        f = self.op.factor
        n = self._period * f
        big = torch.zeros(n, n, dtype=torch.float64)
        big[: self.size[0], : self.size[1]] = self._row
        full = self.prior.spectrum(torch.fft.fftfreq(n, dtype=torch.float64))
        full = full * torch.fft.fft2(big).abs() ** 2
        m = self._period
        inverse = (1.0 / (full.reshape(f, m, f, m).sum((0, 2)) / f**2 + self.noise)).numpy()
        if f == 1:  # the 2n-torus symbol at the DCT-II frequencies k / 2n, k < n
            return inverse[: self.size[0], : self.size[1]].copy()
        return inverse[:, : m // 2 + 1].copy()

    def _precondition(self, r: torch.Tensor) -> torch.Tensor:
        if self.op.factor == 1:
            # (1/4) R' C^-1 R with R the symmetric extension n -> 2n per axis = DCT-II' D DCT-II
            spectrum = scipy.fft.dctn(r.numpy(), type=2, axes=(-2, -1), norm="ortho")
            out = scipy.fft.idctn(
                spectrum * self._inverse_symbol, type=2, axes=(-2, -1), norm="ortho"
            )
            return torch.from_numpy(out)
        return _periodic_filter(r, self._inverse_symbol, self._period)  # E' C^-1 E, zero padded

    def system(self, z: torch.Tensor) -> torch.Tensor:
        """M z = A S A' z + s^2 z."""
        return self.op.apply(self.prior.apply(self.op.adjoint(z, self.size))) + self.noise * z

    def solve(self, rhs: torch.Tensor) -> torch.Tensor:
        """M^-1 rhs by preconditioned CG, each item until ``|rhs - M z| <= tol |rhs|``."""

        def dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return (a * b).sum((1, 2, 3), keepdim=True)

        z, residual = torch.zeros_like(rhs), rhs.clone()
        target = self.tol**2 * dot(rhs, rhs)
        precond = self._precondition(residual)
        direction, rz = precond, dot(residual, precond)
        for _ in range(_MAX_CG_ITERATIONS):
            active = dot(residual, residual) > target
            if not bool(active.any()):
                return z
            q = self.system(direction)
            alpha = torch.where(active, rz / dot(direction, q), torch.zeros_like(rz))
            z, residual = z + alpha * direction, residual - alpha * q
            precond = self._precondition(residual)
            rz_new = dot(residual, precond)
            beta = torch.where(active, rz_new / rz, torch.zeros_like(rz))
            direction, rz = precond + beta * direction, torch.where(active, rz_new, rz)
        raise RuntimeError(f"CG did not reach {self.tol:g} in {_MAX_CG_ITERATIONS} iterations")

    def mean(self, y: torch.Tensor) -> torch.Tensor:
        """E[x | y] = mu + S A' M^-1 (y - A mu) for ``(B, 1, h, w)`` observations."""
        mu = torch.full((y.shape[0], 1, *self.size), PRIOR_MEAN, dtype=torch.float64)
        z = self.solve(y - self.op.apply(mu))
        return mu + self.prior.apply(self.op.adjoint(z, self.size))

    def block_covariance(self, top: int, left: int, side: int) -> torch.Tensor:
        """Posterior covariance of the ``side x side`` block at (top, left), row-major.

        Columns ``S e_i - S A' M^-1 A S e_i`` for the block's unit vectors e_i.
        """
        d = side * side
        basis = torch.zeros(d, 1, *self.size, dtype=torch.float64)
        pixels = torch.arange(d)
        basis[pixels, 0, top + pixels // side, left + pixels % side] = 1.0
        columns = self.prior.apply(basis)
        columns = columns - self.prior.apply(
            self.op.adjoint(self.solve(self.op.apply(columns)), self.size)
        )
        block = columns[..., top : top + side, left : left + side].reshape(d, d)
        return (block + block.T) / 2  # symmetric up to the CG tolerance


def entropy_power(covariance: torch.Tensor) -> float:
    """``det(C)^(1/d)``: the entropy power N of a Gaussian with covariance C (docs/theory.md 1)."""
    sign, logdet = torch.linalg.slogdet(covariance)
    if float(sign) <= 0:
        raise ValueError("expected a positive definite covariance")
    return math.exp(float(logdet) / covariance.shape[-1])


@dataclass(frozen=True)
class GaussianProblem:
    """An exact Gaussian restoration problem under one degradation, all float64 on the CPU.

    ``truth`` and ``posterior_mean`` are ``(B, 1, H, W)``; ``observation`` is ``(B, 1, h, w)``
    with ``(h, w) = op.output_size(H, W)`` (``(H, W)`` without downsampling), not clipped or
    rounded; ``samples`` is ``(B, K, 1, H, W)``, ``samples[:, k] = posterior_mean +
    sample_scale * W_k`` with W_k independent exact posterior draws (K may be 0). ``spec`` is
    the normalised JSON form that ``AuditOptions.degradation`` holds, ``op`` is
    ``linear_operator(parse_degradation(spec))`` and ``noise`` is ``noise_variance(spec)`` (s^2).
    No covariance here includes the 2Q I of 8-bit rounding (docs/theory.md 3.6).
    """

    spec: dict[str, Any]
    op: DegradationOperator
    noise: float
    prior: GaussianPrior
    truth: torch.Tensor
    observation: torch.Tensor
    posterior_mean: torch.Tensor
    samples: torch.Tensor
    sample_scale: float
    tol: float

    @cached_property
    def _posterior(self) -> _Posterior:
        return _Posterior(self.prior, self.op, self.noise, self.tol)

    @_single_threaded
    def posterior_mean_for(self, observation: torch.Tensor) -> torch.Tensor:
        """E[x | y] for other ``(B, 1, h, w)`` observations (e.g. rounded to 8 bits)."""
        return self._posterior.mean(observation.to(torch.float64))

    @_single_threaded
    def posterior_patch_covariance(self, p: int, top: int, left: int) -> torch.Tensor:
        """Exact covariance ``(p^2, p^2)`` of the p x p patch at (top, left) given all of y.

        Row-major pixel order (as ``torch.nn.functional.unfold``); the same for every y.
        """
        self._check_patch(p, top, left, 0)
        return self._posterior.block_covariance(top, left, p)

    @_single_threaded
    def phase_patch_covariances(self, p: int, top: int, left: int) -> torch.Tensor:
        """The patch posteriors B_phi at (top + a, left + b), a, b in [0, f): ``(f^2, p^2, p^2)``,
        phases row-major. One CG batch on the (p + f - 1)^2 block holding them all."""
        f = self.op.factor
        self._check_patch(p, top, left, f - 1)
        side = p + f - 1
        block = self._posterior.block_covariance(top, left, side).reshape(side, side, side, side)
        return torch.stack(
            [
                block[a : a + p, b : b + p, a : a + p, b : b + p].reshape(p * p, p * p)
                for a in range(f)
                for b in range(f)
            ]
        )

    def central_patch_position(self, p: int) -> int:
        """Row (= column) of the central phase-0 patch: a multiple of f, far from the borders."""
        f = self.op.factor
        return (self.prior.size - p - f + 1) // 2 // f * f

    def pooled_posterior_patch_covariance(
        self, p: int, top: int | None = None, left: int | None = None
    ) -> torch.Tensor:
        """B-bar of docs/theory.md 3.6: the mean over the f x f phases of the patch posterior,
        the phase-0 patch at (top, left) (default :meth:`central_patch_position`)."""
        centre = self.central_patch_position(p)
        top = centre if top is None else top
        left = centre if left is None else left
        return self.phase_patch_covariances(p, top, left).mean(0)

    def inherent_uncertainty(self, p: int) -> tuple[float, float]:
        """Exact N(X|Y) of central p x p patches, ``(pooled, per_phase)`` (docs/theory.md 3.6).

        Step 4 of docs/theory.md 3.6:

        ``pooled`` = det(B-bar)^(1/d); ``per_phase`` = the geometric mean over phases of
        det(B_phi)^(1/d). Neither includes 2Q I.
        """
        centre = self.central_patch_position(p)
        phases = self.phase_patch_covariances(p, centre, centre)
        per_phase = math.exp(sum(math.log(entropy_power(b)) for b in phases) / len(phases))
        return entropy_power(phases.mean(0)), per_phase

    def _check_patch(self, p: int, top: int, left: int, extra: int) -> None:
        if not (p >= 1 and min(top, left) >= 0 and max(top, left) + p + extra <= self.prior.size):
            raise ValueError(
                f"expected the patches inside the {self.prior.size}-pixel image, got p={p} at "
                f"({top}, {left}) with {extra} more pixels of phases"
            )


@_single_threaded
def gaussian_problem(
    degradation: dict[str, Any],
    n_images: int = 8,
    samples_per_input: int = 0,
    sample_scale: float = 1.0,
    seed: int = 0,
    size: int = 128,
    pixel_std: float = 0.08,
    tol: float = 1e-10,
) -> GaussianProblem:
    """The Gaussian source observed through ``degradation``, with exact posterior restorers.

    Args:
        degradation: a degradation in the JSON form ``AuditOptions(degradation=...)`` accepts,
            e.g. ``{"type": "noise", "sigma": 0.05}`` or ``{"type": "composite", "steps":
            [{"type": "blur", "sigma": 1.5}, {"type": "noise", "sigma": 0.01}]}``. Without a
            noise step s^2 is the quantisation floor 1 / (12 * 255^2), as in the engine.
        n_images: B.
        samples_per_input: K posterior samples per observation (0: none).
        sample_scale: c in ``posterior_mean + c * W``; 1 is an exact posterior sampler.
        seed: everything is drawn, in a fixed order, from one generator seeded with it.
        size: image side H = W. With downsampling, take a multiple of the factor: Pillow's
            scale is ``size / (size // f)``, so A commutes with shifts by f only then.
        pixel_std: prior standard deviation per pixel (mean 0.5). The default 0.08 keeps a
            posterior sample's pixels (prior law) 6.25 sigma from 0 and 1, and the observation
            under noise 0.05 at 5.3 sigma: at 0.1, 8 images with 8 samples leave [0, 1] for
            about half the seeds.
        tol: relative residual of every CG solve (1e-10: the posterior mean is exact to
            about 1e-9 of its deviation from 0.5; see the unit tests).

    Raises:
        ValueError: if the truth, the observation, the posterior mean or a sample leaves [0, 1].
    """
    spec: dict[str, Any] = parse_degradation(degradation).model_dump(mode="json")
    op = linear_operator(parse_degradation(spec))
    noise = noise_variance(parse_degradation(spec))
    f = op.factor
    prior = GaussianPrior(size, f * math.ceil(1.5 * size / f), pixel_std)
    posterior = _Posterior(prior, op, noise, tol)
    gen = torch.Generator().manual_seed(seed)

    def observe(x: torch.Tensor) -> torch.Tensor:
        y = op.apply(x)
        return y + math.sqrt(noise) * torch.randn(y.shape, generator=gen, dtype=torch.float64)

    truth = prior.sample(n_images, gen)
    observation = observe(truth)
    # Matheron (perturbation): x' - E[x' | y'] for a fresh prior draw x' and fresh noise in y'
    # is an exact posterior draw, independent of y. One batched solve for all the means.
    prior_draws = prior.sample(n_images * samples_per_input, gen)
    means = posterior.mean(torch.cat([observation, observe(prior_draws)]))
    estimate = means[:n_images]
    draws = prior_draws - means[n_images:]
    draws = draws.reshape(n_images, samples_per_input, 1, size, size)
    samples = estimate[:, None] + sample_scale * draws
    for name, images in (
        ("truth", truth),
        ("observation", observation),
        ("posterior_mean", estimate),
        ("samples", samples),
    ):
        if images.numel() and not (float(images.min()) >= 0.0 and float(images.max()) <= 1.0):
            raise ValueError(
                f"the Gaussian source's {name} left [0, 1] (from {float(images.min()):.4f} to "
                f"{float(images.max()):.4f}) for {spec}, seed={seed}, pixel_std={pixel_std}, "
                f"sample_scale={sample_scale}: pick another seed or a smaller pixel_std"
            )
    return GaussianProblem(
        spec, op, noise, prior, truth, observation, estimate, samples, sample_scale, tol
    )
