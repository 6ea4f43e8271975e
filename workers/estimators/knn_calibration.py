"""Nearest-neighbour entropy power and Rényi divergence calibrated against a Gaussian null.

Implements docs/theory.md §3.10 for the estimators of §3.4.2 (Kozachenko-Leonenko entropy power)
and §3.5.2 (Póczos-Schneider Rényi divergence). Raw, both are badly biased at patch
dimensions (entropy power +13 % at d = 16 and +66 % at d = 64 for n = 4000 Gaussian
vectors; the divergence negative on exact Gaussian data whose true divergence is 0.8 to 3.3
nats). The calibration draws, from a seeded CPU ``torch.Generator``, as many vectors of the
Gaussian fitted to the data (same n, k, d) as the data has, runs the same estimator on them,
and adds the difference to the closed-form value of that Gaussian. The bias of the
estimator at this (n, k, d) and covariance shape cancels in the difference; what is left is
the non-Gaussian structure that the estimator does see, reported as ``correction``.

All computations run in float64 on the inputs' device; the draws happen on the CPU and are
moved there afterwards, so one seed gives the same null on every device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from workers.estimators.errors import EstimatorInputError
from workers.estimators.perception import (
    check_sample_pair,
    gaussian_renyi_divergence,
    knn_renyi_divergence,
)
from workers.estimators.uncertainty import _check_k, _check_samples, knn_entropy_power

__all__ = [
    "CalibratedEstimate",
    "calibrated_knn_entropy_power",
    "calibrated_knn_renyi_divergence",
]

_JITTERS = (1e-12, 1e-10, 1e-8)
"""Relative diagonal loads (times the mean variance) tried, in turn, when the sample
covariance fails a float64 Cholesky factorisation (rounding on a nearly singular matrix)."""


@dataclass(frozen=True)
class CalibratedEstimate:
    """A nearest-neighbour estimate calibrated against the Gaussian matched to the data.

    docs/theory.md §3.10. Every field is a float; all but ``raw`` are NaN where there is no
    matched Gaussian (n <= d vectors, or a covariance that no tiny jitter makes positive
    definite).

    Attributes:
        value: the calibrated estimate (entropy power, or divergence in nats).
        raw: the nearest-neighbour estimate on the data, uncalibrated (report it beside).
        null: the same estimator on the draw from the matched Gaussian.
        gaussian: the Gaussian value the calibration starts from (see each function).
        correction: the evidence of non-Gaussian structure. For the entropy power a ratio,
            ``value / gaussian = raw / null`` (1 on Gaussian data; below 1 when the law has
            less entropy than the Gaussian of its covariance). For the divergence a
            difference in nats, ``value - gaussian = raw - null`` (0 on Gaussian data).
    """

    value: float
    raw: float
    null: float
    gaussian: float
    correction: float


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise EstimatorInputError(f"expected seed to be an integer >= 0, got {seed!r}")


def _fit_gaussian(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and sample covariance (divisor n - 1) of float64 ``(n, d)`` rows."""
    mean = x.mean(0)
    centred = x - mean
    return mean, centred.T @ centred / (x.shape[0] - 1)


def _matched_factor(cov: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Cholesky factor of ``cov`` (diagonally loaded by a tiny jitter if rounding makes the
    plain factorisation fail) and the covariance it factors; None when none succeeds."""
    sym = (cov + cov.T) / 2
    chol, info = torch.linalg.cholesky_ex(sym)
    if int(info) == 0:
        return chol, sym
    scale = float(torch.diagonal(sym).mean())
    if not (math.isfinite(scale) and scale > 0):
        return None
    eye = torch.eye(sym.shape[0], dtype=sym.dtype, device=sym.device)
    for jitter in _JITTERS:
        loaded = sym + jitter * scale * eye
        chol, info = torch.linalg.cholesky_ex(loaded)
        if int(info) == 0:
            return chol, loaded
    return None


def _draw(
    mean: torch.Tensor, chol: torch.Tensor, n: int, generator: torch.Generator
) -> torch.Tensor:
    """n vectors of N(mean, chol chol'), drawn on the CPU, coloured on mean's device."""
    z = torch.randn(n, mean.shape[0], generator=generator, dtype=torch.float64)
    return mean + z.to(mean.device) @ chol.T


def _undefined(raw: float) -> CalibratedEstimate:
    return CalibratedEstimate(math.nan, raw, math.nan, math.nan, math.nan)


def calibrated_knn_entropy_power(
    samples: torch.Tensor, k: int = 3, seed: int = 0
) -> CalibratedEstimate:
    """Kozachenko-Leonenko entropy power calibrated against the matched Gaussian.

    Implements docs/theory.md §3.10 for the estimator of §3.4.2, in the entropy (log) domain:
    ``h_cal = h_gauss + (h_knn(data) - h_knn(null))``, that is
    ``value = gaussian * raw / null`` with entropy powers
    ``N = exp(2 h / d) / (2 pi e)``. ``null`` is the estimate on n vectors of
    N(mean, S), S the sample covariance, and ``gaussian = det(S)^(1/d)`` is that Gaussian's
    exact entropy power. ``correction = raw / null = value / gaussian``.

    Why the log domain: the estimator is ``digamma(n) - digamma(k) + log V_d`` plus
    ``d mean(log rho)``, so a rescaling of the data shifts the estimate and the truth by the
    same ``d log c``: its bias is an additive constant in h (a factor in N) fixed by n, k,
    d and the covariance shape, all shared by the null. Subtracting entropy powers instead
    would scale the non-Gaussian correction by that factor (1.65 at d = 64).

    Why the plug-in ``det(S)^(1/d)`` and not the Wishart-corrected form of §3.4.1: the
    null's law is N(mean, S), whose exact entropy power is the plug-in. The estimator sees
    S's sampling error, so ``log raw - log null`` already carries
    ``(log det Sigma - log det S) / d``, whose mean is minus the Wishart bias over d; the
    Wishart-corrected start would count that bias twice. On Gaussian data the value is
    therefore unbiased to first order (measured over 60 draws of n = 4000: mean log error
    -0.0003 at d = 16, -0.005 at d = 64; the Wishart-corrected start gives +0.002, +0.003).

    Limits: the kNN estimator sees only the non-Gaussian structure it resolves at this n.
    On laws of compact support in high d its boundary bias mimics a Gaussian (on the unit
    cube at d = 16, n = 4000, ``correction`` is about 1 although the truth is 0.70 of the
    Gaussian value).

    Args:
        samples: ``(n, d)`` finite floating tensor, n > k (NaN fields unless also n > d).
        k: neighbour rank >= 1 (default 3).
        seed: seed of the CPU generator of the null draw, >= 0.

    Returns:
        CalibratedEstimate with entropy powers (``correction`` a ratio). All fields but
        ``raw`` are NaN when n <= d or when S fails to factorise even with a jitter of 1e-8
        times its mean variance (e.g. constant samples). Otherwise a singular or nearly
        singular S is loaded by the smallest sufficient jitter (from 1e-12 times the mean
        variance), and ``gaussian`` is the loaded Gaussian's entropy power.

    Raises:
        EstimatorInputError: on bad samples, k or seed.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> x = 2.0 * torch.randn(3000, 4, generator=g, dtype=torch.float64)  # N = 4
        >>> est = calibrated_knn_entropy_power(x)
        >>> abs(est.value / 4.0 - 1) < 0.03, math.isclose(est.value, est.gaussian * est.correction)
        (True, True)
    """
    _check_samples(samples, "samples")
    n, d = samples.shape
    _check_k(k, n - 1, "other samples")
    _check_seed(seed)
    x = samples.to(torch.float64)
    raw = float(knn_entropy_power(x, k))
    if n <= d:
        return _undefined(raw)
    mean, cov = _fit_gaussian(x)
    matched = _matched_factor(cov)
    if matched is None:
        return _undefined(raw)
    chol, _ = matched
    generator = torch.Generator(device="cpu").manual_seed(seed)
    null = float(knn_entropy_power(_draw(mean, chol, n, generator), k))
    log_gaussian = 2 * float(torch.log(torch.diagonal(chol)).sum()) / d
    log_correction = _log(raw) - _log(null)
    return CalibratedEstimate(
        value=math.exp(log_gaussian + log_correction),
        raw=raw,
        null=null,
        gaussian=math.exp(log_gaussian),
        correction=math.exp(log_correction),
    )


def _log(value: float) -> float:
    """log that maps 0 (a law with atoms: coinciding samples) to -inf instead of raising."""
    return math.log(value) if value > 0 else -math.inf


def calibrated_knn_renyi_divergence(
    truth: torch.Tensor,
    restored: torch.Tensor,
    order: float = 0.5,
    k: int = 3,
    seed: int = 0,
) -> CalibratedEstimate:
    """Póczos-Schneider Rényi divergence D_alpha(truth, restored) calibrated against Gaussians.

    Implements docs/theory.md §3.10 for the estimator of §3.5.2:
    ``value = gaussian + (raw - null)``, ``correction = raw - null``, with ``raw`` the
    estimate on the data and ``null`` the same estimator on draws (same sizes n and m) from
    N(mu_t, S_t) and N(mu_r, S_r), the Gaussians fitted to truth and restored (sample
    covariances). ``gaussian`` is the closed form of §3.5.1 between the fitted Gaussians,
    less its small-sample bias estimated on the null draw (a one-draw parametric
    bootstrap): ``gaussian = 2 D(fit) - D(fit of the null draws)``.

    Why the bias-corrected start (unlike the entropy power): the plug-in divergence between
    two sample covariances is biased up, by about ``d (d + 1) / 8 (1 / n + 1 / m)`` nats at
    order 1/2 (0.52 at d = 64, n = m = 2000), and the nearest-neighbour estimator resolves
    only part of that fine-scale sampling error, so ``raw - null`` cancels only part of it.
    Measured on two known Gaussians, n = m = 2000, 30 draws: value minus the exact
    divergence averages +0.01 (d = 16, exact 0.78) and +0.40 (d = 64, exact 3.33) from the
    plug-in start; -0.03 and -0.10 from this one (spreads 0.05 and 0.17), which over-corrects
    by the part the estimator sees. Near 0 the value can be slightly negative: clamp it
    before using it as a perception index.

    Args:
        truth: ``(n, d)`` samples of the ground-truth law p, n > k (NaN fields unless n > d).
        restored: ``(m, d)`` samples of the restored law q, m >= k (NaN fields unless m > d);
            moved to truth's device.
        order: alpha in (0, 1); default 1/2.
        k: neighbour rank >= 1; default 3.
        seed: seed of the CPU generator of the null draws, >= 0.

    Returns:
        CalibratedEstimate in nats (``correction`` a difference). All fields but ``raw``
        are NaN if either sample covariance is singular (see
        :func:`calibrated_knn_entropy_power` for the jitter).

    Raises:
        EstimatorInputError: on bad samples, unequal d, order outside (0, 1), bad k or seed.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> p = torch.randn(2000, 2, generator=g, dtype=torch.float64)
        >>> q = torch.randn(2000, 2, generator=g, dtype=torch.float64) + 0.5
        >>> est = calibrated_knn_renyi_divergence(p, q)  # exact: alpha |dm|^2 / 2 = 0.125
        >>> abs(est.value - 0.125) < 0.05, math.isclose(est.value, est.gaussian + est.correction)
        (True, True)
    """
    names = ("truth", "restored")
    counted = ("truth samples", "restored samples")
    n, m, d = check_sample_pair(truth, restored, order, k, names, counted)
    _check_seed(seed)
    p = truth.to(torch.float64)
    q = restored.to(device=p.device, dtype=torch.float64)
    raw = float(knn_renyi_divergence(p, q, order, k))
    if n <= d or m <= d:
        return _undefined(raw)
    mean_p, cov_p = _fit_gaussian(p)
    mean_q, cov_q = _fit_gaussian(q)
    matched_p, matched_q = _matched_factor(cov_p), _matched_factor(cov_q)
    if matched_p is None or matched_q is None:
        return _undefined(raw)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    null_p = _draw(mean_p, matched_p[0], n, generator)
    null_q = _draw(mean_q, matched_q[0], m, generator)
    null = float(knn_renyi_divergence(null_p, null_q, order, k))
    plug_in = float(gaussian_renyi_divergence(mean_p, matched_p[1], mean_q, matched_q[1], order))
    refit = float(gaussian_renyi_divergence(*_fit_gaussian(null_p), *_fit_gaussian(null_q), order))
    gaussian = 2 * plug_in - refit
    correction = raw - null
    return CalibratedEstimate(
        value=gaussian + correction, raw=raw, null=null, gaussian=gaussian, correction=correction
    )
