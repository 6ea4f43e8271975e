"""Inherent uncertainty N(X|Y) (docs/theory.md §3.6) against closed forms and dense posteriors."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from api_schemas.degradation import QUANTISATION_NOISE_VARIANCE
from tests.support.gaussian_source import gaussian_super_resolution
from workers.estimators.degradation import DegradationOperator, Downsample
from workers.estimators.errors import EstimatorInputError
from workers.estimators.inherent import (
    inherent_uncertainty,
    inherent_uncertainty_from_prior,
    posterior_patch_covariance,
)
from workers.estimators.patches import patch_moments
from workers.estimators.uncertainty import gaussian_entropy_power

N_IMAGES = 8


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _vectors(theory_vectors: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    found = [v for v in theory_vectors if v["name"] == name]
    assert found
    return found


def test_scalar_gaussian_vectors_from_prior(theory_vectors: list[dict[str, Any]]) -> None:
    for vector in _vectors(theory_vectors, "scalar_gauss_inherent_uncertainty"):
        prior = torch.tensor([[vector["inputs"]["sigma_x2"]]], dtype=torch.float64)
        noise = vector["inputs"]["sigma_w2"]
        ours = inherent_uncertainty_from_prior(prior, DegradationOperator([]), noise, 1, 0)
        assert ours == pytest.approx(vector["expected"], rel=1e-12)
        block = posterior_patch_covariance(
            prior, torch.ones(1, 1, dtype=torch.float64), noise, torch.tensor([0])
        )
        assert block.item() == pytest.approx(vector["expected"], rel=1e-12)


def test_scalar_gaussian_vectors_from_data(theory_vectors: list[dict[str, Any]]) -> None:
    # Pixels of sample variance exactly sigma_x2 (divisor n - 1), identity operator, p = 1.
    base = torch.tensor([-1.0, 1.0] * 50, dtype=torch.float64)
    base = base / base.std()
    for vector in _vectors(theory_vectors, "scalar_gauss_inherent_uncertainty"):
        sx2, sw2 = vector["inputs"]["sigma_x2"], vector["inputs"]["sigma_w2"]
        images = (0.5 + math.sqrt(sx2) * base).reshape(100, 1, 1, 1)
        result = inherent_uncertainty(images, DegradationOperator([]), sw2, patch_size=1, margin=0)
        assert result.value == pytest.approx(vector["expected"], rel=1e-12)
        assert (result.n_windows, result.margin, result.shrinkage) == (100, 0, 0.0)


def _exponential_prior(size: int, length: float, variance: float) -> np.ndarray:
    """Covariance of a size x size stationary field with k(r) = v exp(-|r| / length)."""
    rows, cols = np.divmod(np.arange(size * size), size)
    dist = np.hypot(rows[:, None] - rows[None, :], cols[:, None] - cols[None, :])
    return variance * np.exp(-dist / length)


def _dense_central_entropy_power(
    op: DegradationOperator, size: int, patch: int, noise: float, prior: np.ndarray
) -> float:
    """Whole-image posterior; central patch pooled over the factor**2 phases."""
    basis = torch.eye(size * size, dtype=torch.float64).reshape(-1, 1, size, size)
    a = op.apply(basis).reshape(size * size, -1).T.numpy()
    gain = a @ prior
    post = prior - gain.T @ np.linalg.solve(a @ prior @ a.T + noise * np.eye(a.shape[0]), gain)
    f = op.factor
    pooled = np.zeros((patch * patch, patch * patch))
    for dy in range(f):
        for dx in range(f):
            top, left = size // 2 - patch // 2 + dy, size // 2 - patch // 2 + dx
            r = np.arange(top, top + patch)[:, None] * size + np.arange(left, left + patch)
            idx = r.ravel()
            pooled += post[np.ix_(idx, idx)]
    pooled /= f * f
    return float(np.exp(np.linalg.slogdet(pooled)[1] / (patch * patch)))


@pytest.mark.parametrize("kernel", ["bicubic", "area"])
def test_windowed_posterior_converges_to_whole_image_posterior(kernel: str) -> None:
    # A 32 x 32 stationary exponential-covariance source, 2x downsampling, 8-bit noise floor.
    # The window posterior uses a subset of the whole image's observations with the exact
    # prior, so N(m) >= N(whole image), non-increasing in m, and close once m covers the
    # correlation of the observations.
    op = DegradationOperator([Downsample(2, kernel)])
    size, patch, noise = 32, 4, QUANTISATION_NOISE_VARIANCE
    full_prior = _exponential_prior(size, 3.0, 0.01)
    dense = _dense_central_entropy_power(op, size, patch, noise, full_prior)
    values = []
    for margin in (0, 2, 4, 6, 8):
        window_prior = torch.from_numpy(_exponential_prior(patch + 2 * margin, 3.0, 0.01))
        values.append(inherent_uncertainty_from_prior(window_prior, op, noise, patch, margin))
    assert all(v >= dense * (1 - 1e-9) for v in values)
    assert all(b <= a * (1 + 1e-9) for a, b in itertools.pairwise(values))
    assert values[0] > 1.2 * dense  # the patch-local posterior overstates N(X|Y)
    assert values[-1] == pytest.approx(dense, rel=0.02)


def test_no_observation_in_window_gives_the_prior_block() -> None:
    # 4x bicubic observations span 16 pixels: none fits in a 4 x 4 window.
    op = DegradationOperator([Downsample(4, "bicubic")])
    prior = torch.from_numpy(_exponential_prior(4, 2.0, 1.0))
    expected = math.exp(torch.linalg.slogdet(prior)[1].item() / 16)
    assert inherent_uncertainty_from_prior(prior, op, 1e-6, 4, 0) == pytest.approx(expected)


def test_rgb_channels_share_the_operator_and_decouple() -> None:
    # Independent identical channels: the 3-channel N equals the 1-channel N.
    op = DegradationOperator([Downsample(2, "area")])
    single = torch.from_numpy(_exponential_prior(6, 2.0, 0.02))
    triple = torch.block_diag(single, single, single)
    one = inherent_uncertainty_from_prior(single, op, 1e-4, 2, 2)
    three = inherent_uncertainty_from_prior(triple, op, 1e-4, 2, 2, channels=3)
    assert three == pytest.approx(one, rel=1e-10)


# ----------------------------------------------------------------------------- Gaussian source


def _error_entropy_power(errors: torch.Tensor, patch: int = 8, crop: int = 16) -> float:
    """U_gauss (§3.4.1) of stride-1 error patches away from the image border (§3.1 crop)."""
    moments = patch_moments(errors[..., crop:-crop, crop:-crop], patch, 1).pooled()
    _, cov = moments.mean_and_covariance()
    return float(gaussian_entropy_power(cov, moments.count))


@pytest.fixture(scope="module")
def gaussian_source() -> dict[str, Any]:
    src = gaussian_super_resolution(N_IMAGES, seed=0)
    return {
        "truth": src.truth,
        "estimate": src.estimate,
        "sample": src.sample,
        "op": src.op,
        "noise": src.noise,
    }


def test_gaussian_source_posterior_mean_and_sampler_ratios(gaussian_source: dict[str, Any]) -> None:
    # docs/theory.md §3.6: for a Gaussian source the posterior-mean restorer's uncertainty ratio
    # tends to 1 and a posterior sampler's to 2 as the margin grows. Measured at m = 10
    # (seed 0): 0.979 and 1.948; at m = 16: 0.998 and 2.008.
    src = gaussian_source
    inherent = inherent_uncertainty(src["truth"], src["op"], src["noise"], 8, margin=10)
    assert inherent.shrinkage == 0.0  # 20808 windows >= 10 * 784
    mean_ratio = _error_entropy_power(src["estimate"] - src["truth"]) / inherent.value
    sample_ratio = _error_entropy_power(src["sample"] - src["truth"]) / inherent.value
    assert mean_ratio == pytest.approx(1.0, rel=0.10)
    assert sample_ratio == pytest.approx(2.0, rel=0.10)


def test_fitted_prior_margin_monotone_and_converging(gaussian_source: dict[str, Any]) -> None:
    # One prior fitted (torch.cov) to 28 x 28 windows; nested central sub-windows give the
    # priors of smaller margins. Measured: 0.004015, 0.003599, 0.003462 for m = 6, 8, 10.
    window = 28
    windows = torch.nn.functional.unfold(gaussian_source["truth"], window, stride=3)
    prior = torch.cov(windows.transpose(1, 2).reshape(-1, window * window).T)
    values = []
    for margin in (6, 8, 10):
        side = 8 + 2 * margin
        start = (window - side) // 2
        rows = torch.arange(start, start + side)
        index = (rows[:, None] * window + rows[None, :]).flatten()
        values.append(
            inherent_uncertainty_from_prior(
                prior[index][:, index], gaussian_source["op"], gaussian_source["noise"], 8, margin
            )
        )
    assert values[0] > values[1] > values[2]
    # the step from 8 to 10 is a fraction of the step from 6 to 8 (converging)
    assert values[1] - values[2] < 0.5 * (values[0] - values[1])


def test_prior_accumulated_per_image_matches_torch_cov(gaussian_source: dict[str, Any]) -> None:
    # Many windows (no shrinkage): the image-by-image sums equal torch.cov of all windows.
    truth = gaussian_source["truth"][:4, :, :64, :64]
    op, noise = gaussian_source["op"], gaussian_source["noise"]
    result = inherent_uncertainty(truth, op, noise, 4, margin=4, window_stride=1)
    windows = torch.nn.functional.unfold(truth, 12).transpose(1, 2).reshape(-1, 144)
    assert result.n_windows == windows.shape[0] == 4 * 53 * 53
    assert result.shrinkage == 0.0
    expected = inherent_uncertainty_from_prior(torch.cov(windows.T), op, noise, 4, 4)
    assert result.value == pytest.approx(expected, rel=1e-9)


def test_automatic_stride_caps_the_window_count(gaussian_source: dict[str, Any]) -> None:
    truth = gaussian_source["truth"]
    op, noise = gaussian_source["op"], gaussian_source["noise"]
    capped = inherent_uncertainty(truth, op, noise, 4, margin=4, max_windows=3000)
    # stride 2 would give 8 * 59^2 = 27848 windows; stride 6 gives 3200, stride 7 gives 2312
    assert capped.n_windows == 8 * 17 * 17


def test_shrinkage_applies_with_few_windows() -> None:
    gen = torch.Generator().manual_seed(3)
    images = torch.rand(2, 1, 12, 12, generator=gen, dtype=torch.float64)
    op = DegradationOperator([Downsample(2, "area")])
    # windows of 6 at stride 2 on 12 x 12: 4 x 4 per image, 32 < 10 * 36
    few = inherent_uncertainty(images, op, 1e-3, patch_size=2, margin=2)
    assert few.n_windows == 32
    assert few.shrinkage == 1.0  # independent pixels: all off-diagonal entries are noise
    smooth = images.cumsum(-1).cumsum(-2) / 12  # strongly correlated pixels
    shrunk = inherent_uncertainty(smooth, op, 1e-3, patch_size=2, margin=2)
    assert 0.0 < shrunk.shrinkage < 0.5
    many = inherent_uncertainty(smooth, op, 1e-3, patch_size=2, margin=2, window_stride=1)
    assert many.n_windows == 98
    assert many.shrinkage > 0.0


def test_invalid_inputs_raise() -> None:
    op = DegradationOperator([Downsample(2)])
    images = torch.rand(1, 1, 16, 16)
    with pytest.raises(EstimatorInputError, match="noise_variance > 0"):
        inherent_uncertainty(images, op, 0.0)
    with pytest.raises(EstimatorInputError, match="patch_size >= 1"):
        inherent_uncertainty(images, op, 1e-4, patch_size=0)
    with pytest.raises(EstimatorInputError, match="margin >= 0"):
        inherent_uncertainty(images, op, 1e-4, margin=-1)
    with pytest.raises(EstimatorInputError, match="window_stride >= 1"):
        inherent_uncertainty(images, op, 1e-4, window_stride=0)
    with pytest.raises(EstimatorInputError, match="max_windows >= 1"):
        inherent_uncertainty(images, op, 1e-4, max_windows=0)
    with pytest.raises(EstimatorInputError, match="at least 24x24"):
        inherent_uncertainty(images, op, 1e-4, patch_size=8, margin=8)
    with pytest.raises(EstimatorInputError, match="at least 2 windows"):
        inherent_uncertainty(images, op, 1e-4, patch_size=8, margin=4)
    with pytest.raises(EstimatorInputError, match=r"shape \(B, C, H, W\)"):
        inherent_uncertainty(images[0], op, 1e-4)
    with pytest.raises(EstimatorInputError, match="noise_variance > 0"):
        inherent_uncertainty_from_prior(torch.eye(1), op, -1.0, 1, 0)
    with pytest.raises(EstimatorInputError, match="prior_cov of shape"):
        inherent_uncertainty_from_prior(torch.eye(3), op, 1e-4, 1, 0)


@pytest.mark.slow
def test_real_photographs_margin_and_distortion_bound() -> None:
    # Luma-like crops of three bundled photographs, 4x bicubic, 8-bit observations. The
    # posterior given more observations (larger margin) is tighter, and no restorer can have
    # a per-pixel MSE under N(X|Y) (docs/theory.md §2, Thm 4: D >= eta N(X|Y) >= N(X|Y)); Pillow's
    # bicubic upscaling is one such restorer. Measured on 256 x 256 crops of four photographs
    # (all windows at stride 2): N = 0.00152 (m = 8) and 0.00139 (m = 12), bicubic MSE
    # 0.00275, U_gauss(bicubic error) / N = 0.95 (m = 8) and 1.05 (m = 12): m = 8 is too small
    # for natural images, whose posterior draws on observations farther away.
    crops = [data.camera()[128:288, 128:288], data.coffee()[100:260, 200:360, 1]]
    truth = torch.from_numpy(np.stack(crops).astype(np.float64) / 255)[:, None]
    op = DegradationOperator([Downsample(4, "bicubic")])
    observed = torch.round(op.apply(truth) * 255) / 255
    upscaled = np.stack(
        [
            np.asarray(
                Image.fromarray(v[0].numpy().astype(np.float32), mode="F").resize(
                    (160, 160), Image.Resampling.BICUBIC
                ),
                dtype=np.float64,
            )
            for v in observed
        ]
    )
    mse = float(np.mean((upscaled - truth[:, 0].numpy()) ** 2))
    noise = QUANTISATION_NOISE_VARIANCE
    small = inherent_uncertainty(truth, op, noise, 8, margin=8, max_windows=6_000)
    large = inherent_uncertainty(truth, op, noise, 8, margin=12, max_windows=6_000)
    assert large.shrinkage < 0.05  # fewer than 10 * 1024 windows: a trace of shrinkage
    assert large.value < small.value
    assert large.value < mse
