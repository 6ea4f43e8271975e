"""Invented detail: high-pass detail of the restored image that the ground truth does not explain.

Implements the part of docs/theory.md §3.7 that needs no degradation model: the detail operator
``D x = x - G_sigma * x`` (a Gaussian high-pass, borders mirror-reflected, see
:mod:`workers.estimators.filters`) and the invented-detail ratio, globally per pair and as a
windowed map.

Choices of this module (docs/theory.md leaves them open):

* The regression coefficient ``a`` is one number **per image, shared by all channels**: sums run
  over channels and pixels together. A channel-wise ``a`` would let a colour shift of the detail
  pass as "not invented"; on luma (the default) the two coincide.
* A ground truth without detail (``mean (D x)^2 <= floor``, a flat image) has no detail to
  regress on: the ratio is NaN there, and the engine reports null with a warning.
* The map floors its denominator with a fraction (``floor``, default 1e-2) of the image's own
  mean detail energy, so it is invariant to the image's contrast and flat regions do not explode.
  The floor enters only the denominator of the ratio, not the local regression, so the truth
  itself maps to exactly 0 everywhere.
"""

from __future__ import annotations

import math

import torch

from workers.estimators._checks import check_pair, check_positive
from workers.estimators.filters import gaussian_blur

FLAT_DETAIL_ENERGY = 1e-12
"""Mean squared detail (per value) at or below which a ground truth counts as flat."""


def detail(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """High-pass detail of every channel: the image minus its Gaussian blur.

    Implements docs/theory.md §3.7 (the detail operator D).

    ``D x = x - G_sigma * x``; constants map to 0, and ``D`` is linear.

    Args:
        images: Floating tensor of shape ``(B, C, H, W)``, finite, values in [0, 1].
        sigma: Blur scale in pixels, > 0 (docs/theory.md: factor / 2 when a downsampling factor is
            known, else 2).

    Returns:
        Tensor of shape ``(B, C, H, W)``, same dtype and device as ``images``.

    Raises:
        EstimatorInputError: If ``images`` is not a finite floating ``(B, C, H, W)`` tensor or
            ``sigma`` is not finite and positive.

    Example:
        >>> flat = torch.full((1, 1, 4, 4), 0.5)
        >>> bool(detail(flat, 2.0).abs().max() < 1e-6)
        True
    """
    return images - gaussian_blur(images, sigma)


def _regression(
    restored_detail: torch.Tensor, target_detail: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image residual energy of D x̂ regressed on D x, and the energy of D x."""
    dims = (1, 2, 3)
    detail_energy = (target_detail * target_detail).sum(dim=dims)
    cross = (restored_detail * target_detail).sum(dim=dims)
    safe = torch.where(detail_energy > 0, detail_energy, torch.ones_like(detail_energy))
    gain = torch.where(detail_energy > 0, cross / safe, torch.zeros_like(cross))
    residual = restored_detail - gain.view(-1, 1, 1, 1) * target_detail
    return (residual * residual).sum(dim=dims), detail_energy


def invented_detail_statistics(
    restored: torch.Tensor, target: torch.Tensor, sigma: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sufficient statistics of the invented-detail ratio: residual and detail energies.

    Implements docs/theory.md §3.7 (invented-detail ratio, global form).

    With ``h = D x̂`` and ``g = D x`` (sums over channels and pixels of one image):
    ``a = <h, g> / ||g||^2``, ``r = h - a g``; returns ``(||r||^2, ||g||^2)``. When
    ``||g||^2 = 0`` (a constant ground truth), ``a`` is taken as 0, so ``||r||^2 = ||h||^2``.

    Args:
        restored: Restored images ``x̂``, floating ``(B, C, H, W)``, finite, in [0, 1].
        target: Ground truth ``x``, same shape and dtype as ``restored``.
        sigma: Scale of the detail operator in pixels, > 0.

    Returns:
        ``(residual_energy, detail_energy)``, two tensors of shape ``(B,)`` in the inputs'
        dtype and device.

    Raises:
        EstimatorInputError: If the images are not finite floating ``(B, C, H, W)`` tensors of
            equal shape and dtype, or ``sigma`` is not finite and positive.

    Example:
        >>> x = torch.rand(2, 1, 16, 16, dtype=torch.float64)
        >>> residual, energy = invented_detail_statistics(0.5 * x + 0.2, x, 2.0)
        >>> bool(residual.abs().max() < 1e-20), bool((energy > 0).all())
        (True, True)
    """
    check_pair(restored, target)
    check_positive(sigma, "sigma")
    return _regression(detail(restored, sigma), detail(target, sigma))


def invented_detail_ratio(
    restored: torch.Tensor, target: torch.Tensor, sigma: float, floor: float = FLAT_DETAIL_ENERGY
) -> torch.Tensor:
    """Share of the restored image's detail energy not explained by the true detail.

    Implements docs/theory.md §3.7 (invented-detail ratio).

    ``ratio = ||D x̂ - a D x||^2 / ||D x||^2`` with ``a = <D x̂, D x> / ||D x||^2`` (one ``a``
    per image, over all channels). 0 for the truth and for any ``c x + b`` (gain and offset
    are not invented); about 1 when ``x̂`` adds independent detail as strong as the true detail.
    NaN where the ground truth is flat: ``||D x||^2 <= floor * C * H * W``.

    Args:
        restored: Restored images ``x̂``, floating ``(B, C, H, W)``, finite, in [0, 1].
        target: Ground truth ``x``, same shape and dtype as ``restored``.
        sigma: Scale of the detail operator in pixels, > 0.
        floor: Mean squared detail per value at or below which the ground truth counts as
            flat, > 0.

    Returns:
        Tensor of shape ``(B,)``, values >= 0 or NaN, in the inputs' dtype and device.

    Raises:
        EstimatorInputError: If the images are not finite floating ``(B, C, H, W)`` tensors of
            equal shape and dtype, or ``sigma`` or ``floor`` is not finite and positive.

    Example:
        >>> x = torch.rand(1, 1, 16, 16, dtype=torch.float64)
        >>> float(invented_detail_ratio(x, x, 2.0))
        0.0
        >>> invented_detail_ratio(x, torch.full_like(x, 0.5), 2.0).isnan().item()
        True
    """
    check_positive(floor, "floor")
    residual, energy = invented_detail_statistics(restored, target, sigma)
    return invented_detail_ratio_from_statistics(
        residual, energy, math.prod(target.shape[1:]), floor
    )


def invented_detail_ratio_from_statistics(
    residual_energy: torch.Tensor,
    detail_energy: torch.Tensor,
    values_per_image: int | torch.Tensor,
    floor: float = FLAT_DETAIL_ENERGY,
) -> torch.Tensor:
    """The invented-detail ratio from its sufficient statistics, NaN for a flat ground truth.

    Implements docs/theory.md §3.7 (invented-detail ratio, global form) from the output of
    :func:`invented_detail_statistics`: ``ratio = ||r||^2 / ||D x||^2``, and NaN where the
    ground truth is flat, ``||D x||^2 <= floor * values_per_image`` (mean squared detail per
    value at most ``floor``). This is the one rule for "flat": :func:`invented_detail_ratio`
    and the engine, which keeps the energies of pairs of several sizes, both apply it.

    Args:
        residual_energy: ``(B,)`` residual energies ``||D x̂ - a D x||^2``.
        detail_energy: ``(B,)`` detail energies ``||D x||^2``, same dtype.
        values_per_image: ``C * H * W`` of each image (an int, or a ``(B,)`` tensor when the
            images differ in size).
        floor: Mean squared detail per value at or below which the ground truth counts as
            flat, > 0.

    Returns:
        Tensor of shape ``(B,)``, values >= 0 or NaN, in the energies' dtype and device.

    Raises:
        EstimatorInputError: If ``floor`` is not finite and positive.

    Example:
        >>> residual = torch.tensor([0.5, 0.0], dtype=torch.float64)
        >>> energy = torch.tensor([2.0, 1e-12], dtype=torch.float64)
        >>> invented_detail_ratio_from_statistics(residual, energy, 16).tolist()
        [0.25, nan]
    """
    check_positive(floor, "floor")
    flat = detail_energy <= floor * values_per_image
    ratio = residual_energy / torch.where(flat, torch.ones_like(detail_energy), detail_energy)
    return torch.where(flat, torch.full_like(ratio, math.nan), ratio)


def invented_detail_map(
    restored: torch.Tensor,
    target: torch.Tensor,
    sigma: float,
    window_sigma: float = 8.0,
    floor: float = 1e-2,
) -> torch.Tensor:
    """Windowed invented-detail ratio: where in the image the detail is invented.

    Implements docs/theory.md §3.7 (invented-detail map).

    With ``h = D x̂``, ``g = D x``, ``W`` a Gaussian window of scale ``window_sigma`` and channel
    sums inside the products: ``S_hh = W*(h.h)``, ``S_hg = W*(h.g)``, ``S_gg = W*(g.g)``. The
    local least-squares fit ``a = S_hg / S_gg`` leaves the residual energy
    ``R = S_hh - S_hg^2 / S_gg`` (clamped to ``[0, S_hh]``; ``R = S_hh`` where ``S_gg = 0``), and
    ``map = R / (S_gg + f)`` with ``f = floor * mean_pixels(g.g)``, a floor proportional to the
    image's own mean detail energy. The map is 0 where ``x̂ = c x + b`` locally; it is NaN for
    an image whose ground truth is flat (mean squared detail per value <= 1e-12), like
    :func:`invented_detail_ratio`.

    Args:
        restored: Restored images ``x̂``, floating ``(B, C, H, W)``, finite, in [0, 1].
        target: Ground truth ``x``, same shape and dtype as ``restored``.
        sigma: Scale of the detail operator in pixels, > 0.
        window_sigma: Scale of the Gaussian window in pixels, > 0 (docs/theory.md default 8).
        floor: Denominator floor as a fraction of the mean detail energy, > 0.

    Returns:
        Tensor of shape ``(B, 1, H, W)``, values >= 0 (or NaN, see above), in the inputs' dtype
        and device.

    Raises:
        EstimatorInputError: If the images are not finite floating ``(B, C, H, W)`` tensors of
            equal shape and dtype, or ``sigma``, ``window_sigma`` or ``floor`` is not finite
            and positive.

    Example:
        >>> x = torch.rand(1, 3, 24, 24, dtype=torch.float64)
        >>> m = invented_detail_map(2 * x - 0.5, x, 2.0)
        >>> m.shape, bool(m.abs().max() < 1e-9)
        (torch.Size([1, 1, 24, 24]), True)
    """
    check_pair(restored, target)
    for value, name in ((sigma, "sigma"), (window_sigma, "window_sigma"), (floor, "floor")):
        check_positive(value, name)
    h = detail(restored, sigma)
    g = detail(target, sigma)
    products = torch.cat(
        [
            (h * h).sum(dim=1, keepdim=True),
            (h * g).sum(dim=1, keepdim=True),
            (g * g).sum(dim=1, keepdim=True),
        ],
        dim=1,
    )
    s_hh, s_hg, s_gg = gaussian_blur(products, window_sigma).unbind(dim=1)
    s_hh = s_hh.clamp_min(0.0)
    s_gg = s_gg.clamp_min(0.0)
    positive = s_gg > 0
    explained = torch.where(
        positive, s_hg * s_hg / torch.where(positive, s_gg, torch.ones_like(s_gg)), 0.0
    )
    residual = torch.minimum((s_hh - explained).clamp_min(0.0), s_hh)
    mean_energy = products[:, 2].mean(dim=(1, 2))
    offset = (floor * mean_energy).view(-1, 1, 1)
    ratio = residual / (s_gg + torch.where(offset > 0, offset, torch.ones_like(offset)))
    flat = (mean_energy <= FLAT_DETAIL_ENERGY * target.shape[1]).view(-1, 1, 1)
    return torch.where(flat, torch.full_like(ratio, math.nan), ratio).unsqueeze(1)
