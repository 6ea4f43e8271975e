"""Properties of MSE, PSNR and SSIM taken from docs/theory.md §3.2 (hypothesis, derandomised).

Images are drawn from a seed and a structure (uniform noise, a smooth ramp or a flat image)
so that examples stay small and shrink well; sizes are 11 to 24 pixels a side.
"""

from __future__ import annotations

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.estimators.distortion import DistortionMetrics, distortion_metrics

# A derandomised profile local to this module (loading a global profile would change the
# settings of every other property test in the same process).
PROPERTY_SETTINGS = settings(max_examples=30)


@st.composite
def image_batches(draw: st.DrawFn) -> torch.Tensor:
    """A float64 (B, C, H, W) batch in [0, 1]."""
    batch = draw(st.integers(1, 3))
    channels = draw(st.sampled_from([1, 3]))
    height, width = draw(st.integers(11, 24)), draw(st.integers(11, 24))
    seed = draw(st.integers(0, 2**31 - 1))
    structure = draw(st.sampled_from(["noise", "ramp", "flat"]))
    generator = torch.Generator().manual_seed(seed)
    shape = (batch, channels, height, width)
    if structure == "noise":
        return torch.rand(shape, generator=generator, dtype=torch.float64)
    if structure == "flat":
        return (
            torch.rand((batch, channels, 1, 1), generator=generator, dtype=torch.float64)
            .expand(shape)
            .clone()
        )
    ramp = torch.linspace(0, 1, height * width, dtype=torch.float64).reshape(1, 1, height, width)
    offset = torch.rand((batch, channels, 1, 1), generator=generator, dtype=torch.float64)
    return (0.5 * ramp + 0.5 * offset).expand(shape).clone()


def _noisy(images: torch.Tensor, sigma: float, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    noise = torch.randn(images.shape, generator=generator, dtype=images.dtype)
    return (images + sigma * noise).clamp(0, 1)


def _assert_metrics_close(a: DistortionMetrics, b: DistortionMetrics, tol: float) -> None:
    torch.testing.assert_close(a.mse, b.mse, rtol=tol, atol=tol * 1e-3)
    torch.testing.assert_close(a.psnr, b.psnr, rtol=tol, atol=tol)
    torch.testing.assert_close(a.ssim, b.ssim, rtol=0, atol=tol)


@PROPERTY_SETTINGS
@given(images=image_batches())
def test_identity_gives_zero_error_infinite_psnr_unit_ssim(images: torch.Tensor) -> None:
    for dtype in (torch.float32, torch.float64):
        x = images.to(dtype)
        metrics = distortion_metrics(x, x.clone(), data_range=1.0)
        assert bool((metrics.mse == 0).all())
        assert bool(torch.isposinf(metrics.psnr).all())
        torch.testing.assert_close(metrics.ssim, torch.ones_like(metrics.ssim), rtol=0, atol=1e-6)


@PROPERTY_SETTINGS
@given(images=image_batches(), seed=st.integers(0, 1000), sigma=st.floats(0.01, 0.5))
def test_metrics_are_symmetric(images: torch.Tensor, seed: int, sigma: float) -> None:
    other = _noisy(images, sigma, seed)
    _assert_metrics_close(
        distortion_metrics(images, other, 1.0), distortion_metrics(other, images, 1.0), 1e-9
    )


@PROPERTY_SETTINGS
@given(images=image_batches(), seed=st.integers(0, 1000), sigma=st.floats(0.01, 0.5))
def test_batch_equals_one_by_one(images: torch.Tensor, seed: int, sigma: float) -> None:
    preds = _noisy(images, sigma, seed).float()
    target = images.float()
    batched = distortion_metrics(preds, target, 1.0)
    singles = [
        distortion_metrics(preds[i : i + 1], target[i : i + 1], 1.0) for i in range(len(preds))
    ]
    stacked = DistortionMetrics(*(torch.cat(field) for field in zip(*singles, strict=True)))
    _assert_metrics_close(batched, stacked, 1e-6)


@PROPERTY_SETTINGS
@given(images=image_batches(), seed=st.integers(0, 1000), sigma=st.floats(0.01, 0.5))
def test_float32_and_float64_agree(images: torch.Tensor, seed: int, sigma: float) -> None:
    preds = _noisy(images, sigma, seed)
    in64 = distortion_metrics(preds, images, 1.0)
    in32 = distortion_metrics(preds.float(), images.float(), 1.0)
    assert all(field.dtype == torch.float32 for field in in32)
    _assert_metrics_close(DistortionMetrics(*(f.double() for f in in32)), in64, 1e-5)


@PROPERTY_SETTINGS
@given(
    images=image_batches(),
    seed=st.integers(0, 1000),
    sigma=st.floats(0.01, 0.3),
    factor=st.floats(1.5, 3.0),
)
def test_more_noise_gives_more_error(
    images: torch.Tensor, seed: int, sigma: float, factor: float
) -> None:
    # Same noise draw at two strengths: with clipping to [0, 1], every pixel's error is
    # non-decreasing in the strength, and without clipping MSE grows exactly by factor².
    low = distortion_metrics(_noisy(images, sigma, seed), images, 1.0)
    high = distortion_metrics(_noisy(images, factor * sigma, seed), images, 1.0)
    assert bool((high.mse > low.mse).all())
    assert bool((high.psnr < low.psnr).all())
    assert bool((high.mse <= factor**2 * low.mse * (1 + 1e-12)).all())
    assert all(math.isfinite(v) for v in high.psnr.tolist())
