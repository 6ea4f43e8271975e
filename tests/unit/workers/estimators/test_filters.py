"""Tests of the separable Gaussian blur against scipy.ndimage (mirror mode)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import ndimage
from skimage import data

from workers.estimators.errors import EstimatorInputError
from workers.estimators.filters import gaussian_blur, gaussian_kernel1d


def _scipy_blur(images: np.ndarray, sigma: float, radius: int) -> np.ndarray:
    # torch 'reflect' (no edge repeat) is scipy's 'mirror'; sigma 0 on batch and channel axes.
    return ndimage.gaussian_filter(
        images,
        sigma=(0, 0, sigma, sigma),
        mode="mirror",
        truncate=4.0,
        radius=(0, 0, radius, radius),
    )


def test_kernel_matches_closed_form() -> None:
    sigma = 1.3
    kernel = gaussian_kernel1d(sigma)
    radius = math.ceil(4 * sigma)
    offsets = np.arange(-radius, radius + 1)
    expected = np.exp(-(offsets**2) / (2 * sigma**2))
    expected /= expected.sum()
    assert kernel.shape == (2 * radius + 1,)
    np.testing.assert_allclose(kernel.numpy(), expected, rtol=1e-14, atol=0)


def test_kernel_follows_dtype_and_radius() -> None:
    kernel = gaussian_kernel1d(2.0, 3, dtype=torch.float32)
    assert kernel.dtype == torch.float32
    assert kernel.shape == (7,)
    assert abs(float(kernel.sum()) - 1.0) < 1e-6


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0, 3.7])
def test_blur_matches_scipy_mirror_on_photograph(sigma: float) -> None:
    photo = data.astronaut()[100:164, 150:230].astype(np.float64) / 255.0
    images = np.ascontiguousarray(photo.transpose(2, 0, 1)[None])
    radius = math.ceil(4 * sigma)
    got = gaussian_blur(torch.from_numpy(images), sigma)
    np.testing.assert_allclose(got.numpy(), _scipy_blur(images, sigma, radius), atol=1e-12)


def test_blur_float32_matches_scipy_to_1e5() -> None:
    photo = data.camera()[:48, :40].astype(np.float64) / 255.0
    images = photo[None, None]
    got = gaussian_blur(torch.from_numpy(images).float(), 2.0)
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.double().numpy(), _scipy_blur(images, 2.0, 8), atol=1e-5)


@pytest.mark.parametrize(("height", "width"), [(5, 7), (3, 20), (1, 6), (2, 2)])
def test_blur_smaller_than_radius_keeps_reflecting_like_scipy(height: int, width: int) -> None:
    rng = np.random.default_rng(0)
    images = rng.random((2, 1, height, width))
    got = gaussian_blur(torch.from_numpy(images), 3.0)  # radius 12 > every side
    np.testing.assert_allclose(got.numpy(), _scipy_blur(images, 3.0, 12), atol=1e-12)


def test_blur_preserves_constants_and_shape() -> None:
    images = torch.full((2, 3, 9, 11), 0.3, dtype=torch.float64)
    got = gaussian_blur(images, 2.5)
    assert got.shape == images.shape
    torch.testing.assert_close(got, images, rtol=0, atol=1e-15)


def test_blur_explicit_radius_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    images = rng.random((1, 2, 16, 16))
    got = gaussian_blur(torch.from_numpy(images), 2.0, radius=3)
    np.testing.assert_allclose(got.numpy(), _scipy_blur(images, 2.0, 3), atol=1e-12)


@pytest.mark.parametrize("sigma", [0.0, -1.0, math.inf, math.nan])
def test_bad_sigma_raises(sigma: float) -> None:
    with pytest.raises(EstimatorInputError, match="expected sigma > 0"):
        gaussian_blur(torch.zeros(1, 1, 4, 4), sigma)


@pytest.mark.parametrize("radius", [-1, 2.5, True])
def test_bad_radius_raises(radius: object) -> None:
    with pytest.raises(EstimatorInputError, match="expected radius to be an integer >= 0"):
        gaussian_kernel1d(1.0, radius)  # type: ignore[arg-type]


def test_integer_dtype_kernel_raises() -> None:
    with pytest.raises(EstimatorInputError, match="expected a floating dtype"):
        gaussian_kernel1d(1.0, dtype=torch.int64)


def test_bad_images_raise() -> None:
    with pytest.raises(EstimatorInputError, match="expected images of shape"):
        gaussian_blur(torch.zeros(4, 4), 1.0)
    with pytest.raises(EstimatorInputError, match="expected finite values"):
        gaussian_blur(torch.full((1, 1, 4, 4), math.nan), 1.0)


def test_wide_window_blur_matches_scipy() -> None:
    # sigma 8 over 248-pixel sides: the invented-detail map's window, blurred by a dense
    # matrix (many taps per pixel), against scipy; float32 as the engine runs it.
    photo = data.astronaut()[:248, :200].astype(np.float64) / 255.0
    images = np.ascontiguousarray(photo.transpose(2, 0, 1)[None])
    expected = _scipy_blur(images, 8.0, 32)
    np.testing.assert_allclose(gaussian_blur(torch.from_numpy(images), 8.0), expected, atol=1e-12)
    got32 = gaussian_blur(torch.from_numpy(images).float(), 8.0)
    np.testing.assert_allclose(got32.double().numpy(), expected, atol=2e-6)
