"""Invented-detail ratio and map (docs/theory.md §3.7) against closed forms and brute force."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage import data

from workers.estimators.errors import EstimatorInputError
from workers.estimators.hallucination import (
    detail,
    invented_detail_map,
    invented_detail_ratio,
    invented_detail_statistics,
)

SIGMA = 2.0  # docs/theory.md default detail scale without a known factor


@functools.cache
def _load(name: str) -> np.ndarray:
    image: np.ndarray = getattr(data, name)()
    return image


def _photo(name: str, size: int = 160) -> torch.Tensor:
    """A (1, C, size, size) float64 crop in [0, 1] of a scikit-image photograph."""
    image = _load(name)[:size, :size].astype(np.float64) / 255.0
    if image.ndim == 2:
        image = image[..., None]
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None]


def _detail_noise(like: torch.Tensor, energy: torch.Tensor, seed: int) -> torch.Tensor:
    """High-passed white noise scaled so that its own detail energy equals ``energy``."""
    generator = torch.Generator().manual_seed(seed)
    noise = detail(torch.randn(like.shape, generator=generator, dtype=like.dtype), SIGMA)
    return noise * torch.sqrt(energy / detail(noise, SIGMA).pow(2).sum())


def _np_detail(images: np.ndarray, sigma: float) -> np.ndarray:
    """x - G*x by scipy (mirror mode is torch's reflect), radius ceil(4 sigma)."""
    radius = math.ceil(4 * sigma)
    blurred = ndimage.gaussian_filter(
        images, (0, 0, sigma, sigma), mode="mirror", radius=(0, 0, radius, radius)
    )
    return images - blurred


PHOTOS = ["astronaut", "camera", "coffee", "chelsea"]


def test_detail_matches_scipy_high_pass() -> None:
    x = _photo("coffee", 64)
    np.testing.assert_allclose(detail(x, 1.5).numpy(), _np_detail(x.numpy(), 1.5), atol=1e-12)


def test_statistics_match_least_squares_by_numpy() -> None:
    target = _photo("astronaut", 48)
    restored = _photo("chelsea", 48)
    residual, energy = invented_detail_statistics(restored, target, SIGMA)
    h = _np_detail(restored.numpy(), SIGMA).ravel()
    g = _np_detail(target.numpy(), SIGMA).ravel()
    gain, *_ = np.linalg.lstsq(g[:, None], h, rcond=None)
    expected_residual = float(np.sum((h - gain[0] * g) ** 2))
    assert residual.shape == (1,)
    np.testing.assert_allclose(float(residual[0]), expected_residual, rtol=1e-10)
    np.testing.assert_allclose(float(energy[0]), float(np.sum(g**2)), rtol=1e-12)


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_ratio_of_truth_is_zero(name: str, dtype: torch.dtype) -> None:
    x = _photo(name).to(dtype)
    assert float(invented_detail_ratio(x, x, SIGMA)[0]) == 0.0


@pytest.mark.parametrize("name", PHOTOS)
def test_ratio_of_gain_and_offset_is_zero(name: str) -> None:
    x = _photo(name)
    ratio = invented_detail_ratio(0.7 * x + 0.1, x, SIGMA)
    assert float(ratio[0]) < 1e-20


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize("blur", [1.0, 2.0])
def test_ratio_of_blurred_truth_is_small(name: str, blur: float) -> None:
    # An MMSE-like output misses detail rather than inventing it. One gain a per image cannot
    # follow the blur's frequency response, so the ratio is the spread of that response over
    # the detail band: measured 0.04-0.095 on these photographs, far under 0.25 (medium risk)
    # and under a tenth of the ~1 of invented detail (next test).
    x = _photo(name)
    blurred = torch.from_numpy(
        ndimage.gaussian_filter(x.numpy(), (0, 0, blur, blur), mode="mirror", truncate=4.0)
    )
    assert float(invented_detail_ratio(blurred, x, SIGMA)[0]) < 0.1


@pytest.mark.parametrize("name", PHOTOS)
def test_ratio_of_heavily_blurred_truth_is_under_five_percent(name: str) -> None:
    x = _photo(name)
    blurred = torch.from_numpy(
        ndimage.gaussian_filter(x.numpy(), (0, 0, 4.0, 4.0), mode="mirror", truncate=4.0)
    )
    assert float(invented_detail_ratio(blurred, x, SIGMA)[0]) < 0.05


@pytest.mark.parametrize(("name", "seed"), [(n, s) for s, n in enumerate(PHOTOS)])
def test_ratio_of_independent_detail_of_equal_energy_is_one(name: str, seed: int) -> None:
    # ratio = 1 - <Dn, Dx>^2 / (||Dn||^2 ||Dx||^2) up to the small cross term: |error| < 0.02
    # (the correlation of independent noise with the detail over 25k pixels is ~1e-2).
    x = _photo(name)
    _, energy = invented_detail_statistics(x, x, SIGMA)
    restored = x + _detail_noise(x, energy[0], seed)
    assert float(invented_detail_ratio(restored, x, SIGMA)[0]) == pytest.approx(1.0, abs=0.02)


def test_ratio_batch_keeps_order() -> None:
    x = torch.cat([_photo("camera", 64), _photo("astronaut", 64)[:, :1]])
    restored = x.clone()
    restored[1] += _detail_noise(x[1:], detail(x[1:], SIGMA).pow(2).sum(), 3)[0]
    ratio = invented_detail_ratio(restored, x, SIGMA)
    assert ratio.shape == (2,)
    assert float(ratio[0]) == 0.0
    assert float(ratio[1]) == pytest.approx(1.0, abs=0.05)


def test_ratio_of_flat_truth_is_nan() -> None:
    flat = torch.full((2, 1, 16, 16), 0.5, dtype=torch.float64)
    restored = flat.clone()
    restored[1] = _photo("camera", 16)[0]
    ratio = invented_detail_ratio(restored, flat, SIGMA)
    assert bool(ratio.isnan().all())


def _brute_force_map(
    restored: np.ndarray, target: np.ndarray, sigma: float, window_sigma: float, floor: float
) -> np.ndarray:
    """Per pixel, a weighted least-squares fit under an explicit 2-D Gaussian window."""
    h = _np_detail(restored, sigma)[0]  # (C, H, W)
    g = _np_detail(target, sigma)[0]
    _, height, width = g.shape
    radius = math.ceil(4 * window_sigma)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-(offsets**2) / (2 * window_sigma**2))
    kernel /= kernel.sum()
    weights_2d = np.outer(kernel, kernel)
    pad = ((0, 0), (radius, radius), (radius, radius))
    h_pad = np.pad(h, pad, mode="reflect")  # numpy reflect keeps reflecting past the size
    g_pad = np.pad(g, pad, mode="reflect")
    offset = floor * float(np.mean(np.sum(g**2, axis=0)))
    out = np.empty((height, width))
    for row in range(height):
        for col in range(width):
            hw = h_pad[:, row : row + 2 * radius + 1, col : col + 2 * radius + 1]
            gw = g_pad[:, row : row + 2 * radius + 1, col : col + 2 * radius + 1]
            root = np.sqrt(np.broadcast_to(weights_2d, hw.shape)).ravel()
            gain, *_ = np.linalg.lstsq((root * gw.ravel())[:, None], root * hw.ravel(), rcond=None)
            residual = np.sum(weights_2d * np.sum((hw - gain[0] * gw) ** 2, axis=0))
            out[row, col] = residual / (np.sum(weights_2d * np.sum(gw**2, axis=0)) + offset)
    return out


@pytest.mark.parametrize(("height", "width", "window_sigma"), [(12, 10, 2.0), (9, 14, 3.0)])
def test_map_matches_numpy_brute_force(height: int, width: int, window_sigma: float) -> None:
    rng = np.random.default_rng(height)
    target = rng.random((1, 2, height, width))
    restored = 0.6 * target + 0.3 * rng.random((1, 2, height, width))
    got = invented_detail_map(
        torch.from_numpy(restored), torch.from_numpy(target), 1.0, window_sigma, 0.05
    )
    expected = _brute_force_map(restored, target, 1.0, window_sigma, 0.05)
    assert got.shape == (1, 1, height, width)
    np.testing.assert_allclose(got[0, 0].numpy(), expected, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_map_of_truth_and_of_gain_is_zero(dtype: torch.dtype) -> None:
    x = _photo("coffee", 128).to(dtype)
    assert float(invented_detail_map(x, x, SIGMA).abs().max()) < 1e-6
    assert float(invented_detail_map(1.3 * x - 0.1, x, SIGMA).abs().max()) < 1e-5


def test_map_localises_invented_texture() -> None:
    x = _photo("astronaut")
    _, energy = invented_detail_statistics(x, x, SIGMA)
    texture = _detail_noise(x, energy[0], 7)
    restored = x.clone()
    restored[..., :80] += texture[..., :80]
    heat = invented_detail_map(restored, x, SIGMA)
    # Left half: texture of full detail strength; right half: the truth. The window (sigma 8)
    # leaks texture a few tens of pixels across the seam, so compare 3 and 5 sigma away.
    left = float(heat[..., :56].mean())
    right = float(heat[..., 120:].mean())
    assert left > 0.5
    assert right < 1e-4
    assert left > 1e4 * right


def test_map_of_flat_truth_is_nan() -> None:
    flat = torch.full((1, 3, 20, 20), 0.25, dtype=torch.float64)
    assert bool(invented_detail_map(flat + 0.1, flat, SIGMA).isnan().all())


def test_mismatched_pair_raises() -> None:
    x = torch.zeros(1, 1, 8, 8)
    with pytest.raises(EstimatorInputError, match="expected preds and target of equal shape"):
        invented_detail_ratio(x, torch.zeros(1, 1, 8, 9), SIGMA)
    with pytest.raises(EstimatorInputError, match="expected preds and target of equal dtype"):
        invented_detail_statistics(x, x.double(), SIGMA)
    with pytest.raises(EstimatorInputError, match="expected finite values"):
        invented_detail_map(x, torch.full_like(x, math.inf), SIGMA)


@pytest.mark.parametrize("name", ["sigma", "window_sigma", "floor"])
@pytest.mark.parametrize("value", [0.0, -1.0, math.nan])
def test_bad_parameters_raise(name: str, value: float) -> None:
    x = torch.zeros(1, 1, 8, 8)
    kwargs = {"sigma": SIGMA, "window_sigma": 8.0, "floor": 1e-2, name: value}
    with pytest.raises(EstimatorInputError, match=f"expected {name} > 0"):
        invented_detail_map(x, x, **kwargs)


@pytest.mark.parametrize("value", [0.0, -1e-3])
def test_bad_ratio_floor_raises(value: float) -> None:
    x = torch.zeros(1, 1, 8, 8)
    with pytest.raises(EstimatorInputError, match="expected floor > 0"):
        invented_detail_ratio(x, x, SIGMA, floor=value)
