"""The audit engine: runs the estimator library over pairs and builds the AuditReport."""

from workers.engine.audit import engine_version, resolve_device, run_audit
from workers.engine.sources import ArtifactWriter, PairSource

__all__ = ["ArtifactWriter", "PairSource", "engine_version", "resolve_device", "run_audit"]
