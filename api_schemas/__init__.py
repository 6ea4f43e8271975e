"""Wire models of restoration-audit: the single source of the HTTP and report contracts.

No FastAPI, Celery or torch imports here: the API image and the workers both depend on it.
"""

from api_schemas.jobs import (
    FINISHED_STATES,
    JOB_STATES,
    JobCreateOptions,
    JobLinks,
    JobList,
    JobManifest,
    JobProgress,
    JobRead,
    JobState,
    ManifestPair,
    PairSpec,
)
from api_schemas.options import AuditOptions, BootstrapOptions, RiskThresholds
from api_schemas.presets import ColorMode
from api_schemas.problems import PROBLEM_MEDIA_TYPE, Problem, ProblemError
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
    "FINISHED_STATES",
    "JOB_STATES",
    "PROBLEM_MEDIA_TYPE",
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
    "JobCreateOptions",
    "JobLinks",
    "JobList",
    "JobManifest",
    "JobProgress",
    "JobRead",
    "JobState",
    "ManifestPair",
    "PairConsistency",
    "PairDistortion",
    "PairHallucination",
    "PairPerception",
    "PairReport",
    "PairSpec",
    "PairUncertainty",
    "Problem",
    "ProblemError",
    "ReportSettings",
    "RiskThresholds",
    "Verdict",
]
