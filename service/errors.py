"""Domain errors and the one place they become HTTP answers (RFC 9457 problem details).

Application code raises a ``DomainError`` subclass; each declares its ``status``, a ``slug``
(its ``type`` URI is ``PROBLEM_TYPE_BASE + slug``) and a fixed ``title``. ``install`` registers
one handler on the base class (Starlette resolves handlers along the MRO), one for request
validation errors and one for Starlette's own HTTP errors (404, 405, 413, malformed bodies),
so every error answer is ``application/problem+json``.

Storage failures are answered on every route, wherever they surface: Redis unreachable, or
refusing writes (``MISCONF`` when it cannot persist to a full disk, ``OOM``, ``READONLY``,
``NOREPLICAS``; ``jobstore.storage.write_refusal``), is a 503 with ``Retry-After``; a full disk
under the payload store (``ENOSPC``, ``EDQUOT``) is a 507 ``storage-full`` with ``Retry-After``.
Any other Redis or OS error stays a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any, ClassVar

import redis
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api_schemas.problems import (
    PROBLEM_MEDIA_TYPE,
    PROBLEM_TYPE_BASE,
    Problem,
    ProblemError,
    error_location,
    error_message,
)
from jobstore.errors import StoreUnavailableError
from jobstore.storage import WriteRefusal, is_disk_full, write_refusal

logger = logging.getLogger(__name__)

REDIS_UNAVAILABLE_RETRY_AFTER = 5
STORE_REFUSES_WRITES_RETRY_AFTER = 30
STORAGE_FULL_RETRY_AFTER = 60
_REFUSALS: dict[WriteRefusal, str] = {
    "MISCONF": "Redis cannot persist its data, usually because its disk is full",
    "OOM": "Redis has reached its memory limit",
    "READONLY": "Redis is a read-only replica (a failover may be under way)",
    "NOREPLICAS": "Redis has too few replicas to accept writes",
}


class DomainError(Exception):
    """Base of the errors the API answers on purpose."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Iterable[ProblemError] | None = None,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})
        self.extensions = dict(extensions or {})
        """RFC 9457 extension members of this occurrence (JSON values), next to ``type``..."""

    @classmethod
    def type_uri(cls) -> str:
        """The problem ``type`` of this error."""
        return PROBLEM_TYPE_BASE + cls.slug

    def problem(self, instance: str | None = None) -> Problem:
        """The problem document of this occurrence."""
        return Problem(
            type=self.type_uri(),
            title=self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            errors=self.errors,
        )


class _RetryLaterError(DomainError):
    """An error that tells the client when to try again."""

    def __init__(
        self,
        detail: str | None = None,
        *,
        retry_after: int,
        errors: Iterable[ProblemError] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(
            detail,
            errors=errors,
            headers={"Retry-After": str(retry_after)},
            extensions=extensions,
        )
        self.retry_after = retry_after


class AuthenticationRequiredError(DomainError):
    status = 401
    slug = "unauthenticated"
    title = "Missing or unknown API key"

    def __init__(
        self, detail: str | None = None, *, errors: Iterable[ProblemError] | None = None
    ) -> None:
        super().__init__(
            detail,
            errors=errors,
            headers={"WWW-Authenticate": 'Bearer realm="restoration-audit"'},
        )


class JobNotFoundError(DomainError):
    status = 404
    slug = "job-not-found"
    title = "Job not found"


class ArtifactNotFoundError(DomainError):
    status = 404
    slug = "artifact-not-found"
    title = "Artifact not found"


class ReportNotFoundError(DomainError):
    status = 404
    slug = "report-not-found"
    title = "Report not found"


class JobNotFinishedError(_RetryLaterError):
    status = 409
    slug = "job-not-finished"
    title = "Job has not finished"


class JobHasNoReportError(DomainError):
    status = 409
    slug = "job-has-no-report"
    title = "Job ended without a report"


class ReportNotRenderableError(DomainError):
    """The stored report was written under a report schema this service cannot read (an
    older or newer release): the JSON report is still served as stored, the page is not."""

    status = 409
    slug = "report-not-renderable"
    title = "Report cannot be rendered"


class ReportNeedsGroundTruthError(ReportNotRenderableError):
    """A view of a ground-truth-free report (docs/theory.md 3.9) that exists only with ground
    truth: the page, the per-pair CSV and the comparison are made of per-pair errors and
    verdicts, which such a report does not have. Its JSON report is served."""

    slug = "report-needs-ground-truth"
    title = "This view needs a report with ground truth"


class JobAlreadyFinishedError(DomainError):
    status = 409
    slug = "job-already-finished"
    title = "Job has already finished"


class JobRunningError(DomainError):
    status = 409
    slug = "job-running"
    title = "Job is running"


class IdempotencyKeyInProgressError(_RetryLaterError):
    status = 409
    slug = "idempotency-key-in-progress"
    title = "A request with this idempotency key is in progress"


class StorageQuotaExceededError(DomainError):
    """The tenant's jobs store as many bytes as its quota allows (extension members
    ``quota_bytes``, ``usage_bytes`` and ``request_bytes``)."""

    status = 413
    slug = "storage-quota-exceeded"
    title = "Storage quota exceeded"


class UnsupportedMediaTypeError(DomainError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class InvalidRequestError(DomainError):
    status = 422
    slug = "invalid-request"
    title = "Invalid request"


class InvalidSubmissionError(DomainError):
    status = 422
    slug = "invalid-submission"
    title = "Invalid batch"


class IdempotencyKeyReusedError(DomainError):
    status = 422
    slug = "idempotency-key-reused"
    title = "Idempotency key reused with a different payload"


class ReportsNotComparableError(DomainError):
    """A comparison's two reports share no restorer, no pair id within one, or were measured
    under different colour, crop, patch or Rényi-order settings."""

    status = 422
    slug = "reports-not-comparable"
    title = "Reports cannot be compared"


class InvalidPageTokenError(DomainError):
    status = 422
    slug = "invalid-page-token"
    title = "Invalid page token"


class TooManyJobsError(_RetryLaterError):
    status = 429
    slug = "too-many-jobs"
    title = "Too many unfinished jobs"


class ServiceUnavailableError(_RetryLaterError):
    status = 503
    slug = "service-unavailable"
    title = "Service unavailable"


class NotReadyError(_RetryLaterError):
    status = 503
    slug = "not-ready"
    title = "Service not ready"


class StorageFullError(_RetryLaterError):
    """The payload store's disk is full, or would be below its reserve after this request."""

    status = 507
    slug = "storage-full"
    title = "Insufficient storage"


def problem_response(
    problem: Problem,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """Render a problem as ``application/problem+json``, with its extension members."""
    body = dict(extensions or {})
    body.update(problem.model_dump(mode="json", exclude_none=True))  # never shadowed
    return JSONResponse(
        body,
        status_code=problem.status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def _error_response(request: Request, error: DomainError) -> JSONResponse:
    problem = error.problem(instance=request.url.path)
    return problem_response(problem, error.headers, error.extensions)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, DomainError):  # pragma: no cover - registered for DomainError only
        raise exc
    return _error_response(request, exc)


def _part(loc: Iterable[int | str]) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return error_location(parts) or "request"


def validation_errors(errors: Iterable[Mapping[str, Any]], prefix: str = "") -> list[ProblemError]:
    """Problem entries for pydantic/FastAPI errors; ``prefix`` names the containing part.

    Locations and messages are the client's words (``api_schemas.problems.error_location`` and
    ``error_message``): no union tags, no validator exception names."""
    out = []
    for error in errors:
        part = _part(error.get("loc", ()))
        if prefix:
            part = prefix if part == "request" else f"{prefix}.{part}"
        out.append(ProblemError(part=part, message=error_message(error)))
    return out


async def _request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):  # pragma: no cover
        raise exc
    error = InvalidRequestError(
        "the request does not match the API's schema", errors=validation_errors(exc.errors())
    )
    return problem_response(error.problem(instance=request.url.path))


_HTTP_ERROR_PARTS = {400: "body", 404: "path", 405: "method", 413: "body"}
"""The part each plain HTTP error of Starlette's is about (malformed or oversized bodies...)."""


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):  # pragma: no cover
        raise exc
    try:
        title = HTTPStatus(exc.status_code).phrase
    except ValueError:  # a status http.HTTPStatus does not know
        title = "Error"
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
    part = _HTTP_ERROR_PARTS.get(exc.status_code)
    errors = [ProblemError(part=part, message=detail or title)] if part else None
    problem = Problem(
        title=title,
        status=exc.status_code,
        detail=detail,
        instance=request.url.path,
        errors=errors,
    )
    return problem_response(problem, exc.headers)


async def _redis_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("redis unavailable: %s", exc)
    error = ServiceUnavailableError(
        "the job store is unreachable", retry_after=REDIS_UNAVAILABLE_RETRY_AFTER
    )
    return _error_response(request, error)


async def _payload_store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # The object store did not answer: nothing was changed, the client retries (docs: README
    # "Scaling out"); jobs already accepted stay and the workers retry them.
    logger.warning("payload store unavailable: %s", exc)
    error = ServiceUnavailableError(
        "the payload store is unreachable", retry_after=REDIS_UNAVAILABLE_RETRY_AFTER
    )
    return _error_response(request, error)


def store_refuses_writes(kind: WriteRefusal) -> ServiceUnavailableError:
    """The 503 of a Redis write refusal of ``kind``."""
    return ServiceUnavailableError(
        f"the job store refuses writes for now ({kind}: {_REFUSALS[kind]}); reads still work, "
        "try this request again later",
        retry_after=STORE_REFUSES_WRITES_RETRY_AFTER,
    )


async def _redis_response_error(request: Request, exc: Exception) -> JSONResponse:
    kind = write_refusal(exc)
    if kind is None:  # a wrong type, a script bug: ours
        return await _unexpected(request, exc)
    logger.warning("redis refuses writes on %s %s: %s", request.method, request.url.path, exc)
    return _error_response(request, store_refuses_writes(kind))


def storage_full(detail: str, **extensions: Any) -> StorageFullError:
    """The 507 of a full payload store."""
    members = {name: value for name, value in extensions.items() if value is not None}
    return StorageFullError(detail, retry_after=STORAGE_FULL_RETRY_AFTER, extensions=members)


async def _os_error(request: Request, exc: Exception) -> JSONResponse:
    if not is_disk_full(exc):
        return await _unexpected(request, exc)
    logger.error("disk full on %s %s: %s", request.method, request.url.path, exc)
    error = storage_full("the payload store's disk is full; try again once space is freed")
    return _error_response(request, error)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    problem = DomainError("an unexpected error occurred").problem(instance=request.url.path)
    return problem_response(problem)


def install(app: FastAPI) -> None:
    """Register the problem+json handlers on ``app``."""
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(redis.ConnectionError, _redis_unavailable)
    app.add_exception_handler(redis.TimeoutError, _redis_unavailable)
    app.add_exception_handler(redis.ResponseError, _redis_response_error)
    app.add_exception_handler(StoreUnavailableError, _payload_store_unavailable)
    app.add_exception_handler(OSError, _os_error)
    app.add_exception_handler(Exception, _unexpected)
