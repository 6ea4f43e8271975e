"""A stationary Gaussian image source observed through 4x bicubic downsampling.

For such a source the posterior is Gaussian and computable on the whole image, so the
posterior-mean restorer and a posterior sampler are exact: THEORY.md 3.6 says their
uncertainty ratios tend to 1 and 2. Shared by the estimator and engine tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from api_schemas.degradation import QUANTISATION_NOISE_VARIANCE
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
