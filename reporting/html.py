"""The HTML report: one self-contained page rendered from an ``AuditReport``.

Served by ``GET /v1/jobs/{id}/report.html`` and written by ``restoration-audit audit --html``.
The page loads nothing: its CSS is inline, its images are ``data:`` URIs (the job's plots, and
small thumbnails of the riskiest pairs' restored images and invented-detail maps), and it has
no script. It declares a Content-Security-Policy of ``default-src 'none'`` so that a browser
would refuse any fetch or script even if one slipped in.

Imports Jinja2, Pillow and the wire models only: the API image has no torch and the service
never imports ``workers`` (the CLI imports this module instead). Everything that comes from
users (restorer names, pair ids, warnings, reasons) reaches the page through Jinja's
autoescaping, never through ``Markup``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.resources
import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import jinja2
import numpy as np
import PIL
from PIL import Image, ImageOps

from api_schemas.report import RISK_RANK, AuditReport, Estimate, GroupReport, PairReport, RiskLevel

TEMPLATE: Final = "report.html.j2"
DEFAULT_THUMBNAILS: Final = 12
"""Pairs shown with thumbnails (the riskiest first); the others are table rows only."""
THUMBNAIL_SIDE: Final = 160
"""Longest side of a thumbnail, in pixels."""
THUMBNAIL_QUALITY: Final = 85
MAP_TITLE_HEIGHT: Final = 20
MAP_PANEL_WIDTH: Final = 96
"""Layout of the heat-map PNGs of ``workers/render.py`` (title band above, colour-bar panel at
the right): the thumbnail shows the map itself, the page draws one shared legend. Copied, not
imported (the service never imports ``workers``); a test checks that they agree."""
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'"
)
"""Declared by the page in a ``<meta>`` element, so it holds wherever the file is opened; the
route sends it as a header too, with ``frame-ancestors`` (which browsers ignore in ``<meta>``
and report as a console error)."""
_RENDERER_VERSION: Final = "2"
"""Bump when the page changes in a way the template's bytes do not show (the ETag uses it)."""

_UP_REGION_TEXT: Final = {
    "below_bound": (
        "below the Gaussian-oracle frontier (more certain than the best Gaussian restorer at "
        "this perception: usual for a good non-linear restorer on photographs)"
    ),
    "on_bound": "on the Gaussian-oracle frontier (as good as a Gaussian oracle at this perception)",
    "above_bound": "above the Gaussian-oracle frontier (room to lower the uncertainty)",
}
_MAP_KIND: Final = "invented_detail"


@dataclass(frozen=True)
class ReportImages:
    """Where the page finds the files a report refers to; ``None`` means gone.

    ``artifact`` maps a link of the report (``plots``, ``pairs[].hallucination.maps``) to its
    PNG file; ``restored`` maps a pair id to its restored image. The service resolves them in
    the payload store, the CLI on disk. Inputs expire with their job, so either may answer
    ``None``; the page then shows a note instead of the image.
    """

    artifact: Callable[[str], Path | None]
    restored: Callable[[str], Path | None]


NO_IMAGES: Final = ReportImages(artifact=lambda _: None, restored=lambda _: None)


# -- view models: what the template shows, formatted --------------------------------------------


@dataclass(frozen=True)
class EstimateRow:
    """One quantity of a restorer: value, interval and provenance, formatted."""

    section: str
    label: str
    value: str
    interval: str = ""
    estimator: str = ""
    n: str = ""


@dataclass(frozen=True)
class SampleMapView:
    """The per-pixel standard-deviation map of one input of a stochastic restorer."""

    pair_id: str
    risk: RiskLevel
    map_uri: str | None


@dataclass(frozen=True)
class RestorerView:
    group: GroupReport
    rows: list[EstimateRow]
    up_region: str
    sample_maps: list[SampleMapView] = field(default_factory=list)


@dataclass(frozen=True)
class PlotView:
    title: str
    caption: str
    data_uri: str | None
    note: str


@dataclass(frozen=True)
class PairView:
    rank: int
    pair: PairReport
    restored_uri: str | None = None
    map_uri: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RiskCount:
    level: RiskLevel
    count: int
    percent: float


# -- formatting -------------------------------------------------------------------------------


def format_number(value: float | None, digits: int = 4) -> str:
    """``digits`` significant digits, an en dash for undefined values.

    >>> format_number(0.000591234), format_number(None), format_number(28.987, 3)
    ('0.0005912', '–', '29')
    """
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}g}"


def _interval(estimate: Estimate, digits: int = 4) -> str:
    if estimate.ci_low is None or estimate.ci_high is None:
        return ""
    return f"[{format_number(estimate.ci_low, digits)}, {format_number(estimate.ci_high, digits)}]"


def _estimate_row(section: str, label: str, estimate: Estimate, digits: int = 4) -> EstimateRow:
    return EstimateRow(
        section,
        label,
        format_number(estimate.value, digits),
        _interval(estimate, digits),
        estimate.estimator,
        str(estimate.n),
    )


def _restorer_rows(group: GroupReport) -> list[EstimateRow]:
    distortion, uncertainty, perception = group.distortion, group.uncertainty, group.perception
    rows = [
        _estimate_row("Distortion", "MSE", distortion.mse),
        _estimate_row("Distortion", "PSNR (dB)", distortion.psnr),
        _estimate_row("Distortion", "SSIM", distortion.ssim),
        _estimate_row("Uncertainty", "N(X̂−X), Gaussian bound", uncertainty.gaussian),
        _estimate_row("Uncertainty", "N(X̂−X), nearest neighbours", uncertainty.knn),
        _estimate_row("Perception", "Rényi divergence P, Gaussian", perception.gaussian_renyi),
        _estimate_row("Perception", "Rényi divergence P, nearest neighbours", perception.knn_renyi),
        EstimateRow("Perception", "P / d", format_number(perception.per_dimension)),
    ]
    if group.min_uncertainty_multiplier is not None:
        rows.append(
            EstimateRow(
                "Bound", "η(P_cond; d), conditional least uncertainty multiplier",
                format_number(group.min_uncertainty_multiplier),
            )
        )  # fmt: skip
    if group.inherent_uncertainty is not None:
        margin = group.inherent_uncertainty_margin
        rows += [
            EstimateRow(
                "Bound",
                "N(X|Y), inherent uncertainty",
                format_number(group.inherent_uncertainty),
                estimator="gaussian_posterior" + (f" (margin {margin} px)" if margin else ""),
            ),
            EstimateRow(
                "Bound",
                "N(X|Y) per phase (the paper's, at a known position)",
                format_number(group.inherent_uncertainty_per_phase),
            ),
        ]
        if group.uncertainty_ratio is not None:
            rows.append(_estimate_row("Bound", "U / N(X|Y)", group.uncertainty_ratio))
        if group.uncertainty_floor_ratio is not None:
            rows.append(
                _estimate_row(
                    "Bound", "Gaussian-oracle ratio r_oracle(P)", group.uncertainty_floor_ratio
                )
            )
        rows.append(
            EstimateRow("Bound", "P_min for this U / N", format_number(group.min_perception_index))
        )
    rows.append(
        _estimate_row(
            "Hallucination", "invented-detail ratio", group.hallucination.invented_detail_ratio
        )
    )
    return rows


_SAMPLE_MAPS = 3
"""Standard-deviation maps shown per stochastic restorer: those of its riskiest inputs."""


def _sample_rows(group: GroupReport) -> list[EstimateRow]:
    """The conditional statistics of several outputs per input (docs/theory.md 3.9)."""
    samples = group.samples
    if samples is None:
        return []
    rows = [
        EstimateRow("Samples", "samples per input K", str(samples.per_input)),
        _estimate_row("Samples", "spread N of the within-input covariance", samples.spread),
        _estimate_row(
            "Samples",
            "error-to-spread ratio (2: calibrated posterior sampler)",
            samples.error_to_spread_ratio,
        ),
    ]
    coverage = samples.interval_coverage
    if coverage is not None:
        rows += [
            EstimateRow(
                "Samples",
                f"coverage of the {100 * coverage.level:g} % per-pixel intervals",
                format_number(coverage.coverage, 3),
                estimator="split conformal, evaluation half",
            ),
            EstimateRow(
                "Samples",
                "mean width of the per-pixel intervals",
                format_number(coverage.mean_width),
            ),
        ]
    return rows


def _sample_maps(
    group: GroupReport, pairs: Sequence[PairReport], images: ReportImages, crop: int
) -> list[SampleMapView]:
    """Standard-deviation maps of the riskiest inputs of a stochastic restorer."""
    if group.samples is None:
        return []
    views = []
    for pair in risk_order([p for p in pairs if p.group == group.name]):
        link = pair.hallucination.maps.get("sample_std")
        if link is None:
            continue
        path = images.artifact(link)
        uri = map_thumbnail(path, pair, crop) if path is not None else None
        views.append(SampleMapView(pair.id, pair.risk.level, uri))
        if len(views) == _SAMPLE_MAPS:
            break
    return views


def risk_order(pairs: Sequence[PairReport]) -> list[PairReport]:
    """Pairs from the riskiest: level, then invented-detail ratio (undefined last), then id."""

    def key(pair: PairReport) -> tuple[int, float, str, str]:
        ratio = pair.hallucination.invented_detail_ratio
        return (
            -RISK_RANK[pair.risk.level],
            -ratio if ratio is not None else math.inf,
            pair.group,
            pair.id,
        )

    return sorted(pairs, key=key)


# -- images -----------------------------------------------------------------------------------


def _data_uri(media_type: str, data: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def _open_rgb(path: Path) -> Image.Image:
    """The image as 8-bit RGB, scaled the way the worker decodes it (workers/io.py)."""
    with Image.open(path) as image:
        image.draft("RGB", (THUMBNAIL_SIDE * 2, THUMBNAIL_SIDE * 2))  # JPEG: decode smaller
        oriented = ImageOps.exif_transpose(image)
        if oriented.mode.startswith("I;16") or oriented.mode == "I":
            grey = np.asarray(oriented, dtype=np.float64) / 257.0  # 16-bit: 65535 -> 255
        elif oriented.mode == "F":
            grey = np.asarray(oriented, dtype=np.float64) * 255.0  # float TIFF in [0, 1]
        else:
            return oriented.convert("RGB")
        return Image.fromarray(np.clip(np.rint(grey), 0, 255).astype(np.uint8)).convert("RGB")


def _jpeg_thumbnail(image: Image.Image) -> str:
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=THUMBNAIL_QUALITY, optimize=True)
    return _data_uri("image/jpeg", buffer.getvalue())


_UNREADABLE = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)
"""What Pillow raises for a missing, truncated or hostile file."""


def restored_thumbnail(path: Path) -> str | None:
    """A JPEG ``data:`` URI of the image, at most 160 px a side; ``None`` if unreadable."""
    try:
        return _jpeg_thumbnail(_open_rgb(path))
    except _UNREADABLE:
        return None


def map_thumbnail(path: Path, pair: PairReport, crop_border: int) -> str | None:
    """The heat map without its title band and colour bar, as a thumbnail like the image's."""
    try:
        canvas = _open_rgb(path)
    except _UNREADABLE:
        return None
    width = pair.width - 2 * crop_border
    height = pair.height - 2 * crop_border
    map_width = canvas.width - MAP_PANEL_WIDTH
    if width > 0 and height > 0 and map_width > 0:
        map_height = min(
            max(1, round(map_width * height / width)), canvas.height - MAP_TITLE_HEIGHT
        )
        if map_height > 0:
            canvas = canvas.crop((0, MAP_TITLE_HEIGHT, map_width, MAP_TITLE_HEIGHT + map_height))
    return _jpeg_thumbnail(canvas)


def _plot(
    report: AuditReport, images: ReportImages, key: str, title: str, caption: str
) -> PlotView:
    link = report.plots.get(key)
    if link is None:
        return PlotView(title, caption, None, "not rendered for this audit")
    path = images.artifact(link)
    try:
        data = path.read_bytes() if path is not None else None
    except OSError:
        data = None
    if data is None:
        return PlotView(title, caption, None, "no longer stored")
    return PlotView(title, caption, _data_uri("image/png", data), "")


def _pair_view(
    rank: int, pair: PairReport, images: ReportImages, crop_border: int, with_images: bool
) -> PairView:
    if not with_images:
        return PairView(rank, pair)
    notes = []
    restored_path = images.restored(pair.id)
    restored_uri = restored_thumbnail(restored_path) if restored_path is not None else None
    if restored_uri is None:
        notes.append("restored image no longer stored" if restored_path is None else
                     "restored image unreadable")  # fmt: skip
    map_uri = None
    link = pair.hallucination.maps.get(_MAP_KIND)
    if link is None:
        notes.append("no invented-detail map rendered")
    else:
        map_path = images.artifact(link)
        map_uri = map_thumbnail(map_path, pair, crop_border) if map_path is not None else None
        if map_uri is None:
            notes.append("invented-detail map no longer stored")
    return PairView(rank, pair, restored_uri, map_uri, notes)


# -- the page ---------------------------------------------------------------------------------


@functools.cache
def template_environment() -> jinja2.Environment:
    """The Jinja2 environment of the templates here: autoescaped, strict, with `num`."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("reporting", "templates"),
        autoescape=True,  # every template here is HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["num"] = format_number
    return environment


def _template_source() -> bytes:
    return importlib.resources.files("reporting").joinpath("templates", TEMPLATE).read_bytes()


@functools.cache
def renderer_fingerprint() -> str:
    """Digest of what shapes the page besides its inputs: the template, this renderer's
    version and Pillow's (thumbnail bytes depend on its encoder)."""
    digest = hashlib.sha256(_template_source())
    digest.update(f"{_RENDERER_VERSION}/{PIL.__version__}".encode())
    return digest.hexdigest()[:32]


def _risk_counts(pairs: Sequence[PairReport]) -> list[RiskCount]:
    total = max(1, len(pairs))
    levels: tuple[RiskLevel, ...] = ("high", "medium", "low")
    counts = [sum(1 for p in pairs if p.risk.level == level) for level in levels]
    return [RiskCount(lv, n, 100.0 * n / total) for lv, n in zip(levels, counts, strict=True)]


def render_report_html(
    report: AuditReport,
    images: ReportImages = NO_IMAGES,
    *,
    heading: str = "Restoration audit",
    context: Sequence[tuple[str, str]] = (),
    thumbnails: int = DEFAULT_THUMBNAILS,
) -> str:
    """The report as one self-contained HTML page.

    Args:
        report: the audit report.
        images: where the plots, maps and restored images are; missing ones get a note.
        heading: the page's title (escaped like everything else).
        context: extra ``(label, value)`` lines for the summary, e.g. the job id.
        thumbnails: how many of the riskiest pairs get thumbnails (0: none); every pair
            is a row of the pairs table whatever this is.

    Returns:
        The HTML document.
    """
    if thumbnails < 0:
        raise ValueError(f"expected thumbnails >= 0, got {thumbnails}")
    crop = report.settings.crop_border
    ordered = risk_order(report.pairs)
    pair_views = [
        _pair_view(rank, pair, images, crop, rank <= thumbnails)
        for rank, pair in enumerate(ordered, start=1)
    ]
    restorers = [
        RestorerView(
            g,
            _restorer_rows(g) + _sample_rows(g),
            _UP_REGION_TEXT.get(g.up_region or "", ""),
            _sample_maps(g, report.pairs, images, crop),
        )
        for g in report.groups
    ]
    plots = [
        _plot(
            report, images, "up_plane", "Uncertainty–perception plane",
            "Each restorer at its marginal perception index P and uncertainty N(X̂−X), with "
            "the bootstrap interval. When the degradation is known, the curve is the "
            "Gaussian-oracle frontier r_oracle(P)·N(X|Y); below it a restorer is more certain "
            "than the best Gaussian restorer at that perception (possible on photographs).",
        ),
        _plot(
            report, images, "dp_plane", "Distortion–perception plane",
            "Each restorer at its perception index P and MSE. With a known degradation the "
            "same frontier is drawn: the MSE is never below the uncertainty (Thm 4).",
        ),
    ]  # fmt: skip
    settings = report.settings
    degradation = json.dumps(settings.degradation, sort_keys=True) if settings.degradation else None
    by_rank = sorted((RISK_RANK[g.risk.level], g.risk.level) for g in report.groups)
    worst = by_rank[-1][1] if by_rank else None
    any_maps = any(p.hallucination.maps for p in report.pairs)
    template = template_environment().get_template(TEMPLATE)
    return template.render(
        heading=heading,
        context=list(context),
        report=report,
        settings=settings,
        degradation=degradation,
        restorers=restorers,
        plots=plots,
        any_plots=bool(report.plots),
        any_maps=any_maps,
        pairs=pair_views,
        thumbnails=min(thumbnails, len(pair_views)),
        risk_counts=_risk_counts(report.pairs),
        worst=worst,
        pairs_with_warnings=sum(1 for p in report.pairs if p.warnings),
        level_percent=round(settings.bootstrap.level * 100),
        csp=CONTENT_SECURITY_POLICY,
    )
