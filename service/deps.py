"""Dependencies of the routes, as ``Annotated`` aliases: settings, stores, caller, job.

Those that do no I/O are ``async``: FastAPI runs them on the event loop, where a sync one
would take a thread hop each (and wait for the GIL each time the API is busy), so polling
and health stay quick while submissions are being inspected.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api_schemas.problems import ProblemError
from jobstore import IdempotencyKeys, JobRecord, JobRecords, PayloadStore
from observability.logs import bind
from service.auth import authenticate
from service.dispatch import Dispatcher
from service.errors import InvalidSubmissionError, JobNotFoundError, UnsupportedMediaTypeError
from service.jobs import Jobs
from service.resources import Resources
from service.settings import ServiceSettings
from service.submission import FORM_PARTS, Submissions

_bearer = HTTPBearer(auto_error=False, description="An API key issued to your tenant.")


async def get_resources(request: Request) -> Resources:
    """The process's resources, built by ``create_app``."""
    resources: Resources = request.app.state.resources
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def get_app_settings(resources: ResourcesDep) -> ServiceSettings:
    """The settings the app was created with."""
    return resources.settings


async def get_records(resources: ResourcesDep) -> JobRecords:
    """The job records."""
    return resources.records


async def get_payloads(resources: ResourcesDep) -> PayloadStore:
    """The payload store."""
    return resources.payloads


async def get_idempotency(resources: ResourcesDep) -> IdempotencyKeys:
    """The idempotency keys."""
    return resources.idempotency


async def get_dispatcher(resources: ResourcesDep) -> Dispatcher:
    """The task dispatcher."""
    return resources.dispatcher


async def get_jobs(resources: ResourcesDep) -> Jobs:
    """Operations on existing jobs."""
    return Jobs(resources)


async def get_submissions(resources: ResourcesDep) -> Submissions:
    """Accepting new batches."""
    return Submissions(resources)


async def require_multipart(request: Request) -> None:
    """Refuse request bodies that are not ``multipart/form-data`` (415)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "multipart/form-data":
        message = f"expected multipart/form-data, got {media_type or 'no content type'}"
        raise UnsupportedMediaTypeError(
            message, errors=[ProblemError(part="content-type", message=message)]
        )


async def check_form_parts(request: Request) -> None:
    """Refuse form parts the API does not know (a misspelt ``observations`` would otherwise
    drop the observations silently) and more than one ``options`` part (FastAPI would keep the
    last one silently). The form is already parsed and cached by FastAPI.

    Raises:
        InvalidSubmissionError: A part name other than ground_truth, restored, observation
            and options, or a repeated options part.
    """
    form = await request.form()
    unknown = sorted({name for name in form if name not in FORM_PARTS})
    errors = [
        ProblemError(
            part=name[:80],
            message="unknown part; expected ground_truth, restored, observation or options",
        )
        for name in unknown[:10]
    ]
    options = len(form.getlist("options"))
    if options > 1:
        errors.append(
            ProblemError(
                part="options",
                message=f"expected one options part, got {options}; send every option in one "
                "JSON object",
            )
        )
    if errors:
        raise InvalidSubmissionError("the batch was not accepted", errors=errors)


SettingsDep = Annotated[ServiceSettings, Depends(get_app_settings)]
RecordsDep = Annotated[JobRecords, Depends(get_records)]
PayloadsDep = Annotated[PayloadStore, Depends(get_payloads)]
IdempotencyDep = Annotated[IdempotencyKeys, Depends(get_idempotency)]
DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]
JobsDep = Annotated[Jobs, Depends(get_jobs)]
SubmissionsDep = Annotated[Submissions, Depends(get_submissions)]


async def get_tenant(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The caller's tenant (see ``service.auth.authenticate``); named in the request's logs."""
    tenant = authenticate(settings, credentials.credentials if credentials else None)
    bind(tenant=tenant)
    return tenant


TenantDep = Annotated[str, Depends(get_tenant)]


def get_owned_job(
    job_id: Annotated[str, Path(description="The job id (32 hex digits).")],
    tenant: TenantDep,
    records: RecordsDep,
) -> JobRecord:
    """The job named in the path, if it exists and belongs to the caller (else 404).

    Raises:
        JobNotFoundError: No such job, or it belongs to another tenant.
    """
    record = tenant_job(records, tenant, job_id, part="job_id")
    bind(job_id=record.id)
    return record


def tenant_job(records: JobRecords, tenant: str, job_id: str, *, part: str) -> JobRecord:
    """The job ``job_id`` if it belongs to ``tenant``; else a 404 naming ``part`` (the path
    parameter or query parameter that named it), the same whether the job is another
    tenant's or does not exist.

    Raises:
        JobNotFoundError: No such job, or it belongs to another tenant.
    """
    record = records.get(job_id)
    if record is None or record.tenant != tenant:
        message = f"no job {job_id[:80]!r}"
        raise JobNotFoundError(message, errors=[ProblemError(part=part, message=message)])
    return record


OwnedJobDep = Annotated[JobRecord, Depends(get_owned_job)]
