"""Image files Pillow does not write as they are needed: chunks after the image data, shared
TIFF strips, palettes with alpha. Each function returns the file's bytes."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import numpy as np
from PIL import Image


def encode(im: Image.Image, fmt: str, **kwargs: Any) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def noise(size: tuple[int, int], mode: str = "RGB", seed: int = 0) -> Image.Image:
    """Random pixels of ``size`` (width, height) in ``mode`` (``L`` or ``RGB``)."""
    rng = np.random.default_rng(seed)
    shape = (size[1], size[0]) if mode == "L" else (size[1], size[0], 3)
    return Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8))


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def with_chunk_before_iend(png: bytes, kind: bytes, payload: bytes) -> bytes:
    """A PNG with one more chunk right before ``IEND``, after the image data (where Pillow
    reads it only when it decodes the pixels)."""
    assert png[-12:-8] == b"\x00\x00\x00\x00"
    assert png[-8:-4] == b"IEND"
    return png[:-12] + png_chunk(kind, payload) + png[-12:]


def exif_orientation(value: int) -> bytes:
    """The TIFF-structured EXIF block (no ``Exif\\0\\0`` prefix) with one orientation tag."""
    exif = Image.Exif()
    exif[0x0112] = value
    data = exif.tobytes()
    return data[6:] if data.startswith(b"Exif\x00\x00") else data


def png_with_late_exif(im: Image.Image, orientation: int) -> bytes:
    """A PNG whose ``eXIf`` chunk (orientation only) follows its ``IDAT``."""
    return with_chunk_before_iend(encode(im, "PNG"), b"eXIf", exif_orientation(orientation))


def png_with_late_ztxt(im: Image.Image, text_bytes: int) -> bytes:
    """A PNG whose ``zTXt`` chunk after the image data inflates to ``text_bytes`` bytes."""
    payload = b"comment\x00\x00" + zlib.compress(b"a" * text_bytes, 9)
    return with_chunk_before_iend(encode(im, "PNG"), b"zTXt", payload)


def grey_palette(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """A ``P`` image whose 256 palette entries are all grey."""
    im = noise(size, "L", seed).convert("P")
    im.putpalette([v for level in range(256) for v in (level, level, level)])
    return im


def colour_palette(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """A ``P`` image with a colour palette."""
    return noise(size, "RGB", seed).quantize(colors=64)


def pa_tiff(size: tuple[int, int], *, grey: bool, seed: int = 0) -> bytes:
    """A palette-with-alpha (``PA``) TIFF."""
    im = grey_palette(size, seed) if grey else colour_palette(size, seed)
    return encode(im.convert("PA"), "TIFF")


def strip_bomb_tiff(width: int = 6300, height: int = 6300, rows_per_strip: int = 64) -> bytes:
    """A float32 TIFF of ``width`` x ``height`` whose strips all point at one deflated run
    of zeros: about 2.5 KB that declare 160 MB of pixels (40 M pixels by default)."""
    strips = -(-height // rows_per_strip)
    run = zlib.compress(bytes(width * rows_per_strip * 4), 9)
    entries = [
        (256, 4, 1, width),  # ImageWidth
        (257, 4, 1, height),  # ImageLength
        (258, 3, 1, 32),  # BitsPerSample
        (259, 3, 1, 8),  # Compression: deflate
        (262, 3, 1, 1),  # Photometric: min-is-black
        (273, 4, strips, None),  # StripOffsets
        (277, 3, 1, 1),  # SamplesPerPixel
        (278, 4, 1, rows_per_strip),  # RowsPerStrip
        (279, 4, strips, None),  # StripByteCounts
        (339, 3, 1, 3),  # SampleFormat: IEEE float
    ]
    ifd_size = 2 + 12 * len(entries) + 4
    offsets_at = 8 + ifd_size
    counts_at = offsets_at + 4 * strips
    run_at = counts_at + 4 * strips
    table = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        if tag == 273:
            value = offsets_at
        elif tag == 279:
            value = counts_at
        packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
        table += struct.pack("<HHI", tag, kind, count) + packed
    table += struct.pack("<I", 0)
    data = b"II*\x00" + struct.pack("<I", 8) + table
    data += struct.pack(f"<{strips}I", *([run_at] * strips))
    data += struct.pack(f"<{strips}I", *([len(run)] * strips))
    return data + run
