"""convert_color and crop_border against scikit-image, Pillow and closed forms.

docs/theory.md §3.1.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import color, data

from workers.estimators.color import convert_color, crop_border
from workers.estimators.errors import EstimatorInputError


def _batch(*images: np.ndarray) -> torch.Tensor:
    """Stack uint8 (H, W, 3) photographs into a float64 (B, 3, H, W) batch in [0, 1]."""
    return torch.from_numpy(np.stack(images).astype(np.float64) / 255.0).permute(0, 3, 1, 2)


@pytest.fixture(scope="module")
def photos() -> torch.Tensor:
    return _batch(
        data.astronaut()[:128, :160], data.coffee()[:128, :160], data.chelsea()[:128, :160]
    )


def test_y_matches_skimage_rgb2ycbcr(photos: torch.Tensor) -> None:
    ours = convert_color(photos, "y")
    assert ours.shape == (3, 1, 128, 160)
    for i in range(photos.shape[0]):
        expected = color.rgb2ycbcr(photos[i].permute(1, 2, 0).numpy())[..., 0] / 255.0
        np.testing.assert_allclose(ours[i, 0].numpy(), expected, rtol=0, atol=1e-12)


def test_y_full_matches_skimage_rgb2yuv(photos: torch.Tensor) -> None:
    ours = convert_color(photos, "y_full")
    for i in range(photos.shape[0]):
        expected = color.rgb2yuv(photos[i].permute(1, 2, 0).numpy())[..., 0]
        np.testing.assert_allclose(ours[i, 0].numpy(), expected, rtol=0, atol=1e-12)


def test_y_full_matches_pillow_l_within_rounding() -> None:
    # Pillow's "L" is the same BT.601 luma in 8-bit fixed point: agrees within half a level.
    rgb = data.rocket()
    expected = np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float64) / 255.0
    ours = convert_color(_batch(rgb), "y_full")[0, 0].numpy()
    assert np.abs(ours - expected).max() <= 0.5 / 255 + 1e-6


def test_y_closed_form_primaries_float32() -> None:
    primaries = torch.eye(3, dtype=torch.float32).reshape(3, 3, 1, 1)  # pure R, G, B
    y = convert_color(primaries, "y").flatten() * 255
    torch.testing.assert_close(
        y, torch.tensor([16 + 65.481, 16 + 128.553, 16 + 24.966]), rtol=0, atol=1e-4
    )
    assert convert_color(primaries, "y").dtype == torch.float32


def test_luma_conventions_differ_by_about_a_decibel_of_psnr(photos: torch.Tensor) -> None:
    # docs/theory.md §3.1: the two luma conventions change PSNR on a pair by about 1.3 dB.
    noisy = (
        photos
        + 0.05
        * torch.randn(photos.shape, generator=torch.Generator().manual_seed(0), dtype=photos.dtype)
    ).clamp(0, 1)

    def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return -10 * torch.log10((a - b).square().mean(dim=(1, 2, 3)))

    gap = psnr(convert_color(noisy, "y"), convert_color(photos, "y")) - psnr(
        convert_color(noisy, "y_full"), convert_color(photos, "y_full")
    )
    # y scales the signal by 219/255, i.e. 20 log10(255/219) = 1.32 dB when clipping is negligible.
    assert torch.all((gap > 1.0) & (gap < 1.6))


def test_rgb_is_identity(photos: torch.Tensor) -> None:
    assert torch.equal(convert_color(photos, "rgb"), photos)


@pytest.mark.parametrize("mode", ["y", "y_full"])
def test_grey_input_passes_through_unchanged(mode: str) -> None:
    grey = torch.from_numpy(data.camera()[None, None].astype(np.float32) / 255.0)
    assert torch.equal(convert_color(grey, mode), grey)  # type: ignore[arg-type]


def test_rgb_of_grey_raises() -> None:
    with pytest.raises(EstimatorInputError, match="expected 3 channels for color='rgb', got 1"):
        convert_color(torch.zeros(1, 1, 4, 4), "rgb")


def test_unknown_mode_raises() -> None:
    with pytest.raises(EstimatorInputError, match=r"expected color mode in .* got 'ycbcr'"):
        convert_color(torch.zeros(1, 3, 4, 4), "ycbcr")  # type: ignore[arg-type]


def test_two_channels_raise() -> None:
    with pytest.raises(EstimatorInputError, match="expected 1 or 3 channels, got 2"):
        convert_color(torch.zeros(1, 2, 4, 4), "y")


@pytest.mark.parametrize(
    ("images", "match"),
    [
        (torch.zeros(3, 4, 4), "expected images of shape"),
        (torch.zeros(1, 3, 4, 4, dtype=torch.uint8), "expected a floating dtype"),
        (torch.full((1, 3, 4, 4), float("nan")), "expected finite values"),
    ],
)
def test_convert_color_rejects_bad_images(images: torch.Tensor, match: str) -> None:
    with pytest.raises(EstimatorInputError, match=match):
        convert_color(images, "y")


def test_crop_border_matches_numpy_slicing(photos: torch.Tensor) -> None:
    cropped = crop_border(photos, 4)
    assert cropped.shape == (3, 3, 120, 152)
    np.testing.assert_array_equal(cropped.numpy(), photos.numpy()[:, :, 4:-4, 4:-4])


def test_crop_border_zero_is_identity(photos: torch.Tensor) -> None:
    assert torch.equal(crop_border(photos, 0), photos)


def test_crop_border_keeps_one_pixel() -> None:
    assert crop_border(torch.zeros(1, 1, 5, 7), 2).shape == (1, 1, 1, 3)


@pytest.mark.parametrize("pixels", [3, 10])
def test_crop_border_nothing_left_raises(pixels: int) -> None:
    with pytest.raises(EstimatorInputError, match=r"expected images larger than .* got 6x9"):
        crop_border(torch.zeros(1, 1, 6, 9), pixels)


@pytest.mark.parametrize("pixels", [-1, 1.5, True])
def test_crop_border_bad_pixels_raise(pixels: object) -> None:
    with pytest.raises(EstimatorInputError, match="expected pixels to be a non-negative int"):
        crop_border(torch.zeros(1, 1, 6, 6), pixels)  # type: ignore[arg-type]
