"""Job records (Redis) and the payload store (a directory): the state shared by API and workers.

Depends on redis-py, the standard library and ``api_schemas`` only, so that both the API image
and the workers import it without FastAPI or Celery. ``AUDIT_TASK`` and ``AUDIT_QUEUE`` let the
service send the audit task by name without importing the workers.
"""

from jobstore.errors import (
    InvalidArtifactNameError,
    InvalidJobIdError,
    InvalidPageTokenError,
    JobAlreadyFinishedError,
    JobExistsError,
    JobNotFoundError,
    JobRunningError,
    JobStoreError,
    StorageQuotaExceededError,
    TooManyJobsError,
)
from jobstore.idempotency import IdempotencyKeys, Reservation, ReservationState
from jobstore.ids import is_valid_job_id, new_job_id, validate_job_id
from jobstore.payloads import PayloadStore
from jobstore.records import JobRecord, JobRecords

AUDIT_TASK = "audit.run"
"""Name of the Celery task that audits one job; its only argument is the job id."""
AUDIT_QUEUE = "audit"
"""Queue the audit task is sent to."""

dispatch_name = AUDIT_TASK

__all__ = [
    "AUDIT_QUEUE",
    "AUDIT_TASK",
    "IdempotencyKeys",
    "InvalidArtifactNameError",
    "InvalidJobIdError",
    "InvalidPageTokenError",
    "JobAlreadyFinishedError",
    "JobExistsError",
    "JobNotFoundError",
    "JobRecord",
    "JobRecords",
    "JobRunningError",
    "JobStoreError",
    "PayloadStore",
    "Reservation",
    "ReservationState",
    "StorageQuotaExceededError",
    "TooManyJobsError",
    "dispatch_name",
    "is_valid_job_id",
    "new_job_id",
    "validate_job_id",
]
