"""Operations on existing jobs, in domain terms: list, cancel, delete, report, artifacts.

Translates the job store's errors into the service's ``DomainError``s, so routes stay thin.
"""

from __future__ import annotations

from pathlib import Path

import jobstore
from api_schemas.jobs import JobList, JobState
from api_schemas.problems import ProblemError
from jobstore import JobRecord
from service.errors import (
    ArtifactNotFoundError,
    InvalidPageTokenError,
    JobAlreadyFinishedError,
    JobHasNoReportError,
    JobNotFinishedError,
    JobNotFoundError,
    JobRunningError,
    ReportNotFoundError,
)
from service.resources import Resources


class Jobs:
    """What a tenant can do with its jobs (the job is already checked to be the tenant's)."""

    def __init__(self, resources: Resources) -> None:
        self.r = resources

    def list(
        self, tenant: str, state: JobState | None, page_size: int, page_token: str | None
    ) -> JobList:
        """One page of the tenant's jobs, newest first."""
        try:
            records, token = self.r.records.list(
                tenant, state=state, page_size=page_size, page_token=page_token
            )
        except jobstore.InvalidPageTokenError as exc:
            message = "page_token must be a next_page_token returned by this listing"
            raise InvalidPageTokenError(
                message, errors=[ProblemError(part="page_token", message=message)]
            ) from exc
        url = self.r.settings.jobs_url
        return JobList(items=[rec.to_read(url) for rec in records], next_page_token=token)

    def cancel(self, job: JobRecord) -> JobRecord:
        """Cancel (idempotent); a running job stops at its worker's next check."""
        try:
            return self.r.records.request_cancel(job.id)
        except jobstore.JobNotFoundError as exc:
            raise JobNotFoundError(f"no job {job.id!r}") from exc
        except jobstore.JobAlreadyFinishedError as exc:
            raise JobAlreadyFinishedError(f"job {job.id} {job.state}; nothing to cancel") from exc

    def delete(self, job: JobRecord) -> None:
        """Delete the record, inputs, report and artifacts; refused while running."""
        try:
            self.r.records.delete(job.id)
        except jobstore.JobNotFoundError as exc:
            raise JobNotFoundError(f"no job {job.id!r}") from exc
        except jobstore.JobRunningError as exc:
            raise JobRunningError(
                f"job {job.id} is running; cancel it and delete it once it stops"
            ) from exc
        self.r.payloads.delete(job.id)

    def report(self, job: JobRecord) -> bytes:
        """The report JSON of a succeeded job."""
        if not job.finished:
            raise JobNotFinishedError(
                f"job {job.id} is {job.state}; poll the job until it finishes",
                retry_after=self.r.settings.poll_after_seconds,
            )
        if job.state != "succeeded":
            raise JobHasNoReportError(f"job {job.id} {job.state}; see the job's error")
        data = self.r.payloads.read_report(job.id)
        if data is None:
            raise ReportNotFoundError(f"the report of job {job.id} is no longer stored")
        return data

    def artifact(self, job: JobRecord, name: str) -> Path:
        """Path of an artifact of the job."""
        path = self.r.payloads.artifact_path(job.id, name)
        if path is None:
            message = f"job {job.id} has no artifact {name[:80]!r}"
            raise ArtifactNotFoundError(
                message, errors=[ProblemError(part="name", message=message)]
            )
        return path
