"""Measurement consistency and hallucination maps (docs/theory.md §3.7) against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage
from skimage import data

from api_schemas.degradation import QUANTISATION_NOISE_VARIANCE
from workers.estimators.consistency import measurement_map, measurement_residual, null_space_map
from workers.estimators.degradation import Blur, DegradationOperator, Downsample
from workers.estimators.errors import EstimatorInputError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def photos() -> torch.Tensor:
    crops = [data.camera()[100:196, 150:246], data.astronaut()[50:146, 200:296, 1]]
    return torch.from_numpy(np.stack(crops).astype(np.float64) / 255.0)[:, None]


OP = DegradationOperator([Downsample(4, "bicubic")])


def _quantise(y: torch.Tensor) -> torch.Tensor:
    return torch.round(y * 255) / 255  # rounding only: the linear model has no clipping


def test_truth_is_consistent_to_the_quantisation_level(photos: torch.Tensor) -> None:
    y = _quantise(OP.apply(photos))
    residual = measurement_residual(photos, y, OP)
    # uniform rounding error: variance 1 / (12 * 255^2), within sampling error of 576 values
    np.testing.assert_allclose(residual.numpy(), QUANTISATION_NOISE_VARIANCE, rtol=0.25)


def test_pseudo_inverse_plus_null_content_is_consistent(photos: torch.Tensor) -> None:
    y = _quantise(OP.apply(photos))
    gen = torch.Generator().manual_seed(0)
    invented = OP.null_space_project(
        0.1 * torch.randn(photos.shape, generator=gen, dtype=torch.float64)
    )
    restored = OP.pseudo_inverse(y, (96, 96)) + invented
    assert float(measurement_residual(restored, y, OP).max()) < 1e-3 * QUANTISATION_NOISE_VARIANCE
    assert float(measurement_map(restored, y, OP).max()) < 1e-6
    # ... while the null-space map sees exactly the invented content plus the truth's own
    expected = (OP.null_space_project(restored - photos)).abs()
    torch.testing.assert_close(null_space_map(restored, photos, OP), expected, rtol=0, atol=1e-9)


def test_blurry_or_pillow_upscaled_restorers_are_inconsistent(photos: torch.Tensor) -> None:
    y = _quantise(OP.apply(photos))
    blurred = torch.from_numpy(
        np.stack([ndimage.gaussian_filter(p[0].numpy(), 3.0, mode="reflect") for p in photos])
    )[:, None]
    upscaled = torch.from_numpy(
        np.stack(
            [
                np.asarray(
                    Image.fromarray(v[0].numpy().astype(np.float32), mode="F").resize(
                        (96, 96), Image.Resampling.BICUBIC
                    ),
                    dtype=np.float64,
                )
                for v in y
            ]
        )
    )[:, None]
    for restored in (blurred, upscaled):
        assert float(measurement_residual(restored, y, OP).min()) > 10 * QUANTISATION_NOISE_VARIANCE


def test_row_space_error_shows_only_in_the_measurement_map(photos: torch.Tensor) -> None:
    gen = torch.Generator().manual_seed(1)
    v = 0.05 * torch.randn(2, 1, 24, 24, generator=gen, dtype=torch.float64)
    row_space = OP.adjoint(v, (96, 96))  # H' v lies in the row space
    restored = photos + row_space
    y = OP.apply(photos)
    assert float(null_space_map(restored, photos, OP).max()) < 1e-9 * float(row_space.abs().max())
    torch.testing.assert_close(
        measurement_map(restored, y, OP), row_space.abs(), rtol=0, atol=1e-10
    )


def test_maps_match_dense_pseudo_inverse_rgb() -> None:
    op = DegradationOperator([Blur(sigma=0.7), Downsample(2, "area")])
    gen = torch.Generator().manual_seed(2)
    x = torch.rand(1, 3, 8, 10, generator=gen, dtype=torch.float64)
    x_hat = torch.rand(1, 3, 8, 10, generator=gen, dtype=torch.float64)
    y = torch.rand(1, 3, 4, 5, generator=gen, dtype=torch.float64)
    basis = torch.eye(80, dtype=torch.float64).reshape(80, 1, 8, 10)
    a = op.apply(basis).reshape(80, -1).T.numpy()
    pinv = np.linalg.pinv(a)
    residual = a @ x_hat[0].reshape(3, -1).numpy().T - y[0].reshape(3, -1).numpy().T
    expected_m = np.abs(pinv @ residual).sum(axis=1).reshape(8, 10)
    err = (x_hat - x)[0].reshape(3, -1).numpy().T
    expected_n = np.abs(err - pinv @ (a @ err)).sum(axis=1).reshape(8, 10)
    np.testing.assert_allclose(measurement_map(x_hat, y, op)[0, 0].numpy(), expected_m, atol=1e-9)
    np.testing.assert_allclose(null_space_map(x_hat, x, op)[0, 0].numpy(), expected_n, atol=1e-9)
    expected_r = np.mean(residual**2)
    assert float(measurement_residual(x_hat, y, op)[0]) == pytest.approx(expected_r, rel=1e-12)


def test_shapes_and_dtype_follow_inputs() -> None:
    x = torch.rand(3, 2, 16, 16)
    y = OP.apply(x)
    assert measurement_residual(x, y, OP).shape == (3,)
    assert measurement_map(x, y, OP).shape == (3, 1, 16, 16)
    assert measurement_map(x, y, OP).dtype == torch.float32
    assert null_space_map(x, x, OP).shape == (3, 1, 16, 16)


def test_invalid_inputs_raise() -> None:
    x = torch.rand(1, 1, 16, 16)
    with pytest.raises(EstimatorInputError, match="expected observation of shape"):
        measurement_residual(x, torch.rand(1, 1, 8, 8), OP)
    with pytest.raises(EstimatorInputError, match="expected observation of shape"):
        measurement_map(x, torch.rand(1, 2, 4, 4), OP)
    with pytest.raises(EstimatorInputError, match="finite values in observation"):
        measurement_residual(x, torch.full((1, 1, 4, 4), float("nan")), OP)
    with pytest.raises(EstimatorInputError, match="equal shape"):
        null_space_map(x, torch.rand(1, 1, 8, 8), OP)
