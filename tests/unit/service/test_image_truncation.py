"""Truncation found from the file's structure, before 202: JPEG markers and TIFF strip extents.

Valid files of every kind still pass (large, progressive, restart markers, EXIF thumbnail,
trailing bytes, 16-bit and float TIFF), and every cut of them is refused.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from api_schemas.images import ImageLimits
from service.images import InvalidImageError, inspect_image

MAX_PIXELS = 40_000_000


def _encode(im: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def _noise(size: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


def _thumbnail_exif() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6
    return exif.tobytes()


VALID = {
    "jpeg_over_one_chunk": lambda: _encode(_noise(900), "JPEG", quality=98),
    "progressive_jpeg": lambda: _encode(_noise(256), "JPEG", progressive=True, optimize=True),
    "jpeg_with_restart_markers": lambda: _encode(_noise(256), "JPEG", restart_marker_blocks=2),
    "jpeg_with_exif": lambda: _encode(_noise(64), "JPEG", exif=_thumbnail_exif()),
    "jpeg_with_trailing_bytes": lambda: _encode(_noise(64), "JPEG") + b"\x00trailer",
    "grey_jpeg": lambda: _encode(_noise(64).convert("L"), "JPEG"),
    "tiff_in_strips": lambda: _encode(_noise(300), "TIFF"),
    "deflate_tiff": lambda: _encode(_noise(64), "TIFF", compression="tiff_deflate"),
    "sixteen_bit_tiff": lambda: _encode(
        Image.fromarray(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)), "TIFF"
    ),
    "float_tiff_in_unit_range": lambda: _encode(
        Image.fromarray(np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)), "TIFF"
    ),
}


@pytest.mark.parametrize("name", list(VALID))
def test_valid_files_pass_and_every_cut_is_refused(name):
    data = VALID[name]()
    header = inspect_image(io.BytesIO(data), ImageLimits(max_pixels=MAX_PIXELS))
    assert header.width > 0
    end = data.index(b"\x00trailer") if name == "jpeg_with_trailing_bytes" else len(data)
    for fraction in (0.3, 0.6, 0.9, 0.999):
        cut = data[: int(end * fraction)]
        with pytest.raises(InvalidImageError, match=r"truncated|not a decodable|corrupt"):
            inspect_image(io.BytesIO(cut), ImageLimits(max_pixels=MAX_PIXELS))


def test_jpeg_check_reads_in_bounded_chunks():
    data = _encode(_noise(1300, seed=1), "JPEG", quality=98)
    assert len(data) > 2 << 20, "the file must span several 1 MiB chunks"
    reads: list[int] = []

    class Recording(io.BytesIO):
        def read(self, size=-1):
            reads.append(size)
            return super().read(size)

    inspect_image(Recording(data), ImageLimits(max_pixels=MAX_PIXELS))
    assert all(0 < size <= 1 << 20 for size in reads if size is not None), reads
