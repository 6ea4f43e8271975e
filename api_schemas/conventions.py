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
