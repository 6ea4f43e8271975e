"""Image checks of uploads, before a job is accepted: the shared policy of ``api_schemas.images``.

The API only inspects (format, mode, size, orientation, declared compression and structure,
never the pixels: :func:`inspect_image`); the worker decodes with the same rule first
(``workers.io``), so both decide alike.

Call ``configure_pillow`` once at start-up: it turns Pillow's decompression-bomb warning into
an error process-wide (the inspection does so itself for its own parse).
"""

from __future__ import annotations

import warnings

from PIL import Image

from api_schemas.images import ACCEPTED_FORMATS, ImageHeader, InvalidImageError, inspect_image

__all__ = [
    "ACCEPTED_FORMATS",
    "ImageHeader",
    "InvalidImageError",
    "configure_pillow",
    "inspect_image",
]


def configure_pillow() -> None:
    """Make Pillow's decompression-bomb warning an error (idempotent)."""
    warnings.filterwarnings("error", category=Image.DecompressionBombWarning)
