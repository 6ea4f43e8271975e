"""Errors of the audit engine and image loading, translated once at each boundary.

The CLI turns them into one line and an exit code; the Celery task records them as the job's
problem. Estimator-level problems (`workers.estimators.errors.EstimatorInputError`) are wrapped
into `AuditInputError` by the engine, naming the pair.
"""

from __future__ import annotations


class AuditError(Exception):
    """Base class of the engine's errors."""


class AuditInputError(AuditError, ValueError):
    """The caller's input cannot be audited; ``part`` names the offending file or pair."""

    def __init__(self, message: str, *, part: str | None = None) -> None:
        super().__init__(f"{part}: {message}" if part else message)
        self.part = part
        self.reason = message


class ImageDecodeError(AuditInputError):
    """A file is not a decodable image of a supported kind (corrupt, truncated, bomb, ...)."""


class AuditCancelledError(AuditError):
    """The audit was cancelled between batches."""
