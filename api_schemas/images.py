"""The image-acceptance policy: one rule for the API (at submission) and the workers (decoding).

Which uploads are audited, and how each becomes pixels, is decided here and nowhere else. The
API calls :func:`inspect_image` on every part before it answers 202; the workers call
:func:`decode_pixels`, which runs the same inspection first and then decodes, so a file the
API accepted is refused later only when its compressed pixel data is corrupt (which no header
shows). The size rules that depend on the options (:func:`audit_problems`) are shared the
same way.

The policy:

* Formats: PNG, JPEG (a multi-picture JPEG, MPO, counts as JPEG: its primary image is used,
  with a note), TIFF and WebP; one frame only.
* Modes and their conversion (:data:`MODES`): 8-bit grey ``L``; 16-bit grey ``I;16*``;
  float grey ``F`` (TIFF) when every value is finite and in [0, 1]; ``RGB`` (16-bit RGB is
  read at 8-bit precision, with a note); ``RGBA``, ``LA`` and ``PA`` lose their alpha
  channel (with a note); ``RGBX`` loses its padding; palette images ``P`` and ``PA`` become
  grey when every palette entry is grey, else RGB (palette transparency dropped with a
  note). Everything else (bilevel ``1``, 32-bit integer ``I``, CMYK, YCbCr, LAB, ...) is
  refused.
* Orientation: the EXIF orientation (a PNG ``eXIf`` chunk wherever it lies, a JPEG's APP1
  Exif, a TIFF's tag 274, a WebP's EXIF chunk) is applied; sizes are the sizes as displayed.
  XMP orientation is ignored. Ground truth and restored with different orientations are
  compared as displayed, with a pair warning (:func:`orientation_warning`).
* Limits: at most ``max_pixels`` pixels (``RA_MAX_PIXELS_PER_IMAGE``, the same setting for
  the API and the workers) and never over Pillow's decompression-bomb limit; a declared
  compression ratio (pixel bytes as stored / file bytes) of at most ``max_compression_ratio``
  (``RA_MAX_COMPRESSION_RATIO``); PNG metadata chunks (text, ``iCCP``, ``eXIf``) of at most
  1 MiB each, stored and decompressed, and 4 MiB of text in all.
* Structure: PNG chunks are walked to ``IEND`` with their CRCs, JPEG markers to the
  end-of-image marker, TIFF strips and tiles must lie inside the file; uncompressed float
  TIFFs are range-checked strip by strip (compressed ones by the worker's decode).

The inspection never decodes pixels. Its work per image is bounded whatever the file claims:
every read is at most 1 MiB, a file of more than :data:`MAX_STRUCTURES` chunks, segments or
IFDs is refused, and nothing is decompressed but PNG metadata (1 MiB at most per chunk).
"""

from __future__ import annotations

import math
import re
import struct
import threading
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Final

import numpy as np
from PIL import Image

from api_schemas.conventions import SSIM_WINDOW
from api_schemas.degradation import super_resolution_factor
from api_schemas.options import AuditOptions
from api_schemas.problems import ProblemError

ACCEPTED_FORMATS: Final = ("PNG", "JPEG", "TIFF", "WEBP")
DEFAULT_MAX_PIXELS: Final = 40_000_000
"""Default of ``RA_MAX_PIXELS_PER_IMAGE`` (API and workers)."""
DEFAULT_MAX_COMPRESSION_RATIO: Final = 4096.0
"""Default of ``RA_MAX_COMPRESSION_RATIO``. Deflate (PNG, TIFF) cannot pass about 1032:1 and
LZW about 1400:1, so this only refuses files that reuse their data (TIFF strips pointing at one
run) and near-constant WebP images."""
MAX_METADATA_BYTES: Final = 1 << 20
"""A PNG text, ``iCCP`` or ``eXIf`` chunk, stored and decompressed (Pillow's own limit)."""
MAX_TEXT_BYTES: Final = 4 << 20
"""All text of a PNG, decompressed."""
MAX_STRUCTURES: Final = 1 << 17
"""PNG chunks, JPEG segments or TIFF IFDs of one file."""
MAX_TIFF_BLOCKS: Final = 1 << 16
"""Strips or tiles of one TIFF image."""

NOT_DECODABLE: Final = "not a decodable image (PNG, JPEG, TIFF or WebP)"
_EXTENSIONS: Final = {"PNG": "png", "JPEG": "jpg", "TIFF": "tif", "WEBP": "webp"}
_READ: Final = 1 << 20
_EXIF_ORIENTATION: Final = 0x0112


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """The limits of one deployment (``RA_MAX_PIXELS_PER_IMAGE``, ``RA_MAX_COMPRESSION_RATIO``),
    the same for its API and its workers."""

    max_pixels: int = DEFAULT_MAX_PIXELS
    max_compression_ratio: float = DEFAULT_MAX_COMPRESSION_RATIO


DEFAULT_LIMITS: Final = ImageLimits()
"""The limits of a deployment that sets neither."""


@dataclass(frozen=True, slots=True)
class ModeRule:
    """How a Pillow mode is accepted.

    Attributes:
        channels: channels after conversion; ``None`` for palettes (1 when every entry is
            grey, else 3).
        bit_depth: bits per sample in the file.
        divisor: what a sample is divided by to land in [0, 1].
        stored_bytes: bytes per pixel as stored, for the compression ratio.
        alpha: the mode carries an alpha channel, dropped with a note.
    """

    channels: int | None
    bit_depth: int
    divisor: float
    stored_bytes: int
    alpha: bool = False


MODES: Final[dict[str, ModeRule]] = {
    "L": ModeRule(1, 8, 255.0, 1),
    "LA": ModeRule(1, 8, 255.0, 2, alpha=True),
    **{mode: ModeRule(1, 16, 65535.0, 2) for mode in ("I;16", "I;16B", "I;16L", "I;16N")},
    "F": ModeRule(1, 32, 1.0, 4),
    "RGB": ModeRule(3, 8, 255.0, 3),
    "RGBA": ModeRule(3, 8, 255.0, 4, alpha=True),
    "RGBX": ModeRule(3, 8, 255.0, 4),
    "P": ModeRule(None, 8, 255.0, 1),
    "PA": ModeRule(None, 8, 255.0, 2, alpha=True),
}
"""Every accepted mode; the rest are refused."""

_ORIENTATIONS: Final = {
    1: "none",
    2: "mirrored",
    3: "rotated 180°",
    4: "flipped upside down",
    5: "mirrored and rotated 90° counter-clockwise",
    6: "rotated 90° clockwise",
    7: "mirrored and rotated 90° clockwise",
    8: "rotated 90° counter-clockwise",
}
_TRANSPOSE: Final = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
"""EXIF orientation -> the transposition that shows the image upright (as Pillow's
``ImageOps.exif_transpose``)."""


class InvalidImageError(ValueError):
    """The file is not an image the audit accepts; the message says why."""


@dataclass(frozen=True, slots=True)
class ImageHeader:
    """What the inspection found out about an accepted image, without decoding it.

    ``width`` and ``height`` are as displayed (after the EXIF orientation); ``channels`` is
    the count after conversion; ``notes`` are the lossy conversions decoding will make.
    """

    format: str
    mode: str
    width: int
    height: int
    channels: int
    has_alpha: bool
    bit_depth: int = 8
    orientation: int = 1
    notes: tuple[str, ...] = ()

    @property
    def extension(self) -> str:
        """File name extension for the format."""
        return _EXTENSIONS[self.format]

    @property
    def divisor(self) -> float:
        """What a decoded sample is divided by to land in [0, 1]."""
        return MODES[self.mode].divisor


@dataclass(frozen=True)
class DecodedPixels:
    """A decoded image: ``pixels`` is ``(H, W)`` for grey or ``(H, W, 3)`` for RGB, upright,
    in the file's sample type (divide by ``header.divisor`` for [0, 1])."""

    pixels: np.ndarray
    header: ImageHeader


# -- inspection -----------------------------------------------------------------------------

_OPEN_LOCK = threading.Lock()


def _open(fp: BinaryIO) -> Image.Image:
    """Pillow's header parse, with its decompression-bomb warning made an error.

    ``warnings.catch_warnings`` swaps a process-wide list, so the short parse runs under a
    lock (decoding, which is long, runs outside it).
    """
    fp.seek(0)
    with _OPEN_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return Image.open(fp, formats=ACCEPTED_FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise InvalidImageError(f"image too large: {exc}") from None
        except Exception:  # Pillow parsing untrusted bytes raises anything
            # (OSError, SyntaxError, struct.error, TypeError "Missing dimensions", ... found
            # by fuzzing); every one of them means the upload is not an image we can read.
            raise InvalidImageError(NOT_DECODABLE) from None


def inspect_image(fp: BinaryIO, limits: ImageLimits = DEFAULT_LIMITS) -> ImageHeader:
    """Decide whether an image is accepted, from its header and structure; leaves ``fp`` at 0.

    Raises:
        InvalidImageError: Not a PNG/JPEG/TIFF/WebP, more than one frame, a mode the policy
            refuses, over the ``limits`` (pixels, compression ratio), truncated
            or corrupt structure, oversized metadata, or (uncompressed) float samples that
            are not finite or outside [0, 1].
    """
    try:
        return _inspect(fp, limits.max_pixels, limits.max_compression_ratio)
    except (struct.error, IndexError, OverflowError) as exc:  # a malformed structure field
        raise InvalidImageError(f"{NOT_DECODABLE}: {exc}") from None
    finally:
        fp.seek(0)


def _inspect(fp: BinaryIO, max_pixels: int, max_ratio: float) -> ImageHeader:
    size = fp.seek(0, 2)
    fp.seek(0)
    magic = fp.read(8)
    png = _PngMetadata()
    tiff_frames = 1
    if magic == _PNG_SIGNATURE:
        png = _walk_png(fp, size)
    elif magic[:2] == b"\xff\xd8":
        _walk_jpeg(fp, size)
    elif magic[:4] in _TIFF_MAGIC:
        tiff_frames = _walk_tiff(fp, size)
    with _open(fp) as im:
        fmt = "JPEG" if im.format == "MPO" else str(im.format)
        mode = im.mode
        # As stored: Pillow's TIFF reader reports a size already turned by the orientation
        # tag (and turns the pixels when it decodes them).
        width, height = im.size
        if fmt == "TIFF":
            tags: Any = getattr(im, "tag_v2", {})
            width, height = tags.get(256, width), tags.get(257, height)
        try:
            frames = tiff_frames if fmt == "TIFF" else int(getattr(im, "n_frames", 1))
            grey_palette = _grey_palette(im) if mode in ("P", "PA") else False
            orientation = _orientation(im, fmt, png)
        except InvalidImageError:
            raise
        except Exception as exc:  # as in _open
            raise InvalidImageError(NOT_DECODABLE) from exc
        transparency = "transparency" in im.info
        tile = getattr(im, "tile", None) or []
        wide_rgb = mode == "RGB" and bool(tile) and ";16" in str(tile[0].args)
        multi_picture = im.format == "MPO"
        tiff = _TiffLayout.of(im) if fmt == "TIFF" else None
    if fmt not in ACCEPTED_FORMATS:  # pragma: no cover - Image.open(formats=...) enforces it
        raise InvalidImageError(f"format {fmt!r} is not accepted")
    if frames != 1 and not multi_picture:
        raise InvalidImageError(f"expected a single frame, got {frames}")
    rule = MODES.get(mode)
    if rule is None:
        raise InvalidImageError(
            f"mode {mode!r} is not accepted: expected 8- or 16-bit grey, RGB, RGBA, palette or "
            "float grey"
        )
    if width < 1 or height < 1:
        raise InvalidImageError(f"empty image ({width}x{height})")
    if width * height > max_pixels:
        raise InvalidImageError(f"image too large: {width}x{height} is over {max_pixels} pixels")
    ratio = width * height * rule.stored_bytes / size
    if ratio > max_ratio:
        raise InvalidImageError(
            f"compression ratio {ratio:.0f}:1 is over the limit of {max_ratio:g}:1: the file "
            f"has {size} bytes and declares {width}x{height} {mode} pixels "
            f"({width * height * rule.stored_bytes} bytes); it is refused without decoding"
        )
    if tiff is not None:
        tiff.verify(fp, size, width, height)
    channels = rule.channels if rule.channels is not None else (1 if grey_palette else 3)
    notes = []
    if multi_picture:
        notes.append("multi-picture JPEG (MPO), only the primary image is used")
    if wide_rgb:
        notes.append("16-bit RGB decoded at 8-bit precision (Pillow limitation)")
    if rule.alpha:
        notes.append(f"alpha channel dropped ({mode})")
    elif mode == "P" and transparency:
        notes.append("palette transparency dropped")
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return ImageHeader(
        format=fmt,
        mode=mode,
        width=width,
        height=height,
        channels=channels,
        has_alpha=rule.alpha or transparency,
        bit_depth=16 if wide_rgb else rule.bit_depth,
        orientation=orientation,
        notes=tuple(notes),
    )


def _grey_palette(im: Image.Image) -> bool:
    """Whether every entry of the palette is grey, read from the header (no decoding)."""
    palette = im.palette
    if palette is None:
        return True
    data = bytes(bytearray(palette.palette))
    rawmode = getattr(palette, "rawmode", None) or palette.mode
    if not data:
        return True
    if rawmode == "RGB;L":  # planar (TIFF colour maps): all reds, then greens, then blues
        third = len(data) // 3
        red, green, blue = data[:third], data[third : 2 * third], data[2 * third : 3 * third]
    elif rawmode in ("RGB", "RGBA"):
        step = len(rawmode)
        usable = len(data) - len(data) % step
        red, green, blue = data[0:usable:step], data[1:usable:step], data[2:usable:step]
    else:
        return False
    return red == green == blue


def _orientation(im: Image.Image, fmt: str, png: _PngMetadata) -> int:
    """The orientation (1 to 8; 1 when there is none or it is not a valid value): the EXIF
    one, else an XMP ``tiff:Orientation`` (Pillow's rule, which its TIFF reader applies
    itself). JPEG and WebP hold both in their header; a PNG's may follow its pixels, so they
    come from the chunk walk (``eXIf``, else ImageMagick's "Raw profile type exif" text)."""
    try:
        if fmt != "PNG":
            value = im.getexif().get(_EXIF_ORIENTATION)
        else:
            exif = Image.Exif()
            if png.exif is not None:
                exif.load(b"Exif\x00\x00" + png.exif.removeprefix(b"Exif\x00\x00"))
            elif png.raw_profile is not None:
                lines = png.raw_profile.decode("latin-1").split("\n")[3:]
                exif.load(bytes.fromhex("".join(lines)))
            value = exif.get(_EXIF_ORIENTATION)
            if value is None and png.xmp is not None:
                found = re.search(rb'tiff:Orientation(="|>)([0-9])', png.xmp)
                value = int(found[2]) if found else None
    except Exception as exc:  # as in _open
        raise InvalidImageError(f"corrupt EXIF metadata: {exc}") from None
    if isinstance(value, tuple) and len(value) == 1:
        value = value[0]
    return value if isinstance(value, int) and value in _ORIENTATIONS else 1


# -- PNG --------------------------------------------------------------------------------------

_PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
_PNG_METADATA: Final = frozenset({b"tEXt", b"zTXt", b"iTXt", b"iCCP", b"eXIf"})


@dataclass
class _PngMetadata:
    """What a PNG says about its orientation, wherever its chunks lie."""

    exif: bytes | None = None
    raw_profile: bytes | None = None
    xmp: bytes | None = None


def _walk_png(fp: BinaryIO, size: int) -> _PngMetadata:
    """Every chunk to ``IEND``: lengths inside the file, CRCs, metadata within its limits.

    Returns the orientation metadata. Image data is read in 1 MiB blocks for its CRC and
    never decompressed.
    """
    pos, chunks, text, meta = 8, 0, 0, _PngMetadata()
    while True:
        if pos + 12 > size:
            if chunks == 0:  # not even a header: not a PNG
                raise InvalidImageError(NOT_DECODABLE)
            raise InvalidImageError("truncated or corrupt PNG: the data ends before the IEND chunk")
        fp.seek(pos)
        length, kind = struct.unpack(">I4s", fp.read(8))
        name = kind.decode("latin-1")
        if chunks == 0 and (kind != b"IHDR" or length != 13 or pos + 25 > size):
            raise InvalidImageError(NOT_DECODABLE)
        chunks += 1
        if chunks > MAX_STRUCTURES:
            raise InvalidImageError(f"PNG of more than {MAX_STRUCTURES} chunks")
        if not kind.isalpha():
            raise InvalidImageError(f"corrupt PNG: invalid chunk type {kind!r} at byte {pos}")
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > size:
            raise InvalidImageError(
                f"truncated or corrupt PNG: chunk {name} at byte {pos} ends past the end of "
                f"the file ({size} bytes)"
            )
        crc = zlib.crc32(kind)
        if kind in _PNG_METADATA:
            if length > MAX_METADATA_BYTES:
                raise InvalidImageError(
                    f"PNG {name} chunk of {length} bytes: metadata chunks are limited to "
                    f"{MAX_METADATA_BYTES} bytes"
                )
            data = fp.read(length)
            crc = zlib.crc32(data, crc)
            if kind == b"eXIf":
                if meta.exif is not None:
                    raise InvalidImageError("corrupt PNG: more than one eXIf chunk")
                meta.exif = data
            else:
                text += _png_metadata(kind, data, meta)
                if text > MAX_TEXT_BYTES:
                    raise InvalidImageError(
                        f"PNG text of more than {MAX_TEXT_BYTES} bytes (decompressed)"
                    )
        else:
            left = length
            while left:
                block = fp.read(min(_READ, left))
                if not block:
                    raise InvalidImageError(
                        "truncated or corrupt PNG: the data ends inside a chunk"
                    )
                crc = zlib.crc32(block, crc)
                left -= len(block)
        if int.from_bytes(fp.read(4), "big") != crc:
            raise InvalidImageError(
                f"truncated or corrupt PNG: CRC mismatch in chunk {name} at byte {pos}"
            )
        if kind == b"IEND":
            return meta
        pos = end


def _png_metadata(kind: bytes, data: bytes, meta: _PngMetadata) -> int:
    """Bytes of text a metadata chunk holds (0 for ``iCCP``), keeping what says how the image
    is oriented; refuses what Pillow's decoder fails on: an unknown compression method, or
    more than 1 MiB decompressed."""
    keyword, _, rest = data.partition(b"\0")
    if kind == b"tEXt":
        value = rest
    elif kind == b"iTXt":
        if len(rest) < 2:
            return 0
        compressed, method = rest[0] != 0, rest[1]
        _, _, rest = rest[2:].partition(b"\0")  # language tag
        _, _, value = rest.partition(b"\0")  # translated keyword
        if compressed:
            if method != 0:
                return 0  # Pillow skips the chunk
            value = _inflated(kind, value)
    else:  # zTXt and iCCP: keyword, method, data
        method = rest[0] if rest else 0
        if method != 0:
            name = kind.decode("latin-1")
            raise InvalidImageError(f"corrupt PNG: unknown compression method {method} in {name}")
        value = _inflated(kind, rest[1:])
        if kind == b"iCCP":
            return 0
    if keyword == b"Raw profile type exif" and kind != b"iTXt":
        meta.raw_profile = value
    elif keyword == b"XML:com.adobe.xmp" and kind == b"iTXt":
        meta.xmp = value
    return len(value)


def _inflated(kind: bytes, compressed: bytes) -> bytes:
    """``compressed`` inflated, at most 1 MiB of it (empty when it is not zlib data: Pillow
    then drops the text)."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(compressed, MAX_METADATA_BYTES)
    except zlib.error:
        return b""
    if inflater.unconsumed_tail:
        name = kind.decode("latin-1")
        raise InvalidImageError(
            f"PNG {name} chunk decompresses to more than {MAX_METADATA_BYTES} bytes"
        )
    return out


# -- JPEG -------------------------------------------------------------------------------------

# The end of a JPEG entropy-coded segment: 0xFF followed by neither a stuffed 0x00 nor a
# restart marker (RST0-7), so a marker (or fill byte) starts there.
_JPEG_SCAN_END: Final = re.compile(rb"\xff[^\x00\xd0-\xd7]")
_JPEG_STANDALONE: Final = frozenset({0x01, *range(0xD0, 0xD8)})
_JPEG_HEAD: Final = 64  # a marker, its fill bytes and a segment length


def _walk_jpeg(fp: BinaryIO, size: int) -> None:
    """Walk the JPEG's markers to its end-of-image marker: a truncated file has none.

    Segments are skipped by their length (by seeking); entropy-coded data after each
    start-of-scan is scanned in 1 MiB blocks to the next real marker, so progressive files
    (several scans) and EXIF thumbnails (their own EOI inside an APP1 segment) are handled,
    and memory stays bounded whatever the file's size.
    """
    pos, segments = 2, 0  # after SOI
    while pos < size:
        segments += 1
        if segments > MAX_STRUCTURES:
            raise InvalidImageError(f"JPEG of more than {MAX_STRUCTURES} segments")
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
        chunk = fp.read(_READ)
        if not chunk:
            return None
        found = _JPEG_SCAN_END.search(chunk)
        if found is not None:
            return pos + found.start()
        if len(chunk) < 2:
            return None
        pos += len(chunk) - 1  # overlap one byte: a marker may straddle the blocks
    return None


# -- TIFF -------------------------------------------------------------------------------------

_TIFF_MAGIC: Final = frozenset({b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"})
_TIFF_TYPE_SIZES: Final = {
    1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4,
    16: 8, 17: 8, 18: 8,
}  # fmt: skip
_TIFF_BLOCK_TAGS: Final = frozenset({273, 279, 324, 325})  # strip/tile offsets and byte counts
_TIFF_STRIPS: Final = ((273, 279), (324, 325))  # (offsets, byte counts): strips, tiles
_MAX_FRAMES_COUNTED: Final = 1000


def _walk_tiff(fp: BinaryIO, size: int) -> int:
    """Check the first IFD before Pillow parses it, and count the IFDs (frames).

    Pillow unpacks every strip offset into Python objects and reads every tag's data; a
    small file could otherwise make it build millions of objects or read one blob once per
    tag. So: at most :data:`MAX_TIFF_BLOCKS` strips or tiles, and the first IFD's tag data
    may not add up to more than the file (no reuse).
    """
    fp.seek(0)
    head = fp.read(16)
    order = "<" if head[:2] == b"II" else ">"
    big = struct.unpack(order + "H", head[2:4])[0] == 43
    count_format, entry_size, pointer = ("Q", 20, "Q") if big else ("H", 12, "I")
    offset = struct.unpack(order + pointer, head[8:16] if big else head[4:8])[0]
    frames, seen = 0, set()
    while offset:
        if offset in seen or not 8 <= offset < size:
            raise InvalidImageError(f"corrupt TIFF: an IFD at byte {offset} of {size}")
        seen.add(offset)
        frames += 1
        if frames > _MAX_FRAMES_COUNTED:
            break
        fp.seek(offset)
        count_size = struct.calcsize(count_format)
        (count,) = struct.unpack(order + count_format, fp.read(count_size))
        table_end = offset + count_size + count * entry_size
        if count > 0xFFFF or table_end + struct.calcsize(pointer) > size:
            raise InvalidImageError(f"truncated or corrupt TIFF: an IFD of {count} entries")
        if frames == 1:
            _check_ifd(fp.read(count * entry_size), order, big, size)
        fp.seek(table_end)
        (offset,) = struct.unpack(order + pointer, fp.read(struct.calcsize(pointer)))
    return frames


def _check_ifd(table: bytes, order: str, big: bool, size: int) -> None:
    entry = order + ("HHQ8x" if big else "HHI4x")
    inline = 8 if big else 4
    data = 0
    for tag, kind, count in struct.iter_unpack(entry, table):
        if tag in _TIFF_BLOCK_TAGS and count > MAX_TIFF_BLOCKS:
            raise InvalidImageError(
                f"TIFF of {count} strips or tiles: at most {MAX_TIFF_BLOCKS} accepted"
            )
        nbytes = count * _TIFF_TYPE_SIZES.get(kind, 0)
        if nbytes > inline:
            data += nbytes
    if data > size:
        raise InvalidImageError(
            f"corrupt TIFF: its tags name {data} bytes of data in a file of {size} bytes"
        )


@dataclass(frozen=True)
class _TiffLayout:
    """Where a TIFF's samples lie, read from its tags while Pillow has them open."""

    blocks: tuple[tuple[int, int], ...]
    """(offset, byte count) of each strip or tile."""
    raw_float_strips: tuple[str, int] | None
    """(byte order, rows per strip) when the samples are uncompressed float32 in strips."""

    @classmethod
    def of(cls, im: Image.Image) -> _TiffLayout:
        tags: Any = getattr(im, "tag_v2", {})
        blocks: list[tuple[int, int]] = []
        for offsets_tag, counts_tag in _TIFF_STRIPS:
            offsets, counts = tags.get(offsets_tag), tags.get(counts_tag)
            if offsets is None or counts is None:
                continue
            offsets = offsets if isinstance(offsets, tuple) else (offsets,)
            counts = counts if isinstance(counts, tuple) else (counts,)
            blocks += [(int(o), int(c)) for o, c in zip(offsets, counts, strict=False)]
        raw = None
        strips = 273 in tags and 322 not in tags  # strips, not tiles
        if im.mode == "F" and strips and tags.get(259, 1) == 1 and tags.get(284, 1) == 1:
            rows = tags.get(278, im.size[1])
            rows = rows[0] if isinstance(rows, tuple) else rows
            byte_order = "<" if getattr(tags, "_endian", "<") == "<" else ">"
            raw = (byte_order, max(1, int(rows)))
        return cls(tuple(blocks), raw)

    def verify(self, fp: BinaryIO, size: int, width: int, height: int) -> None:
        """Every strip inside the file; uncompressed float samples finite and in [0, 1]."""
        end = max((offset + count for offset, count in self.blocks), default=0)
        if end > size:
            raise InvalidImageError(
                f"truncated TIFF: its image data ends at byte {end}, the file has {size}"
            )
        if self.raw_float_strips is None:
            return
        byte_order, rows = self.raw_float_strips
        dtype = np.dtype(byte_order + "f4")
        low, high, finite = math.inf, -math.inf, True
        for number, (offset, count) in enumerate(self.blocks):
            strip_rows = min(rows, height - number * rows)
            left = min(count, max(0, strip_rows) * width * 4)
            fp.seek(offset)
            while left > 0:
                block = fp.read(min(_READ, left))
                if len(block) < 4:
                    break
                values = np.frombuffer(block, dtype, len(block) // 4)
                left -= len(block)
                finite = finite and bool(np.isfinite(values).all())
                if not finite:
                    break
                low, high = min(low, float(values.min())), max(high, float(values.max()))
            if not finite:
                break
        check_float_values(finite, low, high)


def check_float_values(finite: bool, low: float, high: float) -> None:
    """The rule for float samples: every one finite and in [0, 1].

    Raises:
        InvalidImageError: naming the range found.
    """
    if not finite:
        raise InvalidImageError("expected finite float values, got NaN or infinity")
    if low < 0.0 or high > 1.0:
        raise InvalidImageError(
            f"expected float values in [0, 1], got values in [{low:g}, {high:g}]"
        )


# -- decoding (the workers) -------------------------------------------------------------------


def decode_pixels(fp: BinaryIO, limits: ImageLimits = DEFAULT_LIMITS) -> DecodedPixels:
    """Inspect (:func:`inspect_image`), then decode, orient and convert by the policy.

    Returns:
        The upright pixels in the file's sample type, with the header they were read by.

    Raises:
        InvalidImageError: What the inspection refuses, and pixel data that does not decode
            (corrupt or truncated inside a well-formed file), or float values that are not
            finite or outside [0, 1].
    """
    header = inspect_image(fp, limits)
    with _open(fp) as image:
        try:
            image.load()  # the full decode: corruption of the compressed data surfaces here
        except Exception as exc:  # as in _open
            raise InvalidImageError(f"corrupt or truncated image data: {exc}") from None
        upright = image
        if header.orientation > 1 and header.format != "TIFF":  # Pillow turns TIFFs itself
            upright = image.transpose(_TRANSPOSE[header.orientation])
        if upright.size != (header.width, header.height):  # pragma: no cover - a Pillow change
            raise InvalidImageError(
                f"decoded {upright.size[0]}x{upright.size[1]}, the header says "
                f"{header.width}x{header.height}"
            )
        pixels = _convert(upright, header)
    if header.mode == "F":
        finite = bool(np.isfinite(pixels).all())
        low, high = (float(pixels.min()), float(pixels.max())) if finite else (0.0, 0.0)
        check_float_values(finite, low, high)
    return DecodedPixels(pixels=pixels, header=header)


def _convert(image: Image.Image, header: ImageHeader) -> np.ndarray:
    """Pixels as ``(H, W)`` or ``(H, W, 3)``: alpha dropped, palettes resolved."""
    mode = header.mode
    if mode in ("P", "PA"):
        grey = header.channels == 1
        if mode == "P":
            return np.asarray(image.convert("L" if grey else "RGB"))
        pixels = np.asarray(image.convert("LA" if grey else "RGBA"))
        return pixels[..., 0] if grey else pixels[..., :3]
    pixels = np.asarray(image)
    if mode == "LA":
        return pixels[..., 0]
    if mode in ("RGBA", "RGBX"):
        return pixels[..., :3]
    return pixels


# -- what the options need of the images ------------------------------------------------------


@dataclass(frozen=True)
class Geometry:
    """What the size rules need of one image: its part name and its size and channels as
    the audit sees them (after orientation and conversion)."""

    part: str
    width: int
    height: int
    channels: int
    orientation: int = 1


@dataclass(frozen=True)
class PairGeometry:
    """One pair: ground truth, restored, the observation when there is one, and its group."""

    ground_truth: Geometry
    restored: Geometry
    observation: Geometry | None = None
    group: str = "default"


def effective_crop(options: AuditOptions) -> int:
    """Border removed from every side: ``crop_border``, else the super-resolution factor of a
    downsampling degradation, else 0 (docs/theory.md 3.1)."""
    if options.crop_border is not None:
        return options.crop_border
    return _factor(options) or 0


def _factor(options: AuditOptions) -> int | None:
    spec = options.degradation_spec
    return None if spec is None else super_resolution_factor(spec)


def minimum_side(options: AuditOptions, crop: int) -> int:
    """Smallest side an image may have: the largest patch or the SSIM window, plus the
    border on each side."""
    return max(options.patch_size, *(options.patch_sizes or ()), SSIM_WINDOW) + 2 * crop


def patch_positions(width: int, height: int, patch_size: int, crop: int) -> int:
    """Stride-1 positions of a ``patch_size`` patch inside the border."""
    return max(0, width - 2 * crop - patch_size + 1) * max(0, height - 2 * crop - patch_size + 1)


def knn_per_pair(options: AuditOptions, members: int) -> int:
    """Patches the nearest-neighbour estimators draw from each of a group's ``members``
    pairs (fewer where a pair has fewer positions)."""
    return max(1, math.ceil(options.knn_samples / members))


def knn_samples(sizes: Sequence[tuple[int, int]], options: AuditOptions, crop: int) -> int:
    """Patches the nearest-neighbour estimators get from a group of images of ``sizes``."""
    share = knn_per_pair(options, len(sizes))
    return sum(
        min(share, patch_positions(width, height, options.patch_size, crop))
        for width, height in sizes
    )


def orientation_warning(ground_truth: Geometry, restored: Geometry) -> str | None:
    """The pair warning when ground truth and restored carry different EXIF orientations."""
    if ground_truth.orientation == restored.orientation:
        return None
    return (
        f"{restored.part}: EXIF orientation {restored.orientation} "
        f"({_ORIENTATIONS[restored.orientation]}) but {ground_truth.part} has "
        f"{ground_truth.orientation} ({_ORIENTATIONS[ground_truth.orientation]}); both are "
        "compared as displayed (orientation applied): if one of them lost its orientation "
        "tag, the pair compares turned or mirrored images"
    )


def pair_problems(
    pair: PairGeometry, options: AuditOptions, crop: int | None = None
) -> list[ProblemError]:
    """Why one pair cannot be audited with ``options`` (empty when it can): sizes and
    channels that differ, an image smaller than the patch or the SSIM window plus the
    border, an observation of the wrong size or channels, ``color: rgb`` of grey images."""
    crop = effective_crop(options) if crop is None else crop
    gt, rs, ob = pair.ground_truth, pair.restored, pair.observation
    errors = []
    if (gt.width, gt.height) != (rs.width, rs.height):
        message = f"size {rs.width}x{rs.height} differs from {gt.part} ({gt.width}x{gt.height})"
        if gt.orientation != rs.orientation and (gt.width, gt.height) == (rs.height, rs.width):
            message += (
                f"; they differ only by EXIF orientation ({rs.part}: {rs.orientation}, "
                f"{gt.part}: {gt.orientation}), and both are compared as displayed"
            )
        errors.append(ProblemError(part=rs.part, message=message))
    elif gt.channels != rs.channels:
        errors.append(
            ProblemError(
                part=rs.part,
                message=f"{_channels(rs.channels)} but {gt.part} has {_channels(gt.channels)}",
            )
        )
    minimum = minimum_side(options, crop)
    if min(gt.width, gt.height) < minimum:
        sizes = options.patch_sizes or ()
        sweep = f", patch sizes {', '.join(map(str, sizes))}" if sizes else ""
        errors.append(
            ProblemError(
                part=gt.part,
                message=f"{gt.width}x{gt.height} is too small: at least {minimum}x{minimum} "
                f"(patch size {options.patch_size}{sweep}, SSIM window {SSIM_WINDOW}, border "
                f"{crop} on each side)",
            )
        )
    if ob is not None and options.degradation is not None:
        factor = _factor(options) or 1
        expected = (gt.width // factor, gt.height // factor)
        if (ob.width, ob.height) != expected:
            errors.append(
                ProblemError(
                    part=ob.part,
                    message=f"size {ob.width}x{ob.height}; the degradation makes "
                    f"{expected[0]}x{expected[1]} of {gt.part} ({gt.width}x{gt.height})",
                )
            )
        elif ob.channels != gt.channels:
            errors.append(
                ProblemError(
                    part=ob.part,
                    message=f"{_channels(ob.channels)} but {gt.part} has {_channels(gt.channels)}",
                )
            )
    if options.color == "rgb" and gt.channels == 1:
        errors.append(
            ProblemError(
                part="options.color",
                message=f"color 'rgb' needs RGB images, but {gt.part} is grey (1 channel): "
                "use 'y' or 'y_full', or send RGB images",
            )
        )
    return errors


def knn_problems(
    group: str, ground_truths: Sequence[Geometry], options: AuditOptions, crop: int | None = None
) -> list[ProblemError]:
    """Why a group's images give the nearest-neighbour estimators too few patches for
    ``knn_k`` (each needs ``knn_k`` neighbours besides itself); empty when they suffice."""
    crop = effective_crop(options) if crop is None else crop
    sizes = [(g.width, g.height) for g in ground_truths]
    available = knn_samples(sizes, options, crop)
    needed = options.knn_k + 1
    if available >= needed:
        return []
    default_k = AuditOptions.model_fields["knn_k"].default
    part = "options.knn_k" if options.knn_k != default_k else "options.patch_size"
    first = ground_truths[0]
    return [
        ProblemError(
            part=part,
            message=f"group {group!r}: its {len(sizes)} pair(s) ({first.part} is "
            f"{first.width}x{first.height}) give the nearest-neighbour estimators "
            f"{available} patch(es) of {options.patch_size}x{options.patch_size} inside a "
            f"border of {crop}, and knn_k = {options.knn_k} needs at least {needed}: send "
            "larger images or more pairs, or lower knn_k or patch_size",
        )
    ]


def audit_problems(pairs: Sequence[PairGeometry], options: AuditOptions) -> list[ProblemError]:
    """Every reason a batch cannot be audited with ``options``, each naming its part (the
    colour rule once); empty when it can."""
    crop = effective_crop(options)
    errors: list[ProblemError] = []
    for pair in pairs:
        for error in pair_problems(pair, options, crop):
            if error.part != "options.color" or all(e.part != error.part for e in errors):
                errors.append(error)
    if errors:
        return errors
    for group in dict.fromkeys(p.group for p in pairs):
        members = [p.ground_truth for p in pairs if p.group == group]
        errors += knn_problems(group, members, options, crop)
    return errors


def _channels(n: int) -> str:
    return f"{n} channel(s) ({'grey' if n == 1 else 'RGB'})"
