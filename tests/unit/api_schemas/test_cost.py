"""The cost model (api_schemas/cost.py): the engine's geometry reproduced without torch, the
batch size it picks, and who is blamed for a job over the budget (issue #11, item 2)."""

from __future__ import annotations

import inspect
import subprocess
import sys
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from api_schemas.conventions import fast_fft_size, patch_band_rows
from api_schemas.cost import (
    DEFAULT_MAX_JOB_MEMORY_BYTES,
    GIB,
    MAX_PRIOR_WINDOWS,
    MIN_BAND_ROWS,
    PRIOR_PIXEL_BUDGET,
    PRIOR_SUM_BYTES,
    PairShape,
    _prior_stride,
    estimate_job,
    inherent_margin,
    over_budget,
    pairs_per_batch,
    support_radius,
    window_geometry,
)
from api_schemas.degradation import parse_degradation
from api_schemas.options import AuditOptions
from workers.engine import degradation as engine_degradation
from workers.engine.degradation import KnownDegradation, linear_operator
from workers.estimators import inherent

KERNELS = ("bicubic", "area", "gaussian")


def _kernel(draw: Any) -> list[list[float]]:
    rows = draw(st.integers(0, 15)) * 2 + 1
    cols = draw(st.integers(0, 15)) * 2 + 1
    mask = [[draw(st.booleans()) for _ in range(cols)] for _ in range(rows)]
    mask[rows // 2][cols // 2] = True
    ones = sum(map(sum, mask))
    return [[1.0 / ones if on else 0.0 for on in row] for row in mask]


@st.composite
def degradations(draw: Any) -> dict[str, Any]:
    """Any valid degradation: blur (sigma or kernel), downsample, noise, or a composite."""
    blur: dict[str, Any] | None = None
    if draw(st.booleans()):
        if draw(st.booleans()):
            blur = {"type": "blur", "sigma": draw(st.floats(0.05, 64.0))}
        else:
            blur = {"type": "blur", "kernel": _kernel(draw)}
    down: dict[str, Any] | None = None
    if draw(st.booleans()) or blur is None:
        down = {
            "type": "downsample",
            "factor": draw(st.integers(2, 16)),
            "kernel": draw(st.sampled_from(KERNELS)),
        }
    steps = [s for s in (blur, down) if s is not None]
    if draw(st.booleans()):
        steps.append({"type": "noise", "sigma": draw(st.floats(0.0, 0.2))})
    return steps[0] if len(steps) == 1 else {"steps": steps}


@settings(max_examples=300)  # cheap, and the geometry has many corner cases
@given(degradations(), st.one_of(st.none(), st.integers(0, 32)), st.integers(2, 16))
def test_support_radius_and_margin_are_the_operators(
    spec: dict[str, Any], margin: int | None, patch_size: int
) -> None:
    options = AuditOptions(degradation=spec, inherent_margin=margin, patch_size=patch_size)
    assert options.degradation is not None
    operator = linear_operator(parse_degradation(options.degradation))
    assert support_radius(parse_degradation(options.degradation)) == operator.support_radius()
    known = KnownDegradation.from_options(options)
    assert known is not None
    assert inherent_margin(options) == known.margin(options)


def test_no_degradation_has_no_margin_nor_windows() -> None:
    assert inherent_margin(AuditOptions()) is None
    assert window_geometry(AuditOptions()) is None


SMALL_SPECS = [
    {"type": "downsample", "factor": 2},
    {"type": "downsample", "factor": 3},
    {"type": "downsample", "factor": 4},
    {"type": "downsample", "factor": 2, "kernel": "area"},
    {"type": "downsample", "factor": 3, "kernel": "area"},
    {"type": "downsample", "factor": 2, "kernel": "gaussian"},
    {"type": "downsample", "factor": 3, "kernel": "gaussian"},
    {"type": "blur", "sigma": 0.7},
    {"type": "blur", "sigma": 1.3},
    {"type": "blur", "kernel": [[0, 0.2, 0], [0.2, 0.2, 0.2], [0, 0.2, 0]]},
    {"type": "blur", "kernel": [[0, 0, 0, 0, 0], [0, 0.5, 0.5, 0, 0], [0, 0, 0, 0, 0]]},
    {"steps": [{"type": "blur", "sigma": 0.6}, {"type": "downsample", "factor": 2}]},
    {
        "steps": [
            {"type": "blur", "kernel": [[0, 0, 0], [0.5, 0.5, 0], [0, 0, 0]]},
            {"type": "downsample", "factor": 2, "kernel": "area"},
        ]
    },
    {"steps": [{"type": "downsample", "factor": 2}, {"type": "noise", "sigma": 0.1}]},
]


@pytest.mark.parametrize("spec", SMALL_SPECS)
@pytest.mark.parametrize("margin", [None, 2, 5])
@pytest.mark.parametrize("color", ["y", "rgb"])
def test_window_geometry_counts_the_operators_observations(
    spec: dict[str, Any], margin: int | None, color: str
) -> None:
    options = AuditOptions(degradation=spec, patch_size=4, inherent_margin=margin, color=color)
    geometry = window_geometry(options)
    assert geometry is not None
    operator = linear_operator(parse_degradation(options.degradation))
    channels = 3 if color == "rgb" else 1
    matrices = inherent.window_matrices(operator, geometry.window, channels)
    assert geometry.phases == len(matrices) == operator.factor**2
    assert geometry.total_observations == sum(m.shape[0] for m in matrices)
    assert geometry.squared_observations == sum(m.shape[0] ** 2 for m in matrices)
    assert geometry.matrix_bytes == sum(m.numel() * m.element_size() for m in matrices)
    for row in range(operator.factor):
        for col in range(operator.factor):
            rows = operator.matrix_for_window(geometry.window, (row, col)).shape[0]
            assert geometry.observations((row, col)) == rows


def test_issue_window_of_a_16x_downsampling_is_104_px() -> None:
    options = AuditOptions(color="rgb", degradation={"type": "downsample", "factor": 16})
    geometry = window_geometry(options)
    assert geometry is not None
    assert (geometry.margin, geometry.window, geometry.window_dimension) == (48, 104, 32448)


def test_engine_constants_are_mirrored() -> None:
    assert PRIOR_PIXEL_BUDGET == engine_degradation._PRIOR_PIXEL_BUDGET
    assert PRIOR_SUM_BYTES == engine_degradation._PRIOR_SUM_BYTES
    default = inspect.signature(inherent.window_stride).parameters["max_windows"].default
    assert default == MAX_PRIOR_WINDOWS
    for images, side, window in ((1, 128, 104), (4, 256, 32), (7, 1024, 32), (40, 2048, 24)):
        shape = (images, 1, side, side)
        assert _prior_stride(images, side, side, window) == inherent.window_stride(shape, window)


@pytest.mark.integration  # starts a process
def test_the_model_imports_no_torch() -> None:
    code = "import sys, api_schemas.cost; print('torch' in sys.modules or 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- estimates ---------------------------------------------------------------------------------


def _pairs(n: int, side: int, channels: int = 3) -> list[PairShape]:
    return [PairShape(side, side, channels, part=f"ground_truth[{i}]") for i in range(n)]


def test_estimate_grows_with_batch_pixels_resamples_and_colour() -> None:
    base = estimate_job(_pairs(8, 1024), AuditOptions(), batch_size=2)
    assert estimate_job(_pairs(8, 1024), AuditOptions(), batch_size=8).peak_bytes > base.peak_bytes
    assert estimate_job(_pairs(8, 2048), AuditOptions(), batch_size=2).peak_bytes > base.peak_bytes
    rgb = estimate_job(_pairs(8, 1024), AuditOptions(color="rgb"), batch_size=2)
    assert rgb.peak_bytes > base.peak_bytes
    many = AuditOptions(color="rgb", bootstrap={"resamples": 2000})
    assert estimate_job(_pairs(8, 1024), many, batch_size=2).peak_bytes > rgb.peak_bytes
    assert base.seconds > 0
    assert set(base.components) == {
        "base",
        "resident",
        "batch",
        "summary",
        "prior_build",
        "prior_fit",
    }


def test_estimate_refuses_no_pairs_and_a_zero_batch() -> None:
    with pytest.raises(ValueError, match="at least one pair"):
        estimate_job([], AuditOptions())
    with pytest.raises(ValueError, match="batch_size"):
        estimate_job(_pairs(1, 64), AuditOptions(), batch_size=0)


def test_issue_job_of_sixteen_6000px_float_pairs_runs_in_smaller_batches() -> None:
    # Issue #11 item 2a: 16 pairs of 6000 x 6000 float TIFFs grew a worker to 21 GB at the
    # worker's 16 pairs per batch; within 12 GiB the model runs them a few at a time.
    pairs = _pairs(16, 6000, channels=1)
    whole = estimate_job(pairs, AuditOptions(), batch_size=16)
    assert whole.peak_bytes > 16 * GIB
    fitted = estimate_job(pairs, AuditOptions(), batch_size=16, budget=12 * GIB)
    assert fitted.peak_bytes <= 12 * GIB
    assert 1 <= fitted.batch_size < 16
    assert fitted.batch_size == pairs_per_batch(12 * GIB, 6000, 6000, 1, group_pairs=16)
    assert over_budget(pairs, AuditOptions(), 12 * GIB) is None


@pytest.mark.parametrize("side", [64, 512, 2048, 6000])
@pytest.mark.parametrize("budget", [1 * GIB, 4 * GIB, DEFAULT_MAX_JOB_MEMORY_BYTES])
def test_pairs_per_batch_is_the_most_that_fits(side: int, budget: int) -> None:
    batch = pairs_per_batch(budget, side, side, 3, max_batch=64, group_pairs=64)
    assert 1 <= batch <= 64
    pairs = _pairs(64, side)
    at = estimate_job(pairs, AuditOptions(), batch_size=batch)
    if batch < 64:
        over = estimate_job(pairs, AuditOptions(), batch_size=batch + 1)
        assert over.peak_bytes > budget
    if batch > 1:
        assert at.peak_bytes <= budget


def test_pairs_per_batch_falls_with_pixels_and_costly_options() -> None:
    sides = [pairs_per_batch(8 * GIB, side, side, 3, max_batch=256) for side in (256, 1024, 4096)]
    assert sides == sorted(sides, reverse=True)
    assert sides[0] > sides[-1]
    rgb = AuditOptions(color="rgb")
    assert pairs_per_batch(8 * GIB, 4096, 4096, 3, rgb) <= sides[-1]
    assert pairs_per_batch(1, 256, 256, 3) == 1  # nothing fits: one pair, the check refuses


def test_issue_4096_rgb_pair_runs_in_bands_within_a_budget_that_refused_it() -> None:
    # Issue 15 item 2: one 4096 x 4096 RGB pair, colour statistics. Untiled its batch's
    # spectra alone need more than a 4 GiB budget; the model plans the patch statistics in
    # row bands (docs/theory.md 3.3: exact) and the banded estimate is within the budget.
    pair = [PairShape(4096, 4096, 3)]
    options = AuditOptions(color="rgb")
    untiled = estimate_job(pair, options)
    assert untiled.peak_bytes > 8 * GIB
    assert untiled.patch_memory_bytes is None
    assert untiled.band_rows is None
    planned = estimate_job(pair, options, budget=4 * GIB)
    assert planned.batch_size == 1
    assert planned.peak_bytes <= 4 * GIB
    assert planned.patch_memory_bytes is not None
    assert planned.band_rows is not None
    assert MIN_BAND_ROWS <= planned.band_rows < 4096 - 8 + 1
    # The engine's rule, under the planned budget, picks the very band the model counted
    # (error, truth and restored of the one pair: three images).
    engine = patch_band_rows(3, 3, 4096, 4096, 8, planned.patch_memory_bytes)
    assert engine == planned.band_rows
    assert over_budget(pair, options, 4 * GIB) is None


def test_no_bands_when_the_untiled_job_fits() -> None:
    fits = estimate_job(_pairs(16, 256), AuditOptions(color="rgb"), budget=4 * GIB)
    assert fits.patch_memory_bytes is None
    assert fits.band_rows is None
    # Fewer pairs per batch come first: 2048 px pairs run fewer at a time, untiled.
    fewer = estimate_job(_pairs(4, 2048), AuditOptions(color="rgb"), budget=4 * GIB)
    assert fewer.batch_size < 16
    assert fewer.patch_memory_bytes is None


def test_a_tighter_budget_plans_thinner_bands() -> None:
    pair, options = [PairShape(4096, 4096, 3)], AuditOptions(color="rgb")
    rows = []
    for budget in (4 * GIB, 4.5 * GIB, 5 * GIB, 6 * GIB):
        planned = estimate_job(pair, options, budget=int(budget))
        assert planned.peak_bytes <= budget
        rows.append(planned.band_rows)
    assert rows == sorted(rows)  # type: ignore[type-var]
    assert rows[0] < rows[-1]


def test_refused_even_in_the_thinnest_bands_says_the_rest_is_not_tiled() -> None:
    # Bands bound only the patch statistics: the per-pixel buffers of a batch still grow
    # with the image, so a budget below them is refused, naming what is not tiled.
    pair = [PairShape(4096, 4096, 3, part="ground_truth[0]")]
    over = over_budget(pair, AuditOptions(color="rgb"), int(2.5 * GIB))
    assert over is not None
    assert over.estimate.band_rows == MIN_BAND_ROWS
    assert over.estimate.patch_memory_bytes is not None
    assert "row bands" in over.detail
    assert "not tiled" in over.detail
    pixels = over_budget(pair, AuditOptions(), 1 * GIB)
    assert pixels is not None
    assert pixels.status == 413
    assert "row bands" in pixels.errors[0][1]


def test_strides_above_one_are_never_banded() -> None:
    # The engine bands only the stride-1 lag sums (other strides unfold in chunks of images).
    options = AuditOptions(color="rgb", patch_stride=2)
    planned = estimate_job([PairShape(4096, 4096, 3)], options, budget=4 * GIB)
    assert planned.patch_memory_bytes is None
    assert planned.band_rows is None


# -- who is to blame ---------------------------------------------------------------------------


def test_issue_options_alone_are_a_422_naming_the_degradation() -> None:
    # Issue #11 item 2b: 16x downsampling in RGB on one 128 px pair.
    options = AuditOptions(color="rgb", degradation={"type": "downsample", "factor": 16})
    over = over_budget(_pairs(1, 128), options, 12 * GIB)
    assert over is not None
    assert over.status == 422
    assert over.part == "options.degradation"
    assert over.estimate.peak_bytes > 12 * GIB
    problem = over.problem("/v1/jobs")
    assert problem.type.endswith("/resources")
    assert problem.status == 422
    assert problem.estimated_memory_bytes == over.estimate.peak_bytes
    assert problem.memory_limit_bytes == 12 * GIB
    assert problem.errors is not None
    assert problem.errors[0].part == "options.degradation"
    assert "12.0 GiB" in problem.errors[0].message


def test_a_costly_option_is_named_by_its_path() -> None:
    options = AuditOptions(color="rgb", patch_size=16, bootstrap={"resamples": 5000})
    over = over_budget(_pairs(4, 256), options, 12 * GIB)
    assert over is not None
    assert over.status == 422
    parts = [part for part, _ in over.errors]
    assert set(parts) <= {"options.color", "options.patch_size", "options.bootstrap.resamples"}
    assert parts


def test_pixels_too_many_even_with_defaults_are_a_413_naming_the_largest_pair() -> None:
    pairs = [*_pairs(2, 256), PairShape(6000, 6000, 3, part="ground_truth[2]")]
    over = over_budget(pairs, AuditOptions(color="rgb"), 1 * GIB)
    assert over is not None
    assert over.status == 413
    assert over.part == "ground_truth[2]"
    assert "6000x6000" in over.errors[0][1]


def test_a_job_within_the_budget_passes() -> None:
    assert over_budget(_pairs(16, 256), AuditOptions(), DEFAULT_MAX_JOB_MEMORY_BYTES) is None
    blur = AuditOptions(degradation={"type": "blur", "sigma": 1.0})
    assert over_budget(_pairs(4, 512), blur, DEFAULT_MAX_JOB_MEMORY_BYTES) is None


def test_a_wide_blur_is_refused_before_its_basis_is_built() -> None:
    options = AuditOptions(degradation={"type": "blur", "sigma": 64.0})
    over = over_budget(_pairs(1, 256), options, DEFAULT_MAX_JOB_MEMORY_BYTES)
    assert over is not None
    assert over.part == "options.degradation"
    assert over.estimate.largest == "prior_build"


@pytest.mark.parametrize("factor", [2, 4])
def test_degradation_geometry_matches_torch_shapes_for_rgb_kron(factor: int) -> None:
    options = AuditOptions(
        color="rgb", patch_size=4, degradation={"type": "downsample", "factor": factor}
    )
    geometry = window_geometry(options)
    assert geometry is not None
    operator = linear_operator(parse_degradation(options.degradation))
    stacked = torch.cat(inherent.window_matrices(operator, geometry.window, 3))
    assert tuple(stacked.shape) == (geometry.total_observations, geometry.window_dimension)


def test_fast_fft_size_is_the_next_5_smooth_number() -> None:
    # Brute force from the definition: the 5-smooth numbers up to 7000, by construction.
    smooth = sorted(
        2**a * 3**b * 5**c
        for a in range(13)
        for b in range(9)
        for c in range(6)
        if 2**a * 3**b * 5**c <= 7000
    )
    for n in (1, 7, 97, 263, 1031, 2055, 6007):
        assert fast_fft_size(n) == next(s for s in smooth if s >= n)
