"""Errors of the job store: one small hierarchy, translated to HTTP by ``service.errors``."""

from __future__ import annotations


class JobStoreError(Exception):
    """Base of every error the job store raises on purpose."""


class InvalidJobIdError(JobStoreError, ValueError):
    """A job id that the server could not have generated (``uuid4().hex`` expected)."""


class JobNotFoundError(JobStoreError, LookupError):
    """No record for this job id (never created, deleted or expired)."""


class JobExistsError(JobStoreError):
    """A record with this job id exists already."""


class JobAlreadyFinishedError(JobStoreError):
    """The job reached succeeded, failed or cancelled; it can no longer be cancelled."""


class JobRunningError(JobStoreError):
    """The job is running; it cannot be deleted until it stops."""


class TooManyJobsError(JobStoreError):
    """The tenant has as many unfinished jobs as it may have."""

    def __init__(self, tenant: str, limit: int) -> None:
        super().__init__(f"tenant {tenant!r} has {limit} unfinished jobs, the most it may have")
        self.tenant = tenant
        self.limit = limit


class InvalidPageTokenError(JobStoreError, ValueError):
    """A page token this store did not issue, or issued for another listing."""


class InvalidArtifactNameError(JobStoreError, ValueError):
    """An artifact or input file name outside ``[A-Za-z0-9._-]+`` or with a traversal."""


class StorageQuotaExceededError(JobStoreError):
    """The tenant's jobs store so many bytes that this job would take it over its quota."""

    def __init__(self, tenant: str, usage: int, quota: int, job_bytes: int) -> None:
        super().__init__(
            f"tenant {tenant!r} stores {usage} bytes of its {quota}; a job of {job_bytes} more "
            "does not fit"
        )
        self.tenant = tenant
        self.usage = usage
        self.quota = quota
        self.job_bytes = job_bytes


class StoreUnavailableError(JobStoreError):
    """The payload store (an object store) did not answer: a transient fault. Nothing was
    changed by the failed call; the API answers 503 with ``Retry-After``, the worker retries
    the job later (its record stays)."""
