"""The known degradation as a batched linear operator H (docs/theory.md §3.6, §3.7).

A degradation is blur -> downsample (-> noise, which is not part of H). Each linear stage acts on
every channel alike and is one of:

* a **separable resampling** stage: per axis, a banded ``(n_out, n_in)`` matrix (built from
  per-output taps, applied as one matmul). The adjoint multiplies by the same matrix
  transposed, so it is exact, borders included. Used for

  - ``downsample`` ``bicubic``: Pillow's ``Image.resize((W // f, H // f), BICUBIC)``
    coefficients, computed exactly as Pillow's ``precompute_coeffs`` (Keys cubic with
    a = -0.5, support 2 scaled by the factor (antialiasing), output pixel ``i`` centred at input
    coordinate ``(i + 0.5) * scale`` with ``scale = in / out``, weights clipped at the image
    border and renormalised to sum 1). So the float operator equals Pillow's float (``"F"``)
    resize to float32 rounding (measured: < 2e-5 grey levels), and Pillow's 8-bit resize up
    to its two 8-bit roundings and clippings (measured RMS 0.32-0.34 grey levels at factors
    2-4 on scikit-image's photographs, after clipping ours to [0, 255]).
  - ``downsample`` ``area``: the same with Pillow's ``BOX`` filter: for integer factors the
    plain box average over ``f x f`` blocks.
  - ``downsample`` ``gaussian``: a Gaussian of standard deviation ``f / 2`` input pixels,
    evaluated at the same pixel-centre aligned output positions, truncated at 4 sigma and
    renormalised at the borders. For odd ``f`` this is "blur with sigma f/2, keep pixels
    ``f * i + (f - 1) / 2``"; for even ``f`` the output centre falls between input pixels, and
    the Gaussian is sampled there rather than at a pixel (no half-pixel shift).
  - ``blur`` with ``sigma``: ``scipy.ndimage.gaussian_filter(x, sigma, mode="reflect")``
    (radius ``int(4 sigma + 0.5)``, half-sample symmetric borders).

* a **2-D convolution** stage for an explicit blur kernel: ``scipy.ndimage.convolve(x, kernel,
  mode="reflect")`` (a true convolution, half-sample symmetric borders), realised as symmetric
  index padding + ``conv2d``; its adjoint is ``conv_transpose2d`` followed by folding the
  padding back with ``index_add``.

The operator is independent of batch and channel count; matrices are built per image size and
cached.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch.nn import functional

from workers.estimators._checks import check_images, check_positive
from workers.estimators.errors import EstimatorInputError

__all__ = [
    "Blur",
    "DegradationOperator",
    "Downsample",
    "DownsampleKernel",
    "Step",
]

DownsampleKernel = Literal["bicubic", "area", "gaussian"]
_KERNELS: tuple[str, ...] = ("bicubic", "area", "gaussian")
_CACHED_SIZES = 8


@dataclass(frozen=True)
class Downsample:
    """Downsampling by an integer ``factor`` with a ``bicubic``, ``area`` or ``gaussian`` kernel."""

    factor: int
    kernel: DownsampleKernel = "bicubic"


@dataclass(frozen=True)
class Blur:
    """A Gaussian blur (``sigma``) or an explicit odd-sized 2-D ``kernel`` (rows of floats)."""

    sigma: float | None = None
    kernel: tuple[tuple[float, ...], ...] | None = None


Step = Downsample | Blur


# --------------------------------------------------------------------------- 1-D coefficients
def _bicubic(x: np.ndarray) -> np.ndarray:
    """Pillow's ``bicubic_filter`` (Keys, a = -0.5)."""
    a = -0.5
    x = np.abs(x)
    inner = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    outer = (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return np.where(x < 1.0, inner, np.where(x < 2.0, outer, 0.0))


def _box(x: np.ndarray) -> np.ndarray:
    """Pillow's ``box_filter``: 1 on (-0.5, 0.5]."""
    return np.where((x > -0.5) & (x <= 0.5), 1.0, 0.0)


def _pillow_coefficients(in_size: int, out_size: int, kernel: str) -> tuple[np.ndarray, np.ndarray]:
    """Port of Pillow's ``precompute_coeffs`` (libImaging/Resample.c) in float64."""
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    base, function = (2.0, _bicubic) if kernel == "bicubic" else (0.5, _box)
    support = base * filterscale
    centers = (np.arange(out_size) + 0.5) * scale
    # C's (int) cast truncates towards zero; negative starts are clipped to 0 anyway.
    starts = np.maximum(np.trunc(centers - support + 0.5).astype(np.int64), 0)
    stops = np.minimum(np.trunc(centers + support + 0.5).astype(np.int64), in_size)
    taps = math.ceil(support) * 2 + 1
    index = starts[:, None] + np.arange(taps)[None, :]
    valid = index < stops[:, None]
    weight = np.where(valid, function((index - centers[:, None] + 0.5) / filterscale), 0.0)
    total = weight.sum(axis=1, keepdims=True)
    weight = np.divide(weight, total, out=np.zeros_like(weight), where=total != 0)
    return np.where(valid, index, 0), weight


def _gaussian_resample_coefficients(
    in_size: int, out_size: int, sigma: float
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian sampled at pixel-centre aligned output positions, renormalised at borders."""
    scale = in_size / out_size
    radius = 4.0 * sigma
    centers = (np.arange(out_size) + 0.5) * scale
    starts = np.maximum(np.ceil(centers - radius - 0.5).astype(np.int64), 0)
    taps = math.ceil(2 * radius) + 2
    index = starts[:, None] + np.arange(taps)[None, :]
    offset = index + 0.5 - centers[:, None]
    valid = (index < in_size) & (np.abs(offset) <= radius)
    weight = np.where(valid, np.exp(-0.5 * (offset / sigma) ** 2), 0.0)
    weight /= weight.sum(axis=1, keepdims=True)
    return np.where(valid, index, 0), weight


def _reflect(index: np.ndarray, size: int) -> np.ndarray:
    """scipy.ndimage's ``reflect`` (half-sample symmetric) index map, any distance."""
    period = 2 * size
    folded: np.ndarray = np.mod(index, period)
    reflected: np.ndarray = np.where(folded >= size, period - 1 - folded, folded)
    return reflected


def _gaussian_blur_coefficients(size: int, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """scipy.ndimage.gaussian_filter1d(mode="reflect", truncate=4.0) as a banded matrix."""
    radius = int(4.0 * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    taps = np.exp(-0.5 * (offsets / sigma) ** 2)
    taps /= taps.sum()
    index = _reflect(np.arange(size)[:, None] + offsets[None, :], size)
    return index, np.broadcast_to(taps, index.shape).copy()


# --------------------------------------------------------------------------- stages
class _Axis:
    """A banded matrix along one axis: ``out[i] = sum_k weight[i, k] * x[index[i, k]]``.

    Stored densely as ``(n_out, n_in)``: one BLAS matmul per application, and the adjoint is
    the product with the same matrix transposed.
    """

    def __init__(self, index: np.ndarray, weight: np.ndarray, in_size: int) -> None:
        dense = np.zeros((index.shape[0], in_size), dtype=np.float64)
        np.add.at(dense, (np.arange(index.shape[0])[:, None], index), weight)
        self.matrix = torch.from_numpy(dense)
        self.in_size = in_size
        self.out_size = index.shape[0]
        self._cache: dict[tuple[torch.dtype, torch.device, bool], torch.Tensor] = {}

    def _matrix(self, like: torch.Tensor, absolute: bool) -> torch.Tensor:
        key = (like.dtype, like.device, absolute)
        if key not in self._cache:
            matrix = self.matrix.abs() if absolute else self.matrix
            self._cache[key] = matrix.to(device=like.device, dtype=like.dtype)
        return self._cache[key]

    def apply_last(self, x: torch.Tensor, absolute: bool = False) -> torch.Tensor:
        return x @ self._matrix(x, absolute).T

    def adjoint_last(self, y: torch.Tensor) -> torch.Tensor:
        return y @ self._matrix(y, False)


class _Separable:
    """A separable stage: rows along H, then columns along W."""

    def __init__(self, rows: _Axis, cols: _Axis) -> None:
        self.rows, self.cols = rows, cols

    def apply(self, x: torch.Tensor, absolute: bool = False) -> torch.Tensor:
        x = self.cols.apply_last(x, absolute)
        return self.rows.apply_last(x.transpose(-1, -2), absolute).transpose(-1, -2)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        y = self.rows.adjoint_last(y.transpose(-1, -2)).transpose(-1, -2)
        return self.cols.adjoint_last(y)


class _Convolution:
    """``scipy.ndimage.convolve(x, kernel, mode="reflect")`` on each channel."""

    def __init__(self, kernel: np.ndarray, height: int, width: int) -> None:
        self.kernel = torch.from_numpy(np.ascontiguousarray(kernel[::-1, ::-1], dtype=np.float64))
        rh, rw = kernel.shape[0] // 2, kernel.shape[1] // 2
        self.row_index = torch.from_numpy(_reflect(np.arange(-rh, height + rh), height))
        self.col_index = torch.from_numpy(_reflect(np.arange(-rw, width + rw), width))
        self.height, self.width = height, width

    def _weight(self, like: torch.Tensor, absolute: bool) -> torch.Tensor:
        weight = self.kernel.abs() if absolute else self.kernel
        return weight.to(device=like.device, dtype=like.dtype)[None, None]

    def apply(self, x: torch.Tensor, absolute: bool = False) -> torch.Tensor:
        rows, cols = self.row_index.to(x.device), self.col_index.to(x.device)
        padded = x[..., rows, :][..., cols]
        flat = padded.reshape(-1, 1, *padded.shape[-2:])
        out = functional.conv2d(flat, self._weight(x, absolute))
        return out.reshape(*x.shape[:-2], self.height, self.width)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        flat = y.reshape(-1, 1, self.height, self.width)
        padded = functional.conv_transpose2d(flat, self._weight(y, False))
        rows, cols = self.row_index.to(y.device), self.col_index.to(y.device)
        folded = padded.new_zeros(padded.shape[0], 1, self.height, padded.shape[-1])
        folded.index_add_(-2, rows, padded)
        out = folded.new_zeros(folded.shape[0], 1, self.height, self.width)
        out.index_add_(-1, cols, folded)
        return out.reshape(*y.shape[:-2], self.height, self.width)


_Stage = _Separable | _Convolution


# --------------------------------------------------------------------------- the operator
class DegradationOperator:
    """The linear part H of a degradation, applied to ``(B, C, H, W)`` batches.

    Implements docs/theory.md §3.6 (the map A) and §3.7 (H, H+, I - H+ H).

    Args:
        steps: at most one :class:`Blur` followed by at most one :class:`Downsample`. An empty
            sequence is the identity.

    Raises:
        EstimatorInputError: on an unknown kernel, a factor below 1, a non-positive sigma, an
            even-sized or non-rectangular explicit kernel, or steps out of order.

    Example:
        Area 2x downsampling averages 2 x 2 blocks:

        >>> op = DegradationOperator([Downsample(2, "area")])
        >>> x = torch.arange(16.0, dtype=torch.float64).reshape(1, 1, 4, 4)
        >>> op.apply(x)[0, 0].tolist()
        [[2.5, 4.5], [10.5, 12.5]]
    """

    def __init__(self, steps: Sequence[Step]) -> None:
        order = [isinstance(step, Downsample) for step in steps]
        if len(steps) > 2 or order != sorted(order) or len(set(order)) != len(order):
            raise EstimatorInputError(
                f"expected at most one blur then at most one downsample, got {list(steps)!r}"
            )
        for step in steps:
            if isinstance(step, Downsample):
                if not (isinstance(step.factor, int) and step.factor >= 1):
                    raise EstimatorInputError(
                        f"expected an integer factor >= 1, got {step.factor!r}"
                    )
                if step.kernel not in _KERNELS:
                    raise EstimatorInputError(
                        f"expected a kernel in {_KERNELS}, got {step.kernel!r}"
                    )
            elif step.kernel is not None:
                shape = {len(row) for row in step.kernel}
                if len(shape) != 1 or len(step.kernel) % 2 == 0 or shape.pop() % 2 == 0:
                    raise EstimatorInputError(
                        "expected a rectangular blur kernel with odd sides, "
                        f"got rows of lengths {[len(row) for row in step.kernel]}"
                    )
            elif step.sigma is not None:
                check_positive(step.sigma, "blur sigma")
            else:
                raise EstimatorInputError("expected a blur sigma or kernel, got neither")
        self.steps: tuple[Step, ...] = tuple(steps)
        self._stages: dict[tuple[int, int], list[_Stage]] = {}

    @property
    def factor(self) -> int:
        """The downsampling factor (1 without downsampling): H commutes with shifts by it."""
        return next((s.factor for s in self.steps if isinstance(s, Downsample)), 1)

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """Observation size ``(H // factor, W // factor)`` for an image of ``height x width``."""
        return height // self.factor, width // self.factor

    def _build(self, height: int, width: int) -> list[_Stage]:
        if (height, width) in self._stages:
            return self._stages[(height, width)]
        if height < self.factor or width < self.factor:
            raise EstimatorInputError(
                f"expected images of at least {self.factor}x{self.factor} pixels, "
                f"got {height}x{width}"
            )
        stages: list[_Stage] = []
        for step in self.steps:
            if isinstance(step, Blur) and step.kernel is not None:
                stages.append(_Convolution(np.array(step.kernel, dtype=np.float64), height, width))
            elif isinstance(step, Blur):
                sigma = float(step.sigma or 0.0)
                stages.append(
                    _Separable(
                        _Axis(*_gaussian_blur_coefficients(height, sigma), height),
                        _Axis(*_gaussian_blur_coefficients(width, sigma), width),
                    )
                )
            elif step.factor > 1:
                h, w = height // step.factor, width // step.factor
                if step.kernel == "gaussian":
                    sigma = step.factor / 2.0
                    rows = _gaussian_resample_coefficients(height, h, sigma)
                    cols = _gaussian_resample_coefficients(width, w, sigma)
                else:
                    rows = _pillow_coefficients(height, h, step.kernel)
                    cols = _pillow_coefficients(width, w, step.kernel)
                stages.append(_Separable(_Axis(*rows, height), _Axis(*cols, width)))
        if len(self._stages) >= _CACHED_SIZES:  # bounded: an audit may see many image sizes
            self._stages.pop(next(iter(self._stages)))
        self._stages[(height, width)] = stages
        return stages

    def apply(self, x: torch.Tensor, *, absolute: bool = False) -> torch.Tensor:
        """Apply H to a batch.

        Args:
            x: ``(B, C, H, W)`` floating tensor.
            absolute: apply the operator with every weight replaced by its absolute value
                (used to find which observations a set of pixels touches).

        Returns:
            ``(B, C, H // factor, W // factor)``, same device and dtype.

        Raises:
            EstimatorInputError: if ``x`` is not a finite floating 4-D tensor or is smaller
                than the factor.
        """
        check_images(x, "x")
        for stage in self._build(x.shape[-2], x.shape[-1]):
            x = stage.apply(x, absolute)
        return x

    def adjoint(self, y: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        """Apply H' (the exact transpose) to a batch of observations.

        Args:
            y: ``(B, C, h, w)`` floating tensor.
            size: the image size ``(H, W)``; default ``(h * factor, w * factor)``.

        Returns:
            ``(B, C, H, W)``, same device and dtype.

        Raises:
            EstimatorInputError: if ``y`` is invalid or ``size`` does not map to ``(h, w)``.
        """
        check_images(y, "y")
        height, width = (
            size
            if size is not None
            else (
                y.shape[-2] * self.factor,
                y.shape[-1] * self.factor,
            )
        )
        if self.output_size(height, width) != tuple(y.shape[-2:]):
            raise EstimatorInputError(
                f"expected observations of size {self.output_size(height, width)} for images "
                f"of {height}x{width}, got {tuple(y.shape[-2:])}"
            )
        for stage in reversed(self._build(height, width)):
            y = stage.adjoint(y)
        return y

    def pseudo_inverse(
        self,
        y: torch.Tensor,
        size: tuple[int, int] | None = None,
        tol: float = 1e-10,
        max_iter: int = 500,
    ) -> torch.Tensor:
        """Minimum-norm solution ``H+ y = H' (H H')^-1 y`` by conjugate gradients.

        CG runs on ``H H'`` in float64, batched, each sample stopping when its residual norm is
        at most ``tol * |y|``. A downsampling ``H H'`` is well conditioned (tens of iterations);
        a strong blur is not, and then the iterate after ``max_iter`` steps is returned: CG's
        early stopping acts as a regulariser, giving the minimum-norm solution restricted to
        the well-observed directions.

        Args:
            y: ``(B, C, h, w)`` observations.
            size: image size ``(H, W)``; default ``(h * factor, w * factor)``.
            tol: relative residual tolerance, > 0.
            max_iter: iteration cap, >= 1.

        Returns:
            ``(B, C, H, W)`` in the dtype and device of ``y``.

        Raises:
            EstimatorInputError: on invalid ``y``, ``size``, ``tol`` or ``max_iter``.
        """
        check_images(y, "y")
        check_positive(tol, "tol")
        if not (isinstance(max_iter, int) and max_iter >= 1):
            raise EstimatorInputError(f"expected max_iter >= 1, got {max_iter!r}")
        size = size or (y.shape[-2] * self.factor, y.shape[-1] * self.factor)
        rhs = y.to(torch.float64)

        def gram(v: torch.Tensor) -> torch.Tensor:
            return self.apply(self.adjoint(v, size))

        def dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return (a * b).sum(dim=(1, 2, 3), keepdim=True)

        z = torch.zeros_like(rhs)
        residual = rhs.clone()
        direction = residual.clone()
        rr = dot(residual, residual)
        threshold = (tol**2) * dot(rhs, rhs)
        for _ in range(max_iter):
            active = rr > threshold
            if not bool(active.any()):
                break
            q = gram(direction)
            curvature = dot(direction, q)
            alpha = torch.where(active & (curvature > 0), rr / curvature, torch.zeros_like(rr))
            z = z + alpha * direction
            residual = residual - alpha * q
            rr_new = dot(residual, residual)
            beta = torch.where(active, rr_new / rr.clamp_min(1e-300), torch.zeros_like(rr))
            direction = residual + beta * direction
            rr = rr_new
        return self.adjoint(z, size).to(y.dtype)

    def null_space_project(
        self, x: torch.Tensor, tol: float = 1e-10, max_iter: int = 500
    ) -> torch.Tensor:
        """``(I - H+ H) x``: the part of ``x`` that the observation cannot see.

        Args:
            x: ``(B, C, H, W)`` images.
            tol: CG tolerance of :meth:`pseudo_inverse`.
            max_iter: CG iteration cap.

        Returns:
            ``(B, C, H, W)``, dtype and device of ``x``.

        Raises:
            EstimatorInputError: on invalid ``x``.
        """
        check_images(x, "x")
        size = (x.shape[-2], x.shape[-1])
        return x - self.pseudo_inverse(self.apply(x), size, tol, max_iter)

    def support_radius(self) -> int:
        """A bound, in input pixels, on how far an observation reaches from its centre."""
        radius = 0.0
        for step in self.steps:
            if isinstance(step, Blur) and step.kernel is not None:
                radius += max(len(step.kernel), len(step.kernel[0])) // 2
            elif isinstance(step, Blur):
                radius += int(4.0 * float(step.sigma or 0.0) + 0.5)
            else:
                radius += 2.0 * step.factor  # bicubic and 4-sigma gaussian: 2f, area: f / 2
        return math.ceil(radius) + 1

    def matrix_for_window(self, window_size: int, phase: tuple[int, int] = (0, 0)) -> torch.Tensor:
        """Dense A_w: the observations that depend only on pixels of one window.

        Implements docs/theory.md §3.6 step 1. The window (``window_size`` square, row-major
        flattening) is placed inside a canvas large enough that no border effect reaches it,
        at row and column offsets congruent to ``phase`` modulo the factor (H commutes only
        with shifts by the factor, so each phase has its own A_w). Each row of the result is
        one observation whose whole support lies inside the window; observations touching any
        pixel outside are dropped.

        Args:
            window_size: side of the window in pixels, >= 1.
            phase: offset of the window's top-left pixel relative to the sampling grid, each in
                ``[0, factor)``.

        Returns:
            ``(d'_w, d_w)`` float64 CPU tensor, ``d_w = window_size ** 2``; ``d'_w`` may be 0
            if the window is smaller than one observation's support.

        Raises:
            EstimatorInputError: on a window below 1 pixel or a phase out of range.

        Example:
            >>> op = DegradationOperator([Downsample(2, "area")])
            >>> op.matrix_for_window(2).tolist()
            [[0.25, 0.25, 0.25, 0.25]]
        """
        _, canvas, top, left, inside = self._window_on_canvas(window_size, phase)
        d_w = window_size * window_size
        basis = torch.zeros(d_w, 1, canvas, canvas, dtype=torch.float64)
        pixels = torch.arange(d_w)
        basis[pixels, 0, top + pixels // window_size, left + pixels % window_size] = 1.0
        columns = self.apply(basis).reshape(d_w, -1)
        return columns[:, inside.flatten()].T.contiguous()

    def _window_on_canvas(
        self, window_size: int, phase: tuple[int, int]
    ) -> tuple[int, int, int, int, torch.Tensor]:
        """A canvas with the window at ``phase`` far from its borders, and which observations
        depend only on the window: ``(pad, canvas, top, left, inside)``, ``inside`` a boolean
        mask over the canvas's observation grid."""
        if not (isinstance(window_size, int) and window_size >= 1):
            raise EstimatorInputError(f"expected window_size >= 1, got {window_size!r}")
        f = self.factor
        if not all(isinstance(p, int) and 0 <= p < f for p in phase):
            raise EstimatorInputError(f"expected phase entries in [0, {f}), got {phase!r}")
        pad = f * (self.support_radius() // f + 1)
        canvas = f * math.ceil((2 * pad + f + window_size) / f)
        top, left = pad + phase[0], pad + phase[1]
        outside = torch.ones(1, 1, canvas, canvas, dtype=torch.float64)
        outside[..., top : top + window_size, left : left + window_size] = 0.0
        inside = self.apply(outside, absolute=True)[0, 0] == 0
        return pad, canvas, top, left, inside

    def window_observation_offsets(
        self, window_size: int, phase: tuple[int, int] = (0, 0)
    ) -> torch.Tensor:
        """Where the rows of :meth:`matrix_for_window` sit in an image's observation grid.

        Implements docs/theory.md §3.9 (the Gaussian-model posterior mean of a patch needs the
        observations of its window). For a window whose top-left pixel is at ``(r, c)`` with
        ``r % factor == phase[0]`` and ``c % factor == phase[1]``, lying inside the image,
        row ``k`` of ``matrix_for_window(window_size, phase)`` is the observation
        ``y[(r - phase[0]) // factor + offsets[k, 0], (c - phase[1]) // factor + offsets[k, 1]]``
        (H commutes with shifts by the factor, and an observation whose support lies inside
        the window is untouched by the image's border handling).

        Returns:
            ``(d'_w, 2)`` int64 CPU tensor of (row, column) offsets, in the matrix's row order.

        Example:
            >>> DegradationOperator([Downsample(2, "area")]).window_observation_offsets(4).tolist()
            [[0, 0], [0, 1], [1, 0], [1, 1]]
        """
        pad, _, _, _, inside = self._window_on_canvas(window_size, phase)
        return torch.nonzero(inside) - pad // self.factor
