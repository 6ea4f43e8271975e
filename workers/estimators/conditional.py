"""The conditional perception index of several samples per input (docs/theory.md §3.9).

For one input y, a stochastic restorer's samples of a patch have mean x̄_y and covariance
S (the spread); the Gaussian model's posterior of the patch is N(m_y, B). The conditional
index is the order-1/2 Rényi divergence between the two, averaged over inputs and patch
positions:

``P_cond = (1/4) [ mean(dm' M^-1 dm) - tr(M^-1 S) / K ] + logdet M - (logdet B + logdet~ S) / 2``

with ``dm = x̄_y - m_y``, ``M = (B + S) / 2``, ``logdet~`` the Wishart-corrected log-determinant
(docs/theory.md §3.4) and the ``tr(M^-1 S) / K`` term removing the noise of a K-sample mean.
Since B and S are shared, only the second moment of ``dm`` over inputs and positions is
needed; this module computes it from each input's sample mean and observation, the posterior
mean of every patch coming from its own window's observations (docs/theory.md §3.6).
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional

from workers.estimators.degradation import DegradationOperator
from workers.estimators.errors import EstimatorInputError
from workers.estimators.uncertainty import wishart_logdet_bias

__all__ = ["conditional_perception", "posterior_mean_deviation_moments"]

_ROWS_PER_CHUNK = 32
"""Window rows whose patches are formed at once: bounds memory on large images."""


def posterior_mean_deviation_moments(
    sample_mean: torch.Tensor,
    observation: torch.Tensor,
    operator: DegradationOperator,
    window_mean: torch.Tensor,
    gains: list[torch.Tensor],
    matrices: list[torch.Tensor],
    patch_size: int,
    margin: int,
) -> tuple[torch.Tensor, int]:
    """``(sum dm dm', count)`` over the patch positions whose window lies in the image.

    Implements docs/theory.md §3.9: ``dm = x̄ - m`` with ``m = mu_c + G_phi' (y_w - A_phi mu_w)``
    the Gaussian-model posterior mean of the patch given its window's observations ``y_w``
    (``gains[phi] = (A_phi S A_phi' + s^2 I)^-1 A_phi S_{:, c}``, phases row-major as in
    ``window_matrices``).

    Args:
        sample_mean: ``(C, H, W)`` mean of one input's samples (colour-converted, uncropped).
        observation: ``(C, h, w)`` the input's observation in the same colour space.
        operator: the degradation's linear part.
        window_mean: ``(d_w,)`` prior mean of a window.
        gains: per phase ``(d'_phi, d)``.
        matrices: per phase ``A_phi`` ``(d'_phi, d_w)`` (kron'ed over channels).
        patch_size: ``p``.
        margin: ``m``.

    Returns:
        ``(d, d)`` float64 sum of outer products and the number of positions.
    """
    x = sample_mean.detach().to(torch.float64)
    y = observation.detach().to(torch.float64)
    channels, height, width = x.shape
    f = operator.factor
    window = patch_size + 2 * margin
    if height < window or width < window:
        raise EstimatorInputError(
            f"expected images of at least {window} pixels, got {height}x{width}"
        )
    d = channels * patch_size * patch_size
    total = x.new_zeros(d, d)
    count = 0
    for phase, (gain, matrix) in enumerate(zip(gains, matrices, strict=True)):
        a, b = divmod(phase, f)
        offsets = operator.window_observation_offsets(window, (a, b)).to(x.device)
        if matrix.shape[0] == 0 or offsets.shape[0] * channels != matrix.shape[0]:
            continue
        n_rows = (height - window - a) // f + 1
        n_cols = (width - window - b) // f + 1
        if n_rows <= 0 or n_cols <= 0:
            continue
        projected_mean = matrix.to(x.device) @ window_mean.to(x.device)
        central_mean = window_mean.reshape(channels, window, window)[
            :, margin : margin + patch_size, margin : margin + patch_size
        ].reshape(d)
        cols = torch.arange(n_cols, device=x.device)[:, None] + offsets[None, :, 1]
        for start in range(0, n_rows, _ROWS_PER_CHUNK):
            rows_here = min(_ROWS_PER_CHUNK, n_rows - start)
            rows = (
                torch.arange(start, start + rows_here, device=x.device)[:, None]
                + offsets[None, :, 0]
            )
            # (C, rows, cols, d') -> (rows * cols, C d'), channel-major like kron(I_C, A).
            gathered = y[:, rows[:, None, :], cols[None, :, :]]
            gathered = gathered.permute(1, 2, 0, 3).reshape(rows_here * n_cols, -1)
            means = central_mean + (gathered - projected_mean) @ gain.to(x.device)
            top = a + f * start + margin
            block = x[:, top : top + f * (rows_here - 1) + patch_size, b + margin :]
            patches = functional.unfold(block[None], patch_size, stride=f)[0]  # (d, L)
            grid_cols = (block.shape[-1] - patch_size) // f + 1
            patches = patches.reshape(d, rows_here, grid_cols)[:, :, :n_cols]
            deviation = patches.reshape(d, -1).T - means
            total += deviation.T @ deviation
            count += deviation.shape[0]
    return total, count


def conditional_perception(
    deviation_moment: torch.Tensor,
    posterior_block: torch.Tensor,
    spread: torch.Tensor,
    samples_per_input: float,
    spread_count: float,
) -> float:
    """The conditional index of the module docstring (nats), unclamped.

    Args:
        deviation_moment: ``(d, d)`` mean of ``dm dm'`` over inputs and positions.
        posterior_block: ``(d, d)`` the posterior covariance B (pooled over phases).
        spread: ``(d, d)`` the within-input sample covariance S.
        samples_per_input: K.
        spread_count: the deviation patches behind S, which is their sum of outer products
            over this count (divisor n - 1 of the Wishart correction, so n = count + 1).

    Returns:
        ``P_cond`` as a float; NaN where a matrix is not positive definite.

    Example:
        A calibrated sampler: S = B and dm's second moment B / K give 0 (up to the
        Wishart term, which vanishes as n grows).

        >>> b = torch.eye(2, dtype=torch.float64)
        >>> abs(conditional_perception(b / 4, b, b, 4, 1e9)) < 1e-6
        True
    """
    d = posterior_block.shape[-1]
    m = (posterior_block + spread) / 2
    chol, info = torch.linalg.cholesky_ex(m)
    if int(info) != 0:
        return math.nan
    inverse = torch.cholesky_inverse(chol)
    mean_term = float(torch.trace(inverse @ deviation_moment))
    mean_term -= float(torch.trace(inverse @ spread)) / samples_per_input
    sign_b, logdet_b = torch.linalg.slogdet(posterior_block)
    sign_s, logdet_s = torch.linalg.slogdet(spread)
    if float(sign_b) <= 0 or float(sign_s) <= 0:
        return math.nan
    corrected = float(logdet_s) - float(wishart_logdet_bias(d, spread_count + 1))
    logdet_m = 2.0 * float(torch.log(torch.diagonal(chol)).sum())
    return 0.25 * mean_term + logdet_m - (float(logdet_b) + corrected) / 2
