"""The comparison of two reports as one self-contained HTML page (``compare --html``)."""

from __future__ import annotations

from api_schemas.comparison import COMPARED_METRICS, Comparison
from reporting.html import CONTENT_SECURITY_POLICY, template_environment

TEMPLATE = "comparison.html.j2"


def render_comparison_html(comparison: Comparison, *, heading: str = "Run comparison") -> str:
    """The page: the decision and its rule, per restorer the metric table with intervals and
    the pairs that changed most, baseline and candidate side by side."""
    template = template_environment().get_template(TEMPLATE)
    return template.render(
        heading=heading,
        comparison=comparison,
        metrics=COMPARED_METRICS,
        level_percent=round(comparison.rule.level * 100),
        csp=CONTENT_SECURITY_POLICY,
    )
