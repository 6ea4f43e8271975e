"""The image-acceptance policy (api_schemas.images): the API's inspection and the worker's
decoding decide alike, the inspection's work is bounded whatever a file claims, and the size
rules the API applies at submission are those the engine runs into."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from api_schemas.images import (
    MAX_METADATA_BYTES,
    MAX_TIFF_BLOCKS,
    Geometry,
    InvalidImageError,
    PairGeometry,
    audit_problems,
    decode_pixels,
    inspect_image,
)
from api_schemas.options import AuditOptions
from tests.support.crafted_images import (
    colour_palette,
    encode,
    exif_orientation,
    grey_palette,
    noise,
    pa_tiff,
    png_chunk,
    png_with_late_exif,
    png_with_late_ztxt,
    strip_bomb_tiff,
    with_chunk_before_iend,
)
from workers.engine import PairSource, run_audit
from workers.errors import AuditInputError, ImageDecodeError
from workers.io import decode_image

SIZE = (24, 16)  # width, height


def _exif(value: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = value
    return exif


def _float_tiff(values: np.ndarray, **kwargs) -> bytes:
    return encode(Image.fromarray(values.astype(np.float32), mode="F"), "TIFF", **kwargs)


def _mpo() -> bytes:
    buffer = io.BytesIO()
    noise(SIZE).save(buffer, "MPO", save_all=True, append_images=[noise(SIZE, seed=1)])
    return buffer.getvalue()


def _rgb48() -> bytes:
    rows = b"".join(b"\x00" + bytes(range(SIZE[0] * 6)) for _ in range(SIZE[1]))
    header = struct.pack(">IIBBBBB", SIZE[0], SIZE[1], 16, 2, 0, 0, 0)
    chunks = png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(rows))
    return b"\x89PNG\r\n\x1a\n" + chunks + png_chunk(b"IEND", b"")


def _png_itxt_xmp(im: Image.Image, orientation: int) -> bytes:
    xmp = b'<x:xmpmeta><rdf:Description tiff:Orientation="%d"/></x:xmpmeta>' % orientation
    payload = b"XML:com.adobe.xmp\0\0\0\0\0" + xmp
    return with_chunk_before_iend(encode(im, "PNG"), b"iTXt", payload)


def _png_raw_profile(im: Image.Image, orientation: int) -> bytes:
    exif = b"Exif\0\0" + exif_orientation(orientation)
    text = b"\nexif\n%8d\n" % len(exif) + exif.hex().encode() + b"\n"
    payload = b"Raw profile type exif\0\0" + zlib.compress(text)
    return with_chunk_before_iend(encode(im, "PNG"), b"zTXt", payload)


# name -> (file, (width, height, channels) as displayed and converted, or the refusal's words)
AGREE: dict[str, tuple[bytes, tuple[int, int, int] | str]] = {
    "grey_palette_png": (encode(grey_palette(SIZE), "PNG"), (24, 16, 1)),
    "colour_palette_png": (encode(colour_palette(SIZE), "PNG"), (24, 16, 3)),
    "grey_pa_tiff": (pa_tiff(SIZE, grey=True), (24, 16, 1)),
    "colour_pa_tiff": (pa_tiff(SIZE, grey=False), (24, 16, 3)),
    "png_exif_after_idat": (png_with_late_exif(noise(SIZE), 6), (16, 24, 3)),
    "png_exif_before_idat": (encode(noise(SIZE), "PNG", exif=_exif(8)), (16, 24, 3)),
    "png_exif_mirrored": (png_with_late_exif(noise(SIZE), 2), (24, 16, 3)),
    "jpeg_exif": (encode(noise(SIZE), "JPEG", exif=_exif(6)), (16, 24, 3)),
    "tiff_orientation": (encode(noise(SIZE), "TIFF", tiffinfo={274: 5}), (16, 24, 3)),
    "tiff_xmp_orientation": (
        encode(noise(SIZE), "TIFF", tiffinfo={700: b'<x tiff:Orientation="6"/>'}),
        (16, 24, 3),
    ),
    "png_xmp_orientation": (_png_itxt_xmp(noise(SIZE), 8), (16, 24, 3)),
    "png_raw_profile_exif": (_png_raw_profile(noise(SIZE), 6), (16, 24, 3)),
    "webp_exif": (encode(noise(SIZE), "WEBP", lossless=True, exif=_exif(6)), (16, 24, 3)),
    "ztxt_half_mib_after_idat": (png_with_late_ztxt(noise(SIZE), 1 << 19), (24, 16, 3)),
    "ztxt_past_1_mib_after_idat": (
        png_with_late_ztxt(noise(SIZE), MAX_METADATA_BYTES + 1),
        "decompresses to more than",
    ),
    "la_png": (encode(noise(SIZE, "L").convert("LA"), "PNG"), (24, 16, 1)),
    "rgba_png": (encode(noise(SIZE).convert("RGBA"), "PNG"), (24, 16, 3)),
    "rgb48_png": (_rgb48(), (24, 16, 3)),
    "grey16_tiff": (
        encode(Image.fromarray(np.full((16, 24), 999, np.uint16)), "TIFF"),
        (24, 16, 1),
    ),
    "float_tiff": (_float_tiff(np.linspace(0, 1, 16 * 24).reshape(16, 24)), (24, 16, 1)),
    "mpo": (_mpo(), (24, 16, 3)),
    "bilevel_png": (encode(noise(SIZE, "L").convert("1"), "PNG"), "mode '1' is not accepted"),
    "int32_tiff": (encode(Image.fromarray(np.zeros((16, 24), np.int32)), "TIFF"), "mode 'I'"),
    "cmyk_jpeg": (encode(noise(SIZE).convert("CMYK"), "JPEG"), "mode 'CMYK'"),
    "float_tiff_nan": (_float_tiff(np.full((16, 24), np.nan)), "finite"),
    "float_tiff_out_of_range": (_float_tiff(np.full((16, 24), 1.5)), r"in [0, 1]"),
    "strip_bomb_tiff": (strip_bomb_tiff(), "compression ratio"),
    "animated_png": (
        encode(noise(SIZE), "PNG", save_all=True, append_images=[noise(SIZE, seed=1)]),
        "expected a single frame, got 2",
    ),
    "truncated_png": (encode(noise(SIZE), "PNG")[:-30], "truncated"),
    "gif": (encode(noise(SIZE), "GIF"), "not a decodable image"),
}


@pytest.mark.parametrize("name", list(AGREE))
def test_the_api_and_the_worker_decide_alike(name):
    data, expected = AGREE[name]
    if isinstance(expected, str):
        with pytest.raises(InvalidImageError) as api:
            inspect_image(io.BytesIO(data))
        with pytest.raises(ImageDecodeError) as worker:
            decode_image(data, name="restored[0]")
        assert expected in str(api.value)
        assert worker.value.reason == str(api.value)
        return
    header = inspect_image(io.BytesIO(data))
    decoded = decode_image(data, name="restored[0]")
    channels, height, width = decoded.tensor.shape
    assert (header.width, header.height, header.channels) == expected
    assert (width, height, channels) == expected
    assert decoded.orientation == header.orientation
    assert decoded.warnings == [f"restored[0]: {note}" for note in header.notes]


def test_compressed_float_tiff_values_are_the_one_thing_only_the_worker_sees():
    # Checking them would mean decoding at submission; the worker fails the job instead.
    data = _float_tiff(np.full((16, 24), np.nan), compression="tiff_deflate")
    assert inspect_image(io.BytesIO(data)).mode == "F"
    with pytest.raises(ImageDecodeError, match="finite"):
        decode_image(data, name="restored[0]")


def test_orientation_from_an_exif_chunk_after_the_pixels_is_applied():
    stored = np.zeros((16, 24, 3), np.uint8)
    stored[:, :8] = 255  # a white band on the left of the stored image
    data = png_with_late_exif(Image.fromarray(stored), 6)  # shown turned 90° clockwise
    pixels = decode_pixels(io.BytesIO(data)).pixels
    np.testing.assert_array_equal(pixels, np.rot90(stored, k=-1))
    assert pixels[:8].min() == 255  # the band is now at the top


def test_palette_greyness_is_read_without_decoding(monkeypatch):
    files = [
        (encode(im, fmt), channels)
        for im, channels in ((grey_palette(SIZE), 1), (colour_palette(SIZE), 3))
        for fmt in ("PNG", "TIFF")
    ]
    monkeypatch.setattr(Image.Image, "load", lambda self: pytest.fail("decoded"))
    for data, channels in files:
        assert inspect_image(io.BytesIO(data)).channels == channels


# -- bounded work -------------------------------------------------------------------------------


def _cost(data: bytes) -> tuple[float, int, str]:
    """Thread CPU seconds, peak Python allocation and outcome of one inspection."""
    tracemalloc.start()
    start = time.thread_time()
    try:
        outcome = repr(inspect_image(io.BytesIO(data)))
    except InvalidImageError as exc:
        outcome = str(exc)
    cpu = time.thread_time() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return cpu, peak, outcome


def test_a_strip_bomb_is_refused_from_its_header():
    data = strip_bomb_tiff()
    assert len(data) < 3000  # 2.5 KB declaring 6300 x 6300 float pixels (160 MB)
    cpu, peak, outcome = _cost(data)
    assert "compression ratio 63201:1 is over the limit of 4096:1" in outcome
    assert cpu < 0.05
    assert peak < 1 << 20


def test_the_inspection_never_decodes_a_valid_float_tiff(monkeypatch):
    data = _float_tiff(np.linspace(0, 1, 512 * 512).reshape(512, 512))
    monkeypatch.setattr(Image.Image, "load", lambda self: pytest.fail("decoded"))
    _cpu, peak, outcome = _cost(data)
    assert "ImageHeader" in outcome
    assert peak < 2 << 20  # the strips are read 1 MiB at a time, never the whole image


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (
            encode(noise(SIZE), "PNG")[:33]
            + png_chunk(b"tEXt", b"a\0" + b"x" * (MAX_METADATA_BYTES + 1))
            + encode(noise(SIZE), "PNG")[33:],
            "metadata chunks are limited to",
        ),
        (
            encode(noise(SIZE), "PNG")[:33]
            + b"".join(png_chunk(b"tEXt", b"k%d\0" % i + b"x" * 900_000) for i in range(5))
            + encode(noise(SIZE), "PNG")[33:],
            "PNG text of more than",
        ),
        (
            encode(noise(SIZE), "PNG")[:33]
            + png_chunk(b"zTXt", b"k\0\x01" + zlib.compress(b"x"))
            + encode(noise(SIZE), "PNG")[33:],
            "unknown compression method 1 in zTXt",
        ),
        (
            encode(noise(SIZE), "PNG")[:33]
            + png_chunk(b"iCCP", b"p\0\0" + zlib.compress(bytes(MAX_METADATA_BYTES + 1)))
            + encode(noise(SIZE), "PNG")[33:],
            "iCCP chunk decompresses to more than",
        ),
        (
            png_with_late_exif(noise(SIZE), 6)[:-12]
            + png_chunk(b"eXIf", exif_orientation(3))
            + b"\0\0\0\0IEND\xaeB`\x82",
            "more than one eXIf chunk",
        ),
    ],
    ids=["big_text_chunk", "too_much_text", "unknown_compression", "big_icc", "two_exif"],
)
def test_png_metadata_limits(data, words):
    _cpu, peak, outcome = _cost(data)
    assert words in outcome
    assert peak < 8 << 20


def test_a_png_of_too_many_chunks_is_refused_in_bounded_time(monkeypatch):
    monkeypatch.setattr("api_schemas.images.MAX_STRUCTURES", 1000)
    png = encode(noise(SIZE), "PNG")
    data = png[:33] + png_chunk(b"teSt", b"") * 5000 + png[33:]
    cpu, _, outcome = _cost(data)
    assert "PNG of more than 1000 chunks" in outcome
    assert cpu < 0.5


def test_a_tiff_of_too_many_strips_is_refused_before_pillow_parses_them():
    data = bytearray(encode(noise((64, 64)), "TIFF"))
    # Point StripOffsets and StripByteCounts at counts beyond the limit (their data is absent).
    order = "<"
    (ifd,) = struct.unpack_from(order + "I", data, 4)
    (count,) = struct.unpack_from(order + "H", data, ifd)
    for i in range(count):
        at = ifd + 2 + 12 * i
        tag, _kind, _n = struct.unpack_from(order + "HHI", data, at)
        if tag in (273, 279):
            struct.pack_into(order + "I", data, at + 4, MAX_TIFF_BLOCKS + 1)
    _cpu, peak, outcome = _cost(bytes(data))
    assert f"at most {MAX_TIFF_BLOCKS} accepted" in outcome
    assert peak < 1 << 20


def test_tiff_tags_may_not_read_one_blob_over_and_over():
    data = bytearray(encode(noise((64, 64)), "TIFF"))
    (ifd,) = struct.unpack_from("<I", data, 4)
    (count,) = struct.unpack_from("<H", data, ifd)
    for i in range(count):
        at = ifd + 2 + 12 * i
        tag, _kind, _n = struct.unpack_from("<HHI", data, at)
        if tag == 273:  # StripOffsets: declare far more data than the file has
            struct.pack_into("<I", data, at + 4, len(data))
    _, _, outcome = _cost(bytes(data))
    assert "corrupt TIFF" in outcome or "truncated" in outcome


@pytest.mark.integration  # starts a process
def test_importing_the_policy_needs_neither_torch_nor_fastapi():
    code = (
        "import sys, api_schemas.images; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'fastapi', "
        "'starlette', 'workers', 'service')))"
    )
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == "[]"


# -- what the options need of the images ------------------------------------------------------


def _pairs(n: int, width: int, height: int, channels: int = 3) -> list[PairGeometry]:
    return [
        PairGeometry(
            Geometry(f"ground_truth[{i}]", width, height, channels),
            Geometry(f"restored[{i}]", width, height, channels),
        )
        for i in range(n)
    ]


BOUNDARIES = [
    ({"patch_size": 16}, 1, 16, 16),  # one patch position: kNN needs k + 1 = 4
    ({"patch_size": 16}, 2, 16, 16),
    ({"patch_size": 16}, 1, 17, 17),  # 4 positions: enough
    ({"patch_size": 11}, 1, 11, 11),
    ({"knn_k": 32}, 1, 11, 11),  # 16 positions of 8x8
    ({"knn_k": 16}, 1, 11, 11),
    ({"knn_k": 15}, 1, 11, 11),
    ({"knn_k": 32}, 3, 11, 11),  # 48 patches in the group: enough
    ({"knn_k": 32, "knn_samples": 100}, 4, 16, 16),
    ({"patch_sizes": [2, 16]}, 1, 16, 16),
    ({"patch_sizes": [2, 16]}, 1, 15, 15),  # the sweep's largest patch does not fit
    ({"crop_border": 3}, 1, 16, 17),
    ({"color": "rgb"}, 1, 16, 16),
    ({"knn_k": 20, "degradation": {"type": "downsample", "factor": 2}}, 1, 16, 16),
]


@pytest.mark.parametrize(("options", "n", "width", "height"), BOUNDARIES)
def test_the_submission_rule_is_what_the_engine_runs_into(options, n, width, height):
    audit_options = AuditOptions(**options, bootstrap={"resamples": 0}, maps=False)
    channels = 1 if options.get("color") == "rgb" else 3
    problems = audit_problems(_pairs(n, width, height, channels), audit_options)
    generator = torch.Generator().manual_seed(0)
    pairs = [
        PairSource(
            f"{i}",
            "default",
            torch.rand(channels, height, width, generator=generator),
            torch.rand(channels, height, width, generator=generator),
        )
        for i in range(n)
    ]
    if not problems:
        run_audit(pairs, audit_options, device="cpu")
        return
    with pytest.raises(AuditInputError) as caught:
        run_audit(pairs, audit_options, device="cpu")
    first = problems[0]
    assert caught.value.reason == first.message
    assert caught.value.part == first.part


def test_knn_names_the_option_the_client_set():
    [patch] = audit_problems(_pairs(1, 16, 16), AuditOptions(patch_size=16))
    assert patch.part == "options.patch_size"
    assert "knn_k = 3 needs at least 4" in patch.message
    [knn] = audit_problems(_pairs(1, 11, 11), AuditOptions(knn_k=32))
    assert knn.part == "options.knn_k"
    assert "16 patch(es) of 8x8" in knn.message


def test_sizes_that_differ_only_by_orientation_say_so():
    pair = PairGeometry(
        Geometry("ground_truth[0]", 16, 24, 3, orientation=6),
        Geometry("restored[0]", 24, 16, 3),
    )
    [problem] = audit_problems([pair], AuditOptions())
    assert problem.part == "restored[0]"
    assert "differ only by EXIF orientation" in problem.message
