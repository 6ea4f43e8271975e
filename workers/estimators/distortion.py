"""Per-image distortion: MSE, PSNR and SSIM, alone or fused in one pass.

Implements docs/theory.md §3.2. Every statistic is computed per image; averaging over images is the
caller's job (the papers' convention, not the MSE pooled over a batch).

Provenance: SSIM follows Wang, Bovik, Sheikh and Simoncelli, *Image Quality Assessment: From
Error Visibility to Structural Similarity*, IEEE TIP 2004, with the settings of
``skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
use_sample_covariance=False)``: an 11-tap Gaussian (radius ``int(3.5 sigma + 0.5) = 5``),
population moments, and the mean over the *valid* interior of the SSIM map (no padding).
torchmetrics instead reflect-pads the borders and averages the whole map, which moves the
result by about 0.002 on 256x256 photographs (the median; single pairs up to about 0.005, and
more on smaller images, whose border is a larger share). The code is written from the
formulas, not ported.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch.nn import functional

from api_schemas.conventions import SSIM_SIGMA, SSIM_WINDOW
from workers.estimators._checks import check_min_size, check_pair, check_positive

SSIM_K1 = 0.01
SSIM_K2 = 0.03

_RADIUS = SSIM_WINDOW // 2
# Maps blurred per channel (see _ssim_statistics): a = x + y, d = x - y, a², d².
_MAPS = 4


class DistortionMetrics(NamedTuple):
    """Per-image distortion of a batch; each field has shape ``(B,)``."""

    mse: torch.Tensor
    psnr: torch.Tensor
    ssim: torch.Tensor


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """Work in float32 at least; float64 stays float64."""
    return dtype if dtype == torch.float64 else torch.float32


def _prepare(
    preds: torch.Tensor, target: torch.Tensor, data_range: float, ssim: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate the public arguments and cast both batches to the compute dtype."""
    check_pair(preds, target)
    check_positive(data_range, "data_range")
    if ssim:
        check_min_size(preds, SSIM_WINDOW, "SSIM's 11x11 window")
    dtype = _compute_dtype(preds.dtype)
    return preds.to(dtype), target.to(dtype)


def _mse(preds: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean of the squared difference over channels and pixels, per image: ``(B,)``."""
    return (preds - target).square().mean(dim=(1, 2, 3))


def _psnr_from_mse(mse: torch.Tensor, data_range: float) -> torch.Tensor:
    """``20 log10(L) - 10 log10(MSE)``: +inf where MSE is 0, never overflows for tiny MSE."""
    return 20.0 * math.log10(data_range) - 10.0 * torch.log10(mse)


def _gaussian_taps(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Normalised 11-tap Gaussian, sigma 1.5 (scipy's ``gaussian_filter1d`` weights)."""
    offsets = torch.arange(-_RADIUS, _RADIUS + 1, dtype=dtype, device=device)
    taps = torch.exp(-0.5 * (offsets / SSIM_SIGMA) ** 2)
    return taps / taps.sum()


def _ssim_statistics(
    preds: torch.Tensor, target: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian-blurred first and second moments over the valid interior, in one pass.

    SSIM needs the blurred x, y, x², y² and xy, but only through ``mu_x mu_y``,
    ``mu_x² + mu_y²``, ``sigma_xy`` and ``sigma_x² + sigma_y²``. With ``a = x + y`` and
    ``d = x - y`` (the polarization identity) those are
    ``2 mu_x mu_y = (mu_a² - mu_d²) / 2``, ``mu_x² + mu_y² = (mu_a² + mu_d²) / 2``,
    ``2 sigma_xy = (sigma_a² - sigma_d²) / 2`` and
    ``sigma_x² + sigma_y² = (sigma_a² + sigma_d²) / 2``, so blurring the four maps a, d, a²,
    d² gives exactly the same SSIM as blurring the five, with 4/5 of the work.

    ``a`` is shifted by twice the target's mean per image and channel, ``2 s``: variances
    are shift-invariant and ``mu_a`` gets ``2 s`` back exactly, but the cancellation in
    ``E[a²] - mu_a²`` loses far less in float32 (worst SSIM error against float64 on small
    images: 2e-7 instead of 7e-5 unshifted).

    The four maps of every channel are written into one channels-last buffer (``(B, H, W, 4,
    C)`` in memory) and blurred by a depthwise convolution with the 1-D kernel along H and
    then along W, with no padding. In float32 the channels-last depthwise convolution is the
    faster layout on CPU; float64 has no channels-last kernel on CPU and runs faster on the
    NCHW copy, so it takes that (``benchmarks/bench_distortion.py`` measures both).

    Returns:
        ``(moments, shift)``: the blurred a (shifted), d, a², d², ``(B, H - 10, W - 10, 4,
        C)`` (a view of the channels-last result), and ``shift`` = ``2 s``, ``(B, 1, 1, C)``.
    """
    batch, channels, height, width = preds.shape
    shift = target.mean(dim=(2, 3)).mul_(2).view(batch, 1, 1, channels)
    stack = preds.new_empty((batch, height, width, _MAPS, channels))
    x, y = preds.permute(0, 2, 3, 1), target.permute(0, 2, 3, 1)
    a, d = stack[..., 0, :], stack[..., 1, :]
    torch.add(x, y, out=a).sub_(shift)
    torch.sub(x, y, out=d)
    torch.mul(a, a, out=stack[..., 2, :])
    torch.mul(d, d, out=stack[..., 3, :])
    groups = _MAPS * channels
    planes = stack.view(batch, height, width, groups).permute(0, 3, 1, 2)  # channels-last
    if planes.dtype == torch.float64:
        planes = planes.contiguous()
    taps = _gaussian_taps(preds.dtype, preds.device)
    along_h = taps.view(1, 1, SSIM_WINDOW, 1).expand(groups, 1, SSIM_WINDOW, 1)
    along_w = taps.view(1, 1, 1, SSIM_WINDOW).expand(groups, 1, 1, SSIM_WINDOW)
    blurred = functional.conv2d(
        functional.conv2d(planes, along_h, groups=groups), along_w, groups=groups
    )
    out_h, out_w = height - 2 * _RADIUS, width - 2 * _RADIUS
    moments = blurred.permute(0, 2, 3, 1).reshape(batch, out_h, out_w, _MAPS, channels)
    return moments, shift


def _ssim_from_statistics(
    moments: torch.Tensor, shift: torch.Tensor, data_range: float
) -> torch.Tensor:
    """Mean SSIM map per image from the moments of :func:`_ssim_statistics`.

    Both factors of SSIM's numerator and denominator are doubled, which cancels:
    ``SSIM = (mu_a² - mu_d² + 2 C1) (sigma_a² - sigma_d² + 2 C2)
    / ((mu_a² + mu_d² + 2 C1) (sigma_a² + sigma_d² + 2 C2))``.
    Works in place on ``moments`` to keep the passes over the maps few. Variances are not
    clamped (scikit-image does not clamp either): their rounding noise is far below ``C2``.
    Returns ``(B,)``.
    """
    c1 = 2 * (SSIM_K1 * data_range) ** 2
    c2 = 2 * (SSIM_K2 * data_range) ** 2
    mu_a, mu_d, e_aa, e_dd = moments.unbind(dim=-2)
    var_a = e_aa.addcmul_(mu_a, mu_a, value=-1)
    var_d = e_dd.addcmul_(mu_d, mu_d, value=-1)
    mu_aa = mu_a.add_(shift).square_()
    mu_dd = mu_d.square_()
    luminance = torch.sub(mu_aa, mu_dd).add_(c1)
    luminance_norm = mu_aa.add_(mu_dd).add_(c1)
    structure = torch.sub(var_a, var_d).add_(c2)
    contrast = var_a.add_(var_d).add_(c2)
    ratio = luminance.mul_(structure).div_(luminance_norm.mul_(contrast))
    return ratio.mean(dim=(1, 2, 3))


def mean_squared_error(preds: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error of each image.

    Implements docs/theory.md §3.2.

    ``MSE_b = (1 / (C H W)) sum_{c, h, w} (preds[b, c, h, w] - target[b, c, h, w])²``.

    Args:
        preds: ``(B, C, H, W)`` floating tensor, restored images.
        target: ``(B, C, H, W)`` floating tensor of the same shape and dtype, ground truth.

    Returns:
        ``(B,)`` tensor in the inputs' dtype (float32 at least).

    Raises:
        EstimatorInputError: if either input is not a finite floating ``(B, C, H, W)`` tensor,
            or their shapes or dtypes differ.

    Example:
        >>> mean_squared_error(torch.full((1, 1, 2, 2), 0.5), torch.zeros(1, 1, 2, 2))
        tensor([0.2500])
    """
    check_pair(preds, target)
    dtype = _compute_dtype(preds.dtype)
    return _mse(preds.to(dtype), target.to(dtype))


def peak_signal_noise_ratio(
    preds: torch.Tensor, target: torch.Tensor, data_range: float
) -> torch.Tensor:
    """Peak signal-to-noise ratio of each image, in decibels.

    Implements docs/theory.md §3.2.

    ``PSNR_b = 10 log10(L² / MSE_b)`` with ``L = data_range``; ``+inf`` where ``MSE_b = 0``
    (the engine reports that as null with a flag).

    Args:
        preds: ``(B, C, H, W)`` floating tensor, restored images, values in [0, data_range].
        target: ``(B, C, H, W)`` floating tensor of the same shape and dtype, ground truth.
        data_range: ``L > 0``, the width of the value range (1 for images in [0, 1]). It is
            never inferred from the data.

    Returns:
        ``(B,)`` tensor in the inputs' dtype (float32 at least).

    Raises:
        EstimatorInputError: if either input is not a finite floating ``(B, C, H, W)`` tensor,
            their shapes or dtypes differ, or ``data_range`` is not a finite positive number.

    Example:
        An error of 0.1 everywhere gives MSE 0.01, so 20 dB:

        >>> target = torch.zeros(2, 1, 3, 3, dtype=torch.float64)
        >>> preds = target + torch.tensor([0.1, 0.0], dtype=torch.float64).view(2, 1, 1, 1)
        >>> [round(v, 6) for v in peak_signal_noise_ratio(preds, target, data_range=1.0).tolist()]
        [20.0, inf]
    """
    preds, target = _prepare(preds, target, data_range, ssim=False)
    return _psnr_from_mse(_mse(preds, target), data_range)


def structural_similarity(
    preds: torch.Tensor, target: torch.Tensor, data_range: float
) -> torch.Tensor:
    """Mean structural similarity (SSIM) of each image.

    Implements docs/theory.md §3.2.

    With ``G`` the 11x11 Gaussian window (sigma 1.5), ``mu_x = G * x``,
    ``sigma_x² = G * x² - mu_x²``, ``sigma_xy = G * (x y) - mu_x mu_y`` (population moments),
    ``C1 = (0.01 L)²`` and ``C2 = (0.03 L)²``::

        SSIM = (2 mu_x mu_y + C1) (2 sigma_xy + C2)
               / ((mu_x² + mu_y² + C1) (sigma_x² + sigma_y² + C2))

    averaged over the valid interior (the ``(H - 10) x (W - 10)`` positions where the window
    fits without padding) and over channels. No downsampling.

    Args:
        preds: ``(B, C, H, W)`` floating tensor, restored images, ``H, W >= 11``, values in
            [0, data_range].
        target: ``(B, C, H, W)`` floating tensor of the same shape and dtype, ground truth.
        data_range: ``L > 0``, the width of the value range (1 for images in [0, 1]); never
            inferred from the data.

    Returns:
        ``(B,)`` tensor in [-1, 1], in the inputs' dtype (float32 at least).

    Raises:
        EstimatorInputError: if either input is not a finite floating ``(B, C, H, W)`` tensor,
            their shapes or dtypes differ, an image is smaller than 11x11, or ``data_range``
            is not a finite positive number.

    Example:
        Two flat images have no variance, so SSIM is the luminance term alone:
        ``(2 * 0.5 * 0.25 + 1e-4) / (0.5² + 0.25² + 1e-4) = 0.25010 / 0.31260 = 0.800064``.

        >>> flat = torch.ones(1, 1, 11, 11, dtype=torch.float64)
        >>> round(structural_similarity(0.5 * flat, 0.25 * flat, data_range=1.0).item(), 6)
        0.800064
    """
    preds, target = _prepare(preds, target, data_range, ssim=True)
    return _ssim_from_statistics(*_ssim_statistics(preds, target), data_range)


def distortion_metrics(
    preds: torch.Tensor, target: torch.Tensor, data_range: float
) -> DistortionMetrics:
    """MSE, PSNR and SSIM of each image, validating once and blurring in one fused pass.

    Implements docs/theory.md §3.2.

    Same values as :func:`mean_squared_error`, :func:`peak_signal_noise_ratio` and
    :func:`structural_similarity` (``PSNR = 10 log10(L² / MSE)``, SSIM of Wang et al. 2004
    with an 11x11 Gaussian window, sigma 1.5, over the valid interior), validating once. All
    the local moments SSIM needs (the information of the blurred x, y, x², y² and xy, carried
    by the four maps x + y, x - y and their squares) go through a single separable depthwise
    convolution of every channel.

    Args:
        preds, target, data_range: As for :func:`structural_similarity` (``H, W >= 11``).

    Returns:
        ``DistortionMetrics(mse, psnr, ssim)``, three ``(B,)`` tensors in the inputs' dtype
        (float32 at least); ``psnr`` is ``+inf`` where ``mse`` is 0.

    Raises:
        EstimatorInputError: As :func:`structural_similarity` raises it.

    Example:
        An image against itself: no error, infinite PSNR, SSIM 1.

        >>> image = torch.linspace(0, 1, 3 * 16 * 16).reshape(1, 3, 16, 16)
        >>> distortion_metrics(image, image, data_range=1.0)
        DistortionMetrics(mse=tensor([0.]), psnr=tensor([inf]), ssim=tensor([1.]))
    """
    preds, target = _prepare(preds, target, data_range, ssim=True)
    mse = _mse(preds, target)
    ssim = _ssim_from_statistics(*_ssim_statistics(preds, target), data_range)
    return DistortionMetrics(mse=mse, psnr=_psnr_from_mse(mse, data_range), ssim=ssim)
