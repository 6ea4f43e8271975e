"""Image decoding: every accepted kind decodes to the exact numpy conversion; the rest is refused.

Files are generated with Pillow in tmp_path (or crafted byte by byte where Pillow cannot write
them); expected values are numpy conversions of the same pixels: 8-bit / 255, 16-bit / 65535,
float32 division in both.
"""

from __future__ import annotations

import struct
import threading
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile
from skimage import data

from workers.errors import AuditInputError, ImageDecodeError
from workers.io import DecodedImage, check_same_geometry, decode_image, decode_many

RGB = data.astronaut()[100:164, 150:230]  # (64, 80, 3) uint8
GREY = data.camera()[200:248, 100:172]  # (48, 72) uint8
GREY16 = (GREY.astype(np.uint16) * 257 + np.arange(72, dtype=np.uint16)).astype(np.uint16)


def _expected(pixels: np.ndarray, divisor: float) -> np.ndarray:
    planes = pixels[..., None] if pixels.ndim == 2 else pixels
    return planes.transpose(2, 0, 1).astype(np.float32) / np.float32(divisor)


def _save(image: Image.Image, path: Path, **options: object) -> Path:
    image.save(path, **options)
    return path


def _assert_exact(decoded: DecodedImage, pixels: np.ndarray, divisor: float) -> None:
    assert decoded.tensor.dtype == torch.float32
    assert decoded.tensor.is_contiguous()
    np.testing.assert_array_equal(decoded.tensor.numpy(), _expected(pixels, divisor))


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _png(width: int, height: int, depth: int, color: int, idat: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


# --- accepted kinds, decoded exactly -------------------------------------------------------


def test_png_rgb_8bit(tmp_path: Path) -> None:
    decoded = decode_image(_save(Image.fromarray(RGB), tmp_path / "a.png"), name="gt[0]")
    _assert_exact(decoded, RGB, 255)
    assert decoded.tensor.shape == (3, 64, 80)
    assert (decoded.mode, decoded.bit_depth, decoded.format) == ("RGB", 8, "PNG")
    assert decoded.warnings == []


def test_png_grey_8bit_from_bytes(tmp_path: Path) -> None:
    path = _save(Image.fromarray(GREY), tmp_path / "g.png")
    decoded = decode_image(path.read_bytes(), name="gt[1]")
    _assert_exact(decoded, GREY, 255)
    assert decoded.tensor.shape == (1, 48, 72)
    assert (decoded.mode, decoded.bit_depth) == ("L", 8)


@pytest.mark.parametrize("suffix", ["png", "tiff"])
def test_grey_16bit_divides_by_65535(tmp_path: Path, suffix: str) -> None:
    path = _save(Image.fromarray(GREY16), tmp_path / f"g16.{suffix}")
    decoded = decode_image(path, name="x")
    _assert_exact(decoded, GREY16, 65535)
    assert decoded.mode.startswith("I;16")
    assert decoded.bit_depth == 16
    assert float(decoded.tensor.max()) <= 1.0


def test_big_endian_16bit_tiff(tmp_path: Path) -> None:
    path = _save(Image.fromarray(GREY16.astype(">u2")), tmp_path / "be.tif")
    decoded = decode_image(path, name="be")
    assert decoded.mode == "I;16B"
    _assert_exact(decoded, GREY16, 65535)


def test_rgb_16bit_png_is_kept_at_8_bits_with_a_warning() -> None:
    # Pillow has no 48-bit mode; it keeps each sample's high byte. Crafted by hand.
    samples = (np.arange(4 * 5 * 3).reshape(4, 5, 3) * 3001).astype(">u2")
    rows = b"".join(b"\x00" + samples[i].tobytes() for i in range(4))
    decoded = decode_image(_png(5, 4, 16, 2, zlib.compress(rows)), name="rgb48")
    _assert_exact(decoded, (samples >> 8).astype(np.uint8), 255)
    assert decoded.bit_depth == 16
    assert decoded.warnings == ["rgb48: 16-bit RGB decoded at 8-bit precision (Pillow limitation)"]


def test_rgba_drops_alpha_with_a_warning_naming_the_file(tmp_path: Path) -> None:
    alpha = np.linspace(0, 255, RGB.shape[0] * RGB.shape[1]).astype(np.uint8).reshape(64, 80)
    rgba = np.dstack([RGB, alpha])
    decoded = decode_image(_save(Image.fromarray(rgba), tmp_path / "a.png"), name="restored[3]")
    _assert_exact(decoded, RGB, 255)
    assert decoded.mode == "RGBA"
    assert decoded.warnings == ["restored[3]: alpha channel dropped (RGBA)"]


def test_la_drops_alpha_with_a_warning(tmp_path: Path) -> None:
    la = Image.merge("LA", [Image.fromarray(GREY), Image.fromarray(255 - GREY)])
    decoded = decode_image(_save(la, tmp_path / "la.png"), name="p")
    _assert_exact(decoded, GREY, 255)
    assert decoded.warnings == ["p: alpha channel dropped (LA)"]


def test_jpeg_matches_pillows_own_decode(tmp_path: Path) -> None:
    path = _save(Image.fromarray(RGB), tmp_path / "a.jpg", quality=85)
    decoded = decode_image(path, name="j")
    with Image.open(path) as reference:
        _assert_exact(decoded, np.asarray(reference), 255)
    assert (decoded.format, decoded.mode) == ("JPEG", "RGB")


def test_webp_lossless(tmp_path: Path) -> None:
    path = _save(Image.fromarray(RGB), tmp_path / "a.webp", lossless=True)
    decoded = decode_image(path, name="w")
    _assert_exact(decoded, RGB, 255)
    assert decoded.format == "WEBP"


def test_tiff_rgb_8bit(tmp_path: Path) -> None:
    decoded = decode_image(_save(Image.fromarray(RGB), tmp_path / "a.tif"), name="t")
    _assert_exact(decoded, RGB, 255)
    assert decoded.format == "TIFF"


def test_float_tiff_in_unit_range(tmp_path: Path) -> None:
    values = (GREY.astype(np.float32) / 255) ** 2
    path = _save(Image.fromarray(values, mode="F"), tmp_path / "f.tif")
    decoded = decode_image(path, name="f")
    np.testing.assert_array_equal(decoded.tensor.numpy()[0], values)
    assert (decoded.mode, decoded.bit_depth) == ("F", 32)


def test_bilevel_is_refused_as_the_api_refuses_it(tmp_path: Path) -> None:
    # One policy (api_schemas.images): 8- or 16-bit grey, not 1-bit.
    path = _save(Image.fromarray(GREY > 128), tmp_path / "b.png")
    _refused(path, "mode '1' is not accepted")


def test_palette_colour_to_rgb(tmp_path: Path) -> None:
    palette_image = Image.fromarray(RGB).quantize(colors=32)
    path = _save(palette_image, tmp_path / "p.png")
    decoded = decode_image(path, name="p")
    _assert_exact(decoded, np.asarray(palette_image.convert("RGB")), 255)
    assert decoded.mode == "P"
    assert decoded.tensor.shape[0] == 3


def test_palette_grey_to_one_channel(tmp_path: Path) -> None:
    indices = (GREY // 4).astype(np.uint8)  # 64 levels
    palette_image = Image.fromarray(indices, mode="L").convert("P")
    palette_image.putpalette([v for level in range(256) for v in (level * 4 % 256,) * 3])
    path = _save(palette_image, tmp_path / "pg.png")
    decoded = decode_image(path, name="pg")
    _assert_exact(decoded, (indices.astype(np.uint16) * 4 % 256).astype(np.uint8), 255)
    assert decoded.tensor.shape[0] == 1


def test_palette_transparency_is_dropped_with_a_warning(tmp_path: Path) -> None:
    palette_image = Image.fromarray(RGB).quantize(colors=16)
    path = _save(palette_image, tmp_path / "pt.png", transparency=0)
    decoded = decode_image(path, name="pt")
    assert decoded.warnings == ["pt: palette transparency dropped"]


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    # Orientation 6: the stored pixels must be turned 90 degrees clockwise for display.
    stored = np.zeros((32, 48, 3), dtype=np.uint8)
    stored[:, :16] = 255  # a white band on the left of the stored image
    exif = Image.Exif()
    exif[0x0112] = 6
    path = _save(Image.fromarray(stored), tmp_path / "r.jpg", exif=exif, quality=95)
    decoded = decode_image(path, name="r")
    with Image.open(path) as raw:
        expected = np.rot90(np.asarray(raw), k=-1)  # clockwise
    assert decoded.tensor.shape == (3, 48, 32)
    _assert_exact(decoded, np.ascontiguousarray(expected), 255)
    # After a clockwise turn the band sits at the top.
    assert float(decoded.tensor[:, :8].mean()) > 0.95
    assert float(decoded.tensor[:, -8:].mean()) < 0.05


# --- refused files ----------------------------------------------------------------------


def _refused(source: Path | bytes, match: str, **options: int) -> ImageDecodeError:
    with pytest.raises(ImageDecodeError, match=match) as caught:
        decode_image(source, name="restored[7]", **options)
    assert caught.value.part == "restored[7]"
    assert str(caught.value).startswith("restored[7]: ")
    return caught.value


def test_zero_bytes(tmp_path: Path) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    _refused(tmp_path / "empty.png", "empty file")
    _refused(b"", "empty file")


def test_missing_file(tmp_path: Path) -> None:
    _refused(tmp_path / "nope.png", "cannot read file")


def test_text_bytes() -> None:
    _refused(b"hello, this is not an image\n", "not a decodable image")


def test_gif_is_not_an_accepted_format(tmp_path: Path) -> None:
    path = _save(Image.fromarray(GREY), tmp_path / "g.gif")
    _refused(path, r"not a decodable image \(PNG, JPEG, TIFF or WebP\)")


def test_png_with_jpeg_extension_is_judged_by_content(tmp_path: Path) -> None:
    path = _save(Image.fromarray(GREY), tmp_path / "g.jpg", format="PNG")
    assert decode_image(path, name="g").format == "PNG"


@pytest.mark.parametrize(("fmt", "suffix"), [("PNG", "png"), ("JPEG", "jpg")])
def test_truncated_file(tmp_path: Path, fmt: str, suffix: str) -> None:
    path = _save(Image.fromarray(RGB), tmp_path / f"t.{suffix}", format=fmt)
    payload = path.read_bytes()
    _refused(payload[: len(payload) // 2], "truncated")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_corrupt_png_crc(tmp_path: Path) -> None:
    payload = bytearray(_save(Image.fromarray(RGB), tmp_path / "c.png").read_bytes())
    payload[200] ^= 0xFF  # inside the compressed data of the first IDAT chunk
    _refused(bytes(payload), "corrupt")


@pytest.mark.parametrize(("fmt", "options"), [("PNG", {}), ("WEBP", {"lossless": True})])
def test_animated_images(tmp_path: Path, fmt: str, options: dict[str, object]) -> None:
    frames = [Image.fromarray(RGB), Image.fromarray(255 - RGB)]
    path = tmp_path / f"anim.{fmt.lower()}"
    frames[0].save(path, format=fmt, save_all=True, append_images=frames[1:], **options)
    _refused(path, "expected a single frame, got 2")


def test_multi_page_tiff(tmp_path: Path) -> None:
    path = tmp_path / "pages.tif"
    Image.fromarray(GREY).save(path, save_all=True, append_images=[Image.fromarray(GREY)])
    _refused(path, "expected a single frame, got 2")


def test_cmyk_jpeg_names_the_mode(tmp_path: Path) -> None:
    path = _save(Image.fromarray(RGB).convert("CMYK"), tmp_path / "c.jpg")
    _refused(path, "mode 'CMYK' is not accepted")


def test_32bit_integer_tiff_names_the_mode(tmp_path: Path) -> None:
    path = _save(Image.fromarray(GREY.astype(np.int32)), tmp_path / "i.tif")
    _refused(path, "mode 'I' is not accepted")


@pytest.mark.parametrize(
    ("values", "match"),
    [
        (np.array([[0.5, np.nan], [0.1, 0.2]], dtype=np.float32), "NaN or infinity"),
        (np.array([[0.5, np.inf], [0.1, 0.2]], dtype=np.float32), "NaN or infinity"),
        (np.array([[0.5, 1.25], [-0.5, 0.2]], dtype=np.float32), r"values in \[-0.5, 1.25\]"),
    ],
)
def test_bad_float_tiff(tmp_path: Path, values: np.ndarray, match: str) -> None:
    path = _save(Image.fromarray(values, mode="F"), tmp_path / "bad.tif")
    _refused(path, match)


def test_small_png_of_81_megapixels_refused_before_decoding(tmp_path: Path) -> None:
    path = _save(Image.new("L", (9000, 9000)), tmp_path / "bomb.png", optimize=True)
    assert path.stat().st_size < 100_000  # 81 MB of pixels in a few tens of kilobytes
    _refused(path, "image too large: 9000x9000 is over 40000000 pixels")


def test_max_pixels_is_per_call(tmp_path: Path) -> None:
    path = _save(Image.fromarray(GREY), tmp_path / "g.png")
    _refused(path, "72x48 is over 3455 pixels", max_pixels=3455)
    assert decode_image(path, name="g", max_pixels=3456).tensor.shape == (1, 48, 72)


def test_pillow_bomb_limit_still_applies_above_max_pixels() -> None:
    # A header claiming 20000 x 20000 = 4e8 pixels, over twice Pillow's MAX_IMAGE_PIXELS.
    assert Image.MAX_IMAGE_PIXELS is not None
    assert 2 * Image.MAX_IMAGE_PIXELS < 20000 * 20000
    _refused(_png(20000, 20000, 8, 0, b""), "decompression bomb", max_pixels=10**9)


def test_pillow_bomb_warning_becomes_an_error() -> None:
    # 10000 x 10000 = 1e8 pixels: between MAX_IMAGE_PIXELS and twice it, Pillow only warns.
    assert Image.MAX_IMAGE_PIXELS is not None
    assert Image.MAX_IMAGE_PIXELS < 10000 * 10000 < 2 * Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # even where warnings are ignored, it is refused
        _refused(_png(10000, 10000, 8, 0, b""), "decompression bomb", max_pixels=10**9)


def test_bad_max_pixels(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected max_pixels to be a positive int, got 0"):
        decode_image(b"x", name="x", max_pixels=0)


# --- pairs and batches ------------------------------------------------------------------


def _decoded(shape: tuple[int, int, int], mode: str = "RGB") -> DecodedImage:
    return DecodedImage(tensor=torch.zeros(shape), mode=mode, bit_depth=8, format="PNG")


def test_same_geometry_passes() -> None:
    check_same_geometry(_decoded((3, 4, 5)), _decoded((3, 4, 5)), name="pair[0]")


def test_size_mismatch_names_both_sizes() -> None:
    with pytest.raises(
        AuditInputError, match=r"^pair\[2\]: size 6x4 differs from its ground truth \(5x4\)$"
    ):
        check_same_geometry(_decoded((3, 4, 5)), _decoded((3, 4, 6)), name="pair[2]")


def test_channel_mismatch_names_both_counts() -> None:
    with pytest.raises(
        AuditInputError, match=r"^pair\[1\]: 1 channels \(L\) but its ground truth has 3 \(RGB\)"
    ):
        check_same_geometry(_decoded((3, 4, 5)), _decoded((1, 4, 5), "L"), name="pair[1]")


def test_mismatch_names_the_ground_truth_part_when_given() -> None:
    with pytest.raises(AuditInputError, match=r"differs from its ground truth gt/a\.png \(5x4\)"):
        check_same_geometry(
            _decoded((3, 4, 5)), _decoded((3, 4, 6)), name="out/a.png", ground_truth_name="gt/a.png"
        )


def test_decode_many_keeps_order_and_matches_single_decodes(tmp_path: Path) -> None:
    sources: list[Path | bytes] = []
    for i in range(6):
        sources.append(_save(Image.fromarray(np.roll(RGB, 7 * i, axis=1)), tmp_path / f"{i}.png"))
    sources.append(sources[0].read_bytes())  # type: ignore[union-attr]
    names = [f"restored[{i}]" for i in range(len(sources))]
    many = decode_many(sources, names, workers=2)
    for i, decoded in enumerate(many[:6]):
        _assert_exact(decoded, np.roll(RGB, 7 * i, axis=1), 255)
    assert torch.equal(many[6].tensor, many[0].tensor)
    assert decode_many([], [], workers=2) == []


def test_decode_many_raises_the_first_failure_in_order(tmp_path: Path) -> None:
    good = _save(Image.fromarray(GREY), tmp_path / "g.png")
    with pytest.raises(ImageDecodeError, match=r"^restored\[1\]: empty file"):
        decode_many([good, b"", b"junk"], ["restored[0]", "restored[1]", "restored[2]"], workers=3)


def test_decode_many_argument_errors() -> None:
    with pytest.raises(ValueError, match="expected as many names as sources, got 1 and 2"):
        decode_many([b"a", b"b"], ["a"])
    with pytest.raises(ValueError, match="expected workers >= 1, got 0"):
        decode_many([b"a"], ["a"], workers=0)


def test_concurrent_decoding_leaves_warning_filters_alone(tmp_path: Path) -> None:
    before = list(warnings.filters)
    good = _save(Image.fromarray(RGB), tmp_path / "a.png").read_bytes()
    bomb = _png(10000, 10000, 8, 0, b"")
    errors: list[BaseException] = []

    def work() -> None:
        for _ in range(20):
            decode_image(good, name="a")
            try:
                decode_image(bomb, name="b", max_pixels=10**9)
            except ImageDecodeError:
                pass
            else:  # pragma: no cover - the failure being guarded against
                errors.append(AssertionError("bomb accepted"))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert warnings.filters == before


def test_bytes_and_path_agree(tmp_path: Path) -> None:
    path = _save(Image.fromarray(RGB), tmp_path / "a.png")
    from_bytes = decode_image(path.read_bytes(), name="a")
    assert torch.equal(from_bytes.tensor, decode_image(path, name="a").tensor)


def test_multi_picture_jpeg_uses_the_primary_image(tmp_path: Path) -> None:
    # Cameras write MPO (a JPEG plus previews or depth maps): not an animation.
    path = tmp_path / "camera.jpg"
    Image.fromarray(RGB).save(
        path, format="MPO", save_all=True, append_images=[Image.fromarray(GREY)]
    )
    decoded = decode_image(str(path), name="mpo")
    with Image.open(path) as reference:
        _assert_exact(decoded, np.asarray(reference), 255)
    assert (decoded.format, decoded.tensor.shape) == ("JPEG", (3, 64, 80))
    assert decoded.warnings == ["mpo: multi-picture JPEG (MPO), only the primary image is used"]
