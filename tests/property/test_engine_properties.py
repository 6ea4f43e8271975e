"""Properties of the whole audit that docs/theory.md implies, on generated images (hypothesis)."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from api_schemas import AuditOptions
from workers.engine import PairSource, run_audit

PROFILE = settings(max_examples=8)  # a whole audit per example
OPTIONS = AuditOptions(bootstrap={"resamples": 20}, knn_samples=400)


def _smooth_images(seed: int, count: int, size: int) -> torch.Tensor:
    """Textured images in [0, 1]: smoothed noise plus a gradient, like natural content."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.rand(count, 3, size, size, generator=g)
    kernel = torch.ones(3, 1, 3, 3) / 9
    smooth = torch.nn.functional.conv2d(noise, kernel, padding=1, groups=3)
    ramp = torch.linspace(0, 0.3, size).view(1, 1, 1, size)
    return (0.7 * smooth + ramp).clamp(0, 1)


@PROFILE
@given(seed=st.integers(0, 10_000), count=st.integers(1, 4))
def test_identity_has_zero_error_and_the_lowest_risk(seed: int, count: int) -> None:
    images = _smooth_images(seed, count, 24)
    pairs = [PairSource(str(i), "g", images[i], images[i]) for i in range(count)]
    report = run_audit(pairs, OPTIONS, device="cpu")
    group = report.groups[0]
    assert group.distortion.mse.value == 0.0
    assert group.uncertainty.gaussian.value == 0.0
    assert group.risk.level == "low"
    assert all(p.risk.level == "low" for p in report.pairs)


@PROFILE
@given(seed=st.integers(0, 10_000), sigma=st.floats(0.01, 0.05))
def test_more_noise_on_the_restored_image_raises_uncertainty(seed: int, sigma: float) -> None:
    images = _smooth_images(seed, 3, 32)
    g = torch.Generator().manual_seed(seed + 1)
    noise = torch.randn(images.shape, generator=g)
    low = (images + sigma * noise).clamp(0, 1)
    high = (images + 2 * sigma * noise).clamp(0, 1)
    pairs_low = [PairSource(str(i), "g", images[i], low[i]) for i in range(3)]
    pairs_high = [PairSource(str(i), "g", images[i], high[i]) for i in range(3)]
    u_low = run_audit(pairs_low, OPTIONS, device="cpu").groups[0].uncertainty.gaussian.value
    u_high = run_audit(pairs_high, OPTIONS, device="cpu").groups[0].uncertainty.gaussian.value
    assert u_low is not None
    assert u_high is not None
    assert u_high > u_low


@PROFILE
@given(seed=st.integers(0, 10_000), count=st.integers(2, 5), batch=st.integers(1, 3))
def test_batched_results_equal_one_by_one(seed: int, count: int, batch: int) -> None:
    truth = _smooth_images(seed, count, 24)
    restored = _smooth_images(seed + 7, count, 24) * 0.3 + truth * 0.7
    pairs = [PairSource(str(i), "g", truth[i], restored[i]) for i in range(count)]
    together = run_audit(pairs, OPTIONS, device="cpu", batch_size=batch)
    for i, pair in enumerate(pairs):
        alone = run_audit([pair], OPTIONS, device="cpu").pairs[0]
        row = together.pairs[i]
        assert (
            row.distortion.mse == alone.distortion.mse
            or abs(row.distortion.mse - alone.distortion.mse) <= 1e-9 * alone.distortion.mse
        )
        assert abs(row.distortion.ssim - alone.distortion.ssim) <= 1e-6
        assert row.uncertainty.gaussian is not None
        assert alone.uncertainty.gaussian is not None
        assert abs(row.uncertainty.gaussian - alone.uncertainty.gaussian) <= (
            1e-6 * alone.uncertainty.gaussian
        )
