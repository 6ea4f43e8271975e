"""DegradationOperator against Pillow, scipy.ndimage and linear-algebra identities (§3.6, §3.7)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import ndimage
from skimage import data

from api_schemas.degradation import parse_degradation, parse_degradation_short
from workers.engine.degradation import linear_operator
from workers.estimators.degradation import Blur, DegradationOperator, Downsample
from workers.estimators.errors import EstimatorInputError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


ASYMMETRIC = ((0.0, 0.1, 0.05), (0.2, 0.3, 0.1), (0.05, 0.15, 0.05))

OPERATORS = {
    "bicubic2": [Downsample(2, "bicubic")],
    "bicubic3": [Downsample(3, "bicubic")],
    "bicubic4": [Downsample(4, "bicubic")],
    "area4": [Downsample(4, "area")],
    "gaussian2": [Downsample(2, "gaussian")],
    "gaussian3": [Downsample(3, "gaussian")],
    "blur": [Blur(sigma=1.3)],
    "kernel": [Blur(kernel=ASYMMETRIC)],
    "blur_bicubic": [Blur(sigma=0.8), Downsample(2, "bicubic")],
    "kernel_area": [Blur(kernel=ASYMMETRIC), Downsample(3, "area")],
}


def _photo(name: str) -> np.ndarray:
    """A bundled photograph, cropped to at most 250 x 330 to keep the tests fast."""
    return np.ascontiguousarray(getattr(data, name)()[:250, :330])


def _photo_batch(img: np.ndarray) -> torch.Tensor:
    arr = img.astype(np.float64)
    chw = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(chw))[None]


@pytest.mark.parametrize("name", sorted(OPERATORS))
@pytest.mark.parametrize("size", [(24, 36), (37, 29)])
def test_adjoint_dot_product_float64(name: str, size: tuple[int, int]) -> None:
    op = DegradationOperator(OPERATORS[name])
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, *size, generator=gen, dtype=torch.float64)
    y = torch.randn(2, 3, *op.output_size(*size), generator=gen, dtype=torch.float64)
    lhs = (op.apply(x) * y).sum()
    rhs = (x * op.adjoint(y, size)).sum()
    assert abs(lhs - rhs) <= 1e-10 * (abs(lhs) + 1e-300) + 1e-12


@pytest.mark.parametrize("name", ["bicubic2", "bicubic4", "area4", "gaussian3", "blur_bicubic"])
def test_pseudo_inverse_reproduces_observation_and_projector(name: str) -> None:
    op = DegradationOperator(OPERATORS[name])
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(2, 1, 32, 40, generator=gen, dtype=torch.float64)
    y = op.apply(x)
    x_plus = op.pseudo_inverse(y, (32, 40))
    torch.testing.assert_close(op.apply(x_plus), y, rtol=0, atol=1e-8)
    null = op.null_space_project(x)
    assert op.apply(null).abs().max() < 1e-8
    torch.testing.assert_close(op.null_space_project(null), null, rtol=0, atol=1e-8)
    # minimum norm: x+ is orthogonal to the null-space part of x
    assert abs(float((x_plus * null).sum())) < 1e-7 * float(x.norm() ** 2)


def test_pseudo_inverse_matches_dense_lstsq() -> None:
    op = DegradationOperator([Blur(sigma=0.7), Downsample(2, "bicubic")])
    size = (10, 12)
    basis = torch.eye(120, dtype=torch.float64).reshape(120, 1, *size)
    dense = op.apply(basis).reshape(120, -1).T.numpy()  # (30, 120)
    y = torch.randn(1, 1, 5, 6, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    expected = np.linalg.pinv(dense) @ y.flatten().numpy()
    ours = op.pseudo_inverse(y, size).flatten().numpy()
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-9)


def test_pseudo_inverse_float32_follows_input_dtype() -> None:
    op = DegradationOperator([Downsample(2, "area")])
    y = torch.rand(1, 1, 8, 8)
    assert op.pseudo_inverse(y).dtype == torch.float32
    torch.testing.assert_close(op.apply(op.pseudo_inverse(y)), y, rtol=0, atol=1e-6)


PHOTOS = ["astronaut", "coffee", "chelsea", "camera"]


@pytest.mark.parametrize("photo", PHOTOS)
@pytest.mark.parametrize(
    ("kernel", "resample"),
    [("bicubic", Image.Resampling.BICUBIC), ("area", Image.Resampling.BOX)],
)
@pytest.mark.parametrize("factor", [2, 3, 4])
def test_matches_pillow_float_mode_exactly(
    photo: str, kernel: str, resample: Image.Resampling, factor: int
) -> None:
    # Pillow's "F" mode runs the same coefficients in float: agreement to float32 precision.
    channel = _photo(photo)
    channel = channel if channel.ndim == 2 else channel[..., 1]
    height, width = channel.shape
    size = (width // factor, height // factor)
    expected = np.asarray(
        Image.fromarray(channel.astype(np.float32), mode="F").resize(size, resample)
    )
    ours = DegradationOperator([Downsample(factor, kernel)]).apply(_photo_batch(channel))
    np.testing.assert_allclose(ours[0, 0].numpy(), expected, rtol=0, atol=1e-3)


@pytest.mark.parametrize("photo", PHOTOS)
@pytest.mark.parametrize("factor", [2, 3, 4])
def test_bicubic_matches_pillow_8bit_within_half_a_grey_level(photo: str, factor: int) -> None:
    # Pillow's 8-bit path rounds and clips after each of its two passes; the linear operator
    # does neither. Measured RMS (grey levels) after clipping ours to [0, 255], factors 2/3/4,
    # on the 250 x 330 crops: astronaut 0.341/0.327/0.322, coffee 0.343/0.324/0.315,
    # chelsea 0.344/0.324/0.316, camera 0.339/0.324/0.317 (unclipped: up to 0.384, where
    # bicubic overshoot meets saturated regions). Required: < 0.5.
    img = _photo(photo)
    height, width = img.shape[:2]
    pil = np.asarray(
        Image.fromarray(img).resize((width // factor, height // factor), Image.Resampling.BICUBIC),
        dtype=np.float64,
    )
    pil = pil[None] if pil.ndim == 2 else pil.transpose(2, 0, 1)
    ours = DegradationOperator([Downsample(factor, "bicubic")]).apply(_photo_batch(img))[0]
    rms = float(np.sqrt(np.mean((ours.numpy().clip(0, 255) - pil) ** 2)))
    assert rms < 0.5


@pytest.mark.parametrize("photo", PHOTOS)
def test_area_matches_pillow_box_8bit_within_rounding(photo: str) -> None:
    img = _photo(photo)
    height, width = (side // 4 * 4 for side in img.shape[:2])
    img = img[:height, :width]
    pil = np.asarray(
        Image.fromarray(img).resize((width // 4, height // 4), Image.Resampling.BOX),
        dtype=np.float64,
    )
    pil = pil[None] if pil.ndim == 2 else pil.transpose(2, 0, 1)
    ours = DegradationOperator([Downsample(4, "area")]).apply(_photo_batch(img))[0].numpy()
    # Pillow's two 8-bit roundings: at most one grey level.
    assert np.abs(ours - pil).max() <= 1.0 + 1e-9
    # and against the plain block mean, exactly
    cropped = _photo_batch(img)[0].numpy()
    blocks = cropped.reshape(cropped.shape[0], height // 4, 4, width // 4, 4).mean(axis=(2, 4))
    np.testing.assert_allclose(ours, blocks, rtol=0, atol=1e-9)


def test_gaussian_blur_matches_scipy_reflect() -> None:
    img = data.camera()[100:164, 200:250].astype(np.float64) / 255
    for sigma in (0.6, 1.6, 3.0):
        expected = ndimage.gaussian_filter(img, sigma, mode="reflect")
        ours = DegradationOperator([Blur(sigma=sigma)]).apply(_photo_batch(img))[0, 0]
        np.testing.assert_allclose(ours.numpy(), expected, rtol=0, atol=1e-12)


def test_explicit_kernel_matches_scipy_convolve_reflect() -> None:
    img = data.camera()[:40, :56].astype(np.float64) / 255
    expected = ndimage.convolve(img, np.array(ASYMMETRIC), mode="reflect")
    ours = DegradationOperator([Blur(kernel=ASYMMETRIC)]).apply(_photo_batch(img))[0, 0]
    np.testing.assert_allclose(ours.numpy(), expected, rtol=0, atol=1e-12)


def test_gaussian_downsample_odd_factor_is_blur_then_decimate_in_interior() -> None:
    img = data.camera()[:96, :96].astype(np.float64) / 255
    blurred = ndimage.gaussian_filter(img, 1.5, mode="reflect")  # radius int(6.5) = 6
    expected = blurred[1::3, 1::3]
    ours = DegradationOperator([Downsample(3, "gaussian")]).apply(_photo_batch(img))[0, 0]
    np.testing.assert_allclose(ours.numpy()[2:-2, 2:-2], expected[2:-2, 2:-2], rtol=0, atol=1e-12)


def test_composite_is_blur_then_downsample() -> None:
    x = _photo_batch(data.camera()[:64, :64] / 255.0)
    both = DegradationOperator([Blur(sigma=1.0), Downsample(2, "area")]).apply(x)
    staged = DegradationOperator([Downsample(2, "area")]).apply(
        DegradationOperator([Blur(sigma=1.0)]).apply(x)
    )
    torch.testing.assert_close(both, staged, rtol=0, atol=1e-14)


def test_linear_operator_of_the_parsed_model() -> None:
    op = linear_operator(parse_degradation_short("blur:1.0+downsample:2:area+noise:0.01"))
    assert op.steps == (Blur(sigma=1.0), Downsample(2, "area"))
    assert op.factor == 2
    assert linear_operator(parse_degradation({"type": "noise", "sigma": 0.1})).steps == ()
    kernel = parse_degradation({"type": "blur", "kernel": [[0.25, 0.5, 0.25]]})
    assert linear_operator(kernel).steps == (Blur(kernel=((0.25, 0.5, 0.25),)),)


def test_identity_without_linear_steps() -> None:
    op = DegradationOperator([])
    x = torch.rand(1, 2, 5, 7, dtype=torch.float64)
    torch.testing.assert_close(op.apply(x), x, rtol=0, atol=0)
    assert op.null_space_project(x).abs().max() < 1e-12


def _dense(op: DegradationOperator, size: int) -> np.ndarray:
    basis = torch.eye(size * size, dtype=torch.float64).reshape(-1, 1, size, size)
    return op.apply(basis).reshape(size * size, -1).T.numpy()


@pytest.mark.parametrize("name", ["bicubic2", "bicubic3", "area4", "blur", "kernel_area"])
@pytest.mark.parametrize("phase", [0, 1])
def test_matrix_for_window_matches_dense_operator_rows(name: str, phase: int) -> None:
    op = DegradationOperator(OPERATORS[name])
    phase = min(phase, op.factor - 1)
    window, canvas = 14, 36  # canvas: a multiple of every factor used here
    top = 12 + phase  # 12 too
    dense = _dense(op, canvas)  # every observation of the canvas image, as rows
    mask = np.zeros((canvas, canvas), dtype=bool)
    mask[top : top + window, top : top + window] = True
    rows = dense[np.all(dense[:, ~mask.ravel()] == 0, axis=1)]
    expected = rows[:, mask.ravel()]
    ours = op.matrix_for_window(window, (phase, phase)).numpy()
    assert ours.shape == expected.shape
    assert ours.shape[0] > 0
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-14)


def test_matrix_for_window_example_area() -> None:
    a = DegradationOperator([Downsample(2, "area")]).matrix_for_window(4, (1, 0))
    # window rows 1..4 of the grid: only the observation rows fully inside (grid rows 2-3)
    assert a.shape == (2, 16)
    np.testing.assert_allclose(a.sum(dim=1).numpy(), [1.0, 1.0], atol=1e-15)


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([Downsample(2), Blur(sigma=1.0)], "at most one blur then"),
        ([Blur(sigma=1.0), Blur(sigma=2.0)], "at most one blur then"),
        ([Downsample(0)], "factor >= 1"),
        ([Downsample(2, "lanczos")], "kernel in"),  # type: ignore[arg-type]
        ([Blur(kernel=((0.5, 0.5),))], "odd sides"),
        ([Blur(sigma=-1.0)], "blur sigma > 0"),
        ([Blur()], "sigma or kernel"),
    ],
)
def test_invalid_steps_raise(steps: list[object], message: str) -> None:
    with pytest.raises(EstimatorInputError, match=message):
        DegradationOperator(steps)  # type: ignore[arg-type]


def test_invalid_inputs_raise() -> None:
    op = DegradationOperator([Downsample(4)])
    with pytest.raises(EstimatorInputError, match="at least 4x4"):
        op.apply(torch.zeros(1, 1, 3, 8))
    with pytest.raises(EstimatorInputError, match=r"shape \(B, C, H, W\)"):
        op.apply(torch.zeros(3, 8))
    with pytest.raises(EstimatorInputError, match="observations of size"):
        op.adjoint(torch.zeros(1, 1, 2, 2), size=(16, 16))
    with pytest.raises(EstimatorInputError, match="tol > 0"):
        op.pseudo_inverse(torch.zeros(1, 1, 2, 2), tol=0.0)
    with pytest.raises(EstimatorInputError, match="max_iter >= 1"):
        op.pseudo_inverse(torch.zeros(1, 1, 2, 2), max_iter=0)
    with pytest.raises(EstimatorInputError, match="finite values in x"):
        op.null_space_project(torch.full((1, 1, 8, 8), float("inf")))
    with pytest.raises(EstimatorInputError, match="window_size >= 1"):
        op.matrix_for_window(0)
    with pytest.raises(EstimatorInputError, match="phase entries"):
        op.matrix_for_window(8, (4, 0))


def test_pseudo_inverse_of_a_strong_blur_stops_early_with_a_smaller_norm() -> None:
    # H H' of a Gaussian blur is ill conditioned (symbol exp(-sigma^2 w^2)): CG stops at
    # max_iter. Its iterates x_k = H' z_k grow in norm towards the minimum-norm solution, so
    # |x_k| <= |x|, while the data are already explained to a small relative residual.
    op = DegradationOperator([Blur(sigma=1.6)])
    x = _photo_batch(data.camera()[200:264, 200:264] / 255.0)
    y = op.apply(x)
    x_plus = op.pseudo_inverse(y, tol=1e-12, max_iter=60)
    assert bool(torch.isfinite(x_plus).all())
    assert float(x_plus.norm()) <= float(x.norm())
    assert float((op.apply(x_plus) - y).norm() / y.norm()) < 1e-2  # measured 2.8e-3


def test_matrix_cache_is_bounded_and_results_unchanged() -> None:
    op = DegradationOperator([Downsample(2, "bicubic")])
    x = torch.rand(1, 1, 8, 8, dtype=torch.float64)
    first = op.apply(x)
    for size in range(10, 40, 2):
        op.apply(torch.rand(1, 1, size, size, dtype=torch.float64))
    assert len(op._stages) <= 8
    torch.testing.assert_close(op.apply(x), first, rtol=0, atol=0)
