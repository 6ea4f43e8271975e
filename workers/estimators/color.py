"""Colour conversion and border cropping applied before any statistic.

Implements docs/theory.md §3.1 (preparation). Both functions are pure: they validate a batch of
images and return a new view or tensor with the same device and dtype.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch

from api_schemas.conventions import BT601_LUMA_WEIGHTS, MATLAB_Y_OFFSET, MATLAB_Y_WEIGHTS
from workers.estimators._checks import check_images
from workers.estimators.errors import EstimatorInputError

ColorMode = Literal["y", "y_full", "rgb"]

_MODES: tuple[str, ...] = get_args(ColorMode)

_Y_OFFSET = MATLAB_Y_OFFSET
_Y_WEIGHTS = MATLAB_Y_WEIGHTS
_Y_FULL_WEIGHTS = BT601_LUMA_WEIGHTS


def convert_color(images: torch.Tensor, mode: ColorMode) -> torch.Tensor:
    """Convert a batch of images to the colour representation the statistics use.

    Implements docs/theory.md §3.1.

    ``y`` (MATLAB ``rgb2ycbcr`` luma, the super-resolution convention):
    ``Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255``, so Y lies in [16/255, 235/255].
    ``y_full`` (full-range BT.601 luma): ``Y = 0.299 R + 0.587 G + 0.114 B``, in [0, 1].
    ``rgb``: the three channels unchanged.

    A grey image (``C = 1``) is already a luma signal, so both ``y`` and ``y_full`` return it
    unchanged. In particular the studio-swing offset and scaling of ``y`` are *not* applied to
    grey input: rescaling would change PSNR on grey pairs for no information gain, and a grey
    file has no RGB to convert. ``rgb`` of a grey image is an error rather than a replication
    to three channels, because replicated channels would triple the patch dimension with
    perfectly correlated copies and make the covariance singular.

    Args:
        images: ``(B, C, H, W)`` floating tensor with ``C`` in {1, 3}, values in [0, 1].
        mode: ``"y"``, ``"y_full"`` or ``"rgb"``.

    Returns:
        ``(B, 1, H, W)`` for ``y`` and ``y_full``, ``(B, 3, H, W)`` for ``rgb``; same device
        and dtype as ``images``.

    Raises:
        EstimatorInputError: if ``images`` is not a finite floating ``(B, C, H, W)`` tensor,
            ``C`` is not 1 or 3, ``mode`` is unknown, or ``mode`` is ``rgb`` and ``C`` is 1.

    Example:
        White maps to 235/255 under ``y`` and to 1 under ``y_full``:

        >>> white = torch.ones(1, 3, 2, 2, dtype=torch.float64)
        >>> round(convert_color(white, "y")[0, 0, 0, 0].item() * 255, 6)
        235.0
        >>> round(convert_color(white, "y_full")[0, 0, 0, 0].item(), 12)
        1.0
    """
    check_images(images)
    if mode not in _MODES:
        raise EstimatorInputError(f"expected color mode in {_MODES}, got {mode!r}")
    channels = images.shape[1]
    if channels not in (1, 3):
        raise EstimatorInputError(f"expected 1 or 3 channels, got {channels}")
    if channels == 1:
        if mode == "rgb":
            raise EstimatorInputError("expected 3 channels for color='rgb', got 1")
        return images
    if mode == "rgb":
        return images
    weights = _Y_WEIGHTS if mode == "y" else _Y_FULL_WEIGHTS
    kernel = torch.tensor(weights, dtype=images.dtype, device=images.device)
    luma = torch.einsum("bchw,c->bhw", images, kernel).unsqueeze(1)
    if mode == "y":
        luma = luma + _Y_OFFSET
    return luma


def crop_border(images: torch.Tensor, pixels: int) -> torch.Tensor:
    """Remove ``pixels`` rows and columns from every side of each image.

    Implements docs/theory.md §3.1 (``crop_border``, applied before any statistic).

    ``out = images[..., p : H - p, p : W - p]`` with ``p = pixels``; ``p = 0`` is the identity.

    Args:
        images: ``(B, C, H, W)`` floating tensor, any value range.
        pixels: non-negative integer number of pixels to remove on each side.

    Returns:
        ``(B, C, H - 2 p, W - 2 p)`` view of ``images``.

    Raises:
        EstimatorInputError: if ``images`` is not a finite floating ``(B, C, H, W)`` tensor,
            ``pixels`` is not a non-negative integer, or nothing would be left.

    Example:
        >>> crop_border(torch.zeros(2, 1, 10, 8), 3).shape
        torch.Size([2, 1, 4, 2])
    """
    check_images(images)
    if isinstance(pixels, bool) or not isinstance(pixels, int) or pixels < 0:
        raise EstimatorInputError(f"expected pixels to be a non-negative int, got {pixels!r}")
    height, width = images.shape[-2:]
    if 2 * pixels >= height or 2 * pixels >= width:
        raise EstimatorInputError(
            f"expected images larger than {2 * pixels}x{2 * pixels} pixels to crop {pixels} "
            f"from each side, got {height}x{width}"
        )
    if pixels == 0:
        return images
    return images[..., pixels : height - pixels, pixels : width - pixels]
