"""UP and DP plane plots (docs/theory.md §2): PNG output, the bound curve, the shaded region."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from PIL import Image

from workers.estimators.bounds import min_perception_index, min_uncertainty_multiplier
from workers.estimators.errors import EstimatorInputError
from workers.plots import (
    BOUND_LABEL,
    DISTORTION_LABEL,
    IMPOSSIBLE_COLOR,
    IMPOSSIBLE_LABEL,
    PERCEPTION_LABEL,
    UNCERTAINTY_LABEL,
    DpPoint,
    UpPoint,
    _dp_plane_figure,
    _up_plane_figure,
    dp_plane_png,
    up_plane_png,
)

POINTS = [
    UpPoint("mmse", 9.0, 0.0021, 0.0020, 0.0022),
    UpPoint("gan", 1.0, 0.0036, 0.0033, 0.0040),
    UpPoint("no-ci", 4.0, 0.0030),
]


def _decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def test_up_plane_png_decodes_at_the_documented_size() -> None:
    image = _decode(up_plane_png(POINTS, 0.002, 64))
    assert image.format == "PNG"
    assert image.size == (640, 480)


def test_up_plane_bound_curve_is_eta_times_inherent() -> None:
    figure = _up_plane_figure(POINTS, 0.002, 64)
    axes = figure.axes[0]
    (bound,) = [line for line in axes.get_lines() if line.get_label() == BOUND_LABEL]
    p, u = bound.get_data()
    assert p[0] == 0.0
    assert u[0] == pytest.approx(2 * 0.002, rel=1e-12)  # eta(0) = 2
    expected = [min_uncertainty_multiplier(float(x), 64) * 0.002 for x in p[::37]]
    np.testing.assert_allclose(u[::37], expected, rtol=1e-12)
    # the axis reaches past every point and at least to eta = 1.5
    assert p[-1] == pytest.approx(max(1.25 * 9.0, min_perception_index(1.5, 64)), rel=1e-12)
    assert axes.get_xlabel() == PERCEPTION_LABEL
    assert axes.get_ylabel() == UNCERTAINTY_LABEL
    shaded = [c for c in axes.collections if c.get_label() == IMPOSSIBLE_LABEL]
    assert len(shaded) == 1
    assert isinstance(shaded[0], PolyCollection)
    # every restorer is drawn, with its interval
    labels = [text.get_text() for text in axes.get_legend().get_texts()]
    assert {"mmse", "gan", "no-ci"} <= set(labels)


def test_up_plane_shading_is_rendered_below_the_curve() -> None:
    image = np.asarray(_decode(up_plane_png([], 0.002, 64)).convert("RGB")).astype(int)
    shade = np.array([int(IMPOSSIBLE_COLOR[i : i + 2], 16) for i in (1, 3, 5)])
    is_shade = np.all(np.abs(image - shade) <= 2, axis=-1)
    # a sizeable part of the plot area is shaded, and the shading sits at the bottom
    assert is_shade.mean() > 0.2
    rows = np.nonzero(is_shade.any(axis=1))[0]
    assert rows.mean() > image.shape[0] / 2


def test_up_plane_without_inherent_draws_no_bound() -> None:
    figure = _up_plane_figure(POINTS, None, 64)
    axes = figure.axes[0]
    assert not [line for line in axes.get_lines() if line.get_label() == BOUND_LABEL]
    assert not [c for c in axes.collections if c.get_label() == IMPOSSIBLE_LABEL]
    assert "unknown" in axes.get_title()
    assert _decode(up_plane_png(POINTS, None, 64)).size == (640, 480)


def test_up_plane_skips_non_finite_points() -> None:
    points = [UpPoint("nan", float("nan"), 0.1), UpPoint("inf", 1.0, float("inf"))]
    figure = _up_plane_figure([*points, POINTS[0]], 0.002, 64)
    labels = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert "mmse" in labels
    assert "nan" not in labels
    assert "inf" not in labels


def test_dp_plane_png_and_optional_bound() -> None:
    points = [DpPoint("mmse", 9.0, 0.003), DpPoint("gan", 1.0, 0.006)]
    assert _decode(dp_plane_png(points)).size == (640, 480)
    bare = _dp_plane_figure(points, None, None).axes[0]
    assert bare.get_xlabel() == PERCEPTION_LABEL
    assert bare.get_ylabel() == DISTORTION_LABEL
    assert not [line for line in bare.get_lines() if line.get_label() == BOUND_LABEL]
    bounded = _dp_plane_figure(points, 0.002, 64).axes[0]
    (bound,) = [line for line in bounded.get_lines() if line.get_label() == BOUND_LABEL]
    assert bound.get_data()[1][0] == pytest.approx(0.004, rel=1e-12)  # D(0) >= 2 N(X|Y)
    assert _decode(dp_plane_png(points, 0.002, 64)).format == "PNG"


def test_invalid_dimension_raises() -> None:
    with pytest.raises(EstimatorInputError, match="dimension a positive int"):
        up_plane_png(POINTS, 0.002, 0)
    with pytest.raises(EstimatorInputError, match="dimension a positive int"):
        dp_plane_png([DpPoint("a", 1.0, 0.1)], 0.002, -3)
