"""The jobs resource of API.md: submit, poll, list, report, artifacts, cancel, delete."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, Response, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
from starlette.background import BackgroundTask

from api_schemas.comparison import Comparison, ComparisonQuery
from api_schemas.jobs import JobList, JobRead, JobState
from api_schemas.report import AuditReport, GroundTruthFreeReport
from jobstore import JobRecord
from reporting.comparison import IncomparableReportsError, compare_reports
from reporting.comparison_html import SideImages, render_comparison_html
from reporting.html import CONTENT_SECURITY_POLICY
from reporting.pairs_csv import MEDIA_TYPE as CSV_MEDIA_TYPE
from reporting.pairs_csv import PAIRS_CSV_COLUMNS, pairs_csv
from service.conditional import IMMUTABLE, NO_CACHE, etag_matches, monitor_headers
from service.deps import (
    JobsDep,
    OwnedJobDep,
    RecordsDep,
    SettingsDep,
    SubmissionsDep,
    TenantDep,
    check_form_parts,
    require_multipart,
    tenant_job,
)
from service.errors import InvalidSubmissionError, ReportsNotComparableError
from service.jobs import Jobs
from service.limits import SubmissionPool
from service.openapi import (
    ETAG_HEADER,
    accepted_response,
    monitor_responses,
    problem_responses,
)
from service.submission import IDEMPOTENCY_KEY_PATTERN, name_files, options_text

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


IfNoneMatch = Annotated[str | None, Header(description="An ETag from an earlier answer.")]
_OPTIONS_DOC = (
    "JSON object: audit options plus `pairs` (ids and group names by position), or `sources` "
    "(the pairs by URI instead of file parts), and an optional `callback_url` (webhook)."
)


@router.post(
    "",
    status_code=202,
    response_model=JobRead,
    dependencies=[Depends(require_multipart), Depends(check_form_parts)],
    # Every part may be left out (a job of sources sends only `options`), yet a body there
    # must be: said so, generated clients require one.
    openapi_extra={"requestBody": {"required": True}},
    responses={
        **accepted_response("job"),
        **problem_responses(400, 401, 409, 413, 415, 422, 429, 503, 507),
    },
)
async def create_job(
    request: Request,
    tenant: TenantDep,
    submissions: SubmissionsDep,
    settings: SettingsDep,
    response: Response,
    ground_truth: Annotated[
        list[UploadFile],
        File(
            default_factory=list,
            description="Ground truths, in pair order (none with `options.sources`, none for "
            "a ground-truth-free audit of samples).",
        ),
    ],
    restored: Annotated[
        list[UploadFile],
        File(
            default_factory=list,
            description="Restorations, in pair order (none with `options.sources`).",
        ),
    ],
    observation: Annotated[
        list[UploadFile] | None,
        File(
            description="Observations, in pair order (with `options.degradation`); without "
            "ground truth one per restored part, the same image for every sample of an input."
        ),
    ] = None,
    options: Annotated[str | UploadFile | None, Form(description=_OPTIONS_DOC)] = None,
    idempotency_key: Annotated[
        str | None,
        Header(
            pattern=IDEMPOTENCY_KEY_PATTERN,
            description="1 to 255 visible ASCII characters; replays answer the first job.",
        ),
    ] = None,
) -> JobRead:
    """Submit a batch of ground-truth/restored pairs; answers 202 with the queued job.

    The pairs come as file parts, or by reference in `options.sources` (https:// URIs on the
    operator's `RA_SOURCE_ALLOWED_HOSTS`, or file:// under its `RA_DATASET_ROOTS`), fetched by
    the worker. With `options.callback_url` (on `RA_CALLBACK_ALLOWED_HOSTS`) the worker side
    POSTs a signed event when the job succeeds, fails or is cancelled; the job's `callback`
    shows each delivery attempt (README: Webhooks).

    **Without ground truth** (docs/theory.md 3.9, README: Without ground truth): send no
    `ground_truth` part, one `restored` part per sample, one `observation` part with each (the
    observation of its input, the same image for all its samples), `options.degradation`, and
    `options.pairs` naming each part's `input` and `sample` index, at least two samples per
    input (e.g. `{"id": "img1-s0", "group": "sd", "input": "img1", "sample": 0}`). The report
    is then a `GroundTruthFreeReport` (`mode: "ground_truth_free"`): spread, N(X|Y) estimated
    from it (valid only for a calibrated posterior sampler), measurement residual, per-input
    maps, and the evidence that needs ground truth. Refused with 422 naming the part: no
    degradation, a missing or differing observation, a pair without a sample, an input with
    one sample, or ground_truth parts for only some pairs."""
    pool: SubmissionPool = request.app.state.submission_pool
    file_names = {
        role: [part.filename for part in parts or []]
        for role, parts in (
            ("ground_truth", ground_truth),
            ("restored", restored),
            ("observation", observation),
        )
    }
    try:
        record = await pool.run(
            lambda: submissions.submit(
                tenant,
                [part.file for part in ground_truth],
                [part.file for part in restored],
                [part.file for part in observation or []],
                options_text(options),
                idempotency_key,
            )
        )
    except InvalidSubmissionError as error:
        error.errors = name_files(error.errors, file_names)
        raise
    job = record.to_read(settings.jobs_url)
    response.headers.update(
        monitor_headers(record, settings.poll_after_seconds) | {"Location": job.links.self_}
    )
    return job


@router.get("", response_model=JobList, responses=problem_responses(401, 422))
def list_jobs(
    tenant: TenantDep,
    jobs: JobsDep,
    page_size: Annotated[int, Query(ge=1, le=100)] = 50,
    page_token: Annotated[str | None, Query(max_length=512)] = None,
    state: JobState | None = None,
) -> JobList:
    """The caller's jobs, newest first, a page at a time."""
    return jobs.list(tenant, state, page_size, page_token)


@router.get(
    "/{job_id}",
    response_model=JobRead,
    responses=monitor_responses("job"),
)
def get_job(job: OwnedJobDep, settings: SettingsDep, if_none_match: IfNoneMatch = None) -> Response:
    """The job's state and progress; poll it, honouring ``Retry-After`` and ``ETag``."""
    headers = monitor_headers(job, settings.poll_after_seconds)
    if etag_matches(if_none_match, job.etag):
        return Response(status_code=304, headers=headers)
    body = job.to_read(settings.jobs_url).model_dump(mode="json")
    return JSONResponse(body, headers=headers)


@router.get(
    "/{job_id}/report",
    response_model=AuditReport | GroundTruthFreeReport,
    responses={
        200: {
            "description": "The report (REPORT.md): an `AuditReport`, or a "
            '`GroundTruthFreeReport` (`mode: "ground_truth_free"`) for a job submitted '
            "without ground truth.",
            "headers": {"ETag": ETAG_HEADER},
        },
        304: {"description": "Not modified"},
        **problem_responses(401, 404, 409),
    },
)
def get_report(job: OwnedJobDep, jobs: JobsDep, if_none_match: IfNoneMatch = None) -> Response:
    """The audit report (REPORT.md) of a succeeded job; immutable once there. A job without
    ground truth has a `GroundTruthFreeReport`, whose `report.html`, `pairs.csv` and
    comparisons are 409 `report-needs-ground-truth` problems (they are made of per-pair
    errors)."""
    data = jobs.report(job)
    headers = {"ETag": f'"{hashlib.sha256(data).hexdigest()[:32]}"', "Cache-Control": IMMUTABLE}
    if etag_matches(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="application/json", headers=headers)


def _html_page(what: str) -> dict[str, Any]:
    """The documented 200 of a page: ``what`` as one self-contained HTML document."""
    return {
        "description": f"The {what} as one self-contained HTML page.",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }


_PAGE_HEADERS = {
    # The page loads nothing and runs nothing; nobody may frame it.
    "Content-Security-Policy": f"{CONTENT_SECURITY_POLICY}; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


@router.get(
    "/{job_id}/report.html",
    response_class=HTMLResponse,
    responses={
        200: _html_page("report") | {"headers": {"ETag": ETAG_HEADER}},
        304: {"description": "Not modified"},
        **problem_responses(401, 404, 409),
    },
)
def get_report_html(job: OwnedJobDep, jobs: JobsDep, if_none_match: IfNoneMatch = None) -> Response:
    """The report as a self-contained HTML page: summary, plots, per-restorer estimates,
    pairs by risk with thumbnails; immutable once there, like the JSON report. A job without
    ground truth has no page (409 `report-needs-ground-truth`)."""
    page = jobs.report_page(job)
    headers = {"ETag": page.etag, "Cache-Control": IMMUTABLE, **_PAGE_HEADERS}
    if etag_matches(if_none_match, page.etag):
        return Response(status_code=304, headers=headers)
    return HTMLResponse(page.render(), headers=headers)


@router.get(
    "/{job_id}/pairs.csv",
    response_class=Response,
    responses={
        200: {
            "description": "One row per pair; header: " + ", ".join(PAIRS_CSV_COLUMNS) + ".",
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "headers": {"ETag": ETAG_HEADER},
        },
        304: {"description": "Not modified"},
        **problem_responses(401, 404, 409),
    },
)
def get_pairs_csv(job: OwnedJobDep, jobs: JobsDep, if_none_match: IfNoneMatch = None) -> Response:
    """Per-image results of a succeeded job as CSV (the columns of `audit --csv`): id, group,
    size, MSE, PSNR, SSIM, uncertainty, perception, invented detail, measurement residual,
    verdict and reasons. Immutable once there, like the JSON report. A job without ground
    truth has no pairs table (409 `report-needs-ground-truth`)."""
    report = jobs.stored_report(job)
    body = pairs_csv(report).encode()
    headers = {
        "ETag": f'"{hashlib.sha256(body).hexdigest()[:32]}"',
        "Cache-Control": IMMUTABLE,
        "Content-Disposition": f'attachment; filename="{job.id}-pairs.csv"',
    }
    if etag_matches(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=CSV_MEDIA_TYPE, headers=headers)


@router.get(
    "/{job_id}/comparison",
    response_model=Comparison,
    responses=problem_responses(401, 404, 409, 422),
)
def get_comparison(
    job: OwnedJobDep,
    jobs: JobsDep,
    tenant: TenantDep,
    records: RecordsDep,
    query: Annotated[ComparisonQuery, Query()],
) -> Comparison:
    """This job's report (the candidate) against a baseline job's: pairs matched by id per
    restorer, paired differences of PSNR, SSIM, uncertainty, perception and invented detail
    with paired-bootstrap intervals, verdict changes, and the regression decision under the
    stated rule (its margins, level, resamples and seed are query parameters; README: Run
    comparison). Both jobs must have succeeded, with ground truth (a ground-truth-free job is
    a 409 `report-needs-ground-truth`)."""
    base = tenant_job(records, tenant, query.baseline, part="baseline")
    return _compare(jobs, base, job, query)[0]


def _compare(
    jobs: Jobs, base: JobRecord, job: JobRecord, query: ComparisonQuery
) -> tuple[Comparison, AuditReport, AuditReport]:
    """Both jobs' reports and their comparison (reporting.comparison); 422 if incomparable."""
    baseline, candidate = jobs.stored_report(base), jobs.stored_report(job)
    try:
        comparison = compare_reports(
            baseline, candidate, query.rule(), baseline_name=base.id, candidate_name=job.id
        )
    except IncomparableReportsError as error:
        raise ReportsNotComparableError(str(error)) from None
    return comparison, baseline, candidate


@router.get(
    "/{job_id}/comparison.html",
    response_class=HTMLResponse,
    responses={
        200: _html_page("comparison"),
        **problem_responses(401, 404, 409, 422),
    },
)
def get_comparison_html(
    job: OwnedJobDep,
    jobs: JobsDep,
    tenant: TenantDep,
    records: RecordsDep,
    query: Annotated[ComparisonQuery, Query()],
) -> Response:
    """The comparison as a page: the decision and its rule, each restorer's paired
    differences, and the pairs that changed most side by side (baseline | candidate: values,
    restored images and invented-detail maps while the jobs keep them). The same parameters
    and problems as ``/comparison``."""
    base = tenant_job(records, tenant, query.baseline, part="baseline")
    comparison, baseline, candidate = _compare(jobs, base, job, query)
    page = render_comparison_html(
        comparison,
        heading="Run comparison",
        baseline=SideImages(baseline, jobs.page_images(base)),
        candidate=SideImages(candidate, jobs.page_images(job)),
    )
    return HTMLResponse(page, headers={"Cache-Control": NO_CACHE, **_PAGE_HEADERS})


@router.get(
    "/{job_id}/artifacts/{name}",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}},
        307: {
            "description": "The artifact is in object storage: fetch it from the presigned "
            "URL in Location (RA_STORAGE_PRESIGN=true)",
            "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
        },
        **problem_responses(401, 404, 503),
    },
)
def get_artifact(job: OwnedJobDep, jobs: JobsDep, name: str) -> Response:
    """A PNG map or plot named in the report."""
    url = jobs.artifact_url(job, name)
    if url is not None:
        return RedirectResponse(url, status_code=307)
    file = jobs.artifact(job, name)
    media_type = "image/png" if name.endswith(".png") else "application/octet-stream"
    return _open_file_response(file, media_type)


_CHUNK = 1 << 16


def _open_file_response(file: BinaryIO, media_type: str) -> StreamingResponse:
    """Send a file the handler opened (not a path: a DELETE may remove the path meanwhile):
    its length is known before the first byte and the body is the whole file as opened."""
    # An object store's object has no descriptor; it knows its length (Content-Length).
    size = getattr(file, "content_length", None)
    if size is None:
        size = os.fstat(file.fileno()).st_size

    def chunks() -> Iterator[bytes]:
        with file:
            while chunk := file.read(_CHUNK):
                yield chunk

    headers = {"Content-Length": str(size), "Cache-Control": IMMUTABLE}
    # The task closes the file too when the client leaves before the body is consumed.
    return StreamingResponse(
        chunks(), media_type=media_type, headers=headers, background=BackgroundTask(file.close)
    )


@router.post(
    "/{job_id}/cancel",
    status_code=202,
    response_model=JobRead,
    responses=problem_responses(401, 404, 409),
)
def cancel_job(job: OwnedJobDep, jobs: JobsDep, settings: SettingsDep) -> JobRead:
    """Cancel the job (idempotent); a running job stops at its worker's next check."""
    return jobs.cancel(job).to_read(settings.jobs_url)


@router.delete("/{job_id}", status_code=204, responses=problem_responses(401, 404, 409))
def delete_job(job: OwnedJobDep, jobs: JobsDep) -> Response:
    """Delete the job's record, inputs, report and artifacts (not while running)."""
    jobs.delete(job)
    return Response(status_code=204)
