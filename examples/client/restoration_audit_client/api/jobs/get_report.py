from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.audit_report import AuditReport
from ...models.ground_truth_free_report import GroundTruthFreeReport
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    job_id: str,
    *,
    if_none_match: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(if_none_match, Unset):
        headers["if-none-match"] = if_none_match

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/jobs/{job_id}/report".format(
            job_id=quote(str(job_id), safe=""),
        ),
    }

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | AuditReport | GroundTruthFreeReport | Problem | None:
    if response.status_code == 200:

        def _parse_response_200(data: object) -> AuditReport | GroundTruthFreeReport:
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                response_200_type_0 = AuditReport.from_dict(data)

                return response_200_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            response_200_type_1 = GroundTruthFreeReport.from_dict(data)

            return response_200_type_1

        response_200 = _parse_response_200(response.json())

        return response_200

    if response.status_code == 304:
        response_304 = cast(Any, None)
        return response_304

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | AuditReport | GroundTruthFreeReport | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    job_id: str,
    *,
    client: AuthenticatedClient,
    if_none_match: None | str | Unset = UNSET,
) -> Response[Any | AuditReport | GroundTruthFreeReport | Problem]:
    """Get Report

     The audit report (REPORT.md) of a succeeded job; immutable once there. A job without
    ground truth has a `GroundTruthFreeReport`, whose `report.html`, `pairs.csv` and
    comparisons are 409 `report-needs-ground-truth` problems (they are made of per-pair
    errors).

    Args:
        job_id (str): The job id (32 hex digits).
        if_none_match (None | str | Unset): An ETag from an earlier answer.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | AuditReport | GroundTruthFreeReport | Problem]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        if_none_match=if_none_match,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    job_id: str,
    *,
    client: AuthenticatedClient,
    if_none_match: None | str | Unset = UNSET,
) -> Any | AuditReport | GroundTruthFreeReport | Problem | None:
    """Get Report

     The audit report (REPORT.md) of a succeeded job; immutable once there. A job without
    ground truth has a `GroundTruthFreeReport`, whose `report.html`, `pairs.csv` and
    comparisons are 409 `report-needs-ground-truth` problems (they are made of per-pair
    errors).

    Args:
        job_id (str): The job id (32 hex digits).
        if_none_match (None | str | Unset): An ETag from an earlier answer.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | AuditReport | GroundTruthFreeReport | Problem
    """

    return sync_detailed(
        job_id=job_id,
        client=client,
        if_none_match=if_none_match,
    ).parsed


async def asyncio_detailed(
    job_id: str,
    *,
    client: AuthenticatedClient,
    if_none_match: None | str | Unset = UNSET,
) -> Response[Any | AuditReport | GroundTruthFreeReport | Problem]:
    """Get Report

     The audit report (REPORT.md) of a succeeded job; immutable once there. A job without
    ground truth has a `GroundTruthFreeReport`, whose `report.html`, `pairs.csv` and
    comparisons are 409 `report-needs-ground-truth` problems (they are made of per-pair
    errors).

    Args:
        job_id (str): The job id (32 hex digits).
        if_none_match (None | str | Unset): An ETag from an earlier answer.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | AuditReport | GroundTruthFreeReport | Problem]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        if_none_match=if_none_match,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    job_id: str,
    *,
    client: AuthenticatedClient,
    if_none_match: None | str | Unset = UNSET,
) -> Any | AuditReport | GroundTruthFreeReport | Problem | None:
    """Get Report

     The audit report (REPORT.md) of a succeeded job; immutable once there. A job without
    ground truth has a `GroundTruthFreeReport`, whose `report.html`, `pairs.csv` and
    comparisons are 409 `report-needs-ground-truth` problems (they are made of per-pair
    errors).

    Args:
        job_id (str): The job id (32 hex digits).
        if_none_match (None | str | Unset): An ETag from an earlier answer.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | AuditReport | GroundTruthFreeReport | Problem
    """

    return (
        await asyncio_detailed(
            job_id=job_id,
            client=client,
            if_none_match=if_none_match,
        )
    ).parsed
