"""Heat-map PNG rendering: decodable, laid out as documented, colours from the inferno table."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from matplotlib import colormaps
from PIL import Image
from skimage import data

from workers.render import encode_png, heatmap_pixels

TITLE, PANEL, MIN_BODY, BAR_OFFSET, BAR_WIDTH, BAR_MARGIN = 20, 96, 128, 10, 14, 6


def _inferno() -> np.ndarray:
    """The reference colour table, built here from matplotlib independently of the module."""
    return np.round(colormaps["inferno"](np.linspace(0, 1, 256))[:, :3] * 255).astype(int)


def _decode(png: bytes) -> np.ndarray:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG"
    assert image.mode == "RGB"
    return np.asarray(image).astype(int)


def _render(background: np.ndarray, heat: np.ndarray, **kwargs: object) -> np.ndarray:
    options: dict[str, object] = {"title": "pair 7", "colorbar_label": "invented-detail ratio"}
    options.update(kwargs)
    return _decode(encode_png(heatmap_pixels(background, heat, **options)))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()[:200, :300].astype(np.float64) / 255.0


@pytest.mark.parametrize(
    ("height", "width", "out_w", "out_h"),
    [
        (200, 300, 300, 200),  # kept at full resolution
        (40, 50, 50, 40),  # small: the body grows to 128 rows for the bar
        (1024, 700, 700, 1024),  # exactly the limit: kept
        (2048, 1000, 500, 1024),  # long side 2048 -> 1024
        (600, 3000, 1024, 205),  # 600 * 1024 / 3000 = 204.8 -> 205
    ],
)
def test_size_follows_the_documented_layout(
    height: int, width: int, out_w: int, out_h: int
) -> None:
    background = np.full((height, width), 0.5)
    pixels = _render(background, np.zeros((height, width)))
    assert pixels.shape == (TITLE + max(out_h, MIN_BODY), out_w + PANEL, 3)


def test_colour_bar_runs_through_the_inferno_table(astronaut: np.ndarray) -> None:
    pixels = _render(astronaut, np.zeros(astronaut.shape[:2]))
    lut = _inferno()
    bar_height = 200 - 2 * BAR_MARGIN
    top = TITLE + BAR_MARGIN
    for column in (300 + BAR_OFFSET, 300 + BAR_OFFSET + BAR_WIDTH - 1):
        bar = pixels[top : top + bar_height, column]
        expected = lut[np.round((1 - np.arange(bar_height) / (bar_height - 1)) * 255).astype(int)]
        np.testing.assert_array_equal(bar, expected)
    # Outside the bar (the gap before it) the canvas is white.
    assert (pixels[top : top + bar_height, 300 + 2] == 255).all()


def test_tick_labels_title_and_label_are_drawn(astronaut: np.ndarray) -> None:
    pixels = _render(astronaut, np.zeros(astronaut.shape[:2]))
    labels = pixels[TITLE:, 300 + BAR_OFFSET + BAR_WIDTH + 6 : 300 + PANEL - 16]
    dark_rows = np.flatnonzero((labels.sum(axis=2) < 3 * 255).any(axis=1))
    # Five tick labels: five separate runs of dark rows.
    runs = 1 + int(np.count_nonzero(np.diff(dark_rows) > 1))
    assert runs == 5
    assert (pixels[:TITLE, :150].sum(axis=2) < 200).any()  # the title
    assert (pixels[TITLE:, 300 + PANEL - 16 :].sum(axis=2) < 200).any()  # the bar's label
    blank = _render(astronaut, np.zeros(astronaut.shape[:2]), title="")
    assert (blank[:TITLE] == 255).all()


def test_hot_spot_appears_where_it_is(astronaut: np.ndarray) -> None:
    heat = np.zeros(astronaut.shape[:2])
    heat[50:80, 200:240] = 1.0
    pixels = _render(astronaut, heat)[TITLE : TITLE + 200, :300]
    warm = pixels[..., 0] + pixels[..., 1] - pixels[..., 2]  # red + green - blue: yellow
    inside = warm[50:80, 200:240].mean()
    outside = np.delete(warm, np.s_[40:90], axis=0).mean()
    # Inside: 0.4 grey + 0.6 * inferno(1) = pale yellow; outside: 0.4 grey + 0.6 * black.
    assert inside > outside + 150
    np.testing.assert_allclose(
        pixels[60, 210],
        np.round(0.4 * 255 * astronaut[60, 210] @ [0.299, 0.587, 0.114]) + 0.6 * _inferno()[255],
        atol=1.0,
    )


def test_hot_spot_survives_downscaling() -> None:
    background = np.full((2000, 1500), 0.5)
    heat = np.zeros((2000, 1500))
    heat[1000:1200, 200:400] = 5.0
    pixels = _render(background, heat, vmax=5.0)
    # Scale 1024 / 2000: the spot lands at rows 512..614, columns 102..204 of the image.
    image = pixels[TITLE : TITLE + 1024, :768]
    assert image.shape == (1024, 768, 3)
    spot = image[530:600, 120:190, 0].mean()
    elsewhere = image[100:400, 400:700, 0].mean()
    assert spot > elsewhere + 150


def test_vmax_saturates_and_scales(astronaut: np.ndarray) -> None:
    heat = np.full(astronaut.shape[:2], 10.0)
    saturated = _render(astronaut, heat, vmax=2.0)
    at_peak = _render(astronaut, heat)  # vmax None: the maximum, 10
    np.testing.assert_array_equal(
        saturated[TITLE : TITLE + 200, :300], at_peak[TITLE : TITLE + 200, :300]
    )
    half = _render(astronaut, heat, vmax=20.0)[TITLE + 100, 150]
    expected = (
        np.round(0.4 * 255 * astronaut[100, 150] @ [0.299, 0.587, 0.114]) + 0.6 * _inferno()[128]
    )
    np.testing.assert_allclose(half, expected, atol=1.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_heat_raises(bad: float) -> None:
    heat = np.zeros((8, 8))
    heat[3, 4] = bad
    with pytest.raises(ValueError, match="expected finite heat values"):
        heatmap_pixels(np.zeros((8, 8)), heat, title="t", colorbar_label="c")


@pytest.mark.parametrize(
    ("background", "heat", "vmax", "message"),
    [
        (np.zeros((8, 8)), np.zeros((8, 9)), None, r"expected heat of shape \(8, 8\)"),
        (np.zeros((8, 8, 4)), np.zeros((8, 8)), None, "expected background of shape"),
        (np.zeros((8,)), np.zeros((8,)), None, "expected background of shape"),
        (np.full((8, 8), 1.5), np.zeros((8, 8)), None, r"expected background values in \[0, 1\]"),
        (np.full((8, 8), math.nan), np.zeros((8, 8)), None, "expected finite background values"),
        (np.zeros((0, 8)), np.zeros((0, 8)), None, "expected a non-empty image"),
        (np.zeros((8, 8)), np.zeros((8, 8), dtype=complex), None, "expected a real dtype"),
        (np.zeros((8, 8)), np.zeros((8, 8)), 0.0, "expected vmax finite and > 0"),
        (np.zeros((8, 8)), np.zeros((8, 8)), math.nan, "expected vmax finite and > 0"),
    ],
)
def test_bad_inputs_raise(
    background: np.ndarray, heat: np.ndarray, vmax: float | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        heatmap_pixels(background, heat, vmax=vmax, title="t", colorbar_label="c")


def test_png_holds_exactly_the_drawn_pixels(astronaut: np.ndarray) -> None:
    # The service stores heatmap_pixels and encodes on first download; the CLI encodes at
    # once: the PNG must hold exactly the drawn pixels.
    background = astronaut[:64, :80] / 255.0
    heat = np.linspace(0.0, 2.0, 64 * 80).reshape(64, 80)
    options = {"vmax": 1.5, "title": "p: error", "colorbar_label": "|e|"}
    pixels = heatmap_pixels(background, heat, **options)  # type: ignore[arg-type]
    assert pixels.dtype == np.uint8
    assert pixels.shape == (20 + 128, 80 + 96, 3)
    png = encode_png(pixels)
    np.testing.assert_array_equal(_decode(png), pixels)
