"""Per-image results as CSV: one row per pair of a report, in stable columns.

The command line (``audit --csv FILE``) and the API (``GET /v1/jobs/{id}/pairs.csv``) both
write this table, so a spreadsheet or a pandas script reads the same file from either.
Columns are only ever appended to, never renamed or reordered (``PAIRS_CSV_COLUMNS``).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from typing import Final

from api_schemas.report import AuditReport, PairReport

MEDIA_TYPE: Final = "text/csv; charset=utf-8"


def _number(value: float | None) -> str:
    """``repr``-exact floats (a round trip through ``float()`` gives the report's value back);
    empty where the report has ``null``."""
    if value is None:
        return ""
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(float(value))


def _psnr(pair: PairReport) -> str:
    # The report writes PSNR as null when the MSE is 0 (JSON has no infinity); a table can.
    psnr = pair.distortion.psnr
    return "inf" if psnr is None and pair.distortion.mse == 0 else _number(psnr)


_CELLS: Final[tuple[tuple[str, Callable[[PairReport], str]], ...]] = (
    ("id", lambda p: p.id),
    ("group", lambda p: p.group),
    ("width", lambda p: str(p.width)),
    ("height", lambda p: str(p.height)),
    ("mse", lambda p: _number(p.distortion.mse)),
    ("psnr", _psnr),
    ("ssim", lambda p: _number(p.distortion.ssim)),
    ("uncertainty_gaussian", lambda p: _number(p.uncertainty.gaussian)),
    ("perception_gaussian_renyi", lambda p: _number(p.perception.gaussian_renyi)),
    ("invented_detail_ratio", lambda p: _number(p.hallucination.invented_detail_ratio)),
    (
        "measurement_residual",
        lambda p: "" if p.consistency is None else _number(p.consistency.measurement_residual),
    ),
    ("risk_level", lambda p: p.risk.level),
    ("risk_reasons", lambda p: " | ".join(p.risk.reasons)),
    ("warnings", lambda p: " | ".join(p.warnings)),
)

PAIRS_CSV_COLUMNS: Final = tuple(name for name, _ in _CELLS)
"""The header row. Reasons and warnings are joined by `` | ``; PSNR is ``inf`` for identical
images; an empty cell is a value the report leaves ``null``."""


def pairs_csv(report: AuditReport) -> str:
    """The report's pairs as CSV text (RFC 4180: CRLF line ends, quoted where needed).

    >>> from api_schemas.report import AuditReport
    >>> pairs_csv(AuditReport.model_construct(pairs=[])).splitlines()[0].split(",")[:3]
    ['id', 'group', 'width']
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(PAIRS_CSV_COLUMNS)
    for pair in report.pairs:
        writer.writerow([cell(pair) for _, cell in _CELLS])
    return out.getvalue()
