"""Self-checks (docs/theory.md §3.12) as a kind of job: accept, read, and answer them.

A self-check is a job of kind ``selfcheck`` in the same job store, so it has every guarantee
of a job without new machinery: the tenant's in-flight limit and storage quota, the lease and
its sweeper (a killed worker's self-check is requeued), cancel, DELETE and expiry. The broker
carries its id only, to the same task as an audit (``audit.run``), which reads the record's
kind and runs ``workers.selfcheck.run_selfcheck`` (the command line's implementation) on a
worker, never in the API process. Its request (``selfcheck.json``) and optional ground truths
live in the payload store like a job's inputs; the worker writes the result beside them.

Order of work in :meth:`SelfChecks.submit`, as for a batch (``service.submission``): the
request (cheap, no I/O), then the disk and quota, an in-flight slot, the ground truths'
headers, the cost model, the store, the record, the task; whatever fails undoes what was done.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import BinaryIO, Final

from pydantic import ValidationError

import jobstore
from api_schemas.cost import (
    OverBudget,
    PairShape,
    format_bytes,
    over_budget,
)
from api_schemas.degradation import parse_degradation, super_resolution_factor
from api_schemas.images import Geometry, PairGeometry, audit_problems
from api_schemas.problems import Problem, ProblemError
from api_schemas.selfcheck import (
    MIN_SIZE,
    RESTORERS_AUDITED,
    SelfCheckCreate,
    SelfCheckLinks,
    SelfCheckManifest,
    SelfCheckRead,
    SelfCheckResult,
    synthesis_bytes,
)
from jobstore import JobRecord
from jobstore import StorageQuotaExceededError as StoreQuotaExceededError
from jobstore import TooManyJobsError as StoreTooManyJobsError
from observability.logs import bind
from service.budget import JobOverBudgetError
from service.dispatch import DispatchError
from service.errors import (
    DomainError,
    InvalidSubmissionError,
    JobNotFoundError,
    ServiceUnavailableError,
    validation_errors,
)
from service.images import ImageHeader, InvalidImageError, inspect_image
from service.submission import (
    BROKER_RETRY_AFTER,
    QUEUE_FULL_RETRY_AFTER,
    STORAGE_RETRY_AFTER,
    Submissions,
    _parts_bytes,
)

logger = logging.getLogger(__name__)

SELFCHECK_PARTS: Final = frozenset({"ground_truth", "options"})
_RESTORERS: Final = ("posterior_mean", "posterior_sampler", "half_spread")
_NOT_ACCEPTED: Final = "the self-check was not accepted"


class SelfCheckOverBudgetError(JobOverBudgetError):
    """A self-check whose synthesis would not fit a worker's memory budget: the job's
    ``resources`` problem (422), its estimate the synthesis's rather than the audit's."""

    def __init__(self, detail: str, errors: list[ProblemError], need: int, limit: int) -> None:
        DomainError.__init__(self, detail, errors=errors)
        self.need, self.limit = need, limit

    def problem(self, instance: str | None = None) -> Problem:
        """The ``resources`` problem, with ``estimated_memory_bytes`` and ``memory_limit_bytes``
        as a job's."""
        # The plain document of a domain error (not the job's, which reads an OverBudget).
        plain = DomainError.problem(self, instance)
        update = {"estimated_memory_bytes": self.need, "memory_limit_bytes": self.limit}
        return plain.model_copy(update=update)


def _request_part(part: str) -> str:
    """The request field a cost or geometry problem of the synthetic audit is about."""
    if part == "options.bootstrap.resamples":
        return "options.resamples"
    if part == "options.degradation":
        return part
    if part.startswith("options."):
        return "options.audit." + part.removeprefix("options.")
    return "options.size"  # the synthetic images' pixels


def _synthetic_side(request: SelfCheckCreate) -> int:
    """The side ``run_selfcheck`` uses: ``size`` rounded down to the factor's multiple."""
    factor = super_resolution_factor(parse_degradation(request.degradation)) or 1
    return request.size // factor * factor


class SelfChecks(Submissions):
    """Accepting self-checks and reading them; shares the batch submissions' limits."""

    # -- accepting ----------------------------------------------------------------------------

    def submit(  # type: ignore[override]  # another resource, another request
        self, tenant: str, ground_truth: Sequence[BinaryIO], options_text: str | None
    ) -> JobRecord:
        """Validate, store and queue a self-check; returns its (queued) job record.

        Raises:
            InvalidSubmissionError: The request or a ground truth is invalid (errors name
                the parts: ``options.size``, ``ground_truth[2]``...).
            SelfCheckOverBudgetError, JobOverBudgetError: Too large for a worker (422).
            TooManyJobsError, StorageFullError, StorageQuotaExceededError,
            ServiceUnavailableError: As for a batch of pairs.
        """
        request = self._check_request(ground_truth, options_text)
        parts = {"ground_truth": ground_truth}
        incoming = _parts_bytes(parts)
        with self._admission(tenant, incoming) as job_id:
            return self._admitted_selfcheck(job_id, tenant, ground_truth, request, incoming)

    def _check_request(
        self, ground_truth: Sequence[BinaryIO], options_text: str | None
    ) -> SelfCheckCreate:
        settings = self.r.settings
        if options_text is None or not options_text.strip():
            error = ProblemError(
                part="options",
                message="expected a JSON object with at least 'degradation', e.g. "
                '{"degradation": "noise:0.05"}',
            )
            raise InvalidSubmissionError(_NOT_ACCEPTED, errors=[error])
        try:
            request = SelfCheckCreate.model_validate_json(options_text)
        except ValidationError as exc:
            raise InvalidSubmissionError(
                _NOT_ACCEPTED, errors=validation_errors(exc.errors(), prefix="options")
            ) from exc
        errors: list[ProblemError] = []
        side = _synthetic_side(request)
        if side < MIN_SIZE:
            errors.append(
                ProblemError(
                    part="options.size",
                    message=f"size {request.size} rounds down to {side}, a multiple of the "
                    f"degradation's factor; expected at least {MIN_SIZE}",
                )
            )
        if side * side > settings.max_pixels_per_image:
            errors.append(
                ProblemError(
                    part="options.size",
                    message=f"{side}x{side} pixels per image; at most "
                    f"{settings.max_pixels_per_image} here",
                )
            )
        pairs = RESTORERS_AUDITED * request.images
        if pairs > settings.max_pairs_per_job:
            errors.append(
                ProblemError(
                    part="options.images",
                    message=f"{request.images} images make {pairs} pairs (three restorers "
                    f"each); at most {settings.max_pairs_per_job} pairs per job here",
                )
            )
        if len(ground_truth) > settings.max_pairs_per_job:
            errors.append(
                ProblemError(
                    part="ground_truth",
                    message=f"at most {settings.max_pairs_per_job} images, got {len(ground_truth)}",
                )
            )
        if not errors:
            errors += self._geometry_errors(request, side)
        if errors:
            raise InvalidSubmissionError(_NOT_ACCEPTED, errors=errors)
        self._check_cost(request, side)
        return request

    def _geometry_errors(self, request: SelfCheckCreate, side: int) -> list[ProblemError]:
        """What the audit needs of the synthetic pairs (grey, ``side`` square), by the rule
        of a batch (``api_schemas.images.audit_problems``): room for the patches inside the
        border, enough patches for ``knn_k``, grey images (no ``color: rgb``)."""
        image = Geometry("synthetic", side, side, 1)
        pairs = [
            PairGeometry(image, image, None, restorer)
            for restorer in _RESTORERS
            for _ in range(request.images)
        ]
        return [
            ProblemError(
                part=_request_part(error.part),
                message=f"synthetic {side}x{side} grey images: {error.message}",
            )
            for error in audit_problems(pairs, request.effective_audit_options())
        ]

    def _check_cost(self, request: SelfCheckCreate, side: int) -> None:
        """The worker's memory budget, for the synthesis and for the audit (the cost model
        of ``api_schemas.cost``, as for a batch).

        Raises:
            SelfCheckOverBudgetError: The synthesis would not fit.
            JobOverBudgetError: The audit would not fit (422, naming request fields).
        """
        budget = self.r.settings.max_job_memory_bytes
        synthesis = synthesis_bytes(request.images, side)
        if synthesis > budget:
            detail = (
                f"the synthesis would need about {format_bytes(synthesis)} of memory, over "
                f"the {format_bytes(budget)} a worker may use for one job"
            )
            errors = [
                ProblemError(part=part, message=f"lower it: {detail}")
                for part in ("options.size", "options.images")
            ]
            raise SelfCheckOverBudgetError(detail, errors, synthesis, budget)
        shapes = [
            PairShape(side, side, 1, restorer, observation=True, part="options.size")
            for restorer in _RESTORERS
            for _ in range(request.images)
        ]
        over = over_budget(shapes, request.effective_audit_options(), budget)
        if over is not None:
            named = [(_request_part(part), message) for part, message in over.errors]
            raise JobOverBudgetError(OverBudget(422, named, over.estimate, over.limit))

    def _inspect_ground_truths(self, ground_truth: Sequence[BinaryIO]) -> list[ImageHeader]:
        """The image-acceptance policy of a batch (``api_schemas.images``), and a side of at
        least ``MIN_SIZE`` pixels (the spectrum fit's window)."""
        settings = self.r.settings
        headers: list[ImageHeader] = []
        errors: list[ProblemError] = []
        for i, fp in enumerate(ground_truth):
            part = f"ground_truth[{i}]"
            try:
                header = inspect_image(fp, settings.image_limits)
            except InvalidImageError as exc:
                errors.append(ProblemError(part=part, message=str(exc)))
                continue
            if min(header.width, header.height) < MIN_SIZE:
                errors.append(
                    ProblemError(
                        part=part,
                        message=f"{header.width}x{header.height} pixels; expected at least "
                        f"{MIN_SIZE} on each side to fit a spectrum",
                    )
                )
            headers.append(header)
        if errors:
            raise InvalidSubmissionError(_NOT_ACCEPTED, errors=errors)
        return headers

    def _admitted_selfcheck(
        self,
        job_id: str,
        tenant: str,
        ground_truth: Sequence[BinaryIO],
        request: SelfCheckCreate,
        incoming: int,
    ) -> JobRecord:
        settings = self.r.settings
        queued = self.r.records.counts_by_state()["queued"]
        if queued >= settings.max_queued_jobs:
            raise ServiceUnavailableError(
                f"the queue is full ({queued} jobs waiting); try again later",
                retry_after=QUEUE_FULL_RETRY_AFTER,
            )
        self._check_room(tenant, incoming)
        headers = self._inspect_ground_truths(ground_truth)
        bind(job_id=job_id)
        payloads = self.r.payloads
        try:
            names = []
            payloads.create_job_dir(job_id)
            for i, (fp, header) in enumerate(zip(ground_truth, headers, strict=True)):
                name = f"ground_truth-{i:05d}.{header.extension}"
                payloads.write_input(job_id, name, fp)
                names.append(name)
            payloads.write_selfcheck_manifest(
                SelfCheckManifest(
                    job_id=job_id,
                    tenant=tenant,
                    created_at=datetime.now(UTC),
                    request=request,
                    ground_truth=names,
                )
            )
            record = self.r.records.create(
                job_id,
                tenant,
                RESTORERS_AUDITED * request.images,
                max_in_flight=settings.max_jobs_in_flight_per_tenant,
                stored_bytes=payloads.stored_bytes(job_id),
                max_stored_bytes=settings.max_stored_bytes_per_tenant,
                kind="selfcheck",
            )
        except StoreTooManyJobsError as exc:
            payloads.delete(job_id)
            raise self._too_many() from exc
        except StoreQuotaExceededError as exc:
            payloads.delete(job_id)
            raise self._over_quota(tenant, exc.usage, exc.job_bytes) from exc
        except OSError as exc:
            logger.error("payload store write failed for self-check %s: %s", job_id, exc)
            try:
                payloads.delete(job_id)
            except OSError as cleanup:
                logger.error("self-check %s: cleanup failed too: %s", job_id, cleanup)
            raise ServiceUnavailableError(
                "the payload store cannot take the self-check now",
                retry_after=STORAGE_RETRY_AFTER,
            ) from exc
        except BaseException:
            payloads.delete(job_id)
            raise
        try:
            # The same task as an audit: it reads the record's kind (the id is all that
            # travels), and the lease sweeper requeues either kind alike.
            self.r.dispatcher.enqueue_audit(job_id)
        except DispatchError as exc:
            self.r.records.delete(job_id, force=True)
            payloads.delete(job_id)
            raise ServiceUnavailableError(
                "the task queue is unreachable; the self-check was not created",
                retry_after=BROKER_RETRY_AFTER,
            ) from exc
        logger.info(
            "queued self-check %s of tenant %s: %s, %d images of %d px",
            job_id,
            tenant,
            request.degradation,
            request.images,
            request.size,
        )
        return record

    # -- reading ------------------------------------------------------------------------------

    def read(self, job: JobRecord) -> SelfCheckRead:
        """The self-check's status, its request, and its result once it succeeded."""
        url = f"{self.r.settings.selfchecks_url.rstrip('/')}/{job.id}"
        status = job.to_read(self.r.settings.jobs_url)
        try:
            request: SelfCheckCreate | None = self.r.payloads.read_selfcheck_manifest(
                job.id
            ).request
        except (jobstore.JobNotFoundError, ValueError, OSError):  # expired or unreadable
            request = None
        result = None
        if job.state == "succeeded":
            data = self.r.payloads.read_selfcheck_result(job.id)
            if data is not None:
                try:
                    result = SelfCheckResult.model_validate_json(data)
                except ValidationError:
                    logger.warning("self-check %s: stored result unreadable", job.id)
        return SelfCheckRead(
            **status.monitor_fields(),
            request=request,
            result=result,
            links=SelfCheckLinks.model_validate(
                {
                    "self": url,
                    "cancel": f"{url}/cancel",
                    "report": f"{self.r.settings.jobs_url.rstrip('/')}/{job.id}/report",
                }
            ),
        )


def require_selfcheck(job: JobRecord) -> JobRecord:
    """The job if it is a self-check; a 404 otherwise (an audit is not a self-check).

    Raises:
        JobNotFoundError: The job is an audit.
    """
    if job.kind != "selfcheck":
        message = f"no self-check {job.id!r}"
        raise JobNotFoundError(message, errors=[ProblemError(part="job_id", message=message)])
    return job


__all__ = [
    "SELFCHECK_PARTS",
    "SelfCheckOverBudgetError",
    "SelfChecks",
    "require_selfcheck",
]
