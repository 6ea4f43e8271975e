"""The comparison of two reports as one self-contained HTML page (``compare --html`` and
``GET /v1/jobs/{id}/comparison.html``)."""

from __future__ import annotations

from dataclasses import dataclass

from api_schemas.comparison import COMPARED_METRICS, Comparison
from api_schemas.report import AuditReport
from reporting.html import (
    CONTENT_SECURITY_POLICY,
    ReportImages,
    map_thumbnail,
    restored_thumbnail,
    template_environment,
)

TEMPLATE = "comparison.html.j2"
_MAP_KIND = "invented_detail"


@dataclass(frozen=True)
class SideImages:
    """One side of the comparison: its report (map links, crop) and where its files are."""

    report: AuditReport
    images: ReportImages


@dataclass(frozen=True)
class Thumbnails:
    """A changed pair's pictures on one side; ``None`` where the file is gone or was never
    written (the page then says so)."""

    restored: str | None
    detail_map: str | None


def _side_thumbnails(side: SideImages, group: str, pair_id: str) -> Thumbnails:
    pair = next((p for p in side.report.pairs if p.group == group and p.id == pair_id), None)
    if pair is None:
        return Thumbnails(None, None)
    restored = side.images.restored(pair.id)
    link = pair.hallucination.maps.get(_MAP_KIND)
    detail = side.images.artifact(link) if link else None
    crop = side.report.settings.crop_border
    return Thumbnails(
        None if restored is None else restored_thumbnail(restored),
        None if detail is None else map_thumbnail(detail, pair, crop),
    )


def render_comparison_html(
    comparison: Comparison,
    *,
    heading: str = "Run comparison",
    baseline: SideImages | None = None,
    candidate: SideImages | None = None,
) -> str:
    """The page: the decision and its rule, per restorer the metric table with intervals and
    the pairs that changed most, baseline and candidate side by side: their values, and with
    ``baseline``/``candidate`` given their restored images and invented-detail maps too."""
    pictures: dict[tuple[str, str], tuple[Thumbnails, Thumbnails]] = {}
    if baseline is not None and candidate is not None:
        for group in comparison.groups:
            for change in group.changed_most:
                pictures[group.candidate_group, change.id] = (
                    _side_thumbnails(baseline, group.baseline_group, change.id),
                    _side_thumbnails(candidate, group.candidate_group, change.id),
                )
    template = template_environment().get_template(TEMPLATE)
    return template.render(
        heading=heading,
        comparison=comparison,
        metrics=COMPARED_METRICS,
        level_percent=round(comparison.rule.level * 100),
        pictures=pictures,
        csp=CONTENT_SECURITY_POLICY,
    )
