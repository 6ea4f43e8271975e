"""Liveness, readiness and metrics (no authentication)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from service.deps import ResourcesDep
from service.health import check_ready, metrics_text
from service.openapi import problem_responses

router = APIRouter(tags=["health"])

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class Health(BaseModel):
    """A passing health check and, for readiness, what was checked."""

    status: str
    checks: dict[str, str] = {}


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """Liveness: the process serves HTTP."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses=problem_responses(503))
def readyz(resources: ResourcesDep) -> Health:
    """Readiness: Redis answers, the payload store is writable and a worker answers."""
    return Health(status="ready", checks=check_ready(resources))


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {PROMETHEUS_TEXT: {"schema": {"type": "string"}}}}},
)
def metrics(resources: ResourcesDep) -> PlainTextResponse:
    """Prometheus metrics: jobs by state."""
    return PlainTextResponse(metrics_text(resources), media_type=PROMETHEUS_TEXT)
