from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.comparison import Comparison
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    job_id: str,
    *,
    level: float | Unset = 0.95,
    resamples: int | Unset = 2000,
    seed: int | Unset = 0,
    psnr_margin: float | Unset = 0.0,
    ssim_margin: float | Unset = 0.0,
    uncertainty_margin: float | Unset = 0.0,
    perception_margin: float | Unset = 0.0,
    invented_detail_margin: float | Unset = 0.0,
    fail_on_risk_increase: bool | Unset = True,
    baseline: str,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["level"] = level

    params["resamples"] = resamples

    params["seed"] = seed

    params["psnr_margin"] = psnr_margin

    params["ssim_margin"] = ssim_margin

    params["uncertainty_margin"] = uncertainty_margin

    params["perception_margin"] = perception_margin

    params["invented_detail_margin"] = invented_detail_margin

    params["fail_on_risk_increase"] = fail_on_risk_increase

    params["baseline"] = baseline

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/jobs/{job_id}/comparison".format(
            job_id=quote(str(job_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Comparison | Problem | None:
    if response.status_code == 200:
        response_200 = Comparison.from_dict(response.json())

        return response_200

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
) -> Response[Comparison | Problem]:
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
    level: float | Unset = 0.95,
    resamples: int | Unset = 2000,
    seed: int | Unset = 0,
    psnr_margin: float | Unset = 0.0,
    ssim_margin: float | Unset = 0.0,
    uncertainty_margin: float | Unset = 0.0,
    perception_margin: float | Unset = 0.0,
    invented_detail_margin: float | Unset = 0.0,
    fail_on_risk_increase: bool | Unset = True,
    baseline: str,
) -> Response[Comparison | Problem]:
    """Get Comparison

     This job's report (the candidate) against a baseline job's: pairs matched by id per
    restorer, paired differences of PSNR, SSIM, uncertainty, perception and invented detail
    with paired-bootstrap intervals, verdict changes, and the regression decision under the
    stated rule (its margins, level, resamples and seed are query parameters; README: Run
    comparison). Both jobs must have succeeded, with ground truth (a ground-truth-free job is
    a 409 `report-needs-ground-truth`).

    Args:
        job_id (str): The job id (32 hex digits).
        level (float | Unset):  Default: 0.95.
        resamples (int | Unset):  Default: 2000.
        seed (int | Unset):  Default: 0.
        psnr_margin (float | Unset):  Default: 0.0.
        ssim_margin (float | Unset):  Default: 0.0.
        uncertainty_margin (float | Unset):  Default: 0.0.
        perception_margin (float | Unset):  Default: 0.0.
        invented_detail_margin (float | Unset):  Default: 0.0.
        fail_on_risk_increase (bool | Unset):  Default: True.
        baseline (str): The baseline job's id (32 hex digits; the caller's).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Comparison | Problem]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        level=level,
        resamples=resamples,
        seed=seed,
        psnr_margin=psnr_margin,
        ssim_margin=ssim_margin,
        uncertainty_margin=uncertainty_margin,
        perception_margin=perception_margin,
        invented_detail_margin=invented_detail_margin,
        fail_on_risk_increase=fail_on_risk_increase,
        baseline=baseline,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    job_id: str,
    *,
    client: AuthenticatedClient,
    level: float | Unset = 0.95,
    resamples: int | Unset = 2000,
    seed: int | Unset = 0,
    psnr_margin: float | Unset = 0.0,
    ssim_margin: float | Unset = 0.0,
    uncertainty_margin: float | Unset = 0.0,
    perception_margin: float | Unset = 0.0,
    invented_detail_margin: float | Unset = 0.0,
    fail_on_risk_increase: bool | Unset = True,
    baseline: str,
) -> Comparison | Problem | None:
    """Get Comparison

     This job's report (the candidate) against a baseline job's: pairs matched by id per
    restorer, paired differences of PSNR, SSIM, uncertainty, perception and invented detail
    with paired-bootstrap intervals, verdict changes, and the regression decision under the
    stated rule (its margins, level, resamples and seed are query parameters; README: Run
    comparison). Both jobs must have succeeded, with ground truth (a ground-truth-free job is
    a 409 `report-needs-ground-truth`).

    Args:
        job_id (str): The job id (32 hex digits).
        level (float | Unset):  Default: 0.95.
        resamples (int | Unset):  Default: 2000.
        seed (int | Unset):  Default: 0.
        psnr_margin (float | Unset):  Default: 0.0.
        ssim_margin (float | Unset):  Default: 0.0.
        uncertainty_margin (float | Unset):  Default: 0.0.
        perception_margin (float | Unset):  Default: 0.0.
        invented_detail_margin (float | Unset):  Default: 0.0.
        fail_on_risk_increase (bool | Unset):  Default: True.
        baseline (str): The baseline job's id (32 hex digits; the caller's).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Comparison | Problem
    """

    return sync_detailed(
        job_id=job_id,
        client=client,
        level=level,
        resamples=resamples,
        seed=seed,
        psnr_margin=psnr_margin,
        ssim_margin=ssim_margin,
        uncertainty_margin=uncertainty_margin,
        perception_margin=perception_margin,
        invented_detail_margin=invented_detail_margin,
        fail_on_risk_increase=fail_on_risk_increase,
        baseline=baseline,
    ).parsed


async def asyncio_detailed(
    job_id: str,
    *,
    client: AuthenticatedClient,
    level: float | Unset = 0.95,
    resamples: int | Unset = 2000,
    seed: int | Unset = 0,
    psnr_margin: float | Unset = 0.0,
    ssim_margin: float | Unset = 0.0,
    uncertainty_margin: float | Unset = 0.0,
    perception_margin: float | Unset = 0.0,
    invented_detail_margin: float | Unset = 0.0,
    fail_on_risk_increase: bool | Unset = True,
    baseline: str,
) -> Response[Comparison | Problem]:
    """Get Comparison

     This job's report (the candidate) against a baseline job's: pairs matched by id per
    restorer, paired differences of PSNR, SSIM, uncertainty, perception and invented detail
    with paired-bootstrap intervals, verdict changes, and the regression decision under the
    stated rule (its margins, level, resamples and seed are query parameters; README: Run
    comparison). Both jobs must have succeeded, with ground truth (a ground-truth-free job is
    a 409 `report-needs-ground-truth`).

    Args:
        job_id (str): The job id (32 hex digits).
        level (float | Unset):  Default: 0.95.
        resamples (int | Unset):  Default: 2000.
        seed (int | Unset):  Default: 0.
        psnr_margin (float | Unset):  Default: 0.0.
        ssim_margin (float | Unset):  Default: 0.0.
        uncertainty_margin (float | Unset):  Default: 0.0.
        perception_margin (float | Unset):  Default: 0.0.
        invented_detail_margin (float | Unset):  Default: 0.0.
        fail_on_risk_increase (bool | Unset):  Default: True.
        baseline (str): The baseline job's id (32 hex digits; the caller's).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Comparison | Problem]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        level=level,
        resamples=resamples,
        seed=seed,
        psnr_margin=psnr_margin,
        ssim_margin=ssim_margin,
        uncertainty_margin=uncertainty_margin,
        perception_margin=perception_margin,
        invented_detail_margin=invented_detail_margin,
        fail_on_risk_increase=fail_on_risk_increase,
        baseline=baseline,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    job_id: str,
    *,
    client: AuthenticatedClient,
    level: float | Unset = 0.95,
    resamples: int | Unset = 2000,
    seed: int | Unset = 0,
    psnr_margin: float | Unset = 0.0,
    ssim_margin: float | Unset = 0.0,
    uncertainty_margin: float | Unset = 0.0,
    perception_margin: float | Unset = 0.0,
    invented_detail_margin: float | Unset = 0.0,
    fail_on_risk_increase: bool | Unset = True,
    baseline: str,
) -> Comparison | Problem | None:
    """Get Comparison

     This job's report (the candidate) against a baseline job's: pairs matched by id per
    restorer, paired differences of PSNR, SSIM, uncertainty, perception and invented detail
    with paired-bootstrap intervals, verdict changes, and the regression decision under the
    stated rule (its margins, level, resamples and seed are query parameters; README: Run
    comparison). Both jobs must have succeeded, with ground truth (a ground-truth-free job is
    a 409 `report-needs-ground-truth`).

    Args:
        job_id (str): The job id (32 hex digits).
        level (float | Unset):  Default: 0.95.
        resamples (int | Unset):  Default: 2000.
        seed (int | Unset):  Default: 0.
        psnr_margin (float | Unset):  Default: 0.0.
        ssim_margin (float | Unset):  Default: 0.0.
        uncertainty_margin (float | Unset):  Default: 0.0.
        perception_margin (float | Unset):  Default: 0.0.
        invented_detail_margin (float | Unset):  Default: 0.0.
        fail_on_risk_increase (bool | Unset):  Default: True.
        baseline (str): The baseline job's id (32 hex digits; the caller's).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Comparison | Problem
    """

    return (
        await asyncio_detailed(
            job_id=job_id,
            client=client,
            level=level,
            resamples=resamples,
            seed=seed,
            psnr_margin=psnr_margin,
            ssim_margin=ssim_margin,
            uncertainty_margin=uncertainty_margin,
            perception_margin=perception_margin,
            invented_detail_margin=invented_detail_margin,
            fail_on_risk_increase=fail_on_risk_increase,
            baseline=baseline,
        )
    ).parsed
