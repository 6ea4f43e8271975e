from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.job_list import JobList
from ...models.list_jobs_state_type_0 import ListJobsStateType0
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    page_size: int | Unset = 50,
    page_token: None | str | Unset = UNSET,
    state: ListJobsStateType0 | None | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["page_size"] = page_size

    json_page_token: None | str | Unset
    if isinstance(page_token, Unset):
        json_page_token = UNSET
    else:
        json_page_token = page_token
    params["page_token"] = json_page_token

    json_state: None | str | Unset
    if isinstance(state, Unset):
        json_state = UNSET
    elif isinstance(state, ListJobsStateType0):
        json_state = state.value
    else:
        json_state = state
    params["state"] = json_state

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/jobs",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> JobList | Problem | None:
    if response.status_code == 200:
        response_200 = JobList.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[JobList | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    page_size: int | Unset = 50,
    page_token: None | str | Unset = UNSET,
    state: ListJobsStateType0 | None | Unset = UNSET,
) -> Response[JobList | Problem]:
    """List Jobs

     The caller's jobs, newest first, a page at a time.

    Args:
        page_size (int | Unset):  Default: 50.
        page_token (None | str | Unset):
        state (ListJobsStateType0 | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JobList | Problem]
    """

    kwargs = _get_kwargs(
        page_size=page_size,
        page_token=page_token,
        state=state,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    page_size: int | Unset = 50,
    page_token: None | str | Unset = UNSET,
    state: ListJobsStateType0 | None | Unset = UNSET,
) -> JobList | Problem | None:
    """List Jobs

     The caller's jobs, newest first, a page at a time.

    Args:
        page_size (int | Unset):  Default: 50.
        page_token (None | str | Unset):
        state (ListJobsStateType0 | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobList | Problem
    """

    return sync_detailed(
        client=client,
        page_size=page_size,
        page_token=page_token,
        state=state,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    page_size: int | Unset = 50,
    page_token: None | str | Unset = UNSET,
    state: ListJobsStateType0 | None | Unset = UNSET,
) -> Response[JobList | Problem]:
    """List Jobs

     The caller's jobs, newest first, a page at a time.

    Args:
        page_size (int | Unset):  Default: 50.
        page_token (None | str | Unset):
        state (ListJobsStateType0 | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[JobList | Problem]
    """

    kwargs = _get_kwargs(
        page_size=page_size,
        page_token=page_token,
        state=state,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    page_size: int | Unset = 50,
    page_token: None | str | Unset = UNSET,
    state: ListJobsStateType0 | None | Unset = UNSET,
) -> JobList | Problem | None:
    """List Jobs

     The caller's jobs, newest first, a page at a time.

    Args:
        page_size (int | Unset):  Default: 50.
        page_token (None | str | Unset):
        state (ListJobsStateType0 | None | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        JobList | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            page_size=page_size,
            page_token=page_token,
            state=state,
        )
    ).parsed
