"""Cheap checks of uploaded images, from their headers (Pillow), before a job is accepted.

The worker decodes every image fully later; here the API only reads what it needs to refuse a
bad batch at once: the format, the size (after EXIF orientation), the mode and channel count,
the number of frames and the pixel count. PNG files are also verified chunk by chunk (CRCs
and the end marker), which catches truncated uploads without decoding pixels.

Call ``configure_pillow`` once at start-up: it turns Pillow's decompression-bomb warning into
an error, so a tiny file that claims a huge size is refused, never decoded.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import BinaryIO, Final

from PIL import Image, UnidentifiedImageError

ACCEPTED_FORMATS: Final = ("PNG", "JPEG", "TIFF", "WEBP")
# Mode -> channels after conversion (alpha dropped, palette expanded to RGB).
_CHANNELS: Final = {
    "L": 1,
    "LA": 1,
    "I": 1,
    "I;16": 1,
    "I;16B": 1,
    "I;16L": 1,
    "I;16N": 1,
    "F": 1,
    "RGB": 3,
    "RGBA": 3,
    "RGBX": 3,
    "P": 3,
    "PA": 3,
}
_EXIF_ORIENTATION: Final = 0x0112
_EXTENSIONS: Final = {"PNG": "png", "JPEG": "jpg", "TIFF": "tif", "WEBP": "webp"}


class InvalidImageError(ValueError):
    """The upload is not an image this service accepts; the message says why."""


@dataclass(frozen=True, slots=True)
class ImageHeader:
    """What the header says about an accepted image."""

    format: str
    mode: str
    width: int
    height: int
    channels: int
    has_alpha: bool

    @property
    def extension(self) -> str:
        """File name extension for the format."""
        return _EXTENSIONS[self.format]


def configure_pillow() -> None:
    """Make Pillow's decompression-bomb warning an error (idempotent)."""
    warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


def inspect_image(fp: BinaryIO, *, max_pixels: int) -> ImageHeader:
    """Check an uploaded image from its header; leaves ``fp`` at offset 0.

    Raises:
        InvalidImageError: Not a decodable PNG/JPEG/TIFF/WebP, more than one frame, a mode
            other than 8/16-bit grey, RGB(A) or float grey, more than ``max_pixels`` pixels,
            or (PNG) truncated or corrupt.
    """
    fp.seek(0)
    try:
        header = _read_header(fp, max_pixels)
    finally:
        fp.seek(0)
    return header


def _read_header(fp: BinaryIO, max_pixels: int) -> ImageHeader:
    try:
        with Image.open(fp, formats=ACCEPTED_FORMATS) as im:
            fmt = im.format or ""
            mode = im.mode
            width, height = im.size
            frames = int(getattr(im, "n_frames", 1))
            orientation = im.getexif().get(_EXIF_ORIENTATION, 1) if fmt != "PNG" else 1
            has_alpha = "A" in mode or "transparency" in im.info
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImageError(f"image too large: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise InvalidImageError("not a decodable image (PNG, JPEG, TIFF or WebP)") from exc
    except Exception as exc:  # Pillow parsing untrusted bytes raises anything
        # (OSError, SyntaxError, struct.error, TypeError "Missing dimensions", ... found by
        # fuzzing); every one of them means the upload is not an image we can read.
        raise InvalidImageError("not a decodable image (PNG, JPEG, TIFF or WebP)") from exc
    if fmt not in ACCEPTED_FORMATS:  # pragma: no cover - Image.open(formats=...) enforces it
        raise InvalidImageError(f"format {fmt!r} is not accepted")
    if frames != 1:
        raise InvalidImageError(f"expected a single frame, got {frames}")
    channels = _CHANNELS.get(mode)
    if channels is None:
        raise InvalidImageError(
            f"mode {mode!r} is not accepted: expected 8- or 16-bit grey, RGB or RGBA"
        )
    if width < 1 or height < 1:
        raise InvalidImageError(f"empty image ({width}x{height})")
    if width * height > max_pixels:
        raise InvalidImageError(f"image too large: {width}x{height} is over {max_pixels} pixels")
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    if fmt == "PNG":
        _verify_png(fp)
    return ImageHeader(fmt, mode, width, height, channels, has_alpha)


def _verify_png(fp: BinaryIO) -> None:
    fp.seek(0)
    try:
        with Image.open(fp, formats=("PNG",)) as im:
            im.verify()
    except Exception as exc:  # as in _read_header
        raise InvalidImageError(f"truncated or corrupt PNG: {exc}") from exc
