"""Image decoding to float32 tensors in [0, 1], by the shared policy of ``api_schemas.images``.

What is accepted and how it is converted (formats, modes, palettes, alpha, EXIF orientation,
float TIFF, pixel and compression-ratio limits) is decided by ``api_schemas.images``, the
module the API inspects uploads with, so a file the API accepted is refused here only when
its compressed pixel data is corrupt. This module adds what only a decoder needs: reading
files, the tensor layout, the file name in every error and note, and parallel decoding.

Decompression bombs are stopped before any pixel is decoded: the per-call ``max_pixels`` and
``max_compression_ratio`` are checked from the header, and Pillow's own
``DecompressionBombWarning`` (above ``Image.MAX_IMAGE_PIXELS``, a process-wide setting this
module never changes) is an error during the header parse, which runs under a lock because
``warnings.catch_warnings`` swaps a process-wide list; decoding, where Pillow releases the
GIL, runs outside it, in parallel in `decode_many`.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from api_schemas.images import (
    ACCEPTED_FORMATS,
    DEFAULT_MAX_COMPRESSION_RATIO,
    DEFAULT_MAX_PIXELS,
    ImageLimits,
    InvalidImageError,
    decode_pixels,
)
from workers.errors import AuditInputError, ImageDecodeError

__all__ = [
    "ACCEPTED_FORMATS",
    "DEFAULT_MAX_COMPRESSION_RATIO",
    "DEFAULT_MAX_PIXELS",
    "DecodedImage",
    "check_same_geometry",
    "decode_image",
    "decode_many",
]


@dataclass(frozen=True, slots=True)
class DecodedImage:
    """One decoded image.

    Attributes:
        tensor: ``(C, H, W)`` float32 tensor in [0, 1], ``C`` in {1, 3}, contiguous, on CPU,
            upright (EXIF orientation applied).
        mode: the file's Pillow mode before conversion (``"RGBA"``, ``"I;16"``, ``"P"``...).
        bit_depth: bits per sample in the file (8, 16, or 32 for float).
        format: ``"PNG"``, ``"JPEG"``, ``"TIFF"`` or ``"WEBP"`` (a multi-picture JPEG, MPO,
            counts as JPEG: its primary image is decoded, with a warning).
        warnings: human-readable notes about lossy conversions, each naming the file.
        orientation: the file's EXIF orientation (1 to 8; 1 without one), already applied.
    """

    tensor: torch.Tensor
    mode: str
    bit_depth: int
    format: str
    warnings: list[str] = field(default_factory=list)
    orientation: int = 1


def _to_tensor(pixels: np.ndarray, divisor: float) -> torch.Tensor:
    """One pass: cast to float32, divide, and lay out as ``(C, H, W)``."""
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    planes = pixels.transpose(2, 0, 1)
    out = np.empty(planes.shape, dtype=np.float32)
    np.divide(planes, np.float32(divisor), out=out, dtype=np.float32)
    return torch.from_numpy(out)


def _stream(source: Path | str | bytes, name: str) -> BinaryIO:
    if isinstance(source, bytes | bytearray | memoryview):
        if len(source) == 0:
            raise ImageDecodeError("empty file", part=name)
        return io.BytesIO(bytes(source))
    path = Path(source)
    try:
        stream = path.open("rb")
    except OSError as error:
        raise ImageDecodeError(f"cannot read file ({error.strerror})", part=name) from None
    if os.fstat(stream.fileno()).st_size == 0:
        stream.close()
        raise ImageDecodeError("empty file", part=name)
    return stream


def decode_image(
    source: Path | str | bytes,
    *,
    name: str,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_compression_ratio: float = DEFAULT_MAX_COMPRESSION_RATIO,
) -> DecodedImage:
    """Decode one PNG, JPEG, TIFF or WebP file to a float32 ``(C, H, W)`` tensor in [0, 1].

    8-bit samples are divided by 255, 16-bit ones by 65535; float TIFF is taken as is when
    every value is finite and in [0, 1]. EXIF orientation is applied. RGBA/LA/PA lose alpha
    and palette transparency is dropped, each with a warning; grey palettes give one channel.

    Args:
        source: a file path or the file's bytes.
        name: how errors and warnings name the file (for example ``restored[3]``).
        max_pixels: largest ``width * height`` accepted, checked from the header before
            decoding (Pillow's process-wide ``Image.MAX_IMAGE_PIXELS`` also applies).
        max_compression_ratio: largest declared compression ratio (pixel bytes as stored per
            file byte), checked from the header before decoding.

    Returns:
        The decoded image: tensor, original mode, bit depth, format, warnings, orientation.

    Raises:
        ImageDecodeError: empty or unreadable files, and everything the policy of
            ``api_schemas.images`` refuses (unknown formats, several frames, modes such as
            bilevel, CMYK or 32-bit integer, images over the limits, truncated or corrupt
            data, float values that are not finite or outside [0, 1]).
        ValueError: if ``max_pixels`` is not a positive integer.
    """
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels <= 0:
        raise ValueError(f"expected max_pixels to be a positive int, got {max_pixels!r}")
    with _stream(source, name) as stream:
        try:
            decoded = decode_pixels(stream, ImageLimits(max_pixels, max_compression_ratio))
        except InvalidImageError as error:
            raise ImageDecodeError(str(error), part=name) from None
    header = decoded.header
    return DecodedImage(
        tensor=_to_tensor(decoded.pixels, header.divisor),
        mode=header.mode,
        bit_depth=header.bit_depth,
        format=header.format,
        warnings=[f"{name}: {note}" for note in header.notes],
        orientation=header.orientation,
    )


def check_same_geometry(
    gt: DecodedImage,
    restored: DecodedImage,
    *,
    name: str,
    ground_truth_name: str | None = None,
) -> None:
    """Require a ground truth and a restored image of equal size and channel count.

    Raises:
        AuditInputError: naming ``name`` (the restored image), ``ground_truth_name`` (when
            given: the ground truth's part or file) and both sizes (``WxH``) or channel counts.
    """
    ground_truth = "its ground truth" + (f" {ground_truth_name}" if ground_truth_name else "")
    gt_channels, gt_height, gt_width = gt.tensor.shape
    channels, height, width = restored.tensor.shape
    if (gt_height, gt_width) != (height, width):
        raise AuditInputError(
            f"size {width}x{height} differs from {ground_truth} ({gt_width}x{gt_height})",
            part=name,
        )
    if gt_channels != channels:
        raise AuditInputError(
            f"{channels} channels ({restored.mode}) but {ground_truth} has {gt_channels} "
            f"({gt.mode}), on {width}x{height} images",
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
