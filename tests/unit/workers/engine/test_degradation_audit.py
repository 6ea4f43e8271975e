"""Degradation-aware audits end to end (docs/theory.md 3.6, 3.7): exact Gaussian restorers.

For a stationary Gaussian source under 4x bicubic downsampling the posterior mean and a
posterior sample are computable exactly, so the theory fixes where they must land: the
posterior mean at uncertainty ratio 1, a posterior sampler at 2, both on the bound.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from api_schemas import AuditOptions, AuditReport
from tests.support.gaussian_source import gaussian_super_resolution
from tests.support.sample_pairs import crops, to_tensor
from workers.engine import ArtifactWriter, PairSource, run_audit
from workers.errors import AuditInputError

OPTIONS = AuditOptions(
    degradation={"type": "downsample", "factor": 4, "kernel": "bicubic"},
    crop_border=16,  # the posterior mean is less certain within a kernel's reach of the edge
    bootstrap={"resamples": 200},
)


@pytest.fixture(scope="module")
def gaussian_report() -> AuditReport:
    src = gaussian_super_resolution(n_images=8, seed=0)
    if not (float(src.sample.min()) >= 0 and float(src.sample.max()) <= 1):
        pytest.fail("the Gaussian source left [0, 1]; pick another seed")
    pairs = []
    for name, restored in (("posterior_mean", src.estimate), ("posterior_sample", src.sample)):
        for i in range(src.truth.shape[0]):
            pairs.append(
                PairSource(
                    f"{name}/{i}",
                    name,
                    src.truth[i].float(),
                    restored[i].float().clamp(0, 1),
                    src.observation[i].float(),
                )
            )
    return run_audit(pairs, OPTIONS, device="cpu")


def test_posterior_mean_sits_at_ratio_one_on_the_bound(gaussian_report: AuditReport) -> None:
    mean = gaussian_report.groups[0]
    assert mean.name == "posterior_mean"
    assert mean.inherent_uncertainty is not None
    assert mean.uncertainty_ratio is not None
    assert mean.uncertainty_ratio.value == pytest.approx(1.0, rel=0.05)
    assert mean.up_region == "on_bound"
    assert mean.inherent_uncertainty_margin == 12
    # Revision 2: the best restorer there is must not be called risky.
    assert mean.risk.level == "low"


def test_posterior_sampler_sits_at_ratio_two_on_the_bound(gaussian_report: AuditReport) -> None:
    sampler = gaussian_report.groups[1]
    assert sampler.uncertainty_ratio is not None
    assert sampler.uncertainty_ratio.value == pytest.approx(2.0, rel=0.05)
    assert sampler.up_region == "on_bound"
    # Perfect perception: the oracle's ratio at the sampler's marginal P is close to 2.
    assert sampler.uncertainty_floor_ratio is not None
    assert sampler.uncertainty_floor_ratio.value is not None
    assert sampler.uncertainty_floor_ratio.value > 1.8
    # One output per input: no conditional index, so no eta.
    assert sampler.min_uncertainty_multiplier is None
    assert sampler.risk.level == "high"


def test_samples_invent_detail_and_the_mean_does_not(gaussian_report: AuditReport) -> None:
    mean, sampler = gaussian_report.groups
    mean_idr = mean.hallucination.invented_detail_ratio.value
    sample_idr = sampler.hallucination.invented_detail_ratio.value
    assert mean_idr is not None
    assert sample_idr is not None
    assert sample_idr > 3 * mean_idr


def test_both_are_consistent_with_the_observation(gaussian_report: AuditReport) -> None:
    noise = 1 / (12 * 255**2)
    for pair in gaussian_report.pairs:
        assert pair.consistency is not None
        # E|Hx - y|^2 = s^2 for the truth; both restorers agree with y to that level.
        assert pair.consistency.measurement_residual < 3 * noise, pair.id


def test_maps_and_plots_are_written_for_known_degradations(tmp_path) -> None:
    photo = crops(1, 96, seed=4)[0]
    low = Image.fromarray(photo).resize((24, 24), Image.Resampling.BICUBIC)
    up = np.asarray(low.resize((96, 96), Image.Resampling.BICUBIC))
    pairs = [
        PairSource("p", "bicubic", to_tensor(photo), to_tensor(up), to_tensor(np.asarray(low)))
    ]
    written: dict[str, bytes] = {}
    report = run_audit(
        pairs,
        OPTIONS.model_copy(update={"crop_border": None}),
        artifacts=ArtifactWriter(write=written.__setitem__, url_for=lambda n: f"maps/{n}"),
    )
    assert set(report.pairs[0].hallucination.maps) == {
        "invented_detail",
        "error",
        "null_space",
        "measurement",
    }
    assert set(report.plots) == {"up_plane", "dp_plane"}
    assert all(data.startswith(b"\x89PNG") for data in written.values())
    assert report.settings.crop_border == 4  # the factor, by default
    assert any("Gaussian model" in w for w in report.warnings)


def test_observation_of_the_wrong_size_names_the_part() -> None:
    image = torch.rand(1, 64, 64)
    pair = PairSource("a", "g", image, image, torch.rand(1, 20, 20))
    with pytest.raises(AuditInputError, match=r"observation\[a\].*16x16"):
        run_audit([pair], OPTIONS)


def test_maps_put_invented_detail_where_it_was_added() -> None:
    """Real photographs: bicubic 4x upscaling, with noise injected in one quadrant and an
    unsharp mask in another; the invented-detail map is highest where noise was added."""
    from PIL import ImageFilter

    rng = np.random.default_rng(0)
    for photo in crops(3, 128, seed=11):
        low = Image.fromarray(photo).resize((32, 32), Image.Resampling.BICUBIC)
        up = low.resize((128, 128), Image.Resampling.BICUBIC)
        restored = np.asarray(up).astype(np.float64)
        sharp = np.asarray(up.filter(ImageFilter.UnsharpMask(radius=2, percent=200)))
        restored[64:, 64:] = sharp[64:, 64:]
        restored[:64, :64] += rng.normal(0, 12.0, restored[:64, :64].shape)
        restored = np.clip(np.rint(restored), 0, 255).astype(np.uint8)
        written: dict[str, bytes] = {}
        report = run_audit(
            [PairSource("p", "g", to_tensor(photo), to_tensor(restored))],
            OPTIONS.model_copy(update={"crop_border": 0}),
            artifacts=ArtifactWriter(write=written.__setitem__, url_for=lambda n: n),
        )
        assert report.pairs[0].hallucination.maps["invented_detail"] in written
        # Recompute the map as the engine does to read its values (the PNG is a rendering).
        from workers.engine.accumulate import StatisticSettings, batch_statistics

        settings = StatisticSettings("y", 0, 8, 1, 2.0, 8.0, 16)
        stats = batch_statistics(
            to_tensor(photo)[None],
            to_tensor(restored)[None],
            [0],
            settings,
            torch.Generator().manual_seed(0),
            with_maps=True,
        )
        heat = stats.maps["invented_detail"][0, 0].numpy()
        quadrants = {
            "noise": heat[8:56, 8:56].mean(),
            "plain": heat[8:56, 72:120].mean(),
            "sharpened": heat[72:120, 72:120].mean(),
        }
        assert quadrants["noise"] > 3 * quadrants["plain"], quadrants
        assert quadrants["noise"] > 2 * quadrants["sharpened"], quadrants


def test_maps_can_be_turned_off() -> None:
    image = to_tensor(crops(1, 64, seed=2)[0])
    written: dict[str, bytes] = {}
    report = run_audit(
        [PairSource("p", "g", image, image.flip(-1))],
        AuditOptions(maps=False),
        artifacts=ArtifactWriter(write=written.__setitem__, url_for=lambda n: n),
    )
    assert written == {}
    assert report.plots == {}
    assert report.pairs[0].hallucination.maps == {}
