"""Separable Gaussian blur shared by the estimators (the detail operator of docs/theory.md §3.7).

Borders are extended by mirror reflection about the edge pixels, without repeating them
(``d c b | a b c d | c b a``): torch's ``reflect`` padding, numpy's ``reflect`` and scipy's
``mirror`` mode. When the kernel radius is as large as the image side, torch's padding refuses;
this module instead keeps reflecting (the mirror extension is periodic with period
``2 (n - 1)``), which is what numpy and scipy do. The kernel is therefore never clamped and the
result agrees with ``scipy.ndimage.gaussian_filter(..., mode="mirror", radius=r)`` at any size.
A side of one pixel is extended by replication (its mirror is itself).
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional

from workers.estimators._checks import check_images, check_positive
from workers.estimators.errors import EstimatorInputError


def gaussian_kernel1d(
    sigma: float,
    radius: int | None = None,
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Normalised one-dimensional Gaussian kernel.

    Implements the blur ``G_sigma`` of docs/theory.md §3.7.

    ``k[i] = exp(-i^2 / (2 sigma^2)) / sum_j exp(-j^2 / (2 sigma^2))`` for
    ``i = -radius .. radius``, computed in float64 and then cast to ``dtype``.

    Args:
        sigma: Standard deviation in pixels, finite and > 0.
        radius: Half-width in pixels (>= 0); ``None`` means ``ceil(4 sigma)``.
        dtype: Floating dtype of the result.
        device: Device of the result.

    Returns:
        Tensor of shape ``(2 radius + 1,)`` summing to one.

    Raises:
        EstimatorInputError: If ``sigma`` is not finite and positive, ``radius`` is not a
            non-negative integer, or ``dtype`` is not floating.

    Example:
        >>> k = gaussian_kernel1d(1.0, radius=1)
        >>> round(float(k[1] / k[0]), 6) == round(math.exp(0.5), 6)
        True
        >>> gaussian_kernel1d(0.5).shape
        torch.Size([5])
    """
    check_positive(sigma, "sigma")
    if radius is None:
        radius = math.ceil(4.0 * sigma)
    if isinstance(radius, bool) or not isinstance(radius, int) or radius < 0:
        raise EstimatorInputError(f"expected radius to be an integer >= 0, got {radius!r}")
    if not dtype.is_floating_point:
        raise EstimatorInputError(f"expected a floating dtype, got {dtype}")
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    kernel = torch.exp(-(offsets**2) / (2.0 * float(sigma) ** 2))
    return (kernel / kernel.sum()).to(dtype=dtype, device=device)


def _mirror_indices(size: int, radius: int, device: torch.device) -> torch.Tensor:
    """Indices of a mirror extension by ``radius`` of a side of ``size`` pixels."""
    positions = torch.arange(-radius, size + radius, device=device)
    if size == 1:
        return torch.zeros_like(positions)
    period = 2 * (size - 1)
    folded = torch.remainder(positions, period)
    return torch.where(folded >= size, period - folded, folded)


def gaussian_blur(images: torch.Tensor, sigma: float, radius: int | None = None) -> torch.Tensor:
    """Separable Gaussian blur of every channel, same size out, mirror-reflected borders.

    Implements the blur ``G_sigma`` of docs/theory.md §3.7.

    ``(G * x)[r, c] = sum_{i, j} k[i] k[j] x~[r + i, c + j]`` with ``k`` from
    :func:`gaussian_kernel1d` and ``x~`` the mirror extension of ``x`` (module docstring), so a
    constant image is unchanged.

    Args:
        images: Floating tensor of shape ``(B, C, H, W)``, finite (any range).
        sigma: Standard deviation in pixels, finite and > 0.
        radius: Kernel half-width; ``None`` means ``ceil(4 sigma)``. May exceed the image size.

    Returns:
        Tensor of shape ``(B, C, H, W)``, same dtype and device as ``images``.

    Raises:
        EstimatorInputError: If ``images`` is not a finite floating ``(B, C, H, W)`` tensor, or
            ``sigma`` / ``radius`` is invalid.

    Example:
        >>> x = torch.zeros(1, 1, 1, 3, dtype=torch.float64)
        >>> x[..., 1] = 1.0
        >>> y = gaussian_blur(x, 1.0, radius=1)
        >>> w = math.exp(-0.5)
        >>> expected = torch.tensor([2 * w, 1.0, 2 * w], dtype=torch.float64) / (1 + 2 * w)
        >>> bool(torch.allclose(y[0, 0, 0], expected))
        True
    """
    check_images(images)
    kernel = gaussian_kernel1d(sigma, radius, dtype=torch.float64)
    _, _, height, width = images.shape
    blurred = _blur_along(images, kernel, 3, width)
    return _blur_along(blurred, kernel, 2, height)


_MATRIX_TAPS_PER_PIXEL = 1 / 8
"""Blur along a side by a dense matrix once the kernel has at least this many taps per pixel
of the side: a matrix product does ``size`` multiply-adds per output where the shifted sums do
``taps``, but runs far faster per multiply-add on a CPU: for the invented-detail map's window
(sigma 8, 65 taps) over 256-pixel sides it is the faster of the two
(``benchmarks/bench_artifacts.py``); at 1024 pixels the shifted sums win."""


def _blur_along(images: torch.Tensor, kernel: torch.Tensor, dim: int, size: int) -> torch.Tensor:
    """1-D correlation with ``kernel`` along ``dim`` (2 or 3), mirror-extended."""
    half = (kernel.numel() - 1) // 2
    shifted_sums = kernel.numel() < _MATRIX_TAPS_PER_PIXEL * size
    if shifted_sums and 0 < half < size:
        # torch's reflect padding is the same mirror extension, and far cheaper than the
        # gather along the last dimension (~8x on the CPU for 256-pixel rows).
        pad = (half, half, 0, 0) if dim == 3 else (0, 0, half, half)
        return _shifted_sum(functional.pad(images, pad, mode="reflect"), kernel, dim, size)
    mirror = _mirror_indices(size, half, images.device)
    if shifted_sums:
        # A radius of 0, or beyond the side (the reflection folds more than once).
        return _shifted_sum(images.index_select(dim, mirror), kernel, dim, size)
    # matrix[r, c]: the weight of input c in output r, reflections folded in.
    taps = kernel.numel()
    window = torch.arange(size, device=images.device)[:, None] + torch.arange(taps).to(mirror)
    matrix = torch.zeros(size, size, dtype=torch.float64, device=images.device)
    rows = torch.arange(size, device=images.device)[:, None].expand(size, taps)
    matrix.index_put_((rows, mirror[window]), kernel.to(images.device).expand(size, taps), True)
    matrix = matrix.to(images.dtype)
    return images @ matrix.T if dim == 3 else matrix @ images


def _shifted_sum(padded: torch.Tensor, kernel: torch.Tensor, dim: int, size: int) -> torch.Tensor:
    """``sum_i k[i] padded[..., i : i + size, ...]`` along ``dim``: a 1-D correlation.

    Written as one multiply-add per tap over the whole batch: on the CPU this runs several
    times faster than ``conv2d`` with a thin (1 x K) kernel, which lowers to im2col, and it
    gives the same sums in the same order.
    """
    taps: list[float] = kernel.tolist()
    out: torch.Tensor = padded.narrow(dim, 0, size) * taps[0]
    for offset, weight in enumerate(taps[1:], start=1):
        out.add_(padded.narrow(dim, offset, size), alpha=weight)
    return out
