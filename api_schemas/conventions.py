"""Numeric conventions of the field that the estimators, the engine and the API share.

The one module of the project the pure estimator library may import (constants and pure
integer rules only, no dependency): the API's image policy needs the SSIM window to refuse
images too small for it, the engine needs the luma weights to scale noise into luma, the cost
model pads FFTs as the patch estimators do, and the estimators compute with them.
"""

from __future__ import annotations

from typing import Final

SSIM_WINDOW: Final = 11
"""Side of SSIM's Gaussian window (Wang et al. 2004), in pixels."""
SSIM_SIGMA: Final = 1.5
"""Standard deviation of SSIM's Gaussian window, in pixels."""

MATLAB_Y_OFFSET: Final = 16.0 / 255.0
"""MATLAB ``rgb2ycbcr`` luma offset for R, G, B in [0, 1]."""
MATLAB_Y_WEIGHTS: Final = (65.481 / 255.0, 128.553 / 255.0, 24.966 / 255.0)
"""MATLAB ``rgb2ycbcr`` luma weights: Y = (16 + 65.481 R + 128.553 G + 24.966 B) / 255, the
super-resolution papers' convention."""
BT601_LUMA_WEIGHTS: Final = (0.299, 0.587, 0.114)
"""Full-range BT.601 luma weights: Y = 0.299 R + 0.587 G + 0.114 B."""


def fast_fft_size(n: int) -> int:
    """Smallest 2^a 3^b 5^c >= ``n``: the FFT length the patch estimators pad to.

    pocketfft handles such sizes quickly; the API's cost model pads the same way, so the rule
    lives here once.

    >>> [fast_fft_size(n) for n in (1, 7, 97, 263)]
    [1, 8, 100, 270]
    """
    size = n
    while True:
        m = size
        for f in (2, 3, 5):
            while m % f == 0:
                m //= f
        if m == 1:
            return size
        size += 1


PATCH_CHUNK_ELEMENTS: Final = 1 << 24
"""Elements of the largest per-image intermediates (cross spectra, look-up table) one chunk of
the stride-1 patch moments may hold: images are transformed this many elements at a time."""
PATCH_SPECTRUM_COPIES: Final = 4
"""Spectrum-sized buffers alive at once in a chunk of the stride-1 lag sums: the zero-padded
input of the forward transform, the spectrum, and one channel's cross spectra with its
conjugate."""


COVARIANCE_CHUNK_ELEMENTS: Final = 1 << 20
"""Entries of one ``(rows, d, d)`` float64 stack (8 MiB) that the Gaussian estimators take
from rows of patch moments at a time: a group's hundreds of bootstrap resamples are turned
into covariances, factorised and reduced this many rows at a time, so their working memory
is a few such stacks, not a few ``(R, d, d)`` ones."""


def covariance_chunk_rows(dimension: int) -> int:
    """Rows of patch moments of dimension ``d`` evaluated together: ``COVARIANCE_CHUNK_ELEMENTS
    // d^2``, at least 1.

    >>> covariance_chunk_rows(192), covariance_chunk_rows(64), covariance_chunk_rows(2048)
    (28, 256, 1)
    """
    return max(1, COVARIANCE_CHUNK_ELEMENTS // (dimension * dimension))


def patch_transform_chunk(channels: int, height: int, width: int, patch_size: int) -> int:
    """Images per chunk of the stride-1 lag sums (docs/theory.md 3.3) of ``channels x height x
    width`` images: :data:`PATCH_CHUNK_ELEMENTS` over the largest per-image intermediate (the
    ``C^2`` cross spectra on the zero-padded FFT grid, or the ``(2p - 1)^2 p^2`` lag table
    per channel pair), at least 1. The engine chunks by it and the cost model counts it.

    >>> patch_transform_chunk(3, 256, 256, 8), patch_transform_chunk(1, 4096, 4096, 8)
    (25, 1)
    """
    q = patch_size - 1
    grid = fast_fft_size(height + q) * fast_fft_size(width + q)
    per_image = channels * channels * max(grid, (2 * q + 1) ** 2 * patch_size**2)
    return max(1, PATCH_CHUNK_ELEMENTS // per_image)


def patch_unfold_chunk(dimension: int, positions: int) -> int:
    """Images per chunk of the unfolded patch moments (stride above 1, or p = 1): each image
    unfolds to ``d x positions`` values; :data:`PATCH_CHUNK_ELEMENTS` of them at a time, at
    least one image.

    >>> patch_unfold_chunk(64, 16_129), patch_unfold_chunk(192, 1 << 20)
    (16, 1)
    """
    return max(1, PATCH_CHUNK_ELEMENTS // (dimension * positions))


def patch_working_bytes(
    images: int, channels: int, height: int, width: int, patch_size: int
) -> int:
    """Estimated working memory of the stride-1 patch moments of ``images`` images of
    ``channels x height x width`` (docs/theory.md 3.3): the float64 copy of the stack plus the
    spectra of one chunk of images. An estimate for choosing a band height, not a bound; the
    engine and the cost model choose bands by it, so the rule lives here once.

    >>> patch_working_bytes(3, 3, 1024, 1024, 8) > patch_working_bytes(3, 3, 263, 1024, 8)
    True
    """
    q = patch_size - 1
    rows, cols = fast_fft_size(height + q), fast_fft_size(width + q)
    chunk = min(images, patch_transform_chunk(channels, height, width, patch_size))
    spectra = PATCH_SPECTRUM_COPIES * chunk * channels * rows * (cols // 2 + 1) * 16
    return 8 * images * channels * height * width + spectra


def patch_band_rows(
    images: int, channels: int, height: int, width: int, patch_size: int, budget: int | None
) -> int | None:
    """Rows of patch positions per band of the stride-1 patch moments under ``budget`` bytes of
    :func:`patch_working_bytes`: ``None`` when the whole images fit (or no budget), else the
    tallest band that fits, at least 1 (a band then holds ``rows + patch_size - 1`` image rows;
    the lag sums are additive over bands, docs/theory.md 3.3).

    >>> patch_band_rows(3, 3, 4096, 4096, 8, None) is None
    True
    >>> budget = patch_working_bytes(3, 3, 263, 4096, 8)
    >>> patch_band_rows(3, 3, 4096, 4096, 8, budget)
    256
    """
    if budget is None or patch_working_bytes(images, channels, height, width, patch_size) <= budget:
        return None
    low, high = 1, max(1, height - patch_size + 1)
    while low < high:  # the float64 copy grows with every row: the bytes rise strictly
        middle = (low + high + 1) // 2
        if (
            patch_working_bytes(images, channels, middle + patch_size - 1, width, patch_size)
            <= budget
        ):
            low = middle
        else:
            high = middle - 1
    return low
