"""Numeric conventions of the field that the estimators, the engine and the API share.

The one module of the project the pure estimator library may import (constants only, no
dependency): the API's image policy needs the SSIM window to refuse images too small for it,
the engine needs the luma weights to scale noise into luma, and the estimators compute with them.
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
