"""Image decoding (Pillow) to float32 tensors in [0, 1], with the checks an upload needs.

Accepted (docs/API.md, "Accepted images"): PNG, JPEG, TIFF and WebP; 8- or 16-bit integer
grey or RGB, RGBA/LA (alpha dropped with a warning), palette (to RGB, or to grey when the
palette is grey), bilevel (to grey), EXIF orientation applied, and float TIFF when every value
is finite and in [0, 1]. Everything else raises `ImageDecodeError` naming the file.

Decompression bombs are stopped twice: the per-call ``max_pixels`` is checked against the
header's size before any pixel is decoded, and Pillow's own ``DecompressionBombWarning``
(above ``Image.MAX_IMAGE_PIXELS``, a process-wide setting this module never changes) is
turned into an error while the header is parsed. ``warnings.catch_warnings`` swaps a
process-wide filter list, so that short header step runs under a module lock; the pixel
decoding, where Pillow releases the GIL, runs outside it, in parallel in `decode_many`.
"""

from __future__ import annotations

import io
import os
import threading
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from workers.errors import AuditInputError, ImageDecodeError

ACCEPTED_FORMATS = ("PNG", "JPEG", "TIFF", "WEBP")
DEFAULT_MAX_PIXELS = 40_000_000

_HEADER_LOCK = threading.Lock()
_GREY_16 = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
# Pillow mode -> (bit depth, divisor to [0, 1]).
_SCALES: dict[str, tuple[int, float]] = {
    "1": (1, 1.0),
    "L": (8, 255.0),
    "LA": (8, 255.0),
    "P": (8, 255.0),
    "RGB": (8, 255.0),
    "RGBA": (8, 255.0),
    "F": (32, 1.0),
    **{mode: (16, 65535.0) for mode in _GREY_16},
}


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """One decoded image.

    Attributes:
        tensor: ``(C, H, W)`` float32 tensor in [0, 1], ``C`` in {1, 3}, contiguous, on CPU.
        mode: the file's Pillow mode before conversion (``"RGBA"``, ``"I;16"``, ``"P"``...).
        bit_depth: bits per sample in the file (1, 8, 16 or 32 for float).
        format: ``"PNG"``, ``"JPEG"``, ``"TIFF"`` or ``"WEBP"`` (a multi-picture JPEG, MPO,
            counts as JPEG: its primary image is decoded, with a warning).
        warnings: human-readable notes about lossy conversions, each naming the file.
    """

    tensor: torch.Tensor
    mode: str
    bit_depth: int
    format: str
    warnings: list[str] = field(default_factory=list)


def _open(source: Path | str | bytes, name: str) -> Image.Image:
    """Open the header only, as one of the accepted formats; bombs become errors."""
    if isinstance(source, bytes | bytearray | memoryview):
        if len(source) == 0:
            raise ImageDecodeError("empty file", part=name)
        stream: Path | io.BytesIO = io.BytesIO(bytes(source))
    else:
        stream = Path(source)
        try:
            size = stream.stat().st_size
        except OSError as error:
            raise ImageDecodeError(f"cannot read file ({error.strerror})", part=name) from None
        if size == 0:
            raise ImageDecodeError("empty file", part=name)
    with _HEADER_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return Image.open(stream, formats=ACCEPTED_FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ImageDecodeError(f"decompression bomb: {error}", part=name) from None
        except UnidentifiedImageError:
            raise ImageDecodeError(
                "not a PNG, JPEG, TIFF or WebP image (unknown format or wrong magic bytes)",
                part=name,
            ) from None
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise ImageDecodeError(f"corrupt image header: {error}", part=name) from None


def _check_header(image: Image.Image, name: str, max_pixels: int) -> None:
    """Reject before decoding: too many pixels, several frames, unsupported modes."""
    width, height = image.size
    if width * height > max_pixels:
        raise ImageDecodeError(
            f"image of {width}x{height} = {width * height} pixels exceeds the limit of "
            f"{max_pixels} pixels",
            part=name,
        )
    frames = getattr(image, "n_frames", 1)
    if frames > 1 and image.format != "MPO":
        raise ImageDecodeError(
            f"animated or multi-frame images are not supported, got {frames} frames", part=name
        )
    if image.mode not in _SCALES:
        raise ImageDecodeError(
            f"unsupported image mode {image.mode} (expected grey, RGB, RGBA, palette or "
            "float grey)",
            part=name,
        )


def _is_grey_palette(image: Image.Image) -> bool:
    palette = image.getpalette("RGB")
    if not palette:
        return True
    rgb = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    return bool((rgb[:, 0] == rgb[:, 1]).all() and (rgb[:, 1] == rgb[:, 2]).all())


def _to_array(image: Image.Image, name: str, notes: list[str]) -> np.ndarray:
    """Pixels as an ``(H, W)`` or ``(H, W, C)`` array, alpha and palette resolved."""
    mode = image.mode
    if mode in ("RGBA", "LA"):
        notes.append(f"{name}: alpha channel dropped ({mode})")
        pixels = np.asarray(image)
        return pixels[..., 0] if mode == "LA" else pixels[..., :3]
    if mode == "P":
        if "transparency" in image.info:
            notes.append(f"{name}: palette transparency dropped")
        return np.asarray(image.convert("L" if _is_grey_palette(image) else "RGB"))
    return np.asarray(image)


def _to_tensor(pixels: np.ndarray, divisor: float) -> torch.Tensor:
    """One pass: cast to float32, divide, and lay out as ``(C, H, W)``."""
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    planes = pixels.transpose(2, 0, 1)
    out = np.empty(planes.shape, dtype=np.float32)
    np.divide(planes, np.float32(divisor), out=out, dtype=np.float32)
    return torch.from_numpy(out)


def decode_image(
    source: Path | str | bytes, *, name: str, max_pixels: int = DEFAULT_MAX_PIXELS
) -> DecodedImage:
    """Decode one PNG, JPEG, TIFF or WebP file to a float32 ``(C, H, W)`` tensor in [0, 1].

    8-bit samples are divided by 255, 16-bit ones by 65535, bilevel ones map to {0, 1};
    float TIFF is taken as is when every value is finite and in [0, 1]. EXIF orientation is
    applied. RGBA/LA lose alpha and palette transparency is dropped, each with a warning.

    Args:
        source: a file path or the file's bytes.
        name: how errors and warnings name the file (for example ``restored[3]``).
        max_pixels: largest ``width * height`` accepted, checked from the header before
            decoding (Pillow's process-wide ``Image.MAX_IMAGE_PIXELS`` also applies).

    Returns:
        The decoded image: tensor, original mode, bit depth, format and warnings.

    Raises:
        ImageDecodeError: empty, unreadable, unknown or unsupported format, truncated or
            corrupt data, animated or multi-page files, unsupported modes (CMYK, YCbCr, 32-bit
            integer...), images over ``max_pixels`` or Pillow's bomb limit, and float images
            with values that are not finite or outside [0, 1].
        ValueError: if ``max_pixels`` is not a positive integer.
    """
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels <= 0:
        raise ValueError(f"expected max_pixels to be a positive int, got {max_pixels!r}")
    with _open(source, name) as image:
        _check_header(image, name, max_pixels)
        file_format, mode = str(image.format), image.mode
        bit_depth, divisor = _SCALES[mode]
        notes: list[str] = []
        if file_format == "MPO":
            # Camera JPEGs with extra pictures (previews, depth maps); the first is the photo.
            file_format = "JPEG"
            notes.append(f"{name}: multi-picture JPEG (MPO), only the primary image is used")
        tile = getattr(image, "tile", None)  # the decoder's raw mode, gone after load()
        if mode == "RGB" and tile and ";16" in str(tile[0].args):
            # Pillow has no 48-bit mode: it keeps the high byte of each sample.
            bit_depth = 16
            notes.append(f"{name}: 16-bit RGB decoded at 8-bit precision (Pillow limitation)")
        try:
            image.load()  # forces a full decode: truncation and corruption surface here
            ImageOps.exif_transpose(image, in_place=True)
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise ImageDecodeError(f"corrupt or truncated image: {error}", part=name) from None
        pixels = _to_array(image, name, notes)
    if mode == "F":
        finite = np.isfinite(pixels)
        if not finite.all():
            raise ImageDecodeError("expected finite float values, got NaN or infinity", part=name)
        low, high = float(pixels.min()), float(pixels.max())
        if low < 0.0 or high > 1.0:
            raise ImageDecodeError(
                f"expected float values in [0, 1], got values in [{low:g}, {high:g}]", part=name
            )
    return DecodedImage(
        tensor=_to_tensor(pixels, divisor),
        mode=mode,
        bit_depth=bit_depth,
        format=file_format,
        warnings=notes,
    )


def check_same_geometry(gt: DecodedImage, restored: DecodedImage, *, name: str) -> None:
    """Require a ground truth and a restored image of equal size and channel count.

    Raises:
        AuditInputError: naming ``name`` and both sizes (``WxH``) or channel counts.
    """
    gt_channels, gt_height, gt_width = gt.tensor.shape
    channels, height, width = restored.tensor.shape
    if (gt_height, gt_width) != (height, width):
        raise AuditInputError(
            "expected ground truth and restored images of equal size, got "
            f"{gt_width}x{gt_height} (ground truth) and {width}x{height} (restored)",
            part=name,
        )
    if gt_channels != channels:
        raise AuditInputError(
            "expected ground truth and restored images with the same number of channels, got "
            f"{gt_channels} (ground truth, {gt.mode}) and {channels} (restored, "
            f"{restored.mode}) on {width}x{height} images",
            part=name,
        )


def decode_many(
    sources: Sequence[Path | str | bytes],
    names: Sequence[str],
    workers: int | None = None,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> list[DecodedImage]:
    """Decode several files in a thread pool, in order (Pillow releases the GIL to decode).

    Args:
        sources: paths or bytes, one per image.
        names: how errors name each file; same length as ``sources``.
        workers: threads to use; default: the number of CPU cores.
        max_pixels: passed to `decode_image`.

    Returns:
        The decoded images, in the order of ``sources``.

    Raises:
        ImageDecodeError: the first failing file in input order (the others are not kept).
        ValueError: if ``sources`` and ``names`` differ in length or ``workers`` < 1.
    """
    if len(sources) != len(names):
        raise ValueError(f"expected as many names as sources, got {len(names)} and {len(sources)}")
    threads = workers if workers is not None else (os.cpu_count() or 1)
    if threads < 1:
        raise ValueError(f"expected workers >= 1, got {threads}")
    if not sources:
        return []
    with ThreadPoolExecutor(max_workers=min(threads, len(sources))) as pool:
        futures = [
            pool.submit(decode_image, source, name=name, max_pixels=max_pixels)
            for source, name in zip(sources, names, strict=True)
        ]
        try:
            return [future.result() for future in futures]
        finally:
            for future in futures:
                future.cancel()
