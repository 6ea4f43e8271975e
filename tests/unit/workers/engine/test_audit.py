"""The engine end to end on real photographs, checked against independent computations."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from scipy.special import digamma
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from api_schemas import AuditOptions, AuditReport
from tests.support.reports import assert_same_report
from tests.support.sample_pairs import crops, degrade, to_tensor
from workers.engine import PairSource, run_audit
from workers.errors import AuditCancelledError, AuditInputError
from workers.estimators.hallucination import invented_detail_ratio
from workers.estimators.patches import patch_moments_working_bytes

SIZE = 64


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    return crops(6, SIZE, seed=3)


def _pairs(photos: list[np.ndarray], kind: str, group: str = "default") -> list[PairSource]:
    return [
        PairSource(f"{group}-{i}", group, to_tensor(x), to_tensor(degrade(x, kind, seed=i)))
        for i, x in enumerate(photos)
    ]


def _luma(image: np.ndarray) -> np.ndarray:
    rgb = image.astype(np.float64) / 255.0
    return (16 + 65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255.0


def _luma32(image: np.ndarray) -> np.ndarray:
    """Luma as the engine sees it: float32 decode, conversion, as float64 for the references."""
    return (
        to_tensor(image).double().numpy().transpose(1, 2, 0)
        @ np.array([65.481, 128.553, 24.966])
        / 255.0
        + 16 / 255.0
    )


def _brute_force_entropy_power(errors: list[np.ndarray], p: int) -> float:
    """Pooled Gaussian entropy power of all stride-1 p x p error patches, by explicit loops
    over patch positions in numpy (independent of the engine's summed-area tables)."""
    patches = []
    for e in errors:
        _h, _w = e.shape
        windows = np.lib.stride_tricks.sliding_window_view(e, (p, p))
        patches.append(windows.reshape(-1, p * p))
    x = np.concatenate(patches)
    n, d = x.shape
    cov = np.cov(x, rowvar=False, bias=False)
    _, logdet = np.linalg.slogdet(cov)
    bias = sum(digamma((n - i) / 2) for i in range(1, d + 1)) + d * math.log(2 / (n - 1))
    return math.exp((logdet - bias) / d)


def test_report_matches_scikit_image_distortion_per_pair(photos: list[np.ndarray]) -> None:
    pairs = _pairs(photos, "noise")
    report = run_audit(pairs, AuditOptions(bootstrap={"resamples": 0}), device="cpu")
    assert [p.id for p in report.pairs] == [p.id for p in pairs]
    for image, pair, row in zip(photos, pairs, report.pairs, strict=True):
        x = _luma32(image)
        y = _luma32((pair.restored.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
        assert row.distortion.psnr == pytest.approx(
            peak_signal_noise_ratio(x, y, data_range=1.0), abs=1e-4
        )
        expected_ssim = structural_similarity(
            x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0
        )
        assert row.distortion.ssim == pytest.approx(expected_ssim, abs=1e-4)


def test_pooled_uncertainty_matches_brute_force_patches(photos: list[np.ndarray]) -> None:
    pairs = _pairs(photos, "jpeg")
    report = run_audit(pairs, AuditOptions(bootstrap={"resamples": 0}), device="cpu")
    errors = [
        _luma32((p.restored.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)) - _luma32(x)
        for p, x in zip(pairs, photos, strict=True)
    ]
    expected = _brute_force_entropy_power(errors, 8)
    group = report.groups[0]
    # float32 luma vs float64 reference: agreement to 1e-4 relative.
    assert group.uncertainty.gaussian.value == pytest.approx(expected, rel=1e-4)
    assert group.n_patches == len(photos) * (SIZE - 7) ** 2
    assert group.dimension == 64


def test_uncertainty_below_trace_below_mse_on_real_images(photos: list[np.ndarray]) -> None:
    """docs/theory.md 3.4.1 invariant: U_gauss <= trace(S_e)/d <= MSE."""
    for kind in ("noise", "blur", "jpeg", "sharpen"):
        pairs = _pairs(photos, kind)
        report = run_audit(pairs, AuditOptions(bootstrap={"resamples": 0}), device="cpu")
        errors = np.concatenate(
            [
                np.lib.stride_tricks.sliding_window_view(
                    _luma32((p.restored.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
                    - _luma32(x),
                    (8, 8),
                ).reshape(-1, 64)
                for p, x in zip(pairs, photos, strict=True)
            ]
        )
        n, d = errors.shape
        trace_over_d = float(np.trace(np.cov(errors, rowvar=False)) / d)
        u = report.groups[0].uncertainty.gaussian.value
        mse = report.groups[0].distortion.mse.value
        assert u is not None
        assert mse is not None
        # U_gauss carries the Wishart correction exp(-bias/d) > 1 (about 0.2 % here); without
        # it, det(S)^(1/d) <= trace(S)/d is AM-GM on the eigenvalues and holds exactly. For
        # white-noise errors the two sides are within that correction, hence "for large n".
        bias = sum(digamma((n - i) / 2) for i in range(1, d + 1)) + d * math.log(2 / (n - 1))
        assert u * math.exp(bias / d) <= trace_over_d * (1 + 1e-9), kind
        assert u <= trace_over_d * math.exp(-bias / d), kind
        # trace(S_pop)/d = patch mean square - |mean|^2/d: exactly below the mean square over
        # patch positions, which weights border pixels less than the per-image MSE does; the
        # two mean squares agree to 5 % on 64x64 images (3 % seen for blur).
        trace_pop = float(np.trace(np.cov(errors, rowvar=False, bias=True)) / d)
        patch_mean_square = float((errors**2).mean())
        assert trace_pop <= patch_mean_square * (1 + 1e-12), kind
        assert patch_mean_square == pytest.approx(mse, rel=5e-2), kind


def test_identity_gives_zero_error_and_low_risk(photos: list[np.ndarray]) -> None:
    pairs = [
        PairSource(str(i), "identity", to_tensor(x), to_tensor(x)) for i, x in enumerate(photos)
    ]
    report = run_audit(pairs, AuditOptions(), device="cpu")
    group = report.groups[0]
    assert group.distortion.mse.value == 0.0
    assert group.distortion.psnr.value is None
    assert group.uncertainty.gaussian.value == 0.0
    assert group.risk.level == "low"
    assert all(p.risk.level == "low" and p.distortion.psnr is None for p in report.pairs)
    assert any("PSNR is undefined" in w for w in report.warnings)


def test_flat_ground_truth_follows_the_library_rule(photos: list[np.ndarray]) -> None:
    # A constant float32 ground truth: its blur leaves rounding-level detail (> 0, far below
    # 1e-12 per value). The engine asks the library's rule (docs/theory.md 3.7), so the pair's
    # ratio is null as invented_detail_ratio says, and the group mean leaves it out.
    flat = torch.full((1, SIZE, SIZE), 0.5)
    noisy = flat + 0.05 * torch.randn(flat.shape, generator=torch.Generator().manual_seed(1))
    pairs = [*_pairs(photos[:2], "noise"), PairSource("flat", "default", flat, noisy.clamp(0, 1))]
    report = run_audit(pairs, AuditOptions(maps=False, crop_border=4), device="cpu")
    x = flat[None, :, 4:-4, 4:-4]
    x_hat = noisy.clamp(0, 1)[None, :, 4:-4, 4:-4]
    assert math.isnan(float(invented_detail_ratio(x_hat, x, 2.0)[0]))
    flat_pair = report.pairs[-1]
    assert flat_pair.hallucination.invented_detail_ratio is None
    assert "invented_detail_ratio is null" in " ".join(flat_pair.warnings)
    others = [p.hallucination.invented_detail_ratio for p in report.pairs[:-1]]
    assert all(r is not None for r in others)
    mean = report.groups[0].hallucination.invented_detail_ratio.value
    assert mean == pytest.approx(sum(others) / 2, rel=1e-12)  # type: ignore[arg-type]
    assert any("1 pairs have a flat ground truth" in w for w in report.warnings)


def test_groups_are_reported_separately_and_bootstrap_brackets_the_value(
    photos: list[np.ndarray],
) -> None:
    pairs = _pairs(photos, "blur", "blurry") + _pairs(photos, "noise", "noisy")
    report = run_audit(pairs, AuditOptions(bootstrap={"resamples": 100}), device="cpu")
    assert [g.name for g in report.groups] == ["blurry", "noisy"]
    for group in report.groups:
        assert group.n_pairs == len(photos)
        for est in (group.uncertainty.gaussian, group.distortion.psnr, group.distortion.ssim):
            assert est.ci_low is not None
            assert est.ci_high is not None
            assert est.value is not None
            assert est.ci_low <= est.value <= est.ci_high
    # Blur removes detail (nothing invented); noise adds detail that is not in the truth.
    blurry, noisy = report.groups
    assert blurry.hallucination.invented_detail_ratio.value is not None
    assert noisy.hallucination.invented_detail_ratio.value is not None
    assert (
        noisy.hallucination.invented_detail_ratio.value
        > 2 * blurry.hallucination.invented_detail_ratio.value
    )
    AuditReport.model_validate_json(report.model_dump_json())


def test_streamed_bootstrap_equals_resampling_all_pairs_at_once(
    photos: list[np.ndarray],
) -> None:
    # The engine adds each batch's patch moments to R weighted sums and drops them; the
    # textbook bootstrap resamples the n pairs' moments at the end. Same counts (seed), so
    # the same intervals, whatever the batch size. The reference is built here from the
    # luma images (MATLAB rgb2ycbcr) with the estimator functions, not through the engine.
    from workers.estimators import (
        bootstrap_weights,
        gaussian_entropy_power,
        patch_moments,
        percentile_interval,
    )

    pairs = _pairs(photos, "noise")
    options = AuditOptions(bootstrap={"resamples": 60, "seed": 7})
    truth = torch.from_numpy(np.stack([_luma32(x) for x in photos]))[:, None]
    restored = torch.from_numpy(
        np.stack([_luma32(degrade(x, "noise", seed=i)) for i, x in enumerate(photos)])
    )[:, None]
    moments = patch_moments(restored - truth, patch_size=8)
    weights = bootstrap_weights(len(photos), 60, seed=7)
    _, cov = moments.weighted(weights).mean_and_covariance()
    resampled = gaussian_entropy_power(cov, weights @ moments.count)
    low, high = (float(v) for v in percentile_interval(resampled, 0.95))
    for batch_size in (1, 4, 16):
        report = run_audit(pairs, options, device="cpu", batch_size=batch_size)
        estimate = report.groups[0].uncertainty.gaussian
        assert estimate.ci_low == pytest.approx(low, rel=1e-6)
        assert estimate.ci_high == pytest.approx(high, rel=1e-6)


def test_batching_does_not_change_results(photos: list[np.ndarray]) -> None:
    pairs = _pairs(photos, "sharpen")
    one = run_audit(pairs, AuditOptions(), device="cpu", batch_size=1)
    many = run_audit(pairs, AuditOptions(), device="cpu", batch_size=4)
    a, b = one.model_dump(), many.model_dump()
    for ga, gb in zip(a["groups"], b["groups"], strict=True):
        assert ga["uncertainty"]["gaussian"]["value"] == pytest.approx(
            gb["uncertainty"]["gaussian"]["value"], rel=1e-9
        )
        assert ga["distortion"] == gb["distortion"] or ga["distortion"]["mse"]["value"] == (
            pytest.approx(gb["distortion"]["mse"]["value"], rel=1e-9)
        )
    for pa, pb in zip(a["pairs"], b["pairs"], strict=True):
        assert pa["distortion"]["ssim"] == pytest.approx(pb["distortion"]["ssim"], abs=1e-7)


def test_banded_patch_statistics_give_the_untiled_report(photos: list[np.ndarray]) -> None:
    # A budget far below one batch's patch statistics makes the engine sum them over row bands
    # (issue 15 item 2); every number of the report must equal the untiled run's to rounding,
    # and every other leaf (risk levels, flags, nulls) be identical.
    pairs = _pairs(photos[:4], "blur")
    options = AuditOptions(color="rgb", bootstrap={"resamples": 20})
    budget = 200_000
    # The error/truth/restored stack of the batch: 12 RGB images of 64 px, over the budget.
    assert patch_moments_working_bytes((12, 3, SIZE, SIZE), options.patch_size) > budget
    whole = run_audit(pairs, options, device="cpu")
    banded = run_audit(pairs, options, device="cpu", patch_memory_bytes=budget)
    assert_same_report(whole, banded, min_numbers=51)


def test_progress_is_reported_and_cancel_stops(photos: list[np.ndarray]) -> None:
    seen: list[tuple[int, int]] = []
    run_audit(
        _pairs(photos, "noise"),
        AuditOptions(),
        device="cpu",
        batch_size=2,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert seen == [(2, 6), (4, 6), (6, 6)]
    with pytest.raises(AuditCancelledError, match="cancelled"):
        run_audit(_pairs(photos, "noise"), AuditOptions(), device="cpu", should_cancel=lambda: True)


def test_bad_inputs_are_typed_errors_naming_the_pair(photos: list[np.ndarray]) -> None:
    x = to_tensor(photos[0])
    with pytest.raises(AuditInputError, match="at least one pair"):
        run_audit([], AuditOptions())
    with pytest.raises(AuditInputError, match=r"restored\[a\]"):
        run_audit([PairSource("a", "g", x, x[:, :32])], AuditOptions())
    with pytest.raises(AuditInputError, match="duplicate pair id"):
        run_audit([PairSource("a", "g", x, x), PairSource("a", "g", x, x)], AuditOptions())
    tiny = x[:, :10, :10]
    with pytest.raises(AuditInputError, match="at least 11x11"):
        run_audit([PairSource("t", "g", tiny, tiny)], AuditOptions())
    with pytest.raises(AuditInputError, match=r"\[0, 1\]"):
        run_audit([PairSource("r", "g", x, x * 2)], AuditOptions())


def test_maps_as_pixels_are_the_maps_as_png(photos: list[np.ndarray]) -> None:
    # A store that encodes later (the service's) gets the pixels of exactly the PNGs a plain
    # writer gets, under the same names and links.
    from PIL import Image

    from workers.engine import ArtifactWriter

    pairs = _pairs(photos[:2], "noise")
    as_png: dict[str, bytes] = {}
    as_pixels: dict[str, np.ndarray] = {}
    options = AuditOptions(bootstrap={"resamples": 0})
    first = run_audit(
        pairs, options, artifacts=ArtifactWriter(write=as_png.__setitem__, url_for=str)
    )
    second = run_audit(
        pairs,
        options,
        artifacts=ArtifactWriter(
            write=as_png.__setitem__, url_for=str, write_pixels=as_pixels.__setitem__
        ),
    )
    plots = {n for n in as_png if n.startswith(("up_", "dp_"))}
    assert sorted(as_pixels) == sorted(set(as_png) - plots)
    assert len(as_pixels) == len(pairs)  # the invented-detail map (no degradation given)
    for name, pixels in as_pixels.items():
        with Image.open(io.BytesIO(as_png[name])) as image:
            np.testing.assert_array_equal(np.asarray(image), pixels)
    assert [p.hallucination for p in first.pairs] == [p.hallucination for p in second.pairs]
