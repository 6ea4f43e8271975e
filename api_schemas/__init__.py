"""Wire models of restoration-audit: the single source of the HTTP and report contracts.

No FastAPI, Celery or torch imports here: the API image and the workers both depend on it.
The package exports the job models and the report's root; the report's parts are in
:mod:`api_schemas.report`.
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
from api_schemas.report import SCHEMA_VERSION, AuditReport

__all__ = [
    "FINISHED_STATES",
    "JOB_STATES",
    "PROBLEM_MEDIA_TYPE",
    "SCHEMA_VERSION",
    "AuditOptions",
    "AuditReport",
    "BootstrapOptions",
    "ColorMode",
    "JobCreateOptions",
    "JobLinks",
    "JobList",
    "JobManifest",
    "JobProgress",
    "JobRead",
    "JobState",
    "ManifestPair",
    "PairSpec",
    "Problem",
    "ProblemError",
    "RiskThresholds",
]
