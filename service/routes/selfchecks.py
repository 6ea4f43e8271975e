"""The self-checks resource: is the placement right for my degradation? (docs/theory.md §3.12)

Design (issue #13 item 6 allowed an endpoint or a job option): its own resource, because a
self-check has its own request (a degradation and the synthesis's sizes, no pairs) and its own
answer (checks that hold or not), so a generated client gets ``create_selfcheck`` taking a
``SelfCheckCreate`` and ``get_selfcheck`` returning a typed ``SelfCheckResult`` with an
overall ``passed``, where a job option would have typed neither and made a pipeline dig the
verdict out of an audit report. Underneath it is a job of kind ``selfcheck``
(``service.selfchecks``): asynchronous (202, ``Location``, poll with ``Retry-After`` and
``ETag``), run on a worker, owned by the tenant, with the job's limits, lease, cancel, delete
and expiry. The body is ``multipart/form-data`` like ``POST /v1/jobs`` (a JSON ``options`` part
and optional ``ground_truth`` image parts), because the ground truths are files: one
convention for every submission, and no base64 images inside JSON.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile
from fastapi.responses import JSONResponse

from api_schemas.problems import ProblemError
from api_schemas.selfcheck import SelfCheckRead
from jobstore import JobRecord
from service.conditional import etag_matches, monitor_headers
from service.deps import (
    JobsDep,
    OwnedJobDep,
    ResourcesDep,
    SettingsDep,
    TenantDep,
    require_multipart,
)
from service.errors import InvalidSubmissionError
from service.limits import SubmissionPool
from service.openapi import accepted_response, monitor_responses, problem_responses
from service.routes.jobs import IfNoneMatch
from service.selfchecks import SELFCHECK_PARTS, SelfChecks, require_selfcheck
from service.submission import options_text

router = APIRouter(prefix="/v1/selfchecks", tags=["selfchecks"])

_OPTIONS_DOC = (
    "JSON object (SelfCheckCreate): `degradation` (required; JSON or short form such as "
    "`downsample:4:bicubic`), `images`, `size`, `seed`, `tolerance`, `resamples`, `audit`. "
    'Example: `{"degradation": "noise:0.05", "images": 4, "size": 64}`.'
)


async def check_selfcheck_parts(request: Request) -> None:
    """Refuse form parts other than ``ground_truth`` and one ``options`` (a misspelt part
    would otherwise be dropped silently).

    Raises:
        InvalidSubmissionError: An unknown part, or several options parts.
    """
    form = await request.form()
    unknown = sorted({name for name in form if name not in SELFCHECK_PARTS})
    errors = [
        ProblemError(part=name[:80], message="unknown part; expected ground_truth or options")
        for name in unknown[:10]
    ]
    count = len(form.getlist("options"))
    if count > 1:
        errors.append(
            ProblemError(part="options", message=f"expected one options part, got {count}")
        )
    if errors:
        raise InvalidSubmissionError("the self-check was not accepted", errors=errors)


async def get_selfchecks(resources: ResourcesDep) -> SelfChecks:
    """Accepting and reading self-checks."""
    return SelfChecks(resources)


def get_owned_selfcheck(job: OwnedJobDep) -> JobRecord:
    """The self-check named in the path, if it is the caller's (else 404, an audit's id too)."""
    return require_selfcheck(job)


SelfChecksDep = Annotated[SelfChecks, Depends(get_selfchecks)]
OwnedSelfCheckDep = Annotated[JobRecord, Depends(get_owned_selfcheck)]


@router.post(
    "",
    status_code=202,
    response_model=SelfCheckRead,
    dependencies=[Depends(require_multipart), Depends(check_selfcheck_parts)],
    responses={
        **accepted_response("self-check"),
        **problem_responses(400, 401, 413, 415, 422, 429, 503, 507),
    },
)
async def create_selfcheck(
    request: Request,
    tenant: TenantDep,
    selfchecks: SelfChecksDep,
    settings: SettingsDep,
    response: Response,
    options: Annotated[str | UploadFile, Form(description=_OPTIONS_DOC)],
    ground_truth: Annotated[
        list[UploadFile] | None,
        File(description="Optional ground truths whose luma spectrum shapes the source."),
    ] = None,
) -> SelfCheckRead:
    """Check on an exact Gaussian problem that the placement is right for a degradation.

    Synthesises a stationary Gaussian source (its spectrum fitted to the ground truths, or a
    default 1/f^3 one), observes it through the degradation, and audits its exact posterior
    mean, a posterior sampler and the mean plus half the posterior noise. The theory expects
    uncertainty ratios 1, 2 and 1.25, all ``on_bound``, the mean ``low`` risk and the sampler
    ``high``. Answers 202; poll ``Location`` until ``result.passed`` is there.
    """
    pool: SubmissionPool = request.app.state.submission_pool
    text = options_text(options)
    files = [part.file for part in ground_truth or []]
    record = await pool.run(lambda: selfchecks.submit(tenant, files, text))
    body = selfchecks.read(record)
    response.headers.update(
        monitor_headers(record, settings.poll_after_seconds) | {"Location": body.links.self_}
    )
    return body


@router.get(
    "/{job_id}",
    response_model=SelfCheckRead,
    responses=monitor_responses("self-check"),
)
def get_selfcheck(
    job: OwnedSelfCheckDep,
    selfchecks: SelfChecksDep,
    settings: SettingsDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The self-check's state, and its checks once it succeeded; poll it, honouring
    ``Retry-After`` and ``ETag``."""
    headers = monitor_headers(job, settings.poll_after_seconds)
    if etag_matches(if_none_match, job.etag):
        return Response(status_code=304, headers=headers)
    return JSONResponse(selfchecks.read(job).model_dump(mode="json"), headers=headers)


@router.post(
    "/{job_id}/cancel",
    status_code=202,
    response_model=SelfCheckRead,
    responses=problem_responses(401, 404, 409),
)
def cancel_selfcheck(
    job: OwnedSelfCheckDep, jobs: JobsDep, selfchecks: SelfChecksDep
) -> SelfCheckRead:
    """Cancel the self-check (idempotent); a running one stops between audit batches."""
    return selfchecks.read(jobs.cancel(job))


@router.delete("/{job_id}", status_code=204, responses=problem_responses(401, 404, 409))
def delete_selfcheck(job: OwnedSelfCheckDep, jobs: JobsDep) -> Response:
    """Delete the self-check's record, request, ground truths and result (not while
    running)."""
    jobs.delete(job)
    return Response(status_code=204)
