"""MSE, PSNR and SSIM against scikit-image and torchmetrics on real photographs.

docs/theory.md §3.2.

Tolerances: 1e-4 against scikit-image (float64 reference; ours also runs in float32), as
docs/theory.md §3.2 promises. torchmetrics reflect-pads the borders and averages the whole SSIM map,
so it differs by a border effect bounded here by 0.005; cropping its full map to the valid
interior recovers our value to 1e-5.
"""

from __future__ import annotations

import functools
import io
import math

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage
from skimage import data
from skimage.metrics import mean_squared_error as sk_mse
from skimage.metrics import peak_signal_noise_ratio as sk_psnr
from skimage.metrics import structural_similarity as sk_ssim
from torchmetrics.functional.image import structural_similarity_index_measure as tm_ssim

from workers.estimators.color import crop_border
from workers.estimators.distortion import (
    DistortionMetrics,
    distortion_metrics,
    mean_squared_error,
    peak_signal_noise_ratio,
    structural_similarity,
)
from workers.estimators.errors import EstimatorInputError

SIZE = (160, 192)
RGB_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry")
GREY_PHOTOS = ("camera", "moon")


def _crop(name: str, size: tuple[int, int] = SIZE) -> np.ndarray:
    """A (H, W, C) float64 crop in [0, 1] of a bundled photograph, grey as C = 1."""
    image = getattr(data, name)()[: size[0], : size[1]].astype(np.float64) / 255.0
    return image if image.ndim == 3 else image[..., None]


def _noise(image: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(image + 0.06 * rng.standard_normal(image.shape), 0.0, 1.0)


def _blur(image: np.ndarray, seed: int) -> np.ndarray:
    return ndimage.gaussian_filter(image, sigma=(1.2 + 0.1 * seed, 1.2 + 0.1 * seed, 0))


def _jpeg(image: np.ndarray, seed: int) -> np.ndarray:
    pixels = np.round(image * 255).astype(np.uint8)
    pil = Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels)
    buffer = io.BytesIO()
    pil.save(buffer, format="JPEG", quality=20 + 5 * seed)
    decoded = np.asarray(Image.open(buffer), dtype=np.float64) / 255.0
    return decoded.reshape(image.shape)


DISTORTIONS = {"noise": _noise, "blur": _blur, "jpeg": _jpeg}


def _to_batch(images: list[np.ndarray], dtype: torch.dtype) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).to(dtype)


def _pairs(
    names: tuple[str, ...], distortion: str, size: tuple[int, int] = SIZE
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    targets = [_crop(name, size) for name in names]
    preds = [DISTORTIONS[distortion](t, seed) for seed, t in enumerate(targets)]
    return preds, targets


def _sk_reference(
    preds: list[np.ndarray], targets: list[np.ndarray], data_range: float = 1.0
) -> DistortionMetrics:
    mse = [sk_mse(t, p) for p, t in zip(preds, targets, strict=True)]
    psnr = [sk_psnr(t, p, data_range=data_range) for p, t in zip(preds, targets, strict=True)]
    ssim = [
        sk_ssim(
            p,
            t,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=data_range,
            channel_axis=2,
        )
        for p, t in zip(preds, targets, strict=True)
    ]
    return DistortionMetrics(*(torch.tensor(v, dtype=torch.float64) for v in (mse, psnr, ssim)))


@functools.cache
def _case(
    names: tuple[str, ...], distortion: str
) -> tuple[list[np.ndarray], list[np.ndarray], DistortionMetrics]:
    """Distorted pairs and scikit-image's values, computed once per test session."""
    preds, targets = _pairs(names, distortion)
    return preds, targets, _sk_reference(preds, targets)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("names", [RGB_PHOTOS, GREY_PHOTOS], ids=["rgb", "grey"])
@pytest.mark.parametrize("distortion", sorted(DISTORTIONS))
def test_distortion_metrics_match_skimage_on_photographs(
    distortion: str, names: tuple[str, ...], dtype: torch.dtype
) -> None:
    preds, targets, expected = _case(names, distortion)
    ours = distortion_metrics(_to_batch(preds, dtype), _to_batch(targets, dtype), data_range=1.0)
    assert all(field.dtype == dtype and field.shape == (len(names),) for field in ours)
    torch.testing.assert_close(ours.mse.double(), expected.mse, rtol=1e-5, atol=0)
    torch.testing.assert_close(ours.psnr.double(), expected.psnr, rtol=0, atol=1e-4)
    torch.testing.assert_close(ours.ssim.double(), expected.ssim, rtol=0, atol=1e-4)
    # The distortions are visible, not trivial.
    assert float(expected.ssim.max()) < 0.99


@pytest.mark.parametrize("distortion", sorted(DISTORTIONS))
def test_separate_functions_match_skimage(distortion: str) -> None:
    preds, targets, expected = _case(RGB_PHOTOS, distortion)
    p, t = _to_batch(preds, torch.float32), _to_batch(targets, torch.float32)
    torch.testing.assert_close(mean_squared_error(p, t).double(), expected.mse, rtol=1e-5, atol=0)
    torch.testing.assert_close(
        peak_signal_noise_ratio(p, t, 1.0).double(), expected.psnr, rtol=0, atol=1e-4
    )
    torch.testing.assert_close(
        structural_similarity(p, t, 1.0).double(), expected.ssim, rtol=0, atol=1e-4
    )


def test_data_range_255_matches_skimage() -> None:
    preds, targets = _pairs(RGB_PHOTOS[:2], "jpeg")
    preds255, targets255 = [p * 255 for p in preds], [t * 255 for t in targets]
    expected = _sk_reference(preds255, targets255, data_range=255.0)
    ours = distortion_metrics(
        _to_batch(preds255, torch.float32), _to_batch(targets255, torch.float32), 255.0
    )
    torch.testing.assert_close(ours.psnr.double(), expected.psnr, rtol=0, atol=1e-4)
    torch.testing.assert_close(ours.ssim.double(), expected.ssim, rtol=0, atol=1e-4)
    # Scaling images and data range together leaves PSNR and SSIM unchanged.
    at_one = _sk_reference(preds, targets)
    torch.testing.assert_close(expected.ssim, at_one.ssim, rtol=0, atol=1e-9)


def test_psnr_closed_form_and_infinity() -> None:
    target = torch.full((3, 1, 12, 12), 0.5)
    preds = target + torch.tensor([0.1, 0.01, 0.0]).view(3, 1, 1, 1)
    metrics = distortion_metrics(preds, target, data_range=1.0)
    torch.testing.assert_close(metrics.mse[:2], torch.tensor([1e-2, 1e-4]), rtol=1e-4, atol=0)
    torch.testing.assert_close(metrics.psnr[:2], torch.tensor([20.0, 40.0]), rtol=0, atol=1e-3)
    assert metrics.mse[2] == 0
    assert math.isinf(metrics.psnr[2])
    assert metrics.psnr[2] > 0
    assert bool((metrics.ssim[2] == 1).item())


def test_psnr_of_tiny_error_is_finite() -> None:
    # 20 log10(L) - 10 log10(MSE) avoids overflowing L² / MSE for subnormal MSE.
    target = torch.zeros(1, 1, 4, 4)
    preds = target.clone()
    preds[0, 0, 0, 0] = 1e-20  # MSE 6.25e-42: subnormal in float32, 1 / MSE overflows
    psnr = peak_signal_noise_ratio(preds, target, 1.0)
    assert math.isfinite(psnr.item())
    assert psnr.item() == pytest.approx(-10 * math.log10(1e-40 / 16), rel=1e-3)


def test_ssim_flat_images_closed_form() -> None:
    # No variance anywhere: SSIM is the luminance term (2 a b + C1) / (a² + b² + C1).
    a, b = 0.7, 0.4
    ones = torch.ones(1, 3, 15, 13, dtype=torch.float64)
    expected = (2 * a * b + 1e-4) / (a**2 + b**2 + 1e-4)
    assert structural_similarity(a * ones, b * ones, 1.0).item() == pytest.approx(expected, 1e-12)


def test_ssim_differs_from_torchmetrics_only_by_its_padded_border() -> None:
    # torchmetrics reflect-pads by 5 pixels and averages the whole H x W SSIM map; we average
    # the valid (H - 10) x (W - 10) interior, as scikit-image does. Its interior equals ours,
    # so the whole gap is the border's share f of the map times (interior - border mean).
    size = (256, 256)
    preds, targets = [], []
    for distortion in sorted(DISTORTIONS):
        p, t = _pairs(RGB_PHOTOS, distortion, size)
        preds += p
        targets += t
    # float32: torchmetrics' 11x11 float64 convolution takes a minute on this CPU. The two
    # float32 computations round differently (direct 2-D vs separable), by up to 2e-5 here.
    p32, t32 = _to_batch(preds, torch.float32), _to_batch(targets, torch.float32)
    ours = structural_similarity(p32, t32, 1.0)
    theirs, full_map = tm_ssim(
        p32,
        t32,
        gaussian_kernel=True,
        sigma=1.5,
        kernel_size=11,
        data_range=1.0,
        reduction="none",
        return_full_image=True,
    )
    interior = full_map[..., 5:-5, 5:-5]
    torch.testing.assert_close(ours, interior.mean(dim=(1, 2, 3)), rtol=0, atol=5e-5)
    border_share = 1 - (246 * 246) / (256 * 256)  # f = 7.7 %
    border_mean = (full_map.sum(dim=(1, 2, 3)) - interior.sum(dim=(1, 2, 3))) / (
        3 * 256 * 256 * border_share
    )
    torch.testing.assert_close(
        ours - theirs, border_share * (ours - border_mean), rtol=0, atol=5e-5
    )
    gap = (ours - theirs).abs()
    assert bool((gap <= 2 * border_share).all())  # SSIM in [-1, 1]: a universal bound
    # Typical size on photographs (docs/theory.md §3.2 says "about 0.002"): the median over these
    # 15 pairs is under 0.005 and not zero. It is not a bound for every pair: content at the
    # border decides, and single 256x256 pairs here reach about 0.0055.
    assert 1e-4 < float(gap.median()) < 5e-3


def test_half_precision_is_computed_in_float32() -> None:
    preds, targets = _pairs(RGB_PHOTOS[:2], "noise")
    ours = distortion_metrics(
        _to_batch(preds, torch.float16), _to_batch(targets, torch.float16), 1.0
    )
    assert all(field.dtype == torch.float32 for field in ours)
    half_rounded = [
        _to_batch(preds, torch.float16).double().permute(0, 2, 3, 1).numpy()[i] for i in range(2)
    ]
    expected = _sk_reference(
        half_rounded,
        [
            _to_batch(targets, torch.float16).double().permute(0, 2, 3, 1).numpy()[i]
            for i in range(2)
        ],
    )
    torch.testing.assert_close(ours.ssim.double(), expected.ssim, rtol=0, atol=1e-4)


GOOD = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize(
    ("preds", "target", "match"),
    [
        (GOOD, GOOD[:, :, :15], r"expected preds and target of equal shape, got \(2, 3, 16, 16\)"),
        (GOOD[0], GOOD[0], "expected preds of shape .*got 3 dimensions"),
        (
            (GOOD * 255).to(torch.uint8),
            GOOD,
            "expected a floating dtype for preds, got torch.uint8",
        ),
        (GOOD, GOOD.double(), "expected preds and target of equal dtype"),
        (GOOD, torch.where(GOOD > 0.5, float("nan"), GOOD), "expected finite values in target"),
        ("image", GOOD, "expected preds to be a torch.Tensor, got str"),
    ],
)
@pytest.mark.parametrize(
    "metric",
    [
        lambda p, t: mean_squared_error(p, t),
        lambda p, t: peak_signal_noise_ratio(p, t, 1.0),
        lambda p, t: structural_similarity(p, t, 1.0),
        lambda p, t: distortion_metrics(p, t, 1.0),
    ],
    ids=["mse", "psnr", "ssim", "fused"],
)
def test_bad_images_raise(metric: object, preds: object, target: object, match: str) -> None:
    with pytest.raises(EstimatorInputError, match=match):
        metric(preds, target)  # type: ignore[operator]


@pytest.mark.parametrize("metric", [structural_similarity, distortion_metrics])
@pytest.mark.parametrize("shape", [(1, 1, 10, 30), (1, 3, 30, 10)])
def test_ssim_on_images_smaller_than_window_raises(metric: object, shape: tuple[int, ...]) -> None:
    images = torch.zeros(shape)
    with pytest.raises(EstimatorInputError, match="expected images of at least 11x11 pixels"):
        metric(images, images, 1.0)  # type: ignore[operator]


def test_psnr_on_small_images_is_fine() -> None:
    assert peak_signal_noise_ratio(torch.ones(1, 1, 2, 2), torch.zeros(1, 1, 2, 2), 1.0) == 0


@pytest.mark.parametrize("data_range", [0.0, -1.0, float("nan"), float("inf"), "1"])
@pytest.mark.parametrize(
    "metric", [peak_signal_noise_ratio, structural_similarity, distortion_metrics]
)
def test_bad_data_range_raises(metric: object, data_range: object) -> None:
    with pytest.raises(EstimatorInputError, match="expected data_range > 0"):
        metric(GOOD, GOOD, data_range)  # type: ignore[operator]


def test_strided_views_from_crop_border_match_skimage() -> None:
    # The engine passes crop_border views (non-contiguous) straight in.
    preds, targets, _ = _case(RGB_PHOTOS, "noise")
    p, t = _to_batch(preds, torch.float32), _to_batch(targets, torch.float32)
    cropped = distortion_metrics(crop_border(p, 4), crop_border(t, 4), 1.0)
    expected = _sk_reference([x[4:-4, 4:-4] for x in preds], [x[4:-4, 4:-4] for x in targets])
    torch.testing.assert_close(cropped.ssim.double(), expected.ssim, rtol=0, atol=1e-4)
    torch.testing.assert_close(cropped.psnr.double(), expected.psnr, rtol=0, atol=1e-4)
