"""Inherent uncertainty N(X|Y) of a p x p patch when the degradation is known (docs/theory.md §3.6).

The recipe of §3.6, with the choices this module makes:

1. **Windows.** Windows of ``w = p + 2m`` pixels are cut from the ground truth at a
   ``window_stride``. Windows are ``d_w = C w^2``-dimensional and their outer products are the
   cost (``n d_w^2``), while neighbouring windows are nearly redundant, so by default the
   stride is the smallest one >= 2 that keeps at most ``max_windows`` (50 000) windows over
   the batch. The prior does not depend on the sampling phase of a window (the ground truth
   is not phase-locked to the observation grid), so a stride that is a multiple of the
   factor is harmless here, unlike for the patch statistics of §3.3. ``A_w`` keeps
   the observations that depend only on pixels inside the window
   (:meth:`DegradationOperator.matrix_for_window`).
2. **Prior.** The Gaussian prior (mean, covariance ``S_w``) is the sample moment of the windows
   over the whole batch. With fewer than ``10 d_w`` windows it is shrunk towards its diagonal,
   ``S = (1 - lam) S_w + lam diag(S_w)``, with the Schäfer-Strimmer (2005, "target D")
   estimate of the optimal intensity ``lam = sum_{i != j} Var(s_ij) / sum_{i != j} s_ij^2``,
   clipped to [0, 1]; ``lam`` is reported.
3. **Posterior.** ``S_post = S - S A' (A S A' + s^2 I)^-1 A S`` by a Cholesky solve in float64,
   and ``B`` its central ``p x p`` block (per channel; channels share ``A``).

**Phases.** A downsampling by ``f`` commutes only with shifts by ``f``, so a patch's posterior
covariance ``B_phi`` depends on its position modulo ``f`` (``f**2`` phases). §3.4 pools error
patches at every position (stride 1), i.e. it measures the covariance of the pooled errors,
``mean_phi B_phi``. This module therefore returns ``N(X|Y) = det(mean_phi B_phi)^(1/d)``, the
entropy power of the Gaussian matched to the pooled posterior error of a patch at a uniformly
random position: the value that a posterior-mean restorer's ``U_gauss`` converges to (ratio 1)
and a posterior sampler's to twice that (ratio 2). Without downsampling there is one phase.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch.nn import functional

from workers.estimators._checks import check_images, check_min_size, check_positive
from workers.estimators.degradation import DegradationOperator
from workers.estimators.errors import EstimatorInputError

__all__ = [
    "InherentUncertainty",
    "PosteriorSums",
    "WindowMoments",
    "block_entropy_powers",
    "inherent_uncertainty",
    "inherent_uncertainty_from_prior",
    "posterior_blocks",
    "posterior_blocks_from_sums",
    "posterior_gains",
    "posterior_patch_covariance",
    "posterior_sums",
    "prior_patch_block",
    "shrinkage_intensity",
    "window_matrices",
    "window_moments",
    "window_stride",
]


class InherentUncertainty(NamedTuple):
    """Result of :func:`inherent_uncertainty`.

    Attributes:
        value: ``N(X|Y)``, the entropy power of a patch's posterior (float).
        margin: the margin ``m`` used, in pixels.
        n_windows: number of ground-truth windows the prior was fitted to.
        shrinkage: the intensity ``lam`` of the shrinkage towards the diagonal (0 when none).
    """

    value: float
    margin: int
    n_windows: int
    shrinkage: float


def _window_moments(windows: torch.Tensor, shrink: bool) -> tuple[torch.Tensor, float]:
    """Covariance of ``(n, d)`` windows and its Schäfer-Strimmer shrinkage to the diagonal."""
    n = windows.shape[0]
    centred = windows - windows.mean(dim=0, keepdim=True)
    cov = centred.T @ centred / (n - 1)
    if not shrink:
        return cov, 0.0
    products = centred.square()
    # sum_k w_kij^2 with w_kij = c_ki c_kj; Var(s_ij) = n / (n-1)^3 * sum_k (w_kij - mean_ij)^2
    second = products.T @ products
    mean = cov * (n - 1) / n
    variance = (second - n * mean.square()) * n / (n - 1) ** 3
    off = ~torch.eye(cov.shape[0], dtype=torch.bool, device=cov.device)
    denominator = cov[off].square().sum()
    lam = 1.0 if float(denominator) == 0 else float(variance[off].sum() / denominator)
    lam = min(max(lam, 0.0), 1.0)
    shrunk = (1.0 - lam) * cov + lam * torch.diag(torch.diagonal(cov))
    return shrunk, lam


def _central_indices(patch_size: int, margin: int, channels: int) -> torch.Tensor:
    window = patch_size + 2 * margin
    rows = torch.arange(margin, margin + patch_size)
    single = (rows[:, None] * window + rows[None, :]).flatten()
    return torch.cat([c * window * window + single for c in range(channels)])


def posterior_patch_covariance(
    prior_cov: torch.Tensor,
    window_matrix: torch.Tensor,
    noise_variance: float,
    central: torch.Tensor,
) -> torch.Tensor:
    """Central block of ``S - S A' (A S A' + s^2 I)^-1 A S`` (docs/theory.md §3.6 step 3).

    Args:
        prior_cov: ``(d_w, d_w)`` float64 prior covariance of the window.
        window_matrix: ``(d'_w, d_w)`` float64 observation matrix ``A``.
        noise_variance: ``s^2 > 0``.
        central: ``(d,)`` indices of the patch inside the window.

    Returns:
        ``(d, d)`` posterior covariance of the patch.

    Example:
        One pixel, prior variance 1, observed directly with noise 0.25: 1 * 0.25 / 1.25.

        >>> one = torch.ones(1, 1, dtype=torch.float64)
        >>> round(posterior_patch_covariance(one, one, 0.25, torch.tensor([0])).item(), 12)
        0.2
    """
    central = central.to(prior_cov.device)
    if window_matrix.shape[0] == 0:
        return prior_cov[central][:, central]
    gain = window_matrix @ prior_cov[:, central]  # A S_{:, c}
    system = window_matrix @ prior_cov @ window_matrix.T
    system = system + noise_variance * torch.eye(
        system.shape[0], dtype=system.dtype, device=system.device
    )
    factor = torch.linalg.cholesky(system)
    solved = torch.cholesky_solve(gain, factor)
    return prior_cov[central][:, central] - gain.T @ solved


def window_stride(
    shape: tuple[int, ...], window: int, window_stride: int | None = None, max_windows: int = 50_000
) -> int:
    """Stride of the prior's windows over ``(B, C, H, W)`` images (module docstring, item 1):
    ``window_stride`` when given, else the smallest stride >= 2 giving at most
    ``max_windows`` windows over the batch."""
    return _stride_for(shape, window, window_stride, max_windows)


def _stride_for(
    shape: tuple[int, ...], window: int, window_stride: int | None, max_windows: int
) -> int:
    height, width = shape[-2:]
    if window_stride is not None:
        return window_stride
    stride = 2
    while (
        stride < window
        and shape[0] * (((height - window) // stride + 1) * ((width - window) // stride + 1))
        > max_windows
    ):
        stride += 1
    return stride


def _fit_prior(images: torch.Tensor, window: int, stride: int) -> tuple[torch.Tensor, int, float]:
    """Window prior covariance, accumulated image by image; shrunk if windows are few."""
    batch, channels, height, width = images.shape
    per_image = ((height - window) // stride + 1) * ((width - window) // stride + 1)
    n, d_w = batch * per_image, channels * window * window
    if n < 2:
        raise EstimatorInputError(f"expected at least 2 windows, got {n}")

    def windows_of(chunk: torch.Tensor) -> torch.Tensor:
        unfolded = functional.unfold(chunk, window, stride=stride)  # (b, C w^2, L)
        return unfolded.transpose(1, 2).reshape(-1, d_w)

    if n < 10 * d_w:  # few windows (n d_w < 10 d_w^2 values): all at once, with shrinkage
        cov, lam = _window_moments(windows_of(images), shrink=True)
        return cov, n, lam
    # Many windows: sums of outer products image by image, around a per-channel shift that
    # keeps the float64 sums well conditioned.
    shift = images.mean(dim=(0, 2, 3)).repeat_interleave(window * window)
    total = images.new_zeros(d_w)
    outer = images.new_zeros(d_w, d_w)
    for index in range(batch):
        block = windows_of(images[index : index + 1]) - shift
        total += block.sum(dim=0)
        outer += block.T @ block
    mean = total / n
    cov = (outer - n * torch.outer(mean, mean)) / (n - 1)
    return (cov + cov.T) / 2, n, 0.0


def inherent_uncertainty(
    ground_truth: torch.Tensor,
    operator: DegradationOperator,
    noise_variance: float,
    patch_size: int = 8,
    margin: int = 8,
    window_stride: int | None = None,
    max_windows: int = 50_000,
) -> InherentUncertainty:
    """Entropy power N(X|Y) of the posterior of one patch given all the observations.

    Implements docs/theory.md §3.6 (steps 1-3; see the module docstring for the window stride, the
    shrinkage rule and the pooling over sampling phases):

    ``N(X|Y) = det(mean_phi B_phi)^(1/d)``, ``B_phi`` the central ``p x p`` block of
    ``S_w - S_w A' (A S_w A' + s^2 I)^-1 A S_w`` for the window matrix ``A`` of phase ``phi``,
    ``d = C p^2``. Computed in float64 on the device of ``ground_truth``; the result is a
    Python float.

    Args:
        ground_truth: ``(B, C, H, W)`` floating images in [0, 1], at least ``p + 2m`` pixels
            on each side; the prior is fitted to their windows.
        operator: the linear part ``H`` of the degradation.
        noise_variance: ``s^2 > 0`` (``api_schemas.degradation.noise_variance``).
        patch_size: ``p >= 1``.
        margin: ``m >= 0``, pixels around the patch; should cover the support of one
            observation (for example 8 for 4x bicubic; the ratio of a posterior-mean restorer
            on a Gaussian source came out 0.94, 0.98 and 0.99 at m = 8, 10 and 12).
        window_stride: stride of the windows the prior is fitted to; default: the smallest
            stride >= 2 giving at most ``max_windows`` windows.
        max_windows: cap on the number of windows when the stride is chosen automatically.

    Returns:
        :class:`InherentUncertainty` ``(value, margin, n_windows, shrinkage)``.

    Raises:
        EstimatorInputError: on invalid images, a non-positive ``noise_variance``, a
            ``patch_size`` below 1, a negative ``margin``, a ``window_stride`` or
            ``max_windows`` below 1, images smaller than one window, or fewer than 2 windows.

    Example:
        Identity operator, ground truth with 2 x 2 patches of independent pixels of variance
        ``v``: each pixel's posterior variance is ``v s^2 / (v + s^2)``.

        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(64, 1, 2, 2, generator=g, dtype=torch.float64)
        >>> v = x.var().item()
        >>> result = inherent_uncertainty(x, DegradationOperator([]), 1.0, patch_size=2, margin=0)
        >>> abs(result.value - v / (v + 1.0)) < 0.05
        True
    """
    check_images(ground_truth, "ground_truth")
    check_positive(noise_variance, "noise_variance")
    if not (isinstance(patch_size, int) and patch_size >= 1):
        raise EstimatorInputError(f"expected patch_size >= 1, got {patch_size!r}")
    if not (isinstance(margin, int) and margin >= 0):
        raise EstimatorInputError(f"expected margin >= 0, got {margin!r}")
    if window_stride is not None and not (isinstance(window_stride, int) and window_stride >= 1):
        raise EstimatorInputError(f"expected window_stride >= 1, got {window_stride!r}")
    if not (isinstance(max_windows, int) and max_windows >= 1):
        raise EstimatorInputError(f"expected max_windows >= 1, got {max_windows!r}")
    window = patch_size + 2 * margin
    check_min_size(ground_truth, window, "the inherent-uncertainty windows")
    images = ground_truth.detach().to(torch.float64)
    stride = _stride_for(tuple(images.shape), window, window_stride, max_windows)
    prior_cov, n_windows, lam = _fit_prior(images, window, stride)
    value = inherent_uncertainty_from_prior(
        prior_cov, operator, noise_variance, patch_size, margin, images.shape[1]
    )
    return InherentUncertainty(value, margin, n_windows, lam)


@dataclass(frozen=True)
class WindowMoments:
    """Per-image sums of the prior's windows (docs/theory.md §3.6 step 2), so the prior can be
    refitted under any weighting of the images, e.g. a bootstrap resample of pairs.

    Attributes:
        count: ``(J,)`` windows per image.
        total: ``(J, d_w)`` sums of ``window - shift``.
        outer: ``(J, d_w, d_w)`` sums of outer products of ``window - shift``.
        shift: ``(d_w,)`` per-channel mean of the images, subtracted so the float64 sums stay
            well conditioned.
    """

    count: torch.Tensor
    total: torch.Tensor
    outer: torch.Tensor
    shift: torch.Tensor

    def covariance(self, weights: torch.Tensor | None = None) -> torch.Tensor:
        """Sample covariance (divisor n - 1) of the windows, images weighted by ``weights``.

        ``weights``: ``(R, J)`` non-negative image weights (``None``: every image once).
        Returns ``(d_w, d_w)`` without weights, else ``(R, d_w, d_w)``; a row whose weighted
        window count is below 2 is NaN.
        """
        rows = (
            torch.ones(1, self.count.shape[0], dtype=torch.float64, device=self.count.device)
            if weights is None
            else weights.to(torch.float64)
        )
        n = rows @ self.count
        mean = (rows @ self.total) / n[:, None]
        outer = torch.einsum("rj,jab->rab", rows, self.outer)
        cov = (outer - n[:, None, None] * mean[:, :, None] * mean[:, None, :]) / (
            n[:, None, None] - 1
        )
        cov = (cov + cov.mT) / 2
        cov = torch.where((n >= 2)[:, None, None], cov, torch.full_like(cov, math.nan))
        return cov[0] if weights is None else cov


def window_moments(images: torch.Tensor, window: int, stride: int) -> WindowMoments:
    """Per-image window sums of ``(J, C, H, W)`` images (docs/theory.md §3.6 steps 1-2).

    Windows are ``window`` pixels square at ``stride``, flattened in (channel, row, column)
    order; sums are float64 around the images' per-channel mean.

    Raises:
        EstimatorInputError: on invalid images, images smaller than a window, or a stride
            below 1.

    Example:
        >>> x = torch.arange(16.0, dtype=torch.float64).reshape(1, 1, 4, 4)
        >>> m = window_moments(x, 2, 2)
        >>> m.count.tolist(), tuple(m.outer.shape)
        ([4.0], (1, 4, 4))
    """
    check_images(images, "images")
    check_min_size(images, window, "the inherent-uncertainty windows")
    if not (isinstance(stride, int) and stride >= 1):
        raise EstimatorInputError(f"expected stride >= 1, got {stride!r}")
    data = images.detach().to(torch.float64)
    batch, channels = data.shape[:2]
    d_w = channels * window * window
    shift = data.mean(dim=(0, 2, 3)).repeat_interleave(window * window)
    counts, totals, outers = [], [], []
    for index in range(batch):
        block = functional.unfold(data[index : index + 1], window, stride=stride)
        block = block.transpose(1, 2).reshape(-1, d_w) - shift
        counts.append(float(block.shape[0]))
        totals.append(block.sum(dim=0))
        outers.append(block.T @ block)
    return WindowMoments(
        count=torch.tensor(counts, dtype=torch.float64, device=data.device),
        total=torch.stack(totals),
        outer=torch.stack(outers),
        shift=shift,
    )


def shrinkage_intensity(images: torch.Tensor, window: int, stride: int) -> float:
    """Schäfer-Strimmer intensity of the shrinkage towards the diagonal (module docstring,
    item 2), from every window of the images; 0 when there are at least ``10 d_w`` windows."""
    data = images.detach().to(torch.float64)
    d_w = data.shape[1] * window * window
    windows = functional.unfold(data, window, stride=stride).transpose(1, 2).reshape(-1, d_w)
    if windows.shape[0] >= 10 * d_w:
        return 0.0
    return _window_moments(windows, shrink=True)[1]


def shrink(cov: torch.Tensor, lam: float) -> torch.Tensor:
    """``(1 - lam) S + lam diag(S)`` on ``(..., d_w, d_w)`` covariances."""
    if lam == 0.0:
        return cov
    return (1.0 - lam) * cov + lam * torch.diag_embed(torch.diagonal(cov, dim1=-2, dim2=-1))


def prior_patch_block(
    prior_cov: torch.Tensor, patch_size: int, margin: int, channels: int = 1
) -> torch.Tensor:
    """The prior covariance ``S`` of the central ``p x p`` patch of a window, ``(..., d, d)``."""
    central = _central_indices(patch_size, margin, channels).to(prior_cov.device)
    return prior_cov[..., central[:, None], central[None, :]]


def posterior_blocks(
    prior_cov: torch.Tensor,
    matrices: list[torch.Tensor],
    noise_variance: float,
    *,
    patch_size: int,
    margin: int,
    channels: int = 1,
) -> torch.Tensor:
    """Central posterior blocks ``B_phi`` for every sampling phase (docs/theory.md §3.6 step 3).

    ``B_phi`` is the central ``p x p`` block of ``S - S A_phi' (A_phi S A_phi' + s^2 I)^-1
    A_phi S``, for the ``factor**2`` phases of the window, batched over leading dimensions of
    ``prior_cov`` (one row per bootstrap resample). Float64.

    Args:
        prior_cov: ``(..., d_w, d_w)`` window prior covariances.
        matrices: ``A_phi`` of every sampling phase (:func:`window_matrices`).
        noise_variance: ``s^2 > 0``.
        patch_size: ``p``.
        margin: ``m``.
        channels: ``C``.

    Returns:
        ``(..., phases, d, d)``; NaN blocks where a system is not positive definite.

    Example:
        >>> one = torch.ones(1, 1, dtype=torch.float64)
        >>> direct = window_matrices(DegradationOperator([]), 1)
        >>> round(posterior_blocks(one, direct, 0.25, patch_size=1, margin=0).item(), 12)
        0.2
    """
    check_positive(noise_variance, "noise_variance")
    prior = prior_cov.detach().to(torch.float64)
    central = _central_indices(patch_size, margin, channels).to(prior.device)
    prior_block = prior[..., central[:, None], central[None, :]]
    blocks = []
    for phase_matrix in matrices:
        if phase_matrix.shape[0] == 0:  # nothing observed at this phase: the prior
            blocks.append(prior_block)
            continue
        matrix = phase_matrix.to(prior.device)
        projected = prior @ matrix.T  # S A'
        gain = projected[..., central, :].mT  # A S_{:, c}
        system = matrix @ projected
        system = (system + system.mT) / 2 + noise_variance * torch.eye(
            system.shape[-1], dtype=system.dtype, device=system.device
        )
        factor_l, info = torch.linalg.cholesky_ex(system)
        solved = torch.cholesky_solve(gain, factor_l)
        block = prior_block - gain.mT @ solved
        bad = (info != 0)[..., None, None]
        blocks.append(torch.where(bad, torch.full_like(block, math.nan), block))
    return torch.stack(blocks, dim=-3)


@dataclass(frozen=True)
class PosteriorSums:
    """Per-image window sums already projected on the degradation's observations.

    The posterior of docs/theory.md §3.6 step 3 needs the prior only through ``A_phi S A_phi'``,
    ``A_phi S_{:, c}`` and ``S_cc`` (``c``: the central patch), all linear in the window
    sums. Keeping those projections per image, instead of the ``d_w x d_w`` sums, lets every
    bootstrap resample refit the prior and its posterior for the cost of a few small weighted
    sums and Cholesky factorisations, and keeps memory at ``J (sum_phi d'_phi^2 + ...)``.
    Coordinates are shifted by ``shift`` (per-channel means) for float64 conditioning.

    Attributes:
        count: ``(J,)`` windows per image.
        total: ``(J, d_w)`` sums of shifted windows.
        square: ``(J, d_w)`` sums of their squares (the diagonal, for the shrinkage).
        central: ``(J, d, d)`` sums of outer products of the central patch.
        observed: per phase ``(J, d'_phi, d'_phi)`` sums of outer products of ``A_phi w``.
        cross: per phase ``(J, d'_phi, d)`` sums of ``(A_phi w) w_c'``.
        matrices: per phase ``A_phi`` as ``(d'_phi, d_w)`` float64.
        central_index: ``(d,)`` indices of the central patch in the window.
    """

    count: torch.Tensor
    total: torch.Tensor
    square: torch.Tensor
    central: torch.Tensor
    observed: list[torch.Tensor]
    cross: list[torch.Tensor]
    matrices: list[torch.Tensor]
    central_index: torch.Tensor
    shift: torch.Tensor | None = None
    """``(d_w,)`` the per-channel means subtracted before summing."""


def window_matrices(
    operator: DegradationOperator, window: int, channels: int = 1
) -> list[torch.Tensor]:
    """``A_phi`` for every sampling phase, channels sharing the operator (docs/theory.md §3.6)."""
    eye = torch.eye(channels, dtype=torch.float64)
    return [
        torch.kron(eye, operator.matrix_for_window(window, (row, col)))
        for row in range(operator.factor)
        for col in range(operator.factor)
    ]


def posterior_sums(
    images: torch.Tensor,
    matrices: list[torch.Tensor],
    patch_size: int,
    margin: int,
    stride: int,
) -> PosteriorSums:
    """Project each image's windows on the observations of every phase (docs/theory.md §3.6).

    Args:
        images: ``(J, C, H, W)`` ground truths, at least ``p + 2m`` pixels on each side.
        matrices: ``A_phi`` per phase from :func:`window_matrices`.
        patch_size: ``p``.
        margin: ``m``.
        stride: window stride (:func:`window_stride`).

    Returns:
        :class:`PosteriorSums`.
    """
    check_images(images, "images")
    window = patch_size + 2 * margin
    check_min_size(images, window, "the inherent-uncertainty windows")
    data = images.detach().to(torch.float64)
    channels = data.shape[1]
    d_w = channels * window * window
    central = _central_indices(patch_size, margin, channels).to(data.device)
    shift = data.mean(dim=(0, 2, 3)).repeat_interleave(window * window)
    stacked = torch.cat(matrices).to(data.device) if matrices else data.new_zeros(0, d_w)
    sizes = [m.shape[0] for m in matrices]
    counts, totals, squares, centrals = [], [], [], []
    observed: list[list[torch.Tensor]] = [[] for _ in matrices]
    cross: list[list[torch.Tensor]] = [[] for _ in matrices]
    for index in range(data.shape[0]):
        block = functional.unfold(data[index : index + 1], window, stride=stride)
        block = block.transpose(1, 2).reshape(-1, d_w) - shift
        middle = block[:, central]
        projected = block @ stacked.T
        counts.append(float(block.shape[0]))
        totals.append(block.sum(dim=0))
        squares.append(block.square().sum(dim=0))
        centrals.append(middle.T @ middle)
        for phase, part in enumerate(torch.split(projected, sizes, dim=1)):
            observed[phase].append(part.T @ part)
            cross[phase].append(part.T @ middle)
    return PosteriorSums(
        count=torch.tensor(counts, dtype=torch.float64, device=data.device),
        total=torch.stack(totals),
        square=torch.stack(squares),
        central=torch.stack(centrals),
        observed=[torch.stack(o) for o in observed],
        cross=[torch.stack(c) for c in cross],
        matrices=[m.to(data.device) for m in matrices],
        central_index=central,
        shift=shift,
    )


def posterior_blocks_from_sums(
    sums: PosteriorSums,
    noise_variance: float,
    weights: torch.Tensor | None = None,
    shrinkage: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Prior patch block ``S_cc`` and posterior blocks ``B_phi`` under image weights.

    Implements docs/theory.md §3.6 steps 2-3 on :class:`PosteriorSums`: the prior is the sample
    covariance (divisor n - 1) of the windows of the images weighted by ``weights`` (one row
    per bootstrap resample; ``None``: each image once), shrunk towards its diagonal with
    intensity ``shrinkage``; per phase ``B_phi = S_cc - G' (K + s^2 I)^-1 G`` with
    ``K = A_phi S A_phi'`` and ``G = A_phi S_{:, c}``.

    Returns:
        ``(R, d, d)`` prior blocks and ``(R, Phi, d, d)`` posterior blocks (``R = 1`` without
        weights), float64; NaN rows where a weighted window count is below 2 or a system is
        not positive definite.

    Example:
        One pixel observed directly: posterior variance ``v s^2 / (v + s^2)``.

        >>> x = torch.tensor([0.0, 1.0, 0.0, 1.0], dtype=torch.float64).reshape(1, 1, 2, 2)
        >>> sums = posterior_sums(x, window_matrices(DegradationOperator([]), 1), 1, 0, 1)
        >>> prior, blocks = posterior_blocks_from_sums(sums, 1.0)
        >>> round(prior.item(), 6), round(blocks.item(), 6)  # v = 1/3
        (0.333333, 0.25)
    """
    check_positive(noise_variance, "noise_variance")
    rows = (
        torch.ones(1, sums.count.shape[0], dtype=torch.float64, device=sums.count.device)
        if weights is None
        else weights.to(device=sums.count.device, dtype=torch.float64)
    )
    n = rows @ sums.count
    scale = (1.0 / (n - 1)).where(n >= 2, torch.full_like(n, math.nan))
    mean = (rows @ sums.total) / n[:, None]
    centre = mean[:, sums.central_index]

    def weighted(stacked: torch.Tensor) -> torch.Tensor:
        flat = rows @ stacked.reshape(stacked.shape[0], -1)
        return flat.reshape(rows.shape[0], *stacked.shape[1:])

    diagonal = (rows @ sums.square - n[:, None] * mean.square()) * scale[:, None]
    prior = weighted(sums.central) - n[:, None, None] * centre[:, :, None] * centre[:, None, :]
    prior = prior * scale[:, None, None]
    prior = (1.0 - shrinkage) * prior + shrinkage * torch.diag_embed(
        diagonal[:, sums.central_index]
    )
    prior = (prior + prior.mT) / 2
    blocks = []
    for matrix, observed, cross in zip(sums.matrices, sums.observed, sums.cross, strict=True):
        if matrix.shape[0] == 0:
            blocks.append(prior)
            continue
        projected_mean = mean @ matrix.T
        system = weighted(observed) - n[:, None, None] * (
            projected_mean[:, :, None] * projected_mean[:, None, :]
        )
        gain = weighted(cross) - n[:, None, None] * (
            projected_mean[:, :, None] * centre[:, None, :]
        )
        system = system * scale[:, None, None]
        gain = gain * scale[:, None, None]
        if shrinkage:
            system = (1.0 - shrinkage) * system + shrinkage * (matrix * diagonal[:, None, :]) @ (
                matrix.T
            )
            gain = (1.0 - shrinkage) * gain + shrinkage * matrix[:, sums.central_index] * (
                diagonal[:, None, sums.central_index]
            )
        system = (system + system.mT) / 2 + noise_variance * torch.eye(
            system.shape[-1], dtype=system.dtype, device=system.device
        )
        factor, info = torch.linalg.cholesky_ex(system)
        whitened = torch.linalg.solve_triangular(factor, gain, upper=False)
        block = prior - whitened.mT @ whitened
        bad = (info != 0)[:, None, None] | ~torch.isfinite(block)
        blocks.append(torch.where(bad, torch.full_like(block, math.nan), block))
    return prior, torch.stack(blocks, dim=1)


def posterior_gains(
    sums: PosteriorSums, noise_variance: float, shrinkage: float = 0.0
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The prior's window mean and, per phase, ``(K + s^2 I)^-1 G`` (docs/theory.md §3.9).

    With ``K = A_phi S A_phi'`` and ``G = A_phi S_{:, c}`` of the prior fitted to every image
    of ``sums`` (shrunk like :func:`posterior_blocks_from_sums`), the Gaussian-model posterior
    mean of the central patch is ``mu_c + gain' (y_w - A_phi mu_w)``.

    Returns:
        ``(d_w,)`` float64 window mean and per phase a ``(d'_phi, d)`` gain.
    """
    check_positive(noise_variance, "noise_variance")
    n = sums.count.sum()
    mean = sums.total.sum(0) / n
    centre = mean[sums.central_index]
    diagonal = (sums.square.sum(0) - n * mean.square()) / (n - 1)
    gains = []
    for matrix, observed, cross in zip(sums.matrices, sums.observed, sums.cross, strict=True):
        if matrix.shape[0] == 0:
            gains.append(matrix.new_zeros(0, centre.numel()))
            continue
        projected = matrix @ mean
        system = (observed.sum(0) - n * torch.outer(projected, projected)) / (n - 1)
        gain = (cross.sum(0) - n * torch.outer(projected, centre)) / (n - 1)
        if shrinkage:
            system = (1.0 - shrinkage) * system + shrinkage * (matrix * diagonal) @ matrix.T
            gain = (1.0 - shrinkage) * gain + shrinkage * matrix[:, sums.central_index] * (
                diagonal[sums.central_index]
            )
        system = (system + system.T) / 2 + noise_variance * torch.eye(
            system.shape[0], dtype=system.dtype, device=system.device
        )
        gains.append(torch.cholesky_solve(gain, torch.linalg.cholesky(system)))
    shift = sums.shift if sums.shift is not None else torch.zeros_like(mean)
    return shift + mean, gains


def block_entropy_powers(blocks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(pooled, per_phase)`` entropy powers of ``(..., Phi, d, d)`` posterior blocks.

    Implements docs/theory.md §3.6 step 4: pooled ``det(mean_phi B_phi)^(1/d)`` (what pooled error
    statistics are compared with) and per phase the geometric mean over phases of
    ``det(B_phi)^(1/d)`` (the paper's N(X|Y) at a known position). NaN where a block is not
    positive definite.

    Example:
        >>> b = torch.stack([torch.eye(1), 4 * torch.eye(1)]).double()
        >>> [round(v.item(), 12) for v in block_entropy_powers(b)]
        [2.5, 2.0]
    """
    d = blocks.shape[-1]
    sign, logdet = torch.linalg.slogdet(blocks.mean(dim=-3))
    pooled = torch.where(sign > 0, torch.exp(logdet / d), torch.full_like(logdet, math.nan))
    signs, logdets = torch.linalg.slogdet(blocks)
    per_phase = torch.exp(logdets.mean(-1) / d)
    per_phase = torch.where((signs > 0).all(-1), per_phase, torch.full_like(per_phase, math.nan))
    return pooled, per_phase


def inherent_uncertainty_from_prior(
    prior_cov: torch.Tensor,
    operator: DegradationOperator,
    noise_variance: float,
    patch_size: int,
    margin: int,
    channels: int = 1,
) -> float:
    """N(X|Y) for a given Gaussian window prior (docs/theory.md §3.6 step 3, pooled over phases).

    ``N = det(mean_phi B_phi)^(1/d)``, ``B_phi`` the central block of
    ``S - S A_phi' (A_phi S A_phi' + s^2 I)^-1 A_phi S``, ``phi`` over the ``factor**2``
    sampling phases of the window, ``d = channels * p^2``.

    Args:
        prior_cov: ``(d_w, d_w)`` prior covariance of a window, ``d_w = channels (p + 2m)^2``,
            in (channel, row, column) order.
        operator: the linear part of the degradation.
        noise_variance: ``s^2 > 0``.
        patch_size: ``p >= 1``.
        margin: ``m >= 0``.
        channels: number of channels ``C >= 1``; the operator acts on each alike.

    Returns:
        ``N(X|Y)`` as a float (0.0 if the pooled block is singular).

    Raises:
        EstimatorInputError: if ``prior_cov`` is not a square ``(d_w, d_w)`` matrix of the
            size implied by ``patch_size``, ``margin`` and ``channels``, or ``noise_variance``
            is not positive.

    Example:
        Scalar prior of variance 1, observed directly with noise variance 0.25:
        ``N = 1 * 0.25 / (1 + 0.25)``.

        >>> one = torch.ones(1, 1, dtype=torch.float64)
        >>> round(inherent_uncertainty_from_prior(one, DegradationOperator([]), 0.25, 1, 0), 12)
        0.2
    """
    check_positive(noise_variance, "noise_variance")
    window = patch_size + 2 * margin
    d_w = channels * window * window
    if prior_cov.shape != (d_w, d_w):
        raise EstimatorInputError(
            f"expected prior_cov of shape {(d_w, d_w)}, got {tuple(prior_cov.shape)}"
        )
    matrices = window_matrices(operator, window, channels)
    blocks = posterior_blocks(
        prior_cov, matrices, noise_variance, patch_size=patch_size, margin=margin, channels=channels
    )
    pooled, _ = block_entropy_powers(blocks)
    value = float(pooled)
    return value if math.isfinite(value) else 0.0
