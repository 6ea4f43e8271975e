"""Patch moments against a brute-force unfold computation (docs/theory.md §3.3)."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional

from workers.estimators.errors import EstimatorInputError
from workers.estimators.patches import (
    PatchMoments,
    mean_and_covariance,
    patch_moments,
    patch_moments_within,
    patch_moments_working_bytes,
    sample_patches,
    tiled_patch_moments,
)


def _brute(images: torch.Tensor, p: int, stride: int) -> tuple[torch.Tensor, ...]:
    cols = functional.unfold(images.double(), p, stride=stride)  # (B, d, L)
    return (
        torch.full((images.shape[0],), float(cols.shape[-1]), dtype=torch.float64),
        cols.sum(-1),
        cols @ cols.transpose(1, 2),
    )


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("p", [2, 3, 8])
@pytest.mark.parametrize("stride", [1, 2, 3])
def test_patch_moments_match_unfold_brute_force(channels: int, p: int, stride: int) -> None:
    gen = torch.Generator().manual_seed(100 * channels + 10 * p + stride)
    images = torch.rand(2, channels, 19, 23, generator=gen, dtype=torch.float64)
    moments = patch_moments(images, p, stride)
    count, total, outer = _brute(images, p, stride)
    torch.testing.assert_close(moments.count, count, rtol=0, atol=0)
    assert _rel(moments.total, total) < 1e-9
    assert _rel(moments.outer, outer) < 1e-9
    # The centred covariance, where cancellation would show, agrees as well.
    _, cov = moments.mean_and_covariance()
    _, cov_ref = mean_and_covariance(count, total, outer)
    assert _rel(cov, cov_ref) < 1e-9


def test_patch_moments_zero_mean_errors_match_brute_force() -> None:
    # Error images: small, signed, near-zero mean (no large mean to hide relative errors).
    gen = torch.Generator().manual_seed(7)
    errors = 0.01 * torch.randn(3, 3, 33, 31, generator=gen, dtype=torch.float64)
    moments = patch_moments(errors, 8, 1)
    _, total, outer = _brute(errors, 8, 1)
    assert _rel(moments.outer, outer) < 1e-9
    assert _rel(moments.total, total) < 1e-9


def test_patch_moments_patch_size_one_is_pixel_moments() -> None:
    images = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.5, 0.0], [1.0, 2.0]]]])
    moments = patch_moments(images, 1, 1)
    pixels = images.double().reshape(2, 4)
    torch.testing.assert_close(moments.total[0], pixels.sum(1))
    torch.testing.assert_close(moments.outer[0], pixels @ pixels.T)
    assert moments.count.tolist() == [4.0]


def test_patch_moments_patch_as_large_as_image() -> None:
    images = torch.rand(2, 1, 5, 5, dtype=torch.float64)
    moments = patch_moments(images, 5, 1)
    flat = images.reshape(2, 25)
    torch.testing.assert_close(moments.outer, flat[:, :, None] * flat[:, None, :])
    assert moments.count.tolist() == [1.0, 1.0]


def test_patch_moments_float32_input_gives_float64() -> None:
    images = torch.rand(1, 1, 12, 12)
    moments = patch_moments(images, 3)
    assert moments.outer.dtype == torch.float64
    _, _, outer = _brute(images, 3, 1)
    assert _rel(moments.outer, outer) < 1e-9


def test_pooled_sums_over_images() -> None:
    images = torch.rand(3, 1, 10, 9, dtype=torch.float64)
    moments = patch_moments(images, 3)
    pooled = moments.pooled()
    assert pooled.outer.shape == (1, 9, 9)
    torch.testing.assert_close(pooled.outer[0], moments.outer.sum(0))
    torch.testing.assert_close(pooled.count, torch.tensor([3.0 * 8 * 7], dtype=torch.float64))


def test_weighted_matches_explicit_resample() -> None:
    images = torch.rand(3, 1, 10, 9, dtype=torch.float64)
    moments = patch_moments(images, 2)
    weights = torch.tensor([[2.0, 0.0, 1.0], [0.0, 3.0, 0.0]])
    resampled = moments.weighted(weights)
    first = patch_moments(images[[0, 0, 2]], 2).pooled()
    torch.testing.assert_close(resampled.outer[0], first.outer[0])
    torch.testing.assert_close(resampled.total[1], 3 * moments.total[1])
    torch.testing.assert_close(resampled.count, torch.tensor([216.0, 216.0], dtype=torch.float64))


def test_weighted_into_accumulates_batches_in_place() -> None:
    # A streamed group: two batches' poolings added into the first batch's sums equal the
    # poolings of all images at once (the resampling weights' columns split by batch).
    images = torch.rand(5, 2, 9, 8, dtype=torch.float64)
    weights = torch.tensor([[1.0, 0.0, 2.0, 1.0, 1.0], [0.0, 3.0, 0.0, 1.0, 1.0]])
    whole = patch_moments(images, 3).weighted(weights)
    streamed = patch_moments(images[:2], 3).weighted(weights[:, :2])
    outer = streamed.outer
    result = patch_moments(images[2:], 3).weighted(weights[:, 2:], into=streamed)
    assert result is streamed
    assert result.outer is outer  # no new (R, d, d) tensor
    for got, want in zip(
        (result.count, result.total, result.outer),
        (whole.count, whole.total, whole.outer),
        strict=True,
    ):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=0)


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        (torch.ones(3), "expected weights of shape"),
        (torch.ones(2, 4), "expected weights of shape"),
        (-torch.ones(2, 3), "non-negative"),
        (torch.full((2, 3), float("nan")), "non-negative"),
    ],
)
def test_weighted_rejects_bad_weights(weights: torch.Tensor, match: str) -> None:
    moments = patch_moments(torch.rand(3, 1, 4, 4), 2)
    with pytest.raises(EstimatorInputError, match=match):
        moments.weighted(weights)


def test_mean_and_covariance_is_population_covariance() -> None:
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(50, 4, generator=gen, dtype=torch.float64)
    mean, cov = mean_and_covariance(torch.tensor(50.0), x.sum(0), x.T @ x)
    torch.testing.assert_close(mean, x.mean(0))
    # numpy-style population covariance (divisor n), an independent formula.
    torch.testing.assert_close(cov, torch.cov(x.T, correction=0))
    torch.testing.assert_close(cov, cov.T, rtol=0, atol=0)


def test_mean_and_covariance_rejects_bad_shapes_and_counts() -> None:
    with pytest.raises(EstimatorInputError, match="expected total"):
        mean_and_covariance(torch.tensor(1.0), torch.zeros(3), torch.zeros(3, 2))
    with pytest.raises(EstimatorInputError, match="expected count of shape"):
        mean_and_covariance(torch.ones(2), torch.zeros(3), torch.zeros(3, 3))
    with pytest.raises(EstimatorInputError, match="positive patch counts"):
        mean_and_covariance(torch.tensor(0.0), torch.zeros(3), torch.zeros(3, 3))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"patch_size": 0}, "patch_size a positive int"),
        ({"patch_size": 2.0}, "patch_size a positive int"),
        ({"patch_size": 2, "stride": 0}, "stride a positive int"),
        ({"patch_size": 9}, "at least 9x9"),
    ],
)
def test_patch_moments_rejects_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(EstimatorInputError, match=match):
        patch_moments(torch.rand(1, 1, 8, 8), **kwargs)  # type: ignore[arg-type]


def test_patch_moments_rejects_bad_images() -> None:
    with pytest.raises(EstimatorInputError, match="shape"):
        patch_moments(torch.rand(8, 8), 2)
    with pytest.raises(EstimatorInputError, match="finite"):
        patch_moments(torch.full((1, 1, 4, 4), float("nan")), 2)


def test_sample_patches_are_real_distinct_patches() -> None:
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(2, 3, 11, 13, generator=gen)
    samples = sample_patches(images, 4, 50, torch.Generator().manual_seed(1))
    assert samples.shape == (2, 50, 48)
    assert samples.dtype == images.dtype
    every = functional.unfold(images, 4).transpose(1, 2)  # (B, L, d)
    for b in range(2):
        # each sampled patch equals exactly one stride-1 patch of its own image
        match = (samples[b][:, None, :] == every[b][None, :, :]).all(-1)
        hits = match.float().argmax(1)
        assert bool(match.any(1).all())
        assert hits.unique().numel() == 50


def test_sample_patches_is_seeded() -> None:
    images = torch.rand(1, 1, 16, 16)
    a = sample_patches(images, 3, 20, torch.Generator().manual_seed(5))
    b = sample_patches(images, 3, 20, torch.Generator().manual_seed(5))
    c = sample_patches(images, 3, 20, torch.Generator().manual_seed(6))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a, c)


def test_sample_patches_rejects_bad_counts() -> None:
    images = torch.rand(1, 1, 4, 4)
    with pytest.raises(EstimatorInputError, match="per_image"):
        sample_patches(images, 2, 10, torch.Generator())
    with pytest.raises(EstimatorInputError, match="per_image"):
        sample_patches(images, 2, 0, torch.Generator())
    with pytest.raises(EstimatorInputError, match="per_image an int"):
        sample_patches(images, 2, 1.5, torch.Generator())  # type: ignore[arg-type]


def test_patch_moments_is_a_frozen_record() -> None:
    moments = patch_moments(torch.rand(1, 1, 4, 4), 2)
    assert isinstance(moments, PatchMoments)
    with pytest.raises(AttributeError):
        moments.count = torch.zeros(1)  # type: ignore[misc]


@pytest.mark.parametrize("stride", [1, 2])
def test_patch_moments_chunked_over_images_agree(
    stride: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    images = torch.rand(3, 2, 12, 10, dtype=torch.float64)
    whole = patch_moments(images, 3, stride)
    monkeypatch.setattr("api_schemas.conventions.PATCH_CHUNK_ELEMENTS", 1)  # one image a chunk
    chunked = patch_moments(images, 3, stride)
    torch.testing.assert_close(chunked.outer, whole.outer, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(chunked.total, whole.total, rtol=1e-12, atol=1e-12)


def test_sample_patches_draws_uniform_subsets() -> None:
    # Few of many positions takes the draw-with-rejection path; a uniform k-subset puts each
    # position in with probability k/n and each pair with k(k-1)/(n(n-1)). Chi-square tests
    # (scipy) at a fixed seed, rejecting only below p = 1e-3.
    from scipy import stats

    rows, n, k = 6000, 60, 6
    images = torch.arange(float(n)).reshape(1, 1, 6, 10).expand(rows, 1, 6, 10).contiguous()
    picked = sample_patches(images, 1, k, torch.Generator().manual_seed(3))[..., 0].long()
    assert picked.shape == (rows, k)
    assert bool((picked.sort(1).values.diff(1) > 0).all())  # distinct within each row
    singles = torch.bincount(picked.flatten(), minlength=n).numpy()
    assert stats.chisquare(singles).pvalue > 1e-3
    first, second = torch.triu_indices(k, k, offset=1)
    low = torch.minimum(picked[:, first], picked[:, second])
    high = torch.maximum(picked[:, first], picked[:, second])
    pairs = torch.bincount((low * n + high).flatten(), minlength=n * n).reshape(n, n)
    upper = torch.triu_indices(n, n, offset=1)
    assert stats.chisquare(pairs[upper[0], upper[1]].numpy()).pvalue > 1e-3


@pytest.mark.parametrize("p", [1, 3, 8])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("tile_rows", [1, 4, 7, 30])
def test_tiled_patch_moments_equal_untiled(p: int, stride: int, tile_rows: int) -> None:
    """Bands overlapping by p - 1 rows partition the patch positions (issue 15, item 2).

    Counts must be identical; sums agree to float64 rounding of a different summation
    order: 1e-12 relative to the largest entry (the untiled FFT path itself is held to 1e-9
    against unfold above), and both agree with the brute-force sums.
    """
    gen = torch.Generator().manual_seed(7 * p + stride + 1000 * tile_rows)
    images = torch.rand(2, 3, 37, 21, generator=gen, dtype=torch.float64)
    whole = patch_moments(images, p, stride)
    tiled = tiled_patch_moments(images, p, stride, tile_rows=tile_rows)
    torch.testing.assert_close(tiled.count, whole.count, rtol=0, atol=0)
    assert _rel(tiled.total, whole.total) < 1e-12
    assert _rel(tiled.outer, whole.outer) < 1e-12
    count, total, outer = _brute(images, p, stride)
    torch.testing.assert_close(tiled.count, count, rtol=0, atol=0)
    assert _rel(tiled.total, total) < 1e-9
    assert _rel(tiled.outer, outer) < 1e-9


def test_tiled_patch_moments_reject_empty_bands() -> None:
    with pytest.raises(EstimatorInputError, match="tile_rows"):
        tiled_patch_moments(torch.rand(1, 1, 9, 9), 2, tile_rows=0)


@pytest.mark.parametrize("p", [2, 8])
def test_patch_moments_within_a_budget_bands_and_equals_untiled(p: int) -> None:
    # A budget between one band's estimate and the whole stack's: bands, same sums.
    gen = torch.Generator().manual_seed(p)
    images = torch.rand(3, 3, 40, 33, generator=gen, dtype=torch.float64)
    whole_bytes = patch_moments_working_bytes((3, 3, 40, 33), p)
    budget = patch_moments_working_bytes((3, 3, 4 + p - 1, 33), p)
    assert budget < whole_bytes  # so the call below cannot take the untiled path
    banded = patch_moments_within(images, p, 1, budget)
    whole = patch_moments(images, p, 1)
    torch.testing.assert_close(banded.count, whole.count, rtol=0, atol=0)
    assert _rel(banded.total, whole.total) < 1e-12
    assert _rel(banded.outer, whole.outer) < 1e-12
    # Without a budget, or within it, the untiled computation itself.
    for unbounded in (None, whole_bytes):
        same = patch_moments_within(images, p, 1, unbounded)
        torch.testing.assert_close(same.outer, whole.outer, rtol=0, atol=0)
