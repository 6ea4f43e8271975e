"""Measurement consistency and the two hallucination maps of a known degradation.

docs/theory.md §3.7.

With ``H`` the degradation's linear operator on the whole image and ``H+`` its pseudo-inverse
(:meth:`DegradationOperator.pseudo_inverse`, conjugate gradients in float64):

* ``measurement_residual``: how far the restored image is from explaining the observation,
  the mean squared residual ``mean |H x_hat - y|^2`` over the observation's entries. It is on
  the scale of the noise variance ``s^2`` (docs/theory.md §3.6): a restorer consistent with an 8-bit
  observation scores about ``1 / (12 * 255^2) = 1.28e-6`` (the rounding of ``y``), an
  inconsistent one much more. (Mean square rather than RMS so that it compares directly with
  ``s^2``; take the square root for grey levels.)
* ``measurement_map``: ``|H+ (H x_hat - y)|``, the data inconsistency brought back to image
  space; needs no ground truth.
* ``null_space_map``: ``|(I - H+ H)(x_hat - x)|``, the error in what the observation cannot see.

Maps are per pixel, the absolute values summed over channels, shape ``(B, 1, H, W)``.
"""

from __future__ import annotations

import torch

from workers.estimators._checks import check_images, check_pair
from workers.estimators.degradation import DegradationOperator
from workers.estimators.errors import EstimatorInputError

__all__ = [
    "measurement_map",
    "measurement_residual",
    "null_space_map",
]


def _check_observation(
    restored: torch.Tensor, observation: torch.Tensor, operator: DegradationOperator
) -> None:
    check_images(restored, "restored")
    check_images(observation, "observation")
    expected = (*restored.shape[:2], *operator.output_size(*restored.shape[-2:]))
    if tuple(observation.shape) != expected:
        raise EstimatorInputError(
            f"expected observation of shape {expected} for restored images of shape "
            f"{tuple(restored.shape)}, got {tuple(observation.shape)}"
        )


def measurement_residual(
    restored: torch.Tensor, observation: torch.Tensor, operator: DegradationOperator
) -> torch.Tensor:
    """Mean squared data inconsistency ``mean |H x_hat - y|^2`` per image.

    Implements docs/theory.md §3.7 (measurement consistency; compare with the noise variance of
    §3.6).

    Args:
        restored: ``(B, C, H, W)`` restored images in [0, 1].
        observation: ``(B, C, h, w)`` observations, ``(h, w) = operator.output_size(H, W)``.
        operator: the degradation's linear part.

    Returns:
        ``(B,)`` in the dtype of ``restored``.

    Raises:
        EstimatorInputError: on invalid tensors or an observation of the wrong shape.

    Example:
        A 2 x 2 block with mean 0.5, observed as 0.25 by area downsampling: (0.5 - 0.25)^2.

        >>> from workers.estimators.degradation import Downsample
        >>> op = DegradationOperator([Downsample(2, "area")])
        >>> x = torch.full((1, 1, 2, 2), 0.5)
        >>> measurement_residual(x, torch.full((1, 1, 1, 1), 0.25), op).tolist()
        [0.0625]
    """
    _check_observation(restored, observation, operator)
    residual = operator.apply(restored) - observation.to(restored.dtype)
    return residual.square().mean(dim=(1, 2, 3))


def measurement_map(
    restored: torch.Tensor,
    observation: torch.Tensor,
    operator: DegradationOperator,
    tol: float = 1e-10,
    max_iter: int = 500,
) -> torch.Tensor:
    """Measurement-space hallucination map ``|H+ (H x_hat - y)|``, summed over channels.

    Implements docs/theory.md §3.7.

    Args:
        restored: ``(B, C, H, W)`` restored images.
        observation: ``(B, C, h, w)`` observations.
        operator: the degradation's linear part.
        tol: CG tolerance of the pseudo-inverse.
        max_iter: CG iteration cap.

    Returns:
        ``(B, 1, H, W)`` non-negative map in the dtype of ``restored``.

    Raises:
        EstimatorInputError: on invalid tensors or an observation of the wrong shape.

    Example:
        Area 2x: a residual of 0.25 on one observation spreads evenly over its 4 pixels.

        >>> from workers.estimators.degradation import Downsample
        >>> op = DegradationOperator([Downsample(2, "area")])
        >>> x = torch.full((1, 1, 2, 2), 0.5, dtype=torch.float64)
        >>> y = torch.full((1, 1, 1, 1), 0.25, dtype=torch.float64)
        >>> measurement_map(x, y, op).flatten().tolist()
        [0.25, 0.25, 0.25, 0.25]
    """
    _check_observation(restored, observation, operator)
    residual = operator.apply(restored) - observation.to(restored.dtype)
    size = (restored.shape[-2], restored.shape[-1])
    back = operator.pseudo_inverse(residual, size, tol, max_iter)
    return back.abs().sum(dim=1, keepdim=True)


def null_space_map(
    restored: torch.Tensor, target: torch.Tensor, operator: DegradationOperator
) -> torch.Tensor:
    """Null-space hallucination map ``|(I - H+ H)(x_hat - x)|``, summed over channels.

    Implements docs/theory.md §3.7.

    Takes the restored images and the ground truth ``target`` (both ``(B, C, H, W)``, same
    shape and dtype) and the degradation's linear ``operator``, whose projection
    (:meth:`DegradationOperator.null_space_project`) solves to its default tolerance; returns
    a ``(B, 1, H, W)`` non-negative map in ``restored``'s dtype and raises
    ``EstimatorInputError`` on invalid tensors or mismatched shapes or dtypes.

    Example:
        Area 2x: an error of +1 and -1 on two pixels of one block is invisible to the
        block average, so it lies entirely in the null space.

        >>> from workers.estimators.degradation import Downsample
        >>> op = DegradationOperator([Downsample(2, "area")])
        >>> x = torch.zeros(1, 1, 2, 2, dtype=torch.float64)
        >>> x_hat = torch.tensor([[[[1.0, -1.0], [0.0, 0.0]]]], dtype=torch.float64)
        >>> null_space_map(x_hat, x, op).flatten().tolist()
        [1.0, 1.0, 0.0, 0.0]
    """
    check_pair(restored, target)
    return operator.null_space_project(restored - target).abs().sum(1, keepdim=True)
