"""Job records (Redis) and the payload store (a directory, or S3-compatible object storage:
``jobstore.objectstore``): the state shared by API and workers.

Depends on redis-py, boto3 (object storage), the standard library and ``api_schemas`` only,
so that both the API image and the workers import it without FastAPI or Celery. The task and
queue names are in ``api_schemas.tasks``.
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
    StoreUnavailableError,
    TooManyJobsError,
)
from jobstore.idempotency import IdempotencyKeys, Reservation, ReservationState
from jobstore.ids import is_valid_job_id, new_job_id, validate_job_id
from jobstore.payloads import PayloadStore
from jobstore.records import JobRecord, JobRecords

__all__ = [
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
    "StoreUnavailableError",
    "TooManyJobsError",
    "is_valid_job_id",
    "new_job_id",
    "validate_job_id",
]
