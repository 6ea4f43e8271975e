"""Properties of the invented-detail ratio and map that docs/theory.md §3.7 implies.

Images are random textures (seeded torch generators drawn by hypothesis), small so that each
example runs in milliseconds; every test is derandomised.
"""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.estimators.hallucination import (
    detail,
    invented_detail_map,
    invented_detail_ratio,
    invented_detail_statistics,
)

PROFILE = settings(max_examples=20)
seeds = st.integers(min_value=0, max_value=2**31 - 1)
sigmas = st.sampled_from([0.7, 1.0, 2.0])
sides = st.sampled_from([7, 12, 16])  # few shapes: each new one costs torch setup time
channels = st.sampled_from([1, 3])


def _pair(seed: int, c: int, h: int, w: int, batch: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """A ground truth (smooth + texture) and an unrelated restored texture, float64 in [0, 1]."""
    generator = torch.Generator().manual_seed(seed)
    target = torch.rand((batch, c, h, w), generator=generator, dtype=torch.float64)
    restored = 0.5 * target + 0.5 * torch.rand(
        (batch, c, h, w), generator=generator, dtype=torch.float64
    )
    return restored, target


@PROFILE
@given(seed=seeds, c=channels, h=sides, w=sides, sigma=sigmas)
def test_ratio_is_between_zero_and_restored_detail_share(
    seed: int, c: int, h: int, w: int, sigma: float
) -> None:
    # ||r||^2 is a projection residual, so 0 <= ||r||^2 <= ||D x̂||^2.
    restored, target = _pair(seed, c, h, w)
    ratio = float(invented_detail_ratio(restored, target, sigma)[0])
    share = float(detail(restored, sigma).pow(2).sum() / detail(target, sigma).pow(2).sum())
    assert 0.0 <= ratio <= share * (1 + 1e-12)


@PROFILE
@given(
    seed=seeds,
    c=channels,
    h=sides,
    w=sides,
    sigma=sigmas,
    t=st.floats(-2.0, 2.0),
    b=st.floats(-0.5, 0.5),
)
def test_ratio_ignores_added_truth_and_offset(
    seed: int, c: int, h: int, w: int, sigma: float, t: float, b: float
) -> None:
    # D(x̂ + t x + b) = D x̂ + t D x: the regression absorbs t, D removes b.
    restored, target = _pair(seed, c, h, w)
    base = invented_detail_ratio(restored, target, sigma)
    moved = invented_detail_ratio(restored + t * target + b, target, sigma)
    torch.testing.assert_close(moved, base, rtol=1e-9, atol=1e-12)


@PROFILE
@given(seed=seeds, c=channels, h=sides, w=sides, sigma=sigmas, gain=st.floats(0.1, 3.0))
def test_ratio_scales_with_restored_gain_squared_and_ignores_joint_gain(
    seed: int, c: int, h: int, w: int, sigma: float, gain: float
) -> None:
    restored, target = _pair(seed, c, h, w)
    base = invented_detail_ratio(restored, target, sigma)
    torch.testing.assert_close(
        invented_detail_ratio(gain * restored, target, sigma), gain**2 * base, rtol=1e-9, atol=0
    )
    torch.testing.assert_close(
        invented_detail_ratio(gain * restored, gain * target, sigma), base, rtol=1e-9, atol=0
    )


@PROFILE
@given(seed=seeds, c=channels, h=sides, w=sides, sigma=sigmas, t=st.floats(0.0, 2.0))
def test_ratio_grows_as_square_of_added_noise(
    seed: int, c: int, h: int, w: int, sigma: float, t: float
) -> None:
    # x̂ = x + t n: the residual is t times that of n, so the ratio is t^2 ratio(x + n).
    _, target = _pair(seed, c, h, w)
    noise = torch.randn(target.shape, generator=torch.Generator().manual_seed(seed + 1)).double()
    unit = invented_detail_ratio(target + noise, target, sigma)
    scaled = invented_detail_ratio(target + t * noise, target, sigma)
    torch.testing.assert_close(scaled, t**2 * unit, rtol=1e-8, atol=1e-14)


@PROFILE
@given(seed=seeds, c=channels, h=sides, w=sides, sigma=sigmas, batch=st.sampled_from([3]))
def test_batch_equals_one_by_one(
    seed: int, c: int, h: int, w: int, sigma: float, batch: int
) -> None:
    restored, target = _pair(seed, c, h, w, batch)
    ratio = invented_detail_ratio(restored, target, sigma)
    residual, energy = invented_detail_statistics(restored, target, sigma)
    heat = invented_detail_map(restored, target, sigma, window_sigma=3.0)
    for i in range(batch):
        one = slice(i, i + 1)
        torch.testing.assert_close(
            ratio[one], invented_detail_ratio(restored[one], target[one], sigma), rtol=1e-12, atol=0
        )
        single_residual, single_energy = invented_detail_statistics(
            restored[one], target[one], sigma
        )
        torch.testing.assert_close(residual[one], single_residual, rtol=1e-14, atol=0)
        torch.testing.assert_close(energy[one], single_energy, rtol=1e-14, atol=0)
        torch.testing.assert_close(
            heat[one],
            invented_detail_map(restored[one], target[one], sigma, window_sigma=3.0),
            rtol=1e-12,
            atol=1e-15,
        )


@PROFILE
@given(seed=seeds, c=channels, h=sides, w=sides, sigma=sigmas)
def test_float32_agrees_with_float64(seed: int, c: int, h: int, w: int, sigma: float) -> None:
    restored, target = _pair(seed, c, h, w)
    ratio64 = invented_detail_ratio(restored, target, sigma)
    ratio32 = invented_detail_ratio(restored.float(), target.float(), sigma)
    assert ratio32.dtype == torch.float32
    torch.testing.assert_close(ratio32.double(), ratio64, rtol=1e-4, atol=1e-6)
    heat64 = invented_detail_map(restored, target, sigma, window_sigma=3.0)
    heat32 = invented_detail_map(restored.float(), target.float(), sigma, window_sigma=3.0)
    assert heat32.dtype == torch.float32
    torch.testing.assert_close(heat32.double(), heat64, rtol=1e-3, atol=1e-4)


@PROFILE
@given(seed=seeds, c=channels, h=sides, w=sides, sigma=sigmas, window=st.floats(1.0, 8.0))
def test_map_is_non_negative_and_zero_for_truth(
    seed: int, c: int, h: int, w: int, sigma: float, window: float
) -> None:
    restored, target = _pair(seed, c, h, w)
    heat = invented_detail_map(restored, target, sigma, window_sigma=window)
    assert heat.shape == (1, 1, h, w)
    assert bool((heat >= 0).all())
    truth = invented_detail_map(target, target, sigma, window_sigma=window)
    assert float(truth.abs().max()) < 1e-10
