"""Cheap checks of uploaded images, from their headers (Pillow), before a job is accepted.

The worker decodes every image fully later; here the API only reads what it needs to refuse a
bad batch at once: the format, the size (after EXIF orientation), the mode and channel count,
the number of frames and the pixel count. PNG files are also verified chunk by chunk (CRCs
and the end marker), which catches truncated uploads without decoding pixels.

Call ``configure_pillow`` once at start-up: it turns Pillow's decompression-bomb warning into
an error, so a tiny file that claims a huge size is refused, never decoded.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import BinaryIO, Final

import numpy as np
from PIL import Image, UnidentifiedImageError

ACCEPTED_FORMATS: Final = ("PNG", "JPEG", "TIFF", "WEBP")
# Mode -> channels after conversion (alpha dropped, palette expanded to RGB).
_CHANNELS: Final = {
    "L": 1,
    "LA": 1,
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
# The end of a JPEG entropy-coded segment: 0xFF followed by neither a stuffed 0x00 nor a
# restart marker (RST0-7), so a marker (or fill byte) starts there.
_JPEG_SCAN_END: Final = re.compile(rb"\xff[^\x00\xd0-\xd7]")
_JPEG_STANDALONE: Final = frozenset({0x01, *range(0xD0, 0xD8)})
_JPEG_HEAD: Final = 64  # a marker, its fill bytes and a segment length
_CHUNK: Final = 1 << 20
_TIFF_STRIPS: Final = ((273, 279), (324, 325))  # (offsets, byte counts): strips, tiles


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
            truncated (PNG chunks, JPEG markers, TIFF strip extents), or a float image with
            values that are not finite or outside [0, 1].
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
            strips_end = _tiff_strips_end(im) if fmt == "TIFF" else 0
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
    elif fmt == "JPEG":
        _verify_jpeg(fp)
    elif fmt == "TIFF":
        _verify_tiff(fp, strips_end, mode)
    return ImageHeader(fmt, mode, width, height, channels, has_alpha)


def _verify_png(fp: BinaryIO) -> None:
    fp.seek(0)
    try:
        with Image.open(fp, formats=("PNG",)) as im:
            im.verify()
    except Exception as exc:  # as in _read_header
        raise InvalidImageError(f"truncated or corrupt PNG: {exc}") from exc


def _verify_jpeg(fp: BinaryIO) -> None:
    """Walk the JPEG's markers to its end-of-image marker: a truncated file has none.

    Segments are skipped by their length (by seeking); entropy-coded data after each
    start-of-scan is scanned in 1 MiB chunks to the next real marker, so progressive files
    (several scans) and EXIF thumbnails (their own EOI inside an APP1 segment) are handled,
    and memory stays bounded whatever the file's size.
    """
    size = fp.seek(0, 2)
    pos = 2  # after SOI, which Image.open checked
    while pos < size:
        fp.seek(pos)
        head = fp.read(_JPEG_HEAD)
        skip = len(head) - len(head.lstrip(b"\xff"))  # the marker's 0xFF and fill bytes
        if skip == 0:
            raise InvalidImageError(f"corrupt JPEG: expected a marker at byte {pos}")
        if skip + 1 > len(head):
            break
        marker = head[skip]
        pos += skip + 1
        if marker == 0xD9:  # EOI
            return
        if marker in _JPEG_STANDALONE:
            continue
        if skip + 3 > len(head):
            break
        length = int.from_bytes(head[skip + 1 : skip + 3], "big")
        if length < 2:
            raise InvalidImageError(f"corrupt JPEG: segment length {length} at byte {pos}")
        pos += length
        if marker == 0xDA:  # SOS: entropy-coded data up to the next marker
            found = _scan_end(fp, pos, size)
            if found is None:
                break
            pos = found
    raise InvalidImageError("truncated JPEG: the data ends before the end-of-image marker")


def _scan_end(fp: BinaryIO, pos: int, size: int) -> int | None:
    """Offset of the first marker at or after ``pos`` in entropy-coded data, or ``None``."""
    while pos < size:
        fp.seek(pos)
        chunk = fp.read(_CHUNK)
        if not chunk:
            return None
        found = _JPEG_SCAN_END.search(chunk)
        if found is not None:
            return pos + found.start()
        if len(chunk) < 2:
            return None
        pos += len(chunk) - 1  # overlap one byte: a marker may straddle the chunks
    return None


def _tiff_strips_end(im: Image.Image) -> int:
    """The largest offset + byte count of the TIFF's strips or tiles (0 if it names none)."""
    tags = getattr(im, "tag_v2", {})
    end = 0
    for offsets_tag, counts_tag in _TIFF_STRIPS:
        offsets, counts = tags.get(offsets_tag), tags.get(counts_tag)
        if offsets is None or counts is None:
            continue
        offsets = offsets if isinstance(offsets, tuple) else (offsets,)
        counts = counts if isinstance(counts, tuple) else (counts,)
        for offset, count in zip(offsets, counts, strict=False):
            end = max(end, int(offset) + int(count))
    return end


def _verify_tiff(fp: BinaryIO, strips_end: int, mode: str) -> None:
    """A TIFF must hold every byte its strips name; a float one must be finite, in [0, 1].

    Float images are decoded here (they are refused later otherwise, after the 202).
    """
    size = fp.seek(0, 2)
    fp.seek(0)
    if strips_end > size:
        raise InvalidImageError(
            f"truncated TIFF: its image data ends at byte {strips_end}, the file has {size}"
        )
    if mode != "F":
        return
    try:
        with Image.open(fp, formats=("TIFF",)) as im:
            im.load()
            pixels = np.asarray(im, dtype=np.float32)
    except Exception as exc:  # as in _read_header
        raise InvalidImageError(f"truncated or corrupt TIFF: {exc}") from exc
    if not np.isfinite(pixels).all():
        raise InvalidImageError("expected finite float values, got NaN or infinity")
    low, high = float(pixels.min()), float(pixels.max())
    if low < 0.0 or high > 1.0:
        raise InvalidImageError(
            f"expected float values in [0, 1], got values in [{low:g}, {high:g}]"
        )
