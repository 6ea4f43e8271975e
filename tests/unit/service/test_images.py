"""Header checks of uploads with Pillow: formats, modes, orientation, limits."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from api_schemas.images import ImageLimits
from service.images import InvalidImageError, inspect_image


def encode(im: Image.Image, fmt: str, **kwargs) -> io.BytesIO:
    buf = io.BytesIO()
    im.save(buf, fmt, **kwargs)
    buf.seek(0)
    return buf


@pytest.mark.parametrize(
    ("mode", "fmt", "channels"),
    [
        ("L", "PNG", 1),
        ("I;16", "PNG", 1),
        ("RGB", "JPEG", 3),
        ("RGBA", "PNG", 3),
        ("RGB", "WEBP", 3),
        ("F", "TIFF", 1),
        ("P", "PNG", 1),  # Image.new's palette is grey: one channel, as the worker decodes it
        ("PA", "TIFF", 1),
    ],
)
def test_accepted_images(mode, fmt, channels):
    header = inspect_image(encode(Image.new(mode, (7, 5)), fmt), ImageLimits(max_pixels=100))
    assert (header.width, header.height, header.channels, header.format) == (7, 5, channels, fmt)


def test_a_colour_palette_is_three_channels():
    im = Image.new("P", (7, 5))
    im.putpalette([0, 0, 0, 255, 0, 0])
    assert inspect_image(encode(im, "PNG"), ImageLimits(max_pixels=100)).channels == 3


def test_exif_orientation_swaps_size():
    exif = Image.Exif()
    exif[0x0112] = 6
    header = inspect_image(
        encode(Image.new("RGB", (8, 4)), "JPEG", exif=exif), ImageLimits(max_pixels=100)
    )
    assert (header.width, header.height) == (4, 8)


def test_stream_is_rewound():
    buf = encode(Image.new("L", (3, 3)), "PNG")
    inspect_image(buf, ImageLimits(max_pixels=100))
    assert buf.tell() == 0


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "not a decodable image"),
        (encode(Image.new("RGB", (4, 4)), "BMP").getvalue(), "not a decodable image"),
        (encode(Image.new("1", (4, 4)), "PNG").getvalue(), "mode '1'"),
        (encode(Image.new("L", (11, 10)), "PNG").getvalue(), "over 100 pixels"),
    ],
)
def test_refused_images(data, match):
    with pytest.raises(InvalidImageError, match=match):
        inspect_image(io.BytesIO(data), ImageLimits(max_pixels=100))


def test_mutated_images_only_ever_raise_invalid_image_error():
    """Fuzzing found TypeError('Missing dimensions') and struct errors escaping Pillow."""
    import random

    seeds = [
        encode(Image.new(m, (20, 10)), f).getvalue()
        for m, f in [("RGB", "PNG"), ("RGB", "JPEG"), ("L", "TIFF"), ("RGB", "WEBP"), ("F", "TIFF")]
    ]
    rng = random.Random(0)
    accepted = refused = 0
    reasons: set[str] = set()
    for _ in range(600):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            if rng.random() < 0.7:
                data[rng.randrange(len(data))] = rng.randrange(256)
            elif len(data) > 2:
                del data[rng.randrange(1, len(data)) :]
        try:  # any other exception fails the test: the API would answer 500
            header = inspect_image(io.BytesIO(bytes(data)), ImageLimits(max_pixels=10**7))
        except InvalidImageError as error:
            reasons.add(str(error).split(":")[0])
            refused += 1
        else:
            # An accepted mutant is a sane image the policy allows.
            assert header.format in {"PNG", "JPEG", "TIFF", "WEBP"}
            assert 0 < header.width * header.height <= 10**7
            assert header.channels in (1, 3)
            accepted += 1
    # Both outcomes occur, so the loop exercised the refusals and the acceptances it checks.
    assert accepted > 0
    assert refused > 0
    assert all(reasons), "every refusal says why"
