"""Operations on existing jobs, in domain terms: list, cancel, delete, report, artifacts.

Translates the job store's errors into the service's ``DomainError``s, so routes stay thin.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from pydantic import ValidationError

import jobstore
from api_schemas.jobs import JobList, JobState
from api_schemas.problems import ProblemError
from api_schemas.report import AuditReport, GroundTruthFreeReport
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
    ReportNeedsGroundTruthError,
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

    def stored_report(self, job: JobRecord) -> AuditReport:
        """The report of a succeeded job as this service's model, for the views derived from
        it (page, CSV, comparison); the same errors as ``report``, and a 409 when it was
        written under another report schema or without ground truth (the JSON is still
        served as stored)."""
        data = self.report(job)
        _require_ground_truth(job, data)
        return _parse_report(job, data)

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

    def page_images(self, job: JobRecord) -> ReportImages:
        """Where a page finds the job's stored restored images and artifacts."""
        return self._images(job, self._restored_paths(job))

    def _restored_paths(self, job: JobRecord) -> dict[str, Path]:
        """Each pair's stored restored image; none when the inputs expired or are unreadable
        (the pages then say so per pair)."""
        payloads = self.r.payloads
        try:
            manifest = payloads.read_manifest(job.id)
        except (jobstore.JobNotFoundError, ValueError, OSError):
            return {}
        return {p.id: payloads.input_dir(job.id) / p.restored for p in manifest.pairs}

    def _images(self, job: JobRecord, restored: dict[str, Path]) -> ReportImages:
        payloads = self.r.payloads

        def restored_path(pair_id: str) -> Path | None:
            path = restored.get(pair_id)
            return path if path is not None and path.is_file() else None

        def artifact_path(link: str) -> Path | None:
            # Links are ``.../v1/jobs/<id>/artifacts/<name>``; the store validates the name.
            return payloads.artifact_path(job.id, link.rsplit("/", 1)[-1])

        return ReportImages(artifact=artifact_path, restored=restored_path)

    def report_page(self, job: JobRecord) -> ReportPage:
        """The HTML report of a succeeded job; the same errors as ``stored_report``."""
        data = self.report(job)
        _require_ground_truth(job, data)
        thumbnails = self.r.settings.html_thumbnails
        restored = self._restored_paths(job)
        # The page is a function of these and nothing else, so they make a strong tag that
        # a 304 can answer without rendering (a stat per pair, no decoding).
        present = "".join("1" if path.is_file() else "0" for path in restored.values())
        digest = hashlib.sha256(data)
        digest.update(f"|{renderer_fingerprint()}|{thumbnails}|{present}".encode())
        etag = f'"{digest.hexdigest()[:32]}"'

        def render() -> str:
            report = _parse_report(job, data)
            return render_report_html(
                report,
                self._images(job, restored),
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


GROUND_TRUTH_FREE_MODE = GroundTruthFreeReport.model_fields["mode"].default


def _require_ground_truth(job: JobRecord, data: bytes) -> None:
    """Refuse a view made of per-pair errors and verdicts for a report that has none (409)."""
    try:
        mode = json.loads(data).get("mode")
    except (ValueError, AttributeError):
        return  # not a JSON object: _parse_report says the report cannot be rendered
    if mode == GROUND_TRUTH_FREE_MODE:
        raise ReportNeedsGroundTruthError(
            f"job {job.id} is a ground-truth-free audit (docs/theory.md 3.9): it measured the "
            "samples' spread and measurement residual but no error, so it has no per-pair "
            f"table, page or comparison; GET /v1/jobs/{job.id}/report serves its report, "
            "whose maps are artifacts of the job"
        )


def _parse_report(job: JobRecord, data: bytes) -> AuditReport:
    """A stored report as this service's model; written under another report schema (an
    older or newer release) it is a 409: the JSON is still served as stored."""
    try:
        return AuditReport.model_validate_json(data)
    except ValidationError as exc:
        raise ReportNotRenderableError(
            f"the stored report of job {job.id} does not match this service's schema; "
            f"GET /v1/jobs/{job.id}/report serves it as stored"
        ) from exc
