"""Wire models of restoration-audit: the single source of the HTTP and report contracts.

No FastAPI, Celery or torch imports here: the API image and the workers both depend on it.
"""

from api_schemas.options import AuditOptions, BootstrapOptions, ColorMode, RiskThresholds
from api_schemas.report import (
    SCHEMA_VERSION,
    AuditReport,
    EngineInfo,
    Estimate,
    GroupDistortion,
    GroupHallucination,
    GroupPerception,
    GroupReport,
    GroupUncertainty,
    PairConsistency,
    PairDistortion,
    PairHallucination,
    PairPerception,
    PairReport,
    PairUncertainty,
    ReportSettings,
    Verdict,
)

__all__ = [
    "SCHEMA_VERSION",
    "AuditOptions",
    "AuditReport",
    "BootstrapOptions",
    "ColorMode",
    "EngineInfo",
    "Estimate",
    "GroupDistortion",
    "GroupHallucination",
    "GroupPerception",
    "GroupReport",
    "GroupUncertainty",
    "PairConsistency",
    "PairDistortion",
    "PairHallucination",
    "PairPerception",
    "PairReport",
    "PairUncertainty",
    "ReportSettings",
    "RiskThresholds",
    "Verdict",
]
