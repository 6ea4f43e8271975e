"""Heat-map PNGs: a per-pixel map blended over a greyscale copy of the restored image.

Used for the invented-detail maps of docs/theory.md §3.7. Pillow draws everything; matplotlib is
imported lazily, only to read the ``inferno`` colour table.

Layout of the returned PNG (all in pixels, ``W' x H'`` the possibly downscaled image size)::

    +------------------------------+--------------- 96 ---------------+
    | title (TITLE_HEIGHT = 20 rows, black text on white)               |
    +------------------------------+----------------------------------+
    | image, W' x H', at (0, 20)   | bar at columns W'+10 .. W'+23,   |
    |                              | rows 26 .. 20 + body - 7;        |
    |                              | 5 ticks + labels; the colour-bar |
    |                              | label runs upwards at the right  |
    +------------------------------+----------------------------------+

``body = max(H', 128)`` so that the colour bar stays legible on small images; the canvas is
``(W' + 96) x (20 + body)`` and white where nothing is drawn.
"""

from __future__ import annotations

import functools
import io
import math

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from api_schemas.conventions import BT601_LUMA_WEIGHTS

MAX_SIDE = 1024
"""Images whose long side exceeds this are downscaled (box filter) to this long side."""
TITLE_HEIGHT = 20
PANEL_WIDTH = 96
MIN_BODY_HEIGHT = 128
BAR_OFFSET = 10
"""Gap between the image and the colour bar."""
BAR_WIDTH = 14
BAR_MARGIN = 6
"""Rows left blank above and below the colour bar inside the body."""
HEAT_ALPHA = 0.6
"""Opacity of the colour map over the greyscale image."""
TICKS = 5

_LUMA = np.array(BT601_LUMA_WEIGHTS)


@functools.cache
def _inferno_lut() -> NDArray[np.uint8]:
    """The 256-entry ``inferno`` colour table of matplotlib as uint8 RGB rows."""
    from matplotlib import colormaps

    rgba = colormaps["inferno"](np.linspace(0.0, 1.0, 256))
    return np.asarray(np.round(rgba[:, :3] * 255.0), dtype=np.uint8)


def _check_inputs(background: NDArray[np.floating], heat: NDArray[np.floating]) -> None:
    if not isinstance(background, np.ndarray) or not (
        background.ndim == 2 or (background.ndim == 3 and background.shape[2] == 3)
    ):
        shape = background.shape if isinstance(background, np.ndarray) else type(background)
        raise ValueError(f"expected background of shape (H, W) or (H, W, 3), got {shape}")
    if not isinstance(heat, np.ndarray) or heat.shape != background.shape[:2]:
        shape = heat.shape if isinstance(heat, np.ndarray) else type(heat)
        raise ValueError(f"expected heat of shape {background.shape[:2]}, got {shape}")
    for array, name in ((background, "background"), (heat, "heat")):
        if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
            raise ValueError(f"expected a real dtype for {name}, got {array.dtype}")
        if not np.isfinite(array).all():
            raise ValueError(f"expected finite {name} values, got NaN or infinity")
    if background.shape[0] < 1 or background.shape[1] < 1:
        raise ValueError(f"expected a non-empty image, got shape {background.shape}")
    if background.min() < 0.0 or background.max() > 1.0:
        raise ValueError(
            f"expected background values in [0, 1], got [{background.min()}, {background.max()}]"
        )


def _resize(plane: NDArray[np.float64], width: int, height: int) -> NDArray[np.float64]:
    """Box-filter resize of a float plane (no-op when the size is unchanged)."""
    if plane.shape == (height, width):
        return plane
    image = Image.fromarray(plane.astype(np.float32))
    resized = image.resize((width, height), Image.Resampling.BOX)
    return np.asarray(resized, dtype=np.float64)


def _tick_label(value: float) -> str:
    return f"{value:.3g}"


def encode_png(pixels: NDArray[np.uint8]) -> bytes:
    """PNG bytes of an ``(H, W, 3)`` uint8 RGB array.

    Filtering and deflating noise-like colours costs about ten times the drawing
    (``benchmarks/bench_artifacts.py``), so the service stores the pixels and encodes on
    first download (``jobstore.PayloadStore.write_artifact_pixels``).
    """
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def heatmap_pixels(
    background: NDArray[np.floating],
    heat: NDArray[np.floating],
    *,
    vmax: float | None = None,
    title: str,
    colorbar_label: str,
) -> NDArray[np.uint8]:
    """Draw ``heat`` over a greyscale copy of ``background`` with a colour bar, as RGB pixels.

    The colour of a pixel is ``(1 - 0.6) * grey + 0.6 * inferno(clip(heat / vmax, 0, 1))``,
    where ``grey`` is the full-range BT.601 luma of ``background`` (0.299 R + 0.587 G + 0.114 B)
    repeated on three channels (blended as 8-bit planes, so within one level of that sum in
    real numbers). The colour scale starts at 0; the bar shows ``inferno`` from 0
    (bottom) to ``vmax`` (top) with five ticks ``0, vmax/4, ..., vmax``. Images with a side
    longer than 1024 pixels are box-downscaled so that the long side is 1024; smaller ones keep
    their resolution. See the module docstring for the exact layout.

    Args:
        background: The restored image, float ``(H, W)`` or ``(H, W, 3)`` in [0, 1].
        heat: The map, float ``(H, W)``, finite; values below 0 show as 0.
        vmax: Value shown at the top of the scale (heat above it saturates), finite and > 0;
            ``None`` means the maximum of ``heat`` (1 when that is not positive).
        title: Text drawn in the title band (clipped if wider than the canvas).
        colorbar_label: Text drawn upwards beside the colour bar (clipped if longer than the
            body).

    Returns:
        ``(20 + max(H', 128), W' + 96, 3)`` uint8 RGB pixels.

    Raises:
        ValueError: If the shapes disagree or are empty, ``heat`` or ``background`` holds NaN or
            infinity, ``background`` leaves [0, 1], or ``vmax`` is not finite and positive.

    Example:
        >>> heatmap_pixels(np.zeros((4, 6)), np.ones((4, 6)), title="t", colorbar_label="c").shape
        (148, 102, 3)
    """
    _check_inputs(background, heat)
    if vmax is not None and not (math.isfinite(vmax) and vmax > 0):
        raise ValueError(f"expected vmax finite and > 0, got {vmax!r}")
    heat64 = np.asarray(heat, dtype=np.float64)
    if vmax is None:
        peak = float(heat64.max())
        vmax = peak if peak > 0 else 1.0
    grey = np.asarray(background, dtype=np.float64)
    if grey.ndim == 3:
        grey = grey @ _LUMA
    height, width = heat64.shape
    scale = min(1.0, MAX_SIDE / max(height, width))
    out_w, out_h = max(1, round(width * scale)), max(1, round(height * scale))
    grey = _resize(grey, out_w, out_h)
    level = _resize(heat64, out_w, out_h)
    lut = _inferno_lut()
    # Colour look-up and blend in Pillow on 8-bit planes, within one grey level of the same
    # sums in float64 numpy and several times faster than them.
    indices = np.clip(level * (255.0 / vmax), 0.0, 255.0)
    colours = Image.fromarray(np.rint(indices, out=indices).astype(np.uint8), "L")
    colours = colours.convert("P")
    colours.putpalette(lut.reshape(-1).tobytes())
    grey_plane = Image.fromarray(np.rint(np.clip(grey, 0.0, 1.0) * 255.0).astype(np.uint8), "L")
    image = Image.blend(grey_plane.convert("RGB"), colours.convert("RGB"), HEAT_ALPHA)

    body = max(out_h, MIN_BODY_HEIGHT)
    canvas = Image.new("RGB", (out_w + PANEL_WIDTH, TITLE_HEIGHT + body), "white")
    canvas.paste(image, (0, TITLE_HEIGHT))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    draw.text((4, 4), title, fill="black", font=font)

    bar_left = out_w + BAR_OFFSET
    bar_top = TITLE_HEIGHT + BAR_MARGIN
    bar_height = body - 2 * BAR_MARGIN
    ramp = 1.0 - np.arange(bar_height) / (bar_height - 1)
    bar = lut[np.round(ramp * 255.0).astype(np.intp)]
    bar_pixels = np.ascontiguousarray(np.repeat(bar[:, None, :], BAR_WIDTH, axis=1))
    canvas.paste(Image.fromarray(bar_pixels), (bar_left, bar_top))
    bar_right = bar_left + BAR_WIDTH
    for tick in range(TICKS):
        fraction = tick / (TICKS - 1)
        row = bar_top + round((1.0 - fraction) * (bar_height - 1))
        draw.line([(bar_right, row), (bar_right + 3, row)], fill="black")
        text = _tick_label(fraction * vmax)
        _, text_top, _, text_bottom = draw.textbbox((0, 0), text, font=font)
        draw.text(
            (bar_right + 6, row - (text_top + text_bottom) / 2), text, fill="black", font=font
        )

    _, _, right, bottom = draw.textbbox((0, 0), colorbar_label, font=font)
    label = Image.new("RGB", (max(1, math.ceil(right)), max(1, math.ceil(bottom))), "white")
    ImageDraw.Draw(label).text((0, 0), colorbar_label, fill="black", font=font)
    label = label.rotate(90, expand=True)
    label_x = out_w + PANEL_WIDTH - label.width - 2
    label_y = TITLE_HEIGHT + max(0, (body - label.height) // 2)
    canvas.paste(label.crop((0, 0, label.width, min(label.height, body))), (label_x, label_y))

    return np.asarray(canvas, dtype=np.uint8)
