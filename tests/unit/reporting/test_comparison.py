"""Run comparison (docs/theory.md 3.13): the paired-bootstrap interval against SciPy and the
normal closed form, the regression rule, and ``restoration-audit compare`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import stats

from api_schemas import AuditReport
from api_schemas.comparison import Comparison, RegressionRule
from api_schemas.exit_codes import EXIT_INPUT, EXIT_OK, EXIT_REGRESSION, EXIT_USAGE
from cli.main import main
from reporting.comparison import (
    IncomparableReportsError,
    compare_reports,
    paired_bootstrap_interval,
)
from reporting.comparison_html import render_comparison_html
from tests.support.sample_pairs import crops, degrade

# -- the interval -------------------------------------------------------------------------


def test_interval_matches_scipys_percentile_bootstrap() -> None:
    """Same method, independent resamples: the ends agree to a few per cent of the width
    (the Monte Carlo error of a 0.025 quantile from 20 000 resamples is about 1 %)."""
    rng = np.random.default_rng(3)
    d = rng.gamma(2.0, 0.3, size=60) - 0.5  # skewed, so the percentile ends are asymmetric
    low, high = paired_bootstrap_interval(d, resamples=20_000, level=0.95, seed=1)
    peer = stats.bootstrap(
        (d,), np.mean, n_resamples=20_000, confidence_level=0.95, method="percentile",
        random_state=np.random.default_rng(2),
    ).confidence_interval  # fmt: skip
    width = peer.high - peer.low
    assert low == pytest.approx(peer.low, abs=0.04 * width)
    assert high == pytest.approx(peer.high, abs=0.04 * width)


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_interval_matches_scipys_paired_bootstrap_of_two_runs(seed: int) -> None:
    """The same interval as ``scipy.stats.bootstrap`` given both runs with ``paired=True``
    (statistic: mean of candidate minus baseline; percentile method): the pairing the module
    does by differencing first is scipy's resampling of whole pairs. Independent resamples,
    so the ends agree within 5 % of the width at 20 000 resamples."""
    rng = np.random.default_rng(seed)
    baseline = rng.normal(30.0, 2.0, size=40)  # one value per image, shared difficulty
    candidate = baseline + rng.normal(-0.2, 0.3, size=40) + rng.exponential(0.2, size=40)
    low, high = paired_bootstrap_interval(
        candidate - baseline, resamples=20_000, level=0.95, seed=seed
    )
    peer = stats.bootstrap(
        (baseline, candidate), lambda b, c, axis: np.mean(c - b, axis=axis), paired=True,
        vectorized=True, n_resamples=20_000, confidence_level=0.95, method="percentile",
        random_state=np.random.default_rng(seed + 100),
    ).confidence_interval  # fmt: skip
    width = peer.high - peer.low
    assert low == pytest.approx(peer.low, abs=0.05 * width)
    assert high == pytest.approx(peer.high, abs=0.05 * width)


def test_interval_approaches_the_normal_interval_for_many_pairs() -> None:
    """Closed form for large n: mean(d) ± z s/sqrt(n), s the plug-in deviation; within 3 %
    of the half-width at n = 2000."""
    rng = np.random.default_rng(5)
    d = rng.normal(0.2, 1.0, size=2000)
    low, high = paired_bootstrap_interval(d, resamples=20_000, level=0.9, seed=0)
    half = stats.norm.ppf(0.95) * d.std() / np.sqrt(d.size)
    assert low == pytest.approx(d.mean() - half, abs=0.03 * half)
    assert high == pytest.approx(d.mean() + half, abs=0.03 * half)


def test_pairing_makes_the_interval_narrower_than_two_independent_means() -> None:
    rng = np.random.default_rng(7)
    image_difficulty = rng.normal(30.0, 3.0, size=200)  # shared by both runs of one image
    baseline = image_difficulty + rng.normal(0.0, 0.1, size=200)
    candidate = image_difficulty + 0.05 + rng.normal(0.0, 0.1, size=200)
    low, high = paired_bootstrap_interval(candidate - baseline, resamples=4000, level=0.95, seed=0)
    unpaired = 2 * 1.96 * np.sqrt(baseline.var() / 200 + candidate.var() / 200)
    assert (high - low) < unpaired / 10
    assert low > 0.0  # a 0.05 dB gain resolved thanks to the pairing


def test_interval_refuses_no_differences() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        paired_bootstrap_interval([], resamples=100, level=0.9, seed=0)


# -- reports made by the command line --------------------------------------------------------


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three runs of one restorer on the same 8 images: a baseline, a candidate identical to
    it, and a candidate with twice the noise (worse PSNR on every image)."""
    root = tmp_path_factory.mktemp("compare")
    for name in ("gt", "base", "worse"):
        (root / name).mkdir()
    for i, image in enumerate(crops(8, 48, seed=13)):
        Image.fromarray(image).save(root / "gt" / f"im{i}.png")
        Image.fromarray(degrade(image, "noise", seed=i)).save(root / "base" / f"im{i}.png")
        worse = degrade(degrade(image, "noise", seed=i), "noise", seed=100 + i)
        Image.fromarray(worse).save(root / "worse" / f"im{i}.png")
    paths = {}
    for label, folder in (("baseline", "base"), ("same", "base"), ("worse", "worse")):
        paths[label] = root / f"{label}.json"
        code = main(
            [
                "audit",
                "--ground-truth",
                str(root / "gt"),
                "--restored",
                f"model={root / folder}",
                "--bootstrap",
                "20",
                "--quiet",
                "--output",
                str(paths[label]),
                "--maps",
                str(root / f"maps-{label}"),
            ]
        )
        assert code == 0
    return paths


def _load(path: Path) -> AuditReport:
    return AuditReport.model_validate_json(path.read_text())


def test_a_report_against_itself_has_zero_differences_and_no_regression(
    reports: dict[str, Path],
) -> None:
    comparison = compare_reports(_load(reports["baseline"]), _load(reports["same"]))
    (group,) = comparison.groups
    assert group.pairs == 8
    for metric in group.metrics:
        if metric.pairs:
            assert metric.mean_difference == 0.0
            assert (metric.ci_low, metric.ci_high) == (0.0, 0.0)
            assert not metric.regressed
            assert not metric.improved
    assert comparison.regression is False
    assert comparison.reasons == []
    assert not comparison.unmatched_baseline_pairs
    assert not comparison.unmatched_candidate_pairs


def test_a_worse_candidate_regresses_with_the_reports_own_numbers(
    reports: dict[str, Path],
) -> None:
    baseline, worse = _load(reports["baseline"]), _load(reports["worse"])
    comparison = compare_reports(baseline, worse, baseline_name="v1", candidate_name="v2")
    (group,) = comparison.groups
    psnr = next(m for m in group.metrics if m.metric == "psnr")
    before = {p.id: p.distortion.psnr for p in baseline.pairs}
    after = {p.id: p.distortion.psnr for p in worse.pairs}
    expected = np.mean([after[i] - before[i] for i in before])  # type: ignore[operator]
    assert psnr.mean_difference == pytest.approx(expected, rel=1e-12)
    assert psnr.ci_high is not None
    assert psnr.ci_high < 0
    assert psnr.regressed
    assert comparison.regression
    assert any(reason.startswith("model: psnr regressed") for reason in comparison.reasons)
    assert "paired-bootstrap interval" in comparison.rule_statement
    # A margin wider than the loss tolerates it (the rule is configurable).
    lenient = RegressionRule(
        psnr_margin=10.0, ssim_margin=1.0, uncertainty_margin=1.0, perception_margin=1e3,
        invented_detail_margin=1e3, fail_on_risk_increase=False,
    )  # fmt: skip
    assert compare_reports(baseline, worse, lenient).regression is False


def test_pairs_are_matched_by_id_and_the_rest_listed(reports: dict[str, Path]) -> None:
    baseline = _load(reports["baseline"])
    candidate = _load(reports["same"])
    fewer = candidate.model_copy(update={"pairs": candidate.pairs[:5]})
    comparison = compare_reports(baseline, fewer)
    assert comparison.groups[0].pairs == 5
    assert comparison.unmatched_baseline_pairs == [p.id for p in baseline.pairs[5:]]
    renamed = fewer.model_copy(
        update={"groups": [fewer.groups[0].model_copy(update={"name": "model-v2"})],
                "pairs": [p.model_copy(update={"group": "model-v2"}) for p in fewer.pairs]}
    )  # fmt: skip
    # One restorer on each side: compared whatever their names.
    assert compare_reports(baseline, renamed).groups[0].candidate_group == "model-v2"
    strangers = renamed.model_copy(
        update={"pairs": [p.model_copy(update={"id": "x" + p.id}) for p in renamed.pairs]}
    )
    with pytest.raises(IncomparableReportsError, match="no pair id"):
        compare_reports(baseline, strangers)


def test_html_page_states_the_decision_and_lists_the_pairs(reports: dict[str, Path]) -> None:
    comparison = compare_reports(_load(reports["baseline"]), _load(reports["worse"]))
    page = render_comparison_html(comparison)
    assert "Regression" in page
    assert '<tr class="pictures">' not in page  # no images given: values only
    assert page.count('<tr class="pair">') == min(10, comparison.groups[0].pairs)
    assert "<script" not in page
    assert "http://" not in page
    assert "https://" not in page


# -- the command ---------------------------------------------------------------------------


def test_compare_exit_codes(
    reports: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, same, worse = (str(reports[k]) for k in ("baseline", "same", "worse"))
    assert main(["compare", base, same, "--fail-on-regression"]) == EXIT_OK
    assert "decision: no regression" in capsys.readouterr().out
    output = tmp_path / "comparison.json"
    html = tmp_path / "comparison.html"
    code = main(
        ["compare", base, worse, "--fail-on-regression", "-o", str(output), "--html", str(html)]
    )
    assert code == EXIT_REGRESSION
    printed = capsys.readouterr().out
    assert "decision: REGRESSION" in printed
    assert "rule: regression when" in printed
    assert Comparison.model_validate_json(output.read_text()).regression
    page = html.read_text()
    assert "Regression" in page
    # The changed pairs side by side with their invented-detail maps (the reports link the
    # maps --maps wrote; the command line has no restored images to show).
    assert page.count('<tr class="pictures">') == 8
    assert page.count("data:image/jpeg;base64,") == 2 * 8
    assert page.count("restored image not stored") == 2 * 8
    # Without --fail-on-regression the gate reports but passes.
    assert main(["compare", base, worse, "--quiet"]) == EXIT_OK
    # A margin that tolerates the loss, stated on the command line.
    tolerant = ["--margin", "psnr=20", "--margin", "ssim=1", "--margin", "uncertainty=1",
                "--margin", "perception=1000", "--margin", "invented_detail=1000",
                "--ignore-risk-increase"]  # fmt: skip
    assert main(["compare", base, worse, "--fail-on-regression", "--quiet", *tolerant]) == 0


def test_compare_usage_and_input_errors(
    reports: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = str(reports["baseline"])
    assert main(["compare", base, base, "--margin", "sharpness=1"]) == EXIT_USAGE
    assert "--margin" in capsys.readouterr().err
    assert main(["compare", base, base, "--level", "1.5"]) == EXIT_USAGE
    assert main(["compare", base, str(tmp_path / "missing.json")]) == EXIT_INPUT
    assert "cannot read" in capsys.readouterr().err
    other = tmp_path / "v1.json"
    other.write_text(json.dumps({"schema_version": "1", "groups": [], "pairs": []}))
    assert main(["compare", base, str(other)]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert "not an audit report of this version" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("setting", "value"),
    [("color", "rgb"), ("crop_border", 4), ("patch_size", 16), ("renyi_order", 2.0)],
)
def test_reports_measured_under_other_settings_are_incomparable(
    reports: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    setting: str,
    value: object,
) -> None:
    # A convention change (e.g. basicsr-y against RGB) must not read as a model's regression.
    baseline = _load(reports["baseline"])
    other = baseline.model_copy(
        update={"settings": baseline.settings.model_copy(update={setting: value})}
    )
    with pytest.raises(IncomparableReportsError, match=f"different settings.*{setting}"):
        compare_reports(baseline, other)
    path = tmp_path / "other.json"
    path.write_text(other.model_dump_json())
    assert main(["compare", str(reports["baseline"]), str(path)]) == EXIT_INPUT
    assert f"{setting}" in capsys.readouterr().err
    # Settings that change only group intervals do not block a comparison.
    resamples = baseline.settings.bootstrap.resamples + 7
    bootstrap = baseline.settings.bootstrap.model_copy(update={"resamples": resamples})
    tolerant = baseline.model_copy(
        update={"settings": baseline.settings.model_copy(update={"bootstrap": bootstrap})}
    )
    assert compare_reports(baseline, tolerant).regression is False
