from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.body_create_job import BodyCreateJob
from ...models.job_read import JobRead
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: BodyCreateJob,
    idempotency_key: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["idempotency-key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/jobs",
    }

    _kwargs["files"] = body.to_multipart()

    headers["Content-Type"] = "multipart/form-data; boundary=+++"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> JobRead | Problem | None:
    if response.status_code == 202:
        response_202 = JobRead.from_dict(response.json())

        return response_202

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if response.status_code == 507:
        response_507 = Problem.from_dict(response.json())

        return response_507

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[JobRead | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: BodyCreateJob,
    idempotency_key: None | str | Unset = UNSET,
) -> Response[JobRead | Problem]:
    """Create Job

     Submit a batch of ground-truth/restored pairs; answers 202 with the queued job.

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
    one sample, or ground_truth parts for only some pairs.

    Args:
        idempotency_key (None | str | Unset): 1 to 255 visible ASCII characters; replays answer
            the first job.
        body (BodyCreateJob):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JobRead | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: BodyCreateJob,
    idempotency_key: None | str | Unset = UNSET,
) -> JobRead | Problem | None:
    """Create Job

     Submit a batch of ground-truth/restored pairs; answers 202 with the queued job.

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
    one sample, or ground_truth parts for only some pairs.

    Args:
        idempotency_key (None | str | Unset): 1 to 255 visible ASCII characters; replays answer
            the first job.
        body (BodyCreateJob):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobRead | Problem
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: BodyCreateJob,
    idempotency_key: None | str | Unset = UNSET,
) -> Response[JobRead | Problem]:
    """Create Job

     Submit a batch of ground-truth/restored pairs; answers 202 with the queued job.

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
    one sample, or ground_truth parts for only some pairs.

    Args:
        idempotency_key (None | str | Unset): 1 to 255 visible ASCII characters; replays answer
            the first job.
        body (BodyCreateJob):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JobRead | Problem]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: BodyCreateJob,
    idempotency_key: None | str | Unset = UNSET,
) -> JobRead | Problem | None:
    """Create Job

     Submit a batch of ground-truth/restored pairs; answers 202 with the queued job.

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
    one sample, or ground_truth parts for only some pairs.

    Args:
        idempotency_key (None | str | Unset): 1 to 255 visible ASCII characters; replays answer
            the first job.
        body (BodyCreateJob):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobRead | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
