from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.body_create_selfcheck import BodyCreateSelfcheck
from ...models.problem import Problem
from ...models.self_check_read import SelfCheckRead
from ...types import Response


def _get_kwargs(
    *,
    body: BodyCreateSelfcheck,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/selfchecks",
    }

    _kwargs["files"] = body.to_multipart()

    headers["Content-Type"] = "multipart/form-data; boundary=+++"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | SelfCheckRead | None:
    if response.status_code == 202:
        response_202 = SelfCheckRead.from_dict(response.json())

        return response_202

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

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
) -> Response[Problem | SelfCheckRead]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: BodyCreateSelfcheck,
) -> Response[Problem | SelfCheckRead]:
    """Create Selfcheck

     Check on an exact Gaussian problem that the placement is right for a degradation.

    Synthesises a stationary Gaussian source (its spectrum fitted to the ground truths, or a
    default 1/f^3 one), observes it through the degradation, and audits its exact posterior
    mean, a posterior sampler and the mean plus half the posterior noise. The theory expects
    uncertainty ratios 1, 2 and 1.25, all ``on_bound``, the mean ``low`` risk and the sampler
    ``high``. Answers 202; poll ``Location`` until ``result.passed`` is there.

    Args:
        body (BodyCreateSelfcheck):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SelfCheckRead]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: BodyCreateSelfcheck,
) -> Problem | SelfCheckRead | None:
    """Create Selfcheck

     Check on an exact Gaussian problem that the placement is right for a degradation.

    Synthesises a stationary Gaussian source (its spectrum fitted to the ground truths, or a
    default 1/f^3 one), observes it through the degradation, and audits its exact posterior
    mean, a posterior sampler and the mean plus half the posterior noise. The theory expects
    uncertainty ratios 1, 2 and 1.25, all ``on_bound``, the mean ``low`` risk and the sampler
    ``high``. Answers 202; poll ``Location`` until ``result.passed`` is there.

    Args:
        body (BodyCreateSelfcheck):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SelfCheckRead
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: BodyCreateSelfcheck,
) -> Response[Problem | SelfCheckRead]:
    """Create Selfcheck

     Check on an exact Gaussian problem that the placement is right for a degradation.

    Synthesises a stationary Gaussian source (its spectrum fitted to the ground truths, or a
    default 1/f^3 one), observes it through the degradation, and audits its exact posterior
    mean, a posterior sampler and the mean plus half the posterior noise. The theory expects
    uncertainty ratios 1, 2 and 1.25, all ``on_bound``, the mean ``low`` risk and the sampler
    ``high``. Answers 202; poll ``Location`` until ``result.passed`` is there.

    Args:
        body (BodyCreateSelfcheck):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | SelfCheckRead]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: BodyCreateSelfcheck,
) -> Problem | SelfCheckRead | None:
    """Create Selfcheck

     Check on an exact Gaussian problem that the placement is right for a degradation.

    Synthesises a stationary Gaussian source (its spectrum fitted to the ground truths, or a
    default 1/f^3 one), observes it through the degradation, and audits its exact posterior
    mean, a posterior sampler and the mean plus half the posterior noise. The theory expects
    uncertainty ratios 1, 2 and 1.25, all ``on_bound``, the mean ``low`` risk and the sampler
    ``high``. Answers 202; poll ``Location`` until ``result.passed`` is there.

    Args:
        body (BodyCreateSelfcheck):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | SelfCheckRead
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
