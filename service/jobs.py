"""Operations on existing jobs, in domain terms: list, cancel, delete, report, artifacts.

Translates the job store's errors into the service's ``DomainError``s, so routes stay thin.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pydantic import ValidationError

import jobstore
from api_schemas.jobs import JobList, JobState
from api_schemas.problems import ProblemError
from api_schemas.report import AuditReport
from jobstore import JobRecord
from jobstore.callbacks import CallbackQueue
from reporting.html import ReportImages, render_report_html, renderer_fingerprint
from service.errors import (
    ArtifactNotFoundError,
    InvalidPageTokenError,
    JobAlreadyFinishedError,
    JobHasNoReportError,
    JobNotFinishedError,
    JobNotFoundError,
    JobRunningError,
    ReportNotFoundError,
    ReportNotRenderableError,
)
from service.resources import Resources


@dataclass(frozen=True)
class ReportPage:
    """The HTML report of a job: its entity tag now, the page itself only when asked for
    (thumbnails cost decoding, which a ``304`` answer skips)."""

    etag: str
    render: Callable[[], str]


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
            record = self.r.records.request_cancel(job.id)
        except jobstore.JobNotFoundError as exc:
            raise JobNotFoundError(f"no job {job.id!r}") from exc
        except jobstore.JobAlreadyFinishedError as exc:
            raise JobAlreadyFinishedError(f"job {job.id} {job.state}; nothing to cancel") from exc
        if record.finished and record.callback is not None:
            # A queued job is cancelled here, not by a worker: its webhook goes out now
            # rather than at the deliverers' next poll.
            CallbackQueue(self.r.redis, prefix=self.r.settings.redis_prefix).wake(job.id)
        return record

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

    def artifact_url(self, job: JobRecord, name: str) -> str | None:
        """A presigned URL of the artifact in object storage (``RA_STORAGE_PRESIGN``), or
        ``None``: serve it with :meth:`artifact` (a missing artifact is that method's 404)."""
        return self.r.payloads.presigned_url(job.id, name)

    def artifact(self, job: JobRecord, name: str) -> BinaryIO:
        """An artifact of the job, opened: it reads whole even if the job is deleted while
        it is being sent. A job deleted before it opens has no artifact (404)."""
        file = self.r.payloads.open_artifact(job.id, name)
        if file is None:
            message = f"job {job.id} has no artifact {name[:80]!r}"
            raise ArtifactNotFoundError(
                message, errors=[ProblemError(part="name", message=message)]
            )
        return file

    def report_page(self, job: JobRecord) -> ReportPage:
        """The HTML report of a succeeded job; the same errors as ``report``."""
        data = self.report(job)
        payloads = self.r.payloads
        thumbnails = self.r.settings.html_thumbnails
        try:
            manifest = payloads.read_manifest(job.id)
        except (jobstore.JobNotFoundError, ValueError, OSError):
            manifest = None  # inputs expired or unreadable: the page says so per pair
        restored = (
            {}
            if manifest is None
            else {p.id: payloads.input_dir(job.id) / p.restored for p in manifest.pairs}
        )
        # The page is a function of these and nothing else, so they make a strong tag that
        # a 304 can answer without rendering (a stat per pair, no decoding).
        present = "".join("1" if path.is_file() else "0" for path in restored.values())
        digest = hashlib.sha256(data)
        digest.update(f"|{renderer_fingerprint()}|{thumbnails}|{present}".encode())
        etag = f'"{digest.hexdigest()[:32]}"'

        def restored_path(pair_id: str) -> Path | None:
            path = restored.get(pair_id)
            return path if path is not None and path.is_file() else None

        def artifact_path(link: str) -> Path | None:
            # Links are ``.../v1/jobs/<id>/artifacts/<name>``; the store validates the name.
            return payloads.artifact_path(job.id, link.rsplit("/", 1)[-1])

        def render() -> str:
            try:
                report = AuditReport.model_validate_json(data)
            except ValidationError as exc:
                raise ReportNotRenderableError(
                    f"the stored report of job {job.id} does not match this service's schema; "
                    f"GET /v1/jobs/{job.id}/report serves it as stored"
                ) from exc
            return render_report_html(
                report,
                ReportImages(artifact=artifact_path, restored=restored_path),
                heading="Restoration audit report",
                context=[
                    ("job", job.id),
                    ("finished", f"{job.finished_at:%Y-%m-%d %H:%M:%S} UTC")
                    if job.finished_at
                    else ("finished", "–"),
                ],
                thumbnails=thumbnails,
            )

        return ReportPage(etag, render)
