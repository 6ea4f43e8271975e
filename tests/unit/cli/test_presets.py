"""Convention presets (``--preset``): each preset's PSNR and SSIM on scikit-image's bundled
photographs against an independent computation of the convention with scikit-image.

The peer: luma by ``skimage.color.rgb2ycbcr`` (MATLAB's, what BasicSR's ``test_y_channel``
computes) or the BT.601 weights in numpy, on the 0-255 scale, the border cropped by hand,
then ``skimage.metrics`` with the Gaussian 11x11, sigma 1.5 SSIM window of Wang et al. (what
BasicSR's ``calculate_ssim`` uses). Tolerances: PSNR 1e-3 dB and SSIM 2e-5 absolute, float32
arithmetic in the engine against float64 in the peer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from api_schemas import AuditOptions, AuditReport
from api_schemas.exit_codes import EXIT_USAGE
from api_schemas.presets import PRESETS
from cli.main import main

SCALE = 4


def _photographs() -> dict[str, np.ndarray]:
    """Three bundled photographs, cut to a multiple of the scale."""
    images = {"astronaut": data.astronaut(), "chelsea": data.chelsea(), "coffee": data.coffee()}
    return {
        name: image[: image.shape[0] // SCALE * SCALE, : image.shape[1] // SCALE * SCALE]
        for name, image in images.items()
    }


def _bicubic_round_trip(image: np.ndarray) -> np.ndarray:
    """A plain restorer: 4x bicubic down, then up (Pillow)."""
    height, width = image.shape[:2]
    small = Image.fromarray(image).resize((width // SCALE, height // SCALE), Image.BICUBIC)
    return np.asarray(small.resize((width, height), Image.BICUBIC))


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("presets")
    (root / "gt").mkdir()
    (root / "sr").mkdir()
    for name, image in _photographs().items():
        Image.fromarray(image).save(root / "gt" / f"{name}.png")
        Image.fromarray(_bicubic_round_trip(image)).save(root / "sr" / f"{name}.png")
    return root


def _peer(truth: np.ndarray, restored: np.ndarray, preset: str) -> tuple[float, float]:
    crop = SCALE if PRESETS[preset].crop == "scale" else 0
    if preset == "basicsr-y":
        x, y = (rgb2ycbcr(im)[..., 0] for im in (truth, restored))
    elif preset == "y-full":
        weights = np.array([0.299, 0.587, 0.114])
        x, y = (im.astype(np.float64) @ weights for im in (truth, restored))
    else:
        x, y = truth.astype(np.float64), restored.astype(np.float64)
    if crop:
        x, y = x[crop:-crop, crop:-crop], y[crop:-crop, crop:-crop]
    psnr = peak_signal_noise_ratio(x, y, data_range=255)
    ssim = structural_similarity(
        x,
        y,
        data_range=255,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        channel_axis=-1 if x.ndim == 3 else None,
    )
    return float(psnr), float(ssim)


def _audit(folders: Path, tmp_path: Path, *extra: str) -> tuple[int, Path]:
    output = tmp_path / "report.json"
    code = main(
        [
            "audit",
            "--ground-truth",
            str(folders / "gt"),
            "--restored",
            f"bicubic={folders / 'sr'}",
            "--bootstrap",
            "0",
            "--quiet",
            "--output",
            str(output),
            *extra,
        ]
    )
    return code, output


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_preset_matches_scikit_image_on_photographs(
    folders: Path, tmp_path: Path, preset: str
) -> None:
    extra = ["--degradation", f"downsample:{SCALE}:bicubic"]
    code, output = _audit(folders, tmp_path, "--preset", preset, *extra)
    assert code == 0
    report = AuditReport.model_validate_json(output.read_text())
    assert report.settings.preset == preset
    assert report.settings.color == PRESETS[preset].color
    assert report.settings.crop_border == (SCALE if preset == "basicsr-y" else 0)
    photographs = _photographs()
    assert len(report.pairs) == len(photographs)
    for pair in report.pairs:
        name = pair.id.split("/")[-1]
        truth = photographs[name]
        psnr, ssim = _peer(truth, _bicubic_round_trip(truth), preset)
        assert pair.distortion.psnr == pytest.approx(psnr, abs=1e-3), name
        assert pair.distortion.ssim == pytest.approx(ssim, abs=2e-5), name


def test_presets_give_different_numbers(folders: Path, tmp_path: Path) -> None:
    """The conventions differ by more than the tolerance above, so the test tells them apart."""
    psnr = {}
    for preset in PRESETS:
        code, output = _audit(folders, tmp_path, "--preset", preset, "--crop-border", "4")
        if PRESETS[preset].crop == "none":
            assert code == EXIT_USAGE
            code, output = _audit(folders, tmp_path, "--preset", preset)
        assert code == 0
        report = AuditReport.model_validate_json(output.read_text())
        psnr[preset] = [p.distortion.psnr for p in report.pairs]
    values = list(psnr.values())
    for i, first in enumerate(values):
        for second in values[i + 1 :]:
            assert max(abs(a - b) for a, b in zip(first, second, strict=True)) > 0.05  # type: ignore[operator]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"preset": "rgb", "color": "y"}, "color y contradicts it"),
        ({"preset": "y-full", "crop_border": 2}, "crops no border"),
        ({"preset": "basicsr-y"}, "give a downsampling degradation or crop_border"),
        (
            {"preset": "basicsr-y", "degradation": "downsample:4", "crop_border": 2},
            "crops the scale (4)",
        ),
    ],
)
def test_an_option_that_contradicts_the_preset_is_refused(
    options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        AuditOptions.model_validate(options)


def test_a_resolved_preset_validates_again_unchanged() -> None:
    """The worker re-reads the options the API stored: the resolved colour and crop agree."""
    options = AuditOptions.model_validate({"preset": "basicsr-y", "degradation": "downsample:3"})
    again = AuditOptions.model_validate(options.model_dump(mode="json"))
    assert (again.preset, again.color, again.crop_border) == ("basicsr-y", "y", 3)


def test_cli_refuses_a_contradicting_colour(
    folders: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = _audit(folders, tmp_path, "--preset", "rgb", "--color", "y")
    assert code == EXIT_USAGE
    assert "contradicts" in capsys.readouterr().err
