"""The HTML report renderer on real audits: sections, escaping, no external resource, notes
for what is missing, thumbnails."""

from __future__ import annotations

import base64
import io
import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch
from markupsafe import escape
from PIL import Image

from api_schemas.options import AuditOptions
from api_schemas.report import AuditReport
from reporting import html as report_html
from reporting.html import (
    NO_IMAGES,
    ReportImages,
    map_thumbnail,
    render_report_html,
    restored_thumbnail,
    risk_order,
)
from tests.support.report_demo import (
    DEGRADATION,
    RESTORERS,
    SECTIONS,
    demo_images,
    write_demo_folders,
)
from tests.support.sample_pairs import crops
from workers import render
from workers.engine import ArtifactWriter, PairSource, run_audit

REPO = Path(__file__).resolve().parents[3]
FAST = {"bootstrap": {"resamples": 20}, "knn_samples": 200}
HOSTILE_GROUP = '<script>alert("group")</script>'
HOSTILE_PAIR = '"><img src=x onerror=alert(1)>'
HOSTILE_WARNING = "<b onmouseover=alert(2)>warning</b>"


class _Elements(HTMLParser):
    """Every start tag and its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def elements(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(page)
    return parser.tags


def data_uris(page: str, media_type: str) -> list[bytes]:
    prefix = f"data:{media_type};base64,"
    return [
        base64.b64decode(attrs["src"][len(prefix) :])
        for tag, attrs in elements(page)
        if tag == "img" and (attrs.get("src") or "").startswith(prefix)
    ]


def audit(root: Path, options: dict[str, object]) -> tuple[AuditReport, ReportImages]:
    """A real audit of 2 photographs x 3 restorers, maps under ``root/maps``."""
    folders = write_demo_folders(root, demo_images(count=2, size=48))
    pairs = [
        PairSource(
            f"{restorer}/{path.stem}",
            restorer,
            folders["gt"] / path.name,
            path,
            folders["lr"] / path.name,
        )
        for restorer in RESTORERS
        for path in sorted(folders[restorer].iterdir())
    ]
    maps = root / "maps"
    maps.mkdir()
    writer = ArtifactWriter(
        write=lambda name, data: (maps / name).write_bytes(data), url_for=lambda n: str(maps / n)
    )
    report = run_audit(
        pairs,
        AuditOptions.model_validate({**FAST, "degradation": DEGRADATION, **options}),
        device="cpu",
        artifacts=writer,
        batch_size=6,
    )
    by_id = {p.id: Path(p.restored) for p in pairs}  # type: ignore[arg-type]
    images = ReportImages(
        artifact=lambda link: Path(link) if Path(link).is_file() else None,
        restored=lambda pair_id: by_id.get(pair_id),
    )
    return report, images


@pytest.fixture(scope="module")
def audited(tmp_path_factory) -> tuple[AuditReport, ReportImages]:
    return audit(tmp_path_factory.mktemp("audit"), {})


@pytest.fixture(scope="module")
def audited_without_maps(tmp_path_factory) -> tuple[AuditReport, ReportImages]:
    return audit(tmp_path_factory.mktemp("audit-no-maps"), {"maps": False})


def test_page_has_every_section_restorer_and_pair(audited):
    report, images = audited
    page = render_report_html(report, images, context=[("job", "abc123")])
    headings = re.findall(r"<h2>([^<]+)</h2>", page)
    assert headings == list(SECTIONS)
    for group in report.groups:
        assert f"<h3>{group.name}</h3>" in page
        assert f"{group.risk.level} risk" in page
        for reason in group.risk.reasons:
            assert escape(reason) in page
    for pair in report.pairs:
        assert f'<td class="name">{pair.id}</td>' in page
    assert "abc123" in page
    # Estimates with their bootstrap intervals, the bound, and the prose of docs/theory.md.
    mse = report.groups[0].distortion.mse
    assert f"[{mse.ci_low:.4g}, {mse.ci_high:.4g}]" in page
    assert "N(X|Y), inherent uncertainty" in page
    for words in ("entropy power", "Rényi divergence", "η(P; d) = 1 + exp(−2 arccosh(exp(P/d)))",
                  "perfect perception costs at least twice the inherent uncertainty"):  # fmt: skip
        assert words in page
    assert page.count('<tr class="risk-') >= len(report.groups) + len(report.pairs)


def test_pairs_are_listed_riskiest_first(audited):
    report, images = audited
    page = render_report_html(report, images)
    table = page[page.index('id="pair-table"') :]
    listed = re.findall(r'<td class="name">([^<]+)</td>', table)
    assert listed == [p.id for p in risk_order(report.pairs)]
    rank = {"high": 2, "medium": 1, "low": 0}
    levels = [rank[p.risk.level] for p in risk_order(report.pairs)]
    assert levels == sorted(levels, reverse=True)
    assert {p.risk.level for p in report.pairs} >= {"low", "high"}, "the demo spans risk levels"


def test_hostile_names_are_escaped(audited):
    report, _ = audited
    data = report.model_dump(mode="json")
    data["groups"][0]["name"] = HOSTILE_GROUP
    data["groups"][0]["risk"]["reasons"].append(HOSTILE_WARNING)
    for pair in data["pairs"]:
        if pair["group"] == report.groups[0].name:
            pair["group"] = HOSTILE_GROUP
    data["pairs"][0]["id"] = HOSTILE_PAIR
    data["pairs"][0]["warnings"] = [HOSTILE_WARNING]
    data["warnings"].append(HOSTILE_WARNING)
    hostile = AuditReport.model_validate(data)
    page = render_report_html(hostile, NO_IMAGES, heading=HOSTILE_GROUP)
    for text in (HOSTILE_GROUP, HOSTILE_PAIR, HOSTILE_WARNING):
        assert text not in page
        assert escape(text) in page
    assert "<script" not in page
    assert not [attrs for _, attrs in elements(page) if any(k.startswith("on") for k in attrs)]


def test_page_loads_nothing_from_outside(audited):
    report, images = audited
    page = render_report_html(report, images)
    assert "http://" not in page
    assert "https://" not in page
    assert "<script" not in page
    assert "<link" not in page
    assert "@import" not in page
    assert "url(" not in page
    tags = elements(page)
    for tag, attrs in tags:
        if "src" in attrs:
            assert (attrs["src"] or "").startswith("data:image/"), (tag, attrs["src"][:40])
        if "href" in attrs:
            assert (attrs["href"] or "").startswith("#"), (tag, attrs["href"])
    csp = [a["content"] for t, a in tags if t == "meta" and a.get("http-equiv")]
    assert csp == [report_html.CONTENT_SECURITY_POLICY]
    assert "default-src 'none'" in report_html.CONTENT_SECURITY_POLICY


def test_plots_maps_and_thumbnails_are_embedded(audited):
    report, images = audited
    page = render_report_html(report, images, thumbnails=4)
    plots = data_uris(page, "image/png")
    assert len(plots) == 2
    for plot in plots:
        assert Image.open(io.BytesIO(plot)).size == (640, 480)
    thumbnails = data_uris(page, "image/jpeg")
    assert len(thumbnails) == 2 * 4  # restored image and map of the 4 riskiest pairs
    for thumbnail in thumbnails:
        image = Image.open(io.BytesIO(thumbnail))
        assert image.format == "JPEG"
        assert 0 < max(image.size) <= report_html.THUMBNAIL_SIDE
    assert page.count('<article class="pair ') == 4
    assert "not rendered" not in page
    assert "no longer stored" not in page


def test_thumbnail_count_bounds_the_page(audited):
    report, images = audited
    none = render_report_html(report, images, thumbnails=0)
    assert '<article class="pair ' not in none
    assert data_uris(none, "image/jpeg") == []
    table = none[none.index('id="pair-table"') :]
    assert table.count('<td class="name">') == len(report.pairs)
    every = render_report_html(report, images, thumbnails=100)
    assert every.count('<article class="pair ') == len(report.pairs)
    with pytest.raises(ValueError, match="thumbnails"):
        render_report_html(report, images, thumbnails=-1)


def test_without_maps_the_page_says_they_were_not_rendered(audited_without_maps):
    report, images = audited_without_maps
    assert report.plots == {}
    assert all(p.hallucination.maps == {} for p in report.pairs)
    page = render_report_html(report, images)
    assert "Plots and heat maps were not rendered for this audit" in page
    assert "Heat maps were not rendered for this audit" in page
    assert data_uris(page, "image/png") == []
    assert len(data_uris(page, "image/jpeg")) == len(report.pairs)  # restored images only


def test_missing_inputs_and_artifacts_get_notes_not_errors(audited, tmp_path):
    report, _ = audited
    page = render_report_html(report, NO_IMAGES)
    assert "restored image no longer stored" in page
    assert "invented-detail map no longer stored" in page
    assert "Uncertainty–perception plane: no longer stored" in page
    assert "<img" not in page
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    unreadable = ReportImages(artifact=lambda _: broken, restored=lambda _: broken)
    page = render_report_html(report, unreadable)
    assert "restored image unreadable" in page
    assert "Uncertainty–perception plane: no longer stored" not in page  # the bytes are there


def test_thumbnails_scale_16_bit_and_float_images_like_the_worker(tmp_path):
    ramp = np.tile(np.linspace(0.0, 1.0, 400), (200, 1))  # black at the left, white right
    sixteen = tmp_path / "sixteen.png"
    Image.fromarray(np.rint(ramp * 65535).astype(np.uint16)).save(sixteen)
    floating = tmp_path / "float.tiff"
    Image.fromarray(ramp.astype(np.float32), mode="F").save(floating)
    for path in (sixteen, floating):
        uri = restored_thumbnail(path)
        assert uri is not None
        image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
        assert image.size == (160, 80)
        grey = np.asarray(image.convert("L"), dtype=np.float64)
        assert grey[:, :8].mean() < 12
        assert grey[:, -8:].mean() > 243
    assert restored_thumbnail(tmp_path / "gone.png") is None


def test_map_thumbnail_keeps_the_map_and_drops_title_and_colour_bar(audited):
    report, images = audited
    pair = report.pairs[0]
    path = images.artifact(pair.hallucination.maps["invented_detail"])
    assert path is not None
    with Image.open(path) as canvas:
        canvas_width = canvas.width
    uri = map_thumbnail(path, pair, report.settings.crop_border)
    assert uri is not None
    thumbnail = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    side = pair.width - 2 * report.settings.crop_border
    assert canvas_width == side + render.PANEL_WIDTH
    assert thumbnail.size == (side, side)  # square crop of the map alone (under 160 px)


def test_map_layout_agrees_with_the_heat_map_renderer():
    # The service cannot import workers/render.py, so it copies the two constants.
    assert report_html.MAP_TITLE_HEIGHT == render.TITLE_HEIGHT
    assert report_html.MAP_PANEL_WIDTH == render.PANEL_WIDTH


def test_template_ships_as_package_data():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["reporting"]
    shipped = [p for pattern in patterns for p in (REPO / "reporting").glob(pattern)]
    assert REPO / "reporting" / "templates" / report_html.TEMPLATE in shipped
    assert len(report_html.renderer_fingerprint()) == 32


def test_a_stochastic_restorer_gets_its_samples_section_with_std_maps(tmp_path):
    # Three noisy samples per input of a smooth restorer: the page shows K, the
    # error-to-spread ratio and the coverage, and the standard-deviation maps of the inputs.
    rng = np.random.default_rng(0)
    pairs = []
    for i, crop in enumerate(crops(4, 96, seed=1)):
        truth = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1).float() / 255
        for k in range(3):
            noisy = (truth + 0.03 * torch.from_numpy(rng.standard_normal(truth.shape))).clamp(0, 1)
            pairs.append(
                PairSource(
                    f"img{i}-{k}", "sampler", truth, noisy.float(), input=f"img{i}", sample=k
                )
            )
    maps = tmp_path / "maps"
    maps.mkdir()
    writer = ArtifactWriter(
        write=lambda name, data: (maps / name).write_bytes(data), url_for=lambda n: str(maps / n)
    )
    report = run_audit(pairs, AuditOptions.model_validate(FAST), device="cpu", artifacts=writer)
    images_at = ReportImages(
        artifact=lambda link: Path(link) if Path(link).is_file() else None,
        restored=lambda _: None,
    )
    page = render_report_html(report, images_at)
    samples = report.groups[0].samples
    assert samples is not None
    assert "Several samples per input" in page
    assert "error-to-spread ratio (2: calibrated posterior sampler)" in page
    assert "samples per input K" in page
    assert page.count('alt="standard-deviation map of') == 3
    assert f"{samples.error_to_spread_ratio.value:.3g}" in page
