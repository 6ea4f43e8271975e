"""Input validation shared by the estimators: raise EstimatorInputError, never assert."""

from __future__ import annotations

import math

import torch

from workers.estimators.errors import EstimatorInputError


def check_images(images: torch.Tensor, name: str = "images") -> None:
    """Require a finite floating ``(B, C, H, W)`` tensor."""
    if not isinstance(images, torch.Tensor):
        raise EstimatorInputError(
            f"expected {name} to be a torch.Tensor, got {type(images).__name__}"
        )
    if images.ndim != 4:
        raise EstimatorInputError(
            f"expected {name} of shape (B, C, H, W), "
            f"got {images.ndim} dimensions {tuple(images.shape)}"
        )
    if not images.is_floating_point():
        raise EstimatorInputError(f"expected a floating dtype for {name}, got {images.dtype}")
    if images.numel() and not _all_finite(images):
        raise EstimatorInputError(f"expected finite values in {name}, got NaN or infinity")


def _all_finite(values: torch.Tensor) -> bool:
    # One reduction instead of a boolean map: NaN propagates through aminmax, and infinities
    # are the extremes, so finite extremes mean every value is finite.
    low, high = torch.aminmax(values)
    return bool(torch.isfinite(low) & torch.isfinite(high))


def check_pair(preds: torch.Tensor, target: torch.Tensor) -> None:
    """Require two image batches of equal shape and dtype."""
    check_images(preds, "preds")
    check_images(target, "target")
    if preds.shape != target.shape:
        raise EstimatorInputError(
            "expected preds and target of equal shape, "
            f"got {tuple(preds.shape)} and {tuple(target.shape)}"
        )
    if preds.dtype != target.dtype:
        raise EstimatorInputError(
            f"expected preds and target of equal dtype, got {preds.dtype} and {target.dtype}"
        )


def check_positive(value: float, name: str) -> None:
    """Require a finite, strictly positive number."""
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise EstimatorInputError(f"expected {name} > 0, got {value!r}")


def check_open_unit(value: float, name: str) -> None:
    """Require a number in the open interval (0, 1)."""
    if not (isinstance(value, int | float) and 0.0 < value < 1.0):
        raise EstimatorInputError(f"expected {name} in (0, 1), got {value!r}")


def check_min_size(images: torch.Tensor, size: int, what: str) -> None:
    """Require both spatial sides to be at least ``size`` pixels."""
    height, width = images.shape[-2:]
    if height < size or width < size:
        raise EstimatorInputError(
            f"expected images of at least {size}x{size} pixels for {what}, got {height}x{width}"
        )
